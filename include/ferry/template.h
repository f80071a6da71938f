/*
 * ferry/template.h - Airflow-style template variables in endpoints, keys and
 * queries, for nightly jobs:
 *   {{ ds }} {{ ds_nodash }} {{ ts }} {{ ts_nodash }} {{ logical_date }}
 *   {{ data_interval_start }} {{ data_interval_end }} {{ prev_ds }} {{ next_ds }}
 *   {{ prev_ds_nodash }} {{ next_ds_nodash }} {{ params.NAME }}
 * computed from a logical date and a schedule (daily, hourly, weekly, monthly)
 * exactly as Airflow computes them for a cron-style timetable: the logical date
 * is the start of the data interval.  An unknown variable is an error, never
 * an empty string.
 *
 * SQL text is expanded with quoting: inside a '…' literal a value has its
 * quotes doubled (and, for MySQL, its backslashes doubled); outside a literal
 * it is inserted as a complete quoted literal.  Values therefore never change
 * the statement's structure.
 */
#ifndef FERRY_TEMPLATE_H
#define FERRY_TEMPLATE_H

#include <stddef.h>
#include <time.h>
#include "ferry/error.h"
#include "ferry/export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ferry_schedule {
    FERRY_SCHEDULE_DAILY = 0,
    FERRY_SCHEDULE_HOURLY,
    FERRY_SCHEDULE_WEEKLY,   /* intervals start on Sunday 00:00 UTC, as Airflow's @weekly */
    FERRY_SCHEDULE_MONTHLY
} ferry_schedule;

typedef enum ferry_template_mode {
    FERRY_TEMPLATE_TEXT = 0,      /* paths, keys, URLs: values as they are */
    FERRY_TEMPLATE_SQL_POSTGRES,  /* SQL with standard strings */
    FERRY_TEMPLATE_SQL_MYSQL      /* SQL where backslash escapes inside literals */
} ferry_template_mode;

#define FERRY_TEMPLATE_MAX_PARAMS 64

typedef struct ferry_template_ctx {
    time_t interval_start;        /* the logical date (UTC) */
    time_t interval_end;
    time_t prev_start, next_start;
    size_t n_params;
    const char *param_names[FERRY_TEMPLATE_MAX_PARAMS];   /* borrowed, not NUL-terminated */
    size_t param_name_lens[FERRY_TEMPLATE_MAX_PARAMS];
    const char *param_values[FERRY_TEMPLATE_MAX_PARAMS];  /* borrowed, NUL-terminated */
} ferry_template_ctx;

/* Parse "daily", "hourly", "weekly", "monthly" (also "@daily" …). */
FERRY_API ferry_status ferry_schedule_parse(const char *text, ferry_schedule *out, ferry_error *err);

/* Set up the context. logical_date: "YYYY-MM-DD", "YYYY-MM-DDTHH:MM[:SS][Z|±HH:MM]"
 * or NULL for the default: the last complete interval before now (for daily,
 * yesterday in UTC). The date must be aligned to the schedule (e.g. hourly
 * dates on the hour). */
FERRY_API ferry_status ferry_template_init(ferry_template_ctx *ctx, const char *logical_date, ferry_schedule schedule,
                                           time_t now, ferry_error *err);

/* Add "--param name=value" (borrowed strings, must outlive ctx). */
FERRY_API ferry_status ferry_template_add_param(ferry_template_ctx *ctx, const char *name_eq_value, ferry_error *err);

/* Expand every {{ … }} in text. *out is malloc'd (caller frees); text without
 * templates is copied. Errors: unknown variable, unclosed braces, {% … %}. */
FERRY_API ferry_status ferry_template_expand(const ferry_template_ctx *ctx, const char *text, ferry_template_mode mode,
                                             char **out, ferry_error *err);

#ifdef __cplusplus
}
#endif
#endif
