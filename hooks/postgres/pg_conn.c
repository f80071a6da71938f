/*
 * hooks/postgres/pg_conn.c - connecting to PostgreSQL from a ferry connection,
 * waiting on libpq without blocking signals out, and turning libpq failures
 * into ferry errors ("postgres(ID): <what> failed: <cause>").
 *
 * Failures are classified by libpq's state and the server's SQLSTATE, never
 * by message text: a connection is made with PQconnectStartParams and
 * PQconnectPoll (cancellable, bounded by connect_timeout), the stage it
 * failed in is libpq's status before the failing poll, and the SQLSTATE of
 * a refusal by the server comes from the verbose form of libpq's message
 * (the one place libpq exposes it for a connection that never opened).
 */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ferry/log.h"
#include "ferry/retry.h"
#include "pg_internal.h"

/* ---- connection keywords ----------------------------------------------- */

#define PG_MAX_KEYWORDS 64

/* The keyword/value arrays handed to PQconnectdbParams.  Keys and values are
 * borrowed from the connection, from libpq's defaults or from the small
 * buffers inside; NULL-terminated. */
typedef struct pg_keywords {
    const char *keys[PG_MAX_KEYWORDS + 1];
    const char *values[PG_MAX_KEYWORDS + 1];
    size_t n;
    char port[16];
    char connect_timeout[16];
} pg_keywords;

static int keywords_has(const pg_keywords *kw, const char *key)
{
    for (size_t i = 0; i < kw->n; i++)
        if (strcmp(kw->keys[i], key) == 0)
            return 1;
    return 0;
}

/* Add key=value unless value is absent or empty (libpq then falls back to its
 * environment variables) or the key is already set. */
static void keywords_add(pg_keywords *kw, const char *key, const char *value)
{
    if (!value || !*value || keywords_has(kw, key))
        return;
    if (kw->n >= PG_MAX_KEYWORDS) {
        ferry_log(FERRY_LOG_WARN, "postgres: too many connection options, '%s' ignored", key);
        return;
    }
    kw->keys[kw->n] = key;
    kw->values[kw->n] = value;
    kw->n++;
    kw->keys[kw->n] = NULL;
    kw->values[kw->n] = NULL;
}

static int env_is_set(const char *name)
{
    const char *v = getenv(name);
    return v && *v;
}

static int is_libpq_keyword(const PQconninfoOption *defaults, const char *key)
{
    for (const PQconninfoOption *opt = defaults; opt && opt->keyword; opt++)
        if (strcmp(opt->keyword, key) == 0)
            return 1;
    return 0;
}

/* Extras whose key libpq knows (sslmode, connect_timeout, options...) become
 * keywords; the others (Airflow's cursor, iam, ...) are not for libpq. */
static void keywords_add_extras(pg_keywords *kw, const ferry_conn *conn,
                                const PQconninfoOption *defaults)
{
    for (size_t i = 0; i < conn->n_extra; i++) {
        const char *key = conn->extra[i].key;
        if (!key)
            continue;
        if (is_libpq_keyword(defaults, key))
            keywords_add(kw, key, conn->extra[i].value);
        else
            ferry_log(FERRY_LOG_DEBUG, "postgres(%s): extra '%s' is not a libpq keyword, ignored",
                      conn->id ? conn->id : "", key);
    }
}

/* Defaults of ferry's own, each only when nothing else (extra or PG* variable)
 * sets it: the client sees UTF-8 (JSON must be UTF-8), the session is named
 * "ferry" (fallback_application_name yields to PGAPPNAME and to an
 * application_name extra), and connecting gives up after a while. */
static void keywords_add_ferry_defaults(pg_keywords *kw)
{
    if (!env_is_set("PGCLIENTENCODING"))
        keywords_add(kw, "client_encoding", "UTF8");
    keywords_add(kw, "fallback_application_name", "ferry");
    if (!env_is_set("PGCONNECT_TIMEOUT")) {
        snprintf(kw->connect_timeout, sizeof kw->connect_timeout, "%d", FERRY_PG_CONNECT_TIMEOUT);
        keywords_add(kw, "connect_timeout", kw->connect_timeout);
    }
}

