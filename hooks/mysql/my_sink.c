/*
 * hooks/mysql/my_sink.c - a table as a ferry sink: the stream is converted
 * (my_dialect.c) into the CSV dialect of
 *     LOAD DATA LOCAL INFILE 'ferry-stream' INTO TABLE t CHARACTER SET utf8mb4
 *     FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '"' ESCAPED BY ''
 *     LINES TERMINATED BY '\n'
 * and handed through a bounded ring (my_ring.c) to the statement running on
 * a worker thread (my_load.c): no temp file, memory bounded, back-pressure
 * from the server to the source.
 *
 * The two exits (design.md, "Commit or roll back"):
 *   append   START TRANSACTION; LOAD DATA; COMMIT.  abort: ROLLBACK.
 *   replace  CREATE TABLE t__ferry_stage_<hex> LIKE t; LOAD DATA into it;
 *            RENAME TABLE t TO t__ferry_old_<hex>, stage TO t (atomic);
 *            DROP TABLE the old one.  abort: DROP the stage.
 *   create   (missing table with o->create_table) CREATE TABLE stage from the
 *            source's columns (o->columns: typed, before any data) or from the
 *            header row (LONGTEXT columns); LOAD DATA; RENAME TABLE stage TO t.
 *            abort: DROP it.
 * LOAD DATA names the target's columns with a SET clause when some take a
 * conversion (ferry_my_load_columns_sql: "\x" hex into binary columns,
 * timestamps with a UTC offset, t/f into TINYINT).
 * LOAD DATA LOCAL turns bad rows into warnings (the server cannot stop a
 * file half-way), so after the load any warning or skipped row fails the
 * commit with FERRY_ERR_DATA - and the abort undoes the load.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <mysqld_error.h>

#include "ferry/log.h"
#include "my_internal.h"

/* Bound on cleanup statements run while aborting (not cancellable). */
#define MY_CLEANUP_TIMEOUT 30.0

enum { MODE_APPEND = 0, MODE_REPLACE, MODE_CREATE };

typedef struct my_sink {
    ferry_writer base;          /* first member: the transfer sees only this */
    ferry_my_settings settings; /* owned */
    ferry_my_session session;   /* owned; borrows settings */
    ferry_my_dialect dialect;   /* owned: the converter, state across writes */
    ferry_my_load load;         /* owned: the LOAD DATA thread */
    ferry_my_table target;      /* owned */
    char *target_sql;           /* owned: `db`.`t` */
    ferry_my_table stage;       /* owned: the staging table (replace, create) */
    char *stage_sql;            /* owned */
    char *load_columns;         /* owned: column list and SET clause of LOAD DATA, "" for none */
    int mode;
    double timeout;             /* o->timeout */
    int load_started;
    int in_transaction;         /* append: START TRANSACTION ran, no COMMIT/ROLLBACK yet */
    int stage_exists;           /* the staging table exists on the server */
    int finished;               /* committed, or aborted: abort() has nothing left to do */
    ferry_error flush_err;      /* why the last flush into the ring failed */
} my_sink;

static const char *sink_id(const my_sink *sink)
{
    return sink->settings.conn_id ? sink->settings.conn_id : "";
}

/* ---- starting the load ------------------------------------------------- */

static ferry_status start_load(my_sink *sink, const char *into_sql, ferry_error *err)
{
    char *sql = ferry_my_format("LOAD DATA LOCAL INFILE '" FERRY_MY_STREAM_NAME "' INTO TABLE %s "
                                "CHARACTER SET %s FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '\"' "
                                "ESCAPED BY '' LINES TERMINATED BY 0x0a%s",
                                into_sql, sink->settings.charset,
                                sink->load_columns ? sink->load_columns : "");
    ferry_status st = ferry_my_load_start(&sink->load, &sink->session, sql, err);
    sink->load_started = st == FERRY_OK;
    return st;
}

static ferry_status describe_table(my_sink *sink, const char *table_sql, int *exists, ferry_error *err);

