/*
 * hooks/s3/s3_ops.c - single S3 operations shared by the hook and the public
 * calls of include/ferry/s3.h: HeadObject/HeadBucket, AbortMultipartUpload
 * (cleanup path), CreateBucket, DeleteObjects in batches, server-side
 * CopyObject (UploadPartCopy above the multipart threshold) with the write
 * attributes of s3_attrs.h.
 */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/log.h"
#include "hooks/s3/s3_attrs.h"
#include "hooks/s3/s3_internal.h"
#include "hooks/s3/s3_ssec.h"

ferry_status ferry_s3_head_object(ferry_s3_client *c, ferry_s3_xfer *x, const char *bucket, const char *key,
                                  int *exists, ferry_error *err)
{
    *exists = 0;
    ferry_s3_req r;
    memset(&r, 0, sizeof r);
    r.op = key && *key ? "HeadObject" : "HeadBucket";
    r.method = "HEAD";
    r.bucket = bucket;
    r.key = key;
    ferry_status st = ferry_s3_request(c, x, &r, err);
    if (st == FERRY_ERR_NOT_FOUND) {
        ferry_error_clear(err);
        return FERRY_OK;
    }
    if (st == FERRY_OK)
        *exists = 1;
    return st;
}

ferry_status ferry_s3_client_abort_upload(ferry_s3_client *c, ferry_s3_xfer *x, const char *bucket, const char *key,
                                          const char *upload_id, ferry_error *err)
{
    ferry_status st = FERRY_OK;
    for (int round = 0; round < 3; round++) {
        ferry_s3_req r;
        memset(&r, 0, sizeof r);
        r.op = "AbortMultipartUpload";
        r.method = "DELETE";
        r.bucket = bucket;
        r.key = key;
        r.cleanup = 1;
        ferry_s3_req_query(&r, "uploadId", upload_id);
        st = ferry_s3_request(c, x, &r, err);
        if (st != FERRY_OK && st != FERRY_ERR_NOT_FOUND)
            return st;
        /* a part still being stored can outlive an abort: check it is gone */
        ferry_s3_req v;
        memset(&v, 0, sizeof v);
        v.op = "ListParts";
        v.method = "GET";
        v.bucket = bucket;
        v.key = key;
        v.cleanup = 1;
        ferry_s3_req_query(&v, "max-parts", "1");
        ferry_s3_req_query(&v, "uploadId", upload_id);
        ferry_error e;
        st = ferry_s3_request(c, x, &v, &e);
        if (st == FERRY_ERR_NOT_FOUND) {
            ferry_error_clear(err);
            return FERRY_OK;
        }
        if (st != FERRY_OK) {
            /* cannot verify (e.g. no permission): the abort itself succeeded */
            ferry_log(FERRY_LOG_DEBUG, "%s", e.msg);
            ferry_error_clear(err);
            return FERRY_OK;
        }
        ferry_log(FERRY_LOG_DEBUG, "s3: upload %s of s3://%s/%s still listed after abort",
                  upload_id, bucket, key);
        ferry_sleep(1.0);
    }
    return ferry_error_hook(err, FERRY_ERR_TRANSIENT, "s3", c->cfg.conn_id,
                            "AbortMultipartUpload s3://%s/%s failed: upload %s still exists",
                            bucket, key, upload_id);
}

