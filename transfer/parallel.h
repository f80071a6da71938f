/*
 * transfer/parallel.h - parallel, snapshot-consistent extraction (issue #8):
 * --parallel N (N ranges on N threads into one destination, or one object
 * per range with --split-output) and --partition K/N (range K only, plus a
 * sidecar DEST/_parts/part-KKKKK.json for `ferry manifest`).  docs/scale-out.md.
 * The last section is internal to transfer/parallel*.c: the set sink's
 * structs (the sidecar reads a part's SHA-256) and the two fallback sinks.
 */
#ifndef FERRY_TRANSFER_PARALLEL_H
#define FERRY_TRANSFER_PARALLEL_H

#include <openssl/evp.h>

#include "ferry/stream.h"
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

/* ---- internal to transfer/parallel*.c ------------------------------------ */

typedef struct set_rs set_rs;
typedef struct set_writer {
    ferry_writer base;
    set_rs *rs;
    int i;
    ferry_endpoint *ep;     /* owned: the part's endpoint */
    ferry_writer *sink;     /* owned: the part's sink */
    EVP_MD_CTX *md;         /* owned: sha256 of the object's bytes */
    char sha256[65];        /* hex, set at the writer's commit */
    int complete;           /* the range is complete */
    int committed;          /* the part is visible */
} set_writer;

struct set_rs {
    ferry_ranged_sink base;
    set_writer *w;          /* owned: n writers */
};

/* parallel_spool.c: the spool fallback ranged sink of n ranges into dst's
 * own sink; *out owned by the caller (ops->free).  The writers' no-op
 * abort/free, shared with the set sink. */
ferry_status ferry_parallel_spool_new(ferry_endpoint *dst, const ferry_copy_options *o, int n,
                                      ferry_ranged_sink **out, ferry_error *err);
void ferry_parallel_writer_nop(ferry_writer *w);

/* parallel_set.c: the set ranged sink of count parts prefix/part-<first+i>...;
 * *out owned by the caller (ops->free). */
ferry_status ferry_parallel_set_new(ferry_endpoint *dst, const char *prefix, const ferry_copy_options *o,
                                    int first, int count, ferry_ranged_sink **out, ferry_error *err);

#endif
