/*
 * hooks/sftp/sftp_calls.c - the SFTP requests the hook makes (stat, rename,
 * unlink, rmdir, mkdir, realpath, open, close), each run to its end over the
 * non-blocking session: retried while libssh2 says EAGAIN, waiting
 * cancellably in between, and turned into a ferry error naming the request,
 * the path and the SFTP status in words.
 */
#include <string.h>
#include <sys/socket.h>

#include "hooks/sftp/sftp_internal.h"

typedef enum call_kind { CALL_STAT, CALL_LSTAT, CALL_RENAME, CALL_UNLINK, CALL_RMDIR, CALL_MKDIR, CALL_REALPATH } call_kind;

/* One request and its arguments (borrowed). */
typedef struct call {
    call_kind kind;
    const char *path;
    const char *path2;              /* rename target */
    long mode;                      /* mkdir */
    LIBSSH2_SFTP_ATTRIBUTES *attrs; /* stat */
    char *out;                      /* realpath */
    size_t cap;
} call;

static const char *const call_names[] = {"stat", "lstat", "rename", "remove", "rmdir", "mkdir", "realpath"};

static int call_once(ferry_sftp_session *s, const call *c)
{
    unsigned len = (unsigned)strlen(c->path);
    switch (c->kind) {
    case CALL_STAT:
        return libssh2_sftp_stat_ex(s->sftp, c->path, len, LIBSSH2_SFTP_STAT, c->attrs);
    case CALL_LSTAT:
        return libssh2_sftp_stat_ex(s->sftp, c->path, len, LIBSSH2_SFTP_LSTAT, c->attrs);
    case CALL_RENAME:
        /* flags are only sent to SFTP v5+ servers; OpenSSH speaks v3, where a
         * rename never overwrites */
        return libssh2_sftp_rename_ex(s->sftp, c->path, len, c->path2, (unsigned)strlen(c->path2),
                                      LIBSSH2_SFTP_RENAME_ATOMIC | LIBSSH2_SFTP_RENAME_NATIVE);
    case CALL_UNLINK:
        return libssh2_sftp_unlink_ex(s->sftp, c->path, len);
    case CALL_RMDIR:
        return libssh2_sftp_rmdir_ex(s->sftp, c->path, len);
    case CALL_MKDIR:
        return libssh2_sftp_mkdir_ex(s->sftp, c->path, len, c->mode);
    case CALL_REALPATH:
        return libssh2_sftp_symlink_ex(s->sftp, c->path, len, c->out, (unsigned)c->cap, LIBSSH2_SFTP_REALPATH);
    }
    return LIBSSH2_ERROR_INVAL;
}

static ferry_status run(ferry_sftp_session *s, const call *c, ferry_error *err)
{
    double since = ferry_now_monotonic();
    s->last_fx = 0;
    for (;;) {
        int rc = call_once(s, c);
        if (rc >= 0)
            return FERRY_OK;
        if (rc != LIBSSH2_ERROR_EAGAIN) {
            if (c->kind == CALL_RENAME)
                return ferry_sftp_error(s, rc, err, "rename '%s' to '%s'", c->path, c->path2);
            return ferry_sftp_error(s, rc, err, "%s '%s'", call_names[c->kind], c->path);
        }
        ferry_status st = ferry_sftp_wait(s, since, call_names[c->kind], err);
        if (st != FERRY_OK)
            return st;
    }
}

ferry_status ferry_sftp_stat(ferry_sftp_session *s, const char *path, int follow, LIBSSH2_SFTP_ATTRIBUTES *attrs,
                             ferry_error *err)
{
    memset(attrs, 0, sizeof *attrs);
    call c = {.kind = follow ? CALL_STAT : CALL_LSTAT, .path = path, .attrs = attrs};
    return run(s, &c, err);
}

ferry_status ferry_sftp_rename(ferry_sftp_session *s, const char *from, const char *to, ferry_error *err)
{
    call c = {.kind = CALL_RENAME, .path = from, .path2 = to};
    return run(s, &c, err);
}

ferry_status ferry_sftp_unlink(ferry_sftp_session *s, const char *path, ferry_error *err)
{
    call c = {.kind = CALL_UNLINK, .path = path};
    return run(s, &c, err);
}

ferry_status ferry_sftp_rmdir(ferry_sftp_session *s, const char *path, ferry_error *err)
{
    call c = {.kind = CALL_RMDIR, .path = path};
    return run(s, &c, err);
}

ferry_status ferry_sftp_mkdir(ferry_sftp_session *s, const char *path, long mode, ferry_error *err)
{
    call c = {.kind = CALL_MKDIR, .path = path, .mode = mode};
    return run(s, &c, err);
}

ferry_status ferry_sftp_realpath(ferry_sftp_session *s, const char *path, char *out, size_t cap, ferry_error *err)
{
    if (cap == 0)
        return ferry_error_set(err, FERRY_ERR_INTERNAL, "realpath: no room");
    memset(out, 0, cap);
    call c = {.kind = CALL_REALPATH, .path = path, .out = out, .cap = cap - 1};
    return run(s, &c, err);
}

ferry_status ferry_sftp_open(ferry_sftp_session *s, const char *path, unsigned long flags, long mode, int type,
                             LIBSSH2_SFTP_HANDLE **h, ferry_error *err)
{
    double since = ferry_now_monotonic();
    s->last_fx = 0;
    *h = NULL;
    for (;;) {
        *h = libssh2_sftp_open_ex(s->sftp, path, (unsigned)strlen(path), flags, mode, type);
        if (*h)
            return FERRY_OK;
        int rc = libssh2_session_last_errno(s->ssh);
        if (rc != LIBSSH2_ERROR_EAGAIN)
            return ferry_sftp_error(s, rc, err, "open%s '%s'", type == LIBSSH2_SFTP_OPENDIR ? "dir" : "", path);
        ferry_status st = ferry_sftp_wait(s, since, "open", err);
        if (st != FERRY_OK)
            return st;
    }
}

void ferry_sftp_drop_handle(ferry_sftp_session *s, LIBSSH2_SFTP_HANDLE *h)
{
    if (!h)
        return;
    s->broken = 1;  /* never cached again */
    if (s->fd >= 0)
        shutdown(s->fd, SHUT_RDWR);
    for (int i = 0; i < 100 && libssh2_sftp_close_handle(h) == LIBSSH2_ERROR_EAGAIN; i++)
        ;
}

ferry_status ferry_sftp_close_handle(ferry_sftp_session *s, LIBSSH2_SFTP_HANDLE *h, const char *path,
                                     ferry_error *err)
{
    if (!h)
        return FERRY_OK;
    double since = ferry_now_monotonic();
    for (;;) {
        int rc = libssh2_sftp_close_handle(h);
        if (rc == 0)
            return FERRY_OK;
        if (rc != LIBSSH2_ERROR_EAGAIN)
            return ferry_sftp_error(s, rc, err, "close '%s'", path);
        ferry_status st = ferry_sftp_wait(s, since, "close", err);
        if (st != FERRY_OK) {
            ferry_sftp_drop_handle(s, h);
            return st;
        }
    }
}
