/*
 * cmd_manifest.c - `ferry manifest DEST [--partitions N] [--replace]`: after
 * the machines of a `ferry copy --partition K/N` run finished, read the
 * sidecars DEST/_parts/part-K.json and, only when all N partitions are there,
 * write DEST/_manifest.json (parts, rows, bytes, checksums, created_at)
 * atomically.  Works on any destination whose hook can list, read and write
 * (local, S3, SFTP), through the generic hook ops.  The ranges the sidecars
 * record must tile: partition k ends where k+1 begins, on the same key.
 * Partitions that cut the key at different times (the table grew in between,
 * no --split-range) leave rows in no partition or in two: exit 7, no
 * manifest.  docs/scale-out.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"

static const char manifest_help[] =
    "usage: ferry manifest DEST [--partitions N] [--replace] [-q]\n"
    "  DEST            the prefix/directory a `ferry copy --partition K/N` run wrote to\n"
    "  --partitions N  how many partitions there must be (default: the N the parts name)\n"
    "  --replace       replace an existing DEST/_manifest.json\n"
    "  -q, --quiet     no summary line\n"
    "Exit 5 naming the missing partitions when not all are there, exit 7 when their ranges\n"
    "do not tile the key (cut at different times: use --split-range); nothing is written then.\n";

#define MANIFEST_MAX_PARTS 100000
#define SIDECAR_MAX (64 * 1024)

typedef struct part_info {
    int present;
    long long of, rows, bytes;
    char object[128];
    char sha256[65];
    int has_range;              /* the sidecar records the range it read */
    char split_by[128];         /* its key ("ctid" for page ranges) */
    char from[32], to[32];      /* its bounds as JSON tokens ("null": open) */
} part_info;

typedef struct manifest_state {
    char **names;       /* owned: sidecar names found (part-NNNNN.json) */
    size_t n, cap;
} manifest_state;

static ferry_status collect(const ferry_entry *e, void *ud, ferry_error *err)
{
    manifest_state *s = ud;
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
            return ferry_error_set(err, FERRY_ERR_INTERNAL, "out of memory");
        s->names = names;
        s->cap = cap;
    }
    if (!(s->names[s->n] = strdup(base)))
        return ferry_error_set(err, FERRY_ERR_INTERNAL, "out of memory");
    s->n++;
    return FERRY_OK;
}

/* The whole (small) object at text into a malloc'd NUL-terminated string. */
static ferry_status read_small(const char *text, char **out, ferry_error *err)
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
        size_t len = 0;
        const void *data = ferry_memory_writer_data(mem, &len);
        if ((*out = malloc(len + 1)) != NULL) {
            memcpy(*out, data, len);
            (*out)[len] = '\0';
        } else {
            st = ferry_error_set(err, FERRY_ERR_INTERNAL, "out of memory");
        }
    }
    if (mem)
        mem->ops->free(mem);
    if (src)
        src->ops->free(src);
    ferry_endpoint_free(ep);
    return st;
}

/* Where the value of "key" begins in a flat JSON object, or NULL. */
static const char *json_value(const char *json, const char *key)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *p = strstr(json, pat);
    return p ? p + strlen(pat) : NULL;
}

/* "key":<number>; -1 when absent. */
static long long json_number(const char *json, const char *key)
{
    const char *p = json_value(json, key);
    return p ? strtoll(p, NULL, 10) : -1;
}

/* "key":"<string without escapes>" into out; 0 or -1. */
static int json_string(const char *json, const char *key, char *out, size_t cap)
{
    const char *p = json_value(json, key);
    if (!p || *p++ != '"')
        return -1;
    size_t n = strcspn(p, "\"\\");
    if (p[n] != '"' || n >= cap)
        return -1;
    memcpy(out, p, n);
    out[n] = '\0';
    return 0;
}

/* "key":<token> (a number or null) into out; 0 or -1. */
static int json_token(const char *json, const char *key, char *out, size_t cap)
{
    const char *p = json_value(json, key);
    size_t n = p ? strcspn(p, ",}") : 0;
    if (n == 0 || n >= cap)
        return -1;
    memcpy(out, p, n);
    out[n] = '\0';
    return 0;
}

/* The range a sidecar records: {"split_by":..,"from":..,"to":..} or
 * {"ctid_pages_from":..,"ctid_pages_to":..}; has_range stays 0 without one. */
