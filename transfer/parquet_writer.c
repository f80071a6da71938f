/*
 * parquet_writer.c - ferry's own streaming Parquet writer (apache/parquet-format,
 * parquet.thrift): "PAR1", then per row group one column chunk per column,
 * each an optional dictionary page and a run of data pages v1 (definition
 * levels in the RLE/bit-packed hybrid, max level 1: every column is
 * OPTIONAL; values RLE_DICTIONARY or PLAIN), then the
 * FileMetaData footer in the Thrift compact protocol, its length and "PAR1".
 * Pages are encoded into one reused buffer and compressed (snappy, zstd,
 * gzip or none) as they fill; a row group's chunks are buffered compressed
 * and written when the row group reaches its size; statistics (min_value,
 * max_value, null_count) per page and per chunk follow each logical type's
 * sort order (signed for integers, decimals, dates and times; unsigned
 * bytewise for strings, bytes, JSON and UUID; floats without NaN, with -0.0
 * as the min and +0.0 as the max of a zero).  Nothing is allocated per row.
 *
 * Dictionary encoding, as parquet-mr and Arrow do it: every column but
 * BOOLEAN starts a column chunk dictionary-encoded.  Each distinct value
 * (its PLAIN bytes) gets an entry in the column's dictionary, found through
 * an open-addressing hash table; a data page holds the entry numbers as one
 * bit-width byte and the RLE/bit-packed hybrid.  When the first page with
 * values shows that dictionary + indices are not smaller than PLAIN (a
 * high-cardinality column), or when an entry would take the dictionary past
 * its limit (dict_bytes, 1 MiB), the rest of the chunk is PLAIN; pages
 * already written keep their indices.  The dictionary page (PLAIN entries)
 * is written before the chunk's data pages when the row group is written,
 * which is possible because the chunk is buffered anyway.  The dictionary,
 * the table and the index array belong to the column and are reused by every
 * row group.
 */
#include <math.h>
#include <snappy-c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "core/util.h"
#include "ferry/version.h"
#include "transfer/parquet_writer.h"
#include "transfer/thrift_compact.h"

#ifndef FERRY_BUILD_ID
#define FERRY_BUILD_ID "unknown"
#endif

/* parquet.thrift enums */
enum { PT_BOOLEAN = 0, PT_INT32 = 1, PT_INT64 = 2, PT_FLOAT = 4, PT_DOUBLE = 5, PT_BYTE_ARRAY = 6, PT_FLBA = 7 };
enum { CT_UTF8 = 0, CT_DECIMAL = 5, CT_DATE = 6, CT_TIMESTAMP_MICROS = 10, CT_UINT_8 = 11, CT_UINT_16 = 12,
       CT_UINT_32 = 13, CT_UINT_64 = 14, CT_INT_8 = 15, CT_INT_16 = 16, CT_JSON = 19, CT_NONE = -1 };
enum { ENC_PLAIN = 0, ENC_RLE = 3, ENC_RLE_DICTIONARY = 8 };
enum { CODEC_UNCOMPRESSED = 0, CODEC_SNAPPY = 1, CODEC_GZIP = 2, CODEC_ZSTD = 6 };
enum { PAGE_DATA = 0, PAGE_DICTIONARY = 2 };
enum { ORDER_SIGNED, ORDER_UNSIGNED, ORDER_FLOAT, ORDER_BOOL };

#define STATS_MAX_BYTES 4096  /* longer byte-array min/max are not kept (no stats then) */

typedef struct pq_stats {
    int has;              /* a non-null value was seen */
    int dropped;          /* a byte-array value too long to keep: no min/max */
    int64_t imin, imax;
    double fmin, fmax;
    uint8_t xmin[16], xmax[16];
    ferry_buf bmin, bmax;
    int64_t nulls;
} pq_stats;

typedef struct pq_chunk_meta {
    int64_t offset;          /* of the chunk's first page (the dictionary page when there is one) */
    int64_t data_offset;     /* of its first data page */
    int64_t dict_offset;     /* of its dictionary page; -1: none */
    int64_t dict_pages, plain_pages; /* data pages of each encoding */
    int64_t num_values, uncompressed, compressed;
    int has, dropped;
    int64_t nulls;
    char *min, *max;         /* owned: PLAIN bytes of the min/max */
    size_t min_len, max_len;
} pq_chunk_meta;

typedef struct pq_col {
    char *name;              /* owned */
    ferry_ltype type;
    int precision, scale, utc;
    int ptype, type_length, order;
    ferry_tstorage storage;
    /* the open page */
    uint8_t *defs;           /* owned: one level per value of the page */
    size_t defs_cap, page_values;
    ferry_buf values;        /* PLAIN bytes of the page's non-null values */
    size_t bool_bits;
    pq_stats page;
    /* the row group's chunk */
    ferry_buf chunk;         /* page headers and compressed pages */
    int64_t chunk_values, chunk_uncompressed;
    pq_stats stats;
    /* the chunk's dictionary: owned, reused by every row group */
    int dict_ok;             /* the column may be dictionary-encoded */
    int fallback;            /* the rest of the chunk is PLAIN */
    int checked;             /* the first page with values was weighed against PLAIN */
    int64_t dict_pages, plain_pages;
    int width;               /* PLAIN bytes of an entry; 0: BYTE_ARRAY (4-byte length + bytes) */
    ferry_buf dict;          /* the entries' PLAIN bytes: the dictionary page's body */
    uint32_t *dict_off;      /* BYTE_ARRAY: where entry i starts in dict */
    size_t dict_n, dict_off_cap;
    uint32_t *slots;         /* hash table: entry + 1, 0 = free; slots_cap a power of 2 */
    size_t slots_cap;
    uint32_t *idx;           /* the open page's entry numbers */
    size_t idx_n, idx_cap;
    size_t page_plain;       /* PLAIN bytes of the open page's values */
} pq_col;

typedef struct pq_row_group {
    int64_t rows, total_uncompressed, total_compressed, offset;
    pq_chunk_meta *cols;     /* owned: n_cols of them */
} pq_row_group;

struct ferry_parquet_writer {
    pq_col *cols;
    size_t n_cols;
    ferry_writer *next;      /* borrowed */
    int codec;               /* CODEC_* */
    int level;
    size_t row_group_bytes, page_bytes, dict_bytes;
    char *created_by;
    int64_t pos;             /* bytes written to next */
    int64_t rows, rg_rows;
    pq_row_group *rgs;
    size_t n_rgs, cap_rgs;
    ferry_buf body, packed, header; /* reused: a page's uncompressed body, compressed, its header */
    ZSTD_CCtx *zc;
    z_stream zs;
    int zs_ready;
    int aborted, committed;
};

/* ---- the RLE/bit-packed hybrid ------------------------------------------ */

typedef struct vals {
    const uint32_t *w;
    const uint8_t *b;
} vals;

static inline uint32_t at(vals v, size_t i)
{
    return v.w ? v.w[i] : v.b[i];
}

