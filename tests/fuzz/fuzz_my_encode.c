/*
 * tests/fuzz/fuzz_my_encode.c - the row encoders of the MySQL source
 * (hooks/mysql/my_encode.c): CSV, TSV and JSON Lines from rows of values
 * with lengths and NULL flags, as mysql_fetch_row / mysql_fetch_lengths give
 * them.
 *
 * Input: byte 0 format (% 3: CSV, TSV, JSONL), byte 1 columns (1 + % 8),
 * byte 2 options (bit 0: fuzzed column names, bits 1-3: the NULL text),
 * one class byte per column (% 3: text, number, binary), then rows: per
 * field a flag byte (bit 0 = SQL NULL) and a length byte, then that many
 * value bytes (any bytes, NULs too).  Names, when fuzzed, are NUL-separated
 * strings before the rows.
 *
 * Every row and the header are encoded into a buffer of exactly
 * ferry_my_encode_bound / ferry_my_header_bound bytes (ASan catches a
 * byte too many), and the output is read back by reference readers:
 *   CSV   a strict RFC 4180 reader ('\n' records, quotes doubled, no bare
 *         quote or CR in an unquoted field): every field comes back exactly,
 *         and NULL vs "" is told apart as documented: NULL is the empty
 *         unquoted field (or the NULL text, unquoted), "" is quoted;
 *   TSV   PostgreSQL's text format: \N (or the NULL text) is NULL, the
 *         backslash escapes decode to the value;
 *   JSONL a strict JSON reader: one object per line, the column names as
 *         keys, null for NULL, numbers as numbers (the value with leading
 *         zeros dropped), base64 for binary, the exact text for valid UTF-8.
 * The NULL texts used never hold the separator, a quote, CR, LF or a tab:
 * nothing rejects such an o->null_string yet, and with one the CSV/TSV
 * output cannot be read back (reported, not fuzzed).
 */
#include "hooks/mysql/my_internal.h"
#include "fuzz_common.h"

#define MAX_COLS 8
#define MAX_ROWS 64

typedef struct row {
    char *values[MAX_COLS];
    unsigned long lengths[MAX_COLS];
} row;

static const char *const null_texts[8] = {NULL, "", "\\N", "NULL", "null", "-", " x", "N/A"};

/* ---- CSV reference reader --------------------------------------------- */

typedef struct rfield {
    int quoted;
    const char *p;   /* raw (quoted: between the quotes, "" still doubled) */
    size_t n;
} rfield;

/* One record starting at *pos; returns the number of fields, -1 on a syntax
 * error.  Fields point into s. */
static int csv_read_record(const char *s, size_t len, size_t *pos, rfield *f, int max)
{
    size_t i = *pos;
    int nf = 0;
    for (;;) {
        if (nf == max)
            return -1;
        rfield *cur = &f[nf++];
        if (i < len && s[i] == '"') {
            cur->quoted = 1;
            cur->p = s + ++i;
            for (;;) {
                if (i >= len)
                    return -1; /* unterminated */
                if (s[i] == '"') {
                    if (i + 1 < len && s[i + 1] == '"') {
                        i += 2;
                        continue;
                    }
                    break;
                }
                i++;
            }
            cur->n = (size_t)(s + i - cur->p);
            i++; /* closing quote */
        } else {
            cur->quoted = 0;
            cur->p = s + i;
            while (i < len && s[i] != ',' && s[i] != '\n') {
                if (s[i] == '"' || s[i] == '\r')
                    return -1; /* RFC 4180: must be quoted */
                i++;
            }
            cur->n = (size_t)(s + i - cur->p);
        }
        if (i >= len)
            return -1; /* every record ends with '\n' */
        if (s[i] == ',') {
            i++;
            continue;
        }
        if (s[i] != '\n')
            return -1; /* text after a closing quote */
        *pos = i + 1;
        return nf;
    }
}

/* The value of a quoted field ("" -> "). */
static size_t csv_unquote(const rfield *f, char *out)
{
    size_t k = 0;
    for (size_t i = 0; i < f->n; i++) {
        out[k++] = f->p[i];
        if (f->p[i] == '"')
            i++;
    }
    return k;
}

