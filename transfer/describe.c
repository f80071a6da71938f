/*
 * describe.c - `ferry copy --dry-run`: resolve both endpoints and say what a
 * copy would read, through which filter, into what, and whether it would
 * create, replace or refuse the destination.  Nothing is read or written.
 *
 * It tells the truth: every check it makes that the copy would fail makes
 * the dry run fail with the copy's exit code.  It probes, with the copy's
 * retry policy (--retries; core/retry_scope.h gives the hooks' stat and
 * test slots the same number of attempts): that the source exists (stat;
 * the connection's test for a system without stat, such as SQL), and that
 * the destination can be reached, with its credentials, and whether it
 * exists.  A probe that fails to connect, authenticate or find credentials
 * (exit 3, 4, 8, 10), or a missing source (5), fails the dry run in the
 * order the copy meets them; anything else a probe says is shown as "cannot
 * tell".  The plan ends with what was not checked.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/retry_scope.h"
#include "ferry/log.h"
#include "ferry/retry.h"
#include "ferry/transfer.h"
#include "parallel.h"
#include "transfer/dest_text.h"
#include "transfer/format_check.h"
#include "transfer/options.h"

static const char *format_name(ferry_format f)
{
    switch (f) {
    case FERRY_FORMAT_CSV: return "csv";
    case FERRY_FORMAT_TSV: return "tsv";
    case FERRY_FORMAT_JSONL: return "jsonl";
    case FERRY_FORMAT_RAW: return "raw";
    case FERRY_FORMAT_PARQUET: return "parquet";
    case FERRY_FORMAT_AUTO: break;
    }
    return "as is";
}

static void describe_endpoint(const char *role, const ferry_endpoint *ep, char *buf, size_t cap)
{
    char shown[1024];
    size_t n = strlen(buf);
    snprintf(buf + n, cap - n, "%-12s %s\n             hook %s%s%s%s, path '%s'%s\n", role,
             ferry_endpoint_display(ep, shown, sizeof shown), ep->hook->name, ep->conn ? ", connection '" : "",
             ep->conn ? ferry_endpoint_conn_id(ep) : "", ep->conn ? "'" : "", ep->path,
             ep->compress == FERRY_COMPRESS_GZIP ? ", gzip" : ep->compress == FERRY_COMPRESS_ZSTD ? ", zstd" : "");
}

/* The filter between source and sink: what the source is decompressed from
 * and what the destination is compressed to, e.g. "gunzip, then zstd". */
static void describe_filter(const ferry_endpoint *src, const ferry_endpoint *dst, char *out, size_t cap)
{
    ferry_compress in = src->compress, outc = dst->compress;
    const char *undo = in == outc ? NULL : in == FERRY_COMPRESS_GZIP ? "gunzip" : in == FERRY_COMPRESS_ZSTD ? "unzstd" : NULL;
    const char *redo = in == outc ? NULL : outc == FERRY_COMPRESS_GZIP ? "gzip" : outc == FERRY_COMPRESS_ZSTD ? "zstd" : NULL;
    if (undo && redo)
        snprintf(out, cap, "%s, then %s", undo, redo);
    else
        snprintf(out, cap, "%s", undo ? undo : redo ? redo : "none");
}

/* The copy's request options a HEAD of a URL endpoint leaves out: its stat
 * then says nothing about what the copy's request would get. */
static int url_request_differs(const ferry_endpoint *ep, const ferry_copy_options *o, int is_dest)
{
    if (!(ep->hook->flags & FERRY_HOOK_URL) || !o)
        return 0;
    if (o->n_http_headers > 0)
        return 1;
    if (!is_dest && (o->http_data || o->http_data_file))
        return 1;
    return o->http_method && strcasecmp(o->http_method, is_dest ? "PUT" : "GET") != 0;
}

/* One probe of ep with the copy's retry policy: its hook's stat (*what =
 * "stat"), else its connection's test ("test"), else nothing (FERRY_OK,
 * *what = NULL).  Every retry budget the slot starts counts o->max_retries
 * attempts; a slot that does not retry by itself is retried here, as the
 * copy's own connect would be. */
