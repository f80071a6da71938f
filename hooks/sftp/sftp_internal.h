/*
 * hooks/sftp/sftp_internal.h - what the files of the SFTP hook share: one
 * connected session (TCP + SSH + SFTP subsystem, non-blocking, every wait
 * cancellable and bounded by a timeout), host key verification,
 * authentication, mapping libssh2/SFTP failures to ferry statuses, and the
 * path helpers.
 *
 * Not a public header: only the files in hooks/sftp/ and the unit tests
 * tests/unit/test_sftp_<name>.c include it.  Every symbol is prefixed ferry_sftp_ so nothing collides with
 * libssh2's own libssh2_sftp_* exports inside libferry.
 */
#ifndef FERRY_HOOKS_SFTP_SFTP_INTERNAL_H
#define FERRY_HOOKS_SFTP_SFTP_INTERNAL_H

#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <libssh2.h>
#include <libssh2_sftp.h>

#include "core/encode.h"
#include "core/util.h"
#include "ferry/hook.h"

#define FERRY_SFTP_SYSTEM "sftp"
/* How often a wait wakes up to look at ferry_cancelled() and the clock. */
#define FERRY_SFTP_POLL_MS 200
/* libssh2 pipelines SFTP reads and writes only inside one call: hand it at
 * least this much per libssh2_sftp_read / libssh2_sftp_write loop. */
#define FERRY_SFTP_IO_MIN ((size_t)1024 * 1024)
/* The sink's sliding buffer: unacknowledged data plus room for the next chunk. */
#define FERRY_SFTP_SINK_BUF ((size_t)4 * 1024 * 1024)
/* Seconds to establish a connection when neither conn_timeout nor a smaller
 * operation timeout says otherwise. */
#define FERRY_SFTP_CONNECT_TIMEOUT 30.0
/* Seconds without progress before an operation fails (when no options say). */
#define FERRY_SFTP_OP_TIMEOUT 300.0
/* Seconds an abort may spend removing its temp file and disconnecting. */
#define FERRY_SFTP_CLEANUP_TIMEOUT 10.0
/* SSH keepalive interval (seconds), sent while a sink waits for data. */
#define FERRY_SFTP_KEEPALIVE 30

extern const ferry_hook ferry_hook_sftp;

/* One connection: a TCP socket, an authenticated SSH session and its SFTP
 * channel.  Owned by whoever opened it (a source, a sink, one operation) and
 * released with ferry_sftp_disconnect. */
typedef struct ferry_sftp_session {
    int fd;                     /* owned socket, -1 once closed */
    LIBSSH2_SESSION *ssh;       /* owned */
    LIBSSH2_SFTP *sftp;         /* owned */
    char *conn_id;              /* owned, for messages ("inline" for a URI) */
    char *host;                 /* owned */
    int port;
    char *user;                 /* owned: the login actually used */
    const char *kbd_password;   /* borrowed from the connection during
                                   authentication only (keyboard-interactive) */
    double timeout;             /* seconds without progress before a call fails */
    int cleanup;                /* nonzero while aborting: waits ignore
                                   cancellation and use the cleanup timeout */
    int shielded;               /* nonzero in a critical section (between the
                                   renames of a replace): waits ignore
                                   cancellation, the timeout stays */
    const atomic_int *abandon;  /* borrowed; when it becomes nonzero, waits fail
                                   as interrupted (a read-ahead stopping) */
    int broken;                 /* a call was abandoned half-way (interrupted,
                                   timed out) or the connection failed: never
                                   send on this session again (libssh2 1.10
                                   may swallow the next packet) */
    unsigned long last_fx;      /* SFTP status of the last failed call, 0 if none */
    char banner[128];           /* server software, e.g. "OpenSSH_9.2p1" */
    char hostkey[200];          /* "ssh-ed25519 SHA256:…", once the handshake is done */
    int hostkey_type;           /* LIBSSH2_HOSTKEY_TYPE_* of that key */
    int pin_mismatch;           /* the key did not match the host_key pin */
    char hostkey_check[1200];   /* how the key was accepted, for `conn test` */
    char auth_method[160];      /* which method authenticated, for `conn test` */
    /* the session cache (sftp_pool.c): */
    unsigned char ident[32];    /* SHA-256 of the connection's identity */
    int keyed;                  /* ident is set: release may keep the session */
    atomic_int in_use;          /* 1 between acquire and release */
    struct ferry_sftp_session *pool_next; /* the idle list, under the pool's lock */
} ferry_sftp_session;