static void rle_run(ferry_buf *out, uint32_t value, size_t count, int bw)
{
    ferry_tc_varint(out, (uint64_t)count << 1);
    for (int k = 0; k < (bw + 7) / 8; k++) {
        unsigned char c = (unsigned char)(value >> (8 * k));
        ferry_buf_append(out, &c, 1);
    }
}

/* count values from start as whole groups of 8 (values at or past n are 0). */
static void bit_pack(ferry_buf *out, vals v, size_t start, size_t count, size_t n, int bw)
{
    size_t groups = (count + 7) / 8;
    ferry_tc_varint(out, ((uint64_t)groups << 1) | 1);
    uint64_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < groups * 8; i++) {
        uint64_t x = start + i < n ? at(v, start + i) : 0;
        acc |= x << bits;
        bits += bw;
        while (bits >= 8) {
            unsigned char c = (unsigned char)acc;
            ferry_buf_append(out, &c, 1);
            acc >>= 8;
            bits -= 8;
        }
    }
}

/* Runs of 8 or more equal values are RLE runs; what lies between is
 * bit-packed, padded to whole groups of 8 with values taken from the next
 * run (so the groups stay aligned) or zeros at the end. */
static void rle_hybrid(ferry_buf *out, vals v, size_t n, int bw)
{
    size_t i = 0, ps = 0;
    while (i < n) {
        size_t r = 1;
        while (i + r < n && at(v, i + r) == at(v, i))
            r++;
        if (r < 8) {
            i += r;
            continue;
        }
        size_t plen = i - ps;
        if (plen > 0) {
            size_t pad = (8 - plen % 8) % 8;
            bit_pack(out, v, ps, plen + pad, n, bw);
            i += pad;
            r -= pad;
        }
        if (r >= 8) {
            rle_run(out, at(v, i), r, bw);
            i += r;
            ps = i;
        } else {
            ps = i;
            i += r;
        }
    }
    if (n > ps)
        bit_pack(out, v, ps, n - ps, n, bw);
}

void ferry_parquet_rle_hybrid(ferry_buf *out, const uint32_t *v, size_t n, int bit_width)
{
    vals x = {v, NULL};
    rle_hybrid(out, x, n, bit_width);
}

void ferry_parquet_rle_hybrid_u8(ferry_buf *out, const uint8_t *v, size_t n, int bit_width)
{
    vals x = {NULL, v};
    rle_hybrid(out, x, n, bit_width);
}

int ferry_parquet_decimal_bytes(int precision)
{
    /* the fewest bytes whose signed range holds 10^precision - 1 */
    return (int)ceil(((double)precision * 3.321928094887362 + 1.0) / 8.0);
}

int ferry_parquet_dict_bit_width(size_t n)
{
    int bw = 0;
    while (bw < 32 && n > 1 && ((size_t)1 << bw) < n)
        bw++;
    return n == 0 ? 0 : bw ? bw : 1;
}

/* ---- types ---------------------------------------------------------------- */

static void physical_type(pq_col *c)
{
    c->type_length = 0;
    c->order = ORDER_SIGNED;
    switch (c->type) {
    case FERRY_T_BOOL: c->ptype = PT_BOOLEAN; c->order = ORDER_BOOL; break;
    case FERRY_T_INT8: case FERRY_T_INT16: case FERRY_T_INT32: case FERRY_T_DATE: c->ptype = PT_INT32; break;
    case FERRY_T_UINT8: case FERRY_T_UINT16: case FERRY_T_UINT32:
        c->ptype = PT_INT32; c->order = ORDER_UNSIGNED; break;
    case FERRY_T_UINT64: c->ptype = PT_INT64; c->order = ORDER_UNSIGNED; break;
    case FERRY_T_INT64: case FERRY_T_TIME_US: case FERRY_T_TIMESTAMP_US: c->ptype = PT_INT64; break;
    case FERRY_T_FLOAT: c->ptype = PT_FLOAT; c->order = ORDER_FLOAT; break;
    case FERRY_T_DOUBLE: c->ptype = PT_DOUBLE; c->order = ORDER_FLOAT; break;
    case FERRY_T_DECIMAL:
        if (c->precision <= 9)
            c->ptype = PT_INT32;
        else if (c->precision <= 18)
            c->ptype = PT_INT64;
        else {
            c->ptype = PT_FLBA;
            c->type_length = ferry_parquet_decimal_bytes(c->precision);
        }
        break;
    case FERRY_T_UUID: c->ptype = PT_FLBA; c->type_length = 16; c->order = ORDER_UNSIGNED; break;
    default: c->ptype = PT_BYTE_ARRAY; c->order = ORDER_UNSIGNED; break;
    }
}

static int converted_type(const pq_col *c)
{
    switch (c->type) {
    case FERRY_T_STRING: case FERRY_T_DECIMAL_TEXT: case FERRY_T_INTERVAL: case FERRY_T_TEXT: return CT_UTF8;
    case FERRY_T_JSON: return CT_JSON;
    case FERRY_T_DECIMAL: return CT_DECIMAL;
    case FERRY_T_DATE: return CT_DATE;
    case FERRY_T_TIMESTAMP_US: return c->utc ? CT_TIMESTAMP_MICROS : CT_NONE;
    case FERRY_T_INT8: return CT_INT_8;
    case FERRY_T_INT16: return CT_INT_16;
    case FERRY_T_UINT8: return CT_UINT_8;
    case FERRY_T_UINT16: return CT_UINT_16;
    case FERRY_T_UINT32: return CT_UINT_32;
    case FERRY_T_UINT64: return CT_UINT_64;
    default: return CT_NONE;
    }
}

/* SchemaElement.logicalType (a union): nothing for plain INT32/INT64/FLOAT/
 * DOUBLE/BOOLEAN/BYTES. */
