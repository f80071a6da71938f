/*
 * transfer/manifest.c - partition sidecars and the manifest of a
 * `ferry copy --partition K/N` set (ferry/manifest.h, docs/scale-out.md):
 * their JSON written and read with jansson, the check that a set is complete
 * and that its ranges tile the key, and `ferry manifest`'s list/read/write
 * through the destination's hook.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "ferry/manifest.h"
#include "ferry/operators.h"
#include "ferry/transfer.h"

#define SIDECAR_MAX (64 * 1024)

static ferry_status oom(ferry_error *err)
{
    return ferry_error_set(err, FERRY_ERR_INTERNAL, "out of memory");
}

static void now_utc(char *out, size_t cap)
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* json_dumps with a trailing newline; NULL when out of memory. */
static char *dump_line(const json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
    if (!s)
        return NULL;
    size_t n = strlen(s);
    char *line = realloc(s, n + 2);
    if (!line) {
        free(s);
        return NULL;
    }
    line[n] = '\n';
    line[n + 1] = '\0';
    return line;
}

/* ---- the sidecar --------------------------------------------------------- */

ferry_status ferry_sidecar_format(const ferry_sidecar *sc, const char *range_json, char **out, ferry_error *err)
{
    *out = NULL;
    json_t *range = json_null();
    if (range_json) {
        json_error_t je;
        range = json_loads(range_json, JSON_DECODE_ANY, &je);
        if (!range)
            return ferry_error_set(err, FERRY_ERR_INTERNAL, "the range of partition %d is not JSON (%s): %s",
                                   sc->partition, je.text, range_json);
    }
    char when[24];
    if (sc->created_at[0])
        snprintf(when, sizeof when, "%s", sc->created_at);
    else
        now_utc(when, sizeof when);
    /* "o" steals range; the s# are bounded by their arrays */
    json_t *j = json_pack("{s:i, s:i, s:s, s:I, s:I, s:s, s:o, s:s, s:s, s:s}", "partition", sc->partition, "of",
                          sc->of, "object", sc->object, "rows", (json_int_t)sc->rows, "bytes", (json_int_t)sc->bytes,
                          "sha256", sc->sha256, "range", range, "format", sc->format[0] ? sc->format : "csv",
                          "compression", sc->compression[0] ? sc->compression : "none", "created_at", when);
    if (!j)
        return ferry_error_set(err, FERRY_ERR_INTERNAL, "partition %d: cannot build its sidecar (out of memory, "
                               "or a name that is not UTF-8)", sc->partition);
    *out = dump_line(j);
    json_decref(j);
    return *out ? FERRY_OK : oom(err);
}

/* A string member into out; 0, or -1 when absent, not a string or too long. */
static int get_string(const json_t *obj, const char *key, char *out, size_t cap)
{
    const json_t *v = json_object_get(obj, key);
    if (!json_is_string(v) || json_string_length(v) >= cap)
        return -1;
    memcpy(out, json_string_value(v), json_string_length(v) + 1);
    return 0;
}

/* An integer member; def when absent, -1 when of another type. */
static int64_t get_int(const json_t *obj, const char *key, int64_t def)
{
    const json_t *v = json_object_get(obj, key);
    if (!v)
        return def;
    return json_is_integer(v) ? (int64_t)json_integer_value(v) : -1;
}

/* A bound (number or null) as compact JSON into out; 0, or -1. */
static int get_bound(const json_t *range, const char *key, char *out, size_t cap)
{
    const json_t *v = json_object_get(range, key);
    if (!v || !(json_is_number(v) || json_is_null(v) || json_is_string(v)))
        return -1;
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    int rc = s && strlen(s) < cap ? 0 : -1;
    if (rc == 0)
        memcpy(out, s, strlen(s) + 1);
    free(s);
    return rc;
}

/* The range a sidecar records; has_range stays 0 without a readable one. */
static void read_range(const json_t *range, ferry_sidecar *p)
{
    if (!json_is_object(range))
        return;
    if (get_bound(range, "ctid_pages_from", p->from, sizeof p->from) == 0 &&
        get_bound(range, "ctid_pages_to", p->to, sizeof p->to) == 0) {
        snprintf(p->split_by, sizeof p->split_by, "ctid");
        p->has_range = 1;
    } else if (get_string(range, "split_by", p->split_by, sizeof p->split_by) == 0 &&
               get_bound(range, "from", p->from, sizeof p->from) == 0 &&
               get_bound(range, "to", p->to, sizeof p->to) == 0) {
        p->has_range = 1;
    }
}

