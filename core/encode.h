/*
 * core/encode.h - internal to libferry: lower-case hex and standard base64,
 * the one copy of each.  Apart from libcrypto (EVP_EncodeBlock and
 * EVP_DecodeBlock) core/encode.c depends on nothing, so self-contained code
 * such as hooks/s3/sigv4.c can still be linked alone with it.
 */
#ifndef FERRY_CORE_ENCODE_H
#define FERRY_CORE_ENCODE_H

#include <stddef.h>

/* Lower-case hex of n bytes of in into caller-owned out: 2 * n characters and
 * a NUL (capacity >= 2 * n + 1).  Returns 2 * n. */
size_t ferry_hex_encode(const void *in, size_t n, char *out);

/* The value of one hex digit ('0'-'9', 'a'-'f', 'A'-'F'), or -1. */
int ferry_hex_value(int c);

/* Capacity ferry_base64_encode needs for n bytes: 4 * ceil(n / 3) + the NUL. */
#define FERRY_BASE64_CAP(n) (4 * (((size_t)(n) + 2) / 3) + 1)

/* Standard base64 ('+' '/', '=' padding, no line breaks) of n bytes of in into
 * caller-owned out of capacity cap.  Returns the length written (without the
 * NUL), or 0 when cap < FERRY_BASE64_CAP(n) (out is then "" if cap > 0);
 * n == 0 gives "" and 0. */
size_t ferry_base64_encode(const void *in, size_t n, char *out, size_t cap);

/* Decode n characters of standard base64 (length a multiple of 4, at most two
 * '=' of padding at the end, no white space) into caller-owned out of
 * capacity cap (>= the decoded length; 3 * n / 4 always suffices).  Returns
 * the number of bytes decoded, or -1 for invalid input or too small an out. */
long ferry_base64_decode(const char *in, size_t n, unsigned char *out, size_t cap);

#endif
