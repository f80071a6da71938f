/*
 * hooks/postgres/pg_binary.c - typed rows from Postgres: COPY (SELECT ...)
 * TO STDOUT WITH (FORMAT binary), decoded by type OID into column batches
 * (ferry/typed.h).  The columns come from a prepared Describe of the query
 * (OIDs and typmods; numeric's typmod gives (p,s)); types without a decoder
 * here are cast to text in the SELECT.  Values: bool, int2/4/8, float4/8,
 * numeric (base-10000 digits -> the exact unscaled value of DECIMAL(p,s), or
 * the exact text when no precision is declared), text/varchar/bpchar/name,
 * bytea, date, time, timestamp, timestamptz (microseconds, moved from 2000 to
 * 1970), uuid, json, jsonb (version byte 1).  NaN and infinities of a
 * DECIMAL, and infinite dates and timestamps, are FERRY_ERR_DATA naming the
 * column and row (docs/formats.md).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "pg_binary.h"
#include "pg_internal.h"

#define OID_BOOL 16
#define OID_BYTEA 17
#define OID_NAME 19
#define OID_INT8 20
#define OID_INT2 21
#define OID_INT4 23
#define OID_TEXT 25
#define OID_JSON 114
#define OID_FLOAT4 700
#define OID_FLOAT8 701
#define OID_BPCHAR 1042
#define OID_VARCHAR 1043
#define OID_DATE 1082
#define OID_TIME 1083
#define OID_TIMESTAMP 1114
#define OID_TIMESTAMPTZ 1184
#define OID_INTERVAL 1186
#define OID_NUMERIC 1700
#define OID_UUID 2950
#define OID_JSONB 3802

#define PG_EPOCH_DAYS 10957                 /* 2000-01-01 - 1970-01-01 in days */
#define PG_EPOCH_US 946684800000000LL       /* ... in microseconds */

void ferry_pg_bin_type(unsigned oid, int typmod, ferry_tcolumn *col, int *cast_text)
{
    *cast_text = 0;
    col->precision = col->scale = col->utc = 0;
    col->nullable = 1;
    switch (oid) {
    case OID_BOOL: col->type = FERRY_T_BOOL; return;
    case OID_INT2: col->type = FERRY_T_INT16; return;
    case OID_INT4: col->type = FERRY_T_INT32; return;
    case OID_INT8: col->type = FERRY_T_INT64; return;
    case OID_FLOAT4: col->type = FERRY_T_FLOAT; return;
    case OID_FLOAT8: col->type = FERRY_T_DOUBLE; return;
    case OID_TEXT: case OID_VARCHAR: case OID_BPCHAR: case OID_NAME: col->type = FERRY_T_STRING; return;
    case OID_BYTEA: col->type = FERRY_T_BYTES; return;
    case OID_DATE: col->type = FERRY_T_DATE; return;
    case OID_TIME: col->type = FERRY_T_TIME_US; return;
    case OID_TIMESTAMP: col->type = FERRY_T_TIMESTAMP_US; return;
    case OID_TIMESTAMPTZ: col->type = FERRY_T_TIMESTAMP_US; col->utc = 1; return;
    case OID_UUID: col->type = FERRY_T_UUID; return;
    case OID_JSON: case OID_JSONB: col->type = FERRY_T_JSON; return;
    case OID_NUMERIC:
        if (typmod >= 4) {
            int p = ((typmod - 4) >> 16) & 0xffff;
            int s = (((typmod - 4) & 0x7ff) ^ 1024) - 1024; /* PostgreSQL 15 allows a negative scale */
            if (p >= 1 && p <= 38 && s >= 0 && s <= p) {
                col->type = FERRY_T_DECIMAL;
                col->precision = p;
                col->scale = s;
                return;
            }
        }
        col->type = FERRY_T_DECIMAL_TEXT;
        return;
    case OID_INTERVAL: col->type = FERRY_T_INTERVAL; *cast_text = 1; return;
    default: col->type = FERRY_T_TEXT; *cast_text = 1; return;
    }
}

