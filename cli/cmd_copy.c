/*
 * cmd_copy.c - `ferry copy SOURCE DEST [options]`: option parsing, the
 * progress line on a TTY, and the one-line (or JSON) summary.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"

static const char copy_help[] =
    "usage: ferry copy SOURCE DEST [options]\n"
    "\n"
    "Streams SOURCE to DEST in bounded chunks; DEST holds its complete old or its\n"
    "complete new content, never a partial one.\n"
    "\n"
    "  --replace               replace an existing DEST atomically (default: an existing\n"
    "                          DEST is an error, exit 6, and nothing is written)\n"
    "  --query SQL             SQL source: run this query (SOURCE is CONN:)\n"
    "  --query-file FILE       SQL source: read the query from FILE\n"
    "  --format FMT            csv|tsv|jsonl|parquet (default: from DEST's name, else\n"
    "                          SOURCE's, else csv); parquet from a postgres or mysql table\n"
    "                          or query\n"
    "  --compress MODE         gzip|zstd|none for DEST (default: from DEST's extension,\n"
    "                          .gz or .zst); parquet pages: snappy (default)|zstd|gzip|none\n"
    "  --decompress MODE       gzip|zstd|none for SOURCE (default: from SOURCE's extension,\n"
    "                          .gz or .zst)\n"
    "  --compress-level N      1-9 (default 6): gzip's level (ISA-L: 1-3 -> 1, 4-6 -> 2,\n"
    "                          7-9 -> 3); zstd: 1-2 -> 1, 3-4 -> 2, 5-6 -> 3, 7 -> 5, 8 -> 7, 9 -> 9\n"
    "  --no-header             csv/tsv without a header row (default: header)\n"
    "  --spool MODE            none|disk: disk extracts into a temp file in $TMPDIR first\n"
    "                          (default none: stream end to end)\n"
    "  --s3-conn ID            connection for s3:// endpoints (default aws_default, else\n"
    "                          the AWS environment chain)\n"
    "  --chunk-size SIZE       transfer chunk (default 1M)\n"
    "  --part-size SIZE        S3 multipart part size (default 8M)\n"
    "  --concurrency N         S3 parts in flight (default 4)\n"
    "  --retries N             attempts in all for a transient failure, the first one\n"
    "                          included (default 5; 1 = no retry): \"gave up after N attempts\"\n"
    "  --timeout D             no progress for this long is a failure (default 300s;\n"
    "                          D: seconds, or 90s, 5m, 1.5h, 1d)\n"
    "  --dry-run               print the resolved endpoints (secrets masked), the filter and\n"
    "                          whether DEST would be created, replaced or refused; touch nothing.\n"
    "                          Probes that SOURCE exists and DEST can be reached (credentials,\n"
    "                          connection; --retries applies) and exits with the code the copy\n"
    "                          would fail with; says what it did not check\n"
    "  --create                SQL sink: create a missing table from the source's columns\n"
    "  --null-string TEXT      csv/tsv text for SQL NULL (default: empty unquoted field)\n"
    "  --recursive             SOURCE is a directory/prefix: copy the whole tree\n"
    "  --move                  delete each source file after its destination committed\n"
    "                          and the sizes match\n"
    "  --include GLOB          many files: take only those matching GLOB (repeatable)\n"
    "  --exclude GLOB          many files: leave those matching GLOB (repeatable); rules\n"
    "                          apply in order, the first match decides, any --include\n"
    "                          excludes the rest (rclone's globs; see ferry sync --help)\n"
    "  --min-age D             many files: leave those modified less than D ago\n"
    "  --max-age D             many files: leave those modified more than D ago\n"
    "  --ignore-existing       leave files DEST already has (a re-run copies only the new\n"
    "                          ones and exits 0; one file: exit 0 when DEST exists)\n"
    "  --method M              HTTP: request method (default GET for a source, PUT for a sink)\n"
    "  --data TEXT             HTTP source: request body\n"
    "  --data-file FILE        HTTP source: request body from FILE\n"
    "  --header 'Name: value'  HTTP: extra request header (repeatable)\n"
    "  --parallel N            SQL source: extract N ranges at once over N sessions (one\n"
    "                          snapshot on Postgres); DEST gets them in range order\n"
    "  --split-by COL          SQL source: integer column the ranges are cut by (default:\n"
    "                          Postgres ctid page ranges, MySQL the primary key)\n"
    "  --split-output          one object/file per range under DEST (a prefix/directory)\n"
    "  --partition K/N         run only range K (0-based, e.g. $JOB_COMPLETION_INDEX) of N\n"
    "  --split-range LO:HI     cut [LO, HI] (key values, or ctid pages) instead of what the\n"
    "                          table holds now: give every --partition run the same one\n"
    "  --compress-threads N    gzip/zstd worker threads, each part its own member\n"
    "                          (default: the online cores, at most 8; 1 = inline)\n"
    "  --checksum ALGO         S3 per-part checksum: crc32c|md5|none (default: crc32c on\n"
    "                          AWS; on a custom endpoint_url md5 for an unsigned payload,\n"
    "                          none for a signed one, whose SHA-256 the server checks)\n"
    "  --unsigned-payload      S3: do not hash parts for the signature (default over https)\n"
    "  --signed-payload        S3: always sign the payload hash (default over http)\n"
    "  --max-memory SIZE       bound on all transfer buffers: parts in flight, part size and\n"
    "                          compression shrink to fit, else exit 2 (default: no bound)\n"
    "  --row-group-size SIZE   parquet: compressed bytes of a row group, buffered while it\n"
    "                          is built (default 32M)\n"
    "  --resume FILE           keep an interrupted S3 multipart upload and its state in FILE;\n"
    "                          a later run with the same FILE continues it\n"
    "  --sse-c-key FILE        S3 SSE-C: the customer key in FILE (32 raw bytes or 44\n"
    "                          characters of base64) encrypts what is written to S3 and\n"
    "                          decrypts what is read from it\n"
    "  --sse-c-copy-source-key FILE  S3 SSE-C key of the S3 SOURCE when it differs from\n"
    "                          --sse-c-key ('none': SOURCE is not SSE-C encrypted)\n"
    CLI_S3_WRITE_HELP
    "  --transfers N           many files: files in flight at once (default 8, at most 64);\n"
    "                          --max-memory is shared among them (each gets its Nth)\n"
    "%s"
    "  --json                  print the summary as one JSON object (stdout; stderr when\n"
    "                          DEST is stdout); many files: one JSON record per file\n"
    "  --stats D               one line every D on stderr: bytes, rows, rate, elapsed and\n"
    "                          the ETA when the size is known (a JSON object per line under\n"
    "                          --log-format json); D: 30s, 1m, 0.5s; 0 = off (default: every\n"
    "                          30s when stderr is not a terminal and --log-level is info or\n"
    "                          debug, unless -q; otherwise off)\n"
    "  --progress              the terminal's progress line even when stderr is not a\n"
    "                          terminal (default: only on a terminal, without -q/--json)\n"
    "  -q, --quiet             no summary line\n"
    "\n"
    "A SOURCE with a glob in its last component ('partner:/out/*.csv'), ending in\n"
    "'/' (a prefix or directory), or with --recursive copies each file to DEST/NAME\n"
    "and prints one result line per file; the exit code is 0 when every file was\n"
    "copied, else that of the first failure.\n";

enum {
    OPT_REPLACE = 256, OPT_QUERY, OPT_QUERY_FILE, OPT_FORMAT, OPT_COMPRESS, OPT_DECOMPRESS, OPT_LEVEL,
    OPT_NO_HEADER, OPT_SPOOL, OPT_S3_CONN, OPT_CHUNK, OPT_PART, OPT_CONCURRENCY, OPT_RETRIES, OPT_TIMEOUT,
    OPT_CREATE, OPT_NULL_STRING, OPT_RECURSIVE, OPT_MOVE, OPT_METHOD, OPT_DATA, OPT_DATA_FILE,
    OPT_HEADER, OPT_DRY_RUN, OPT_PARALLEL, OPT_SPLIT_BY, OPT_SPLIT_OUTPUT, OPT_PARTITION,
    OPT_COMPRESS_THREADS, OPT_SPLIT_RANGE, OPT_CHECKSUM, OPT_UNSIGNED, OPT_SIGNED, OPT_MAX_MEMORY, OPT_RESUME,
    OPT_TRANSFERS,
    OPT_STATS, OPT_PROGRESS,
    OPT_INCLUDE, OPT_EXCLUDE, OPT_MIN_AGE, OPT_MAX_AGE, OPT_IGNORE_EXISTING, /* issue 14 (cmd_sync.c) */
    OPT_ROW_GROUP_SIZE,
    OPT_SSE_C_KEY, OPT_SSE_C_COPY_SOURCE_KEY /* issue 16: SSE-C (hooks/s3/s3_ssec.c) */
};

