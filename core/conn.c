/*
 * conn.c - Airflow-compatible connections: parse Airflow's URI and JSON forms,
 * resolve an id from FERRY_CONN_<ID>, AIRFLOW_CONN_<ID> and the connections
 * file, list the ids defined, and show a connection as Airflow JSON with its
 * secrets masked.
 *
 * Parsing follows airflow/models/connection.py (_parse_from_uri: urlsplit,
 * unquote, dict(parse_qsl(query, keep_blank_values=True)), __extra__), with
 * these choices where Python is loose or ferry needs more:
 *  - ferry is strict where urlsplit/unquote guess: a bad %-escape, %00, a port
 *    that is not 1-65535, a '#', a control character, an unbalanced '[', an
 *    __extra__ that is not a JSON object are errors that give the offset.
 *    Messages never quote the URI, so a password cannot leak through them.
 *  - '+' is a space in the query only (parse_qsl does that, unquote does
 *    not): "?a=some+val" gives "some val", "u:a+b@h" gives the password "a+b".
 *  - A repeated query key keeps its first position and its last value (as a
 *    Python dict does).  __extra__ members are merged in at its position;
 *    Airflow ignores the other parameters when __extra__ is present, ferry
 *    keeps both (Airflow never writes both).
 *  - Empty host/login/password/schema are absent (NULL).  The host keeps its
 *    case (Python lower-cases it) and loses IPv6 brackets, as in Airflow.
 *  - Types: lower-cased, '-' -> '_', postgresql -> postgres, mariadb -> mysql, s3 -> aws,
 *    ssh -> sftp, https -> http.  For http connections the schema field is
 *    the URL scheme (Airflow's HttpHook reads it so): "https://h" is type http
 *    with schema "https"; "http://h/https" likewise.  The path of an https URI
 *    ("https://h/data.csv", an inline endpoint) is checked but not kept: the
 *    schema holds the scheme, and callers that want the path read the URL.
 *  - Airflow 2.3+ "type://proto://host": the host becomes "proto://host", but
 *    for http connections proto becomes the schema and the host stays bare.
 *
 * Every password, secret-named extra (also inside nested JSON extras), private
 * key and the raw, still percent-encoded form of each is registered with
 * ferry_secret_add as soon as it is parsed; the id, type, host, login, schema
 * and extra names are registered as public words (core/mask.h: free text
 * keeps them readable).  An aws login is an access key id, which Airflow
 * does not treat as a secret: it is not registered.  Nothing here prints.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "core/encode.h"
#include "core/mask.h"
#include "core/util.h"
#include "ferry/conn.h"
#include "ferry/log.h"

#define CONN_TEXT_MAX ((size_t)64 * 1024)       /* longest URI, JSON text or field */
#define CONN_ID_MAX 250                         /* Airflow's ID_LEN */
#define CONN_ID_SHOWN 64                        /* how much of an id a message shows */
#define CONN_FILE_MAX ((off_t)16 * 1024 * 1024) /* largest connections file read */

static const char *const env_prefixes[] = {"FERRY_CONN_", "AIRFLOW_CONN_"};
#define N_ENV_PREFIXES (sizeof env_prefixes / sizeof env_prefixes[0])

/* ------------------------------------------------------------------ */
/* small string helpers                                                */
/* ------------------------------------------------------------------ */

static int is_ascii_alpha(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

static int is_ascii_digit(char ch)
{
    return ch >= '0' && ch <= '9';
}

static int is_ascii_space(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\f' || ch == '\v';
}

static char ascii_lower(char ch)
{
    return (ch >= 'A' && ch <= 'Z') ? (char)(ch - 'A' + 'a') : ch;
}

static char ascii_upper(char ch)
{
    return (ch >= 'a' && ch <= 'z') ? (char)(ch - 'a' + 'A') : ch;
}

static char *lower_dup(const char *s, size_t n)
{
    char *t = malloc(n + 1);
    if (!t)
        return NULL;
    for (size_t i = 0; i < n; i++)
        t[i] = ascii_lower(s[i]);
    t[n] = '\0';
    return t;
}

/* Index of the first ch in s[from, to), or to. */
static size_t find_char(const char *s, size_t from, size_t to, char ch)
{
    for (size_t i = from; i < to; i++)
        if (s[i] == ch)
            return i;
    return to;
}

/* Index of the last ch in s[from, to), or to. */
static size_t find_last_char(const char *s, size_t from, size_t to, char ch)
{
    for (size_t i = to; i > from; i--)
        if (s[i - 1] == ch)
            return i - 1;
    return to;
}

/* Copy of id fit for a message: printable ASCII only, at most CONN_ID_SHOWN. */
static void printable_id(const char *id, char *buf, size_t cap)
{
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)(id ? id : ""); *p && o + 1 < cap; p++)
        buf[o++] = (*p >= 0x20 && *p < 0x7f) ? (char)*p : '?';
    buf[o] = '\0';
}

/* ------------------------------------------------------------------ */
/* errors                                                              */
/* ------------------------------------------------------------------ */

/* What is being parsed, for messages: "connection 'id' (origin): cause". */
typedef struct conn_src {
    const char *id;
    const char *origin; /* NULL for text handed to a parse function directly */
    ferry_error *err;
} conn_src;

static ferry_status conn_fail(const conn_src *src, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static ferry_status conn_fail(const conn_src *src, const char *fmt, ...)
{
    char cause[FERRY_ERROR_MSG_MAX];
    char id[CONN_ID_SHOWN + 1];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cause, sizeof cause, fmt, ap);
    va_end(ap);
    printable_id(src->id, id, sizeof id);
    if (src->origin)
        return ferry_error_set(src->err, FERRY_ERR_CONFIG, "connection '%s' (%s): %s", id,
                               src->origin, cause);
    if (*id)
        return ferry_error_set(src->err, FERRY_ERR_CONFIG, "connection '%s': %s", id, cause);
    return ferry_error_set(src->err, FERRY_ERR_CONFIG, "connection: %s", cause);
}

static ferry_status out_of_memory(ferry_error *err)
{
    return ferry_error_oom(err, "connection", NULL, NULL);
}

/* ------------------------------------------------------------------ */
/* the connection value                                                */
/* ------------------------------------------------------------------ */

static ferry_conn *conn_alloc(const char *id, const char *origin)
{
    ferry_conn *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->id = strdup(id ? id : "");
    c->origin = strdup(origin ? origin : "");
    if (!c->id || !c->origin) {
        ferry_conn_free(c);
        return NULL;
    }
    return c;
}