void ferry_pg_bin_schema_free(ferry_pg_bin_schema *s)
{
    if (!s)
        return;
    for (size_t i = 0; s->strings && i < s->n; i++)
        free(s->strings[i]);
    free(s->strings);
    free(s->cols);
    free(s->oids);
    memset(s, 0, sizeof *s);
}

ferry_status ferry_pg_bin_prepare(PGconn *pg, const char *conn_id, const char *select_sql, char **sql,
                                  ferry_pg_bin_schema *schema, ferry_error *err)
{
    *sql = NULL;
    memset(schema, 0, sizeof *schema);
    PGresult *res = PQprepare(pg, "", select_sql, 0, NULL); /* owned: PQclear */
    if (res && PQresultStatus(res) == PGRES_COMMAND_OK) {
        PQclear(res);
        res = PQdescribePrepared(pg, "");
    }
    if (!res || PQresultStatus(res) != PGRES_COMMAND_OK) {
        ferry_status st = ferry_pg_result_error(pg, res, conn_id, "COPY", err);
        PQclear(res);
        return st;
    }
    int n = PQnfields(res);
    if (n == 0) {
        PQclear(res);
        return ferry_error_hook(err, FERRY_ERR_USAGE, FERRY_PG_SYSTEM, conn_id,
                                "the rows have no columns: nothing to write as parquet");
    }
    ferry_buf list = {0}, alias = {0};
    schema->n = (size_t)n;
    schema->cols = calloc((size_t)n, sizeof *schema->cols);
    schema->oids = calloc((size_t)n, sizeof *schema->oids);
    schema->strings = calloc((size_t)n, sizeof *schema->strings);
    int bad = !schema->cols || !schema->oids || !schema->strings;
    for (int i = 0; !bad && i < n; i++) {
        ferry_tcolumn *c = &schema->cols[i];
        int cast = 0;
        ferry_pg_bin_type((unsigned)PQftype(res, i), PQfmod(res, i), c, &cast);
        schema->oids[i] = cast ? OID_TEXT : (unsigned)PQftype(res, i);
        schema->strings[i] = strdup(PQfname(res, i));
        c->name = schema->strings[i];
        bad = !c->name;
        /* positional names (_ferry_t("_1", ...)): duplicate or odd names in the query do not matter */
        ferry_buf_appendf(&alias, "%s\"_%d\"", i ? ", " : "", i + 1);
        ferry_buf_appendf(&list, "%s\"_%d\"%s", i ? ", " : "", i + 1, cast ? "::pg_catalog.text" : "");
    }
    PQclear(res);
    if (!bad && !list.failed && !alias.failed)
        *sql = ferry_pg_format("COPY (SELECT %s FROM (\n%s\n) AS _ferry_t(%s)) TO STDOUT WITH (FORMAT binary)",
                               list.data, select_sql, alias.data);
    ferry_buf_release(&list);
    ferry_buf_release(&alias);
    if (!*sql) {
        ferry_pg_bin_schema_free(schema);
        return ferry_error_oom(err, FERRY_PG_SYSTEM, conn_id, NULL);
    }
    return FERRY_OK;
}

/* ---- the decoder ------------------------------------------------------------ */

static const uint8_t copy_signature[11] = {'P', 'G', 'C', 'O', 'P', 'Y', '\n', 0xff, '\r', '\n', 0};

static uint16_t be16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static uint64_t be64(const uint8_t *p)
{
    return ((uint64_t)be32(p) << 32) | be32(p + 4);
}

