/*
 * hooks/s3/s3_config.c - where an S3 request goes and as whom: the chain of
 * an Airflow "aws" connection, the AWS environment variables and the shared
 * files, in the order boto3 (and so Airflow) applies them.
 *
 *   credentials  the provider chain of s3_creds.c (keys, web identity, profiles
 *                with roles / SSO / credential_process, container, IMDSv2),
 *                then the extra role_arn; renewed before expiry
 *   STS          extra sts_endpoint_url -> service_config.sts.endpoint_url
 *                -> AWS_ENDPOINT_URL_STS -> profile sts.endpoint_url
 *                -> the S3 endpoint_url -> https://sts.<region>.amazonaws.com
 *   profile      extra profile_name -> AWS_PROFILE -> AWS_DEFAULT_PROFILE -> "default"
 *   region       extra region_name -> AWS_REGION -> AWS_DEFAULT_REGION
 *                -> profile region -> us-east-1
 *   endpoint     extra endpoint_url -> extra service_config.s3.endpoint_url
 *                -> AWS_ENDPOINT_URL_S3 -> AWS_ENDPOINT_URL
 *                -> profile s3.endpoint_url / endpoint_url -> https://s3.<region>.amazonaws.com
 *   addressing   extra addressing_style -> config_kwargs.s3.addressing_style
 *                -> service_config.s3.addressing_style -> profile s3.addressing_style
 *                -> path with an endpoint_url, else virtual (s3_addressing.c builds hosts)
 *   endpoints    use_dualstack_endpoint, use_fips_endpoint, use_accelerate_endpoint,
 *                us_east_1_regional_endpoint: extra -> config_kwargs[.s3] -> service_config.s3
 *                -> AWS_USE_DUALSTACK_ENDPOINT / AWS_USE_FIPS_ENDPOINT /
 *                AWS_S3_US_EAST_1_REGIONAL_ENDPOINT -> profile (s3.)key
 *   TLS          extra verify (true/false/CA path) -> extra ca_bundle -> AWS_CA_BUNDLE
 *                -> profile ca_bundle; verification is on unless verify=false
 *   timeouts     extras connect_timeout / read_timeout (or in config_kwargs)
 *   payload      extra unsigned_payload=true -> x-amz-content-sha256: UNSIGNED-PAYLOAD
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ferry/log.h"
#include "hooks/s3/s3_creds.h"
#include "hooks/s3/s3_internal.h"

const char *ferry_s3_conn_id(const ferry_conn *conn)
{
    if (!conn)
        return "";
    if (!conn->id || !*conn->id)
        return "inline";
    return conn->id;
}

static const char *env_get(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

static const char *extra(const ferry_conn *conn, const char *key)
{
    if (!conn)
        return NULL;
    const char *v = ferry_conn_extra(conn, key);
    return v && *v ? v : NULL;
}

/* $HOME/<rel> (owned) or NULL. */
static char *home_file(const char *rel)
{
    const char *home = env_get("HOME");
    if (!home)
        return NULL;
    char *p = NULL;
    if (asprintf(&p, "%s/%s", home, rel) < 0)
        return NULL;
    return p;
}

/* A string found inside the JSON text of a non-string extra: extra[k1][k2]
 * (k2 may be NULL).  Numbers are returned as their text.  Owned or NULL. */
static char *json_extra(const ferry_conn *conn, const char *name, const char *k1, const char *k2)
{
    const char *text = extra(conn, name);
    if (!text || text[0] != '{')
        return NULL;
    json_error_t jerr;
    json_t *root = json_loads(text, 0, &jerr);
    if (!root)
        return NULL;
    json_t *v = json_object_get(root, k1);
    if (v && k2)
        v = json_object_get(v, k2);
    char *out = NULL;
    if (json_is_string(v))
        out = strdup(json_string_value(v));
    else if (json_is_integer(v))
        (void)!asprintf(&out, "%lld", (long long)json_integer_value(v));
    else if (json_is_real(v))
        (void)!asprintf(&out, "%g", json_real_value(v));
    else if (json_is_boolean(v))
        out = strdup(json_is_true(v) ? "true" : "false");
    json_decref(root);
    return out;
}