ferry_status ferry_s3_client_create_bucket(ferry_s3_client *c, const char *bucket, ferry_error *err)
{
    ferry_s3_xfer x;
    ferry_status st = ferry_s3_xfer_init(&x, err);
    if (st != FERRY_OK)
        return st;
    ferry_buf body = {0};
    if (strcmp(c->cfg.region, "us-east-1") != 0 &&
        (ferry_buf_appends(&body, "<CreateBucketConfiguration "
                               "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
                               "<LocationConstraint>") ||
         ferry_s3_xml_escape(&body, c->cfg.region, strlen(c->cfg.region)) ||
         ferry_buf_appends(&body, "</LocationConstraint></CreateBucketConfiguration>"))) {
        st = ferry_error_oom(err, "s3", NULL, NULL);
        goto out;
    }
    ferry_s3_req r;
    memset(&r, 0, sizeof r);
    r.op = "CreateBucket";
    r.method = "PUT";
    r.bucket = bucket;
    r.body = body.data;
    r.body_len = body.len;
    st = ferry_s3_request(c, &x, &r, err);
out:
    ferry_buf_release(&body);
    ferry_s3_xfer_release(&x);
    return st;
}

ferry_status ferry_s3_client_delete_objects(ferry_s3_client *c, const char *bucket, const char *const *keys,
                                            size_t n, size_t *deleted, ferry_error *err)
{
    if (deleted)
        *deleted = 0;
    ferry_s3_xfer x;
    ferry_status st = ferry_s3_xfer_init(&x, err);
    if (st != FERRY_OK)
        return st;
    ferry_buf body = {0};
    for (size_t at = 0; at < n && st == FERRY_OK; at += S3_DELETE_BATCH) {
        size_t batch = n - at < S3_DELETE_BATCH ? n - at : S3_DELETE_BATCH;
        ferry_buf_reset(&body);
        int rc = ferry_buf_appends(&body, "<Delete xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
                                       "<Quiet>true</Quiet>");
        for (size_t i = 0; i < batch && !rc; i++) {
            const char *k = keys[at + i];
            rc |= ferry_buf_appends(&body, "<Object><Key>");
            if (ferry_s3_xml_escape(&body, k, strlen(k)) != 0) {
                st = ferry_error_hook(err, FERRY_ERR_USAGE, "s3", c->cfg.conn_id,
                                      "DeleteObjects s3://%s: key '%s' holds control characters "
                                      "that XML cannot carry (delete it alone)",
                                      bucket, k);
                break;
            }
            rc |= ferry_buf_appends(&body, "</Key></Object>");
        }
        if (st != FERRY_OK)
            break;
        rc |= ferry_buf_appends(&body, "</Delete>");
        if (rc) {
            st = ferry_error_oom(err, "s3", NULL, NULL);
            break;
        }
        unsigned char md[16];
        unsigned int mdlen = 0;
        char md5_b64[25];
        if (EVP_Digest(body.data, body.len, md, &mdlen, EVP_md5(), NULL) != 1) {
            st = ferry_error_set(err, FERRY_ERR_INTERNAL, "s3: MD5 failed");
            break;
        }
        ferry_base64_encode(md, 16, md5_b64, sizeof md5_b64);
        ferry_s3_req r;
        memset(&r, 0, sizeof r);
        r.op = "DeleteObjects";
        r.method = "POST";
        r.bucket = bucket;
        r.body = body.data;
        r.body_len = body.len;
        ferry_s3_req_query(&r, "delete", NULL);
        ferry_s3_req_header(&r, "Content-MD5", md5_b64);
        ferry_s3_req_header(&r, "Content-Type", "application/xml");
        st = ferry_s3_request(c, &x, &r, err);
        if (st != FERRY_OK)
            break;
        ferry_s3_delete_result res;
        if (ferry_s3_xml_parse_delete(x.resp.data, x.resp.len, &res) != 0) {
            char shown[160];
            ferry_s3_printable(x.resp.data ? x.resp.data : "", x.resp.len, shown, sizeof shown);
            st = ferry_error_hook(err, FERRY_ERR_DATA, "s3", c->cfg.conn_id,
                                  "DeleteObjects s3://%s failed: unexpected answer '%s'", bucket,
                                  shown);
            break;
        }
        if (deleted)
            *deleted += batch - res.failed;
        if (res.failed) {
            int transient = 0;
            st = ferry_s3_error_status(400, res.first_code, &transient);
            st = ferry_error_hook(err, st, "s3", c->cfg.conn_id,
                                  "DeleteObjects s3://%s failed for %zu of %zu keys, first "
                                  "s3://%s/%s: %s: %s",
                                  bucket, res.failed, batch, bucket, res.first_key,
                                  res.first_code, res.first_message);
        }
    }
    ferry_buf_release(&body);
    ferry_s3_xfer_release(&x);
    return st;
}

