/*
 * hooks/sftp/sftp_pool.c - the session cache: SSH connections kept open
 * between the files of one process, so a multi-file copy, `ls -R`, `rm` or
 * --move pays one handshake per connection, not one per file.
 *
 * A session is keyed by the identity of its connection: a SHA-256 over the
 * connection id, host, port, login, password, every extra (key files,
 * passphrase, known_hosts, host key policy, timeouts, ...) and the HOME and
 * SSH_AUTH_SOCK the defaults come from.  Only the digest is kept, never a
 * secret.  A session belongs to one user at a time: ferry_sftp_acquire takes
 * an idle one out of the cache (or connects), ferry_sftp_release puts it back
 * when it is healthy (no call abandoned half-way, no connection error) and
 * closes it otherwise.  Several threads copying at once each get their own
 * session (a pool of N, not channels of one session behind a lock: each
 * thread's encryption then runs on its own core).
 *
 * An idle session whose server went away (socket at EOF) is dropped when it
 * is taken; one that dies in the first request after being taken makes that
 * request fail as transient, and ferry_sftp_stale tells the caller to connect
 * again and repeat it once.  Idle sessions are closed at process exit
 * (atexit, bounded by the cleanup timeout) or by ferry_sftp_pool_drain.
 * FERRY_SFTP_REUSE=0 in the environment turns the cache off (every user
 * connects and disconnects, as before).
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <openssl/evp.h>

#include "ferry/log.h"
#include "hooks/sftp/sftp_internal.h"

static pthread_mutex_t pool_mu = PTHREAD_MUTEX_INITIALIZER;
static ferry_sftp_session *idle;        /* owned list through ->pool_next */
static size_t n_idle;
static pthread_once_t exit_once = PTHREAD_ONCE_INIT;

static int reuse_enabled(void)
{
    const char *v = getenv("FERRY_SFTP_REUSE");
    return !(v && strcmp(v, "0") == 0);
}

static void hash_str(EVP_MD_CTX *md, const char *s)
{
    /* length first, so ("ab","c") and ("a","bc") differ; NULL differs from "" */
    unsigned long long n = s ? (unsigned long long)strlen(s) + 1 : 0;
    EVP_DigestUpdate(md, &n, sizeof n);
    if (s)
        EVP_DigestUpdate(md, s, n - 1);
}

int ferry_sftp_identity(const ferry_conn *conn, unsigned char out[32])
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned len = 0;
    int ok = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1;
    if (ok) {
        hash_str(md, conn->id);
        hash_str(md, conn->host);
        EVP_DigestUpdate(md, &conn->port, sizeof conn->port);
        hash_str(md, conn->login);
        hash_str(md, conn->password);
        for (size_t i = 0; i < conn->n_extra; i++) {
            hash_str(md, conn->extra[i].key);
            hash_str(md, conn->extra[i].value);
        }
        hash_str(md, getenv("HOME"));
        hash_str(md, getenv("SSH_AUTH_SOCK"));
        ok = EVP_DigestFinal_ex(md, out, &len) == 1 && len == 32;
    }
    EVP_MD_CTX_free(md);
    return ok ? 0 : -1;
}

