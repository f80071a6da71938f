/*
 * test_core.c - errors, secret masking in errors and logs, the retry policy
 * (delay bounds, which errors are retried, giving up), endpoint parsing and
 * format/compression inference.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "ferry/ferry.h"

static void test_error_hook_format(void)
{
    ferry_error err;
    ferry_error_clear(&err);
    ferry_status st = ferry_error_hook(&err, FERRY_ERR_NOT_FOUND, "postgres", "warehouse",
                                       "COPY failed: %s\n", "relation \"ordrs\" does not exist");
    CHECK_INTEQ(st, FERRY_ERR_NOT_FOUND);
    CHECK_STREQ(err.msg, "postgres(warehouse): COPY failed: relation \"ordrs\" does not exist");
    ferry_error_prefix(&err, "copy %s", "x");
    CHECK_STREQ(err.msg, "copy x: postgres(warehouse): COPY failed: relation \"ordrs\" does not exist");
    CHECK_INTEQ(err.status, FERRY_ERR_NOT_FOUND);
    CHECK_STREQ(ferry_status_name(FERRY_ERR_EXISTS), "destination exists");
}

static char last_log[2048];
static void capture_log(ferry_log_level level, const char *msg, void *ud)
{
    (void)level;
    (void)ud;
    snprintf(last_log, sizeof last_log, "%s", msg);
}

static void test_secret_masking(void)
{
    ferry_secret_add("s3cr3t/p@ss");
    ferry_error err;
    ferry_error_clear(&err);
    ferry_error_set(&err, FERRY_ERR_CONNECT, "login with s3cr3t/p@ss failed, uri postgresql://u:s3cr3t%%2Fp%%40ss@h");
    CHECK(strstr(err.msg, "s3cr3t") == NULL);
    CHECK(strstr(err.msg, "***") != NULL);
    ferry_log_set(capture_log, NULL, FERRY_LOG_DEBUG);
    ferry_log(FERRY_LOG_DEBUG, "debug: password=%s", "s3cr3t/p@ss");
    CHECK(strstr(last_log, "s3cr3t") == NULL);
    CHECK_STREQ(last_log, "debug: password=***");
    ferry_log_set(NULL, NULL, FERRY_LOG_WARN);
    char buf[64] = "ab"; /* secrets shorter than 3 bytes are not registered */
    ferry_secret_add("ab");
    ferry_scrub(buf, sizeof buf);
    CHECK_STREQ(buf, "ab");
    ferry_secret_clear();
}

static void test_retry_delay_bounds(void)
{
    ferry_retry r;
    ferry_retry_init(&r, 5);
    r.rng = 12345;
    for (int attempt = 1; attempt <= 12; attempt++) {
        double cap = 0.2 * (double)(1 << (attempt - 1));
        if (cap > 20.0)
            cap = 20.0;
        double max_seen = 0;
        for (int i = 0; i < 2000; i++) {
            double d = ferry_retry_delay(&r, attempt);
            CHECK(d >= 0 && d <= cap);
            if (d > max_seen)
                max_seen = d;
        }
        CHECK(max_seen > cap * 0.9); /* full jitter spans the whole range */
    }
}

static void test_retry_gives_up(void)
{
    ferry_retry r;
    ferry_retry_init(&r, 3);
    r.base_delay = 0.001;
    r.max_delay = 0.002;
    ferry_error err;
    ferry_error_set(&err, FERRY_ERR_DATA, "s3: connection reset");
    ferry_error_transient(&err);
    int tries = 1;
    while (ferry_retry_again(&r, &err))
        tries++;
    CHECK_INTEQ(tries, 3);
    CHECK_INTEQ(err.status, FERRY_ERR_TRANSIENT);
    CHECK(strstr(err.msg, "gave up after 3 attempts") != NULL);

    /* a failure to connect stays one (exit 4), no progress stays a timeout (10) */
    ferry_retry_init(&r, 2);
    r.base_delay = 0.001;
    ferry_error_set(&err, FERRY_ERR_CONNECT, "s3: connection refused");
    ferry_error_transient(&err);
    while (ferry_retry_again(&r, &err))
        ;
    CHECK_INTEQ(err.status, FERRY_ERR_CONNECT);
    CHECK(strstr(err.msg, "gave up after 2 attempts") != NULL);
    ferry_retry_init(&r, 2);
    r.base_delay = 0.001;
    ferry_error_set(&err, FERRY_ERR_TIMEOUT, "s3: no progress");
    ferry_error_transient(&err);
    while (ferry_retry_again(&r, &err))
        ;
    CHECK_INTEQ(err.status, FERRY_ERR_TIMEOUT);

    ferry_retry_init(&r, 3);
    ferry_error_set(&err, FERRY_ERR_NOT_FOUND, "s3: NoSuchKey");
    CHECK(ferry_retry_again(&r, &err) == 0); /* not transient: never retried */
    CHECK_INTEQ(err.status, FERRY_ERR_NOT_FOUND);

    ferry_retry_init(&r, 100);
    r.base_delay = 1.0;
    r.max_delay = 1.0;
    r.max_total = 0.5; /* total time bound */
    ferry_error_set(&err, FERRY_ERR_CONNECT, "timeout");
    ferry_error_transient(&err);
    int n = 0;
    while (ferry_retry_again(&r, &err) && n < 100)
        n++;
    CHECK(r.waited <= 0.5);
}

