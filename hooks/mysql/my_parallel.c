/*
 * hooks/mysql/my_parallel.c - the open_range_sources slot for MySQL/MariaDB:
 * n ranges of an integer key (--split-by COL, else the table's one-column
 * integer primary key): min/max, then equal-width ranges, the first open
 * below, the last open above and holding the NULL keys.  Each range is a
 * session of its own inside START TRANSACTION WITH CONSISTENT SNAPSHOT.
 *
 * Consistency: such a snapshot belongs to one session.  To make the ranges'
 * snapshots the same, a coordinating session takes FLUSH TABLES WITH READ
 * LOCK (needs the RELOAD privilege) while every range session starts its
 * snapshot and its SELECT, then UNLOCK TABLES: writes wait for that short
 * moment only.  Without the privilege ferry warns and goes on: then each
 * range sees the data as of its own start (docs/scale-out.md).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/keyrange.h"
#include "ferry/log.h"
#include "my_internal.h"

typedef struct my_plan {
    const char *id;
    ferry_my_settings settings;  /* owned */
    ferry_my_session session;    /* owned: the coordinator */
    char *target;                /* owned: `db`.`t` or (query) AS _ferry_q */
    char *column;                /* owned: the quoted key column */
    char *column_name;           /* owned: as given / found */
    int64_t lo, hi;
    int empty;
    int locked;                  /* FLUSH TABLES WITH READ LOCK held */
} my_plan;

static void plan_release(my_plan *p)
{
    if (p->locked) {
        ferry_error ignored;
        ferry_my_command(&p->session, "UNLOCK TABLES", 30, "UNLOCK TABLES", &ignored);
    }
    ferry_my_session_close(&p->session);
    ferry_my_settings_release(&p->settings);
    free(p->target);
    free(p->column);
    free(p->column_name);
}

static int parse_i64(const char *s, int64_t *out)
{
    char *end = NULL;
    if (!s || !*s)
        return -1;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (*end || errno == ERANGE) /* BIGINT UNSIGNED above 2^63-1 */
        return -1;
    *out = (int64_t)v;
    return 0;
}

/* Run sql and keep its (small) result; *out owned by the caller. */
static ferry_status query_store(my_plan *p, const char *sql, double timeout, const char *what, MYSQL_RES **out,
                                ferry_error *err)
{
    *out = NULL;
    ferry_status st = ferry_my_run(&p->session, sql, timeout, what, err);
    if (st == FERRY_OK)
        st = ferry_my_store(&p->session, timeout, what, out, err);
    if (st == FERRY_OK && !*out)
        st = ferry_error_hook(err, FERRY_ERR_DATA, FERRY_MY_SYSTEM, p->id, "%s: no result", what);
    return st;
}

static int is_integer_type(enum enum_field_types t)
{
    return t == MYSQL_TYPE_TINY || t == MYSQL_TYPE_SHORT || t == MYSQL_TYPE_INT24 || t == MYSQL_TYPE_LONG ||
           t == MYSQL_TYPE_LONGLONG;
}

/* The table's one-column primary key, when it has one. */
static ferry_status primary_key(my_plan *p, const ferry_my_table *t, double timeout, ferry_error *err)
{
    char *schema = t->schema ? ferry_my_quote_string(&p->session, t->schema) : strdup("DATABASE()");
    char *name = ferry_my_quote_string(&p->session, t->name);
    char *sql = schema && name ? ferry_my_format("SELECT COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE "
                                                 "WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s AND "
                                                 "CONSTRAINT_NAME = 'PRIMARY'", schema, name)
                               : NULL;
    free(schema);
    free(name);
    if (!sql)
        return ferry_error_oom(err, FERRY_MY_SYSTEM, p->id, NULL);
    MYSQL_RES *res = NULL;
    ferry_status st = query_store(p, sql, timeout, "finding the primary key", &res, err);
    free(sql);
    if (st != FERRY_OK)
        return st;
    MYSQL_ROW row = mysql_num_rows(res) == 1 ? mysql_fetch_row(res) : NULL;
    if (!row || !row[0])
        st = ferry_error_hook(err, FERRY_ERR_USAGE, FERRY_MY_SYSTEM, p->id,
                              "--parallel: the table has no one-column primary key; give --split-by COL");
    else if (!(p->column_name = strdup(row[0])))
        st = ferry_error_oom(err, FERRY_MY_SYSTEM, p->id, NULL);
    mysql_free_result(res);
    return st;
}

