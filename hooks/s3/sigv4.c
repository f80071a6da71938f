/*
 * hooks/s3/sigv4.c - AWS Signature Version 4 signing for the S3 hook.
 *
 * Builds the canonical request, the string to sign and the signature exactly
 * as AWS specifies them (S3 flavour: the path is encoded once and never
 * normalised unless asked), on OpenSSL libcrypto: SHA-256 through EVP digests,
 * HMAC-SHA256 through HMAC() with EVP_sha256().  Self-contained: it needs only
 * the ferry_status / ferry_error types (header only), core/buf.c,
 * core/encode.c and libcrypto, so the unit test links it alone.
 *
 * No global state.  Every buffer is built in a local growing string; the only
 * copies of secret material (the "AWS4" + secret scratch key and the derived
 * keys) are wiped with OPENSSL_cleanse before release.  Error messages are
 * fixed strings and never include the secret, the session token or a key.
 */
#if !defined(_GNU_SOURCE) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L /* gmtime_r */
#endif

#include "sigv4.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "core/buf.h"
#include "core/encode.h"

/* ---- errors ------------------------------------------------------------------- */

/* Fill err (when given) with a fixed, secret-free message. Returns status. */
static ferry_status fail(ferry_error *err, ferry_status status, const char *msg)
{
    if (err) {
        err->status = status;
        err->transient = 0;
        snprintf(err->msg, sizeof err->msg, "sigv4: %s", msg);
    }
    return status;
}

static ferry_status oom(ferry_error *err)
{
    return fail(err, FERRY_ERR_INTERNAL, "out of memory");
}

/* ---- growing string ------------------------------------------------------------- */

/* Strings are built in a ferry_buf (core/buf.h) owned by whoever declared
 * it; failure is sticky, so builders append and check once (ferry_buf_take
 * or .failed). */
static void sb_putc(ferry_buf *sb, char c)
{
    ferry_buf_append(sb, &c, 1);
}

/* ---- URI encoding --------------------------------------------------------------- */

static int is_unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '.' || c == '_' || c == '~';
}

static const char HEX_UPPER[] = "0123456789ABCDEF";

static void sb_uri_encode(ferry_buf *sb, const char *in, size_t len, int encode_slash)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)in[i];
        if (is_unreserved(c) || (c == '/' && !encode_slash)) {
            sb_putc(sb, (char)c);
        } else {
            char e[3] = {'%', HEX_UPPER[c >> 4], HEX_UPPER[c & 15]};
            ferry_buf_append(sb, e, 3);
        }
    }
}

size_t ferry_sigv4_uri_encode(const char *in, size_t len, int encode_slash, char *out,
                              size_t outsz)
{
    size_t need = 0, w = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)in[i];
        char e[3];
        size_t n;
        if (is_unreserved(c) || (c == '/' && !encode_slash)) {
            e[0] = (char)c;
            n = 1;
        } else {
            e[0] = '%';
            e[1] = HEX_UPPER[c >> 4];
            e[2] = HEX_UPPER[c & 15];
            n = 3;
        }
        need += n;
        for (size_t k = 0; k < n; k++)
            if (outsz && w + 1 < outsz)
                out[w++] = e[k];
    }
    if (outsz)
        out[w] = '\0';
    return need;
}

/* ---- SHA-256 ------------------------------------------------------------------------ */