static int dry_run;
static double stats_every = -1; /* --stats: seconds; -1 = not given (the default rule) */
static int force_progress;      /* --progress */

#define MAX_HTTP_HEADERS 64

static const struct option copy_options[] = {
    {"replace", no_argument, NULL, OPT_REPLACE},
    {"query", required_argument, NULL, OPT_QUERY},
    {"query-file", required_argument, NULL, OPT_QUERY_FILE},
    {"format", required_argument, NULL, OPT_FORMAT},
    {"compress", required_argument, NULL, OPT_COMPRESS},
    {"decompress", required_argument, NULL, OPT_DECOMPRESS},
    {"compress-level", required_argument, NULL, OPT_LEVEL},
    {"no-header", no_argument, NULL, OPT_NO_HEADER},
    {"spool", required_argument, NULL, OPT_SPOOL},
    {"s3-conn", required_argument, NULL, OPT_S3_CONN},
    {"chunk-size", required_argument, NULL, OPT_CHUNK},
    {"part-size", required_argument, NULL, OPT_PART},
    {"concurrency", required_argument, NULL, OPT_CONCURRENCY},
    {"retries", required_argument, NULL, OPT_RETRIES},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"create", no_argument, NULL, OPT_CREATE},
    {"dry-run", no_argument, NULL, OPT_DRY_RUN},
    {"null-string", required_argument, NULL, OPT_NULL_STRING},
    {"recursive", no_argument, NULL, OPT_RECURSIVE},
    {"move", no_argument, NULL, OPT_MOVE},
    {"method", required_argument, NULL, OPT_METHOD},
    {"data", required_argument, NULL, OPT_DATA},
    {"data-file", required_argument, NULL, OPT_DATA_FILE},
    {"header", required_argument, NULL, OPT_HEADER},
    {"parallel", required_argument, NULL, OPT_PARALLEL},
    {"split-by", required_argument, NULL, OPT_SPLIT_BY},
    {"split-range", required_argument, NULL, OPT_SPLIT_RANGE},
    {"split-output", no_argument, NULL, OPT_SPLIT_OUTPUT},
    {"partition", required_argument, NULL, OPT_PARTITION},
    {"compress-threads", required_argument, NULL, OPT_COMPRESS_THREADS},
    {"checksum", required_argument, NULL, OPT_CHECKSUM},
    {"unsigned-payload", no_argument, NULL, OPT_UNSIGNED},
    {"signed-payload", no_argument, NULL, OPT_SIGNED},
    {"max-memory", required_argument, NULL, OPT_MAX_MEMORY},
    {"resume", required_argument, NULL, OPT_RESUME},
    {"transfers", required_argument, NULL, OPT_TRANSFERS},
    CLI_MANY_OPTIONS, /* --fail-fast, --skip-unsafe-names, --case-insensitive, --json (cli/many.c) */
    {"stats", required_argument, NULL, OPT_STATS},
    {"progress", no_argument, NULL, OPT_PROGRESS},
    {"include", required_argument, NULL, OPT_INCLUDE},
    {"exclude", required_argument, NULL, OPT_EXCLUDE},
    {"min-age", required_argument, NULL, OPT_MIN_AGE},
    {"max-age", required_argument, NULL, OPT_MAX_AGE},
    {"ignore-existing", no_argument, NULL, OPT_IGNORE_EXISTING},
    {"row-group-size", required_argument, NULL, OPT_ROW_GROUP_SIZE},
    {"sse-c-key", required_argument, NULL, OPT_SSE_C_KEY},
    {"sse-c-copy-source-key", required_argument, NULL, OPT_SSE_C_COPY_SOURCE_KEY},
    CLI_S3_WRITE_LONGOPTS,
    {"quiet", no_argument, NULL, 'q'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* "LO:HI", two decimal int64s, LO <= HI; 0 or -1. */
static int parse_split_range(const char *s, int64_t *lo, int64_t *hi)
{
    char *end = NULL;
    errno = 0;
    long long a = strtoll(s, &end, 10);
    if (errno || end == s || *end != ':')
        return -1;
    const char *b_text = end + 1;
    long long b = strtoll(b_text, &end, 10);
    if (errno || end == b_text || *end != '\0' || a > b)
        return -1;
    *lo = a;
    *hi = b;
    return 0;
}

static int parse_compress(const char *s, ferry_compress *out)
{
    if (strcmp(s, "gzip") == 0 || strcmp(s, "gz") == 0)
        *out = FERRY_COMPRESS_GZIP;
    else if (strcmp(s, "zstd") == 0 || strcmp(s, "zst") == 0)
        *out = FERRY_COMPRESS_ZSTD;
    else if (strcmp(s, "none") == 0)
        *out = FERRY_COMPRESS_NONE;
    else if (strcmp(s, "snappy") == 0)
        *out = FERRY_COMPRESS_SNAPPY;
    else
        return -1;
    return 0;
}

static int parse_format(const char *s, ferry_format *out)
{
    if (strcmp(s, "csv") == 0)
        *out = FERRY_FORMAT_CSV;
    else if (strcmp(s, "tsv") == 0)
        *out = FERRY_FORMAT_TSV;
    else if (strcmp(s, "jsonl") == 0 || strcmp(s, "ndjson") == 0)
        *out = FERRY_FORMAT_JSONL;
    else if (strcmp(s, "parquet") == 0)
        *out = FERRY_FORMAT_PARQUET;
    else
        return -1;
    return 0;
}

static void human_bytes(double b, char *out, size_t cap)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    while (b >= 1024 && u < 4) {
        b /= 1024;
        u++;
    }
    snprintf(out, cap, u ? "%.1f %s" : "%.0f %s", b, units[u]);
}

