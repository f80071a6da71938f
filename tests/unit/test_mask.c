/*
 * test_mask.c - core/mask.c: secrets masked by field in `conn get` JSON, and
 * in free text by occurrence except inside words the user wrote in fields
 * that are not secret (login, schema, host, type, JSON names), with the
 * rules for short secrets.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "check.h"
#include "core/mask.h"
#include "ferry/conn.h"
#include "ferry/error.h"
#include "ferry/log.h"

static ferry_conn *parse(const char *id, const char *text)
{
    ferry_conn *c = NULL;
    ferry_error err;
    ferry_error_clear(&err);
    if (ferry_conn_parse(id, text, &c, &err) != FERRY_OK) {
        fprintf(stderr, "  parse failed: %s\n", err.msg);
        return NULL;
    }
    return c;
}

/* `conn get`'s JSON of text (parsed), or NULL. */
static json_t *conn_get(const char *id, const char *text)
{
    ferry_conn *c = parse(id, text);
    if (!c)
        return NULL;
    char *s = ferry_conn_to_json_masked(c);
    ferry_conn_free(c);
    json_t *j = s ? json_loads(s, 0, NULL) : NULL;
    free(s);
    return j;
}

static const char *member(json_t *j, const char *name)
{
    return json_string_value(json_object_get(j, name));
}

/* the free-text rule on a copy of text */
static const char *scrubbed(const char *text)
{
    static char buf[1024];
    snprintf(buf, sizeof buf, "%s", text);
    ferry_scrub(buf, sizeof buf);
    return buf;
}

static void test_password_equal_to_login(void)
{
    ferry_secret_clear();
    json_t *j = conn_get("x", "postgres://postgres:postgres@localhost:5432/postgres");
    CHECK(j != NULL);
    CHECK_STREQ(member(j, "conn_id"), "x");
    CHECK_STREQ(member(j, "conn_type"), "postgres");
    CHECK_STREQ(member(j, "login"), "postgres");
    CHECK_STREQ(member(j, "schema"), "postgres");
    CHECK_STREQ(member(j, "host"), "localhost");
    CHECK_STREQ(member(j, "password"), "***");
    json_decref(j);
    /* errors name the system and the login */
    CHECK_STREQ(scrubbed("postgres(x): password authentication failed for user \"postgres\""),
                "postgres(x): password authentication failed for user \"postgres\"");
    ferry_error err;
    ferry_error_hook(&err, FERRY_ERR_CONNECT, "postgres", "x", "cannot connect to %s", "localhost:5432");
    CHECK_STREQ(err.msg, "postgres(x): cannot connect to localhost:5432");
    /* the URI's password is a field by its place: masked all the same */
    CHECK_STREQ(scrubbed("source: postgres://postgres:postgres@localhost:5432/postgres#t"),
                "source: postgres://postgres:***@localhost:5432/postgres#t");
}

static void test_password_equal_to_database(void)
{
    ferry_secret_clear();
    json_t *j = conn_get("wh", "{\"conn_type\": \"postgres\", \"host\": \"db1\", \"login\": \"etl\", "
                               "\"password\": \"warehouse\", \"schema\": \"warehouse\"}");
    CHECK(j != NULL);
    CHECK_STREQ(member(j, "schema"), "warehouse");
    CHECK_STREQ(member(j, "login"), "etl");
    CHECK_STREQ(member(j, "password"), "***");
    json_decref(j);
    CHECK_STREQ(scrubbed("FATAL: database \"warehouse\" does not exist"),
                "FATAL: database \"warehouse\" does not exist");
}

static void test_password_equal_to_host_and_json_keys(void)
{
    const char *const words[] = {"host", "login", "extra", "password", "schema"};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        ferry_secret_clear();
        char text[512];
        snprintf(text, sizeof text,
                 "{\"conn_type\": \"mysql\", \"host\": \"127.0.0.1\", \"login\": \"u\", \"password\": \"%s\", "
                 "\"schema\": \"db\", \"extra\": {\"charset\": \"utf8\"}}",
                 words[i]);
        ferry_conn *c = parse("m", text);
        CHECK(c != NULL);
        char *s = c ? ferry_conn_to_json_masked(c) : NULL;
        ferry_conn_free(c);
        CHECK(s != NULL);
        json_t *j = s ? json_loads(s, 0, NULL) : NULL;
        CHECK(j != NULL); /* still valid JSON, every field name intact */
        CHECK_STREQ(member(j, "conn_type"), "mysql");
        CHECK_STREQ(member(j, "host"), "127.0.0.1");
        CHECK_STREQ(member(j, "login"), "u");
        CHECK_STREQ(member(j, "password"), "***");
        CHECK_STREQ(member(j, "schema"), "db");
        CHECK_STREQ(member(json_object_get(j, "extra"), "charset"), "utf8");
        CHECK(s && strstr(s, "\"host\": ") && strstr(s, "\"login\": ") && strstr(s, "\"extra\": "));
        json_decref(j);
        free(s);
        /* the word in messages stays a word */
        CHECK_STREQ(scrubbed("could not translate host name; login and extra fields"),
                    "could not translate host name; login and extra fields");
    }
}

