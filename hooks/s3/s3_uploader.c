/*
 * hooks/s3/s3_uploader.c - the S3 sink's engine: the slot ring and the
 * uploader thread, shared by the plain sink (s3_sink.c) and the ranged sink
 * (s3_parallel.c).
 *
 * Two threads share the work.  The producer (the caller of write()) only
 * copies bytes into the free slot buffer being filled; a full slot is sealed
 * and handed off (no copy) to the uploader thread, and the producer blocks
 * only when all `concurrency` slots are sealed or in flight.  The uploader
 * thread owns the client's curl multi from the first hand-off until commit or
 * abort: it creates the multipart upload, hashes each sealed part (CRC-32C or
 * MD5 for the per-part checksum, SHA-256 for a signed payload, in 1 MiB steps
 * with the transfers driven in between), starts UploadPart, retries a failed
 * part with backoff without stopping the others, checks the ETag, and frees
 * the slot.  So uploads go on while the producer is blocked on its source,
 * and on two cores hashing part k overlaps filling part k+1.  The uploader
 * blocks every signal: SIGINT/SIGTERM reach the producer (whose blocking read
 * they interrupt); both sides poll ferry_cancelled().
 *
 * The part size starts at o->s3_part_size and doubles every 1000 parts, so a
 * stream never needs more than 10,000 parts (>= 4.9 TiB with 5 MiB parts).
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

/* ---- helpers ---------------------------------------------------------------------- */

ferry_status ferry_s3_sink_fail(ferry_s3_sink *s, ferry_status st, ferry_error *err)
{
    if (st == FERRY_OK)
        return st;
    pthread_mutex_lock(&s->mu);
    if (!s->failed) {
        s->failed = st;
        if (err)
            s->fail_err = *err;
        else
            ferry_error_set(&s->fail_err, st, "s3: failed");
    }
    pthread_cond_broadcast(&s->space);
    pthread_cond_broadcast(&s->work);
    pthread_mutex_unlock(&s->mu);
    return st;
}

ferry_status ferry_s3_sink_failed(ferry_s3_sink *s)
{
    pthread_mutex_lock(&s->mu);
    ferry_status st = s->failed;
    pthread_mutex_unlock(&s->mu);
    return st;
}

ferry_status ferry_s3_sink_repeat_failure(ferry_s3_sink *s, ferry_error *err)
{
    pthread_mutex_lock(&s->mu);
    ferry_status st = s->failed;
    if (err)
        *err = s->fail_err;
    pthread_mutex_unlock(&s->mu);
    return st;
}

ferry_status ferry_s3_sink_oom(ferry_s3_sink *s, ferry_error *err)
{
    return ferry_s3_sink_fail(s, ferry_error_oom(err, "s3", NULL, NULL), err);
}

void ferry_s3_slot_set_state(ferry_s3_sink *s, ferry_s3_slot *sl, slot_state st)
{
    pthread_mutex_lock(&s->mu);
    sl->state = st;
    if (st == SLOT_FREE)
        pthread_cond_broadcast(&s->space);
    pthread_mutex_unlock(&s->mu);
}

static size_t part_size_for(size_t base, int part)
{
    uint64_t sz = base;
    for (int step = (part - 1) / S3_PARTS_PER_STEP; step > 0; step--) {
        sz *= 2;
        if (sz >= S3_MAX_PART_SIZE)
            return S3_MAX_PART_SIZE;
    }
    return (size_t)sz;
}

/* '"<32 hex>"' -> the hex, else NULL. */
int ferry_s3_plain_md5_etag(const char *etag, char hex[33])
{
    size_t n = strlen(etag);
    const char *p = etag;
    if (n == 34 && p[0] == '"' && p[33] == '"') {
        p++;
        n = 32;
    }
    if (n != 32)
        return 0;
    for (size_t i = 0; i < 32; i++) {
        char ch = p[i];
        if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F')))
            return 0;
        hex[i] = (char)(ch >= 'A' && ch <= 'F' ? ch - 'A' + 'a' : ch);
    }
    hex[32] = '\0';
    return 1;
}

void ferry_s3_sink_target(const ferry_s3_sink *s, char *out, size_t cap)
{
    snprintf(out, cap, "s3://%s/%s", s->bucket, s->key);
}

/* Hash a whole sealed slot: checksum and (signed payload) SHA-256.  step > 0:
 * in steps of that many bytes, calling between(s) after each (the uploader
 * drives its transfers there).  Runs on the uploader thread, or on the
 * producer's for a single PutObject. */
