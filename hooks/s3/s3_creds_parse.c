/*
 * hooks/s3/s3_creds_parse.c - the pure parsers of the credential chain: STS
 * answers (XML), the credential JSON documents of credential_process, IMDS,
 * the container endpoint and the SSO portal, the SSO token cache, and the
 * credential_process command line (split like POSIX shlex, as the SDKs do).
 * No I/O; unit-tested in tests/unit/test_s3_creds.c.
 */
#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/log.h"
#include "hooks/s3/s3_creds.h"
#include "hooks/s3/s3_internal.h"

ferry_s3_credset *ferry_s3_credset_new(const char *ak, const char *sk, const char *token, int64_t expiration)
{
    ferry_s3_credset *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->refs = 1;
    s->access_key = strdup(ak ? ak : "");
    s->secret_key = strdup(sk ? sk : "");
    s->session_token = token && *token ? strdup(token) : NULL;
    s->expiration = expiration;
    if (!s->access_key || !s->secret_key || (token && *token && !s->session_token)) {
        ferry_s3_credset_free(s);
        return NULL;
    }
    ferry_secret_add(s->secret_key);
    if (s->session_token)
        ferry_secret_add(s->session_token);
    return s;
}

static void wipe_free(char *p)
{
    if (p) {
        explicit_bzero(p, strlen(p));
        free(p);
    }
}

void ferry_s3_credset_free(ferry_s3_credset *s)
{
    if (!s)
        return;
    free(s->access_key);
    wipe_free(s->secret_key);
    wipe_free(s->session_token);
    free(s);
}

/* ---- STS XML ------------------------------------------------------------------- */

typedef struct sts_ctx {
    ferry_buf ak, sk, token, exp;
    char *code;
    size_t code_cap;
    char *msg;
    size_t msg_cap;
    int is_error;
} sts_ctx;

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static void copy_cap(char *out, size_t cap, const char *t, size_t len)
{
    if (!out || !cap)
        return;
    if (len >= cap)
        len = cap - 1;
    memcpy(out, t, len);
    out[len] = '\0';
}

static ferry_status on_sts_end(void *ud, const char *path, const char *text, size_t len, ferry_error *err)
{
    (void)err;
    sts_ctx *c = ud;
    ferry_buf *dst = NULL;
    if (ends_with(path, "Credentials/AccessKeyId"))
        dst = &c->ak;
    else if (ends_with(path, "Credentials/SecretAccessKey"))
        dst = &c->sk;
    else if (ends_with(path, "Credentials/SessionToken"))
        dst = &c->token;
    else if (ends_with(path, "Credentials/Expiration"))
        dst = &c->exp;
    else if (ends_with(path, "Error/Code")) {
        c->is_error = 1;
        copy_cap(c->code, c->code_cap, text, len);
    } else if (ends_with(path, "Error/Message")) {
        c->is_error = 1;
        copy_cap(c->msg, c->msg_cap, text, len);
    }
    if (dst) {
        ferry_buf_reset(dst);
        if (ferry_buf_append(dst, text, len) != 0)
            return FERRY_ERR_INTERNAL;
    }
    return FERRY_OK;
}

int ferry_s3_parse_sts(const char *body, size_t len, ferry_s3_credset **out, char *code, size_t code_cap,
                       char *message, size_t msg_cap)
{
    *out = NULL;
    if (code && code_cap)
        code[0] = '\0';
    if (message && msg_cap)
        message[0] = '\0';
    sts_ctx c;
    memset(&c, 0, sizeof c);
    c.code = code;
    c.code_cap = code_cap;
    c.msg = message;
    c.msg_cap = msg_cap;
    ferry_s3_xml x;
    ferry_error e;
    int rc = -1;
    if (ferry_s3_xml_init(&x, on_sts_end, &c, &e) != FERRY_OK)
        goto out;
    ferry_status st = ferry_s3_xml_feed(&x, body ? body : "", len, 1, &e);
    ferry_s3_xml_release(&x);
    if (c.is_error) {
        rc = 0;
        goto out;
    }
    if (st != FERRY_OK || !c.ak.len || !c.sk.len)
        goto out;
    int64_t exp = c.exp.len ? ferry_s3_parse_iso8601(c.exp.data) : 0;
    if (exp < 0)
        goto out;
    *out = ferry_s3_credset_new(c.ak.data, c.sk.data, c.token.len ? c.token.data : NULL, exp);
    rc = *out ? 1 : -1;
out:
    ferry_buf_release(&c.ak);
    if (c.sk.data)
        explicit_bzero(c.sk.data, c.sk.len);
    ferry_buf_release(&c.sk);
    if (c.token.data)
        explicit_bzero(c.token.data, c.token.len);
    ferry_buf_release(&c.token);
    ferry_buf_release(&c.exp);
    return rc;
}

/* ---- JSON documents --------------------------------------------------------------- */

