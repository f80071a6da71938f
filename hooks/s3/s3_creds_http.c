/*
 * hooks/s3/s3_creds_http.c - one blocking HTTP exchange for the credential
 * chain (STS, IMDS, the container endpoint, the SSO portal), run through
 * the one curl engine (hooks/curl/curl_engine.h): its own easy handle on a
 * private multi, the engine's stall and cancellation checks and its
 * CURLcode map.  Bodies are small; at most 1 MiB is collected.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/log.h"
#include "hooks/curl/curl_engine.h"
#include "hooks/s3/s3_creds.h"
#include "hooks/s3/s3_internal.h"

#define CREDS_RESP_LIMIT (1024 * 1024)

typedef struct http_ctx {
    ferry_buf *resp;
    int too_big;
} http_ctx;

static size_t collect(char *data, size_t size, size_t nmemb, void *ud)
{
    http_ctx *h = ud;
    size_t n = size * nmemb;
    if (h->resp->len + n > CREDS_RESP_LIMIT) {
        h->too_big = 1;
        return 0;
    }
    return ferry_buf_append(h->resp, data, n) == 0 ? n : 0;
}

ferry_status ferry_s3_http_call(const ferry_s3_http *q, ferry_buf *resp, long *status, ferry_error *err)
{
    *status = 0;
    ferry_buf_reset(resp);
    if (ferry_curl_init(err) != FERRY_OK)
        return ferry_error_prefix(err, "s3");
    CURLM *multi = curl_multi_init();
    CURL *e = curl_easy_init();
    ferry_curl_xfer cx;
    memset(&cx, 0, sizeof cx);
    http_ctx h = {resp, 0};
    ferry_status st = FERRY_OK;
    if (!multi || !e) {
        st = ferry_error_set(err, FERRY_ERR_INTERNAL, "s3: curl initialisation failed");
        goto out;
    }
    if (ferry_curl_xfer_setup(&cx, e, q->stall_after, 1) != CURLE_OK) {
        st = ferry_error_set(err, FERRY_ERR_INTERNAL, "s3: libcurl refused an option");
        goto out;
    }
    curl_easy_setopt(e, CURLOPT_URL, q->url);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, q->headers);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, (void *)&h);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, q->connect_timeout > 0 ? q->connect_timeout : 30L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, q->verify ? 1L : 0L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, q->verify ? 2L : 0L);
    if (q->ca_bundle)
        curl_easy_setopt(e, CURLOPT_CAINFO, q->ca_bundle);
    if (q->no_proxy)
        curl_easy_setopt(e, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    if (strcmp(q->method, "GET") != 0) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)q->body_len);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, q->body ? q->body : "");
        if (strcmp(q->method, "POST") != 0)
            curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, q->method);
    }
    if (curl_multi_add_handle(multi, e) != CURLM_OK) {
        st = ferry_error_set(err, FERRY_ERR_INTERNAL, "s3: curl_multi_add_handle failed");
        goto out;
    }
    double t0 = ferry_now_monotonic();
    while (!cx.done) {
        st = ferry_curl_drive(multi, 100, 1, "s3", q->conn_id, err);
        if (st == FERRY_ERR_INTERRUPTED) {
            st = ferry_error_hook(err, st, "s3", q->conn_id, "%s interrupted", q->what);
            break;
        }
        if (st != FERRY_OK)
            break;
    }
    curl_multi_remove_handle(multi, e);
    if (st != FERRY_OK)
        goto out;
    if (cx.result != CURLE_OK) {
        int transient = 0;
        char cause[CURL_ERROR_SIZE];
        if (h.too_big) {
            st = ferry_error_hook(err, FERRY_ERR_DATA, "s3", q->conn_id, "%s %s: answer larger than 1 MiB",
                                  q->what, q->url);
            goto out;
        }
        st = ferry_curl_outcome(&cx, &transient, cause, sizeof cause);
        if (cx.stalled)
            snprintf(cause, sizeof cause, "no answer for %.0f s", q->stall_after);
        ferry_error_hook(err, st, "s3", q->conn_id, "%s %s failed: %s", q->what, q->url, cause);
        if (transient)
            ferry_error_transient(err);
        goto out;
    }
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, status);
    if (ferry_log_enabled(FERRY_LOG_DEBUG))
        ferry_log(FERRY_LOG_DEBUG, "s3(%s): %s %s %s -> %ld in %.3f s", q->conn_id, q->what, q->method, q->url,
                  *status, ferry_now_monotonic() - t0);
out:
    if (e)
        curl_easy_cleanup(e);
    if (multi)
        curl_multi_cleanup(multi);
    return st;
}
