/*
 * hooks/s3/s3_sink.c - the S3 writer: a stream of unknown length becomes one
 * object, published atomically.  Open (with the preflight HEAD), write,
 * commit, abort and free of the plain sink; the parts travel through the
 * slot ring and uploader thread of s3_uploader.c.
 *
 * The object appears only at commit: data that fits one part goes as a
 * single PutObject (on the producer's thread, no uploader started), anything
 * larger as CompleteMultipartUpload (after the uploader drained and stopped);
 * without --replace both carry If-None-Match: * and the object is HEADed at
 * open time.  A final HEAD checks the object's size is the number of bytes
 * written (else FERRY_ERR_DATA and the object is deleted).  abort() stops the
 * uploader (which finishes a CreateMultipartUpload in flight first), cancels
 * the parts in flight and sends AbortMultipartUpload (then checks the upload
 * is gone), also when a signal interrupted the copy; when a Create got no
 * answer it lists the key's uploads again and aborts what that Create may
 * have started (s3_orphans.c).
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

static ferry_status sink_write(ferry_writer *w, const void *buf, size_t len, ferry_error *err)
{
    ferry_s3_sink *s = (ferry_s3_sink *)w;
    if (ferry_s3_sink_failed(s))
        return ferry_s3_sink_repeat_failure(s, err);
    if (s->committed || s->aborted)
        return ferry_error_set(err, FERRY_ERR_INTERNAL, "s3: write after commit or abort");
    return ferry_s3_prod_write(s, &s->prod, buf, len, err);
}

/* ---- commit ----------------------------------------------------------------------------- */

/* PutObject of one buffer (sl NULL = empty object), on the caller's thread. */
ferry_status ferry_s3_put_single(ferry_s3_sink *s, ferry_s3_slot *sl, ferry_error *err)
{
    static const unsigned char empty = 0;
    ferry_s3_slot none;
    if (!sl) {
        memset(&none, 0, sizeof none);
        none.buf = (unsigned char *)&empty;
        sl = &none;
    }
    ferry_status st = ferry_s3_slot_hash(s, sl, 0, NULL, err);
    if (st != FERRY_OK) {
        if (sl == &none) {
            EVP_MD_CTX_free(none.md5);
            if (none.sha_live)
                ferry_sha256_cleanup(&none.sha);
        }
        return st;
    }
    ferry_s3_req r;
    memset(&r, 0, sizeof r);
    r.op = "PutObject";
    r.method = "PUT";
    r.bucket = s->bucket;
    r.key = s->key;
    r.body = sl->buf;
    r.body_len = sl->len;
    r.payload_hash = sl->sha_hex;
    ferry_s3_checksum_header(s, &r, sl);
    if (!s->replace)
        ferry_s3_req_header(&r, "If-None-Match", "*");
    r.xheaders = s->attrs.kv[FERRY_S3_PUT_OBJECT];
    r.nxheaders = s->attrs.nkv[FERRY_S3_PUT_OBJECT];
    st = ferry_s3_request(s->c, &s->ctl, &r, err);
    char md5_hex[33];
    memcpy(md5_hex, sl->md5_hex, sizeof md5_hex);
    if (sl == &none)
        EVP_MD_CTX_free(none.md5);
    if (st == FERRY_ERR_EXISTS)
        ferry_error_hook(err, st, "s3", s->c->cfg.conn_id,
                         "PutObject s3://%s/%s failed: it already exists (use --replace to "
                         "overwrite it)", s->bucket, s->key);
    if (st != FERRY_OK) {
        ferry_s3_put_attrs_hint(&s->attrs, s->ctl.s3_code, err);
        return ferry_s3_sink_fail(s, st, err);
    }
    char hex[33];
    if (md5_hex[0] && ferry_s3_plain_md5_etag(s->ctl.etag, hex) && !s->ctl.sse_opaque &&
        strcmp(hex, md5_hex) != 0)
        ferry_log(FERRY_LOG_WARN, "s3(%s): PutObject s3://%s/%s: ETag %s is not the MD5 %s",
                  s->c->cfg.conn_id, s->bucket, s->key, s->ctl.etag, md5_hex);
    return FERRY_OK;
}

