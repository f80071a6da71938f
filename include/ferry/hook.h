/*
 * ferry/hook.h - the table of function pointers that makes an external system
 * a ferry hook (curl's Curl_handler, SQLite's io_methods).
 *
 * One hook = one file (or folder) under hooks/ and one const ferry_hook; a slot
 * the system cannot do is NULL, and flags say what the system is (SQL, URL,
 * keys in buckets): shared code asks slots and flags, never a hook's name or
 * address.  The table is versioned by its size (see Versioning).  The registry (ferry_hook_register) maps
 * connection types to hooks; a program may register hooks of its own (see
 * examples/c/custom_hook.c).
 */
#ifndef FERRY_HOOK_H
#define FERRY_HOOK_H

#include <stddef.h>
#include <stdint.h>
#include "ferry/conn.h"
#include "ferry/error.h"
#include "ferry/stream.h"
#include "ferry/typed.h"
#include "ferry/export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ferry_hook ferry_hook;

typedef enum ferry_format {
    FERRY_FORMAT_AUTO = 0,  /* from the endpoint names, csv when nothing says */
    FERRY_FORMAT_CSV,
    FERRY_FORMAT_TSV,
    FERRY_FORMAT_JSONL,
    FERRY_FORMAT_RAW,       /* bytes as they are (only between file-like endpoints) */
    FERRY_FORMAT_PARQUET    /* Apache Parquet: written from a typed source (open_typed_source) */
} ferry_format;

typedef enum ferry_compress {
    FERRY_COMPRESS_AUTO = 0, /* ".gz" in the name means gzip */
    FERRY_COMPRESS_NONE,
    FERRY_COMPRESS_GZIP,
    FERRY_COMPRESS_ZSTD,     /* ".zst" in the name (libzstd) */
    FERRY_COMPRESS_SNAPPY    /* Parquet pages only (libsnappy): never a whole file */
} ferry_compress;

typedef enum ferry_spool {
    FERRY_SPOOL_NONE = 0,   /* stream end to end (default) */
    FERRY_SPOOL_DISK        /* source -> temp file in TMPDIR, then temp file -> sink */
} ferry_spool;

typedef enum ferry_endpoint_kind {
    FERRY_EP_STDIO,         /* "-" */
    FERRY_EP_LOCAL,         /* a local path or file://path */
    FERRY_EP_S3,            /* s3://bucket/key (the syntax only: what the system does
                               comes from its hook's flags and slots) */
    FERRY_EP_CONN           /* CONN_ID:PATH or an inline scheme://… connection */
} ferry_endpoint_kind;

/* Options of a copy. Initialise with ferry_copy_options_init; strings are
 * borrowed for the duration of the call.
 *
 * Growing without breaking callers: struct_size is set by
 * ferry_copy_options_init (an inline function: the sizeof of the struct the
 * caller was compiled with).  Rules:
 *  - fields are only ever appended at the end, never removed, reordered or
 *    retyped; a new field's zero value or its default from init means
 *    "behave as before the field existed";
 *  - the library reads a caller's struct only up to struct_size: the
 *    transfer entry points (ferry_copy, ferry_copy_endpoints, ferry_copy_many,
 *    ferry_copy_describe) take a copy of the first struct_size bytes over the
 *    defaults, so fields a program built against an older header does not
 *    know get their defaults; the other calls taking options
 *    (ferry_endpoint_parse, ferry_compress_writer_new, ferry_pump, ferry_s3_*)
 *    read only fields below FERRY_COPY_OPTIONS_MIN_SIZE, or take a copy first;
 *  - struct_size below FERRY_COPY_OPTIONS_MIN_SIZE (the layout of the first
 *    release with the field; also an uninitialised struct) or above what the
 *    linked library knows (a program built against a newer header) is
 *    FERRY_ERR_USAGE, before anything is touched;
 *  - copying a struct (o2 = *o) keeps its struct_size; hooks are handed the
 *    library's own full-size copy. */
