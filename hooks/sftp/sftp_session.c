/*
 * hooks/sftp/sftp_session.c - one SFTP connection: TCP connect (bounded,
 * cancellable), SSH handshake, host key verification and authentication
 * (sftp_hostkey.c, sftp_auth.c), the SFTP subsystem, retries of transient
 * connection failures, and a clean disconnect.
 *
 * The session is non-blocking: every libssh2 call that says EAGAIN is
 * followed by ferry_sftp_wait, which polls the socket in 200 ms slices so a
 * SIGINT/SIGTERM (ferry_cancelled) is honoured at once and a silent server
 * fails after the timeout instead of hanging.  This file also turns libssh2
 * failures into ferry errors.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ferry/log.h"
#include "ferry/retry.h"
#include "hooks/sftp/sftp_internal.h"

/* Extras this hook reads; anything else is reported once per connection. */
static const char *const known_extras[] = {
    "key_file", "private_key", "private_key_passphrase", "known_hosts", "host_key", "no_host_key_check",
    "conn_timeout", "timeout", "look_for_keys", "allow_agent", "read_sessions", "read_block_kib",
    "write_sessions", NULL,
};

void ferry_sftp_opts_from(const ferry_copy_options *o, ferry_sftp_connect_opts *opts)
{
    memset(opts, 0, sizeof *opts);  /* cleanup = 0: callers only set what they change */
    opts->timeout = o && o->timeout > 0 ? o->timeout : FERRY_SFTP_OP_TIMEOUT;
    opts->max_attempts = o && o->max_retries > 0 ? o->max_retries : 5;
}

/* ---------------------------------------------------------------- errors */

static int is_connection_error(int rc)
{
    switch (rc) {
    case LIBSSH2_ERROR_SOCKET_NONE:
    case LIBSSH2_ERROR_BANNER_RECV:
    case LIBSSH2_ERROR_BANNER_SEND:
    case LIBSSH2_ERROR_SOCKET_SEND:
    case LIBSSH2_ERROR_SOCKET_RECV:
    case LIBSSH2_ERROR_SOCKET_DISCONNECT:
    case LIBSSH2_ERROR_SOCKET_TIMEOUT:
    case LIBSSH2_ERROR_TIMEOUT:
    case LIBSSH2_ERROR_CHANNEL_CLOSED:
    case LIBSSH2_ERROR_CHANNEL_EOF_SENT:
    case LIBSSH2_ERROR_CHANNEL_FAILURE:
    case LIBSSH2_ERROR_BAD_SOCKET:
        return 1;
    default:
        return 0;
    }
}

unsigned long ferry_sftp_last_fx(ferry_sftp_session *s, int rc)
{
    if (rc == LIBSSH2_ERROR_SFTP_PROTOCOL && s->sftp)
        return libssh2_sftp_last_error(s->sftp);
    return 0;
}

ferry_status ferry_sftp_error(ferry_sftp_session *s, int rc, ferry_error *err, const char *fmt, ...)
{
    char what[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);

    s->last_fx = ferry_sftp_last_fx(s, rc);
    ferry_status st;
    int transient = 0;
    if (s->last_fx != 0) {
        const char *words;
        st = ferry_sftp_fx_status(s->last_fx, &words, &transient);
        ferry_error_hook(err, st, FERRY_SFTP_SYSTEM, s->conn_id, "%s failed: %s", what, words);
    } else {
        char *msg = NULL;
        int len = 0;
        if (s->ssh)
            libssh2_session_last_error(s->ssh, &msg, &len, 0);
        if (is_connection_error(rc)) {
            /* lost while connecting: could not connect (4); lost once the
             * SFTP subsystem ran: a broken exchange (8) */
            s->broken = 1;
            st = s->sftp ? FERRY_ERR_TRANSIENT : FERRY_ERR_CONNECT;
            transient = 1;
            ferry_error_hook(err, st, FERRY_SFTP_SYSTEM, s->conn_id, "%s failed: connection to %s:%d lost (%s)",
                             what, s->host, s->port, msg && *msg ? msg : "socket error");
        } else {
            st = rc == LIBSSH2_ERROR_ALLOC || rc == LIBSSH2_ERROR_BAD_USE || rc == LIBSSH2_ERROR_INVAL
                     ? FERRY_ERR_INTERNAL
                     : FERRY_ERR_CONNECT;
            ferry_error_hook(err, st, FERRY_SFTP_SYSTEM, s->conn_id, "%s failed: %s (libssh2 error %d)", what,
                             msg && *msg ? msg : "unknown error", rc);
        }
    }
    if (transient && err)
        ferry_error_transient(err);
    return st;
}

