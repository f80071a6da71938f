/*
 * template.c - Airflow's template variables ({{ ds }}, {{ data_interval_end }},
 * {{ params.x }} …) for endpoints and queries: interval arithmetic per
 * schedule, and an expander that quotes values it puts into SQL.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "core/buf.h"
#include "ferry/template.h"

ferry_status ferry_schedule_parse(const char *text, ferry_schedule *out, ferry_error *err)
{
    const char *t = text && text[0] == '@' ? text + 1 : text;
    if (t && strcmp(t, "daily") == 0)
        *out = FERRY_SCHEDULE_DAILY;
    else if (t && strcmp(t, "hourly") == 0)
        *out = FERRY_SCHEDULE_HOURLY;
    else if (t && strcmp(t, "weekly") == 0)
        *out = FERRY_SCHEDULE_WEEKLY;
    else if (t && strcmp(t, "monthly") == 0)
        *out = FERRY_SCHEDULE_MONTHLY;
    else
        return ferry_error_set(err, FERRY_ERR_USAGE, "unknown schedule '%s' (daily, hourly, weekly, monthly)",
                               text ? text : "");
    return FERRY_OK;
}

static time_t add_months(time_t t, int months)
{
    struct tm tm;
    gmtime_r(&t, &tm);
    int m = tm.tm_mon + months;
    tm.tm_year += m >= 0 ? m / 12 : -((11 - m) / 12);
    tm.tm_mon = ((m % 12) + 12) % 12;
    return timegm(&tm);
}

/* The start of the interval that contains t. */
static time_t interval_floor(time_t t, ferry_schedule s)
{
    struct tm tm;
    gmtime_r(&t, &tm);
    tm.tm_sec = 0;
    tm.tm_min = 0;
    if (s != FERRY_SCHEDULE_HOURLY)
        tm.tm_hour = 0;
    time_t floor = timegm(&tm);
    if (s == FERRY_SCHEDULE_WEEKLY)
        floor -= (time_t)tm.tm_wday * 86400;
    if (s == FERRY_SCHEDULE_MONTHLY) {
        tm.tm_mday = 1;
        floor = timegm(&tm);
    }
    return floor;
}

static time_t interval_step(time_t start, ferry_schedule s, int n)
{
    switch (s) {
    case FERRY_SCHEDULE_HOURLY: return start + (time_t)n * 3600;
    case FERRY_SCHEDULE_WEEKLY: return start + (time_t)n * 7 * 86400;
    case FERRY_SCHEDULE_MONTHLY: return add_months(start, n);
    case FERRY_SCHEDULE_DAILY: break;
    }
    return start + (time_t)n * 86400;
}

static int parse_digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i]))
            return -1;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

/* YYYY-MM-DD[(T| )HH:MM[:SS[.fff]]][Z|±HH:MM] → UTC seconds */
static int parse_logical_date(const char *s, time_t *out)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    int y, mo, d, h = 0, mi = 0, sec = 0;
    const char *p = s;
    if (parse_digits(&p, 4, &y) || *p++ != '-' || parse_digits(&p, 2, &mo) || *p++ != '-' ||
        parse_digits(&p, 2, &d))
        return -1;
    long offset = 0;
    if (*p == 'T' || *p == ' ') {
        p++;
        if (parse_digits(&p, 2, &h) || *p++ != ':' || parse_digits(&p, 2, &mi))
            return -1;
        if (*p == ':') {
            p++;
            if (parse_digits(&p, 2, &sec))
                return -1;
            if (*p == '.') {
                p++;
                while (isdigit((unsigned char)*p))
                    p++;
            }
        }
        if (*p == 'Z') {
            p++;
        } else if (*p == '+' || *p == '-') {
            int sign = *p == '-' ? -1 : 1, oh, om;
            p++;
            if (parse_digits(&p, 2, &oh))
                return -1;
            if (*p == ':')
                p++;
            if (parse_digits(&p, 2, &om))
                return -1;
            offset = sign * (oh * 3600L + om * 60L);
        }
    }
    if (*p != '\0' || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
        return -1;
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    time_t t = timegm(&tm);
    struct tm check;
    gmtime_r(&t, &check);
    if (check.tm_mday != d) /* 2026-02-30 */
        return -1;
    *out = t - offset;
    return 0;
}

