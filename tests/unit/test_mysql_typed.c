/*
 * test_mysql_typed.c - the pure parts of the MySQL hook's typed rows
 * (hooks/mysql/my_typed.c), without a server: result field -> logical type
 * (the table of docs/formats.md), DECIMAL text -> unscaled value, and dates
 * -> days since 1970.  The live path is tests/integration/parquet_mysql.sh.
 */
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "hooks/mysql/my_internal.h"

static ferry_tcolumn map(enum enum_field_types t, unsigned flags, unsigned cs, unsigned long len, unsigned dec,
                         int json, int *rc)
{
    ferry_tcolumn c;
    memset(&c, 0, sizeof c);
    *rc = ferry_my_typed_column(t, flags, cs, len, dec, json, &c);
    return c;
}

#define UTF8MB4 45
#define BIN 63

static void test_integers(void)
{
    int rc;
    CHECK_INTEQ(map(MYSQL_TYPE_TINY, 0, BIN, 4, 0, 0, &rc).type, FERRY_T_INT8);
    CHECK_INTEQ(rc, 0);
    CHECK_INTEQ(map(MYSQL_TYPE_TINY, UNSIGNED_FLAG, BIN, 3, 0, 0, &rc).type, FERRY_T_UINT8);
    CHECK_INTEQ(map(MYSQL_TYPE_SHORT, 0, BIN, 6, 0, 0, &rc).type, FERRY_T_INT16);
    CHECK_INTEQ(map(MYSQL_TYPE_SHORT, UNSIGNED_FLAG, BIN, 5, 0, 0, &rc).type, FERRY_T_UINT16);
    CHECK_INTEQ(map(MYSQL_TYPE_INT24, 0, BIN, 9, 0, 0, &rc).type, FERRY_T_INT32);
    CHECK_INTEQ(map(MYSQL_TYPE_INT24, UNSIGNED_FLAG, BIN, 8, 0, 0, &rc).type, FERRY_T_UINT32);
    CHECK_INTEQ(map(MYSQL_TYPE_LONG, 0, BIN, 11, 0, 0, &rc).type, FERRY_T_INT32);
    CHECK_INTEQ(map(MYSQL_TYPE_LONG, UNSIGNED_FLAG, BIN, 10, 0, 0, &rc).type, FERRY_T_UINT32);
    CHECK_INTEQ(map(MYSQL_TYPE_LONGLONG, 0, BIN, 20, 0, 0, &rc).type, FERRY_T_INT64);
    CHECK_INTEQ(map(MYSQL_TYPE_LONGLONG, UNSIGNED_FLAG, BIN, 20, 0, 0, &rc).type, FERRY_T_UINT64);
    CHECK_INTEQ(map(MYSQL_TYPE_YEAR, UNSIGNED_FLAG | ZEROFILL_FLAG, BIN, 4, 0, 0, &rc).type, FERRY_T_INT16);
    CHECK_INTEQ(map(MYSQL_TYPE_LONG, NOT_NULL_FLAG, BIN, 11, 0, 0, &rc).nullable, 0);
    CHECK_INTEQ(map(MYSQL_TYPE_LONG, 0, BIN, 11, 0, 0, &rc).nullable, 1);
    /* BIT(n): BOOLEAN for BIT(1), else the narrowest unsigned integer */
    CHECK_INTEQ(map(MYSQL_TYPE_BIT, UNSIGNED_FLAG, BIN, 1, 0, 0, &rc).type, FERRY_T_BOOL);
    CHECK_INTEQ(map(MYSQL_TYPE_BIT, UNSIGNED_FLAG, BIN, 8, 0, 0, &rc).type, FERRY_T_UINT8);
    CHECK_INTEQ(map(MYSQL_TYPE_BIT, UNSIGNED_FLAG, BIN, 12, 0, 0, &rc).type, FERRY_T_UINT16);
    CHECK_INTEQ(map(MYSQL_TYPE_BIT, UNSIGNED_FLAG, BIN, 32, 0, 0, &rc).type, FERRY_T_UINT32);
    CHECK_INTEQ(map(MYSQL_TYPE_BIT, UNSIGNED_FLAG, BIN, 64, 0, 0, &rc).type, FERRY_T_UINT64);
}

