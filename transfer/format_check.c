/*
 * format_check.c - "a name never lies" (issue 15): a copy whose destination
 * name (or --format) asks for a format ferry cannot produce from its source
 * is refused before anything is opened, exit 2, naming both formats and what
 * works.  Files are copied as bytes (only their compression changes), so a
 * file's format can only go to the same format; SQL sources produce csv, tsv
 * and jsonl, and Parquet when their hook gives typed rows.
 */
#include <stdio.h>

#include "ferry/error.h"
#include "transfer/format_check.h"

const char *ferry_format_name(ferry_format f)
{
    switch (f) {
    case FERRY_FORMAT_CSV: return "csv";
    case FERRY_FORMAT_TSV: return "tsv";
    case FERRY_FORMAT_JSONL: return "jsonl";
    case FERRY_FORMAT_RAW: return "raw";
    case FERRY_FORMAT_PARQUET: return "parquet";
    case FERRY_FORMAT_AUTO: break;
    }
    return "unknown";
}

ferry_status ferry_format_check(const ferry_endpoint *src, const ferry_endpoint *dst, ferry_format fmt,
                                const ferry_copy_options *o, ferry_error *err)
{
    if (o->src_compress == FERRY_COMPRESS_SNAPPY)
        return ferry_error_set(err, FERRY_ERR_USAGE, "snappy is a parquet page codec, not a file's compression: "
                               "--decompress takes gzip, zstd or none");
    if (fmt == FERRY_FORMAT_RAW || fmt == FERRY_FORMAT_AUTO)
        return FERRY_OK; /* bytes moved as they are (manifests, parts) */
    char shown_s[1024], shown_d[1024];
    ferry_endpoint_display(src, shown_s, sizeof shown_s);
    ferry_endpoint_display(dst, shown_d, sizeof shown_d);
    int src_sql = (src->hook->flags & FERRY_HOOK_SQL) != 0, dst_sql = (dst->hook->flags & FERRY_HOOK_SQL) != 0;
    if (!dst_sql && dst->format != FERRY_FORMAT_AUTO && dst->format != fmt)
        return ferry_error_set(err, FERRY_ERR_USAGE,
                               "%s is named .%s but --format asks for %s: name the destination .%s",
                               shown_d, ferry_format_name(dst->format), ferry_format_name(fmt),
                               ferry_format_name(fmt));
    if (fmt == FERRY_FORMAT_PARQUET) {
        if (src_sql && !FERRY_HOOK_SLOT(src->hook, open_typed_source))
            return ferry_error_set(err, FERRY_ERR_USAGE,
                                   "cannot write parquet from %s: %s gives csv, tsv or jsonl rows only "
                                   "(parquet is written from postgres and mysql; name %s .csv, .tsv or .jsonl, or give --format)",
                                   shown_s, src->hook->name, shown_d);
        if (src_sql && dst_sql)
            return ferry_error_set(err, FERRY_ERR_USAGE, "--format parquet is for files, not for the table %s",
                                   shown_d);
        if (src_sql && (o->parallel > 1 || o->split_output || o->partition_count > 0))
            return ferry_error_set(err, FERRY_ERR_USAGE,
                                   "parquet is written by one stream for now: not with --parallel, "
                                   "--split-output or --partition");
        if (src_sql && dst->compress != FERRY_COMPRESS_NONE && o->dst_compress == FERRY_COMPRESS_AUTO)
            return ferry_error_set(err, FERRY_ERR_USAGE,
                                   "%s: parquet compresses its pages itself; name it .parquet and give "
                                   "--compress snappy|zstd|gzip|none", shown_d);
        if (!src_sql && src->format != FERRY_FORMAT_PARQUET && src->format != FERRY_FORMAT_AUTO)
            return ferry_error_set(err, FERRY_ERR_USAGE,
                                   "cannot convert %s (%s) to parquet (%s): ferry writes parquet from a "
                                   "postgres or mysql table or query; a file is copied as it is, so name the "
                                   "destination .%s",
                                   shown_s, ferry_format_name(src->format), shown_d,
                                   ferry_format_name(src->format));
        if (dst_sql)
            return ferry_error_set(err, FERRY_ERR_USAGE,
                                   "cannot load parquet (%s) into a table yet: ferry loads csv, tsv and jsonl",
                                   shown_s);
        return FERRY_OK;
    }
    if (o->dst_compress == FERRY_COMPRESS_SNAPPY)
        return ferry_error_set(err, FERRY_ERR_USAGE,
                               "--compress snappy is for parquet pages; a %s file takes gzip, zstd or none",
                               ferry_format_name(fmt));
    if (src_sql)
        return FERRY_OK; /* csv, tsv and jsonl are all produced by SQL sources */
    if (src->format == FERRY_FORMAT_PARQUET)
        return ferry_error_set(err, FERRY_ERR_USAGE,
                               "cannot convert parquet (%s) to %s (%s): reading parquet is not built yet; "
                               "a parquet file is copied as it is to a destination named .parquet",
                               shown_s, ferry_format_name(fmt), dst_sql ? "a table" : shown_d);
    if (!dst_sql && src->format != FERRY_FORMAT_AUTO && src->format != fmt)
        return ferry_error_set(err, FERRY_ERR_USAGE,
                               "cannot convert %s (%s) to %s (%s): a file is copied as it is (only its "
                               "compression changes), so name the destination .%s (or .%s.gz, .%s.zst), "
                               "or load it into a table and export that as %s",
                               shown_s, ferry_format_name(src->format), ferry_format_name(fmt), shown_d,
                               ferry_format_name(src->format), ferry_format_name(src->format),
                               ferry_format_name(src->format), ferry_format_name(fmt));
    return FERRY_OK;
}
