/*
 * core/keyrange.h - internal to libferry: range r of n of an integer key, for
 * --parallel / --split-output / --partition (transfer/parallel.c) on the SQL
 * hooks (hooks/postgres/pg_parallel.c, hooks/mysql/my_parallel.c).  The key's
 * [lo, hi] is cut into n equal spans; the first range is open below, the last
 * is open above and takes the NULL keys, so the n conditions together select
 * every row exactly once whatever the values are.
 */
#ifndef FERRY_CORE_KEYRANGE_H
#define FERRY_CORE_KEYRANGE_H

#include <stdint.h>

/* Boundary i (0..n) of n equal parts of [lo, hi]: lo for 0, hi + 1 for n. */
int64_t ferry_keyrange_boundary(int64_t lo, int64_t hi, int i, int n);

/* The WHERE condition of range r (0..n-1) of n over `column` (an identifier
 * already quoted for the dialect), and its bounds as the JSON object the
 * partition sidecar records: {"split_by": name, "from": x|null, "to": y|null,
 * "nulls": bool}, name being the column as the user gave it.  empty: the key
 * has no non-NULL value (MIN/MAX were NULL): the last range takes every row
 * (TRUE), the others none (FALSE).  TRUE/FALSE are valid in PostgreSQL and
 * MySQL alike.  Returns 0, or -1 when out of memory; on 0 *cond and *json are
 * owned by the caller (free), on -1 both are NULL. */
int ferry_keyrange_condition(const char *column, const char *name, int empty, int64_t lo, int64_t hi, int r, int n,
                             char **cond, char **json);

#endif