/* Options of a connection attempt, taken from a copy's options (or defaults). */
typedef struct ferry_sftp_connect_opts {
    double timeout;             /* operation timeout (o->timeout), <= 0: default */
    int max_attempts;           /* connection attempts for transient failures */
    int cleanup;                /* connecting to clean up after an abort: ignore
                                   cancellation, use the cleanup timeout */
} ferry_sftp_connect_opts;

/* Fill opts from o (may be NULL: defaults). */
void ferry_sftp_opts_from(const ferry_copy_options *o, ferry_sftp_connect_opts *opts);

/* ---- sftp_session.c ---------------------------------------------------- */

/* Connect to conn's host:port, verify the host key, authenticate, start SFTP.
 * Transient failures (refused, unreachable, timed out, dropped during the
 * handshake) are retried up to opts->max_attempts times.  On success *out is
 * owned by the caller (ferry_sftp_disconnect).  Failures: FERRY_ERR_CONNECT
 * (also host key and authentication), FERRY_ERR_CONFIG (bad extras),
 * FERRY_ERR_INTERRUPTED. */
ferry_status ferry_sftp_connect(const ferry_conn *conn, const ferry_sftp_connect_opts *opts,
                                ferry_sftp_session **out, ferry_error *err);

/* A deep copy of conn (caller frees with ferry_conn_free), so a sink can
 * reconnect to clean up after its endpoint is gone; NULL when out of memory. */
ferry_conn *ferry_sftp_conn_clone(const ferry_conn *conn);

/* Shut SFTP and SSH down cleanly (bounded by the cleanup timeout, ignoring
 * cancellation), close the socket and free s.  NULL is fine. */
void ferry_sftp_disconnect(ferry_sftp_session *s);

/* Wait until the socket is ready in the direction libssh2 is blocked on.
 * Wakes every FERRY_SFTP_POLL_MS: FERRY_ERR_INTERRUPTED when cancelled (not
 * while s->cleanup), FERRY_ERR_TIMEOUT (transient) when more than the timeout
 * passed since `since` (ferry_now_monotonic() at the last progress).  A failed
 * wait marks the session broken (the caller abandons its call). */
ferry_status ferry_sftp_wait(ferry_sftp_session *s, double since, const char *what, ferry_error *err);

/* Fill err for a failed libssh2 call rc (< 0): "<what> failed: <reason>",
 * the reason being the SFTP status in words ("no such file") or libssh2's
 * session error; status from ferry_sftp_fx_status or the session error.
 * Returns the status. */
