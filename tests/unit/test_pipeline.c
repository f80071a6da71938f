/*
 * test_pipeline.c - the streaming core without any server: memory source ->
 * gzip -> gunzip -> memory sink round trips at chunk sizes from 1 byte to
 * 16 MiB, gzip output readable by gzip(1), truncated and concatenated gzip,
 * abort on a failing source or sink, cancellation, and the temp-file spool.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "ferry/ferry.h"
#include "transfer/spool.h"

/* Compressible but not trivial: CSV-like lines with a pseudo-random part. */
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

/* data -> [gzip] -> memory; returns the writer (caller frees) */
static ferry_writer *run_pipeline(const unsigned char *data, size_t len, size_t chunk, int gzip_it,
                                  ferry_status *st_out)
{
    ferry_error err;
    ferry_error_clear(&err);
    ferry_source *src = NULL;
    ferry_writer *sink = NULL, *gz = NULL;
    CHECK(ferry_memory_source_new(data, len, &src, &err) == FERRY_OK);
    CHECK(ferry_memory_writer_new(0, &sink, &err) == FERRY_OK);
    if (gzip_it)
        CHECK(ferry_gzip_writer_new(sink, 6, &gz, &err) == FERRY_OK);
    void *buf = malloc(chunk);
    ferry_summary sum;
    *st_out = ferry_pump(src, gz ? gz : sink, buf, chunk, NULL, &sum, &err);
    if (*st_out == FERRY_OK)
        CHECK_INTEQ(sum.bytes_read, len);
    free(buf);
    if (gz)
        gz->ops->free(gz);
    src->ops->free(src);
    return sink;
}

static int gunzip_equals(const void *gz, size_t gzlen, const unsigned char *want, size_t wantlen, size_t chunk)
{
    ferry_error err;
    ferry_error_clear(&err);
    ferry_source *src = NULL;
    ferry_writer *sink = NULL, *gunz = NULL;
    ferry_memory_source_new(gz, gzlen, &src, &err);
    ferry_memory_writer_new(0, &sink, &err);
    ferry_gunzip_writer_new(sink, &gunz, &err);
    void *buf = malloc(chunk);
    ferry_status st = ferry_pump(src, gunz, buf, chunk, NULL, NULL, &err);
    size_t n;
    const void *out = ferry_memory_writer_data(sink, &n);
    int ok = st == FERRY_OK && n == wantlen && memcmp(out, want, n) == 0 && ferry_memory_writer_committed(sink);
    if (!ok)
        fprintf(stderr, "    gunzip: status %d (%s) got %zu bytes want %zu\n", st, err.msg, n, wantlen);
    free(buf);
    gunz->ops->free(gunz);
    sink->ops->free(sink);
    src->ops->free(src);
    return ok;
}

static void round_trip(size_t len, size_t chunk)
{
    unsigned char *data = make_data(len);
    ferry_status st;
    ferry_writer *sink = run_pipeline(data, len, chunk, 1, &st);
    CHECK_INTEQ(st, FERRY_OK);
    CHECK(ferry_memory_writer_committed(sink));
    size_t gzlen;
    const void *gz = ferry_memory_writer_data(sink, &gzlen);
    CHECK(gzlen > 18);
    if (len > 100000)
        CHECK(gzlen < len / 2); /* it compressed */
    CHECK(gunzip_equals(gz, gzlen, data, len, chunk));
    sink->ops->free(sink);
    free(data);
}

static void test_round_trip_chunk_1_byte(void) { round_trip(200 * 1024, 1); }
static void test_round_trip_chunk_7_bytes(void) { round_trip(300 * 1024 + 3, 7); }
static void test_round_trip_chunk_4k(void) { round_trip(3 * 1024 * 1024 + 11, 4096); }
static void test_round_trip_chunk_1m(void) { round_trip(5 * 1024 * 1024 + 1, 1024 * 1024); }
static void test_round_trip_chunk_16m(void) { round_trip(20 * 1024 * 1024 + 5, 16 * 1024 * 1024); }
static void test_round_trip_empty(void) { round_trip(0, 4096); }

