/*
 * test_s3_ssec.c - SSE-C customer keys (hooks/s3/s3_ssec.c): the header
 * values against a known vector (key "0123456789abcdef0123456789abcdef";
 * base64 and MD5 computed with `base64` and `openssl md5 -binary | base64`),
 * the key file forms accepted and refused (without showing the content),
 * which operations carry which headers, where a client's keys come from, the
 * message and exit code of a missing or wrong key, and masking.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "ferry/log.h"
#include "hooks/s3/s3_ssec.h"

#define RAW "0123456789abcdef0123456789abcdef"
#define RAW_B64 "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
#define RAW_MD5 "hRasmdxgYDKV3nvbahU1MA=="

static char tmpdir[] = "/tmp/ferry-test-ssec-XXXXXX";

static const char *write_file(const char *name, const void *data, size_t n)
{
    static char path[256];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (f) {
        fwrite(data, 1, n, f);
        fclose(f);
    }
    return path;
}

static void test_known_vector(void)
{
    ferry_s3_ssec_key k;
    ferry_s3_ssec_key_from_raw((const unsigned char *)RAW, &k);
    CHECK(k.set);
    CHECK_STREQ(k.key_b64, RAW_B64);
    CHECK_STREQ(k.md5_b64, RAW_MD5);
    ferry_error err;
    ferry_s3_ssec_key b;
    CHECK_INTEQ(ferry_s3_ssec_key_from_b64(RAW_B64 "\n", "x", 0, &b, &err), FERRY_OK);
    CHECK_STREQ(b.md5_b64, RAW_MD5);
}

static void test_key_files(void)
{
    ferry_error err;
    ferry_s3_ssec_key k;
    /* 32 raw bytes, whatever they are (here with a NUL and a newline) */
    unsigned char raw[32];
    memcpy(raw, RAW, 32);
    raw[3] = 0;
    raw[31] = '\n';
    CHECK_INTEQ(ferry_s3_ssec_key_from_file(write_file("raw", raw, 32), "--sse-c-key file", FERRY_ERR_USAGE, &k, &err),
                FERRY_OK);
    ferry_s3_ssec_key want;
    ferry_s3_ssec_key_from_raw(raw, &want);
    CHECK_STREQ(k.key_b64, want.key_b64);
    /* base64, with and without a newline */
    CHECK_INTEQ(ferry_s3_ssec_key_from_file(write_file("b64", RAW_B64, 44), "f", FERRY_ERR_USAGE, &k, &err),
                FERRY_OK);
    CHECK_STREQ(k.key_b64, RAW_B64);
    CHECK_INTEQ(ferry_s3_ssec_key_from_file(write_file("b64nl", RAW_B64 "\r\n", 46), "f", FERRY_ERR_USAGE, &k, &err),
                FERRY_OK);
    CHECK_STREQ(k.md5_b64, RAW_MD5);
    /* refused: 31 and 33 bytes, hex, base64 of 31 bytes, a missing file */
    const char *bad[][2] = {
        {"short", "0123456789abcdef0123456789abcde"},
        {"long", "0123456789abcdef0123456789abcdefX"},
        {"hex", "30313233343536373839616263646566303132333435363738396162636465ff"},
        {"b64of31", "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZQ=="},
        {"notb64", "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNk!!!="},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *p = write_file(bad[i][0], bad[i][1], strlen(bad[i][1]));
        ferry_error_clear(&err);
        CHECK_INTEQ(ferry_s3_ssec_key_from_file(p, "--sse-c-key file", FERRY_ERR_USAGE, &k, &err), FERRY_ERR_USAGE);
        CHECK(strstr(err.msg, p) != NULL);                      /* names the file */
        CHECK(strstr(err.msg, bad[i][1]) == NULL);              /* never the content */
        CHECK(strstr(err.msg, "0123456789") == NULL);
    }
    char missing[300];
    snprintf(missing, sizeof missing, "%s/absent", tmpdir);
    CHECK_INTEQ(ferry_s3_ssec_key_from_file(missing, "sse_c_key_file", FERRY_ERR_CONFIG, &k, &err), FERRY_ERR_CONFIG);
    CHECK(strstr(err.msg, missing) != NULL);
    CHECK_INTEQ(ferry_s3_ssec_key_from_b64("c2hvcnQ=", "the extra sse_customer_key", FERRY_ERR_CONFIG, &k, &err),
                FERRY_ERR_CONFIG);
    CHECK(strstr(err.msg, "c2hvcnQ") == NULL);
}

