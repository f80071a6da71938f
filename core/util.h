/*
 * core/util.h - internal to libferry: the small helpers every part needs
 * once, so no file carries its own copy: a monotonic clock, sleeps (plain
 * and cancellable), printf into a new string, the out-of-memory error and
 * the one temp-file function (hex and base64 are in core/encode.h, the
 * growable buffer in core/buf.h).  None of them allocates unless it says so.
 */
#ifndef FERRY_CORE_UTIL_H
#define FERRY_CORE_UTIL_H

#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "ferry/error.h"

/* ---- time ----------------------------------------------------------------- */

/* Seconds on CLOCK_MONOTONIC (only differences mean anything). */
double ferry_now_monotonic(void);

/* The CLOCK_MONOTONIC time `seconds` from now, normalised, for
 * pthread_cond_timedwait on a condition variable whose clock is
 * CLOCK_MONOTONIC (pthread_condattr_setclock). */
void ferry_monotonic_deadline(struct timespec *ts, double seconds);

/* Sleep `seconds` (<= 0: return at once), resuming after signals.  Not
 * interrupted by cancellation: for waits that belong to a cleanup (an abort
 * must finish even after Ctrl-C). */
void ferry_sleep(double seconds);

/* Sleep `seconds` in steps of at most 50 ms, checking ferry_cancelled()
 * before each step (so whatever source of cancellation ferry_cancelled()
 * reports stops the sleep).  Returns 0 after the full time, -1 as soon as
 * the transfer is cancelled (also when it already was on entry). */
int ferry_sleep_cancellable(double seconds);

/* ---- strings ------------------------------------------------------------- */

/* printf into a new string (malloc'd: the caller frees it), NULL when out of
 * memory or on a format error. */
char *ferry_strdup_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- errors --------------------------------------------------------------- */

/* The out-of-memory error (status FERRY_ERR_INTERNAL), in the project's
 * style: "[<system>[(<conn_id>)]: ][<what>: ]out of memory".  system, conn_id
 * and what may be NULL.  Returns FERRY_ERR_INTERNAL; err may be NULL. */
ferry_status ferry_error_oom(ferry_error *err, const char *system, const char *conn_id, const char *what);

/* ---- files ---------------------------------------------------------------- */

/* THE temp-file function: create a new file "<dir>/<prefix>XXXXXX" (six
 * random characters) with open(O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600),
 * retrying other names while one exists.  The mode is given to open(2) and
 * then set with fchmod, so it is 0600 whatever the umask; umask() is never
 * called (it is process-wide and races with other threads).
 * dir NULL or "": $TMPDIR, else /tmp.  path_out non-NULL: receives the
 * path (malloc'd, the caller frees it and removes the file); NULL: the file
 * is unlinked at once (anonymous, nothing can leak).
 * Returns the fd (owned by the caller), or -1 with errno set. */
int ferry_tmpfile(const char *dir, const char *prefix, char **path_out);

/* The mode a new regular file gets from open(path, O_CREAT, 0666): 0666
 * without the process's umask, read from /proc/self/status ("Umask:")
 * instead of calling umask(); 0644 when that cannot be read. */
mode_t ferry_default_file_mode(void);

#endif
