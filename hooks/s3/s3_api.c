/*
 * hooks/s3/s3_api.c - the public S3-only calls of include/ferry/s3.h:
 * endpoint text in, one of the operations of s3_ops.c / s3_list.c (or the
 * SigV4 presigner) out.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "ferry/s3.h"
#include "hooks/s3/s3_attrs.h"
#include "hooks/s3/s3_internal.h"
#include "hooks/s3/s3_ssec.h"

/* Everything an API call needs: the parsed endpoint, bucket/key, a client. */
typedef struct api_target {
    ferry_endpoint *ep;
    char *bucket;
    char *key;
    ferry_s3_client *c;
} api_target;

static void target_release(api_target *t)
{
    ferry_s3_client_free(t->c);
    free(t->bucket);
    free(t->key);
    if (t->ep)
        ferry_endpoint_free(t->ep);
    memset(t, 0, sizeof *t);
}

static ferry_status target_open(const char *endpoint, const ferry_copy_options *o, int need_key,
                                int want_client, api_target *t, ferry_error *err)
{
    memset(t, 0, sizeof *t);
    if (!endpoint)
        return ferry_error_set(err, FERRY_ERR_USAGE, "s3: no endpoint given");
    ferry_status st = ferry_endpoint_parse(endpoint, o, 0, &t->ep, err);
    if (st != FERRY_OK)
        return st;
    int is_s3 = t->ep->kind == FERRY_EP_S3 || t->ep->hook == &ferry_hook_s3 ||
                (t->ep->conn && t->ep->conn->type && strcmp(t->ep->conn->type, "aws") == 0);
    if (!is_s3) {
        target_release(t);
        return ferry_error_set(err, FERRY_ERR_USAGE, "s3: '%s' is not an s3:// endpoint",
                               endpoint);
    }
    const char *id = ferry_s3_conn_id(t->ep->conn);
    st = ferry_s3_split_path(t->ep->path, id, &t->bucket, &t->key, err);
    if (st == FERRY_OK && need_key && !t->key[0])
        st = ferry_error_hook(err, FERRY_ERR_USAGE, "s3", id, "s3://%s: a key is needed",
                              t->bucket);
    if (st == FERRY_OK && want_client)
        st = ferry_s3_client_new(t->ep->conn, o, &t->c, err);
    if (st != FERRY_OK)
        target_release(t);
    return st;
}

ferry_status ferry_s3_presign(const char *endpoint, const char *method, long expires_seconds,
                              const ferry_copy_options *o, char **out_url, ferry_error *err)
{
    *out_url = NULL;
    if (!method || (strcmp(method, "GET") && strcmp(method, "PUT") && strcmp(method, "HEAD") &&
                    strcmp(method, "DELETE")))
        return ferry_error_set(err, FERRY_ERR_USAGE,
                               "s3: presign method must be GET, PUT, HEAD or DELETE");
    if (expires_seconds < 1 || expires_seconds > 604800)
        return ferry_error_set(err, FERRY_ERR_USAGE,
                               "s3: presigned URLs last 1 to 604800 seconds (7 days)");
    api_target t;
    ferry_status st = target_open(endpoint, o, 1, 0, &t, err);
    if (st != FERRY_OK)
        return st;
    ferry_s3_config cfg;
    st = ferry_s3_config_load(t.ep->conn, &cfg, err);
    if (st != FERRY_OK) {
        target_release(&t);
        return st;
    }
    ferry_buf host = {0}, path = {0};
    /* the bucket's region when a redirect taught it during this run */
    char region[FERRY_S3_REGION_MAX];
    if (!ferry_s3_region_peek(cfg.custom_endpoint ? cfg.host : "", t.bucket, region, sizeof region))
        snprintf(region, sizeof region, "%s", cfg.region);
    if ((st = ferry_s3_address(&cfg, region, t.bucket, t.key, &host, &path, err)) != FERRY_OK) {
        ;
    } else {
        ferry_sigv4_credentials creds = {cfg.access_key, cfg.secret_key, cfg.session_token};
        ferry_sigv4_request req;
        memset(&req, 0, sizeof req);
        req.method = method;
        req.host = host.data;
        req.path = path.data;
        req.region = ferry_s3_signing_region(region);
        req.service = "s3";
        req.when = time(NULL);
        st = ferry_sigv4_presign_url(&creds, &req, cfg.https ? "https" : "http", expires_seconds,
                                     out_url, NULL, err);
        if (st != FERRY_OK)
            ferry_error_prefix(err, "s3(%s): presign s3://%s/%s", cfg.conn_id, t.bucket, t.key);
    }
    ferry_buf_release(&host);
    ferry_buf_release(&path);
    ferry_s3_config_release(&cfg);
    target_release(&t);
    return st;
}

