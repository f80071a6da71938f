/*
 * test_pg_sqlstate.c - the exit status of a Postgres SQLSTATE
 * (hooks/postgres/pg_conn.c): missing objects 5, authorization 4, a session
 * the server ended (pg_terminate_backend's 57P01, crash 57P02, 57P03, class
 * 08) 8 like a reset socket, whatever else 7.  The 57P01 case decided a CI
 * failure: libpq may hand over the FATAL message before it sees the socket
 * close, and then only the SQLSTATE says the session is gone.
 * Connection failures (ferry_pg_connect_status): by the stage libpq reached
 * and the server's SQLSTATE, never by message text - an unreachable server
 * is exit 4 retried, a missing database 5, authentication 4 at once.
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

typedef struct connect_row {
    ferry_pg_stage stage;
    const char *sqlstate;
    int needs_password, host_unknown;
    ferry_status status;
    int transient;
} connect_row;

static void test_connect_statuses(void)
{
    static const connect_row rows[] = {
        /* refused, unreachable, timed out, a temporary DNS failure: retried, 4 */
        {FERRY_PG_STAGE_NETWORK, NULL, 0, 0, FERRY_ERR_CONNECT, 1},
        /* a host name that does not resolve: 4 at once */
        {FERRY_PG_STAGE_NETWORK, NULL, 0, 1, FERRY_ERR_CONNECT, 0},
        /* certificate verification, a missing CA file: 4 at once */
        {FERRY_PG_STAGE_TLS, NULL, 0, 0, FERRY_ERR_CONNECT, 0},
        /* the server refused */
        {FERRY_PG_STAGE_SERVER, "28P01", 0, 0, FERRY_ERR_CONNECT, 0},   /* wrong password */
        {FERRY_PG_STAGE_SERVER, "28000", 0, 0, FERRY_ERR_CONNECT, 0},   /* no pg_hba entry */
        {FERRY_PG_STAGE_SERVER, "3D000", 0, 0, FERRY_ERR_NOT_FOUND, 0}, /* no such database */
        {FERRY_PG_STAGE_SERVER, "57P03", 0, 0, FERRY_ERR_CONNECT, 1},   /* starting up / shutting down */
        {FERRY_PG_STAGE_SERVER, "53300", 0, 0, FERRY_ERR_CONNECT, 1},   /* too many clients */
        {FERRY_PG_STAGE_SERVER, "08006", 0, 0, FERRY_ERR_CONNECT, 1},
        {FERRY_PG_STAGE_SERVER, "57P01", 0, 0, FERRY_ERR_CONNECT, 1},
        {FERRY_PG_STAGE_SERVER, "42501", 0, 0, FERRY_ERR_CONNECT, 0},
        /* dropped without a word: retried; a password libpq lacked: 4 at once */
        {FERRY_PG_STAGE_SERVER, NULL, 0, 0, FERRY_ERR_CONNECT, 1},
        {FERRY_PG_STAGE_SERVER, NULL, 1, 0, FERRY_ERR_CONNECT, 0},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        int t = -1;
        ferry_status st = ferry_pg_connect_status(rows[i].stage, rows[i].sqlstate, rows[i].needs_password,
                                                  rows[i].host_unknown, &t);
        if (st != rows[i].status || t != rows[i].transient)
            fprintf(stderr, "  row %zu (%s): status %d transient %d\n", i,
                    rows[i].sqlstate ? rows[i].sqlstate : "-", (int)st, t);
        CHECK(st == rows[i].status && t == rows[i].transient);
    }
}

static void test_verbose_sqlstate(void)
{
    char code[6];
    CHECK(ferry_pg_verbose_sqlstate("connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  28P01: "
                                    "password authentication failed for user \"etl\"\n"
                                    "LOCATION:  auth_failed, auth.c:326\n",
                                    code));
    CHECK_STREQ(code, "28P01");
    /* several attempts: the last server's word counts */
    CHECK(ferry_pg_verbose_sqlstate("... failed: FATAL:  57P03: the database system is starting up\n"
                                    "... failed: FATAL:  3D000: database \"x\" does not exist\n",
                                    code));
    CHECK_STREQ(code, "3D000");
    /* libpq's own failures carry none */
    CHECK(!ferry_pg_verbose_sqlstate("connection to server at \"127.0.0.1\", port 1 failed: Connection refused\n",
                                     code));
    CHECK(!ferry_pg_verbose_sqlstate("fe_sendauth: no password supplied\n", code));
    CHECK(!ferry_pg_verbose_sqlstate(NULL, code));
    /* and the message shown keeps neither the code nor the location */
    char line[256];
    ferry_pg_one_line("connection to server at \"h\", port 1 failed: FATAL:  28P01: password authentication "
                      "failed for user \"etl\"\nLOCATION:  auth_failed, auth.c:326\n",
                      line, sizeof line);
    CHECK_STREQ(line, "password authentication failed for user \"etl\"");
}

int main(void)
{
    RUN(test_statuses);
    RUN(test_connect_statuses);
    RUN(test_verbose_sqlstate);
    return check_summary();
}