ferry_status ferry_sha256_hex(const void *data, size_t len, char out[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (!data && len)
        return FERRY_ERR_USAGE;
    if (EVP_Digest(len ? data : "", len, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32) {
        out[0] = '\0';
        return FERRY_ERR_INTERNAL;
    }
    ferry_hex_encode(md, 32, out);
    return FERRY_OK;
}

ferry_status ferry_sha256_init(ferry_sha256_ctx *ctx)
{
    ctx->md = EVP_MD_CTX_new();
    if (!ctx->md)
        return FERRY_ERR_INTERNAL;
    if (EVP_DigestInit_ex(ctx->md, EVP_sha256(), NULL) != 1) {
        ferry_sha256_cleanup(ctx);
        return FERRY_ERR_INTERNAL;
    }
    return FERRY_OK;
}

ferry_status ferry_sha256_update(ferry_sha256_ctx *ctx, const void *data, size_t len)
{
    if (!ctx->md || (!data && len))
        return FERRY_ERR_USAGE;
    if (len && EVP_DigestUpdate(ctx->md, data, len) != 1)
        return FERRY_ERR_INTERNAL;
    return FERRY_OK;
}

ferry_status ferry_sha256_final_hex(ferry_sha256_ctx *ctx, char out[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    out[0] = '\0';
    if (!ctx->md)
        return FERRY_ERR_USAGE;
    int ok = EVP_DigestFinal_ex(ctx->md, md, &mdlen) == 1 && mdlen == 32;
    ferry_sha256_cleanup(ctx);
    if (!ok)
        return FERRY_ERR_INTERNAL;
    ferry_hex_encode(md, 32, out);
    return FERRY_OK;
}

void ferry_sha256_cleanup(ferry_sha256_ctx *ctx)
{
    if (ctx && ctx->md) {
        EVP_MD_CTX_free(ctx->md);
        ctx->md = NULL;
    }
}

/* ---- time ---------------------------------------------------------------------------- */

ferry_status ferry_sigv4_format_time(time_t t, char amz_date[17], char date_stamp[9])
{
    struct tm tm;
    if (!gmtime_r(&t, &tm) || tm.tm_year < -1900 || tm.tm_year > 9999 - 1900)
        return FERRY_ERR_USAGE;
    if (amz_date && strftime(amz_date, 17, "%Y%m%dT%H%M%SZ", &tm) != 16)
        return FERRY_ERR_INTERNAL;
    if (date_stamp && strftime(date_stamp, 9, "%Y%m%d", &tm) != 8)
        return FERRY_ERR_INTERNAL;
    return FERRY_OK;
}

/* ---- signing key --------------------------------------------------------------------- */

static int hmac256(const unsigned char *key, size_t keylen, const void *data, size_t len,
                   unsigned char out[32])
{
    unsigned int outlen = 0;
    if (keylen > 0x7fffffff)
        return 0;
    if (!HMAC(EVP_sha256(), key, (int)keylen, (const unsigned char *)data, len, out, &outlen))
        return 0;
    return outlen == 32;
}

void ferry_sigv4_key_wipe(ferry_sigv4_key *key)
{
    if (key)
        OPENSSL_cleanse(key, sizeof *key);
}

/* Characters allowed in a region, a service or a date stamp (they are joined
 * with '/' into the credential scope). */
static int scope_part_ok(const char *s)
{
    if (!s || !*s)
        return 0;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.'))
            return 0;
    }
    return 1;
}

ferry_status ferry_sigv4_derive_key(const char *secret_access_key, const char *date_stamp,
                                    const char *region, const char *service,
                                    ferry_sigv4_key *out, ferry_error *err)
{
    memset(out, 0, sizeof *out);
    if (!secret_access_key || !*secret_access_key)
        return fail(err, FERRY_ERR_USAGE, "missing secret access key");
    if (!scope_part_ok(date_stamp) || !scope_part_ok(region) || !scope_part_ok(service))
        return fail(err, FERRY_ERR_USAGE, "bad date, region or service for the credential scope");

    size_t slen = strlen(secret_access_key);
    size_t klen = 4 + slen;
    unsigned char *ksecret = malloc(klen);
    if (!ksecret)
        return oom(err);
    memcpy(ksecret, "AWS4", 4);
    memcpy(ksecret + 4, secret_access_key, slen);

    int ok = hmac256(ksecret, klen, date_stamp, strlen(date_stamp), out->k_date) &&
             hmac256(out->k_date, 32, region, strlen(region), out->k_region) &&
             hmac256(out->k_region, 32, service, strlen(service), out->k_service) &&
             hmac256(out->k_service, 32, "aws4_request", 12, out->k_signing);

    OPENSSL_cleanse(ksecret, klen);
    free(ksecret);
    if (!ok) {
        ferry_sigv4_key_wipe(out);
        return fail(err, FERRY_ERR_INTERNAL, "HMAC-SHA256 failed");
    }
    return FERRY_OK;
}

/* ---- validation helpers ------------------------------------------------------------------ */

/* RFC 7230 tchar: what a method or a header name may contain. */
static int is_tchar(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

static int token_ok(const char *s)
{
    if (!s || !*s)
        return 0;
    for (; *s; s++)
        if (!is_tchar((unsigned char)*s))
            return 0;
    return 1;
}

/* A header value (or anything sent in one) must not carry CR, LF or other
 * control characters except horizontal tab. */
static int value_ok(const char *s)
{
    if (!s)
        return 0;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return 0;
    }
    return 1;
}

/* Host: printable, no spaces, no '/', non-empty. */
static int host_ok(const char *s)
{
    if (!s || !*s)
        return 0;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c <= 0x20 || c == 0x7f || c == '/' || c == '?' || c == '#' || c == '@')
            return 0;
    }
    return 1;
}

