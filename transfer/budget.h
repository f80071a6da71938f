/*
 * budget.h - internal: the transfer's memory budget (--max-memory) and the
 * compression helpers it sizes (parallel gzip ring, zstd jobs).  See the
 * "Compression and memory" section of docs/design.md for the formula.
 */
#ifndef FERRY_TRANSFER_BUDGET_H
#define FERRY_TRANSFER_BUDGET_H

#include <stddef.h>
#include "ferry/transfer.h"

/* Default block of parallel gzip (one member each) and job of zstd. */
#define FERRY_COMPRESS_BLOCK_DEFAULT ((size_t)4 * 1024 * 1024)
/* The smallest block the budget shrinks it to before dropping threads. */
#define FERRY_COMPRESS_BLOCK_MIN ((size_t)1024 * 1024)
/* compress_threads 0 (auto) = online cores, at most this many. */
#define FERRY_COMPRESS_AUTO_MAX_THREADS 8

/* What one transfer's buffers come to, piece by piece (bytes). */
typedef struct ferry_budget {
    size_t chunk;           /* the transfer's chunk */
    size_t compress;        /* compression filter: inline state, or the parallel ring / zstd jobs */
    size_t decompress;      /* gunzip / unzstd state and window */
    size_t parts;           /* parts in flight (S3 sink): concurrency x part size */
    size_t buffers;         /* the hooks' other buffers (SFTP read-ahead ring, sink buffer) */
    size_t total;
} ferry_budget;

/* compress_threads resolved: 0 -> online cores (at most
 * FERRY_COMPRESS_AUTO_MAX_THREADS), never below 1. */
int ferry_compress_threads(const ferry_copy_options *o);

/* Estimate the buffers of copying src -> dst with o (no change to o). */
void ferry_budget_estimate(const ferry_endpoint *src, const ferry_endpoint *dst, const ferry_copy_options *o,
                           ferry_budget *b);

/* With o->max_memory set: lower, in this order, the parts in flight
 * (o->s3_concurrency, down to 1) and the part size (down to the hook's
 * smallest, S3's 5 MiB) where an end holds parts, the compression block (down to 1 MiB) and
 * compression threads (down to 1 = inline), then give concurrency back while
 * it still fits; write the result into o.  FERRY_ERR_USAGE naming the
 * minimum when even that does not fit.  o->max_memory == 0: nothing changes. */
/* --max-memory for a ranged copy (--parallel/--split-output, transfer/parallel.c):
 * `streams` ranges at once, each with its chunk and an inline compressor;
 * sets = one sink per range (--split-output), else one shared destination.
 * The buffers cannot shrink per range, so a budget that is too small is
 * FERRY_ERR_USAGE with what the ranges need. */
ferry_status ferry_budget_check_ranged(const ferry_endpoint *src, const ferry_endpoint *dst,
                                       const ferry_copy_options *o, int streams, int sets, ferry_error *err);
ferry_status ferry_budget_apply(const ferry_endpoint *src, const ferry_endpoint *dst, ferry_copy_options *o,
                                ferry_error *err);

/* Bytes of one output buffer of a parallel gzip block. */
size_t ferry_gzip_par_out_cap(size_t block);
/* --compress-level 1..9 -> ISA-L level 1..3, and -> zstd level. */
int ferry_gzip_isal_level(int level);
int ferry_zstd_level(int level);
/* Most zstd worker threads this libzstd supports (0: built without threads). */
int ferry_zstd_max_threads(void);

#endif