ferry_status ferry_s3_create_bucket(const char *endpoint, const ferry_copy_options *o,
                                    ferry_error *err)
{
    api_target t;
    ferry_status st = target_open(endpoint, o, 0, 1, &t, err);
    if (st != FERRY_OK)
        return st;
    st = ferry_s3_client_create_bucket(t.c, t.bucket, err);
    target_release(&t);
    return st;
}

typedef struct uploads_ctx {
    ferry_s3_upload_fn fn;
    void *ud;
    size_t n;
} uploads_ctx;

static ferry_status upload_one(void *ud, const char *key, const char *upload_id, int64_t initiated,
                               ferry_error *err)
{
    uploads_ctx *u = ud;
    u->n++;
    if (!u->fn)
        return FERRY_OK;
    ferry_s3_upload up = {key, upload_id, initiated};
    return u->fn(&up, u->ud, err);
}

ferry_status ferry_s3_list_uploads(const char *endpoint, const ferry_copy_options *o,
                                   ferry_s3_upload_fn fn, void *ud, size_t *count,
                                   ferry_error *err)
{
    if (count)
        *count = 0;
    api_target t;
    ferry_status st = target_open(endpoint, o, 0, 1, &t, err);
    if (st != FERRY_OK)
        return st;
    uploads_ctx u = {fn, ud, 0};
    st = ferry_s3_client_list_uploads(t.c, t.bucket, t.key, upload_one, &u, err);
    if (count)
        *count = u.n;
    target_release(&t);
    return st;
}

ferry_status ferry_s3_abort_upload(const char *endpoint, const char *upload_id,
                                   const ferry_copy_options *o, ferry_error *err)
{
    if (!upload_id || !*upload_id)
        return ferry_error_set(err, FERRY_ERR_USAGE, "s3: no upload id given");
    api_target t;
    ferry_status st = target_open(endpoint, o, 1, 1, &t, err);
    if (st != FERRY_OK)
        return st;
    ferry_s3_xfer x;
    st = ferry_s3_xfer_init(&x, err);
    if (st == FERRY_OK)
        st = ferry_s3_client_abort_upload(t.c, &x, t.bucket, t.key, upload_id, err);
    ferry_s3_xfer_release(&x);
    target_release(&t);
    return st;
}

/* Above this size a server-side copy is multipart (UploadPartCopy): 5 GiB,
 * CopyObject's limit; FERRY_S3_COPY_THRESHOLD=BYTES lowers it (tests). */
static uint64_t copy_threshold(void)
{
    const char *v = getenv("FERRY_S3_COPY_THRESHOLD");
    if (v && *v) {
        char *end = NULL;
        unsigned long long n = strtoull(v, &end, 10);
        if (end && *end == '\0' && n < (uint64_t)S3_MAX_PART_SIZE)
            return (uint64_t)n;
    }
    return (uint64_t)S3_MAX_PART_SIZE;
}

ferry_status ferry_s3_copy(const char *src, const char *dst, const ferry_copy_options *o,
                           ferry_error *err)
{
    int refused = 0;
    return ferry_s3_copy_ssec(src, dst, o, &refused, err);
}

