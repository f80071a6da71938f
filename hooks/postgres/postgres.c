/*
 * hooks/postgres/postgres.c - the PostgreSQL hook's table: tables and
 * queries as sources (COPY TO STDOUT), tables as sinks (COPY FROM STDIN in one
 * transaction), SQL execution and connection tests.  The slots live in
 * pg_source.c, pg_sink.c and pg_ops.c; docs/hooks/postgres.md describes the
 * behaviour.
 */
#include "pg_binary.h"
#include "pg_internal.h"

static const char *const postgres_conn_types[] = {"postgres", NULL};

const ferry_hook ferry_hook_postgres = {
    FERRY_HOOK_INIT,
    .flags = FERRY_HOOK_SQL | FERRY_HOOK_SNAPSHOT,
    .name = FERRY_PG_SYSTEM,
    .conn_types = postgres_conn_types,
    .open_source = ferry_pg_open_source,
    .open_sink = ferry_pg_open_sink,
    .stat = NULL,
    .list = NULL,
    .remove = NULL,
    .mkdir = NULL,
    .exec = ferry_pg_exec,
    .test = ferry_pg_test,
    .open_range_sources = ferry_pg_open_range_sources,
    .split_default = "ctid page ranges",
    .open_typed_source = ferry_pg_open_typed_source,
};
