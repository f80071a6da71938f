/*
 * copy.c - ferry_copy: parse both endpoints, decide format and compression,
 * open the sink (so "destination exists" fails before anything is read) and
 * the source, build source -> [gzip|gunzip] -> sink, optionally spool through
 * a temp file, and pump.  Owns every element of the chain and the one chunk
 * buffer of the transfer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "core/util.h"
#include "ferry/log.h"
#include "ferry/transfer.h"
#include "transfer/budget.h"
#include "transfer/dest_text.h"
#include "transfer/fault.h"
#include "transfer/format_check.h"
#include "transfer/parquet.h"
#include "transfer/move.h"
#include "transfer/options.h"
#include "transfer/parallel.h"
#include "transfer/spool.h"

static ferry_format resolve_format(const ferry_endpoint *src, const ferry_endpoint *dst,
                                   const ferry_copy_options *o)
{
    if (o->format != FERRY_FORMAT_AUTO)
        return o->format;
    if (dst->format != FERRY_FORMAT_AUTO)
        return dst->format;
    if (src->format != FERRY_FORMAT_AUTO)
        return src->format;
    return FERRY_FORMAT_CSV;
}

/* The sink, then the filters that bridge the compression of both ends:
 * decompress what the source is (gunzip, unzstd), compress into what the
 * destination is (gzip, zstd; threads, level and block from o); nothing when
 * both are the same.  *filter is the head of the chain; *inner is the second
 * filter when there are two (gz -> zst), else NULL.  The caller frees both. */
static ferry_status build_chain(const ferry_endpoint *src, const ferry_endpoint *dst, ferry_writer *sink,
                                const ferry_copy_options *o, ferry_writer **filter, ferry_writer **inner,
                                ferry_error *err)
{
    *filter = *inner = NULL;
    ferry_compress from = src->compress, to = dst->compress;
    if (from == to)
        return FERRY_OK;
    ferry_writer *next = sink;
    if (to == FERRY_COMPRESS_GZIP || to == FERRY_COMPRESS_ZSTD) {
        ferry_status st = ferry_compress_writer_new(to, sink, o, &next, err);
        if (st != FERRY_OK)
            return st;
        *filter = next;
    }
    if (from == FERRY_COMPRESS_GZIP || from == FERRY_COMPRESS_ZSTD) {
        ferry_writer *d = NULL;
        ferry_status st = ferry_decompress_writer_new(from, next, &d, err);
        if (st != FERRY_OK)
            return st; /* *filter (if any) is freed by the caller */
        *inner = *filter;
        *filter = d;
    }
    return FERRY_OK;
}

static ferry_status precheck_exists(ferry_endpoint *dst, const ferry_copy_options *o, ferry_error *err)
{
    if (o->replace || !dst->hook->stat)
        return FERRY_OK;
    if (o->http_method && strcasecmp(o->http_method, "POST") == 0)
        return FERRY_OK; /* a POST creates a new resource; the URL existing means nothing */
    ferry_entry e;
    ferry_error probe;
    ferry_error_clear(&probe);
    if (dst->hook->stat(dst, &e, &probe) == FERRY_OK) {
        char shown[1024];
        return ferry_error_set(err, FERRY_ERR_EXISTS, "%s: destination exists (use --replace to replace it)",
                               ferry_endpoint_display(dst, shown, sizeof shown));
    }
    return FERRY_OK;
}

