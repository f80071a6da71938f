/*
 * cancel.c - cooperative cancellation.  A signal handler only sets a flag;
 * the transfer loop, blocking hooks and their worker threads poll it and
 * abort cleanly with FERRY_ERR_INTERRUPTED.  The flag is a lock-free C11
 * atomic: safe to set from a signal handler and to read from any thread.
 */
#include <stdatomic.h>

#include "ferry/stream.h"

_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "cancellation needs a lock-free atomic int");

static atomic_int cancel_signal;
static atomic_int cancel_flag;

void ferry_cancel_request(int signo)
{
    atomic_store(&cancel_signal, signo);
    atomic_store(&cancel_flag, 1);
}

int ferry_cancelled(void)
{
    return atomic_load_explicit(&cancel_flag, memory_order_relaxed) != 0;
}

int ferry_cancel_signal(void)
{
    return atomic_load(&cancel_signal);
}

void ferry_cancel_reset(void)
{
    atomic_store(&cancel_flag, 0);
    atomic_store(&cancel_signal, 0);
}
