/*
 * hooks/mysql/my_dialect.c - rewrites ferry's CSV or TSV, chunk by chunk,
 * into the one CSV dialect the sink's LOAD DATA statement reads
 * (FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '"' ESCAPED BY ''
 * LINES TERMINATED BY '\n').
 *
 * Why: with ESCAPED BY '' LOAD DATA reads an unquoted empty field as '' and
 * the unquoted word NULL as SQL NULL, while ferry's CSV (like PostgreSQL's)
 * says NULL with an empty unquoted field and writes the string 'NULL'
 * unquoted.  So, outside quotes:
 *     (empty)      -> NULL       (SQL NULL; '""' when a null_string is set)
 *     NULL         -> "NULL"     (the four-letter string)
 *     null_string  -> NULL       (when o->null_string is set)
 * Quoted fields pass through unchanged ("" inside is a quote for both).
 * TSV (PostgreSQL text format) is decoded - \N is NULL, \t \n \\ \b \f \v
 * \r, octal \ooo and hex \xhh are bytes - and every other value is written
 * quoted.  CRLF line ends become LF.  The header record, when there is one,
 * is kept aside instead of being passed on (no IGNORE 1 LINES needed).
 *
 * The state machine keeps its state across chunk boundaries and buffers at
 * most the start of one field (to tell NULL markers from data) plus a fixed
 * output buffer: memory stays bounded whatever the input.
 */
#include <stdlib.h>
#include <string.h>

#include "core/encode.h"
#include "my_internal.h"

enum {
    ST_START = 0,   /* at the start of a field, nothing read yet */
    ST_UNQUOTED,    /* CSV: inside an unquoted field */
    ST_QUOTED,      /* CSV: inside a quoted field */
    ST_QUOTE_SEEN,  /* CSV: a quote inside a quoted field: its end, or the first of "" */
    ST_TSV          /* TSV: inside a field whose opening quote has been written */
};

enum { ESC_NONE = 0, ESC_BACKSLASH, ESC_OCTAL, ESC_HEX };

/* Most bytes one input byte can make (replaying a buffered field start). */
#define MY_MAX_OUT_PER_BYTE (2 * (FERRY_MY_NULL_STRING_MAX + 8) + 32)

int ferry_my_dialect_init(ferry_my_dialect *d, ferry_format in, int header, const char *null_string,
                          ferry_my_flush_fn flush, void *ud)
{
    memset(d, 0, sizeof *d);
    d->tsv = in == FERRY_FORMAT_TSV;
    d->skip_header = header != 0;
    d->in_header = d->skip_header;
    d->flush = flush;
    d->flush_ud = ud;
    if (null_string && *null_string) {
        size_t n = strlen(null_string);
        if (n > FERRY_MY_NULL_STRING_MAX)
            return -1;
        memcpy(d->null_string, null_string, n + 1);
        d->null_len = n;
    }
    return 0;
}

void ferry_my_dialect_release(ferry_my_dialect *d)
{
    if (!d)
        return;
    free(d->header);
    d->header = NULL;
    d->header_len = d->header_cap = 0;
}

/* ---- output -------------------------------------------------------------- */

int ferry_my_dialect_flush(ferry_my_dialect *d)
{
    if (d->len == 0)
        return 0;
    int rc = d->flush ? d->flush(d->flush_ud, d->buf, d->len) : 0;
    d->len = 0;
    return rc;
}

/* Room for what the next input byte may produce. */
static int reserve(ferry_my_dialect *d)
{
    if (d->in_header) {
        if (d->header_len + MY_MAX_OUT_PER_BYTE <= d->header_cap)
            return 0;
        size_t want = d->header_cap ? 2 * d->header_cap : 4096;
        if (want > FERRY_MY_HEADER_MAX + MY_MAX_OUT_PER_BYTE)
            return -1;
        char *grown = realloc(d->header, want);
        if (!grown)
            return -1;
        d->header = grown;
        d->header_cap = want;
        return 0;
    }
    if (d->len + MY_MAX_OUT_PER_BYTE <= sizeof d->buf)
        return 0;
    return ferry_my_dialect_flush(d);
}

