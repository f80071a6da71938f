/*
 * zstd.c - the zstd and unzstd filters (libzstd), writers like gzip/gunzip.
 *
 * zstd: ZSTD_compressStream2 into one fixed output buffer; with threads > 1
 * (and a libzstd built with threads, as Debian's) libzstd's own workers
 * compress jobs of `block` bytes in parallel (ZSTD_c_nbWorkers,
 * ZSTD_c_jobSize) while the caller's thread feeds them and writes the output
 * downstream in order.  The frame carries a content checksum (as zstd(1)
 * writes by default), so zstd -t and our reader verify it.
 *
 * unzstd: ZSTD_decompressStream over concatenated frames (and skippable
 * frames); corrupt input is FERRY_ERR_DATA at once, input that ends inside a
 * frame (or no input at all) is FERRY_ERR_DATA at commit.
 *
 * Levels: --compress-level 1..9 maps onto zstd's scale (see
 * ferry_zstd_level); nothing is allocated per chunk.
 */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "core/util.h"
#include "ferry/transfer.h"
#include "transfer/budget.h"

#define ZSTD_OUT_SIZE (256 * 1024)

typedef struct zstd_filter {
    ferry_writer base;      /* must be first */
    ZSTD_CCtx *cc;          /* owned (zstd) */
    ZSTD_DCtx *dc;          /* owned (unzstd) */
    size_t last;            /* unzstd: last ZSTD_decompressStream result (0 = frame complete) */
    int saw_input;
    unsigned char out[ZSTD_OUT_SIZE];
} zstd_filter;

int ferry_zstd_level(int level)
{
    static const int map[10] = {3, 1, 1, 2, 2, 3, 3, 5, 7, 9};
    return level >= 1 && level <= 9 ? map[level] : 3;
}

static ferry_status push(zstd_filter *f, size_t n, ferry_error *err)
{
    if (n == 0)
        return FERRY_OK;
    return ferry_writer_write(f->base.next, f->out, n, err);
}

static ferry_status zstd_write(ferry_writer *w, const void *buf, size_t len, ferry_error *err)
{
    zstd_filter *f = (zstd_filter *)w;
    ZSTD_inBuffer in = {buf, len, 0};
    while (in.pos < in.size) {
        ZSTD_outBuffer ob = {f->out, sizeof f->out, 0};
        size_t r = ZSTD_compressStream2(f->cc, &ob, &in, ZSTD_e_continue);
        if (ZSTD_isError(r))
            return ferry_error_set(err, FERRY_ERR_INTERNAL, "zstd: compression failed (%s)", ZSTD_getErrorName(r));
        ferry_status st = push(f, ob.pos, err);
        if (st != FERRY_OK)
            return st;
        if (ferry_cancelled())
            return ferry_error_set(err, FERRY_ERR_INTERRUPTED,
                                   "interrupted by signal %d: aborted, destination untouched", ferry_cancel_signal());
    }
    return FERRY_OK;
}

static ferry_status zstd_commit(ferry_writer *w, ferry_error *err)
{
    zstd_filter *f = (zstd_filter *)w;
    ZSTD_inBuffer in = {NULL, 0, 0};
    size_t r;
    do {
        ZSTD_outBuffer ob = {f->out, sizeof f->out, 0};
        r = ZSTD_compressStream2(f->cc, &ob, &in, ZSTD_e_end);
        if (ZSTD_isError(r))
            return ferry_error_set(err, FERRY_ERR_INTERNAL, "zstd: finishing the frame failed (%s)",
                                   ZSTD_getErrorName(r));
        ferry_status st = push(f, ob.pos, err);
        if (st != FERRY_OK)
            return st;
    } while (r != 0);
    return w->next->ops->commit(w->next, err);
}

static ferry_status unzstd_write(ferry_writer *w, const void *buf, size_t len, ferry_error *err)
{
    zstd_filter *f = (zstd_filter *)w;
    ZSTD_inBuffer in = {buf, len, 0};
    if (len > 0)
        f->saw_input = 1;
    for (;;) {
        ZSTD_outBuffer ob = {f->out, sizeof f->out, 0};
        size_t r = ZSTD_decompressStream(f->dc, &ob, &in);
        if (ZSTD_isError(r))
            return ferry_error_set(err, FERRY_ERR_DATA, "unzstd: input is not valid zstd data (%s)",
                                   ZSTD_getErrorName(r));
        f->last = r;
        ferry_status st = push(f, ob.pos, err);
        if (st != FERRY_OK)
            return st;
        /* done with this buffer once it is consumed and the output was not full */
        if (in.pos == in.size && ob.pos < ob.size)
            break;
    }
    return FERRY_OK;
}

