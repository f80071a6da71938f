/*
 * hooks/mysql/my_ops.c - the hook's exec and test slots: run SQL (several
 * statements allowed) in one transaction and print the last statement's rows
 * as CSV or JSON (core/json_rows.h); connect and say who and where we are.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json_rows.h"
#include "ferry/log.h"
#include "my_internal.h"

#define CSV_FLUSH_AT (64 * 1024)

/* ---- CSV output of a stored result ---------------------------------------- */

/* The rows as my_encode.c writes CSV (the same dialect as the source). */
static ferry_status write_result_csv(ferry_writer *out, MYSQL_RES *res, const char *id,
                                     ferry_error *err)
{
    unsigned n = mysql_num_fields(res);
    MYSQL_FIELD *fields = mysql_fetch_fields(res);
    size_t m = n ? n : 1;
    const char **names = calloc(m, sizeof *names);        /* owned; strings borrowed */
    ferry_my_class *classes = calloc(m, sizeof *classes); /* owned */
    ferry_my_encoder enc;
    memset(&enc, 0, sizeof enc);
    char *buf = NULL; /* owned: reused for every row */
    size_t len = 0, cap = 0;
    ferry_status st = FERRY_OK;
    int oom = !names || !classes;
    for (unsigned i = 0; !oom && i < n; i++) {
        names[i] = fields[i].name;
        classes[i] = ferry_my_field_class(&fields[i]);
    }
    if (!oom)
        oom = ferry_my_encoder_init(&enc, FERRY_FORMAT_CSV, names, classes, n, NULL) != 0;
    size_t need = oom ? 0 : ferry_my_header_bound(&enc);
    MYSQL_ROW row = NULL;
    for (int header = 1; !oom && st == FERRY_OK; header = 0) {
        unsigned long *lengths = NULL;
        if (!header) {
            row = mysql_fetch_row(res);
            if (!row)
                break;
            lengths = mysql_fetch_lengths(res);
            need = ferry_my_encode_bound(&enc, row, lengths);
        }
        if (len + need > cap) {
            size_t want = cap ? cap : CSV_FLUSH_AT;
            while (want < len + need)
                want *= 2;
            char *grown = realloc(buf, want);
            if (!grown) {
                oom = 1;
                break;
            }
            buf = grown;
            cap = want;
        }
        len += header ? ferry_my_encode_header(&enc, buf + len)
                      : ferry_my_encode_row(&enc, row, lengths, buf + len);
        if (len >= CSV_FLUSH_AT) {
            st = ferry_writer_write(out, buf, len, err);
            len = 0;
        }
    }
    if (oom)
        st = ferry_error_oom(err, FERRY_MY_SYSTEM, id, NULL);
    if (st == FERRY_OK && len > 0)
        st = ferry_writer_write(out, buf, len, err);
    ferry_my_encoder_release(&enc);
    free(buf);
    free(names);
    free(classes);
    return st;
}

/* ---- JSON output of a stored result (core/json_rows.h) -------------------- */

/* res NULL (the statement returned no rows): "[]". */
static ferry_status write_result_json(ferry_writer *out, MYSQL_RES *res, int typed, const char *id,
                                      ferry_error *err)
{
    unsigned n = res ? mysql_num_fields(res) : 0;
    MYSQL_FIELD *fields = res ? mysql_fetch_fields(res) : NULL;
    size_t m = n ? n : 1;
    const char **names = calloc(m, sizeof *names);        /* owned; strings borrowed */
    ferry_column_kind *kinds = calloc(m, sizeof *kinds);  /* owned */
    ferry_json_rows rows;
    int oom = !names || !kinds;
    for (unsigned i = 0; !oom && i < n; i++) {
        ferry_column col;
        char native[64];
        ferry_my_field_column(&fields[i], &col, native, sizeof native);
        names[i] = fields[i].name;
        kinds[i] = col.kind;
    }
    oom = oom || ferry_json_rows_init(&rows, out, typed, names, kinds, n) != 0;
    free(names);
    free(kinds);
    if (oom)
        return ferry_error_hook(err, FERRY_ERR_INTERNAL, FERRY_MY_SYSTEM, id, "out of memory");
    ferry_status st = FERRY_OK;
    MYSQL_ROW row;
    while (st == FERRY_OK && res && (row = mysql_fetch_row(res)) != NULL) {
        unsigned long *lengths = mysql_fetch_lengths(res);
        for (unsigned i = 0; st == FERRY_OK && i < n; i++)
            if (ferry_json_rows_value(&rows, i, row[i], row[i] ? (size_t)lengths[i] : 0) != 0)
                st = ferry_error_hook(err, FERRY_ERR_INTERNAL, FERRY_MY_SYSTEM, id, "out of memory");
        if (st == FERRY_OK)
            st = ferry_json_rows_end_row(&rows, err);
    }
    if (st == FERRY_OK)
        st = ferry_json_rows_finish(&rows, err);
    ferry_json_rows_release(&rows);
    return st;
}

/* ---- exec ---------------------------------------------------------------- */

static int is_blank(const char *s)
{
    for (; *s; s++)
        if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r' && *s != ';')
            return 0;
    return 1;
}

/* Read every result; keep the rows of the last statement (NULL when it
 * returned none) and its row count. */
