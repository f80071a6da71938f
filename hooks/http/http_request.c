/*
 * hooks/http/http_request.c - one HTTP request driven on its own curl multi
 * handle, so the caller decides when it makes progress:
 *
 *  - reception is pull-style: ferry_http_req_receive lends curl the caller's
 *    buffer for the call; the write callback copies into it, keeps what does
 *    not fit in a fixed spill of CURL_MAX_WRITE_SIZE bytes (the most body one
 *    callback brings), and pauses the transfer (CURL_WRITEFUNC_PAUSE) while
 *    the spill is in use - so the socket, not memory, holds the rest;
 *  - upload is push-style: ferry_http_req_send lends curl a chunk; the read
 *    callback copies from it and pauses (CURL_READFUNC_PAUSE) once it is used
 *    up, until the next chunk or the end of the body.
 *
 * Nothing is allocated per chunk.  The curl machinery is the shared engine
 * (hooks/curl/curl_engine.h): global init, driving the multi, cancellation
 * (every wait wakes at least every FERRY_HTTP_POLL_MS to look) and stalls (a
 * request that moved no byte in either direction for the target's timeout
 * while we were driving it fails; time the request spent paused by us does
 * not count: every resume touches the clock).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "ferry/ferry.h"
#include "hooks/http/http_internal.h"
#include "core/util.h"

/* ------------------------------------------------------------ callbacks */

static size_t spill_pending(const ferry_http_req *r)
{
    return r->spill_len - r->spill_off;
}

/* Copy a header's value (trimmed) into out when line is "name: value". */
static int header_value(const char *line, size_t len, const char *name, char *out, size_t cap)
{
    size_t n = strlen(name);
    if (len <= n || strncasecmp(line, name, n) != 0 || line[n] != ':')
        return 0;
    const char *v = line + n + 1, *end = line + len;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
        end--;
    size_t vn = (size_t)(end - v);
    if (vn >= cap) {
        out[0] = '\0';  /* too long to use: as if absent */
        return 1;
    }
    memcpy(out, v, vn);
    out[vn] = '\0';
    return 1;
}

/* "HTTP/1.1 404 Not Found": a new response (after a redirect, a 100 or a 401). */
static void status_line(ferry_http_req *r, const char *line, size_t len)
{
    const char *p = memchr(line, ' ', len);
    const char *end = line + len;
    r->status = 0;
    r->reason[0] = '\0';
    r->accept_ranges = 0;
    r->etag[0] = '\0';
    r->last_modified[0] = '\0';
    r->content_range[0] = '\0';
    if (!p)
        return;
    while (p < end && *p == ' ')
        p++;
    long code = 0;
    while (p < end && *p >= '0' && *p <= '9')
        code = code * 10 + (*p++ - '0');
    r->status = code;
    while (p < end && *p == ' ')
        p++;
    ferry_http_printable(p, (size_t)(end - p), r->reason, sizeof r->reason);
}

static size_t on_header(char *data, size_t size, size_t n, void *ud)
{
    ferry_http_req *r = ud;
    size_t len = size * n;
    char value[16];
    if (len >= 5 && strncmp(data, "HTTP/", 5) == 0) {
        status_line(r, data, len);
        return len;
    }
    if (header_value(data, len, "accept-ranges", value, sizeof value)) {
        r->accept_ranges = strcasecmp(value, "bytes") == 0;
        return len;
    }
    if (header_value(data, len, "etag", r->etag, sizeof r->etag))
        return len;
    if (header_value(data, len, "last-modified", r->last_modified, sizeof r->last_modified))
        return len;
    header_value(data, len, "content-range", r->content_range, sizeof r->content_range);
    return len;
}

