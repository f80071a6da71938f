/*
 * hooks/postgres/pg_source.c - a table or a query as a ferry_source: one
 * COPY ... TO STDOUT whose rows are streamed with PQgetCopyData in async mode
 * (so waits wake every 200 ms for ferry_cancelled() and the timeout) and
 * copied into the reader's buffer.  CSV and TSV are COPY's own csv and text
 * formats; JSONL is row_to_json() through a COPY csv that never quotes.
 * Before the COPY, the rows' columns are described (names, kinds, native
 * types from format_type) for sinks that create tables (--create).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/log.h"
#include "pg_binary.h"
#include "pg_internal.h"

typedef struct pg_source {
    ferry_source base;      /* first member: the transfer sees only this */
    PGconn *pg;             /* owned: PQfinish */
    char *conn_id;          /* owned copy, for messages */
    double timeout;         /* seconds without data before FERRY_ERR_TIMEOUT; <= 0: none */
    char *prefix;           /* owned: bytes served before the COPY's rows (the TSV
                               header ferry makes for servers before 15), or NULL */
    size_t prefix_len, prefix_off;
    char *row;              /* owned by libpq (PQfreemem): the row being handed out */
    size_t row_len, row_off;
    int64_t lines_seen;     /* lines received from COPY, header included */
    int header_lines;       /* lines of the COPY output that are not rows (0 or 1) */
    double last_data;       /* ferry_now_monotonic() when data last arrived */
    int copy_done;          /* PQgetCopyData reported the end of the COPY */
    int judged;             /* the COPY's final result has been examined */
    ferry_error verdict;    /* that result: FERRY_OK or the error to report again */
    ferry_column *columns;  /* owned: base.columns, or NULL when not described */
    char **col_strings;     /* owned: every column's name and native type (2 per column) */
    size_t n_columns;
    ferry_pg_bin_schema bin;/* owned: the typed columns of a binary COPY (FERRY_FORMAT_PARQUET) */
} pg_source;

/* ---- building the COPY statement --------------------------------------- */

static int format_is_supported(ferry_format f)
{
    return f == FERRY_FORMAT_CSV || f == FERRY_FORMAT_TSV || f == FERRY_FORMAT_JSONL ||
           f == FERRY_FORMAT_PARQUET; /* typed rows: COPY binary, read by pg_binary.c */
}

/* What COPY reads: the table itself ("s"."t", fastest) or "(query)".  The
 * newlines keep a trailing "-- comment" in the query from eating the ')'. */
static char *copy_target(const char *table_sql, const char *query)
{
    return table_sql ? ferry_pg_format("%s", table_sql) : ferry_pg_format("(\n%s\n)", query);
}

/* The rows as a SELECT-able statement: "TABLE s.t" or the query. */
static char *select_statement(const char *table_sql, const char *query)
{
    return table_sql ? ferry_pg_format("TABLE %s", table_sql) : ferry_pg_format("%s", query);
}

/* row_to_json escapes every control character (\n, \u0001...), so with
 * QUOTE \x01 and DELIMITER \x02 the csv writer of COPY never has a reason to
 * quote: each line is exactly one JSON object and a newline.
 * row_to_json(alias.*) takes the whole row even if a column is named like
 * the alias. */
static char *copy_out_jsonl(const char *select_sql)
{
    return ferry_pg_format("COPY (SELECT row_to_json(_ferry_row.*) FROM (\n%s\n) AS _ferry_row) "
                           "TO STDOUT WITH (FORMAT csv, QUOTE e'\\x01', DELIMITER e'\\x02')",
                           select_sql);
}

/* null_opt: ", NULL '...'" or "" (see ferry_pg_null_option). */
static char *copy_out_sql(const char *target, const char *select_sql, ferry_format fmt,
                          int header, const char *null_opt, int server_version)
{
    switch (fmt) {
    case FERRY_FORMAT_CSV:
        return ferry_pg_format("COPY %s TO STDOUT WITH (FORMAT csv, HEADER %s%s)", target,
                               header ? "true" : "false", null_opt);
    case FERRY_FORMAT_TSV:
        if (header && server_version >= 150000)
            return ferry_pg_format("COPY %s TO STDOUT WITH (FORMAT text, HEADER true%s)", target,
                                   null_opt);
        return ferry_pg_format("COPY %s TO STDOUT WITH (FORMAT text%s)", target, null_opt);
    case FERRY_FORMAT_JSONL:
        return copy_out_jsonl(select_sql);
    default:
        return NULL;
    }
}