ferry_status ferry_sftp_error_context(const char *conn_id, ferry_error *err, const char *fmt, ...)
{
    char ctx[512], prefix[300], rest[FERRY_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ctx, sizeof ctx, fmt, ap);
    va_end(ap);
    snprintf(prefix, sizeof prefix, "%s(%s): ", FERRY_SFTP_SYSTEM, conn_id);
    size_t n = strlen(prefix);
    snprintf(rest, sizeof rest, "%s", strncmp(err->msg, prefix, n) == 0 ? err->msg + n : err->msg);
    int transient = err->transient;
    ferry_error_hook(err, err->status, FERRY_SFTP_SYSTEM, conn_id, "%s: %s", ctx, rest);
    err->transient = transient;
    return err->status;
}

/* ---------------------------------------------------------------- waiting */

ferry_status ferry_sftp_wait(ferry_sftp_session *s, double since, const char *what, ferry_error *err)
{
    double limit = s->cleanup ? FERRY_SFTP_CLEANUP_TIMEOUT : s->timeout;
    for (;;) {
        if (!s->cleanup && !s->shielded && ferry_cancelled()) {
            s->broken = 1;
            return ferry_error_hook(err, FERRY_ERR_INTERRUPTED, FERRY_SFTP_SYSTEM, s->conn_id,
                                    "%s: interrupted by signal %d", what, ferry_cancel_signal());
        }
        if (!s->cleanup && s->abandon && atomic_load(s->abandon)) {
            s->broken = 1;
            return ferry_error_hook(err, FERRY_ERR_INTERRUPTED, FERRY_SFTP_SYSTEM, s->conn_id,
                                    "%s: stopped (another session of the same read failed)", what);
        }
        double left = since + limit - ferry_now_monotonic();
        if (left <= 0) {
            s->broken = 1;
            ferry_error_hook(err, FERRY_ERR_TIMEOUT, FERRY_SFTP_SYSTEM, s->conn_id,
                             "%s: no progress from %s:%d for %.0f s", what, s->host, s->port, limit);
            ferry_error_transient(err);
            return FERRY_ERR_TIMEOUT;
        }
        int dir = s->ssh ? libssh2_session_block_directions(s->ssh) : 0;
        struct pollfd pfd = {s->fd, 0, 0};
        if (dir & LIBSSH2_SESSION_BLOCK_INBOUND)
            pfd.events |= POLLIN;
        if (dir & LIBSSH2_SESSION_BLOCK_OUTBOUND)
            pfd.events |= POLLOUT;
        if (pfd.events == 0)
            pfd.events = POLLIN;
        int ms = left * 1000 < FERRY_SFTP_POLL_MS ? (int)(left * 1000) + 1 : FERRY_SFTP_POLL_MS;
        int n = poll(&pfd, 1, ms);
        if (n > 0)
            return FERRY_OK;
        if (n < 0 && errno != EINTR) {
            s->broken = 1;
            return ferry_error_hook(err, FERRY_ERR_CONNECT, FERRY_SFTP_SYSTEM, s->conn_id, "%s: poll failed: %s",
                                    what, strerror(errno));
        }
    }
}

/* ---------------------------------------------------------------- TCP */

