/*
 * transfer/parallel_spool.c - the spool fallback ranged sink of a parallel
 * copy, for every sink whose hook has no open_ranged_sink: range 0 streams
 * straight to the sink, ranges 1..N-1 go to anonymous temp files in TMPDIR
 * (O_EXCL, 0600, unlinked at once) appended in order at the end.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ferry/log.h"
#include "transfer/parallel.h"
#include "core/util.h"

typedef struct spool_rs spool_rs;

typedef struct spool_writer {
    ferry_writer base;
    spool_rs *rs;
    int r;
    int fd;             /* owned (r > 0): the anonymous temp file */
    int committed;
} spool_writer;

struct spool_rs {
    ferry_ranged_sink base;
    ferry_writer *sink;     /* owned: the real destination */
    spool_writer *w;        /* owned: n writers */
    size_t chunk_size;
};

static ferry_status sw_write(ferry_writer *w, const void *buf, size_t len, ferry_error *err)
{
    spool_writer *sw = (spool_writer *)w;
    if (sw->r == 0)
        return ferry_writer_write(sw->rs->sink, buf, len, err);
    const char *p = buf;
    while (len > 0) {
        ssize_t n = write(sw->fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return ferry_error_set(err, FERRY_ERR_IO, "parallel: spooling range %d to TMPDIR failed: %s", sw->r,
                                   strerror(errno));
        p += n;
        len -= (size_t)n;
    }
    return FERRY_OK;
}

static ferry_status sw_commit(ferry_writer *w, ferry_error *err)
{
    (void)err;
    ((spool_writer *)w)->committed = 1;
    return FERRY_OK;
}

void ferry_parallel_writer_nop(ferry_writer *w) { (void)w; }

static const ferry_writer_ops spool_writer_ops = {"parallel-spool", sw_write, sw_commit,
                                                  ferry_parallel_writer_nop, ferry_parallel_writer_nop};

static ferry_writer *srs_writer(ferry_ranged_sink *rs, int r)
{
    return &((spool_rs *)rs)->w[r].base;
}

static ferry_status srs_commit(ferry_ranged_sink *base, ferry_error *err)
{
    spool_rs *rs = (spool_rs *)base;
    ferry_status st = FERRY_OK;
    for (int r = 0; r < base->n && st == FERRY_OK; r++)
        if (!rs->w[r].committed)
            st = ferry_error_set(err, FERRY_ERR_INTERNAL, "parallel: range %d not complete", r);
    char *buf = st == FERRY_OK ? malloc(rs->chunk_size) : NULL; /* owned: free */
    if (st == FERRY_OK && !buf)
        st = ferry_error_oom(err, NULL, NULL, NULL);
    for (int r = 1; r < base->n && st == FERRY_OK; r++) {
        int fd = rs->w[r].fd;
        if (lseek(fd, 0, SEEK_SET) != 0)
            st = ferry_error_set(err, FERRY_ERR_IO, "parallel: rewinding range %d: %s", r, strerror(errno));
        while (st == FERRY_OK) {
            if (ferry_cancelled()) {
                st = ferry_error_set(err, FERRY_ERR_INTERRUPTED, "interrupted by signal %d: aborted, destination untouched",
                                     ferry_cancel_signal());
                break;
            }
            ssize_t n = read(fd, buf, rs->chunk_size);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0)
                st = ferry_error_set(err, FERRY_ERR_IO, "parallel: reading range %d back: %s", r, strerror(errno));
            else if (n == 0)
                break;
            else
                st = ferry_writer_write(rs->sink, buf, (size_t)n, err);
        }
        close(fd); /* the disk space goes back at once */
        rs->w[r].fd = -1;
    }
    free(buf);
    if (st == FERRY_OK)
        st = rs->sink->ops->commit(rs->sink, err);
    if (st != FERRY_OK)
        rs->sink->ops->abort(rs->sink);
    return st;
}

static void srs_abort(ferry_ranged_sink *base)
{
    spool_rs *rs = (spool_rs *)base;
    rs->sink->ops->abort(rs->sink);
}

static void srs_free(ferry_ranged_sink *base)
{
    spool_rs *rs = (spool_rs *)base;
    if (!rs)
        return;
    for (int r = 0; rs->w && r < base->n; r++)
        if (rs->w[r].fd >= 0)
            close(rs->w[r].fd);
    if (rs->sink)
        rs->sink->ops->free(rs->sink);
    free(rs->w);
    free(rs);
}

static const ferry_ranged_sink_ops spool_rs_ops = {"parallel-spool", srs_writer, srs_commit, srs_abort, srs_free};

/* An anonymous temp file in $TMPDIR (ferry_tmpfile: O_EXCL, mode 0600,
 * unlinked at once), or -1 with err set. */
static int temp_file(ferry_error *err)
{
    int fd = ferry_tmpfile(NULL, "ferry-range-", NULL);
    if (fd < 0) {
        const char *dir = getenv("TMPDIR");
        ferry_error_set(err, FERRY_ERR_IO, "parallel: cannot create a temp file in %s: %s",
                        dir && *dir ? dir : "/tmp", strerror(errno));
        return -1;
    }
    return fd;
}

ferry_status ferry_parallel_spool_new(ferry_endpoint *dst, const ferry_copy_options *o, int n,
                                      ferry_ranged_sink **out, ferry_error *err)
{
    *out = NULL;
    spool_rs *rs = calloc(1, sizeof *rs);
    if (!rs || !(rs->w = calloc((size_t)n, sizeof *rs->w))) {
        free(rs);
        return ferry_error_oom(err, NULL, NULL, NULL);
    }
    rs->base.ops = &spool_rs_ops;
    rs->base.n = n;
    rs->chunk_size = o->chunk_size ? o->chunk_size : 1024 * 1024;
    for (int r = 0; r < n; r++) {
        rs->w[r].base.ops = &spool_writer_ops;
        rs->w[r].base.rows = -1;
        rs->w[r].rs = rs;
        rs->w[r].r = r;
        rs->w[r].fd = -1;
    }
    ferry_status st = dst->hook->open_sink(dst, o, &rs->sink, err);
    for (int r = 1; r < n && st == FERRY_OK; r++)
        if ((rs->w[r].fd = temp_file(err)) < 0)
            st = err ? err->status : FERRY_ERR_IO;
    if (st != FERRY_OK) {
        if (rs->sink)
            rs->sink->ops->abort(rs->sink);
        srs_free(&rs->base);
        return st;
    }
    *out = &rs->base;
    return FERRY_OK;
}
