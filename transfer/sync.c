/*
 * sync.c - `ferry sync` and filtered multi-file copies (issue 14): the
 * selector that decides per file whether to copy (transfer/sync.h), the
 * destination index it decides against, the mtime a copied file is given,
 * the --delete pass, the dry run, and ferry_sync (ferry/transfer.h).
 *
 * What a sync compares, per destination:
 *   - a missing file is copied;
 *   - sizes (every listing has them): a different size is copied;
 *   - mtimes, where both listings have one (local, SFTP, S3 all do):
 *       * the destination keeps mtimes (its hook has set_mtime: local, SFTP):
 *         every copied file gets the source's mtime, so any difference means
 *         a change on one side and the file is copied again;
 *       * it does not (S3: LastModified is the upload's time): a source newer
 *         than the object is copied (aws s3 sync's rule);
 *   - no checksums: S3's ETag is an MD5 only for single-part uploads without
 *     SSE-KMS, and comparing it would mean reading every source file.
 * The index is one compact open-addressing hash table: a dense array of
 * entries (size, mtime, name offset, hash) over one arena of NUL-ended
 * names, found through a table of 32-bit slots.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/buf.h"
#include "core/util.h"
#include "ferry/log.h"
#include "transfer/filter.h"
#include "transfer/multi.h"
#include "transfer/nameset.h"
#include "transfer/options.h"
#include "transfer/sync.h"

/* ---------------------------------------------------------------- the destination index */

typedef struct dentry {
    int64_t size;
    int64_t mtime;
    uint32_t off;       /* name in the arena */
    uint32_t hash;
} dentry;

typedef struct dindex {
    dentry *e;
    unsigned char *seen; /* per entry: a source file of that name was listed */
    size_t n, cap;
    uint32_t *slots;     /* 0 = empty, else entry index + 1 */
    size_t mask;         /* slot count - 1 (a power of two) */
    ferry_buf names;
    int fold;            /* --case-insensitive: names equal but for ASCII case are one */
} dindex;

static void dindex_release(dindex *x)
{
    free(x->e);
    free(x->seen);
    free(x->slots);
    ferry_buf_release(&x->names);
    int fold = x->fold;
    memset(x, 0, sizeof *x);
    x->fold = fold;
}

static const char *dindex_name(const dindex *x, size_t i)
{
    return x->names.data + x->e[i].off;
}

/* The entry index of name, or -1. */
static long dindex_find(const dindex *x, const char *name)
{
    if (!x->slots)
        return -1;
    uint32_t h = ferry_name_hash(name, x->fold);
    for (size_t i = h & x->mask;; i = (i + 1) & x->mask) {
        uint32_t s = x->slots[i];
        if (s == 0)
            return -1;
        if (x->e[s - 1].hash == h && ferry_name_same(dindex_name(x, s - 1), name, x->fold))
            return (long)(s - 1);
    }
}

static int dindex_rehash(dindex *x, size_t nslots)
{
    uint32_t *slots = calloc(nslots, sizeof *slots);
    if (!slots)
        return -1;
    free(x->slots);
    x->slots = slots;
    x->mask = nslots - 1;
    for (size_t k = 0; k < x->n; k++) {
        size_t i = x->e[k].hash & x->mask;
        while (x->slots[i])
            i = (i + 1) & x->mask;
        x->slots[i] = (uint32_t)(k + 1);
    }
    return 0;
}

