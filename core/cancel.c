/*
 * cancel.c - cooperative cancellation (ferry/cancel.h).  A token is a flag a
 * signal handler or another thread sets; transfers poll ferry_cancelled(),
 * which reads the process-wide token and the calling thread's current token,
 * and abort cleanly with FERRY_ERR_INTERRUPTED.  The flags are lock-free C11
 * atomics: safe to set from a signal handler and to read from any thread.
 * ferry_thread_create (core/thread.h) carries the current token into the
 * threads the library starts for a transfer.
 */
#include <errno.h>
#include <pthread.h>
#include <time.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "core/thread.h"
#include "core/util.h"
#include "ferry/cancel.h"

_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "cancellation needs a lock-free atomic int");

struct ferry_cancel_token {
    atomic_int flag;
    atomic_int signo;
};

static ferry_cancel_token process_token;
static _Thread_local ferry_cancel_token *current;

ferry_cancel_token *ferry_cancel_token_new(void)
{
    ferry_cancel_token *t = malloc(sizeof *t);
    if (t) {
        atomic_init(&t->flag, 0);
        atomic_init(&t->signo, 0);
    }
    return t;
}

void ferry_cancel_token_free(ferry_cancel_token *t)
{
    free(t);
}

void ferry_cancel_token_request(ferry_cancel_token *t, int signo)
{
    if (!t)
        return;
    atomic_store(&t->signo, signo);
    atomic_store(&t->flag, 1);
}

int ferry_cancel_token_requested(const ferry_cancel_token *t)
{
    return t && atomic_load_explicit(&((ferry_cancel_token *)t)->flag, memory_order_relaxed) != 0;
}

void ferry_cancel_token_reset(ferry_cancel_token *t)
{
    if (!t)
        return;
    atomic_store(&t->flag, 0);
    atomic_store(&t->signo, 0);
}

ferry_cancel_token *ferry_cancel_current(void)
{
    return current;
}

ferry_cancel_token *ferry_cancel_adopt(ferry_cancel_token *t)
{
    ferry_cancel_token *prev = current;
    current = t;
    return prev;
}

void ferry_cancel_request(int signo)
{
    ferry_cancel_token_request(&process_token, signo);
}

void ferry_cancel_reset(void)
{
    ferry_cancel_token_reset(&process_token);
}

int ferry_cancelled(void)
{
    return atomic_load_explicit(&process_token.flag, memory_order_relaxed) != 0 ||
           (current && atomic_load_explicit(&current->flag, memory_order_relaxed) != 0);
}

int ferry_cancel_signal(void)
{
    if (atomic_load(&process_token.flag))
        return atomic_load(&process_token.signo);
    if (current && atomic_load(&current->flag))
        return atomic_load(&current->signo);
    return 0;
}

/* What a thread started by ferry_thread_create runs first. */
typedef struct thread_start {
    void *(*fn)(void *);
    void *arg;
    ferry_cancel_token *token;
} thread_start;

static void *thread_main(void *p)
{
    thread_start ts = *(thread_start *)p;
    free(p);
    current = ts.token;
    return ts.fn(ts.arg);
}

int ferry_thread_create(pthread_t *thread, const pthread_attr_t *attr, void *(*fn)(void *), void *arg)
{
    thread_start *ts = malloc(sizeof *ts);
    if (!ts)
        return ENOMEM;
    ts->fn = fn;
    ts->arg = arg;
    ts->token = current;
    int rc = pthread_create(thread, attr, thread_main, ts);
    if (rc != 0)
        free(ts);
    return rc;
}

int ferry_cond_init_monotonic(pthread_cond_t *c)
{
    pthread_condattr_t attr;
    int rc = pthread_condattr_init(&attr);
    if (rc != 0)
        return rc;
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    rc = pthread_cond_init(c, &attr);
    pthread_condattr_destroy(&attr);
    return rc;
}

void ferry_cond_wait_for(pthread_cond_t *c, pthread_mutex_t *mu, double seconds)
{
    struct timespec ts;
    ferry_monotonic_deadline(&ts, seconds);
    pthread_cond_timedwait(c, mu, &ts);
}