ferry_status ferry_pg_bin_decoder_init(ferry_pg_bin_decoder *d, const ferry_pg_bin_schema *schema, size_t cap,
                                       const char *conn_id, ferry_error *err)
{
    memset(d, 0, sizeof *d);
    d->schema = schema;
    d->cap = cap ? cap : 4096;
    d->conn_id = conn_id ? conn_id : "";
    size_t n = schema->n;
    d->vec = calloc(n ? n : 1, sizeof *d->vec);
    d->var = calloc(n ? n : 1, sizeof *d->var);
    int bad = !d->vec || !d->var;
    for (size_t i = 0; !bad && i < n; i++) {
        ferry_tvector *v = &d->vec[i];
        v->nulls = calloc(d->cap, 1);
        bad = !v->nulls;
        switch (ferry_ltype_storage(schema->cols[i].type, schema->cols[i].precision)) {
        case FERRY_TS_I64: bad = bad || !(v->i64 = calloc(d->cap, sizeof *v->i64)); break;
        case FERRY_TS_F64: bad = bad || !(v->f64 = calloc(d->cap, sizeof *v->f64)); break;
        case FERRY_TS_FIXED16: bad = bad || !(v->fixed = calloc(d->cap, 16)); break;
        case FERRY_TS_VAR: bad = bad || !(v->off = calloc(d->cap + 1, sizeof *v->off)); break;
        }
    }
    d->batch.n_cols = n;
    d->batch.cols = d->vec;
    d->batch.first_row = 1;
    if (bad) {
        ferry_pg_bin_decoder_free(d);
        return ferry_error_oom(err, FERRY_PG_SYSTEM, conn_id, NULL);
    }
    return FERRY_OK;
}

void ferry_pg_bin_decoder_reset(ferry_pg_bin_decoder *d)
{
    d->batch.n_rows = 0;
    d->batch.first_row = d->rows + 1;
    for (size_t i = 0; i < d->schema->n; i++)
        ferry_buf_reset(&d->var[i]);
}

void ferry_pg_bin_decoder_free(ferry_pg_bin_decoder *d)
{
    for (size_t i = 0; d->vec && i < d->schema->n; i++) {
        free(d->vec[i].nulls);
        free(d->vec[i].i64);
        free(d->vec[i].f64);
        free(d->vec[i].fixed);
        free(d->vec[i].off);
    }
    for (size_t i = 0; d->var && i < d->schema->n; i++)
        ferry_buf_release(&d->var[i]);
    free(d->vec);
    free(d->var);
    d->vec = NULL;
    d->var = NULL;
}

static ferry_status bad_value(ferry_pg_bin_decoder *d, size_t col, int64_t row, const char *why, ferry_error *err)
{
    return ferry_error_hook(err, FERRY_ERR_DATA, FERRY_PG_SYSTEM, d->conn_id, "column %s, row %lld: %s",
                            d->schema->cols[col].name, (long long)row, why);
}

/* The numeric's base-10000 digits as exact text, as numeric_out writes it. */
static int numeric_text(ferry_buf *b, int neg, int weight, int dscale, const uint8_t *digits, int ndigits)
{
    if (neg)
        ferry_buf_append(b, "-", 1);
    if (weight < 0) {
        ferry_buf_append(b, "0", 1);
    } else {
        for (int i = 0; i <= weight; i++) {
            int dig = i < ndigits ? be16(digits + 2 * i) : 0;
            ferry_buf_appendf(b, i == 0 ? "%d" : "%04d", dig);
        }
    }
    if (dscale > 0) {
        ferry_buf_append(b, ".", 1);
        int left = dscale;
        for (int k = 1; left > 0; k++) {
            int i = weight + k;
            int dig = i >= 0 && i < ndigits ? be16(digits + 2 * i) : 0;
            char four[8];
            snprintf(four, sizeof four, "%04d", dig);
            int take = left < 4 ? left : 4;
            ferry_buf_append(b, four, (size_t)take);
            left -= take;
        }
    }
    return b->failed ? -1 : 0;
}

static const __int128 *pow10_table(void)
{
    static __int128 t[39];
    static int ready;
    if (!ready) {
        t[0] = 1;
        for (int i = 1; i < 39; i++)
            t[i] = t[i - 1] * 10;
        ready = 1;
    }
    return t;
}

/* The unscaled value of DECIMAL(p, s): 0, or -1 when it does not fit or has
 * more fraction digits than s. */