/* The result columns of sql without running it (unnamed prepared statement).
 * *out owned by the caller (PQclear). */
static ferry_status describe_statement(pg_source *src, const char *sql, PGresult **out,
                                       ferry_error *err)
{
    PGresult *res = PQprepare(src->pg, "", sql, 0, NULL); /* owned: PQclear */
    if (res && PQresultStatus(res) == PGRES_COMMAND_OK) {
        PQclear(res);
        res = PQdescribePrepared(src->pg, "");
    }
    if (res && PQresultStatus(res) == PGRES_COMMAND_OK) {
        *out = res;
        return FERRY_OK;
    }
    ferry_status st = ferry_pg_result_error(src->pg, res, src->conn_id, "COPY", err);
    PQclear(res);
    return st;
}

/* ---- describing the columns --------------------------------------------- */

static void free_columns(pg_source *src)
{
    for (size_t i = 0; src->col_strings && i < 2 * src->n_columns; i++)
        free(src->col_strings[i]);
    free(src->col_strings);
    free(src->columns);
    src->col_strings = NULL;
    src->columns = NULL;
    src->n_columns = 0;
    src->base.columns = NULL;
    src->base.n_columns = 0;
}

/* Run sql (cancellably); a result that is not TUPLES_OK is only logged. */
static ferry_status describe_query(pg_source *src, const char *sql, const char *what, PGresult **out,
                                   ferry_error *err)
{
    PGresult *res = NULL; /* owned: PQclear */
    *out = NULL;
    ferry_status st = ferry_pg_run(src->pg, src->conn_id, sql, src->timeout, &res, err);
    if (st != FERRY_OK)
        return st;
    if (PQresultStatus(res) == PGRES_TUPLES_OK) {
        *out = res;
        return FERRY_OK;
    }
    char why[512];
    ferry_pg_one_line(PQresultErrorMessage(res), why, sizeof why);
    ferry_log(FERRY_LOG_DEBUG, "postgres(%s): %s: %s (the columns stay undescribed)", src->conn_id,
              what, why);
    PQclear(res);
    return FERRY_OK;
}

/* The columns of select_sql: names and type OIDs from a "LIMIT 0" run of it
 * (one simple query: no prepared statement, so poolers in transaction mode
 * do not matter), native names and domains' base types from format_type and
 * pg_type.  A statement that cannot be wrapped (a data-modifying WITH, say)
 * leaves the columns undescribed: only a --create from the header's names
 * is then possible.  Fails only on interruption, timeout or a lost server. */