typedef struct ferry_copy_options {
    size_t struct_size;         /* sizeof(ferry_copy_options) the caller was built with (set by init) */
    int replace;                /* replace an existing destination atomically */
    ferry_spool spool;
    ferry_format format;        /* forced format; AUTO = inferred */
    ferry_compress src_compress;/* forced for the source; AUTO = inferred from its name */
    ferry_compress dst_compress;/* forced for the destination; AUTO = inferred */
    int compress_level;         /* gzip level 1..9, default 6 */
    int header;                 /* csv/tsv: first row holds column names (default 1) */
    const char *query;          /* SQL source: the query (instead of a table) */
    const char *s3_conn;        /* connection id for s3:// endpoints (default aws_default) */
    size_t chunk_size;          /* transfer chunk, default 1 MiB */
    size_t s3_part_size;        /* S3 multipart part size, default 8 MiB */
    int s3_concurrency;         /* S3 parts in flight, default 4 */
    int max_retries;            /* attempts for transient errors, default 5 */
    double timeout;             /* seconds without progress before a call fails, default 300 */
    int create_table;           /* SQL sinks: create a missing table from the source's columns */
    const ferry_column *columns;/* set by the transfer for sinks when create_table is asked and the
                                   source knows its columns (borrowed from the source), else NULL */
    size_t n_columns;
    const char *null_string;    /* csv/tsv text written for SQL NULL (default: empty unquoted field) */
    int recursive;              /* multi-file copies: descend into sub-directories */
    int move;                   /* delete each source file once its destination committed */
    /* HTTP sources and sinks */
    const char *http_method;    /* default GET for sources, PUT for sinks */
    const char *http_data;      /* request body for a source request (POST data) */
    const char *http_data_file; /* request body from a file */
    const char *const *http_headers; /* "Name: value" strings, n_http_headers of them */
    size_t n_http_headers;
    /* Speed and scale-out (issue #8). */
    int parallel;               /* SQL sources: sessions extracting ranges at once (--parallel N),
                                   0/1 = one session */
    const char *split_by;       /* SQL sources: integer column to split ranges by (--split-by);
                                   NULL = Postgres ctid page ranges / MySQL primary key */
    int split_output;           /* write one object/file per range (DEST is a prefix/dir) */
    int partition_index;        /* --partition k/N: run only range k (0-based, as
                                   $JOB_COMPLETION_INDEX and Airflow's map_index) ... */
    int partition_count;        /* ... of N; 0 = no partitioning */
    int split_range_set;        /* --split-range LO:HI: cut [split_lo, split_hi] (the key's values,
                                   or ctid pages) instead of what the source holds now, so the
                                   --partition runs of different machines and times cut the same
                                   ranges; the first range stays open below, the last above */
    int64_t split_lo, split_hi;
    int compress_threads;       /* gzip/zstd worker threads (each part its own member);
                                   0 = auto (online cores), 1 = inline on the caller's thread */
    const char *checksum;       /* S3 per-part checksum: "crc32c", "md5", "none";
                                   NULL = auto (crc32c on AWS; elsewhere md5 when the
                                   payload is unsigned, none when it is signed) */
    int s3_unsigned_payload;    /* -1 auto (UNSIGNED-PAYLOAD over https only), 0 sign, 1 unsigned */
    size_t max_memory;          /* hard bound on all transfer buffers in bytes; 0 = default */
    size_t compress_block;      /* parallel gzip member / zstd job size; 0 = 8 MiB (the
                                   --max-memory budget may lower it) */
    const char *resume_file;    /* --resume: state file of an interrupted multipart upload
                                   (created/updated while uploading, removed on success);
                                   NULL = no resume */
    /* progress callback (may be NULL), called at most every 200 ms */
    void (*progress)(int64_t bytes, int64_t rows, int64_t total, double seconds, void *ud);
    void *progress_ud;
    /* Cancellation of this transfer (ferry/cancel.h): borrowed, may be NULL
     * (then only the process-wide token and the thread's current one apply).
     * Requesting it aborts this copy with FERRY_ERR_INTERRUPTED and no other. */
    ferry_cancel_token *cancel;
    /* Multi-file copies (ferry_copy_many, issue 14). */
    int transfers;              /* files in flight at once (--transfers); 0 = the default, 8 */
    int fail_fast;              /* stop taking new files at the first failure (--fail-fast);
                                   files in flight finish */
    int skip_unsafe_names;      /* a listed name without a safe destination name is a warning
                                   (skipped) instead of a failed file (--skip-unsafe-names) */
    int64_t source_size;        /* bytes the source holds when known in advance (a multi-file
                                   copy fills it from the listing), -1 unknown (the default):
                                   a sink may then take a one-request path (S3 PutObject)
                                   and size its buffers to it; more data than that still
                                   works, the slow way */
    /* Which files a multi-file copy or a sync takes (issue 14, transfer/filter.c).
     * filter_rules: rclone's rules, each "+ GLOB" (--include) or "- GLOB"
     * (--exclude), tried in this order on the name relative to the listed
     * directory, the first match deciding; any include rule ends the list with
     * an implied "- **".  Borrowed; n_filter_rules of them. */
    const char *const *filter_rules;
    size_t n_filter_rules;
    double min_age;             /* seconds: skip files modified more recently (--min-age); 0 = off */
    double max_age;             /* seconds: skip files modified longer ago (--max-age); 0 = off */
    int ignore_existing;        /* multi-file copies: skip files present at the destination
                                   (--ignore-existing) instead of failing them with
                                   FERRY_ERR_EXISTS; a single ferry_copy still fails */
    /* Parquet (issue 15): compressed bytes a row group holds while it is built
     * (--row-group-size); 0 = 32 MiB. */
    size_t parquet_row_group_size;
    /* S3 SSE-C (issue 16, hooks/s3/s3_ssec.h): files holding a customer key
     * (exactly 32 raw bytes, or 44 characters of base64 of 32 bytes): the key
     * of the S3 objects written and read (--sse-c-key), and of a copy's S3
     * source (--sse-c-copy-source-key; "none" = the source is not SSE-C;
     * NULL = the same key).  Borrowed; NULL = the connection's extras. */
    const char *s3_sse_c_key_file;
    const char *s3_sse_c_copy_source_key_file;
    /* S3 write attributes (issue 16, hooks/s3/s3_attrs.c): sent with PutObject,
     * CreateMultipartUpload and server-side copies.  NULL / 0 = not asked: the
     * connection's extra_args, else the server's default (the content type: from
     * the destination's name).  Strings borrowed; invalid values FERRY_ERR_USAGE. */
    const char *s3_sse;               /* "AES256" or "aws:kms" (--sse) */
    const char *s3_sse_kms_key_id;    /* with aws:kms (--sse-kms-key-id) */
    int s3_sse_bucket_key;            /* 1: S3 Bucket Key for SSE-KMS (--sse-bucket-key) */
    const char *s3_storage_class;     /* STANDARD, STANDARD_IA, ... (--storage-class) */
    const char *s3_content_type;      /* --content-type; NULL = from the name's extension */
    const char *s3_content_encoding;  /* --content-encoding */
    const char *const *s3_metadata;   /* "key=value" user metadata (--metadata), n_s3_metadata */
    size_t n_s3_metadata;
    const char *const *s3_tags;       /* "key=value" object tags (--tags), n_s3_tags */
    size_t n_s3_tags;
    const char *s3_acl;               /* canned ACL (--acl), e.g. bucket-owner-full-control */
    int s3_requester_pays;            /* 1: x-amz-request-payer: requester on every request */
    /* Multi-file copies and syncs (issue 14): DEST folds case (a Windows or
     * macOS share, FAT): two source names equal but for ASCII case are one
     * destination name, so the second is a collision (a failed file, or a
     * warning with skip_unsafe_names), and a sync compares names without
     * case (--case-insensitive).  Exact collisions are found either way. */
    int case_insensitive;
    /* New fields go here (see the rules above). */
} ferry_copy_options;

