/*
 * hooks/sftp/sftp_source.c - reading a remote file as a ferry_source.
 *
 * libssh2 pipelines SFTP reads (several outstanding READ requests) only
 * inside one libssh2_sftp_read call and in proportion to the buffer it is
 * given, so every call gets at least FERRY_SFTP_IO_MIN bytes of room: the
 * caller's buffer when it is that large, else an internal buffer that is
 * handed out in pieces.  The size comes from fstat; cancellation is polled
 * between calls and while waiting.
 *
 * A file of FERRY_SFTP_AHEAD_MIN bytes or more is read ahead in background
 * threads instead (sftp_readahead.c), so reading overlaps with the sink: one
 * session, or for FERRY_SFTP_PAR_MIN bytes or more read_sessions sessions
 * (default FERRY_SFTP_READ_SESSIONS_DEFAULT).  read_sessions=0 reads in the
 * caller's thread, as for small files.
 *
 * The session comes from the cache (sftp_pool.c) and goes back to it when
 * the source is freed.  A cached session found dead at open is replaced and
 * the open repeated; a connection lost in the middle of a read is replaced
 * once and the read goes on from the same offset over a new handle.
 */
#include <stdlib.h>
#include <string.h>

#include "ferry/log.h"
#include "hooks/sftp/sftp_internal.h"

typedef struct sftp_source {
    ferry_source base;
    ferry_sftp_session *s;      /* owned (from ferry_sftp_acquire) */
    ferry_conn *conn;           /* owned copy: to reconnect after a lost connection */
    ferry_sftp_connect_opts opts;
    int resumed;                /* the connection was replaced once already */
    LIBSSH2_SFTP_HANDLE *h;     /* owned; NULL once closed */
    char *path;                 /* owned */
    unsigned char *buf;         /* owned; FERRY_SFTP_IO_MIN bytes, only for small reads */
    size_t buf_len, buf_pos;    /* valid bytes in buf, bytes handed out */
    int eof;
    int64_t total;              /* bytes read from the server */
} sftp_source;

/* After a lost connection: a new session, the file opened again and its
 * position set to off.  Once per source. */
static int resume_at(sftp_source *f, uint64_t off, ferry_status st, const ferry_error *err)
{
    if (f->resumed || !f->conn || !f->s->broken || st == FERRY_ERR_INTERRUPTED || st == FERRY_ERR_TIMEOUT ||
        !err->transient || ferry_cancelled())
        return 0;
    f->resumed = 1;
    ferry_log(FERRY_LOG_DEBUG, FERRY_SFTP_SYSTEM "(%s): %s; reading '%s' on from %llu over a new connection",
              f->s->conn_id, err->msg, f->path, (unsigned long long)off);
    ferry_sftp_drop_handle(f->s, f->h);
    f->h = NULL;
    ferry_sftp_disconnect(f->s);
    f->s = NULL;
    ferry_error again;
    ferry_error_clear(&again);
    int reused = 0;
    ferry_sftp_connect_opts opts = f->opts;
    opts.max_attempts = 2;     /* a server that is gone is not waited for */
    ferry_status rst = ferry_sftp_acquire(f->conn, &opts, &f->s, &reused, &again);
    if (rst == FERRY_OK)
        rst = ferry_sftp_open(f->s, f->path, LIBSSH2_FXF_READ, 0, LIBSSH2_SFTP_OPENFILE, &f->h, &again);
    if (rst != FERRY_OK) {
        ferry_log(FERRY_LOG_DEBUG, FERRY_SFTP_SYSTEM ": reconnecting failed: %s", again.msg);
        return 0;
    }
    libssh2_sftp_seek64(f->h, off);
    return 1;
}

