/*
 * hooks/mysql/my_source.c - a table or a query as a ferry_source: the
 * statement runs with mysql_real_query + mysql_use_result (rows stream from
 * the server one by one, never buffered whole) and each row, from
 * mysql_fetch_row / mysql_fetch_lengths, is encoded by my_encode.c straight
 * into the reader's buffer - or, when it does not fit there, into one
 * buffer of the source's own that grows only for an oversized row.
 *
 * A stream the server cuts short (KILL, lost connection) is FERRY_ERR_DATA
 * at the point where it ends: never a short file.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/log.h"
#include "my_internal.h"

#define MY_NATIVE_MAX 48

typedef struct my_source {
    ferry_source base;          /* first member: the transfer sees only this */
    ferry_my_settings settings; /* owned */
    ferry_my_session session;   /* owned; borrows settings */
    ferry_my_encoder enc;       /* owned */
    ferry_column *columns;      /* owned: n_columns, names borrowed from enc */
    char (*natives)[MY_NATIVE_MAX]; /* owned: the columns' native type names */
    double timeout;             /* seconds without a row before FERRY_ERR_TIMEOUT; <= 0: none */
    double last_data;           /* ferry_now_monotonic() when a row last arrived */
    char *spill;                /* owned: an encoded row that did not fit the reader's buffer */
    size_t spill_cap, spill_len, spill_off;
    int done;                   /* the result ended, cleanly */
} my_source;

/* ---- reading ------------------------------------------------------------- */

static size_t take_spill(my_source *src, char *dst, size_t room)
{
    size_t n = src->spill_len - src->spill_off;
    if (n > room)
        n = room;
    memcpy(dst, src->spill + src->spill_off, n);
    src->spill_off += n;
    if (src->spill_off == src->spill_len)
        src->spill_len = src->spill_off = 0;
    return n;
}

static ferry_status spill_reserve(my_source *src, size_t need, ferry_error *err)
{
    if (need <= src->spill_cap)
        return FERRY_OK;
    size_t want = src->spill_cap ? src->spill_cap : 64 * 1024;
    while (want < need)
        want *= 2;
    char *grown = realloc(src->spill, want);
    if (!grown)
        return ferry_error_hook(err, FERRY_ERR_INTERNAL, FERRY_MY_SYSTEM, src->settings.conn_id,
                                "out of memory (a row of %zu bytes)", need);
    src->spill = grown;
    src->spill_cap = want;
    return FERRY_OK;
}

/* The row in session.ret_row, encoded into dst when it surely fits, else
 * into the spill buffer (then handed out from there). */
static ferry_status encode_row(my_source *src, char *dst, size_t room, size_t *wrote,
                               ferry_error *err)
{
    MYSQL_ROW row = src->session.ret_row;
    unsigned long *lengths = mysql_fetch_lengths(src->session.res);
    size_t bound = ferry_my_encode_bound(&src->enc, row, lengths);
    src->base.rows++;
    if (bound <= room) {
        *wrote = ferry_my_encode_row(&src->enc, row, lengths, dst);
        return FERRY_OK;
    }
    ferry_status st = spill_reserve(src, bound, err);
    if (st != FERRY_OK)
        return st;
    src->spill_len = ferry_my_encode_row(&src->enc, row, lengths, src->spill);
    src->spill_off = 0;
    *wrote = take_spill(src, dst, room);
    return FERRY_OK;
}

/* The result ended: cleanly, or cut short (the error is in the connection). */
static ferry_status end_of_rows(my_source *src, ferry_error *err)
{
    MYSQL *my = src->session.my;
    if (mysql_errno(my) != 0) {
        char what[64];
        snprintf(what, sizeof what, "reading row %lld", (long long)src->base.rows + 1);
        return ferry_my_error(my, src->settings.conn_id, 0, what, err);
    }
    src->done = 1;
    src->session.busy = 0;
    ferry_log(FERRY_LOG_DEBUG, "mysql(%s): %lld rows read", src->settings.conn_id,
              (long long)src->base.rows);
    return FERRY_OK;
}

