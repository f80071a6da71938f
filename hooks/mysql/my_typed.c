/*
 * hooks/mysql/my_typed.c - typed rows from MySQL/MariaDB (ferry/typed.h):
 * the statement (SELECT * FROM the table, or --query) runs as a prepared
 * statement over the binary protocol, unbuffered (mysql_stmt_execute, then
 * mysql_stmt_fetch row by row, never mysql_stmt_store_result), through
 * libmariadb's non-blocking calls so waits stay cancellable.  The result
 * metadata gives each column's logical type (ferry_my_typed_column; the
 * table is in docs/formats.md); the result buffers are bound once and
 * reused for every row, values longer than their bound buffer are fetched
 * with mysql_stmt_fetch_column straight into the batch's var buffer, which
 * grows only when a longer batch comes.  The session runs with
 * time_zone '+00:00', so TIMESTAMP values arrive in UTC.
 *
 * Values Parquet cannot hold exactly are FERRY_ERR_DATA naming column and
 * row: zero dates ('0000-00-00', '2024-00-10'), TIME outside
 * 00:00:00..23:59:59.999999.  Types without an exact Parquet type (GEOMETRY)
 * are FERRY_ERR_USAGE naming the column before anything is read.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/buf.h"
#include "ferry/log.h"
#include "my_internal.h"

#define MY_BINARY_CHARSET 63
#define TYPED_BATCH_ROWS 4096
#define TYPED_BATCH_BYTES (16u * 1024 * 1024) /* var bytes that end a batch early */
#define SCRATCH_MIN 64
#define SCRATCH_MAX 4096
#define NATIVE_MAX 64

/* ---- types (pure) ---------------------------------------------------------- */

static int is_string_field(enum enum_field_types t)
{
    switch (t) {
    case MYSQL_TYPE_STRING: case MYSQL_TYPE_VAR_STRING: case MYSQL_TYPE_VARCHAR:
    case MYSQL_TYPE_TINY_BLOB: case MYSQL_TYPE_MEDIUM_BLOB: case MYSQL_TYPE_LONG_BLOB:
    case MYSQL_TYPE_BLOB: case MYSQL_TYPE_ENUM: case MYSQL_TYPE_SET: case MYSQL_TYPE_JSON:
        return 1;
    default:
        return 0;
    }
}

int ferry_my_typed_column(enum enum_field_types type, unsigned flags, unsigned charsetnr,
                          unsigned long length, unsigned decimals, int is_json, ferry_tcolumn *col)
{
    int uns = (flags & UNSIGNED_FLAG) != 0;
    col->precision = col->scale = col->utc = 0;
    col->nullable = (flags & NOT_NULL_FLAG) == 0;
    switch (type) {
    case MYSQL_TYPE_TINY: col->type = uns ? FERRY_T_UINT8 : FERRY_T_INT8; return 0;
    case MYSQL_TYPE_SHORT: col->type = uns ? FERRY_T_UINT16 : FERRY_T_INT16; return 0;
    case MYSQL_TYPE_INT24:
    case MYSQL_TYPE_LONG: col->type = uns ? FERRY_T_UINT32 : FERRY_T_INT32; return 0;
    case MYSQL_TYPE_LONGLONG: col->type = uns ? FERRY_T_UINT64 : FERRY_T_INT64; return 0;
    case MYSQL_TYPE_YEAR: col->type = FERRY_T_INT16; return 0;
    case MYSQL_TYPE_FLOAT: col->type = FERRY_T_FLOAT; return 0;
    case MYSQL_TYPE_DOUBLE: col->type = FERRY_T_DOUBLE; return 0;
    case MYSQL_TYPE_DECIMAL:
    case MYSQL_TYPE_NEWDECIMAL: {
        /* the display length counts the point and, when signed, the sign */
        long p = (long)length - (decimals > 0 ? 1 : 0) - (uns ? 0 : 1);
        if (p >= 1 && p <= 38 && (long)decimals <= p) {
            col->type = FERRY_T_DECIMAL;
            col->precision = (int)p;
            col->scale = (int)decimals;
        } else {
            col->type = FERRY_T_DECIMAL_TEXT; /* beyond DECIMAL(38): the exact text */
        }
        return 0;
    }
    case MYSQL_TYPE_DATE:
    case MYSQL_TYPE_NEWDATE: col->type = FERRY_T_DATE; return 0;
    case MYSQL_TYPE_TIME:
    case MYSQL_TYPE_TIME2: col->type = FERRY_T_TIME_US; return 0;
    case MYSQL_TYPE_DATETIME:
    case MYSQL_TYPE_DATETIME2: col->type = FERRY_T_TIMESTAMP_US; return 0;
    case MYSQL_TYPE_TIMESTAMP:
    case MYSQL_TYPE_TIMESTAMP2: col->type = FERRY_T_TIMESTAMP_US; col->utc = 1; return 0;
    case MYSQL_TYPE_BIT:
        if (length <= 1)
            col->type = FERRY_T_BOOL;
        else if (length <= 8)
            col->type = FERRY_T_UINT8;
        else if (length <= 16)
            col->type = FERRY_T_UINT16;
        else if (length <= 32)
            col->type = FERRY_T_UINT32;
        else
            col->type = FERRY_T_UINT64;
        return 0;
    case MYSQL_TYPE_NULL: col->type = FERRY_T_STRING; col->nullable = 1; return 0;
    case MYSQL_TYPE_GEOMETRY: return -1;
    default:
        if (!is_string_field(type))
            return -1;
        if (is_json || type == MYSQL_TYPE_JSON)
            col->type = FERRY_T_JSON;
        else if (charsetnr == MY_BINARY_CHARSET && !(flags & (ENUM_FLAG | SET_FLAG)) &&
                 type != MYSQL_TYPE_ENUM && type != MYSQL_TYPE_SET)
            col->type = FERRY_T_BYTES;
        else
            col->type = FERRY_T_STRING;
        return 0;
    }
}

