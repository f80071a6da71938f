/*
 * test_parquet.c - the pieces of ferry's Parquet writer that can be checked
 * byte for byte: the Thrift compact encoder (transfer/thrift_compact.c:
 * varints, zigzag, short and long field headers, bools, binary, nested
 * structs, lists) and the RLE/bit-packed hybrid (known encodings, and a
 * reference decoder over random runs of every bit width), the DECIMAL byte
 * widths, and the writer's framing (PAR1, footer length, created_by) with
 * commit and abort reaching the sink.  Dictionary encoding is checked page
 * by page (a small compact-protocol reader walks the page headers of an
 * uncompressed file and decodes dictionary, indices and PLAIN values back):
 * the fallback to PLAIN exactly at the dictionary limit, a first page that
 * does not pay, strings, and an all-NULL column.  DuckDB and hyparquet read
 * real files in tests/integration/parquet.sh.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "ferry/transfer.h"
#include "transfer/parquet_writer.h"
#include "transfer/thrift_compact.h"

static int bytes_are(const ferry_buf *b, const unsigned char *want, size_t n)
{
    if (b->len != n) {
        fprintf(stderr, "    length %zu, want %zu\n", b->len, n);
        return 0;
    }
    return memcmp(b->data, want, n) == 0;
}

static void test_varint_zigzag(void)
{
    CHECK_INTEQ(ferry_tc_zigzag(0), 0);
    CHECK_INTEQ(ferry_tc_zigzag(-1), 1);
    CHECK_INTEQ(ferry_tc_zigzag(1), 2);
    CHECK_INTEQ(ferry_tc_zigzag(-2), 3);
    CHECK(ferry_tc_zigzag(INT64_MIN) == UINT64_MAX);
    ferry_buf b = {0};
    ferry_tc_varint(&b, 300);
    const unsigned char want[] = {0xAC, 0x02};
    CHECK(bytes_are(&b, want, sizeof want));
    ferry_buf_reset(&b);
    ferry_tc_varint(&b, UINT64_MAX);
    CHECK_INTEQ(b.len, 10);
    CHECK_INTEQ((unsigned char)b.data[9], 0x01);
    ferry_buf_release(&b);
}

static void test_thrift_struct(void)
{
    ferry_buf b = {0};
    ferry_tc tc;
    ferry_tc_init(&tc, &b);
    ferry_tc_begin(&tc);
    ferry_tc_i32(&tc, 1, 5);          /* 0x15 0x0A */
    ferry_tc_i64(&tc, 3, -1);         /* delta 2, i64: 0x26 0x01 */
    ferry_tc_bool(&tc, 4, 1);         /* 0x11 */
    ferry_tc_binary(&tc, 20, "ab", 2);/* delta 16: long form 0x08, zigzag(20) = 40, len 2 */
    ferry_tc_struct_begin(&tc, 21);   /* 0x1C */
    ferry_tc_i32(&tc, 1, 0);          /* 0x15 0x00: ids restart inside */
    ferry_tc_bool(&tc, 2, 0);         /* 0x12 */
    ferry_tc_struct_end(&tc);         /* 0x00 */
    ferry_tc_i32(&tc, 22, -3);        /* delta 1 from 21: 0x15 0x05 */
    ferry_tc_list_begin(&tc, 23, FERRY_TC_I32, 3); /* 0x19 0x35 */
    ferry_tc_elem_i32(&tc, 1);
    ferry_tc_elem_i32(&tc, 2);
    ferry_tc_elem_i32(&tc, 64);       /* zigzag 128: 0x80 0x01 */
    ferry_tc_byte_field(&tc, 24, -2); /* 0x13 0xFE */
    ferry_tc_end(&tc);
    const unsigned char want[] = {0x15, 0x0A, 0x26, 0x01, 0x11, 0x08, 0x28, 0x02, 'a', 'b', 0x1C, 0x15, 0x00,
                                  0x12, 0x00, 0x15, 0x05, 0x19, 0x35, 0x02, 0x04, 0x80, 0x01, 0x13, 0xFE, 0x00};
    CHECK(bytes_are(&b, want, sizeof want));
    CHECK_INTEQ(ferry_tc_failed(&tc), 0);
    ferry_buf_release(&b);
}

