/*
 * hooks/sftp/sftp_stripe.c - one large upload written by several sessions at
 * once (the sink's write_sessions, docs/hooks/sftp.md): helper threads, each
 * with a session of its own from the cache and the sink's temp file opened
 * for writing, take whole segments (FERRY_SFTP_SINK_BUF bytes at a given
 * offset) from the sink and write them there.
 *
 * Why: libssh2 1.10 encrypts in the calling thread, one EVP call per 16-byte
 * AES block (about 460 MB/s on this project's machine), so one session is
 * bound by one core; several sessions spread the cipher work over cores (and
 * the server's over several sshd processes).
 *
 * The sink stays in charge: it fills its buffer, offers the full buffer to an
 * idle helper (the buffers are swapped, nothing is copied) and writes it
 * itself on its own session when every helper is busy or still connecting.
 * The temp file is still created by the sink alone and published by its one
 * rename at commit, after ferry_sftp_stripes_finish said every segment was
 * acknowledged and every helper's handle closed cleanly.  A helper whose
 * connection is lost writes its segment again over a new one (once); any
 * other failure is the upload's failure (the sink returns it from its next
 * write or its commit, and its abort removes the temp file).  A helper that
 * cannot connect at the start is no failure: the others (and the sink) do its
 * share.
 *
 * Helpers are limited process-wide (FERRY_SFTP_STRIPE_HELPERS_MAX), so
 * --transfers N copies of large files do not open N x write_sessions
 * connections; a sink that gets none writes alone, as before.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/thread.h"
#include "ferry/log.h"
#include "hooks/sftp/sftp_internal.h"

enum { LANE_CONNECTING, LANE_IDLE, LANE_BUSY, LANE_GONE };

typedef struct lane {
    struct ferry_sftp_stripes *st;  /* borrowed: the owner */
    pthread_t thread;
    int started;                    /* thread created */
    int state;                      /* LANE_*, under st->mu */
    unsigned char *buf;             /* owned: FERRY_SFTP_SINK_BUF bytes */
    uint64_t off;                   /* the segment: buf[0, len) at off */
    size_t len;
    uint64_t segments;              /* written, for the debug log */
} lane;

struct ferry_sftp_stripes {
    const ferry_conn *conn;         /* borrowed from the sink (outlives us) */
    ferry_sftp_connect_opts opts;
    char *path;                     /* owned: the temp file */
    pthread_mutex_t mu;
    pthread_cond_t cv;              /* any lane's state changed, or stop */
    int stop;
    atomic_int abandon;             /* abort: interrupt calls in flight */
    int failed;                     /* a segment was lost: err holds why */
    ferry_error err;
    int n;
    lane lanes[FERRY_SFTP_PAR_MAX_SESSIONS];
};

static atomic_int helpers_in_use;

/* Write buf[0, len) at off over h, waiting while libssh2 says EAGAIN; the
 * same sliding call as the sink's push (sftp_sink.c). */
static ferry_status write_segment(ferry_sftp_session *s, LIBSSH2_SFTP_HANDLE *h, const char *path,
                                  const unsigned char *buf, uint64_t off, size_t len, ferry_error *err)
{
    libssh2_sftp_seek64(h, off);
    size_t done = 0;
    double since = ferry_now_monotonic();
    while (done < len) {
        ssize_t rc = libssh2_sftp_write(h, (const char *)buf + done, len - done);
        if (rc > 0) {
            done += (size_t)rc;
            since = ferry_now_monotonic();
            continue;
        }
        if (rc == 0 || rc == LIBSSH2_ERROR_EAGAIN) {
            ferry_status st = ferry_sftp_wait(s, since, "write", err);
            if (st != FERRY_OK)
                return st;
            continue;
        }
        s->broken = 1; /* outstanding write requests: the handle is unusable */
        return ferry_sftp_error(s, (int)rc, err, "write '%s' at %llu", path, (unsigned long long)off);
    }
    return FERRY_OK;
}

/* A session and the temp file opened for writing; a cached session found
 * dead is replaced once (ferry_sftp_stale). */
static ferry_status lane_connect(ferry_sftp_stripes *st, int max_attempts, ferry_sftp_session **s,
                                 LIBSSH2_SFTP_HANDLE **h, ferry_error *err)
{
    ferry_sftp_connect_opts opts = st->opts;
    opts.max_attempts = max_attempts;
    int reused = 0;
    ferry_status rc;
    do {
        rc = FERRY_OK;
        if (!*s) {
            rc = ferry_sftp_acquire(st->conn, &opts, s, &reused, err);
            if (rc == FERRY_OK)
                (*s)->abandon = &st->abandon;
        }
        if (rc == FERRY_OK)
            rc = ferry_sftp_open(*s, st->path, LIBSSH2_FXF_WRITE, 0, LIBSSH2_SFTP_OPENFILE, h, err);
    } while (ferry_sftp_stale(s, reused, rc, err));
    return rc;
}

