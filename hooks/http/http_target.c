/*
 * hooks/http/http_target.c - what a request to one endpoint needs, read once
 * from the connection and the copy options: URL, basic or bearer auth, TLS
 * verification and CA bundle, client certificate, proxy, redirects, the
 * no-progress timeout and the extra headers.
 *
 * Connection extras (named connections only: an inline URL's query string is
 * part of the URL, not settings):
 *   headers        JSON object of header name -> value
 *   token, bearer_token   "Authorization: Bearer ..." (wins over login/password)
 *   timeout        seconds without progress (the smaller of this and --timeout)
 *   verify         true/false, or the path of a CA bundle (TLS is verified by default)
 *   ca_bundle      CA bundle path
 *   cert, key      client certificate and key (PEM paths)
 *   proxy          proxy URL;  proxies: JSON object {"http": URL, "https": URL}
 *   allow_redirects, max_redirects   (default true, 10)
 * Any other extra is reported once per target as ignored.
 *
 * Secrets: the password, the token and the values of credential-like headers
 * (Authorization, Cookie, *api-key*, *token*, *secret* ...) are registered with
 * ferry_secret_add, and so is the base64 "user:password" curl puts on the
 * wire, in case a server echoes it back in an error body.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "core/encode.h"
#include "ferry/log.h"
#include "hooks/http/http_internal.h"

static ferry_status config_error(const ferry_http_target *t, const char *what, ferry_error *err)
{
    return ferry_error_hook(err, FERRY_ERR_CONFIG, FERRY_HTTP_SYSTEM, t->conn_id, "%s", what);
}

int ferry_http_header_check(const char *line, const char **why)
{
    const char *colon = strchr(line, ':');
    if (!colon || colon == line) {
        *why = "not of the form 'Name: value'";
        return -1;
    }
    for (const char *p = line; p < colon; p++) {
        unsigned char c = (unsigned char)*p;
        if (c <= 0x20 || c >= 0x7f || strchr("\"(),/;<=>?@[\\]{}", c)) {
            *why = "the name holds a character a header name cannot have";
            return -1;
        }
    }
    for (const char *p = colon; *p; p++) {
        if (*p == '\r' || *p == '\n' || *p == '\0') {
            *why = "the value holds a line break";
            return -1;
        }
    }
    return 0;
}

int ferry_http_has_header(const struct curl_slist *headers, const char *name)
{
    size_t n = strlen(name);
    for (const struct curl_slist *h = headers; h; h = h->next)
        if (strncasecmp(h->data, name, n) == 0 && h->data[n] == ':')
            return 1;
    return 0;
}

/* Credential-like header names: their values are registered as secrets. */
static int header_is_secret(const char *name, size_t n)
{
    char key[128];
    if (n >= sizeof key)
        n = sizeof key - 1;
    for (size_t i = 0; i < n; i++)
        key[i] = name[i] == '-' ? '_' : name[i];
    key[n] = '\0';
    return ferry_conn_is_secret_key(key) || strcasecmp(key, "cookie") == 0 || strcasestr(key, "apikey") != NULL;
}

/* A credential header's value, and its credentials without the scheme
 * ("Bearer abc" -> also "abc"), are secrets. */
static void register_header_secret(const char *value)
{
    ferry_secret_add(value);
    const char *space = strchr(value, ' ');
    if (space && space[1])
        ferry_secret_add(space + 1 + strspn(space + 1, " "));
}

/* Append "name: value" (checked) to t->headers. */
static ferry_status add_header(ferry_http_target *t, const char *name, const char *value, ferry_status bad,
                               ferry_error *err)
{
    size_t n = strlen(name) + strlen(value) + 3;
    char *line = malloc(n);
    if (!line)
        return ferry_error_oom(err, NULL, NULL, NULL);
    snprintf(line, n, "%s: %s", name, value);
    const char *why = NULL;
    ferry_status st = FERRY_OK;
    if (ferry_http_header_check(line, &why) != 0) {
        st = ferry_error_hook(err, bad, FERRY_HTTP_SYSTEM, t->conn_id, "header '%.60s': %s", name, why);
    } else {
        if (header_is_secret(name, strlen(name)) && value[0])
            register_header_secret(value);
        struct curl_slist *l = curl_slist_append(t->headers, line);
        if (!l)
            st = ferry_error_oom(err, NULL, NULL, NULL);
        else
            t->headers = l;
    }
    free(line);
    return st;
}

