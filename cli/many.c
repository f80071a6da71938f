/*
 * many.c - what every multi-file command shares (`ferry copy` of many files,
 * `ferry sync`): the options --fail-fast, --skip-unsafe-names,
 * --case-insensitive and --json (one table, one parser, one help text) and
 * the per-file result, one line or one JSON record with the same fields
 * whichever command printed it.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

const char cli_many_help[] =
    "  --fail-fast             many files: start no new file after the first failure (the\n"
    "                          files in flight finish or fail whole)\n"
    "  --skip-unsafe-names     many files: a listed name that is no destination name of its\n"
    "                          own ('..', '', '/abs', a name listed twice, or with\n"
    "                          --case-insensitive one equal but for case to an earlier one)\n"
    "                          is a warning, not a failed file (exit 7)\n"
    "  --case-insensitive      many files: DEST folds case (a Windows or macOS share, FAT):\n"
    "                          names equal but for ASCII case are one destination name, the\n"
    "                          second a failed file; sync compares names without case\n";

int cli_many_option(int c, ferry_copy_options *o)
{
    switch (c) {
    case CLI_OPT_FAIL_FAST: o->fail_fast = 1; return 1;
    case CLI_OPT_SKIP_UNSAFE: o->skip_unsafe_names = 1; return 1;
    case CLI_OPT_CASE_INSENSITIVE: o->case_insensitive = 1; return 1;
    case CLI_OPT_JSON: cli.json = 1; return 1;
    default: return 0;
    }
}

static const char *const action_names[] = {"copy", "skip", "delete"};

void cli_print_file(const cli_file_result *r)
{
    char s[1024] = "", d[1024] = "";
    if (r->src)
        snprintf(s, sizeof s, "%s", r->src);
    if (r->dst)
        snprintf(d, sizeof d, "%s", r->dst);
    ferry_scrub(s, sizeof s);
    ferry_scrub(d, sizeof d);
    const char *msg = r->status == FERRY_OK ? NULL : r->err && r->err->msg[0] ? r->err->msg
                                                                              : ferry_status_name(r->status);
    const ferry_summary *sum = r->sum;
    long long bytes_read = sum && sum->bytes_read > 0 ? (long long)sum->bytes_read : 0;
    long long bytes_written = sum && sum->bytes_written > 0 ? (long long)sum->bytes_written : 0;
    double seconds = sum ? sum->seconds : 0;
    if (cli.json) {
        /* one record per file: source, destination, bytes, seconds, status, error (and what was done) */
        fprintf(stdout, "{\"ok\":%s,\"status\":\"%s\",\"action\":\"%s\",\"dry_run\":%s",
                r->status == FERRY_OK ? "true" : "false",
                r->status != FERRY_OK ? "failed" : r->action == FERRY_SYNC_SKIP ? "skipped" : "ok",
                action_names[r->action], r->dry_run ? "true" : "false");
        if (r->name) {
            fputs(",\"name\":", stdout);
            cli_json_string(stdout, r->name);
        }
        fputs(",\"source\":", stdout);
        if (r->src)
            cli_json_string(stdout, s);
        else
            fputs("null", stdout);
        fputs(",\"destination\":", stdout);
        cli_json_string(stdout, d);
        if (r->reason) {
            fputs(",\"reason\":", stdout);
            cli_json_string(stdout, r->reason);
        }
        fprintf(stdout, ",\"bytes\":%lld,\"bytes_read\":%lld,\"bytes_written\":%lld,\"seconds\":%.3f", bytes_written,
                bytes_read, bytes_written, seconds);
        if (r->status == FERRY_OK) {
            fputs(",\"error\":null}\n", stdout);
        } else {
            fprintf(stdout, ",\"exit_code\":%d,\"error\":{\"exit_code\":%d,\"message\":", (int)r->status,
                    (int)r->status);
            cli_json_string(stdout, msg);
            fputs("}}\n", stdout);
        }
        fflush(stdout);
        return;
    }
    if (r->status != FERRY_OK) {
        if (r->action == FERRY_SYNC_DELETE)
            printf("FAIL  delete %s: %s\n", d, msg);
        else
            printf("FAIL  %s -> %s: %s\n", s, d, msg);
    } else if (r->dry_run) {
        if (!cli.quiet)
            printf("%-6s %s (%s)\n", action_names[r->action], r->name ? r->name : s, r->reason ? r->reason : "");
    } else if (r->action == FERRY_SYNC_COPY) {
        if (!cli.quiet)
            printf("ok    %s -> %s (%lld bytes, %.2f s)\n", s, d, bytes_written, seconds);
    } else if (r->action == FERRY_SYNC_DELETE) {
        if (!cli.quiet)
            printf("del   %s\n", d);
    } else if (!cli.quiet && cli.log_level >= FERRY_LOG_INFO) {
        printf("skip  %s (%s)\n", r->name ? r->name : s, r->reason ? r->reason : "");
    }
    fflush(stdout);
}
