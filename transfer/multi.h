/*
 * multi.h - internal: the steps of a multi-file copy (ferry_copy_many), so
 * other commands (sync, filters) reuse them: a plan (source listing base,
 * destination base, options, results), the per-file step, and the run that
 * streams the source's listing through a bounded queue to a pool of workers.
 */
#ifndef FERRY_TRANSFER_MULTI_H
#define FERRY_TRANSFER_MULTI_H

#include "ferry/transfer.h"

/* What --transfers 0 means (chosen by bench/many_files.sh, see
 * docs/performance-sftp.md, "Many small files"). */
#define FERRY_MULTI_TRANSFERS_DEFAULT 8
#define FERRY_MULTI_TRANSFERS_MAX 64

typedef struct ferry_multi_plan ferry_multi_plan;

/* One listed file; name is relative to the listed directory (borrowed). */
typedef struct ferry_multi_entry {
    const char *name;
    int64_t size;           /* -1 unknown */
    int64_t mtime;          /* unix seconds, -1 unknown */
} ferry_multi_entry;

/* Decides, on the lister's thread, whether a listed file is copied: 1 copy,
 * 0 leave out (counted by nobody: the caller says why), or a status < 0 is
 * not used - return FERRY_OK-or-error through err instead: any value other
 * than 0/1 stops the listing with err. */
typedef int (*ferry_multi_admit_fn)(void *ud, const ferry_entry *e, ferry_error *err);

/* A plan for copying what src names into dst (a directory/prefix, or "-").
 * o is copied (the caller's strings stay borrowed for the plan's life); fn
 * (may be NULL) gets every file's result, one call at a time (serialised
 * under the plan's lock), from whichever worker finished it.  Owned by the
 * caller: ferry_multi_plan_free. */
ferry_status ferry_multi_plan_new(const char *src, const char *dst, const ferry_copy_options *o,
                                  ferry_file_result_fn fn, void *ud, ferry_multi_plan **out, ferry_error *err);
void ferry_multi_plan_free(ferry_multi_plan *p);

/* Only files admit says 1 for are copied (NULL: every file).  admit runs
 * on the lister's thread under the plan's lock (serialised with fn), for
 * every listed file; a file it leaves out still counts as listed (no
 * "matches no files"). */
void ferry_multi_plan_set_admit(ferry_multi_plan *p, ferry_multi_admit_fn admit, void *ud);

/* Called by the worker that copied e to dst, after the copy committed and
 * before its result goes to fn (sync: the destination gets the source's
 * mtime through the hook's set_mtime slot).  Runs on any worker, several at
 * once: it must be thread-safe.  o is the file's options. */
typedef void (*ferry_multi_committed_fn)(void *ud, const char *dst, const ferry_multi_entry *e,
                                         const ferry_copy_options *o);
void ferry_multi_plan_set_committed(ferry_multi_plan *p, ferry_multi_committed_fn committed, void *ud);

/* Copy one listed file: check its name maps to a safe destination name
 * (else a failed file, FERRY_ERR_DATA, or a warning with
 * o->skip_unsafe_names), create the destination's parent directory, copy
 * (and --move), count and report the result.  Thread-safe; returns the
 * file's status (FERRY_OK also for a skipped unsafe name). */
ferry_status ferry_multi_copy_one(ferry_multi_plan *p, const ferry_multi_entry *e);

/* List the plan's source and copy every file with o->transfers workers
 * (ferry_thread_create; the caller's cancel token is theirs).  Returns
 * FERRY_OK when every file was copied, else the status of the first failure
 * (FERRY_ERR_INTERRUPTED when cancelled), its message in err; counts in
 * *n_ok, *n_failed (a listing that failed part way counts as one failed
 * entry, reported through fn with the source's listing base). */
ferry_status ferry_multi_run(ferry_multi_plan *p, int *n_ok, int *n_failed, ferry_error *err);

/* Nonzero when name (relative, as a listing gives it) can be joined to the
 * destination directory without leaving it or changing its meaning: not
 * empty, not absolute, no empty, "." or ".." component.  *why gets the
 * reason otherwise (static text).  Other bytes (spaces, glob characters,
 * backslashes, newlines, UTF-8) are names like any other. */
int ferry_multi_name_safe(const char *name, const char **why);

/* Whether the listed name maps to a destination name of its own: a safe
 * name (above) that no earlier entry of the batch took (taken: the names
 * so far, exact or case-folded; NULL checks only the name itself; a new
 * name is added).  FERRY_OK, FERRY_ERR_DATA with the reason in err (no
 * advice appended), or an out-of-memory error. */
struct ferry_nameset;
ferry_status ferry_multi_claim_name(struct ferry_nameset *taken, const char *name, ferry_error *err);

#endif
