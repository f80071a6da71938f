/*
 * test_gzip_par.c - parallel gzip (transfer/gzip_par.c): round trips through
 * ferry's gunzip at many sizes, block sizes, thread and slot counts and chunk
 * sizes (both engines: ISA-L when built in, zlib with FERRY_GZIP_ZLIB=1); the
 * output is read whole by gzip -t and by Python's gzip module; a failing sink
 * and cancellation stop the workers and abort the chain; the level mapping.
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "ferry/ferry.h"
#include "transfer/budget.h"

static unsigned char *make_data(size_t n, int random_tail)
{
    unsigned char *d = malloc(n ? n : 1);
    uint64_t x = 88172645463325252ULL;
    size_t i = 0;
    while (i < n) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        if (random_tail && i >= n / 2) { /* incompressible half: stored blocks */
            d[i++] = (unsigned char)x;
            continue;
        }
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

/* data -> parallel gzip -> memory sink; returns the sink (caller frees) */
static ferry_writer *par_gzip(const unsigned char *data, size_t len, size_t chunk, int threads, size_t block,
                              int slots, ferry_status *st)
{
    ferry_error err;
    ferry_error_clear(&err);
    ferry_source *src = NULL;
    ferry_writer *sink = NULL, *gz = NULL;
    CHECK(ferry_memory_source_new(data, len, &src, &err) == FERRY_OK);
    CHECK(ferry_memory_writer_new(0, &sink, &err) == FERRY_OK);
    CHECK(ferry_gzip_par_writer_new(sink, 6, threads, block, slots, &gz, &err) == FERRY_OK);
    void *buf = malloc(chunk);
    *st = ferry_pump(src, gz, buf, chunk, NULL, NULL, &err);
    if (*st != FERRY_OK)
        fprintf(stderr, "    pump: %s\n", err.msg);
    free(buf);
    gz->ops->free(gz);
    src->ops->free(src);
    return sink;
}

static int gunzip_equals(const void *gz, size_t gzlen, const unsigned char *want, size_t wantlen)
{
    ferry_error err;
    ferry_error_clear(&err);
    ferry_source *src = NULL;
    ferry_writer *sink = NULL, *gunz = NULL;
    ferry_memory_source_new(gz, gzlen, &src, &err);
    ferry_memory_writer_new(0, &sink, &err);
    ferry_gunzip_writer_new(sink, &gunz, &err);
    static unsigned char buf[65536];
    ferry_status st = ferry_pump(src, gunz, buf, sizeof buf, NULL, NULL, &err);
    size_t n;
    const void *out = ferry_memory_writer_data(sink, &n);
    int ok = st == FERRY_OK && n == wantlen && (n == 0 || memcmp(out, want, n) == 0);
    if (!ok)
        fprintf(stderr, "    gunzip: status %d (%s) got %zu bytes want %zu\n", st, err.msg, n, wantlen);
    gunz->ops->free(gunz);
    sink->ops->free(sink);
    src->ops->free(src);
    return ok;
}

static void round_trip(size_t len, size_t chunk, int threads, size_t block, int slots, int random_tail)
{
    unsigned char *data = make_data(len, random_tail);
    ferry_status st;
    ferry_writer *sink = par_gzip(data, len, chunk, threads, block, slots, &st);
    CHECK_INTEQ(st, FERRY_OK);
    CHECK(ferry_memory_writer_committed(sink));
    size_t gzlen;
    const void *gz = ferry_memory_writer_data(sink, &gzlen);
    CHECK(gzlen >= 20);
    if (len > 100000 && !random_tail)
        CHECK(gzlen < len / 2);
    CHECK(gunzip_equals(gz, gzlen, data, len));
    sink->ops->free(sink);
    free(data);
}

static void both_engines(void (*fn)(void))
{
    unsetenv("FERRY_GZIP_ZLIB");
    fn();
    setenv("FERRY_GZIP_ZLIB", "1", 1);
    fn();
    unsetenv("FERRY_GZIP_ZLIB");
}