/* A request of the copy family: 200 may still carry an <Error>. Fills etag. */
static ferry_status copy_request(ferry_s3_client *c, ferry_s3_xfer *x, const ferry_s3_req *r, char *etag,
                                 size_t cap, ferry_error *err)
{
    ferry_status st = ferry_s3_request(c, x, r, err);
    if (st != FERRY_OK)
        return st;
    ferry_s3_error_doc doc;
    int found = ferry_s3_xml_find(x->resp.data, x->resp.len, "/ETag", etag, cap, &doc);
    char t[S3_MAX_KEY_LEN + 300];
    ferry_s3_req_target(c, r, t, sizeof t);
    if (doc.found) {
        int transient = 0;
        st = ferry_s3_error_status(200, doc.code, &transient);
        char detail[700];
        ferry_s3_error_detail(200, NULL, 0, &doc, detail, sizeof detail);
        return ferry_error_hook(err, st, "s3", c->cfg.conn_id, "%s %s failed: %s", r->op, t,
                                detail);
    }
    if (found != 1) {
        char shown[160];
        ferry_s3_printable(x->resp.data ? x->resp.data : "", x->resp.len, shown, sizeof shown);
        return ferry_error_hook(err, FERRY_ERR_DATA, "s3", c->cfg.conn_id,
                                "%s %s failed: unexpected answer '%s'", r->op, t, shown);
    }
    return FERRY_OK;
}

