/*
 * hooks/s3/s3_internal.h - what the files of the S3 hook share (internal to
 * libferry; tests include it to reach the pure parts).
 *
 *   s3_util.c     time parsing, percent-decoding, bucket names, "bucket/key"
 *   s3_profile.c  ~/.aws/credentials and ~/.aws/config reader
 *   s3_config.c   the credentials / region / endpoint chain of a connection
 *   s3_addressing.c  host and path of a request (regions, dualstack, FIPS, accelerate)
 *   s3_region.c   bucket regions learned from redirects, kept for the run
 *   s3_errmap.c   HTTP status + S3 error Code -> ferry_status, message text
 *   s3_xml.c      expat parsers of S3 responses, XML escaping of requests
 *   ferry_s3_request.c  the client (one curl multi) and one signed request with retries
 *   s3_list.c     ListObjectsV2 / ListMultipartUploads paging
 *   ferry_s3_crc32c.c   CRC-32C (SSE4.2 when the CPU has it, else tables)
 *   s3_uploader.c the sink's slot ring and uploader thread (parts in flight)
 *   s3_attrs.c    write attributes: SSE, storage class, content type, metadata, tags, ACL (s3_attrs.h)
 *   s3_sink.c     the multipart writer: open, write, commit, abort (s3_sink_internal.h)
 *   s3_sink_resume.c  the sink's --resume glue: resume an upload, write the state
 *   s3_parallel.c the ranged sink: n producers, one multipart upload
 *   s3_orphans.c  uploads left by an interrupted CreateMultipartUpload
 *   s3_resume.c   the --resume state file
 *   s3_source.c   the streaming GET reader
 *   s3_api.c      include/ferry/s3.h: presign, create bucket, copy, delete, uploads
 *   s3.c          the hook table: stat, list, remove, test, open_source/open_sink
 *
 * Names: every function shared between the files of hooks/s3/ is ferry_s3_*,
 * as the other hooks' are (ferry_pg_*, ferry_my_*, ...).  Where that name is
 * a public call of include/ferry/s3.h (abort_upload, create_bucket,
 * delete_objects, list_uploads), the internal one, which takes an ferry_s3_client,
 * is ferry_s3_client_* (ferry_s3_client_abort_upload ...).  Types too are
 * ferry_s3_* (ferry_s3_client, ferry_s3_req ...; the callback of
 * ferry_s3_client_list_uploads is ferry_s3_client_upload_fn).
 *
 * Ownership is written at each declaration; "borrowed" pointers must outlive
 * the call (or the transfer, where said).
 */
#ifndef FERRY_HOOKS_S3_INTERNAL_H
#define FERRY_HOOKS_S3_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <curl/curl.h>

#include "hooks/curl/curl_engine.h"
#include <expat.h>

#include "ferry/conn.h"
#include "ferry/error.h"
#include "ferry/hook.h"
#include "core/buf.h"
#include "core/encode.h"
#include "core/util.h"
#include "ferry/retry.h"
#include "hooks/s3/sigv4.h"

#define S3_KIB ((size_t)1024)
#define S3_MIB ((size_t)1024 * 1024)
#define S3_GIB ((uint64_t)1024 * 1024 * 1024)
#define S3_MIN_PART_SIZE (5 * S3_MIB)           /* every part but the last */
#define S3_MAX_PART_SIZE ((size_t)(5 * S3_GIB)) /* one part, and one single PUT */
#define S3_MAX_PARTS 10000
#define S3_PARTS_PER_STEP 1000                  /* the part size doubles every 1000 parts */
#define S3_DEFAULT_PART_SIZE (8 * S3_MIB)
#define S3_DEFAULT_CONCURRENCY 4
#define S3_MAX_CONCURRENCY 64
#define S3_MAX_KEY_LEN 1024
#define S3_DELETE_BATCH 1000
#define S3_DEFAULT_TIMEOUT 300.0                /* seconds without progress */
#define S3_DEFAULT_CONNECT_TIMEOUT 30L
#define S3_DEFAULT_ATTEMPTS 5

/* ---- s3_util.c ----------------------------------------------------------- */

/* The growable buffer is core/buf.h's ferry_buf; the clock, sleeps and
 * base64 are core/util.h's and core/encode.h's. */

