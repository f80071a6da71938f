/*
 * test_pg_binary.c - the decoder of Postgres's COPY (FORMAT binary) stream
 * (hooks/postgres/pg_binary.c) on hand-made buffers: the header, every
 * decoded type (bool, int2/4/8, float4/8, numeric into DECIMAL(p,s) and as
 * exact text, text, bytea, date, time, timestamp(tz) moved to 1970, uuid,
 * json/jsonb), NULLs, a tuple cut across reads, a full batch, and the
 * errors: a bad signature, a wrong field count, NaN and infinity where
 * Parquet has no value (naming column and row), bytes after the trailer; and
 * the type mapping from OIDs and typmods.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "hooks/postgres/pg_binary.h"

typedef struct out {
    unsigned char b[4096];
    size_t n;
} out;

static void put(out *o, const void *p, size_t n)
{
    memcpy(o->b + o->n, p, n);
    o->n += n;
}
static void u16(out *o, unsigned v)
{
    unsigned char x[2] = {(unsigned char)(v >> 8), (unsigned char)v};
    put(o, x, 2);
}
static void u32(out *o, uint32_t v)
{
    unsigned char x[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16), (unsigned char)(v >> 8),
                          (unsigned char)v};
    put(o, x, 4);
}
static void u64(out *o, uint64_t v)
{
    u32(o, (uint32_t)(v >> 32));
    u32(o, (uint32_t)v);
}
static void header(out *o)
{
    put(o, "PGCOPY\n\377\r\n\0", 11);
    u32(o, 0);
    u32(o, 0);
}
static void field(out *o, const void *p, uint32_t n)
{
    u32(o, n);
    put(o, p, n);
}
static void null_field(out *o)
{
    u32(o, 0xffffffffu);
}
/* numeric: ndigits, weight, sign, dscale, digits */
static void numeric(out *o, int weight, unsigned sign, int dscale, const int *digits, int nd)
{
    u32(o, 8 + 2 * (uint32_t)nd);
    u16(o, (unsigned)nd);
    u16(o, (unsigned)(weight & 0xffff));
    u16(o, sign);
    u16(o, (unsigned)dscale);
    for (int i = 0; i < nd; i++)
        u16(o, (unsigned)digits[i]);
}

/* A schema from (oid, typmod) pairs; names c1, c2, ... */
typedef struct schema_holder {
    ferry_pg_bin_schema s;
    ferry_tcolumn cols[16];
    unsigned oids[16];
    char names[16][24];
} schema_holder;

static void make_schema(schema_holder *h, const unsigned *oids, const int *mods, size_t n)
{
    memset(h, 0, sizeof *h);
    for (size_t i = 0; i < n; i++) {
        int cast = 0;
        ferry_pg_bin_type(oids[i], mods[i], &h->cols[i], &cast);
        h->oids[i] = cast ? 25 : oids[i];
        snprintf(h->names[i], sizeof h->names[i], "c%zu", i + 1);
        h->cols[i].name = h->names[i];
    }
    h->s.n = n;
    h->s.cols = h->cols;
    h->s.oids = h->oids;
}

#define NUMERIC_MOD(p, s) ((((p) << 16) | (s)) + 4)

static const char *var_at(const ferry_tvector *v, size_t r, size_t *len)
{
    *len = v->off[r + 1] - v->off[r];
    return v->data + v->off[r];
}

