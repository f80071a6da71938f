/*
 * multi.c - copies of many files (globs, directories, prefixes) and the
 * --move semantics: list the source through its hook (streamed: names go
 * through a bounded queue, never the whole listing in memory), copy each
 * file as an independent atomic transfer on one of --transfers workers, and
 * delete a source file only once its destination committed and the sizes
 * agree.  A listed name that cannot be a destination name ("..", "", an
 * absolute name), or that maps to a destination name an earlier entry of
 * the batch took (the same name listed twice; with --case-insensitive, a
 * name equal but for case), is a failed file, never dropped in silence and
 * never written over the first.  Each destination directory is created
 * once per batch (a set shared by the workers), not once per file.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/thread.h"
#include "core/util.h"
#include "ferry/log.h"
#include "ferry/transfer.h"
#include "transfer/move.h"
#include "transfer/multi.h"
#include "transfer/nameset.h"
#include "transfer/options.h"
#include "transfer/sync.h"

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


/* ---- the plan ------------------------------------------------------------------ */

struct ferry_multi_plan {
    ferry_copy_options o;       /* taken; per-file copies get a copy with source_size set */
    char *src;                  /* owned: as given */
    char *base;                 /* owned: the listing base ("s3://b/in/") */
    char *query;                /* owned: an inline URI's "?..." kept on every file, or NULL */
    char *dst_base;             /* owned: "dst/" (NULL when dst is "-") */
    char *dst;                  /* owned: as given */
    int transfers;
    size_t file_max_memory;     /* --max-memory's share of one file (0 = no bound) */
    ferry_file_result_fn fn;
    void *ud;
    ferry_multi_admit_fn admit;
    void *admit_ud;
    ferry_multi_committed_fn committed;
    void *committed_ud;
    /* results, under mu */
    pthread_mutex_t mu;
    int n_ok, n_failed, n_skipped;
    ferry_status first;
    ferry_error first_err;
    int stop;                   /* --fail-fast, a usage error or cancellation: take no new file */
    /* destination names taken so far (the lister's thread only) */
    ferry_nameset taken;
    /* destination directories made so far, and the ones being made (at
     * most one per worker): a worker that needs one being made waits on
     * dirs_cv, so two workers never make the same one, and nobody waits
     * for another directory's round trips; under dirs_mu */
    pthread_mutex_t dirs_mu;
    pthread_cond_t dirs_cv;
    ferry_nameset dirs;
    const char *making[FERRY_MULTI_TRANSFERS_MAX]; /* borrowed from the workers; NULL = free */
    int n_mkdir;                /* directories made (FERRY_LOG_DEBUG at the end) */
};

static ferry_status plan_oom(ferry_multi_plan *p, ferry_error *err)
{
    ferry_multi_plan_free(p);
    return ferry_error_oom(err, NULL, NULL, NULL);
}

ferry_status ferry_multi_plan_new(const char *src, const char *dst, const ferry_copy_options *o,
                                  ferry_file_result_fn fn, void *ud, ferry_multi_plan **out, ferry_error *err)
{
    *out = NULL;
    ferry_multi_plan *p = calloc(1, sizeof *p);
    if (!p)
        return ferry_error_oom(err, NULL, NULL, NULL);
    pthread_mutex_init(&p->mu, NULL);
    pthread_mutex_init(&p->dirs_mu, NULL);
    pthread_cond_init(&p->dirs_cv, NULL);
    ferry_nameset_init(&p->taken, o->case_insensitive);
    ferry_nameset_init(&p->dirs, 0);
    ferry_error_clear(&p->first_err);
    p->o = *o;
    p->fn = fn;
    p->ud = ud;
    p->src = strdup(src);
    p->dst = strdup(dst);
    if (!p->src || !p->dst)
        return plan_oom(p, err);
    /* an inline URI keeps its query string (connection extras) on every file */
    const char *q = strstr(src, "://") && strncmp(src, "s3://", 5) != 0 ? strchr(src, '?') : NULL;
    char *src_path = q ? strndup(src, (size_t)(q - src)) : strdup(src);
    if (!src_path)
        return plan_oom(p, err);
    p->base = listing_base(src_path);
    free(src_path);
    if (q && !(p->query = strdup(q)))
        return plan_oom(p, err);
    size_t dl = strlen(dst);
    if (strcmp(dst, "-") != 0)
        p->dst_base = (dl > 0 && (dst[dl - 1] == '/' || dst[dl - 1] == ':')) ? strdup(dst) : join(dst, "/");
    if (!p->base || (strcmp(dst, "-") != 0 && !p->dst_base))
        return plan_oom(p, err);
    p->transfers = o->transfers > 0 ? o->transfers : FERRY_MULTI_TRANSFERS_DEFAULT;
    if (p->transfers > FERRY_MULTI_TRANSFERS_MAX)
        p->transfers = FERRY_MULTI_TRANSFERS_MAX;
    if (!p->dst_base)
        p->transfers = 1;   /* to stdout: one file after the other, in listing order */
    /* --max-memory bounds the whole copy: each of the files in flight gets its share */
    if (o->max_memory)
        p->file_max_memory = o->max_memory / (size_t)p->transfers;
    *out = p;
    return FERRY_OK;
}