static size_t on_body(char *data, size_t size, size_t n, void *ud)
{
    ferry_http_req *r = ud;
    size_t len = size * n;
    if (r->excerpt_only) {
        size_t room = sizeof r->excerpt - r->excerpt_len;
        size_t k = len < room ? len : room;
        memcpy(r->excerpt + r->excerpt_len, data, k);
        r->excerpt_len += k;
        r->body_bytes += (int64_t)len;
        return len;
    }
    /* the spill is only filled when it is empty and dst is full or absent */
    size_t room = r->dst && spill_pending(r) == 0 ? r->dst_cap - r->dst_len : 0;
    size_t spill_room = spill_pending(r) == 0 ? sizeof r->spill : 0;
    if (len > room + spill_room) {
        r->recv_paused = 1;
        return CURL_WRITEFUNC_PAUSE;
    }
    size_t k = len < room ? len : room;
    if (k > 0) {
        memcpy(r->dst + r->dst_len, data, k);
        r->dst_len += k;
    }
    if (len > k) {
        memcpy(r->spill, data + k, len - k);
        r->spill_off = 0;
        r->spill_len = len - k;
    }
    r->body_bytes += (int64_t)len;
    return len;
}

static size_t on_upload(char *buf, size_t size, size_t n, void *ud)
{
    ferry_http_req *r = ud;
    size_t cap = size * n;
    size_t left = r->up ? r->up_len - r->up_off : 0;
    if (left > 0) {
        size_t k = left < cap ? left : cap;
        memcpy(buf, r->up + r->up_off, k);
        r->up_off += k;
        return k;
    }
    if (r->up_eof)
        return 0;
    r->send_paused = 1;
    return CURL_READFUNC_PAUSE;
}

/* We drive the request again: time spent away (the sink was busy, the
 * transfer was paused) is not a stall. */
static void touch(ferry_http_req *r)
{
    ferry_curl_touch(&r->cx);
}

/* The engine saw the request finish. */
static void on_done(ferry_curl_xfer *cx)
{
    ferry_http_req *r = cx->ud;
    r->done = 1;
    r->result = cx->result;
}

/* ------------------------------------------------------------ setup */

static ferry_status setopt_failed(ferry_http_req *r, CURLcode rc, ferry_error *err)
{
    return ferry_error_hook(err, FERRY_ERR_INTERNAL, FERRY_HTTP_SYSTEM, r->target->conn_id,
                            "libcurl refused an option: %s", curl_easy_strerror(rc));
}

static ferry_status copy_headers(ferry_http_req *r, const char *const *extra, ferry_error *err)
{
    for (const struct curl_slist *h = r->target->headers; h; h = h->next) {
        struct curl_slist *l = curl_slist_append(r->headers, h->data);
        if (!l)
            return ferry_error_oom(err, NULL, NULL, NULL);
        r->headers = l;
    }
    for (size_t i = 0; extra && extra[i]; i++) {
        struct curl_slist *l = curl_slist_append(r->headers, extra[i]);
        if (!l)
            return ferry_error_oom(err, NULL, NULL, NULL);
        r->headers = l;
    }
    return FERRY_OK;
}

static CURLcode set_auth_and_tls(CURL *e, const ferry_http_target *t)
{
    CURLcode rc = CURLE_OK;
    if (t->bearer) {
        rc = curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BEARER);
        if (rc == CURLE_OK)
            rc = curl_easy_setopt(e, CURLOPT_XOAUTH2_BEARER, t->bearer);
    } else if (t->login) {
        /* basic only: sent with the first request, no rewinding negotiation */
        rc = curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        if (rc == CURLE_OK)
            rc = curl_easy_setopt(e, CURLOPT_USERNAME, t->login);
        if (rc == CURLE_OK)
            rc = curl_easy_setopt(e, CURLOPT_PASSWORD, t->password ? t->password : "");
    }
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, t->verify ? 1L : 0L);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, t->verify ? 2L : 0L);
    if (rc == CURLE_OK && t->ca_bundle)
        rc = curl_easy_setopt(e, CURLOPT_CAINFO, t->ca_bundle);
    if (rc == CURLE_OK && t->client_cert)
        rc = curl_easy_setopt(e, CURLOPT_SSLCERT, t->client_cert);
    if (rc == CURLE_OK && t->client_key)
        rc = curl_easy_setopt(e, CURLOPT_SSLKEY, t->client_key);
    if (rc == CURLE_OK && t->proxy)
        rc = curl_easy_setopt(e, CURLOPT_PROXY, t->proxy);
    return rc;
}

