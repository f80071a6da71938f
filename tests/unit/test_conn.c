/*
 * test_conn.c - unit tests for core/conn.c: Airflow's URI and JSON forms (the
 * examples of Airflow's "Managing Connections" docs), malformed input, resolve
 * order FERRY_CONN_ > AIRFLOW_CONN_ > connections file, masking and listing.
 */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "ferry/conn.h"
#include "ferry/error.h"
#include "ferry/log.h"
#include "check.h"

static char tmpdir[] = "/tmp/ferry_test_conn.XXXXXX";

/* ---------------------------------------------------------------- helpers */

static ferry_conn *parse_ok(const char *id, const char *text)
{
    ferry_conn *c = NULL;
    ferry_error err;
    ferry_error_clear(&err);
    ferry_status st = ferry_conn_parse(id, text, &c, &err);
    if (st != FERRY_OK)
        fprintf(stderr, "    parse of %s failed: %s\n", text, err.msg);
    CHECK_INTEQ(st, FERRY_OK);
    CHECK(c != NULL);
    return c;
}

/* The text must fail with FERRY_ERR_CONFIG; the message names the id and quotes
 * neither the secret nor anything scrubbed ("***" would mean a secret was in it). */
static void expect_config_error(const char *text, const char *secret)
{
    ferry_conn *c = (ferry_conn *)1;
    ferry_error err;
    ferry_error_clear(&err);
    ferry_status st = ferry_conn_parse("badconn", text, &c, &err);
    if (st != FERRY_ERR_CONFIG)
        fprintf(stderr, "    expected a config error for: %.200s\n", text);
    CHECK_INTEQ(st, FERRY_ERR_CONFIG);
    CHECK(c == NULL);
    CHECK(strstr(err.msg, "connection 'badconn'") != NULL);
    if (secret)
        CHECK(strstr(err.msg, secret) == NULL);
    CHECK(strstr(err.msg, "***") == NULL);
    if (st == FERRY_ERR_CONFIG && (!strstr(err.msg, "connection 'badconn'") ||
                                   (secret && strstr(err.msg, secret)) || strstr(err.msg, "***")))
        fprintf(stderr, "    message: %s\n", err.msg);
    ferry_conn_free(st == FERRY_OK ? c : NULL);
}

static void write_file(const char *path, const char *text, mode_t mode)
{
    FILE *fp = fopen(path, "w");
    CHECK(fp != NULL);
    if (!fp)
        return;
    fputs(text, fp);
    fclose(fp);
    chmod(path, mode);
}

static char *path_in_tmp(const char *name)
{
    static char buf[4][512];
    static int next;
    char *p = buf[next++ % 4];
    snprintf(p, sizeof buf[0], "%s/%s", tmpdir, name);
    return p;
}

