/*
 * hooks/postgres/pg_internal.h - what the files of the PostgreSQL hook share:
 * connecting, cancellable waiting on libpq, mapping libpq failures to ferry
 * statuses, and naming tables safely.
 *
 * Not a public header: only the files in hooks/postgres/ include it.  Every function
 * here is prefixed ferry_pg_ so that nothing collides with libpq's own pg_*
 * exports inside libferry.
 */
#ifndef FERRY_HOOKS_POSTGRES_PG_INTERNAL_H
#define FERRY_HOOKS_POSTGRES_PG_INTERNAL_H

#include <stddef.h>
#include <libpq-fe.h>

#include "core/util.h"
#include "ferry/hook.h"

#define FERRY_PG_SYSTEM "postgres"
/* How often a wait wakes up to look at ferry_cancelled() and the clock. */
#define FERRY_PG_POLL_MS 200
/* connect_timeout (seconds) when neither the connection nor PGCONNECT_TIMEOUT says. */
#define FERRY_PG_CONNECT_TIMEOUT 30

extern const ferry_hook ferry_hook_postgres;

/* ---- pg_conn.c: connecting and errors ---------------------------------- */

/* Open a connection for conn.  Keywords come from the connection's fields
 * (host, port, user = login, password, dbname = schema) and from every extra
 * whose key is a libpq keyword; anything left out falls back to libpq's PG*
 * environment variables and ~/.pgpass.  On success *out is owned by the
 * caller (PQfinish).  Failures: FERRY_ERR_CONNECT, naming host:port and
 * libpq's reason (never the password); conn_id is the id for messages. */
ferry_status ferry_pg_connect(const ferry_conn *conn, const char *conn_id, PGconn **out,
                              ferry_error *err);
/* The same; a failure to reach the server (refused, unreachable, timed out,
 * starting up, too many clients) is tried max_attempts times in all (0: the
 * default 5) with ferry_retry's backoff, then is FERRY_ERR_CONNECT "gave up
 * after N attempts: ...".  ferry_pg_connect uses the default. */
ferry_status ferry_pg_connect_retry(const ferry_conn *conn, const char *conn_id, int max_attempts,
                                    PGconn **out, ferry_error *err);

/* The ferry status for a SQLSTATE (5 characters; NULL means no SQLSTATE). */
ferry_status ferry_pg_status_for_sqlstate(const char *sqlstate);

/* How far a failed connection attempt got (libpq's PQstatus before the
 * PQconnectPoll call that failed): the classification of a connect failure
 * never reads libpq's English text. */
typedef enum ferry_pg_stage {
    FERRY_PG_STAGE_NETWORK = 0, /* resolving, TCP connecting, sending the first packet */
    FERRY_PG_STAGE_TLS,         /* the TLS (or GSS) handshake: certificates, CA file */
    FERRY_PG_STAGE_SERVER,      /* the server answered: authentication, startup */
} ferry_pg_stage;

/* The status of a connection attempt that failed at stage: NETWORK is
 * FERRY_ERR_CONNECT, transient unless host_unknown (the name does not
 * resolve: fails at once); TLS is FERRY_ERR_CONNECT at once; SERVER goes by
 * the SQLSTATE the server sent (NULL: none, the connection dropped): 3D000
 * (no such database) FERRY_ERR_NOT_FOUND, 57P03 (starting up, shutting
 * down, recovery), class 53 (too many clients), class 08 and 57P01/57P02
 * FERRY_ERR_CONNECT transient, anything else (class 28: authentication)
 * FERRY_ERR_CONNECT at once; no SQLSTATE is transient unless libpq needed a
 * password it did not have (needs_password). */
ferry_status ferry_pg_connect_status(ferry_pg_stage stage, const char *sqlstate, int needs_password,
                                     int host_unknown, int *transient);

/* The last SQLSTATE in a message libpq built with PQERRORS_VERBOSE
 * ("FATAL:  28P01: password ..."): the 5-character code after a severity,
 * copied into out[6]; 0 when there is none (libpq's own failures). */
int ferry_pg_verbose_sqlstate(const char *msg, char out[6]);

/* Fill err from a failed result: "<what> failed: <message>[: detail][ (context)]"
 * with the status of its SQLSTATE.  res may be NULL (then the connection's
 * own error is used).  Returns the status. */
ferry_status ferry_pg_result_error(PGconn *pg, const PGresult *res, const char *conn_id,
                                   const char *what, ferry_error *err);