void ferry_conn_free(ferry_conn *c)
{
    if (!c)
        return;
    free(c->id);
    free(c->type);
    free(c->host);
    free(c->login);
    free(c->password);
    free(c->schema);
    for (size_t i = 0; i < c->n_extra; i++) {
        free(c->extra[i].key);
        free(c->extra[i].value);
    }
    free(c->extra);
    free(c->origin);
    free(c);
}

/* Set an extra: a key already present keeps its place and takes the new value. */
static int conn_put_extra(ferry_conn *c, const char *key, const char *value)
{
    char *v = strdup(value);
    if (!v)
        return -1;
    for (size_t i = 0; i < c->n_extra; i++) {
        if (strcmp(c->extra[i].key, key) == 0) {
            free(c->extra[i].value);
            c->extra[i].value = v;
            return 0;
        }
    }
    char *k = strdup(key);
    ferry_kv *nv = k ? realloc(c->extra, (c->n_extra + 1) * sizeof *nv) : NULL;
    if (!nv) {
        free(k);
        free(v);
        return -1;
    }
    c->extra = nv;
    c->extra[c->n_extra].key = k;
    c->extra[c->n_extra].value = v;
    c->n_extra++;
    return 0;
}

/* Airflow's conn_type rules plus ferry's aliases (see the top of this file). */
static char *normalize_type(const char *s, size_t n)
{
    static const struct {
        const char *from, *to;
    } aliases[] = {
        {"postgresql", "postgres"},
        {"s3", "aws"},
        {"ssh", "sftp"},
        {"mariadb", "mysql"},
        {"https", "http"},
    };
    char *t = lower_dup(s, n);
    if (!t)
        return NULL;
    for (char *p = t; *p; p++)
        if (*p == '-')
            *p = '_';
    for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++) {
        if (strcmp(t, aliases[i].from) == 0) {
            free(t);
            return strdup(aliases[i].to);
        }
    }
    return t;
}

static int type_is_https(const char *s, size_t n)
{
    return n == 5 && strncasecmp(s, "https", 5) == 0;
}

ferry_conn *ferry_conn_new(const char *id, const char *type)
{
    ferry_conn *c = conn_alloc(id, "");
    if (!c)
        return NULL;
    if (type) {
        c->type = normalize_type(type, strlen(type));
        if (!c->type) {
            ferry_conn_free(c);
            return NULL;
        }
    }
    return c;
}

const char *ferry_conn_extra(const ferry_conn *c, const char *key)
{
    if (!c || !key)
        return NULL;
    for (size_t i = 0; i < c->n_extra; i++)
        if (strcmp(c->extra[i].key, key) == 0)
            return c->extra[i].value;
    return NULL;
}

int ferry_conn_extra_bool(const ferry_conn *c, const char *key, int dflt)
{
    static const char *const truthy[] = {"true", "1", "yes", "on"};
    static const char *const falsy[] = {"false", "0", "no", "off"};
    const char *v = ferry_conn_extra(c, key);
    if (!v)
        return dflt;
    for (size_t i = 0; i < sizeof truthy / sizeof truthy[0]; i++) {
        if (strcasecmp(v, truthy[i]) == 0)
            return 1;
        if (strcasecmp(v, falsy[i]) == 0)
            return 0;
    }
    return dflt;
}

int ferry_conn_is_secret_key(const char *key)
{
    return ferry_mask_secret_name(key);
}

/* ------------------------------------------------------------------ */
/* secrets                                                             */
/* ------------------------------------------------------------------ */

static void register_secret_range(const char *s, size_t n)
{
    char *copy = strndup(s, n);
    if (copy) {
        ferry_secret_add(copy);
        free(copy);
    }
}

/* An extra holding JSON text (a non-string JSON extra) may hide secrets
 * inside; its member names are public words. */
static void register_nested_secrets(const char *text, int under_secret_key)
{
    if (text[0] != '{' && text[0] != '[')
        return;
    json_t *j = json_loads(text, 0, NULL);
    if (!j)
        return;
    ferry_mask_note_json(j, under_secret_key);
    json_decref(j);
}

/* The password, every secret extra and every private key are secrets; never
 * the login, not even an aws one (an access key id is not a secret by
 * Airflow's rules).  The id, type, host, login, schema and extra names are
 * public words: free text keeps them readable (core/mask.h). */
static void register_conn_secrets(const ferry_conn *c)
{
    if (c->password)
        ferry_secret_add(c->password);
    for (size_t i = 0; i < c->n_extra; i++) {
        int secret = ferry_conn_is_secret_key(c->extra[i].key);
        if (secret || ferry_mask_secret_value(c->extra[i].value))
            ferry_secret_add(c->extra[i].value);
        ferry_mask_add_public(c->extra[i].key);
        register_nested_secrets(c->extra[i].value, secret);
    }
    ferry_mask_add_public(c->id);
    ferry_mask_add_public(c->type);
    ferry_mask_add_public(c->host);
    ferry_mask_add_public(c->login);
    ferry_mask_add_public(c->schema);
}

/* ------------------------------------------------------------------ */
/* checks shared by the URI and JSON forms                             */
/* ------------------------------------------------------------------ */

/* Digits only, 1..65535; empty is "no port" (*port = 0). */
static int parse_port_text(const char *s, size_t n, int *port)
{
    long value = 0;
    *port = 0;
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (!is_ascii_digit(s[i]))
            return -1;
        value = value * 10 + (s[i] - '0');
        if (value > 65535)
            return -1;
    }
    if (value < 1)
        return -1;
    *port = (int)value;
    return 0;
}

/* For http connections the schema is the URL scheme: an https type sets it.
 * A URI's path gives way to it; a JSON "schema" that says otherwise is an error. */
static ferry_status apply_https_scheme(const conn_src *src, ferry_conn *c, int from_uri)
{
    if (c->schema && strcasecmp(c->schema, "https") != 0) {
        if (!from_uri)
            return conn_fail(src, "conn_type https with a \"schema\" other than \"https\": for "
                                  "http connections the schema is the URL scheme, as in Airflow");
        free(c->schema);
        c->schema = NULL;
    }
    if (!c->schema && !(c->schema = strdup("https")))
        return out_of_memory(src->err);
    return FERRY_OK;
}

/* The last step of every parse: the https rule, then the secrets. */
static ferry_status finish_conn(const conn_src *src, ferry_conn *c, int https, int from_uri)
{
    if (https) {
        ferry_status st = apply_https_scheme(src, c, from_uri);
        if (st != FERRY_OK)
            return st;
    }
    register_conn_secrets(c);
    return FERRY_OK;
}

/* Turn the members of a JSON object into extras: strings as they are, other
 * values as their compact JSON text. */
