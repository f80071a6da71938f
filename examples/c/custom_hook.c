/*
 * custom_hook.c - the extension point: hooks defined outside libferry and
 * registered at run time.  Two of them:
 *
 *   - "count", a sink that only counts bytes and lines (a /dev/null with
 *     statistics), handy for measuring how fast a source can be read;
 *   - "squares", a SQL system with one table of rows (n, n*n) for n = 1 ..
 *     10000.  Its table says FERRY_HOOK_SQL and has open_range_sources, so
 *     libferry treats it as it treats Postgres and MySQL: --query,
 *     --parallel N, --partition K/N and their --dry-run descriptions work.
 *
 *   custom_hook SOURCE            count SOURCE into the connection 'counter'
 *   custom_hook [--dry-run] [--parallel N] [--partition K/N] [--split-output]
 *               [--query SQL] [--replace] SOURCE DEST
 *                                 copy, e.g. squares: -> out.csv (ferry copy)
 *
 *   FERRY_CONN_COUNTER='{"conn_type": "count"}'   (the defaults, set when
 *   FERRY_CONN_SQUARES='{"conn_type": "squares"}'  not in the environment)
 *
 * A hook is one const struct ferry_hook beginning with FERRY_HOOK_INIT (the
 * table's size, so a hook built against this header keeps working with a
 * newer libferry); unused slots stay NULL.  A sink is a ferry_writer:
 * write() borrows the buffer, commit() publishes, abort() undoes.  A source
 * is a ferry_source: read() fills the buffer, 0 bytes at the end.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/ferry.h"

/* ---- "count": a sink ------------------------------------------------------ */

typedef struct count_sink {
    ferry_writer base;  /* first member: the transfer sees a ferry_writer */
    long long lines;
} count_sink;

static ferry_status count_write(ferry_writer *w, const void *buf, size_t len, ferry_error *err)
{
    (void)err;
    count_sink *c = (count_sink *)w;
    for (const char *p = buf, *end = p + len; (p = memchr(p, '\n', (size_t)(end - p))) != NULL; p++)
        c->lines++;
    return FERRY_OK;
}

static ferry_status count_commit(ferry_writer *w, ferry_error *err)
{
    (void)err;
    count_sink *c = (count_sink *)w;
    w->rows = c->lines;
    printf("count: %lld bytes, %lld lines\n", (long long)w->bytes, c->lines);
    return FERRY_OK;
}

static void count_abort(ferry_writer *w)
{
    (void)w; /* nothing was published */
}

static void count_free(ferry_writer *w)
{
    free(w);
}

static const ferry_writer_ops count_ops = {"count", count_write, count_commit, count_abort, count_free};

static ferry_status count_open_sink(const ferry_endpoint *ep, const ferry_copy_options *o, ferry_writer **out,
                                    ferry_error *err)
{
    (void)ep;
    (void)o;
    count_sink *c = calloc(1, sizeof *c);
    if (!c)
        return ferry_error_set(err, FERRY_ERR_INTERNAL, "out of memory");
    c->base.ops = &count_ops;
    c->base.rows = -1;
    *out = &c->base;
    return FERRY_OK;
}

static const char *const count_types[] = {"count", NULL};

static const ferry_hook count_hook = {
    FERRY_HOOK_INIT,
    .name = "count",
    .conn_types = count_types,
    .open_sink = count_open_sink,
};

/* ---- "squares": a SQL system ---------------------------------------------- */

#define SQUARES_ROWS 10000

/* Rows lo..hi (n, n*n) as csv or tsv, an optional header first. */
typedef struct squares_source {
    ferry_source base;      /* first member: the transfer sees a ferry_source */
    int64_t next, hi;
    char sep;
    char line[64];          /* the line being handed out */
    size_t len, off;
} squares_source;