static void check_csv(const char *out, size_t len, const row *rows, size_t nrows, size_t ncols,
                      const char *const *names, int header, const char *null_text)
{
    rfield f[MAX_COLS + 1];
    size_t pos = 0;
    char *buf = malloc(len + 1);
    if (!buf)
        abort();
    size_t nnull = null_text ? strlen(null_text) : 0;
    for (size_t r = 0; r < nrows + (header ? 1 : 0); r++) {
        int nf = csv_read_record(out, len, &pos, f, MAX_COLS + 1);
        FUZZ_CHECK(nf == (int)ncols, "CSV record %zu: %d fields for %zu columns", r, nf, ncols);
        for (size_t c = 0; c < ncols; c++) {
            const char *want;
            size_t want_n;
            int want_null;
            if (header && r == 0) {
                want = names[c];
                want_n = strlen(names[c]);
                want_null = 0;
            } else {
                const row *rw = &rows[r - (header ? 1 : 0)];
                want = rw->values[c];
                want_n = want ? rw->lengths[c] : 0;
                want_null = want == NULL;
            }
            /* the reader: unquoted NULL text (or unquoted empty) is NULL */
            int got_null = !f[c].quoted && f[c].n == nnull &&
                           (nnull == 0 || memcmp(f[c].p, null_text, nnull) == 0);
            if (header && r == 0) {
                /* a column name is never NULL: an empty or NULL-text name is quoted */
                FUZZ_CHECK(!got_null, "CSV header field %zu reads as NULL", c);
            } else {
                FUZZ_CHECK(got_null == want_null, "CSV row %zu col %zu: NULL %d, want %d", r, c,
                           got_null, want_null);
            }
            if (want_null)
                continue;
            size_t n = f[c].quoted ? csv_unquote(&f[c], buf) : f[c].n;
            const char *got = f[c].quoted ? buf : f[c].p;
            FUZZ_CHECK(n == want_n && memcmp(got, want, n) == 0,
                       "CSV record %zu col %zu reads back %zu bytes, want %zu", r, c, n, want_n);
        }
    }
    FUZZ_CHECK(pos == len, "CSV: %zu bytes after the last record", len - pos);
    free(buf);
}

/* ---- TSV reference reader ------------------------------------------------ */

static size_t tsv_decode(const char *p, size_t n, char *out)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] != '\\' || i + 1 >= n) {
            out[k++] = p[i];
            continue;
        }
        char c = p[++i];
        switch (c) {
        case 'b': out[k++] = '\b'; break;
        case 'f': out[k++] = '\f'; break;
        case 'n': out[k++] = '\n'; break;
        case 'r': out[k++] = '\r'; break;
        case 't': out[k++] = '\t'; break;
        case 'v': out[k++] = '\v'; break;
        default: out[k++] = c; break;
        }
    }
    return k;
}

static void check_tsv(const char *out, size_t len, const row *rows, size_t nrows, size_t ncols,
                      const char *const *names, int header, const char *null_text)
{
    const char *marker = null_text ? null_text : "\\N";
    size_t mlen = strlen(marker);
    char *buf = malloc(len + 1);
    if (!buf)
        abort();
    size_t pos = 0;
    for (size_t r = 0; r < nrows + (header ? 1 : 0); r++) {
        const char *eol = memchr(out + pos, '\n', len - pos);
        FUZZ_CHECK(eol != NULL, "TSV record %zu has no line end", r);
        size_t end = (size_t)(eol - out);
        for (size_t c = 0; c < ncols; c++) {
            size_t fend = pos;
            while (fend < end && out[fend] != '\t')
                fend++;
            FUZZ_CHECK(c + 1 < ncols ? fend < end : fend == end,
                       "TSV record %zu: wrong number of fields", r);
            const char *raw = out + pos;
            size_t rn = fend - pos;
            int got_null = rn == mlen && memcmp(raw, marker, mlen) == 0;
            const char *want;
            size_t want_n;
            int want_null;
            if (header && r == 0) {
                want = names[c];
                want_n = strlen(names[c]);
                want_null = 0;
            } else {
                const row *rw = &rows[r - (header ? 1 : 0)];
                want = rw->values[c];
                want_n = want ? rw->lengths[c] : 0;
                want_null = want == NULL;
            }
            if (want_null) {
                FUZZ_CHECK(got_null, "TSV row %zu col %zu: NULL not written as the marker", r, c);
            } else if (!got_null || !null_text) {
                /* (with a NULL text a value spelled like it is ambiguous, as in PostgreSQL) */
                FUZZ_CHECK(!got_null, "TSV record %zu col %zu: a value reads as NULL", r, c);
                size_t n = tsv_decode(raw, rn, buf);
                FUZZ_CHECK(n == want_n && memcmp(buf, want, n) == 0,
                           "TSV record %zu col %zu reads back %zu bytes, want %zu", r, c, n,
                           want_n);
            }
            pos = fend + (c + 1 < ncols ? 1 : 0);
        }
        pos = end + 1;
    }
    FUZZ_CHECK(pos == len, "TSV: %zu bytes after the last record", len - pos);
    free(buf);
}