static void keywords_build(pg_keywords *kw, const ferry_conn *conn, const PQconninfoOption *defaults)
{
    memset(kw, 0, sizeof *kw);
    keywords_add(kw, "host", conn->host);
    if (conn->port > 0) {
        snprintf(kw->port, sizeof kw->port, "%d", conn->port);
        keywords_add(kw, "port", kw->port);
    }
    keywords_add(kw, "user", conn->login);
    keywords_add(kw, "password", conn->password);
    keywords_add(kw, "dbname", conn->schema);
    keywords_add_extras(kw, conn, defaults);
    keywords_add_ferry_defaults(kw);
}

/* ---- messages ----------------------------------------------------------- */

static int starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static int sqlstate_char(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z');
}

int ferry_pg_verbose_sqlstate(const char *msg, char out[6])
{
    out[0] = '\0';
    if (!msg)
        return 0;
    /* "<SEVERITY>:  XXXXX: ": two spaces after the severity, then the code */
    for (const char *p = msg; *p; p++) {
        if (p[0] != ':' || p[1] != ' ' || p[2] != ' ')
            continue;
        const char *c = p + 3;
        int ok = 1;
        for (int i = 0; i < 5 && ok; i++)
            ok = sqlstate_char(c[i]);
        if (ok && c[5] == ':' && c[6] == ' ') {
            memcpy(out, c, 5);
            out[5] = '\0';
        }
    }
    return out[0] != '\0';
}

/* One line of libpq's text without the parts that repeat what ferry says
 * anyway: "connection to server at ... failed: " and "ERROR:  "/"FATAL:  ". */
static const char *skip_line_prefixes(const char *line, const char *end)
{
    while (line < end && (*line == ' ' || *line == '\t'))
        line++;
    if (starts_with(line, "connection to server ")) {
        const char *failed = strstr(line, " failed: ");
        if (failed && failed < end)
            line = failed + strlen(" failed: ");
    }
    static const char *const severities[] = {"ERROR:  ", "FATAL:  ", "PANIC:  ", "WARNING:  ",
                                             "NOTICE:  ", "INFO:  ", "LOG:  ", NULL};
    for (int i = 0; severities[i]; i++) {
        if (starts_with(line, severities[i])) {
            line += strlen(severities[i]);
            break;
        }
    }
    /* the SQLSTATE a verbose message (a failed connect) puts first */
    if (end - line > 7 && sqlstate_char(line[0]) && sqlstate_char(line[1]) && sqlstate_char(line[2]) &&
        sqlstate_char(line[3]) && sqlstate_char(line[4]) && line[5] == ':' && line[6] == ' ')
        line += 7;
    return line;
}

/* Append "; " and the segment [s, e) to out unless it is empty or already there. */
static void append_segment(char *out, size_t cap, const char *s, const char *e)
{
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
        e--;
    size_t n = (size_t)(e - s);
    if (n == 0)
        return;
    char seg[512];
    if (n >= sizeof seg)
        n = sizeof seg - 1;
    memcpy(seg, s, n);
    seg[n] = '\0';
    if (strstr(out, seg))
        return;
    size_t used = strlen(out);
    snprintf(out + used, cap - used, "%s%s", used ? "; " : "", seg);
}

void ferry_pg_one_line(const char *raw, char *out, size_t cap)
{
    if (cap == 0)
        return;
    out[0] = '\0';
    if (!raw)
        return;
    const char *line = raw;
    while (*line) {
        const char *end = strchr(line, '\n');
        if (!end)
            end = line + strlen(line);
        /* a verbose message's source location is for developers */
        if (!starts_with(line, "LOCATION:  "))
            append_segment(out, cap, skip_line_prefixes(line, end), end);
        line = *end ? end + 1 : end;
    }
    if (!out[0])
        snprintf(out, cap, "unknown error");
}

/* The server ended the session, not the query: pg_terminate_backend
 * (57P01 admin_shutdown), a crash restart (57P02), a server not accepting
 * connections yet (57P03), class 08 (connection exception).  The same break as
 * a reset socket, so the same exit 8 (docs/reliability.md) - whether libpq
 * read the FATAL message before it saw the socket close or after is a race. */
static int sqlstate_is_session_lost(const char *sqlstate)
{
    return starts_with(sqlstate, "08") || strcmp(sqlstate, "57P01") == 0 || strcmp(sqlstate, "57P02") == 0 ||
           strcmp(sqlstate, "57P03") == 0;
}

