/*
 * tests/fuzz/fuzz_template.c - the template expander (core/template.c):
 * ferry_template_expand in TEXT, SQL_POSTGRES and SQL_MYSQL modes with a
 * fuzzed text and a fuzzed --param value, plus ferry_template_init with a
 * fuzzed --logical-date and schedule.
 *
 * Input: byte 0 mode (% 3: TEXT, SQL_POSTGRES, SQL_MYSQL), byte 1 flags
 * (bit 0: free-form text, bits 2-3: schedule), then NUL-separated strings:
 * PREFIX, SUFFIX, VALUE, LOGICAL_DATE.  The text expanded is
 * PREFIX "{{ params.v }}" SUFFIX with --param v=VALUE (free-form: PREFIX
 * alone, which may use any variable).
 *
 * Invariants (PREFIX and SUFFIX without templates of their own):
 *  - TEXT: the output is PREFIX VALUE SUFFIX;
 *  - SQL: the value cannot change the statement's structure.  A reference
 *    tokenizer of the dialect (PostgreSQL with standard_conforming_strings:
 *    '' strings, E'' strings with backslash escapes, "" identifiers, $tag$
 *    quotes, -- and nested block comments; MySQL: '' and "" strings with
 *    backslash escapes, `` identifiers, #, "-- " and block comments)
 *    reads the output.  Where the value goes between tokens (outside any
 *    quotes), it must be exactly one string literal token that decodes to
 *    VALUE.  Where it goes inside a token (a literal, an identifier, a
 *    comment, a $-quote), the token must contain all of it and end where
 *    it ends with a harmless value ("x"); inside a literal or identifier the
 *    inserted text must decode to VALUE; a $-quoted body is checked the same
 *    way as SQL of its own.  The expander may refuse a value (USAGE) where
 *    it could not stay one value (in a comment it would end).
 */
#include "ferry/template.h"
#include "fuzz_common.h"

/* ---- a reference SQL tokenizer ------------------------------------------------ */

enum {
    TK_WORD = 1,     /* identifier, keyword, number */
    TK_OTHER,        /* any other single character */
    TK_STRING,       /* '...' (MySQL: with backslash escapes) */
    TK_ESTRING,      /* PostgreSQL E'...' */
    TK_DQSTRING,     /* MySQL "..." (a string in the default sql_mode) */
    TK_IDENT,        /* PostgreSQL "..." */
    TK_BACKTICK,     /* MySQL `...` */
    TK_DOLLAR,       /* PostgreSQL $tag$...$tag$ */
    TK_LINE_COMMENT,
    TK_BLOCK_COMMENT
};

typedef struct token {
    int kind;
    size_t start, end;
} token;

static int word_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '$' || c >= 0x80;
}

static int is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* End of a quoted run starting at s[i] (the opening quote q): doubled quotes
 * and (when backslash) backslash escapes inside; n when unterminated. */
static size_t quoted_end(const char *s, size_t n, size_t i, char q, int backslash)
{
    size_t j = i + 1;
    while (j < n) {
        if (backslash && s[j] == '\\') {
            j += 2;
            continue;
        }
        if (s[j] == q) {
            if (j + 1 < n && s[j + 1] == q) {
                j += 2;
                continue;
            }
            return j + 1;
        }
        j++;
    }
    return n;
}