/* A "Name: value" line of o->http_headers. */
static ferry_status add_header_line(ferry_http_target *t, const char *line, ferry_error *err)
{
    const char *why = NULL;
    if (ferry_http_header_check(line, &why) != 0)
        return ferry_error_hook(err, FERRY_ERR_USAGE, FERRY_HTTP_SYSTEM, t->conn_id, "header '%.60s': %s", line,
                                why);
    const char *colon = strchr(line, ':');
    const char *value = colon + 1 + strspn(colon + 1, " \t");
    if (header_is_secret(line, (size_t)(colon - line)) && value[0])
        register_header_secret(value);
    struct curl_slist *l = curl_slist_append(t->headers, line);
    if (!l)
        return ferry_error_oom(err, NULL, NULL, NULL);
    t->headers = l;
    return FERRY_OK;
}

/* The headers extra: a JSON object of name -> string (numbers and booleans as text). */
static ferry_status headers_extra(ferry_http_target *t, const char *text, ferry_error *err)
{
    json_error_t jerr;
    json_t *obj = json_loads(text, 0, &jerr);
    if (!obj || !json_is_object(obj)) {
        json_decref(obj);
        return config_error(t, "extra 'headers' is not a JSON object of name -> value", err);
    }
    ferry_status st = FERRY_OK;
    const char *name;
    json_t *v;
    json_object_foreach(obj, name, v) {
        char num[64];
        const char *value = NULL;
        if (json_is_string(v)) {
            value = json_string_value(v);
        } else if (json_is_integer(v)) {
            snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
            value = num;
        } else if (json_is_real(v)) {
            snprintf(num, sizeof num, "%.17g", json_real_value(v));
            value = num;
        } else if (json_is_boolean(v)) {
            value = json_is_true(v) ? "true" : "false";
        }
        if (!value) {
            st = ferry_error_hook(err, FERRY_ERR_CONFIG, FERRY_HTTP_SYSTEM, t->conn_id,
                                  "extra 'headers': the value of '%.60s' is not a string", name);
            break;
        }
        st = add_header(t, name, value, FERRY_ERR_CONFIG, err);
        if (st != FERRY_OK)
            break;
    }
    json_decref(obj);
    return st;
}

/* true/false words as ferry_conn_extra_bool reads them; -1 for anything else. */
static int bool_word(const char *v)
{
    static const char *const truthy[] = {"true", "1", "yes", "on"};
    static const char *const falsy[] = {"false", "0", "no", "off"};
    for (size_t i = 0; i < sizeof truthy / sizeof truthy[0]; i++) {
        if (strcasecmp(v, truthy[i]) == 0)
            return 1;
        if (strcasecmp(v, falsy[i]) == 0)
            return 0;
    }
    return -1;
}

/* A file the connection names: an unusable CA bundle fails certificate
 * verification (4, as in every hook: curl's CURLE_SSL_CACERT_BADFILE,
 * Postgres' sslrootcert); our own certificate or key is configuration (3). */
static ferry_status readable_file(const ferry_http_target *t, const char *what, const char *path, int verifies,
                                  ferry_error *err)
{
    if (access(path, R_OK) == 0)
        return FERRY_OK;
    return ferry_error_hook(err, verifies ? FERRY_ERR_CONNECT : FERRY_ERR_CONFIG, FERRY_HTTP_SYSTEM, t->conn_id,
                            "%s '%s' cannot be read: %s", what, path, strerror(errno));
}