/* create mode: CREATE TABLE stage (sql), learn its columns, start the load. */
static ferry_status create_stage(my_sink *sink, const char *sql, ferry_error *err)
{
    ferry_log(FERRY_LOG_DEBUG, "mysql(%s): %s", sink_id(sink), sql);
    ferry_status st = ferry_my_command(&sink->session, sql, sink->timeout, "CREATE TABLE", err);
    sink->stage_exists = st == FERRY_OK;
    int exists = 0;
    if (st == FERRY_OK)
        st = describe_table(sink, sink->stage_sql, &exists, err);
    if (st == FERRY_OK)
        st = start_load(sink, sink->stage_sql, err);
    return st;
}

/* create mode from the stream: the header has named the columns (every
 * column LONGTEXT, values kept as text); make the staging table. */
static ferry_status start_create(my_sink *sink, ferry_error *err)
{
    char **names = NULL;
    size_t n = 0;
    if (ferry_my_dialect_header(&sink->dialect, &names, &n) != 0)
        return ferry_error_hook(err, FERRY_ERR_DATA, FERRY_MY_SYSTEM, sink_id(sink),
                                "cannot create %s: the data has no header row to name the columns",
                                sink->target_sql);
    /* Every column is text: without o->columns the sink sees only the stream,
     * not the source's column kinds (see start_create_typed). */
    ferry_column *cols = calloc(n, sizeof *cols);
    char *sql = NULL;
    if (cols) {
        for (size_t i = 0; i < n; i++) {
            cols[i].name = names[i];
            cols[i].kind = FERRY_COL_TEXT;
        }
        sql = ferry_my_create_sql(sink->stage_sql, cols, n);
    }
    ferry_status st = FERRY_OK;
    if (!sql)
        st = ferry_error_oom(err, FERRY_MY_SYSTEM, sink_id(sink), NULL);
    if (st == FERRY_OK)
        st = create_stage(sink, sql, err);
    free(sql);
    free(cols);
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return st;
}

/* ---- writing ------------------------------------------------------------- */

/* Why the load thread stopped reading: its statement failed. */
static ferry_status load_error(my_sink *sink, ferry_error *err)
{
    ferry_my_load_stop(&sink->load);
    if (sink->load.refused_name)
        return ferry_error_hook(err, FERRY_ERR_DATA, FERRY_MY_SYSTEM, sink_id(sink),
                                "LOAD DATA failed: the server asked for a file other than ferry's stream");
    if (!sink->load.failed)
        return ferry_error_hook(err, FERRY_ERR_DATA, FERRY_MY_SYSTEM, sink_id(sink),
                                "LOAD DATA ended before all data was sent");
    int transient = 0;
    ferry_status st = ferry_my_status_for_errno(sink->load.err_no, 0, &transient);
    ferry_error_hook(err, st, FERRY_MY_SYSTEM, sink_id(sink), "LOAD DATA failed: %s (errno %u)",
                     sink->load.err_msg, sink->load.err_no);
    return st;
}

/* The dialect's flush callback: into the ring, blocking while it is full. */
static int flush_to_ring(void *ud, const char *data, size_t len)
{
    my_sink *sink = ud;
    ferry_error *err = &sink->flush_err;
    if (!sink->load_started) {
        /* data comes after the header record: the columns are known by now */
        ferry_status st = sink->mode == MODE_CREATE ? start_create(sink, err)
                                                    : ferry_error_hook(err, FERRY_ERR_INTERNAL,
                                                                       FERRY_MY_SYSTEM, sink_id(sink),
                                                                       "no load is running");
        if (st != FERRY_OK)
            return 1;
    }
    int rc = ferry_my_ring_push(&sink->load.ring, data, len, sink->timeout);
    if (rc == 0)
        return 0;
    if (rc == -2)
        ferry_error_hook(err, FERRY_ERR_INTERRUPTED, FERRY_MY_SYSTEM, sink_id(sink),
                         "LOAD DATA: interrupted by signal %d", ferry_cancel_signal());
    else if (rc == -3)
        ferry_error_hook(err, FERRY_ERR_TIMEOUT, FERRY_MY_SYSTEM, sink_id(sink),
                         "LOAD DATA: the server took no data for %.0f s (timeout)", sink->timeout);
    else
        load_error(sink, err);
    return 1;
}