ferry_status ferry_s3_slot_hash(ferry_s3_sink *s, ferry_s3_slot *sl, size_t step,
                                ferry_status (*between)(ferry_s3_sink *, ferry_error *), ferry_error *err)
{
    if (s->checksum == CK_MD5) {
        if (!sl->md5 && !(sl->md5 = EVP_MD_CTX_new()))
            return ferry_s3_sink_oom(s, err);
        if (EVP_DigestInit_ex(sl->md5, EVP_md5(), NULL) != 1)
            return ferry_s3_sink_fail(s, ferry_error_set(err, FERRY_ERR_INTERNAL, "s3: MD5 is not available"),
                                      err);
    }
    if (!s->unsigned_payload) {
        if (ferry_sha256_init(&sl->sha) != FERRY_OK)
            return ferry_s3_sink_fail(s, ferry_error_set(err, FERRY_ERR_INTERNAL, "s3: SHA-256 init failed"),
                                      err);
        sl->sha_live = 1;
    }
    sl->crc = 0;
    if (step == 0)
        step = sl->len ? sl->len : 1;
    for (size_t off = 0; off < sl->len; off += step) {
        size_t n = sl->len - off < step ? sl->len - off : step;
        const unsigned char *p = sl->buf + off;
        if ((s->checksum == CK_MD5 && EVP_DigestUpdate(sl->md5, p, n) != 1) ||
            (sl->sha_live && ferry_sha256_update(&sl->sha, p, n) != FERRY_OK))
            return ferry_s3_sink_fail(s, ferry_error_set(err, FERRY_ERR_INTERNAL, "s3: hashing failed"), err);
        if (s->checksum == CK_CRC32C || s->resume_path)
            sl->crc = ferry_s3_crc32c(sl->crc, p, n);
        if (between && off + n < sl->len) {
            ferry_status st = between(s, err);
            if (st != FERRY_OK)
                return st;
        }
    }
    if (s->checksum == CK_MD5) {
        unsigned int n = 0;
        if (EVP_DigestFinal_ex(sl->md5, sl->md5_raw, &n) != 1 || n != 16)
            return ferry_s3_sink_fail(s, ferry_error_set(err, FERRY_ERR_INTERNAL, "s3: MD5 failed"), err);
        ferry_hex_encode(sl->md5_raw, 16, sl->md5_hex);
        ferry_base64_encode(sl->md5_raw, 16, sl->md5_b64, sizeof sl->md5_b64);
    } else {
        memset(sl->md5_raw, 0, sizeof sl->md5_raw);
        sl->md5_hex[0] = sl->md5_b64[0] = '\0';
    }
    if (s->checksum == CK_CRC32C || s->resume_path)
        ferry_s3_crc32c_b64(sl->crc, sl->crc_b64);
    else
        sl->crc_b64[0] = '\0';
    if (s->unsigned_payload) {
        snprintf(sl->sha_hex, sizeof sl->sha_hex, "%s", FERRY_SIGV4_UNSIGNED_PAYLOAD);
    } else {
        sl->sha_live = 0;
        if (ferry_sha256_final_hex(&sl->sha, sl->sha_hex) != FERRY_OK)
            return ferry_s3_sink_fail(s, ferry_error_set(err, FERRY_ERR_INTERNAL, "s3: SHA-256 failed"), err);
    }
    return FERRY_OK;
}

/* The per-part checksum header of a request. */
void ferry_s3_checksum_header(const ferry_s3_sink *s, ferry_s3_req *r, const ferry_s3_slot *sl)
{
    if (s->checksum == CK_MD5)
        ferry_s3_req_header(r, "Content-MD5", sl->md5_b64);
    else if (s->checksum == CK_CRC32C)
        ferry_s3_req_header(r, "x-amz-checksum-crc32c", sl->crc_b64);
}

/* ---- uploader thread: parts in flight ------------------------------------------------- */

