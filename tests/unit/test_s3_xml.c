/*
 * test_s3_xml.c - the pure parts of the S3 hook: expat parsers of error
 * documents (complete, truncated, not XML at all), ListObjectsV2 and
 * ListMultipartUploads pages fed byte by byte, multipart / copy / delete /
 * ListBuckets answers, XML escaping, the status mapping, and the helpers.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "hooks/s3/s3_internal.h"

/* ---- error documents ---------------------------------------------------- */

static void test_error_doc_complete(void)
{
    const char *body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                       "<Error><Code>NoSuchKey</Code><Message>The specified key does not exist."
                       "</Message><Key>a &amp; b.csv</Key><RequestId>tx0001</RequestId>"
                       "<HostId>h</HostId></Error>";
    ferry_s3_error_doc doc;
    CHECK_INTEQ(ferry_s3_xml_parse_error(body, strlen(body), &doc), 1);
    CHECK_STREQ(doc.code, "NoSuchKey");
    CHECK_STREQ(doc.message, "The specified key does not exist.");
    CHECK_STREQ(doc.request_id, "tx0001");
    char out[300];
    ferry_s3_error_detail(404, body, strlen(body), &doc, out, sizeof out);
    CHECK_STREQ(out, "HTTP 404 NoSuchKey: The specified key does not exist.");
}

static void test_error_doc_redirect_endpoint(void)
{
    const char *body = "<Error><Code>PermanentRedirect</Code><Message>Use the endpoint.</Message>"
                       "<Endpoint>b.s3.eu-west-1.amazonaws.com</Endpoint></Error>";
    ferry_s3_error_doc doc;
    CHECK_INTEQ(ferry_s3_xml_parse_error(body, strlen(body), &doc), 1);
    char out[300];
    ferry_s3_error_detail(301, body, strlen(body), &doc, out, sizeof out);
    CHECK_STREQ(out, "HTTP 301 PermanentRedirect: Use the endpoint. (endpoint "
                     "b.s3.eu-west-1.amazonaws.com)");
}

static void test_error_doc_truncated(void)
{
    /* the connection dropped in the middle of the Message */
    const char *body = "<?xml version=\"1.0\"?><Error><Code>SlowDown</Code><Message>Please red";
    ferry_s3_error_doc doc;
    CHECK_INTEQ(ferry_s3_xml_parse_error(body, strlen(body), &doc), 1);
    CHECK_STREQ(doc.code, "SlowDown");
    CHECK_STREQ(doc.message, "");
    /* cut inside the Code itself: nothing usable */
    const char *cut = "<Error><Code>Slow";
    CHECK_INTEQ(ferry_s3_xml_parse_error(cut, strlen(cut), &doc), 0);
    char out[300];
    ferry_s3_error_detail(503, cut, strlen(cut), &doc, out, sizeof out);
    CHECK_STREQ(out, "HTTP 503 Service Unavailable: '<Error><Code>Slow'");
}

static void test_error_body_not_xml(void)
{
    const char *html = "\n<html>\r\n<head><title>502 Bad Gateway</title></head>\n<body>nginx</body>"
                       "</html>\n";
    ferry_s3_error_doc doc;
    CHECK_INTEQ(ferry_s3_xml_parse_error(html, strlen(html), &doc), 0);
    char out[300];
    ferry_s3_error_detail(502, html, strlen(html), &doc, out, sizeof out);
    CHECK_STREQ(out, "HTTP 502 Bad Gateway: '<html> <head><title>502 Bad Gateway</title></head> "
                     "<body>nginx</body></html> '");
    /* binary junk with NULs and control bytes */
    const char junk[] = {'\x01', 'a', '\0', 'b', '\x7f', '\xff', 'c'};
    CHECK_INTEQ(ferry_s3_xml_parse_error(junk, sizeof junk, &doc), 0);
    ferry_s3_error_detail(500, junk, sizeof junk, &doc, out, sizeof out);
    CHECK_STREQ(out, "HTTP 500 Internal Server Error: '.a.b.\xff" "c'");
    /* HEAD: no body at all */
    ferry_s3_error_detail(404, NULL, 0, NULL, out, sizeof out);
    CHECK_STREQ(out, "HTTP 404 Not Found");
    ferry_s3_error_detail(418, "", 0, NULL, out, sizeof out);
    CHECK_STREQ(out, "HTTP 418");
    /* an XML document that is not an S3 error */
    const char *other = "<Foo><Code>X</Code></Foo>";
    CHECK_INTEQ(ferry_s3_xml_parse_error(other, strlen(other), &doc), 0);
}