ferry_status ferry_s3_copy_ssec(const char *src, const char *dst, const ferry_copy_options *o, int *refused,
                                ferry_error *err)
{
    *refused = 0;
    api_target s, d;
    ferry_status st = target_open(src, o, 1, 1, &s, err);
    if (st != FERRY_OK)
        return st;
    st = target_open(dst, o, 1, 1, &d, err);
    if (st != FERRY_OK) {
        target_release(&s);
        return st;
    }
    /* the source object is read with the key its own side has (s3_ssec.h) */
    ferry_s3_ssec_for_reading(s.c->ssec);
    st = ferry_s3_ssec_take_source(&d.c->ssec, s.c->ssec, err);
    if (st != FERRY_OK)
        ;
    else if (strcmp(s.c->cfg.endpoint, d.c->cfg.endpoint) != 0)
        st = ferry_error_set(err, FERRY_ERR_USAGE,
                             "s3: server-side copy needs both objects on one endpoint (%s, %s)",
                             s.c->cfg.endpoint, d.c->cfg.endpoint);
    else {
        ferry_s3_put_attrs attrs;
        st = ferry_s3_put_attrs_load(&attrs, o, d.ep->conn, d.key, err);
        if (st == FERRY_OK) {
            st = ferry_s3_copy_object(d.c, s.bucket, s.key, d.bucket, d.key, o && o->replace, &attrs,
                                      copy_threshold(), 512 * S3_MIB, err);
            ferry_s3_put_attrs_release(&attrs);
        }
    }
    *refused = st != FERRY_OK && d.c && d.c->ssec && d.c->ssec->copy_refused;
    target_release(&s);
    target_release(&d);
    return st;
}

ferry_status ferry_s3_delete_objects(const char *bucket_endpoint, const char *const *keys,
                                     size_t n, const ferry_copy_options *o, size_t *deleted,
                                     ferry_error *err)
{
    if (deleted)
        *deleted = 0;
    api_target t;
    ferry_status st = target_open(bucket_endpoint, o, 0, 1, &t, err);
    if (st != FERRY_OK)
        return st;
    st = ferry_s3_client_delete_objects(t.c, t.bucket, keys, n, deleted, err);
    target_release(&t);
    return st;
}

/* Keys collected for one DeleteObjects batch: an arena, no malloc per key. */
typedef struct remove_ctx {
    ferry_s3_client *c;
    const char *bucket;
    ferry_buf names;
    size_t offs[S3_DELETE_BATCH];
    size_t n;
    size_t deleted;
} remove_ctx;

static ferry_status remove_flush(remove_ctx *r, ferry_error *err)
{
    if (r->n == 0)
        return FERRY_OK;
    const char *keys[S3_DELETE_BATCH];
    for (size_t i = 0; i < r->n; i++)
        keys[i] = r->names.data + r->offs[i];
    size_t done = 0;
    ferry_status st = ferry_s3_client_delete_objects(r->c, r->bucket, keys, r->n, &done, err);
    r->deleted += done;
    r->n = 0;
    ferry_buf_reset(&r->names);
    return st;
}

static ferry_status remove_one(void *ud, const char *key, const ferry_s3_page_entry *e, ferry_error *err)
{
    remove_ctx *r = ud;
    if (e->is_prefix)
        return FERRY_OK;
    r->offs[r->n++] = r->names.len;
    if (ferry_buf_append(&r->names, key, strlen(key) + 1) != 0)
        return ferry_error_oom(err, "s3", NULL, NULL);
    return r->n == S3_DELETE_BATCH ? remove_flush(r, err) : FERRY_OK;
}

ferry_status ferry_s3_remove_prefix(const char *endpoint, const ferry_copy_options *o,
                                    size_t *deleted, ferry_error *err)
{
    if (deleted)
        *deleted = 0;
    api_target t;
    ferry_status st = target_open(endpoint, o, 0, 1, &t, err);
    if (st != FERRY_OK)
        return st;
    remove_ctx *r = calloc(1, sizeof *r);
    if (!r) {
        target_release(&t);
        return ferry_error_oom(err, "s3", NULL, NULL);
    }
    r->c = t.c;
    r->bucket = t.bucket;
    st = ferry_s3_list_objects(t.c, t.bucket, t.key, NULL, remove_one, r, err);
    if (st == FERRY_OK)
        st = remove_flush(r, err);
    if (deleted)
        *deleted = r->deleted;
    ferry_buf_release(&r->names);
    free(r);
    target_release(&t);
    return st;
}
