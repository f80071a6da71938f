/*
 * ferry/stream.h - the streaming pipeline's two shapes: a source that reads
 * chunks, and a writer that takes chunks.  Filters (gzip, gunzip) and sinks
 * (local file, S3 object, SQL table) are both writers; a transfer is
 *     source -> writer (filter) -> ... -> writer (sink)
 * in the spirit of curl's client writers and libarchive's write filters.
 *
 * Buffers: the caller of read() owns buf; write() borrows buf for the call
 * only.  Neither allocates per chunk on the hot path.
 *
 * Lifecycle of a writer: write()* then commit() exactly once on success, or
 * abort() (idempotent, safe at any point, also after a failed commit) on any
 * failure or signal; finally free().  A filter's commit flushes its trailer
 * into next and then commits next; its abort aborts next.  free() releases the
 * object itself but never `next` (the transfer owns every element).
 */
#ifndef FERRY_STREAM_H
#define FERRY_STREAM_H

#include <stddef.h>
#include <stdint.h>
#include "ferry/cancel.h"
#include "ferry/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ferry_source ferry_source;
typedef struct ferry_writer ferry_writer;

/* The kind of a column, for sinks that create tables (--create) and for
 * encoders that keep types (JSON Lines). */
typedef enum ferry_column_kind {
    FERRY_COL_TEXT = 0, FERRY_COL_INT, FERRY_COL_BIGINT, FERRY_COL_NUMERIC, FERRY_COL_FLOAT,
    FERRY_COL_BOOL, FERRY_COL_DATE, FERRY_COL_TIME, FERRY_COL_TIMESTAMP, FERRY_COL_TIMESTAMPTZ,
    FERRY_COL_BYTES, FERRY_COL_JSON
} ferry_column_kind;

typedef struct ferry_column {
    const char *name;       /* owned by the source */
    ferry_column_kind kind;
    int precision, scale;   /* NUMERIC(p,s), or 0 when not known */
    const char *native_type;/* the source system's type name, e.g. "numeric(12,2)"; may be NULL */
} ferry_column;

typedef struct ferry_source_ops {
    const char *name;
    /* Read up to cap bytes into buf. *nread == 0 with FERRY_OK means end of stream. */
    ferry_status (*read)(ferry_source *src, void *buf, size_t cap, size_t *nread, ferry_error *err);
    /* After end of stream: final checks (e.g. the COPY's result). May be NULL. */
    ferry_status (*finish)(ferry_source *src, ferry_error *err);
    /* Release everything; valid in any state. */
    void (*free)(ferry_source *src);
} ferry_source_ops;

struct ferry_source {
    const ferry_source_ops *ops;
    int64_t size;   /* total bytes when known in advance, else -1 */
    int64_t rows;   /* rows produced, when the source counts them, else -1 */
    const ferry_column *columns; /* the columns, when a SQL source knows them (owned by the
                                    source, valid until free), else NULL */
    size_t n_columns;
};

typedef struct ferry_writer_ops {
    const char *name;
    ferry_status (*write)(ferry_writer *w, const void *buf, size_t len, ferry_error *err);
    ferry_status (*commit)(ferry_writer *w, ferry_error *err);
    void (*abort)(ferry_writer *w);
    void (*free)(ferry_writer *w);
} ferry_writer_ops;

struct ferry_writer {
    const ferry_writer_ops *ops;
    ferry_writer *next;     /* NULL for a sink */
    int64_t bytes;          /* bytes accepted by write() so far */
    int64_t rows;           /* rows written, when the sink counts them, else -1 */
};

/* One destination written by n independent writers at once (the ranges of a
 * parallel extraction, each on its own thread); the destination's bytes are
 * range 0's, then range 1's, ... .  Writer r is used by one thread only;
 * different writers may be used concurrently.  A writer's commit() means
 * "range r is complete" (nothing is visible yet); the destination appears
 * only at ops->commit, once every range committed; ops->abort (idempotent,
 * from any thread after the writers stopped) removes every trace, e.g. the
 * multipart upload.  Owned by whoever opened it; ops->free releases it and its
 * writers. */
typedef struct ferry_ranged_sink ferry_ranged_sink;
typedef struct ferry_ranged_sink_ops {
    const char *name;
    ferry_writer *(*writer)(ferry_ranged_sink *rs, int r);  /* borrowed, owned by rs */
    ferry_status (*commit)(ferry_ranged_sink *rs, ferry_error *err);
    void (*abort)(ferry_ranged_sink *rs);
    void (*free)(ferry_ranged_sink *rs);
} ferry_ranged_sink_ops;
struct ferry_ranged_sink {
    const ferry_ranged_sink_ops *ops;
    int n;                  /* number of ranges */
};

/* Convenience wrappers (dispatch through ops). */
static inline ferry_status ferry_writer_write(ferry_writer *w, const void *buf, size_t len, ferry_error *err)
{
    ferry_status st = w->ops->write(w, buf, len, err);
    if (st == FERRY_OK)
        w->bytes += (int64_t)len;
    return st;
}

/* Cancellation (ferry_cancelled, ferry_cancel_request, tokens): ferry/cancel.h. */

#ifdef __cplusplus
}
#endif
#endif
