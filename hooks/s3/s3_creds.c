/*
 * hooks/s3/s3_creds.c - the credential provider chain of an aws connection
 * and the refresh of temporary credentials.
 *
 * The chain, in the AWS SDKs' order (the first source that is configured
 * wins; the machine's endpoints are tried and skipped when they fail):
 *   1. connection login/password (+ extra aws_session_token)
 *   2. extras aws_access_key_id / aws_secret_access_key (/ aws_session_token)
 *   3. AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN
 *      (3 and 4 are skipped when the connection names a profile_name, as boto3 does)
 *   4. web identity: AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE
 *      [+ AWS_ROLE_SESSION_NAME] -> STS AssumeRoleWithWebIdentity
 *   5. the profile in the shared files: role_arn with source_profile /
 *      credential_source / web_identity_token_file, SSO (cached token),
 *      credential_process, static keys (credentials file, then config)
 *   6. container credentials: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI
 *      (http://169.254.170.2) or _FULL_URI, AWS_CONTAINER_AUTHORIZATION_TOKEN(_FILE)
 *   7. EC2 IMDSv2 (unless AWS_EC2_METADATA_DISABLED=true; endpoint
 *      AWS_EC2_METADATA_SERVICE_ENDPOINT, default http://169.254.169.254)
 * Then the connection's extra role_arn, which is never ignored: with
 * assume_role_method assume_role (the default) the chain's credentials
 * assume it (assume_role_kwargs: RoleSessionName, ExternalId,
 * DurationSeconds, Tags); with assume_role_with_web_identity the token file
 * (extra assume_role_with_web_identity_token_file or
 * AWS_WEB_IDENTITY_TOKEN_FILE) does.
 *
 * Every node keeps its current set and renews it when it is within the
 * refresh window of its expiry, under its own mutex: concurrent requests
 * (the uploader's parts, a ranged sink's producers) wait for one refresh and
 * then all sign with the new set.
 */
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "ferry/log.h"
#include "hooks/s3/s3_creds.h"
#include "hooks/s3/s3_internal.h"

enum { K_STATIC, K_ASSUME, K_WEB, K_PROCESS, K_SSO, K_CONTAINER, K_IMDS };

struct ferry_s3_creds {
    int kind;
    char *name;                 /* the source, for conn test and logs (no secret) */
    char *conn_id;
    struct ferry_s3_creds *base;/* K_ASSUME */
    char *role_arn, *session_name, *external_id, *tags;
    long duration;
    char *token_file;           /* K_WEB */
    char *cmd;                  /* K_PROCESS */
    char *url, *auth, *auth_file;/* K_CONTAINER; url = endpoint for K_IMDS, portal for K_SSO */
    char *sso_cache, *sso_account, *sso_role; /* K_SSO */
    char *sts_url, *region, *ca_bundle;
    int verify;
    long connect_timeout;
    double window;
    int window_fixed;           /* FERRY_S3_REFRESH_WINDOW given: used as is */
    pthread_mutex_t mu;
    ferry_s3_credset *cur;
    int refreshes;
};

