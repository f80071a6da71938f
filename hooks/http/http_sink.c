/*
 * hooks/http/http_sink.c - a ferry writer that streams its input as the body
 * of one HTTP request: PUT by default, POST (or another method) with
 * --method.  The body is sent with Transfer-Encoding: chunked (its length is
 * not known in advance); write() hands each chunk to curl and returns once
 * curl took it, commit() ends the body and checks the response (2xx is
 * success, anything else an error with the status and the start of the
 * body).  Redirects are not followed: a streamed body cannot be sent twice.
 *
 * Not atomic: abort() drops the connection in the middle of the body, which
 * a well-behaved server discards (the chunked body never ended) - but the
 * server may have acted on the part it received.  Only the server can make
 * an HTTP upload all-or-nothing (e.g. nginx's WebDAV PUT writes a temp file
 * and renames it when the body is complete).
 *
 * The copy's request body options (data, data file) belong to an HTTP
 * source and are not used here; neither is a GET or HEAD method.
 *
 * Without --replace a PUT first asks HEAD whether the resource exists (2xx:
 * FERRY_ERR_EXISTS; 404/410: go on; 405/501: the server cannot say, go on).
 * POST creates something new each time: no such check.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ferry/log.h"
#include "hooks/http/http_internal.h"

typedef struct http_sink {
    ferry_writer base;
    ferry_http_target target;
    char method[FERRY_HTTP_METHOD_MAX];
    char content_type[64];      /* "Content-Type: ..." line, "" when the user gave one */
    ferry_http_req req;         /* the upload, set up at the first write or commit */
    int started;
    int finished;               /* committed, failed or aborted: nothing more to send */
} http_sink;

static const char *content_type_for(const ferry_endpoint *ep)
{
    if (ep->compress == FERRY_COMPRESS_GZIP)
        return "application/gzip";
    switch (ep->format) {
    case FERRY_FORMAT_CSV: return "text/csv";
    case FERRY_FORMAT_TSV: return "text/tab-separated-values";
    case FERRY_FORMAT_JSONL: return "application/x-ndjson";
    default: return "application/octet-stream";
    }
}

static ferry_status start_upload(http_sink *s, ferry_error *err)
{
    const char *extra[2] = {s->content_type[0] ? s->content_type : NULL, NULL};
    ferry_status st = ferry_http_req_init(&s->req, &s->target, s->method, extra, err);
    if (st != FERRY_OK)
        return st;
    s->started = 1;
    s->req.excerpt_only = 1;    /* the response body only matters for messages */
    CURLcode rc = curl_easy_setopt(s->req.easy, CURLOPT_UPLOAD, 1L);
    if (rc == CURLE_OK && strcmp(s->method, "PUT") != 0)
        rc = curl_easy_setopt(s->req.easy, CURLOPT_CUSTOMREQUEST, s->method);
    if (rc != CURLE_OK)
        return ferry_error_hook(err, FERRY_ERR_INTERNAL, FERRY_HTTP_SYSTEM, s->target.conn_id,
                                "libcurl refused an option: %s", curl_easy_strerror(rc));
    return ferry_http_req_start(&s->req, err);
}

/* The request ended while body was still to come. */
static ferry_status ended_early(http_sink *s, ferry_error *err)
{
    const ferry_http_req *r = &s->req;
    if (r->result != CURLE_OK || !ferry_http_ok(r->status))
        return ferry_http_fail(r, err);
    return ferry_error_hook(err, FERRY_ERR_DATA, FERRY_HTTP_SYSTEM, s->target.conn_id,
                            "%s %s: the server answered HTTP %ld before the body was complete", s->method,
                            s->target.url, r->status);
}

static ferry_status sink_write(ferry_writer *w, const void *buf, size_t len, ferry_error *err)
{
    http_sink *s = (http_sink *)w;
    if (s->finished)
        return ferry_error_hook(err, FERRY_ERR_INTERNAL, FERRY_HTTP_SYSTEM, s->target.conn_id,
                                "write after the upload ended");
    ferry_status st = s->started ? FERRY_OK : start_upload(s, err);
    if (st == FERRY_OK)
        st = ferry_http_req_send(&s->req, buf, len, err);
    if (st == FERRY_OK && s->req.done)
        st = ended_early(s, err);
    if (st != FERRY_OK)
        s->finished = 1;
    return st;
}