static void out1(ferry_my_dialect *d, char c)
{
    if (d->in_header)
        d->header[d->header_len++] = c;
    else
        d->buf[d->len++] = c;
}

static void outn(ferry_my_dialect *d, const char *s, size_t n)
{
    if (d->in_header) {
        memcpy(d->header + d->header_len, s, n);
        d->header_len += n;
    } else {
        memcpy(d->buf + d->len, s, n);
        d->len += n;
    }
}

/* A byte of a value inside the quotes LOAD DATA will read. */
static void out_quoted(ferry_my_dialect *d, char c)
{
    if (c == '"')
        out1(d, '"');
    out1(d, c);
}

/* ---- NULL markers ---------------------------------------------------------- */

static int is_prefix(const char *p, size_t n, const char *of, size_t of_len)
{
    return n <= of_len && memcmp(p, of, n) == 0;
}

static int equals(const char *p, size_t n, const char *s, size_t s_len)
{
    return n == s_len && memcmp(p, s, n) == 0;
}

/* The raw text of a TSV field that means NULL. */
static const char *tsv_marker(const ferry_my_dialect *d, size_t *len)
{
    *len = d->null_len ? d->null_len : 2;
    return d->null_len ? d->null_string : "\\N";
}

/* Could the buffered field start still become a marker? */
static int could_be_marker(const ferry_my_dialect *d)
{
    if (d->tsv) {
        size_t n;
        const char *m = tsv_marker(d, &n);
        return is_prefix(d->pend, d->pend_len, m, n);
    }
    return is_prefix(d->pend, d->pend_len, "NULL", 4) ||
           (d->null_len && is_prefix(d->pend, d->pend_len, d->null_string, d->null_len));
}

/* ---- TSV decoding ----------------------------------------------------------- */

static void tsv_escape_end(ferry_my_dialect *d)
{
    if (d->esc_state == ESC_OCTAL || (d->esc_state == ESC_HEX && d->esc_digits > 0))
        out_quoted(d, (char)(d->esc_value & 0xFF));
    else if (d->esc_state == ESC_HEX)
        out_quoted(d, 'x'); /* "\x" without digits is an x */
    else if (d->esc_state == ESC_BACKSLASH)
        out_quoted(d, '\\'); /* a backslash at the very end of a field */
    d->esc_state = ESC_NONE;
}

static char simple_escape(char c)
{
    switch (c) {
    case 'b': return '\b';
    case 'f': return '\f';
    case 'n': return '\n';
    case 'r': return '\r';
    case 't': return '\t';
    case 'v': return '\v';
    default: return c; /* \\ and any other character stand for themselves */
    }
}

/* One raw byte of a TSV value (not a separator). */
static void tsv_value_byte(ferry_my_dialect *d, char c)
{
    for (;;) {
        switch (d->esc_state) {
        case ESC_NONE:
            if (c == '\\')
                d->esc_state = ESC_BACKSLASH;
            else
                out_quoted(d, c);
            return;
        case ESC_BACKSLASH:
            if (c >= '0' && c <= '7') {
                d->esc_state = ESC_OCTAL;
                d->esc_value = (unsigned)(c - '0');
                d->esc_digits = 1;
            } else if (c == 'x') {
                d->esc_state = ESC_HEX;
                d->esc_value = 0;
                d->esc_digits = 0;
            } else {
                d->esc_state = ESC_NONE;
                out_quoted(d, simple_escape(c));
            }
            return;
        case ESC_OCTAL:
            if (c >= '0' && c <= '7' && d->esc_digits < 3) {
                d->esc_value = d->esc_value * 8 + (unsigned)(c - '0');
                if (++d->esc_digits == 3)
                    tsv_escape_end(d);
                return;
            }
            tsv_escape_end(d);
            continue; /* c is a byte of its own */
        case ESC_HEX:
            if (ferry_hex_value((unsigned char)c) >= 0 && d->esc_digits < 2) {
                d->esc_value = d->esc_value * 16 + (unsigned)ferry_hex_value((unsigned char)c);
                if (++d->esc_digits == 2)
                    tsv_escape_end(d);
                return;
            }
            tsv_escape_end(d);
            continue;
        }
    }
}