static void test_thrift_long_list(void)
{
    ferry_buf b = {0};
    ferry_tc tc;
    ferry_tc_init(&tc, &b);
    ferry_tc_begin(&tc);
    ferry_tc_list_begin(&tc, 2, FERRY_TC_STRUCT, 20); /* 0x29 0xFC 0x14 */
    for (int i = 0; i < 20; i++) {
        ferry_tc_elem_struct_begin(&tc);
        ferry_tc_struct_end(&tc);
    }
    ferry_tc_end(&tc);
    CHECK_INTEQ(b.len, 3 + 20 + 1);
    CHECK_INTEQ((unsigned char)b.data[0], 0x29);
    CHECK_INTEQ((unsigned char)b.data[1], 0xFC);
    CHECK_INTEQ((unsigned char)b.data[2], 20);
    /* a struct ended that was never begun: the encoder says so */
    ferry_tc_end(&tc);
    CHECK(ferry_tc_failed(&tc) != 0);
    ferry_buf_release(&b);
}

static void test_rle_known(void)
{
    ferry_buf b = {0};
    uint8_t ones[10];
    memset(ones, 1, sizeof ones);
    ferry_parquet_rle_hybrid_u8(&b, ones, 10, 1);
    const unsigned char run[] = {0x14, 0x01};
    CHECK(bytes_are(&b, run, sizeof run));

    ferry_buf_reset(&b);
    const uint8_t alt[8] = {1, 0, 1, 0, 1, 0, 1, 0};
    ferry_parquet_rle_hybrid_u8(&b, alt, 8, 1);
    const unsigned char packed[] = {0x03, 0x55};
    CHECK(bytes_are(&b, packed, sizeof packed));

    ferry_buf_reset(&b);
    const uint8_t three[3] = {1, 1, 0};
    ferry_parquet_rle_hybrid_u8(&b, three, 3, 1);
    const unsigned char padded[] = {0x03, 0x03};
    CHECK(bytes_are(&b, padded, sizeof padded));

    /* 0,1,0 then ten 1s: the first group borrows 5 of the run, the 5 left are packed */
    ferry_buf_reset(&b);
    const uint8_t mix[13] = {0, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    ferry_parquet_rle_hybrid_u8(&b, mix, 13, 1);
    const unsigned char mixed[] = {0x03, 0xFA, 0x03, 0x1F};
    CHECK(bytes_are(&b, mixed, sizeof mixed));

    ferry_buf_reset(&b);
    const uint32_t fives[8] = {5, 5, 5, 5, 5, 5, 5, 5};
    ferry_parquet_rle_hybrid(&b, fives, 8, 3);
    const unsigned char rle3[] = {0x10, 0x05};
    CHECK(bytes_are(&b, rle3, sizeof rle3));

    /* Encodings.md's example: 0..7 with bit width 3, one bit-packed group */
    ferry_buf_reset(&b);
    const uint32_t seven[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    ferry_parquet_rle_hybrid(&b, seven, 8, 3);
    const unsigned char spec[] = {0x03, 0x88, 0xC6, 0xFA};
    CHECK(bytes_are(&b, spec, sizeof spec));

    /* an RLE run's value takes round-up-to-bytes(bit width) bytes, little endian */
    ferry_buf_reset(&b);
    uint32_t run13[300];
    for (int i = 0; i < 300; i++)
        run13[i] = 0x1234;
    ferry_parquet_rle_hybrid(&b, run13, 300, 13); /* header varint(600) = 0xD8 0x04 */
    const unsigned char rle13[] = {0xD8, 0x04, 0x34, 0x12};
    CHECK(bytes_are(&b, rle13, sizeof rle13));

    /* 32-bit values: 4 bytes each */
    ferry_buf_reset(&b);
    uint32_t big[8];
    for (int i = 0; i < 8; i++)
        big[i] = 0xFFFFFFFFu;
    ferry_parquet_rle_hybrid(&b, big, 8, 32);
    const unsigned char rle32[] = {0x10, 0xFF, 0xFF, 0xFF, 0xFF};
    CHECK(bytes_are(&b, rle32, sizeof rle32));

    ferry_buf_reset(&b);
    const uint32_t wide[1] = {0x12345};
    ferry_parquet_rle_hybrid(&b, wide, 1, 17); /* bit-packed: 8 values of 17 bits = 17 bytes */
    CHECK_INTEQ(b.len, 1 + 17);
    ferry_buf_release(&b);
}

/* A reference decoder of the hybrid (the spec's grammar), n values. */
static int rle_decode(const unsigned char *p, size_t len, int bw, uint32_t *out, size_t n)
{
    size_t pos = 0, got = 0;
    while (got < n) {
        uint64_t h = 0;
        int shift = 0;
        do {
            if (pos >= len)
                return -1;
            h |= (uint64_t)(p[pos] & 0x7f) << shift;
            shift += 7;
        } while (p[pos++] & 0x80);
        if (h & 1) {
            size_t count = (size_t)(h >> 1) * 8;
            uint64_t acc = 0;
            int bits = 0;
            for (size_t i = 0; i < count; i++) {
                while (bits < bw) {
                    if (pos >= len)
                        return -1;
                    acc |= (uint64_t)p[pos++] << bits;
                    bits += 8;
                }
                uint32_t v = (uint32_t)(acc & ((1ull << bw) - 1));
                acc >>= bw;
                bits -= bw;
                if (got < n)
                    out[got++] = v;
            }
        } else {
            size_t count = (size_t)(h >> 1);
            uint32_t v = 0;
            for (int k = 0; k < (bw + 7) / 8; k++) {
                if (pos >= len)
                    return -1;
                v |= (uint32_t)p[pos++] << (8 * k);
            }
            for (size_t i = 0; i < count && got < n; i++)
                out[got++] = v;
        }
    }
    return pos == len ? 0 : -1;
}

static void test_rle_round_trip(void)
{
    srand(15);
    uint32_t v[3000], back[3000];
    ferry_buf b = {0};
    for (int round = 0; round < 400; round++) {
        int bw = 1 + round % 20;
        size_t n = 1 + (size_t)rand() % 3000, i = 0;
        while (i < n) { /* runs of random length, some long */
            uint32_t x = (uint32_t)rand() & (uint32_t)((1ull << bw) - 1);
            size_t r = rand() % 3 == 0 ? 1 + (size_t)rand() % 40 : 1;
            for (size_t k = 0; k < r && i < n; k++)
                v[i++] = x;
        }
        ferry_buf_reset(&b);
        ferry_parquet_rle_hybrid(&b, v, n, bw);
        memset(back, 0xff, sizeof back);
        int ok = rle_decode((const unsigned char *)b.data, b.len, bw, back, n) == 0 &&
                 memcmp(v, back, n * sizeof *v) == 0;
        CHECK(ok);
        if (!ok) {
            fprintf(stderr, "    round %d: bw %d n %zu\n", round, bw, n);
            break;
        }
    }
    ferry_buf_release(&b);
}

static void test_decimal_bytes(void)
{
    CHECK_INTEQ(ferry_parquet_decimal_bytes(1), 1);
    CHECK_INTEQ(ferry_parquet_decimal_bytes(2), 1);
    CHECK_INTEQ(ferry_parquet_decimal_bytes(3), 2);
    CHECK_INTEQ(ferry_parquet_decimal_bytes(9), 4);
    CHECK_INTEQ(ferry_parquet_decimal_bytes(18), 8);
    CHECK_INTEQ(ferry_parquet_decimal_bytes(19), 9);
    CHECK_INTEQ(ferry_parquet_decimal_bytes(38), 16);
}

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void test_writer_framing(void)
{
    ferry_tcolumn cols[3] = {
        {.name = "id", .type = FERRY_T_INT64, .nullable = 1},
        {.name = "name", .type = FERRY_T_STRING, .nullable = 1},
        {.name = "amount", .type = FERRY_T_DECIMAL, .precision = 38, .scale = 10, .nullable = 1},
    };
    int64_t ids[4] = {1, 2, 3, 4};
    uint8_t nulls_id[4] = {0, 1, 0, 0}, nulls_name[4] = {0, 0, 1, 0}, nulls_amt[4] = {0, 0, 0, 1};
    uint32_t off[5] = {0, 3, 3, 3, 8};
    char data[] = "abchello";
    uint8_t fixed[64] = {0};
    fixed[15] = 1;
    memset(fixed + 16, 0xff, 16); /* -1 */
    ferry_tvector vec[3] = {
        {.nulls = nulls_id, .i64 = ids},
        {.nulls = nulls_name, .off = off, .data = data},
        {.nulls = nulls_amt, .fixed = fixed},
    };
    ferry_tbatch batch = {.n_rows = 4, .n_cols = 3, .cols = vec, .first_row = 1};
    static const ferry_compress codecs[] = {FERRY_COMPRESS_NONE, FERRY_COMPRESS_SNAPPY, FERRY_COMPRESS_ZSTD,
                                            FERRY_COMPRESS_GZIP};
    for (size_t k = 0; k < sizeof codecs / sizeof *codecs; k++) {
        ferry_writer *mem = NULL;
        ferry_parquet_writer *w = NULL;
        ferry_error err;
        ferry_error_clear(&err);
        CHECK(ferry_memory_writer_new(0, &mem, &err) == FERRY_OK);
        ferry_parquet_options po = {.codec = codecs[k], .row_group_bytes = 1, .page_bytes = 8};
        CHECK(ferry_parquet_writer_new(cols, 3, &po, mem, &w, &err) == FERRY_OK);
        for (int i = 0; i < 3; i++) /* three row groups of 4 rows, pages of a few values */
            CHECK(ferry_parquet_writer_batch(w, &batch, &err) == FERRY_OK);
        CHECK(ferry_parquet_writer_commit(w, &err) == FERRY_OK);
        CHECK_INTEQ(ferry_parquet_writer_rows(w), 12);
        CHECK(ferry_memory_writer_committed(mem));
        size_t len = 0;
        const unsigned char *p = ferry_memory_writer_data(mem, &len);
        CHECK(len > 12 && memcmp(p, "PAR1", 4) == 0 && memcmp(p + len - 4, "PAR1", 4) == 0);
        uint32_t foot = len > 12 ? le32(p + len - 8) : 0;
        CHECK(foot > 0 && foot < len - 12);
        const char *by = "ferry version ";
        int found = 0;
        for (size_t i = len - 8 - foot; i + strlen(by) < len; i++)
            found |= memcmp(p + i, by, strlen(by)) == 0;
        CHECK(found);
        ferry_parquet_writer_free(w);
        mem->ops->free(mem);
    }
}

/* ---- dictionary pages, read back ------------------------------------------- */

/* A compact-protocol reader, just enough for PageHeader. */
typedef struct rd {
    const unsigned char *p, *end;
    int bad;
} rd;

static uint64_t rd_varint(rd *r)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (r->p >= r->end) {
            r->bad = 1;
            return 0;
        }
        unsigned char c = *r->p++;
        v |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80))
            return v;
    }
    r->bad = 1;
    return 0;
}