static int line_on; /* the progress line (a TTY, or --progress) */

static void progress_line(int64_t bytes, int64_t rows, int64_t total, double seconds)
{
    char done[32], rate[32];
    human_bytes((double)bytes, done, sizeof done);
    human_bytes(seconds > 0 ? (double)bytes / seconds : 0, rate, sizeof rate);
    fprintf(stderr, "\r\033[K%s  %s/s", done, rate);
    if (rows >= 0)
        fprintf(stderr, "  %lld rows", (long long)rows);
    if (total > 0 && bytes > 0 && seconds > 0) {
        double eta = (double)(total - bytes) / ((double)bytes / seconds);
        fprintf(stderr, "  %3.0f%%  ETA %.0fs", 100.0 * (double)bytes / (double)total, eta > 0 ? eta : 0);
    }
    fflush(stderr);
}

/* The transfer's progress callback: the progress line and/or --stats. */
static void on_progress(int64_t bytes, int64_t rows, int64_t total, double seconds, void *ud)
{
    (void)ud;
    if (line_on)
        progress_line(bytes, rows, total, seconds);
    cli_stats_progress(bytes, rows, total, seconds);
}

/* The summary: bytes written and read, rows, time, and both rates labelled
 * (read = source bytes, the progress line's rate; written = DEST's bytes) in
 * the progress line's units (KiB/s, MiB/s). */
