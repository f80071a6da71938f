/*
 * hooks/s3/ferry_s3_request.c - the S3 client and one signed request.
 *
 * A client holds the configuration and one curl multi handle; every request
 * of the client - a HEAD, a listing page, the parts of a multipart upload in
 * parallel, a streaming GET - runs on it, so connections are kept alive and
 * reused.  An ferry_s3_xfer is one reusable easy handle: ferry_s3_xfer_start signs the
 * request (SigV4 header auth, x-amz-content-sha256 = the payload's real
 * SHA-256 or UNSIGNED-PAYLOAD when configured) and adds it to the multi;
 * ferry_s3_client_drive makes progress; ferry_s3_xfer_finish turns the outcome into a
 * ferry_error naming the operation, the object and S3's Code/Message.
 * ferry_s3_request does all of that blocking, with retries (ferry_retry) of
 * transient failures.  An answer saying the bucket lives in another region
 * (s3_region.c) is followed once: the region is recorded for the run and the
 * request re-signed for it (ferry_s3_follow_redirect).  The curl machinery - global init, driving the multi,
 * cancellation and stall checks, the CURLcode map - is the shared engine
 * (hooks/curl/curl_engine.h); cleanup requests are not cancellable.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "ferry/log.h"
#include "ferry/stream.h"
#include "hooks/s3/s3_attrs.h"
#include "hooks/s3/s3_creds.h"
#include "hooks/s3/s3_internal.h"
#include "hooks/s3/s3_ssec.h"

#define S3_RESP_LIMIT (16 * S3_MIB)   /* largest collected body (listings are streamed) */
#define S3_ERRBODY_KEEP (64 * 1024)   /* of an error body, this much is kept */

ferry_status ferry_s3_client_new(const ferry_conn *conn, const ferry_copy_options *o, ferry_s3_client **out,
                                 ferry_error *err)
{
    *out = NULL;
    if (ferry_curl_init(err) != FERRY_OK)
        return ferry_error_prefix(err, "s3");
    ferry_s3_client *c = calloc(1, sizeof *c);
    if (!c)
        return ferry_error_oom(err, "s3", NULL, NULL);
    ferry_status st = ferry_s3_config_load(conn, &c->cfg, err);
    if (st != FERRY_OK) {
        free(c);
        return st;
    }
    c->multi = ferry_curl_multi_take();  /* with the connections a finished client left */
    if (!c->multi) {
        ferry_s3_client_free(c);
        return ferry_error_set(err, FERRY_ERR_INTERNAL, "s3: curl_multi_init failed");
    }
    c->requester_pays = ferry_s3_requester_pays(o, conn);
    c->max_attempts = o && o->max_retries > 0 ? o->max_retries : S3_DEFAULT_ATTEMPTS;
    c->timeout = o && o->timeout > 0 ? o->timeout : S3_DEFAULT_TIMEOUT;
    if (c->cfg.read_timeout > 0 && c->cfg.read_timeout < c->timeout)
        c->timeout = c->cfg.read_timeout;
    st = ferry_s3_ssec_load(conn, c->cfg.conn_id, o, &c->ssec, err);
    if (st != FERRY_OK) {
        ferry_s3_client_free(c);
        return st;
    }
    *out = c;
    return FERRY_OK;
}

void ferry_s3_client_free(ferry_s3_client *c)
{
    if (!c)
        return;
    ferry_curl_multi_give(c->multi, __atomic_load_n(&c->attached, __ATOMIC_RELAXED));
    ferry_s3_config_release(&c->cfg);
    ferry_s3_ssec_free(c->ssec);
    free(c);
}

void ferry_s3_req_query(ferry_s3_req *r, const char *name, const char *value)
{
    if (r->nquery < S3_MAX_QUERY) {
        r->query[r->nquery].name = name;
        r->query[r->nquery].value = value;
        r->nquery++;
    }
}

void ferry_s3_req_header(ferry_s3_req *r, const char *name, const char *value)
{
    if (r->nheaders < S3_MAX_HEADERS) {
        r->headers[r->nheaders].name = name;
        r->headers[r->nheaders].value = value;
        r->nheaders++;
    }
}

