/*
 * hooks/sftp/sftp_sink.c - writing a remote file as a ferry_writer, with the
 * same two exits as every ferry sink:
 *
 *   open    the target must not exist (unless o->replace) and its directory
 *           must; data goes to "<dir>/.<name>.ferry-tmp-<random>", created
 *           exclusively with mode 0600.
 *   write   staged in a sliding buffer and handed to libssh2_sftp_write at
 *           least 1 MiB at a time (libssh2 pipelines only within one call);
 *           between calls at least 1 MiB stays in flight, so the pipeline
 *           never drains until commit.
 *           From FERRY_SFTP_FLUSH_START bytes on, a thread with a session of
 *           its own fsyncs the temp file along the way (sftp_flush.c), so the
 *           server's disk writes while the data still arrives.
 *           From FERRY_SFTP_STRIPE_START bytes on (write_sessions > 1),
 *           helper sessions write whole segments of the buffer at their
 *           offsets (sftp_stripe.c); we write a segment ourselves when none
 *           is idle, and commit waits for all of them before the fsync.
 *   commit  every byte acknowledged, fsync (fsync@openssh.com, when the
 *           server has it), mode
 *           0644, close, then publish:
 *             without replace: rename temp -> target.  SFTP v3 rename (all
 *               OpenSSH) never overwrites, so a target that appeared since
 *               open fails atomically: FERRY_ERR_EXISTS, temp removed.
 *             with replace: rename target -> ".<name>.ferry-old-<random>",
 *               rename temp -> target, remove the old one.  If the second
 *               rename fails, the old one is renamed back.  Between the two
 *               renames (one round trip) the name is absent; no failure loses
 *               both versions: if even the restore fails, both stay on the
 *               server and the error names them.
 *   abort   close and remove the temp file (idempotent).  When the session
 *           cannot be trusted any more (interrupted half-way through a call,
 *           connection lost), a fresh connection removes it.
 *
 * The session comes from the cache (sftp_pool.c) and goes back to it when
 * the sink is freed.  A cached session found dead at open is replaced and
 * the open repeated.  A connection lost later (while writing, or in commit
 * before the temp file is renamed) is replaced once: the temp file is opened
 * again over a new connection and writing goes on at the last offset the
 * server acknowledged (everything after it is still in the buffer), so a
 * killed sshd child costs a reconnect, not the file.
 */
#include <stdlib.h>
#include <string.h>

#include "ferry/log.h"
#include "hooks/sftp/sftp_internal.h"

#define TEMP_MODE 0600
#define FINAL_MODE 0644

typedef struct sftp_sink {
    ferry_writer base;
    ferry_sftp_session *s;          /* owned (from ferry_sftp_acquire) */
    ferry_conn *conn;               /* owned copy: to clean up over a new connection */
    ferry_sftp_connect_opts opts;
    LIBSSH2_SFTP_HANDLE *h;         /* owned; NULL once closed */
    char *target;                   /* owned: the final name */
    char *dir;                      /* owned */
    char *name;                     /* owned: last component of target */
    char *temp;                     /* owned; NULL once published or removed */
    char *lost_temp;                /* owned: a temp name whose creation the connection died in */
    int replace;
    unsigned char *buf;             /* owned staging buffer of FERRY_SFTP_SINK_BUF */
    size_t start, used;             /* unacknowledged bytes: buf[start, start + used) */
    uint64_t acked;                 /* bytes the server acknowledged (the offset of buf[start]) */
    int resumed;                    /* the connection was replaced once already */
    ferry_sftp_flusher *flusher;    /* owned; NULL until FERRY_SFTP_FLUSH_START bytes */
    int no_flusher;                 /* it could not start: do not try again */
    int lanes;                      /* write_sessions: sessions writing at once, ours included */
    int64_t size_hint;              /* o->source_size: the bytes coming, -1 unknown */
    ferry_sftp_stripes *stripes;    /* owned; non-NULL while helpers write segments
                                       (then buf is whole segments: start 0, acked the
                                       offset of buf[0]) */
    int no_stripes;                 /* they could not start, or are not wanted */
    int done;                       /* committed or aborted */
} sftp_sink;

/* After a lost connection (st, err): a new session, the temp file opened
 * again (reopen) at the acknowledged offset.  Once per sink; 1 when the
 * caller may go on, 0 when st stands. */