int ferry_my_decimal_unscaled(const char *text, size_t len, int p, int s, __int128 *out)
{
    size_t i = 0;
    int neg = 0, seen = 0, frac = -1; /* frac: fraction digits taken, -1 before the point */
    __int128 acc = 0, limit = 1;
    if (p < 1 || p > 38 || s < 0 || s > p)
        return -1;
    for (int k = 0; k < p; k++)
        limit *= 10;
    if (i < len && (text[i] == '-' || text[i] == '+'))
        neg = text[i++] == '-';
    for (; i < len; i++) {
        char c = text[i];
        if (c == '.') {
            if (frac >= 0)
                return -1;
            frac = 0;
            continue;
        }
        if (c < '0' || c > '9')
            return -1;
        seen = 1;
        if (frac >= 0) {
            if (frac == s) {
                if (c != '0')
                    return -1; /* more fraction digits than the scale */
                continue;
            }
            frac++;
        }
        if (acc > (limit - 1 - (c - '0')) / 10)
            return -1; /* checked before it is computed: 10^39 would overflow */
        acc = acc * 10 + (c - '0');
    }
    if (!seen)
        return -1;
    for (int k = frac < 0 ? 0 : frac; k < s; k++) {
        if (acc > (limit - 1) / 10)
            return -1;
        acc *= 10;
    }
    *out = neg ? -acc : acc;
    return 0;
}

int64_t ferry_my_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    /* H. Hinnant's days_from_civil */
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (int64_t)(m > 2 ? m - 3 : m + 9) + 2) / 5 + (int64_t)d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* ---- the source ------------------------------------------------------------- */

enum { K_INT, K_FLOAT, K_DOUBLE, K_DECIMAL, K_TEXT_DECIMAL, K_DATE, K_DATETIME, K_TIME, K_BIT, K_VAR };

typedef struct my_tcol {
    int kind;
    MYSQL_TIME tm;                 /* K_DATE, K_DATETIME, K_TIME */
    long long ival;                /* K_INT */
    float fval;
    double dval;
    char *scratch;                 /* owned: K_DECIMAL, K_TEXT_DECIMAL, K_BIT, K_VAR */
    unsigned long scratch_cap;
    unsigned long length;
    my_bool is_null, error;
} my_tcol;