typedef struct files {
    char *cred_path;
    char *config_path;
    char *config_section;
    char *cred_section;
} files;

/* The value of key in the profile, config file only. Owned or NULL. */
static char *profile_config(const files *f, const char *key)
{
    char *v = ferry_s3_profile_get(f->config_path, f->config_section, key);
    if (!v && strcmp(f->config_section, "default") == 0)
        v = ferry_s3_profile_get(f->config_path, "profile default", key);
    return v;
}

static ferry_status oom(ferry_error *err)
{
    return ferry_error_oom(err, "s3", NULL, NULL);
}

/* Every extra the S3 hook reads (Airflow's aws connection extras and
 * ferry's own); any other is named in a warning, once per client. */
static const char *const known_extras[] = {
    "aws_access_key_id", "aws_secret_access_key", "aws_session_token", "region_name", "profile_name",
    "role_arn", "assume_role_method", "assume_role_kwargs", "assume_role_with_web_identity_token_file",
    "assume_role_with_web_identity_federation",
    "endpoint_url", "sts_endpoint_url", "service_config", "config_kwargs", "addressing_style", "verify",
    "ca_bundle", "connect_timeout", "read_timeout", "unsigned_payload", "checksum", "bucket_name",
    "sse_customer_key", "sse_c_key_file", /* SSE-C: s3_ssec.c */
    "use_dualstack_endpoint", "use_fips_endpoint", "use_accelerate_endpoint", "us_east_1_regional_endpoint",
    "extra_args", "requester_pays", /* write attributes, s3_attrs.c */
    NULL,
};

static void warn_unknown_extras(const ferry_conn *conn, const char *conn_id)
{
    if (!conn)
        return;
    for (size_t i = 0; i < conn->n_extra; i++) {
        int known = 0;
        for (const char *const *k = known_extras; *k && !known; k++)
            known = strcmp(*k, conn->extra[i].key) == 0;
        if (!known)
            ferry_log(FERRY_LOG_WARN, "s3(%s): ignoring extra '%s' (not used by the s3 hook)", conn_id,
                      conn->extra[i].key);
    }
}

static ferry_status load_credentials(const ferry_conn *conn, const files *f, int profile_explicit,
                                     char *sts_url, ferry_s3_config *cfg, ferry_error *err)
{
    ferry_s3_creds_ctx ctx = {
        .conn = conn, .conn_id = cfg->conn_id, .profile = cfg->profile, .profile_explicit = profile_explicit,
        .cred_path = f->cred_path, .config_path = f->config_path, .region = cfg->region, .sts_url = sts_url,
        .verify = cfg->verify, .ca_bundle = cfg->ca_bundle, .connect_timeout = cfg->connect_timeout,
    };
    ferry_status st = ferry_s3_creds_resolve(&ctx, &cfg->creds, &cfg->cred_source, err);
    if (st != FERRY_OK)
        return st;
    ferry_s3_credset *s = NULL;
    st = ferry_s3_creds_get(cfg->creds, 0, &s, err);
    if (st != FERRY_OK)
        return st;
    cfg->access_key = strdup(s->access_key);
    cfg->secret_key = strdup(s->secret_key);
    cfg->session_token = ferry_s3_strdup(s->session_token);
    ferry_s3_creds_put(cfg->creds, s);
    if (!cfg->access_key || !cfg->secret_key)
        return oom(err);
    return FERRY_OK;
}