/* The multipart ETag S3 computes: MD5 of the parts' binary MD5s, "-N". */
static void expected_etag(const ferry_s3_sink *s, char *out, size_t cap)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char md[16];
    unsigned int n = 0;
    char hex[33];
    out[0] = '\0';
    if (!ctx)
        return;
    if (EVP_DigestInit_ex(ctx, EVP_md5(), NULL) == 1) {
        for (int i = 0; i < s->parts_max; i++)
            if (s->parts[i].etag[0])
                EVP_DigestUpdate(ctx, s->parts[i].md5, 16);
        if (EVP_DigestFinal_ex(ctx, md, &n) == 1 && n == 16) {
            ferry_hex_encode(md, 16, hex);
            snprintf(out, cap, "\"%s-%d\"", hex, s->parts_count);
        }
    }
    EVP_MD_CTX_free(ctx);
}

/* Compare the completed object's ETag (from the answer, else from the final
 * HEAD: radosgw answers Complete with an empty <ETag>) with the one its parts
 * imply.  Warns only: each part was verified on its own, and the final HEAD
 * checks the size. */
static void verify_etag(ferry_s3_sink *s, const char *etag, const char *head_etag, const char *want)
{
    if (!s->etags_plain || !want[0])
        return;
    const char *got = etag[0] ? etag : head_etag;
    if (got[0] && strcmp(got, want) != 0)
        ferry_log(FERRY_LOG_WARN, "s3(%s): CompleteMultipartUpload s3://%s/%s: ETag %s, expected %s",
                  s->c->cfg.conn_id, s->bucket, s->key, got, want);
}

