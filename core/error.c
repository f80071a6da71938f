/*
 * error.c - the ferry_error value: set, prefix, name.  Every message is
 * scrubbed of registered secrets at the moment it is stored.
 */
#include <stdio.h>
#include <string.h>

#include "ferry/error.h"
#include "ferry/log.h"

void ferry_error_clear(ferry_error *err)
{
    if (!err)
        return;
    err->status = FERRY_OK;
    err->transient = 0;
    err->msg[0] = '\0';
}

ferry_status ferry_error_setv(ferry_error *err, ferry_status status, const char *fmt, va_list ap)
{
    if (!err)
        return status;
    err->status = status;
    err->transient = 0;
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    size_t n = strlen(err->msg);
    while (n > 0 && (err->msg[n - 1] == '\n' || err->msg[n - 1] == '\r' || err->msg[n - 1] == ' '))
        err->msg[--n] = '\0';
    ferry_scrub(err->msg, sizeof err->msg);
    return status;
}

ferry_status ferry_error_set(ferry_error *err, ferry_status status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ferry_status st = ferry_error_setv(err, status, fmt, ap);
    va_end(ap);
    return st;
}

ferry_status ferry_error_hook(ferry_error *err, ferry_status status, const char *system,
                              const char *conn_id, const char *fmt, ...)
{
    char cause[FERRY_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cause, sizeof cause, fmt, ap);
    va_end(ap);
    if (conn_id && *conn_id)
        return ferry_error_set(err, status, "%s(%s): %s", system, conn_id, cause);
    return ferry_error_set(err, status, "%s: %s", system, cause);
}

ferry_status ferry_error_transient(ferry_error *err)
{
    if (!err)
        return FERRY_ERR_TRANSIENT;
    err->transient = 1;
    return err->status;
}

ferry_status ferry_error_prefix(ferry_error *err, const char *fmt, ...)
{
    if (!err)
        return FERRY_ERR_INTERNAL;
    char prefix[FERRY_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    size_t cap = sizeof err->msg;
    size_t plen = strlen(prefix);
    if (plen > cap - 3)
        plen = cap - 3;
    size_t olen = strlen(err->msg);
    size_t keep = cap - 1 - plen - 2;
    if (olen < keep)
        keep = olen;
    memmove(err->msg + plen + 2, err->msg, keep);
    memcpy(err->msg, prefix, plen);
    memcpy(err->msg + plen, ": ", 2);
    err->msg[plen + 2 + keep] = '\0';
    ferry_scrub(err->msg, sizeof err->msg);
    return err->status;
}

const char *ferry_status_name(ferry_status status)
{
    switch (status) {
    case FERRY_OK: return "ok";
    case FERRY_ERR_INTERNAL: return "internal error";
    case FERRY_ERR_USAGE: return "usage";
    case FERRY_ERR_CONFIG: return "configuration";
    case FERRY_ERR_CONNECT: return "connection/auth";
    case FERRY_ERR_NOT_FOUND: return "not found";
    case FERRY_ERR_EXISTS: return "destination exists";
    case FERRY_ERR_DATA: return "data/query";
    case FERRY_ERR_TRANSIENT: return "transient, retries exhausted";
    case FERRY_ERR_IO: return "local i/o";
    case FERRY_ERR_TIMEOUT: return "timeout";
    case FERRY_ERR_INTERRUPTED: return "interrupted";
    }
    return "unknown";
}
