/*
 * core/buf.h - internal to libferry: ferry_buf, the one growable byte buffer
 * (request URLs, response bodies, XML and JSON documents, names).  It grows
 * by doubling and is reused: ferry_buf_reset keeps the capacity, so a buffer
 * held across chunks or requests allocates only while it is still growing.
 *
 * Ownership: the ferry_buf owns `data` (malloc'd); ferry_buf_release frees it
 * and leaves an empty buffer.  A zeroed struct ({0}) is an empty buffer that
 * owns nothing.  `data` is NUL-terminated whenever it is not NULL, so it can
 * be used as a C string when nothing appended contains a NUL.  Appending may
 * move `data`: do not keep pointers into it across appends.
 *
 * Failure is sticky: the first append that cannot allocate sets `failed`,
 * and every later append fails at once (until reset or release), so a
 * builder may append many pieces and check once at the end.
 */
#ifndef FERRY_CORE_BUF_H
#define FERRY_CORE_BUF_H

#include <stddef.h>

typedef struct ferry_buf {
    char *data;  /* owned; NULL until the first append or reserve */
    size_t len;  /* bytes used, not counting the NUL */
    size_t cap;  /* bytes allocated */
    int failed;  /* nonzero after an append ran out of memory */
} ferry_buf;

/* Room for `extra` more bytes (and the NUL).  0 ok, -1 out of memory (the
 * contents are then unchanged and `failed` is set) or failed before. */
int ferry_buf_reserve(ferry_buf *b, size_t extra);
/* Append n bytes of p (p may be NULL when n is 0).  0 ok, -1 out of memory. */
int ferry_buf_append(ferry_buf *b, const void *p, size_t n);
/* Append the C string s.  0 ok, -1 out of memory. */
int ferry_buf_appends(ferry_buf *b, const char *s);
/* Append printf-formatted text.  0 ok, -1 out of memory or a format error. */
int ferry_buf_appendf(ferry_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Empty the buffer (and clear `failed`), keeping its memory for reuse. */
void ferry_buf_reset(ferry_buf *b);
/* Free the memory; the buffer is empty ({0}) afterwards and may be reused. */
void ferry_buf_release(ferry_buf *b);
/* Hand the contents over as a malloc'd C string (the caller frees it; ""
 * when nothing was appended), or NULL when an append failed or memory ran
 * out; either way the buffer is empty ({0}) afterwards. */
char *ferry_buf_take(ferry_buf *b);

#endif