static void test_decimal_and_float(void)
{
    int rc;
    ferry_tcolumn c = map(MYSQL_TYPE_NEWDECIMAL, 0, BIN, 12, 2, 0, &rc); /* DECIMAL(10,2): 10 + point + sign */
    CHECK_INTEQ(c.type, FERRY_T_DECIMAL);
    CHECK_INTEQ(c.precision, 10);
    CHECK_INTEQ(c.scale, 2);
    c = map(MYSQL_TYPE_NEWDECIMAL, UNSIGNED_FLAG, BIN, 11, 2, 0, &rc); /* DECIMAL(10,2) UNSIGNED */
    CHECK_INTEQ(c.precision, 10);
    c = map(MYSQL_TYPE_NEWDECIMAL, 0, BIN, 21, 0, 0, &rc); /* DECIMAL(20,0): no point */
    CHECK_INTEQ(c.precision, 20);
    CHECK_INTEQ(c.scale, 0);
    c = map(MYSQL_TYPE_NEWDECIMAL, 0, BIN, 40, 10, 0, &rc); /* DECIMAL(38,10) */
    CHECK_INTEQ(c.type, FERRY_T_DECIMAL);
    CHECK_INTEQ(c.precision, 38);
    c = map(MYSQL_TYPE_NEWDECIMAL, 0, BIN, 41, 10, 0, &rc); /* DECIMAL(39,10): exact text */
    CHECK_INTEQ(c.type, FERRY_T_DECIMAL_TEXT);
    c = map(MYSQL_TYPE_NEWDECIMAL, 0, BIN, 67, 30, 0, &rc); /* DECIMAL(65,30) */
    CHECK_INTEQ(c.type, FERRY_T_DECIMAL_TEXT);
    CHECK_INTEQ(rc, 0);
    CHECK_INTEQ(map(MYSQL_TYPE_FLOAT, 0, BIN, 12, 31, 0, &rc).type, FERRY_T_FLOAT);
    CHECK_INTEQ(map(MYSQL_TYPE_DOUBLE, 0, BIN, 22, 31, 0, &rc).type, FERRY_T_DOUBLE);
}

static void test_temporal(void)
{
    int rc;
    CHECK_INTEQ(map(MYSQL_TYPE_DATE, BINARY_FLAG, BIN, 10, 0, 0, &rc).type, FERRY_T_DATE);
    CHECK_INTEQ(map(MYSQL_TYPE_TIME, BINARY_FLAG, BIN, 17, 6, 0, &rc).type, FERRY_T_TIME_US);
    ferry_tcolumn c = map(MYSQL_TYPE_DATETIME, BINARY_FLAG, BIN, 26, 6, 0, &rc);
    CHECK_INTEQ(c.type, FERRY_T_TIMESTAMP_US);
    CHECK_INTEQ(c.utc, 0); /* DATETIME: a wall-clock time */
    c = map(MYSQL_TYPE_TIMESTAMP, BINARY_FLAG, BIN, 26, 6, 0, &rc);
    CHECK_INTEQ(c.type, FERRY_T_TIMESTAMP_US);
    CHECK_INTEQ(c.utc, 1); /* TIMESTAMP: an instant */
}