static int dindex_add(dindex *x, const char *name, int64_t size, int64_t mtime)
{
    if (dindex_find(x, name) >= 0)
        return 0; /* listed twice: the first one stands */
    if (x->n == x->cap) {
        size_t cap = x->cap ? x->cap * 2 : 256;
        if (cap > UINT32_MAX - 1)
            return -1;
        dentry *e = realloc(x->e, cap * sizeof *e);
        if (!e)
            return -1;
        x->e = e;
        unsigned char *seen = realloc(x->seen, cap);
        if (!seen)
            return -1;
        x->seen = seen;
        x->cap = cap;
    }
    if ((x->n + 1) * 10 > (x->mask + 1) * 7 || !x->slots) { /* load <= 0.7 */
        size_t nslots = x->slots ? (x->mask + 1) * 2 : 512;
        if (dindex_rehash(x, nslots) != 0)
            return -1;
    }
    size_t off = x->names.len;
    if (off > UINT32_MAX - 4096 || ferry_buf_append(&x->names, name, strlen(name) + 1) != 0)
        return -1;
    dentry *d = &x->e[x->n];
    d->size = size;
    d->mtime = mtime;
    d->off = (uint32_t)off;
    d->hash = ferry_name_hash(name, x->fold);
    x->seen[x->n] = 0;
    size_t i = d->hash & x->mask;
    while (x->slots[i])
        i = (i + 1) & x->mask;
    x->slots[i] = (uint32_t)(x->n + 1);
    x->n++;
    return 0;
}

/* ---------------------------------------------------------------- endpoint texts */

/* An inline URI keeps its query string (connection extras) on every file:
 * the offset where "?…" starts in text, or its length when it has none. */
static size_t query_at(const char *text)
{
    if (!strstr(text, "://") || strncmp(text, "s3://", 5) == 0)
        return strlen(text);
    const char *q = strchr(text, '?');
    return q ? (size_t)(q - text) : strlen(text);
}

static int has_glob(const char *s)
{
    return strpbrk(s, "*?[") != NULL;
}

/* A glob in the last path component (before an inline URI's query). */
static int leaf_has_glob(const char *text)
{
    size_t q = query_at(text), leaf = 0;
    for (size_t i = 0; i < q; i++)
        if (text[i] == '/')
            leaf = i + 1;
    for (size_t i = leaf; i < q; i++)
        if (strchr("*?[", text[i]))
            return 1;
    return 0;
}

/* The text before the listed names, ending in '/' or ':' (what multi.c
 * lists from): "partner:/out/<glob>" -> "partner:/out/", "dir" -> "dir/";
 * the query string of an inline URI goes into *query (both malloc'd). */
static int base_text(const char *text, char **base, char **query)
{
    size_t q = query_at(text);
    *query = strdup(text + q);
    size_t keep = q;
    const char *last = NULL;
    for (size_t i = 0; i < q; i++)
        if (text[i] == '/')
            last = text + i;
    const char *leaf = last ? last + 1 : text;
    if (has_glob(leaf) && (size_t)(leaf - text) < q) {
        if (last)
            keep = (size_t)(leaf - text);
        else {
            const char *colon = memchr(text, ':', q);
            keep = colon ? (size_t)(colon - text) + 1 : 0;
        }
    }
    *base = malloc(keep + 2);
    if (!*base || !*query) {
        free(*base);
        free(*query);
        *base = *query = NULL;
        return -1;
    }
    memcpy(*base, text, keep);
    if (keep > 0 && text[keep - 1] != '/' && text[keep - 1] != ':')
        (*base)[keep++] = '/';
    (*base)[keep] = '\0';
    return 0;
}

/* base + name + query, into b (reset first). */
static const char *compose(ferry_buf *b, const char *base, const char *name, const char *query)
{
    ferry_buf_reset(b);
    ferry_buf_appends(b, base);
    ferry_buf_appends(b, name);
    ferry_buf_appends(b, query ? query : "");
    return b->failed ? "" : b->data;
}

/* ---------------------------------------------------------------- the selector */

struct ferry_select {
    ferry_filter *filter;       /* NULL: every file */
    unsigned flags;             /* FERRY_SYNC_* */
    int ignore_existing;
    int indexed;                /* the destination was listed into idx */
    dindex idx;
    const ferry_hook *dst_hook; /* NULL without a destination */
    ferry_status (*set_mtime)(const ferry_endpoint *ep, int64_t mtime, ferry_error *err); /* dst's, or NULL */
    char *src_base, *src_query, *dst_base, *dst_query;
    ferry_sync_fn fn;
    void *ud;
    int dry_run;
    int64_t skipped;
    ferry_buf s_text, d_text;   /* event texts, reused */
};

