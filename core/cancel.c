/*
 * cancel.c - cooperative cancellation.  A signal handler only sets a flag
 * (async-signal-safe); the transfer loop and blocking hooks poll it and abort
 * cleanly with FERRY_ERR_INTERRUPTED.
 */
#include <signal.h>

#include "ferry/stream.h"

static volatile sig_atomic_t cancel_signal;
static volatile sig_atomic_t cancel_flag;

void ferry_cancel_request(int signo)
{
    cancel_signal = signo;
    cancel_flag = 1;
}

int ferry_cancelled(void)
{
    return cancel_flag != 0;
}

int ferry_cancel_signal(void)
{
    return cancel_signal;
}

void ferry_cancel_reset(void)
{
    cancel_flag = 0;
    cancel_signal = 0;
}