static size_t tokenize(const char *s, size_t n, int mysql, token *t)
{
    size_t nt = 0, i = 0;
    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        size_t j;
        int kind;
        if (is_space(c)) {
            i++;
            continue;
        }
        if ((c == '-' && i + 1 < n && s[i + 1] == '-' &&
             (!mysql || i + 2 >= n || (unsigned char)s[i + 2] <= 0x20)) ||
            (mysql && c == '#')) {
            kind = TK_LINE_COMMENT; /* PostgreSQL ends it at CR too */
            j = i;
            while (j < n && s[j] != '\n' && (mysql || s[j] != '\r'))
                j++;
        } else if (c == '/' && i + 1 < n && s[i + 1] == '*' && mysql && i + 2 < n &&
                   (s[i + 2] == '!' || (s[i + 2] == 'M' && i + 3 < n && s[i + 3] == '!'))) {
            kind = TK_OTHER; /* MySQL executable comment: its content is code */
            j = i + (s[i + 2] == '!' ? 3 : 4);
        } else if (c == '/' && i + 1 < n && s[i + 1] == '*') {
            kind = TK_BLOCK_COMMENT;
            int depth = 1;
            j = i + 2;
            while (j < n && depth > 0) {
                if (!mysql && s[j] == '/' && j + 1 < n && s[j + 1] == '*') {
                    depth++;
                    j += 2;
                } else if (s[j] == '*' && j + 1 < n && s[j + 1] == '/') {
                    depth--;
                    j += 2;
                } else {
                    j++;
                }
            }
        } else if (!mysql && (c == 'E' || c == 'e') && i + 1 < n && s[i + 1] == '\'') {
            kind = TK_ESTRING;
            j = quoted_end(s, n, i + 1, '\'', 1);
        } else if (c == '\'') {
            kind = TK_STRING;
            j = quoted_end(s, n, i, '\'', mysql);
        } else if (c == '"') {
            kind = mysql ? TK_DQSTRING : TK_IDENT;
            j = quoted_end(s, n, i, '"', mysql);
        } else if (mysql && c == '`') {
            kind = TK_BACKTICK;
            j = quoted_end(s, n, i, '`', 0);
        } else if (!mysql && c == '$' && !(i + 1 < n && s[i + 1] >= '0' && s[i + 1] <= '9')) {
            /* $tag$ ... $tag$, tag = [A-Za-z_\x80-\xff][A-Za-z0-9_\x80-\xff]* or empty */
            size_t k = i + 1;
            while (k < n && s[k] != '$' && word_char((unsigned char)s[k]))
                k++;
            if (k < n && s[k] == '$') {
                size_t tag_len = k + 1 - i; /* "$tag$" */
                kind = TK_DOLLAR;
                j = k + 1;
                while (j < n && !(j + tag_len <= n && memcmp(s + j, s + i, tag_len) == 0))
                    j++;
                j = j < n ? j + tag_len : n;
            } else {
                kind = TK_OTHER;
                j = i + 1;
            }
        } else if (word_char(c)) {
            kind = TK_WORD;
            j = i + 1;
            while (j < n && word_char((unsigned char)s[j]))
                j++;
        } else {
            kind = TK_OTHER;
            j = i + 1;
        }
        if (j > n)
            j = n;
        t[nt].kind = kind;
        t[nt].start = i;
        t[nt].end = j;
        nt++;
        i = j;
    }
    return nt;
}

/* ---- decoding what was inserted --------------------------------------------------- */

static int hexv(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                        : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                                               : -1;
}

static size_t put_utf8(char *out, unsigned long cp)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | cp >> 12);
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | cp >> 18);
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* What the bytes s[0, n) inside a token of this kind stand for (the quotes
 * around the token not included). */
