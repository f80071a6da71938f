/*
 * core/mask.c - the secret registry and the masking every output uses: by
 * field (a secret's field is always "***") and, in free text, by occurrence
 * with the exceptions written in core/mask.h.  ferry_secret_add,
 * ferry_secret_clear and ferry_scrub (ferry/log.h) live here.
 */
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mask.h"

/* ------------------------------------------------------------------ */
/* names and values                                                    */
/* ------------------------------------------------------------------ */

int ferry_mask_secret_name(const char *name)
{
    static const char *const words[] = {"secret",     "token",      "password",      "passwd", "passphrase",
                                        "apikey",     "privatekey", "credential",    "cookie", "authorization",
                                        "accesskey",  "customerkey"};
    if (!name)
        return 0;
    char norm[128];
    size_t n = 0;
    for (const char *p = name; *p && n + 1 < sizeof norm; p++)
        if (*p != '-' && *p != '_' && *p != '.' && *p != ' ')
            norm[n++] = (char)tolower((unsigned char)*p);
    norm[n] = '\0';
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (strstr(norm, words[i]))
            return 1;
    return 0;
}

int ferry_mask_secret_value(const char *value)
{
    if (!value)
        return 0;
    const char *begin = strstr(value, "-----BEGIN ");
    if (begin) {
        const char *eol = strchr(begin, '\n');
        const char *pk = strstr(begin, "PRIVATE KEY");
        if (pk && (!eol || pk < eol))
            return 1;
    }
    return strncmp(value, "PuTTY-User-Key-File-", 20) == 0;
}

/* ------------------------------------------------------------------ */
/* the registry                                                        */
/* ------------------------------------------------------------------ */

typedef struct word_list {
    char **v; /* owned; each string malloc'd */
    size_t n, cap;
} word_list;

static pthread_mutex_t mask_lock = PTHREAD_MUTEX_INITIALIZER;
static word_list secrets; /* registered secrets */
static word_list publics; /* words written in fields that are not secret */

/* The field names of Airflow's JSON form: public whatever a password is. */
static const char *const airflow_fields[] = {"conn_id", "conn_type", "host",  "login",      "password",
                                             "schema",  "port",      "extra", "description", "uri"};

static void list_add(word_list *l, const char *s)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i], s) == 0)
            return;
    if (l->n == l->cap) {
        size_t ncap = l->cap ? l->cap * 2 : 8;
        char **nv = realloc(l->v, ncap * sizeof *nv);
        if (!nv)
            return;
        l->v = nv;
        l->cap = ncap;
    }
    char *copy = strdup(s);
    if (copy)
        l->v[l->n++] = copy;
}

static void list_clear(word_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof *l);
}

/* The percent-encoded form a secret takes inside a URI (RFC 3986 unreserved kept). */
static char *percent_encoded(const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(s);
    char *out = malloc(3 * n + 1);
    if (!out)
        return NULL;
    char *p = out;
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if (isalnum(*c) || *c == '-' || *c == '.' || *c == '_' || *c == '~') {
            *p++ = (char)*c;
        } else {
            *p++ = '%';
            *p++ = hex[*c >> 4];
            *p++ = hex[*c & 15];
        }
    }
    *p = '\0';
    return out;
}

void ferry_secret_add(const char *secret)
{
    if (!secret || strlen(secret) < FERRY_MASK_SECRET_MIN)
        return;
    char *enc = percent_encoded(secret);
    pthread_mutex_lock(&mask_lock);
    list_add(&secrets, secret);
    if (enc && strcmp(enc, secret) != 0)
        list_add(&secrets, enc);
    pthread_mutex_unlock(&mask_lock);
    free(enc);
}

void ferry_mask_add_public(const char *word)
{
    if (!word || strlen(word) < FERRY_MASK_SECRET_MIN)
        return;
    pthread_mutex_lock(&mask_lock);
    list_add(&publics, word);
    pthread_mutex_unlock(&mask_lock);
}

void ferry_secret_clear(void)
{
    pthread_mutex_lock(&mask_lock);
    list_clear(&secrets);
    list_clear(&publics);
    pthread_mutex_unlock(&mask_lock);
}