/* Fill err for a failure without a result (connection lost, libpq refused a
 * call): FERRY_ERR_DATA "<what> failed: <PQerrorMessage>". */
ferry_status ferry_pg_conn_error(PGconn *pg, const char *conn_id, const char *what,
                                 ferry_error *err);

/* Copy libpq's message (possibly several lines, "ERROR:  " prefixes,
 * "connection to server ... failed: " prefixes) into out as one line. */
void ferry_pg_one_line(const char *raw, char *out, size_t cap);

/* ---- pg_conn.c: cancellable waiting ------------------------------------ */


/* Ask the server to cancel what the connection is running (best effort). */
void ferry_pg_cancel(PGconn *pg);

/* Wait at most ms milliseconds for the server to send something; *arrived
 * says whether it did (the input is then consumed into libpq).  Fails only
 * when the connection is lost. */
ferry_status ferry_pg_poll_input(PGconn *pg, const char *conn_id, int ms, int *arrived,
                                 ferry_error *err);

/* Wait until the server sent something (then consumed into libpq), waking
 * every FERRY_PG_POLL_MS to check ferry_cancelled() (FERRY_ERR_INTERRUPTED)
 * and whether timeout seconds (<= 0: none) passed since `since`
 * (FERRY_ERR_TIMEOUT).  On interruption or timeout the running statement is
 * cancelled on the server. */
ferry_status ferry_pg_wait_input(PGconn *pg, const char *conn_id, double timeout, double since,
                                 ferry_error *err);

/* Wait like ferry_pg_wait_input until PQgetResult would not block. */
ferry_status ferry_pg_wait_ready(PGconn *pg, const char *conn_id, double timeout,
                                 ferry_error *err);

/* Send sql (one or several statements) and wait, cancellably, for all of its
 * results.  *out receives the last result, or the first error result; owned
 * by the caller (PQclear).  Returns FERRY_OK whenever a result arrived, even
 * an error result: the caller judges PQresultStatus. */
ferry_status ferry_pg_run(PGconn *pg, const char *conn_id, const char *sql, double timeout,
                          PGresult **out, ferry_error *err);

/* ferry_pg_run for a statement that must succeed (BEGIN, TRUNCATE...):
 * any result other than COMMAND_OK / TUPLES_OK is mapped into err. */
ferry_status ferry_pg_command(PGconn *pg, const char *conn_id, const char *sql, const char *what,
                              double timeout, ferry_error *err);

/* Send a COPY statement and wait until the server enters the copy state
 * `expect` (PGRES_COPY_OUT or PGRES_COPY_IN); otherwise map its error. */
ferry_status ferry_pg_start_copy(PGconn *pg, const char *conn_id, const char *sql,
                                 ExecStatusType expect, double timeout, ferry_error *err);

/* COMMIT, blocking: once sent it runs to its answer, never cancelled half-way.
 * A transaction that had failed answers COMMIT with the tag ROLLBACK, which
 * is a failure too (FERRY_ERR_DATA). */
ferry_status ferry_pg_commit(PGconn *pg, const char *conn_id, ferry_error *err);

/* Rows from a command tag ("COPY 42" -> 42); -1 when the tag has no count. */
long long ferry_pg_cmd_rows(PGresult *res);

/* ---- pg_path.c: tables and queries ------------------------------------- */

/* A table named by an endpoint path: "orders", "public.orders",
 * "\"My Schema\".\"My Table\"".  Unquoted parts fold to lower case as in SQL.
 * schema is NULL when the path names only a table.  Both owned (free). */
typedef struct ferry_pg_table {
    char *schema;
    char *name;
} ferry_pg_table;

/* Parse an endpoint path into t (zeroed first).  A malformed path (empty
 * part, unterminated quote, more than two parts) is FERRY_ERR_USAGE. */
ferry_status ferry_pg_table_parse(const char *path, const char *conn_id, ferry_pg_table *t,
                                  ferry_error *err);
void ferry_pg_table_release(ferry_pg_table *t);

/* "schema"."name" (or "name"), each part escaped with PQescapeIdentifier.
 * Returns a malloc'd string (free) or NULL with err set. */
char *ferry_pg_table_sql(PGconn *pg, const ferry_pg_table *t, const char *conn_id,
                         ferry_error *err);

/* The query without its trailing blanks, semicolons and comments ("SELECT 1;
 * -- done" -> "SELECT 1"), so that it can be wrapped in parentheses.
 * Strings, quoted names and dollar quotes are respected.  Returns a malloc'd
 * string (free), NULL on OOM. */