static void test_error_body_long_is_cut(void)
{
    char big[2000];
    memset(big, 'x', sizeof big);
    ferry_s3_error_doc doc;
    CHECK_INTEQ(ferry_s3_xml_parse_error(big, sizeof big, &doc), 0);
    char out[300];
    ferry_s3_error_detail(500, big, sizeof big, &doc, out, sizeof out);
    CHECK(strlen(out) < 200);
    CHECK(strstr(out, "...'") != NULL);
}

/* ---- listings ------------------------------------------------------------- */

static const char *list_page1 =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
    "<Name>etl-bucket</Name><Prefix>dir%2F</Prefix><KeyCount>4</KeyCount><MaxKeys>1000</MaxKeys>"
    "<Delimiter>%2F</Delimiter><IsTruncated>true</IsTruncated>"
    "<Contents><Key>dir%2Fwith+space.csv</Key><LastModified>2024-01-02T03:04:05.000Z</LastModified>"
    "<ETag>&quot;d41d8cd98f00b204e9800998ecf8427e&quot;</ETag><Size>0</Size>"
    "<StorageClass>STANDARD</StorageClass></Contents>"
    "<Contents><Key>dir%2Fa%2Bb%25c.csv</Key><LastModified>2024-01-02T03:04:06Z</LastModified>"
    "<Size>12345678901</Size><Owner><ID>x</ID></Owner></Contents>"
    "<Contents><Key>dir%2F%C3%BCn%C3%AFc%C3%B8d%C3%A9</Key><Size>7</Size></Contents>"
    "<CommonPrefixes><Prefix>dir%2Fsub%2F</Prefix></CommonPrefixes>"
    "<EncodingType>url</EncodingType>"
    "<NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>"
    "</ListBucketResult>";

static void check_page1(ferry_s3_page *pg)
{
    CHECK_INTEQ(pg->n, 4);
    CHECK_INTEQ(pg->truncated, 1);
    CHECK_INTEQ(pg->url_encoded, 1);
    CHECK_STREQ(pg->next_token.data, "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=");
    if (pg->n != 4)
        return;
    CHECK_STREQ(ferry_s3_page_name(pg, 0), "dir/with space.csv");
    CHECK_INTEQ(ferry_s3_page_entry_at(pg, 0)->size, 0);
    CHECK_INTEQ(ferry_s3_page_entry_at(pg, 0)->mtime, 1704164645);
    CHECK_INTEQ(ferry_s3_page_entry_at(pg, 0)->is_prefix, 0);
    CHECK_STREQ(ferry_s3_page_name(pg, 1), "dir/a+b%c.csv");
    CHECK_INTEQ(ferry_s3_page_entry_at(pg, 1)->size, 12345678901LL);
    CHECK_INTEQ(ferry_s3_page_entry_at(pg, 1)->mtime, 1704164646);
    CHECK_STREQ(ferry_s3_page_name(pg, 2), "dir/\xc3\xbcn\xc3\xaf" "c\xc3\xb8" "d\xc3\xa9");
    CHECK_INTEQ(ferry_s3_page_entry_at(pg, 2)->mtime, -1);
    CHECK_STREQ(ferry_s3_page_name(pg, 3), "dir/sub/");
    CHECK_INTEQ(ferry_s3_page_entry_at(pg, 3)->is_prefix, 1);
    CHECK_INTEQ(ferry_s3_page_entry_at(pg, 3)->size, -1);
}

static void test_list_page_byte_by_byte(void)
{
    ferry_s3_page pg;
    ferry_error err;
    CHECK_INTEQ(ferry_s3_page_init(&pg, 0, &err), FERRY_OK);
    size_t n = strlen(list_page1);
    ferry_status st = FERRY_OK;
    for (size_t i = 0; i < n && st == FERRY_OK; i++)
        st = ferry_s3_page_feed(&pg, list_page1 + i, 1, 0, &err);
    CHECK_INTEQ(st, FERRY_OK);
    CHECK_INTEQ(ferry_s3_page_feed(&pg, NULL, 0, 1, &err), FERRY_OK);
    check_page1(&pg);
    ferry_s3_page_release(&pg);
}

