/*
 * remove.c - ferry_remove: delete one key or file, or every file a glob, a
 * prefix or a directory names; --dry-run reports and touches nothing.
 */
#include <stdlib.h>
#include <string.h>

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
            return ferry_error_set(err, FERRY_ERR_INTERNAL, "out of memory");
        l->names = nn;
        l->cap = ncap;
    }
    if (!(l->names[l->n] = strdup(e->name)))
        return ferry_error_set(err, FERRY_ERR_INTERNAL, "out of memory");
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
        st = ferry_error_set(err, FERRY_ERR_INTERNAL, "out of memory");
    for (size_t i = 0; st == FERRY_OK && i < names.n; i++) {
        if (ferry_cancelled()) {
            st = ferry_error_set(err, FERRY_ERR_INTERRUPTED, "interrupted after %ld deletions", *n_removed);
            break;
        }
        size_t lb = strlen(base), ln = strlen(names.names[i]);
        char *full = malloc(lb + ln + 1);
        if (!full) {
            st = ferry_error_set(err, FERRY_ERR_INTERNAL, "out of memory");
            break;
        }
        memcpy(full, base, lb);
        memcpy(full + lb, names.names[i], ln + 1);
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
    free(base);
    return st;
}