int ferry_select_wanted(const ferry_copy_options *o)
{
    return o && (o->n_filter_rules > 0 || o->min_age > 0 || o->max_age > 0 || o->ignore_existing);
}

void ferry_select_free(ferry_select *s)
{
    if (!s)
        return;
    ferry_filter_free(s->filter);
    dindex_release(&s->idx);
    free(s->src_base);
    free(s->src_query);
    free(s->dst_base);
    free(s->dst_query);
    ferry_buf_release(&s->s_text);
    ferry_buf_release(&s->d_text);
    free(s);
}

static ferry_status index_one(const ferry_entry *e, void *ud, ferry_error *err)
{
    ferry_select *s = ud;
    if (e->is_dir)
        return FERRY_OK;
    if (dindex_add(&s->idx, e->name, e->size, e->mtime) != 0)
        return ferry_error_oom(err, NULL, NULL, "destination index");
    return FERRY_OK;
}

/* List the destination (recursively) into the index; a destination that
 * does not exist yet is empty. */
static ferry_status index_destination(ferry_select *s, const ferry_copy_options *o, ferry_error *err)
{
    ferry_buf t = {0};
    const char *text = compose(&t, s->dst_base, "", s->dst_query);
    ferry_endpoint *ep = NULL;
    ferry_status st = t.failed ? ferry_error_oom(err, NULL, NULL, NULL) : ferry_endpoint_parse(text, o, 0, &ep, err);
    if (st == FERRY_OK && !ep->hook->list)
        st = ferry_error_set(err, FERRY_ERR_USAGE, "%s destinations cannot be listed to compare with", ep->hook->name);
    if (st == FERRY_OK) {
        st = ep->hook->list(ep, 1, index_one, s, err);
        if (st == FERRY_ERR_NOT_FOUND) {
            ferry_log(FERRY_LOG_DEBUG, "%s does not exist yet: nothing there to compare with", text);
            ferry_error_clear(err);
            st = FERRY_OK;
        } else if (st != FERRY_OK) {
            ferry_error_prefix(err, "listing the destination");
        }
    }
    if (st == FERRY_OK)
        s->indexed = 1;
    ferry_endpoint_free(ep);
    ferry_buf_release(&t);
    return st;
}

ferry_status ferry_select_new(const char *src, const char *dst, const ferry_copy_options *o, unsigned flags,
                              ferry_sync_fn fn, void *ud, ferry_select **out, ferry_error *err)
{
    *out = NULL;
    ferry_select *s = calloc(1, sizeof *s);
    if (!s)
        return ferry_error_oom(err, NULL, NULL, NULL);
    s->flags = flags;
    s->fn = fn;
    s->ud = ud;
    s->dry_run = (flags & FERRY_SYNC_DRY_RUN) != 0;
    s->ignore_existing = o && o->ignore_existing;
    s->idx.fold = o && o->case_insensitive;
    ferry_status st = FERRY_OK;
    if (o && (o->n_filter_rules > 0 || o->min_age > 0 || o->max_age > 0))
        st = ferry_filter_new(o->filter_rules, o->n_filter_rules, o->min_age, o->max_age, (int64_t)time(NULL),
                              &s->filter, err);
    if (st == FERRY_OK && base_text(src, &s->src_base, &s->src_query) != 0)
        st = ferry_error_oom(err, NULL, NULL, NULL);
    int has_dst = strcmp(dst, "-") != 0;
    if (st == FERRY_OK && has_dst) {
        /* multi.c's DEST/NAME: dst as a directory, whatever its last component */
        size_t q = query_at(dst);
        s->dst_query = strdup(dst + q);
        s->dst_base = malloc(q + 2);
        if (!s->dst_query || !s->dst_base)
            st = ferry_error_oom(err, NULL, NULL, NULL);
        else {
            memcpy(s->dst_base, dst, q);
            if (q > 0 && dst[q - 1] != '/' && dst[q - 1] != ':')
                s->dst_base[q++] = '/';
            s->dst_base[q] = '\0';
        }
    }
    if (st == FERRY_OK && has_dst) {
        ferry_buf t = {0};
        ferry_endpoint *ep = NULL;
        const char *text = compose(&t, s->dst_base, "", s->dst_query);
        ferry_error e;
        ferry_error_clear(&e);
        if (!t.failed && ferry_endpoint_parse(text, o, 1, &ep, &e) == FERRY_OK) {
            s->dst_hook = ep->hook;
            s->set_mtime = FERRY_HOOK_SLOT(ep->hook, set_mtime);
        }
        ferry_endpoint_free(ep);
        ferry_buf_release(&t);
    }
    if (st == FERRY_OK && has_dst && ((flags & FERRY_SYNC_COMPARE) || s->ignore_existing))
        st = index_destination(s, o, err);
    if (st != FERRY_OK) {
        ferry_select_free(s);
        return st;
    }
    *out = s;
    return FERRY_OK;
}

