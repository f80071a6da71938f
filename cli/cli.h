/*
 * cli.h - shared pieces of the ferry command-line program: output of errors
 * and summaries, option helpers, and one entry point per verb.  The CLI uses
 * only libferry's public API.
 */
#ifndef FERRY_CLI_H
#define FERRY_CLI_H

#include <stdint.h>
#include "ferry/ferry.h"
#include "ferry/template.h"

typedef struct cli_globals {
    int quiet;
    int json;
    int log_json;
    ferry_log_level log_level;
} cli_globals;

extern cli_globals cli;

/* Expand Airflow template variables ({{ ds }} …) with the --logical-date,
 * --schedule and --param given anywhere on the command line. Returns a
 * malloc'd string or NULL after printing the error (*code gets the exit code). */
char *cli_expand(const char *text, ferry_template_mode mode, int *code);
/* The SQL quoting mode for an endpoint's connection (mysql or postgres). */
ferry_template_mode cli_sql_mode(const char *endpoint);

/* Nonzero when stdout is a pipe or socket whose reader went away (`| head`). */
int cli_stdout_reader_gone(void);
/* Print "ferry: error: <msg>" (or a JSON object with --json) and return the exit code;
 * a FERRY_ERR_IO once stdout's reader went away prints nothing and returns 0. */
