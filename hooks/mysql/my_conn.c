/*
 * hooks/mysql/my_conn.c - connecting to MySQL/MariaDB from a ferry connection
 * and talking to the server without ever blocking signals out: every call
 * goes through libmariadb's non-blocking API (mysql_*_start / _cont) and
 * waits in poll(2) slices of FERRY_MY_POLL_MS that look at ferry_cancelled()
 * and the timeout.  Also: server errors -> ferry statuses, and KILL QUERY
 * over a second connection for statements that must stop now.
 */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <errmsg.h>
#include <mysqld_error.h>

#include "ferry/log.h"
#include "ferry/retry.h"
#include "my_internal.h"

/* Stack of the coroutine that runs non-blocking calls (TLS handshakes need
 * more than libmariadb's default). */
#define MY_ASYNC_STACK (256 * 1024)
/* KILL QUERY is best effort: it must never hold up an abort for long. */
#define MY_KILL_TIMEOUT 3

static pthread_once_t library_once = PTHREAD_ONCE_INIT;

static void library_init(void)
{
    mysql_library_init(0, NULL, NULL);
}

char *ferry_my_format(const char *fmt, ...)
{
    char *out = NULL;
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(&out, fmt, ap);
    va_end(ap);
    return n < 0 ? NULL : out;
}

/* ---- settings ------------------------------------------------------------ */

static int dup_into(char **dst, const char *src)
{
    free(*dst);
    *dst = NULL;
    if (!src || !*src)
        return 0;
    *dst = strdup(src);
    return *dst ? 0 : -1;
}

static int parse_tls_mode(const char *v, ferry_my_tls *out)
{
    static const struct {
        const char *name;
        ferry_my_tls mode;
    } modes[] = {
        {"disabled", FERRY_MY_TLS_DISABLED},   {"disable", FERRY_MY_TLS_DISABLED},
        {"preferred", FERRY_MY_TLS_PREFERRED}, {"prefer", FERRY_MY_TLS_PREFERRED},
        {"required", FERRY_MY_TLS_REQUIRED},   {"require", FERRY_MY_TLS_REQUIRED},
        {"verify_ca", FERRY_MY_TLS_VERIFY_CA}, {"verify_identity", FERRY_MY_TLS_VERIFY_IDENTITY},
        {"verify_full", FERRY_MY_TLS_VERIFY_IDENTITY},
    };
    char norm[32];
    size_t n = strlen(v);
    if (n >= sizeof norm)
        return -1;
    for (size_t i = 0; i <= n; i++)
        norm[i] = v[i] == '-' ? '_' : v[i];
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        if (strcasecmp(norm, modes[i].name) == 0) {
            *out = modes[i].mode;
            return 0;
        }
    }
    return -1;
}

/* Airflow's MySqlHook takes TLS files as extra "ssl": {"ca": ..., "cert":
 * ..., "key": ...}; an ssl_* extra of its own wins over a member. */
static ferry_status settings_from_ssl_json(ferry_my_settings *s, const char *json,
                                           ferry_error *err)
{
    json_error_t jerr;
    json_t *root = json_loads(json, 0, &jerr); /* owned: json_decref */
    if (!root || !json_is_object(root)) {
        json_decref(root);
        return ferry_error_hook(err, FERRY_ERR_CONFIG, FERRY_MY_SYSTEM, s->conn_id,
                                "extra 'ssl' must be a JSON object such as {\"ca\": \"/path/ca.pem\"}");
    }
    static const struct {
        const char *key;
        size_t offset;
    } members[] = {
        {"ca", offsetof(ferry_my_settings, ssl_ca)},
        {"capath", offsetof(ferry_my_settings, ssl_capath)},
        {"cert", offsetof(ferry_my_settings, ssl_cert)},
        {"key", offsetof(ferry_my_settings, ssl_key)},
        {"cipher", offsetof(ferry_my_settings, ssl_cipher)},
    };
    int oom = 0;
    for (size_t i = 0; i < sizeof members / sizeof members[0]; i++) {
        json_t *v = json_object_get(root, members[i].key);
        char **slot = (char **)((char *)s + members[i].offset);
        if (json_is_string(v) && !*slot)
            oom |= dup_into(slot, json_string_value(v));
    }
    json_decref(root);
    if (oom)
        return ferry_error_oom(err, FERRY_MY_SYSTEM, s->conn_id, NULL);
    return FERRY_OK;
}

