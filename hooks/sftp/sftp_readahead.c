/*
 * hooks/sftp/sftp_readahead.c - reading one large file in background threads:
 * one session reading ahead (the default), or several sessions at once (the
 * read_sessions extra) for servers whose per-session throughput (one sshd
 * process, one core, one TCP window, one SSH channel window) is the limit.
 *
 * The file is cut into FERRY_SFTP_PAR_BLOCK blocks.  Each worker thread owns
 * one session and one handle, takes the next unassigned block, seeks there
 * and reads it into a slot of a ring of sessions + 2 slots; the reader hands
 * the blocks out strictly in order and frees each slot once it is consumed.
 * A block is only assigned when its slot is free, so memory stays bounded
 * (3 x 4 MiB for one session, 5 x 1.5 MiB for four) however far ahead the
 * workers could run.  The caller's read() only copies out of a full slot, so it
 * returns at once while the workers keep the SSH sockets busy (decrypting on
 * their own cores) and the sink works.  The file's size at open is what is
 * read: a file that grows is copied up to that size, one that shrinks fails.
 *
 * libssh2 reads ahead up to 4x the buffer it is given and a seek throws
 * whatever it read ahead away.  With several workers each read asks for at
 * most a quarter of what is left of the block, so no request runs past it.
 * A single worker reads the blocks one after the other without seeking, so
 * its requests may run on into the next block (up to 2 MiB asked, 8 MiB in
 * flight): only the end of the file bounds them.  One session uses 4 MiB
 * blocks; several use 1.5 MiB (FERRY_SFTP_PAR_BLOCK_MULTI: what was read
 * ahead and the ring both shrink with the block, and SFTP -> S3 stays under
 * 64 MiB of RSS; longer links want the read_block_kib extra raised).
 *
 * The first failure of any worker fails the source; SIGINT/SIGTERM and
 * free() stop every worker within one poll interval (200 ms).  Sessions come
 * from the cache (sftp_pool.c) and go back to it when the source is freed.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/thread.h"
#include "ferry/log.h"
#include "hooks/sftp/sftp_internal.h"

typedef enum slot_state { SLOT_FREE, SLOT_READING, SLOT_FULL } slot_state;

typedef struct slot {
    unsigned char *data;        /* owned, p->block bytes */
    size_t len;                 /* valid bytes when FULL */
    uint64_t block;             /* which block it holds (READING, FULL) */
    slot_state state;
} slot;

typedef struct par_source par_source;

typedef struct worker {
    par_source *p;              /* borrowed: the source that owns the worker */
    int index;
    int started;                /* the thread runs and must be joined */
    pthread_t thread;
    ferry_sftp_session *s;      /* owned */
    LIBSSH2_SFTP_HANDLE *h;     /* owned */
    uint64_t at;                /* the handle's file position (UINT64_MAX: unknown) */
} worker;

struct par_source {
    ferry_source base;
    ferry_conn *conn;           /* owned copy, for the workers to connect */
    ferry_sftp_connect_opts opts;
    char *path;                 /* owned */
    uint64_t size, n_blocks;
    size_t block;               /* bytes per block (the last may be shorter) */
    worker *workers;            /* owned, n_workers */
    int n_workers;
    slot *slots;                /* owned, n_slots */
    size_t n_slots;
    atomic_int stop;            /* free() or a failure: workers end */
    pthread_mutex_t mu;         /* guards everything below and slot states */
    pthread_cond_t cv;
    uint64_t next_assign;       /* next block a worker may take */
    uint64_t next_deliver;      /* next block the reader hands out */
    size_t pos;                 /* bytes of that block handed out */
    int live;                   /* workers still running */
    int failed;
    ferry_error err;            /* the first failure */
    int64_t total;
};

/* ---------------------------------------------------------------- workers */

/* Read len bytes at off into data. */
static ferry_status read_block(worker *w, uint64_t off, unsigned char *data, size_t len, ferry_error *err)
{
    if (w->at != off)
        libssh2_sftp_seek64(w->h, off);
    w->at = UINT64_MAX;         /* until this block is complete */
    /* how far requests may run: the block, or the file for a lone worker */
    uint64_t bound = w->p->n_workers == 1 ? w->p->size : off + len;
    double since = ferry_now_monotonic();
    size_t got = 0;
    while (got < len) {
        size_t left = len - got;
        uint64_t room = bound - (off + got);
        size_t ask = room / 4 > 2 * FERRY_SFTP_IO_MIN ? 2 * FERRY_SFTP_IO_MIN : (size_t)(room / 4);
        if (ask < 32768)
            ask = 32768;
        if (ask > left)
            ask = left;
        ssize_t rc = libssh2_sftp_read(w->h, (char *)data + got, ask);
        if (rc > 0) {
            got += (size_t)rc;
            since = ferry_now_monotonic();
        } else if (rc == 0) {
            return ferry_error_hook(err, FERRY_ERR_DATA, FERRY_SFTP_SYSTEM, w->s->conn_id,
                                    "read '%s': the file ended at %llu bytes, %llu were expected (it shrank while "
                                    "it was read)",
                                    w->p->path, (unsigned long long)(off + got), (unsigned long long)w->p->size);
        } else if (rc == LIBSSH2_ERROR_EAGAIN) {
            ferry_status st = ferry_sftp_wait(w->s, since, "read", err);
            if (st != FERRY_OK)
                return st;
        } else {
            return ferry_sftp_error(w->s, (int)rc, err, "read '%s' at %llu", w->p->path, (unsigned long long)off);
        }
    }
    w->at = off + len;
    return FERRY_OK;
}

