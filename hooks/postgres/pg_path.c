/*
 * hooks/postgres/pg_path.c - from an endpoint path ("public.orders",
 * "\"My Table\"") to a safely quoted table name, and small text helpers for
 * building the hook's SQL (trimming a user's query, COPY text escaping).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/sqlpath.h"
#include "pg_internal.h"

/* ---- parsing "schema.table" -------------------------------------------- */

/* Why a path is no table name, in this hook's words. */
static const char *path_problem_text(ferry_sql_path_problem why)
{
    switch (why) {
    case FERRY_SQL_PATH_NOMEM: return "out of memory";
    case FERRY_SQL_PATH_EMPTY: return "empty name";
    case FERRY_SQL_PATH_UNTERMINATED: return "unterminated quoted name";
    case FERRY_SQL_PATH_AFTER_QUOTE: return "text after a quoted name";
    case FERRY_SQL_PATH_QUOTE_INSIDE: return "a quote inside an unquoted name";
    case FERRY_SQL_PATH_TOO_MANY: return "more than schema.table";
    default: return "bad name";
    }
}

ferry_status ferry_pg_table_parse(const char *path, const char *conn_id, ferry_pg_table *t,
                                  ferry_error *err)
{
    memset(t, 0, sizeof *t);
    /* "quoted ""names""" as written; unquoted ones fold to lower case (ASCII
     * only, as PostgreSQL does). */
    ferry_sql_path_problem why = ferry_sql_path_split(path, '"', 1, &t->schema, &t->name);
    if (why == FERRY_SQL_PATH_OK)
        return FERRY_OK;
    return ferry_error_hook(err, FERRY_ERR_USAGE, FERRY_PG_SYSTEM, conn_id,
                            "bad table name '%s': %s (expected table, schema.table or \"Quoted\".\"Names\")",
                            path, path_problem_text(why));
}

void ferry_pg_table_release(ferry_pg_table *t)
{
    if (!t)
        return;
    free(t->schema);
    free(t->name);
    t->schema = NULL;
    t->name = NULL;
}

char *ferry_pg_table_sql(PGconn *pg, const ferry_pg_table *t, const char *conn_id,
                         ferry_error *err)
{
    char *name = NULL;   /* owned: PQfreemem */
    char *schema = NULL; /* owned: PQfreemem */
    char *sql = NULL;    /* returned */
    name = PQescapeIdentifier(pg, t->name, strlen(t->name));
    if (!name)
        goto quote_failed;
    if (t->schema) {
        schema = PQescapeIdentifier(pg, t->schema, strlen(t->schema));
        if (!schema)
            goto quote_failed;
    }
    sql = schema ? ferry_pg_format("%s.%s", schema, name) : ferry_pg_format("%s", name);
    if (!sql)
        ferry_error_oom(err, FERRY_PG_SYSTEM, conn_id, NULL);
    goto done;
quote_failed:
    ferry_pg_conn_error(pg, conn_id, "quoting the table name", err);
done:
    PQfreemem(schema);
    PQfreemem(name);
    return sql;
}

/* ---- text helpers ------------------------------------------------------- */

char *ferry_pg_null_option(PGconn *pg, const char *null_string)
{
    if (!null_string)
        return ferry_pg_format("%s", "");
    char *literal = PQescapeLiteral(pg, null_string, strlen(null_string)); /* PQfreemem */
    if (!literal)
        return NULL;
    char *option = ferry_pg_format(", NULL %s", literal);
    PQfreemem(literal);
    return option;
}

/* A scanner that knows just enough SQL to tell code from strings, quoted
 * names, dollar quotes and comments.  Each skip_* takes the index of the
 * construct's first byte and returns the index just after it (or the end). */

static int is_ident_byte(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || (unsigned char)c >= 0x80;
}

static size_t skip_line_comment(const char *q, size_t i)
{
    while (q[i] && q[i] != '\n')
        i++;
    return i;
}

static size_t skip_block_comment(const char *q, size_t i)
{
    int depth = 0; /* block comments nest in PostgreSQL */
    while (q[i]) {
        if (q[i] == '/' && q[i + 1] == '*') {
            depth++;
            i += 2;
        } else if (q[i] == '*' && q[i + 1] == '/') {
            i += 2;
            if (--depth == 0)
                return i;
        } else {
            i++;
        }
    }
    return i;
}

