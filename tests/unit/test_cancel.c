/*
 * test_cancel.c - cancellation per transfer (ferry/cancel.h): two copies in
 * one process, each with its own token, from a slow source (a hook defined
 * here) to local files; cancelling one leaves the other to complete, and the
 * process-wide request (the CLI's signal handler) stops both.  Also: tokens
 * and the thread's current token, threads started by the library inheriting
 * it, and ferry_copy_options.struct_size (ferry/hook.h's rules).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "core/thread.h"
#include "ferry/ferry.h"

/* ---- a slow source: "slow:a" and "slow:b", state per path ---- */

typedef struct slow_state {
    atomic_long produced;   /* bytes read so far */
    long total;             /* < 0: endless (only cancellation ends it) */
    atomic_int release;     /* a finite source ends only once this is set */
} slow_state;

static slow_state slow_a, slow_b;

typedef struct slow_source {
    ferry_source base;
    slow_state *st;
    double t0;
} slow_source;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {0, ms * 1000000L};
    nanosleep(&ts, NULL);
}

/* 4 KiB of "x...\n" lines per read, one read per millisecond.  A source that
 * is never let go fails after 30 s, so a broken cancellation fails the test
 * instead of hanging it. */
static ferry_status slow_read(ferry_source *src, void *buf, size_t cap, size_t *nread, ferry_error *err)
{
    slow_source *s = (slow_source *)src;
    *nread = 0;
    for (;;) {
        if (now_s() - s->t0 > 30)
            return ferry_error_set(err, FERRY_ERR_DATA, "slow source: still running after 30 s");
        long done = atomic_load(&s->st->produced);
        if (s->st->total < 0 || done < s->st->total)
            break;
        if (atomic_load(&s->st->release))
            return FERRY_OK; /* end of stream */
        sleep_ms(1);
    }
    sleep_ms(1);
    size_t n = cap < 4096 ? cap : 4096;
    if (s->st->total >= 0 && (long)n > s->st->total - atomic_load(&s->st->produced))
        n = (size_t)(s->st->total - atomic_load(&s->st->produced));
    memset(buf, 'x', n);
    for (size_t i = 63; i < n; i += 64)
        ((char *)buf)[i] = '\n';
    atomic_fetch_add(&s->st->produced, (long)n);
    *nread = n;
    return FERRY_OK;
}

static void slow_free(ferry_source *src)
{
    free(src);
}

static const ferry_source_ops slow_ops = {"slow", slow_read, NULL, slow_free};

static ferry_status slow_open_source(const ferry_endpoint *ep, const ferry_copy_options *o, ferry_source **out,
                                     ferry_error *err)
{
    (void)o;
    slow_source *s = calloc(1, sizeof *s);
    if (!s)
        return ferry_error_set(err, FERRY_ERR_INTERNAL, "out of memory");
    s->base.ops = &slow_ops;
    s->base.size = -1;
    s->base.rows = -1;
    s->st = strcmp(ep->path, "a") == 0 ? &slow_a : &slow_b;
    s->t0 = now_s();
    *out = &s->base;
    return FERRY_OK;
}

static const char *const slow_types[] = {"slowtest", NULL};
static const ferry_hook slow_hook = {
    FERRY_HOOK_INIT,
    .name = "slowtest",
    .conn_types = slow_types,
    .open_source = slow_open_source,
};

/* ---- one copy on its own thread ---- */

typedef struct copy_job {
    const char *src;
    char dst[512];
    ferry_cancel_token *token;
    ferry_status status;
    ferry_error err;
    atomic_int done;
    pthread_t thread;
} copy_job;

static void *copy_main(void *p)
{
    copy_job *j = p;
    ferry_copy_options o;
    ferry_copy_options_init(&o);
    o.cancel = j->token;
    ferry_error_clear(&j->err);
    j->status = ferry_copy(j->src, j->dst, &o, NULL, &j->err);
    atomic_store(&j->done, 1);
    return NULL;
}

static char tmpdir[] = "/tmp/ferry_test_cancel_XXXXXX";

static void start(copy_job *j, const char *src, const char *name, ferry_cancel_token *t)
{
    memset(j, 0, sizeof *j);
    j->src = src;
    snprintf(j->dst, sizeof j->dst, "%s/%s", tmpdir, name);
    j->token = t;
    pthread_create(&j->thread, NULL, copy_main, j);
}

static void reset_state(slow_state *s, long total)
{
    atomic_store(&s->produced, 0);
    s->total = total;
    atomic_store(&s->release, 0);
}