static void test_gzip_readable_by_gzip_tool(void)
{
    size_t len = 2 * 1024 * 1024 + 17;
    unsigned char *data = make_data(len);
    ferry_status st;
    ferry_writer *sink = run_pipeline(data, len, 65536, 1, &st);
    CHECK_INTEQ(st, FERRY_OK);
    size_t gzlen;
    const void *gz = ferry_memory_writer_data(sink, &gzlen);
    char gzpath[] = "/tmp/ferry-test-gz-XXXXXX";
    int fd = mkstemp(gzpath);
    CHECK(fd >= 0);
    CHECK(write(fd, gz, gzlen) == (ssize_t)gzlen);
    close(fd);
    char cmd[256], plainpath[64];
    snprintf(plainpath, sizeof plainpath, "%s.out", gzpath);
    snprintf(cmd, sizeof cmd, "gzip -dc < %s > %s", gzpath, plainpath);
    CHECK(system(cmd) == 0);
    FILE *f = fopen(plainpath, "rb");
    CHECK(f != NULL);
    if (f) {
        unsigned char *back = malloc(len + 1);
        size_t n = fread(back, 1, len + 1, f);
        CHECK_INTEQ(n, len);
        CHECK(memcmp(back, data, len) == 0);
        free(back);
        fclose(f);
    }
    unlink(gzpath);
    unlink(plainpath);
    sink->ops->free(sink);
    free(data);
}

static void test_truncated_gzip_is_data_error(void)
{
    size_t len = 100000;
    unsigned char *data = make_data(len);
    ferry_status st;
    ferry_writer *sink = run_pipeline(data, len, 4096, 1, &st);
    size_t gzlen;
    const void *gz = ferry_memory_writer_data(sink, &gzlen);
    ferry_error err;
    ferry_error_clear(&err);
    ferry_source *src = NULL;
    ferry_writer *out = NULL, *gunz = NULL;
    ferry_memory_source_new(gz, gzlen - 9, &src, &err);
    ferry_memory_writer_new(0, &out, &err);
    ferry_gunzip_writer_new(out, &gunz, &err);
    char buf[4096];
    st = ferry_pump(src, gunz, buf, sizeof buf, NULL, NULL, &err);
    CHECK_INTEQ(st, FERRY_ERR_DATA);
    CHECK(strstr(err.msg, "truncated") != NULL);
    CHECK(!ferry_memory_writer_committed(out));
    gunz->ops->free(gunz);
    out->ops->free(out);
    src->ops->free(src);
    sink->ops->free(sink);
    free(data);
}

static void test_not_gzip_is_data_error(void)
{
    const char *junk = "this is plain text, not gzip\n";
    ferry_error err;
    ferry_error_clear(&err);
    ferry_source *src = NULL;
    ferry_writer *out = NULL, *gunz = NULL;
    ferry_memory_source_new(junk, strlen(junk), &src, &err);
    ferry_memory_writer_new(0, &out, &err);
    ferry_gunzip_writer_new(out, &gunz, &err);
    char buf[64];
    CHECK_INTEQ(ferry_pump(src, gunz, buf, sizeof buf, NULL, NULL, &err), FERRY_ERR_DATA);
    gunz->ops->free(gunz);
    out->ops->free(out);
    src->ops->free(src);
}

static void test_concatenated_members(void)
{
    unsigned char *a = make_data(70000), *b = make_data(33333);
    ferry_status st;
    ferry_writer *sa = run_pipeline(a, 70000, 4096, 1, &st);
    ferry_writer *sb = run_pipeline(b, 33333, 4096, 1, &st);
    size_t la, lb;
    const void *ga = ferry_memory_writer_data(sa, &la);
    const void *gb = ferry_memory_writer_data(sb, &lb);
    unsigned char *both = malloc(la + lb), *want = malloc(70000 + 33333);
    memcpy(both, ga, la);
    memcpy(both + la, gb, lb);
    memcpy(want, a, 70000);
    memcpy(want + 70000, b, 33333);
    CHECK(gunzip_equals(both, la + lb, want, 70000 + 33333, 1000));
    CHECK(gunzip_equals(both, la + lb, want, 70000 + 33333, 1 << 20));
    free(both);
    free(want);
    free(a);
    free(b);
    sa->ops->free(sa);
    sb->ops->free(sb);
}

/* A source that fails on its third read. */
typedef struct failing_source {
    ferry_source base;
    int reads;
} failing_source;

static ferry_status failing_read(ferry_source *s, void *buf, size_t cap, size_t *n, ferry_error *err)
{
    failing_source *f = (failing_source *)s;
    if (++f->reads == 3)
        return ferry_error_set(err, FERRY_ERR_DATA, "test: source failed at read %d", f->reads);
    memset(buf, 'a', cap);
    *n = cap;
    return FERRY_OK;
}

static void failing_free(ferry_source *s) { (void)s; }
static const ferry_source_ops failing_ops = {"failing", failing_read, NULL, failing_free};