void ferry_s3_req_target(const ferry_s3_client *c, const ferry_s3_req *r, char *out, size_t cap)
{
    if (!r->bucket)
        snprintf(out, cap, "%s", c->cfg.endpoint);
    else if (r->key && *r->key)
        snprintf(out, cap, "s3://%s/%s", r->bucket, r->key);
    else
        snprintf(out, cap, "s3://%s", r->bucket);
}

ferry_status ferry_s3_xfer_init(ferry_s3_xfer *x, ferry_error *err)
{
    memset(x, 0, sizeof *x);
    if (ferry_curl_init(err) != FERRY_OK)
        return ferry_error_prefix(err, "s3");
    x->easy = curl_easy_init();
    if (!x->easy)
        return ferry_error_set(err, FERRY_ERR_INTERNAL, "s3: curl_easy_init failed");
    x->resp_limit = S3_RESP_LIMIT;
    return FERRY_OK;
}

/* Where the region table files a client's buckets: AWS is one namespace, a
 * custom endpoint is its own. */
static const char *region_scope(const ferry_s3_client *c)
{
    return c->cfg.custom_endpoint && c->cfg.host ? c->cfg.host : "";
}

/* End x's region probe: learned = a region named by the answer, "" = an
 * answer that named none, NULL = no answer at all. */
static void probe_settle(ferry_s3_xfer *x, const char *learned)
{
    if (x->region_probe && x->client && x->req) {
        x->region_probe = 0;
        ferry_s3_region_settle(region_scope(x->client), x->req->bucket, learned);
    }
}

void ferry_s3_xfer_cancel(ferry_s3_xfer *x)
{
    probe_settle(x, NULL);
    if (x->active && x->client) {
        curl_multi_remove_handle(x->client->multi, x->easy);
        __atomic_sub_fetch(&x->client->attached, 1, __ATOMIC_RELAXED);
        x->active = 0;
    }
}

void ferry_s3_xfer_release(ferry_s3_xfer *x)
{
    ferry_s3_xfer_cancel(x);
    if (x->easy)
        curl_easy_cleanup(x->easy);
    curl_slist_free_all(x->hdrs);
    ferry_buf_release(&x->url);
    ferry_buf_release(&x->resp);
    memset(x, 0, sizeof *x);
}

/* ---- curl callbacks ------------------------------------------------------------ */

enum { BODY_UNDECIDED = 0, BODY_COLLECT = 1, BODY_STREAM = 2, BODY_ERROR = 3 };

static size_t write_cb(char *data, size_t size, size_t nmemb, void *ud)
{
    ferry_s3_xfer *x = ud;
    size_t n = size * nmemb;
    if (x->body_mode == BODY_UNDECIDED) {
        long code = 0;
        curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &code);
        x->status = code;
        if (code >= 200 && code < 300)
            x->body_mode = x->req->on_body ? BODY_STREAM : BODY_COLLECT;
        else
            x->body_mode = BODY_ERROR;
    }
    if (x->body_mode == BODY_STREAM) {
        size_t r = x->req->on_body(x->req->body_ud, data, n, &x->cb_err);
        /* time paused by the consumer is no stall: curl hands the held chunk
         * back here when the consumer resumes, so the clock restarts then */
        int paused = r == CURL_WRITEFUNC_PAUSE;
        if (x->cx.paused && !paused)
            ferry_curl_touch(&x->cx);
        x->cx.paused = paused;
        if (r == n || r == CURL_WRITEFUNC_PAUSE)
            return r;
        x->cb_failed = 1;
        return 0;
    }
    if (x->body_mode == BODY_ERROR) {
        /* keep the beginning of an error body; drop the rest */
        size_t keep = x->resp.len < S3_ERRBODY_KEEP ? S3_ERRBODY_KEEP - x->resp.len : 0;
        if (keep > n)
            keep = n;
        if (keep && ferry_buf_append(&x->resp, data, keep) != 0)
            return 0;
        return n;
    }
    if (x->resp.len + n > x->resp_limit) {
        ferry_error_set(&x->cb_err, FERRY_ERR_DATA, "s3: answer larger than %zu bytes",
                        x->resp_limit);
        x->cb_failed = 1;
        return 0;
    }
    if (ferry_buf_append(&x->resp, data, n) != 0) {
        ferry_error_oom(&x->cb_err, "s3", NULL, NULL);
        x->cb_failed = 1;
        return 0;
    }
    return n;
}

