/*
 * hooks/s3/s3_list.c - paging through ListObjectsV2 and ListMultipartUploads.
 * Each page is parsed by expat while it arrives (ferry_s3_page); its entries are
 * handed out once the page is complete, so a retried page never repeats or
 * loses an entry.  Listings ask for EncodingType=url, so keys with characters
 * XML cannot carry still list, and decode them the way botocore does.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hooks/s3/s3_internal.h"

static size_t page_body(void *ud, const char *data, size_t n, ferry_error *err)
{
    ferry_s3_page *pg = ud;
    return ferry_s3_page_feed(pg, data, n, 0, err) == FERRY_OK ? n : 0;
}

static ferry_status page_attempt(void *ud, ferry_error *err)
{
    return ferry_s3_page_reset(ud, err);
}

/* Run one page request, then finish the parse. */
static ferry_status fetch_page(ferry_s3_client *c, ferry_s3_xfer *x, ferry_s3_page *pg, ferry_s3_req *r,
                               ferry_error *err)
{
    r->on_body = page_body;
    r->body_ud = pg;
    r->on_attempt = page_attempt;
    ferry_status st = ferry_s3_request(c, x, r, err);
    if (st != FERRY_OK)
        return st;
    ferry_error e;
    st = ferry_s3_page_feed(pg, NULL, 0, 1, &e);
    if (st != FERRY_OK) {
        char t[S3_MAX_KEY_LEN + 300];
        ferry_s3_req_target(c, r, t, sizeof t);
        return ferry_error_hook(err, st, "s3", c->cfg.conn_id, "%s %s failed: %s", r->op, t,
                                e.msg);
    }
    return FERRY_OK;
}

ferry_status ferry_s3_list_objects(ferry_s3_client *c, const char *bucket, const char *prefix,
                                   const char *delimiter, ferry_s3_object_fn fn, void *ud, ferry_error *err)
{
    ferry_s3_page pg;
    ferry_s3_xfer x;
    ferry_buf token = {0};
    ferry_status st = ferry_s3_page_init(&pg, 0, err);
    if (st != FERRY_OK)
        return st;
    st = ferry_s3_xfer_init(&x, err);
    for (int page = 0; st == FERRY_OK; page++) {
        ferry_s3_req r;
        memset(&r, 0, sizeof r);
        r.op = "ListObjectsV2";
        r.method = "GET";
        r.bucket = bucket;
        ferry_s3_req_query(&r, "list-type", "2");
        ferry_s3_req_query(&r, "encoding-type", "url");
        if (prefix && *prefix)
            ferry_s3_req_query(&r, "prefix", prefix);
        if (delimiter && *delimiter)
            ferry_s3_req_query(&r, "delimiter", delimiter);
        if (page > 0)
            ferry_s3_req_query(&r, "continuation-token", token.data);
        st = fetch_page(c, &x, &pg, &r, err);
        for (size_t i = 0; st == FERRY_OK && i < pg.n; i++)
            st = fn(ud, ferry_s3_page_name(&pg, i), ferry_s3_page_entry_at(&pg, i), err);
        if (st != FERRY_OK || !pg.truncated || pg.next_token.len == 0)
            break;
        ferry_buf_reset(&token);
        if (ferry_buf_append(&token, pg.next_token.data, pg.next_token.len) != 0)
            st = ferry_error_oom(err, "s3", NULL, NULL);
    }
    ferry_buf_release(&token);
    ferry_s3_xfer_release(&x);
    ferry_s3_page_release(&pg);
    return st;
}

ferry_status ferry_s3_client_list_uploads(ferry_s3_client *c, const char *bucket, const char *prefix,
                                          ferry_s3_client_upload_fn fn, void *ud, ferry_error *err)
{
    return ferry_s3_client_list_uploads_ex(c, bucket, prefix, 0, fn, ud, err);
}

ferry_status ferry_s3_client_list_uploads_ex(ferry_s3_client *c, const char *bucket, const char *prefix, int cleanup,
                                             ferry_s3_client_upload_fn fn, void *ud, ferry_error *err)
{
    ferry_s3_page pg;
    ferry_s3_xfer x;
    ferry_buf key_marker = {0}, id_marker = {0};
    ferry_status st = ferry_s3_page_init(&pg, 1, err);
    if (st != FERRY_OK)
        return st;
    st = ferry_s3_xfer_init(&x, err);
    for (int page = 0; st == FERRY_OK; page++) {
        ferry_s3_req r;
        memset(&r, 0, sizeof r);
        r.op = "ListMultipartUploads";
        r.method = "GET";
        r.bucket = bucket;
        r.cleanup = cleanup;
        ferry_s3_req_query(&r, "uploads", NULL);
        if (prefix && *prefix)
            ferry_s3_req_query(&r, "prefix", prefix);
        if (page > 0) {
            ferry_s3_req_query(&r, "key-marker", key_marker.data);
            if (id_marker.len)
                ferry_s3_req_query(&r, "upload-id-marker", id_marker.data);
        }
        st = fetch_page(c, &x, &pg, &r, err);
        for (size_t i = 0; st == FERRY_OK && i < pg.n; i++)
            st = fn(ud, ferry_s3_page_name(&pg, i), ferry_s3_page_upload_id(&pg, i),
                    ferry_s3_page_entry_at(&pg, i)->mtime, err);
        if (st != FERRY_OK || !pg.truncated || pg.next_token.len == 0)
            break;
        ferry_buf_reset(&key_marker);
        ferry_buf_reset(&id_marker);
        if (ferry_buf_append(&key_marker, pg.next_token.data, pg.next_token.len) ||
            ferry_buf_append(&id_marker, pg.next_upload_id.data ? pg.next_upload_id.data : "",
                          pg.next_upload_id.len))
            st = ferry_error_oom(err, "s3", NULL, NULL);
    }
    ferry_buf_release(&key_marker);
    ferry_buf_release(&id_marker);
    ferry_s3_xfer_release(&x);
    ferry_s3_page_release(&pg);
    return st;
}