static CURLcode set_common(ferry_http_req *r)
{
    const ferry_http_target *t = r->target;
    CURL *e = r->easy;
    double connect = t->timeout < FERRY_HTTP_CONNECT_TIMEOUT ? t->timeout : FERRY_HTTP_CONNECT_TIMEOUT;
    CURLcode rc = curl_easy_setopt(e, CURLOPT_URL, t->url);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(e, CURLOPT_USERAGENT, "ferry/" FERRY_VERSION);
    if (rc == CURLE_OK)   /* one stream per handle: HTTP/2 brings nothing but pause/flow-control corner cases */
        rc = curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, t->follow ? 1L : 0L);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(e, CURLOPT_MAXREDIRS, t->max_redirects);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)(connect * 1000.0));
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(e, CURLOPT_BUFFERSIZE, FERRY_HTTP_RECV_BUFFER);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(e, CURLOPT_FILETIME, 1L);
    if (rc == CURLE_OK)
        rc = set_auth_and_tls(e, t);
    if (rc == CURLE_OK && r->headers)
        rc = curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->headers);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(e, CURLOPT_READFUNCTION, on_upload);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(e, CURLOPT_READDATA, r);
    if (rc == CURLE_OK) {
        r->cx.on_done = on_done;
        r->cx.ud = r;
        rc = ferry_curl_xfer_setup(&r->cx, e, t->timeout, 1);
    }
    return rc;
}

ferry_status ferry_http_req_init(ferry_http_req *req, const ferry_http_target *target, const char *method,
                                 const char *const *extra_headers, ferry_error *err)
{
    memset(req, 0, sizeof *req);
    req->target = target;
    snprintf(req->method, sizeof req->method, "%s", method);
    if (ferry_curl_init(err) != FERRY_OK)
        return ferry_error_prefix(err, "%s(%s)", FERRY_HTTP_SYSTEM, target->conn_id);
    req->multi = curl_multi_init();
    req->easy = curl_easy_init();
    ferry_status st = FERRY_OK;
    if (!req->multi || !req->easy)
        st = ferry_error_oom(err, NULL, NULL, NULL);
    if (st == FERRY_OK)
        st = copy_headers(req, extra_headers, err);
    if (st == FERRY_OK) {
        CURLcode rc = set_common(req);
        if (rc != CURLE_OK)
            st = setopt_failed(req, rc, err);
    }
    if (st != FERRY_OK)
        ferry_http_req_release(req);
    return st;
}

void ferry_http_req_cancel(ferry_http_req *req)
{
    if (req->added) {
        curl_multi_remove_handle(req->multi, req->easy);
        req->added = 0;
    }
}

void ferry_http_req_release(ferry_http_req *req)
{
    if (!req)
        return;
    ferry_http_req_cancel(req);
    if (req->easy)
        curl_easy_cleanup(req->easy);
    if (req->multi)
        curl_multi_cleanup(req->multi);
    curl_slist_free_all(req->headers);
    memset(req, 0, sizeof *req);
}

/* ------------------------------------------------------------ driving */

static ferry_status interrupted(const ferry_http_req *r, ferry_error *err)
{
    return ferry_error_hook(err, FERRY_ERR_INTERRUPTED, FERRY_HTTP_SYSTEM, r->target->conn_id,
                            "%s %s: interrupted by signal %d", r->method, r->target->url, ferry_cancel_signal());
}