static ferry_status settings_timeout(ferry_my_settings *s, const char *v, ferry_error *err)
{
    char *end = NULL;
    errno = 0;
    double t = strtod(v, &end);
    if (errno || end == v || *end || !(t > 0) || t > 86400)
        return ferry_error_hook(err, FERRY_ERR_CONFIG, FERRY_MY_SYSTEM, s->conn_id,
                                "extra 'connect_timeout' must be a number of seconds, not '%s'", v);
    s->connect_timeout = (unsigned)ceil(t);
    return FERRY_OK;
}

static int is_known_extra(const char *key)
{
    static const char *const known[] = {
        "charset", "ssl_mode", "ssl_ca", "ssl_capath", "ssl_cert", "ssl_key", "ssl_cipher", "ssl",
        "unix_socket", "connect_timeout", "init_command", "read_default_file",
        "read_default_group", NULL,
    };
    for (int i = 0; known[i]; i++)
        if (strcmp(known[i], key) == 0)
            return 1;
    return 0;
}

ferry_status ferry_my_settings_from_conn(const ferry_conn *conn, ferry_my_settings *s,
                                         ferry_error *err)
{
    memset(s, 0, sizeof *s);
    /* an inline URI has no id: messages say "inline", as ferry_endpoint_conn_id does */
    int oom = dup_into(&s->conn_id, conn->id && *conn->id ? conn->id : "inline");
    oom |= dup_into(&s->host, conn->host);
    oom |= dup_into(&s->user, conn->login);
    oom |= dup_into(&s->database, conn->schema);
    if (conn->password) /* "" is a password too (an empty one), not "unset" */
        oom |= !(s->password = strdup(conn->password));
    s->port = conn->port > 0 ? (unsigned)conn->port : 0;
    const char *cs = ferry_conn_extra(conn, "charset");
    oom |= dup_into(&s->charset, cs && *cs ? cs : "utf8mb4");
    oom |= dup_into(&s->ssl_ca, ferry_conn_extra(conn, "ssl_ca"));
    oom |= dup_into(&s->ssl_capath, ferry_conn_extra(conn, "ssl_capath"));
    oom |= dup_into(&s->ssl_cert, ferry_conn_extra(conn, "ssl_cert"));
    oom |= dup_into(&s->ssl_key, ferry_conn_extra(conn, "ssl_key"));
    oom |= dup_into(&s->ssl_cipher, ferry_conn_extra(conn, "ssl_cipher"));
    oom |= dup_into(&s->unix_socket, ferry_conn_extra(conn, "unix_socket"));
    oom |= dup_into(&s->init_command, ferry_conn_extra(conn, "init_command"));
    oom |= dup_into(&s->default_file, ferry_conn_extra(conn, "read_default_file"));
    const char *group = ferry_conn_extra(conn, "read_default_group");
    oom |= dup_into(&s->default_group, group && *group ? group : "client");
    if (oom) {
        ferry_my_settings_release(s);
        return ferry_error_oom(err, FERRY_MY_SYSTEM, conn->id, NULL);
    }
    ferry_status st = FERRY_OK;
    const char *ssl = ferry_conn_extra(conn, "ssl");
    if (ssl && *ssl)
        st = settings_from_ssl_json(s, ssl, err);
    const char *mode = ferry_conn_extra(conn, "ssl_mode");
    if (st == FERRY_OK && mode && *mode && parse_tls_mode(mode, &s->tls) != 0)
        st = ferry_error_hook(err, FERRY_ERR_CONFIG, FERRY_MY_SYSTEM, s->conn_id,
                              "extra 'ssl_mode' must be DISABLED, PREFERRED, REQUIRED, VERIFY_CA or "
                              "VERIFY_IDENTITY, not '%s'", mode);
    /* the name goes into SQL (LOAD DATA ... CHARACTER SET): letters, digits, _ only */
    if (st == FERRY_OK && strspn(s->charset, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                             "0123456789_") != strlen(s->charset))
        st = ferry_error_hook(err, FERRY_ERR_CONFIG, FERRY_MY_SYSTEM, s->conn_id,
                              "extra 'charset' must be a character set name such as utf8mb4, not '%s'",
                              s->charset);
    const char *timeout = ferry_conn_extra(conn, "connect_timeout");
    if (st == FERRY_OK && timeout && *timeout)
        st = settings_timeout(s, timeout, err);
    for (size_t i = 0; st == FERRY_OK && i < conn->n_extra; i++)
        if (conn->extra[i].key && !is_known_extra(conn->extra[i].key))
            ferry_log(FERRY_LOG_DEBUG, "mysql(%s): extra '%s' is not used by ferry, ignored",
                      s->conn_id, conn->extra[i].key);
    if (st != FERRY_OK)
        ferry_my_settings_release(s);
    return st;
}

