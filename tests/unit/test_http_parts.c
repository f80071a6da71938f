/*
 * test_http_parts.c - the HTTP hook's pure parts, without a server: request
 * URLs from connections and inline endpoints, connection extras (headers,
 * timeout, verify, tokens), header and method checks, status and curl error
 * mapping, printable body excerpts, and the secrets the hook registers.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "ferry/ferry.h"
#include "hooks/http/http_internal.h"

static ferry_conn *conn(const char *id, const char *text)
{
    ferry_conn *c = NULL;
    ferry_error err;
    ferry_error_clear(&err);
    if (ferry_conn_parse(id, text, &c, &err) != FERRY_OK)
        fprintf(stderr, "  conn parse failed: %s\n", err.msg);
    return c;
}

/* The URL for conn text + path, or the error status as "status:N". */
static char *url_of(const char *id, const char *conn_text, const char *path)
{
    static char buf[512];
    ferry_conn *c = conn(id, conn_text);
    if (!c)
        return NULL;
    ferry_error err;
    ferry_error_clear(&err);
    char *url = NULL;
    ferry_status st = ferry_http_build_url(c, path, &url, &err);
    if (st == FERRY_OK)
        snprintf(buf, sizeof buf, "%s", url);
    else
        snprintf(buf, sizeof buf, "status:%d", (int)st);
    free(url);
    ferry_conn_free(c);
    return buf;
}

static void test_url_from_connection(void)
{
    CHECK_STREQ(url_of("api", "http://u:p@127.0.0.1:58081", "/bytes/10"), "http://127.0.0.1:58081/bytes/10");
    CHECK_STREQ(url_of("api", "http://127.0.0.1:58081", "orders?page=2&per_page=5"),
                "http://127.0.0.1:58081/orders?page=2&per_page=5");
    CHECK_STREQ(url_of("api", "http://127.0.0.1", ""), "http://127.0.0.1/");
    CHECK_STREQ(url_of("api", "http://127.0.0.1", "?q=1"), "http://127.0.0.1/?q=1");
    CHECK_STREQ(url_of("api", "https://example.com:8443", "/a.csv"), "https://example.com:8443/a.csv");
    CHECK_STREQ(url_of("api", "http://example.com/https", "/a.csv"), "https://example.com/a.csv");
    CHECK_STREQ(url_of("api", "{\"conn_type\":\"http\",\"host\":\"::1\",\"port\":8080}", "/x"), "http://[::1]:8080/x");
    CHECK_STREQ(url_of("api", "{\"conn_type\":\"http\",\"host\":\"https://api.example.com/v1/\"}", "/orders"),
                "https://api.example.com/v1/orders");
    CHECK_STREQ(url_of("api", "http://h", "/my file ü.csv"), "http://h/my%20file%20%C3%BC.csv");
    CHECK_STREQ(url_of("api", "http://h", "/a%20b#c"), "http://h/a%20b%23c");
}

static void test_url_errors(void)
{
    char bad_status[16];
    snprintf(bad_status, sizeof bad_status, "status:%d", (int)FERRY_ERR_CONFIG);
    CHECK_STREQ(url_of("api", "http://h", "/a\nb"), bad_status);
    CHECK_STREQ(url_of("api", "http://h", "http://other/x"), bad_status);
    CHECK_STREQ(url_of("api", "{\"conn_type\":\"http\"}", "/x"), bad_status);
    CHECK_STREQ(url_of("api", "{\"conn_type\":\"http\",\"host\":\"h\",\"schema\":\"ftp\"}", "/x"), bad_status);
    /* a path that merely contains "://" later is a path */
    CHECK_STREQ(url_of("api", "http://h", "/redirect?to=http://x"), "http://h/redirect?to=http://x");
}

static void test_url_inline(void)
{
    ferry_conn *c = ferry_conn_new("", "http");
    ferry_error err;
    ferry_error_clear(&err);
    char *url = NULL;
    CHECK(ferry_http_is_inline(c, "HTTPS://h/x"));
    CHECK(!ferry_http_is_inline(c, "/x"));
    CHECK(ferry_http_build_url(c, "HTTPS://etl:pa@ss@127.0.0.1:58443/a.csv?x=1&y=2", &url, &err) == FERRY_OK);
    CHECK_STREQ(url, "https://127.0.0.1:58443/a.csv?x=1&y=2");
    free(url);
    CHECK(ferry_http_build_url(c, "http://h:1", &url, &err) == FERRY_OK);
    CHECK_STREQ(url, "http://h:1/");
    free(url);
    CHECK(ferry_http_build_url(c, "http://h?x=1", &url, &err) == FERRY_OK);
    CHECK_STREQ(url, "http://h/?x=1");
    free(url);
    CHECK(ferry_http_build_url(c, "http://user@/x", &url, &err) == FERRY_ERR_CONFIG);
    ferry_conn_free(c);
}

