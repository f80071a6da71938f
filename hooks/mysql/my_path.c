/*
 * hooks/mysql/my_path.c - from an endpoint path ("shop.orders", "`odd``name`")
 * to safely quoted table names, and the staging / old-table names of the
 * replace protocol.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "core/sqlpath.h"
#include "my_internal.h"

/* MySQL's limit for a table name, in characters. */
#define MY_NAME_MAX 64

/* Why a path is no table name, in this hook's words. */
static const char *path_problem_text(ferry_sql_path_problem why)
{
    switch (why) {
    case FERRY_SQL_PATH_NOMEM: return "out of memory";
    case FERRY_SQL_PATH_EMPTY: return "empty name";
    case FERRY_SQL_PATH_UNTERMINATED: return "unterminated `quoted` name";
    case FERRY_SQL_PATH_AFTER_QUOTE: return "text after a `quoted` name";
    case FERRY_SQL_PATH_QUOTE_INSIDE: return "a backtick inside an unquoted name";
    case FERRY_SQL_PATH_TOO_MANY: return "more than database.table";
    default: return "bad name";
    }
}

ferry_status ferry_my_table_parse(const char *path, const char *conn_id, ferry_my_table *t,
                                  ferry_error *err)
{
    memset(t, 0, sizeof *t);
    /* `quoted with `` doubled` or unquoted, both kept as written. */
    ferry_sql_path_problem why = ferry_sql_path_split(path, '`', 0, &t->schema, &t->name);
    if (why == FERRY_SQL_PATH_OK)
        return FERRY_OK;
    return ferry_error_hook(err, FERRY_ERR_USAGE, FERRY_MY_SYSTEM, conn_id,
                            "bad table name '%s': %s (expected table, database.table or `quoted`.`names`)",
                            path, path_problem_text(why));
}

void ferry_my_table_release(ferry_my_table *t)
{
    if (!t)
        return;
    free(t->schema);
    free(t->name);
    t->schema = NULL;
    t->name = NULL;
}

char *ferry_my_quote_ident(const char *name)
{
    size_t n = strlen(name), ticks = 0;
    for (size_t i = 0; i < n; i++)
        ticks += name[i] == '`';
    char *out = malloc(n + ticks + 3);
    if (!out)
        return NULL;
    size_t k = 0;
    out[k++] = '`';
    for (size_t i = 0; i < n; i++) {
        if (name[i] == '`')
            out[k++] = '`';
        out[k++] = name[i];
    }
    out[k++] = '`';
    out[k] = '\0';
    return out;
}

char *ferry_my_table_sql(const ferry_my_table *t)
{
    char *name = ferry_my_quote_ident(t->name);                     /* owned */
    char *schema = t->schema ? ferry_my_quote_ident(t->schema) : NULL; /* owned */
    char *sql = NULL;
    if (name && (schema || !t->schema))
        sql = schema ? ferry_my_format("%s.%s", schema, name) : ferry_my_format("%s", name);
    free(name);
    free(schema);
    return sql;
}

static uint32_t random_suffix(void)
{
    uint32_t r = 0;
    if (getrandom(&r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        r = (uint32_t)ts.tv_nsec ^ ((uint32_t)getpid() << 16) ^ (uint32_t)ts.tv_sec;
    }
    return r;
}

int ferry_my_table_sibling(const ferry_my_table *t, const char *infix, ferry_my_table *out)
{
    memset(out, 0, sizeof *out);
    char suffix[64];
    snprintf(suffix, sizeof suffix, "%s%08x", infix, random_suffix());
    size_t room = MY_NAME_MAX > strlen(suffix) ? MY_NAME_MAX - strlen(suffix) : 0;
    size_t keep = strlen(t->name);
    if (keep > room) {
        keep = room;
        while (keep > 0 && ((unsigned char)t->name[keep] & 0xC0) == 0x80)
            keep--; /* never cut a UTF-8 character in half */
    }
    out->name = ferry_my_format("%.*s%s", (int)keep, t->name, suffix);
    if (t->schema)
        out->schema = strdup(t->schema);
    if (!out->name || (t->schema && !out->schema)) {
        ferry_my_table_release(out);
        return -1;
    }
    return 0;
}
