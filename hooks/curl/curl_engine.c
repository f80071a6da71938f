/*
 * hooks/curl/curl_engine.c - the one libcurl engine of the S3 and HTTP hooks:
 * curl_global_init once per process, the progress callback that carries the
 * cancellation and stall checks, the multi driver (perform, collect, poll),
 * and the CURLcode -> ferry_status map (see curl_engine.h for the rules).
 *
 * Pool: the multi handles of finished clients are kept (with their
 * connections) and handed to the next client, so a copy of many files opens
 * a few connections, not one per file (ferry_curl_multi_take/give).
 *
 * Stalls: a transfer fails when no byte moved in either direction for its
 * stall_after seconds once it is past connecting (curl's connect timeout
 * bounds connecting).  curl's own low-speed check averages over several
 * seconds and so fires late; this one is exact.  Time the transfer spent
 * paused by the hook, or not driven (ferry_curl_touch), does not count.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ferry/log.h"
#include "ferry/stream.h"
#include "hooks/curl/curl_engine.h"
#include "core/util.h"

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static CURLcode init_rc = CURLE_OK;

static void init_global(void)
{
    init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

ferry_status ferry_curl_init(ferry_error *err)
{
    pthread_once(&init_once, init_global);
    if (init_rc != CURLE_OK)
        return ferry_error_set(err, FERRY_ERR_INTERNAL, "curl_global_init failed: %s",
                               curl_easy_strerror(init_rc));
    return FERRY_OK;
}

/* ---- the pool of multi handles ---------------------------------------------- */

static pthread_mutex_t pool_mu = PTHREAD_MUTEX_INITIALIZER;
static CURLM *pool[FERRY_CURL_POOL_MAX];
static int pool_n;
static long connections_opened; /* __atomic */

CURLM *ferry_curl_multi_take(void)
{
    CURLM *m = NULL;
    pthread_mutex_lock(&pool_mu);
    if (pool_n > 0)
        m = pool[--pool_n];
    pthread_mutex_unlock(&pool_mu);
    return m ? m : curl_multi_init();
}

void ferry_curl_multi_give(CURLM *m, int attached)
{
    if (!m)
        return;
    if (!attached) {
        pthread_mutex_lock(&pool_mu);
        if (pool_n < FERRY_CURL_POOL_MAX) {
            pool[pool_n++] = m;
            m = NULL;
        }
        pthread_mutex_unlock(&pool_mu);
    }
    if (m)
        curl_multi_cleanup(m);
}

/* At exit: close the kept connections (valgrind and leak checkers see no
 * handle left behind). */
__attribute__((destructor)) static void pool_drain(void)
{
    pthread_mutex_lock(&pool_mu);
    while (pool_n > 0)
        curl_multi_cleanup(pool[--pool_n]);
    pthread_mutex_unlock(&pool_mu);
}

long ferry_curl_connections_opened(void)
{
    return __atomic_load_n(&connections_opened, __ATOMIC_RELAXED);
}

/* ---- the CURLcode map ------------------------------------------------------ */