static void logical_type(ferry_tc *tc, const pq_col *c)
{
    int width = 0, is_signed = 1;
    switch (c->type) {
    case FERRY_T_INT8: width = 8; break;
    case FERRY_T_INT16: width = 16; break;
    case FERRY_T_UINT8: width = 8; is_signed = 0; break;
    case FERRY_T_UINT16: width = 16; is_signed = 0; break;
    case FERRY_T_UINT32: width = 32; is_signed = 0; break;
    case FERRY_T_UINT64: width = 64; is_signed = 0; break;
    default: break;
    }
    switch (c->type) {
    case FERRY_T_STRING: case FERRY_T_DECIMAL_TEXT: case FERRY_T_INTERVAL: case FERRY_T_TEXT:
        ferry_tc_struct_begin(tc, 10);
        ferry_tc_struct_begin(tc, 1); /* STRING */
        ferry_tc_struct_end(tc);
        ferry_tc_struct_end(tc);
        return;
    case FERRY_T_JSON:
        ferry_tc_struct_begin(tc, 10);
        ferry_tc_struct_begin(tc, 12);
        ferry_tc_struct_end(tc);
        ferry_tc_struct_end(tc);
        return;
    case FERRY_T_UUID:
        ferry_tc_struct_begin(tc, 10);
        ferry_tc_struct_begin(tc, 14);
        ferry_tc_struct_end(tc);
        ferry_tc_struct_end(tc);
        return;
    case FERRY_T_DATE:
        ferry_tc_struct_begin(tc, 10);
        ferry_tc_struct_begin(tc, 6);
        ferry_tc_struct_end(tc);
        ferry_tc_struct_end(tc);
        return;
    case FERRY_T_DECIMAL:
        ferry_tc_struct_begin(tc, 10);
        ferry_tc_struct_begin(tc, 5);
        ferry_tc_i32(tc, 1, c->scale);
        ferry_tc_i32(tc, 2, c->precision);
        ferry_tc_struct_end(tc);
        ferry_tc_struct_end(tc);
        return;
    case FERRY_T_TIME_US:
    case FERRY_T_TIMESTAMP_US:
        ferry_tc_struct_begin(tc, 10);
        ferry_tc_struct_begin(tc, c->type == FERRY_T_TIME_US ? 7 : 8);
        ferry_tc_bool(tc, 1, c->type == FERRY_T_TIMESTAMP_US && c->utc);
        ferry_tc_struct_begin(tc, 2); /* TimeUnit */
        ferry_tc_struct_begin(tc, 2); /* MICROS */
        ferry_tc_struct_end(tc);
        ferry_tc_struct_end(tc);
        ferry_tc_struct_end(tc);
        ferry_tc_struct_end(tc);
        return;
    default:
        break;
    }
    if (width) {
        ferry_tc_struct_begin(tc, 10);
        ferry_tc_struct_begin(tc, 10); /* INTEGER: IntType { 1: i8 bitWidth, 2: bool isSigned } */
        ferry_tc_byte_field(tc, 1, (int8_t)width);
        ferry_tc_bool(tc, 2, is_signed);
        ferry_tc_struct_end(tc);
        ferry_tc_struct_end(tc);
    }
}

/* ---- statistics ----------------------------------------------------------- */

static int cmp_bytes(const void *a, size_t na, const void *b, size_t nb)
{
    int c = memcmp(a, b, na < nb ? na : nb);
    if (c)
        return c;
    return na < nb ? -1 : na > nb ? 1 : 0;
}

/* big-endian two's complement of 16 bytes, signed */
static int cmp_signed16(const uint8_t *a, const uint8_t *b)
{
    if ((a[0] ^ b[0]) & 0x80)
        return (a[0] & 0x80) ? -1 : 1;
    return memcmp(a, b, 16);
}

static void stats_reset(pq_stats *s)
{
    s->has = s->dropped = 0;
    s->nulls = 0;
    ferry_buf_reset(&s->bmin);
    ferry_buf_reset(&s->bmax);
}

static void stats_i64(pq_stats *s, int order, int64_t v)
{
    if (!s->has) {
        s->imin = s->imax = v;
        s->has = 1;
    } else if (order == ORDER_UNSIGNED) {
        if ((uint64_t)v < (uint64_t)s->imin)
            s->imin = v;
        if ((uint64_t)v > (uint64_t)s->imax)
            s->imax = v;
    } else {
        if (v < s->imin)
            s->imin = v;
        if (v > s->imax)
            s->imax = v;
    }
}

static void stats_f64(pq_stats *s, double v)
{
    if (isnan(v))
        return;
    if (!s->has) {
        s->fmin = s->fmax = v;
        s->has = 1;
        return;
    }
    if (v < s->fmin)
        s->fmin = v;
    if (v > s->fmax)
        s->fmax = v;
}

static void stats_fixed(pq_stats *s, int order, const uint8_t *v)
{
    if (!s->has) {
        memcpy(s->xmin, v, 16);
        memcpy(s->xmax, v, 16);
        s->has = 1;
        return;
    }
    int lo = order == ORDER_SIGNED ? cmp_signed16(v, s->xmin) : memcmp(v, s->xmin, 16);
    if (lo < 0)
        memcpy(s->xmin, v, 16);
    int hi = order == ORDER_SIGNED ? cmp_signed16(v, s->xmax) : memcmp(v, s->xmax, 16);
    if (hi > 0)
        memcpy(s->xmax, v, 16);
}

static void stats_bytes(pq_stats *s, const char *p, size_t n)
{
    if (s->dropped)
        return;
    if (n > STATS_MAX_BYTES) {
        s->dropped = 1;
        return;
    }
    if (!s->has) {
        ferry_buf_reset(&s->bmin);
        ferry_buf_reset(&s->bmax);
        ferry_buf_append(&s->bmin, p, n);
        ferry_buf_append(&s->bmax, p, n);
        s->has = 1;
        return;
    }
    if (cmp_bytes(p, n, s->bmin.data, s->bmin.len) < 0) {
        ferry_buf_reset(&s->bmin);
        ferry_buf_append(&s->bmin, p, n);
    }
    if (cmp_bytes(p, n, s->bmax.data, s->bmax.len) > 0) {
        ferry_buf_reset(&s->bmax);
        ferry_buf_append(&s->bmax, p, n);
    }
}

/* Fold page statistics into the chunk's. */
static void stats_merge(pq_stats *into, const pq_stats *from, const pq_col *c)
{
    into->nulls += from->nulls;
    if (from->dropped)
        into->dropped = 1;
    if (!from->has)
        return;
    switch (c->storage) {
    case FERRY_TS_I64:
        stats_i64(into, c->order, from->imin);
        stats_i64(into, c->order, from->imax);
        break;
    case FERRY_TS_F64:
        stats_f64(into, from->fmin);
        stats_f64(into, from->fmax);
        break;
    case FERRY_TS_FIXED16:
        stats_fixed(into, c->order, from->xmin);
        stats_fixed(into, c->order, from->xmax);
        break;
    case FERRY_TS_VAR:
        if (!into->dropped) {
            stats_bytes(into, from->bmin.data, from->bmin.len);
            stats_bytes(into, from->bmax.data, from->bmax.len);
        }
        break;
    }
}

/* The PLAIN bytes of a min or max (which: 0 min, 1 max) into out. */
static void stats_value(const pq_stats *s, const pq_col *c, int which, ferry_buf *out)
{
    ferry_buf_reset(out);
    unsigned char b[16];
    switch (c->storage) {
    case FERRY_TS_I64: {
        int64_t v = which ? s->imax : s->imin;
        if (c->ptype == PT_BOOLEAN) {
            b[0] = (unsigned char)(v != 0);
            ferry_buf_append(out, b, 1);
        } else {
            int n = c->ptype == PT_INT32 ? 4 : 8;
            for (int k = 0; k < n; k++)
                b[k] = (unsigned char)((uint64_t)v >> (8 * k));
            ferry_buf_append(out, b, (size_t)n);
        }
        break;
    }
    case FERRY_TS_F64: {
        double v = which ? s->fmax : s->fmin;
        if (v == 0)
            v = which ? 0.0 : -0.0;
        if (c->ptype == PT_FLOAT) {
            float f = (float)v;
            memcpy(b, &f, 4);
            ferry_buf_append(out, b, 4);
        } else {
            memcpy(b, &v, 8);
            ferry_buf_append(out, b, 8);
        }
        break;
    }
    case FERRY_TS_FIXED16: {
        const uint8_t *x = which ? s->xmax : s->xmin;
        ferry_buf_append(out, x + 16 - c->type_length, (size_t)c->type_length);
        break;
    }
    case FERRY_TS_VAR: {
        const ferry_buf *x = which ? &s->bmax : &s->bmin;
        ferry_buf_append(out, x->data ? x->data : "", x->len);
        break;
    }
    }
}

