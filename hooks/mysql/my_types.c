/*
 * hooks/mysql/my_types.c - column types both ways: a result field's
 * ferry_column (kind, precision, native type) and JSON class, and the
 * MariaDB type CREATE TABLE uses for a ferry column kind, and the
 * conversions LOAD DATA applies on the way into a column (docs/hooks/mysql.md
 * has the tables).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "my_internal.h"

/* The binary pseudo character set: BINARY, VARBINARY, BLOB, BIT. */
#define MY_BINARY_CHARSET 63

static int is_string_type(enum enum_field_types t)
{
    switch (t) {
    case MYSQL_TYPE_STRING:
    case MYSQL_TYPE_VAR_STRING:
    case MYSQL_TYPE_VARCHAR:
    case MYSQL_TYPE_TINY_BLOB:
    case MYSQL_TYPE_MEDIUM_BLOB:
    case MYSQL_TYPE_LONG_BLOB:
    case MYSQL_TYPE_BLOB:
    case MYSQL_TYPE_GEOMETRY:
        return 1;
    default:
        return 0;
    }
}

/* MariaDB 10.5+ describes JSON columns (a LONGTEXT underneath) with the
 * extended metadata format name "json". */
int ferry_my_field_is_json(const MYSQL_FIELD *f)
{
    if (f->type == MYSQL_TYPE_JSON)
        return 1;
    MARIADB_CONST_STRING attr = {NULL, 0};
    return mariadb_field_attr(&attr, f, MARIADB_FIELD_ATTR_FORMAT_NAME) == 0 && attr.length == 4 &&
           memcmp(attr.str, "json", 4) == 0;
}

ferry_my_class ferry_my_field_class(const MYSQL_FIELD *f)
{
    switch (f->type) {
    case MYSQL_TYPE_TINY:
    case MYSQL_TYPE_SHORT:
    case MYSQL_TYPE_INT24:
    case MYSQL_TYPE_LONG:
    case MYSQL_TYPE_LONGLONG:
    case MYSQL_TYPE_YEAR:
    case MYSQL_TYPE_DECIMAL:
    case MYSQL_TYPE_NEWDECIMAL:
    case MYSQL_TYPE_FLOAT:
    case MYSQL_TYPE_DOUBLE:
        return FERRY_MY_CLASS_NUMBER;
    case MYSQL_TYPE_BIT:
        return FERRY_MY_CLASS_BINARY;
    default:
        /* temporal and numeric fields also say charset 63: only strings count */
        if (is_string_type(f->type) && f->charsetnr == MY_BINARY_CHARSET)
            return FERRY_MY_CLASS_BINARY;
        return FERRY_MY_CLASS_TEXT;
    }
}

static const char *string_type_name(const MYSQL_FIELD *f)
{
    int bin = f->charsetnr == MY_BINARY_CHARSET;
    switch (f->type) {
    case MYSQL_TYPE_STRING:
        if (f->flags & ENUM_FLAG)
            return "enum";
        if (f->flags & SET_FLAG)
            return "set";
        return bin ? "binary" : "char";
    case MYSQL_TYPE_VAR_STRING:
    case MYSQL_TYPE_VARCHAR:
        return bin ? "varbinary" : "varchar";
    case MYSQL_TYPE_GEOMETRY:
        return "geometry";
    default:
        return bin ? "blob" : "text";
    }
}

static const char *base_type_name(const MYSQL_FIELD *f)
{
    switch (f->type) {
    case MYSQL_TYPE_TINY: return "tinyint";
    case MYSQL_TYPE_SHORT: return "smallint";
    case MYSQL_TYPE_INT24: return "mediumint";
    case MYSQL_TYPE_LONG: return "int";
    case MYSQL_TYPE_LONGLONG: return "bigint";
    case MYSQL_TYPE_YEAR: return "year";
    case MYSQL_TYPE_DECIMAL:
    case MYSQL_TYPE_NEWDECIMAL: return "decimal";
    case MYSQL_TYPE_FLOAT: return "float";
    case MYSQL_TYPE_DOUBLE: return "double";
    case MYSQL_TYPE_NULL: return "null";
    case MYSQL_TYPE_TIMESTAMP:
    case MYSQL_TYPE_TIMESTAMP2: return "timestamp";
    case MYSQL_TYPE_DATE:
    case MYSQL_TYPE_NEWDATE: return "date";
    case MYSQL_TYPE_TIME:
    case MYSQL_TYPE_TIME2: return "time";
    case MYSQL_TYPE_DATETIME:
    case MYSQL_TYPE_DATETIME2: return "datetime";
    case MYSQL_TYPE_BIT: return "bit";
    case MYSQL_TYPE_JSON: return "json";
    case MYSQL_TYPE_ENUM: return "enum";
    case MYSQL_TYPE_SET: return "set";
    default: return string_type_name(f);
    }
}