static ferry_status dialect_failure(my_sink *sink, int rc, ferry_error *err)
{
    if (rc > 0) {
        if (err)
            *err = sink->flush_err;
        return sink->flush_err.status;
    }
    if (rc == -2)
        return ferry_error_hook(err, FERRY_ERR_DATA, FERRY_MY_SYSTEM, sink_id(sink),
                                "bad CSV: a quoted field is not closed at the end of the data");
    return ferry_error_hook(err, FERRY_ERR_DATA, FERRY_MY_SYSTEM, sink_id(sink),
                            "the header row is longer than %d bytes (or out of memory)",
                            FERRY_MY_HEADER_MAX);
}

static ferry_status sink_write(ferry_writer *w, const void *buf, size_t len, ferry_error *err)
{
    my_sink *sink = (my_sink *)w;
    int rc = ferry_my_dialect_feed(&sink->dialect, buf, len);
    if (rc == 0)
        rc = ferry_my_dialect_flush(&sink->dialect);
    return rc == 0 ? FERRY_OK : dialect_failure(sink, rc, err);
}

/* ---- committing ---------------------------------------------------------- */

/* LOAD DATA LOCAL reports bad rows as warnings: any warning (not a note) or
 * skipped row fails the load.  The first few are quoted in the message. */
static ferry_status check_warnings(my_sink *sink, ferry_error *err)
{
    unsigned long long skipped = ferry_my_load_skipped(&sink->load);
    if (sink->load.warnings == 0 && skipped == 0)
        return FERRY_OK;
    ferry_status st = ferry_my_run(&sink->session, "SHOW WARNINGS", sink->timeout, "SHOW WARNINGS", err);
    MYSQL_RES *res = NULL; /* owned */
    if (st == FERRY_OK)
        st = ferry_my_store(&sink->session, sink->timeout, "SHOW WARNINGS", &res, err);
    sink->session.busy = 0;
    if (st != FERRY_OK)
        return st;
    char text[600] = "";
    size_t used = 0;
    unsigned shown = 0, serious = 0;
    MYSQL_ROW row;
    while (res && (row = mysql_fetch_row(res)) != NULL) {
        if (row[0] && strcasecmp(row[0], "Note") == 0)
            continue;
        serious++;
        if (shown < 3 && used < sizeof text) {
            used += (size_t)snprintf(text + used, sizeof text - used, "%s%s %s: %s", shown ? "; " : "",
                                     row[0] ? row[0] : "?", row[1] ? row[1] : "?", row[2] ? row[2] : "");
            shown++;
        }
    }
    mysql_free_result(res);
    if (serious == 0 && skipped == 0)
        return FERRY_OK;
    return ferry_error_hook(err, FERRY_ERR_DATA, FERRY_MY_SYSTEM, sink_id(sink),
                            "LOAD DATA into %s: %u warnings, %llu rows skipped (%s): nothing loaded",
                            sink->target_sql, sink->load.warnings, skipped,
                            used ? text : "duplicate keys?");
}

/* Publish the loaded data: COMMIT, or the swap of the staging table. */
static ferry_status publish_now(my_sink *sink, ferry_error *err);

/* COMMIT and RENAME run to their answer once sent: a signal now must not
 * leave it unknown whether the data was published (lock waits are bounded
 * by lock_wait_timeout, see session_timeouts). */
static ferry_status publish(my_sink *sink, ferry_error *err)
{
    sink->session.cancellable = 0;
    ferry_status st = publish_now(sink, err);
    sink->session.cancellable = 1;
    return st;
}