static void print_summary(const char *src, const char *dst, const ferry_summary *s, int dst_is_stdout)
{
    double mbps = s->seconds > 0 ? (double)s->bytes_written / 1e6 / s->seconds : 0;
    double read_bps = s->seconds > 0 && s->bytes_read > 0 ? (double)s->bytes_read / s->seconds : 0;
    double written_bps = s->seconds > 0 && s->bytes_written > 0 ? (double)s->bytes_written / s->seconds : 0;
    if (cli.json) {
        FILE *out = dst_is_stdout ? stderr : stdout;
        fputs("{\"ok\":true,\"source\":", out);
        cli_json_string(out, src);
        fputs(",\"destination\":", out);
        cli_json_string(out, dst);
        fprintf(out,
                ",\"bytes_read\":%lld,\"bytes_written\":%lld,\"rows_read\":%lld,\"rows_written\":%lld,"
                "\"seconds\":%.3f,\"mb_per_s\":%.1f,\"read_bytes_per_s\":%.0f,\"written_bytes_per_s\":%.0f}\n",
                (long long)s->bytes_read, (long long)s->bytes_written, (long long)s->rows_read,
                (long long)s->rows_written, s->seconds, mbps, read_bps, written_bps);
        fflush(out);
        return;
    }
    if (cli.quiet)
        return;
    char rrate[32], wrate[32];
    human_bytes(read_bps, rrate, sizeof rrate);
    human_bytes(written_bps, wrate, sizeof wrate);
    fprintf(stderr, "ferry: copied %s -> %s: %lld bytes written, %lld read", src, dst, (long long)s->bytes_written,
            (long long)(s->bytes_read > 0 ? s->bytes_read : 0));
    if (s->rows_read >= 0)
        fprintf(stderr, ", %lld rows", (long long)s->rows_read);
    else if (s->rows_written >= 0)
        fprintf(stderr, ", %lld rows", (long long)s->rows_written);
    fprintf(stderr, ", %.2f s, read %s/s, written %s/s\n", s->seconds, rrate, wrate);
}

