/*
 * budget.c - --max-memory: what a transfer's buffers come to, and shrinking
 * them to fit.  The pieces (docs/design.md, "Compression and memory"):
 *
 *   total = chunk
 *         + compression   inline: gzip 1 MiB, zstd 4/8/16 MiB (by level);
 *                         parallel gzip: (threads + 2) x (block + out(block))
 *                           + threads x 1 MiB;
 *                         zstd workers: threads x ctx + (2 x threads + 2) x block
 *         + decompression gunzip 1 MiB, unzstd 9 MiB (window <= 8 MiB)
 *         + parts         parts in flight, concurrency x part size (the S3 sink)
 *         + buffers       what else the hooks hold (SFTP: source read-ahead
 *                         2 x sessions x 8 MiB or 1 MiB without, sink 4 MiB)
 *
 * The last two come from the hooks' memory slots (FERRY_HOOK_SLOT(h, memory)).
 *
 * Everything else (sockets, TLS, libpq's buffers, the program) is the
 * process baseline, which the bound does not cover.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ferry/hook.h"
#include "ferry/log.h"
#include "transfer/budget.h"

#define MiB ((size_t)1024 * 1024)
/* ferry_copy_options_init's part size and parts in flight */
#define DEFAULT_PART (8 * MiB)
#define DEFAULT_CONC 4

int ferry_compress_threads(const ferry_copy_options *o)
{
    int t = o ? o->compress_threads : 0;
    if (t <= 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        t = n < 1 ? 1 : n > FERRY_COMPRESS_AUTO_MAX_THREADS ? FERRY_COMPRESS_AUTO_MAX_THREADS : (int)n;
    }
    return t;
}

/* One end's memory slot: its buffers (returned), parts in flight added to
 * *parts, and the smallest part it takes raised into *min_part. */
static size_t hook_memory(const ferry_endpoint *ep, int is_sink, const ferry_copy_options *o, size_t *parts,
                          size_t *min_part)
{
    size_t (*memory)(const ferry_endpoint *, int, const ferry_copy_options *, size_t *, size_t *) =
        FERRY_HOOK_SLOT(ep->hook, memory);
    if (!memory)
        return 0;
    size_t p = 0, m = 0;
    size_t rest = memory(ep, is_sink, o, &p, &m);
    *parts += p;
    if (m > *min_part)
        *min_part = m;
    return rest;
}

/* Whether one end holds parts in flight (that o's part size and concurrency scale). */
static int has_parts(const ferry_endpoint *src, const ferry_endpoint *dst, const ferry_copy_options *o,
                     size_t *min_part)
{
    size_t parts = 0;
    *min_part = 0;
    hook_memory(src, 0, o, &parts, min_part);
    hook_memory(dst, 1, o, &parts, min_part);
    return parts > 0;
}

static size_t zstd_ctx_size(int level)
{
    int z = ferry_zstd_level(level);
    return z <= 3 ? 4 * MiB : z <= 6 ? 8 * MiB : 16 * MiB;
}

static size_t compress_size(ferry_compress kind, const ferry_copy_options *o)
{
    int t = ferry_compress_threads(o);
    size_t block = o->compress_block ? o->compress_block : FERRY_COMPRESS_BLOCK_DEFAULT;
    if (kind == FERRY_COMPRESS_GZIP)
        return t <= 1 ? MiB : (size_t)(t + 2) * (block + ferry_gzip_par_out_cap(block)) + (size_t)t * MiB;
    if (kind == FERRY_COMPRESS_ZSTD) {
        if (t > ferry_zstd_max_threads())
            t = ferry_zstd_max_threads();
        return t <= 1 ? zstd_ctx_size(o->compress_level)
                      : (size_t)t * zstd_ctx_size(o->compress_level) + (size_t)(2 * t + 2) * block;
    }
    return 0;
}

void ferry_budget_estimate(const ferry_endpoint *src, const ferry_endpoint *dst, const ferry_copy_options *o,
                           ferry_budget *b)
{
    b->chunk = o->chunk_size ? o->chunk_size : MiB;
    b->compress = b->decompress = b->parts = b->buffers = 0;
    if (src->compress != dst->compress) {
        if (src->compress == FERRY_COMPRESS_GZIP)
            b->decompress = MiB;
        else if (src->compress == FERRY_COMPRESS_ZSTD)
            b->decompress = 9 * MiB;
        b->compress = compress_size(dst->compress, o);
    }
    size_t min_part = 0;
    b->buffers += hook_memory(src, 0, o, &b->parts, &min_part);
    b->buffers += hook_memory(dst, 1, o, &b->parts, &min_part);
    b->total = b->chunk + b->compress + b->decompress + b->parts + b->buffers;
}

