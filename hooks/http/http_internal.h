/*
 * hooks/http/http_internal.h - what the files of the HTTP(S) hook share.
 *
 *   http_url.c      the request URL from a connection and an endpoint path
 *   http_target.c   a connection's settings (auth, TLS, proxy, headers, timeout)
 *   http_request.c  one request configured from them and driven on its own
 *                   curl multi by the shared engine (hooks/curl): pull-style
 *                   body reception, push-style upload, pausing
 *   http_errmap.c   HTTP status -> ferry status, message text (CURLcodes:
 *                   the engine's map)
 *   http_source.c   the streaming GET (or POST ...) reader, with retries and
 *                   Range resume
 *   http_sink.c     the streaming PUT/POST writer
 *   http_ops.c      stat (HEAD), remove (DELETE), test
 *   http.c          the hook table
 *
 * Not a public header: only the files of hooks/http and the unit tests
 * tests/unit/test_http_<name>.c include it.  Every symbol is prefixed
 * ferry_http_.  Ownership is written at each declaration; "borrowed" pointers
 * must outlive the object that holds them.
 */
#ifndef FERRY_HOOKS_HTTP_INTERNAL_H
#define FERRY_HOOKS_HTTP_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <curl/curl.h>

#include "core/util.h"
#include "ferry/hook.h"
#include "ferry/retry.h"
#include "hooks/curl/curl_engine.h"

#define FERRY_HTTP_SYSTEM "http"
#define FERRY_HTTP_MAX_REDIRECTS 10L
#define FERRY_HTTP_EXCERPT 200            /* bytes of an error body a message shows */
#define FERRY_HTTP_POLL_MS 200            /* longest wait before ferry_cancelled() is looked at */
#define FERRY_HTTP_RETRY_AFTER_MAX 30.0   /* seconds: cap on a server's Retry-After */
#define FERRY_HTTP_CONNECT_TIMEOUT 30.0   /* seconds, or the transfer timeout when shorter */
#define FERRY_HTTP_RECV_BUFFER (128L * 1024) /* CURLOPT_BUFFERSIZE */
#define FERRY_HTTP_SPILL CURL_MAX_WRITE_SIZE /* most body bytes one write callback gets */
#define FERRY_HTTP_METHOD_MAX 16

/* ---- http_url.c ---------------------------------------------------------- */

/* The request URL (owned by the caller, free) for an endpoint:
 *  - an inline endpoint (conn->id == "", path = the whole "http[s]://..." text):
 *    the same URL without its user:password@ part;
 *  - a connection endpoint ("CONN:path"): the base URL (schema "https" -> https,
 *    NULL/"http" -> http; host; port) joined with path ("/a?x=1", "a", "" -> "/").
 * Spaces and bytes >= 0x80 in the path and query are percent-encoded; control
 * characters, an absolute URL as a connection path, a missing host or another
 * schema are FERRY_ERR_CONFIG. */
ferry_status ferry_http_build_url(const ferry_conn *conn, const char *path, char **out, ferry_error *err);

/* Nonzero when the endpoint text is an inline URL (conn id "" and an
 * http:// or https:// path). */
int ferry_http_is_inline(const ferry_conn *conn, const char *path);

/* ---- http_target.c ------------------------------------------------------- */

/* Everything a request to one endpoint needs, resolved once.  The borrowed
 * strings point into the connection, which must outlive the target. */
typedef struct ferry_http_target {
    char *url;                  /* owned: request URL, no credentials in it */
    const char *conn_id;        /* borrowed: for messages ("inline" for a URL) */
    const char *login;          /* borrowed from the connection; NULL: no basic auth */
    const char *password;       /* borrowed; a secret */
    const char *bearer;         /* borrowed (token / bearer_token extra); a secret */
    const char *ca_bundle;      /* borrowed (ca_bundle extra, or verify=<path>) */
    const char *client_cert;    /* borrowed (cert extra) */
    const char *client_key;     /* borrowed (key extra) */
    const char *proxy;          /* borrowed (proxy extra, or proxies[scheme]) */
    char *proxy_owned;          /* owned: the proxy picked from a proxies JSON extra */
    int tls;                    /* the URL is https */
    int verify;                 /* verify the server's certificate and name (default 1) */
    int follow;                 /* follow redirects (allow_redirects, default 1) */
    int streamed_body;          /* requests send a streamed body (the sink): never follow */
    long max_redirects;         /* default FERRY_HTTP_MAX_REDIRECTS */
    double timeout;             /* seconds without progress before a request fails */
    struct curl_slist *headers; /* owned: headers extra, then o->http_headers */
} ferry_http_target;

