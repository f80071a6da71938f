/*
 * hooks/s3/s3_source.c - the S3 reader: one streaming GetObject.
 *
 * read(buf, cap) drives the client's curl multi and curl's write callback
 * copies straight into the caller's buffer; what does not fit goes into a
 * small overflow buffer allocated once (one curl write, <= 16 KiB), and once
 * that holds data the callback pauses the transfer (CURL_WRITEFUNC_PAUSE)
 * until the next read.  No allocation per chunk.
 *
 * The size comes from Content-Length.  A transfer that breaks (reset,
 * timeout, truncated body, 5xx) resumes with "Range: bytes=<received>-" and
 * "If-Match: <ETag>" (bounded by ferry_retry), so an object replaced during
 * the download is an error (412 -> FERRY_ERR_DATA), never a mixed stream.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/log.h"
#include "ferry/stream.h"
#include "hooks/s3/s3_internal.h"
#include "hooks/s3/s3_ssec.h"

#define OVERFLOW_CAP (64 * 1024)

typedef struct ferry_s3_src {
    ferry_source base;
    ferry_s3_client *c;           /* owned */
    char *bucket;           /* owned */
    char *key;              /* owned */
    ferry_s3_xfer x;
    ferry_s3_req req;
    char range[64];
    char etag[128];         /* of the object when the download started */
    int64_t total;          /* object size, -1 unknown */
    int64_t received;       /* bytes taken from the server (delivered or in overflow) */
    int64_t skip;           /* bytes still to drop (server ignored Range) */
    int resumed;            /* the running transfer is a resume */
    int first_chunk;        /* next body bytes are the first of this transfer */
    /* read() in progress: curl writes here */
    unsigned char *dst;     /* borrowed caller buffer, NULL outside read() */
    size_t dst_cap;
    size_t dst_len;
    unsigned char *ovf;     /* owned overflow buffer */
    size_t ovf_cap;
    size_t ovf_len;
    size_t ovf_off;
    int paused;
    int eof;
    ferry_retry retry;      /* resumes; restarted once bytes flowed since the last failure */
    int64_t retry_mark;     /* received when the last failure happened, -1 none */
    ferry_status failed;
    ferry_error fail_err;
} ferry_s3_src;

static void target(const ferry_s3_src *s, char *out, size_t cap)
{
    snprintf(out, cap, "s3://%s/%s", s->bucket, s->key);
}

static int ovf_put(ferry_s3_src *s, const char *data, size_t n)
{
    if (s->ovf_off > 0 && s->ovf_off == s->ovf_len)
        s->ovf_off = s->ovf_len = 0;
    if (s->ovf_len + n > s->ovf_cap) {
        /* only when curl hands out more than CURL_MAX_WRITE_SIZE: rare */
        size_t ncap = s->ovf_cap ? s->ovf_cap : OVERFLOW_CAP;
        while (ncap < s->ovf_len + n)
            ncap *= 2;
        unsigned char *nb = realloc(s->ovf, ncap);
        if (!nb)
            return -1;
        s->ovf = nb;
        s->ovf_cap = ncap;
    }
    memcpy(s->ovf + s->ovf_len, data, n);
    s->ovf_len += n;
    return 0;
}