static ferry_column_kind field_kind(const MYSQL_FIELD *f)
{
    int is_unsigned = (f->flags & UNSIGNED_FLAG) != 0;
    switch (f->type) {
    case MYSQL_TYPE_TINY:
    case MYSQL_TYPE_SHORT:
    case MYSQL_TYPE_INT24:
    case MYSQL_TYPE_YEAR:
        return FERRY_COL_INT;
    case MYSQL_TYPE_LONG:
        return is_unsigned ? FERRY_COL_BIGINT : FERRY_COL_INT;
    case MYSQL_TYPE_LONGLONG:
        return is_unsigned ? FERRY_COL_NUMERIC : FERRY_COL_BIGINT;
    case MYSQL_TYPE_DECIMAL:
    case MYSQL_TYPE_NEWDECIMAL:
        return FERRY_COL_NUMERIC;
    case MYSQL_TYPE_FLOAT:
    case MYSQL_TYPE_DOUBLE:
        return FERRY_COL_FLOAT;
    case MYSQL_TYPE_DATE:
    case MYSQL_TYPE_NEWDATE:
        return FERRY_COL_DATE;
    case MYSQL_TYPE_TIME:
    case MYSQL_TYPE_TIME2:
        return FERRY_COL_TIME;
    case MYSQL_TYPE_DATETIME:
    case MYSQL_TYPE_DATETIME2:
    case MYSQL_TYPE_TIMESTAMP:
    case MYSQL_TYPE_TIMESTAMP2:
        return FERRY_COL_TIMESTAMP; /* the text is in the session time zone, without offset */
    case MYSQL_TYPE_BIT:
        return FERRY_COL_BYTES;
    default:
        if (ferry_my_field_is_json(f))
            return FERRY_COL_JSON;
        if (is_string_type(f->type) && f->charsetnr == MY_BINARY_CHARSET)
            return FERRY_COL_BYTES;
        return FERRY_COL_TEXT;
    }
}

void ferry_my_field_column(const MYSQL_FIELD *f, ferry_column *col, char *native, size_t cap)
{
    col->kind = field_kind(f);
    col->precision = 0;
    col->scale = 0;
    int is_unsigned = (f->flags & UNSIGNED_FLAG) != 0;
    if (f->type == MYSQL_TYPE_NEWDECIMAL || f->type == MYSQL_TYPE_DECIMAL) {
        /* the display length counts the point and, when signed, the sign */
        long p = (long)f->length - (f->decimals > 0 ? 1 : 0) - (is_unsigned ? 0 : 1);
        col->precision = p > 0 ? (int)p : 0;
        col->scale = (int)f->decimals;
        snprintf(native, cap, "decimal(%d,%d)%s", col->precision, col->scale,
                 is_unsigned ? " unsigned" : "");
    } else if (f->type == MYSQL_TYPE_LONGLONG && is_unsigned) {
        col->precision = 20;
        snprintf(native, cap, "bigint unsigned");
    } else {
        MARIADB_CONST_STRING attr = {NULL, 0};
        if (mariadb_field_attr(&attr, f, MARIADB_FIELD_ATTR_DATA_TYPE_NAME) == 0 && attr.length > 0)
            snprintf(native, cap, "%.*s", (int)attr.length, attr.str); /* inet6, uuid, ... */
        else if (ferry_my_field_is_json(f))
            snprintf(native, cap, "json");
        else
            snprintf(native, cap, "%s%s", base_type_name(f),
                     is_unsigned && ferry_my_field_class(f) == FERRY_MY_CLASS_NUMBER ? " unsigned" : "");
    }
    col->native_type = native;
}

