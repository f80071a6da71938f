/*
 * test_pg_sqlstate.c - the exit status of a Postgres SQLSTATE
 * (hooks/postgres/pg_conn.c): missing objects 5, authorization 4, a session
 * the server ended (pg_terminate_backend's 57P01, crash 57P02, 57P03, class
 * 08) 8 like a reset socket, whatever else 7.  The 57P01 case decided a CI
 * failure: libpq may hand over the FATAL message before it sees the socket
 * close, and then only the SQLSTATE says the session is gone.
 */
#include "check.h"
#include "hooks/postgres/pg_internal.h"

static void test_statuses(void)
{
    CHECK(ferry_pg_status_for_sqlstate("42P01") == FERRY_ERR_NOT_FOUND);
    CHECK(ferry_pg_status_for_sqlstate("3D000") == FERRY_ERR_NOT_FOUND);
    CHECK(ferry_pg_status_for_sqlstate("28P01") == FERRY_ERR_CONNECT);
    CHECK(ferry_pg_status_for_sqlstate("42501") == FERRY_ERR_CONNECT);
    CHECK(ferry_pg_status_for_sqlstate("57P01") == FERRY_ERR_TRANSIENT);
    CHECK(ferry_pg_status_for_sqlstate("57P02") == FERRY_ERR_TRANSIENT);
    CHECK(ferry_pg_status_for_sqlstate("57P03") == FERRY_ERR_TRANSIENT);
    CHECK(ferry_pg_status_for_sqlstate("08006") == FERRY_ERR_TRANSIENT);
    CHECK(ferry_pg_status_for_sqlstate("57014") == FERRY_ERR_DATA); /* canceled, not by us */
    CHECK(ferry_pg_status_for_sqlstate("22P02") == FERRY_ERR_DATA);
    CHECK(ferry_pg_status_for_sqlstate("40001") == FERRY_ERR_DATA); /* transient flag, data status */
    CHECK(ferry_pg_status_for_sqlstate(NULL) == FERRY_ERR_DATA);
    CHECK(ferry_pg_status_for_sqlstate("57P") == FERRY_ERR_DATA);
}

int main(void)
{
    RUN(test_statuses);
    return check_summary();
}