/* "2024-01-02T03:04:05.000Z" -> unix seconds; -1 when it does not parse. */
int64_t ferry_s3_parse_iso8601(const char *s);
/* Percent-decode s in place ('+' -> ' ' when plus_is_space); returns the new length. */
size_t ferry_s3_url_decode(char *s, size_t len, int plus_is_space);
/* The first bytes of a body that is not an S3 error document, for messages:
 * control characters become '.', at most cap-1 bytes, "..." when cut. */
void ferry_s3_printable(const char *in, size_t n, char *out, size_t cap);
/* Nonzero when bucket can be a DNS label of virtual-hosted addressing. */
int ferry_s3_bucket_virtual_ok(const char *bucket, int https);
/* Copy of s (NULL stays NULL); NULL also when out of memory and s != NULL. */
char *ferry_s3_strdup(const char *s);
/* Parse a non-negative number of seconds; -1 when absent or malformed. */
double ferry_s3_parse_seconds(const char *s);

/* Split an endpoint path "bucket/key" into owned copies.  *key is "" when the
 * path names only a bucket.  Errors: FERRY_ERR_USAGE (no bucket, key too long). */
ferry_status ferry_s3_split_path(const char *path, const char *conn_id, char **bucket, char **key,
                                 ferry_error *err);

/* ---- ferry_s3_crc32c.c ------------------------------------------------------------ */

/* CRC-32C of n bytes continuing crc (start with 0).  ferry_s3_crc32c picks the
 * hardware path when the CPU has SSE4.2; _sw and _hw force one (tests; _hw
 * falls back to _sw on CPUs without it). */
uint32_t ferry_s3_crc32c(uint32_t crc, const void *data, size_t n);
uint32_t ferry_s3_crc32c_sw(uint32_t crc, const void *data, size_t n);
uint32_t ferry_s3_crc32c_hw(uint32_t crc, const void *data, size_t n);
int ferry_s3_crc32c_hw_available(void);
/* Base64 of the big-endian 4 bytes, as x-amz-checksum-crc32c wants it. */
void ferry_s3_crc32c_b64(uint32_t crc, char out[9]);

/* ---- s3_profile.c ---------------------------------------------------------- */

/* The value of key in [section] of an INI-style AWS file, as an owned string,
 * or NULL (absent file, section or key).  A nested block
 *     s3 =
 *       addressing_style = path
 * is read as key "s3.addressing_style".  Values are trimmed. */
char *ferry_s3_profile_get(const char *path, const char *section, const char *key);

/* ---- s3_config.c ----------------------------------------------------------- */

/* Everything a request needs to know about where and as whom.  All strings
 * owned; released with ferry_s3_config_release (wipes the secrets). */
typedef struct ferry_s3_config {
    char *conn_id;          /* "" when no connection is defined */
    char *access_key;
    char *secret_key;       /* secret: registered with ferry_secret_add */
    char *session_token;    /* secret; NULL when none */
    char *cred_source;      /* for `conn test`: "connection", "environment", "profile x" */
    char *profile;          /* profile name used for the shared files */
    char *region;
    char *endpoint;         /* "scheme://host[:port][/prefix]", for messages */
    int https;
    char *host;             /* host[:port] exactly as sent in Host */
    char *base_path;        /* "" or "/prefix" (no trailing '/') */
    int custom_endpoint;    /* an endpoint_url was configured (not AWS itself) */
    int virtual_host;       /* addressing style virtual (else path) */
    int style;              /* FERRY_S3_STYLE_*: as configured (s3_addressing.c) */
    int dualstack;          /* use_dualstack_endpoint (AWS endpoints only) */
    int fips;               /* use_fips_endpoint (AWS endpoints only) */
    int accelerate;         /* use_accelerate_endpoint */
    int us_east_1_regional; /* us_east_1_regional_endpoint=regional: no legacy global endpoint */
    int verify;             /* TLS peer and host verification */
    char *ca_bundle;        /* NULL = system default */
    long connect_timeout;   /* seconds */
    double read_timeout;    /* seconds without progress; 0 = from the copy options */
    int unsigned_payload;   /* x-amz-content-sha256: UNSIGNED-PAYLOAD for bodies */
    struct ferry_s3_creds *creds; /* owned: the provider chain (s3_creds.h); access_key..session_token
                                     above are its first set, for presigning and messages; requests
                                     sign with a fresh snapshot of it */
} ferry_s3_config;

/* Build the configuration of conn (borrowed; may be NULL = environment and
 * shared files only).  FERRY_ERR_CONFIG for a bad endpoint_url or missing
 * credentials. */
