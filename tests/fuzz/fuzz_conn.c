/*
 * tests/fuzz/fuzz_conn.c - the connection parsers (core/conn.c):
 * ferry_conn_parse_uri, ferry_conn_parse_json and ferry_conn_parse.
 *
 * Input: the first byte picks the parser (byte % 3: 0 URI, 1 JSON, 2 either;
 * seeds use 'u' 'j' 'a' ... any byte works), the rest is the text (up to the
 * first NUL, as a C string would be).
 *
 * Invariants, besides no crash / leak / UB:
 *  - success: a type is set, the masked JSON (ferry_conn_to_json_masked) is
 *    valid JSON, the password and every secret-named extra show "***", and
 *    no string value holds the password or a secret extra's value (>= 3
 *    bytes; shorter ones are masked by field only, by design) except where
 *    core/mask.h's free-text rule keeps it: inside a word the user wrote in
 *    a field that is not secret (id, type, host, login, schema, names), or
 *    glued to a letter, digit or '_' (secrets under 16 bytes).  Member names
 *    are the user's words and shown as written;
 *  - failure: a status and a message; the message never quotes the
 *    password-looking part of the input (URI: between the first ':' of the
 *    authority and its last '@'; JSON: the "password" member).  To tell a
 *    quote of the input from static message text that happens to contain the
 *    same letters, the input is parsed a second time with the letters g-z of
 *    that part rotated (they have no meaning in URIs or JSON strings, so the
 *    parse fails the same way): the message only leaks when its text at that
 *    spot follows the rotation.
 * Secrets with '*' in them, shorter than 3 bytes, or not plain UTF-8 are
 * left out of the checks: masking writes "***", and bytes that are not UTF-8
 * are shown as U+FFFD, so such a password can reappear by coincidence.
 */
#include <jansson.h>

#include "ferry/conn.h"
#include "ferry/log.h"
#include "fuzz_common.h"

static ferry_status parse_with(int which, const char *text, ferry_conn **c, ferry_error *err)
{
    switch (which) {
    case 0: return ferry_conn_parse_uri("fz", text, c, err);
    case 1: return ferry_conn_parse_json("fz", text, c, err);
    default: return ferry_conn_parse("fz", text, c, err);
    }
}

/* Valid UTF-8 without U+FFFD: masked JSON shows bytes that are not UTF-8 as
 * U+FFFD, which could spell out a secret that holds such bytes itself. */
static int plain_utf8(const unsigned char *s)
{
    while (*s) {
        unsigned c = *s, len;
        if (c < 0x80) {
            s++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF)
            len = 2;
        else if (c >= 0xE0 && c <= 0xEF)
            len = 3;
        else if (c >= 0xF0 && c <= 0xF4)
            len = 4;
        else
            return 0;
        for (unsigned k = 1; k < len; k++)
            if ((s[k] & 0xC0) != 0x80)
                return 0;
        if (len == 3 && s[0] == 0xEF && s[1] == 0xBF && s[2] == 0xBD)
            return 0;
        s += len;
    }
    return 1;
}

/* Secrets an invariant can be checked on: >= 3 bytes (shorter ones are not
 * registered), no '*' (the mask itself), plain UTF-8. */
static int checkable_secret(const char *s)
{
    return s && strlen(s) >= 3 && !strchr(s, '*') && plain_utf8((const unsigned char *)s);
}

/* ---- where the password is in the input --------------------------------- */

typedef struct span {
    size_t at, len;
} span;

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static int json_form(int which, const char *text)
{
    if (which != 2)
        return which == 1;
    while (is_space(*text))
        text++;
    return *text == '{';
}

/* URI: scheme://[proto://]login:PASSWORD@host...; every plausible reading. */
static size_t uri_password_spans(const char *t, span *out, size_t max)
{
    size_t n = 0, len = strlen(t);
    const char *sep = strstr(t, "://");
    if (!sep)
        return 0;
    size_t starts[2] = {(size_t)(sep - t) + 3, 0};
    size_t nstarts = 1;
    const char *sep2 = strstr(t + starts[0], "://");
    if (sep2)
        starts[nstarts++] = (size_t)(sep2 - t) + 3;
    for (size_t s = 0; s < nstarts && n < max; s++) {
        size_t i = starts[s], end = i;
        while (end < len && t[end] != '/' && t[end] != '?')
            end++;
        size_t at = end;
        for (size_t k = end; k > i; k--)
            if (t[k - 1] == '@') {
                at = k - 1;
                break;
            }
        if (at == end)
            continue;
        const char *colon = memchr(t + i, ':', at - i);
        if (!colon)
            continue;
        size_t p = (size_t)(colon - t) + 1;
        out[n].at = p;
        out[n].len = at - p;
        n++;
    }
    return n;
}