/* Wait until both sources have produced some data (both copies are in their
 * pump loops); 0 after 20 s. */
static int both_running(void)
{
    double t0 = now_s();
    while (atomic_load(&slow_a.produced) < 65536 || atomic_load(&slow_b.produced) < 65536) {
        if (now_s() - t0 > 20)
            return 0;
        sleep_ms(1);
    }
    return 1;
}

static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static void test_two_transfers_cancelled_apart(void)
{
    ferry_cancel_token *ta = ferry_cancel_token_new(), *tb = ferry_cancel_token_new();
    CHECK(ta && tb);
    reset_state(&slow_a, -1);           /* endless: only its token stops it */
    reset_state(&slow_b, 1024 * 1024);  /* 1 MiB, ends once released */
    copy_job a, b;
    start(&a, "slowa:a", "a.txt", ta);
    start(&b, "slowb:b", "b.txt", tb);
    CHECK(both_running());

    ferry_cancel_token_request(ta, 0);
    pthread_join(a.thread, NULL);
    CHECK_INTEQ(a.status, FERRY_ERR_INTERRUPTED);
    CHECK_INTEQ(a.err.status, FERRY_ERR_INTERRUPTED);
    CHECK(strstr(a.err.msg, "cancelled") != NULL);
    CHECK(file_size(a.dst) == -1);      /* destination untouched */

    /* b is still copying, unaffected */
    CHECK(!atomic_load(&b.done));
    CHECK(!ferry_cancel_token_requested(tb));
    CHECK(!ferry_cancelled());          /* nor is this thread, nor the process */
    atomic_store(&slow_b.release, 1);
    pthread_join(b.thread, NULL);
    CHECK_INTEQ(b.status, FERRY_OK);
    if (b.status != FERRY_OK)
        fprintf(stderr, "  b: %s\n", b.err.msg);
    CHECK_INTEQ(file_size(b.dst), 1024 * 1024);

    /* the token of a finished transfer is not current anywhere: reusable */
    ferry_cancel_token_reset(ta);
    CHECK(!ferry_cancel_token_requested(ta));
    unlink(b.dst);
    ferry_cancel_token_free(ta);
    ferry_cancel_token_free(tb);
}

static void test_process_wide_cancels_every_transfer(void)
{
    ferry_cancel_token *ta = ferry_cancel_token_new(), *tb = ferry_cancel_token_new();
    reset_state(&slow_a, -1);
    reset_state(&slow_b, -1);
    copy_job a, b;
    start(&a, "slowa:a", "a.txt", ta);
    start(&b, "slowb:b", "b2.txt", NULL);  /* no token of its own */
    CHECK(both_running());
    ferry_cancel_request(SIGTERM);           /* what the CLI's signal handler does */
    pthread_join(a.thread, NULL);
    pthread_join(b.thread, NULL);
    CHECK_INTEQ(a.status, FERRY_ERR_INTERRUPTED);
    CHECK_INTEQ(b.status, FERRY_ERR_INTERRUPTED);
    CHECK(strstr(b.err.msg, "signal 15") != NULL);
    CHECK(!ferry_cancel_token_requested(ta)); /* the tokens themselves were not asked */
    CHECK_INTEQ(ferry_cancel_signal(), SIGTERM);
    ferry_cancel_reset();
    CHECK(!ferry_cancelled());
    CHECK(file_size(a.dst) == -1 && file_size(b.dst) == -1);
    ferry_cancel_token_free(ta);
    ferry_cancel_token_free(tb);
}

static void test_current_token(void)
{
    ferry_cancel_token *t = ferry_cancel_token_new(), *u = ferry_cancel_token_new();
    CHECK(ferry_cancel_current() == NULL);
    CHECK(ferry_cancel_adopt(t) == NULL);
    CHECK(ferry_cancel_current() == t);
    CHECK(!ferry_cancelled());
    ferry_cancel_token_request(u, SIGINT);   /* another transfer's token */
    CHECK(!ferry_cancelled());
    ferry_cancel_token_request(t, SIGINT);
    CHECK(ferry_cancelled());
    CHECK_INTEQ(ferry_cancel_signal(), SIGINT);
    CHECK(ferry_cancel_adopt(NULL) == t);
    CHECK(!ferry_cancelled());
    CHECK_INTEQ(ferry_cancel_signal(), 0);
    ferry_cancel_token_request(NULL, 1);     /* NULL is ignored */
    CHECK(!ferry_cancel_token_requested(NULL));
    ferry_cancel_token_free(t);
    ferry_cancel_token_free(u);
}

