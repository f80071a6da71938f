/*
 * custom_hook.c - the extension point: a hook defined outside libferry and
 * registered at run time. This one is a sink for connections of type "count"
 * that only counts bytes and lines (a /dev/null with statistics), which is
 * handy for measuring how fast a source can be read.
 *
 *   FERRY_CONN_COUNTER='{"conn_type": "count"}' custom_hook input.csv.gz
 *
 * A hook is one const struct ferry_hook; unused slots stay NULL. A sink is a
 * ferry_writer: write() borrows the buffer, commit() publishes, abort() undoes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/ferry.h"

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
    .name = "count",
    .conn_types = count_types,
    .open_sink = count_open_sink,
};

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s SOURCE   (counts into the connection 'counter')\n", argv[0]);
        return FERRY_ERR_USAGE;
    }
    ferry_hook_register(&count_hook);
    if (!getenv("FERRY_CONN_COUNTER"))
        setenv("FERRY_CONN_COUNTER", "{\"conn_type\": \"count\"}", 1);
    ferry_copy_options o;
    ferry_copy_options_init(&o);
    o.src_compress = FERRY_COMPRESS_AUTO; /* a .gz source is decompressed on the way */
    o.dst_compress = FERRY_COMPRESS_NONE;
    ferry_summary sum;
    ferry_error err;
    ferry_error_clear(&err);
    ferry_status st = ferry_copy(argv[1], "counter:", &o, &sum, &err);
    if (st != FERRY_OK) {
        fprintf(stderr, "error: %s\n", err.msg);
        return (int)st;
    }
    return 0;
}