ferry_status ferry_s3_config_load(const ferry_conn *conn, ferry_s3_config *cfg, ferry_error *err);
void ferry_s3_config_release(ferry_s3_config *cfg);
/* Host header value and raw (unencoded) path of a request on bucket/key with
 * cfg's own host and virtual_host flag: bucket NULL = service ("/"), key NULL
 * or "" = the bucket.  Requests use ferry_s3_address (regions, AWS hosts). */
ferry_status ferry_s3_config_target(const ferry_s3_config *cfg, const char *bucket, const char *key,
                                    ferry_buf *host, ferry_buf *path);

struct ferry_s3_error_doc;

/* ---- s3_addressing.c ------------------------------------------------------- */

enum { FERRY_S3_STYLE_AUTO = 0, FERRY_S3_STYLE_PATH = 1, FERRY_S3_STYLE_VIRTUAL = 2 };

/* Host and raw path of a request on bucket/key signed for region (NULL =
 * cfg->region): AWS hosts are built from the region (legacy global endpoint
 * for us-east-1, dualstack, FIPS, accelerate), a custom endpoint is kept.
 * FERRY_ERR_USAGE when the bucket cannot be addressed as configured
 * (accelerate needs a DNS-label bucket). */
ferry_status ferry_s3_address(const ferry_s3_config *cfg, const char *region, const char *bucket,
                              const char *key, ferry_buf *host, ferry_buf *path, ferry_error *err);
/* FERRY_ERR_USAGE for settings that cannot be combined (accelerate with a
 * custom endpoint, FIPS, path style or a region outside aws). */
ferry_status ferry_s3_addressing_check(const ferry_s3_config *cfg, ferry_error *err);
/* "amazonaws.com" or "amazonaws.com.cn"; the region a request is signed
 * for ("aws-global" signs as us-east-1). */
const char *ferry_s3_dns_suffix(const char *region);
const char *ferry_s3_signing_region(const char *region);

/* ---- s3_region.c ----------------------------------------------------------- */

/* The region of each bucket as learned during the run, shared by every
 * client and thread of the process.  scope: the custom endpoint's host, or
 * "" for AWS.  While the first request on a bucket of unknown region is on
 * its way (the probe), other threads' first requests on it wait for its
 * answer (at most FERRY_S3_REGION_WAIT seconds), so a redirect is followed
 * once per bucket and run, not once per thread. */
#define FERRY_S3_REGION_WAIT 10.0
#define FERRY_S3_REGION_MAX 64
/* The region to sign a request on bucket with: the learned one, else dflt.
 * *probe set to 1 when the caller's request is the probe: it must end with
 * ferry_s3_region_settle (a learned region, or NULL: none to learn). */
void ferry_s3_region_begin(const char *scope, const char *bucket, const char *dflt, char *out,
                           size_t cap, int *probe);
void ferry_s3_region_settle(const char *scope, const char *bucket, const char *learned);
/* Record a region learned from a redirect (also outside a probe). */
void ferry_s3_region_learn(const char *scope, const char *bucket, const char *region);
/* The learned region or NULL-free "" into out; never waits.  1 when known. */
int ferry_s3_region_peek(const char *scope, const char *bucket, char *out, size_t cap);
/* Forget everything (tests). */
void ferry_s3_region_reset(void);
/* Does this error answer say the bucket lives in another region?  status,
 * method, the x-amz-bucket-region header ("" none) and the parsed error
 * document; 1 with the region in out when it does (301/302/307 with the
 * header or a <Region>/<Endpoint>, 400 AuthorizationHeaderMalformed with a
 * <Region>, a HEAD's 301/400 with the header: HEAD answers have no body). */
int ferry_s3_redirect_region(long status, const char *method, const char *hdr_region,
                             const struct ferry_s3_error_doc *doc, char *out, size_t cap);
/* The region in an S3 host name ("b.s3.eu-west-1.amazonaws.com",
 * "s3-eu-west-1.amazonaws.com", "b.s3.amazonaws.com" = us-east-1); 1 found. */
int ferry_s3_region_from_host(const char *host, char *out, size_t cap);

/* ---- s3_errmap.c ----------------------------------------------------------- */

