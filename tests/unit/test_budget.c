/*
 * test_budget.c - --max-memory (transfer/budget.c): the default changes
 * nothing; a bound lowers S3 concurrency first, then the part size (never
 * below 5 MiB), then the compression block and threads, and gives
 * concurrency back when it fits; a bound below the minimum is a usage error
 * that names the minimum; the estimate counts every piece (the SFTP sink's
 * buffer per write session too).
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "ferry/ferry.h"
#include "transfer/budget.h"

#define MiB ((size_t)1024 * 1024)

static ferry_endpoint *parse(const char *text, int is_dest)
{
    ferry_error err;
    ferry_error_clear(&err);
    ferry_endpoint *ep = NULL;
    if (ferry_endpoint_parse(text, NULL, is_dest, &ep, &err) != FERRY_OK)
        fprintf(stderr, "    parse %s: %s\n", text, err.msg);
    return ep;
}

static void test_default_changes_nothing(void)
{
    ferry_endpoint *src = parse("/tmp/in.csv", 0), *dst = parse("s3://bucket/out.csv.gz", 1);
    CHECK(src && dst);
    ferry_copy_options o, before;
    ferry_copy_options_init(&o);
    before = o;
    ferry_error err;
    ferry_error_clear(&err);
    CHECK_INTEQ(ferry_budget_apply(src, dst, &o, &err), FERRY_OK);
    CHECK(memcmp(&o, &before, sizeof o) == 0);
    ferry_endpoint_free(src);
    ferry_endpoint_free(dst);
}

static void test_s3_concurrency_then_part_size(void)
{
    ferry_endpoint *src = parse("/tmp/in.csv", 0), *dst = parse("s3://bucket/out.csv", 1);
    ferry_copy_options o;
    ferry_copy_options_init(&o);
    ferry_error err;
    ferry_error_clear(&err);
    o.max_memory = 32 * MiB; /* 1 + 4 x 8 = 33 -> 3 parts in flight */
    CHECK_INTEQ(ferry_budget_apply(src, dst, &o, &err), FERRY_OK);
    CHECK_INTEQ(o.s3_concurrency, 3);
    CHECK_INTEQ(o.s3_part_size, 8 * MiB);
    ferry_copy_options_init(&o);
    o.max_memory = 8 * MiB; /* 1 + 1 x 7 */
    CHECK_INTEQ(ferry_budget_apply(src, dst, &o, &err), FERRY_OK);
    CHECK_INTEQ(o.s3_concurrency, 1);
    CHECK_INTEQ(o.s3_part_size, 7 * MiB);
    ferry_copy_options_init(&o);
    o.max_memory = 11 * MiB; /* concurrency goes first: 1 + 1 x 8 */
    CHECK_INTEQ(ferry_budget_apply(src, dst, &o, &err), FERRY_OK);
    CHECK_INTEQ(o.s3_part_size, 8 * MiB);
    CHECK_INTEQ(o.s3_concurrency, 1);
    ferry_copy_options_init(&o);
    o.max_memory = 6 * MiB; /* the part size stops at S3's 5 MiB */
    CHECK_INTEQ(ferry_budget_apply(src, dst, &o, &err), FERRY_OK);
    CHECK_INTEQ(o.s3_part_size, 5 * MiB);
    CHECK_INTEQ(o.s3_concurrency, 1);
    ferry_budget b;
    ferry_budget_estimate(src, dst, &o, &b);
    CHECK(b.total <= 6 * MiB);
    ferry_copy_options_init(&o);
    o.max_memory = 5 * MiB;
    CHECK_INTEQ(ferry_budget_apply(src, dst, &o, &err), FERRY_ERR_USAGE);
    CHECK(strstr(err.msg, "at least 6M") != NULL);
    ferry_endpoint_free(src);
    ferry_endpoint_free(dst);
}

