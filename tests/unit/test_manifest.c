/*
 * test_manifest.c - partition sidecars and manifests (transfer/manifest.c,
 * ferry/manifest.h) without a server: a sidecar written and read back keeps
 * every field (ranges from core/keyrange.c and ctid page ranges), malformed
 * JSON and missing fields are refused, and ferry_manifest_check accepts
 * ranges that tile and refuses overlaps, gaps, closed first/last ranges,
 * mixed keys, duplicates, other N and missing partitions, in any input
 * order.  Last, `ferry manifest` end to end on a local directory.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "check.h"
#include "core/keyrange.h"
#include "ferry/manifest.h"

/* Sidecar k of n, range from the JSON given (NULL: none), formatted and parsed back. */
static ferry_sidecar make(int k, int n, const char *range)
{
    ferry_sidecar sc, back;
    memset(&sc, 0, sizeof sc);
    sc.partition = k;
    sc.of = n;
    sc.rows = 10 + k;
    sc.bytes = 100 + k;
    snprintf(sc.object, sizeof sc.object, "part-%05d-of-%05d.csv", k, n);
    snprintf(sc.sha256, sizeof sc.sha256, "%064d", k);
    char *json = NULL;
    ferry_error err;
    ferry_error_clear(&err);
    CHECK(ferry_sidecar_format(&sc, range, &json, &err) == FERRY_OK);
    memset(&back, 0, sizeof back);
    CHECK(json && ferry_sidecar_parse(json, strlen(json), &back, &err) == FERRY_OK);
    free(json);
    return back;
}

/* Range r of n over "id" cut from [lo, hi], as core/keyrange.c writes it. */
static ferry_sidecar keyed(int r, int n, int64_t lo, int64_t hi)
{
    char *cond = NULL, *json = NULL;
    CHECK(ferry_keyrange_condition("\"id\"", "id", 0, lo, hi, r, n, &cond, &json) == 0);
    ferry_sidecar sc = make(r, n, json);
    free(cond);
    free(json);
    return sc;
}

static void test_round_trip(void)
{
    ferry_sidecar sc;
    memset(&sc, 0, sizeof sc);
    sc.partition = 2;
    sc.of = 8;
    sc.rows = 125000;
    sc.bytes = 3918270;
    snprintf(sc.object, sizeof sc.object, "part-00002-of-00008.csv.gz");
    snprintf(sc.sha256, sizeof sc.sha256, "9f2c");
    snprintf(sc.format, sizeof sc.format, "csv");
    snprintf(sc.compression, sizeof sc.compression, "gzip");
    snprintf(sc.created_at, sizeof sc.created_at, "2026-11-22T03:14:07Z");
    char *json = NULL;
    ferry_error err;
    ferry_error_clear(&err);
    CHECK(ferry_sidecar_format(&sc, "{\"split_by\":\"id\",\"from\":250001,\"to\":375001,\"nulls\":false}", &json,
                               &err) == FERRY_OK);
    /* the format docs/scale-out.md shows, byte for byte */
    CHECK_STREQ(json, "{\"partition\":2,\"of\":8,\"object\":\"part-00002-of-00008.csv.gz\",\"rows\":125000,"
                      "\"bytes\":3918270,\"sha256\":\"9f2c\",\"range\":{\"split_by\":\"id\",\"from\":250001,"
                      "\"to\":375001,\"nulls\":false},\"format\":\"csv\",\"compression\":\"gzip\","
                      "\"created_at\":\"2026-11-22T03:14:07Z\"}\n");
    ferry_sidecar back;
    CHECK(ferry_sidecar_parse(json, strlen(json), &back, &err) == FERRY_OK);
    CHECK_INTEQ(back.partition, 2);
    CHECK_INTEQ(back.of, 8);
    CHECK_INTEQ(back.rows, 125000);
    CHECK_INTEQ(back.bytes, 3918270);
    CHECK_STREQ(back.object, sc.object);
    CHECK_STREQ(back.sha256, "9f2c");
    CHECK_STREQ(back.format, "csv");
    CHECK_STREQ(back.compression, "gzip");
    CHECK_STREQ(back.created_at, sc.created_at);
    CHECK_INTEQ(back.has_range, 1);
    CHECK_STREQ(back.split_by, "id");
    CHECK_STREQ(back.from, "250001");
    CHECK_STREQ(back.to, "375001");
    free(json);

    /* no range: "range":null, created_at now */
    sc.created_at[0] = '\0';
    CHECK(ferry_sidecar_format(&sc, NULL, &json, &err) == FERRY_OK);
    CHECK(json && strstr(json, "\"range\":null,") != NULL);
    CHECK(ferry_sidecar_parse(json, strlen(json), &back, &err) == FERRY_OK);
    CHECK_INTEQ(back.has_range, 0);
    CHECK_INTEQ(strlen(back.created_at), 20);
    free(json);

    /* ctid page ranges (hooks/postgres/pg_parallel.c) */
    back = make(0, 2, "{\"ctid_pages_from\":null,\"ctid_pages_to\":64,\"pages\":128}");
    CHECK_INTEQ(back.has_range, 1);
    CHECK_STREQ(back.split_by, "ctid");
    CHECK_STREQ(back.from, "null");
    CHECK_STREQ(back.to, "64");

    /* a key name with quotes and backslashes survives (the strstr reader gave up on it) */
    char *cond = NULL, *range = NULL;
    CHECK(ferry_keyrange_condition("\"x\"", "a\"b\\c", 0, 1, 10, 0, 2, &cond, &range) == 0);
    back = make(0, 2, range);
    CHECK_INTEQ(back.has_range, 1);
    CHECK_STREQ(back.split_by, "a\"b\\c");
    free(cond);
    free(range);

    /* a range that is not JSON is the caller's bug */
    CHECK(ferry_sidecar_format(&sc, "{\"from\":", &json, &err) == FERRY_ERR_INTERNAL);
    CHECK(json == NULL);
}