/* Whether to copy name; marks its destination entry seen (for --delete).
 * why gets the reason either way. */
static int decide(ferry_select *s, const char *name, int64_t size, int64_t mtime, char *why, size_t cap)
{
    long di = s->indexed ? dindex_find(&s->idx, name) : -1;
    if (di >= 0)
        s->idx.seen[di] = 1;
    if (!ferry_filter_file(s->filter, name, mtime, why, cap))
        return 0;
    if (!s->indexed) {
        snprintf(why, cap, "selected");
        return 1;
    }
    if (di < 0) {
        snprintf(why, cap, "missing at the destination");
        return 1;
    }
    if (s->ignore_existing) {
        snprintf(why, cap, "exists at the destination, --ignore-existing");
        return 0;
    }
    if (!(s->flags & FERRY_SYNC_COMPARE)) {
        snprintf(why, cap, "selected");
        return 1;
    }
    const dentry *d = &s->idx.e[di];
    if (size >= 0 && d->size >= 0 && size != d->size) {
        snprintf(why, cap, "size differs: %lld bytes at the source, %lld at the destination", (long long)size,
                 (long long)d->size);
        return 1;
    }
    if (mtime >= 0 && d->mtime >= 0) {
        if (s->set_mtime && mtime != d->mtime) {
            snprintf(why, cap, "modification time differs by %+llds", (long long)(mtime - d->mtime));
            return 1;
        }
        if (!s->set_mtime && mtime > d->mtime) {
            snprintf(why, cap, "newer at the source by %llds", (long long)(mtime - d->mtime));
            return 1;
        }
        snprintf(why, cap, s->set_mtime ? "unchanged: same size and time" : "unchanged: same size, not newer");
        return 0;
    }
    snprintf(why, cap, "unchanged: same size, no time to compare");
    return 0;
}

static void emit(ferry_select *s, ferry_sync_action action, const char *name, const char *reason)
{
    if (!s->fn)
        return;
    ferry_sync_event ev;
    memset(&ev, 0, sizeof ev);
    ev.action = action;
    ev.name = name;
    ev.src = action == FERRY_SYNC_DELETE ? NULL : compose(&s->s_text, s->src_base, name, s->src_query);
    ev.dst = s->dst_base ? compose(&s->d_text, s->dst_base, name, s->dst_query) : "-";
    ev.reason = reason;
    ev.dry_run = s->dry_run;
    ev.status = FERRY_OK;
    s->fn(&ev, s->ud);
}

int ferry_select_entry(ferry_select *s, const char *name, int64_t size, int64_t mtime)
{
    char why[512];
    if (decide(s, name, size, mtime, why, sizeof why))
        return 1;
    s->skipped++;
    emit(s, FERRY_SYNC_SKIP, name, why);
    return 0;
}

int64_t ferry_select_skipped(const ferry_select *s)
{
    return s ? s->skipped : 0;
}