typedef struct seen {
    ferry_cancel_token *current;
    int cancelled;
} seen;

static void *report_token(void *p)
{
    seen *s = p;
    s->current = ferry_cancel_current();
    s->cancelled = ferry_cancelled();
    return NULL;
}

/* ferry_thread_create (what the hooks' worker threads are started with)
 * carries the starting thread's token; plain pthread_create does not. */
static void test_library_threads_inherit_the_token(void)
{
    ferry_cancel_token *t = ferry_cancel_token_new();
    ferry_cancel_token_request(t, 0);
    ferry_cancel_token *prev = ferry_cancel_adopt(t);
    seen s1 = {NULL, 0}, s2 = {NULL, 0};
    pthread_t th;
    CHECK_INTEQ(ferry_thread_create(&th, NULL, report_token, &s1), 0);
    pthread_join(th, NULL);
    CHECK(s1.current == t);
    CHECK(s1.cancelled);
    CHECK_INTEQ(pthread_create(&th, NULL, report_token, &s2), 0);
    pthread_join(th, NULL);
    CHECK(s2.current == NULL);
    CHECK(!s2.cancelled);
    ferry_cancel_adopt(prev);
    ferry_cancel_token_free(t);
}

/* ferry_copy_options.struct_size: an uninitialised struct and one from newer
 * headers are refused before anything is touched; a struct from older headers
 * (only the first struct_size bytes exist) works with defaults for the rest;
 * init never writes past the size it is given. */
static void test_options_struct_size(void)
{
    char src[600], dst[600], buf[4096];
    snprintf(src, sizeof src, "%s/in.txt", tmpdir);
    snprintf(dst, sizeof dst, "%s/out.txt", tmpdir);
    FILE *f = fopen(src, "w");
    fputs("1\n2\n3\n", f);
    fclose(f);
    ferry_error err;

    ferry_copy_options o;
    ferry_copy_options_init(&o);
    CHECK_INTEQ(o.struct_size, sizeof o);
    CHECK_INTEQ(o.chunk_size, 1024 * 1024);
    CHECK(o.cancel == NULL);

    ferry_copy_options bad = o;
    bad.struct_size = 0;
    ferry_error_clear(&err);
    CHECK_INTEQ(ferry_copy(src, dst, &bad, NULL, &err), FERRY_ERR_USAGE);
    CHECK(strstr(err.msg, "ferry_copy_options_init") != NULL);
    CHECK(file_size(dst) == -1);
    bad.struct_size = sizeof bad + 8;
    CHECK_INTEQ(ferry_copy(src, dst, &bad, NULL, &err), FERRY_ERR_USAGE);
    CHECK_INTEQ(ferry_copy_describe(src, dst, &bad, buf, sizeof buf, &err), FERRY_ERR_USAGE);
    int ok = 0, failed = 0;
    CHECK_INTEQ(ferry_copy_many(src, tmpdir, &bad, NULL, NULL, &ok, &failed, &err), FERRY_ERR_USAGE);

    /* the oldest layout this library accepts, followed by garbage it must not read */
    union {
        ferry_copy_options o;
        unsigned char bytes[sizeof(ferry_copy_options) + 64];
    } old;
    memset(&old, 0xA5, sizeof old);
    ferry_copy_options_init_size(&old.o, FERRY_COPY_OPTIONS_MIN_SIZE);
    for (size_t i = FERRY_COPY_OPTIONS_MIN_SIZE; i < sizeof old.bytes; i++)
        CHECK(old.bytes[i] == 0xA5);
    CHECK_INTEQ(old.o.struct_size, FERRY_COPY_OPTIONS_MIN_SIZE);
    ferry_error_clear(&err);
    CHECK_INTEQ(ferry_copy(src, dst, &old.o, NULL, &err), FERRY_OK);
    CHECK_INTEQ(file_size(dst), 6);
    unlink(dst);
    unlink(src);
}

int main(void)
{
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    CHECK_INTEQ(ferry_hook_register(&slow_hook), FERRY_OK);
    setenv("FERRY_CONN_SLOWA", "{\"conn_type\": \"slowtest\"}", 1);
    setenv("FERRY_CONN_SLOWB", "{\"conn_type\": \"slowtest\"}", 1);
    RUN(test_current_token);
    RUN(test_library_threads_inherit_the_token);
    RUN(test_two_transfers_cancelled_apart);
    RUN(test_process_wide_cancels_every_transfer);
    RUN(test_options_struct_size);
    rmdir(tmpdir);
    return check_summary();
}