static void test_types(void)
{
    unsigned oids[] = {16, 21, 23, 20, 700, 701, 1700, 1700, 1700, 25, 17, 1082, 1083, 1114, 1184, 2950};
    int mods[] = {-1, -1, -1, -1, -1, -1, NUMERIC_MOD(38, 10), NUMERIC_MOD(5, 2), -1, -1, -1, -1, -1, -1, -1, -1};
    schema_holder h;
    make_schema(&h, oids, mods, 16);
    CHECK(h.cols[6].type == FERRY_T_DECIMAL && h.cols[6].precision == 38 && h.cols[6].scale == 10);
    CHECK(h.cols[7].type == FERRY_T_DECIMAL && h.cols[7].precision == 5 && h.cols[7].scale == 2);
    CHECK(h.cols[8].type == FERRY_T_DECIMAL_TEXT);
    CHECK(h.cols[14].type == FERRY_T_TIMESTAMP_US && h.cols[14].utc == 1);
    CHECK(h.cols[13].utc == 0);

    out o = {{0}, 0};
    header(&o);
    u16(&o, 16);
    field(&o, "\1", 1);
    field(&o, "\xff\xfe", 2);                       /* -2 */
    field(&o, "\x80\0\0\0", 4);                     /* INT32_MIN */
    field(&o, "\x7f\xff\xff\xff\xff\xff\xff\xff", 8); /* INT64_MAX */
    field(&o, "\x3f\xc0\0\0", 4);                   /* 1.5f */
    field(&o, "\xc0\x04\0\0\0\0\0\0", 8);           /* -2.5 */
    const int d1[] = {1234, 5000};
    numeric(&o, 0, 0x4000, 1, d1, 2);               /* -1234.5 */
    const int d2[] = {999, 9900};
    numeric(&o, 0, 0, 2, d2, 2);                    /* 999.99 */
    const int d3[] = {1000};
    numeric(&o, -6, 0, 21, d3, 1);                  /* 0.000000000000000000001 */
    field(&o, "h\xc3\xa9", 3);
    field(&o, "\0\xff", 2);
    field(&o, "\xff\xff\xff\xff", 4);               /* 1999-12-31 */
    u32(&o, 8);
    u64(&o, 1000001);                               /* 00:00:01.000001 */
    u32(&o, 8);
    u64(&o, 0);                                     /* 2000-01-01 */
    u32(&o, 8);
    u64(&o, (uint64_t)-946684800000000LL);          /* 1970-01-01 */
    field(&o, "0123456789abcdef", 16);
    u16(&o, 16);
    for (int i = 0; i < 16; i++)
        null_field(&o);
    u16(&o, 0xffff);

    ferry_pg_bin_decoder d;
    ferry_error err;
    ferry_error_clear(&err);
    CHECK(ferry_pg_bin_decoder_init(&d, &h.s, 8, "t", &err) == FERRY_OK);
    size_t used = 0;
    CHECK(ferry_pg_bin_decode(&d, o.b, o.n, &used, &err) == FERRY_OK);
    CHECK_INTEQ(used, o.n);
    CHECK(d.ended);
    CHECK_INTEQ(d.batch.n_rows, 2);
    const ferry_tvector *v = d.batch.cols;
    CHECK_INTEQ(v[0].i64[0], 1);
    CHECK_INTEQ(v[1].i64[0], -2);
    CHECK_INTEQ(v[2].i64[0], INT32_MIN);
    CHECK(v[3].i64[0] == INT64_MAX);
    CHECK(v[4].f64[0] == 1.5);
    CHECK(v[5].f64[0] == -2.5);
    /* -1234.5 as DECIMAL(38,10): -12345000000000, 16 bytes big-endian */
    unsigned char want[16];
    unsigned __int128 x = (unsigned __int128)(-(__int128)12345000000000LL);
    for (int k = 15; k >= 0; k--, x >>= 8)
        want[k] = (unsigned char)x;
    CHECK(memcmp(v[6].fixed, want, 16) == 0);
    CHECK_INTEQ(v[7].i64[0], 99999);
    size_t len;
    const char *s = var_at(&v[8], 0, &len);
    CHECK(len == 23 && memcmp(s, "0.000000000000000000001", 23) == 0);
    s = var_at(&v[9], 0, &len);
    CHECK(len == 3 && memcmp(s, "h\xc3\xa9", 3) == 0);
    s = var_at(&v[10], 0, &len);
    CHECK(len == 2 && s[0] == 0 && (unsigned char)s[1] == 0xff);
    CHECK_INTEQ(v[11].i64[0], 10956);
    CHECK_INTEQ(v[12].i64[0], 1000001);
    CHECK_INTEQ(v[13].i64[0], 946684800000000LL);
    CHECK_INTEQ(v[14].i64[0], 0);
    CHECK(memcmp(v[15].fixed, "0123456789abcdef", 16) == 0);
    for (int c = 0; c < 16; c++) {
        CHECK(v[c].nulls[0] == 0);
        CHECK(v[c].nulls[1] == 1);
    }
    CHECK_INTEQ(v[9].off[2] - v[9].off[1], 0); /* a NULL's range is empty */
    ferry_pg_bin_decoder_free(&d);
}