static ferry_status parse_endpoint(const char *url, ferry_s3_config *cfg, ferry_error *err)
{
    ferry_status st = FERRY_OK;
    char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL, *user = NULL, *query = NULL;
    CURLU *u = curl_url();
    if (!u)
        return oom(err);
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
        st = ferry_error_hook(err, FERRY_ERR_CONFIG, "s3", cfg->conn_id,
                              "endpoint_url '%s' is not a URL (expected http://host:port or "
                              "https://host)", url);
        goto out;
    }
    if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0) {
        st = ferry_error_hook(err, FERRY_ERR_CONFIG, "s3", cfg->conn_id,
                              "endpoint_url '%s': scheme must be http or https", url);
        goto out;
    }
    if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK && user) {
        st = ferry_error_hook(err, FERRY_ERR_CONFIG, "s3", cfg->conn_id,
                              "endpoint_url must not carry credentials");
        goto out;
    }
    if (curl_url_get(u, CURLUPART_QUERY, &query, 0) == CURLUE_OK && query && *query) {
        st = ferry_error_hook(err, FERRY_ERR_CONFIG, "s3", cfg->conn_id,
                              "endpoint_url '%s' must not have a query", url);
        goto out;
    }
    (void)curl_url_get(u, CURLUPART_PORT, &port, 0);
    (void)curl_url_get(u, CURLUPART_PATH, &path, 0);
    cfg->https = strcmp(scheme, "https") == 0;
    int default_port = port && ((cfg->https && strcmp(port, "443") == 0) ||
                                (!cfg->https && strcmp(port, "80") == 0));
    if (port && !default_port)
        (void)!asprintf(&cfg->host, "%s:%s", host, port);
    else
        cfg->host = strdup(host);
    size_t plen = path ? strlen(path) : 0;
    while (plen > 0 && path[plen - 1] == '/')
        plen--;
    cfg->base_path = strndup(path ? path : "", plen);
    if (cfg->host && cfg->base_path)
        (void)!asprintf(&cfg->endpoint, "%s://%s%s", scheme, cfg->host, cfg->base_path);
    if (!cfg->host || !cfg->base_path || !cfg->endpoint)
        st = oom(err);
out:
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_free(path);
    curl_free(user);
    curl_free(query);
    curl_url_cleanup(u);
    return st;
}

/* First non-NULL of a list of owned candidates; frees the others. */
static char *pick(char **cands, size_t n)
{
    char *out = NULL;
    for (size_t i = 0; i < n; i++) {
        if (!out && cands[i] && *cands[i])
            out = cands[i];
        else
            free(cands[i]);
    }
    return out;
}

static char *first_of(const ferry_conn *conn, const files *f, const char *extra_key,
                      const char *json_name, const char *j1, const char *j2, const char *env1,
                      const char *env2, const char *prof1, const char *prof2)
{
    char *c[6] = {
        ferry_s3_strdup(extra_key ? extra(conn, extra_key) : NULL),
        json_name ? json_extra(conn, json_name, j1, j2) : NULL,
        ferry_s3_strdup(env1 ? env_get(env1) : NULL),
        ferry_s3_strdup(env2 ? env_get(env2) : NULL),
        prof1 ? profile_config(f, prof1) : NULL,
        prof2 ? profile_config(f, prof2) : NULL,
    };
    return pick(c, 6);
}

/* A boolean endpoint setting (botocore's name): the extra, config_kwargs
 * (top level or under s3), service_config.s3, the environment, the
 * profile.  *out 0/1; FERRY_ERR_CONFIG for a value that is no boolean. */
static ferry_status bool_setting(const ferry_conn *conn, const files *f, const char *name, int s3_only,
                                 const char *env, ferry_s3_config *cfg, int *out, ferry_error *err)
{
    char *prof_key = NULL;
    if (asprintf(&prof_key, "s3.%s", name) < 0)
        return oom(err);
    char *c[7] = {
        ferry_s3_strdup(extra(conn, name)),
        s3_only ? NULL : json_extra(conn, "config_kwargs", name, NULL),
        json_extra(conn, "config_kwargs", "s3", name),
        json_extra(conn, "service_config", "s3", name),
        ferry_s3_strdup(env ? env_get(env) : NULL),
        profile_config(f, prof_key),
        s3_only ? NULL : profile_config(f, name),
    };
    free(prof_key);
    char *v = pick(c, 7);
    *out = 0;
    ferry_status st = FERRY_OK;
    if (v) {
        if (!strcasecmp(v, "true") || !strcmp(v, "1") || !strcasecmp(v, "yes") || !strcasecmp(v, "on"))
            *out = 1;
        else if (strcasecmp(v, "false") && strcmp(v, "0") && strcasecmp(v, "no") && strcasecmp(v, "off"))
            st = ferry_error_hook(err, FERRY_ERR_CONFIG, "s3", cfg->conn_id, "%s '%s' is not true or false",
                                  name, v);
    }
    free(v);
    return st;
}

