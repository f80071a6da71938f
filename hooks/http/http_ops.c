/*
 * hooks/http/http_ops.c - the HTTP hook's small operations: stat (HEAD),
 * remove (DELETE) and test (HEAD of the connection's base URL, GET when the
 * server refuses HEAD), on top of one helper that runs a request without a
 * body worth keeping, with retries; and the Retry-After-aware retry step the
 * source shares.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ferry/log.h"
#include "hooks/http/http_internal.h"

int ferry_http_retry_again(ferry_retry *r, double retry_after, ferry_error *err)
{
    double before = r->waited;
    if (!ferry_retry_again(r, err))
        return 0;
    if (retry_after > FERRY_HTTP_RETRY_AFTER_MAX)
        retry_after = FERRY_HTTP_RETRY_AFTER_MAX;
    double more = retry_after - (r->waited - before);
    if (more <= 0)
        return 1;
    ferry_log(FERRY_LOG_INFO, "%s: waiting %.1f s more, as the server asked (Retry-After: %.0f)", FERRY_HTTP_SYSTEM,
              more, retry_after);
    if (ferry_sleep_cancellable(more) != 0) {
        ferry_error_set(err, FERRY_ERR_INTERRUPTED, "interrupted by signal %d", ferry_cancel_signal());
        return 0;
    }
    r->waited += more;
    return 1;
}

/* One try of ferry_http_simple. */
static ferry_status simple_once(const ferry_http_target *t, const char *method, long *status, int64_t *size,
                                int64_t *mtime, double *retry_after, ferry_error *err)
{
    ferry_http_req req;
    ferry_status st = ferry_http_req_init(&req, t, method, NULL, err);
    if (st != FERRY_OK)
        return st;
    CURLcode rc;
    if (strcmp(method, "HEAD") == 0)
        rc = curl_easy_setopt(req.easy, CURLOPT_NOBODY, 1L);
    else if (strcmp(method, "GET") == 0)
        rc = curl_easy_setopt(req.easy, CURLOPT_HTTPGET, 1L);
    else
        rc = curl_easy_setopt(req.easy, CURLOPT_CUSTOMREQUEST, method);
    if (rc != CURLE_OK)
        st = ferry_error_hook(err, FERRY_ERR_INTERNAL, FERRY_HTTP_SYSTEM, t->conn_id, "libcurl refused an option: %s",
                              curl_easy_strerror(rc));
    if (st == FERRY_OK)
        st = ferry_http_req_wait_response(&req, err);
    if (st == FERRY_OK && !(req.done && req.result != CURLE_OK))
        st = ferry_http_req_collect_excerpt(&req, err);
    if (st == FERRY_OK) {
        *status = req.status;
        if (req.done && req.result != CURLE_OK) {
            *status = 0;
            st = ferry_http_fail_curl(&req, err);
        } else if (!ferry_http_ok(req.status)) {
            *retry_after = ferry_http_req_retry_after(&req);
            st = ferry_http_fail_status(&req, err);
        } else {
            if (size)
                *size = ferry_http_req_content_length(&req);
            if (mtime)
                *mtime = ferry_http_req_filetime(&req);
        }
    }
    ferry_http_req_release(&req);
    return st;
}

ferry_status ferry_http_simple(const ferry_http_target *t, const char *method, int max_attempts, long *status,
                               int64_t *size, int64_t *mtime, ferry_error *err)
{
    ferry_retry r;
    ferry_retry_init(&r, max_attempts);
    for (;;) {
        double retry_after = 0;
        *status = 0;
        ferry_status st = simple_once(t, method, status, size, mtime, &retry_after, err);
        if (st == FERRY_OK || max_attempts == 1)
            return st;
        if (!ferry_http_retry_again(&r, retry_after, err))
            return err ? err->status : st;
    }
}

ferry_status ferry_http_stat(const ferry_endpoint *ep, ferry_entry *out, ferry_error *err)
{
    ferry_http_target t;
    ferry_status st = ferry_http_target_init(&t, ep, NULL, err);
    if (st != FERRY_OK)
        return st;
    long status = 0;
    int64_t size = -1, mtime = -1;
    st = ferry_http_simple(&t, "HEAD", 0, &status, &size, &mtime, err);
    ferry_http_target_release(&t);
    if (st != FERRY_OK)
        return st;
    out->name = ep->path;
    out->size = size;
    out->mtime = mtime;
    out->is_dir = 0;
    return FERRY_OK;
}

ferry_status ferry_http_remove(const ferry_endpoint *ep, ferry_error *err)
{
    ferry_http_target t;
    ferry_status st = ferry_http_target_init(&t, ep, NULL, err);
    if (st != FERRY_OK)
        return st;
    long status = 0;
    t.follow = 0;
    st = ferry_http_simple(&t, "DELETE", 0, &status, NULL, NULL, err);
    ferry_http_target_release(&t);
    return st;
}

ferry_status ferry_http_test(const ferry_conn *conn, char *info, size_t cap, ferry_error *err)
{
    ferry_http_target t;
    ferry_status st = ferry_http_target_init_conn(&t, conn, err);
    if (st != FERRY_OK)
        return st;
    long status = 0;
    st = ferry_http_simple(&t, "HEAD", 1, &status, NULL, NULL, err);
    if (st != FERRY_OK && (status == 405 || status == 501))
        st = ferry_http_simple(&t, "GET", 1, &status, NULL, NULL, err);
    /* the server answered and took the credentials: its root may still have nothing */
    const char *note = "";
    if (st != FERRY_OK && (status == 404 || status == 405 || (status >= 300 && status < 400))) {
        ferry_error_clear(err);
        st = FERRY_OK;
        note = status == 404 ? ", nothing at the base URL itself" : "";
    }
    if (st == FERRY_OK) {
        const char *tls = !t.tls ? "" : t.verify ? " (TLS verified)" : " (TLS NOT verified: verify is off)";
        snprintf(info, cap, "HTTP %ld from %s%s%s", status, t.url, tls, note);
    }
    ferry_http_target_release(&t);
    return st;
}
