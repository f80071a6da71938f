/*
 * gzip_par.c - parallel gzip: the input is cut into fixed blocks (4 MiB by
 * default, aligned with nothing in particular) and each block becomes one
 * complete gzip member, compressed on a pool of worker threads; the members
 * go downstream strictly in input order, on the caller's thread (so the sink
 * sees one writer, as always).  A concatenation of gzip members is one valid
 * gzip file (RFC 1952 §2.2): gzip -t, zlib, Python's gzip module and ferry's
 * gunzip read it whole.
 *
 * Memory is a fixed ring of `slots` input+output buffer pairs allocated once
 * at creation (threads + 2 by default); nothing is allocated per block.
 * write() copies into the slot being filled; a full slot is queued for the
 * workers; when the ring is full the caller waits for the oldest slot,
 * writes its member downstream and reuses it (backpressure).
 *
 * Engines and levels: ISA-L (isal_deflate_stateless, one call per block)
 * when the build has it and FERRY_GZIP_ZLIB is unset, else zlib (deflate
 * with Z_FINISH into an output buffer of deflateBound size).  Level mapping
 * in ferry_gzip_isal_level / the design doc (compression section).
 *
 * Errors: a worker's failure stops the pool and is returned by the next
 * write()/commit().  Cancellation: the caller's waits poll ferry_cancelled()
 * every 100 ms and return FERRY_ERR_INTERRUPTED; workers stop picking blocks
 * once cancelled.  abort() and free() stop and join the workers.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#ifdef FERRY_HAVE_ISAL
#include <isa-l/igzip_lib.h>
#endif

#include "core/thread.h"
#include "core/util.h"
#include "ferry/transfer.h"
#include "transfer/budget.h"

typedef enum slot_state { PS_FREE, PS_QUEUED, PS_BUSY, PS_DONE } slot_state;

typedef struct par_slot {
    unsigned char *in;      /* owned, block bytes */
    unsigned char *out;     /* owned, out_cap bytes */
    size_t in_len, out_len;
    slot_state state;
} par_slot;

struct par_gzip;

typedef struct par_worker {
    struct par_gzip *g;
    pthread_t tid;
    int started;
    z_stream zs;            /* zlib engine: initialised once, deflateReset per block */
    int zs_init;
    unsigned char *level_buf; /* ISA-L engine: owned */
    size_t level_buf_size;
} par_worker;

typedef struct par_gzip {
    ferry_writer base;      /* must be first */
    int use_isal;
    int level;              /* engine level (zlib 1..9, ISA-L 0..3) */
    size_t block, out_cap;
    int nslots, nworkers;
    par_slot *slots;        /* owned, nslots */
    par_worker *workers;    /* owned, nworkers */
    pthread_mutex_t mu;
    pthread_cond_t work;    /* a slot was queued, or stop */
    pthread_cond_t done;    /* a slot is done, or a worker failed */
    int fill;               /* slot the caller fills */
    int head;               /* oldest slot not yet written downstream */
    int pick;               /* next slot the workers take (queue order) */
    int in_flight;          /* queued, busy or done, not yet written */
    int queued_any;         /* at least one block queued (an empty input still makes one member) */
    int stop;               /* workers: stop picking */
    int failed;             /* a worker failed: wmsg holds why */
    char wmsg[256];
    int joined;
} par_gzip;

/* -- one block -> one member (on a worker, outside the lock) -- */