static void test_secret_inside_a_key_name(void)
{
    ferry_secret_clear();
    json_t *j = conn_get("a", "{\"conn_type\": \"aws\", \"login\": \"AKIDEXAMPLE\", \"password\": \"secret\", "
                              "\"extra\": {\"aws_secret_access_key\": \"zz\", \"region_name\": \"eu-west-1\"}}");
    CHECK(j != NULL);
    json_t *extra = json_object_get(j, "extra");
    CHECK_STREQ(member(extra, "aws_secret_access_key"), "***");
    CHECK_STREQ(member(extra, "region_name"), "eu-west-1");
    CHECK_STREQ(member(j, "login"), "AKIDEXAMPLE");
    json_decref(j);
    /* glued to other letters it is part of another word; alone it is masked */
    CHECK_STREQ(scrubbed("no aws_secret_access_key, no secret_token; the password is secret."),
                "no aws_secret_access_key, no secret_token; the password is ***.");
}

static void test_headers_in_extra(void)
{
    ferry_secret_clear();
    json_t *j = conn_get(
        "api", "{\"conn_type\": \"http\", \"host\": \"api.example.com\", \"extra\": {\"headers\": {"
               "\"X-Api-Key\": \"k3y-ABCdef-0001\", \"Authorization\": \"Bearer tok-XYZ-0002\", "
               "\"Proxy-Authorization\": \"Basic cHJveHk6cHc=\", \"Cookie\": \"sid=c00kie-0003\", "
               "\"X-Auth-Token\": \"t0k-0004\", \"Accept\": \"text/csv\", \"X-Trace\": [1, \"two\"]}, "
               "\"timeout\": 30}}");
    CHECK(j != NULL);
    json_t *extra = json_object_get(j, "extra");
    CHECK_STREQ(member(extra, "timeout"), "30");
    const char *h = member(extra, "headers");
    json_t *headers = h ? json_loads(h, 0, NULL) : NULL;
    CHECK(headers != NULL);
    CHECK_STREQ(member(headers, "X-Api-Key"), "***");
    CHECK_STREQ(member(headers, "Authorization"), "***");
    CHECK_STREQ(member(headers, "Proxy-Authorization"), "***");
    CHECK_STREQ(member(headers, "Cookie"), "***");
    CHECK_STREQ(member(headers, "X-Auth-Token"), "***");
    CHECK_STREQ(member(headers, "Accept"), "text/csv");
    CHECK(json_is_array(json_object_get(headers, "X-Trace")));
    json_decref(headers);
    json_decref(j);
    /* the values were registered: a server that echoes one is masked */
    CHECK_STREQ(scrubbed("401: bad key k3y-ABCdef-0001 (cookie sid=c00kie-0003)"),
                "401: bad key *** (cookie ***)");
}