/* The smallest struct_size the library accepts: the layout up to `cancel`. */
#define FERRY_COPY_OPTIONS_MIN_SIZE (offsetof(ferry_copy_options, cancel) + sizeof(ferry_cancel_token *))

/* Defaults into the first size bytes of *o (the rest of a larger struct is
 * zeroed) and o->struct_size = size.  Call it through ferry_copy_options_init. */
FERRY_API void ferry_copy_options_init_size(ferry_copy_options *o, size_t size);

static inline void ferry_copy_options_init(ferry_copy_options *o)
{
    ferry_copy_options_init_size(o, sizeof *o);
}

/* A parsed endpoint. Owned by whoever got it from ferry_endpoint_parse;
 * released with ferry_endpoint_free. */
typedef struct ferry_endpoint {
    ferry_endpoint_kind kind;
    char *text;                 /* as given by the user (may hold an inline password:
                                   display with ferry_endpoint_display) */
    const ferry_hook *hook;     /* borrowed from the registry */
    ferry_conn *conn;           /* owned; NULL for stdio and local */
    char *path;                 /* owned: table / key / path / URL part; "" when none */
    ferry_compress compress;    /* what the data at this endpoint is (resolved) */
    ferry_format format;        /* from the name's extension; AUTO when it says nothing */
} ferry_endpoint;