ferry_status ferry_pg_status_for_sqlstate(const char *sqlstate)
{
    if (!sqlstate || strlen(sqlstate) != 5)
        return FERRY_ERR_DATA;
    static const char *const not_found[] = {"42P01", "42703", "3D000", "3F000", NULL};
    for (int i = 0; not_found[i]; i++)
        if (strcmp(sqlstate, not_found[i]) == 0)
            return FERRY_ERR_NOT_FOUND;
    /* class 28: invalid authorization; 42501: insufficient privilege */
    if (starts_with(sqlstate, "28") || strcmp(sqlstate, "42501") == 0)
        return FERRY_ERR_CONNECT;
    if (strcmp(sqlstate, "57014") == 0 && ferry_cancelled())
        return FERRY_ERR_INTERRUPTED;
    if (sqlstate_is_session_lost(sqlstate))
        return FERRY_ERR_TRANSIENT;
    return FERRY_ERR_DATA;
}

/* Serialization failures and deadlocks succeed when the work is redone; a
 * session the server ended (below) succeeds on a new one. */
static int sqlstate_is_transient(const char *sqlstate)
{
    return sqlstate && (strcmp(sqlstate, "40001") == 0 || strcmp(sqlstate, "40P01") == 0 ||
                        sqlstate_is_session_lost(sqlstate));
}

ferry_status ferry_pg_conn_error(PGconn *pg, const char *conn_id, const char *what,
                                 ferry_error *err)
{
    char cause[512];
    ferry_pg_one_line(pg ? PQerrorMessage(pg) : "out of memory", cause, sizeof cause);
    /* the socket died under an established session (reset, server gone)
     * without the server saying why: a broken exchange, exit 8; a session
     * the server ended on purpose says so with a SQLSTATE (result_error) */
    if (pg && PQstatus(pg) == CONNECTION_BAD) {
        ferry_status st = ferry_error_hook(err, FERRY_ERR_TRANSIENT, FERRY_PG_SYSTEM, conn_id,
                                           "%s failed: connection lost: %s", what, cause);
        if (err)
            ferry_error_transient(err);
        return st;
    }
    return ferry_error_hook(err, FERRY_ERR_DATA, FERRY_PG_SYSTEM, conn_id, "%s failed: %s", what,
                            cause);
}

ferry_status ferry_pg_result_error(PGconn *pg, const PGresult *res, const char *conn_id,
                                   const char *what, ferry_error *err)
{
    const char *sqlstate = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    if (!sqlstate)
        return ferry_pg_conn_error(pg, conn_id, what, err);
    char primary[512], detail[256], context[256];
    ferry_pg_one_line(PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY), primary, sizeof primary);
    ferry_pg_one_line(PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL), detail, sizeof detail);
    /* the innermost frame of the context is the useful one ("COPY t, line 3") */
    const char *ctx = PQresultErrorField(res, PG_DIAG_CONTEXT);
    context[0] = '\0';
    if (ctx) {
        size_t n = strcspn(ctx, "\n");
        snprintf(context, sizeof context, "%.*s", (int)(n < 255 ? n : 255), ctx);
    }
    int has_detail = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL) != NULL;
    ferry_status st = ferry_pg_status_for_sqlstate(sqlstate);
    ferry_error_hook(err, st, FERRY_PG_SYSTEM, conn_id, "%s failed: %s%s%s%s%s%s", what, primary,
                     has_detail ? ": " : "", has_detail ? detail : "", context[0] ? " (" : "",
                     context, context[0] ? ")" : "");
    if (sqlstate_is_transient(sqlstate))
        ferry_error_transient(err);
    return st;
}

/* ---- connecting --------------------------------------------------------- */

/* libferry never prints: the server's NOTICEs and WARNINGs (RAISE NOTICE,
 * "table does not exist, skipping") go to the log instead of libpq's stderr. */
static void log_notice(void *unused, const PGresult *res)
{
    (void)unused;
    const char *severity = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
    char text[512];
    ferry_pg_one_line(PQresultErrorMessage(res), text, sizeof text);
    int is_warning = severity && strcmp(severity, "WARNING") == 0;
    ferry_log(is_warning ? FERRY_LOG_WARN : FERRY_LOG_INFO, "postgres: %s: %s",
              severity ? severity : "NOTICE", text);
}