static ferry_status probe(ferry_endpoint *ep, const ferry_copy_options *o, ferry_entry *e, const char **what,
                          ferry_error *err)
{
    ferry_error_clear(err);
    memset(e, 0, sizeof *e);
    e->size = -1;
    *what = NULL;
    if (ep->kind == FERRY_EP_STDIO)
        return FERRY_OK;
    int use_stat = ep->hook->stat && !(o && o->query && (ep->hook->flags & FERRY_HOOK_SQL));
    if (!use_stat && !(ep->conn && ep->hook->test))
        return FERRY_OK;
    *what = use_stat ? "stat" : "test";
    int attempts = o && o->max_retries > 0 ? o->max_retries : 5;
    int previous = ferry_retry_scope_enter(attempts);
    ferry_retry r;
    ferry_retry_init(&r, attempts);
    ferry_status st;
    for (;;) {
        unsigned budgets = ferry_retry_budgets_started();
        char info[256];
        ferry_error_clear(err);
        st = use_stat ? ep->hook->stat(ep, e, err) : ep->hook->test(ep->conn, info, sizeof info, err);
        if (st == FERRY_OK || !err->transient || ferry_retry_budgets_started() != budgets ||
            !ferry_retry_again(&r, err))
            break;
    }
    ferry_retry_scope_leave(previous);
    if (st != FERRY_OK && err->status == FERRY_OK)
        err->status = st;
    return st;
}

/* Whether a probe's failure is one the copy would fail with as well: no
 * credentials or a bad connection (3), cannot connect or authenticate (4),
 * gave up after every retry (8), no answer in time (10), interrupted. */
static int fails_the_copy(ferry_status st)
{
    return st == FERRY_ERR_CONFIG || st == FERRY_ERR_CONNECT || st == FERRY_ERR_TRANSIENT ||
           st == FERRY_ERR_TIMEOUT || st == FERRY_ERR_INTERRUPTED;
}

/* Whether one destination exists: 1, 0, or -1 (cannot tell; why in probe);
 * *fatal = 1 when the probe failed as the copy would (see fails_the_copy). */
static int dest_exists(ferry_endpoint *dst, const ferry_copy_options *o, ferry_error *probe_err, int *fatal)
{
    ferry_entry e;
    const char *what;
    *fatal = 0;
    ferry_status s = probe(dst, o, &e, &what, probe_err);
    if (!what || strcmp(what, "stat") != 0) {
        /* no stat: a test that failed still fails the copy */
        if (s != FERRY_OK && fails_the_copy(s) && !url_request_differs(dst, o, 1))
            *fatal = 1;
        if (s == FERRY_OK)
            ferry_error_clear(probe_err);
        return -1;
    }
    if (s == FERRY_OK)
        return 1;
    if (s == FERRY_ERR_NOT_FOUND)
        return 0;
    if (fails_the_copy(s) && !url_request_differs(dst, o, 1))
        *fatal = 1;
    return -1;
}

/* A ranged copy (--parallel, --split-output, --partition): how the rows are
 * cut and, for one object per range, each object's name and whether it
 * exists.  Returns FERRY_ERR_EXISTS (in err) when one would be refused. */