void ferry_my_create_type(const ferry_column *col, char *out, size_t cap)
{
    switch (col->kind) {
    case FERRY_COL_INT: snprintf(out, cap, "INT"); break;
    case FERRY_COL_BIGINT: snprintf(out, cap, "BIGINT"); break;
    case FERRY_COL_NUMERIC: {
        int p = col->precision, s = col->scale;
        if (p <= 0 || p > 65 || s < 0 || s > 38 || s > p)
            snprintf(out, cap, "DECIMAL(65,30)");
        else
            snprintf(out, cap, "DECIMAL(%d,%d)", p, s);
        break;
    }
    case FERRY_COL_FLOAT: snprintf(out, cap, "DOUBLE"); break;
    case FERRY_COL_BOOL: snprintf(out, cap, "BOOLEAN"); break;
    case FERRY_COL_DATE: snprintf(out, cap, "DATE"); break;
    case FERRY_COL_TIME: snprintf(out, cap, "TIME(6)"); break;
    case FERRY_COL_TIMESTAMP: snprintf(out, cap, "DATETIME(6)"); break;
    /* "2024-05-01 10:00:00+02" does not fit DATETIME: keep the text as it is (loading
     * it into an existing DATETIME/TIMESTAMP column converts it, see below) */
    case FERRY_COL_TIMESTAMPTZ: snprintf(out, cap, "VARCHAR(64)"); break;
    case FERRY_COL_BYTES: snprintf(out, cap, "LONGBLOB"); break;
    case FERRY_COL_JSON: snprintf(out, cap, "JSON"); break;
    case FERRY_COL_TEXT:
    default: snprintf(out, cap, "LONGTEXT"); break;
    }
}