/* JSON: the raw text of the first "password": "..." string. */
static size_t json_password_spans(const char *t, span *out, size_t max)
{
    const char *k = strstr(t, "\"password\"");
    if (!k || max == 0)
        return 0;
    const char *p = k + 10;
    while (is_space(*p))
        p++;
    if (*p != ':')
        return 0;
    p++;
    while (is_space(*p))
        p++;
    if (*p != '"')
        return 0;
    p++;
    const char *q = p;
    while (*q && *q != '"') {
        if (*q == '\\' && q[1])
            q++;
        q++;
    }
    out[0].at = (size_t)(p - t);
    out[0].len = (size_t)(q - p);
    return 1;
}

/* Letters g-z / G-Z rotated within their range; escapes (after '\\') kept. */
static char rotate(char c)
{
    if (c >= 'g' && c <= 'z')
        return c == 'z' ? 'g' : (char)(c + 1);
    if (c >= 'G' && c <= 'Z')
        return c == 'Z' ? 'G' : (char)(c + 1);
    return c;
}

static int rotatable(const char *t, size_t i)
{
    return rotate(t[i]) != t[i] && !(i > 0 && t[i - 1] == '\\');
}

static void check_failure_message(int which, const char *text, const ferry_error *err)
{
    span spans[2];
    size_t n = json_form(which, text) ? json_password_spans(text, spans, 2)
                                      : uri_password_spans(text, spans, 2);
    for (size_t s = 0; s < n; s++) {
        span sp = spans[s];
        if (sp.len < 3)
            continue;
        int any = 0;
        for (size_t i = sp.at; i < sp.at + sp.len; i++)
            any |= rotatable(text, i);
        if (!any)
            continue;
        const char *hit = fz_find(err->msg, strlen(err->msg), text + sp.at, sp.len);
        if (!hit)
            continue;
        /* same input with the password's letters rotated */
        char *alt = strdup(text);
        if (!alt)
            abort();
        for (size_t i = sp.at; i < sp.at + sp.len; i++)
            if (rotatable(text, i))
                alt[i] = rotate(text[i]);
        ferry_secret_clear();
        ferry_conn *c2 = NULL;
        ferry_error err2;
        ferry_error_clear(&err2);
        ferry_status st2 = parse_with(which, alt, &c2, &err2);
        ferry_conn_free(c2);
        size_t off = (size_t)(hit - err->msg);
        if (st2 != FERRY_OK && strlen(err2.msg) >= off + sp.len &&
            memcmp(err2.msg + off, alt + sp.at, sp.len) == 0 &&
            memcmp(err2.msg + off, text + sp.at, sp.len) != 0)
            FUZZ_FAIL("error message quotes the password part '%.*s': %s", (int)sp.len,
                      text + sp.at, err->msg);
        free(alt);
    }
}

/* ---- success ------------------------------------------------------------- */

/* The words the user wrote in fields that are not secret (core/mask.h): the
 * id, type, host, login, schema, the extra names and the member names inside
 * extras that hold JSON.  Free text keeps them readable, also where a secret
 * is part of one. */
typedef struct words {
    const char *v[256];
    size_t n;
    json_t *parsed[64]; /* owned: extras parsed for their member names */
    size_t n_parsed;
} words;

static void add_word(words *w, const char *s)
{
    if (s && w->n < sizeof w->v / sizeof w->v[0])
        w->v[w->n++] = s;
}

static void add_json_names(words *w, json_t *v)
{
    const char *key;
    json_t *member;
    size_t i;
    if (json_is_object(v)) {
        json_object_foreach(v, key, member) {
            add_word(w, key);
            add_json_names(w, member);
        }
    } else if (json_is_array(v)) {
        json_array_foreach(v, i, member)
            add_json_names(w, member);
    }
}

static void collect_words(const ferry_conn *c, words *w)
{
    w->n = w->n_parsed = 0;
    add_word(w, c->id);
    add_word(w, c->type);
    add_word(w, c->host);
    add_word(w, c->login);
    add_word(w, c->schema);
    for (size_t i = 0; i < c->n_extra; i++) {
        add_word(w, c->extra[i].key);
        json_t *j = json_loads(c->extra[i].value, JSON_DECODE_ANY, NULL);
        if (j && w->n_parsed < sizeof w->parsed / sizeof w->parsed[0]) {
            w->parsed[w->n_parsed++] = j;
            add_json_names(w, j);
        } else {
            json_decref(j);
        }
    }
}

static void free_words(words *w)
{
    for (size_t i = 0; i < w->n_parsed; i++)
        json_decref(w->parsed[i]);
}

static int word_byte(unsigned char ch)
{
    return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_' ||
           ch >= 0x80;
}

/* Is the occurrence t[at, at+n) of secret one that free text keeps (core/mask.h):
 * glued to a letter, digit or '_' (secrets under 16 bytes), or inside an
 * occurrence of a public word? */