static ferry_status part_start(ferry_s3_sink *s, ferry_s3_slot *sl, ferry_error *err)
{
    memset(&sl->req, 0, sizeof sl->req);
    snprintf(sl->part_str, sizeof sl->part_str, "%d", sl->part);
    sl->req.op = "UploadPart";
    sl->req.method = "PUT";
    sl->req.bucket = s->bucket;
    sl->req.key = s->key;
    ferry_s3_req_query(&sl->req, "partNumber", sl->part_str);
    ferry_s3_req_query(&sl->req, "uploadId", s->upload_id);
    ferry_s3_checksum_header(s, &sl->req, sl);
    sl->req.body = sl->buf;
    sl->req.body_len = sl->len;
    sl->req.payload_hash = sl->sha_hex;
    ferry_status st = ferry_s3_xfer_start(s->c, &sl->xfer, &sl->req, err);
    if (st != FERRY_OK)
        return ferry_s3_sink_fail(s, st, err);
    ferry_s3_slot_set_state(s, sl, SLOT_FLIGHT);
    return FERRY_OK;
}

ferry_status ferry_s3_parts_record(ferry_s3_sink *s, const ferry_s3_slot *sl, const char *etag, ferry_error *err)
{
    int part = sl->part;
    if ((size_t)part > s->parts_cap) {
        size_t ncap = s->parts_cap ? s->parts_cap * 2 : 64;
        while (ncap < (size_t)part)
            ncap *= 2;
        part_rec *np = realloc(s->parts, ncap * sizeof *np);
        if (!np)
            return ferry_s3_sink_oom(s, err);
        memset(np + s->parts_cap, 0, (ncap - s->parts_cap) * sizeof *np);
        s->parts = np;
        s->parts_cap = ncap;
    }
    part_rec *pr = &s->parts[part - 1];
    if (!pr->etag[0])
        s->parts_count++;
    memcpy(pr->md5, sl->md5_raw, 16);
    pr->size = sl->len;
    memcpy(pr->crc_b64, sl->crc_b64, sizeof pr->crc_b64);
    snprintf(pr->etag, sizeof pr->etag, "%s", etag);
    if (part > s->parts_max)
        s->parts_max = part;
    return FERRY_OK;
}

static ferry_status part_done(ferry_s3_sink *s, ferry_s3_slot *sl, ferry_error *err)
{
    ferry_error e;
    ferry_error_clear(&e);
    ferry_status st = ferry_s3_xfer_finish(&sl->xfer, &e);
    char t[S3_MAX_KEY_LEN + 80];
    ferry_s3_sink_target(s, t, sizeof t);
    if (st == FERRY_OK) {
        char hex[33];
        if (!sl->xfer.etag[0]) {
            st = ferry_error_hook(&e, FERRY_ERR_DATA, "s3", s->c->cfg.conn_id,
                                  "UploadPart %s part %d failed: the answer has no ETag", t,
                                  sl->part);
        } else if (s->checksum == CK_MD5 && ferry_s3_plain_md5_etag(sl->xfer.etag, hex)) {
            if (!sl->xfer.sse_opaque && strcmp(hex, sl->md5_hex) != 0) {
                st = ferry_error_hook(&e, FERRY_ERR_DATA, "s3", s->c->cfg.conn_id,
                                      "UploadPart %s part %d failed: ETag %s is not the MD5 %s "
                                      "of the data sent",
                                      t, sl->part, sl->xfer.etag, sl->md5_hex);
                ferry_error_transient(&e);
            }
        } else {
            s->etags_plain = 0;
        }
        if (sl->xfer.sse_opaque)
            s->etags_plain = 0;
    }
    if (st == FERRY_OK) {
        st = ferry_s3_parts_record(s, sl, sl->xfer.etag, err);
        if (st != FERRY_OK)
            return st;
        ferry_log(FERRY_LOG_DEBUG, "s3: %s part %d (%zu bytes) stored, ETag %s", t, sl->part,
                  sl->len, sl->xfer.etag);
        ferry_s3_sink_state_write(s);
        ferry_s3_slot_set_state(s, sl, SLOT_FREE);
        return FERRY_OK;
    }
    double delay = 0;
    if (st != FERRY_ERR_INTERRUPTED && ferry_s3_retry_plan(&sl->retry, &e, &delay)) {
        ferry_log(FERRY_LOG_WARN, "%s (retrying part %d in %.1f s)", e.msg, sl->part, delay);
        sl->retry_at = ferry_now_monotonic() + delay;
        ferry_s3_slot_set_state(s, sl, SLOT_WAIT);
        return FERRY_OK;
    }
    if (err)
        *err = e;
    return ferry_s3_sink_fail(s, e.status ? e.status : st, err);
}

/* Make progress on every part in flight; wait up to wait_ms when nothing
 * finished (a hand-off wakes the wait early). Uploader thread only. */