static void test_compression_shrinks_last(void)
{
    ferry_endpoint *src = parse("/tmp/in.csv", 0), *dst = parse("s3://bucket/out.csv.gz", 1);
    ferry_copy_options o;
    ferry_copy_options_init(&o);
    ferry_error err;
    ferry_error_clear(&err);
    o.compress_threads = 2;
    o.max_memory = 32 * MiB;
    CHECK_INTEQ(ferry_budget_apply(src, dst, &o, &err), FERRY_OK);
    CHECK_INTEQ(o.compress_threads, 2);       /* kept, with 2 MiB blocks */
    CHECK_INTEQ(o.compress_block, 2 * MiB);
    CHECK_INTEQ(o.s3_part_size, 5 * MiB);
    CHECK_INTEQ(o.s3_concurrency, 2);         /* given back once the ring shrank */
    ferry_budget b;
    ferry_budget_estimate(src, dst, &o, &b);
    CHECK(b.total <= 32 * MiB);
    CHECK(b.compress > 0 && b.parts > 0 && b.chunk == MiB);
    /* tighter: threads drop to 1 (inline gzip) */
    ferry_copy_options_init(&o);
    o.compress_threads = 4;
    o.max_memory = 8 * MiB;
    CHECK_INTEQ(ferry_budget_apply(src, dst, &o, &err), FERRY_OK);
    CHECK_INTEQ(o.compress_threads, 1);
    CHECK_INTEQ(o.s3_concurrency, 1);
    ferry_endpoint_free(src);
    ferry_endpoint_free(dst);
}

static void test_too_small_names_minimum(void)
{
    ferry_endpoint *src = parse("/tmp/in.csv.zst", 0), *dst = parse("s3://bucket/out.csv.gz", 1);
    ferry_copy_options o;
    ferry_copy_options_init(&o);
    ferry_error err;
    ferry_error_clear(&err);
    o.max_memory = 4 * MiB; /* 1 chunk + 9 unzstd + 1 gzip + 5 part = 16 MiB minimum */
    CHECK_INTEQ(ferry_budget_apply(src, dst, &o, &err), FERRY_ERR_USAGE);
    CHECK(strstr(err.msg, "at least 16M") != NULL);
    CHECK(strstr(err.msg, "--max-memory 4M") != NULL);
    ferry_endpoint_free(src);
    ferry_endpoint_free(dst);
}

static void test_sftp_read_ahead_counted(void)
{
    ferry_endpoint *src = parse("sftp://u@127.0.0.1/big.csv", 0), *dst = parse("/tmp/out.csv", 1);
    CHECK(src && dst);
    ferry_copy_options o;
    ferry_copy_options_init(&o);
    ferry_budget b;
    ferry_budget_estimate(src, dst, &o, &b);
    CHECK_INTEQ(b.buffers, 64 * MiB); /* 2 x 4 sessions x 8 MiB */
    CHECK_INTEQ(b.total, 65 * MiB);
    ferry_endpoint_free(src);
    ferry_endpoint_free(dst);
}

/* the SFTP sink: one 4 MiB buffer per write session (1 by default, 1 for a
 * file known to be below 16 MiB, as many as write_sessions says) */
static void test_sftp_write_sessions_counted(void)
{
    ferry_endpoint *src = parse("/tmp/in.bin", 0), *dst = parse("sftp://u@127.0.0.1/big.bin", 1);
    ferry_endpoint *dst3 = parse("sftp://u@127.0.0.1/big.bin?write_sessions=3", 1);
    CHECK(src && dst && dst3);
    ferry_copy_options o;
    ferry_copy_options_init(&o);
    ferry_budget b;
    ferry_budget_estimate(src, dst, &o, &b);
    CHECK_INTEQ(b.buffers, 4 * MiB);
    ferry_budget_estimate(src, dst3, &o, &b);
    CHECK_INTEQ(b.buffers, 12 * MiB);
    o.source_size = 12288;   /* a small file never starts a helper */
    ferry_budget_estimate(src, dst3, &o, &b);
    CHECK_INTEQ(b.buffers, 4 * MiB);
    ferry_endpoint_free(src);
    ferry_endpoint_free(dst);
    ferry_endpoint_free(dst3);
}

int main(void)
{
    RUN(test_default_changes_nothing);
    RUN(test_s3_concurrency_then_part_size);
    RUN(test_compression_shrinks_last);
    RUN(test_too_small_names_minimum);
    RUN(test_sftp_read_ahead_counted);
    RUN(test_sftp_write_sessions_counted);
    return check_summary();
}
