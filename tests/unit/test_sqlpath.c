/*
 * test_sqlpath.c - table names from endpoint paths, without a server: the
 * shared core splitter (core/sqlpath.c) with either quote character, the
 * PostgreSQL and MySQL wrappers around it (their exact error texts), and
 * PostgreSQL's query trimming (comments, strings, quoted names, dollar
 * quotes).  Table-driven: one row per case.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/sqlpath.h"
#include "hooks/mysql/my_internal.h"
#include "hooks/postgres/pg_internal.h"

/* ---- the core splitter ---------------------------------------------------- */

typedef struct split_case {
    const char *path;
    char quote;
    int fold_lower;
    ferry_sql_path_problem want;
    const char *schema; /* NULL: none */
    const char *name;   /* NULL when want != OK */
} split_case;

static const split_case split_cases[] = {
    {"orders", '"', 1, FERRY_SQL_PATH_OK, NULL, "orders"},
    {"Public.Orders", '"', 1, FERRY_SQL_PATH_OK, "public", "orders"},
    {"Public.Orders", '`', 0, FERRY_SQL_PATH_OK, "Public", "Orders"},
    {"\"My Schema\".\"My \"\"T\"\"able\"", '"', 1, FERRY_SQL_PATH_OK, "My Schema", "My \"T\"able"},
    {"\"a.b\".c", '"', 1, FERRY_SQL_PATH_OK, "a.b", "c"},
    {"`my db`.`odd``name.x`", '`', 0, FERRY_SQL_PATH_OK, "my db", "odd`name.x"},
    {"`Mixed`", '`', 0, FERRY_SQL_PATH_OK, NULL, "Mixed"},
    {"\"Mixed\"", '"', 1, FERRY_SQL_PATH_OK, NULL, "Mixed"},
    {"\xc3\x89t\xc3\xa9", '"', 1, FERRY_SQL_PATH_OK, NULL, "\xc3\x89t\xc3\xa9"}, /* ASCII-only fold */
    {"A`b", '"', 1, FERRY_SQL_PATH_OK, NULL, "a`b"},  /* the other dialect's quote is a byte */
    {"a\"b", '`', 0, FERRY_SQL_PATH_OK, NULL, "a\"b"},
    {"s.\"T\"", '"', 1, FERRY_SQL_PATH_OK, "s", "T"},
    {"", '"', 1, FERRY_SQL_PATH_EMPTY, NULL, NULL},
    {"\"\"", '"', 1, FERRY_SQL_PATH_EMPTY, NULL, NULL},
    {"``", '`', 0, FERRY_SQL_PATH_EMPTY, NULL, NULL},
    {"a.", '`', 0, FERRY_SQL_PATH_EMPTY, NULL, NULL},
    {".b", '"', 1, FERRY_SQL_PATH_EMPTY, NULL, NULL},
    {"a..b", '"', 1, FERRY_SQL_PATH_EMPTY, NULL, NULL},
    {"a.b.c", '"', 1, FERRY_SQL_PATH_TOO_MANY, NULL, NULL},
    {"a.b.c", '`', 0, FERRY_SQL_PATH_TOO_MANY, NULL, NULL},
    {"a.b.", '"', 1, FERRY_SQL_PATH_TOO_MANY, NULL, NULL},
    {"\"open", '"', 1, FERRY_SQL_PATH_UNTERMINATED, NULL, NULL},
    {"a.`open``", '`', 0, FERRY_SQL_PATH_UNTERMINATED, NULL, NULL},
    {"\"a\"b", '"', 1, FERRY_SQL_PATH_AFTER_QUOTE, NULL, NULL},
    {"a.`b` ", '`', 0, FERRY_SQL_PATH_AFTER_QUOTE, NULL, NULL},
    {"a\"b", '"', 1, FERRY_SQL_PATH_QUOTE_INSIDE, NULL, NULL},
    {"s.a`b", '`', 0, FERRY_SQL_PATH_QUOTE_INSIDE, NULL, NULL},
};

static void test_split_table(void)
{
    for (size_t i = 0; i < sizeof split_cases / sizeof split_cases[0]; i++) {
        const split_case *c = &split_cases[i];
        char *schema = (char *)"unset", *name = (char *)"unset";
        ferry_sql_path_problem got =
            ferry_sql_path_split(c->path, c->quote, c->fold_lower, &schema, &name);
        if (got != c->want)
            fprintf(stderr, "  case %zu: '%s'\n", i, c->path);
        CHECK_INTEQ(got, c->want);
        if (c->want == FERRY_SQL_PATH_OK && got == FERRY_SQL_PATH_OK) {
            if (c->schema)
                CHECK_STREQ(schema, c->schema);
            else
                CHECK(schema == NULL);
            CHECK_STREQ(name, c->name);
            free(schema);
            free(name);
        } else {
            CHECK(schema == NULL && name == NULL); /* nothing to free on failure */
        }
    }
}

/* ---- the hooks' wrappers: same results, their own error texts ------------- */

typedef struct hook_case {
    const char *path;
    ferry_status want;
    const char *schema; /* when OK */
    const char *name;   /* when OK */
    const char *why;    /* part of the message when not OK */
} hook_case;