static ferry_status add_json_extras(const conn_src *src, ferry_conn *c, json_t *obj)
{
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v) {
        char *text = json_is_string(v) ? strdup(json_string_value(v))
                                       : json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        if (!text)
            return out_of_memory(src->err);
        if (strlen(text) > CONN_TEXT_MAX) {
            free(text);
            return conn_fail(src, "an extra is longer than %zu bytes", CONN_TEXT_MAX);
        }
        int rc = conn_put_extra(c, key, text);
        free(text);
        if (rc != 0)
            return out_of_memory(src->err);
    }
    return FERRY_OK;
}

/* ------------------------------------------------------------------ */
/* URI form                                                            */
/* ------------------------------------------------------------------ */

typedef enum decode_result { DECODE_OK, DECODE_BAD_ESCAPE, DECODE_NUL, DECODE_NOMEM } decode_result;

/* Percent-decode s[0, n) into a new string; '+' becomes ' ' when plus_is_space.
 * On failure *bad_at is the offset of the offending '%'. */
static decode_result percent_decode(const char *s, size_t n, int plus_is_space, char **out,
                                    size_t *bad_at)
{
    char *buf = malloc(n + 1);
    size_t o = 0;
    *out = NULL;
    if (!buf)
        return DECODE_NOMEM;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%') {
            int hi = n - i < 3 ? -1 : ferry_hex_value((unsigned char)s[i + 1]);
            int lo = n - i < 3 ? -1 : ferry_hex_value((unsigned char)s[i + 2]);
            if (hi < 0 || lo < 0) {
                free(buf);
                *bad_at = i;
                return DECODE_BAD_ESCAPE;
            }
            int byte = hi * 16 + lo;
            if (byte == 0) {
                free(buf);
                *bad_at = i;
                return DECODE_NUL;
            }
            buf[o++] = (char)byte;
            i += 2;
        } else if (s[i] == '+' && plus_is_space) {
            buf[o++] = ' ';
        } else {
            buf[o++] = s[i];
        }
    }
    buf[o] = '\0';
    *out = buf;
    return DECODE_OK;
}

typedef struct span {
    size_t at, len; /* offsets into the URI as given */
} span;

/* Where each part of a URI is; nothing decoded yet. */
typedef struct uri_split {
    span scheme;
    span proto; /* "type://proto://host" (Airflow 2.3+); len 0 when absent */
    span login;
    int has_password;
    span password;
    span host;
    int port; /* 0 when absent */
    int has_path;
    span path; /* after its leading '/' */
    int has_query;
    span query; /* after the '?' */
} uri_split;

/* Decode one part of the URI (always a string, possibly ""). */
static ferry_status decode_span(const conn_src *src, const char *uri, span part, int plus_is_space,
                                const char *what, char **out)
{
    size_t bad = 0;
    switch (percent_decode(uri + part.at, part.len, plus_is_space, out, &bad)) {
    case DECODE_OK:
        return FERRY_OK;
    case DECODE_BAD_ESCAPE:
        return conn_fail(src, "malformed URI: bad percent-encoding at offset %zu", part.at + bad);
    case DECODE_NUL:
        return conn_fail(src, "malformed URI: %%00 (NUL byte) in the %s at offset %zu", what,
                         part.at + bad);
    case DECODE_NOMEM:
        break;
    }
    return out_of_memory(src->err);
}

/* Like decode_span, but an empty part is absent (NULL). */
static ferry_status decode_optional_span(const conn_src *src, const char *uri, span part,
                                         const char *what, char **out)
{
    *out = NULL;
    if (part.len == 0)
        return FERRY_OK;
    return decode_span(src, uri, part, 0, what, out);
}

static int is_scheme_char(char ch)
{
    return is_ascii_alpha(ch) || is_ascii_digit(ch) || ch == '+' || ch == '-' || ch == '.' ||
           ch == '_';
}

/* End of a scheme-like word starting at from (from itself when there is none). */
static size_t scheme_word_end(const char *s, size_t from, size_t to)
{
    if (from >= to || !is_ascii_alpha(s[from]))
        return from;
    size_t i = from + 1;
    while (i < to && is_scheme_char(s[i]))
        i++;
    return i;
}

static ferry_status check_uri_characters(const conn_src *src, const char *uri, size_t begin,
                                         size_t end)
{
    for (size_t i = begin; i < end; i++) {
        unsigned char ch = (unsigned char)uri[i];
        if (ch < 0x20 || ch == 0x7f)
            return conn_fail(src, "malformed URI: control character at offset %zu", i);
        if (ch == '#')
            return conn_fail(src, "malformed URI: '#' at offset %zu (percent-encode it as %%23)",
                             i);
    }
    return FERRY_OK;
}

static ferry_status split_scheme(const conn_src *src, const char *uri, size_t begin, size_t end,
                                 uri_split *u, size_t *rest)
{
    const char *sep = memmem(uri + begin, end - begin, "://", 3);
    if (!sep)
        return conn_fail(src, "malformed URI: missing \"://\" after the connection type");
    size_t sep_at = (size_t)(sep - uri);
    if (sep_at == begin)
        return conn_fail(src, "malformed URI: empty scheme (connection type)");
    if (!is_ascii_alpha(uri[begin]))
        return conn_fail(src, "malformed URI: the scheme must start with a letter (offset %zu)",
                         begin);
    for (size_t i = begin; i < sep_at; i++)
        if (!is_scheme_char(uri[i]))
            return conn_fail(src, "malformed URI: invalid character in the scheme at offset %zu",
                             i);
    u->scheme = (span){begin, sep_at - begin};
    *rest = sep_at + 3;
    return FERRY_OK;
}

/* host[:port] or [v6]:port in uri[from, to). */
static ferry_status split_host_port(const conn_src *src, const char *uri, size_t from, size_t to,
                                    uri_split *u)
{
    size_t port_at = to;
    int has_port;
    if (from < to && uri[from] == '[') {
        size_t close = find_char(uri, from, to, ']');
        if (close == to)
            return conn_fail(src, "malformed URI: unterminated '[' in the host at offset %zu",
                             from);
        u->host = (span){from + 1, close - from - 1};
        has_port = close + 1 < to;
        if (has_port && uri[close + 1] != ':')
            return conn_fail(src, "malformed URI: unexpected character after ']' at offset %zu",
                             close + 1);
        port_at = close + 2;
    } else {
        size_t colon = find_char(uri, from, to, ':');
        u->host = (span){from, colon - from};
        for (size_t i = from; i < colon; i++)
            if (uri[i] == '[' || uri[i] == ']')
                return conn_fail(src, "malformed URI: unexpected '%c' in the host at offset %zu",
                                 uri[i], i);
        has_port = colon < to;
        port_at = colon + 1;
    }
    if (has_port && parse_port_text(uri + port_at, to - port_at, &u->port) != 0)
        return conn_fail(src,
                         "malformed URI: invalid port at offset %zu (expected a number from 1 to "
                         "65535)",
                         port_at);
    return FERRY_OK;
}

