/*
 * hooks/s3/s3_sink.c - the S3 writer: a stream of unknown length becomes one
 * object, published atomically.
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
 *
 * Peak memory: concurrency x part size (+ a few KiB per slot); nothing is
 * allocated per part once the slots exist.
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
#include "hooks/s3/s3_internal.h"

/* FREE -> FILLING (producer) -> SEALED (handed off) -> HASHING -> FLIGHT
 * (uploader) <-> WAIT (retry backoff) -> FREE.  Transitions under s->mu. */
typedef enum { SLOT_FREE = 0, SLOT_FILLING, SLOT_SEALED, SLOT_HASHING, SLOT_FLIGHT, SLOT_WAIT } slot_state;

typedef enum { CK_NONE = 0, CK_MD5, CK_CRC32C } checksum_kind;

#define HASH_STEP S3_MIB    /* the uploader drives the transfers between steps */

typedef struct s3_slot {
    unsigned char *buf;     /* owned, cap bytes, reused for part after part */
    size_t cap;
    size_t len;             /* bytes filled */
    size_t limit;           /* size of the part being filled */
    int part;               /* part number while filling / in flight */
    slot_state state;
    ferry_sha256_ctx sha;   /* uploader: payload hash */
    int sha_live;           /* sha holds an initialised context */
    EVP_MD_CTX *md5;        /* owned, reused */
    char sha_hex[65];
    unsigned char md5_raw[16];
    char md5_hex[33];
    char md5_b64[25];
    uint32_t crc;
    char crc_b64[9];
    char part_str[12];
    s3_req req;             /* the UploadPart request (points into this slot) */
    s3_xfer xfer;
    ferry_retry retry;
    double retry_at;
} s3_slot;

/* One producer: the sink's caller, or one range of a ranged sink.  Its parts
 * are numbered first_part + local (local 0..max_local).  With hold_head, local
 * part 0 is filled into head (a private slot) and kept back, never handed off
 * (the ranged sink merges it with the previous range's tail at commit). */
typedef struct s3_prod {
    s3_slot *cur;           /* slot being filled (a pool slot or &head), NULL when none */
    int first_part;
    int next_local;         /* local index the next part gets */
    int max_local;
    int hold_head;
    s3_slot head;           /* hold_head: local part 0 (buf owned) */
    int64_t total;          /* bytes accepted */
} s3_prod;

typedef struct part_rec {
    unsigned char md5[16];
    size_t size;
    char crc_b64[9];
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
    s3_prod prod;           /* the plain sink's one producer */
    int parts_sent;         /* parts handed off (under mu) */
    checksum_kind checksum;
    int unsigned_payload;
    /* uploader side (read by the producer only after the thread stopped) */
    char *upload_id;        /* owned; set between Create and Complete/Abort */
    int create_unanswered;  /* a Create attempt got no answer: it may have made an upload */
    int64_t create_since;   /* unix s, just before the first Create attempt */
    part_rec *parts;        /* owned; parts[n - 1] = part n */
    size_t parts_cap;
    int parts_max;          /* highest part number recorded */
    int parts_count;        /* parts recorded */
    int etags_plain;        /* every part ETag was the part's MD5 */
    s3_xfer ctl;            /* Create / Complete / Put / Abort / Head */
    /* shared, under mu */
    pthread_mutex_t mu;
    pthread_cond_t space;   /* a slot became free, or a failure */
    pthread_cond_t work;    /* a slot was sealed, or drain/stop */
    pthread_t thread;
    int thread_live;
    int draining;           /* commit: finish every part, then stop */
    int stop;               /* abort: stop now */
    ferry_status failed;    /* first failure; every later call returns it */
    ferry_error fail_err;
    int committed;
    int aborted;
    /* --resume (plain sink only) */
    char *resume_path;      /* owned; NULL = no resume */
    char *resume_tmp;       /* owned: resume_path + ".tmp-", the temp files' prefix */
    s3_resume_state resumed;/* owned: what the interrupted run stored (nparts 0: nothing) */
    int resume_discard;     /* the source changed: abort the upload and drop the state */
    int resume_warned;      /* a failed state write was reported */
    ferry_buf state_json;      /* uploader: reused for every state write */
    int parts_skipped;      /* parts found stored already */
} s3_sink;

/* ---- helpers ---------------------------------------------------------------------- */

static ferry_status fail(s3_sink *s, ferry_status st, ferry_error *err)
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

static ferry_status failed_status(s3_sink *s)
{
    pthread_mutex_lock(&s->mu);
    ferry_status st = s->failed;
    pthread_mutex_unlock(&s->mu);
    return st;
}

static ferry_status repeat_failure(s3_sink *s, ferry_error *err)
{
    pthread_mutex_lock(&s->mu);
    ferry_status st = s->failed;
    if (err)
        *err = s->fail_err;
    pthread_mutex_unlock(&s->mu);
    return st;
}

static ferry_status oom(s3_sink *s, ferry_error *err)
{
    return fail(s, ferry_error_oom(err, "s3", NULL, NULL), err);
}

static void set_state(s3_sink *s, s3_slot *sl, slot_state st)
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

/* Hash a whole sealed slot: checksum and (signed payload) SHA-256.  step > 0:
 * in steps of that many bytes, calling between(s) after each (the uploader
 * drives its transfers there).  Runs on the uploader thread, or on the
 * producer's for a single PutObject. */