void ferry_multi_plan_free(ferry_multi_plan *p)
{
    if (!p)
        return;
    pthread_mutex_destroy(&p->mu);
    pthread_mutex_destroy(&p->dirs_mu);
    pthread_cond_destroy(&p->dirs_cv);
    ferry_nameset_release(&p->taken);
    ferry_nameset_release(&p->dirs);
    free(p->src);
    free(p->base);
    free(p->query);
    free(p->dst_base);
    free(p->dst);
    free(p);
}

void ferry_multi_plan_set_admit(ferry_multi_plan *p, ferry_multi_admit_fn admit, void *ud)
{
    p->admit = admit;
    p->admit_ud = ud;
}

void ferry_multi_plan_set_committed(ferry_multi_plan *p, ferry_multi_committed_fn committed, void *ud)
{
    p->committed = committed;
    p->committed_ud = ud;
}

int ferry_multi_name_safe(const char *name, const char **why)
{
    if (!name[0]) {
        *why = "is empty";
        return 0;
    }
    if (name[0] == '/') {
        *why = "is absolute (it starts with '/')";
        return 0;
    }
    for (const char *c = name;;) {
        size_t n = strcspn(c, "/");
        if (n == 0) {
            *why = "has an empty component ('//' or a trailing '/')";
            return 0;
        }
        if ((n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.')) {
            *why = n == 1 ? "has a '.' component" : "has a '..' component (it would leave the destination)";
            return 0;
        }
        if (!c[n])
            break;
        c += n + 1;
    }
    return 1;
}

ferry_status ferry_multi_claim_name(ferry_nameset *taken, const char *name, ferry_error *err)
{
    const char *why = NULL;
    if (!ferry_multi_name_safe(name, &why))
        return ferry_error_set(err, FERRY_ERR_DATA, "the name '%s' %s, so it has no safe destination name",
                               name, why);
    if (!taken)
        return FERRY_OK;
    const char *prior = NULL;
    int added = ferry_nameset_add(taken, name, &prior);
    if (added < 0)
        return ferry_error_oom(err, NULL, NULL, "destination names");
    if (added == 0 && strcmp(prior, name) == 0)
        return ferry_error_set(err, FERRY_ERR_DATA,
                               "the name '%s' was listed twice in this batch: one destination name for two "
                               "entries, the first one copied", name);
    if (added == 0)
        return ferry_error_set(err, FERRY_ERR_DATA,
                               "the name '%s' differs from '%s', listed before it, only by case, and the "
                               "destination folds case (--case-insensitive): one destination name for two "
                               "entries, the first one copied", name, prior);
    return FERRY_OK;
}

/* Record one file's result and report it (serialised). */
static void plan_result(ferry_multi_plan *p, const char *s, const char *d, ferry_status st,
                        const ferry_summary *sum, const ferry_error *one)
{
    pthread_mutex_lock(&p->mu);
    if (st == FERRY_OK) {
        p->n_ok++;
    } else {
        p->n_failed++;
        if (p->first == FERRY_OK) {
            p->first = st;
            p->first_err = *one;
        } else if (st == FERRY_ERR_INTERRUPTED && p->first != FERRY_ERR_INTERRUPTED) {
            p->first = st;  /* a signal: the run's status is 130 whatever failed before */
            p->first_err = *one;
        }
        /* --fail-fast stops at the first failure; a usage or configuration error would be every file's */
        if (p->o.fail_fast || st == FERRY_ERR_USAGE || st == FERRY_ERR_CONFIG || st == FERRY_ERR_INTERRUPTED)
            p->stop = 1;
    }
    if (p->fn)
        p->fn(s, d, st, sum, st == FERRY_OK ? NULL : one, p->ud);
    pthread_mutex_unlock(&p->mu);
}

static int plan_stopped(ferry_multi_plan *p)
{
    pthread_mutex_lock(&p->mu);
    int stop = p->stop;
    pthread_mutex_unlock(&p->mu);
    return stop || ferry_cancelled();
}

/* A listed name refused (why in one): a failed file, or a warning with
 * --skip-unsafe-names. */
static void refuse_name(ferry_multi_plan *p, const char *name, const ferry_error *one)
{
    char *s = join(p->base, name);
    if (p->o.skip_unsafe_names) {
        ferry_log(FERRY_LOG_WARN, "skipped %s: %s", s ? s : p->base, one->msg);
        pthread_mutex_lock(&p->mu);
        p->n_skipped++;
        pthread_mutex_unlock(&p->mu);
    } else {
        ferry_summary sum;
        memset(&sum, 0, sizeof sum);
        sum.rows_read = sum.rows_written = -1;
        ferry_error failed = *one;
        size_t n = strlen(failed.msg);
        snprintf(failed.msg + n, sizeof failed.msg - n, ": not copied (--skip-unsafe-names makes this a warning)");
        const char *why;
        char *d = ferry_multi_name_safe(name, &why) ? join(p->dst_base, name) : NULL;
        plan_result(p, s ? s : p->base, d ? d : "", FERRY_ERR_DATA, &sum, &failed);
        free(d);
    }
    free(s);
}

static int being_made(const ferry_multi_plan *p, const char *dir)
{
    for (int i = 0; i < FERRY_MULTI_TRANSFERS_MAX; i++)
        if (p->making[i] && strcmp(p->making[i], dir) == 0)
            return 1;
    return 0;
}

/* The destination's parent directory of d (DEST/NAME), made once per batch:
 * the first worker to need it makes it (outside the lock) while the others
 * needing the same one wait, then every file in it finds it in the set. */
static ferry_status parent_once(ferry_multi_plan *p, const char *d, ferry_error *err)
{
    const char *slash = strrchr(d, '/');
    if (!slash || slash == d)
        return FERRY_OK;
    size_t plen = (size_t)(slash - d);
    char small[512];
    char *parent = plen < sizeof small ? small : malloc(plen + 1);
    if (!parent)
        return ferry_error_oom(err, NULL, NULL, NULL);
    memcpy(parent, d, plen);
    parent[plen] = '\0';
    ferry_status st = FERRY_OK;
    int slot = -1;
    pthread_mutex_lock(&p->dirs_mu);
    while (!ferry_nameset_find(&p->dirs, parent)) {
        if (being_made(p, parent)) {
            pthread_cond_wait(&p->dirs_cv, &p->dirs_mu); /* its maker broadcasts, made or failed */
            continue;
        }
        for (int i = 0; i < FERRY_MULTI_TRANSFERS_MAX && slot < 0; i++)
            if (!p->making[i])
                slot = i;
        if (slot < 0) { /* more makers than workers: cannot be, but never spin */
            pthread_cond_wait(&p->dirs_cv, &p->dirs_mu);
            continue;
        }
        p->making[slot] = parent;
        break;
    }
    pthread_mutex_unlock(&p->dirs_mu);
    if (slot >= 0) {
        st = make_parent(d, &p->o, err);
        pthread_mutex_lock(&p->dirs_mu);
        p->making[slot] = NULL;
        if (st == FERRY_OK) {
            p->n_mkdir++;
            if (ferry_nameset_add(&p->dirs, parent, NULL) < 0)
                st = ferry_error_oom(err, NULL, NULL, NULL);
        }
        pthread_cond_broadcast(&p->dirs_cv);
        pthread_mutex_unlock(&p->dirs_mu);
    }
    if (parent != small)
        free(parent);
    return st;
}

static ferry_status copy_one(ferry_multi_plan *p, const ferry_multi_entry *e)
{
    ferry_summary sum;
    memset(&sum, 0, sizeof sum);
    sum.rows_read = sum.rows_written = -1;
    ferry_error one;
    ferry_error_clear(&one);
    if (ferry_multi_claim_name(NULL, e->name, &one) != FERRY_OK) {
        refuse_name(p, e->name, &one);
        return p->o.skip_unsafe_names ? FERRY_OK : FERRY_ERR_DATA;
    }
    char *s0 = join(p->base, e->name);
    char *s = s0 && p->query ? join(s0, p->query) : s0;
    if (s != s0)
        free(s0);
    char *d = p->dst_base ? join(p->dst_base, e->name) : strdup(p->dst);
    ferry_status st = (s && d) ? FERRY_OK : ferry_error_oom(&one, NULL, NULL, NULL);
    if (st == FERRY_OK && p->dst_base)
        st = parent_once(p, d, &one); /* the destination's parent directory, once per batch */
    if (st == FERRY_OK) {
        ferry_copy_options fo = p->o;
        fo.source_size = e->size;
        if (p->file_max_memory)
            fo.max_memory = p->file_max_memory;
        st = ferry_copy(s, d, &fo, &sum, &one);
        /* issue 14 seam (b): the copy committed; e.g. the destination gets
         * the source's mtime (sync), on this worker, before the result is told */
        if (st == FERRY_OK && p->committed)
            p->committed(p->committed_ud, d, e, &fo);
        if (st == FERRY_ERR_USAGE && p->file_max_memory && strstr(one.msg, "--max-memory"))
            ferry_error_prefix(&one, "--max-memory %zuM is shared by %d transfers, %zuM each",
                               p->o.max_memory >> 20, p->transfers, p->file_max_memory >> 20);
    }
    plan_result(p, s ? s : "", d ? d : "", st, &sum, &one);
    free(s);
    free(d);
    return st;
}

ferry_status ferry_multi_copy_one(ferry_multi_plan *p, const ferry_multi_entry *e)
{
    return copy_one(p, e);
}

/* ---- the run: lister -> bounded queue -> workers ---------------------------------- */

typedef struct queued {
    char *name;             /* owned while queued */
    int64_t size, mtime;
} queued;

typedef struct run {
    ferry_multi_plan *p;
    pthread_mutex_t mu;
    pthread_cond_t not_empty, not_full;
    queued *ring;
    size_t cap, head, count;
    int closed;             /* the lister is done: workers drain and leave */
    size_t seen;            /* files listed (admitted or not) */
    size_t listed;          /* files admitted */
} run;

/* Wait on c for at most 200 ms: cancellation is polled between waits. */
static void timed_wait(pthread_cond_t *c, pthread_mutex_t *mu)
{
    ferry_cond_wait_for(c, mu, 0.2);
}

static void *worker_main(void *arg)
{
    run *r = arg;
    for (;;) {
        pthread_mutex_lock(&r->mu);
        while (r->count == 0 && !r->closed && !plan_stopped(r->p))
            timed_wait(&r->not_empty, &r->mu);
        if (r->count == 0 || plan_stopped(r->p)) {
            pthread_mutex_unlock(&r->mu);
            break;
        }
        queued q = r->ring[r->head];
        r->head = (r->head + 1) % r->cap;
        r->count--;
        pthread_cond_signal(&r->not_full);
        pthread_mutex_unlock(&r->mu);
        ferry_multi_entry e = {q.name, q.size, q.mtime};
        copy_one(r->p, &e);
        free(q.name);
    }
    return NULL;
}

/* A status the lister's callback returns to end the listing early (fail-fast,
 * cancellation); never reported. */
#define LIST_STOPPED FERRY_ERR_INTERRUPTED


static ferry_status enqueue(const ferry_entry *e, void *ud, ferry_error *err)
{
    run *r = ud;
    if (e->is_dir) {
        /* a sub-directory of a non-recursive listing is not copied; but a
         * "directory" whose name is unsafe (S3's common prefixes "in//",
         * "in/../") hides keys that can never be copied: say so */
        const char *why;
        if (ferry_multi_name_safe(e->name, &why))
            return FERRY_OK;
    }
    r->seen++;  /* the lister's thread only */
    if (r->p->admit) {
        /* issue 14 seam (a): under the plan's lock, so what admit reports
         * (sync's SKIP events) is serialised with the workers' results */
        pthread_mutex_lock(&r->p->mu);
        int a = r->p->admit(r->p->admit_ud, e, err);
        pthread_mutex_unlock(&r->p->mu);
        if (a == 0)
            return FERRY_OK;
        if (a != 1)
            return err->status != FERRY_OK ? err->status : ferry_error_set(err, FERRY_ERR_INTERNAL, "admit failed");
    }
    if (r->p->dst_base) {
        /* its own safe destination name, not one an earlier entry took */
        ferry_error one;
        ferry_error_clear(&one);
        ferry_status cst = ferry_multi_claim_name(&r->p->taken, e->name, &one);
        if (cst == FERRY_ERR_DATA) {
            refuse_name(r->p, e->name, &one);
            return plan_stopped(r->p) ? ferry_error_set(err, LIST_STOPPED, "listing stopped") : FERRY_OK;
        }
        if (cst != FERRY_OK) {
            *err = one;
            return cst;
        }
    }
    char *name = strdup(e->name);
    if (!name)
        return ferry_error_oom(err, NULL, NULL, NULL);
    pthread_mutex_lock(&r->mu);
    while (r->count == r->cap && !plan_stopped(r->p))
        timed_wait(&r->not_full, &r->mu);
    if (plan_stopped(r->p)) {
        pthread_mutex_unlock(&r->mu);
        free(name);
        return ferry_error_set(err, LIST_STOPPED, "listing stopped");
    }
    queued *q = &r->ring[(r->head + r->count) % r->cap];
    q->name = name;
    q->size = e->is_dir ? -1 : e->size;
    q->mtime = e->mtime;
    r->count++;
    r->listed++;
    pthread_cond_signal(&r->not_empty);
    pthread_mutex_unlock(&r->mu);
    return FERRY_OK;
}

ferry_status ferry_multi_run(ferry_multi_plan *p, int *n_ok, int *n_failed, ferry_error *err)
{
    *n_ok = *n_failed = 0;
    ferry_endpoint *ep = NULL;
    ferry_status st = ferry_endpoint_parse(p->src, &p->o, 0, &ep, err);
    if (st != FERRY_OK)
        return st;
    if (!ep->hook->list) {
        st = ferry_error_set(err, FERRY_ERR_USAGE, "%s sources cannot be listed for a multi-file copy",
                             ep->hook->name);
        ferry_endpoint_free(ep);
        return st;
    }
    run r;
    memset(&r, 0, sizeof r);
    r.p = p;
    r.cap = (size_t)p->transfers * 4 + 16;
    r.ring = calloc(r.cap, sizeof *r.ring);
    pthread_t *threads = calloc((size_t)p->transfers, sizeof *threads);
    if (!r.ring || !threads) {
        free(r.ring);
        free(threads);
        ferry_endpoint_free(ep);
        return ferry_error_oom(err, NULL, NULL, NULL);
    }
    pthread_mutex_init(&r.mu, NULL);
    ferry_cond_init_monotonic(&r.not_empty);
    ferry_cond_init_monotonic(&r.not_full);
    int started = 0;
    for (; started < p->transfers; started++)
        if (ferry_thread_create(&threads[started], NULL, worker_main, &r) != 0)
            break;
    if (started == 0) {
        st = ferry_error_set(err, FERRY_ERR_INTERNAL, "cannot start a transfer thread");
    } else {
        if (started < p->transfers)
            ferry_log(FERRY_LOG_WARN, "started %d of %d transfer threads", started, p->transfers);
        ferry_log(FERRY_LOG_DEBUG, "copy: %d files in flight at once, queue of %zu names", started, r.cap);
        ferry_error lerr;
        ferry_error_clear(&lerr);
        ferry_status lst = ep->hook->list(ep, p->o.recursive, enqueue, &r, &lerr);
        pthread_mutex_lock(&r.mu);
        r.closed = 1;
        pthread_cond_broadcast(&r.not_empty);
        pthread_mutex_unlock(&r.mu);
        for (int i = 0; i < started; i++)
            pthread_join(threads[i], NULL);
        if (lst != FERRY_OK && !(lst == LIST_STOPPED && plan_stopped(p))) {
            /* the listing failed part way: one failed entry, reported */
            ferry_summary none;
            memset(&none, 0, sizeof none);
            none.rows_read = none.rows_written = -1;
            ferry_error_prefix(&lerr, "listing %s failed", p->base);
            plan_result(p, p->base, p->dst_base ? p->dst_base : p->dst, lst, &none, &lerr);
        }
    }
    /* names left queued when the run stopped early */
    for (size_t i = 0; i < r.count; i++)
        free(r.ring[(r.head + i) % r.cap].name);
    pthread_cond_destroy(&r.not_empty);
    pthread_cond_destroy(&r.not_full);
    pthread_mutex_destroy(&r.mu);
    free(r.ring);
    free(threads);
    ferry_endpoint_free(ep);
    if (st != FERRY_OK)
        return st;

    *n_ok = p->n_ok;
    *n_failed = p->n_failed;
    if (p->n_skipped)
        ferry_log(FERRY_LOG_WARN, "%d files skipped for unsafe or colliding names (--skip-unsafe-names)",
                  p->n_skipped);
    if (p->dst_base)
        ferry_log(FERRY_LOG_DEBUG, "copy: %d destination directories made (once each)", p->n_mkdir);
    if (ferry_cancelled() && p->first != FERRY_ERR_INTERRUPTED) {
        p->first = ferry_error_set(&p->first_err, FERRY_ERR_INTERRUPTED, "interrupted by signal %d",
                                   ferry_cancel_signal());
    }
    if (p->first != FERRY_OK) {
        if (err)
            *err = p->first_err;
        return p->first;
    }
    if (r.seen == 0)
        return ferry_error_set(err, FERRY_ERR_NOT_FOUND, "%s matches no files", p->src);
    return FERRY_OK;
}

/* The selector (transfer/sync.h) as the plan's seams. */
static int select_admit(void *ud, const ferry_entry *e, ferry_error *err)
{
    (void)err;
    return ferry_select_entry(ud, e->name, e->is_dir ? -1 : e->size, e->mtime) ? 1 : 0;
}

static void select_committed(void *ud, const char *dst, const ferry_multi_entry *e, const ferry_copy_options *o)
{
    ferry_select_copied(ud, dst, e->mtime, o);
}

/* ferry_copy_many with o taken and its cancel token current; sel (may be
 * NULL) selects the files (transfer/sync.h). */
ferry_status ferry_copy_many_select(const char *src, const char *dst, const ferry_copy_options *o, ferry_select *sel,
                                    ferry_file_result_fn fn, void *ud, int *n_ok, int *n_failed, ferry_error *err)
{
    *n_ok = *n_failed = 0;
    ferry_multi_plan *p = NULL;
    ferry_status st = ferry_multi_plan_new(src, dst, o, fn, ud, &p, err);
    if (st == FERRY_OK && sel) {
        ferry_multi_plan_set_admit(p, select_admit, sel);
        ferry_multi_plan_set_committed(p, select_committed, sel);
    }
    if (st == FERRY_OK)
        st = ferry_multi_run(p, n_ok, n_failed, err);
    ferry_multi_plan_free(p);
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
