/*
 * ferry/operators.h - Airflow's named operators and sensors as library calls;
 * the CLI verbs ls, rm, mkdir and wait are thin wrappers around these.
 */
#ifndef FERRY_OPERATORS_H
#define FERRY_OPERATORS_H

#include "ferry/hook.h"
#include "ferry/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* List what an endpoint holds (S3ListOperator, SFTP listing): a prefix, a
 * directory, or a glob in the last component. fn gets each entry. */
FERRY_API ferry_status ferry_list(const char *endpoint, int recursive, ferry_entry_fn fn, void *ud, ferry_error *err);

/* Delete (S3DeleteObjectsOperator, SFTP delete): one key/file, or with a glob,
 * a trailing '/' or recursive every file under it. dry_run lists what would
 * go and touches nothing. fn (may be NULL) is called per entry with the full
 * endpoint text before it is deleted. *n_removed counts deletions (or, in a
 * dry run, what would be deleted). */
FERRY_API ferry_status ferry_remove(const char *endpoint, int recursive, int dry_run,
                                    void (*fn)(const char *endpoint, void *ud), void *ud, long *n_removed,
                                    ferry_error *err);

/* Create a directory (SFTP, local); parents = mkdir -p. */
FERRY_API ferry_status ferry_mkdir(const char *endpoint, int parents, ferry_error *err);

typedef struct ferry_wait_options {
    double timeout;         /* seconds before giving up (FERRY_ERR_TIMEOUT); default 6 h */
    double interval;        /* seconds between checks; default 60 */
    int exponential;        /* double the interval after each miss (capped at 1 h) */
    int64_t newer_than;     /* files/keys: only count entries modified after this unix time; -1 off */
    const char *body_regex; /* HTTP: the body must match this POSIX extended regex */
    const char *sql;        /* SQL endpoints: the query whose first cell must be truthy */
    /* called after each miss (may be NULL) */
    void (*on_miss)(int attempt, double next_wait, const char *why, void *ud);
    void *ud;
} ferry_wait_options;

FERRY_API void ferry_wait_options_init(ferry_wait_options *o);

/* Sensors: wait until an S3 key / prefix / glob or an SFTP/local file or glob
 * exists (S3KeySensor, SFTPSensor), an HTTP URL answers 2xx (HttpSensor), or a
 * SQL query's first cell is truthy (SqlSensor). FERRY_OK when met,
 * FERRY_ERR_TIMEOUT when time ran out, FERRY_ERR_INTERRUPTED on a signal;
 * a permanent error (bad credentials, bad SQL) ends the wait at once. */
FERRY_API ferry_status ferry_wait(const char *endpoint, const ferry_wait_options *o, ferry_error *err);

#ifdef __cplusplus
}
#endif
#endif