/* The parsed S3 <Error> document (fixed buffers, truncated when longer). */
typedef struct ferry_s3_error_doc {
    int found;              /* an <Error> element with a Code was seen */
    char code[64];
    char message[512];
    char request_id[128];
    char endpoint[256];     /* PermanentRedirect: where the bucket lives */
    char region[64];        /* AuthorizationHeaderMalformed / PermanentRedirect: <Region> */
} ferry_s3_error_doc;

/* Status for an HTTP error answer: code first (may be "" when the body had no
 * S3 error, e.g. HEAD), then the HTTP status.  *transient set when a retry may
 * succeed (500/502/503/504, SlowDown, RequestTimeout, BadDigest...). */
ferry_status ferry_s3_error_status(long http_status, const char *code, int *transient);
/* "HTTP 404 NoSuchKey: The specified key does not exist." or, when the body
 * is no S3 error document, "HTTP 502 Bad Gateway: '<html>...'". */
void ferry_s3_error_detail(long http_status, const char *body, size_t len, const ferry_s3_error_doc *doc,
                           char *out, size_t cap);
const char *ferry_s3_http_reason(long http_status);

/* ---- s3_xml.c -------------------------------------------------------------- */

/* A streaming expat parser that tracks the element path ("A/B/C", names
 * without namespace prefix) and calls on_end at every element end with the
 * element's own text.  Owned parts released with ferry_s3_xml_release. */
typedef ferry_status (*ferry_s3_xml_end_fn)(void *ud, const char *path, const char *text, size_t len,
                                            ferry_error *err);
typedef struct ferry_s3_xml {
    XML_Parser parser;
    ferry_s3_xml_end_fn on_end;
    void *ud;
    char path[512];
    size_t marks[32];       /* path length before each open element */
    int depth;
    int too_deep;           /* elements deeper than marks[] are ignored */
    ferry_buf text;            /* text of the innermost open element */
    ferry_status status;    /* first failure of a callback */
    ferry_error *err;       /* borrowed during feed */
} ferry_s3_xml;

ferry_status ferry_s3_xml_init(ferry_s3_xml *x, ferry_s3_xml_end_fn on_end, void *ud, ferry_error *err);
ferry_status ferry_s3_xml_reset(ferry_s3_xml *x, ferry_error *err);
/* Feed a piece; final = no more data.  Malformed or truncated XML:
 * FERRY_ERR_DATA "malformed XML: <expat reason> at line N". */
ferry_status ferry_s3_xml_feed(ferry_s3_xml *x, const char *data, size_t len, int final, ferry_error *err);
void ferry_s3_xml_release(ferry_s3_xml *x);

/* Parse an error body; returns doc->found.  Tolerates truncated and non-XML
 * bodies (doc->found stays 0, or keeps what was seen before the damage). */
int ferry_s3_xml_parse_error(const char *body, size_t len, ferry_s3_error_doc *doc);

/* One element of interest of a small response: the text of the first element
 * whose path ends with suffix (e.g. "/UploadId", "/ETag"), into out.
 * Returns 1 found, 0 not found, -1 malformed XML.  If doc is not NULL and the
 * body is an <Error> document (CompleteMultipartUpload and CopyObject may
 * answer 200 with one), doc is filled. */
int ferry_s3_xml_find(const char *body, size_t len, const char *suffix, char *out, size_t cap,
                      ferry_s3_error_doc *doc);

/* ListObjectsV2 / ListMultipartUploads page: entries are collected (keys in a
 * reused arena, no allocation per entry once warm) and handed out after the
 * page parsed completely, so a retried page never repeats entries. */
typedef struct ferry_s3_page_entry {
    size_t name_off;        /* into page->names */
    size_t name_len;
    size_t id_off;          /* upload id (ListMultipartUploads), else 0 */
    int64_t size;           /* -1 for a common prefix / upload */
    int64_t mtime;          /* LastModified / Initiated, -1 unknown */
    int is_prefix;
} ferry_s3_page_entry;

typedef struct ferry_s3_page {
    ferry_s3_xml xml;
    int uploads;            /* 1: ListMultipartUploadsResult, 0: ListBucketResult */
    ferry_buf names;           /* arena of names and ids, NUL-separated */
    ferry_buf entries;         /* array of ferry_s3_page_entry */
    size_t n;
    int truncated;
    int url_encoded;        /* EncodingType url was announced */
    ferry_buf next_token;      /* NextContinuationToken / NextKeyMarker */
    ferry_buf next_upload_id;  /* NextUploadIdMarker */
    /* entry being parsed */
    ferry_s3_page_entry cur;
    ferry_buf cur_name;
    ferry_buf cur_id;
    int in_entry;
} ferry_s3_page;

