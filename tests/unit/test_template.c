/*
 * test_template.c - Airflow template variables: interval arithmetic for each
 * schedule (month and year ends, leap days), the default logical date,
 * unknown variables, params, and SQL quoting that never changes a statement.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "ferry/template.h"

static char *expand(const ferry_template_ctx *ctx, const char *text, ferry_template_mode mode, ferry_status *st)
{
    ferry_error err;
    ferry_error_clear(&err);
    char *out = NULL;
    *st = ferry_template_expand(ctx, text, mode, &out, &err);
    return out;
}

static void check_expand(const ferry_template_ctx *ctx, const char *text, const char *want)
{
    ferry_status st;
    char *got = expand(ctx, text, FERRY_TEMPLATE_TEXT, &st);
    CHECK_INTEQ(st, FERRY_OK);
    CHECK_STREQ(got, want);
    free(got);
}

static void test_daily(void)
{
    ferry_template_ctx ctx;
    ferry_error err;
    CHECK_INTEQ(ferry_template_init(&ctx, "2026-11-21", FERRY_SCHEDULE_DAILY, 0, &err), FERRY_OK);
    check_expand(&ctx, "s3://b/dt={{ ds }}/orders.csv.gz", "s3://b/dt=2026-11-21/orders.csv.gz");
    check_expand(&ctx, "{{ds_nodash}}|{{ ts }}|{{ ts_nodash }}", "20261121|2026-11-21T00:00:00+00:00|20261121T000000");
    check_expand(&ctx, "{{ data_interval_start }} {{ data_interval_end }}",
                 "2026-11-21T00:00:00+00:00 2026-11-22T00:00:00+00:00");
    check_expand(&ctx, "{{ prev_ds }} {{ next_ds }} {{ prev_ds_nodash }}", "2026-11-20 2026-11-22 20261120");
    check_expand(&ctx, "no templates here", "no templates here");
}

static void test_month_and_leap_edges(void)
{
    ferry_template_ctx ctx;
    ferry_error err;
    CHECK_INTEQ(ferry_template_init(&ctx, "2024-02-29", FERRY_SCHEDULE_DAILY, 0, &err), FERRY_OK);
    check_expand(&ctx, "{{ prev_ds }} {{ next_ds }}", "2024-02-28 2024-03-01");
    CHECK_INTEQ(ferry_template_init(&ctx, "2026-12-31", FERRY_SCHEDULE_DAILY, 0, &err), FERRY_OK);
    check_expand(&ctx, "{{ next_ds }}", "2027-01-01");
    CHECK_INTEQ(ferry_template_init(&ctx, "2026-12-01", FERRY_SCHEDULE_MONTHLY, 0, &err), FERRY_OK);
    check_expand(&ctx, "{{ prev_ds }} {{ ds }} {{ next_ds }} {{ data_interval_end }}",
                 "2026-11-01 2026-12-01 2027-01-01 2027-01-01T00:00:00+00:00");
    CHECK_INTEQ(ferry_template_init(&ctx, "2026-01-01", FERRY_SCHEDULE_MONTHLY, 0, &err), FERRY_OK);
    check_expand(&ctx, "{{ prev_ds }}", "2025-12-01");
}

static void test_hourly_and_weekly(void)
{
    ferry_template_ctx ctx;
    ferry_error err;
    CHECK_INTEQ(ferry_template_init(&ctx, "2026-11-21T23:00:00Z", FERRY_SCHEDULE_HOURLY, 0, &err), FERRY_OK);
    check_expand(&ctx, "{{ ts }} {{ data_interval_end }}", "2026-11-21T23:00:00+00:00 2026-11-22T00:00:00+00:00");
    CHECK_INTEQ(ferry_template_init(&ctx, "2026-11-22T01:00:00+02:00", FERRY_SCHEDULE_HOURLY, 0, &err), FERRY_OK);
    check_expand(&ctx, "{{ ts }}", "2026-11-21T23:00:00+00:00"); /* offsets are converted to UTC */
    CHECK_INTEQ(ferry_template_init(&ctx, "2026-11-21T23:30:00Z", FERRY_SCHEDULE_HOURLY, 0, &err), FERRY_ERR_USAGE);
    CHECK_INTEQ(ferry_template_init(&ctx, "2026-11-15", FERRY_SCHEDULE_WEEKLY, 0, &err), FERRY_OK); /* a Sunday */
    check_expand(&ctx, "{{ prev_ds }} {{ next_ds }}", "2026-11-08 2026-11-22");
    CHECK_INTEQ(ferry_template_init(&ctx, "2026-11-16", FERRY_SCHEDULE_WEEKLY, 0, &err), FERRY_ERR_USAGE);
    CHECK(strstr(err.msg, "Sunday") != NULL);
}