static ferry_status connect_addr(ferry_sftp_session *s, const struct addrinfo *ai, double deadline, int *err_no,
                                 ferry_error *err)
{
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
        *err_no = errno;
        return FERRY_ERR_CONNECT;
    }
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0 && errno != EINPROGRESS) {
        *err_no = errno;
        close(fd);
        return FERRY_ERR_CONNECT;
    }
    for (;;) {
        if (!s->cleanup && ferry_cancelled()) {
            close(fd);
            return ferry_error_hook(err, FERRY_ERR_INTERRUPTED, FERRY_SFTP_SYSTEM, s->conn_id,
                                    "connect: interrupted by signal %d", ferry_cancel_signal());
        }
        double left = deadline - ferry_now_monotonic();
        if (left <= 0) {
            *err_no = ETIMEDOUT;
            close(fd);
            return FERRY_ERR_CONNECT;
        }
        struct pollfd pfd = {fd, POLLOUT, 0};
        int n = poll(&pfd, 1, left * 1000 < FERRY_SFTP_POLL_MS ? (int)(left * 1000) + 1 : FERRY_SFTP_POLL_MS);
        if (n < 0 && errno != EINTR) {
            *err_no = errno;
            close(fd);
            return FERRY_ERR_CONNECT;
        }
        if (n > 0)
            break;
    }
    int so_error = 0;
    socklen_t len = sizeof so_error;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &len) != 0 || so_error != 0) {
        *err_no = so_error ? so_error : errno;
        close(fd);
        return FERRY_ERR_CONNECT;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
    s->fd = fd;
    return FERRY_OK;
}

static ferry_status tcp_connect(ferry_sftp_session *s, double deadline, ferry_error *err)
{
    char port[16];
    snprintf(port, sizeof port, "%d", s->port);
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    int gai = getaddrinfo(s->host, port, &hints, &res);
    if (gai != 0) {
        ferry_error_hook(err, FERRY_ERR_CONNECT, FERRY_SFTP_SYSTEM, s->conn_id, "cannot resolve host '%s': %s",
                         s->host, gai_strerror(gai));
        if (gai == EAI_AGAIN)
            ferry_error_transient(err);
        return FERRY_ERR_CONNECT;
    }
    int err_no = 0;
    ferry_status st = FERRY_ERR_CONNECT;
    for (const struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        st = connect_addr(s, ai, deadline, &err_no, err);
        if (st == FERRY_OK || st == FERRY_ERR_INTERRUPTED)
            break;
    }
    freeaddrinfo(res);
    if (st == FERRY_ERR_CONNECT) {
        ferry_error_hook(err, FERRY_ERR_CONNECT, FERRY_SFTP_SYSTEM, s->conn_id, "connect to %s:%d failed: %s",
                         s->host, s->port, err_no == ETIMEDOUT ? "timed out" : strerror(err_no));
        ferry_error_transient(err);
    }
    return st;
}

/* ---------------------------------------------------------------- SSH */

static pthread_once_t libssh2_once = PTHREAD_ONCE_INIT;
static int libssh2_init_rc;

static void init_libssh2(void)
{
    libssh2_init_rc = libssh2_init(0);
}

static void keep_banner(ferry_sftp_session *s)
{
    const char *b = libssh2_session_banner_get(s->ssh);
    if (!b)
        return;
    if (strncmp(b, "SSH-2.0-", 8) == 0)
        b += 8;
    snprintf(s->banner, sizeof s->banner, "%s", b);
    /* "OpenSSH_9.2p1 Debian-2+deb12u3": keep the software, drop the distro tag */
    char *space = strchr(s->banner, ' ');
    if (space)
        *space = '\0';
}

