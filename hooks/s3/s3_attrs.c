/*
 * hooks/s3/s3_attrs.c - the attributes an S3 write carries: SSE-S3 / SSE-KMS,
 * storage class, Content-Type / Content-Encoding, user metadata, tags, canned
 * ACL, requester pays (s3_attrs.h).  One place resolves and validates them
 * (the copy options over the connection's extra_args, modelled on Airflow's
 * S3Hook(extra_args=...), i.e. boto3's upload ExtraArgs) and builds the
 * headers of every kind of write: PutObject and CreateMultipartUpload carry
 * them all; CopyObject keeps the source's metadata and tags (directive COPY)
 * unless new ones are asked (REPLACE).  UploadPart / Complete carry none.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "ferry/log.h"
#include "hooks/s3/s3_attrs.h"
#include "hooks/s3/s3_internal.h"

/* A field of o the caller's struct is long enough to hold. */
#define OPT_HAS(o, f) ((o) && (o)->struct_size >= offsetof(ferry_copy_options, f) + sizeof((o)->f))

static const char *const storage_classes[] = {
    "STANDARD", "REDUCED_REDUNDANCY", "STANDARD_IA", "ONEZONE_IA", "INTELLIGENT_TIERING", "GLACIER",
    "DEEP_ARCHIVE", "OUTPOSTS", "GLACIER_IR", "SNOW", "EXPRESS_ONEZONE", NULL,
};

static const char *const canned_acls[] = {
    "private", "public-read", "public-read-write", "authenticated-read", "aws-exec-read",
    "bucket-owner-read", "bucket-owner-full-control", NULL,
};

/* extra_args keys ferry reads (boto3's ALLOWED_UPLOAD_ARGS names) */
static const char *const known_args[] = {
    "ServerSideEncryption", "SSEKMSKeyId", "BucketKeyEnabled", "StorageClass", "ContentType",
    "ContentEncoding", "Metadata", "Tagging", "ACL", "RequestPayer", NULL,
};

static int in_list(const char *const *l, const char *s)
{
    for (; *l; l++)
        if (strcmp(*l, s) == 0)
            return 1;
    return 0;
}

static ferry_status oom(ferry_error *err)
{
    return ferry_error_oom(err, "s3", NULL, NULL);
}

static ferry_status bad(ferry_error *err, const char *what, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static ferry_status bad(ferry_error *err, const char *what, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return ferry_error_set(err, FERRY_ERR_USAGE, "s3: %s: %s", what, msg);
}

/* ---- the default content type --------------------------------------------------------- */

static int ends_with_ci(const char *s, size_t n, const char *ext)
{
    size_t e = strlen(ext);
    return n >= e && strncasecmp(s + n - e, ext, e) == 0;
}

static const char *type_of(const char *name, size_t n, const char *enc)
{
    static const struct { const char *ext, *type; } map[] = {
        {".csv", "text/csv"},
        {".tsv", "text/tab-separated-values"},
        {".jsonl", "application/x-ndjson"},
        {".ndjson", "application/x-ndjson"},
        {".json", "application/json"},
        {".parquet", "application/vnd.apache.parquet"},
        {".txt", "text/plain"},
    };
    if (ends_with_ci(name, n, ".gz")) {
        if (enc && strstr(enc, "gzip"))
            return type_of(name, n - 3, NULL);
        return "application/gzip";
    }
    if (ends_with_ci(name, n, ".zst")) {
        if (enc && strstr(enc, "zstd"))
            return type_of(name, n - 4, NULL);
        return "application/zstd";
    }
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (ends_with_ci(name, n, map[i].ext) && n > strlen(map[i].ext))
            return map[i].type;
    return "application/octet-stream";
}

const char *ferry_s3_content_type_for(const char *name, const char *content_encoding)
{
    if (!name)
        return "application/octet-stream";
    const char *slash = strrchr(name, '/');
    const char *base = slash ? slash + 1 : name;
    return type_of(base, strlen(base), content_encoding);
}

/* ---- validation ------------------------------------------------------------------------- */

/* Printable US-ASCII (what S3 takes in a header value), non-empty unless may_be_empty. */
static int printable(const char *s, int may_be_empty)
{
    if (!*s && !may_be_empty)
        return 0;
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
            return 0;
    return 1;
}

/* An HTTP token (RFC 9110): what a header name may hold. */
static int token(const char *s, size_t n)
{
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (!(isalnum(ch) || strchr("!#$%&'*+-.^_`|~", ch)))
            return 0;
    }
    return 1;
}

