/*
 * parquet_copy.c - a copy into Parquet: typed rows from the source hook's
 * open_typed_source, written by ferry's Parquet writer (parquet_writer.c)
 * into the destination's byte sink, whose commit is the atomic publish (S3
 * CompleteMultipartUpload, SFTP and local temp-then-rename).  The sink is
 * opened first, so "destination exists" fails before anything is read.
 * Cancellation is polled every batch; progress reported at most every 200 ms.
 */
#include <string.h>

#include "core/util.h"
#include "ferry/log.h"
#include "ferry/transfer.h"
#include "transfer/fault.h"
#include "transfer/parquet.h"
#include "transfer/parquet_writer.h"

static ferry_status interrupted(ferry_error *err)
{
    int signo = ferry_cancel_signal();
    if (signo == 0)
        return ferry_error_set(err, FERRY_ERR_INTERRUPTED, "cancelled: aborted, destination untouched");
    return ferry_error_set(err, FERRY_ERR_INTERRUPTED, "interrupted by signal %d: aborted, destination untouched",
                           signo);
}

static ferry_status pump_rows(ferry_typed_source *ts, ferry_parquet_writer *pw, const ferry_copy_options *o,
                              ferry_error *err)
{
    double t0 = ferry_now_monotonic(), last = t0;
    for (;;) {
        if (ferry_cancelled())
            return interrupted(err);
        const ferry_tbatch *b = NULL;
        ferry_status st = ts->ops->next_batch(ts, &b, err);
        if (st != FERRY_OK)
            return st;
        if (!b || b->n_rows == 0)
            break;
        st = ferry_parquet_writer_batch(pw, b, err);
        if (st != FERRY_OK)
            return st;
        if (o->progress) {
            double t = ferry_now_monotonic();
            if (t - last >= 0.2) {
                o->progress(ts->bytes, ts->rows, -1, t - t0, o->progress_ud);
                last = t;
            }
        }
    }
    if (ts->ops->finish) {
        ferry_status st = ts->ops->finish(ts, err);
        if (st != FERRY_OK)
            return st;
    }
    return ferry_cancelled() ? interrupted(err) : FERRY_OK;
}

ferry_status ferry_parquet_copy(ferry_endpoint *src, ferry_endpoint *dst, const ferry_copy_options *o,
                                struct ferry_summary *sum, ferry_error *err)
{
    char shown[1024];
    ferry_status (*open_typed)(const ferry_endpoint *, const ferry_copy_options *, ferry_typed_source **,
                               ferry_error *) = FERRY_HOOK_SLOT(src->hook, open_typed_source);
    if (!open_typed)
        return ferry_error_set(err, FERRY_ERR_USAGE, "%s gives no typed rows: cannot write parquet",
                               ferry_endpoint_display(src, shown, sizeof shown));
    if (!dst->hook->open_sink)
        return ferry_error_set(err, FERRY_ERR_USAGE, "%s cannot be written to (%s has no sink)",
                               ferry_endpoint_display(dst, shown, sizeof shown), dst->hook->name);
    double t0 = ferry_now_monotonic();
    ferry_writer *sink = NULL;
    ferry_typed_source *ts = NULL;
    ferry_parquet_writer *pw = NULL;
    ferry_status st = dst->hook->open_sink(dst, o, &sink, err);
    if (st == FERRY_OK)
        st = ferry_fault_wrap_sink(&sink, err); /* test builds only (transfer/fault.h) */
    if (st == FERRY_OK)
        st = open_typed(src, o, &ts, err);
    if (st == FERRY_OK) {
        ferry_parquet_options po;
        memset(&po, 0, sizeof po);
        po.codec = o->dst_compress;
        po.level = o->compress_level;
        po.row_group_bytes = o->parquet_row_group_size;
        st = ferry_parquet_writer_new(ts->columns, ts->n_columns, &po, sink, &pw, err);
    }
    if (st == FERRY_OK) {
        ferry_log(FERRY_LOG_DEBUG, "copy: %s -> parquet -> %s", src->hook->name, dst->hook->name);
        st = pump_rows(ts, pw, o, err);
        if (st == FERRY_OK)
            st = ferry_parquet_writer_commit(pw, err);
        else
            ferry_parquet_writer_abort(pw);
    } else if (sink) {
        sink->ops->abort(sink);
    }
    if (sum) {
        memset(sum, 0, sizeof *sum);
        sum->bytes_read = ts ? ts->bytes : 0;
        sum->bytes_written = sink ? sink->bytes : 0;
        sum->rows_read = ts ? ts->rows : 0;
        sum->rows_written = pw ? ferry_parquet_writer_rows(pw) : 0;
        sum->seconds = ferry_now_monotonic() - t0;
    }
    if (st == FERRY_OK && o->progress && ts)
        o->progress(ts->bytes, ts->rows, -1, ferry_now_monotonic() - t0, o->progress_ud);
    ferry_parquet_writer_free(pw);
    if (ts)
        ts->ops->free(ts);
    if (sink)
        sink->ops->free(sink);
    return st;
}