void ferry_my_settings_release(ferry_my_settings *s)
{
    if (!s)
        return;
    char **strings[] = {&s->conn_id, &s->host, &s->user, &s->password, &s->database,
                        &s->unix_socket, &s->charset, &s->ssl_ca, &s->ssl_capath, &s->ssl_cert,
                        &s->ssl_key, &s->ssl_cipher, &s->init_command, &s->default_file,
                        &s->default_group};
    for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++) {
        free(*strings[i]);
        *strings[i] = NULL;
    }
}

/* ---- options ------------------------------------------------------------- */

/* LOAD DATA LOCAL is answered by ferry's own handler only: on connections
 * that do not load (and whatever ~/.my.cnf says about local-infile) a server
 * asking for a file gets a refusal, never a local file. */
static int refuse_infile_init(void **ptr, const char *filename, void *ud)
{
    (void)filename;
    (void)ud;
    *ptr = NULL;
    return 1;
}

static int refuse_infile_read(void *ptr, char *buf, unsigned int len)
{
    (void)ptr;
    (void)buf;
    (void)len;
    return -1;
}

static void refuse_infile_end(void *ptr)
{
    (void)ptr;
}

static int refuse_infile_error(void *ptr, char *msg, unsigned int len)
{
    (void)ptr;
    snprintf(msg, len, "ferry does not send local files on this connection");
    return CR_UNKNOWN_ERROR;
}

static int tls_material(const ferry_my_settings *s)
{
    return s->ssl_ca || s->ssl_capath || s->ssl_cert || s->ssl_key;
}

static void apply_tls(MYSQL *my, const ferry_my_settings *s)
{
    if (s->tls == FERRY_MY_TLS_DISABLED)
        return;
    if (s->ssl_ca)
        mysql_optionsv(my, MYSQL_OPT_SSL_CA, s->ssl_ca);
    if (s->ssl_capath)
        mysql_optionsv(my, MYSQL_OPT_SSL_CAPATH, s->ssl_capath);
    if (s->ssl_cert)
        mysql_optionsv(my, MYSQL_OPT_SSL_CERT, s->ssl_cert);
    if (s->ssl_key)
        mysql_optionsv(my, MYSQL_OPT_SSL_KEY, s->ssl_key);
    if (s->ssl_cipher)
        mysql_optionsv(my, MYSQL_OPT_SSL_CIPHER, s->ssl_cipher);
    my_bool enforce = s->tls >= FERRY_MY_TLS_REQUIRED ||
                      (s->tls == FERRY_MY_TLS_DEFAULT && tls_material(s));
    my_bool verify = s->tls >= FERRY_MY_TLS_VERIFY_CA || s->ssl_ca || s->ssl_capath;
    if (enforce)
        mysql_optionsv(my, MYSQL_OPT_SSL_ENFORCE, &enforce);
    if (verify)
        mysql_optionsv(my, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &verify);
}

/* Options are set before ~/.my.cnf is read (libmariadb reads it while
 * connecting), so for options a value in the file wins; host, port, user,
 * password, database and socket are connect arguments and the connection's
 * values win over the file's. */