static int compress_block(par_worker *w, par_slot *s, char *why, size_t why_cap)
{
    par_gzip *g = w->g;
#ifdef FERRY_HAVE_ISAL
    if (g->use_isal) {
        struct isal_zstream zs;
        memset(&zs, 0, sizeof zs); /* the init leaves fields isa-l reads (memcheck) */
        isal_deflate_stateless_init(&zs);
        zs.level = (uint32_t)g->level;
        zs.level_buf = w->level_buf;
        zs.level_buf_size = (uint32_t)w->level_buf_size;
        zs.gzip_flag = IGZIP_GZIP;
        zs.flush = NO_FLUSH;
        zs.end_of_stream = 1;
        zs.next_in = s->in;
        zs.avail_in = (uint32_t)s->in_len;
        zs.next_out = s->out;
        zs.avail_out = (uint32_t)g->out_cap;
        int rc = isal_deflate_stateless(&zs);
        if (rc != COMP_OK) {
            snprintf(why, why_cap, "gzip (isa-l): block compression failed (%d)", rc);
            return -1;
        }
        s->out_len = g->out_cap - zs.avail_out;
        return 0;
    }
#endif
    if (deflateReset(&w->zs) != Z_OK) {
        snprintf(why, why_cap, "gzip: deflateReset failed");
        return -1;
    }
    w->zs.next_in = s->in;
    w->zs.avail_in = (uInt)s->in_len;
    w->zs.next_out = s->out;
    w->zs.avail_out = (uInt)g->out_cap;
    int rc = deflate(&w->zs, Z_FINISH);
    if (rc != Z_STREAM_END) {
        snprintf(why, why_cap, "gzip: block deflate failed (%d)", rc);
        return -1;
    }
    s->out_len = g->out_cap - w->zs.avail_out;
    return 0;
}

static void *worker_main(void *arg)
{
    par_worker *w = arg;
    par_gzip *g = w->g;
    char why[256];
    pthread_mutex_lock(&g->mu);
    for (;;) {
        while (!g->stop && g->slots[g->pick].state != PS_QUEUED)
            pthread_cond_wait(&g->work, &g->mu);
        if (g->stop)
            break;
        if (ferry_cancelled()) {
            g->stop = 1;
            pthread_cond_broadcast(&g->work);
            pthread_cond_broadcast(&g->done);
            break;
        }
        par_slot *s = &g->slots[g->pick];
        s->state = PS_BUSY;
        g->pick = (g->pick + 1) % g->nslots;
        pthread_mutex_unlock(&g->mu);
        int rc = compress_block(w, s, why, sizeof why);
        pthread_mutex_lock(&g->mu);
        if (rc != 0) {
            if (!g->failed) {
                g->failed = 1;
                snprintf(g->wmsg, sizeof g->wmsg, "%s", why);
            }
            g->stop = 1;
            pthread_cond_broadcast(&g->work);
        } else {
            s->state = PS_DONE;
        }
        pthread_cond_broadcast(&g->done);
    }
    pthread_mutex_unlock(&g->mu);
    return NULL;
}

/* -- the caller's side -- */

static ferry_status failure(par_gzip *g, ferry_error *err)
{
    if (ferry_cancelled())
        return ferry_error_set(err, FERRY_ERR_INTERRUPTED, "interrupted by signal %d: aborted, destination untouched",
                               ferry_cancel_signal());
    char why[sizeof g->wmsg];
    pthread_mutex_lock(&g->mu);
    snprintf(why, sizeof why, "%s", g->failed ? g->wmsg : "gzip: compression stopped");
    pthread_mutex_unlock(&g->mu);
    return ferry_error_set(err, FERRY_ERR_INTERNAL, "%s", why);
}

/* Write the oldest slot downstream once it is done; block when wait is set.
 * Returns FERRY_OK with *wrote = 0 when it is not done and !wait. */
static ferry_status drain_head(par_gzip *g, int wait, int *wrote, ferry_error *err)
{
    *wrote = 0;
    pthread_mutex_lock(&g->mu);
    while (g->in_flight > 0 && g->slots[g->head].state != PS_DONE) {
        if (g->failed || g->stop || ferry_cancelled()) {
            pthread_mutex_unlock(&g->mu);
            return failure(g, err);
        }
        if (!wait) {
            pthread_mutex_unlock(&g->mu);
            return FERRY_OK;
        }
        ferry_cond_wait_for(&g->done, &g->mu, 0.1);
    }
    if (g->in_flight == 0) {
        pthread_mutex_unlock(&g->mu);
        return FERRY_OK;
    }
    par_slot *s = &g->slots[g->head];
    pthread_mutex_unlock(&g->mu);

    ferry_status st = ferry_writer_write(g->base.next, s->out, s->out_len, err);
    if (st != FERRY_OK)
        return st;

    pthread_mutex_lock(&g->mu);
    s->state = PS_FREE;
    s->in_len = s->out_len = 0;
    g->head = (g->head + 1) % g->nslots;
    g->in_flight--;
    pthread_mutex_unlock(&g->mu);
    *wrote = 1;
    return FERRY_OK;
}

