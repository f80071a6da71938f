/*
 * hooks/s3/s3_parallel.c - the S3 ranged sink (ferry_ranged_sink): n
 * producers, one per range of a parallel copy, write one object through one
 * multipart upload; the engine is the plain sink's (s3_uploader.c).
 *
 * Range r numbers its parts r * block + 1 ... (block = 10000 / n; the last
 * number of the last block, n * block, is kept for the final part).  S3 wants
 * every part but the last to be >= 5 MiB, so a range's last part (its tail)
 * and, for r > 0, its first part (its head) are not uploaded while the range
 * is written: the head stays in the range's private slot, the tail is copied
 * out of its pool slot when the range commits.  At commit, tail(r-1) + head(r)
 * goes as part r * block + 1; a range that is only a head (smaller than one
 * part, possibly empty) is carried forward into the next junction; what is
 * carried after the last range is the final part.  Memory: the shared slots
 * plus up to two part buffers per range.
 */
#include <openssl/evp.h>
#include <pthread.h>
#include <unistd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/thread.h"
#include "ferry/log.h"
#include "ferry/stream.h"
#include "hooks/s3/s3_sink_internal.h"

typedef struct ferry_s3_ranged ferry_s3_ranged;

typedef struct ferry_s3_range {
    ferry_writer base;
    ferry_s3_ranged *rs;          /* borrowed: the owner */
    int r;
    ferry_s3_prod prod;
    unsigned char *tail;    /* owned: the range's last part, copied at its commit */
    size_t tail_len;
    int single;             /* the whole range is its head (or it is empty) */
    int committed;
} ferry_s3_range;

struct ferry_s3_ranged {
    ferry_ranged_sink base;
    ferry_s3_sink *s;             /* owned: the engine (its writer ops are not used) */
    ferry_s3_range *ranges;       /* owned, base.n */
    int block;
    int committed;
};

static ferry_status range_write(ferry_writer *w, const void *buf, size_t len, ferry_error *err)
{
    ferry_s3_range *rg = (ferry_s3_range *)w;
    ferry_s3_sink *s = rg->rs->s;
    if (ferry_s3_sink_failed(s))
        return ferry_s3_sink_repeat_failure(s, err);
    if (rg->committed)
        return ferry_error_set(err, FERRY_ERR_INTERNAL, "s3: write to range %d after its commit",
                               rg->r);
    return ferry_s3_prod_write(s, &rg->prod, buf, len, err);
}

static ferry_status range_commit(ferry_writer *w, ferry_error *err)
{
    ferry_s3_range *rg = (ferry_s3_range *)w;
    ferry_s3_sink *s = rg->rs->s;
    ferry_s3_prod *p = &rg->prod;
    if (ferry_s3_sink_failed(s))
        return ferry_s3_sink_repeat_failure(s, err);
    if (rg->committed)
        return ferry_error_set(err, FERRY_ERR_INTERNAL, "s3: range %d committed twice", rg->r);
    if (!p->cur || p->cur == &p->head) {
        rg->single = rg->r > 0 || !p->cur;  /* range 0 has no head: its only part is a tail */
        p->cur = NULL;
    } else {
        ferry_s3_slot *sl = p->cur;
        rg->tail = malloc(sl->len ? sl->len : 1);
        if (!rg->tail)
            return ferry_s3_sink_oom(s, err);
        memcpy(rg->tail, sl->buf, sl->len);
        rg->tail_len = sl->len;
        p->cur = NULL;
        ferry_s3_slot_set_state(s, sl, SLOT_FREE);
    }
    rg->committed = 1;
    ferry_log(FERRY_LOG_DEBUG, "s3: s3://%s/%s range %d complete: %lld bytes", s->bucket, s->key,
              rg->r, (long long)p->total);
    return FERRY_OK;
}

static void range_abort(ferry_writer *w)
{
    ferry_s3_range *rg = (ferry_s3_range *)w;
    ferry_s3_sink *s = rg->rs->s;
    ferry_error e;
    if (!rg->rs->committed)
        ferry_s3_sink_fail(s, ferry_error_hook(&e, FERRY_ERR_INTERRUPTED, "s3", s->c->cfg.conn_id,
                           "s3://%s/%s: range %d was aborted", s->bucket, s->key, rg->r),
                           &e);
}

static void range_free(ferry_writer *w)
{
    (void)w;   /* owned by the ranged sink */
}

static const ferry_writer_ops range_ops = {
    .name = "s3 range",
    .write = range_write,
    .commit = range_commit,
    .abort = range_abort,
    .free = range_free,
};