static void apply_options(MYSQL *my, const ferry_my_settings *s, unsigned flags,
                          unsigned connect_timeout)
{
    if (s->default_file)
        mysql_optionsv(my, MYSQL_READ_DEFAULT_FILE, s->default_file);
    mysql_optionsv(my, MYSQL_READ_DEFAULT_GROUP, s->default_group ? s->default_group : "client");
    mysql_optionsv(my, MYSQL_OPT_CONNECT_TIMEOUT, &connect_timeout);
    mysql_optionsv(my, MYSQL_SET_CHARSET_NAME, s->charset ? s->charset : "utf8mb4");
    if (s->init_command)
        mysql_optionsv(my, MYSQL_INIT_COMMAND, s->init_command);
    apply_tls(my, s);
    unsigned int local = (flags & FERRY_MY_LOCAL_INFILE) ? 1 : 0;
    mysql_optionsv(my, MYSQL_OPT_LOCAL_INFILE, &local);
    mysql_set_local_infile_handler(my, refuse_infile_init, refuse_infile_read, refuse_infile_end,
                                   refuse_infile_error, NULL);
}

void ferry_my_refuse_local_infile(MYSQL *my)
{
    mysql_set_local_infile_handler(my, refuse_infile_init, refuse_infile_read, refuse_infile_end,
                                   refuse_infile_error, NULL);
}

static unsigned long client_flags(unsigned flags)
{
    unsigned long f = CLIENT_MULTI_RESULTS;
    if (flags & FERRY_MY_MULTI_STATEMENTS)
        f |= CLIENT_MULTI_STATEMENTS;
    if (flags & FERRY_MY_LOCAL_INFILE)
        f |= CLIENT_LOCAL_FILES;
    return f;
}

/* ---- errors -------------------------------------------------------------- */

ferry_status ferry_my_status_for_errno(unsigned e, int connecting, int *transient)
{
    *transient = 0;
    switch (e) {
    case ER_ACCESS_DENIED_ERROR:            /* 1045 */
    case ER_DBACCESS_DENIED_ERROR:          /* 1044 */
    case ER_TABLEACCESS_DENIED_ERROR:       /* 1142 */
    case ER_COLUMNACCESS_DENIED_ERROR:      /* 1143 */
    case ER_SPECIFIC_ACCESS_DENIED_ERROR:   /* 1227 */
    case ER_NOT_SUPPORTED_AUTH_MODE:        /* 1251 */
    case ER_HOST_IS_BLOCKED:                /* 1129 */
    case ER_HOST_NOT_PRIVILEGED:            /* 1130 */
    case ER_NOT_ALLOWED_COMMAND:            /* 1148: local_infile off on the server */
    case 1698:                              /* access denied, no password given */
    case 1820:                              /* password expired */
    case CR_SSL_CONNECTION_ERROR:           /* 2026 */
    case CR_AUTH_PLUGIN_CANNOT_LOAD:        /* 2059 */
        return FERRY_ERR_CONNECT;
    case ER_CON_COUNT_ERROR:                /* 1040 too many connections */
    case ER_TOO_MANY_USER_CONNECTIONS:      /* 1203 */
    case CR_CONNECTION_ERROR:               /* 2002 */
    case CR_CONN_HOST_ERROR:                /* 2003 */
    case CR_UNKNOWN_HOST:                   /* 2005 */
    case CR_IPSOCK_ERROR:                   /* 2004 */
        *transient = 1;
        return FERRY_ERR_CONNECT;
    case CR_SERVER_GONE_ERROR:              /* 2006 */
    case CR_SERVER_LOST:                    /* 2013 */
    case CR_SERVER_LOST_EXTENDED:           /* 2055 */
        *transient = 1;
        if (connecting)
            return FERRY_ERR_CONNECT;
        return FERRY_ERR_TRANSIENT;         /* a stream cut short is never a short file:
                                               a broken exchange, exit 8 */
    case ER_BAD_DB_ERROR:                   /* 1049 */
    case ER_NO_SUCH_TABLE:                  /* 1146 */
    case ER_BAD_FIELD_ERROR:                /* 1054 */
    case ER_BAD_TABLE_ERROR:                /* 1051 */
    case ER_UNKNOWN_TABLE:                  /* 1109 */
    case ER_SP_DOES_NOT_EXIST:              /* 1305 */
        return FERRY_ERR_NOT_FOUND;
    case ER_TABLE_EXISTS_ERROR:             /* 1050 */
        return FERRY_ERR_EXISTS;
    case ER_NO_DB_ERROR:                    /* 1046: the connection names no database */
        return FERRY_ERR_CONFIG;
    case ER_LOCK_WAIT_TIMEOUT:              /* 1205 */
    case ER_LOCK_DEADLOCK:                  /* 1213 */
        *transient = 1;
        return FERRY_ERR_DATA;
    case 1969:                              /* MariaDB max_statement_time exceeded */
    case 3024:                              /* MySQL max_execution_time exceeded */
        return FERRY_ERR_TIMEOUT;
    case ER_QUERY_INTERRUPTED:              /* 1317: KILL QUERY */
        return ferry_cancelled() ? FERRY_ERR_INTERRUPTED : FERRY_ERR_DATA;
    case CR_OUT_OF_MEMORY:
    case CR_COMMANDS_OUT_OF_SYNC:
        return FERRY_ERR_INTERNAL;
    default:
        return connecting ? FERRY_ERR_CONNECT : FERRY_ERR_DATA;
    }
}

