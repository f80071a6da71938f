/*
 * log.c - the logging callback.  Every message is masked (ferry_scrub,
 * core/mask.c) before the callback sees it.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/log.h"

static ferry_log_fn log_fn;
static void *log_userdata;
static ferry_log_level log_max = FERRY_LOG_INFO;

void ferry_log_set(ferry_log_fn fn, void *userdata, ferry_log_level max_level)
{
    log_fn = fn;
    log_userdata = userdata;
    log_max = max_level;
}

int ferry_log_enabled(ferry_log_level level)
{
    return log_fn != NULL && level <= log_max;
}

void ferry_log(ferry_log_level level, const char *fmt, ...)
{
    if (!ferry_log_enabled(level))
        return;
    char buf[2048 + 512]; /* room for "***" standing in for 1-2 byte fields */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, 2048, fmt, ap);
    va_end(ap);
    size_t n = strlen(buf);
    while (n > 0 && buf[n - 1] == '\n')
        buf[--n] = '\0';
    ferry_scrub(buf, sizeof buf);
    log_fn(level, buf, log_userdata);
}
