/*
 * endpoint.c - turning the user's endpoint text into a hook, a connection and
 * a path:  "-" | "file://p" | "p" | "s3://bucket/key" | "CONN_ID:PATH" |
 * "postgresql://…" (an inline connection).  Compression and format are read
 * off the name (".csv.gz") unless forced by the options or the hook is SQL
 * (FERRY_HOOK_SQL: the path names a table).  The kind says which syntax the
 * text had; what the system does comes from the hook's flags and slots.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "ferry/hook.h"
#include "ferry/log.h"

static const char *const inline_schemes[] = {
    "postgresql://", "postgres://", "mysql://", "mariadb://", "sftp://", "ssh://",
    "http://", "https://", NULL,
};

static int has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcasecmp(s + n - m, suffix) == 0;
}

/* Format from the extension under an optional ".gz" or ".zst". */
static ferry_format format_from_name(const char *name)
{
    size_t n = strlen(name);
    char base[4096];
    if (n >= sizeof base)
        return FERRY_FORMAT_AUTO;
    memcpy(base, name, n + 1);
    if (has_suffix(base, ".gz"))
        base[n - 3] = '\0';
    else if (has_suffix(base, ".zst"))
        base[n - 4] = '\0';
    if (has_suffix(base, ".csv"))
        return FERRY_FORMAT_CSV;
    if (has_suffix(base, ".tsv") || has_suffix(base, ".tab"))
        return FERRY_FORMAT_TSV;
    if (has_suffix(base, ".jsonl") || has_suffix(base, ".ndjson"))
        return FERRY_FORMAT_JSONL;
    if (has_suffix(base, ".parquet"))
        return FERRY_FORMAT_PARQUET;
    return FERRY_FORMAT_AUTO;
}

/* "CONN_ID:" prefix: an id of [A-Za-z0-9_-] followed by ':' (not "://"). */
static size_t conn_prefix_len(const char *text)
{
    size_t i = 0;
    while (isalnum((unsigned char)text[i]) || text[i] == '_' || text[i] == '-')
        i++;
    if (i == 0 || text[i] != ':' || (text[i + 1] == '/' && text[i + 2] == '/'))
        return 0;
    return i;
}

/* "scheme://" of a URI (RFC 3986 scheme characters): its length, else 0. */
static size_t unknown_scheme_len(const char *text)
{
    size_t i = 0;
    if (!isalpha((unsigned char)text[0]))
        return 0;
    while (isalnum((unsigned char)text[i]) || text[i] == '+' || text[i] == '-' || text[i] == '.')
        i++;
    return strncmp(text + i, "://", 3) == 0 ? i : 0;
}

static int is_inline_uri(const char *text)
{
    for (const char *const *s = inline_schemes; *s; s++)
        if (strncasecmp(text, *s, strlen(*s)) == 0)
            return 1;
    return 0;
}

static ferry_status hook_for_conn(ferry_endpoint *ep, ferry_error *err)
{
    ep->hook = ferry_hook_for_type(ep->conn->type);
    if (!ep->hook)
        return ferry_error_set(err, FERRY_ERR_CONFIG,
                               "connection '%s' has type '%s', which no ferry hook serves",
                               ferry_endpoint_conn_id(ep), ep->conn->type ? ep->conn->type : "");
    return FERRY_OK;
}

static ferry_status parse_s3(ferry_endpoint *ep, const char *text, const ferry_copy_options *o,
                             ferry_error *err)
{
    ep->kind = FERRY_EP_S3;
    ep->path = strdup(text + 5);
    if (!ep->path)
        return ferry_error_oom(err, NULL, NULL, NULL);
    if (ep->path[0] == '\0' || ep->path[0] == '/')
        return ferry_error_set(err, FERRY_ERR_USAGE, "s3 endpoint '%s' names no bucket", text);
    const char *id = o && o->s3_conn ? o->s3_conn : NULL;
    ferry_status st = id ? ferry_conn_resolve(id, &ep->conn, err)
                         : ferry_conn_lookup("aws_default", &ep->conn, err);
    if (st != FERRY_OK)
        return st;
    if (!ep->conn) {
        /* no aws_default: an empty connection, so the hook uses the AWS env chain */
        ep->conn = ferry_conn_new("aws_default", "aws");
        if (!ep->conn)
            return ferry_error_oom(err, NULL, NULL, NULL);
    }
    ep->hook = ferry_hook_for_type("aws");
    if (!ep->hook)
        return ferry_error_set(err, FERRY_ERR_CONFIG, "this ferry was built without S3 support");
    return FERRY_OK;
}

static ferry_status parse_inline(ferry_endpoint *ep, const char *text, ferry_error *err)
{
    ep->kind = FERRY_EP_CONN;
    char *uri = strdup(text);
    if (!uri)
        return ferry_error_oom(err, NULL, NULL, NULL);
    const char *table = "";
    /* the syntax of the SQL schemes: "postgresql://…#table" */
    int with_table = strncasecmp(uri, "postgres", 8) == 0 || strncasecmp(uri, "mysql", 5) == 0 ||
                     strncasecmp(uri, "mariadb", 7) == 0;
    char *hash = with_table ? strchr(uri, '#') : NULL;
    if (hash) {
        *hash = '\0';
        table = hash + 1;
    }
    ferry_status st = ferry_conn_parse_uri("", uri, &ep->conn, err);
    if (st == FERRY_OK)
        st = hook_for_conn(ep, err);
    if (st == FERRY_OK) {
        if (with_table)
            ep->path = strdup(table);
        else if (ep->hook->flags & FERRY_HOOK_URL)
            ep->path = strdup(text);   /* the hook builds requests from the whole URL */
        else {
            /* sftp://user@host/path: Airflow puts the path in schema */
            const char *p = ep->conn->schema ? ep->conn->schema : "";
            size_t n = strlen(p);
            ep->path = malloc(n + 2);
            if (ep->path) {
                ep->path[0] = '/';
                memcpy(ep->path + 1, p, n + 1);
            }
        }
        if (!ep->path)
            st = ferry_error_oom(err, NULL, NULL, NULL);
    }
    free(uri);
    return st;
}