static void test_list_page_reset_and_raw_keys(void)
{
    ferry_s3_page pg;
    ferry_error err;
    CHECK_INTEQ(ferry_s3_page_init(&pg, 0, &err), FERRY_OK);
    CHECK_INTEQ(ferry_s3_page_feed(&pg, list_page1, strlen(list_page1), 1, &err), FERRY_OK);
    check_page1(&pg);
    /* second page, no EncodingType: keys are taken literally ('+' and '%' stay) */
    const char *p2 = "<ListBucketResult><IsTruncated>false</IsTruncated>"
                     "<Contents><Key>x+y%20z &amp; &lt;w&gt;</Key><Size>1</Size></Contents>"
                     "</ListBucketResult>";
    CHECK_INTEQ(ferry_s3_page_reset(&pg, &err), FERRY_OK);
    CHECK_INTEQ(ferry_s3_page_feed(&pg, p2, strlen(p2), 1, &err), FERRY_OK);
    CHECK_INTEQ(pg.n, 1);
    CHECK_INTEQ(pg.truncated, 0);
    CHECK_INTEQ(pg.next_token.len, 0);
    if (pg.n == 1)
        CHECK_STREQ(ferry_s3_page_name(&pg, 0), "x+y%20z & <w>");
    ferry_s3_page_release(&pg);
}

static void test_list_page_truncated_and_garbage(void)
{
    ferry_s3_page pg;
    ferry_error err;
    CHECK_INTEQ(ferry_s3_page_init(&pg, 0, &err), FERRY_OK);
    size_t half = strlen(list_page1) / 2;
    CHECK_INTEQ(ferry_s3_page_feed(&pg, list_page1, half, 0, &err), FERRY_OK);
    CHECK_INTEQ(ferry_s3_page_feed(&pg, NULL, 0, 1, &err), FERRY_ERR_DATA);
    CHECK(strstr(err.msg, "malformed XML") != NULL);
    CHECK_INTEQ(ferry_s3_page_reset(&pg, &err), FERRY_OK);
    const char *html = "<html><body>proxy error</body>";
    CHECK_INTEQ(ferry_s3_page_feed(&pg, html, strlen(html), 1, &err), FERRY_ERR_DATA);
    CHECK_INTEQ(pg.n, 0);
    CHECK_INTEQ(ferry_s3_page_reset(&pg, &err), FERRY_OK);
    CHECK_INTEQ(ferry_s3_page_feed(&pg, "\x00\x01garbage", 9, 1, &err), FERRY_ERR_DATA);
    ferry_s3_page_release(&pg);
}

static void test_uploads_page(void)
{
    const char *body =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
        "<ListMultipartUploadsResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
        "<Bucket>etl-bucket</Bucket><KeyMarker></KeyMarker><UploadIdMarker></UploadIdMarker>"
        "<NextKeyMarker>big 2.bin</NextKeyMarker><NextUploadIdMarker>2~def</NextUploadIdMarker>"
        "<MaxUploads>1000</MaxUploads><IsTruncated>true</IsTruncated>"
        "<Upload><Key>big 1.bin</Key><UploadId>2~abc</UploadId><Initiator><ID>u</ID></Initiator>"
        "<Initiated>2024-05-06T07:08:09.000Z</Initiated></Upload>"
        "<Upload><Key>big 2.bin</Key><UploadId>2~def</UploadId></Upload>"
        "</ListMultipartUploadsResult>";
    ferry_s3_page pg;
    ferry_error err;
    CHECK_INTEQ(ferry_s3_page_init(&pg, 1, &err), FERRY_OK);
    for (size_t i = 0; i < strlen(body); i += 7) {
        size_t n = strlen(body) - i < 7 ? strlen(body) - i : 7;
        CHECK_INTEQ(ferry_s3_page_feed(&pg, body + i, n, 0, &err), FERRY_OK);
    }
    CHECK_INTEQ(ferry_s3_page_feed(&pg, NULL, 0, 1, &err), FERRY_OK);
    CHECK_INTEQ(pg.n, 2);
    CHECK_INTEQ(pg.truncated, 1);
    CHECK_STREQ(pg.next_token.data, "big 2.bin");
    CHECK_STREQ(pg.next_upload_id.data, "2~def");
    if (pg.n == 2) {
        CHECK_STREQ(ferry_s3_page_name(&pg, 0), "big 1.bin");
        CHECK_STREQ(ferry_s3_page_upload_id(&pg, 0), "2~abc");
        CHECK_INTEQ(ferry_s3_page_entry_at(&pg, 0)->mtime, 1714979289);
        CHECK_STREQ(ferry_s3_page_name(&pg, 1), "big 2.bin");
        CHECK_STREQ(ferry_s3_page_upload_id(&pg, 1), "2~def");
    }
    ferry_s3_page_release(&pg);
}

