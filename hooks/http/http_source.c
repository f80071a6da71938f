/*
 * hooks/http/http_source.c - an HTTP response body as a ferry source.
 *
 * open_source sends the request (GET, or POST when there is a body; any
 * method with --method) and waits for the response to start, so a failed
 * request fails the copy before anything is written.  Connection errors,
 * timeouts, 408, 429 and 5xx are retried with ferry_retry (a server's
 * Retry-After in seconds is honoured, capped) while no body byte has been
 * handed to the caller.  Later, a broken transfer resumes with a Range request
 * when the server announced Accept-Ranges: bytes and a validator (strong ETag
 * or Last-Modified, sent back as If-Range), else the source fails with
 * FERRY_ERR_DATA (marked transient) and the transfer aborts.
 *
 * read() lends the caller's buffer to curl (http_request.c); a body shorter
 * than its Content-Length is an error (CURLE_PARTIAL_FILE, and a count at
 * the end besides), never a short destination.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "ferry/log.h"
#include "hooks/http/http_internal.h"

typedef struct http_source {
    ferry_source base;
    ferry_http_target target;
    char method[FERRY_HTTP_METHOD_MAX];
    char *data;                 /* owned copy of o->http_data, or NULL */
    size_t data_len;
    FILE *data_file;            /* owned: o->http_data_file, rewound for each attempt */
    int64_t data_file_size;
    ferry_http_req req;         /* the current attempt (zeroed when none) */
    ferry_retry retry;          /* one budget for opening and resuming */
    int64_t delivered;          /* body bytes handed to the caller */
    int64_t resumed_at;         /* where the last resume started (-1 none) */
    int64_t total;              /* the whole body's announced length, -1 unknown */
    char validator[256];        /* If-Range value; "" = cannot resume */
    int eof;
} http_source;

ferry_status ferry_http_method(const ferry_copy_options *o, const char *dflt, char *buf, ferry_error *err)
{
    const char *m = o && o->http_method && o->http_method[0] ? o->http_method : dflt;
    size_t n = strlen(m);
    if (n == 0 || n >= FERRY_HTTP_METHOD_MAX)
        return ferry_error_set(err, FERRY_ERR_USAGE, "http: '%.40s' is not an HTTP method", m);
    for (size_t i = 0; i < n; i++) {
        char c = m[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '-' || c == '_'))
            return ferry_error_set(err, FERRY_ERR_USAGE, "http: '%.40s' is not an HTTP method", m);
        buf[i] = (char)(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
    }
    buf[n] = '\0';
    return FERRY_OK;
}

/* ------------------------------------------------------------ request body */

static size_t file_read(char *buf, size_t size, size_t n, void *ud)
{
    FILE *f = ud;
    size_t got = fread(buf, 1, size * n, f);
    if (got == 0 && ferror(f))
        return CURL_READFUNC_ABORT;
    return got;
}

static int file_seek(void *ud, curl_off_t offset, int origin)
{
    return fseeko((FILE *)ud, (off_t)offset, origin) == 0 ? CURL_SEEKFUNC_OK : CURL_SEEKFUNC_FAIL;
}

static CURLcode set_body(http_source *s, CURL *e)
{
    CURLcode rc = CURLE_OK;
    if (s->data) {
        rc = curl_easy_setopt(e, CURLOPT_POST, 1L);
        if (rc == CURLE_OK)
            rc = curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)s->data_len);
        if (rc == CURLE_OK)
            rc = curl_easy_setopt(e, CURLOPT_POSTFIELDS, s->data);
    } else if (s->data_file) {
        rewind(s->data_file);
        rc = curl_easy_setopt(e, CURLOPT_POST, 1L);
        if (rc == CURLE_OK)
            rc = curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)s->data_file_size);
        if (rc == CURLE_OK)
            rc = curl_easy_setopt(e, CURLOPT_READFUNCTION, file_read);
        if (rc == CURLE_OK)
            rc = curl_easy_setopt(e, CURLOPT_READDATA, s->data_file);
        if (rc == CURLE_OK)
            rc = curl_easy_setopt(e, CURLOPT_SEEKFUNCTION, file_seek);
        if (rc == CURLE_OK)
            rc = curl_easy_setopt(e, CURLOPT_SEEKDATA, s->data_file);
    }
    if (rc != CURLE_OK)
        return rc;
    int has_body = s->data || s->data_file;
    if (has_body && strcmp(s->method, "POST") == 0)
        return CURLE_OK;
    if (!has_body && strcmp(s->method, "GET") == 0)
        return curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    if (!has_body && strcmp(s->method, "HEAD") == 0)
        return curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    return curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, s->method);
}

