/*
 * describe.c - `ferry copy --dry-run`: resolve both endpoints and say what a
 * copy would read, through which filter, into what, and whether it would
 * create, replace or refuse the destination.  Nothing is read or written.
 */
#include <stdio.h>
#include <string.h>

#include "ferry/log.h"
#include "ferry/transfer.h"

static const char *format_name(ferry_format f)
{
    switch (f) {
    case FERRY_FORMAT_CSV: return "csv";
    case FERRY_FORMAT_TSV: return "tsv";
    case FERRY_FORMAT_JSONL: return "jsonl";
    case FERRY_FORMAT_RAW: return "raw";
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
             ep->compress == FERRY_COMPRESS_GZIP ? ", gzip" : "");
}

ferry_status ferry_copy_describe(const char *src_text, const char *dst_text, const ferry_copy_options *o,
                                 char *buf, size_t cap, ferry_error *err)
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
    const char *filter = src->compress == FERRY_COMPRESS_GZIP && dst->compress != FERRY_COMPRESS_GZIP ? "gunzip"
                         : dst->compress == FERRY_COMPRESS_GZIP && src->compress != FERRY_COMPRESS_GZIP ? "gzip"
                                                                                                          : "none";
    size_t n = strlen(buf);
    snprintf(buf + n, cap - n, "format:      %s\nfilter:      %s\nspool:       %s\n",
             f == FERRY_FORMAT_AUTO ? "csv (default)" : format_name(f), filter,
             o && o->spool == FERRY_SPOOL_DISK ? "temp file in $TMPDIR" : "none (streaming)");
    if (o && o->query) {
        n = strlen(buf);
        char q[512];
        snprintf(q, sizeof q, "%s", o->query);
        ferry_scrub(q, sizeof q);
        snprintf(buf + n, cap - n, "query:       %s\n", q);
    }
    ferry_entry e;
    ferry_error probe;
    ferry_error_clear(&probe);
    int exists = -1;
    if (dst->hook->stat) {
        ferry_status s = dst->hook->stat(dst, &e, &probe);
        exists = s == FERRY_OK ? 1 : s == FERRY_ERR_NOT_FOUND ? 0 : -1;
    }
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