/* Parse "-", "file://p", "p", "s3://b/k", "CONN_ID:PATH", "postgresql://…" etc.
 * The connection of a CONN endpoint is resolved at once (FERRY_ERR_CONFIG if
 * undefined).  o supplies s3_conn and forced compression; may be NULL. */
FERRY_API ferry_status ferry_endpoint_parse(const char *text, const ferry_copy_options *o, int is_dest,
                                            ferry_endpoint **out, ferry_error *err);
FERRY_API void ferry_endpoint_free(ferry_endpoint *ep);
/* The endpoint text with any password replaced by *** (static per-thread buffer). */
FERRY_API const char *ferry_endpoint_display(const ferry_endpoint *ep, char *buf, size_t cap);
/* The connection id to show in messages ("" for local/stdio, "inline" for a URI). */
FERRY_API const char *ferry_endpoint_conn_id(const ferry_endpoint *ep);

/* One entry of a listing or a stat. name is borrowed for the callback only. */
typedef struct ferry_entry {
    const char *name;           /* key / path relative to what was listed, or full */
    int64_t size;               /* -1 when unknown */
    int64_t mtime;              /* unix seconds, -1 when unknown */
    int is_dir;
} ferry_entry;

typedef ferry_status (*ferry_entry_fn)(const ferry_entry *e, void *ud, ferry_error *err);

/* How exec writes the rows of the last statement into out. */
typedef enum ferry_exec_format {
    FERRY_EXEC_CSV = 0,     /* CSV with a header; NULL an empty unquoted field, '' as "" */
    FERRY_EXEC_JSON,        /* [{"col":"value"|null,...},...] and '\n': every value a string,
                               SQL NULL null; "[]" when the statement returned no rows */
    FERRY_EXEC_JSON_TYPED   /* the same, numeric columns as numbers, booleans true/false */
} ferry_exec_format;

/* What a hook's exec gets: statements run in one transaction unless autocommit;
 * the rows of the last statement go into out in the format asked when out is
 * not NULL. */
typedef struct ferry_exec_options {
    int autocommit;
    ferry_writer *out;          /* borrowed; may be NULL */
    int64_t rows_affected;      /* filled: rows of the last statement, -1 unknown */
    ferry_exec_format format;   /* of out; FERRY_EXEC_CSV (0) unless set */
} ferry_exec_options;

/*
 * Capability flags (ferry_hook.flags): what a system is, for the shared code
 * that would otherwise ask for it by name.  What a system can do that needs
 * code of its own is a slot instead (non-NULL = can): open_range_sources,
 * open_ranged_sink, server_copy, remove_batch, memory, set_mtime.
 */
#define FERRY_HOOK_SQL        (1u << 0) /* tables and queries: the path names a table ("" with
                                           o->query); rows, so no compression or format is read
                                           off the path; exec runs SQL (`wait --sql`), and
                                           --query/--parallel/--partition are for it */
#define FERRY_HOOK_SQL_BACKSLASH (1u << 1) /* SQL string literals take backslash escapes
                                           (MySQL): templates quote values that way */