/* "host:port" as the user knows it: the connection's own, else libpq's
 * resolution (PGHOST, socket directory), else libpq's compiled defaults. */
static void describe_endpoint(const ferry_conn *conn, PGconn *pg, char *out, size_t cap)
{
    const char *host = conn->host && *conn->host ? conn->host : NULL;
    if (!host && pg && PQhost(pg) && *PQhost(pg))
        host = PQhost(pg);
    if (!host)
        host = env_is_set("PGHOST") ? getenv("PGHOST") : "localhost";
    char port[16];
    if (conn->port > 0)
        snprintf(port, sizeof port, "%d", conn->port);
    else if (pg && PQport(pg) && *PQport(pg))
        snprintf(port, sizeof port, "%s", PQport(pg));
    else
        snprintf(port, sizeof port, "%s", env_is_set("PGPORT") ? getenv("PGPORT") : "5432");
    snprintf(out, cap, "%s:%s", host, port);
}

ferry_status ferry_pg_connect_status(ferry_pg_stage stage, const char *sqlstate, int needs_password,
                                     int host_unknown, int *transient)
{
    *transient = 0;
    switch (stage) {
    case FERRY_PG_STAGE_NETWORK:
        *transient = !host_unknown;
        return FERRY_ERR_CONNECT;
    case FERRY_PG_STAGE_TLS:
        return FERRY_ERR_CONNECT;
    case FERRY_PG_STAGE_SERVER:
    default:
        break;
    }
    if (!sqlstate || strlen(sqlstate) != 5) {
        /* the server dropped the connection without a word, or libpq gave
         * up on its own: only a password it needed and lacked is final */
        *transient = !needs_password;
        return FERRY_ERR_CONNECT;
    }
    if (strcmp(sqlstate, "3D000") == 0)
        return FERRY_ERR_NOT_FOUND;
    if (strcmp(sqlstate, "57P03") == 0 || starts_with(sqlstate, "53") || sqlstate_is_session_lost(sqlstate))
        *transient = 1;
    return FERRY_ERR_CONNECT;
}

/* A host name (not an address, not a socket directory, not a list) that
 * does not resolve, asked again after a failure in the network stage: an
 * unknown name fails at once, a temporary DNS failure is retried. */
static int host_is_unknown(const char *host)
{
    if (!host || !*host || host[0] == '/' || host[0] == '@' || strchr(host, ','))
        return 0;
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    int rc = getaddrinfo(host, NULL, &hints, &res);
    if (res)
        freeaddrinfo(res);
    return rc == EAI_NONAME || rc == EAI_FAIL
#ifdef EAI_NODATA
           || rc == EAI_NODATA
#endif
        ;
}

static ferry_pg_stage stage_of(ConnStatusType s)
{
    switch (s) {
    case CONNECTION_SSL_STARTUP:
    case CONNECTION_GSS_STARTUP:
        return FERRY_PG_STAGE_TLS;
    case CONNECTION_AWAITING_RESPONSE:
    case CONNECTION_AUTH_OK:
    case CONNECTION_SETENV:
    case CONNECTION_CHECK_WRITABLE:
    case CONNECTION_CONSUME:
    case CONNECTION_CHECK_TARGET:
    case CONNECTION_CHECK_STANDBY:
        return FERRY_PG_STAGE_SERVER;
    default:        /* STARTED, MADE, NEEDED, BAD */
        return FERRY_PG_STAGE_NETWORK;
    }
}

/* libpq's connect_timeout (from the keywords or PGCONNECT_TIMEOUT), in
 * seconds; 0 = none.  libpq's rule: below 2 means 2. */
static int connect_timeout_of(PGconn *pg)
{
    PQconninfoOption *opts = PQconninfo(pg); /* owned: PQconninfoFree */
    int t = 0;
    for (PQconninfoOption *o = opts; o && o->keyword; o++)
        if (strcmp(o->keyword, "connect_timeout") == 0 && o->val && *o->val)
            t = atoi(o->val);
    PQconninfoFree(opts);
    return t <= 0 ? 0 : t < 2 ? 2 : t;
}