static void test_printable(void)
{
    char out[32];
    const char *json = "  {\n \"a\":\t1 }\r\n";
    ferry_http_printable(json, strlen(json), out, sizeof out);
    CHECK_STREQ(out, "{ \"a\": 1 }");
    ferry_http_printable("a\x01\x7f\xc3\xa9z", 6, out, sizeof out);
    CHECK_STREQ(out, "a????z");
    ferry_http_printable("0123456789", 10, out, 5);
    CHECK_STREQ(out, "0123");
    ferry_http_printable("", 0, out, sizeof out);
    CHECK_STREQ(out, "");
}

static void test_status_mapping(void)
{
    int t = -1;
    CHECK(ferry_http_status_for_code(404, &t) == FERRY_ERR_NOT_FOUND && t == 0);
    CHECK(ferry_http_status_for_code(410, &t) == FERRY_ERR_NOT_FOUND && t == 0);
    CHECK(ferry_http_status_for_code(401, &t) == FERRY_ERR_CONNECT && t == 0);
    CHECK(ferry_http_status_for_code(403, &t) == FERRY_ERR_CONNECT && t == 0);
    CHECK(ferry_http_status_for_code(429, &t) == FERRY_ERR_TRANSIENT && t == 1);
    CHECK(ferry_http_status_for_code(503, &t) == FERRY_ERR_TRANSIENT && t == 1);
    CHECK(ferry_http_status_for_code(500, &t) == FERRY_ERR_TRANSIENT && t == 1);
    CHECK(ferry_http_status_for_code(501, &t) == FERRY_ERR_DATA && t == 0);
    CHECK(ferry_http_status_for_code(400, &t) == FERRY_ERR_DATA && t == 0);
    CHECK(ferry_http_status_for_code(302, &t) == FERRY_ERR_DATA && t == 0);
    /* one map for every curl hook (hooks/curl): a short body is a broken exchange, exit 8 */
    CHECK(ferry_curl_status(CURLE_PARTIAL_FILE, &t) == FERRY_ERR_TRANSIENT && t == 1);
    CHECK(ferry_curl_status(CURLE_COULDNT_CONNECT, &t) == FERRY_ERR_CONNECT && t == 1);
    CHECK(ferry_curl_status(CURLE_PEER_FAILED_VERIFICATION, &t) == FERRY_ERR_CONNECT && t == 0);
    CHECK(ferry_curl_status(CURLE_OPERATION_TIMEDOUT, &t) == FERRY_ERR_TIMEOUT && t == 1);
    CHECK(ferry_curl_status(CURLE_ABORTED_BY_CALLBACK, &t) == FERRY_ERR_INTERRUPTED && t == 0);
    CHECK(ferry_curl_status(CURLE_URL_MALFORMAT, &t) == FERRY_ERR_CONFIG && t == 0);
    CHECK(ferry_http_ok(200) && ferry_http_ok(204) && !ferry_http_ok(199) && !ferry_http_ok(300));
}

static void test_header_and_method_checks(void)
{
    const char *why = NULL;
    CHECK(ferry_http_header_check("X-A: 1", &why) == 0);
    CHECK(ferry_http_header_check("X-Empty:", &why) == 0);
    CHECK(ferry_http_header_check("no colon", &why) != 0);
    CHECK(ferry_http_header_check(": v", &why) != 0);
    CHECK(ferry_http_header_check("X A: v", &why) != 0);
    CHECK(ferry_http_header_check("X-A: 1\r\nX-B: 2", &why) != 0);

    char m[FERRY_HTTP_METHOD_MAX];
    ferry_copy_options o;
    ferry_copy_options_init(&o);
    ferry_error err;
    ferry_error_clear(&err);
    CHECK(ferry_http_method(&o, "GET", m, &err) == FERRY_OK);
    CHECK_STREQ(m, "GET");
    o.http_method = "post";
    CHECK(ferry_http_method(&o, "GET", m, &err) == FERRY_OK);
    CHECK_STREQ(m, "POST");
    o.http_method = "GE T";
    CHECK(ferry_http_method(&o, "GET", m, &err) == FERRY_ERR_USAGE);
    o.http_method = "AVERYLONGMETHODNAMEX";
    CHECK(ferry_http_method(&o, "GET", m, &err) == FERRY_ERR_USAGE);
}

/* Target of "id:path" for a connection text, with options. */
static ferry_status target_of(const char *conn_text, const ferry_copy_options *o, ferry_http_target *t,
                              ferry_conn **c_out, ferry_error *err)
{
    static char path[] = "/x";
    *c_out = conn("api", conn_text);
    ferry_endpoint ep;
    memset(&ep, 0, sizeof ep);
    ep.kind = FERRY_EP_CONN;
    ep.conn = *c_out;
    ep.path = path;
    return ferry_http_target_init(t, &ep, o, err);
}

