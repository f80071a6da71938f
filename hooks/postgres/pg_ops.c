/*
 * hooks/postgres/pg_ops.c - the hook's exec and test slots: run SQL in one
 * transaction and print the last statement's rows as CSV or JSON
 * (core/json_rows.h); connect and say who and where we are.
 */
#include <stdlib.h>
#include <string.h>

#include "core/json_rows.h"
#include "ferry/log.h"
#include "pg_internal.h"

/* ---- CSV output of a result --------------------------------------------- */

#define CSV_FLUSH_AT (64 * 1024)

/* Rows as CSV the way COPY's csv format writes them (RFC 4180 quoting, '\n'
 * line ends): NULL is an empty unquoted field, the empty string is "". */
typedef struct csv_out {
    ferry_writer *w;    /* borrowed */
    char *buf;          /* owned: free; reused for every row */
    size_t len, cap;
} csv_out;

static int csv_reserve(csv_out *c, size_t more)
{
    if (c->len + more <= c->cap)
        return 0;
    size_t want = c->cap ? c->cap : CSV_FLUSH_AT;
    while (want < c->len + more)
        want *= 2;
    char *grown = realloc(c->buf, want);
    if (!grown)
        return -1;
    c->buf = grown;
    c->cap = want;
    return 0;
}

static int csv_needs_quotes(const char *v, size_t n)
{
    if (n == 0)
        return 1;
    for (size_t i = 0; i < n; i++)
        if (v[i] == ',' || v[i] == '"' || v[i] == '\n' || v[i] == '\r')
            return 1;
    return 0;
}

/* Append one field (v == NULL: SQL NULL), preceded by a comma unless first. */
static int csv_field(csv_out *c, const char *v, size_t n, int first)
{
    if (csv_reserve(c, 2 * n + 3) != 0)
        return -1;
    if (!first)
        c->buf[c->len++] = ',';
    if (!v)
        return 0;
    int quote = csv_needs_quotes(v, n);
    if (quote)
        c->buf[c->len++] = '"';
    for (size_t i = 0; i < n; i++) {
        if (v[i] == '"')
            c->buf[c->len++] = '"';
        c->buf[c->len++] = v[i];
    }
    if (quote)
        c->buf[c->len++] = '"';
    return 0;
}

static ferry_status csv_flush(csv_out *c, ferry_error *err)
{
    if (c->len == 0)
        return FERRY_OK;
    ferry_status st = ferry_writer_write(c->w, c->buf, c->len, err);
    c->len = 0;
    return st;
}

static ferry_status csv_end_row(csv_out *c, ferry_error *err)
{
    if (csv_reserve(c, 1) != 0)
        return ferry_error_oom(err, "postgres", NULL, NULL);
    c->buf[c->len++] = '\n';
    return c->len >= CSV_FLUSH_AT ? csv_flush(c, err) : FERRY_OK;
}

static ferry_status csv_write_header(csv_out *c, const PGresult *res, ferry_error *err)
{
    for (int col = 0; col < PQnfields(res); col++) {
        const char *name = PQfname(res, col);
        if (csv_field(c, name, strlen(name), col == 0) != 0)
            return ferry_error_oom(err, "postgres", NULL, NULL);
    }
    return csv_end_row(c, err);
}

static ferry_status csv_write_row(csv_out *c, const PGresult *res, int row, ferry_error *err)
{
    for (int col = 0; col < PQnfields(res); col++) {
        const char *v = PQgetisnull(res, row, col) ? NULL : PQgetvalue(res, row, col);
        size_t n = v ? (size_t)PQgetlength(res, row, col) : 0;
        if (csv_field(c, v, n, col == 0) != 0)
            return ferry_error_oom(err, "postgres", NULL, NULL);
    }
    return csv_end_row(c, err);
}

static ferry_status write_result_csv(ferry_writer *out, const PGresult *res, ferry_error *err)
{
    csv_out c = {.w = out, .buf = NULL, .len = 0, .cap = 0};
    ferry_status st = csv_write_header(&c, res, err);
    for (int row = 0; st == FERRY_OK && row < PQntuples(res); row++)
        st = csv_write_row(&c, res, row, err);
    if (st == FERRY_OK)
        st = csv_flush(&c, err);
    free(c.buf);
    return st;
}

/* ---- JSON output of a result (core/json_rows.h) --------------------------- */

/* res NULL (the statement returned no rows): "[]". */
static ferry_status write_result_json(ferry_writer *out, const PGresult *res, int typed, int server_version,
                                      ferry_error *err)
{
    int ncols = res ? PQnfields(res) : 0;
    size_t m = ncols > 0 ? (size_t)ncols : 1;
    const char **names = calloc(m, sizeof *names);        /* owned; strings borrowed */
    ferry_column_kind *kinds = calloc(m, sizeof *kinds);  /* owned */
    ferry_json_rows rows;
    int oom = !names || !kinds;
    for (int col = 0; !oom && col < ncols; col++) {
        int precision, scale;
        names[col] = PQfname(res, col);
        kinds[col] = ferry_pg_column_kind(PQftype(res, col), PQfmod(res, col), server_version, &precision, &scale);
    }
    oom = oom || ferry_json_rows_init(&rows, out, typed, names, kinds, (size_t)ncols) != 0;
    free(names);
    free(kinds);
    if (oom)
        return ferry_error_set(err, FERRY_ERR_INTERNAL, "postgres: out of memory");
    ferry_status st = FERRY_OK;
    for (int row = 0; st == FERRY_OK && res && row < PQntuples(res); row++) {
        for (int col = 0; st == FERRY_OK && col < ncols; col++) {
            const char *v = PQgetisnull(res, row, col) ? NULL : PQgetvalue(res, row, col);
            if (ferry_json_rows_value(&rows, (size_t)col, v, v ? (size_t)PQgetlength(res, row, col) : 0) != 0)
                st = ferry_error_set(err, FERRY_ERR_INTERNAL, "postgres: out of memory");
        }
        if (st == FERRY_OK)
            st = ferry_json_rows_end_row(&rows, err);
    }
    if (st == FERRY_OK)
        st = ferry_json_rows_finish(&rows, err);
    ferry_json_rows_release(&rows);
    return st;
}

