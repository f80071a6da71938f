/*
 * gzip.c - the gzip and gunzip filters: writers that transform what they are
 * given and pass it on to next.  Each owns one fixed output buffer (zlib's
 * z_stream pattern: no allocation per chunk).  Compression goes through
 * ISA-L instead when the build has it (gzip_isal.c).  gunzip reads concatenated gzip
 * members as one stream, and a stream cut short is a data error at commit.
 */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "core/util.h"
#include "ferry/transfer.h"
#include "transfer/gzip_isal.h"

#define ZBUF_SIZE (256 * 1024)

typedef struct zfilter {
    ferry_writer base;      /* must be first */
    z_stream zs;
    int deflating;          /* 1 = gzip, 0 = gunzip */
    int initialised;
    int member_done;        /* gunzip: the last member ended cleanly */
    int saw_input;
    unsigned char out[ZBUF_SIZE];
} zfilter;

static ferry_status push_out(zfilter *f, ferry_error *err)
{
    size_t have = ZBUF_SIZE - f->zs.avail_out;
    if (have > 0) {
        ferry_status st = ferry_writer_write(f->base.next, f->out, have, err);
        if (st != FERRY_OK)
            return st;
    }
    f->zs.next_out = f->out;
    f->zs.avail_out = ZBUF_SIZE;
    return FERRY_OK;
}

static ferry_status gzip_write(ferry_writer *w, const void *buf, size_t len, ferry_error *err)
{
    zfilter *f = (zfilter *)w;
    const unsigned char *p = buf;
    while (len > 0) {
        uInt take = len > (1u << 30) ? (1u << 30) : (uInt)len;
        f->zs.next_in = (unsigned char *)p;
        f->zs.avail_in = take;
        while (f->zs.avail_in > 0) {
            int rc = deflate(&f->zs, Z_NO_FLUSH);
            if (rc != Z_OK && rc != Z_BUF_ERROR)
                return ferry_error_set(err, FERRY_ERR_INTERNAL, "gzip: deflate failed (%d)", rc);
            if (f->zs.avail_out == 0) {
                ferry_status st = push_out(f, err);
                if (st != FERRY_OK)
                    return st;
            }
        }
        p += take;
        len -= take;
    }
    return FERRY_OK;
}

static ferry_status gzip_commit(ferry_writer *w, ferry_error *err)
{
    zfilter *f = (zfilter *)w;
    f->zs.next_in = NULL;
    f->zs.avail_in = 0;
    for (;;) {
        int rc = deflate(&f->zs, Z_FINISH);
        if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR)
            return ferry_error_set(err, FERRY_ERR_INTERNAL, "gzip: deflate finish failed (%d)", rc);
        ferry_status st = push_out(f, err);
        if (st != FERRY_OK)
            return st;
        if (rc == Z_STREAM_END)
            break;
    }
    return w->next->ops->commit(w->next, err);
}

static ferry_status gunzip_write(ferry_writer *w, const void *buf, size_t len, ferry_error *err)
{
    zfilter *f = (zfilter *)w;
    const unsigned char *p = buf;
    if (len > 0)
        f->saw_input = 1;
    while (len > 0) {
        uInt take = len > (1u << 30) ? (1u << 30) : (uInt)len;
        f->zs.next_in = (unsigned char *)p;
        f->zs.avail_in = take;
        while (f->zs.avail_in > 0) {
            if (f->member_done) {
                /* another gzip member follows (concatenated members are one file) */
                if (inflateReset(&f->zs) != Z_OK)
                    return ferry_error_set(err, FERRY_ERR_INTERNAL, "gunzip: reset failed");
                f->member_done = 0;
            }
            int rc = inflate(&f->zs, Z_NO_FLUSH);
            if (rc == Z_STREAM_END)
                f->member_done = 1;
            else if (rc != Z_OK && rc != Z_BUF_ERROR)
                return ferry_error_set(err, FERRY_ERR_DATA, "gunzip: input is not valid gzip data (%s)",
                                       f->zs.msg ? f->zs.msg : "inflate error");
            if (f->zs.avail_out == 0 || f->member_done) {
                ferry_status st = push_out(f, err);
                if (st != FERRY_OK)
                    return st;
            } else if (rc == Z_BUF_ERROR && f->zs.avail_in > 0) {
                return ferry_error_set(err, FERRY_ERR_DATA, "gunzip: inflate made no progress");
            }
        }
        p += take;
        len -= take;
    }
    return FERRY_OK;
}

static ferry_status gunzip_commit(ferry_writer *w, ferry_error *err)
{
    zfilter *f = (zfilter *)w;
    ferry_status st = push_out(f, err);
    if (st != FERRY_OK)
        return st;
    if (!f->saw_input || !f->member_done)
        return ferry_error_set(err, FERRY_ERR_DATA, "gunzip: truncated gzip input (the stream ends inside a member)");
    return w->next->ops->commit(w->next, err);
}

static void zfilter_abort(ferry_writer *w)
{
    if (w->next)
        w->next->ops->abort(w->next);
}

static void zfilter_free(ferry_writer *w)
{
    zfilter *f = (zfilter *)w;
    if (!f)
        return;
    if (f->initialised) {
        if (f->deflating)
            deflateEnd(&f->zs);
        else
            inflateEnd(&f->zs);
    }
    free(f);
}

static const ferry_writer_ops gzip_ops = {"gzip", gzip_write, gzip_commit, zfilter_abort, zfilter_free};
static const ferry_writer_ops gunzip_ops = {"gunzip", gunzip_write, gunzip_commit, zfilter_abort, zfilter_free};

static zfilter *zfilter_new(const ferry_writer_ops *ops, ferry_writer *next)
{
    zfilter *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->base.ops = ops;
    f->base.next = next;
    f->base.rows = -1;
    f->zs.next_out = f->out;
    f->zs.avail_out = ZBUF_SIZE;
    return f;
}

ferry_status ferry_gzip_writer_new(ferry_writer *next, int level, ferry_writer **out, ferry_error *err)
{
#ifdef FERRY_HAVE_ISAL
    if (!getenv("FERRY_GZIP_ZLIB")) /* FERRY_GZIP_ZLIB=1 forces zlib (benchmarks, tests) */
        return ferry_isal_gzip_writer_new(next, level, out, err);
#endif
    zfilter *f = zfilter_new(&gzip_ops, next);
    if (!f)
        return ferry_error_oom(err, NULL, NULL, NULL);
    if (level < 1 || level > 9)
        level = 6;
    f->deflating = 1;
    if (deflateInit2(&f->zs, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        free(f);
        return ferry_error_set(err, FERRY_ERR_INTERNAL, "gzip: deflateInit2 failed");
    }
    f->initialised = 1;
    *out = &f->base;
    return FERRY_OK;
}

ferry_status ferry_gunzip_writer_new(ferry_writer *next, ferry_writer **out, ferry_error *err)
{
    zfilter *f = zfilter_new(&gunzip_ops, next);
    if (!f)
        return ferry_error_oom(err, NULL, NULL, NULL);
    if (inflateInit2(&f->zs, 15 + 16) != Z_OK) {
        free(f);
        return ferry_error_set(err, FERRY_ERR_INTERNAL, "gunzip: inflateInit2 failed");
    }
    f->initialised = 1;
    *out = &f->base;
    return FERRY_OK;
}
