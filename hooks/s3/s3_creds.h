/*
 * hooks/s3/s3_creds.h - the AWS credential provider chain of the S3 hook
 * (internal to libferry; tests include it to reach the parsers).
 *
 *   s3_creds.c          the chain (which source, in the SDKs' order), the
 *                       provider nodes, refresh before expiry, snapshots
 *   s3_creds_parse.c    pure parsers: STS XML, credential JSON documents
 *                       (credential_process, IMDS, container, SSO), the SSO
 *                       token cache, the credential_process command line
 *   s3_creds_http.c     one blocking request through the curl engine (STS,
 *                       IMDS, container endpoint, SSO portal)
 *   s3_sts.c            AssumeRole / AssumeRoleWithWebIdentity
 *   s3_imds.c           EC2 IMDSv2 and ECS/EKS container credentials
 *   s3_creds_process.c  credential_process (posix_spawn, no shell)
 *   s3_profile.c        the shared files, and a profile turned into a node
 *
 * A provider is a tree of nodes: a leaf yields credentials by itself
 * (static keys, a process, IMDS, the container endpoint, SSO, a web identity
 * token); an assume-role node asks its base node for credentials and calls
 * STS with them.  Each node keeps its current credential set and refreshes
 * it, under its own mutex, when it is within the refresh window of its
 * expiry (5 minutes; FERRY_S3_REFRESH_WINDOW seconds for tests).  Every
 * request signs with a snapshot (a reference to an immutable set), so the
 * uploader's threads never see a half-replaced set.
 */
#ifndef FERRY_HOOKS_S3_CREDS_H
#define FERRY_HOOKS_S3_CREDS_H

#include <stddef.h>
#include <stdint.h>
#include <curl/curl.h>

#include "core/buf.h"
#include "ferry/conn.h"
#include "ferry/error.h"

#define S3_CREDS_REFRESH_WINDOW 300.0   /* seconds before expiry a set is renewed */
#define S3_IMDS_CONNECT_TIMEOUT 1L      /* seconds: off EC2 nothing answers */
#define S3_IMDS_STALL 2.0               /* seconds without a byte from IMDS / container */

/* One immutable credential set.  Strings owned; refs counted under the
 * owning node's mutex (ferry_s3_creds_get / _put). */
typedef struct ferry_s3_credset {
    int refs;
    char *access_key;
    char *secret_key;       /* secret */
    char *session_token;    /* secret; NULL when none */
    int64_t expiration;     /* unix seconds; 0 = does not expire */
} ferry_s3_credset;

/* Fill a new set (refs 1) from borrowed strings; NULL when out of memory.
 * token NULL or "" = none.  Registers the secrets with ferry_secret_add. */
ferry_s3_credset *ferry_s3_credset_new(const char *ak, const char *sk, const char *token, int64_t expiration);
/* Wipe and free a set nobody references (also for parser results). */
void ferry_s3_credset_free(ferry_s3_credset *s);

typedef struct ferry_s3_creds ferry_s3_creds;

/* What the chain needs to know besides the connection (all borrowed). */
typedef struct ferry_s3_creds_ctx {
    const ferry_conn *conn;     /* may be NULL */
    const char *conn_id;
    const char *profile;        /* profile name in effect */
    int profile_explicit;       /* extra profile_name given: the environment's keys are skipped */
    const char *cred_path;      /* ~/.aws/credentials (may be NULL) */
    const char *config_path;    /* ~/.aws/config (may be NULL) */
    const char *region;
    /* STS: the connection's endpoint for S3-compatible stores, else regional AWS */
    const char *sts_url;        /* NULL = https://sts.<region>.amazonaws.com */
    int verify;
    const char *ca_bundle;
    long connect_timeout;
} ferry_s3_creds_ctx;

/* Resolve the chain for ctx and fetch the first set.  *out owned (release
 * with ferry_s3_creds_free); *source (owned) names the source for `conn test`
 * and logs.  Errors: FERRY_ERR_CONFIG "no AWS credentials found (tried: ...)"
 * or a bad setting; FERRY_ERR_CONNECT when a configured source (STS, a
 * process, ...) refused or failed. */
ferry_status ferry_s3_creds_resolve(const ferry_s3_creds_ctx *ctx, ferry_s3_creds **out, char **source,
                                    ferry_error *err);
void ferry_s3_creds_free(ferry_s3_creds *p);

/* A snapshot of the current set, refreshed first when it is within the
 * window of its expiry (shared: concurrent callers wait for one refresh).
 * cleanup: the abort path; when a refresh fails and the old set has not yet
 * expired, the old set is returned.  Release with ferry_s3_creds_put.
 * A failed refresh: FERRY_ERR_CONNECT naming the source. */
ferry_status ferry_s3_creds_get(ferry_s3_creds *p, int cleanup, ferry_s3_credset **out, ferry_error *err);
void ferry_s3_creds_put(ferry_s3_creds *p, ferry_s3_credset *s);
/* How many times the top node renewed its set (tests). */
int ferry_s3_creds_refreshes(ferry_s3_creds *p);

/* ---- s3_creds_parse.c (pure) ------------------------------------------------- */

/* An STS answer (AssumeRole, AssumeRoleWithWebIdentity).  Returns 1 with *out
 * set (owned), 0 when the body is an error document (code/message filled, may
 * be ""), -1 malformed or without credentials. */
