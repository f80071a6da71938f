/*
 * multi.c - copies of many files (globs, directories, prefixes) and the
 * --move semantics: list the source through its hook, copy each file as an
 * independent atomic transfer, and delete a source file only once its
 * destination committed and the sizes agree.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/util.h"
#include "ferry/log.h"
#include "ferry/transfer.h"
#include "transfer/move.h"
#include "transfer/options.h"
#include "transfer/sync.h"

typedef struct file_item {
    char *name;      /* relative to the listed directory; owned */
    int64_t size, mtime; /* from the listing, -1 unknown (issue 14: sync decides by them) */
} file_item;

typedef struct file_list {
    file_item *items;
    size_t n, cap;
} file_list;

static void file_list_release(file_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->items[i].name);
    free(l->items);
    memset(l, 0, sizeof *l);
}

static ferry_status collect_file(const ferry_entry *e, void *ud, ferry_error *err)
{
    file_list *l = ud;
    if (e->is_dir)
        return FERRY_OK;
    if (strstr(e->name, "../") || strcmp(e->name, "..") == 0 || e->name[0] == '/')
        return ferry_error_set(err, FERRY_ERR_DATA, "listing returned '%s', outside the listed directory", e->name);
    if (l->n == l->cap) {
        size_t ncap = l->cap ? l->cap * 2 : 64;
        file_item *ni = realloc(l->items, ncap * sizeof *ni);
        if (!ni)
            return ferry_error_oom(err, NULL, NULL, NULL);
        l->items = ni;
        l->cap = ncap;
    }
    l->items[l->n].name = strdup(e->name);
    l->items[l->n].size = e->size;
    l->items[l->n].mtime = e->mtime;
    if (!l->items[l->n].name)
        return ferry_error_oom(err, NULL, NULL, NULL);
    l->n++;
    return FERRY_OK;
}

static int has_glob(const char *s)
{
    return strpbrk(s, "*?[") != NULL;
}

int ferry_copy_is_many(const char *src, const ferry_copy_options *o)
{
    if (strcmp(src, "-") == 0 || strncasecmp(src, "http://", 7) == 0 || strncasecmp(src, "https://", 8) == 0)
        return 0;
    /* judge the endpoint's path, not the text: an inline URI's query string
     * ("sftp://u@h/x.csv?known_hosts=…") is no glob */
    ferry_endpoint *ep = NULL;
    ferry_error err;
    ferry_error_clear(&err);
    if (ferry_endpoint_parse(src, NULL, 0, &ep, &err) != FERRY_OK)
        return 0; /* the copy itself reports the error */
    int many = 0;
    if (ep->hook->list) {
        const char *path = ep->path;
        const char *last = strrchr(path, '/');
        const char *leaf = last ? last + 1 : path;
        size_t n = strlen(path);
        many = (o && o->recursive) || has_glob(leaf) || (n > 0 && path[n - 1] == '/') ||
               ((ep->hook->flags & FERRY_HOOK_FLAT_KEYS) && strchr(path, '/') == NULL); /* s3://bucket: every key */
    }
    ferry_endpoint_free(ep);
    return many;
}

/* "partner:/out/<glob>" -> "partner:/out/"; "s3://b/p/" -> itself; "dir" -> "dir/" */
static char *listing_base(const char *src)
{
    size_t n = strlen(src);
    const char *last = strrchr(src, '/');
    size_t keep;
    if (last && has_glob(last + 1))
        keep = (size_t)(last - src) + 1;
    else if (last && !has_glob(last + 1) && n > 0 && src[n - 1] == '/')
        keep = n;
    else if (!last && has_glob(src)) {
        const char *colon = strchr(src, ':');
        keep = colon ? (size_t)(colon - src) + 1 : 0;
    } else
        keep = n;
    int add_slash = keep == n && n > 0 && src[n - 1] != '/' && src[n - 1] != ':';
    char *out = malloc(keep + 2);
    if (!out)
        return NULL;
    memcpy(out, src, keep);
    if (add_slash)
        out[keep++] = '/';
    out[keep] = '\0';
    return out;
}

