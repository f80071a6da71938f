/*
 * hooks/s3/s3_attrs.h - the attributes an S3 write carries (issue 16 item 5):
 * server-side encryption (SSE-S3 / SSE-KMS), storage class, content type and
 * encoding, user metadata, tags, canned ACL and requester pays.  Resolved
 * once per destination from ferry_copy_options (the CLI) over the
 * connection's extra_args, validated, and turned into the request headers of
 * each kind of write.  SSE-C is hooks/s3/s3_ssec.c, next to this.
 *
 * Internal to hooks/s3 (tests include it).
 */
#ifndef FERRY_HOOKS_S3_ATTRS_H
#define FERRY_HOOKS_S3_ATTRS_H

#include <stddef.h>

#include "ferry/conn.h"
#include "ferry/error.h"
#include "ferry/hook.h"
#include "hooks/s3/sigv4.h"

#define S3_MAX_TAGS 10            /* S3's limit per object */
#define S3_MAX_METADATA_BYTES 2048 /* S3's limit of user metadata (names + values) */

/* Which request the headers are for. */
typedef enum ferry_s3_put_kind {
    FERRY_S3_PUT_OBJECT = 0,  /* PutObject and CreateMultipartUpload of an upload */
    FERRY_S3_PUT_COPY,        /* CopyObject: metadata/tagging directives COPY or REPLACE */
    FERRY_S3_PUT_COPY_CREATE, /* CreateMultipartUpload of a multipart server-side copy */
    FERRY_S3_PUT_KINDS
} ferry_s3_put_kind;

/* The resolved attributes.  Zero it, then ferry_s3_put_attrs_load; every
 * string is owned and released by ferry_s3_put_attrs_release. */
typedef struct ferry_s3_put_attrs {
    char *sse;              /* "AES256" / "aws:kms" or NULL */
    char *kms_key_id;
    int bucket_key;
    char *storage_class;
    char *content_type;     /* as asked, or from the key's extension */
    int content_type_given; /* asked (--content-type / extra_args), not derived */
    char *content_encoding;
    char *acl;
    char *tagging;          /* "k=v&k2=v2", URL-encoded; NULL = no tags asked */
    int metadata_given;     /* --metadata or extra_args Metadata (maybe empty) */
    size_t nmeta;
    char **meta_names;      /* "x-amz-meta-<key>" lower case, nmeta */
    char **meta_values;
    int requester_pays;
    /* the headers of each kind, built at load: names and values point into
     * the strings above (or static text) */
    ferry_sigv4_kv *kv[FERRY_S3_PUT_KINDS];
    size_t nkv[FERRY_S3_PUT_KINDS];
} ferry_s3_put_attrs;

/* Resolve the attributes of a write to key (the destination key; the content
 * type comes from its name when none is asked).  o may be NULL or a caller's
 * struct shorter than these fields (then: none asked); conn may be NULL.
 * The CLI's values win over the connection's extra_args field by field;
 * --metadata and --tags replace the extra's whole set.  Invalid values:
 * FERRY_ERR_USAGE naming the option (or "extra_args.Field"). */
ferry_status ferry_s3_put_attrs_load(ferry_s3_put_attrs *a, const ferry_copy_options *o, const ferry_conn *conn,
                                     const char *key, ferry_error *err);
void ferry_s3_put_attrs_release(ferry_s3_put_attrs *a);

/* Nonzero when anything at all was asked (a plain write sends no header). */
int ferry_s3_put_attrs_any(const ferry_s3_put_attrs *a);

/* Only validate o's S3 write options (the CLI calls it before it starts). */
ferry_status ferry_s3_put_attrs_check(const ferry_copy_options *o, ferry_error *err);

/* Requester pays asked by o (guarded by struct_size) or the connection's
 * extra requester_pays / extra_args RequestPayer. */
int ferry_s3_requester_pays(const ferry_copy_options *o, const ferry_conn *conn);

/* The Content-Type an object named name gets by default (the last '/'
 * segment's extension, case-insensitive): .csv text/csv, .tsv
 * text/tab-separated-values, .jsonl/.ndjson application/x-ndjson, .json
 * application/json, .parquet application/vnd.apache.parquet, .txt text/plain;
 * .gz application/gzip and .zst application/zstd - unless content_encoding
 * (may be NULL) says gzip / zstd, then the type of the name without that
 * extension; anything else application/octet-stream.  Static text. */
const char *ferry_s3_content_type_for(const char *name, const char *content_encoding);

/* A write refused with S3 code s3_code (FERRY_ERR_DATA): append a hint to
 * err when an asked attribute is the likely reason (storage class, SSE). */
void ferry_s3_put_attrs_hint(const ferry_s3_put_attrs *a, const char *s3_code, ferry_error *err);

/* Multipart server-side copies (UploadPartCopy) start a new upload, so the
 * source's metadata and tags are carried over by ferry: */
struct ferry_s3_client;
struct ferry_s3_xfer;
struct ferry_buf;
/* GetObjectTagging of bucket/key into out as "k=v&k2=v2" (URL-encoded, "" none). */
ferry_status ferry_s3_get_tagging(struct ferry_s3_client *c, struct ferry_s3_xfer *x, const char *bucket,
                                  const char *key, struct ferry_buf *out, ferry_error *err);
/* The headers of the copy's CreateMultipartUpload: a's COPY_CREATE headers (a
 * may be NULL), the source's headers kept by its HeadObject (kept: "name\0value\0"
 * pairs, ferry_s3_xfer.keep_meta) unless a replaces the metadata, and the
 * source's tagging unless a has tags.  *out owned (free), its strings borrowed
 * from a, kept and tagging. */
ferry_status ferry_s3_copy_create_headers(const ferry_s3_put_attrs *a, const struct ferry_buf *kept,
                                          const char *tagging, ferry_sigv4_kv **out, size_t *n,
                                          ferry_error *err);

#endif