/* Queue the slot being filled and move on to the next one (waiting for it). */
static ferry_status queue_fill(par_gzip *g, ferry_error *err)
{
    pthread_mutex_lock(&g->mu);
    g->slots[g->fill].state = PS_QUEUED;
    g->queued_any = 1;
    g->in_flight++;
    g->fill = (g->fill + 1) % g->nslots;
    pthread_cond_broadcast(&g->work);
    pthread_mutex_unlock(&g->mu);
    /* pass on what is already done, then make room for the next block */
    int wrote = 1;
    ferry_status st = FERRY_OK;
    while (st == FERRY_OK && wrote)
        st = drain_head(g, 0, &wrote, err);
    while (st == FERRY_OK && g->in_flight == g->nslots) /* in_flight: the caller's own */
        st = drain_head(g, 1, &wrote, err);
    return st;
}

static int stopped(par_gzip *g)
{
    pthread_mutex_lock(&g->mu);
    int s = g->failed || g->stop;
    pthread_mutex_unlock(&g->mu);
    return s;
}

static ferry_status par_write(ferry_writer *w, const void *buf, size_t len, ferry_error *err)
{
    par_gzip *g = (par_gzip *)w;
    const unsigned char *p = buf;
    if (stopped(g))
        return failure(g, err);
    while (len > 0) {
        par_slot *s = &g->slots[g->fill];
        size_t take = g->block - s->in_len;
        if (take > len)
            take = len;
        memcpy(s->in + s->in_len, p, take);
        s->in_len += take;
        p += take;
        len -= take;
        if (s->in_len == g->block) {
            ferry_status st = queue_fill(g, err);
            if (st != FERRY_OK)
                return st;
        }
    }
    return FERRY_OK;
}

static void stop_workers(par_gzip *g)
{
    if (g->joined)
        return;
    pthread_mutex_lock(&g->mu);
    g->stop = 1;
    pthread_cond_broadcast(&g->work);
    pthread_cond_broadcast(&g->done);
    pthread_mutex_unlock(&g->mu);
    for (int i = 0; i < g->nworkers; i++)
        if (g->workers[i].started) {
            pthread_join(g->workers[i].tid, NULL);
            g->workers[i].started = 0;
        }
    g->joined = 1;
}

static ferry_status par_commit(ferry_writer *w, ferry_error *err)
{
    par_gzip *g = (par_gzip *)w;
    if (stopped(g))
        return failure(g, err);
    ferry_status st = FERRY_OK;
    /* the partial last block; an empty input still becomes one (empty) member */
    if (g->slots[g->fill].in_len > 0 || !g->queued_any)
        st = queue_fill(g, err);
    int wrote = 1;
    while (st == FERRY_OK && g->in_flight > 0)
        st = drain_head(g, 1, &wrote, err);
    if (st != FERRY_OK)
        return st;
    stop_workers(g);
    return w->next->ops->commit(w->next, err);
}

static void par_abort(ferry_writer *w)
{
    par_gzip *g = (par_gzip *)w;
    stop_workers(g);
    if (w->next)
        w->next->ops->abort(w->next);
}

static void par_free(ferry_writer *w)
{
    par_gzip *g = (par_gzip *)w;
    if (!g)
        return;
    if (g->workers) {
        stop_workers(g);
        for (int i = 0; i < g->nworkers; i++) {
            if (g->workers[i].zs_init)
                deflateEnd(&g->workers[i].zs);
            free(g->workers[i].level_buf);
        }
        free(g->workers);
    }
    if (g->slots) {
        for (int i = 0; i < g->nslots; i++) {
            free(g->slots[i].in);
            free(g->slots[i].out);
        }
        free(g->slots);
    }
    pthread_cond_destroy(&g->work);
    pthread_cond_destroy(&g->done);
    pthread_mutex_destroy(&g->mu);
    free(g);
}

