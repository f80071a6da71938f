/*
 * tests/fuzz/fuzz_pg_binary.c - the decoder of Postgres's COPY (FORMAT
 * binary) stream (hooks/postgres/pg_binary.c).
 *
 * Input: byte 0: the number of columns (1 + b % 8); then one byte per column
 * picking its type (bool, int2/4/8, float4/8, numeric(38,10), numeric(5,2),
 * numeric(18,4), numeric, text, bytea, date, time, timestamp, timestamptz,
 * uuid, json, jsonb); then a byte seeding the read sizes; the rest is the
 * stream, fed as the typed source feeds it: the undecoded tail kept, more
 * bytes appended.
 *
 * Invariants besides no crash / leak / UB: a decoded batch never holds more
 * rows than its capacity; a var column's offsets start at 0, never decrease
 * and stay inside its data; a NULL's range is empty; the decoder never
 * consumes more than it was given; and the rows counted equal the rows
 * handed out.
 */
#include "fuzz_common.h"
#include "hooks/postgres/pg_binary.h"

static const unsigned type_oids[] = {16, 21, 23, 20, 700, 701, 1700, 1700, 1700, 1700, 25, 17, 1082, 1083,
                                     1114, 1184, 2950, 114, 3802};
static const int type_mods[] = {-1, -1, -1, -1, -1, -1, ((38 << 16) | 10) + 4, ((5 << 16) | 2) + 4,
                                ((18 << 16) | 4) + 4, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1};
#define N_TYPES (sizeof type_oids / sizeof *type_oids)

static void check_batch(const ferry_pg_bin_decoder *d)
{
    const ferry_tbatch *b = &d->batch;
    FUZZ_CHECK(b->n_rows <= d->cap, "%zu rows in a batch of %zu", b->n_rows, d->cap);
    for (size_t c = 0; c < b->n_cols; c++) {
        const ferry_tvector *v = &b->cols[c];
        if (!v->off || b->n_rows == 0)
            continue;
        FUZZ_CHECK(v->off[0] == 0, "column %zu starts at %u", c, v->off[0]);
        for (size_t r = 0; r < b->n_rows; r++) {
            FUZZ_CHECK(v->off[r] <= v->off[r + 1], "column %zu row %zu: offsets decrease", c, r);
            FUZZ_CHECK(v->off[r + 1] <= d->var[c].len, "column %zu row %zu: past the data", c, r);
            if (v->nulls[r])
                FUZZ_CHECK(v->off[r] == v->off[r + 1], "column %zu row %zu: a NULL with bytes", c, r);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    size_t n = 1 + data[0] % 8;
    if (size < 2 + n)
        return 0;
    ferry_tcolumn cols[8];
    unsigned oids[8];
    char names[8][24];
    for (size_t i = 0; i < n; i++) {
        size_t t = data[1 + i] % N_TYPES;
        int cast = 0;
        ferry_pg_bin_type(type_oids[t], type_mods[t], &cols[i], &cast);
        oids[i] = cast ? 25 : type_oids[t];
        snprintf(names[i], sizeof names[i], "c%zu", i);
        cols[i].name = names[i];
    }
    unsigned seed = data[1 + n];
    const uint8_t *stream = data + 2 + n;
    size_t len = size - 2 - n;
    ferry_pg_bin_schema schema = {.n = n, .cols = cols, .oids = oids, .strings = NULL};
    ferry_pg_bin_decoder d;
    ferry_error err;
    ferry_error_clear(&err);
    if (ferry_pg_bin_decoder_init(&d, &schema, 1 + seed % 7, "fuzz", &err) != FERRY_OK)
        return 0;
    size_t pos = 0, avail = 0;
    int64_t handed = 0;
    for (int guard = 0; guard < 100000; guard++) {
        ferry_pg_bin_decoder_reset(&d);
        size_t used = 0;
        ferry_status st = ferry_pg_bin_decode(&d, stream + pos, avail - pos, &used, &err);
        FUZZ_CHECK(used <= avail - pos, "used %zu of %zu", used, avail - pos);
        handed += (int64_t)d.batch.n_rows; /* rows decoded before an error count too */
        if (st != FERRY_OK)
            break;
        check_batch(&d);
        pos += used;
        if (d.ended)
            break;
        if (d.batch.n_rows == d.cap)
            continue;
        if (avail == len)
            break;
        seed = seed * 1103515245u + 12345u;
        avail += 1 + (seed >> 16) % 64;
        if (avail > len)
            avail = len;
    }
    FUZZ_CHECK(handed == d.rows, "handed out %lld rows, counted %lld", (long long)handed, (long long)d.rows);
    ferry_pg_bin_decoder_free(&d);
    return 0;
}
