/*
 * test_multi.c - the pieces of a multi-file copy (transfer/multi.c) that need
 * no server: which listed names can be destination names (S3 keys may hold
 * '..', '//', '.', a leading '/'), the curl engine's pool of multi handles
 * (a given-back handle is handed out again; one with handles attached is
 * not kept), and a local directory copied with 4 transfers and --move
 * through the bounded queue (every file once, sources gone, results counted,
 * an unsafe name failed with exit 7), and the destination names of a batch
 * (transfer/nameset.c): a name listed twice, or with case_insensitive one
 * equal but for case, is a failed file (exit 7) and never written over the
 * first; without case_insensitive both copy.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "ferry/transfer.h"
#include "hooks/curl/curl_engine.h"
#include "transfer/multi.h"
#include "transfer/nameset.h"

static void test_names(void)
{
    static const struct { const char *name; int safe; } rows[] = {
        {"ok.txt", 1}, {"sub/dir/file.csv", 1}, {"a b/ü 日本*?[x].txt", 1}, {"back\\slash", 1},
        {"-dash", 1}, {"..x", 1}, {"x..", 1}, {".hidden", 1}, {"a/.b/c", 1}, {"...", 1},
        {"", 0}, {"/abs", 0}, {"//abs", 0}, {"..", 0}, {".", 0}, {"../x", 0}, {"../../../x", 0},
        {"a/../b", 0}, {"a/./b", 0}, {"a/./../../b", 0}, {"a//b", 0}, {"a/", 0}, {"a/..", 0}, {"./dot", 0},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const char *why = NULL;
        int safe = ferry_multi_name_safe(rows[i].name, &why);
        if (safe != rows[i].safe)
            fprintf(stderr, "  name '%s': safe %d, want %d\n", rows[i].name, safe, rows[i].safe);
        CHECK(safe == rows[i].safe);
        CHECK(safe || (why && *why));
    }
}

static void test_pool(void)
{
    ferry_error err;
    ferry_error_clear(&err);
    CHECK(ferry_curl_init(&err) == FERRY_OK);
    CURLM *a = ferry_curl_multi_take();
    CHECK(a != NULL);
    ferry_curl_multi_give(a, 0);
    CURLM *b = ferry_curl_multi_take();
    CHECK(b == a);              /* the idle handle comes back, with its connections */
    ferry_curl_multi_give(b, 1); /* one still attached: cleaned up, not kept */
    CURLM *c = ferry_curl_multi_take();
    CHECK(c != NULL);
    ferry_curl_multi_give(c, 0);
    CHECK(ferry_curl_connections_opened() >= 0);
}

typedef struct counts {
    int ok, failed, unsafe;
} counts;

static void on_result(const char *src, const char *dst, ferry_status st, const ferry_summary *sum,
                      const ferry_error *err, void *ud)
{
    (void)src;
    (void)dst;
    (void)sum;
    counts *c = ud;
    if (st == FERRY_OK)
        c->ok++;
    else
        c->failed++;
    if (st == FERRY_ERR_DATA && err && strstr(err->msg, "no safe destination name"))
        c->unsafe++;
}

static void test_local_move(void)
{
    char dir[] = "/tmp/ferry-test-multi-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char src[512], dst[512], path[600];
    snprintf(src, sizeof src, "%s/src", dir);
    snprintf(dst, sizeof dst, "%s/dst", dir);
    CHECK(mkdir(src, 0700) == 0);
    for (int i = 0; i < 100; i++) {
        snprintf(path, sizeof path, "%s/f %03d.txt", src, i);
        FILE *f = fopen(path, "w");
        CHECK(f != NULL);
        if (f) {
            fprintf(f, "file %d\n", i);
            fclose(f);
        }
    }
    ferry_copy_options o;
    ferry_copy_options_init(&o);
    o.transfers = 4;
    o.move = 1;
    ferry_error err;
    ferry_error_clear(&err);
    counts c = {0, 0, 0};
    int n_ok = 0, n_failed = 0;
    char src_arg[520];
    snprintf(src_arg, sizeof src_arg, "%s/", src);
    CHECK_INTEQ(ferry_copy_many(src_arg, dst, &o, on_result, &c, &n_ok, &n_failed, &err), FERRY_OK);
    CHECK_INTEQ(n_ok, 100);
    CHECK_INTEQ(n_failed, 0);
    CHECK_INTEQ(c.ok, 100);
    int left = 0, arrived = 0;
    DIR *d = opendir(src);
    for (struct dirent *e; d && (e = readdir(d));)
        left += e->d_name[0] != '.';
    if (d)
        closedir(d);
    d = opendir(dst);
    for (struct dirent *e; d && (e = readdir(d));)
        arrived += e->d_name[0] != '.';
    if (d)
        closedir(d);
    CHECK_INTEQ(left, 0);
    CHECK_INTEQ(arrived, 100);

    /* the per-file step on its own: an unsafe name fails with exit 7, counted */
    ferry_multi_plan *p = NULL;
    ferry_copy_options_init(&o);
    counts c2 = {0, 0, 0};
    CHECK(ferry_multi_plan_new(src_arg, dst, &o, on_result, &c2, &p, &err) == FERRY_OK);
    ferry_multi_entry e = {"../escape", 3, -1};
    CHECK_INTEQ(ferry_multi_copy_one(p, &e), FERRY_ERR_DATA);
    CHECK_INTEQ(c2.unsafe, 1);
    ferry_multi_plan_free(p);

    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
}

