/*
 * ferry/transfer.h - copying data from one endpoint to another:
 * source -> filters (gzip / gunzip) -> sink, with one chunk buffer owned by
 * the transfer, optional spooling through a temp file, and an atomic commit
 * or a clean abort.
 */
#ifndef FERRY_TRANSFER_H
#define FERRY_TRANSFER_H

#include <stdint.h>
#include "ferry/hook.h"
#include "ferry/export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ferry_summary {
    int64_t bytes_read;     /* bytes the source produced (before filters) */
    int64_t bytes_written;  /* bytes handed to the sink (after filters) */
    int64_t rows_read;      /* -1 when the source does not count rows */
    int64_t rows_written;   /* -1 when the sink does not count rows */
    double seconds;
} ferry_summary;

/* Copy src to dst. On failure the destination is untouched (or holds its
 * complete old content) and every temp artefact is removed. */
FERRY_API ferry_status ferry_copy(const char *src, const char *dst, const ferry_copy_options *o,
                                  ferry_summary *sum, ferry_error *err);

/* The same with endpoints already parsed (borrowed). */
FERRY_API ferry_status ferry_copy_endpoints(ferry_endpoint *src, ferry_endpoint *dst,
                                            const ferry_copy_options *o, ferry_summary *sum,
                                            ferry_error *err);

/* Nonzero when src names several files: a glob in its last component
 * (e.g. partner:/out/ then a star and .csv), a trailing '/' ("s3://b/prefix/"), or o->recursive. */
FERRY_API int ferry_copy_is_many(const char *src, const ferry_copy_options *o);

/* Called once per file of a multi-file copy; strings and err are borrowed for
 * the call. err is NULL when the file was copied. */
typedef void (*ferry_file_result_fn)(const char *src, const char *dst, ferry_status status,
                                     const ferry_summary *sum, const ferry_error *err, void *ud);

/* Copy every file src names (see ferry_copy_is_many) to dst, which is a
 * directory or prefix: each file keeps its name relative to the listed
 * directory.  Files are independent: a failed one does not undo the good ones.
 * With o->move each source is deleted only after its destination committed and
 * the sizes match.  o's selection (filter_rules, min_age, max_age,
 * ignore_existing) leaves files out silently (ferry_sync reports them).
 * Returns FERRY_OK when every file was copied, else the status
 * of the first failure (err holds its message); *n_ok and *n_failed count files. */
FERRY_API ferry_status ferry_copy_many(const char *src, const char *dst, const ferry_copy_options *o,
                                       ferry_file_result_fn fn, void *ud, int *n_ok, int *n_failed,
                                       ferry_error *err);

/* Sync and filtered copies (issue 14, transfer/sync.c).  What happened to
 * one file (or, with FERRY_SYNC_DRY_RUN, what would): strings and pointers
 * are borrowed for the call. */
typedef enum ferry_sync_action {
    FERRY_SYNC_COPY = 0,    /* copied (or would be); status says whether it worked */
    FERRY_SYNC_SKIP,        /* left alone: reason says why (unchanged, filtered, exists) */
    FERRY_SYNC_DELETE       /* removed from the destination (--delete), absent from the source */
} ferry_sync_action;

typedef struct ferry_sync_event {
    ferry_sync_action action;
    const char *name;           /* relative to SRC / DST */
    const char *src;            /* the source endpoint text; NULL for DELETE */
    const char *dst;            /* the destination endpoint text */
    const char *reason;         /* why: "missing at the destination", "size differs", … ;
                                   NULL for a COPY that ran (then sum and status tell) */
    int dry_run;                /* nothing was done */
    ferry_status status;        /* of the copy or removal; FERRY_OK for skips and dry runs */
    const ferry_error *err;     /* NULL unless status != FERRY_OK */
    const ferry_summary *sum;   /* a COPY that ran: its bytes and time; else NULL */
} ferry_sync_event;

typedef void (*ferry_sync_fn)(const ferry_sync_event *ev, void *ud);

typedef struct ferry_sync_counts {
    int64_t copied;             /* files copied (dry run: that would be) */
    int64_t skipped;
    int64_t deleted;            /* dry run: that would be */
    int64_t failed;             /* copies and removals that failed */
    int64_t bytes;              /* bytes written by the copies */
} ferry_sync_counts;

#define FERRY_SYNC_COMPARE  1u  /* sync: copy only files missing at DST or differing (size, then
                                   mtime); without it every selected file is copied (copy) */
#define FERRY_SYNC_DELETE   2u  /* also remove DST files absent from SRC (and not excluded by a
                                   rule), once every copy succeeded */
#define FERRY_SYNC_DRY_RUN  4u  /* list both sides, decide, report; copy and remove nothing */

/* Copy the files SRC names (a directory or prefix; with FERRY_SYNC_COMPARE
 * its whole tree, else as ferry_copy_many takes it) into the directory or
 * prefix DST, taking o's selection (filter_rules, min_age, max_age,
 * ignore_existing).  With FERRY_SYNC_COMPARE DST is listed first and a file
 * is copied (replacing) only when it is missing there, differs in size, or
 * differs in mtime: where DST keeps mtimes (its hook has set_mtime: local,
 * SFTP) any difference, elsewhere (S3) a source newer than the object's
 * LastModified; every copied file gets the source's mtime where DST keeps
 * it.  fn (may be NULL) gets one event per file; counts (may be NULL) the
 * totals.  Returns FERRY_OK when nothing failed, else the first failure's
 * status (err holds its message).  An empty SRC is FERRY_ERR_NOT_FOUND and
 * deletes nothing. */
