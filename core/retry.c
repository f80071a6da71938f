/*
 * retry.c - exponential backoff with full jitter (AWS architecture blog's
 * "full jitter"): wait = random(0, min(cap, base * 2^attempt)).  Sleeps in
 * small steps so a cancellation request is honoured within 50 ms.
 *
 * The exit code of a failure that outlived every retry (docs/reliability.md,
 * "Exit codes"): a failure to connect (refused, unreachable, name resolution,
 * TLS handshake) stays FERRY_ERR_CONNECT (4) and no progress within the
 * timeout stays FERRY_ERR_TIMEOUT (10); every other transient failure of an
 * established exchange (5xx, 429, a reset mid-stream, a deadlock) becomes
 * FERRY_ERR_TRANSIENT (8).  The message always says "after N attempts".
 */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ferry/log.h"
#include "core/util.h"
#include "ferry/retry.h"
#include "core/retry_scope.h"
#include "ferry/stream.h"

/* core/retry_scope.h: the attempts every budget of this thread counts (0 =
 * as asked), and how many budgets it started */
static _Thread_local int scope_attempts;
static _Thread_local unsigned budgets_started;

int ferry_retry_scope_enter(int attempts)
{
    int previous = scope_attempts;
    scope_attempts = attempts > 0 ? attempts : 0;
    return previous;
}

void ferry_retry_scope_leave(int previous)
{
    scope_attempts = previous;
}

unsigned ferry_retry_budgets_started(void)
{
    return budgets_started;
}

void ferry_retry_init(ferry_retry *r, int max_attempts)
{
    memset(r, 0, sizeof *r);
    budgets_started++;
    if (scope_attempts > 0)
        max_attempts = scope_attempts;
    r->max_attempts = max_attempts > 0 ? max_attempts : 5;
    r->base_delay = 0.2;
    r->max_delay = 20.0;
    r->max_total = 120.0;
}

/* xorshift64*: a small deterministic generator for the jitter. */
static uint64_t next_random(uint64_t *state)
{
    if (*state == 0) {
        double now = ferry_now_monotonic();
        uint64_t sec = (uint64_t)now, nsec = (uint64_t)((now - (double)sec) * 1e9);
        *state = (nsec << 20) ^ sec ^ ((uint64_t)getpid() << 40) ^ 0x9E3779B97F4A7C15ULL;
    }
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545F4914F6CDD1DULL;
}

double ferry_retry_delay(ferry_retry *r, int attempt)
{
    double ceiling = r->base_delay * ldexp(1.0, attempt > 30 ? 30 : attempt - 1);
    if (ceiling > r->max_delay)
        ceiling = r->max_delay;
    double unit = (double)(next_random(&r->rng) >> 11) / 9007199254740992.0; /* [0,1) */
    return unit * ceiling;
}

ferry_status ferry_retry_give_up(const ferry_retry *r, ferry_error *err)
{
    if (err->status != FERRY_ERR_CONNECT && err->status != FERRY_ERR_TIMEOUT)
        err->status = FERRY_ERR_TRANSIENT;
    return ferry_error_prefix(err, "gave up after %d attempt%s", r->attempt, r->attempt == 1 ? "" : "s");
}

int ferry_retry_again(ferry_retry *r, ferry_error *err)
{
    r->attempt++;
    if (!err || !err->transient || err->status == FERRY_ERR_INTERRUPTED)
        return 0;
    if (ferry_cancelled()) {
        ferry_error_set(err, FERRY_ERR_INTERRUPTED, "interrupted by signal %d", ferry_cancel_signal());
        return 0;
    }
    double wait = ferry_retry_delay(r, r->attempt);
    if (r->attempt >= r->max_attempts || r->waited + wait > r->max_total) {
        ferry_retry_give_up(r, err);
        return 0;
    }
    ferry_log(FERRY_LOG_WARN, "%s; retry %d/%d in %.2fs", err->msg, r->attempt, r->max_attempts - 1, wait);
    if (ferry_sleep_cancellable(wait) != 0) {
        ferry_error_set(err, FERRY_ERR_INTERRUPTED, "interrupted by signal %d", ferry_cancel_signal());
        return 0;
    }
    r->waited += wait;
    return 1;
}
