/*
 * retry_scope.h - inside libferry: give every retry budget started on this
 * thread one number of attempts, for calls whose hook slots take no options
 * (stat, test) but must follow a copy's --retries, as `copy --dry-run`'s
 * probes do (transfer/describe.c).  Implemented in core/retry.c.
 */
#ifndef FERRY_CORE_RETRY_SCOPE_H
#define FERRY_CORE_RETRY_SCOPE_H

/* From now on, on this thread, ferry_retry_init counts `attempts` attempts
 * whatever its caller asks (attempts <= 0: the caller's count again).
 * Returns the previous setting, for ferry_retry_scope_leave. */
int ferry_retry_scope_enter(int attempts);
void ferry_retry_scope_leave(int previous);
/* How many retry budgets (ferry_retry_init calls) this thread has started:
 * a probe that started one retried by itself. */
unsigned ferry_retry_budgets_started(void);

#endif