char *ferry_my_create_sql(const char *table_sql, const ferry_column *cols, size_t n)
{
    size_t cap = strlen(table_sql) + 128;
    for (size_t i = 0; i < n; i++)
        cap += 2 * strlen(cols[i].name ? cols[i].name : "") + 64;
    char *sql = malloc(cap);
    if (!sql)
        return NULL;
    size_t len = (size_t)snprintf(sql, cap, "CREATE TABLE %s (", table_sql);
    for (size_t i = 0; i < n; i++) {
        char fallback[32], type[32];
        const char *name = cols[i].name;
        if (!name || !*name) {
            snprintf(fallback, sizeof fallback, "column_%zu", i + 1);
            name = fallback;
        }
        char *quoted = ferry_my_quote_ident(name); /* owned */
        if (!quoted) {
            free(sql);
            return NULL;
        }
        ferry_my_create_type(&cols[i], type, sizeof type);
        len += (size_t)snprintf(sql + len, cap - len, "%s%s %s", i ? ", " : "", quoted, type);
        free(quoted);
    }
    snprintf(sql + len, cap - len, ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4");
    return sql;
}

/* ---- LOAD DATA: text -> the target's column types ------------------------ */

enum { CONV_NONE = 0, CONV_HEX, CONV_DATETIME, CONV_TIMESTAMP, CONV_BOOL };

static int load_conversion(const MYSQL_FIELD *f)
{
    switch (f->type) {
    case MYSQL_TYPE_BIT:
        return CONV_HEX;
    case MYSQL_TYPE_DATETIME:
    case MYSQL_TYPE_DATETIME2:
        return CONV_DATETIME;
    case MYSQL_TYPE_TIMESTAMP:
    case MYSQL_TYPE_TIMESTAMP2:
        return CONV_TIMESTAMP;
    case MYSQL_TYPE_TINY:
        return CONV_BOOL;
    default:
        return is_string_type(f->type) && f->type != MYSQL_TYPE_GEOMETRY &&
                       f->charsetnr == MY_BINARY_CHARSET && !(f->flags & (ENUM_FLAG | SET_FLAG))
                   ? CONV_HEX
                   : CONV_NONE;
    }
}

/* The value of user variable v for a column with conversion c.  Every
 * expression keeps NULL as NULL and passes anything it does not recognise
 * through unchanged, so the server's own conversion (and its warnings,
 * which fail the load) still applies. */
static char *conversion_sql(int c, const char *v)
{
    switch (c) {
    case CONV_HEX:
        /* "\x0aff" (bytea's text form, ferry's CSV of binary values) -> bytes */
        return ferry_my_format("IF(LEFT(%s, 2) = 0x5c78, COALESCE(UNHEX(SUBSTRING(%s, 3)), CAST(%s AS BINARY)), "
                               "CAST(%s AS BINARY))", v, v, v, v);
    case CONV_DATETIME:
    case CONV_TIMESTAMP: {
        /* "YYYY-MM-DD HH:MM:SS[.ffffff]+HH[:MM[:SS]]" (timestamptz text): the sign of
         * the offset is the first + or - after the 19 characters of date and time;
         * UTC = local time - offset.  DATETIME keeps the UTC time; TIMESTAMP gets
         * the instant (the server reads it in the session time zone). */
        char *p = ferry_my_format("GREATEST(LOCATE('+', %s, 20), LOCATE('-', %s, 20))", v, v);
        if (!p)
            return NULL;
        char *utc = ferry_my_format(
            "CAST(LEFT(%s, %s - 1) AS DATETIME(6)) - INTERVAL (IF(SUBSTRING(%s, %s, 1) = '-', -1, 1) * "
            "(SUBSTRING(%s, %s + 1, 2) * 3600 + IF(SUBSTRING(%s, %s + 3, 1) = ':', SUBSTRING(%s, %s + 4, 2), 0) * 60 "
            "+ IF(SUBSTRING(%s, %s + 6, 1) = ':', SUBSTRING(%s, %s + 7, 2), 0))) SECOND",
            v, p, v, p, v, p, v, p, v, p, v, p, v, p);
        char *out = NULL;
        if (utc && c == CONV_DATETIME)
            out = ferry_my_format("IF(%s > 0, %s, %s)", p, utc, v);
        else if (utc)
            out = ferry_my_format("IF(%s > 0, CONVERT_TZ(%s, '+00:00', @@session.time_zone), %s)", p, utc, v);
        free(utc);
        free(p);
        return out;
    }
    case CONV_BOOL:
        /* PostgreSQL's boolean text */
        return ferry_my_format("CASE %s WHEN 't' THEN 1 WHEN 'f' THEN 0 WHEN 'true' THEN 1 "
                               "WHEN 'false' THEN 0 ELSE %s END", v, v);
    default:
        return NULL;
    }
}

char *ferry_my_load_columns_sql(const MYSQL_FIELD *fields, unsigned n)
{
    int any = 0;
    for (unsigned i = 0; i < n; i++)
        any |= load_conversion(&fields[i]) != CONV_NONE;
    if (!any)
        return strdup("");
    ferry_buf list = {0}, set = {0}; /* owned; a failed append is sticky (core/buf.h) */
    ferry_buf_appends(&list, " (");
    ferry_buf_appends(&set, " SET ");
    int sets = 0, oom = 0;
    for (unsigned i = 0; !oom && i < n; i++) {
        char *quoted = ferry_my_quote_ident(fields[i].name ? fields[i].name : ""); /* owned */
        int c = load_conversion(&fields[i]);
        char var[32];
        snprintf(var, sizeof var, "@ferry_%u", i + 1);
        char *expr = c != CONV_NONE ? conversion_sql(c, var) : NULL; /* owned */
        oom = !quoted || (c != CONV_NONE && !expr);
        if (!oom) {
            if (i)
                ferry_buf_appends(&list, ", ");
            ferry_buf_appends(&list, c != CONV_NONE ? var : quoted);
        }
        if (!oom && c != CONV_NONE) {
            if (sets++)
                ferry_buf_appends(&set, ", ");
            ferry_buf_appendf(&set, "%s = %s", quoted, expr);
        }
        free(quoted);
        free(expr);
    }
    oom |= set.failed;
    if (!oom) {
        ferry_buf_appends(&list, ")");
        ferry_buf_appends(&list, set.data);
    }
    ferry_buf_release(&set);
    char *sql = ferry_buf_take(&list); /* NULL when an append failed */
    if (oom) {
        free(sql);
        return NULL;
    }
    return sql;
}