static ferry_status describe_ranges(const ferry_endpoint *src, const ferry_endpoint *dst, const ferry_copy_options *o,
                                    ferry_format f, char *buf, size_t cap, ferry_error *err)
{
    int sets = o->partition_count > 0 || o->split_output;
    int n = o->partition_count > 0 ? o->partition_count : (o->parallel > 1 ? o->parallel : 1);
    const char *split_default = FERRY_HOOK_SLOT(src->hook, split_default);
    const char *cut = o->split_by ? o->split_by : split_default ? split_default : "the source's default split";
    size_t len = strlen(buf);
    if (!FERRY_HOOK_SLOT(src->hook, open_range_sources)) {
        snprintf(buf + len, cap - len, "ranges:      none: %s cannot read ranges%s\n", src->hook->name,
                 sets ? " (the copy would fail, exit 2)" : ", one session");
        return sets ? ferry_error_set(err, FERRY_ERR_USAGE, "dry run: %s cannot read ranges (a SQL source is needed)",
                                      src->hook->name)
                    : FERRY_OK;
    }
    char pinned[80] = "";
    if (o->split_range_set)
        snprintf(pinned, sizeof pinned, " over [%lld, %lld] (--split-range)", (long long)o->split_lo,
                 (long long)o->split_hi);
    snprintf(buf + len, cap - len, "ranges:      %d, cut by %s%s%s; %s\n", n, o->split_by ? "column " : "", cut, pinned,
             o->partition_count > 0 ? "this run reads one of them"
             : src->hook->flags & FERRY_HOOK_SNAPSHOT ? "one session each, one snapshot"
                                                      : "one session each");
    if (!sets) {
        len = strlen(buf);
        snprintf(buf + len, cap - len, "             into the one destination, in range order\n");
        return FERRY_OK;
    }
    if (o->partition_count > 0 && o->split_output)
        return ferry_error_set(err, FERRY_ERR_USAGE, "dry run: --partition and --split-output do not go together");
    char ext[32], name[64], prefix[2048];
    ferry_parallel_ext(f == FERRY_FORMAT_AUTO ? FERRY_FORMAT_CSV : f, dst->compress, ext, sizeof ext);
    snprintf(prefix, sizeof prefix, "%s", dst->text);
    for (size_t m = strlen(prefix); m > 1 && prefix[m - 1] == '/';)
        prefix[--m] = '\0';
    int first = o->partition_count > 0 ? o->partition_index : 0;
    int count = o->partition_count > 0 ? 1 : n;
    int refused = 0;
    ferry_status st = FERRY_OK;
    for (int i = 0; i < count; i++) {
        ferry_parallel_part_name(o, first + i, ext, name, sizeof name);
        char text[2200];
        snprintf(text, sizeof text, "%s/%s", prefix, name);
        ferry_endpoint *part = NULL;
        ferry_error probe_err;
        ferry_error_clear(&probe_err);
        int fatal = 0;
        ferry_status pst = ferry_endpoint_parse(text, o, 1, &part, &probe_err);
        int exists = pst == FERRY_OK ? dest_exists(part, o, &probe_err, &fatal) : -1;
        ferry_endpoint_free(part);
        if (pst != FERRY_OK)
            fatal = 1;
        const char *what = fatal ? "would fail"
                           : exists == 0 ? "would create" : exists < 0 ? "cannot tell whether it exists; would write"
                           : o->replace ? "exists: would replace" : "exists: would refuse (exit 6)";
        len = strlen(buf);
        snprintf(buf + len, cap - len, "             %s: %s%s%s\n", text, what,
                 exists < 0 && probe_err.msg[0] ? "; " : "", exists < 0 ? probe_err.msg : "");
        if (fatal && st == FERRY_OK) {
            *err = probe_err;
            st = err->status;
        } else if (exists == 1 && !o->replace && !refused++ && st == FERRY_OK)
            st = ferry_error_set(err, FERRY_ERR_EXISTS, "dry run: %s exists (use --replace to replace it)", text);
    }
    if (o->partition_count > 0) {
        len = strlen(buf);
        snprintf(buf + len, cap - len, "             and its sidecar %s/_parts/part-%05d.json for `ferry manifest`\n",
                 prefix, first);
    }
    return st;
}

/* What a dry run does not check, whatever the endpoints. */
static const char not_checked[] =
    "not checked: write permission on the destination and its free space; the data itself\n"
    "             (format, conversion and type errors, row counts); on SQL systems whether the\n"
    "             table or query exists and its columns; what the server does during the copy\n";

/* The source probe: "exists" (with its size), "reachable" (a connection's
 * test), or why it cannot tell; FERRY_OK, or the status the copy would fail
 * with (in err): a missing source (5) or one of fails_the_copy. */