static const hook_case pg_cases[] = {
    {"Public.Orders", FERRY_OK, "public", "orders", NULL},
    {"\"My Table\"", FERRY_OK, NULL, "My Table", NULL},
    {"", FERRY_ERR_USAGE, NULL, NULL, "bad table name '': empty name (expected table, schema.table or \"Quoted\".\"Names\")"},
    {"a.b.c", FERRY_ERR_USAGE, NULL, NULL, "'a.b.c': more than schema.table"},
    {"\"open", FERRY_ERR_USAGE, NULL, NULL, ": unterminated quoted name"},
    {"\"a\"b", FERRY_ERR_USAGE, NULL, NULL, ": text after a quoted name"},
    {"a\"b", FERRY_ERR_USAGE, NULL, NULL, ": a quote inside an unquoted name"},
};

static const hook_case my_cases[] = {
    {"Shop.Orders", FERRY_OK, "Shop", "Orders", NULL},
    {"`my db`.`t`", FERRY_OK, "my db", "t", NULL},
    {"a.", FERRY_ERR_USAGE, NULL, NULL, "bad table name 'a.': empty name (expected table, database.table or `quoted`.`names`)"},
    {"a.b.c", FERRY_ERR_USAGE, NULL, NULL, "'a.b.c': more than database.table"},
    {"`open", FERRY_ERR_USAGE, NULL, NULL, ": unterminated `quoted` name"},
    {"`a`b", FERRY_ERR_USAGE, NULL, NULL, ": text after a `quoted` name"},
    {"a`b", FERRY_ERR_USAGE, NULL, NULL, ": a backtick inside an unquoted name"},
};

static void check_hook_result(const hook_case *c, ferry_status got, const char *schema,
                              const char *name, const ferry_error *err)
{
    CHECK_INTEQ(got, c->want);
    if (c->want == FERRY_OK) {
        if (c->schema)
            CHECK_STREQ(schema, c->schema);
        else
            CHECK(schema == NULL);
        CHECK_STREQ(name, c->name);
    } else {
        if (!strstr(err->msg, c->why))
            fprintf(stderr, "  message '%s' lacks '%s'\n", err->msg, c->why);
        CHECK(strstr(err->msg, c->why) != NULL);
        CHECK(schema == NULL && name == NULL);
    }
}

static void test_pg_table_parse(void)
{
    for (size_t i = 0; i < sizeof pg_cases / sizeof pg_cases[0]; i++) {
        ferry_pg_table t;
        ferry_error err;
        ferry_error_clear(&err);
        ferry_status st = ferry_pg_table_parse(pg_cases[i].path, "wh", &t, &err);
        check_hook_result(&pg_cases[i], st, t.schema, t.name, &err);
        if (st != FERRY_OK)
            CHECK(strstr(err.msg, "postgres(wh)") != NULL);
        ferry_pg_table_release(&t);
    }
}

static void test_my_table_parse(void)
{
    for (size_t i = 0; i < sizeof my_cases / sizeof my_cases[0]; i++) {
        ferry_my_table t;
        ferry_error err;
        ferry_error_clear(&err);
        ferry_status st = ferry_my_table_parse(my_cases[i].path, "shop", &t, &err);
        check_hook_result(&my_cases[i], st, t.schema, t.name, &err);
        ferry_my_table_release(&t);
    }
}

/* ---- PostgreSQL: trimming a user's query ---------------------------------- */

static const struct {
    const char *in, *out;
} trim_cases[] = {
    {"SELECT 1", "SELECT 1"},
    {"SELECT 1;", "SELECT 1"},
    {"SELECT 1 ; ;\n\t \r\f", "SELECT 1"},
    {"SELECT 1; -- done", "SELECT 1"},
    {"SELECT 1 /* a */ /* b /* nested */ still */ ;", "SELECT 1"},
    {"SELECT 1 /* unterminated", "SELECT 1"},
    {"SELECT 1 -- x\n; -- y", "SELECT 1"},
    {"SELECT '--not a comment'", "SELECT '--not a comment'"},
    {"SELECT ';' ;", "SELECT ';'"},
    {"SELECT 'it''s /*'; -- c", "SELECT 'it''s /*'"},
    {"SELECT E'a\\';b' ;", "SELECT E'a\\';b'"},
    {"SELECT e'\\\\' ; ", "SELECT e'\\\\'"},
    {"SELECT 'a\\' ; -- x'", "SELECT 'a\\'"},       /* no E: backslash is a byte */
    {"SELECT \"a;--\"\"b\"", "SELECT \"a;--\"\"b\""},
    {"SELECT $$ ; -- $$;", "SELECT $$ ; -- $$"},
    {"SELECT $body$ $$ ; $body$ ; --", "SELECT $body$ $$ ; $body$"},
    {"SELECT $1 ;", "SELECT $1"},                   /* a parameter, not a tag */
    {"SELECT a$b$ ;", "SELECT a$b$"},               /* inside a name */
    {"SELECT $x$ never closed ;", "SELECT $x$ never closed ;"},
    {"SELECT 'never closed ;", "SELECT 'never closed ;"},
    {"-- only a comment", ""},
    {";;", ""},
    {"", ""},
};

static void test_pg_query_trim(void)
{
    for (size_t i = 0; i < sizeof trim_cases / sizeof trim_cases[0]; i++) {
        char *got = ferry_pg_query_trim(trim_cases[i].in);
        CHECK_STREQ(got, trim_cases[i].out);
        free(got);
    }
}

int main(void)
{
    RUN(test_split_table);
    RUN(test_pg_table_parse);
    RUN(test_my_table_parse);
    RUN(test_pg_query_trim);
    return check_summary();
}
