/*
 * tests/unit/test_sigv4.c - unit tests of the AWS SigV4 signer (hooks/s3/sigv4.c).
 *
 * Every expected signature, canonical request and string to sign below is a
 * published value, copied verbatim:
 *  - S3 API reference, "Examples: Signature Calculations" / "Signature
 *    Calculations for the Authorization Header: Transferring Payload in a
 *    Single Chunk" (sig-v4-header-based-auth.html): GET Object, PUT Object,
 *    GET Bucket Lifecycle, Get Bucket (List Objects).
 *  - S3 API reference, "Authenticating Requests: Using Query Parameters"
 *    (sigv4-query-string-auth.html): the presigned GET Object URL.
 *  - The AWS SigV4 test suite (aws-sig-v4-test-suite, service "service",
 *    20150830T123600Z, AKIDEXAMPLE): the .authz/.creq/.sts files.
 *  - AWS General Reference signing examples: the signing-key derivation
 *    (20120215/us-east-1/iam with every intermediate key; 20150830/us-east-1/iam)
 *    and the IAM ListUsers request.
 *  - FIPS 180-2 SHA-256 examples ("abc", one million 'a').
 * The URI-encoding cases follow the UriEncode() rules of the S3 reference.
 *
 * Build alone: gcc -std=c11 -Wall -Wextra -Werror -D_GNU_SOURCE -I. -Iinclude \
 *   hooks/s3/sigv4.c core/buf.c core/encode.c tests/unit/test_sigv4.c -lcrypto -o /tmp/test_sigv4
 */
#include "../../hooks/s3/sigv4.h" /* repo-relative: builds with CMake and standalone */

#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/encode.h"

#define E FERRY_SIGV4_EMPTY_SHA256

/* ---- helpers ---------------------------------------------------------------------------- */

/* Line n (0-based) of s, copied into a static-free caller buffer. */
static const char *line_of(const char *s, int n, char *buf, size_t cap)
{
    buf[0] = '\0';
    if (!s)
        return buf;
    for (; n > 0; n--) {
        s = strchr(s, '\n');
        if (!s)
            return buf;
        s++;
    }
    size_t len = strcspn(s, "\n");
    if (len >= cap)
        len = cap - 1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    return buf;
}

/* The S3 reference prints the Authorization header with "," between the
 * fields; the signer writes ", " (the form of the SigV4 test suite; AWS
 * accepts both).  Drop the space after each comma to compare with the S3 text. */
static void drop_comma_space(const char *in, char *out, size_t cap)
{
    size_t w = 0;
    for (size_t i = 0; in[i] && w + 1 < cap; i++) {
        out[w++] = in[i];
        if (in[i] == ',' && in[i + 1] == ' ')
            i++;
    }
    out[w] = '\0';
}

static const char *enc(const char *s, int encode_slash, char *buf, size_t cap)
{
    size_t need = ferry_sigv4_uri_encode(s, strlen(s), encode_slash, buf, cap);
    CHECK(need < cap);
    return buf;
}

/* ---- URI encoding ------------------------------------------------------------------------- */

static void test_uri_encode_unreserved_and_reserved(void)
{
    char b[256];
    CHECK_STREQ(enc("AZaz09-._~", 1, b, sizeof b), "AZaz09-._~");
    CHECK_STREQ(enc("a b", 1, b, sizeof b), "a%20b");
    CHECK_STREQ(enc("a+b", 1, b, sizeof b), "a%2Bb");
    CHECK_STREQ(enc("100%", 1, b, sizeof b), "100%25");
    CHECK_STREQ(enc("%41", 1, b, sizeof b), "%2541"); /* never decodes: no double meaning */
    CHECK_STREQ(enc("~user", 1, b, sizeof b), "~user");
    CHECK_STREQ(enc("test$file.text", 1, b, sizeof b), "test%24file.text");
    CHECK_STREQ(enc("!'()*", 1, b, sizeof b), "%21%27%28%29%2A");
    CHECK_STREQ(enc("=&?#:@,;", 1, b, sizeof b), "%3D%26%3F%23%3A%40%2C%3B");
}

static void test_uri_encode_utf8_and_bytes(void)
{
    char b[256];
    CHECK_STREQ(enc("\xe1\x88\xb4", 1, b, sizeof b), "%E1%88%B4"); /* U+1234 */
    CHECK_STREQ(enc("caf\xc3\xa9", 1, b, sizeof b), "caf%C3%A9");   /* é */
    CHECK_STREQ(enc("\xf0\x9f\x9a\xa2", 1, b, sizeof b), "%F0%9F%9A%A2"); /* U+1F6A2 */
    /* arbitrary bytes, NUL included, upper-case hex */
    size_t need = ferry_sigv4_uri_encode("a\0\xff\x7f", 4, 1, b, sizeof b);
    CHECK_INTEQ(need, 10);
    CHECK_STREQ(b, "a%00%FF%7F");
}

static void test_uri_encode_slash(void)
{
    char b[64];
    CHECK_STREQ(enc("dir/sub/key.csv", 0, b, sizeof b), "dir/sub/key.csv");
    CHECK_STREQ(enc("dir/sub/key.csv", 1, b, sizeof b), "dir%2Fsub%2Fkey.csv");
}

static void test_uri_encode_truncates_like_snprintf(void)
{
    char b[6];
    memset(b, 'X', sizeof b);
    size_t need = ferry_sigv4_uri_encode("a b c", 5, 1, b, sizeof b);
    CHECK_INTEQ(need, 9); /* a%20b%20c */
    CHECK_STREQ(b, "a%20b");
    CHECK_INTEQ(ferry_sigv4_uri_encode("a b", 3, 1, NULL, 0), 5);
    CHECK_INTEQ(ferry_sigv4_uri_encode("", 0, 1, b, sizeof b), 0);
    CHECK_STREQ(b, "");
}

/* ---- SHA-256 ------------------------------------------------------------------------------ */