/* Find the parts of scheme://[login[:password]@]host[:port][/schema][?query]. */
static ferry_status split_uri(const conn_src *src, const char *uri, size_t begin, size_t end,
                              uri_split *u)
{
    size_t i = begin;
    memset(u, 0, sizeof *u);
    ferry_status st = check_uri_characters(src, uri, begin, end);
    if (st == FERRY_OK)
        st = split_scheme(src, uri, begin, end, u, &i);
    if (st != FERRY_OK)
        return st;

    size_t proto_end = scheme_word_end(uri, i, end);
    if (proto_end > i && end - proto_end >= 3 && memcmp(uri + proto_end, "://", 3) == 0) {
        u->proto = (span){i, proto_end - i};
        i = proto_end + 3;
    }

    size_t auth_end = i;
    while (auth_end < end && uri[auth_end] != '/' && uri[auth_end] != '?')
        auth_end++;
    size_t host_at = i;
    size_t at = find_last_char(uri, i, auth_end, '@');
    if (at != auth_end) {
        size_t colon = find_char(uri, i, at, ':');
        u->login = (span){i, colon - i};
        if (colon != at) {
            u->has_password = 1;
            u->password = (span){colon + 1, at - colon - 1};
            /* the raw form too, before anything can fail */
            register_secret_range(uri + u->password.at, u->password.len);
        }
        host_at = at + 1;
    }
    st = split_host_port(src, uri, host_at, auth_end, u);
    if (st != FERRY_OK)
        return st;

    size_t pos = auth_end;
    if (pos < end && uri[pos] == '/') {
        size_t q = find_char(uri, pos, end, '?');
        u->has_path = 1;
        u->path = (span){pos + 1, q - pos - 1};
        pos = q;
    }
    if (pos < end) { /* uri[pos] == '?' */
        u->has_query = 1;
        u->query = (span){pos + 1, end - pos - 1};
    }
    return FERRY_OK;
}

/* __extra__: a JSON object whose members become extras. */
static ferry_status merge_uri_extra_json(const conn_src *src, ferry_conn *c, const char *text,
                                         size_t offset)
{
    json_error_t jerr;
    json_t *j = json_loads(text, 0, &jerr);
    if (!j)
        return conn_fail(src,
                         "malformed URI: __extra__ at offset %zu is not valid JSON (error at "
                         "character %d of its decoded value)",
                         offset, jerr.position);
    ferry_status st =
        json_is_object(j)
            ? add_json_extras(src, c, j)
            : conn_fail(src, "malformed URI: __extra__ at offset %zu must be a JSON object",
                        offset);
    json_decref(j);
    return st;
}

/* One "key=value" (or "key") of the query in uri[from, to). */
static ferry_status parse_query_pair(const conn_src *src, const char *uri, size_t from, size_t to,
                                     ferry_conn *c)
{
    size_t eq = find_char(uri, from, to, '=');
    size_t value_at = eq < to ? eq + 1 : to;
    char *key = NULL, *value = NULL;
    if (eq == from)
        return conn_fail(src, "malformed URI: empty query parameter name at offset %zu", from);
    /* parse_qsl: '+' is a space in keys and values of the query */
    ferry_status st = decode_span(src, uri, (span){from, eq - from}, 1, "query", &key);
    if (st != FERRY_OK)
        return st;
    if (ferry_conn_is_secret_key(key) && to > value_at)
        register_secret_range(uri + value_at, to - value_at);
    st = decode_span(src, uri, (span){value_at, to - value_at}, 1, "query", &value);
    if (st == FERRY_OK) {
        if (strcmp(key, "__extra__") == 0)
            st = merge_uri_extra_json(src, c, value, value_at);
        else if (conn_put_extra(c, key, value) != 0)
            st = out_of_memory(src->err);
    }
    free(key);
    free(value);
    return st;
}

static ferry_status parse_query(const conn_src *src, const char *uri, span query, ferry_conn *c)
{
    size_t end = query.at + query.len;
    for (size_t pos = query.at;;) {
        size_t amp = find_char(uri, pos, end, '&');
        if (amp > pos) {
            ferry_status st = parse_query_pair(src, uri, pos, amp, c);
            if (st != FERRY_OK)
                return st;
        }
        if (amp == end)
            return FERRY_OK;
        pos = amp + 1;
    }
}

/* "type://proto://host": Airflow makes the host "proto://host"; for http
 * connections ferry makes proto the schema (the URL scheme) instead. */
static ferry_status apply_host_protocol(const conn_src *src, const char *uri, span proto,
                                        ferry_conn *c)
{
    char *p = lower_dup(uri + proto.at, proto.len);
    if (!p)
        return out_of_memory(src->err);
    if (strcmp(c->type, "http") == 0) {
        if (!c->schema) {
            c->schema = p;
            return FERRY_OK;
        }
        int same = strcasecmp(c->schema, p) == 0;
        free(p);
        return same ? FERRY_OK
                    : conn_fail(src, "malformed URI: the host's protocol and the path (schema) "
                                     "give two different URL schemes");
    }
    if (c->host) {
        char *h = ferry_strdup_printf("%s://%s", p, c->host);
        if (!h) {
            free(p);
            return out_of_memory(src->err);
        }
        free(c->host);
        c->host = h;
    }
    free(p);
    return FERRY_OK;
}

static ferry_status fill_from_split(const conn_src *src, const char *uri, const uri_split *u,
                                    ferry_conn *c)
{
    ferry_status st;
    if (!(c->type = normalize_type(uri + u->scheme.at, u->scheme.len)))
        return out_of_memory(src->err);
    if ((st = decode_optional_span(src, uri, u->login, "login", &c->login)) != FERRY_OK)
        return st;
    if ((st = decode_optional_span(src, uri, u->password, "password", &c->password)) != FERRY_OK)
        return st;
    if (c->password)
        ferry_secret_add(c->password);
    if ((st = decode_optional_span(src, uri, u->host, "host", &c->host)) != FERRY_OK)
        return st;
    if ((st = decode_optional_span(src, uri, u->path, "schema", &c->schema)) != FERRY_OK)
        return st;
    if (u->proto.len && (st = apply_host_protocol(src, uri, u->proto, c)) != FERRY_OK)
        return st;
    c->port = u->port;
    if (u->has_query)
        return parse_query(src, uri, u->query, c);
    return FERRY_OK;
}

