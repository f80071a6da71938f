/*
 * fault.c - FERRY_FAULT: make the N-th call of a chosen operation of a source
 * or a sink fail with a chosen class of error (SQLite's test_vfs.c idea).
 * Test builds only (FERRY_FAULT_INJECTION); the grammar and the exact
 * behaviour are in fault.h.
 */
#include "core/util.h"
#include "transfer/fault.h"

#ifndef FERRY_FAULT_INJECTION

ferry_status ferry_fault_wrap_source(ferry_source **src, ferry_error *err)
{
    (void)src;
    (void)err;
    return FERRY_OK;
}

ferry_status ferry_fault_wrap_sink(ferry_writer **sink, ferry_error *err)
{
    (void)sink;
    (void)err;
    return FERRY_OK;
}

#else

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/log.h"

enum { SIDE_SOURCE, SIDE_SINK, N_SIDES };
enum { OP_OPEN, OP_IO, OP_END, N_OPS }; /* source: open read finish; sink: open write commit */

static const char *const op_names[N_SIDES][N_OPS] = {
    {"open", "read", "finish"},
    {"open", "write", "commit"},
};
static const char *const side_names[N_SIDES] = {"source", "sink"};

#define MAX_SPECS 8

enum { WHEN_NTH, WHEN_BYTE, WHEN_EOF };

typedef struct fault_spec {
    int side, op;
    int when;           /* WHEN_NTH: the n-th call; WHEN_BYTE: the call carrying byte offset n; WHEN_EOF */
    long long n;
    int transient;
    int always;
} fault_spec;

typedef struct fault_plan {
    fault_spec spec[MAX_SPECS];
    int n_specs;
} fault_plan;

/* Calls seen so far, process-wide, per side and operation; bytes read / offered
 * to write so far per side; ends of stream seen. */
static atomic_llong counters[N_SIDES][N_OPS];
static atomic_llong byte_counters[N_SIDES];
static atomic_llong eof_counter;

static int word_is(const char *s, size_t len, const char *word)
{
    return strlen(word) == len && strncmp(s, word, len) == 0;
}

/* Split one spec (s, len) at ':' into at most 6 fields. */
static int split_fields(const char *s, size_t len, const char *f[6], size_t flen[6])
{
    int n = 0;
    const char *p = s, *end = s + len;
    for (;;) {
        const char *colon = memchr(p, ':', (size_t)(end - p));
        if (n == 6)
            return -1;
        f[n] = p;
        flen[n] = colon ? (size_t)(colon - p) : (size_t)(end - p);
        n++;
        if (!colon)
            break;
        p = colon + 1;
    }
    return n;
}

static ferry_status parse_one(const char *s, size_t len, fault_spec *out, ferry_error *err)
{
    const char *f[6];
    size_t fl[6];
    int nf = split_fields(s, len, f, fl);
    if (nf < 4 || nf > 5)
        goto bad;
    memset(out, 0, sizeof *out);
    if (word_is(f[0], fl[0], "source"))
        out->side = SIDE_SOURCE;
    else if (word_is(f[0], fl[0], "sink"))
        out->side = SIDE_SINK;
    else
        goto bad;
    out->op = -1;
    for (int op = 0; op < N_OPS; op++)
        if (word_is(f[1], fl[1], op_names[out->side][op]))
            out->op = op;
    if (out->op < 0)
        goto bad;
    out->when = WHEN_NTH;
    const char *num = f[2];
    size_t num_len = fl[2];
    if (word_is(f[2], fl[2], "eof")) {
        if (out->side != SIDE_SOURCE || out->op != OP_IO)
            goto bad; /* only a read can see the end of the stream */
        out->when = WHEN_EOF;
        num_len = 0;
    } else if (num_len > 0 && num[0] == '@') {
        if (out->op != OP_IO)
            goto bad; /* byte offsets are for read and write */
        out->when = WHEN_BYTE;
        num++;
        num_len--;
    }
    if (out->when != WHEN_EOF) {
        if (num_len == 0 || num_len > 18)
            goto bad;
        long long n = 0;
        for (size_t i = 0; i < num_len; i++) {
            if (num[i] < '0' || num[i] > '9')
                goto bad;
            n = n * 10 + (num[i] - '0');
        }
        if (n < (out->when == WHEN_BYTE ? 0 : 1))
            goto bad;
        out->n = n;
    }
    if (word_is(f[3], fl[3], "fatal"))
        out->transient = 0;
    else if (word_is(f[3], fl[3], "transient"))
        out->transient = 1;
    else
        goto bad;
    out->always = 0;
    if (nf == 5) {
        if (word_is(f[4], fl[4], "always"))
            out->always = 1;
        else if (!word_is(f[4], fl[4], "once"))
            goto bad;
    }
    return FERRY_OK;
bad:
    return ferry_error_set(err, FERRY_ERR_USAGE,
                           "FERRY_FAULT: malformed spec '%.*s' (want SIDE:OP:WHEN:fatal|transient[:once|always], "
                           "SIDE source (open, read, finish) or sink (open, write, commit), WHEN N >= 1, "
                           "@BYTE (read, write) or eof (source read))",
                           (int)(len > 200 ? 200 : len), s);
}

