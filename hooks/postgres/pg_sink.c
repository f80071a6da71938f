/*
 * hooks/postgres/pg_sink.c - a table as a ferry_writer: the whole load is one
 * transaction, BEGIN; [TRUNCATE with --replace;] COPY ... FROM STDIN, with
 * the transfer's chunks handed straight to PQputCopyData.  commit() ends the
 * COPY and COMMITs; abort() ends it with an error and ROLLs BACK, so a failed
 * or interrupted load leaves the table exactly as it was.  With --create a
 * missing table is created in the same transaction: at once with typed
 * columns when the source described its columns (o->columns), else with text
 * columns once the first line of the data has arrived, and the COPY starts
 * then.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/log.h"
#include "pg_internal.h"

typedef struct pg_sink {
    ferry_writer base;      /* first member: the transfer sees only this */
    PGconn *pg;             /* owned: PQfinish (closing also rolls back) */
    char *conn_id;          /* owned copy, for messages */
    int in_transaction;     /* BEGIN sent, neither COMMIT nor ROLLBACK yet */
    int in_copy;            /* COPY FROM STDIN open on the connection */
    int skip_header_line;   /* TSV header for servers before 15: dropped here */
    /* --create of a missing table: the COPY waits for the first line */
    int create_pending;     /* the table is created when the first line is complete */
    ferry_format format;    /* csv or tsv: how to find and split the first line */
    int header;             /* the first line holds the column names */
    double timeout;         /* for CREATE TABLE and the COPY's start */
    char *table_sql;        /* owned: "s"."t", while create_pending */
    char *copy_sql;         /* owned: the COPY to start after CREATE TABLE */
    char *held;             /* owned: data held back until the first line is complete */
    size_t held_len, held_cap;
} pg_sink;

/* A first line longer than this is not a header (a missing newline?). */
#define PG_MAX_FIRST_LINE (16u << 20)

/* ---- writing ------------------------------------------------------------ */

/* Drop the bytes up to and including the first newline of the stream.
 * Returns how many bytes of [p, p + len) belong to the header. */
static size_t header_bytes(pg_sink *sink, const char *p, size_t len)
{
    if (!sink->skip_header_line)
        return 0;
    const char *nl = memchr(p, '\n', len);
    if (!nl)
        return len;
    sink->skip_header_line = 0;
    return (size_t)(nl - p) + 1;
}

/* Hand bytes to the COPY (dropping a header line ferry skips itself). */
static ferry_status put_data(pg_sink *sink, const char *p, size_t len, ferry_error *err)
{
    size_t skip = header_bytes(sink, p, len);
    p += skip;
    len -= skip;
    while (len > 0) {
        int n = len > (size_t)INT_MAX ? INT_MAX : (int)len;
        if (PQputCopyData(sink->pg, p, n) != 1)
            return ferry_pg_conn_error(sink->pg, sink->conn_id, "COPY", err);
        p += n;
        len -= (size_t)n;
    }
    return FERRY_OK;
}

/* --create: CREATE TABLE from the first line_len bytes held, start the COPY,
 * then hand it everything held (the header line included: COPY skips it). */
static ferry_status create_and_start(pg_sink *sink, size_t line_len, ferry_error *err)
{
    char **names = NULL; /* owned: ferry_pg_names_free */
    size_t n = 0;
    char *create_sql = NULL; /* owned: free */
    ferry_status st = FERRY_OK;
    if (ferry_pg_split_line(sink->held, line_len, sink->format, sink->header, &names, &n) != 0 ||
        !(create_sql = ferry_pg_create_table_sql(sink->pg, sink->table_sql, names, n)))
        st = ferry_error_oom(err, FERRY_PG_SYSTEM, sink->conn_id, NULL);
    ferry_pg_names_free(names, n);
    if (st == FERRY_OK) {
        ferry_log(FERRY_LOG_INFO, "postgres(%s): %s", sink->conn_id, create_sql);
        st = ferry_pg_command(sink->pg, sink->conn_id, create_sql, "CREATE TABLE", sink->timeout,
                              err);
    }
    free(create_sql);
    if (st == FERRY_OK)
        st = ferry_pg_start_copy(sink->pg, sink->conn_id, sink->copy_sql, PGRES_COPY_IN,
                                 sink->timeout, err);
    if (st != FERRY_OK)
        return st;
    sink->create_pending = 0;
    sink->in_copy = 1;
    st = put_data(sink, sink->held, sink->held_len, err);
    free(sink->held);
    sink->held = NULL;
    sink->held_len = sink->held_cap = 0;
    return st;
}