static int numeric_unscaled(int neg, int weight, const uint8_t *digits, int ndigits, int p, int s, __int128 *out)
{
    const __int128 *p10 = pow10_table();
    __int128 acc = 0;
    for (int i = 0; i < ndigits; i++) {
        int dig = be16(digits + 2 * i);
        if (dig > 9999)
            return -1;
        int e = 4 * (weight - i) + s; /* this digit counts dig * 10^e in the unscaled value */
        if (dig == 0)
            continue;
        if (e > 38)
            return -1;
        __int128 add;
        if (e >= 0) {
            if (__builtin_mul_overflow((__int128)dig, p10[e], &add))
                return -1;
        } else if (e > -4) {
            if (dig % (int)p10[-e] != 0)
                return -1;
            add = dig / (int)p10[-e];
        } else {
            return -1;
        }
        if (__builtin_add_overflow(acc, add, &acc))
            return -1;
    }
    if (acc >= p10[p])
        return -1;
    *out = neg ? -acc : acc;
    return 0;
}

static ferry_status put_numeric(ferry_pg_bin_decoder *d, size_t col, size_t r, const uint8_t *p, uint32_t len,
                                int64_t row, ferry_error *err)
{
    if (len < 8)
        return bad_value(d, col, row, "a numeric shorter than its header", err);
    int ndigits = be16(p), weight = (int16_t)be16(p + 2), sign = be16(p + 4), dscale = be16(p + 6);
    if ((uint32_t)8 + 2u * (uint32_t)ndigits != len || (ndigits > 0 && (ndigits & 0x8000)))
        return bad_value(d, col, row, "a numeric whose digits do not match its length", err);
    const ferry_tcolumn *c = &d->schema->cols[col];
    const char *special = sign == 0xC000 ? "NaN" : sign == 0xD000 ? "Infinity" : sign == 0xF000 ? "-Infinity" : NULL;
    if (!special && sign != 0 && sign != 0x4000)
        return bad_value(d, col, row, "a numeric with an unknown sign", err);
    if (c->type == FERRY_T_DECIMAL_TEXT) {
        ferry_buf *b = &d->var[col];
        if (special)
            ferry_buf_appends(b, special);
        else if (dscale > 0x3fff)
            return bad_value(d, col, row, "a numeric with a bad display scale", err);
        else
            numeric_text(b, sign == 0x4000, weight, dscale, p + 8, ndigits);
        if (b->failed)
            return ferry_error_oom(err, FERRY_PG_SYSTEM, d->conn_id, NULL);
        return FERRY_OK;
    }
    if (special) {
        char why[160];
        snprintf(why, sizeof why, "%s cannot be written as DECIMAL(%d,%d) (cast the column to text to keep it)",
                 special, c->precision, c->scale);
        return bad_value(d, col, row, why, err);
    }
    __int128 v;
    if (numeric_unscaled(sign == 0x4000, weight, p + 8, ndigits, c->precision, c->scale, &v) != 0) {
        char why[128];
        snprintf(why, sizeof why, "the value does not fit DECIMAL(%d,%d)", c->precision, c->scale);
        return bad_value(d, col, row, why, err);
    }
    ferry_tvector *vec = &d->vec[col];
    if (c->precision <= 18) {
        vec->i64[r] = (int64_t)v;
    } else {
        uint8_t *x = vec->fixed + 16 * r;
        unsigned __int128 u = (unsigned __int128)v;
        for (int k = 15; k >= 0; k--) {
            x[k] = (uint8_t)u;
            u >>= 8;
        }
    }
    return FERRY_OK;
}

static ferry_status want_len(ferry_pg_bin_decoder *d, size_t col, int64_t row, uint32_t len, uint32_t want,
                             ferry_error *err)
{
    if (len == want)
        return FERRY_OK;
    char why[96];
    snprintf(why, sizeof why, "a value of %u bytes where %u were expected", len, want);
    return bad_value(d, col, row, why, err);
}