ferry_status ferry_my_error(MYSQL *my, const char *conn_id, int connecting, const char *what,
                            ferry_error *err)
{
    unsigned e = my ? mysql_errno(my) : CR_OUT_OF_MEMORY;
    const char *msg = my && *mysql_error(my) ? mysql_error(my) : "unknown error";
    int transient = 0;
    ferry_status st = ferry_my_status_for_errno(e, connecting, &transient);
    ferry_error_hook(err, st, FERRY_MY_SYSTEM, conn_id, "%s failed: %s (errno %u)", what, msg, e);
    if (transient && err)
        ferry_error_transient(err);
    return st;
}

/* ---- waiting ------------------------------------------------------------- */

static ferry_status interrupted(const ferry_my_session *s, const char *what, ferry_error *err)
{
    return ferry_error_hook(err, FERRY_ERR_INTERRUPTED, FERRY_MY_SYSTEM, s->settings->conn_id,
                            "%s: interrupted by signal %d", what, ferry_cancel_signal());
}

/* Wait for the events a suspended call asked for.  *ready receives what
 * happened (MYSQL_WAIT_TIMEOUT when libmariadb's own timer ran out). */
static ferry_status wait_events(ferry_my_session *s, int status, double deadline,
                                const char *what, int *ready, ferry_error *err)
{
    int fd = (int)mysql_get_socket(s->my);
    double lib_deadline = 0;
    if (status & MYSQL_WAIT_TIMEOUT)
        lib_deadline = ferry_now_monotonic() + mysql_get_timeout_value_ms(s->my) / 1000.0;
    short events = 0;
    if (status & MYSQL_WAIT_READ)
        events |= POLLIN;
    if (status & MYSQL_WAIT_WRITE)
        events |= POLLOUT;
    if (status & MYSQL_WAIT_EXCEPT)
        events |= POLLPRI;
    for (;;) {
        if (s->cancellable && ferry_cancelled())
            return interrupted(s, what, err);
        double now = ferry_now_monotonic();
        if (lib_deadline > 0 && now >= lib_deadline) {
            *ready = MYSQL_WAIT_TIMEOUT;
            return FERRY_OK;
        }
        if (deadline > 0 && now >= deadline)
            return ferry_error_hook(err, FERRY_ERR_TIMEOUT, FERRY_MY_SYSTEM, s->settings->conn_id,
                                    "%s: no answer from the server in time (timeout)", what);
        double slice = FERRY_MY_POLL_MS / 1000.0;
        if (lib_deadline > 0 && lib_deadline - now < slice)
            slice = lib_deadline - now;
        if (deadline > 0 && deadline - now < slice)
            slice = deadline - now;
        struct pollfd p = {.fd = fd, .events = events, .revents = 0};
        int n = fd >= 0 && events ? poll(&p, 1, (int)(slice * 1000) + 1) : 0;
        if (n < 0 && errno != EINTR)
            return ferry_error_hook(err, FERRY_ERR_INTERNAL, FERRY_MY_SYSTEM, s->settings->conn_id,
                                    "%s: poll failed: %s", what, strerror(errno));
        if (fd < 0 || !events) {
            ferry_sleep(slice);
            continue;
        }
        if (n > 0) {
            int r = 0;
            if (p.revents & POLLIN)
                r |= MYSQL_WAIT_READ;
            if (p.revents & POLLOUT)
                r |= MYSQL_WAIT_WRITE;
            if (p.revents & POLLPRI)
                r |= MYSQL_WAIT_EXCEPT;
            if (p.revents & (POLLERR | POLLHUP | POLLNVAL))
                r |= status & (MYSQL_WAIT_READ | MYSQL_WAIT_WRITE); /* let the library see it */
            *ready = r;
            return FERRY_OK;
        }
    }
}