static char *join(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    char *out = malloc(la + lb + 1);
    if (out) {
        memcpy(out, a, la);
        memcpy(out + la, b, lb + 1);
    }
    return out;
}

/* After a committed copy: the whole source must have been read (its size
 * now equals the bytes read) and the destination must hold the bytes written,
 * before the source is deleted. */
ferry_status ferry_move_source(const char *src_text, const char *dst_text, const ferry_summary *sum,
                               const ferry_copy_options *o, ferry_error *err)
{
    ferry_endpoint *dst = NULL, *src = NULL;
    ferry_status st = ferry_endpoint_parse(src_text, o, 0, &src, err);
    if (st == FERRY_OK && !src->hook->remove)
        st = ferry_error_set(err, FERRY_ERR_USAGE, "--move: %s sources cannot be deleted", src->hook->name);
    if (st == FERRY_OK && src->hook->stat) {
        ferry_entry e;
        st = src->hook->stat(src, &e, err);
        if (st == FERRY_OK && e.size >= 0 && e.size != sum->bytes_read)
            st = ferry_error_set(err, FERRY_ERR_DATA, "--move: read %lld bytes of %s but it has %lld: source kept",
                                 (long long)sum->bytes_read, src_text, (long long)e.size);
    }
    if (st == FERRY_OK)
        st = ferry_endpoint_parse(dst_text, o, 1, &dst, err);
    if (st == FERRY_OK && dst->hook->stat) {
        ferry_entry e;
        st = dst->hook->stat(dst, &e, err);
        if (st == FERRY_OK && e.size >= 0 && e.size != sum->bytes_written)
            st = ferry_error_set(err, FERRY_ERR_DATA,
                                 "--move: %s holds %lld bytes, %lld were written: source kept", dst_text,
                                 (long long)e.size, (long long)sum->bytes_written);
        else if (st != FERRY_OK)
            ferry_error_prefix(err, "--move: cannot verify the destination, source kept");
    }
    if (st == FERRY_OK)
        st = src->hook->remove(src, err);
    ferry_endpoint_free(dst);
    ferry_endpoint_free(src);
    return st;
}

/* Recursive copies: create the destination's parent directory where the
 * destination hook has directories (local, SFTP); prefixes need nothing. */
static ferry_status make_parent(const char *dst, const ferry_copy_options *o, ferry_error *err)
{
    const char *slash = strrchr(dst, '/');
    if (!slash || slash == dst || strstr(dst, "s3://") == dst)
        return FERRY_OK;
    char *parent = strndup(dst, (size_t)(slash - dst));
    if (!parent)
        return ferry_error_oom(err, NULL, NULL, NULL);
    ferry_endpoint *ep = NULL;
    ferry_status st = ferry_endpoint_parse(parent, o, 1, &ep, err);
    if (st == FERRY_OK && ep->hook->mkdir && ep->path[0])
        st = ep->hook->mkdir(ep, 1, err);
    ferry_endpoint_free(ep);
    free(parent);
    return st;
}

/* ferry_copy_many with o taken and its cancel token current; sel (may be
 * NULL) selects the files (transfer/sync.h). */
