/*
 * tests/fuzz/fuzz_gzip.c - the gzip and gunzip filters (transfer/gzip.c)
 * over the in-memory writer (transfer/memory.c).
 *
 * Input: byte 0 mode (bit 0: 0 = gunzip the data, 1 = gzip round trip;
 * bit 1: gzip through zlib (FERRY_GZIP_ZLIB=1) instead of ISA-L when the
 * build has ISA-L (FERRY_HAVE_ISAL)),
 * byte 1 chunking (low 2 bits: whole / 1 byte / small / up to 4 KiB; the
 * rest seeds the sizes), byte 2 the gzip level (% 11: 0 and 10 are out of
 * range and mean 6) and, for the round trip, where to cut the compressed
 * stream; the rest is the data.
 *
 * gunzip of any bytes, in any chunk sizes: no crash / leak / UB, and the
 * result is what one-shot zlib (inflate, gzip only, concatenated members
 * read as one stream) says: the same bytes when the input is complete gzip,
 * FERRY_ERR_DATA when it is not gzip or ends inside a member (also for an
 * empty input), and the sink is committed only on success.
 * Round trip: gzip (any level) then gunzip, each in chunks, gives the data
 * back; the compressed stream cut anywhere short of its end is
 * FERRY_ERR_DATA.
 */
#include <zlib.h>

#include "ferry/transfer.h"
#include "fuzz_common.h"

#define OUT_MAX ((size_t)8 << 20) /* decompression bombs stop here */

/* The reference: 1 complete (out filled), 0 truncated, -1 not gzip, -2 too big. */
static int reference_gunzip(const unsigned char *in, size_t len, unsigned char **out, size_t *out_len)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, 15 + 16) != Z_OK)
        abort();
    size_t cap = 4096, n = 0;
    unsigned char *buf = malloc(cap);
    if (!buf)
        abort();
    zs.next_in = (unsigned char *)in;
    zs.avail_in = (uInt)len;
    int result = 0, member_done = 0;
    while (zs.avail_in > 0) {
        if (member_done) {
            inflateReset(&zs);
            member_done = 0;
        }
        if (n == cap) {
            if (cap >= OUT_MAX) {
                result = -2;
                goto out;
            }
            cap *= 2;
            unsigned char *grown = realloc(buf, cap);
            if (!grown)
                abort();
            buf = grown;
        }
        zs.next_out = buf + n;
        zs.avail_out = (uInt)(cap - n);
        int rc = inflate(&zs, Z_NO_FLUSH);
        n = cap - zs.avail_out;
        if (rc == Z_STREAM_END) {
            member_done = 1;
        } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
            result = -1;
            goto out;
        } else if (rc == Z_BUF_ERROR && zs.avail_out > 0) {
            result = -1; /* no progress with room to write: cannot happen with input left */
            goto out;
        }
    }
    /* output still pending inside zlib when the input ran out */
    for (;;) {
        if (member_done)
            break;
        if (n == cap) {
            if (cap >= OUT_MAX) {
                result = -2;
                goto out;
            }
            cap *= 2;
            unsigned char *grown = realloc(buf, cap);
            if (!grown)
                abort();
            buf = grown;
        }
        zs.next_out = buf + n;
        zs.avail_out = (uInt)(cap - n);
        int rc = inflate(&zs, Z_NO_FLUSH);
        n = cap - zs.avail_out;
        if (rc == Z_STREAM_END)
            member_done = 1;
        else if (rc != Z_OK)
            break; /* Z_BUF_ERROR: needs more input */
    }
    result = member_done && len > 0 ? 1 : 0;
out:
    inflateEnd(&zs);
    *out = buf;
    *out_len = n;
    return result;
}

/* Push data through w in chunks, then commit; the first failing status. */
static ferry_status push(ferry_writer *w, const unsigned char *data, size_t len, unsigned mode,
                         fz_rng *rng, ferry_error *err)
{
    ferry_status st = FERRY_OK;
    for (size_t off = 0; st == FERRY_OK && off < len;) {
        size_t n = fz_chunk(rng, mode, len - off);
        st = ferry_writer_write(w, data + off, n, err);
        off += n;
    }
    if (st == FERRY_OK)
        st = w->ops->commit(w, err);
    if (st != FERRY_OK)
        w->ops->abort(w);
    return st;
}

