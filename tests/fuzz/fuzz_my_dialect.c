/*
 * tests/fuzz/fuzz_my_dialect.c - the MySQL sink's CSV/TSV rewriting
 * (hooks/mysql/my_dialect.c): ferry's CSV (NULL = empty unquoted field) or
 * TSV (PostgreSQL text format) into the one CSV dialect LOAD DATA reads
 * (ESCAPED BY '', OPTIONALLY ENCLOSED BY '"', unquoted NULL = SQL NULL).
 *
 * Input: byte 0 options (bit 0 TSV, bit 1 header, bits 2-4 the NULL text),
 * byte 1 chunking (low 2 bits: 1 byte / small / up to 4 KiB / whole; the
 * rest seeds the sizes), then the data, any bytes.
 *
 * Invariants, besides no crash / leak / UB:
 *  - the output and the return codes do not depend on the chunk sizes
 *    (the state machine keeps its state across feeds);
 *  - when the input is well-formed (CSV: RFC 4180 with '\n' or "\r\n" line
 *    ends, a lone CR in an unquoted field being data; TSV: any), a reader of
 *    the LOAD DATA dialect gets back exactly the values a reader of the
 *    input gets, NULL for NULL: CSV unquoted empty = NULL (without a NULL
 *    text; "" with one), unquoted NULL text = NULL, quoted = its text; TSV
 *    \N (or the NULL text) = NULL, escapes decoded;
 *  - with a header, ferry_my_dialect_header gives the header's field names.
 * The NULL texts used hold no separator, quote, CR, LF, tab or backslash
 * (see fuzz_my_encode.c).
 */
#include "hooks/mysql/my_internal.h"
#include "fuzz_common.h"

static const char *const null_texts[8] = {NULL, "", "\\N", "NULL", "null", "-", "NUL", "N/A"};

typedef struct bytes {
    char *p;
    size_t n, cap;
} bytes;

static void bytes_add(bytes *b, const char *s, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + n + 1)
            cap *= 2;
        char *grown = realloc(b->p, cap);
        if (!grown)
            abort();
        b->p = grown;
        b->cap = cap;
    }
    if (n)
        memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
}

static int collect(void *ud, const char *data, size_t len)
{
    bytes_add(ud, data, len);
    return 0;
}

typedef struct conv {
    bytes out;
    int rc;
    int64_t records;
    char **names;
    size_t n_names;
    int header_rc;
} conv;

static void convert(ferry_format f, int header, const char *null_text, const char *in,
                    size_t len, unsigned mode, fz_rng *rng, conv *c)
{
    memset(c, 0, sizeof *c);
    bytes_add(&c->out, "", 0);
    ferry_my_dialect *d = malloc(sizeof *d);
    if (!d)
        abort();
    FUZZ_CHECK(ferry_my_dialect_init(d, f, header, null_text, collect, &c->out) == 0, "init");
    int rc = 0;
    for (size_t off = 0; rc == 0 && off < len;) {
        size_t n = fz_chunk(rng, mode, len - off);
        rc = ferry_my_dialect_feed(d, in + off, n);
        off += n;
    }
    if (rc == 0)
        rc = ferry_my_dialect_finish(d);
    c->rc = rc;
    c->records = d->records;
    if (header)
        c->header_rc = ferry_my_dialect_header(d, &c->names, &c->n_names);
    ferry_my_dialect_release(d);
    free(d);
}

static void conv_free(conv *c)
{
    for (size_t i = 0; i < c->n_names; i++)
        free(c->names[i]);
    free(c->names);
    free(c->out.p);
}

/* ---- the values both sides mean ---------------------------------------------- */

typedef struct value {
    int is_null;
    int record_end; /* the last field of its record */
    size_t off, n;  /* into the values arena */
} value;

typedef struct values {
    value *v;
    size_t n, cap;
    bytes text;
} values;