/* ---- JSON Lines reference reader --------------------------------------- */

static int utf8_valid(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned c = s[i], cp, len;
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF)
            len = 2, cp = c & 0x1F;
        else if (c >= 0xE0 && c <= 0xEF)
            len = 3, cp = c & 0x0F;
        else if (c >= 0xF0 && c <= 0xF4)
            len = 4, cp = c & 0x07;
        else
            return 0;
        if (i + len > n)
            return 0;
        for (unsigned k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return 0;
            cp = cp << 6 | (s[i + k] & 0x3F);
        }
        if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        i += len;
    }
    return 1;
}

static int hexv(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                        : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                                               : -1;
}

/* A JSON string at s[*i] (the opening quote) decoded into out (raw UTF-8);
 * returns its length, or (size_t)-1 on a syntax error.  Escapes \uXXXX are
 * only accepted below U+0080 (what the encoder writes). */
static size_t json_string_at(const char *s, size_t len, size_t *i, char *out)
{
    size_t k = 0, p = *i;
    if (p >= len || s[p] != '"')
        return (size_t)-1;
    p++;
    size_t start = p;
    while (p < len && s[p] != '"') {
        unsigned char c = (unsigned char)s[p];
        if (c < 0x20)
            return (size_t)-1;
        if (c != '\\') {
            out[k++] = (char)c;
            p++;
            continue;
        }
        if (p + 1 >= len)
            return (size_t)-1;
        char e = s[p + 1];
        p += 2;
        switch (e) {
        case '"': out[k++] = '"'; break;
        case '\\': out[k++] = '\\'; break;
        case '/': out[k++] = '/'; break;
        case 'b': out[k++] = '\b'; break;
        case 'f': out[k++] = '\f'; break;
        case 'n': out[k++] = '\n'; break;
        case 'r': out[k++] = '\r'; break;
        case 't': out[k++] = '\t'; break;
        case 'u': {
            if (p + 4 > len)
                return (size_t)-1;
            int v = 0;
            for (int h = 0; h < 4; h++) {
                int d = hexv(s[p + h]);
                if (d < 0)
                    return (size_t)-1;
                v = v * 16 + d;
            }
            if (v >= 0x80)
                return (size_t)-1;
            out[k++] = (char)v;
            p += 4;
            break;
        }
        default: return (size_t)-1;
        }
    }
    if (p >= len)
        return (size_t)-1;
    if (!utf8_valid((const unsigned char *)s + start, p - start))
        return (size_t)-1; /* JSON text must be UTF-8 */
    *i = p + 1;
    return k;
}

/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? at s[*i]; its length, 0 if none. */
static size_t json_number_at(const char *s, size_t len, size_t i)
{
    size_t p = i;
    if (p < len && s[p] == '-')
        p++;
    if (p >= len || s[p] < '0' || s[p] > '9')
        return 0;
    if (s[p] == '0')
        p++;
    else
        while (p < len && s[p] >= '0' && s[p] <= '9')
            p++;
    if (p < len && s[p] == '.') {
        p++;
        size_t d = p;
        while (p < len && s[p] >= '0' && s[p] <= '9')
            p++;
        if (p == d)
            return 0;
    }
    if (p < len && (s[p] == 'e' || s[p] == 'E')) {
        p++;
        if (p < len && (s[p] == '+' || s[p] == '-'))
            p++;
        size_t d = p;
        while (p < len && s[p] >= '0' && s[p] <= '9')
            p++;
        if (p == d)
            return 0;
    }
    return p - i;
}