/* The buffered start of a TSV field turned out to be a value: open the
 * quotes and decode it. */
static void tsv_open_value(ferry_my_dialect *d)
{
    out1(d, '"');
    d->state = ST_TSV;
    d->matching = 0;
    for (size_t i = 0; i < d->pend_len; i++)
        tsv_value_byte(d, d->pend[i]);
    d->pend_len = 0;
}

/* ---- fields and records ------------------------------------------------------ */

static void end_field(ferry_my_dialect *d)
{
    if (d->tsv) {
        if (d->state == ST_START || d->matching) {
            size_t n;
            const char *m = tsv_marker(d, &n);
            if (d->state != ST_START && equals(d->pend, d->pend_len, m, n)) {
                outn(d, "NULL", 4);
            } else {
                tsv_open_value(d); /* "" for an empty field */
                tsv_escape_end(d);
                out1(d, '"');
            }
        } else {
            tsv_escape_end(d);
            out1(d, '"');
        }
    } else if (d->state == ST_START) {
        if (d->null_len)
            outn(d, "\"\"", 2); /* with a null_string, an empty field is '' */
        else
            outn(d, "NULL", 4);
    } else if (d->state == ST_UNQUOTED && d->matching) {
        if (d->null_len && equals(d->pend, d->pend_len, d->null_string, d->null_len))
            outn(d, "NULL", 4);
        else if (equals(d->pend, d->pend_len, "NULL", 4))
            outn(d, "\"NULL\"", 6);
        else
            outn(d, d->pend, d->pend_len);
    }
    d->state = ST_START;
    d->pend_len = 0;
    d->matching = 0;
    d->esc_state = ESC_NONE;
}

static void end_record(ferry_my_dialect *d)
{
    end_field(d);
    out1(d, '\n');
    d->record_open = 0;
    if (d->in_header) {
        d->in_header = 0;
        d->header_done = 1;
    } else {
        d->records++;
    }
}

/* CSV: a byte of an unquoted field. */
static void unquoted_byte(ferry_my_dialect *d, char c)
{
    if (d->state == ST_START) {
        d->state = ST_UNQUOTED;
        d->pend_len = 0;
        d->matching = 1;
    }
    if (!d->matching) {
        out1(d, c);
        return;
    }
    d->pend[d->pend_len++] = c;
    if (!could_be_marker(d)) {
        outn(d, d->pend, d->pend_len);
        d->pend_len = 0;
        d->matching = 0;
    }
}

/* TSV: a byte of a field (not a separator). */
static void tsv_byte(ferry_my_dialect *d, char c)
{
    if (d->state == ST_START) {
        d->state = ST_UNQUOTED; /* "field started, still buffering" */
        d->pend_len = 0;
        d->matching = 1;
    }
    if (!d->matching) {
        tsv_value_byte(d, c);
        return;
    }
    d->pend[d->pend_len++] = c;
    if (!could_be_marker(d))
        tsv_open_value(d);
}

/* A data byte outside quotes. */
static void plain_byte(ferry_my_dialect *d, char c)
{
    if (d->tsv)
        tsv_byte(d, c);
    else
        unquoted_byte(d, c);
}

/* A CR outside quotes that was not followed by LF: it was data. */
static void resolve_cr_as_data(ferry_my_dialect *d)
{
    d->pending_cr = 0;
    if (!d->tsv && d->state == ST_QUOTE_SEEN) {
        out1(d, '\r'); /* text after a closing quote: passed on as it is */
        d->state = ST_UNQUOTED;
        d->matching = 0;
        return;
    }
    plain_byte(d, '\r');
}