typedef struct my_typed {
    ferry_typed_source base;       /* first member */
    ferry_my_settings settings;    /* owned */
    ferry_my_session session;      /* owned; borrows settings */
    MYSQL_STMT *stmt;              /* owned: closed after the session */
    size_t n;
    ferry_tcolumn *cols;           /* owned: n */
    char **names;                  /* owned: n */
    char (*natives)[NATIVE_MAX];   /* owned: n */
    my_tcol *tc;                   /* owned: n */
    MYSQL_BIND *bind;              /* owned: n, bound once */
    ferry_tvector *vec;            /* owned: n */
    ferry_buf *var;                /* owned: n */
    ferry_tbatch batch;
    double timeout, last_data;
    int done;
} my_typed;

static int resume_prepare(ferry_my_session *s, int ready)
{
    return mysql_stmt_prepare_cont(&s->ret_int, s->stmt, ready);
}

static int resume_execute(ferry_my_session *s, int ready)
{
    return mysql_stmt_execute_cont(&s->ret_int, s->stmt, ready);
}

static int resume_fetch(ferry_my_session *s, int ready)
{
    return mysql_stmt_fetch_cont(&s->ret_int, s->stmt, ready);
}

static ferry_status drive(my_typed *t, int status, ferry_my_resume_fn resume, double deadline, const char *what,
                          ferry_error *err)
{
    if (status == 0)
        return FERRY_OK;
    t->session.pending = resume;
    t->session.pending_status = status;
    return ferry_my_drive(&t->session, deadline, what, err);
}

static ferry_status stmt_error(my_typed *t, const char *what, ferry_error *err)
{
    unsigned e = mysql_stmt_errno(t->stmt);
    if (e == 0)
        return ferry_my_error(t->session.my, t->settings.conn_id, 0, what, err);
    int transient = 0;
    ferry_status st = ferry_my_status_for_errno(e, 0, &transient);
    ferry_error_hook(err, st, FERRY_MY_SYSTEM, t->settings.conn_id, "%s failed: %s (errno %u)", what,
                     mysql_stmt_error(t->stmt), e);
    if (transient && err)
        ferry_error_transient(err);
    return st;
}

static ferry_status bad_value(my_typed *t, size_t col, const char *why, ferry_error *err)
{
    return ferry_error_hook(err, FERRY_ERR_DATA, FERRY_MY_SYSTEM, t->settings.conn_id,
                            "column %s, row %lld: %s", t->cols[col].name, (long long)t->base.rows + 1, why);
}

static ferry_status zero_date(my_typed *t, size_t col, const MYSQL_TIME *tm, ferry_error *err)
{
    char why[256];
    snprintf(why, sizeof why, "the zero date %04u-%02u-%02u has no parquet value (select NULLIF(`%s`, 0) "
             "or a real date with --query to write it)", tm->year, tm->month, tm->day, t->cols[col].name);
    return bad_value(t, col, why, err);
}

