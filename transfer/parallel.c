/*
 * transfer/parallel.c - parallel, snapshot-consistent extraction (issue #8).
 *
 * The source hook's open_range_sources gives one source per range (all from
 * one snapshot where the system can); each range runs on its own thread,
 *     source r -> [gzip: one member per range] -> writer r of a ranged sink
 * and the ranged sink makes the destination appear only once every range is
 * complete.  Three ranged sinks:
 *   - the destination hook's own (open_ranged_sink, e.g. S3 multipart parts);
 *   - the spool fallback for every other sink (parallel_spool.c);
 *   - the set sink for --split-output and --partition, one sink per range
 *     (parallel_set.c).
 * This file: the ranges' threads, the --partition sidecar and the copy.
 * A failure in any range (or a signal) stops the others at their next chunk
 * and aborts the ranged sink: nothing is left at the destination.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "core/thread.h"
#include "ferry/log.h"
#include "ferry/manifest.h"
#include "transfer/fault.h"
#include "transfer/budget.h"
#include "transfer/parallel.h"
#include "core/util.h"
#include "core/encode.h"

/* ---- names -------------------------------------------------------------- */

void ferry_parallel_ext(ferry_format fmt, ferry_compress c, char *out, size_t cap)
{
    const char *f = fmt == FERRY_FORMAT_TSV ? ".tsv" : fmt == FERRY_FORMAT_JSONL ? ".jsonl" : ".csv";
    const char *z = c == FERRY_COMPRESS_GZIP ? ".gz" : c == FERRY_COMPRESS_ZSTD ? ".zst" : "";
    snprintf(out, cap, "%s%s", f, z);
}

static const char *format_name(ferry_format f)
{
    return f == FERRY_FORMAT_TSV ? "tsv" : f == FERRY_FORMAT_JSONL ? "jsonl" : "csv";
}

static const char *compress_name(ferry_compress c)
{
    return c == FERRY_COMPRESS_GZIP ? "gzip" : c == FERRY_COMPRESS_ZSTD ? "zstd" : "none";
}

/* DEST without trailing slashes, malloc'd. */
static char *dest_prefix(const ferry_endpoint *dst)
{
    char *p = strdup(dst->text);
    if (!p)
        return NULL;
    size_t n = strlen(p);
    while (n > 1 && p[n - 1] == '/')
        p[--n] = '\0';
    return p;
}

/* ---- the ranges' threads ------------------------------------------------ */

typedef struct range_job range_job;

typedef struct shared_state {
    pthread_mutex_t lock;
    int failed;                 /* a range failed: the others stop at their next chunk */
    ferry_error first;          /* the first failure */
} shared_state;

/* A source that stops when another range failed. */
typedef struct guard_source {
    ferry_source base;
    ferry_source *inner;        /* borrowed */
    shared_state *shared;
} guard_source;

struct range_job {
    int r;                      /* the range's number (of n) */
    guard_source guard;
    ferry_source *source;       /* owned */
    ferry_writer *filter;       /* owned: gzip/zstd for this range, or NULL */
    ferry_writer *sink;         /* borrowed from the ranged sink */
    void *chunk;                /* owned */
    ferry_copy_options o;
    ferry_summary sum;
    ferry_error err;
    ferry_status st;
    shared_state *shared;
    pthread_t thread;
    int started;
};

static ferry_status guard_read(ferry_source *s, void *buf, size_t cap, size_t *nread, ferry_error *err)
{
    guard_source *g = (guard_source *)s;
    pthread_mutex_lock(&g->shared->lock);
    int failed = g->shared->failed;
    pthread_mutex_unlock(&g->shared->lock);
    if (failed)
        return ferry_error_set(err, FERRY_ERR_INTERRUPTED, "stopped: another range failed");
    ferry_status st = g->inner->ops->read(g->inner, buf, cap, nread, err);
    g->base.rows = g->inner->rows;
    return st;
}

static ferry_status guard_finish(ferry_source *s, ferry_error *err)
{
    guard_source *g = (guard_source *)s;
    ferry_status st = g->inner->ops->finish ? g->inner->ops->finish(g->inner, err) : FERRY_OK;
    g->base.rows = g->inner->rows;
    return st;
}

