/*
 * thread.h - starting a library thread that belongs to a transfer (inside
 * libferry, not exported).
 */
#ifndef FERRY_CORE_THREAD_H
#define FERRY_CORE_THREAD_H

#include <pthread.h>

/* pthread_create whose new thread starts with the caller's current cancel
 * token (ferry/cancel.h), so its ferry_cancelled() polls answer for the same
 * transfer.  Same arguments and return value as pthread_create (ENOMEM when
 * the small start record cannot be allocated).  The token must outlive the
 * thread: the transfer joins its threads before it returns. */
int ferry_thread_create(pthread_t *thread, const pthread_attr_t *attr, void *(*fn)(void *), void *arg);

/* A condition variable whose timed waits run on CLOCK_MONOTONIC (a change of
 * the wall clock neither shortens nor stretches them).  Same return value as
 * pthread_cond_init. */
int ferry_cond_init_monotonic(pthread_cond_t *c);

/* Wait on c (initialised by ferry_cond_init_monotonic, mu held) for at most
 * `seconds`; a wake-up, a timeout and a spurious return are alike: the caller
 * re-checks its condition (and ferry_cancelled()) in a loop. */
void ferry_cond_wait_for(pthread_cond_t *c, pthread_mutex_t *mu, double seconds);

#endif