static void test_default_is_last_complete_interval(void)
{
    ferry_template_ctx ctx;
    ferry_error err;
    /* 2026-11-22T02:12:33Z */
    time_t now = 1795313553;
    CHECK_INTEQ(ferry_template_init(&ctx, NULL, FERRY_SCHEDULE_DAILY, now, &err), FERRY_OK);
    check_expand(&ctx, "{{ ds }}", "2026-11-21");
    CHECK_INTEQ(ferry_template_init(&ctx, NULL, FERRY_SCHEDULE_HOURLY, now, &err), FERRY_OK);
    check_expand(&ctx, "{{ ts }}", "2026-11-22T01:00:00+00:00");
    CHECK_INTEQ(ferry_template_init(&ctx, NULL, FERRY_SCHEDULE_MONTHLY, now, &err), FERRY_OK);
    check_expand(&ctx, "{{ ds }}", "2026-10-01");
    CHECK_INTEQ(ferry_template_init(&ctx, NULL, FERRY_SCHEDULE_WEEKLY, now, &err), FERRY_OK);
    check_expand(&ctx, "{{ ds }}", "2026-11-15");
}

static void test_errors(void)
{
    ferry_template_ctx ctx;
    ferry_error err;
    ferry_template_init(&ctx, "2026-11-21", FERRY_SCHEDULE_DAILY, 0, &err);
    ferry_status st;
    char *out = expand(&ctx, "s3://b/{{ dss }}/x", FERRY_TEMPLATE_TEXT, &st);
    CHECK_INTEQ(st, FERRY_ERR_USAGE);
    CHECK(out == NULL);
    out = expand(&ctx, "s3://b/{{ ds /x", FERRY_TEMPLATE_TEXT, &st);
    CHECK_INTEQ(st, FERRY_ERR_USAGE);
    out = expand(&ctx, "{% if x %}", FERRY_TEMPLATE_TEXT, &st);
    CHECK_INTEQ(st, FERRY_ERR_USAGE);
    out = expand(&ctx, "{{ params.missing }}", FERRY_TEMPLATE_TEXT, &st);
    CHECK_INTEQ(st, FERRY_ERR_USAGE);
    CHECK_INTEQ(ferry_template_init(&ctx, "2026-02-30", FERRY_SCHEDULE_DAILY, 0, &err), FERRY_ERR_USAGE);
    CHECK_INTEQ(ferry_template_init(&ctx, "21/11/2026", FERRY_SCHEDULE_DAILY, 0, &err), FERRY_ERR_USAGE);
    ferry_schedule s;
    CHECK_INTEQ(ferry_schedule_parse("@hourly", &s, &err), FERRY_OK);
    CHECK_INTEQ(s, FERRY_SCHEDULE_HOURLY);
    CHECK_INTEQ(ferry_schedule_parse("yearly", &s, &err), FERRY_ERR_USAGE);
    CHECK_INTEQ(ferry_template_add_param(&ctx, "=x", &err), FERRY_ERR_USAGE);
    CHECK_INTEQ(ferry_template_add_param(&ctx, "a-b=x", &err), FERRY_ERR_USAGE);
}

static void test_sql_quoting(void)
{
    ferry_template_ctx ctx;
    ferry_error err;
    ferry_template_init(&ctx, "2026-11-21", FERRY_SCHEDULE_DAILY, 0, &err);
    CHECK_INTEQ(ferry_template_add_param(&ctx, "region=O'Brien'; DROP TABLE t; --", &err), FERRY_OK);
    CHECK_INTEQ(ferry_template_add_param(&ctx, "path=a\\b", &err), FERRY_OK);
    ferry_status st;
    char *out = expand(&ctx, "SELECT * FROM t WHERE day = '{{ ds }}' AND r = {{ params.region }}",
                       FERRY_TEMPLATE_SQL_POSTGRES, &st);
    CHECK_INTEQ(st, FERRY_OK);
    CHECK_STREQ(out, "SELECT * FROM t WHERE day = '2026-11-21' AND r = 'O''Brien''; DROP TABLE t; --'");
    free(out);
    out = expand(&ctx, "WHERE r = '{{ params.region }}' AND d = {{ ds }}", FERRY_TEMPLATE_SQL_POSTGRES, &st);
    CHECK_STREQ(out, "WHERE r = 'O''Brien''; DROP TABLE t; --' AND d = '2026-11-21'");
    free(out);
    out = expand(&ctx, "WHERE p = '{{ params.path }}' AND q = {{ params.path }}", FERRY_TEMPLATE_SQL_MYSQL, &st);
    CHECK_STREQ(out, "WHERE p = 'a\\\\b' AND q = 'a\\\\b'");
    free(out);
    out = expand(&ctx, "WHERE p = '{{ params.path }}'", FERRY_TEMPLATE_SQL_POSTGRES, &st);
    CHECK_STREQ(out, "WHERE p = 'a\\b'");
    free(out);
    out = expand(&ctx, "SELECT 'it''s' AS \"{{ params.region }}\", {{ ds }}", FERRY_TEMPLATE_SQL_POSTGRES, &st);
    CHECK_STREQ(out, "SELECT 'it''s' AS \"O'Brien'; DROP TABLE t; --\", '2026-11-21'");
    free(out);
    out = expand(&ctx, "x={{ params.region }}", FERRY_TEMPLATE_TEXT, &st);
    CHECK_STREQ(out, "x=O'Brien'; DROP TABLE t; --");
    free(out);
}

int main(void)
{
    RUN(test_daily);
    RUN(test_month_and_leap_edges);
    RUN(test_hourly_and_weekly);
    RUN(test_default_is_last_complete_interval);
    RUN(test_errors);
    RUN(test_sql_quoting);
    return check_summary();
}