static void print_file_result(const char *src, const char *dst, ferry_status st, const ferry_summary *sum,
                              const ferry_error *err, void *ud)
{
    (void)ud;
    cli_file_result r = {.action = FERRY_SYNC_COPY, .src = src, .dst = dst, .status = st, .sum = sum, .err = err};
    cli_print_file(&r);
}

/* One result line per file on stdout; a closing count on stderr. */
static int copy_many(const char *src, const char *dst, const ferry_copy_options *o)
{
    ferry_error err;
    ferry_error_clear(&err);
    int n_ok = 0, n_failed = 0;
    ferry_status st = ferry_copy_many(src, dst, o, print_file_result, NULL, &n_ok, &n_failed, &err);
    if (st == FERRY_ERR_IO && cli_stdout_reader_gone())
        return 0; /* copy GLOB - | head: quietly, as cli_fail explains */
    if (!cli.quiet && !cli.json)
        fprintf(stderr, "ferry: %d files copied, %d failed\n", n_ok, n_failed);
    if (st != FERRY_OK && n_ok + n_failed == 0)
        return cli_fail(&err);
    return st == FERRY_OK ? 0 : (int)st;
}

static int run_copy(const char *src, const char *dst, ferry_copy_options *op);

int cmd_copy(int argc, char **argv)
{
    ferry_copy_options o;
    ferry_copy_options_init(&o);
    char *query_from_file = NULL;
    const char *headers[MAX_HTTP_HEADERS];
    size_t n_headers = 0;
    ferry_error err;
    ferry_error_clear(&err);
    static cli_rules rules; /* --include/--exclude, in order (live until exit) */
    static cli_s3_write s3w; /* --metadata/--tags (live until exit) */
    int c, rc;
    optind = 1;
    while ((c = getopt_long(argc, argv, "qh", copy_options, NULL)) != -1) {
        int64_t v;
        if (cli_s3_write_opt("copy", c, optarg, &s3w, &o, &rc)) {
            if (rc) {
                free(query_from_file);
                return rc;
            }
            continue;
        }
        switch (c) {
        case OPT_INCLUDE:
        case OPT_EXCLUDE:
            if ((rc = cli_rules_add(&rules, c == OPT_INCLUDE, optarg, "copy")) != 0)
                return rc;
            o.filter_rules = rules.v;
            o.n_filter_rules = rules.n;
            break;
        case OPT_MIN_AGE:
            if ((rc = cli_parse_age("copy", "--min-age", optarg, &o.min_age)) != 0)
                return rc;
            break;
        case OPT_MAX_AGE:
            if ((rc = cli_parse_age("copy", "--max-age", optarg, &o.max_age)) != 0)
                return rc;
            break;
        case OPT_IGNORE_EXISTING: o.ignore_existing = 1; break;
        case OPT_REPLACE: o.replace = 1; break;
        case OPT_QUERY: o.query = optarg; break;
        case OPT_QUERY_FILE:
            free(query_from_file);
            query_from_file = cli_read_text_file(optarg, &err);
            if (!query_from_file)
                return cli_fail(&err);
            o.query = query_from_file;
            break;
        case OPT_FORMAT:
            if (parse_format(optarg, &o.format) != 0)
                return cli_usage("copy", "unknown format '%s' (csv, tsv, jsonl, parquet)", optarg);
            break;
        case OPT_COMPRESS:
            if (parse_compress(optarg, &o.dst_compress) != 0)
                return cli_usage("copy", "unknown compression '%s' (gzip, zstd, none)", optarg);
            break;
        case OPT_DECOMPRESS:
            if (parse_compress(optarg, &o.src_compress) != 0)
                return cli_usage("copy", "unknown compression '%s' (gzip, zstd, none)", optarg);
            break;
        case OPT_LEVEL:
            v = cli_parse_long(optarg);
            if (v < 1 || v > 9)
                return cli_usage("copy", "--compress-level takes 1 to 9");
            o.compress_level = (int)v;
            break;
        case OPT_NO_HEADER: o.header = 0; break;
        case OPT_SPOOL:
            if (strcmp(optarg, "disk") == 0)
                o.spool = FERRY_SPOOL_DISK;
            else if (strcmp(optarg, "none") == 0 || strcmp(optarg, "memory") == 0)
                o.spool = FERRY_SPOOL_NONE;
            else
                return cli_usage("copy", "unknown spool mode '%s' (none, disk)", optarg);
            break;
        case OPT_S3_CONN: o.s3_conn = optarg; break;
        case OPT_CHUNK:
            v = cli_parse_size(optarg);
            if (v < 1 || v > (1 << 30))
                return cli_usage("copy", "bad --chunk-size '%s'", optarg);
            o.chunk_size = (size_t)v;
            break;
        case OPT_PART:
            v = cli_parse_size(optarg);
            if (v < 5 * 1024 * 1024 || v > 5LL * 1024 * 1024 * 1024)
                return cli_usage("copy", "--part-size must be between 5M and 5G (S3's limits)");
            o.s3_part_size = (size_t)v;
            break;
        case OPT_CONCURRENCY:
            v = cli_parse_long(optarg);
            if (v < 1 || v > 64)
                return cli_usage("copy", "--concurrency takes 1 to 64");
            o.s3_concurrency = (int)v;
            break;
        case OPT_RETRIES:
            if ((rc = cli_opt_retries("copy", optarg, &o.max_retries)) != 0)
                return rc;
            break;
        case OPT_TIMEOUT:
            if ((rc = cli_opt_timeout("copy", optarg, &o.timeout)) != 0)
                return rc;
            break;
        case OPT_CREATE: o.create_table = 1; break;
        case OPT_DRY_RUN: dry_run = 1; break;
        case OPT_NULL_STRING: o.null_string = optarg; break;
        case OPT_RECURSIVE: o.recursive = 1; break;
        case OPT_MOVE: o.move = 1; break;
        case OPT_METHOD: o.http_method = optarg; break;
        case OPT_DATA: o.http_data = optarg; break;
        case OPT_DATA_FILE: o.http_data_file = optarg; break;
        case OPT_HEADER:
            if (n_headers == MAX_HTTP_HEADERS)
                return cli_usage("copy", "at most %d --header options", MAX_HTTP_HEADERS);
            if (!strchr(optarg, ':'))
                return cli_usage("copy", "--header takes 'Name: value'");
            headers[n_headers++] = optarg;
            o.http_headers = headers;
            o.n_http_headers = n_headers;
            break;
        case OPT_PARALLEL:
            v = cli_parse_long(optarg);
            if (v < 1 || v > 64)
                return cli_usage("copy", "--parallel takes 1 to 64");
            o.parallel = (int)v;
            break;
        case OPT_SPLIT_BY: o.split_by = optarg; break;
        case OPT_SPLIT_OUTPUT: o.split_output = 1; break;
        case OPT_SPLIT_RANGE:
            if (parse_split_range(optarg, &o.split_lo, &o.split_hi) != 0)
                return cli_usage("copy", "--split-range takes LO:HI, two integers with LO <= HI (got '%s')", optarg);
            o.split_range_set = 1;
            break;
        case OPT_PARTITION: {
            char *slash = strchr(optarg, '/');
            long k = -1, n = -1;
            if (slash) {
                *slash = '\0';
                k = cli_parse_long(optarg);
                n = cli_parse_long(slash + 1);
                *slash = '/';
            }
            if (!slash || n < 1 || n > 100000 || k < 0 || k >= n)
                return cli_usage("copy", "--partition takes K/N with 0 <= K < N (got '%s')", optarg);
            o.partition_index = (int)k;
            o.partition_count = (int)n;
            break;
        }
        case OPT_COMPRESS_THREADS:
            v = cli_parse_long(optarg);
            if (v < 1 || v > 256)
                return cli_usage("copy", "--compress-threads takes 1 to 256");
            o.compress_threads = (int)v;
            break;
        case OPT_CHECKSUM:
            if (strcmp(optarg, "crc32c") && strcmp(optarg, "md5") && strcmp(optarg, "none"))
                return cli_usage("copy", "unknown checksum '%s' (crc32c, md5, none)", optarg);
            o.checksum = optarg;
            break;
        case OPT_UNSIGNED: o.s3_unsigned_payload = 1; break;
        case OPT_SIGNED: o.s3_unsigned_payload = 0; break;
        case OPT_MAX_MEMORY:
            if ((rc = cli_opt_max_memory("copy", optarg, &o.max_memory)) != 0)
                return rc;
            break;
        case OPT_RESUME: o.resume_file = optarg; break;
        case OPT_SSE_C_KEY: o.s3_sse_c_key_file = optarg; break;
        case OPT_SSE_C_COPY_SOURCE_KEY: o.s3_sse_c_copy_source_key_file = optarg; break;
        case OPT_TRANSFERS:
            if ((rc = cli_opt_transfers("copy", optarg, &o.transfers)) != 0)
                return rc;
            break;
        case OPT_STATS:
            stats_every = cli_parse_duration(optarg);
            if (stats_every < 0)
                return cli_usage("copy", "bad --stats '%s' (a duration: 30s, 1m, 0.5s; 0 = off)", optarg);
            break;
        case OPT_PROGRESS: force_progress = 1; break;
        case OPT_ROW_GROUP_SIZE:
            v = cli_parse_size(optarg);
            if (v < 64 * 1024)
                return cli_usage("copy", "bad --row-group-size '%s' (at least 64K)", optarg);
            o.parquet_row_group_size = (size_t)v;
            break;
        case 'q': cli.quiet = 1; break;
        case 'h':
            printf(copy_help, cli_many_help);
            free(query_from_file);
            return 0;
        default:
            if (cli_many_option(c, &o))
                break;
            free(query_from_file);
            return cli_usage("copy", "bad option");
        }
    }
    if (argc - optind != 2) {
        free(query_from_file);
        return cli_usage("copy", "needs SOURCE and DEST");
    }
    if ((rc = cli_s3_write_check("copy", &o)) != 0) {
        free(query_from_file);
        return rc;
    }
    int code = 0;
    char *src_x = cli_expand(argv[optind], FERRY_TEMPLATE_TEXT, &code);
    char *dst_x = src_x ? cli_expand(argv[optind + 1], FERRY_TEMPLATE_TEXT, &code) : NULL;
    char *query_x = NULL;
    if (dst_x && o.query) {
        query_x = cli_expand(o.query, cli_sql_mode(src_x), &code);
        o.query = query_x;
    }
    if (!src_x || !dst_x || (o.query && !query_x)) {
        free(src_x);
        free(dst_x);
        free(query_from_file);
        return code;
    }
    const char *src = src_x, *dst = dst_x;
    rc = run_copy(src, dst, &o);
    cli_rules_free(&rules);
    free(src_x);
    free(dst_x);
    free(query_x);
    free(query_from_file);
    return rc;
}

