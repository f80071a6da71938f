/*
 * cmd_exec.c - `ferry exec CONN: "SQL" | --file F [--autocommit]`: run SQL
 * (Airflow's SQLExecuteQueryOperator); the rows of the last statement are
 * printed to stdout as CSV with a header, or as JSON (--json, --json-typed).
 * The hook writes the rows in the format asked (ferry_exec_options.format);
 * this file parses the arguments and prints the summary.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"

static const char exec_help[] =
    "usage: ferry exec CONN: SQL [--autocommit] [--json | --json-typed] [-q]\n"
    "       ferry exec CONN: --file FILE [--autocommit] [--json | --json-typed] [-q]\n"
    "Runs the statements in one transaction (unless --autocommit) and prints the\n"
    "rows of the last statement as CSV with a header on stdout, or with --json as\n"
    "one JSON array of objects (values as strings, SQL NULL as null); --json-typed\n"
    "writes numeric columns as numbers and booleans as true/false.\n";

int cmd_exec(int argc, char **argv)
{
    const char *endpoint = NULL, *sql = NULL, *file = NULL;
    int autocommit = 0;
    ferry_exec_format format = FERRY_EXEC_CSV;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--autocommit") == 0)
            autocommit = 1;
        else if ((strcmp(argv[i], "--file") == 0 || strcmp(argv[i], "-f") == 0) && i + 1 < argc)
            file = argv[++i];
        else if (strcmp(argv[i], "--json") == 0)
            format = FERRY_EXEC_JSON;
        else if (strcmp(argv[i], "--json-typed") == 0)
            format = FERRY_EXEC_JSON_TYPED;
        else if (strcmp(argv[i], "-q") == 0 || strcmp(argv[i], "--quiet") == 0)
            cli.quiet = 1;
        else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(exec_help, stdout);
            return 0;
        } else if (argv[i][0] == '-' && argv[i][1] == '-')
            return cli_usage("exec", "unknown option '%s'", argv[i]);
        else if (!endpoint)
            endpoint = argv[i];
        else if (!sql)
            sql = argv[i];
        else
            return cli_usage("exec", "too many arguments");
    }
    if (!endpoint)
        return cli_usage("exec", "needs a connection endpoint such as warehouse:");
    if (!sql == !file)
        return cli_usage("exec", "needs exactly one of SQL or --file FILE");
    ferry_error err;
    ferry_error_clear(&err);
    char *from_file = NULL;
    if (file) {
        from_file = cli_read_text_file(file, &err);
        if (!from_file)
            return cli_fail(&err);
        sql = from_file;
    }
    int code = 0;
    char *sql_x = cli_expand(sql, cli_sql_mode(endpoint), &code);
    if (!sql_x) {
        free(from_file);
        return code;
    }
    sql = sql_x;
    ferry_writer *out = NULL;
    ferry_status st = ferry_fd_writer_new(STDOUT_FILENO, "stdout", &out, &err);
    ferry_exec_options eo = {autocommit, out, -1, format};
    if (st == FERRY_OK)
        st = ferry_exec(endpoint, sql, &eo, &err);
    if (out)
        out->ops->free(out);
    free(from_file);
    free(sql_x);
    if (st != FERRY_OK)
        return cli_fail(&err);
    if (!cli.quiet && eo.rows_affected >= 0)
        fprintf(stderr, "ferry: exec: %lld rows\n", (long long)eo.rows_affected);
    return 0;
}
