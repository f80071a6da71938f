/*
 * ferry/log.h - logging through a callback, and the secret registry.
 *
 * libferry never prints and never exits.  It reports through the callback set
 * with ferry_log_set; without one, messages are dropped.  Every message and
 * every error text is scrubbed before it leaves the library: a URI's password
 * and NAME=VALUE with a secret NAME become "***", and so does each string
 * registered with ferry_secret_add (and its percent-encoded form) where it
 * occurs - except inside a word written in a field that is not secret (a
 * connection's login, host, schema, type, id, field names) and, for secrets
 * under 16 bytes, where it is glued to a letter, digit or '_' (the rule in
 * full: docs/connections.md, "Secrets").  Connection parsing registers
 * passwords, secret extras and the public words itself.
 */
#ifndef FERRY_LOG_H
#define FERRY_LOG_H

#include <stddef.h>
#include "ferry/export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ferry_log_level {
    FERRY_LOG_ERROR = 0,
    FERRY_LOG_WARN = 1,
    FERRY_LOG_INFO = 2,
    FERRY_LOG_DEBUG = 3
} ferry_log_level;

/* msg is borrowed for the duration of the call, already scrubbed, no '\n'. */
typedef void (*ferry_log_fn)(ferry_log_level level, const char *msg, void *userdata);

/* Install the callback; messages above max_level are not formatted at all. */
FERRY_API void ferry_log_set(ferry_log_fn fn, void *userdata, ferry_log_level max_level);
FERRY_API void ferry_log(ferry_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
FERRY_API int ferry_log_enabled(ferry_log_level level);

/* Register a secret (copied). Strings shorter than 3 bytes are ignored, as
 * masking them would garble ordinary text. Thread-safe. */
FERRY_API void ferry_secret_add(const char *secret);
/* Forget every registered secret and public word (tests). */
FERRY_API void ferry_secret_clear(void);
/* Mask buf (NUL-terminated, capacity cap) by the rules above: each secret
 * becomes "***" (a masked value of 1-2 bytes makes the text longer; it is
 * cut at cap - 1). */
FERRY_API void ferry_scrub(char *buf, size_t cap);

#ifdef __cplusplus
}
#endif
#endif