static ferry_status source_read(ferry_source *s, void *buf, size_t cap, size_t *nread,
                                ferry_error *err)
{
    my_source *src = (my_source *)s;
    char *dst = buf;
    size_t filled = 0;
    *nread = 0;
    if (cap == 0)
        return ferry_error_hook(err, FERRY_ERR_INTERNAL, FERRY_MY_SYSTEM, src->settings.conn_id,
                                "read with an empty buffer");
    if (src->spill_len > 0)
        filled += take_spill(src, dst, cap);
    while (filled < cap && !src->done && src->spill_len == 0) {
        if (!src->session.pending && ferry_my_fetch_start(&src->session) == 0) {
            /* the row was already in libmariadb's buffer */
        } else if (filled > 0) {
            break; /* nothing more without waiting: hand out what there is */
        } else {
            double deadline = src->timeout > 0 ? src->last_data + src->timeout : 0;
            ferry_status st = ferry_my_drive(&src->session, deadline, "reading rows", err);
            if (st != FERRY_OK)
                return st;
        }
        if (!src->session.ret_row) {
            ferry_status st = end_of_rows(src, err);
            if (st != FERRY_OK)
                return st;
            break;
        }
        src->last_data = ferry_now_monotonic();
        size_t wrote = 0;
        ferry_status st = encode_row(src, dst + filled, cap - filled, &wrote, err);
        if (st != FERRY_OK)
            return st;
        filled += wrote;
    }
    *nread = filled;
    return FERRY_OK;
}

static ferry_status source_finish(ferry_source *s, ferry_error *err)
{
    my_source *src = (my_source *)s;
    if (!src->done)
        return ferry_error_hook(err, FERRY_ERR_INTERNAL, FERRY_MY_SYSTEM, src->settings.conn_id,
                                "the rows were not read to their end");
    return FERRY_OK;
}

/* Leaving before the end (error elsewhere, signal): the query is killed and
 * the socket shut, so nothing is drained. */
static void source_free(ferry_source *s)
{
    my_source *src = (my_source *)s;
    if (!src)
        return;
    ferry_my_session_close(&src->session);
    ferry_my_encoder_release(&src->enc);
    free(src->columns);
    free(src->natives);
    free(src->spill);
    ferry_my_settings_release(&src->settings);
    free(src);
}

static const ferry_source_ops my_source_ops = {
    .name = "mysql",
    .read = source_read,
    .finish = source_finish,
    .free = source_free,
};

/* ---- opening ------------------------------------------------------------- */

/* The statement: SELECT * FROM the table, or the user's query as it is. */
ferry_status ferry_my_statement_for(const ferry_endpoint *ep, const ferry_copy_options *o,
                                    const char *id, char **sql, ferry_error *err)
{
    const char *path = ep->path ? ep->path : "";
    const char *q = o->query && *o->query ? o->query : NULL;
    *sql = NULL;
    if (*path && q)
        return ferry_error_hook(err, FERRY_ERR_USAGE, FERRY_MY_SYSTEM, id,
                                "give either a table (%s:database.table) or a query, not both",
                                ep->conn && ep->conn->id && *ep->conn->id ? ep->conn->id : "CONN");
    if (!*path && !q)
        return ferry_error_hook(err, FERRY_ERR_USAGE, FERRY_MY_SYSTEM, id,
                                "nothing to read: give a table (CONN:database.table) or a query");
    if (q) {
        *sql = strdup(q);
    } else {
        ferry_my_table t;
        ferry_status st = ferry_my_table_parse(path, id, &t, err);
        if (st != FERRY_OK)
            return st;
        char *table_sql = ferry_my_table_sql(&t); /* owned */
        *sql = table_sql ? ferry_my_format("SELECT * FROM %s", table_sql) : NULL;
        free(table_sql);
        ferry_my_table_release(&t);
    }
    if (!*sql)
        return ferry_error_oom(err, FERRY_MY_SYSTEM, id, NULL);
    return FERRY_OK;
}

/* Columns and encoder from the result's fields. */
static ferry_status describe_columns(my_source *src, ferry_format fmt, const char *null_string,
                                     ferry_error *err)
{
    unsigned n = mysql_num_fields(src->session.res);
    MYSQL_FIELD *fields = mysql_fetch_fields(src->session.res);
    size_t m = n ? n : 1;
    const char **names = calloc(m, sizeof *names);        /* owned: borrowed strings */
    ferry_my_class *classes = calloc(m, sizeof *classes); /* owned */
    src->columns = calloc(m, sizeof *src->columns);
    src->natives = calloc(m, sizeof *src->natives);
    int oom = !names || !classes || !src->columns || !src->natives;
    for (unsigned i = 0; !oom && i < n; i++) {
        names[i] = fields[i].name;
        classes[i] = ferry_my_field_class(&fields[i]);
        ferry_my_field_column(&fields[i], &src->columns[i], src->natives[i], MY_NATIVE_MAX);
    }
    if (!oom)
        oom = ferry_my_encoder_init(&src->enc, fmt, names, classes, n, null_string) != 0;
    /* binary values as bytea's "\x<hex>": text any CSV reader (PostgreSQL's
     * COPY included) takes, and the sink decodes again */
    src->enc.hex_binary = 1;
    free(names);
    free(classes);
    if (oom)
        return ferry_error_oom(err, FERRY_MY_SYSTEM, src->settings.conn_id, NULL);
    for (unsigned i = 0; i < n; i++)
        src->columns[i].name = src->enc.names[i];
    src->base.columns = src->columns;
    src->base.n_columns = n;
    return FERRY_OK;
}

