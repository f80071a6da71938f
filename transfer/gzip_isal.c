/*
 * gzip_isal.c - the gzip filter on Intel's ISA-L (igzip) when the build has
 * it: the same gzip format as zlib's, 5-10x faster per core.  --compress-level
 * maps onto ISA-L's levels (1-3 -> 1, 4-6 -> 2, 7-9 -> 3, ferry_gzip_isal_level,
 * the same in parallel gzip; see docs/design.md); the output is a
 * standard single-member gzip stream that gzip(1) and zlib read.  Like the
 * zlib filter it owns one fixed output buffer and allocates nothing per chunk.
 */
#ifdef FERRY_HAVE_ISAL

#include <isa-l/igzip_lib.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "ferry/transfer.h"
#include "transfer/budget.h"
#include "transfer/gzip_isal.h"

#define ISAL_OUT_SIZE (256 * 1024)

typedef struct isal_filter {
    ferry_writer base;      /* must be first */
    struct isal_zstream zs;
    unsigned char *level_buf;
    unsigned char out[ISAL_OUT_SIZE];
} isal_filter;

static ferry_status isal_push(isal_filter *f, ferry_error *err)
{
    size_t have = ISAL_OUT_SIZE - f->zs.avail_out;
    if (have > 0) {
        ferry_status st = ferry_writer_write(f->base.next, f->out, have, err);
        if (st != FERRY_OK)
            return st;
    }
    f->zs.next_out = f->out;
    f->zs.avail_out = ISAL_OUT_SIZE;
    return FERRY_OK;
}

static ferry_status isal_write(ferry_writer *w, const void *buf, size_t len, ferry_error *err)
{
    isal_filter *f = (isal_filter *)w;
    const unsigned char *p = buf;
    while (len > 0) {
        uint32_t take = len > (1u << 30) ? (1u << 30) : (uint32_t)len;
        f->zs.next_in = (uint8_t *)p;
        f->zs.avail_in = take;
        while (f->zs.avail_in > 0) {
            if (isal_deflate(&f->zs) != COMP_OK)
                return ferry_error_set(err, FERRY_ERR_INTERNAL, "gzip (isa-l): deflate failed");
            if (f->zs.avail_out == 0) {
                ferry_status st = isal_push(f, err);
                if (st != FERRY_OK)
                    return st;
            }
        }
        p += take;
        len -= take;
    }
    return FERRY_OK;
}

static ferry_status isal_commit(ferry_writer *w, ferry_error *err)
{
    isal_filter *f = (isal_filter *)w;
    f->zs.end_of_stream = 1;
    f->zs.next_in = NULL;
    f->zs.avail_in = 0;
    while (f->zs.internal_state.state != ZSTATE_END) {
        if (isal_deflate(&f->zs) != COMP_OK)
            return ferry_error_set(err, FERRY_ERR_INTERNAL, "gzip (isa-l): deflate finish failed");
        ferry_status st = isal_push(f, err);
        if (st != FERRY_OK)
            return st;
    }
    ferry_status st = isal_push(f, err);
    if (st != FERRY_OK)
        return st;
    return w->next->ops->commit(w->next, err);
}

static void isal_abort(ferry_writer *w)
{
    if (w->next)
        w->next->ops->abort(w->next);
}

static void isal_free(ferry_writer *w)
{
    isal_filter *f = (isal_filter *)w;
    if (!f)
        return;
    free(f->level_buf);
    free(f);
}

static const ferry_writer_ops isal_ops = {"gzip", isal_write, isal_commit, isal_abort, isal_free};

ferry_status ferry_isal_gzip_writer_new(ferry_writer *next, int level, ferry_writer **out, ferry_error *err)
{
    isal_filter *f = calloc(1, sizeof *f);
    if (!f)
        return ferry_error_oom(err, NULL, NULL, NULL);
    isal_deflate_init(&f->zs);
    int isal_level = ferry_gzip_isal_level(level);
    size_t buf_size = isal_level == 1 ? ISAL_DEF_LVL1_DEFAULT : isal_level == 2 ? ISAL_DEF_LVL2_DEFAULT
                                                                                 : ISAL_DEF_LVL3_DEFAULT;
    f->level_buf = malloc(buf_size);
    if (!f->level_buf) {
        free(f);
        return ferry_error_oom(err, NULL, NULL, NULL);
    }
    f->zs.level = (uint32_t)isal_level;
    f->zs.level_buf = f->level_buf;
    f->zs.level_buf_size = (uint32_t)buf_size;
    f->zs.gzip_flag = IGZIP_GZIP;
    f->zs.flush = NO_FLUSH;
    f->zs.next_out = f->out;
    f->zs.avail_out = ISAL_OUT_SIZE;
    f->base.ops = &isal_ops;
    f->base.next = next;
    f->base.rows = -1;
    *out = &f->base;
    return FERRY_OK;
}

#endif