static ferry_status multi_failed(const ferry_http_req *r, CURLMcode mc, ferry_error *err)
{
    return ferry_error_hook(err, FERRY_ERR_INTERNAL, FERRY_HTTP_SYSTEM, r->target->conn_id, "%s %s: curl: %s",
                            r->method, r->target->url, curl_multi_strerror(mc));
}

/* Let curl work on whatever is ready; the engine notes whether the request ended. */
static ferry_status perform(ferry_http_req *r, ferry_error *err)
{
    ferry_status st = ferry_curl_perform(r->multi, FERRY_HTTP_SYSTEM, r->target->conn_id, NULL, err);
    if (st != FERRY_OK)
        ferry_error_prefix(err, "%s %s", r->method, r->target->url);
    return st;
}

/* Wait (at most FERRY_HTTP_POLL_MS) for a socket, cancellably. */
static ferry_status wait_io(ferry_http_req *r, ferry_error *err)
{
    ferry_status st = ferry_curl_wait(r->multi, FERRY_HTTP_POLL_MS, 1, FERRY_HTTP_SYSTEM, r->target->conn_id, err);
    if (st == FERRY_ERR_INTERRUPTED)
        return interrupted(r, err);
    if (st != FERRY_OK)
        ferry_error_prefix(err, "%s %s", r->method, r->target->url);
    return st;
}

/* Lift our pause; curl may call the callbacks from inside. */
static void resume(ferry_http_req *r)
{
    touch(r);
    if (!(r->recv_paused || r->send_paused) || r->done || !r->added)
        return;
    r->recv_paused = 0;
    r->send_paused = 0;
    CURLcode rc = curl_easy_pause(r->easy, CURLPAUSE_CONT);
    if (rc != CURLE_OK) {
        r->done = 1;
        r->result = rc;
        r->cx.result = rc;          /* what ferry_curl_outcome judges */
        ferry_http_req_cancel(r);
    }
}

ferry_status ferry_http_req_start(ferry_http_req *req, ferry_error *err)
{
    if (req->added || req->done)
        return FERRY_OK;
    CURLMcode mc = curl_multi_add_handle(req->multi, req->easy);
    if (mc != CURLM_OK)
        return multi_failed(req, mc, err);
    req->added = 1;
    touch(req);
    ferry_log(FERRY_LOG_DEBUG, "%s(%s): %s %s", FERRY_HTTP_SYSTEM, req->target->conn_id, req->method,
              req->target->url);
    return FERRY_OK;
}

ferry_status ferry_http_req_wait_response(ferry_http_req *req, ferry_error *err)
{
    ferry_status st = ferry_http_req_start(req, err);
    while (st == FERRY_OK) {
        st = perform(req, err);
        if (st != FERRY_OK || req->done || req->body_bytes > 0)
            break;
        st = wait_io(req, err);
    }
    return st;
}

/* From now on keep only an excerpt of the body: a request whose body nobody
 * reads must never stall on a full spill. */
static void excerpt_mode(ferry_http_req *req)
{
    if (req->excerpt_only)
        return;
    req->excerpt_only = 1;
    size_t k = spill_pending(req);
    if (k > sizeof req->excerpt - req->excerpt_len)
        k = sizeof req->excerpt - req->excerpt_len;
    memcpy(req->excerpt + req->excerpt_len, req->spill + req->spill_off, k);
    req->excerpt_len += k;
    req->spill_off = req->spill_len = 0;
}

ferry_status ferry_http_req_run(ferry_http_req *req, ferry_error *err)
{
    excerpt_mode(req);
    ferry_status st = ferry_http_req_start(req, err);
    resume(req);
    while (st == FERRY_OK && req->added && !req->done) {
        st = perform(req, err);
        if (st != FERRY_OK || req->done)
            break;
        st = wait_io(req, err);
    }
    return st;
}