/* --create: keep the data until the first line is complete. */
static ferry_status hold_first_line(pg_sink *sink, const char *p, size_t len, ferry_error *err)
{
    if (sink->held_len + len > PG_MAX_FIRST_LINE)
        return ferry_error_hook(err, FERRY_ERR_DATA, FERRY_PG_SYSTEM, sink->conn_id,
                                "cannot create the table: no end of the first line in %u bytes",
                                PG_MAX_FIRST_LINE);
    if (sink->held_len + len > sink->held_cap) {
        size_t cap = sink->held_cap ? 2 * sink->held_cap : 64 * 1024;
        if (cap < sink->held_len + len)
            cap = sink->held_len + len;
        char *grown = realloc(sink->held, cap);
        if (!grown)
            return ferry_error_oom(err, FERRY_PG_SYSTEM, sink->conn_id, NULL);
        sink->held = grown;
        sink->held_cap = cap;
    }
    memcpy(sink->held + sink->held_len, p, len);
    sink->held_len += len;
    size_t line_len = ferry_pg_first_line_end(sink->held, sink->held_len, sink->format);
    return line_len ? create_and_start(sink, line_len, err) : FERRY_OK;
}

static ferry_status sink_write(ferry_writer *w, const void *buf, size_t len, ferry_error *err)
{
    pg_sink *sink = (pg_sink *)w;
    if (sink->create_pending)
        return hold_first_line(sink, buf, len, err);
    if (!sink->in_copy)
        return ferry_error_hook(err, FERRY_ERR_INTERNAL, FERRY_PG_SYSTEM, sink->conn_id,
                                "write after the end of the COPY");
    return put_data(sink, buf, len, err);
}

/* ---- ending ------------------------------------------------------------- */

/* Collect the results still due, blocking (used only on the way out). */
static void drain_results(PGconn *pg)
{
    PGresult *res;
    while ((res = PQgetResult(pg)) != NULL) {
        ExecStatusType s = PQresultStatus(res);
        PQclear(res);
        if (s == PGRES_COPY_IN || s == PGRES_COPY_OUT || s == PGRES_COPY_BOTH)
            break; /* still copying: the connection cannot be cleaned, only closed */
    }
}

/* End the COPY and read its verdict; the table's new rows go to w->rows. */
static ferry_status end_copy(pg_sink *sink, ferry_error *err)
{
    sink->in_copy = 0;
    if (PQputCopyEnd(sink->pg, NULL) != 1)
        return ferry_pg_conn_error(sink->pg, sink->conn_id, "COPY", err);
    ferry_status st = ferry_pg_wait_ready(sink->pg, sink->conn_id, 0, err);
    if (st != FERRY_OK)
        return st;
    PGresult *res = PQgetResult(sink->pg); /* owned: PQclear */
    if (res && PQresultStatus(res) == PGRES_COMMAND_OK)
        sink->base.rows = ferry_pg_cmd_rows(res);
    else
        st = ferry_pg_result_error(sink->pg, res, sink->conn_id, "COPY", err);
    PQclear(res);
    if (st == FERRY_OK)
        st = ferry_pg_wait_ready(sink->pg, sink->conn_id, 0, err);
    if (st == FERRY_OK)
        drain_results(sink->pg);
    return st;
}

/* --create at the end of the data: a first line without a newline is the
 * whole input; no data at all gives no column to create. */
static ferry_status create_from_what_is_held(pg_sink *sink, ferry_error *err)
{
    if (sink->held_len == 0)
        return ferry_error_hook(err, FERRY_ERR_DATA, FERRY_PG_SYSTEM, sink->conn_id,
                                "cannot create the table: the data is empty");
    return create_and_start(sink, sink->held_len, err);
}

static ferry_status sink_commit(ferry_writer *w, ferry_error *err)
{
    pg_sink *sink = (pg_sink *)w;
    if (sink->create_pending) {
        ferry_status st = create_from_what_is_held(sink, err);
        if (st != FERRY_OK)
            return st;
    }
    if (!sink->in_copy || !sink->in_transaction)
        return ferry_error_hook(err, FERRY_ERR_INTERNAL, FERRY_PG_SYSTEM, sink->conn_id,
                                "commit without an open load");
    ferry_status st = end_copy(sink, err);
    if (st != FERRY_OK)
        return st; /* still in the transaction: abort() rolls it back */
    sink->in_transaction = 0; /* a COMMIT that fails ends the transaction too */
    st = ferry_pg_commit(sink->pg, sink->conn_id, err);
    if (st == FERRY_OK)
        ferry_log(FERRY_LOG_DEBUG, "postgres(%s): committed %lld rows", sink->conn_id,
                  (long long)sink->base.rows);
    return st;
}