ferry_status ferry_s3_page_init(ferry_s3_page *pg, int uploads, ferry_error *err);
/* Forget everything parsed (keep capacity); called before each attempt. */
ferry_status ferry_s3_page_reset(ferry_s3_page *pg, ferry_error *err);
ferry_status ferry_s3_page_feed(ferry_s3_page *pg, const char *data, size_t len, int final, ferry_error *err);
/* Entry i's name (decoded when url_encoded) and upload id ("" when none). */
const char *ferry_s3_page_name(ferry_s3_page *pg, size_t i);
const char *ferry_s3_page_upload_id(const ferry_s3_page *pg, size_t i);
const ferry_s3_page_entry *ferry_s3_page_entry_at(const ferry_s3_page *pg, size_t i);
void ferry_s3_page_release(ferry_s3_page *pg);

/* DeleteObjects answer: how many keys failed and the first failure. */
typedef struct ferry_s3_delete_result {
    size_t deleted;
    size_t failed;
    char first_key[S3_MAX_KEY_LEN + 1];
    char first_code[64];
    char first_message[256];
} ferry_s3_delete_result;
int ferry_s3_xml_parse_delete(const char *body, size_t len, ferry_s3_delete_result *out);

/* ListAllMyBucketsResult: owner display name (or ID) and bucket count. */
int ferry_s3_xml_parse_buckets(const char *body, size_t len, char *owner, size_t cap, size_t *nbuckets);

/* Append s to b escaped for XML text (& < > " ').  -1 when s holds a byte
 * XML 1.0 cannot carry (control characters other than tab/CR/LF) or on OOM. */
int ferry_s3_xml_escape(ferry_buf *b, const char *s, size_t len);

/* ---- ferry_s3_request.c ---------------------------------------------------------- */

/* One S3 endpoint + credentials + one curl multi handle that every request of
 * the client runs on (connections are reused across requests and parts).
 * Created by ferry_s3_client_new, released with ferry_s3_client_free. */
typedef struct ferry_s3_client {
    ferry_s3_config cfg;
    CURLM *multi;           /* from the engine's pool (ferry_curl_multi_take), given back at free */
    int attached;           /* easy handles added to multi and not yet removed */
    int max_attempts;       /* tries per request, including the first */
    double timeout;         /* seconds without progress before a request fails */
    struct ferry_s3_ssec *ssec; /* owned: SSE-C keys (s3_ssec.h), NULL = none */
    int requester_pays;     /* x-amz-request-payer: requester on every request (s3_attrs.c) */
} ferry_s3_client;

/* conn borrowed (may be NULL), o may be NULL (defaults). */
ferry_status ferry_s3_client_new(const ferry_conn *conn, const ferry_copy_options *o, ferry_s3_client **out,
                                 ferry_error *err);
void ferry_s3_client_free(ferry_s3_client *c);

#define S3_MAX_QUERY 8
#define S3_MAX_HEADERS 8

/* Streaming consumer of a 2xx body: returns n, CURL_WRITEFUNC_PAUSE, or
 * anything else after filling err (the request then fails with err). */
typedef size_t (*ferry_s3_body_fn)(void *ud, const char *data, size_t n, ferry_error *err);

/* What to send.  Every pointer is borrowed until the request is finished
 * (for a started transfer: until ferry_s3_xfer_finish or ferry_s3_xfer_cancel). */
typedef struct ferry_s3_req {
    const char *op;         /* "PutObject": names the operation in messages */
    const char *method;
    const char *bucket;     /* NULL = service level (ListBuckets) */
    const char *key;        /* NULL or "" = bucket level */
    ferry_sigv4_kv query[S3_MAX_QUERY];   /* raw; NULL value = "?uploads" form */
    size_t nquery;
    ferry_sigv4_kv headers[S3_MAX_HEADERS];/* signed and sent */
    size_t nheaders;
    const ferry_sigv4_kv *xheaders; /* more headers, signed and sent after headers[]: the
                                       write attributes (s3_attrs.h), borrowed; NULL = none */
    size_t nxheaders;
    const void *body;
    size_t body_len;
    const char *payload_hash;  /* precomputed hex; NULL = computed (or UNSIGNED-PAYLOAD) */
    ferry_s3_body_fn on_body;     /* 2xx body consumer; NULL = collected in xfer->resp */
    void *body_ud;
    /* called before every attempt (reset a streaming consumer); may be NULL */
    ferry_status (*on_attempt)(void *ud, ferry_error *err);
    int no_retry;           /* one attempt only */
    int cleanup;            /* abort path: ignores cancellation, short timeouts, 3 tries */
} ferry_s3_req;