/* Remove every FERRY_CONN_* / AIRFLOW_CONN_* and point the file lookup at tmpdir. */
static void reset_env(void)
{
    extern char **environ;
    char *names[256];
    size_t n = 0;
    for (char **ep = environ; *ep && n < 256; ep++) {
        if (strncmp(*ep, "FERRY_CONN_", 11) == 0 || strncmp(*ep, "AIRFLOW_CONN_", 13) == 0) {
            const char *eq = strchr(*ep, '=');
            names[n++] = strndup(*ep, eq ? (size_t)(eq - *ep) : strlen(*ep));
        }
    }
    for (size_t i = 0; i < n; i++) {
        unsetenv(names[i]);
        free(names[i]);
    }
    unsetenv("FERRY_CONNECTIONS_FILE");
    unsetenv("XDG_CONFIG_HOME");
    setenv("HOME", path_in_tmp("home-without-config"), 1);
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* --------------------------------------------------------------- URI form */

static void test_uri_airflow_generic_example(void)
{
    ferry_conn *c = parse_ok(
        "my_prod_db", "my-conn-type://login:password@host:5432/schema?param1=val1&param2=val2");
    if (!c)
        return;
    CHECK_STREQ(c->id, "my_prod_db");
    CHECK_STREQ(c->type, "my_conn_type");
    CHECK_STREQ(c->login, "login");
    CHECK_STREQ(c->password, "password");
    CHECK_STREQ(c->host, "host");
    CHECK_INTEQ(c->port, 5432);
    CHECK_STREQ(c->schema, "schema");
    CHECK_INTEQ(c->n_extra, 2);
    if (c->n_extra == 2) {
        CHECK_STREQ(c->extra[0].key, "param1");
        CHECK_STREQ(c->extra[0].value, "val1");
        CHECK_STREQ(c->extra[1].key, "param2");
        CHECK_STREQ(c->extra[1].value, "val2");
    }
    CHECK_STREQ(c->origin, "inline");
    ferry_conn_free(c);
}

static void test_uri_aws_empty_host(void)
{
    ferry_secret_clear();
    ferry_conn *c = parse_ok(
        "aws_default", "aws://AKIAIOSFODNN7EXAMPLE:wJalrXUtnFEMI%2FK7MDENG%2FbPxRfiCYEXAMPLEKEY@/"
                       "?region_name=us-east-1");
    if (!c)
        return;
    CHECK_STREQ(c->type, "aws");
    CHECK_STREQ(c->login, "AKIAIOSFODNN7EXAMPLE");
    CHECK_STREQ(c->password, "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
    CHECK(c->host == NULL);
    CHECK(c->schema == NULL);
    CHECK_INTEQ(c->port, 0);
    CHECK_STREQ(ferry_conn_extra(c, "region_name"), "us-east-1");
    /* the secret key is a secret, the access key id is not */
    char buf[256] = "key AKIAIOSFODNN7EXAMPLE secret wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY "
                    "raw wJalrXUtnFEMI%2FK7MDENG%2FbPxRfiCYEXAMPLEKEY";
    ferry_scrub(buf, sizeof buf);
    CHECK_STREQ(buf, "key AKIAIOSFODNN7EXAMPLE secret *** raw ***");
    ferry_conn_free(c);

    c = parse_ok(
        "minio",
        "s3://KEY:SECRET@?region_name=eu-west-1&endpoint_url=http%3A%2F%2F127.0.0.1%3A9000");
    if (!c)
        return;
    CHECK_STREQ(c->type, "aws");
    CHECK(c->host == NULL);
    CHECK(c->schema == NULL);
    CHECK_STREQ(c->login, "KEY");
    CHECK_STREQ(c->password, "SECRET");
    CHECK_STREQ(ferry_conn_extra(c, "region_name"), "eu-west-1");
    CHECK_STREQ(ferry_conn_extra(c, "endpoint_url"), "http://127.0.0.1:9000");
    ferry_conn_free(c);
}

static void test_uri_extra_json(void)
{
    /* the __extra__ example of Airflow's docs ('+' is a space, inside JSON too) */
    ferry_conn *c = parse_ok(
        "x",
        "my-conn-type://@:1234?__extra__=%7B%22my_val%22%3A+%5B%22list%22%2C+%22of%22%2C+"
        "%22values%22%5D%2C+%22extra%22%3A+%7B%22nested%22%3A+%7B%22json%22%3A+%22val%22%7D%7D%7D");
    if (!c)
        return;
    CHECK_STREQ(c->type, "my_conn_type");
    CHECK(c->login == NULL);
    CHECK(c->password == NULL);
    CHECK(c->host == NULL);
    CHECK_INTEQ(c->port, 1234);
    CHECK_INTEQ(c->n_extra, 2);
    if (c->n_extra == 2) {
        CHECK_STREQ(c->extra[0].key, "my_val");
        CHECK_STREQ(c->extra[0].value, "[\"list\",\"of\",\"values\"]");
        CHECK_STREQ(c->extra[1].key, "extra");
        CHECK_STREQ(c->extra[1].value, "{\"nested\":{\"json\":\"val\"}}");
    }
    ferry_conn_free(c);

    /* strings as-is, other values as compact JSON; merged in order with other params */
    c = parse_ok("x",
                 "http://h?a=1&__extra__=%7B%22s%22%3A%22x+y%22%2C%22n%22%3A5%2C%22b%22%3Atrue%2C"
                 "%22z%22%3Anull%7D&c=3");
    if (!c)
        return;
    CHECK_INTEQ(c->n_extra, 6);
    if (c->n_extra == 6) {
        CHECK_STREQ(c->extra[0].key, "a");
        CHECK_STREQ(c->extra[1].key, "s");
        CHECK_STREQ(c->extra[1].value, "x y");
        CHECK_STREQ(c->extra[2].value, "5");
        CHECK_STREQ(c->extra[3].value, "true");
        CHECK_STREQ(c->extra[4].value, "null");
        CHECK_STREQ(c->extra[5].key, "c");
    }
    CHECK_INTEQ(ferry_conn_extra_bool(c, "b", 0), 1);
    ferry_conn_free(c);
}

static void test_uri_postgresql_percent_password(void)
{
    ferry_conn *c = parse_ok("warehouse", "postgresql://user:p%40ss@host:5432/db?sslmode=require");
    if (!c)
        return;
    CHECK_STREQ(c->type, "postgres");
    CHECK_STREQ(c->login, "user");
    CHECK_STREQ(c->password, "p@ss");
    CHECK_STREQ(c->host, "host");
    CHECK_INTEQ(c->port, 5432);
    CHECK_STREQ(c->schema, "db");
    CHECK_STREQ(ferry_conn_extra(c, "sslmode"), "require");
    ferry_conn_free(c);

    /* unix socket directory as a percent-encoded host; postgres stays postgres */
    c = parse_ok("local", "postgres://me@%2Fvar%2Frun%2Fpostgresql/app");
    if (!c)
        return;
    CHECK_STREQ(c->type, "postgres");
    CHECK_STREQ(c->host, "/var/run/postgresql");
    CHECK(c->password == NULL);
    ferry_conn_free(c);
}

static void test_uri_sftp_key_file(void)
{
    const char *uris[] = {
        "sftp://deploy@files.example.com:2222?key_file=%2Fhome%2Fu%2F.ssh%2Fid_ed25519",
        "ssh://deploy@files.example.com:2222/?key_file=%2Fhome%2Fu%2F.ssh%2Fid_ed25519"};
    for (size_t i = 0; i < 2; i++) {
        ferry_conn *c = parse_ok("files", uris[i]);
        if (!c)
            continue;
        CHECK_STREQ(c->type, "sftp");
        CHECK_STREQ(c->login, "deploy");
        CHECK(c->password == NULL);
        CHECK_STREQ(c->host, "files.example.com");
        CHECK_INTEQ(c->port, 2222);
        CHECK(c->schema == NULL);
        CHECK_STREQ(ferry_conn_extra(c, "key_file"), "/home/u/.ssh/id_ed25519");
        ferry_conn_free(c);
    }
}

static void test_uri_plus_and_query_rules(void)
{
    /* Airflow's get_uri() output for its as_json example: parse_qsl makes '+' a space */
    ferry_conn *c =
        parse_ok("some_conn", "mysql://myname:mypassword@myhost.com?this_param=some+val&"
                              "that_param=other+val%2A");
    if (!c)
        return;
    CHECK_STREQ(c->type, "mysql");
    CHECK_STREQ(c->host, "myhost.com");
    CHECK_STREQ(ferry_conn_extra(c, "this_param"), "some val");
    CHECK_STREQ(ferry_conn_extra(c, "that_param"), "other val*");
    ferry_conn_free(c);

    /* outside the query '+' is a '+'; %2B is always '+' */
    c = parse_ok("x", "mysql://u:a+b@h/d+b?q=%2B1");
    if (!c)
        return;
    CHECK_STREQ(c->password, "a+b");
    CHECK_STREQ(c->schema, "d+b");
    CHECK_STREQ(ferry_conn_extra(c, "q"), "+1");
    ferry_conn_free(c);

    /* blank values kept, empty pairs skipped, a repeated key keeps its place and last value */
    c = parse_ok("x", "  x://h?a=1&flag&&a=2&c=  ");
    if (!c)
        return;
    CHECK_INTEQ(c->n_extra, 3);
    if (c->n_extra == 3) {
        CHECK_STREQ(c->extra[0].key, "a");
        CHECK_STREQ(c->extra[0].value, "2");
        CHECK_STREQ(c->extra[1].key, "flag");
        CHECK_STREQ(c->extra[1].value, "");
        CHECK_STREQ(c->extra[2].key, "c");
        CHECK_STREQ(c->extra[2].value, "");
    }
    CHECK(ferry_conn_extra(c, "missing") == NULL);
    ferry_conn_free(c);

    /* '@' in an unencoded password: the last '@' ends the userinfo (as urlsplit) */
    c = parse_ok("x", "mysql://u:p@ss@h");
    if (!c)
        return;
    CHECK_STREQ(c->password, "p@ss");
    CHECK_STREQ(c->host, "h");
    ferry_conn_free(c);
}

static void test_uri_ipv6(void)
{
    ferry_conn *c = parse_ok("v6", "postgres://u@[::1]:5432/db");
    if (!c)
        return;
    CHECK_STREQ(c->host, "::1");
    CHECK_INTEQ(c->port, 5432);
    CHECK_STREQ(c->schema, "db");
    ferry_conn_free(c);

    c = parse_ok("v6", "postgres://[fe80::1%25eth0]");
    if (!c)
        return;
    CHECK_STREQ(c->host, "fe80::1%eth0");
    CHECK_INTEQ(c->port, 0);
    ferry_conn_free(c);
}

static void test_uri_http_scheme(void)
{
    ferry_conn *c = parse_ok("api", "https://api.example.com");
    if (!c)
        return;
    CHECK_STREQ(c->type, "http");
    CHECK_STREQ(c->schema, "https");
    CHECK_STREQ(c->host, "api.example.com");
    ferry_conn_free(c);

    c = parse_ok("api", "https://api.example.com:8443/");
    if (c) {
        CHECK_STREQ(c->schema, "https");
        CHECK_INTEQ(c->port, 8443);
    }
    ferry_conn_free(c);

    /* Airflow's HTTP docs: the path is the URL scheme */
    c = parse_ok("http_default", "http://username:password@service.com:80/https?headers=header");
    if (c) {
        CHECK_STREQ(c->type, "http");
        CHECK_STREQ(c->schema, "https");
        CHECK_STREQ(c->host, "service.com");
        CHECK_STREQ(ferry_conn_extra(c, "headers"), "header");
    }
    ferry_conn_free(c);

    c = parse_ok("plain", "http://service.com");
    if (c)
        CHECK(c->schema == NULL);
    ferry_conn_free(c);

    /* Airflow 2.3+ "type://proto://host": http takes proto as its scheme ... */
    c = parse_ok("api", "http://https://api.example.com");
    if (c) {
        CHECK_STREQ(c->schema, "https");
        CHECK_STREQ(c->host, "api.example.com");
    }
    ferry_conn_free(c);

    /* ... other types keep it in the host, as Airflow does */
    c = parse_ok("x", "my-type://https://u:pw@example.com:443/db");
    if (c) {
        CHECK_STREQ(c->host, "https://example.com");
        CHECK_STREQ(c->login, "u");
        CHECK_INTEQ(c->port, 443);
        CHECK_STREQ(c->schema, "db");
    }
    ferry_conn_free(c);

    /* an inline endpoint: the path of an https URI is not the schema (core/endpoint.c
     * keeps the whole URL) */
    c = parse_ok("", "https://u:pw1@files.example.com/exports/data%20file.csv?x=1");
    if (c) {
        CHECK_STREQ(c->type, "http");
        CHECK_STREQ(c->schema, "https");
        CHECK_STREQ(c->host, "files.example.com");
        CHECK_STREQ(ferry_conn_extra(c, "x"), "1");
    }
    ferry_conn_free(c);
    expect_config_error("https://u:hunter2pw@api.example.com/d%zz", "hunter2pw");
    expect_config_error("http://https://u:hunter2pw@api.example.com/http", "hunter2pw");
}

static void test_uri_malformed(void)
{
    char big[70000];
    memcpy(big, "postgres://host/", 16);
    memset(big + 16, 'a', sizeof big - 17);
    big[sizeof big - 1] = '\0';

    const char *bad[] = {
        /* bad percent-encoding */
        "postgres://u:hunter2pw@host/d%zzb",
        "postgres://u:hunter2pw@host/db%4",
        "postgres://u:hunter2pw@host/db?x=%",
        "postgres://u:hunter2%zzpw@host/db",
        "postgres://u:hunter2pw@ho%g1st/db",
        /* missing "://", empty or bad scheme */
        "postgres:/u:hunter2pw@host/db",
        "u:hunter2pw@host/db",
        "postgres//u:hunter2pw@host",
        "://u:hunter2pw@host/db",
        "pg$://u:hunter2pw@host/db",
        "p g://u:hunter2pw@host/db",
        "1pg://u:hunter2pw@host/db",
        "",
        "   ",
        /* absurd ports */
        "postgres://u:hunter2pw@host:0/db",
        "postgres://u:hunter2pw@host:99999/db",
        "postgres://u:hunter2pw@host:65536/db",
        "postgres://u:hunter2pw@host:-1/db",
        "postgres://u:hunter2pw@host:abc/db",
        "postgres://u:hunter2pw@host:1e3/db",
        "postgres://u:hunter2pw@host:54 32/db",
        "postgres://u:hunter2pw@[::1]x/db",
        "postgres://u:hunter2pw@[::1:5432/db",
        "postgres://u:hunter2pw@::1:5432/db",
        /* NUL after decoding */
        "postgres://u%00x:hunter2pw@host/db",
        "postgres://u:hunter2pw@ho%00st/db",
        "postgres://u:hunter2pw@host/db?a=%00",
        /* invalid __extra__ */
        "postgres://u:hunter2pw@host/db?__extra__=%7Bnot-json",
        "postgres://u:hunter2pw@host/db?__extra__=%5B1%2C2%5D",
        "postgres://u:hunter2pw@host/db?__extra__=",
        /* others */
        "postgres://u:hunter2pw@host/db#frag",
        "postgres://u:hunter2pw@host/d\tb",
        "postgres://u:hunter2pw@host/db?=x",
        big,
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_config_error(bad[i], "hunter2pw");

    /* a forgotten "@host": the password lands in the port, is never registered,
     * and must still not be quoted */
    ferry_secret_clear();
    expect_config_error("postgres://user:hunter2pw/db", "hunter2pw");
    expect_config_error("postgres://user:hunter2pw", "hunter2pw");

    /* the offset is the one of the bad '%' in the text as given */
    ferry_conn *c = NULL;
    ferry_error err;
    ferry_error_clear(&err);
    CHECK_INTEQ(ferry_conn_parse_uri("x", "postgres://u:pw@host/d%zzb", &c, &err),
                FERRY_ERR_CONFIG);
    CHECK_STREQ(err.msg, "connection 'x': malformed URI: bad percent-encoding at offset 22");
    ferry_error_clear(&err);
    CHECK_INTEQ(ferry_conn_parse_uri("x", "postgres://u:pw@host/db%4", &c, &err), FERRY_ERR_CONFIG);
    CHECK(strstr(err.msg, "offset 23") != NULL);
    ferry_error_clear(&err);
    CHECK_INTEQ(ferry_conn_parse_uri("x", "postgres://u:pw@host:99999", &c, &err),
                FERRY_ERR_CONFIG);
    CHECK(strstr(err.msg, "invalid port at offset 21") != NULL);
    CHECK(c == NULL);
    /* NULL arguments are usage errors */
    CHECK_INTEQ(ferry_conn_parse_uri("x", NULL, &c, &err), FERRY_ERR_USAGE);
    CHECK_INTEQ(ferry_conn_parse("x", "x://h", NULL, &err), FERRY_ERR_USAGE);
}

/* --------------------------------------------------------------- JSON form */

static void test_json_airflow_examples(void)
{
    ferry_conn *c = parse_ok("my_prod_database", "{\n"
                                                 "    \"conn_type\": \"my-conn-type\",\n"
                                                 "    \"login\": \"my-login\",\n"
                                                 "    \"password\": \"my-password\",\n"
                                                 "    \"host\": \"my-host\",\n"
                                                 "    \"port\": 1234,\n"
                                                 "    \"schema\": \"my-schema\",\n"
                                                 "    \"extra\": {\n"
                                                 "        \"param1\": \"val1\",\n"
                                                 "        \"param2\": \"val2\"\n"
                                                 "    }\n"
                                                 "}");
    if (!c)
        return;
    CHECK_STREQ(c->type, "my_conn_type");
    CHECK_STREQ(c->login, "my-login");
    CHECK_STREQ(c->password, "my-password");
    CHECK_STREQ(c->host, "my-host");
    CHECK_INTEQ(c->port, 1234);
    CHECK_STREQ(c->schema, "my-schema");
    CHECK_INTEQ(c->n_extra, 2);
    if (c->n_extra == 2) {
        CHECK_STREQ(c->extra[0].key, "param1");
        CHECK_STREQ(c->extra[1].value, "val2");
    }
    ferry_conn_free(c);

    /* Airflow's as_json() output: description is ignored */
    c = parse_ok("some_conn",
                 "{\"conn_type\": \"mysql\", \"description\": \"connection description\", "
                 "\"host\": \"myhost.com\", \"login\": \"myname\", \"password\": "
                 "\"mypassword\", \"extra\": {\"this_param\": \"some val\", "
                 "\"that_param\": \"other val*\"}}");
    if (!c)
        return;
    CHECK_STREQ(c->type, "mysql");
    CHECK_INTEQ(c->port, 0);
    CHECK(c->schema == NULL);
    CHECK_STREQ(ferry_conn_extra(c, "that_param"), "other val*");
    ferry_conn_free(c);
}

static void test_json_variants(void)
{
    /* port as a string, extra as JSON text, postgresql normalised, nulls absent */
    ferry_conn *c =
        parse_ok("w", "  {\"conn_type\": \"postgresql\", \"port\": \"5432\", \"host\": null, "
                      "\"login\": \"\", \"extra\": \"{\\\"sslmode\\\": \\\"require\\\", "
                      "\\\"connect_timeout\\\": 10}\"}");
    if (!c)
        return;
    CHECK_STREQ(c->type, "postgres");
    CHECK_INTEQ(c->port, 5432);
    CHECK(c->host == NULL);
    CHECK(c->login == NULL);
    CHECK_STREQ(ferry_conn_extra(c, "sslmode"), "require");
    CHECK_STREQ(ferry_conn_extra(c, "connect_timeout"), "10");
    ferry_conn_free(c);

    c = parse_ok("api",
                 "{\"conn_type\": \"https\", \"host\": \"api.example.com\", \"extra\": \"\"}");
    if (c) {
        CHECK_STREQ(c->type, "http");
        CHECK_STREQ(c->schema, "https");
        CHECK_INTEQ(c->n_extra, 0);
    }
    ferry_conn_free(c);

    c = parse_ok("k", "{\"conn_type\": \"S3\"}");
    if (c)
        CHECK_STREQ(c->type, "aws");
    ferry_conn_free(c);
}

static void test_json_malformed(void)
{
    const char *bad[] = {
        "{\"host\": \"h\", \"password\": \"hunter2pw\"}",
        "{\"conn_type\": null, \"password\": \"hunter2pw\"}",
        "{\"conn_type\": \"\", \"password\": \"hunter2pw\"}",
        "{\"conn_type\": 5, \"password\": \"hunter2pw\"}",
        "{\"conn_type\": \"postgres\", \"password\": \"hunter2pw\", \"port\": \"abc\"}",
        "{\"conn_type\": \"postgres\", \"password\": \"hunter2pw\", \"port\": 0}",
        "{\"conn_type\": \"postgres\", \"password\": \"hunter2pw\", \"port\": 70000}",
        "{\"conn_type\": \"postgres\", \"password\": \"hunter2pw\", \"port\": -1}",
        "{\"conn_type\": \"postgres\", \"password\": \"hunter2pw\", \"port\": 5432.5}",
        "{\"conn_type\": \"postgres\", \"password\": \"hunter2pw\", \"port\": \"1e3\"}",
        "{\"conn_type\": \"postgres\", \"password\": \"hunter2pw\", \"host\": 5}",
        "{\"conn_type\": \"postgres\", \"password\": \"hunter2pw\", \"extra\": \"not json\"}",
        "{\"conn_type\": \"postgres\", \"password\": \"hunter2pw\", \"extra\": \"[1]\"}",
        "{\"conn_type\": \"postgres\", \"password\": \"hunter2pw\", \"extra\": [1]}",
        "{\"conn_type\": \"postgres\", \"password\": \"hunter2pw\",",
        "{\"conn_type\": \"postgres\", \"password\": hunter2pw}",
        "{\"conn_type\": \"postgres\", \"password\": \"hunter2pw",
        "{\"conn_type\": \"postgres\", \"password\": \"hunter2pw\x01\"}",
        "{\"conn_type\": \"postgres\", \"password\": \"hunter2pw\"} trailing",
        "{\"conn_type\": \"https\", \"password\": \"hunter2pw\", \"schema\": \"http\"}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ferry_secret_clear();
        expect_config_error(bad[i], "hunter2pw");
    }
}

/* ------------------------------------------------------- resolve and file */

static void test_resolve_precedence(void)
{
    ferry_secret_clear();
    reset_env();
    const char *file = path_in_tmp("connections.json");
    write_file(
        file,
        "{\"warehouse\": {\"conn_type\": \"postgres\", \"host\": \"filehost\", \"port\": 5433},\n"
        " \"other\": \"mysql://u@otherhost/db\"}\n",
        0600);
    setenv("FERRY_CONNECTIONS_FILE", file, 1);

    ferry_conn *c = NULL;
    ferry_error err;
    ferry_error_clear(&err);
    CHECK_INTEQ(ferry_conn_resolve("warehouse", &c, &err), FERRY_OK);
    if (c) {
        CHECK_STREQ(c->id, "warehouse");
        CHECK_STREQ(c->host, "filehost");
        CHECK_INTEQ(c->port, 5433);
        char origin[600];
        snprintf(origin, sizeof origin, "file %s", file);
        CHECK_STREQ(c->origin, origin);
    }
    ferry_conn_free(c);

    c = NULL;
    CHECK_INTEQ(ferry_conn_resolve("other", &c, &err), FERRY_OK);
    if (c) {
        CHECK_STREQ(c->type, "mysql");
        CHECK_STREQ(c->host, "otherhost");
    }
    ferry_conn_free(c);

    setenv("AIRFLOW_CONN_WAREHOUSE", "postgres://airflowhost/db", 1);
    c = NULL;
    CHECK_INTEQ(ferry_conn_resolve("warehouse", &c, &err), FERRY_OK);
    if (c) {
        CHECK_STREQ(c->host, "airflowhost");
        CHECK_STREQ(c->origin, "env AIRFLOW_CONN_WAREHOUSE");
    }
    ferry_conn_free(c);

    setenv("FERRY_CONN_WAREHOUSE", "{\"conn_type\": \"postgres\", \"host\": \"ferryhost\"}", 1);
    c = NULL;
    CHECK_INTEQ(ferry_conn_resolve("warehouse", &c, &err), FERRY_OK);
    if (c) {
        CHECK_STREQ(c->host, "ferryhost");
        CHECK_STREQ(c->origin, "env FERRY_CONN_WAREHOUSE");
    }
    ferry_conn_free(c);

    /* env lookup upper-cases the id; an empty variable is not a definition */
    c = NULL;
    CHECK_INTEQ(ferry_conn_resolve("WareHouse", &c, &err), FERRY_OK);
    if (c)
        CHECK_STREQ(c->host, "ferryhost");
    ferry_conn_free(c);
    setenv("FERRY_CONN_WAREHOUSE", "", 1);
    c = NULL;
    CHECK_INTEQ(ferry_conn_resolve("warehouse", &c, &err), FERRY_OK);
    if (c)
        CHECK_STREQ(c->host, "airflowhost");
    ferry_conn_free(c);

    /* a broken definition is an error naming its origin, not a fallback */
    setenv("FERRY_CONN_WAREHOUSE", "postgres://u:hunter2pw@host:0", 1);
    c = NULL;
    ferry_error_clear(&err);
    CHECK_INTEQ(ferry_conn_resolve("warehouse", &c, &err), FERRY_ERR_CONFIG);
    CHECK(c == NULL);
    CHECK(strstr(err.msg, "connection 'warehouse' (env FERRY_CONN_WAREHOUSE)") != NULL);
    reset_env();
}

static void test_resolve_unknown_and_invalid_ids(void)
{
    reset_env();
    const char *file = path_in_tmp("connections.json");
    write_file(file, "{\"known\": {\"conn_type\": \"mysql\"}, \"broken\": 42}", 0600);
    setenv("FERRY_CONNECTIONS_FILE", file, 1);

    ferry_conn *c = (ferry_conn *)1;
    ferry_error err;
    ferry_error_clear(&err);
    CHECK_INTEQ(ferry_conn_lookup("nope", &c, &err), FERRY_OK);
    CHECK(c == NULL);

    c = (ferry_conn *)1;
    CHECK_INTEQ(ferry_conn_resolve("nope", &c, &err), FERRY_ERR_CONFIG);
    CHECK(c == NULL);
    char expected[800];
    snprintf(expected, sizeof expected,
             "connection 'nope' is not defined (looked in FERRY_CONN_NOPE, AIRFLOW_CONN_NOPE, %s)",
             file);
    CHECK_STREQ(err.msg, expected);

    /* a member that is neither an object nor a string */
    ferry_error_clear(&err);
    CHECK_INTEQ(ferry_conn_resolve("broken", &c, &err), FERRY_ERR_CONFIG);
    CHECK(strstr(err.msg, "connection 'broken' (file ") != NULL);

    const char *invalid[] = {"", "a.b", "bad id", "x/y", "é"};
    for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++) {
        c = (ferry_conn *)1;
        CHECK_INTEQ(ferry_conn_resolve(invalid[i], &c, &err), FERRY_ERR_CONFIG);
        CHECK(c == NULL);
        CHECK_INTEQ(ferry_conn_lookup(invalid[i], &c, &err), FERRY_ERR_CONFIG);
    }
    CHECK_INTEQ(ferry_conn_resolve(NULL, &c, &err), FERRY_ERR_CONFIG);
    reset_env();
}

static int warnings_seen;
static void count_warnings(ferry_log_level level, const char *msg, void *userdata)
{
    (void)msg;
    (void)userdata;
    if (level == FERRY_LOG_WARN)
        warnings_seen++;
}

static void test_connections_file_locations_and_errors(void)
{
    reset_env();
    ferry_conn *c = (ferry_conn *)1;
    ferry_error err;
    ferry_error_clear(&err);

    /* no default file: not an error */
    CHECK_INTEQ(ferry_conn_lookup("anything", &c, &err), FERRY_OK);
    CHECK(c == NULL);

    /* a named file that does not exist is */
    setenv("FERRY_CONNECTIONS_FILE", path_in_tmp("missing.json"), 1);
    CHECK_INTEQ(ferry_conn_lookup("anything", &c, &err), FERRY_ERR_CONFIG);
    CHECK(strstr(err.msg, "missing.json") != NULL);
    char **ids = NULL;
    CHECK_INTEQ(ferry_conn_list(&ids, NULL, &err), FERRY_ERR_CONFIG);
    CHECK(ids == NULL);

    /* invalid JSON: position only, never the text (it may hold a password) */
    const char *broken = path_in_tmp("broken.json");
    write_file(broken, "{\"x\": {\"conn_type\": \"pg\", \"password\": hunter2pw}}", 0600);
    setenv("FERRY_CONNECTIONS_FILE", broken, 1);
    CHECK_INTEQ(ferry_conn_lookup("x", &c, &err), FERRY_ERR_CONFIG);
    CHECK(strstr(err.msg, "invalid JSON at line 1") != NULL);
    CHECK(strstr(err.msg, "hunter2pw") == NULL);
    write_file(broken, "[1, 2]", 0600);
    CHECK_INTEQ(ferry_conn_lookup("x", &c, &err), FERRY_ERR_CONFIG);
    unsetenv("FERRY_CONNECTIONS_FILE");

    /* $XDG_CONFIG_HOME/ferry/connections.json; group/world readable works, warns via the log */
    char dir[600];
    snprintf(dir, sizeof dir, "%s/xdg", tmpdir);
    mkdir(dir, 0700);
    snprintf(dir, sizeof dir, "%s/xdg/ferry", tmpdir);
    mkdir(dir, 0700);
    const char *xdg_file = path_in_tmp("xdg/ferry/connections.json");
    write_file(xdg_file, "{\"xdgconn\": \"sftp://u@xdghost\"}", 0644);
    setenv("XDG_CONFIG_HOME", path_in_tmp("xdg"), 1);
    warnings_seen = 0;
    ferry_log_set(count_warnings, NULL, FERRY_LOG_DEBUG);
    c = NULL;
    CHECK_INTEQ(ferry_conn_lookup("xdgconn", &c, &err), FERRY_OK);
    ferry_log_set(NULL, NULL, FERRY_LOG_INFO);
    CHECK(warnings_seen >= 1);
    if (c) {
        CHECK_STREQ(c->host, "xdghost");
        char origin[700];
        snprintf(origin, sizeof origin, "file %s", xdg_file);
        CHECK_STREQ(c->origin, origin);
    }
    ferry_conn_free(c);

    /* $HOME/.config/ferry/connections.json when XDG_CONFIG_HOME is unset */
    unsetenv("XDG_CONFIG_HOME");
    snprintf(dir, sizeof dir, "%s/home", tmpdir);
    mkdir(dir, 0700);
    snprintf(dir, sizeof dir, "%s/home/.config", tmpdir);
    mkdir(dir, 0700);
    snprintf(dir, sizeof dir, "%s/home/.config/ferry", tmpdir);
    mkdir(dir, 0700);
    write_file(path_in_tmp("home/.config/ferry/connections.json"),
               "{\"homeconn\": {\"conn_type\": \"http\", \"host\": \"homehost\"}}", 0600);
    setenv("HOME", path_in_tmp("home"), 1);
    c = NULL;
    CHECK_INTEQ(ferry_conn_lookup("homeconn", &c, &err), FERRY_OK);
    if (c)
        CHECK_STREQ(c->host, "homehost");
    ferry_conn_free(c);
    reset_env();
}

/* ----------------------------------------------------------------- secrets */

static void test_masking_and_scrub(void)
{
    ferry_secret_clear();
    ferry_conn *c = parse_ok(
        "api", "{\"conn_type\": \"http\", \"host\": \"h\", \"login\": \"me\", "
               "\"password\": \"s3cr3t\", \"port\": \"8080\", \"extra\": "
               "{\"api_token\": \"tok123\", \"api_key\": \"k1\", \"timeout\": 30, \"auth\": "
               "{\"client_secret\": \"nested-pw\"}}}");
    if (!c)
        return;
    char *masked = ferry_conn_to_json_masked(c);
    CHECK(masked != NULL);
    if (masked) {
        CHECK(strstr(masked, "s3cr3t") == NULL);
        CHECK(strstr(masked, "tok123") == NULL);
        CHECK(strstr(masked, "nested-pw") == NULL);
        json_error_t jerr;
        json_t *j = json_loads(masked, 0, &jerr);
        CHECK(j != NULL);
        CHECK_STREQ(json_string_value(json_object_get(j, "conn_id")), "api");
        CHECK_STREQ(json_string_value(json_object_get(j, "conn_type")), "http");
        CHECK_STREQ(json_string_value(json_object_get(j, "login")), "me");
        CHECK_STREQ(json_string_value(json_object_get(j, "password")), "***");
        CHECK(json_is_integer(json_object_get(j, "port")));
        CHECK_INTEQ(json_integer_value(json_object_get(j, "port")), 8080);
        CHECK(json_object_get(j, "schema") == NULL);
        json_t *extra = json_object_get(j, "extra");
        CHECK_STREQ(json_string_value(json_object_get(extra, "api_token")), "***");
        /* too short to be registered (log.c ignores < 3 bytes): masked by its name alone */
        CHECK_STREQ(json_string_value(json_object_get(extra, "api_key")), "***");
        CHECK_STREQ(json_string_value(json_object_get(extra, "timeout")), "30");
        json_decref(j);
        free(masked);
    }
    ferry_conn_free(c);

    char buf[200] = "auth failed for s3cr3t using tok123 and nested-pw";
    ferry_scrub(buf, sizeof buf);
    CHECK_STREQ(buf, "auth failed for *** using *** and ***");

    /* a password with reserved characters is scrubbed decoded and percent-encoded */
    c = parse_ok("db", "postgres://me:p%40ss%3Aw0rd%2Fx@h/db");
    if (c)
        CHECK_STREQ(c->password, "p@ss:w0rd/x");
    ferry_conn_free(c);
    char buf2[200] = "dsn postgres://me:p%40ss%3Aw0rd%2Fx@h/db pw p@ss:w0rd/x";
    ferry_scrub(buf2, sizeof buf2);
    CHECK_STREQ(buf2, "dsn postgres://me:***@h/db pw ***");
    ferry_error err;
    ferry_error_set(&err, FERRY_ERR_CONNECT, "login with %s failed", "s3cr3t");
    CHECK_STREQ(err.msg, "login with *** failed");

    /* a lower-case percent-encoding in the URI is registered as written too */
    c = parse_ok("db", "postgres://me:a%2fb%2fc@h");
    ferry_conn_free(c);
    char buf3[100] = "raw a%2fb%2fc";
    ferry_scrub(buf3, sizeof buf3);
    CHECK_STREQ(buf3, "raw ***");

    /* secret-named query parameters */
    c = parse_ok("x", "http://h?api_key=k3y-value&region=eu");
    if (c) {
        masked = ferry_conn_to_json_masked(c);
        CHECK(masked && !strstr(masked, "k3y-value") && strstr(masked, "\"region\": \"eu\""));
        free(masked);
    }
    ferry_conn_free(c);

    CHECK(ferry_conn_is_secret_key("api_token"));
    CHECK(ferry_conn_is_secret_key("API_KEY"));
    CHECK(ferry_conn_is_secret_key("Authorization"));
    CHECK(ferry_conn_is_secret_key("aws_secret_access_key"));
    CHECK(ferry_conn_is_secret_key("private_key_passphrase"));
    CHECK(ferry_conn_is_secret_key("db_password"));
    CHECK(!ferry_conn_is_secret_key("key_file"));
    CHECK(!ferry_conn_is_secret_key("region_name"));
    CHECK(!ferry_conn_is_secret_key(NULL));
    CHECK(ferry_conn_to_json_masked(NULL) == NULL);
}

/* -------------------------------------------------------------------- list */

static void test_list(void)
{
    reset_env();
    const char *file = path_in_tmp("list.json");
    write_file(file,
               "{\"beta\": \"mysql://h\", \"alpha\": {\"conn_type\": \"x\"}, \"Gamma\": \"x://h\", "
               "\"bad.id\": \"x://h\"}",
               0600);
    setenv("FERRY_CONNECTIONS_FILE", file, 1);
    setenv("FERRY_CONN_ZETA", "x://h", 1);
    setenv("AIRFLOW_CONN_ZETA", "x://h", 1);
    setenv("AIRFLOW_CONN_ALPHA", "x://h", 1);
    setenv("AIRFLOW_CONN_MY-CONN", "x://h", 1);
    setenv("AIRFLOW_CONN_EMPTY", "", 1);    /* not a definition */
    setenv("FERRY_CONN_lower", "x://h", 1); /* resolve could never find it */

    char **ids = NULL, **origins = NULL;
    ferry_error err;
    ferry_error_clear(&err);
    CHECK_INTEQ(ferry_conn_list(&ids, &origins, &err), FERRY_OK);
    const char *want_ids[] = {"Gamma", "alpha", "beta", "my-conn", "zeta"};
    char file_origin[600];
    snprintf(file_origin, sizeof file_origin, "file %s", file);
    const char *want_origins[] = {file_origin, "env AIRFLOW_CONN_ALPHA", file_origin,
                                  "env AIRFLOW_CONN_MY-CONN", "env FERRY_CONN_ZETA"};
    size_t n = 0;
    while (ids && ids[n])
        n++;
    CHECK_INTEQ(n, 5);
    for (size_t i = 0; i < n && i < 5; i++) {
        CHECK_STREQ(ids[i], want_ids[i]);
        CHECK_STREQ(origins[i], want_origins[i]);
    }
    if (origins)
        CHECK(origins[n] == NULL);
    ferry_strv_free(ids);
    ferry_strv_free(origins);

    /* origins may be NULL */
    ids = NULL;
    CHECK_INTEQ(ferry_conn_list(&ids, NULL, &err), FERRY_OK);
    CHECK(ids && ids[0] && strcmp(ids[0], "Gamma") == 0);
    ferry_strv_free(ids);

    /* nothing defined: an empty list */
    reset_env();
    ids = NULL;
    CHECK_INTEQ(ferry_conn_list(&ids, &origins, &err), FERRY_OK);
    CHECK(ids != NULL && ids[0] == NULL);
    CHECK(origins != NULL && origins[0] == NULL);
    ferry_strv_free(ids);
    ferry_strv_free(origins);
    ferry_strv_free(NULL);
}

/* -------------------------------------------------------------------- misc */

static void test_new_extra_bool_free(void)
{
    ferry_conn_free(NULL);
    ferry_conn *c = ferry_conn_new("x", "postgresql");
    CHECK(c != NULL);
    if (!c)
        return;
    CHECK_STREQ(c->id, "x");
    CHECK_STREQ(c->type, "postgres");
    CHECK(c->host == NULL);
    CHECK_INTEQ(c->n_extra, 0);
    ferry_conn_free(c);

    c = parse_ok("b", "x://h?a=TRUE&b=off&c=1&d=maybe");
    if (!c)
        return;
    CHECK_INTEQ(ferry_conn_extra_bool(c, "a", 0), 1);
    CHECK_INTEQ(ferry_conn_extra_bool(c, "b", 1), 0);
    CHECK_INTEQ(ferry_conn_extra_bool(c, "c", 0), 1);
    CHECK_INTEQ(ferry_conn_extra_bool(c, "d", 7), 7);
    CHECK_INTEQ(ferry_conn_extra_bool(c, "none", -1), -1);
    char *masked = ferry_conn_to_json_masked(c);
    CHECK(masked && strstr(masked, "\"conn_id\": \"b\"") && !strstr(masked, "password"));
    free(masked);
    ferry_conn_free(c);

    /* non-UTF-8 bytes (a decoded %E9) still give valid masked JSON */
    c = parse_ok("latin", "x://caf%E9/db");
    if (c) {
        masked = ferry_conn_to_json_masked(c);
        json_t *j = masked ? json_loads(masked, 0, NULL) : NULL;
        CHECK(j != NULL);
        json_decref(j);
        free(masked);
    }
    ferry_conn_free(c);
}

int main(void)
{
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(test_uri_airflow_generic_example);
    RUN(test_uri_aws_empty_host);
    RUN(test_uri_extra_json);
    RUN(test_uri_postgresql_percent_password);
    RUN(test_uri_sftp_key_file);
    RUN(test_uri_plus_and_query_rules);
    RUN(test_uri_ipv6);
    RUN(test_uri_http_scheme);
    RUN(test_uri_malformed);
    RUN(test_json_airflow_examples);
    RUN(test_json_variants);
    RUN(test_json_malformed);
    RUN(test_resolve_precedence);
    RUN(test_resolve_unknown_and_invalid_ids);
    RUN(test_connections_file_locations_and_errors);
    RUN(test_masking_and_scrub);
    RUN(test_list);
    RUN(test_new_extra_bool_free);
    ferry_secret_clear();
    nftw(tmpdir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    return check_summary();
}