static void lane_release(ferry_sftp_session **s, LIBSSH2_SFTP_HANDLE **h)
{
    if (*s && *h && !(*s)->broken) {
        ferry_error ignored;
        ferry_sftp_close_handle(*s, *h, "(stripe)", &ignored);
    } else if (*s && *h) {
        ferry_sftp_drop_handle(*s, *h);
    }
    *h = NULL;
    if (*s) {
        (*s)->abandon = NULL;
        ferry_sftp_release(*s);
    }
    *s = NULL;
}

static void *lane_main(void *arg)
{
    lane *l = arg;
    ferry_sftp_stripes *st = l->st;
    ferry_sftp_session *s = NULL;
    LIBSSH2_SFTP_HANDLE *h = NULL;
    ferry_error err;
    ferry_error_clear(&err);
    ferry_status rc = lane_connect(st, 1, &s, &h, &err);
    if (rc == FERRY_OK && !(l->buf = malloc(FERRY_SFTP_SINK_BUF)))
        rc = ferry_error_oom(&err, NULL, NULL, NULL);
    pthread_mutex_lock(&st->mu);
    if (rc != FERRY_OK) {
        /* not a failure of the upload: the others do this lane's share */
        if (rc != FERRY_ERR_INTERRUPTED)
            ferry_log(FERRY_LOG_DEBUG, FERRY_SFTP_SYSTEM ": a write session for '%s' did not start: %s", st->path,
                      err.msg);
        l->state = LANE_GONE;
        pthread_cond_broadcast(&st->cv);
        pthread_mutex_unlock(&st->mu);
        lane_release(&s, &h);
        return NULL;
    }
    l->state = LANE_IDLE;
    pthread_cond_broadcast(&st->cv);
    for (;;) {
        while (l->state == LANE_IDLE && !st->stop)
            pthread_cond_wait(&st->cv, &st->mu);
        if (l->state != LANE_BUSY)
            break;  /* stopped */
        pthread_mutex_unlock(&st->mu);
        rc = write_segment(s, h, st->path, l->buf, l->off, l->len, &err);
        if (rc != FERRY_OK && s->broken && err.transient && rc != FERRY_ERR_INTERRUPTED && rc != FERRY_ERR_TIMEOUT &&
            !ferry_cancelled() && !atomic_load(&st->abandon)) {
            /* the connection was lost: the whole segment again over a new one */
            ferry_log(FERRY_LOG_DEBUG, FERRY_SFTP_SYSTEM ": %s; writing the segment at %llu again over a new "
                      "connection", err.msg, (unsigned long long)l->off);
            lane_release(&s, &h);
            ferry_error_clear(&err);
            rc = lane_connect(st, 2, &s, &h, &err);
            if (rc == FERRY_OK)
                rc = write_segment(s, h, st->path, l->buf, l->off, l->len, &err);
        }
        pthread_mutex_lock(&st->mu);
        if (rc != FERRY_OK) {
            if (!st->failed) {
                st->failed = 1;
                st->err = err;
            }
            l->state = LANE_GONE;
            pthread_cond_broadcast(&st->cv);
            break;
        }
        l->segments++;
        l->state = LANE_IDLE;
        pthread_cond_broadcast(&st->cv);
    }
    pthread_mutex_unlock(&st->mu);
    if (rc == FERRY_OK && s && h && !s->broken) {
        /* the server's last chance to report a failed write */
        LIBSSH2_SFTP_HANDLE *hh = h;
        h = NULL;
        rc = ferry_sftp_close_handle(s, hh, st->path, &err);
        if (rc != FERRY_OK) {
            pthread_mutex_lock(&st->mu);
            if (!st->failed && !atomic_load(&st->abandon)) {
                st->failed = 1;
                st->err = err;
            }
            pthread_mutex_unlock(&st->mu);
        }
    }
    lane_release(&s, &h);
    return NULL;
}