ferry_status ferry_sidecar_parse(const char *json, size_t len, ferry_sidecar *out, ferry_error *err)
{
    memset(out, 0, sizeof *out);
    json_error_t je;
    json_t *j = json_loadb(json, len, 0, &je);
    if (!j)
        return ferry_error_set(err, FERRY_ERR_DATA, "not JSON (%s, line %d)", je.text, je.line);
    int64_t k = get_int(j, "partition", -1), of = get_int(j, "of", -1);
    out->rows = get_int(j, "rows", -1);
    out->bytes = get_int(j, "bytes", -1);
    ferry_status st = FERRY_OK;
    if (!json_is_object(j) || k < 0 || of <= 0 || of > FERRY_MANIFEST_MAX_PARTS || k >= of ||
        get_string(j, "object", out->object, sizeof out->object) != 0 ||
        get_string(j, "sha256", out->sha256, sizeof out->sha256) != 0)
        st = ferry_error_set(err, FERRY_ERR_DATA, "not a ferry partition sidecar (partition, of, object and "
                             "sha256 are required, partition < of)");
    if (st == FERRY_OK) {
        out->partition = (int)k;
        out->of = (int)of;
        (void)get_string(j, "format", out->format, sizeof out->format);
        (void)get_string(j, "compression", out->compression, sizeof out->compression);
        (void)get_string(j, "created_at", out->created_at, sizeof out->created_at);
        read_range(json_object_get(j, "range"), out);
    }
    json_decref(j);
    return st;
}

/* ---- the set check ------------------------------------------------------- */

static int by_partition(const void *a, const void *b)
{
    const ferry_sidecar *x = a, *y = b;
    return (x->partition > y->partition) - (x->partition < y->partition);
}

/* k ends at to, k+1 begins at from: are the rows between in no partition
 * (a gap) or in two (an overlap)?  An open bound reaches past any other. */
static const char *gap_or_overlap(const char *to, const char *from)
{
    if (strcmp(to, "null") == 0 || strcmp(from, "null") == 0)
        return "two partitions";
    return strtod(to, NULL) < strtod(from, NULL) ? "no partition" : "two partitions";
}

/* parts sorted, one per partition 0..n-1. */
static ferry_status check_tiling(const char *prefix, const ferry_sidecar *parts, long n, ferry_error *err)
{
    for (long k = 0; k < n; k++)
        if (!parts[k].has_range)
            return FERRY_OK; /* an older sidecar without its range: nothing to compare */
    const char *hint = "the table changed between the partition runs; run every partition again with the same "
                       "--split-range LO:HI (docs/scale-out.md)";
    if (strcmp(parts[0].from, "null") != 0 || strcmp(parts[n - 1].to, "null") != 0)
        return ferry_error_set(err, FERRY_ERR_DATA, "%s: the partitions do not cover the whole key (partition 0 "
                               "starts at %s, partition %ld ends at %s)", prefix, parts[0].from, n - 1,
                               parts[n - 1].to);
    for (long k = 0; k + 1 < n; k++) {
        if (strcmp(parts[k].split_by, parts[k + 1].split_by) != 0)
            return ferry_error_set(err, FERRY_ERR_DATA, "%s: partition %ld was cut by %s, partition %ld by %s", prefix,
                                   k, parts[k].split_by, k + 1, parts[k + 1].split_by);
        if (strcmp(parts[k].to, parts[k + 1].from) != 0)
            return ferry_error_set(err, FERRY_ERR_DATA, "%s: partition %ld ends at %s %s but partition %ld starts at "
                                   "%s %s: the rows between are in %s; %s", prefix, k, parts[k].split_by, parts[k].to,
                                   k + 1, parts[k + 1].split_by, parts[k + 1].from,
                                   gap_or_overlap(parts[k].to, parts[k + 1].from), hint);
    }
    return FERRY_OK;
}

