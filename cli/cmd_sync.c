/*
 * cmd_sync.c - `ferry sync SOURCE DEST [options]`, and the output of every
 * run through ferry_sync: sync itself and the multi-file copies that select
 * files (--include/--exclude/--min-age/--max-age/--ignore-existing, which
 * cmd_copy.c hands here).  One line per file on stdout (or one JSON record),
 * the counts on stderr (or a closing JSON record).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char sync_help[] =
    "usage: ferry sync SOURCE DEST [options]\n"
    "\n"
    "Makes the directory or prefix DEST hold what SOURCE holds (the whole tree):\n"
    "copies each file missing at DEST or differing from it, and leaves the rest.\n"
    "A file differs when its size does, or its modification time: on local and SFTP\n"
    "destinations (which get the source's time with each copy) any difference, on S3\n"
    "a source newer than the object. Each file is replaced atomically.\n"
    "\n"
    "  --delete                also delete DEST files absent from SOURCE (not those a\n"
    "                          rule excludes), after every copy succeeded\n"
    "  --include GLOB          take only files matching GLOB (repeatable)\n"
    "  --exclude GLOB          leave files matching GLOB (repeatable)\n"
    "                          Rules apply in the order given, the first match decides;\n"
    "                          any --include excludes what no rule matched. GLOB: '*' within\n"
    "                          a directory, '**' across, '?', '[a-z]', '{a,b}'; a leading '/'\n"
    "                          matches from SOURCE's top, else at any depth (rclone's rules)\n"
    "  --min-age D             leave files modified less than D ago (still being written;\n"
    "                          D: seconds, or 90s, 5m, 1.5h, 1d)\n"
    "  --max-age D             leave files modified more than D ago\n"
    "  --ignore-existing       leave every file DEST has, changed or not\n"
    "  --dry-run               list what would be deleted, copied and skipped (with the\n"
    "                          reason), one line each, and the counts; change nothing\n"
    "  --s3-conn ID            connection for s3:// endpoints (default aws_default)\n"
    "  --retries N             attempts in all for a transient failure (default 5)\n"
    "  --timeout D             no progress for this long is a failure (default 300s)\n"
    "  --transfers N           files in flight at once (default 8, at most 64)\n"
    "  --max-memory SIZE       bound on all transfer buffers, shared by the files in flight\n"
    "                          (each gets its Nth; default: no bound)\n"
    "  --sse-c-key FILE        S3 SSE-C customer key (32 raw bytes or 44 characters of\n"
    "                          base64) of the objects written and read (see ferry copy)\n"
    "  --sse-c-copy-source-key FILE  S3 SSE-C key of an S3 SOURCE when it differs\n"
    "                          from --sse-c-key ('none': SOURCE is not SSE-C encrypted)\n"
    CLI_S3_WRITE_HELP
    "%s"
    "  --json                  one JSON record per file (as ferry copy's), then one with\n"
    "                          the counts\n"
    "  -q, --quiet             only failures\n"
    "\n"
    "Exit code: 0 when every copy and deletion succeeded, else the first failure's;\n"
    "an empty SOURCE is 5 and deletes nothing.\n";

enum {
    OPT_INCLUDE = 256, OPT_EXCLUDE, OPT_MIN_AGE, OPT_MAX_AGE, OPT_IGNORE_EXISTING, OPT_DELETE, OPT_DRY_RUN,
    OPT_S3_CONN, OPT_RETRIES, OPT_TIMEOUT, OPT_MAX_MEMORY,
    OPT_TRANSFERS,
    OPT_SSE_C_KEY, OPT_SSE_C_COPY_SOURCE_KEY /* issue 16: SSE-C */
};

