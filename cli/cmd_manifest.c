/*
 * cmd_manifest.c - `ferry manifest DEST [--partitions N] [--replace]`: after
 * the machines of a `ferry copy --partition K/N` run finished, read the
 * sidecars DEST/_parts/part-K.json and, only when all N partitions are there,
 * write DEST/_manifest.json (parts, rows, bytes, checksums, created_at)
 * atomically.  Works on any destination whose hook can list, read and write
 * (local, S3, SFTP), through the generic hook ops.  The ranges the sidecars
 * record must tile: partition k ends where k+1 begins, on the same key.
 * Partitions that cut the key at different times (the table grew in between,
 * no --split-range) leave rows in no partition or in two: exit 7, no
 * manifest.  The reading, checking and writing are the library's
 * (transfer/manifest.c, ferry/manifest.h); this file parses the arguments
 * and prints.  docs/scale-out.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "ferry/manifest.h"

static const char manifest_help[] =
    "usage: ferry manifest DEST [--partitions N] [--replace] [-q]\n"
    "  DEST            the prefix/directory a `ferry copy --partition K/N` run wrote to\n"
    "  --partitions N  how many partitions there must be (default: the N the parts name)\n"
    "  --replace       replace an existing DEST/_manifest.json\n"
    "  -q, --quiet     no summary line\n"
    "Exit 5 naming the missing partitions when not all are there, exit 7 when their ranges\n"
    "do not tile the key (cut at different times: use --split-range); nothing is written then.\n";

static int run_manifest(const char *prefix, long want, int replace)
{
    ferry_error err;
    ferry_error_clear(&err);
    long n = 0;
    if (ferry_manifest_write(prefix, want, replace, &n, &err) != FERRY_OK)
        return cli_fail(&err);
    if (!cli.quiet)
        fprintf(stderr, "ferry: manifest: %ld partitions -> %s/_manifest.json\n", n, prefix);
    return 0;
}

int cmd_manifest(int argc, char **argv)
{
    const char *dest = NULL;
    long want = 0;
    int replace = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--partitions") == 0 && i + 1 < argc) {
            want = cli_parse_long(argv[++i]);
            if (want <= 0 || want > FERRY_MANIFEST_MAX_PARTS)
                return cli_usage("manifest", "--partitions takes 1 to %d", FERRY_MANIFEST_MAX_PARTS);
        } else if (strcmp(argv[i], "--quiet") == 0 || strcmp(argv[i], "-q") == 0) {
            cli.quiet = 1;
        } else if (strcmp(argv[i], "--replace") == 0) {
            replace = 1;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(manifest_help, stdout);
            return 0;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            return cli_usage("manifest", "unknown option '%s'", argv[i]);
        } else if (!dest) {
            dest = argv[i];
        } else {
            return cli_usage("manifest", "takes one DEST");
        }
    }
    if (!dest)
        return cli_usage("manifest", "needs DEST (the prefix/directory of the partitions)");
    int code = 0;
    char *dest_x = cli_expand(dest, FERRY_TEMPLATE_TEXT, &code);
    if (!dest_x)
        return code;
    size_t n = strlen(dest_x);
    while (n > 1 && dest_x[n - 1] == '/')
        dest_x[--n] = '\0';
    code = run_manifest(dest_x, want, replace);
    free(dest_x);
    return code;
}