static ferry_status describe_columns(pg_source *src, const char *select_sql, ferry_error *err)
{
    char *sql = ferry_pg_format("SELECT * FROM (\n%s\n) AS _ferry_describe LIMIT 0", select_sql);
    if (!sql)
        return ferry_error_oom(err, FERRY_PG_SYSTEM, src->conn_id, NULL);
    PGresult *shape = NULL, *types = NULL; /* owned: PQclear */
    ferry_status st = describe_query(src, sql, "describing the columns", &shape, err);
    free(sql);
    sql = NULL;
    int n = shape ? PQnfields(shape) : 0;
    if (st != FERRY_OK || !shape || n == 0) {
        PQclear(shape);
        return st;
    }
    /* '{23,25}'::oid[] and '{-1,786436}'::int4[]: numbers only, nothing to quote */
    size_t cap = 32 * (size_t)n + 64;
    char *oids = malloc(cap), *mods = malloc(cap);
    if (oids && mods) {
        size_t lo = 0, lm = 0;
        for (int i = 0; i < n; i++) {
            lo += (size_t)snprintf(oids + lo, cap - lo, "%s%u", i ? "," : "", (unsigned)PQftype(shape, i));
            lm += (size_t)snprintf(mods + lm, cap - lm, "%s%d", i ? "," : "", PQfmod(shape, i));
        }
        sql = ferry_pg_format(
            "SELECT pg_catalog.format_type(x.t, x.m), "
            "CASE WHEN ty.typtype = 'd' THEN ty.typbasetype ELSE x.t END, "
            "CASE WHEN ty.typtype = 'd' THEN ty.typtypmod ELSE x.m END "
            "FROM unnest('{%s}'::pg_catalog.oid[], '{%s}'::pg_catalog.int4[]) WITH ORDINALITY AS x(t, m, i) "
            "LEFT JOIN pg_catalog.pg_type ty ON ty.oid = x.t ORDER BY x.i", oids, mods);
    }
    free(oids);
    free(mods);
    if (!sql)
        st = ferry_error_oom(err, FERRY_PG_SYSTEM, src->conn_id, NULL);
    if (st == FERRY_OK)
        st = describe_query(src, sql, "naming the column types", &types, err);
    free(sql);
    int typed = types && PQntuples(types) == n && PQnfields(types) == 3;
    src->columns = calloc((size_t)n, sizeof *src->columns);
    src->col_strings = calloc(2 * (size_t)n, sizeof *src->col_strings);
    int oom = !src->columns || !src->col_strings;
    if (!oom)
        src->n_columns = (size_t)n;
    int version = PQserverVersion(src->pg);
    for (int i = 0; st == FERRY_OK && !oom && i < n; i++) {
        ferry_column *c = &src->columns[i];
        unsigned oid = typed ? (unsigned)strtoul(PQgetvalue(types, i, 1), NULL, 10) : (unsigned)PQftype(shape, i);
        int mod = typed ? atoi(PQgetvalue(types, i, 2)) : PQfmod(shape, i);
        c->kind = ferry_pg_column_kind(oid, mod, version, &c->precision, &c->scale);
        src->col_strings[2 * i] = strdup(PQfname(shape, i));
        src->col_strings[2 * i + 1] = typed ? strdup(PQgetvalue(types, i, 0)) : NULL;
        oom = !src->col_strings[2 * i] || (typed && !src->col_strings[2 * i + 1]);
        c->name = src->col_strings[2 * i];
        c->native_type = src->col_strings[2 * i + 1];
    }
    PQclear(shape);
    PQclear(types);
    if (oom) {
        free_columns(src);
        return ferry_error_oom(err, FERRY_PG_SYSTEM, src->conn_id, NULL);
    }
    if (st != FERRY_OK) {
        free_columns(src);
        return st;
    }
    src->base.columns = src->columns;
    src->base.n_columns = src->n_columns;
    return FERRY_OK;
}

/* Servers before 15 refuse HEADER in text format: ferry writes the header
 * line itself from the statement's column names, escaped as COPY would. */
static ferry_status make_text_header(pg_source *src, const char *select_sql, ferry_error *err)
{
    PGresult *res = NULL; /* owned: PQclear */
    ferry_status st = describe_statement(src, select_sql, &res, err);
    if (st != FERRY_OK)
        return st;
    size_t cap = 0;
    int oom = 0;
    int n = PQnfields(res);
    for (int i = 0; i < n && !oom; i++)
        oom = ferry_pg_append_text_escaped(&src->prefix, &src->prefix_len, &cap, PQfname(res, i),
                                           i + 1 < n ? '\t' : '\n') != 0;
    if (n == 0 && !oom)
        oom = ferry_pg_append_text_escaped(&src->prefix, &src->prefix_len, &cap, "", '\n') != 0;
    PQclear(res);
    if (oom)
        return ferry_error_oom(err, FERRY_PG_SYSTEM, src->conn_id, NULL);
    return FERRY_OK;
}

/* ---- reading ------------------------------------------------------------ */

/* Copy what fits of the pending bytes [*data + *off, *data + len) to dst. */
static size_t take(const char *data, size_t len, size_t *off, char *dst, size_t room)
{
    size_t n = len - *off;
    if (n > room)
        n = room;
    memcpy(dst, data + *off, n);
    *off += n;
    return n;
}

static size_t take_prefix(pg_source *src, char *dst, size_t room)
{
    if (!src->prefix || src->prefix_off >= src->prefix_len)
        return 0;
    return take(src->prefix, src->prefix_len, &src->prefix_off, dst, room);
}

