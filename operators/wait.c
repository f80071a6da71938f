/*
 * wait.c - ferry_wait, the sensors: poll an endpoint until a key, file or glob
 * exists (optionally newer than a time), an HTTP URL answers 2xx (optionally
 * with a body matching a regex), or a SQL query's first cell is truthy.  The
 * kind of check comes from the hook's flags (FERRY_HOOK_SQL, FERRY_HOOK_URL).
 * Misses (absent, transient failures) are retried at the interval, with
 * optional exponential growth; permanent errors end the wait at once.
 */
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/util.h"
#include "ferry/operators.h"
#include "ferry/transfer.h"

#define HTTP_BODY_MAX (1024 * 1024)

void ferry_wait_options_init(ferry_wait_options *o)
{
    memset(o, 0, sizeof *o);
    o->timeout = 6 * 3600;
    o->interval = 60;
    o->newer_than = -1;
}

typedef struct match_state {
    int64_t newer_than;
    long matches;
} match_state;

/* One match is enough: stop the listing there (a large prefix is not paged
 * through to the end); the caller takes FOUND_STOP with matches > 0 as met. */
#define FOUND_STOP FERRY_ERR_EXISTS

static ferry_status count_match(const ferry_entry *e, void *ud, ferry_error *err)
{
    match_state *m = ud;
    if (!e->is_dir && (m->newer_than < 0 || e->mtime > m->newer_than)) {
        m->matches++;
        return ferry_error_set(err, FOUND_STOP, "found");
    }
    return FERRY_OK;
}

/* Result of one check: 1 met, 0 not yet (why says so), -1 permanent error. */
static int check_files(const char *endpoint, ferry_endpoint *ep, const ferry_wait_options *o, char *why,
                       size_t cap, ferry_error *err)
{
    ferry_copy_options co;
    ferry_copy_options_init(&co);
    if (ferry_copy_is_many(endpoint, &co)) {
        match_state m = {o->newer_than, 0};
        if (!ep->hook->list) {
            ferry_error_set(err, FERRY_ERR_USAGE, "%s endpoints cannot be listed", ep->hook->name);
            return -1;
        }
        /* keys in buckets (FERRY_HOOK_FLAT_KEYS): "s3://b/prefix/" is met by
         * any key under the prefix, also one in a sub-prefix
         * ("prefix/dt=1/x.csv"), so it is listed without the delimiter; a
         * glob matches the names of its own level, as ls does */
        const char *leaf = strrchr(ep->path, '/');
        int recursive = (ep->hook->flags & FERRY_HOOK_FLAT_KEYS) && !strpbrk(leaf ? leaf + 1 : ep->path, "*?[");
        ferry_status st = ep->hook->list(ep, recursive, count_match, &m, err);
        if ((st == FERRY_OK || st == FOUND_STOP) && m.matches > 0) {
            ferry_error_clear(err);
            return 1;
        }
        if (st == FERRY_OK || st == FERRY_ERR_NOT_FOUND) {
            snprintf(why, cap, "nothing matches %s%s", endpoint, o->newer_than >= 0 ? " (newer than asked)" : "");
            return 0;
        }
        snprintf(why, cap, "%s", err->msg);
        return err->transient || st == FERRY_ERR_TRANSIENT ? 0 : -1;
    }
    if (!ep->hook->stat) {
        ferry_error_set(err, FERRY_ERR_USAGE, "%s endpoints cannot be waited for", ep->hook->name);
        return -1;
    }
    ferry_entry e;
    ferry_status st = ep->hook->stat(ep, &e, err);
    if (st == FERRY_OK && (o->newer_than < 0 || e.mtime > o->newer_than))
        return 1;
    if (st == FERRY_OK) {
        snprintf(why, cap, "%s exists but is not newer than asked", endpoint);
        return 0;
    }
    snprintf(why, cap, "%s", err->msg);
    return st == FERRY_ERR_NOT_FOUND || err->transient || st == FERRY_ERR_TRANSIENT ? 0 : -1;
}

static int truthy(const char *cell, size_t n)
{
    static const char *const falsy[] = {"0", "0.0", "f", "false", "n", "no", "off"};
    if (n == 0)
        return 0;
    for (size_t i = 0; i < sizeof falsy / sizeof falsy[0]; i++)
        if (strlen(falsy[i]) == n && strncasecmp(falsy[i], cell, n) == 0)
            return 0;
    return 1;
}

/* The first cell of the second CSV line (the first is the header). */
static int first_cell_truthy(const char *csv, size_t len)
{
    const char *nl = memchr(csv, '\n', len);
    if (!nl || (size_t)(nl + 1 - csv) >= len)
        return 0; /* no rows */
    const char *p = nl + 1, *end = csv + len;
    if (*p == '"') {
        const char *q = p + 1;
        while (q < end && !(*q == '"' && (q + 1 >= end || q[1] != '"')))
            q += *q == '"' ? 2 : 1;
        return truthy(p + 1, (size_t)(q - p - 1));
    }
    const char *stop = p;
    while (stop < end && *stop != ',' && *stop != '\n' && *stop != '\r')
        stop++;
    return truthy(p, (size_t)(stop - p));
}