/* The endpoint variants: dualstack, FIPS, accelerate and the us-east-1
 * global endpoint.  dualstack and FIPS only apply to AWS's own endpoints
 * (botocore ignores them with an endpoint_url). */
static ferry_status load_endpoint_variants(const ferry_conn *conn, const files *f, ferry_s3_config *cfg,
                                           ferry_error *err)
{
    ferry_status st = bool_setting(conn, f, "use_dualstack_endpoint", 0, "AWS_USE_DUALSTACK_ENDPOINT", cfg,
                                   &cfg->dualstack, err);
    if (st == FERRY_OK)
        st = bool_setting(conn, f, "use_fips_endpoint", 0, "AWS_USE_FIPS_ENDPOINT", cfg, &cfg->fips, err);
    if (st == FERRY_OK)
        st = bool_setting(conn, f, "use_accelerate_endpoint", 1, NULL, cfg, &cfg->accelerate, err);
    if (st != FERRY_OK)
        return st;
    if (cfg->custom_endpoint)
        cfg->dualstack = cfg->fips = 0;
    char *c[6] = {
        ferry_s3_strdup(extra(conn, "us_east_1_regional_endpoint")),
        json_extra(conn, "config_kwargs", "s3", "us_east_1_regional_endpoint"),
        json_extra(conn, "service_config", "s3", "us_east_1_regional_endpoint"),
        ferry_s3_strdup(env_get("AWS_S3_US_EAST_1_REGIONAL_ENDPOINT")),
        profile_config(f, "s3_us_east_1_regional_endpoint"),
        profile_config(f, "s3.us_east_1_regional_endpoint"),
    };
    char *v = pick(c, 6);
    if (v && strcasecmp(v, "regional") == 0)
        cfg->us_east_1_regional = 1;
    else if (v && strcasecmp(v, "legacy") != 0)
        st = ferry_error_hook(err, FERRY_ERR_CONFIG, "s3", cfg->conn_id,
                              "us_east_1_regional_endpoint '%s' is not legacy or regional", v);
    free(v);
    if (st == FERRY_OK)
        st = ferry_s3_addressing_check(cfg, err);
    return st;
}