/* The value of column c of the row just fetched into row r of the batch. */
static ferry_status put_value(my_typed *t, size_t c, size_t r, ferry_error *err)
{
    my_tcol *k = &t->tc[c];
    ferry_tvector *v = &t->vec[c];
    const ferry_tcolumn *col = &t->cols[c];
    switch (k->kind) {
    case K_INT:
        v->i64[r] = (int64_t)k->ival;
        return FERRY_OK;
    case K_FLOAT:
        v->f64[r] = k->fval;
        return FERRY_OK;
    case K_DOUBLE:
        v->f64[r] = k->dval;
        return FERRY_OK;
    case K_DECIMAL: {
        __int128 x;
        if (k->length > k->scratch_cap ||
            ferry_my_decimal_unscaled(k->scratch, k->length, col->precision, col->scale, &x) != 0) {
            char why[160];
            snprintf(why, sizeof why, "the value %.*s does not fit DECIMAL(%d,%d)",
                     (int)(k->length < 80 ? k->length : 80), k->scratch, col->precision, col->scale);
            return bad_value(t, c, why, err);
        }
        if (col->precision <= 18) {
            v->i64[r] = (int64_t)x;
        } else {
            uint8_t *o = v->fixed + 16 * r;
            unsigned __int128 u = (unsigned __int128)x;
            for (int b = 15; b >= 0; b--) {
                o[b] = (uint8_t)u;
                u >>= 8;
            }
        }
        return FERRY_OK;
    }
    case K_BIT: {
        uint64_t u = 0;
        for (unsigned long b = 0; b < k->length && b < k->scratch_cap; b++)
            u = (u << 8) | (uint8_t)k->scratch[b];
        v->i64[r] = (int64_t)u;
        return FERRY_OK;
    }
    case K_DATE:
    case K_DATETIME: {
        const MYSQL_TIME *tm = &k->tm;
        if (tm->month < 1 || tm->month > 12 || tm->day < 1 || tm->day > 31)
            return zero_date(t, c, tm, err);
        int64_t days = ferry_my_days_from_civil(tm->year, tm->month, tm->day);
        if (k->kind == K_DATE)
            v->i64[r] = days;
        else
            v->i64[r] = ((days * 24 + tm->hour) * 60 + tm->minute) * 60000000LL + tm->second * 1000000LL +
                        (int64_t)tm->second_part;
        return FERRY_OK;
    }
    case K_TIME: {
        const MYSQL_TIME *tm = &k->tm;
        int64_t hours = (int64_t)tm->day * 24 + tm->hour;
        if (tm->neg || hours >= 24) {
            char why[200];
            snprintf(why, sizeof why, "TIME %s%lld:%02u:%02u is not a time of day (parquet TIME holds "
                     "00:00:00 to 23:59:59.999999; cast it to CHAR with --query)",
                     tm->neg ? "-" : "", (long long)hours, tm->minute, tm->second);
            return bad_value(t, c, why, err);
        }
        v->i64[r] = ((hours * 60 + tm->minute) * 60 + tm->second) * 1000000LL + (int64_t)tm->second_part;
        return FERRY_OK;
    }
    default: { /* K_VAR, K_TEXT_DECIMAL */
        ferry_buf *b = &t->var[c];
        if (k->length <= k->scratch_cap) {
            if (ferry_buf_append(b, k->scratch, k->length) != 0)
                return ferry_error_oom(err, FERRY_MY_SYSTEM, t->settings.conn_id, NULL);
            return FERRY_OK;
        }
        /* longer than the bound buffer: the whole value, straight into the batch */
        if (ferry_buf_reserve(b, k->length) != 0)
            return ferry_error_oom(err, FERRY_MY_SYSTEM, t->settings.conn_id, NULL);
        MYSQL_BIND one;
        unsigned long got = 0;
        memset(&one, 0, sizeof one);
        one.buffer_type = MYSQL_TYPE_BLOB;
        one.buffer = b->data + b->len;
        one.buffer_length = k->length;
        one.length = &got;
        if (mysql_stmt_fetch_column(t->stmt, &one, (unsigned)c, 0) != 0 || got != k->length)
            return stmt_error(t, "reading a long value", err);
        b->len += k->length;
        return FERRY_OK;
    }
    }
}

static ferry_status typed_next(ferry_typed_source *s, const ferry_tbatch **out, ferry_error *err)
{
    my_typed *t = (my_typed *)s;
    ferry_tbatch *b = &t->batch;
    b->n_rows = 0;
    b->first_row = t->base.rows + 1;
    for (size_t c = 0; c < t->n; c++)
        ferry_buf_reset(&t->var[c]);
    *out = b;
    size_t var_bytes = 0;
    while (!t->done && b->n_rows < TYPED_BATCH_ROWS && var_bytes < TYPED_BATCH_BYTES) {
        double deadline = t->timeout > 0 ? t->last_data + t->timeout : 0;
        ferry_status st = drive(t, mysql_stmt_fetch_start(&t->session.ret_int, t->stmt), resume_fetch, deadline,
                                "reading rows", err);
        if (st != FERRY_OK)
            return st;
        int rc = t->session.ret_int;
        if (rc == MYSQL_NO_DATA) {
            t->done = 1;
            t->session.busy = 0;
            break;
        }
        if (rc != 0 && rc != MYSQL_DATA_TRUNCATED) {
            char what[64];
            snprintf(what, sizeof what, "reading row %lld", (long long)t->base.rows + 1);
            return stmt_error(t, what, err);
        }
        t->last_data = ferry_now_monotonic();
        size_t r = b->n_rows, row_bytes = 0;
        for (size_t c = 0; c < t->n; c++) {
            ferry_tvector *v = &t->vec[c];
            size_t before = t->var[c].len;
            v->nulls[r] = t->tc[c].is_null != 0;
            if (!v->nulls[r]) {
                row_bytes += t->tc[c].kind == K_VAR || t->tc[c].kind == K_TEXT_DECIMAL ? t->tc[c].length : 8;
                st = put_value(t, c, r, err);
                if (st != FERRY_OK)
                    return st;
            }
            if (v->off) {
                if (t->var[c].len > UINT32_MAX)
                    return bad_value(t, c, "a batch's text over 4 GiB", err);
                v->off[r] = (uint32_t)before;
                v->off[r + 1] = (uint32_t)t->var[c].len;
                v->data = t->var[c].data ? t->var[c].data : (char *)"";
                var_bytes += t->var[c].len - before;
            }
        }
        b->n_rows++;
        t->base.rows++;
        t->base.bytes += (int64_t)row_bytes;
    }
    return FERRY_OK;
}