int ferry_s3_parse_sts(const char *body, size_t len, ferry_s3_credset **out, char *code, size_t code_cap,
                       char *message, size_t msg_cap);

enum {
    S3_CREDS_JSON_PROCESS = 1,  /* credential_process: Version 1, AccessKeyId, SecretAccessKey, SessionToken, Expiration */
    S3_CREDS_JSON_IMDS = 2,     /* IMDS / container: [Code Success], AccessKeyId, SecretAccessKey, Token, Expiration */
    S3_CREDS_JSON_SSO = 3       /* GetRoleCredentials: roleCredentials{accessKeyId, secretAccessKey, sessionToken, expiration ms} */
};
/* A credential JSON document of the given kind: *out owned.  Errors
 * FERRY_ERR_DATA (not JSON, missing fields, Version != 1, Code != Success),
 * the message never quoting the secrets. */
ferry_status ferry_s3_parse_creds_json(const char *text, size_t len, int kind, ferry_s3_credset **out,
                                       ferry_error *err);
/* An SSO token cache file (~/.aws/sso/cache/<sha1>.json): accessToken and
 * expiresAt.  *token owned; *expires unix seconds. */
ferry_status ferry_s3_parse_sso_cache(const char *text, size_t len, char **token, int64_t *expires,
                                      ferry_error *err);
/* The cache file name of an SSO session name or start URL: lower-case hex
 * SHA-1 of it + ".json" (out: 46 bytes). */
void ferry_s3_sso_cache_name(const char *key, char out[46]);
/* Split a credential_process command line the way the SDKs do (POSIX
 * shlex: whitespace separates, '...' literal, "..." with \" \\ escapes,
 * backslash escapes outside quotes).  *argv NULL-terminated, owned: free
 * with ferry_strv_free.  -1 unbalanced quotes or empty, -2 out of memory. */
int ferry_s3_split_command(const char *cmd, char ***argv);

/* ---- s3_creds_http.c --------------------------------------------------------- */

typedef struct ferry_s3_http {
    const char *method;         /* "GET", "PUT", "POST" */
    const char *url;
    struct curl_slist *headers; /* borrowed */
    const char *body;           /* POST/PUT body, may be NULL */
    size_t body_len;
    long connect_timeout;       /* seconds */
    double stall_after;         /* seconds without a byte */
    int verify;
    const char *ca_bundle;
    int no_proxy;               /* link-local endpoints: never through a proxy */
    const char *conn_id;
    const char *what;           /* "STS AssumeRole", for messages */
} ferry_s3_http;

/* Run it to the end (cancellable).  *status the HTTP status, body collected
 * into resp (at most 1 MiB).  A transport failure: the engine's status
 * (4 could not connect, 10 stalled ...), message "s3(id): <what> <url>: cause". */
ferry_status ferry_s3_http_call(const ferry_s3_http *q, ferry_buf *resp, long *status, ferry_error *err);

/* ---- s3_sts.c ------------------------------------------------------------------ */

/* One STS call (all borrowed).  base set: AssumeRole signed with it
 * (SigV4, service sts); base NULL: AssumeRoleWithWebIdentity with
 * web_token (unsigned, as the API wants). */
typedef struct ferry_s3_sts_call {
    const char *conn_id;
    const char *url;            /* "https://sts.eu-west-1.amazonaws.com" or the S3-compatible endpoint */
    const char *region;
    int verify;
    const char *ca_bundle;
    long connect_timeout;
    const char *role_arn;
    const char *session_name;
    const char *external_id;    /* NULL = none */
    long duration;              /* seconds; 0 = STS default */
    const char *tags_json;      /* Airflow's Tags: [{"Key":..,"Value":..}] or {"k":"v"}; NULL = none */
    const ferry_s3_credset *base;
    const char *web_token;
} ferry_s3_sts_call;

/* Errors: FERRY_ERR_CONNECT when STS refused (its Code and Message quoted),
 * the transport's status otherwise. */
ferry_status ferry_s3_sts_assume(const ferry_s3_sts_call *c, ferry_s3_credset **out, ferry_error *err);

/* ---- s3_imds.c ----------------------------------------------------------------- */

/* IMDSv2 at endpoint ("http://169.254.169.254"): PUT /latest/api/token, the
 * role name, then its credentials; 1 s connect timeout, one attempt. */
ferry_status ferry_s3_imds_fetch(const char *endpoint, const char *conn_id, ferry_s3_credset **out,
                                 ferry_error *err);
/* ECS / EKS Pod Identity container endpoint: GET url with Authorization =
 * auth, or the content of auth_file (read at every fetch: it rotates). */
ferry_status ferry_s3_container_fetch(const char *url, const char *auth, const char *auth_file,
                                      const char *conn_id, ferry_s3_credset **out, ferry_error *err);
/* Nonzero when a FULL_URI may be used: https, or http on a loopback
 * address, 169.254.170.2 (ECS) or 169.254.170.23 (EKS Pod Identity). */
int ferry_s3_container_uri_ok(const char *url);

/* ---- s3_creds_process.c ---------------------------------------------------------- */

/* Run credential_process cmd (split with ferry_s3_split_command, spawned
 * with posix_spawnp, no shell; stderr passes through) and parse its
 * stdout.  A non-zero exit or bad output: FERRY_ERR_CONNECT. */
ferry_status ferry_s3_process_fetch(const char *cmd, const char *conn_id, ferry_s3_credset **out,
                                    ferry_error *err);

#endif