ferry_status ferry_sftp_error(ferry_sftp_session *s, int rc, ferry_error *err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Insert "<context>: " after the "sftp(<conn id>): " that starts err's
 * message (status and transient flag kept).  Returns the status. */
ferry_status ferry_sftp_error_context(const char *conn_id, ferry_error *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The SFTP status code (LIBSSH2_FX_*) behind a failed call's rc, or 0 when
 * the failure was not an SFTP status. */
unsigned long ferry_sftp_last_fx(ferry_sftp_session *s, int rc);

/* ---- sftp_pool.c: sessions kept open between files -------------------
 * See the top of sftp_pool.c.  FERRY_SFTP_POOL_MAX idle sessions at most
 * (all connections together); a session released beyond that is closed. */
#define FERRY_SFTP_POOL_MAX 16

/* A session for conn: an idle one of the same identity from the cache
 * (*reused = 1) or a new connection (ferry_sftp_connect; opts->cleanup
 * always connects anew).  *out is the caller's until ferry_sftp_release. */
ferry_status ferry_sftp_acquire(const ferry_conn *conn, const ferry_sftp_connect_opts *opts,
                                ferry_sftp_session **out, int *reused, ferry_error *err);

/* Give s back (it must hold no open handle): kept idle for the next acquire
 * of its connection when it came from ferry_sftp_acquire and is healthy,
 * else disconnected.  NULL is fine. */
void ferry_sftp_release(ferry_sftp_session *s);

/* After a failure st on *s: nonzero when *s came from the cache (reused)
 * and the failure says its connection is gone (broken, transient, not
 * interrupted).  *s is then disconnected and set to NULL, and the caller
 * acquires again and repeats the operation once. */
int ferry_sftp_stale(ferry_sftp_session **s, int reused, ferry_status st, const ferry_error *err);

/* The identity digest of conn (what the cache is keyed by); 0 or -1. */
int ferry_sftp_identity(const ferry_conn *conn, unsigned char out[32]);

/* Idle sessions in the cache; close them all (also run at exit). */
size_t ferry_sftp_pool_idle(void);
void ferry_sftp_pool_drain(void);

/* ---- sftp_flush.c: fsync of a large upload's temp file along the way -- */

/* The sink starts the flusher once FERRY_SFTP_FLUSH_START bytes were
 * acknowledged; it then fsyncs every FERRY_SFTP_FLUSH_EVERY more. */
#define FERRY_SFTP_FLUSH_START ((uint64_t)64 * 1024 * 1024)
#define FERRY_SFTP_FLUSH_EVERY ((uint64_t)64 * 1024 * 1024)

typedef struct ferry_sftp_flusher ferry_sftp_flusher;

/* A thread that, over a cached session of its own, fsyncs path at once and
 * then each time the acknowledged bytes grew by FERRY_SFTP_FLUSH_EVERY.
 * conn is borrowed until ferry_sftp_flusher_stop.  NULL when it cannot
 * start (the upload goes on without it). */
ferry_sftp_flusher *ferry_sftp_flusher_start(const ferry_conn *conn, const ferry_sftp_connect_opts *opts,
                                             const char *path, uint64_t acked);
/* The sink's acknowledged bytes so far; NULL f is fine. */
void ferry_sftp_flusher_progress(ferry_sftp_flusher *f, uint64_t acked);
/* Stop and free f (NULL is fine), letting a flush in flight finish unless
 * abandon; returns how many flushes it made. */
int ferry_sftp_flusher_stop(ferry_sftp_flusher *f, int abandon);

/* ---- sftp_stripe.c: one large upload written by several sessions ------
 * See the top of sftp_stripe.c.  The sink starts helpers once
 * FERRY_SFTP_STRIPE_START bytes were written (the source's size, when known,
 * at least FERRY_SFTP_STRIPE_MIN); write_sessions (extra, 1 = the sink's own
 * session only) counts the sink's session too. */
#define FERRY_SFTP_STRIPE_START ((uint64_t)8 * 1024 * 1024)
#define FERRY_SFTP_STRIPE_MIN ((int64_t)16 * 1024 * 1024)
#define FERRY_SFTP_WRITE_SESSIONS_DEFAULT 1  /* striping is opt-in: bench/sftp_put.sh gave mixed results on 2 loaded cores (docs/performance-sftp.md) */
#define FERRY_SFTP_STRIPE_HELPERS_MAX 4     /* helper sessions, all uploads of the process together */

typedef struct ferry_sftp_stripes ferry_sftp_stripes;

/* Up to `helpers` threads, each connecting (from the cache) and opening path
 * for writing; conn is borrowed until ferry_sftp_stripes_stop.  NULL when
 * none can start (the process-wide limit, no memory): the sink writes alone. */
ferry_sftp_stripes *ferry_sftp_stripes_start(const ferry_conn *conn, const ferry_sftp_connect_opts *opts,
                                             const char *path, int helpers);
/* Offer the full buffer *buf (FERRY_SFTP_SINK_BUF bytes allocated; len of
 * them to write at off) to an idle helper: 1 taken, and *buf is now that
 * helper's empty buffer; 0 no helper idle (the caller writes it); -1 a
 * helper failed and the upload with it (err filled). */
int ferry_sftp_stripes_offer(ferry_sftp_stripes *st, unsigned char **buf, uint64_t off, size_t len,
                             ferry_error *err);
/* Wait until every segment handed out is acknowledged, then end the helpers
 * (handles closed, sessions back to the cache); FERRY_OK or the first
 * failure.  Call ferry_sftp_stripes_stop(st, 0) afterwards. */
ferry_status ferry_sftp_stripes_finish(ferry_sftp_stripes *st, ferry_error *err);
/* End the helpers (abandon: interrupt their calls, their sessions are
 * closed) and free st; NULL is fine. */
void ferry_sftp_stripes_stop(ferry_sftp_stripes *st, int abandon);
/* The write_sessions extra: 1 to FERRY_SFTP_PAR_MAX_SESSIONS, default
 * FERRY_SFTP_WRITE_SESSIONS_DEFAULT; FERRY_ERR_CONFIG otherwise. */
ferry_status ferry_sftp_write_sessions(const ferry_conn *conn, const char *conn_id, int *out, ferry_error *err);

/* ---- sftp_calls.c: blocking-style wrappers over the non-blocking API ---
 * Each waits (cancellably, bounded by s->timeout) while libssh2 says EAGAIN
 * and on failure fills err as ferry_sftp_error does, e.g.
 *     sftp(partner): stat '/outbound/a.csv' failed: no such file
 * s->last_fx then holds the SFTP status code (0 when it was not one). */

/* stat (follow != 0: follows symlinks) or lstat. */
ferry_status ferry_sftp_stat(ferry_sftp_session *s, const char *path, int follow, LIBSSH2_SFTP_ATTRIBUTES *attrs,
                             ferry_error *err);
/* SFTP v3 rename (OpenSSH: fails when `to` exists). */
ferry_status ferry_sftp_rename(ferry_sftp_session *s, const char *from, const char *to, ferry_error *err);
ferry_status ferry_sftp_unlink(ferry_sftp_session *s, const char *path, ferry_error *err);
ferry_status ferry_sftp_rmdir(ferry_sftp_session *s, const char *path, ferry_error *err);
ferry_status ferry_sftp_mkdir(ferry_sftp_session *s, const char *path, long mode, ferry_error *err);
/* The canonical absolute form of path (SSH_FXP_REALPATH) into out. */
ferry_status ferry_sftp_realpath(ferry_sftp_session *s, const char *path, char *out, size_t cap, ferry_error *err);
/* Open a file (type LIBSSH2_SFTP_OPENFILE, flags LIBSSH2_FXF_*, mode for a
 * new file) or a directory (LIBSSH2_SFTP_OPENDIR).  *h is owned by the
 * caller: ferry_sftp_close_handle. */
ferry_status ferry_sftp_open(ferry_sftp_session *s, const char *path, unsigned long flags, long mode, int type,
                             LIBSSH2_SFTP_HANDLE **h, ferry_error *err);
/* Free h of a broken session without waiting: the socket is shut down first
 * (nothing more goes out on it, s is marked broken), then libssh2 releases
 * the handle. */
void ferry_sftp_drop_handle(ferry_sftp_session *s, LIBSSH2_SFTP_HANDLE *h);

/* Close h (NULL is fine); reports a failed close (the server's last chance
 * to say a write failed). */
ferry_status ferry_sftp_close_handle(ferry_sftp_session *s, LIBSSH2_SFTP_HANDLE *h, const char *path,
                                     ferry_error *err);

/* ---- sftp_source.c, sftp_sink.c, sftp_ops.c: the slots of the table ---- */

ferry_status ferry_sftp_open_source(const ferry_endpoint *ep, const ferry_copy_options *o, ferry_source **out,
                                    ferry_error *err);
ferry_status ferry_sftp_open_sink(const ferry_endpoint *ep, const ferry_copy_options *o, ferry_writer **out,
                                  ferry_error *err);
ferry_status ferry_sftp_op_stat(const ferry_endpoint *ep, ferry_entry *out, ferry_error *err);
ferry_status ferry_sftp_op_list(const ferry_endpoint *ep, int recursive, ferry_entry_fn fn, void *ud,
                                ferry_error *err);
ferry_status ferry_sftp_op_remove(const ferry_endpoint *ep, ferry_error *err);
ferry_status ferry_sftp_op_mkdir(const ferry_endpoint *ep, int parents, ferry_error *err);
ferry_status ferry_sftp_op_set_mtime(const ferry_endpoint *ep, int64_t mtime, ferry_error *err);
ferry_status ferry_sftp_op_test(const ferry_conn *conn, char *info, size_t cap, ferry_error *err);

/* ---- sftp_readahead.c: a large file read ahead in threads (1+ sessions) */

/* Block size, the smallest file read ahead in a thread, the smallest file
 * read over several sessions, and the sessions used for such a file when the
 * read_sessions extra does not say (see docs/performance-sftp.md). */
#define FERRY_SFTP_PAR_BLOCK ((size_t)4 * 1024 * 1024)
/* The block of several sessions (the read_block_kib extra changes it): 1.5 MiB
 * keeps SFTP -> S3 at default settings under 64 MiB of peak RSS (61.6 MiB
 * against 88 with 4 MiB blocks), and 4 sessions at 20 ms RTT still read 1 GiB
 * in 6.9 s against OpenSSH sftp's 12.6 s (4.6 s with 4 MiB blocks). */
#define FERRY_SFTP_PAR_BLOCK_MULTI ((size_t)1536 * 1024)
#define FERRY_SFTP_READ_BLOCK_KIB_MIN 256
#define FERRY_SFTP_READ_BLOCK_KIB_MAX 65536
#define FERRY_SFTP_AHEAD_MIN ((int64_t)16 * 1024 * 1024)
#define FERRY_SFTP_PAR_MIN ((int64_t)64 * 1024 * 1024)
#define FERRY_SFTP_PAR_MAX_SESSIONS 16
#define FERRY_SFTP_READ_SESSIONS_DEFAULT 4

/* A source reading path (size bytes) ahead in `sessions` threads, one
 * session each (1: one session reading ahead): s and h (an
 * open handle on path) become the first one, taken over even on failure;
 * conn is copied for the others, which connect in their own threads (a
 * session that cannot connect is left out, with a warning).  block: the
 * bytes of one block, 0 for the default (FERRY_SFTP_PAR_BLOCK for one
 * session, FERRY_SFTP_PAR_BLOCK_MULTI for several). */
ferry_status ferry_sftp_readahead_source(ferry_sftp_session *s, LIBSSH2_SFTP_HANDLE *h, const char *path,
                                         int64_t size, const ferry_conn *conn, const ferry_sftp_connect_opts *opts,
                                         int sessions, size_t block, ferry_source **out, ferry_error *err);

/* ---- sftp_hostkey.c ---------------------------------------------------- */

/* Verify the server's host key after the handshake, by policy:
 * no_host_key_check=true (logs a WARN every time), host_key pin, else the
 * known_hosts extra or ~/.ssh/known_hosts.  Fills s->hostkey and
 * s->hostkey_check.  Unknown or changed key: FERRY_ERR_CONNECT naming the
 * key type, SHA256 fingerprint and known_hosts path. */
ferry_status ferry_sftp_verify_hostkey(ferry_sftp_session *s, const ferry_conn *conn, ferry_error *err);

/* Before the handshake: prefer the host key algorithms the pin or the
 * known_hosts entries for this host have (as OpenSSH does), so a server with
 * several keys presents the one we know.  only != NULL: offer exactly those
 * algorithms (asking for one particular key). */
void ferry_sftp_prefer_hostkeys(ferry_sftp_session *s, const ferry_conn *conn, const char *only);

/* The key kinds a server may be asked for one by one: the i-th kind's host
 * key algorithms and its LIBSSH2_HOSTKEY_TYPE_*; NULL past the end. */
const char *ferry_sftp_hostkey_kind(size_t i, int *hostkey_type);

/* Nonzero when a host_key pin does not say its key type ("SHA256:…"), so a
 * mismatch may only mean the server presented another of its keys. */
int ferry_sftp_pin_is_typeless(const char *pin);

/* "SHA256:<base64 of sha256(blob), no padding>" as ssh-keygen -l prints it. */
int ferry_sftp_fingerprint(const unsigned char *blob, size_t len, char *out, size_t cap);

/* The key type named inside an SSH public key blob ("ssh-ed25519"), or 0 if
 * the blob is malformed. */
int ferry_sftp_key_type(const unsigned char *blob, size_t len, char *out, size_t cap);

/* Does a host_key pin match the key blob?  A pin is "SHA256:<b64>" (padding
 * optional), "<type> <base64>[ comment]" or a bare "<base64>".  Returns 1 on a
 * match, 0 on a mismatch, -1 when the pin is malformed (why in msg). */
int ferry_sftp_pin_matches(const char *pin, const unsigned char *blob, size_t len, char *msg, size_t cap);

/* ---- sftp_auth.c ------------------------------------------------------- */

/* Authenticate s->user, trying in order: key_file (+ private_key_passphrase),
 * inline private_key, password (also as keyboard-interactive), ssh-agent,
 * and ~/.ssh/id_ed25519 / id_rsa / id_ecdsa when nothing else is configured.
 * Fills s->auth_method.  Failures: FERRY_ERR_CONNECT listing what was tried
 * (never a secret); FERRY_ERR_CONFIG for an unreadable key_file. */
ferry_status ferry_sftp_authenticate(ferry_sftp_session *s, const ferry_conn *conn, ferry_error *err);

/* ---- sftp_path.c: names and the SFTP status map ------------------------ */

/* The status for an SFTP status code (LIBSSH2_FX_*) and its words
 * ("no such file"); *transient says whether retrying may help. */
ferry_status ferry_sftp_fx_status(unsigned long fx, const char **words, int *transient);

/* The remote path an endpoint names: "" -> ".", a leading "~/" dropped
 * (SFTP paths are relative to the login directory).  Returns a new string
 * (caller frees) or NULL when out of memory. */
char *ferry_sftp_path(const char *ep_path);

/* Split path into its directory ("." when none, "/" for "/x") and last
 * component; both new strings (caller frees).  Returns 0, or -1 when path
 * has no last component ("", ends with '/') or out of memory. */
int ferry_sftp_split(const char *path, char **dir, char **name);

/* Nonzero when a component of path is ".." (globs never walk up). */
int ferry_sftp_has_dotdot(const char *path);

/* Nonzero when s holds a glob character (* ? [). */
int ferry_sftp_is_glob(const char *s);

/* "<dir>/.<name>.ferry-<kind>-<16 hex>" with random hex; caller frees. */
char *ferry_sftp_sibling_name(const char *dir, const char *name, const char *kind);

/* dir + "/" + name without doubling the slash ("." + x = x); caller frees. */
char *ferry_sftp_join(const char *dir, const char *name);

#endif