static ferry_status complete_body(ferry_s3_sink *s, ferry_buf *xml, ferry_error *err)
{
    int rc = ferry_buf_appends(xml, "<CompleteMultipartUpload "
                                 "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">");
    for (int i = 0; i < s->parts_max; i++) {
        if (!s->parts[i].etag[0])
            continue;       /* ranged uploads number their parts in blocks */
        rc |= ferry_buf_appendf(xml, "<Part><PartNumber>%d</PartNumber><ETag>", i + 1);
        rc |= ferry_s3_xml_escape(xml, s->parts[i].etag, strlen(s->parts[i].etag));
        rc |= ferry_buf_appends(xml, "</ETag>");
        if (s->checksum == CK_CRC32C)
            rc |= ferry_buf_appendf(xml, "<ChecksumCRC32C>%s</ChecksumCRC32C>", s->parts[i].crc_b64);
        rc |= ferry_buf_appends(xml, "</Part>");
    }
    rc |= ferry_buf_appends(xml, "</CompleteMultipartUpload>");
    return rc ? ferry_s3_sink_oom(s, err) : FERRY_OK;
}

static ferry_status complete_upload(ferry_s3_sink *s, char *etag_out, size_t etag_cap, const char *want,
                                    ferry_error *err)
{
    char t[S3_MAX_KEY_LEN + 80];
    ferry_s3_sink_target(s, t, sizeof t);
    if (s->parts_count != s->parts_sent)
        return ferry_s3_sink_fail(s, ferry_error_hook(err, FERRY_ERR_INTERNAL, "s3", s->c->cfg.conn_id,
                                  "CompleteMultipartUpload %s: %d parts were sent, %d "
                                  "stored", t, s->parts_sent, s->parts_count),
                                  err);
    ferry_buf xml = {0};
    ferry_status st = complete_body(s, &xml, err);
    if (st != FERRY_OK)
        return st;

    ferry_s3_req r;
    memset(&r, 0, sizeof r);
    r.op = "CompleteMultipartUpload";
    r.method = "POST";
    r.bucket = s->bucket;
    r.key = s->key;
    r.body = xml.data;
    r.body_len = xml.len;
    r.no_retry = 1;          /* retried here: a 200 may carry an <Error> */
    ferry_s3_req_query(&r, "uploadId", s->upload_id);
    if (!s->replace)
        ferry_s3_req_header(&r, "If-None-Match", "*");
    ferry_s3_req_header(&r, "Content-Type", "application/xml");

    if (!s->replace) {
        /* radosgw accepts If-None-Match on CompleteMultipartUpload but ignores
         * it (AWS enforces it): look again right before publishing */
        int exists = 0;
        st = ferry_s3_head_object(s->c, &s->ctl, s->bucket, s->key, &exists, err);
        if (st == FERRY_ERR_CONNECT && s->ctl.status == 403) {
            ferry_error_clear(err);
            st = FERRY_OK;
        }
        if (st == FERRY_OK && exists)
            st = ferry_error_hook(err, FERRY_ERR_EXISTS, "s3", s->c->cfg.conn_id,
                                  "%s appeared during the upload (use --replace to overwrite it)",
                                  t);
        if (st != FERRY_OK) {
            ferry_buf_release(&xml);
            return ferry_s3_sink_fail(s, st, err);
        }
    }

    ferry_retry rt;
    ferry_retry_init(&rt, s->c->max_attempts);
    for (int attempt = 1;; attempt++) {
        st = ferry_s3_request(s->c, &s->ctl, &r, err);
        if (st == FERRY_OK) {
            ferry_s3_error_doc doc;
            char etag[128];
            int found = ferry_s3_xml_find(s->ctl.resp.data, s->ctl.resp.len, "/ETag", etag, sizeof etag,
                                          &doc);
            if (doc.found) {
                int transient = 0;
                st = ferry_s3_error_status(200, doc.code, &transient);
                char detail[700];
                ferry_s3_error_detail(200, NULL, 0, &doc, detail, sizeof detail);
                ferry_error_hook(err, st, "s3", s->c->cfg.conn_id,
                                 "CompleteMultipartUpload %s failed: %s", t, detail);
                if (transient)
                    ferry_error_transient(err);
            } else if (found != 1) {
                char shown[160];
                ferry_s3_printable(s->ctl.resp.data ? s->ctl.resp.data : "", s->ctl.resp.len, shown,
                                   sizeof shown);
                st = ferry_error_hook(err, FERRY_ERR_DATA, "s3", s->c->cfg.conn_id,
                                      "CompleteMultipartUpload %s failed: unexpected answer '%s'",
                                      t, shown);
                ferry_error_transient(err);
            } else {
                snprintf(etag_out, etag_cap, "%s", etag);
                break;
            }
        } else if (st == FERRY_ERR_NOT_FOUND && attempt > 1 && want[0]) {
            /* an earlier attempt may have completed it and lost the answer */
            int exists = 0;
            ferry_error e2;
            if (ferry_s3_head_object(s->c, &s->ctl, s->bucket, s->key, &exists, &e2) == FERRY_OK &&
                exists && strcmp(s->ctl.etag, want) == 0) {
                st = FERRY_OK;
                break;
            }
        }
        if (st == FERRY_ERR_EXISTS)
            ferry_error_hook(err, st, "s3", s->c->cfg.conn_id,
                             "CompleteMultipartUpload %s failed: it already exists (use --replace "
                             "to overwrite it)", t);
        if (st == FERRY_OK)
            break;
        if (!err->transient)
            break;
        if (ferry_cancelled()) {
            st = ferry_error_hook(err, FERRY_ERR_INTERRUPTED, "s3", s->c->cfg.conn_id,
                                  "CompleteMultipartUpload %s interrupted", t);
            break;
        }
        if (!ferry_retry_again(&rt, err)) {
            st = err->status;
            break;
        }
    }
    ferry_buf_release(&xml);
    if (st != FERRY_OK)
        return ferry_s3_sink_fail(s, st, err);
    ferry_log(FERRY_LOG_DEBUG, "s3: %s completed from %d parts", t, s->parts_count);
    return FERRY_OK;
}

/* The final check: the published object must be as long as what was written.
 * A mismatch deletes the object (it is not what the source produced) and
 * fails with FERRY_ERR_DATA.  head_etag gets the ETag HEAD saw. */
static ferry_status verify_size(ferry_s3_sink *s, int64_t total, char *head_etag, size_t cap,
                                ferry_error *err)
{
    int exists = 0;
    char t[S3_MAX_KEY_LEN + 80];
    ferry_s3_sink_target(s, t, sizeof t);
    head_etag[0] = '\0';
    ferry_status st = ferry_s3_head_object(s->c, &s->ctl, s->bucket, s->key, &exists, err);
    if (st == FERRY_ERR_CONNECT && s->ctl.status == 403) {
        ferry_log(FERRY_LOG_DEBUG, "%s (cannot check the size of the object)", err->msg);
        ferry_error_clear(err);
        return FERRY_OK;
    }
    if (st != FERRY_OK)
        return st;
    if (!exists)
        return ferry_error_hook(err, FERRY_ERR_DATA, "s3", s->c->cfg.conn_id,
                                "HeadObject %s: the object is missing right after it was "
                                "completed", t);
    snprintf(head_etag, cap, "%s", s->ctl.etag);
    if (s->ctl.content_length == total)
        return FERRY_OK;
    ferry_status bad = ferry_error_hook(err, FERRY_ERR_DATA, "s3", s->c->cfg.conn_id,
                                        "HeadObject %s: the object has %lld bytes, %lld were "
                                        "written; deleting it", t,
                                        (long long)s->ctl.content_length, (long long)total);
    const char *keys[1] = {s->key};
    ferry_error e;
    ferry_error_clear(&e);
    if (ferry_s3_client_delete_objects(s->c, s->bucket, keys, 1, NULL, &e) != FERRY_OK)
        ferry_log(FERRY_LOG_ERROR, "%s; the wrong object %s is left in place", e.msg, t);
    return bad;
}

/* CompleteMultipartUpload (want: the MD5-of-MD5s ETag when parts carried
 * Content-MD5, else ""), then forget the upload id so abort leaves the object
 * alone.  Shared by the plain and the ranged commit. */
ferry_status ferry_s3_complete_and_forget(ferry_s3_sink *s, char *etag, size_t etag_cap, char *want, size_t want_cap,
                                          ferry_error *err)
{
    if (s->checksum == CK_MD5)
        expected_etag(s, want, want_cap);
    ferry_status st = complete_upload(s, etag, etag_cap, want, err);
    if (st == FERRY_OK) {
        free(s->upload_id);
        s->upload_id = NULL;
    }
    return st;
}

/* After a commit: the final HEAD checks the size (FERRY_ERR_DATA and the
 * object deleted when it differs) and, with want, compares the ETags. */
ferry_status ferry_s3_verify_committed(ferry_s3_sink *s, int64_t total, const char *etag, const char *want,
                                       ferry_error *err)
{
    char head_etag[128] = "";
    ferry_status st = verify_size(s, total, head_etag, sizeof head_etag, err);
    if (st == FERRY_OK && want[0])
        verify_etag(s, etag, head_etag, want);
    return st;
}

static ferry_status sink_commit(ferry_writer *w, ferry_error *err)
{
    ferry_s3_sink *s = (ferry_s3_sink *)w;
    if (ferry_s3_sink_failed(s))
        return ferry_s3_sink_repeat_failure(s, err);
    if (s->committed || s->aborted)
        return ferry_error_set(err, FERRY_ERR_INTERNAL, "s3: commit after commit or abort");
    ferry_status st;
    char etag[128] = "", want[48] = "";
    ferry_s3_prod *p = &s->prod;
    if (!s->thread_live && !s->upload_id) {
        st = ferry_s3_put_single(s, p->cur, err);     /* at most one part: nothing was handed off */
    } else {
        if (p->cur && p->cur->len > 0) {
            st = ferry_s3_hand_off(s, p, err);
            if (st != FERRY_OK)
                return st;
        } else if (p->cur) {
            ferry_s3_slot_set_state(s, p->cur, SLOT_FREE);   /* opened for a part that never came */
            p->cur = NULL;
            p->next_local--;
        }
        ferry_s3_uploader_stop(s, 1);
        if (s->failed)
            return ferry_s3_sink_repeat_failure(s, err);
        if (ferry_cancelled())
            return ferry_s3_sink_fail(s, ferry_error_hook(err, FERRY_ERR_INTERRUPTED, "s3", s->c->cfg.conn_id,
                                      "CompleteMultipartUpload s3://%s/%s interrupted",
                                      s->bucket, s->key),
                                      err);
        st = ferry_s3_complete_and_forget(s, etag, sizeof etag, want, sizeof want, err);
    }
    /* the final HEAD checks the size; a small file's single PutObject whose
     * bytes the server verified (signed SHA-256, Content-MD5 or CRC-32C) needs none */
    int verified_put = s->small && !s->upload_id && !s->parts_count &&
                       (!s->unsigned_payload || s->checksum != CK_NONE);
    if (st == FERRY_OK && !verified_put)
        st = ferry_s3_verify_committed(s, p->total, etag, want, err);
    if (st != FERRY_OK)
        return ferry_s3_sink_fail(s, st, err);
    if (s->parts_count)
        ferry_log(FERRY_LOG_DEBUG, "s3: s3://%s/%s completed from %d parts, %lld bytes", s->bucket,
                  s->key, s->parts_count, (long long)p->total);
    if (s->resume_path) {
        if (s->parts_skipped)
            ferry_log(FERRY_LOG_INFO, "s3: s3://%s/%s: --resume reused %d stored parts, sent %d",
                      s->bucket, s->key, s->parts_skipped, s->parts_count - s->parts_skipped);
        unlink(s->resume_path);
    }
    s->committed = 1;
    return FERRY_OK;
}

void ferry_s3_sink_abort(ferry_writer *w)
{
    ferry_s3_sink *s = (ferry_s3_sink *)w;
    if (s->aborted || s->committed)
        return;
    s->aborted = 1;
    ferry_s3_uploader_stop(s, 0);
    for (int i = 0; i < s->nslots; i++) {
        ferry_s3_slot *sl = &s->slots[i];
        ferry_s3_xfer_cancel(&sl->xfer);
        sl->state = SLOT_FREE;
    }
    s->prod.cur = NULL;
    if (s->resume_path && s->upload_id && !s->resume_discard) {
        ferry_s3_sink_state_write(s);
        ferry_log(FERRY_LOG_WARN, "s3: multipart upload %s of s3://%s/%s is kept for --resume "
                  "(%d parts stored); its state is in %s: run the same copy with --resume %s to "
                  "continue it",
                  s->upload_id, s->bucket, s->key, s->parts_count, s->resume_path,
                  s->resume_path);
        free(s->upload_id);
        s->upload_id = NULL;
        return;
    }
    if (s->resume_path)
        unlink(s->resume_path);
    if (s->create_unanswered) {
        /* the server may have finished that Create after ferry_s3_create_upload's
         * scan: look again now that the uploader has stopped */
        ferry_error e;
        ferry_error_clear(&e);
        if (ferry_s3_abort_orphans(s->c, s->bucket, s->key, s->create_since, s->upload_id, NULL, &e) !=
            FERRY_OK)
            ferry_log(FERRY_LOG_ERROR, "%s; an upload started by an unanswered "
                      "CreateMultipartUpload of s3://%s/%s may be left behind", e.msg, s->bucket,
                      s->key);
    }
    if (s->upload_id) {
        ferry_error e;
        ferry_error_clear(&e);
        if (ferry_s3_client_abort_upload(s->c, &s->ctl, s->bucket, s->key, s->upload_id, &e) != FERRY_OK)
            ferry_log(FERRY_LOG_ERROR,
                      "%s; multipart upload %s of s3://%s/%s may be left behind (remove it with "
                      "AbortMultipartUpload or a bucket lifecycle rule)",
                      e.msg, s->upload_id, s->bucket, s->key);
        else
            ferry_log(FERRY_LOG_DEBUG, "s3: multipart upload %s of s3://%s/%s aborted",
                      s->upload_id, s->bucket, s->key);
        free(s->upload_id);
        s->upload_id = NULL;
    }
}

void ferry_s3_sink_free(ferry_writer *w)
{
    ferry_s3_sink *s = (ferry_s3_sink *)w;
    if (!s)
        return;
    if (s->c && !s->committed)
        ferry_s3_sink_abort(w);
    ferry_s3_uploader_stop(s, 0);
    for (int i = 0; s->slots && i < s->nslots; i++) {
        ferry_s3_slot *sl = &s->slots[i];
        ferry_s3_xfer_release(&sl->xfer);
        if (sl->sha_live)
            ferry_sha256_cleanup(&sl->sha);
        EVP_MD_CTX_free(sl->md5);
        free(sl->buf);
    }
    free(s->slots);
    ferry_s3_xfer_release(&s->ctl);
    ferry_s3_client_free(s->c);
    free(s->parts);
    free(s->upload_id);
    free(s->bucket);
    free(s->key);
    ferry_s3_put_attrs_release(&s->attrs);
    free(s->resume_path);
    free(s->resume_tmp);
    ferry_s3_resume_release(&s->resumed);
    ferry_buf_release(&s->state_json);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->space);
    pthread_cond_destroy(&s->work);
    free(s);
}