void ferry_s3_req_query(ferry_s3_req *r, const char *name, const char *value);
void ferry_s3_req_header(ferry_s3_req *r, const char *name, const char *value);

/* One HTTP exchange on a reusable easy handle.  Zero it, then ferry_s3_xfer_init;
 * ferry_s3_xfer_release frees it (cancelling a transfer in flight). */
typedef struct ferry_s3_xfer {
    CURL *easy;             /* owned, reused for every request of this xfer */
    ferry_s3_client *client;      /* borrowed while active */
    const ferry_s3_req *req;      /* borrowed while active */
    struct curl_slist *hdrs;/* owned, per request */
    ferry_buf url;             /* owned, reused */
    ferry_buf resp;            /* owned, reused: collected body */
    size_t resp_limit;
    size_t up_off;          /* upload position in req->body */
    int active;             /* added to the multi */
    int done;               /* finished (result valid) */
    CURLcode result;
    long status;            /* HTTP status of the final answer */
    int body_mode;          /* 0 undecided, 1 collect, 2 stream, 3 error collect */
    int cb_failed;
    ferry_error cb_err;     /* failure raised by on_body */
    char s3_code[64];       /* S3's error Code of the last failed answer ("" none): decide by it,
                               never by the message text */
    ferry_curl_xfer cx;     /* the engine's part: cancellation, stall, curl's outcome */
    int headers_done;       /* the final header block has been received */
    char etag[128];
    int64_t content_length; /* -1 unknown */
    int64_t range_start;    /* from Content-Range, -1 none */
    int64_t range_total;    /* from Content-Range, -1 none */
    int64_t last_modified;  /* unix seconds, -1 unknown */
    char request_id[96];
    int sse_opaque;         /* SSE-KMS / SSE-C: ETag is not the MD5 */
    ferry_buf *keep_meta;   /* borrowed, NULL = off: the answer's Content-Type, Content-Encoding,
                               Content-Language, Content-Disposition, Cache-Control, Expires and
                               x-amz-meta-* as "name\0value\0" pairs (a multipart copy's source) */
    double t_start;
    char region[FERRY_S3_REGION_MAX];        /* the region this request was signed for */
    char bucket_region[FERRY_S3_REGION_MAX]; /* x-amz-bucket-region of the answer ("" none) */
    char redirect_to[FERRY_S3_REGION_MAX];   /* set by finish: the answer named another region
                                                for the bucket (learned; a retry re-signs) */
    int region_probe;       /* this request is its bucket's region probe (s3_region.c) */
} ferry_s3_xfer;

ferry_status ferry_s3_xfer_init(ferry_s3_xfer *x, ferry_error *err);
void ferry_s3_xfer_release(ferry_s3_xfer *x);
/* Sign and add to the client's multi (non-blocking). */
ferry_status ferry_s3_xfer_start(ferry_s3_client *c, ferry_s3_xfer *x, const ferry_s3_req *r, ferry_error *err);
/* Remove a transfer in flight (its connection is closed). Safe when idle. */
void ferry_s3_xfer_cancel(ferry_s3_xfer *x);
/* After x->done: remove it from the multi and classify the outcome into err
 * ("<op> s3://bucket/key failed: ..."), transient marked. */
ferry_status ferry_s3_xfer_finish(ferry_s3_xfer *x, ferry_error *err);

/* Run the multi: transfers progress, finished ones get done = 1.  Waits up to
 * wait_ms for activity when nothing finished.  FERRY_ERR_INTERRUPTED when
 * cancellable and ferry_cancelled(). */
ferry_status ferry_s3_client_drive(ferry_s3_client *c, int wait_ms, int cancellable, ferry_error *err);

/* The redirects one request followed (ferry_s3_follow_redirect); zero it. */
typedef struct ferry_s3_redirects {
    int count;
    char from[FERRY_S3_REGION_MAX];
    char to[FERRY_S3_REGION_MAX];
} ferry_s3_redirects;
/* After a failed ferry_s3_xfer_finish: 1 = the answer named the bucket's
 * region (now recorded) and the request should be started again at once;
 * 0 = no redirect (err untouched); -1 = a second redirect of the same
 * request: err rewritten naming both regions (FERRY_ERR_CONFIG). */