void ferry_select_copied(const ferry_select *s, const char *dst_text, int64_t mtime, const ferry_copy_options *o)
{
    if (!s || !s->set_mtime || mtime < 0)
        return;
    ferry_endpoint *ep = NULL;
    ferry_error err;
    ferry_error_clear(&err);
    ferry_status st = ferry_endpoint_parse(dst_text, o, 1, &ep, &err);
    ferry_status (*set)(const ferry_endpoint *, int64_t, ferry_error *) =
        st == FERRY_OK ? FERRY_HOOK_SLOT(ep->hook, set_mtime) : NULL;
    if (set)
        st = set(ep, mtime, &err);
    if (st != FERRY_OK)
        ferry_log(FERRY_LOG_WARN, "cannot give %s the source's modification time (the next sync copies it again): %s",
                  ep ? ep->path : "the destination", err.msg);
    ferry_endpoint_free(ep);
}

/* ---------------------------------------------------------------- --delete */

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Another transfer's in-flight file (".<name>.ferry-tmp-…", SFTP's
 * ".<name>.ferry-old-…"): never a file of the destination to delete. */
static int is_ferry_artefact(const char *name)
{
    const char *leaf = strrchr(name, '/');
    leaf = leaf ? leaf + 1 : name;
    return leaf[0] == '.' && (strstr(leaf, ".ferry-tmp-") || strstr(leaf, ".ferry-old-"));
}

/* The destination files no listed source file matched and no rule excludes,
 * sorted (pointers into the index). */
static ferry_status extras(ferry_select *s, const char ***out, size_t *n, ferry_error *err)
{
    *out = NULL;
    *n = 0;
    if (!s->indexed || s->idx.n == 0)
        return FERRY_OK;
    const char **v = malloc(s->idx.n * sizeof *v);
    if (!v)
        return ferry_error_oom(err, NULL, NULL, NULL);
    size_t k = 0;
    for (size_t i = 0; i < s->idx.n; i++) {
        const char *name = dindex_name(&s->idx, i);
        /* out of the sync's scope: excluded names stay (rclone without --delete-excluded) */
        if (!s->idx.seen[i] && !is_ferry_artefact(name) && ferry_filter_name(s->filter, name, NULL, 0))
            v[k++] = name;
    }
    qsort(v, k, sizeof *v, name_cmp);
    *out = v;
    *n = k;
    return FERRY_OK;
}

static void delete_event(ferry_select *s, const char *name, ferry_status st, const ferry_error *err,
                         ferry_sync_counts *c)
{
    if (st == FERRY_OK)
        c->deleted++;
    else
        c->failed++;
    if (!s->fn)
        return;
    ferry_sync_event ev;
    memset(&ev, 0, sizeof ev);
    ev.action = FERRY_SYNC_DELETE;
    ev.name = name;
    ev.dst = compose(&s->d_text, s->dst_base, name, s->dst_query);
    ev.reason = "absent from the source";
    ev.dry_run = s->dry_run;
    ev.status = st;
    ev.err = st == FERRY_OK ? NULL : err;
    s->fn(&ev, s->ud);
}

/* Remove the extras: in batches where the destination's hook has
 * remove_batch (S3 DeleteObjects), else one by one.  The first failure's
 * status is returned (in err); the others are reported and counted. */
static ferry_status delete_extras(ferry_select *s, const char *const *names, size_t n, const ferry_copy_options *o,
                                  ferry_sync_counts *c, ferry_error *err)
{
    ferry_status first = FERRY_OK;
    ferry_buf t = {0};
    ferry_endpoint *dir = NULL;
    ferry_error e;
    ferry_error_clear(&e);
    if (n > 1 && ferry_endpoint_parse(compose(&t, s->dst_base, "", s->dst_query), o, 0, &dir, &e) == FERRY_OK &&
        !FERRY_HOOK_SLOT(dir->hook, remove_batch)) {
        ferry_endpoint_free(dir);
        dir = NULL;
    }
    for (size_t i = 0; i < n;) {
        if (ferry_cancelled()) {
            ferry_status st = ferry_error_set(&e, FERRY_ERR_INTERRUPTED, "interrupted after %lld deletions",
                                              (long long)c->deleted);
            if (first == FERRY_OK) {
                first = st;
                *err = e;
            }
            break;
        }
        size_t k = 1;
        ferry_status st;
        ferry_error_clear(&e);
        if (dir) {
            k = n - i < FERRY_HOOK_REMOVE_BATCH_MAX ? n - i : FERRY_HOOK_REMOVE_BATCH_MAX;
            size_t removed = 0;
            st = dir->hook->remove_batch(dir, names + i, k, &removed, &e);
            /* which ones failed is not said: the batch's status for all of them */
        } else {
            ferry_endpoint *ep = NULL;
            const char *text = compose(&t, s->dst_base, names[i], s->dst_query);
            st = t.failed ? ferry_error_oom(&e, NULL, NULL, NULL) : ferry_endpoint_parse(text, o, 0, &ep, &e);
            if (st == FERRY_OK && !ep->hook->remove)
                st = ferry_error_set(&e, FERRY_ERR_USAGE, "%s destinations cannot be deleted from", ep->hook->name);
            else if (st == FERRY_OK)
                st = ep->hook->remove(ep, &e);
            ferry_endpoint_free(ep);
        }
        for (size_t j = 0; j < k; j++)
            delete_event(s, names[i + j], st, &e, c);
        if (st != FERRY_OK && first == FERRY_OK) {
            first = st;
            *err = e;
        }
        i += k;
    }
    ferry_endpoint_free(dir);
    ferry_buf_release(&t);
    return first;
}

