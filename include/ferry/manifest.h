/*
 * ferry/manifest.h - the partition files of a `ferry copy --partition K/N`
 * set (docs/scale-out.md): the sidecar DEST/_parts/part-KKKKK.json each
 * partition writes after its object is committed, and DEST/_manifest.json
 * that `ferry manifest` writes once every partition is there and their
 * ranges tile the key.  Written and read with jansson (transfer/manifest.c);
 * the on-disk format is the one docs/scale-out.md shows.
 */
#ifndef FERRY_MANIFEST_H
#define FERRY_MANIFEST_H

#include <stddef.h>
#include <stdint.h>
#include "ferry/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Partitions a set may have (ferry manifest --partitions). */
#define FERRY_MANIFEST_MAX_PARTS 100000

/* One sidecar.  Plain values, no owned pointers: nothing to release. */
typedef struct ferry_sidecar {
    int partition;              /* K, 0-based */
    int of;                     /* N */
    int64_t rows;               /* rows the source sent */
    int64_t bytes;              /* bytes of the stored object (after compression) */
    char object[128];           /* "part-00002-of-00008.csv.gz", relative to DEST */
    char sha256[65];            /* of the stored object, lower-case hex */
    char format[8];             /* "csv" | "tsv" | "jsonl" */
    char compression[8];        /* "none" | "gzip" | "zstd" */
    char created_at[24];        /* "2026-11-22T03:14:07Z"; written as now when empty */
    /* The range the partition read, parsed from the sidecar's "range" by
     * ferry_sidecar_parse: {"split_by":COL,"from":A,"to":B,...} or
     * {"ctid_pages_from":A,"ctid_pages_to":B,...} (split_by "ctid").  from/to
     * are the bounds as compact JSON ("null": open end).  has_range 0: the
     * sidecar records none (older sidecars), nothing to compare. */
    int has_range;
    char split_by[256];
    char from[64], to[64];
} ferry_sidecar;

/* The sidecar's JSON (one line, '\n'-terminated) into *out (malloc'd, the
 * caller frees).  range_json: the range object the source hook described
 * (open_range_sources' bounds), copied as it is; NULL writes "range":null.
 * FERRY_ERR_INTERNAL when range_json is not JSON or out of memory. */
FERRY_API ferry_status ferry_sidecar_format(const ferry_sidecar *sc, const char *range_json, char **out, ferry_error *err);

/* Read a sidecar's JSON (len bytes, need not be NUL-terminated) into *out.
 * FERRY_ERR_DATA when it is not JSON or lacks partition, of, object, sha256
 * (or they have the wrong type, partition not in [0, of)). */
FERRY_API ferry_status ferry_sidecar_parse(const char *json, size_t len, ferry_sidecar *out, ferry_error *err);

/* Check a set of count sidecars in any order: sorts parts by partition (in
 * place) and checks that
 *   - every sidecar names the same N, and N == want when want > 0
 *     (FERRY_ERR_DATA "partition 1 of 3, expected of 4");
 *   - no partition has two sidecars (FERRY_ERR_DATA);
 *   - every partition 0..N-1 is there (FERRY_ERR_NOT_FOUND naming at most
 *     20 missing ones; also when count is 0 and want is 0);
 *   - their ranges tile the key: partition 0 open below, N-1 open above, k
 *     ends where k+1 begins on the same key (FERRY_ERR_DATA naming the first
 *     gap or overlap).  Skipped when a sidecar has no range.
 * prefix (DEST) begins the messages.  *n_out gets N on FERRY_OK; parts[k]
 * is then partition k. */
FERRY_API ferry_status ferry_manifest_check(const char *prefix, ferry_sidecar *parts, size_t count, long want, long *n_out,
                                  ferry_error *err);

/* The manifest of n checked sidecars (parts[k] is partition k) into *out
 * (malloc'd, the caller frees): {"partitions":N,"rows":..,"bytes":..,
 * "created_at":..,"parts":[ one line per part ]}; rows and bytes are the
 * sums.  FERRY_ERR_INTERNAL when out of memory. */
FERRY_API ferry_status ferry_manifest_format(const ferry_sidecar *parts, long n, char **out, ferry_error *err);

/* `ferry manifest`: list DEST/_parts/, read every sidecar through the hook
 * of prefix (local, S3, SFTP), ferry_manifest_check them and write
 * DEST/_manifest.json atomically.  want: the N there must be (0: the N the
 * sidecars name).  Without replace an existing manifest is FERRY_ERR_EXISTS.
 * Nothing is written on failure.  *n_out (may be NULL) gets N. */
FERRY_API ferry_status ferry_manifest_write(const char *prefix, long want, int replace, long *n_out, ferry_error *err);

#ifdef __cplusplus
}
#endif
#endif