static ferry_status handshake(ferry_sftp_session *s, ferry_error *err)
{
    double since = ferry_now_monotonic();
    for (;;) {
        int rc = libssh2_session_handshake(s->ssh, s->fd);
        if (rc == 0)
            break;
        if (rc != LIBSSH2_ERROR_EAGAIN) {
            /* a connection dropped during the handshake (e.g. by sshd's
             * MaxStartups) is transient, as ferry_sftp_error marks it; no
             * algorithm in common is not */
            ferry_status st = ferry_sftp_error(s, rc, err, "SSH handshake with %s:%d", s->host, s->port);
            if (rc == LIBSSH2_ERROR_KEX_FAILURE || rc == LIBSSH2_ERROR_KEY_EXCHANGE_FAILURE ||
                rc == LIBSSH2_ERROR_METHOD_NOT_SUPPORTED)
                err->transient = 0;
            return st;
        }
        ferry_status st = ferry_sftp_wait(s, since, "SSH handshake", err);
        if (st != FERRY_OK) {
            if (st == FERRY_ERR_TIMEOUT)
                err->status = FERRY_ERR_CONNECT;
            return err->status;
        }
    }
    keep_banner(s);
    /* what the bulk of the data costs (docs/performance-sftp.md, "Cipher") */
    const char *cipher = libssh2_session_methods(s->ssh, LIBSSH2_METHOD_CRYPT_CS);
    const char *mac = libssh2_session_methods(s->ssh, LIBSSH2_METHOD_MAC_CS);
    const char *comp = libssh2_session_methods(s->ssh, LIBSSH2_METHOD_COMP_CS);
    ferry_log(FERRY_LOG_DEBUG, FERRY_SFTP_SYSTEM "(%s): %s:%d negotiated %s, %s, compression %s", s->conn_id, s->host,
              s->port, cipher ? cipher : "?", mac ? mac : "?", comp ? comp : "?");
    return FERRY_OK;
}

static ferry_status start_sftp(ferry_sftp_session *s, ferry_error *err)
{
    double since = ferry_now_monotonic();
    for (;;) {
        s->sftp = libssh2_sftp_init(s->ssh);
        if (s->sftp)
            return FERRY_OK;
        int rc = libssh2_session_last_errno(s->ssh);
        if (rc != LIBSSH2_ERROR_EAGAIN)
            return ferry_sftp_error(s, rc, err, "starting the SFTP subsystem on %s:%d", s->host, s->port);
        ferry_status st = ferry_sftp_wait(s, since, "starting SFTP", err);
        if (st != FERRY_OK)
            return st;
    }
}

static const char *default_user(void)
{
    const char *u = getenv("USER");
    if (u && *u)
        return u;
    struct passwd *pw = getpwuid(getuid());
    return pw && pw->pw_name ? pw->pw_name : "root";
}

static ferry_status connect_timeout(const ferry_conn *conn, const char *conn_id, double op_timeout, double *out,
                                    ferry_error *err)
{
    const char *key = ferry_conn_extra(conn, "conn_timeout") ? "conn_timeout" : "timeout";
    const char *v = ferry_conn_extra(conn, key);
    *out = FERRY_SFTP_CONNECT_TIMEOUT;
    if (v) {
        char *end = NULL;
        double t = strtod(v, &end);
        if (end == v || *end != '\0' || !(t > 0))
            return ferry_error_hook(err, FERRY_ERR_CONFIG, FERRY_SFTP_SYSTEM, conn_id,
                                    "extra %s='%s' is not a number of seconds", key, v);
        *out = t;
    }
    if (op_timeout > 0 && op_timeout < *out)
        *out = op_timeout;
    return FERRY_OK;
}

static void warn_unknown_extras(const ferry_conn *conn, const char *conn_id)
{
    for (size_t i = 0; i < conn->n_extra; i++) {
        int known = 0;
        for (const char *const *k = known_extras; *k && !known; k++)
            known = strcmp(*k, conn->extra[i].key) == 0;
        if (!known)
            ferry_log(FERRY_LOG_WARN, FERRY_SFTP_SYSTEM "(%s): ignoring extra '%s' (not used by the sftp hook)",
                      conn_id, conn->extra[i].key);
    }
}

static ferry_sftp_session *session_new(const ferry_conn *conn, int cleanup)
{
    ferry_sftp_session *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->fd = -1;
    s->cleanup = cleanup;
    s->port = conn->port > 0 ? conn->port : 22;
    s->conn_id = strdup(conn->id && conn->id[0] ? conn->id : "inline");
    s->host = strdup(conn->host ? conn->host : "");
    s->user = strdup(conn->login && conn->login[0] ? conn->login : default_user());
    if (!s->conn_id || !s->host || !s->user) {
        ferry_sftp_disconnect(s);
        return NULL;
    }
    return s;
}

