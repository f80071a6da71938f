/*
 * hooks/s3/s3_ssec.c - SSE-C (customer-provided keys): reading a key from a
 * file or an extra, the header values, which operations send them, and the
 * message when the server refuses an object for want of the right key.  See
 * s3_ssec.h for the rules.
 */
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "core/encode.h"
#include "ferry/log.h"
#include "hooks/s3/s3_ssec.h"

/* AWS's list of the operations that take the SSE-C headers of the object
 * (and, for copies, of the copy source).  CompleteMultipartUpload is not one
 * of them: the upload was keyed at Create and every UploadPart. */
static const struct {
    const char *op;
    unsigned what;
} ssec_ops[] = {
    {"PutObject", FERRY_S3_SSEC_OBJECT},
    {"CreateMultipartUpload", FERRY_S3_SSEC_OBJECT},
    {"UploadPart", FERRY_S3_SSEC_OBJECT},
    {"GetObject", FERRY_S3_SSEC_OBJECT},
    {"HeadObject", FERRY_S3_SSEC_OBJECT},
    {"CopyObject", FERRY_S3_SSEC_OBJECT | FERRY_S3_SSEC_SOURCE},
    {"UploadPartCopy", FERRY_S3_SSEC_OBJECT | FERRY_S3_SSEC_SOURCE},
};

unsigned ferry_s3_ssec_ops(const char *op)
{
    if (!op)
        return 0;
    for (size_t i = 0; i < sizeof ssec_ops / sizeof ssec_ops[0]; i++)
        if (strcmp(op, ssec_ops[i].op) == 0)
            return ssec_ops[i].what;
    return 0;
}

void ferry_s3_ssec_key_from_raw(const unsigned char raw[FERRY_S3_SSEC_KEY_LEN], ferry_s3_ssec_key *k)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    memset(k, 0, sizeof *k);
    ferry_base64_encode(raw, FERRY_S3_SSEC_KEY_LEN, k->key_b64, sizeof k->key_b64);
    if (EVP_Digest(raw, FERRY_S3_SSEC_KEY_LEN, md, &mdlen, EVP_md5(), NULL) == 1 && mdlen == 16)
        ferry_base64_encode(md, 16, k->md5_b64, sizeof k->md5_b64);
    k->set = k->key_b64[0] && k->md5_b64[0];
    /* the base64 form is what travels in headers: never in a message */
    ferry_secret_add(k->key_b64);
}

ferry_status ferry_s3_ssec_key_from_b64(const char *b64, const char *what, ferry_status bad,
                                        ferry_s3_ssec_key *k, ferry_error *err)
{
    unsigned char raw[64];
    size_t n = strlen(b64);
    while (n > 0 && strchr(" \t\r\n", b64[n - 1]))
        n--;
    long got = n == 44 ? ferry_base64_decode(b64, n, raw, sizeof raw) : -1;
    if (got != FERRY_S3_SSEC_KEY_LEN) {
        explicit_bzero(raw, sizeof raw);
        return ferry_error_set(err, bad ? bad : FERRY_ERR_USAGE,
                               "s3: %s is not an SSE-C key: it must be 44 characters of base64 "
                               "of 32 bytes (AES-256)",
                               what);
    }
    ferry_s3_ssec_key_from_raw(raw, k);
    explicit_bzero(raw, sizeof raw);
    return FERRY_OK;
}

ferry_status ferry_s3_ssec_key_from_file(const char *path, const char *what, ferry_status bad,
                                         ferry_s3_ssec_key *k, ferry_error *err)
{
    if (!bad)
        bad = FERRY_ERR_USAGE;
    unsigned char buf[128];
    size_t n = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ferry_error_set(err, bad, "s3: %s '%s': cannot read it: %s", what, path, strerror(errno));
    for (;;) {
        ssize_t r = read(fd, buf + n, sizeof buf - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            close(fd);
            explicit_bzero(buf, sizeof buf);
            return ferry_error_set(err, bad, "s3: %s '%s': cannot read it: %s", what, path, strerror(e));
        }
        if (r == 0 || (n += (size_t)r) == sizeof buf)
            break;
    }
    close(fd);
    ferry_status st = FERRY_OK;
    if (n == FERRY_S3_SSEC_KEY_LEN) {
        ferry_s3_ssec_key_from_raw(buf, k);
    } else {
        size_t t = n;
        while (t > 0 && strchr(" \t\r\n", buf[t - 1]))
            t--;
        unsigned char raw[96];
        long got = t == 44 ? ferry_base64_decode((const char *)buf, t, raw, sizeof raw) : -1;
        if (got == FERRY_S3_SSEC_KEY_LEN)
            ferry_s3_ssec_key_from_raw(raw, k);
        else
            st = ferry_error_set(err, bad,
                                 "s3: %s '%s' holds no SSE-C key: it must hold exactly 32 bytes, or "
                                 "44 characters of base64 of 32 bytes (%s%zu bytes read)",
                                 what, path, n == sizeof buf ? "at least " : "", n);
        explicit_bzero(raw, sizeof raw);
    }
    explicit_bzero(buf, sizeof buf);
    return st;
}