static int header_is(const char *line, size_t len, const char *name, const char **value,
                     size_t *vlen)
{
    size_t n = strlen(name);
    if (len <= n || line[n] != ':' || strncasecmp(line, name, n) != 0)
        return 0;
    const char *v = line + n + 1;
    const char *end = line + len;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
        end--;
    *value = v;
    *vlen = (size_t)(end - v);
    return 1;
}

static void copy_value(char *out, size_t cap, const char *v, size_t n)
{
    if (n >= cap)
        n = cap - 1;
    memcpy(out, v, n);
    out[n] = '\0';
}

static void reset_response(ferry_s3_xfer *x)
{
    x->headers_done = 0;
    x->etag[0] = '\0';
    x->content_length = -1;
    x->range_start = -1;
    x->range_total = -1;
    x->last_modified = -1;
    x->request_id[0] = '\0';
    x->sse_opaque = 0;
    x->bucket_region[0] = '\0';
    if (x->keep_meta)
        ferry_buf_reset(x->keep_meta);
}

/* A header a multipart copy carries from its source to the new object. */
static void keep_meta(ferry_s3_xfer *x, const char *line, size_t len)
{
    static const char *const names[] = {"content-type", "content-encoding", "content-language",
                                        "content-disposition", "cache-control", "expires", NULL};
    const char *colon = memchr(line, ':', len);
    if (!colon)
        return;
    size_t nlen = (size_t)(colon - line);
    int take = nlen > 11 && strncasecmp(line, "x-amz-meta-", 11) == 0;
    for (const char *const *n = names; *n && !take; n++)
        take = nlen == strlen(*n) && strncasecmp(line, *n, nlen) == 0;
    const char *v;
    size_t vn;
    char name[256];
    if (!take || nlen >= sizeof name)
        return;
    memcpy(name, line, nlen);
    name[nlen] = '\0';
    if (header_is(line, len, name, &v, &vn)) {
        for (size_t i = 0; i < nlen; i++)
            name[i] = (char)tolower((unsigned char)name[i]);
        ferry_buf_append(x->keep_meta, name, nlen + 1);
        ferry_buf_append(x->keep_meta, v, vn);
        ferry_buf_append(x->keep_meta, "", 1);
    }
}

static size_t header_cb(char *line, size_t size, size_t nmemb, void *ud)
{
    ferry_s3_xfer *x = ud;
    size_t len = size * nmemb;
    const char *v;
    size_t vn;
    char tmp[128];
    if (len >= 5 && strncmp(line, "HTTP/", 5) == 0) {
        /* a new header block (after "100 Continue" or a retried connection) */
        reset_response(x);
        const char *sp = memchr(line, ' ', len);
        x->status = sp ? strtol(sp + 1, NULL, 10) : 0;
    } else if (len <= 2 && (line[0] == '\r' || line[0] == '\n')) {
        if (x->status >= 200) {
            x->headers_done = 1;
            /* an answer that cannot be a region redirect settles the probe
             * now: a streaming GET's waiters need not wait for its body */
            if (x->status != 301 && x->status != 302 && x->status != 307 && x->status != 400)
                probe_settle(x, "");
        }
    } else if (header_is(line, len, "x-amz-bucket-region", &v, &vn)) {
        copy_value(x->bucket_region, sizeof x->bucket_region, v, vn);
    } else if (header_is(line, len, "etag", &v, &vn)) {
        copy_value(x->etag, sizeof x->etag, v, vn);
    } else if (header_is(line, len, "content-length", &v, &vn)) {
        copy_value(tmp, sizeof tmp, v, vn);
        x->content_length = strtoll(tmp, NULL, 10);
    } else if (header_is(line, len, "content-range", &v, &vn)) {
        /* "bytes 100-199/1000" or "bytes * /1000" */
        copy_value(tmp, sizeof tmp, v, vn);
        long long a = -1, b = -1, t = -1;
        if (sscanf(tmp, "bytes %lld-%lld/%lld", &a, &b, &t) == 3) {
            x->range_start = a;
            x->range_total = t;
        }
    } else if (header_is(line, len, "last-modified", &v, &vn)) {
        copy_value(tmp, sizeof tmp, v, vn);
        time_t t = curl_getdate(tmp, NULL);
        x->last_modified = t == (time_t)-1 ? -1 : (int64_t)t;
    } else if (header_is(line, len, "x-amz-request-id", &v, &vn)) {
        copy_value(x->request_id, sizeof x->request_id, v, vn);
    } else if (header_is(line, len, "x-amz-server-side-encryption", &v, &vn)) {
        if (vn >= 7 && strncasecmp(v, "aws:kms", 7) == 0)
            x->sse_opaque = 1;
    } else if (header_is(line, len, "x-amz-server-side-encryption-customer-algorithm", &v, &vn)) {
        x->sse_opaque = 1;
    }
    if (x->keep_meta && x->status >= 200 && x->status < 300)
        keep_meta(x, line, len);
    return len;
}