/* The key must be an integer column; then its min and max. */
static ferry_status key_bounds(my_plan *p, const ferry_copy_options *o, double timeout, ferry_error *err)
{
    p->column = ferry_my_quote_ident(p->column_name);
    char *sql = p->column ? ferry_my_format("SELECT %s FROM %s LIMIT 0", p->column, p->target) : NULL;
    if (!sql)
        return ferry_error_oom(err, FERRY_MY_SYSTEM, p->id, NULL);
    MYSQL_RES *res = NULL;
    ferry_status st = query_store(p, sql, timeout, "--split-by", &res, err);
    free(sql);
    if (st != FERRY_OK)
        return st;
    MYSQL_FIELD *f = mysql_num_fields(res) == 1 ? mysql_fetch_field_direct(res, 0) : NULL;
    int ok = f && is_integer_type(f->type);
    mysql_free_result(res);
    if (!ok)
        return ferry_error_hook(err, FERRY_ERR_USAGE, FERRY_MY_SYSTEM, p->id,
                                "--split-by %s: not an integer column", p->column_name);
    if (o->split_range_set) { /* pinned: what the table holds now does not matter */
        p->lo = o->split_lo;
        p->hi = o->split_hi;
        return FERRY_OK;
    }
    sql = ferry_my_format("SELECT CAST(MIN(%s) AS CHAR), CAST(MAX(%s) AS CHAR) FROM %s", p->column, p->column,
                          p->target);
    if (!sql)
        return ferry_error_oom(err, FERRY_MY_SYSTEM, p->id, NULL);
    st = query_store(p, sql, timeout, "finding the --split-by bounds", &res, err);
    free(sql);
    if (st != FERRY_OK)
        return st;
    MYSQL_ROW row = mysql_fetch_row(res);
    p->empty = !row || !row[0] || !row[1];
    if (!p->empty && (parse_i64(row[0], &p->lo) || parse_i64(row[1], &p->hi)))
        st = ferry_error_hook(err, FERRY_ERR_DATA, FERRY_MY_SYSTEM, p->id, "--split-by bounds out of range");
    mysql_free_result(res);
    return st;
}

/* The WHERE condition and the JSON bounds of range r of n (core/keyrange.c). */
static int range_condition(const my_plan *p, int r, int n, char **cond, char **json)
{
    return ferry_keyrange_condition(p->column, p->column_name, p->empty, p->lo, p->hi, r, n, cond, json);
}

static ferry_status plan_target(my_plan *p, const ferry_endpoint *ep, const ferry_copy_options *o, double timeout,
                                ferry_error *err)
{
    const char *path = ep->path ? ep->path : "";
    const char *q = o->query && *o->query ? o->query : NULL;
    if ((*path && q) || (!*path && !q))
        return ferry_error_hook(err, FERRY_ERR_USAGE, FERRY_MY_SYSTEM, p->id,
                                "give either a table (CONN:database.table) or a query");
    if (o->split_by && *o->split_by && !(p->column_name = strdup(o->split_by)))
        return ferry_error_oom(err, FERRY_MY_SYSTEM, p->id, NULL);
    if (q) {
        if (!p->column_name)
            return ferry_error_hook(err, FERRY_ERR_USAGE, FERRY_MY_SYSTEM, p->id,
                                    "a parallel query needs --split-by COL");
        size_t n = strlen(q);
        while (n > 0 && (q[n - 1] == ';' || q[n - 1] == ' ' || q[n - 1] == '\n' || q[n - 1] == '\t'))
            n--;
        p->target = ferry_my_format("(\n%.*s\n) AS _ferry_q", (int)n, q);
        return p->target ? FERRY_OK : ferry_error_oom(err, FERRY_MY_SYSTEM, p->id, NULL);
    }
    ferry_my_table t;
    ferry_status st = ferry_my_table_parse(path, p->id, &t, err);
    if (st != FERRY_OK)
        return st;
    if (!(p->target = ferry_my_table_sql(&t)))
        st = ferry_error_oom(err, FERRY_MY_SYSTEM, p->id, NULL);
    if (st == FERRY_OK && !p->column_name)
        st = primary_key(p, &t, timeout, err);
    ferry_my_table_release(&t);
    return st;
}