/* Access key id: printable, and none of the separators of the Credential field. */
static int access_key_ok(const char *s)
{
    if (!s || !*s)
        return 0;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c <= 0x20 || c >= 0x7f || c == '/' || c == ',' || c == '=' || c == ';')
            return 0;
    }
    return 1;
}

static int has_token(const ferry_sigv4_credentials *creds)
{
    return creds->session_token && *creds->session_token;
}

/* ---- canonical URI ------------------------------------------------------------------------ */

typedef struct seg {
    const char *p;
    size_t n;
} seg;

/* Append the canonical URI of path: encoded once, '/' kept.  With normalize,
 * "." and ".." segments are resolved and empty segments dropped first (a
 * trailing '/' survives, as RFC 3986 remove_dot_segments keeps it). */
static void canonical_uri(ferry_buf *sb, const char *path, int normalize)
{
    if (!path || !*path)
        path = "/";
    if (!normalize) {
        if (path[0] != '/')
            sb_putc(sb, '/');
        sb_uri_encode(sb, path, strlen(path), 0);
        return;
    }

    size_t plen = strlen(path);
    seg *segs = malloc((plen / 2 + 2) * sizeof *segs);
    if (!segs) {
        sb->failed = 1;
        return;
    }
    size_t nsegs = 0;
    int trailing = 0;
    const char *p = path;
    while (*p) {
        while (*p == '/')
            p++;
        if (!*p) {
            trailing = 1;
            break;
        }
        const char *start = p;
        while (*p && *p != '/')
            p++;
        size_t n = (size_t)(p - start);
        trailing = 0;
        if (n == 1 && start[0] == '.') {
            trailing = 1;
        } else if (n == 2 && start[0] == '.' && start[1] == '.') {
            if (nsegs)
                nsegs--;
            trailing = 1;
        } else {
            segs[nsegs].p = start;
            segs[nsegs].n = n;
            nsegs++;
        }
        if (*p == '/' && !p[1])
            trailing = 1;
    }
    sb_putc(sb, '/');
    for (size_t i = 0; i < nsegs; i++) {
        if (i)
            sb_putc(sb, '/');
        sb_uri_encode(sb, segs[i].p, segs[i].n, 1);
    }
    if (nsegs && trailing)
        sb_putc(sb, '/');
    free(segs);
}

/* ---- canonical query -------------------------------------------------------------------------- */

typedef struct qpair {
    char *k; /* encoded, owned */
    char *v; /* encoded, owned */
} qpair;

static int qpair_cmp(const void *a, const void *b)
{
    const qpair *x = a, *y = b;
    int c = strcmp(x->k, y->k);
    return c ? c : strcmp(x->v, y->v);
}

static char *encode_dup(const char *s, int encode_slash)
{
    ferry_buf sb = {0};
    ferry_buf_append(&sb, "", 0);
    if (s)
        sb_uri_encode(&sb, s, strlen(s), encode_slash);
    return ferry_buf_take(&sb);
}

/* Encode, sort and join the raw pairs a[0..na) and b[0..nb) into sb. */
static ferry_status canonical_query(ferry_buf *sb, const ferry_sigv4_kv *a, size_t na,
                                    const ferry_sigv4_kv *b, size_t nb, ferry_error *err)
{
    size_t n = na + nb;
    if (!n)
        return FERRY_OK;
    qpair *q = calloc(n, sizeof *q);
    if (!q)
        return oom(err);
    ferry_status st = FERRY_OK;
    for (size_t i = 0; i < n; i++) {
        const ferry_sigv4_kv *kv = i < na ? &a[i] : &b[i - na];
        if (!kv->name || !*kv->name) {
            st = fail(err, FERRY_ERR_USAGE, "query parameter without a name");
            goto out;
        }
        q[i].k = encode_dup(kv->name, 1);
        q[i].v = encode_dup(kv->value, 1);
        if (!q[i].k || !q[i].v) {
            st = oom(err);
            goto out;
        }
    }
    qsort(q, n, sizeof *q, qpair_cmp);
    for (size_t i = 0; i < n; i++) {
        if (i)
            sb_putc(sb, '&');
        ferry_buf_appends(sb, q[i].k);
        sb_putc(sb, '=');
        ferry_buf_appends(sb, q[i].v);
    }
out:
    for (size_t i = 0; i < n; i++) {
        free(q[i].k);
        free(q[i].v);
    }
    free(q);
    return st;
}

