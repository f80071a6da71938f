/*
 * transfer/parallel.h - parallel, snapshot-consistent extraction (issue #8):
 * --parallel N (N ranges on N threads into one destination, or one object
 * per range with --split-output) and --partition K/N (range K only, plus a
 * sidecar DEST/_parts/part-KKKKK.json for `ferry manifest`).  docs/scale-out.md.
 */
#ifndef FERRY_TRANSFER_PARALLEL_H
#define FERRY_TRANSFER_PARALLEL_H

#include "ferry/transfer.h"

/* Nonzero when o asks for a ranged copy that src can serve (its hook has
 * open_range_sources), or asks for --partition/--split-output at all (then
 * ferry_parallel_copy reports a source that cannot). */
int ferry_parallel_wanted(const ferry_endpoint *src, const ferry_copy_options *o);

/* The ranged copy.  Any range's failure or a signal aborts every range; the
 * destination is then untouched and no upload is left.  Same contract as
 * ferry_copy_endpoints otherwise. */
ferry_status ferry_parallel_copy(ferry_endpoint *src, ferry_endpoint *dst, const ferry_copy_options *o,
                                 ferry_summary *sum, ferry_error *err);

/* File names under DEST (shared with cli/cmd_manifest.c): the extension of a
 * format and compression (".csv.gz"), into out. */
void ferry_parallel_ext(ferry_format fmt, ferry_compress c, char *out, size_t cap);

/* The name of range r's object under DEST, into out: "part-00003.csv"
 * (--split-output) or "part-00003-of-00008.csv" (--partition); ext from
 * ferry_parallel_ext.  Shared with --dry-run (transfer/describe.c). */
void ferry_parallel_part_name(const ferry_copy_options *o, int r, const char *ext, char *out, size_t cap);

#endif