static void test_malformed(void)
{
    static const char *bad[] = {
        "",
        "not json",
        "{\"partition\":0,\"of\":2,\"object\":\"a\",\"sha256\":\"b\"",   /* truncated */
        "[1,2]",
        "{\"of\":2,\"object\":\"a\",\"sha256\":\"b\"}",                  /* no partition */
        "{\"partition\":0,\"object\":\"a\",\"sha256\":\"b\"}",           /* no of */
        "{\"partition\":0,\"of\":2,\"sha256\":\"b\"}",                   /* no object */
        "{\"partition\":0,\"of\":2,\"object\":\"a\"}",                   /* no sha256 */
        "{\"partition\":\"0\",\"of\":2,\"object\":\"a\",\"sha256\":\"b\"}", /* a string */
        "{\"partition\":0,\"of\":2,\"object\":7,\"sha256\":\"b\"}",
        "{\"partition\":2,\"of\":2,\"object\":\"a\",\"sha256\":\"b\"}",  /* partition >= of */
        "{\"partition\":-1,\"of\":2,\"object\":\"a\",\"sha256\":\"b\"}",
        "{\"partition\":0,\"of\":0,\"object\":\"a\",\"sha256\":\"b\"}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ferry_sidecar sc;
        ferry_error err;
        ferry_error_clear(&err);
        ferry_status st = ferry_sidecar_parse(bad[i], strlen(bad[i]), &sc, &err);
        if (st != FERRY_ERR_DATA)
            fprintf(stderr, "  accepted: %s\n", bad[i]);
        CHECK(st == FERRY_ERR_DATA);
    }
    /* the minimum: rows/bytes -1 when absent, no range */
    const char *min = "{\"partition\":1,\"of\":2,\"object\":\"a\",\"sha256\":\"b\"}";
    ferry_sidecar sc;
    ferry_error err;
    ferry_error_clear(&err);
    CHECK(ferry_sidecar_parse(min, strlen(min), &sc, &err) == FERRY_OK);
    CHECK_INTEQ(sc.rows, -1);
    CHECK_INTEQ(sc.has_range, 0);
    /* not NUL-terminated: only len bytes are read */
    char buf[128];
    memcpy(buf, min, strlen(min));
    memset(buf + strlen(min), 'x', sizeof buf - strlen(min));
    CHECK(ferry_sidecar_parse(buf, strlen(min), &sc, &err) == FERRY_OK);
}

/* ferry_manifest_check's status on a set; the message must contain want_text. */
static ferry_status check_set(ferry_sidecar *parts, size_t count, long want, const char *want_text)
{
    ferry_error err;
    ferry_error_clear(&err);
    long n = -1;
    ferry_status st = ferry_manifest_check("DEST", parts, count, want, &n, &err);
    if (want_text && !strstr(err.msg, want_text)) {
        fprintf(stderr, "  message \"%s\" lacks \"%s\"\n", err.msg, want_text);
        CHECK(!"message");
    }
    if (st == FERRY_OK) {
        for (size_t k = 0; k < count; k++)
            CHECK_INTEQ(parts[k].partition, k);
        CHECK_INTEQ(n, count);
    }
    return st;
}

