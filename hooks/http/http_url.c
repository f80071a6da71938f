/*
 * hooks/http/http_url.c - the request URL of an HTTP endpoint.
 *
 * An inline endpoint ("https://user:pw@host/a.csv?x=1") loses its user:pw@
 * part - the credentials travel as basic auth, never in the URL curl sees or
 * in a message.  A connection endpoint ("api:/orders?page=2") joins the
 * connection's base URL, built as Airflow's HttpHook builds it
 * (schema://host:port, schema "https" for TLS), with the path, keeping the
 * query string.  Spaces and non-ASCII bytes of the path and query are
 * percent-encoded; everything else is passed as written.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/buf.h"
#include "hooks/http/http_internal.h"

/* A growable string; oom is sticky so callers check once at the end. */
/* Characters a URL cannot carry literally but a user may well type in a path. */
static int needs_encoding(unsigned char c)
{
    return c >= 0x80 || strchr(" \"<>\\^`{|}#", c) != NULL;
}

/* Append a path (and query); -1 on a control character. */
static int put_path(ferry_buf *b, const char *path)
{
    static const char hex[] = "0123456789ABCDEF";
    if (path[0] != '/')
        ferry_buf_append(b, "/", 1);
    for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
        if (*p < 0x20 || *p == 0x7f)
            return -1;
        if (needs_encoding(*p)) {
            char esc[3] = {'%', hex[*p >> 4], hex[*p & 15]};
            ferry_buf_append(b, esc, 3);
        } else {
            ferry_buf_append(b, (const char *)p, 1);
        }
    }
    return 0;
}

static int has_scheme(const char *s, const char *scheme)
{
    size_t n = strlen(scheme);
    return strncasecmp(s, scheme, n) == 0 && strncmp(s + n, "://", 3) == 0;
}

int ferry_http_is_inline(const ferry_conn *conn, const char *path)
{
    return conn && (!conn->id || !conn->id[0]) && path &&
           (has_scheme(path, "http") || has_scheme(path, "https"));
}

/* "scheme://user:pw@host:port/rest" -> "scheme://host:port/rest" */
static ferry_status inline_url(const char *text, ferry_buf *b, ferry_error *err)
{
    const char *sep = strstr(text, "://");
    const char *auth = sep + 3;
    const char *end = auth + strcspn(auth, "/?#");
    const char *host = auth;
    for (const char *p = auth; p < end; p++)
        if (*p == '@')
            host = p + 1;
    for (const char *p = text; p < sep; p++) {
        char c = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
        ferry_buf_append(b, &c, 1);
    }
    ferry_buf_appends(b, "://");
    if (host == end)
        return ferry_error_hook(err, FERRY_ERR_CONFIG, FERRY_HTTP_SYSTEM, "inline", "the URL names no host");
    ferry_buf_append(b, host, (size_t)(end - host));
    if (put_path(b, end) != 0)
        return ferry_error_hook(err, FERRY_ERR_CONFIG, FERRY_HTTP_SYSTEM, "inline",
                                "the URL holds a control character");
    return FERRY_OK;
}

static ferry_status base_url(const ferry_conn *c, ferry_buf *b, ferry_error *err)
{
    const char *id = c->id ? c->id : "";
    if (!c->host || !c->host[0])
        return ferry_error_hook(err, FERRY_ERR_CONFIG, FERRY_HTTP_SYSTEM, id, "the connection has no host");
    if (strstr(c->host, "://")) {
        /* a host written as a URL ("https://api.example.com/v1"): the base as it is */
        size_t n = strlen(c->host);
        while (n > 0 && c->host[n - 1] == '/')
            n--;
        ferry_buf_append(b, c->host, n);
        return FERRY_OK;
    }
    const char *scheme = "http";
    if (c->schema && strcasecmp(c->schema, "https") == 0)
        scheme = "https";
    else if (c->schema && c->schema[0] && strcasecmp(c->schema, "http") != 0)
        return ferry_error_hook(err, FERRY_ERR_CONFIG, FERRY_HTTP_SYSTEM, id,
                                "schema '%s' is not http or https (an http connection's schema is its URL "
                                "scheme)",
                                c->schema);
    ferry_buf_appends(b, scheme);
    ferry_buf_appends(b, "://");
    int v6 = strchr(c->host, ':') != NULL && c->host[0] != '[';
    if (v6)
        ferry_buf_appends(b, "[");
    ferry_buf_appends(b, c->host);
    if (v6)
        ferry_buf_appends(b, "]");
    if (c->port > 0) {
        char port[16];
        snprintf(port, sizeof port, ":%d", c->port);
        ferry_buf_appends(b, port);
    }
    return FERRY_OK;
}

ferry_status ferry_http_build_url(const ferry_conn *conn, const char *path, char **out, ferry_error *err)
{
    *out = NULL;
    if (!path)
        path = "";
    ferry_buf b = {0};
    ferry_status st;
    if (ferry_http_is_inline(conn, path)) {
        st = inline_url(path, &b, err);
    } else {
        const char *id = conn && conn->id ? conn->id : "";
        size_t head = strcspn(path, "/?");
        if (strstr(path, "://") && strstr(path, "://") <= path + head)
            return ferry_error_hook(err, FERRY_ERR_CONFIG, FERRY_HTTP_SYSTEM, id,
                                    "the path is a full URL: give a path relative to the connection's base "
                                    "URL, or the URL alone as the endpoint");
        st = base_url(conn, &b, err);
        if (st == FERRY_OK && put_path(&b, path) != 0)
            st = ferry_error_hook(err, FERRY_ERR_CONFIG, FERRY_HTTP_SYSTEM, id,
                                  "the path holds a control character");
    }
    if (st != FERRY_OK) {
        ferry_buf_release(&b);
        return st;
    }
    *out = ferry_buf_take(&b);
    return *out ? FERRY_OK : ferry_error_oom(err, NULL, NULL, NULL);
}
