/*
 * tests/fuzz/fuzz_common.h - what every libFuzzer target of ferry shares:
 * taking an input apart (a byte at a time, NUL-separated strings, a seeded
 * PRNG for chunk sizes) and failing loudly.
 *
 * A target defines LLVMFuzzerTestOneInput (and, when it needs set-up,
 * LLVMFuzzerInitialize).  It is linked either with libFuzzer
 * (clang -fsanitize=fuzzer, see scripts/fuzz.sh) or with
 * tests/fuzz/regress_main.c, a plain main() that replays files (ctest).
 * An invariant that does not hold calls FUZZ_FAIL, which prints what broke
 * and aborts, so both drivers report it as a crash.
 */
#ifndef FERRY_FUZZ_COMMON_H
#define FERRY_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define FUZZ_FAIL(...)                                                        \
    do {                                                                      \
        fprintf(stderr, "\nFUZZ INVARIANT BROKEN at %s:%d: ", __FILE__,       \
                __LINE__);                                                    \
        fprintf(stderr, __VA_ARGS__);                                         \
        fprintf(stderr, "\n");                                                \
        abort();                                                              \
    } while (0)

#define FUZZ_CHECK(cond, ...)                                                 \
    do {                                                                      \
        if (!(cond)) {                                                        \
            fprintf(stderr, "\nFUZZ INVARIANT BROKEN at %s:%d: %s\n  ",       \
                    __FILE__, __LINE__, #cond);                               \
            fprintf(stderr, __VA_ARGS__);                                     \
            fprintf(stderr, "\n");                                            \
            abort();                                                          \
        }                                                                     \
    } while (0)

/* Reads an input front to back; reading past the end gives zeros / "". */
typedef struct fz_in {
    const uint8_t *p;
    size_t n;
} fz_in;

static inline uint8_t fz_u8(fz_in *f)
{
    if (f->n == 0)
        return 0;
    f->n--;
    return *f->p++;
}

static inline uint32_t fz_u32(fz_in *f)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++)
        v = v << 8 | fz_u8(f);
    return v;
}

/* The next NUL-terminated piece as a new C string (malloc'd); the rest of
 * the input when there is no NUL.  Never NULL (aborts on OOM). */
static inline char *fz_str(fz_in *f)
{
    const uint8_t *nul = f->n ? memchr(f->p, 0, f->n) : NULL;
    size_t len = nul ? (size_t)(nul - f->p) : f->n;
    char *s = malloc(len + 1);
    if (!s)
        abort();
    if (len)
        memcpy(s, f->p, len);
    s[len] = '\0';
    f->p += len;
    f->n -= len;
    if (nul) {
        f->p++;
        f->n--;
    }
    return s;
}

/* A copy of bytes as a NUL-terminated string (embedded NULs kept). */
static inline char *fz_dup(const uint8_t *p, size_t n)
{
    char *s = malloc(n + 1);
    if (!s)
        abort();
    if (n)
        memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

/* xorshift64*: chunk sizes and other choices that must not eat input bytes. */
typedef struct fz_rng {
    uint64_t s;
} fz_rng;

static inline void fz_rng_seed(fz_rng *r, uint64_t seed)
{
    r->s = seed * 0x9E3779B97F4A7C15ull + 0x632BE59BD9B4E019ull;
    if (!r->s)
        r->s = 1;
}

static inline uint64_t fz_rng_next(fz_rng *r)
{
    r->s ^= r->s >> 12;
    r->s ^= r->s << 25;
    r->s ^= r->s >> 27;
    return r->s * 0x2545F4914F6CDD1Dull;
}

/* A chunk size for mode m: 0 = everything at once, 1 = 1 byte, 2 = small
 * random, 3 = up to 4 KiB random. */
static inline size_t fz_chunk(fz_rng *r, unsigned mode, size_t left)
{
    size_t n;
    switch (mode & 3) {
    case 0: n = left; break;
    case 1: n = 1; break;
    case 2: n = 1 + (size_t)(fz_rng_next(r) % 17); break;
    default: n = 1 + (size_t)(fz_rng_next(r) % 4096); break;
    }
    return n < left ? n : left;
}

/* memmem that treats an empty needle as "not found". */
static inline const char *fz_find(const char *hay, size_t hn, const char *needle, size_t nn)
{
    if (nn == 0 || nn > hn)
        return NULL;
    for (size_t i = 0; i + nn <= hn; i++)
        if (hay[i] == needle[0] && memcmp(hay + i, needle, nn) == 0)
            return hay + i;
    return NULL;
}

#endif