/* Hand out the pending row; release it (libpq's buffer) once all of it went. */
static size_t take_row(pg_source *src, char *dst, size_t room)
{
    if (!src->row)
        return 0;
    size_t n = take(src->row, src->row_len, &src->row_off, dst, room);
    if (src->row_off == src->row_len) {
        PQfreemem(src->row);
        src->row = NULL;
    }
    return n;
}

static void count_line(pg_source *src)
{
    src->lines_seen++;
    int64_t rows = src->lines_seen - src->header_lines;
    src->base.rows = rows > 0 ? rows : 0;
}

/* After the COPY ended: its final result says whether every row was produced
 * (an error at row 3,000,000 arrives only now).  The verdict is kept, so both
 * read() and finish() can report it. */
static ferry_status judge_copy(pg_source *src, ferry_error *err)
{
    ferry_status st = ferry_pg_wait_ready(src->pg, src->conn_id, src->timeout, err);
    if (st != FERRY_OK)
        return st;
    src->judged = 1;
    PGresult *res = PQgetResult(src->pg); /* owned: PQclear */
    if (res && PQresultStatus(res) == PGRES_COMMAND_OK) {
        long long rows = ferry_pg_cmd_rows(res);
        if (rows >= 0)
            src->base.rows = rows;
        ferry_error_clear(&src->verdict);
    } else {
        ferry_pg_result_error(src->pg, res, src->conn_id, "COPY", &src->verdict);
    }
    PQclear(res);
    /* the query is over: collect what remains so the connection is idle */
    ferry_error scratch;
    while (src->verdict.status == FERRY_OK &&
           ferry_pg_wait_ready(src->pg, src->conn_id, src->timeout, &scratch) == FERRY_OK) {
        res = PQgetResult(src->pg);
        if (!res)
            break;
        PQclear(res);
    }
    if (src->verdict.status != FERRY_OK && err)
        *err = src->verdict;
    return src->verdict.status;
}

/* Fetch the next row from libpq into src->row without blocking.
 * Returns FERRY_OK with src->row set, or FERRY_OK with src->row NULL when
 * nothing has arrived yet or the COPY ended (src->copy_done). */
static ferry_status fetch_row(pg_source *src, ferry_error *err)
{
    char *row = NULL;
    int n = PQgetCopyData(src->pg, &row, 1);
    if (n > 0) {
        src->row = row;
        src->row_len = (size_t)n;
        src->row_off = 0;
        src->last_data = ferry_now_monotonic();
        count_line(src);
        return FERRY_OK;
    }
    if (n == -1) {
        src->copy_done = 1;
        return judge_copy(src, err);
    }
    if (n == -2)
        return ferry_pg_conn_error(src->pg, src->conn_id, "COPY", err);
    return FERRY_OK;
}

static ferry_status source_read(ferry_source *s, void *buf, size_t cap, size_t *nread,
                                ferry_error *err)
{
    pg_source *src = (pg_source *)s;
    char *dst = buf;
    size_t filled = 0;
    *nread = 0;
    if (src->judged && src->verdict.status != FERRY_OK) {
        if (err)
            *err = src->verdict;
        return src->verdict.status;
    }
    if (cap == 0)
        return ferry_error_hook(err, FERRY_ERR_INTERNAL, FERRY_PG_SYSTEM, src->conn_id,
                                "read with an empty buffer");
    filled += take_prefix(src, dst, cap);
    filled += take_row(src, dst + filled, cap - filled);
    while (filled < cap && !src->copy_done) {
        ferry_status st = fetch_row(src, err);
        if (st != FERRY_OK)
            return st;
        if (src->row) {
            filled += take_row(src, dst + filled, cap - filled);
            continue;
        }
        if (src->copy_done)
            break;
        if (filled > 0) {
            /* fill the buffer while rows keep coming; a pause hands out what there is */
            int arrived = 0;
            st = ferry_pg_poll_input(src->pg, src->conn_id, FERRY_PG_POLL_MS, &arrived, err);
            if (st != FERRY_OK)
                return st;
            if (!arrived)
                break;
            continue;
        }
        st = ferry_pg_wait_input(src->pg, src->conn_id, src->timeout, src->last_data, err);
        if (st != FERRY_OK)
            return st;
    }
    *nread = filled;
    return FERRY_OK;
}