/* One attempt: TCP, handshake, host key, authentication, SFTP. */
static ferry_status connect_once(ferry_sftp_session *s, const ferry_conn *conn, double ctimeout, double optimeout,
                                 const char *only_hostkeys, ferry_error *err)
{
    s->timeout = ctimeout;
    ferry_status st = tcp_connect(s, ferry_now_monotonic() + ctimeout, err);
    if (st != FERRY_OK)
        return st;
    s->ssh = libssh2_session_init_ex(NULL, NULL, NULL, s);
    if (!s->ssh)
        return ferry_error_oom(err, NULL, NULL, NULL);
    libssh2_session_set_blocking(s->ssh, 0);
    ferry_sftp_prefer_hostkeys(s, conn, only_hostkeys);
    st = handshake(s, err);
    if (st == FERRY_OK)
        st = ferry_sftp_verify_hostkey(s, conn, err);
    if (st == FERRY_OK)
        st = ferry_sftp_authenticate(s, conn, err);
    if (st != FERRY_OK)
        return st;
    libssh2_keepalive_config(s->ssh, 1, FERRY_SFTP_KEEPALIVE);
    st = start_sftp(s, err);
    s->timeout = optimeout;
    return st;
}

/* One attempt.  A "SHA256:" pin names no key type: when the key the server
 * chose does not match it, ask for each of its other key kinds in turn (a
 * server with ecdsa and ed25519 keys presents ecdsa to libssh2 first). */
static ferry_status connect_attempt(const ferry_conn *conn, const ferry_sftp_connect_opts *opts, double ctimeout,
                                    ferry_sftp_session **out, ferry_error *err)
{
    *out = session_new(conn, opts->cleanup);
    if (!*out)
        return ferry_error_oom(err, NULL, NULL, NULL);
    ferry_status st = connect_once(*out, conn, ctimeout, opts->timeout, NULL, err);
    if (st == FERRY_OK || !(*out)->pin_mismatch || !ferry_sftp_pin_is_typeless(ferry_conn_extra(conn, "host_key")))
        return st;
    char seen[600];
    snprintf(seen, sizeof seen, "%s", (*out)->hostkey);
    int first_type = (*out)->hostkey_type;
    const char *algs;
    int type = 0;
    for (size_t i = 0; (algs = ferry_sftp_hostkey_kind(i, &type)) != NULL; i++) {
        if (type == first_type)
            continue;
        ferry_sftp_disconnect(*out);
        *out = session_new(conn, opts->cleanup);
        if (!*out)
            return ferry_error_oom(err, NULL, NULL, NULL);
        st = connect_once(*out, conn, ctimeout, opts->timeout, algs, err);
        if (st == FERRY_OK)
            return st;
        if ((*out)->pin_mismatch) {
            size_t used = strlen(seen);
            snprintf(seen + used, sizeof seen - used, ", %s", (*out)->hostkey);
        } else if ((*out)->hostkey[0] || st == FERRY_ERR_INTERRUPTED || (err && err->transient)) {
            return st;  /* the pin matched (a later step failed), or a real failure */
        }
        /* else: the server has no key of this kind */
    }
    return ferry_error_hook(err, FERRY_ERR_CONNECT, FERRY_SFTP_SYSTEM, (*out)->conn_id,
                            "host key of %s:%d does not match the pinned host_key: the server presented %s "
                            "(someone may be intercepting the connection; if the key changed, update host_key)",
                            (*out)->host, (*out)->port, seen);
}