static const char *jstr(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

ferry_status ferry_s3_parse_creds_json(const char *text, size_t len, int kind, ferry_s3_credset **out,
                                       ferry_error *err)
{
    *out = NULL;
    const char *what = kind == S3_CREDS_JSON_PROCESS ? "credential_process output"
                       : kind == S3_CREDS_JSON_SSO   ? "SSO GetRoleCredentials answer"
                                                     : "credentials document";
    json_error_t jerr;
    json_t *root = json_loadb(text ? text : "", len, 0, &jerr);
    if (!json_is_object(root)) {
        json_decref(root);
        return ferry_error_set(err, FERRY_ERR_DATA, "%s is not a JSON object", what);
    }
    ferry_status st = FERRY_OK;
    json_t *o = root;
    const char *ak = NULL, *sk = NULL, *tok = NULL;
    int64_t exp = 0;
    if (kind == S3_CREDS_JSON_SSO) {
        o = json_object_get(root, "roleCredentials");
        if (!json_is_object(o)) {
            st = ferry_error_set(err, FERRY_ERR_DATA, "%s has no roleCredentials", what);
            goto out;
        }
        ak = jstr(o, "accessKeyId");
        sk = jstr(o, "secretAccessKey");
        tok = jstr(o, "sessionToken");
        json_t *e = json_object_get(o, "expiration");
        if (json_is_integer(e))
            exp = (int64_t)(json_integer_value(e) / 1000);
    } else {
        if (kind == S3_CREDS_JSON_PROCESS) {
            json_t *v = json_object_get(root, "Version");
            if (!json_is_integer(v) || json_integer_value(v) != 1) {
                st = ferry_error_set(err, FERRY_ERR_DATA, "%s: \"Version\" must be 1", what);
                goto out;
            }
        } else {
            const char *code = jstr(root, "Code");
            if (code && strcmp(code, "Success") != 0) {
                st = ferry_error_set(err, FERRY_ERR_DATA, "%s: Code is '%s', not Success", what, code);
                goto out;
            }
        }
        ak = jstr(root, "AccessKeyId");
        sk = jstr(root, "SecretAccessKey");
        tok = jstr(root, kind == S3_CREDS_JSON_PROCESS ? "SessionToken" : "Token");
        const char *e = jstr(root, "Expiration");
        if (e) {
            exp = ferry_s3_parse_iso8601(e);
            if (exp < 0) {
                st = ferry_error_set(err, FERRY_ERR_DATA, "%s: Expiration '%s' is not an ISO 8601 time",
                                     what, e);
                goto out;
            }
        }
    }
    if (!ak || !*ak || !sk || !*sk) {
        st = ferry_error_set(err, FERRY_ERR_DATA, "%s lacks the access key id or the secret access key", what);
        goto out;
    }
    *out = ferry_s3_credset_new(ak, sk, tok, exp);
    if (!*out)
        st = ferry_error_oom(err, "s3", NULL, NULL);
out:
    json_decref(root);
    return st;
}

ferry_status ferry_s3_parse_sso_cache(const char *text, size_t len, char **token, int64_t *expires,
                                      ferry_error *err)
{
    *token = NULL;
    *expires = 0;
    json_error_t jerr;
    json_t *root = json_loadb(text ? text : "", len, 0, &jerr);
    const char *t = json_is_object(root) ? jstr(root, "accessToken") : NULL;
    const char *e = json_is_object(root) ? jstr(root, "expiresAt") : NULL;
    ferry_status st = FERRY_OK;
    if (!t || !*t || !e)
        st = ferry_error_set(err, FERRY_ERR_CONFIG,
                             "the SSO token cache has no accessToken/expiresAt (run `aws sso login`)");
    else if ((*expires = ferry_s3_parse_iso8601(e)) < 0)
        st = ferry_error_set(err, FERRY_ERR_CONFIG, "the SSO token cache's expiresAt '%s' is not a time", e);
    else if (!(*token = strdup(t)))
        st = ferry_error_oom(err, "s3", NULL, NULL);
    else
        ferry_secret_add(*token);
    json_decref(root);
    return st;
}

void ferry_s3_sso_cache_name(const char *key, char out[46])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    out[0] = '\0';
    if (!EVP_Digest(key, strlen(key), md, &n, EVP_sha1(), NULL) || n != 20)
        return;
    for (unsigned i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
    memcpy(out + 40, ".json", 6);
}

/* ---- the credential_process command line -------------------------------------------- */

int ferry_s3_split_command(const char *cmd, char ***argv)
{
    *argv = NULL;
    size_t n = 0, cap = 4;
    char **v = calloc(cap + 1, sizeof *v);
    char *w = malloc(strlen(cmd) + 1);
    if (!v || !w) {
        free(v);
        free(w);
        return -2;
    }
    const char *p = cmd;
    int rc = 0;
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
            p++;
        if (!*p)
            break;
        size_t wl = 0;
        while (*p && *p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') {
            if (*p == '\'') {
                const char *e = strchr(p + 1, '\'');
                if (!e) {
                    rc = -1;
                    goto out;
                }
                memcpy(w + wl, p + 1, (size_t)(e - p - 1));
                wl += (size_t)(e - p - 1);
                p = e + 1;
            } else if (*p == '"') {
                p++;
                while (*p && *p != '"') {
                    if (*p == '\\' && (p[1] == '"' || p[1] == '\\' || p[1] == '$' || p[1] == '`'))
                        p++;
                    w[wl++] = *p++;
                }
                if (*p != '"') {
                    rc = -1;
                    goto out;
                }
                p++;
            } else if (*p == '\\' && p[1]) {
                w[wl++] = p[1];
                p += 2;
            } else {
                w[wl++] = *p++;
            }
        }
        if (n == cap) {
            char **nv = realloc(v, (cap * 2 + 1) * sizeof *v);
            if (!nv) {
                rc = -2;
                goto out;
            }
            v = nv;
            cap *= 2;
        }
        v[n] = strndup(w, wl);
        if (!v[n]) {
            rc = -2;
            goto out;
        }
        v[++n] = NULL;
    }
    if (n == 0)
        rc = -1;
out:
    free(w);
    if (rc != 0) {
        for (size_t i = 0; i < n; i++)
            free(v[i]);
        free(v);
        return rc;
    }
    *argv = v;
    return 0;
}
