/*
 * filter.c - rclone's filter rules for multi-file copies and sync: globs
 * compiled into a small node graph and matched by backtracking (no regex
 * engine, no allocation per match), rules tried in order, and the
 * --min-age / --max-age bounds.  The syntax is in filter.h.
 *
 * A compiled glob is a chain of nodes, each naming the next one (-1 = the
 * end of the glob, where the name must end too).  An alternative group
 * {a,b} is one ALT node listing the first node of each alternative; every
 * alternative ends in a JOIN node that continues at the ALT node's next, so
 * the groups nest freely and matching needs no stack of its own.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "transfer/filter.h"

enum { N_LIT, N_ONE, N_CLASS, N_STAR, N_STAR2, N_ALT, N_JOIN };

/* [:name:] classes, as bits */
enum { C_ALPHA = 1, C_DIGIT = 2, C_ALNUM = 4, C_UPPER = 8, C_LOWER = 16, C_SPACE = 32, C_PUNCT = 64, C_XDIGIT = 128 };

typedef struct gnode {
    unsigned char type;
    unsigned char byte;     /* N_LIT */
    unsigned char negate;   /* N_CLASS */
    unsigned char named;    /* N_CLASS: C_* bits */
    int next;               /* the node after this one, -1 = end of the glob */
    int first, count;       /* N_ALT: alternatives alts[first..]; N_CLASS: ranges[first..] */
    int owner;              /* N_JOIN: its N_ALT node */
} gnode;

typedef struct crange {
    uint32_t lo, hi;
} crange;

struct ferry_glob {
    gnode *nodes;
    int n_nodes, cap_nodes;
    int *alts;
    int n_alts, cap_alts;
    crange *ranges;
    int n_ranges, cap_ranges;
    int start;              /* first node, -1 for an empty glob */
    int anchored;           /* started with '/' */
};

/* ---------------------------------------------------------------- UTF-8 */

/* The code point at s (which is not at its NUL) and its length in bytes; a
 * byte that starts no valid sequence is one "character" of its own. */
static int utf8_next(const unsigned char *s, uint32_t *cp)
{
    unsigned char c = s[0];
    int len = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
    if (len == 0) {
        *cp = c;
        return 1;
    }
    uint32_t v = len == 1 ? c : len == 2 ? (c & 0x1Fu) : len == 3 ? (c & 0x0Fu) : (c & 0x07u);
    for (int i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) {
            *cp = c;
            return 1;
        }
        v = (v << 6) | (s[i] & 0x3Fu);
    }
    *cp = v;
    return len;
}

/* ---------------------------------------------------------------- compiling */

typedef struct parser {
    ferry_glob *g;
    const char *glob;       /* as given, for messages */
    const unsigned char *p; /* cursor */
    ferry_error *err;
    int depth;              /* of {} groups */
} parser;

static int add_node(parser *P, int type)
{
    ferry_glob *g = P->g;
    if (g->n_nodes == g->cap_nodes) {
        int cap = g->cap_nodes ? g->cap_nodes * 2 : 16;
        gnode *n = realloc(g->nodes, (size_t)cap * sizeof *n);
        if (!n)
            return -1;
        g->nodes = n;
        g->cap_nodes = cap;
    }
    gnode *n = &g->nodes[g->n_nodes];
    memset(n, 0, sizeof *n);
    n->type = (unsigned char)type;
    n->next = -1;
    n->owner = -1;
    return g->n_nodes++;
}

typedef struct seq {
    int head, last; /* -1 when empty */
} seq;

static void seq_push(parser *P, seq *s, int node)
{
    if (s->last < 0)
        s->head = node;
    else
        P->g->nodes[s->last].next = node;
    s->last = node;
}

static ferry_status bad(parser *P, const char *what)
{
    return ferry_error_set(P->err, FERRY_ERR_USAGE, "bad glob '%s': %s", P->glob, what);
}

static ferry_status oom(parser *P)
{
    return ferry_error_oom(P->err, NULL, NULL, "glob");
}

static int add_range(parser *P, uint32_t lo, uint32_t hi)
{
    ferry_glob *g = P->g;
    if (g->n_ranges == g->cap_ranges) {
        int cap = g->cap_ranges ? g->cap_ranges * 2 : 8;
        crange *r = realloc(g->ranges, (size_t)cap * sizeof *r);
        if (!r)
            return -1;
        g->ranges = r;
        g->cap_ranges = cap;
    }
    g->ranges[g->n_ranges].lo = lo;
    g->ranges[g->n_ranges].hi = hi;
    g->n_ranges++;
    return 0;
}

static const struct {
    const char *name;
    unsigned bit;
} named_classes[] = {
    {"alpha", C_ALPHA}, {"digit", C_DIGIT}, {"alnum", C_ALNUM}, {"upper", C_UPPER},
    {"lower", C_LOWER}, {"space", C_SPACE}, {"punct", C_PUNCT}, {"xdigit", C_XDIGIT},
};