/* Read into p until cap bytes or end of file. */
static ferry_status fill(sftp_source *f, unsigned char *p, size_t cap, size_t *got, ferry_error *err)
{
    ferry_sftp_session *s = f->s;
    double since = ferry_now_monotonic();
    *got = 0;
    while (*got < cap) {
        if (ferry_cancelled()) {
            s->broken = 1;
            return ferry_error_hook(err, FERRY_ERR_INTERRUPTED, FERRY_SFTP_SYSTEM, s->conn_id,
                                    "read '%s': interrupted by signal %d", f->path, ferry_cancel_signal());
        }
        /* libssh2 asks the server for up to 4x the room it is given: ask for
         * what the file has left (+1 to see its end), not a whole buffer of
         * requests answered "end of file" */
        size_t ask = cap - *got;
        if (f->base.size >= 0) {
            int64_t left = f->base.size - f->total - (int64_t)*got;
            if (left >= 0 && (uint64_t)left < ask)
                ask = (size_t)left + 1;
        }
        ssize_t rc = libssh2_sftp_read(f->h, (char *)p + *got, ask);
        if (rc > 0) {
            *got += (size_t)rc;
            since = ferry_now_monotonic();
        } else if (rc == 0) {
            f->eof = 1;
            break;
        } else if (rc == LIBSSH2_ERROR_EAGAIN) {
            ferry_status st = ferry_sftp_wait(s, since, "read", err);
            if (st != FERRY_OK)
                return st;
        } else {
            ferry_status st = ferry_sftp_error(s, (int)rc, err, "read '%s'", f->path);
            if (!f->s || !resume_at(f, (uint64_t)f->total + *got, st, err))
                return st;
            s = f->s;
            since = ferry_now_monotonic();
        }
    }
    f->total += (int64_t)*got;
    return FERRY_OK;
}

static ferry_status source_read(ferry_source *src, void *buf, size_t cap, size_t *nread, ferry_error *err)
{
    sftp_source *f = (sftp_source *)src;
    *nread = 0;
    if (cap == 0)
        return FERRY_OK;
    if (f->buf_pos < f->buf_len) {
        size_t n = f->buf_len - f->buf_pos < cap ? f->buf_len - f->buf_pos : cap;
        memcpy(buf, f->buf + f->buf_pos, n);
        f->buf_pos += n;
        *nread = n;
        return FERRY_OK;
    }
    if (f->eof)
        return FERRY_OK;
    if (cap >= FERRY_SFTP_IO_MIN)
        return fill(f, buf, cap, nread, err);
    if (!f->buf) {
        f->buf = malloc(FERRY_SFTP_IO_MIN);
        if (!f->buf)
            return ferry_error_oom(err, NULL, NULL, NULL);
    }
    f->buf_pos = f->buf_len = 0;
    ferry_status st = fill(f, f->buf, FERRY_SFTP_IO_MIN, &f->buf_len, err);
    if (st != FERRY_OK)
        return st;
    return source_read(src, buf, cap, nread, err);
}

static ferry_status source_finish(ferry_source *src, ferry_error *err)
{
    (void)err;
    sftp_source *f = (sftp_source *)src;
    if (f->base.size >= 0 && f->total != f->base.size)
        ferry_log(FERRY_LOG_WARN,
                  FERRY_SFTP_SYSTEM "(%s): '%s' changed size while it was read (%lld bytes when opened, %lld read)",
                  f->s->conn_id, f->path, (long long)f->base.size, (long long)f->total);
    return FERRY_OK;
}

static void source_free(ferry_source *src)
{
    sftp_source *f = (sftp_source *)src;
    if (!f)
        return;
    if (f->h && f->s && !f->s->broken) {
        ferry_error ignored;
        f->s->cleanup = 1;
        ferry_sftp_close_handle(f->s, f->h, f->path, &ignored);
    } else if (f->h && f->s) {
        ferry_sftp_drop_handle(f->s, f->h);
    }
    ferry_sftp_release(f->s);
    ferry_conn_free(f->conn);
    free(f->path);
    free(f->buf);
    free(f);
}

static const ferry_source_ops source_ops = {"sftp", source_read, source_finish, source_free};

/* An integer extra `name` from min to max into *out; absent leaves *out as
 * it is.  Anything else is FERRY_ERR_CONFIG naming the extra and the range. */
static ferry_status int_extra(const ferry_conn *conn, const char *conn_id, const char *name, long min, long max,
                              long *out, ferry_error *err)
{
    const char *v = ferry_conn_extra(conn, name);
    if (!v)
        return FERRY_OK;
    char *end = NULL;
    long n = strtol(v, &end, 10);
    if (end == v || *end != '\0' || n < min || n > max)
        return ferry_error_hook(err, FERRY_ERR_CONFIG, FERRY_SFTP_SYSTEM, conn_id,
                                "extra %s='%s' is not a number from %ld to %ld", name, v, min, max);
    *out = n;
    return FERRY_OK;
}

/* The read-ahead extras: read_sessions, 0 (no read-ahead thread) to
 * FERRY_SFTP_PAR_MAX_SESSIONS, default FERRY_SFTP_READ_SESSIONS_DEFAULT; and
 * read_block_kib, the block in KiB, FERRY_SFTP_READ_BLOCK_KIB_MIN to _MAX,
 * *block 0 (the default) when absent. */
