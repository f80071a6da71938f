/*
 * cmd_ls.c - `ferry ls ENDPOINT [--recursive] [--long] [--json]`: list what
 * an endpoint holds (S3 keys under a prefix, files in a directory), through
 * the list slot of the endpoint's hook.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"

static const char ls_help[] =
    "usage: ferry ls ENDPOINT [--recursive] [--long] [--json]\n"
    "  ENDPOINT     s3://bucket/prefix, s3://bucket/dir/*.csv, a local directory or glob\n"
    "  --recursive  descend into sub-directories / list every key under the prefix\n"
    "               (default: one level, S3 delimiter '/')\n"
    "  --long       size and modification time (UTC) for each entry\n"
    "  --json       one JSON array of {name, size, mtime, is_dir}\n";

typedef struct ls_state {
    int long_format;
    int json;
    long count;
} ls_state;

static ferry_status print_entry(const ferry_entry *e, void *ud, ferry_error *err)
{
    (void)err;
    ls_state *s = ud;
    if (s->json) {
        fputs(s->count ? ",{\"name\":" : "{\"name\":", stdout);
        cli_json_string(stdout, e->name);
        fprintf(stdout, ",\"size\":%lld,\"mtime\":%lld,\"is_dir\":%s}", (long long)e->size, (long long)e->mtime,
                e->is_dir ? "true" : "false");
    } else if (s->long_format) {
        char when[32] = "-";
        if (e->mtime >= 0) {
            time_t t = (time_t)e->mtime;
            struct tm tm;
            gmtime_r(&t, &tm);
            strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
        }
        printf("%12lld  %-20s  %s%s\n", (long long)e->size, when, e->name, e->is_dir ? "/" : "");
    } else {
        printf("%s%s\n", e->name, e->is_dir ? "/" : "");
    }
    s->count++;
    return FERRY_OK;
}

int cmd_ls(int argc, char **argv)
{
    const char *target = NULL;
    int recursive = 0;
    ls_state s = {0, 0, 0};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--recursive") == 0 || strcmp(argv[i], "-r") == 0)
            recursive = 1;
        else if (strcmp(argv[i], "--long") == 0 || strcmp(argv[i], "-l") == 0)
            s.long_format = 1;
        else if (strcmp(argv[i], "--json") == 0)
            s.json = cli.json = 1;
        else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(ls_help, stdout);
            return 0;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0')
            return cli_usage("ls", "unknown option '%s'", argv[i]);
        else if (!target)
            target = argv[i];
        else
            return cli_usage("ls", "takes one endpoint");
    }
    if (!target)
        return cli_usage("ls", "needs an endpoint");
    ferry_error err;
    ferry_error_clear(&err);
    int code = 0;
    char *target_x = cli_expand(target, FERRY_TEMPLATE_TEXT, &code);
    if (!target_x)
        return code;
    if (s.json)
        fputc('[', stdout);
    ferry_status st = ferry_list(target_x, recursive, print_entry, &s, &err);
    if (s.json)
        fputs("]\n", stdout);
    free(target_x);
    if (st != FERRY_OK)
        return cli_fail(&err);
    return 0;
}

int cmd_ls_print(const char *endpoint, int recursive)
{
    ls_state s = {0, 0, 0};
    ferry_error err;
    ferry_error_clear(&err);
    if (ferry_list(endpoint, recursive, print_entry, &s, &err) != FERRY_OK)
        return cli_fail(&err);
    return 0;
}