static ferry_status publish_now(my_sink *sink, ferry_error *err)
{
    if (sink->mode == MODE_APPEND) {
        ferry_status st = ferry_my_command(&sink->session, "COMMIT", 0, "COMMIT", err);
        sink->in_transaction = 0; /* a COMMIT that fails ends the transaction too */
        return st;
    }
    ferry_my_table old;
    char *old_sql = NULL, *sql = NULL; /* owned */
    if (sink->mode == MODE_REPLACE && ferry_my_table_sibling(&sink->target, "__ferry_old_", &old) == 0) {
        old_sql = ferry_my_table_sql(&old);
        ferry_my_table_release(&old);
    }
    if (sink->mode == MODE_REPLACE)
        sql = old_sql ? ferry_my_format("RENAME TABLE %s TO %s, %s TO %s", sink->target_sql, old_sql,
                                        sink->stage_sql, sink->target_sql)
                      : NULL;
    else
        sql = ferry_my_format("RENAME TABLE %s TO %s", sink->stage_sql, sink->target_sql);
    if (!sql) {
        free(old_sql);
        return ferry_error_oom(err, FERRY_MY_SYSTEM, sink_id(sink), NULL);
    }
    ferry_log(FERRY_LOG_DEBUG, "mysql(%s): %s", sink_id(sink), sql);
    ferry_status st = ferry_my_command(&sink->session, sql, 0, "RENAME TABLE", err);
    free(sql);
    if (st == FERRY_OK)
        sink->stage_exists = 0; /* it is the table now */
    if (st == FERRY_OK && old_sql) {
        char *drop = ferry_my_format("DROP TABLE %s", old_sql);
        ferry_error derr;
        ferry_error_clear(&derr);
        if (!drop || ferry_my_command(&sink->session, drop, 0, "DROP TABLE", &derr) != FERRY_OK)
            ferry_log(FERRY_LOG_WARN, "mysql(%s): the new data is in place, but the old table %s "
                      "could not be dropped: %s", sink_id(sink), old_sql, derr.msg);
        free(drop);
    }
    free(old_sql);
    return st;
}

static ferry_status sink_commit(ferry_writer *w, ferry_error *err)
{
    my_sink *sink = (my_sink *)w;
    if (sink->finished)
        return ferry_error_hook(err, FERRY_ERR_INTERNAL, FERRY_MY_SYSTEM, sink_id(sink),
                                "commit after the end of the load");
    int rc = ferry_my_dialect_finish(&sink->dialect);
    if (rc != 0)
        return dialect_failure(sink, rc, err);
    if (!sink->load_started) {
        /* nothing but (at most) a header came: create mode still has to start */
        ferry_status st = sink->mode == MODE_CREATE ? start_create(sink, err)
                                                    : ferry_error_hook(err, FERRY_ERR_INTERNAL,
                                                                       FERRY_MY_SYSTEM, sink_id(sink),
                                                                       "no load is running");
        if (st != FERRY_OK)
            return st;
    }
    ferry_my_ring_finish(&sink->load.ring);
    ferry_status st = ferry_my_load_wait(&sink->load, err);
    if (st != FERRY_OK)
        return st;
    if (sink->load.failed || sink->load.refused_name)
        return load_error(sink, err);
    st = check_warnings(sink, err);
    if (st != FERRY_OK)
        return st;
    sink->base.rows = (int64_t)sink->load.affected;
    st = publish(sink, err);
    if (st != FERRY_OK)
        return st;
    sink->finished = 1;
    ferry_log(FERRY_LOG_DEBUG, "mysql(%s): %lld rows loaded into %s", sink_id(sink),
              (long long)sink->base.rows, sink->target_sql);
    return FERRY_OK;
}

/* ---- aborting ------------------------------------------------------------ */

/* Drop the staging table over a fresh connection (the sink's own is gone). */
static void drop_stage_elsewhere(my_sink *sink, const char *drop_sql)
{
    ferry_my_session s;
    ferry_error e;
    ferry_error_clear(&e);
    if (ferry_my_session_open(&s, &sink->settings, 0, &e) == FERRY_OK) {
        s.cancellable = 0;
        if (ferry_my_command(&s, drop_sql, MY_CLEANUP_TIMEOUT, "DROP TABLE", &e) == FERRY_OK)
            sink->stage_exists = 0;
        ferry_my_session_close(&s);
    }
    if (sink->stage_exists)
        ferry_log(FERRY_LOG_WARN, "mysql(%s): could not drop the staging table %s: %s", sink_id(sink),
                  sink->stage_sql, e.msg);
}

