/*
 * hooks/http/http_errmap.c - what a failed request means for ferry: the
 * status (= exit code), whether a retry may help (HTTP status codes here,
 * CURLcodes by the shared engine's map), and one line of message:
 *     http(api): GET http://host/x failed: HTTP 404 Not Found: <body excerpt>
 *     http(inline): GET https://host/ failed: SSL certificate problem: ...
 * The excerpt is the first FERRY_HTTP_EXCERPT bytes of the body, made
 * printable.  Messages carry the URL without credentials; ferry_error_set
 * scrubs every registered secret besides.
 */
#include <stdio.h>
#include <string.h>

#include "hooks/http/http_internal.h"

ferry_status ferry_http_status_for_code(long code, int *transient)
{
    *transient = 0;
    if (code == 404 || code == 410)
        return FERRY_ERR_NOT_FOUND;
    if (code == 401 || code == 403 || code == 407)
        return FERRY_ERR_CONNECT;
    if (code == 408 || code == 429 || (code >= 500 && code <= 599 && code != 501 && code != 505)) {
        *transient = 1;
        return FERRY_ERR_TRANSIENT;
    }
    return FERRY_ERR_DATA;
}

void ferry_http_printable(const void *in, size_t n, char *out, size_t cap)
{
    if (cap == 0)
        return;
    const unsigned char *p = in;
    size_t o = 0;
    int space = 0;
    for (size_t i = 0; i < n && o + 1 < cap; i++) {
        unsigned char c = p[i];
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v') {
            space = 1;
            continue;
        }
        if (space && o > 0) {
            out[o++] = ' ';
            if (o + 1 >= cap)
                break;
        }
        space = 0;
        out[o++] = (char)(c > 0x20 && c < 0x7f ? c : '?');
    }
    out[o] = '\0';
}

/* Reason phrases for responses without one (HTTP/2). */
static const char *standard_reason(long code)
{
    switch (code) {
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 415: return "Unsupported Media Type";
    case 416: return "Range Not Satisfiable";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "";
    }
}

ferry_status ferry_http_fail_status(const ferry_http_req *req, ferry_error *err)
{
    int transient = 0;
    ferry_status st = ferry_http_status_for_code(req->status, &transient);
    const char *reason = req->reason[0] ? req->reason : standard_reason(req->status);
    char body[FERRY_HTTP_EXCERPT + 1];
    ferry_http_printable(req->excerpt, req->excerpt_len, body, sizeof body);
    int cut = req->body_bytes > (int64_t)req->excerpt_len && body[0];
    char *location = NULL;
    char redirect[512] = "";
    if (req->status >= 300 && req->status < 400 && req->easy &&
        curl_easy_getinfo(req->easy, CURLINFO_REDIRECT_URL, &location) == CURLE_OK && location)
        snprintf(redirect, sizeof redirect, " (redirect to %.400s not followed: %s)", location,
                 req->target->streamed_body ? "a streamed body cannot be sent twice" : "allow_redirects is off");
    ferry_error_hook(err, st, FERRY_HTTP_SYSTEM, req->target->conn_id, "%s %s failed: HTTP %ld%s%s%s%s%s%s",
                     req->method, req->target->url, req->status, reason[0] ? " " : "", reason, redirect,
                     body[0] ? ": " : "", body, cut ? "..." : "");
    if (transient)
        ferry_error_transient(err);
    return st;
}

static const char *curl_hint(CURLcode rc, const ferry_http_target *t)
{
    switch (rc) {
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_ISSUER_ERROR:
        return t->ca_bundle ? " (the server's certificate does not verify against the connection's CA bundle)"
                            : " (the server's certificate is not trusted: give its CA with the connection's "
                              "ca_bundle or verify extra)";
    case CURLE_SSL_CACERT_BADFILE:
        return " (the CA bundle cannot be used)";
    case CURLE_OPERATION_TIMEDOUT:     /* curl's only timer here: connecting */
        return " (connecting is bounded by the shorter of 30 s and the timeout)";
    case CURLE_PARTIAL_FILE:
        return " (the body ended before its announced length)";
    default:
        return "";
    }
}

ferry_status ferry_http_fail_curl(const ferry_http_req *req, ferry_error *err)
{
    int transient = 0;
    char detail[CURL_ERROR_SIZE];
    ferry_status st = ferry_curl_outcome(&req->cx, &transient, detail, sizeof detail);
    if (st == FERRY_ERR_INTERRUPTED)
        return ferry_error_hook(err, st, FERRY_HTTP_SYSTEM, req->target->conn_id, "%s %s: interrupted by signal %d",
                                req->method, req->target->url, ferry_cancel_signal());
    if (req->cx.stalled)
        ferry_error_hook(err, st, FERRY_HTTP_SYSTEM, req->target->conn_id,
                         "%s %s failed: no data moved for %g s (see --timeout and the connection's timeout "
                         "extra)",
                         req->method, req->target->url, req->target->timeout);
    else
        ferry_error_hook(err, st, FERRY_HTTP_SYSTEM, req->target->conn_id, "%s %s failed: %s%s", req->method,
                         req->target->url, detail, curl_hint(req->result, req->target));
    if (transient)
        ferry_error_transient(err);
    return st;
}

ferry_status ferry_http_fail(const ferry_http_req *req, ferry_error *err)
{
    if (req->done && req->result != CURLE_OK)
        return ferry_http_fail_curl(req, err);
    return ferry_http_fail_status(req, err);
}
