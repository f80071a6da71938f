/*
 * sync.h - internal: the per-file decisions of `ferry sync` and of filtered
 * multi-file copies (a "selector"), the seams transfer/multi.c calls them
 * at, and the multi-file copy that takes a selector.
 *
 * A selector holds the filter (transfer/filter.h) and, for a sync or
 * --ignore-existing, an index of the destination's files (name -> size,
 * mtime), listed once before the first copy.  multi.c asks it per listed
 * source file whether to copy (seam a) and tells it each committed copy
 * (seam b: the destination gets the source's mtime where it keeps one);
 * ferry_sync (sync.c) runs the --delete pass after the copies.
 */
#ifndef FERRY_TRANSFER_SYNC_H
#define FERRY_TRANSFER_SYNC_H

#include "ferry/transfer.h"

typedef struct ferry_select ferry_select;

/* Whether o asks for a selection: filter rules, an age bound, ignore_existing. */
int ferry_select_wanted(const ferry_copy_options *o);

/* A selector for copying the files src names into dst (texts as given to
 * ferry_copy_many; dst "-" has no listing).  flags: FERRY_SYNC_* (COMPARE
 * lists dst and compares; so does o->ignore_existing).  fn/ud receive the
 * SKIP events (may be NULL).  *out owned by the caller (ferry_select_free). */
ferry_status ferry_select_new(const char *src, const char *dst, const ferry_copy_options *o, unsigned flags,
                              ferry_sync_fn fn, void *ud, ferry_select **out, ferry_error *err);
void ferry_select_free(ferry_select *s);

/* Seam (a): whether to copy the listed source file name (size and mtime from
 * the listing, -1 unknown).  A skip is counted and reported to fn.  Called
 * by one thread at a time (the lister's, under the multi-file plan's lock,
 * so fn's SKIP events never overlap its COPY results). */
int ferry_select_entry(ferry_select *s, const char *name, int64_t size, int64_t mtime);

/* Seam (b): the copy to dst_text committed; give it the source's mtime where
 * the destination keeps one (a failure is a warning: the next sync copies
 * the file again).  Safe from any thread. */
void ferry_select_copied(const ferry_select *s, const char *dst_text, int64_t mtime, const ferry_copy_options *o);

/* Files skipped so far. */
int64_t ferry_select_skipped(const ferry_select *s);

/* multi.c: ferry_copy_many with a selector (NULL: every listed file), o
 * already taken (transfer/options.h) and its cancel token current: a plan
 * (transfer/multi.h) whose admit callback is seam (a), ferry_select_entry,
 * run on the lister's thread under the plan's lock, and whose committed
 * callback is seam (b), ferry_select_copied, run by the worker that copied
 * the file.  o->transfers files in flight. */
ferry_status ferry_copy_many_select(const char *src, const char *dst, const ferry_copy_options *o, ferry_select *sel,
                                    ferry_file_result_fn fn, void *ud, int *n_ok, int *n_failed, ferry_error *err);

#endif