/* Drive PQconnectPoll until the connection is up or failed.  *stage is how
 * far it got; FERRY_ERR_TIMEOUT when connect_timeout passed (the caller
 * reports it as a failure to connect), FERRY_ERR_INTERRUPTED when cancelled. */
static ferry_status poll_connect(PGconn *pg, ferry_pg_stage *stage)
{
    int timeout = connect_timeout_of(pg);
    double deadline = timeout > 0 ? ferry_now_monotonic() + timeout : 0;
    PostgresPollingStatusType ps = PGRES_POLLING_WRITING;
    *stage = FERRY_PG_STAGE_NETWORK;
    for (;;) {
        ConnStatusType s = PQstatus(pg);
        if (s == CONNECTION_BAD || ps == PGRES_POLLING_FAILED)
            return FERRY_ERR_CONNECT;
        if (ps == PGRES_POLLING_OK)
            return FERRY_OK;
        if (ferry_cancelled())
            return FERRY_ERR_INTERRUPTED;
        int ms = FERRY_PG_POLL_MS;
        if (deadline > 0) {
            double left = deadline - ferry_now_monotonic();
            if (left <= 0)
                return FERRY_ERR_TIMEOUT;
            if (left * 1000 < ms)
                ms = (int)(left * 1000) + 1;
        }
        struct pollfd pfd = {.fd = PQsocket(pg), .events = ps == PGRES_POLLING_READING ? POLLIN : POLLOUT};
        int ready = pfd.fd >= 0 ? poll(&pfd, 1, ms) : 1;
        if (ready < 0 && errno != EINTR)
            ready = 1;      /* let libpq look at the socket and say what is wrong */
        if (ready <= 0)
            continue;
        *stage = stage_of(s);
        ps = PQconnectPoll(pg);
    }
}

static ferry_status connect_once(const ferry_conn *conn, const char *id, PGconn **out,
                                 ferry_error *err)
{
    *out = NULL;
    PQconninfoOption *defaults = PQconndefaults(); /* owned: PQconninfoFree */
    if (!defaults)
        return ferry_error_hook(err, FERRY_ERR_INTERNAL, FERRY_PG_SYSTEM, id,
                                "cannot read libpq's connection defaults (out of memory)");
    pg_keywords kw;
    keywords_build(&kw, conn, defaults);
    PGconn *pg = PQconnectStartParams(kw.keys, kw.values, 0);
    PQconninfoFree(defaults); /* kw's borrowed keys point into conn or literals only */
    if (!pg)
        return ferry_error_hook(err, FERRY_ERR_INTERNAL, FERRY_PG_SYSTEM, id, "cannot connect: out of memory");
    /* the server's refusal then carries its SQLSTATE (ferry_pg_verbose_sqlstate) */
    PQsetErrorVerbosity(pg, PQERRORS_VERBOSE);
    ferry_pg_stage stage = FERRY_PG_STAGE_NETWORK;
    ferry_status polled = poll_connect(pg, &stage);
    if (polled == FERRY_OK && PQstatus(pg) == CONNECTION_OK) {
        PQsetErrorVerbosity(pg, PQERRORS_DEFAULT);
        PQsetNoticeReceiver(pg, log_notice, NULL);
        ferry_log(FERRY_LOG_DEBUG, "postgres(%s): connected to %s:%s as %s, server %d", id ? id : "",
                  PQhost(pg), PQport(pg), PQuser(pg), PQserverVersion(pg));
        *out = pg;
        return FERRY_OK;
    }
    char where[256], cause[600];
    describe_endpoint(conn, pg, where, sizeof where);
    if (polled == FERRY_ERR_INTERRUPTED) {
        PQfinish(pg);
        return ferry_error_hook(err, FERRY_ERR_INTERRUPTED, FERRY_PG_SYSTEM, id, "connecting to %s interrupted",
                                where);
    }
    int transient = 0;
    ferry_status st;
    if (polled == FERRY_ERR_TIMEOUT) {
        /* no answer within connect_timeout: a server that could not be reached */
        snprintf(cause, sizeof cause, "no answer within %d s (connect_timeout)", connect_timeout_of(pg));
        st = FERRY_ERR_CONNECT;
        transient = 1;
    } else {
        char sqlstate[6];
        const char *msg = PQerrorMessage(pg);
        int has_state = ferry_pg_verbose_sqlstate(msg, sqlstate);
        int unknown = stage == FERRY_PG_STAGE_NETWORK && host_is_unknown(conn->host);
        st = ferry_pg_connect_status(stage, has_state ? sqlstate : NULL, PQconnectionNeedsPassword(pg), unknown,
                                     &transient);
        ferry_pg_one_line(msg, cause, sizeof cause);
    }
    PQfinish(pg);
    ferry_error_hook(err, st, FERRY_PG_SYSTEM, id, "cannot connect to %s: %s", where, cause);
    if (transient)
        ferry_error_transient(err);
    return st;
}