static ferry_status slot_hash(s3_sink *s, s3_slot *sl, size_t step,
                              ferry_status (*between)(s3_sink *, ferry_error *), ferry_error *err)
{
    if (s->checksum == CK_MD5) {
        if (!sl->md5 && !(sl->md5 = EVP_MD_CTX_new()))
            return oom(s, err);
        if (EVP_DigestInit_ex(sl->md5, EVP_md5(), NULL) != 1)
            return fail(s, ferry_error_set(err, FERRY_ERR_INTERNAL, "s3: MD5 is not available"),
                        err);
    }
    if (!s->unsigned_payload) {
        if (ferry_sha256_init(&sl->sha) != FERRY_OK)
            return fail(s, ferry_error_set(err, FERRY_ERR_INTERNAL, "s3: SHA-256 init failed"),
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
            return fail(s, ferry_error_set(err, FERRY_ERR_INTERNAL, "s3: hashing failed"), err);
        if (s->checksum == CK_CRC32C || s->resume_path)
            sl->crc = s3_crc32c(sl->crc, p, n);
        if (between && off + n < sl->len) {
            ferry_status st = between(s, err);
            if (st != FERRY_OK)
                return st;
        }
    }
    if (s->checksum == CK_MD5) {
        unsigned int n = 0;
        if (EVP_DigestFinal_ex(sl->md5, sl->md5_raw, &n) != 1 || n != 16)
            return fail(s, ferry_error_set(err, FERRY_ERR_INTERNAL, "s3: MD5 failed"), err);
        ferry_hex_encode(sl->md5_raw, 16, sl->md5_hex);
        ferry_base64_encode(sl->md5_raw, 16, sl->md5_b64, sizeof sl->md5_b64);
    } else {
        memset(sl->md5_raw, 0, sizeof sl->md5_raw);
        sl->md5_hex[0] = sl->md5_b64[0] = '\0';
    }
    if (s->checksum == CK_CRC32C || s->resume_path)
        s3_crc32c_b64(sl->crc, sl->crc_b64);
    else
        sl->crc_b64[0] = '\0';
    if (s->unsigned_payload) {
        snprintf(sl->sha_hex, sizeof sl->sha_hex, "%s", FERRY_SIGV4_UNSIGNED_PAYLOAD);
    } else {
        sl->sha_live = 0;
        if (ferry_sha256_final_hex(&sl->sha, sl->sha_hex) != FERRY_OK)
            return fail(s, ferry_error_set(err, FERRY_ERR_INTERNAL, "s3: SHA-256 failed"), err);
    }
    return FERRY_OK;
}

/* The per-part checksum header of a request. */
static void checksum_header(const s3_sink *s, s3_req *r, const s3_slot *sl)
{
    if (s->checksum == CK_MD5)
        s3_req_header(r, "Content-MD5", sl->md5_b64);
    else if (s->checksum == CK_CRC32C)
        s3_req_header(r, "x-amz-checksum-crc32c", sl->crc_b64);
}

/* ---- uploader thread: parts in flight ------------------------------------------------- */

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
    checksum_header(s, &sl->req, sl);
    sl->req.body = sl->buf;
    sl->req.body_len = sl->len;
    sl->req.payload_hash = sl->sha_hex;
    ferry_status st = s3_xfer_start(s->c, &sl->xfer, &sl->req, err);
    if (st != FERRY_OK)
        return fail(s, st, err);
    set_state(s, sl, SLOT_FLIGHT);
    return FERRY_OK;
}

