/*
 * hooks/s3/s3.c - the S3 hook table (const ferry_hook ferry_hook_s3) and its
 * small operations: stat (HeadObject / HeadBucket), list (ListObjectsV2,
 * recursive or by '/'), remove (DeleteObject), test (ListBuckets, or
 * HeadBucket when listing buckets is not allowed), and the optional slots
 * server_copy (CopyObject), remove_batch (DeleteObjects) and memory (parts in
 * flight, for --max-memory).  Reading and writing
 * objects live in s3_source.c and s3_sink.c (s3_parallel.c for ranges).
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
#include "hooks/s3/s3_ssec.h"

/* stat with the copy options' SSE-C keys (o may be NULL: the connection's);
 * the object is HEADed as a copy's source (s3_ssec.h). */
static ferry_status stat_with(const ferry_endpoint *ep, const ferry_copy_options *o, ferry_entry *out,
                              ferry_error *err)
{
    const char *id = ferry_s3_conn_id(ep->conn);
    char *bucket = NULL, *key = NULL;
    ferry_s3_client *c = NULL;
    ferry_s3_xfer x;
    memset(&x, 0, sizeof x);
    memset(out, 0, sizeof *out);
    ferry_status st = ferry_s3_split_path(ep->path, id, &bucket, &key, err);
    if (st == FERRY_OK)
        st = ferry_s3_client_new(ep->conn, o, &c, err);
    if (st == FERRY_OK) {
        ferry_s3_ssec_for_reading(c->ssec);
        st = ferry_s3_xfer_init(&x, err);
    }
    if (st != FERRY_OK)
        goto out;
    int exists = 0;
    int is_bucket = key[0] == '\0';
    st = ferry_s3_head_object(c, &x, bucket, key, &exists, err);
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
    ferry_s3_xfer_release(&x);
    ferry_s3_client_free(c);
    free(bucket);
    free(key);
    return st;
}

static ferry_status s3_stat(const ferry_endpoint *ep, ferry_entry *out, ferry_error *err)
{
    return stat_with(ep, NULL, out, err);
}

typedef struct list_ctx {
    ferry_entry_fn fn;
    void *ud;
    size_t prefix_len;      /* names are relative to the listed prefix */
    const char *pattern;    /* glob of the last path segment, or NULL */
    ferry_buf name;            /* reused */
} list_ctx;

static ferry_status list_one(void *ud, const char *key, const ferry_s3_page_entry *e, ferry_error *err)
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
    const char *id = ferry_s3_conn_id(ep->conn);
    char *bucket = NULL, *key = NULL;
    ferry_s3_client *c = NULL;
    ferry_buf prefix = {0};
    list_ctx l;
    memset(&l, 0, sizeof l);
    ferry_status st = ferry_s3_split_path(ep->path, id, &bucket, &key, err);
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
        st = ferry_s3_client_new(ep->conn, NULL, &c, err);
    if (st == FERRY_OK) {
        l.fn = fn;
        l.ud = ud;
        l.prefix_len = prefix.len;
        st = ferry_s3_list_objects(c, bucket, prefix.data ? prefix.data : "", recursive ? NULL : "/",
                                   list_one, &l, err);
    }
out:
    ferry_buf_release(&l.name);
    ferry_buf_release(&prefix);
    ferry_s3_client_free(c);
    free(bucket);
    free(key);
    return st;
}

/* DeleteObject of one key, HEAD first: S3 answers 204 for absent keys too,
 * and an absent key is reported "not found". */
static ferry_status remove_key(ferry_s3_client *c, const char *id, const char *bucket, const char *key,
                               ferry_error *err)
{
    ferry_s3_xfer x;
    memset(&x, 0, sizeof x);
    ferry_status st = ferry_s3_xfer_init(&x, err);
    int exists = 0;
    if (st == FERRY_OK)
        st = ferry_s3_head_object(c, &x, bucket, key, &exists, err);
    if (st == FERRY_OK && !exists)
        st = ferry_error_hook(err, FERRY_ERR_NOT_FOUND, "s3", id,
                              "DeleteObject s3://%s/%s failed: no such key", bucket, key);
    if (st == FERRY_OK) {
        ferry_s3_req r;
        memset(&r, 0, sizeof r);
        r.op = "DeleteObject";
        r.method = "DELETE";
        r.bucket = bucket;
        r.key = key;
        st = ferry_s3_request(c, &x, &r, err);
    }
    ferry_s3_xfer_release(&x);
    return st;
}

