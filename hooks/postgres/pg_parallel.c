/*
 * hooks/postgres/pg_parallel.c - the open_range_sources slot: cut a table
 * (or, with --split-by, a query) into n ranges and open one COPY per
 * requested range on its own session, every session reading the same
 * snapshot.  A coordinating session opens REPEATABLE READ and exports its
 * snapshot (pg_export_snapshot); each range session imports it
 * (SET TRANSACTION SNAPSHOT) before its COPY; the coordinator's transaction
 * stays open until every COPY has started.  Ranges (docs/scale-out.md):
 *   --split-by COL  integer column, min/max then equal-width ranges; the
 *                   first range is open below, the last open above and it
 *                   also takes the NULL keys, so no row is lost;
 *   default         ctid page ranges of a table (relation size / block size
 *                   at the snapshot; the last range open-ended; PostgreSQL
 *                   14+ reads them with TID range scans).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/keyrange.h"
#include "ferry/log.h"
#include "pg_internal.h"

/* PostgreSQL type OIDs of the integer types --split-by accepts. */
#define PG_INT8OID 20
#define PG_INT2OID 21
#define PG_INT4OID 23

/* Everything one planning needs; released by plan_release. */
typedef struct pg_plan {
    const char *id;
    PGconn *pg;             /* owned: the coordinator (PQfinish) */
    char *snapshot;         /* owned: the exported snapshot id */
    char *target;           /* owned: "s"."t" or "(\nquery\n) AS _ferry_q" */
    char *column;           /* owned: the quoted --split-by column, or NULL (ctid) */
    int64_t lo, hi;         /* split-by: min and max of the key (or --split-range);
                               ctid: the pages cut, 0 .. pages-1 (or --split-range) */
    int empty;              /* split-by: no non-NULL key at all */
    int64_t pages;          /* ctid: pages of the table at the snapshot */
} pg_plan;

static void plan_release(pg_plan *p)
{
    if (p->pg)
        PQfinish(p->pg);
    free(p->snapshot);
    free(p->target);
    if (p->column)
        PQfreemem(p->column);
    memset(p, 0, sizeof *p);
}

/* Run sql on the coordinator; it must answer exactly one row of `cols` columns. */
static ferry_status query_row(pg_plan *p, const char *sql, int cols, const char *what, double timeout,
                              PGresult **out, ferry_error *err)
{
    *out = NULL;
    PGresult *res = NULL; /* owned: PQclear, or handed to *out */
    ferry_status st = ferry_pg_run(p->pg, p->id, sql, timeout, &res, err);
    if (st != FERRY_OK)
        return st;
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        st = ferry_pg_result_error(p->pg, res, p->id, what, err);
        PQclear(res);
        return st;
    }
    if (PQntuples(res) != 1 || PQnfields(res) != cols) {
        PQclear(res);
        return ferry_error_hook(err, FERRY_ERR_DATA, FERRY_PG_SYSTEM, p->id, "%s: unexpected answer", what);
    }
    *out = res;
    return FERRY_OK;
}

static int parse_i64(const char *s, int64_t *out)
{
    char *end = NULL;
    long long v = strtoll(s, &end, 10);
    if (!*s || !end || *end)
        return -1;
    *out = (int64_t)v;
    return 0;
}

/* Begin the snapshot and export it. */
static ferry_status start_snapshot(pg_plan *p, double timeout, ferry_error *err)
{
    ferry_status st = ferry_pg_command(p->pg, p->id, "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY",
                                       "starting the snapshot", timeout, err);
    PGresult *res = NULL; /* owned: PQclear */
    if (st == FERRY_OK)
        st = query_row(p, "SELECT pg_catalog.pg_export_snapshot()", 1, "exporting the snapshot", timeout,
                       &res, err);
    if (st != FERRY_OK)
        return st;
    const char *snap = PQgetvalue(res, 0, 0);
    /* it goes into a string literal: accept only what snapshot ids are made of */
    if (!*snap || snap[strspn(snap, "0123456789ABCDEFabcdef-")]) {
        PQclear(res);
        return ferry_error_hook(err, FERRY_ERR_DATA, FERRY_PG_SYSTEM, p->id, "unexpected snapshot id");
    }
    p->snapshot = strdup(snap);
    PQclear(res);
    return p->snapshot ? FERRY_OK : ferry_error_oom(err, FERRY_PG_SYSTEM, p->id, NULL);
}

