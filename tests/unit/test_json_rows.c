/*
 * test_json_rows.c - the JSON rows of `ferry exec --json` (core/json_rows.c)
 * without a server: the array layout, NULL vs '', escaping (quotes,
 * backslashes, control bytes, NUL inside a value), untyped values always
 * strings, typed numbers/booleans (and the texts that stay strings: NaN,
 * Infinity, "1."), no column and no row, rows past the 64 KiB flush; every
 * output parses with jansson.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "check.h"
#include "core/json_rows.h"
#include "ferry/transfer.h"

/* Run rows (nrows x ncols values, NULL = SQL NULL) through the writer; the
 * output, malloc'd and NUL-terminated. */
static char *render(int typed, const char *const *names, const ferry_column_kind *kinds, size_t ncols,
                    const char *const *values, size_t nrows)
{
    ferry_error err;
    ferry_error_clear(&err);
    ferry_writer *w = NULL;
    CHECK(ferry_memory_writer_new(1 << 24, &w, &err) == FERRY_OK);
    ferry_json_rows r;
    CHECK(ferry_json_rows_init(&r, w, typed, names, kinds, ncols) == 0);
    for (size_t i = 0; i < nrows; i++) {
        for (size_t c = 0; c < ncols; c++) {
            const char *v = values[i * ncols + c];
            CHECK(ferry_json_rows_value(&r, c, v, v ? strlen(v) : 0) == 0);
        }
        CHECK(ferry_json_rows_end_row(&r, &err) == FERRY_OK);
    }
    CHECK(ferry_json_rows_finish(&r, &err) == FERRY_OK);
    ferry_json_rows_release(&r);
    size_t len = 0;
    const char *data = ferry_memory_writer_data(w, &len);
    char *out = malloc(len + 1);
    memcpy(out, data, len);
    out[len] = '\0';
    w->ops->free(w);
    json_error_t je;
    json_t *j = json_loads(out, 0, &je);
    if (!j)
        fprintf(stderr, "  not JSON (%s): %s\n", je.text, out);
    CHECK(j != NULL);
    json_decref(j);
    return out;
}

static void test_strings(void)
{
    const char *names[] = {"a", "b", "c", "d"};
    const ferry_column_kind kinds[] = {FERRY_COL_INT, FERRY_COL_TEXT, FERRY_COL_TEXT, FERRY_COL_TEXT};
    const char *values[] = {"1", NULL, "x,\"y", "", "2", "q\\\n\t\r\x01", "\xf0\x9f\x98\x80", "NULL"};
    char *out = render(0, names, kinds, 4, values, 2);
    /* what cmd_exec.c printed from the CSV before, byte for byte */
    CHECK_STREQ(out, "[{\"a\":\"1\",\"b\":null,\"c\":\"x,\\\"y\",\"d\":\"\"},"
                     "{\"a\":\"2\",\"b\":\"q\\\\\\n\\t\\r\\u0001\",\"c\":\"\xf0\x9f\x98\x80\",\"d\":\"NULL\"}]\n");
    free(out);
    /* names are escaped too */
    const char *odd[] = {"f \"g\""};
    const char *one[] = {"v"};
    out = render(0, odd, NULL, 1, one, 1);
    CHECK_STREQ(out, "[{\"f \\\"g\\\"\":\"v\"}]\n");
    free(out);
}

static void test_typed(void)
{
    const char *names[] = {"i", "n", "f", "b", "t"};
    const ferry_column_kind kinds[] = {FERRY_COL_BIGINT, FERRY_COL_NUMERIC, FERRY_COL_FLOAT, FERRY_COL_BOOL,
                                       FERRY_COL_TEXT};
    const char *values[] = {"-42", "12.50", "1e+300", "t", "7",
                            "0", "NaN", "Infinity", "f", "x",
                            NULL, "-0.5E-3", "-Infinity", "1", NULL,
                            "9223372036854775807", "1.", ".5", "maybe", "true"};
    char *out = render(1, names, kinds, 5, values, 4);
    CHECK_STREQ(out, "[{\"i\":-42,\"n\":12.50,\"f\":1e+300,\"b\":true,\"t\":\"7\"},"
                     "{\"i\":0,\"n\":\"NaN\",\"f\":\"Infinity\",\"b\":false,\"t\":\"x\"},"
                     "{\"i\":null,\"n\":-0.5E-3,\"f\":\"-Infinity\",\"b\":true,\"t\":null},"
                     "{\"i\":9223372036854775807,\"n\":\"1.\",\"f\":\".5\",\"b\":\"maybe\",\"t\":\"true\"}]\n");
    free(out);
}

static void test_empty(void)
{
    const char *names[] = {"a"};
    char *out = render(0, names, NULL, 1, NULL, 0);
    CHECK_STREQ(out, "[]\n");
    free(out);
    out = render(1, NULL, NULL, 0, NULL, 0); /* a statement without a result */
    CHECK_STREQ(out, "[]\n");
    free(out);
    out = render(1, NULL, NULL, 0, NULL, 2); /* rows without columns */
    CHECK_STREQ(out, "[{},{}]\n");
    free(out);
}

static void test_nul_and_many(void)
{
    /* a NUL inside a value is kept (the CSV re-parse cut the value there) */
    ferry_error err;
    ferry_error_clear(&err);
    ferry_writer *w = NULL;
    CHECK(ferry_memory_writer_new(1 << 24, &w, &err) == FERRY_OK);
    const char *names[] = {"bin"};
    ferry_json_rows r;
    CHECK(ferry_json_rows_init(&r, w, 0, names, NULL, 1) == 0);
    CHECK(ferry_json_rows_value(&r, 0, "a\0b", 3) == 0);
    CHECK(ferry_json_rows_value(&r, 1, "x", 1) == -1); /* no such column */
    CHECK(ferry_json_rows_end_row(&r, &err) == FERRY_OK);
    /* enough rows to flush several times */
    for (int i = 0; i < 20000; i++) {
        CHECK(ferry_json_rows_value(&r, 0, "0123456789", 10) == 0);
        CHECK(ferry_json_rows_end_row(&r, &err) == FERRY_OK);
    }
    CHECK(ferry_json_rows_finish(&r, &err) == FERRY_OK);
    ferry_json_rows_release(&r);
    size_t len = 0;
    const char *data = ferry_memory_writer_data(w, &len);
    {
        const char *head = "[{\"bin\":\"a\\u0000b\"},{\"bin\":\"0123456789\"}";
        CHECK(len > strlen(head) && memcmp(data, head, strlen(head)) == 0);
    }
    json_error_t je;
    json_t *j = json_loadb(data, len, JSON_ALLOW_NUL, &je);
    CHECK_INTEQ(json_array_size(j), 20001);
    json_decref(j);
    w->ops->free(w);
}

static void test_is_number(void)
{
    static const char *yes[] = {"0", "-0", "1", "-12", "1.5", "0.0", "1e5", "1E+5", "-2.5e-10", "123456789012345678901234"};
    static const char *no[] = {"", "-", "+1", "01", "1.", ".1", "1e", "1e+", "NaN", "Infinity", " 1", "1 ", "0x10", "1,5"};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
        CHECK(ferry_json_is_number(yes[i], strlen(yes[i])));
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
        CHECK(!ferry_json_is_number(no[i], strlen(no[i])));
}

int main(void)
{
    RUN(test_strings);
    RUN(test_typed);
    RUN(test_empty);
    RUN(test_nul_and_many);
    RUN(test_is_number);
    return check_summary();
}