static int resume(sftp_sink *k, int reopen, ferry_status st, const ferry_error *err)
{
    if (k->resumed || !k->conn || !k->s || !k->s->broken || !k->temp || st == FERRY_ERR_INTERRUPTED ||
        st == FERRY_ERR_TIMEOUT || !err->transient || ferry_cancelled())
        return 0;
    k->resumed = 1;
    ferry_log(FERRY_LOG_DEBUG, FERRY_SFTP_SYSTEM "(%s): %s; going on with '%s' at %llu bytes over a new connection",
              k->s->conn_id, err->msg, k->temp, (unsigned long long)k->acked);
    ferry_sftp_drop_handle(k->s, k->h);
    k->h = NULL;
    ferry_sftp_disconnect(k->s);
    k->s = NULL;
    ferry_error again;
    ferry_error_clear(&again);
    int reused = 0;
    ferry_sftp_connect_opts opts = k->opts;
    opts.max_attempts = 2;     /* a server that is gone is not waited for */
    ferry_status rst = ferry_sftp_acquire(k->conn, &opts, &k->s, &reused, &again);
    if (rst == FERRY_OK && reopen) {
        rst = ferry_sftp_open(k->s, k->temp, LIBSSH2_FXF_WRITE, 0, LIBSSH2_SFTP_OPENFILE, &k->h, &again);
        if (rst == FERRY_OK)
            libssh2_sftp_seek64(k->h, k->acked);
    }
    if (rst != FERRY_OK) {
        ferry_log(FERRY_LOG_DEBUG, FERRY_SFTP_SYSTEM ": reconnecting failed: %s", again.msg);
        return 0;
    }
    return 1;
}

/* ---------------------------------------------------------------- writing */

/* k->acked grew: tell the flusher, or start it. */
static void progress(sftp_sink *k)
{
    if (k->flusher) {
        ferry_sftp_flusher_progress(k->flusher, k->acked);
    } else if (k->acked >= FERRY_SFTP_FLUSH_START && !k->no_flusher && k->conn && k->temp) {
        k->flusher = ferry_sftp_flusher_start(k->conn, &k->opts, k->temp, k->acked);
        k->no_flusher = !k->flusher;
    }
}

/* One libssh2_sftp_write of everything not yet acknowledged (waiting while
 * it says EAGAIN), then drop what the server acknowledged from the front.
 * libssh2 may already have sent more than it returns; it recognises that
 * data by its position at the start of the next call's buffer, which is why
 * unacknowledged bytes stay in order at the front (libssh2's
 * sftp_write_sliding.c). */
static ferry_status push(sftp_sink *k, ferry_error *err)
{
    ferry_sftp_session *s = k->s;
    double since = ferry_now_monotonic();
    for (;;) {
        if (ferry_cancelled()) {
            s->broken = 1;
            return ferry_error_hook(err, FERRY_ERR_INTERRUPTED, FERRY_SFTP_SYSTEM, s->conn_id,
                                    "write '%s': interrupted by signal %d", k->temp, ferry_cancel_signal());
        }
        ssize_t rc = libssh2_sftp_write(k->h, (const char *)k->buf + k->start, k->used);
        if (rc > 0) {
            k->start += (size_t)rc;
            k->used -= (size_t)rc;
            k->acked += (uint64_t)rc;
            progress(k);
            if (k->used == 0)
                k->start = 0;
            return FERRY_OK;
        }
        if (rc == 0 || rc == LIBSSH2_ERROR_EAGAIN) {
            ferry_status st = ferry_sftp_wait(s, since, "write", err);
            if (st != FERRY_OK)
                return st;
            continue;
        }
        s->broken = 1; /* outstanding write requests: the handle is unusable */
        ferry_status st = ferry_sftp_error(s, (int)rc, err, "write '%s'", k->temp);
        if (!resume(k, 1, st, err))
            return st;
        s = k->s;
        since = ferry_now_monotonic();
    }
}

/* Push until at most `keep` bytes are unacknowledged. */
static ferry_status drain(sftp_sink *k, size_t keep, ferry_error *err)
{
    while (k->used > keep) {
        ferry_status st = push(k, err);
        if (st != FERRY_OK)
            return st;
    }
    return FERRY_OK;
}

/* ---------------------------------------------------------------- striping */