/* ---- canonical headers ------------------------------------------------------------------------- */

typedef struct hdr {
    char *name;  /* lower-cased, owned */
    char *value; /* trimmed, inner whitespace runs collapsed to one space, owned */
    size_t order;
} hdr;

static int hdr_cmp(const void *a, const void *b)
{
    const hdr *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    if (c)
        return c;
    return x->order < y->order ? -1 : x->order > y->order;
}

static char *lower_dup(const char *s)
{
    size_t n = strlen(s);
    char *d = malloc(n + 1);
    if (!d)
        return NULL;
    for (size_t i = 0; i <= n; i++) {
        char c = s[i];
        d[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
    }
    return d;
}

static char *trim_dup(const char *s)
{
    size_t n = strlen(s), w = 0;
    char *d = malloc(n + 1);
    if (!d)
        return NULL;
    int pending_space = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == ' ' || c == '\t') {
            pending_space = w > 0;
            continue;
        }
        if (pending_space)
            d[w++] = ' ';
        pending_space = 0;
        d[w++] = c;
    }
    d[w] = '\0';
    return d;
}

static int is_managed(const char *lname)
{
    return !strcmp(lname, "host") || !strcmp(lname, "x-amz-date") ||
           !strcmp(lname, "authorization");
}

/* Collect, normalise and sort the headers to sign, then append the canonical
 * header block to creq and the signed header list to sh. */
static ferry_status canonical_headers(ferry_buf *creq, ferry_buf *sh, const ferry_sigv4_request *req,
                                      const ferry_sigv4_credentials *creds, const char *amz_date,
                                      const char *payload_hash, int presign, ferry_error *err)
{
    int sign_sha = !presign && (req->flags & FERRY_SIGV4_CONTENT_SHA256);
    int sign_token = !presign && has_token(creds);
    size_t extra = presign ? 0 : req->nheaders;
    size_t n = extra + 1 + (presign ? 0 : 1) + (size_t)sign_sha + (size_t)sign_token;
    hdr *h = calloc(n, sizeof *h);
    if (!h)
        return oom(err);
    ferry_status st = FERRY_OK;
    size_t k = 0;
    for (size_t i = 0; i < extra; i++, k++) {
        const ferry_sigv4_kv *kv = &req->headers[i];
        if (!token_ok(kv->name)) {
            st = fail(err, FERRY_ERR_USAGE, "bad header name");
            goto out;
        }
        if (!value_ok(kv->value)) {
            st = fail(err, FERRY_ERR_USAGE, "header value missing or holding control characters");
            goto out;
        }
        h[k].name = lower_dup(kv->name);
        h[k].value = trim_dup(kv->value);
        h[k].order = k;
        if (!h[k].name || !h[k].value) {
            k++;
            st = oom(err);
            goto out;
        }
        if (is_managed(h[k].name) ||
            (sign_sha && !strcmp(h[k].name, "x-amz-content-sha256")) ||
            (sign_token && !strcmp(h[k].name, "x-amz-security-token"))) {
            k++;
            st = fail(err, FERRY_ERR_USAGE, "a header the signer sets itself was passed in headers");
            goto out;
        }
    }
    const char *names[4], *values[4];
    size_t nm = 0;
    names[nm] = "host", values[nm++] = req->host;
    if (!presign)
        names[nm] = "x-amz-date", values[nm++] = amz_date;
    if (sign_sha)
        names[nm] = "x-amz-content-sha256", values[nm++] = payload_hash;
    if (sign_token)
        names[nm] = "x-amz-security-token", values[nm++] = creds->session_token;
    for (size_t i = 0; i < nm; i++, k++) {
        h[k].name = lower_dup(names[i]);
        h[k].value = trim_dup(values[i]);
        h[k].order = k;
        if (!h[k].name || !h[k].value) {
            k++;
            st = oom(err);
            goto out;
        }
    }
    qsort(h, k, sizeof *h, hdr_cmp);
    for (size_t i = 0; i < k; i++) {
        int same = i > 0 && !strcmp(h[i].name, h[i - 1].name);
        if (same) {
            sb_putc(creq, ',');
        } else {
            if (i) {
                sb_putc(creq, '\n');
                sb_putc(sh, ';');
            }
            ferry_buf_appends(creq, h[i].name);
            sb_putc(creq, ':');
            ferry_buf_appends(sh, h[i].name);
        }
        ferry_buf_appends(creq, h[i].value);
    }
    sb_putc(creq, '\n');
out:
    for (size_t i = 0; i < k; i++) {
        free(h[i].name);
        free(h[i].value);
    }
    free(h);
    return st;
}