ferry_status ferry_s3_ssec_load(const ferry_conn *conn, const char *conn_id, const ferry_copy_options *o,
                                ferry_s3_ssec **out, ferry_error *err)
{
    *out = NULL;
    ferry_s3_ssec s;
    memset(&s, 0, sizeof s);
    ferry_status st = FERRY_OK;
    const char *opt_key = o ? o->s3_sse_c_key_file : NULL;
    const char *opt_src = o ? o->s3_sse_c_copy_source_key_file : NULL;
    const char *x_b64 = conn ? ferry_conn_extra(conn, "sse_customer_key") : NULL;
    const char *x_file = conn ? ferry_conn_extra(conn, "sse_c_key_file") : NULL;
    char what[160];
    if (opt_key && *opt_key) {
        st = ferry_s3_ssec_key_from_file(opt_key, "--sse-c-key file", FERRY_ERR_USAGE, &s.object, err);
    } else if (x_b64 && *x_b64) {
        snprintf(what, sizeof what, "the extra sse_customer_key of connection '%s'", conn_id ? conn_id : "");
        st = ferry_s3_ssec_key_from_b64(x_b64, what, FERRY_ERR_CONFIG, &s.object, err);
    } else if (x_file && *x_file) {
        snprintf(what, sizeof what, "sse_c_key_file of connection '%s'", conn_id ? conn_id : "");
        st = ferry_s3_ssec_key_from_file(x_file, what, FERRY_ERR_CONFIG, &s.object, err);
    }
    if (st == FERRY_OK) {
        if (opt_src && strcmp(opt_src, "none") == 0)
            ; /* the copy source is not SSE-C */
        else if (opt_src && *opt_src)
            st = ferry_s3_ssec_key_from_file(opt_src, "--sse-c-copy-source-key file", FERRY_ERR_USAGE,
                                             &s.source, err);
        else
            s.source = s.object;
    }
    if (st == FERRY_OK && (s.object.set || s.source.set)) {
        ferry_s3_ssec *p = malloc(sizeof *p);
        if (!p)
            st = ferry_error_set(err, FERRY_ERR_INTERNAL, "s3: out of memory");
        else {
            *p = s;
            *out = p;
        }
    }
    explicit_bzero(&s, sizeof s);
    return st;
}

void ferry_s3_ssec_free(ferry_s3_ssec *s)
{
    if (!s)
        return;
    explicit_bzero(s, sizeof *s);
    free(s);
}

void ferry_s3_ssec_for_reading(ferry_s3_ssec *s)
{
    if (s)
        s->object = s->source;
}

void ferry_s3_ssec_swap(ferry_s3_ssec *s)
{
    if (!s)
        return;
    ferry_s3_ssec_key t = s->object;
    s->object = s->source;
    s->source = t;
    explicit_bzero(&t, sizeof t);
}

static size_t put3(ferry_sigv4_kv *out, size_t n, const char *prefix, const ferry_s3_ssec_key *k)
{
    /* the names are constants: one table per prefix */
    static const char *const obj[3] = {"x-amz-server-side-encryption-customer-algorithm",
                                       "x-amz-server-side-encryption-customer-key",
                                       "x-amz-server-side-encryption-customer-key-MD5"};
    static const char *const src[3] = {"x-amz-copy-source-server-side-encryption-customer-algorithm",
                                       "x-amz-copy-source-server-side-encryption-customer-key",
                                       "x-amz-copy-source-server-side-encryption-customer-key-MD5"};
    const char *const *names = prefix ? src : obj;
    out[n].name = names[0];
    out[n++].value = "AES256";
    out[n].name = names[1];
    out[n++].value = k->key_b64;
    out[n].name = names[2];
    out[n++].value = k->md5_b64;
    return n;
}