ferry_status ferry_my_drive(ferry_my_session *s, double deadline, const char *what,
                            ferry_error *err)
{
    while (s->pending) {
        int ready = 0;
        ferry_status st = wait_events(s, s->pending_status, deadline, what, &ready, err);
        if (st != FERRY_OK)
            return st;
        s->pending_status = s->pending(s, ready);
        if (s->pending_status == 0)
            s->pending = NULL;
    }
    return FERRY_OK;
}

static double deadline_after(double timeout)
{
    return timeout > 0 ? ferry_now_monotonic() + timeout : 0;
}

/* Record a call that suspended, then drive it to its end. */
static ferry_status suspend_and_drive(ferry_my_session *s, int status, ferry_my_resume_fn resume,
                                      double deadline, const char *what, ferry_error *err)
{
    if (status == 0)
        return FERRY_OK;
    s->pending = resume;
    s->pending_status = status;
    return ferry_my_drive(s, deadline, what, err);
}

static int resume_connect(ferry_my_session *s, int ready)
{
    return mysql_real_connect_cont(&s->ret_my, s->my, ready);
}

static int resume_query(ferry_my_session *s, int ready)
{
    return mysql_real_query_cont(&s->ret_int, s->my, ready);
}

static int resume_store(ferry_my_session *s, int ready)
{
    return mysql_store_result_cont(&s->ret_res, s->my, ready);
}

static int resume_fetch(ferry_my_session *s, int ready)
{
    return mysql_fetch_row_cont(&s->ret_row, s->res, ready);
}

static int resume_next(ferry_my_session *s, int ready)
{
    return mysql_next_result_cont(&s->ret_int, s->my, ready);
}

static int resume_charset(ferry_my_session *s, int ready)
{
    return mysql_set_character_set_cont(&s->ret_int, s->my, ready);
}

/* ---- sessions ------------------------------------------------------------ */

static void describe_server(const ferry_my_settings *st, char *out, size_t cap)
{
    if (st->unix_socket)
        snprintf(out, cap, "socket %s", st->unix_socket);
    else if (st->host && st->port)
        snprintf(out, cap, "%s:%u", st->host, st->port);
    else if (st->host)
        snprintf(out, cap, "%s", st->host);
    else
        snprintf(out, cap, "the default server");
}

/* ~/.my.cnf may name another character set; the connection's (or ferry's
 * default utf8mb4) is what the encoders expect. */
static ferry_status ensure_charset(ferry_my_session *s, ferry_error *err)
{
    const char *want = s->settings->charset ? s->settings->charset : "utf8mb4";
    const char *have = mysql_character_set_name(s->my);
    if (have && strcasecmp(have, want) == 0)
        return FERRY_OK;
    int status = mysql_set_character_set_start(&s->ret_int, s->my, want);
    ferry_status st = suspend_and_drive(s, status, resume_charset,
                                        deadline_after(FERRY_MY_CONNECT_TIMEOUT), "SET NAMES", err);
    if (st == FERRY_OK && s->ret_int != 0)
        st = ferry_my_error(s->my, s->settings->conn_id, 1, "SET NAMES", err);
    return st;
}