int ferry_s3_follow_redirect(ferry_s3_xfer *x, ferry_s3_redirects *rd, ferry_error *err);

/* One complete request with retries (ferry_retry) - blocking; a region
 * redirect is followed once (not counted as an attempt). */
ferry_status ferry_s3_request(ferry_s3_client *c, ferry_s3_xfer *x, const ferry_s3_req *r, ferry_error *err);

/* "s3://bucket/key", "s3://bucket" or the endpoint, for messages. */
void ferry_s3_req_target(const ferry_s3_client *c, const ferry_s3_req *r, char *out, size_t cap);

/* Plan the next try of a failed non-blocking request (multipart parts):
 * returns 1 with *delay seconds to wait, or 0 to give up (err then says how
 * many attempts were made; status FERRY_ERR_TRANSIENT for transient causes). */
int ferry_s3_retry_plan(ferry_retry *r, ferry_error *err, double *delay);

/* ---- s3_list.c --------------------------------------------------------------- */

/* ListObjectsV2 of bucket under prefix, delimiter NULL = recursive, all pages. */
typedef ferry_status (*ferry_s3_object_fn)(void *ud, const char *key, const ferry_s3_page_entry *e,
                                           ferry_error *err);
ferry_status ferry_s3_list_objects(ferry_s3_client *c, const char *bucket, const char *prefix,
                                   const char *delimiter, ferry_s3_object_fn fn, void *ud, ferry_error *err);
/* ListMultipartUploads of bucket under prefix, all pages. */
typedef ferry_status (*ferry_s3_client_upload_fn)(void *ud, const char *key, const char *upload_id,
                                                  int64_t initiated, ferry_error *err);
ferry_status ferry_s3_client_list_uploads(ferry_s3_client *c, const char *bucket, const char *prefix,
                                          ferry_s3_client_upload_fn fn, void *ud, ferry_error *err);
/* The same; cleanup = 1: requests of the abort path (ignore cancellation). */
ferry_status ferry_s3_client_list_uploads_ex(ferry_s3_client *c, const char *bucket, const char *prefix, int cleanup,
                                             ferry_s3_client_upload_fn fn, void *ud, ferry_error *err);

/* ---- s3_resume.c ------------------------------------------------------------------ */

/* One stored part as the --resume state file records it. */
typedef struct ferry_s3_resume_part {
    int part;
    size_t size;
    char etag[128];
    char crc32c[12];        /* base64 of the part's CRC-32C (always recorded) */
    char md5[40];           /* hex, when the upload used Content-MD5, else "" */
} ferry_s3_resume_part;

/* A state file as read.  Strings and parts owned; ferry_s3_resume_release. */
typedef struct ferry_s3_resume_state {
    char *bucket, *key, *upload_id;
    size_t part_size;
    char checksum[8];       /* "crc32c", "md5", "none" */
    int64_t source_bytes;
    ferry_s3_resume_part *parts;
    int nparts;
} ferry_s3_resume_state;

/* *found 0 (and FERRY_OK) when path does not exist. */
ferry_status ferry_s3_resume_load(const char *path, ferry_s3_resume_state *st, int *found, ferry_error *err);
const ferry_s3_resume_part *ferry_s3_resume_find(const ferry_s3_resume_state *st, int part);
void ferry_s3_resume_release(ferry_s3_resume_state *st);
/* Write json to a new temp file "<tmp_prefix>XXXXXX" (ferry_tmpfile: O_EXCL,
 * 0600; tmp_prefix is "<dir>/<name prefix>"), fdatasync, rename to path. */
ferry_status ferry_s3_resume_save(const char *path, const char *tmp_prefix, const ferry_buf *json,
                                  ferry_error *err);
/* Append s as a JSON string literal; -1 on OOM. */
int ferry_s3_json_str(ferry_buf *b, const char *s);

/* ---- s3_orphans.c ---------------------------------------------------------------- */

/* Seconds before a CreateMultipartUpload that still count as "ours" when
 * cleaning up after it was interrupted (covers clock skew and second
 * granularity of Initiated). */