ferry_status ferry_manifest_check(const char *prefix, ferry_sidecar *parts, size_t count, long want, long *n_out,
                                  ferry_error *err)
{
    long n = want;
    for (size_t i = 0; i < count; i++) {
        if (n <= 0)
            n = parts[i].of;
        else if (parts[i].of != n)
            return ferry_error_set(err, FERRY_ERR_DATA, "%s/_parts/part-%05d.json: partition %d of %d, expected of %ld",
                                   prefix, parts[i].partition, parts[i].partition, parts[i].of, n);
    }
    if (n <= 0)
        return ferry_error_set(err, FERRY_ERR_NOT_FOUND, "%s/_parts/: no partition sidecars (give --partitions N?)",
                               prefix);
    if (n > FERRY_MANIFEST_MAX_PARTS)
        return ferry_error_set(err, FERRY_ERR_USAGE, "at most %d partitions", FERRY_MANIFEST_MAX_PARTS);
    if (count > 1)
        qsort(parts, count, sizeof *parts, by_partition);
    for (size_t i = 0; i + 1 < count; i++)
        if (parts[i].partition == parts[i + 1].partition)
            return ferry_error_set(err, FERRY_ERR_DATA, "%s: partition %d has two sidecars in %s/_parts/ (objects %s "
                                   "and %s); remove the stray one", prefix, parts[i].partition, prefix,
                                   parts[i].object, parts[i + 1].object);
    /* every partition present (sorted, unique and < n: count == n), or name the missing ones */
    if ((long)count != n) {
        char missing[512] = "";
        size_t len = 0, i = 0;
        long n_missing = 0;
        for (long k = 0; k < n; k++) {
            if (i < count && parts[i].partition == k) {
                i++;
                continue;
            }
            if (n_missing++ < 20 && len + 16 < sizeof missing)
                len += (size_t)snprintf(missing + len, sizeof missing - len, "%s%ld", len ? ", " : "", k);
        }
        return ferry_error_set(err, FERRY_ERR_NOT_FOUND, "%s: %ld of %ld partitions missing: %s%s", prefix, n_missing,
                               n, missing, n_missing > 20 ? ", ..." : "");
    }
    ferry_status st = check_tiling(prefix, parts, n, err);
    if (st == FERRY_OK && n_out)
        *n_out = n;
    return st;
}

/* ---- the manifest -------------------------------------------------------- */