static size_t read_cb(char *buf, size_t size, size_t nmemb, void *ud)
{
    ferry_s3_xfer *x = ud;
    size_t room = size * nmemb;
    size_t left = x->req->body_len - x->up_off;
    size_t n = left < room ? left : room;
    if (n) {
        memcpy(buf, (const char *)x->req->body + x->up_off, n);
        x->up_off += n;
    }
    return n;
}

static int seek_cb(void *ud, curl_off_t offset, int origin)
{
    ferry_s3_xfer *x = ud;
    if (origin != SEEK_SET || offset < 0 || (size_t)offset > x->req->body_len)
        return CURL_SEEKFUNC_CANTSEEK;
    x->up_off = (size_t)offset;
    return CURL_SEEKFUNC_OK;
}

/* The engine saw the transfer finish. */
static void on_done(ferry_curl_xfer *cx)
{
    ferry_s3_xfer *x = cx->ud;
    x->done = 1;
    x->result = cx->result;
}

/* ---- building and starting a request ------------------------------------------------ */

static int append_encoded(ferry_buf *b, const char *s, int encode_slash)
{
    size_t len = strlen(s);
    size_t need = ferry_sigv4_uri_encode(s, len, encode_slash, NULL, 0);
    if (ferry_buf_reserve(b, need) != 0)
        return -1;
    ferry_sigv4_uri_encode(s, len, encode_slash, b->data + b->len, need + 1);
    b->len += need;
    return 0;
}

static int add_header(ferry_s3_xfer *x, const char *name, const char *value)
{
    char *line = NULL;
    if (asprintf(&line, "%s: %s", name, value) < 0)
        return -1;
    struct curl_slist *n = curl_slist_append(x->hdrs, line);
    /* wipe: the line may hold a session token */
    explicit_bzero(line, strlen(line));
    free(line);
    if (!n)
        return -1;
    x->hdrs = n;
    return 0;
}