/* Idempotent and safe at any point, also after a signal (cleanup waits are
 * not cancellable): stop the load, ROLLBACK, drop the staging table. */
static void sink_abort(ferry_writer *w)
{
    my_sink *sink = (my_sink *)w;
    if (!sink || sink->finished)
        return;
    sink->finished = 1;
    if (sink->load_started)
        ferry_my_load_stop(&sink->load);
    if (sink->load.hard_stopped || sink->session.pending)
        ferry_my_session_close(&sink->session); /* not usable: the server rolls back, the
                                                   stage is dropped over a new connection */
    sink->session.cancellable = 0;
    ferry_error e;
    ferry_error_clear(&e);
    if (sink->in_transaction && sink->session.my) {
        if (ferry_my_command(&sink->session, "ROLLBACK", MY_CLEANUP_TIMEOUT, "ROLLBACK", &e) != FERRY_OK)
            ferry_my_session_close(&sink->session); /* the server rolls back when the session ends */
    }
    sink->in_transaction = 0;
    if (sink->stage_exists) {
        char *drop = ferry_my_format("DROP TABLE IF EXISTS %s", sink->stage_sql);
        if (drop && sink->session.my &&
            ferry_my_command(&sink->session, drop, MY_CLEANUP_TIMEOUT, "DROP TABLE", &e) == FERRY_OK)
            sink->stage_exists = 0;
        if (drop && sink->stage_exists)
            drop_stage_elsewhere(sink, drop);
        free(drop);
    }
}

static void sink_free(ferry_writer *w)
{
    my_sink *sink = (my_sink *)w;
    if (!sink)
        return;
    sink_abort(w);
    ferry_my_load_release(&sink->load);
    ferry_my_session_close(&sink->session);
    ferry_my_dialect_release(&sink->dialect);
    ferry_my_table_release(&sink->target);
    ferry_my_table_release(&sink->stage);
    free(sink->target_sql);
    free(sink->stage_sql);
    free(sink->load_columns);
    ferry_my_settings_release(&sink->settings);
    free(sink);
}

static const ferry_writer_ops my_sink_ops = {
    .name = "mysql",
    .write = sink_write,
    .commit = sink_commit,
    .abort = sink_abort,
    .free = sink_free,
};

/* ---- opening ------------------------------------------------------------- */

/* Does the table exist?  When it does, its columns decide the column list of
 * LOAD DATA (sink->load_columns).  A missing database is FERRY_ERR_NOT_FOUND
 * too; no database at all (no schema in the connection or the path) is CONFIG. */
static ferry_status describe_table(my_sink *sink, const char *table_sql, int *exists, ferry_error *err)
{
    *exists = 0;
    char *sql = ferry_my_format("SELECT * FROM %s LIMIT 0", table_sql);
    if (!sql)
        return ferry_error_oom(err, FERRY_MY_SYSTEM, sink_id(sink), NULL);
    ferry_error probe;
    ferry_error_clear(&probe);
    MYSQL_RES *res = NULL; /* owned */
    ferry_status st = ferry_my_run(&sink->session, sql, sink->timeout, "checking the table", &probe);
    free(sql);
    if (st != FERRY_OK) {
        if (mysql_errno(sink->session.my) == ER_NO_SUCH_TABLE)
            return FERRY_OK;
        if (err)
            *err = probe;
        return st;
    }
    st = ferry_my_store(&sink->session, sink->timeout, "checking the table", &res, err);
    sink->session.busy = 0;
    if (st != FERRY_OK)
        return st;
    *exists = 1;
    free(sink->load_columns);
    sink->load_columns = res ? ferry_my_load_columns_sql(mysql_fetch_fields(res), mysql_num_fields(res))
                             : strdup("");
    mysql_free_result(res);
    if (!sink->load_columns)
        return ferry_error_oom(err, FERRY_MY_SYSTEM, sink_id(sink), NULL);
    return FERRY_OK;
}

/* create mode with the source's columns (o->columns): typed, and made at
 * once -- no header needed. */