static void values_add(values *vs, int is_null, const char *p, size_t n)
{
    if (vs->n == vs->cap) {
        vs->cap = vs->cap ? vs->cap * 2 : 64;
        value *grown = realloc(vs->v, vs->cap * sizeof *grown);
        if (!grown)
            abort();
        vs->v = grown;
    }
    vs->v[vs->n].is_null = is_null;
    vs->v[vs->n].record_end = 0;
    vs->v[vs->n].off = vs->text.n;
    vs->v[vs->n].n = n;
    vs->n++;
    bytes_add(&vs->text, p, n);
}

static void values_end_record(values *vs)
{
    if (vs->n)
        vs->v[vs->n - 1].record_end = 1;
}

static void values_free(values *vs)
{
    free(vs->v);
    free(vs->text.p);
}

/* ferry CSV (the input): returns 0, or -1 when it is not well-formed. */
static int read_ferry_csv(const char *s, size_t len, const char *null_text, values *vs)
{
    size_t nnull = null_text ? strlen(null_text) : 0;
    bytes field = {0};
    bytes_add(&field, "", 0);
    size_t i = 0;
    int rc = 0;
    while (i < len && rc == 0) {
        /* one field */
        field.n = 0;
        int quoted = 0;
        if (s[i] == '"') {
            quoted = 1;
            i++;
            for (;;) {
                if (i >= len) {
                    rc = -1;
                    break;
                }
                if (s[i] == '"') {
                    if (i + 1 < len && s[i + 1] == '"') {
                        bytes_add(&field, "\"", 1);
                        i += 2;
                        continue;
                    }
                    i++;
                    break;
                }
                bytes_add(&field, s + i, 1);
                i++;
            }
            if (rc)
                break;
        } else {
            while (i < len && s[i] != ',' && s[i] != '\n' &&
                   !(s[i] == '\r' && (i + 1 == len || s[i + 1] == '\n'))) {
                if (s[i] == '"') {
                    rc = -1;
                    break;
                }
                bytes_add(&field, s + i, 1);
                i++;
            }
            if (rc)
                break;
        }
        int is_null = 0;
        if (!quoted) {
            if (nnull)
                is_null = field.n == nnull && memcmp(field.p, null_text, nnull) == 0;
            else
                is_null = field.n == 0;
        }
        values_add(vs, is_null, field.p, field.n);
        /* what ends it */
        if (i >= len) {
            values_end_record(vs);
            break;
        }
        if (s[i] == ',') {
            i++;
            if (i == len) { /* "x," at the very end: one more, empty field */
                values_add(vs, nnull == 0, "", 0);
                values_end_record(vs);
            }
        } else if (s[i] == '\n') {
            i++;
            values_end_record(vs);
        } else if (s[i] == '\r' && (i + 1 == len || s[i + 1] == '\n')) {
            i += (i + 1 < len) ? 2 : 1; /* CRLF, or a CR at the very end */
            values_end_record(vs);
        } else {
            rc = -1; /* text after a closing quote */
        }
    }
    free(field.p);
    return rc;
}

static int hex_digit(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                        : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                                               : -1;
}

/* ferry TSV (the input), PostgreSQL's text format: a backslash escapes the
 * next byte whatever it is (a tab or a line end too); \N (or the NULL text)
 * alone is NULL; \ooo octal, \xhh hex, \b \f \n \r \t \v, any other
 * escaped byte is itself; a lone CR is data unless a LF follows. */
