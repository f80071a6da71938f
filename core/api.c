/*
 * api.c - the small library calls the CLI verbs map onto that are not a
 * transfer: version (FERRY_VERSION_STRING from the generated ferry/version.h,
 * i.e. CMake's project version), connection test, exec.
 */
#include <curl/curl.h>
#include <libpq-fe.h>
#include <libssh2.h>
#include <mysql.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>
#ifdef FERRY_HAVE_ISAL
#include <isa-l.h>
#endif

#include "ferry/ferry.h"

const char *ferry_version(void)
{
    return FERRY_VERSION_STRING;
}

const char *ferry_version_string(char *buf, size_t cap)
{
    int pq = PQlibVersion();
    curl_version_info_data *cv = curl_version_info(CURLVERSION_NOW);
#ifdef FERRY_HAVE_ISAL
    char gzip[64];
    snprintf(gzip, sizeof gzip, "gzip by ISA-L %d.%d.%d", ISAL_MAJOR_VERSION, ISAL_MINOR_VERSION, ISAL_PATCH_VERSION);
#else
    const char *gzip = "gzip by zlib";
#endif
    snprintf(buf, cap, "ferry %s (libpq %d.%d, libcurl %s, libssh2 %s, mariadb-client %s, zlib %s, %s, zstd %s, %s)",
             FERRY_VERSION_STRING, pq / 10000, pq % 10000, cv ? cv->version : "?", libssh2_version(0),
             mysql_get_client_info(), zlibVersion(), gzip, ZSTD_versionString(), OpenSSL_version(OPENSSL_VERSION));
    return buf;
}

ferry_status ferry_conn_test(const char *id, char *info, size_t cap, ferry_error *err)
{
    ferry_conn *c = NULL;
    ferry_status st = ferry_conn_resolve(id, &c, err);
    if (st != FERRY_OK)
        return st;
    const ferry_hook *h = ferry_hook_for_type(c->type);
    if (!h)
        st = ferry_error_set(err, FERRY_ERR_CONFIG, "connection '%s' has type '%s', which no ferry hook serves", id,
                             c->type);
    else if (!h->test)
        st = ferry_error_set(err, FERRY_ERR_USAGE, "%s(%s): this hook cannot test connections", h->name, id);
    else
        st = h->test(c, info, cap, err);
    ferry_conn_free(c);
    return st;
}

ferry_status ferry_exec(const char *conn_endpoint, const char *sql, ferry_exec_options *eo, ferry_error *err)
{
    ferry_endpoint *ep = NULL;
    ferry_status st = ferry_endpoint_parse(conn_endpoint, NULL, 0, &ep, err);
    if (st != FERRY_OK)
        return st;
    if (!ep->conn || !ep->hook->exec)
        st = ferry_error_set(err, FERRY_ERR_USAGE, "%s: exec needs a SQL connection endpoint such as warehouse:",
                             ep->hook->name);
    else
        st = ep->hook->exec(ep->conn, sql, eo, err);
    ferry_endpoint_free(ep);
    return st;
}