/* ---- small answers ---------------------------------------------------------------- */

static void test_find_upload_id_and_etag(void)
{
    const char *init = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
                       "<InitiateMultipartUploadResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
                       "<Bucket>b</Bucket><Key>k</Key><UploadId>2~Xyz_123</UploadId>"
                       "</InitiateMultipartUploadResult>";
    char out[256];
    ferry_s3_error_doc doc;
    CHECK_INTEQ(ferry_s3_xml_find(init, strlen(init), "/UploadId", out, sizeof out, &doc), 1);
    CHECK_STREQ(out, "2~Xyz_123");
    CHECK_INTEQ(doc.found, 0);

    /* AWS pads a slow CompleteMultipartUpload with whitespace before the XML */
    const char *done = "  \n \n<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                       "<CompleteMultipartUploadResult><Location>l</Location><Bucket>b</Bucket>"
                       "<Key>k</Key><ETag>&quot;3858f62230ac3c915f300c664312c11f-9&quot;</ETag>"
                       "</CompleteMultipartUploadResult>";
    CHECK_INTEQ(ferry_s3_xml_find(done, strlen(done), "/ETag", out, sizeof out, &doc), 1);
    CHECK_STREQ(out, "\"3858f62230ac3c915f300c664312c11f-9\"");

    /* radosgw 16 answers with an empty ETag */
    const char *rgw = "<CompleteMultipartUploadResult><ETag></ETag></CompleteMultipartUploadResult>";
    CHECK_INTEQ(ferry_s3_xml_find(rgw, strlen(rgw), "/ETag", out, sizeof out, &doc), 1);
    CHECK_STREQ(out, "");

    /* 200 OK carrying an error */
    const char *err200 = "\n<Error><Code>InternalError</Code><Message>We encountered an internal "
                         "error. Please try again.</Message></Error>";
    CHECK_INTEQ(ferry_s3_xml_find(err200, strlen(err200), "/ETag", out, sizeof out, &doc), 0);
    CHECK_INTEQ(doc.found, 1);
    CHECK_STREQ(doc.code, "InternalError");

    /* truncated and garbage */
    CHECK_INTEQ(ferry_s3_xml_find(init, 60, "/UploadId", out, sizeof out, &doc), -1);
    CHECK_INTEQ(ferry_s3_xml_find("nope", 4, "/UploadId", out, sizeof out, NULL), -1);
    CHECK_INTEQ(ferry_s3_xml_find("", 0, "/UploadId", out, sizeof out, NULL), -1);
}

static void test_copy_result(void)
{
    const char *body = "<CopyObjectResult><LastModified>2024-01-01T00:00:00.000Z</LastModified>"
                       "<ETag>\"abc\"</ETag></CopyObjectResult>";
    char out[64];
    CHECK_INTEQ(ferry_s3_xml_find(body, strlen(body), "/ETag", out, sizeof out, NULL), 1);
    CHECK_STREQ(out, "\"abc\"");
    const char *part = "<CopyPartResult><ETag>\"def\"</ETag></CopyPartResult>";
    CHECK_INTEQ(ferry_s3_xml_find(part, strlen(part), "/ETag", out, sizeof out, NULL), 1);
    CHECK_STREQ(out, "\"def\"");
}

static void test_delete_result(void)
{
    const char *body = "<DeleteResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
                       "<Deleted><Key>a</Key></Deleted>"
                       "<Error><Key>b &amp; c</Key><Code>AccessDenied</Code><Message>Access Denied"
                       "</Message></Error>"
                       "<Error><Key>d</Key><Code>InternalError</Code><Message>x</Message></Error>"
                       "</DeleteResult>";
    ferry_s3_delete_result r;
    CHECK_INTEQ(ferry_s3_xml_parse_delete(body, strlen(body), &r), 0);
    CHECK_INTEQ(r.deleted, 1);
    CHECK_INTEQ(r.failed, 2);
    CHECK_STREQ(r.first_key, "b & c");
    CHECK_STREQ(r.first_code, "AccessDenied");
    CHECK_STREQ(r.first_message, "Access Denied");
    const char *quiet = "<DeleteResult/>";
    CHECK_INTEQ(ferry_s3_xml_parse_delete(quiet, strlen(quiet), &r), 0);
    CHECK_INTEQ(r.failed, 0);
    CHECK_INTEQ(ferry_s3_xml_parse_delete("<DeleteResult><Err", 18, &r), -1);
}