/* --split-by: the column must be an integer; then its min and max. */
static ferry_status plan_split_by(pg_plan *p, const char *col, const ferry_copy_options *o, double timeout,
                                  ferry_error *err)
{
    p->column = PQescapeIdentifier(p->pg, col, strlen(col));
    if (!p->column)
        return ferry_pg_conn_error(p->pg, p->id, "quoting the --split-by column", err);
    char *sql = ferry_pg_format("SELECT %s FROM %s LIMIT 0", p->column, p->target); /* owned */
    if (!sql)
        return ferry_error_oom(err, FERRY_PG_SYSTEM, p->id, NULL);
    PGresult *res = NULL; /* owned: PQclear */
    ferry_status st = ferry_pg_run(p->pg, p->id, sql, timeout, &res, err);
    free(sql);
    if (st != FERRY_OK)
        return st;
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        st = ferry_pg_result_error(p->pg, res, p->id, "--split-by", err);
        PQclear(res);
        return st;
    }
    Oid type = PQnfields(res) == 1 ? PQftype(res, 0) : 0;
    PQclear(res);
    if (type != PG_INT2OID && type != PG_INT4OID && type != PG_INT8OID)
        return ferry_error_hook(err, FERRY_ERR_USAGE, FERRY_PG_SYSTEM, p->id,
                                "--split-by %s: not an integer column (smallint, integer or bigint)", col);
    if (o->split_range_set) { /* pinned: what the table holds now does not matter */
        p->lo = o->split_lo;
        p->hi = o->split_hi;
        return FERRY_OK;
    }
    sql = ferry_pg_format("SELECT min(%s)::text, max(%s)::text FROM %s", p->column, p->column, p->target);
    if (!sql)
        return ferry_error_oom(err, FERRY_PG_SYSTEM, p->id, NULL);
    st = query_row(p, sql, 2, "finding the --split-by bounds", timeout, &res, err);
    free(sql);
    if (st != FERRY_OK)
        return st;
    p->empty = PQgetisnull(res, 0, 0) || PQgetisnull(res, 0, 1);
    if (!p->empty && (parse_i64(PQgetvalue(res, 0, 0), &p->lo) || parse_i64(PQgetvalue(res, 0, 1), &p->hi)))
        st = ferry_error_hook(err, FERRY_ERR_DATA, FERRY_PG_SYSTEM, p->id, "--split-by bounds are not integers");
    PQclear(res);
    return st;
}

/* ctid: the table's pages as the snapshot sees its size. */
static ferry_status plan_ctid(pg_plan *p, const ferry_copy_options *o, double timeout, ferry_error *err)
{
    char *lit = PQescapeLiteral(p->pg, p->target, strlen(p->target)); /* owned: PQfreemem */
    if (!lit)
        return ferry_pg_conn_error(p->pg, p->id, "quoting the table name", err);
    char *sql = ferry_pg_format("SELECT (pg_catalog.pg_relation_size(%s::pg_catalog.regclass) / "
                                "pg_catalog.current_setting('block_size')::bigint)::text", lit);
    PQfreemem(lit);
    if (!sql)
        return ferry_error_oom(err, FERRY_PG_SYSTEM, p->id, NULL);
    PGresult *res = NULL; /* owned: PQclear */
    ferry_status st = query_row(p, sql, 1, "sizing the table", timeout, &res, err);
    free(sql);
    if (st != FERRY_OK)
        return st;
    if (parse_i64(PQgetvalue(res, 0, 0), &p->pages))
        st = ferry_error_hook(err, FERRY_ERR_DATA, FERRY_PG_SYSTEM, p->id, "unexpected table size");
    PQclear(res);
    p->lo = o->split_range_set ? o->split_lo : 0;
    p->hi = o->split_range_set ? o->split_hi : p->pages - 1;
    return st;
}

/* The WHERE condition and the JSON bounds of range r of n: the key's ranges
 * (core/keyrange.c) or ctid page ranges.  Both malloc'd. */
static int range_condition(const pg_plan *p, const char *split_by, int r, int n, char **cond, char **json)
{
    if (p->column)
        return ferry_keyrange_condition(p->column, split_by, p->empty, p->lo, p->hi, r, n, cond, json);
    *cond = *json = NULL;
    int64_t a = ferry_keyrange_boundary(p->lo, p->hi, r, n), b = ferry_keyrange_boundary(p->lo, p->hi, r + 1, n);
    char from[32] = "null", to[32] = "null";
    if (r > 0)
        snprintf(from, sizeof from, "%" PRId64, a);
    if (r < n - 1)
        snprintf(to, sizeof to, "%" PRId64, b);
    if (n == 1)
        *cond = ferry_pg_format("true");
    else if (r == 0)
        *cond = ferry_pg_format("ctid < '(%" PRId64 ",0)'::tid", b);
    else if (r == n - 1)
        *cond = ferry_pg_format("ctid >= '(%" PRId64 ",0)'::tid", a);
    else
        *cond = ferry_pg_format("ctid >= '(%" PRId64 ",0)'::tid AND ctid < '(%" PRId64 ",0)'::tid", a, b);
    *json = ferry_pg_format("{\"ctid_pages_from\":%s,\"ctid_pages_to\":%s,\"pages\":%" PRId64 "}", from, to,
                            p->pages);
    return *cond && *json ? 0 : -1;
}