static ferry_status squares_read(ferry_source *s, void *buf, size_t cap, size_t *nread, ferry_error *err)
{
    (void)err;
    squares_source *q = (squares_source *)s;
    size_t n = 0;
    while (n < cap) {
        if (q->off == q->len) {
            if (q->next > q->hi)
                break;
            q->len = (size_t)snprintf(q->line, sizeof q->line, "%" PRId64 "%c%" PRId64 "\n", q->next, q->sep,
                                      q->next * q->next);
            q->off = 0;
            q->next++;
        }
        size_t take = q->len - q->off < cap - n ? q->len - q->off : cap - n;
        memcpy((char *)buf + n, q->line + q->off, take);
        q->off += take;
        n += take;
    }
    *nread = n;
    return FERRY_OK;
}

static void squares_free(ferry_source *s)
{
    free(s);
}

static const ferry_source_ops squares_ops = {"squares", squares_read, NULL, squares_free};

static ferry_status squares_new(const ferry_copy_options *o, int64_t lo, int64_t hi, int header, ferry_source **out,
                                ferry_error *err)
{
    if (o->format != FERRY_FORMAT_CSV && o->format != FERRY_FORMAT_TSV)
        return ferry_error_set(err, FERRY_ERR_USAGE, "squares: csv or tsv only");
    squares_source *q = calloc(1, sizeof *q);
    if (!q)
        return ferry_error_set(err, FERRY_ERR_INTERNAL, "out of memory");
    q->base.ops = &squares_ops;
    q->base.size = -1;
    q->base.rows = -1;
    q->next = lo;
    q->hi = hi;
    q->sep = o->format == FERRY_FORMAT_TSV ? '\t' : ',';
    if (header && o->header) {
        q->len = (size_t)snprintf(q->line, sizeof q->line, "n%csquare\n", q->sep);
        q->off = 0;
    }
    *out = &q->base;
    return FERRY_OK;
}

/* The rows asked for: the table "squares" (the path), or the one query this
 * system understands, "SELECT * FROM squares [LIMIT k]". */
static ferry_status squares_rows(const ferry_endpoint *ep, const ferry_copy_options *o, int64_t *hi,
                                 ferry_error *err)
{
    *hi = SQUARES_ROWS;
    if (o->query && *o->query) {
        long long limit = -1;
        char rest[2] = "";
        if (strcmp(o->query, "SELECT * FROM squares") == 0)
            return FERRY_OK;
        if (sscanf(o->query, "SELECT * FROM squares LIMIT %lld%1s", &limit, rest) != 1 || limit < 0)
            return ferry_error_set(err, FERRY_ERR_DATA, "squares: cannot run '%s' (only SELECT * FROM squares "
                                   "[LIMIT k])", o->query);
        if (limit < *hi)
            *hi = limit;
        return FERRY_OK;
    }
    if (strcmp(ep->path, "squares") != 0)
        return ferry_error_set(err, FERRY_ERR_NOT_FOUND, "squares: no table '%s' (there is one: squares)", ep->path);
    return FERRY_OK;
}

static ferry_status squares_open_source(const ferry_endpoint *ep, const ferry_copy_options *o, ferry_source **out,
                                        ferry_error *err)
{
    int64_t hi;
    ferry_status st = squares_rows(ep, o, &hi, err);
    return st != FERRY_OK ? st : squares_new(o, 1, hi, 1, out, err);
}

/* Ranges first .. first+count-1 of n equal ranges of n's values (1 .. the
 * rows, or o->split_lo .. o->split_hi with --split-range; the first range
 * open below, the last above), as ranged copies want them. */
static ferry_status squares_open_range_sources(const ferry_endpoint *ep, const ferry_copy_options *o, int n,
                                               int first, int count, ferry_source **out, char **bounds,
                                               ferry_error *err)
{
    if (o->split_by && strcmp(o->split_by, "n") != 0)
        return ferry_error_set(err, FERRY_ERR_USAGE, "squares: ranges are cut by n, not %s", o->split_by);
    int64_t hi;
    ferry_status st = squares_rows(ep, o, &hi, err);
    int64_t lo = o->split_range_set ? o->split_lo : 1, top = o->split_range_set ? o->split_hi : hi;
    int64_t span = top - lo + 1 > 0 ? top - lo + 1 : 1;
    int every_header = o->split_output || o->partition_count > 0;
    for (int i = 0; st == FERRY_OK && i < count; i++) {
        int r = first + i;
        int64_t a = r == 0 ? 1 : lo + span * r / n;
        int64_t b = r == n - 1 ? hi : lo + span * (r + 1) / n - 1;
        a = a < 1 ? 1 : a;
        b = b > hi ? hi : b;   /* a > b: an empty range */
        st = squares_new(o, a, b, r == 0 || every_header, &out[i], err);
        if (st == FERRY_OK && !(bounds[i] = malloc(64)))
            st = ferry_error_set(err, FERRY_ERR_INTERNAL, "out of memory");
        if (st == FERRY_OK)
            snprintf(bounds[i], 64, "{\"n\": [%" PRId64 ", %" PRId64 "]}", a, b);
    }
    return st;
}