size_t ferry_s3_ssec_headers(const ferry_s3_ssec *s, const char *op, const ferry_sigv4_kv *in, size_t n,
                             ferry_sigv4_kv *out)
{
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        out[m++] = in[i];
    if (!s)
        return m;
    unsigned what = ferry_s3_ssec_ops(op);
    if ((what & FERRY_S3_SSEC_OBJECT) && s->object.set)
        m = put3(out, m, NULL, &s->object);
    if ((what & FERRY_S3_SSEC_SOURCE) && s->source.set)
        m = put3(out, m, "copy-source", &s->source);
    return m;
}

ferry_status ferry_s3_ssec_explain(ferry_s3_ssec *s, const char *op, long http_status, const char *code,
                                   ferry_status st, char *detail, size_t cap)
{
    unsigned what = ferry_s3_ssec_ops(op);
    if ((what & FERRY_S3_SSEC_SOURCE) && http_status == 501 && s && (s->object.set || s->source.set)) {
        s->copy_refused = 1;
        size_t len = strlen(detail);
        if (len < cap)
            snprintf(detail + len, cap - len, " (this server does not implement server-side copies with "
                                              "SSE-C keys)");
        return st;
    }
    if (!(what & FERRY_S3_SSEC_OBJECT) || (http_status != 400 && http_status != 403))
        return st;
    /* only reads name a key problem: a write with a key cannot mismatch */
    int reads = strcmp(op, "GetObject") == 0 || strcmp(op, "HeadObject") == 0 ||
                (what & FERRY_S3_SSEC_SOURCE);
    if (!reads)
        return st;
    const ferry_s3_ssec_key *k = (what & FERRY_S3_SSEC_SOURCE) ? (s ? &s->source : NULL) : (s ? &s->object : NULL);
    int keyed = k && k->set;
    code = code ? code : "";
    /* no error code: only a HEAD's answer has no body to carry one; a GET's
     * bodiless or non-S3 (a proxy's HTML) 400 is not about keys */
    int no_code = code[0] == '\0' && strcmp(op, "HeadObject") == 0;
    const char *hint = NULL;
    if (!keyed && http_status == 400 && (no_code || strcmp(code, "InvalidRequest") == 0 ||
                                         strcmp(code, "InvalidArgument") == 0))
        hint = (what & FERRY_S3_SSEC_SOURCE)
                   ? "the copy source is encrypted with SSE-C: its key is needed (--sse-c-copy-source-key "
                     "FILE, --sse-c-key FILE or the connection extra sse_customer_key)"
                   : "the object is encrypted with SSE-C: an SSE-C key is needed (--sse-c-key FILE or the "
                     "connection extra sse_customer_key)";
    else if (keyed && (http_status == 403 || no_code || strcmp(code, "InvalidRequest") == 0 ||
                       strcmp(code, "InvalidArgument") == 0 || strcmp(code, "AccessDenied") == 0))
        hint = (what & FERRY_S3_SSEC_SOURCE)
                   ? "the SSE-C key given for the copy source does not match the object's (or the "
                     "source is not SSE-C encrypted)"
                   : "the SSE-C key does not match the object's (or the object is not SSE-C "
                     "encrypted)";
    if (!hint)
        return st;
    size_t len = strlen(detail);
    if (len < cap)
        snprintf(detail + len, cap - len, " (%s)", hint);
    return FERRY_ERR_CONNECT;
}

ferry_status ferry_s3_ssec_take_source(ferry_s3_ssec **dst, const ferry_s3_ssec *src, ferry_error *err)
{
    if (!src || !src->source.set) {
        if (*dst)
            explicit_bzero(&(*dst)->source, sizeof (*dst)->source);
        return FERRY_OK;
    }
    if (!*dst) {
        *dst = calloc(1, sizeof **dst);
        if (!*dst)
            return ferry_error_set(err, FERRY_ERR_INTERNAL, "s3: out of memory");
    }
    (*dst)->source = src->source;
    return FERRY_OK;
}