static int64_t rd_i(rd *r)
{
    uint64_t v = rd_varint(r);
    return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

static void rd_skip(rd *r, int type);

/* The fields of a struct: i32 values of ids 1..7 into v; the i32 fields of
 * struct fields 1..7 into subs[id] (subs may be NULL). */
static void rd_struct(rd *r, int64_t v[8], int64_t (*subs)[8])
{
    int16_t last = 0;
    while (!r->bad && r->p < r->end) {
        unsigned char b = *r->p++;
        if (b == 0)
            return;
        int type = b & 15;
        int16_t id = (b >> 4) ? (int16_t)(last + (b >> 4)) : (int16_t)rd_i(r);
        last = id;
        if (type == FERRY_TC_I32 && id >= 1 && id <= 7)
            v[id] = rd_i(r);
        else if (type == FERRY_TC_STRUCT && id >= 1 && id <= 7 && subs)
            rd_struct(r, subs[id], NULL);
        else
            rd_skip(r, type);
    }
    r->bad = 1;
}

static void rd_skip(rd *r, int type)
{
    int64_t ignore[8];
    switch (type) {
    case FERRY_TC_TRUE: case FERRY_TC_FALSE: break;
    case FERRY_TC_BYTE: r->p++; break;
    case FERRY_TC_I16: case FERRY_TC_I32: case FERRY_TC_I64: rd_varint(r); break;
    case FERRY_TC_DOUBLE: r->p += 8; break;
    case FERRY_TC_BINARY: { uint64_t n = rd_varint(r); r->p += n; break; }
    case FERRY_TC_STRUCT: rd_struct(r, ignore, NULL); break;
    case FERRY_TC_LIST: case FERRY_TC_SET: {
        unsigned char h = *r->p++;
        uint64_t n = h >> 4 == 15 ? rd_varint(r) : (uint64_t)(h >> 4);
        for (uint64_t i = 0; i < n && !r->bad; i++)
            rd_skip(r, (h & 15) == FERRY_TC_TRUE ? FERRY_TC_BYTE : h & 15);
        break;
    }
    default: r->bad = 1;
    }
    if (r->p > r->end)
        r->bad = 1;
}

typedef struct page {
    int type;                /* 0 data, 2 dictionary */
    int encoding;            /* of the values */
    int num_values;
    const unsigned char *body;
    size_t len;
} page;

/* The pages of an uncompressed one-column, one-row-group file, in order. */
static size_t read_pages(const unsigned char *p, size_t len, page *out, size_t max)
{
    size_t n = 0;
    if (len < 12)
        return 0;
    rd r = {p + 4, p + len - 8 - le32(p + len - 8), 0};
    while (r.p < r.end && n < max) {
        /* PageHeader: 1 type, 2 uncompressed, 3 compressed size; 5 DataPageHeader
         * {1 num_values, 2 encoding}; 7 DictionaryPageHeader {1 num_values, 2 encoding} */
        int64_t h[8] = {0}, subs[8][8] = {{0}};
        rd_struct(&r, h, subs);
        if (r.bad || h[2] != h[3] || (size_t)(r.end - r.p) < (size_t)h[3])
            return 0;
        int sub = h[1] == 2 ? 7 : 5;
        out[n] = (page){(int)h[1], (int)subs[sub][2], (int)subs[sub][1], r.p, (size_t)h[3]};
        r.p += h[3];
        n++;
    }
    return r.p == r.end ? n : 0;
}

/* Write one column of rows (vec) uncompressed with the options given; the
 * file's bytes are copied to *file (malloc'd). */
static size_t write_one(ferry_tcolumn col, ferry_tvector vec, size_t rows, ferry_parquet_options po,
                        unsigned char **file)
{
    ferry_writer *mem = NULL;
    ferry_parquet_writer *w = NULL;
    ferry_error err;
    ferry_error_clear(&err);
    *file = NULL;
    po.codec = FERRY_COMPRESS_NONE;
    if (ferry_memory_writer_new(0, &mem, &err) != FERRY_OK)
        return 0;
    ferry_tbatch batch = {.n_rows = rows, .n_cols = 1, .cols = &vec, .first_row = 1};
    size_t len = 0;
    if (ferry_parquet_writer_new(&col, 1, &po, mem, &w, &err) == FERRY_OK &&
        ferry_parquet_writer_batch(w, &batch, &err) == FERRY_OK && ferry_parquet_writer_commit(w, &err) == FERRY_OK) {
        const unsigned char *p = ferry_memory_writer_data(mem, &len);
        *file = malloc(len);
        if (*file)
            memcpy(*file, p, len);
    } else {
        fprintf(stderr, "    %s\n", err.msg);
    }
    ferry_parquet_writer_free(w);
    mem->ops->free(mem);
    return *file ? len : 0;
}

/* A data page v1's definition levels (max 1): n of them into defs; returns
 * where the values start. */
static const unsigned char *page_levels(const page *pg, uint32_t *defs, size_t n)
{
    uint32_t ll = le32(pg->body);
    if (4 + (size_t)ll > pg->len || rle_decode(pg->body + 4, ll, 1, defs, n) != 0)
        return NULL;
    return pg->body + 4 + ll;
}

static int64_t i64_at(const unsigned char *p)
{
    uint64_t v = 0;
    for (int k = 7; k >= 0; k--)
        v = v << 8 | p[k];
    return (int64_t)v;
}

static void test_dict_fallback_at_limit(void)
{
    /* 5 values repeated, then new ones: entries of 8 bytes, a limit of 80:
     * the 11th distinct value (row 45) does not fit, so rows 0..44 are one
     * RLE_DICTIONARY page over 10 entries and 45..59 one PLAIN page. */
    int64_t x[60];
    uint8_t nulls[60] = {0};
    for (int r = 0; r < 60; r++)
        x[r] = r < 40 ? r % 5 : 100 + (r - 40);
    nulls[7] = 1;
    ferry_tcolumn col = {.name = "x", .type = FERRY_T_INT64, .nullable = 1};
    ferry_tvector vec = {.nulls = nulls, .i64 = x};
    unsigned char *f = NULL;
    size_t len = write_one(col, vec, 60, (ferry_parquet_options){.dict_bytes = 80}, &f);
    page pg[8];
    size_t n = read_pages(f, len, pg, 8);
    CHECK_INTEQ(n, 3);
    if (n != 3) {
        free(f);
        return;
    }
    CHECK(pg[0].type == 2 && pg[0].num_values == 10 && pg[0].len == 80 && pg[0].encoding == 0);
    CHECK(pg[1].type == 0 && pg[1].encoding == 8 && pg[1].num_values == 45);
    CHECK(pg[2].type == 0 && pg[2].encoding == 0 && pg[2].num_values == 15);
    uint32_t defs[64], idx[64];
    const unsigned char *v = page_levels(&pg[1], defs, 45);
    CHECK(v != NULL && v[0] == 4); /* bit width of 10 entries */
    if (v && v[0] == 4) {
        CHECK(rle_decode(v + 1, (size_t)(pg[1].body + pg[1].len - v - 1), 4, idx, 44) == 0);
        int same = 1;
        for (int r = 0, k = 0; r < 45; r++) {
            same &= defs[r] == (uint32_t)(r != 7);
            if (r != 7) {
                same &= idx[k] < 10 && i64_at(pg[0].body + 8 * idx[k]) == x[r];
                k++;
            }
        }
        CHECK(same);
    }
    v = page_levels(&pg[2], defs, 15);
    CHECK(v != NULL && (size_t)(pg[2].body + pg[2].len - v) == 15 * 8);
    int same = v != NULL;
    for (int r = 45; v && r < 60; r++)
        same &= defs[r - 45] == 1 && i64_at(v + 8 * (r - 45)) == x[r];
    CHECK(same);
    free(f);
}

static void test_dict_first_page_must_pay(void)
{
    /* every value distinct: dictionary + indices are larger than PLAIN, so
     * the chunk is PLAIN from the start and has no dictionary page */
    int64_t x[500];
    for (int r = 0; r < 500; r++)
        x[r] = r * 7919;
    ferry_tcolumn col = {.name = "id", .type = FERRY_T_INT64, .nullable = 1};
    ferry_tvector vec = {.i64 = x};
    unsigned char *f = NULL;
    size_t len = write_one(col, vec, 500, (ferry_parquet_options){0}, &f);
    page pg[4];
    size_t n = read_pages(f, len, pg, 4);
    CHECK_INTEQ(n, 1);
    CHECK(n == 1 && pg[0].type == 0 && pg[0].encoding == 0 && pg[0].num_values == 500);
    uint32_t defs[500];
    const unsigned char *v = n == 1 ? page_levels(&pg[0], defs, 500) : NULL;
    CHECK(v != NULL && i64_at(v + 8 * 499) == 499 * 7919);
    free(f);

    /* the same with no_dictionary set and repeats: PLAIN too */
    for (int r = 0; r < 500; r++)
        x[r] = r % 3;
    len = write_one(col, vec, 500, (ferry_parquet_options){.no_dictionary = 1}, &f);
    n = read_pages(f, len, pg, 4);
    CHECK(n == 1 && pg[0].encoding == 0);
    free(f);
}

static void test_dict_strings(void)
{
    /* repeats, an empty string, unicode, NULLs: entries in order of first
     * appearance, each a 4-byte length and its bytes */
    const char *s[] = {"b", "", "Zoë", "b", "", "🚀", NULL, "Zoë", "b"};
    size_t rows = sizeof s / sizeof *s;
    char data[64];
    uint32_t off[16] = {0};
    uint8_t nulls[16] = {0};
    for (size_t r = 0; r < rows; r++) {
        nulls[r] = s[r] == NULL;
        size_t l = s[r] ? strlen(s[r]) : 0;
        memcpy(data + off[r], s[r] ? s[r] : "", l);
        off[r + 1] = off[r] + (uint32_t)l;
    }
    ferry_tcolumn col = {.name = "s", .type = FERRY_T_STRING, .nullable = 1};
    ferry_tvector vec = {.nulls = nulls, .off = off, .data = data};
    unsigned char *f = NULL;
    size_t len = write_one(col, vec, rows, (ferry_parquet_options){0}, &f);
    page pg[4];
    size_t n = read_pages(f, len, pg, 4);
    CHECK_INTEQ(n, 2);
    if (n != 2) {
        free(f);
        return;
    }
    const unsigned char want_dict[] = {1, 0, 0, 0, 'b', 0, 0, 0, 0, 4, 0, 0, 0, 'Z', 'o', 0xC3, 0xAB,
                                       4, 0, 0, 0, 0xF0, 0x9F, 0x9A, 0x80};
    CHECK(pg[0].type == 2 && pg[0].num_values == 4 && pg[0].len == sizeof want_dict &&
          memcmp(pg[0].body, want_dict, sizeof want_dict) == 0);
    CHECK(pg[1].type == 0 && pg[1].encoding == 8 && pg[1].num_values == (int)rows);
    uint32_t defs[16], idx[16];
    const unsigned char *v = page_levels(&pg[1], defs, rows);
    CHECK(v != NULL && v[0] == 2);
    if (v && v[0] == 2) {
        CHECK(rle_decode(v + 1, (size_t)(pg[1].body + pg[1].len - v - 1), 2, idx, rows - 1) == 0);
        const uint32_t want_idx[] = {0, 1, 2, 0, 1, 3, 2, 0};
        CHECK(memcmp(idx, want_idx, sizeof want_idx) == 0);
        CHECK(defs[6] == 0 && defs[5] == 1);
    }
    free(f);
}

static void test_dict_all_null(void)
{
    /* no values at all: an empty dictionary page and a page of levels with
     * bit width 0 (as Arrow writes an all-NULL column) */
    uint8_t nulls[10];
    memset(nulls, 1, sizeof nulls);
    double f8[10] = {0};
    ferry_tcolumn col = {.name = "nothing", .type = FERRY_T_DOUBLE, .nullable = 1};
    ferry_tvector vec = {.nulls = nulls, .f64 = f8};
    unsigned char *f = NULL;
    size_t len = write_one(col, vec, 10, (ferry_parquet_options){0}, &f);
    page pg[4];
    size_t n = read_pages(f, len, pg, 4);
    CHECK_INTEQ(n, 2);
    CHECK(n == 2 && pg[0].type == 2 && pg[0].num_values == 0 && pg[0].len == 0);
    uint32_t defs[10];
    const unsigned char *v = n == 2 ? page_levels(&pg[1], defs, 10) : NULL;
    CHECK(v != NULL && pg[1].encoding == 8 && v[0] == 0 && v + 1 == pg[1].body + pg[1].len && defs[9] == 0);
    free(f);

    CHECK_INTEQ(ferry_parquet_dict_bit_width(0), 0);
    CHECK_INTEQ(ferry_parquet_dict_bit_width(1), 1);
    CHECK_INTEQ(ferry_parquet_dict_bit_width(2), 1);
    CHECK_INTEQ(ferry_parquet_dict_bit_width(3), 2);
    CHECK_INTEQ(ferry_parquet_dict_bit_width(4), 2);
    CHECK_INTEQ(ferry_parquet_dict_bit_width(5), 3);
    CHECK_INTEQ(ferry_parquet_dict_bit_width(65536), 16);
    CHECK_INTEQ(ferry_parquet_dict_bit_width(65537), 17);
}

static void test_writer_abort_and_refusals(void)
{
    ferry_error err;
    ferry_error_clear(&err);
    ferry_writer *mem = NULL;
    ferry_parquet_writer *w = NULL;
    CHECK(ferry_memory_writer_new(0, &mem, &err) == FERRY_OK);
    ferry_tcolumn bad = {.name = "n", .type = FERRY_T_DECIMAL, .precision = 40, .scale = 2};
    CHECK(ferry_parquet_writer_new(&bad, 1, NULL, mem, &w, &err) == FERRY_ERR_USAGE);
    CHECK(w == NULL);
    CHECK(ferry_parquet_writer_new(&bad, 0, NULL, mem, &w, &err) == FERRY_ERR_USAGE);
    ferry_tcolumn ok = {.name = "b", .type = FERRY_T_BOOL};
    CHECK(ferry_parquet_writer_new(&ok, 1, NULL, mem, &w, &err) == FERRY_OK);
    ferry_parquet_writer_abort(w);
    ferry_parquet_writer_abort(w); /* idempotent */
    CHECK(!ferry_memory_writer_committed(mem));
    ferry_parquet_writer_free(w);
    mem->ops->free(mem);
}

int main(void)
{
    RUN(test_varint_zigzag);
    RUN(test_thrift_struct);
    RUN(test_thrift_long_list);
    RUN(test_rle_known);
    RUN(test_rle_round_trip);
    RUN(test_decimal_bytes);
    RUN(test_writer_framing);
    RUN(test_writer_abort_and_refusals);
    RUN(test_dict_fallback_at_limit);
    RUN(test_dict_first_page_must_pay);
    RUN(test_dict_strings);
    RUN(test_dict_all_null);
    return check_summary();
}