static const struct option sync_options[] = {
    {"include", required_argument, NULL, OPT_INCLUDE},
    {"exclude", required_argument, NULL, OPT_EXCLUDE},
    {"min-age", required_argument, NULL, OPT_MIN_AGE},
    {"max-age", required_argument, NULL, OPT_MAX_AGE},
    {"ignore-existing", no_argument, NULL, OPT_IGNORE_EXISTING},
    {"delete", no_argument, NULL, OPT_DELETE},
    {"dry-run", no_argument, NULL, OPT_DRY_RUN},
    {"s3-conn", required_argument, NULL, OPT_S3_CONN},
    {"retries", required_argument, NULL, OPT_RETRIES},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"max-memory", required_argument, NULL, OPT_MAX_MEMORY},
    {"transfers", required_argument, NULL, OPT_TRANSFERS},
    {"sse-c-key", required_argument, NULL, OPT_SSE_C_KEY},
    {"sse-c-copy-source-key", required_argument, NULL, OPT_SSE_C_COPY_SOURCE_KEY},
    CLI_S3_WRITE_LONGOPTS,
    CLI_MANY_OPTIONS, /* --fail-fast, --skip-unsafe-names, --case-insensitive, --json (cli/many.c) */
    {"quiet", no_argument, NULL, 'q'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* ---------------------------------------------------------------- shared with copy */

int cli_rules_add(cli_rules *r, int include, const char *glob, const char *verb)
{
    if (r->n == CLI_MAX_RULES)
        return cli_usage(verb, "at most %d --include/--exclude rules", CLI_MAX_RULES);
    size_t n = strlen(glob);
    char *rule = malloc(n + 3);
    if (!rule)
        return cli_usage(verb, "out of memory");
    rule[0] = include ? '+' : '-';
    rule[1] = ' ';
    memcpy(rule + 2, glob, n + 1);
    r->v[r->n++] = rule;
    return 0;
}

void cli_rules_free(cli_rules *r)
{
    for (size_t i = 0; i < r->n; i++)
        free((char *)r->v[i]);
    r->n = 0;
}

int cli_parse_age(const char *verb, const char *opt, const char *text, double *out)
{
    double d = cli_parse_duration(text);
    if (d < 0)
        return cli_usage(verb, "bad %s '%s' (a duration: 600, 90s, 30m, 1.5h, 1d)", opt, text);
    *out = d;
    return 0;
}

/* One event as copy prints a file's result (cli/many.c). */
static void print_event(const ferry_sync_event *ev, void *ud)
{
    (void)ud;
    cli_file_result r = {.action = ev->action, .name = ev->name, .src = ev->src, .dst = ev->dst,
                         .status = ev->status, .sum = ev->sum, .err = ev->err, .reason = ev->reason,
                         .dry_run = ev->dry_run};
    cli_print_file(&r);
}

int cli_run_sync(const char *src, const char *dst, const ferry_copy_options *o, unsigned flags)
{
    ferry_error err;
    ferry_error_clear(&err);
    ferry_sync_counts c;
    double t0 = now_seconds();
    ferry_status st = ferry_sync(src, dst, o, flags, print_event, NULL, &c, &err);
    double secs = now_seconds() - t0;
    if (st == FERRY_ERR_IO && cli_stdout_reader_gone())
        return 0;
    int dry = (flags & FERRY_SYNC_DRY_RUN) != 0;
    int is_sync = (flags & FERRY_SYNC_COMPARE) != 0;
    int per_file = c.copied + c.failed + c.skipped + c.deleted > 0;
    if (cli.json) {
        fprintf(stdout,
                "{\"ok\":%s,\"command\":\"%s\",\"dry_run\":%s,\"copied\":%lld,\"skipped\":%lld,\"deleted\":%lld,"
                "\"failed\":%lld,\"bytes_written\":%lld,\"seconds\":%.3f",
                st == FERRY_OK ? "true" : "false", is_sync ? "sync" : "copy", dry ? "true" : "false",
                (long long)c.copied, (long long)c.skipped, (long long)c.deleted, (long long)c.failed,
                (long long)c.bytes, secs);
        if (st != FERRY_OK) {
            fprintf(stdout, ",\"exit_code\":%d,\"error\":", (int)st);
            cli_json_string(stdout, err.msg[0] ? err.msg : ferry_status_name(st));
        }
        fputs("}\n", stdout);
        fflush(stdout);
        return st == FERRY_OK ? 0 : (int)st;
    }
    if (st != FERRY_OK && !per_file)
        return cli_fail(&err);
    if (!cli.quiet) {
        if (dry)
            fprintf(stderr, "ferry: dry run: %lld to copy, %lld to skip, %lld to delete; nothing changed\n",
                    (long long)c.copied, (long long)c.skipped, (long long)c.deleted);
        else if (is_sync)
            fprintf(stderr, "ferry: sync: %lld copied, %lld skipped, %lld deleted, %lld failed (%lld bytes, %.2f s)\n",
                    (long long)c.copied, (long long)c.skipped, (long long)c.deleted, (long long)c.failed,
                    (long long)c.bytes, secs);
        else
            fprintf(stderr, "ferry: %lld files copied, %lld skipped, %lld failed\n", (long long)c.copied,
                    (long long)c.skipped, (long long)c.failed);
    }
    if (st != FERRY_OK && c.failed == 0)
        return cli_fail(&err); /* after the per-file lines: a failure of no one file (a listing, a signal) */
    return st == FERRY_OK ? 0 : (int)st;
}

/* ---------------------------------------------------------------- ferry sync */

int cmd_sync(int argc, char **argv)
{
    ferry_copy_options o;
    ferry_copy_options_init(&o);
    cli_rules rules;
    rules.n = 0;
    unsigned flags = FERRY_SYNC_COMPARE;
    int c, rc = 0;
    optind = 1;
    static cli_s3_write s3w; /* --metadata/--tags (live until exit) */
    while (rc == 0 && (c = getopt_long(argc, argv, "qh", sync_options, NULL)) != -1) {
        if (cli_s3_write_opt("sync", c, optarg, &s3w, &o, &rc))
            continue;
        switch (c) {
        case OPT_INCLUDE: rc = cli_rules_add(&rules, 1, optarg, "sync"); break;
        case OPT_EXCLUDE: rc = cli_rules_add(&rules, 0, optarg, "sync"); break;
        case OPT_MIN_AGE: rc = cli_parse_age("sync", "--min-age", optarg, &o.min_age); break;
        case OPT_MAX_AGE: rc = cli_parse_age("sync", "--max-age", optarg, &o.max_age); break;
        case OPT_IGNORE_EXISTING: o.ignore_existing = 1; break;
        case OPT_DELETE: flags |= FERRY_SYNC_DELETE; break;
        case OPT_DRY_RUN: flags |= FERRY_SYNC_DRY_RUN; break;
        case OPT_S3_CONN: o.s3_conn = optarg; break;
        case OPT_RETRIES: rc = cli_opt_retries("sync", optarg, &o.max_retries); break;
        case OPT_TIMEOUT: rc = cli_opt_timeout("sync", optarg, &o.timeout); break;
        case OPT_MAX_MEMORY: rc = cli_opt_max_memory("sync", optarg, &o.max_memory); break;
        case OPT_TRANSFERS: rc = cli_opt_transfers("sync", optarg, &o.transfers); break;
        case OPT_SSE_C_KEY: o.s3_sse_c_key_file = optarg; break;
        case OPT_SSE_C_COPY_SOURCE_KEY: o.s3_sse_c_copy_source_key_file = optarg; break;
        case 'q': cli.quiet = 1; break;
        case 'h':
            printf(sync_help, cli_many_help);
            cli_rules_free(&rules);
            return 0;
        default:
            if (!cli_many_option(c, &o))
                rc = cli_usage("sync", "bad option");
        }
    }
    if (rc == 0 && argc - optind != 2)
        rc = cli_usage("sync", "needs SOURCE and DEST");
    if (rc == 0)
        rc = cli_s3_write_check("sync", &o);
    if (rc != 0) {
        cli_rules_free(&rules);
        return rc;
    }
    o.filter_rules = rules.v;
    o.n_filter_rules = rules.n;
    int code = 0;
    char *src = cli_expand(argv[optind], FERRY_TEMPLATE_TEXT, &code);
    char *dst = src ? cli_expand(argv[optind + 1], FERRY_TEMPLATE_TEXT, &code) : NULL;
    if (src && dst)
        code = cli_run_sync(src, dst, &o, flags);
    free(src);
    free(dst);
    cli_rules_free(&rules);
    return code;
}
