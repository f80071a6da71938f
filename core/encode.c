/*
 * core/encode.c - lower-case hex and standard base64 (core/encode.h), base64
 * over OpenSSL's EVP_EncodeBlock / EVP_DecodeBlock with the checks those
 * leave out (padding only at the end, no white space, output capacity).
 */
#include "core/encode.h"

#include <string.h>

#include <openssl/evp.h>

size_t ferry_hex_encode(const void *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    const unsigned char *p = in;
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * n] = '\0';
    return 2 * n;
}

int ferry_hex_value(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

size_t ferry_base64_encode(const void *in, size_t n, char *out, size_t cap)
{
    if (cap < FERRY_BASE64_CAP(n)) {
        if (cap > 0)
            out[0] = '\0';
        return 0;
    }
    /* EVP_EncodeBlock takes an int length: encode in whole 3-byte groups. */
    const unsigned char *p = in;
    size_t done = 0, o = 0;
    const size_t step = 3 * (1u << 28);
    while (n - done > step) {
        o += (size_t)EVP_EncodeBlock((unsigned char *)out + o, p + done, (int)step);
        done += step;
    }
    o += (size_t)EVP_EncodeBlock((unsigned char *)out + o, p + done, (int)(n - done));
    out[o] = '\0';
    return o;
}

static int b64_char(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
}

long ferry_base64_decode(const char *in, size_t n, unsigned char *out, size_t cap)
{
    if (n % 4 != 0 || n > (size_t)2147483644)
        return -1;
    if (n == 0)
        return 0;
    size_t pad = in[n - 1] == '=' ? (in[n - 2] == '=' ? 2 : 1) : 0;
    /* EVP_DecodeBlock skips white space and is lenient about '=': check the
     * alphabet here so any other byte is invalid input. */
    for (size_t i = 0; i < n - pad; i++)
        if (!b64_char((unsigned char)in[i]))
            return -1;
    size_t len = n / 4 * 3 - pad;
    if (cap < len)
        return -1;
    /* EVP_DecodeBlock writes 3 bytes per 4 characters, padding included:
     * the last group goes through a scratch buffer so out needs only len. */
    size_t head = n - 4;
    if (head > 0 && EVP_DecodeBlock(out, (const unsigned char *)in, (int)head) != (int)(head / 4 * 3))
        return -1;
    unsigned char last[3];
    if (EVP_DecodeBlock(last, (const unsigned char *)in + head, 4) != 3)
        return -1;
    memcpy(out + head / 4 * 3, last, 3 - pad);
    return (long)len;
}