/* proxies: {"http": URL, "https": URL} -> the one for this URL's scheme. */
static ferry_status proxies_extra(ferry_http_target *t, const char *text, ferry_error *err)
{
    json_t *obj = json_loads(text, 0, NULL);
    json_t *v = json_is_object(obj) ? json_object_get(obj, t->tls ? "https" : "http") : NULL;
    ferry_status st = FERRY_OK;
    if (!json_is_object(obj))
        st = config_error(t, "extra 'proxies' is not a JSON object {\"http\": URL, \"https\": URL}", err);
    else if (json_is_string(v) && !t->proxy) {
        t->proxy_owned = strdup(json_string_value(v));
        if (!t->proxy_owned)
            st = ferry_error_oom(err, NULL, NULL, NULL);
        t->proxy = t->proxy_owned;
    }
    json_decref(obj);
    return st;
}

/* A proxy URL's password ("http://u:pw@proxy:3128") is a secret too. */
static void register_proxy_secret(const char *proxy)
{
    const char *auth = strstr(proxy, "://");
    auth = auth ? auth + 3 : proxy;
    const char *at = strchr(auth, '@');
    const char *colon = strchr(auth, ':');
    if (!at || !colon || colon > at)
        return;
    char pw[256];
    size_t n = (size_t)(at - colon - 1);
    if (n == 0 || n >= sizeof pw)
        return;
    memcpy(pw, colon + 1, n);
    pw[n] = '\0';
    ferry_secret_add(pw);
}

static ferry_status positive_number(const ferry_http_target *t, const char *key, const char *v, double *out,
                                    ferry_error *err)
{
    char *end = NULL;
    errno = 0;
    double d = strtod(v, &end);
    if (errno != 0 || end == v || *end != '\0' || !(d > 0) || d > 1e7)
        return ferry_error_hook(err, FERRY_ERR_CONFIG, FERRY_HTTP_SYSTEM, t->conn_id,
                                "extra '%s' must be a positive number of seconds, not '%.40s'", key, v);
    *out = d;
    return FERRY_OK;
}

static ferry_status apply_extra(ferry_http_target *t, const char *key, const char *v, ferry_error *err)
{
    if (strcmp(key, "headers") == 0)
        return headers_extra(t, v, err);
    if (strcmp(key, "token") == 0 || strcmp(key, "bearer_token") == 0) {
        if (v[0])
            t->bearer = v;
        return FERRY_OK;
    }
    if (strcmp(key, "timeout") == 0) {
        double d = 0;
        ferry_status st = positive_number(t, key, v, &d, err);
        if (st == FERRY_OK && d < t->timeout)
            t->timeout = d;
        return st;
    }
    if (strcmp(key, "verify") == 0) {
        int b = bool_word(v);
        if (b >= 0) {
            t->verify = b;
            return FERRY_OK;
        }
        t->verify = 1;
        t->ca_bundle = v;
        return readable_file(t, "verify (CA bundle)", v, 1, err);
    }
    if (strcmp(key, "ca_bundle") == 0) {
        t->ca_bundle = v;
        return readable_file(t, "ca_bundle", v, 1, err);
    }
    if (strcmp(key, "cert") == 0) {
        t->client_cert = v;
        return readable_file(t, "cert", v, 0, err);
    }
    if (strcmp(key, "key") == 0) {
        t->client_key = v;
        return readable_file(t, "key", v, 0, err);
    }
    if (strcmp(key, "proxy") == 0) {
        t->proxy = v;
        register_proxy_secret(v);
        return FERRY_OK;
    }
    if (strcmp(key, "proxies") == 0) {
        ferry_status st = proxies_extra(t, v, err);
        if (st == FERRY_OK && t->proxy)
            register_proxy_secret(t->proxy);
        return st;
    }
    if (strcmp(key, "allow_redirects") == 0) {
        int b = bool_word(v);
        if (b < 0)
            return config_error(t, "extra 'allow_redirects' must be true or false", err);
        t->follow = b;
        return FERRY_OK;
    }
    if (strcmp(key, "max_redirects") == 0) {
        char *end = NULL;
        long n = strtol(v, &end, 10);
        if (end == v || *end != '\0' || n < 0 || n > 100)
            return config_error(t, "extra 'max_redirects' must be a number from 0 to 100", err);
        t->max_redirects = n;
        return FERRY_OK;
    }
    ferry_log(FERRY_LOG_WARN, "%s(%s): ignoring the unknown connection extra '%s' (headers go in the "
              "'headers' extra)", FERRY_HTTP_SYSTEM, t->conn_id, key);
    return FERRY_OK;
}