/* ---- exec --------------------------------------------------------------- */

static int is_blank(const char *s)
{
    for (; *s; s++)
        if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r')
            return 0;
    return 1;
}

/* What the last statement's result means for exec. */
static ferry_status judge_exec_result(PGconn *pg, PGresult *res, const char *id,
                                      ferry_exec_options *eo, ferry_error *err)
{
    switch (PQresultStatus(res)) {
    case PGRES_TUPLES_OK:
        eo->rows_affected = PQntuples(res);
        return FERRY_OK;
    case PGRES_COMMAND_OK:
        eo->rows_affected = ferry_pg_cmd_rows(res);
        return FERRY_OK;
    case PGRES_EMPTY_QUERY:
        return FERRY_OK;
    case PGRES_COPY_IN:
    case PGRES_COPY_OUT:
    case PGRES_COPY_BOTH:
        return ferry_error_hook(err, FERRY_ERR_USAGE, FERRY_PG_SYSTEM, id,
                                "COPY FROM STDIN / TO STDOUT cannot run in exec: use ferry copy");
    default:
        return ferry_pg_result_error(pg, res, id, "query", err);
    }
}

/* The rows are written only once the transaction has committed, so what is
 * printed is what the database kept.  On failure the session is closed
 * without COMMIT, which rolls everything back. */
ferry_status ferry_pg_exec(const ferry_conn *conn, const char *sql, ferry_exec_options *eo,
                           ferry_error *err)
{
    const char *id = conn->id;
    eo->rows_affected = -1;
    if (!sql || is_blank(sql))
        return ferry_error_hook(err, FERRY_ERR_USAGE, FERRY_PG_SYSTEM, id, "no SQL to run");
    PGconn *pg = NULL;   /* owned: PQfinish */
    PGresult *res = NULL; /* owned: PQclear */
    ferry_status st = ferry_pg_connect(conn, id, &pg, err);
    if (st == FERRY_OK && !eo->autocommit)
        st = ferry_pg_command(pg, id, "BEGIN", "BEGIN", 0, err);
    if (st == FERRY_OK)
        st = ferry_pg_run(pg, id, sql, 0, &res, err);
    if (st == FERRY_OK)
        st = judge_exec_result(pg, res, id, eo, err);
    if (st == FERRY_OK && !eo->autocommit)
        st = ferry_pg_commit(pg, id, err);
    int has_rows = st == FERRY_OK && PQresultStatus(res) == PGRES_TUPLES_OK;
    if (st == FERRY_OK && eo->out && eo->format != FERRY_EXEC_CSV)
        st = write_result_json(eo->out, has_rows ? res : NULL, eo->format == FERRY_EXEC_JSON_TYPED,
                               PQserverVersion(pg), err);
    else if (st == FERRY_OK && eo->out && has_rows)
        st = write_result_csv(eo->out, res, err);
    PQclear(res);
    PQfinish(pg);
    return st;
}

/* ---- test --------------------------------------------------------------- */

/* "PostgreSQL 15.18" out of version()'s "PostgreSQL 15.18 (Debian ...) on ...". */
static void product_and_version(const char *version, char *out, size_t cap)
{
    size_t first = strcspn(version, " ");
    size_t second = version[first] ? strcspn(version + first + 1, " ") : 0;
    size_t n = version[first] ? first + 1 + second : first;
    snprintf(out, cap, "%.*s", (int)n, version);
}

ferry_status ferry_pg_test(const ferry_conn *conn, char *info, size_t cap, ferry_error *err)
{
    const char *id = conn->id;
    PGconn *pg = NULL;    /* owned: PQfinish */
    PGresult *res = NULL; /* owned: PQclear */
    ferry_status st = ferry_pg_connect(conn, id, &pg, err);
    if (st == FERRY_OK)
        st = ferry_pg_run(pg, id, "SELECT version(), current_user, current_database()",
                          FERRY_PG_CONNECT_TIMEOUT, &res, err);
    if (st == FERRY_OK && (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1))
        st = ferry_pg_result_error(pg, res, id, "test query", err);
    if (st == FERRY_OK && info && cap > 0) {
        char version[128];
        product_and_version(PQgetvalue(res, 0, 0), version, sizeof version);
        snprintf(info, cap, "%s as %s@%s on %s:%s (ssl: %s)", version, PQgetvalue(res, 0, 1),
                 PQgetvalue(res, 0, 2), PQhost(pg), PQport(pg), PQsslInUse(pg) ? "yes" : "no");
    }
    PQclear(res);
    PQfinish(pg);
    return st;
}