static ferry_status set_str(char **dst, const char *v, ferry_error *err)
{
    free(*dst);
    *dst = strdup(v);
    return *dst ? FERRY_OK : oom(err);
}

static ferry_status check_sse(ferry_s3_put_attrs *a, const char *v, const char *what, ferry_error *err)
{
    if (strcmp(v, "AES256") != 0 && strcmp(v, "aws:kms") != 0)
        return bad(err, what, "'%s' is not one of AES256, aws:kms", v);
    return set_str(&a->sse, v, err);
}

static ferry_status check_storage_class(ferry_s3_put_attrs *a, const char *v, const char *what, ferry_error *err)
{
    if (!in_list(storage_classes, v))
        return bad(err, what,
                   "unknown storage class '%s' (STANDARD, REDUCED_REDUNDANCY, STANDARD_IA, ONEZONE_IA, "
                   "INTELLIGENT_TIERING, GLACIER, DEEP_ARCHIVE, OUTPOSTS, GLACIER_IR, SNOW, EXPRESS_ONEZONE)",
                   v);
    return set_str(&a->storage_class, v, err);
}

static ferry_status check_acl(ferry_s3_put_attrs *a, const char *v, const char *what, ferry_error *err)
{
    if (!in_list(canned_acls, v))
        return bad(err, what,
                   "unknown canned ACL '%s' (private, public-read, public-read-write, authenticated-read, "
                   "aws-exec-read, bucket-owner-read, bucket-owner-full-control)",
                   v);
    return set_str(&a->acl, v, err);
}

static ferry_status check_content_type(ferry_s3_put_attrs *a, const char *v, const char *what, ferry_error *err)
{
    const char *slash = strchr(v, '/');
    if (!printable(v, 0) || strlen(v) > 255 || !slash || !token(v, (size_t)(slash - v)))
        return bad(err, what, "'%s' is not a media type (type/subtype[; parameters], printable ASCII)", v);
    a->content_type_given = 1;
    return set_str(&a->content_type, v, err);
}

static ferry_status check_content_encoding(ferry_s3_put_attrs *a, const char *v, const char *what,
                                           ferry_error *err)
{
    for (const char *p = v; *p; p++)
        if (!(isalnum((unsigned char)*p) || strchr("-_.+, ", *p)))
            return bad(err, what, "'%s' is not a content coding (e.g. gzip, zstd, br)", v);
    if (!*v || strlen(v) > 128)
        return bad(err, what, "'%s' is not a content coding (e.g. gzip, zstd, br)", v);
    return set_str(&a->content_encoding, v, err);
}

static void meta_clear(ferry_s3_put_attrs *a)
{
    for (size_t i = 0; i < a->nmeta; i++) {
        free(a->meta_names[i]);
        free(a->meta_values[i]);
    }
    free(a->meta_names);
    free(a->meta_values);
    a->meta_names = a->meta_values = NULL;
    a->nmeta = 0;
    a->metadata_given = 0;
}

