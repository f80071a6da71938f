/*
 * test_mysql_encode.c - the MySQL hook's pure parts, without a server: the
 * CSV/TSV/JSONL row encoders, the CSV/TSV -> LOAD DATA converter (every
 * chunk split, and a fuzzed round trip through a reference reader of the
 * LOAD DATA dialect), table names, the kind -> MariaDB type mapping, the
 * error mapping and the hand-off ring.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <errmsg.h>
#include <mysqld_error.h>

#include "check.h"
#include "hooks/mysql/my_internal.h"

/* ---- helpers ------------------------------------------------------------- */

typedef struct bytes {
    char *data;
    size_t len, cap;
} bytes;

static void bytes_add(bytes *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t want = b->cap ? b->cap * 2 : 256;
        while (want < b->len + n + 1)
            want *= 2;
        b->data = realloc(b->data, want);
        b->cap = want;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

static int collect(void *ud, const char *data, size_t len)
{
    bytes_add(ud, data, len);
    return 0;
}

/* One row through an encoder; returns a malloc'd NUL-terminated string. */
static char *encode1(ferry_format f, const char *null_string, const ferry_my_class *classes,
                     size_t n, char **values, const unsigned long *lengths)
{
    const char *names[8] = {"a", "b", "c", "d", "e", "f", "g", "h"};
    ferry_my_encoder e;
    if (ferry_my_encoder_init(&e, f, names, classes, n, null_string) != 0)
        return NULL;
    size_t bound = ferry_my_encode_bound(&e, values, lengths);
    char *out = malloc(bound + 1);
    size_t k = ferry_my_encode_row(&e, values, lengths, out);
    CHECK(k <= bound);
    out[k] = '\0';
    ferry_my_encoder_release(&e);
    return out;
}

static char *csv1(const char *null_string, const char *v, unsigned long n)
{
    ferry_my_class c = FERRY_MY_CLASS_TEXT;
    char *values[1] = {(char *)v};
    unsigned long lengths[1] = {n};
    return encode1(FERRY_FORMAT_CSV, null_string, &c, 1, values, lengths);
}

#define CHECK_CSV(nullstr, value, expect)                                     \
    do {                                                                      \
        const char *v_ = (value);                                             \
        char *got_ = csv1(nullstr, v_, v_ ? (unsigned long)strlen(v_) : 0);   \
        CHECK_STREQ(got_, expect);                                            \
        free(got_);                                                           \
    } while (0)

/* ---- encoders ------------------------------------------------------------ */

static void test_csv_quoting(void)
{
    CHECK_CSV(NULL, NULL, "\n");
    CHECK_CSV(NULL, "", "\"\"\n");
    CHECK_CSV(NULL, "plain", "plain\n");
    CHECK_CSV(NULL, "a,b", "\"a,b\"\n");
    CHECK_CSV(NULL, "q\"w", "\"q\"\"w\"\n");
    CHECK_CSV(NULL, "two\nlines", "\"two\nlines\"\n");
    CHECK_CSV(NULL, "cr\rhere", "\"cr\rhere\"\n");
    CHECK_CSV(NULL, " lead", "\" lead\"\n");
    CHECK_CSV(NULL, "trail ", "\"trail \"\n");
    CHECK_CSV(NULL, "in side", "in side\n");
    CHECK_CSV(NULL, "NULL", "NULL\n");
    CHECK_CSV(NULL, "\\N", "\\N\n");
    CHECK_CSV(NULL, "\\.", "\"\\.\"\n");
    CHECK_CSV(NULL, "tab\there", "tab\there\n");
    /* with a NULL text, NULL is that text and an equal value is quoted */
    CHECK_CSV("\\N", NULL, "\\N\n");
    CHECK_CSV("\\N", "\\N", "\"\\N\"\n");
    CHECK_CSV("\\N", "", "\"\"\n");
}

static void test_csv_binary_and_row(void)
{
    ferry_my_class classes[3] = {FERRY_MY_CLASS_NUMBER, FERRY_MY_CLASS_BINARY, FERRY_MY_CLASS_TEXT};
    char blob[3] = {'\0', (char)0xff, ','};
    char *values[3] = {"42", blob, NULL};
    unsigned long lengths[3] = {2, 3, 0};
    char *got = encode1(FERRY_FORMAT_CSV, NULL, classes, 3, values, lengths);
    CHECK(got && memcmp(got, "42,\"\0\xff,\",\n", 11) == 0); /* 10 bytes and the NUL */
    free(got);
}

static void test_csv_header(void)
{
    const char *names[3] = {"id", "a,b", "q\"x"};
    ferry_my_class classes[3] = {0, 0, 0};
    ferry_my_encoder e;
    CHECK_INTEQ(ferry_my_encoder_init(&e, FERRY_FORMAT_CSV, names, classes, 3, NULL), 0);
    char *out = malloc(ferry_my_header_bound(&e) + 1);
    size_t k = ferry_my_encode_header(&e, out);
    out[k] = '\0';
    CHECK_STREQ(out, "id,\"a,b\",\"q\"\"x\"\n");
    free(out);
    ferry_my_encoder_release(&e);
    CHECK_INTEQ(ferry_my_encoder_init(&e, FERRY_FORMAT_TSV, names, classes, 3, NULL), 0);
    out = malloc(ferry_my_header_bound(&e) + 1);
    k = ferry_my_encode_header(&e, out);
    out[k] = '\0';
    CHECK_STREQ(out, "id\ta,b\tq\"x\n");
    free(out);
    ferry_my_encoder_release(&e);
}

static void test_tsv_escapes(void)
{
    ferry_my_class classes[3] = {0, 0, 0};
    char *values[3] = {"a\tb\nc\rd\\e\bf\fg\vh", NULL, ""};
    unsigned long lengths[3] = {15, 0, 0};
    char *got = encode1(FERRY_FORMAT_TSV, NULL, classes, 3, values, lengths);
    CHECK_STREQ(got, "a\\tb\\nc\\rd\\\\e\\bf\\fg\\vh\t\\N\t\n");
    free(got);
    got = encode1(FERRY_FORMAT_TSV, "NULL", classes, 3, values, lengths);
    CHECK_STREQ(got, "a\\tb\\nc\\rd\\\\e\\bf\\fg\\vh\tNULL\t\n");
    free(got);
}

static char *json1(ferry_my_class c, const char *v, unsigned long n)
{
    char *values[1] = {(char *)v};
    unsigned long lengths[1] = {n};
    return encode1(FERRY_FORMAT_JSONL, NULL, &c, 1, values, lengths);
}

#define CHECK_JSON(cls, value, len, expect)                       \
    do {                                                          \
        char *got_ = json1(cls, value, len);                      \
        CHECK_STREQ(got_, "{\"a\":" expect "}\n");                \
        free(got_);                                               \
    } while (0)

static void test_jsonl_types(void)
{
    CHECK_JSON(FERRY_MY_CLASS_NUMBER, "42", 2, "42");
    CHECK_JSON(FERRY_MY_CLASS_NUMBER, "-0.50", 5, "-0.50");
    CHECK_JSON(FERRY_MY_CLASS_NUMBER, "12345678901234567890.123456789", 30,
               "12345678901234567890.123456789");
    CHECK_JSON(FERRY_MY_CLASS_NUMBER, "1e20", 4, "1e20");
    CHECK_JSON(FERRY_MY_CLASS_NUMBER, "-1.5e-07", 8, "-1.5e-07");
    CHECK_JSON(FERRY_MY_CLASS_NUMBER, "00042", 5, "42");  /* ZEROFILL */
    CHECK_JSON(FERRY_MY_CLASS_NUMBER, "000", 3, "0");
    CHECK_JSON(FERRY_MY_CLASS_NUMBER, "inf", 3, "\"inf\""); /* not a number: a string */
    CHECK_JSON(FERRY_MY_CLASS_NUMBER, "1.", 2, "\"1.\"");
    CHECK_JSON(FERRY_MY_CLASS_NUMBER, NULL, 0, "null");
    CHECK_JSON(FERRY_MY_CLASS_TEXT, NULL, 0, "null");
    CHECK_JSON(FERRY_MY_CLASS_TEXT, "", 0, "\"\"");
    CHECK_JSON(FERRY_MY_CLASS_TEXT, "42", 2, "\"42\"");
    CHECK_JSON(FERRY_MY_CLASS_TEXT, "q\"b\\s/", 6, "\"q\\\"b\\\\s/\"");
    CHECK_JSON(FERRY_MY_CLASS_TEXT, "\n\r\t\b\f\x01\x1f\x7f", 8, "\"\\n\\r\\t\\b\\f\\u0001\\u001f\x7f\"");
    CHECK_JSON(FERRY_MY_CLASS_TEXT, "\0z", 2, "\"\\u0000z\"");
    CHECK_JSON(FERRY_MY_CLASS_TEXT, "h\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 12,
               "\"h\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
    /* invalid UTF-8: each maximal invalid subpart becomes U+FFFD */
    CHECK_JSON(FERRY_MY_CLASS_TEXT, "a\xff" "b", 3, "\"a\xef\xbf\xbd" "b\"");
    CHECK_JSON(FERRY_MY_CLASS_TEXT, "\xe2\x82" "x", 3, "\"\xef\xbf\xbdx\"");        /* truncated */
    CHECK_JSON(FERRY_MY_CLASS_TEXT, "\xc0\xaf", 2, "\"\xef\xbf\xbd\xef\xbf\xbd\""); /* overlong */
    CHECK_JSON(FERRY_MY_CLASS_TEXT, "\xed\xa0\x80", 3,
               "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"");                     /* surrogate */
    CHECK_JSON(FERRY_MY_CLASS_TEXT, "\xf4\x90\x80\x80", 4,
               "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"");         /* > U+10FFFF */
    CHECK_JSON(FERRY_MY_CLASS_TEXT, "\xf0\x9f\x98", 3, "\"\xef\xbf\xbd\"");     /* cut emoji */
    CHECK_JSON(FERRY_MY_CLASS_BINARY, "", 0, "\"\"");
    CHECK_JSON(FERRY_MY_CLASS_BINARY, "f", 1, "\"Zg==\"");
    CHECK_JSON(FERRY_MY_CLASS_BINARY, "fo", 2, "\"Zm8=\"");
    CHECK_JSON(FERRY_MY_CLASS_BINARY, "foo", 3, "\"Zm9v\"");
    CHECK_JSON(FERRY_MY_CLASS_BINARY, "foob", 4, "\"Zm9vYg==\"");
    CHECK_JSON(FERRY_MY_CLASS_BINARY, "\0\xff\xfe", 3, "\"AP/+\"");
}

static void test_jsonl_row_keys(void)
{
    const char *names[2] = {"id", "we\"ird\n"};
    ferry_my_class classes[2] = {FERRY_MY_CLASS_NUMBER, FERRY_MY_CLASS_TEXT};
    ferry_my_encoder e;
    CHECK_INTEQ(ferry_my_encoder_init(&e, FERRY_FORMAT_JSONL, names, classes, 2, NULL), 0);
    CHECK_INTEQ(ferry_my_header_bound(&e), 0);
    char *values[2] = {"7", "x"};
    unsigned long lengths[2] = {1, 1};
    char out[256];
    size_t k = ferry_my_encode_row(&e, values, lengths, out);
    out[k] = '\0';
    CHECK_STREQ(out, "{\"id\":7,\"we\\\"ird\\n\":\"x\"}\n");
    ferry_my_encoder_release(&e);
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;
static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 11);
}

/* Random hostile values: the characters that matter to the dialects. */
static size_t random_value(char *out, size_t max)
{
    static const char *const pieces[] = {
        ",", "\"", "\n", "\r", "\r\n", "\t", "\\", "\\N", "NULL", "N", "NU", " ", "a", "xyz",
        "\xc3\xa9", "\xf0\x9f\x98\x80", "\xff", "\0", "''", "\"\"", "\\.", "0", "\\t",
    };
    size_t n = 0, parts = rnd() % 6;
    for (size_t i = 0; i < parts; i++) {
        const char *p = pieces[rnd() % (sizeof pieces / sizeof pieces[0])];
        size_t len = p[0] == '\0' ? 1 : strlen(p);
        if (n + len > max)
            break;
        memcpy(out + n, p, len);
        n += len;
    }
    return n;
}

static void test_encode_bound_fuzz(void)
{
    ferry_format formats[3] = {FERRY_FORMAT_CSV, FERRY_FORMAT_TSV, FERRY_FORMAT_JSONL};
    ferry_my_class classes[4] = {FERRY_MY_CLASS_TEXT, FERRY_MY_CLASS_NUMBER, FERRY_MY_CLASS_BINARY,
                                 FERRY_MY_CLASS_TEXT};
    const char *names[4] = {"a", "b", "c", "d"};
    for (int f = 0; f < 3; f++) {
        ferry_my_encoder e;
        CHECK_INTEQ(ferry_my_encoder_init(&e, formats[f], names, classes, 4, f == 1 ? "NULL" : NULL), 0);
        for (int iter = 0; iter < 5000; iter++) {
            char store[4][64];
            char *values[4];
            unsigned long lengths[4];
            for (int c = 0; c < 4; c++) {
                lengths[c] = (unsigned long)random_value(store[c], sizeof store[c]);
                values[c] = rnd() % 5 == 0 ? NULL : store[c];
            }
            size_t bound = ferry_my_encode_bound(&e, values, lengths);
            char *out = malloc(bound);
            size_t k = ferry_my_encode_row(&e, values, lengths, out);
            CHECK(k <= bound);
            free(out);
        }
        ferry_my_encoder_release(&e);
    }
}

/* ---- the LOAD DATA dialect --------------------------------------------- */

static char *convert(ferry_format f, int header, const char *null_string, const char *in,
                     size_t len, size_t chunk, int *rc_out)
{
    bytes out = {0};
    bytes_add(&out, "", 0);
    ferry_my_dialect *d = malloc(sizeof *d);
    ferry_my_dialect_init(d, f, header, null_string, collect, &out);
    int rc = 0;
    for (size_t off = 0; rc == 0 && off < len; off += chunk)
        rc = ferry_my_dialect_feed(d, in + off, len - off < chunk ? len - off : chunk);
    if (rc == 0)
        rc = ferry_my_dialect_finish(d);
    if (rc_out)
        *rc_out = rc;
    ferry_my_dialect_release(d);
    free(d);
    return out.data;
}

#define CHECK_CONV(fmt, nullstr, in, expect)                                              \
    do {                                                                                  \
        char *got_ = convert(fmt, 0, nullstr, in, strlen(in), 1 << 20, NULL);             \
        CHECK_STREQ(got_, expect);                                                        \
        free(got_);                                                                       \
    } while (0)

static void test_dialect_csv(void)
{
    CHECK_CONV(FERRY_FORMAT_CSV, NULL, "1,,\"\",NULL,\"NULL\",\\N\n", "1,NULL,\"\",\"NULL\",\"NULL\",\\N\n");
    CHECK_CONV(FERRY_FORMAT_CSV, NULL, "a,\"b,c\",\"d\"\"e\",\"f\ng\"\n", "a,\"b,c\",\"d\"\"e\",\"f\ng\"\n");
    CHECK_CONV(FERRY_FORMAT_CSV, NULL, ",\n", "NULL,NULL\n");
    CHECK_CONV(FERRY_FORMAT_CSV, NULL, "\n", "NULL\n");
    CHECK_CONV(FERRY_FORMAT_CSV, NULL, "NU,NULLX,xNULL,NUL\n", "NU,NULLX,xNULL,NUL\n");
    CHECK_CONV(FERRY_FORMAT_CSV, NULL, "a,b\r\nc,\r\n", "a,b\nc,NULL\n");       /* CRLF */
    CHECK_CONV(FERRY_FORMAT_CSV, NULL, "\"a\"\r\n", "\"a\"\n");
    CHECK_CONV(FERRY_FORMAT_CSV, NULL, "a\rb,c\n", "a\rb,c\n");                 /* lone CR is data */
    CHECK_CONV(FERRY_FORMAT_CSV, NULL, "a,b", "a,b\n");                         /* no final LF */
    CHECK_CONV(FERRY_FORMAT_CSV, NULL, "x,", "x,NULL\n");
    CHECK_CONV(FERRY_FORMAT_CSV, NULL, "", "");
    CHECK_CONV(FERRY_FORMAT_CSV, NULL, "\"a\"b,c\n", "\"a\"b,c\n");             /* garbage passes */
    /* with a NULL text: only that text is NULL, the empty field is '' */
    CHECK_CONV(FERRY_FORMAT_CSV, "\\N", "\\N,,\"\\N\",NULL\n", "NULL,\"\",\"\\N\",\"NULL\"\n");
    CHECK_CONV(FERRY_FORMAT_CSV, "NULL", "NULL,,\"NULL\"\n", "NULL,\"\",\"NULL\"\n");
    int rc = 0;
    char *got = convert(FERRY_FORMAT_CSV, 0, NULL, "a,\"open", 7, 100, &rc);
    CHECK_INTEQ(rc, -2);
    free(got);
}

static void test_dialect_tsv(void)
{
    CHECK_CONV(FERRY_FORMAT_TSV, NULL, "1\t\\N\t\tNULL\ta\"b\n", "\"1\",NULL,\"\",\"NULL\",\"a\"\"b\"\n");
    CHECK_CONV(FERRY_FORMAT_TSV, NULL, "\\t\\n\\r\\\\\\b\\f\\v\\N2\\x41\\101\\7z\\xq\\q\n",
               "\"\t\n\r\\\b\f\vN2AA\az" "xqq\"\n");
    CHECK_CONV(FERRY_FORMAT_TSV, NULL, "a,b\t\\\\N\n", "\"a,b\",\"\\N\"\n");
    CHECK_CONV(FERRY_FORMAT_TSV, NULL, "x\r\n\\N\r\n", "\"x\"\nNULL\n");
    CHECK_CONV(FERRY_FORMAT_TSV, "NULL", "NULL\t\\N\t\n", "NULL,\"N\",\"\"\n");
}

static void test_dialect_header(void)
{
    const char *in = "id,\"we\"\"ird, name\",NULL\n1,2,3\n";
    bytes out = {0};
    ferry_my_dialect *d = malloc(sizeof *d);
    ferry_my_dialect_init(d, FERRY_FORMAT_CSV, 1, NULL, collect, &out);
    for (size_t i = 0; i < strlen(in); i++)
        CHECK_INTEQ(ferry_my_dialect_feed(d, in + i, 1), 0);
    CHECK_INTEQ(ferry_my_dialect_finish(d), 0);
    CHECK_STREQ(out.data, "1,2,3\n");
    CHECK_INTEQ(d->records, 1);
    char **names = NULL;
    size_t n = 0;
    CHECK_INTEQ(ferry_my_dialect_header(d, &names, &n), 0);
    CHECK_INTEQ(n, 3);
    if (n == 3) {
        CHECK_STREQ(names[0], "id");
        CHECK_STREQ(names[1], "we\"ird, name");
        CHECK_STREQ(names[2], "NULL");
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    ferry_my_dialect_release(d);
    free(d);
    free(out.data);

    /* TSV header, and a header that never ends */
    char *got = convert(FERRY_FORMAT_TSV, 1, NULL, "a\tb\n1\t2\n", 8, 3, NULL);
    CHECK_STREQ(got, "\"1\",\"2\"\n");
    free(got);
}

/* A reader of the LOAD DATA dialect as the server reads it: NULL unquoted is
 * SQL NULL, "..." with "" inside is a value, anything else is its text. */
typedef struct field {
    int is_null;
    char *v;
    size_t n;
} field;

static size_t read_load_dialect(const char *s, size_t len, field *fields, size_t max)
{
    size_t count = 0, i = 0;
    while (i < len && count < max) {
        field *f = &fields[count++];
        f->is_null = 0;
        f->v = malloc(len + 1);
        f->n = 0;
        if (s[i] == '"') {
            i++;
            while (i < len) {
                if (s[i] == '"' && i + 1 < len && s[i + 1] == '"') {
                    f->v[f->n++] = '"';
                    i += 2;
                } else if (s[i] == '"') {
                    i++;
                    break;
                } else {
                    f->v[f->n++] = s[i++];
                }
            }
        } else {
            while (i < len && s[i] != ',' && s[i] != '\n')
                f->v[f->n++] = s[i++];
            f->is_null = f->n == 4 && memcmp(f->v, "NULL", 4) == 0;
        }
        if (i < len)
            i++; /* ',' or '\n' */
    }
    return count;
}

/* ferry CSV/TSV (from the encoder) -> converter (random chunks) -> reader:
 * every value and every NULL comes back exactly. */
static void round_trip(ferry_format f, const char *null_string)
{
    enum { COLS = 5, ROWS = 400 };
    static char store[ROWS][COLS][64];
    static char *values[ROWS][COLS];
    static unsigned long lengths[ROWS][COLS];
    const char *names[COLS] = {"a", "b", "c", "d", "e"};
    ferry_my_class classes[COLS] = {0, 0, 0, 0, 0};
    ferry_my_encoder e;
    CHECK_INTEQ(ferry_my_encoder_init(&e, f, names, classes, COLS, null_string), 0);
    bytes encoded = {0};
    for (int r = 0; r < ROWS; r++) {
        for (int c = 0; c < COLS; c++) {
            lengths[r][c] = (unsigned long)random_value(store[r][c], sizeof store[r][c]);
            values[r][c] = rnd() % 6 == 0 ? NULL : store[r][c];
            if (f == FERRY_FORMAT_TSV && values[r][c]) {
                /* raw CR / NUL are escaped or kept; TSV cannot hold the null text itself */
                if (null_string && lengths[r][c] == strlen(null_string) &&
                    memcmp(values[r][c], null_string, lengths[r][c]) == 0)
                    lengths[r][c] = 0;
            }
        }
        size_t bound = ferry_my_encode_bound(&e, values[r], lengths[r]);
        char *row = malloc(bound);
        size_t k = ferry_my_encode_row(&e, values[r], lengths[r], row);
        bytes_add(&encoded, row, k);
        free(row);
    }
    ferry_my_encoder_release(&e);

    bytes out = {0};
    ferry_my_dialect *d = malloc(sizeof *d);
    ferry_my_dialect_init(d, f, 0, null_string, collect, &out);
    for (size_t off = 0; off < encoded.len;) {
        size_t n = 1 + rnd() % 97;
        if (n > encoded.len - off)
            n = encoded.len - off;
        CHECK_INTEQ(ferry_my_dialect_feed(d, encoded.data + off, n), 0);
        off += n;
    }
    CHECK_INTEQ(ferry_my_dialect_finish(d), 0);
    CHECK_INTEQ(d->records, ROWS);
    ferry_my_dialect_release(d);
    free(d);

    static field fields[ROWS * COLS + 1];
    size_t got = read_load_dialect(out.data, out.len, fields, ROWS * COLS + 1);
    CHECK_INTEQ(got, ROWS * COLS);
    int bad = 0;
    for (size_t i = 0; i < got && i < ROWS * COLS; i++) {
        int r = (int)(i / COLS), c = (int)(i % COLS);
        int want_null = values[r][c] == NULL;
        if (fields[i].is_null != want_null ||
            (!want_null && (fields[i].n != lengths[r][c] ||
                            memcmp(fields[i].v, values[r][c], lengths[r][c]) != 0))) {
            if (bad++ < 3)
                fprintf(stderr, "  mismatch at row %d col %d (null %d/%d, len %zu/%lu)\n", r, c,
                        fields[i].is_null, want_null, fields[i].n, lengths[r][c]);
        }
    }
    CHECK_INTEQ(bad, 0);
    for (size_t i = 0; i < got; i++)
        free(fields[i].v);
    free(encoded.data);
    free(out.data);
}

static void test_dialect_round_trip(void)
{
    for (int i = 0; i < 10; i++) {
        round_trip(FERRY_FORMAT_CSV, NULL);
        round_trip(FERRY_FORMAT_CSV, "\\N");
        round_trip(FERRY_FORMAT_TSV, NULL);
        round_trip(FERRY_FORMAT_TSV, "NULL");
    }
}

/* The same output whatever the chunk sizes. */
static void test_dialect_chunking(void)
{
    const char *in = "id,v\r\n1,\"a,\"\"b\"\"\r\nc\"\r\n2,\r\n3,NULL\r\n4,\"\"\r\n5,NUL\r\n";
    char *whole = convert(FERRY_FORMAT_CSV, 1, NULL, in, strlen(in), 1 << 20, NULL);
    for (size_t chunk = 1; chunk < strlen(in); chunk++) {
        char *got = convert(FERRY_FORMAT_CSV, 1, NULL, in, strlen(in), chunk, NULL);
        CHECK_STREQ(got, whole);
        free(got);
    }
    CHECK_STREQ(whole, "1,\"a,\"\"b\"\"\r\nc\"\n2,NULL\n3,\"NULL\"\n4,\"\"\n5,NUL\n");
    free(whole);
    const char *tsv = "a\tb\n\\x4\\1012\t\\N\n\\\\N\t\\\n";
    whole = convert(FERRY_FORMAT_TSV, 1, NULL, tsv, strlen(tsv), 1 << 20, NULL);
    for (size_t chunk = 1; chunk < strlen(tsv); chunk++) {
        char *got = convert(FERRY_FORMAT_TSV, 1, NULL, tsv, strlen(tsv), chunk, NULL);
        CHECK_STREQ(got, whole);
        free(got);
    }
    /* a backslash escapes the LF after it, at the start of a field too */
    CHECK_STREQ(whole, "\"\x04" "A2\",NULL\n\"\\N\",\"\n\"\n");
    free(whole);
    /* fuzz finding: "\<TAB>", "\<LF>", "\<CR>" opening a field are that byte,
     * as in the middle of a field; a lone backslash at the end stays */
    const char *esc = "x\t\\\ty\t\\\n\t\\\rz\tq\\\tr\t\\";
    whole = convert(FERRY_FORMAT_TSV, 0, NULL, esc, strlen(esc), 1 << 20, NULL);
    for (size_t chunk = 1; chunk < strlen(esc); chunk++) {
        char *got = convert(FERRY_FORMAT_TSV, 0, NULL, esc, strlen(esc), chunk, NULL);
        CHECK_STREQ(got, whole);
        free(got);
    }
    CHECK_STREQ(whole, "\"x\",\"\ty\",\"\n\",\"\rz\",\"q\tr\",\"\\\"\n");
    free(whole);
}

/* ---- names, types, errors -------------------------------------------------- */

static void test_table_names(void)
{
    ferry_my_table t;
    ferry_error err;
    CHECK_INTEQ(ferry_my_table_parse("orders", "c", &t, &err), FERRY_OK);
    CHECK(t.schema == NULL);
    CHECK_STREQ(t.name, "orders");
    char *sql = ferry_my_table_sql(&t);
    CHECK_STREQ(sql, "`orders`");
    free(sql);
    ferry_my_table_release(&t);
    CHECK_INTEQ(ferry_my_table_parse("Shop.Orders", "c", &t, &err), FERRY_OK);
    CHECK_STREQ(t.schema, "Shop");
    CHECK_STREQ(t.name, "Orders");
    ferry_my_table_release(&t);
    CHECK_INTEQ(ferry_my_table_parse("`my db`.`odd``name.x`", "c", &t, &err), FERRY_OK);
    CHECK_STREQ(t.schema, "my db");
    CHECK_STREQ(t.name, "odd`name.x");
    sql = ferry_my_table_sql(&t);
    CHECK_STREQ(sql, "`my db`.`odd``name.x`");
    free(sql);
    ferry_my_table stage;
    CHECK_INTEQ(ferry_my_table_sibling(&t, "__ferry_stage_", &stage), 0);
    CHECK(strncmp(stage.name, "odd`name.x__ferry_stage_", 24) == 0 && strlen(stage.name) == 32);
    CHECK_STREQ(stage.schema, "my db");
    ferry_my_table_release(&stage);
    ferry_my_table_release(&t);
    /* long names are cut to fit 64 characters, never inside a UTF-8 character */
    CHECK_INTEQ(ferry_my_table_parse("a\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
                                     "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
                                     "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
                                     "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9",
                                     "c", &t, &err), FERRY_OK);
    CHECK_INTEQ(ferry_my_table_sibling(&t, "__ferry_stage_", &stage), 0);
    CHECK(strlen(stage.name) <= 64);
    CHECK_INTEQ(strlen(stage.name), 63); /* 'a' + 20 characters, not 21 and a half */
    CHECK(strncmp(stage.name + 41, "__ferry_stage_", 14) == 0);
    ferry_my_table_release(&stage);
    ferry_my_table_release(&t);
    CHECK_INTEQ(ferry_my_table_parse("a.b.c", "c", &t, &err), FERRY_ERR_USAGE);
    CHECK_INTEQ(ferry_my_table_parse("`open", "c", &t, &err), FERRY_ERR_USAGE);
    CHECK_INTEQ(ferry_my_table_parse("a.", "c", &t, &err), FERRY_ERR_USAGE);
    CHECK_INTEQ(ferry_my_table_parse("`a`b", "c", &t, &err), FERRY_ERR_USAGE);
    CHECK(strstr(err.msg, "mysql(c): bad table name") != NULL);
}

static void test_create_types(void)
{
    ferry_column cols[] = {
        {"id", FERRY_COL_INT, 0, 0, NULL},       {"big", FERRY_COL_BIGINT, 0, 0, NULL},
        {"amount", FERRY_COL_NUMERIC, 12, 2, NULL}, {"n", FERRY_COL_NUMERIC, 0, 0, NULL},
        {"f", FERRY_COL_FLOAT, 0, 0, NULL},      {"ok", FERRY_COL_BOOL, 0, 0, NULL},
        {"d", FERRY_COL_DATE, 0, 0, NULL},       {"t", FERRY_COL_TIME, 0, 0, NULL},
        {"ts", FERRY_COL_TIMESTAMP, 0, 0, NULL}, {"tz", FERRY_COL_TIMESTAMPTZ, 0, 0, NULL},
        {"b", FERRY_COL_BYTES, 0, 0, NULL},      {"j", FERRY_COL_JSON, 0, 0, NULL},
        {"we`ird", FERRY_COL_TEXT, 0, 0, NULL},  {"", FERRY_COL_TEXT, 0, 0, NULL},
    };
    char *sql = ferry_my_create_sql("`t`", cols, sizeof cols / sizeof cols[0]);
    CHECK_STREQ(sql, "CREATE TABLE `t` (`id` INT, `big` BIGINT, `amount` DECIMAL(12,2), "
                     "`n` DECIMAL(65,30), `f` DOUBLE, `ok` BOOLEAN, `d` DATE, `t` TIME(6), "
                     "`ts` DATETIME(6), `tz` VARCHAR(64), `b` LONGBLOB, `j` JSON, "
                     "`we``ird` LONGTEXT, `column_14` LONGTEXT) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4");
    free(sql);
}

static void test_field_columns(void)
{
    MYSQL_FIELD f;
    memset(&f, 0, sizeof f);
    char native[48];
    ferry_column col;
    f.type = MYSQL_TYPE_NEWDECIMAL;
    f.length = 14;
    f.decimals = 2;
    ferry_my_field_column(&f, &col, native, sizeof native);
    CHECK_INTEQ(col.kind, FERRY_COL_NUMERIC);
    CHECK_INTEQ(col.precision, 12);
    CHECK_INTEQ(col.scale, 2);
    CHECK_STREQ(native, "decimal(12,2)");
    CHECK_INTEQ(ferry_my_field_class(&f), FERRY_MY_CLASS_NUMBER);
    f.type = MYSQL_TYPE_BLOB;
    f.charsetnr = 63;
    f.decimals = 0;
    CHECK_INTEQ(ferry_my_field_class(&f), FERRY_MY_CLASS_BINARY);
    ferry_my_field_column(&f, &col, native, sizeof native);
    CHECK_INTEQ(col.kind, FERRY_COL_BYTES);
    f.charsetnr = 45;
    CHECK_INTEQ(ferry_my_field_class(&f), FERRY_MY_CLASS_TEXT);
    f.type = MYSQL_TYPE_DATETIME;
    f.charsetnr = 63; /* temporal fields say binary too: still text */
    CHECK_INTEQ(ferry_my_field_class(&f), FERRY_MY_CLASS_TEXT);
    ferry_my_field_column(&f, &col, native, sizeof native);
    CHECK_INTEQ(col.kind, FERRY_COL_TIMESTAMP);
    f.type = MYSQL_TYPE_LONGLONG;
    f.flags = UNSIGNED_FLAG;
    ferry_my_field_column(&f, &col, native, sizeof native);
    CHECK_INTEQ(col.kind, FERRY_COL_NUMERIC);
    CHECK_STREQ(native, "bigint unsigned");
    f.type = MYSQL_TYPE_BIT;
    CHECK_INTEQ(ferry_my_field_class(&f), FERRY_MY_CLASS_BINARY);
}

static void test_error_mapping(void)
{
    int t = 0;
    CHECK_INTEQ(ferry_my_status_for_errno(ER_ACCESS_DENIED_ERROR, 1, &t), FERRY_ERR_CONNECT);
    CHECK_INTEQ(t, 0);
    CHECK_INTEQ(ferry_my_status_for_errno(CR_CONN_HOST_ERROR, 1, &t), FERRY_ERR_CONNECT);
    CHECK_INTEQ(t, 1);
    CHECK_INTEQ(ferry_my_status_for_errno(CR_CONNECTION_ERROR, 1, &t), FERRY_ERR_CONNECT);
    CHECK_INTEQ(ferry_my_status_for_errno(CR_UNKNOWN_HOST, 1, &t), FERRY_ERR_CONNECT);
    CHECK_INTEQ(ferry_my_status_for_errno(ER_BAD_DB_ERROR, 1, &t), FERRY_ERR_NOT_FOUND);
    CHECK_INTEQ(ferry_my_status_for_errno(ER_NO_SUCH_TABLE, 0, &t), FERRY_ERR_NOT_FOUND);
    CHECK_INTEQ(ferry_my_status_for_errno(ER_BAD_FIELD_ERROR, 0, &t), FERRY_ERR_NOT_FOUND);
    CHECK_INTEQ(ferry_my_status_for_errno(ER_PARSE_ERROR, 0, &t), FERRY_ERR_DATA);
    /* a session lost mid-stream: a broken exchange (exit 8), never a short file */
    CHECK_INTEQ(ferry_my_status_for_errno(CR_SERVER_LOST, 0, &t), FERRY_ERR_TRANSIENT);
    CHECK_INTEQ(ferry_my_status_for_errno(CR_SERVER_GONE_ERROR, 0, &t), FERRY_ERR_TRANSIENT);
    CHECK_INTEQ(ferry_my_status_for_errno(CR_SERVER_LOST, 1, &t), FERRY_ERR_CONNECT);
    CHECK_INTEQ(t, 1);
    CHECK_INTEQ(ferry_my_status_for_errno(ER_QUERY_INTERRUPTED, 0, &t), FERRY_ERR_DATA);
}

/* ---- the ring ------------------------------------------------------------------ */

static void *ring_reader(void *arg)
{
    ferry_my_ring *r = arg;
    uint64_t sum = 0, count = 0;
    char buf[777];
    long n;
    while ((n = ferry_my_ring_pop(r, buf, sizeof buf)) > 0) {
        for (long i = 0; i < n; i++)
            sum = sum * 31 + (unsigned char)buf[i];
        count += (uint64_t)n;
    }
    uint64_t *res = malloc(2 * sizeof *res);
    res[0] = sum;
    res[1] = count;
    return res;
}

static void test_ring(void)
{
    ferry_my_ring r;
    CHECK_INTEQ(ferry_my_ring_init(&r, 4096), 0);
    pthread_t th;
    pthread_create(&th, NULL, ring_reader, &r);
    uint64_t sum = 0, count = 0;
    char chunk[10007];
    for (int round = 0; round < 200; round++) {
        size_t n = 1 + rnd() % sizeof chunk;
        for (size_t i = 0; i < n; i++) {
            chunk[i] = (char)rnd();
            sum = sum * 31 + (unsigned char)chunk[i];
        }
        count += n;
        CHECK_INTEQ(ferry_my_ring_push(&r, chunk, n, 10), 0);
    }
    ferry_my_ring_finish(&r);
    uint64_t *res = NULL;
    pthread_join(th, (void **)&res);
    CHECK(res && res[0] == sum && res[1] == count);
    free(res);
    /* a reader that is gone makes pushes fail instead of blocking */
    ferry_my_ring_close(&r);
    CHECK_INTEQ(ferry_my_ring_push(&r, chunk, sizeof chunk, 10), -1);
    ferry_my_ring_release(&r);
    /* a full ring nobody reads times out */
    CHECK_INTEQ(ferry_my_ring_init(&r, 16), 0);
    CHECK_INTEQ(ferry_my_ring_push(&r, chunk, 64, 0.3), -3);
    ferry_my_ring_abort(&r);
    CHECK_INTEQ(ferry_my_ring_pop(&r, chunk, 8), -1);
    ferry_my_ring_release(&r);
}

int main(void)
{
    RUN(test_csv_quoting);
    RUN(test_csv_binary_and_row);
    RUN(test_csv_header);
    RUN(test_tsv_escapes);
    RUN(test_jsonl_types);
    RUN(test_jsonl_row_keys);
    RUN(test_encode_bound_fuzz);
    RUN(test_dialect_csv);
    RUN(test_dialect_tsv);
    RUN(test_dialect_header);
    RUN(test_dialect_round_trip);
    RUN(test_dialect_chunking);
    RUN(test_table_names);
    RUN(test_create_types);
    RUN(test_field_columns);
    RUN(test_error_mapping);
    RUN(test_ring);
    return check_summary();
}