/* Statistics { 3: null_count, 5: max_value, 6: min_value } as field id. */
static void write_stats(ferry_tc *tc, int16_t id, const pq_stats *s, const pq_col *c, ferry_buf *scratch)
{
    ferry_tc_struct_begin(tc, id);
    ferry_tc_i64(tc, 3, s->nulls);
    if (s->has && !s->dropped) {
        stats_value(s, c, 1, scratch);
        ferry_tc_binary(tc, 5, scratch->data ? scratch->data : "", scratch->len);
        stats_value(s, c, 0, scratch);
        ferry_tc_binary(tc, 6, scratch->data ? scratch->data : "", scratch->len);
    }
    ferry_tc_struct_end(tc);
}

/* ---- pages ------------------------------------------------------------------ */

static ferry_status oom(ferry_error *err)
{
    return ferry_error_oom(err, "parquet", NULL, NULL);
}

static ferry_status compress_body(ferry_parquet_writer *w, ferry_error *err)
{
    ferry_buf *in = &w->body, *out = &w->packed;
    ferry_buf_reset(out);
    switch (w->codec) {
    case CODEC_SNAPPY: {
        size_t cap = snappy_max_compressed_length(in->len);
        if (ferry_buf_reserve(out, cap) != 0)
            return oom(err);
        size_t n = cap;
        if (snappy_compress(in->data ? in->data : "", in->len, out->data, &n) != SNAPPY_OK)
            return ferry_error_set(err, FERRY_ERR_INTERNAL, "parquet: snappy could not compress a page");
        out->len = n;
        return FERRY_OK;
    }
    case CODEC_ZSTD: {
        size_t cap = ZSTD_compressBound(in->len);
        if (ferry_buf_reserve(out, cap) != 0)
            return oom(err);
        size_t n = ZSTD_compressCCtx(w->zc, out->data, cap, in->data ? in->data : "", in->len, w->level);
        if (ZSTD_isError(n))
            return ferry_error_set(err, FERRY_ERR_INTERNAL, "parquet: zstd: %s", ZSTD_getErrorName(n));
        out->len = n;
        return FERRY_OK;
    }
    case CODEC_GZIP: {
        size_t cap = deflateBound(&w->zs, in->len) + 32;
        if (ferry_buf_reserve(out, cap) != 0)
            return oom(err);
        deflateReset(&w->zs);
        w->zs.next_in = (Bytef *)(in->data ? in->data : "");
        w->zs.avail_in = (uInt)in->len;
        w->zs.next_out = (Bytef *)out->data;
        w->zs.avail_out = (uInt)cap;
        if (deflate(&w->zs, Z_FINISH) != Z_STREAM_END)
            return ferry_error_set(err, FERRY_ERR_INTERNAL, "parquet: gzip could not compress a page");
        out->len = cap - w->zs.avail_out;
        return FERRY_OK;
    }
    default:
        if (ferry_buf_append(out, in->data ? in->data : "", in->len) != 0)
            return oom(err);
        return FERRY_OK;
    }
}

static void le32(ferry_buf *b, uint32_t v)
{
    unsigned char x[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 24)};
    ferry_buf_append(b, x, 4);
}

/* ---- the dictionary -------------------------------------------------------- */

static ferry_status write_out(ferry_parquet_writer *w, const void *p, size_t n, ferry_error *err);

static uint64_t hash_bytes(const void *p, size_t n)
{
    const unsigned char *s = p;
    uint64_t h = 0x9E3779B97F4A7C15ull ^ (uint64_t)n;
    while (n >= 8) {
        uint64_t x;
        memcpy(&x, s, 8);
        h = (h ^ x) * 0xff51afd7ed558ccdull;
        h ^= h >> 32;
        s += 8;
        n -= 8;
    }
    uint64_t x = 0;
    memcpy(&x, s, n);
    h = (h ^ x) * 0xc4ceb9fe1a85ec53ull;
    return h ^ (h >> 29);
}

/* Entry e's value bytes (without the length of a BYTE_ARRAY). */
static const char *entry_at(const pq_col *c, uint32_t e, size_t *n)
{
    if (c->width) {
        *n = (size_t)c->width;
        return c->dict.data + (size_t)e * (size_t)c->width;
    }
    const unsigned char *p = (const unsigned char *)c->dict.data + c->dict_off[e];
    *n = (size_t)p[0] | (size_t)p[1] << 8 | (size_t)p[2] << 16 | (size_t)p[3] << 24;
    return (const char *)p + 4;
}

static int dict_grow_table(pq_col *c)
{
    size_t cap = c->slots_cap ? 2 * c->slots_cap : 1024;
    uint32_t *t = calloc(cap, sizeof *t);
    if (!t)
        return -1;
    for (uint32_t e = 0; e < c->dict_n; e++) {
        size_t n;
        const char *v = entry_at(c, e, &n);
        size_t i = (size_t)hash_bytes(v, n) & (cap - 1);
        while (t[i])
            i = (i + 1) & (cap - 1);
        t[i] = e + 1;
    }
    free(c->slots);
    c->slots = t;
    c->slots_cap = cap;
    return 0;
}

enum { DICT_FULL = -1, DICT_OOM = -2 };

/* The entry of the value v (n bytes), added when new; DICT_FULL when a new
 * entry would take the dictionary past limit. */
static int64_t dict_find(pq_col *c, const void *v, size_t n, size_t limit)
{
    if (2 * (c->dict_n + 1) > c->slots_cap && dict_grow_table(c) != 0)
        return DICT_OOM;
    size_t mask = c->slots_cap - 1, i = (size_t)hash_bytes(v, n) & mask;
    for (; c->slots[i]; i = (i + 1) & mask) {
        size_t en;
        const char *e = entry_at(c, c->slots[i] - 1, &en);
        if (en == n && memcmp(e, v, n) == 0)
            return c->slots[i] - 1;
    }
    size_t esize = c->width ? n : 4 + n;
    if (c->dict.len + esize > limit || c->dict_n >= INT32_MAX)
        return DICT_FULL;
    if (!c->width) {
        if (c->dict_n == c->dict_off_cap) {
            size_t cap = c->dict_off_cap ? 2 * c->dict_off_cap : 256;
            uint32_t *o = realloc(c->dict_off, cap * sizeof *o);
            if (!o)
                return DICT_OOM;
            c->dict_off = o;
            c->dict_off_cap = cap;
        }
        c->dict_off[c->dict_n] = (uint32_t)c->dict.len;
        unsigned char len[4] = {(unsigned char)n, (unsigned char)(n >> 8), (unsigned char)(n >> 16),
                                (unsigned char)(n >> 24)};
        ferry_buf_append(&c->dict, len, 4);
    }
    if (ferry_buf_append(&c->dict, v, n) != 0)
        return DICT_OOM;
    c->slots[i] = (uint32_t)++c->dict_n;
    return (int64_t)c->dict_n - 1;
}