static void read_ferry_tsv(const char *s, size_t len, const char *null_text, values *vs,
                           int *unchecked)
{
    *unchecked = 0; /* every input is checked (the escaped-separator gap is fixed) */
    const char *marker = null_text ? null_text : "\\N";
    size_t mlen = strlen(marker);
    bytes raw = {0}, dec = {0};
    bytes_add(&raw, "", 0);
    bytes_add(&dec, "", 0);
    size_t i = 0;
    while (i < len) {
        raw.n = 0;
        /* the raw field: up to an unescaped tab / LF / CR-that-ends-a-line */
        while (i < len) {
            char c = s[i];
            if (c == '\\' && i + 1 < len) {
                bytes_add(&raw, s + i, 2);
                i += 2;
                continue;
            }
            if (c == '\t' || c == '\n' || (c == '\r' && (i + 1 == len || s[i + 1] == '\n')))
                break;
            bytes_add(&raw, s + i, 1);
            i++;
        }
        if (raw.n == mlen && memcmp(raw.p, marker, mlen) == 0) {
            values_add(vs, 1, "", 0);
        } else {
            dec.n = 0;
            for (size_t k = 0; k < raw.n; k++) {
                char c = raw.p[k];
                if (c != '\\' || k + 1 >= raw.n) {
                    bytes_add(&dec, &c, 1); /* a final lone backslash stays */
                    continue;
                }
                char e = raw.p[++k];
                if (e >= '0' && e <= '7') {
                    unsigned v = (unsigned)(e - '0');
                    for (int d = 0; d < 2 && k + 1 < raw.n && raw.p[k + 1] >= '0' && raw.p[k + 1] <= '7'; d++)
                        v = v * 8 + (unsigned)(raw.p[++k] - '0');
                    char b = (char)(v & 0xFF);
                    bytes_add(&dec, &b, 1);
                } else if (e == 'x') {
                    unsigned v = 0;
                    int digits = 0;
                    while (digits < 2 && k + 1 < raw.n && hex_digit(raw.p[k + 1]) >= 0) {
                        v = v * 16 + (unsigned)hex_digit(raw.p[++k]);
                        digits++;
                    }
                    char b = digits ? (char)v : 'x';
                    bytes_add(&dec, &b, 1);
                } else {
                    char b = e == 'b' ? '\b' : e == 'f' ? '\f' : e == 'n' ? '\n' : e == 'r' ? '\r'
                           : e == 't' ? '\t' : e == 'v' ? '\v' : e;
                    bytes_add(&dec, &b, 1);
                }
            }
            values_add(vs, 0, dec.p, dec.n);
        }
        if (i >= len) {
            values_end_record(vs);
            break;
        }
        if (s[i] == '\t') {
            i++;
            if (i == len) {
                values_add(vs, 0, "", 0); /* an empty last field is "" in TSV */
                values_end_record(vs);
            }
        } else {
            i += (s[i] == '\r' && i + 1 < len) ? 2 : 1;
            values_end_record(vs);
        }
    }
    free(raw.p);
    free(dec.p);
}

/* The LOAD DATA dialect (the output): every record ends with '\n'; a field
 * is "..." ("" inside is a quote) or unquoted text, where NULL is SQL NULL.
 * Returns 0, or -1 when the output is not in the dialect. */
static int read_load_data(const char *s, size_t len, values *vs)
{
    bytes field = {0};
    bytes_add(&field, "", 0);
    size_t i = 0;
    int rc = 0;
    while (i < len) {
        field.n = 0;
        int is_null = 0;
        if (s[i] == '"') {
            i++;
            for (;;) {
                if (i >= len) {
                    rc = -1;
                    goto out;
                }
                if (s[i] == '"' && i + 1 < len && s[i + 1] == '"') {
                    bytes_add(&field, "\"", 1);
                    i += 2;
                } else if (s[i] == '"') {
                    i++;
                    break;
                } else {
                    bytes_add(&field, s + i, 1);
                    i++;
                }
            }
        } else {
            while (i < len && s[i] != ',' && s[i] != '\n') {
                bytes_add(&field, s + i, 1);
                i++;
            }
            is_null = field.n == 4 && memcmp(field.p, "NULL", 4) == 0;
        }
        values_add(vs, is_null, field.p, field.n);
        if (i >= len) {
            rc = -1; /* no line end */
            goto out;
        }
        if (s[i] == '\n')
            values_end_record(vs);
        else if (s[i] != ',') {
            rc = -1; /* text after a closing quote */
            goto out;
        }
        i++;
    }
out:
    free(field.p);
    return rc;
}