static ferry_status check_source(ferry_endpoint *src, const ferry_copy_options *o, char *line, size_t cap,
                                 ferry_error *err)
{
    ferry_entry e;
    const char *what;
    ferry_error probe_err;
    ferry_status s = probe(src, o, &e, &what, &probe_err);
    int differs = url_request_differs(src, o, 0);
    if (!what) {
        snprintf(line, cap, "probe:       source not probed (%s)", src->kind == FERRY_EP_STDIO ? "stdin" : "no stat or test");
        return FERRY_OK;
    }
    if (s == FERRY_OK) {
        if (strcmp(what, "test") == 0)
            snprintf(line, cap, "probe:       source reachable (connection test passed)");
        else if (e.is_dir)
            snprintf(line, cap, "probe:       source exists (a directory or bucket)");
        else if (e.size >= 0)
            snprintf(line, cap, "probe:       source exists (%lld bytes)", (long long)e.size);
        else
            snprintf(line, cap, "probe:       source exists");
        return FERRY_OK;
    }
    if (!differs && (s == FERRY_ERR_NOT_FOUND || fails_the_copy(s))) {
        snprintf(line, cap, "probe:       source: would fail (exit %d): %s", (int)s, probe_err.msg);
        *err = probe_err;
        return s;
    }
    snprintf(line, cap, "probe:       source: cannot tell%s: %s", differs ? " (the probe sends no --header/--data)" : "",
             probe_err.msg);
    return FERRY_OK;
}

static void append_line(char *buf, size_t cap, const char *text, const char *end)
{
    size_t n = strlen(buf);
    if (n < cap)
        snprintf(buf + n, cap - n, "%s%s", text, end);
}

/* ferry_copy_describe with o taken. */
static ferry_status describe(const char *src_text, const char *dst_text_in, const ferry_copy_options *o, char *buf,
                             size_t cap, ferry_error *err)
{
    buf[0] = '\0';
    ferry_endpoint *src = NULL, *dst = NULL;
    char *dst_owned = NULL;
    ferry_status st = ferry_endpoint_parse(src_text, o, 0, &src, err);
    if (st != FERRY_OK)
        return st;
    /* the destination the copy would write: DIR/ gets the source's name */
    dst_owned = o->split_output || o->partition_count > 0 ? NULL : ferry_copy_destination_text(src, dst_text_in);
    const char *dst_text = dst_owned ? dst_owned : dst_text_in;
    st = ferry_endpoint_parse(dst_text, o, 1, &dst, err);
    if (st != FERRY_OK) {
        ferry_endpoint_free(src);
        free(dst_owned);
        return st;
    }
    describe_endpoint("source:", src, buf, cap);
    describe_endpoint("destination:", dst, buf, cap);
    ferry_format f = o && o->format != FERRY_FORMAT_AUTO ? o->format
                     : dst->format != FERRY_FORMAT_AUTO  ? dst->format
                                                         : src->format;
    char filter[64];
    describe_filter(src, dst, filter, sizeof filter);
    size_t n = strlen(buf);
    snprintf(buf + n, cap - n, "format:      %s\nfilter:      %s\nspool:       %s\n",
             f == FERRY_FORMAT_AUTO ? "csv (default)" : format_name(f), filter,
             o && o->spool == FERRY_SPOOL_DISK ? "temp file in $TMPDIR" : "none (streaming)");
    if (o && ferry_format_check(src, dst, f == FERRY_FORMAT_AUTO ? FERRY_FORMAT_CSV : f, o, err) != FERRY_OK) {
        n = strlen(buf);
        snprintf(buf + n, cap - n, "refused:     %s (exit 2)\n", err ? err->msg : "");
        ferry_endpoint_free(src);
        ferry_endpoint_free(dst);
        free(dst_owned);
        return FERRY_ERR_USAGE;
    }
    if (o && o->query) {
        n = strlen(buf);
        char q[512];
        snprintf(q, sizeof q, "%s", o->query);
        ferry_scrub(q, sizeof q);
        snprintf(buf + n, cap - n, "query:       %s\n", q);
    }
    n = strlen(buf);
    snprintf(buf + n, cap - n,
             "checked:     templates rendered, connections resolved (credentials present), the probes\n"
             "             below with up to %d attempts each (--retries)\n",
             o->max_retries > 0 ? o->max_retries : 5);
    /* the source: a ranged copy's source is a SQL system, probed by its test */
    ferry_error src_err;
    ferry_error_clear(&src_err);
    char line[1400];
    ferry_status src_st = check_source(src, o, line, sizeof line, &src_err);
    append_line(buf, cap, line, "\n");
    if (o && (o->parallel > 1 || o->split_output || o->partition_count > 0)) {
        st = describe_ranges(src, dst, o, f, buf, cap, err);
        if (o->split_output || o->partition_count > 0) {
            if (st == FERRY_OK && src_st != FERRY_OK) {
                *err = src_err;
                st = src_st;
            }
            append_line(buf, cap, not_checked, "");
            ferry_endpoint_free(src);
            ferry_endpoint_free(dst);
            free(dst_owned);
            ferry_scrub(buf, cap);
            return st;
        }
    }
    ferry_error probe_err;
    int fatal = 0;
    int exists = dest_exists(dst, o, &probe_err, &fatal);
    char failed[64];
    snprintf(failed, sizeof failed, "would fail (exit %d)", (int)probe_err.status);
    const char *outcome = fatal ? failed
                          : exists == 0   ? "would create the destination"
                          : exists < 0  ? (o && o->replace ? "would write the destination (replacing it if it exists)"
                                                           : "would write the destination (refusing if it exists)")
                          : o && o->replace ? "destination exists: would replace it atomically"
                                            : "destination exists: would refuse (exit 6) without --replace";
    n = strlen(buf);
    snprintf(buf + n, cap - n, "outcome:     %s%s%s\n", outcome, exists < 0 && probe_err.msg[0] ? "; probe: " : "",
             exists < 0 ? probe_err.msg : "");
    append_line(buf, cap, not_checked, "");
    /* the first failure the copy would meet: without --spool disk or
     * --create it opens the destination first, else it checks that the
     * destination does not exist, reads the source, then opens the sink */
    int source_first = o && (o->spool == FERRY_SPOOL_DISK || o->create_table);
    ferry_status first = FERRY_OK;
    if (exists == 1 && !(o && o->replace))
        first = ferry_error_set(err, FERRY_ERR_EXISTS, "dry run: %s exists (use --replace to replace it)", dst_text);
    else if (fatal && !(source_first && src_st != FERRY_OK)) {
        *err = probe_err;
        first = probe_err.status;
    } else if (src_st != FERRY_OK) {
        *err = src_err;
        first = src_st;
    }
    if (first != FERRY_OK)
        st = first;
    ferry_endpoint_free(src);
    ferry_endpoint_free(dst);
    free(dst_owned);
    ferry_scrub(buf, cap);
    return st;
}