/* A new column chunk: an empty dictionary, memory kept. */
static void dict_reset(pq_col *c)
{
    ferry_buf_reset(&c->dict);
    c->dict_n = 0;
    if (c->slots)
        memset(c->slots, 0, c->slots_cap * sizeof *c->slots);
    c->fallback = !c->dict_ok;
    c->checked = 0;
    c->dict_pages = c->plain_pages = 0;
}

/* The open page's indices as PLAIN values (the first page did not pay). */
static void dict_to_plain(pq_col *c)
{
    for (size_t k = 0; k < c->idx_n; k++) {
        size_t n;
        const char *v = entry_at(c, c->idx[k], &n);
        if (!c->width)
            le32(&c->values, (uint32_t)n);
        ferry_buf_append(&c->values, v, n);
    }
}

/* The open page of c: levels and values into the body, compressed, with its
 * header appended to the chunk. */
static ferry_status flush_page(ferry_parquet_writer *w, pq_col *c, ferry_error *err)
{
    if (c->page_values == 0)
        return FERRY_OK;
    ferry_buf *body = &w->body;
    ferry_buf_reset(body);
    le32(body, 0); /* the levels' length, set below */
    size_t start = body->len;
    ferry_parquet_rle_hybrid_u8(body, c->defs, c->page_values, 1);
    if (!body->failed) {
        uint32_t n = (uint32_t)(body->len - start);
        unsigned char *p = (unsigned char *)body->data;
        p[0] = (unsigned char)n;
        p[1] = (unsigned char)(n >> 8);
        p[2] = (unsigned char)(n >> 16);
        p[3] = (unsigned char)(n >> 24);
    }
    int use_dict = !c->fallback;
    if (use_dict) {
        size_t mark = body->len;
        unsigned char bw = (unsigned char)ferry_parquet_dict_bit_width(c->dict_n);
        ferry_buf_append(body, &bw, 1);
        ferry_parquet_rle_hybrid(body, c->idx, c->idx_n, bw);
        if (!c->checked && c->idx_n > 0) {
            /* parquet-mr's test: a dictionary must pay on the first page */
            c->checked = 1;
            if (c->dict_pages == 0 && !body->failed && c->dict.len + (body->len - mark) >= c->page_plain) {
                body->len = mark;
                dict_to_plain(c);
                dict_reset(c);
                c->fallback = 1;
                use_dict = 0;
            }
        }
    }
    if (!use_dict)
        ferry_buf_append(body, c->values.data ? c->values.data : "", c->values.len);
    if (body->failed || c->values.failed)
        return oom(err);
    if (body->len > INT32_MAX)
        return ferry_error_set(err, FERRY_ERR_DATA, "parquet: column %s: a page over 2 GiB", c->name);
    ferry_status st = compress_body(w, err);
    if (st != FERRY_OK)
        return st;
    ferry_buf_reset(&w->header);
    ferry_tc tc;
    ferry_tc_init(&tc, &w->header);
    ferry_tc_begin(&tc);
    ferry_tc_i32(&tc, 1, PAGE_DATA);
    ferry_tc_i32(&tc, 2, (int32_t)body->len);
    ferry_tc_i32(&tc, 3, (int32_t)w->packed.len);
    ferry_tc_struct_begin(&tc, 5); /* DataPageHeader */
    ferry_tc_i32(&tc, 1, (int32_t)c->page_values);
    ferry_tc_i32(&tc, 2, use_dict ? ENC_RLE_DICTIONARY : ENC_PLAIN);
    ferry_tc_i32(&tc, 3, ENC_RLE);
    ferry_tc_i32(&tc, 4, ENC_RLE);
    ferry_buf scratch = {0};
    write_stats(&tc, 5, &c->page, c, &scratch);
    ferry_buf_release(&scratch);
    ferry_tc_struct_end(&tc);
    ferry_tc_end(&tc);
    if (ferry_tc_failed(&tc))
        return oom(err);
    ferry_buf_append(&c->chunk, w->header.data, w->header.len);
    ferry_buf_append(&c->chunk, w->packed.data ? w->packed.data : "", w->packed.len);
    if (c->chunk.failed)
        return oom(err);
    c->chunk_values += (int64_t)c->page_values;
    c->chunk_uncompressed += (int64_t)(w->header.len + body->len);
    stats_merge(&c->stats, &c->page, c);
    if (c->stats.bmin.failed || c->stats.bmax.failed)
        return oom(err);
    stats_reset(&c->page);
    c->page_values = 0;
    c->bool_bits = 0;
    ferry_buf_reset(&c->values);
    c->idx_n = 0;
    c->page_plain = 0;
    if (use_dict)
        c->dict_pages++;
    else
        c->plain_pages++;
    return FERRY_OK;
}

/* The dictionary page of c (its entries, PLAIN), compressed, to next. */
static ferry_status write_dict_page(ferry_parquet_writer *w, pq_col *c, pq_chunk_meta *m, ferry_error *err)
{
    ferry_buf *body = &w->body;
    ferry_buf_reset(body);
    if (ferry_buf_append(body, c->dict.data ? c->dict.data : "", c->dict.len) != 0)
        return oom(err);
    ferry_status st = compress_body(w, err);
    if (st != FERRY_OK)
        return st;
    ferry_buf_reset(&w->header);
    ferry_tc tc;
    ferry_tc_init(&tc, &w->header);
    ferry_tc_begin(&tc);
    ferry_tc_i32(&tc, 1, PAGE_DICTIONARY);
    ferry_tc_i32(&tc, 2, (int32_t)body->len);
    ferry_tc_i32(&tc, 3, (int32_t)w->packed.len);
    ferry_tc_struct_begin(&tc, 7); /* DictionaryPageHeader */
    ferry_tc_i32(&tc, 1, (int32_t)c->dict_n);
    ferry_tc_i32(&tc, 2, ENC_PLAIN);
    ferry_tc_struct_end(&tc);
    ferry_tc_end(&tc);
    if (ferry_tc_failed(&tc))
        return oom(err);
    m->uncompressed += (int64_t)(w->header.len + body->len);
    m->compressed += (int64_t)(w->header.len + w->packed.len);
    st = write_out(w, w->header.data, w->header.len, err);
    if (st == FERRY_OK)
        st = write_out(w, w->packed.data ? w->packed.data : "", w->packed.len, err);
    return st;
}

static ferry_status write_out(ferry_parquet_writer *w, const void *p, size_t n, ferry_error *err)
{
    if (n == 0)
        return FERRY_OK;
    ferry_status st = ferry_writer_write(w->next, p, n, err);
    if (st == FERRY_OK)
        w->pos += (int64_t)n;
    return st;
}

static ferry_status ensure_magic(ferry_parquet_writer *w, ferry_error *err)
{
    return w->pos == 0 ? write_out(w, "PAR1", 4, err) : FERRY_OK;
}