/* Resolve the target of an endpoint.  o may be NULL (defaults).  On failure t
 * is released.  Inline URLs take no extras (their query belongs to the URL). */
ferry_status ferry_http_target_init(ferry_http_target *t, const ferry_endpoint *ep,
                                    const ferry_copy_options *o, ferry_error *err);
/* The target of a connection's base URL ("/"), for test. */
ferry_status ferry_http_target_init_conn(ferry_http_target *t, const ferry_conn *conn, ferry_error *err);
/* Free what t owns; safe on a zeroed or released target. */
void ferry_http_target_release(ferry_http_target *t);

/* Nonzero when headers hold a header of this name (case-insensitive). */
int ferry_http_has_header(const struct curl_slist *headers, const char *name);

/* Check one "Name: value" header line (no CR/LF, a token before ':').
 * Returns 0 when good, else -1 with a reason in *why (static text). */
int ferry_http_header_check(const char *line, const char **why);

/* ---- http_request.c ------------------------------------------------------ */

/* One request, with its own curl multi so the caller decides when it makes
 * progress.  Embedded by the source and sink (not copied once started: the
 * callbacks point at it). */
typedef struct ferry_http_req {
    CURLM *multi;                   /* owned */
    CURL *easy;                     /* owned */
    struct curl_slist *headers;     /* owned: the target's plus per-request ones */
    const ferry_http_target *target;/* borrowed */
    char method[FERRY_HTTP_METHOD_MAX]; /* for messages */
    int added;                      /* handed to the multi */
    int done;                       /* curl finished (result says how) */
    CURLcode result;
    /* the last response's status line and headers */
    long status;                    /* 0 until a status line arrived */
    char reason[64];                /* reason phrase, printable ("" for HTTP/2) */
    int accept_ranges;              /* Accept-Ranges: bytes */
    char etag[256];                 /* "" when absent */
    char last_modified[64];         /* "" when absent */
    char content_range[96];         /* "" when absent */
    /* response body */
    int excerpt_only;               /* keep the first FERRY_HTTP_EXCERPT bytes, drop the rest */
    unsigned char *dst;             /* borrowed from ferry_http_req_receive's caller, during the call */
    size_t dst_cap, dst_len;
    unsigned char spill[FERRY_HTTP_SPILL]; /* what one callback brought beyond dst */
    size_t spill_off, spill_len;
    int recv_paused;                /* the write callback returned CURL_WRITEFUNC_PAUSE */
    int64_t body_bytes;             /* body bytes curl delivered (excerpt mode included) */
    char excerpt[FERRY_HTTP_EXCERPT];
    size_t excerpt_len;
    /* request body fed by ferry_http_req_send */
    const unsigned char *up;        /* borrowed from ferry_http_req_send's caller, during the call */
    size_t up_len, up_off;
    int up_eof;                     /* no more data: the read callback ends the body */
    int send_paused;                /* the read callback returned CURL_READFUNC_PAUSE */
    ferry_curl_xfer cx;             /* the engine's part: cancellation, stalls, curl's outcome */
} ferry_http_req;

/* Create the handles and configure every common option from target (URL,
 * auth, TLS, proxy, timeouts, headers, callbacks).  method is the request's
 * verb for messages (the caller sets curl's method options).  extra_headers:
 * NULL-terminated "Name: value" lines added for this request only (copied).
 * On failure req is released. */
ferry_status ferry_http_req_init(ferry_http_req *req, const ferry_http_target *target, const char *method,
                                 const char *const *extra_headers, ferry_error *err);
/* Abort an unfinished request and free everything; safe on a zeroed req. */
void ferry_http_req_release(ferry_http_req *req);

/* Start the request (idempotent). */
ferry_status ferry_http_req_start(ferry_http_req *req, ferry_error *err);
/* Run until the response body starts (its first bytes wait in the spill) or
 * the request ends.  Fails only on interruption or a curl multi failure;
 * the caller then looks at req->done, req->result and req->status. */
ferry_status ferry_http_req_wait_response(ferry_http_req *req, ferry_error *err);
/* Run until the request ends. */
ferry_status ferry_http_req_run(ferry_http_req *req, ferry_error *err);
/* Switch to keeping only an excerpt of the body (what the spill holds goes
 * first) and run until the excerpt is full or the request ends; a request
 * still running then is cancelled. */
ferry_status ferry_http_req_collect_excerpt(ferry_http_req *req, ferry_error *err);