static void csv_byte(ferry_my_dialect *d, char c)
{
    switch (d->state) {
    case ST_QUOTED:
        out1(d, c);
        if (c == '"')
            d->state = ST_QUOTE_SEEN;
        return;
    case ST_QUOTE_SEEN:
        if (c == '"') {
            out1(d, c);
            d->state = ST_QUOTED;
        } else if (c == ',') {
            end_field(d);
            out1(d, ',');
        } else if (c == '\n') {
            end_record(d);
        } else if (c == '\r') {
            d->pending_cr = 1;
        } else {
            out1(d, c);
            d->state = ST_UNQUOTED;
            d->matching = 0;
        }
        return;
    case ST_START:
        if (c == '"') {
            out1(d, c);
            d->state = ST_QUOTED;
            return;
        }
        /* fall through */
    default:
        if (c == ',') {
            end_field(d);
            out1(d, ',');
        } else if (c == '\n') {
            end_record(d);
        } else if (c == '\r') {
            d->pending_cr = 1;
        } else {
            unquoted_byte(d, c);
        }
        return;
    }
}

/* Does the buffered start of a TSV field end with a backslash that escapes
 * the next byte?  (A field that starts with "\" is buffered while it may
 * still be the marker \N, so its backslash is not decoded yet.) */
static int pend_escape_open(const ferry_my_dialect *d)
{
    int open = 0;
    for (size_t i = 0; i < d->pend_len; i++)
        open = !open && d->pend[i] == '\\';
    return open;
}

static void tsv_input_byte(ferry_my_dialect *d, char c)
{
    /* PostgreSQL's text format: a backslash escapes the next byte, a tab or
     * a line end too, at the start of a field as in its middle */
    if (d->esc_state == ESC_BACKSLASH || (d->matching && pend_escape_open(d))) {
        tsv_byte(d, c); /* an escaped character, even a tab or a newline */
        return;
    }
    if (c == '\t') {
        end_field(d);
        out1(d, ',');
    } else if (c == '\n') {
        end_record(d);
    } else if (c == '\r') {
        d->pending_cr = 1;
    } else {
        tsv_byte(d, c);
    }
}

int ferry_my_dialect_feed(ferry_my_dialect *d, const char *in, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        int rc = reserve(d);
        if (rc != 0)
            return rc;
        char c = in[i];
        d->record_open = 1;
        if (d->pending_cr) {
            if (c == '\n') {
                d->pending_cr = 0; /* CRLF: the LF ends the record below */
            } else {
                resolve_cr_as_data(d);
            }
        }
        if (d->tsv)
            tsv_input_byte(d, c);
        else
            csv_byte(d, c);
    }
    return 0;
}

int ferry_my_dialect_finish(ferry_my_dialect *d)
{
    int rc = reserve(d);
    if (rc != 0)
        return rc;
    if (!d->tsv && d->state == ST_QUOTED)
        return -2;
    d->pending_cr = 0; /* a CR at the very end is a line end */
    if (d->record_open)
        end_record(d);
    return ferry_my_dialect_flush(d);
}

/* ---- the header's names -------------------------------------------------------- */

int ferry_my_dialect_header(const ferry_my_dialect *d, char ***names, size_t *n)
{
    *names = NULL;
    *n = 0;
    if (!d->header_done || !d->header)
        return -1;
    size_t count = 1;
    int quoted = 0;
    for (size_t i = 0; i < d->header_len; i++) {
        if (d->header[i] == '"')
            quoted = !quoted;
        else if (d->header[i] == ',' && !quoted)
            count++;
    }
    char **v = calloc(count, sizeof *v);
    if (!v)
        return -1;
    const char *p = d->header, *end = d->header + d->header_len;
    for (size_t f = 0; f < count; f++) {
        char *name = malloc((size_t)(end - p) + 1);
        size_t k = 0;
        if (!name)
            goto oom;
        if (p < end && *p == '"') {
            p++;
            while (p < end) {
                if (p[0] == '"' && p + 1 < end && p[1] == '"') {
                    name[k++] = '"';
                    p += 2;
                } else if (p[0] == '"') {
                    p++;
                    break;
                } else {
                    name[k++] = *p++;
                }
            }
        }
        while (p < end && *p != ',' && *p != '\n')
            name[k++] = *p++; /* unquoted (NULL becomes the name "NULL") */
        name[k] = '\0';
        v[f] = name;
        if (p < end)
            p++; /* the ',' or the final '\n' */
    }
    *names = v;
    *n = count;
    return 0;
oom:
    for (size_t f = 0; f < count; f++)
        free(v[f]);
    free(v);
    return -1;
}