static void test_claims(void)
{
    ferry_nameset exact, folded;
    ferry_nameset_init(&exact, 0);
    ferry_nameset_init(&folded, 1);
    ferry_error err;
    ferry_error_clear(&err);
    CHECK_INTEQ(ferry_multi_claim_name(&exact, "Dir/A.txt", &err), FERRY_OK);
    CHECK_INTEQ(ferry_multi_claim_name(&exact, "dir/a.txt", &err), FERRY_OK);   /* case matters */
    CHECK_INTEQ(ferry_multi_claim_name(&exact, "Dir/A.txt", &err), FERRY_ERR_DATA); /* listed twice */
    CHECK(strstr(err.msg, "listed twice") != NULL);
    CHECK_INTEQ(ferry_multi_claim_name(&exact, "a/./b", &err), FERRY_ERR_DATA);  /* unsafe, never taken */
    CHECK(strstr(err.msg, "no safe destination name") != NULL);
    CHECK_INTEQ(ferry_multi_claim_name(&folded, "Dir/A.txt", &err), FERRY_OK);
    CHECK_INTEQ(ferry_multi_claim_name(&folded, "dir/a.TXT", &err), FERRY_ERR_DATA);
    CHECK(strstr(err.msg, "only by case") && strstr(err.msg, "'Dir/A.txt'"));
    CHECK_INTEQ(ferry_multi_claim_name(&folded, "dir/b.txt", &err), FERRY_OK);
    CHECK_INTEQ(ferry_multi_claim_name(&folded, "Ü.txt", &err), FERRY_OK);     /* ASCII folding only */
    CHECK_INTEQ(ferry_multi_claim_name(&folded, "ü.txt", &err), FERRY_OK);
    CHECK_INTEQ(ferry_multi_claim_name(NULL, "x", &err), FERRY_OK);
    /* many names: the table grows and finds each one again */
    char name[64];
    for (int i = 0; i < 5000; i++) {
        snprintf(name, sizeof name, "d%d/File %d", i % 7, i);
        CHECK_INTEQ(ferry_nameset_add(&folded, name, NULL), 1);
    }
    CHECK(ferry_nameset_find(&folded, "D2/FILE 1234") != NULL && strcmp(ferry_nameset_find(&folded, "D2/FILE 1234"),
                                                                     "d2/File 1234") == 0);
    CHECK(ferry_nameset_find(&exact, "D3/FILE 1234") == NULL);
    ferry_nameset_release(&exact);
    ferry_nameset_release(&folded);
}

/* A local tree with 'A.txt'/'a.txt' and 'Sub/x'/'sub/x': with
 * case_insensitive the second of each pair is a failed file (exit 7), the
 * first copied and kept; without it all four copy. */
static void test_case_collisions(void)
{
    char dir[] = "/tmp/ferry-test-case-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[600];
    static const char *const names[] = {"src/A.txt", "src/a.txt", "src/Sub/x", "src/sub/x"};
    snprintf(path, sizeof path, "%s/src", dir);
    CHECK(mkdir(path, 0700) == 0);
    snprintf(path, sizeof path, "%s/src/Sub", dir);
    CHECK(mkdir(path, 0700) == 0);
    snprintf(path, sizeof path, "%s/src/sub", dir);
    CHECK(mkdir(path, 0700) == 0);
    for (int i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        FILE *f = fopen(path, "w");
        CHECK(f != NULL);
        if (f) {
            fprintf(f, "%d\n", i);
            fclose(f);
        }
    }
    char src_arg[600], dst[600];
    snprintf(src_arg, sizeof src_arg, "%s/src/", dir);
    for (int fold = 0; fold <= 1; fold++) {
        snprintf(dst, sizeof dst, "%s/dst%d", dir, fold);
        ferry_copy_options o;
        ferry_copy_options_init(&o);
        o.transfers = 3;
        o.recursive = 1;
        o.case_insensitive = fold;
        ferry_error err;
        ferry_error_clear(&err);
        counts c = {0, 0, 0};
        int n_ok = 0, n_failed = 0;
        ferry_status st = ferry_copy_many(src_arg, dst, &o, on_result, &c, &n_ok, &n_failed, &err);
        CHECK_INTEQ(st, fold ? FERRY_ERR_DATA : FERRY_OK);
        CHECK_INTEQ(n_ok, fold ? 2 : 4);
        CHECK_INTEQ(n_failed, fold ? 2 : 0);
        if (fold)
            CHECK(strstr(err.msg, "only by case") != NULL);
        /* skip_unsafe_names: warnings, exit 0 */
        if (fold) {
            snprintf(dst, sizeof dst, "%s/dst-skip", dir);
            o.skip_unsafe_names = 1;
            CHECK_INTEQ(ferry_copy_many(src_arg, dst, &o, on_result, &c, &n_ok, &n_failed, &err), FERRY_OK);
            CHECK_INTEQ(n_ok, 2);
            CHECK_INTEQ(n_failed, 0);
        }
    }
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
}

int main(void)
{
    RUN(test_claims);
    RUN(test_case_collisions);
    RUN(test_names);
    RUN(test_pool);
    RUN(test_local_move);
    return check_summary();
}