/* Before anything is read from the source: does the object exist (without
 * --replace that is FERRY_ERR_EXISTS), does the bucket exist, are the
 * credentials accepted.  HEAD answers carry no S3 error code, so a 403 is
 * asked again with a 1-byte GET: AccessDenied (no read permission) lets the
 * upload go on - If-None-Match then decides - while a refused signature or
 * key fails now. */
static ferry_status preflight(ferry_s3_sink *s, ferry_error *err)
{
    const char *id = s->c->cfg.conn_id;
    int exists = 0;
    ferry_status st = ferry_s3_head_object(s->c, &s->ctl, s->bucket, s->key, &exists, err);
    if (st == FERRY_ERR_CONNECT && s->ctl.status == 403) {
        ferry_s3_req r;
        memset(&r, 0, sizeof r);
        r.op = "GetObject";
        r.method = "GET";
        r.bucket = s->bucket;
        r.key = s->key;
        r.no_retry = 1;
        ferry_s3_req_header(&r, "Range", "bytes=0-0");
        st = ferry_s3_request(s->c, &s->ctl, &r, err);
        if (st == FERRY_OK || s->ctl.status == 416) {
            exists = 1;           /* 416: an empty object */
            st = FERRY_OK;
        } else if (st == FERRY_ERR_NOT_FOUND && strcmp(s->ctl.s3_code, "NoSuchKey") == 0) {
            st = FERRY_OK;
        } else if (st == FERRY_ERR_CONNECT && strcmp(s->ctl.s3_code, "AccessDenied") == 0) {
            ferry_log(FERRY_LOG_DEBUG, "%s (cannot check for an existing object; relying on "
                                       "If-None-Match)", err->msg);
            ferry_error_clear(err);
            return FERRY_OK;
        }
    }
    if (st != FERRY_OK)
        return st;
    if (exists) {
        if (s->replace)
            return FERRY_OK;
        return ferry_error_hook(err, FERRY_ERR_EXISTS, "s3", id,
                                "s3://%s/%s already exists (use --replace to overwrite it)",
                                s->bucket, s->key);
    }
    /* absent: is it the key or the whole bucket? */
    int bucket_exists = 0;
    st = ferry_s3_head_object(s->c, &s->ctl, s->bucket, "", &bucket_exists, err);
    if (st == FERRY_ERR_CONNECT && s->ctl.status == 403) {
        ferry_error_clear(err);   /* no s3:ListBucket right: find out at the first write */
        return FERRY_OK;
    }
    if (st == FERRY_OK && !bucket_exists)
        st = ferry_error_hook(err, FERRY_ERR_NOT_FOUND, "s3", id,
                              "HeadBucket s3://%s failed: HTTP 404 NoSuchBucket (the bucket does "
                              "not exist)",
                              s->bucket);
    return st;
}

