/*
 * hooks/s3/s3_sink.c - the S3 writer: a stream of unknown length becomes one
 * object, published atomically.
 *
 * write() copies into the part being filled (a slot buffer allocated once
 * and reused) while hashing it (SHA-256 for x-amz-content-sha256 unless
 * UNSIGNED-PAYLOAD is configured, MD5 for Content-MD5 and the ETag check).
 * A full part is sent with UploadPart on the client's curl multi; up to
 * `concurrency` parts are in flight, and write() blocks (driving the
 * transfers) while every slot is busy.  A failed part is retried with
 * backoff without stopping the others.  The part size starts at
 * o->s3_part_size and doubles every 1000 parts, so a stream never needs more
 * than 10,000 parts (>= 4.9 TiB with 5 MiB parts).
 *
 * The object appears only at commit: data that fits one part goes as a single
 * PutObject, anything larger as CompleteMultipartUpload; without --replace
 * both carry If-None-Match: * and the object is HEADed at open time.  abort()
 * cancels the parts in flight and sends AbortMultipartUpload (then checks the
 * upload is gone), also when a signal interrupted the copy.
 *
 * Peak memory: concurrency x part size (+ a few KiB per slot).
 */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/log.h"
#include "ferry/stream.h"
#include "hooks/s3/s3_internal.h"

typedef enum { SLOT_FREE = 0, SLOT_FILLING, SLOT_FLIGHT, SLOT_WAIT } slot_state;

typedef struct s3_slot {
    unsigned char *buf;     /* owned, cap bytes, reused for part after part */
    size_t cap;
    size_t len;             /* bytes filled */
    size_t limit;           /* size of the part being filled */
    int part;               /* part number while filling / in flight */
    slot_state state;
    ferry_sha256_ctx sha;   /* running payload hash while filling */
    EVP_MD_CTX *md5;        /* owned, reused */
    char sha_hex[65];
    unsigned char md5_raw[16];
    char md5_hex[33];
    char md5_b64[25];
    char part_str[12];
    s3_req req;             /* the UploadPart request (points into this slot) */
    s3_xfer xfer;
    ferry_retry retry;
    double retry_at;
} s3_slot;

typedef struct part_rec {
    unsigned char md5[16];
    char etag[128];         /* as returned, quotes included */
} part_rec;

typedef struct s3_sink {
    ferry_writer base;
    s3_client *c;           /* owned */
    char *bucket;           /* owned */
    char *key;              /* owned */
    int replace;
    size_t base_part;       /* part size of parts 1..1000 */
    int nslots;
    s3_slot *slots;         /* owned, nslots */
    s3_slot *cur;           /* slot being filled, NULL when none */
    int next_part;          /* number the next acquired slot gets */
    char *upload_id;        /* owned; set between Create and Complete/Abort */
    part_rec *parts;        /* owned; parts[n - 1] = part n */
    size_t parts_cap;
    int parts_done;
    int etags_plain;        /* every part ETag was the part's MD5 */
    int unsigned_payload;
    s3_xfer ctl;            /* Create / Complete / Put / Abort */
    ferry_status failed;    /* first failure; every later call returns it */
    ferry_error fail_err;
    int committed;
    int aborted;
} s3_sink;

/* ---- helpers ---------------------------------------------------------------------- */

static ferry_status fail(s3_sink *s, ferry_status st, ferry_error *err)
{
    if (!s->failed && st != FERRY_OK) {
        s->failed = st;
        if (err)
            s->fail_err = *err;
        else
            ferry_error_set(&s->fail_err, st, "s3: failed");
    }
    return st;
}

static ferry_status repeat_failure(s3_sink *s, ferry_error *err)
{
    if (err)
        *err = s->fail_err;
    return s->failed;
}

