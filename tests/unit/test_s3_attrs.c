/*
 * test_s3_attrs.c - the S3 write attributes (hooks/s3/s3_attrs.c): the
 * default Content-Type of a name, the options and the connection's
 * extra_args resolved and validated (exit 2 naming the option), and the
 * headers each kind of write gets (PutObject / Create, CopyObject with
 * COPY or REPLACE directives, a multipart copy's Create).  No server needed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "ferry/conn.h"
#include "hooks/s3/s3_attrs.h"
#include "hooks/s3/s3_internal.h"

/* The value of header name (case-insensitive) among a's headers of kind, or NULL. */
static const char *hdr(const ferry_s3_put_attrs *a, ferry_s3_put_kind kind, const char *name)
{
    for (size_t i = 0; i < a->nkv[kind]; i++)
        if (strcasecmp(a->kv[kind][i].name, name) == 0)
            return a->kv[kind][i].value;
    return NULL;
}

static void test_content_type(void)
{
    static const struct { const char *name, *enc, *want; } cases[] = {
        {"in/orders.csv", NULL, "text/csv"},
        {"ORDERS.CSV", NULL, "text/csv"},
        {"a.tsv", NULL, "text/tab-separated-values"},
        {"a.jsonl", NULL, "application/x-ndjson"},
        {"a.ndjson", NULL, "application/x-ndjson"},
        {"a.json", NULL, "application/json"},
        {"a.parquet", NULL, "application/vnd.apache.parquet"},
        {"a.txt", NULL, "text/plain"},
        {"a.csv.gz", NULL, "application/gzip"},
        {"a.csv.gz", "gzip", "text/csv"},
        {"a.jsonl.zst", NULL, "application/zstd"},
        {"a.jsonl.zst", "zstd", "application/x-ndjson"},
        {"a.gz", "gzip", "application/octet-stream"},
        {"a.csv.gz", "br", "application/gzip"},
        {"a.bin", NULL, "application/octet-stream"},
        {"noext", NULL, "application/octet-stream"},
        {".csv", NULL, "application/octet-stream"},       /* a name that is only the extension */
        {"dir.csv/x", NULL, "application/octet-stream"},  /* the last segment counts */
        {"", NULL, "application/octet-stream"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        CHECK_STREQ(ferry_s3_content_type_for(cases[i].name, cases[i].enc), cases[i].want);
    CHECK_STREQ(ferry_s3_content_type_for(NULL, NULL), "application/octet-stream");
}

static void test_nothing_asked(void)
{
    ferry_copy_options o;
    ferry_copy_options_init(&o);
    ferry_s3_put_attrs a;
    ferry_error err;
    ferry_error_clear(&err);
    CHECK_INTEQ(ferry_s3_put_attrs_load(&a, &o, NULL, "x/y.csv", &err), FERRY_OK);
    CHECK(!ferry_s3_put_attrs_any(&a));
    CHECK_STREQ(hdr(&a, FERRY_S3_PUT_OBJECT, "Content-Type"), "text/csv");
    CHECK_INTEQ((int)a.nkv[FERRY_S3_PUT_OBJECT], 1);
    /* a plain server-side copy: COPY, nothing else */
    CHECK_STREQ(hdr(&a, FERRY_S3_PUT_COPY, "x-amz-metadata-directive"), "COPY");
    CHECK_INTEQ((int)a.nkv[FERRY_S3_PUT_COPY], 1);
    CHECK_INTEQ((int)a.nkv[FERRY_S3_PUT_COPY_CREATE], 0);
    CHECK_INTEQ(a.requester_pays, 0);
    ferry_s3_put_attrs_release(&a);
    /* NULL options and a caller's struct from before the fields existed */
    CHECK_INTEQ(ferry_s3_put_attrs_load(&a, NULL, NULL, "k", &err), FERRY_OK);
    ferry_s3_put_attrs_release(&a);
    o.s3_sse = "bogus";
    o.struct_size = FERRY_COPY_OPTIONS_MIN_SIZE;   /* an old caller: the field is not read */
    CHECK_INTEQ(ferry_s3_put_attrs_load(&a, &o, NULL, "k", &err), FERRY_OK);
    ferry_s3_put_attrs_release(&a);
}

static void test_all_options(void)
{
    static const char *const meta[] = {"Owner=ETL", "run-id=42", "empty="};
    static const char *const tags[] = {"team=data", "env=prod x&y/z", "k="};
    ferry_copy_options o;
    ferry_copy_options_init(&o);
    o.s3_sse = "aws:kms";
    o.s3_sse_kms_key_id = "arn:aws:kms:eu-west-1:111122223333:key/abc";
    o.s3_sse_bucket_key = 1;
    o.s3_storage_class = "STANDARD_IA";
    o.s3_content_encoding = "gzip";
    o.s3_metadata = meta;
    o.n_s3_metadata = 3;
    o.s3_tags = tags;
    o.n_s3_tags = 3;
    o.s3_acl = "bucket-owner-full-control";
    o.s3_requester_pays = 1;
    ferry_s3_put_attrs a;
    ferry_error err;
    ferry_error_clear(&err);
    CHECK_INTEQ(ferry_s3_put_attrs_load(&a, &o, NULL, "out/x.csv.gz", &err), FERRY_OK);
    CHECK(ferry_s3_put_attrs_any(&a));
    ferry_s3_put_kind k = FERRY_S3_PUT_OBJECT;
    CHECK_STREQ(hdr(&a, k, "Content-Type"), "text/csv");   /* .csv.gz with Content-Encoding gzip */
    CHECK_STREQ(hdr(&a, k, "Content-Encoding"), "gzip");
    CHECK_STREQ(hdr(&a, k, "x-amz-meta-owner"), "ETL");
    CHECK_STREQ(hdr(&a, k, "x-amz-meta-run-id"), "42");
    CHECK_STREQ(hdr(&a, k, "x-amz-meta-empty"), "");
    CHECK_STREQ(hdr(&a, k, "x-amz-tagging"), "team=data&env=prod%20x%26y%2Fz&k=");
    CHECK_STREQ(hdr(&a, k, "x-amz-server-side-encryption"), "aws:kms");
    CHECK_STREQ(hdr(&a, k, "x-amz-server-side-encryption-aws-kms-key-id"),
                "arn:aws:kms:eu-west-1:111122223333:key/abc");
    CHECK_STREQ(hdr(&a, k, "x-amz-server-side-encryption-bucket-key-enabled"), "true");
    CHECK_STREQ(hdr(&a, k, "x-amz-storage-class"), "STANDARD_IA");
    CHECK_STREQ(hdr(&a, k, "x-amz-acl"), "bucket-owner-full-control");
    CHECK(hdr(&a, k, "x-amz-metadata-directive") == NULL);
    CHECK_INTEQ(a.requester_pays, 1);
    /* a copy: REPLACE both, and every other attribute */
    k = FERRY_S3_PUT_COPY;
    CHECK_STREQ(hdr(&a, k, "x-amz-metadata-directive"), "REPLACE");
    CHECK_STREQ(hdr(&a, k, "x-amz-tagging-directive"), "REPLACE");
    CHECK_STREQ(hdr(&a, k, "x-amz-meta-owner"), "ETL");
    CHECK_STREQ(hdr(&a, k, "Content-Type"), "text/csv");
    CHECK_STREQ(hdr(&a, k, "x-amz-storage-class"), "STANDARD_IA");
    /* a multipart copy's Create: no directives */
    k = FERRY_S3_PUT_COPY_CREATE;
    CHECK(hdr(&a, k, "x-amz-metadata-directive") == NULL);
    CHECK(hdr(&a, k, "x-amz-tagging-directive") == NULL);
    CHECK_STREQ(hdr(&a, k, "x-amz-tagging"), "team=data&env=prod%20x%26y%2Fz&k=");
    CHECK_STREQ(hdr(&a, k, "x-amz-meta-owner"), "ETL");
    ferry_s3_put_attrs_release(&a);
}

static void test_copy_keeps(void)
{
    /* only SSE / class / ACL asked: a copy keeps metadata and tags (COPY) */
    ferry_copy_options o;
    ferry_copy_options_init(&o);
    o.s3_storage_class = "GLACIER_IR";
    o.s3_acl = "private";
    ferry_s3_put_attrs a;
    ferry_error err;
    CHECK_INTEQ(ferry_s3_put_attrs_load(&a, &o, NULL, "x.csv", &err), FERRY_OK);
    CHECK_STREQ(hdr(&a, FERRY_S3_PUT_COPY, "x-amz-metadata-directive"), "COPY");
    CHECK(hdr(&a, FERRY_S3_PUT_COPY, "x-amz-tagging-directive") == NULL);
    CHECK(hdr(&a, FERRY_S3_PUT_COPY, "Content-Type") == NULL);
    CHECK_STREQ(hdr(&a, FERRY_S3_PUT_COPY, "x-amz-storage-class"), "GLACIER_IR");
    CHECK_STREQ(hdr(&a, FERRY_S3_PUT_COPY, "x-amz-acl"), "private");
    /* the multipart copy's Create: the source's kept headers and tags */
    ferry_buf kept = {0};
    ferry_buf_append(&kept, "content-type\0text/csv\0x-amz-meta-owner\0ETL\0", 44);
    ferry_sigv4_kv *kv = NULL;
    size_t n = 0;
    CHECK_INTEQ(ferry_s3_copy_create_headers(&a, &kept, "t=1", &kv, &n, &err), FERRY_OK);
    CHECK_INTEQ((int)n, 5);
    if (n == 5) {
        CHECK_STREQ(kv[0].name, "content-type");
        CHECK_STREQ(kv[0].value, "text/csv");
        CHECK_STREQ(kv[1].name, "x-amz-meta-owner");
        CHECK_STREQ(kv[1].value, "ETL");
        CHECK_STREQ(kv[2].name, "x-amz-tagging");
        CHECK_STREQ(kv[2].value, "t=1");
    }
    free(kv);
    ferry_s3_put_attrs_release(&a);
    /* --content-type given: the source's headers are not carried */
    o.s3_content_type = "text/x-new";
    CHECK_INTEQ(ferry_s3_put_attrs_load(&a, &o, NULL, "x.csv", &err), FERRY_OK);
    CHECK_INTEQ(ferry_s3_copy_create_headers(&a, &kept, "", &kv, &n, &err), FERRY_OK);
    int saw_type = 0, saw_owner = 0;
    for (size_t i = 0; i < n; i++) {
        saw_type |= strcasecmp(kv[i].name, "content-type") == 0 && strcmp(kv[i].value, "text/x-new") == 0;
        saw_owner |= strcmp(kv[i].name, "x-amz-meta-owner") == 0;
    }
    CHECK(saw_type && !saw_owner);
    free(kv);
    ferry_s3_put_attrs_release(&a);
    /* NULL attributes: kept headers only */
    CHECK_INTEQ(ferry_s3_copy_create_headers(NULL, &kept, NULL, &kv, &n, &err), FERRY_OK);
    CHECK_INTEQ((int)n, 2);
    free(kv);
    ferry_buf_release(&kept);
}

/* One invalid setting: FERRY_ERR_USAGE and the message names what. */
static void bad(ferry_copy_options *o, const char *what)
{
    ferry_s3_put_attrs a;
    ferry_error err;
    ferry_error_clear(&err);
    ferry_status st = ferry_s3_put_attrs_load(&a, o, NULL, "k.csv", &err);
    CHECK_INTEQ(st, FERRY_ERR_USAGE);
    if (!strstr(err.msg, what)) {
        fprintf(stderr, "  message '%s' does not name '%s'\n", err.msg, what);
        CHECK(0);
    }
    if (st == FERRY_OK)
        ferry_s3_put_attrs_release(&a);
    CHECK_INTEQ(ferry_s3_put_attrs_check(o, &err), FERRY_ERR_USAGE);
    ferry_copy_options_init(o);
}

static void test_invalid(void)
{
    ferry_copy_options o;
    ferry_copy_options_init(&o);
    o.s3_sse = "aes256";
    bad(&o, "--sse: 'aes256'");
    o.s3_sse_kms_key_id = "k";
    bad(&o, "--sse-kms-key-id needs --sse aws:kms");
    o.s3_sse = "AES256";
    o.s3_sse_bucket_key = 1;
    bad(&o, "--sse-bucket-key needs --sse aws:kms");
    o.s3_sse = "aws:kms";
    o.s3_sse_kms_key_id = "k\n1";
    bad(&o, "--sse-kms-key-id");
    o.s3_storage_class = "standard";
    bad(&o, "--storage-class: unknown storage class 'standard'");
    o.s3_acl = "public";
    bad(&o, "--acl: unknown canned ACL 'public'");
    o.s3_content_type = "csv";
    bad(&o, "--content-type: 'csv'");
    o.s3_content_type = "text/csv\r\nX-Evil: 1";
    bad(&o, "--content-type");
    o.s3_content_encoding = "gzip\n";
    bad(&o, "--content-encoding");
    static const char *m1[] = {"novalue"};
    o.s3_metadata = m1, o.n_s3_metadata = 1;
    bad(&o, "--metadata: 'novalue' is not key=value");
    static const char *m2[] = {"a:b=1"};
    o.s3_metadata = m2, o.n_s3_metadata = 1;
    bad(&o, "--metadata: the key of 'a:b=1'");
    static const char *m3[] = {"k=caf\xc3\xa9"};
    o.s3_metadata = m3, o.n_s3_metadata = 1;
    bad(&o, "--metadata: the value of");
    static const char *m4[] = {"Key=1", "kEY=2"};
    o.s3_metadata = m4, o.n_s3_metadata = 2;
    bad(&o, "given twice");
    static char big[2100];
    memset(big, 'v', sizeof big - 1);
    memcpy(big, "k=", 2);
    static const char *m5[] = {big};
    o.s3_metadata = m5, o.n_s3_metadata = 1;
    bad(&o, "more than 2 KB");
    static const char *t1[] = {"=x"};
    o.s3_tags = t1, o.n_s3_tags = 1;
    bad(&o, "--tags: '=x'");
    static const char *t2[] = {"a=1", "a=2"};
    o.s3_tags = t2, o.n_s3_tags = 2;
    bad(&o, "--tags: the tag key of 'a=2' is given twice");
    static const char *t3[11] = {"k0=v", "k1=v", "k2=v", "k3=v", "k4=v", "k5=v", "k6=v", "k7=v", "k8=v", "k9=v", "k10=v"};
    o.s3_tags = t3, o.n_s3_tags = 11;
    bad(&o, "more than 10 tags");
    static const char *t4[] = {"a=b\tc"};
    o.s3_tags = t4, o.n_s3_tags = 1;
    bad(&o, "control characters");
}

static ferry_conn *conn_json(const char *json)
{
    ferry_conn *c = NULL;
    ferry_error err;
    if (ferry_conn_parse_json("attrs", json, &c, &err) != FERRY_OK) {
        fprintf(stderr, "  conn: %s\n", err.msg);
        CHECK(0);
    }
    return c;
}

static void test_extra_args(void)
{
    ferry_conn *c = conn_json(
        "{\"conn_type\": \"aws\", \"extra\": {\"extra_args\": {\"ServerSideEncryption\": \"aws:kms\", "
        "\"SSEKMSKeyId\": \"alias/etl\", \"BucketKeyEnabled\": true, \"StorageClass\": \"GLACIER\", "
        "\"ContentType\": \"text/x-conn\", \"Metadata\": {\"src\": \"conn\"}, \"Tagging\": \"a=1&b=x%20y\", "
        "\"ACL\": \"private\", \"RequestPayer\": \"requester\", \"Unknown\": 1}}}");
    if (!c)
        return;
    ferry_copy_options o;
    ferry_copy_options_init(&o);
    ferry_s3_put_attrs a;
    ferry_error err;
    ferry_error_clear(&err);
    CHECK_INTEQ(ferry_s3_put_attrs_load(&a, &o, c, "x.csv", &err), FERRY_OK);
    ferry_s3_put_kind k = FERRY_S3_PUT_OBJECT;
    CHECK_STREQ(hdr(&a, k, "x-amz-server-side-encryption"), "aws:kms");
    CHECK_STREQ(hdr(&a, k, "x-amz-server-side-encryption-aws-kms-key-id"), "alias/etl");
    CHECK_STREQ(hdr(&a, k, "x-amz-server-side-encryption-bucket-key-enabled"), "true");
    CHECK_STREQ(hdr(&a, k, "x-amz-storage-class"), "GLACIER");
    CHECK_STREQ(hdr(&a, k, "Content-Type"), "text/x-conn");
    CHECK_STREQ(hdr(&a, k, "x-amz-meta-src"), "conn");
    CHECK_STREQ(hdr(&a, k, "x-amz-tagging"), "a=1&b=x%20y");
    CHECK_STREQ(hdr(&a, k, "x-amz-acl"), "private");
    CHECK_INTEQ(a.requester_pays, 1);
    CHECK_INTEQ(ferry_s3_requester_pays(NULL, c), 1);
    ferry_s3_put_attrs_release(&a);

    /* the options win field by field; --metadata replaces the extra's set */
    static const char *const meta[] = {"cli=1"};
    o.s3_storage_class = "STANDARD";
    o.s3_metadata = meta;
    o.n_s3_metadata = 1;
    CHECK_INTEQ(ferry_s3_put_attrs_load(&a, &o, c, "x.csv", &err), FERRY_OK);
    CHECK_STREQ(hdr(&a, k, "x-amz-storage-class"), "STANDARD");
    CHECK_STREQ(hdr(&a, k, "x-amz-meta-cli"), "1");
    CHECK(hdr(&a, k, "x-amz-meta-src") == NULL);
    CHECK_STREQ(hdr(&a, k, "Content-Type"), "text/x-conn");
    ferry_s3_put_attrs_release(&a);
    ferry_conn_free(c);

    /* a bad value in the extra names extra_args.Field */
    c = conn_json("{\"conn_type\": \"aws\", \"extra\": {\"extra_args\": {\"StorageClass\": \"COLD\"}}}");
    if (c) {
        ferry_copy_options_init(&o);
        CHECK_INTEQ(ferry_s3_put_attrs_load(&a, &o, c, "x", &err), FERRY_ERR_USAGE);
        CHECK(strstr(err.msg, "extra_args.StorageClass") != NULL);
        o.s3_storage_class = "STANDARD";   /* the option does not hide a bad extra */
        CHECK_INTEQ(ferry_s3_put_attrs_load(&a, &o, c, "x", &err), FERRY_ERR_USAGE);
        ferry_conn_free(c);
    }
    c = conn_json("{\"conn_type\": \"aws\", \"extra\": {\"extra_args\": \"not json\"}}");
    if (c) {
        ferry_copy_options_init(&o);
        CHECK_INTEQ(ferry_s3_put_attrs_load(&a, &o, c, "x", &err), FERRY_ERR_CONFIG);
        ferry_conn_free(c);
    }
    c = conn_json("{\"conn_type\": \"aws\", \"extra\": {\"requester_pays\": \"true\"}}");
    if (c) {
        CHECK_INTEQ(ferry_s3_requester_pays(NULL, c), 1);
        ferry_conn_free(c);
    }
    CHECK_INTEQ(ferry_s3_requester_pays(NULL, NULL), 0);
}

static void test_hint(void)
{
    ferry_copy_options o;
    ferry_copy_options_init(&o);
    o.s3_storage_class = "GLACIER";
    ferry_s3_put_attrs a;
    ferry_error err;
    CHECK_INTEQ(ferry_s3_put_attrs_load(&a, &o, NULL, "x", &err), FERRY_OK);
    ferry_error_set(&err, FERRY_ERR_DATA, "s3(x): PutObject s3://b/x failed: HTTP 400 InvalidArgument");
    ferry_s3_put_attrs_hint(&a, "InvalidArgument", &err);
    CHECK(strstr(err.msg, "storage class GLACIER") != NULL);
    ferry_error_set(&err, FERRY_ERR_DATA, "other");
    ferry_s3_put_attrs_hint(&a, "NoSuchThing", &err);
    CHECK_STREQ(err.msg, "other");
    ferry_s3_put_attrs_release(&a);
}

int main(void)
{
    RUN(test_content_type);
    RUN(test_nothing_asked);
    RUN(test_all_options);
    RUN(test_copy_keeps);
    RUN(test_invalid);
    RUN(test_extra_args);
    RUN(test_hint);
    return check_summary();
}