static void test_target_extras(void)
{
    ferry_http_target t;
    ferry_conn *c = NULL;
    ferry_error err;
    ferry_error_clear(&err);
    ferry_copy_options o;
    ferry_copy_options_init(&o);
    const char *hdrs[] = {"X-Run: 7"};
    o.http_headers = hdrs;
    o.n_http_headers = 1;
    CHECK(target_of("{\"conn_type\":\"http\",\"host\":\"h\",\"schema\":\"https\",\"login\":\"u\",\"password\":\"pw123\","
                    "\"extra\":{\"headers\":{\"Accept\":\"text/csv\",\"X-Num\":5},\"timeout\":\"7.5\","
                    "\"verify\":\"false\",\"bearer_token\":\"tok-abc\",\"max_redirects\":\"3\"}}",
                    &o, &t, &c, &err) == FERRY_OK);
    CHECK_STREQ(t.url, "https://h/x");
    CHECK(t.tls == 1 && t.verify == 0 && t.follow == 1 && t.max_redirects == 3);
    CHECK(t.timeout == 7.5);
    CHECK_STREQ(t.bearer, "tok-abc");
    CHECK_STREQ(t.login, "u");
    CHECK(t.headers && strcmp(t.headers->data, "Accept: text/csv") == 0);
    CHECK(t.headers && t.headers->next && strcmp(t.headers->next->data, "X-Num: 5") == 0);
    CHECK(ferry_http_has_header(t.headers, "x-run"));
    CHECK(!ferry_http_has_header(t.headers, "Content-Type"));
    ferry_http_target_release(&t);
    ferry_conn_free(c);

    /* --timeout smaller than the extra wins; the default CA check stays on */
    o.timeout = 2;
    o.n_http_headers = 0;
    CHECK(target_of("http://h:1?timeout=60", &o, &t, &c, &err) == FERRY_OK);
    CHECK(t.timeout == 2 && t.verify == 1 && t.tls == 0 && !t.bearer);
    ferry_http_target_release(&t);
    ferry_conn_free(c);

    CHECK(target_of("http://h:1?timeout=abc", &o, &t, &c, &err) == FERRY_ERR_CONFIG);
    ferry_conn_free(c);
    /* a missing CA bundle: exit 4 like curl's CURLE_SSL_CACERT_BADFILE (S3) and Postgres' sslrootcert */
    CHECK(target_of("http://h:1?verify=/no/such/ca.pem", &o, &t, &c, &err) == FERRY_ERR_CONNECT);
    ferry_conn_free(c);
    CHECK(target_of("http://h:1?headers=%5B1%5D", &o, &t, &c, &err) == FERRY_ERR_CONFIG);
    ferry_conn_free(c);
    CHECK(target_of("{\"conn_type\":\"http\",\"host\":\"h\",\"extra\":{\"headers\":{\"X-A\":\"1\\r\\nX-B: 2\"}}}", &o,
                    &t, &c, &err) == FERRY_ERR_CONFIG);
    ferry_conn_free(c);
    const char *bad[] = {"NoColon"};
    o.http_headers = bad;
    o.n_http_headers = 1;
    CHECK(target_of("http://h:1", &o, &t, &c, &err) == FERRY_ERR_USAGE);
    ferry_conn_free(c);
}

static void test_inline_takes_no_extras(void)
{
    ferry_conn *c = conn("", "http://h:1/a?token=zzz123&timeout=1");
    static char path[] = "http://h:1/a?token=zzz123&timeout=1";
    ferry_endpoint ep;
    memset(&ep, 0, sizeof ep);
    ep.kind = FERRY_EP_CONN;
    ep.conn = c;
    ep.path = path;
    ferry_http_target t;
    ferry_error err;
    ferry_error_clear(&err);
    CHECK(ferry_http_target_init(&t, &ep, NULL, &err) == FERRY_OK);
    CHECK_STREQ(t.url, "http://h:1/a?token=zzz123&timeout=1");
    CHECK(t.bearer == NULL && t.timeout == 300.0);
    CHECK_STREQ(t.conn_id, "inline");
    ferry_http_target_release(&t);
    ferry_conn_free(c);
}

static void test_secrets_registered(void)
{
    ferry_secret_clear();
    ferry_http_target t;
    ferry_conn *c = NULL;
    ferry_error err;
    ferry_error_clear(&err);
    ferry_copy_options o;
    ferry_copy_options_init(&o);
    const char *hdrs[] = {"X-Api-Key: key-4567", "Authorization: Bearer hdr-tok-89"};
    o.http_headers = hdrs;
    o.n_http_headers = 2;
    CHECK(target_of("http://etl:etlpass@h:1?proxy=http%3A%2F%2Fpu%3Aproxy-pw%40p%3A3128", &o, &t, &c, &err) ==
          FERRY_OK);
    /* base64("etl:etlpass") as curl sends it */
    char msg[256] = "Basic ZXRsOmV0bHBhc3M= etlpass key-4567 hdr-tok-89 proxy-pw";
    ferry_scrub(msg, sizeof msg);
    CHECK_STREQ(msg, "Basic *** *** *** *** ***");
    CHECK_STREQ(t.proxy, "http://pu:proxy-pw@p:3128");
    ferry_http_target_release(&t);
    ferry_conn_free(c);
    ferry_secret_clear();
}

int main(void)
{
    RUN(test_url_from_connection);
    RUN(test_url_errors);
    RUN(test_url_inline);
    RUN(test_printable);
    RUN(test_status_mapping);
    RUN(test_header_and_method_checks);
    RUN(test_target_extras);
    RUN(test_inline_takes_no_extras);
    RUN(test_secrets_registered);
    return check_summary();
}