static const ferry_writer_ops sink_ops = {
    .name = "s3",
    .write = sink_write,
    .commit = sink_commit,
    .abort = ferry_s3_sink_abort,
    .free = ferry_s3_sink_free,
};

int ferry_s3_sink_wait_upload(ferry_writer *w, int timeout_ms)
{
    if (!w || w->ops != &sink_ops)
        return 0;
    ferry_s3_sink *s = (ferry_s3_sink *)w;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&s->mu);
    while (!s->upload_id && !s->failed && s->thread_live &&
           pthread_cond_timedwait(&s->space, &s->mu, &until) == 0) {
    }
    int have = s->upload_id != NULL;
    pthread_mutex_unlock(&s->mu);
    return have;
}

/* --checksum: "crc32c", "md5", "none"; NULL/"auto" = crc32c on AWS itself;
 * on a custom endpoint (radosgw 16.2 ignores x-amz-checksum-crc32c, see
 * docs/hooks/s3.md) md5 when the payload is unsigned, none when it is signed:
 * the server then checks the SHA-256 of every part already, and MD5 was a
 * fifth of ferry's CPU in an SFTP -> S3 copy (perf, 1 GiB).  The connection
 * extra checksum=... decides for auto. */
static checksum_kind checksum_for(const ferry_conn *conn, const ferry_s3_config *cfg, const char *opt,
                                  int unsigned_payload)
{
    const char *v = opt;
    if ((!v || !strcmp(v, "auto")) && conn)
        v = ferry_conn_extra(conn, "checksum");
    if (v && !strcmp(v, "crc32c"))
        return CK_CRC32C;
    if (v && !strcmp(v, "md5"))
        return CK_MD5;
    if (v && !strcmp(v, "none"))
        return CK_NONE;
    if (!cfg->custom_endpoint)
        return CK_CRC32C;
    return unsigned_payload ? CK_MD5 : CK_NONE;
}

