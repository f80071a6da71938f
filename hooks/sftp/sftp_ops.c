/*
 * hooks/sftp/sftp_ops.c - the SFTP hook's operations besides moving data:
 * stat, list (a glob in the last component, recursion, names relative to
 * the listed directory), remove, mkdir (-p), set_mtime, and the connection
 * test.
 * Each takes a session from the cache (sftp_pool.c) and gives it back
 * before returning; a request that finds a cached session dead is repeated
 * once over a new connection (a listing only when it reported nothing yet).
 *
 * Listing rules, so multi-file copies and --move can rely on them:
 *  - a glob (* ? [) is allowed in the last path component only and matches
 *    with fnmatch(FNM_PERIOD): "*" does not match names starting with '.'
 *    (ferry's own ".x.ferry-tmp-*" files included);
 *  - a path with a glob must not contain "..": a glob never walks outside
 *    the directory it names;
 *  - names a server returns that hold '/' or are "." / ".." are skipped;
 *  - ferry's own in-flight files (".<name>.ferry-tmp-<hex>", ".<name>.ferry-
 *    old-<hex>") are not listed, unless the glob itself starts with '.', so
 *    a directory copy never picks up another transfer's partial file;
 *  - each directory is listed sorted by name; with recursive, directories
 *    are descended (symlinked directories are not, so no loops) and only
 *    files are reported, named "sub/dir/file" relative to the listed one;
 *  - a path naming one file lists that file (its name, relative to its
 *    directory, is its last component).
 */
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/log.h"
#include "hooks/sftp/sftp_internal.h"

#define LIST_MAX_DEPTH 64
#define NAME_MAX_LEN 4096

static ferry_status op_connect(const ferry_conn *conn, ferry_sftp_session **s, int *reused, ferry_error *err)
{
    ferry_sftp_connect_opts opts;
    ferry_sftp_opts_from(NULL, &opts);
    return ferry_sftp_acquire(conn, &opts, s, reused, err);
}

static int attrs_is_dir(const LIBSSH2_SFTP_ATTRIBUTES *a)
{
    return (a->flags & LIBSSH2_SFTP_ATTR_PERMISSIONS) && LIBSSH2_SFTP_S_ISDIR(a->permissions);
}

static int attrs_is_link(const LIBSSH2_SFTP_ATTRIBUTES *a)
{
    return (a->flags & LIBSSH2_SFTP_ATTR_PERMISSIONS) && LIBSSH2_SFTP_S_ISLNK(a->permissions);
}

static void fill_entry(ferry_entry *e, const char *name, const LIBSSH2_SFTP_ATTRIBUTES *a)
{
    e->name = name;
    e->size = (a->flags & LIBSSH2_SFTP_ATTR_SIZE) ? (int64_t)a->filesize : -1;
    e->mtime = (a->flags & LIBSSH2_SFTP_ATTR_ACMODTIME) ? (int64_t)a->mtime : -1;
    e->is_dir = attrs_is_dir(a);
}

/* ---------------------------------------------------------------- stat */

ferry_status ferry_sftp_op_stat(const ferry_endpoint *ep, ferry_entry *out, ferry_error *err)
{
    char *path = ferry_sftp_path(ep->path);
    if (!path)
        return ferry_error_oom(err, NULL, NULL, NULL);
    ferry_sftp_session *s = NULL;
    int reused = 0;
    ferry_status st;
    LIBSSH2_SFTP_ATTRIBUTES attrs;
    do {
        st = op_connect(ep->conn, &s, &reused, err);
        if (st == FERRY_OK)
            st = ferry_sftp_stat(s, path, 1, &attrs, err);
    } while (ferry_sftp_stale(&s, reused, st, err));
    if (st == FERRY_OK)
        fill_entry(out, ep->path, &attrs);  /* name borrowed from the endpoint */
    ferry_sftp_release(s);
    free(path);
    return st;
}

/* ---------------------------------------------------------------- list */

