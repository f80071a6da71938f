/*
 * remove.c - ferry_remove: delete one key or file, or every file a glob, a
 * prefix or a directory names; --dry-run reports and touches nothing.
 * Several S3 keys go in DeleteObjects batches of up to 1000 keys (Airflow's
 * S3DeleteObjectsOperator) instead of one DELETE per key.
 */
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "ferry/operators.h"
#include "ferry/s3.h"
#include "ferry/transfer.h"

#define S3_BATCH 1000

typedef struct name_list {
    char **names;
    size_t n, cap;
} name_list;

static ferry_status collect_name(const ferry_entry *e, void *ud, ferry_error *err)
{
    name_list *l = ud;
    if (e->is_dir)
        return FERRY_OK;
    if (l->n == l->cap) {
        size_t ncap = l->cap ? l->cap * 2 : 64;
        char **nn = realloc(l->names, ncap * sizeof *nn);
        if (!nn)
            return ferry_error_oom(err, NULL, NULL, NULL);
        l->names = nn;
        l->cap = ncap;
    }
    if (!(l->names[l->n] = strdup(e->name)))
        return ferry_error_oom(err, NULL, NULL, NULL);
    l->n++;
    return FERRY_OK;
}

/* The text before the listed names: "s3://b/p/<glob>" -> "s3://b/p/". */
static char *base_of(const char *endpoint)
{
    size_t n = strlen(endpoint);
    const char *slash = strrchr(endpoint, '/');
    size_t keep = n;
    if (slash && strpbrk(slash + 1, "*?["))
        keep = (size_t)(slash - endpoint) + 1;
    char *out = malloc(keep + 2);
    if (!out)
        return NULL;
    memcpy(out, endpoint, keep);
    if (keep > 0 && out[keep - 1] != '/' && out[keep - 1] != ':')
        out[keep++] = '/';
    out[keep] = '\0';
    return out;
}

static ferry_status remove_one(const char *endpoint, ferry_error *err)
{
    ferry_endpoint *ep = NULL;
    ferry_status st = ferry_endpoint_parse(endpoint, NULL, 0, &ep, err);
    if (st != FERRY_OK)
        return st;
    if (!ep->hook->remove)
        st = ferry_error_set(err, FERRY_ERR_USAGE, "%s endpoints cannot be deleted", ep->hook->name);
    else
        st = ep->hook->remove(ep, err);
    ferry_endpoint_free(ep);
    return st;
}

/* "s3://b/p/" -> 1, *bucket_ep "s3://b" and *key_off the offset of "p/" in
 * base; "aws_conn:b/p/" likewise.  0 when base is no S3 endpoint (or names no
 * bucket); -1 out of memory. */
static int s3_base_split(const char *base, char **bucket_ep, size_t *key_off)
{
    *bucket_ep = NULL;
    ferry_endpoint *ep = NULL;
    ferry_error e;
    ferry_error_clear(&e);
    if (ferry_endpoint_parse(base, NULL, 0, &ep, &e) != FERRY_OK)
        return 0;
    int is_s3 = ep->hook == &ferry_hook_s3;
    ferry_endpoint_free(ep);
    if (!is_s3)
        return 0;
    /* the bucket starts after "s3://" or after "CONN_ID:"; keys are byte for
     * byte, so the text after the bucket's '/' is the key prefix */
    const char *b = strncmp(base, "s3://", 5) == 0 ? base + 5 : strchr(base, ':');
    if (!b)
        return 0;
    if (*b == ':')
        b++;
    const char *slash = strchr(b, '/');
    if (!slash || slash == b)
        return 0;
    size_t n = (size_t)(slash - base);
    char *out = malloc(n + 1);
    if (!out)
        return -1;
    memcpy(out, base, n);
    out[n] = '\0';
    *bucket_ep = out;
    *key_off = n + 1;
    return 1;
}

