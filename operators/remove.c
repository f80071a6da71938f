/*
 * remove.c - ferry_remove: delete one key or file, or every file a glob, a
 * prefix or a directory names; --dry-run reports and touches nothing.
 * Several entries of a hook with a remove_batch slot go in batches (S3:
 * DeleteObjects of up to 1000 keys, Airflow's S3DeleteObjectsOperator)
 * instead of one remove per entry.
 */
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "ferry/operators.h"
#include "ferry/transfer.h"

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

/* The listed names under base through the hook's remove_batch (dir is base
 * parsed), FERRY_HOOK_REMOVE_BATCH_MAX at a time: fn for each entry of a
 * batch, then one call for it; a signal is honoured between calls. */
static ferry_status remove_batches(const char *base, const ferry_endpoint *dir, const name_list *names, int dry_run,
                                   void (*fn)(const char *endpoint, void *ud), void *ud, long *n_removed,
                                   ferry_error *err)
{
    ferry_status st = FERRY_OK;
    for (size_t i = 0; st == FERRY_OK && i < names->n; i += FERRY_HOOK_REMOVE_BATCH_MAX) {
        size_t n = names->n - i < FERRY_HOOK_REMOVE_BATCH_MAX ? names->n - i : FERRY_HOOK_REMOVE_BATCH_MAX;
        for (size_t k = 0; fn && k < n; k++) {
            char *full = join(base, names->names[i + k]);
            if (!full)
                return ferry_error_oom(err, NULL, NULL, NULL);
            fn(full, ud);
            free(full);
        }
        if (ferry_cancelled())
            return ferry_error_set(err, FERRY_ERR_INTERRUPTED, "interrupted after %ld deletions", *n_removed);
        if (dry_run) {
            *n_removed += (long)n;
            continue;
        }
        size_t removed = 0;
        st = dir->hook->remove_batch(dir, (const char *const *)names->names + i, n, &removed, err);
        *n_removed += (long)removed;
    }
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
    /* several entries of a hook that removes in batches (S3 DeleteObjects) */
    ferry_endpoint *dir = NULL;
    if (st == FERRY_OK && names.n > 1) {
        ferry_error e;
        ferry_error_clear(&e);
        if (ferry_endpoint_parse(base, NULL, 0, &dir, &e) == FERRY_OK && !FERRY_HOOK_SLOT(dir->hook, remove_batch)) {
            ferry_endpoint_free(dir);
            dir = NULL;
        }
    }
    if (dir)
        st = remove_batches(base, dir, &names, dry_run, fn, ud, n_removed, err);
    for (size_t i = 0; st == FERRY_OK && !dir && i < names.n; i++) {
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
    ferry_endpoint_free(dir);
    free(base);
    return st;
}
