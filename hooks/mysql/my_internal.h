/*
 * hooks/mysql/my_internal.h - what the files of the MySQL/MariaDB hook share:
 * connection settings, sessions driven through libmariadb's non-blocking API
 * (so every wait wakes up for ferry_cancelled() and the timeout), mapping
 * server errors to ferry statuses, table names, the row encoders of the
 * source, the CSV/TSV -> LOAD DATA converter and the bounded hand-off ring of
 * the sink.
 *
 * Not a public header: only hooks/mysql/ and tests/unit/test_mysql_*.c include
 * it.  Every symbol is prefixed ferry_my_ so that nothing collides with
 * libmariadb's own my_* / mysql_* exports inside libferry.
 */
#ifndef FERRY_HOOKS_MYSQL_MY_INTERNAL_H
#define FERRY_HOOKS_MYSQL_MY_INTERNAL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <mysql.h>

#include "core/util.h"
#include "ferry/hook.h"

#define FERRY_MY_SYSTEM "mysql"
/* How often a wait wakes up to look at ferry_cancelled() and the clock. */
#define FERRY_MY_POLL_MS 200
/* connect_timeout (seconds) when neither the connection nor ~/.my.cnf says. */
#define FERRY_MY_CONNECT_TIMEOUT 30
/* Session net_write_timeout (source) / net_read_timeout (sink) are raised to
 * at least this many seconds, so that a slow peer of ferry's transfer does
 * not make the server drop the stream (the server defaults are 60 s / 30 s). */
#define FERRY_MY_STREAM_TIMEOUT 3600
/* The file name LOAD DATA LOCAL asks for; the infile handler serves ferry's
 * stream under this name only and refuses every other name. */
#define FERRY_MY_STREAM_NAME "ferry-stream"

extern const ferry_hook ferry_hook_mysql;

/* ---- my_conn.c: settings ------------------------------------------------ */

typedef enum ferry_my_tls {
    FERRY_MY_TLS_DEFAULT = 0,   /* nothing said: TLS when ssl_ca/cert/key are given */
    FERRY_MY_TLS_DISABLED,
    FERRY_MY_TLS_PREFERRED,
    FERRY_MY_TLS_REQUIRED,
    FERRY_MY_TLS_VERIFY_CA,
    FERRY_MY_TLS_VERIFY_IDENTITY
} ferry_my_tls;

/* Everything needed to open (and re-open, for KILL QUERY or cleanup) a
 * session, resolved once from a ferry_conn.  Every string is owned (free with
 * ferry_my_settings_release); NULL means "not given: libmariadb's default,
 * i.e. ~/.my.cnf [client] or its built-in default". */
typedef struct ferry_my_settings {
    char *conn_id;          /* for messages; never NULL ("" for none) */
    char *host;
    unsigned port;          /* 0: ~/.my.cnf, $MYSQL_TCP_PORT, then 3306 */
    char *user;
    char *password;         /* a secret: never in a message */
    char *database;
    char *unix_socket;
    char *charset;          /* default utf8mb4 */
    ferry_my_tls tls;
    char *ssl_ca, *ssl_capath, *ssl_cert, *ssl_key, *ssl_cipher;
    unsigned connect_timeout;   /* seconds; 0: FERRY_MY_CONNECT_TIMEOUT */
    char *init_command;
    char *default_file;     /* MYSQL_READ_DEFAULT_FILE, NULL: the standard files */
    char *default_group;    /* MYSQL_READ_DEFAULT_GROUP, default "client" */
    int connect_attempts;   /* tries for a transient connect failure; 0: the default (5) */
} ferry_my_settings;

/* Resolve conn (fields and extras, see docs/hooks/mysql.md) into s (zeroed
 * first).  A bad extra (unknown ssl_mode, non-numeric connect_timeout, bad
 * "ssl" JSON) is FERRY_ERR_CONFIG. */
ferry_status ferry_my_settings_from_conn(const ferry_conn *conn, ferry_my_settings *s,
                                         ferry_error *err);
void ferry_my_settings_release(ferry_my_settings *s);

/* ---- my_conn.c: sessions ------------------------------------------------- */