static size_t on_body(void *ud, const char *data, size_t n, ferry_error *err)
{
    ferry_s3_src *s = ud;
    size_t all = n;
    if (s->first_chunk) {
        s->first_chunk = 0;
        if (s->resumed) {
            if (s->x.status == 200) {
                s->skip = s->received;   /* whole object again: drop what we have */
            } else if (s->x.range_start != s->received) {
                char t[S3_MAX_KEY_LEN + 80];
                target(s, t, sizeof t);
                ferry_error_set(err, FERRY_ERR_DATA,
                                "resumed GetObject %s answered from byte %lld instead of %lld", t,
                                (long long)s->x.range_start, (long long)s->received);
                return 0;
            }
        }
    }
    if (s->skip > 0) {
        size_t d = (int64_t)n < s->skip ? n : (size_t)s->skip;
        s->skip -= (int64_t)d;
        data += d;
        n -= d;
        if (n == 0)
            return all;
        /* having consumed part of this call, pausing is no longer allowed */
        if (ovf_put(s, data, n) != 0) {
            ferry_error_oom(err, "s3", NULL, NULL);
            return 0;
        }
        s->received += (int64_t)n;
        return all;
    }
    size_t room = s->dst ? s->dst_cap - s->dst_len : 0;
    if (room == 0 || s->ovf_off < s->ovf_len) {
        s->paused = 1;
        return CURL_WRITEFUNC_PAUSE;
    }
    size_t c = n < room ? n : room;
    memcpy(s->dst + s->dst_len, data, c);
    s->dst_len += c;
    if (c < n && ovf_put(s, data + c, n - c) != 0) {
        ferry_error_oom(err, "s3", NULL, NULL);
        return 0;
    }
    s->received += (int64_t)n;
    return all;
}

static void setup_request(ferry_s3_src *s)
{
    memset(&s->req, 0, sizeof s->req);
    s->req.op = "GetObject";
    s->req.method = "GET";
    s->req.bucket = s->bucket;
    s->req.key = s->key;
    s->req.on_body = on_body;
    s->req.body_ud = s;
    if (s->resumed) {
        snprintf(s->range, sizeof s->range, "bytes=%lld-", (long long)s->received);
        ferry_s3_req_header(&s->req, "Range", s->range);
        if (s->etag[0])
            ferry_s3_req_header(&s->req, "If-Match", s->etag);
    }
    s->first_chunk = 1;
    s->paused = 0;
}

/* A transfer finished: end of stream, a resume (the next transfer is
 * started and FERRY_OK returned), or a failure. */
static ferry_status transfer_ended(ferry_s3_src *s, ferry_error *err)
{
    char t[S3_MAX_KEY_LEN + 80];
    target(s, t, sizeof t);
    ferry_status st = ferry_s3_xfer_finish(&s->x, err);
    if (st == FERRY_OK) {
        if (s->total < 0 || s->received >= s->total) {
            s->eof = 1;
            return FERRY_OK;
        }
        st = ferry_error_hook(err, FERRY_ERR_TRANSIENT, "s3", s->c->cfg.conn_id,
                              "GetObject %s failed: connection closed after %lld of %lld bytes", t,
                              (long long)s->received, (long long)s->total);
        ferry_error_transient(err);
    } else if (s->resumed && s->x.status == 412) {
        return ferry_error_hook(err, FERRY_ERR_DATA, "s3", s->c->cfg.conn_id,
                                "GetObject %s failed: the object changed during the download "
                                "(ETag is no longer %s)",
                                t, s->etag);
    }
    if (!err->transient || st == FERRY_ERR_INTERRUPTED)
        return st;
    if (ferry_cancelled())
        return ferry_error_hook(err, FERRY_ERR_INTERRUPTED, "s3", s->c->cfg.conn_id,
                                "GetObject %s interrupted", t);
    ferry_log(FERRY_LOG_INFO, "s3: GetObject %s resumes at byte %lld", t, (long long)s->received);
    if (s->received > s->retry_mark)
        ferry_retry_init(&s->retry, s->c->max_attempts);   /* progress: a new budget */
    s->retry_mark = s->received;
    if (!ferry_retry_again(&s->retry, err))
        return err->status;
    s->resumed = 1;
    setup_request(s);
    return ferry_s3_xfer_start(s->c, &s->x, &s->req, err);
}

static ferry_status src_fail(ferry_s3_src *s, ferry_status st, ferry_error *err)
{
    if (!s->failed) {
        s->failed = st;
        s->fail_err = *err;
    }
    return st;
}

