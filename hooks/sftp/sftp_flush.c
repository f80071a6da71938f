/*
 * hooks/sftp/sftp_flush.c - the sink's background flusher: while a large
 * upload goes on, a thread with a session of its own (from the cache) asks
 * the server to fsync the temp file (fsync@openssh.com) each time another
 * FERRY_SFTP_FLUSH_EVERY bytes were acknowledged.
 *
 * Why: the server's kernel keeps what it received in its page cache, and the
 * sink's commit must fsync it; for 1 GiB that final fsync wrote the whole
 * file at once (3.3 s on the harness's disk) after the last byte had arrived.
 * Flushed along the way, the disk writes while the network transfers, and the
 * final fsync only has the last few MiB left.  The flusher is an
 * optimisation only: every failure of its own (no session, no fsync on the
 * server) just ends it, and the commit's fsync stays what makes the file
 * durable.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/thread.h"
#include "ferry/log.h"
#include "hooks/sftp/sftp_internal.h"

struct ferry_sftp_flusher {
    const ferry_conn *conn;         /* borrowed from the sink (outlives us) */
    ferry_sftp_connect_opts opts;
    char *path;                     /* owned */
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint64_t acked;                 /* what the sink reported */
    uint64_t next;                  /* fsync when acked reaches this */
    int stop;
    atomic_int abandon;             /* abort: interrupt a call in flight */
    int flushes;
};

static ferry_status fsync_handle(ferry_sftp_session *s, LIBSSH2_SFTP_HANDLE *h, const char *path, ferry_error *err)
{
    double since = ferry_now_monotonic();
    for (;;) {
        int rc = libssh2_sftp_fsync(h);
        if (rc == 0)
            return FERRY_OK;
        if (rc != LIBSSH2_ERROR_EAGAIN)
            return ferry_sftp_error(s, rc, err, "fsync '%s'", path);
        ferry_status st = ferry_sftp_wait(s, since, "fsync", err);
        if (st != FERRY_OK)
            return st;
    }
}

static void *flusher_main(void *arg)
{
    ferry_sftp_flusher *f = arg;
    ferry_error err;
    ferry_error_clear(&err);
    ferry_sftp_session *s = NULL;
    LIBSSH2_SFTP_HANDLE *h = NULL;
    int reused = 0;
    ferry_status st = ferry_sftp_acquire(f->conn, &f->opts, &s, &reused, &err);
    if (st == FERRY_OK) {
        s->abandon = &f->abandon;
        st = ferry_sftp_open(s, f->path, LIBSSH2_FXF_READ, 0, LIBSSH2_SFTP_OPENFILE, &h, &err);
    }
    pthread_mutex_lock(&f->mu);
    while (st == FERRY_OK) {
        while (!f->stop && f->acked < f->next)
            pthread_cond_wait(&f->cv, &f->mu);
        if (f->stop)
            break;
        f->next = f->acked + FERRY_SFTP_FLUSH_EVERY;
        pthread_mutex_unlock(&f->mu);
        st = fsync_handle(s, h, f->path, &err);
        pthread_mutex_lock(&f->mu);
        if (st == FERRY_OK)
            f->flushes++;
    }
    pthread_mutex_unlock(&f->mu);
    if (st != FERRY_OK && st != FERRY_ERR_INTERRUPTED)
        ferry_log(FERRY_LOG_DEBUG, FERRY_SFTP_SYSTEM ": background fsync of '%s' ends: %s", f->path, err.msg);
    if (s && h && !s->broken) {
        ferry_error ignored;
        ferry_sftp_close_handle(s, h, f->path, &ignored);
    } else if (s && h) {
        ferry_sftp_drop_handle(s, h);
    }
    if (s)
        s->abandon = NULL;
    ferry_sftp_release(s);
    return NULL;
}

ferry_sftp_flusher *ferry_sftp_flusher_start(const ferry_conn *conn, const ferry_sftp_connect_opts *opts,
                                             const char *path, uint64_t acked)
{
    ferry_sftp_flusher *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->conn = conn;
    f->opts = *opts;
    f->opts.max_attempts = 1;
    f->path = strdup(path);
    f->acked = acked;
    f->next = acked;    /* the first fsync at once: what is there already */
    atomic_init(&f->abandon, 0);
    pthread_mutex_init(&f->mu, NULL);
    pthread_cond_init(&f->cv, NULL);
    if (!f->path || ferry_thread_create(&f->thread, NULL, flusher_main, f) != 0) {
        pthread_cond_destroy(&f->cv);
        pthread_mutex_destroy(&f->mu);
        free(f->path);
        free(f);
        return NULL;
    }
    return f;
}

void ferry_sftp_flusher_progress(ferry_sftp_flusher *f, uint64_t acked)
{
    if (!f)
        return;
    pthread_mutex_lock(&f->mu);
    f->acked = acked;
    if (acked >= f->next)
        pthread_cond_signal(&f->cv);
    pthread_mutex_unlock(&f->mu);
}

int ferry_sftp_flusher_stop(ferry_sftp_flusher *f, int abandon)
{
    if (!f)
        return 0;
    if (abandon)
        atomic_store(&f->abandon, 1);
    pthread_mutex_lock(&f->mu);
    f->stop = 1;
    pthread_cond_signal(&f->cv);
    pthread_mutex_unlock(&f->mu);
    pthread_join(f->thread, NULL);   /* a flush in flight ends first: it is work the final fsync saves */
    int n = f->flushes;
    pthread_cond_destroy(&f->cv);
    pthread_mutex_destroy(&f->mu);
    free(f->path);
    free(f);
    return n;
}
