/*
 * test_parquet.c - the pieces of ferry's Parquet writer that can be checked
 * byte for byte: the Thrift compact encoder (transfer/thrift_compact.c:
 * varints, zigzag, short and long field headers, bools, binary, nested
 * structs, lists) and the RLE/bit-packed hybrid (known encodings, and a
 * reference decoder over random runs of every bit width), the DECIMAL byte
 * widths, and the writer's framing (PAR1, footer length, created_by) with
 * commit and abort reaching the sink.  DuckDB reads real files in
 * tests/integration/parquet.sh.
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
    return check_summary();
}
