/*
 * hooks/mysql/my_encode.c - rows of a result as CSV, TSV or JSON Lines,
 * written straight into a buffer the caller owns (no allocation per row):
 *
 *   CSV   RFC 4180, '\n' line ends, quotes only when needed (a , " CR or LF
 *         inside, a leading or trailing space, the empty string, a value equal
 *         to the NULL text, or the lone "\." PostgreSQL would read as the end
 *         of data); SQL NULL = an empty unquoted field, or o->null_string.
 *   TSV   PostgreSQL's text format: \\ \t \n \r \b \f \v escaped, NULL = \N
 *         (or o->null_string).
 *         With e->hex_binary, binary strings and BIT in CSV and TSV are
 *         "\x" + lower-case hex, PostgreSQL's bytea text form (TSV: "\\x...").
 *   JSONL one object per row, column names as keys; numbers stay numbers
 *         (DECIMAL as its exact text), NULL is null, binary strings and BIT
 *         are base64 strings, everything else is a string with control
 *         characters escaped and each invalid UTF-8 sequence (maximal
 *         subpart) replaced by U+FFFD.
 */
#include <stdlib.h>
#include <string.h>

#include "core/encode.h"
#include "my_internal.h"

/* ---- setup --------------------------------------------------------------- */

static size_t json_text_bound(size_t n)
{
    return 6 * n + 2; /* \u00XX per byte at worst, and the quotes */
}

static size_t write_json_text(char *out, const char *v, size_t n);

int ferry_my_encoder_init(ferry_my_encoder *e, ferry_format format, const char *const *names,
                          const ferry_my_class *classes, size_t n, const char *null_string)
{
    memset(e, 0, sizeof *e);
    e->format = format;
    e->n = n;
    size_t m = n ? n : 1;
    e->classes = calloc(m, 1);
    e->names = calloc(m, sizeof *e->names);
    e->name_lens = calloc(m, sizeof *e->name_lens);
    e->key_off = calloc(m, sizeof *e->key_off);
    e->key_len = calloc(m, sizeof *e->key_len);
    if (!e->classes || !e->names || !e->name_lens || !e->key_off || !e->key_len)
        goto oom;
    size_t keys_cap = 1;
    for (size_t i = 0; i < n; i++) {
        e->classes[i] = (unsigned char)classes[i];
        e->names[i] = strdup(names[i] ? names[i] : "");
        if (!e->names[i])
            goto oom;
        e->name_lens[i] = strlen(e->names[i]);
        keys_cap += json_text_bound(e->name_lens[i]) + 1;
    }
    if (format == FERRY_FORMAT_JSONL) {
        e->keys = malloc(keys_cap);
        if (!e->keys)
            goto oom;
        for (size_t i = 0; i < n; i++) {
            e->key_off[i] = e->keys_total;
            size_t k = write_json_text(e->keys + e->keys_total, e->names[i], e->name_lens[i]);
            e->keys[e->keys_total + k++] = ':';
            e->key_len[i] = k;
            e->keys_total += k;
        }
    }
    if (null_string && *null_string) {
        e->null_string = strdup(null_string);
        if (!e->null_string)
            goto oom;
        e->null_len = strlen(null_string);
    }
    return 0;
oom:
    ferry_my_encoder_release(e);
    return -1;
}

void ferry_my_encoder_release(ferry_my_encoder *e)
{
    if (!e)
        return;
    for (size_t i = 0; e->names && i < e->n; i++)
        free(e->names[i]);
    free(e->names);
    free(e->name_lens);
    free(e->classes);
    free(e->keys);
    free(e->key_off);
    free(e->key_len);
    free(e->null_string);
    memset(e, 0, sizeof *e);
}

/* ---- CSV ----------------------------------------------------------------- */

static int csv_needs_quotes(const ferry_my_encoder *e, const char *v, size_t n)
{
    if (n == 0 || v[0] == ' ' || v[n - 1] == ' ')
        return 1;
    if (n == 2 && v[0] == '\\' && v[1] == '.')
        return 1;
    if (e->null_string && n == e->null_len && memcmp(v, e->null_string, n) == 0)
        return 1;
    for (size_t i = 0; i < n; i++)
        if (v[i] == ',' || v[i] == '"' || v[i] == '\n' || v[i] == '\r')
            return 1;
    return 0;
}

static size_t write_csv_field(const ferry_my_encoder *e, char *out, const char *v, size_t n)
{
    if (!v) {
        if (e->null_string)
            memcpy(out, e->null_string, e->null_len);
        return e->null_string ? e->null_len : 0;
    }
    if (!csv_needs_quotes(e, v, n)) {
        memcpy(out, v, n);
        return n;
    }
    size_t k = 0;
    out[k++] = '"';
    for (size_t i = 0; i < n; i++) {
        if (v[i] == '"')
            out[k++] = '"';
        out[k++] = v[i];
    }
    out[k++] = '"';
    return k;
}