static const char *header(const ferry_sigv4_kv *h, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(h[i].name, name) == 0)
            return h[i].value;
    return NULL;
}

static void test_headers_by_operation(void)
{
    ferry_s3_ssec s;
    memset(&s, 0, sizeof s);
    ferry_s3_ssec_key_from_raw((const unsigned char *)RAW, &s.object);
    unsigned char other[32];
    memset(other, 7, sizeof other);
    ferry_s3_ssec_key_from_raw(other, &s.source);
    ferry_sigv4_kv in[1] = {{"Range", "bytes=0-"}};
    ferry_sigv4_kv out[1 + FERRY_S3_SSEC_MAX_HEADERS];
    const char *obj_ops[] = {"PutObject", "CreateMultipartUpload", "UploadPart", "GetObject", "HeadObject"};
    for (size_t i = 0; i < sizeof obj_ops / sizeof obj_ops[0]; i++) {
        size_t n = ferry_s3_ssec_headers(&s, obj_ops[i], in, 1, out);
        CHECK_INTEQ(n, 4);
        CHECK_STREQ(out[0].name, "Range");
        CHECK_STREQ(header(out, n, "x-amz-server-side-encryption-customer-algorithm"), "AES256");
        CHECK_STREQ(header(out, n, "x-amz-server-side-encryption-customer-key"), RAW_B64);
        CHECK_STREQ(header(out, n, "x-amz-server-side-encryption-customer-key-MD5"), RAW_MD5);
    }
    const char *copy_ops[] = {"CopyObject", "UploadPartCopy"};
    for (size_t i = 0; i < 2; i++) {
        size_t n = ferry_s3_ssec_headers(&s, copy_ops[i], NULL, 0, out);
        CHECK_INTEQ(n, 6);
        CHECK_STREQ(header(out, n, "x-amz-server-side-encryption-customer-key"), RAW_B64);
        CHECK_STREQ(header(out, n, "x-amz-copy-source-server-side-encryption-customer-algorithm"), "AES256");
        CHECK_STREQ(header(out, n, "x-amz-copy-source-server-side-encryption-customer-key"), s.source.key_b64);
        CHECK_STREQ(header(out, n, "x-amz-copy-source-server-side-encryption-customer-key-MD5"), s.source.md5_b64);
    }
    const char *none[] = {"CompleteMultipartUpload", "AbortMultipartUpload", "ListParts", "HeadBucket",
                          "ListObjectsV2", "DeleteObject", "ListBuckets"};
    for (size_t i = 0; i < sizeof none / sizeof none[0]; i++)
        CHECK_INTEQ(ferry_s3_ssec_headers(&s, none[i], in, 1, out), 1);
    CHECK_INTEQ(ferry_s3_ssec_headers(NULL, "PutObject", in, 1, out), 1);
    /* only a copy source key: CopyObject carries the source's three only */
    ferry_s3_ssec src_only;
    memset(&src_only, 0, sizeof src_only);
    src_only.source = s.source;
    size_t n = ferry_s3_ssec_headers(&src_only, "CopyObject", NULL, 0, out);
    CHECK_INTEQ(n, 3);
    CHECK(header(out, n, "x-amz-server-side-encryption-customer-key") == NULL);
    /* swap: the source's key becomes the object's and back */
    ferry_s3_ssec_swap(&s);
    CHECK_STREQ(s.object.key_b64, src_only.source.key_b64);
    ferry_s3_ssec_swap(&s);
    CHECK_STREQ(s.object.key_b64, RAW_B64);
}