ferry_status ferry_copy_many_select(const char *src, const char *dst, const ferry_copy_options *o, ferry_select *sel,
                                    ferry_file_result_fn fn, void *ud, int *n_ok, int *n_failed, ferry_error *err)
{
    *n_ok = *n_failed = 0;
    ferry_endpoint *ep = NULL;
    ferry_status st = ferry_endpoint_parse(src, o, 0, &ep, err);
    if (st != FERRY_OK)
        return st;
    if (!ep->hook->list) {
        st = ferry_error_set(err, FERRY_ERR_USAGE, "%s sources cannot be listed for a multi-file copy",
                             ep->hook->name);
        ferry_endpoint_free(ep);
        return st;
    }
    file_list files = {0};
    st = ep->hook->list(ep, o && o->recursive, collect_file, &files, err);
    ferry_endpoint_free(ep);
    /* an inline URI keeps its query string (connection extras) on every file */
    const char *query = strstr(src, "://") && strncmp(src, "s3://", 5) != 0 ? strchr(src, '?') : NULL;
    char *src_path = query ? strndup(src, (size_t)(query - src)) : strdup(src);
    char *base = st == FERRY_OK && src_path ? listing_base(src_path) : NULL;
    free(src_path);
    size_t dl = strlen(dst);
    int dst_is_dir = strcmp(dst, "-") != 0;
    char *dst_base = NULL;
    if (st == FERRY_OK && dst_is_dir)
        dst_base = (dl > 0 && (dst[dl - 1] == '/' || dst[dl - 1] == ':')) ? strdup(dst) : join(dst, "/");
    if (st == FERRY_OK && (!base || (dst_is_dir && !dst_base)))
        st = ferry_error_oom(err, NULL, NULL, NULL);
    if (st == FERRY_OK && files.n == 0)
        st = ferry_error_set(err, FERRY_ERR_NOT_FOUND, "%s matches no files", src);

    ferry_status first_failure = FERRY_OK;
    ferry_error first_err;
    ferry_error_clear(&first_err);
    for (size_t i = 0; st == FERRY_OK && i < files.n; i++) {
        if (ferry_cancelled()) {
            first_failure = ferry_error_set(&first_err, FERRY_ERR_INTERRUPTED, "interrupted by signal %d",
                                            ferry_cancel_signal());
            break;
        }
        /* issue 14 seam (a): filters, --ignore-existing, sync's comparison (transfer/sync.c) */
        if (sel && !ferry_select_entry(sel, files.items[i].name, files.items[i].size, files.items[i].mtime))
            continue;
        char *s0 = join(base, files.items[i].name);
        char *s = s0 && query ? join(s0, query) : s0;
        if (s != s0)
            free(s0);
        char *d = dst_is_dir ? join(dst_base, files.items[i].name) : strdup(dst);
        ferry_summary sum;
        memset(&sum, 0, sizeof sum);
        ferry_error one;
        ferry_error_clear(&one);
        ferry_status fst = (s && d) ? make_parent(d, o, &one)
                                    : ferry_error_oom(&one, NULL, NULL, NULL);
        if (fst == FERRY_OK)
            fst = ferry_copy(s, d, o, &sum, &one);
        if (fst == FERRY_OK && sel) /* issue 14 seam (b): the source's mtime where DEST keeps one */
            ferry_select_copied(sel, d, files.items[i].mtime, o);
        if (fst == FERRY_OK) {
            (*n_ok)++;
        } else {
            (*n_failed)++;
            if (first_failure == FERRY_OK) {
                first_failure = fst;
                first_err = one;
            }
        }
        if (fn)
            fn(s ? s : "", d ? d : "", fst, &sum, fst == FERRY_OK ? NULL : &one, ud);
        free(s);
        free(d);
        if (fst == FERRY_ERR_INTERRUPTED)
            break;
    }
    if (st == FERRY_OK && first_failure != FERRY_OK) {
        st = first_failure;
        if (err)
            *err = first_err;
    }
    free(base);
    free(dst_base);
    file_list_release(&files);
    return st;
}

ferry_status ferry_copy_many(const char *src, const char *dst, const ferry_copy_options *o_in, ferry_file_result_fn fn,
                             void *ud, int *n_ok, int *n_failed, ferry_error *err)
{
    *n_ok = *n_failed = 0;
    ferry_copy_options o;
    ferry_status st = ferry_copy_options_take(o_in, &o, err);
    if (st != FERRY_OK)
        return st;
    ferry_cancel_token *prev = ferry_cancel_enter(&o);
    ferry_select *sel = NULL; /* issue 14: --include/--exclude/--min-age/--ignore-existing */
    if (ferry_select_wanted(&o))
        st = ferry_select_new(src, dst, &o, 0, NULL, NULL, &sel, err);
    if (st == FERRY_OK)
        st = ferry_copy_many_select(src, dst, &o, sel, fn, ud, n_ok, n_failed, err);
    ferry_select_free(sel);
    ferry_cancel_adopt(prev);
    return st;
}