/* ferry_copy_endpoints with o_in taken (transfer/options.h) and its cancel token current. */
static ferry_status copy_endpoints(ferry_endpoint *src, ferry_endpoint *dst, const ferry_copy_options *o_in,
                                   ferry_summary *sum, ferry_error *err)
{
    ferry_copy_options o = *o_in;
    if (o.chunk_size == 0)
        o.chunk_size = 1024 * 1024;
    o.format = resolve_format(src, dst, &o);
    if (sum)
        memset(sum, 0, sizeof *sum);
    ferry_status fst = ferry_format_check(src, dst, o.format, &o, err); /* a name never lies */
    if (fst != FERRY_OK)
        return fst;
    ferry_status bst = ferry_budget_apply(src, dst, &o, err); /* --max-memory (transfer/budget.c) */
    if (bst != FERRY_OK)
        return bst;
    /* a NULL text holding the format's separator, quote or a line end would
     * make SQL NULL unreadable (PostgreSQL's COPY refuses it likewise) */
    if (o.null_string && o.null_string[strcspn(o.null_string, o.format == FERRY_FORMAT_TSV ? "\t\r\n" : ",\"\r\n")])
        return ferry_error_set(err, FERRY_ERR_USAGE, "--null-string may not hold %s, a line end%s",
                               o.format == FERRY_FORMAT_TSV ? "a tab" : "a comma, a double quote",
                               o.format == FERRY_FORMAT_TSV ? "" : " (csv)");

    /* --resume keeps one multipart upload's state: one stream into a sink
     * that can resume (S3) */
    if (o.resume_file && !(dst->hook->flags & FERRY_HOOK_RESUME))
        return ferry_error_set(err, FERRY_ERR_USAGE, "--resume continues an upload into S3, not into %s",
                               dst->hook->name);
    if (o.resume_file && ferry_parallel_wanted(src, &o))
        return ferry_error_set(err, FERRY_ERR_USAGE,
                               "--resume continues a single-stream copy, not --parallel/--split-output/--partition");

    if (o.format == FERRY_FORMAT_PARQUET && (src->hook->flags & FERRY_HOOK_SQL))
        return ferry_parquet_copy(src, dst, &o, sum, err); /* typed rows (transfer/parquet_copy.c) */

    if (ferry_parallel_wanted(src, &o)) /* --parallel/--split-output/--partition (transfer/parallel.c) */
        return ferry_parallel_copy(src, dst, &o, sum, err);

    char shown[1024];
    if (!src->hook->open_source)
        return ferry_error_set(err, FERRY_ERR_USAGE, "%s cannot be read from (%s has no source)",
                               ferry_endpoint_display(src, shown, sizeof shown), src->hook->name);
    if (!dst->hook->open_sink)
        return ferry_error_set(err, FERRY_ERR_USAGE, "%s cannot be written to (%s has no sink)",
                               ferry_endpoint_display(dst, shown, sizeof shown), dst->hook->name);

    void *chunk = malloc(o.chunk_size);
    if (!chunk)
        return ferry_error_oom(err, NULL, NULL, NULL);

    ferry_source *source = NULL, *spooled = NULL;
    ferry_writer *sink = NULL, *filter = NULL, *inner = NULL;
    int64_t spooled_rows = -1;
    ferry_status st = FERRY_OK;

    if (o.spool == FERRY_SPOOL_DISK) {
        /* extract completely first, so a slow sink never holds the source open */
        st = precheck_exists(dst, &o, err);
        if (st == FERRY_OK)
            st = src->hook->open_source(src, &o, &source, err);
        if (st == FERRY_OK)
            st = ferry_spool_source(source, chunk, o.chunk_size, &spooled_rows, &spooled, err);
        if (source) {
            source->ops->free(source);
            source = NULL;
        }
        if (st == FERRY_OK) {
            source = spooled;
            st = dst->hook->open_sink(dst, &o, &sink, err);
        }
    } else if (o.create_table) {
        /* the sink may create the table from the source's columns: source first */
        st = precheck_exists(dst, &o, err);
        if (st == FERRY_OK)
            st = src->hook->open_source(src, &o, &source, err);
        if (st == FERRY_OK && source->columns) {
            o.columns = source->columns;
            o.n_columns = source->n_columns;
        }
        if (st == FERRY_OK)
            st = dst->hook->open_sink(dst, &o, &sink, err);
    } else {
        st = dst->hook->open_sink(dst, &o, &sink, err);
        if (st == FERRY_OK)
            st = src->hook->open_source(src, &o, &source, err);
    }
    if (st == FERRY_OK)
        st = ferry_fault_wrap_sink(&sink, err);     /* test builds only: FERRY_FAULT (transfer/fault.h) */
    if (st == FERRY_OK)
        st = ferry_fault_wrap_source(&source, err);
    if (st == FERRY_OK)
        st = build_chain(src, dst, sink, &o, &filter, &inner, err);
    if (st == FERRY_OK) {
        ferry_log(FERRY_LOG_DEBUG, "copy: %s -> %s%s%s", src->hook->name, filter ? filter->ops->name : "",
                  filter ? " -> " : "", dst->hook->name);
        st = ferry_pump(source, filter ? filter : sink, chunk, o.chunk_size, &o, sum, err);
        if (sum && spooled_rows >= 0)
            sum->rows_read = spooled_rows;
    } else if (sink) {
        sink->ops->abort(sink);
    }

    if (filter)
        filter->ops->free(filter);
    if (inner)
        inner->ops->free(inner);
    if (sink)
        sink->ops->free(sink);
    if (source)
        source->ops->free(source);
    free(chunk);
    if (st == FERRY_OK && sum && sum->rows_read >= 0 && sum->rows_written >= 0 &&
        sum->rows_read != sum->rows_written)
        st = ferry_error_set(err, FERRY_ERR_DATA, "row count mismatch: read %lld rows, wrote %lld",
                             (long long)sum->rows_read, (long long)sum->rows_written);
    return st;
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* "dir/" or an existing local directory as destination: append the source's
 * file name (transfer/dest_text.h: --dry-run names the same destination). */
char *ferry_copy_destination_text(const ferry_endpoint *src, const char *dst)
{
    size_t n = strlen(dst);
    int dir = n > 0 && dst[n - 1] == '/';
    struct stat sb;
    if (!dir && strcmp(dst, "-") != 0 && strstr(dst, "://") == NULL && stat(dst, &sb) == 0 && S_ISDIR(sb.st_mode))
        dir = 2;
    const char *name = base_name(src->path);
    if (!dir || src->kind == FERRY_EP_STDIO || !*name)
        return strdup(dst);
    char *out = malloc(n + strlen(name) + 2);
    if (out)
        snprintf(out, n + strlen(name) + 2, "%s%s%s", dst, dir == 2 ? "/" : "", name);
    return out;
}

/* Bytes unchanged (same compression, no spool): the source's hook may copy
 * them inside its system (S3 CopyObject), never through ferry.  *copied = 0
 * when it cannot (no server_copy slot, or not between these two). */
static ferry_status server_side_copy(ferry_endpoint *src, ferry_endpoint *dst, const ferry_copy_options *o,
                                     int *copied, ferry_summary *sum, ferry_error *err)
{
    *copied = 0;
    ferry_status (*copy)(const ferry_endpoint *, const ferry_endpoint *, const ferry_copy_options *, int *,
                         int64_t *, ferry_error *) = FERRY_HOOK_SLOT(src->hook, server_copy);
    if (!copy || src->compress != dst->compress || (o && o->spool != FERRY_SPOOL_NONE))
        return FERRY_OK;
    int64_t bytes = -1;
    ferry_status st = copy(src, dst, o, copied, &bytes, err);
    if (!*copied)
        return st;
    memset(sum, 0, sizeof *sum);
    sum->rows_read = sum->rows_written = -1;
    if (st == FERRY_OK)
        sum->bytes_read = sum->bytes_written = bytes;
    return st;
}

ferry_status ferry_copy_endpoints(ferry_endpoint *src, ferry_endpoint *dst, const ferry_copy_options *o_in,
                                  ferry_summary *sum, ferry_error *err)
{
    ferry_copy_options o;
    ferry_status st = ferry_copy_options_take(o_in, &o, err);
    if (st != FERRY_OK)
        return st;
    ferry_cancel_token *prev = ferry_cancel_enter(&o);
    st = copy_endpoints(src, dst, &o, sum, err);
    ferry_cancel_adopt(prev);
    return st;
}

/* ferry_copy with o taken and its cancel token current. */
static ferry_status copy_texts(const char *src_text, const char *dst_text, const ferry_copy_options *o,
                               ferry_summary *sum, ferry_error *err)
{
    ferry_summary local_sum;
    if (!sum)
        sum = &local_sum;
    ferry_endpoint *src = NULL, *dst = NULL;
    ferry_status st = ferry_endpoint_parse(src_text, o, 0, &src, err);
    if (st != FERRY_OK)
        return st;
    /* a ranged copy's DEST is a prefix/directory as given (transfer/parallel.c) */
    char *dst_final = o && (o->split_output || o->partition_count > 0) ? strdup(dst_text)
                                                                       : ferry_copy_destination_text(src, dst_text);
    if (!dst_final) {
        ferry_endpoint_free(src);
        return ferry_error_oom(err, NULL, NULL, NULL);
    }
    st = ferry_endpoint_parse(dst_final, o, 1, &dst, err);
    int copied = 0;
    if (st == FERRY_OK)
        st = server_side_copy(src, dst, o, &copied, sum, err);
    if (st == FERRY_OK && !copied)
        st = copy_endpoints(src, dst, o, sum, err);
    ferry_endpoint_free(src);
    ferry_endpoint_free(dst);
    if (st == FERRY_OK && o && o->move)
        st = ferry_move_source(src_text, dst_final, sum, o, err);
    free(dst_final);
    return st;
}

ferry_status ferry_copy(const char *src_text, const char *dst_text, const ferry_copy_options *o_in,
                        ferry_summary *sum, ferry_error *err)
{
    ferry_copy_options o;
    ferry_status st = ferry_copy_options_take(o_in, &o, err);
    if (st != FERRY_OK)
        return st;
    ferry_cancel_token *prev = ferry_cancel_enter(&o);
    st = copy_texts(src_text, dst_text, &o, sum, err);
    ferry_cancel_adopt(prev);
    return st;
}