static void test_strings(void)
{
    int rc;
    CHECK_INTEQ(map(MYSQL_TYPE_VAR_STRING, 0, UTF8MB4, 48, 0, 0, &rc).type, FERRY_T_STRING);
    CHECK_INTEQ(map(MYSQL_TYPE_VAR_STRING, BINARY_FLAG, BIN, 12, 0, 0, &rc).type, FERRY_T_BYTES);
    CHECK_INTEQ(map(MYSQL_TYPE_STRING, BINARY_FLAG, BIN, 4, 0, 0, &rc).type, FERRY_T_BYTES);
    CHECK_INTEQ(map(MYSQL_TYPE_BLOB, BLOB_FLAG, UTF8MB4, 262140, 0, 0, &rc).type, FERRY_T_STRING);
    CHECK_INTEQ(map(MYSQL_TYPE_BLOB, BLOB_FLAG | BINARY_FLAG, BIN, 65535, 0, 0, &rc).type, FERRY_T_BYTES);
    CHECK_INTEQ(map(MYSQL_TYPE_STRING, ENUM_FLAG, UTF8MB4, 4, 0, 0, &rc).type, FERRY_T_STRING);
    CHECK_INTEQ(map(MYSQL_TYPE_STRING, SET_FLAG, UTF8MB4, 12, 0, 0, &rc).type, FERRY_T_STRING);
    /* an ENUM of a binary table still holds its labels */
    CHECK_INTEQ(map(MYSQL_TYPE_STRING, ENUM_FLAG, BIN, 4, 0, 0, &rc).type, FERRY_T_STRING);
    CHECK_INTEQ(map(MYSQL_TYPE_BLOB, BLOB_FLAG, UTF8MB4, 4294967295ul, 0, 1, &rc).type, FERRY_T_JSON);
    CHECK_INTEQ(map(MYSQL_TYPE_JSON, BLOB_FLAG, BIN, 4294967295ul, 0, 0, &rc).type, FERRY_T_JSON);
    CHECK_INTEQ(map(MYSQL_TYPE_NULL, 0, BIN, 0, 0, 0, &rc).type, FERRY_T_STRING);
    CHECK_INTEQ(rc, 0);
    /* no exact parquet type: refused */
    map(MYSQL_TYPE_GEOMETRY, BLOB_FLAG | BINARY_FLAG, BIN, 4294967295ul, 0, 0, &rc);
    CHECK_INTEQ(rc, -1);
}

static int dec(const char *s, int p, int sc, __int128 *v)
{
    return ferry_my_decimal_unscaled(s, strlen(s), p, sc, v);
}

static void test_decimal_text(void)
{
    __int128 v = 0;
    CHECK_INTEQ(dec("-12345678.90", 10, 2, &v), 0);
    CHECK(v == -1234567890);
    CHECK_INTEQ(dec("0.05", 5, 2, &v), 0);
    CHECK(v == 5);
    CHECK_INTEQ(dec("7", 5, 2, &v), 0);
    CHECK(v == 700);
    CHECK_INTEQ(dec("1.5", 5, 3, &v), 0);
    CHECK(v == 1500);
    CHECK_INTEQ(dec("-0.00", 5, 2, &v), 0);
    CHECK(v == 0);
    CHECK_INTEQ(dec("1.230", 5, 2, &v), 0); /* a trailing zero beyond the scale is the same value */
    CHECK(v == 123);
    /* DECIMAL(38,10) at its limits */
    __int128 max38 = 0;
    for (int i = 0; i < 38; i++)
        max38 = max38 * 10 + 9;
    CHECK_INTEQ(dec("9999999999999999999999999999.9999999999", 38, 10, &v), 0);
    CHECK(v == max38);
    CHECK_INTEQ(dec("-9999999999999999999999999999.9999999999", 38, 10, &v), 0);
    CHECK(v == -max38);
    /* refused: too many digits, fraction beyond the scale, malformed */
    CHECK_INTEQ(dec("99999999999999999999999999999.9999999999", 38, 10, &v), -1);
    CHECK_INTEQ(dec("1000.00", 5, 2, &v), -1);
    CHECK_INTEQ(dec("1.234", 5, 2, &v), -1);
    CHECK_INTEQ(dec("", 5, 2, &v), -1);
    CHECK_INTEQ(dec("-", 5, 2, &v), -1);
    CHECK_INTEQ(dec("1.2.3", 5, 2, &v), -1);
    CHECK_INTEQ(dec("1e5", 9, 0, &v), -1);
    CHECK_INTEQ(dec("1", 39, 0, &v), -1);
}

static void test_days(void)
{
    CHECK(ferry_my_days_from_civil(1970, 1, 1) == 0);
    CHECK(ferry_my_days_from_civil(1969, 12, 31) == -1);
    CHECK(ferry_my_days_from_civil(2000, 3, 1) == 11017);
    CHECK(ferry_my_days_from_civil(2024, 2, 29) == 19782);
    CHECK(ferry_my_days_from_civil(1000, 1, 1) == -354285);
    CHECK(ferry_my_days_from_civil(9999, 12, 31) == 2932896);
    CHECK(ferry_my_days_from_civil(1, 1, 1) == -719162);
}

int main(void)
{
    RUN(test_integers);
    RUN(test_decimal_and_float);
    RUN(test_temporal);
    RUN(test_strings);
    RUN(test_decimal_text);
    RUN(test_days);
    return check_summary();
}
