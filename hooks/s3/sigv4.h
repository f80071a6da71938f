/*
 * hooks/s3/sigv4.h - AWS Signature Version 4 request signing (internal to libferry).
 *
 * What the S3 hook uses to authenticate against AWS S3 and S3-compatible
 * servers (Ceph radosgw, MinIO, ...): URI encoding the AWS way, SHA-256
 * (one-shot and streaming, for payload hashes of multipart parts), the signing
 * key derivation, header signing (Authorization + x-amz-date) and presigned
 * URLs (query-string auth).  Built on OpenSSL libcrypto; reproduces AWS's
 * published examples (see tests/unit/test_sigv4.c).
 *
 * Rules that hold for the whole file:
 *  - No global state; every function is thread-safe (OpenSSL >= 1.1 needs no
 *    locking setup).
 *  - Strings passed in are borrowed for the duration of the call only.
 *  - Everything this module allocates is owned by the caller and released with
 *    the matching free function named at the declaration.
 *  - The secret access key is never logged, never copied into error text, and
 *    every internal copy of it or of a key derived from it is wiped
 *    (OPENSSL_cleanse) before its memory is released.
 *  - Errors: functions return a ferry_status and, when err is not NULL, fill
 *    err with a fixed message (status FERRY_ERR_USAGE for bad arguments,
 *    FERRY_ERR_INTERNAL for allocation / libcrypto failure).
 */
#ifndef FERRY_HOOKS_S3_SIGV4_H
#define FERRY_HOOKS_S3_SIGV4_H

#include <stddef.h>
#include <time.h>
#include "ferry/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Hex SHA-256 of the empty string: the payload hash of a request without body. */
#define FERRY_SIGV4_EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
/* Payload hash value meaning "body not signed" (presigned URLs, streaming bodies). */
#define FERRY_SIGV4_UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"

/* ---- URI encoding -------------------------------------------------------- */

/* AWS URI-encode len bytes of in (any bytes, NULs and UTF-8 included): the
 * unreserved characters A-Z a-z 0-9 - . _ ~ are kept, every other byte becomes
 * %XX with upper-case hex; '/' is kept as is when encode_slash is 0 (object key
 * paths) and becomes %2F when it is nonzero (query keys and values).
 * Writes into the caller-owned buffer out (capacity outsz, may be NULL when
 * outsz is 0) at most outsz-1 characters plus a NUL, like snprintf, and returns
 * the length the full encoding needs (excluding the NUL; never more than
 * 3 * len).  Output is complete when the return value is < outsz. */
size_t ferry_sigv4_uri_encode(const char *in, size_t len, int encode_slash, char *out,
                              size_t outsz);

/* ---- SHA-256 --------------------------------------------------------------- */

/* One-shot SHA-256 of len bytes; out (caller-owned, 65 bytes) receives 64
 * lower-case hex digits and a NUL. */
ferry_status ferry_sha256_hex(const void *data, size_t len, char out[65]);

/* Streaming SHA-256.  The context is caller-owned storage (stack or struct
 * member); init allocates the libcrypto state it points to, which final_hex
 * and cleanup release.  Sequence: init, update*, final_hex.  cleanup abandons
 * a hash midway; it is also safe after final_hex, after a failed init and on a
 * zeroed context.  A context is used by one thread at a time. */
typedef struct ferry_sha256_ctx {
    struct evp_md_ctx_st *md; /* owned libcrypto state; NULL when idle */
} ferry_sha256_ctx;

ferry_status ferry_sha256_init(ferry_sha256_ctx *ctx);
ferry_status ferry_sha256_update(ferry_sha256_ctx *ctx, const void *data, size_t len);
/* Writes the hex digest into caller-owned out and releases the state. */
ferry_status ferry_sha256_final_hex(ferry_sha256_ctx *ctx, char out[65]);
void ferry_sha256_cleanup(ferry_sha256_ctx *ctx);

/* ---- time -------------------------------------------------------------------- */

/* Format t (UTC) as the x-amz-date "YYYYMMDDTHHMMSSZ" and the scope date
 * "YYYYMMDD" into caller-owned buffers (either may be NULL). */
ferry_status ferry_sigv4_format_time(time_t t, char amz_date[17], char date_stamp[9]);

/* ---- signing key ------------------------------------------------------------- */

/* The derivation chain: kDate = HMAC("AWS4" + secret, date_stamp),
 * kRegion = HMAC(kDate, region), kService = HMAC(kRegion, service),
 * kSigning = HMAC(kService, "aws4_request").  Caller-owned; it holds key
 * material, so wipe it with ferry_sigv4_key_wipe when done. */
typedef struct ferry_sigv4_key {
    unsigned char k_date[32];
    unsigned char k_region[32];
    unsigned char k_service[32];
    unsigned char k_signing[32];
} ferry_sigv4_key;

/* Derive the chain for secret (borrowed, never copied except into a wiped
 * scratch buffer), date_stamp "YYYYMMDD", region and service into *out. */
ferry_status ferry_sigv4_derive_key(const char *secret_access_key, const char *date_stamp,
                                    const char *region, const char *service,
                                    ferry_sigv4_key *out, ferry_error *err);
void ferry_sigv4_key_wipe(ferry_sigv4_key *key);


/* ---- requests ------------------------------------------------------------------ */