ferry_status ferry_template_init(ferry_template_ctx *ctx, const char *logical_date, ferry_schedule schedule,
                                 time_t now, ferry_error *err)
{
    memset(ctx, 0, sizeof *ctx);
    time_t start;
    if (logical_date && *logical_date) {
        if (parse_logical_date(logical_date, &start) != 0)
            return ferry_error_set(err, FERRY_ERR_USAGE,
                                   "bad --logical-date '%s' (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS[Z|+HH:MM])",
                                   logical_date);
        if (interval_floor(start, schedule) != start)
            return ferry_error_set(err, FERRY_ERR_USAGE,
                                   "--logical-date '%s' is not the start of a %s interval%s", logical_date,
                                   schedule == FERRY_SCHEDULE_HOURLY   ? "hourly"
                                   : schedule == FERRY_SCHEDULE_WEEKLY ? "weekly"
                                   : schedule == FERRY_SCHEDULE_MONTHLY ? "monthly"
                                                                        : "daily",
                                   schedule == FERRY_SCHEDULE_WEEKLY    ? " (weekly intervals start on Sunday 00:00 UTC)"
                                   : schedule == FERRY_SCHEDULE_MONTHLY ? " (the 1st of a month, 00:00 UTC)"
                                                                        : "");
    } else {
        /* the last complete interval: the one a scheduler runs at `now` */
        start = interval_step(interval_floor(now, schedule), schedule, -1);
    }
    ctx->interval_start = start;
    ctx->interval_end = interval_step(start, schedule, 1);
    ctx->prev_start = interval_step(start, schedule, -1);
    ctx->next_start = ctx->interval_end;
    return FERRY_OK;
}

ferry_status ferry_template_add_param(ferry_template_ctx *ctx, const char *name_eq_value, ferry_error *err)
{
    const char *eq = strchr(name_eq_value, '=');
    if (!eq || eq == name_eq_value)
        return ferry_error_set(err, FERRY_ERR_USAGE, "--param takes NAME=VALUE");
    for (const char *p = name_eq_value; p < eq; p++)
        if (!isalnum((unsigned char)*p) && *p != '_')
            return ferry_error_set(err, FERRY_ERR_USAGE, "--param name '%.*s' must be letters, digits and _",
                                   (int)(eq - name_eq_value), name_eq_value);
    if (ctx->n_params == FERRY_TEMPLATE_MAX_PARAMS)
        return ferry_error_set(err, FERRY_ERR_USAGE, "at most %d --param options", FERRY_TEMPLATE_MAX_PARAMS);
    ctx->param_names[ctx->n_params] = name_eq_value;
    ctx->param_name_lens[ctx->n_params] = (size_t)(eq - name_eq_value);
    ctx->param_values[ctx->n_params] = eq + 1;
    ctx->n_params++;
    return FERRY_OK;
}

/* The output is built in a ferry_buf (core/buf.h): failure is sticky, checked once. */

/* ---------------------------------------------------------------- variables */

static void format_time(time_t t, const char *fmt, char *out, size_t cap)
{
    struct tm tm;
    gmtime_r(&t, &tm);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    strftime(out, cap, fmt, &tm); /* fmt comes from the constant table in variable_value */
#pragma GCC diagnostic pop
}

/* The value of a variable into out; -1 when unknown. */
static int variable_value(const ferry_template_ctx *ctx, const char *name, size_t n, char *out, size_t cap,
                          const char **long_value)
{
    static const struct {
        const char *name;
        int which;          /* 0 start, 1 end, 2 prev, 3 next */
        const char *fmt;
    } vars[] = {
        {"ds", 0, "%Y-%m-%d"},
        {"ds_nodash", 0, "%Y%m%d"},
        {"ts", 0, "%Y-%m-%dT%H:%M:%S+00:00"},
        {"ts_nodash", 0, "%Y%m%dT%H%M%S"},
        {"logical_date", 0, "%Y-%m-%dT%H:%M:%S+00:00"},
        {"execution_date", 0, "%Y-%m-%dT%H:%M:%S+00:00"},
        {"data_interval_start", 0, "%Y-%m-%dT%H:%M:%S+00:00"},
        {"data_interval_end", 1, "%Y-%m-%dT%H:%M:%S+00:00"},
        {"prev_ds", 2, "%Y-%m-%d"},
        {"prev_ds_nodash", 2, "%Y%m%d"},
        {"next_ds", 3, "%Y-%m-%d"},
        {"next_ds_nodash", 3, "%Y%m%d"},
    };
    *long_value = NULL;
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        if (strlen(vars[i].name) != n || strncmp(vars[i].name, name, n) != 0)
            continue;
        time_t t = vars[i].which == 0   ? ctx->interval_start
                   : vars[i].which == 1 ? ctx->interval_end
                   : vars[i].which == 2 ? ctx->prev_start
                                        : ctx->next_start;
        format_time(t, vars[i].fmt, out, cap);
        return 0;
    }
    if (n > 7 && strncmp(name, "params.", 7) == 0) {
        for (size_t i = ctx->n_params; i-- > 0;) /* the last --param of a name wins */
            if (ctx->param_name_lens[i] == n - 7 && strncmp(ctx->param_names[i], name + 7, n - 7) == 0) {
                *long_value = ctx->param_values[i];
                return 0;
            }
    }
    return -1;
}