static ferry_status src_read(ferry_source *src, void *buf, size_t cap, size_t *nread,
                             ferry_error *err)
{
    ferry_s3_src *s = (ferry_s3_src *)src;
    *nread = 0;
    if (s->failed) {
        *err = s->fail_err;
        return s->failed;
    }
    if (cap == 0)
        return FERRY_OK;
    if (s->ovf_off < s->ovf_len) {
        size_t c = s->ovf_len - s->ovf_off;
        if (c > cap)
            c = cap;
        memcpy(buf, s->ovf + s->ovf_off, c);
        s->ovf_off += c;
        if (s->ovf_off == s->ovf_len)
            s->ovf_off = s->ovf_len = 0;
        *nread = c;
        return FERRY_OK;
    }
    if (s->eof)
        return FERRY_OK;
    s->dst = buf;
    s->dst_cap = cap;
    s->dst_len = 0;
    ferry_status st = FERRY_OK;
    if (s->paused) {
        s->paused = 0;
        CURLcode rc = curl_easy_pause(s->x.easy, CURLPAUSE_CONT);
        if (rc != CURLE_OK && !s->x.done) {
            st = ferry_error_set(err, FERRY_ERR_INTERNAL, "s3: curl_easy_pause: %s",
                                 curl_easy_strerror(rc));
            goto out;
        }
    }
    while (s->dst_len < s->dst_cap && !s->eof) {
        if (s->x.done) {
            st = transfer_ended(s, err);
            if (st != FERRY_OK)
                goto out;
            if (s->eof || s->dst_len > 0 || s->ovf_off < s->ovf_len)
                break;
            continue;
        }
        if (s->paused)
            break;
        size_t before = s->dst_len;
        /* with data in hand, only take what is already there; with every
         * byte received (a small object read while paused) curl only has to
         * notice the end, which no socket event announces: poll briefly */
        int all_in = s->total >= 0 && s->received >= s->total;
        st = ferry_s3_client_drive(s->c, before > 0 ? 0 : all_in ? 1 : 200, 1, err);
        if (st != FERRY_OK)
            goto out;
        if (before > 0 && s->dst_len == before && !s->x.done)
            break;
    }
out:
    *nread = s->dst_len;
    s->dst = NULL;
    if (st != FERRY_OK) {
        *nread = 0;
        ferry_s3_xfer_cancel(&s->x);
        if (st == FERRY_ERR_INTERRUPTED) {     /* one wording, whoever saw it */
            char t[S3_MAX_KEY_LEN + 80];
            target(s, t, sizeof t);
            ferry_error_hook(err, st, "s3", s->c->cfg.conn_id, "GetObject %s interrupted", t);
        }
        return src_fail(s, st, err);
    }
    return FERRY_OK;
}

static ferry_status src_finish(ferry_source *src, ferry_error *err)
{
    ferry_s3_src *s = (ferry_s3_src *)src;
    if (s->failed) {
        *err = s->fail_err;
        return s->failed;
    }
    if (s->total >= 0 && s->received != s->total) {
        char t[S3_MAX_KEY_LEN + 80];
        target(s, t, sizeof t);
        return ferry_error_hook(err, FERRY_ERR_DATA, "s3", s->c->cfg.conn_id,
                                "GetObject %s: got %lld of %lld bytes", t, (long long)s->received,
                                (long long)s->total);
    }
    return FERRY_OK;
}

static void src_free(ferry_source *src)
{
    ferry_s3_src *s = (ferry_s3_src *)src;
    if (!s)
        return;
    ferry_s3_xfer_release(&s->x);
    ferry_s3_client_free(s->c);
    free(s->ovf);
    free(s->bucket);
    free(s->key);
    free(s);
}

static const ferry_source_ops src_ops = {
    .name = "s3",
    .read = src_read,
    .finish = src_finish,
    .free = src_free,
};

/* Start the GET and wait for its headers (errors show up here, before any
 * data is read); transient failures are retried. */
