/*
 * core/json_rows.c - a SQL result's rows as one JSON array of objects for
 * `ferry exec --json` (core/json_rows.h): the hooks hand over each value's
 * text and its column kind; this file escapes, types and buffers.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json_rows.h"

#define JSON_ROWS_FLUSH_AT (64 * 1024)

/* Room for `more` bytes; 0 or -1. */
static int reserve(ferry_json_rows *r, size_t more)
{
    if (more > SIZE_MAX / 2 - r->len)
        return -1;
    if (r->len + more <= r->cap)
        return 0;
    size_t want = r->cap ? r->cap : JSON_ROWS_FLUSH_AT;
    while (want < r->len + more)
        want *= 2;
    char *grown = realloc(r->buf, want);
    if (!grown)
        return -1;
    r->buf = grown;
    r->cap = want;
    return 0;
}

/* "v" escaped into out (room for 6 n + 2); returns the bytes written. */
static size_t escape(const char *v, size_t n, char *out)
{
    static const char hex[] = "0123456789abcdef";
    size_t k = 0;
    out[k++] = '"';
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)v[i];
        if (c == '"' || c == '\\') {
            out[k++] = '\\';
            out[k++] = (char)c;
        } else if (c == '\n') {
            out[k++] = '\\';
            out[k++] = 'n';
        } else if (c == '\t') {
            out[k++] = '\\';
            out[k++] = 't';
        } else if (c == '\r') {
            out[k++] = '\\';
            out[k++] = 'r';
        } else if (c < 0x20) {
            memcpy(out + k, "\\u00", 4);
            out[k + 4] = hex[c >> 4];
            out[k + 5] = hex[c & 15];
            k += 6;
        } else {
            out[k++] = (char)c;
        }
    }
    out[k++] = '"';
    return k;
}

int ferry_json_is_number(const char *v, size_t n)
{
    size_t i = 0;
    if (i < n && v[i] == '-')
        i++;
    if (i >= n)
        return 0;
    if (v[i] == '0')
        i++;
    else if (v[i] >= '1' && v[i] <= '9')
        while (i < n && v[i] >= '0' && v[i] <= '9')
            i++;
    else
        return 0;
    if (i < n && v[i] == '.') {
        size_t d = ++i;
        while (i < n && v[i] >= '0' && v[i] <= '9')
            i++;
        if (i == d)
            return 0;
    }
    if (i < n && (v[i] == 'e' || v[i] == 'E')) {
        i++;
        if (i < n && (v[i] == '+' || v[i] == '-'))
            i++;
        size_t d = i;
        while (i < n && v[i] >= '0' && v[i] <= '9')
            i++;
        if (i == d)
            return 0;
    }
    return i == n;
}

int ferry_json_rows_init(ferry_json_rows *r, ferry_writer *w, int typed, const char *const *names,
                         const ferry_column_kind *kinds, size_t n)
{
    memset(r, 0, sizeof *r);
    r->w = w;
    r->typed = typed;
    r->n = n;
    size_t m = n ? n : 1, total = 0;
    for (size_t c = 0; c < n; c++)
        total += 6 * strlen(names[c]) + 3;
    r->kinds = calloc(m, 1);
    r->key_off = calloc(m, sizeof *r->key_off);
    r->key_len = calloc(m, sizeof *r->key_len);
    r->keys = malloc(total ? total : 1);
    if (!r->kinds || !r->key_off || !r->key_len || !r->keys) {
        ferry_json_rows_release(r);
        return -1;
    }
    size_t off = 0;
    for (size_t c = 0; c < n; c++) {
        r->kinds[c] = (unsigned char)(kinds ? kinds[c] : FERRY_COL_TEXT);
        r->key_off[c] = off;
        size_t k = escape(names[c], strlen(names[c]), r->keys + off);
        r->keys[off + k++] = ':';
        r->key_len[c] = k;
        off += k;
    }
    return 0;
}

/* The value as typed JSON when its column and text allow: bytes written, or 0. */
static size_t typed_value(const ferry_json_rows *r, size_t col, const char *v, size_t n, char *out)
{
    switch ((ferry_column_kind)r->kinds[col]) {
    case FERRY_COL_INT:
    case FERRY_COL_BIGINT:
    case FERRY_COL_NUMERIC:
    case FERRY_COL_FLOAT:
        if (!ferry_json_is_number(v, n))
            return 0;
        memcpy(out, v, n);
        return n;
    case FERRY_COL_BOOL:
        if ((n == 1 && (v[0] == 't' || v[0] == '1')) || (n == 4 && memcmp(v, "true", 4) == 0)) {
            memcpy(out, "true", 4);
            return 4;
        }
        if ((n == 1 && (v[0] == 'f' || v[0] == '0')) || (n == 5 && memcmp(v, "false", 5) == 0)) {
            memcpy(out, "false", 5);
            return 5;
        }
        return 0;
    default:
        return 0;
    }
}

int ferry_json_rows_value(ferry_json_rows *r, size_t col, const char *v, size_t n)
{
    if (col >= r->n)
        return -1;
    if (n > (SIZE_MAX - 64 - r->key_len[col]) / 6 || reserve(r, 6 * n + r->key_len[col] + 8) != 0)
        return -1;
    char *out = r->buf;
    if (col == 0) {
        if (r->rows == 0)
            out[r->len++] = '[';
        else
            out[r->len++] = ',';
        out[r->len++] = '{';
    } else {
        out[r->len++] = ',';
    }
    memcpy(out + r->len, r->keys + r->key_off[col], r->key_len[col]);
    r->len += r->key_len[col];
    size_t k;
    if (!v) {
        memcpy(out + r->len, "null", 4);
        k = 4;
    } else if (!r->typed || (k = typed_value(r, col, v, n, out + r->len)) == 0) {
        k = escape(v, n, out + r->len);
    }
    r->len += k;
    return 0;
}

static ferry_status flush(ferry_json_rows *r, ferry_error *err)
{
    if (r->len == 0)
        return FERRY_OK;
    ferry_status st = ferry_writer_write(r->w, r->buf, r->len, err);
    r->len = 0;
    return st;
}

ferry_status ferry_json_rows_end_row(ferry_json_rows *r, ferry_error *err)
{
    if (reserve(r, 3) != 0)
        return ferry_error_set(err, FERRY_ERR_INTERNAL, "out of memory");
    if (r->n == 0) { /* no column: {} (ferry_json_rows_value opened the others) */
        r->buf[r->len++] = r->rows == 0 ? '[' : ',';
        r->buf[r->len++] = '{';
    }
    r->buf[r->len++] = '}';
    r->rows++;
    return r->len >= JSON_ROWS_FLUSH_AT ? flush(r, err) : FERRY_OK;
}

ferry_status ferry_json_rows_finish(ferry_json_rows *r, ferry_error *err)
{
    if (reserve(r, 4) != 0)
        return ferry_error_set(err, FERRY_ERR_INTERNAL, "out of memory");
    if (r->rows == 0)
        r->buf[r->len++] = '[';
    memcpy(r->buf + r->len, "]\n", 2);
    r->len += 2;
    return flush(r, err);
}

void ferry_json_rows_release(ferry_json_rows *r)
{
    free(r->kinds);
    free(r->keys);
    free(r->key_off);
    free(r->key_len);
    free(r->buf);
    memset(r, 0, sizeof *r);
}