static ferry_status conn_from_uri(const conn_src *src, const char *uri, ferry_conn **out)
{
    size_t len = strnlen(uri, CONN_TEXT_MAX + 1);
    if (len > CONN_TEXT_MAX)
        return conn_fail(src, "malformed URI: longer than %zu bytes", CONN_TEXT_MAX);
    size_t begin = 0, end = len;
    while (begin < end && is_ascii_space(uri[begin]))
        begin++;
    while (end > begin && is_ascii_space(uri[end - 1]))
        end--;
    if (begin == end)
        return conn_fail(src, "malformed URI: empty");

    uri_split u;
    ferry_status st = split_uri(src, uri, begin, end, &u);
    if (st != FERRY_OK)
        return st;
    ferry_conn *c = conn_alloc(src->id, src->origin ? src->origin : "inline");
    if (!c)
        return out_of_memory(src->err);
    st = fill_from_split(src, uri, &u, c);
    if (st == FERRY_OK)
        st = finish_conn(src, c, type_is_https(uri + u.scheme.at, u.scheme.len), 1);
    if (st != FERRY_OK) {
        ferry_conn_free(c);
        return st;
    }
    *out = c;
    return FERRY_OK;
}

/* ------------------------------------------------------------------ */
/* JSON form                                                           */
/* ------------------------------------------------------------------ */

/* A string member; null, "" and a missing member are absent (NULL). */
static ferry_status json_string_member(const conn_src *src, json_t *obj, const char *name,
                                       char **out)
{
    json_t *v = json_object_get(obj, name);
    *out = NULL;
    if (!v || json_is_null(v))
        return FERRY_OK;
    if (!json_is_string(v))
        return conn_fail(src, "\"%s\" must be a string", name);
    if (json_string_length(v) > CONN_TEXT_MAX)
        return conn_fail(src, "\"%s\" is longer than %zu bytes", name, CONN_TEXT_MAX);
    if (json_string_length(v) == 0)
        return FERRY_OK;
    if (!(*out = strdup(json_string_value(v))))
        return out_of_memory(src->err);
    return FERRY_OK;
}

/* "port": a number or a numeric string, 1..65535; null or "" is absent. */
static ferry_status json_port_member(const conn_src *src, json_t *obj, int *port)
{
    json_t *v = json_object_get(obj, "port");
    *port = 0;
    if (!v || json_is_null(v))
        return FERRY_OK;
    if (json_is_integer(v)) {
        json_int_t p = json_integer_value(v);
        if (p >= 1 && p <= 65535) {
            *port = (int)p;
            return FERRY_OK;
        }
    } else if (json_is_string(v)) {
        if (parse_port_text(json_string_value(v), json_string_length(v), port) == 0)
            return FERRY_OK;
    }
    return conn_fail(src, "\"port\" must be a number from 1 to 65535");
}

/* "extra": an object, or a string holding the JSON text of one (Airflow stores it so). */
static ferry_status json_extra_member(const conn_src *src, json_t *obj, ferry_conn *c)
{
    json_t *v = json_object_get(obj, "extra");
    if (!v || json_is_null(v))
        return FERRY_OK;
    if (json_is_object(v))
        return add_json_extras(src, c, v);
    if (!json_is_string(v))
        return conn_fail(src, "\"extra\" must be a JSON object or a string holding one");
    if (json_string_length(v) == 0)
        return FERRY_OK;
    json_error_t jerr;
    json_t *parsed = json_loads(json_string_value(v), 0, &jerr);
    if (!parsed)
        return conn_fail(src, "\"extra\" is not valid JSON (error at character %d of it)",
                         jerr.position);
    ferry_status st = json_is_object(parsed) ? add_json_extras(src, c, parsed)
                                             : conn_fail(src, "\"extra\" must hold a JSON object");
    json_decref(parsed);
    return st;
}

static ferry_status fill_from_json(const conn_src *src, json_t *obj, ferry_conn *c)
{
    ferry_status st;
    if ((st = json_string_member(src, obj, "host", &c->host)) != FERRY_OK ||
        (st = json_string_member(src, obj, "login", &c->login)) != FERRY_OK ||
        (st = json_string_member(src, obj, "password", &c->password)) != FERRY_OK ||
        (st = json_string_member(src, obj, "schema", &c->schema)) != FERRY_OK)
        return st;
    if (c->password)
        ferry_secret_add(c->password);
    if ((st = json_port_member(src, obj, &c->port)) != FERRY_OK)
        return st;
    return json_extra_member(src, obj, c);
}

/* Airflow's JSON form; unknown members (description, conn_id, ...) are ignored. */
static ferry_status conn_from_json_value(const conn_src *src, json_t *obj, ferry_conn **out)
{
    if (!json_is_object(obj))
        return conn_fail(src, "expected a JSON object");
    json_t *type = json_object_get(obj, "conn_type");
    if (!type || json_is_null(type))
        return conn_fail(src, "\"conn_type\" is missing");
    if (!json_is_string(type) || json_string_length(type) == 0 ||
        json_string_length(type) > CONN_TEXT_MAX)
        return conn_fail(src, "\"conn_type\" must be a non-empty string");

    ferry_conn *c = conn_alloc(src->id, src->origin ? src->origin : "inline");
    if (!c)
        return out_of_memory(src->err);
    const char *type_text = json_string_value(type);
    size_t type_len = json_string_length(type);
    ferry_status st = FERRY_OK;
    if (!(c->type = normalize_type(type_text, type_len)))
        st = out_of_memory(src->err);
    if (st == FERRY_OK)
        st = fill_from_json(src, obj, c);
    if (st == FERRY_OK)
        st = finish_conn(src, c, type_is_https(type_text, type_len), 0);
    if (st != FERRY_OK) {
        ferry_conn_free(c);
        return st;
    }
    *out = c;
    return FERRY_OK;
}

static ferry_status conn_from_json_text(const conn_src *src, const char *text, ferry_conn **out)
{
    if (strnlen(text, CONN_TEXT_MAX + 1) > CONN_TEXT_MAX)
        return conn_fail(src, "JSON longer than %zu bytes", CONN_TEXT_MAX);
    json_error_t jerr;
    json_t *j = json_loads(text, 0, &jerr);
    /* jerr.text may quote the input (a password): give only the position */
    if (!j)
        return conn_fail(src, "invalid JSON at line %d column %d", jerr.line, jerr.column);
    ferry_status st = conn_from_json_value(src, j, out);
    json_decref(j);
    return st;
}

/* JSON when the first non-space character is '{', else a URI. */
static ferry_status conn_from_text(const conn_src *src, const char *text, ferry_conn **out)
{
    const char *p = text;
    while (is_ascii_space(*p))
        p++;
    if (*p == '{')
        return conn_from_json_text(src, text, out);
    return conn_from_uri(src, text, out);
}