/* Move spilled body bytes into buf; returns how many. */
size_t ferry_http_req_take_spill(ferry_http_req *req, void *buf, size_t cap);
/* Receive body bytes into buf[*len, cap) (buf borrowed for the call),
 * advancing *len; returns when buf is full, when what the network had is in,
 * or at the end.  FERRY_OK with *len unchanged means the body ended well.
 * A failed transfer is reported through ferry_http_req_fail. */
ferry_status ferry_http_req_receive(ferry_http_req *req, void *buf, size_t cap, size_t *len, ferry_error *err);

/* Hand len bytes of request body to curl (buf borrowed for the call); starts
 * the request on first use and returns once curl took every byte, or when the
 * request ended early (req->done). */
ferry_status ferry_http_req_send(ferry_http_req *req, const void *buf, size_t len, ferry_error *err);
/* End the request body and run until the response is complete. */
ferry_status ferry_http_req_finish_send(ferry_http_req *req, ferry_error *err);
/* Cancel a started request (the server sees the connection drop). */
void ferry_http_req_cancel(ferry_http_req *req);

/* Response facts (valid once headers arrived). */
int64_t ferry_http_req_content_length(const ferry_http_req *req);  /* -1 unknown */
double ferry_http_req_retry_after(const ferry_http_req *req);      /* seconds, 0 none */
int64_t ferry_http_req_filetime(const ferry_http_req *req);        /* unix seconds, -1 unknown */

/* ---- http_errmap.c ------------------------------------------------------- */

/* The ferry status of a final HTTP status code: 404/410 not found, 401/403/407
 * connect, 408/429/5xx (but 501, 505) transient, other 4xx/3xx data.
 * *transient set accordingly. */
ferry_status ferry_http_status_for_code(long code, int *transient);

/* Fill err for a request that ended in a non-2xx status:
 * "http(<id>): <METHOD> <url> failed: HTTP 404 Not Found: <excerpt>". */
ferry_status ferry_http_fail_status(const ferry_http_req *req, ferry_error *err);
/* Fill err for a request curl could not complete (req->result). */
ferry_status ferry_http_fail_curl(const ferry_http_req *req, ferry_error *err);
/* Either of the two, for a finished request that is not a success. */
ferry_status ferry_http_fail(const ferry_http_req *req, ferry_error *err);

/* Copy n bytes of a response body into out (capacity cap) as one printable
 * line: whitespace runs become one space, other control and non-ASCII bytes
 * '?', trimmed. */
void ferry_http_printable(const void *in, size_t n, char *out, size_t cap);

/* Nonzero for a 2xx status. */
static inline int ferry_http_ok(long status)
{
    return status >= 200 && status < 300;
}

/* ---- http_ops.c ---------------------------------------------------------- */

/* After a failed attempt: ferry_retry_again, then the rest of the server's
 * Retry-After (capped) beyond what the backoff slept.  Returns 1 to retry. */
int ferry_http_retry_again(ferry_retry *r, double retry_after, ferry_error *err);

/* A request without a body to send or keep (HEAD, DELETE, a GET whose body
 * is cut after the excerpt), tried max_attempts times (<= 0: ferry_retry's
 * default) for transient failures; a single attempt never turns the error
 * into FERRY_ERR_TRANSIENT.
 * FERRY_OK for 2xx; else err is filled.  *status: the final status, 0 when
 * none arrived.  size (Content-Length) and mtime (Last-Modified) may be NULL;
 * -1 when unknown. */
ferry_status ferry_http_simple(const ferry_http_target *t, const char *method, int max_attempts, long *status,
                               int64_t *size, int64_t *mtime, ferry_error *err);

ferry_status ferry_http_stat(const ferry_endpoint *ep, ferry_entry *out, ferry_error *err);
ferry_status ferry_http_remove(const ferry_endpoint *ep, ferry_error *err);
ferry_status ferry_http_test(const ferry_conn *conn, char *info, size_t cap, ferry_error *err);

/* ---- http_source.c / http_sink.c ----------------------------------------- */

/* The method of o (upper-cased into buf, FERRY_HTTP_METHOD_MAX) or dflt;
 * FERRY_ERR_USAGE when it is not an HTTP token. */
ferry_status ferry_http_method(const ferry_copy_options *o, const char *dflt, char *buf, ferry_error *err);

ferry_status ferry_http_open_source(const ferry_endpoint *ep, const ferry_copy_options *o, ferry_source **out,
                                    ferry_error *err);
ferry_status ferry_http_open_sink(const ferry_endpoint *ep, const ferry_copy_options *o, ferry_writer **out,
                                  ferry_error *err);

#endif