/* ---------------------------------------------------------------- ferry_sync */

typedef struct run_ctx {
    ferry_select *sel;
    ferry_sync_fn fn;
    void *ud;
    ferry_sync_counts *c;
} run_ctx;

/* multi.c's per-file result as a COPY event */
static void on_copied(const char *src, const char *dst, ferry_status st, const ferry_summary *sum,
                      const ferry_error *err, void *ud)
{
    run_ctx *r = ud;
    if (st == FERRY_OK) {
        r->c->copied++;
        r->c->bytes += sum->bytes_written;
    } else {
        r->c->failed++;
    }
    if (!r->fn)
        return;
    ferry_sync_event ev;
    memset(&ev, 0, sizeof ev);
    ev.action = FERRY_SYNC_COPY;
    ev.src = src;
    ev.dst = dst;
    ev.status = st;
    ev.err = st == FERRY_OK ? NULL : err;
    ev.sum = st == FERRY_OK ? sum : NULL;
    /* the name relative to DST */
    size_t bl = r->sel->dst_base ? strlen(r->sel->dst_base) : 0;
    size_t sl = strlen(r->sel->src_base);
    if (bl && strncmp(dst, r->sel->dst_base, bl) == 0)
        ev.name = dst + bl;
    else if (!dst[0] && strncmp(src, r->sel->src_base, sl) == 0)
        ev.name = src + sl;  /* a name refused: it has no destination */
    else
        ev.name = dst;
    r->fn(&ev, r->ud);
}

/* --dry-run: one decision buffered as "<action><reason>\0<name>\0" so the
 * deletions can be reported before them. */
typedef struct dry_ctx {
    ferry_select *sel;
    ferry_sync_counts *c;
    const ferry_copy_options *o;
    ferry_nameset taken;    /* destination names so far (multi.c's rule) */
    ferry_status first;     /* the first refused name's status, its reason in first_err */
    ferry_error first_err;
    ferry_buf lines;    /* buffered decisions (with --delete) */
    int buffer;
    int64_t listed;
} dry_ctx;

/* --dry-run: a listed name the copy would refuse (multi.c's rule) */
static void refused_event(ferry_select *s, const char *name, const ferry_error *err)
{
    if (!s->fn)
        return;
    ferry_sync_event ev;
    memset(&ev, 0, sizeof ev);
    ev.action = FERRY_SYNC_COPY;
    ev.name = name;
    ev.src = compose(&s->s_text, s->src_base, name, s->src_query);
    const char *why;
    ev.dst = s->dst_base && ferry_multi_name_safe(name, &why) ? compose(&s->d_text, s->dst_base, name, s->dst_query) : "";
    ev.dry_run = s->dry_run;
    ev.status = err->status;
    ev.err = err;
    s->fn(&ev, s->ud);
}

