/*
 * core/keyrange.c - range r of n of an integer key as a SQL condition and its
 * JSON bounds; shared by the Postgres and MySQL range sources (keyrange.h).
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/util.h"
#include "core/keyrange.h"

int64_t ferry_keyrange_boundary(int64_t lo, int64_t hi, int i, int n)
{
    __int128 span = (__int128)hi - (__int128)lo + 1;
    return (int64_t)((__int128)lo + span * i / n);
}

int ferry_keyrange_condition(const char *column, const char *name, int empty, int64_t lo, int64_t hi, int r, int n,
                             char **cond, char **json)
{
    *cond = *json = NULL;
    /* the name as a JSON string body: quotes and backslashes escaped, controls dropped */
    char jname[256];
    size_t k = 0;
    for (const char *c = name; *c && k + 3 < sizeof jname; c++) {
        if ((unsigned char)*c < 0x20)
            continue;
        if (*c == '"' || *c == '\\')
            jname[k++] = '\\';
        jname[k++] = *c;
    }
    jname[k] = '\0';
    const char *nulls = r == n - 1 ? "true" : "false";
    if (empty) {
        *cond = ferry_strdup_printf("%s", r == n - 1 ? "TRUE" : "FALSE");
        *json = ferry_strdup_printf("{\"split_by\":\"%s\",\"from\":null,\"to\":null,\"nulls\":%s}", jname, nulls);
    } else {
        int64_t a = ferry_keyrange_boundary(lo, hi, r, n), b = ferry_keyrange_boundary(lo, hi, r + 1, n);
        char from[32] = "null", to[32] = "null";
        if (r > 0)
            snprintf(from, sizeof from, "%" PRId64, a);
        if (r < n - 1)
            snprintf(to, sizeof to, "%" PRId64, b);
        if (n == 1)
            *cond = ferry_strdup_printf("TRUE");
        else if (r == 0)
            *cond = ferry_strdup_printf("%s < %" PRId64, column, b);
        else if (r == n - 1)
            *cond = ferry_strdup_printf("(%s >= %" PRId64 " OR %s IS NULL)", column, a, column);
        else
            *cond = ferry_strdup_printf("%s >= %" PRId64 " AND %s < %" PRId64, column, a, column, b);
        *json = ferry_strdup_printf("{\"split_by\":\"%s\",\"from\":%s,\"to\":%s,\"nulls\":%s}", jname, from, to, nulls);
    }
    if (*cond && *json)
        return 0;
    free(*cond);
    free(*json);
    *cond = *json = NULL;
    return -1;
}
