/*
 * ferry/error.h - the one error type of libferry, carried up with context.
 *
 * Every fallible libferry call returns a ferry_status (FERRY_OK == 0) and, on
 * failure, fills a caller-owned ferry_error.  The status values ARE the exit
 * codes of the ferry CLI (documented in README.md and docs/ferry.1), so a
 * status is never renumbered.  Messages read
 *     "<system>(<conn id>): <operation>: <cause>"
 * e.g. postgres(warehouse): COPY failed: relation "ordrs" does not exist
 * and never contain a registered secret (see ferry_secret_add in log.h):
 * ferry_error_set scrubs them before storing the text.
 */
#ifndef FERRY_ERROR_H
#define FERRY_ERROR_H

#include <stdarg.h>
#include <stddef.h>
#include "ferry/export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ferry_status {
    FERRY_OK = 0,
    FERRY_ERR_INTERNAL = 1,     /* a bug or an unexpected library failure */
    FERRY_ERR_USAGE = 2,        /* bad command line / API arguments */
    FERRY_ERR_CONFIG = 3,       /* bad or unknown connection, malformed URI */
    FERRY_ERR_CONNECT = 4,      /* cannot connect, authentication or permission refused */
    FERRY_ERR_NOT_FOUND = 5,    /* table, bucket, key, file or path does not exist */
    FERRY_ERR_EXISTS = 6,       /* destination exists and --replace was not given */
    FERRY_ERR_DATA = 7,         /* query failed, bad data, row count mismatch */
    FERRY_ERR_TRANSIENT = 8,    /* a transient failure persisted after every retry */
    FERRY_ERR_IO = 9,           /* local I/O: disk full, unreadable file, broken pipe */
    FERRY_ERR_TIMEOUT = 10,     /* a sensor or operation ran out of time */
    FERRY_ERR_INTERRUPTED = 130 /* SIGINT / SIGTERM: aborted cleanly */
} ferry_status;

#define FERRY_ERROR_MSG_MAX 1024

typedef struct ferry_error {
    ferry_status status;
    int transient;                  /* nonzero: the same call may succeed if retried */
    char msg[FERRY_ERROR_MSG_MAX];  /* scrubbed of secrets, never ends with '\n' */
} ferry_error;

/* Zero the error (status FERRY_OK, empty message). */
FERRY_API void ferry_error_clear(ferry_error *err);

/* Set status and printf-style message; scrubs secrets. Returns status.
 * err may be NULL (the call then only returns status). */
FERRY_API ferry_status ferry_error_set(ferry_error *err, ferry_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
FERRY_API ferry_status ferry_error_setv(ferry_error *err, ferry_status status, const char *fmt, va_list ap);

/* The common form: "<system>(<conn_id>): <fmt...>".  conn_id may be NULL or "". */
FERRY_API ferry_status ferry_error_hook(ferry_error *err, ferry_status status, const char *system,
                                        const char *conn_id, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Mark the error as transient (retry may help). Returns err->status. */
FERRY_API ferry_status ferry_error_transient(ferry_error *err);

/* Prepend "<fmt...>: " to the existing message (keeps status). Returns status. */
FERRY_API ferry_status ferry_error_prefix(ferry_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Short lowercase name of a status: "ok", "usage", "not found", ... (static). */
FERRY_API const char *ferry_status_name(ferry_status status);

#ifdef __cplusplus
}
#endif
#endif