static size_t decode(int kind, int mysql, const char *s, size_t n, char *out)
{
    char q = kind == TK_DQSTRING || kind == TK_IDENT ? '"' : kind == TK_BACKTICK ? '`' : '\'';
    int backslash = kind == TK_ESTRING || (mysql && (kind == TK_STRING || kind == TK_DQSTRING));
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (backslash && c == '\\' && i + 1 < n) {
            char e = s[++i];
            if (mysql) {
                switch (e) {
                case '0': out[k++] = '\0'; break;
                case 'b': out[k++] = '\b'; break;
                case 'n': out[k++] = '\n'; break;
                case 'r': out[k++] = '\r'; break;
                case 't': out[k++] = '\t'; break;
                case 'Z': out[k++] = '\x1a'; break;
                case '%':
                case '_': out[k++] = '\\'; out[k++] = e; break;
                default: out[k++] = e; break;
                }
                continue;
            }
            /* PostgreSQL E'' escapes */
            if (e >= '0' && e <= '7') {
                unsigned v = (unsigned)(e - '0');
                for (int d = 0; d < 2 && i + 1 < n && s[i + 1] >= '0' && s[i + 1] <= '7'; d++)
                    v = v * 8 + (unsigned)(s[++i] - '0');
                out[k++] = (char)(v & 0xFF);
            } else if (e == 'x' && i + 1 < n && hexv(s[i + 1]) >= 0) {
                unsigned v = (unsigned)hexv(s[++i]);
                if (i + 1 < n && hexv(s[i + 1]) >= 0)
                    v = v * 16 + (unsigned)hexv(s[++i]);
                out[k++] = (char)v;
            } else if ((e == 'u' || e == 'U') && i + (e == 'u' ? 4 : 8) < n + 0) {
                int digits = e == 'u' ? 4 : 8, ok = 1;
                unsigned long v = 0;
                for (int d = 1; d <= digits; d++) {
                    int h = hexv(s[i + (size_t)d]);
                    if (h < 0)
                        ok = 0;
                    else
                        v = v * 16 + (unsigned long)h;
                }
                if (ok && v <= 0x10FFFF) {
                    i += (size_t)digits;
                    k += put_utf8(out + k, v);
                } else {
                    out[k++] = e;
                }
            } else {
                out[k++] = e == 'b' ? '\b' : e == 'f' ? '\f' : e == 'n' ? '\n' : e == 'r' ? '\r'
                         : e == 't' ? '\t' : e;
            }
            continue;
        }
        if (c == q && i + 1 < n && s[i + 1] == q) {
            out[k++] = q;
            i++;
            continue;
        }
        out[k++] = c;
    }
    return k;
}

static int is_literal(int kind)
{
    return kind == TK_STRING || kind == TK_ESTRING || kind == TK_DQSTRING;
}

static int decodes(int kind)
{
    return is_literal(kind) || kind == TK_IDENT || kind == TK_BACKTICK;
}

static const char *kind_name(int kind)
{
    static const char *const names[] = {"?", "word", "other", "string", "E-string",
                                        "\"string\"", "\"identifier\"", "`identifier`",
                                        "$$-quote", "-- comment", "/* comment */"};
    return kind >= 0 && kind <= TK_BLOCK_COMMENT ? names[kind] : "?";
}

/* The token that holds offset a strictly inside it (start < a < end), or -1. */
static long token_over(const token *t, size_t nt, size_t a)
{
    for (size_t i = 0; i < nt; i++)
        if (t[i].start < a && a < t[i].end)
            return (long)i;
    return -1;
}

static long token_starting(const token *t, size_t nt, size_t a)
{
    for (size_t i = 0; i < nt; i++)
        if (t[i].start == a)
            return (long)i;
    return -1;
}

/* ---- the SQL invariant ---------------------------------------------------------------- */

/* out[0, n1) holds the value's text at [a, e1); benign[0, n2) the harmless
 * value's at [a, e2); both are the same before a and after e1 / e2. */