/* Idempotent and safe at any point, also after a signal (it never looks at
 * ferry_cancelled()): a cancel request first, so that a server stuck on a
 * lock lets go of the COPY, then CopyFail and ROLLBACK. */
static void sink_abort(ferry_writer *w)
{
    pg_sink *sink = (pg_sink *)w;
    if (!sink || !sink->pg)
        return;
    if (sink->in_copy) {
        sink->in_copy = 0;
        ferry_pg_cancel(sink->pg);
        if (PQputCopyEnd(sink->pg, "aborted by ferry") == 1)
            drain_results(sink->pg);
    }
    if (sink->in_transaction) {
        sink->in_transaction = 0;
        PGresult *res = PQexec(sink->pg, "ROLLBACK"); /* owned: PQclear */
        if (!res || PQresultStatus(res) != PGRES_COMMAND_OK) {
            char why[256];
            ferry_pg_one_line(PQerrorMessage(sink->pg), why, sizeof why);
            ferry_log(FERRY_LOG_DEBUG, "postgres(%s): ROLLBACK failed (%s); closing the connection",
                      sink->conn_id, why);
            PQfinish(sink->pg); /* the server rolls back when the session ends */
            sink->pg = NULL;
        }
        PQclear(res);
    }
}

static void sink_free(ferry_writer *w)
{
    pg_sink *sink = (pg_sink *)w;
    if (!sink)
        return;
    PQfinish(sink->pg);
    free(sink->conn_id);
    free(sink->table_sql);
    free(sink->copy_sql);
    free(sink->held);
    free(sink);
}

static const ferry_writer_ops pg_sink_ops = {
    .name = "postgres",
    .write = sink_write,
    .commit = sink_commit,
    .abort = sink_abort,
    .free = sink_free,
};

/* ---- opening ------------------------------------------------------------ */

static ferry_status check_sink_format(ferry_format fmt, const char *id, ferry_error *err)
{
    if (fmt == FERRY_FORMAT_CSV || fmt == FERRY_FORMAT_TSV)
        return FERRY_OK;
    if (fmt == FERRY_FORMAT_JSONL)
        return ferry_error_hook(err, FERRY_ERR_USAGE, FERRY_PG_SYSTEM, id,
                                "loading JSONL into a table is not supported yet (use csv or tsv)");
    return ferry_error_hook(err, FERRY_ERR_USAGE, FERRY_PG_SYSTEM, id,
                            "a table can be loaded from csv or tsv only");
}

/* null_opt: ", NULL '...'" or "" (see ferry_pg_null_option). */
static char *copy_in_sql(pg_sink *sink, const char *table_sql, ferry_format fmt, int header,
                         const char *null_opt)
{
    if (fmt == FERRY_FORMAT_CSV)
        return ferry_pg_format("COPY %s FROM STDIN WITH (FORMAT csv, HEADER %s%s)", table_sql,
                               header ? "true" : "false", null_opt);
    if (header && PQserverVersion(sink->pg) >= 150000)
        return ferry_pg_format("COPY %s FROM STDIN WITH (FORMAT text, HEADER true%s)", table_sql,
                               null_opt);
    sink->skip_header_line = header;
    return ferry_pg_format("COPY %s FROM STDIN WITH (FORMAT text%s)", table_sql, null_opt);
}

/* --create with the source's columns: CREATE TABLE with their types now. */
static ferry_status create_typed(pg_sink *sink, const char *table_sql, const ferry_copy_options *o,
                                 ferry_error *err)
{
    char *sql = ferry_pg_create_typed_sql(sink->pg, table_sql, o->columns, o->n_columns); /* owned */
    if (!sql)
        return ferry_error_oom(err, FERRY_PG_SYSTEM, sink->conn_id, NULL);
    ferry_log(FERRY_LOG_INFO, "postgres(%s): %s", sink->conn_id, sql);
    ferry_status st = ferry_pg_command(sink->pg, sink->conn_id, sql, "CREATE TABLE", sink->timeout, err);
    free(sql);
    return st;
}

/* --create: a missing table is created at once from the source's columns
 * (*created), or else makes the sink wait for the first line; the statements
 * it then needs are kept in the sink (ownership moves there). */