/* The target: the table, quoted; or (with --split-by only) the query. */
static ferry_status plan_target(pg_plan *p, const ferry_endpoint *ep, const ferry_copy_options *o, ferry_error *err)
{
    const char *path = ep->path ? ep->path : "";
    const char *q = o->query && *o->query ? o->query : NULL;
    if ((*path && q) || (!*path && !q))
        return ferry_error_hook(err, FERRY_ERR_USAGE, FERRY_PG_SYSTEM, p->id,
                                "give either a table (CONN:schema.table) or a query");
    if (q) {
        if (!o->split_by || !*o->split_by)
            return ferry_error_hook(err, FERRY_ERR_USAGE, FERRY_PG_SYSTEM, p->id,
                                    "a parallel query needs --split-by COL (ctid ranges need a table)");
        char *trimmed = ferry_pg_query_trim(q); /* owned: free */
        if (!trimmed)
            return ferry_error_oom(err, FERRY_PG_SYSTEM, p->id, NULL);
        p->target = *trimmed ? ferry_pg_format("(\n%s\n) AS _ferry_q", trimmed) : NULL;
        int empty = !*trimmed;
        free(trimmed);
        if (empty)
            return ferry_error_hook(err, FERRY_ERR_USAGE, FERRY_PG_SYSTEM, p->id, "the query is empty");
        return p->target ? FERRY_OK : ferry_error_oom(err, FERRY_PG_SYSTEM, p->id, NULL);
    }
    ferry_pg_table t;
    ferry_status st = ferry_pg_table_parse(path, p->id, &t, err);
    if (st == FERRY_OK) {
        p->target = ferry_pg_table_sql(p->pg, &t, p->id, err);
        if (!p->target)
            st = err ? err->status : FERRY_ERR_INTERNAL;
    }
    ferry_pg_table_release(&t);
    return st;
}

ferry_status ferry_pg_open_range_sources(const ferry_endpoint *ep, const ferry_copy_options *o, int n,
                                         int first, int count, ferry_source **out, char **bounds,
                                         ferry_error *err)
{
    pg_plan p;
    memset(&p, 0, sizeof p);
    p.id = ferry_endpoint_conn_id(ep);
    for (int i = 0; i < count; i++)
        out[i] = NULL, bounds[i] = NULL;
    if (n < 1 || first < 0 || count < 1 || first + count > n)
        return ferry_error_hook(err, FERRY_ERR_USAGE, FERRY_PG_SYSTEM, p.id, "bad range request");
    ferry_status st = ferry_pg_connect_retry(ep->conn, p.id, o->max_retries, &p.pg, err);
    if (st == FERRY_OK)
        st = start_snapshot(&p, o->timeout, err);
    if (st == FERRY_OK)
        st = plan_target(&p, ep, o, err);
    if (st == FERRY_OK)
        st = o->split_by && *o->split_by ? plan_split_by(&p, o->split_by, o, o->timeout, err)
                                         : plan_ctid(&p, o, o->timeout, err);
    int every_header = o->split_output || o->partition_count > 0;
    for (int i = 0; st == FERRY_OK && i < count; i++) {
        int r = first + i;
        char *cond = NULL, *query = NULL; /* owned: free */
        if (range_condition(&p, o->split_by, r, n, &cond, &bounds[i]) == 0)
            query = ferry_pg_format("SELECT * FROM %s WHERE %s", p.target, cond);
        if (!query) {
            st = ferry_error_oom(err, FERRY_PG_SYSTEM, p.id, NULL);
        } else {
            ferry_copy_options ro = *o;
            ro.query = NULL;
            ro.header = o->header && (r == 0 || every_header);
            ferry_log(FERRY_LOG_DEBUG, "postgres(%s): range %d/%d: %s", p.id, r, n, query);
            st = ferry_pg_open_range_source(ep, &ro, query, p.snapshot, &out[i], err);
            if (st != FERRY_OK)
                ferry_error_prefix(err, "range %d of %d", r, n);
        }
        free(cond);
        free(query);
    }
    /* every COPY has started (or we failed): the coordinator may end */
    plan_release(&p);
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