static void check_sql(int mysql, const char *out, size_t n1, const char *benign, size_t n2, size_t a,
                      size_t e1, size_t e2, const char *value, int depth)
{
    token *t1 = malloc((n1 + 1) * sizeof *t1), *t2 = malloc((n2 + 1) * sizeof *t2);
    char *dec = malloc(n1 + 1);
    if (!t1 || !t2 || !dec)
        abort();
    size_t nt1 = tokenize(out, n1, mysql, t1), nt2 = tokenize(benign, n2, mysql, t2);
    const char *dialect = mysql ? "MySQL" : "PostgreSQL";
    int sn = (int)(n1 < 300 ? n1 : 300); /* how much of the SQL a message shows */

    long i2 = token_over(t2, nt2, a);
    long i1 = token_over(t1, nt1, a);
    if (i2 < 0) {
        /* between tokens: with a harmless value a token starts at a (after
         * a space the expander may put first); the value must start one
         * there too, ending where the harmless one ends */
        size_t a1 = a, a2 = a;
        while (a1 < e1 && is_space((unsigned char)out[a1]))
            a1++;
        while (a2 < e2 && is_space((unsigned char)benign[a2]))
            a2++;
        long s1 = token_starting(t1, nt1, a1), s2 = token_starting(t2, nt2, a2);
        FUZZ_CHECK(i1 < 0 && s1 >= 0 && s2 >= 0 && a1 - a == a2 - a,
                   "%s: the value is not at a token start: %.*s", dialect, sn, out);
        const token *lit = &t1[s1], *b = &t2[s2];
        FUZZ_CHECK(lit->kind == b->kind && lit->end >= e1 && b->end >= e2 &&
                       lit->end - e1 == b->end - e2,
                   "%s: the value changed the structure (%s [%zu,%zu), with a harmless value %s [%zu,%zu)): %.*s",
                   dialect, kind_name(lit->kind), lit->start, lit->end, kind_name(b->kind),
                   b->start, b->end, sn, out);
        /* and it is exactly one string literal (unless the template itself
         * glues a literal to it: {{ v }}'more') */
        if (!(is_literal(lit->kind) && e1 < n1 && out[e1] == out[a1])) {
            FUZZ_CHECK(is_literal(lit->kind) && lit->end == e1,
                       "%s: the value is not exactly one string literal (%s [%zu,%zu) for [%zu,%zu)): %.*s",
                       dialect, kind_name(lit->kind), lit->start, lit->end, a1, e1, sn, out);
            size_t dn = decode(lit->kind, mysql, out + a1 + 1, e1 - a1 - 2, dec);
            FUZZ_CHECK(dn == strlen(value) && memcmp(dec, value, dn) == 0,
                       "%s: the literal does not decode to the value: %.*s", dialect, sn, out);
        }
    } else {
        /* inside a token: the same token holds all of the value and ends
         * where it ends with a harmless value */
        const token *b = &t2[i2];
        FUZZ_CHECK(i1 >= 0, "%s: the value ended the %s it was put in: %.*s", dialect,
                   kind_name(b->kind), sn, out);
        const token *v = &t1[i1];
        FUZZ_CHECK(v->kind == b->kind && v->start == b->start,
                   "%s: the value changed the token it is in (%s at %zu, with a harmless value %s at %zu): %.*s",
                   dialect, kind_name(v->kind), v->start, kind_name(b->kind), b->start, sn, out);
        FUZZ_CHECK(v->end >= e1 && b->end >= e2 && v->end - e1 == b->end - e2,
                   "%s: the value moved the end of the %s it is in: %.*s", dialect,
                   kind_name(v->kind), sn, out);
        if (decodes(v->kind)) {
            size_t dn = decode(v->kind, mysql, out + a, e1 - a, dec);
            FUZZ_CHECK(dn == strlen(value) && memcmp(dec, value, dn) == 0,
                       "%s: the value inside the %s does not decode to itself: %.*s", dialect,
                       kind_name(v->kind), sn, out);
        }
        if (v->kind == TK_DOLLAR && depth < 8) {
            /* a $-quoted body is SQL of its own (a function body): the same rules inside */
            const char *second = memchr(out + v->start + 1, '$', v->end - v->start - 1);
            size_t tl = (size_t)(second - (out + v->start)) + 1;
            size_t body = v->start + tl;
            int closed1 = v->end - body >= tl && memcmp(out + v->end - tl, out + v->start, tl) == 0;
            int closed2 = b->end - body >= tl && memcmp(benign + b->end - tl, benign + b->start, tl) == 0;
            size_t end1 = closed1 ? v->end - tl : v->end, end2 = closed2 ? b->end - tl : b->end;
            if (closed1 == closed2 && end1 >= e1 && end2 >= e2 && a >= body)
                check_sql(mysql, out + body, end1 - body, benign + body, end2 - body, a - body,
                          e1 - body, e2 - body, value, depth + 1);
        }
    }
    free(t1);
    free(t2);
    free(dec);
}

/* ---- the target ------------------------------------------------------------------------ */