static ferry_status read_ahead_extras(const ferry_conn *conn, const char *conn_id, int *sessions, size_t *block,
                                      ferry_error *err)
{
    long n = FERRY_SFTP_READ_SESSIONS_DEFAULT, kib = 0;
    ferry_status st = int_extra(conn, conn_id, "read_sessions", 0, FERRY_SFTP_PAR_MAX_SESSIONS, &n, err);
    if (st == FERRY_OK)
        st = int_extra(conn, conn_id, "read_block_kib", FERRY_SFTP_READ_BLOCK_KIB_MIN, FERRY_SFTP_READ_BLOCK_KIB_MAX,
                       &kib, err);
    *sessions = (int)n;
    *block = (size_t)kib * 1024;
    return st;
}

/* fstat of an open handle. */
static ferry_status fstat_handle(sftp_source *f, LIBSSH2_SFTP_ATTRIBUTES *attrs, ferry_error *err)
{
    double since = ferry_now_monotonic();
    memset(attrs, 0, sizeof *attrs);
    for (;;) {
        int rc = libssh2_sftp_fstat_ex(f->h, attrs, 0);
        if (rc == 0)
            return FERRY_OK;
        if (rc != LIBSSH2_ERROR_EAGAIN)
            return ferry_sftp_error(f->s, rc, err, "fstat '%s'", f->path);
        ferry_status st = ferry_sftp_wait(f->s, since, "fstat", err);
        if (st != FERRY_OK)
            return st;
    }
}

ferry_status ferry_sftp_open_source(const ferry_endpoint *ep, const ferry_copy_options *o, ferry_source **out,
                                    ferry_error *err)
{
    *out = NULL;
    sftp_source *f = calloc(1, sizeof *f);
    if (!f)
        return ferry_error_oom(err, NULL, NULL, NULL);
    f->base.ops = &source_ops;
    f->base.size = -1;
    f->base.rows = -1;
    f->path = ferry_sftp_path(ep->path);
    f->conn = ferry_sftp_conn_clone(ep->conn);
    if (!f->path || !f->conn) {
        source_free(&f->base);
        return ferry_error_oom(err, NULL, NULL, NULL);
    }
    ferry_sftp_opts_from(o, &f->opts);
    ferry_sftp_connect_opts opts = f->opts;
    ferry_status st;
    LIBSSH2_SFTP_ATTRIBUTES attrs;
    int reused = 0;
    do {
        st = ferry_sftp_acquire(ep->conn, &opts, &f->s, &reused, err);
        if (st == FERRY_OK)
            st = ferry_sftp_open(f->s, f->path, LIBSSH2_FXF_READ, 0, LIBSSH2_SFTP_OPENFILE, &f->h, err);
        if (st == FERRY_OK)
            st = fstat_handle(f, &attrs, err);
        if (st != FERRY_OK && f->h && f->s && f->s->broken) {
            ferry_sftp_drop_handle(f->s, f->h);
            f->h = NULL;
        }
    } while (ferry_sftp_stale(&f->s, reused, st, err));
    if (st == FERRY_OK && (attrs.flags & LIBSSH2_SFTP_ATTR_PERMISSIONS) && LIBSSH2_SFTP_S_ISDIR(attrs.permissions))
        st = ferry_error_hook(err, FERRY_ERR_USAGE, FERRY_SFTP_SYSTEM, f->s->conn_id,
                              "'%s' is a directory (copy files with a glob such as '%s/*')", f->path, f->path);
    if (st != FERRY_OK) {
        source_free(&f->base);
        return st;
    }
    if (attrs.flags & LIBSSH2_SFTP_ATTR_SIZE)
        f->base.size = (int64_t)attrs.filesize;
    int sessions = 1;
    size_t block = 0;
    st = read_ahead_extras(ep->conn, f->s->conn_id, &sessions, &block, err);
    if (st != FERRY_OK) {
        source_free(&f->base);
        return st;
    }
    if (f->base.size < FERRY_SFTP_PAR_MIN && sessions > 1)
        sessions = 1;   /* a smaller file is not worth more connections */
    if (sessions >= 1 && f->base.size >= FERRY_SFTP_AHEAD_MIN) {
        /* the read-ahead source takes the session and the handle over */
        ferry_sftp_session *s = f->s;
        LIBSSH2_SFTP_HANDLE *h = f->h;
        int64_t size = f->base.size;
        f->s = NULL;
        f->h = NULL;
        st = ferry_sftp_readahead_source(s, h, f->path, size, ep->conn, &opts, sessions, block, out, err);
        source_free(&f->base);
        return st;
    }
    *out = &f->base;
    return FERRY_OK;
}