static void test_load(void)
{
    ferry_error err;
    ferry_s3_ssec *s = NULL;
    ferry_copy_options o;
    ferry_copy_options_init(&o);
    CHECK_INTEQ(ferry_s3_ssec_load(NULL, "c", &o, &s, &err), FERRY_OK);
    CHECK(s == NULL);
    char key_path[300], src_path[300];
    snprintf(key_path, sizeof key_path, "%s", write_file("k", RAW, 32));
    unsigned char other[32];
    memset(other, 9, sizeof other);
    snprintf(src_path, sizeof src_path, "%s", write_file("src", other, 32));
    /* --sse-c-key alone: the same key on both sides */
    o.s3_sse_c_key_file = key_path;
    CHECK_INTEQ(ferry_s3_ssec_load(NULL, "c", &o, &s, &err), FERRY_OK);
    CHECK(s && s->object.set && s->source.set);
    if (s) {
        CHECK_STREQ(s->source.key_b64, RAW_B64);
        ferry_s3_ssec_for_reading(s);
        CHECK_STREQ(s->object.key_b64, RAW_B64);
    }
    ferry_s3_ssec_free(s);
    /* a separate copy-source key: a reader reads with it */
    o.s3_sse_c_copy_source_key_file = src_path;
    CHECK_INTEQ(ferry_s3_ssec_load(NULL, "c", &o, &s, &err), FERRY_OK);
    CHECK(s && strcmp(s->object.key_b64, RAW_B64) == 0 && strcmp(s->source.key_b64, RAW_B64) != 0);
    if (s) {
        ferry_s3_ssec_for_reading(s);
        CHECK(strcmp(s->object.key_b64, RAW_B64) != 0);
    }
    ferry_s3_ssec_free(s);
    /* "none": the source is not SSE-C */
    o.s3_sse_c_copy_source_key_file = "none";
    CHECK_INTEQ(ferry_s3_ssec_load(NULL, "c", &o, &s, &err), FERRY_OK);
    CHECK(s && s->object.set && !s->source.set);
    ferry_s3_ssec_free(s);
    /* a bad --sse-c-key file is exit 2 naming it */
    o.s3_sse_c_copy_source_key_file = NULL;
    o.s3_sse_c_key_file = write_file("bad", "nope\n", 5);
    CHECK_INTEQ(ferry_s3_ssec_load(NULL, "c", &o, &s, &err), FERRY_ERR_USAGE);
    CHECK(s == NULL);
    CHECK(strstr(err.msg, "--sse-c-key") != NULL);
    /* the connection's extras */
    ferry_conn *conn = NULL;
    CHECK_INTEQ(ferry_conn_parse_uri("x", "aws://?sse_customer_key=" "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY%3D",
                                    &conn, &err), FERRY_OK);
    if (conn) {
        CHECK_INTEQ(ferry_s3_ssec_load(conn, "x", NULL, &s, &err), FERRY_OK);
        CHECK(s && strcmp(s->object.key_b64, RAW_B64) == 0 && strcmp(s->source.key_b64, RAW_B64) == 0);
        ferry_s3_ssec_free(s);
        ferry_conn_free(conn);
    }
    CHECK_INTEQ(ferry_conn_parse_uri("y", "aws://?sse_customer_key=c2hvcnQ%3D", &conn, &err), FERRY_OK);
    if (conn) {
        CHECK_INTEQ(ferry_s3_ssec_load(conn, "y", NULL, &s, &err), FERRY_ERR_CONFIG);
        CHECK(strstr(err.msg, "sse_customer_key") != NULL && strstr(err.msg, "'y'") != NULL);
        ferry_conn_free(conn);
    }
}