static void test_buckets(void)
{
    const char *body = "<ListAllMyBucketsResult><Owner><ID>etl</ID><DisplayName>ETL test</DisplayName>"
                       "</Owner><Buckets><Bucket><Name>a</Name><CreationDate>2024-01-01T00:00:00Z"
                       "</CreationDate></Bucket><Bucket><Name>b</Name></Bucket></Buckets>"
                       "</ListAllMyBucketsResult>";
    char owner[64];
    size_t n = 0;
    CHECK_INTEQ(ferry_s3_xml_parse_buckets(body, strlen(body), owner, sizeof owner, &n), 0);
    CHECK_STREQ(owner, "ETL test");
    CHECK_INTEQ(n, 2);
    const char *noname = "<ListAllMyBucketsResult><Owner><ID>75aa57f09aa0c8caeab4f8c24e99d10f8e7faeeb"
                         "</ID></Owner><Buckets/></ListAllMyBucketsResult>";
    CHECK_INTEQ(ferry_s3_xml_parse_buckets(noname, strlen(noname), owner, sizeof owner, &n), 0);
    CHECK_STREQ(owner, "75aa57f09aa0c8caeab4f8c24e99d10f8e7faeeb");
    CHECK_INTEQ(n, 0);
    CHECK_INTEQ(ferry_s3_xml_parse_buckets("<html>", 6, owner, sizeof owner, &n), -1);
}

static void test_xml_escape(void)
{
    ferry_buf b = {0};
    const char *key = "a&b<c>\"d'e\tf\r\ng \xc3\xbc";
    CHECK_INTEQ(ferry_s3_xml_escape(&b, key, strlen(key)), 0);
    CHECK_STREQ(b.data, "a&amp;b&lt;c&gt;&quot;d&apos;e&#9;f&#13;&#10;g \xc3\xbc");
    /* and it parses back to the same bytes */
    ferry_buf doc = {0};
    ferry_buf_appendf(&doc, "<Error><Code>%s</Code></Error>", b.data);
    ferry_s3_error_doc d;
    CHECK_INTEQ(ferry_s3_xml_parse_error(doc.data, doc.len, &d), 1);
    CHECK_STREQ(d.code, key);
    ferry_buf_reset(&b);
    CHECK_INTEQ(ferry_s3_xml_escape(&b, "bell\x07", 5), -1);
    ferry_buf_release(&b);
    ferry_buf_release(&doc);
}

/* ---- status mapping ---------------------------------------------------------------- */

