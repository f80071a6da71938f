/*
 * test_keyrange.c - the key ranges of --parallel/--partition (core/keyrange.c)
 * without a server: the boundaries tile [lo, hi] exactly, whatever n and the
 * extremes of int64 are; the conditions and the sidecar JSON of each range
 * (first open below, last open above with the NULLs, one range = TRUE, an
 * empty key = TRUE only in the last range); names escaped for JSON.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/keyrange.h"

static void test_boundaries_tile(void)
{
    const int64_t los[] = {0, -5, 1, INT64_MIN, INT64_MIN, 100};
    const int64_t his[] = {0, 5, 1000000, INT64_MAX, INT64_MIN + 3, 102};
    for (size_t c = 0; c < sizeof los / sizeof los[0]; c++)
        for (int n = 1; n <= 16; n++) {
            CHECK(ferry_keyrange_boundary(los[c], his[c], 0, n) == los[c]);
            for (int i = 0; i < n; i++) /* monotone: no gap, no overlap */
                CHECK(ferry_keyrange_boundary(los[c], his[c], i, n) <= ferry_keyrange_boundary(los[c], his[c], i + 1, n) ||
                      (i + 1 == n && his[c] == INT64_MAX)); /* hi + 1 wraps only at INT64_MAX */
        }
    /* 1..1000 in 4: 1, 251, 501, 751 */
    CHECK(ferry_keyrange_boundary(1, 1000, 1, 4) == 251);
    CHECK(ferry_keyrange_boundary(1, 1000, 3, 4) == 751);
}

typedef struct cond_case {
    int empty, r, n;
    int64_t lo, hi;
    const char *cond, *json;
} cond_case;

static const cond_case cases[] = {
    {0, 0, 1, 1, 1000, "TRUE", "{\"split_by\":\"id\",\"from\":null,\"to\":null,\"nulls\":true}"},
    {0, 0, 4, 1, 1000, "\"id\" < 251", "{\"split_by\":\"id\",\"from\":null,\"to\":251,\"nulls\":false}"},
    {0, 1, 4, 1, 1000, "\"id\" >= 251 AND \"id\" < 501", "{\"split_by\":\"id\",\"from\":251,\"to\":501,\"nulls\":false}"},
    {0, 3, 4, 1, 1000, "(\"id\" >= 751 OR \"id\" IS NULL)", "{\"split_by\":\"id\",\"from\":751,\"to\":null,\"nulls\":true}"},
    {1, 0, 3, 0, 0, "FALSE", "{\"split_by\":\"id\",\"from\":null,\"to\":null,\"nulls\":false}"},
    {1, 2, 3, 0, 0, "TRUE", "{\"split_by\":\"id\",\"from\":null,\"to\":null,\"nulls\":true}"},
};

static void test_conditions(void)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const cond_case *c = &cases[i];
        char *cond = NULL, *json = NULL;
        CHECK(ferry_keyrange_condition("\"id\"", "id", c->empty, c->lo, c->hi, c->r, c->n, &cond, &json) == 0);
        CHECK_STREQ(cond, c->cond);
        CHECK_STREQ(json, c->json);
        free(cond);
        free(json);
    }
}

static void test_name_escaped(void)
{
    char *cond = NULL, *json = NULL;
    CHECK(ferry_keyrange_condition("`a\"b`", "a\"b\\c\n", 0, 0, 9, 0, 2, &cond, &json) == 0);
    CHECK_STREQ(cond, "`a\"b` < 5");
    CHECK_STREQ(json, "{\"split_by\":\"a\\\"b\\\\c\",\"from\":null,\"to\":5,\"nulls\":false}");
    free(cond);
    free(json);
}

int main(void)
{
    RUN(test_boundaries_tile);
    RUN(test_conditions);
    RUN(test_name_escaped);
    return check_summary();
}