ferry_status ferry_copy_describe(const char *src_text, const char *dst_text, const ferry_copy_options *o_in,
                                 char *buf, size_t cap, ferry_error *err)
{
    buf[0] = '\0';
    ferry_copy_options o;
    ferry_status st = ferry_copy_options_take(o_in, &o, err);
    if (st != FERRY_OK)
        return st;
    return describe(src_text, dst_text, &o, buf, cap, err);
}

ferry_status ferry_copy_describe_destination(const char *dst_text, const ferry_copy_options *o_in, char *buf,
                                             size_t cap, ferry_error *err)
{
    ferry_copy_options o;
    ferry_status st = ferry_copy_options_take(o_in, &o, err);
    if (st != FERRY_OK)
        return st;
    ferry_endpoint *dst = NULL;
    st = ferry_endpoint_parse(dst_text, &o, 1, &dst, err);
    if (st != FERRY_OK)
        return st;
    ferry_error probe_err;
    int fatal = 0;
    int exists = dest_exists(dst, &o, &probe_err, &fatal);
    char failed[64];
    snprintf(failed, sizeof failed, "would fail (exit %d)", (int)probe_err.status);
    size_t n = strlen(buf);
    if (n < cap)
        snprintf(buf + n, cap - n, "destination: %s%s%s\n",
                 fatal ? failed : exists == 1 ? "exists" : exists == 0 ? "does not exist yet" : "reachable",
                 probe_err.msg[0] && exists < 0 ? "; probe: " : "", exists < 0 ? probe_err.msg : "");
    append_line(buf, cap, not_checked, "");
    append_line(buf, cap, "             (nor whether each DEST/NAME exists: the copy refuses those, exit 6)\n", "");
    ferry_endpoint_free(dst);
    ferry_scrub(buf, cap);
    if (fatal) {
        *err = probe_err;
        return err->status;
    }
    return FERRY_OK;
}