static ferry_status session_open_once(ferry_my_session *s, const ferry_my_settings *set,
                                      unsigned flags, ferry_error *err)
{
    pthread_once(&library_once, library_init);
    memset(s, 0, sizeof *s);
    s->settings = set;
    s->cancellable = 1;
    s->my = mysql_init(NULL);
    if (!s->my)
        return ferry_error_oom(err, FERRY_MY_SYSTEM, set->conn_id, NULL);
    size_t stack = MY_ASYNC_STACK;
    mysql_optionsv(s->my, MYSQL_OPT_NONBLOCK, &stack);
    unsigned timeout = set->connect_timeout ? set->connect_timeout : FERRY_MY_CONNECT_TIMEOUT;
    apply_options(s->my, set, flags, timeout);

    char where[512], what[600];
    describe_server(set, where, sizeof where);
    snprintf(what, sizeof what, "connect to %s", where);
    int status = mysql_real_connect_start(&s->ret_my, s->my, set->host, set->user, set->password,
                                          set->database, set->port, set->unix_socket,
                                          client_flags(flags));
    /* libmariadb's own connect timeout applies; this deadline only guards it */
    ferry_status st = suspend_and_drive(s, status, resume_connect,
                                        deadline_after(timeout + 5.0), what, err);
    if (st == FERRY_OK && !s->ret_my)
        st = ferry_my_error(s->my, set->conn_id, 1, what, err);
    if (st == FERRY_OK)
        st = ensure_charset(s, err);
    if (st != FERRY_OK) {
        ferry_my_session_close(s);
        return st;
    }
    s->thread_id = mysql_thread_id(s->my);
    ferry_log(FERRY_LOG_DEBUG, "mysql(%s): connected to %s (server %s, connection id %lu%s%s)",
              set->conn_id, mysql_get_host_info(s->my), mysql_get_server_info(s->my), s->thread_id,
              mysql_get_ssl_cipher(s->my) ? ", tls " : "",
              mysql_get_ssl_cipher(s->my) ? mysql_get_ssl_cipher(s->my) : "");
    return FERRY_OK;
}

ferry_status ferry_my_session_open(ferry_my_session *s, const ferry_my_settings *set,
                                   unsigned flags, ferry_error *err)
{
    ferry_retry retry;
    ferry_retry_init(&retry, set->connect_attempts);
    ferry_error local;
    ferry_error *e = err ? err : &local;
    for (;;) {
        ferry_error_clear(e);
        ferry_status st = session_open_once(s, set, flags, e);
        if (st == FERRY_OK || !ferry_retry_again(&retry, e))
            return st == FERRY_OK ? st : e->status;
    }
}

void ferry_my_kill_query(const ferry_my_settings *set, unsigned long thread_id)
{
    MYSQL *k = mysql_init(NULL); /* owned: mysql_close */
    if (!k)
        return;
    unsigned t = MY_KILL_TIMEOUT;
    apply_options(k, set, 0, t);
    mysql_optionsv(k, MYSQL_OPT_READ_TIMEOUT, &t);
    mysql_optionsv(k, MYSQL_OPT_WRITE_TIMEOUT, &t);
    char sql[64];
    snprintf(sql, sizeof sql, "KILL QUERY %lu", thread_id);
    if (!mysql_real_connect(k, set->host, set->user, set->password, NULL, set->port,
                            set->unix_socket, 0) ||
        mysql_real_query(k, sql, strlen(sql)) != 0)
        ferry_log(FERRY_LOG_DEBUG, "mysql(%s): %s failed: %s", set->conn_id, sql, mysql_error(k));
    else
        ferry_log(FERRY_LOG_DEBUG, "mysql(%s): %s", set->conn_id, sql);
    mysql_close(k);
}

void ferry_my_session_close(ferry_my_session *s)
{
    if (!s || !s->my)
        return;
    if (s->busy || s->pending) {
        ferry_my_kill_query(s->settings, s->thread_id);
        mariadb_cancel(s->my); /* shut the socket: whatever waits now fails at once */
        for (int i = 0; s->pending && i < 64; i++) {
            int ready = s->pending_status & (MYSQL_WAIT_READ | MYSQL_WAIT_WRITE | MYSQL_WAIT_EXCEPT);
            s->pending_status = s->pending(s, ready ? ready : MYSQL_WAIT_TIMEOUT);
            if (s->pending_status == 0)
                s->pending = NULL;
        }
    }
    if (!s->pending) {
        /* with the socket shut, freeing an unfinished result reads nothing */
        mysql_free_result(s->res);
        mysql_close(s->my);
    } else {
        /* a call that refuses to end: leak the handle rather than free it under it */
        ferry_log(FERRY_LOG_WARN, "mysql(%s): connection left open after a failed abort",
                  s->settings->conn_id);
    }
    s->res = NULL;
    s->my = NULL;
    s->busy = 0;
    s->pending = NULL;
}

/* ---- statements ---------------------------------------------------------- */

