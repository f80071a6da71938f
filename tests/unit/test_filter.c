/*
 * test_filter.c - transfer/filter.c without a server: rclone's documented
 * filter pattern examples (docs/content/filtering.md: wildcard, rooted,
 * alternates, path wildcard, any char, range, escape), anchoring with a
 * leading '/', '*' against '**', '?' and classes on UTF-8 names, nested
 * alternatives, malformed globs refused, rules in the order given with the
 * first match winning, the "exclude everything else" an include implies,
 * and the --min-age / --max-age bounds with their reasons.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "transfer/filter.h"

/* glob matches name? (-1 when the glob does not compile) */
static int m(const char *glob, const char *name)
{
    ferry_glob *g = NULL;
    ferry_error err;
    ferry_error_clear(&err);
    if (ferry_glob_compile(glob, &g, &err) != FERRY_OK)
        return -1;
    int r = ferry_glob_match(g, name);
    ferry_glob_free(g);
    return r;
}

/* The compile error of a malformed glob ("" when it compiled). */
static const char *bad(const char *glob)
{
    static ferry_error err;
    ferry_glob *g = NULL;
    ferry_error_clear(&err);
    if (ferry_glob_compile(glob, &g, &err) == FERRY_OK) {
        ferry_glob_free(g);
        return "";
    }
    CHECK_INTEQ(err.status, FERRY_ERR_USAGE);
    return err.msg;
}

/* rclone's table "Filter pattern examples" (names there carry a leading
 * '/' for the root; ferry's names are relative, without it). */
static void test_rclone_examples(void)
{
    /* Wildcard */
    CHECK_INTEQ(m("*.jpg", "file.jpg"), 1);
    CHECK_INTEQ(m("*.jpg", "dir/file.jpg"), 1);
    CHECK_INTEQ(m("*.jpg", "file.png"), 0);
    CHECK_INTEQ(m("*.jpg", "dir/file.png"), 0);
    /* Rooted */
    CHECK_INTEQ(m("/*.jpg", "file.jpg"), 1);
    CHECK_INTEQ(m("/*.jpg", "file2.jpg"), 1);
    CHECK_INTEQ(m("/*.jpg", "file.png"), 0);
    CHECK_INTEQ(m("/*.jpg", "dir/file.jpg"), 0);
    /* Alternates */
    CHECK_INTEQ(m("*.{jpg,png}", "file.jpg"), 1);
    CHECK_INTEQ(m("*.{jpg,png}", "dir/file.png"), 1);
    CHECK_INTEQ(m("*.{jpg,png}", "file.gif"), 0);
    CHECK_INTEQ(m("*.{jpg,png}", "dir/file.gif"), 0);
    /* Path wildcard */
    CHECK_INTEQ(m("dir/**", "dir/anyfile"), 1);
    CHECK_INTEQ(m("dir/**", "subdir/dir/subsubdir/anyfile"), 1);
    CHECK_INTEQ(m("dir/**", "file.png"), 0);
    CHECK_INTEQ(m("dir/**", "subdir/file.png"), 0);
    /* Any char */
    CHECK_INTEQ(m("*.t?t", "file.txt"), 1);
    CHECK_INTEQ(m("*.t?t", "dir/file.tzt"), 1);
    CHECK_INTEQ(m("*.t?t", "file.qxt"), 0);
    CHECK_INTEQ(m("*.t?t", "dir/file.png"), 0);
    /* Range */
    CHECK_INTEQ(m("*.[a-z]", "file.a"), 1);
    CHECK_INTEQ(m("*.[a-z]", "dir/file.b"), 1);
    CHECK_INTEQ(m("*.[a-z]", "file.0"), 0);
    CHECK_INTEQ(m("*.[a-z]", "dir/file.1"), 0);
    /* Escape */
    CHECK_INTEQ(m("*.\\?\\?\\?", "file.???"), 1);
    CHECK_INTEQ(m("*.\\?\\?\\?", "dir/file.???"), 1);
    CHECK_INTEQ(m("*.\\?\\?\\?", "file.abc"), 0);
    CHECK_INTEQ(m("*.\\?\\?\\?", "dir/file.def"), 0);
    /* "file.jpg" and "/file.jpg" from the pattern syntax section */
    CHECK_INTEQ(m("file.jpg", "file.jpg"), 1);
    CHECK_INTEQ(m("file.jpg", "directory/file.jpg"), 1);
    CHECK_INTEQ(m("file.jpg", "afile.jpg"), 0);
    CHECK_INTEQ(m("file.jpg", "directory/afile.jpg"), 0);
    CHECK_INTEQ(m("/file.jpg", "file.jpg"), 1);
    CHECK_INTEQ(m("/file.jpg", "afile.jpg"), 0);
    CHECK_INTEQ(m("/file.jpg", "directory/file.jpg"), 0);
    /* case sensitive */
    CHECK_INTEQ(m("potato", "potato"), 1);
    CHECK_INTEQ(m("potato", "POTATO"), 0);
    /* alternatives, then a path wildcard: rclone's "copy /vol1 remote: --include {A,B}/..." */
    CHECK_INTEQ(m("{A,B}/**", "A/x"), 1);
    CHECK_INTEQ(m("{A,B}/**", "B/y/z"), 1);
    CHECK_INTEQ(m("{A,B}/**", "C/x"), 0);
}