/* 0: no plan (FERRY_FAULT unset or empty); 1: a plan; -1: malformed (err set). */
static int load_plan(fault_plan *plan, ferry_error *err)
{
    const char *env = getenv("FERRY_FAULT");
    plan->n_specs = 0;
    if (!env || !*env)
        return 0;
    const char *p = env;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (plan->n_specs == MAX_SPECS) {
            ferry_error_set(err, FERRY_ERR_USAGE, "FERRY_FAULT: at most %d specs", MAX_SPECS);
            return -1;
        }
        if (parse_one(p, len, &plan->spec[plan->n_specs], err) != FERRY_OK)
            return -1;
        plan->n_specs++;
        if (!comma)
            break;
        p = comma + 1;
    }
    return 1;
}

static int plan_has_side(const fault_plan *plan, int side)
{
    for (int i = 0; i < plan->n_specs; i++)
        if (plan->spec[i].side == side)
            return 1;
    return 0;
}

/* Count one call of (side, op); the N-th-call spec that makes it fail, or NULL. */
static const fault_spec *count_call(const fault_plan *plan, int side, int op, long long *nth)
{
    long long c = atomic_fetch_add(&counters[side][op], 1) + 1;
    *nth = c;
    for (int i = 0; i < plan->n_specs; i++) {
        const fault_spec *s = &plan->spec[i];
        if (s->side == side && s->op == op && s->when == WHEN_NTH && (c == s->n || (s->always && c > s->n)))
            return s;
    }
    return NULL;
}

/* Count len bytes of a read or write; the @BYTE spec whose offset they carry
 * (or, for always, that they reach or pass), or NULL. */
static const fault_spec *count_bytes(const fault_plan *plan, int side, size_t len)
{
    long long before = atomic_fetch_add(&byte_counters[side], (long long)len);
    long long after = before + (long long)len;
    for (int i = 0; i < plan->n_specs; i++) {
        const fault_spec *s = &plan->spec[i];
        if (s->side != side || s->when != WHEN_BYTE)
            continue;
        if ((before <= s->n && s->n < after) || (s->always && before > s->n))
            return s;
    }
    return NULL;
}

/* A read reported the end of the stream: the eof spec that fails it, or NULL. */
static const fault_spec *count_eof(const fault_plan *plan)
{
    long long c = atomic_fetch_add(&eof_counter, 1) + 1;
    for (int i = 0; i < plan->n_specs; i++) {
        const fault_spec *s = &plan->spec[i];
        if (s->side == SIDE_SOURCE && s->when == WHEN_EOF && (c == 1 || s->always))
            return s;
    }
    return NULL;
}