ferry_status ferry_sftp_connect(const ferry_conn *conn, const ferry_sftp_connect_opts *opts,
                                ferry_sftp_session **out, ferry_error *err)
{
    *out = NULL;
    const char *conn_id = conn->id && conn->id[0] ? conn->id : "inline";
    if (!conn->host || !conn->host[0])
        return ferry_error_hook(err, FERRY_ERR_CONFIG, FERRY_SFTP_SYSTEM, conn_id, "the connection has no host");
    double ctimeout;
    ferry_status st = connect_timeout(conn, conn_id, opts->timeout, &ctimeout, err);
    if (st != FERRY_OK)
        return st;
    if (opts->cleanup)
        ctimeout = FERRY_SFTP_CLEANUP_TIMEOUT;
    pthread_once(&libssh2_once, init_libssh2);
    if (libssh2_init_rc != 0)
        return ferry_error_hook(err, FERRY_ERR_INTERNAL, FERRY_SFTP_SYSTEM, conn_id, "libssh2_init failed");
    if (!opts->cleanup)
        warn_unknown_extras(conn, conn_id);

    ferry_retry retry;
    ferry_retry_init(&retry, opts->max_attempts);
    for (;;) {
        ferry_sftp_session *s = NULL;
        st = connect_attempt(conn, opts, ctimeout, &s, err);
        if (st == FERRY_OK) {
            ferry_log(FERRY_LOG_DEBUG, FERRY_SFTP_SYSTEM "(%s): connected to %s:%d as %s (%s, %s)", s->conn_id,
                      s->host, s->port, s->user, s->banner, s->auth_method);
            *out = s;
            return FERRY_OK;
        }
        ferry_sftp_disconnect(s);
        if (!ferry_retry_again(&retry, err))
            return err ? err->status : st;
    }
}

/* ---------------------------------------------------------------- clone */

static int dup_field(char **dst, const char *src)
{
    if (!src)
        return 0;
    *dst = strdup(src);
    return *dst ? 0 : -1;
}

ferry_conn *ferry_sftp_conn_clone(const ferry_conn *conn)
{
    ferry_conn *c = ferry_conn_new(conn->id ? conn->id : "", conn->type ? conn->type : "sftp");
    if (!c)
        return NULL;
    c->port = conn->port;
    int bad = dup_field(&c->host, conn->host) || dup_field(&c->login, conn->login) ||
              dup_field(&c->password, conn->password) || dup_field(&c->schema, conn->schema);
    if (!bad && conn->n_extra) {
        c->extra = calloc(conn->n_extra, sizeof *c->extra);
        bad = !c->extra;
        for (size_t i = 0; !bad && i < conn->n_extra; i++) {
            bad = dup_field(&c->extra[i].key, conn->extra[i].key) || dup_field(&c->extra[i].value, conn->extra[i].value);
            c->n_extra = i + 1;
        }
    }
    if (bad) {
        ferry_conn_free(c);
        return NULL;
    }
    return c;
}

/* ---------------------------------------------------------------- disconnect */

void ferry_sftp_disconnect(ferry_sftp_session *s)
{
    if (!s)
        return;
    s->cleanup = 1;
    ferry_error ignored;
    double since = ferry_now_monotonic();
    if (s->broken && s->fd >= 0) {
        /* a half-sent packet may be pending: say nothing more, make every
         * send libssh2 tries while freeing fail at once */
        shutdown(s->fd, SHUT_RDWR);
    }
    if (s->sftp) {
        while (libssh2_sftp_shutdown(s->sftp) == LIBSSH2_ERROR_EAGAIN)
            if (ferry_sftp_wait(s, since, "SFTP shutdown", &ignored) != FERRY_OK)
                break;
        s->sftp = NULL;
    }
    if (s->ssh) {
        since = ferry_now_monotonic();
        while (libssh2_session_disconnect(s->ssh, "ferry: done") == LIBSSH2_ERROR_EAGAIN)
            if (ferry_sftp_wait(s, since, "SSH disconnect", &ignored) != FERRY_OK)
                break;
        since = ferry_now_monotonic();
        while (libssh2_session_free(s->ssh) == LIBSSH2_ERROR_EAGAIN)
            if (ferry_sftp_wait(s, since, "SSH session free", &ignored) != FERRY_OK)
                break;
        s->ssh = NULL;
    }
    if (s->fd >= 0)
        close(s->fd);
    free(s->conn_id);
    free(s->host);
    free(s->user);
    free(s);
}