static void test_star_vs_double_star(void)
{
    CHECK_INTEQ(m("/*", "a"), 1);
    CHECK_INTEQ(m("/*", "a/b"), 0);       /* '*' stops at '/' */
    CHECK_INTEQ(m("/**", "a/b"), 1);      /* '**' does not */
    CHECK_INTEQ(m("/a/*.csv", "a/x.csv"), 1);
    CHECK_INTEQ(m("/a/*.csv", "a/b/x.csv"), 0);
    CHECK_INTEQ(m("/a/**.csv", "a/b/x.csv"), 1);
    CHECK_INTEQ(m("/a/**/x.csv", "a/b/c/x.csv"), 1);
    CHECK_INTEQ(m("/a/**/x.csv", "a/x.csv"), 0); /* "**" spans, the '/'s around it stay */
    CHECK_INTEQ(m("**", "anything/at/all"), 1);
    CHECK_INTEQ(m("*", "top"), 1);
    CHECK_INTEQ(m("*", "dir/leaf"), 1);   /* unanchored: the last segment */
    CHECK_INTEQ(m("a*", "dir/abc"), 1);
    CHECK_INTEQ(m("a*", "abc/dir"), 0);
    CHECK_INTEQ(m("*.csv", ".hidden.csv"), 1); /* rclone: no special dot rule */
    CHECK_INTEQ(m("in/*.csv", "x/in/a.csv"), 1);
    CHECK_INTEQ(m("/in/*.csv", "x/in/a.csv"), 0);
    CHECK_INTEQ(m("", ""), 1);
    CHECK_INTEQ(m("", "a"), 0);
}

static void test_chars_and_classes(void)
{
    CHECK_INTEQ(m("?", "é"), 1);          /* one character, two bytes */
    CHECK_INTEQ(m("??", "é"), 0);
    CHECK_INTEQ(m("a?c", "a/c"), 0);      /* '?' never matches '/' */
    CHECK_INTEQ(m("[é]x", "éx"), 1);
    CHECK_INTEQ(m("[!a]", "b"), 1);
    CHECK_INTEQ(m("[!a]", "a"), 0);
    CHECK_INTEQ(m("[^a]", "b"), 1);
    CHECK_INTEQ(m("/x[!a]y", "x/y"), 0);   /* a negated class does not match '/' */
    CHECK_INTEQ(m("[[:digit:]][[:alpha:]]", "7q"), 1);
    CHECK_INTEQ(m("[[:digit:]][[:alpha:]]", "q7"), 0);
    CHECK_INTEQ(m("??[^[:punct:]]*", "ab_c"), 0);
    CHECK_INTEQ(m("??[^[:punct:]]*", "abcd"), 1);
    CHECK_INTEQ(m("[]]", "]"), 1);        /* ']' first in a class is itself */
    CHECK_INTEQ(m("[a\\-z]", "-"), 1);
    CHECK_INTEQ(m("[a\\-z]", "b"), 0);
    CHECK_INTEQ(m("a\\*b", "a*b"), 1);
    CHECK_INTEQ(m("a\\*b", "axb"), 0);
    CHECK_INTEQ(m("a\\\\b", "a\\b"), 1);
    CHECK_INTEQ(m("x,y", "x,y"), 1);      /* ',' outside {} is a character */
    CHECK_INTEQ(m("a{b,c,d}e", "ace"), 1);
    CHECK_INTEQ(m("a{b,c,d}e", "axe"), 0);
    CHECK_INTEQ(m("a{,x}b", "ab"), 1);    /* an empty alternative */
    CHECK_INTEQ(m("a{,x}b", "axb"), 1);
    CHECK_INTEQ(m("{a{1,2},b}.csv", "a2.csv"), 1); /* nested */
    CHECK_INTEQ(m("{a{1,2},b}.csv", "b.csv"), 1);
    CHECK_INTEQ(m("{a{1,2},b}.csv", "a3.csv"), 0);
    CHECK_INTEQ(m("{*.csv,*.tsv}", "d/x.tsv"), 1);
    CHECK_INTEQ(m("report (1).csv", "report (1).csv"), 1); /* regex characters are plain */
    CHECK_INTEQ(m("a.c", "abc"), 0);
    CHECK_INTEQ(m("x+y$", "x+y$"), 1);
}