/* ------------------------------------------------------------------ */
/* public parse functions                                              */
/* ------------------------------------------------------------------ */

typedef ferry_status (*text_parser)(const conn_src *, const char *, ferry_conn **);

static ferry_status parse_entry(text_parser parser, const char *what, const char *id,
                                const char *text, ferry_conn **out, ferry_error *err)
{
    if (!out || !text)
        return ferry_error_set(err, FERRY_ERR_USAGE, "%s: NULL argument", what);
    *out = NULL;
    conn_src src = {id, NULL, err};
    return parser(&src, text, out);
}

ferry_status ferry_conn_parse_uri(const char *id, const char *uri, ferry_conn **out,
                                  ferry_error *err)
{
    return parse_entry(conn_from_uri, "ferry_conn_parse_uri", id, uri, out, err);
}

ferry_status ferry_conn_parse_json(const char *id, const char *json, ferry_conn **out,
                                   ferry_error *err)
{
    return parse_entry(conn_from_json_text, "ferry_conn_parse_json", id, json, out, err);
}

ferry_status ferry_conn_parse(const char *id, const char *text, ferry_conn **out, ferry_error *err)
{
    return parse_entry(conn_from_text, "ferry_conn_parse", id, text, out, err);
}

/* ------------------------------------------------------------------ */
/* resolving: environment, then the connections file                   */
/* ------------------------------------------------------------------ */

static int conn_id_is_valid(const char *id)
{
    size_t n = 0;
    for (const char *p = id; *p; p++, n++)
        if (!is_ascii_alpha(*p) && !is_ascii_digit(*p) && *p != '_' && *p != '-')
            return 0;
    return n > 0 && n <= CONN_ID_MAX;
}

static ferry_status check_conn_id(const char *id, ferry_error *err)
{
    char shown[CONN_ID_SHOWN + 1];
    if (!id || !*id)
        return ferry_error_set(err, FERRY_ERR_CONFIG, "connection id is empty");
    if (conn_id_is_valid(id))
        return FERRY_OK;
    printable_id(id, shown, sizeof shown);
    return ferry_error_set(
        err, FERRY_ERR_CONFIG,
        "invalid connection id '%s': use at most %d letters, digits, '_' and '-'", shown,
        CONN_ID_MAX);
}

/* prefix + the id upper-cased, e.g. AIRFLOW_CONN_WAREHOUSE. */
static char *env_var_name(const char *prefix, const char *id)
{
    char *name = ferry_strdup_printf("%s%s", prefix, id);
    if (name)
        for (char *p = name + strlen(prefix); *p; p++)
            *p = ascii_upper(*p);
    return name;
}

/* $FERRY_CONNECTIONS_FILE (*named = 1), else $XDG_CONFIG_HOME/ferry/connections.json,
 * else $HOME/.config/ferry/connections.json; *path NULL when none can be named. */
static ferry_status connections_file_path(char **path, int *named, ferry_error *err)
{
    const char *file = getenv("FERRY_CONNECTIONS_FILE");
    const char *xdg = getenv("XDG_CONFIG_HOME");
    const char *home = getenv("HOME");
    *path = NULL;
    *named = 0;
    if (file && *file) {
        *named = 1;
        *path = strdup(file);
    } else if (xdg && xdg[0] == '/') { /* the XDG spec ignores relative paths */
        *path = ferry_strdup_printf("%s/ferry/connections.json", xdg);
    } else if (home && *home) {
        *path = ferry_strdup_printf("%s/.config/ferry/connections.json", home);
    } else {
        return FERRY_OK;
    }
    return *path ? FERRY_OK : out_of_memory(err);
}

static void warn_if_readable_by_others(const char *path, const struct stat *st)
{
    if (S_ISREG(st->st_mode) && (st->st_mode & 077))
        ferry_log(FERRY_LOG_WARN,
                  "connections file %s is readable by group or others (mode %03o): chmod 600 it",
                  path, (unsigned)(st->st_mode & 0777));
}

/* Load the file as a JSON object; *root stays NULL when a default file does not exist. */
static ferry_status load_connections_file(const char *path, int named, json_t **root,
                                          ferry_error *err)
{
    *root = NULL;
    FILE *fp = fopen(path, "re");
    if (!fp) {
        int e = errno;
        if ((e == ENOENT || e == ENOTDIR) && !named)
            return FERRY_OK;
        if (e == ENOENT || e == ENOTDIR)
            return ferry_error_set(err, FERRY_ERR_CONFIG,
                                   "connections file %s (FERRY_CONNECTIONS_FILE) does not exist",
                                   path);
        return ferry_error_set(err, FERRY_ERR_IO, "cannot open connections file %s: %s", path,
                               strerror(e));
    }
    struct stat st;
    if (fstat(fileno(fp), &st) != 0 || S_ISDIR(st.st_mode)) {
        fclose(fp);
        return ferry_error_set(err, FERRY_ERR_CONFIG, "connections file %s is not a file", path);
    }
    if (S_ISREG(st.st_mode) && st.st_size > CONN_FILE_MAX) {
        fclose(fp);
        return ferry_error_set(err, FERRY_ERR_CONFIG,
                               "connections file %s is larger than %lld bytes", path,
                               (long long)CONN_FILE_MAX);
    }
    warn_if_readable_by_others(path, &st);
    json_error_t jerr;
    json_t *j = json_loadf(fp, 0, &jerr);
    fclose(fp);
    if (!j) /* jerr.text may quote a password: give only the position */
        return ferry_error_set(err, FERRY_ERR_CONFIG,
                               "connections file %s: invalid JSON at line %d column %d", path,
                               jerr.line, jerr.column);
    if (!json_is_object(j)) {
        json_decref(j);
        return ferry_error_set(
            err, FERRY_ERR_CONFIG,
            "connections file %s: expected a JSON object {\"id\": connection, ...}", path);
    }
    *root = j;
    return FERRY_OK;
}

/* One member of the file: an Airflow JSON object or a URI (or JSON) string. */
static ferry_status conn_from_file_entry(const char *id, const char *path, json_t *entry,
                                         ferry_conn **out, ferry_error *err)
{
    char *origin = ferry_strdup_printf("file %s", path);
    if (!origin)
        return out_of_memory(err);
    conn_src src = {id, origin, err};
    ferry_status st;
    if (json_is_string(entry))
        st = conn_from_text(&src, json_string_value(entry), out);
    else if (json_is_object(entry))
        st = conn_from_json_value(&src, entry, out);
    else
        st = conn_fail(&src, "expected a JSON object or a URI string");
    free(origin);
    return st;
}