ferry_status ferry_pg_connect_retry(const ferry_conn *conn, const char *id, int max_attempts,
                                    PGconn **out, ferry_error *err)
{
    ferry_retry retry;
    ferry_retry_init(&retry, max_attempts);
    ferry_error local;
    ferry_error *e = err ? err : &local;
    for (;;) {
        ferry_error_clear(e);
        ferry_status st = connect_once(conn, id, out, e);
        if (st == FERRY_OK || !ferry_retry_again(&retry, e))
            return st == FERRY_OK ? st : e->status;
    }
}

ferry_status ferry_pg_connect(const ferry_conn *conn, const char *id, PGconn **out,
                              ferry_error *err)
{
    return ferry_pg_connect_retry(conn, id, 0, out, err);
}

/* ---- waiting ------------------------------------------------------------ */

void ferry_pg_cancel(PGconn *pg)
{
    if (!pg || PQstatus(pg) != CONNECTION_OK)
        return;
    PGcancel *cancel = PQgetCancel(pg); /* owned: PQfreeCancel */
    if (!cancel)
        return;
    char errbuf[256];
    if (!PQcancel(cancel, errbuf, sizeof errbuf))
        ferry_log(FERRY_LOG_DEBUG, "postgres: cancel request failed: %s", errbuf);
    PQfreeCancel(cancel);
}

ferry_status ferry_pg_poll_input(PGconn *pg, const char *conn_id, int ms, int *arrived,
                                 ferry_error *err)
{
    *arrived = 0;
    struct pollfd pfd = {.fd = PQsocket(pg), .events = POLLIN, .revents = 0};
    if (pfd.fd < 0)
        return ferry_pg_conn_error(pg, conn_id, "waiting for the server", err);
    int ready = poll(&pfd, 1, ms);
    if (ready < 0 && errno != EINTR)
        return ferry_error_hook(err, FERRY_ERR_INTERNAL, FERRY_PG_SYSTEM, conn_id,
                                "poll failed: %s", strerror(errno));
    if (ready <= 0)
        return FERRY_OK;
    if (!PQconsumeInput(pg))
        return ferry_pg_conn_error(pg, conn_id, "reading from the server", err);
    *arrived = 1;
    return FERRY_OK;
}

ferry_status ferry_pg_wait_input(PGconn *pg, const char *conn_id, double timeout, double since,
                                 ferry_error *err)
{
    for (;;) {
        if (ferry_cancelled()) {
            ferry_pg_cancel(pg);
            return ferry_error_hook(err, FERRY_ERR_INTERRUPTED, FERRY_PG_SYSTEM, conn_id,
                                    "interrupted");
        }
        if (timeout > 0 && ferry_now_monotonic() - since >= timeout) {
            ferry_pg_cancel(pg);
            return ferry_error_hook(err, FERRY_ERR_TIMEOUT, FERRY_PG_SYSTEM, conn_id,
                                    "no answer from the server for %.0f s", timeout);
        }
        int arrived = 0;
        ferry_status st = ferry_pg_poll_input(pg, conn_id, FERRY_PG_POLL_MS, &arrived, err);
        if (st != FERRY_OK || arrived)
            return st;
    }
}

ferry_status ferry_pg_wait_ready(PGconn *pg, const char *conn_id, double timeout,
                                 ferry_error *err)
{
    double since = ferry_now_monotonic();
    if (!PQconsumeInput(pg))
        return ferry_pg_conn_error(pg, conn_id, "reading from the server", err);
    while (PQisBusy(pg)) {
        ferry_status st = ferry_pg_wait_input(pg, conn_id, timeout, since, err);
        if (st != FERRY_OK)
            return st;
    }
    return FERRY_OK;
}