static void fuzz_gunzip(const unsigned char *data, size_t len, uint8_t chunking)
{
    fz_rng rng;
    fz_rng_seed(&rng, chunking);
    ferry_error err;
    ferry_error_clear(&err);
    ferry_writer *mem = NULL, *gz = NULL;
    if (ferry_memory_writer_new(OUT_MAX, &mem, &err) != FERRY_OK ||
        ferry_gunzip_writer_new(mem, &gz, &err) != FERRY_OK)
        abort();
    ferry_status st = push(gz, data, len, chunking & 3, &rng, &err);

    unsigned char *want = NULL;
    size_t want_len = 0;
    int ref = reference_gunzip(data, len, &want, &want_len);
    size_t got_len = 0;
    const unsigned char *got = ferry_memory_writer_data(mem, &got_len);
    if (ref == 1) {
        FUZZ_CHECK(st == FERRY_OK, "complete gzip input failed: %s", err.msg);
        FUZZ_CHECK(ferry_memory_writer_committed(mem), "the sink was not committed");
        FUZZ_CHECK(got_len == want_len && memcmp(got, want, want_len) == 0,
                   "gunzip gave %zu bytes, zlib %zu", got_len, want_len);
    } else if (ref == 0 || ref == -1) {
        FUZZ_CHECK(st == FERRY_ERR_DATA, "%s input gave status %d (%s), want FERRY_ERR_DATA",
                   ref == 0 ? "truncated" : "invalid", st, err.msg);
        FUZZ_CHECK(!ferry_memory_writer_committed(mem), "the sink was committed after a failure");
    } else {
        /* about OUT_MAX or more: the memory sink refuses (a data error) */
        FUZZ_CHECK(st == FERRY_ERR_DATA || st == FERRY_OK, "a bomb gave status %d", st);
    }
    free(want);
    gz->ops->free(gz);
    mem->ops->free(mem);
}

static void fuzz_round_trip(const unsigned char *data, size_t len, uint8_t chunking, uint8_t arg)
{
    fz_rng rng;
    fz_rng_seed(&rng, (uint64_t)chunking << 8 | arg);
    ferry_error err;
    ferry_error_clear(&err);
    ferry_writer *zmem = NULL, *gz = NULL;
    if (ferry_memory_writer_new(0, &zmem, &err) != FERRY_OK ||
        ferry_gzip_writer_new(zmem, arg % 11, &gz, &err) != FERRY_OK)
        abort();
    FUZZ_CHECK(push(gz, data, len, chunking & 3, &rng, &err) == FERRY_OK, "gzip failed: %s", err.msg);
    FUZZ_CHECK(ferry_memory_writer_committed(zmem), "gzip did not commit its sink");
    size_t zlen = 0;
    const unsigned char *z = ferry_memory_writer_data(zmem, &zlen);
    FUZZ_CHECK(zlen >= 18 && z[0] == 0x1f && z[1] == 0x8b, "not a gzip stream (%zu bytes)", zlen);

    /* back again, in other chunks */
    ferry_writer *mem = NULL, *gunz = NULL;
    if (ferry_memory_writer_new(0, &mem, &err) != FERRY_OK ||
        ferry_gunzip_writer_new(mem, &gunz, &err) != FERRY_OK)
        abort();
    ferry_status st = push(gunz, z, zlen, (chunking >> 2) & 3, &rng, &err);
    FUZZ_CHECK(st == FERRY_OK, "gunzip of gzip output failed: %s", err.msg);
    size_t back_len = 0;
    const unsigned char *back = ferry_memory_writer_data(mem, &back_len);
    FUZZ_CHECK(back_len == len && memcmp(back, data, len) == 0,
               "round trip gave %zu bytes for %zu", back_len, len);
    gunz->ops->free(gunz);
    mem->ops->free(mem);

    /* cut short anywhere: a data error */
    size_t cut = (size_t)(fz_rng_next(&rng) % zlen);
    if (ferry_memory_writer_new(0, &mem, &err) != FERRY_OK ||
        ferry_gunzip_writer_new(mem, &gunz, &err) != FERRY_OK)
        abort();
    st = push(gunz, z, cut, (chunking >> 4) & 3, &rng, &err);
    FUZZ_CHECK(st == FERRY_ERR_DATA, "gzip cut at %zu of %zu gave status %d, want FERRY_ERR_DATA",
               cut, zlen, st);
    FUZZ_CHECK(!ferry_memory_writer_committed(mem), "a truncated stream committed the sink");
    gunz->ops->free(gunz);
    mem->ops->free(mem);
    gz->ops->free(gz);
    zmem->ops->free(zmem);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    uint8_t mode = data[0], chunking = data[1], arg = data[2];
    size_t len = size - 3;
    unsigned char *buf = malloc(len ? len : 1);
    if (!buf)
        abort();
    if (len)
        memcpy(buf, data + 3, len);
    if (mode & 2)
        setenv("FERRY_GZIP_ZLIB", "1", 1);
    else
        unsetenv("FERRY_GZIP_ZLIB");
    if (mode & 1)
        fuzz_round_trip(buf, len, chunking, arg);
    else
        fuzz_gunzip(buf, len, chunking);
    free(buf);
    return 0;
}