static const ferry_writer_ops par_ops = {"gzip (parallel)", par_write, par_commit, par_abort, par_free};

size_t ferry_gzip_par_out_cap(size_t block)
{
    /* worst case of both engines on incompressible data: stored blocks of at
     * most 64 KiB with 5 bytes each, plus header and trailer (deflateBound is
     * smaller; ISA-L's stateless bound is input + stored headers) */
    return block + block / 1024 + 64 * 1024;
}

int ferry_gzip_isal_level(int level)
{
    return level <= 3 ? 1 : level <= 6 ? 2 : 3;
}

ferry_status ferry_gzip_par_writer_new(ferry_writer *next, int level, int threads, size_t block, int slots,
                                       ferry_writer **out, ferry_error *err)
{
    if (level < 1 || level > 9)
        level = 6;
    if (threads < 1)
        threads = 1;
    if (block == 0)
        block = FERRY_COMPRESS_BLOCK_DEFAULT;
    if (block > ((size_t)1 << 30))
        block = (size_t)1 << 30;
    if (slots < threads + 1)
        slots = threads + 2;

    par_gzip *g = calloc(1, sizeof *g);
    if (!g)
        return ferry_error_oom(err, NULL, NULL, NULL);
    pthread_mutex_init(&g->mu, NULL);
    pthread_cond_init(&g->work, NULL);
    ferry_cond_init_monotonic(&g->done);
    g->base.ops = &par_ops;
    g->base.next = next;
    g->base.rows = -1;
    g->block = block;
    g->out_cap = ferry_gzip_par_out_cap(block);
    g->nslots = slots;
    g->nworkers = threads;
#ifdef FERRY_HAVE_ISAL
    g->use_isal = getenv("FERRY_GZIP_ZLIB") == NULL; /* FERRY_GZIP_ZLIB=1 forces zlib */
#endif
    g->level = g->use_isal ? ferry_gzip_isal_level(level) : level;
    g->joined = 1; /* no thread yet */

    g->slots = calloc((size_t)slots, sizeof *g->slots);
    g->workers = calloc((size_t)threads, sizeof *g->workers);
    int bad = !g->slots || !g->workers;
    for (int i = 0; !bad && i < slots; i++) {
        g->slots[i].in = malloc(block);
        g->slots[i].out = malloc(g->out_cap);
        bad = !g->slots[i].in || !g->slots[i].out;
    }
    for (int i = 0; !bad && i < threads; i++) {
        par_worker *w = &g->workers[i];
        w->g = g;
#ifdef FERRY_HAVE_ISAL
        if (g->use_isal) {
            w->level_buf_size = g->level == 1   ? ISAL_DEF_LVL1_DEFAULT
                                : g->level == 2 ? ISAL_DEF_LVL2_DEFAULT
                                : g->level == 3 ? ISAL_DEF_LVL3_DEFAULT
                                                : ISAL_DEF_LVL0_DEFAULT;
            if (w->level_buf_size > 0) {
                w->level_buf = malloc(w->level_buf_size);
                bad = !w->level_buf;
            }
            continue;
        }
#endif
        if (deflateInit2(&w->zs, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
            par_free(&g->base);
            return ferry_error_set(err, FERRY_ERR_INTERNAL, "gzip: deflateInit2 failed");
        }
        w->zs_init = 1;
    }
    if (bad) {
        par_free(&g->base);
        return ferry_error_set(err, FERRY_ERR_INTERNAL, "gzip: out of memory for %d blocks of %zu bytes", slots,
                               block);
    }

    /* workers block every signal: SIGINT/SIGTERM reach the caller's thread */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    g->joined = 0;
    int rc = 0;
    for (int i = 0; i < threads && rc == 0; i++) {
        rc = ferry_thread_create(&g->workers[i].tid, NULL, worker_main, &g->workers[i]);
        if (rc == 0)
            g->workers[i].started = 1;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        par_free(&g->base);
        return ferry_error_set(err, FERRY_ERR_INTERNAL, "gzip: cannot start worker threads");
    }
    *out = &g->base;
    return FERRY_OK;
}