ferry_status ferry_s3_config_load(const ferry_conn *conn, ferry_s3_config *cfg, ferry_error *err)
{
    memset(cfg, 0, sizeof *cfg);
    files f;
    memset(&f, 0, sizeof f);
    ferry_status st = FERRY_OK;
    char *endpoint = NULL, *style = NULL, *verify = NULL, *s = NULL, *sts_url = NULL;

    cfg->conn_id = strdup(ferry_s3_conn_id(conn));
    const char *prof = extra(conn, "profile_name");
    int profile_explicit = prof != NULL;
    if (!prof)
        prof = env_get("AWS_PROFILE");
    if (!prof)
        prof = env_get("AWS_DEFAULT_PROFILE");
    cfg->profile = strdup(prof ? prof : "default");
    f.cred_path = env_get("AWS_SHARED_CREDENTIALS_FILE") ? strdup(env_get("AWS_SHARED_CREDENTIALS_FILE"))
                                                         : home_file(".aws/credentials");
    f.config_path = env_get("AWS_CONFIG_FILE") ? strdup(env_get("AWS_CONFIG_FILE"))
                                               : home_file(".aws/config");
    if (!cfg->conn_id || !cfg->profile) {
        st = oom(err);
        goto out;
    }
    f.cred_section = strdup(cfg->profile);
    if (strcmp(cfg->profile, "default") == 0)
        f.config_section = strdup("default");
    else
        (void)!asprintf(&f.config_section, "profile %s", cfg->profile);
    if (!f.cred_section || !f.config_section) {
        st = oom(err);
        goto out;
    }

    cfg->region = first_of(conn, &f, "region_name", NULL, NULL, NULL, "AWS_REGION",
                           "AWS_DEFAULT_REGION", "region", NULL);
    if (!cfg->region)
        cfg->region = strdup("us-east-1");

    endpoint = first_of(conn, &f, "endpoint_url", "service_config", "s3", "endpoint_url",
                        "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL", "s3.endpoint_url",
                        "endpoint_url");
    if (conn && conn->host && *conn->host && !endpoint)
        ferry_log(FERRY_LOG_WARN,
                  "s3(%s): the connection's host is not used (as in Airflow); set extra "
                  "endpoint_url instead",
                  cfg->conn_id);
    if (endpoint) {
        cfg->custom_endpoint = 1;
        st = parse_endpoint(endpoint, cfg, err);
        if (st != FERRY_OK)
            goto out;
    } else {
        const char *suffix = strncmp(cfg->region, "cn-", 3) == 0 ? "amazonaws.com.cn" : "amazonaws.com";
        char *url = NULL;
        if (asprintf(&url, "https://s3.%s.%s", cfg->region, suffix) < 0) {
            st = oom(err);
            goto out;
        }
        st = parse_endpoint(url, cfg, err);
        free(url);
        if (st != FERRY_OK)
            goto out;
    }

    {
        char *c[4] = {
            ferry_s3_strdup(extra(conn, "addressing_style")),
            json_extra(conn, "config_kwargs", "s3", "addressing_style"),
            json_extra(conn, "service_config", "s3", "addressing_style"),
            profile_config(&f, "s3.addressing_style"),
        };
        style = pick(c, 4);
    }
    if (style && strcasecmp(style, "path") == 0) {
        cfg->virtual_host = 0;
        cfg->style = FERRY_S3_STYLE_PATH;
    } else if (style && strcasecmp(style, "virtual") == 0) {
        cfg->virtual_host = 1;
        cfg->style = FERRY_S3_STYLE_VIRTUAL;
    } else if (style && strcasecmp(style, "auto") != 0) {
        st = ferry_error_hook(err, FERRY_ERR_CONFIG, "s3", cfg->conn_id,
                              "addressing_style '%s' is not path, virtual or auto", style);
        goto out;
    } else
        cfg->virtual_host = !cfg->custom_endpoint;

    cfg->verify = 1;
    verify = first_of(conn, &f, "verify", "config_kwargs", "verify", NULL, NULL, NULL, NULL, NULL);
    if (verify) {
        if (!strcasecmp(verify, "false") || !strcmp(verify, "0") || !strcasecmp(verify, "no") ||
            !strcasecmp(verify, "off"))
            cfg->verify = 0;
        else if (strcasecmp(verify, "true") && strcmp(verify, "1") && strcasecmp(verify, "yes") &&
                 strcasecmp(verify, "on"))
            cfg->ca_bundle = strdup(verify);
    }
    if (!cfg->ca_bundle)
        cfg->ca_bundle = first_of(conn, &f, "ca_bundle", NULL, NULL, NULL, "AWS_CA_BUNDLE", NULL,
                                  "ca_bundle", NULL);

    cfg->connect_timeout = S3_DEFAULT_CONNECT_TIMEOUT;
    s = first_of(conn, &f, "connect_timeout", "config_kwargs", "connect_timeout", NULL, NULL, NULL,
                 NULL, NULL);
    if (s) {
        double v = ferry_s3_parse_seconds(s);
        if (v < 0) {
            st = ferry_error_hook(err, FERRY_ERR_CONFIG, "s3", cfg->conn_id,
                                  "connect_timeout '%s' is not a number of seconds", s);
            goto out;
        }
        cfg->connect_timeout = v < 1 ? 1 : (long)(v + 0.5);
    }
    free(s);
    s = first_of(conn, &f, "read_timeout", "config_kwargs", "read_timeout", NULL, NULL, NULL, NULL,
                 NULL);
    if (s) {
        double v = ferry_s3_parse_seconds(s);
        if (v < 0) {
            st = ferry_error_hook(err, FERRY_ERR_CONFIG, "s3", cfg->conn_id,
                                  "read_timeout '%s' is not a number of seconds", s);
            goto out;
        }
        cfg->read_timeout = v;
    }
    cfg->unsigned_payload = conn ? ferry_conn_extra_bool(conn, "unsigned_payload", 0) == 1 : 0;
    if (!cfg->region) {
        st = oom(err);
        goto out;
    }
    st = load_endpoint_variants(conn, &f, cfg, err);
    if (st != FERRY_OK)
        goto out;
    warn_unknown_extras(conn, cfg->conn_id);
    /* STS: extra sts_endpoint_url -> service_config.sts.endpoint_url -> AWS_ENDPOINT_URL_STS
     * -> profile sts.endpoint_url -> the S3 endpoint_url (radosgw, MinIO serve STS there)
     * -> https://sts.<region>.amazonaws.com */
    sts_url = first_of(conn, &f, "sts_endpoint_url", "service_config", "sts", "endpoint_url",
                       "AWS_ENDPOINT_URL_STS", NULL, "sts.endpoint_url", NULL);
    if (!sts_url && cfg->custom_endpoint)
        sts_url = ferry_s3_strdup(cfg->endpoint);
    st = load_credentials(conn, &f, profile_explicit, sts_url, cfg, err);
out:
    free(sts_url);
    free(endpoint);
    free(style);
    free(verify);
    free(s);
    free(f.cred_path);
    free(f.config_path);
    free(f.cred_section);
    free(f.config_section);
    if (st != FERRY_OK)
        ferry_s3_config_release(cfg);
    return st;
}

