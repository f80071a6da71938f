/*
 * log.c - the logging callback and the secret registry that scrubs every
 * message and error text leaving libferry.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/log.h"

static ferry_log_fn log_fn;
static void *log_userdata;
static ferry_log_level log_max = FERRY_LOG_INFO;

static pthread_mutex_t secret_lock = PTHREAD_MUTEX_INITIALIZER;
static char **secrets;   /* owned; each string malloc'd */
static size_t n_secrets, cap_secrets;

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
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    size_t n = strlen(buf);
    while (n > 0 && buf[n - 1] == '\n')
        buf[--n] = '\0';
    ferry_scrub(buf, sizeof buf);
    log_fn(level, buf, log_userdata);
}

static void secret_add_one(const char *s)
{
    for (size_t i = 0; i < n_secrets; i++)
        if (strcmp(secrets[i], s) == 0)
            return;
    if (n_secrets == cap_secrets) {
        size_t ncap = cap_secrets ? cap_secrets * 2 : 8;
        char **nv = realloc(secrets, ncap * sizeof *nv);
        if (!nv)
            return;
        secrets = nv;
        cap_secrets = ncap;
    }
    char *copy = strdup(s);
    if (copy)
        secrets[n_secrets++] = copy;
}

/* The percent-encoded form a secret takes inside a URI (RFC 3986 unreserved kept). */
static char *percent_encoded(const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(s);
    char *out = malloc(3 * n + 1);
    if (!out)
        return NULL;
    char *p = out;
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if ((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ||
            *c == '-' || *c == '.' || *c == '_' || *c == '~') {
            *p++ = (char)*c;
        } else {
            *p++ = '%';
            *p++ = hex[*c >> 4];
            *p++ = hex[*c & 15];
        }
    }
    *p = '\0';
    return out;
}

void ferry_secret_add(const char *secret)
{
    if (!secret || strlen(secret) < 3)
        return;
    pthread_mutex_lock(&secret_lock);
    secret_add_one(secret);
    char *enc = percent_encoded(secret);
    if (enc) {
        if (strcmp(enc, secret) != 0)
            secret_add_one(enc);
        free(enc);
    }
    pthread_mutex_unlock(&secret_lock);
}

void ferry_secret_clear(void)
{
    pthread_mutex_lock(&secret_lock);
    for (size_t i = 0; i < n_secrets; i++)
        free(secrets[i]);
    free(secrets);
    secrets = NULL;
    n_secrets = cap_secrets = 0;
    pthread_mutex_unlock(&secret_lock);
}

void ferry_scrub(char *buf, size_t cap)
{
    if (!buf || cap == 0)
        return;
    pthread_mutex_lock(&secret_lock);
    for (size_t i = 0; i < n_secrets; i++) {
        const char *s = secrets[i];
        size_t slen = strlen(s);
        char *hit;
        char *from = buf;
        while ((hit = strstr(from, s)) != NULL) {
            size_t tail = strlen(hit + slen);
            /* "***" is never longer than a secret (min length 3) */
            memcpy(hit, "***", 3);
            memmove(hit + 3, hit + slen, tail + 1);
            from = hit + 3;
        }
    }
    pthread_mutex_unlock(&secret_lock);
    buf[cap - 1] = '\0';
}
