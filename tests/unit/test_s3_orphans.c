/*
 * test_s3_orphans.c - which multipart uploads the cleanup after an
 * interrupted CreateMultipartUpload aborts (ferry_s3_orphan_match): only the same
 * key, only uploads initiated since just before the request, never one whose
 * initiation time is unknown.  The live path is in tests/integration/s3_engine.sh.
 */
#include "check.h"
#include "hooks/s3/s3_internal.h"

static void test_same_key_only(void)
{
    CHECK(ferry_s3_orphan_match("a/b.csv", "a/b.csv", 1000, 990));
    CHECK(!ferry_s3_orphan_match("a/b.csv", "a/b.csv.gz", 1000, 990));    /* listed by prefix */
    CHECK(!ferry_s3_orphan_match("a/b.csv", "a/b.cs", 1000, 990));
    CHECK(!ferry_s3_orphan_match("a/b.csv", "A/b.csv", 1000, 990));
    CHECK(!ferry_s3_orphan_match("a/b.csv", NULL, 1000, 990));
    CHECK(!ferry_s3_orphan_match(NULL, "a/b.csv", 1000, 990));
}

static void test_time_window(void)
{
    CHECK(ferry_s3_orphan_match("k", "k", 990, 990));                      /* the boundary counts */
    CHECK(ferry_s3_orphan_match("k", "k", 5000, 990));                     /* later: ours */
    CHECK(!ferry_s3_orphan_match("k", "k", 989, 990));                     /* older: someone else's */
    CHECK(!ferry_s3_orphan_match("k", "k", -1, 990));                      /* unknown: never */
    CHECK(!ferry_s3_orphan_match("k", "k", -1, -5));
    CHECK(S3_ORPHAN_SLACK >= 1 && S3_ORPHAN_SLACK <= 600);
}

static void test_iso_times(void)
{
    /* what ListMultipartUploads sends as <Initiated> */
    int64_t t = ferry_s3_parse_iso8601("2026-11-22T08:00:00.000Z");
    CHECK(t > 0);
    CHECK(ferry_s3_orphan_match("k", "k", t, t - S3_ORPHAN_SLACK));
    CHECK(!ferry_s3_orphan_match("k", "k", ferry_s3_parse_iso8601("2026-11-22T07:58:59.999Z"),
                                 t - S3_ORPHAN_SLACK));
}

int main(void)
{
    RUN(test_same_key_only);
    RUN(test_time_window);
    RUN(test_iso_times);
    return check_summary();
}