/* ---- binary as hex -------------------------------------------------------- */

/* "\x" and two lower-case hex digits per byte (bytea's text form); the
 * result never needs CSV quotes unless it equals the NULL text.  The bound
 * (2 n + 5 per value) leaves room for the NUL ferry_hex_encode writes. */
static size_t write_hex(char *out, const char *v, size_t n)
{
    out[0] = '\\';
    out[1] = 'x';
    return 2 + ferry_hex_encode(v, n, out + 2);
}

static size_t write_csv_hex(const ferry_my_encoder *e, char *out, const char *v, size_t n)
{
    if (!v)
        return write_csv_field(e, out, v, n);
    size_t k = write_hex(out, v, n);
    if (e->null_string && k == e->null_len && memcmp(out, e->null_string, k) == 0) {
        memmove(out + 1, out, k);
        out[0] = '"';
        out[k + 1] = '"';
        k += 2;
    }
    return k;
}

/* ---- TSV ----------------------------------------------------------------- */

static char tsv_escape_for(char c)
{
    switch (c) {
    case '\\': return '\\';
    case '\b': return 'b';
    case '\f': return 'f';
    case '\n': return 'n';
    case '\r': return 'r';
    case '\t': return 't';
    case '\v': return 'v';
    default: return 0;
    }
}

static size_t write_tsv_field(const ferry_my_encoder *e, char *out, const char *v, size_t n)
{
    if (!v) {
        if (e->null_string) {
            memcpy(out, e->null_string, e->null_len);
            return e->null_len;
        }
        out[0] = '\\';
        out[1] = 'N';
        return 2;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        char esc = tsv_escape_for(v[i]);
        if (esc) {
            out[k++] = '\\';
            out[k++] = esc;
        } else {
            out[k++] = v[i];
        }
    }
    return k;
}

static size_t write_tsv_hex(const ferry_my_encoder *e, char *out, const char *v, size_t n)
{
    if (!v)
        return write_tsv_field(e, out, v, n);
    out[0] = '\\';
    return 1 + write_hex(out + 1, v, n); /* the backslash of "\x" escaped */
}

/* ---- JSON ---------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0 when it is
 * invalid; then *bad is the length of its maximal valid prefix (>= 1). */
static size_t utf8_sequence(const unsigned char *s, size_t n, size_t *bad)
{
    unsigned char c = s[0];
    size_t need;
    unsigned char lo = 0x80, hi = 0xBF; /* range of the second byte */
    if (c >= 0xC2 && c <= 0xDF) {
        need = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 3;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F; /* no surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 4;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F; /* nothing above U+10FFFF */
    } else {
        *bad = 1;
        return 0;
    }
    for (size_t i = 1; i < need; i++) {
        unsigned char b = i < n ? s[i] : 0;
        unsigned char min = i == 1 ? lo : 0x80, max = i == 1 ? hi : 0xBF;
        if (i >= n || b < min || b > max) {
            *bad = i;
            return 0;
        }
    }
    return need;
}