/* After '[': the class up to its ']'. */
static ferry_status parse_class(parser *P, seq *s)
{
    int ni = add_node(P, N_CLASS);
    if (ni < 0)
        return oom(P);
    int negate = 0;
    unsigned named = 0;
    if (*P->p == '!' || *P->p == '^') {
        negate = 1;
        P->p++;
    }
    int first = P->g->n_ranges, items = 0;
    for (;;) {
        if (*P->p == '\0')
            return bad(P, "mismatched '[' and ']'");
        if (*P->p == ']' && items > 0) {
            P->p++;
            break;
        }
        if (P->p[0] == '[' && P->p[1] == ':') {
            const char *end = strstr((const char *)P->p + 2, ":]");
            size_t len = end ? (size_t)(end - (const char *)P->p - 2) : 0;
            size_t k = 0;
            for (; end && k < sizeof named_classes / sizeof named_classes[0]; k++)
                if (strlen(named_classes[k].name) == len && memcmp(named_classes[k].name, P->p + 2, len) == 0)
                    break;
            if (!end || k == sizeof named_classes / sizeof named_classes[0])
                return bad(P, "unknown character class in [...] (alpha, digit, alnum, upper, lower, space, "
                              "punct, xdigit)");
            named |= named_classes[k].bit;
            P->p += len + 4;
            items++;
            continue;
        }
        uint32_t lo, hi;
        if (*P->p == '\\') {
            P->p++;
            if (*P->p == '\0')
                return bad(P, "a '\\' ends it");
        }
        P->p += utf8_next(P->p, &lo);
        hi = lo;
        if (P->p[0] == '-' && P->p[1] != ']' && P->p[1] != '\0') {
            P->p++;
            if (*P->p == '\\') {
                P->p++;
                if (*P->p == '\0')
                    return bad(P, "a '\\' ends it");
            }
            P->p += utf8_next(P->p, &hi);
            if (hi < lo)
                return bad(P, "a range in [...] runs backwards");
        }
        if (add_range(P, lo, hi) != 0)
            return oom(P);
        items++;
    }
    gnode *n = &P->g->nodes[ni];
    n->negate = (unsigned char)negate;
    n->named = (unsigned char)named;
    n->first = first;
    n->count = P->g->n_ranges - first;
    seq_push(P, s, ni);
    return FERRY_OK;
}

static ferry_status parse_seq(parser *P, seq *s);

/* After '{': the alternatives up to the matching '}'. */
static ferry_status parse_alt(parser *P, seq *s)
{
    if (*P->p == '{')
        return bad(P, "{{regexp}} sections are not supported");
    int ai = add_node(P, N_ALT);
    if (ai < 0)
        return oom(P);
    int *heads = NULL, n = 0, cap = 0;
    ferry_status st = FERRY_OK;
    P->depth++;
    for (;;) {
        seq alt = {-1, -1};
        st = parse_seq(P, &alt);
        if (st != FERRY_OK)
            break;
        int join = add_node(P, N_JOIN);
        if (join < 0) {
            st = oom(P);
            break;
        }
        P->g->nodes[join].owner = ai;
        seq_push(P, &alt, join);
        if (n == cap) {
            cap = cap ? cap * 2 : 4;
            int *h = realloc(heads, (size_t)cap * sizeof *h);
            if (!h) {
                st = oom(P);
                break;
            }
            heads = h;
        }
        heads[n++] = alt.head;
        if (*P->p == ',') {
            P->p++;
            continue;
        }
        if (*P->p == '}') {
            P->p++;
            break;
        }
        st = bad(P, "mismatched '{' and '}'");
        break;
    }
    P->depth--;
    if (st == FERRY_OK) {
        ferry_glob *g = P->g;
        if (g->n_alts + n > g->cap_alts) {
            int ncap = g->cap_alts ? g->cap_alts : 8;
            while (ncap < g->n_alts + n)
                ncap *= 2;
            int *a = realloc(g->alts, (size_t)ncap * sizeof *a);
            if (!a)
                st = oom(P);
            else {
                g->alts = a;
                g->cap_alts = ncap;
            }
        }
        if (st == FERRY_OK) {
            memcpy(g->alts + g->n_alts, heads, (size_t)n * sizeof *heads);
            g->nodes[ai].first = g->n_alts;
            g->nodes[ai].count = n;
            g->n_alts += n;
            seq_push(P, s, ai);
        }
    }
    free(heads);
    return st;
}