static int check_sql(ferry_endpoint *ep, const ferry_wait_options *o, char *why, size_t cap, ferry_error *err)
{
    if (!o->sql || !*o->sql) {
        ferry_error_set(err, FERRY_ERR_USAGE, "waiting on a SQL connection needs a query (--sql)");
        return -1;
    }
    ferry_writer *out = NULL;
    if (ferry_memory_writer_new(HTTP_BODY_MAX, &out, err) != FERRY_OK)
        return -1;
    ferry_exec_options eo = {1, out, -1, FERRY_EXEC_CSV};
    ferry_status st = ep->hook->exec(ep->conn, o->sql, &eo, err);
    int result;
    if (st == FERRY_OK) {
        size_t len;
        const char *data = ferry_memory_writer_data(out, &len);
        result = first_cell_truthy(data, len);
        if (!result)
            snprintf(why, cap, "the query's first cell is not truthy");
    } else {
        snprintf(why, cap, "%s", err->msg);
        result = err->transient || st == FERRY_ERR_TRANSIENT ? 0 : -1;
    }
    out->ops->free(out);
    return result;
}

/* re (NULL without --match) was compiled once by ferry_wait. */
static int check_http(ferry_endpoint *ep, const ferry_wait_options *o, const regex_t *re, char *why, size_t cap,
                      ferry_error *err)
{
    ferry_copy_options co;
    ferry_copy_options_init(&co);
    co.max_retries = 1;
    co.format = FERRY_FORMAT_RAW;
    ferry_source *src = NULL;
    ferry_status st = ep->hook->open_source(ep, &co, &src, err);
    if (st != FERRY_OK) {
        snprintf(why, cap, "%s", err->msg);
        int miss = st == FERRY_ERR_NOT_FOUND || st == FERRY_ERR_TRANSIENT || st == FERRY_ERR_TIMEOUT ||
                   err->transient;
        return miss ? 0 : -1;
    }
    int result = 1;
    if (re) {
        char *body = malloc(HTTP_BODY_MAX + 1);
        size_t len = 0, n = 0;
        while (body && len < HTTP_BODY_MAX &&
               (st = src->ops->read(src, body + len, HTTP_BODY_MAX - len, &n, err)) == FERRY_OK && n > 0)
            len += n;
        if (!body) {
            ferry_error_oom(err, NULL, NULL, NULL);
            result = -1;
        } else if (st != FERRY_OK) {
            snprintf(why, cap, "%s", err->msg);
            result = 0;
        } else {
            body[len] = '\0';
            result = regexec(re, body, 0, NULL, 0) == 0;
            if (!result)
                snprintf(why, cap, "the body does not match /%s/", o->body_regex);
        }
        free(body);
    }
    src->ops->free(src);
    return result;
}

ferry_status ferry_wait(const char *endpoint, const ferry_wait_options *o_in, ferry_error *err)
{
    ferry_wait_options o;
    if (o_in)
        o = *o_in;
    else
        ferry_wait_options_init(&o);
    if (o.interval <= 0)
        o.interval = 60;
    ferry_endpoint *ep = NULL;
    ferry_status st = ferry_endpoint_parse(endpoint, NULL, 0, &ep, err);
    if (st != FERRY_OK)
        return st;
    int is_sql = ep->conn && ep->hook->exec && (ep->hook->flags & FERRY_HOOK_SQL);
    int is_http = (ep->hook->flags & FERRY_HOOK_URL) && ep->hook->open_source;
    /* --match is compiled before the first check, so a bad regex is a usage
     * error at once; REG_NEWLINE: ^ and $ match at each line, as in grep, so
     * '^ok$' matches the body "ok\n" */
    regex_t re;
    int have_re = 0;
    if (is_http && o.body_regex) {
        if (regcomp(&re, o.body_regex, REG_EXTENDED | REG_NOSUB | REG_NEWLINE) != 0) {
            ferry_endpoint_free(ep);
            return ferry_error_set(err, FERRY_ERR_USAGE, "wait: bad regex '%s' (POSIX extended)", o.body_regex);
        }
        have_re = 1;
    }
    double deadline = ferry_now_monotonic() + o.timeout;
    double interval = o.interval;
    char why[FERRY_ERROR_MSG_MAX] = "";
    int attempt = 0;
    for (;;) {
        attempt++;
        ferry_error probe;
        ferry_error_clear(&probe);
        why[0] = '\0';
        int r = is_sql ? check_sql(ep, &o, why, sizeof why, &probe)
                : is_http ? check_http(ep, &o, have_re ? &re : NULL, why, sizeof why, &probe)
                          : check_files(endpoint, ep, &o, why, sizeof why, &probe);
        if (r == 1) {
            st = FERRY_OK;
            break;
        }
        if (r < 0) {
            if (err)
                *err = probe;
            st = probe.status != FERRY_OK ? probe.status : FERRY_ERR_INTERNAL;
            break;
        }
        double left = deadline - ferry_now_monotonic();
        if (left <= 0) {
            st = ferry_error_set(err, FERRY_ERR_TIMEOUT, "wait %s: not met after %.0f s (%d checks): %s", endpoint,
                                 o.timeout, attempt, why);
            break;
        }
        double wait = interval < left ? interval : left;
        if (o.on_miss)
            o.on_miss(attempt, wait, why, o.ud);
        if (ferry_sleep_cancellable(wait) != 0) {
            st = ferry_error_set(err, FERRY_ERR_INTERRUPTED, "wait %s: interrupted by signal %d", endpoint,
                                 ferry_cancel_signal());
            break;
        }
        if (o.exponential && interval < 3600)
            interval = interval * 2 > 3600 ? 3600 : interval * 2;
    }
    if (have_re)
        regfree(&re);
    ferry_endpoint_free(ep);
    return st;
}
