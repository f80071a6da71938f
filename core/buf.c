/*
 * core/buf.c - ferry_buf, the growable byte buffer shared by the hooks and
 * the transfer code (see core/buf.h for the ownership rules).
 */
#include "core/buf.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(ferry_buf *b)
{
    b->failed = 1;
    return -1;
}

int ferry_buf_reserve(ferry_buf *b, size_t extra)
{
    if (b->failed)
        return -1;
    size_t need = b->len + extra + 1;
    if (need <= b->len) /* overflow */
        return fail(b);
    if (b->data && need <= b->cap)
        return 0;
    size_t ncap = b->cap ? b->cap : 256;
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2)
            return fail(b);
        ncap *= 2;
    }
    char *nd = realloc(b->data, ncap);
    if (!nd)
        return fail(b);
    b->data = nd;
    b->cap = ncap;
    b->data[b->len] = '\0';
    return 0;
}

int ferry_buf_append(ferry_buf *b, const void *p, size_t n)
{
    if (ferry_buf_reserve(b, n) != 0)
        return -1;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int ferry_buf_appends(ferry_buf *b, const char *s)
{
    return ferry_buf_append(b, s, strlen(s));
}

int ferry_buf_appendf(ferry_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return fail(b);
    if (ferry_buf_reserve(b, (size_t)n) != 0)
        return -1;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

void ferry_buf_reset(ferry_buf *b)
{
    b->len = 0;
    b->failed = 0;
    if (b->data)
        b->data[0] = '\0';
}

void ferry_buf_release(ferry_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
    b->failed = 0;
}

char *ferry_buf_take(ferry_buf *b)
{
    char *s = NULL;
    if (ferry_buf_reserve(b, 0) == 0) {
        s = b->data;
        b->data = NULL;
    }
    ferry_buf_release(b);
    return s;
}