static ferry_status unzstd_commit(ferry_writer *w, ferry_error *err)
{
    zstd_filter *f = (zstd_filter *)w;
    if (!f->saw_input)
        return ferry_error_set(err, FERRY_ERR_DATA, "unzstd: empty input (not a zstd frame)");
    if (f->last != 0)
        return ferry_error_set(err, FERRY_ERR_DATA,
                               "unzstd: truncated zstd input (the stream ends inside a frame)");
    return w->next->ops->commit(w->next, err);
}

static void zstd_abort(ferry_writer *w)
{
    if (w->next)
        w->next->ops->abort(w->next);
}

static void zstd_free(ferry_writer *w)
{
    zstd_filter *f = (zstd_filter *)w;
    if (!f)
        return;
    ZSTD_freeCCtx(f->cc); /* both accept NULL */
    ZSTD_freeDCtx(f->dc);
    free(f);
}

static const ferry_writer_ops zstd_ops = {"zstd", zstd_write, zstd_commit, zstd_abort, zstd_free};
static const ferry_writer_ops unzstd_ops = {"unzstd", unzstd_write, unzstd_commit, zstd_abort, zstd_free};

int ferry_zstd_max_threads(void)
{
    ZSTD_bounds b = ZSTD_cParam_getBounds(ZSTD_c_nbWorkers);
    return ZSTD_isError(b.error) ? 0 : b.upperBound;
}

ferry_status ferry_zstd_writer_new(ferry_writer *next, int level, int threads, size_t block, ferry_writer **out,
                                   ferry_error *err)
{
    zstd_filter *f = calloc(1, sizeof *f);
    if (!f || !(f->cc = ZSTD_createCCtx())) {
        free(f);
        return ferry_error_oom(err, NULL, NULL, NULL);
    }
    f->base.ops = &zstd_ops;
    f->base.next = next;
    f->base.rows = -1;
    size_t r = ZSTD_CCtx_setParameter(f->cc, ZSTD_c_compressionLevel, ferry_zstd_level(level));
    if (!ZSTD_isError(r))
        r = ZSTD_CCtx_setParameter(f->cc, ZSTD_c_checksumFlag, 1);
    int workers = threads > 1 ? threads : 0;
    int max = ferry_zstd_max_threads();
    if (workers > max)
        workers = max; /* a libzstd without threads compresses inline */
    if (!ZSTD_isError(r) && workers > 0) {
        r = ZSTD_CCtx_setParameter(f->cc, ZSTD_c_nbWorkers, workers);
        if (!ZSTD_isError(r) && block > 0)
            r = ZSTD_CCtx_setParameter(f->cc, ZSTD_c_jobSize, (int)(block > (1u << 30) ? (1u << 30) : block));
    }
    if (!ZSTD_isError(r) && workers > 0) {
        /* libzstd starts its workers at the first call: start them now with
         * every signal blocked, so SIGINT/SIGTERM reach the caller's thread */
        sigset_t all, old;
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        ZSTD_inBuffer in = {NULL, 0, 0};
        ZSTD_outBuffer ob = {f->out, sizeof f->out, 0};
        r = ZSTD_compressStream2(f->cc, &ob, &in, ZSTD_e_continue);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (!ZSTD_isError(r) && ob.pos > 0)
            r = (size_t)-1; /* nothing is written before the first byte of input */
    }
    if (ZSTD_isError(r)) {
        zstd_free(&f->base);
        return ferry_error_set(err, FERRY_ERR_INTERNAL, "zstd: cannot set parameters (%s)", ZSTD_getErrorName(r));
    }
    *out = &f->base;
    return FERRY_OK;
}

ferry_status ferry_unzstd_writer_new(ferry_writer *next, ferry_writer **out, ferry_error *err)
{
    zstd_filter *f = calloc(1, sizeof *f);
    if (!f || !(f->dc = ZSTD_createDCtx())) {
        free(f);
        return ferry_error_oom(err, NULL, NULL, NULL);
    }
    f->base.ops = &unzstd_ops;
    f->base.next = next;
    f->base.rows = -1;
    *out = &f->base;
    return FERRY_OK;
}