static void free_secret(char **p)
{
    if (*p) {
        explicit_bzero(*p, strlen(*p));
        free(*p);
        *p = NULL;
    }
}

void ferry_s3_config_release(ferry_s3_config *cfg)
{
    ferry_s3_creds_free(cfg->creds);
    free(cfg->conn_id);
    free(cfg->access_key);
    free_secret(&cfg->secret_key);
    free_secret(&cfg->session_token);
    free(cfg->cred_source);
    free(cfg->profile);
    free(cfg->region);
    free(cfg->endpoint);
    free(cfg->host);
    free(cfg->base_path);
    free(cfg->ca_bundle);
    memset(cfg, 0, sizeof *cfg);
}

ferry_status ferry_s3_config_target(const ferry_s3_config *cfg, const char *bucket, const char *key,
                                    ferry_buf *host, ferry_buf *path)
{
    ferry_buf_reset(host);
    ferry_buf_reset(path);
    int rc = 0;
    int has_key = key && *key;
    if (bucket && cfg->virtual_host && ferry_s3_bucket_virtual_ok(bucket, cfg->https)) {
        rc |= ferry_buf_appendf(host, "%s.%s", bucket, cfg->host);
        rc |= ferry_buf_appendf(path, "%s/%s", cfg->base_path, has_key ? key : "");
    } else {
        rc |= ferry_buf_appends(host, cfg->host);
        if (!bucket)
            rc |= ferry_buf_appendf(path, "%s/", cfg->base_path);
        else if (has_key)
            rc |= ferry_buf_appendf(path, "%s/%s/%s", cfg->base_path, bucket, key);
        else
            rc |= ferry_buf_appendf(path, "%s/%s", cfg->base_path, bucket);
    }
    return rc ? FERRY_ERR_INTERNAL : FERRY_OK;
}