static void sizes(void)
{
    round_trip(0, 4096, 2, 64 * 1024, 0, 0);                     /* empty: one empty member */
    round_trip(1, 4096, 2, 64 * 1024, 0, 0);
    round_trip(64 * 1024, 4096, 2, 64 * 1024, 0, 0);             /* exactly one block */
    round_trip(64 * 1024 + 1, 4096, 2, 64 * 1024, 0, 0);         /* one block and one byte */
    round_trip(3 * 1024 * 1024 + 7, 1000, 3, 100 * 1000, 0, 0);  /* many blocks, odd sizes */
    round_trip(2 * 1024 * 1024, 1, 2, 256 * 1024, 0, 0);         /* 1-byte chunks */
    round_trip(5 * 1024 * 1024 + 3, 4 * 1024 * 1024, 4, 512 * 1024, 5, 0); /* chunk > block */
    round_trip(4 * 1024 * 1024, 65536, 2, 1024 * 1024, 3, 1);    /* incompressible half */
    round_trip(9 * 1024 * 1024 + 5, 1024 * 1024, 2, 0, 0, 0);    /* default 8 MiB block */
    round_trip(2 * 1024 * 1024 + 9, 7777, 1, 128 * 1024, 2, 0);  /* one worker, smallest ring */
}

static void test_round_trips(void) { both_engines(sizes); }

/* gzip -t and Python's gzip module read every member */
static void tools_read_it(void)
{
    size_t len = 6 * 1024 * 1024 + 123;
    unsigned char *data = make_data(len, 0);
    ferry_status st;
    ferry_writer *sink = par_gzip(data, len, 65536, 2, 1024 * 1024, 0, &st);
    CHECK_INTEQ(st, FERRY_OK);
    size_t gzlen;
    const void *gz = ferry_memory_writer_data(sink, &gzlen);
    char gzpath[] = "/tmp/ferry-test-gzpar-XXXXXX";
    int fd = mkstemp(gzpath);
    CHECK(fd >= 0);
    CHECK(write(fd, gz, gzlen) == (ssize_t)gzlen);
    close(fd);
    char plain[64], cmd[512];
    snprintf(plain, sizeof plain, "%s.plain", gzpath);
    FILE *f = fopen(plain, "wb");
    CHECK(f && fwrite(data, 1, len, f) == len);
    fclose(f);
    snprintf(cmd, sizeof cmd, "gzip -t < %s", gzpath);
    CHECK(system(cmd) == 0);
    snprintf(cmd, sizeof cmd, "gzip -dc < %s | cmp -s - %s", gzpath, plain);
    CHECK(system(cmd) == 0);
    snprintf(cmd, sizeof cmd,
             "python3 -c 'import gzip,sys; a=gzip.open(sys.argv[1]).read(); b=open(sys.argv[2],\"rb\").read(); "
             "sys.exit(0 if a==b else 1)' %s %s",
             gzpath, plain);
    CHECK(system(cmd) == 0);
    unlink(gzpath);
    unlink(plain);
    sink->ops->free(sink);
    free(data);
}

static void test_gzip_tool_and_python_read_members(void) { both_engines(tools_read_it); }

/* a sink that fails stops the workers; the chain is aborted, nothing committed */
static void test_failing_sink_aborts(void)
{
    size_t len = 8 * 1024 * 1024;
    unsigned char *data = make_data(len, 1);
    ferry_error err;
    ferry_error_clear(&err);
    ferry_source *src = NULL;
    ferry_writer *sink = NULL, *gz = NULL;
    ferry_memory_source_new(data, len, &src, &err);
    ferry_memory_writer_new(100 * 1000, &sink, &err); /* fails after 100 kB */
    CHECK(ferry_gzip_par_writer_new(sink, 6, 2, 256 * 1024, 0, &gz, &err) == FERRY_OK);
    static unsigned char buf[65536];
    ferry_status st = ferry_pump(src, gz, buf, sizeof buf, NULL, NULL, &err);
    CHECK_INTEQ(st, FERRY_ERR_DATA);
    CHECK(strstr(err.msg, "memory sink") != NULL);
    CHECK(!ferry_memory_writer_committed(sink));
    gz->ops->abort(gz); /* idempotent */
    gz->ops->free(gz);
    sink->ops->free(sink);
    src->ops->free(src);
    free(data);
}