static ferry_status inject(const fault_spec *s, const char *system, long long nth, ferry_error *err)
{
    const char *kind = s->transient ? "transient" : "fatal";
    ferry_log(FERRY_LOG_INFO, "fault: injecting a %s failure into %s %s #%lld (%s)", kind, side_names[s->side],
              op_names[s->side][s->op], nth, system);
    ferry_status st = ferry_error_hook(err, s->transient ? FERRY_ERR_TRANSIENT : FERRY_ERR_DATA, "fault", system,
                                       "%s %s #%lld: injected %s failure (FERRY_FAULT)", side_names[s->side],
                                       op_names[s->side][s->op], nth, kind);
    if (s->transient)
        ferry_error_transient(err);
    return st;
}

/* ------------------------------------------------------------------ source */

typedef struct fault_source {
    ferry_source base;
    ferry_source *real;
    fault_plan plan;
    long long calls[N_OPS];
    long long bytes;
} fault_source;

static void source_mirror(fault_source *fs)
{
    fs->base.size = fs->real->size;
    fs->base.rows = fs->real->rows;
    fs->base.columns = fs->real->columns;
    fs->base.n_columns = fs->real->n_columns;
}

static ferry_status fault_read(ferry_source *s, void *buf, size_t cap, size_t *nread, ferry_error *err)
{
    fault_source *fs = (fault_source *)s;
    long long nth;
    fs->calls[OP_IO]++;
    const fault_spec *hit = count_call(&fs->plan, SIDE_SOURCE, OP_IO, &nth);
    if (hit) {
        *nread = 0;
        return inject(hit, fs->real->ops->name, nth, err);
    }
    ferry_status st = fs->real->ops->read(fs->real, buf, cap, nread, err);
    source_mirror(fs);
    if (st != FERRY_OK)
        return st;
    fs->bytes += (long long)*nread;
    /* @BYTE and eof: the real read happened; what it returned is dropped */
    hit = *nread ? count_bytes(&fs->plan, SIDE_SOURCE, *nread) : count_eof(&fs->plan);
    if (hit) {
        *nread = 0;
        return inject(hit, fs->real->ops->name, nth, err);
    }
    return st;
}

static ferry_status fault_finish(ferry_source *s, ferry_error *err)
{
    fault_source *fs = (fault_source *)s;
    long long nth;
    fs->calls[OP_END]++;
    const fault_spec *hit = count_call(&fs->plan, SIDE_SOURCE, OP_END, &nth);
    if (hit)
        return inject(hit, fs->real->ops->name, nth, err);
    ferry_status st = fs->real->ops->finish ? fs->real->ops->finish(fs->real, err) : FERRY_OK;
    source_mirror(fs);
    return st;
}

static void fault_source_free(ferry_source *s)
{
    fault_source *fs = (fault_source *)s;
    if (!fs)
        return;
    ferry_log(FERRY_LOG_DEBUG, "fault: source %s: open 1 read %lld (%lld bytes) finish %lld", fs->real->ops->name,
              fs->calls[OP_IO], fs->bytes, fs->calls[OP_END]);
    fs->real->ops->free(fs->real);
    free(fs);
}

static const ferry_source_ops fault_source_ops = {
    .name = "fault",
    .read = fault_read,
    .finish = fault_finish,
    .free = fault_source_free,
};

ferry_status ferry_fault_wrap_source(ferry_source **src, ferry_error *err)
{
    fault_plan plan;
    int have = load_plan(&plan, err);
    if (have < 0)
        return FERRY_ERR_USAGE;
    if (!have || !src || !*src || !plan_has_side(&plan, SIDE_SOURCE))
        return FERRY_OK;
    ferry_source *real = *src;
    long long nth;
    const fault_spec *hit = count_call(&plan, SIDE_SOURCE, OP_OPEN, &nth);
    if (hit) {
        const char *name = real->ops->name;
        ferry_status st = inject(hit, name, nth, err);
        real->ops->free(real);
        *src = NULL;
        return st;
    }
    fault_source *fs = calloc(1, sizeof *fs);
    if (!fs)
        return ferry_error_oom(err, NULL, NULL, NULL);
    fs->base.ops = &fault_source_ops;
    fs->real = real;
    fs->plan = plan;
    source_mirror(fs);
    ferry_log(FERRY_LOG_DEBUG, "fault: wrapping source %s (FERRY_FAULT)", real->ops->name);
    *src = &fs->base;
    return FERRY_OK;
}

