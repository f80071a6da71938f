/*
 * pg_to_s3.c - libferry from C: export a Postgres table (or query) to an S3
 * object, gzip from the name, replacing it atomically, and print the summary.
 *
 *   pg_to_s3 warehouse:public.orders s3://lake/orders/dt=2026-11-21/orders.csv.gz
 *
 * Connections come from AIRFLOW_CONN_WAREHOUSE / AIRFLOW_CONN_AWS_DEFAULT as
 * with the ferry CLI. Build: cc pg_to_s3.c $(pkg-config --cflags --libs ferry)
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "ferry/ferry.h"

static void log_line(ferry_log_level level, const char *msg, void *ud)
{
    (void)ud;
    fprintf(stderr, "[%d] %s\n", (int)level, msg);
}

/* This copy's cancel token (ferry/cancel.h); a program running several copies
 * gives each its own and cancels them apart. */
static ferry_cancel_token *cancel;

static void on_signal(int signo)
{
    ferry_cancel_token_request(cancel, signo); /* the copy aborts cleanly: FERRY_ERR_INTERRUPTED */
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s SOURCE s3://BUCKET/KEY [SQL]\n", argv[0]);
        return FERRY_ERR_USAGE;
    }
    cancel = ferry_cancel_token_new();
    if (!cancel)
        return FERRY_ERR_INTERNAL;
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    ferry_log_set(log_line, NULL, FERRY_LOG_WARN);

    ferry_copy_options o;
    ferry_copy_options_init(&o);
    o.replace = 1;
    o.cancel = cancel;
    if (argc > 3)
        o.query = argv[3];

    ferry_summary sum;
    ferry_error err;
    ferry_error_clear(&err);
    ferry_status st = ferry_copy(argv[1], argv[2], &o, &sum, &err);
    /* the token stays until exit: the handlers may still use it */
    if (st != FERRY_OK) {
        fprintf(stderr, "error (%s): %s\n", ferry_status_name(st), err.msg);
        return (int)st;
    }
    printf("%lld rows, %lld bytes in %.2f s\n", (long long)sum.rows_read, (long long)sum.bytes_written, sum.seconds);
    return 0;
}