static ferry_status typed_finish(ferry_typed_source *s, ferry_error *err)
{
    my_typed *t = (my_typed *)s;
    if (!t->done)
        return ferry_error_hook(err, FERRY_ERR_INTERNAL, FERRY_MY_SYSTEM, t->settings.conn_id,
                                "the rows were not read to their end");
    ferry_log(FERRY_LOG_DEBUG, "mysql(%s): %lld typed rows read", t->settings.conn_id, (long long)t->base.rows);
    return FERRY_OK;
}

/* Leaving before the end: the session's close kills the query and shuts the
 * socket (so nothing is drained); the statement is freed after, without I/O. */
static void typed_free(ferry_typed_source *s)
{
    my_typed *t = (my_typed *)s;
    if (!t)
        return;
    ferry_my_session_close(&t->session);
    if (t->stmt)
        mysql_stmt_close(t->stmt);
    for (size_t c = 0; c < t->n; c++) {
        if (t->names)
            free(t->names[c]);
        if (t->tc)
            free(t->tc[c].scratch);
        if (t->vec) {
            free(t->vec[c].nulls);
            free(t->vec[c].i64);
            free(t->vec[c].f64);
            free(t->vec[c].fixed);
            free(t->vec[c].off);
        }
        if (t->var)
            ferry_buf_release(&t->var[c]);
    }
    free(t->names);
    free(t->natives);
    free(t->cols);
    free(t->tc);
    free(t->bind);
    free(t->vec);
    free(t->var);
    ferry_my_settings_release(&t->settings);
    free(t);
}

static const ferry_typed_source_ops typed_ops = {
    .name = "mysql-binary",
    .next_batch = typed_next,
    .finish = typed_finish,
    .free = typed_free,
};

