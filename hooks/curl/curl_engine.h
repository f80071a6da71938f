/*
 * hooks/curl/curl_engine.h - the one libcurl engine of the curl-based hooks
 * (S3, HTTP): process-wide initialisation, the transfer driver (a multi
 * handle made to progress and waited on, cancellably), stall detection, and
 * the one CURLcode -> ferry_status map.
 *
 * A hook owns its handles (a CURLM, one CURL per exchange) and its own
 * request building (SigV4 for S3, auth and paging for HTTP); every transfer
 * it runs embeds a ferry_curl_xfer, set up with ferry_curl_xfer_setup, and
 * is driven with ferry_curl_perform / ferry_curl_wait / ferry_curl_drive.
 * A finished transfer is judged with ferry_curl_outcome, so the same failure
 * gets the same status (= exit code) from every hook.
 *
 * Not a public header: only hooks/ and the unit tests include it.  Every
 * symbol is prefixed ferry_curl_.
 */
#ifndef FERRY_HOOKS_CURL_ENGINE_H
#define FERRY_HOOKS_CURL_ENGINE_H

#include <stddef.h>
#include <curl/curl.h>

#include "ferry/error.h"

/* curl_global_init, once per process (pthread_once); safe from any thread.
 * FERRY_ERR_INTERNAL when libcurl could not initialise. */
ferry_status ferry_curl_init(ferry_error *err);

/* ---- the pool of multi handles ---------------------------------------------- */

/* A multi handle for one client (S3), with the live connections, DNS and TLS
 * sessions the last user left in it: taken from the process-wide pool of
 * idle handles, or new when the pool is empty.  NULL when curl could not
 * make one.  The caller owns it until ferry_curl_multi_give.  Connections
 * are matched by curl itself (host, port, TLS settings), never by
 * credentials: S3 signs each request, so a kept connection carries nothing
 * of the previous user. */
CURLM *ferry_curl_multi_take(void);
/* Back to the pool (idle: every easy handle removed; attached != 0 says one
 * may still be, and then the handle is cleaned up instead).  At most
 * FERRY_CURL_POOL_MAX idle handles are kept; curl closes connections idle
 * longer than its max age (118 s) or found dead when reused. */
void ferry_curl_multi_give(CURLM *m, int attached);
#define FERRY_CURL_POOL_MAX 64
/* How many connections the engine's transfers opened (CURLINFO_NUM_CONNECTS
 * summed over every finished transfer), for tests and the debug log. */
long ferry_curl_connections_opened(void);

/* ---- the CURLcode map ------------------------------------------------------ */

/* The ferry status of a failed curl transfer, by its CURLcode alone, and
 * whether a retry may help (*transient).  The rule (docs/reliability.md):
 * could not connect (refused, unreachable, DNS, proxy, TLS handshake cut) -> 4,
 * transient; authentication, certificate verification (the CA bundle
 * included) -> 4; our own client certificate or key unusable -> 3;
 * an established exchange broke (reset, short body, garbled answer) -> 8,
 * transient; curl's timeout -> 10, transient; malformed URL / protocol -> 3;
 * too many redirects, bad content -> 7; the reader failed -> 9; a callback
 * abort -> 130; anything libcurl did not document for HTTP(S) -> 1. */
ferry_status ferry_curl_status(CURLcode rc, int *transient);

/* ---- one transfer ----------------------------------------------------------- */

/* The engine's part of one transfer: embedded in the hook's own transfer
 * object (never copied once set up: curl holds a pointer to it). */
typedef struct ferry_curl_xfer {
    CURL *easy;                 /* borrowed: the hook's handle */
    int cancellable;            /* 0: a cleanup request, which cancellation does not stop */
    double stall_after;         /* seconds without a byte moved before it fails; <= 0: never */
    int paused;                 /* set by the hook's callback when it returns *_PAUSE:
                                   time spent paused by us is not a stall */
    /* optional: called by the driver when curl reports the transfer finished */
    void (*on_done)(struct ferry_curl_xfer *x);
    void *ud;                   /* the hook's, for on_done */
    /* outcome (set by the driver) */
    int done;
    CURLcode result;
    int stalled;                /* aborted: no byte moved for stall_after seconds */
    int cancelled;              /* aborted: cancellation was requested */
    /* stall bookkeeping (the progress callback) */
    int connected;              /* the request is past connecting (curl's pretransfer) */
    double progress_at;         /* monotonic seconds of the last progress, or of ferry_curl_touch */
    curl_off_t progress_bytes;  /* bytes moved both ways at that time */
    char errbuf[CURL_ERROR_SIZE];
} ferry_curl_xfer;

/* Bind x to easy for one request (after curl_easy_reset when the handle is
 * reused): clears the outcome and sets CURLOPT_PRIVATE, the progress
 * callback (cancellation and stall checks), CURLOPT_ERRORBUFFER (x->errbuf),
 * CURLOPT_NOSIGNAL and TCP keep-alive.  The hook must not set those options
 * itself.  Returns the first option curl refused. */
CURLcode ferry_curl_xfer_setup(ferry_curl_xfer *x, CURL *easy, double stall_after, int cancellable);

/* The transfer is being driven again: time spent away (the consumer was
 * busy, the transfer paused) does not count as a stall. */
void ferry_curl_touch(ferry_curl_xfer *x);

/* The one cancellation check of the engine: nonzero when the transfer (x,
 * or the multi as a whole when x is NULL) must stop.  Cleanup transfers
 * (cancellable 0) are never cancelled. */
int ferry_curl_cancel_requested(const ferry_curl_xfer *x);

/* ---- the driver ------------------------------------------------------------------ */

/* Let curl work on whatever is ready; finished transfers get done, result
 * (and on_done called).  *finished (may be NULL) counts them.  Fails only on
 * a curl multi failure (FERRY_ERR_INTERNAL, "<system>(<conn_id>): curl: ..."). */
ferry_status ferry_curl_perform(CURLM *multi, const char *system, const char *conn_id, int *finished,
                                ferry_error *err);

/* Wait up to wait_ms for socket activity.  When cancellable, the
 * cancellation check runs before and after the wait: FERRY_ERR_INTERRUPTED
 * is returned WITHOUT touching err (the hook words the message). */
ferry_status ferry_curl_wait(CURLM *multi, int wait_ms, int cancellable, const char *system,
                             const char *conn_id, ferry_error *err);

/* perform; when nothing finished and wait_ms > 0, wait and perform again.
 * Cancellation as in ferry_curl_wait. */
ferry_status ferry_curl_drive(CURLM *multi, int wait_ms, int cancellable, const char *system,
                              const char *conn_id, ferry_error *err);

/* ---- the outcome ---------------------------------------------------------------- */

/* Status and transience of a finished transfer whose curl result is not
 * CURLE_OK, and its cause for the message (curl's error buffer, else its
 * text for the code; "" for a stall, which the hook words with its timeout):
 *  - cancelled -> FERRY_ERR_INTERRUPTED;
 *  - stalled -> FERRY_ERR_TIMEOUT, transient;
 *  - curl's connect timeout (the only curl timer the engine's transfers
 *    run) -> FERRY_ERR_CONNECT, transient: a server that could not be
 *    reached, like a refused connection;
 *  - else ferry_curl_status(result). */
ferry_status ferry_curl_outcome(const ferry_curl_xfer *x, int *transient, char *cause, size_t cap);

#endif