static ferry_status parse_conn_path(ferry_endpoint *ep, const char *text, size_t idlen, ferry_error *err)
{
    ep->kind = FERRY_EP_CONN;
    char id[256];
    if (idlen >= sizeof id)
        return ferry_error_set(err, FERRY_ERR_CONFIG, "connection id in '%.40s…' is too long", text);
    memcpy(id, text, idlen);
    id[idlen] = '\0';
    ferry_status st = ferry_conn_resolve(id, &ep->conn, err);
    if (st != FERRY_OK)
        return st;
    ep->path = strdup(text + idlen + 1);
    if (!ep->path)
        return ferry_error_oom(err, NULL, NULL, NULL);
    return hook_for_conn(ep, err);
}

static ferry_status parse_local(ferry_endpoint *ep, const char *text, ferry_error *err)
{
    if (strcmp(text, "-") == 0) {
        ep->kind = FERRY_EP_STDIO;
        ep->hook = &ferry_hook_stdio;
        ep->path = strdup("");
    } else {
        ep->kind = FERRY_EP_LOCAL;
        ep->hook = &ferry_hook_local;
        ep->path = strdup(strncmp(text, "file://", 7) == 0 ? text + 7 : text);
    }
    if (!ep->path)
        return ferry_error_oom(err, NULL, NULL, NULL);
    if (ep->kind == FERRY_EP_LOCAL && ep->path[0] == '\0')
        return ferry_error_set(err, FERRY_ERR_USAGE, "empty local path");
    return FERRY_OK;
}

ferry_status ferry_endpoint_parse(const char *text, const ferry_copy_options *o, int is_dest,
                                  ferry_endpoint **out, ferry_error *err)
{
    *out = NULL;
    if (!text || !*text)
        return ferry_error_set(err, FERRY_ERR_USAGE, "empty endpoint");
    ferry_endpoint *ep = calloc(1, sizeof *ep);
    if (!ep || !(ep->text = strdup(text))) {
        free(ep);
        return ferry_error_oom(err, NULL, NULL, NULL);
    }
    ferry_status st;
    size_t idlen;
    if (strncmp(text, "s3://", 5) == 0)
        st = parse_s3(ep, text, o, err);
    else if (is_inline_uri(text))
        st = parse_inline(ep, text, err);
    else if (strncmp(text, "file://", 7) != 0 && (idlen = unknown_scheme_len(text)) > 0)
        st = ferry_error_set(err, FERRY_ERR_CONFIG,
                             "unknown scheme '%.*s://' (known: s3, file, postgresql, mysql, mariadb, sftp, "
                             "http, https; a local path with '://' in it: write ./%.40s)",
                             (int)(idlen > 40 ? 40 : idlen), text, text);
    else if (strncmp(text, "file://", 7) != 0 && (idlen = conn_prefix_len(text)) > 0)
        st = parse_conn_path(ep, text, idlen, err);
    else
        st = parse_local(ep, text, err);
    if (st != FERRY_OK) {
        ferry_endpoint_free(ep);
        return st;
    }

    /* a SQL endpoint names a table: rows, no compression or format in its name */
    int is_sql = (ep->hook->flags & FERRY_HOOK_SQL) != 0;
    ferry_compress forced = o ? (is_dest ? o->dst_compress : o->src_compress) : FERRY_COMPRESS_AUTO;
    /* a URL's name ends before its query string or fragment */
    char name[4096];
    snprintf(name, sizeof name, "%s", ep->path);
    if (ep->hook->flags & FERRY_HOOK_URL)
        name[strcspn(name, "?#")] = '\0';
    if (is_sql)
        ep->compress = FERRY_COMPRESS_NONE;
    else if (forced != FERRY_COMPRESS_AUTO)
        ep->compress = forced;
    else
        ep->compress = has_suffix(name, ".gz")    ? FERRY_COMPRESS_GZIP
                       : has_suffix(name, ".zst") ? FERRY_COMPRESS_ZSTD
                                                  : FERRY_COMPRESS_NONE;
    ep->format = is_sql ? FERRY_FORMAT_AUTO : format_from_name(name);
    *out = ep;
    return FERRY_OK;
}

void ferry_endpoint_free(ferry_endpoint *ep)
{
    if (!ep)
        return;
    ferry_conn_free(ep->conn);
    free(ep->text);
    free(ep->path);
    free(ep);
}

const char *ferry_endpoint_display(const ferry_endpoint *ep, char *buf, size_t cap)
{
    if (!buf || cap == 0)
        return "";
    snprintf(buf, cap, "%s", ep && ep->text ? ep->text : "");
    ferry_scrub(buf, cap);
    return buf;
}

const char *ferry_endpoint_conn_id(const ferry_endpoint *ep)
{
    if (!ep || !ep->conn)
        return "";
    return ep->conn->id && ep->conn->id[0] ? ep->conn->id : "inline";
}