static size_t total_of(const ferry_endpoint *src, const ferry_endpoint *dst, const ferry_copy_options *o)
{
    ferry_budget b;
    ferry_budget_estimate(src, dst, o, &b);
    return b.total;
}

ferry_status ferry_budget_apply(const ferry_endpoint *src, const ferry_endpoint *dst, ferry_copy_options *o,
                                ferry_error *err)
{
    if (o->max_memory == 0)
        return FERRY_OK;
    size_t max = o->max_memory;
    ferry_copy_options w = *o;
    if (w.s3_part_size == 0)
        w.s3_part_size = DEFAULT_PART;
    if (w.s3_concurrency <= 0)
        w.s3_concurrency = DEFAULT_CONC;
    if (w.compress_block == 0)
        w.compress_block = FERRY_COMPRESS_BLOCK_DEFAULT;
    w.compress_threads = ferry_compress_threads(o);
    int conc0 = w.s3_concurrency;
    size_t min_part;
    int parts = has_parts(src, dst, &w, &min_part);

    /* 1. parts in flight, 2. part size, 3. compression block, 4. threads */
    while (parts && total_of(src, dst, &w) > max && w.s3_concurrency > 1)
        w.s3_concurrency--;
    while (parts && total_of(src, dst, &w) > max && w.s3_part_size > min_part)
        w.s3_part_size = w.s3_part_size - MiB < min_part ? min_part : (w.s3_part_size - MiB) / MiB * MiB;
    while (total_of(src, dst, &w) > max && w.compress_threads > 1 && w.compress_block > FERRY_COMPRESS_BLOCK_MIN)
        w.compress_block /= 2;
    while (total_of(src, dst, &w) > max && w.compress_threads > 1)
        w.compress_threads--;
    /* give parts in flight back while they fit */
    while (parts && w.s3_concurrency < conc0 && total_of(src, dst, &w) + w.s3_part_size <= max)
        w.s3_concurrency++;

    ferry_budget b;
    ferry_budget_estimate(src, dst, &w, &b);
    if (b.total > max)
        return ferry_error_set(err, FERRY_ERR_USAGE,
                               "--max-memory %zuM is too small for this copy: it needs at least %zuM "
                               "(chunk %zuK, compression %zuK, decompression %zuK, parts in flight %zuK, "
                               "hook buffers %zuK)",
                               max / MiB, (b.total + MiB - 1) / MiB, b.chunk / 1024, b.compress / 1024,
                               b.decompress / 1024, b.parts / 1024, b.buffers / 1024);
    ferry_log(FERRY_LOG_DEBUG,
              "memory budget %zuM: chunk %zuK, compression %zuK (%d threads, block %zuK), decompression %zuK, "
              "parts %d x %zuK (%zuK), hook buffers %zuK = %zuK",
              max / MiB, b.chunk / 1024, b.compress / 1024, w.compress_threads, w.compress_block / 1024,
              b.decompress / 1024, w.s3_concurrency, w.s3_part_size / 1024, b.parts / 1024, b.buffers / 1024,
              b.total / 1024);
    o->s3_concurrency = w.s3_concurrency;
    o->s3_part_size = w.s3_part_size;
    o->compress_block = w.compress_block;
    o->compress_threads = w.compress_threads;
    return FERRY_OK;
}

ferry_status ferry_budget_check_ranged(const ferry_endpoint *src, const ferry_endpoint *dst,
                                       const ferry_copy_options *o, int streams, int sets, ferry_error *err)
{
    if (o->max_memory == 0 || streams < 1)
        return FERRY_OK;
    ferry_copy_options one = *o;
    one.compress_threads = 1; /* each range compresses inline (transfer/parallel.c) */
    ferry_budget b;
    ferry_budget_estimate(src, dst, &one, &b);
    size_t per = b.chunk + b.compress + b.decompress + b.buffers;
    size_t part = o->s3_part_size ? o->s3_part_size : DEFAULT_PART;
    size_t dst_parts = 0, min_part = 0;
    hook_memory(dst, 1, o, &dst_parts, &min_part);
    size_t total;
    if (sets) /* one sink per range, each with its own parts in flight */
        total = (size_t)streams * (per + b.parts);
    else      /* one shared upload; every range may hold its head and tail part */
        total = (size_t)streams * per + b.parts + (dst_parts > 0 ? 2 * (size_t)streams * part : 0);
    if (total > o->max_memory)
        return ferry_error_set(err, FERRY_ERR_USAGE,
                               "--max-memory %zuM is too small for %d ranges: they need about %zuM "
                               "(per range %zuK; parts in flight %zuK); use fewer ranges, --part-size or --concurrency",
                               o->max_memory / MiB, streams, (total + MiB - 1) / MiB, per / 1024,
                               (total - (size_t)streams * per) / 1024);
    return FERRY_OK;
}