#define FERRY_HOOK_SNAPSHOT   (1u << 2) /* open_range_sources: every range reads one snapshot,
                                           always (Postgres' exported snapshot) */
#define FERRY_HOOK_URL        (1u << 3) /* the path is a whole URL (HTTP): its name ends before
                                           '?' or '#'; a sensor waits for the URL to answer 2xx
                                           (and its body to match) instead of stat or list */
#define FERRY_HOOK_FLAT_KEYS  (1u << 4) /* keys in buckets ("bucket/a/b", S3): '/' is only part
                                           of a key, so a bucket alone names every key in it,
                                           and a sensor on "prefix/" is met by a key at any
                                           depth (listed recursively) */
#define FERRY_HOOK_RESUME     (1u << 5) /* the sink continues an interrupted upload from the
                                           state file o->resume_file (--resume) */

/* Most names one remove_batch call gets. */
#define FERRY_HOOK_REMOVE_BATCH_MAX 1000

/*
 * Versioning.  A hook table starts with its own size: FERRY_HOOK_INIT sets
 * struct_size to sizeof(ferry_hook) of the header the hook is built with,
 *
 *     static const ferry_hook my_hook = { FERRY_HOOK_INIT, .name = "my", ... };
 *
 * so a hook built against an older header (a shorter table) keeps working
 * with a newer libferry: the slots it never heard of are past its
 * struct_size and count as NULL.  The rules:
 *   - every slot before FERRY_HOOK_SIZE_MIN (struct_size .. test) is always
 *     there: ferry_hook_register refuses a table shorter than that;
 *   - a slot at or past FERRY_HOOK_SIZE_MIN is read only through
 *     FERRY_HOOK_SLOT(h, slot), which is NULL when the table ends before it;
 *   - new slots are appended at the end; none is ever moved or removed;
 *     new flags take new bits (a hook that predates one leaves it clear).
 * A table with struct_size 0 (FERRY_HOOK_INIT forgotten) is refused.
 */
struct ferry_hook {
    size_t struct_size;                 /* FERRY_HOOK_INIT: sizeof(ferry_hook) when built */
    unsigned flags;                     /* FERRY_HOOK_* above */
    const char *name;                   /* system name in messages: "postgres", "s3" (shared
                                           code never decides by it) */
    const char *const *conn_types;      /* NULL-terminated connection types it serves */
    /* Open a reader of the endpoint's data in o->format (already resolved). */
    ferry_status (*open_source)(const ferry_endpoint *ep, const ferry_copy_options *o,
                                ferry_source **out, ferry_error *err);
    /* Open a sink. Without o->replace an existing destination is FERRY_ERR_EXISTS,
     * detected here when possible so nothing is read. */
    ferry_status (*open_sink)(const ferry_endpoint *ep, const ferry_copy_options *o,
                              ferry_writer **out, ferry_error *err);
    /* FERRY_ERR_NOT_FOUND when absent. */
    ferry_status (*stat)(const ferry_endpoint *ep, ferry_entry *out, ferry_error *err);
    ferry_status (*list)(const ferry_endpoint *ep, int recursive, ferry_entry_fn fn, void *ud,
                         ferry_error *err);
    ferry_status (*remove)(const ferry_endpoint *ep, ferry_error *err);
    /* Create a directory (with parents when asked); SFTP and local. */
    ferry_status (*mkdir)(const ferry_endpoint *ep, int parents, ferry_error *err);
    ferry_status (*exec)(const ferry_conn *conn, const char *sql, ferry_exec_options *eo,
                         ferry_error *err);
    /* Connect, authenticate, report in info (e.g. server version); no data moved. */
    ferry_status (*test)(const ferry_conn *conn, char *info, size_t cap, ferry_error *err);

    /* ---- optional slots: read with FERRY_HOOK_SLOT (see Versioning) ---- */

    /* One destination fed by n writers at once (the ranges of a parallel
     * extraction), whose bytes appear in range order.  See
     * ferry_ranged_sink in ferry/stream.h. */
    ferry_status (*open_ranged_sink)(const ferry_endpoint *ep, const ferry_copy_options *o, int n,
                                     ferry_ranged_sink **out, ferry_error *err);
    /* (issue #8, transfer/parallel.c): sources for ranges first ..
     * first+count-1 of n ranges of a SQL endpoint's rows (cut by o->split_by,
     * or the system's default), each reading over its own session, all from
     * one snapshot where the system can give one.  Every COPY/SELECT has
     * started when this returns.  out[i] (owned by the caller, ops->free) is
     * range first+i; bounds[i] gets a malloc'd JSON object describing the
     * range (caller frees).  Header (csv/tsv): range 0 only, unless
     * o->split_output or o->partition_count (then every range). */
    ferry_status (*open_range_sources)(const ferry_endpoint *ep, const ferry_copy_options *o, int n,
                                       int first, int count, ferry_source **out, char **bounds,
                                       ferry_error *err);
    /* With open_range_sources: how the ranges are cut without o->split_by,
     * as `copy --dry-run` says it ("ctid page ranges", "the primary key");
     * NULL = "the source's default split". */
    const char *split_default;
    /* Copy src's bytes to dst inside the system, never through ferry (S3
     * CopyObject).  Asked by ferry_copy when both ends hold the same bytes
     * (same compression, no spool); the hook decides whether it can copy
     * between these two endpoints (its own kind, one connection): when not,
     * it sets *copied = 0 and returns FERRY_OK, and the copy streams.  On a
     * copy, *copied = 1 and *bytes = the bytes copied (-1 unknown). */
    ferry_status (*server_copy)(const ferry_endpoint *src, const ferry_endpoint *dst,
                                const ferry_copy_options *o, int *copied, int64_t *bytes,
                                ferry_error *err);
    /* Remove n (1 .. FERRY_HOOK_REMOVE_BATCH_MAX) entries named relative to
     * the listed directory/prefix dir in as few requests as the system takes
     * (S3 DeleteObjects); *removed counts what is gone, also on failure. */
    ferry_status (*remove_batch)(const ferry_endpoint *dir, const char *const *names, size_t n,
                                 size_t *removed, ferry_error *err);
    /* The bytes the hook's source (is_sink 0) or sink (is_sink 1) of ep
     * buffers with options o, for --max-memory (transfer/budget.c).  *parts
     * (0 when none) is the share that is parts in flight,
     * o->s3_concurrency x o->s3_part_size, which the budget lowers first, the
     * part size not below *min_part; the return value is the rest
     * (read-ahead rings, sink buffers).  NULL: nothing worth counting. */
    size_t (*memory)(const ferry_endpoint *ep, int is_sink, const ferry_copy_options *o, size_t *parts,
                     size_t *min_part);
    /* Set the modification time (unix seconds) of the file ep names, after a
     * copy committed it, so a later sync finds source and destination equal
     * (issue 14, transfer/sync.c).  NULL: the system keeps a time of its own
     * (S3's LastModified is the upload's time). */
    ferry_status (*set_mtime)(const ferry_endpoint *ep, int64_t mtime, ferry_error *err);
    /* Typed rows (ferry/typed.h): the endpoint's rows as column batches with
     * their logical types, for format writers that keep types (Parquet).
     * *out owned by the caller (ops->free).  NULL: the system gives bytes only. */
    ferry_status (*open_typed_source)(const ferry_endpoint *ep, const ferry_copy_options *o,
                                      ferry_typed_source **out, ferry_error *err);
};

/* Begins every hook table's initialiser (see Versioning above). */
#define FERRY_HOOK_INIT .struct_size = sizeof(ferry_hook)
/* The size every table has at least: struct_size .. test. */
#define FERRY_HOOK_SIZE_MIN offsetof(ferry_hook, open_ranged_sink)
/* Whether table h is long enough to hold slot (h is evaluated more than once). */
#define FERRY_HOOK_HAS(h, slot) ((h)->struct_size >= offsetof(ferry_hook, slot) + sizeof (h)->slot)
/* Optional slot `slot` of table h (a pointer), NULL when h ends before it. */
#define FERRY_HOOK_SLOT(h, slot) (FERRY_HOOK_HAS(h, slot) ? (h)->slot : NULL)

/* The registry. Built-in hooks are registered on first use; hooks registered
 * later take precedence for their connection types. The table is borrowed and
 * must outlive every use (normally a static const).  FERRY_ERR_USAGE (the
 * table is not taken) when it has no name, its struct_size is below
 * FERRY_HOOK_SIZE_MIN, or 32 hooks are registered already. */
FERRY_API ferry_status ferry_hook_register(const ferry_hook *hook);
FERRY_API const ferry_hook *ferry_hook_for_type(const char *conn_type);
FERRY_API const ferry_hook *ferry_hook_by_name(const char *name);

/* The built-in hooks (rows of core/registry.c). */
FERRY_API extern const ferry_hook ferry_hook_local;
FERRY_API extern const ferry_hook ferry_hook_stdio;
FERRY_API extern const ferry_hook ferry_hook_postgres;
FERRY_API extern const ferry_hook ferry_hook_mysql;
FERRY_API extern const ferry_hook ferry_hook_s3;
FERRY_API extern const ferry_hook ferry_hook_sftp;
FERRY_API extern const ferry_hook ferry_hook_http;

#ifdef __cplusplus
}
#endif
#endif
