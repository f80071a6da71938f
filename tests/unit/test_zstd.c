/*
 * test_zstd.c - the zstd and unzstd filters (transfer/zstd.c): round trips
 * inline and with libzstd's workers at several chunk sizes, output accepted
 * by zstd -t and equal after zstd -d, concatenated frames read as one stream,
 * truncated, corrupt and empty input are FERRY_ERR_DATA, the level mapping.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "ferry/ferry.h"
#include "transfer/budget.h"

static unsigned char *make_data(size_t n)
{
    unsigned char *d = malloc(n ? n : 1);
    uint64_t x = 88172645463325252ULL;
    size_t i = 0;
    while (i < n) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        int len = snprintf((char *)d + i, n - i, "%llu,\"name %llu\",%llu.%02llu\n",
                           (unsigned long long)(i / 40), (unsigned long long)(x % 1000),
                           (unsigned long long)(x % 100000), (unsigned long long)(x % 100));
        if (len < 0 || (size_t)len >= n - i) {
            memset(d + i, 'x', n - i);
            break;
        }
        i += (size_t)len;
    }
    return d;
}

/* data -> zstd -> memory (caller frees the sink) */
static ferry_writer *compress(const unsigned char *data, size_t len, size_t chunk, int level, int threads,
                              size_t block)
{
    ferry_error err;
    ferry_error_clear(&err);
    ferry_source *src = NULL;
    ferry_writer *sink = NULL, *z = NULL;
    ferry_memory_source_new(data, len, &src, &err);
    ferry_memory_writer_new(0, &sink, &err);
    CHECK(ferry_zstd_writer_new(sink, level, threads, block, &z, &err) == FERRY_OK);
    void *buf = malloc(chunk);
    ferry_status st = ferry_pump(src, z, buf, chunk, NULL, NULL, &err);
    CHECK_INTEQ(st, FERRY_OK);
    CHECK(ferry_memory_writer_committed(sink));
    free(buf);
    z->ops->free(z);
    src->ops->free(src);
    return sink;
}

/* zst -> unzstd -> memory: status, and whether the output equals want */
static ferry_status decompress(const void *zst, size_t zlen, size_t chunk, const unsigned char *want,
                               size_t wantlen, int *equal, ferry_error *err)
{
    ferry_source *src = NULL;
    ferry_writer *sink = NULL, *u = NULL;
    ferry_memory_source_new(zst, zlen, &src, err);
    ferry_memory_writer_new(0, &sink, err);
    CHECK(ferry_unzstd_writer_new(sink, &u, err) == FERRY_OK);
    void *buf = malloc(chunk);
    ferry_status st = ferry_pump(src, u, buf, chunk, NULL, NULL, err);
    size_t n;
    const void *out = ferry_memory_writer_data(sink, &n);
    *equal = st == FERRY_OK && n == wantlen && (n == 0 || memcmp(out, want, n) == 0);
    if (st == FERRY_OK)
        CHECK(ferry_memory_writer_committed(sink));
    else
        CHECK(!ferry_memory_writer_committed(sink));
    free(buf);
    u->ops->free(u);
    sink->ops->free(sink);
    src->ops->free(src);
    return st;
}

static void round_trip(size_t len, size_t chunk, int level, int threads, size_t block)
{
    unsigned char *data = make_data(len);
    ferry_writer *sink = compress(data, len, chunk, level, threads, block);
    size_t zlen;
    const void *z = ferry_memory_writer_data(sink, &zlen);
    CHECK(zlen >= 9);
    if (len > 100000)
        CHECK(zlen < len / 2);
    ferry_error err;
    ferry_error_clear(&err);
    int equal = 0;
    CHECK_INTEQ(decompress(z, zlen, chunk, data, len, &equal, &err), FERRY_OK);
    CHECK(equal);
    sink->ops->free(sink);
    free(data);
}

static void test_round_trips(void)
{
    round_trip(0, 4096, 6, 1, 0);
    round_trip(1, 4096, 6, 1, 0);
    round_trip(300 * 1024 + 3, 7, 1, 1, 0);
    round_trip(3 * 1024 * 1024 + 11, 65536, 6, 1, 0);
    round_trip(3 * 1024 * 1024 + 11, 65536, 9, 1, 0);
    round_trip(6 * 1024 * 1024 + 5, 1024 * 1024, 6, 2, 1024 * 1024); /* workers, 1 MiB jobs */
    round_trip(2 * 1024 * 1024, 1, 3, 2, 0);                         /* 1-byte chunks */
}