int cli_fail(const ferry_error *err);
/* Usage error: prints the message and the verb's help hint; returns 2. */
int cli_usage(const char *verb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Parse "8M", "1MiB", "65536" into bytes; -1 on error. */
int64_t cli_parse_size(const char *s);
/* The one duration parser of every option that takes seconds (copy
 * --timeout, wait --timeout/--interval): "90", "1.5", "90s", "30m", "0.5h",
 * "1d" -> seconds; -1 on error (also beyond 1e9 s). */
double cli_parse_duration(const char *s);
/* Parse a whole non-negative number; -1 on error. */
long cli_parse_long(const char *s);
/* The transfer options copy and sync share, parsed and checked the same way
 * for both: 0 with *out set, or the usage error's exit code (printed). */
int cli_opt_retries(const char *verb, const char *arg, int *out);      /* --retries N: attempts, 1..100 */
int cli_opt_timeout(const char *verb, const char *arg, double *out);   /* --timeout D: a duration > 0 */
int cli_opt_max_memory(const char *verb, const char *arg, size_t *out);/* --max-memory SIZE: at least 1M */
int cli_opt_transfers(const char *verb, const char *arg, int *out);    /* --transfers N: 1..64 */
/* The S3 write-attribute options of copy and sync (cli/s3_write_opts.c):
 * the getopt entries and the --help lines, in both verbs' tables. */
enum {
    CLI_OPT_SSE = 1000, CLI_OPT_SSE_KMS_KEY_ID, CLI_OPT_SSE_BUCKET_KEY, CLI_OPT_STORAGE_CLASS,
    CLI_OPT_CONTENT_TYPE, CLI_OPT_CONTENT_ENCODING, CLI_OPT_METADATA, CLI_OPT_TAGS, CLI_OPT_ACL,
    CLI_OPT_REQUESTER_PAYS
};
#define CLI_S3_WRITE_LONGOPTS                                                                        \
    {"sse", required_argument, NULL, CLI_OPT_SSE},                                                   \
    {"sse-kms-key-id", required_argument, NULL, CLI_OPT_SSE_KMS_KEY_ID},                             \
    {"sse-bucket-key", no_argument, NULL, CLI_OPT_SSE_BUCKET_KEY},                                   \
    {"storage-class", required_argument, NULL, CLI_OPT_STORAGE_CLASS},                               \
    {"content-type", required_argument, NULL, CLI_OPT_CONTENT_TYPE},                                 \
    {"content-encoding", required_argument, NULL, CLI_OPT_CONTENT_ENCODING},                         \
    {"metadata", required_argument, NULL, CLI_OPT_METADATA},                                         \
    {"tags", required_argument, NULL, CLI_OPT_TAGS},                                                 \
    {"acl", required_argument, NULL, CLI_OPT_ACL},                                                   \
    {"requester-pays", no_argument, NULL, CLI_OPT_REQUESTER_PAYS}
#define CLI_S3_WRITE_HELP                                                                            \
    "  --sse AES256|aws:kms    S3 destination: server-side encryption (SSE-S3 or SSE-KMS)\n"         \
    "  --sse-kms-key-id ID     S3: the KMS key of --sse aws:kms (default: the account's)\n"        \
    "  --sse-bucket-key        S3: use an S3 Bucket Key for --sse aws:kms\n"                        \
    "  --storage-class CLASS   S3: STANDARD, STANDARD_IA, ONEZONE_IA, INTELLIGENT_TIERING,\n"       \
    "                          GLACIER_IR, GLACIER, DEEP_ARCHIVE, REDUCED_REDUNDANCY, ...\n"        \
    "  --content-type TYPE     S3: the object's Content-Type (default: from DEST's extension,\n"   \
    "                          .csv text/csv, .jsonl application/x-ndjson, .gz application/gzip\n" \
    "                          ...; else application/octet-stream)\n"                              \
    "  --content-encoding ENC  S3: the object's Content-Encoding (gzip: a .csv.gz is then\n"       \
    "                          text/csv)\n"                                                        \
    "  --metadata KEY=VALUE    S3: user metadata x-amz-meta-KEY (repeatable)\n"                   \
    "  --tags KEY=VALUE        S3: object tag (repeatable, at most 10)\n"                           \
    "  --acl CANNED            S3: canned ACL, e.g. bucket-owner-full-control, private\n"          \
    "  --requester-pays        S3: the requester pays (x-amz-request-payer on every request)\n"    \
    "                          Server-side copies keep the source's metadata and tags unless\n"   \
    "                          --metadata, --content-type, --content-encoding or --tags is given\n"
#define CLI_MAX_S3_METADATA 64
#define CLI_MAX_S3_TAGS 16
typedef struct cli_s3_write {
    const char *meta[CLI_MAX_S3_METADATA];
    size_t nmeta;
    const char *tags[CLI_MAX_S3_TAGS];
    size_t ntags;
} cli_s3_write;
/* 1 when c is one of those options (o updated; *rc 0, or the usage error's
 * code, printed); 0 when it is none of them. */
int cli_s3_write_opt(const char *verb, int c, const char *arg, cli_s3_write *w, ferry_copy_options *o, int *rc);
/* After parsing: 0, or 2 with the message naming the bad option. */
int cli_s3_write_check(const char *verb, const ferry_copy_options *o);
/* Read a whole (small) file such as --query-file into a malloc'd string. */
char *cli_read_text_file(const char *path, ferry_error *err);
/* Append a JSON string literal (escaped) to out. */
void cli_json_string(FILE *out, const char *s);

/* copy --stats (cli/stats.c): start counting now, one line every `every`
 * seconds (0 = off); progress_line_on: the TTY progress line shares stderr. */
void cli_stats_start(double every, int progress_line_on);
int cli_stats_on(void);
/* From the transfer's progress callback (any thread): print a line when due. */
void cli_stats_progress(int64_t bytes, int64_t rows, int64_t total, double seconds);

int cmd_copy(int argc, char **argv);
int cmd_conn(int argc, char **argv);
int cmd_exec(int argc, char **argv);
int cmd_ls(int argc, char **argv);
/* Print a listing of endpoint (one name a line); returns the exit code. */
int cmd_ls_print(const char *endpoint, int recursive);
int cmd_cat(int argc, char **argv);
int cmd_rm(int argc, char **argv);
int cmd_mkdir(int argc, char **argv);
int cmd_wait(int argc, char **argv);
/* `ferry manifest DEST` (cmd_manifest.c). */
int cmd_manifest(int argc, char **argv);
/* `ferry completion bash|zsh` (cmd_completion.c). */
int cmd_completion(int argc, char **argv);
/* Run the command argv[0] (as `ferry ARGV...` after the global options). */
int cli_dispatch(int argc, char **argv);
/* `ferry sync SOURCE DEST` (cmd_sync.c). */
int cmd_sync(int argc, char **argv);

/* --include/--exclude rules in the order given, as ferry_copy_options.filter_rules
 * wants them ("+ GLOB" / "- GLOB", owned: cli_rules_free). */
#define CLI_MAX_RULES 256
typedef struct cli_rules {
    const char *v[CLI_MAX_RULES];
    size_t n;
} cli_rules;
/* 0, or the usage error's exit code (printed). */
int cli_rules_add(cli_rules *r, int include, const char *glob, const char *verb);
void cli_rules_free(cli_rules *r);
/* --min-age / --max-age D into *out seconds: 0, or the usage error's code. */
int cli_parse_age(const char *verb, const char *opt, const char *text, double *out);
/* The options every multi-file command shares (cli/many.c): codes above
 * any verb's own, the getopt entries (CLI_MANY_OPTIONS, for a struct option
 * table), their help lines, and the parser: 1 when c was one of them (o or
 * cli.json set), else 0. */
enum { CLI_OPT_FAIL_FAST = 0x4000, CLI_OPT_SKIP_UNSAFE, CLI_OPT_CASE_INSENSITIVE, CLI_OPT_JSON };
#define CLI_MANY_OPTIONS                                                                                     \
    {"fail-fast", no_argument, NULL, CLI_OPT_FAIL_FAST},                                                     \
        {"skip-unsafe-names", no_argument, NULL, CLI_OPT_SKIP_UNSAFE},                                       \
        {"case-insensitive", no_argument, NULL, CLI_OPT_CASE_INSENSITIVE}, {"json", no_argument, NULL, CLI_OPT_JSON}
extern const char cli_many_help[];
int cli_many_option(int c, ferry_copy_options *o);
/* One file's result of a multi-file command, as copy and sync print it: a
 * line on stdout (ok/FAIL/del/skip, or the dry run's plan), or one JSON
 * record with --json (ok, status, action, dry_run, name, source,
 * destination, reason, bytes, bytes_read, bytes_written, seconds, error).
 * Borrowed pointers; name, src, reason, sum, err may be NULL. */
typedef struct cli_file_result {
    ferry_sync_action action;
    const char *name;           /* relative to SOURCE/DEST */
    const char *src, *dst;
    ferry_status status;
    const ferry_summary *sum;
    const ferry_error *err;     /* when status != FERRY_OK */
    const char *reason;
    int dry_run;
} cli_file_result;
void cli_print_file(const cli_file_result *r);

/* Run ferry_sync (flags FERRY_SYNC_*) printing one line or JSON record per
 * file and the counts; returns the exit code.  Used by sync and by copy of
 * many files with a selection. */
int cli_run_sync(const char *src, const char *dst, const ferry_copy_options *o, unsigned flags);

#endif