static ferry_status start_create_typed(my_sink *sink, const ferry_copy_options *o, ferry_error *err)
{
    char *sql = ferry_my_create_sql(sink->stage_sql, o->columns, o->n_columns); /* owned */
    if (!sql)
        return ferry_error_oom(err, FERRY_MY_SYSTEM, sink_id(sink), NULL);
    ferry_status st = create_stage(sink, sql, err);
    free(sql);
    return st;
}

/* Non-transactional engines cannot take an append back. */
static void warn_engine(my_sink *sink)
{
    char *schema = sink->target.schema ? ferry_my_quote_string(&sink->session, sink->target.schema) : NULL;
    char *name = ferry_my_quote_string(&sink->session, sink->target.name);
    char *sql = name ? ferry_my_format("SELECT ENGINE FROM information_schema.TABLES WHERE "
                                       "TABLE_SCHEMA = %s AND TABLE_NAME = %s",
                                       schema ? schema : "DATABASE()", name)
                     : NULL;
    ferry_error e;
    MYSQL_RES *res = NULL; /* owned */
    if (sql && ferry_my_run(&sink->session, sql, sink->timeout, "engine", &e) == FERRY_OK &&
        ferry_my_store(&sink->session, sink->timeout, "engine", &res, &e) == FERRY_OK && res) {
        MYSQL_ROW row = mysql_fetch_row(res);
        if (row && row[0] && strcasecmp(row[0], "InnoDB") != 0)
            ferry_log(FERRY_LOG_WARN, "mysql(%s): %s uses the %s engine: a failed load cannot be "
                      "rolled back there (use InnoDB, or --replace)", sink_id(sink), sink->target_sql, row[0]);
    }
    sink->session.busy = 0;
    mysql_free_result(res);
    free(sql);
    free(name);
    free(schema);
}

static ferry_status make_stage_name(my_sink *sink, ferry_error *err)
{
    if (ferry_my_table_sibling(&sink->target, "__ferry_stage_", &sink->stage) != 0 ||
        !(sink->stage_sql = ferry_my_table_sql(&sink->stage)))
        return ferry_error_oom(err, FERRY_MY_SYSTEM, sink_id(sink), NULL);
    return FERRY_OK;
}

/* The server waits net_read_timeout seconds for the next piece of the file;
 * a slow source must not look like a dead client.  Metadata locks (CREATE,
 * LOAD, RENAME behind a long query on the table) are waited for --timeout
 * seconds, not lock_wait_timeout's default of a year. */
static ferry_status session_timeouts(my_sink *sink, ferry_error *err)
{
    double t = sink->timeout > FERRY_MY_STREAM_TIMEOUT ? ceil(sink->timeout) : FERRY_MY_STREAM_TIMEOUT;
    char sql[160];
    if (sink->timeout > 0)
        snprintf(sql, sizeof sql, "SET SESSION net_read_timeout = %.0f, lock_wait_timeout = %.0f", t,
                 ceil(sink->timeout));
    else
        snprintf(sql, sizeof sql, "SET SESSION net_read_timeout = %.0f", t);
    return ferry_my_command(&sink->session, sql, sink->timeout, "SET net_read_timeout", err);
}

/* Decide the mode and run what must happen before any data: a missing
 * table fails here, before the transfer reads anything. */