static void test_numeric_text(void)
{
    unsigned oids[] = {1700};
    int mods[] = {-1};
    schema_holder h;
    make_schema(&h, oids, mods, 1);
    out o = {{0}, 0};
    header(&o);
    const int a[] = {12, 3456, 7890, 1200};             /* 123456.789012 with dscale 6 */
    const int b[] = {1};                                /* -10000 (weight 1) */
    struct { int w; unsigned sign; int dscale; const int *d; int nd; const char *want; } cases[] = {
        {1, 0, 6, a, 4, "123456.789012"},
        {1, 0x4000, 0, b, 1, "-10000"},
        {0, 0, 3, NULL, 0, "0.000"},
        {0, 0xC000, 0, NULL, 0, "NaN"},
        {0, 0xD000, 0, NULL, 0, "Infinity"},
        {0, 0xF000, 0, NULL, 0, "-Infinity"},
    };
    for (size_t i = 0; i < 6; i++) {
        u16(&o, 1);
        numeric(&o, cases[i].w, cases[i].sign, cases[i].dscale, cases[i].d, cases[i].nd);
    }
    u16(&o, 0xffff);
    ferry_pg_bin_decoder d;
    ferry_error err;
    ferry_error_clear(&err);
    CHECK(ferry_pg_bin_decoder_init(&d, &h.s, 16, "t", &err) == FERRY_OK);
    size_t used = 0;
    CHECK(ferry_pg_bin_decode(&d, o.b, o.n, &used, &err) == FERRY_OK);
    CHECK_INTEQ(d.batch.n_rows, 6);
    for (size_t i = 0; i < 6 && i < d.batch.n_rows; i++) {
        size_t len;
        const char *s = var_at(&d.batch.cols[0], i, &len);
        char got[64];
        snprintf(got, sizeof got, "%.*s", (int)len, s);
        CHECK_STREQ(got, cases[i].want);
    }
    ferry_pg_bin_decoder_free(&d);
}

static void test_partial_and_batches(void)
{
    unsigned oids[] = {23, 25};
    int mods[] = {-1, -1};
    schema_holder h;
    make_schema(&h, oids, mods, 2);
    out o = {{0}, 0};
    header(&o);
    for (int i = 0; i < 5; i++) {
        u16(&o, 2);
        u32(&o, 4);
        u32(&o, (uint32_t)i);
        field(&o, "row", 3);
    }
    u16(&o, 0xffff);
    ferry_pg_bin_decoder d;
    ferry_error err;
    ferry_error_clear(&err);
    CHECK(ferry_pg_bin_decoder_init(&d, &h.s, 2, "t", &err) == FERRY_OK);
    /* fed a byte at a time more each call, as reads may cut anywhere */
    size_t pos = 0, avail = 0, rows = 0;
    int guard = 0;
    while (!d.ended && guard++ < 10000) {
        if (avail < o.n)
            avail++;
        size_t used = 0;
        ferry_pg_bin_decoder_reset(&d);
        CHECK(ferry_pg_bin_decode(&d, o.b + pos, avail - pos, &used, &err) == FERRY_OK);
        CHECK(d.batch.n_rows <= 2);
        for (size_t r = 0; r < d.batch.n_rows; r++)
            CHECK_INTEQ(d.batch.cols[0].i64[r], (int64_t)(rows + r));
        rows += d.batch.n_rows;
        pos += used;
    }
    CHECK_INTEQ(rows, 5);
    CHECK_INTEQ(pos, o.n);
    CHECK_INTEQ(d.rows, 5);
    ferry_pg_bin_decoder_free(&d);
}

static ferry_status decode_all(const ferry_pg_bin_schema *s, const out *o, ferry_error *err)
{
    ferry_pg_bin_decoder d;
    ferry_status st = ferry_pg_bin_decoder_init(&d, s, 16, "t", err);
    size_t used = 0;
    if (st == FERRY_OK)
        st = ferry_pg_bin_decode(&d, o->b, o->n, &used, err);
    ferry_pg_bin_decoder_free(&d);
    return st;
}