/* Keep the result that describes the whole query string: the first error, or
 * else the last result. */
static void keep_result(PGresult **kept, PGresult *res)
{
    ExecStatusType old = *kept ? PQresultStatus(*kept) : PGRES_EMPTY_QUERY;
    if (*kept && (old == PGRES_FATAL_ERROR || old == PGRES_BAD_RESPONSE)) {
        PQclear(res);
        return;
    }
    PQclear(*kept);
    *kept = res;
}

static int is_copy_status(ExecStatusType s)
{
    return s == PGRES_COPY_OUT || s == PGRES_COPY_IN || s == PGRES_COPY_BOTH;
}

ferry_status ferry_pg_run(PGconn *pg, const char *conn_id, const char *sql, double timeout,
                          PGresult **out, ferry_error *err)
{
    *out = NULL;
    if (!PQsendQuery(pg, sql))
        return ferry_pg_conn_error(pg, conn_id, "sending the query", err);
    PGresult *kept = NULL;
    for (;;) {
        ferry_status st = ferry_pg_wait_ready(pg, conn_id, timeout, err);
        if (st != FERRY_OK) {
            PQclear(kept);
            return st;
        }
        PGresult *res = PQgetResult(pg);
        if (!res)
            break;
        int copying = is_copy_status(PQresultStatus(res));
        keep_result(&kept, res);
        if (copying) /* the connection stays in COPY; the caller decides */
            break;
    }
    if (!kept)
        return ferry_pg_conn_error(pg, conn_id, "running the query", err);
    *out = kept;
    return FERRY_OK;
}

ferry_status ferry_pg_command(PGconn *pg, const char *conn_id, const char *sql, const char *what,
                              double timeout, ferry_error *err)
{
    PGresult *res = NULL;
    ferry_status st = ferry_pg_run(pg, conn_id, sql, timeout, &res, err);
    if (st != FERRY_OK)
        return st;
    ExecStatusType s = PQresultStatus(res);
    if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK)
        st = ferry_pg_result_error(pg, res, conn_id, what, err);
    PQclear(res);
    return st;
}

ferry_status ferry_pg_start_copy(PGconn *pg, const char *conn_id, const char *sql,
                                 ExecStatusType expect, double timeout, ferry_error *err)
{
    if (!PQsendQuery(pg, sql))
        return ferry_pg_conn_error(pg, conn_id, "COPY", err);
    ferry_status st = ferry_pg_wait_ready(pg, conn_id, timeout, err);
    if (st != FERRY_OK)
        return st;
    PGresult *res = PQgetResult(pg); /* owned: PQclear */
    if (res && PQresultStatus(res) == expect) {
        PQclear(res);
        return FERRY_OK;
    }
    if (res && PQresultStatus(res) != PGRES_FATAL_ERROR)
        st = ferry_error_hook(err, FERRY_ERR_INTERNAL, FERRY_PG_SYSTEM, conn_id,
                              "COPY failed: unexpected answer %s",
                              PQresStatus(PQresultStatus(res)));
    else
        st = ferry_pg_result_error(pg, res, conn_id, "COPY", err);
    PQclear(res);
    return st;
}

long long ferry_pg_cmd_rows(PGresult *res)
{
    const char *tuples = res ? PQcmdTuples(res) : NULL;
    if (!tuples || !*tuples)
        return -1;
    char *end = NULL;
    long long n = strtoll(tuples, &end, 10);
    return end && *end == '\0' ? n : -1;
}

ferry_status ferry_pg_commit(PGconn *pg, const char *conn_id, ferry_error *err)
{
    PGresult *res = PQexec(pg, "COMMIT"); /* owned: PQclear */
    ferry_status st = FERRY_OK;
    if (!res || PQresultStatus(res) != PGRES_COMMAND_OK)
        st = ferry_pg_result_error(pg, res, conn_id, "COMMIT", err);
    else if (strcmp(PQcmdStatus(res), "COMMIT") != 0)
        st = ferry_error_hook(err, FERRY_ERR_DATA, FERRY_PG_SYSTEM, conn_id,
                              "COMMIT failed: the transaction was rolled back");
    PQclear(res);
    return st;
}