static const char *env_get(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

static char *dup0(const char *s)
{
    return s ? strdup(s) : NULL;
}

static ferry_s3_creds *node_new(int kind, const ferry_s3_creds_ctx *ctx, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static ferry_s3_creds *node_new(int kind, const ferry_s3_creds_ctx *ctx, const char *fmt, ...)
{
    ferry_s3_creds *n = calloc(1, sizeof *n);
    if (!n)
        return NULL;
    n->kind = kind;
    pthread_mutex_init(&n->mu, NULL);
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(&n->name, fmt, ap) < 0)
        n->name = NULL;
    va_end(ap);
    n->conn_id = strdup(ctx->conn_id);
    n->region = strdup(ctx->region ? ctx->region : "us-east-1");
    if (ctx->sts_url)
        n->sts_url = strdup(ctx->sts_url);
    else
        (void)!asprintf(&n->sts_url, "https://sts.%s.%s", n->region,
                        strncmp(n->region, "cn-", 3) == 0 ? "amazonaws.com.cn" : "amazonaws.com");
    n->ca_bundle = dup0(ctx->ca_bundle);
    n->verify = ctx->verify;
    n->connect_timeout = ctx->connect_timeout;
    n->window = S3_CREDS_REFRESH_WINDOW;
    const char *w = env_get("FERRY_S3_REFRESH_WINDOW");
    double wv = w ? ferry_s3_parse_seconds(w) : -1;
    if (wv >= 0) {
        n->window = wv;
        n->window_fixed = 1;
    }
    if (!n->name || !n->conn_id || !n->region || !n->sts_url || (ctx->ca_bundle && !n->ca_bundle)) {
        ferry_s3_creds_free(n);
        return NULL;
    }
    return n;
}

static void wipe_free(char *p)
{
    if (p) {
        explicit_bzero(p, strlen(p));
        free(p);
    }
}

void ferry_s3_creds_free(ferry_s3_creds *n)
{
    if (!n)
        return;
    ferry_s3_creds_free(n->base);
    ferry_s3_credset_free(n->cur);
    pthread_mutex_destroy(&n->mu);
    free(n->name);
    free(n->conn_id);
    free(n->role_arn);
    free(n->session_name);
    free(n->external_id);
    free(n->tags);
    free(n->token_file);
    free(n->cmd);
    free(n->url);
    wipe_free(n->auth);
    free(n->auth_file);
    free(n->sso_cache);
    free(n->sso_account);
    free(n->sso_role);
    free(n->sts_url);
    free(n->region);
    free(n->ca_bundle);
    free(n);
}

static ferry_s3_creds *static_node(const ferry_s3_creds_ctx *ctx, const char *ak, const char *sk,
                                   const char *token, const char *name)
{
    ferry_s3_creds *n = node_new(K_STATIC, ctx, "%s", name);
    if (n && !(n->cur = ferry_s3_credset_new(ak, sk, token, 0))) {
        ferry_s3_creds_free(n);
        return NULL;
    }
    return n;
}

/* ---- fetching one set ----------------------------------------------------------- */

static ferry_status read_small_file(const char *path, const char *what, const char *conn_id, char **out,
                                    ferry_error *err)
{
    *out = NULL;
    FILE *f = fopen(path, "r");
    ferry_buf b = {0};
    char chunk[4096];
    size_t n;
    if (!f)
        return ferry_error_hook(err, FERRY_ERR_CONFIG, "s3", conn_id, "%s %s cannot be read", what, path);
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0 && b.len < 1024 * 1024)
        if (ferry_buf_append(&b, chunk, n) != 0)
            break;
    fclose(f);
    while (b.len > 0 && (b.data[b.len - 1] == '\n' || b.data[b.len - 1] == '\r' || b.data[b.len - 1] == ' '))
        b.data[--b.len] = '\0';
    if (!b.len) {
        ferry_buf_release(&b);
        return ferry_error_hook(err, FERRY_ERR_CONFIG, "s3", conn_id, "%s %s is empty", what, path);
    }
    *out = ferry_buf_take(&b);
    return *out ? FERRY_OK : ferry_error_oom(err, "s3", NULL, NULL);
}

static ferry_status fetch_sso(ferry_s3_creds *n, ferry_s3_credset **out, ferry_error *err)
{
    char *text = NULL, *token = NULL;
    int64_t expires = 0;
    ferry_status st = read_small_file(n->sso_cache, "the SSO token cache (run `aws sso login`)", n->conn_id,
                                      &text, err);
    if (st != FERRY_OK)
        return st;
    st = ferry_s3_parse_sso_cache(text, strlen(text), &token, &expires, err);
    wipe_free(text);
    if (st != FERRY_OK)
        return ferry_error_prefix(err, "s3(%s): %s", n->conn_id, n->sso_cache);
    if (expires <= time(NULL)) {
        wipe_free(token);
        return ferry_error_hook(err, FERRY_ERR_CONNECT, "s3", n->conn_id,
                                "the SSO token in %s has expired: run `aws sso login`", n->sso_cache);
    }
    ferry_buf url = {0}, hdr = {0}, resp = {0};
    struct curl_slist *h = NULL;
    int rc = ferry_buf_appendf(&url, "%s/federation/credentials?account_id=%s&role_name=%s", n->url,
                               n->sso_account, n->sso_role);
    rc |= ferry_buf_appendf(&hdr, "x-amz-sso_bearer_token: %s", token);
    if (rc || !(h = curl_slist_append(NULL, hdr.data))) {
        st = ferry_error_oom(err, "s3", NULL, NULL);
    } else {
        ferry_s3_http q = {
            .method = "GET", .url = url.data, .headers = h, .connect_timeout = n->connect_timeout,
            .stall_after = 60, .verify = n->verify, .ca_bundle = n->ca_bundle, .conn_id = n->conn_id,
            .what = "SSO GetRoleCredentials",
        };
        long status = 0;
        st = ferry_s3_http_call(&q, &resp, &status, err);
        if (st == FERRY_OK && status != 200)
            st = ferry_error_hook(err, FERRY_ERR_CONNECT, "s3", n->conn_id,
                                  "SSO GetRoleCredentials %s answered HTTP %ld", url.data, status);
        if (st == FERRY_OK)
            st = ferry_s3_parse_creds_json(resp.data, resp.len, S3_CREDS_JSON_SSO, out, err);
    }
    curl_slist_free_all(h);
    if (hdr.data)
        explicit_bzero(hdr.data, hdr.len);
    if (resp.data)
        explicit_bzero(resp.data, resp.len);
    ferry_buf_release(&hdr);
    ferry_buf_release(&resp);
    ferry_buf_release(&url);
    wipe_free(token);
    return st;
}

