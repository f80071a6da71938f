/*
 * test_sftp_live.c - the SFTP hook's slots against a real server: mkdir
 * (with and without parents), stat, list (sorted, recursive, globs, no temp
 * files), remove, the sink's commit (a target that appears meanwhile, with
 * and without replace), abort, cleanup after an interrupted write (over a
 * fresh connection), small reads through the source's internal buffer, and
 * the connection test.
 *
 * Needs the SFTP_* variables of tests/harness/services.sh's env file (the
 * integration test tests/integration/sftp_hook.sh runs it with them); without
 * them it says "skipped" and exits 77 (ctest: Skipped), so the unit suite
 * needs no server.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "svc_env.h"
#include "ferry/ferry.h"
#include "hooks/sftp/sftp_internal.h"

static ferry_conn *conn;
static char base[64];
static ferry_copy_options opts;

static void add_extra(ferry_conn *c, const char *k, const char *v)
{
    c->extra = realloc(c->extra, (c->n_extra + 1) * sizeof *c->extra);
    c->extra[c->n_extra].key = strdup(k);
    c->extra[c->n_extra].value = strdup(v);
    c->n_extra++;
}

/* An endpoint on the live connection for base/rel ("" = base itself);
 * borrowed conn, static storage until the next call. */
static ferry_endpoint *ep_at(const char *rel)
{
    static ferry_endpoint ep;
    static char path[512];
    snprintf(path, sizeof path, "%s%s%s", base, *rel ? "/" : "", rel);
    memset(&ep, 0, sizeof ep);
    ep.kind = FERRY_EP_CONN;
    ep.hook = &ferry_hook_sftp;
    ep.conn = conn;
    ep.path = path;
    return &ep;
}

static ferry_status put(const char *rel, const char *data, int replace, ferry_error *err)
{
    ferry_copy_options o = opts;
    o.replace = replace;
    ferry_writer *w = NULL;
    ferry_status st = ferry_hook_sftp.open_sink(ep_at(rel), &o, &w, err);
    if (st != FERRY_OK)
        return st;
    st = ferry_writer_write(w, data, strlen(data), err);
    if (st == FERRY_OK)
        st = w->ops->commit(w, err);
    if (st != FERRY_OK)
        w->ops->abort(w);
    w->ops->free(w);
    return st;
}

/* Read a remote file through the source, `cap` bytes per read. */
static char *get(const char *rel, size_t cap, int64_t *size)
{
    ferry_error err;
    ferry_error_clear(&err);
    ferry_source *src = NULL;
    if (ferry_hook_sftp.open_source(ep_at(rel), &opts, &src, &err) != FERRY_OK)
        return NULL;
    *size = src->size;
    char *out = calloc(1, 1 << 20), *buf = malloc(cap);
    size_t used = 0, n;
    while (src->ops->read(src, buf, cap, &n, &err) == FERRY_OK && n > 0 && used + n < (1 << 20)) {
        memcpy(out + used, buf, n);
        used += n;
    }
    src->ops->free(src);
    free(buf);
    return out;
}

typedef struct names {
    char text[2048];
} names;

static ferry_status collect(const ferry_entry *e, void *ud, ferry_error *err)
{
    (void)err;
    names *n = ud;
    size_t used = strlen(n->text);
    snprintf(n->text + used, sizeof n->text - used, "%s%s%s", used ? " " : "", e->name, e->is_dir ? "/" : "");
    return FERRY_OK;
}

static ferry_status list(const char *rel, int recursive, names *n, ferry_error *err)
{
    n->text[0] = '\0';
    return ferry_hook_sftp.list(ep_at(rel), recursive, collect, n, err);
}

static void test_mkdir(void)
{
    ferry_error err;
    ferry_error_clear(&err);
    CHECK_INTEQ(ferry_hook_sftp.mkdir(ep_at(""), 0, &err), FERRY_OK);
    CHECK_INTEQ(ferry_hook_sftp.mkdir(ep_at(""), 0, &err), FERRY_ERR_EXISTS);
    CHECK_INTEQ(ferry_hook_sftp.mkdir(ep_at("a/b/c"), 1, &err), FERRY_OK);
    CHECK_INTEQ(ferry_hook_sftp.mkdir(ep_at("a/b/c/"), 1, &err), FERRY_OK);
    CHECK_INTEQ(ferry_hook_sftp.mkdir(ep_at("x/y"), 0, &err), FERRY_ERR_NOT_FOUND);
    ferry_entry e;
    CHECK_INTEQ(ferry_hook_sftp.stat(ep_at("a/b/c"), &e, &err), FERRY_OK);
    CHECK(e.is_dir);
}