static int kept_occurrence(const char *t, size_t tn, size_t at, const char *secret, size_t n, const words *w)
{
    if (n < 16 && ((word_byte((unsigned char)secret[0]) && at > 0 && word_byte((unsigned char)t[at - 1])) ||
                   (word_byte((unsigned char)secret[n - 1]) && at + n < tn && word_byte((unsigned char)t[at + n]))))
        return 1;
    for (size_t i = 0; i < w->n; i++) {
        size_t wl = strlen(w->v[i]);
        for (const char *k = fz_find(w->v[i], wl, secret, n); k;
             k = fz_find(k + 1, wl - (size_t)(k + 1 - w->v[i]), secret, n)) {
            size_t off = (size_t)(k - w->v[i]);
            if (off <= at && at - off + wl <= tn && memcmp(t + at - off, w->v[i], wl) == 0)
                return 1;
        }
    }
    return 0;
}

/* Nonzero when secret occurs in a string value anywhere in v other than
 * where free text keeps it.  Member names are the user's words, shown as
 * written (a secret inside one is no leak of the secret's field). */
static int json_holds(json_t *v, const char *secret, const words *w)
{
    size_t n = strlen(secret);
    if (json_is_string(v)) {
        const char *t = json_string_value(v);
        size_t tn = json_string_length(v);
        for (const char *hit = fz_find(t, tn, secret, n); hit;
             hit = fz_find(hit + 1, tn - (size_t)(hit + 1 - t), secret, n))
            if (!kept_occurrence(t, tn, (size_t)(hit - t), secret, n, w))
                return 1;
        return 0;
    }
    if (json_is_object(v)) {
        const char *key;
        json_t *member;
        json_object_foreach(v, key, member)
            if (json_holds(member, secret, w))
                return 1;
    }
    return 0;
}

static void check_success(const ferry_conn *c)
{
    FUZZ_CHECK(c != NULL, "FERRY_OK without a connection");
    FUZZ_CHECK(c->type && *c->type, "a connection without a type");
    FUZZ_CHECK(c->port >= 0 && c->port <= 65535, "port %d", c->port);
    FUZZ_CHECK(!c->password || *c->password, "an empty password must be absent (NULL)");
    char *masked = ferry_conn_to_json_masked(c);
    FUZZ_CHECK(masked != NULL, "ferry_conn_to_json_masked failed");
    json_error_t jerr;
    json_t *j = json_loads(masked, 0, &jerr);
    FUZZ_CHECK(j != NULL, "masked JSON does not parse (%s): %s", jerr.text, masked);
    /* The secret fields show "***"; the secrets are in no string of it but
     * where free text keeps them (core/mask.h).  (The raw text may still show
     * a password that is also JSON punctuation or the port's digits, e.g.
     * ": " or "5432": that is structure, not a copy of the secret.) */
    words w;
    collect_words(c, &w);
    if (c->password)
        FUZZ_CHECK(json_is_string(json_object_get(j, "password")) &&
                       strcmp(json_string_value(json_object_get(j, "password")), "***") == 0,
                   "the password field is not \"***\": %s", masked);
    if (checkable_secret(c->password))
        FUZZ_CHECK(!json_holds(j, c->password, &w), "masked JSON holds the password '%s': %s",
                   c->password, masked);
    json_t *extra = json_object_get(j, "extra");
    for (size_t i = 0; i < c->n_extra; i++) {
        if (!ferry_conn_is_secret_key(c->extra[i].key))
            continue;
        json_t *shown = json_object_get(extra, c->extra[i].key);
        /* a repeated name shows its last value; a name that is not UTF-8 is
         * shown with U+FFFD */
        if (shown && plain_utf8((const unsigned char *)c->extra[i].key))
            FUZZ_CHECK(json_is_string(shown) && strcmp(json_string_value(shown), "***") == 0,
                       "the secret extra %s is not \"***\": %s", c->extra[i].key, masked);
        if (checkable_secret(c->extra[i].value))
            FUZZ_CHECK(!json_holds(j, c->extra[i].value, &w),
                       "masked JSON holds the secret extra %s: %s", c->extra[i].key, masked);
    }
    free_words(&w);
    json_decref(j);
    /* lookups on what was parsed */
    for (size_t i = 0; i < c->n_extra; i++) {
        FUZZ_CHECK(c->extra[i].key && c->extra[i].value, "extra %zu without key or value", i);
        FUZZ_CHECK(ferry_conn_extra(c, c->extra[i].key) != NULL, "extra %zu not found", i);
        (void)ferry_conn_extra_bool(c, c->extra[i].key, 0);
    }
    free(masked);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    int which = data[0] % 3;
    char *text = fz_dup(data + 1, size - 1); /* stops at the first NUL, as a C string does */
    ferry_secret_clear();
    ferry_conn *c = NULL;
    ferry_error err;
    ferry_error_clear(&err);
    ferry_status st = parse_with(which, text, &c, &err);
    if (st == FERRY_OK) {
        check_success(c);
    } else {
        FUZZ_CHECK(c == NULL, "a failed parse returned a connection");
        FUZZ_CHECK(err.status == st, "err.status %d != returned %d", err.status, st);
        FUZZ_CHECK(err.msg[0] != '\0', "a failure without a message");
        check_failure_message(which, text, &err);
    }
    ferry_conn_free(c);
    ferry_secret_clear();
    free(text);
    return 0;
}