ferry_status ferry_my_run(ferry_my_session *s, const char *sql, double timeout, const char *what,
                          ferry_error *err)
{
    if (!s->my || s->pending)
        return ferry_error_hook(err, FERRY_ERR_INTERNAL, FERRY_MY_SYSTEM, s->settings->conn_id,
                                "%s: the connection is not usable any more", what);
    s->busy = 1;
    int status = mysql_real_query_start(&s->ret_int, s->my, sql, strlen(sql));
    ferry_status st = suspend_and_drive(s, status, resume_query, deadline_after(timeout), what, err);
    if (st != FERRY_OK)
        return st;
    if (s->ret_int != 0) {
        s->busy = 0;
        return ferry_my_error(s->my, s->settings->conn_id, 0, what, err);
    }
    if (mysql_field_count(s->my) == 0 && !mysql_more_results(s->my))
        s->busy = 0;
    return FERRY_OK;
}

ferry_status ferry_my_store(ferry_my_session *s, double timeout, const char *what,
                            MYSQL_RES **out, ferry_error *err)
{
    *out = NULL;
    if (mysql_field_count(s->my) == 0)
        return FERRY_OK;
    int status = mysql_store_result_start(&s->ret_res, s->my);
    ferry_status st = suspend_and_drive(s, status, resume_store, deadline_after(timeout), what, err);
    if (st != FERRY_OK)
        return st;
    if (!s->ret_res)
        return ferry_my_error(s->my, s->settings->conn_id, 0, what, err);
    *out = s->ret_res;
    s->ret_res = NULL;
    if (!mysql_more_results(s->my))
        s->busy = 0; /* everything has been read */
    return FERRY_OK;
}

ferry_status ferry_my_next_result(ferry_my_session *s, double timeout, const char *what,
                                  int *more, ferry_error *err)
{
    *more = 0;
    if (!mysql_more_results(s->my)) {
        s->busy = 0;
        return FERRY_OK;
    }
    int status = mysql_next_result_start(&s->ret_int, s->my);
    ferry_status st = suspend_and_drive(s, status, resume_next, deadline_after(timeout), what, err);
    if (st != FERRY_OK)
        return st;
    if (s->ret_int > 0) {
        s->busy = 0;
        return ferry_my_error(s->my, s->settings->conn_id, 0, what, err);
    }
    *more = s->ret_int == 0;
    if (!*more)
        s->busy = 0;
    return FERRY_OK;
}

ferry_status ferry_my_command(ferry_my_session *s, const char *sql, double timeout,
                              const char *what, ferry_error *err)
{
    ferry_status st = ferry_my_run(s, sql, timeout, what, err);
    for (int more = 1; st == FERRY_OK && more;) {
        MYSQL_RES *res = NULL; /* owned: dropped at once */
        st = ferry_my_store(s, timeout, what, &res, err);
        mysql_free_result(res);
        if (st == FERRY_OK)
            st = ferry_my_next_result(s, timeout, what, &more, err);
    }
    if (st == FERRY_OK)
        s->busy = 0;
    return st;
}

ferry_status ferry_my_use(ferry_my_session *s, const char *what, ferry_error *err)
{
    if (mysql_field_count(s->my) == 0) {
        s->busy = 0;
        return ferry_error_hook(err, FERRY_ERR_USAGE, FERRY_MY_SYSTEM, s->settings->conn_id,
                                "%s: the statement returned no rows (not a SELECT?)", what);
    }
    s->res = mysql_use_result(s->my); /* no I/O: rows are fetched one by one */
    if (!s->res)
        return ferry_my_error(s->my, s->settings->conn_id, 0, what, err);
    return FERRY_OK;
}

int ferry_my_fetch_start(ferry_my_session *s)
{
    int status = mysql_fetch_row_start(&s->ret_row, s->res);
    if (status) {
        s->pending = resume_fetch;
        s->pending_status = status;
    }
    return status;
}

char *ferry_my_quote_string(ferry_my_session *s, const char *str)
{
    size_t n = strlen(str);
    char *out = malloc(2 * n + 3);
    if (!out)
        return NULL;
    out[0] = '\'';
    unsigned long len = mysql_real_escape_string(s->my, out + 1, str, (unsigned long)n);
    out[len + 1] = '\'';
    out[len + 2] = '\0';
    return out;
}