static void test_error_status(void)
{
    int t = -1;
    CHECK_INTEQ(ferry_s3_error_status(403, "SignatureDoesNotMatch", &t), FERRY_ERR_CONNECT);
    CHECK_INTEQ(t, 0);
    CHECK_INTEQ(ferry_s3_error_status(403, "InvalidAccessKeyId", &t), FERRY_ERR_CONNECT);
    CHECK_INTEQ(ferry_s3_error_status(403, "", &t), FERRY_ERR_CONNECT);
    CHECK_INTEQ(ferry_s3_error_status(404, "NoSuchKey", &t), FERRY_ERR_NOT_FOUND);
    CHECK_INTEQ(ferry_s3_error_status(404, "NoSuchBucket", &t), FERRY_ERR_NOT_FOUND);
    CHECK_INTEQ(ferry_s3_error_status(404, "", &t), FERRY_ERR_NOT_FOUND);
    CHECK_INTEQ(ferry_s3_error_status(412, "PreconditionFailed", &t), FERRY_ERR_EXISTS);
    CHECK_INTEQ(ferry_s3_error_status(412, "", &t), FERRY_ERR_EXISTS);
    CHECK_INTEQ(ferry_s3_error_status(409, "BucketAlreadyOwnedByYou", &t), FERRY_ERR_EXISTS);
    CHECK_INTEQ(ferry_s3_error_status(503, "SlowDown", &t), FERRY_ERR_TRANSIENT);
    CHECK_INTEQ(t, 1);
    CHECK_INTEQ(ferry_s3_error_status(500, "", &t), FERRY_ERR_TRANSIENT);
    CHECK_INTEQ(t, 1);
    CHECK_INTEQ(ferry_s3_error_status(502, "", &t), FERRY_ERR_TRANSIENT);
    CHECK_INTEQ(ferry_s3_error_status(504, "", &t), FERRY_ERR_TRANSIENT);
    CHECK_INTEQ(ferry_s3_error_status(400, "RequestTimeout", &t), FERRY_ERR_TRANSIENT);
    CHECK_INTEQ(t, 1);
    CHECK_INTEQ(ferry_s3_error_status(400, "BadDigest", &t), FERRY_ERR_DATA);
    CHECK_INTEQ(t, 1);
    CHECK_INTEQ(ferry_s3_error_status(400, "InvalidArgument", &t), FERRY_ERR_DATA);
    CHECK_INTEQ(t, 0);
    CHECK_INTEQ(ferry_s3_error_status(301, "PermanentRedirect", &t), FERRY_ERR_CONFIG);
    CHECK_INTEQ(ferry_s3_error_status(200, "InternalError", &t), FERRY_ERR_TRANSIENT);
    CHECK_INTEQ(t, 1);
    CHECK_INTEQ(ferry_s3_error_status(501, "NotImplemented", &t), FERRY_ERR_INTERNAL);
    CHECK_INTEQ(t, 0);

    CHECK_INTEQ(ferry_curl_status(CURLE_COULDNT_CONNECT, &t), FERRY_ERR_CONNECT);
    CHECK_INTEQ(t, 1);
    CHECK_INTEQ(ferry_curl_status(CURLE_COULDNT_RESOLVE_HOST, &t), FERRY_ERR_CONNECT);
    CHECK_INTEQ(t, 0);
    CHECK_INTEQ(ferry_curl_status(CURLE_OPERATION_TIMEDOUT, &t), FERRY_ERR_TIMEOUT);
    CHECK_INTEQ(t, 1);
    CHECK_INTEQ(ferry_curl_status(CURLE_RECV_ERROR, &t), FERRY_ERR_TRANSIENT);
    CHECK_INTEQ(t, 1);
    CHECK_INTEQ(ferry_curl_status(CURLE_PARTIAL_FILE, &t), FERRY_ERR_TRANSIENT);
    CHECK_INTEQ(ferry_curl_status(CURLE_PEER_FAILED_VERIFICATION, &t), FERRY_ERR_CONNECT);
    CHECK_INTEQ(t, 0);
    CHECK_INTEQ(ferry_curl_status(CURLE_ABORTED_BY_CALLBACK, &t), FERRY_ERR_INTERRUPTED);
}

/* ---- helpers ------------------------------------------------------------------------ */