static ferry_status fetch(ferry_s3_creds *n, ferry_s3_credset **out, ferry_error *err)
{
    *out = NULL;
    ferry_s3_sts_call c = {
        .conn_id = n->conn_id, .url = n->sts_url, .region = n->region, .verify = n->verify,
        .ca_bundle = n->ca_bundle, .connect_timeout = n->connect_timeout, .role_arn = n->role_arn,
        .session_name = n->session_name, .external_id = n->external_id, .duration = n->duration,
        .tags_json = n->tags,
    };
    ferry_status st;
    switch (n->kind) {
    case K_ASSUME: {
        ferry_s3_credset *base = NULL;
        st = ferry_s3_creds_get(n->base, 0, &base, err);
        if (st != FERRY_OK)
            return st;
        c.base = base;
        st = ferry_s3_sts_assume(&c, out, err);
        ferry_s3_creds_put(n->base, base);
        return st;
    }
    case K_WEB: {
        char *tok = NULL;
        st = read_small_file(n->token_file, "the web identity token file", n->conn_id, &tok, err);
        if (st != FERRY_OK)
            return st;
        ferry_secret_add(tok);
        c.web_token = tok;
        st = ferry_s3_sts_assume(&c, out, err);
        wipe_free(tok);
        return st;
    }
    case K_PROCESS:
        return ferry_s3_process_fetch(n->cmd, n->conn_id, out, err);
    case K_SSO:
        return fetch_sso(n, out, err);
    case K_CONTAINER:
        return ferry_s3_container_fetch(n->url, n->auth, n->auth_file, n->conn_id, out, err);
    case K_IMDS:
        return ferry_s3_imds_fetch(n->url, n->conn_id, out, err);
    default:
        return ferry_error_set(err, FERRY_ERR_INTERNAL, "s3: static credentials cannot be fetched");
    }
}

static int needs_refresh(const ferry_s3_creds *n, time_t now)
{
    if (!n->cur)
        return 1;
    if (n->kind == K_STATIC || n->cur->expiration == 0)
        return 0;
    return (double)now >= (double)n->cur->expiration - n->window;
}

ferry_status ferry_s3_creds_get(ferry_s3_creds *n, int cleanup, ferry_s3_credset **out, ferry_error *err)
{
    *out = NULL;
    pthread_mutex_lock(&n->mu);
    time_t now = time(NULL);
    if (needs_refresh(n, now)) {
        ferry_s3_credset *fresh = NULL;
        int first = n->cur == NULL;
        ferry_status st = fetch(n, &fresh, err);
        if (st == FERRY_OK) {
            if (!n->window_fixed && fresh->expiration) {
                /* a lifetime shorter than twice the window: renew at half of it */
                double life = (double)(fresh->expiration - now);
                n->window = life < 2 * S3_CREDS_REFRESH_WINDOW ? life / 2 : S3_CREDS_REFRESH_WINDOW;
            }
            if (n->cur && --n->cur->refs == 0)
                ferry_s3_credset_free(n->cur);
            n->cur = fresh;
            if (!first)
                n->refreshes++;
            if (ferry_log_enabled(FERRY_LOG_DEBUG)) {
                if (fresh->expiration)
                    ferry_log(FERRY_LOG_DEBUG,
                              "s3(%s): credentials %s from %s (access key %s, expire in %lld s, renewed %.0f s before)",
                              n->conn_id, first ? "obtained" : "refreshed", n->name, fresh->access_key,
                              (long long)(fresh->expiration - now), n->window);
                else
                    ferry_log(FERRY_LOG_DEBUG, "s3(%s): credentials %s from %s (access key %s, no expiry)",
                              n->conn_id, first ? "obtained" : "refreshed", n->name, fresh->access_key);
            }
        } else if (cleanup && n->cur && (double)now < (double)n->cur->expiration) {
            ferry_log(FERRY_LOG_WARN, "s3(%s): refreshing the credentials from %s failed (%s); the cleanup "
                                      "signs with the current ones, valid %lld s more",
                      n->conn_id, n->name, err->msg, (long long)(n->cur->expiration - now));
        } else {
            pthread_mutex_unlock(&n->mu);
            if (!first) {
                ferry_error_prefix(err, "s3(%s): refreshing the credentials from %s failed", n->conn_id, n->name);
                err->status = st = FERRY_ERR_CONNECT;
            }
            return st;
        }
    }
    n->cur->refs++;
    *out = n->cur;
    pthread_mutex_unlock(&n->mu);
    return FERRY_OK;
}