/* Nodes up to the end of the glob, or (inside a group) up to ',' or '}'. */
static ferry_status parse_seq(parser *P, seq *s)
{
    while (*P->p) {
        unsigned char c = *P->p;
        if (P->depth > 0 && (c == ',' || c == '}'))
            return FERRY_OK;
        int ni;
        switch (c) {
        case '*': {
            int stars = 0;
            while (*P->p == '*') {
                stars++;
                P->p++;
            }
            if (stars > 2)
                return bad(P, "too many stars ('*' is one path segment, '**' any depth)");
            if ((ni = add_node(P, stars == 1 ? N_STAR : N_STAR2)) < 0)
                return oom(P);
            seq_push(P, s, ni);
            continue;
        }
        case '?':
            P->p++;
            if ((ni = add_node(P, N_ONE)) < 0)
                return oom(P);
            seq_push(P, s, ni);
            continue;
        case '[': {
            P->p++;
            ferry_status st = parse_class(P, s);
            if (st != FERRY_OK)
                return st;
            continue;
        }
        case ']':
            return bad(P, "mismatched ']'");
        case '{': {
            P->p++;
            ferry_status st = parse_alt(P, s);
            if (st != FERRY_OK)
                return st;
            continue;
        }
        case '}':
            return bad(P, "mismatched '{' and '}'");
        case '\\':
            P->p++;
            if (*P->p == '\0')
                return bad(P, "a '\\' ends it");
            c = *P->p;
            break;
        default:
            break;
        }
        P->p++;
        if ((ni = add_node(P, N_LIT)) < 0)
            return oom(P);
        P->g->nodes[ni].byte = c;
        seq_push(P, s, ni);
    }
    if (P->depth > 0)
        return bad(P, "mismatched '{' and '}'");
    return FERRY_OK;
}

void ferry_glob_free(ferry_glob *g)
{
    if (!g)
        return;
    free(g->nodes);
    free(g->alts);
    free(g->ranges);
    free(g);
}

ferry_status ferry_glob_compile(const char *glob, ferry_glob **out, ferry_error *err)
{
    *out = NULL;
    ferry_glob *g = calloc(1, sizeof *g);
    if (!g)
        return ferry_error_oom(err, NULL, NULL, "glob");
    parser P = {g, glob, (const unsigned char *)glob, err, 0};
    if (*P.p == '/') {
        g->anchored = 1;
        P.p++;
    }
    seq s = {-1, -1};
    ferry_status st = parse_seq(&P, &s);
    if (st != FERRY_OK) {
        ferry_glob_free(g);
        return st;
    }
    g->start = s.head;
    *out = g;
    return FERRY_OK;
}

/* ---------------------------------------------------------------- matching */

static int in_named(unsigned named, uint32_t cp)
{
    if (cp > 0x7F)
        return 0;
    int c = (int)cp;
    return ((named & C_ALPHA) && isalpha(c)) || ((named & C_DIGIT) && isdigit(c)) ||
           ((named & C_ALNUM) && isalnum(c)) || ((named & C_UPPER) && isupper(c)) ||
           ((named & C_LOWER) && islower(c)) || ((named & C_SPACE) && isspace(c)) ||
           ((named & C_PUNCT) && ispunct(c)) || ((named & C_XDIGIT) && isxdigit(c));
}

static int class_has(const ferry_glob *g, const gnode *n, uint32_t cp)
{
    int hit = in_named(n->named, cp);
    for (int i = 0; !hit && i < n->count; i++)
        hit = cp >= g->ranges[n->first + i].lo && cp <= g->ranges[n->first + i].hi;
    return n->negate ? !hit : hit;
}

/* Whether the glob from node ni on matches all of s. */
static int match_from(const ferry_glob *g, int ni, const unsigned char *s)
{
    for (;;) {
        if (ni < 0)
            return *s == '\0';
        const gnode *n = &g->nodes[ni];
        uint32_t cp;
        switch (n->type) {
        case N_LIT:
            if (*s != n->byte)
                return 0;
            s++;
            ni = n->next;
            break;
        case N_ONE:
            if (*s == '\0' || *s == '/')
                return 0;
            s += utf8_next(s, &cp);
            ni = n->next;
            break;
        case N_CLASS: {
            if (*s == '\0' || (*s == '/' && n->negate))
                return 0;
            int len = utf8_next(s, &cp);
            if (!class_has(g, n, cp))
                return 0;
            s += len;
            ni = n->next;
            break;
        }
        case N_STAR:
            for (;; s++) {
                if (match_from(g, n->next, s))
                    return 1;
                if (*s == '\0' || *s == '/')
                    return 0;
            }
        case N_STAR2:
            for (;; s++) {
                if (match_from(g, n->next, s))
                    return 1;
                if (*s == '\0')
                    return 0;
            }
        case N_ALT:
            for (int i = 0; i < n->count; i++)
                if (match_from(g, g->alts[n->first + i], s))
                    return 1;
            return 0;
        case N_JOIN:
            ni = g->nodes[n->owner].next;
            break;
        default:
            return 0;
        }
    }
}

