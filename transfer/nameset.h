/*
 * nameset.h - internal: a set of names (destination names of one multi-file
 * batch, directories a batch created), exact or case-folded (ASCII letters:
 * 'A'-'Z' equal 'a'-'z'; other bytes, UTF-8 included, compare as they are).
 * One open-addressing table of 32-bit slots over a dense array of (offset,
 * hash) and one arena of NUL-ended names: about name + 12 bytes a name.
 * Not thread-safe: the caller serialises.
 */
#ifndef FERRY_TRANSFER_NAMESET_H
#define FERRY_TRANSFER_NAMESET_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

typedef struct ferry_nameset {
    int fold;           /* compare ASCII letters without case */
    uint32_t *slots;    /* owned: 0 = empty, else entry index + 1 */
    size_t mask;        /* slot count - 1 (a power of two) */
    uint32_t *off;      /* owned: per entry, its name in the arena */
    uint32_t *hash;     /* owned: per entry, its (folded) hash */
    size_t n, cap;
    ferry_buf names;    /* owned arena */
} ferry_nameset;

/* The set's hash and equality, for other tables of names (sync's index of
 * the destination): FNV-1a over the (folded) bytes; nonzero when equal. */
uint32_t ferry_name_hash(const char *s, int fold);
int ferry_name_same(const char *a, const char *b, int fold);

/* An empty set ({0} plus fold). */
void ferry_nameset_init(ferry_nameset *s, int fold);
void ferry_nameset_release(ferry_nameset *s);

/* The name already in s that equals name (folded when s folds), or NULL.
 * The pointer is valid until the next add. */
const char *ferry_nameset_find(const ferry_nameset *s, const char *name);

/* Add name: 1 added, 0 an equal name was there (*prior, may be NULL, gets
 * it, valid until the next add), -1 out of memory. */
int ferry_nameset_add(ferry_nameset *s, const char *name, const char **prior);

#endif