/* ------------------------------------------------------------------ sink */

typedef struct fault_sink {
    ferry_writer base;
    ferry_writer *real;
    fault_plan plan;
    long long calls[N_OPS];
    long long aborts;
    long long bytes;
} fault_sink;

static ferry_status fault_write(ferry_writer *w, const void *buf, size_t len, ferry_error *err)
{
    fault_sink *fw = (fault_sink *)w;
    long long nth;
    fw->calls[OP_IO]++;
    const fault_spec *hit = count_call(&fw->plan, SIDE_SINK, OP_IO, &nth);
    if (!hit)
        hit = count_bytes(&fw->plan, SIDE_SINK, len);
    if (hit)
        return inject(hit, fw->real->ops->name, nth, err);
    fw->bytes += (long long)len;
    ferry_status st = ferry_writer_write(fw->real, buf, len, err);
    fw->base.rows = fw->real->rows;
    return st;
}

static ferry_status fault_commit(ferry_writer *w, ferry_error *err)
{
    fault_sink *fw = (fault_sink *)w;
    long long nth;
    fw->calls[OP_END]++;
    const fault_spec *hit = count_call(&fw->plan, SIDE_SINK, OP_END, &nth);
    if (hit) {
        ferry_status st = inject(hit, fw->real->ops->name, nth, err);
        fw->real->ops->abort(fw->real);
        return st;
    }
    ferry_status st = fw->real->ops->commit(fw->real, err);
    fw->base.rows = fw->real->rows;
    return st;
}

static void fault_abort(ferry_writer *w)
{
    fault_sink *fw = (fault_sink *)w;
    fw->aborts++;
    fw->real->ops->abort(fw->real);
}

static void fault_sink_free(ferry_writer *w)
{
    fault_sink *fw = (fault_sink *)w;
    if (!fw)
        return;
    ferry_log(FERRY_LOG_DEBUG, "fault: sink %s: open 1 write %lld (%lld bytes) commit %lld abort %lld",
              fw->real->ops->name, fw->calls[OP_IO], fw->bytes, fw->calls[OP_END], fw->aborts);
    fw->real->ops->free(fw->real);
    free(fw);
}

static const ferry_writer_ops fault_sink_ops = {
    .name = "fault",
    .write = fault_write,
    .commit = fault_commit,
    .abort = fault_abort,
    .free = fault_sink_free,
};

ferry_status ferry_fault_wrap_sink(ferry_writer **sink, ferry_error *err)
{
    fault_plan plan;
    int have = load_plan(&plan, err);
    if (have < 0)
        return FERRY_ERR_USAGE;
    if (!have || !sink || !*sink || !plan_has_side(&plan, SIDE_SINK))
        return FERRY_OK;
    ferry_writer *real = *sink;
    long long nth;
    const fault_spec *hit = count_call(&plan, SIDE_SINK, OP_OPEN, &nth);
    if (hit) {
        ferry_status st = inject(hit, real->ops->name, nth, err);
        real->ops->abort(real);
        real->ops->free(real);
        *sink = NULL;
        return st;
    }
    fault_sink *fw = calloc(1, sizeof *fw);
    if (!fw)
        return ferry_error_oom(err, NULL, NULL, NULL);
    fw->base.ops = &fault_sink_ops;
    fw->base.next = NULL; /* the wrapper is the chain's sink: pump's chain_sink() stops here */
    fw->base.bytes = real->bytes;
    fw->base.rows = real->rows;
    fw->real = real;
    fw->plan = plan;
    ferry_log(FERRY_LOG_DEBUG, "fault: wrapping sink %s (FERRY_FAULT)", real->ops->name);
    *sink = &fw->base;
    return FERRY_OK;
}

#endif /* FERRY_FAULT_INJECTION */