void ferry_s3_creds_put(ferry_s3_creds *n, ferry_s3_credset *s)
{
    if (!n || !s)
        return;
    pthread_mutex_lock(&n->mu);
    if (--s->refs == 0)
        ferry_s3_credset_free(s);
    pthread_mutex_unlock(&n->mu);
}

int ferry_s3_creds_refreshes(ferry_s3_creds *n)
{
    pthread_mutex_lock(&n->mu);
    int r = n->refreshes;
    pthread_mutex_unlock(&n->mu);
    return r;
}

/* ---- the shared files ------------------------------------------------------------- */

static char *prof_get(const ferry_s3_creds_ctx *ctx, const char *profile, int cred_file, const char *key)
{
    if (cred_file)
        return ferry_s3_profile_get(ctx->cred_path, profile, key);
    char sect[300];
    if (strcmp(profile, "default") == 0) {
        char *v = ferry_s3_profile_get(ctx->config_path, "default", key);
        return v ? v : ferry_s3_profile_get(ctx->config_path, "profile default", key);
    }
    snprintf(sect, sizeof sect, "profile %s", profile);
    return ferry_s3_profile_get(ctx->config_path, sect, key);
}

/* key from the credentials file, else the config file */
static char *prof_any(const ferry_s3_creds_ctx *ctx, const char *profile, const char *key)
{
    char *v = prof_get(ctx, profile, 1, key);
    return v ? v : prof_get(ctx, profile, 0, key);
}

static ferry_s3_creds *profile_static(const ferry_s3_creds_ctx *ctx, const char *profile)
{
    for (int cred_file = 1; cred_file >= 0; cred_file--) {
        char *ak = prof_get(ctx, profile, cred_file, "aws_access_key_id");
        char *sk = prof_get(ctx, profile, cred_file, "aws_secret_access_key");
        ferry_s3_creds *n = NULL;
        if (ak && sk) {
            char *tok = prof_get(ctx, profile, cred_file, "aws_session_token");
            char name[300];
            snprintf(name, sizeof name, "profile %s (%s)", profile, cred_file ? "credentials file" : "config file");
            n = static_node(ctx, ak, sk, tok, name);
            wipe_free(tok);
        }
        free(ak);
        wipe_free(sk);
        if (n)
            return n;
    }
    return NULL;
}

static long parse_duration(const char *s)
{
    double v = s ? ferry_s3_parse_seconds(s) : -1;
    return v > 0 ? (long)v : 0;
}

static ferry_status container_node(const ferry_s3_creds_ctx *ctx, ferry_s3_creds **out, ferry_error *err);
static ferry_status imds_node(const ferry_s3_creds_ctx *ctx, ferry_s3_creds **out, ferry_error *err);