static ferry_status prepare(my_sink *sink, const ferry_copy_options *o, ferry_error *err)
{
    int exists = 0;
    ferry_status st = describe_table(sink, sink->target_sql, &exists, err);
    if (st != FERRY_OK)
        return st;
    if (!exists && !o->create_table)
        return ferry_error_hook(err, FERRY_ERR_NOT_FOUND, FERRY_MY_SYSTEM, sink_id(sink),
                                "table %s does not exist (use --create to create it)", sink->target_sql);
    sink->mode = !exists ? MODE_CREATE : o->replace ? MODE_REPLACE : MODE_APPEND;
    int typed = o->columns && o->n_columns > 0;
    if (sink->mode == MODE_CREATE && !typed && !o->header)
        return ferry_error_hook(err, FERRY_ERR_USAGE, FERRY_MY_SYSTEM, sink_id(sink),
                                "creating %s needs a header row to name the columns", sink->target_sql);
    if (sink->mode != MODE_APPEND && (st = make_stage_name(sink, err)) != FERRY_OK)
        return st;
    if (sink->mode == MODE_APPEND) {
        warn_engine(sink);
        st = ferry_my_command(&sink->session, "START TRANSACTION", sink->timeout, "START TRANSACTION", err);
        sink->in_transaction = st == FERRY_OK;
        if (st == FERRY_OK)
            st = start_load(sink, sink->target_sql, err);
    } else if (sink->mode == MODE_REPLACE) {
        char *sql = ferry_my_format("CREATE TABLE %s LIKE %s", sink->stage_sql, sink->target_sql);
        if (!sql)
            return ferry_error_oom(err, FERRY_MY_SYSTEM, sink_id(sink), NULL);
        ferry_log(FERRY_LOG_DEBUG, "mysql(%s): %s", sink_id(sink), sql);
        st = ferry_my_command(&sink->session, sql, sink->timeout, "CREATE TABLE LIKE", err);
        sink->stage_exists = st == FERRY_OK;
        free(sql);
        if (st == FERRY_OK)
            st = start_load(sink, sink->stage_sql, err);
    } else if (typed) {
        st = start_create_typed(sink, o, err);
    }
    /* MODE_CREATE without the source's columns starts once the header row has
     * named them */
    return st;
}

ferry_status ferry_my_open_sink(const ferry_endpoint *ep, const ferry_copy_options *o,
                                ferry_writer **out, ferry_error *err)
{
    *out = NULL;
    const char *id = ferry_endpoint_conn_id(ep);
    ferry_format fmt = o->format == FERRY_FORMAT_AUTO ? FERRY_FORMAT_CSV : o->format;
    if (fmt == FERRY_FORMAT_JSONL)
        return ferry_error_hook(err, FERRY_ERR_USAGE, FERRY_MY_SYSTEM, id,
                                "loading JSONL into a table is not supported (use csv or tsv)");
    if (fmt != FERRY_FORMAT_CSV && fmt != FERRY_FORMAT_TSV)
        return ferry_error_hook(err, FERRY_ERR_USAGE, FERRY_MY_SYSTEM, id,
                                "a table can be loaded from csv or tsv only");
    if (!ep->path || !*ep->path)
        return ferry_error_hook(err, FERRY_ERR_USAGE, FERRY_MY_SYSTEM, id,
                                "no table to load: give CONN:database.table");
    if (o->null_string && strlen(o->null_string) > FERRY_MY_NULL_STRING_MAX)
        return ferry_error_hook(err, FERRY_ERR_USAGE, FERRY_MY_SYSTEM, id,
                                "the NULL string is longer than %d bytes", FERRY_MY_NULL_STRING_MAX);
    my_sink *sink = calloc(1, sizeof *sink);
    if (!sink)
        return ferry_error_oom(err, FERRY_MY_SYSTEM, id, NULL);
    sink->base.ops = &my_sink_ops;
    sink->base.rows = -1;
    sink->timeout = o->timeout;
    ferry_my_dialect_init(&sink->dialect, fmt, o->header, o->null_string, flush_to_ring, sink);
    ferry_status st = ferry_my_settings_from_conn(ep->conn, &sink->settings, err);
    sink->settings.connect_attempts = o->max_retries;
    if (st == FERRY_OK)
        st = ferry_my_table_parse(ep->path, id, &sink->target, err);
    if (st == FERRY_OK && !(sink->target_sql = ferry_my_table_sql(&sink->target)))
        st = ferry_error_oom(err, FERRY_MY_SYSTEM, id, NULL);
    if (st == FERRY_OK)
        st = ferry_my_session_open(&sink->session, &sink->settings, FERRY_MY_LOCAL_INFILE, err);
    if (st == FERRY_OK)
        st = session_timeouts(sink, err);
    if (st == FERRY_OK)
        st = prepare(sink, o, err);
    if (st != FERRY_OK) {
        sink_free(&sink->base);
        return st;
    }
    *out = &sink->base;
    return FERRY_OK;
}