/* The value with the leading zeros of its integer part dropped. */
static size_t strip_zeros(const char *v, size_t n, char *out)
{
    size_t i = 0, k = 0;
    if (i < n && v[i] == '-')
        out[k++] = v[i++];
    while (i + 1 < n && v[i] == '0' && v[i + 1] >= '0' && v[i + 1] <= '9')
        i++;
    memcpy(out + k, v + i, n - i);
    return k + n - i;
}

static size_t base64_decode(const char *s, size_t n, char *out)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t k = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n && s[i] != '='; i++) {
        const char *a = memchr(alphabet, s[i], 64);
        if (!a)
            return (size_t)-1;
        acc = acc << 6 | (uint32_t)(a - alphabet);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[k++] = (char)((acc >> bits) & 0xFF);
        }
    }
    return k;
}

static void check_jsonl(const char *out, size_t len, const row *rows, size_t nrows, size_t ncols,
                        const char *const *names, const ferry_my_class *classes)
{
    char *buf = malloc(len + 1), *buf2 = malloc(len + 1);
    if (!buf || !buf2)
        abort();
    size_t i = 0;
    for (size_t r = 0; r < nrows; r++) {
        FUZZ_CHECK(i < len && out[i] == '{', "JSONL row %zu does not start with '{'", r);
        i++;
        for (size_t c = 0; c < ncols; c++) {
            if (c) {
                FUZZ_CHECK(i < len && out[i] == ',', "JSONL row %zu: no ',' before col %zu", r, c);
                i++;
            }
            size_t kn = json_string_at(out, len, &i, buf);
            FUZZ_CHECK(kn != (size_t)-1, "JSONL row %zu col %zu: bad key", r, c);
            if (utf8_valid((const unsigned char *)names[c], strlen(names[c])))
                FUZZ_CHECK(kn == strlen(names[c]) && memcmp(buf, names[c], kn) == 0,
                           "JSONL row %zu col %zu: key differs from the column name", r, c);
            FUZZ_CHECK(i < len && out[i] == ':', "JSONL row %zu col %zu: no ':'", r, c);
            i++;
            const char *v = rows[r].values[c];
            size_t vn = v ? rows[r].lengths[c] : 0;
            if (!v) {
                FUZZ_CHECK(len - i >= 4 && memcmp(out + i, "null", 4) == 0,
                           "JSONL row %zu col %zu: NULL is not null", r, c);
                i += 4;
                continue;
            }
            size_t num = json_number_at(out, len, i);
            if (num) {
                FUZZ_CHECK(classes[c] == FERRY_MY_CLASS_NUMBER,
                           "JSONL row %zu col %zu: a number for a non-numeric column", r, c);
                size_t sn = strip_zeros(v, vn, buf2);
                FUZZ_CHECK(num == sn && memcmp(out + i, buf2, sn) == 0,
                           "JSONL row %zu col %zu: number differs from the value", r, c);
                i += num;
                continue;
            }
            size_t sn = json_string_at(out, len, &i, buf);
            FUZZ_CHECK(sn != (size_t)-1, "JSONL row %zu col %zu: not a JSON value", r, c);
            if (classes[c] == FERRY_MY_CLASS_BINARY) {
                size_t bn = base64_decode(buf, sn, buf2);
                FUZZ_CHECK(bn == vn && memcmp(buf2, v, vn) == 0,
                           "JSONL row %zu col %zu: base64 does not decode to the value", r, c);
            } else if (utf8_valid((const unsigned char *)v, vn)) {
                FUZZ_CHECK(sn == vn && memcmp(buf, v, vn) == 0,
                           "JSONL row %zu col %zu: string differs from the value", r, c);
            }
        }
        FUZZ_CHECK(len - i >= 2 && out[i] == '}' && out[i + 1] == '\n',
                   "JSONL row %zu does not end with '}\\n'", r);
        i += 2;
    }
    FUZZ_CHECK(i == len, "JSONL: %zu bytes after the last row", len - i);
    free(buf);
    free(buf2);
}