/* Columns, batch vectors and result bindings from the result's fields. */
static ferry_status describe(my_typed *t, MYSQL_RES *meta, ferry_error *err)
{
    size_t n = mysql_num_fields(meta);
    MYSQL_FIELD *f = mysql_fetch_fields(meta);
    if (n == 0)
        return ferry_error_hook(err, FERRY_ERR_USAGE, FERRY_MY_SYSTEM, t->settings.conn_id,
                                "the rows have no columns: nothing to write as parquet");
    t->cols = calloc(n, sizeof *t->cols);
    t->names = calloc(n, sizeof *t->names);
    t->natives = calloc(n, sizeof *t->natives);
    t->tc = calloc(n, sizeof *t->tc);
    t->bind = calloc(n, sizeof *t->bind);
    t->vec = calloc(n, sizeof *t->vec);
    t->var = calloc(n, sizeof *t->var);
    if (!t->cols || !t->names || !t->natives || !t->tc || !t->bind || !t->vec || !t->var)
        return ferry_error_oom(err, FERRY_MY_SYSTEM, t->settings.conn_id, NULL);
    t->n = n;
    for (size_t c = 0; c < n; c++) {
        ferry_tcolumn *col = &t->cols[c];
        ferry_column plain;
        memset(&plain, 0, sizeof plain);
        ferry_my_field_column(&f[c], &plain, t->natives[c], NATIVE_MAX);
        if (!(t->names[c] = strdup(f[c].name ? f[c].name : "")))
            return ferry_error_oom(err, FERRY_MY_SYSTEM, t->settings.conn_id, NULL);
        col->name = t->names[c];
        col->native_type = t->natives[c];
        if (ferry_my_typed_column(f[c].type, f[c].flags, f[c].charsetnr, f[c].length, f[c].decimals,
                                  ferry_my_field_is_json(&f[c]), col) != 0)
            return ferry_error_hook(err, FERRY_ERR_USAGE, FERRY_MY_SYSTEM, t->settings.conn_id,
                                    "column %s: type %s has no exact parquet type (select it converted "
                                    "with --query, e.g. ST_AsText(`%s`) or CAST(`%s` AS CHAR))",
                                    col->name, t->natives[c], col->name, col->name);
        my_tcol *k = &t->tc[c];
        MYSQL_BIND *bd = &t->bind[c];
        bd->is_null = &k->is_null;
        bd->error = &k->error;
        bd->length = &k->length;
        unsigned long want = 0;
        switch (col->type) {
        case FERRY_T_FLOAT:
            k->kind = K_FLOAT;
            bd->buffer_type = MYSQL_TYPE_FLOAT;
            bd->buffer = &k->fval;
            break;
        case FERRY_T_DOUBLE:
            k->kind = K_DOUBLE;
            bd->buffer_type = MYSQL_TYPE_DOUBLE;
            bd->buffer = &k->dval;
            break;
        case FERRY_T_DECIMAL:
        case FERRY_T_DECIMAL_TEXT:
            k->kind = col->type == FERRY_T_DECIMAL ? K_DECIMAL : K_TEXT_DECIMAL;
            bd->buffer_type = MYSQL_TYPE_STRING;
            want = 80; /* 65 digits, point and sign */
            break;
        case FERRY_T_DATE:
        case FERRY_T_TIME_US:
        case FERRY_T_TIMESTAMP_US:
            k->kind = col->type == FERRY_T_DATE ? K_DATE : col->type == FERRY_T_TIME_US ? K_TIME : K_DATETIME;
            bd->buffer_type = col->type == FERRY_T_DATE ? MYSQL_TYPE_DATE
                              : col->type == FERRY_T_TIME_US ? MYSQL_TYPE_TIME : MYSQL_TYPE_DATETIME;
            bd->buffer = &k->tm;
            bd->buffer_length = sizeof k->tm;
            break;
        case FERRY_T_STRING:
        case FERRY_T_BYTES:
        case FERRY_T_JSON:
            k->kind = K_VAR;
            bd->buffer_type = MYSQL_TYPE_BLOB;
            want = f[c].length < SCRATCH_MIN ? SCRATCH_MIN : f[c].length > SCRATCH_MAX ? SCRATCH_MAX : f[c].length;
            break;
        default:
            if (f[c].type == MYSQL_TYPE_BIT) {
                k->kind = K_BIT;
                bd->buffer_type = MYSQL_TYPE_BLOB;
                want = 8;
            } else {
                k->kind = K_INT;
                bd->buffer_type = MYSQL_TYPE_LONGLONG;
                bd->buffer = &k->ival;
                bd->is_unsigned = (f[c].flags & UNSIGNED_FLAG) != 0;
            }
            break;
        }
        if (want) {
            if (!(k->scratch = malloc(want)))
                return ferry_error_oom(err, FERRY_MY_SYSTEM, t->settings.conn_id, NULL);
            k->scratch_cap = want;
            bd->buffer = k->scratch;
            bd->buffer_length = want;
        }
        ferry_tvector *v = &t->vec[c];
        int bad = !(v->nulls = calloc(TYPED_BATCH_ROWS, 1));
        switch (ferry_ltype_storage(col->type, col->precision)) {
        case FERRY_TS_I64: bad = bad || !(v->i64 = calloc(TYPED_BATCH_ROWS, sizeof *v->i64)); break;
        case FERRY_TS_F64: bad = bad || !(v->f64 = calloc(TYPED_BATCH_ROWS, sizeof *v->f64)); break;
        case FERRY_TS_FIXED16: bad = bad || !(v->fixed = calloc(TYPED_BATCH_ROWS, 16)); break;
        case FERRY_TS_VAR: bad = bad || !(v->off = calloc(TYPED_BATCH_ROWS + 1, sizeof *v->off)); break;
        }
        if (bad)
            return ferry_error_oom(err, FERRY_MY_SYSTEM, t->settings.conn_id, NULL);
        v->data = (char *)"";
    }
    t->batch.n_cols = n;
    t->batch.cols = t->vec;
    t->base.columns = t->cols;
    t->base.n_columns = n;
    if (mysql_stmt_bind_result(t->stmt, t->bind) != 0)
        return stmt_error(t, "binding the result", err);
    return FERRY_OK;
}

