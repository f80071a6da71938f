/*
 * hooks/s3/s3.c - the S3 hook table (const ferry_hook ferry_hook_s3) and its
 * small operations: stat (HeadObject / HeadBucket), list (ListObjectsV2,
 * recursive or by '/'), remove (DeleteObject), test (ListBuckets, or
 * HeadBucket when listing buckets is not allowed).  Reading and writing
 * objects live in s3_source.c and s3_sink.c.
 *
 * Listings are directory-like (names relative to the listed "dir/", common
 * prefixes as directories, a glob in the last segment filters), as the
 * multi-file copy expects.
 *
 * Endpoints: ep->path is "bucket/key" exactly as given (no percent-decoding:
 * '%', '+', spaces, a leading '/' and ".." are part of the key); ep->conn is
 * the aws connection or NULL (environment and ~/.aws only).
 */
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/log.h"
#include "ferry/s3.h"
#include "hooks/s3/s3_internal.h"

static ferry_status s3_stat(const ferry_endpoint *ep, ferry_entry *out, ferry_error *err)
{
    const char *id = s3_conn_id(ep->conn);
    char *bucket = NULL, *key = NULL;
    s3_client *c = NULL;
    s3_xfer x;
    memset(&x, 0, sizeof x);
    memset(out, 0, sizeof *out);
    ferry_status st = s3_split_path(ep->path, id, &bucket, &key, err);
    if (st == FERRY_OK)
        st = s3_client_new(ep->conn, NULL, &c, err);
    if (st == FERRY_OK)
        st = s3_xfer_init(&x, err);
    if (st != FERRY_OK)
        goto out;
    int exists = 0;
    int is_bucket = key[0] == '\0';
    st = s3_head_object(c, &x, bucket, key, &exists, err);
    if (st != FERRY_OK)
        goto out;
    if (!exists) {
        if (is_bucket)
            st = ferry_error_hook(err, FERRY_ERR_NOT_FOUND, "s3", id,
                                  "HeadBucket s3://%s failed: the bucket does not exist", bucket);
        else
            st = ferry_error_hook(err, FERRY_ERR_NOT_FOUND, "s3", id,
                                  "HeadObject s3://%s/%s failed: no such key", bucket, key);
        goto out;
    }
    /* name borrowed from the endpoint, which outlives the entry */
    const char *slash = strchr(ep->path, '/');
    out->name = is_bucket ? ep->path : slash + 1;
    out->is_dir = is_bucket;
    out->size = is_bucket ? -1 : x.content_length;
    out->mtime = x.last_modified;
out:
    s3_xfer_release(&x);
    s3_client_free(c);
    free(bucket);
    free(key);
    return st;
}

typedef struct list_ctx {
    ferry_entry_fn fn;
    void *ud;
    size_t prefix_len;      /* names are relative to the listed prefix */
    const char *pattern;    /* glob of the last path segment, or NULL */
    ferry_buf name;            /* reused */
} list_ctx;

static ferry_status list_one(void *ud, const char *key, const s3_page_entry *e, ferry_error *err)
{
    list_ctx *l = ud;
    size_t klen = strlen(key);
    if (klen < l->prefix_len)
        return FERRY_OK;
    const char *rel = key + l->prefix_len;
    size_t rlen = klen - l->prefix_len;
    if (e->is_prefix && rlen > 0 && rel[rlen - 1] == '/')
        rlen--;                       /* "dir/" is shown as the directory "dir" */
    ferry_buf_reset(&l->name);
    if (ferry_buf_append(&l->name, rel, rlen) != 0)
        return ferry_error_oom(err, "s3", NULL, NULL);
    if (l->pattern) {
        const char *leaf = strrchr(l->name.data, '/');
        leaf = leaf ? leaf + 1 : l->name.data;
        if (fnmatch(l->pattern, leaf, 0) != 0)
            return FERRY_OK;
    }
    ferry_entry fe;
    fe.name = l->name.data;
    fe.size = e->is_prefix ? -1 : e->size;
    fe.mtime = e->mtime;
    fe.is_dir = e->is_prefix;
    return l->fn(&fe, l->ud, err);
}

/* Listing "bucket/dir", "bucket/dir/" or "bucket/dir/<glob>": the keys under
 * "dir/" (the whole bucket for "bucket"), names relative to it, like a
 * directory listing; recursive = no delimiter. */