static void test_put_stat_list(void)
{
    ferry_error err;
    ferry_error_clear(&err);
    CHECK_INTEQ(put("a/f.txt", "hello", 0, &err), FERRY_OK);
    CHECK_INTEQ(put("a/g.csv", "1,2\n", 0, &err), FERRY_OK);
    CHECK_INTEQ(put("a/b/h.csv", "3,4\n", 0, &err), FERRY_OK);
    CHECK_INTEQ(put("a/.hidden.csv", "x", 0, &err), FERRY_OK);
    ferry_entry e;
    CHECK_INTEQ(ferry_hook_sftp.stat(ep_at("a/f.txt"), &e, &err), FERRY_OK);
    CHECK_INTEQ(e.size, 5);
    CHECK(!e.is_dir);
    CHECK(e.mtime > 0);
    CHECK_INTEQ(ferry_hook_sftp.stat(ep_at("a/none"), &e, &err), FERRY_ERR_NOT_FOUND);
    CHECK(strstr(err.msg, "no such file") != NULL);

    names n;
    CHECK_INTEQ(list("a", 0, &n, &err), FERRY_OK);
    CHECK_STREQ(n.text, ".hidden.csv b/ f.txt g.csv");
    CHECK_INTEQ(list("a/*.csv", 0, &n, &err), FERRY_OK);
    CHECK_STREQ(n.text, "g.csv");
    CHECK_INTEQ(list("a/*.csv", 1, &n, &err), FERRY_OK);
    CHECK_STREQ(n.text, "b/h.csv g.csv");
    CHECK_INTEQ(list("a", 1, &n, &err), FERRY_OK);
    CHECK_STREQ(n.text, ".hidden.csv b/h.csv f.txt g.csv");
    CHECK_INTEQ(list("a/f.txt", 0, &n, &err), FERRY_OK);
    CHECK_STREQ(n.text, "f.txt");
    CHECK_INTEQ(list("a/?.txt", 0, &n, &err), FERRY_OK);
    CHECK_STREQ(n.text, "f.txt");
    CHECK_INTEQ(list("nodir/*.csv", 0, &n, &err), FERRY_ERR_NOT_FOUND);
    CHECK_INTEQ(list("a/../a/*.csv", 0, &n, &err), FERRY_ERR_USAGE);

    int64_t size = -1;
    char *data = get("a/f.txt", 2, &size); /* 2-byte reads: served from the internal buffer */
    CHECK_STREQ(data, "hello");
    CHECK_INTEQ(size, 5);
    free(data);
}

static void test_exists_and_replace(void)
{
    ferry_error err;
    ferry_error_clear(&err);
    CHECK_INTEQ(put("a/f.txt", "other", 0, &err), FERRY_ERR_EXISTS);
    CHECK(strstr(err.msg, "--replace") != NULL);
    CHECK_INTEQ(put("a/f.txt", "replaced", 1, &err), FERRY_OK);
    int64_t size;
    char *data = get("a/f.txt", 1 << 20, &size);
    CHECK_STREQ(data, "replaced");
    free(data);
    names n;
    CHECK_INTEQ(list("a/.*", 0, &n, &err), FERRY_OK);
    CHECK_STREQ(n.text, ".hidden.csv"); /* no temp or set-aside file */
}

/* The target appears between open and commit. */
static void test_commit_races(void)
{
    ferry_error err;
    ferry_error_clear(&err);
    ferry_writer *w = NULL;
    CHECK_INTEQ(ferry_hook_sftp.open_sink(ep_at("race.txt"), &opts, &w, &err), FERRY_OK);
    if (!w)
        return;
    CHECK_INTEQ(ferry_writer_write(w, "first", 5, &err), FERRY_OK);
    CHECK_INTEQ(put("race.txt", "second", 0, &err), FERRY_OK);
    CHECK_INTEQ(w->ops->commit(w, &err), FERRY_ERR_EXISTS);
    w->ops->abort(w);
    w->ops->abort(w); /* idempotent */
    w->ops->free(w);
    int64_t size;
    char *data = get("race.txt", 1 << 20, &size);
    CHECK_STREQ(data, "second");
    free(data);

    ferry_copy_options o = opts;
    o.replace = 1;
    w = NULL;
    CHECK_INTEQ(ferry_hook_sftp.open_sink(ep_at("race2.txt"), &o, &w, &err), FERRY_OK);
    if (!w)
        return;
    CHECK_INTEQ(ferry_writer_write(w, "mine", 4, &err), FERRY_OK);
    CHECK_INTEQ(put("race2.txt", "theirs", 0, &err), FERRY_OK);
    CHECK_INTEQ(w->ops->commit(w, &err), FERRY_OK);
    w->ops->free(w);
    data = get("race2.txt", 1 << 20, &size);
    CHECK_STREQ(data, "mine");
    free(data);
    names n;
    CHECK_INTEQ(list("", 0, &n, &err), FERRY_OK);
    CHECK_STREQ(n.text, "a/ race.txt race2.txt");
    CHECK_INTEQ(list(".*", 0, &n, &err), FERRY_OK);
    CHECK_STREQ(n.text, "");
}