/* The node of a profile; *out NULL when the profile yields nothing. */
static ferry_status profile_node(const ferry_s3_creds_ctx *ctx, const char *profile, int depth,
                                 ferry_s3_creds **out, ferry_error *err)
{
    *out = NULL;
    ferry_status st = FERRY_OK;
    if (depth > 5)
        return ferry_error_hook(err, FERRY_ERR_CONFIG, "s3", ctx->conn_id,
                                "profile %s: source_profile chain longer than 5 (a loop?)", profile);
    char *role = prof_any(ctx, profile, "role_arn");
    if (role) {
        char *src = prof_any(ctx, profile, "source_profile");
        char *csrc = prof_any(ctx, profile, "credential_source");
        char *wif = prof_any(ctx, profile, "web_identity_token_file");
        char *ext = prof_any(ctx, profile, "external_id");
        char *sess = prof_any(ctx, profile, "role_session_name");
        char *dur = prof_any(ctx, profile, "duration_seconds");
        ferry_s3_creds *base = NULL, *n = NULL;
        if (src) {
            /* a source profile with static keys is used as such (also when it
             * is this profile); else its own chain is followed */
            base = profile_static(ctx, src);
            if (!base && strcmp(src, profile) != 0)
                st = profile_node(ctx, src, depth + 1, &base, err);
            if (st == FERRY_OK && !base)
                st = ferry_error_hook(err, FERRY_ERR_CONFIG, "s3", ctx->conn_id,
                                      "profile %s: source_profile %s has no credentials", profile, src);
        } else if (csrc) {
            if (strcasecmp(csrc, "Environment") == 0) {
                if (env_get("AWS_ACCESS_KEY_ID") && env_get("AWS_SECRET_ACCESS_KEY"))
                    base = static_node(ctx, env_get("AWS_ACCESS_KEY_ID"), env_get("AWS_SECRET_ACCESS_KEY"),
                                       env_get("AWS_SESSION_TOKEN"), "environment");
                else
                    st = ferry_error_hook(err, FERRY_ERR_CONFIG, "s3", ctx->conn_id,
                                          "profile %s: credential_source Environment, but AWS_ACCESS_KEY_ID / "
                                          "AWS_SECRET_ACCESS_KEY are not set", profile);
            } else if (strcasecmp(csrc, "Ec2InstanceMetadata") == 0) {
                st = imds_node(ctx, &base, err);
            } else if (strcasecmp(csrc, "EcsContainer") == 0) {
                st = container_node(ctx, &base, err);
                if (st == FERRY_OK && !base)
                    st = ferry_error_hook(err, FERRY_ERR_CONFIG, "s3", ctx->conn_id,
                                          "profile %s: credential_source EcsContainer, but "
                                          "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI / _FULL_URI are not set", profile);
            } else {
                st = ferry_error_hook(err, FERRY_ERR_CONFIG, "s3", ctx->conn_id,
                                      "profile %s: credential_source '%s' is not Environment, "
                                      "Ec2InstanceMetadata or EcsContainer", profile, csrc);
            }
        } else if (!wif) {
            st = ferry_error_hook(err, FERRY_ERR_CONFIG, "s3", ctx->conn_id,
                                  "profile %s has role_arn but no source_profile, credential_source or "
                                  "web_identity_token_file", profile);
        }
        if (st == FERRY_OK && !base && !wif)
            st = ferry_error_oom(err, "s3", NULL, NULL);
        if (st == FERRY_OK) {
            n = base ? node_new(K_ASSUME, ctx, "profile %s: assume role %s (base: %s)", profile, role, base->name)
                     : node_new(K_WEB, ctx, "profile %s: web identity role %s (token file %s)", profile, role, wif);
            if (n) {
                n->base = base;
                base = NULL;
                n->role_arn = strdup(role);
                if (sess)
                    n->session_name = strdup(sess);
                else
                    (void)!asprintf(&n->session_name, "ferry-%lld", (long long)time(NULL));
                n->external_id = dup0(ext);
                n->duration = parse_duration(dur);
                n->token_file = dup0(wif);
                if (!n->role_arn || !n->session_name || (ext && !n->external_id) || (wif && !n->token_file)) {
                    ferry_s3_creds_free(n);
                    n = NULL;
                }
            }
            if (!n)
                st = ferry_error_oom(err, "s3", NULL, NULL);
        }
        ferry_s3_creds_free(base);
        free(role);
        free(src);
        free(csrc);
        free(wif);
        free(ext);
        free(sess);
        free(dur);
        *out = n;
        return st;
    }

    char *acct = prof_get(ctx, profile, 0, "sso_account_id");
    char *srole = prof_get(ctx, profile, 0, "sso_role_name");
    if (acct && srole) {
        char *sess = prof_get(ctx, profile, 0, "sso_session");
        char *start = NULL, *region = NULL;
        if (sess) {
            char sect[300];
            snprintf(sect, sizeof sect, "sso-session %s", sess);
            start = ferry_s3_profile_get(ctx->config_path, sect, "sso_start_url");
            region = ferry_s3_profile_get(ctx->config_path, sect, "sso_region");
        } else {
            start = prof_get(ctx, profile, 0, "sso_start_url");
            region = prof_get(ctx, profile, 0, "sso_region");
        }
        ferry_s3_creds *n = NULL;
        if (!region || (!sess && !start)) {
            st = ferry_error_hook(err, FERRY_ERR_CONFIG, "s3", ctx->conn_id,
                                  "profile %s: SSO needs sso_region and sso_start_url (or an sso_session with them)",
                                  profile);
        } else {
            char cache[46];
            ferry_s3_sso_cache_name(sess ? sess : start, cache);
            const char *home = env_get("HOME");
            const char *portal = env_get("AWS_ENDPOINT_URL_SSO");
            n = node_new(K_SSO, ctx, "profile %s: SSO account %s role %s", profile, acct, srole);
            if (n) {
                (void)!asprintf(&n->sso_cache, "%s/.aws/sso/cache/%s", home ? home : ".", cache);
                if (portal)
                    n->url = strdup(portal);
                else
                    (void)!asprintf(&n->url, "https://portal.sso.%s.amazonaws.com", region);
                n->sso_account = strdup(acct);
                n->sso_role = strdup(srole);
                if (!n->sso_cache || !n->url || !n->sso_account || !n->sso_role) {
                    ferry_s3_creds_free(n);
                    n = NULL;
                }
            }
            if (!n)
                st = ferry_error_oom(err, "s3", NULL, NULL);
        }
        free(sess);
        free(start);
        free(region);
        free(acct);
        free(srole);
        *out = n;
        return st;
    }
    free(acct);
    free(srole);

    char *proc = prof_any(ctx, profile, "credential_process");
    if (proc) {
        ferry_s3_creds *n = node_new(K_PROCESS, ctx, "profile %s: credential_process", profile);
        if (n && !(n->cmd = strdup(proc))) {
            ferry_s3_creds_free(n);
            n = NULL;
        }
        free(proc);
        *out = n;
        return n ? FERRY_OK : ferry_error_oom(err, "s3", NULL, NULL);
    }
    *out = profile_static(ctx, profile);
    return FERRY_OK;
}