static void test_utils(void)
{
    CHECK_INTEQ(ferry_s3_parse_iso8601("1970-01-01T00:00:00Z"), 0);
    CHECK_INTEQ(ferry_s3_parse_iso8601("2024-02-29T23:59:59.999Z"), 1709251199);
    CHECK_INTEQ(ferry_s3_parse_iso8601("2024-02-29"), -1);
    CHECK_INTEQ(ferry_s3_parse_iso8601("20x4-02-29T23:59:59Z"), -1);
    CHECK_INTEQ(ferry_s3_parse_iso8601(NULL), -1);

    char b64[32];
    ferry_base64_encode((const unsigned char *)"", 0, b64, sizeof b64);
    CHECK_STREQ(b64, "");
    ferry_base64_encode((const unsigned char *)"f", 1, b64, sizeof b64);
    CHECK_STREQ(b64, "Zg==");
    ferry_base64_encode((const unsigned char *)"fo", 2, b64, sizeof b64);
    CHECK_STREQ(b64, "Zm8=");
    ferry_base64_encode((const unsigned char *)"foobar", 6, b64, sizeof b64);
    CHECK_STREQ(b64, "Zm9vYmFy");
    const unsigned char md5_empty[16] = {0xd4, 0x1d, 0x8c, 0xd9, 0x8f, 0x00, 0xb2, 0x04,
                                         0xe9, 0x80, 0x09, 0x98, 0xec, 0xf8, 0x42, 0x7e};
    ferry_base64_encode(md5_empty, 16, b64, sizeof b64);
    CHECK_STREQ(b64, "1B2M2Y8AsgTpgAmY7PhCfg==");

    char s[64];
    strcpy(s, "a+b%20c%2Bd%zz%4");
    size_t n = ferry_s3_url_decode(s, strlen(s), 1);
    CHECK_STREQ(s, "a b c+d%zz%4");
    CHECK_INTEQ(n, strlen("a b c+d%zz%4"));
    strcpy(s, "a+b%2B");
    ferry_s3_url_decode(s, strlen(s), 0);
    CHECK_STREQ(s, "a+b+");

    CHECK(ferry_s3_bucket_virtual_ok("etl-bucket", 1));
    CHECK(!ferry_s3_bucket_virtual_ok("my.bucket", 1));
    CHECK(ferry_s3_bucket_virtual_ok("my.bucket", 0));
    CHECK(!ferry_s3_bucket_virtual_ok("My_Bucket", 0));
    CHECK(!ferry_s3_bucket_virtual_ok("ab", 0));
    CHECK(!ferry_s3_bucket_virtual_ok("-ab", 0));

    CHECK(ferry_s3_parse_seconds("2.5") == 2.5);
    CHECK(ferry_s3_parse_seconds("x") < 0);
    CHECK(ferry_s3_parse_seconds("-1") < 0);
    CHECK(ferry_s3_parse_seconds(NULL) < 0);
}

static void test_split_path(void)
{
    char *b = NULL, *k = NULL;
    ferry_error err;
    CHECK_INTEQ(ferry_s3_split_path("bucket/dir/a b.csv", "c", &b, &k, &err), FERRY_OK);
    CHECK_STREQ(b, "bucket");
    CHECK_STREQ(k, "dir/a b.csv");
    free(b);
    free(k);
    /* s3://bucket//x: the key starts with '/' */
    CHECK_INTEQ(ferry_s3_split_path("bucket//x", "c", &b, &k, &err), FERRY_OK);
    CHECK_STREQ(k, "/x");
    free(b);
    free(k);
    CHECK_INTEQ(ferry_s3_split_path("bucket", "c", &b, &k, &err), FERRY_OK);
    CHECK_STREQ(b, "bucket");
    CHECK_STREQ(k, "");
    free(b);
    free(k);
    CHECK_INTEQ(ferry_s3_split_path("/x", "c", &b, &k, &err), FERRY_ERR_USAGE);
    CHECK(b == NULL && k == NULL);
    char longkey[S3_MAX_KEY_LEN + 10];
    memset(longkey, 'k', sizeof longkey - 1);
    longkey[sizeof longkey - 1] = '\0';
    longkey[0] = 'b';
    longkey[1] = '/';
    CHECK_INTEQ(ferry_s3_split_path(longkey, "c", &b, &k, &err), FERRY_ERR_USAGE);
    CHECK(strstr(err.msg, "1024") != NULL);
}

static void test_buf_reuse(void)
{
    ferry_buf b = {0};
    CHECK_INTEQ(ferry_buf_appendf(&b, "%s-%d", "x", 42), 0);
    CHECK_STREQ(b.data, "x-42");
    char *before = b.data;
    size_t cap = b.cap;
    ferry_buf_reset(&b);
    CHECK_INTEQ(ferry_buf_appends(&b, "short"), 0);
    CHECK(b.data == before && b.cap == cap);
    CHECK_STREQ(b.data, "short");
    ferry_buf_release(&b);
    CHECK(b.data == NULL && b.len == 0);
}

int main(void)
{
    RUN(test_error_doc_complete);
    RUN(test_error_doc_redirect_endpoint);
    RUN(test_error_doc_truncated);
    RUN(test_error_body_not_xml);
    RUN(test_error_body_long_is_cut);
    RUN(test_list_page_byte_by_byte);
    RUN(test_list_page_reset_and_raw_keys);
    RUN(test_list_page_truncated_and_garbage);
    RUN(test_uploads_page);
    RUN(test_find_upload_id_and_etag);
    RUN(test_copy_result);
    RUN(test_delete_result);
    RUN(test_buckets);
    RUN(test_xml_escape);
    RUN(test_error_status);
    RUN(test_utils);
    RUN(test_split_path);
    RUN(test_buf_reuse);
    return check_summary();
}