void ferry_mask_note_json(const json_t *v, int under_secret)
{
    json_t *m = (json_t *)v; /* jansson's iterators take non-const */
    if (json_is_string(m)) {
        const char *s = json_string_value(m);
        if (under_secret || ferry_mask_secret_value(s))
            ferry_secret_add(s);
    } else if (json_is_object(m)) {
        const char *key;
        json_t *member;
        json_object_foreach(m, key, member) {
            int secret = under_secret || ferry_mask_secret_name(key);
            /* a name is public unless it sits inside a secret */
            if (!under_secret)
                ferry_mask_add_public(key);
            ferry_mask_note_json(member, secret);
        }
    } else if (json_is_array(m)) {
        size_t i;
        json_t *item;
        json_array_foreach(m, i, item)
            ferry_mask_note_json(item, under_secret);
    }
}

/* ------------------------------------------------------------------ */
/* free text                                                           */
/* ------------------------------------------------------------------ */

static int is_word_byte(unsigned char c)
{
    return isalnum(c) || c == '_' || c >= 0x80;
}

static int is_name_byte(unsigned char c)
{
    return isalnum(c) || c == '_' || c == '-' || c == '.';
}

static void mark_range(unsigned char *mark, size_t from, size_t to)
{
    if (to > from)
        memset(mark + from, 1, to - from);
}

/* "scheme://user:PASSWORD@host": the userinfo's password, by its place. */
static void mark_userinfo(const char *t, size_t n, unsigned char *mark)
{
    for (const char *p = t; (p = strstr(p, "://")) != NULL;) {
        size_t at = (size_t)(p - t) + 3, end = at;
        while (end < n && !strchr("/?#\"'<> \t\r\n", t[end]))
            end++;
        size_t amp = end;
        while (amp > at && t[amp - 1] != '@')
            amp--;
        if (amp > at) { /* t[amp - 1] is the last '@' */
            const char *colon = memchr(t + at, ':', amp - 1 - at);
            if (colon)
                mark_range(mark, (size_t)(colon - t) + 1, amp - 1);
        }
        p = t + (end > at ? end : at);
    }
}

/* NAME=VALUE with a secret NAME (a query parameter, a conninfo keyword):
 * VALUE up to the next separator, or inside its quotes. */
static void mark_named_values(const char *t, size_t n, unsigned char *mark)
{
    for (size_t eq = 0; eq < n; eq++) {
        if (t[eq] != '=' || eq == 0 || !is_name_byte((unsigned char)t[eq - 1]))
            continue;
        size_t from = eq;
        while (from > 0 && is_name_byte((unsigned char)t[from - 1]))
            from--;
        char name[96];
        size_t len = eq - from < sizeof name - 1 ? eq - from : sizeof name - 1;
        memcpy(name, t + from, len);
        name[len] = '\0';
        if (!ferry_mask_secret_name(name))
            continue;
        size_t v = eq + 1, end;
        if (v < n && (t[v] == '\'' || t[v] == '"')) {
            const char *close = memchr(t + v + 1, t[v], n - v - 1);
            v++;
            end = close ? (size_t)(close - t) : n;
        } else {
            end = v;
            while (end < n && !strchr("&\"'<>,;)]} \t\r\n", t[end]))
                end++;
        }
        mark_range(mark, v, end);
        eq = end > eq ? end - 1 : eq;
    }
}

/* Is the occurrence t[at, at+m) of secret s inside an occurrence of a public
 * word?  words: the public words holding s (nw of them). */
static int inside_public(const char *t, size_t n, size_t at, const char *s, char *const *words, size_t nw)
{
    for (size_t i = 0; i < nw; i++) {
        const char *w = words[i];
        size_t wl = strlen(w);
        for (const char *k = strstr(w, s); k; k = strstr(k + 1, s)) {
            size_t off = (size_t)(k - w);
            if (off <= at && at - off + wl <= n && memcmp(t + at - off, w, wl) == 0)
                return 1;
        }
    }
    return 0;
}

/* Mark every occurrence of the registered secrets that rule 2 masks.
 * Called with mask_lock held. */