static ferry_status create_if_missing(pg_sink *sink, const ferry_copy_options *o, char **table_sql,
                                      char **copy_sql, int *created, int *deferred, ferry_error *err)
{
    int exists = 0;
    ferry_status st = ferry_pg_table_exists(sink->pg, sink->conn_id, *table_sql, sink->timeout,
                                            &exists, err);
    *created = *deferred = 0;
    if (st != FERRY_OK || exists)
        return st;
    if (o->columns && o->n_columns > 0) {
        st = create_typed(sink, *table_sql, o, err);
        *created = st == FERRY_OK;
        return st;
    }
    *deferred = 1;
    sink->create_pending = 1;
    sink->table_sql = *table_sql;
    sink->copy_sql = *copy_sql;
    *table_sql = *copy_sql = NULL;
    return st;
}

/* BEGIN; [TRUNCATE;] COPY ... FROM STDIN.  A missing table fails here, before
 * the transfer reads any data (unless --create will make it). */
static ferry_status start_load(pg_sink *sink, const ferry_pg_table *table,
                               const ferry_copy_options *o, ferry_error *err)
{
    char *table_sql = ferry_pg_table_sql(sink->pg, table, sink->conn_id, err); /* owned */
    if (!table_sql)
        return err ? err->status : FERRY_ERR_INTERNAL;
    char *truncate_sql = ferry_pg_format("TRUNCATE %s", table_sql);  /* owned */
    char *null_opt = ferry_pg_null_option(sink->pg, o->null_string);  /* owned */
    char *copy_sql = NULL;                                            /* owned */
    if (null_opt)
        copy_sql = copy_in_sql(sink, table_sql, sink->format, o->header, null_opt);
    ferry_status st = FERRY_OK;
    int deferred = 0, created = 0;
    if (!truncate_sql || !copy_sql)
        st = ferry_error_oom(err, FERRY_PG_SYSTEM, sink->conn_id, NULL);
    if (st == FERRY_OK) {
        st = ferry_pg_command(sink->pg, sink->conn_id, "BEGIN", "BEGIN", o->timeout, err);
        sink->in_transaction = st == FERRY_OK;
    }
    if (st == FERRY_OK && o->create_table)
        st = create_if_missing(sink, o, &table_sql, &copy_sql, &created, &deferred, err);
    if (st == FERRY_OK && o->replace && !deferred && !created)
        st = ferry_pg_command(sink->pg, sink->conn_id, truncate_sql, "TRUNCATE", o->timeout, err);
    if (st == FERRY_OK && !deferred) {
        ferry_log(FERRY_LOG_DEBUG, "postgres(%s): %s", sink->conn_id, copy_sql);
        st = ferry_pg_start_copy(sink->pg, sink->conn_id, copy_sql, PGRES_COPY_IN, o->timeout,
                                 err);
        sink->in_copy = st == FERRY_OK;
    }
    free(table_sql);
    free(truncate_sql);
    free(null_opt);
    free(copy_sql);
    return st;
}

ferry_status ferry_pg_open_sink(const ferry_endpoint *ep, const ferry_copy_options *o,
                                ferry_writer **out, ferry_error *err)
{
    *out = NULL;
    const char *id = ferry_endpoint_conn_id(ep);
    ferry_format fmt = o->format == FERRY_FORMAT_AUTO ? FERRY_FORMAT_CSV : o->format;
    ferry_status st = check_sink_format(fmt, id, err);
    if (st != FERRY_OK)
        return st;
    if (!ep->path || !*ep->path)
        return ferry_error_hook(err, FERRY_ERR_USAGE, FERRY_PG_SYSTEM, id,
                                "no table to load: give CONN:schema.table");
    ferry_pg_table table;
    st = ferry_pg_table_parse(ep->path, id, &table, err);
    if (st != FERRY_OK)
        return st;
    pg_sink *sink = calloc(1, sizeof *sink);
    if (!sink) {
        ferry_pg_table_release(&table);
        return ferry_error_oom(err, FERRY_PG_SYSTEM, id, NULL);
    }
    sink->base.ops = &pg_sink_ops;
    sink->base.rows = -1;
    sink->conn_id = strdup(id ? id : "");
    sink->format = fmt;
    sink->header = o->header;
    sink->timeout = o->timeout;
    st = ferry_pg_connect_retry(ep->conn, sink->conn_id, o->max_retries, &sink->pg, err);
    if (st == FERRY_OK)
        st = start_load(sink, &table, o, err);
    ferry_pg_table_release(&table);
    if (st != FERRY_OK) {
        sink_free(&sink->base); /* closing the session rolls back BEGIN/TRUNCATE */
        return st;
    }
    *out = &sink->base;
    return FERRY_OK;
}