/* ---- signing ---------------------------------------------------------------------------------- */

void ferry_sigv4_signed_free(ferry_sigv4_signed *s)
{
    if (!s)
        return;
    free(s->authorization);
    free(s->signed_headers);
    free(s->canonical_request);
    free(s->string_to_sign);
    memset(s, 0, sizeof *s);
}

static ferry_status check_common(const ferry_sigv4_credentials *creds,
                                 const ferry_sigv4_request *req, ferry_error *err)
{
    if (!creds || !req)
        return fail(err, FERRY_ERR_USAGE, "missing credentials or request");
    if (!access_key_ok(creds->access_key_id))
        return fail(err, FERRY_ERR_USAGE, "missing or malformed access key id");
    if (!creds->secret_access_key || !*creds->secret_access_key)
        return fail(err, FERRY_ERR_USAGE, "missing secret access key");
    if (has_token(creds) && !value_ok(creds->session_token))
        return fail(err, FERRY_ERR_USAGE, "session token holds control characters");
    if (!token_ok(req->method))
        return fail(err, FERRY_ERR_USAGE, "missing or malformed HTTP method");
    if (!host_ok(req->host))
        return fail(err, FERRY_ERR_USAGE, "missing or malformed host");
    if (!scope_part_ok(req->region) || !scope_part_ok(req->service))
        return fail(err, FERRY_ERR_USAGE, "missing or malformed region or service");
    if (req->nquery && !req->query)
        return fail(err, FERRY_ERR_USAGE, "nquery set without query");
    if (req->nheaders && !req->headers)
        return fail(err, FERRY_ERR_USAGE, "nheaders set without headers");
    return FERRY_OK;
}

/* The shared core: canonical request -> string to sign -> signature.
 * extra_query are the presign parameters (none for header auth). */