/* Field col of row r (batch index) from p[0..len). */
static ferry_status put_value(ferry_pg_bin_decoder *d, size_t col, size_t r, const uint8_t *p, uint32_t len,
                              int64_t row, ferry_error *err)
{
    ferry_tvector *v = &d->vec[col];
    ferry_status st = FERRY_OK;
    switch (d->schema->oids[col]) {
    case OID_BOOL:
        if ((st = want_len(d, col, row, len, 1, err)) == FERRY_OK)
            v->i64[r] = p[0] != 0;
        return st;
    case OID_INT2:
        if ((st = want_len(d, col, row, len, 2, err)) == FERRY_OK)
            v->i64[r] = (int16_t)be16(p);
        return st;
    case OID_INT4:
        if ((st = want_len(d, col, row, len, 4, err)) == FERRY_OK)
            v->i64[r] = (int32_t)be32(p);
        return st;
    case OID_INT8:
    case OID_TIME:
        if ((st = want_len(d, col, row, len, 8, err)) == FERRY_OK)
            v->i64[r] = (int64_t)be64(p);
        return st;
    case OID_FLOAT4:
        if ((st = want_len(d, col, row, len, 4, err)) == FERRY_OK) {
            uint32_t u = be32(p);
            float f;
            memcpy(&f, &u, 4);
            v->f64[r] = f;
        }
        return st;
    case OID_FLOAT8:
        if ((st = want_len(d, col, row, len, 8, err)) == FERRY_OK) {
            uint64_t u = be64(p);
            memcpy(&v->f64[r], &u, 8);
        }
        return st;
    case OID_DATE:
        if ((st = want_len(d, col, row, len, 4, err)) == FERRY_OK) {
            int32_t days = (int32_t)be32(p);
            if (days == INT32_MAX || days == INT32_MIN)
                return bad_value(d, col, row, days > 0 ? "date 'infinity' has no parquet value"
                                                       : "date '-infinity' has no parquet value", err);
            v->i64[r] = (int64_t)days + PG_EPOCH_DAYS;
        }
        return st;
    case OID_TIMESTAMP:
    case OID_TIMESTAMPTZ:
        if ((st = want_len(d, col, row, len, 8, err)) == FERRY_OK) {
            int64_t us = (int64_t)be64(p);
            if (us == INT64_MAX || us == INT64_MIN)
                return bad_value(d, col, row, us > 0 ? "timestamp 'infinity' has no parquet value"
                                                     : "timestamp '-infinity' has no parquet value", err);
            if (__builtin_add_overflow(us, PG_EPOCH_US, &v->i64[r]))
                return bad_value(d, col, row, "the timestamp is outside parquet's range (int64 microseconds "
                                 "since 1970)", err);
        }
        return st;
    case OID_UUID:
        if ((st = want_len(d, col, row, len, 16, err)) == FERRY_OK)
            memcpy(v->fixed + 16 * r, p, 16);
        return st;
    case OID_NUMERIC:
        return put_numeric(d, col, r, p, len, row, err);
    case OID_JSONB:
        if (len < 1 || p[0] != 1)
            return bad_value(d, col, row, "a jsonb value of an unknown version", err);
        p++;
        len--;
        /* fall through */
    default: /* text, varchar, bpchar, name, bytea, json, and what the SELECT cast to text */
        if (ferry_buf_append(&d->var[col], p, len) != 0)
            return ferry_error_oom(err, FERRY_PG_SYSTEM, d->conn_id, NULL);
        return FERRY_OK;
    }
}