static ferry_status oom(s3_sink *s, ferry_error *err)
{
    return fail(s, ferry_error_set(err, FERRY_ERR_INTERNAL, "s3: out of memory"), err);
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
static int plain_md5_etag(const char *etag, char hex[33])
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

static void target(const s3_sink *s, char *out, size_t cap)
{
    snprintf(out, cap, "s3://%s/%s", s->bucket, s->key);
}

/* ---- filling ------------------------------------------------------------------------ */

static ferry_status slot_begin(s3_sink *s, s3_slot *sl, ferry_error *err)
{
    int part = s->next_part;
    if (part > S3_MAX_PARTS) {
        char t[S3_MAX_KEY_LEN + 80];
        target(s, t, sizeof t);
        return fail(s, ferry_error_hook(err, FERRY_ERR_DATA, "s3", s->c->cfg.conn_id,
                                        "UploadPart %s failed: the object needs more than %d "
                                        "parts (raise --s3-part-size)",
                                        t, S3_MAX_PARTS),
                    err);
    }
    size_t limit = part_size_for(s->base_part, part);
    if (sl->cap < limit) {
        free(sl->buf);
        sl->buf = malloc(limit);
        sl->cap = sl->buf ? limit : 0;
        if (!sl->buf)
            return oom(s, err);
    }
    if (!sl->md5) {
        sl->md5 = EVP_MD_CTX_new();
        if (!sl->md5)
            return oom(s, err);
    }
    if (EVP_DigestInit_ex(sl->md5, EVP_md5(), NULL) != 1)
        return fail(s, ferry_error_set(err, FERRY_ERR_INTERNAL, "s3: MD5 is not available"), err);
    if (!s->unsigned_payload && ferry_sha256_init(&sl->sha) != FERRY_OK)
        return fail(s, ferry_error_set(err, FERRY_ERR_INTERNAL, "s3: SHA-256 init failed"), err);
    sl->part = part;
    sl->limit = limit;
    sl->len = 0;
    sl->state = SLOT_FILLING;
    s->next_part++;
    return FERRY_OK;
}

static ferry_status slot_hash(s3_sink *s, s3_slot *sl, const void *p, size_t n, ferry_error *err)
{
    if (EVP_DigestUpdate(sl->md5, p, n) != 1 ||
        (!s->unsigned_payload && ferry_sha256_update(&sl->sha, p, n) != FERRY_OK))
        return fail(s, ferry_error_set(err, FERRY_ERR_INTERNAL, "s3: hashing failed"), err);
    return FERRY_OK;
}

static ferry_status slot_seal(s3_sink *s, s3_slot *sl, ferry_error *err)
{
    unsigned int n = 0;
    if (EVP_DigestFinal_ex(sl->md5, sl->md5_raw, &n) != 1 || n != 16)
        return fail(s, ferry_error_set(err, FERRY_ERR_INTERNAL, "s3: MD5 failed"), err);
    ferry_sigv4_hex(sl->md5_raw, 16, sl->md5_hex);
    s3_base64(sl->md5_raw, 16, sl->md5_b64);
    if (s->unsigned_payload)
        snprintf(sl->sha_hex, sizeof sl->sha_hex, "%s", FERRY_SIGV4_UNSIGNED_PAYLOAD);
    else if (ferry_sha256_final_hex(&sl->sha, sl->sha_hex) != FERRY_OK)
        return fail(s, ferry_error_set(err, FERRY_ERR_INTERNAL, "s3: SHA-256 failed"), err);
    return FERRY_OK;
}

/* ---- parts in flight ------------------------------------------------------------------- */

static ferry_status part_start(s3_sink *s, s3_slot *sl, ferry_error *err)
{
    memset(&sl->req, 0, sizeof sl->req);
    snprintf(sl->part_str, sizeof sl->part_str, "%d", sl->part);
    sl->req.op = "UploadPart";
    sl->req.method = "PUT";
    sl->req.bucket = s->bucket;
    sl->req.key = s->key;
    s3_req_query(&sl->req, "partNumber", sl->part_str);
    s3_req_query(&sl->req, "uploadId", s->upload_id);
    s3_req_header(&sl->req, "Content-MD5", sl->md5_b64);
    sl->req.body = sl->buf;
    sl->req.body_len = sl->len;
    sl->req.payload_hash = sl->sha_hex;
    ferry_status st = s3_xfer_start(s->c, &sl->xfer, &sl->req, err);
    if (st != FERRY_OK)
        return fail(s, st, err);
    sl->state = SLOT_FLIGHT;
    return FERRY_OK;
}

static ferry_status parts_record(s3_sink *s, int part, const unsigned char md5[16], const char *etag,
                                 ferry_error *err)
{
    if ((size_t)part > s->parts_cap) {
        size_t ncap = s->parts_cap ? s->parts_cap * 2 : 64;
        while (ncap < (size_t)part)
            ncap *= 2;
        part_rec *np = realloc(s->parts, ncap * sizeof *np);
        if (!np)
            return oom(s, err);
        memset(np + s->parts_cap, 0, (ncap - s->parts_cap) * sizeof *np);
        s->parts = np;
        s->parts_cap = ncap;
    }
    part_rec *pr = &s->parts[part - 1];
    memcpy(pr->md5, md5, 16);
    snprintf(pr->etag, sizeof pr->etag, "%s", etag);
    s->parts_done++;
    return FERRY_OK;
}

static ferry_status part_done(s3_sink *s, s3_slot *sl, ferry_error *err)
{
    ferry_error e;
    ferry_error_clear(&e);
    ferry_status st = s3_xfer_finish(&sl->xfer, &e);
    char t[S3_MAX_KEY_LEN + 80];
    target(s, t, sizeof t);
    if (st == FERRY_OK) {
        char hex[33];
        if (!sl->xfer.etag[0]) {
            st = ferry_error_hook(&e, FERRY_ERR_DATA, "s3", s->c->cfg.conn_id,
                                  "UploadPart %s part %d failed: the answer has no ETag", t,
                                  sl->part);
        } else if (plain_md5_etag(sl->xfer.etag, hex)) {
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
        st = parts_record(s, sl->part, sl->md5_raw, sl->xfer.etag, err);
        if (st != FERRY_OK)
            return st;
        ferry_log(FERRY_LOG_DEBUG, "s3: %s part %d (%zu bytes) stored, ETag %s", t, sl->part,
                  sl->len, sl->xfer.etag);
        sl->state = SLOT_FREE;
        return FERRY_OK;
    }
    double delay = 0;
    if (st != FERRY_ERR_INTERRUPTED && s3_retry_plan(&sl->retry, &e, &delay)) {
        ferry_log(FERRY_LOG_WARN, "%s (retrying part %d in %.1f s)", e.msg, sl->part, delay);
        sl->state = SLOT_WAIT;
        sl->retry_at = s3_now() + delay;
        return FERRY_OK;
    }
    if (err)
        *err = e;
    return fail(s, e.status ? e.status : st, err);
}

/* Make progress on every part; wait up to wait_ms when nothing finished. */
static ferry_status pump(s3_sink *s, int wait_ms, ferry_error *err)
{
    double now = s3_now();
    for (int i = 0; i < s->nslots; i++) {
        s3_slot *sl = &s->slots[i];
        if (sl->state == SLOT_WAIT) {
            int ms = (int)((sl->retry_at - now) * 1000);
            if (ms < 0)
                ms = 0;
            if (ms < wait_ms)
                wait_ms = ms;
        }
    }
    ferry_status st = s3_client_drive(s->c, wait_ms, 1, err);
    if (st != FERRY_OK)
        return fail(s, st, err);
    now = s3_now();
    for (int i = 0; i < s->nslots; i++) {
        s3_slot *sl = &s->slots[i];
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

static ferry_status acquire(s3_sink *s, ferry_error *err)
{
    for (;;) {
        for (int i = 0; i < s->nslots; i++) {
            if (s->slots[i].state == SLOT_FREE) {
                ferry_status st = slot_begin(s, &s->slots[i], err);
                if (st != FERRY_OK)
                    return st;
                s->cur = &s->slots[i];
                return FERRY_OK;
            }
        }
        ferry_status st = pump(s, 200, err);   /* back-pressure: every slot is busy */
        if (st != FERRY_OK)
            return st;
    }
}

static ferry_status create_upload(s3_sink *s, ferry_error *err)
{
    s3_req r;
    memset(&r, 0, sizeof r);
    r.op = "CreateMultipartUpload";
    r.method = "POST";
    r.bucket = s->bucket;
    r.key = s->key;
    s3_req_query(&r, "uploads", NULL);
    ferry_status st = s3_request(s->c, &s->ctl, &r, err);
    if (st != FERRY_OK)
        return fail(s, st, err);
    char id[1024];
    if (s3_xml_find(s->ctl.resp.data, s->ctl.resp.len, "/UploadId", id, sizeof id, NULL) != 1 ||
        !id[0]) {
        char t[S3_MAX_KEY_LEN + 80], shown[160];
        target(s, t, sizeof t);
        s3_printable(s->ctl.resp.data ? s->ctl.resp.data : "", s->ctl.resp.len, shown, sizeof shown);
        return fail(s, ferry_error_hook(err, FERRY_ERR_DATA, "s3", s->c->cfg.conn_id,
                                        "CreateMultipartUpload %s failed: no UploadId in '%s'", t,
                                        shown),
                    err);
    }
    s->upload_id = strdup(id);
    if (!s->upload_id)
        return oom(s, err);
    ferry_log(FERRY_LOG_DEBUG, "s3: multipart upload %s of s3://%s/%s started", id, s->bucket,
              s->key);
    return FERRY_OK;
}

/* Send the slot that is full (or the last one, at commit). */
static ferry_status dispatch(s3_sink *s, s3_slot *sl, ferry_error *err)
{
    ferry_status st = slot_seal(s, sl, err);
    if (st != FERRY_OK)
        return st;
    if (!s->upload_id) {
        st = create_upload(s, err);
        if (st != FERRY_OK)
            return st;
    }
    ferry_retry_init(&sl->retry, s->c->max_attempts);
    return part_start(s, sl, err);
}

/* ---- writer ops ------------------------------------------------------------------------ */

static ferry_status sink_write(ferry_writer *w, const void *buf, size_t len, ferry_error *err)
{
    s3_sink *s = (s3_sink *)w;
    if (s->failed)
        return repeat_failure(s, err);
    if (s->committed || s->aborted)
        return ferry_error_set(err, FERRY_ERR_INTERNAL, "s3: write after commit or abort");
    const unsigned char *p = buf;
    while (len > 0) {
        ferry_status st;
        if (s->cur && s->cur->len == s->cur->limit) {
            /* a full part is sent only once more data shows it is not the last:
             * an object of exactly one part stays a single PutObject */
            st = dispatch(s, s->cur, err);
            s->cur = NULL;
            if (st != FERRY_OK)
                return st;
        }
        if (!s->cur) {
            st = acquire(s, err);
            if (st != FERRY_OK)
                return st;
        }
        s3_slot *sl = s->cur;
        size_t n = sl->limit - sl->len;
        if (n > len)
            n = len;
        memcpy(sl->buf + sl->len, p, n);
        st = slot_hash(s, sl, p, n, err);
        if (st != FERRY_OK)
            return st;
        sl->len += n;
        p += n;
        len -= n;
    }
    return pump(s, 0, err);
}

static ferry_status put_single(s3_sink *s, ferry_error *err)
{
    static const unsigned char empty = 0;
    s3_slot *sl = s->cur;
    char md5_b64[25], md5_hex[33];
    const char *sha = FERRY_SIGV4_EMPTY_SHA256;
    const void *body = &empty;
    size_t len = 0;
    if (sl) {
        ferry_status st = slot_seal(s, sl, err);
        if (st != FERRY_OK)
            return st;
        memcpy(md5_b64, sl->md5_b64, sizeof md5_b64);
        memcpy(md5_hex, sl->md5_hex, sizeof md5_hex);
        sha = sl->sha_hex;
        body = sl->buf;
        len = sl->len;
    } else {
        /* MD5 of nothing */
        snprintf(md5_b64, sizeof md5_b64, "1B2M2Y8AsgTpgAmY7PhCfg==");
        snprintf(md5_hex, sizeof md5_hex, "d41d8cd98f00b204e9800998ecf8427e");
    }
    s3_req r;
    memset(&r, 0, sizeof r);
    r.op = "PutObject";
    r.method = "PUT";
    r.bucket = s->bucket;
    r.key = s->key;
    r.body = body;
    r.body_len = len;
    r.payload_hash = sha;
    s3_req_header(&r, "Content-MD5", md5_b64);
    if (!s->replace)
        s3_req_header(&r, "If-None-Match", "*");
    ferry_status st = s3_request(s->c, &s->ctl, &r, err);
    if (st == FERRY_ERR_EXISTS)
        ferry_error_hook(err, st, "s3", s->c->cfg.conn_id,
                         "PutObject s3://%s/%s failed: it already exists (use --replace to "
                         "overwrite it)", s->bucket, s->key);
    if (st != FERRY_OK)
        return fail(s, st, err);
    char hex[33];
    if (plain_md5_etag(s->ctl.etag, hex) && !s->ctl.sse_opaque && strcmp(hex, md5_hex) != 0)
        ferry_log(FERRY_LOG_WARN, "s3(%s): PutObject s3://%s/%s: ETag %s is not the MD5 %s",
                  s->c->cfg.conn_id, s->bucket, s->key, s->ctl.etag, md5_hex);
    return FERRY_OK;
}

/* The multipart ETag S3 computes: MD5 of the parts' binary MD5s, "-N". */
static void expected_etag(const s3_sink *s, char *out, size_t cap)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char md[16];
    unsigned int n = 0;
    char hex[33];
    out[0] = '\0';
    if (!ctx)
        return;
    if (EVP_DigestInit_ex(ctx, EVP_md5(), NULL) == 1) {
        for (int i = 0; i < s->parts_done; i++)
            EVP_DigestUpdate(ctx, s->parts[i].md5, 16);
        if (EVP_DigestFinal_ex(ctx, md, &n) == 1 && n == 16) {
            ferry_sigv4_hex(md, 16, hex);
            snprintf(out, cap, "\"%s-%d\"", hex, s->parts_done);
        }
    }
    EVP_MD_CTX_free(ctx);
}

/* Compare the completed object's ETag with the one its parts imply.  radosgw
 * answers Complete with an empty <ETag>: ask with HEAD then. Warns only: the
 * object is published already, and each part was verified on its own. */
static void verify_etag(s3_sink *s, const char *etag, const char *want)
{
    if (!s->etags_plain || !want[0])
        return;
    char got[128];
    snprintf(got, sizeof got, "%s", etag);
    if (!got[0]) {
        int exists = 0;
        ferry_error e;
        if (s3_head_object(s->c, &s->ctl, s->bucket, s->key, &exists, &e) != FERRY_OK || !exists)
            return;
        snprintf(got, sizeof got, "%s", s->ctl.etag);
    }
    if (strcmp(got, want) != 0)
        ferry_log(FERRY_LOG_WARN, "s3(%s): CompleteMultipartUpload s3://%s/%s: ETag %s, expected %s",
                  s->c->cfg.conn_id, s->bucket, s->key, got, want);
}

static ferry_status complete_body(s3_sink *s, s3_buf *xml, ferry_error *err)
{
    int rc = s3_buf_appends(xml, "<CompleteMultipartUpload "
                                 "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">");
    for (int i = 0; i < s->parts_done; i++) {
        rc |= s3_buf_printf(xml, "<Part><PartNumber>%d</PartNumber><ETag>", i + 1);
        rc |= s3_xml_escape(xml, s->parts[i].etag, strlen(s->parts[i].etag));
        rc |= s3_buf_appends(xml, "</ETag></Part>");
    }
    rc |= s3_buf_appends(xml, "</CompleteMultipartUpload>");
    return rc ? oom(s, err) : FERRY_OK;
}

static ferry_status complete_upload(s3_sink *s, ferry_error *err)
{
    char t[S3_MAX_KEY_LEN + 80];
    target(s, t, sizeof t);
    for (int i = 0; i < s->parts_done; i++)
        if (!s->parts[i].etag[0])
            return fail(s, ferry_error_hook(err, FERRY_ERR_INTERNAL, "s3", s->c->cfg.conn_id,
                                            "CompleteMultipartUpload %s: part %d is missing", t,
                                            i + 1),
                        err);
    s3_buf xml = {0};
    ferry_status st = complete_body(s, &xml, err);
    if (st != FERRY_OK)
        return st;
    char want[48];
    expected_etag(s, want, sizeof want);

    s3_req r;
    memset(&r, 0, sizeof r);
    r.op = "CompleteMultipartUpload";
    r.method = "POST";
    r.bucket = s->bucket;
    r.key = s->key;
    r.body = xml.data;
    r.body_len = xml.len;
    r.no_retry = 1;          /* retried here: a 200 may carry an <Error> */
    s3_req_query(&r, "uploadId", s->upload_id);
    if (!s->replace)
        s3_req_header(&r, "If-None-Match", "*");
    s3_req_header(&r, "Content-Type", "application/xml");

    if (!s->replace) {
        /* radosgw accepts If-None-Match on CompleteMultipartUpload but ignores
         * it (AWS enforces it): look again right before publishing */
        int exists = 0;
        st = s3_head_object(s->c, &s->ctl, s->bucket, s->key, &exists, err);
        if (st == FERRY_ERR_CONNECT && s->ctl.status == 403) {
            ferry_error_clear(err);
            st = FERRY_OK;
        }
        if (st == FERRY_OK && exists)
            st = ferry_error_hook(err, FERRY_ERR_EXISTS, "s3", s->c->cfg.conn_id,
                                  "%s appeared during the upload (use --replace to overwrite it)",
                                  t);
        if (st != FERRY_OK) {
            s3_buf_release(&xml);
            return fail(s, st, err);
        }
    }

    ferry_retry rt;
    ferry_retry_init(&rt, s->c->max_attempts);
    for (int attempt = 1;; attempt++) {
        st = s3_request(s->c, &s->ctl, &r, err);
        if (st == FERRY_OK) {
            s3_error_doc doc;
            char etag[128];
            int found = s3_xml_find(s->ctl.resp.data, s->ctl.resp.len, "/ETag", etag, sizeof etag,
                                    &doc);
            if (doc.found) {
                int transient = 0;
                st = s3_error_status(200, doc.code, &transient);
                char detail[700];
                s3_error_detail(200, NULL, 0, &doc, detail, sizeof detail);
                ferry_error_hook(err, st, "s3", s->c->cfg.conn_id,
                                 "CompleteMultipartUpload %s failed: %s", t, detail);
                if (transient)
                    ferry_error_transient(err);
            } else if (found != 1) {
                char shown[160];
                s3_printable(s->ctl.resp.data ? s->ctl.resp.data : "", s->ctl.resp.len, shown,
                             sizeof shown);
                st = ferry_error_hook(err, FERRY_ERR_DATA, "s3", s->c->cfg.conn_id,
                                      "CompleteMultipartUpload %s failed: unexpected answer '%s'",
                                      t, shown);
                ferry_error_transient(err);
            } else {
                verify_etag(s, etag, want);
                break;
            }
        } else if (st == FERRY_ERR_NOT_FOUND && attempt > 1 && want[0]) {
            /* an earlier attempt may have completed it and lost the answer */
            int exists = 0;
            ferry_error e2;
            if (s3_head_object(s->c, &s->ctl, s->bucket, s->key, &exists, &e2) == FERRY_OK &&
                exists && strcmp(s->ctl.etag, want) == 0) {
                st = FERRY_OK;
                break;
            }
        }
        if (st == FERRY_ERR_EXISTS)
            ferry_error_hook(err, st, "s3", s->c->cfg.conn_id,
                             "CompleteMultipartUpload %s failed: it already exists (use --replace "
                             "to overwrite it)", t);
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
    s3_buf_release(&xml);
    if (st != FERRY_OK)
        return fail(s, st, err);
    ferry_log(FERRY_LOG_DEBUG, "s3: %s completed from %d parts", t, s->parts_done);
    return FERRY_OK;
}

static ferry_status sink_commit(ferry_writer *w, ferry_error *err)
{
    s3_sink *s = (s3_sink *)w;
    if (s->failed)
        return repeat_failure(s, err);
    if (s->committed || s->aborted)
        return ferry_error_set(err, FERRY_ERR_INTERNAL, "s3: commit after commit or abort");
    ferry_status st;
    if (!s->upload_id) {
        st = put_single(s, err);
    } else {
        if (s->cur && s->cur->len > 0) {
            st = dispatch(s, s->cur, err);
            if (st != FERRY_OK)
                return st;
        } else if (s->cur) {
            /* an empty slot was opened for a part that never came */
            if (!s->unsigned_payload)
                ferry_sha256_cleanup(&s->cur->sha);
            s->cur->state = SLOT_FREE;
            s->next_part--;
        }
        s->cur = NULL;
        for (;;) {
            int busy = 0;
            for (int i = 0; i < s->nslots; i++)
                busy |= s->slots[i].state == SLOT_FLIGHT || s->slots[i].state == SLOT_WAIT;
            if (!busy)
                break;
            st = pump(s, 200, err);
            if (st != FERRY_OK)
                return st;
        }
        st = complete_upload(s, err);
        if (st == FERRY_OK) {
            free(s->upload_id);
            s->upload_id = NULL;
        }
    }
    if (st != FERRY_OK)
        return fail(s, st, err);
    s->committed = 1;
    return FERRY_OK;
}

static void sink_abort(ferry_writer *w)
{
    s3_sink *s = (s3_sink *)w;
    if (s->aborted || s->committed)
        return;
    s->aborted = 1;
    for (int i = 0; i < s->nslots; i++) {
        s3_slot *sl = &s->slots[i];
        s3_xfer_cancel(&sl->xfer);
        if (sl->state == SLOT_FILLING && !s->unsigned_payload)
            ferry_sha256_cleanup(&sl->sha);
        sl->state = SLOT_FREE;
    }
    s->cur = NULL;
    if (s->upload_id) {
        ferry_error e;
        ferry_error_clear(&e);
        if (s3_abort_upload(s->c, &s->ctl, s->bucket, s->key, s->upload_id, &e) != FERRY_OK)
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

static void sink_free(ferry_writer *w)
{
    s3_sink *s = (s3_sink *)w;
    if (!s)
        return;
    if (s->c && !s->committed)
        sink_abort(w);
    for (int i = 0; s->slots && i < s->nslots; i++) {
        s3_slot *sl = &s->slots[i];
        s3_xfer_release(&sl->xfer);
        ferry_sha256_cleanup(&sl->sha);
        EVP_MD_CTX_free(sl->md5);
        free(sl->buf);
    }
    free(s->slots);
    s3_xfer_release(&s->ctl);
    s3_client_free(s->c);
    free(s->parts);
    free(s->upload_id);
    free(s->bucket);
    free(s->key);
    free(s);
}

/* Before anything is read from the source: does the object exist (without
 * --replace that is FERRY_ERR_EXISTS), does the bucket exist, are the
 * credentials accepted.  HEAD answers carry no S3 error code, so a 403 is
 * asked again with a 1-byte GET: AccessDenied (no read permission) lets the
 * upload go on - If-None-Match then decides - while a refused signature or
 * key fails now. */
static ferry_status preflight(s3_sink *s, ferry_error *err)
{
    const char *id = s->c->cfg.conn_id;
    int exists = 0;
    ferry_status st = s3_head_object(s->c, &s->ctl, s->bucket, s->key, &exists, err);
    if (st == FERRY_ERR_CONNECT && s->ctl.status == 403) {
        s3_req r;
        memset(&r, 0, sizeof r);
        r.op = "GetObject";
        r.method = "GET";
        r.bucket = s->bucket;
        r.key = s->key;
        r.no_retry = 1;
        s3_req_header(&r, "Range", "bytes=0-0");
        st = s3_request(s->c, &s->ctl, &r, err);
        if (st == FERRY_OK || s->ctl.status == 416) {
            exists = 1;           /* 416: an empty object */
            st = FERRY_OK;
        } else if (st == FERRY_ERR_NOT_FOUND && strstr(err->msg, "NoSuchKey")) {
            st = FERRY_OK;
        } else if (st == FERRY_ERR_CONNECT && strstr(err->msg, "AccessDenied")) {
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
    st = s3_head_object(s->c, &s->ctl, s->bucket, "", &bucket_exists, err);
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
    .abort = sink_abort,
    .free = sink_free,
};

ferry_status s3_open_sink(const ferry_endpoint *ep, const ferry_copy_options *o,
                          ferry_writer **out, ferry_error *err)
{
    *out = NULL;
    const char *id = s3_conn_id(ep->conn);
    s3_sink *s = calloc(1, sizeof *s);
    if (!s)
        return ferry_error_set(err, FERRY_ERR_INTERNAL, "s3: out of memory");
    s->base.ops = &sink_ops;
    s->base.rows = -1;
    s->etags_plain = 1;
    s->next_part = 1;
    s->replace = o && o->replace;
    ferry_status st = s3_split_path(ep->path, id, &s->bucket, &s->key, err);
    if (st != FERRY_OK)
        goto fail;
    if (!s->key[0]) {
        st = ferry_error_hook(err, FERRY_ERR_USAGE, "s3", id,
                              "s3://%s: the destination needs a key (s3://%s/name)", s->bucket,
                              s->bucket);
        goto fail;
    }
    st = s3_client_new(ep->conn, o, &s->c, err);
    if (st != FERRY_OK)
        goto fail;
    s->unsigned_payload = s->c->cfg.unsigned_payload;

    size_t part = o && o->s3_part_size ? o->s3_part_size : S3_DEFAULT_PART_SIZE;
    if (part < S3_MIN_PART_SIZE) {
        ferry_log(FERRY_LOG_WARN, "s3: part size %zu is below S3's minimum; using 5 MiB", part);
        part = S3_MIN_PART_SIZE;
    } else if (part > S3_MAX_PART_SIZE) {
        ferry_log(FERRY_LOG_WARN, "s3: part size %zu is above S3's maximum; using 5 GiB", part);
        part = S3_MAX_PART_SIZE;
    }
    s->base_part = part;
    int n = o && o->s3_concurrency > 0 ? o->s3_concurrency : S3_DEFAULT_CONCURRENCY;
    s->nslots = n > S3_MAX_CONCURRENCY ? S3_MAX_CONCURRENCY : n;
    s->slots = calloc((size_t)s->nslots, sizeof *s->slots);
    if (!s->slots) {
        st = ferry_error_set(err, FERRY_ERR_INTERNAL, "s3: out of memory");
        goto fail;
    }
    for (int i = 0; i < s->nslots; i++) {
        st = s3_xfer_init(&s->slots[i].xfer, err);
        if (st != FERRY_OK)
            goto fail;
    }
    st = s3_xfer_init(&s->ctl, err);
    if (st != FERRY_OK)
        goto fail;

    st = preflight(s, err);
    if (st != FERRY_OK)
        goto fail;
    *out = &s->base;
    return FERRY_OK;
fail:
    s->committed = 1;   /* nothing was started: free without an abort */
    sink_free(&s->base);
    return st;
}