ferry_status ferry_my_open_range_sources(const ferry_endpoint *ep, const ferry_copy_options *o, int n,
                                         int first, int count, ferry_source **out, char **bounds,
                                         ferry_error *err)
{
    my_plan p;
    memset(&p, 0, sizeof p);
    p.id = ferry_endpoint_conn_id(ep);
    for (int i = 0; i < count; i++)
        out[i] = NULL, bounds[i] = NULL;
    if (n < 1 || first < 0 || count < 1 || first + count > n)
        return ferry_error_hook(err, FERRY_ERR_USAGE, FERRY_MY_SYSTEM, p.id, "bad range request");
    ferry_status st = ferry_my_settings_from_conn(ep->conn, &p.settings, err);
    p.settings.connect_attempts = o->max_retries;
    if (st == FERRY_OK)
        st = ferry_my_session_open(&p.session, &p.settings, 0, err);
    if (st == FERRY_OK)
        st = plan_target(&p, ep, o, o->timeout, err);
    /* one snapshot for every range: block writes while the sessions start theirs */
    if (st == FERRY_OK && count > 1) {
        ferry_error lock_err;
        ferry_error_clear(&lock_err);
        if (ferry_my_command(&p.session, "FLUSH TABLES WITH READ LOCK", o->timeout, "FLUSH TABLES WITH READ LOCK",
                             &lock_err) == FERRY_OK)
            p.locked = 1;
        else
            ferry_log(FERRY_LOG_WARN, "mysql(%s): no FLUSH TABLES WITH READ LOCK (%s): each range reads its own "
                      "snapshot, the ranges may not be consistent with each other", p.id, lock_err.msg);
    }
    if (st == FERRY_OK)
        st = ferry_my_command(&p.session, "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ", o->timeout,
                              "starting the snapshot", err);
    if (st == FERRY_OK)
        st = ferry_my_command(&p.session, "START TRANSACTION WITH CONSISTENT SNAPSHOT", o->timeout,
                              "starting the snapshot", err);
    if (st == FERRY_OK)
        st = key_bounds(&p, o, o->timeout, err);
    int every_header = o->split_output || o->partition_count > 0;
    for (int i = 0; st == FERRY_OK && i < count; i++) {
        int r = first + i;
        char *cond = NULL, *sql = NULL;
        if (range_condition(&p, r, n, &cond, &bounds[i]) == 0)
            sql = ferry_my_format("SELECT * FROM %s WHERE %s", p.target, cond);
        if (!sql) {
            st = ferry_error_oom(err, FERRY_MY_SYSTEM, p.id, NULL);
        } else {
            ferry_copy_options ro = *o;
            ro.query = NULL;
            ro.header = o->header && (r == 0 || every_header);
            ferry_log(FERRY_LOG_DEBUG, "mysql(%s): range %d/%d: %s", p.id, r, n, sql);
            st = ferry_my_open_range_source(ep, &ro, sql, &out[i], err);
            if (st != FERRY_OK)
                ferry_error_prefix(err, "range %d of %d", r, n);
        }
        free(cond);
        free(sql);
    }
    plan_release(&p); /* UNLOCK TABLES: every range has its snapshot and its SELECT running */
    if (st != FERRY_OK) {
        for (int i = 0; i < count; i++) {
            if (out[i])
                out[i]->ops->free(out[i]);
            free(bounds[i]);
            out[i] = NULL;
            bounds[i] = NULL;
        }
    }
    return st;
}