/* One metadata pair (key of klen bytes). */
static ferry_status meta_add(ferry_s3_put_attrs *a, const char *k, size_t klen, const char *v, const char *what,
                             size_t *bytes, ferry_error *err)
{
    char key[160];
    if (!token(k, klen) || klen >= sizeof key - 16)
        return bad(err, what, "the key of '%s' is empty or not a header name (letters, digits, -_.!#$%%&'*+^`|~)",
                   k);
    if (!printable(v, 1))
        return bad(err, what, "the value of '%s' holds non-ASCII or control characters (S3 sends metadata "
                              "as header text)",
                   k);
    snprintf(key, sizeof key, "x-amz-meta-%.*s", (int)klen, k);
    for (char *p = key; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    for (size_t i = 0; i < a->nmeta; i++)
        if (strcmp(a->meta_names[i], key) == 0)
            return bad(err, what, "the key of '%s' is given twice (keys are case-insensitive)", k);
    *bytes += klen + strlen(v);
    if (*bytes > S3_MAX_METADATA_BYTES)
        return bad(err, what, "more than 2 KB of metadata (S3's limit), at '%s'", k);
    char **n = realloc(a->meta_names, (a->nmeta + 1) * sizeof *n);
    if (!n)
        return oom(err);
    a->meta_names = n;
    char **vv = realloc(a->meta_values, (a->nmeta + 1) * sizeof *vv);
    if (!vv)
        return oom(err);
    a->meta_values = vv;
    a->meta_names[a->nmeta] = strdup(key);
    a->meta_values[a->nmeta] = strdup(v);
    if (!a->meta_names[a->nmeta] || !a->meta_values[a->nmeta]) {
        free(a->meta_names[a->nmeta]);
        free(a->meta_values[a->nmeta]);
        return oom(err);
    }
    a->nmeta++;
    a->metadata_given = 1;
    return FERRY_OK;
}

/* Tags: key 1-128 bytes, value 0-256, no control characters, at most 10,
 * keys unique; appended to b URL-encoded as S3's x-amz-tagging wants. */
static ferry_status tag_add(ferry_buf *b, size_t *ntags, const char *k, size_t klen, const char *v,
                            const char *what, ferry_error *err)
{
    if (klen == 0 || klen > 128 || strlen(v) > 256)
        return bad(err, what, "'%s': a tag key takes 1 to 128 characters, a value up to 256", k);
    for (size_t i = 0; i < klen; i++)
        if ((unsigned char)k[i] < 0x20 || k[i] == 0x7f)
            return bad(err, what, "the key of '%s' holds control characters", k);
    for (const char *p = v; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return bad(err, what, "the value of '%s' holds control characters", k);
    if (*ntags == S3_MAX_TAGS)
        return bad(err, what, "more than 10 tags (S3's limit), at '%s'", k);
    /* keys unique: compare against the encoded ones already there */
    ferry_buf enc = {0};
    size_t need = ferry_sigv4_uri_encode(k, klen, 1, NULL, 0);
    if (ferry_buf_reserve(&enc, need + 2) != 0)
        return oom(err);
    ferry_sigv4_uri_encode(k, klen, 1, enc.data, need + 1);
    enc.len = need;
    enc.data[enc.len] = '\0';
    for (const char *p = b->data; p && *p;) {
        const char *eq = strchr(p, '=');
        if (eq && (size_t)(eq - p) == enc.len && memcmp(p, enc.data, enc.len) == 0) {
            ferry_buf_release(&enc);
            return bad(err, what, "the tag key of '%s' is given twice", k);
        }
        const char *amp = strchr(p, '&');
        p = amp ? amp + 1 : NULL;
    }
    int rc = 0;
    if (b->len)
        rc |= ferry_buf_append(b, "&", 1);
    rc |= ferry_buf_append(b, enc.data, enc.len);
    rc |= ferry_buf_append(b, "=", 1);
    size_t vn = strlen(v);
    need = ferry_sigv4_uri_encode(v, vn, 1, NULL, 0);
    rc |= ferry_buf_reserve(b, need + 1);
    if (rc == 0) {
        ferry_sigv4_uri_encode(v, vn, 1, b->data + b->len, need + 1);
        b->len += need;
        b->data[b->len] = '\0';
    }
    ferry_buf_release(&enc);
    if (rc)
        return oom(err);
    (*ntags)++;
    return FERRY_OK;
}

/* "k=v" items (n of them) as tags. */
static ferry_status tags_from_pairs(ferry_s3_put_attrs *a, const char *const *items, size_t n, const char *what,
                                    ferry_error *err)
{
    ferry_buf b = {0};
    size_t ntags = 0;
    ferry_status st = FERRY_OK;
    for (size_t i = 0; i < n && st == FERRY_OK; i++) {
        const char *eq = strchr(items[i], '=');
        if (!eq)
            st = bad(err, what, "'%s' is not key=value", items[i]);
        else
            st = tag_add(&b, &ntags, items[i], (size_t)(eq - items[i]), eq + 1, what, err);
    }
    if (st == FERRY_OK) {
        free(a->tagging);
        a->tagging = strdup(b.data ? b.data : "");
        if (!a->tagging)
            st = oom(err);
    }
    ferry_buf_release(&b);
    return st;
}

/* boto3's Tagging string "k=v&k2=v2" (URL-encoded): decoded, checked, encoded again. */
static ferry_status tags_from_query(ferry_s3_put_attrs *a, const char *q, const char *what, ferry_error *err)
{
    char *copy = strdup(q);
    if (!copy)
        return oom(err);
    const char *items[S3_MAX_TAGS + 1];
    size_t n = 0;
    ferry_status st = FERRY_OK;
    for (char *save = NULL, *p = strtok_r(copy, "&", &save); p; p = strtok_r(NULL, "&", &save)) {
        if (n == S3_MAX_TAGS + 1) {
            st = bad(err, what, "more than 10 tags (S3's limit) in '%s'", q);
            break;
        }
        char *eq = strchr(p, '=');
        if (!eq) {
            st = bad(err, what, "'%s' is not key=value", p);
            break;
        }
        /* decode key and value apart, keeping the '=' between them */
        *eq = '\0';
        size_t kl = ferry_s3_url_decode(p, strlen(p), 1);
        size_t vl = ferry_s3_url_decode(eq + 1, strlen(eq + 1), 1);
        p[kl] = '=';
        memmove(p + kl + 1, eq + 1, vl + 1);
        items[n++] = p;
    }
    if (st == FERRY_OK)
        st = tags_from_pairs(a, items, n, what, err);
    explicit_bzero(copy, strlen(q));
    free(copy);
    return st;
}

/* ---- the connection's extra_args -------------------------------------------------------------- */

static ferry_status from_extra_args(ferry_s3_put_attrs *a, const ferry_conn *conn, ferry_error *err)
{
    const char *text = conn ? ferry_conn_extra(conn, "extra_args") : NULL;
    if (!text || !*text)
        return FERRY_OK;
    const char *id = ferry_s3_conn_id(conn);
    json_error_t jerr;
    json_t *root = json_loads(text, 0, &jerr);
    if (!json_is_object(root)) {
        json_decref(root);
        return ferry_error_set(err, FERRY_ERR_CONFIG, "s3(%s): extra extra_args is not a JSON object", id);
    }
    ferry_status st = FERRY_OK;
    const char *k;
    json_t *v;
    char what[64];
    json_object_foreach(root, k, v) {
        snprintf(what, sizeof what, "extra_args.%s", k);
        if (!in_list(known_args, k)) {
            ferry_log(FERRY_LOG_WARN, "s3(%s): ignoring extra_args key '%s' (not used by the s3 hook)", id, k);
            continue;
        }
        if (strcmp(k, "Metadata") == 0) {
            if (!json_is_object(v)) {
                st = bad(err, what, "%snot a JSON object of strings", "");
                break;
            }
            size_t bytes = 0;
            const char *mk;
            json_t *mv;
            json_object_foreach(v, mk, mv) {
                if (!json_is_string(mv)) {
                    st = bad(err, what, "the value of '%s' is not a string", mk);
                    break;
                }
                st = meta_add(a, mk, strlen(mk), json_string_value(mv), what, &bytes, err);
                if (st != FERRY_OK)
                    break;
            }
            a->metadata_given = 1;
            if (st != FERRY_OK)
                break;
            continue;
        }
        if (strcmp(k, "BucketKeyEnabled") == 0) {
            if (!json_is_boolean(v)) {
                st = bad(err, what, "%snot true or false", "");
                break;
            }
            a->bucket_key = json_is_true(v);
            continue;
        }
        if (!json_is_string(v)) {
            st = bad(err, what, "%snot a string", "");
            break;
        }
        const char *s = json_string_value(v);
        if (strcmp(k, "ServerSideEncryption") == 0)
            st = check_sse(a, s, what, err);
        else if (strcmp(k, "SSEKMSKeyId") == 0)
            st = printable(s, 0) ? set_str(&a->kms_key_id, s, err) : bad(err, what, "'%s' is not printable ASCII", s);
        else if (strcmp(k, "StorageClass") == 0)
            st = check_storage_class(a, s, what, err);
        else if (strcmp(k, "ContentType") == 0)
            st = check_content_type(a, s, what, err);
        else if (strcmp(k, "ContentEncoding") == 0)
            st = check_content_encoding(a, s, what, err);
        else if (strcmp(k, "Tagging") == 0)
            st = tags_from_query(a, s, what, err);
        else if (strcmp(k, "ACL") == 0)
            st = check_acl(a, s, what, err);
        else if (strcmp(k, "RequestPayer") == 0) {
            if (strcmp(s, "requester") != 0)
                st = bad(err, what, "'%s' is not 'requester'", s);
            else
                a->requester_pays = 1;
        }
        if (st != FERRY_OK)
            break;
    }
    json_decref(root);
    return st;
}

/* ---- building the headers ------------------------------------------------------------------ */

static ferry_status build(ferry_s3_put_attrs *a, ferry_s3_put_kind kind, ferry_error *err)
{
    size_t cap = 12 + a->nmeta;
    ferry_sigv4_kv *kv = calloc(cap, sizeof *kv);
    if (!kv)
        return oom(err);
    size_t n = 0;
#define ADD(N, V) (kv[n].name = (N), kv[n].value = (V), n++)
    int replace_meta = a->metadata_given || a->content_type_given || a->content_encoding;
    int meta = kind == FERRY_S3_PUT_OBJECT || replace_meta;
    if (kind == FERRY_S3_PUT_COPY)
        ADD("x-amz-metadata-directive", replace_meta ? "REPLACE" : "COPY");
    if (meta) {
        if (a->content_type)
            ADD("Content-Type", a->content_type);
        if (a->content_encoding)
            ADD("Content-Encoding", a->content_encoding);
        for (size_t i = 0; i < a->nmeta; i++)
            ADD(a->meta_names[i], a->meta_values[i]);
    }
    if (a->tagging) {
        if (kind == FERRY_S3_PUT_COPY)
            ADD("x-amz-tagging-directive", "REPLACE");
        if (*a->tagging)
            ADD("x-amz-tagging", a->tagging);
    }
    if (a->sse)
        ADD("x-amz-server-side-encryption", a->sse);
    if (a->kms_key_id)
        ADD("x-amz-server-side-encryption-aws-kms-key-id", a->kms_key_id);
    if (a->bucket_key)
        ADD("x-amz-server-side-encryption-bucket-key-enabled", "true");
    if (a->storage_class)
        ADD("x-amz-storage-class", a->storage_class);
    if (a->acl)
        ADD("x-amz-acl", a->acl);
#undef ADD
    a->kv[kind] = kv;
    a->nkv[kind] = n;
    return FERRY_OK;
}

/* ---- load / release -------------------------------------------------------------------------- */

ferry_status ferry_s3_put_attrs_load(ferry_s3_put_attrs *a, const ferry_copy_options *o, const ferry_conn *conn,
                                     const char *key, ferry_error *err)
{
    memset(a, 0, sizeof *a);
    ferry_status st = from_extra_args(a, conn, err);
    if (st == FERRY_OK && conn && ferry_conn_extra_bool(conn, "requester_pays", 0) == 1)
        a->requester_pays = 1;
    /* the copy options win, field by field */
    if (st == FERRY_OK && OPT_HAS(o, s3_requester_pays)) {
        if (o->s3_sse)
            st = check_sse(a, o->s3_sse, "--sse", err);
        if (st == FERRY_OK && o->s3_sse_kms_key_id) {
            st = printable(o->s3_sse_kms_key_id, 0)
                     ? set_str(&a->kms_key_id, o->s3_sse_kms_key_id, err)
                     : bad(err, "--sse-kms-key-id", "'%s' is not printable ASCII", o->s3_sse_kms_key_id);
        }
        if (o->s3_sse_bucket_key)
            a->bucket_key = 1;
        if (st == FERRY_OK && o->s3_storage_class)
            st = check_storage_class(a, o->s3_storage_class, "--storage-class", err);
        if (st == FERRY_OK && o->s3_content_type)
            st = check_content_type(a, o->s3_content_type, "--content-type", err);
        if (st == FERRY_OK && o->s3_content_encoding)
            st = check_content_encoding(a, o->s3_content_encoding, "--content-encoding", err);
        if (st == FERRY_OK && o->n_s3_metadata) {
            meta_clear(a);
            size_t bytes = 0;
            for (size_t i = 0; i < o->n_s3_metadata && st == FERRY_OK; i++) {
                const char *m = o->s3_metadata[i];
                const char *eq = m ? strchr(m, '=') : NULL;
                st = eq ? meta_add(a, m, (size_t)(eq - m), eq + 1, "--metadata", &bytes, err)
                        : bad(err, "--metadata", "'%s' is not key=value", m);
            }
        }
        if (st == FERRY_OK && o->n_s3_tags)
            st = tags_from_pairs(a, o->s3_tags, o->n_s3_tags, "--tags", err);
        if (st == FERRY_OK && o->s3_acl)
            st = check_acl(a, o->s3_acl, "--acl", err);
        if (o->s3_requester_pays)
            a->requester_pays = 1;
    }
    if (st == FERRY_OK && !a->content_type_given) {
        /* the default from the name: always sent on uploads, so an object is
         * never the server's binary/octet-stream by accident */
        st = set_str(&a->content_type, ferry_s3_content_type_for(key, a->content_encoding), err);
    }
    /* combinations */
    if (st == FERRY_OK && a->kms_key_id && (!a->sse || strcmp(a->sse, "aws:kms") != 0))
        st = ferry_error_set(err, FERRY_ERR_USAGE, "s3: --sse-kms-key-id needs --sse aws:kms");
    if (st == FERRY_OK && a->bucket_key && (!a->sse || strcmp(a->sse, "aws:kms") != 0))
        st = ferry_error_set(err, FERRY_ERR_USAGE, "s3: --sse-bucket-key needs --sse aws:kms");
    for (int k = 0; k < FERRY_S3_PUT_KINDS && st == FERRY_OK; k++)
        st = build(a, (ferry_s3_put_kind)k, err);
    if (st != FERRY_OK)
        ferry_s3_put_attrs_release(a);
    return st;
}

void ferry_s3_put_attrs_release(ferry_s3_put_attrs *a)
{
    if (!a)
        return;
    meta_clear(a);
    free(a->sse);
    free(a->kms_key_id);
    free(a->storage_class);
    free(a->content_type);
    free(a->content_encoding);
    free(a->acl);
    free(a->tagging);
    for (int k = 0; k < FERRY_S3_PUT_KINDS; k++)
        free(a->kv[k]);
    memset(a, 0, sizeof *a);
}

int ferry_s3_put_attrs_any(const ferry_s3_put_attrs *a)
{
    return a->sse || a->kms_key_id || a->bucket_key || a->storage_class || a->content_type_given ||
           a->content_encoding || a->acl || a->tagging || a->metadata_given;
}

ferry_status ferry_s3_put_attrs_check(const ferry_copy_options *o, ferry_error *err)
{
    ferry_s3_put_attrs a;
    ferry_status st = ferry_s3_put_attrs_load(&a, o, NULL, "", err);
    if (st == FERRY_OK)
        ferry_s3_put_attrs_release(&a);
    return st;
}

int ferry_s3_requester_pays(const ferry_copy_options *o, const ferry_conn *conn)
{
    if (OPT_HAS(o, s3_requester_pays) && o->s3_requester_pays)
        return 1;
    if (!conn)
        return 0;
    if (ferry_conn_extra_bool(conn, "requester_pays", 0) == 1)
        return 1;
    const char *text = ferry_conn_extra(conn, "extra_args");
    if (!text || text[0] != '{')
        return 0;
    json_t *root = json_loads(text, 0, NULL);
    json_t *v = json_object_get(root, "RequestPayer");
    int yes = json_is_string(v) && strcmp(json_string_value(v), "requester") == 0;
    json_decref(root);
    return yes;
}

/* ---- multipart server-side copies ------------------------------------------------------------ */

typedef struct tag_parse {
    ferry_buf key;
    ferry_buf *out;
    int have_key;
    int failed;
} tag_parse;

static int suffix_is(const char *path, const char *suffix)
{
    size_t n = strlen(path), s = strlen(suffix);
    return n >= s && strcmp(path + n - s, suffix) == 0;
}

static int append_enc(ferry_buf *b, const char *s, size_t n)
{
    size_t need = ferry_sigv4_uri_encode(s, n, 1, NULL, 0);
    if (ferry_buf_reserve(b, need + 1) != 0)
        return -1;
    ferry_sigv4_uri_encode(s, n, 1, b->data + b->len, need + 1);
    b->len += need;
    return 0;
}

static ferry_status on_tag(void *ud, const char *path, const char *text, size_t len, ferry_error *err)
{
    (void)err;
    tag_parse *t = ud;
    if (suffix_is(path, "/Tag/Key")) {
        ferry_buf_reset(&t->key);
        t->failed |= ferry_buf_append(&t->key, text, len) != 0;
        t->have_key = 1;
    } else if (suffix_is(path, "/Tag/Value") && t->have_key) {
        if (t->out->len)
            t->failed |= ferry_buf_append(t->out, "&", 1) != 0;
        t->failed |= append_enc(t->out, t->key.data ? t->key.data : "", t->key.len) != 0;
        t->failed |= ferry_buf_append(t->out, "=", 1) != 0;
        t->failed |= append_enc(t->out, text, len) != 0;
        t->have_key = 0;
    }
    return FERRY_OK;
}

ferry_status ferry_s3_get_tagging(ferry_s3_client *c, ferry_s3_xfer *x, const char *bucket, const char *key,
                                  ferry_buf *out, ferry_error *err)
{
    ferry_buf_reset(out);
    ferry_s3_req r;
    memset(&r, 0, sizeof r);
    r.op = "GetObjectTagging";
    r.method = "GET";
    r.bucket = bucket;
    r.key = key;
    ferry_s3_req_query(&r, "tagging", "");
    ferry_status st = ferry_s3_request(c, x, &r, err);
    if (st != FERRY_OK)
        return st;
    if (x->resp.len == 0)
        return FERRY_OK;   /* radosgw 16 answers an empty body for an object without tags */
    tag_parse t = {.out = out};
    ferry_s3_xml xp;
    st = ferry_s3_xml_init(&xp, on_tag, &t, err);
    if (st == FERRY_OK)
        st = ferry_s3_xml_feed(&xp, x->resp.data ? x->resp.data : "", x->resp.len, 1, err);
    ferry_s3_xml_release(&xp);
    ferry_buf_release(&t.key);
    if (st == FERRY_OK && (t.failed || ferry_buf_reserve(out, 1) != 0))
        st = oom(err);
    if (st == FERRY_OK)
        out->data[out->len] = '\0';
    return st;
}

ferry_status ferry_s3_copy_create_headers(const ferry_s3_put_attrs *a, const ferry_buf *kept, const char *tagging,
                                          ferry_sigv4_kv **out, size_t *n, ferry_error *err)
{
    *out = NULL;
    *n = 0;
    static const ferry_s3_put_attrs none;
    if (!a)
        a = &none;
    int replace_meta = a->metadata_given || a->content_type_given || a->content_encoding;
    size_t nkept = 0;
    if (!replace_meta && kept)
        for (size_t i = 0; i < kept->len; i++)
            nkept += kept->data[i] == '\0';
    nkept /= 2;
    size_t cap = a->nkv[FERRY_S3_PUT_COPY_CREATE] + nkept + 1;
    ferry_sigv4_kv *kv = calloc(cap, sizeof *kv);
    if (!kv)
        return oom(err);
    size_t k = 0;
    const char *p = kept && nkept ? kept->data : NULL;
    for (size_t i = 0; i < nkept; i++) {
        kv[k].name = p;
        p += strlen(p) + 1;
        kv[k].value = p;
        p += strlen(p) + 1;
        k++;
    }
    if (!a->tagging && tagging && *tagging) {
        kv[k].name = "x-amz-tagging";
        kv[k].value = tagging;
        k++;
    }
    for (size_t i = 0; i < a->nkv[FERRY_S3_PUT_COPY_CREATE]; i++)
        kv[k++] = a->kv[FERRY_S3_PUT_COPY_CREATE][i];
    *out = kv;
    *n = k;
    return FERRY_OK;
}

void ferry_s3_put_attrs_hint(const ferry_s3_put_attrs *a, const char *s3_code, ferry_error *err)
{
    if (!err || err->status != FERRY_ERR_DATA || !s3_code)
        return;
    const char *hint = NULL;
    char buf[256];
    if (a->storage_class && strcmp(a->storage_class, "STANDARD") != 0 &&
        (strcmp(s3_code, "InvalidStorageClass") == 0 || strcmp(s3_code, "InvalidArgument") == 0)) {
        snprintf(buf, sizeof buf, " (the server may not know storage class %s: radosgw needs a placement "
                                  "target for it)", a->storage_class);
        hint = buf;
    } else if ((a->sse || a->kms_key_id) && (strcmp(s3_code, "InvalidRequest") == 0 ||
                                             strcmp(s3_code, "InvalidArgument") == 0 ||
                                             strcmp(s3_code, "KMS.NotFoundException") == 0)) {
        snprintf(buf, sizeof buf, " (server-side encryption %s refused: radosgw needs a KMS backend and, "
                                  "unless rgw_crypt_require_ssl is false, TLS)", a->sse ? a->sse : "");
        hint = buf;
    }
    if (hint && strlen(err->msg) + strlen(hint) < sizeof err->msg)
        strcat(err->msg, hint);
}