FERRY_API ferry_status ferry_sync(const char *src, const char *dst, const ferry_copy_options *o, unsigned flags,
                                  ferry_sync_fn fn, void *ud, ferry_sync_counts *counts, ferry_error *err);

/* --dry-run: describe what ferry_copy would do (endpoints with secrets masked,
 * hooks, formats, compression filter, whether the destination exists and
 * would be replaced or refused) into buf, touching nothing: it probes the
 * source (stat, or its connection's test) and the destination (stat) with
 * o->max_retries attempts.  Returns the status the copy would fail with
 * before moving data (a parse error, no credentials, unreachable, no source,
 * FERRY_ERR_EXISTS …) or FERRY_OK; buf ends with what was not checked. */
FERRY_API ferry_status ferry_copy_describe(const char *src, const char *dst, const ferry_copy_options *o, char *buf,
                                           size_t cap, ferry_error *err);
/* --dry-run of a multi-file copy (ferry_copy_is_many): probe the destination
 * directory or prefix dst as ferry_copy_describe probes a destination (its
 * connection, credentials, reachability, o->max_retries attempts) and append
 * the result and what was not checked to buf.  Returns the status every
 * file's copy would fail with, or FERRY_OK. */
FERRY_API ferry_status ferry_copy_describe_destination(const char *dst, const ferry_copy_options *o, char *buf,
                                                       size_t cap, ferry_error *err);

/* Filters (writers that pass data on to next). Caller owns the result and
 * frees it with w->ops->free after commit or abort. next is borrowed. */
FERRY_API ferry_status ferry_gzip_writer_new(ferry_writer *next, int level, ferry_writer **out, ferry_error *err);
FERRY_API ferry_status ferry_gunzip_writer_new(ferry_writer *next, ferry_writer **out, ferry_error *err);

/* Parallel gzip: input cut into blocks of block_size bytes (0 = 4 MiB), each
 * compressed as one complete gzip member by one of `threads` worker threads
 * and passed to next strictly in order (a concatenation of members is one
 * valid gzip file).  Memory: `slots` (>= threads + 1; 0 = threads + 2) input
 * and output buffers of about block_size each, allocated here, once.  abort()
 * and free() stop and join the workers. */
FERRY_API ferry_status ferry_gzip_par_writer_new(ferry_writer *next, int level, int threads, size_t block_size, int slots,
                                                 ferry_writer **out, ferry_error *err);

/* zstd (one frame, content checksum) at --compress-level 1..9 mapped onto
 * zstd's levels; threads > 1 uses libzstd's workers with jobs of block_size
 * (0 = libzstd's default).  unzstd reads concatenated frames; corrupt or
 * truncated input is FERRY_ERR_DATA. */
FERRY_API ferry_status ferry_zstd_writer_new(ferry_writer *next, int level, int threads, size_t block_size,
                                             ferry_writer **out, ferry_error *err);
FERRY_API ferry_status ferry_unzstd_writer_new(ferry_writer *next, ferry_writer **out, ferry_error *err);

/* The filter for writing kind (GZIP, ZSTD) as o asks: level, threads
 * (o->compress_threads, 0 = online cores, 1 = inline) and block size; and the
 * filter for reading kind.  Same ownership as above. */
FERRY_API ferry_status ferry_compress_writer_new(ferry_compress kind, ferry_writer *next, const ferry_copy_options *o,
                                                 ferry_writer **out, ferry_error *err);
FERRY_API ferry_status ferry_decompress_writer_new(ferry_compress kind, ferry_writer *next, ferry_writer **out,
                                                   ferry_error *err);

/* In-memory writer (tests, small outputs): grows a buffer; *data stays owned by
 * the writer until free. max_bytes 0 = unlimited. */
FERRY_API ferry_status ferry_memory_writer_new(size_t max_bytes, ferry_writer **out, ferry_error *err);
FERRY_API const void *ferry_memory_writer_data(ferry_writer *w, size_t *len);
FERRY_API int ferry_memory_writer_committed(ferry_writer *w);

/* A source reading from a memory buffer (borrowed; must outlive the source). */
FERRY_API ferry_status ferry_memory_source_new(const void *data, size_t len, ferry_source **out, ferry_error *err);

/* A sink writing to an open file descriptor (not closed on free); commit flushes. */
FERRY_API ferry_status ferry_fd_writer_new(int fd, const char *name, ferry_writer **out, ferry_error *err);

/* Run a whole pipeline already built: read src until end, push through w
 * (the head of the chain), commit on success, abort on failure.  chunk is
 * owned by the caller.  Fills bytes/rows in sum (may be NULL). */
FERRY_API ferry_status ferry_pump(ferry_source *src, ferry_writer *head, void *chunk, size_t chunk_size,
                                  const ferry_copy_options *o, ferry_summary *sum, ferry_error *err);

#ifdef __cplusplus
}
#endif
#endif