/* A large upload: from FERRY_SFTP_STRIPE_START bytes on, helper sessions
 * write whole segments of the buffer (sftp_stripe.c).  Our pipeline is
 * drained first, so buf is empty and acked is where the next segment
 * starts. */
static ferry_status start_stripes(sftp_sink *k, ferry_error *err)
{
    k->no_stripes = 1;  /* one try per sink */
    ferry_status st = drain(k, 0, err);
    if (st != FERRY_OK)
        return st;
    k->start = 0;
    k->stripes = ferry_sftp_stripes_start(k->conn, &k->opts, k->temp, k->lanes - 1);
    return FERRY_OK;
}

/* The buffer is a whole segment (or the last, at commit): an idle helper
 * takes it, else we write it ourselves on our session. */
static ferry_status stripe_flush(sftp_sink *k, ferry_error *err)
{
    if (k->used == 0)
        return FERRY_OK;
    int r = ferry_sftp_stripes_offer(k->stripes, &k->buf, k->acked, k->used, err);
    if (r < 0)
        return err->status;
    if (r > 0) {
        k->acked += k->used;
        k->start = k->used = 0;
        progress(k);
        return FERRY_OK;
    }
    libssh2_sftp_seek64(k->h, k->acked);    /* nothing in flight on our handle */
    return drain(k, 0, err);
}

static ferry_status stripe_write(sftp_sink *k, const unsigned char *p, size_t len, ferry_error *err)
{
    while (len > 0) {
        size_t room = FERRY_SFTP_SINK_BUF - k->used;
        size_t n = room < len ? room : len;
        memcpy(k->buf + k->used, p, n);
        k->used += n;
        p += n;
        len -= n;
        if (k->used == FERRY_SFTP_SINK_BUF) {
            ferry_status st = stripe_flush(k, err);
            if (st != FERRY_OK)
                return st;
        }
    }
    return FERRY_OK;
}

/* The rest of the upload at commit: our last segment, then every helper's;
 * the helpers end (their handles closed, sessions back to the cache). */
static ferry_status stripes_finish(sftp_sink *k, ferry_error *err)
{
    ferry_status st = FERRY_OK;
    if (k->used > 0 && !k->s->broken) {
        libssh2_sftp_seek64(k->h, k->acked);
        st = drain(k, 0, err);
    }
    ferry_error herr;
    ferry_error_clear(&herr);
    ferry_status hst = ferry_sftp_stripes_finish(k->stripes, &herr);
    ferry_sftp_stripes_stop(k->stripes, hst != FERRY_OK);
    k->stripes = NULL;
    if (st == FERRY_OK && hst != FERRY_OK) {
        *err = herr;
        st = hst;
    }
    return st;
}

static ferry_status sink_write(ferry_writer *w, const void *data, size_t len, ferry_error *err)
{
    sftp_sink *k = (sftp_sink *)w;
    const unsigned char *p = data;
    if (k->done || !k->h)
        return ferry_error_set(err, FERRY_ERR_INTERNAL, FERRY_SFTP_SYSTEM ": write after commit or abort");
    int next;
    libssh2_keepalive_send(k->s->ssh, &next); /* only sends when the interval passed */
    if (!k->stripes && !k->no_stripes && k->acked + k->used >= FERRY_SFTP_STRIPE_START) {
        ferry_status st = start_stripes(k, err);
        if (st != FERRY_OK)
            return st;
    }
    if (k->stripes)
        return stripe_write(k, p, len, err);
    while (len > 0) {
        if (k->start + k->used == FERRY_SFTP_SINK_BUF) {
            /* no room at the tail: move the unacknowledged bytes to the front */
            memmove(k->buf, k->buf + k->start, k->used);
            k->start = 0;
        }
        size_t room = FERRY_SFTP_SINK_BUF - k->start - k->used;
        size_t n = room < len ? room : len;
        memcpy(k->buf + k->start + k->used, p, n);
        k->used += n;
        p += n;
        len -= n;
        /* keep the pipeline full: wait only until less than IO_MIN is in flight */
        if (k->used >= 2 * FERRY_SFTP_IO_MIN || k->start + k->used == FERRY_SFTP_SINK_BUF) {
            ferry_status st = drain(k, FERRY_SFTP_IO_MIN, err);
            if (st != FERRY_OK)
                return st;
        }
    }
    return FERRY_OK;
}

/* ---------------------------------------------------------------- commit */