/* One part from a buffer, on the calling thread (the uploader is stopped). */
static ferry_status upload_part_sync(ferry_s3_sink *s, int number, const void *data, size_t len,
                                     ferry_error *err)
{
    if (!s->upload_id) {
        ferry_status st = ferry_s3_create_upload(s, err);
        if (st != FERRY_OK)
            return st;
    }
    ferry_s3_slot t;
    memset(&t, 0, sizeof t);
    t.buf = (unsigned char *)data;
    t.len = len;
    t.part = number;
    ferry_status st = ferry_s3_slot_hash(s, &t, 0, NULL, err);
    if (st == FERRY_OK) {
        ferry_s3_req r;
        memset(&r, 0, sizeof r);
        snprintf(t.part_str, sizeof t.part_str, "%d", number);
        r.op = "UploadPart";
        r.method = "PUT";
        r.bucket = s->bucket;
        r.key = s->key;
        ferry_s3_req_query(&r, "partNumber", t.part_str);
        ferry_s3_req_query(&r, "uploadId", s->upload_id);
        ferry_s3_checksum_header(s, &r, &t);
        r.body = data;
        r.body_len = len;
        r.payload_hash = t.sha_hex;
        st = ferry_s3_request(s->c, &s->ctl, &r, err);
        char hex[33];
        if (st == FERRY_OK && !s->ctl.etag[0])
            st = ferry_error_hook(err, FERRY_ERR_DATA, "s3", s->c->cfg.conn_id,
                                  "UploadPart s3://%s/%s part %d failed: the answer has no ETag",
                                  s->bucket, s->key, number);
        else if (st == FERRY_OK && s->checksum == CK_MD5 && ferry_s3_plain_md5_etag(s->ctl.etag, hex) &&
                 !s->ctl.sse_opaque && strcmp(hex, t.md5_hex) != 0)
            st = ferry_error_hook(err, FERRY_ERR_DATA, "s3", s->c->cfg.conn_id,
                                  "UploadPart s3://%s/%s part %d failed: ETag %s is not the MD5 "
                                  "%s of the data sent",
                                  s->bucket, s->key, number, s->ctl.etag, t.md5_hex);
        else if (st == FERRY_OK && (s->checksum != CK_MD5 || !ferry_s3_plain_md5_etag(s->ctl.etag, hex)))
            s->etags_plain = 0;
        if (st == FERRY_OK) {
            st = ferry_s3_parts_record(s, &t, s->ctl.etag, err);
            pthread_mutex_lock(&s->mu);
            s->parts_sent++;
            pthread_mutex_unlock(&s->mu);
            ferry_log(FERRY_LOG_DEBUG, "s3: s3://%s/%s part %d (%zu bytes, joins two ranges) "
                      "stored, ETag %s", s->bucket, s->key, number, len, s->ctl.etag);
        }
    }
    EVP_MD_CTX_free(t.md5);
    if (t.sha_live)
        ferry_sha256_cleanup(&t.sha);
    return st == FERRY_OK ? FERRY_OK : ferry_s3_sink_fail(s, st, err);
}

static ferry_writer *ranged_writer(ferry_ranged_sink *base, int r)
{
    ferry_s3_ranged *rs = (ferry_s3_ranged *)base;
    return r >= 0 && r < base->n ? &rs->ranges[r].base : NULL;
}

static ferry_status ranged_commit(ferry_ranged_sink *base, ferry_error *err)
{
    ferry_s3_ranged *rs = (ferry_s3_ranged *)base;
    ferry_s3_sink *s = rs->s;
    if (ferry_s3_sink_failed(s))
        return ferry_s3_sink_repeat_failure(s, err);
    if (rs->committed || s->aborted)
        return ferry_error_set(err, FERRY_ERR_INTERNAL, "s3: ranged commit after commit or abort");
    for (int r = 0; r < base->n; r++)
        if (!rs->ranges[r].committed)
            return ferry_error_hook(err, FERRY_ERR_INTERNAL, "s3", s->c->cfg.conn_id,
                                    "s3://%s/%s: range %d was not committed", s->bucket, s->key,
                                    r);
    ferry_s3_uploader_stop(s, 1);
    if (s->failed)
        return ferry_s3_sink_repeat_failure(s, err);
    /* the junctions, in order; carry = bytes not uploaded yet */
    ferry_buf carry = {0};
    int64_t total = 0;
    ferry_status st = FERRY_OK;
    for (int r = 0; r < base->n && st == FERRY_OK; r++) {
        ferry_s3_range *rg = &rs->ranges[r];
        total += rg->prod.total;
        if (ferry_cancelled()) {
            st = ferry_s3_sink_fail(s, ferry_error_hook(err, FERRY_ERR_INTERRUPTED, "s3", s->c->cfg.conn_id,
                                    "s3://%s/%s: interrupted", s->bucket, s->key),
                                    err);
            break;
        }
        if (r > 0 && rg->single) {
            if (ferry_buf_append(&carry, rg->prod.head.buf ? (const char *)rg->prod.head.buf : "",
                              rg->prod.head.len))
                st = ferry_s3_sink_oom(s, err);
        } else if (r > 0) {
            if (ferry_buf_append(&carry, rg->prod.head.buf, rg->prod.head.len)) {
                st = ferry_s3_sink_oom(s, err);
                break;
            }
            st = upload_part_sync(s, rg->prod.first_part, carry.data, carry.len, err);
            ferry_buf_reset(&carry);
        }
        if (st == FERRY_OK && rg->tail && ferry_buf_append(&carry, rg->tail, rg->tail_len))
            st = ferry_s3_sink_oom(s, err);
        free(rg->tail);
        rg->tail = NULL;
        if (rg->prod.head.buf && r > 0) {
            free(rg->prod.head.buf);
            rg->prod.head.buf = NULL;
            rg->prod.head.cap = 0;
        }
    }
    char etag[128] = "", want[48] = "";
    if (st == FERRY_OK && !s->upload_id) {
        /* nothing uploaded yet: everything fits one PutObject */
        ferry_s3_slot one;
        memset(&one, 0, sizeof one);
        one.buf = (unsigned char *)(carry.data ? carry.data : "");
        one.len = carry.len;
        st = ferry_s3_put_single(s, &one, err);
        EVP_MD_CTX_free(one.md5);
    } else if (st == FERRY_OK) {
        if (carry.len > 0)
            st = upload_part_sync(s, base->n * rs->block, carry.data, carry.len, err);
        if (st == FERRY_OK)
            st = ferry_s3_complete_and_forget(s, etag, sizeof etag, want, sizeof want, err);
    }
    ferry_buf_release(&carry);
    if (st == FERRY_OK)
        st = ferry_s3_verify_committed(s, total, etag, want, err);
    if (st != FERRY_OK)
        return ferry_s3_sink_fail(s, st, err);
    ferry_log(FERRY_LOG_DEBUG, "s3: s3://%s/%s completed from %d ranges, %d parts, %lld bytes",
              s->bucket, s->key, base->n, s->parts_count, (long long)total);
    rs->committed = 1;
    s->committed = 1;
    return FERRY_OK;
}