static void guard_free(ferry_source *s) { (void)s; }

static const ferry_source_ops guard_ops = {"parallel-guard", guard_read, guard_finish, guard_free};

static void *range_main(void *arg)
{
    range_job *j = arg;
    ferry_writer *head = j->filter ? j->filter : j->sink;
    ferry_error_clear(&j->err);
    j->st = ferry_pump(&j->guard.base, head, j->chunk, j->o.chunk_size, &j->o, &j->sum, &j->err);
    if (j->st == FERRY_OK && j->sum.rows_read >= 0 && j->sum.rows_written >= 0 && j->sum.rows_read != j->sum.rows_written)
        j->st = ferry_error_set(&j->err, FERRY_ERR_DATA, "row count mismatch: read %lld rows, wrote %lld",
                                (long long)j->sum.rows_read, (long long)j->sum.rows_written);
    if (j->st != FERRY_OK) {
        pthread_mutex_lock(&j->shared->lock);
        /* the first real cause wins over "another range failed" */
        if (!j->shared->failed) {
            j->shared->failed = 1;
            j->shared->first = j->err;
            if (j->shared->first.status == FERRY_OK)
                j->shared->first.status = j->st;
            ferry_error_prefix(&j->shared->first, "range %d", j->r);
        }
        pthread_mutex_unlock(&j->shared->lock);
    }
    return NULL;
}

/* ---- the sidecar (--partition) ------------------------------------------ */

static ferry_status write_text(const char *text, const char *body, const ferry_copy_options *o, ferry_error *err)
{
    ferry_copy_options so = *o;
    so.replace = 1; /* a re-run partition replaces its sidecar */
    so.dst_compress = FERRY_COMPRESS_NONE;
    so.format = FERRY_FORMAT_RAW;
    ferry_endpoint *ep = NULL;
    ferry_writer *w = NULL;
    ferry_status st = ferry_endpoint_parse(text, &so, 1, &ep, err);
    if (st == FERRY_OK)
        st = ep->hook->open_sink(ep, &so, &w, err);
    if (st == FERRY_OK)
        st = ferry_writer_write(w, body, strlen(body), err);
    if (st == FERRY_OK)
        st = w->ops->commit(w, err);
    if (w) {
        if (st != FERRY_OK)
            w->ops->abort(w);
        w->ops->free(w);
    }
    ferry_endpoint_free(ep);
    return st;
}

static ferry_status write_sidecar(ferry_endpoint *dst, const char *prefix, const ferry_copy_options *o,
                                  const range_job *j, const set_writer *sw, const char *bounds, ferry_error *err)
{
    if (dst->hook->mkdir) {
        size_t len = strlen(prefix) + 16;
        char *dir = malloc(len);
        ferry_endpoint *dep = NULL;
        ferry_error ignored;
        ferry_error_clear(&ignored);
        if (dir) {
            snprintf(dir, len, "%s/_parts", prefix);
            if (ferry_endpoint_parse(dir, o, 1, &dep, &ignored) == FERRY_OK)
                dep->hook->mkdir(dep, 1, &ignored);
        }
        ferry_endpoint_free(dep);
        free(dir);
    }
    char ext[32];
    ferry_sidecar sc;
    memset(&sc, 0, sizeof sc);
    ferry_parallel_ext(o->format, dst->compress, ext, sizeof ext);
    ferry_parallel_part_name(o, j->r, ext, sc.object, sizeof sc.object);
    sc.partition = j->r;
    sc.of = o->partition_count;
    sc.rows = j->sum.rows_read;
    sc.bytes = sw->base.bytes;
    snprintf(sc.sha256, sizeof sc.sha256, "%s", sw->sha256);
    snprintf(sc.format, sizeof sc.format, "%s", format_name(o->format));
    snprintf(sc.compression, sizeof sc.compression, "%s", compress_name(dst->compress));
    char *body = NULL; /* owned */
    ferry_status st = ferry_sidecar_format(&sc, bounds, &body, err);
    if (st != FERRY_OK)
        return st;
    size_t tlen = strlen(prefix) + 64;
    char *text = malloc(tlen);
    if (!text)
        st = ferry_error_oom(err, NULL, NULL, NULL);
    else {
        snprintf(text, tlen, "%s/_parts/part-%05d.json", prefix, j->r);
        st = write_text(text, body, o, err);
        if (st != FERRY_OK)
            ferry_error_prefix(err, "writing the sidecar %s", text);
    }
    free(text);
    free(body);
    return st;
}