ferry_status ferry_pg_bin_decode(ferry_pg_bin_decoder *d, const uint8_t *buf, size_t len, size_t *used,
                                 ferry_error *err)
{
    size_t pos = 0;
    *used = 0;
    if (!d->header_done) {
        if (len < 19)
            return FERRY_OK;
        if (memcmp(buf, copy_signature, 11) != 0)
            return ferry_error_hook(err, FERRY_ERR_DATA, FERRY_PG_SYSTEM, d->conn_id,
                                    "COPY binary: the stream does not start with PGCOPY's signature");
        uint32_t flags = be32(buf + 11), ext = be32(buf + 15);
        if (flags & 0x10000)
            return ferry_error_hook(err, FERRY_ERR_DATA, FERRY_PG_SYSTEM, d->conn_id,
                                    "COPY binary: rows with OIDs are not read");
        if (ext > len - 19)
            return FERRY_OK;
        pos = 19 + ext;
        d->header_done = 1;
        *used = pos;
    }
    size_t n = d->schema->n;
    while (!d->ended && d->batch.n_rows < d->cap) {
        if (len - pos < 2)
            break;
        int16_t fields = (int16_t)be16(buf + pos);
        if (fields == -1) {
            d->ended = 1;
            pos += 2;
            *used = pos;
            break;
        }
        int64_t row = d->rows + 1;
        if (fields < 0 || (size_t)fields != n)
            return ferry_error_hook(err, FERRY_ERR_DATA, FERRY_PG_SYSTEM, d->conn_id,
                                    "COPY binary: row %lld has %d fields, not %zu", (long long)row, fields, n);
        /* the whole tuple must be here before anything of it is stored */
        size_t q = pos + 2;
        int whole = 1;
        for (size_t c = 0; c < n; c++) {
            if (len - q < 4) {
                whole = 0;
                break;
            }
            int32_t flen = (int32_t)be32(buf + q);
            q += 4;
            if (flen < -1)
                return bad_value(d, c, row, "a negative field length", err);
            if (flen > 0) {
                if ((size_t)flen > len - q) {
                    whole = 0;
                    break;
                }
                q += (size_t)flen;
            }
        }
        if (!whole)
            break;
        size_t r = d->batch.n_rows;
        q = pos + 2;
        for (size_t c = 0; c < n; c++) {
            int32_t flen = (int32_t)be32(buf + q);
            q += 4;
            ferry_tvector *v = &d->vec[c];
            size_t before = d->var[c].len;
            if (flen == -1) {
                v->nulls[r] = 1;
            } else {
                v->nulls[r] = 0;
                ferry_status st = put_value(d, c, r, buf + q, (uint32_t)flen, row, err);
                if (st != FERRY_OK)
                    return st;
                q += (size_t)flen;
            }
            if (v->off) {
                if (d->var[c].len > UINT32_MAX)
                    return bad_value(d, c, row, "a batch's text over 4 GiB", err);
                v->off[r] = (uint32_t)before;
                v->off[r + 1] = (uint32_t)d->var[c].len;
                v->data = d->var[c].data ? d->var[c].data : (char *)"";
            }
        }
        pos = q;
        *used = pos;
        d->batch.n_rows++;
        d->rows++;
    }
    if (d->ended && pos < len)
        return ferry_error_hook(err, FERRY_ERR_DATA, FERRY_PG_SYSTEM, d->conn_id,
                                "COPY binary: %zu bytes after the end of the rows", len - pos);
    return FERRY_OK;
}

/* ---- the typed source ----------------------------------------------------------- */

#define TYPED_BATCH_ROWS 4096
#define TYPED_READ_BYTES (1024 * 1024)

typedef struct pg_typed {
    ferry_typed_source base;     /* first member */
    ferry_source *bytes;         /* owned: the binary COPY as a byte stream (pg_source.c) */
    ferry_pg_bin_decoder dec;
    ferry_buf in;                /* owned: bytes read and not yet decoded from in.data + off */
    size_t off;
    int eof;
    char *conn_id;               /* owned */
} pg_typed;