static void test_zstd_tool_reads_it(void)
{
    size_t len = 5 * 1024 * 1024 + 77;
    unsigned char *data = make_data(len);
    ferry_writer *sink = compress(data, len, 65536, 6, 2, 1024 * 1024);
    size_t zlen;
    const void *z = ferry_memory_writer_data(sink, &zlen);
    char path[] = "/tmp/ferry-test-zstd-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0 && write(fd, z, zlen) == (ssize_t)zlen);
    close(fd);
    char plain[64], cmd[512];
    snprintf(plain, sizeof plain, "%s.plain", path);
    FILE *f = fopen(plain, "wb");
    CHECK(f && fwrite(data, 1, len, f) == len);
    fclose(f);
    snprintf(cmd, sizeof cmd, "zstd -q -t %s", path);
    CHECK(system(cmd) == 0);
    snprintf(cmd, sizeof cmd, "zstd -q -dc < %s | cmp -s - %s", path, plain);
    CHECK(system(cmd) == 0);
    unlink(path);
    unlink(plain);
    sink->ops->free(sink);
    free(data);
}

static void test_concatenated_frames(void)
{
    unsigned char *a = make_data(100000), *b = make_data(50000);
    ferry_writer *sa = compress(a, 100000, 4096, 3, 1, 0), *sb = compress(b, 50000, 4096, 3, 1, 0);
    size_t la, lb;
    const unsigned char *za = ferry_memory_writer_data(sa, &la), *zb = ferry_memory_writer_data(sb, &lb);
    unsigned char *cat = malloc(la + lb), *want = malloc(150000);
    memcpy(cat, za, la);
    memcpy(cat + la, zb, lb);
    memcpy(want, a, 100000);
    memcpy(want + 100000, b, 50000);
    ferry_error err;
    ferry_error_clear(&err);
    int equal = 0;
    CHECK_INTEQ(decompress(cat, la + lb, 1000, want, 150000, &equal, &err), FERRY_OK);
    CHECK(equal);
    sa->ops->free(sa);
    sb->ops->free(sb);
    free(a);
    free(b);
    free(cat);
    free(want);
}

static void test_truncated_corrupt_empty(void)
{
    size_t len = 1024 * 1024;
    unsigned char *data = make_data(len);
    ferry_writer *sink = compress(data, len, 65536, 6, 1, 0);
    size_t zlen;
    const unsigned char *z = ferry_memory_writer_data(sink, &zlen);
    ferry_error err;
    int equal;
    /* cut short anywhere: header, middle, just before the checksum */
    size_t cuts[] = {3, zlen / 2, zlen - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        ferry_error_clear(&err);
        CHECK_INTEQ(decompress(z, cuts[i], 4096, data, len, &equal, &err), FERRY_ERR_DATA);
        CHECK(strstr(err.msg, "truncated") != NULL || strstr(err.msg, "not valid zstd") != NULL);
    }
    ferry_error_clear(&err);
    CHECK_INTEQ(decompress(z, zlen - 1, 4096, data, len, &equal, &err), FERRY_ERR_DATA);
    CHECK(strstr(err.msg, "truncated zstd input") != NULL);
    /* a flipped byte in the middle: bad data or a checksum mismatch */
    unsigned char *bad = malloc(zlen);
    memcpy(bad, z, zlen);
    bad[zlen / 2] ^= 0x55;
    ferry_error_clear(&err);
    CHECK_INTEQ(decompress(bad, zlen, 4096, data, len, &equal, &err), FERRY_ERR_DATA);
    CHECK(strstr(err.msg, "not valid zstd data") != NULL);
    /* plain text, and nothing at all */
    const char *junk = "this is plain text, not zstd\n";
    ferry_error_clear(&err);
    CHECK_INTEQ(decompress(junk, strlen(junk), 4096, data, len, &equal, &err), FERRY_ERR_DATA);
    ferry_error_clear(&err);
    CHECK_INTEQ(decompress("", 0, 4096, data, len, &equal, &err), FERRY_ERR_DATA);
    free(bad);
    sink->ops->free(sink);
    free(data);
}

static void test_levels(void)
{
    CHECK_INTEQ(ferry_zstd_level(1), 1);
    CHECK_INTEQ(ferry_zstd_level(6), 3);
    CHECK_INTEQ(ferry_zstd_level(9), 9);
    CHECK_INTEQ(ferry_zstd_level(0), 3);
    CHECK(ferry_zstd_max_threads() >= 0);
}

int main(void)
{
    RUN(test_round_trips);
    RUN(test_zstd_tool_reads_it);
    RUN(test_concatenated_frames);
    RUN(test_truncated_corrupt_empty);
    RUN(test_levels);
    return check_summary();
}
