/*
 * describe.c - `ferry copy --dry-run`: resolve both endpoints and say what a
 * copy would read, through which filter, into what, and whether it would
 * create, replace or refuse the destination.  Nothing is read or written.
 */
#include <stdio.h>
#include <string.h>

#include "ferry/log.h"
#include "ferry/transfer.h"
#include "parallel.h"
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

/* Whether one destination exists: 1, 0, or -1 (cannot tell; why in probe). */
static int dest_exists(ferry_endpoint *dst, ferry_error *probe)
{
    ferry_entry e;
    ferry_error_clear(probe);
    if (!dst->hook->stat)
        return -1;
    ferry_status s = dst->hook->stat(dst, &e, probe);
    return s == FERRY_OK ? 1 : s == FERRY_ERR_NOT_FOUND ? 0 : -1;
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
        ferry_error probe;
        ferry_error_clear(&probe);
        int exists = ferry_endpoint_parse(text, o, 1, &part, &probe) == FERRY_OK ? dest_exists(part, &probe) : -1;
        ferry_endpoint_free(part);
        const char *what = exists == 0 ? "would create" : exists < 0 ? "cannot tell whether it exists; would write"
                           : o->replace ? "exists: would replace" : "exists: would refuse (exit 6)";
        len = strlen(buf);
        snprintf(buf + len, cap - len, "             %s: %s%s%s\n", text, what, exists < 0 && probe.msg[0] ? "; " : "",
                 exists < 0 ? probe.msg : "");
        if (exists == 1 && !o->replace && !refused++)
            st = ferry_error_set(err, FERRY_ERR_EXISTS, "dry run: %s exists (use --replace to replace it)", text);
    }
    if (o->partition_count > 0) {
        len = strlen(buf);
        snprintf(buf + len, cap - len, "             and its sidecar %s/_parts/part-%05d.json for `ferry manifest`\n",
                 prefix, first);
    }
    return st;
}

/* ferry_copy_describe with o taken. */
static ferry_status describe(const char *src_text, const char *dst_text, const ferry_copy_options *o, char *buf,
                             size_t cap, ferry_error *err)
{
    buf[0] = '\0';
    ferry_endpoint *src = NULL, *dst = NULL;
    ferry_status st = ferry_endpoint_parse(src_text, o, 0, &src, err);
    if (st == FERRY_OK)
        st = ferry_endpoint_parse(dst_text, o, 1, &dst, err);
    if (st != FERRY_OK) {
        ferry_endpoint_free(src);
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
        return FERRY_ERR_USAGE;
    }
    if (o && o->query) {
        n = strlen(buf);
        char q[512];
        snprintf(q, sizeof q, "%s", o->query);
        ferry_scrub(q, sizeof q);
        snprintf(buf + n, cap - n, "query:       %s\n", q);
    }
    if (o && (o->parallel > 1 || o->split_output || o->partition_count > 0)) {
        st = describe_ranges(src, dst, o, f, buf, cap, err);
        if (o->split_output || o->partition_count > 0) {
            ferry_endpoint_free(src);
            ferry_endpoint_free(dst);
            ferry_scrub(buf, cap);
            return st;
        }
    }
    ferry_error probe;
    int exists = dest_exists(dst, &probe);
    const char *outcome = exists == 0   ? "would create the destination"
                          : exists < 0  ? (o && o->replace ? "would write the destination (replacing it if it exists)"
                                                           : "would write the destination (refusing if it exists)")
                          : o && o->replace ? "destination exists: would replace it atomically"
                                            : "destination exists: would refuse (exit 6) without --replace";
    n = strlen(buf);
    snprintf(buf + n, cap - n, "outcome:     %s%s%s\n", outcome, exists < 0 && probe.msg[0] ? "; stat: " : "",
             exists < 0 ? probe.msg : "");
    if (exists == 1 && !(o && o->replace))
        st = ferry_error_set(err, FERRY_ERR_EXISTS, "dry run: %s exists (use --replace to replace it)", dst_text);
    ferry_endpoint_free(src);
    ferry_endpoint_free(dst);
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