/* 'text' with '' inside; E'text' also with backslash escapes.  Likewise
 * "name" with "" inside (backslashes = 0). */
static size_t skip_quoted(const char *q, size_t i, char quote, int backslashes)
{
    i++;
    while (q[i]) {
        if (backslashes && q[i] == '\\' && q[i + 1]) {
            i += 2;
        } else if (q[i] == quote && q[i + 1] == quote) {
            i += 2;
        } else if (q[i] == quote) {
            return i + 1;
        } else {
            i++;
        }
    }
    return i;
}

static int starts_escape_string(const char *q, size_t i)
{
    return i > 0 && (q[i - 1] == 'E' || q[i - 1] == 'e') && (i < 2 || !is_ident_byte(q[i - 2]));
}

/* Length of the dollar-quote tag ("$$", "$body$") starting at i, or 0 when
 * the '$' starts no tag ($1, a$b). */
static size_t dollar_tag_length(const char *q, size_t i)
{
    if (i > 0 && is_ident_byte(q[i - 1]))
        return 0;
    size_t j = i + 1;
    if (q[j] >= '0' && q[j] <= '9')
        return 0;
    while (is_ident_byte(q[j]))
        j++;
    return q[j] == '$' ? j + 1 - i : 0;
}

static size_t skip_dollar_quoted(const char *q, size_t i, size_t tag_len)
{
    const char *close = NULL;
    for (const char *p = q + i + tag_len; (p = strchr(p, '$')) != NULL; p++) {
        if (strncmp(p, q + i, tag_len) == 0) {
            close = p;
            break;
        }
    }
    return close ? (size_t)(close - q) + tag_len : strlen(q);
}

/* Everything up to the last byte that is code, a string or a quoted name:
 * trailing blanks, semicolons and comments go. */
char *ferry_pg_query_trim(const char *query)
{
    size_t i = 0, keep = 0;
    while (query[i]) {
        char c = query[i];
        size_t tag = c == '$' ? dollar_tag_length(query, i) : 0;
        if (c == '-' && query[i + 1] == '-') {
            i = skip_line_comment(query, i);
        } else if (c == '/' && query[i + 1] == '*') {
            i = skip_block_comment(query, i);
        } else if (c == '\'') {
            i = keep = skip_quoted(query, i, '\'', starts_escape_string(query, i));
        } else if (c == '"') {
            i = keep = skip_quoted(query, i, '"', 0);
        } else if (tag > 0) {
            i = keep = skip_dollar_quoted(query, i, tag);
        } else if (c == ';' || c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f') {
            i++;
        } else {
            keep = ++i;
        }
    }
    return strndup(query, keep);
}

char *ferry_pg_format(const char *fmt, ...)
{
    char *out = NULL;
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(&out, fmt, ap);
    va_end(ap);
    return n < 0 ? NULL : out;
}

static int ensure_room(char **buf, size_t *len, size_t *cap, size_t more)
{
    if (*len + more + 1 <= *cap)
        return 0;
    size_t want = *cap ? *cap : 256;
    while (want < *len + more + 1)
        want *= 2;
    char *grown = realloc(*buf, want);
    if (!grown)
        return -1;
    *buf = grown;
    *cap = want;
    return 0;
}

/* The escape COPY's text format writes for c, or 0 when c goes as it is. */
static char text_escape_for(char c)
{
    switch (c) {
    case '\\': return '\\';
    case '\b': return 'b';
    case '\f': return 'f';
    case '\n': return 'n';
    case '\r': return 'r';
    case '\t': return 't';
    case '\v': return 'v';
    default: return 0;
    }
}

int ferry_pg_append_text_escaped(char **buf, size_t *len, size_t *cap, const char *src,
                                 char terminator)
{
    size_t n = strlen(src);
    if (ensure_room(buf, len, cap, 2 * n + 1) != 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        char esc = text_escape_for(src[i]);
        if (esc) {
            (*buf)[(*len)++] = '\\';
            (*buf)[(*len)++] = esc;
        } else {
            (*buf)[(*len)++] = src[i];
        }
    }
    (*buf)[(*len)++] = terminator;
    (*buf)[*len] = '\0';
    return 0;
}