static const char *fmt_value(const values *vs, size_t i, char *buf, size_t cap)
{
    const value *v = &vs->v[i];
    if (v->is_null)
        snprintf(buf, cap, "NULL%s", v->record_end ? " (end)" : "");
    else
        snprintf(buf, cap, "'%.*s' (%zu bytes)%s", (int)(v->n < 40 ? v->n : 40),
                 vs->text.p + v->off, v->n, v->record_end ? " (end)" : "");
    return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    uint8_t opts = data[0], chunking = data[1];
    int tsv = opts & 1, header = (opts >> 1) & 1;
    const char *null_text = null_texts[(opts >> 2) & 7];
    const char *effective_null = null_text && *null_text ? null_text : NULL;
    ferry_format f = tsv ? FERRY_FORMAT_TSV : FERRY_FORMAT_CSV;
    size_t len = size - 2;
    char *in = malloc(len ? len : 1);
    if (!in)
        abort();
    if (len)
        memcpy(in, data + 2, len);

    fz_rng rng;
    fz_rng_seed(&rng, chunking);
    conv whole, split;
    convert(f, header, null_text, in, len, 0, &rng, &whole);
    convert(f, header, null_text, in, len, 1 + (chunking & 3) % 3, &rng, &split);
    FUZZ_CHECK(whole.rc == split.rc, "rc %d whole, %d in chunks", whole.rc, split.rc);
    FUZZ_CHECK(whole.out.n == split.out.n && memcmp(whole.out.p, split.out.p, whole.out.n) == 0,
               "output differs with chunking (%zu vs %zu bytes)", whole.out.n, split.out.n);
    FUZZ_CHECK(whole.records == split.records, "records %lld vs %lld",
               (long long)whole.records, (long long)split.records);

    values want = {0}, got = {0};
    int unchecked = 0;
    int well_formed = tsv ? (read_ferry_tsv(in, len, effective_null, &want, &unchecked), !unchecked)
                          : read_ferry_csv(in, len, effective_null, &want) == 0;
    if (well_formed && whole.rc == 0) {
        FUZZ_CHECK(read_load_data(whole.out.p, whole.out.n, &got) == 0,
                   "the output is not in the LOAD DATA dialect");
        /* the header record went aside */
        size_t skip = 0;
        if (header) {
            while (skip < want.n && !want.v[skip].record_end)
                skip++;
            if (skip < want.n)
                skip++;
            size_t nh = skip;
            if (nh > 0) {
                FUZZ_CHECK(whole.header_rc == 0 && whole.n_names == nh,
                           "header: rc %d, %zu names for %zu fields", whole.header_rc,
                           whole.n_names, nh);
                for (size_t k = 0; k < nh; k++) {
                    const value *v = &want.v[k];
                    const char *name = v->is_null ? "NULL" : want.text.p + v->off;
                    size_t nn = v->is_null ? 4 : v->n;
                    if (memchr(name, '\0', nn))
                        continue; /* names are C strings */
                    FUZZ_CHECK(strlen(whole.names[k]) == nn && memcmp(whole.names[k], name, nn) == 0,
                               "header name %zu is '%s'", k, whole.names[k]);
                }
            }
        }
        size_t records = 0;
        for (size_t k = skip; k < want.n; k++)
            records += want.v[k].record_end;
        FUZZ_CHECK(whole.records == (int64_t)records, "records %lld, want %zu",
                   (long long)whole.records, records);
        FUZZ_CHECK(got.n == want.n - skip, "%zu fields out, %zu in", got.n, want.n - skip);
        for (size_t k = 0; k < got.n; k++) {
            const value *a = &got.v[k], *b = &want.v[skip + k];
            char ba[128], bb[128];
            FUZZ_CHECK(a->is_null == b->is_null && a->record_end == b->record_end &&
                           (a->is_null || (a->n == b->n &&
                                           memcmp(got.text.p + a->off, want.text.p + b->off, a->n) == 0)),
                       "field %zu: LOAD DATA reads %s, the input says %s", k,
                       fmt_value(&got, k, ba, sizeof ba), fmt_value(&want, skip + k, bb, sizeof bb));
        }
    }
    values_free(&want);
    values_free(&got);
    conv_free(&whole);
    conv_free(&split);
    free(in);
    return 0;
}
