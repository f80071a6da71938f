/*
 * hooks/mysql/mysql.c - the MySQL/MariaDB hook's table: tables and queries
 * as sources (mysql_use_result, rows encoded by ferry as CSV/TSV/JSONL),
 * tables as sinks (LOAD DATA LOCAL INFILE fed from the stream, in one
 * transaction or through a staging table swap), SQL execution and connection
 * tests, and typed rows for Parquet (prepared statements over the binary
 * protocol).  The slots live in my_source.c, my_sink.c, my_ops.c and
 * my_typed.c;
 * docs/hooks/mysql.md describes the behaviour.
 */
#include "my_internal.h"

static const char *const mysql_conn_types[] = {"mysql", NULL};

const ferry_hook ferry_hook_mysql = {
    FERRY_HOOK_INIT,
    .flags = FERRY_HOOK_SQL | FERRY_HOOK_SQL_BACKSLASH,
    .name = FERRY_MY_SYSTEM,
    .conn_types = mysql_conn_types,
    .open_source = ferry_my_open_source,
    .open_sink = ferry_my_open_sink,
    .stat = NULL,
    .list = NULL,
    .remove = NULL,
    .mkdir = NULL,
    .exec = ferry_my_exec,
    .test = ferry_my_test,
    .open_range_sources = ferry_my_open_range_sources,
    .split_default = "the primary key",
    .open_typed_source = ferry_my_open_typed_source,
};