static ferry_status sign_core(const ferry_sigv4_credentials *creds, const ferry_sigv4_request *req,
                              const ferry_sigv4_kv *extra_query, size_t n_extra_query,
                              const char *payload_hash, int presign, ferry_sigv4_signed *out,
                              char **canon_uri_out, char **canon_query_out, ferry_error *err)
{
    ferry_buf creq = {0}, sh = {0}, uri = {0}, query = {0}, sts = {0};
    ferry_sigv4_key key;
    ferry_status st;
    char creq_hash[65];
    unsigned char sig[32];

    memset(&key, 0, sizeof key);
    canonical_uri(&uri, req->path, (req->flags & FERRY_SIGV4_NORMALIZE_PATH) != 0);
    ferry_buf_append(&query, "", 0);
    st = canonical_query(&query, req->query, req->nquery, extra_query, n_extra_query, err);
    if (st)
        goto out;
    if (uri.failed || query.failed) {
        st = oom(err);
        goto out;
    }

    ferry_buf_appends(&creq, req->method);
    sb_putc(&creq, '\n');
    ferry_buf_appends(&creq, uri.data);
    sb_putc(&creq, '\n');
    ferry_buf_appends(&creq, query.data);
    sb_putc(&creq, '\n');
    st = canonical_headers(&creq, &sh, req, creds, out->amz_date, payload_hash, presign, err);
    if (st)
        goto out;
    sb_putc(&creq, '\n');
    ferry_buf_append(&sh, "", 0);
    ferry_buf_appends(&creq, sh.data ? sh.data : "");
    sb_putc(&creq, '\n');
    ferry_buf_appends(&creq, payload_hash);
    if (creq.failed || sh.failed) {
        st = oom(err);
        goto out;
    }

    if (ferry_sha256_hex(creq.data, creq.len, creq_hash) != FERRY_OK) {
        st = fail(err, FERRY_ERR_INTERNAL, "SHA-256 failed");
        goto out;
    }
    ferry_buf_appends(&sts, "AWS4-HMAC-SHA256\n");
    ferry_buf_appends(&sts, out->amz_date);
    sb_putc(&sts, '\n');
    ferry_buf_appends(&sts, out->date_stamp);
    sb_putc(&sts, '/');
    ferry_buf_appends(&sts, req->region);
    sb_putc(&sts, '/');
    ferry_buf_appends(&sts, req->service);
    ferry_buf_appends(&sts, "/aws4_request\n");
    ferry_buf_appends(&sts, creq_hash);
    if (sts.failed) {
        st = oom(err);
        goto out;
    }

    st = ferry_sigv4_derive_key(creds->secret_access_key, out->date_stamp, req->region,
                                req->service, &key, err);
    if (st)
        goto out;
    if (!hmac256(key.k_signing, sizeof key.k_signing, sts.data, sts.len, sig)) {
        st = fail(err, FERRY_ERR_INTERNAL, "HMAC-SHA256 failed");
        goto out;
    }
    ferry_hex_encode(sig, sizeof sig, out->signature);

    out->canonical_request = ferry_buf_take(&creq);
    out->string_to_sign = ferry_buf_take(&sts);
    out->signed_headers = ferry_buf_take(&sh);
    if (!out->canonical_request || !out->string_to_sign || !out->signed_headers) {
        st = oom(err);
        goto out;
    }
    if (canon_uri_out && !(*canon_uri_out = ferry_buf_take(&uri))) {
        st = oom(err);
        goto out;
    }
    if (canon_query_out && !(*canon_query_out = ferry_buf_take(&query))) {
        st = oom(err);
        goto out;
    }
out:
    ferry_sigv4_key_wipe(&key);
    OPENSSL_cleanse(sig, sizeof sig);
    ferry_buf_release(&creq);
    ferry_buf_release(&sh);
    ferry_buf_release(&uri);
    ferry_buf_release(&query);
    ferry_buf_release(&sts);
    return st;
}

ferry_status ferry_sigv4_sign_headers(const ferry_sigv4_credentials *creds,
                                      const ferry_sigv4_request *req, ferry_sigv4_signed *out,
                                      ferry_error *err)
{
    if (!out)
        return fail(err, FERRY_ERR_USAGE, "missing output");
    memset(out, 0, sizeof *out);
    ferry_status st = check_common(creds, req, err);
    if (st)
        return st;
    const char *payload = req->payload_hash ? req->payload_hash : FERRY_SIGV4_EMPTY_SHA256;
    if (!*payload || !value_ok(payload))
        return fail(err, FERRY_ERR_USAGE, "malformed payload hash");
    if (ferry_sigv4_format_time(req->when, out->amz_date, out->date_stamp) != FERRY_OK)
        return fail(err, FERRY_ERR_USAGE, "signing time out of range");

    st = sign_core(creds, req, NULL, 0, payload, 0, out, NULL, NULL, err);
    if (st) {
        ferry_sigv4_signed_free(out);
        return st;
    }

    ferry_buf a = {0};
    ferry_buf_appends(&a, "AWS4-HMAC-SHA256 Credential=");
    ferry_buf_appends(&a, creds->access_key_id);
    sb_putc(&a, '/');
    ferry_buf_appends(&a, out->date_stamp);
    sb_putc(&a, '/');
    ferry_buf_appends(&a, req->region);
    sb_putc(&a, '/');
    ferry_buf_appends(&a, req->service);
    ferry_buf_appends(&a, "/aws4_request, SignedHeaders=");
    ferry_buf_appends(&a, out->signed_headers);
    ferry_buf_appends(&a, ", Signature=");
    ferry_buf_appends(&a, out->signature);
    out->authorization = ferry_buf_take(&a);
    if (!out->authorization) {
        ferry_sigv4_signed_free(out);
        return oom(err);
    }
    return FERRY_OK;
}

static int scheme_ok(const char *s)
{
    if (!s || !*s)
        return 0;
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')))
        return 0;
    for (; *s; s++) {
        char c = *s;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '+' || c == '-' || c == '.'))
            return 0;
    }
    return 1;
}