static void test_source_failure_aborts_sink(void)
{
    failing_source fs = {{.ops = &failing_ops, .size = -1, .rows = -1}, 0};
    ferry_error err;
    ferry_error_clear(&err);
    ferry_writer *sink = NULL, *gz = NULL;
    ferry_memory_writer_new(0, &sink, &err);
    ferry_gzip_writer_new(sink, 1, &gz, &err);
    char buf[1000];
    ferry_status st = ferry_pump(&fs.base, gz, buf, sizeof buf, NULL, NULL, &err);
    CHECK_INTEQ(st, FERRY_ERR_DATA);
    CHECK(strstr(err.msg, "read 3") != NULL);
    CHECK(!ferry_memory_writer_committed(sink));
    size_t n;
    ferry_memory_writer_data(sink, &n);
    CHECK_INTEQ(n, 0); /* the memory sink's abort drops what it had */
    gz->ops->free(gz);
    sink->ops->free(sink);
}

static void test_sink_failure_stops_pump(void)
{
    unsigned char *data = make_data(100000);
    ferry_error err;
    ferry_error_clear(&err);
    ferry_source *src = NULL;
    ferry_writer *sink = NULL;
    ferry_memory_source_new(data, 100000, &src, &err);
    ferry_memory_writer_new(5000, &sink, &err); /* refuses more than 5000 bytes */
    char buf[1024];
    CHECK_INTEQ(ferry_pump(src, sink, buf, sizeof buf, NULL, NULL, &err), FERRY_ERR_DATA);
    CHECK(!ferry_memory_writer_committed(sink));
    sink->ops->free(sink);
    src->ops->free(src);
    free(data);
}

static void test_cancel_interrupts(void)
{
    unsigned char *data = make_data(100000);
    ferry_error err;
    ferry_error_clear(&err);
    ferry_source *src = NULL;
    ferry_writer *sink = NULL;
    ferry_memory_source_new(data, 100000, &src, &err);
    ferry_memory_writer_new(0, &sink, &err);
    ferry_cancel_request(15);
    char buf[1024];
    CHECK_INTEQ(ferry_pump(src, sink, buf, sizeof buf, NULL, NULL, &err), FERRY_ERR_INTERRUPTED);
    CHECK(!ferry_memory_writer_committed(sink));
    ferry_cancel_reset();
    sink->ops->free(sink);
    src->ops->free(src);
    free(data);
}

static void test_spool_round_trip(void)
{
    size_t len = 3 * 1024 * 1024 + 5;
    unsigned char *data = make_data(len);
    ferry_error err;
    ferry_error_clear(&err);
    ferry_source *src = NULL, *spooled = NULL;
    ferry_memory_source_new(data, len, &src, &err);
    char buf[65536];
    int64_t rows = 0;
    CHECK_INTEQ(ferry_spool_source(src, buf, sizeof buf, &rows, &spooled, &err), FERRY_OK);
    src->ops->free(src);
    ferry_writer *sink = NULL;
    ferry_memory_writer_new(0, &sink, &err);
    CHECK_INTEQ(ferry_pump(spooled, sink, buf, sizeof buf, NULL, NULL, &err), FERRY_OK);
    size_t n;
    const void *out = ferry_memory_writer_data(sink, &n);
    CHECK_INTEQ(n, len);
    CHECK(memcmp(out, data, len) == 0);
    spooled->ops->free(spooled);
    sink->ops->free(sink);
    free(data);
}

static void test_spool_bad_tmpdir(void)
{
    const char *old = getenv("TMPDIR");
    char *saved = old ? strdup(old) : NULL;
    setenv("TMPDIR", "/nonexistent/ferry-test-dir", 1);
    ferry_error err;
    ferry_error_clear(&err);
    ferry_source *src = NULL, *spooled = NULL;
    ferry_memory_source_new("abc", 3, &src, &err);
    char buf[64];
    int64_t rows;
    CHECK_INTEQ(ferry_spool_source(src, buf, sizeof buf, &rows, &spooled, &err), FERRY_ERR_IO);
    CHECK(strstr(err.msg, "/nonexistent/ferry-test-dir") != NULL);
    src->ops->free(src);
    if (saved) {
        setenv("TMPDIR", saved, 1);
        free(saved);
    } else {
        unsetenv("TMPDIR");
    }
}

int main(void)
{
    RUN(test_round_trip_chunk_1_byte);
    RUN(test_round_trip_chunk_7_bytes);
    RUN(test_round_trip_chunk_4k);
    RUN(test_round_trip_chunk_1m);
    RUN(test_round_trip_chunk_16m);
    RUN(test_round_trip_empty);
    RUN(test_gzip_readable_by_gzip_tool);
    RUN(test_truncated_gzip_is_data_error);
    RUN(test_not_gzip_is_data_error);
    RUN(test_concatenated_members);
    RUN(test_source_failure_aborts_sink);
    RUN(test_sink_failure_stops_pump);
    RUN(test_cancel_interrupts);
    RUN(test_spool_round_trip);
    RUN(test_spool_bad_tmpdir);
    return check_summary();
}