static ferry_status source_finish(ferry_source *s, ferry_error *err)
{
    pg_source *src = (pg_source *)s;
    if (!src->copy_done)
        return ferry_error_hook(err, FERRY_ERR_INTERNAL, FERRY_PG_SYSTEM, src->conn_id,
                                "COPY finished before the end of its data");
    if (!src->judged)
        return judge_copy(src, err);
    if (src->verdict.status != FERRY_OK && err)
        *err = src->verdict;
    return src->verdict.status;
}

/* Leaving before the COPY ended (error elsewhere, signal): tell the server
 * to stop producing rows, then hang up. */
static void source_free(ferry_source *s)
{
    pg_source *src = (pg_source *)s;
    if (!src)
        return;
    if (src->pg && PQtransactionStatus(src->pg) == PQTRANS_ACTIVE)
        ferry_pg_cancel(src->pg);
    PQfinish(src->pg);
    PQfreemem(src->row);
    free_columns(src);
    ferry_pg_bin_schema_free(&src->bin);
    free(src->prefix);
    free(src->conn_id);
    free(src);
}

static const ferry_source_ops pg_source_ops = {
    .name = "postgres",
    .read = source_read,
    .finish = source_finish,
    .free = source_free,
};

const ferry_pg_bin_schema *ferry_pg_source_bin_schema(const ferry_source *s)
{
    const pg_source *src = (const pg_source *)s;
    return s && s->ops == &pg_source_ops && src->bin.n > 0 ? &src->bin : NULL;
}

/* ---- opening ------------------------------------------------------------ */

/* The table or the query the endpoint asks for, checked before connecting. */
static ferry_status resolve_what_to_read(const ferry_endpoint *ep, const ferry_copy_options *o,
                                         const char *id, ferry_pg_table *table, char **query,
                                         ferry_error *err)
{
    const char *path = ep->path ? ep->path : "";
    const char *q = o->query && *o->query ? o->query : NULL;
    *query = NULL;
    memset(table, 0, sizeof *table);
    if (*path && q)
        return ferry_error_hook(err, FERRY_ERR_USAGE, FERRY_PG_SYSTEM, id,
                                "give either a table (%s:schema.table) or a query, not both",
                                ep->conn && ep->conn->id ? ep->conn->id : "CONN");
    if (!*path && !q)
        return ferry_error_hook(err, FERRY_ERR_USAGE, FERRY_PG_SYSTEM, id,
                                "nothing to read: give a table (CONN:schema.table) or a query");
    if (*path)
        return ferry_pg_table_parse(path, id, table, err);
    *query = ferry_pg_query_trim(q);
    if (!*query)
        return ferry_error_oom(err, FERRY_PG_SYSTEM, id, NULL);
    if (!**query)
        return ferry_error_hook(err, FERRY_ERR_USAGE, FERRY_PG_SYSTEM, id, "the query is empty");
    return FERRY_OK;
}

/* Build the COPY statement on the open connection (quoting needs it) and,
 * for TSV on old servers, the header line.  *sql is malloc'd (free). */
static ferry_status prepare_copy(pg_source *src, const ferry_pg_table *table, const char *query,
                                 ferry_format fmt, const ferry_copy_options *o, char **sql,
                                 ferry_error *err)
{
    ferry_status st = FERRY_OK;
    int header = o->header;
    char *table_sql = NULL, *target = NULL, *select_sql = NULL, *null_opt = NULL; /* owned: free */
    *sql = NULL;
    if (table->name) {
        table_sql = ferry_pg_table_sql(src->pg, table, src->conn_id, err);
        if (!table_sql)
            return err ? err->status : FERRY_ERR_INTERNAL;
    }
    target = copy_target(table_sql, query);
    select_sql = select_statement(table_sql, query);
    null_opt = ferry_pg_null_option(src->pg, o->null_string);
    if (fmt == FERRY_FORMAT_PARQUET && select_sql) {
        st = ferry_pg_bin_prepare(src->pg, src->conn_id, select_sql, sql, &src->bin, err);
    } else {
        if (target && select_sql && null_opt)
            *sql = copy_out_sql(target, select_sql, fmt, header, null_opt, PQserverVersion(src->pg));
        if (!*sql)
            st = ferry_error_oom(err, FERRY_PG_SYSTEM, src->conn_id, NULL);
        if (st == FERRY_OK)
            st = describe_columns(src, select_sql, err);
    }
    if (st == FERRY_OK && fmt == FERRY_FORMAT_TSV && header && PQserverVersion(src->pg) < 150000)
        st = make_text_header(src, select_sql, err);
    free(table_sql);
    free(target);
    free(select_sql);
    free(null_opt);
    return st;
}