ferry_status ferry_s3_copy_object(ferry_s3_client *c, const char *src_bucket, const char *src_key,
                                  const char *dst_bucket, const char *dst_key, int replace,
                                  const ferry_s3_put_attrs *attrs, uint64_t multipart_threshold,
                                  uint64_t part_size, ferry_error *err)
{
    ferry_s3_xfer x;
    ferry_status st = ferry_s3_xfer_init(&x, err);
    if (st != FERRY_OK)
        return st;
    char *upload_id = NULL;
    ferry_buf src = {0}, xml = {0}, kept = {0}, tagging = {0};
    ferry_sigv4_kv *create_kv = NULL;
    size_t create_n = 0;
    char src_etag[128] = "";
    int exists = 0;

    x.keep_meta = &kept;            /* the source's metadata, for a multipart copy */
    ferry_s3_ssec_swap(c->ssec);    /* the source is HEADed with its own SSE-C key */
    st = ferry_s3_head_object(c, &x, src_bucket, src_key, &exists, err);
    ferry_s3_ssec_swap(c->ssec);
    x.keep_meta = NULL;
    if (st != FERRY_OK)
        goto out;
    if (!exists) {
        st = ferry_error_hook(err, FERRY_ERR_NOT_FOUND, "s3", c->cfg.conn_id,
                              "CopyObject s3://%s/%s failed: the source does not exist",
                              src_bucket, src_key);
        goto out;
    }
    int64_t size = x.content_length;
    snprintf(src_etag, sizeof src_etag, "%s", x.etag);
    if (!replace) {
        st = ferry_s3_head_object(c, &x, dst_bucket, dst_key, &exists, err);
        if (st != FERRY_OK)
            goto out;
        if (exists) {
            st = ferry_error_hook(err, FERRY_ERR_EXISTS, "s3", c->cfg.conn_id,
                                  "s3://%s/%s already exists (use --replace to overwrite it)",
                                  dst_bucket, dst_key);
            goto out;
        }
    }
    size_t klen = strlen(src_key);
    size_t need = ferry_sigv4_uri_encode(src_key, klen, 0, NULL, 0);
    if (ferry_buf_appendf(&src, "/%s/", src_bucket) || ferry_buf_reserve(&src, need)) {
        st = ferry_error_oom(err, "s3", NULL, NULL);
        goto out;
    }
    ferry_sigv4_uri_encode(src_key, klen, 0, src.data + src.len, need + 1);
    src.len += need;

    char etag[128];
    ferry_s3_req r;
    if (size >= 0 && (uint64_t)size <= multipart_threshold) {
        memset(&r, 0, sizeof r);
        r.op = "CopyObject";
        r.method = "PUT";
        r.bucket = dst_bucket;
        r.key = dst_key;
        ferry_s3_req_header(&r, "x-amz-copy-source", src.data);
        if (src_etag[0])
            ferry_s3_req_header(&r, "x-amz-copy-source-if-match", src_etag);
        if (attrs) {   /* metadata and tags: COPY, or REPLACE when new ones are asked */
            r.xheaders = attrs->kv[FERRY_S3_PUT_COPY];
            r.nxheaders = attrs->nkv[FERRY_S3_PUT_COPY];
        }
        st = copy_request(c, &x, &r, etag, sizeof etag, err);
        goto out;
    }
    /* a new upload: the source's metadata and tags come along only if sent again */
    if (!(attrs && attrs->tagging)) {
        st = ferry_s3_get_tagging(c, &x, src_bucket, src_key, &tagging, err);
        if (st != FERRY_OK)
            goto out;
    }
    st = ferry_s3_copy_create_headers(attrs, &kept, tagging.data, &create_kv, &create_n, err);
    if (st != FERRY_OK)
        goto out;
    ferry_log(FERRY_LOG_DEBUG, "s3: multipart copy to s3://%s/%s: %zu headers on CreateMultipartUpload, "
              "source tags '%s'", dst_bucket, dst_key, create_n, tagging.data ? tagging.data : "");

    /* UploadPartCopy: sequential server-side ranges */
    if (part_size < S3_MIN_PART_SIZE)
        part_size = S3_MIN_PART_SIZE;
    if ((uint64_t)size / part_size >= S3_MAX_PARTS)
        part_size = (uint64_t)size / (S3_MAX_PARTS - 1);
    if (part_size > S3_MAX_PART_SIZE) {
        st = ferry_error_hook(err, FERRY_ERR_USAGE, "s3", c->cfg.conn_id,
                              "CopyObject s3://%s/%s: object too large to copy", src_bucket,
                              src_key);
        goto out;
    }
    memset(&r, 0, sizeof r);
    r.op = "CreateMultipartUpload";
    r.method = "POST";
    r.bucket = dst_bucket;
    r.key = dst_key;
    ferry_s3_req_query(&r, "uploads", NULL);
    r.xheaders = create_kv;
    r.nxheaders = create_n;
    st = ferry_s3_request(c, &x, &r, err);
    if (st != FERRY_OK)
        goto out;
    char id[1024];
    if (ferry_s3_xml_find(x.resp.data, x.resp.len, "/UploadId", id, sizeof id, NULL) != 1 ||
        !(upload_id = strdup(id))) {
        st = ferry_error_hook(err, FERRY_ERR_DATA, "s3", c->cfg.conn_id,
                              "CreateMultipartUpload s3://%s/%s failed: no UploadId", dst_bucket,
                              dst_key);
        goto out;
    }
    int nparts = (int)(((uint64_t)size + part_size - 1) / part_size);
    if (ferry_buf_appends(&xml, "<CompleteMultipartUpload "
                             "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">")) {
        st = ferry_error_oom(err, "s3", NULL, NULL);
        goto out;
    }
    for (int p = 1; p <= nparts; p++) {
        uint64_t a = (uint64_t)(p - 1) * part_size;
        uint64_t b = a + part_size - 1;
        if (b >= (uint64_t)size)
            b = (uint64_t)size - 1;
        char num[16], range[80];
        snprintf(num, sizeof num, "%d", p);
        snprintf(range, sizeof range, "bytes=%llu-%llu", (unsigned long long)a,
                 (unsigned long long)b);
        memset(&r, 0, sizeof r);
        r.op = "UploadPartCopy";
        r.method = "PUT";
        r.bucket = dst_bucket;
        r.key = dst_key;
        ferry_s3_req_query(&r, "partNumber", num);
        ferry_s3_req_query(&r, "uploadId", upload_id);
        ferry_s3_req_header(&r, "x-amz-copy-source", src.data);
        ferry_s3_req_header(&r, "x-amz-copy-source-range", range);
        if (src_etag[0])
            ferry_s3_req_header(&r, "x-amz-copy-source-if-match", src_etag);
        st = copy_request(c, &x, &r, etag, sizeof etag, err);
        if (st != FERRY_OK)
            goto out;
        if (ferry_buf_appendf(&xml, "<Part><PartNumber>%d</PartNumber><ETag>", p) ||
            ferry_s3_xml_escape(&xml, etag, strlen(etag)) || ferry_buf_appends(&xml, "</ETag></Part>")) {
            st = ferry_error_oom(err, "s3", NULL, NULL);
            goto out;
        }
    }
    if (ferry_buf_appends(&xml, "</CompleteMultipartUpload>")) {
        st = ferry_error_oom(err, "s3", NULL, NULL);
        goto out;
    }
    memset(&r, 0, sizeof r);
    r.op = "CompleteMultipartUpload";
    r.method = "POST";
    r.bucket = dst_bucket;
    r.key = dst_key;
    r.body = xml.data;
    r.body_len = xml.len;
    ferry_s3_req_query(&r, "uploadId", upload_id);
    ferry_s3_req_header(&r, "Content-Type", "application/xml");
    st = copy_request(c, &x, &r, etag, sizeof etag, err);
    if (st == FERRY_OK) {
        free(upload_id);
        upload_id = NULL;
    }
out:
    if (st != FERRY_OK && attrs)
        ferry_s3_put_attrs_hint(attrs, x.s3_code, err);
    if (upload_id) {
        ferry_error e;
        if (ferry_s3_client_abort_upload(c, &x, dst_bucket, dst_key, upload_id, &e) != FERRY_OK)
            ferry_log(FERRY_LOG_ERROR, "%s", e.msg);
        free(upload_id);
    }
    ferry_buf_release(&src);
    ferry_buf_release(&xml);
    ferry_buf_release(&kept);
    ferry_buf_release(&tagging);
    free(create_kv);
    ferry_s3_xfer_release(&x);
    return st;
}

ferry_status ferry_s3_list_buckets(ferry_s3_client *c, char *owner, size_t cap, size_t *nbuckets, char *code,
                                   size_t code_cap, ferry_error *err)
{
    ferry_s3_xfer x;
    ferry_status st = ferry_s3_xfer_init(&x, err);
    if (st != FERRY_OK)
        return st;
    ferry_s3_req r;
    memset(&r, 0, sizeof r);
    r.op = "ListBuckets";
    r.method = "GET";
    r.no_retry = 1;
    st = ferry_s3_request(c, &x, &r, err);
    if (code && code_cap)
        snprintf(code, code_cap, "%s", x.s3_code);
    if (st == FERRY_OK && ferry_s3_xml_parse_buckets(x.resp.data, x.resp.len, owner, cap, nbuckets) != 0) {
        char shown[160];
        ferry_s3_printable(x.resp.data ? x.resp.data : "", x.resp.len, shown, sizeof shown);
        st = ferry_error_hook(err, FERRY_ERR_CONNECT, "s3", c->cfg.conn_id,
                              "ListBuckets %s failed: not an S3 answer: '%s'", c->cfg.endpoint,
                              shown);
    }
    ferry_s3_xfer_release(&x);
    return st;
}