/* ------------------------------------------------------------ attempts */

static ferry_status configure(http_source *s, int64_t offset, ferry_error *err)
{
    char if_range[sizeof s->validator + 16];
    const char *extra[2] = {NULL, NULL};
    if (offset > 0) {
        snprintf(if_range, sizeof if_range, "If-Range: %s", s->validator);
        extra[0] = if_range;
    }
    ferry_status st = ferry_http_req_init(&s->req, &s->target, s->method, extra, err);
    if (st != FERRY_OK)
        return st;
    CURLcode rc = set_body(s, s->req.easy);
    if (rc == CURLE_OK && offset > 0) {
        char range[32];
        snprintf(range, sizeof range, "%" PRId64 "-", offset);
        rc = curl_easy_setopt(s->req.easy, CURLOPT_RANGE, range);
    }
    if (rc != CURLE_OK)
        return ferry_error_hook(err, FERRY_ERR_INTERNAL, FERRY_HTTP_SYSTEM, s->target.conn_id,
                                "libcurl refused an option: %s", curl_easy_strerror(rc));
    return FERRY_OK;
}

/* What the first response says about resuming later. */
static void note_validator(http_source *s)
{
    const ferry_http_req *r = &s->req;
    s->validator[0] = '\0';
    if (!r->accept_ranges || s->data || s->data_file || strcmp(s->method, "GET") != 0)
        return;
    if (r->etag[0] && strncmp(r->etag, "W/", 2) != 0)
        snprintf(s->validator, sizeof s->validator, "%s", r->etag);
    else if (r->last_modified[0])
        snprintf(s->validator, sizeof s->validator, "%s", r->last_modified);
}

/* A resumed response must be 206 starting at offset. */
static ferry_status check_resumed(http_source *s, int64_t offset, ferry_error *err)
{
    const ferry_http_req *r = &s->req;
    long long start = -1;
    if (r->status == 206 && sscanf(r->content_range, "bytes %lld-", &start) == 1 && start == offset)
        return FERRY_OK;
    return ferry_error_hook(err, FERRY_ERR_DATA, FERRY_HTTP_SYSTEM, s->target.conn_id,
                            "GET %s: cannot resume at byte %" PRId64 ": the server answered HTTP %ld%s%s "
                            "(the resource changed, or the server ignores Range)",
                            s->target.url, offset, r->status, r->content_range[0] ? " with " : "",
                            r->content_range);
}

/* One try: send, wait for the response to start, judge its status. */
static ferry_status attempt(http_source *s, int64_t offset, double *retry_after, ferry_error *err)
{
    *retry_after = 0;
    ferry_status st = configure(s, offset, err);
    if (st == FERRY_OK)
        st = ferry_http_req_wait_response(&s->req, err);
    if (st != FERRY_OK)
        return st;
    ferry_http_req *r = &s->req;
    if (r->done && r->result != CURLE_OK)
        return ferry_http_fail_curl(r, err);
    if (!ferry_http_ok(r->status)) {
        *retry_after = ferry_http_req_retry_after(r);
        st = ferry_http_req_collect_excerpt(r, err);
        return st != FERRY_OK ? st : ferry_http_fail_status(r, err);
    }
    if (offset > 0)
        return check_resumed(s, offset, err);
    s->total = strcmp(s->method, "HEAD") == 0 ? -1 : ferry_http_req_content_length(r);
    s->base.size = s->total;
    note_validator(s);
    return FERRY_OK;
}

static ferry_status open_with_retries(http_source *s, int64_t offset, ferry_error *err)
{
    for (;;) {
        double retry_after = 0;
        ferry_status st = attempt(s, offset, &retry_after, err);
        if (st == FERRY_OK)
            return FERRY_OK;
        ferry_http_req_release(&s->req);
        if (!ferry_http_retry_again(&s->retry, retry_after, err))
            return err ? err->status : st;
    }
}

/* The transfer broke after `got` more bytes were put in the caller's buffer:
 * start again (nothing handed out yet) or resume, else fail for good. */
