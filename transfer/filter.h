/*
 * filter.h - internal: which files of a listing a multi-file copy or a sync
 * takes.  rclone's filter rules (--include / --exclude globs, tried in order
 * on the name relative to the listed directory, first match wins, an include
 * rule implies "exclude everything else" at the end) and the age bounds
 * --min-age / --max-age.  Pure functions of the name and the mtime: no I/O.
 *
 * Glob syntax (rclone's, docs/ferry.1 FILTERS):
 *   *        any run of characters except '/'
 *   **       any run of characters, '/' included
 *   ?        one character (a whole UTF-8 sequence) except '/'
 *   [...]    one character of a class: ranges a-z, [:alpha:] etc., a leading
 *            '!' or '^' negates (a negated class never matches '/')
 *   {a,b}    alternatives (may nest and hold any of the above)
 *   \c       the character c itself
 * A glob starting with '/' matches the whole relative name from its start;
 * otherwise it matches at the end of the name, starting at the beginning or
 * right after a '/' ("file.jpg" matches "file.jpg" and "dir/file.jpg", not
 * "afile.jpg").  rclone's {{regexp}} sections are refused (FERRY_ERR_USAGE).
 */
#ifndef FERRY_TRANSFER_FILTER_H
#define FERRY_TRANSFER_FILTER_H

#include <stddef.h>
#include <stdint.h>

#include "ferry/error.h"

typedef struct ferry_glob ferry_glob;
typedef struct ferry_filter ferry_filter;

/* Compile one glob; *out owned by the caller (ferry_glob_free).
 * FERRY_ERR_USAGE naming the problem for a malformed glob. */
ferry_status ferry_glob_compile(const char *glob, ferry_glob **out, ferry_error *err);
/* Nonzero when name (relative, no leading '/') matches g under the anchoring
 * rule above. */
int ferry_glob_match(const ferry_glob *g, const char *name);
void ferry_glob_free(ferry_glob *g);

/* A filter from rules (each "+ GLOB" include or "- GLOB" exclude, rclone's
 * --filter form; "+GLOB"/"-GLOB" without the space are taken too) and the age
 * bounds in seconds (0 = none), judged against `now` (unix seconds).  No
 * rules and no bounds gives a filter that takes everything.  *out owned by
 * the caller (ferry_filter_free); strings are copied. */
ferry_status ferry_filter_new(const char *const *rules, size_t n_rules, double min_age, double max_age, int64_t now,
                              ferry_filter **out, ferry_error *err);
void ferry_filter_free(ferry_filter *f);

/* Nonzero when f has any rule or bound (f may be NULL: 0). */
int ferry_filter_active(const ferry_filter *f);

/* Whether a file is taken: 1 yes; 0 no, with the reason in why (cap bytes,
 * e.g. "excluded by --exclude '*.tmp'", "younger than --min-age 600s").
 * mtime -1 (unknown) fails an age bound.  f NULL takes everything. */
int ferry_filter_file(const ferry_filter *f, const char *name, int64_t mtime, char *why, size_t cap);
/* The same with the name rules only (no age bounds): whether a destination
 * file is in the scope of a sync's --delete. */
int ferry_filter_name(const ferry_filter *f, const char *name, char *why, size_t cap);

#endif
