/*
 * hooks/s3/s3_util.c - small helpers of the S3 hook: time parsing,
 * percent-decoding, bucket naming rules and splitting "bucket/key" (the
 * buffer, clock, sleep and base64 are core/buf.h's and core/util.h's).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hooks/s3/s3_internal.h"

static int digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

int64_t ferry_s3_parse_iso8601(const char *s)
{
    /* YYYY-MM-DDTHH:MM:SS[.fff]Z */
    if (!s || strlen(s) < 19 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != ' ') ||
        s[13] != ':' || s[16] != ':')
        return -1;
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    int y, mo, d, h, mi, se;
    if (digits(s, 4, &y) || digits(s + 5, 2, &mo) || digits(s + 8, 2, &d) ||
        digits(s + 11, 2, &h) || digits(s + 14, 2, &mi) || digits(s + 17, 2, &se))
        return -1;
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = se;
    time_t t = timegm(&tm);
    return t == (time_t)-1 ? -1 : (int64_t)t;
}

size_t ferry_s3_url_decode(char *s, size_t len, int plus_is_space)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        int hi = s[i] == '%' && i + 2 < len ? ferry_hex_value((unsigned char)s[i + 1]) : -1;
        int lo = hi >= 0 ? ferry_hex_value((unsigned char)s[i + 2]) : -1;
        if (lo >= 0) {
            s[o++] = (char)(hi * 16 + lo);
            i += 2;
        } else if (s[i] == '+' && plus_is_space) {
            s[o++] = ' ';
        } else {
            s[o++] = s[i];
        }
    }
    s[o] = '\0';
    return o;
}

void ferry_s3_printable(const char *in, size_t n, char *out, size_t cap)
{
    if (cap == 0)
        return;
    size_t o = 0;
    size_t i = 0;
    /* skip leading whitespace */
    while (i < n && (in[i] == ' ' || in[i] == '\n' || in[i] == '\r' || in[i] == '\t'))
        i++;
    for (; i < n && o + 1 < cap; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c == '\n' || c == '\r' || c == '\t')
            c = ' ';
        else if (c < 0x20 || c == 0x7f)
            c = '.';
        if (c == ' ' && o > 0 && out[o - 1] == ' ')
            continue;
        out[o++] = (char)c;
    }
    out[o] = '\0';
    if (i < n && cap > 4) {
        size_t at = o < cap - 4 ? o : cap - 4;
        memcpy(out + at, "...", 4);
    }
}

int ferry_s3_bucket_virtual_ok(const char *bucket, int https)
{
    size_t n = strlen(bucket);
    if (n < 3 || n > 63)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = bucket[i];
        if (c >= 'a' && c <= 'z')
            continue;
        if (c >= '0' && c <= '9')
            continue;
        if (c == '-' && i > 0 && i + 1 < n)
            continue;
        if (c == '.' && !https && i > 0 && i + 1 < n && bucket[i - 1] != '.')
            continue;
        return 0;
    }
    return 1;
}

char *ferry_s3_strdup(const char *s)
{
    return s ? strdup(s) : NULL;
}

double ferry_s3_parse_seconds(const char *s)
{
    if (!s || !*s)
        return -1;
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || v < 0)
        return -1;
    while (*end == ' ')
        end++;
    return *end ? -1 : v;
}

ferry_status ferry_s3_split_path(const char *path, const char *conn_id, char **bucket, char **key,
                                 ferry_error *err)
{
    *bucket = NULL;
    *key = NULL;
    if (!path)
        path = "";
    const char *slash = strchr(path, '/');
    size_t blen = slash ? (size_t)(slash - path) : strlen(path);
    if (blen == 0)
        return ferry_error_hook(err, FERRY_ERR_USAGE, "s3", conn_id,
                                "'s3://%s' names no bucket (expected s3://bucket/key)", path);
    const char *k = slash ? slash + 1 : "";
    if (strlen(k) > S3_MAX_KEY_LEN)
        return ferry_error_hook(err, FERRY_ERR_USAGE, "s3", conn_id,
                                "key of s3://%.*s is %zu bytes long (S3 allows %d)", (int)blen,
                                path, strlen(k), S3_MAX_KEY_LEN);
    *bucket = strndup(path, blen);
    *key = strdup(k);
    if (!*bucket || !*key) {
        free(*bucket);
        free(*key);
        *bucket = *key = NULL;
        return ferry_error_oom(err, "s3", NULL, NULL);
    }
    return FERRY_OK;
}