static ferry_status pump(ferry_s3_sink *s, int wait_ms, ferry_error *err)
{
    double now = ferry_now_monotonic();
    for (int i = 0; i < s->nslots; i++) {
        ferry_s3_slot *sl = &s->slots[i];
        if (sl->state == SLOT_WAIT) {
            int ms = (int)((sl->retry_at - now) * 1000);
            if (ms < 0)
                ms = 0;
            if (ms < wait_ms)
                wait_ms = ms;
        }
    }
    ferry_status st = ferry_s3_client_drive(s->c, wait_ms, 1, err);
    if (st != FERRY_OK)
        return ferry_s3_sink_fail(s, st, err);
    now = ferry_now_monotonic();
    for (int i = 0; i < s->nslots; i++) {
        ferry_s3_slot *sl = &s->slots[i];
        if (sl->state == SLOT_FLIGHT && sl->xfer.done) {
            st = part_done(s, sl, err);
            if (st != FERRY_OK)
                return st;
        }
        if (sl->state == SLOT_WAIT && now >= sl->retry_at) {
            st = part_start(s, sl, err);
            if (st != FERRY_OK)
                return st;
        }
    }
    return FERRY_OK;
}

static ferry_status pump_now(ferry_s3_sink *s, ferry_error *err)
{
    return pump(s, 0, err);
}

ferry_status ferry_s3_create_upload(ferry_s3_sink *s, ferry_error *err)
{
    ferry_s3_req r;
    memset(&r, 0, sizeof r);
    r.op = "CreateMultipartUpload";
    r.method = "POST";
    r.bucket = s->bucket;
    r.key = s->key;
    ferry_s3_req_query(&r, "uploads", NULL);
    if (s->checksum == CK_CRC32C)
        ferry_s3_req_header(&r, "x-amz-checksum-algorithm", "CRC32C");
    r.xheaders = s->attrs.kv[FERRY_S3_PUT_OBJECT];  /* the object's attributes go on Create */
    r.nxheaders = s->attrs.nkv[FERRY_S3_PUT_OBJECT];
    /* retried here: an attempt that failed without an answer may have
     * created an upload all the same (see s3_orphans.c) */
    r.no_retry = 1;
    int64_t since = (int64_t)time(NULL) - S3_ORPHAN_SLACK;
    int unanswered = 0;
    ferry_retry rt;
    ferry_retry_init(&rt, s->c->max_attempts);
    ferry_status st;
    for (;;) {
        st = ferry_s3_request(s->c, &s->ctl, &r, err);
        if (st == FERRY_OK)
            break;
        unanswered |= st == FERRY_ERR_INTERRUPTED || st == FERRY_ERR_TIMEOUT ||
                      st == FERRY_ERR_TRANSIENT || s->ctl.status == 0 || s->ctl.status >= 500;
        if (!err->transient || ferry_cancelled() || !ferry_retry_again(&rt, err))
            break;
    }
    char id[1024];
    int have_id = st == FERRY_OK &&
                  ferry_s3_xml_find(s->ctl.resp.data, s->ctl.resp.len, "/UploadId", id, sizeof id, NULL) == 1 &&
                  id[0];
    s->create_since = since;
    s->create_unanswered |= unanswered;
    if (unanswered) {
        ferry_error e;
        ferry_error_clear(&e);
        int n = 0;
        if (ferry_s3_abort_orphans(s->c, s->bucket, s->key, since, have_id ? id : NULL, &n, &e) != FERRY_OK)
            ferry_log(FERRY_LOG_ERROR, "%s; an upload started by the interrupted "
                      "CreateMultipartUpload of s3://%s/%s may be left behind", e.msg, s->bucket,
                      s->key);
    }
    if (st != FERRY_OK) {
        ferry_s3_put_attrs_hint(&s->attrs, s->ctl.s3_code, err);
        return ferry_s3_sink_fail(s, st, err);
    }
    if (!have_id) {
        char t[S3_MAX_KEY_LEN + 80], shown[160];
        ferry_s3_sink_target(s, t, sizeof t);
        ferry_s3_printable(s->ctl.resp.data ? s->ctl.resp.data : "", s->ctl.resp.len, shown, sizeof shown);
        return ferry_s3_sink_fail(s, ferry_error_hook(err, FERRY_ERR_DATA, "s3", s->c->cfg.conn_id,
                                  "CreateMultipartUpload %s failed: no UploadId in '%s'", t,
                                  shown),
                                  err);
    }
    char *upload_id = strdup(id);
    if (!upload_id)
        return ferry_s3_sink_oom(s, err);
    pthread_mutex_lock(&s->mu);
    s->upload_id = upload_id;   /* under mu for ferry_s3_sink_wait_upload */
    pthread_cond_broadcast(&s->space);
    pthread_mutex_unlock(&s->mu);
    ferry_log(FERRY_LOG_DEBUG, "s3: multipart upload %s of s3://%s/%s started", id, s->bucket,
              s->key);
    return FERRY_OK;
}