static void test_endpoint_local_and_stdio(void)
{
    ferry_endpoint *ep = NULL;
    ferry_error err;
    ferry_error_clear(&err);
    CHECK_INTEQ(ferry_endpoint_parse("-", NULL, 0, &ep, &err), FERRY_OK);
    CHECK_INTEQ(ep->kind, FERRY_EP_STDIO);
    ferry_endpoint_free(ep);
    CHECK_INTEQ(ferry_endpoint_parse("/tmp/out.csv.gz", NULL, 1, &ep, &err), FERRY_OK);
    CHECK_INTEQ(ep->kind, FERRY_EP_LOCAL);
    CHECK_INTEQ(ep->compress, FERRY_COMPRESS_GZIP);
    CHECK_INTEQ(ep->format, FERRY_FORMAT_CSV);
    ferry_endpoint_free(ep);
    CHECK_INTEQ(ferry_endpoint_parse("file:///tmp/x.jsonl", NULL, 1, &ep, &err), FERRY_OK);
    CHECK_STREQ(ep->path, "/tmp/x.jsonl");
    CHECK_INTEQ(ep->format, FERRY_FORMAT_JSONL);
    CHECK_INTEQ(ep->compress, FERRY_COMPRESS_NONE);
    ferry_endpoint_free(ep);
    ferry_copy_options o;
    ferry_copy_options_init(&o);
    o.dst_compress = FERRY_COMPRESS_GZIP;
    CHECK_INTEQ(ferry_endpoint_parse("./out.tsv", &o, 1, &ep, &err), FERRY_OK);
    CHECK_INTEQ(ep->compress, FERRY_COMPRESS_GZIP);
    CHECK_INTEQ(ep->format, FERRY_FORMAT_TSV);
    ferry_endpoint_free(ep);
}

static void test_endpoint_unknown_connection(void)
{
    unsetenv("FERRY_CONN_NOPE_X");
    unsetenv("AIRFLOW_CONN_NOPE_X");
    unsetenv("FERRY_CONNECTIONS_FILE");
    ferry_endpoint *ep = NULL;
    ferry_error err;
    ferry_error_clear(&err);
    ferry_status st = ferry_endpoint_parse("nope_x:public.t", NULL, 0, &ep, &err);
    CHECK_INTEQ(st, FERRY_ERR_CONFIG);
    CHECK(strstr(err.msg, "nope_x") != NULL);
    CHECK(ep == NULL);
}

static void test_endpoint_conn_without_hook(void)
{
    setenv("FERRY_CONN_ODD", "{\"conn_type\": \"teradata\", \"host\": \"h\"}", 1);
    ferry_endpoint *ep = NULL;
    ferry_error err;
    ferry_error_clear(&err);
    CHECK_INTEQ(ferry_endpoint_parse("odd:x", NULL, 0, &ep, &err), FERRY_ERR_CONFIG);
    CHECK(strstr(err.msg, "teradata") != NULL);
    unsetenv("FERRY_CONN_ODD");
}

int main(void)
{
    RUN(test_error_hook_format);
    RUN(test_secret_masking);
    RUN(test_retry_delay_bounds);
    RUN(test_retry_gives_up);
    RUN(test_endpoint_local_and_stdio);
    RUN(test_endpoint_unknown_connection);
    RUN(test_endpoint_conn_without_hook);
    return check_summary();
}
