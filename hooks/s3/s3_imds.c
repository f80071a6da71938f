/*
 * hooks/s3/s3_imds.c - credentials from the machine: EC2's instance
 * metadata service (IMDSv2 only: PUT /latest/api/token with
 * X-aws-ec2-metadata-token-ttl-seconds, then GET
 * /latest/meta-data/iam/security-credentials/ for the role name and
 * /latest/meta-data/iam/security-credentials/<role> for the credentials,
 * each with X-aws-ec2-metadata-token), and the ECS / EKS Pod Identity
 * container endpoint (GET the URI, Authorization from
 * AWS_CONTAINER_AUTHORIZATION_TOKEN or the file it names).  Off EC2 nothing
 * answers at 169.254.169.254: a 1 s connect timeout, a 2 s stall limit and
 * one attempt keep the chain from hanging.  Never through a proxy.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ferry/log.h"
#include "hooks/s3/s3_creds.h"
#include "hooks/s3/s3_internal.h"

static ferry_status get(const char *url, struct curl_slist *hdrs, const char *method, const char *conn_id,
                        const char *what, ferry_buf *resp, long *status, ferry_error *err)
{
    ferry_s3_http q = {
        .method = method, .url = url, .headers = hdrs, .connect_timeout = S3_IMDS_CONNECT_TIMEOUT,
        .stall_after = S3_IMDS_STALL, .verify = 1, .no_proxy = 1, .conn_id = conn_id, .what = what,
    };
    return ferry_s3_http_call(&q, resp, status, err);
}

ferry_status ferry_s3_imds_fetch(const char *endpoint, const char *conn_id, ferry_s3_credset **out,
                                 ferry_error *err)
{
    *out = NULL;
    ferry_buf url = {0}, resp = {0}, tokhdr = {0};
    struct curl_slist *h = NULL;
    long status = 0;
    ferry_status st;
    size_t elen = strlen(endpoint);
    while (elen > 0 && endpoint[elen - 1] == '/')
        elen--;

    if (ferry_buf_appendf(&url, "%.*s/latest/api/token", (int)elen, endpoint) ||
        !(h = curl_slist_append(NULL, "X-aws-ec2-metadata-token-ttl-seconds: 21600"))) {
        st = ferry_error_oom(err, "s3", NULL, NULL);
        goto out;
    }
    st = get(url.data, h, "PUT", conn_id, "IMDSv2 token", &resp, &status, err);
    if (st != FERRY_OK)
        goto out;
    if (status != 200 || resp.len == 0 || resp.len > 4096) {
        st = ferry_error_hook(err, FERRY_ERR_CONNECT, "s3", conn_id,
                              "IMDSv2 token PUT %s answered HTTP %ld (no token)", url.data, status);
        goto out;
    }
    ferry_secret_add(resp.data);
    if (ferry_buf_appendf(&tokhdr, "X-aws-ec2-metadata-token: %s", resp.data)) {
        st = ferry_error_oom(err, "s3", NULL, NULL);
        goto out;
    }
    curl_slist_free_all(h);
    h = curl_slist_append(NULL, tokhdr.data);
    ferry_buf_reset(&url);
    if (!h || ferry_buf_appendf(&url, "%.*s/latest/meta-data/iam/security-credentials/", (int)elen, endpoint)) {
        st = ferry_error_oom(err, "s3", NULL, NULL);
        goto out;
    }
    st = get(url.data, h, "GET", conn_id, "IMDS role name", &resp, &status, err);
    if (st != FERRY_OK)
        goto out;
    /* the first line is the role */
    size_t rl = 0;
    while (rl < resp.len && resp.data[rl] != '\n' && resp.data[rl] != '\r')
        rl++;
    if (status != 200 || rl == 0 || rl > 128) {
        st = ferry_error_hook(err, status == 404 ? FERRY_ERR_CONFIG : FERRY_ERR_CONNECT, "s3", conn_id,
                              "IMDS GET %s answered HTTP %ld: %s", url.data, status,
                              status == 404 ? "the instance has no IAM role (instance profile)" : "no role name");
        goto out;
    }
    char role[130];
    snprintf(role, sizeof role, "%.*s", (int)rl, resp.data);
    if (ferry_buf_appends(&url, role)) {
        st = ferry_error_oom(err, "s3", NULL, NULL);
        goto out;
    }
    st = get(url.data, h, "GET", conn_id, "IMDS credentials", &resp, &status, err);
    if (st != FERRY_OK)
        goto out;
    if (status != 200) {
        st = ferry_error_hook(err, FERRY_ERR_CONNECT, "s3", conn_id, "IMDS GET %s answered HTTP %ld", url.data,
                              status);
        goto out;
    }
    st = ferry_s3_parse_creds_json(resp.data, resp.len, S3_CREDS_JSON_IMDS, out, err);
    if (st != FERRY_OK)
        ferry_error_prefix(err, "s3(%s): IMDS GET %s", conn_id, url.data);