/* ---------------------------------------------------------------- SQL quoting */

/* Where the end of the SQL written so far is, as the server's lexer sees it:
 * PostgreSQL with standard_conforming_strings (the default), MySQL in its
 * default sql_mode (backslash escapes; "..." is a string).  The whole output
 * so far is scanned, inserted values included, so nothing depends on where
 * the text was cut by templates. */
typedef enum {
    SQL_CODE,           /* between tokens */
    SQL_STRING,         /* '...' */
    SQL_ESTRING,        /* PostgreSQL E'...': backslash escapes */
    SQL_DQSTRING,       /* MySQL "...": a string */
    SQL_IDENT,          /* PostgreSQL "..." */
    SQL_BACKTICK,       /* MySQL `...` */
    SQL_LINE_COMMENT,   /* -- (MySQL: "-- " and #) */
    SQL_BLOCK_COMMENT,  /* / * ... * / (nested in PostgreSQL) */
    SQL_DOLLAR          /* PostgreSQL $tag$ ... $tag$ */
} sql_state;

typedef struct sql_where {
    sql_state state;
    int escape_pending;  /* in a literal: a backslash waits for the next byte */
    int glue;            /* SQL_CODE: a quote written now would join the token before
                            it (a word such as E, or a '...' literal just closed) */
    size_t body;         /* SQL_DOLLAR: offset of the quoted body */
    size_t tag_at;       /* SQL_DOLLAR: offset of the opening "$tag$" */
    size_t tag_len;      /* SQL_DOLLAR: length of "$tag$" */
} sql_where;

static int sql_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static int sql_word_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '$' || c >= 0x80;
}

/* End of the literal whose opening quote q is at s[i] ('' inside, and
 * backslash escapes when bs); n when it is still open at the end, then *open
 * is set, and *pending when a backslash waits for its byte. */
static size_t sql_quoted_end(const char *s, size_t n, size_t i, char q, int bs, int *open, int *pending)
{
    *open = *pending = 0;
    for (size_t j = i + 1; j < n; j++) {
        if (bs && s[j] == '\\') {
            if (j + 1 == n)
                *pending = 1;
            j++;
        } else if (s[j] == q) {
            if (j + 1 == n)
                return n;
            if (s[j + 1] != q)
                return j + 1;
            j++;
        }
    }
    *open = 1;
    return n;
}