static void test_sha256_one_shot(void)
{
    char h[65];
    CHECK_INTEQ(ferry_sha256_hex("", 0, h), FERRY_OK);
    CHECK_STREQ(h, E);
    CHECK_INTEQ(ferry_sha256_hex(NULL, 0, h), FERRY_OK);
    CHECK_STREQ(h, E);
    CHECK_INTEQ(ferry_sha256_hex("abc", 3, h), FERRY_OK);
    CHECK_STREQ(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    /* the PUT Object body of the S3 example; its hash is printed there */
    CHECK_INTEQ(ferry_sha256_hex("Welcome to Amazon S3.", 21, h), FERRY_OK);
    CHECK_STREQ(h, "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
}

static void test_sha256_streaming(void)
{
    ferry_sha256_ctx ctx = {0};
    char h[65], chunk[1000];
    memset(chunk, 'a', sizeof chunk);
    CHECK_INTEQ(ferry_sha256_init(&ctx), FERRY_OK);
    for (int i = 0; i < 1000; i++)
        CHECK_INTEQ(ferry_sha256_update(&ctx, chunk, sizeof chunk), FERRY_OK);
    CHECK_INTEQ(ferry_sha256_final_hex(&ctx, h), FERRY_OK);
    CHECK_STREQ(h, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    CHECK(ctx.md == NULL);

    /* uneven pieces give the one-shot value */
    const char *body = "Welcome to Amazon S3.";
    CHECK_INTEQ(ferry_sha256_init(&ctx), FERRY_OK);
    CHECK_INTEQ(ferry_sha256_update(&ctx, body, 1), FERRY_OK);
    CHECK_INTEQ(ferry_sha256_update(&ctx, body + 1, 0), FERRY_OK);
    CHECK_INTEQ(ferry_sha256_update(&ctx, body + 1, 12), FERRY_OK);
    CHECK_INTEQ(ferry_sha256_update(&ctx, body + 13, 8), FERRY_OK);
    CHECK_INTEQ(ferry_sha256_final_hex(&ctx, h), FERRY_OK);
    CHECK_STREQ(h, "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");

    /* final twice, update after final: refused; cleanup is always safe */
    CHECK_INTEQ(ferry_sha256_final_hex(&ctx, h), FERRY_ERR_USAGE);
    CHECK_INTEQ(ferry_sha256_update(&ctx, "x", 1), FERRY_ERR_USAGE);
    ferry_sha256_cleanup(&ctx);
    CHECK_INTEQ(ferry_sha256_init(&ctx), FERRY_OK);
    CHECK_INTEQ(ferry_sha256_update(&ctx, "abandoned", 9), FERRY_OK);
    ferry_sha256_cleanup(&ctx);
    CHECK(ctx.md == NULL);
    ferry_sha256_cleanup(&ctx);
}

/* ---- time and signing key -------------------------------------------------------------------- */

static void test_format_time(void)
{
    char d[17], s[9];
    CHECK_INTEQ(ferry_sigv4_format_time((time_t)1440938160, d, s), FERRY_OK);
    CHECK_STREQ(d, "20150830T123600Z");
    CHECK_STREQ(s, "20150830");
    CHECK_INTEQ(ferry_sigv4_format_time((time_t)1369353600, d, s), FERRY_OK);
    CHECK_STREQ(d, "20130524T000000Z");
    CHECK_STREQ(s, "20130524");
}

static void test_signing_key_general_reference(void)
{
    ferry_sigv4_key k;
    char hex[65];
    /* every intermediate of the documented derivation */
    CHECK_INTEQ(ferry_sigv4_derive_key("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20120215",
                                       "us-east-1", "iam", &k, NULL),
                FERRY_OK);
    ferry_hex_encode(k.k_date, 32, hex);
    CHECK_STREQ(hex, "969fbb94feb542b71ede6f87fe4d5fa29c789342b0f407474670f0c2489e0a0d");
    ferry_hex_encode(k.k_region, 32, hex);
    CHECK_STREQ(hex, "69daa0209cd9c5ff5c8ced464a696fd4252e981430b10e3d3fd8e2f197d7a70c");
    ferry_hex_encode(k.k_service, 32, hex);
    CHECK_STREQ(hex, "f72cfd46f26bc4643f06a11eabb6c0ba18780c19a8da0c31ace671265e3c87fa");
    ferry_hex_encode(k.k_signing, 32, hex);
    CHECK_STREQ(hex, "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d");

    CHECK_INTEQ(ferry_sigv4_derive_key("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20150830",
                                       "us-east-1", "iam", &k, NULL),
                FERRY_OK);
    ferry_hex_encode(k.k_signing, 32, hex);
    CHECK_STREQ(hex, "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9");

    ferry_sigv4_key_wipe(&k);
    static const unsigned char zero[sizeof k] = {0};
    CHECK(memcmp(&k, zero, sizeof k) == 0);
}

/* ---- S3 header-auth examples ------------------------------------------------------------------ */

static const ferry_sigv4_credentials S3_CREDS = {
    "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", NULL};
#define S3_TIME ((time_t)1369353600) /* 20130524T000000Z */
#define S3_HOST "examplebucket.s3.amazonaws.com"
#define S3_STS(h) "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n" h

static void check_s3(const ferry_sigv4_request *req, const char *creq, const char *sts,
                     const char *sig, const char *doc_authz)
{
    ferry_sigv4_signed s;
    ferry_error err = {0};
    char plain[512];
    CHECK_INTEQ(ferry_sigv4_sign_headers(&S3_CREDS, req, &s, &err), FERRY_OK);
    CHECK_STREQ(s.canonical_request, creq);
    CHECK_STREQ(s.string_to_sign, sts);
    CHECK_STREQ(s.signature, sig);
    CHECK_STREQ(s.amz_date, "20130524T000000Z");
    CHECK(s.authorization != NULL);
    if (s.authorization) {
        drop_comma_space(s.authorization, plain, sizeof plain);
        CHECK_STREQ(plain, doc_authz);
        CHECK(strstr(s.authorization, S3_CREDS.secret_access_key) == NULL);
    }
    ferry_sigv4_signed_free(&s);
    CHECK(s.authorization == NULL && s.canonical_request == NULL);
}

static void test_s3_get_object(void)
{
    ferry_sigv4_kv h[] = {{"Range", "bytes=0-9"}};
    ferry_sigv4_request req = {.method = "GET", .host = S3_HOST, .path = "/test.txt",
                               .headers = h, .nheaders = 1, .payload_hash = E,
                               .region = "us-east-1", .service = "s3", .when = S3_TIME,
                               .flags = FERRY_SIGV4_CONTENT_SHA256};
    check_s3(&req,
             "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\n"
             "x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
             "x-amz-date:20130524T000000Z\n\nhost;range;x-amz-content-sha256;x-amz-date\n"
             "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
             S3_STS("7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972"),
             "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
             "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
             "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"
             "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

static void test_s3_put_object(void)
{
    char body_hash[65];
    CHECK_INTEQ(ferry_sha256_hex("Welcome to Amazon S3.", 21, body_hash), FERRY_OK);
    ferry_sigv4_kv h[] = {{"Date", "Fri, 24 May 2013 00:00:00 GMT"},
                          {"x-amz-storage-class", "REDUCED_REDUNDANCY"}};
    ferry_sigv4_request req = {.method = "PUT", .host = S3_HOST, .path = "/test$file.text",
                               .headers = h, .nheaders = 2, .payload_hash = body_hash,
                               .region = "us-east-1", .service = "s3", .when = S3_TIME,
                               .flags = FERRY_SIGV4_CONTENT_SHA256};
    check_s3(&req,
             "PUT\n/test%24file.text\n\ndate:Fri, 24 May 2013 00:00:00 GMT\n"
             "host:examplebucket.s3.amazonaws.com\n"
             "x-amz-content-sha256:44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072\n"
             "x-amz-date:20130524T000000Z\nx-amz-storage-class:REDUCED_REDUNDANCY\n\n"
             "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class\n"
             "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072",
             S3_STS("9e0e90d9c76de8fa5b200d8c849cd5b8dc7a3be3951ddb7f6a76b4158342019d"),
             "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd",
             "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
             "SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class,"
             "Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
}

static void test_s3_get_bucket_lifecycle(void)
{
    ferry_sigv4_kv q[] = {{"lifecycle", NULL}};
    ferry_sigv4_request req = {.method = "GET", .host = S3_HOST, .path = "/", .query = q,
                               .nquery = 1, .payload_hash = NULL, .region = "us-east-1",
                               .service = "s3", .when = S3_TIME,
                               .flags = FERRY_SIGV4_CONTENT_SHA256};
    check_s3(&req,
             "GET\n/\nlifecycle=\nhost:examplebucket.s3.amazonaws.com\n"
             "x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
             "x-amz-date:20130524T000000Z\n\nhost;x-amz-content-sha256;x-amz-date\n"
             "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
             S3_STS("9766c798316ff2757b517bc739a67f6213b4ab36dd5da2f94eaebf79c77395ca"),
             "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543",
             "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
             "SignedHeaders=host;x-amz-content-sha256;x-amz-date,"
             "Signature=fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
}

static void test_s3_list_objects(void)
{
    /* given out of order: the signer sorts */
    ferry_sigv4_kv q[] = {{"prefix", "J"}, {"max-keys", "2"}};
    ferry_sigv4_request req = {.method = "GET", .host = S3_HOST, .path = "", .query = q,
                               .nquery = 2, .payload_hash = E, .region = "us-east-1",
                               .service = "s3", .when = S3_TIME,
                               .flags = FERRY_SIGV4_CONTENT_SHA256};
    check_s3(&req,
             "GET\n/\nmax-keys=2&prefix=J\nhost:examplebucket.s3.amazonaws.com\n"
             "x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
             "x-amz-date:20130524T000000Z\n\nhost;x-amz-content-sha256;x-amz-date\n"
             "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
             S3_STS("df57d21db20da04d7fa30298dd4488ba3a2b47ca3a489c74750e0f1e7df1b9b7"),
             "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7",
             "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
             "SignedHeaders=host;x-amz-content-sha256;x-amz-date,"
             "Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
}

/* ---- S3 presigned URL ------------------------------------------------------------------------- */

static void test_s3_presigned_get(void)
{
    ferry_sigv4_request req = {.method = "GET", .host = S3_HOST, .path = "/test.txt",
                               .region = "us-east-1", .service = "s3", .when = S3_TIME};
    ferry_sigv4_signed dbg;
    ferry_error err = {0};
    char *url = NULL;
    CHECK_INTEQ(ferry_sigv4_presign_url(&S3_CREDS, &req, "https", 86400, &url, &dbg, &err),
                FERRY_OK);
    CHECK_STREQ(url, "https://examplebucket.s3.amazonaws.com/test.txt"
                     "?X-Amz-Algorithm=AWS4-HMAC-SHA256"
                     "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
                     "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
                     "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");
    CHECK_STREQ(dbg.canonical_request,
                "GET\n/test.txt\n"
                "X-Amz-Algorithm=AWS4-HMAC-SHA256"
                "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
                "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host\n"
                "host:examplebucket.s3.amazonaws.com\n\nhost\nUNSIGNED-PAYLOAD");
    CHECK_STREQ(dbg.string_to_sign,
                S3_STS("3bfa292879f6447bbcda7001decf97f4a54dc650c8942174ae0a9121cf58ad04"));
    CHECK_STREQ(dbg.signature, "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");
    CHECK(dbg.authorization == NULL);
    free(url);
    ferry_sigv4_signed_free(&dbg);

    /* without the debug struct: same URL */
    CHECK_INTEQ(ferry_sigv4_presign_url(&S3_CREDS, &req, "https", 86400, &url, NULL, NULL),
                FERRY_OK);
    CHECK(url && strstr(url, "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"));
    free(url);
}

/* No published vector has a session token in a presigned URL: check the shape,
 * and that the token is signed (the signature moves when it is present). */
static void test_presign_session_token_and_key_encoding(void)
{
    ferry_sigv4_credentials c = S3_CREDS;
    c.session_token = "tok/en+with=chars";
    ferry_sigv4_kv q[] = {{"response-content-type", "text/csv; charset=utf-8"}};
    ferry_sigv4_request req = {.method = "GET", .host = "127.0.0.1:57480",
                               .path = "/bucket/dir/my key+\xc3\xa9%.csv", .query = q,
                               .nquery = 1, .region = "us-east-1", .service = "s3",
                               .when = S3_TIME};
    ferry_sigv4_signed with, without;
    char *url1 = NULL, *url2 = NULL;
    char b[512];
    CHECK_INTEQ(ferry_sigv4_presign_url(&c, &req, "http", 3600, &url1, &with, NULL), FERRY_OK);
    CHECK_INTEQ(ferry_sigv4_presign_url(&S3_CREDS, &req, "http", 3600, &url2, &without, NULL),
                FERRY_OK);
    const char *prefix = "http://127.0.0.1:57480/bucket/dir/my%20key%2B%C3%A9%25.csv?";
    CHECK(url1 && !strncmp(url1, prefix, strlen(prefix)));
    CHECK(url1 && strstr(url1, "&X-Amz-Security-Token=tok%2Fen%2Bwith%3Dchars&"));
    CHECK(url1 && strstr(url1, "&response-content-type=text%2Fcsv%3B%20charset%3Dutf-8&"));
    CHECK(url2 && !strstr(url2, "Security-Token"));
    CHECK_STREQ(line_of(with.canonical_request, 2, b, sizeof b),
                "X-Amz-Algorithm=AWS4-HMAC-SHA256"
                "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
                "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=3600"
                "&X-Amz-Security-Token=tok%2Fen%2Bwith%3Dchars&X-Amz-SignedHeaders=host"
                "&response-content-type=text%2Fcsv%3B%20charset%3Dutf-8");
    CHECK(strcmp(with.signature, without.signature) != 0);
    free(url1);
    free(url2);
    ferry_sigv4_signed_free(&with);
    ferry_sigv4_signed_free(&without);
}

static void test_presign_refusals(void)
{
    ferry_sigv4_kv h[] = {{"x-amz-meta-a", "b"}};
    ferry_sigv4_kv q[] = {{"X-Amz-Signature", "forged"}};
    ferry_sigv4_request req = {.method = "GET", .host = S3_HOST, .path = "/k",
                               .region = "us-east-1", .service = "s3", .when = S3_TIME};
    ferry_error err = {0};
    char *url = (char *)"untouched";
    CHECK_INTEQ(ferry_sigv4_presign_url(&S3_CREDS, &req, "https", 0, &url, NULL, &err),
                FERRY_ERR_USAGE);
    CHECK(url == NULL);
    CHECK_INTEQ(ferry_sigv4_presign_url(&S3_CREDS, &req, "https", 604801, &url, NULL, &err),
                FERRY_ERR_USAGE);
    CHECK_INTEQ(ferry_sigv4_presign_url(&S3_CREDS, &req, "ht tp", 60, &url, NULL, &err),
                FERRY_ERR_USAGE);
    req.headers = h, req.nheaders = 1;
    CHECK_INTEQ(ferry_sigv4_presign_url(&S3_CREDS, &req, "https", 60, &url, NULL, &err),
                FERRY_ERR_USAGE);
    req.headers = NULL, req.nheaders = 0, req.query = q, req.nquery = 1;
    CHECK_INTEQ(ferry_sigv4_presign_url(&S3_CREDS, &req, "https", 60, &url, NULL, &err),
                FERRY_ERR_USAGE);
    CHECK(url == NULL);
}

/* ---- S3 path handling ------------------------------------------------------------------------- */

static void test_s3_path_encoded_once_never_normalised(void)
{
    ferry_sigv4_kv q[] = {{"prefix", "a/b c+d"}, {"delimiter", "/"}};
    ferry_sigv4_request req = {.method = "GET", .host = "127.0.0.1:57480",
                               .path = "/bucket/a//b/../c/./d e+f%20~\xe2\x82\xac",
                               .query = q, .nquery = 2, .region = "us-east-1",
                               .service = "s3", .when = S3_TIME};
    ferry_sigv4_signed s;
    char b[512];
    CHECK_INTEQ(ferry_sigv4_sign_headers(&S3_CREDS, &req, &s, NULL), FERRY_OK);
    /* '/' in the key kept, "//", ".." and "." kept (S3 keys are literal),
     * '%' encoded (no double meaning), '/' in a query value encoded */
    CHECK_STREQ(line_of(s.canonical_request, 1, b, sizeof b),
                "/bucket/a//b/../c/./d%20e%2Bf%2520~%E2%82%AC");
    CHECK_STREQ(line_of(s.canonical_request, 2, b, sizeof b),
                "delimiter=%2F&prefix=a%2Fb%20c%2Bd");
    CHECK_STREQ(line_of(s.canonical_request, 3, b, sizeof b), "host:127.0.0.1:57480");
    ferry_sigv4_signed_free(&s);

    /* a path without its leading '/' gets one */
    req.path = "key";
    req.nquery = 0;
    CHECK_INTEQ(ferry_sigv4_sign_headers(&S3_CREDS, &req, &s, NULL), FERRY_OK);
    CHECK_STREQ(line_of(s.canonical_request, 1, b, sizeof b), "/key");
    ferry_sigv4_signed_free(&s);
}

/* ---- the AWS SigV4 test suite ---------------------------------------------------------------- */

static const char SUITE_TOKEN[] =
    "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxf"
    "pSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQ"
    "DYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+sc"
    "qKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==";

#define SUITE_SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define SUITE_TIME ((time_t)1440938160) /* 20150830T123600Z */
#define AUTHZ(sh, sig)                                                                          \
    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "        \
    "SignedHeaders=" sh ", Signature=" sig
#define STS(h) "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n" h
#define VANILLA_HDRS "host:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n" E
#define U "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

typedef struct suite_vec {
    const char *name;
    const char *method;
    const char *path;
    ferry_sigv4_kv query[2];
    size_t nquery;
    ferry_sigv4_kv headers[4];
    size_t nheaders;
    const char *body;    /* NULL = empty */
    unsigned flags;
    int token;           /* sign with the suite's session token */
    const char *authz;   /* the .authz file */
    const char *creq;    /* the .creq file; NULL where the stored copy is unusable */
    const char *sts;     /* the .sts file; NULL where not published */
} suite_vec;

static const suite_vec SUITE[] = {
    {"get-vanilla", "GET", "/", {{0}}, 0, {{0}}, 0, NULL, 0, 0,
     AUTHZ("host;x-amz-date", "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"),
     "GET\n/\n\n" VANILLA_HDRS,
     STS("bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63")},
    {"get-vanilla-empty-query-key", "GET", "/", {{"Param1", "value1"}}, 1, {{0}}, 0, NULL, 0, 0,
     AUTHZ("host;x-amz-date", "a67d582fa61cc504c4bae71f336f98b97f1ea3c7a6bfe1b6e45aec72011b9aeb"),
     "GET\n/\nParam1=value1\n" VANILLA_HDRS,
     STS("1e24db194ed7d0eec2de28d7369675a243488e08526e8c1c73571282f7c517ab")},
    {"get-vanilla-query-order-key", "GET", "/", {{"Param1", "value2"}, {"Param1", "Value1"}}, 2,
     {{0}}, 0, NULL, 0, 0,
     AUTHZ("host;x-amz-date", "eedbc4e291e521cf13422ffca22be7d2eb8146eecf653089df300a15b2382bd1"),
     "GET\n/\nParam1=Value1&Param1=value2\n" VANILLA_HDRS,
     STS("704b4cef673542d84cdff252633f065e8daeba5f168b77116f8b1bcaf3d38f89")},
    {"get-vanilla-query-order-key-case", "GET", "/", {{"Param2", "value2"}, {"Param1", "value1"}},
     2, {{0}}, 0, NULL, 0, 0,
     AUTHZ("host;x-amz-date", "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"),
     "GET\n/\nParam1=value1&Param2=value2\n" VANILLA_HDRS,
     STS("816cd5b414d056048ba4f7c5386d6e0533120fb1fcfa93762cf0fc39e2cf19e0")},
    {"get-vanilla-query-order-value", "GET", "/", {{"Param1", "value2"}, {"Param1", "value1"}}, 2,
     {{0}}, 0, NULL, 0, 0,
     AUTHZ("host;x-amz-date", "5772eed61e12b33fae39ee5e7012498b51d56abc0abb7c60486157bd471c4694"),
     "GET\n/\nParam1=value1&Param1=value2\n" VANILLA_HDRS,
     STS("c968629d70850097a2d8781c9bf7edcb988b04cac14cca9be4acc3595f884606")},
    {"get-vanilla-query-unreserved", "GET", "/", {{U, U}}, 1, {{0}}, 0, NULL, 0, 0,
     AUTHZ("host;x-amz-date", "9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197"),
     "GET\n/\n" U "=" U "\n" VANILLA_HDRS,
     STS("c30d4703d9f799439be92736156d47ccfb2d879ddf56f5befa6d1d6aab979177")},
    {"get-vanilla-utf8-query", "GET", "/", {{"\xe1\x88\xb4", "bar"}}, 1, {{0}}, 0, NULL, 0, 0,
     AUTHZ("host;x-amz-date", "2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04"),
     "GET\n/\n%E1%88%B4=bar\n" VANILLA_HDRS,
     STS("eb30c5bed55734080471a834cc727ae56beb50e5f39d1bff6d0d38cb192a7073")},
    {"get-unreserved", "GET", "/" U, {{0}}, 0, {{0}}, 0, NULL, 0, 0,
     AUTHZ("host;x-amz-date", "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f"),
     "GET\n/" U "\n\n" VANILLA_HDRS,
     STS("6a968768eefaa713e2a6b16b589a8ea192661f098f37349f4e2c0082757446f9")},
    /* get-utf8: only its .authz is in the stored copies (aws-sdk-js-v3 fixture,
     * aws-c-auth header-signed-request); the canonical URI is checked below. */
    {"get-utf8", "GET", "/\xe1\x88\xb4", {{0}}, 0, {{0}}, 0, NULL, 0, 0,
     AUTHZ("host;x-amz-date", "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85"),
     NULL, NULL},
    {"get-header-key-duplicate", "GET", "/", {{0}}, 0,
     {{"My-Header1", "value2"}, {"My-Header1", "value2"}, {"My-Header1", "value1"}}, 3, NULL, 0, 0,
     AUTHZ("host;my-header1;x-amz-date",
           "c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea"),
     "GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value2,value2,value1\n"
     "x-amz-date:20150830T123600Z\n\nhost;my-header1;x-amz-date\n" E,
     STS("dc7f04a3abfde8d472b0ab1a418b741b7c67174dad1551b4117b15527fbe966c")},
    {"get-header-value-order", "GET", "/", {{0}}, 0,
     {{"My-Header1", "value4"}, {"My-Header1", "value1"}, {"My-Header1", "value3"},
      {"My-Header1", "value2"}},
     4, NULL, 0, 0,
     AUTHZ("host;my-header1;x-amz-date",
           "08c7e5a9acfcfeb3ab6b2185e75ce8b1deb5e634ec47601a50643f830c755c01"),
     "GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value4,value1,value3,value2\n"
     "x-amz-date:20150830T123600Z\n\nhost;my-header1;x-amz-date\n" E,
     STS("31ce73cd3f3d9f66977ad3dd957dc47af14df92fcd8509f59b349e9137c58b86")},
    {"get-header-value-trim", "GET", "/", {{0}}, 0,
     {{"My-Header1", " value1"}, {"My-Header2", " \"a   b   c\""}}, 2, NULL, 0, 0,
     AUTHZ("host;my-header1;my-header2;x-amz-date",
           "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736"),
     "GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value1\nmy-header2:\"a b c\"\n"
     "x-amz-date:20150830T123600Z\n\nhost;my-header1;my-header2;x-amz-date\n" E,
     STS("a726db9b0df21c14f559d0a978e563112acb1b9e05476f0a6a1c7d68f28605c7")},
    {"post-vanilla", "POST", "/", {{0}}, 0, {{0}}, 0, NULL, 0, 0,
     AUTHZ("host;x-amz-date", "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"),
     "POST\n/\n\n" VANILLA_HDRS,
     STS("553f88c9e4d10fc9e109e2aeb65f030801b70c2f6468faca261d401ae622fc87")},
    {"post-header-key-sort", "POST", "/", {{0}}, 0, {{"My-Header1", "value1"}}, 1, NULL, 0, 0,
     AUTHZ("host;my-header1;x-amz-date",
           "c5410059b04c1ee005303aed430f6e6645f61f4dc9e1461ec8f8916fdf18852c"),
     "POST\n/\n\nhost:example.amazonaws.com\nmy-header1:value1\nx-amz-date:20150830T123600Z\n\n"
     "host;my-header1;x-amz-date\n" E,
     STS("9368318c2967cf6de74404b30c65a91e8f6253e0a8659d6d5319f1a812f87d65")},
    {"post-header-value-case", "POST", "/", {{0}}, 0, {{"My-Header1", "VALUE1"}}, 1, NULL, 0, 0,
     AUTHZ("host;my-header1;x-amz-date",
           "cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d"),
     "POST\n/\n\nhost:example.amazonaws.com\nmy-header1:VALUE1\nx-amz-date:20150830T123600Z\n\n"
     "host;my-header1;x-amz-date\n" E,
     STS("d51ced243e649e3de6ef63afbbdcbca03131a21a7103a1583706a64618606a93")},
    {"post-vanilla-query", "POST", "/", {{"Param1", "value1"}}, 1, {{0}}, 0, NULL, 0, 0,
     AUTHZ("host;x-amz-date", "28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11"),
     "POST\n/\nParam1=value1\n" VANILLA_HDRS,
     STS("9d659678c1756bb3113e2ce898845a0a79dbbc57b740555917687f1b3340fbbd")},
    /* post-x-www-form-urlencoded: the stored .creq lists content-length, which
     * neither its .authz nor its .sts (sha256 checked by hand) was made from;
     * the .authz and .sts agree with each other and are checked. */
    {"post-x-www-form-urlencoded", "POST", "/", {{0}}, 0,
     {{"Content-Type", "application/x-www-form-urlencoded"}}, 1, "Param1=value1", 0, 0,
     AUTHZ("content-type;host;x-amz-date",
           "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a"),
     NULL, STS("42a5e5bb34198acb3e84da4f085bb7927f2bc277ca766e6d19c73c2154021281")},
    /* the session-token vector (post-sts-token / post-sts-header-before) */
    {"post-sts-header-before", "POST", "/", {{0}}, 0, {{0}}, 0, NULL, 0, 1,
     AUTHZ("host;x-amz-date;x-amz-security-token",
           "85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead"),
     NULL /* built in test_suite_vectors: it embeds the token */,
     STS("c237e1b440d4c63c32ca95b5b99481081cb7b13c7e40434868e71567c1a882f6")},
    /* normalize-path group */
    {"get-relative", "GET", "/example/..", {{0}}, 0, {{0}}, 0, NULL, FERRY_SIGV4_NORMALIZE_PATH, 0,
     AUTHZ("host;x-amz-date", "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"),
     "GET\n/\n\n" VANILLA_HDRS,
     STS("bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63")},
    {"get-relative-relative", "GET", "/example1/example2/../..", {{0}}, 0, {{0}}, 0, NULL,
     FERRY_SIGV4_NORMALIZE_PATH, 0,
     AUTHZ("host;x-amz-date", "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"),
     "GET\n/\n\n" VANILLA_HDRS,
     STS("bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63")},
    {"get-slash", "GET", "//", {{0}}, 0, {{0}}, 0, NULL, FERRY_SIGV4_NORMALIZE_PATH, 0,
     AUTHZ("host;x-amz-date", "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"),
     "GET\n/\n\n" VANILLA_HDRS,
     STS("bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63")},
    {"get-slash-dot-slash", "GET", "/./", {{0}}, 0, {{0}}, 0, NULL, FERRY_SIGV4_NORMALIZE_PATH, 0,
     AUTHZ("host;x-amz-date", "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"),
     "GET\n/\n\n" VANILLA_HDRS,
     STS("bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63")},
    {"get-slash-pointless-dot", "GET", "/./example", {{0}}, 0, {{0}}, 0, NULL,
     FERRY_SIGV4_NORMALIZE_PATH, 0,
     AUTHZ("host;x-amz-date", "ef75d96142cf21edca26f06005da7988e4f8dc83a165a80865db7089db637ec5"),
     "GET\n/example\n\n" VANILLA_HDRS,
     STS("214d50c111a8edc4819da6a636336472c916b5240f51e9a51b5c3305180cf702")},
    {"get-slashes", "GET", "//example//", {{0}}, 0, {{0}}, 0, NULL, FERRY_SIGV4_NORMALIZE_PATH, 0,
     AUTHZ("host;x-amz-date", "9a624bd73a37c9a373b5312afbebe7a714a789de108f0bdfe846570885f57e84"),
     "GET\n/example/\n\n" VANILLA_HDRS,
     STS("cb96b4ac96d501f7c5c15bc6d67b3035061cfced4af6585ad927f7e6c985c015")},
    {"get-space", "GET", "/example space/", {{0}}, 0, {{0}}, 0, NULL, FERRY_SIGV4_NORMALIZE_PATH, 0,
     AUTHZ("host;x-amz-date", "652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741"),
     "GET\n/example%20space/\n\n" VANILLA_HDRS,
     STS("63ee75631ed7234ae61b5f736dfc7754cdccfedbff4b5128a915706ee9390d86")},
};

static int run_vector(const suite_vec *v)
{
    int before = check_failures_total;
    ferry_sigv4_credentials c = {"AKIDEXAMPLE", SUITE_SECRET, v->token ? SUITE_TOKEN : NULL};
    char body_hash[65];
    CHECK_INTEQ(ferry_sha256_hex(v->body ? v->body : "", v->body ? strlen(v->body) : 0, body_hash),
                FERRY_OK);
    ferry_sigv4_request req = {.method = v->method, .host = "example.amazonaws.com",
                               .path = v->path, .query = v->query, .nquery = v->nquery,
                               .headers = v->headers, .nheaders = v->nheaders,
                               .payload_hash = body_hash, .region = "us-east-1",
                               .service = "service", .when = SUITE_TIME, .flags = v->flags};
    ferry_sigv4_signed s;
    ferry_error err = {0};
    CHECK_INTEQ(ferry_sigv4_sign_headers(&c, &req, &s, &err), FERRY_OK);
    CHECK_STREQ(s.authorization, v->authz);
    if (v->creq)
        CHECK_STREQ(s.canonical_request, v->creq);
    if (v->sts)
        CHECK_STREQ(s.string_to_sign, v->sts);
    CHECK_STREQ(s.amz_date, "20150830T123600Z");
    ferry_sigv4_signed_free(&s);
    if (check_failures_total != before)
        fprintf(stderr, "  ^ in vector %s\n", v->name);
    return check_failures_total == before;
}

static void test_suite_vectors(void)
{
    size_t n = sizeof SUITE / sizeof SUITE[0], ok = 0;
    for (size_t i = 0; i < n; i++)
        ok += (size_t)run_vector(&SUITE[i]);
    printf("     aws-sig-v4-test-suite: %zu/%zu vectors reproduced\n", ok, n);
}

static void test_suite_get_utf8_canonical_uri(void)
{
    /* aws-c-auth get-utf8/query-canonical-request.txt: the path is "/%E1%88%B4" */
    ferry_sigv4_credentials c = {"AKIDEXAMPLE", SUITE_SECRET, NULL};
    ferry_sigv4_request req = {.method = "GET", .host = "example.amazonaws.com",
                               .path = "/\xe1\x88\xb4", .region = "us-east-1",
                               .service = "service", .when = SUITE_TIME};
    ferry_sigv4_signed s;
    char b[128];
    CHECK_INTEQ(ferry_sigv4_sign_headers(&c, &req, &s, NULL), FERRY_OK);
    CHECK_STREQ(line_of(s.canonical_request, 1, b, sizeof b), "/%E1%88%B4");
    ferry_sigv4_signed_free(&s);
}

static void test_suite_sts_token_canonical_request(void)
{
    ferry_sigv4_credentials c = {"AKIDEXAMPLE", SUITE_SECRET, SUITE_TOKEN};
    ferry_sigv4_request req = {.method = "POST", .host = "example.amazonaws.com", .path = "/",
                               .region = "us-east-1", .service = "service",
                               .when = SUITE_TIME};
    ferry_sigv4_signed s;
    char want[1024];
    snprintf(want, sizeof want,
             "POST\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n"
             "x-amz-security-token:%s\n\nhost;x-amz-date;x-amz-security-token\n" E,
             SUITE_TOKEN);
    CHECK_INTEQ(ferry_sigv4_sign_headers(&c, &req, &s, NULL), FERRY_OK);
    CHECK_STREQ(s.canonical_request, want);
    ferry_sigv4_signed_free(&s);

    /* the token header is the signer's: passing it too is refused */
    ferry_sigv4_kv h[] = {{"X-Amz-Security-Token", SUITE_TOKEN}};
    req.headers = h;
    req.nheaders = 1;
    CHECK_INTEQ(ferry_sigv4_sign_headers(&c, &req, &s, NULL), FERRY_ERR_USAGE);
    ferry_sigv4_signed_free(&s);
}

/* AWS General Reference, "Create a canonical request" ... "Calculate the
 * signature": GET https://iam.amazonaws.com/?Action=ListUsers&Version=2010-05-08 */
static void test_general_reference_iam_list_users(void)
{
    ferry_sigv4_credentials c = {"AKIDEXAMPLE", SUITE_SECRET, NULL};
    ferry_sigv4_kv q[] = {{"Version", "2010-05-08"}, {"Action", "ListUsers"}};
    ferry_sigv4_kv h[] = {{"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"}};
    ferry_sigv4_request req = {.method = "GET", .host = "iam.amazonaws.com", .path = "/",
                               .query = q, .nquery = 2, .headers = h, .nheaders = 1,
                               .region = "us-east-1", .service = "iam", .when = SUITE_TIME};
    ferry_sigv4_signed s;
    CHECK_INTEQ(ferry_sigv4_sign_headers(&c, &req, &s, NULL), FERRY_OK);
    CHECK_STREQ(s.canonical_request,
                "GET\n/\nAction=ListUsers&Version=2010-05-08\n"
                "content-type:application/x-www-form-urlencoded; charset=utf-8\n"
                "host:iam.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
                "content-type;host;x-amz-date\n" E);
    CHECK_STREQ(s.string_to_sign,
                "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/iam/aws4_request\n"
                "f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59");
    CHECK_STREQ(s.authorization,
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, "
                "SignedHeaders=content-type;host;x-amz-date, "
                "Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7");
    ferry_sigv4_signed_free(&s);
}

/* ---- refusals and secrecy --------------------------------------------------------------------- */

static void test_refusals_never_leak_the_secret(void)
{
    ferry_sigv4_request ok = {.method = "GET", .host = S3_HOST, .path = "/k",
                              .region = "us-east-1", .service = "s3", .when = S3_TIME};
    ferry_sigv4_request req;
    ferry_sigv4_signed s;
    ferry_error err;
    struct {
        const char *what;
        ferry_sigv4_kv h;
    } bad_headers[] = {
        {"host passed in", {"Host", "evil.example"}},
        {"x-amz-date passed in", {"X-Amz-Date", "20000101T000000Z"}},
        {"authorization passed in", {"Authorization", "x"}},
        {"CRLF injection", {"x-amz-meta-a", "v\r\nx-evil: 1"}},
        {"bad name", {"bad name", "v"}},
        {"empty name", {"", "v"}},
        {"NULL value", {"x-amz-meta-a", NULL}},
    };
    for (size_t i = 0; i < sizeof bad_headers / sizeof bad_headers[0]; i++) {
        req = ok;
        req.headers = &bad_headers[i].h;
        req.nheaders = 1;
        memset(&err, 0, sizeof err);
        CHECK_INTEQ(ferry_sigv4_sign_headers(&S3_CREDS, &req, &s, &err), FERRY_ERR_USAGE);
        CHECK(s.authorization == NULL && s.canonical_request == NULL);
        CHECK(err.status == FERRY_ERR_USAGE && err.msg[0] != '\0');
        CHECK(strstr(err.msg, S3_CREDS.secret_access_key) == NULL);
        ferry_sigv4_signed_free(&s);
    }

    /* with the content-sha256 flag the header is the signer's */
    ferry_sigv4_kv sha[] = {{"x-amz-content-sha256", E}};
    req = ok;
    req.headers = sha;
    req.nheaders = 1;
    req.flags = FERRY_SIGV4_CONTENT_SHA256;
    CHECK_INTEQ(ferry_sigv4_sign_headers(&S3_CREDS, &req, &s, NULL), FERRY_ERR_USAGE);
    ferry_sigv4_signed_free(&s);

    const char *bad_regions[] = {"", "us-east-1/x", "us east", NULL};
    for (size_t i = 0; i < 4; i++) {
        req = ok;
        req.region = bad_regions[i];
        memset(&err, 0, sizeof err);
        CHECK_INTEQ(ferry_sigv4_sign_headers(&S3_CREDS, &req, &s, &err), FERRY_ERR_USAGE);
        CHECK(strstr(err.msg, S3_CREDS.secret_access_key) == NULL);
        ferry_sigv4_signed_free(&s);
    }

    ferry_sigv4_credentials c = S3_CREDS;
    c.secret_access_key = "";
    CHECK_INTEQ(ferry_sigv4_sign_headers(&c, &ok, &s, &err), FERRY_ERR_USAGE);
    c = S3_CREDS;
    c.access_key_id = "AK/ID";
    CHECK_INTEQ(ferry_sigv4_sign_headers(&c, &ok, &s, &err), FERRY_ERR_USAGE);
    c = S3_CREDS;
    c.session_token = "tok\nen";
    CHECK_INTEQ(ferry_sigv4_sign_headers(&c, &ok, &s, &err), FERRY_ERR_USAGE);
    req = ok;
    req.method = "GET /";
    CHECK_INTEQ(ferry_sigv4_sign_headers(&S3_CREDS, &req, &s, &err), FERRY_ERR_USAGE);
    req = ok;
    req.host = "a b";
    CHECK_INTEQ(ferry_sigv4_sign_headers(&S3_CREDS, &req, &s, &err), FERRY_ERR_USAGE);

    ferry_sigv4_key k;
    memset(&err, 0, sizeof err);
    CHECK_INTEQ(ferry_sigv4_derive_key(S3_CREDS.secret_access_key, "2013/05", "us-east-1", "s3",
                                       &k, &err),
                FERRY_ERR_USAGE);
    CHECK(strstr(err.msg, S3_CREDS.secret_access_key) == NULL);

    /* nothing the signer returns carries the secret */
    CHECK_INTEQ(ferry_sigv4_sign_headers(&S3_CREDS, &ok, &s, NULL), FERRY_OK);
    CHECK(strstr(s.authorization, S3_CREDS.secret_access_key) == NULL);
    CHECK(strstr(s.canonical_request, S3_CREDS.secret_access_key) == NULL);
    CHECK(strstr(s.string_to_sign, S3_CREDS.secret_access_key) == NULL);
    ferry_sigv4_signed_free(&s);
}

static void test_signature_depends_on_every_input(void)
{
    ferry_sigv4_request base = {.method = "GET", .host = S3_HOST, .path = "/k",
                                .region = "us-east-1", .service = "s3", .when = S3_TIME};
    ferry_sigv4_signed s0, s1;
    CHECK_INTEQ(ferry_sigv4_sign_headers(&S3_CREDS, &base, &s0, NULL), FERRY_OK);
    ferry_sigv4_request v[5];
    for (int i = 0; i < 5; i++)
        v[i] = base;
    v[0].path = "/K";
    v[1].method = "HEAD";
    v[2].region = "eu-west-1";
    v[3].when = S3_TIME + 1;
    v[4].payload_hash = FERRY_SIGV4_UNSIGNED_PAYLOAD;
    for (int i = 0; i < 5; i++) {
        CHECK_INTEQ(ferry_sigv4_sign_headers(&S3_CREDS, &v[i], &s1, NULL), FERRY_OK);
        CHECK(strcmp(s0.signature, s1.signature) != 0);
        ferry_sigv4_signed_free(&s1);
    }
    ferry_sigv4_credentials c = S3_CREDS;
    c.secret_access_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEz";
    CHECK_INTEQ(ferry_sigv4_sign_headers(&c, &base, &s1, NULL), FERRY_OK);
    CHECK(strcmp(s0.signature, s1.signature) != 0);
    ferry_sigv4_signed_free(&s1);
    ferry_sigv4_signed_free(&s0);
}

int main(void)
{
    RUN(test_uri_encode_unreserved_and_reserved);
    RUN(test_uri_encode_utf8_and_bytes);
    RUN(test_uri_encode_slash);
    RUN(test_uri_encode_truncates_like_snprintf);
    RUN(test_sha256_one_shot);
    RUN(test_sha256_streaming);
    RUN(test_format_time);
    RUN(test_signing_key_general_reference);
    RUN(test_s3_get_object);
    RUN(test_s3_put_object);
    RUN(test_s3_get_bucket_lifecycle);
    RUN(test_s3_list_objects);
    RUN(test_s3_presigned_get);
    RUN(test_presign_session_token_and_key_encoding);
    RUN(test_presign_refusals);
    RUN(test_s3_path_encoded_once_never_normalised);
    RUN(test_suite_vectors);
    RUN(test_suite_get_utf8_canonical_uri);
    RUN(test_suite_sts_token_canonical_request);
    RUN(test_general_reference_iam_list_users);
    RUN(test_refusals_never_leak_the_secret);
    RUN(test_signature_depends_on_every_input);
    return check_summary();
}