/* fsync@openssh.com; a server without it is fine. */
static ferry_status sync_temp(sftp_sink *k, ferry_error *err)
{
    double since = ferry_now_monotonic();
    for (;;) {
        int rc = libssh2_sftp_fsync(k->h);
        if (rc == 0)
            return FERRY_OK;
        if (rc == LIBSSH2_ERROR_EAGAIN) {
            ferry_status st = ferry_sftp_wait(k->s, since, "fsync", err);
            if (st != FERRY_OK)
                return st;
            continue;
        }
        if (ferry_sftp_last_fx(k->s, rc) == LIBSSH2_FX_OP_UNSUPPORTED) {
            ferry_log(FERRY_LOG_DEBUG, FERRY_SFTP_SYSTEM "(%s): the server has no fsync@openssh.com", k->s->conn_id);
            return FERRY_OK;
        }
        return ferry_sftp_error(k->s, rc, err, "fsync '%s'", k->temp);
    }
}

/* Mode FINAL_MODE on the open temp file; a server that refuses is only warned about. */
static ferry_status chmod_temp(sftp_sink *k, ferry_error *err)
{
    LIBSSH2_SFTP_ATTRIBUTES attrs;
    memset(&attrs, 0, sizeof attrs);
    attrs.flags = LIBSSH2_SFTP_ATTR_PERMISSIONS;
    attrs.permissions = FINAL_MODE;
    double since = ferry_now_monotonic();
    for (;;) {
        int rc = libssh2_sftp_fstat_ex(k->h, &attrs, 1);
        if (rc == 0)
            return FERRY_OK;
        if (rc == LIBSSH2_ERROR_EAGAIN) {
            ferry_status st = ferry_sftp_wait(k->s, since, "chmod", err);
            if (st != FERRY_OK)
                return st;
            continue;
        }
        if (ferry_sftp_last_fx(k->s, rc) == 0)
            return ferry_sftp_error(k->s, rc, err, "chmod '%s'", k->temp);
        ferry_log(FERRY_LOG_WARN, FERRY_SFTP_SYSTEM "(%s): cannot set mode %o on '%s'; it keeps mode %o",
                  k->s->conn_id, FINAL_MODE, k->temp, TEMP_MODE);
        return FERRY_OK;
    }
}

static ferry_status exists_error(sftp_sink *k, ferry_error *err)
{
    return ferry_error_hook(err, FERRY_ERR_EXISTS, FERRY_SFTP_SYSTEM, k->s->conn_id,
                            "'%s' exists (use --replace to replace it)", k->target);
}

/* Does path exist (without following a final symlink)?  1 yes, 0 no, -1 the
 * question failed (err filled). */
static int exists(sftp_sink *k, const char *path, ferry_error *err)
{
    LIBSSH2_SFTP_ATTRIBUTES attrs;
    ferry_error probe;
    ferry_error_clear(&probe);
    ferry_status st = ferry_sftp_stat(k->s, path, 0, &attrs, &probe);
    if (st == FERRY_OK)
        return 1;
    if (st == FERRY_ERR_NOT_FOUND)
        return 0;
    if (err)
        *err = probe;
    return -1;
}

static void remove_temp(sftp_sink *k)
{
    ferry_error ignored;
    if (ferry_sftp_unlink(k->s, k->temp, &ignored) == FERRY_OK) {
        free(k->temp);
        k->temp = NULL;
    }
}

static ferry_status publish_new(sftp_sink *k, ferry_error *err)
{
    ferry_status st = ferry_sftp_rename(k->s, k->temp, k->target, err);
    if (st != FERRY_OK && resume(k, 0, st, err)) {
        /* lost with the rename in flight: done if the temp file is gone and
         * the target holds our bytes, else rename again */
        LIBSSH2_SFTP_ATTRIBUTES attrs;
        ferry_error probe;
        ferry_error_clear(&probe);
        if (ferry_sftp_stat(k->s, k->temp, 0, &attrs, &probe) == FERRY_ERR_NOT_FOUND &&
            ferry_sftp_stat(k->s, k->target, 0, &attrs, &probe) == FERRY_OK && (attrs.flags & LIBSSH2_SFTP_ATTR_SIZE) &&
            attrs.filesize == k->acked)
            st = FERRY_OK;
        else
            st = ferry_sftp_rename(k->s, k->temp, k->target, err);
    }
    if (st == FERRY_OK) {
        free(k->temp);
        k->temp = NULL;
        return FERRY_OK;
    }
    if (k->s->broken)
        return st;
    /* OpenSSH answers a rename onto an existing name with a plain FAILURE */
    if (exists(k, k->target, NULL) == 1) {
        remove_temp(k);
        return exists_error(k, err);
    }
    return st;
}

