/*
 * ferry/s3.h - calls that only make sense for S3 (and S3-compatible servers
 * such as Ceph radosgw or MinIO), next to the generic hook operations
 * (ferry_copy, stat, list, remove) that ferry_hook_s3 provides.
 *
 * Endpoints are given as text, exactly as on the command line:
 * "s3://bucket/key" (connection o->s3_conn, default aws_default, or the AWS
 * environment and ~/.aws files when that is not defined) or
 * "CONN_ID:bucket/key" for an aws connection.  Keys are taken byte for byte
 * (no percent-decoding).  o may be NULL (defaults; only s3_conn, replace,
 * max_retries, timeout and s3_part_size are used here).
 *
 * Errors follow ferry/error.h: FERRY_ERR_CONNECT for refused credentials,
 * FERRY_ERR_NOT_FOUND for a missing bucket or key, FERRY_ERR_EXISTS for an
 * existing destination, FERRY_ERR_TRANSIENT when retries ran out.  Messages
 * name the S3 operation, the object, the HTTP status and S3's error Code and
 * Message, and never contain the secret key or session token.
 */
#ifndef FERRY_S3_H
#define FERRY_S3_H

#include <stddef.h>
#include <stdint.h>
#include "ferry/error.h"
#include "ferry/hook.h"
#include "ferry/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The hook of connection type "aws" (and of s3:// endpoints). */
FERRY_API extern const ferry_hook ferry_hook_s3;

/* A presigned URL for method "GET", "PUT", "HEAD" or "DELETE" on the object,
 * valid for expires_seconds (1..604800).  *out_url is malloc'd; the caller
 * frees it with free().  No request is made. */
FERRY_API ferry_status ferry_s3_presign(const char *endpoint, const char *method, long expires_seconds,
                                        const ferry_copy_options *o, char **out_url, ferry_error *err);

/* CreateBucket "s3://bucket" in the connection's region.  An existing bucket
 * is FERRY_ERR_EXISTS when the server says so (radosgw answers 200 for a
 * bucket its own user already has). */
FERRY_API ferry_status ferry_s3_create_bucket(const char *endpoint, const ferry_copy_options *o,
                                              ferry_error *err);

/* One multipart upload in progress; strings borrowed for the callback only. */
typedef struct ferry_s3_upload {
    const char *key;
    const char *upload_id;
    int64_t initiated;      /* unix seconds, -1 unknown */
} ferry_s3_upload;

typedef ferry_status (*ferry_s3_upload_fn)(const ferry_s3_upload *u, void *ud, ferry_error *err);

/* ListMultipartUploads of "s3://bucket[/prefix]": fn (may be NULL) is called
 * for each upload in progress; *count (may be NULL) receives how many. */
FERRY_API ferry_status ferry_s3_list_uploads(const char *endpoint, const ferry_copy_options *o,
                                             ferry_s3_upload_fn fn, void *ud, size_t *count,
                                             ferry_error *err);

/* AbortMultipartUpload of upload_id on "s3://bucket/key". */
FERRY_API ferry_status ferry_s3_abort_upload(const char *endpoint, const char *upload_id,
                                             const ferry_copy_options *o, ferry_error *err);

/* Server-side copy (CopyObject; UploadPartCopy for objects above 5 GiB) of
 * src to dst, both on the same S3 endpoint, with dst's credentials.  Without
 * o->replace an existing dst is FERRY_ERR_EXISTS.  The source is pinned by
 * its ETag (x-amz-copy-source-if-match), so a source replaced meanwhile
 * fails instead of producing a mixed copy. */
FERRY_API ferry_status ferry_s3_copy(const char *src, const char *dst, const ferry_copy_options *o,
                                     ferry_error *err);

/* DeleteObjects (Quiet) of n keys (borrowed) in "s3://bucket", 1000 per
 * request.  *deleted (may be NULL) receives how many were deleted. */
FERRY_API ferry_status ferry_s3_delete_objects(const char *bucket_endpoint, const char *const *keys,
                                               size_t n, const ferry_copy_options *o, size_t *deleted,
                                               ferry_error *err);

/* Delete every object whose key starts with the prefix of
 * "s3://bucket/prefix" (the whole bucket's content when the prefix is
 * empty): ListObjectsV2 + DeleteObjects. */
FERRY_API ferry_status ferry_s3_remove_prefix(const char *endpoint, const ferry_copy_options *o,
                                              size_t *deleted, ferry_error *err);

#ifdef __cplusplus
}
#endif
#endif