/* base64("login:password") as sent in "Authorization: Basic ...": a secret. */
static void register_basic_credential(const char *login, const char *password)
{
    size_t n = strlen(login) + 1 + strlen(password);
    unsigned char *raw = malloc(n + 1);
    char *b64 = malloc(FERRY_BASE64_CAP(n));
    if (raw && b64) {
        snprintf((char *)raw, n + 1, "%s:%s", login, password);
        ferry_base64_encode(raw, n, b64, FERRY_BASE64_CAP(n));
        ferry_secret_add(b64);
        OPENSSL_cleanse(raw, n);
    }
    free(raw);
    free(b64);
}

static ferry_status target_common(ferry_http_target *t, const ferry_conn *conn, int is_inline,
                                  const ferry_copy_options *o, ferry_error *err)
{
    t->tls = strncasecmp(t->url, "https://", 8) == 0;
    t->verify = 1;
    t->follow = 1;
    t->max_redirects = FERRY_HTTP_MAX_REDIRECTS;
    t->timeout = o && o->timeout > 0 ? o->timeout : 300.0;
    t->login = conn->login;
    t->password = conn->password;
    ferry_status st = FERRY_OK;
    for (size_t i = 0; !is_inline && st == FERRY_OK && i < conn->n_extra; i++)
        st = apply_extra(t, conn->extra[i].key, conn->extra[i].value, err);
    for (size_t i = 0; o && st == FERRY_OK && i < o->n_http_headers; i++)
        st = add_header_line(t, o->http_headers[i], err);
    if (st == FERRY_OK && t->login && !t->bearer)
        register_basic_credential(t->login, t->password ? t->password : "");
    if (st == FERRY_OK && t->tls && !t->verify)
        ferry_log(FERRY_LOG_WARN, "%s(%s): TLS certificate verification is off (verify=false)", FERRY_HTTP_SYSTEM,
                  t->conn_id);
    return st;
}

ferry_status ferry_http_target_init(ferry_http_target *t, const ferry_endpoint *ep, const ferry_copy_options *o,
                                    ferry_error *err)
{
    memset(t, 0, sizeof *t);
    t->conn_id = ferry_endpoint_conn_id(ep);
    if (!ep->conn)
        return ferry_error_hook(err, FERRY_ERR_INTERNAL, FERRY_HTTP_SYSTEM, t->conn_id, "endpoint without a connection");
    ferry_status st = ferry_http_build_url(ep->conn, ep->path, &t->url, err);
    if (st == FERRY_OK)
        st = target_common(t, ep->conn, ferry_http_is_inline(ep->conn, ep->path), o, err);
    if (st != FERRY_OK)
        ferry_http_target_release(t);
    return st;
}

ferry_status ferry_http_target_init_conn(ferry_http_target *t, const ferry_conn *conn, ferry_error *err)
{
    memset(t, 0, sizeof *t);
    t->conn_id = conn->id && conn->id[0] ? conn->id : "inline";
    ferry_status st = ferry_http_build_url(conn, "", &t->url, err);
    if (st == FERRY_OK)
        st = target_common(t, conn, 0, NULL, err);
    if (st != FERRY_OK)
        ferry_http_target_release(t);
    return st;
}

void ferry_http_target_release(ferry_http_target *t)
{
    if (!t)
        return;
    free(t->url);
    free(t->proxy_owned);
    curl_slist_free_all(t->headers);
    const char *id = t->conn_id;
    memset(t, 0, sizeof *t);
    t->conn_id = id;
}