static int run_copy(const char *src, const char *dst, ferry_copy_options *op)
{
    ferry_copy_options o = *op;
    ferry_error err;
    ferry_error_clear(&err);
    int tty = isatty(STDERR_FILENO);
    line_on = force_progress || (!cli.quiet && !cli.json && tty);
    /* --stats D; else every 30 s into a log (not a terminal) at info or debug */
    double every = stats_every >= 0                                           ? stats_every
                   : !tty && !cli.quiet && cli.log_level >= FERRY_LOG_INFO ? 30
                                                                             : 0;
    cli_stats_start(every, line_on && tty);
    if (line_on || cli_stats_on())
        o.progress = on_progress;

    /* issue 14: a selection of many files runs through ferry_sync (cmd_sync.c) */
    int many = ferry_copy_is_many(src, &o);
    if (many && (o.n_filter_rules || o.min_age > 0 || o.max_age > 0 || o.ignore_existing))
        return cli_run_sync(src, dst, &o, dry_run ? FERRY_SYNC_DRY_RUN : 0);
    if (!many && (o.n_filter_rules || o.min_age > 0 || o.max_age > 0))
        return cli_usage("copy", "--include, --exclude, --min-age and --max-age select among many files (a glob, "
                                 "a directory or prefix ending in '/', or --recursive)");
    if (o.ignore_existing)
        o.replace = 0; /* one file: an existing DEST is left alone, below */
    if (dry_run && !many) {
        static char plan[65536];
        ferry_status dst_st = ferry_copy_describe(src, dst, &o, plan, sizeof plan, &err);
        fputs(plan, stdout);
        if (dst_st == FERRY_ERR_EXISTS && o.ignore_existing) {
            printf("--ignore-existing: DEST exists, so nothing would be copied (exit 0)\n");
            return 0;
        }
        return dst_st == FERRY_OK ? 0 : cli_fail(&err);
    }
    if (dry_run) {
        /* many files: list what would be copied, then probe DEST */
        printf("would copy every file matching %s into %s:\n", src, dst);
        int rc = cmd_ls_print(src, o.recursive);
        if (rc != 0)
            return rc;
        static char plan[8192];
        plan[0] = '\0';
        ferry_status dst_st = ferry_copy_describe_destination(dst, &o, plan, sizeof plan, &err);
        fputs(plan, stdout);
        return dst_st == FERRY_OK ? 0 : cli_fail(&err);
    }
    if (ferry_copy_is_many(src, &o))
        return copy_many(src, dst, &o);
    ferry_summary sum;
    ferry_status st = ferry_copy(src, dst, &o, &sum, &err);
    if (line_on)
        fputs("\r\033[K", stderr);
    if (st == FERRY_ERR_EXISTS && o.ignore_existing) {
        char shown[1024];
        snprintf(shown, sizeof shown, "%s", dst);
        ferry_scrub(shown, sizeof shown);
        if (!cli.quiet && !cli.json)
            fprintf(stderr, "ferry: skipped %s: the destination exists (--ignore-existing)\n", shown);
        if (cli.json)
            printf("{\"ok\":true,\"skipped\":true,\"reason\":\"the destination exists (--ignore-existing)\"}\n");
        return 0;
    }
    if (st != FERRY_OK) {
        if (err.status == FERRY_OK)
            err.status = st;
        return cli_fail(&err);
    }
    char shown_src[1024], shown_dst[1024];
    snprintf(shown_src, sizeof shown_src, "%s", src);
    snprintf(shown_dst, sizeof shown_dst, "%s", dst);
    ferry_scrub(shown_src, sizeof shown_src);
    ferry_scrub(shown_dst, sizeof shown_dst);
    print_summary(shown_src, shown_dst, &sum, strcmp(dst, "-") == 0);
    return 0;
}

