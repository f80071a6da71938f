/*
 * hooks/http/http.c - the HTTP(S) hook's table: a URL's response body as a
 * source (GET, or POST with a body), a streamed PUT/POST as a sink, stat
 * (HEAD), remove (DELETE) and connection tests.  The slots live in
 * http_source.c, http_sink.c and http_ops.c; docs/hooks/http.md describes the
 * behaviour.
 */
#include "hooks/http/http_internal.h"

static const char *const http_conn_types[] = {"http", NULL};

const ferry_hook ferry_hook_http = {
    FERRY_HOOK_INIT,
    .flags = FERRY_HOOK_URL,
    .name = FERRY_HTTP_SYSTEM,
    .conn_types = http_conn_types,
    .open_source = ferry_http_open_source,
    .open_sink = ferry_http_open_sink,
    .stat = ferry_http_stat,
    .list = NULL,
    .remove = ferry_http_remove,
    .mkdir = NULL,
    .exec = NULL,
    .test = ferry_http_test,
};