static ferry_status collect_results(ferry_my_session *s, MYSQL_RES **last, int64_t *rows,
                                    ferry_error *err)
{
    ferry_status st = FERRY_OK;
    for (int more = 1; st == FERRY_OK && more;) {
        MYSQL_RES *res = NULL; /* owned */
        st = ferry_my_store(s, 0, "query", &res, err);
        if (st != FERRY_OK)
            break;
        mysql_free_result(*last);
        *last = res;
        if (res) {
            *rows = (int64_t)mysql_num_rows(res);
        } else {
            my_ulonglong affected = mysql_affected_rows(s->my);
            *rows = affected == (my_ulonglong)-1 ? -1 : (int64_t)affected;
        }
        st = ferry_my_next_result(s, 0, "query", &more, err);
    }
    return st;
}

/* The rows are written only once the transaction has committed, so what is
 * printed is what the database kept.  On failure the session is closed
 * without COMMIT, which rolls back (DDL commits implicitly in MySQL). */
ferry_status ferry_my_exec(const ferry_conn *conn, const char *sql, ferry_exec_options *eo,
                           ferry_error *err)
{
    eo->rows_affected = -1;
    if (!sql || is_blank(sql))
        return ferry_error_hook(err, FERRY_ERR_USAGE, FERRY_MY_SYSTEM, conn->id, "no SQL to run");
    ferry_my_settings settings;
    ferry_my_session s;
    memset(&s, 0, sizeof s);
    MYSQL_RES *last = NULL; /* owned */
    int64_t rows = -1;
    ferry_status st = ferry_my_settings_from_conn(conn, &settings, err);
    if (st != FERRY_OK)
        return st;
    st = ferry_my_session_open(&s, &settings, FERRY_MY_MULTI_STATEMENTS, err);
    if (st == FERRY_OK && !eo->autocommit)
        st = ferry_my_command(&s, "START TRANSACTION", 0, "START TRANSACTION", err);
    if (st == FERRY_OK)
        st = ferry_my_run(&s, sql, 0, "query", err);
    if (st == FERRY_OK)
        st = collect_results(&s, &last, &rows, err);
    if (st == FERRY_OK && !eo->autocommit)
        st = ferry_my_command(&s, "COMMIT", 0, "COMMIT", err);
    if (st == FERRY_OK) {
        eo->rows_affected = rows;
        if (eo->out && eo->format != FERRY_EXEC_CSV)
            st = write_result_json(eo->out, last, eo->format == FERRY_EXEC_JSON_TYPED, settings.conn_id, err);
        else if (eo->out && last)
            st = write_result_csv(eo->out, last, settings.conn_id, err);
    }
    mysql_free_result(last);
    ferry_my_session_close(&s);
    ferry_my_settings_release(&settings);
    return st;
}

/* ---- test ---------------------------------------------------------------- */

/* "MariaDB 10.11.19" out of "10.11.19-MariaDB-0+deb12u1", "MySQL 8.0.36". */
static void product_and_version(const char *version, char *out, size_t cap)
{
    size_t n = strcspn(version, "-");
    snprintf(out, cap, "%s %.*s", strstr(version, "MariaDB") ? "MariaDB" : "MySQL", (int)n, version);
}

static void where_connected(MYSQL *my, char *out, size_t cap)
{
    const char *host_info = mysql_get_host_info(my); /* "127.0.0.1 via TCP/IP" */
    const char *via = host_info ? strstr(host_info, " via TCP/IP") : NULL;
    if (via) {
        unsigned port = 0;
        mariadb_get_infov(my, MARIADB_CONNECTION_PORT, &port);
        snprintf(out, cap, "%.*s:%u", (int)(via - host_info), host_info, port);
        return;
    }
    const char *socket = NULL;
    mariadb_get_infov(my, MARIADB_CONNECTION_UNIX_SOCKET, &socket);
    snprintf(out, cap, "%s", socket ? socket : host_info ? host_info : "?");
}

static void tls_description(MYSQL *my, char *out, size_t cap)
{
    const char *cipher = mysql_get_ssl_cipher(my);
    if (!cipher) {
        snprintf(out, cap, "no");
        return;
    }
    const char *version = NULL;
    mariadb_get_infov(my, MARIADB_CONNECTION_TLS_VERSION, &version);
    snprintf(out, cap, "%s %s", version ? version : "TLS", cipher);
}

ferry_status ferry_my_test(const ferry_conn *conn, char *info, size_t cap, ferry_error *err)
{
    ferry_my_settings settings;
    ferry_my_session s;
    memset(&s, 0, sizeof s);
    MYSQL_RES *res = NULL; /* owned */
    ferry_status st = ferry_my_settings_from_conn(conn, &settings, err);
    if (st != FERRY_OK)
        return st;
    st = ferry_my_session_open(&s, &settings, 0, err);
    if (st == FERRY_OK)
        st = ferry_my_run(&s, "SELECT VERSION(), CURRENT_USER()", FERRY_MY_CONNECT_TIMEOUT,
                          "test query", err);
    if (st == FERRY_OK)
        st = ferry_my_store(&s, FERRY_MY_CONNECT_TIMEOUT, "test query", &res, err);
    MYSQL_ROW row = res ? mysql_fetch_row(res) : NULL;
    if (st == FERRY_OK && (!row || !row[0] || !row[1]))
        st = ferry_error_hook(err, FERRY_ERR_DATA, FERRY_MY_SYSTEM, settings.conn_id,
                              "test query returned no row");
    if (st == FERRY_OK && info && cap > 0) {
        char version[128], where[256], tls[160];
        product_and_version(row[0], version, sizeof version);
        where_connected(s.my, where, sizeof where);
        tls_description(s.my, tls, sizeof tls);
        snprintf(info, cap, "%s as %s on %s (tls: %s)", version, row[1], where, tls);
    }
    mysql_free_result(res);
    ferry_my_session_close(&s);
    ferry_my_settings_release(&settings);
    return st;
}