/* Flags for ferry_my_session_open. */
#define FERRY_MY_LOCAL_INFILE     0x1u  /* this connection may serve LOAD DATA LOCAL */
#define FERRY_MY_MULTI_STATEMENTS 0x2u  /* CLIENT_MULTI_STATEMENTS (exec) */

typedef struct ferry_my_session ferry_my_session;
/* Continue a suspended non-blocking call with the events that are ready;
 * returns the events still waited for (0: the call finished). */
typedef int (*ferry_my_resume_fn)(ferry_my_session *s, int ready);

/* One connection.  Zeroed = closed; ferry_my_session_close is then a no-op. */
struct ferry_my_session {
    MYSQL *my;                          /* owned: ferry_my_session_close */
    const ferry_my_settings *settings;  /* borrowed: must outlive the session */
    unsigned long thread_id;            /* the server's connection id (for KILL) */
    int cancellable;                    /* waits give up on ferry_cancelled() (default 1) */
    int busy;                           /* a statement runs or has rows unread */
    ferry_my_resume_fn pending;         /* the suspended non-blocking call, or NULL */
    int pending_status;                 /* what it waits for (MYSQL_WAIT_*) */
    MYSQL_RES *res;                     /* owned: the result being read, or NULL */
    MYSQL_STMT *stmt;                   /* borrowed: the prepared statement a resume function
                                           continues (my_typed.c), or NULL */
    /* return values of the last non-blocking call */
    int ret_int;
    MYSQL *ret_my;
    MYSQL_ROW ret_row;
    MYSQL_RES *ret_res;
};

/* Connect (cancellable; the connect timeout counts) and set the character
 * set.  On failure the session is closed again and err says why:
 * FERRY_ERR_CONNECT (transient for "cannot reach the server"),
 * FERRY_ERR_NOT_FOUND for an unknown database. */
ferry_status ferry_my_session_open(ferry_my_session *s, const ferry_my_settings *settings,
                                   unsigned flags, ferry_error *err);

/* Hang up, in any state.  A statement still running (or with rows unread)
 * is killed on the server first (KILL QUERY over a second connection, best
 * effort) and the socket shut down, so that nothing is drained. */
void ferry_my_session_close(ferry_my_session *s);

/* Install the handler that refuses every LOAD DATA LOCAL file request (all
 * sessions have it, except the sink's while its load runs). */
void ferry_my_refuse_local_infile(MYSQL *my);

/* KILL QUERY <thread_id> over a second, blocking connection with short
 * timeouts (works with any state of the first).  Best effort: failures are
 * only logged. */
void ferry_my_kill_query(const ferry_my_settings *settings, unsigned long thread_id);

/* Wait until the suspended call (s->pending) finishes.  deadline is an
 * absolute ferry_now_monotonic() time (0: none): passing it is FERRY_ERR_TIMEOUT.
 * With s->cancellable, ferry_cancelled() is FERRY_ERR_INTERRUPTED.  After a
 * failure the call stays suspended: only ferry_my_session_close may follow. */
ferry_status ferry_my_drive(ferry_my_session *s, double deadline, const char *what,
                            ferry_error *err);

/* Send sql and wait for its first answer.  A server error is mapped into err
 * ("<what> failed: <message> (errno N)").  A result set, if any, is left to
 * the caller (ferry_my_use / ferry_my_store). timeout <= 0: none. */
ferry_status ferry_my_run(ferry_my_session *s, const char *sql, double timeout, const char *what,
                          ferry_error *err);

/* ferry_my_run for statements whose rows do not matter (SET, START
 * TRANSACTION, COMMIT, DDL): any result set is read and dropped. */
ferry_status ferry_my_command(ferry_my_session *s, const char *sql, double timeout,
                              const char *what, ferry_error *err);

/* The result of the statement just run, streamed (mysql_use_result) into
 * s->res.  FERRY_ERR_USAGE when the statement returns no rows. */
ferry_status ferry_my_use(ferry_my_session *s, const char *what, ferry_error *err);

/* The whole result of the statement just run (mysql_store_result); *out is
 * owned by the caller (mysql_free_result), NULL when it returned no rows. */
