/*
 * check.h - the tiny unit-test harness shared by every tests/unit/test_*.c.
 *
 * A test file defines functions `static void test_xxx(void)` and lists them in
 * main() with RUN(test_xxx); it ends with `return check_summary();`, which
 * prints "N passed, N failed" and returns nonzero on any failure.  A check
 * that fails prints file:line and the expression and lets the test go on.
 */
#ifndef FERRY_TEST_CHECK_H
#define FERRY_TEST_CHECK_H

#include <stdio.h>
#include <string.h>

static int check_failures_total;
static int check_tests_passed;
static int check_tests_failed;
static int check_current_failed;

#define CHECK(cond)                                                                 \
    do {                                                                            \
        if (!(cond)) {                                                              \
            fprintf(stderr, "  FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);       \
            check_current_failed = 1;                                               \
            check_failures_total++;                                                 \
        }                                                                           \
    } while (0)

#define CHECK_STREQ(a, b)                                                           \
    do {                                                                            \
        const char *check_a_ = (a), *check_b_ = (b);                                \
        if (!check_a_ || !check_b_ || strcmp(check_a_, check_b_) != 0) {            \
            fprintf(stderr, "  FAIL %s:%d: %s == %s\n    got:      \"%s\"\n    expected: \"%s\"\n", \
                    __FILE__, __LINE__, #a, #b, check_a_ ? check_a_ : "(null)",     \
                    check_b_ ? check_b_ : "(null)");                                \
            check_current_failed = 1;                                               \
            check_failures_total++;                                                 \
        }                                                                           \
    } while (0)

#define CHECK_INTEQ(a, b)                                                           \
    do {                                                                            \
        long long check_a_ = (long long)(a), check_b_ = (long long)(b);             \
        if (check_a_ != check_b_) {                                                 \
            fprintf(stderr, "  FAIL %s:%d: %s == %s (%lld != %lld)\n", __FILE__,    \
                    __LINE__, #a, #b, check_a_, check_b_);                          \
            check_current_failed = 1;                                               \
            check_failures_total++;                                                 \
        }                                                                           \
    } while (0)

#define RUN(fn)                                                                     \
    do {                                                                            \
        check_current_failed = 0;                                                   \
        fn();                                                                       \
        if (check_current_failed) {                                                 \
            check_tests_failed++;                                                   \
            printf("FAIL %s\n", #fn);                                               \
        } else {                                                                    \
            check_tests_passed++;                                                   \
            printf("ok   %s\n", #fn);                                               \
        }                                                                           \
        fflush(stdout);                                                             \
    } while (0)

static inline int check_summary(void)
{
    printf("%d passed, %d failed\n", check_tests_passed, check_tests_failed);
    return check_tests_failed ? 1 : 0;
}

#endif