static void test_tiling(void)
{
    ferry_sidecar p[8];
    /* tile: 1..1000 in 4, and 1 partition alone */
    for (int r = 0; r < 4; r++)
        p[r] = keyed(r, 4, 1, 1000);
    CHECK(check_set(p, 4, 0, NULL) == FERRY_OK);
    CHECK(check_set(p, 4, 4, NULL) == FERRY_OK);
    p[0] = keyed(0, 1, 1, 1000);
    CHECK(check_set(p, 1, 0, NULL) == FERRY_OK);
    /* an empty key: every range from null to null, tiles */
    for (int r = 0; r < 3; r++) {
        char *cond = NULL, *json = NULL;
        CHECK(ferry_keyrange_condition("\"id\"", "id", 1, 0, 0, r, 3, &cond, &json) == 0);
        p[r] = make(r, 3, json);
        free(cond);
        free(json);
    }
    CHECK(check_set(p, 3, 0, NULL) == FERRY_OK);

    /* unsorted input is sorted */
    p[0] = keyed(2, 3, 1, 900);
    p[1] = keyed(0, 3, 1, 900);
    p[2] = keyed(1, 3, 1, 900);
    CHECK(check_set(p, 3, 0, NULL) == FERRY_OK);

    /* gap: cut from [1, 1000] and [1, 3000] (the table grew between the runs) */
    p[0] = keyed(0, 2, 1, 1000); /* to 501 */
    p[1] = keyed(1, 2, 1, 3000); /* from 1501 */
    CHECK(check_set(p, 2, 0, "partition 0 ends at id 501 but partition 1 starts at id 1501: the rows between are "
                             "in no partition") == FERRY_ERR_DATA);
    /* overlap: the other way round */
    p[0] = keyed(0, 2, 1, 3000);
    p[1] = keyed(1, 2, 1, 1000);
    CHECK(check_set(p, 2, 0, "the rows between are in two partitions") == FERRY_ERR_DATA);
    /* first/last not open */
    p[0] = make(0, 2, "{\"split_by\":\"id\",\"from\":1,\"to\":5,\"nulls\":false}");
    p[1] = make(1, 2, "{\"split_by\":\"id\",\"from\":5,\"to\":null,\"nulls\":true}");
    CHECK(check_set(p, 2, 0, "do not cover the whole key (partition 0 starts at 1") == FERRY_ERR_DATA);
    p[0] = make(0, 2, "{\"split_by\":\"id\",\"from\":null,\"to\":5,\"nulls\":false}");
    p[1] = make(1, 2, "{\"split_by\":\"id\",\"from\":5,\"to\":9,\"nulls\":false}");
    CHECK(check_set(p, 2, 0, "partition 1 ends at 9") == FERRY_ERR_DATA);
    /* open in the middle: overlaps */
    p[0] = make(0, 2, "{\"split_by\":\"id\",\"from\":null,\"to\":null,\"nulls\":false}");
    p[1] = make(1, 2, "{\"split_by\":\"id\",\"from\":5,\"to\":null,\"nulls\":true}");
    CHECK(check_set(p, 2, 0, "in two partitions") == FERRY_ERR_DATA);
    /* two keys */
    p[0] = make(0, 2, "{\"split_by\":\"id\",\"from\":null,\"to\":5,\"nulls\":false}");
    p[1] = make(1, 2, "{\"split_by\":\"n\",\"from\":5,\"to\":null,\"nulls\":true}");
    CHECK(check_set(p, 2, 0, "partition 0 was cut by id, partition 1 by n") == FERRY_ERR_DATA);
    /* ctid pages tile too */
    p[0] = make(0, 2, "{\"ctid_pages_from\":null,\"ctid_pages_to\":64,\"pages\":128}");
    p[1] = make(1, 2, "{\"ctid_pages_from\":64,\"ctid_pages_to\":null,\"pages\":128}");
    CHECK(check_set(p, 2, 0, NULL) == FERRY_OK);
    /* a sidecar without a range (older ferry): nothing to compare */
    p[0] = keyed(0, 2, 1, 3000);
    p[1] = make(1, 2, NULL);
    CHECK(check_set(p, 2, 0, NULL) == FERRY_OK);
}

static void test_set(void)
{
    ferry_sidecar p[4];
    /* duplicates */
    p[0] = keyed(0, 3, 1, 900);
    p[1] = keyed(1, 3, 1, 900);
    p[2] = keyed(1, 3, 1, 900);
    CHECK(check_set(p, 3, 0, "partition 1 has two sidecars") == FERRY_ERR_DATA);
    /* missing */
    p[0] = keyed(2, 3, 1, 900);
    p[1] = keyed(0, 3, 1, 900);
    CHECK(check_set(p, 2, 0, "1 of 3 partitions missing: 1") == FERRY_ERR_NOT_FOUND);
    CHECK(check_set(p, 0, 3, "3 of 3 partitions missing: 0, 1, 2") == FERRY_ERR_NOT_FOUND);
    CHECK(check_set(p, 0, 0, "no partition sidecars") == FERRY_ERR_NOT_FOUND);
    /* another N */
    p[0] = keyed(0, 3, 1, 900);
    p[1] = keyed(1, 3, 1, 900);
    p[2] = keyed(2, 3, 1, 900);
    CHECK(check_set(p, 3, 4, "partition 0 of 3, expected of 4") == FERRY_ERR_DATA);
    p[2] = keyed(2, 4, 1, 900);
    CHECK(check_set(p, 3, 0, "partition 2 of 4, expected of 3") == FERRY_ERR_DATA);
}