ferry_status ferry_my_store(ferry_my_session *s, double timeout, const char *what,
                            MYSQL_RES **out, ferry_error *err);

/* Start fetching the next row of s->res.  Returns 0 when it is there (or
 * the result ended: s->ret_row NULL), or the events to wait for: the fetch
 * is then pending and ferry_my_drive finishes it. */
int ferry_my_fetch_start(ferry_my_session *s);

/* Move to the next result of a multi-statement: *more = 1 when there is
 * one (its answer has arrived), 0 at the end. */
ferry_status ferry_my_next_result(ferry_my_session *s, double timeout, const char *what,
                                  int *more, ferry_error *err);

/* Quote s as a SQL string literal ('...') with the session's escaping;
 * malloc'd (free), NULL on OOM. */
char *ferry_my_quote_string(ferry_my_session *s, const char *str);

/* ---- my_conn.c: errors --------------------------------------------------- */

/* The ferry status for a server or client error number.  connecting: the
 * error happened while connecting (lost connections are then transient
 * connect failures, not broken streams).  *transient is set when retrying
 * may help. */
ferry_status ferry_my_status_for_errno(unsigned errnum, int connecting, int *transient);

/* Fill err from the connection's last error: "<what> failed: <message>
 * (errno N)".  Returns the status. */
ferry_status ferry_my_error(MYSQL *my, const char *conn_id, int connecting, const char *what,
                            ferry_error *err);

/* ---- my_path.c: tables ------------------------------------------------- */

/* A table named by an endpoint path: "orders", "shop.orders",
 * "`my db`.`odd``name`".  Names are kept as written (MySQL decides case
 * sensitivity).  schema is NULL when the path names only a table. */
typedef struct ferry_my_table {
    char *schema;   /* owned */
    char *name;     /* owned */
} ferry_my_table;

/* Parse path into t (zeroed first).  Malformed (empty part, unterminated
 * backtick, more than two parts) is FERRY_ERR_USAGE. */
ferry_status ferry_my_table_parse(const char *path, const char *conn_id, ferry_my_table *t,
                                  ferry_error *err);
void ferry_my_table_release(ferry_my_table *t);

/* `schema`.`name` (or `name`) with backticks doubled; malloc'd, NULL on OOM. */
char *ferry_my_table_sql(const ferry_my_table *t);
/* One identifier quoted with backticks; malloc'd, NULL on OOM. */
char *ferry_my_quote_ident(const char *name);

/* A sibling name "<name><infix><8 hex>", cut (at a UTF-8 boundary) so that
 * it fits MySQL's 64-character limit; same schema as t.  Returns 0, -1 on OOM. */
int ferry_my_table_sibling(const ferry_my_table *t, const char *infix, ferry_my_table *out);