static char *join(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    char *full = malloc(la + lb + 1);
    if (full) {
        memcpy(full, a, la);
        memcpy(full + la, b, lb + 1);
    }
    return full;
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

typedef struct s3_batch {
    const char *bucket_ep;
    size_t key_off;
    int dry_run;
    const char *keys[S3_BATCH];
    char *fulls[S3_BATCH];
    size_t n;
} s3_batch;

static ferry_status batch_flush(s3_batch *bt, long *n_removed, ferry_error *err)
{
    ferry_status st = FERRY_OK;
    if (bt->n == 0)
        return st;
    if (bt->dry_run) {
        *n_removed += (long)bt->n;
    } else {
        size_t deleted = 0;
        st = ferry_s3_delete_objects(bt->bucket_ep, bt->keys, bt->n, NULL, &deleted, err);
        *n_removed += (long)deleted;
    }
    for (size_t i = 0; i < bt->n; i++)
        free(bt->fulls[i]);
    bt->n = 0;
    return st;
}

/* The listed names under base, in DeleteObjects batches of up to 1000 keys:
 * fn for each entry of a batch, then one request for it; a signal is
 * honoured between requests. */
static ferry_status remove_s3_batches(const char *base, const char *bucket_ep, size_t key_off,
                                      const name_list *names, int dry_run,
                                      void (*fn)(const char *endpoint, void *ud), void *ud,
                                      long *n_removed, ferry_error *err)
{
    s3_batch *bt = calloc(1, sizeof *bt);
    if (!bt)
        return ferry_error_oom(err, NULL, NULL, NULL);
    bt->bucket_ep = bucket_ep;
    bt->key_off = key_off;
    bt->dry_run = dry_run;
    ferry_status st = FERRY_OK;
    for (size_t i = 0; st == FERRY_OK && i < names->n; i++) {
        char *full = join(base, names->names[i]);
        if (!full) {
            st = ferry_error_oom(err, NULL, NULL, NULL);
            break;
        }
        if (fn)
            fn(full, ud);
        if (xml_unsafe(full + key_off)) {
            if (ferry_cancelled())
                st = ferry_error_set(err, FERRY_ERR_INTERRUPTED, "interrupted after %ld deletions", *n_removed);
            else if (!dry_run)
                st = remove_one(full, err);
            if (st == FERRY_OK)
                (*n_removed)++;
            free(full);
            continue;
        }
        bt->fulls[bt->n] = full;
        bt->keys[bt->n++] = full + key_off;
        if (bt->n == S3_BATCH) {
            if (ferry_cancelled())
                st = ferry_error_set(err, FERRY_ERR_INTERRUPTED, "interrupted after %ld deletions", *n_removed);
            else
                st = batch_flush(bt, n_removed, err);
        }
    }
    if (st == FERRY_OK && bt->n > 0 && ferry_cancelled())
        st = ferry_error_set(err, FERRY_ERR_INTERRUPTED, "interrupted after %ld deletions", *n_removed);
    if (st == FERRY_OK)
        st = batch_flush(bt, n_removed, err);
    for (size_t i = 0; i < bt->n; i++) /* what an error left unsent */
        free(bt->fulls[i]);
    free(bt);
    return st;
}

ferry_status ferry_remove(const char *endpoint, int recursive, int dry_run,
                          void (*fn)(const char *endpoint, void *ud), void *ud, long *n_removed,
                          ferry_error *err)
{
    *n_removed = 0;
    ferry_copy_options o;
    ferry_copy_options_init(&o);
    o.recursive = recursive;
    if (!ferry_copy_is_many(endpoint, &o)) {
        if (fn)
            fn(endpoint, ud);
        if (dry_run) {
            ferry_endpoint *ep = NULL;
            ferry_status st = ferry_endpoint_parse(endpoint, NULL, 0, &ep, err);
            ferry_entry e;
            if (st == FERRY_OK && ep->hook->stat)
                st = ep->hook->stat(ep, &e, err);
            ferry_endpoint_free(ep);
            if (st == FERRY_OK)
                *n_removed = 1;
            return st;
        }
        ferry_status st = remove_one(endpoint, err);
        if (st == FERRY_OK)
            *n_removed = 1;
        return st;
    }
    name_list names = {0};
    ferry_status st = ferry_list(endpoint, recursive, collect_name, &names, err);
    char *base = st == FERRY_OK ? base_of(endpoint) : NULL;
    if (st == FERRY_OK && !base)
        st = ferry_error_oom(err, NULL, NULL, NULL);
    char *bucket_ep = NULL;
    size_t key_off = 0;
    int s3 = 0;
    if (st == FERRY_OK && names.n > 1 && (s3 = s3_base_split(base, &bucket_ep, &key_off)) < 0)
        st = ferry_error_oom(err, NULL, NULL, NULL);
    if (st == FERRY_OK && s3 > 0)
        st = remove_s3_batches(base, bucket_ep, key_off, &names, dry_run, fn, ud, n_removed, err);
    for (size_t i = 0; st == FERRY_OK && s3 <= 0 && i < names.n; i++) {
        if (ferry_cancelled()) {
            st = ferry_error_set(err, FERRY_ERR_INTERRUPTED, "interrupted after %ld deletions", *n_removed);
            break;
        }
        char *full = join(base, names.names[i]);
        if (!full) {
            st = ferry_error_oom(err, NULL, NULL, NULL);
            break;
        }
        if (fn)
            fn(full, ud);
        if (!dry_run)
            st = remove_one(full, err);
        if (st == FERRY_OK)
            (*n_removed)++;
        free(full);
    }
    for (size_t i = 0; i < names.n; i++)
        free(names.names[i]);
    free(names.names);
    free(bucket_ep);
    free(base);
    return st;
}