/* One raw (unencoded) name/value pair, both borrowed.  For a query parameter
 * value NULL means "no value" (?lifecycle), signed as "lifecycle=". */
typedef struct ferry_sigv4_kv {
    const char *name;
    const char *value;
} ferry_sigv4_kv;

/* The credentials (all borrowed).  session_token NULL or "" = none; when set it
 * is signed as x-amz-security-token (header auth) or X-Amz-Security-Token
 * (presigned URL), and the caller must send that header. */
typedef struct ferry_sigv4_credentials {
    const char *access_key_id;
    const char *secret_access_key; /* a secret: never logged, never in error text */
    const char *session_token;
} ferry_sigv4_credentials;

/* Request flags. */
enum {
    /* Generic (non-S3) services: normalise the path before encoding - remove
     * "." and ".." segments and collapse repeated '/' - as the AWS SigV4 test
     * suite expects.  Never set it for S3, whose keys may contain "//" or "..". */
    FERRY_SIGV4_NORMALIZE_PATH = 1u << 0,
    /* Sign an x-amz-content-sha256 header holding the payload hash (S3 needs it;
     * the caller must send the header with the same value). */
    FERRY_SIGV4_CONTENT_SHA256 = 1u << 1
};

/* What is signed.  Every pointer is borrowed.
 * The signer manages these headers itself and refuses them in headers[]:
 * host (from host), x-amz-date (from when), x-amz-security-token when the
 * credentials carry a session token, x-amz-content-sha256 when the
 * FERRY_SIGV4_CONTENT_SHA256 flag is set. */
typedef struct ferry_sigv4_request {
    const char *method;    /* "GET", "PUT", ... as sent */
    const char *host;      /* Host header value: "host" or "host:port" */
    const char *path;      /* raw, unencoded, e.g. "/bucket/my key.csv"; NULL/"" = "/";
                            * encoded once, segment by segment, '/' kept */
    const ferry_sigv4_kv *query; /* nquery raw pairs, any order; encoded and sorted */
    size_t nquery;
    const ferry_sigv4_kv *headers; /* nheaders extra headers to sign (and send); names
                                    * any case, values trimmed and inner runs of
                                    * spaces collapsed; a repeated name is signed as
                                    * one header with the values joined by ','. */
    size_t nheaders;
    const char *payload_hash; /* hex SHA-256 of the body or "UNSIGNED-PAYLOAD";
                               * NULL = hash of an empty body.  Ignored by presign. */
    const char *region;       /* "us-east-1" */
    const char *service;      /* "s3" */
    time_t when;              /* signing time, UTC */
    unsigned flags;           /* FERRY_SIGV4_* */
} ferry_sigv4_request;

/* The result of signing.  Caller-owned struct; the strings inside are
 * malloc'd and owned by it: release them with ferry_sigv4_signed_free (which
 * also zeroes the struct; safe on a zeroed or already freed struct). */
typedef struct ferry_sigv4_signed {
    char *authorization;     /* "AWS4-HMAC-SHA256 Credential=AK/scope, SignedHeaders=..., Signature=..."
                              * (NULL for presign) */
    char *signed_headers;    /* "host;x-amz-date" */
    char *canonical_request; /* for tests and debugging; contains no secret */
    char *string_to_sign;    /* for tests and debugging; contains no secret */
    char amz_date[17];       /* send as x-amz-date: "YYYYMMDDTHHMMSSZ" */
    char date_stamp[9];      /* "YYYYMMDD" */
    char signature[65];      /* hex */
} ferry_sigv4_signed;

void ferry_sigv4_signed_free(ferry_sigv4_signed *s);

/* Header auth: sign req with creds into *out (filled from scratch; free it
 * with ferry_sigv4_signed_free even on failure).  The caller then sends
 * Authorization: out->authorization, x-amz-date: out->amz_date, Host: req->host,
 * every header in req->headers, plus x-amz-content-sha256 / x-amz-security-token
 * as described at ferry_sigv4_request. */
ferry_status ferry_sigv4_sign_headers(const ferry_sigv4_credentials *creds,
                                      const ferry_sigv4_request *req, ferry_sigv4_signed *out,
                                      ferry_error *err);

/* Query-string auth: a presigned URL valid for expires_seconds (1..604800).
 * Signs X-Amz-Algorithm, X-Amz-Credential, X-Amz-Date, X-Amz-Expires,
 * X-Amz-SignedHeaders=host (and X-Amz-Security-Token with a session token)
 * next to req's own query parameters (which must not set those names),
 * payload UNSIGNED-PAYLOAD; req->headers must be empty and
 * FERRY_SIGV4_CONTENT_SHA256 unset (only host is signed).  *url_out receives
 * "scheme://host/encoded/path?sorted-query&X-Amz-Signature=..." (malloc'd,
 * caller frees with free()).  debug may be NULL; otherwise it receives the
 * canonical request, string to sign and signature (free with
 * ferry_sigv4_signed_free). */
ferry_status ferry_sigv4_presign_url(const ferry_sigv4_credentials *creds,
                                     const ferry_sigv4_request *req, const char *scheme,
                                     long expires_seconds, char **url_out,
                                     ferry_sigv4_signed *debug, ferry_error *err);

#ifdef __cplusplus
}
#endif
#endif
