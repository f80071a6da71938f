/*
 * nameset.c - a set of names, exact or ASCII-case-folded (transfer/nameset.h):
 * what a multi-file batch uses to find two source entries that map to one
 * destination name, and to create each destination directory once.
 */
#include <stdlib.h>
#include <string.h>

#include "transfer/nameset.h"

static unsigned char fold_byte(unsigned char c, int fold)
{
    return fold && c >= 'A' && c <= 'Z' ? (unsigned char)(c + ('a' - 'A')) : c;
}

uint32_t ferry_name_hash(const char *s, int fold)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ fold_byte((unsigned char)*s, fold)) * 16777619u;
    return h;
}

int ferry_name_same(const char *a, const char *b, int fold)
{
    for (;; a++, b++) {
        if (fold_byte((unsigned char)*a, fold) != fold_byte((unsigned char)*b, fold))
            return 0;
        if (!*a)
            return 1;
    }
}

void ferry_nameset_init(ferry_nameset *s, int fold)
{
    memset(s, 0, sizeof *s);
    s->fold = fold;
}

void ferry_nameset_release(ferry_nameset *s)
{
    int fold = s->fold;
    free(s->slots);
    free(s->off);
    free(s->hash);
    ferry_buf_release(&s->names);
    ferry_nameset_init(s, fold);
}

static long find(const ferry_nameset *s, const char *name, uint32_t h)
{
    if (!s->slots)
        return -1;
    for (size_t i = h & s->mask;; i = (i + 1) & s->mask) {
        uint32_t k = s->slots[i];
        if (k == 0)
            return -1;
        if (s->hash[k - 1] == h && ferry_name_same(s->names.data + s->off[k - 1], name, s->fold))
            return (long)(k - 1);
    }
}

const char *ferry_nameset_find(const ferry_nameset *s, const char *name)
{
    long k = find(s, name, ferry_name_hash(name, s->fold));
    return k < 0 ? NULL : s->names.data + s->off[k];
}

static int rehash(ferry_nameset *s, size_t nslots)
{
    uint32_t *slots = calloc(nslots, sizeof *slots);
    if (!slots)
        return -1;
    free(s->slots);
    s->slots = slots;
    s->mask = nslots - 1;
    for (size_t k = 0; k < s->n; k++) {
        size_t i = s->hash[k] & s->mask;
        while (s->slots[i])
            i = (i + 1) & s->mask;
        s->slots[i] = (uint32_t)(k + 1);
    }
    return 0;
}

int ferry_nameset_add(ferry_nameset *s, const char *name, const char **prior)
{
    uint32_t h = ferry_name_hash(name, s->fold);
    long k = find(s, name, h);
    if (k >= 0) {
        if (prior)
            *prior = s->names.data + s->off[k];
        return 0;
    }
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        if (cap > UINT32_MAX - 1)
            return -1;
        uint32_t *off = realloc(s->off, cap * sizeof *off);
        if (!off)
            return -1;
        s->off = off;
        uint32_t *hash = realloc(s->hash, cap * sizeof *hash);
        if (!hash)
            return -1;
        s->hash = hash;
        s->cap = cap;
    }
    if (!s->slots || (s->n + 1) * 10 > (s->mask + 1) * 7) { /* load <= 0.7 */
        if (rehash(s, s->slots ? (s->mask + 1) * 2 : 128) != 0)
            return -1;
    }
    size_t at = s->names.len;
    if (at > UINT32_MAX - 4096 || ferry_buf_append(&s->names, name, strlen(name) + 1) != 0)
        return -1;
    s->off[s->n] = (uint32_t)at;
    s->hash[s->n] = h;
    size_t i = h & s->mask;
    while (s->slots[i])
        i = (i + 1) & s->mask;
    s->slots[i] = (uint32_t)(s->n + 1);
    s->n++;
    return 1;
}