static ferry_status parts_record(s3_sink *s, const s3_slot *sl, const char *etag, ferry_error *err)
{
    int part = sl->part;
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

/* --resume: rewrite the state file (uploader thread, or the caller's once the
 * uploader stopped).  A failed write is reported once and does not stop the
 * copy (only a later resume would miss the newest parts). */
static void state_write(s3_sink *s)
{
    if (!s->resume_path || !s->upload_id)
        return;
    ferry_buf *b = &s->state_json;
    ferry_buf_reset(b);
    int64_t consumed = 0;
    for (int i = 0; i < s->parts_max && s->parts[i].etag[0]; i++)
        consumed += (int64_t)s->parts[i].size;
    int rc = ferry_buf_appends(b, "{\"ferry_resume\": 1, \"bucket\": ");
    rc |= s3_json_str(b, s->bucket);
    rc |= ferry_buf_appends(b, ", \"key\": ");
    rc |= s3_json_str(b, s->key);
    rc |= ferry_buf_appends(b, ", \"upload_id\": ");
    rc |= s3_json_str(b, s->upload_id);
    rc |= ferry_buf_appendf(b, ", \"part_size\": %zu, \"checksum\": \"%s\", \"source_bytes\": %lld, "
                        "\"parts\": [", s->base_part,
                        s->checksum == CK_CRC32C ? "crc32c" : s->checksum == CK_MD5 ? "md5" : "none",
                        (long long)consumed);
    int first = 1;
    for (int i = 0; i < s->parts_max; i++) {
        const part_rec *pr = &s->parts[i];
        if (!pr->etag[0])
            continue;
        char md5[33] = "";
        if (s->checksum == CK_MD5)
            ferry_hex_encode(pr->md5, 16, md5);
        rc |= ferry_buf_appendf(b, "%s\n  {\"part\": %d, \"size\": %zu, \"etag\": ", first ? "" : ",",
                            i + 1, pr->size);
        rc |= s3_json_str(b, pr->etag);
        rc |= ferry_buf_appendf(b, ", \"crc32c\": \"%s\", \"md5\": \"%s\"}", pr->crc_b64, md5);
        first = 0;
    }
    rc |= ferry_buf_appends(b, "]}\n");
    ferry_error e;
    ferry_error_clear(&e);
    if (rc)
        ferry_error_oom(&e, "s3", NULL, NULL);
    if ((rc || s3_resume_save(s->resume_path, s->resume_tmp, b, &e) != FERRY_OK) &&
        !s->resume_warned) {
        s->resume_warned = 1;
        ferry_log(FERRY_LOG_WARN, "%s (the --resume state may lag behind)", e.msg);
    }
}

static int hex_to_md5(const char *hex, unsigned char out[16])
{
    if (strlen(hex) != 32)
        return 0;
    for (int i = 0; i < 16; i++) {
        unsigned v;
        if (sscanf(hex + 2 * i, "%2x", &v) != 1)
            return 0;
        out[i] = (unsigned char)v;
    }
    return 1;
}

/* --resume: a part the interrupted run stored already?  Compares the re-read
 * bytes' CRC-32C with the recorded one: equal = recorded as stored (*skipped),
 * different = the source changed (FERRY_ERR_DATA, the upload is discarded). */
static ferry_status resume_check(s3_sink *s, s3_slot *sl, int *skipped, ferry_error *err)
{
    *skipped = 0;
    const s3_resume_part *rp = s->resumed.nparts ? s3_resume_find(&s->resumed, sl->part) : NULL;
    if (!rp)
        return FERRY_OK;
    char b64[9];
    s3_crc32c_b64(s3_crc32c(0, sl->buf, sl->len), b64);
    if (rp->size != sl->len || strcmp(b64, rp->crc32c) != 0) {
        s->resume_discard = 1;
        return fail(s, ferry_error_hook(err, FERRY_ERR_DATA, "s3", s->c->cfg.conn_id,
                                        "--resume s3://%s/%s: part %d of the source (%zu bytes, "
                                        "crc32c %s) is not the part stored before (%zu bytes, "
                                        "crc32c %s): the source changed; the upload is aborted "
                                        "and %s removed",
                                        s->bucket, s->key, sl->part, sl->len, b64, rp->size,
                                        rp->crc32c, s->resume_path),
                    err);
    }
    memcpy(sl->crc_b64, b64, sizeof sl->crc_b64);
    memset(sl->md5_raw, 0, sizeof sl->md5_raw);
    if (s->checksum == CK_MD5 && !hex_to_md5(rp->md5, sl->md5_raw))
        s->etags_plain = 0;
    ferry_status st = parts_record(s, sl, rp->etag, err);
    if (st != FERRY_OK)
        return st;
    s->parts_skipped++;
    ferry_log(FERRY_LOG_DEBUG, "s3: s3://%s/%s part %d (%zu bytes) already stored, not sent again "
              "(--resume)", s->bucket, s->key, sl->part, sl->len);
    state_write(s);
    set_state(s, sl, SLOT_FREE);
    *skipped = 1;
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
        } else if (s->checksum == CK_MD5 && plain_md5_etag(sl->xfer.etag, hex)) {
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
        st = parts_record(s, sl, sl->xfer.etag, err);
        if (st != FERRY_OK)
            return st;
        ferry_log(FERRY_LOG_DEBUG, "s3: %s part %d (%zu bytes) stored, ETag %s", t, sl->part,
                  sl->len, sl->xfer.etag);
        state_write(s);
        set_state(s, sl, SLOT_FREE);
        return FERRY_OK;
    }
    double delay = 0;
    if (st != FERRY_ERR_INTERRUPTED && s3_retry_plan(&sl->retry, &e, &delay)) {
        ferry_log(FERRY_LOG_WARN, "%s (retrying part %d in %.1f s)", e.msg, sl->part, delay);
        sl->retry_at = ferry_now_monotonic() + delay;
        set_state(s, sl, SLOT_WAIT);
        return FERRY_OK;
    }
    if (err)
        *err = e;
    return fail(s, e.status ? e.status : st, err);
}

/* Make progress on every part in flight; wait up to wait_ms when nothing
 * finished (a hand-off wakes the wait early). Uploader thread only. */
static ferry_status pump(s3_sink *s, int wait_ms, ferry_error *err)
{
    double now = ferry_now_monotonic();
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
    now = ferry_now_monotonic();
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

static ferry_status pump_now(s3_sink *s, ferry_error *err)
{
    return pump(s, 0, err);
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
    if (s->checksum == CK_CRC32C)
        s3_req_header(&r, "x-amz-checksum-algorithm", "CRC32C");
    /* retried here: an attempt that failed without an answer may have
     * created an upload all the same (see s3_orphans.c) */
    r.no_retry = 1;
    int64_t since = (int64_t)time(NULL) - S3_ORPHAN_SLACK;
    int unanswered = 0;
    ferry_retry rt;
    ferry_retry_init(&rt, s->c->max_attempts);
    ferry_status st;
    for (;;) {
        st = s3_request(s->c, &s->ctl, &r, err);
        if (st == FERRY_OK)
            break;
        unanswered |= st == FERRY_ERR_INTERRUPTED || st == FERRY_ERR_TIMEOUT ||
                      st == FERRY_ERR_TRANSIENT || s->ctl.status == 0 || s->ctl.status >= 500;
        if (!err->transient || ferry_cancelled() || !ferry_retry_again(&rt, err))
            break;
    }
    char id[1024];
    int have_id = st == FERRY_OK &&
                  s3_xml_find(s->ctl.resp.data, s->ctl.resp.len, "/UploadId", id, sizeof id, NULL) == 1 &&
                  id[0];
    s->create_since = since;
    s->create_unanswered |= unanswered;
    if (unanswered) {
        ferry_error e;
        ferry_error_clear(&e);
        int n = 0;
        if (s3_abort_orphans(s->c, s->bucket, s->key, since, have_id ? id : NULL, &n, &e) != FERRY_OK)
            ferry_log(FERRY_LOG_ERROR, "%s; an upload started by the interrupted "
                      "CreateMultipartUpload of s3://%s/%s may be left behind", e.msg, s->bucket,
                      s->key);
    }
    if (st != FERRY_OK)
        return fail(s, st, err);
    if (!have_id) {
        char t[S3_MAX_KEY_LEN + 80], shown[160];
        target(s, t, sizeof t);
        s3_printable(s->ctl.resp.data ? s->ctl.resp.data : "", s->ctl.resp.len, shown, sizeof shown);
        return fail(s, ferry_error_hook(err, FERRY_ERR_DATA, "s3", s->c->cfg.conn_id,
                                        "CreateMultipartUpload %s failed: no UploadId in '%s'", t,
                                        shown),
                    err);
    }
    char *upload_id = strdup(id);
    if (!upload_id)
        return oom(s, err);
    pthread_mutex_lock(&s->mu);
    s->upload_id = upload_id;   /* under mu for s3_sink_wait_upload */
    pthread_cond_broadcast(&s->space);
    pthread_mutex_unlock(&s->mu);
    ferry_log(FERRY_LOG_DEBUG, "s3: multipart upload %s of s3://%s/%s started", id, s->bucket,
              s->key);
    return FERRY_OK;
}

/* A sealed slot: create the upload if needed, hash (driving the other parts
 * meanwhile), send. */
static ferry_status dispatch(s3_sink *s, s3_slot *sl, ferry_error *err)
{
    if (!s->upload_id) {
        ferry_status st = create_upload(s, err);
        if (st != FERRY_OK)
            return st;
        state_write(s);
    }
    int skipped = 0;
    ferry_status st = resume_check(s, sl, &skipped, err);
    if (st != FERRY_OK || skipped)
        return st;
    st = slot_hash(s, sl, HASH_STEP, pump_now, err);
    if (st != FERRY_OK)
        return st;
    ferry_retry_init(&sl->retry, s->c->max_attempts);
    return part_start(s, sl, err);
}

static void *uploader_main(void *arg)
{
    s3_sink *s = arg;
    ferry_error e;
    ferry_error_clear(&e);
    for (;;) {
        s3_slot *next = NULL;
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
                s3_slot *sl = &s->slots[i];
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
            fail(s, st, &e);
            return NULL;
        }
    }
}

