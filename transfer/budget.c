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
 *         + S3 sink       concurrency x part size
 *         + SFTP          source read-ahead 2 x sessions x 8 MiB (1 MiB without),
 *                         sink 4 MiB
 *
 * Everything else (sockets, TLS, libpq's buffers, the program) is the
 * process baseline, which the bound does not cover.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ferry/conn.h"
#include "ferry/log.h"
#include "transfer/budget.h"

#define MiB ((size_t)1024 * 1024)
#define S3_MIN_PART (5 * MiB)          /* S3's smallest part but the last */
#define S3_DEFAULT_PART (8 * MiB)
#define S3_DEFAULT_CONC 4
/* mirrors of hooks/sftp/sftp_internal.h (FERRY_SFTP_PAR_BLOCK, ..._READ_SESSIONS_DEFAULT, ..._SINK_BUF) */
#define SFTP_BLOCK (8 * MiB)
#define SFTP_SESSIONS_DEFAULT 4
#define SFTP_SINK_BUF (4 * MiB)

int ferry_compress_threads(const ferry_copy_options *o)
{
    int t = o ? o->compress_threads : 0;
    if (t <= 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        t = n < 1 ? 1 : n > FERRY_COMPRESS_AUTO_MAX_THREADS ? FERRY_COMPRESS_AUTO_MAX_THREADS : (int)n;
    }
    return t;
}

static int is_type(const ferry_endpoint *ep, const char *type)
{
    return ep->conn && ep->conn->type && strcmp(ep->conn->type, type) == 0;
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
    b->compress = b->decompress = b->s3_parts = b->sftp = 0;
    if (src->compress != dst->compress) {
        if (src->compress == FERRY_COMPRESS_GZIP)
            b->decompress = MiB;
        else if (src->compress == FERRY_COMPRESS_ZSTD)
            b->decompress = 9 * MiB;
        b->compress = compress_size(dst->compress, o);
    }
    if (dst->kind == FERRY_EP_S3) {
        size_t part = o->s3_part_size ? o->s3_part_size : S3_DEFAULT_PART;
        int conc = o->s3_concurrency > 0 ? o->s3_concurrency : S3_DEFAULT_CONC;
        b->s3_parts = (size_t)conc * part;
    }
    if (is_type(src, "sftp")) {
        const char *v = ferry_conn_extra(src->conn, "read_sessions");
        long n = v ? strtol(v, NULL, 10) : SFTP_SESSIONS_DEFAULT;
        b->sftp += n <= 0 ? MiB : 2 * (size_t)n * SFTP_BLOCK;
    }
    if (is_type(dst, "sftp"))
        b->sftp += SFTP_SINK_BUF;
    b->total = b->chunk + b->compress + b->decompress + b->s3_parts + b->sftp;
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
        w.s3_part_size = S3_DEFAULT_PART;
    if (w.s3_concurrency <= 0)
        w.s3_concurrency = S3_DEFAULT_CONC;
    if (w.compress_block == 0)
        w.compress_block = FERRY_COMPRESS_BLOCK_DEFAULT;
    w.compress_threads = ferry_compress_threads(o);
    int conc0 = w.s3_concurrency;
    int s3 = dst->kind == FERRY_EP_S3;

    /* 1. S3 parts in flight, 2. part size, 3. compression block, 4. threads */
    while (s3 && total_of(src, dst, &w) > max && w.s3_concurrency > 1)
        w.s3_concurrency--;
    while (s3 && total_of(src, dst, &w) > max && w.s3_part_size > S3_MIN_PART)
        w.s3_part_size = w.s3_part_size - MiB < S3_MIN_PART ? S3_MIN_PART : (w.s3_part_size - MiB) / MiB * MiB;
    while (total_of(src, dst, &w) > max && w.compress_threads > 1 && w.compress_block > FERRY_COMPRESS_BLOCK_MIN)
        w.compress_block /= 2;
    while (total_of(src, dst, &w) > max && w.compress_threads > 1)
        w.compress_threads--;
    /* give parts in flight back while they fit */
    while (s3 && w.s3_concurrency < conc0 && total_of(src, dst, &w) + w.s3_part_size <= max)
        w.s3_concurrency++;

    ferry_budget b;
    ferry_budget_estimate(src, dst, &w, &b);
    if (b.total > max)
        return ferry_error_set(err, FERRY_ERR_USAGE,
                               "--max-memory %zuM is too small for this copy: it needs at least %zuM "
                               "(chunk %zuK, compression %zuK, decompression %zuK, S3 parts %zuK, SFTP %zuK)",
                               max / MiB, (b.total + MiB - 1) / MiB, b.chunk / 1024, b.compress / 1024,
                               b.decompress / 1024, b.s3_parts / 1024, b.sftp / 1024);
    ferry_log(FERRY_LOG_DEBUG,
              "memory budget %zuM: chunk %zuK, compression %zuK (%d threads, block %zuK), decompression %zuK, "
              "S3 %d x %zuK (%zuK), SFTP %zuK = %zuK",
              max / MiB, b.chunk / 1024, b.compress / 1024, w.compress_threads, w.compress_block / 1024,
              b.decompress / 1024, w.s3_concurrency, w.s3_part_size / 1024, b.s3_parts / 1024, b.sftp / 1024, b.total / 1024);
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
    size_t per = b.chunk + b.compress + b.decompress + b.sftp;
    size_t part = o->s3_part_size ? o->s3_part_size : S3_DEFAULT_PART;
    size_t total;
    if (sets) /* one sink per range, each with its own parts in flight */
        total = (size_t)streams * (per + b.s3_parts);
    else      /* one shared upload; every range may hold its head and tail part */
        total = (size_t)streams * per + b.s3_parts + (dst->kind == FERRY_EP_S3 ? 2 * (size_t)streams * part : 0);
    if (total > o->max_memory)
        return ferry_error_set(err, FERRY_ERR_USAGE,
                               "--max-memory %zuM is too small for %d ranges: they need about %zuM "
                               "(per range %zuK; S3 parts %zuK); use fewer ranges, --part-size or --concurrency",
                               o->max_memory / MiB, streams, (total + MiB - 1) / MiB, per / 1024,
                               (total - (size_t)streams * per) / 1024);
    return FERRY_OK;
}
