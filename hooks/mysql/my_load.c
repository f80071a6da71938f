/*
 * hooks/mysql/my_load.c - runs the sink's LOAD DATA LOCAL INFILE statement
 * on a worker thread (the blocking API: libmariadb calls the infile read
 * callback from inside mysql_real_query) while write() feeds the ring the
 * callback reads from.  No temp file: the "file" is ferry's stream, served
 * under the name FERRY_MY_STREAM_NAME only.
 *
 * Stopping: the ring is aborted (the callback then fails, libmariadb ends the
 * file and the server answers); a server that does not answer within a grace
 * period gets KILL QUERY, and as a last resort the socket is shut down.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <errmsg.h>

#include "core/thread.h"
#include "ferry/log.h"
#include "my_internal.h"

/* How long a stopped load may take to let go before KILL QUERY, and then
 * before the socket is shut. */
#define MY_STOP_GRACE 2.0
#define MY_KILL_GRACE 10.0

/* ---- the infile handler -------------------------------------------------- */

static int infile_init(void **ptr, const char *filename, void *ud)
{
    ferry_my_load *l = ud;
    *ptr = l;
    if (!filename || strcmp(filename, FERRY_MY_STREAM_NAME) != 0) {
        l->refused_name = 1; /* a server must not pick local files */
        return 1;
    }
    return 0;
}

static int infile_read(void *ptr, char *buf, unsigned int len)
{
    ferry_my_load *l = ptr;
    return (int)ferry_my_ring_pop(&l->ring, buf, len);
}

static void infile_end(void *ptr)
{
    (void)ptr;
}

static int infile_error(void *ptr, char *msg, unsigned int len)
{
    ferry_my_load *l = ptr;
    if (l && l->refused_name)
        snprintf(msg, len, "the server asked for a file other than ferry's stream: refused");
    else
        snprintf(msg, len, "load aborted by ferry");
    return CR_UNKNOWN_ERROR;
}

/* ---- the worker ------------------------------------------------------------ */

static void *load_main(void *arg)
{
    ferry_my_load *l = arg;
    mysql_thread_init();
    MYSQL *my = l->session->my;
    int rc = mysql_real_query(my, l->sql, strlen(l->sql));
    pthread_mutex_lock(&l->mu);
    l->failed = rc != 0;
    if (rc != 0) {
        l->err_no = mysql_errno(my);
        snprintf(l->err_msg, sizeof l->err_msg, "%s", mysql_error(my));
    } else {
        l->affected = (unsigned long long)mysql_affected_rows(my);
        l->warnings = mysql_warning_count(my);
        const char *info = mysql_info(my);
        snprintf(l->info, sizeof l->info, "%s", info ? info : "");
    }
    l->done = 1;
    pthread_cond_broadcast(&l->done_cond);
    pthread_mutex_unlock(&l->mu);
    ferry_my_ring_close(&l->ring);
    mysql_thread_end();
    return NULL;
}

ferry_status ferry_my_load_start(ferry_my_load *l, ferry_my_session *s, char *sql_owned,
                                 ferry_error *err)
{
    memset(l, 0, sizeof *l);
    l->session = s;
    l->sql = sql_owned;
    if (!sql_owned || ferry_my_ring_init(&l->ring, FERRY_MY_RING_SIZE) != 0) {
        free(sql_owned);
        l->sql = NULL;
        return ferry_error_oom(err, FERRY_MY_SYSTEM, s->settings->conn_id, NULL);
    }
    pthread_mutex_init(&l->mu, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&l->done_cond, &attr);
    pthread_condattr_destroy(&attr);
    mysql_set_local_infile_handler(s->my, infile_init, infile_read, infile_end, infile_error, l);
    s->busy = 1;
    ferry_log(FERRY_LOG_DEBUG, "mysql(%s): %s", s->settings->conn_id, l->sql);
    /* signals belong to the transfer's thread: the worker blocks them all */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = ferry_thread_create(&l->thread, NULL, load_main, l);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        s->busy = 0;
        return ferry_error_hook(err, FERRY_ERR_INTERNAL, FERRY_MY_SYSTEM, s->settings->conn_id,
                                "cannot start the load thread: %s", strerror(rc));
    }
    l->started = 1;
    return FERRY_OK;
}

static void join(ferry_my_load *l)
{
    if (l->started && !l->joined) {
        pthread_join(l->thread, NULL);
        l->joined = 1;
        l->session->busy = 0;
        if (l->session->my)
            ferry_my_refuse_local_infile(l->session->my); /* the stream is over */
    }
}

/* Wait up to seconds (< 0: for ever) for the worker; returns l->done. */
static int wait_done(ferry_my_load *l, double seconds, int cancellable)
{
    double until = ferry_now_monotonic() + seconds;
    pthread_mutex_lock(&l->mu);
    while (!l->done) {
        if (cancellable && ferry_cancelled())
            break;
        if (seconds >= 0 && ferry_now_monotonic() >= until)
            break;
        struct timespec ts;
        ferry_monotonic_deadline(&ts, FERRY_MY_POLL_MS / 1000.0);
        pthread_cond_timedwait(&l->done_cond, &l->mu, &ts);
    }
    int done = l->done;
    pthread_mutex_unlock(&l->mu);
    return done;
}

ferry_status ferry_my_load_wait(ferry_my_load *l, ferry_error *err)
{
    if (!l->started)
        return ferry_error_hook(err, FERRY_ERR_INTERNAL, FERRY_MY_SYSTEM,
                                l->session->settings->conn_id, "no load is running");
    if (!wait_done(l, -1, 1))
        return ferry_error_hook(err, FERRY_ERR_INTERRUPTED, FERRY_MY_SYSTEM,
                                l->session->settings->conn_id, "LOAD DATA: interrupted by signal %d",
                                ferry_cancel_signal());
    join(l);
    return FERRY_OK;
}

void ferry_my_load_stop(ferry_my_load *l)
{
    if (!l->started || l->joined)
        return;
    ferry_my_ring_abort(&l->ring);
    if (!wait_done(l, MY_STOP_GRACE, 0)) {
        ferry_my_kill_query(l->session->settings, l->session->thread_id);
        if (!wait_done(l, MY_KILL_GRACE, 0)) {
            ferry_log(FERRY_LOG_DEBUG, "mysql(%s): LOAD DATA does not stop: closing its socket",
                      l->session->settings->conn_id);
            l->hard_stopped = 1;
            mariadb_cancel(l->session->my);
        }
    }
    join(l);
}

void ferry_my_load_release(ferry_my_load *l)
{
    if (!l || !l->sql)
        return;
    ferry_my_load_stop(l);
    ferry_my_ring_release(&l->ring);
    if (l->started) {
        pthread_mutex_destroy(&l->mu);
        pthread_cond_destroy(&l->done_cond);
    }
    free(l->sql);
    l->sql = NULL;
}

unsigned long long ferry_my_load_skipped(const ferry_my_load *l)
{
    const char *p = strstr(l->info, "Skipped:");
    return p ? strtoull(p + strlen("Skipped:"), NULL, 10) : 0;
}