/* Every column's open page, then the chunks in column order; their metadata
 * is kept for the footer. */
static ferry_status flush_row_group(ferry_parquet_writer *w, ferry_error *err)
{
    if (w->rg_rows == 0)
        return FERRY_OK;
    ferry_status st = ensure_magic(w, err);
    for (size_t i = 0; st == FERRY_OK && i < w->n_cols; i++)
        st = flush_page(w, &w->cols[i], err);
    if (st != FERRY_OK)
        return st;
    if (w->n_rgs == w->cap_rgs) {
        size_t cap = w->cap_rgs ? 2 * w->cap_rgs : 8;
        pq_row_group *g = realloc(w->rgs, cap * sizeof *g);
        if (!g)
            return oom(err);
        w->rgs = g;
        w->cap_rgs = cap;
    }
    pq_row_group *rg = &w->rgs[w->n_rgs];
    memset(rg, 0, sizeof *rg);
    rg->cols = calloc(w->n_cols, sizeof *rg->cols);
    if (!rg->cols)
        return oom(err);
    w->n_rgs++;
    rg->rows = w->rg_rows;
    rg->offset = w->pos;
    for (size_t i = 0; i < w->n_cols; i++) {
        pq_col *c = &w->cols[i];
        pq_chunk_meta *m = &rg->cols[i];
        m->offset = w->pos;
        m->dict_offset = -1;
        if (c->dict_pages > 0) {
            m->dict_offset = w->pos;
            st = write_dict_page(w, c, m, err);
            if (st != FERRY_OK)
                return st;
        }
        m->data_offset = w->pos;
        m->dict_pages = c->dict_pages;
        m->plain_pages = c->plain_pages;
        m->num_values = c->chunk_values;
        m->uncompressed += c->chunk_uncompressed;
        m->compressed += (int64_t)c->chunk.len;
        m->has = c->stats.has;
        m->dropped = c->stats.dropped;
        m->nulls = c->stats.nulls;
        if (c->stats.has && !c->stats.dropped) {
            ferry_buf v = {0};
            stats_value(&c->stats, c, 0, &v);
            m->min_len = v.len;
            m->min = ferry_buf_take(&v);
            stats_value(&c->stats, c, 1, &v);
            m->max_len = v.len;
            m->max = ferry_buf_take(&v);
            if (!m->min || !m->max)
                return oom(err);
        }
        st = write_out(w, c->chunk.data, c->chunk.len, err);
        if (st != FERRY_OK)
            return st;
        rg->total_uncompressed += m->uncompressed;
        rg->total_compressed += m->compressed;
        ferry_buf_reset(&c->chunk);
        c->chunk_values = c->chunk_uncompressed = 0;
        stats_reset(&c->stats);
        dict_reset(c);
    }
    w->rg_rows = 0;
    return FERRY_OK;
}

/* ---- rows ------------------------------------------------------------------- */

static size_t buffered(const ferry_parquet_writer *w)
{
    size_t n = 0;
    for (size_t i = 0; i < w->n_cols; i++) {
        const pq_col *c = &w->cols[i];
        n += c->chunk.len + c->values.len / 2 + c->dict.len / 2 +
             c->idx_n * (size_t)ferry_parquet_dict_bit_width(c->dict_n) / 16;
    }
    return n;
}

/* Room for one more value in the open page's levels and indices. */
static int page_room(pq_col *c)
{
    if (c->page_values == c->defs_cap) {
        size_t cap = c->defs_cap ? 2 * c->defs_cap : 4096;
        uint8_t *d = realloc(c->defs, cap);
        if (!d)
            return -1;
        c->defs = d;
        c->defs_cap = cap;
    }
    if (!c->fallback && c->idx_n == c->idx_cap) {
        size_t cap = c->idx_cap ? 2 * c->idx_cap : 4096;
        uint32_t *x = realloc(c->idx, cap * sizeof *x);
        if (!x)
            return -1;
        c->idx = x;
        c->idx_cap = cap;
    }
    return 0;
}

/* The open page is full: its values' encoded bytes reached page_bytes, or
 * it holds as many values as a page may. */
static int page_full(const ferry_parquet_writer *w, const pq_col *c)
{
    if (c->fallback)
        return c->values.len >= w->page_bytes || c->page_values >= (1u << 20);
    return c->idx_n * (size_t)ferry_parquet_dict_bit_width(c->dict_n) / 8 >= w->page_bytes ||
           c->page_values >= FERRY_PARQUET_DICT_PAGE_VALUES;
}

static ferry_status put_column(ferry_parquet_writer *w, pq_col *c, const ferry_tvector *v, size_t n_rows,
                               ferry_error *err)
{
    for (size_t r = 0; r < n_rows; r++) {
        if (page_room(c) != 0)
            return oom(err);
        if (v->nulls && v->nulls[r]) {
            c->defs[c->page_values++] = 0;
            c->page.nulls++;
        } else {
            /* the value's PLAIN bytes (a BYTE_ARRAY's without its length) */
            unsigned char b[16];
            const void *p = b;
            size_t n = 0;
            int64_t x = 0;
            double f = 0;
            switch (c->storage) {
            case FERRY_TS_I64:
                x = v->i64[r];
                n = c->ptype == PT_INT32 ? 4 : 8;
                for (size_t k = 0; k < n; k++)
                    b[k] = (unsigned char)((uint64_t)x >> (8 * k));
                break;
            case FERRY_TS_F64:
                f = v->f64[r];
                if (c->ptype == PT_FLOAT) {
                    float f4 = (float)f;
                    memcpy(b, &f4, 4);
                    n = 4;
                } else {
                    memcpy(b, &f, 8);
                    n = 8;
                }
                break;
            case FERRY_TS_FIXED16:
                p = v->fixed + 16 * r + 16 - c->type_length;
                n = (size_t)c->type_length;
                break;
            case FERRY_TS_VAR:
                p = v->data + v->off[r];
                n = v->off[r + 1] - v->off[r];
                break;
            }
            int64_t e = DICT_FULL;
            if (!c->fallback) {
                e = dict_find(c, p, n, w->dict_bytes);
                if (e == DICT_OOM)
                    return oom(err);
                if (e == DICT_FULL) {
                    /* the pages so far keep the dictionary; the rest is PLAIN */
                    ferry_status st = flush_page(w, c, err);
                    if (st != FERRY_OK)
                        return st;
                    c->fallback = 1;
                }
            }
            switch (c->storage) {
            case FERRY_TS_I64: stats_i64(&c->page, c->order, x); break;
            case FERRY_TS_F64: stats_f64(&c->page, f); break;
            case FERRY_TS_FIXED16: stats_fixed(&c->page, c->order, v->fixed + 16 * r); break;
            case FERRY_TS_VAR: stats_bytes(&c->page, p, n); break;
            }
            if (e >= 0) {
                c->idx[c->idx_n++] = (uint32_t)e;
                c->page_plain += c->width ? n : 4 + n;
            } else if (c->ptype == PT_BOOLEAN) {
                if (c->bool_bits % 8 == 0) {
                    b[0] = 0;
                    ferry_buf_append(&c->values, b, 1);
                }
                if (x && c->values.data)
                    c->values.data[c->values.len - 1] |= (char)(1u << (c->bool_bits % 8));
                c->bool_bits++;
            } else {
                if (c->storage == FERRY_TS_VAR)
                    le32(&c->values, (uint32_t)n);
                ferry_buf_append(&c->values, p, n);
            }
            c->defs[c->page_values++] = 1;
        }
        if (page_full(w, c)) {
            if (c->values.failed || c->page.bmin.failed || c->page.bmax.failed)
                return oom(err);
            ferry_status st = flush_page(w, c, err);
            if (st != FERRY_OK)
                return st;
        }
    }
    if (c->values.failed || c->page.bmin.failed || c->page.bmax.failed)
        return oom(err);
    return FERRY_OK;
}