static void sql_scan(const char *s, size_t n, int mysql, sql_where *w)
{
    memset(w, 0, sizeof *w);
    size_t i = 0;
    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        size_t j;
        int open = 0, pending = 0;
        sql_state kind = SQL_CODE;
        w->glue = 0;
        if (sql_space(c)) {
            i++;
            continue;
        }
        if ((c == '-' && i + 1 < n && s[i + 1] == '-' &&
             (!mysql || (i + 2 < n && (unsigned char)s[i + 2] <= 0x20))) || (mysql && c == '#')) {
            kind = SQL_LINE_COMMENT; /* PostgreSQL ends it at CR as well as LF */
            for (j = i; j < n && s[j] != '\n' && (mysql || s[j] != '\r'); j++)
                ;
            open = j == n;
        } else if (mysql && c == '/' && i + 2 < n && s[i + 1] == '*' &&
                   (s[i + 2] == '!' || (s[i + 2] == 'M' && i + 3 < n && s[i + 3] == '!'))) {
            j = i + (s[i + 2] == '!' ? 3 : 4); /* an executable comment holds code */
        } else if (c == '/' && i + 1 < n && s[i + 1] == '*') {
            kind = SQL_BLOCK_COMMENT;
            int depth = 1;
            for (j = i + 2; j < n && depth > 0;) {
                if (!mysql && s[j] == '/' && j + 1 < n && s[j + 1] == '*') {
                    depth++;
                    j += 2;
                } else if (s[j] == '*' && j + 1 < n && s[j + 1] == '/') {
                    depth--;
                    j += 2;
                } else {
                    j++;
                }
            }
            open = depth > 0;
        } else if (!mysql && (c == 'E' || c == 'e') && i + 1 < n && s[i + 1] == '\'') {
            kind = SQL_ESTRING;
            j = sql_quoted_end(s, n, i + 1, '\'', 1, &open, &pending);
            w->glue = !open && j == n;
        } else if (c == '\'') {
            kind = SQL_STRING;
            j = sql_quoted_end(s, n, i, '\'', mysql, &open, &pending);
            w->glue = !open && j == n;
        } else if (c == '"') {
            kind = mysql ? SQL_DQSTRING : SQL_IDENT;
            j = sql_quoted_end(s, n, i, '"', mysql, &open, &pending);
        } else if (mysql && c == '`') {
            kind = SQL_BACKTICK;
            j = sql_quoted_end(s, n, i, '`', 0, &open, &pending);
        } else if (!mysql && c == '$' && !(i + 1 < n && s[i + 1] >= '0' && s[i + 1] <= '9')) {
            size_t k = i + 1;
            while (k < n && s[k] != '$' && sql_word_char((unsigned char)s[k]))
                k++;
            if (k < n && s[k] == '$') {
                kind = SQL_DOLLAR;
                size_t tag_len = k + 1 - i;
                for (j = k + 1; j < n && !(n - j >= tag_len && memcmp(s + j, s + i, tag_len) == 0); j++)
                    ;
                open = j == n;
                if (open) {
                    w->tag_at = i;
                    w->tag_len = tag_len;
                    w->body = k + 1;
                } else {
                    j += tag_len;
                }
            } else {
                j = i + 1;
            }
        } else if (sql_word_char(c)) {
            for (j = i + 1; j < n && sql_word_char((unsigned char)s[j]); j++)
                ;
            w->glue = j == n;
        } else {
            j = i + 1;
        }
        if (open) {
            w->state = kind;
            w->escape_pending = pending;
            return;
        }
        i = j;
    }
    w->state = SQL_CODE;
}

/* Append v with quote doubled, and backslashes too when bs. */
static void sql_escape_into(ferry_buf *b, const char *v, char quote, int bs)
{
    for (const char *p = v; *p; p++) {
        if (*p == quote || (bs && *p == '\\'))
            ferry_buf_append(b, p, 1);
        ferry_buf_append(b, p, 1);
    }
}

/* Insert v at the end of b (the SQL so far, from offset from on) so that it
 * stays one value: a complete literal between tokens, escaped inside a
 * literal or an identifier, as it is inside a comment or a dollar quote when
 * it cannot end it.  Returns NULL, or why it cannot be done. */