static void test_malformed(void)
{
    CHECK(strstr(bad("***potato"), "too many stars") != NULL);
    CHECK(strstr(bad("ab]c"), "mismatched ']'") != NULL);
    CHECK(strstr(bad("ab[c"), "mismatched '[' and ']'") != NULL);
    CHECK(strstr(bad("ab{c"), "mismatched '{' and '}'") != NULL);
    CHECK(strstr(bad("ab}c"), "mismatched '{' and '}'") != NULL);
    CHECK(strstr(bad("ab{{cd}}"), "{{regexp}}") != NULL);
    CHECK(strstr(bad("[z-a]"), "backwards") != NULL);
    CHECK(strstr(bad("[[:nope:]]"), "unknown character class") != NULL);
    CHECK(strstr(bad("a\\"), "ends it") != NULL);
    CHECK(strstr(bad("bad[glob"), "bad glob 'bad[glob'") != NULL);
    CHECK_STREQ(bad("*.{jpg,png,gif}"), "");
}

static ferry_filter *mk(const char *const *rules, size_t n, double min_age, double max_age, int64_t now)
{
    ferry_filter *f = NULL;
    ferry_error err;
    ferry_error_clear(&err);
    CHECK_INTEQ(ferry_filter_new(rules, n, min_age, max_age, now, &f, &err), FERRY_OK);
    return f;
}

static void test_rules_order_and_include_only(void)
{
    char why[256];
    /* no rules: everything */
    ferry_filter *f = mk(NULL, 0, 0, 0, 0);
    CHECK(!ferry_filter_active(f));
    CHECK_INTEQ(ferry_filter_file(f, "any/thing", -1, why, sizeof why), 1);
    ferry_filter_free(f);
    CHECK_INTEQ(ferry_filter_file(NULL, "x", -1, why, sizeof why), 1);

    /* excludes only: the rest is taken */
    const char *ex[] = {"- *.tmp", "- /cache/**"};
    f = mk(ex, 2, 0, 0, 0);
    CHECK(ferry_filter_active(f));
    CHECK_INTEQ(ferry_filter_file(f, "a.csv", -1, why, sizeof why), 1);
    CHECK_INTEQ(ferry_filter_file(f, "d/a.tmp", -1, why, sizeof why), 0);
    CHECK_STREQ(why, "excluded by --exclude '*.tmp'");
    CHECK_INTEQ(ferry_filter_file(f, "cache/x/y", -1, why, sizeof why), 0);
    CHECK_STREQ(why, "excluded by --exclude '/cache/**'");
    CHECK_INTEQ(ferry_filter_file(f, "d/cache/x", -1, why, sizeof why), 1); /* anchored at the root only */
    ferry_filter_free(f);

    /* includes only: everything else is excluded */
    const char *in[] = {"+ *.csv", "+ /keep/**"};
    f = mk(in, 2, 0, 0, 0);
    CHECK_INTEQ(ferry_filter_file(f, "x/a.csv", -1, why, sizeof why), 1);
    CHECK_INTEQ(ferry_filter_file(f, "keep/b.bin", -1, why, sizeof why), 1);
    CHECK_INTEQ(ferry_filter_file(f, "a.json", -1, why, sizeof why), 0);
    CHECK_STREQ(why, "matched by no --include");
    ferry_filter_free(f);

    /* in the order given, first match wins */
    const char *a[] = {"- secret*.csv", "+ *.csv"};
    f = mk(a, 2, 0, 0, 0);
    CHECK_INTEQ(ferry_filter_file(f, "secret1.csv", -1, why, sizeof why), 0);
    CHECK_INTEQ(ferry_filter_file(f, "public.csv", -1, why, sizeof why), 1);
    CHECK_INTEQ(ferry_filter_file(f, "x.txt", -1, why, sizeof why), 0); /* an include implies "- **" */
    ferry_filter_free(f);
    const char *b[] = {"+ *.csv", "- secret*.csv"};
    f = mk(b, 2, 0, 0, 0);
    CHECK_INTEQ(ferry_filter_file(f, "secret1.csv", -1, why, sizeof why), 1); /* the include came first */
    ferry_filter_free(f);

    /* "+GLOB" without the space, and a bad rule */
    const char *c[] = {"-*.tmp"};
    f = mk(c, 1, 0, 0, 0);
    CHECK_INTEQ(ferry_filter_name(f, "a.tmp", why, sizeof why), 0);
    CHECK_INTEQ(ferry_filter_name(f, "a.tmpx", why, sizeof why), 1);
    ferry_filter_free(f);
    ferry_error err;
    ferry_error_clear(&err);
    const char *d[] = {"* no sign"};
    CHECK_INTEQ(ferry_filter_new(d, 1, 0, 0, 0, &f, &err), FERRY_ERR_USAGE);
    CHECK(f == NULL);
    const char *e[] = {"+ ok", "- bad[glob"};
    CHECK_INTEQ(ferry_filter_new(e, 2, 0, 0, 0, &f, &err), FERRY_ERR_USAGE);
    CHECK(strstr(err.msg, "bad[glob") != NULL);
}

