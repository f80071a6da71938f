/*
 * test_sync_local.c - ferry_sync (transfer/sync.c) between two local
 * directories, no server: the first sync copies every file and gives each
 * the source's mtime, the second copies nothing, a changed size and a
 * changed mtime are copied again, a dry run with --delete reports the
 * deletion first and changes nothing, --delete removes only files absent
 * from the source and not excluded, copy mode with ignore_existing skips
 * what exists, and the events carry the reasons.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <utime.h>

#include "check.h"
#include "ferry/transfer.h"

static char root[256];

static void put(const char *rel, const char *text, time_t mtime)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", root, rel);
    FILE *f = fopen(p, "w");
    CHECK(f != NULL);
    if (!f)
        return;
    fputs(text, f);
    fclose(f);
    struct utimbuf t = {mtime, mtime};
    CHECK(utime(p, &t) == 0);
}

static time_t mtime_of(const char *rel)
{
    char p[512];
    struct stat st;
    snprintf(p, sizeof p, "%s/%s", root, rel);
    return stat(p, &st) == 0 ? st.st_mtime : -1;
}

static int exists(const char *rel)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", root, rel);
    return access(p, F_OK) == 0;
}

/* the events of one run, "<action>:<name>[!]" joined by spaces ('!' = dry run) */
static char events[4096];

static void on_event(const ferry_sync_event *ev, void *ud)
{
    (void)ud;
    static const char *const a[] = {"copy", "skip", "delete"};
    char one[300];
    snprintf(one, sizeof one, "%s%s:%s%s", events[0] ? " " : "", a[ev->action], ev->name, ev->dry_run ? "!" : "");
    strncat(events, one, sizeof events - strlen(events) - 1);
    CHECK(ev->status == FERRY_OK);
    CHECK(ev->action != FERRY_SYNC_SKIP || (ev->reason && ev->reason[0]));
}

static ferry_status run(unsigned flags, const ferry_copy_options *o, ferry_sync_counts *c, const char *src,
                        const char *dst)
{
    char s[512], d[512];
    snprintf(s, sizeof s, "%s/%s", root, src);
    snprintf(d, sizeof d, "%s/%s", root, dst);
    events[0] = '\0';
    ferry_error err;
    ferry_error_clear(&err);
    ferry_status st = ferry_sync(s, d, o, flags, on_event, NULL, c, &err);
    if (st != FERRY_OK)
        fprintf(stderr, "  ferry_sync: %s\n", err.msg);
    return st;
}

static void test_sync(void)
{
    time_t old = 1700000000;
    put("src/a.csv", "a\n", old);
    put("src/sub/b.csv", "bb\n", old);
    put("src/sub/c.tmp", "c\n", old);
    ferry_copy_options o;
    ferry_copy_options_init(&o);
    ferry_sync_counts c;

    CHECK_INTEQ(run(FERRY_SYNC_COMPARE, &o, &c, "src", "dst"), FERRY_OK);
    CHECK_INTEQ(c.copied, 3);
    CHECK_INTEQ(c.skipped, 0);
    CHECK_INTEQ(mtime_of("dst/sub/b.csv"), old); /* set_mtime */

    CHECK_INTEQ(run(FERRY_SYNC_COMPARE, &o, &c, "src", "dst"), FERRY_OK);
    CHECK_INTEQ(c.copied, 0);
    CHECK_INTEQ(c.skipped, 3);

    put("src/a.csv", "a grown\n", old);            /* size */
    put("src/sub/b.csv", "BB\n", old - 3600);      /* same size, other time */
    CHECK_INTEQ(run(FERRY_SYNC_COMPARE, &o, &c, "src", "dst"), FERRY_OK);
    CHECK_INTEQ(c.copied, 2);
    CHECK_INTEQ(c.skipped, 1);
    CHECK_INTEQ(mtime_of("dst/sub/b.csv"), old - 3600);

    /* --delete: a stray file goes, an excluded one stays; the dry run first */
    put("dst/stray.csv", "s\n", old);
    put("dst/sub/keep.tmp", "k\n", old);
    const char *rules[] = {"- *.tmp"};
    o.filter_rules = rules;
    o.n_filter_rules = 1;
    CHECK_INTEQ(run(FERRY_SYNC_COMPARE | FERRY_SYNC_DELETE | FERRY_SYNC_DRY_RUN, &o, &c, "src", "dst"), FERRY_OK);
    CHECK(strncmp(events, "delete:stray.csv!", 17) == 0);
    CHECK(strstr(events, "keep.tmp") == NULL);
    CHECK_INTEQ(c.deleted, 1);
    CHECK_INTEQ(c.skipped, 3);
    CHECK(exists("dst/stray.csv"));
    CHECK_INTEQ(run(FERRY_SYNC_COMPARE | FERRY_SYNC_DELETE, &o, &c, "src", "dst"), FERRY_OK);
    CHECK_INTEQ(c.deleted, 1);
    CHECK(!exists("dst/stray.csv"));
    CHECK(exists("dst/sub/keep.tmp"));
    CHECK(exists("dst/sub/c.tmp"));                 /* excluded, so not deleted either */

    /* copy mode: ignore_existing skips what is there, copies the rest */
    ferry_copy_options_init(&o);
    o.recursive = 1;
    o.ignore_existing = 1;
    put("src/new.csv", "n\n", old);
    char s[512];
    snprintf(s, sizeof s, "src/");
    CHECK_INTEQ(run(0, &o, &c, s, "dst"), FERRY_OK);
    CHECK_INTEQ(c.copied, 1);
    CHECK_INTEQ(c.skipped, 3);
    CHECK(strstr(events, "copy:new.csv") != NULL);

    /* an empty source: not found, nothing deleted */
    char empty[512];
    snprintf(empty, sizeof empty, "%s/empty", root);
    CHECK(mkdir(empty, 0755) == 0);
    ferry_copy_options_init(&o);
    CHECK_INTEQ(run(FERRY_SYNC_COMPARE | FERRY_SYNC_DELETE, &o, &c, "empty", "dst"), FERRY_ERR_NOT_FOUND);
    CHECK(exists("dst/a.csv"));
}

int main(void)
{
    snprintf(root, sizeof root, "%s/ferry-sync-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(root))
        return 1;
    char p[512];
    snprintf(p, sizeof p, "%s/src", root);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/src/sub", root);
    mkdir(p, 0755);
    RUN(test_sync);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", root);
    return check_summary();
}