ferry_status ferry_s3_xfer_start(ferry_s3_client *c, ferry_s3_xfer *x, const ferry_s3_req *r, ferry_error *err)
{
    ferry_s3_xfer_cancel(x);
    curl_easy_reset(x->easy);
    curl_slist_free_all(x->hdrs);
    x->hdrs = NULL;
    x->client = c;
    x->req = r;
    x->redirect_to[0] = '\0';
    x->up_off = 0;
    x->done = 0;
    x->result = CURLE_OK;
    x->status = 0;
    x->body_mode = BODY_UNDECIDED;
    x->cb_failed = 0;
    x->s3_code[0] = '\0';
    ferry_error_clear(&x->cb_err);
    reset_response(x);
    ferry_buf_reset(&x->resp);

    ferry_status st = FERRY_OK;
    ferry_buf host = {0}, path = {0};
    ferry_sigv4_signed sig;
    memset(&sig, 0, sizeof sig);
    const ferry_s3_config *cfg = &c->cfg;
    ferry_s3_credset *snap = NULL;
    ferry_sigv4_kv *all = NULL;   /* headers[] + xheaders + requester pays, when any */

    /* the bucket's region (learned from an earlier redirect, else the
     * connection's); the first request on a bucket may be its probe */
    ferry_s3_region_begin(region_scope(c), r->bucket, cfg->region, x->region, sizeof x->region,
                          &x->region_probe);
    st = ferry_s3_address(cfg, x->region, r->bucket, r->key, &host, &path, err);
    if (st != FERRY_OK)
        goto out;

    char hash[65];
    const char *payload_hash = r->payload_hash;
    if (!payload_hash) {
        if (r->body_len == 0)
            payload_hash = FERRY_SIGV4_EMPTY_SHA256;
        else if (cfg->unsigned_payload)
            payload_hash = FERRY_SIGV4_UNSIGNED_PAYLOAD;
        else if (ferry_sha256_hex(r->body, r->body_len, hash) != FERRY_OK) {
            st = ferry_error_set(err, FERRY_ERR_INTERNAL, "s3: SHA-256 failed");
            goto out;
        } else
            payload_hash = hash;
    }

    /* a snapshot of the current credentials, renewed first when they are
     * about to expire (shared by every thread of this client) */
    st = ferry_s3_creds_get(cfg->creds, r->cleanup, &snap, err);
    if (st != FERRY_OK)
        goto out;
    ferry_sigv4_credentials creds = {snap->access_key, snap->secret_key, snap->session_token};
    ferry_sigv4_request sreq;
    memset(&sreq, 0, sizeof sreq);
    sreq.method = r->method;
    sreq.host = host.data;
    sreq.path = path.data;
    sreq.query = r->query;
    sreq.nquery = r->nquery;
    /* the request's own headers, the write attributes and requester pays
     * (s3_attrs.c), then the SSE-C ones its operation takes (s3_ssec.c): all
     * signed (x-amz-* must be) */
    size_t nall = r->nheaders + r->nxheaders + (size_t)(c->requester_pays != 0);
    ferry_sigv4_kv hdrs[S3_MAX_HEADERS + FERRY_S3_SSEC_MAX_HEADERS];
    const ferry_sigv4_kv *base = r->headers;
    ferry_sigv4_kv *out_h = hdrs;
    if (nall > r->nheaders) {
        /* one block: the joined headers, then room for them + the SSE-C ones */
        all = malloc((2 * nall + FERRY_S3_SSEC_MAX_HEADERS) * sizeof *all);
        if (!all) {
            st = ferry_error_oom(err, "s3", NULL, NULL);
            goto out;
        }
        memcpy(all, r->headers, r->nheaders * sizeof *all);
        if (r->nxheaders)
            memcpy(all + r->nheaders, r->xheaders, r->nxheaders * sizeof *all);
        if (c->requester_pays) {
            all[nall - 1].name = "x-amz-request-payer";
            all[nall - 1].value = "requester";
        }
        base = all;
        out_h = all + nall;
    }
    size_t nhdrs = ferry_s3_ssec_headers(c->ssec, r->op, base, nall, out_h);
    sreq.headers = out_h;
    sreq.nheaders = nhdrs;
    sreq.payload_hash = payload_hash;
    sreq.region = ferry_s3_signing_region(x->region);
    sreq.service = "s3";
    sreq.when = time(NULL);
    sreq.flags = FERRY_SIGV4_CONTENT_SHA256;
    st = ferry_sigv4_sign_headers(&creds, &sreq, &sig, err);
    if (st != FERRY_OK) {
        ferry_error_prefix(err, "s3(%s): signing %s", cfg->conn_id, r->op);
        goto out;
    }

    /* the URL: the path and query exactly as signed */
    ferry_buf_reset(&x->url);
    int rc = ferry_buf_appendf(&x->url, "%s://%s", cfg->https ? "https" : "http", host.data);
    rc |= append_encoded(&x->url, path.data, 0);
    for (size_t i = 0; i < r->nquery; i++) {
        rc |= ferry_buf_append(&x->url, i == 0 ? "?" : "&", 1);
        rc |= append_encoded(&x->url, r->query[i].name, 1);
        if (r->query[i].value) {
            rc |= ferry_buf_append(&x->url, "=", 1);
            rc |= append_encoded(&x->url, r->query[i].value, 1);
        }
    }

    rc |= add_header(x, "Host", host.data);
    rc |= add_header(x, "x-amz-date", sig.amz_date);
    rc |= add_header(x, "x-amz-content-sha256", payload_hash);
    if (snap->session_token)
        rc |= add_header(x, "x-amz-security-token", snap->session_token);
    for (size_t i = 0; i < nhdrs; i++)
        rc |= add_header(x, out_h[i].name, out_h[i].value);
    rc |= add_header(x, "Authorization", sig.authorization);
    struct curl_slist *n = curl_slist_append(x->hdrs, "Expect:");
    if (n)
        x->hdrs = n;
    else
        rc = -1;
    if (rc) {
        st = ferry_error_oom(err, "s3", NULL, NULL);
        goto out;
    }

    CURL *e = x->easy;
    double stall_after = c->timeout;
    long connect_timeout = cfg->connect_timeout;
    if (r->cleanup) {
        if (stall_after > 30)
            stall_after = 30;
        if (connect_timeout > 10)
            connect_timeout = 10;
    }
    if (stall_after < 1)
        stall_after = 1;
    x->cx.on_done = on_done;
    x->cx.ud = x;
    if (ferry_curl_xfer_setup(&x->cx, e, stall_after, !r->cleanup) != CURLE_OK) {
        st = ferry_error_set(err, FERRY_ERR_INTERNAL, "s3: libcurl refused an option");
        goto out;
    }
    curl_easy_setopt(e, CURLOPT_URL, x->url.data);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->hdrs);
    curl_easy_setopt(e, CURLOPT_PATH_AS_IS, 1L);      /* keys with "..", "//" stay as they are */
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, (void *)x);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, (void *)x);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, connect_timeout);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, cfg->verify ? 1L : 0L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, cfg->verify ? 2L : 0L);
    if (cfg->ca_bundle)
        curl_easy_setopt(e, CURLOPT_CAINFO, cfg->ca_bundle);
    if (strcmp(r->method, "HEAD") == 0) {
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    } else if (strcmp(r->method, "GET") == 0) {
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    } else if (r->body_len > 0 || strcmp(r->method, "PUT") == 0 || strcmp(r->method, "POST") == 0) {
        curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(e, CURLOPT_READFUNCTION, read_cb);
        curl_easy_setopt(e, CURLOPT_READDATA, (void *)x);
        curl_easy_setopt(e, CURLOPT_SEEKFUNCTION, seek_cb);
        curl_easy_setopt(e, CURLOPT_SEEKDATA, (void *)x);
        curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)r->body_len);
        if (strcmp(r->method, "PUT") != 0)
            curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r->method);
    } else {
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r->method);
    }

    CURLMcode mc = curl_multi_add_handle(c->multi, e);
    if (mc != CURLM_OK) {
        st = ferry_error_set(err, FERRY_ERR_INTERNAL, "s3: curl_multi_add_handle: %s",
                             curl_multi_strerror(mc));
        goto out;
    }
    __atomic_add_fetch(&c->attached, 1, __ATOMIC_RELAXED);
    x->active = 1;
    x->t_start = ferry_now_monotonic();