/* printf into a new malloc'd string (free); NULL on failure. */
char *ferry_my_format(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- my_types.c: column types ------------------------------------------ */

/* How the JSON Lines encoder writes a column's values. */
typedef enum ferry_my_class {
    FERRY_MY_CLASS_TEXT = 0,    /* JSON string */
    FERRY_MY_CLASS_NUMBER,      /* JSON number (exact text) */
    FERRY_MY_CLASS_BINARY       /* base64 JSON string */
} ferry_my_class;

/* The class and the ferry_column description of a result field.  native is
 * filled with the MariaDB type name ("decimal(12,2)", "int unsigned"). */
ferry_my_class ferry_my_field_class(const MYSQL_FIELD *f);
/* A JSON column: MySQL's JSON type, or MariaDB's LONGTEXT described with the
 * extended metadata format name "json" (MariaDB 10.5+). */
int ferry_my_field_is_json(const MYSQL_FIELD *f);
void ferry_my_field_column(const MYSQL_FIELD *f, ferry_column *col, char *native, size_t cap);

/* The MariaDB column type CREATE TABLE uses for a ferry column kind. */
void ferry_my_create_type(const ferry_column *col, char *out, size_t cap);

/* CREATE TABLE <table_sql> (`c1` type, ...) ENGINE=InnoDB for the columns;
 * malloc'd (free), NULL on OOM. */
char *ferry_my_create_sql(const char *table_sql, const ferry_column *cols, size_t n);

/* What LOAD DATA needs after "LINES TERMINATED BY ..." to load text into
 * the target's columns (the fields of SELECT * FROM target LIMIT 0):
 * "(`a`, @ferry_2, ...) SET `b` = <expr>, ..." when some column takes a
 * conversion -- binary columns decode "\x<hex>", DATETIME/TIMESTAMP
 * columns take a value with a UTC offset ("...+05:30", PostgreSQL's
 * timestamptz) as that instant, TINYINT columns take t/f/true/false --
 * else "" (every field straight into its column, the fastest load).
 * malloc'd (free), NULL on OOM. */
char *ferry_my_load_columns_sql(const MYSQL_FIELD *fields, unsigned n);

/* ---- my_encode.c: rows of a result as CSV / TSV / JSON Lines ------------ */

/* Turns rows (values + lengths, as mysql_fetch_row/mysql_fetch_lengths give
 * them; a NULL value is SQL NULL) into bytes of one format.  The caller owns
 * the output buffer: ferry_my_encode_bound says how much room a row needs at
 * most, the encoder writes exactly that or less and never allocates. */
typedef struct ferry_my_encoder {
    ferry_format format;
    size_t n;                   /* columns */
    unsigned char *classes;     /* owned: ferry_my_class per column */
    char **names;               /* owned: column names */
    size_t *name_lens;          /* owned */
    char *keys;                 /* owned, JSONL: "\"name\":" of every column, back to back */
    size_t *key_off, *key_len;  /* owned, JSONL */
    size_t keys_total;
    char *null_string;          /* owned copy of o->null_string, NULL when unset/empty */
    size_t null_len;
    int hex_binary;             /* CSV/TSV: FERRY_MY_CLASS_BINARY values as "\x" + lower-case
                                   hex (PostgreSQL's bytea text form) instead of raw bytes;
                                   0 after init, the source sets it */
} ferry_my_encoder;

/* Set up an encoder for n columns; names are copied.  Returns 0, -1 on OOM. */
int ferry_my_encoder_init(ferry_my_encoder *e, ferry_format format, const char *const *names,
                          const ferry_my_class *classes, size_t n, const char *null_string);
void ferry_my_encoder_release(ferry_my_encoder *e);

/* The header line (CSV/TSV): room needed, then the bytes.  JSONL: 0. */
size_t ferry_my_header_bound(const ferry_my_encoder *e);
size_t ferry_my_encode_header(const ferry_my_encoder *e, char *out);

/* The room one row needs at most, then the row itself (line end included). */
size_t ferry_my_encode_bound(const ferry_my_encoder *e, char *const *values,
                             const unsigned long *lengths);
size_t ferry_my_encode_row(const ferry_my_encoder *e, char *const *values,
                           const unsigned long *lengths, char *out);

/* ---- my_dialect.c: ferry CSV/TSV -> the CSV dialect LOAD DATA reads ------ */

/* Output of the converter: bytes go to flush() whenever its fixed buffer
 * fills up (and at ferry_my_dialect_flush).  flush returns 0, or nonzero to
 * stop the conversion (the value is passed back). */
typedef int (*ferry_my_flush_fn)(void *ud, const char *data, size_t len);

#define FERRY_MY_DIALECT_BUF (64 * 1024)
#define FERRY_MY_NULL_STRING_MAX 64
#define FERRY_MY_HEADER_MAX (1024 * 1024)

/* A byte-at-a-time state machine (state survives chunk boundaries) that
 * rewrites ferry's CSV (RFC 4180; NULL = empty unquoted field, "" = empty
 * string) or TSV (PostgreSQL text format; \N = NULL, backslash escapes) into
 * CSV that LOAD DATA ... FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '"'
 * ESCAPED BY '' LINES TERMINATED BY '\n' reads back exactly:
 *   SQL NULL -> NULL (unquoted; the only way to say NULL with ESCAPED BY ''),
 *   the string 'NULL' -> "NULL", every other value as in RFC 4180,
 *   CRLF line ends -> LF.
 * With header, the first record is not passed on but kept (see
 * ferry_my_dialect_header). */
typedef struct ferry_my_dialect {
    int tsv;                    /* input is TSV (else CSV) */
    int skip_header;            /* the first record is the header */
    int in_header;              /* currently inside the header record */
    int header_done;            /* the header record has been read completely */
    char null_string[FERRY_MY_NULL_STRING_MAX + 1];
    size_t null_len;            /* 0: no null_string */
    /* parser state */
    int state;
    int pending_cr;             /* a CR outside quotes, waiting to see if LF follows */
    char pend[FERRY_MY_NULL_STRING_MAX + 8]; /* start of an unquoted/TSV field (raw) */
    size_t pend_len;
    int matching;               /* pend may still turn out to be a NULL marker */
    int esc_state;              /* TSV: inside a backslash escape */
    unsigned esc_value, esc_digits;
    int record_open;            /* a record has started and not ended */
    int64_t records;            /* records passed on (header excluded) */
    /* output */
    char buf[FERRY_MY_DIALECT_BUF];
    size_t len;
    char *header;               /* owned: the header record in the output dialect */
    size_t header_len, header_cap;
    ferry_my_flush_fn flush;
    void *flush_ud;
} ferry_my_dialect;

/* Zero d and set it up.  null_string longer than FERRY_MY_NULL_STRING_MAX
 * bytes returns -1. */
int ferry_my_dialect_init(ferry_my_dialect *d, ferry_format in, int header, const char *null_string,
                          ferry_my_flush_fn flush, void *ud);
void ferry_my_dialect_release(ferry_my_dialect *d);
/* Convert len bytes.  Returns 0, a flush() failure, or -1 (header too long
 * or OOM). */
int ferry_my_dialect_feed(ferry_my_dialect *d, const char *in, size_t len);
/* End of input: close the last record.  Returns like feed, or -2 for an
 * unterminated quoted field. */
int ferry_my_dialect_finish(ferry_my_dialect *d);
/* Hand what is buffered to flush(). */
int ferry_my_dialect_flush(ferry_my_dialect *d);
/* The header's field names once the header record is complete: *names is a
 * malloc'd array of n malloc'd strings (free each and the array).  Returns
 * 0, or -1 (no complete header, OOM). */
int ferry_my_dialect_header(const ferry_my_dialect *d, char ***names, size_t *n);

/* ---- my_ring.c: the bounded hand-off between write() and LOAD DATA ------ */

#define FERRY_MY_RING_SIZE (4 * 1024 * 1024)

typedef struct ferry_my_ring {
    pthread_mutex_t mu;
    pthread_cond_t readable, writable;
    char *buf;          /* owned */
    size_t cap, head, len;
    int eof;            /* the writer has put its last byte */
    int aborted;        /* the reader must stop (returns -1) */
    int closed;         /* the reader is gone: pushes fail at once */
    double last_pop;    /* ferry_now_monotonic() of the reader's last progress */
} ferry_my_ring;

int ferry_my_ring_init(ferry_my_ring *r, size_t cap);
void ferry_my_ring_release(ferry_my_ring *r);
/* Writer: copy all of data in, blocking while the ring is full.  Returns 0;
 * -1 when the reader is gone or the ring was aborted; -2 on
 * ferry_cancelled(); -3 when the reader took nothing for timeout seconds
 * (<= 0: no limit). */
int ferry_my_ring_push(ferry_my_ring *r, const char *data, size_t len, double timeout);
/* Reader: up to cap bytes, blocking while empty.  Returns the count, 0 at
 * the end of the data, -1 when aborted. */
long ferry_my_ring_pop(ferry_my_ring *r, char *buf, size_t cap);
void ferry_my_ring_finish(ferry_my_ring *r);    /* writer: no more data */
void ferry_my_ring_abort(ferry_my_ring *r);     /* either side: stop */
void ferry_my_ring_close(ferry_my_ring *r);     /* reader: gone for good */

/* ---- my_load.c: LOAD DATA LOCAL in a worker thread --------------------- */

/* The statement runs with the blocking API on its own thread; the infile
 * handler's read callback pops what write() pushed into the ring. */
typedef struct ferry_my_load {
    ferry_my_ring ring;
    ferry_my_session *session;  /* borrowed: not touched by the caller while running */
    char *sql;                  /* owned */
    pthread_t thread;
    int started, joined;
    int hard_stopped;           /* the socket had to be shut: the session is unusable */
    int refused_name;           /* the server asked for another file than ours */
    /* filled by the worker before it closes the ring */
    pthread_mutex_t mu;
    pthread_cond_t done_cond;
    int done;
    int failed;                 /* the statement failed */
    unsigned err_no;
    char err_msg[512];
    unsigned long long affected;
    unsigned warnings;
    char info[256];             /* mysql_info(): "Records: N  Deleted: 0  Skipped: S  Warnings: W" */
} ferry_my_load;

/* Start LOAD DATA LOCAL (sql) on the session in a new thread. */
ferry_status ferry_my_load_start(ferry_my_load *l, ferry_my_session *s, char *sql_owned,
                                 ferry_error *err);
/* Wait (cancellable, every FERRY_MY_POLL_MS) until the statement ended. */
ferry_status ferry_my_load_wait(ferry_my_load *l, ferry_error *err);
/* Stop a running load (abort the ring; if the server does not let go
 * within a grace period, KILL QUERY) and join the thread.  Idempotent. */
void ferry_my_load_stop(ferry_my_load *l);
void ferry_my_load_release(ferry_my_load *l);
/* "Skipped: N" of the load's info line, 0 when absent. */
unsigned long long ferry_my_load_skipped(const ferry_my_load *l);

/* ---- the hook's slots (my_source.c, my_sink.c, my_ops.c) ---------------- */

ferry_status ferry_my_open_source(const ferry_endpoint *ep, const ferry_copy_options *o,
                                  ferry_source **out, ferry_error *err);
ferry_status ferry_my_open_sink(const ferry_endpoint *ep, const ferry_copy_options *o,
                                ferry_writer **out, ferry_error *err);
ferry_status ferry_my_exec(const ferry_conn *conn, const char *sql, ferry_exec_options *eo,
                           ferry_error *err);
ferry_status ferry_my_test(const ferry_conn *conn, char *info, size_t cap, ferry_error *err);

/* ---- parallel extraction (my_source.c, my_parallel.c) ----------------- */

/* A range of a parallel extraction: sql on a new session inside
 * START TRANSACTION WITH CONSISTENT SNAPSHOT. */
ferry_status ferry_my_open_range_source(const ferry_endpoint *ep, const ferry_copy_options *o,
                                        const char *sql, ferry_source **out, ferry_error *err);
/* open_range_sources slot (my_parallel.c). */
ferry_status ferry_my_open_range_sources(const ferry_endpoint *ep, const ferry_copy_options *o, int n,
                                         int first, int count, ferry_source **out, char **bounds,
                                         ferry_error *err);

/* ---- my_typed.c: typed rows (ferry/typed.h) through the binary protocol --- */

/* How a result field travels as a typed column: col gets the logical type
 * (names and native_type left to the caller).  Returns 0, or -1 when ferry
 * has no exact Parquet type for it (docs/formats.md). */
int ferry_my_typed_column(enum enum_field_types type, unsigned flags, unsigned charsetnr,
                          unsigned long length, unsigned decimals, int is_json, ferry_tcolumn *col);
/* The unscaled value of DECIMAL(p, s) written as text ("-12.50"): 0, or -1
 * when the text is malformed, does not fit p digits or has more than s
 * fraction digits that are not zero. */
int ferry_my_decimal_unscaled(const char *text, size_t len, int p, int s, __int128 *out);
/* Days since 1970-01-01 of a proleptic Gregorian date. */
int64_t ferry_my_days_from_civil(int64_t y, unsigned m, unsigned d);
/* my_source.c: the endpoint's statement, SELECT * FROM the table or the
 * --query as it is; *sql owned by the caller. */
ferry_status ferry_my_statement_for(const ferry_endpoint *ep, const ferry_copy_options *o,
                                    const char *id, char **sql, ferry_error *err);
/* The hook slot (mysql.c). */
ferry_status ferry_my_open_typed_source(const ferry_endpoint *ep, const ferry_copy_options *o,
                                        ferry_typed_source **out, ferry_error *err);

#endif