/* `ferry cat ENDPOINT [--decompress [MODE]]`: copy ENDPOINT to stdout;
 * compressed data is passed through as it is unless --decompress is given.
 * MODE is copy's (gzip|zstd|none), as `--decompress MODE` or
 * `--decompress=MODE`; a bare --decompress (or -d) decompresses by the name's
 * extension (.gz, .zst), as it always did. */
static const char cat_help[] =
    "usage: ferry cat ENDPOINT [--decompress [gzip|zstd|none]] [--sse-c-key FILE]\n"
    "Writes ENDPOINT to stdout as stored; --decompress MODE decompresses it (a bare\n"
    "--decompress or -d: by the name's extension, .gz or .zst); --sse-c-key FILE reads\n"
    "an S3 object encrypted with that SSE-C customer key.\n";

int cmd_cat(int argc, char **argv)
{
    const char *target = NULL;
    ferry_compress decompress = FERRY_COMPRESS_NONE;
    ferry_compress mode;
    const char *sse_c_key = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--sse-c-key") == 0 || strncmp(argv[i], "--sse-c-key=", 12) == 0) {
            if (argv[i][11] == '=')
                sse_c_key = argv[i] + 12;
            else if (i + 1 < argc)
                sse_c_key = argv[++i];
            else
                return cli_usage("cat", "--sse-c-key needs a FILE");
        } else if (strncmp(argv[i], "--decompress=", 13) == 0) {
            if (parse_compress(argv[i] + 13, &decompress) != 0)
                return cli_usage("cat", "unknown compression '%s' (gzip, zstd, none)", argv[i] + 13);
        } else if (strcmp(argv[i], "--decompress") == 0 || strcmp(argv[i], "-d") == 0) {
            /* A following mode word is the value; anything else is the
             * endpoint (write ./gzip for a local file named gzip). */
            if (i + 1 < argc && parse_compress(argv[i + 1], &mode) == 0) {
                decompress = mode;
                i++;
            } else {
                decompress = FERRY_COMPRESS_AUTO;
            }
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(cat_help, stdout);
            return 0;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0')
            return cli_usage("cat", "unknown option '%s'", argv[i]);
        else if (!target)
            target = argv[i];
        else
            return cli_usage("cat", "takes one endpoint");
    }
    if (!target)
        return cli_usage("cat", "needs an endpoint");
    ferry_copy_options o;
    ferry_copy_options_init(&o);
    o.src_compress = decompress;
    o.s3_sse_c_key_file = sse_c_key;
    ferry_summary sum;
    ferry_error err;
    ferry_error_clear(&err);
    int code = 0;
    char *target_x = cli_expand(target, FERRY_TEMPLATE_TEXT, &code);
    if (!target_x)
        return code;
    ferry_status st = ferry_copy(target_x, "-", &o, &sum, &err);
    free(target_x);
    if (st != FERRY_OK)
        return cli_fail(&err);
    return 0;
}
