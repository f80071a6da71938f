/*
 * core/json_rows.h - internal to libferry: the rows of a SQL result as one
 * JSON array of objects, [{"col":value,...},...] and a newline, written to a
 * ferry_writer; the exec slot of the SQL hooks (hooks/postgres/pg_ops.c,
 * hooks/mysql/my_ops.c) uses it for FERRY_EXEC_JSON / FERRY_EXEC_JSON_TYPED
 * (`ferry exec --json`).
 *
 * Values: SQL NULL is null; untyped, every other value is a string; typed,
 * INT/BIGINT/NUMERIC/FLOAT columns are JSON numbers (their exact text; a
 * text that is not a JSON number such as NaN or Infinity stays a string) and
 * BOOL columns true/false.  Strings are escaped the way the CLI always did
 * (\" \\ \n \t \r, other bytes below 0x20 as \u00XX; other bytes as they
 * are).  The rows go through one reused buffer flushed at 64 KiB: no
 * allocation per row.
 */
#ifndef FERRY_CORE_JSON_ROWS_H
#define FERRY_CORE_JSON_ROWS_H

#include <stddef.h>
#include <stdint.h>

#include "ferry/error.h"
#include "ferry/stream.h"

typedef struct ferry_json_rows {
    ferry_writer *w;                /* borrowed */
    int typed;
    size_t n;                       /* columns */
    unsigned char *kinds;           /* owned: ferry_column_kind per column */
    char *keys;                     /* owned: "\"name\":" of every column, back to back */
    size_t *key_off, *key_len;      /* owned */
    char *buf;                      /* owned: reused for every row */
    size_t len, cap;
    int64_t rows;                   /* rows ended so far */
} ferry_json_rows;

/* Set up for n columns (names copied; kinds may be NULL: all text) writing
 * to w; typed as above.  Returns 0, or -1 when out of memory (r is then
 * released). */
int ferry_json_rows_init(ferry_json_rows *r, ferry_writer *w, int typed, const char *const *names,
                         const ferry_column_kind *kinds, size_t n);

/* Column col (0..n-1, in order) of the current row: n bytes at v, or SQL
 * NULL when v is NULL.  Returns 0, or -1 when out of memory. */
int ferry_json_rows_value(ferry_json_rows *r, size_t col, const char *v, size_t n);

/* End the current row (every column given); writes when 64 KiB are due. */
ferry_status ferry_json_rows_end_row(ferry_json_rows *r, ferry_error *err);

/* Close the array ("[]" when no row) and write what is left. */
ferry_status ferry_json_rows_finish(ferry_json_rows *r, ferry_error *err);

void ferry_json_rows_release(ferry_json_rows *r);

/* Nonzero when the n bytes at v are one JSON number (RFC 8259). */
int ferry_json_is_number(const char *v, size_t n);

#endif
