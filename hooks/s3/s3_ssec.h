/*
 * hooks/s3/s3_ssec.h - SSE-C: server-side encryption with a key the customer
 * provides (internal to the S3 hook; tests include it).
 *
 * A key is 32 bytes (AES-256).  Requests on an SSE-C object carry
 *     x-amz-server-side-encryption-customer-algorithm: AES256
 *     x-amz-server-side-encryption-customer-key:       base64 of the 32 bytes
 *     x-amz-server-side-encryption-customer-key-MD5:   base64 of their MD5
 * and a server-side copy of such an object the same three as
 * x-amz-copy-source-server-side-encryption-customer-*.  Which operations take
 * them is a table in s3_ssec.c (AWS's list: PutObject, CreateMultipartUpload,
 * UploadPart, GetObject, HeadObject, CopyObject, UploadPartCopy; not
 * CompleteMultipartUpload): the request builder (ferry_s3_xfer_start) adds
 * them by the request's operation, so no caller has to remember.
 *
 * Where a client's keys come from (ferry_s3_ssec_load):
 *   object key       o->s3_sse_c_key_file (--sse-c-key), else the connection's
 *                    extra sse_customer_key (base64) or sse_c_key_file (a path);
 *   copy-source key  o->s3_sse_c_copy_source_key_file (--sse-c-copy-source-key;
 *                    "none" = the source is not SSE-C), else the object key.
 * A reader (s3_source.c) reads its object with the copy-source key
 * (ferry_s3_ssec_for_reading): in a copy the source side is read with it.
 *
 * Key files hold exactly 32 raw bytes, or 44 characters of base64 of 32 bytes
 * (trailing white space allowed); anything else is refused without showing
 * the content.  The base64 form is registered with ferry_secret_add; the raw
 * bytes only ever live in memory that is wiped.
 */
#ifndef FERRY_HOOKS_S3_SSEC_H
#define FERRY_HOOKS_S3_SSEC_H

#include <stddef.h>

#include "ferry/conn.h"
#include "ferry/error.h"
#include "ferry/hook.h"
#include "hooks/s3/sigv4.h"

#define FERRY_S3_SSEC_KEY_LEN 32
#define FERRY_S3_SSEC_MAX_HEADERS 6   /* the object's three + the copy source's three */

/* One key as the headers want it. */
typedef struct ferry_s3_ssec_key {
    int set;                  /* 0 = no SSE-C on this side */
    char key_b64[48];         /* secret: base64 of the 32 bytes (44 characters) */
    char md5_b64[28];         /* base64 of the MD5 of the 32 bytes (24 characters) */
} ferry_s3_ssec_key;

/* A client's keys.  Owned by the client (ferry_s3_ssec_free wipes it). */
typedef struct ferry_s3_ssec {
    ferry_s3_ssec_key object; /* x-amz-server-side-encryption-customer-* */
    ferry_s3_ssec_key source; /* x-amz-copy-source-server-side-encryption-customer-* */
    int copy_refused;         /* the server answered 501 NotImplemented to a copy with SSE-C
                                 (radosgw 16): ferry_s3_copy_ssec's caller copies through ferry */
} ferry_s3_ssec;

/* The header values of a 32-byte key. */
void ferry_s3_ssec_key_from_raw(const unsigned char raw[FERRY_S3_SSEC_KEY_LEN], ferry_s3_ssec_key *k);

/* A key from base64 text (44 characters, 32 bytes once decoded; what is
 * wrong is said without the text).  FERRY_ERR_USAGE, or `bad` if not 0. */
ferry_status ferry_s3_ssec_key_from_b64(const char *b64, const char *what, ferry_status bad,
                                        ferry_s3_ssec_key *k, ferry_error *err);

/* A key from a file (32 raw bytes, or 44 characters of base64 and trailing
 * white space).  Unreadable or of another form: `bad` (FERRY_ERR_USAGE for
 * options, FERRY_ERR_CONFIG for extras), naming the file and `what`, never
 * its content. */
ferry_status ferry_s3_ssec_key_from_file(const char *path, const char *what, ferry_status bad,
                                         ferry_s3_ssec_key *k, ferry_error *err);

/* The keys of a client of conn (borrowed, may be NULL) with options o (may
 * be NULL).  *out NULL when neither side has a key.  Errors: a key file or
 * extra that is not a key (FERRY_ERR_USAGE / FERRY_ERR_CONFIG). */
ferry_status ferry_s3_ssec_load(const ferry_conn *conn, const char *conn_id, const ferry_copy_options *o,
                                ferry_s3_ssec **out, ferry_error *err);
void ferry_s3_ssec_free(ferry_s3_ssec *s);

/* A reader's object is the copy's source: it is read with the copy-source key. */
void ferry_s3_ssec_for_reading(ferry_s3_ssec *s);
/* Swap the object and copy-source keys (a server-side copy HEADs its source
 * with the source's key, then swaps back).  s may be NULL. */
void ferry_s3_ssec_swap(ferry_s3_ssec *s);

/* A server-side copy runs on the destination's client: its copy-source key
 * becomes the one the source's client (src, may be NULL) reads with
 * (*dst allocated when needed). */
ferry_status ferry_s3_ssec_take_source(ferry_s3_ssec **dst, const ferry_s3_ssec *src, ferry_error *err);

/* The headers to sign and send for operation op: in[0..n) then the SSE-C
 * ones op takes (s may be NULL: none).  out has room for n +
 * FERRY_S3_SSEC_MAX_HEADERS; values point into s (borrowed).  Returns the count. */
size_t ferry_s3_ssec_headers(const ferry_s3_ssec *s, const char *op, const ferry_sigv4_kv *in, size_t n,
                             ferry_sigv4_kv *out);

/* Nonzero when op sends the object's SSE-C headers (1) / the copy source's (2): bits. */
#define FERRY_S3_SSEC_OBJECT 1u
#define FERRY_S3_SSEC_SOURCE 2u
unsigned ferry_s3_ssec_ops(const char *op);

/* A refused request of an SSE-C operation (http 400 or 403): when it looks
 * like the key (none, or a wrong one), the status to return (FERRY_ERR_CONNECT, exit 4)
 * and a hint appended to detail ("the object is encrypted with SSE-C: an
 * SSE-C key is needed (--sse-c-key FILE or the extra sse_customer_key)" /
 * "the SSE-C key does not match the object's").  Otherwise st unchanged. */
ferry_status ferry_s3_ssec_explain(ferry_s3_ssec *s, const char *op, long http_status, const char *code,
                                   ferry_status st, char *detail, size_t cap);

/* ferry_s3_copy (s3_api.c) that also says (*refused) whether the server
 * refused the copy because it does not implement SSE-C copies (501): nothing
 * was created then, and the hook's server_copy lets ferry stream it. */
ferry_status ferry_s3_copy_ssec(const char *src, const char *dst, const ferry_copy_options *o, int *refused,
                                ferry_error *err);

#endif
