/*
 * cmd_exec.c - `ferry exec CONN: "SQL" | --file F [--autocommit]`: run SQL
 * (Airflow's SQLExecuteQueryOperator); the rows of the last statement are
 * printed to stdout as CSV with a header.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"

static const char exec_help[] =
    "usage: ferry exec CONN: SQL [--autocommit] [--json] [-q]\n"
    "       ferry exec CONN: --file FILE [--autocommit] [--json] [-q]\n"
    "Runs the statements in one transaction (unless --autocommit) and prints the\n"
    "rows of the last statement as CSV with a header on stdout, or with --json as\n"
    "one JSON array of objects (values as strings, SQL NULL as null; at most 256 MiB).\n";

#define EXEC_JSON_MAX (256u * 1024 * 1024)

/* A growable text buffer, reused for every field (no allocation per value). */
typedef struct field_buf {
    char *data; /* owned */
    size_t cap;
} field_buf;

/* Room for at least `need` bytes in b; 0, or -1 when out of memory (b is
 * unchanged then). */
static int field_buf_reserve(field_buf *b, size_t need)
{
    if (need <= b->cap)
        return 0;
    size_t want = b->cap ? b->cap : 64;
    while (want < need) {
        if (want > SIZE_MAX / 2)
            return -1;
        want *= 2;
    }
    char *grown = realloc(b->data, want);
    if (!grown)
        return -1;
    b->data = grown;
    b->cap = want;
    return 0;
}

/* One CSV field (RFC 4180) starting at *p into b->data (NUL-terminated); an
 * unquoted empty field is NULL.  Returns the position after the field, or
 * NULL when out of memory. */
static const char *csv_field(const char *p, const char *end, field_buf *b, int *is_null)
{
    size_t n = 0;
    *is_null = 0;
    if (p < end && *p == '"') {
        p++;
        while (p < end) {
            if (*p == '"' && p + 1 < end && p[1] == '"')
                p++;
            else if (*p == '"') {
                p++;
                break;
            }
            if (field_buf_reserve(b, n + 2) != 0)
                return NULL;
            b->data[n++] = *p++;
        }
    } else {
        while (p < end && *p != ',' && *p != '\n' && *p != '\r') {
            if (field_buf_reserve(b, n + 2) != 0)
                return NULL;
            b->data[n++] = *p++;
        }
        *is_null = n == 0;
    }
    if (field_buf_reserve(b, n + 1) != 0)
        return NULL;
    b->data[n] = '\0';
    return p;
}

/* CSV with a header -> [{"col": "value" | null, …}, …] on stdout.  Returns
 * 0, or -1 when out of memory (the JSON printed so far is incomplete). */
static int print_csv_as_json(const char *data, size_t len)
{
    const char *p = data, *end = data + len;
    char *names[1024];
    size_t ncols = 0;
    field_buf field = {NULL, 0};
    int rc = -1;
    while (p < end && ncols < 1024) {
        int is_null;
        p = csv_field(p, end, &field, &is_null);
        if (!p || !(names[ncols] = strdup(field.data)))
            goto done;
        ncols++;
        if (p < end && *p == ',') {
            p++;
            continue;
        }
        break;
    }
    while (p < end && (*p == '\r' || *p == '\n'))
        p++;
    fputc('[', stdout);
    int first_row = 1;
    while (p < end) {
        fputs(first_row ? "{" : ",{", stdout);
        first_row = 0;
        for (size_t c = 0; c < ncols; c++) {
            int is_null;
            p = csv_field(p, end, &field, &is_null);
            if (!p)
                goto done;
            if (c)
                fputc(',', stdout);
            cli_json_string(stdout, names[c]);
            fputc(':', stdout);
            if (is_null)
                fputs("null", stdout);
            else
                cli_json_string(stdout, field.data);
            if (p < end && *p == ',')
                p++;
        }
        fputc('}', stdout);
        while (p < end && *p != '\n')
            p++;
        if (p < end)
            p++;
    }
    fputs("]\n", stdout);
    rc = 0;
done:
    for (size_t c = 0; c < ncols; c++)
        free(names[c]);
    free(field.data);
    return rc;
}

int cmd_exec(int argc, char **argv)
{
    const char *endpoint = NULL, *sql = NULL, *file = NULL;
    int autocommit = 0, json = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--autocommit") == 0)
            autocommit = 1;
        else if ((strcmp(argv[i], "--file") == 0 || strcmp(argv[i], "-f") == 0) && i + 1 < argc)
            file = argv[++i];
        else if (strcmp(argv[i], "--json") == 0)
            json = 1;
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
    ferry_status st = json ? ferry_memory_writer_new(EXEC_JSON_MAX, &out, &err)
                           : ferry_fd_writer_new(STDOUT_FILENO, "stdout", &out, &err);
    ferry_exec_options eo = {autocommit, out, -1};
    if (st == FERRY_OK)
        st = ferry_exec(endpoint, sql, &eo, &err);
    if (st == FERRY_OK && json) {
        size_t len;
        const char *data = ferry_memory_writer_data(out, &len);
        if (print_csv_as_json(data, len) != 0) {
            fputc('\n', stdout); /* end the partial JSON before the error */
            fflush(stdout);
            st = ferry_error_set(&err, FERRY_ERR_INTERNAL,
                                 "exec: out of memory converting the result to JSON");
        }
    }
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
