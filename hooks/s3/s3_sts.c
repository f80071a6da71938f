/*
 * hooks/s3/s3_sts.c - STS AssumeRole and AssumeRoleWithWebIdentity: the
 * Query API as a form POST (Action=...&Version=2011-06-15), AssumeRole
 * signed with SigV4 for service "sts" with the base credentials,
 * AssumeRoleWithWebIdentity unsigned (the token is the proof).  Sent
 * through the curl engine (s3_creds_http.c) to the regional endpoint
 * sts.REGION.amazonaws.com, or to the connection's endpoint_url for
 * S3-compatible stores that serve STS (radosgw, MinIO).
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ferry/log.h"
#include "hooks/s3/s3_creds.h"
#include "hooks/s3/s3_internal.h"

static int form_add(ferry_buf *b, const char *name, const char *value)
{
    size_t vl = strlen(value);
    size_t need = ferry_sigv4_uri_encode(value, vl, 1, NULL, 0);
    int rc = ferry_buf_appendf(b, "%s%s=", b->len ? "&" : "", name);
    if (rc || ferry_buf_reserve(b, need) != 0)
        return -1;
    ferry_sigv4_uri_encode(value, vl, 1, b->data + b->len, need + 1);
    b->len += need;
    return 0;
}

/* Airflow passes Tags as boto3 does: [{"Key": k, "Value": v}, ...]; a plain
 * {"k": "v"} object is taken too. */
static int add_tags(ferry_buf *b, const char *json)
{
    json_error_t jerr;
    json_t *root = json_loads(json, 0, &jerr);
    if (!root)
        return -1;
    int rc = 0, n = 0;
    char name[64];
    if (json_is_array(root)) {
        size_t i;
        json_t *t;
        json_array_foreach(root, i, t) {
            json_t *k = json_object_get(t, "Key"), *v = json_object_get(t, "Value");
            if (!json_is_string(k) || !json_is_string(v)) {
                rc = -1;
                break;
            }
            n++;
            snprintf(name, sizeof name, "Tags.member.%d.Key", n);
            rc |= form_add(b, name, json_string_value(k));
            snprintf(name, sizeof name, "Tags.member.%d.Value", n);
            rc |= form_add(b, name, json_string_value(v));
        }
    } else if (json_is_object(root)) {
        const char *k;
        json_t *v;
        json_object_foreach(root, k, v) {
            if (!json_is_string(v)) {
                rc = -1;
                break;
            }
            n++;
            snprintf(name, sizeof name, "Tags.member.%d.Key", n);
            rc |= form_add(b, name, k);
            snprintf(name, sizeof name, "Tags.member.%d.Value", n);
            rc |= form_add(b, name, json_string_value(v));
        }
    } else {
        rc = -1;
    }
    json_decref(root);
    return rc;
}