ferry_sftp_stripes *ferry_sftp_stripes_start(const ferry_conn *conn, const ferry_sftp_connect_opts *opts,
                                             const char *path, int helpers)
{
    if (helpers > FERRY_SFTP_PAR_MAX_SESSIONS)
        helpers = FERRY_SFTP_PAR_MAX_SESSIONS;
    /* reserve helpers from the process-wide limit */
    int got = 0;
    while (got < helpers) {
        int cur = atomic_load(&helpers_in_use);
        if (cur >= FERRY_SFTP_STRIPE_HELPERS_MAX)
            break;
        if (atomic_compare_exchange_weak(&helpers_in_use, &cur, cur + 1))
            got++;
    }
    if (got == 0)
        return NULL;
    ferry_sftp_stripes *st = calloc(1, sizeof *st);
    if (st)
        st->path = strdup(path);
    if (!st || !st->path) {
        if (st)
            free(st);
        atomic_fetch_sub(&helpers_in_use, got);
        return NULL;
    }
    st->conn = conn;
    st->opts = *opts;
    atomic_init(&st->abandon, 0);
    ferry_error_clear(&st->err);
    pthread_mutex_init(&st->mu, NULL);
    pthread_cond_init(&st->cv, NULL);
    for (int i = 0; i < got; i++) {
        lane *l = &st->lanes[st->n];
        l->st = st;
        l->state = LANE_CONNECTING;
        if (ferry_thread_create(&l->thread, NULL, lane_main, l) != 0)
            break;
        l->started = 1;
        st->n++;
    }
    if (st->n < got)
        atomic_fetch_sub(&helpers_in_use, got - st->n);
    if (st->n == 0) {
        pthread_cond_destroy(&st->cv);
        pthread_mutex_destroy(&st->mu);
        free(st->path);
        free(st);
        return NULL;
    }
    ferry_log(FERRY_LOG_DEBUG, FERRY_SFTP_SYSTEM ": '%s' is written by %d more session%s", path, st->n,
              st->n == 1 ? "" : "s");
    return st;
}

int ferry_sftp_stripes_offer(ferry_sftp_stripes *st, unsigned char **buf, uint64_t off, size_t len,
                             ferry_error *err)
{
    pthread_mutex_lock(&st->mu);
    if (st->failed) {
        *err = st->err;
        pthread_mutex_unlock(&st->mu);
        return -1;
    }
    int taken = 0;
    for (int i = 0; i < st->n && !taken; i++) {
        lane *l = &st->lanes[i];
        if (l->state != LANE_IDLE)
            continue;
        unsigned char *mine = *buf;
        *buf = l->buf;
        l->buf = mine;
        l->off = off;
        l->len = len;
        l->state = LANE_BUSY;
        taken = 1;
    }
    if (taken)
        pthread_cond_broadcast(&st->cv);
    pthread_mutex_unlock(&st->mu);
    return taken;
}

ferry_status ferry_sftp_stripes_finish(ferry_sftp_stripes *st, ferry_error *err)
{
    pthread_mutex_lock(&st->mu);
    for (;;) {
        int busy = 0;
        for (int i = 0; i < st->n; i++)
            busy |= st->lanes[i].state == LANE_BUSY;
        if (!busy || st->failed)
            break;
        pthread_cond_wait(&st->cv, &st->mu);
    }
    if (st->failed)
        atomic_store(&st->abandon, 1);  /* the upload is lost: do not finish the others' segments */
    st->stop = 1;
    pthread_cond_broadcast(&st->cv);
    pthread_mutex_unlock(&st->mu);
    uint64_t segments = 0;
    for (int i = 0; i < st->n; i++) {
        if (st->lanes[i].started)
            pthread_join(st->lanes[i].thread, NULL);   /* each closes its handle */
        st->lanes[i].started = 0;
        segments += st->lanes[i].segments;
    }
    if (st->failed) {
        *err = st->err;
        return err->status;
    }
    ferry_log(FERRY_LOG_DEBUG, FERRY_SFTP_SYSTEM ": %llu segments of '%s' were written by the other sessions",
              (unsigned long long)segments, st->path);
    return FERRY_OK;
}

void ferry_sftp_stripes_stop(ferry_sftp_stripes *st, int abandon)
{
    if (!st)
        return;
    if (abandon)
        atomic_store(&st->abandon, 1);
    pthread_mutex_lock(&st->mu);
    st->stop = 1;
    pthread_cond_broadcast(&st->cv);
    pthread_mutex_unlock(&st->mu);
    for (int i = 0; i < st->n; i++) {
        if (st->lanes[i].started)
            pthread_join(st->lanes[i].thread, NULL);
        free(st->lanes[i].buf);
    }
    atomic_fetch_sub(&helpers_in_use, st->n);
    pthread_cond_destroy(&st->cv);
    pthread_mutex_destroy(&st->mu);
    free(st->path);
    free(st);
}

ferry_status ferry_sftp_write_sessions(const ferry_conn *conn, const char *conn_id, int *out, ferry_error *err)
{
    *out = FERRY_SFTP_WRITE_SESSIONS_DEFAULT;
    const char *v = conn ? ferry_conn_extra(conn, "write_sessions") : NULL;
    if (!v)
        return FERRY_OK;
    char *end = NULL;
    long n = strtol(v, &end, 10);
    if (end == v || *end != '\0' || n < 1 || n > FERRY_SFTP_PAR_MAX_SESSIONS)
        return ferry_error_hook(err, FERRY_ERR_CONFIG, FERRY_SFTP_SYSTEM, conn_id,
                                "extra write_sessions='%s' is not a number from 1 to %d", v,
                                FERRY_SFTP_PAR_MAX_SESSIONS);
    *out = (int)n;
    return FERRY_OK;
}
