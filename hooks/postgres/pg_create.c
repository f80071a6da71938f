/*
 * hooks/postgres/pg_create.c - `ferry copy ... --create`: a missing target
 * table is created from the first line of the data, one text column per
 * field, named by the header (or col1, col2... without one).
 */
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
        return ferry_error_hook(err, FERRY_ERR_INTERNAL, FERRY_PG_SYSTEM, conn_id, "out of memory");
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