ferry_status ferry_s3_sts_assume(const ferry_s3_sts_call *c, ferry_s3_credset **out, ferry_error *err)
{
    *out = NULL;
    const char *action = c->base ? "AssumeRole" : "AssumeRoleWithWebIdentity";
    char what[64];
    snprintf(what, sizeof what, "STS %s", action);
    ferry_status st = FERRY_OK;
    ferry_buf body = {0}, resp = {0}, url = {0};
    struct curl_slist *hdrs = NULL;
    ferry_sigv4_signed sig;
    memset(&sig, 0, sizeof sig);
    char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL;
    CURLU *u = curl_url();

    int rc = form_add(&body, "Action", action);
    rc |= form_add(&body, "Version", "2011-06-15");
    rc |= form_add(&body, "RoleArn", c->role_arn);
    rc |= form_add(&body, "RoleSessionName", c->session_name);
    if (c->duration > 0) {
        char d[24];
        snprintf(d, sizeof d, "%ld", c->duration);
        rc |= form_add(&body, "DurationSeconds", d);
    }
    if (c->base && c->external_id)
        rc |= form_add(&body, "ExternalId", c->external_id);
    if (!c->base)
        rc |= form_add(&body, "WebIdentityToken", c->web_token ? c->web_token : "");
    if (rc) {
        st = ferry_error_oom(err, "s3", NULL, NULL);
        goto out;
    }
    if (c->base && c->tags_json && add_tags(&body, c->tags_json) != 0) {
        st = ferry_error_hook(err, FERRY_ERR_CONFIG, "s3", c->conn_id,
                              "assume_role_kwargs Tags must be [{\"Key\": ..., \"Value\": ...}, ...]");
        goto out;
    }
    if (!u || curl_url_set(u, CURLUPART_URL, c->url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
        st = ferry_error_hook(err, FERRY_ERR_CONFIG, "s3", c->conn_id, "STS endpoint '%s' is not a URL", c->url);
        goto out;
    }
    (void)curl_url_get(u, CURLUPART_PORT, &port, 0);
    (void)curl_url_get(u, CURLUPART_PATH, &path, 0);
    char hostport[512];
    int https = strcmp(scheme, "https") == 0;
    if (port && !((https && !strcmp(port, "443")) || (!https && !strcmp(port, "80"))))
        snprintf(hostport, sizeof hostport, "%s:%s", host, port);
    else
        snprintf(hostport, sizeof hostport, "%s", host);
    size_t plen = path ? strlen(path) : 0;
    while (plen > 0 && path[plen - 1] == '/')
        plen--;
    rc = ferry_buf_appendf(&url, "%s://%s%.*s/", scheme, hostport, (int)plen, path ? path : "");
    if (rc) {
        st = ferry_error_oom(err, "s3", NULL, NULL);
        goto out;
    }
    const char *ctype = "application/x-www-form-urlencoded; charset=utf-8";
    char line[256];
    snprintf(line, sizeof line, "Content-Type: %s", ctype);
    hdrs = curl_slist_append(hdrs, line);
    hdrs = hdrs ? curl_slist_append(hdrs, "Expect:") : NULL;
    if (!hdrs) {
        st = ferry_error_oom(err, "s3", NULL, NULL);
        goto out;
    }
    if (c->base) {
        char hash[65];
        if (ferry_sha256_hex(body.data, body.len, hash) != FERRY_OK) {
            st = ferry_error_set(err, FERRY_ERR_INTERNAL, "s3: SHA-256 failed");
            goto out;
        }
        ferry_sigv4_kv h[1] = {{"Content-Type", ctype}};
        char spath[512];
        snprintf(spath, sizeof spath, "%.*s/", (int)plen, path ? path : "");
        ferry_sigv4_credentials creds = {c->base->access_key, c->base->secret_key, c->base->session_token};
        ferry_sigv4_request sreq;
        memset(&sreq, 0, sizeof sreq);
        sreq.method = "POST";
        sreq.host = hostport;
        sreq.path = spath;
        sreq.headers = h;
        sreq.nheaders = 1;
        sreq.payload_hash = hash;
        sreq.region = c->region;
        sreq.service = "sts";
        sreq.when = time(NULL);
        st = ferry_sigv4_sign_headers(&creds, &sreq, &sig, err);
        if (st != FERRY_OK) {
            ferry_error_prefix(err, "s3(%s): signing %s", c->conn_id, what);
            goto out;
        }
        char *l = NULL;
        struct curl_slist *n = NULL;
        if (asprintf(&l, "x-amz-date: %s", sig.amz_date) >= 0) {
            n = curl_slist_append(hdrs, l);
            free(l);
        }
        hdrs = n ? n : hdrs;
        rc = n ? 0 : -1;
        if (c->base->session_token) {
            l = NULL;
            n = NULL;
            if (asprintf(&l, "x-amz-security-token: %s", c->base->session_token) >= 0) {
                n = curl_slist_append(hdrs, l);
                explicit_bzero(l, strlen(l));
                free(l);
            }
            hdrs = n ? n : hdrs;
            rc |= n ? 0 : -1;
        }
        l = NULL;
        n = NULL;
        if (asprintf(&l, "Authorization: %s", sig.authorization) >= 0) {
            n = curl_slist_append(hdrs, l);
            free(l);
        }
        hdrs = n ? n : hdrs;
        rc |= n ? 0 : -1;
        if (rc) {
            st = ferry_error_oom(err, "s3", NULL, NULL);
            goto out;
        }
    }
    ferry_s3_http q = {
        .method = "POST", .url = url.data, .headers = hdrs, .body = body.data, .body_len = body.len,
        .connect_timeout = c->connect_timeout, .stall_after = 60, .verify = c->verify,
        .ca_bundle = c->ca_bundle, .conn_id = c->conn_id, .what = what,
    };
    long status = 0;
    st = ferry_s3_http_call(&q, &resp, &status, err);
    if (st != FERRY_OK)
        goto out;
    char code[64], msg[512];
    int r = ferry_s3_parse_sts(resp.data, resp.len, out, code, sizeof code, msg, sizeof msg);
    if (status >= 200 && status < 300 && r == 1) {
        if (ferry_log_enabled(FERRY_LOG_DEBUG))
            ferry_log(FERRY_LOG_DEBUG, "s3(%s): %s %s as session %s: access key %s, expires in %lld s",
                      c->conn_id, what, c->role_arn, c->session_name, (*out)->access_key,
                      (long long)((*out)->expiration ? (*out)->expiration - time(NULL) : 0));
        goto out;
    }
    ferry_s3_credset_free(*out);
    *out = NULL;
    if (r == 0 || status >= 400) {
        char shown[200];
        ferry_s3_printable(resp.data, resp.len, shown, sizeof shown);
        st = ferry_error_hook(err, status >= 500 ? FERRY_ERR_TRANSIENT : FERRY_ERR_CONNECT, "s3", c->conn_id,
                              "%s of %s at %s failed: HTTP %ld %s: %s", what, c->role_arn, url.data, status,
                              code[0] ? code : ferry_s3_http_reason(status), msg[0] ? msg : shown);
    } else {
        st = ferry_error_hook(err, FERRY_ERR_CONNECT, "s3", c->conn_id,
                              "%s of %s at %s: the answer (HTTP %ld) holds no credentials", what, c->role_arn,
                              url.data, status);
    }
out:
    curl_slist_free_all(hdrs);
    ferry_sigv4_signed_free(&sig);
    if (body.data)
        explicit_bzero(body.data, body.len);
    ferry_buf_release(&body);
    if (resp.data)
        explicit_bzero(resp.data, resp.len);
    ferry_buf_release(&resp);
    ferry_buf_release(&url);
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_free(path);
    curl_url_cleanup(u);
    return st;
}