/* range_query/snapshot: a range of a parallel extraction (pg_parallel.c):
 * read range_query instead of the endpoint, inside a REPEATABLE READ
 * transaction that imports snapshot (when not NULL). */
static ferry_status open_source_ex(const ferry_endpoint *ep, const ferry_copy_options *o,
                                   const char *range_query, const char *snapshot,
                                   ferry_source **out, ferry_error *err)
{
    *out = NULL;
    const char *id = ferry_endpoint_conn_id(ep);
    ferry_format fmt = o->format == FERRY_FORMAT_AUTO ? FERRY_FORMAT_CSV : o->format;
    if (!format_is_supported(fmt))
        return ferry_error_hook(err, FERRY_ERR_USAGE, FERRY_PG_SYSTEM, id,
                                "a table can be read as csv, tsv or jsonl only");
    ferry_pg_table table;
    char *query = NULL; /* owned: free */
    char *sql = NULL;   /* owned: free */
    ferry_status st = FERRY_OK;
    memset(&table, 0, sizeof table);
    if (range_query && !(query = strdup(range_query)))
        st = ferry_error_oom(err, FERRY_PG_SYSTEM, id, NULL);
    else if (!range_query)
        st = resolve_what_to_read(ep, o, id, &table, &query, err);
    pg_source *src = NULL;
    if (st == FERRY_OK && !(src = calloc(1, sizeof *src)))
        st = ferry_error_oom(err, FERRY_PG_SYSTEM, id, NULL);
    if (st == FERRY_OK) {
        src->base.ops = &pg_source_ops;
        src->base.size = -1;
        src->base.rows = 0;
        src->timeout = o->timeout;
        src->header_lines = fmt != FERRY_FORMAT_JSONL && fmt != FERRY_FORMAT_PARQUET && o->header ? 1 : 0;
        src->conn_id = strdup(id ? id : "");
        st = ferry_pg_connect_retry(ep->conn, src->conn_id, o->max_retries, &src->pg, err);
    }
    if (st == FERRY_OK && range_query) {
        char *begin = NULL; /* owned: free; the snapshot id is [0-9A-F-] only (checked by the caller) */
        begin = snapshot ? ferry_pg_format("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY; "
                                           "SET TRANSACTION SNAPSHOT '%s'", snapshot)
                         : ferry_pg_format("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY");
        st = begin ? ferry_pg_command(src->pg, src->conn_id, begin, "importing the snapshot", o->timeout, err)
                   : ferry_error_oom(err, FERRY_PG_SYSTEM, id, NULL);
        free(begin);
    }
    if (st == FERRY_OK)
        st = prepare_copy(src, &table, query, fmt, o, &sql, err);
    if (st == FERRY_OK) {
        ferry_log(FERRY_LOG_DEBUG, "postgres(%s): %s", id ? id : "", sql);
        st = ferry_pg_start_copy(src->pg, src->conn_id, sql, PGRES_COPY_OUT, o->timeout, err);
    }
    ferry_pg_table_release(&table);
    free(query);
    free(sql);
    if (st != FERRY_OK) {
        source_free((ferry_source *)src);
        return st;
    }
    src->last_data = ferry_now_monotonic();
    *out = &src->base;
    return FERRY_OK;
}

ferry_status ferry_pg_open_source(const ferry_endpoint *ep, const ferry_copy_options *o,
                                  ferry_source **out, ferry_error *err)
{
    return open_source_ex(ep, o, NULL, NULL, out, err);
}

ferry_status ferry_pg_open_range_source(const ferry_endpoint *ep, const ferry_copy_options *o,
                                        const char *query, const char *snapshot, ferry_source **out,
                                        ferry_error *err)
{
    return open_source_ex(ep, o, query, snapshot, out, err);
}