ferry_status ferry_parquet_writer_batch(ferry_parquet_writer *w, const ferry_tbatch *b, ferry_error *err)
{
    if (b->n_cols != w->n_cols)
        return ferry_error_set(err, FERRY_ERR_INTERNAL, "parquet: a batch of %zu columns for %zu", b->n_cols,
                               w->n_cols);
    for (size_t i = 0; i < w->n_cols; i++) {
        ferry_status st = put_column(w, &w->cols[i], &b->cols[i], b->n_rows, err);
        if (st != FERRY_OK)
            return st;
    }
    w->rows += (int64_t)b->n_rows;
    w->rg_rows += (int64_t)b->n_rows;
    if (buffered(w) >= w->row_group_bytes)
        return flush_row_group(w, err);
    return FERRY_OK;
}

/* ---- the footer ------------------------------------------------------------- */

static void write_schema(ferry_tc *tc, const ferry_parquet_writer *w)
{
    ferry_tc_list_begin(tc, 2, FERRY_TC_STRUCT, w->n_cols + 1);
    ferry_tc_elem_struct_begin(tc);
    ferry_tc_string(tc, 4, "schema");
    ferry_tc_i32(tc, 5, (int32_t)w->n_cols);
    ferry_tc_struct_end(tc);
    for (size_t i = 0; i < w->n_cols; i++) {
        const pq_col *c = &w->cols[i];
        ferry_tc_elem_struct_begin(tc);
        ferry_tc_i32(tc, 1, c->ptype);
        if (c->ptype == PT_FLBA)
            ferry_tc_i32(tc, 2, c->type_length);
        ferry_tc_i32(tc, 3, 1); /* OPTIONAL */
        ferry_tc_string(tc, 4, c->name);
        int ct = converted_type(c);
        if (ct != CT_NONE)
            ferry_tc_i32(tc, 6, ct);
        if (c->type == FERRY_T_DECIMAL) {
            ferry_tc_i32(tc, 7, c->scale);
            ferry_tc_i32(tc, 8, c->precision);
        }
        logical_type(tc, c);
        ferry_tc_struct_end(tc);
    }
}

static void encoding_stat(ferry_tc *tc, int page_type, int encoding, int64_t count)
{
    ferry_tc_elem_struct_begin(tc);
    ferry_tc_i32(tc, 1, page_type);
    ferry_tc_i32(tc, 2, encoding);
    ferry_tc_i32(tc, 3, count > INT32_MAX ? INT32_MAX : (int32_t)count);
    ferry_tc_struct_end(tc);
}

static void write_chunk_meta(ferry_tc *tc, const ferry_parquet_writer *w, const pq_col *c, const pq_chunk_meta *m)
{
    ferry_tc_elem_struct_begin(tc); /* ColumnChunk */
    ferry_tc_i64(tc, 2, m->offset);
    ferry_tc_struct_begin(tc, 3);   /* ColumnMetaData */
    ferry_tc_i32(tc, 1, c->ptype);
    /* PLAIN: values or the dictionary page; RLE: the levels */
    ferry_tc_list_begin(tc, 2, FERRY_TC_I32, m->dict_offset >= 0 ? 3 : 2);
    ferry_tc_elem_i32(tc, ENC_PLAIN);
    ferry_tc_elem_i32(tc, ENC_RLE);
    if (m->dict_offset >= 0)
        ferry_tc_elem_i32(tc, ENC_RLE_DICTIONARY);
    ferry_tc_list_begin(tc, 3, FERRY_TC_BINARY, 1);
    ferry_tc_elem_binary(tc, c->name, strlen(c->name));
    ferry_tc_i32(tc, 4, w->codec);
    ferry_tc_i64(tc, 5, m->num_values);
    ferry_tc_i64(tc, 6, m->uncompressed);
    ferry_tc_i64(tc, 7, m->compressed);
    ferry_tc_i64(tc, 9, m->data_offset);
    if (m->dict_offset >= 0)
        ferry_tc_i64(tc, 11, m->dict_offset);
    ferry_tc_struct_begin(tc, 12);  /* Statistics */
    ferry_tc_i64(tc, 3, m->nulls);
    if (m->min && m->max) {
        ferry_tc_binary(tc, 5, m->max, m->max_len);
        ferry_tc_binary(tc, 6, m->min, m->min_len);
    }
    ferry_tc_struct_end(tc);
    /* encoding_stats: PageEncodingStats { 1: page_type, 2: encoding, 3: count } */
    size_t kinds = (m->dict_offset >= 0) + (m->dict_pages > 0) + (m->plain_pages > 0);
    ferry_tc_list_begin(tc, 13, FERRY_TC_STRUCT, kinds);
    if (m->dict_offset >= 0)
        encoding_stat(tc, PAGE_DICTIONARY, ENC_PLAIN, 1);
    if (m->dict_pages > 0)
        encoding_stat(tc, PAGE_DATA, ENC_RLE_DICTIONARY, m->dict_pages);
    if (m->plain_pages > 0)
        encoding_stat(tc, PAGE_DATA, ENC_PLAIN, m->plain_pages);
    ferry_tc_struct_end(tc);        /* ColumnMetaData */
    ferry_tc_struct_end(tc);        /* ColumnChunk */
}