/* A sealed slot: create the upload if needed, hash (driving the other parts
 * meanwhile), send. */
static ferry_status dispatch(ferry_s3_sink *s, ferry_s3_slot *sl, ferry_error *err)
{
    if (!s->upload_id) {
        ferry_status st = ferry_s3_create_upload(s, err);
        if (st != FERRY_OK)
            return st;
        ferry_s3_sink_state_write(s);
    }
    int skipped = 0;
    ferry_status st = ferry_s3_sink_resume_check(s, sl, &skipped, err);
    if (st != FERRY_OK || skipped)
        return st;
    st = ferry_s3_slot_hash(s, sl, HASH_STEP, pump_now, err);
    if (st != FERRY_OK)
        return st;
    ferry_retry_init(&sl->retry, s->c->max_attempts);
    return part_start(s, sl, err);
}

static void *uploader_main(void *arg)
{
    ferry_s3_sink *s = arg;
    ferry_error e;
    ferry_error_clear(&e);
    for (;;) {
        ferry_s3_slot *next = NULL;
        int busy = 0;
        pthread_mutex_lock(&s->mu);
        for (;;) {
            if (s->stop || s->failed) {
                pthread_mutex_unlock(&s->mu);
                return NULL;
            }
            next = NULL;
            busy = 0;
            for (int i = 0; i < s->nslots; i++) {
                ferry_s3_slot *sl = &s->slots[i];
                if (sl->state == SLOT_SEALED && (!next || sl->part < next->part))
                    next = sl;
                busy |= sl->state == SLOT_FLIGHT || sl->state == SLOT_WAIT;
            }
            if (next) {
                next->state = SLOT_HASHING;
                break;
            }
            if (busy)
                break;
            if (s->draining) {
                pthread_mutex_unlock(&s->mu);
                return NULL;
            }
            pthread_cond_wait(&s->work, &s->mu);
        }
        pthread_mutex_unlock(&s->mu);
        ferry_status st = next ? dispatch(s, next, &e) : pump(s, 200, &e);
        if (st != FERRY_OK) {
            ferry_s3_sink_fail(s, st, &e);
            return NULL;
        }
    }
}

/* Start the uploader (at the first hand-off) with every signal blocked.
 * Called with s->mu held. */
static ferry_status uploader_start(ferry_s3_sink *s, ferry_error *err)
{
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int rc = ferry_thread_create(&s->thread, NULL, uploader_main, s);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        ferry_error_set(err, FERRY_ERR_INTERNAL, "s3: cannot start the upload thread (%s)",
                        strerror(rc));
        if (!s->failed) {
            s->failed = FERRY_ERR_INTERNAL;
            s->fail_err = *err;
        }
        return FERRY_ERR_INTERNAL;
    }
    s->thread_live = 1;
    return FERRY_OK;
}

/* Stop the uploader: drain = after every part finished (commit), else now. */
void ferry_s3_uploader_stop(ferry_s3_sink *s, int drain)
{
    if (!s->thread_live)
        return;
    pthread_mutex_lock(&s->mu);
    if (drain)
        s->draining = 1;
    else
        s->stop = 1;
    pthread_cond_broadcast(&s->work);
    pthread_mutex_unlock(&s->mu);
    curl_multi_wakeup(s->c->multi);
    pthread_join(s->thread, NULL);
    s->thread_live = 0;
}

/* ---- producer side ----------------------------------------------------------------------- */

/* Hand a full (or the last) part to the uploader; a held-back head stays. */
ferry_status ferry_s3_hand_off(ferry_s3_sink *s, ferry_s3_prod *p, ferry_error *err)
{
    ferry_s3_slot *sl = p->cur;
    p->cur = NULL;
    if (sl == &p->head)
        return FERRY_OK;
    pthread_mutex_lock(&s->mu);
    if (!s->thread_live) {
        ferry_status st = uploader_start(s, err);
        if (st != FERRY_OK) {
            pthread_mutex_unlock(&s->mu);
            return st;
        }
    }
    s->parts_sent++;
    sl->state = SLOT_SEALED;
    pthread_cond_signal(&s->work);
    pthread_mutex_unlock(&s->mu);
    curl_multi_wakeup(s->c->multi);   /* the uploader may be polling its sockets */
    return FERRY_OK;
}

