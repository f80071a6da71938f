/*
 * hooks/postgres/pg_create.c - `ferry copy ... --create`: a missing target
 * table is created from the source's columns when the source knows them
 * (o->columns: names and kinds mapped to PostgreSQL types), else from the
 * first line of the data, one text column per field, named by the header
 * (or col1, col2... without one).  Also the other way: result column types
 * to ferry column kinds, for the source.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg_internal.h"

ferry_status ferry_pg_table_exists(PGconn *pg, const char *conn_id, const char *table_sql,
                                   double timeout, int *exists, ferry_error *err)
{
    *exists = 0;
    char *literal = PQescapeLiteral(pg, table_sql, strlen(table_sql)); /* owned: PQfreemem */
    if (!literal)
        return ferry_pg_conn_error(pg, conn_id, "quoting the table name", err);
    char *sql = ferry_pg_format("SELECT to_regclass(%s) IS NOT NULL", literal); /* owned */
    PQfreemem(literal);
    if (!sql)
        return ferry_error_oom(err, FERRY_PG_SYSTEM, conn_id, NULL);
    PGresult *res = NULL; /* owned: PQclear */
    ferry_status st = ferry_pg_run(pg, conn_id, sql, timeout, &res, err);
    free(sql);
    if (st == FERRY_OK && PQresultStatus(res) != PGRES_TUPLES_OK)
        st = ferry_pg_result_error(pg, res, conn_id, "looking up the table", err);
    if (st == FERRY_OK)
        *exists = PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);
    return st;
}

size_t ferry_pg_first_line_end(const char *data, size_t len, ferry_format fmt)
{
    int quoted = 0;
    for (size_t i = 0; i < len; i++) {
        if (fmt == FERRY_FORMAT_CSV && data[i] == '"')
            quoted = !quoted; /* "" inside quotes toggles twice: no change */
        else if (data[i] == '\n' && !quoted)
            return i + 1;
    }
    return 0;
}

/* ---- splitting the first line into names -------------------------------- */

/* The value of a text-format escape (\t, \n, \\ ...). */
static char text_unescape(char c)
{
    switch (c) {
    case 'b': return '\b';
    case 'f': return '\f';
    case 'n': return '\n';
    case 'r': return '\r';
    case 't': return '\t';
    case 'v': return '\v';
    default: return c;
    }
}

/* Decode the field [p, end) into out (room for end - p + 1 bytes). */
static void decode_field(const char *p, const char *end, ferry_format fmt, char *out)
{
    size_t n = 0;
    int quoted = 0;
    while (p < end) {
        if (fmt == FERRY_FORMAT_CSV && *p == '"') {
            if (quoted && p + 1 < end && p[1] == '"') {
                out[n++] = '"';
                p += 2;
                continue;
            }
            quoted = !quoted;
            p++;
        } else if (fmt == FERRY_FORMAT_TSV && *p == '\\' && p + 1 < end) {
            out[n++] = text_unescape(p[1]);
            p += 2;
        } else {
            out[n++] = *p++;
        }
    }
    out[n] = '\0';
}

/* Where the field starting at p ends (at a separator or at end). */
static const char *field_end(const char *p, const char *end, ferry_format fmt)
{
    char sep = fmt == FERRY_FORMAT_CSV ? ',' : '\t';
    int quoted = 0;
    for (; p < end; p++) {
        if (fmt == FERRY_FORMAT_CSV && *p == '"')
            quoted = !quoted;
        else if (*p == sep && !quoted)
            break;
    }
    return p;
}

void ferry_pg_names_free(char **names, size_t n)
{
    for (size_t i = 0; names && i < n; i++)
        free(names[i]);
    free(names);
}

int ferry_pg_split_line(const char *line, size_t len, ferry_format fmt, int header,
                        char ***names_out, size_t *n_out)
{
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
        len--;
    const char *end = line + len;
    char **names = NULL;
    size_t n = 0;
    for (const char *p = line;; p++) {
        const char *stop = field_end(p, end, fmt);
        char **grown = realloc(names, (n + 1) * sizeof *names);
        size_t room = (size_t)(stop - p) + 32; /* the field, or "col<n>" */
        char *name = malloc(room);
        if (!grown || !name) {
            free(name);
            ferry_pg_names_free(grown ? grown : names, n);
            return -1;
        }
        names = grown;
        decode_field(p, stop, fmt, name);
        if (!header || name[0] == '\0')
            snprintf(name, room, "col%zu", n + 1);
        names[n++] = name;
        p = stop;
        if (p >= end)
            break;
    }
    *names_out = names;
    *n_out = n;
    return 0;
}

char *ferry_pg_create_table_sql(PGconn *pg, const char *table_sql, char *const *names, size_t n)
{
    char *sql = ferry_pg_format("CREATE TABLE %s (", table_sql); /* owned: free */
    for (size_t i = 0; sql && i < n; i++) {
        char *id = PQescapeIdentifier(pg, names[i], strlen(names[i])); /* owned: PQfreemem */
        char *longer = id ? ferry_pg_format("%s%s%s text", sql, i ? ", " : "", id) : NULL;
        PQfreemem(id);
        free(sql);
        sql = longer;
    }
    char *done = sql ? ferry_pg_format("%s)", sql) : NULL;
    free(sql);
    return done;
}

