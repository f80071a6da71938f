/*
 * compress.c - picking the compression filter a copy needs: gzip inline
 * (compress_threads 1, or a single core) or parallel (gzip_par.c), zstd with
 * or without libzstd's workers (zstd.c); and the matching decompressor.
 */
#include "ferry/transfer.h"
#include "transfer/budget.h"

ferry_status ferry_compress_writer_new(ferry_compress kind, ferry_writer *next, const ferry_copy_options *o,
                                       ferry_writer **out, ferry_error *err)
{
    int level = o ? o->compress_level : 6;
    int threads = ferry_compress_threads(o);
    size_t block = o && o->compress_block ? o->compress_block : FERRY_COMPRESS_BLOCK_DEFAULT;
    switch (kind) {
    case FERRY_COMPRESS_GZIP:
        if (threads <= 1)
            return ferry_gzip_writer_new(next, level, out, err);
        return ferry_gzip_par_writer_new(next, level, threads, block, threads + 2, out, err);
    case FERRY_COMPRESS_ZSTD:
        return ferry_zstd_writer_new(next, level, threads, block, out, err);
    default:
        return ferry_error_set(err, FERRY_ERR_INTERNAL, "no compressor for kind %d", (int)kind);
    }
}

ferry_status ferry_decompress_writer_new(ferry_compress kind, ferry_writer *next, ferry_writer **out,
                                         ferry_error *err)
{
    switch (kind) {
    case FERRY_COMPRESS_GZIP: return ferry_gunzip_writer_new(next, out, err);
    case FERRY_COMPRESS_ZSTD: return ferry_unzstd_writer_new(next, out, err);
    default: return ferry_error_set(err, FERRY_ERR_INTERNAL, "no decompressor for kind %d", (int)kind);
    }
}