/* The header line goes first, through the spill buffer. */
static ferry_status queue_header(my_source *src, ferry_error *err)
{
    size_t bound = ferry_my_header_bound(&src->enc);
    if (bound == 0)
        return FERRY_OK;
    ferry_status st = spill_reserve(src, bound, err);
    if (st == FERRY_OK) {
        src->spill_len = ferry_my_encode_header(&src->enc, src->spill);
        src->spill_off = 0;
    }
    return st;
}

/* The server drops a client that does not read for net_write_timeout
 * seconds; a slow sink must not look like a dead client. */
static ferry_status raise_write_timeout(my_source *src, double timeout, ferry_error *err)
{
    double t = timeout > FERRY_MY_STREAM_TIMEOUT ? ceil(timeout) : FERRY_MY_STREAM_TIMEOUT;
    char sql[96];
    snprintf(sql, sizeof sql, "SET SESSION net_write_timeout = %.0f", t);
    return ferry_my_command(&src->session, sql, timeout, "SET net_write_timeout", err);
}

/* range_sql: a range of a parallel extraction (my_parallel.c): run it
 * instead of the endpoint's statement, inside START TRANSACTION WITH
 * CONSISTENT SNAPSHOT. */
static ferry_status open_source_ex(const ferry_endpoint *ep, const ferry_copy_options *o,
                                   const char *range_sql, ferry_source **out, ferry_error *err)
{
    *out = NULL;
    const char *id = ferry_endpoint_conn_id(ep);
    ferry_format fmt = o->format == FERRY_FORMAT_AUTO ? FERRY_FORMAT_CSV : o->format;
    if (fmt != FERRY_FORMAT_CSV && fmt != FERRY_FORMAT_TSV && fmt != FERRY_FORMAT_JSONL)
        return ferry_error_hook(err, FERRY_ERR_USAGE, FERRY_MY_SYSTEM, id,
                                "a table can be read as csv, tsv or jsonl only");
    char *sql = NULL; /* owned */
    ferry_status st = FERRY_OK;
    if (range_sql && !(sql = strdup(range_sql)))
        st = ferry_error_oom(err, FERRY_MY_SYSTEM, id, NULL);
    else if (!range_sql)
        st = ferry_my_statement_for(ep, o, id, &sql, err);
    if (st != FERRY_OK)
        return st;
    my_source *src = calloc(1, sizeof *src);
    if (!src) {
        free(sql);
        return ferry_error_oom(err, FERRY_MY_SYSTEM, id, NULL);
    }
    src->base.ops = &my_source_ops;
    src->base.size = -1;
    src->base.rows = 0;
    src->timeout = o->timeout;
    st = ferry_my_settings_from_conn(ep->conn, &src->settings, err);
    src->settings.connect_attempts = o->max_retries;
    if (st == FERRY_OK)
        st = ferry_my_session_open(&src->session, &src->settings, 0, err);
    if (st == FERRY_OK)
        st = raise_write_timeout(src, o->timeout, err);
    if (st == FERRY_OK && range_sql)
        st = ferry_my_command(&src->session, "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ",
                              o->timeout, "starting the snapshot", err);
    if (st == FERRY_OK && range_sql)
        st = ferry_my_command(&src->session, "START TRANSACTION WITH CONSISTENT SNAPSHOT", o->timeout,
                              "starting the snapshot", err);
    if (st == FERRY_OK) {
        ferry_log(FERRY_LOG_DEBUG, "mysql(%s): %s", id, sql);
        st = ferry_my_run(&src->session, sql, o->timeout, "query", err);
    }
    if (st == FERRY_OK)
        st = ferry_my_use(&src->session, "query", err);
    if (st == FERRY_OK)
        st = describe_columns(src, fmt, o->null_string, err);
    if (st == FERRY_OK && fmt != FERRY_FORMAT_JSONL && o->header)
        st = queue_header(src, err);
    free(sql);
    if (st != FERRY_OK) {
        source_free(&src->base);
        return st;
    }
    src->last_data = ferry_now_monotonic();
    *out = &src->base;
    return FERRY_OK;
}

ferry_status ferry_my_open_source(const ferry_endpoint *ep, const ferry_copy_options *o,
                                  ferry_source **out, ferry_error *err)
{
    return open_source_ex(ep, o, NULL, out, err);
}

ferry_status ferry_my_open_range_source(const ferry_endpoint *ep, const ferry_copy_options *o,
                                        const char *sql, ferry_source **out, ferry_error *err)
{
    return open_source_ex(ep, o, sql, out, err);
}