static void read_range(const char *json, part_info *p)
{
    const char *r = strstr(json, "\"range\":{");
    if (!r)
        return;
    if (json_token(r, "ctid_pages_from", p->from, sizeof p->from) == 0 &&
        json_token(r, "ctid_pages_to", p->to, sizeof p->to) == 0) {
        snprintf(p->split_by, sizeof p->split_by, "ctid");
        p->has_range = 1;
    } else if (json_string(r, "split_by", p->split_by, sizeof p->split_by) == 0 &&
               json_token(r, "from", p->from, sizeof p->from) == 0 && json_token(r, "to", p->to, sizeof p->to) == 0) {
        p->has_range = 1;
    }
}

/* The partitions' ranges tile the key: 0 is open below, N-1 open above, and
 * k ends where k+1 begins on the same key.  FERRY_OK, or FERRY_ERR_DATA
 * naming the first gap or overlap. */
static ferry_status check_tiling(const char *prefix, const part_info *parts, long n, ferry_error *err)
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
                                   strtoll(parts[k].to, NULL, 10) < strtoll(parts[k + 1].from, NULL, 10)
                                       ? "no partition" : "two partitions",
                                   hint);
    }
    return FERRY_OK;
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

static int run_manifest(const char *prefix, long want, int replace)
{
    ferry_error err;
    ferry_error_clear(&err);
    manifest_state s = {NULL, 0, 0};
    part_info *parts = NULL;
    char *body = NULL;
    size_t plen = strlen(prefix) + 64;
    char *text = malloc(plen);
    int code = 0;
    ferry_status st = FERRY_OK;
    if (!text)
        st = ferry_error_set(&err, FERRY_ERR_INTERNAL, "out of memory");
    if (st == FERRY_OK) {
        snprintf(text, plen, "%s/_parts/", prefix);
        st = ferry_list(text, 0, collect, &s, &err);
        if (st == FERRY_ERR_NOT_FOUND) { /* no _parts at all: every partition is missing */
            ferry_error_clear(&err);
            st = FERRY_OK;
        }
    }
    long n = want;
    /* read every sidecar; N from them when not given */
    part_info *found = st == FERRY_OK ? calloc(s.n ? s.n : 1, sizeof *found) : NULL;
    int *index = st == FERRY_OK ? calloc(s.n ? s.n : 1, sizeof *index) : NULL;
    if (st == FERRY_OK && (!found || !index))
        st = ferry_error_set(&err, FERRY_ERR_INTERNAL, "out of memory");
    for (size_t i = 0; st == FERRY_OK && i < s.n; i++) {
        char *json = NULL;
        snprintf(text, plen, "%s/_parts/%s", prefix, s.names[i]);
        st = read_small(text, &json, &err);
        if (st != FERRY_OK)
            break;
        part_info *p = &found[i];
        index[i] = (int)json_number(json, "partition");
        p->of = json_number(json, "of");
        p->rows = json_number(json, "rows");
        p->bytes = json_number(json, "bytes");
        read_range(json, p);
        if (index[i] < 0 || p->of <= 0 || json_string(json, "object", p->object, sizeof p->object) != 0 ||
            json_string(json, "sha256", p->sha256, sizeof p->sha256) != 0)
            st = ferry_error_set(&err, FERRY_ERR_DATA, "%s: not a ferry partition sidecar", text);
        else if (n <= 0)
            n = (long)p->of;
        else if (p->of != n)
            st = ferry_error_set(&err, FERRY_ERR_DATA, "%s: partition %d of %lld, expected of %ld", text, index[i],
                                 p->of, n);
        free(json);
    }
    if (st == FERRY_OK && n <= 0)
        st = ferry_error_set(&err, FERRY_ERR_NOT_FOUND, "%s/_parts/: no partition sidecars (give --partitions N?)",
                             prefix);
    if (st == FERRY_OK && n > MANIFEST_MAX_PARTS)
        st = ferry_error_set(&err, FERRY_ERR_USAGE, "at most %d partitions", MANIFEST_MAX_PARTS);
    if (st == FERRY_OK && !(parts = calloc((size_t)n, sizeof *parts)))
        st = ferry_error_set(&err, FERRY_ERR_INTERNAL, "out of memory");
    for (size_t i = 0; st == FERRY_OK && i < s.n; i++) {
        if (index[i] < n) {
            parts[index[i]] = found[i];
            parts[index[i]].present = 1;
        }
    }
    /* every partition present, or exit 5 naming the missing ones */
    if (st == FERRY_OK) {
        char missing[512] = "";
        size_t len = 0;
        long n_missing = 0;
        for (long k = 0; k < n; k++) {
            if (parts[k].present)
                continue;
            if (n_missing++ < 20 && len + 16 < sizeof missing)
                len += (size_t)snprintf(missing + len, sizeof missing - len, "%s%ld", len ? ", " : "", k);
        }
        if (n_missing)
            st = ferry_error_set(&err, FERRY_ERR_NOT_FOUND, "%s: %ld of %ld partitions missing: %s%s", prefix,
                                 n_missing, n, missing, n_missing > 20 ? ", ..." : "");
    }
    if (st == FERRY_OK)
        st = check_tiling(prefix, parts, n, &err);
    if (st == FERRY_OK) {
        size_t cap = 256 + (size_t)n * 320;
        body = malloc(cap);
        if (!body)
            st = ferry_error_set(&err, FERRY_ERR_INTERNAL, "out of memory");
        long long rows = 0, bytes = 0;
        for (long k = 0; k < n; k++) {
            rows += parts[k].rows > 0 ? parts[k].rows : 0;
            bytes += parts[k].bytes > 0 ? parts[k].bytes : 0;
        }
        char when[32];
        time_t now = time(NULL);
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
        size_t len = 0;
        if (body)
            len = (size_t)snprintf(body, cap, "{\"partitions\":%ld,\"rows\":%lld,\"bytes\":%lld,\"created_at\":\"%s\",\"parts\":[",
                                   n, rows, bytes, when);
        for (long k = 0; body && k < n; k++)
            len += (size_t)snprintf(body + len, cap - len,
                                    "%s\n{\"partition\":%ld,\"object\":\"%s\",\"rows\":%lld,\"bytes\":%lld,\"sha256\":\"%s\"}",
                                    k ? "," : "", k, parts[k].object, parts[k].rows, parts[k].bytes, parts[k].sha256);
        if (body)
            snprintf(body + len, cap - len, "\n]}\n");
    }
    if (st == FERRY_OK) {
        snprintf(text, plen, "%s/_manifest.json", prefix);
        st = write_small(text, body, replace, &err);
    }
    if (st == FERRY_OK && !cli.quiet)
        fprintf(stderr, "ferry: manifest: %ld partitions -> %s\n", n, text);
    if (st != FERRY_OK)
        code = cli_fail(&err);
    for (size_t i = 0; i < s.n; i++)
        free(s.names[i]);
    free(s.names);
    free(found);
    free(index);
    free(parts);
    free(body);
    free(text);
    return code;
}