/* Start the uploader (at the first hand-off) with every signal blocked.
 * Called with s->mu held. */
static ferry_status uploader_start(s3_sink *s, ferry_error *err)
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
static void uploader_stop(s3_sink *s, int drain)
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
static ferry_status hand_off(s3_sink *s, s3_prod *p, ferry_error *err)
{
    s3_slot *sl = p->cur;
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
static ferry_status acquire(s3_sink *s, s3_prod *p, ferry_error *err)
{
    int local = p->next_local;
    if (local > p->max_local) {
        char t[S3_MAX_KEY_LEN + 80];
        target(s, t, sizeof t);
        return fail(s, ferry_error_hook(err, FERRY_ERR_DATA, "s3", s->c->cfg.conn_id,
                                        "UploadPart %s failed: %s needs more than %d parts "
                                        "(raise --part-size)",
                                        t, p->max_local + 1 < S3_MAX_PARTS ? "a range" : "the object",
                                        p->max_local + 1),
                    err);
    }
    size_t limit = part_size_for(s->base_part, local + 1);
    s3_slot *sl = NULL;
    if (local == 0 && p->hold_head) {
        sl = &p->head;
        goto fill;
    }
    pthread_mutex_lock(&s->mu);
    for (;;) {
        if (s->failed) {
            pthread_mutex_unlock(&s->mu);
            return repeat_failure(s, err);
        }
        for (int i = 0; i < s->nslots && !sl; i++)
            if (s->slots[i].state == SLOT_FREE)
                sl = &s->slots[i];
        if (sl)
            break;
        if (ferry_cancelled()) {
            pthread_mutex_unlock(&s->mu);
            return fail(s, ferry_error_hook(err, FERRY_ERR_INTERRUPTED, "s3", s->c->cfg.conn_id,
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
fill:
    if (sl->cap < limit) {
        free(sl->buf);
        sl->buf = malloc(limit);
        sl->cap = sl->buf ? limit : 0;
        if (!sl->buf)
            return oom(s, err);
    }
    sl->part = p->first_part + local;
    sl->limit = limit;
    sl->len = 0;
    p->next_local++;
    p->cur = sl;
    return FERRY_OK;
}

/* The producer's write: memcpy into the part being filled, hand-offs. */
static ferry_status prod_write(s3_sink *s, s3_prod *p, const void *buf, size_t len,
                               ferry_error *err)
{
    const unsigned char *b = buf;
    while (len > 0) {
        ferry_status st;
        if (p->cur && p->cur->len == p->cur->limit) {
            /* a full part is sent only once more data shows it is not the last:
             * an object of exactly one part stays a single PutObject */
            st = hand_off(s, p, err);
            if (st != FERRY_OK)
                return st;
        }
        if (!p->cur) {
            st = acquire(s, p, err);
            if (st != FERRY_OK)
                return st;
        }
        s3_slot *sl = p->cur;
        size_t n = sl->limit - sl->len;
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

static ferry_status sink_write(ferry_writer *w, const void *buf, size_t len, ferry_error *err)
{
    s3_sink *s = (s3_sink *)w;
    if (failed_status(s))
        return repeat_failure(s, err);
    if (s->committed || s->aborted)
        return ferry_error_set(err, FERRY_ERR_INTERNAL, "s3: write after commit or abort");
    return prod_write(s, &s->prod, buf, len, err);
}

/* ---- commit ----------------------------------------------------------------------------- */

/* PutObject of one buffer (sl NULL = empty object), on the caller's thread. */
static ferry_status put_single(s3_sink *s, s3_slot *sl, ferry_error *err)
{
    static const unsigned char empty = 0;
    s3_slot none;
    if (!sl) {
        memset(&none, 0, sizeof none);
        none.buf = (unsigned char *)&empty;
        sl = &none;
    }
    ferry_status st = slot_hash(s, sl, 0, NULL, err);
    if (st != FERRY_OK) {
        if (sl == &none) {
            EVP_MD_CTX_free(none.md5);
            if (none.sha_live)
                ferry_sha256_cleanup(&none.sha);
        }
        return st;
    }
    s3_req r;
    memset(&r, 0, sizeof r);
    r.op = "PutObject";
    r.method = "PUT";
    r.bucket = s->bucket;
    r.key = s->key;
    r.body = sl->buf;
    r.body_len = sl->len;
    r.payload_hash = sl->sha_hex;
    checksum_header(s, &r, sl);
    if (!s->replace)
        s3_req_header(&r, "If-None-Match", "*");
    st = s3_request(s->c, &s->ctl, &r, err);
    char md5_hex[33];
    memcpy(md5_hex, sl->md5_hex, sizeof md5_hex);
    if (sl == &none)
        EVP_MD_CTX_free(none.md5);
    if (st == FERRY_ERR_EXISTS)
        ferry_error_hook(err, st, "s3", s->c->cfg.conn_id,
                         "PutObject s3://%s/%s failed: it already exists (use --replace to "
                         "overwrite it)", s->bucket, s->key);
    if (st != FERRY_OK)
        return fail(s, st, err);
    char hex[33];
    if (md5_hex[0] && plain_md5_etag(s->ctl.etag, hex) && !s->ctl.sse_opaque &&
        strcmp(hex, md5_hex) != 0)
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
static void verify_etag(s3_sink *s, const char *etag, const char *head_etag, const char *want)
{
    if (!s->etags_plain || !want[0])
        return;
    const char *got = etag[0] ? etag : head_etag;
    if (got[0] && strcmp(got, want) != 0)
        ferry_log(FERRY_LOG_WARN, "s3(%s): CompleteMultipartUpload s3://%s/%s: ETag %s, expected %s",
                  s->c->cfg.conn_id, s->bucket, s->key, got, want);
}

static ferry_status complete_body(s3_sink *s, ferry_buf *xml, ferry_error *err)
{
    int rc = ferry_buf_appends(xml, "<CompleteMultipartUpload "
                                 "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">");
    for (int i = 0; i < s->parts_max; i++) {
        if (!s->parts[i].etag[0])
            continue;       /* ranged uploads number their parts in blocks */
        rc |= ferry_buf_appendf(xml, "<Part><PartNumber>%d</PartNumber><ETag>", i + 1);
        rc |= s3_xml_escape(xml, s->parts[i].etag, strlen(s->parts[i].etag));
        rc |= ferry_buf_appends(xml, "</ETag>");
        if (s->checksum == CK_CRC32C)
            rc |= ferry_buf_appendf(xml, "<ChecksumCRC32C>%s</ChecksumCRC32C>", s->parts[i].crc_b64);
        rc |= ferry_buf_appends(xml, "</Part>");
    }
    rc |= ferry_buf_appends(xml, "</CompleteMultipartUpload>");
    return rc ? oom(s, err) : FERRY_OK;
}

static ferry_status complete_upload(s3_sink *s, char *etag_out, size_t etag_cap, const char *want,
                                    ferry_error *err)
{
    char t[S3_MAX_KEY_LEN + 80];
    target(s, t, sizeof t);
    if (s->parts_count != s->parts_sent)
        return fail(s, ferry_error_hook(err, FERRY_ERR_INTERNAL, "s3", s->c->cfg.conn_id,
                                        "CompleteMultipartUpload %s: %d parts were sent, %d "
                                        "stored", t, s->parts_sent, s->parts_count),
                    err);
    ferry_buf xml = {0};
    ferry_status st = complete_body(s, &xml, err);
    if (st != FERRY_OK)
        return st;

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
            ferry_buf_release(&xml);
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
                snprintf(etag_out, etag_cap, "%s", etag);
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
        return fail(s, st, err);
    ferry_log(FERRY_LOG_DEBUG, "s3: %s completed from %d parts", t, s->parts_count);
    return FERRY_OK;
}

/* The final check: the published object must be as long as what was written.
 * A mismatch deletes the object (it is not what the source produced) and
 * fails with FERRY_ERR_DATA.  head_etag gets the ETag HEAD saw. */
static ferry_status verify_size(s3_sink *s, int64_t total, char *head_etag, size_t cap,
                                ferry_error *err)
{
    int exists = 0;
    char t[S3_MAX_KEY_LEN + 80];
    target(s, t, sizeof t);
    head_etag[0] = '\0';
    ferry_status st = s3_head_object(s->c, &s->ctl, s->bucket, s->key, &exists, err);
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
    if (s3_delete_objects(s->c, s->bucket, keys, 1, NULL, &e) != FERRY_OK)
        ferry_log(FERRY_LOG_ERROR, "%s; the wrong object %s is left in place", e.msg, t);
    return bad;
}


/* CompleteMultipartUpload (want: the MD5-of-MD5s ETag when parts carried
 * Content-MD5, else ""), then forget the upload id so abort leaves the object
 * alone.  Shared by the plain and the ranged commit. */
static ferry_status complete_and_forget(s3_sink *s, char *etag, size_t etag_cap, char *want, size_t want_cap,
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
static ferry_status verify_committed(s3_sink *s, int64_t total, const char *etag, const char *want, ferry_error *err)
{
    char head_etag[128] = "";
    ferry_status st = verify_size(s, total, head_etag, sizeof head_etag, err);
    if (st == FERRY_OK && want[0])
        verify_etag(s, etag, head_etag, want);
    return st;
}

static ferry_status sink_commit(ferry_writer *w, ferry_error *err)
{
    s3_sink *s = (s3_sink *)w;
    if (failed_status(s))
        return repeat_failure(s, err);
    if (s->committed || s->aborted)
        return ferry_error_set(err, FERRY_ERR_INTERNAL, "s3: commit after commit or abort");
    ferry_status st;
    char etag[128] = "", want[48] = "";
    s3_prod *p = &s->prod;
    if (!s->thread_live && !s->upload_id) {
        st = put_single(s, p->cur, err);     /* at most one part: nothing was handed off */
    } else {
        if (p->cur && p->cur->len > 0) {
            st = hand_off(s, p, err);
            if (st != FERRY_OK)
                return st;
        } else if (p->cur) {
            set_state(s, p->cur, SLOT_FREE);   /* opened for a part that never came */
            p->cur = NULL;
            p->next_local--;
        }
        uploader_stop(s, 1);
        if (s->failed)
            return repeat_failure(s, err);
        if (ferry_cancelled())
            return fail(s, ferry_error_hook(err, FERRY_ERR_INTERRUPTED, "s3", s->c->cfg.conn_id,
                                            "CompleteMultipartUpload s3://%s/%s interrupted",
                                            s->bucket, s->key),
                        err);
        st = complete_and_forget(s, etag, sizeof etag, want, sizeof want, err);
    }
    if (st == FERRY_OK)
        st = verify_committed(s, p->total, etag, want, err);
    if (st != FERRY_OK)
        return fail(s, st, err);
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

static void sink_abort(ferry_writer *w)
{
    s3_sink *s = (s3_sink *)w;
    if (s->aborted || s->committed)
        return;
    s->aborted = 1;
    uploader_stop(s, 0);
    for (int i = 0; i < s->nslots; i++) {
        s3_slot *sl = &s->slots[i];
        s3_xfer_cancel(&sl->xfer);
        sl->state = SLOT_FREE;
    }
    s->prod.cur = NULL;
    if (s->resume_path && s->upload_id && !s->resume_discard) {
        state_write(s);
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
        /* the server may have finished that Create after create_upload's
         * scan: look again now that the uploader has stopped */
        ferry_error e;
        ferry_error_clear(&e);
        if (s3_abort_orphans(s->c, s->bucket, s->key, s->create_since, s->upload_id, NULL, &e) !=
            FERRY_OK)
            ferry_log(FERRY_LOG_ERROR, "%s; an upload started by an unanswered "
                      "CreateMultipartUpload of s3://%s/%s may be left behind", e.msg, s->bucket,
                      s->key);
    }
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
    uploader_stop(s, 0);
    for (int i = 0; s->slots && i < s->nslots; i++) {
        s3_slot *sl = &s->slots[i];
        s3_xfer_release(&sl->xfer);
        if (sl->sha_live)
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
    free(s->resume_path);
    free(s->resume_tmp);
    s3_resume_release(&s->resumed);
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

int s3_sink_wait_upload(ferry_writer *w, int timeout_ms)
{
    if (!w || w->ops != &sink_ops)
        return 0;
    s3_sink *s = (s3_sink *)w;
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

/* ListParts: does the upload still exist?  *exists 0 when S3 says NoSuchUpload. */
static ferry_status upload_exists(s3_sink *s, const char *upload_id, int *exists, ferry_error *err)
{
    s3_req r;
    memset(&r, 0, sizeof r);
    r.op = "ListParts";
    r.method = "GET";
    r.bucket = s->bucket;
    r.key = s->key;
    s3_req_query(&r, "max-parts", "1");
    s3_req_query(&r, "uploadId", upload_id);
    *exists = 0;
    ferry_status st = s3_request(s->c, &s->ctl, &r, err);
    if (st == FERRY_ERR_NOT_FOUND) {
        ferry_error_clear(err);
        return FERRY_OK;
    }
    if (st == FERRY_OK)
        *exists = 1;
    return st;
}

/* --resume FILE at open: remember the path; when FILE holds the state of an
 * interrupted upload of this very destination with the same part size and
 * checksum, and the upload still exists, continue it. */
static ferry_status resume_open(s3_sink *s, const char *path, ferry_error *err)
{
    const char *id = s->c->cfg.conn_id;
    s->resume_path = strdup(path);
    if (!s->resume_path || asprintf(&s->resume_tmp, "%s.tmp-", path) < 0) {
        s->resume_tmp = NULL;
        return ferry_error_oom(err, "s3", NULL, NULL);
    }
    int found = 0;
    ferry_status st = s3_resume_load(path, &s->resumed, &found, err);
    if (st != FERRY_OK || !found)
        return st;
    s3_resume_state *rs = &s->resumed;
    const char *ck = s->checksum == CK_CRC32C ? "crc32c" : s->checksum == CK_MD5 ? "md5" : "none";
    if (strcmp(rs->bucket, s->bucket) != 0 || strcmp(rs->key, s->key) != 0)
        st = ferry_error_hook(err, FERRY_ERR_USAGE, "s3", id,
                              "--resume %s belongs to s3://%s/%s, not s3://%s/%s", path,
                              rs->bucket, rs->key, s->bucket, s->key);
    else if (rs->part_size != s->base_part || strcmp(rs->checksum, ck) != 0)
        st = ferry_error_hook(err, FERRY_ERR_USAGE, "s3", id,
                              "--resume %s: the upload was started with --part-size %zu "
                              "--checksum %s; run it again with the same (now %zu, %s)",
                              path, rs->part_size, rs->checksum, s->base_part, ck);
    if (st != FERRY_OK)
        return st;
    int exists = 0;
    st = upload_exists(s, rs->upload_id, &exists, err);
    if (st != FERRY_OK)
        return st;
    if (!exists) {
        ferry_log(FERRY_LOG_WARN, "s3: the multipart upload %s in %s no longer exists; starting "
                  "a new upload", rs->upload_id, path);
        s3_resume_release(rs);
        unlink(path);
        return FERRY_OK;
    }
    s->upload_id = strdup(rs->upload_id);
    if (!s->upload_id)
        return ferry_error_oom(err, "s3", NULL, NULL);
    ferry_log(FERRY_LOG_INFO, "s3: resuming multipart upload %s of s3://%s/%s: %d parts stored "
              "(%lld bytes of the source); the source is read again and checked part by part",
              s->upload_id, s->bucket, s->key, rs->nparts, (long long)rs->source_bytes);
    return FERRY_OK;
}

/* --checksum: "crc32c", "md5", "none"; NULL/"auto" = crc32c on AWS itself;
 * on a custom endpoint (radosgw 16.2 ignores x-amz-checksum-crc32c, see
 * docs/hooks/s3.md) md5 when the payload is unsigned, none when it is signed:
 * the server then checks the SHA-256 of every part already, and MD5 was a
 * fifth of ferry's CPU in an SFTP -> S3 copy (perf, 1 GiB).  The connection
 * extra checksum=... decides for auto. */
static checksum_kind checksum_for(const ferry_conn *conn, const s3_config *cfg, const char *opt, int unsigned_payload)
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

ferry_status s3_open_sink(const ferry_endpoint *ep, const ferry_copy_options *o,
                          ferry_writer **out, ferry_error *err)
{
    *out = NULL;
    const char *id = s3_conn_id(ep->conn);
    s3_sink *s = calloc(1, sizeof *s);
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
    int n = o && o->s3_concurrency > 0 ? o->s3_concurrency : S3_DEFAULT_CONCURRENCY;
    s->nslots = n > S3_MAX_CONCURRENCY ? S3_MAX_CONCURRENCY : n;
    s->slots = calloc((size_t)s->nslots, sizeof *s->slots);
    if (!s->slots) {
        st = ferry_error_oom(err, "s3", NULL, NULL);
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
    if (st == FERRY_OK && o && o->resume_file)
        st = resume_open(s, o->resume_file, err);
    if (st != FERRY_OK)
        goto fail;
    *out = &s->base;
    return FERRY_OK;
fail:
    s->committed = 1;   /* nothing was started: free without an abort */
    sink_free(&s->base);
    return st;
}

/* ---- ranged sink: n producers, one multipart upload ---------------------------------- *
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
 * plus up to two part buffers per range. */

typedef struct s3_ranged s3_ranged;

typedef struct s3_range {
    ferry_writer base;
    s3_ranged *rs;          /* borrowed: the owner */
    int r;
    s3_prod prod;
    unsigned char *tail;    /* owned: the range's last part, copied at its commit */
    size_t tail_len;
    int single;             /* the whole range is its head (or it is empty) */
    int committed;
} s3_range;

struct s3_ranged {
    ferry_ranged_sink base;
    s3_sink *s;             /* owned: the engine (its writer ops are not used) */
    s3_range *ranges;       /* owned, base.n */
    int block;
    int committed;
};

static ferry_status range_write(ferry_writer *w, const void *buf, size_t len, ferry_error *err)
{
    s3_range *rg = (s3_range *)w;
    s3_sink *s = rg->rs->s;
    if (failed_status(s))
        return repeat_failure(s, err);
    if (rg->committed)
        return ferry_error_set(err, FERRY_ERR_INTERNAL, "s3: write to range %d after its commit",
                               rg->r);
    return prod_write(s, &rg->prod, buf, len, err);
}

static ferry_status range_commit(ferry_writer *w, ferry_error *err)
{
    s3_range *rg = (s3_range *)w;
    s3_sink *s = rg->rs->s;
    s3_prod *p = &rg->prod;
    if (failed_status(s))
        return repeat_failure(s, err);
    if (rg->committed)
        return ferry_error_set(err, FERRY_ERR_INTERNAL, "s3: range %d committed twice", rg->r);
    if (!p->cur || p->cur == &p->head) {
        rg->single = rg->r > 0 || !p->cur;  /* range 0 has no head: its only part is a tail */
        p->cur = NULL;
    } else {
        s3_slot *sl = p->cur;
        rg->tail = malloc(sl->len ? sl->len : 1);
        if (!rg->tail)
            return oom(s, err);
        memcpy(rg->tail, sl->buf, sl->len);
        rg->tail_len = sl->len;
        p->cur = NULL;
        set_state(s, sl, SLOT_FREE);
    }
    rg->committed = 1;
    ferry_log(FERRY_LOG_DEBUG, "s3: s3://%s/%s range %d complete: %lld bytes", s->bucket, s->key,
              rg->r, (long long)p->total);
    return FERRY_OK;
}

static void range_abort(ferry_writer *w)
{
    s3_range *rg = (s3_range *)w;
    s3_sink *s = rg->rs->s;
    ferry_error e;
    if (!rg->rs->committed)
        fail(s, ferry_error_hook(&e, FERRY_ERR_INTERRUPTED, "s3", s->c->cfg.conn_id,
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
static ferry_status upload_part_sync(s3_sink *s, int number, const void *data, size_t len,
                                     ferry_error *err)
{
    if (!s->upload_id) {
        ferry_status st = create_upload(s, err);
        if (st != FERRY_OK)
            return st;
    }
    s3_slot t;
    memset(&t, 0, sizeof t);
    t.buf = (unsigned char *)data;
    t.len = len;
    t.part = number;
    ferry_status st = slot_hash(s, &t, 0, NULL, err);
    if (st == FERRY_OK) {
        s3_req r;
        memset(&r, 0, sizeof r);
        snprintf(t.part_str, sizeof t.part_str, "%d", number);
        r.op = "UploadPart";
        r.method = "PUT";
        r.bucket = s->bucket;
        r.key = s->key;
        s3_req_query(&r, "partNumber", t.part_str);
        s3_req_query(&r, "uploadId", s->upload_id);
        checksum_header(s, &r, &t);
        r.body = data;
        r.body_len = len;
        r.payload_hash = t.sha_hex;
        st = s3_request(s->c, &s->ctl, &r, err);
        char hex[33];
        if (st == FERRY_OK && !s->ctl.etag[0])
            st = ferry_error_hook(err, FERRY_ERR_DATA, "s3", s->c->cfg.conn_id,
                                  "UploadPart s3://%s/%s part %d failed: the answer has no ETag",
                                  s->bucket, s->key, number);
        else if (st == FERRY_OK && s->checksum == CK_MD5 && plain_md5_etag(s->ctl.etag, hex) &&
                 !s->ctl.sse_opaque && strcmp(hex, t.md5_hex) != 0)
            st = ferry_error_hook(err, FERRY_ERR_DATA, "s3", s->c->cfg.conn_id,
                                  "UploadPart s3://%s/%s part %d failed: ETag %s is not the MD5 "
                                  "%s of the data sent",
                                  s->bucket, s->key, number, s->ctl.etag, t.md5_hex);
        else if (st == FERRY_OK && (s->checksum != CK_MD5 || !plain_md5_etag(s->ctl.etag, hex)))
            s->etags_plain = 0;
        if (st == FERRY_OK) {
            st = parts_record(s, &t, s->ctl.etag, err);
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
    return st == FERRY_OK ? FERRY_OK : fail(s, st, err);
}

static ferry_writer *ranged_writer(ferry_ranged_sink *base, int r)
{
    s3_ranged *rs = (s3_ranged *)base;
    return r >= 0 && r < base->n ? &rs->ranges[r].base : NULL;
}

static ferry_status ranged_commit(ferry_ranged_sink *base, ferry_error *err)
{
    s3_ranged *rs = (s3_ranged *)base;
    s3_sink *s = rs->s;
    if (failed_status(s))
        return repeat_failure(s, err);
    if (rs->committed || s->aborted)
        return ferry_error_set(err, FERRY_ERR_INTERNAL, "s3: ranged commit after commit or abort");
    for (int r = 0; r < base->n; r++)
        if (!rs->ranges[r].committed)
            return ferry_error_hook(err, FERRY_ERR_INTERNAL, "s3", s->c->cfg.conn_id,
                                    "s3://%s/%s: range %d was not committed", s->bucket, s->key,
                                    r);
    uploader_stop(s, 1);
    if (s->failed)
        return repeat_failure(s, err);
    /* the junctions, in order; carry = bytes not uploaded yet */
    ferry_buf carry = {0};
    int64_t total = 0;
    ferry_status st = FERRY_OK;
    for (int r = 0; r < base->n && st == FERRY_OK; r++) {
        s3_range *rg = &rs->ranges[r];
        total += rg->prod.total;
        if (ferry_cancelled()) {
            st = fail(s, ferry_error_hook(err, FERRY_ERR_INTERRUPTED, "s3", s->c->cfg.conn_id,
                                          "s3://%s/%s: interrupted", s->bucket, s->key),
                      err);
            break;
        }
        if (r > 0 && rg->single) {
            if (ferry_buf_append(&carry, rg->prod.head.buf ? (const char *)rg->prod.head.buf : "",
                              rg->prod.head.len))
                st = oom(s, err);
        } else if (r > 0) {
            if (ferry_buf_append(&carry, rg->prod.head.buf, rg->prod.head.len)) {
                st = oom(s, err);
                break;
            }
            st = upload_part_sync(s, rg->prod.first_part, carry.data, carry.len, err);
            ferry_buf_reset(&carry);
        }
        if (st == FERRY_OK && rg->tail && ferry_buf_append(&carry, rg->tail, rg->tail_len))
            st = oom(s, err);
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
        s3_slot one;
        memset(&one, 0, sizeof one);
        one.buf = (unsigned char *)(carry.data ? carry.data : "");
        one.len = carry.len;
        st = put_single(s, &one, err);
        EVP_MD_CTX_free(one.md5);
    } else if (st == FERRY_OK) {
        if (carry.len > 0)
            st = upload_part_sync(s, base->n * rs->block, carry.data, carry.len, err);
        if (st == FERRY_OK)
            st = complete_and_forget(s, etag, sizeof etag, want, sizeof want, err);
    }
    ferry_buf_release(&carry);
    if (st == FERRY_OK)
        st = verify_committed(s, total, etag, want, err);
    if (st != FERRY_OK)
        return fail(s, st, err);
    ferry_log(FERRY_LOG_DEBUG, "s3: s3://%s/%s completed from %d ranges, %d parts, %lld bytes",
              s->bucket, s->key, base->n, s->parts_count, (long long)total);
    rs->committed = 1;
    s->committed = 1;
    return FERRY_OK;
}

static void ranged_abort(ferry_ranged_sink *base)
{
    s3_ranged *rs = (s3_ranged *)base;
    if (!rs->committed)
        sink_abort(&rs->s->base);
}

static void ranged_free(ferry_ranged_sink *base)
{
    s3_ranged *rs = (s3_ranged *)base;
    if (!rs)
        return;
    if (rs->s && !rs->committed)
        sink_abort(&rs->s->base);
    for (int r = 0; rs->ranges && r < base->n; r++) {
        free(rs->ranges[r].tail);
        free(rs->ranges[r].prod.head.buf);
    }
    free(rs->ranges);
    if (rs->s)
        sink_free(&rs->s->base);
    free(rs);
}

static const ferry_ranged_sink_ops ranged_ops = {
    .name = "s3",
    .writer = ranged_writer,
    .commit = ranged_commit,
    .abort = ranged_abort,
    .free = ranged_free,
};

ferry_status s3_open_ranged_sink(const ferry_endpoint *ep, const ferry_copy_options *o, int n,
                                 ferry_ranged_sink **out, ferry_error *err)
{
    *out = NULL;
    if (n < 1 || n > S3_MAX_PARTS / 2)
        return ferry_error_hook(err, FERRY_ERR_USAGE, "s3", s3_conn_id(ep->conn),
                                "%d ranges: an S3 object can take 1 to %d", n, S3_MAX_PARTS / 2);
    s3_ranged *rs = calloc(1, sizeof *rs);
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
    ferry_status st = s3_open_sink(ep, o ? &o2 : NULL, &w, err);
    if (st != FERRY_OK) {
        free(rs);
        return st;
    }
    rs->s = (s3_sink *)w;
    rs->ranges = calloc((size_t)n, sizeof *rs->ranges);
    if (!rs->ranges) {
        ranged_free(&rs->base);
        return ferry_error_oom(err, "s3", NULL, NULL);
    }
    for (int r = 0; r < n; r++) {
        s3_range *rg = &rs->ranges[r];
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
