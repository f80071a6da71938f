/*
 * test_hook_table.c - the hook table's capabilities and versioning
 * (include/ferry/hook.h): every built-in table carries its size and the
 * flags and slots shared code asks instead of names; the registry refuses a
 * table without FERRY_HOOK_INIT or shorter than FERRY_HOOK_SIZE_MIN; a slot
 * past a table's struct_size reads as NULL (a hook built against an older
 * header); a hook registered from outside with FERRY_HOOK_SQL is SQL to the
 * endpoint parser, --dry-run and the budget.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "ferry/ferry.h"

static const ferry_hook *const builtins[] = {
    &ferry_hook_local, &ferry_hook_stdio, &ferry_hook_postgres, &ferry_hook_mysql,
    &ferry_hook_s3,    &ferry_hook_sftp,  &ferry_hook_http,
};
#define N_BUILTINS (sizeof builtins / sizeof builtins[0])

static void test_builtins_are_current_tables(void)
{
    for (size_t i = 0; i < N_BUILTINS; i++) {
        CHECK(builtins[i]->struct_size == sizeof(ferry_hook));
        CHECK(builtins[i]->name != NULL);
        /* SQL hooks run statements; a range reader says how it cuts by default */
        if (builtins[i]->flags & FERRY_HOOK_SQL)
            CHECK(builtins[i]->exec != NULL);
        if (FERRY_HOOK_SLOT(builtins[i], open_range_sources))
            CHECK(FERRY_HOOK_SLOT(builtins[i], split_default) != NULL);
    }
    CHECK_INTEQ(ferry_hook_postgres.flags, FERRY_HOOK_SQL | FERRY_HOOK_SNAPSHOT);
    CHECK_INTEQ(ferry_hook_mysql.flags, FERRY_HOOK_SQL | FERRY_HOOK_SQL_BACKSLASH);
    CHECK_INTEQ(ferry_hook_s3.flags, FERRY_HOOK_FLAT_KEYS | FERRY_HOOK_RESUME);
    CHECK_INTEQ(ferry_hook_http.flags, FERRY_HOOK_URL);
    CHECK_INTEQ(ferry_hook_local.flags, 0);
    CHECK_INTEQ(ferry_hook_sftp.flags, 0);
    CHECK(FERRY_HOOK_SLOT(&ferry_hook_s3, server_copy) != NULL);
    CHECK(FERRY_HOOK_SLOT(&ferry_hook_s3, remove_batch) != NULL);
    CHECK(FERRY_HOOK_SLOT(&ferry_hook_s3, memory) != NULL);
    CHECK(FERRY_HOOK_SLOT(&ferry_hook_sftp, memory) != NULL);
    CHECK(FERRY_HOOK_SLOT(&ferry_hook_local, server_copy) == NULL);
    CHECK_STREQ(FERRY_HOOK_SLOT(&ferry_hook_postgres, split_default), "ctid page ranges");
    CHECK_STREQ(FERRY_HOOK_SLOT(&ferry_hook_mysql, split_default), "the primary key");
}

/* ---- a SQL hook from outside: rows 1..n of one column ---- */

static ferry_status rs_open(const ferry_endpoint *ep, const ferry_copy_options *o, int n, int first, int count,
                            ferry_source **out, char **bounds, ferry_error *err)
{
    (void)ep, (void)o, (void)n, (void)first, (void)count, (void)out, (void)bounds;
    return ferry_error_set(err, FERRY_ERR_INTERNAL, "not called by a dry run");
}

static ferry_status no_exec(const ferry_conn *conn, const char *sql, ferry_exec_options *eo, ferry_error *err)
{
    (void)conn, (void)sql, (void)eo;
    return ferry_error_set(err, FERRY_ERR_INTERNAL, "not called");
}

static const char *const tsql_types[] = {"tsql", NULL};
static const ferry_hook tsql_hook = {
    FERRY_HOOK_INIT,
    .flags = FERRY_HOOK_SQL,
    .name = "tsql",
    .conn_types = tsql_types,
    .exec = no_exec,
    .open_range_sources = rs_open,
    .split_default = "test ranges",
};

/* The same table as a hook built against a header that ended at `test`
 * (FERRY_HOOK_SIZE_MIN): its later slots are not there. */