#define S3_ORPHAN_SLACK 60
/* Nonzero when an upload listed after an interrupted Create of key may be
 * the one that Create started: same key, initiated (unix s, -1 unknown)
 * known and not before since.  Unknown times are never taken. */
int ferry_s3_orphan_match(const char *key, const char *listed_key, int64_t initiated, int64_t since);
/* After a CreateMultipartUpload of bucket/key that failed without an answer
 * (interrupted, timed out, connection lost) while the server may have
 * processed it: list the uploads of key and abort those ferry_s3_orphan_match
 * takes (since = just before the request), except keep (may be NULL: the
 * upload a retried Create did get).  Ignores cancellation. *aborted
 * (may be NULL) receives how many were aborted. */
ferry_status ferry_s3_abort_orphans(ferry_s3_client *c, const char *bucket, const char *key, int64_t since,
                                    const char *keep, int *aborted, ferry_error *err);

/* ---- s3.c / s3_sink.c / s3_parallel.c / s3_source.c / s3_api.c ------------------------ */

/* The connection id shown in messages for an endpoint's connection. */
const char *ferry_s3_conn_id(const ferry_conn *conn);

/* ---- s3_ops.c ------------------------------------------------------------------ */

/* HEAD an object (key "" = the bucket): FERRY_OK with *exists 0 when absent
 * (404), 1 when present - then x->content_length, x->etag, x->last_modified
 * describe it; any other failure is returned. */
ferry_status ferry_s3_head_object(ferry_s3_client *c, ferry_s3_xfer *x, const char *bucket, const char *key,
                                  int *exists, ferry_error *err);
/* AbortMultipartUpload that ignores cancellation (cleanup path), then checks
 * with ListParts that the upload is really gone (repeats up to 3 times). */
ferry_status ferry_s3_client_abort_upload(ferry_s3_client *c, ferry_s3_xfer *x, const char *bucket, const char *key,
                                          const char *upload_id, ferry_error *err);
/* CreateBucket in the client's region; an existing bucket: FERRY_ERR_EXISTS. */
ferry_status ferry_s3_client_create_bucket(ferry_s3_client *c, const char *bucket, ferry_error *err);
/* DeleteObjects, Quiet, in batches of 1000 (keys borrowed). */
ferry_status ferry_s3_client_delete_objects(ferry_s3_client *c, const char *bucket, const char *const *keys,
                                            size_t n, size_t *deleted, ferry_error *err);
/* ListBuckets: owner display name (or ID) into owner, bucket count. One try.
 * code (may be NULL): S3's error Code of a refusal ("" none). */
ferry_status ferry_s3_list_buckets(ferry_s3_client *c, char *owner, size_t cap, size_t *nbuckets, char *code,
                                   size_t code_cap, ferry_error *err);

ferry_status ferry_s3_open_sink(const ferry_endpoint *ep, const ferry_copy_options *o,
                                ferry_writer **out, ferry_error *err);
/* For tests: wait up to timeout_ms until w, a writer of ferry_s3_open_sink, has
 * created its multipart upload (the uploader thread does, after the first
 * hand-off).  1 when it has; 0 on timeout, failure, or another writer. */
int ferry_s3_sink_wait_upload(ferry_writer *w, int timeout_ms);
ferry_status ferry_s3_open_source(const ferry_endpoint *ep, const ferry_copy_options *o,
                                  ferry_source **out, ferry_error *err);
/* n writers (one per thread) feeding one multipart upload, range order (ferry/stream.h). */
ferry_status ferry_s3_open_ranged_sink(const ferry_endpoint *ep, const ferry_copy_options *o, int n,
                                       ferry_ranged_sink **out, ferry_error *err);

/* Server-side copy with an explicit multipart threshold and part size (tests
 * use small ones; the public call uses 5 GiB and 512 MiB). */
struct ferry_s3_put_attrs;
/* attrs (borrowed, may be NULL = none asked): s3_attrs.h.  CopyObject keeps
 * the source's metadata and tags unless attrs asks new ones; the multipart
 * way (UploadPartCopy) carries them over itself (HeadObject + GetObjectTagging
 * of the source onto CreateMultipartUpload). */
ferry_status ferry_s3_copy_object(ferry_s3_client *c, const char *src_bucket, const char *src_key,
                                  const char *dst_bucket, const char *dst_key, int replace,
                                  const struct ferry_s3_put_attrs *attrs, uint64_t multipart_threshold,
                                  uint64_t part_size, ferry_error *err);

#endif