static ferry_status s3_remove(const ferry_endpoint *ep, ferry_error *err)
{
    const char *id = ferry_s3_conn_id(ep->conn);
    char *bucket = NULL, *key = NULL;
    ferry_s3_client *c = NULL;
    ferry_status st = ferry_s3_split_path(ep->path, id, &bucket, &key, err);
    if (st == FERRY_OK && !key[0])
        st = ferry_error_hook(err, FERRY_ERR_USAGE, "s3", id,
                              "s3://%s: remove needs a key (buckets are not removed)", bucket);
    if (st == FERRY_OK)
        st = ferry_s3_client_new(ep->conn, NULL, &c, err);
    if (st == FERRY_OK)
        st = remove_key(c, id, bucket, key, err);
    ferry_s3_client_free(c);
    free(bucket);
    free(key);
    return st;
}

/* DeleteObjects names keys in XML, which cannot carry control characters
 * other than TAB, LF and CR; such a key is deleted on its own. */
static int xml_unsafe(const char *key)
{
    for (const unsigned char *p = (const unsigned char *)key; *p; p++)
        if (*p < 0x20 && *p != '\t' && *p != '\n' && *p != '\r')
            return 1;
    return 0;
}

/* remove_batch slot: the keys dir/names[i] of one bucket in one DeleteObjects
 * request (Airflow's S3DeleteObjectsOperator); keys XML cannot carry go one
 * DeleteObject each. */
static ferry_status s3_remove_batch(const ferry_endpoint *dir, const char *const *names, size_t n, size_t *removed,
                                    ferry_error *err)
{
    *removed = 0;
    if (n > S3_DELETE_BATCH)
        return ferry_error_set(err, FERRY_ERR_INTERNAL, "s3: %zu keys in one DeleteObjects (at most %d)", n,
                               S3_DELETE_BATCH);
    const char *id = ferry_s3_conn_id(dir->conn);
    char *bucket = NULL, *prefix = NULL;
    ferry_s3_client *c = NULL;
    ferry_buf arena = {0};
    size_t offs[S3_DELETE_BATCH];
    const char *keys[S3_DELETE_BATCH];
    size_t m = 0;
    ferry_status st = ferry_s3_split_path(dir->path, id, &bucket, &prefix, err);
    if (st == FERRY_OK)
        st = ferry_s3_client_new(dir->conn, NULL, &c, err);
    for (size_t i = 0; st == FERRY_OK && i < n; i++) {
        size_t at = arena.len;
        if (ferry_buf_append(&arena, prefix, strlen(prefix)) != 0 ||
            ferry_buf_append(&arena, names[i], strlen(names[i]) + 1) != 0) {
            st = ferry_error_oom(err, "s3", NULL, NULL);
            break;
        }
        if (xml_unsafe(arena.data + at)) {
            st = remove_key(c, id, bucket, arena.data + at, err);
            if (st == FERRY_OK)
                (*removed)++;
            arena.len = at;
            continue;
        }
        offs[m++] = at;
    }
    if (st == FERRY_OK && m > 0) {
        for (size_t i = 0; i < m; i++)
            keys[i] = arena.data + offs[i];
        size_t deleted = 0;
        st = ferry_s3_client_delete_objects(c, bucket, keys, m, &deleted, err);
        *removed += deleted;
    }
    ferry_buf_release(&arena);
    ferry_s3_client_free(c);
    free(bucket);
    free(prefix);
    return st;
}

/* server_copy slot: S3 -> S3 on one connection, bytes unchanged:
 * CopyObject, never a download. */