static void test_password_in_server_error(void)
{
    ferry_secret_clear();
    ferry_conn *c = parse("pg", "postgresql://etl:hunter2pw@127.0.0.1:5432/etl");
    ferry_conn_free(c);
    ferry_error err;
    ferry_error_hook(&err, FERRY_ERR_DATA, "postgres", "pg", "ERROR:  syntax error at or near \"%s\"",
                     "hunter2pw");
    CHECK_STREQ(err.msg, "postgres(pg): ERROR:  syntax error at or near \"***\"");
    CHECK_STREQ(scrubbed("conninfo host=127.0.0.1 user=etl password='hunter2pw' dbname=etl"),
                "conninfo host=127.0.0.1 user=etl password='***' dbname=etl");
    /* a long secret (16 bytes or more) is masked even glued to other text */
    ferry_secret_add("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
    CHECK_STREQ(scrubbed("key AWS4wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"), "key AWS4***");
}

static void test_short_secrets(void)
{
    ferry_secret_clear();
    /* 1-2 bytes: "***" in its field, never searched for in free text */
    json_t *j = conn_get("s", "{\"conn_type\": \"postgres\", \"host\": \"h\", \"login\": \"u\", \"password\": \"ab\", "
                              "\"extra\": {\"api_key\": \"k\"}}");
    CHECK(j != NULL);
    CHECK_STREQ(member(j, "password"), "***");
    CHECK_STREQ(member(json_object_get(j, "extra"), "api_key"), "***");
    json_decref(j);
    CHECK_STREQ(scrubbed("ab is a word, so is k"), "ab is a word, so is k");
    /* ... but by its place it is a field: masked */
    CHECK_STREQ(scrubbed("postgres://u:ab@h/db?api_key=k&x=1"), "postgres://u:***@h/db?api_key=***&x=1");
    /* 3 bytes and more: as a whole word */
    ferry_secret_add("xyz");
    CHECK_STREQ(scrubbed("the xyz value, xyzzy and a_xyz stay"), "the *** value, xyzzy and a_xyz stay");
    /* a masked 1-byte value grows the text: cut at the capacity */
    char small[12] = "u:a@h/db";
    ferry_scrub(small, sizeof small);
    CHECK_STREQ(small, "u:a@h/db"); /* no "://": no userinfo */
    char small2[16] = "s://u:a@hostxx";
    ferry_scrub(small2, sizeof small2);
    CHECK_STREQ(small2, "s://u:***@hostx");
}

static void test_private_keys_and_other_secret_fields(void)
{
    ferry_secret_clear();
    json_t *j = conn_get(
        "k", "{\"conn_type\": \"sftp\", \"host\": \"h\", \"login\": \"u\", \"extra\": {"
             "\"private_key\": \"-----BEGIN OPENSSH PRIVATE KEY-----\\nb3BlbnNzaC1rZXktdjE=\\n-----END OPENSSH "
             "PRIVATE KEY-----\\n\", \"key_material\": \"-----BEGIN RSA PRIVATE KEY-----\\nMIIEpAIBAAK=\\n\", "
             "\"private_key_passphrase\": \"pp-1234\", \"key_file\": \"/home/u/.ssh/id_ed25519\", "
             "\"aws_session_token\": \"FQoGZXIvYXdzE\", \"sse_customer_key\": \"c2VjcmV0a2V5\", "
             "\"db_passwd\": \"pw1\", \"oauth\": {\"client_credential\": \"cc-1\", \"scopes\": [\"read\"]}}}");
    CHECK(j != NULL);
    json_t *extra = json_object_get(j, "extra");
    CHECK_STREQ(member(extra, "private_key"), "***");
    CHECK_STREQ(member(extra, "key_material"), "***"); /* by its value */
    CHECK_STREQ(member(extra, "private_key_passphrase"), "***");
    CHECK_STREQ(member(extra, "key_file"), "/home/u/.ssh/id_ed25519"); /* a path */
    CHECK_STREQ(member(extra, "aws_session_token"), "***");
    CHECK_STREQ(member(extra, "sse_customer_key"), "***");
    CHECK_STREQ(member(extra, "db_passwd"), "***");
    CHECK_STREQ(member(extra, "oauth"), "{\"client_credential\":\"***\",\"scopes\":[\"read\"]}");
    json_decref(j);
    CHECK_STREQ(scrubbed("bad key MIIEpAIBAAK= / cc-1"), "bad key MIIEpAIBAAK= / ***");

    CHECK(ferry_mask_secret_name("X-Api-Key"));
    CHECK(ferry_mask_secret_name("apikey"));
    CHECK(ferry_mask_secret_name("Set-Cookie"));
    CHECK(ferry_mask_secret_name("Proxy-Authorization"));
    CHECK(ferry_mask_secret_name("X-Amz-Server-Side-Encryption-Customer-Key"));
    CHECK(ferry_mask_secret_name("aws_secret_access_key"));
    CHECK(ferry_mask_secret_name("PASSWD"));
    CHECK(!ferry_mask_secret_name("key_file"));
    CHECK(!ferry_mask_secret_name("region_name"));
    CHECK(!ferry_mask_secret_name("Accept"));
    CHECK(!ferry_mask_secret_name(NULL));
    CHECK(ferry_mask_secret_value("-----BEGIN EC PRIVATE KEY-----\nx"));
    CHECK(ferry_mask_secret_value("PuTTY-User-Key-File-3: ssh-ed25519"));
    CHECK(!ferry_mask_secret_value("-----BEGIN CERTIFICATE-----\nx"));
    CHECK(!ferry_mask_secret_value(NULL));
}

static void test_public_word_exception_is_exact(void)
{
    ferry_secret_clear();
    /* a password inside the host: the host stays readable, the password alone does not */
    ferry_conn *c = parse("e", "mysql://u:example@db.example.com:3306/d");
    ferry_conn_free(c);
    CHECK_STREQ(scrubbed("cannot connect to db.example.com: password example refused"),
                "cannot connect to db.example.com: password *** refused");
}

int main(void)
{
    RUN(test_password_equal_to_login);
    RUN(test_password_equal_to_database);
    RUN(test_password_equal_to_host_and_json_keys);
    RUN(test_secret_inside_a_key_name);
    RUN(test_headers_in_extra);
    RUN(test_password_in_server_error);
    RUN(test_short_secrets);
    RUN(test_private_keys_and_other_secret_fields);
    RUN(test_public_word_exception_is_exact);
    ferry_secret_clear();
    return check_summary();
}
