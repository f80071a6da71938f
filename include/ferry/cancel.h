/*
 * ferry/cancel.h - cooperative cancellation, per transfer or process-wide.
 *
 * A cancel token is a flag one transfer polls: give it to a copy in
 * ferry_copy_options.cancel and ferry_cancel_token_request() (from any thread
 * or a signal handler) makes that copy abort cleanly with
 * FERRY_ERR_INTERRUPTED, leaving every other transfer of the program running.
 * The process-wide token (ferry_cancel_request, what the CLI's SIGINT/SIGTERM
 * handler calls) cancels every transfer at once.
 *
 * The single poll point is ferry_cancelled(): it is true when the process-wide
 * token or the calling thread's current token was requested.  ferry_copy and
 * friends make o->cancel the current token of the calling thread for the
 * duration of the call, and the threads the library starts for a transfer
 * (S3 uploader, gzip workers, parallel ranges, ...) inherit it.  A hook
 * registered from outside that starts threads of its own passes
 * ferry_cancel_current() to them and has each call ferry_cancel_adopt() first.
 * Operations without a cancel option (ferry_exec, ferry_wait, ferry_list, ...)
 * honour the token the calling thread adopted.
 */
#ifndef FERRY_CANCEL_H
#define FERRY_CANCEL_H

#include "ferry/export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ferry_cancel_token ferry_cancel_token;

/* A new token, not requested; NULL when out of memory.  Owned by the caller,
 * released with ferry_cancel_token_free once no transfer uses it. */
FERRY_API ferry_cancel_token *ferry_cancel_token_new(void);
FERRY_API void ferry_cancel_token_free(ferry_cancel_token *t);

/* Ask the transfers polling t to stop.  signo is the signal that asked, or 0
 * when the program asks.  Async-signal-safe (lock-free atomics), any thread. */
FERRY_API void ferry_cancel_token_request(ferry_cancel_token *t, int signo);
/* Nonzero once requested (until reset). */
FERRY_API int ferry_cancel_token_requested(const ferry_cancel_token *t);
/* Back to not requested, e.g. to reuse t for the next transfer. */
FERRY_API void ferry_cancel_token_reset(ferry_cancel_token *t);

/* The calling thread's current token (NULL: none, only the process-wide one
 * applies).  ferry_cancel_adopt makes t current (NULL: none) and returns the
 * previous one, to be put back when the work is done. */
FERRY_API ferry_cancel_token *ferry_cancel_current(void);
FERRY_API ferry_cancel_token *ferry_cancel_adopt(ferry_cancel_token *t);

/* The process-wide token: signal handlers call ferry_cancel_request(signo),
 * which cancels every transfer; ferry_cancel_reset() clears it. */
FERRY_API void ferry_cancel_request(int signo);
FERRY_API void ferry_cancel_reset(void);

/* The poll: nonzero when the process-wide token or the calling thread's
 * current token was requested.  Long loops and blocking hooks call it. */
FERRY_API int ferry_cancelled(void);
/* The signal that requested what ferry_cancelled() reports, or 0 (none, or a
 * token the program requested). */
FERRY_API int ferry_cancel_signal(void);

#ifdef __cplusplus
}
#endif
#endif