out:
    if (st != FERRY_OK)
        probe_settle(x, NULL);
    free(all);
    ferry_s3_creds_put(cfg->creds, snap);
    ferry_sigv4_signed_free(&sig);
    ferry_buf_release(&host);
    ferry_buf_release(&path);
    return st;
}

/* ---- driving and results --------------------------------------------------------------- */

ferry_status ferry_s3_client_drive(ferry_s3_client *c, int wait_ms, int cancellable, ferry_error *err)
{
    ferry_status st = ferry_curl_drive(c->multi, wait_ms, cancellable, "s3", c->cfg.conn_id, err);
    if (st == FERRY_ERR_INTERRUPTED)
        return ferry_error_hook(err, FERRY_ERR_INTERRUPTED, "s3", c->cfg.conn_id, "interrupted");
    return st;
}

ferry_status ferry_s3_xfer_finish(ferry_s3_xfer *x, ferry_error *err)
{
    ferry_s3_client *c = x->client;
    const ferry_s3_req *r = x->req;
    long code = 0;
    curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &code);
    x->status = code;
    int probe = x->region_probe;
    x->region_probe = 0;                /* settled below, not by the cancel */
    ferry_s3_xfer_cancel(x);
    x->region_probe = probe;
    char target[S3_MAX_KEY_LEN + 300];
    ferry_s3_req_target(c, r, target, sizeof target);
    if (ferry_log_enabled(FERRY_LOG_DEBUG))
        ferry_log(FERRY_LOG_DEBUG, "s3: %s %s -> %ld (%s) in %.3f s", r->method, x->url.data, code,
                  x->result == CURLE_OK ? "ok" : curl_easy_strerror(x->result),
                  ferry_now_monotonic() - x->t_start);
    if (x->cb_failed || x->result != CURLE_OK || (code >= 200 && code < 300))
        probe_settle(x, code > 0 && (x->cb_failed || x->result == CURLE_OK) ? "" : NULL);
    if (x->cb_failed) {
        ferry_status st = x->cb_err.status ? x->cb_err.status : FERRY_ERR_INTERNAL;
        ferry_error_hook(err, st, "s3", c->cfg.conn_id, "%s %s failed: %s", r->op, target,
                         x->cb_err.msg);
        if (x->cb_err.transient)
            ferry_error_transient(err);
        return st;
    }
    if (x->result != CURLE_OK) {
        int transient = 0;
        char cause[CURL_ERROR_SIZE];
        ferry_status st = ferry_curl_outcome(&x->cx, &transient, cause, sizeof cause);
        if (st == FERRY_ERR_INTERRUPTED)
            return ferry_error_hook(err, FERRY_ERR_INTERRUPTED, "s3", c->cfg.conn_id,
                                    "%s %s interrupted", r->op, target);
        if (x->cx.stalled)
            snprintf(cause, sizeof cause, "no progress for %.0f s (timeout)", x->cx.stall_after);
        ferry_error_hook(err, st, "s3", c->cfg.conn_id, "%s %s failed: %s", r->op, target, cause);
        if (transient)
            ferry_error_transient(err);
        return st;
    }
    if (code >= 200 && code < 300)
        return FERRY_OK;
    ferry_s3_error_doc doc;
    ferry_s3_xml_parse_error(x->resp.data, x->resp.len, &doc);
    int transient = 0;
    snprintf(x->s3_code, sizeof x->s3_code, "%s", doc.found ? doc.code : "");
    ferry_status st = ferry_s3_error_status(code, x->s3_code, &transient);
    char detail[800];
    ferry_s3_error_detail(code, x->resp.data, x->resp.len, &doc, detail, sizeof detail);
    st = ferry_s3_ssec_explain(c->ssec, r->op, code, x->s3_code, st, detail, sizeof detail);
    char learned[FERRY_S3_REGION_MAX];
    int moved = r->bucket && ferry_s3_redirect_region(code, r->method, x->bucket_region, &doc, learned,
                                                      sizeof learned);
    probe_settle(x, moved ? learned : "");
    if (moved && strcmp(ferry_s3_signing_region(learned), ferry_s3_signing_region(x->region)) != 0) {
        /* the bucket lives elsewhere: recorded for the run; a retry re-signs */
        if (!probe)
            ferry_s3_region_learn(region_scope(c), r->bucket, learned);
        snprintf(x->redirect_to, sizeof x->redirect_to, "%s", learned);
        ferry_error_hook(err, FERRY_ERR_CONFIG, "s3", c->cfg.conn_id,
                         "%s %s failed: %s (the bucket is in region %s, the request was signed for %s)",
                         r->op, target, detail, learned, x->region);
        ferry_error_transient(err);
        return FERRY_ERR_CONFIG;
    }
    if (moved)
        ferry_error_hook(err, st, "s3", c->cfg.conn_id,
                         "%s %s failed: %s (the bucket is in region %s, the region the request was "
                         "signed for: check the endpoint)", r->op, target, detail, learned);
    else
        ferry_error_hook(err, st, "s3", c->cfg.conn_id, "%s %s failed: %s", r->op, target, detail);
    if (transient)
        ferry_error_transient(err);
    return st;
}