out:
    curl_slist_free_all(h);
    if (tokhdr.data)
        explicit_bzero(tokhdr.data, tokhdr.len);
    ferry_buf_release(&tokhdr);
    if (resp.data)
        explicit_bzero(resp.data, resp.len);
    ferry_buf_release(&resp);
    ferry_buf_release(&url);
    return st;
}

int ferry_s3_container_uri_ok(const char *url)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL;
    int ok = 0;
    if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK) {
        if (strcmp(scheme, "https") == 0)
            ok = 1;
        else if (strcmp(scheme, "http") == 0)
            ok = strncmp(host, "127.", 4) == 0 || strcmp(host, "[::1]") == 0 || strcmp(host, "::1") == 0 ||
                 strcasecmp(host, "localhost") == 0 || strcmp(host, "169.254.170.2") == 0 ||
                 strcmp(host, "169.254.170.23") == 0 || strcmp(host, "[fd00:ec2::23]") == 0;
    }
    curl_free(scheme);
    curl_free(host);
    curl_url_cleanup(u);
    return ok;
}

ferry_status ferry_s3_container_fetch(const char *url, const char *auth, const char *auth_file,
                                      const char *conn_id, ferry_s3_credset **out, ferry_error *err)
{
    *out = NULL;
    ferry_status st = FERRY_OK;
    ferry_buf hdr = {0}, resp = {0};
    struct curl_slist *h = NULL;
    char *file_tok = NULL;
    if (auth_file) {
        FILE *f = fopen(auth_file, "r");
        size_t cap = 0;
        ssize_t n = f ? getline(&file_tok, &cap, f) : -1;
        if (f)
            fclose(f);
        if (n <= 0) {
            free(file_tok);
            return ferry_error_hook(err, FERRY_ERR_CONFIG, "s3", conn_id,
                                    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE %s cannot be read", auth_file);
        }
        while (n > 0 && (file_tok[n - 1] == '\n' || file_tok[n - 1] == '\r'))
            file_tok[--n] = '\0';
        ferry_secret_add(file_tok);
        auth = file_tok;
    }
    if (auth && *auth) {
        if (strpbrk(auth, "\r\n")) {
            st = ferry_error_hook(err, FERRY_ERR_CONFIG, "s3", conn_id,
                                  "the container authorization token holds a line break");
            goto out;
        }
        if (ferry_buf_appendf(&hdr, "Authorization: %s", auth) || !(h = curl_slist_append(NULL, hdr.data))) {
            st = ferry_error_oom(err, "s3", NULL, NULL);
            goto out;
        }
    }
    long status = 0;
    st = get(url, h, "GET", conn_id, "container credentials", &resp, &status, err);
    if (st != FERRY_OK)
        goto out;
    if (status != 200) {
        st = ferry_error_hook(err, FERRY_ERR_CONNECT, "s3", conn_id, "container credentials GET %s answered HTTP %ld",
                              url, status);
        goto out;
    }
    st = ferry_s3_parse_creds_json(resp.data, resp.len, S3_CREDS_JSON_IMDS, out, err);
    if (st != FERRY_OK)
        ferry_error_prefix(err, "s3(%s): container credentials GET %s", conn_id, url);
out:
    curl_slist_free_all(h);
    if (hdr.data)
        explicit_bzero(hdr.data, hdr.len);
    ferry_buf_release(&hdr);
    if (resp.data)
        explicit_bzero(resp.data, resp.len);
    ferry_buf_release(&resp);
    if (file_tok) {
        explicit_bzero(file_tok, strlen(file_tok));
        free(file_tok);
    }
    return st;
}