static ferry_status src_start(ferry_s3_src *s, ferry_error *err)
{
    ferry_retry_init(&s->retry, s->c->max_attempts);
    ferry_s3_redirects rd = {0};
    for (;;) {
        setup_request(s);
        ferry_status st = ferry_s3_xfer_start(s->c, &s->x, &s->req, err);
        if (st != FERRY_OK)
            return st;
        while (!s->x.headers_done && !s->x.done) {
            st = ferry_s3_client_drive(s->c, 200, 1, err);
            if (st != FERRY_OK) {
                ferry_s3_xfer_cancel(&s->x);
                char t[S3_MAX_KEY_LEN + 80];
                target(s, t, sizeof t);
                if (st == FERRY_ERR_INTERRUPTED)
                    ferry_error_hook(err, st, "s3", s->c->cfg.conn_id, "GetObject %s interrupted",
                                     t);
                return st;
            }
        }
        if (s->x.headers_done && s->x.status >= 200 && s->x.status < 300) {
            s->total = s->x.content_length;
            snprintf(s->etag, sizeof s->etag, "%s", s->x.etag);
            s->base.size = s->total;
            return FERRY_OK;
        }
        /* an error answer: let it finish to read the S3 error document */
        while (!s->x.done) {
            st = ferry_s3_client_drive(s->c, 200, 1, err);
            if (st != FERRY_OK) {
                ferry_s3_xfer_cancel(&s->x);
                return st;
            }
        }
        st = ferry_s3_xfer_finish(&s->x, err);
        if (st == FERRY_OK) {
            /* finished without a header block we recognised: empty object */
            s->total = s->x.content_length;
            snprintf(s->etag, sizeof s->etag, "%s", s->x.etag);
            s->base.size = s->total;
            s->eof = 1;
            return FERRY_OK;
        }
        int moved = ferry_s3_follow_redirect(&s->x, &rd, err);
        if (moved > 0)
            continue;                   /* the bucket's region: signed again for it */
        if (moved < 0)
            return err->status;
        if (!err->transient)
            return st;
        if (ferry_cancelled())
            return FERRY_ERR_INTERRUPTED;
        if (!ferry_retry_again(&s->retry, err))
            return err->status;
    }
}

ferry_status ferry_s3_open_source(const ferry_endpoint *ep, const ferry_copy_options *o,
                                  ferry_source **out, ferry_error *err)
{
    *out = NULL;
    const char *id = ferry_s3_conn_id(ep->conn);
    ferry_s3_src *s = calloc(1, sizeof *s);
    if (!s)
        return ferry_error_oom(err, "s3", NULL, NULL);
    s->base.ops = &src_ops;
    s->base.size = -1;
    s->base.rows = -1;
    s->total = -1;
    s->retry_mark = -1;
    ferry_status st = ferry_s3_split_path(ep->path, id, &s->bucket, &s->key, err);
    if (st == FERRY_OK && !s->key[0])
        st = ferry_error_hook(err, FERRY_ERR_USAGE, "s3", id,
                              "s3://%s: the source needs a key (s3://%s/name)", s->bucket,
                              s->bucket);
    if (st == FERRY_OK)
        st = ferry_s3_client_new(ep->conn, o, &s->c, err);
    if (st == FERRY_OK)
        ferry_s3_ssec_for_reading(s->c->ssec);   /* a copy's source: its SSE-C key */
    if (st == FERRY_OK)
        st = ferry_s3_xfer_init(&s->x, err);
    if (st == FERRY_OK) {
        s->ovf = malloc(OVERFLOW_CAP);
        s->ovf_cap = s->ovf ? OVERFLOW_CAP : 0;
        if (!s->ovf)
            st = ferry_error_oom(err, "s3", NULL, NULL);
    }
    if (st == FERRY_OK)
        st = src_start(s, err);
    if (st != FERRY_OK) {
        src_free(&s->base);
        return st;
    }
    *out = &s->base;
    return FERRY_OK;
}