static void test_ages(void)
{
    char why[256];
    int64_t now = 1000000;
    ferry_filter *f = mk(NULL, 0, 600, 0, now);
    CHECK(ferry_filter_active(f));
    CHECK_INTEQ(ferry_filter_file(f, "old", now - 601, why, sizeof why), 1);
    CHECK_INTEQ(ferry_filter_file(f, "old", now - 600, why, sizeof why), 1);
    CHECK_INTEQ(ferry_filter_file(f, "new", now - 5, why, sizeof why), 0);
    CHECK_STREQ(why, "modified 5s ago, younger than --min-age 600s");
    CHECK_INTEQ(ferry_filter_file(f, "future", now + 50, why, sizeof why), 0);
    CHECK_INTEQ(ferry_filter_file(f, "unknown", -1, why, sizeof why), 0);
    CHECK_STREQ(why, "modification time unknown, --min-age");
    CHECK_INTEQ(ferry_filter_name(f, "new", why, sizeof why), 1); /* names only: no age */
    ferry_filter_free(f);

    f = mk(NULL, 0, 0, 3600, now);
    CHECK_INTEQ(ferry_filter_file(f, "recent", now - 10, why, sizeof why), 1);
    CHECK_INTEQ(ferry_filter_file(f, "ancient", now - 7200, why, sizeof why), 0);
    CHECK_STREQ(why, "modified 7200s ago, older than --max-age 3600s");
    ferry_filter_free(f);

    /* both, with rules: the rules first */
    const char *r[] = {"- *.part"};
    f = mk(r, 1, 60, 3600, now);
    CHECK_INTEQ(ferry_filter_file(f, "a.part", now - 120, why, sizeof why), 0);
    CHECK_STREQ(why, "excluded by --exclude '*.part'");
    CHECK_INTEQ(ferry_filter_file(f, "a.csv", now - 120, why, sizeof why), 1);
    ferry_filter_free(f);

    ferry_error err;
    ferry_error_clear(&err);
    CHECK_INTEQ(ferry_filter_new(NULL, 0, 3600, 60, now, &f, &err), FERRY_ERR_USAGE);
    CHECK_INTEQ(ferry_filter_new(NULL, 0, -1, 0, now, &f, &err), FERRY_ERR_USAGE);
}

int main(void)
{
    RUN(test_rclone_examples);
    RUN(test_star_vs_double_star);
    RUN(test_chars_and_classes);
    RUN(test_malformed);
    RUN(test_rules_order_and_include_only);
    RUN(test_ages);
    return check_summary();
}
