/*
 * cmd_conn.c - `ferry conn list|get ID|test ID`: what ferry can see of the
 * connections, always with secrets masked.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "cli/cli.h"

/* One help text per sub-command: `ferry conn get --help` (= `ferry help conn
 * get`) prints its own, `ferry conn --help` all three. */
static const char *const conn_sub_help[][2] = {
    {"list", "usage: ferry conn list [--json]   the connection ids ferry can see and where each comes from\n"},
    {"get", "usage: ferry conn get ID           the connection as Airflow JSON, secrets shown as ***\n"
            "  a type no hook serves is shown with a warning, exit 0 (using it: exit 3)\n"},
    {"test", "usage: ferry conn test ID [--json] connect and authenticate; exit 0 when it works\n"},
};

static const char conn_help[] =
    "usage: ferry conn list [--json]\n"
    "       ferry conn get ID           the connection as Airflow JSON, secrets shown as ***\n"
    "       ferry conn test ID [--json] connect and authenticate; exit 0 when it works\n";

static int print_conn_help(const char *sub)
{
    for (size_t i = 0; sub && i < sizeof conn_sub_help / sizeof conn_sub_help[0]; i++)
        if (strcmp(sub, conn_sub_help[i][0]) == 0) {
            fputs(conn_sub_help[i][1], stdout);
            return 0;
        }
    fputs(conn_help, stdout);
    return 0;
}

static int conn_list(void)
{
    char **ids = NULL, **origins = NULL;
    ferry_error err;
    ferry_error_clear(&err);
    if (ferry_conn_list(&ids, &origins, &err) != FERRY_OK)
        return cli_fail(&err);
    if (cli.json)
        fputc('[', stdout);
    for (size_t i = 0; ids && ids[i]; i++) {
        if (cli.json) {
            fputs(i ? ",{\"conn_id\":" : "{\"conn_id\":", stdout);
            cli_json_string(stdout, ids[i]);
            fputs(",\"origin\":", stdout);
            cli_json_string(stdout, origins && origins[i] ? origins[i] : "");
            fputc('}', stdout);
        } else {
            printf("%-32s %s\n", ids[i], origins && origins[i] ? origins[i] : "");
        }
    }
    if (cli.json)
        fputs("]\n", stdout);
    ferry_strv_free(ids);
    ferry_strv_free(origins);
    return 0;
}

static int conn_get(const char *id)
{
    ferry_conn *c = NULL;
    ferry_error err;
    ferry_error_clear(&err);
    if (ferry_conn_resolve(id, &c, &err) != FERRY_OK)
        return cli_fail(&err);
    /* a type no hook serves: still shown (exit 0), with a warning that ferry
     * cannot use it (copy/ls/... with it exit 3, configuration) */
    if (!ferry_hook_for_type(c->type))
        ferry_log(FERRY_LOG_WARN, "connection '%s' has type '%s', which no hook serves: ferry cannot use it", id,
                  c->type ? c->type : "");
    char *json = ferry_conn_to_json_masked(c);
    ferry_conn_free(c);
    if (!json) {
        ferry_error_oom(&err, NULL, NULL, NULL);
        return cli_fail(&err);
    }
    /* masked by field and each value as free text (core/mask.h); the JSON
     * text as a whole is not scrubbed again: a secret matching across its
     * syntax could cut it apart */
    puts(json);
    free(json);
    return 0;
}

static int conn_test(const char *id)
{
    char info[1024] = "";
    ferry_error err;
    ferry_error_clear(&err);
    if (ferry_conn_test(id, info, sizeof info, &err) != FERRY_OK)
        return cli_fail(&err);
    ferry_scrub(info, sizeof info);
    if (cli.json) {
        fputs("{\"ok\":true,\"conn_id\":", stdout);
        cli_json_string(stdout, id);
        fputs(",\"info\":", stdout);
        cli_json_string(stdout, info);
        fputs("}\n", stdout);
    } else {
        printf("ok: %s: %s\n", id, info);
    }
    return 0;
}

int cmd_conn(int argc, char **argv)
{
    const char *sub = NULL, *id = NULL;
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return print_conn_help(i > 1 && argv[1][0] != '-' ? argv[1] : NULL);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            cli.json = 1;
        else if (argv[i][0] == '-')
            return cli_usage("conn", "unknown option '%s'", argv[i]);
        else if (!sub)
            sub = argv[i];
        else if (!id)
            id = argv[i];
        else
            return cli_usage("conn", "too many arguments");
    }
    if (!sub)
        return cli_usage("conn", "needs list, get ID or test ID");
    if (strcmp(sub, "list") == 0)
        return conn_list();
    if (!id)
        return cli_usage("conn", "'%s' needs a connection id", sub);
    if (strcmp(sub, "get") == 0)
        return conn_get(id);
    if (strcmp(sub, "test") == 0)
        return conn_test(id);
    return cli_usage("conn", "unknown subcommand '%s'", sub);
}
