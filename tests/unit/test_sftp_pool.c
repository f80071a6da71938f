/*
 * test_sftp_pool.c - the SFTP session cache (hooks/sftp/sftp_pool.c) against
 * the harness's sshd: the identity key, a released session handed out again,
 * a session the server closed while idle dropped, FERRY_SFTP_REUSE=0, and
 * six threads taking and giving back sessions at once, where no session may
 * be held by two threads at the same time (a registry of held sessions
 * checked under a lock) and no more sessions are made than threads.
 *
 * Live (needs the SFTP_* variables of tests/harness/services.sh's env file;
 * exits 77 without them); tests/integration/sftp_hook.sh runs it.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "svc_env.h"
#include "ferry/ferry.h"
#include "hooks/sftp/sftp_internal.h"

static ferry_conn *conn;

static void add_extra(ferry_conn *c, const char *k, const char *v)
{
    c->extra = realloc(c->extra, (c->n_extra + 1) * sizeof *c->extra);
    c->extra[c->n_extra].key = strdup(k);
    c->extra[c->n_extra].value = strdup(v);
    c->n_extra++;
}

static void test_identity(void)
{
    unsigned char a[32], b[32];
    CHECK_INTEQ(ferry_sftp_identity(conn, a), 0);
    CHECK_INTEQ(ferry_sftp_identity(conn, b), 0);
    CHECK(memcmp(a, b, 32) == 0);
    ferry_conn *c = ferry_sftp_conn_clone(conn);
    CHECK_INTEQ(ferry_sftp_identity(c, b), 0);
    CHECK(memcmp(a, b, 32) == 0);           /* equal fields, equal key */
    c->port++;
    CHECK_INTEQ(ferry_sftp_identity(c, b), 0);
    CHECK(memcmp(a, b, 32) != 0);
    c->port--;
    c->password = strdup("x");              /* other credentials: another session */
    CHECK_INTEQ(ferry_sftp_identity(c, b), 0);
    CHECK(memcmp(a, b, 32) != 0);
    free(c->password);
    c->password = NULL;
    add_extra(c, "no_host_key_check", "true"); /* another host key policy */
    CHECK_INTEQ(ferry_sftp_identity(c, b), 0);
    CHECK(memcmp(a, b, 32) != 0);
    ferry_conn_free(c);
}

static void test_reuse(void)
{
    ferry_sftp_connect_opts opts;
    ferry_sftp_opts_from(NULL, &opts);
    ferry_error err;
    ferry_error_clear(&err);
    ferry_sftp_pool_drain();
    ferry_sftp_session *s = NULL, *t = NULL;
    int reused = -1;
    CHECK_INTEQ(ferry_sftp_acquire(conn, &opts, &s, &reused, &err), FERRY_OK);
    CHECK_INTEQ(reused, 0);
    if (!s)
        return;
    ferry_sftp_release(s);
    CHECK_INTEQ((int)ferry_sftp_pool_idle(), 1);
    CHECK_INTEQ(ferry_sftp_acquire(conn, &opts, &t, &reused, &err), FERRY_OK);
    CHECK_INTEQ(reused, 1);
    CHECK(t == s);
    CHECK_INTEQ((int)ferry_sftp_pool_idle(), 0);
    /* it works: a request over the reused session */
    char home[512];
    CHECK_INTEQ(ferry_sftp_realpath(t, ".", home, sizeof home, &err), FERRY_OK);
    CHECK(home[0] == '/');

    /* a broken session is never cached */
    t->broken = 1;
    ferry_sftp_release(t);
    CHECK_INTEQ((int)ferry_sftp_pool_idle(), 0);

    /* the server closes an idle session: dropped when taken, a new one made */
    CHECK_INTEQ(ferry_sftp_acquire(conn, &opts, &s, &reused, &err), FERRY_OK);
    if (!s)
        return;
    ferry_sftp_release(s);
    CHECK_INTEQ((int)ferry_sftp_pool_idle(), 1);
    shutdown(s->fd, SHUT_WR);   /* sshd sees EOF and closes its end */
    usleep(300 * 1000);
    CHECK_INTEQ(ferry_sftp_acquire(conn, &opts, &t, &reused, &err), FERRY_OK);
    CHECK_INTEQ(reused, 0);
    CHECK_INTEQ(ferry_sftp_realpath(t, ".", home, sizeof home, &err), FERRY_OK);
    ferry_sftp_release(t);

    /* FERRY_SFTP_REUSE=0: nothing is kept */
    ferry_sftp_pool_drain();
    setenv("FERRY_SFTP_REUSE", "0", 1);
    CHECK_INTEQ(ferry_sftp_acquire(conn, &opts, &s, &reused, &err), FERRY_OK);
    ferry_sftp_release(s);
    CHECK_INTEQ((int)ferry_sftp_pool_idle(), 0);
    unsetenv("FERRY_SFTP_REUSE");
}