static void test_errors(void)
{
    unsigned oids[] = {1700, 1114, 1082, 3802};
    int mods[] = {NUMERIC_MOD(10, 2), -1, -1, -1};
    schema_holder h;
    make_schema(&h, oids, mods, 4);
    ferry_error err;

    out o = {{0}, 0};
    put(&o, "PGCOPY\n\377\r\n\1", 11);
    u32(&o, 0);
    u32(&o, 0);
    ferry_error_clear(&err);
    CHECK(decode_all(&h.s, &o, &err) == FERRY_ERR_DATA);

    o.n = 0;
    header(&o);
    u16(&o, 3);
    ferry_error_clear(&err);
    CHECK(decode_all(&h.s, &o, &err) == FERRY_ERR_DATA);
    CHECK(strstr(err.msg, "row 1 has 3 fields, not 4") != NULL);

    o.n = 0; /* NaN in a DECIMAL, row 2 */
    header(&o);
    const int one[] = {1};
    u16(&o, 4);
    numeric(&o, 0, 0, 0, one, 1);
    null_field(&o);
    null_field(&o);
    null_field(&o);
    u16(&o, 4);
    numeric(&o, 0, 0xC000, 0, NULL, 0);
    null_field(&o);
    null_field(&o);
    null_field(&o);
    ferry_error_clear(&err);
    CHECK(decode_all(&h.s, &o, &err) == FERRY_ERR_DATA);
    CHECK(strstr(err.msg, "column c1, row 2: NaN cannot be written as DECIMAL(10,2)") != NULL);

    o.n = 0; /* more fraction digits than the scale: inexact */
    header(&o);
    const int frac[] = {1, 1234};
    u16(&o, 4);
    numeric(&o, 0, 0, 4, frac, 2);
    null_field(&o);
    null_field(&o);
    null_field(&o);
    ferry_error_clear(&err);
    CHECK(decode_all(&h.s, &o, &err) == FERRY_ERR_DATA);
    CHECK(strstr(err.msg, "does not fit DECIMAL(10,2)") != NULL);

    o.n = 0; /* timestamp infinity, date -infinity, jsonb of version 2 */
    header(&o);
    u16(&o, 4);
    null_field(&o);
    u32(&o, 8);
    u64(&o, (uint64_t)INT64_MAX);
    null_field(&o);
    null_field(&o);
    ferry_error_clear(&err);
    CHECK(decode_all(&h.s, &o, &err) == FERRY_ERR_DATA);
    CHECK(strstr(err.msg, "column c2, row 1: timestamp 'infinity'") != NULL);
    o.n = 0;
    header(&o);
    u16(&o, 4);
    null_field(&o);
    null_field(&o);
    field(&o, "\x80\0\0\0", 4);
    null_field(&o);
    ferry_error_clear(&err);
    CHECK(decode_all(&h.s, &o, &err) == FERRY_ERR_DATA);
    CHECK(strstr(err.msg, "column c3, row 1: date '-infinity'") != NULL);
    o.n = 0;
    header(&o);
    u16(&o, 4);
    null_field(&o);
    null_field(&o);
    null_field(&o);
    field(&o, "\2{}", 3);
    ferry_error_clear(&err);
    CHECK(decode_all(&h.s, &o, &err) == FERRY_ERR_DATA);

    o.n = 0; /* a wrong length for a fixed-size type */
    header(&o);
    u16(&o, 4);
    null_field(&o);
    field(&o, "1234", 4);
    null_field(&o);
    null_field(&o);
    ferry_error_clear(&err);
    CHECK(decode_all(&h.s, &o, &err) == FERRY_ERR_DATA);

    o.n = 0; /* bytes after the trailer */
    header(&o);
    u16(&o, 0xffff);
    put(&o, "x", 1);
    ferry_error_clear(&err);
    CHECK(decode_all(&h.s, &o, &err) == FERRY_ERR_DATA);
}

static void test_type_mapping(void)
{
    ferry_tcolumn c;
    int cast;
    ferry_pg_bin_type(1186, -1, &c, &cast); /* interval */
    CHECK(c.type == FERRY_T_INTERVAL && cast == 1);
    ferry_pg_bin_type(1007, -1, &c, &cast); /* int4[] */
    CHECK(c.type == FERRY_T_TEXT && cast == 1);
    ferry_pg_bin_type(3802, -1, &c, &cast); /* jsonb */
    CHECK(c.type == FERRY_T_JSON && cast == 0);
    ferry_pg_bin_type(1700, NUMERIC_MOD(39, 2), &c, &cast); /* beyond DECIMAL(38): exact text */
    CHECK(c.type == FERRY_T_DECIMAL_TEXT);
    ferry_pg_bin_type(1700, (int)((((unsigned)5 << 16) | (0x7ff & (unsigned)-2)) + 4), &c, &cast); /* numeric(5,-2) */
    CHECK(c.type == FERRY_T_DECIMAL_TEXT);
    ferry_pg_bin_type(1043, 14, &c, &cast);
    CHECK(c.type == FERRY_T_STRING && cast == 0);
}

int main(void)
{
    RUN(test_types);
    RUN(test_numeric_text);
    RUN(test_partial_and_batches);
    RUN(test_errors);
    RUN(test_type_mapping);
    return check_summary();
}