/* An extra worker's own connection and handle; failing is not fatal. */
static int worker_connect(worker *w)
{
    par_source *p = w->p;
    ferry_error err;
    ferry_error_clear(&err);
    ferry_sftp_connect_opts opts = p->opts;
    opts.max_attempts = 1;
    int reused = 0;
    ferry_status st;
    do {
        st = ferry_sftp_acquire(p->conn, &opts, &w->s, &reused, &err);
        if (st == FERRY_OK)
            st = ferry_sftp_open(w->s, p->path, LIBSSH2_FXF_READ, 0, LIBSSH2_SFTP_OPENFILE, &w->h, &err);
    } while (ferry_sftp_stale(&w->s, reused, st, &err));
    if (st != FERRY_OK) {
        if (!ferry_cancelled() && !atomic_load(&p->stop))
            ferry_log(FERRY_LOG_WARN, "%s; reading '%s' with one session less", err.msg, p->path);
        return -1;
    }
    return 0;
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    par_source *p = w->p;
    int ok = w->s != NULL || worker_connect(w) == 0;
    if (ok)
        w->s->abandon = &p->stop;
    pthread_mutex_lock(&p->mu);
    while (ok && !atomic_load(&p->stop) && p->next_assign < p->n_blocks) {
        uint64_t b = p->next_assign;
        slot *sl = &p->slots[b % p->n_slots];
        if (sl->state != SLOT_FREE) {
            pthread_cond_wait(&p->cv, &p->mu);
            continue;
        }
        sl->state = SLOT_READING;
        sl->block = b;
        p->next_assign++;
        pthread_mutex_unlock(&p->mu);

        uint64_t off = b * p->block;
        size_t len = p->size - off < p->block ? (size_t)(p->size - off) : p->block;
        ferry_error err;
        ferry_error_clear(&err);
        ferry_status st = read_block(w, off, sl->data, len, &err);

        pthread_mutex_lock(&p->mu);
        if (st == FERRY_OK) {
            sl->len = len;
            sl->state = SLOT_FULL;
        } else {
            if (!p->failed) {
                p->failed = 1;
                p->err = err;
            }
            atomic_store(&p->stop, 1);
            ok = 0;
        }
        pthread_cond_broadcast(&p->cv);
    }
    p->live--;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

/* ---------------------------------------------------------------- the source */

static void wait_a_little(par_source *p)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += FERRY_SFTP_POLL_MS * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&p->cv, &p->mu, &ts);
}

static ferry_status par_read(ferry_source *src, void *buf, size_t cap, size_t *nread, ferry_error *err)
{
    par_source *p = (par_source *)src;
    *nread = 0;
    if (p->next_deliver >= p->n_blocks || cap == 0)
        return FERRY_OK;
    slot *sl = &p->slots[p->next_deliver % p->n_slots];
    pthread_mutex_lock(&p->mu);
    while (!(sl->state == SLOT_FULL && sl->block == p->next_deliver)) {
        ferry_status st = FERRY_OK;
        if (p->failed) {
            *err = p->err;
            st = p->err.status != FERRY_OK ? p->err.status : FERRY_ERR_INTERNAL;
        } else if (ferry_cancelled()) {
            st = ferry_error_set(err, FERRY_ERR_INTERRUPTED, FERRY_SFTP_SYSTEM ": read '%s': interrupted by signal %d",
                                 p->path, ferry_cancel_signal());
        } else if (p->live == 0) {
            st = ferry_error_set(err, FERRY_ERR_INTERNAL, FERRY_SFTP_SYSTEM ": read '%s': every read session ended",
                                 p->path);
        }
        if (st != FERRY_OK) {
            atomic_store(&p->stop, 1);
            pthread_cond_broadcast(&p->cv);
            pthread_mutex_unlock(&p->mu);
            return st;
        }
        wait_a_little(p);
    }
    pthread_mutex_unlock(&p->mu);
    /* a FULL slot is the reader's until it frees it */
    size_t n = sl->len - p->pos < cap ? sl->len - p->pos : cap;
    memcpy(buf, sl->data + p->pos, n);
    p->pos += n;
    p->total += (int64_t)n;
    *nread = n;
    if (p->pos == sl->len) {
        pthread_mutex_lock(&p->mu);
        sl->state = SLOT_FREE;
        p->next_deliver++;
        p->pos = 0;
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
    }
    return FERRY_OK;
}

