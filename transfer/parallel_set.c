/*
 * transfer/parallel_set.c - the set ranged sink of a parallel copy, for
 * --split-output and --partition: one sink per range (DEST/part-00000.csv
 * ...), each committed only once all ranges are complete; if a commit fails,
 * the parts already committed are removed.  The part names.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "ferry/log.h"
#include "transfer/parallel.h"
#include "core/util.h"
#include "core/encode.h"

static ferry_status setw_write(ferry_writer *w, const void *buf, size_t len, ferry_error *err)
{
    set_writer *sw = (set_writer *)w;
    if (EVP_DigestUpdate(sw->md, buf, len) != 1)
        return ferry_error_set(err, FERRY_ERR_INTERNAL, "parallel: sha256 failed");
    return ferry_writer_write(sw->sink, buf, len, err);
}

static ferry_status setw_commit(ferry_writer *w, ferry_error *err)
{
    set_writer *sw = (set_writer *)w;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (EVP_DigestFinal_ex(sw->md, md, &mdlen) != 1 || mdlen != 32)
        return ferry_error_set(err, FERRY_ERR_INTERNAL, "parallel: sha256 failed");
    ferry_hex_encode(md, mdlen, sw->sha256);
    sw->complete = 1;
    return FERRY_OK;
}

static const ferry_writer_ops set_writer_ops = {"parallel-part", setw_write, setw_commit,
                                                ferry_parallel_writer_nop, ferry_parallel_writer_nop};

static ferry_writer *setrs_writer(ferry_ranged_sink *rs, int r)
{
    return &((set_rs *)rs)->w[r].base;
}

/* Commit every part in order; if one fails, remove the ones already
 * committed so that no partial set is left. */
static ferry_status setrs_commit(ferry_ranged_sink *base, ferry_error *err)
{
    set_rs *rs = (set_rs *)base;
    ferry_status st = FERRY_OK;
    for (int i = 0; i < base->n && st == FERRY_OK; i++)
        if (!rs->w[i].complete)
            st = ferry_error_set(err, FERRY_ERR_INTERNAL, "parallel: range %d not complete", i);
    for (int i = 0; i < base->n && st == FERRY_OK; i++) {
        st = rs->w[i].sink->ops->commit(rs->w[i].sink, err);
        if (st == FERRY_OK)
            rs->w[i].committed = 1;
    }
    if (st != FERRY_OK) {
        for (int i = 0; i < base->n; i++) {
            set_writer *sw = &rs->w[i];
            if (!sw->committed) {
                sw->sink->ops->abort(sw->sink);
            } else if (sw->ep->hook->remove) {
                ferry_error ignored;
                ferry_error_clear(&ignored);
                if (sw->ep->hook->remove(sw->ep, &ignored) != FERRY_OK)
                    ferry_log(FERRY_LOG_WARN, "parallel: could not remove part %d after the failure: %s", i,
                              ignored.msg);
                sw->committed = 0;
            }
        }
    }
    return st;
}

static void setrs_abort(ferry_ranged_sink *base)
{
    set_rs *rs = (set_rs *)base;
    for (int i = 0; i < base->n; i++)
        if (rs->w[i].sink && !rs->w[i].committed)
            rs->w[i].sink->ops->abort(rs->w[i].sink);
}

static void setrs_free(ferry_ranged_sink *base)
{
    set_rs *rs = (set_rs *)base;
    if (!rs)
        return;
    for (int i = 0; rs->w && i < base->n; i++) {
        if (rs->w[i].sink)
            rs->w[i].sink->ops->free(rs->w[i].sink);
        ferry_endpoint_free(rs->w[i].ep);
        EVP_MD_CTX_free(rs->w[i].md);
    }
    free(rs->w);
    free(rs);
}

static const ferry_ranged_sink_ops set_rs_ops = {"parallel-parts", setrs_writer, setrs_commit, setrs_abort,
                                                 setrs_free};

void ferry_parallel_part_name(const ferry_copy_options *o, int r, const char *ext, char *out, size_t cap)
{
    if (o->partition_count > 0)
        snprintf(out, cap, "part-%05d-of-%05d%s", r, o->partition_count, ext);
    else
        snprintf(out, cap, "part-%05d%s", r, ext);
}

ferry_status ferry_parallel_set_new(ferry_endpoint *dst, const char *prefix, const ferry_copy_options *o,
                                    int first, int count, ferry_ranged_sink **out, ferry_error *err)
{
    *out = NULL;
    set_rs *rs = calloc(1, sizeof *rs);
    if (!rs || !(rs->w = calloc((size_t)count, sizeof *rs->w))) {
        free(rs);
        return ferry_error_oom(err, NULL, NULL, NULL);
    }
    rs->base.ops = &set_rs_ops;
    rs->base.n = count;
    char ext[32];
    ferry_parallel_ext(o->format, dst->compress, ext, sizeof ext);
    ferry_status st = FERRY_OK;
    for (int i = 0; i < count && st == FERRY_OK; i++) {
        set_writer *sw = &rs->w[i];
        sw->base.ops = &set_writer_ops;
        sw->base.rows = -1;
        sw->rs = rs;
        sw->i = i;
        char name[64];
        ferry_parallel_part_name(o, first + i, ext, name, sizeof name);
        size_t len = strlen(prefix) + strlen(name) + 2;
        char *text = malloc(len); /* owned: free */
        if (!text || !(sw->md = EVP_MD_CTX_new()) || EVP_DigestInit_ex(sw->md, EVP_sha256(), NULL) != 1) {
            free(text);
            st = ferry_error_oom(err, NULL, NULL, NULL);
            break;
        }
        snprintf(text, len, "%s/%s", prefix, name);
        st = ferry_endpoint_parse(text, o, 1, &sw->ep, err);
        free(text);
        if (st == FERRY_OK && !o->replace && sw->ep->hook->stat) {
            ferry_entry e;
            ferry_error probe;
            ferry_error_clear(&probe);
            if (sw->ep->hook->stat(sw->ep, &e, &probe) == FERRY_OK) {
                char shown[1024];
                st = ferry_error_set(err, FERRY_ERR_EXISTS, "%s: destination exists (use --replace to replace it)",
                                     ferry_endpoint_display(sw->ep, shown, sizeof shown));
            }
        }
        if (st == FERRY_OK)
            st = sw->ep->hook->open_sink(sw->ep, o, &sw->sink, err);
    }
    if (st != FERRY_OK) {
        setrs_abort(&rs->base);
        setrs_free(&rs->base);
        return st;
    }
    *out = &rs->base;
    return FERRY_OK;
}