static const char *const squares_types[] = {"squares", NULL};

static const ferry_hook squares_hook = {
    FERRY_HOOK_INIT,
    .flags = FERRY_HOOK_SQL,
    .name = "squares",
    .conn_types = squares_types,
    .open_source = squares_open_source,
    .open_range_sources = squares_open_range_sources,
    .split_default = "ranges of n",
};

/* ---- the program ---------------------------------------------------------- */

static int usage(const char *argv0)
{
    fprintf(stderr,
            "usage: %s SOURCE   (counts into the connection 'counter')\n"
            "       %s [--dry-run] [--parallel N] [--partition K/N] [--split-output] [--query SQL] [--replace] "
            "SOURCE DEST\n",
            argv0, argv0);
    return FERRY_ERR_USAGE;
}

int main(int argc, char **argv)
{
    ferry_copy_options o;
    ferry_copy_options_init(&o);
    int dry_run = 0;
    const char *ends[2] = {NULL, NULL};
    int n_ends = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has_value = i + 1 < argc;
        if (strcmp(a, "--dry-run") == 0)
            dry_run = 1;
        else if (strcmp(a, "--replace") == 0)
            o.replace = 1;
        else if (strcmp(a, "--split-output") == 0)
            o.split_output = 1;
        else if (strcmp(a, "--parallel") == 0 && has_value)
            o.parallel = atoi(argv[++i]);
        else if (strcmp(a, "--query") == 0 && has_value)
            o.query = argv[++i];
        else if (strcmp(a, "--partition") == 0 && has_value) {
            /* K/N as `ferry copy --partition`, K 0-based */
            if (sscanf(argv[++i], "%d/%d", &o.partition_index, &o.partition_count) != 2 ||
                o.partition_count < 1 || o.partition_index < 0 || o.partition_index >= o.partition_count)
                return usage(argv[0]);
        } else if (strncmp(a, "--", 2) == 0 || n_ends == 2)
            return usage(argv[0]);
        else
            ends[n_ends++] = a;
    }
    if (n_ends == 0)
        return usage(argv[0]);
    if (ferry_hook_register(&count_hook) != FERRY_OK || ferry_hook_register(&squares_hook) != FERRY_OK) {
        fprintf(stderr, "error: a hook table was refused\n");
        return FERRY_ERR_INTERNAL;
    }
    if (!getenv("FERRY_CONN_COUNTER"))
        setenv("FERRY_CONN_COUNTER", "{\"conn_type\": \"count\"}", 1);
    if (!getenv("FERRY_CONN_SQUARES"))
        setenv("FERRY_CONN_SQUARES", "{\"conn_type\": \"squares\"}", 1);
    const char *dst = n_ends == 2 ? ends[1] : "counter:";
    if (n_ends == 1) {
        o.src_compress = FERRY_COMPRESS_AUTO; /* a .gz source is decompressed on the way */
        o.dst_compress = FERRY_COMPRESS_NONE;
    }
    ferry_summary sum;
    ferry_error err;
    ferry_error_clear(&err);
    ferry_status st;
    if (dry_run) {
        char buf[8192];
        st = ferry_copy_describe(ends[0], dst, &o, buf, sizeof buf, &err);
        fputs(buf, stdout);
    } else {
        st = ferry_copy(ends[0], dst, &o, &sum, &err);
    }
    if (st != FERRY_OK) {
        fprintf(stderr, "error: %s\n", err.msg);
        return (int)st;
    }
    return 0;
}