static ferry_status after_failure(http_source *s, size_t got, ferry_status st, ferry_error *err)
{
    int64_t offset = s->delivered + (int64_t)got;
    int again = err && err->transient && st != FERRY_ERR_INTERRUPTED && (offset == 0 || s->validator[0]);
    if (!again) {
        if (st != FERRY_ERR_INTERRUPTED && offset > 0) {
            st = FERRY_ERR_DATA;    /* part of the body is out: the transfer must abort */
            if (err)
                err->status = st;
        }
        return st;
    }
    if (offset > s->resumed_at) {
        /* progress since the last break: a fresh budget for this one */
        s->retry.attempt = 0;
        s->retry.waited = 0;
    }
    if (!ferry_http_retry_again(&s->retry, 0, err))
        return err->status;
    ferry_http_req_release(&s->req);
    s->resumed_at = offset;
    if (offset > 0)
        ferry_log(FERRY_LOG_INFO, "%s(%s): resuming GET %s at byte %" PRId64, FERRY_HTTP_SYSTEM,
                  s->target.conn_id, s->target.url, offset);
    return open_with_retries(s, offset, err);
}

/* ------------------------------------------------------------ source ops */

static ferry_status source_read(ferry_source *src, void *buf, size_t cap, size_t *nread, ferry_error *err)
{
    http_source *s = (http_source *)src;
    *nread = 0;
    if (s->eof || cap == 0)
        return FERRY_OK;
    size_t n = 0;
    for (;;) {
        n += ferry_http_req_take_spill(&s->req, (unsigned char *)buf + n, cap - n);
        if (n == cap)
            break;
        ferry_status st = ferry_http_req_receive(&s->req, buf, cap, &n, err);
        if (st == FERRY_OK)
            break;
        st = after_failure(s, n, st, err);
        if (st != FERRY_OK)
            return st;
    }
    s->delivered += (int64_t)n;
    if (n == 0) {
        s->eof = 1;
        if (s->total >= 0 && s->delivered != s->total)
            return ferry_error_hook(err, FERRY_ERR_DATA, FERRY_HTTP_SYSTEM, s->target.conn_id,
                                    "%s %s: the body ended after %" PRId64 " of its %" PRId64 " bytes",
                                    s->method, s->target.url, s->delivered, s->total);
    }
    *nread = n;
    return FERRY_OK;
}

static void source_free(ferry_source *src)
{
    http_source *s = (http_source *)src;
    if (!s)
        return;
    ferry_http_req_release(&s->req);
    ferry_http_target_release(&s->target);
    free(s->data);
    if (s->data_file)
        fclose(s->data_file);
    free(s);
}

static const ferry_source_ops http_source_ops = {"http", source_read, NULL, source_free};

static ferry_status open_body(http_source *s, const ferry_copy_options *o, ferry_error *err)
{
    if (o->http_data && o->http_data_file)
        return ferry_error_set(err, FERRY_ERR_USAGE, "http: give the request body as data or as a file, not both");
    if (o->http_data) {
        s->data_len = strlen(o->http_data);
        s->data = strdup(o->http_data);
        if (!s->data)
            return ferry_error_oom(err, NULL, NULL, NULL);
    }
    if (o->http_data_file) {
        s->data_file = fopen(o->http_data_file, "rb");
        struct stat sb;
        if (!s->data_file || fstat(fileno(s->data_file), &sb) != 0)
            return ferry_error_set(err, errno == ENOENT ? FERRY_ERR_NOT_FOUND : FERRY_ERR_IO,
                                   "http: cannot read the request body '%s': %s", o->http_data_file,
                                   strerror(errno));
        s->data_file_size = sb.st_size;
    }
    return FERRY_OK;
}

ferry_status ferry_http_open_source(const ferry_endpoint *ep, const ferry_copy_options *o, ferry_source **out,
                                    ferry_error *err)
{
    *out = NULL;
    ferry_copy_options defaults;
    if (!o) {
        ferry_copy_options_init(&defaults);
        o = &defaults;
    }
    http_source *s = calloc(1, sizeof *s);
    if (!s)
        return ferry_error_oom(err, NULL, NULL, NULL);
    s->base.ops = &http_source_ops;
    s->base.size = -1;
    s->base.rows = -1;
    s->total = -1;
    s->resumed_at = -1;
    ferry_retry_init(&s->retry, o->max_retries);
    ferry_status st = ferry_http_target_init(&s->target, ep, o, err);
    if (st == FERRY_OK)
        st = open_body(s, o, err);
    if (st == FERRY_OK)
        st = ferry_http_method(o, s->data || s->data_file ? "POST" : "GET", s->method, err);
    if (st == FERRY_OK)
        st = open_with_retries(s, 0, err);
    if (st != FERRY_OK) {
        source_free(&s->base);
        return st;
    }
    *out = &s->base;
    return FERRY_OK;
}