/* The replace protocol; see the top of the file. */
static ferry_status publish_replace(sftp_sink *k, ferry_error *err)
{
    int e = exists(k, k->target, err);
    if (e < 0)
        return err->status;
    if (e == 0) {
        ferry_status st = ferry_sftp_rename(k->s, k->temp, k->target, err);
        if (st == FERRY_OK) {
            free(k->temp);
            k->temp = NULL;
            return FERRY_OK;
        }
        if (k->s->broken || exists(k, k->target, NULL) != 1)
            return st;
        /* the target appeared meanwhile: replace it like any other */
    }
    char *old = ferry_sftp_sibling_name(k->dir, k->name, "old");
    if (!old)
        return ferry_error_oom(err, NULL, NULL, NULL);
    ferry_status st = ferry_sftp_rename(k->s, k->target, old, err);
    if (st != FERRY_OK) {
        free(old);
        return ferry_sftp_error_context(k->s->conn_id, err, "cannot set the previous version of '%s' aside",
                                        k->target);
    }
    /* from here the name is absent until the next rename: finish even when
     * a signal arrives (the waits stay bounded by the timeout) */
    k->s->shielded = 1;
    st = ferry_sftp_rename(k->s, k->temp, k->target, err);
    if (st == FERRY_OK) {
        free(k->temp);
        k->temp = NULL;
        ferry_error ignored;
        if (ferry_sftp_unlink(k->s, old, &ignored) != FERRY_OK)
            ferry_log(FERRY_LOG_WARN, FERRY_SFTP_SYSTEM "(%s): '%s' was replaced, but its previous version "
                                                        "could not be removed from '%s': %s",
                      k->s->conn_id, k->target, old, ignored.msg);
        k->s->shielded = 0;
        free(old);
        return FERRY_OK;
    }
    ferry_error restore;
    ferry_error_clear(&restore);
    ferry_status rst = k->s->broken ? FERRY_ERR_CONNECT : ferry_sftp_rename(k->s, old, k->target, &restore);
    k->s->shielded = 0;
    if (rst == FERRY_OK) {
        ferry_sftp_error_context(k->s->conn_id, err, "'%s' was not replaced (its previous version is back in place)",
                                 k->target);
    } else {
        /* keep both: the new data stays at temp, the old at old */
        ferry_error_hook(err, err->status, FERRY_SFTP_SYSTEM, k->s->conn_id,
                         "replacing '%s' failed half-way and the previous version could not be put back: "
                         "it is at '%s', the new data at '%s' (%s)",
                         k->target, old, k->temp, restore.msg[0] ? restore.msg : "connection lost");
        free(k->temp);
        k->temp = NULL;
    }
    free(old);
    return err->status;
}

static ferry_status sink_commit(ferry_writer *w, ferry_error *err)
{
    sftp_sink *k = (sftp_sink *)w;
    if (k->done || !k->h)
        return ferry_error_set(err, FERRY_ERR_INTERNAL, FERRY_SFTP_SYSTEM ": commit after commit or abort");
    ferry_status st;
    if (k->stripes) {
        st = stripes_finish(k, err);
        if (st != FERRY_OK && !resume(k, 1, st, err))
            return st;
        /* lost our connection on the last segment: written again below */
    }
    for (;;) {
        st = drain(k, 0, err);
        if (st == FERRY_OK && k->flusher) {
            int n = ferry_sftp_flusher_stop(k->flusher, 0);
            k->flusher = NULL;
            ferry_log(FERRY_LOG_DEBUG, FERRY_SFTP_SYSTEM "(%s): '%s' was flushed %d time%s on the way", k->s->conn_id,
                      k->temp, n, n == 1 ? "" : "s");
        }
        if (st == FERRY_OK)
            st = sync_temp(k, err);
        if (st == FERRY_OK)
            st = chmod_temp(k, err);
        if (st == FERRY_OK) {
            LIBSSH2_SFTP_HANDLE *h = k->h;
            k->h = NULL;
            st = ferry_sftp_close_handle(k->s, h, k->temp, err);
        }
        /* the connection lost before the rename: the same again over a new one */
        if (st == FERRY_OK || !resume(k, 1, st, err))
            break;
    }
    if (st != FERRY_OK)
        return st;
    st = k->replace ? publish_replace(k, err) : publish_new(k, err);
    if (st == FERRY_OK)
        k->done = 1;
    return st;
}

