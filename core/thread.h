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

#endif