int cmd_manifest(int argc, char **argv)
{
    const char *dest = NULL;
    long want = 0;
    int replace = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--partitions") == 0 && i + 1 < argc) {
            want = cli_parse_long(argv[++i]);
            if (want <= 0 || want > MANIFEST_MAX_PARTS)
                return cli_usage("manifest", "--partitions takes 1 to %d", MANIFEST_MAX_PARTS);
        } else if (strcmp(argv[i], "--quiet") == 0 || strcmp(argv[i], "-q") == 0) {
            cli.quiet = 1;
        } else if (strcmp(argv[i], "--replace") == 0) {
            replace = 1;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(manifest_help, stdout);
            return 0;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            return cli_usage("manifest", "unknown option '%s'", argv[i]);
        } else if (!dest) {
            dest = argv[i];
        } else {
            return cli_usage("manifest", "takes one DEST");
        }
    }
    if (!dest)
        return cli_usage("manifest", "needs DEST (the prefix/directory of the partitions)");
    int code = 0;
    char *dest_x = cli_expand(dest, FERRY_TEMPLATE_TEXT, &code);
    if (!dest_x)
        return code;
    size_t n = strlen(dest_x);
    while (n > 1 && dest_x[n - 1] == '/')
        dest_x[--n] = '\0';
    code = run_manifest(dest_x, want, replace);
    free(dest_x);
    return code;
}