/* ---- the copy ------------------------------------------------------------ */

int ferry_parallel_wanted(const ferry_endpoint *src, const ferry_copy_options *o)
{
    if (o->partition_count > 0 || o->split_output)
        return 1;
    if (o->parallel > 1 && FERRY_HOOK_SLOT(src->hook, open_range_sources))
        return 1;
    if (o->parallel > 1)
        ferry_log(FERRY_LOG_WARN, "--parallel: %s cannot read ranges; copying with one session", src->hook->name);
    return 0;
}

ferry_status ferry_parallel_copy(ferry_endpoint *src, ferry_endpoint *dst, const ferry_copy_options *o_in,
                                 ferry_summary *sum, ferry_error *err)
{
    ferry_copy_options o = *o_in;
    double t0 = ferry_now_monotonic();
    ferry_summary local;
    if (!sum)
        sum = &local;
    memset(sum, 0, sizeof *sum);
    if (!FERRY_HOOK_SLOT(src->hook, open_range_sources))
        return ferry_error_set(err, FERRY_ERR_USAGE, "--parallel/--split-output/--partition: %s cannot read ranges "
                               "(a SQL source is needed)", src->hook->name);
    if (!dst->hook->open_sink)
        return ferry_error_set(err, FERRY_ERR_USAGE, "%s cannot be written to", dst->hook->name);
    if (o.partition_count > 0 && o.split_output)
        return ferry_error_set(err, FERRY_ERR_USAGE, "--partition and --split-output do not go together");
    if (o.format == FERRY_FORMAT_RAW)
        return ferry_error_set(err, FERRY_ERR_USAGE, "a ranged copy writes csv, tsv or jsonl");
    if (dst->kind == FERRY_EP_STDIO && (o.partition_count > 0 || o.split_output))
        return ferry_error_set(err, FERRY_ERR_USAGE, "--split-output/--partition need a DEST prefix or directory");

    int n = o.partition_count > 0 ? o.partition_count : (o.parallel > 1 ? o.parallel : 1);
    int first = o.partition_count > 0 ? o.partition_index : 0;
    int count = o.partition_count > 0 ? 1 : n;
    int sets = o.partition_count > 0 || o.split_output;
    if (count > 1)
        o.compress_threads = 1; /* the ranges are the parallelism: one member per range */
    o.progress = NULL;          /* progress is per copy, not per thread */
    ferry_status bst = ferry_budget_check_ranged(src, dst, &o, count, sets, err); /* --max-memory */
    if (bst != FERRY_OK)
        return bst;

    char *prefix = dest_prefix(dst); /* owned: free */
    range_job *jobs = calloc((size_t)count, sizeof *jobs);
    ferry_source **sources = calloc((size_t)count, sizeof *sources);
    char **bounds = calloc((size_t)count, sizeof *bounds);
    ferry_ranged_sink *rs = NULL;
    shared_state shared;
    memset(&shared, 0, sizeof shared);
    pthread_mutex_init(&shared.lock, NULL);
    ferry_status st = FERRY_OK;
    if (!prefix || !jobs || !sources || !bounds)
        st = ferry_error_oom(err, NULL, NULL, NULL);

    /* the destination first: "exists" fails before anything is read */
    if (st == FERRY_OK && sets) {
        if (dst->hook->mkdir) {
            ferry_error ignored;
            ferry_error_clear(&ignored);
            dst->hook->mkdir(dst, 1, &ignored);
        }
        st = ferry_parallel_set_new(dst, prefix, &o, first, count, &rs, err);
    } else if (st == FERRY_OK) {
        if (!o.replace && dst->hook->stat) {
            ferry_entry e;
            ferry_error probe;
            ferry_error_clear(&probe);
            if (dst->hook->stat(dst, &e, &probe) == FERRY_OK) {
                char shown[1024];
                st = ferry_error_set(err, FERRY_ERR_EXISTS, "%s: destination exists (use --replace to replace it)",
                                     ferry_endpoint_display(dst, shown, sizeof shown));
            }
        }
        if (st == FERRY_OK && FERRY_HOOK_SLOT(dst->hook, open_ranged_sink))
            st = dst->hook->open_ranged_sink(dst, &o, n, &rs, err);
        else if (st == FERRY_OK)
            st = ferry_parallel_spool_new(dst, &o, n, &rs, err);
    }
    if (st == FERRY_OK)
        ferry_log(FERRY_LOG_INFO, "parallel: %d range%s of %d (%s) -> %s", count, count == 1 ? "" : "s", n,
                  o.split_by ? o.split_by : "default split", rs->ops->name);
    if (st == FERRY_OK)
        st = src->hook->open_range_sources(src, &o, n, first, count, sources, bounds, err);
    for (int i = 0; i < count && st == FERRY_OK; i++) {
        range_job *j = &jobs[i];
        j->r = first + i;
        j->o = o;
        j->shared = &shared;
        j->source = sources[i];
        sources[i] = NULL;
        st = ferry_fault_wrap_source(&j->source, err); /* test builds only: FERRY_FAULT (transfer/fault.h) */
        if (st != FERRY_OK)
            break;
        j->guard.base.ops = &guard_ops;
        j->guard.base.size = -1;
        j->guard.base.rows = -1;
        j->guard.inner = j->source;
        j->guard.shared = &shared;
        j->sink = rs->ops->writer(rs, i);
        j->chunk = malloc(o.chunk_size);
        if (!j->chunk)
            st = ferry_error_oom(err, NULL, NULL, NULL);
        if (st == FERRY_OK && dst->compress != FERRY_COMPRESS_NONE && dst->compress != FERRY_COMPRESS_AUTO)
            st = ferry_compress_writer_new(dst->compress, j->sink, &o, &j->filter, err);
    }
    for (int i = 0; i < count && st == FERRY_OK; i++) {
        if (ferry_thread_create(&jobs[i].thread, NULL, range_main, &jobs[i]) != 0) {
            st = ferry_error_set(err, FERRY_ERR_INTERNAL, "parallel: cannot start a thread");
            pthread_mutex_lock(&shared.lock);
            shared.failed = 1;
            pthread_mutex_unlock(&shared.lock);
        } else {
            jobs[i].started = 1;
        }
    }
    for (int i = 0; jobs && i < count; i++)
        if (jobs[i].started)
            pthread_join(jobs[i].thread, NULL);
    if (st == FERRY_OK && shared.failed) {
        st = shared.first.status;
        if (err)
            *err = shared.first;
    }
    if (st == FERRY_OK) {
        for (int i = 0; i < count; i++) {
            sum->bytes_read += jobs[i].sum.bytes_read;
            sum->bytes_written += jobs[i].sum.bytes_written;
            sum->rows_read += jobs[i].sum.rows_read;
            if (sum->rows_written >= 0 && jobs[i].sum.rows_written >= 0)
                sum->rows_written += jobs[i].sum.rows_written;
            else
                sum->rows_written = -1;
        }
        st = rs->ops->commit(rs, err);
    } else if (rs) {
        rs->ops->abort(rs);
    }
    if (st == FERRY_OK && o.partition_count > 0)
        st = write_sidecar(dst, prefix, &o, &jobs[0], &((set_rs *)rs)->w[0], bounds[0], err);
    sum->seconds = ferry_now_monotonic() - t0;
    if (st == FERRY_OK && o_in->progress)
        o_in->progress(sum->bytes_read, sum->rows_read, -1, sum->seconds, o_in->progress_ud);

    for (int i = 0; jobs && i < count; i++) {
        if (jobs[i].filter)
            jobs[i].filter->ops->free(jobs[i].filter);
        if (jobs[i].source)
            jobs[i].source->ops->free(jobs[i].source);
        free(jobs[i].chunk);
    }
    for (int i = 0; i < count; i++) {
        if (sources && sources[i])
            sources[i]->ops->free(sources[i]);
        if (bounds)
            free(bounds[i]);
    }
    if (rs)
        rs->ops->free(rs);
    pthread_mutex_destroy(&shared.lock);
    free(jobs);
    free(sources);
    free(bounds);
    free(prefix);
    return st;
}