char *ferry_pg_query_trim(const char *query);

/* The COPY option for o->null_string: ", NULL 'text'" (a quoted literal),
 * or "" when null_string is NULL (COPY's default: an empty unquoted field in
 * csv, \N in text).  malloc'd (free); NULL on failure. */
char *ferry_pg_null_option(PGconn *pg, const char *null_string);

/* printf into a new malloc'd string (free); NULL on failure. */
char *ferry_pg_format(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Append src to the buffer *buf (malloc'd, length *len, capacity *cap),
 * escaped as a PostgreSQL COPY text-format value (backslash sequences for
 * backslash, tab, newline, CR, BS, FF, VT), then the terminator byte as it
 * is ('\t' between fields, '\n' at the end of a line).  The buffer stays
 * NUL-terminated.  Returns 0, or -1 on OOM. */
int ferry_pg_append_text_escaped(char **buf, size_t *len, size_t *cap, const char *src,
                                 char terminator);

/* ---- pg_create.c: --create ------------------------------------------- */

/* *exists = whether table_sql ("s"."t", already quoted) names a relation. */
ferry_status ferry_pg_table_exists(PGconn *pg, const char *conn_id, const char *table_sql,
                                   double timeout, int *exists, ferry_error *err);

/* Length of the first line of data (csv: a newline outside quotes; tsv: the
 * first newline), newline included; 0 when it is not complete yet. */
size_t ferry_pg_first_line_end(const char *data, size_t len, ferry_format fmt);

/* The fields of a first line as column names: decoded header fields (an
 * empty one becomes col<i>), or col1..colN when header is 0.  *names is a
 * malloc'd array of n malloc'd strings (ferry_pg_names_free).  0, or -1 on OOM. */
int ferry_pg_split_line(const char *line, size_t len, ferry_format fmt, int header,
                        char ***names, size_t *n);
void ferry_pg_names_free(char **names, size_t n);

/* CREATE TABLE table_sql ("name" text, ...); malloc'd (free), NULL on OOM. */
char *ferry_pg_create_table_sql(PGconn *pg, const char *table_sql, char *const *names, size_t n);

/* The PostgreSQL type CREATE TABLE uses for a ferry column (docs/hooks/postgres.md). */
void ferry_pg_column_type(const ferry_column *col, char *out, size_t cap);

/* CREATE TABLE table_sql ("name" <type>, ...) from a source's columns (an
 * empty name becomes col<i>); malloc'd (free), NULL on OOM. */
char *ferry_pg_create_typed_sql(PGconn *pg, const char *table_sql, const ferry_column *cols, size_t n);

/* The ferry column kind of a result column: its type OID (a domain's base
 * type, when known) and type modifier; *precision and *scale for numeric(p,s)
 * (0 when not given).  server_version picks numeric's typmod layout. */
ferry_column_kind ferry_pg_column_kind(unsigned oid, int typmod, int server_version, int *precision,
                                       int *scale);

/* ---- the hook's slots (pg_source.c, pg_sink.c, pg_ops.c) ---------------- */

ferry_status ferry_pg_open_source(const ferry_endpoint *ep, const ferry_copy_options *o,
                                  ferry_source **out, ferry_error *err);
ferry_status ferry_pg_open_sink(const ferry_endpoint *ep, const ferry_copy_options *o,
                                ferry_writer **out, ferry_error *err);
/* A range of a parallel extraction (pg_parallel.c): COPY (query) TO STDOUT
 * on a new session inside BEGIN ISOLATION LEVEL REPEATABLE READ that imports
 * snapshot (an exported snapshot id; NULL = none). */
ferry_status ferry_pg_open_range_source(const ferry_endpoint *ep, const ferry_copy_options *o,
                                        const char *query, const char *snapshot, ferry_source **out,
                                        ferry_error *err);
/* open_range_sources slot (pg_parallel.c). */
ferry_status ferry_pg_open_range_sources(const ferry_endpoint *ep, const ferry_copy_options *o, int n,
                                         int first, int count, ferry_source **out, char **bounds,
                                         ferry_error *err);
ferry_status ferry_pg_exec(const ferry_conn *conn, const char *sql, ferry_exec_options *eo,
                           ferry_error *err);
ferry_status ferry_pg_test(const ferry_conn *conn, char *info, size_t cap, ferry_error *err);

#endif