typedef struct dir_item {
    char *name;                     /* owned */
    LIBSSH2_SFTP_ATTRIBUTES attrs;
} dir_item;

typedef struct dir_items {
    dir_item *v;
    size_t n, cap;
} dir_items;

static void items_free(dir_items *d)
{
    for (size_t i = 0; i < d->n; i++)
        free(d->v[i].name);
    free(d->v);
    memset(d, 0, sizeof *d);
}

static int item_cmp(const void *a, const void *b)
{
    return strcmp(((const dir_item *)a)->name, ((const dir_item *)b)->name);
}

static int items_add(dir_items *d, const char *name, size_t len, const LIBSSH2_SFTP_ATTRIBUTES *attrs)
{
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 64;
        dir_item *v = realloc(d->v, cap * sizeof *v);
        if (!v)
            return -1;
        d->v = v;
        d->cap = cap;
    }
    d->v[d->n].name = strndup(name, len);
    if (!d->v[d->n].name)
        return -1;
    d->v[d->n].attrs = *attrs;
    d->n++;
    return 0;
}

/* Every name in dir (without "." and ".."), sorted. */
static ferry_status read_dir(ferry_sftp_session *s, const char *dir, dir_items *out, ferry_error *err)
{
    LIBSSH2_SFTP_HANDLE *h = NULL;
    ferry_status st = ferry_sftp_open(s, dir, 0, 0, LIBSSH2_SFTP_OPENDIR, &h, err);
    if (st != FERRY_OK)
        return st;
    char *name = malloc(NAME_MAX_LEN);
    if (!name) {
        ferry_sftp_close_handle(s, h, dir, err);
        return ferry_error_oom(err, NULL, NULL, NULL);
    }
    double since = ferry_now_monotonic();
    for (;;) {
        LIBSSH2_SFTP_ATTRIBUTES attrs;
        memset(&attrs, 0, sizeof attrs);
        int rc = libssh2_sftp_readdir_ex(h, name, NAME_MAX_LEN, NULL, 0, &attrs);
        if (rc == 0)
            break;
        if (rc == LIBSSH2_ERROR_EAGAIN) {
            st = ferry_sftp_wait(s, since, "readdir", err);
            if (st != FERRY_OK)
                break;
            continue;
        }
        if (rc < 0) {
            st = ferry_sftp_error(s, rc, err, "readdir '%s'", dir);
            break;
        }
        since = ferry_now_monotonic();
        size_t len = (size_t)rc;
        if ((len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.'))
            continue;
        if (memchr(name, '/', len) || memchr(name, '\0', len)) {
            ferry_log(FERRY_LOG_WARN, FERRY_SFTP_SYSTEM "(%s): skipping a malformed name the server listed in '%s'",
                      s->conn_id, dir);
            continue;
        }
        if (items_add(out, name, len, &attrs) != 0) {
            st = ferry_error_oom(err, NULL, NULL, NULL);
            break;
        }
    }
    free(name);
    if (s->broken) {
        ferry_sftp_drop_handle(s, h);
        items_free(out);
        return st;
    }
    ferry_error close_err;
    ferry_status cst = ferry_sftp_close_handle(s, h, dir, &close_err);
    if (st == FERRY_OK && cst != FERRY_OK) {
        *err = close_err;
        st = cst;
    }
    if (st != FERRY_OK) {
        items_free(out);
        return st;
    }
    if (out->n > 1)
        qsort(out->v, out->n, sizeof *out->v, item_cmp);
    return FERRY_OK;
}

/* ".<name>.ferry-tmp-<16 hex>" or ".<name>.ferry-old-<16 hex>" */
static int is_ferry_artefact(const char *name)
{
    if (name[0] != '.')
        return 0;
    size_t n = strlen(name);
    if (n < 1 + 11 + 16 || strspn(name + n - 16, "0123456789abcdef") != 16)
        return 0;
    return strncmp(name + n - 27, ".ferry-tmp-", 11) == 0 || strncmp(name + n - 27, ".ferry-old-", 11) == 0;
}

typedef struct lister {
    ferry_sftp_session *s;
    const char *pattern;    /* NULL: everything */
    int recursive;
    ferry_entry_fn fn;
    void *ud;
    size_t reported;        /* entries given to fn */
} lister;

static ferry_status list_dir(lister *l, const char *dir, const char *rel, int depth, ferry_error *err)
{
    if (depth > LIST_MAX_DEPTH)
        return ferry_error_hook(err, FERRY_ERR_USAGE, FERRY_SFTP_SYSTEM, l->s->conn_id,
                                "'%s' is nested more than %d directories deep", dir, LIST_MAX_DEPTH);
    dir_items items = {0};
    ferry_status st = read_dir(l->s, dir, &items, err);
    for (size_t i = 0; st == FERRY_OK && i < items.n; i++) {
        dir_item *it = &items.v[i];
        if (is_ferry_artefact(it->name) && !(l->pattern && l->pattern[0] == '.'))
            continue;
        char *full = ferry_sftp_join(dir, it->name);
        char *name = *rel ? ferry_sftp_join(rel, it->name) : strdup(it->name);
        if (!full || !name) {
            free(full);
            free(name);
            st = ferry_error_oom(err, NULL, NULL, NULL);
            break;
        }
        LIBSSH2_SFTP_ATTRIBUTES attrs = it->attrs;
        int via_link = 0;
        if (attrs_is_link(&attrs)) {
            /* report what the link points to; a dangling link is skipped */
            ferry_error probe;
            via_link = 1;
            if (ferry_sftp_stat(l->s, full, 1, &attrs, &probe) != FERRY_OK) {
                if (l->s->broken) {
                    *err = probe;
                    st = probe.status;
                }
                free(full);
                free(name);
                continue;
            }
        }
        if (l->recursive && attrs_is_dir(&attrs)) {
            if (!via_link)
                st = list_dir(l, full, name, depth + 1, err);
            else
                ferry_log(FERRY_LOG_DEBUG, FERRY_SFTP_SYSTEM "(%s): not descending into symlinked '%s'",
                          l->s->conn_id, full);
        } else if (!l->pattern || fnmatch(l->pattern, it->name, FNM_PERIOD) == 0) {
            ferry_entry e;
            fill_entry(&e, name, &attrs);
            l->reported++;
            st = l->fn(&e, l->ud, err);
        }
        free(full);
        free(name);
    }
    items_free(&items);
    return st;
}

ferry_status ferry_sftp_op_list(const ferry_endpoint *ep, int recursive, ferry_entry_fn fn, void *ud,
                                ferry_error *err)
{
    const char *conn_id = ferry_endpoint_conn_id(ep);
    char *path = ferry_sftp_path(ep->path);
    if (!path)
        return ferry_error_oom(err, NULL, NULL, NULL);
    char *dir = NULL, *pattern = NULL;
    ferry_status st = FERRY_OK;
    if (ferry_sftp_is_glob(path)) {
        if (ferry_sftp_has_dotdot(path))
            st = ferry_error_hook(err, FERRY_ERR_USAGE, FERRY_SFTP_SYSTEM, conn_id,
                                  "'%s': a glob may not contain '..' components", ep->path);
        else if (ferry_sftp_split(path, &dir, &pattern) != 0)
            st = ferry_error_hook(err, FERRY_ERR_USAGE, FERRY_SFTP_SYSTEM, conn_id, "'%s': nothing to match",
                                  ep->path);
        else if (ferry_sftp_is_glob(dir))
            st = ferry_error_hook(err, FERRY_ERR_USAGE, FERRY_SFTP_SYSTEM, conn_id,
                                  "'%s': a glob is only allowed in the last path component", ep->path);
    }
    lister l = {NULL, pattern, recursive, fn, ud, 0};
    int reused = 0;
    ferry_status st0 = st;
    do {
        st = st0;
        if (st == FERRY_OK)
            st = op_connect(ep->conn, &l.s, &reused, err);
        if (st == FERRY_OK && pattern) {
            st = list_dir(&l, dir, "", 0, err);
        } else if (st == FERRY_OK) {
            LIBSSH2_SFTP_ATTRIBUTES attrs;
            st = ferry_sftp_stat(l.s, path, 1, &attrs, err);
            if (st == FERRY_OK && attrs_is_dir(&attrs)) {
                st = list_dir(&l, path, "", 0, err);
            } else if (st == FERRY_OK) {
                const char *slash = strrchr(path, '/');
                ferry_entry e;
                fill_entry(&e, slash ? slash + 1 : path, &attrs);
                l.reported++;
                st = fn(&e, ud, err);
            }
        }
    } while (l.reported == 0 && ferry_sftp_stale(&l.s, reused, st, err));
    ferry_sftp_release(l.s);
    free(path);
    free(dir);
    free(pattern);
    return st;
}

/* ---------------------------------------------------------------- remove */

ferry_status ferry_sftp_op_remove(const ferry_endpoint *ep, ferry_error *err)
{
    char *path = ferry_sftp_path(ep->path);
    if (!path)
        return ferry_error_oom(err, NULL, NULL, NULL);
    ferry_sftp_session *s = NULL;
    int reused = 0;
    ferry_status st;
    do {
        LIBSSH2_SFTP_ATTRIBUTES attrs;
        st = op_connect(ep->conn, &s, &reused, err);
        if (st == FERRY_OK)
            st = ferry_sftp_stat(s, path, 0, &attrs, err);
        /* a dead session fails at the stat, before anything was asked to change */
        if (st == FERRY_OK)
            st = attrs_is_dir(&attrs) ? ferry_sftp_rmdir(s, path, err) : ferry_sftp_unlink(s, path, err);
    } while (ferry_sftp_stale(&s, reused, st, err));
    ferry_sftp_release(s);
    free(path);
    return st;
}

/* ---------------------------------------------------------------- mkdir */

/* One level: create path, or accept an existing directory when `ok_if_dir`. */
static ferry_status mkdir_one(ferry_sftp_session *s, const char *path, int ok_if_dir, ferry_error *err)
{
    ferry_error mk;
    ferry_error_clear(&mk);
    ferry_status st = ferry_sftp_mkdir(s, path, 0755, &mk);
    if (st == FERRY_OK)
        return FERRY_OK;
    if (s->broken) {
        *err = mk;
        return st;
    }
    /* OpenSSH answers mkdir of an existing name with a plain FAILURE */
    LIBSSH2_SFTP_ATTRIBUTES attrs;
    ferry_error probe;
    if (ferry_sftp_stat(s, path, 1, &attrs, &probe) == FERRY_OK) {
        if (attrs_is_dir(&attrs) && ok_if_dir)
            return FERRY_OK;
        return ferry_error_hook(err, FERRY_ERR_EXISTS, FERRY_SFTP_SYSTEM, s->conn_id, "mkdir '%s': %s", path,
                                attrs_is_dir(&attrs) ? "the directory exists" : "exists and is not a directory");
    }
    *err = mk;
    return st;
}

ferry_status ferry_sftp_op_mkdir(const ferry_endpoint *ep, int parents, ferry_error *err)
{
    char *path = ferry_sftp_path(ep->path);
    if (!path)
        return ferry_error_oom(err, NULL, NULL, NULL);
    size_t n = strlen(path);
    while (n > 1 && path[n - 1] == '/')
        path[--n] = '\0';
    ferry_sftp_session *s = NULL;
    int reused = 0;
    ferry_status st;
    /* one line a call: a multi-file copy makes each directory once per batch
     * (transfer/multi.c), which tests count here */
    ferry_log(FERRY_LOG_DEBUG, FERRY_SFTP_SYSTEM "(%s): mkdir%s '%s'", ep->conn ? ep->conn->id : "", parents ? " -p" : "",
              path);
again:
    st = op_connect(ep->conn, &s, &reused, err);
    if (st == FERRY_OK && !parents) {
        st = mkdir_one(s, path, 0, err);
    } else if (st == FERRY_OK) {
        /* each prefix ending before a '/', then the whole path */
        for (size_t i = 1; st == FERRY_OK && i <= n; i++) {
            if (i < n && path[i] != '/')
                continue;
            char saved = path[i];
            path[i] = '\0';
            const char *last = strrchr(path, '/');
            last = last ? last + 1 : path;
            if (*last && strcmp(last, ".") != 0 && strcmp(last, "..") != 0) {
                LIBSSH2_SFTP_ATTRIBUTES attrs;
                ferry_error probe;
                if (ferry_sftp_stat(s, path, 1, &attrs, &probe) == FERRY_OK) {
                    if (!attrs_is_dir(&attrs))
                        st = ferry_error_hook(err, FERRY_ERR_EXISTS, FERRY_SFTP_SYSTEM, s->conn_id,
                                              "mkdir '%s': exists and is not a directory", path);
                } else if (s->broken) {
                    *err = probe;
                    st = probe.status;
                } else {
                    st = mkdir_one(s, path, 1, err);
                }
            }
            path[i] = saved;
        }
    }
    /* a cached session found dead: mkdir -p is idempotent; a plain mkdir
     * whose request did reach the server says "exists" the second time */
    if (ferry_sftp_stale(&s, reused, st, err))
        goto again;
    ferry_sftp_release(s);
    free(path);
    return st;
}

/* ---------------------------------------------------------------- set_mtime */

/* SETSTAT with the access and modification times (SFTP v3 sets both at
 * once; both get mtime), after a sync copied the file (issue 14). */
ferry_status ferry_sftp_op_set_mtime(const ferry_endpoint *ep, int64_t mtime, ferry_error *err)
{
    char *path = ferry_sftp_path(ep->path);
    if (!path)
        return ferry_error_oom(err, NULL, NULL, NULL);
    ferry_sftp_session *s = NULL;
    int reused = 0;
    ferry_status st;
    LIBSSH2_SFTP_ATTRIBUTES attrs;
    memset(&attrs, 0, sizeof attrs);
    attrs.flags = LIBSSH2_SFTP_ATTR_ACMODTIME;
    attrs.atime = attrs.mtime = (unsigned long)mtime;
    do { /* SETSTAT is idempotent: repeated over a new connection when the cached one died */
        st = op_connect(ep->conn, &s, &reused, err);
        double since = ferry_now_monotonic();
        while (st == FERRY_OK) {
            s->last_fx = 0;
            int rc = libssh2_sftp_stat_ex(s->sftp, path, (unsigned)strlen(path), LIBSSH2_SFTP_SETSTAT, &attrs);
            if (rc >= 0)
                break;
            if (rc != LIBSSH2_ERROR_EAGAIN)
                st = ferry_sftp_error(s, rc, err, "setstat '%s'", path);
            else
                st = ferry_sftp_wait(s, since, "setstat", err);
        }
    } while (ferry_sftp_stale(&s, reused, st, err));
    ferry_sftp_release(s);
    free(path);
    return st;
}

/* ---------------------------------------------------------------- test */

ferry_status ferry_sftp_op_test(const ferry_conn *conn, char *info, size_t cap, ferry_error *err)
{
    /* a test makes a connection of its own, never a cached one */
    ferry_sftp_session *s = NULL;
    ferry_sftp_connect_opts opts;
    ferry_sftp_opts_from(NULL, &opts);
    ferry_status st = ferry_sftp_connect(conn, &opts, &s, err);
    char home[1024] = "";
    if (st == FERRY_OK)
        st = ferry_sftp_realpath(s, ".", home, sizeof home, err);
    if (st == FERRY_OK)
        snprintf(info, cap, "%s sftp at %s:%d as %s (home %s, %s), host key %s %s", s->banner[0] ? s->banner : "SSH",
                 s->host, s->port, s->user, home, s->auth_method, s->hostkey, s->hostkey_check);
    ferry_sftp_disconnect(s);
    return st;
}