static void test_manifest_format(void)
{
    ferry_sidecar p[2];
    p[0] = keyed(0, 2, 1, 100);
    p[1] = keyed(1, 2, 1, 100);
    char *body = NULL;
    ferry_error err;
    ferry_error_clear(&err);
    CHECK(ferry_manifest_format(p, 2, &body, &err) == FERRY_OK);
    CHECK(body && strncmp(body, "{\"partitions\":2,\"rows\":21,\"bytes\":201,\"created_at\":\"", 52) == 0);
    const char *parts = body ? strstr(body, "\",\"parts\":[\n{\"partition\":0,\"object\":\"part-00000-of-00002.csv\","
                                            "\"rows\":10,\"bytes\":100,\"sha256\":\"") : NULL;
    CHECK(parts != NULL);
    CHECK(body && strstr(body, "\"},\n{\"partition\":1,") != NULL);
    CHECK(body && strlen(body) > 6 && strcmp(body + strlen(body) - 6, "\"}\n]}\n") == 0);
    json_error_t je;
    json_t *j = body ? json_loads(body, 0, &je) : NULL;
    CHECK(j != NULL);
    CHECK_INTEQ(json_array_size(json_object_get(j, "parts")), 2);
    json_decref(j);
    free(body);
}

/* `ferry manifest` on a local directory: write the sidecars, then the manifest. */
static void test_write_local(void)
{
    char dir[] = "/tmp/ferry-test-manifest-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[256];
    snprintf(path, sizeof path, "%s/_parts", dir);
    CHECK(mkdir(path, 0700) == 0);
    ferry_error err;
    ferry_error_clear(&err);
    long n = 0;
    CHECK(ferry_manifest_write(dir, 0, 0, &n, &err) == FERRY_ERR_NOT_FOUND);
    for (int r = 0; r < 3; r++) {
        if (r == 1)
            CHECK(ferry_manifest_write(dir, 0, 0, &n, &err) == FERRY_ERR_NOT_FOUND);
        char *cond = NULL, *range = NULL, *json = NULL;
        CHECK(ferry_keyrange_condition("\"id\"", "id", 0, 1, 30, r, 3, &cond, &range) == 0);
        ferry_sidecar sc;
        memset(&sc, 0, sizeof sc);
        sc.partition = r;
        sc.of = 3;
        sc.rows = 10;
        sc.bytes = 50;
        snprintf(sc.object, sizeof sc.object, "part-%05d-of-00003.csv", r);
        snprintf(sc.sha256, sizeof sc.sha256, "ab");
        CHECK(ferry_sidecar_format(&sc, range, &json, &err) == FERRY_OK);
        snprintf(path, sizeof path, "%s/_parts/part-%05d.json", dir, r);
        FILE *f = fopen(path, "w");
        CHECK(f && json && fputs(json, f) >= 0);
        if (f)
            fclose(f);
        free(cond);
        free(range);
        free(json);
    }
    CHECK(ferry_manifest_write(dir, 0, 0, &n, &err) == FERRY_OK);
    CHECK_INTEQ(n, 3);
    CHECK(ferry_manifest_write(dir, 0, 0, &n, &err) == FERRY_ERR_EXISTS);
    CHECK(ferry_manifest_write(dir, 3, 1, &n, &err) == FERRY_OK);
    CHECK(ferry_manifest_write(dir, 4, 1, &n, &err) == FERRY_ERR_DATA);
    snprintf(path, sizeof path, "%s/_manifest.json", dir);
    json_error_t je;
    json_t *j = json_load_file(path, 0, &je);
    CHECK(j != NULL);
    CHECK_INTEQ(json_integer_value(json_object_get(j, "partitions")), 3);
    CHECK_INTEQ(json_integer_value(json_object_get(j, "rows")), 30);
    CHECK_INTEQ(json_integer_value(json_object_get(j, "bytes")), 150);
    json_decref(j);
    /* clean up */
    unlink(path);
    for (int r = 0; r < 3; r++) {
        snprintf(path, sizeof path, "%s/_parts/part-%05d.json", dir, r);
        unlink(path);
    }
    snprintf(path, sizeof path, "%s/_parts", dir);
    rmdir(path);
    rmdir(dir);
}

int main(void)
{
    RUN(test_round_trip);
    RUN(test_malformed);
    RUN(test_tiling);
    RUN(test_set);
    RUN(test_manifest_format);
    RUN(test_write_local);
    return check_summary();
}