/* The id as a member of the connections file (exact match). */
static ferry_status lookup_in_file(const char *id, ferry_conn **out, ferry_error *err)
{
    char *path;
    int named;
    json_t *root = NULL;
    ferry_status st = connections_file_path(&path, &named, err);
    if (st != FERRY_OK || !path)
        return st;
    st = load_connections_file(path, named, &root, err);
    if (st == FERRY_OK && root) {
        json_t *entry = json_object_get(root, id);
        if (entry)
            st = conn_from_file_entry(id, path, entry, out, err);
    }
    json_decref(root);
    free(path);
    return st;
}

/* FERRY_CONN_<ID>, then AIRFLOW_CONN_<ID>; an empty variable is not a definition
 * (as in Airflow).  *found says whether one was used. */
static ferry_status lookup_in_env(const char *id, ferry_conn **out, int *found, ferry_error *err)
{
    *found = 0;
    for (size_t i = 0; i < N_ENV_PREFIXES; i++) {
        char *name = env_var_name(env_prefixes[i], id);
        if (!name)
            return out_of_memory(err);
        const char *value = getenv(name);
        if (!value || !*value) {
            free(name);
            continue;
        }
        char *origin = ferry_strdup_printf("env %s", name);
        free(name);
        if (!origin)
            return out_of_memory(err);
        conn_src src = {id, origin, err};
        ferry_status st = conn_from_text(&src, value, out);
        free(origin);
        *found = 1;
        return st;
    }
    return FERRY_OK;
}

ferry_status ferry_conn_lookup(const char *id, ferry_conn **out, ferry_error *err)
{
    int found;
    if (!out)
        return ferry_error_set(err, FERRY_ERR_USAGE, "ferry_conn_lookup: NULL argument");
    *out = NULL;
    ferry_status st = check_conn_id(id, err);
    if (st == FERRY_OK)
        st = lookup_in_env(id, out, &found, err);
    if (st != FERRY_OK || found)
        return st;
    return lookup_in_file(id, out, err);
}

ferry_status ferry_conn_resolve(const char *id, ferry_conn **out, ferry_error *err)
{
    ferry_status st = ferry_conn_lookup(id, out, err);
    if (st != FERRY_OK || *out)
        return st;
    char *path;
    int named;
    char *upper = env_var_name("", id);
    if (!upper)
        return out_of_memory(err);
    st = connections_file_path(&path, &named, err);
    if (st == FERRY_OK)
        st = ferry_error_set(
            err, FERRY_ERR_CONFIG,
            "connection '%s' is not defined (looked in FERRY_CONN_%s, "
            "AIRFLOW_CONN_%s, %s)",
            id, upper, upper,
            path ? path : "no connections file: FERRY_CONNECTIONS_FILE and HOME are unset");
    free(upper);
    free(path);
    return st;
}

/* ------------------------------------------------------------------ */
/* listing                                                             */
/* ------------------------------------------------------------------ */

typedef struct conn_entry {
    char *id;
    char *origin;
    int from_env;
} conn_entry;

typedef struct conn_entries {
    conn_entry *v;
    size_t n, cap;
} conn_entries;

static void entries_free(conn_entries *e)
{
    for (size_t i = 0; i < e->n; i++) {
        free(e->v[i].id);
        free(e->v[i].origin);
    }
    free(e->v);
    e->v = NULL;
    e->n = e->cap = 0;
}

/* Whether an earlier origin (in resolve order) already defines id.  Env ids are
 * case-insensitive (resolve upper-cases them), file ids are exact. */
static int entries_shadow(const conn_entries *e, const char *id, int from_env)
{
    for (size_t i = 0; i < e->n; i++) {
        if (from_env && strcmp(e->v[i].id, id) == 0)
            return 1;
        if (!from_env && e->v[i].from_env && strcasecmp(e->v[i].id, id) == 0)
            return 1;
    }
    return 0;
}

/* Takes id and origin (freed on failure). */
static int entries_add(conn_entries *e, char *id, char *origin, int from_env)
{
    if (!id || !origin)
        goto fail;
    if (entries_shadow(e, id, from_env)) {
        free(id);
        free(origin);
        return 0;
    }
    if (e->n == e->cap) {
        size_t ncap = e->cap ? e->cap * 2 : 16;
        conn_entry *nv = realloc(e->v, ncap * sizeof *nv);
        if (!nv)
            goto fail;
        e->v = nv;
        e->cap = ncap;
    }
    e->v[e->n++] = (conn_entry){id, origin, from_env};
    return 0;
fail:
    free(id);
    free(origin);
    return -1;
}

/* The name part of PREFIX<NAME>=value when resolve could find it by a lower-case
 * id: upper-case letters, digits, '_' and '-', and a non-empty value. */
static int env_name_is_listable(const char *name, size_t n, const char *value)
{
    if (n == 0 || n > CONN_ID_MAX || !*value)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char ch = name[i];
        if (!(ch >= 'A' && ch <= 'Z') && !is_ascii_digit(ch) && ch != '_' && ch != '-')
            return 0;
    }
    return 1;
}

static ferry_status collect_env_ids(conn_entries *e, const char *prefix, ferry_error *err)
{
    size_t plen = strlen(prefix);
    for (char **ep = environ; ep && *ep; ep++) {
        if (strncmp(*ep, prefix, plen) != 0)
            continue;
        const char *name = *ep + plen;
        const char *eq = strchr(name, '=');
        if (!eq || !env_name_is_listable(name, (size_t)(eq - name), eq + 1))
            continue;
        size_t n = (size_t)(eq - name);
        char *id = lower_dup(name, n);
        char *origin = ferry_strdup_printf("env %s%.*s", prefix, (int)n, name);
        if (entries_add(e, id, origin, 1) != 0)
            return out_of_memory(err);
    }
    return FERRY_OK;
}

static ferry_status collect_file_ids(conn_entries *e, ferry_error *err)
{
    char *path;
    int named;
    json_t *root = NULL;
    ferry_status st = connections_file_path(&path, &named, err);
    if (st != FERRY_OK || !path)
        return st;
    st = load_connections_file(path, named, &root, err);
    if (st == FERRY_OK && root) {
        const char *key;
        json_t *v;
        json_object_foreach(root, key, v) {
            if (!conn_id_is_valid(key))
                continue;
            if (entries_add(e, strdup(key), ferry_strdup_printf("file %s", path), 0) != 0) {
                st = out_of_memory(err);
                break;
            }
        }
    }
    json_decref(root);
    free(path);
    return st;
}

static int compare_entries(const void *a, const void *b)
{
    return strcmp(((const conn_entry *)a)->id, ((const conn_entry *)b)->id);
}