static ferry_status typed_next(ferry_typed_source *s, const ferry_tbatch **out, ferry_error *err)
{
    pg_typed *t = (pg_typed *)s;
    ferry_pg_bin_decoder_reset(&t->dec);
    *out = &t->dec.batch;
    for (;;) {
        size_t used = 0;
        ferry_status st = ferry_pg_bin_decode(&t->dec, (const uint8_t *)t->in.data + t->off, t->in.len - t->off,
                                              &used, err);
        if (st != FERRY_OK)
            return st;
        t->off += used;
        if (t->dec.batch.n_rows == t->dec.cap || t->dec.ended)
            break;
        if (t->eof) {
            if (t->in.len > t->off || !t->dec.ended)
                return ferry_error_hook(err, FERRY_ERR_DATA, FERRY_PG_SYSTEM, t->conn_id,
                                        "COPY binary: the stream ended inside a row");
            break;
        }
        /* keep the partial tuple, read more after it */
        if (t->off > 0) {
            memmove(t->in.data, t->in.data + t->off, t->in.len - t->off);
            t->in.len -= t->off;
            t->off = 0;
        }
        if (ferry_buf_reserve(&t->in, TYPED_READ_BYTES) != 0)
            return ferry_error_oom(err, FERRY_PG_SYSTEM, t->conn_id, NULL);
        size_t n = 0;
        st = t->bytes->ops->read(t->bytes, t->in.data + t->in.len, t->in.cap - t->in.len - 1, &n, err);
        if (st != FERRY_OK)
            return st;
        if (n == 0)
            t->eof = 1;
        t->in.len += n;
        t->base.bytes += (int64_t)n;
    }
    t->base.rows = t->dec.rows;
    return FERRY_OK;
}

static ferry_status typed_finish(ferry_typed_source *s, ferry_error *err)
{
    pg_typed *t = (pg_typed *)s;
    /* drain to the end of the COPY so its final result is judged */
    while (!t->eof) {
        if (ferry_buf_reserve(&t->in, TYPED_READ_BYTES) != 0)
            return ferry_error_oom(err, FERRY_PG_SYSTEM, t->conn_id, NULL);
        size_t n = 0;
        ferry_status st = t->bytes->ops->read(t->bytes, t->in.data, t->in.cap - 1, &n, err);
        if (st != FERRY_OK)
            return st;
        if (n == 0)
            t->eof = 1;
        else
            return ferry_error_hook(err, FERRY_ERR_DATA, FERRY_PG_SYSTEM, t->conn_id,
                                    "COPY binary: bytes after the end of the rows");
    }
    return t->bytes->ops->finish ? t->bytes->ops->finish(t->bytes, err) : FERRY_OK;
}

static void typed_free(ferry_typed_source *s)
{
    pg_typed *t = (pg_typed *)s;
    if (!t)
        return;
    if (t->dec.vec)
        ferry_pg_bin_decoder_free(&t->dec);
    if (t->bytes)
        t->bytes->ops->free(t->bytes);
    ferry_buf_release(&t->in);
    free(t->conn_id);
    free(t);
}

static const ferry_typed_source_ops typed_ops = {
    .name = "postgres-binary",
    .next_batch = typed_next,
    .finish = typed_finish,
    .free = typed_free,
};

ferry_status ferry_pg_open_typed_source(const ferry_endpoint *ep, const ferry_copy_options *o,
                                        ferry_typed_source **out, ferry_error *err)
{
    *out = NULL;
    const char *id = ferry_endpoint_conn_id(ep);
    ferry_copy_options bo = *o;
    bo.format = FERRY_FORMAT_PARQUET; /* pg_source.c: COPY (FORMAT binary) with the typed columns */
    pg_typed *t = calloc(1, sizeof *t);
    if (!t || !(t->conn_id = strdup(id ? id : ""))) {
        free(t);
        return ferry_error_oom(err, FERRY_PG_SYSTEM, id, NULL);
    }
    t->base.ops = &typed_ops;
    ferry_status st = ferry_pg_open_source(ep, &bo, &t->bytes, err);
    const ferry_pg_bin_schema *schema = st == FERRY_OK ? ferry_pg_source_bin_schema(t->bytes) : NULL;
    if (st == FERRY_OK && !schema)
        st = ferry_error_hook(err, FERRY_ERR_INTERNAL, FERRY_PG_SYSTEM, id, "the binary COPY has no schema");
    if (st == FERRY_OK)
        st = ferry_pg_bin_decoder_init(&t->dec, schema, TYPED_BATCH_ROWS, t->conn_id, err);
    if (st != FERRY_OK) {
        typed_free(&t->base);
        return st;
    }
    t->base.columns = schema->cols;
    t->base.n_columns = schema->n;
    *out = &t->base;
    return FERRY_OK;
}