/* A free slot for p's next part; blocks (back-pressure) while every slot is
 * busy.  A held-back head gets p's private slot instead. */
static ferry_status acquire(ferry_s3_sink *s, ferry_s3_prod *p, ferry_error *err)
{
    int local = p->next_local;
    if (local > p->max_local) {
        char t[S3_MAX_KEY_LEN + 80];
        ferry_s3_sink_target(s, t, sizeof t);
        return ferry_s3_sink_fail(s, ferry_error_hook(err, FERRY_ERR_DATA, "s3", s->c->cfg.conn_id,
                                  "UploadPart %s failed: %s needs more than %d parts "
                                  "(raise --part-size)",
                                  t, p->max_local + 1 < S3_MAX_PARTS ? "a range" : "the object",
                                  p->max_local + 1),
                                  err);
    }
    size_t limit = part_size_for(s->base_part, local + 1);
    ferry_s3_slot *sl = NULL;
    if (local == 0 && p->hold_head) {
        sl = &p->head;
        goto fill;
    }
    pthread_mutex_lock(&s->mu);
    for (;;) {
        if (s->failed) {
            pthread_mutex_unlock(&s->mu);
            return ferry_s3_sink_repeat_failure(s, err);
        }
        for (int i = 0; i < s->nslots && !sl; i++)
            if (s->slots[i].state == SLOT_FREE)
                sl = &s->slots[i];
        if (sl)
            break;
        if (ferry_cancelled()) {
            pthread_mutex_unlock(&s->mu);
            return ferry_s3_sink_fail(s, ferry_error_hook(err, FERRY_ERR_INTERRUPTED, "s3", s->c->cfg.conn_id,
                                      "interrupted"),
                                      err);
        }
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 200 * 1000 * 1000;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&s->space, &s->mu, &ts);
    }
    sl->state = SLOT_FILLING;
    pthread_mutex_unlock(&s->mu);
fill:;
    /* a source of known size below one part gets a buffer of its size (grown
     * to the part size only if more data comes) */
    size_t want = limit;
    if (local == 0 && !p->hold_head && s->size_hint >= 0 && (uint64_t)s->size_hint < limit)
        want = s->size_hint > 0 ? (size_t)s->size_hint : 1;
    if (sl->cap < want) {
        free(sl->buf);
        sl->buf = malloc(want);
        sl->cap = sl->buf ? want : 0;
        if (!sl->buf)
            return ferry_s3_sink_oom(s, err);
    }
    sl->part = p->first_part + local;
    sl->limit = limit;
    sl->len = 0;
    p->next_local++;
    p->cur = sl;
    return FERRY_OK;
}

/* The producer's write: memcpy into the part being filled, hand-offs. */
ferry_status ferry_s3_prod_write(ferry_s3_sink *s, ferry_s3_prod *p, const void *buf, size_t len,
                                 ferry_error *err)
{
    const unsigned char *b = buf;
    while (len > 0) {
        ferry_status st;
        if (p->cur && p->cur->len == p->cur->limit) {
            /* a full part is sent only once more data shows it is not the last:
             * an object of exactly one part stays a single PutObject */
            st = ferry_s3_hand_off(s, p, err);
            if (st != FERRY_OK)
                return st;
        }
        if (!p->cur) {
            st = acquire(s, p, err);
            if (st != FERRY_OK)
                return st;
        }
        ferry_s3_slot *sl = p->cur;
        if (sl->len == sl->cap && sl->cap < sl->limit) {
            /* more than the source's announced size: grow to the whole part */
            unsigned char *nb = realloc(sl->buf, sl->limit);
            if (!nb)
                return ferry_s3_sink_oom(s, err);
            sl->buf = nb;
            sl->cap = sl->limit;
        }
        size_t n = (sl->cap < sl->limit ? sl->cap : sl->limit) - sl->len;
        if (n > len)
            n = len;
        memcpy(sl->buf + sl->len, b, n);
        sl->len += n;
        p->total += (int64_t)n;
        b += n;
        len -= n;
    }
    return FERRY_OK;
}