int ferry_glob_match(const ferry_glob *g, const char *name)
{
    const unsigned char *s = (const unsigned char *)name;
    if (match_from(g, g->start, s))
        return 1;
    if (g->anchored)
        return 0;
    /* rclone's (^|/)GLOB$: also from just after every '/' */
    for (; *s; s++)
        if (*s == '/' && match_from(g, g->start, s + 1))
            return 1;
    return 0;
}

/* ---------------------------------------------------------------- rules */

typedef struct rule {
    int include;
    ferry_glob *glob;
    char *text;     /* the glob as given, for reasons */
} rule;

struct ferry_filter {
    rule *rules;
    size_t n_rules;
    int implied_exclude;    /* an include rule was given: what no rule matched is excluded */
    double min_age, max_age;
    int64_t now;
};

void ferry_filter_free(ferry_filter *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->n_rules; i++) {
        ferry_glob_free(f->rules[i].glob);
        free(f->rules[i].text);
    }
    free(f->rules);
    free(f);
}

ferry_status ferry_filter_new(const char *const *rules, size_t n_rules, double min_age, double max_age, int64_t now,
                              ferry_filter **out, ferry_error *err)
{
    *out = NULL;
    if (min_age < 0 || max_age < 0)
        return ferry_error_set(err, FERRY_ERR_USAGE, "--min-age and --max-age take durations of 0 or more");
    if (min_age > 0 && max_age > 0 && max_age < min_age)
        return ferry_error_set(err, FERRY_ERR_USAGE,
                               "--max-age %.0fs is below --min-age %.0fs: no file could be taken", max_age, min_age);
    ferry_filter *f = calloc(1, sizeof *f);
    if (!f || (n_rules && !(f->rules = calloc(n_rules, sizeof *f->rules)))) {
        free(f);
        return ferry_error_oom(err, NULL, NULL, "filter");
    }
    f->min_age = min_age;
    f->max_age = max_age;
    f->now = now;
    ferry_status st = FERRY_OK;
    for (size_t i = 0; st == FERRY_OK && i < n_rules; i++) {
        const char *r = rules[i];
        if (!r || (r[0] != '+' && r[0] != '-')) {
            st = ferry_error_set(err, FERRY_ERR_USAGE, "filter rule '%s': want '+ GLOB' or '- GLOB'", r ? r : "(null)");
            break;
        }
        const char *glob = r + 1 + (r[1] == ' ');
        rule *ru = &f->rules[f->n_rules];
        ru->include = r[0] == '+';
        ru->text = strdup(glob);
        if (!ru->text) {
            st = ferry_error_oom(err, NULL, NULL, "filter");
            break;
        }
        f->n_rules++;
        st = ferry_glob_compile(glob, &ru->glob, err);
        if (ru->include)
            f->implied_exclude = 1;
    }
    if (st != FERRY_OK) {
        ferry_filter_free(f);
        return st;
    }
    *out = f;
    return FERRY_OK;
}

int ferry_filter_active(const ferry_filter *f)
{
    return f && (f->n_rules > 0 || f->min_age > 0 || f->max_age > 0);
}

int ferry_filter_name(const ferry_filter *f, const char *name, char *why, size_t cap)
{
    if (!f)
        return 1;
    for (size_t i = 0; i < f->n_rules; i++) {
        if (!ferry_glob_match(f->rules[i].glob, name))
            continue;
        if (f->rules[i].include)
            return 1;
        if (why && cap)
            snprintf(why, cap, "excluded by --exclude '%s'", f->rules[i].text);
        return 0;
    }
    if (!f->implied_exclude)
        return 1;
    if (why && cap)
        snprintf(why, cap, "matched by no --include");
    return 0;
}

int ferry_filter_file(const ferry_filter *f, const char *name, int64_t mtime, char *why, size_t cap)
{
    if (!f)
        return 1;
    if (!ferry_filter_name(f, name, why, cap))
        return 0;
    if (f->min_age <= 0 && f->max_age <= 0)
        return 1;
    if (mtime < 0) {
        if (why && cap)
            snprintf(why, cap, "modification time unknown, %s", f->min_age > 0 ? "--min-age" : "--max-age");
        return 0;
    }
    double age = (double)(f->now - mtime);
    if (f->min_age > 0 && age < f->min_age) {
        if (why && cap)
            snprintf(why, cap, "modified %.0fs ago, younger than --min-age %.0fs", age < 0 ? 0 : age, f->min_age);
        return 0;
    }
    if (f->max_age > 0 && age > f->max_age) {
        if (why && cap)
            snprintf(why, cap, "modified %.0fs ago, older than --max-age %.0fs", age, f->max_age);
        return 0;
    }
    return 1;
}