/* free() without commit or abort joins the workers too (no leak, no hang) */
static void test_free_midway(void)
{
    ferry_error err;
    ferry_error_clear(&err);
    ferry_writer *sink = NULL, *gz = NULL;
    ferry_memory_writer_new(0, &sink, &err);
    CHECK(ferry_gzip_par_writer_new(sink, 1, 3, 64 * 1024, 0, &gz, &err) == FERRY_OK);
    unsigned char *data = make_data(1024 * 1024, 0);
    CHECK(ferry_writer_write(gz, data, 1024 * 1024, &err) == FERRY_OK);
    gz->ops->free(gz);
    sink->ops->free(sink);
    free(data);
}

/* cancellation: the next write or commit returns FERRY_ERR_INTERRUPTED */
static void test_cancel(void)
{
    ferry_error err;
    ferry_error_clear(&err);
    ferry_writer *sink = NULL, *gz = NULL;
    ferry_memory_writer_new(0, &sink, &err);
    CHECK(ferry_gzip_par_writer_new(sink, 6, 2, 64 * 1024, 0, &gz, &err) == FERRY_OK);
    unsigned char *data = make_data(4 * 1024 * 1024, 0);
    CHECK(ferry_writer_write(gz, data, 1024 * 1024, &err) == FERRY_OK);
    ferry_cancel_request(SIGTERM);
    ferry_status st = ferry_writer_write(gz, data, 3 * 1024 * 1024, &err);
    if (st == FERRY_OK)
        st = gz->ops->commit(gz, &err);
    CHECK_INTEQ(st, FERRY_ERR_INTERRUPTED);
    gz->ops->abort(gz);
    CHECK(!ferry_memory_writer_committed(sink));
    ferry_cancel_reset();
    gz->ops->free(gz);
    sink->ops->free(sink);
    free(data);
}

/* the writer the copy picks: inline for 1 thread, parallel above */
static void test_compress_writer_choice(void)
{
    ferry_copy_options o;
    ferry_copy_options_init(&o);
    ferry_error err;
    ferry_error_clear(&err);
    ferry_writer *sink = NULL, *w = NULL;
    ferry_memory_writer_new(0, &sink, &err);
    o.compress_threads = 1;
    CHECK(ferry_compress_writer_new(FERRY_COMPRESS_GZIP, sink, &o, &w, &err) == FERRY_OK);
    CHECK_STREQ(w->ops->name, "gzip");
    w->ops->free(w);
    o.compress_threads = 2;
    CHECK(ferry_compress_writer_new(FERRY_COMPRESS_GZIP, sink, &o, &w, &err) == FERRY_OK);
    CHECK_STREQ(w->ops->name, "gzip (parallel)");
    w->ops->free(w);
    sink->ops->free(sink);
    CHECK_INTEQ(ferry_gzip_isal_level(1), 1);
    CHECK_INTEQ(ferry_gzip_isal_level(3), 1);
    CHECK_INTEQ(ferry_gzip_isal_level(6), 2);
    CHECK_INTEQ(ferry_gzip_isal_level(9), 3);
}

int main(void)
{
    RUN(test_round_trips);
    RUN(test_gzip_tool_and_python_read_members);
    RUN(test_failing_sink_aborts);
    RUN(test_free_midway);
    RUN(test_cancel);
    RUN(test_compress_writer_choice);
    return check_summary();
}