ferry_status ferry_my_open_typed_source(const ferry_endpoint *ep, const ferry_copy_options *o,
                                        ferry_typed_source **out, ferry_error *err)
{
    *out = NULL;
    const char *id = ferry_endpoint_conn_id(ep);
    char *sql = NULL; /* owned */
    ferry_status st = ferry_my_statement_for(ep, o, id, &sql, err);
    if (st != FERRY_OK)
        return st;
    my_typed *t = calloc(1, sizeof *t);
    if (!t) {
        free(sql);
        return ferry_error_oom(err, FERRY_MY_SYSTEM, id, NULL);
    }
    t->base.ops = &typed_ops;
    t->timeout = o->timeout;
    st = ferry_my_settings_from_conn(ep->conn, &t->settings, err);
    t->settings.connect_attempts = o->max_retries;
    if (st == FERRY_OK && strncasecmp(t->settings.charset, "utf8", 4) != 0)
        st = ferry_error_hook(err, FERRY_ERR_USAGE, FERRY_MY_SYSTEM, id,
                              "parquet strings are UTF-8: the connection's charset %s cannot be written "
                              "(leave the extra 'charset' unset or utf8mb4)", t->settings.charset);
    if (st == FERRY_OK)
        st = ferry_my_session_open(&t->session, &t->settings, 0, err);
    if (st == FERRY_OK) {
        /* TIMESTAMP values arrive in the session's time zone: UTC, so they are instants */
        double w = o->timeout > FERRY_MY_STREAM_TIMEOUT ? ceil(o->timeout) : FERRY_MY_STREAM_TIMEOUT;
        char set[128];
        snprintf(set, sizeof set, "SET SESSION time_zone = '+00:00', SESSION net_write_timeout = %.0f", w);
        st = ferry_my_command(&t->session, set, o->timeout, "SET time_zone", err);
    }
    if (st == FERRY_OK && !(t->stmt = mysql_stmt_init(t->session.my)))
        st = ferry_error_oom(err, FERRY_MY_SYSTEM, id, NULL);
    if (st == FERRY_OK) {
        t->session.stmt = t->stmt;
        ferry_log(FERRY_LOG_DEBUG, "mysql(%s): prepare %s", id, sql);
        t->session.busy = 1;
        double deadline = o->timeout > 0 ? ferry_now_monotonic() + o->timeout : 0;
        st = drive(t, mysql_stmt_prepare_start(&t->session.ret_int, t->stmt, sql, (unsigned long)strlen(sql)),
                   resume_prepare, deadline, "prepare", err);
        if (st == FERRY_OK && t->session.ret_int != 0) {
            t->session.busy = 0;
            st = stmt_error(t, "query", err);
        }
        if (st == FERRY_OK && mysql_stmt_field_count(t->stmt) == 0)
            st = ferry_error_hook(err, FERRY_ERR_USAGE, FERRY_MY_SYSTEM, id,
                                  "query: the statement returns no rows (not a SELECT?)");
        if (st == FERRY_OK)
            st = drive(t, mysql_stmt_execute_start(&t->session.ret_int, t->stmt), resume_execute, deadline,
                       "query", err);
        if (st == FERRY_OK && t->session.ret_int != 0) {
            t->session.busy = 0;
            st = stmt_error(t, "query", err);
        }
    }
    if (st == FERRY_OK) {
        MYSQL_RES *meta = mysql_stmt_result_metadata(t->stmt); /* owned */
        if (!meta)
            st = stmt_error(t, "reading the result's columns", err);
        else
            st = describe(t, meta, err);
        mysql_free_result(meta);
    }
    free(sql);
    if (st != FERRY_OK) {
        typed_free(&t->base);
        return st;
    }
    t->last_data = ferry_now_monotonic();
    *out = &t->base;
    return FERRY_OK;
}