ferry_status ferry_manifest_format(const ferry_sidecar *parts, long n, char **out, ferry_error *err)
{
    *out = NULL;
    long long rows = 0, bytes = 0;
    for (long k = 0; k < n; k++) {
        rows += parts[k].rows > 0 ? parts[k].rows : 0;
        bytes += parts[k].bytes > 0 ? parts[k].bytes : 0;
    }
    char when[24];
    now_utc(when, sizeof when);
    /* {"partitions":..,"created_at":".."} without its '}', then ,"parts":[ and one line per part */
    json_t *head = json_pack("{s:I, s:I, s:I, s:s}", "partitions", (json_int_t)n, "rows", (json_int_t)rows, "bytes",
                             (json_int_t)bytes, "created_at", when);
    char *text = head ? json_dumps(head, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(head);
    size_t len = text ? strlen(text) - 1 : 0, cap = len + 64;
    char *body = text ? malloc(cap) : NULL;
    ferry_status st = body ? FERRY_OK : oom(err);
    if (st == FERRY_OK) {
        memcpy(body, text, len);
        len += (size_t)snprintf(body + len, cap - len, ",\"parts\":[");
    }
    free(text);
    for (long k = 0; st == FERRY_OK && k < n; k++) {
        json_t *p = json_pack("{s:I, s:s, s:I, s:I, s:s}", "partition", (json_int_t)k, "object", parts[k].object,
                              "rows", (json_int_t)parts[k].rows, "bytes", (json_int_t)parts[k].bytes, "sha256",
                              parts[k].sha256);
        char *line = p ? json_dumps(p, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
        json_decref(p);
        size_t need = line ? len + strlen(line) + 8 : 0;
        if (line && need > cap) {
            size_t want = cap * 2 > need ? cap * 2 : need;
            char *grown = realloc(body, want);
            if (grown) {
                body = grown;
                cap = want;
            }
        }
        if (!line || need > cap)
            st = oom(err);
        else
            len += (size_t)snprintf(body + len, cap - len, "%s\n%s", k ? "," : "", line);
        free(line);
    }
    if (st == FERRY_OK) {
        snprintf(body + len, cap - len, "\n]}\n");
        *out = body;
    } else {
        free(body);
    }
    return st;
}

/* ---- ferry manifest: list, read, check, write ----------------------------- */

typedef struct name_list {
    char **names; /* owned: sidecar names found (part-NNNNN.json) */
    size_t n, cap;
} name_list;

static ferry_status collect(const ferry_entry *e, void *ud, ferry_error *err)
{
    name_list *s = ud;
    const char *base = strrchr(e->name, '/');
    base = base ? base + 1 : e->name;
    int k = 0;
    char tail[8];
    if (e->is_dir || sscanf(base, "part-%d.%7s", &k, tail) != 2 || strcmp(tail, "json") != 0)
        return FERRY_OK;
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 64;
        char **names = realloc(s->names, cap * sizeof *names);
        if (!names)
            return oom(err);
        s->names = names;
        s->cap = cap;
    }
    if (!(s->names[s->n] = strdup(base)))
        return oom(err);
    s->n++;
    return FERRY_OK;
}

/* The whole (small) object at text into a malloc'd buffer (*len bytes). */
static ferry_status read_small(const char *text, char **out, size_t *out_len, ferry_error *err)
{
    *out = NULL;
    ferry_copy_options o;
    ferry_copy_options_init(&o);
    o.format = FERRY_FORMAT_RAW;
    o.src_compress = FERRY_COMPRESS_NONE;
    ferry_endpoint *ep = NULL;
    ferry_source *src = NULL;
    ferry_writer *mem = NULL;
    char chunk[16384];
    ferry_status st = ferry_endpoint_parse(text, &o, 0, &ep, err);
    if (st == FERRY_OK && !ep->hook->open_source)
        st = ferry_error_set(err, FERRY_ERR_USAGE, "%s cannot be read", text);
    if (st == FERRY_OK)
        st = ep->hook->open_source(ep, &o, &src, err);
    if (st == FERRY_OK)
        st = ferry_memory_writer_new(SIDECAR_MAX, &mem, err);
    if (st == FERRY_OK)
        st = ferry_pump(src, mem, chunk, sizeof chunk, &o, NULL, err);
    if (st == FERRY_OK) {
        const void *data = ferry_memory_writer_data(mem, out_len);
        if ((*out = malloc(*out_len ? *out_len : 1)) != NULL)
            memcpy(*out, data, *out_len);
        else
            st = oom(err);
    }
    if (mem)
        mem->ops->free(mem);
    if (src)
        src->ops->free(src);
    ferry_endpoint_free(ep);
    return st;
}

/* Write body to text atomically through the destination's sink. */
static ferry_status write_small(const char *text, const char *body, int replace, ferry_error *err)
{
    ferry_copy_options o;
    ferry_copy_options_init(&o);
    o.format = FERRY_FORMAT_RAW;
    o.dst_compress = FERRY_COMPRESS_NONE;
    o.replace = replace;
    ferry_endpoint *ep = NULL;
    ferry_source *src = NULL;
    ferry_writer *w = NULL;
    char chunk[16384];
    ferry_status st = ferry_endpoint_parse(text, &o, 1, &ep, err);
    if (st == FERRY_OK && !ep->hook->open_sink)
        st = ferry_error_set(err, FERRY_ERR_USAGE, "%s cannot be written", text);
    if (st == FERRY_OK && !replace && ep->hook->stat) {
        ferry_entry e;
        ferry_error probe;
        ferry_error_clear(&probe);
        if (ep->hook->stat(ep, &e, &probe) == FERRY_OK)
            st = ferry_error_set(err, FERRY_ERR_EXISTS, "%s exists (use --replace to replace it)", text);
    }
    if (st == FERRY_OK)
        st = ep->hook->open_sink(ep, &o, &w, err);
    if (st == FERRY_OK)
        st = ferry_memory_source_new(body, strlen(body), &src, err);
    if (st == FERRY_OK)
        st = ferry_pump(src, w, chunk, sizeof chunk, &o, NULL, err);
    else if (w)
        w->ops->abort(w);
    if (w)
        w->ops->free(w);
    if (src)
        src->ops->free(src);
    ferry_endpoint_free(ep);
    return st;
}

ferry_status ferry_manifest_write(const char *prefix, long want, int replace, long *n_out, ferry_error *err)
{
    name_list s = {NULL, 0, 0};
    ferry_sidecar *parts = NULL;
    char *body = NULL;
    size_t plen = strlen(prefix) + 64;
    char *text = malloc(plen);
    long n = 0;
    ferry_status st = text ? FERRY_OK : oom(err);
    if (st == FERRY_OK) {
        snprintf(text, plen, "%s/_parts/", prefix);
        st = ferry_list(text, 0, collect, &s, err);
        if (st == FERRY_ERR_NOT_FOUND) { /* no _parts at all: every partition is missing */
            ferry_error_clear(err);
            st = FERRY_OK;
        }
    }
    if (st == FERRY_OK && !(parts = calloc(s.n ? s.n : 1, sizeof *parts)))
        st = oom(err);
    for (size_t i = 0; st == FERRY_OK && i < s.n; i++) {
        char *json = NULL;
        size_t len = 0;
        snprintf(text, plen, "%s/_parts/%s", prefix, s.names[i]);
        st = read_small(text, &json, &len, err);
        if (st == FERRY_OK) {
            st = ferry_sidecar_parse(json, len, &parts[i], err);
            if (st != FERRY_OK)
                ferry_error_prefix(err, "%s", text);
        }
        free(json);
    }
    if (st == FERRY_OK)
        st = ferry_manifest_check(prefix, parts, s.n, want, &n, err);
    if (st == FERRY_OK)
        st = ferry_manifest_format(parts, n, &body, err);
    if (st == FERRY_OK) {
        snprintf(text, plen, "%s/_manifest.json", prefix);
        st = write_small(text, body, replace, err);
    }
    if (st == FERRY_OK && n_out)
        *n_out = n;
    for (size_t i = 0; i < s.n; i++)
        free(s.names[i]);
    free(s.names);
    free(parts);
    free(body);
    free(text);
    return st;
}