static void mark_secrets(const char *t, size_t n, unsigned char *mark)
{
    char *stack_words[32];
    for (size_t i = 0; i < secrets.n; i++) {
        const char *s = secrets.v[i];
        size_t m = strlen(s);
        /* the public words that hold this secret (usually none) */
        char **words = stack_words;
        size_t nw = 0;
        for (size_t j = 0; j < publics.n + sizeof airflow_fields / sizeof airflow_fields[0]; j++) {
            const char *w = j < publics.n ? publics.v[j] : airflow_fields[j - publics.n];
            if (nw < sizeof stack_words / sizeof stack_words[0] && strstr(w, s))
                words[nw++] = (char *)w;
        }
        int whole_word = m < FERRY_MASK_ANYWHERE_MIN;
        for (const char *hit = strstr(t, s); hit; hit = strstr(hit + 1, s)) {
            size_t at = (size_t)(hit - t);
            if (whole_word && ((is_word_byte((unsigned char)s[0]) && at > 0 &&
                                is_word_byte((unsigned char)t[at - 1])) ||
                               (is_word_byte((unsigned char)s[m - 1]) && at + m < n &&
                                is_word_byte((unsigned char)t[at + m]))))
                continue;
            if (nw && inside_public(t, n, at, s, words, nw))
                continue;
            mark_range(mark, at, at + m);
        }
    }
}

void ferry_scrub(char *buf, size_t cap)
{
    if (!buf || cap == 0)
        return;
    buf[cap - 1] = '\0';
    size_t n = strlen(buf);
    if (n == 0)
        return;
    /* marks (n bytes) and the masked text (at most 3n + 1: a masked byte
     * alone becomes "***") */
    unsigned char stack[4096];
    size_t need = n + 3 * n + 1;
    unsigned char *mark = need <= sizeof stack ? stack : malloc(need);
    if (!mark) { /* cannot tell where the secrets are: show none of it */
        snprintf(buf, cap, "%s", FERRY_MASK);
        return;
    }
    memset(mark, 0, n);
    mark_userinfo(buf, n, mark);
    mark_named_values(buf, n, mark);
    pthread_mutex_lock(&mask_lock);
    mark_secrets(buf, n, mark);
    pthread_mutex_unlock(&mask_lock);
    if (memchr(mark, 1, n)) {
        char *out = (char *)mark + n;
        size_t o = 0;
        for (size_t i = 0; i < n;) {
            if (mark[i]) {
                memcpy(out + o, FERRY_MASK, 3);
                o += 3;
                while (i < n && mark[i])
                    i++;
            } else {
                out[o++] = buf[i++];
            }
        }
        if (o > cap - 1)
            o = cap - 1;
        memcpy(buf, out, o);
        buf[o] = '\0';
    }
    if (mark != stack)
        free(mark);
}

/* ------------------------------------------------------------------ */
/* JSON by field                                                       */
/* ------------------------------------------------------------------ */

json_t *ferry_mask_json(json_t *v, int under_secret)
{
    if (json_is_object(v)) {
        const char *key;
        json_t *member;
        json_object_foreach(v, key, member) {
            if (under_secret || ferry_mask_secret_name(key))
                json_object_set_new(v, key, json_string(FERRY_MASK));
            else
                ferry_mask_json(member, 0);
        }
    } else if (json_is_array(v)) {
        size_t i;
        json_t *item;
        json_array_foreach(v, i, item) {
            if (under_secret)
                json_array_set_new(v, i, json_string(FERRY_MASK));
            else
                ferry_mask_json(item, 0);
        }
    } else if (json_is_string(v)) {
        const char *s = json_string_value(v);
        if (under_secret || ferry_mask_secret_value(s)) {
            json_string_set(v, FERRY_MASK);
        } else {
            size_t n = strlen(s) + 1;
            char *copy = malloc(3 * n); /* a masked byte alone becomes "***" */
            if (copy) {
                memcpy(copy, s, n);
                ferry_scrub(copy, 3 * n);
                json_string_set(v, copy);
                free(copy);
            } else {
                json_string_set(v, FERRY_MASK);
            }
        }
    }
    return v;
}