/* ---- the machine's endpoints ---------------------------------------------------------- */

static ferry_status container_node(const ferry_s3_creds_ctx *ctx, ferry_s3_creds **out, ferry_error *err)
{
    *out = NULL;
    const char *rel = env_get("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
    const char *full = env_get("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    if (!rel && !full)
        return FERRY_OK;
    char *url = NULL;
    if (rel)
        (void)!asprintf(&url, "http://169.254.170.2%s%s", rel[0] == '/' ? "" : "/", rel);
    else if (!ferry_s3_container_uri_ok(full))
        return ferry_error_hook(err, FERRY_ERR_CONFIG, "s3", ctx->conn_id,
                                "AWS_CONTAINER_CREDENTIALS_FULL_URI %s: http is allowed only on a loopback "
                                "address, 169.254.170.2 or 169.254.170.23 (else use https)", full);
    else
        url = strdup(full);
    ferry_s3_creds *n = url ? node_new(K_CONTAINER, ctx, "container credentials (%s)", url) : NULL;
    if (n) {
        n->url = url;
        url = NULL;
        const char *auth = env_get("AWS_CONTAINER_AUTHORIZATION_TOKEN");
        const char *file = env_get("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
        n->auth_file = dup0(file);
        n->auth = file ? NULL : dup0(auth);
        if (n->auth)
            ferry_secret_add(n->auth);
    }
    free(url);
    *out = n;
    return n ? FERRY_OK : ferry_error_oom(err, "s3", NULL, NULL);
}

static ferry_status imds_node(const ferry_s3_creds_ctx *ctx, ferry_s3_creds **out, ferry_error *err)
{
    const char *ep = env_get("AWS_EC2_METADATA_SERVICE_ENDPOINT");
    if (!ep)
        ep = "http://169.254.169.254";
    ferry_s3_creds *n = node_new(K_IMDS, ctx, "EC2 instance metadata (IMDSv2 at %s)", ep);
    if (n && !(n->url = strdup(ep))) {
        ferry_s3_creds_free(n);
        n = NULL;
    }
    *out = n;
    return n ? FERRY_OK : ferry_error_oom(err, "s3", NULL, NULL);
}

static int imds_disabled(void)
{
    const char *v = env_get("AWS_EC2_METADATA_DISABLED");
    return v && strcasecmp(v, "true") == 0;
}

/* ---- the chain ------------------------------------------------------------------------ */

static const char *extra(const ferry_conn *conn, const char *key)
{
    const char *v = conn ? ferry_conn_extra(conn, key) : NULL;
    return v && *v ? v : NULL;
}

/* Try a machine endpoint: FERRY_OK with the node kept, or the cause noted
 * in tried and the node dropped. */
static int try_endpoint(ferry_s3_creds **n, ferry_buf *tried)
{
    ferry_s3_credset *s = NULL;
    ferry_error e;
    ferry_error_clear(&e);
    if (ferry_s3_creds_get(*n, 0, &s, &e) == FERRY_OK) {
        ferry_s3_creds_put(*n, s);
        return 1;
    }
    ferry_buf_appendf(tried, ", %s: %s", (*n)->name, e.msg);
    ferry_log(FERRY_LOG_DEBUG, "%s", e.msg);
    ferry_s3_creds_free(*n);
    *n = NULL;
    return 0;
}

static ferry_status base_chain(const ferry_s3_creds_ctx *ctx, ferry_s3_creds **out, ferry_error *err)
{
    *out = NULL;
    const ferry_conn *conn = ctx->conn;
    ferry_buf tried = {0};
    ferry_s3_creds *n = NULL;
    ferry_status st = FERRY_OK;
    char name[300];

    if (conn && conn->login && *conn->login && conn->password && *conn->password) {
        snprintf(name, sizeof name, "connection %s", ctx->conn_id);
        n = static_node(ctx, conn->login, conn->password, extra(conn, "aws_session_token"), name);
        goto found;
    }
    ferry_buf_appends(&tried, "connection login/password");
    if (extra(conn, "aws_access_key_id") && extra(conn, "aws_secret_access_key")) {
        snprintf(name, sizeof name, "connection %s (extras)", ctx->conn_id);
        n = static_node(ctx, extra(conn, "aws_access_key_id"), extra(conn, "aws_secret_access_key"),
                        extra(conn, "aws_session_token"), name);
        goto found;
    }
    ferry_buf_appends(&tried, ", extras aws_access_key_id/aws_secret_access_key");
    if (!ctx->profile_explicit) {
        if (env_get("AWS_ACCESS_KEY_ID") && env_get("AWS_SECRET_ACCESS_KEY")) {
            const char *tok = env_get("AWS_SESSION_TOKEN");
            n = static_node(ctx, env_get("AWS_ACCESS_KEY_ID"), env_get("AWS_SECRET_ACCESS_KEY"),
                            tok ? tok : env_get("AWS_SECURITY_TOKEN"), "environment");
            goto found;
        }
        ferry_buf_appends(&tried, ", environment AWS_ACCESS_KEY_ID");
        const char *wif = env_get("AWS_WEB_IDENTITY_TOKEN_FILE");
        const char *role = env_get("AWS_ROLE_ARN");
        if (wif && role) {
            n = node_new(K_WEB, ctx, "web identity %s (AWS_WEB_IDENTITY_TOKEN_FILE %s)", role, wif);
            if (n) {
                n->role_arn = strdup(role);
                n->token_file = strdup(wif);
                const char *sn = env_get("AWS_ROLE_SESSION_NAME");
                if (sn)
                    n->session_name = strdup(sn);
                else
                    (void)!asprintf(&n->session_name, "ferry-%lld", (long long)time(NULL));
                if (!n->role_arn || !n->token_file || !n->session_name) {
                    ferry_s3_creds_free(n);
                    n = NULL;
                }
            }
            goto found;
        }
        ferry_buf_appends(&tried, ", web identity AWS_ROLE_ARN+AWS_WEB_IDENTITY_TOKEN_FILE");
    }
    st = profile_node(ctx, ctx->profile, 0, &n, err);
    if (st != FERRY_OK)
        goto out;
    if (n)
        goto found;
    ferry_buf_appendf(&tried, ", profile %s in %s and %s", ctx->profile, ctx->cred_path ? ctx->cred_path : "(no HOME)",
                      ctx->config_path ? ctx->config_path : "(no HOME)");
    st = container_node(ctx, &n, err);
    if (st != FERRY_OK)
        goto out;
    if (n && try_endpoint(&n, &tried))
        goto found;
    if (!env_get("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") && !env_get("AWS_CONTAINER_CREDENTIALS_FULL_URI"))
        ferry_buf_appends(&tried, ", container credentials (not set)");
    if (!imds_disabled()) {
        st = imds_node(ctx, &n, err);
        if (st != FERRY_OK)
            goto out;
        if (try_endpoint(&n, &tried))
            goto found;
    } else {
        ferry_buf_appends(&tried, ", EC2 instance metadata (AWS_EC2_METADATA_DISABLED)");
    }
    st = ferry_error_hook(err, FERRY_ERR_CONFIG, "s3", ctx->conn_id,
                          "no AWS credentials found (tried: %s); set login/password on the %s, "
                          "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or profile '%s'",
                          tried.data ? tried.data : "", ctx->conn ? "connection" : "aws connection (aws_default)",
                          ctx->profile);
    goto out;
found:
    if (!n)
        st = ferry_error_oom(err, "s3", NULL, NULL);
    *out = n;
out:
    ferry_buf_release(&tried);
    return st;
}

/* Airflow's role session name default, limited to STS's characters. */
static char *airflow_session_name(const char *conn_id)
{
    char *s = NULL;
    if (asprintf(&s, "Airflow_%s", conn_id && *conn_id ? conn_id : "inline") < 0)
        return NULL;
    for (char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              strchr("_+=,.@-", *p)))
            *p = '-';
    if (strlen(s) > 64)
        s[64] = '\0';
    return s;
}

/* A member of the JSON extra assume_role_kwargs as text (owned) or NULL. */
static char *kwarg(const ferry_conn *conn, const char *key, int raw_json)
{
    const char *text = extra(conn, "assume_role_kwargs");
    if (!text)
        return NULL;
    json_error_t jerr;
    json_t *root = json_loads(text, 0, &jerr);
    json_t *v = json_is_object(root) ? json_object_get(root, key) : NULL;
    char *out = NULL;
    if (raw_json && v)
        out = json_dumps(v, JSON_COMPACT);
    else if (json_is_string(v))
        out = strdup(json_string_value(v));
    else if (json_is_integer(v))
        (void)!asprintf(&out, "%lld", (long long)json_integer_value(v));
    json_decref(root);
    return out;
}

ferry_status ferry_s3_creds_resolve(const ferry_s3_creds_ctx *ctx, ferry_s3_creds **out, char **source,
                                    ferry_error *err)
{
    *out = NULL;
    *source = NULL;
    const ferry_conn *conn = ctx->conn;
    const char *role = extra(conn, "role_arn");
    ferry_s3_creds *top = NULL;
    ferry_status st = FERRY_OK;
    if (extra(conn, "assume_role_kwargs")) {
        json_error_t jerr;
        json_t *j = json_loads(extra(conn, "assume_role_kwargs"), 0, &jerr);
        int ok = json_is_object(j);
        json_decref(j);
        if (!ok)
            return ferry_error_hook(err, FERRY_ERR_CONFIG, "s3", ctx->conn_id,
                                    "extra assume_role_kwargs must be a JSON object");
    }
    if (!role) {
        if (extra(conn, "assume_role_method") || extra(conn, "assume_role_kwargs"))
            ferry_log(FERRY_LOG_WARN, "s3(%s): assume_role_method / assume_role_kwargs are ignored without role_arn",
                      ctx->conn_id);
        st = base_chain(ctx, &top, err);
    } else {
        const char *method = extra(conn, "assume_role_method");
        if (!method)
            method = "assume_role";
        char *sess = kwarg(conn, "RoleSessionName", 0);
        char *ext = kwarg(conn, "ExternalId", 0);
        char *dur = kwarg(conn, "DurationSeconds", 0);
        char *tags = kwarg(conn, "Tags", 1);
        ferry_s3_creds *base = NULL;
        if (strcmp(method, "assume_role") == 0) {
            st = base_chain(ctx, &base, err);
            if (st == FERRY_OK && !(top = node_new(K_ASSUME, ctx, "assume role %s (base: %s)", role, base->name)))
                st = ferry_error_oom(err, "s3", NULL, NULL);
        } else if (strcmp(method, "assume_role_with_web_identity") == 0) {
            /* Airflow wants assume_role_with_web_identity_federation "file"
             * for a token file ("google" fetches a Google ID token, which
             * ferry does not do); ferry takes the file without it too */
            const char *fed = extra(conn, "assume_role_with_web_identity_federation");
            const char *wif = extra(conn, "assume_role_with_web_identity_token_file");
            if (!wif)
                wif = env_get("AWS_WEB_IDENTITY_TOKEN_FILE");
            if (fed && strcmp(fed, "file") != 0)
                st = ferry_error_hook(err, FERRY_ERR_CONFIG, "s3", ctx->conn_id,
                                      "assume_role_with_web_identity_federation '%s' is not supported (file: "
                                      "the token file of assume_role_with_web_identity_token_file or "
                                      "AWS_WEB_IDENTITY_TOKEN_FILE)", fed);
            else if (!wif)
                st = ferry_error_hook(err, FERRY_ERR_CONFIG, "s3", ctx->conn_id,
                                      "assume_role_with_web_identity needs extra "
                                      "assume_role_with_web_identity_token_file or AWS_WEB_IDENTITY_TOKEN_FILE");
            else if (!(top = node_new(K_WEB, ctx, "web identity role %s (token file %s)", role, wif)) ||
                     !(top->token_file = strdup(wif)))
                st = ferry_error_oom(err, "s3", NULL, NULL);
        } else {
            st = ferry_error_hook(err, FERRY_ERR_CONFIG, "s3", ctx->conn_id,
                                  "assume_role_method '%s' is not supported (assume_role, "
                                  "assume_role_with_web_identity)", method);
        }
        if (st == FERRY_OK) {
            top->base = base;
            base = NULL;
            top->role_arn = strdup(role);
            top->session_name = sess ? strdup(sess) : airflow_session_name(ctx->conn_id);
            top->external_id = dup0(ext);
            top->duration = parse_duration(dur);
            top->tags = dup0(tags);
            if (!top->role_arn || !top->session_name || (ext && !top->external_id) || (tags && !top->tags))
                st = ferry_error_oom(err, "s3", NULL, NULL);
            if (dur && top->duration <= 0)
                st = ferry_error_hook(err, FERRY_ERR_CONFIG, "s3", ctx->conn_id,
                                      "assume_role_kwargs DurationSeconds '%s' is not a number of seconds", dur);
        }
        ferry_s3_creds_free(base);
        free(sess);
        free(ext);
        free(dur);
        free(tags);
    }
    if (st == FERRY_OK) {
        /* the first set now: a refused role or a failing source shows at once */
        ferry_s3_credset *s = NULL;
        st = ferry_s3_creds_get(top, 0, &s, err);
        if (st == FERRY_OK)
            ferry_s3_creds_put(top, s);
    }
    if (st == FERRY_OK && !(*source = strdup(top->name)))
        st = ferry_error_oom(err, "s3", NULL, NULL);
    if (st != FERRY_OK) {
        ferry_s3_creds_free(top);
        return st;
    }
    ferry_log(FERRY_LOG_DEBUG, "s3(%s): credentials from %s", ctx->conn_id, top->name);
    *out = top;
    return FERRY_OK;
}