static ferry_status wait_done(ferry_s3_client *c, ferry_s3_xfer *x, const ferry_s3_req *r, ferry_error *err)
{
    while (!x->done) {
        ferry_status st = ferry_s3_client_drive(c, 200, !r->cleanup, err);
        if (st != FERRY_OK) {
            ferry_s3_xfer_cancel(x);
            if (st == FERRY_ERR_INTERRUPTED) {
                char target[S3_MAX_KEY_LEN + 300];
                ferry_s3_req_target(c, r, target, sizeof target);
                return ferry_error_hook(err, st, "s3", c->cfg.conn_id, "%s %s interrupted",
                                        r->op, target);
            }
            return st;
        }
    }
    return FERRY_OK;
}

int ferry_s3_follow_redirect(ferry_s3_xfer *x, ferry_s3_redirects *rd, ferry_error *err)
{
    if (!x->redirect_to[0])
        return 0;
    const ferry_s3_req *r = x->req;
    ferry_s3_client *c = x->client;
    if (rd->count == 0) {
        rd->count = 1;
        snprintf(rd->from, sizeof rd->from, "%s", x->region);
        snprintf(rd->to, sizeof rd->to, "%s", x->redirect_to);
        ferry_log(FERRY_LOG_INFO, "s3(%s): bucket %s is in region %s (not %s): %s signed again for it",
                  c->cfg.conn_id, r->bucket, x->redirect_to, x->region, r->op);
        return 1;
    }
    char target[S3_MAX_KEY_LEN + 300];
    ferry_s3_req_target(c, r, target, sizeof target);
    ferry_error_hook(err, FERRY_ERR_CONFIG, "s3", c->cfg.conn_id,
                     "%s %s failed: redirected twice: the bucket was said to be in region %s (request "
                     "signed for %s), then, signed for %s, in region %s; check region_name and "
                     "endpoint_url", r->op, target, rd->to, rd->from, x->region, x->redirect_to);
    return -1;
}