ferry_status ferry_s3_open_sink(const ferry_endpoint *ep, const ferry_copy_options *o,
                                ferry_writer **out, ferry_error *err)
{
    *out = NULL;
    const char *id = ferry_s3_conn_id(ep->conn);
    ferry_s3_sink *s = calloc(1, sizeof *s);
    if (!s)
        return ferry_error_oom(err, "s3", NULL, NULL);
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->space, NULL);
    pthread_cond_init(&s->work, NULL);
    s->base.ops = &sink_ops;
    s->base.rows = -1;
    s->etags_plain = 1;
    s->prod.first_part = 1;
    s->prod.max_local = S3_MAX_PARTS - 1;
    s->replace = o && o->replace;
    ferry_status st = ferry_s3_split_path(ep->path, id, &s->bucket, &s->key, err);
    if (st != FERRY_OK)
        goto fail;
    if (!s->key[0]) {
        st = ferry_error_hook(err, FERRY_ERR_USAGE, "s3", id,
                              "s3://%s: the destination needs a key (s3://%s/name)", s->bucket,
                              s->bucket);
        goto fail;
    }
    st = ferry_s3_put_attrs_load(&s->attrs, o, ep->conn, s->key, err);
    if (st != FERRY_OK)
        goto fail;
    st = ferry_s3_client_new(ep->conn, o, &s->c, err);
    if (st != FERRY_OK)
        goto fail;
    /* parts: UNSIGNED-PAYLOAD over https by default (TLS protects them and the
     * per-part checksum covers the bytes), signed over http; the connection
     * extra unsigned_payload=true forces it */
    int opt = o ? o->s3_unsigned_payload : -1;
    s->unsigned_payload = s->c->cfg.unsigned_payload || opt == 1 || (opt < 0 && s->c->cfg.https);
    s->checksum = checksum_for(ep->conn, &s->c->cfg, o ? o->checksum : NULL, s->unsigned_payload);
    ferry_log(FERRY_LOG_DEBUG, "s3: parts to s3://%s/%s: payload %s, checksum %s", s->bucket,
              s->key, s->unsigned_payload ? "UNSIGNED-PAYLOAD" : "signed (SHA-256)",
              s->checksum == CK_CRC32C ? "crc32c" : s->checksum == CK_MD5 ? "md5" : "none");

    size_t part = o && o->s3_part_size ? o->s3_part_size : S3_DEFAULT_PART_SIZE;
    if (part < S3_MIN_PART_SIZE) {
        ferry_log(FERRY_LOG_WARN, "s3: part size %zu is below S3's minimum; using 5 MiB", part);
        part = S3_MIN_PART_SIZE;
    } else if (part > S3_MAX_PART_SIZE) {
        ferry_log(FERRY_LOG_WARN, "s3: part size %zu is above S3's maximum; using 5 GiB", part);
        part = S3_MAX_PART_SIZE;
    }
    s->base_part = part;
    s->size_hint = o ? o->source_size : -1;
    s->small = s->size_hint >= 0 && (uint64_t)s->size_hint <= part && !(o && o->resume_file);
    int n = o && o->s3_concurrency > 0 ? o->s3_concurrency : S3_DEFAULT_CONCURRENCY;
    if (s->small)
        n = 1;  /* one part expected: one slot (a source that grows still uploads, one part at a time) */
    s->nslots = n > S3_MAX_CONCURRENCY ? S3_MAX_CONCURRENCY : n;
    s->slots = calloc((size_t)s->nslots, sizeof *s->slots);
    if (!s->slots) {
        st = ferry_error_oom(err, "s3", NULL, NULL);
        goto fail;
    }
    for (int i = 0; i < s->nslots; i++) {
        st = ferry_s3_xfer_init(&s->slots[i].xfer, err);
        if (st != FERRY_OK)
            goto fail;
    }
    st = ferry_s3_xfer_init(&s->ctl, err);
    if (st != FERRY_OK)
        goto fail;

    /* a small file of known size is one PutObject: without --replace its
     * If-None-Match: * refuses an existing object atomically (radosgw 16
     * enforces it on PutObject, tests/integration/many_files.sh), a missing
     * bucket or refused key fail it as the preflight would; no HEAD first */
    if (!s->small)
        st = preflight(s, err);
    if (st == FERRY_OK && o && o->resume_file)
        st = ferry_s3_sink_resume_open(s, o->resume_file, err);
    if (st != FERRY_OK)
        goto fail;
    *out = &s->base;
    return FERRY_OK;
fail:
    s->committed = 1;   /* nothing was started: free without an abort */
    ferry_s3_sink_free(&s->base);
    return st;
}