static ferry_status s3_list(const ferry_endpoint *ep, int recursive, ferry_entry_fn fn, void *ud,
                            ferry_error *err)
{
    const char *id = s3_conn_id(ep->conn);
    char *bucket = NULL, *key = NULL;
    s3_client *c = NULL;
    ferry_buf prefix = {0};
    list_ctx l;
    memset(&l, 0, sizeof l);
    ferry_status st = s3_split_path(ep->path, id, &bucket, &key, err);
    if (st != FERRY_OK)
        goto out;
    char *slash = strrchr(key, '/');
    char *leaf = slash ? slash + 1 : key;
    if (strpbrk(leaf, "*?[")) {
        l.pattern = leaf;
        if (ferry_buf_append(&prefix, key, (size_t)(leaf - key)) != 0)
            st = ferry_error_oom(err, "s3", NULL, NULL);
    } else {
        size_t n = strlen(key);
        if (ferry_buf_append(&prefix, key, n) != 0 ||
            (n > 0 && key[n - 1] != '/' && ferry_buf_append(&prefix, "/", 1) != 0))
            st = ferry_error_oom(err, "s3", NULL, NULL);
    }
    if (st == FERRY_OK)
        st = s3_client_new(ep->conn, NULL, &c, err);
    if (st == FERRY_OK) {
        l.fn = fn;
        l.ud = ud;
        l.prefix_len = prefix.len;
        st = s3_list_objects(c, bucket, prefix.data ? prefix.data : "", recursive ? NULL : "/",
                             list_one, &l, err);
    }
out:
    ferry_buf_release(&l.name);
    ferry_buf_release(&prefix);
    s3_client_free(c);
    free(bucket);
    free(key);
    return st;
}

static ferry_status s3_remove(const ferry_endpoint *ep, ferry_error *err)
{
    const char *id = s3_conn_id(ep->conn);
    char *bucket = NULL, *key = NULL;
    s3_client *c = NULL;
    s3_xfer x;
    memset(&x, 0, sizeof x);
    ferry_status st = s3_split_path(ep->path, id, &bucket, &key, err);
    if (st == FERRY_OK && !key[0])
        st = ferry_error_hook(err, FERRY_ERR_USAGE, "s3", id,
                              "s3://%s: remove needs a key (buckets are not removed)", bucket);
    if (st == FERRY_OK)
        st = s3_client_new(ep->conn, NULL, &c, err);
    if (st == FERRY_OK)
        st = s3_xfer_init(&x, err);
    if (st != FERRY_OK)
        goto out;
    /* S3 answers 204 for absent keys too: HEAD first to report "not found" */
    int exists = 0;
    st = s3_head_object(c, &x, bucket, key, &exists, err);
    if (st == FERRY_OK && !exists)
        st = ferry_error_hook(err, FERRY_ERR_NOT_FOUND, "s3", id,
                              "DeleteObject s3://%s/%s failed: no such key", bucket, key);
    if (st == FERRY_OK) {
        s3_req r;
        memset(&r, 0, sizeof r);
        r.op = "DeleteObject";
        r.method = "DELETE";
        r.bucket = bucket;
        r.key = key;
        st = s3_request(c, &x, &r, err);
    }
out:
    s3_xfer_release(&x);
    s3_client_free(c);
    free(bucket);
    free(key);
    return st;
}

/* A bucket the connection names, for `conn test` without ListBuckets rights. */
static const char *conn_bucket(const ferry_conn *conn)
{
    if (!conn)
        return NULL;
    const char *b = ferry_conn_extra(conn, "bucket_name");
    if (b && *b)
        return b;
    if (conn->schema && *conn->schema)
        return conn->schema;
    return NULL;
}

static ferry_status s3_test(const ferry_conn *conn, char *info, size_t cap, ferry_error *err)
{
    s3_client *c = NULL;
    ferry_status st = s3_client_new(conn, NULL, &c, err);
    if (st != FERRY_OK)
        return st;
    char owner[256] = "";
    size_t nb = 0;
    st = s3_list_buckets(c, owner, sizeof owner, &nb, err);
    if (st == FERRY_OK) {
        snprintf(info, cap, "s3 endpoint %s region %s as %s (%zu bucket%s; credentials from %s)",
                 c->cfg.endpoint, c->cfg.region, owner[0] ? owner : c->cfg.access_key, nb,
                 nb == 1 ? "" : "s", c->cfg.cred_source);
    } else if (st == FERRY_ERR_CONNECT && strstr(err->msg, "AccessDenied") && conn_bucket(conn)) {
        const char *bucket = conn_bucket(conn);
        s3_xfer x;
        int exists = 0;
        st = s3_xfer_init(&x, err);
        if (st == FERRY_OK)
            st = s3_head_object(c, &x, bucket, "", &exists, err);
        if (st == FERRY_OK && !exists)
            st = ferry_error_hook(err, FERRY_ERR_NOT_FOUND, "s3", c->cfg.conn_id,
                                  "HeadBucket s3://%s failed: the bucket does not exist", bucket);
        if (st == FERRY_OK)
            snprintf(info, cap, "s3 endpoint %s region %s: bucket %s reachable (credentials from %s)",
                     c->cfg.endpoint, c->cfg.region, bucket, c->cfg.cred_source);
        s3_xfer_release(&x);
    }
    s3_client_free(c);
    return st;
}

static const char *const s3_conn_types[] = {"aws", NULL};

const ferry_hook ferry_hook_s3 = {
    .name = "s3",
    .conn_types = s3_conn_types,
    .open_source = s3_open_source,
    .open_sink = s3_open_sink,
    .open_ranged_sink = s3_open_ranged_sink,
    .stat = s3_stat,
    .list = s3_list,
    .remove = s3_remove,
    .exec = NULL,
    .test = s3_test,
};