ferry_status ferry_conn_list(char ***ids, char ***origins, ferry_error *err)
{
    conn_entries e = {NULL, 0, 0};
    ferry_status st = FERRY_OK;
    if (!ids)
        return ferry_error_set(err, FERRY_ERR_USAGE, "ferry_conn_list: NULL argument");
    *ids = NULL;
    if (origins)
        *origins = NULL;
    for (size_t i = 0; i < N_ENV_PREFIXES && st == FERRY_OK; i++)
        st = collect_env_ids(&e, env_prefixes[i], err);
    if (st == FERRY_OK)
        st = collect_file_ids(&e, err);
    if (st != FERRY_OK) {
        entries_free(&e);
        return st;
    }
    if (e.n > 1)
        qsort(e.v, e.n, sizeof *e.v, compare_entries);

    char **idv = calloc(e.n + 1, sizeof *idv);
    char **orv = origins ? calloc(e.n + 1, sizeof *orv) : NULL;
    if (!idv || (origins && !orv)) {
        free(idv);
        free(orv);
        entries_free(&e);
        return out_of_memory(err);
    }
    for (size_t i = 0; i < e.n; i++) {
        idv[i] = e.v[i].id;
        if (orv)
            orv[i] = e.v[i].origin;
        else
            free(e.v[i].origin);
    }
    free(e.v);
    *ids = idv;
    if (origins)
        *origins = orv;
    return FERRY_OK;
}

void ferry_strv_free(char **v)
{
    if (!v)
        return;
    for (char **p = v; *p; p++)
        free(*p);
    free(v);
}

/* ------------------------------------------------------------------ */
/* masked JSON                                                         */
/* ------------------------------------------------------------------ */

/* Length of the valid UTF-8 sequence at s (n bytes left), 0 when invalid. */
static size_t utf8_sequence_length(const unsigned char *s, size_t n)
{
    size_t len;
    unsigned cp;
    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xC2 && s[0] <= 0xDF)
        len = 2, cp = s[0] & 0x1Fu;
    else if (s[0] >= 0xE0 && s[0] <= 0xEF)
        len = 3, cp = s[0] & 0x0Fu;
    else if (s[0] >= 0xF0 && s[0] <= 0xF4)
        len = 4, cp = s[0] & 0x07u;
    else
        return 0;
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3Fu);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
        (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
        return 0;
    return len;
}

/* A JSON string of s; bytes that are not UTF-8 (a decoded %E9, say) become U+FFFD. */
static json_t *json_string_lossy(const char *s)
{
    size_t n = strlen(s);
    char *buf = malloc(3 * n + 1);
    size_t o = 0;
    if (!buf)
        return NULL;
    for (size_t i = 0; i < n;) {
        size_t len = utf8_sequence_length((const unsigned char *)s + i, n - i);
        if (len == 0) {
            memcpy(buf + o, "\xEF\xBF\xBD", 3);
            o += 3;
            i++;
        } else {
            memcpy(buf + o, s + i, len);
            o += len;
            i += len;
        }
    }
    buf[o] = '\0';
    json_t *j = json_string(buf);
    free(buf);
    return j;
}

/* json_string_lossy of s masked as free text (core/mask.h).  Masking each
 * string before it is encoded keeps the JSON valid: masking the encoded text
 * could match across a '", "' and cut the syntax apart. */
static json_t *json_string_scrubbed(const char *s)
{
    size_t n = strlen(s) + 1;
    char *copy = malloc(3 * n); /* a masked byte alone becomes "***" */
    if (!copy)
        return NULL;
    memcpy(copy, s, n);
    ferry_scrub(copy, 3 * n);
    json_t *j = json_string_lossy(copy);
    free(copy);
    return j;
}

/* Set obj[name] = value (masked as free text) when value is not NULL; names
 * are ferry's or the user's field names, shown as they are.  Nonzero on
 * failure. */
static int set_member(json_t *obj, const char *name, const char *value, int masked)
{
    if (!value)
        return 0;
    json_t *s = masked ? json_string_lossy(value) : json_string_scrubbed(value);
    json_t *key = json_string_lossy(name);
    int rc = (s && key) ? json_object_set_new(obj, json_string_value(key), s) : -1;
    if (rc != 0 && !key)
        json_decref(s);
    json_decref(key);
    return rc;
}

static int set_string_member(json_t *obj, const char *name, const char *value)
{
    return set_member(obj, name, value, 0);
}

/* One extra's value as shown: "***" for a secret name or a private key; JSON
 * text masked by field (headers named Authorization, X-Api-Key, ...);
 * anything else as free text (*masked = 0: still to do).  Caller frees. */
static char *masked_extra_value(const ferry_kv *kv, int *masked)
{
    *masked = 1;
    if (ferry_conn_is_secret_key(kv->key) || ferry_mask_secret_value(kv->value))
        return strdup(FERRY_MASK);
    if (kv->value[0] == '{' || kv->value[0] == '[') {
        json_t *j = json_loads(kv->value, 0, NULL);
        if (j) {
            char *text = json_dumps(ferry_mask_json(j, 0), JSON_COMPACT | JSON_ENCODE_ANY);
            json_decref(j);
            return text;
        }
    }
    *masked = 0;
    return strdup(kv->value);
}

static json_t *masked_extras(const ferry_conn *c)
{
    json_t *extra = json_object();
    if (!extra)
        return NULL;
    for (size_t i = 0; i < c->n_extra; i++) {
        int masked = 0;
        char *v = masked_extra_value(&c->extra[i], &masked);
        if (!v || set_member(extra, c->extra[i].key, v, masked) != 0) {
            free(v);
            json_decref(extra);
            return NULL;
        }
        free(v);
    }
    return extra;
}

char *ferry_conn_to_json_masked(const ferry_conn *c)
{
    if (!c)
        return NULL;
    json_t *o = json_object();
    if (!o)
        return NULL;
    int failed = set_string_member(o, "conn_id", c->id) |
                 set_string_member(o, "conn_type", c->type) |
                 set_string_member(o, "host", c->host) | set_string_member(o, "login", c->login) |
                 set_string_member(o, "password", c->password ? FERRY_MASK : NULL) |
                 set_string_member(o, "schema", c->schema);
    if (c->port > 0)
        failed |= json_object_set_new(o, "port", json_integer(c->port));
    if (c->n_extra > 0) {
        json_t *extra = masked_extras(c);
        failed |= extra ? json_object_set_new(o, "extra", extra) : -1;
    }
    /* secret fields are "***" by field; every other string was masked as
     * free text on its way in (set_string_member), which also masks secrets
     * registered elsewhere (a token repeated in a non-secret extra) */
    char *text = failed ? NULL : json_dumps(o, JSON_PRESERVE_ORDER);
    json_decref(o);
    return text;
}
