/*
 * core/sqlpath.c - "schema.table" endpoint paths to their parts, shared by
 * the SQL hooks (postgres: '"' and folding, mysql: '`' as written); see
 * core/sqlpath.h.
 */
#include <stdlib.h>
#include <string.h>

#include "core/sqlpath.h"

/* One part starting at *p, up to an unquoted '.' or the end.  *out is
 * malloc'd (free); on a problem nothing is allocated and *p is unchanged. */
static ferry_sql_path_problem split_part(const char **p, char quote, int fold_lower, char **out)
{
    const char *s = *p;
    char *id = malloc(strlen(s) + 1);
    size_t n = 0;
    ferry_sql_path_problem why = FERRY_SQL_PATH_OK;
    if (!id)
        return FERRY_SQL_PATH_NOMEM;
    if (*s == quote) {
        s++;
        for (;;) {
            if (*s == '\0') {
                why = FERRY_SQL_PATH_UNTERMINATED;
                goto bad;
            }
            if (s[0] == quote && s[1] == quote) {
                id[n++] = quote;
                s += 2;
            } else if (s[0] == quote) {
                s++;
                break;
            } else {
                id[n++] = *s++;
            }
        }
        if (*s != '\0' && *s != '.') {
            why = FERRY_SQL_PATH_AFTER_QUOTE;
            goto bad;
        }
    } else {
        while (*s && *s != '.') {
            if (*s == quote) {
                why = FERRY_SQL_PATH_QUOTE_INSIDE;
                goto bad;
            }
            char c = *s++;
            id[n++] = fold_lower && c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
        }
    }
    if (n == 0) {
        why = FERRY_SQL_PATH_EMPTY;
        goto bad;
    }
    id[n] = '\0';
    *p = s;
    *out = id;
    return FERRY_SQL_PATH_OK;
bad:
    free(id);
    return why;
}

ferry_sql_path_problem ferry_sql_path_split(const char *path, char quote, int fold_lower,
                                            char **schema, char **name)
{
    const char *p = path;
    char *first = NULL, *second = NULL;
    *schema = NULL;
    *name = NULL;
    ferry_sql_path_problem why = split_part(&p, quote, fold_lower, &first);
    if (why != FERRY_SQL_PATH_OK)
        return why;
    if (*p != '.') {
        *name = first;
        return FERRY_SQL_PATH_OK;
    }
    p++;
    why = split_part(&p, quote, fold_lower, &second);
    if (why == FERRY_SQL_PATH_OK && *p != '\0') {
        free(second);
        why = FERRY_SQL_PATH_TOO_MANY;
    }
    if (why != FERRY_SQL_PATH_OK) {
        free(first);
        return why;
    }
    *schema = first;
    *name = second;
    return FERRY_SQL_PATH_OK;
}