static const char *sql_insert(ferry_buf *b, size_t from, int mysql, const char *v)
{
    sql_where w;
    sql_scan(b->data + from, b->len - from, mysql, &w);
    if (w.escape_pending)
        return "it follows a backslash inside a literal";
    switch (w.state) {
    case SQL_CODE:
        if (w.glue)
            ferry_buf_append(b, " ", 1); /* E'…' or '…''…' would take it in */
        ferry_buf_append(b, "'", 1);
        sql_escape_into(b, v, '\'', mysql);
        ferry_buf_append(b, "'", 1);
        return NULL;
    case SQL_STRING: sql_escape_into(b, v, '\'', mysql); return NULL;
    case SQL_ESTRING: sql_escape_into(b, v, '\'', 1); return NULL;
    case SQL_DQSTRING: sql_escape_into(b, v, '"', 1); return NULL;
    case SQL_IDENT: sql_escape_into(b, v, '"', 0); return NULL;
    case SQL_BACKTICK: sql_escape_into(b, v, '`', 0); return NULL;
    case SQL_LINE_COMMENT:
        if (strpbrk(v, "\r\n"))
            return "a line break in the value would end the SQL comment";
        ferry_buf_append(b, v, strlen(v));
        return NULL;
    case SQL_BLOCK_COMMENT: {
        size_t n = strlen(v);
        char last = b->len ? b->data[b->len - 1] : 0;
        if (strstr(v, "*/") || strstr(v, "/*") || (n && (v[n - 1] == '*' || v[n - 1] == '/')) ||
            (n && ((last == '*' && v[0] == '/') || (last == '/' && v[0] == '*'))))
            return "the value would end or nest the SQL comment";
        /* MySQL runs the body of / *! ... * / and / *M! ... * / as code */
        if (mysql && n &&
            (((v[0] == '!' || v[0] == 'M') && b->len >= 2 && memcmp(b->data + b->len - 2, "/*", 2) == 0) ||
             (v[0] == '!' && b->len >= 3 && memcmp(b->data + b->len - 3, "/*M", 3) == 0)))
            return "the value would make the comment executable";
        ferry_buf_append(b, v, n);
        return NULL;
    }
    case SQL_DOLLAR: {
        /* the body is SQL of its own (a function body): insert there, then
         * make sure the closing $tag$ (or a start of it) did not appear */
        size_t before = b->len;
        const char *why = sql_insert(b, from + w.body, mysql, v);
        if (why || b->failed)
            return why;
        const char *tag = b->data + from + w.tag_at;
        const char *body = b->data + from + w.body;
        size_t body_len = b->len - (from + w.body);
        for (size_t k = 0; k + w.tag_len <= body_len; k++)
            if (memcmp(body + k, tag, w.tag_len) == 0)
                return "the value would end the $-quoted string";
        for (size_t p = 1; p < w.tag_len && b->len > before && p <= body_len; p++)
            if (memcmp(b->data + b->len - p, tag, p) == 0)
                return "the value would end the $-quoted string";
        return NULL;
    }
    }
    return NULL;
}

ferry_status ferry_template_expand(const ferry_template_ctx *ctx, const char *text, ferry_template_mode mode,
                                   char **out, ferry_error *err)
{
    *out = NULL;
    ferry_buf b = {0};
    int mysql = mode == FERRY_TEMPLATE_SQL_MYSQL;
    const char *p = text;
    ferry_buf_append(&b, "", 0);
    for (;;) {
        const char *open = strstr(p, "{{");
        const char *stmt = strstr(p, "{%");
        if (stmt && (!open || stmt < open)) {
            ferry_buf_release(&b);
            return ferry_error_set(err, FERRY_ERR_USAGE,
                                   "template at offset %zu: only {{ variable }} is supported, not {%% … %%}",
                                   (size_t)(stmt - text));
        }
        if (!open) {
            ferry_buf_append(&b, p, strlen(p));
            break;
        }
        ferry_buf_append(&b, p, (size_t)(open - p));
        const char *close = strstr(open + 2, "}}");
        if (!close) {
            ferry_buf_release(&b);
            return ferry_error_set(err, FERRY_ERR_USAGE, "template at offset %zu: '{{' without '}}'",
                                   (size_t)(open - text));
        }
        const char *name = open + 2;
        const char *end = close;
        while (name < end && isspace((unsigned char)*name))
            name++;
        while (end > name && isspace((unsigned char)end[-1]))
            end--;
        char value[64];
        const char *long_value;
        if (variable_value(ctx, name, (size_t)(end - name), value, sizeof value, &long_value) != 0) {
            ferry_buf_release(&b);
            return ferry_error_set(err, FERRY_ERR_USAGE,
                                   "unknown template variable '%.*s' (ds, ds_nodash, ts, ts_nodash, "
                                   "logical_date, data_interval_start, data_interval_end, prev_ds, next_ds, "
                                   "params.NAME from --param)",
                                   (int)(end - name), name);
        }
        const char *v = long_value ? long_value : value;
        if (mode == FERRY_TEMPLATE_TEXT) {
            ferry_buf_append(&b, v, strlen(v));
        } else if (!b.failed) {
            const char *why = sql_insert(&b, 0, mysql, v);
            if (why) {
                ferry_buf_release(&b);
                return ferry_error_set(err, FERRY_ERR_USAGE, "template at offset %zu: cannot insert '%.*s' here: %s",
                                       (size_t)(open - text), (int)(end - name), name, why);
            }
        }
        p = close + 2;
    }
    if (b.failed) {
        ferry_buf_release(&b);
        return ferry_error_oom(err, NULL, NULL, NULL);
    }
    *out = b.data;
    return FERRY_OK;
}
