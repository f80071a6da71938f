/*
 * cmd_ops.c - the operator and sensor verbs: `ferry rm`, `ferry mkdir`,
 * `ferry wait`.  Each is a thin wrapper around one library call in
 * ferry/operators.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"

static void print_removed(const char *endpoint, void *ud)
{
    int dry = *(int *)ud;
    char shown[1024];
    snprintf(shown, sizeof shown, "%s", endpoint);
    ferry_scrub(shown, sizeof shown);
    if (!cli.quiet)
        printf("%s%s\n", dry ? "would delete " : "delete ", shown);
}

int cmd_rm(int argc, char **argv)
{
    int recursive = 0, dry_run = 0, n_targets = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--recursive") == 0 || strcmp(argv[i], "-r") == 0)
            recursive = 1;
        else if (strcmp(argv[i], "--dry-run") == 0 || strcmp(argv[i], "-n") == 0)
            dry_run = 1;
        else if (strcmp(argv[i], "-q") == 0 || strcmp(argv[i], "--quiet") == 0)
            cli.quiet = 1;
        else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs("usage: ferry rm ENDPOINT… [--recursive] [--dry-run] [-q]\n"
                  "  a key or file; a glob, a trailing '/' or --recursive deletes every file under it\n"
                  "  --dry-run  print what would be deleted, delete nothing\n",
                  stdout);
            return 0;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0')
            return cli_usage("rm", "unknown option '%s'", argv[i]);
        else
            n_targets++;
    }
    if (n_targets == 0)
        return cli_usage("rm", "needs at least one endpoint");
    int rc = 0;
    long total = 0;
    for (int i = 1; i < argc; i++) {
        if (argv[i][0] == '-' && argv[i][1] != '\0')
            continue;
        int code = 0;
        char *target = cli_expand(argv[i], FERRY_TEMPLATE_TEXT, &code);
        if (!target)
            return code;
        ferry_error err;
        ferry_error_clear(&err);
        long n = 0;
        ferry_status st = ferry_remove(target, recursive, dry_run, print_removed, &dry_run, &n, &err);
        free(target);
        total += n;
        if (st != FERRY_OK) {
            int c = cli_fail(&err);
            if (rc == 0)
                rc = c;
            if (st == FERRY_ERR_INTERRUPTED)
                break;
        }
    }
    if (!cli.quiet)
        fprintf(stderr, "ferry: %s%ld %s\n", dry_run ? "dry run: would delete " : "deleted ", total,
                total == 1 ? "entry" : "entries");
    return rc;
}

int cmd_mkdir(int argc, char **argv)
{
    int parents = 0;
    const char *target = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-p") == 0 || strcmp(argv[i], "--parents") == 0)
            parents = 1;
        else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs("usage: ferry mkdir ENDPOINT [-p]\n  -p  create missing parents, no error if it exists\n", stdout);
            return 0;
        } else if (argv[i][0] == '-')
            return cli_usage("mkdir", "unknown option '%s'", argv[i]);
        else if (!target)
            target = argv[i];
        else
            return cli_usage("mkdir", "takes one endpoint");
    }
    if (!target)
        return cli_usage("mkdir", "needs an endpoint");
    int code = 0;
    char *t = cli_expand(target, FERRY_TEMPLATE_TEXT, &code);
    if (!t)
        return code;
    ferry_error err;
    ferry_error_clear(&err);
    ferry_status st = ferry_mkdir(t, parents, &err);
    free(t);
    return st == FERRY_OK ? 0 : cli_fail(&err);
}

static void report_miss(int attempt, double next_wait, const char *why, void *ud)
{
    (void)ud;
    ferry_log(FERRY_LOG_INFO, "wait: check %d not met (%s); next in %.0f s", attempt, why, next_wait);
}

static const char wait_help[] =
    "usage: ferry wait ENDPOINT [options]\n"
    "  s3://b/key, s3://b/prefix/, s3://b/dir/*.csv   a key, any key under a prefix, a glob\n"
    "  partner:/in/file.csv, partner:/in/*.csv          an SFTP (or local) file or glob\n"
    "  https://host/health, api:/status                 answers 2xx\n"
    "  warehouse: --sql 'SELECT count(*) > 0 FROM t'    first cell truthy\n"
    "  --timeout D        give up after D (default 6h; exit 10)\n"
    "  --interval D       between checks (default 60s)\n"
    "  --exponential      double the interval after each miss (up to 1h)\n"
    "  --newer-than T     files/keys modified after T (unix seconds or YYYY-MM-DD[THH:MM:SSZ])\n"
    "  --match REGEX      HTTP: the body must match (POSIX extended)\n"
    "  --sql SQL          SQL: the query to run\n"
    "  -q, --quiet        no \"condition met\" line\n"
    "Durations: seconds (90, 1.5) or with a unit: 90s, 30m, 6h, 1d, 0.5h.\n";

static int64_t parse_time_arg(const char *s)
{
    char *end;
    long long v = strtoll(s, &end, 10);
    if (*end == '\0' && end != s)
        return v;
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *rest = strptime(s, "%Y-%m-%d", &tm);
    if (rest && (*rest == 'T' || *rest == ' '))
        rest = strptime(rest + 1, "%H:%M:%S", &tm);
    if (!rest || (*rest != '\0' && strcmp(rest, "Z") != 0))
        return -2;
    return (int64_t)timegm(&tm);
}

int cmd_wait(int argc, char **argv)
{
    ferry_wait_options o;
    ferry_wait_options_init(&o);
    const char *target = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has_value = i + 1 < argc;
        if ((strcmp(a, "--timeout") == 0 || strcmp(a, "--interval") == 0) && has_value) {
            double d = cli_parse_duration(argv[++i]);
            if (d < 0 || (d == 0 && strcmp(a, "--interval") == 0))
                return cli_usage("wait", "bad duration '%s' (e.g. 90s, 30m, 6h)", argv[i]);
            if (strcmp(a, "--timeout") == 0)
                o.timeout = d;
            else
                o.interval = d;
        } else if (strcmp(a, "--exponential") == 0) {
            o.exponential = 1;
        } else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
            cli.quiet = 1;
        } else if (strcmp(a, "--newer-than") == 0 && has_value) {
            o.newer_than = parse_time_arg(argv[++i]);
            if (o.newer_than == -2)
                return cli_usage("wait", "bad time '%s'", argv[i]);
        } else if (strcmp(a, "--match") == 0 && has_value) {
            o.body_regex = argv[++i];
        } else if (strcmp(a, "--sql") == 0 && has_value) {
            o.sql = argv[++i];
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(wait_help, stdout);
            return 0;
        } else if (a[0] == '-') {
            return cli_usage("wait", "unknown option or missing value '%s'", a);
        } else if (!target) {
            target = a;
        } else {
            return cli_usage("wait", "takes one endpoint");
        }
    }
    if (!target)
        return cli_usage("wait", "needs an endpoint");
    int code = 0;
    char *t = cli_expand(target, FERRY_TEMPLATE_TEXT, &code);
    char *sql = NULL;
    if (t && o.sql) {
        sql = cli_expand(o.sql, cli_sql_mode(t), &code);
        o.sql = sql;
    }
    if (!t || (o.sql && !sql)) {
        free(t);
        return code;
    }
    o.on_miss = report_miss;
    ferry_error err;
    ferry_error_clear(&err);
    ferry_status st = ferry_wait(t, &o, &err);
    free(t);
    free(sql);
    if (st != FERRY_OK)
        return cli_fail(&err);
    if (!cli.quiet)
        fprintf(stderr, "ferry: wait: condition met\n");
    return 0;
}