static int starts_with_x_amz(const char *s)
{
    static const char p[] = "x-amz-";
    for (size_t i = 0; i < sizeof p - 1; i++) {
        char c = s[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c != p[i])
            return 0;
    }
    return 1;
}

ferry_status ferry_sigv4_presign_url(const ferry_sigv4_credentials *creds,
                                     const ferry_sigv4_request *req, const char *scheme,
                                     long expires_seconds, char **url_out,
                                     ferry_sigv4_signed *debug, ferry_error *err)
{
    ferry_sigv4_signed local;
    ferry_sigv4_signed *out = debug ? debug : &local;
    memset(out, 0, sizeof *out);
    if (!url_out)
        return fail(err, FERRY_ERR_USAGE, "missing output");
    *url_out = NULL;
    ferry_status st = check_common(creds, req, err);
    if (st)
        return st;
    if (!scheme_ok(scheme))
        return fail(err, FERRY_ERR_USAGE, "missing or malformed URL scheme");
    if (expires_seconds < 1 || expires_seconds > 604800)
        return fail(err, FERRY_ERR_USAGE, "expiry must be between 1 and 604800 seconds");
    if (req->nheaders || (req->flags & FERRY_SIGV4_CONTENT_SHA256))
        return fail(err, FERRY_ERR_USAGE, "a presigned URL signs no header but host");
    for (size_t i = 0; i < req->nquery; i++)
        if (req->query[i].name && starts_with_x_amz(req->query[i].name) &&
            (!strcmp(req->query[i].name + 6, "Algorithm") ||
             !strcmp(req->query[i].name + 6, "Credential") ||
             !strcmp(req->query[i].name + 6, "Date") ||
             !strcmp(req->query[i].name + 6, "Expires") ||
             !strcmp(req->query[i].name + 6, "SignedHeaders") ||
             !strcmp(req->query[i].name + 6, "Security-Token") ||
             !strcmp(req->query[i].name + 6, "Signature")))
            return fail(err, FERRY_ERR_USAGE, "query holds a parameter the signer sets itself");
    if (ferry_sigv4_format_time(req->when, out->amz_date, out->date_stamp) != FERRY_OK)
        return fail(err, FERRY_ERR_USAGE, "signing time out of range");

    /* X-Amz-Credential = AK/scope (raw; encoded with the other parameters). */
    ferry_buf cred = {0};
    ferry_buf_appends(&cred, creds->access_key_id);
    sb_putc(&cred, '/');
    ferry_buf_appends(&cred, out->date_stamp);
    sb_putc(&cred, '/');
    ferry_buf_appends(&cred, req->region);
    sb_putc(&cred, '/');
    ferry_buf_appends(&cred, req->service);
    ferry_buf_appends(&cred, "/aws4_request");
    char *credential = ferry_buf_take(&cred);
    if (!credential)
        return oom(err);
    char expires[24];
    snprintf(expires, sizeof expires, "%ld", expires_seconds);

    ferry_sigv4_kv extra[6] = {
        {"X-Amz-Algorithm", "AWS4-HMAC-SHA256"},
        {"X-Amz-Credential", credential},
        {"X-Amz-Date", out->amz_date},
        {"X-Amz-Expires", expires},
        {"X-Amz-SignedHeaders", "host"},
        {"X-Amz-Security-Token", creds->session_token},
    };
    size_t nextra = has_token(creds) ? 6 : 5;

    char *curi = NULL, *cquery = NULL;
    st = sign_core(creds, req, extra, nextra, FERRY_SIGV4_UNSIGNED_PAYLOAD, 1, out, &curi,
                   &cquery, err);
    free(credential);
    if (st == FERRY_OK) {
        ferry_buf u = {0};
        ferry_buf_appends(&u, scheme);
        ferry_buf_appends(&u, "://");
        ferry_buf_appends(&u, req->host);
        ferry_buf_appends(&u, curi);
        sb_putc(&u, '?');
        ferry_buf_appends(&u, cquery);
        ferry_buf_appends(&u, "&X-Amz-Signature=");
        ferry_buf_appends(&u, out->signature);
        *url_out = ferry_buf_take(&u);
        if (!*url_out)
            st = oom(err);
    }
    free(curi);
    free(cquery);
    if (st || !debug)
        ferry_sigv4_signed_free(out);
    return st;
}