static void test_abort_and_interrupt(void)
{
    ferry_error err;
    ferry_error_clear(&err);
    ferry_writer *w = NULL;
    CHECK_INTEQ(ferry_hook_sftp.open_sink(ep_at("aborted.txt"), &opts, &w, &err), FERRY_OK);
    if (!w)
        return;
    CHECK_INTEQ(ferry_writer_write(w, "partial", 7, &err), FERRY_OK);
    names n;
    CHECK_INTEQ(list("", 0, &n, &err), FERRY_OK);
    CHECK_STREQ(n.text, "a/ race.txt race2.txt"); /* in-flight files are not listed */
    CHECK_INTEQ(list(".*", 0, &n, &err), FERRY_OK);   /* unless asked for */
    CHECK(strncmp(n.text, ".aborted.txt.ferry-tmp-", 23) == 0);
    w->ops->abort(w);
    CHECK_INTEQ(list(".*", 0, &n, &err), FERRY_OK);
    CHECK_STREQ(n.text, "");
    CHECK_INTEQ(w->ops->commit(w, &err), FERRY_ERR_INTERNAL); /* no commit after abort */
    w->ops->free(w);

    /* a signal during a large write: the session is abandoned half-way, the
     * temp file is removed over a fresh connection */
    w = NULL;
    CHECK_INTEQ(ferry_hook_sftp.open_sink(ep_at("interrupted.bin"), &opts, &w, &err), FERRY_OK);
    if (!w)
        return;
    size_t big = 3 * 1024 * 1024;
    char *data = calloc(1, big);
    CHECK_INTEQ(ferry_writer_write(w, data, big / 2, &err), FERRY_OK);
    ferry_cancel_request(SIGTERM);
    CHECK_INTEQ(ferry_writer_write(w, data, big, &err), FERRY_ERR_INTERRUPTED);
    w->ops->abort(w);
    w->ops->free(w);
    ferry_cancel_reset();
    free(data);
    CHECK_INTEQ(list(".*", 0, &n, &err), FERRY_OK);
    CHECK_STREQ(n.text, "");
}

static void test_remove(void)
{
    ferry_error err;
    ferry_error_clear(&err);
    CHECK_INTEQ(ferry_hook_sftp.remove(ep_at("race.txt"), &err), FERRY_OK);
    CHECK_INTEQ(ferry_hook_sftp.remove(ep_at("race.txt"), &err), FERRY_ERR_NOT_FOUND);
    CHECK_INTEQ(ferry_hook_sftp.remove(ep_at("a/b"), &err), FERRY_ERR_IO); /* not empty */
    const char *files[] = {"race2.txt", "a/f.txt", "a/g.csv", "a/.hidden.csv", "a/b/h.csv", "a/b/c", "a/b", "a", ""};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        ferry_error_clear(&err);
        CHECK_INTEQ(ferry_hook_sftp.remove(ep_at(files[i]), &err), FERRY_OK);
        if (err.status != FERRY_OK)
            fprintf(stderr, "  remove %s: %s\n", files[i], err.msg);
    }
    ferry_entry e;
    CHECK_INTEQ(ferry_hook_sftp.stat(ep_at(""), &e, &err), FERRY_ERR_NOT_FOUND);
}

static void test_conn_test(void)
{
    char info[1024] = "";
    ferry_error err;
    ferry_error_clear(&err);
    CHECK_INTEQ(ferry_hook_sftp.test(conn, info, sizeof info, &err), FERRY_OK);
    CHECK(strstr(info, "sftp at ") != NULL);
    CHECK(strstr(info, "verified against") != NULL);
}

int main(void)
{
    svc_env_load();
    const char *host = getenv("SFTP_HOST"), *port = getenv("SFTP_PORT"), *user = getenv("SFTP_USER");
    const char *key = getenv("SFTP_KEY"), *kh = getenv("SFTP_KNOWN_HOSTS");
    if (!host || !port || !user || !key || !kh)
        return svc_missing("no SFTP_* environment");
    signal(SIGPIPE, SIG_IGN);
    conn = ferry_conn_new("live", "sftp");
    conn->host = strdup(host);
    conn->port = atoi(port);
    conn->login = strdup(user);
    add_extra(conn, "key_file", key);
    add_extra(conn, "known_hosts", kh);
    snprintf(base, sizeof base, "ferry-live-%ld", (long)getpid());
    ferry_copy_options_init(&opts);
    opts.timeout = 60;

    RUN(test_conn_test);
    RUN(test_mkdir);
    RUN(test_put_stat_list);
    RUN(test_exists_and_replace);
    RUN(test_commit_races);
    RUN(test_abort_and_interrupt);
    RUN(test_remove);
    ferry_conn_free(conn);
    return check_summary();
}
