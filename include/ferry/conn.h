/*
 * ferry/conn.h - Airflow-compatible connections.
 *
 * A connection has an id, a type, host, port, login, password, schema and
 * extras (string key/value pairs; non-string JSON extras keep their JSON text).
 * An id is resolved, in order, from FERRY_CONN_<ID>, AIRFLOW_CONN_<ID> (URI or
 * JSON form, as Airflow reads them) and the connections file
 * ($FERRY_CONNECTIONS_FILE, default $XDG_CONFIG_HOME/ferry/connections.json or
 * ~/.config/ferry/connections.json: a JSON object {"id": {airflow json}, ...}).
 * <ID> is the id upper-cased.
 *
 * Ownership: every ferry_conn returned by these functions is owned by the
 * caller and released with ferry_conn_free.  Strings inside are owned by the
 * connection.  Parsing registers the password and secret extras with
 * ferry_secret_add, so they are scrubbed from every message.
 */
#ifndef FERRY_CONN_H
#define FERRY_CONN_H

#include <stddef.h>
#include "ferry/error.h"
#include "ferry/export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ferry_kv {
    char *key;
    char *value;
} ferry_kv;

typedef struct ferry_conn {
    char *id;        /* as asked for; "" for an inline URI */
    char *type;      /* normalised: postgres, mysql, aws, sftp, http, or as given */
    char *host;      /* NULL when absent */
    int port;        /* 0 when absent */
    char *login;     /* NULL when absent */
    char *password;  /* NULL when absent; a secret */
    char *schema;    /* database for SQL, URL scheme for http; NULL when absent */
    ferry_kv *extra; /* n_extra pairs, in the order given */
    size_t n_extra;
    char *origin;    /* where it came from, e.g. "env AIRFLOW_CONN_WAREHOUSE" */
} ferry_conn;

/* Parse Airflow's URI form: scheme://login:password@host:port/schema?k=v&__extra__=JSON
 * Percent-decodes every part. Scheme "postgresql" → type "postgres",
 * "s3"/"aws" → "aws", "https" → "http" with schema "https", "ssh" → "sftp",
 * dashes become underscores. Errors are FERRY_ERR_CONFIG and name id. */
/* As in Airflow (parse_qsl), '+' is a space in the query only; "%2B" is '+'.
 * For http connections the schema is the URL scheme: "http://h/https" and
 * "https://h" both give schema "https" (an https URI's path is not kept).  Empty
 * parts are NULL; "?__extra__=<JSON object>" members join the other query
 * parameters as extras (strings as-is, other values as compact JSON). */
FERRY_API ferry_status ferry_conn_parse_uri(const char *id, const char *uri, ferry_conn **out, ferry_error *err);

/* Parse Airflow's JSON form: {"conn_type":..., "host":..., "login":..., "password":...,
 * "schema":..., "port":..., "extra": {...} or "json text"}. */
FERRY_API ferry_status ferry_conn_parse_json(const char *id, const char *json, ferry_conn **out, ferry_error *err);

/* Parse either form (JSON when the first non-space character is '{'). */
FERRY_API ferry_status ferry_conn_parse(const char *id, const char *text, ferry_conn **out, ferry_error *err);

/* Resolve an id from the environment and the connections file.
 * Not found anywhere: FERRY_ERR_CONFIG "connection 'ID' is not defined (...)". */
FERRY_API ferry_status ferry_conn_resolve(const char *id, ferry_conn **out, ferry_error *err);

/* Like ferry_conn_resolve, but returns FERRY_OK with *out == NULL when the id is
 * defined nowhere (used for defaults such as aws_default). */
FERRY_API ferry_status ferry_conn_lookup(const char *id, ferry_conn **out, ferry_error *err);

/* A new empty connection of the given type (caller frees). */
FERRY_API ferry_conn *ferry_conn_new(const char *id, const char *type);

/* Borrowed pointer to the extra's value, or NULL. Keys compare exactly. */
FERRY_API const char *ferry_conn_extra(const ferry_conn *c, const char *key);
/* Extra as a boolean: "true"/"1"/"yes"/"on" → 1, "false"/"0"/"no"/"off" → 0, else dflt. */
FERRY_API int ferry_conn_extra_bool(const ferry_conn *c, const char *key, int dflt);

/* Nonzero when an extra of this name holds a secret: ignoring case, '-', '_',
 * '.' and spaces, the name contains secret, token, password, passwd,
 * passphrase, apikey, privatekey, credential, authorization, cookie,
 * accesskey or customerkey ("X-Api-Key", "Set-Cookie", "sse_customer_key"). */
FERRY_API int ferry_conn_is_secret_key(const char *key);

/* The connection as Airflow JSON with secrets shown as "***" (caller frees). */
FERRY_API char *ferry_conn_to_json_masked(const ferry_conn *c);

/* All ids defined in the environment (FERRY_CONN_*, AIRFLOW_CONN_*, lower-cased)
 * and the connections file, sorted and unique. *ids is a NULL-terminated array;
 * free with ferry_strv_free. Each origin is returned in *origins (same order). */
FERRY_API ferry_status ferry_conn_list(char ***ids, char ***origins, ferry_error *err);
FERRY_API void ferry_strv_free(char **v);

FERRY_API void ferry_conn_free(ferry_conn *c);

#ifdef __cplusplus
}
#endif
#endif