static ferry_status dry_one(const ferry_entry *e, void *ud, ferry_error *err)
{
    dry_ctx *d = ud;
    if (e->is_dir)
        return FERRY_OK;
    d->listed++;
    char why[512];
    int copy = decide(d->sel, e->name, e->size, e->mtime, why, sizeof why);
    ferry_error one;
    ferry_error_clear(&one);
    ferry_status cst = copy ? ferry_multi_claim_name(&d->taken, e->name, &one) : FERRY_OK;
    if (cst != FERRY_OK && cst != FERRY_ERR_DATA) {
        *err = one;
        return cst;
    }
    if (cst == FERRY_ERR_DATA) {
        /* as the copy would: a failed file, or a warning with --skip-unsafe-names */
        if (d->o->skip_unsafe_names) {
            ferry_log(FERRY_LOG_WARN, "would skip %s%s: %s", d->sel->src_base, e->name, one.msg);
            d->c->skipped++;
            return FERRY_OK;
        }
        size_t n = strlen(one.msg);
        snprintf(one.msg + n, sizeof one.msg - n, ": would not be copied (--skip-unsafe-names makes this a warning)");
        d->c->failed++;
        if (d->first == FERRY_OK) {
            d->first = cst;
            d->first_err = one;
        }
        refused_event(d->sel, e->name, &one);
        return FERRY_OK;
    }
    if (copy)
        d->c->copied++;
    else
        d->c->skipped++;
    if (d->buffer) {
        ferry_buf_append(&d->lines, copy ? "c" : "s", 1);
        ferry_buf_append(&d->lines, why, strlen(why) + 1);
        ferry_buf_append(&d->lines, e->name, strlen(e->name) + 1);
        return d->lines.failed ? ferry_error_oom(err, NULL, NULL, NULL) : FERRY_OK;
    }
    emit(d->sel, copy ? FERRY_SYNC_COPY : FERRY_SYNC_SKIP, e->name, why);
    return FERRY_OK;
}

static ferry_status dry_run(ferry_select *sel, const char *src, const ferry_copy_options *o, unsigned flags,
                            ferry_sync_counts *c, ferry_error *err)
{
    dry_ctx d;
    memset(&d, 0, sizeof d);
    d.sel = sel;
    d.c = c;
    d.o = o;
    ferry_nameset_init(&d.taken, o->case_insensitive);
    ferry_error_clear(&d.first_err);
    d.buffer = (flags & FERRY_SYNC_DELETE) && sel->fn;
    ferry_endpoint *ep = NULL;
    ferry_status st = ferry_endpoint_parse(src, o, 0, &ep, err);
    if (st == FERRY_OK && !ep->hook->list)
        st = ferry_error_set(err, FERRY_ERR_USAGE, "%s sources cannot be listed for a multi-file copy", ep->hook->name);
    if (st == FERRY_OK)
        st = ep->hook->list(ep, o->recursive, dry_one, &d, err);
    ferry_endpoint_free(ep);
    if (st == FERRY_OK && d.listed == 0)
        st = ferry_error_set(err, FERRY_ERR_NOT_FOUND, "%s matches no files%s", src,
                             (flags & FERRY_SYNC_DELETE) ? ": nothing deleted" : "");
    const char **names = NULL;
    size_t n = 0;
    if (st == FERRY_OK && (flags & FERRY_SYNC_DELETE) && d.first == FERRY_OK)
        st = extras(sel, &names, &n, err);
    else if (st == FERRY_OK && (flags & FERRY_SYNC_DELETE))
        ferry_log(FERRY_LOG_WARN, "--delete: nothing would be deleted, as %lld file%s would fail",
                  (long long)c->failed, c->failed == 1 ? "" : "s");
    for (size_t i = 0; st == FERRY_OK && i < n; i++)
        delete_event(sel, names[i], FERRY_OK, NULL, c);
    for (size_t off = 0; st == FERRY_OK && off < d.lines.len;) {
        const char *why = d.lines.data + off + 1;
        const char *name = why + strlen(why) + 1;
        emit(sel, d.lines.data[off] == 'c' ? FERRY_SYNC_COPY : FERRY_SYNC_SKIP, name, why);
        off = (size_t)(name + strlen(name) + 1 - d.lines.data);
    }
    free(names);
    ferry_buf_release(&d.lines);
    ferry_nameset_release(&d.taken);
    if (st == FERRY_OK && d.first != FERRY_OK) {
        *err = d.first_err;
        st = d.first;
    }
    return st;
}