static void ranged_abort(ferry_ranged_sink *base)
{
    ferry_s3_ranged *rs = (ferry_s3_ranged *)base;
    if (!rs->committed)
        ferry_s3_sink_abort(&rs->s->base);
}

static void ranged_free(ferry_ranged_sink *base)
{
    ferry_s3_ranged *rs = (ferry_s3_ranged *)base;
    if (!rs)
        return;
    if (rs->s && !rs->committed)
        ferry_s3_sink_abort(&rs->s->base);
    for (int r = 0; rs->ranges && r < base->n; r++) {
        free(rs->ranges[r].tail);
        free(rs->ranges[r].prod.head.buf);
    }
    free(rs->ranges);
    if (rs->s)
        ferry_s3_sink_free(&rs->s->base);
    free(rs);
}

static const ferry_ranged_sink_ops ranged_ops = {
    .name = "s3",
    .writer = ranged_writer,
    .commit = ranged_commit,
    .abort = ranged_abort,
    .free = ranged_free,
};

ferry_status ferry_s3_open_ranged_sink(const ferry_endpoint *ep, const ferry_copy_options *o, int n,
                                       ferry_ranged_sink **out, ferry_error *err)
{
    *out = NULL;
    if (n < 1 || n > S3_MAX_PARTS / 2)
        return ferry_error_hook(err, FERRY_ERR_USAGE, "s3", ferry_s3_conn_id(ep->conn),
                                "%d ranges: an S3 object can take 1 to %d", n, S3_MAX_PARTS / 2);
    ferry_s3_ranged *rs = calloc(1, sizeof *rs);
    if (!rs)
        return ferry_error_oom(err, "s3", NULL, NULL);
    rs->base.ops = &ranged_ops;
    rs->base.n = n;
    rs->block = S3_MAX_PARTS / n;
    ferry_writer *w = NULL;
    ferry_copy_options o2;
    if (o) {
        o2 = *o;
        o2.resume_file = NULL;   /* --resume is for the plain sink only */
    }
    ferry_status st = ferry_s3_open_sink(ep, o ? &o2 : NULL, &w, err);
    if (st != FERRY_OK) {
        free(rs);
        return st;
    }
    rs->s = (ferry_s3_sink *)w;
    rs->ranges = calloc((size_t)n, sizeof *rs->ranges);
    if (!rs->ranges) {
        ranged_free(&rs->base);
        return ferry_error_oom(err, "s3", NULL, NULL);
    }
    for (int r = 0; r < n; r++) {
        ferry_s3_range *rg = &rs->ranges[r];
        rg->base.ops = &range_ops;
        rg->base.rows = -1;
        rg->rs = rs;
        rg->r = r;
        rg->prod.first_part = r * rs->block + 1;
        rg->prod.max_local = rs->block - 2;   /* n * block is the final part's */
        rg->prod.hold_head = r > 0;
    }
    ferry_log(FERRY_LOG_DEBUG, "s3: s3://%s/%s written as %d ranges of up to %d parts each",
              rs->s->bucket, rs->s->key, n, rs->block - 1);
    *out = &rs->base;
    return FERRY_OK;
}