/* ---- the target ------------------------------------------------------------- */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_in in = {data, size};
    static const ferry_format formats[3] = {FERRY_FORMAT_CSV, FERRY_FORMAT_TSV, FERRY_FORMAT_JSONL};
    ferry_format format = formats[fz_u8(&in) % 3];
    size_t ncols = 1 + fz_u8(&in) % MAX_COLS;
    uint8_t opts = fz_u8(&in);
    const char *null_text = null_texts[(opts >> 1) & 7];
    ferry_my_class classes[MAX_COLS];
    for (size_t c = 0; c < ncols; c++)
        classes[c] = (ferry_my_class)(fz_u8(&in) % 3);
    char *names[MAX_COLS];
    static const char *const default_names[MAX_COLS] = {"id", "name", "price", "blob",
                                                        "note", "ts", "NULL", "a,b"};
    for (size_t c = 0; c < ncols; c++)
        names[c] = (opts & 1) ? fz_str(&in) : strdup(default_names[c]);

    /* rows: the values point into the input (borrowed), like a MYSQL_ROW */
    row rows[MAX_ROWS];
    size_t nrows = 0;
    while (in.n > 0 && nrows < MAX_ROWS) {
        row *rw = &rows[nrows++];
        for (size_t c = 0; c < ncols; c++) {
            uint8_t flag = fz_u8(&in);
            size_t n = fz_u8(&in);
            if (n > in.n)
                n = in.n;
            rw->values[c] = (flag & 1) ? NULL : (char *)in.p;
            rw->lengths[c] = (flag & 1) ? 0 : (unsigned long)n;
            if (flag & 2) /* a NULL's length is not looked at: make it garbage */
                rw->lengths[c] = (flag & 1) ? 0xFFFF : rw->lengths[c];
            in.p += n;
            in.n -= n;
        }
    }
    if (nrows == 0) {
        for (size_t c = 0; c < ncols; c++)
            free(names[c]);
        return 0;
    }

    ferry_my_encoder e;
    if (ferry_my_encoder_init(&e, format, (const char *const *)names, classes, ncols, null_text) != 0)
        abort();
    const char *effective_null = null_text && *null_text ? null_text : NULL;
    int header = format != FERRY_FORMAT_JSONL;

    /* everything into one buffer; each piece first into an exact-size one */
    size_t total = 0, cap = 0;
    char *all = NULL;
    for (size_t r = 0; r <= nrows; r++) {
        size_t bound, k;
        char *piece;
        if (r == 0) {
            bound = ferry_my_header_bound(&e);
            piece = malloc(bound ? bound : 1);
            if (!piece)
                abort();
            k = ferry_my_encode_header(&e, piece);
        } else {
            bound = ferry_my_encode_bound(&e, rows[r - 1].values, rows[r - 1].lengths);
            piece = malloc(bound ? bound : 1);
            if (!piece)
                abort();
            k = ferry_my_encode_row(&e, rows[r - 1].values, rows[r - 1].lengths, piece);
        }
        FUZZ_CHECK(k <= bound, "%s %zu: wrote %zu bytes, bound %zu", r ? "row" : "header", r, k,
                   bound);
        if (total + k > cap) {
            cap = (total + k) * 2;
            char *grown = realloc(all, cap);
            if (!grown)
                abort();
            all = grown;
        }
        if (k)
            memcpy(all + total, piece, k);
        total += k;
        free(piece);
    }
    /* the NULL flag-2 trick above left garbage lengths: hand the checkers clean rows */
    for (size_t r = 0; r < nrows; r++)
        for (size_t c = 0; c < ncols; c++)
            if (!rows[r].values[c])
                rows[r].lengths[c] = 0;
    if (format == FERRY_FORMAT_CSV)
        check_csv(all, total, rows, nrows, ncols, (const char *const *)names, header,
                  effective_null);
    else if (format == FERRY_FORMAT_TSV)
        check_tsv(all, total, rows, nrows, ncols, (const char *const *)names, header,
                  effective_null);
    else
        check_jsonl(all, total, rows, nrows, ncols, (const char *const *)names, classes);

    free(all);
    ferry_my_encoder_release(&e);
    for (size_t c = 0; c < ncols; c++)
        free(names[c]);
    return 0;
}
