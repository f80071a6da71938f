/*
 * tests/fuzz/regress_main.c - a plain main() that replays inputs through one
 * fuzz target's LLVMFuzzerTestOneInput, without libFuzzer: for ctest and
 * gcc builds.  Link it with exactly one tests/fuzz/fuzz_<target>.c and
 * libferry:
 *
 *     gcc -std=c11 -D_GNU_SOURCE -Iinclude -I. -I/usr/include/mariadb \
 *         tests/fuzz/regress_main.c tests/fuzz/fuzz_conn.c -o regress_conn \
 *         build/libferry.a $(libs)
 *     ./regress_conn tests/fuzz/corpus/conn tests/fuzz/regressions/conn
 *
 * Arguments are files or directories (read one level deep, in name order);
 * each file is one input.  A broken invariant aborts (the target's
 * FUZZ_FAIL), so the test fails; otherwise the exit status is 0 when every
 * input ran, 1 when an argument could not be read.  A directory that does not
 * exist is skipped (a target may have no regressions yet).
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz_common.h"

/* Targets without set-up do not define it. */
__attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

static int run_file(const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        fprintf(stderr, "regress: cannot open %s: %s\n", path, strerror(errno));
        return -1;
    }
    size_t cap = 4096, len = 0;
    uint8_t *buf = malloc(cap);
    for (;;) {
        if (!buf) {
            fclose(fp);
            fprintf(stderr, "regress: out of memory reading %s\n", path);
            return -1;
        }
        len += fread(buf + len, 1, cap - len, fp);
        if (len < cap)
            break;
        cap *= 2;
        uint8_t *grown = realloc(buf, cap);
        if (!grown)
            free(buf);
        buf = grown;
    }
    int failed = ferror(fp);
    fclose(fp);
    if (failed) {
        free(buf);
        fprintf(stderr, "regress: read error on %s\n", path);
        return -1;
    }
    /* an exact-size copy, so that reads past the end are caught as they are under libFuzzer */
    uint8_t *exact = malloc(len ? len : 1);
    if (!exact) {
        free(buf);
        return -1;
    }
    if (len)
        memcpy(exact, buf, len);
    free(buf);
    LLVMFuzzerTestOneInput(exact, len);
    free(exact);
    return 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int run_dir(const char *dir, int *count)
{
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT ? 0 : -1;
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            char **grown = realloc(names, cap * sizeof *names);
            if (!grown)
                break;
            names = grown;
        }
        size_t need = strlen(dir) + strlen(de->d_name) + 2;
        names[n] = malloc(need);
        if (!names[n])
            break;
        snprintf(names[n], need, "%s/%s", dir, de->d_name);
        n++;
    }
    closedir(d);
    if (n > 1)
        qsort(names, n, sizeof *names, by_name);
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        struct stat st;
        if (stat(names[i], &st) == 0 && S_ISREG(st.st_mode)) {
            if (run_file(names[i]) != 0)
                rc = -1;
            else
                (*count)++;
        }
        free(names[i]);
    }
    free(names);
    return rc;
}

int main(int argc, char **argv)
{
    LLVMFuzzerInitialize(&argc, &argv);
    int rc = 0, count = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            if (errno != ENOENT)
                rc = 1;
            continue;
        }
        if (S_ISDIR(st.st_mode)) {
            if (run_dir(argv[i], &count) != 0)
                rc = 1;
        } else if (run_file(argv[i]) != 0) {
            rc = 1;
        } else {
            count++;
        }
    }
    printf("%s: %d inputs replayed%s\n", argc > 0 ? argv[0] : "regress", count,
           rc ? " (some could not be read)" : "");
    return rc;
}