static void par_free(ferry_source *src)
{
    par_source *p = (par_source *)src;
    if (!p)
        return;
    atomic_store(&p->stop, 1);
    pthread_mutex_lock(&p->mu);
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->n_workers; i++) {
        worker *w = &p->workers[i];
        if (w->started)
            pthread_join(w->thread, NULL);
        if (w->s && w->h && !w->s->broken) {
            ferry_error ignored;
            w->s->cleanup = 1;
            ferry_sftp_close_handle(w->s, w->h, p->path, &ignored);
        } else if (w->s && w->h) {
            ferry_sftp_drop_handle(w->s, w->h);
        }
        ferry_sftp_release(w->s);  /* back to the cache when healthy */
    }
    for (size_t i = 0; p->slots && i < p->n_slots; i++)
        free(p->slots[i].data);
    free(p->slots);
    free(p->workers);
    ferry_conn_free(p->conn);
    free(p->path);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

static const ferry_source_ops par_ops = {"sftp", par_read, NULL, par_free};

ferry_status ferry_sftp_readahead_source(ferry_sftp_session *s, LIBSSH2_SFTP_HANDLE *h, const char *path,
                                         int64_t size, const ferry_conn *conn, const ferry_sftp_connect_opts *opts,
                                         int sessions, size_t block, ferry_source **out, ferry_error *err)
{
    *out = NULL;
    par_source *p = calloc(1, sizeof *p);
    if (!p) {
        ferry_sftp_drop_handle(s, h);
        ferry_sftp_disconnect(s);
        return ferry_error_oom(err, NULL, NULL, NULL);
    }
    p->base.ops = &par_ops;
    p->base.size = size;
    p->base.rows = -1;
    p->opts = *opts;
    p->size = (uint64_t)size;
    p->block = block ? block : sessions > 1 ? FERRY_SFTP_PAR_BLOCK_MULTI : FERRY_SFTP_PAR_BLOCK;
    p->n_blocks = (p->size + p->block - 1) / p->block;
    p->n_workers = sessions;
    /* one slot per worker and one the reader is emptying; a lone worker gets
     * a spare so that it can go on while the reader is slow (several workers
     * are each other's spares: 1.5 MiB blocks were as fast with one spare as
     * with two at 20 ms RTT, 6.9 s vs 6.8 s for 1 GiB) */
    p->n_slots = (size_t)sessions + (sessions > 1 ? 1 : 2);
    atomic_init(&p->stop, 0);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    p->workers = calloc((size_t)sessions, sizeof *p->workers);
    p->slots = calloc(p->n_slots, sizeof *p->slots);
    p->path = strdup(path);
    p->conn = ferry_sftp_conn_clone(conn);
    int bad = !p->workers || !p->slots || !p->path || !p->conn;
    for (size_t i = 0; !bad && i < p->n_slots; i++)
        bad = !(p->slots[i].data = malloc(p->block));
    if (p->workers) {
        p->workers[0].s = s;    /* the first session is the one already open */
        p->workers[0].h = h;
    } else {
        ferry_sftp_drop_handle(s, h);
        ferry_sftp_disconnect(s);
    }
    if (bad) {
        par_free(&p->base);
        return ferry_error_oom(err, NULL, NULL, NULL);
    }
    for (int i = 0; i < sessions; i++) {
        worker *w = &p->workers[i];
        w->p = p;
        w->index = i;
        w->at = i == 0 ? 0 : UINT64_MAX;   /* the open handle is at 0 */
        pthread_mutex_lock(&p->mu);
        p->live++;
        pthread_mutex_unlock(&p->mu);
        if (ferry_thread_create(&w->thread, NULL, worker_main, w) != 0) {
            pthread_mutex_lock(&p->mu);
            p->live--;
            pthread_mutex_unlock(&p->mu);
            if (i == 0) {
                par_free(&p->base);
                return ferry_error_set(err, FERRY_ERR_INTERNAL, "cannot start a read thread");
            }
            break;
        }
        w->started = 1;
    }
    ferry_log(FERRY_LOG_DEBUG, FERRY_SFTP_SYSTEM "(%s): reading '%s' (%lld bytes) ahead over %d session%s",
              s->conn_id, path, (long long)size, sessions, sessions == 1 ? "" : "s");
    ferry_log(FERRY_LOG_DEBUG, FERRY_SFTP_SYSTEM "(%s): read-ahead ring: %zu blocks of %zu KiB", s->conn_id,
              p->n_slots, p->block / 1024);
    *out = &p->base;
    return FERRY_OK;
}