static void test_explain(void)
{
    ferry_s3_ssec s;
    memset(&s, 0, sizeof s);
    char d[400];
    /* radosgw without a key: 400 InvalidArgument on GET, 400 without a body on HEAD */
    snprintf(d, sizeof d, "HTTP 400 InvalidArgument: x");
    CHECK_INTEQ(ferry_s3_ssec_explain(NULL, "GetObject", 400, "InvalidArgument", FERRY_ERR_DATA, d, sizeof d),
                FERRY_ERR_CONNECT);
    CHECK(strstr(d, "an SSE-C key is needed") != NULL);
    snprintf(d, sizeof d, "HTTP 400 Bad Request");
    CHECK_INTEQ(ferry_s3_ssec_explain(&s, "HeadObject", 400, "", FERRY_ERR_DATA, d, sizeof d), FERRY_ERR_CONNECT);
    /* a wrong key: 400 (radosgw: MD5 mismatch) or 403 (AWS) */
    ferry_s3_ssec_key_from_raw((const unsigned char *)RAW, &s.object);
    snprintf(d, sizeof d, "HTTP 400 InvalidArgument: The calculated MD5 hash of the key did not match");
    CHECK_INTEQ(ferry_s3_ssec_explain(&s, "GetObject", 400, "InvalidArgument", FERRY_ERR_DATA, d, sizeof d),
                FERRY_ERR_CONNECT);
    CHECK(strstr(d, "does not match") != NULL);
    snprintf(d, sizeof d, "HTTP 403 AccessDenied");
    CHECK_INTEQ(ferry_s3_ssec_explain(&s, "HeadObject", 403, "AccessDenied", FERRY_ERR_CONNECT, d, sizeof d),
                FERRY_ERR_CONNECT);
    /* a GET's 400 without an S3 error code (a proxy's HTML page) is no key
     * matter, key or not: unchanged (integration/bad_inputs: exit 7) */
    snprintf(d, sizeof d, "HTTP 400 Bad Request: '<html>'");
    CHECK_INTEQ(ferry_s3_ssec_explain(NULL, "GetObject", 400, "", FERRY_ERR_DATA, d, sizeof d), FERRY_ERR_DATA);
    CHECK_STREQ(d, "HTTP 400 Bad Request: '<html>'");
    CHECK_INTEQ(ferry_s3_ssec_explain(&s, "GetObject", 400, NULL, FERRY_ERR_DATA, d, sizeof d), FERRY_ERR_DATA);
    CHECK_STREQ(d, "HTTP 400 Bad Request: '<html>'");
    /* not a key matter: unchanged */
    snprintf(d, sizeof d, "HTTP 404 NoSuchKey");
    CHECK_INTEQ(ferry_s3_ssec_explain(&s, "GetObject", 404, "NoSuchKey", FERRY_ERR_NOT_FOUND, d, sizeof d),
                FERRY_ERR_NOT_FOUND);
    CHECK_STREQ(d, "HTTP 404 NoSuchKey");
    CHECK_INTEQ(ferry_s3_ssec_explain(&s, "PutObject", 403, "AccessDenied", FERRY_ERR_CONNECT, d, sizeof d),
                FERRY_ERR_CONNECT);
    CHECK_STREQ(d, "HTTP 404 NoSuchKey");
    CHECK_INTEQ(ferry_s3_ssec_explain(NULL, "ListObjectsV2", 400, "InvalidArgument", FERRY_ERR_DATA, d, sizeof d),
                FERRY_ERR_DATA);
    /* 501 to a copy with keys: remembered, so the copy goes through ferry */
    CHECK(!s.copy_refused);
    snprintf(d, sizeof d, "HTTP 501 NotImplemented");
    CHECK_INTEQ(ferry_s3_ssec_explain(&s, "CopyObject", 501, "NotImplemented", FERRY_ERR_DATA, d, sizeof d),
                FERRY_ERR_DATA);
    CHECK(s.copy_refused);
}

static void test_masked(void)
{
    ferry_s3_ssec_key k;
    ferry_s3_ssec_key_from_raw((const unsigned char *)RAW, &k);
    char line[200];
    snprintf(line, sizeof line, "x-amz-server-side-encryption-customer-key: %s done", RAW_B64);
    ferry_scrub(line, sizeof line);
    CHECK(strstr(line, RAW_B64) == NULL);
    CHECK(strstr(line, "***") != NULL);
}

int main(void)
{
    if (!mkdtemp(tmpdir))
        return 1;
    RUN(test_known_vector);
    RUN(test_key_files);
    RUN(test_headers_by_operation);
    RUN(test_load);
    RUN(test_explain);
    RUN(test_masked);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmpdir);
    return check_summary();
}