/* ---------------------------------------------------------------- abort */

/* Remove the temp file over a new connection (the old one cannot be trusted). */
static void remove_temp_fresh(sftp_sink *k)
{
    ferry_sftp_disconnect(k->s);
    k->s = NULL;
    ferry_sftp_connect_opts opts = k->opts;
    opts.cleanup = 1;
    opts.max_attempts = 1;
    ferry_error err;
    ferry_error_clear(&err);
    ferry_status st = k->conn ? ferry_sftp_connect(k->conn, &opts, &k->s, &err)
                              : ferry_error_set(&err, FERRY_ERR_INTERNAL, "no connection");
    if (st == FERRY_OK)
        st = ferry_sftp_unlink(k->s, k->temp, &err);
    if (st == FERRY_OK || st == FERRY_ERR_NOT_FOUND) {
        free(k->temp);
        k->temp = NULL;
    } else {
        ferry_log(FERRY_LOG_WARN, FERRY_SFTP_SYSTEM ": the temp file '%s' was left on the server: %s", k->temp,
                  err.msg);
    }
}

static void sink_abort(ferry_writer *w)
{
    sftp_sink *k = (sftp_sink *)w;
    if (k->done)
        return;
    k->done = 1;
    k->start = k->used = 0;
    ferry_sftp_flusher_stop(k->flusher, 1);    /* before the temp file goes */
    k->flusher = NULL;
    ferry_sftp_stripes_stop(k->stripes, 1);    /* likewise: no helper writes any more */
    k->stripes = NULL;
    if (!k->s) {
        if (k->temp)
            remove_temp_fresh(k);
        return;
    }
    k->s->cleanup = 1;
    /* libssh2 still blocked on sending: a packet may be half-sent, and 1.10
     * would complete it in place of our next request */
    if (k->s->ssh && (libssh2_session_block_directions(k->s->ssh) & LIBSSH2_SESSION_BLOCK_OUTBOUND))
        k->s->broken = 1;
    ferry_error ignored;
    if (k->h && !k->s->broken)
        ferry_sftp_close_handle(k->s, k->h, k->temp, &ignored);
    else
        ferry_sftp_drop_handle(k->s, k->h);
    k->h = NULL;
    if (k->temp && !k->s->broken)
        remove_temp(k);
    if (k->temp)
        remove_temp_fresh(k);
}

static void sink_free(ferry_writer *w)
{
    sftp_sink *k = (sftp_sink *)w;
    if (!k)
        return;
    sink_abort(w);
    ferry_sftp_flusher_stop(k->flusher, 1);
    ferry_sftp_stripes_stop(k->stripes, 1);
    ferry_sftp_release(k->s);
    ferry_conn_free(k->conn);
    free(k->target);
    free(k->dir);
    free(k->name);
    free(k->temp);
    free(k->lost_temp);
    free(k->buf);
    free(k);
}

static const ferry_writer_ops sink_ops = {"sftp", sink_write, sink_commit, sink_abort, sink_free};

/* ---------------------------------------------------------------- open */

/* The target may be created: not a directory, absent unless replacing, in
 * an existing directory. */
static ferry_status check_target(sftp_sink *k, ferry_error *err)
{
    LIBSSH2_SFTP_ATTRIBUTES attrs;
    ferry_status st = ferry_sftp_stat(k->s, k->target, 1, &attrs, err);
    if (st == FERRY_OK) {
        if ((attrs.flags & LIBSSH2_SFTP_ATTR_PERMISSIONS) && LIBSSH2_SFTP_S_ISDIR(attrs.permissions))
            return ferry_error_hook(err, FERRY_ERR_USAGE, FERRY_SFTP_SYSTEM, k->s->conn_id,
                                    "'%s' is a directory (end the destination with '/' to copy into it)",
                                    k->target);
        if (!k->replace)
            return exists_error(k, err);
    } else if (st != FERRY_ERR_NOT_FOUND) {
        return st;
    }
    st = ferry_sftp_stat(k->s, k->dir, 1, &attrs, err);
    if (st == FERRY_ERR_NOT_FOUND)
        return ferry_error_hook(err, FERRY_ERR_NOT_FOUND, FERRY_SFTP_SYSTEM, k->s->conn_id,
                                "directory '%s' does not exist", k->dir);
    if (st != FERRY_OK)
        return st;
    if ((attrs.flags & LIBSSH2_SFTP_ATTR_PERMISSIONS) && !LIBSSH2_SFTP_S_ISDIR(attrs.permissions))
        return ferry_error_hook(err, FERRY_ERR_NOT_FOUND, FERRY_SFTP_SYSTEM, k->s->conn_id,
                                "'%s' is not a directory", k->dir);
    return FERRY_OK;
}