/* ---------------------------------------------------------------- threads */

#define THREADS 6
#define ROUNDS 15

static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER;
static ferry_sftp_session *held[THREADS];
static int shared_twice, failures, made;

static void *worker(void *arg)
{
    int me = (int)(intptr_t)arg;
    ferry_sftp_connect_opts opts;
    ferry_sftp_opts_from(NULL, &opts);
    for (int i = 0; i < ROUNDS; i++) {
        ferry_error err;
        ferry_error_clear(&err);
        ferry_sftp_session *s = NULL;
        int reused = 0;
        if (ferry_sftp_acquire(conn, &opts, &s, &reused, &err) != FERRY_OK) {
            pthread_mutex_lock(&reg_mu);
            failures++;
            pthread_mutex_unlock(&reg_mu);
            continue;
        }
        pthread_mutex_lock(&reg_mu);
        for (int j = 0; j < THREADS; j++)
            if (held[j] == s)
                shared_twice++;
        held[me] = s;
        made += !reused;
        pthread_mutex_unlock(&reg_mu);
        LIBSSH2_SFTP_ATTRIBUTES attrs;
        if (ferry_sftp_stat(s, ".", 1, &attrs, &err) != FERRY_OK) {
            pthread_mutex_lock(&reg_mu);
            failures++;
            pthread_mutex_unlock(&reg_mu);
        }
        pthread_mutex_lock(&reg_mu);
        held[me] = NULL;
        pthread_mutex_unlock(&reg_mu);
        ferry_sftp_release(s);
    }
    return NULL;
}

static void test_threads(void)
{
    ferry_sftp_pool_drain();
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        CHECK_INTEQ(pthread_create(&t[i], NULL, worker, (void *)(intptr_t)i), 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    CHECK_INTEQ(shared_twice, 0);
    CHECK_INTEQ(failures, 0);
    CHECK(made >= 1 && made <= THREADS);    /* 90 uses, at most one session per thread */
    CHECK((int)ferry_sftp_pool_idle() == made);
    printf("  %d threads x %d uses: %d sessions made\n", THREADS, ROUNDS, made);
    ferry_sftp_pool_drain();
    CHECK_INTEQ((int)ferry_sftp_pool_idle(), 0);
}

int main(void)
{
    svc_env_load();
    const char *host = getenv("SFTP_HOST"), *port = getenv("SFTP_PORT"), *user = getenv("SFTP_USER");
    const char *key = getenv("SFTP_KEY"), *kh = getenv("SFTP_KNOWN_HOSTS");
    if (!host || !port || !user || !key || !kh)
        return svc_missing("no SFTP_* environment");
    signal(SIGPIPE, SIG_IGN);
    unsetenv("FERRY_SFTP_REUSE");
    conn = ferry_conn_new("pool", "sftp");
    conn->host = strdup(host);
    conn->port = atoi(port);
    conn->login = strdup(user);
    add_extra(conn, "key_file", key);
    add_extra(conn, "known_hosts", kh);

    RUN(test_identity);
    RUN(test_reuse);
    RUN(test_threads);
    ferry_conn_free(conn);
    return check_summary();
}