static ferry_status write_footer(ferry_parquet_writer *w, ferry_error *err)
{
    ferry_buf foot = {0};
    ferry_tc tc;
    ferry_tc_init(&tc, &foot);
    ferry_tc_begin(&tc);
    ferry_tc_i32(&tc, 1, 1); /* version */
    write_schema(&tc, w);
    ferry_tc_i64(&tc, 3, w->rows);
    ferry_tc_list_begin(&tc, 4, FERRY_TC_STRUCT, w->n_rgs);
    for (size_t g = 0; g < w->n_rgs; g++) {
        const pq_row_group *rg = &w->rgs[g];
        ferry_tc_elem_struct_begin(&tc);
        ferry_tc_list_begin(&tc, 1, FERRY_TC_STRUCT, w->n_cols);
        for (size_t i = 0; i < w->n_cols; i++)
            write_chunk_meta(&tc, w, &w->cols[i], &rg->cols[i]);
        ferry_tc_i64(&tc, 2, rg->total_uncompressed);
        ferry_tc_i64(&tc, 3, rg->rows);
        ferry_tc_i64(&tc, 5, rg->offset);
        ferry_tc_i64(&tc, 6, rg->total_compressed);
        ferry_tc_struct_end(&tc);
    }
    ferry_tc_string(&tc, 6, w->created_by);
    ferry_tc_list_begin(&tc, 7, FERRY_TC_STRUCT, w->n_cols); /* column_orders: TypeDefinedOrder */
    for (size_t i = 0; i < w->n_cols; i++) {
        ferry_tc_elem_struct_begin(&tc);
        ferry_tc_struct_begin(&tc, 1);
        ferry_tc_struct_end(&tc);
        ferry_tc_struct_end(&tc);
    }
    ferry_tc_end(&tc);
    if (ferry_tc_failed(&tc) || foot.len > UINT32_MAX) {
        ferry_buf_release(&foot);
        return oom(err);
    }
    le32(&foot, (uint32_t)foot.len);
    ferry_buf_append(&foot, "PAR1", 4);
    ferry_status st = foot.failed ? oom(err) : write_out(w, foot.data, foot.len, err);
    ferry_buf_release(&foot);
    return st;
}

/* ---- life cycle ------------------------------------------------------------- */

static int zstd_level(int level)
{
    static const int map[10] = {3, 1, 1, 2, 2, 3, 3, 5, 7, 9};
    return level >= 1 && level <= 9 ? map[level] : 3;
}

ferry_status ferry_parquet_writer_new(const ferry_tcolumn *cols, size_t n, const ferry_parquet_options *po,
                                      ferry_writer *next, ferry_parquet_writer **out, ferry_error *err)
{
    *out = NULL;
    if (n == 0)
        return ferry_error_set(err, FERRY_ERR_USAGE, "parquet: the rows have no columns");
    ferry_parquet_writer *w = calloc(1, sizeof *w);
    if (!w)
        return oom(err);
    w->next = next;
    w->n_cols = n;
    w->cols = calloc(n, sizeof *w->cols);
    ferry_compress codec = po ? po->codec : FERRY_COMPRESS_AUTO;
    w->codec = codec == FERRY_COMPRESS_NONE   ? CODEC_UNCOMPRESSED
               : codec == FERRY_COMPRESS_ZSTD ? CODEC_ZSTD
               : codec == FERRY_COMPRESS_GZIP ? CODEC_GZIP
                                              : CODEC_SNAPPY;
    int level = po && po->level ? po->level : 6;
    w->level = w->codec == CODEC_ZSTD ? zstd_level(level) : level;
    w->row_group_bytes = po && po->row_group_bytes ? po->row_group_bytes : FERRY_PARQUET_ROW_GROUP_DEFAULT;
    w->page_bytes = po && po->page_bytes ? po->page_bytes : 1024 * 1024;
    w->dict_bytes = po && po->dict_bytes ? po->dict_bytes : FERRY_PARQUET_DICT_DEFAULT;
    char made[128];
    snprintf(made, sizeof made, "ferry version %s (build %s)", FERRY_VERSION_STRING, FERRY_BUILD_ID);
    w->created_by = strdup(po && po->created_by ? po->created_by : made);
    int bad = !w->cols || !w->created_by;
    for (size_t i = 0; !bad && i < n; i++) {
        pq_col *c = &w->cols[i];
        c->name = strdup(cols[i].name ? cols[i].name : "");
        c->type = cols[i].type;
        c->precision = cols[i].precision;
        c->scale = cols[i].scale;
        c->utc = cols[i].utc;
        c->storage = ferry_ltype_storage(c->type, c->precision);
        physical_type(c);
        c->dict_ok = c->ptype != PT_BOOLEAN && !(po && po->no_dictionary);
        c->width = c->ptype == PT_INT32 || c->ptype == PT_FLOAT    ? 4
                   : c->ptype == PT_INT64 || c->ptype == PT_DOUBLE ? 8
                   : c->ptype == PT_FLBA                           ? c->type_length
                                                                   : 0;
        dict_reset(c);
        bad = !c->name;
        if (c->type == FERRY_T_DECIMAL && (c->precision < 1 || c->precision > 38 || c->scale < 0 ||
                                           c->scale > c->precision)) {
            ferry_parquet_writer_free(w);
            return ferry_error_set(err, FERRY_ERR_USAGE, "parquet: column %s: DECIMAL(%d,%d) is not writable",
                                   cols[i].name, cols[i].precision, cols[i].scale);
        }
    }
    if (!bad && w->codec == CODEC_ZSTD)
        bad = !(w->zc = ZSTD_createCCtx());
    if (!bad && w->codec == CODEC_GZIP) {
        bad = deflateInit2(&w->zs, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK;
        w->zs_ready = !bad;
    }
    if (bad) {
        ferry_parquet_writer_free(w);
        return oom(err);
    }
    *out = w;
    return FERRY_OK;
}

ferry_status ferry_parquet_writer_commit(ferry_parquet_writer *w, ferry_error *err)
{
    ferry_status st = flush_row_group(w, err);
    if (st == FERRY_OK)
        st = ensure_magic(w, err);
    if (st == FERRY_OK)
        st = write_footer(w, err);
    if (st == FERRY_OK)
        st = w->next->ops->commit(w->next, err);
    if (st == FERRY_OK)
        w->committed = 1;
    else
        ferry_parquet_writer_abort(w);
    return st;
}

void ferry_parquet_writer_abort(ferry_parquet_writer *w)
{
    if (!w || w->aborted || w->committed)
        return;
    w->aborted = 1;
    w->next->ops->abort(w->next);
}

int64_t ferry_parquet_writer_rows(const ferry_parquet_writer *w)
{
    return w ? w->rows : 0;
}

void ferry_parquet_writer_free(ferry_parquet_writer *w)
{
    if (!w)
        return;
    for (size_t i = 0; w->cols && i < w->n_cols; i++) {
        pq_col *c = &w->cols[i];
        free(c->name);
        free(c->defs);
        ferry_buf_release(&c->values);
        ferry_buf_release(&c->chunk);
        ferry_buf_release(&c->page.bmin);
        ferry_buf_release(&c->page.bmax);
        ferry_buf_release(&c->stats.bmin);
        ferry_buf_release(&c->stats.bmax);
        ferry_buf_release(&c->dict);
        free(c->dict_off);
        free(c->slots);
        free(c->idx);
    }
    for (size_t g = 0; g < w->n_rgs; g++) {
        for (size_t i = 0; w->rgs[g].cols && i < w->n_cols; i++) {
            free(w->rgs[g].cols[i].min);
            free(w->rgs[g].cols[i].max);
        }
        free(w->rgs[g].cols);
    }
    free(w->rgs);
    free(w->cols);
    free(w->created_by);
    ferry_buf_release(&w->body);
    ferry_buf_release(&w->packed);
    ferry_buf_release(&w->header);
    if (w->zc)
        ZSTD_freeCCtx(w->zc);
    if (w->zs_ready)
        deflateEnd(&w->zs);
    free(w);
}