/* ---- typed columns ------------------------------------------------------- */

void ferry_pg_column_type(const ferry_column *col, char *out, size_t cap)
{
    switch (col->kind) {
    case FERRY_COL_INT: snprintf(out, cap, "integer"); break;
    case FERRY_COL_BIGINT: snprintf(out, cap, "bigint"); break;
    case FERRY_COL_NUMERIC: {
        int p = col->precision, s = col->scale;
        if (p >= 1 && p <= 1000 && s >= 0 && s <= p)
            snprintf(out, cap, "numeric(%d,%d)", p, s);
        else
            snprintf(out, cap, "numeric"); /* any precision and scale */
        break;
    }
    case FERRY_COL_FLOAT: snprintf(out, cap, "double precision"); break;
    case FERRY_COL_BOOL: snprintf(out, cap, "boolean"); break;
    case FERRY_COL_DATE: snprintf(out, cap, "date"); break;
    case FERRY_COL_TIME: snprintf(out, cap, "time"); break;
    case FERRY_COL_TIMESTAMP: snprintf(out, cap, "timestamp"); break;
    case FERRY_COL_TIMESTAMPTZ: snprintf(out, cap, "timestamptz"); break;
    case FERRY_COL_BYTES: snprintf(out, cap, "bytea"); break;
    case FERRY_COL_JSON: snprintf(out, cap, "jsonb"); break;
    case FERRY_COL_TEXT:
    default: snprintf(out, cap, "text"); break;
    }
}

char *ferry_pg_create_typed_sql(PGconn *pg, const char *table_sql, const ferry_column *cols, size_t n)
{
    char *sql = ferry_pg_format("CREATE TABLE %s (", table_sql); /* owned: free */
    for (size_t i = 0; sql && i < n; i++) {
        char fallback[32], type[32];
        const char *name = cols[i].name;
        if (!name || !*name) {
            snprintf(fallback, sizeof fallback, "col%zu", i + 1);
            name = fallback;
        }
        ferry_pg_column_type(&cols[i], type, sizeof type);
        char *id = PQescapeIdentifier(pg, name, strlen(name)); /* owned: PQfreemem */
        char *longer = id ? ferry_pg_format("%s%s%s %s", sql, i ? ", " : "", id, type) : NULL;
        PQfreemem(id);
        free(sql);
        sql = longer;
    }
    char *done = sql ? ferry_pg_format("%s)", sql) : NULL;
    free(sql);
    return done;
}

/* Type OIDs of pg_type.dat (stable across versions). */
enum {
    PG_BOOL = 16, PG_BYTEA = 17, PG_INT8 = 20, PG_INT2 = 21, PG_INT4 = 23, PG_OID = 26,
    PG_JSON = 114, PG_FLOAT4 = 700, PG_FLOAT8 = 701, PG_DATE = 1082, PG_TIME = 1083,
    PG_TIMESTAMP = 1114, PG_TIMESTAMPTZ = 1184, PG_NUMERIC = 1700, PG_JSONB = 3802
};

ferry_column_kind ferry_pg_column_kind(unsigned oid, int typmod, int server_version, int *precision,
                                       int *scale)
{
    *precision = 0;
    *scale = 0;
    switch (oid) {
    case PG_INT2:
    case PG_INT4: return FERRY_COL_INT;
    case PG_INT8:
    case PG_OID: return FERRY_COL_BIGINT;
    case PG_NUMERIC:
        if (typmod >= 4) { /* VARHDRSZ + (precision << 16 | scale) */
            int m = typmod - 4;
            int p = (m >> 16) & 0xffff;
            /* 15+: scale is an 11-bit signed field (negative scales exist) */
            int s = server_version >= 150000 ? (((m & 0x7ff) ^ 1024) - 1024) : (m & 0xffff);
            if (p >= 1 && s >= 0 && s <= p) {
                *precision = p;
                *scale = s;
            }
        }
        return FERRY_COL_NUMERIC;
    case PG_FLOAT4:
    case PG_FLOAT8: return FERRY_COL_FLOAT;
    case PG_BOOL: return FERRY_COL_BOOL;
    case PG_DATE: return FERRY_COL_DATE;
    case PG_TIME: return FERRY_COL_TIME;
    case PG_TIMESTAMP: return FERRY_COL_TIMESTAMP;
    case PG_TIMESTAMPTZ: return FERRY_COL_TIMESTAMPTZ;
    case PG_BYTEA: return FERRY_COL_BYTES;
    case PG_JSON:
    case PG_JSONB: return FERRY_COL_JSON;
    default: return FERRY_COL_TEXT; /* text, varchar, uuid, interval, timetz, arrays, ... */
    }
}