static const char *const short_types[] = {"tshort", NULL};
static const ferry_hook short_hook = {
    .struct_size = FERRY_HOOK_SIZE_MIN,
    .flags = FERRY_HOOK_SQL,
    .name = "tshort",
    .conn_types = short_types,
    .exec = no_exec,
    .open_range_sources = rs_open,   /* past struct_size: must never be read */
    .split_default = "never shown",
};

static void test_register_checks_the_size(void)
{
    CHECK_INTEQ(ferry_hook_register(NULL), FERRY_ERR_USAGE);
    ferry_hook no_init = {.name = "noinit", .conn_types = short_types};
    CHECK_INTEQ(ferry_hook_register(&no_init), FERRY_ERR_USAGE);
    ferry_hook too_short = {.struct_size = FERRY_HOOK_SIZE_MIN - 1, .name = "tooshort"};
    CHECK_INTEQ(ferry_hook_register(&too_short), FERRY_ERR_USAGE);
    ferry_hook no_name = {FERRY_HOOK_INIT, .conn_types = short_types};
    CHECK_INTEQ(ferry_hook_register(&no_name), FERRY_ERR_USAGE);
    CHECK_INTEQ(ferry_hook_register(&short_hook), FERRY_OK);
    CHECK_INTEQ(ferry_hook_register(&tsql_hook), FERRY_OK);
    CHECK(ferry_hook_for_type("tshort") == &short_hook);
    CHECK(ferry_hook_for_type("tsql") == &tsql_hook);
    /* slots past the table's end read as NULL */
    CHECK(FERRY_HOOK_HAS(&short_hook, test));
    CHECK(!FERRY_HOOK_HAS(&short_hook, open_ranged_sink));
    CHECK(FERRY_HOOK_SLOT(&short_hook, open_range_sources) == NULL);
    CHECK(FERRY_HOOK_SLOT(&short_hook, split_default) == NULL);
    CHECK(FERRY_HOOK_SLOT(&tsql_hook, open_range_sources) == rs_open);
}

static void test_external_sql_hook_is_sql(void)
{
    setenv("FERRY_CONN_TSQL_WH", "{\"conn_type\": \"tsql\"}", 1);
    setenv("FERRY_CONN_TSHORT_WH", "{\"conn_type\": \"tshort\"}", 1);
    ferry_error err;
    ferry_error_clear(&err);
    /* a table name never says compression or format */
    ferry_endpoint *ep = NULL;
    CHECK_INTEQ(ferry_endpoint_parse("tsql_wh:events.csv.gz", NULL, 0, &ep, &err), FERRY_OK);
    if (ep) {
        CHECK(ep->hook == &tsql_hook);
        CHECK_INTEQ(ep->compress, FERRY_COMPRESS_NONE);
        CHECK_INTEQ(ep->format, FERRY_FORMAT_AUTO);
    }
    ferry_endpoint_free(ep);

    /* --dry-run --parallel names the split the hook declares */
    ferry_copy_options o;
    ferry_copy_options_init(&o);
    o.parallel = 3;
    char buf[4096];
    CHECK_INTEQ(ferry_copy_describe("tsql_wh:t", "/tmp/ferry-test-hook-table.csv", &o, buf, sizeof buf, &err),
                FERRY_OK);
    CHECK(strstr(buf, "ranges:      3, cut by test ranges; one session each\n") != NULL);
    o.parallel = 0;
    o.partition_count = 4;
    o.partition_index = 2;
    CHECK_INTEQ(ferry_copy_describe("tsql_wh:t", "/tmp/ferry-test-hook-table/", &o, buf, sizeof buf, &err),
                FERRY_OK);
    CHECK(strstr(buf, "cut by test ranges; this run reads one of them") != NULL);
    CHECK(strstr(buf, "part-00002-of-00004.csv") != NULL);

    /* the short table: its open_range_sources is past its end, so no ranges */
    ferry_error_clear(&err);
    CHECK_INTEQ(ferry_copy_describe("tshort_wh:t", "/tmp/ferry-test-hook-table/", &o, buf, sizeof buf, &err),
                FERRY_ERR_USAGE);
    CHECK(strstr(buf, "tshort cannot read ranges") != NULL);
}

int main(void)
{
    RUN(test_builtins_are_current_tables);
    RUN(test_register_checks_the_size);
    RUN(test_external_sql_hook_is_sql);
    return check_summary();
}
