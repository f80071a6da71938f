/*
 * pump.c - the transfer's hot loop: read a chunk from the source into the
 * one buffer the caller owns, push it down the writer chain, and at the end
 * either commit the whole chain or abort it.  Polls for cancellation on
 * every chunk; reports progress at most every 200 ms.
 */
#include "core/util.h"

#include "ferry/transfer.h"
#include "transfer/options.h"

static ferry_writer *chain_sink(ferry_writer *head)
{
    while (head->next)
        head = head->next;
    return head;
}

static ferry_status interrupted(ferry_error *err)
{
    int signo = ferry_cancel_signal();
    if (signo == 0) /* a cancel token the program requested */
        return ferry_error_set(err, FERRY_ERR_INTERRUPTED, "cancelled: aborted, destination untouched");
    return ferry_error_set(err, FERRY_ERR_INTERRUPTED, "interrupted by signal %d: aborted, destination untouched",
                           signo);
}

/* ferry_pump with o's cancel token current. */
static ferry_status pump(ferry_source *src, ferry_writer *head, void *chunk, size_t chunk_size,
                         const ferry_copy_options *o, ferry_summary *sum, ferry_error *err)
{
    double t0 = ferry_now_monotonic(), last_progress = t0;
    int64_t bytes = 0;
    ferry_status st = FERRY_OK;

    for (;;) {
        if (ferry_cancelled()) {
            st = interrupted(err);
            break;
        }
        size_t n = 0;
        st = src->ops->read(src, chunk, chunk_size, &n, err);
        if (st != FERRY_OK)
            break;
        if (n == 0)
            break;
        bytes += (int64_t)n;
        st = ferry_writer_write(head, chunk, n, err);
        if (st != FERRY_OK)
            break;
        if (o && o->progress) {
            double t = ferry_now_monotonic();
            if (t - last_progress >= 0.2) {
                o->progress(bytes, src->rows, src->size, t - t0, o->progress_ud);
                last_progress = t;
            }
        }
    }
    if (st == FERRY_OK && src->ops->finish)
        st = src->ops->finish(src, err);
    if (st == FERRY_OK && ferry_cancelled())
        st = interrupted(err);
    if (st == FERRY_OK)
        st = head->ops->commit(head, err);
    if (st != FERRY_OK) {
        if (err && err->status == FERRY_OK)
            err->status = st;
        head->ops->abort(head);
    }

    ferry_writer *sink = chain_sink(head);
    if (sum) {
        sum->bytes_read = bytes;
        sum->bytes_written = sink->bytes;
        sum->rows_read = src->rows;
        sum->rows_written = sink->rows;
        sum->seconds = ferry_now_monotonic() - t0;
    }
    if (st == FERRY_OK && o && o->progress)
        o->progress(bytes, src->rows, src->size, ferry_now_monotonic() - t0, o->progress_ud);
    return st;
}

ferry_status ferry_pump(ferry_source *src, ferry_writer *head, void *chunk, size_t chunk_size,
                        const ferry_copy_options *o, ferry_summary *sum, ferry_error *err)
{
    ferry_cancel_token *prev = ferry_cancel_enter(o);
    ferry_status st = pump(src, head, chunk, chunk_size, o, sum, err);
    ferry_cancel_adopt(prev);
    return st;
}