/* "dir" -> "dir/" (before an inline URI's query string): a sync's source is
 * always a directory or prefix, listed whole. */
static char *as_directory(const char *src)
{
    size_t q = query_at(src);
    if (q > 0 && (src[q - 1] == '/' || src[q - 1] == ':'))
        return strdup(src);
    size_t n = strlen(src);
    char *out = malloc(n + 2);
    if (!out)
        return NULL;
    memcpy(out, src, q);
    out[q] = '/';
    memcpy(out + q + 1, src + q, n - q + 1);
    return out;
}

static ferry_status sync_run(const char *src_in, const char *dst, ferry_copy_options *o, unsigned flags,
                             ferry_sync_fn fn, void *ud, ferry_sync_counts *c, ferry_error *err)
{
    char *src_dir = NULL;
    const char *src = src_in;
    if (flags & FERRY_SYNC_COMPARE) {
        if (strcmp(dst, "-") == 0 || strcmp(src_in, "-") == 0)
            return ferry_error_set(err, FERRY_ERR_USAGE, "sync works between directories or prefixes, not stdin/stdout");
        if (leaf_has_glob(src_in))
            return ferry_error_set(err, FERRY_ERR_USAGE,
                                   "sync takes a directory or prefix, not a glob: use --include/--exclude");
        src_dir = as_directory(src_in);
        if (!src_dir)
            return ferry_error_oom(err, NULL, NULL, NULL);
        src = src_dir;
        o->recursive = 1;
        o->replace = 1;   /* a changed file is replaced, atomically as ever */
    }
    if ((flags & FERRY_SYNC_DELETE) && !(flags & FERRY_SYNC_COMPARE)) {
        free(src_dir);
        return ferry_error_set(err, FERRY_ERR_USAGE, "--delete belongs to sync");
    }
    ferry_select *sel = NULL;
    ferry_status st = ferry_select_new(src, dst, o, flags, fn, ud, &sel, err);
    if (st == FERRY_OK && (flags & FERRY_SYNC_DRY_RUN)) {
        st = dry_run(sel, src, o, flags, c, err);
    } else if (st == FERRY_OK) {
        run_ctx r = {sel, fn, ud, c};
        int n_ok = 0, n_failed = 0;
        st = ferry_copy_many_select(src, dst, o, sel, on_copied, &r, &n_ok, &n_failed, err);
        c->skipped = ferry_select_skipped(sel);
        if (st == FERRY_OK && (flags & FERRY_SYNC_DELETE)) {
            const char **names = NULL;
            size_t n = 0;
            st = extras(sel, &names, &n, err);
            if (st == FERRY_OK)
                st = delete_extras(sel, names, n, o, c, err);
            free(names);
        } else if (st != FERRY_OK && (flags & FERRY_SYNC_DELETE)) {
            ferry_log(FERRY_LOG_WARN, "--delete: nothing deleted, as %lld file%s could not be copied",
                      (long long)c->failed, c->failed == 1 ? "" : "s");
        }
    }
    ferry_select_free(sel);
    free(src_dir);
    return st;
}

ferry_status ferry_sync(const char *src, const char *dst, const ferry_copy_options *o_in, unsigned flags,
                        ferry_sync_fn fn, void *ud, ferry_sync_counts *counts, ferry_error *err)
{
    ferry_sync_counts local;
    ferry_sync_counts *c = counts ? counts : &local;
    memset(c, 0, sizeof *c);
    ferry_copy_options o;
    ferry_status st = ferry_copy_options_take(o_in, &o, err);
    if (st != FERRY_OK)
        return st;
    ferry_cancel_token *prev = ferry_cancel_enter(&o);
    st = sync_run(src, dst, &o, flags, fn, ud, c, err);
    ferry_cancel_adopt(prev);
    return st;
}