static ferry_status create_temp(sftp_sink *k, ferry_error *err)
{
    k->temp = ferry_sftp_sibling_name(k->dir, k->name, "tmp");
    if (!k->temp)
        return ferry_error_oom(err, NULL, NULL, NULL);
    ferry_status st = ferry_sftp_open(k->s, k->temp, LIBSSH2_FXF_WRITE | LIBSSH2_FXF_CREAT | LIBSSH2_FXF_EXCL |
                                      LIBSSH2_FXF_TRUNC, TEMP_MODE, LIBSSH2_SFTP_OPENFILE, &k->h, err);
    if (st != FERRY_OK) {
        if (k->s->broken) {
            free(k->lost_temp);     /* may exist: removed after reconnecting */
            k->lost_temp = k->temp;
        } else {
            free(k->temp);          /* not created: nothing to remove */
        }
        k->temp = NULL;
        ferry_sftp_error_context(k->s->conn_id, err, "cannot create a temp file in '%s'", k->dir);
    }
    return st;
}

ferry_status ferry_sftp_open_sink(const ferry_endpoint *ep, const ferry_copy_options *o, ferry_writer **out,
                                  ferry_error *err)
{
    *out = NULL;
    sftp_sink *k = calloc(1, sizeof *k);
    if (!k)
        return ferry_error_oom(err, NULL, NULL, NULL);
    k->base.ops = &sink_ops;
    k->base.rows = -1;
    k->replace = o && o->replace;
    k->size_hint = o ? o->source_size : -1;
    ferry_sftp_opts_from(o, &k->opts);
    k->target = ferry_sftp_path(ep->path);
    k->buf = malloc(FERRY_SFTP_SINK_BUF);
    k->conn = ferry_sftp_conn_clone(ep->conn);
    ferry_status st = FERRY_OK;
    if (!k->target || !k->buf || !k->conn)
        st = ferry_error_oom(err, NULL, NULL, NULL);
    else if (ferry_sftp_split(k->target, &k->dir, &k->name) != 0 || strcmp(k->name, ".") == 0 ||
             strcmp(k->name, "..") == 0)
        st = ferry_error_hook(err, FERRY_ERR_USAGE, FERRY_SFTP_SYSTEM, ferry_endpoint_conn_id(ep),
                              "'%s' names a directory, not a file", ep->path);
    if (st == FERRY_OK)
        st = ferry_sftp_write_sessions(ep->conn, ferry_endpoint_conn_id(ep), &k->lanes, err);
    /* a file known to be small never waits for a second session */
    k->no_stripes = k->lanes < 2 || (k->size_hint >= 0 && k->size_hint < FERRY_SFTP_STRIPE_MIN);
    if (st == FERRY_OK) {
        int reused = 0;
        ferry_status st0 = st;
        do {
            st = st0;
            if (!k->s)
                st = ferry_sftp_acquire(ep->conn, &k->opts, &k->s, &reused, err);
            if (st == FERRY_OK && k->lost_temp) {
                /* its creation was in flight when the last connection died */
                ferry_error ignored;
                ferry_sftp_unlink(k->s, k->lost_temp, &ignored);
                free(k->lost_temp);
                k->lost_temp = NULL;
            }
            if (st == FERRY_OK)
                st = check_target(k, err);
            if (st == FERRY_OK)
                st = create_temp(k, err);
        } while (ferry_sftp_stale(&k->s, reused, st, err));
    }
    if (st != FERRY_OK) {
        sink_free(&k->base);
        return st;
    }
    *out = &k->base;
    return FERRY_OK;
}
