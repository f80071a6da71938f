/*
 * tests/fuzz/fuzz_endpoint.c - the endpoint parser (core/endpoint.c):
 * ferry_endpoint_parse of any text, as source or destination, with forced
 * compression or an --s3-conn, over connections defined in the environment
 * (FERRY_CONN_*, AIRFLOW_CONN_*, set up once in LLVMFuzzerInitialize) and a
 * connections file, so "CONN_ID:PATH" endpoints resolve.
 *
 * Input: byte 0 options (bit 0 destination, bits 1-2 forced compression,
 * bit 3 --s3-conn warehouse_s3), then the endpoint text (up to the first
 * NUL).
 * Invariants, besides no crash / leak / UB: a parsed endpoint has a kind, a
 * hook, a path and (CONN / S3) a connection; compression and format are
 * valid values; a failure has a message; ferry_endpoint_display never shows
 * the password of an inline URI (>= 3 bytes, no '*': see fuzz_conn.c).
 */
#include <unistd.h>

#include "ferry/hook.h"
#include "ferry/log.h"
#include "fuzz_common.h"

static char connections_file[] = "/tmp/ferry-fuzz-connections-XXXXXX";

static void remove_connections_file(void)
{
    unlink(connections_file);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    static const char *const env[][2] = {
        {"FERRY_CONN_X", "postgresql://etl:s3cret-pw@db.internal:5432/warehouse?sslmode=require"},
        {"FERRY_CONN_WAREHOUSE", "postgres://u:warehouse-pw@127.0.0.1/wh"},
        {"AIRFLOW_CONN_SHOP", "mysql://shop:shop-pw@127.0.0.1:3306/shop?charset=utf8mb4"},
        {"AIRFLOW_CONN_PARTNER", "sftp://partner:partner-pw@sftp.example.com:2222/?key_file=%2Fk"},
        {"AIRFLOW_CONN_API", "{\"conn_type\": \"https\", \"host\": \"api.example.com\", "
                             "\"login\": \"me\", \"password\": \"api-pw\", "
                             "\"extra\": {\"api_key\": \"k3y-value\"}}"},
        {"AIRFLOW_CONN_AWS_DEFAULT", "aws://AKIAEXAMPLE:wJalrXUtnFEMI%2FK7MDENG@/"
                                     "?region_name=eu-west-1&endpoint_url=http%3A%2F%2F127.0.0.1%3A7480"},
        {"FERRY_CONN_WAREHOUSE_S3", "s3://AKIA2:secret2-pw@?region_name=us-east-1"},
        {"FERRY_CONN_ODD", "weird-type://h/x"},
        {"FERRY_CONN_BAD", "not a uri"},
    };
    for (size_t i = 0; i < sizeof env / sizeof env[0]; i++)
        setenv(env[i][0], env[i][1], 1);
    /* a connections file with one more id (and no HOME lookups) */
    int fd = mkstemp(connections_file);
    if (fd >= 0) {
        static const char body[] =
            "{\"filed\": {\"conn_type\": \"postgres\", \"host\": \"h\", \"password\": \"file-pw\"},"
            " \"urid\": \"mysql://a:file-uri-pw@h/db\"}";
        if (write(fd, body, sizeof body - 1) != (ssize_t)(sizeof body - 1))
            abort();
        close(fd);
        setenv("FERRY_CONNECTIONS_FILE", connections_file, 1);
        atexit(remove_connections_file); /* (a crash leaves it: it holds nothing real) */
    }
    return 0;
}

static int checkable(const char *s)
{
    return s && strlen(s) >= 3 && !strchr(s, '*');
}

/* The password part of an inline URI: between the first ':' after "://"
 * and the last '@' before the path. */
static char *inline_password(const char *t)
{
    const char *sep = strstr(t, "://");
    if (!sep)
        return NULL;
    const char *a = sep + 3, *end = a;
    while (*end && *end != '/' && *end != '?' && *end != '#')
        end++;
    const char *at = NULL;
    for (const char *p = a; p < end; p++)
        if (*p == '@')
            at = p;
    const char *colon = at ? memchr(a, ':', (size_t)(at - a)) : NULL;
    if (!colon)
        return NULL;
    return fz_dup((const uint8_t *)colon + 1, (size_t)(at - colon - 1));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    uint8_t opts = data[0];
    char *text = fz_dup(data + 1, size - 1);
    ferry_copy_options o;
    ferry_copy_options_init(&o);
    static const ferry_compress forced[4] = {FERRY_COMPRESS_AUTO, FERRY_COMPRESS_NONE,
                                             FERRY_COMPRESS_GZIP, FERRY_COMPRESS_AUTO};
    o.src_compress = forced[(opts >> 1) & 3];
    o.dst_compress = forced[(opts >> 1) & 3];
    if (opts & 8)
        o.s3_conn = "warehouse_s3";
    int is_dest = opts & 1;

    ferry_secret_clear();
    ferry_endpoint *ep = NULL;
    ferry_error err;
    ferry_error_clear(&err);
    ferry_status st = ferry_endpoint_parse(text, &o, is_dest, &ep, &err);
    char *pw = inline_password(text);
    if (st == FERRY_OK) {
        FUZZ_CHECK(ep && ep->hook && ep->path && ep->text, "a parsed endpoint lacks a part");
        FUZZ_CHECK(strcmp(ep->text, text) == 0, "ep->text is not the text given");
        FUZZ_CHECK(ep->kind >= FERRY_EP_STDIO && ep->kind <= FERRY_EP_CONN, "kind %d", ep->kind);
        FUZZ_CHECK(ep->compress >= FERRY_COMPRESS_AUTO && ep->compress <= FERRY_COMPRESS_ZSTD,
                   "compress %d", ep->compress);
        FUZZ_CHECK(ep->format >= FERRY_FORMAT_AUTO && ep->format <= FERRY_FORMAT_RAW, "format %d",
                   ep->format);
        if (ep->kind == FERRY_EP_CONN || ep->kind == FERRY_EP_S3)
            FUZZ_CHECK(ep->conn != NULL, "a %s endpoint without a connection",
                       ep->kind == FERRY_EP_S3 ? "s3" : "connection");
        const char *id = ferry_endpoint_conn_id(ep);
        FUZZ_CHECK(id != NULL, "conn id NULL");
        char shown[256];
        const char *d = ferry_endpoint_display(ep, shown, sizeof shown);
        FUZZ_CHECK(d == shown && memchr(shown, '\0', sizeof shown), "display not terminated");
        if (ep->kind == FERRY_EP_CONN && ep->conn && checkable(ep->conn->password) && pw &&
            strcmp(pw, ep->conn->password) == 0)
            FUZZ_CHECK(!strstr(shown, pw), "display shows the password: %s", shown);
        char tiny[4];
        (void)ferry_endpoint_display(ep, tiny, sizeof tiny);
        FUZZ_CHECK(memchr(tiny, '\0', sizeof tiny), "display (4 bytes) not terminated");
    } else {
        FUZZ_CHECK(ep == NULL, "a failed parse returned an endpoint");
        FUZZ_CHECK(err.msg[0] != '\0' && err.status == st, "a failure without a message");
    }
    ferry_endpoint_free(ep);
    free(pw);
    ferry_secret_clear();
    free(text);
    return 0;
}