ferry_status ferry_http_req_collect_excerpt(ferry_http_req *req, ferry_error *err)
{
    excerpt_mode(req);
    resume(req);
    ferry_status st = FERRY_OK;
    while (req->added && !req->done && req->excerpt_len < sizeof req->excerpt) {
        st = perform(req, err);
        if (st != FERRY_OK || req->done || req->excerpt_len == sizeof req->excerpt)
            break;
        st = wait_io(req, err);
    }
    if (!req->done)
        ferry_http_req_cancel(req);
    return st;
}

size_t ferry_http_req_take_spill(ferry_http_req *req, void *buf, size_t cap)
{
    size_t k = spill_pending(req);
    if (k > cap)
        k = cap;
    memcpy(buf, req->spill + req->spill_off, k);
    req->spill_off += k;
    if (req->spill_off == req->spill_len)
        req->spill_off = req->spill_len = 0;
    return k;
}

ferry_status ferry_http_req_receive(ferry_http_req *req, void *buf, size_t cap, size_t *len, ferry_error *err)
{
    if (!req->added && !req->done)
        return ferry_error_hook(err, FERRY_ERR_INTERNAL, FERRY_HTTP_SYSTEM, req->target->conn_id,
                                "receive on a request that is not running");
    ferry_status st = FERRY_OK;
    req->dst = buf;
    req->dst_cap = cap;
    req->dst_len = *len;
    resume(req);
    while (!req->done && req->dst_len < cap) {
        size_t before = req->dst_len;
        st = perform(req, err);
        if (st != FERRY_OK || req->done || req->dst_len == cap)
            break;
        if (req->dst_len > before)
            continue;           /* more may be ready: drain it */
        if (req->dst_len > 0)
            break;              /* what the network had is in */
        st = wait_io(req, err);
        if (st != FERRY_OK)
            break;
    }
    *len = req->dst_len;
    req->dst = NULL;
    req->dst_cap = req->dst_len = 0;
    if (st != FERRY_OK)
        return st;
    if (req->done && req->result != CURLE_OK)
        return ferry_http_fail_curl(req, err);
    return FERRY_OK;
}

ferry_status ferry_http_req_send(ferry_http_req *req, const void *buf, size_t len, ferry_error *err)
{
    ferry_status st = ferry_http_req_start(req, err);
    if (st != FERRY_OK)
        return st;
    req->up = buf;
    req->up_len = len;
    req->up_off = 0;
    resume(req);
    while (!req->done && req->up_off < req->up_len) {
        size_t before = req->up_off;
        st = perform(req, err);
        if (st != FERRY_OK || req->done || req->up_off == req->up_len)
            break;
        if (req->up_off == before)
            st = wait_io(req, err);
        if (st != FERRY_OK)
            break;
    }
    req->up = NULL;
    req->up_len = req->up_off = 0;
    return st;
}

ferry_status ferry_http_req_finish_send(ferry_http_req *req, ferry_error *err)
{
    req->up_eof = 1;
    return ferry_http_req_run(req, err);
}

/* ------------------------------------------------------------ response facts */

int64_t ferry_http_req_content_length(const ferry_http_req *req)
{
    curl_off_t cl = -1;
    if (curl_easy_getinfo(req->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl) != CURLE_OK)
        return -1;
    return cl >= 0 ? (int64_t)cl : -1;
}

double ferry_http_req_retry_after(const ferry_http_req *req)
{
    curl_off_t ra = 0;
    if (curl_easy_getinfo(req->easy, CURLINFO_RETRY_AFTER, &ra) != CURLE_OK || ra <= 0)
        return 0;
    return (double)ra;
}

int64_t ferry_http_req_filetime(const ferry_http_req *req)
{
    curl_off_t t = -1;
    if (curl_easy_getinfo(req->easy, CURLINFO_FILETIME_T, &t) != CURLE_OK)
        return -1;
    return t >= 0 ? (int64_t)t : -1;
}