/* Did the server close an idle session (EOF or an error on its socket)? */
static int idle_dead(const ferry_sftp_session *s)
{
    struct pollfd p = {s->fd, POLLIN, 0};
    int n = poll(&p, 1, 0);
    if (n <= 0)
        return n < 0 && errno != EINTR;
    if (p.revents & (POLLERR | POLLNVAL))
        return 1;
    char c;
    ssize_t r = recv(s->fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    return r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

/* Take an idle session of this identity out of the cache, or NULL. */
static ferry_sftp_session *take_idle(const unsigned char ident[32])
{
    pthread_mutex_lock(&pool_mu);
    ferry_sftp_session **pp = &idle, *s = NULL;
    for (; *pp; pp = &(*pp)->pool_next) {
        if (memcmp((*pp)->ident, ident, 32) == 0) {
            s = *pp;
            *pp = s->pool_next;
            s->pool_next = NULL;
            n_idle--;
            break;
        }
    }
    pthread_mutex_unlock(&pool_mu);
    return s;
}

ferry_status ferry_sftp_acquire(const ferry_conn *conn, const ferry_sftp_connect_opts *opts,
                                ferry_sftp_session **out, int *reused, ferry_error *err)
{
    *out = NULL;
    *reused = 0;
    unsigned char ident[32];
    int keyed = reuse_enabled() && !opts->cleanup && ferry_sftp_identity(conn, ident) == 0;
    while (keyed) {
        ferry_sftp_session *s = take_idle(ident);
        if (!s)
            break;
        if (idle_dead(s)) {
            ferry_log(FERRY_LOG_DEBUG, FERRY_SFTP_SYSTEM "(%s): a cached session to %s:%d was closed by the "
                      "server; dropping it", s->conn_id, s->host, s->port);
            s->broken = 1;
            ferry_sftp_disconnect(s);
            continue;
        }
        s->timeout = opts->timeout;
        s->cleanup = 0;
        s->shielded = 0;
        s->abandon = NULL;
        s->last_fx = 0;
        atomic_store(&s->in_use, 1);
        ferry_log(FERRY_LOG_DEBUG, FERRY_SFTP_SYSTEM "(%s): reusing a session to %s:%d", s->conn_id, s->host,
                  s->port);
        *reused = 1;
        *out = s;
        return FERRY_OK;
    }
    ferry_status st = ferry_sftp_connect(conn, opts, out, err);
    if (st == FERRY_OK) {
        atomic_store(&(*out)->in_use, 1);
        if (keyed) {
            memcpy((*out)->ident, ident, 32);
            (*out)->keyed = 1;
        }
    }
    return st;
}

static void drain_at_exit(void)
{
    ferry_sftp_pool_drain();
}

static void register_exit(void)
{
    atexit(drain_at_exit);
}

void ferry_sftp_release(ferry_sftp_session *s)
{
    if (!s)
        return;
    atomic_store(&s->in_use, 0);
    int keep = s->keyed && !s->broken && s->sftp && s->ssh && s->fd >= 0 && reuse_enabled();
    if (keep) {
        pthread_once(&exit_once, register_exit);
        s->abandon = NULL;
        s->cleanup = 0;
        s->shielded = 0;
        pthread_mutex_lock(&pool_mu);
        if (n_idle < FERRY_SFTP_POOL_MAX) {
            s->pool_next = idle;
            idle = s;
            n_idle++;
            s = NULL;
        }
        pthread_mutex_unlock(&pool_mu);
    }
    ferry_sftp_disconnect(s);   /* NULL when it went into the cache */
}

int ferry_sftp_stale(ferry_sftp_session **s, int reused, ferry_status st, const ferry_error *err)
{
    if (!reused || !*s || st == FERRY_OK || !(*s)->broken || ferry_cancelled())
        return 0;
    if (st == FERRY_ERR_INTERRUPTED || st == FERRY_ERR_TIMEOUT || !err || !err->transient)
        return 0;
    ferry_log(FERRY_LOG_DEBUG, FERRY_SFTP_SYSTEM "(%s): the cached session to %s:%d is gone (%s); connecting again",
              (*s)->conn_id, (*s)->host, (*s)->port, err->msg);
    ferry_sftp_disconnect(*s);
    *s = NULL;
    return 1;
}

size_t ferry_sftp_pool_idle(void)
{
    pthread_mutex_lock(&pool_mu);
    size_t n = n_idle;
    pthread_mutex_unlock(&pool_mu);
    return n;
}

void ferry_sftp_pool_drain(void)
{
    pthread_mutex_lock(&pool_mu);
    ferry_sftp_session *s = idle;
    idle = NULL;
    n_idle = 0;
    pthread_mutex_unlock(&pool_mu);
    while (s) {
        ferry_sftp_session *next = s->pool_next;
        ferry_sftp_disconnect(s);
        s = next;
    }
}