static size_t write_json_text(char *out, const char *v, size_t n)
{
    const unsigned char *s = (const unsigned char *)v;
    size_t k = 0, i = 0;
    out[k++] = '"';
    while (i < n) {
        unsigned char c = s[i];
        if (c >= 0x80) {
            size_t bad = 0, len = utf8_sequence(s + i, n - i, &bad);
            if (len) {
                memcpy(out + k, s + i, len);
                k += len;
                i += len;
            } else {
                out[k++] = (char)0xEF; /* U+FFFD REPLACEMENT CHARACTER */
                out[k++] = (char)0xBF;
                out[k++] = (char)0xBD;
                i += bad;
            }
            continue;
        }
        i++;
        if (c == '"' || c == '\\') {
            out[k++] = '\\';
            out[k++] = (char)c;
        } else if (c >= 0x20) {
            out[k++] = (char)c;
        } else if (c == '\n' || c == '\r' || c == '\t' || c == '\b' || c == '\f') {
            out[k++] = '\\';
            out[k++] = c == '\n' ? 'n' : c == '\r' ? 'r' : c == '\t' ? 't' : c == '\b' ? 'b' : 'f';
        } else {
            memcpy(out + k, "\\u00", 4);
            k += 4;
            k += ferry_hex_encode(&c, 1, out + k); /* its NUL: room of the closing quote */
        }
    }
    out[k++] = '"';
    return k;
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* v as a JSON number: -?int(.frac)?([eE][+-]?exp)?, leading zeros of the
 * integer part dropped (ZEROFILL columns).  Returns the length written, or 0
 * when v is no number (the caller then writes a string). */
static size_t write_json_number(char *out, const char *v, size_t n)
{
    size_t i = 0, k = 0;
    if (i < n && v[i] == '-')
        out[k++] = v[i++];
    size_t int_start = i;
    while (i < n && is_digit(v[i]))
        i++;
    if (i == int_start)
        return 0;
    size_t first = int_start;
    while (first + 1 < i && v[first] == '0')
        first++;
    memcpy(out + k, v + first, i - first);
    k += i - first;
    if (i < n && v[i] == '.') {
        out[k++] = v[i++];
        size_t frac = i;
        while (i < n && is_digit(v[i]))
            out[k++] = v[i++];
        if (i == frac)
            return 0;
    }
    if (i < n && (v[i] == 'e' || v[i] == 'E')) {
        out[k++] = v[i++];
        if (i < n && (v[i] == '+' || v[i] == '-'))
            out[k++] = v[i++];
        size_t exp = i;
        while (i < n && is_digit(v[i]))
            out[k++] = v[i++];
        if (i == exp)
            return 0;
    }
    return i == n ? k : 0;
}

/* A JSON string of the base64 of v; the bound (6 n + 8 per value) leaves
 * room for the quotes and the NUL ferry_base64_encode writes (which the
 * closing quote then overwrites). */
static size_t write_base64(char *out, const char *v, size_t n)
{
    out[0] = '"';
    size_t k = 1 + ferry_base64_encode(v, n, out + 1, FERRY_BASE64_CAP(n));
    out[k++] = '"';
    return k;
}

static size_t write_json_value(const ferry_my_encoder *e, size_t col, char *out, const char *v,
                               size_t n)
{
    if (!v) {
        memcpy(out, "null", 4);
        return 4;
    }
    switch (e->classes[col]) {
    case FERRY_MY_CLASS_NUMBER: {
        size_t k = write_json_number(out, v, n);
        return k ? k : write_json_text(out, v, n);
    }
    case FERRY_MY_CLASS_BINARY:
        return write_base64(out, v, n);
    default:
        return write_json_text(out, v, n);
    }
}

/* ---- rows ---------------------------------------------------------------- */

size_t ferry_my_header_bound(const ferry_my_encoder *e)
{
    if (e->format == FERRY_FORMAT_JSONL)
        return 0;
    size_t b = 2;
    for (size_t i = 0; i < e->n; i++)
        b += 2 * e->name_lens[i] + 3;
    return b;
}

size_t ferry_my_encode_header(const ferry_my_encoder *e, char *out)
{
    if (e->format == FERRY_FORMAT_JSONL)
        return 0;
    size_t k = 0;
    for (size_t i = 0; i < e->n; i++) {
        if (i)
            out[k++] = e->format == FERRY_FORMAT_TSV ? '\t' : ',';
        if (e->format == FERRY_FORMAT_TSV)
            k += write_tsv_field(e, out + k, e->names[i], e->name_lens[i]);
        else
            k += write_csv_field(e, out + k, e->names[i], e->name_lens[i]);
    }
    out[k++] = '\n';
    return k;
}

size_t ferry_my_encode_bound(const ferry_my_encoder *e, char *const *values,
                             const unsigned long *lengths)
{
    size_t b = 4 + (e->format == FERRY_FORMAT_JSONL ? e->keys_total : 0);
    for (size_t i = 0; i < e->n; i++) {
        size_t n = values[i] ? lengths[i] : 0;
        switch (e->format) {
        case FERRY_FORMAT_JSONL: b += json_text_bound(n) + 6; break;
        /* hex: 2n + 3 at most ("\\x", or quoted "\x" equal to the NULL text) */
        case FERRY_FORMAT_TSV: b += 2 * n + 5 + e->null_len; break;
        default: b += 2 * n + 5 + e->null_len; break;
        }
    }
    return b;
}

size_t ferry_my_encode_row(const ferry_my_encoder *e, char *const *values,
                           const unsigned long *lengths, char *out)
{
    size_t k = 0;
    if (e->format == FERRY_FORMAT_JSONL) {
        out[k++] = '{';
        for (size_t i = 0; i < e->n; i++) {
            if (i)
                out[k++] = ',';
            memcpy(out + k, e->keys + e->key_off[i], e->key_len[i]);
            k += e->key_len[i];
            k += write_json_value(e, i, out + k, values[i], values[i] ? lengths[i] : 0);
        }
        out[k++] = '}';
        out[k++] = '\n';
        return k;
    }
    int tsv = e->format == FERRY_FORMAT_TSV;
    for (size_t i = 0; i < e->n; i++) {
        if (i)
            out[k++] = tsv ? '\t' : ',';
        size_t n = values[i] ? lengths[i] : 0;
        if (e->hex_binary && e->classes[i] == FERRY_MY_CLASS_BINARY)
            k += tsv ? write_tsv_hex(e, out + k, values[i], n) : write_csv_hex(e, out + k, values[i], n);
        else
            k += tsv ? write_tsv_field(e, out + k, values[i], n) : write_csv_field(e, out + k, values[i], n);
    }
    out[k++] = '\n';
    return k;
}