static ferry_status sink_commit(ferry_writer *w, ferry_error *err)
{
    http_sink *s = (http_sink *)w;
    if (s->finished)
        return ferry_error_hook(err, FERRY_ERR_INTERNAL, FERRY_HTTP_SYSTEM, s->target.conn_id,
                                "commit after the upload ended");
    ferry_status st = s->started ? FERRY_OK : start_upload(s, err);
    if (st == FERRY_OK)
        st = ferry_http_req_finish_send(&s->req, err);
    s->finished = 1;
    if (st != FERRY_OK)
        return st;
    const ferry_http_req *r = &s->req;
    if (r->result != CURLE_OK || !ferry_http_ok(r->status))
        return ferry_http_fail(r, err);
    ferry_log(FERRY_LOG_DEBUG, "%s(%s): %s %s: HTTP %ld", FERRY_HTTP_SYSTEM, s->target.conn_id, s->method,
              s->target.url, r->status);
    return FERRY_OK;
}

static void sink_abort(ferry_writer *w)
{
    http_sink *s = (http_sink *)w;
    if (s->started && !s->req.done)
        ferry_http_req_cancel(&s->req);
    s->finished = 1;
}

static void sink_free(ferry_writer *w)
{
    http_sink *s = (http_sink *)w;
    if (!s)
        return;
    ferry_http_req_release(&s->req);
    ferry_http_target_release(&s->target);
    free(s);
}

static const ferry_writer_ops http_sink_ops = {"http", sink_write, sink_commit, sink_abort, sink_free};

/* Without --replace, a PUT must not overwrite what is there. */
static ferry_status refuse_existing(http_sink *s, const ferry_copy_options *o, ferry_error *err)
{
    if (o->replace || strcmp(s->method, "PUT") != 0)
        return FERRY_OK;
    long status = 0;
    ferry_error probe;
    ferry_error_clear(&probe);
    ferry_status st = ferry_http_simple(&s->target, "HEAD", o->max_retries, &status, NULL, NULL, &probe);
    if (st == FERRY_OK)
        return ferry_error_hook(err, FERRY_ERR_EXISTS, FERRY_HTTP_SYSTEM, s->target.conn_id,
                                "%s exists (HTTP %ld to HEAD; use --replace to replace it)", s->target.url, status);
    if (status == 404 || status == 410)
        return FERRY_OK;
    if (status == 405 || status == 501) {
        ferry_log(FERRY_LOG_DEBUG, "%s(%s): HEAD %s: HTTP %ld, cannot tell whether it exists", FERRY_HTTP_SYSTEM,
                  s->target.conn_id, s->target.url, status);
        return FERRY_OK;
    }
    if (err)
        *err = probe;
    return st;
}

ferry_status ferry_http_open_sink(const ferry_endpoint *ep, const ferry_copy_options *o, ferry_writer **out,
                                  ferry_error *err)
{
    *out = NULL;
    ferry_copy_options defaults;
    if (!o) {
        ferry_copy_options_init(&defaults);
        o = &defaults;
    }
    http_sink *s = calloc(1, sizeof *s);
    if (!s)
        return ferry_error_oom(err, NULL, NULL, NULL);
    s->base.ops = &http_sink_ops;
    s->base.rows = -1;
    /* GET/HEAD (and a request body option) can only be meant for an HTTP source */
    int source_method = o->http_method &&
                        (strcasecmp(o->http_method, "GET") == 0 || strcasecmp(o->http_method, "HEAD") == 0);
    ferry_status st = ferry_http_method(source_method ? NULL : o, "PUT", s->method, err);
    if (st == FERRY_OK)
        st = ferry_http_target_init(&s->target, ep, o, err);
    if (st == FERRY_OK) {
        s->target.follow = 0;
        s->target.streamed_body = 1;
        if (!ferry_http_has_header(s->target.headers, "Content-Type"))
            snprintf(s->content_type, sizeof s->content_type, "Content-Type: %s", content_type_for(ep));
        st = refuse_existing(s, o, err);
    }
    if (st != FERRY_OK) {
        sink_free(&s->base);
        return st;
    }
    *out = &s->base;
    return FERRY_OK;
}
