/*
 * ferry/retry.h - exponential backoff with full jitter for errors a hook marks
 * transient: attempt n waits a uniformly random time in [0, min(cap, base*2^n)],
 * bounded by a number of attempts and a total time.
 */
#ifndef FERRY_RETRY_H
#define FERRY_RETRY_H

#include <stdint.h>
#include "ferry/error.h"
#include "ferry/export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ferry_retry {
    int max_attempts;       /* total tries including the first (default 5) */
    double base_delay;      /* seconds (default 0.2) */
    double max_delay;       /* cap of one wait (default 20) */
    double max_total;       /* give up when the next wait would pass this (default 120) */
    uint64_t rng;           /* jitter state; 0 = seeded from time and pid */
    /* state */
    int attempt;            /* attempts made so far */
    double waited;          /* seconds slept so far */
} ferry_retry;

FERRY_API void ferry_retry_init(ferry_retry *r, int max_attempts);
/* The wait before retry number `attempt` (1-based) - pure function of the
 * policy and the jitter state, for tests. */
FERRY_API double ferry_retry_delay(ferry_retry *r, int attempt);
/* After a failed try with err: returns 1 (and sleeps, cancellable) when the
 * caller should try again, 0 when it should give up.  When giving up after
 * transient failures, says how many attempts were made ("gave up after N
 * attempts: ...") and turns err's status into FERRY_ERR_TRANSIENT, except
 * FERRY_ERR_CONNECT (could not connect) and FERRY_ERR_TIMEOUT (no progress),
 * which stay as they are. */
FERRY_API int ferry_retry_again(ferry_retry *r, ferry_error *err);
/* What ferry_retry_again does to err when it gives up (for callers that
 * schedule their own retries): the status rule above and the "gave up after
 * N attempts" prefix, N = r->attempt.  Returns err's new status. */
FERRY_API ferry_status ferry_retry_give_up(const ferry_retry *r, ferry_error *err);

#ifdef __cplusplus
}
#endif
#endif