static ferry_status s3_server_copy(const ferry_endpoint *src, const ferry_endpoint *dst, const ferry_copy_options *o,
                                   int *copied, int64_t *bytes, ferry_error *err)
{
    *copied = 0;
    *bytes = -1;
    if (dst->hook != &ferry_hook_s3 || strcmp(ferry_endpoint_conn_id(src), ferry_endpoint_conn_id(dst)) != 0)
        return FERRY_OK;
    ferry_entry e;
    ferry_status st = stat_with(src, o, &e, err);
    if (st != FERRY_OK)
        return st;
    ferry_log(FERRY_LOG_INFO, "copy: server-side CopyObject %s -> %s", src->text, dst->text);
    *copied = 1;
    int refused = 0;
    st = ferry_s3_copy_ssec(src->text, dst->text, o, &refused, err);
    if (refused) {
        /* 501 to a copy with SSE-C keys (radosgw 16): nothing was created; stream it */
        ferry_log(FERRY_LOG_INFO, "copy: the server does not implement server-side copies with SSE-C "
                                  "keys; copying through ferry");
        ferry_error_clear(err);
        *copied = 0;
        return FERRY_OK;
    }
    if (st == FERRY_OK)
        *bytes = e.size;
    return st;
}

/* memory slot: the sink holds concurrency x part size in flight. */
static size_t s3_memory(const ferry_endpoint *ep, int is_sink, const ferry_copy_options *o, size_t *parts,
                        size_t *min_part)
{
    (void)ep;
    if (is_sink) {
        size_t part = o->s3_part_size ? o->s3_part_size : S3_DEFAULT_PART_SIZE;
        int conc = o->s3_concurrency > 0 ? o->s3_concurrency : S3_DEFAULT_CONCURRENCY;
        *parts = (size_t)conc * part;
        if (o->source_size >= 0 && (uint64_t)o->source_size <= part)
            *parts = (size_t)o->source_size;   /* one PutObject of the known size */
        *min_part = S3_MIN_PART_SIZE;
    }
    return 0;
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
    ferry_s3_client *c = NULL;
    ferry_status st = ferry_s3_client_new(conn, NULL, &c, err);
    if (st != FERRY_OK)
        return st;
    char owner[256] = "";
    size_t nb = 0;
    char code[64] = "";
    st = ferry_s3_list_buckets(c, owner, sizeof owner, &nb, code, sizeof code, err);
    if (st == FERRY_OK) {
        snprintf(info, cap, "s3 endpoint %s region %s as %s (%zu bucket%s; credentials from %s)",
                 c->cfg.endpoint, c->cfg.region, owner[0] ? owner : c->cfg.access_key, nb,
                 nb == 1 ? "" : "s", c->cfg.cred_source);
    } else if (st == FERRY_ERR_CONNECT && strcmp(code, "AccessDenied") == 0 && conn_bucket(conn)) {
        const char *bucket = conn_bucket(conn);
        ferry_s3_xfer x;
        int exists = 0;
        st = ferry_s3_xfer_init(&x, err);
        if (st == FERRY_OK)
            st = ferry_s3_head_object(c, &x, bucket, "", &exists, err);
        if (st == FERRY_OK && !exists)
            st = ferry_error_hook(err, FERRY_ERR_NOT_FOUND, "s3", c->cfg.conn_id,
                                  "HeadBucket s3://%s failed: the bucket does not exist", bucket);
        if (st == FERRY_OK)
            snprintf(info, cap, "s3 endpoint %s region %s: bucket %s reachable (credentials from %s)",
                     c->cfg.endpoint, c->cfg.region, bucket, c->cfg.cred_source);
        ferry_s3_xfer_release(&x);
    }
    if (st != FERRY_OK) {
        /* which identity was refused: the credential source (never a secret) */
        size_t n = strlen(err->msg);
        snprintf(err->msg + n, sizeof err->msg - n, " (credentials from %s)", c->cfg.cred_source);
    }
    ferry_s3_client_free(c);
    return st;
}

static const char *const s3_conn_types[] = {"aws", NULL};

const ferry_hook ferry_hook_s3 = {
    FERRY_HOOK_INIT,
    .flags = FERRY_HOOK_FLAT_KEYS | FERRY_HOOK_RESUME,
    .name = "s3",
    .conn_types = s3_conn_types,
    .open_source = ferry_s3_open_source,
    .open_sink = ferry_s3_open_sink,
    .open_ranged_sink = ferry_s3_open_ranged_sink,
    .stat = s3_stat,
    .list = s3_list,
    .remove = s3_remove,
    .exec = NULL,
    .test = s3_test,
    .server_copy = s3_server_copy,
    .remove_batch = s3_remove_batch,
    .memory = s3_memory,
};