ferry_status ferry_s3_request(ferry_s3_client *c, ferry_s3_xfer *x, const ferry_s3_req *r, ferry_error *err)
{
    ferry_retry rt;
    ferry_retry_init(&rt, c->max_attempts);
    ferry_s3_redirects rd = {0};
    for (int attempt = 1;; attempt++) {
        ferry_status st;
        if (r->on_attempt) {
            st = r->on_attempt(r->body_ud, err);
            if (st != FERRY_OK)
                return st;
        }
        st = ferry_s3_xfer_start(c, x, r, err);
        if (st != FERRY_OK)
            return st;
        st = wait_done(c, x, r, err);
        if (st != FERRY_OK)
            return st;
        st = ferry_s3_xfer_finish(x, err);
        if (st == FERRY_OK)
            return FERRY_OK;
        int moved = ferry_s3_follow_redirect(x, &rd, err);
        if (moved > 0) {
            attempt--;                  /* a redirect is no failed attempt */
            continue;
        }
        if (moved < 0)
            return err->status;
        if (r->no_retry || !err->transient)
            return st;
        if (r->cleanup) {
            /* abort path: a few quick tries, whatever the signal flag says */
            if (attempt >= 3)
                return st;
            ferry_sleep(0.5 * attempt);
            continue;
        }
        if (ferry_curl_cancel_requested(NULL))
            return ferry_error_hook(err, FERRY_ERR_INTERRUPTED, "s3", c->cfg.conn_id,
                                    "%s interrupted", r->op);
        if (!ferry_retry_again(&rt, err)) {   /* logs the retry, prefixes "gave up" */
            if (ferry_curl_cancel_requested(NULL))
                return ferry_error_hook(err, FERRY_ERR_INTERRUPTED, "s3", c->cfg.conn_id,
                                        "%s interrupted", r->op);
            return err->status;
        }
    }
}

int ferry_s3_retry_plan(ferry_retry *r, ferry_error *err, double *delay)
{
    r->attempt++;
    *delay = 0;
    if (!err->transient || ferry_curl_cancel_requested(NULL))
        return 0;
    if (r->attempt < r->max_attempts) {
        double d = ferry_retry_delay(r, r->attempt);
        if (r->waited + d <= r->max_total) {
            r->waited += d;
            *delay = d;
            return 1;
        }
    }
    ferry_retry_give_up(r, err);   /* same status rule and wording as ferry_retry_again */
    return 0;
}