ferry_status ferry_curl_status(CURLcode rc, int *transient)
{
    *transient = 0;
    switch (rc) {
    case CURLE_OK:
        return FERRY_OK;

    /* could not connect: retried, exit 4 when it persists */
    case CURLE_COULDNT_CONNECT:
    case CURLE_SSL_CONNECT_ERROR:       /* TLS handshake cut short */
    case CURLE_QUIC_CONNECT_ERROR:
        *transient = 1;
        return FERRY_ERR_CONNECT;
    /* could not connect, and trying again will not help */
    case CURLE_COULDNT_RESOLVE_HOST:    /* an unknown host name fails at once */
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_PROXY:
    case CURLE_USE_SSL_FAILED:
    case CURLE_SSL_CIPHER:
        return FERRY_ERR_CONNECT;
    /* authentication, permission, certificates and TLS material: exit 4 at once */
    case CURLE_LOGIN_DENIED:
    case CURLE_REMOTE_ACCESS_DENIED:
    case CURLE_AUTH_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CACERT_BADFILE:      /* what verifies the server cannot be used: */
    case CURLE_SSL_CRL_BADFILE:         /* 4, as Postgres' missing sslrootcert */
    case CURLE_SSL_CLIENTCERT:          /* the server wants or refused our certificate */
        return FERRY_ERR_CONNECT;

    /* an established exchange broke: retried, exit 8 when it persists */
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:            /* the body ended before its announced length */
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_HTTP3:
    case CURLE_SEND_FAIL_REWIND:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_AGAIN:
        *transient = 1;
        return FERRY_ERR_TRANSIENT;

    /* no progress in time */
    case CURLE_OPERATION_TIMEDOUT:
        *transient = 1;
        return FERRY_ERR_TIMEOUT;

    /* what ferry was asked for is not a usable URL */
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
    case CURLE_SSL_CERTPROBLEM:         /* our own certificate or key cannot be used: 3,
                                           as SFTP's unreadable key_file */
    case CURLE_INTERFACE_FAILED:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
        return FERRY_ERR_CONFIG;

    /* the answer is not what was asked for */
    case CURLE_TOO_MANY_REDIRECTS:
    case CURLE_HTTP_RETURNED_ERROR:
    case CURLE_BAD_CONTENT_ENCODING:
    case CURLE_RANGE_ERROR:
    case CURLE_BAD_DOWNLOAD_RESUME:
    case CURLE_FILESIZE_EXCEEDED:
    case CURLE_UPLOAD_FAILED:
        return FERRY_ERR_DATA;

    /* the request body could not be read (the hook's reader failed) */
    case CURLE_READ_ERROR:
        return FERRY_ERR_IO;

    /* a callback stopped the transfer: cancellation */
    case CURLE_ABORTED_BY_CALLBACK:
        return FERRY_ERR_INTERRUPTED;

    /* ferry's own failures: out of memory, a callback's wrong count, misuse */
    case CURLE_OUT_OF_MEMORY:
    case CURLE_WRITE_ERROR:
    case CURLE_FAILED_INIT:
    case CURLE_NOT_BUILT_IN:
    case CURLE_FUNCTION_NOT_FOUND:
    case CURLE_BAD_FUNCTION_ARGUMENT:
    case CURLE_UNKNOWN_OPTION:
    case CURLE_RECURSIVE_API_CALL:
        return FERRY_ERR_INTERNAL;
    default:
        /* a code libcurl does not give HTTP(S) transfers: an unexpected library failure */
        return FERRY_ERR_INTERNAL;
    }
}

/* ---- one transfer ----------------------------------------------------------- */

int ferry_curl_cancel_requested(const ferry_curl_xfer *x)
{
    if (x && !x->cancellable)
        return 0;
    return ferry_cancelled();
}

void ferry_curl_touch(ferry_curl_xfer *x)
{
    x->progress_at = ferry_now_monotonic();
}

/* Called by curl about once a second or more often: cancellation, and "no
 * byte moved in either direction for stall_after seconds". */
static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
    (void)dltotal;
    (void)ultotal;
    ferry_curl_xfer *x = ud;
    if (ferry_curl_cancel_requested(x)) {
        x->cancelled = 1;
        return 1;
    }
    if (x->stall_after <= 0)
        return 0;
    double now = ferry_now_monotonic();
    if (!x->connected) {
        /* connecting is bounded by curl's connect timeout */
        curl_off_t pre = 0;
        if (curl_easy_getinfo(x->easy, CURLINFO_PRETRANSFER_TIME_T, &pre) != CURLE_OK || pre <= 0)
            return 0;
        x->connected = 1;
        x->progress_at = now;
        x->progress_bytes = dlnow + ulnow;
        return 0;
    }
    if (dlnow + ulnow != x->progress_bytes || x->paused) {
        x->progress_bytes = dlnow + ulnow;
        x->progress_at = now;
    } else if (now - x->progress_at > x->stall_after) {
        x->stalled = 1;
        return 1;
    }
    return 0;
}

CURLcode ferry_curl_xfer_setup(ferry_curl_xfer *x, CURL *easy, double stall_after, int cancellable)
{
    x->easy = easy;
    x->stall_after = stall_after;
    x->cancellable = cancellable;
    x->paused = 0;
    x->done = 0;
    x->result = CURLE_OK;
    x->stalled = 0;
    x->cancelled = 0;
    x->connected = 0;
    x->progress_bytes = 0;
    x->errbuf[0] = '\0';
    ferry_curl_touch(x);
    CURLcode rc = curl_easy_setopt(easy, CURLOPT_PRIVATE, (void *)x);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, x->errbuf);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(easy, CURLOPT_XFERINFOFUNCTION, on_progress);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(easy, CURLOPT_XFERINFODATA, (void *)x);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(easy, CURLOPT_NOPROGRESS, 0L);
    return rc;
}