static int has_template(const char *s)
{
    return strstr(s, "{{") || strstr(s, "{%") || strstr(s, "}}");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_in in = {data, size};
    static const ferry_template_mode modes[3] = {FERRY_TEMPLATE_TEXT, FERRY_TEMPLATE_SQL_POSTGRES,
                                                 FERRY_TEMPLATE_SQL_MYSQL};
    ferry_template_mode mode = modes[fz_u8(&in) % 3];
    uint8_t flags = fz_u8(&in);
    char *prefix = fz_str(&in), *suffix = fz_str(&in), *value = fz_str(&in), *date = fz_str(&in);

    ferry_error err;
    ferry_template_ctx ctx;
    static const ferry_schedule schedules[4] = {FERRY_SCHEDULE_DAILY, FERRY_SCHEDULE_HOURLY,
                                                FERRY_SCHEDULE_WEEKLY, FERRY_SCHEDULE_MONTHLY};
    ferry_schedule sched = schedules[(flags >> 2) & 3];
    if (ferry_template_init(&ctx, date, sched, 1700000000, &err) != FERRY_OK)
        FUZZ_CHECK(ferry_template_init(&ctx, NULL, sched, 1700000000, &err) == FERRY_OK,
                   "init with the default date failed: %s", err.msg);
    size_t vlen = strlen(value);
    char *param = malloc(vlen + 3), *benign_param = strdup("v=x");
    if (!param || !benign_param)
        abort();
    memcpy(param, "v=", 2);
    memcpy(param + 2, value, vlen + 1);
    ferry_template_ctx benign_ctx = ctx;
    FUZZ_CHECK(ferry_template_add_param(&ctx, param, &err) == FERRY_OK, "add_param: %s", err.msg);
    FUZZ_CHECK(ferry_template_add_param(&benign_ctx, benign_param, &err) == FERRY_OK, "add_param");

    if (flags & 1) {
        /* free-form: any text, any variables */
        char *out = NULL;
        ferry_status st = ferry_template_expand(&ctx, prefix, mode, &out, &err);
        FUZZ_CHECK((st == FERRY_OK) == (out != NULL), "status %d with output %p", st, (void *)out);
        if (st != FERRY_OK)
            FUZZ_CHECK(err.msg[0] != '\0', "a failure without a message");
        free(out);
    } else if (!has_template(prefix) && !has_template(suffix) &&
               !(prefix[0] && prefix[strlen(prefix) - 1] == '{') && suffix[0] != '}') {
        size_t pl = strlen(prefix), sl = strlen(suffix);
        char *text = malloc(pl + sl + 16);
        if (!text)
            abort();
        memcpy(text, prefix, pl);
        memcpy(text + pl, "{{ params.v }}", 14);
        memcpy(text + pl + 14, suffix, sl + 1);
        char *out = NULL, *benign = NULL;
        ferry_status st = ferry_template_expand(&ctx, text, mode, &out, &err);
        ferry_error err2;
        ferry_status st2 = ferry_template_expand(&benign_ctx, text, mode, &benign, &err2);
        if (mode == FERRY_TEMPLATE_TEXT || (st == FERRY_OK && st2 == FERRY_OK)) {
            FUZZ_CHECK(st == FERRY_OK && st2 == FERRY_OK, "expanding a valid template failed: %s",
                       st ? err.msg : err2.msg);
        } else {
            /* SQL: a value may be refused where it could not stay one value
             * (in a comment it would end, after a dangling backslash) */
            FUZZ_CHECK(st == FERRY_OK || (st == FERRY_ERR_USAGE && err.msg[0]), "status %d", st);
            FUZZ_CHECK(st2 == FERRY_OK || (st2 == FERRY_ERR_USAGE && err2.msg[0]), "status %d", st2);
            free(out);
            free(benign);
            free(text);
            goto done;
        }
        size_t ol = strlen(out);
        FUZZ_CHECK(ol >= pl + sl && memcmp(out, prefix, pl) == 0 && strcmp(out + ol - sl, suffix) == 0,
                   "the text around the template changed");
        if (mode == FERRY_TEMPLATE_TEXT)
            FUZZ_CHECK(ol == pl + vlen + sl && memcmp(out + pl, value, vlen) == 0,
                       "TEXT mode did not insert the value as it is");
        else if (vlen > 0)
            check_sql(mode == FERRY_TEMPLATE_SQL_MYSQL, out, ol, benign, strlen(benign), pl,
                      ol - sl, strlen(benign) - sl, value, 0);
        free(out);
        free(benign);
        free(text);
    }
done:
    free(param);
    free(benign_param);
    free(prefix);
    free(suffix);
    free(value);
    free(date);
    return 0;
}