/* ---- the driver ------------------------------------------------------------------ */

static ferry_status multi_failed(CURLMcode mc, const char *system, const char *conn_id, ferry_error *err)
{
    return ferry_error_hook(err, FERRY_ERR_INTERNAL, system, conn_id, "curl: %s", curl_multi_strerror(mc));
}

ferry_status ferry_curl_perform(CURLM *multi, const char *system, const char *conn_id, int *finished,
                                ferry_error *err)
{
    int running = 0, n = 0, left = 0;
    CURLMcode mc = curl_multi_perform(multi, &running);
    if (mc != CURLM_OK)
        return multi_failed(mc, system, conn_id, err);
    CURLMsg *m;
    while ((m = curl_multi_info_read(multi, &left)) != NULL) {
        if (m->msg != CURLMSG_DONE)
            continue;
        char *p = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &p);
        ferry_curl_xfer *x = (ferry_curl_xfer *)p;
        if (!x)
            continue;
        long opened = 0;
        if (curl_easy_getinfo(m->easy_handle, CURLINFO_NUM_CONNECTS, &opened) == CURLE_OK && opened > 0) {
            long total = __atomic_add_fetch(&connections_opened, opened, __ATOMIC_RELAXED);
            if (ferry_log_enabled(FERRY_LOG_DEBUG)) {
                char *ip = NULL;
                long port = 0;
                curl_easy_getinfo(m->easy_handle, CURLINFO_PRIMARY_IP, &ip);
                curl_easy_getinfo(m->easy_handle, CURLINFO_PRIMARY_PORT, &port);
                ferry_log(FERRY_LOG_DEBUG, "curl: new connection to %s port %ld (%ld opened so far)",
                          ip && *ip ? ip : "?", port, total);
            }
        }
        x->done = 1;
        x->result = m->data.result;
        if (x->on_done)
            x->on_done(x);
        n++;
    }
    if (finished)
        *finished = n;
    return FERRY_OK;
}

ferry_status ferry_curl_wait(CURLM *multi, int wait_ms, int cancellable, const char *system,
                             const char *conn_id, ferry_error *err)
{
    if (cancellable && ferry_curl_cancel_requested(NULL))
        return FERRY_ERR_INTERRUPTED;
    CURLMcode mc = curl_multi_poll(multi, NULL, 0, wait_ms, NULL);
    if (mc != CURLM_OK)
        return multi_failed(mc, system, conn_id, err);
    if (cancellable && ferry_curl_cancel_requested(NULL))
        return FERRY_ERR_INTERRUPTED;
    return FERRY_OK;
}

ferry_status ferry_curl_drive(CURLM *multi, int wait_ms, int cancellable, const char *system,
                              const char *conn_id, ferry_error *err)
{
    int finished = 0;
    ferry_status st = ferry_curl_perform(multi, system, conn_id, &finished, err);
    if (st != FERRY_OK)
        return st;
    if (cancellable && ferry_curl_cancel_requested(NULL))
        return FERRY_ERR_INTERRUPTED;
    if (finished || wait_ms <= 0)
        return FERRY_OK;
    st = ferry_curl_wait(multi, wait_ms, cancellable, system, conn_id, err);
    if (st != FERRY_OK)
        return st;
    return ferry_curl_perform(multi, system, conn_id, NULL, err);
}

/* ---- the outcome ---------------------------------------------------------------- */

ferry_status ferry_curl_outcome(const ferry_curl_xfer *x, int *transient, char *cause, size_t cap)
{
    *transient = 0;
    if (cap)
        cause[0] = '\0';
    if (x->cancelled || (x->result == CURLE_ABORTED_BY_CALLBACK && ferry_curl_cancel_requested(x)))
        return FERRY_ERR_INTERRUPTED;
    if (x->stalled) {
        *transient = 1;
        return FERRY_ERR_TIMEOUT;
    }
    const char *text = x->errbuf[0] ? x->errbuf : curl_easy_strerror(x->result);
    if (cap)
        snprintf(cause, cap, "%s", text);
    if (x->result == CURLE_OPERATION_TIMEDOUT) {
        *transient = 1;
        return FERRY_ERR_CONNECT;
    }
    return ferry_curl_status(x->result, transient);
}
