/*
 * local.c - the local file hook: reads files, and writes them atomically the
 * way git's lockfile and Redis's rdbSave do: a temp file beside the target
 * (".<name>.ferry-tmp-XXXXXX", O_EXCL, 0600), fsync, then rename(2) into place
 * (with --replace) or link(2) (without: fails atomically if the name appeared
 * meanwhile), then fsync of the directory.  Abort unlinks the temp file.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/util.h"
#include "ferry/hook.h"
#include "ferry/transfer.h"

#define SYSTEM "file"

static ferry_status errno_status(int e)
{
    switch (e) {
    case ENOENT:
    case ENOTDIR:
        return FERRY_ERR_NOT_FOUND;
    case EEXIST:
        return FERRY_ERR_EXISTS;
    default:
        return FERRY_ERR_IO;
    }
}

/* ---------------------------------------------------------------- source */

typedef struct fd_source {
    ferry_source base;
    int fd;
    int owns_fd;
    const char *what;   /* for messages; borrowed (static or endpoint text) */
} fd_source;

static ferry_status fd_source_read(ferry_source *s, void *buf, size_t cap, size_t *nread, ferry_error *err)
{
    fd_source *f = (fd_source *)s;
    for (;;) {
        ssize_t n = read(f->fd, buf, cap);
        if (n < 0 && errno == EINTR) {
            if (ferry_cancelled())
                return ferry_error_set(err, FERRY_ERR_INTERRUPTED, "interrupted");
            continue;
        }
        if (n < 0)
            return ferry_error_set(err, FERRY_ERR_IO, SYSTEM ": read %s failed: %s", f->what, strerror(errno));
        *nread = (size_t)n;
        return FERRY_OK;
    }
}

static void fd_source_free(ferry_source *s)
{
    fd_source *f = (fd_source *)s;
    if (!f)
        return;
    if (f->owns_fd && f->fd >= 0)
        close(f->fd);
    free(f);
}

static const ferry_source_ops fd_source_ops = {"file", fd_source_read, NULL, fd_source_free};

static ferry_status fd_source_new(int fd, int owns, const char *what, ferry_source **out, ferry_error *err)
{
    fd_source *f = calloc(1, sizeof *f);
    if (!f)
        return ferry_error_oom(err, NULL, NULL, NULL);
    f->base.ops = &fd_source_ops;
    f->base.rows = -1;
    f->base.size = -1;
    f->fd = fd;
    f->owns_fd = owns;
    f->what = what;
    struct stat sb;
    if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode))
        f->base.size = sb.st_size;
    *out = &f->base;
    return FERRY_OK;
}

static ferry_status local_open_source(const ferry_endpoint *ep, const ferry_copy_options *o, ferry_source **out,
                                      ferry_error *err)
{
    (void)o;
    int fd = open(ep->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ferry_error_set(err, errno_status(errno), SYSTEM ": cannot open '%s': %s", ep->path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        close(fd);
        return ferry_error_set(err, FERRY_ERR_USAGE, SYSTEM ": '%s' is a directory", ep->path);
    }
    ferry_status st = fd_source_new(fd, 1, ep->path, out, err);
    if (st != FERRY_OK)
        close(fd);
    return st;
}

/* ---------------------------------------------------------------- sink */

typedef struct file_sink {
    ferry_writer base;
    int fd;
    int replace;
    char *target;       /* owned */
    char *temp;         /* owned; NULL once renamed or unlinked */
    char *dir;          /* owned */
    ferry_writer *out;  /* fd writer over fd */
} file_sink;

static char *dir_of(const char *path)
{
    char *copy = strdup(path);
    if (!copy)
        return NULL;
    char *d = strdup(dirname(copy));
    free(copy);
    return d;
}

/* The temp file ".<name>.ferry-tmp-XXXXXX" beside the target: ferry_tmpfile,
 * so O_EXCL, O_CLOEXEC and mode 0600 without touching the umask. */
static int create_temp_beside(file_sink *s, ferry_error *err)
{
    char *copy = strdup(s->target);
    size_t cap = copy ? strlen(copy) + 16 : 0;
    char *prefix = copy ? malloc(cap) : NULL;
    if (!prefix) {
        free(copy);
        ferry_error_oom(err, NULL, NULL, NULL);
        return -1;
    }
    snprintf(prefix, cap, ".%s.ferry-tmp-", basename(copy));
    free(copy);
    int fd = ferry_tmpfile(s->dir, prefix, &s->temp);
    int e = errno;
    free(prefix);
    if (fd < 0)
        ferry_error_set(err, errno_status(e), SYSTEM ": cannot create a temp file in '%s': %s", s->dir, strerror(e));
    return fd;
}

static ferry_status file_sink_write(ferry_writer *w, const void *buf, size_t len, ferry_error *err)
{
    file_sink *s = (file_sink *)w;
    ferry_status st = ferry_writer_write(s->out, buf, len, err);
    if (st != FERRY_OK)
        ferry_error_prefix(err, SYSTEM ": writing '%s'", s->target);
    return st;
}

static void fsync_dir(const char *dir)
{
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
}

static ferry_status file_sink_commit(ferry_writer *w, ferry_error *err)
{
    file_sink *s = (file_sink *)w;
    /* Temp files are created 0600; publish with the mode a new file would
     * get (0666 less the umask).  The umask is read from /proc/self/status
     * (ferry_default_file_mode), not with umask(): that call sets it too,
     * process-wide, racing with every thread that creates a file meanwhile. */
    if (fchmod(s->fd, ferry_default_file_mode()) != 0 || fsync(s->fd) != 0)
        return ferry_error_set(err, FERRY_ERR_IO, SYSTEM ": cannot flush '%s': %s", s->temp, strerror(errno));
    if (close(s->fd) != 0) {
        s->fd = -1;
        return ferry_error_set(err, FERRY_ERR_IO, SYSTEM ": cannot close '%s': %s", s->temp, strerror(errno));
    }
    s->fd = -1;
    if (s->replace) {
        if (rename(s->temp, s->target) != 0)
            return ferry_error_set(err, errno_status(errno), SYSTEM ": cannot rename into '%s': %s", s->target,
                                   strerror(errno));
    } else {
        if (link(s->temp, s->target) != 0) {
            if (errno == EEXIST)
                return ferry_error_set(err, FERRY_ERR_EXISTS,
                                       SYSTEM ": '%s' exists (use --replace to replace it)", s->target);
            return ferry_error_set(err, errno_status(errno), SYSTEM ": cannot create '%s': %s", s->target,
                                   strerror(errno));
        }
        unlink(s->temp);
    }
    free(s->temp);
    s->temp = NULL;
    fsync_dir(s->dir);
    return FERRY_OK;
}

static void file_sink_abort(ferry_writer *w)
{
    file_sink *s = (file_sink *)w;
    if (s->fd >= 0) {
        close(s->fd);
        s->fd = -1;
    }
    if (s->temp) {
        unlink(s->temp);
        free(s->temp);
        s->temp = NULL;
    }
}

static void file_sink_free(ferry_writer *w)
{
    file_sink *s = (file_sink *)w;
    if (!s)
        return;
    file_sink_abort(w);
    if (s->out)
        s->out->ops->free(s->out);
    free(s->target);
    free(s->dir);
    free(s);
}

static const ferry_writer_ops file_sink_ops = {"file", file_sink_write, file_sink_commit, file_sink_abort,
                                               file_sink_free};

static ferry_status special_sink_commit(ferry_writer *w, ferry_error *err)
{
    file_sink *s = (file_sink *)w;
    int rc = close(s->fd);
    s->fd = -1;
    if (rc != 0)
        return ferry_error_set(err, FERRY_ERR_IO, SYSTEM ": cannot close '%s': %s", s->target, strerror(errno));
    return FERRY_OK;
}

static const ferry_writer_ops special_sink_ops = {"file", file_sink_write, special_sink_commit, file_sink_abort,
                                                  file_sink_free};

/* A device, FIFO or socket (/dev/null, a named pipe) is written to as it is,
 * like stdout: it cannot be replaced by a rename and "exists" means nothing. */
static ferry_status open_special_sink(const ferry_endpoint *ep, ferry_writer **out, ferry_error *err)
{
    int fd = open(ep->path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return ferry_error_set(err, errno_status(errno), SYSTEM ": cannot open '%s': %s", ep->path, strerror(errno));
    file_sink *s = calloc(1, sizeof *s);
    if (!s) {
        close(fd);
        return ferry_error_oom(err, NULL, NULL, NULL);
    }
    s->base.ops = &special_sink_ops;
    s->base.rows = -1;
    s->fd = fd;
    s->target = strdup(ep->path);
    ferry_status st = s->target ? ferry_fd_writer_new(fd, s->target, &s->out, err)
                                : ferry_error_oom(err, NULL, NULL, NULL);
    if (st != FERRY_OK) {
        file_sink_free(&s->base);
        return st;
    }
    *out = &s->base;
    return FERRY_OK;
}

static ferry_status local_open_sink(const ferry_endpoint *ep, const ferry_copy_options *o, ferry_writer **out,
                                    ferry_error *err)
{
    struct stat sb;
    if (stat(ep->path, &sb) == 0) {
        if (S_ISDIR(sb.st_mode))
            return ferry_error_set(err, FERRY_ERR_USAGE, SYSTEM ": '%s' is a directory", ep->path);
        if (!S_ISREG(sb.st_mode))
            return open_special_sink(ep, out, err);
        if (!o->replace)
            return ferry_error_set(err, FERRY_ERR_EXISTS, SYSTEM ": '%s' exists (use --replace to replace it)",
                                   ep->path);
    }
    file_sink *s = calloc(1, sizeof *s);
    if (!s)
        return ferry_error_oom(err, NULL, NULL, NULL);
    s->base.ops = &file_sink_ops;
    s->base.rows = -1;
    s->fd = -1;
    s->replace = o->replace;
    s->target = strdup(ep->path);
    s->dir = s->target ? dir_of(ep->path) : NULL;
    if (!s->target || !s->dir) {
        file_sink_free(&s->base);
        return ferry_error_oom(err, NULL, NULL, NULL);
    }
    if (stat(s->dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        ferry_status st = ferry_error_set(err, FERRY_ERR_NOT_FOUND, SYSTEM ": directory '%s' does not exist",
                                          s->dir);
        file_sink_free(&s->base);
        return st;
    }
    s->fd = create_temp_beside(s, err);
    ferry_status st = s->fd < 0 ? err->status : ferry_fd_writer_new(s->fd, s->target, &s->out, err);
    if (st != FERRY_OK) {
        file_sink_free(&s->base);
        return st;
    }
    *out = &s->base;
    return FERRY_OK;
}

/* ---------------------------------------------------------------- operations */

static ferry_status local_stat(const ferry_endpoint *ep, ferry_entry *e, ferry_error *err)
{
    struct stat sb;
    if (stat(ep->path, &sb) != 0)
        return ferry_error_set(err, errno_status(errno), SYSTEM ": '%s': %s", ep->path, strerror(errno));
    if (!S_ISREG(sb.st_mode) && !S_ISDIR(sb.st_mode))
        return ferry_error_set(err, FERRY_ERR_NOT_FOUND, SYSTEM ": '%s' is not a regular file", ep->path);
    e->name = ep->path;
    e->size = sb.st_size;
    e->mtime = sb.st_mtime;
    e->is_dir = S_ISDIR(sb.st_mode);
    return FERRY_OK;
}

static ferry_status list_dir(const char *dir, const char *rel, const char *pattern, int recursive,
                             ferry_entry_fn fn, void *ud, ferry_error *err)
{
    DIR *d = opendir(dir);
    if (!d)
        return ferry_error_set(err, errno_status(errno), SYSTEM ": cannot list '%s': %s", dir, strerror(errno));
    ferry_status st = FERRY_OK;
    struct dirent *de;
    while (st == FERRY_OK && (de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        char full[4096], name[4096];
        snprintf(full, sizeof full, "%s/%s", dir, de->d_name);
        snprintf(name, sizeof name, "%s%s%s", rel, *rel ? "/" : "", de->d_name);
        struct stat sb;
        if (lstat(full, &sb) != 0)
            continue;
        int is_dir = S_ISDIR(sb.st_mode);
        if (is_dir && recursive) {
            st = list_dir(full, name, pattern, recursive, fn, ud, err);
            continue;
        }
        if (pattern && fnmatch(pattern, de->d_name, 0) != 0)
            continue;
        ferry_entry e = {name, sb.st_size, sb.st_mtime, is_dir};
        st = fn(&e, ud, err);
    }
    closedir(d);
    return st;
}

static ferry_status local_list(const ferry_endpoint *ep, int recursive, ferry_entry_fn fn, void *ud,
                               ferry_error *err)
{
    char *copy = strdup(ep->path);
    if (!copy)
        return ferry_error_oom(err, NULL, NULL, NULL);
    const char *pattern = NULL;
    const char *dir = copy;
    if (strpbrk(copy, "*?[")) {
        char *slash = strrchr(copy, '/');
        if (slash) {
            *slash = '\0';
            pattern = slash + 1;
        } else {
            pattern = copy;
            dir = ".";
        }
    }
    ferry_status st = list_dir(dir, "", pattern, recursive, fn, ud, err);
    free(copy);
    return st;
}

static ferry_status local_remove(const ferry_endpoint *ep, ferry_error *err)
{
    if (unlink(ep->path) != 0)
        return ferry_error_set(err, errno_status(errno), SYSTEM ": cannot remove '%s': %s", ep->path,
                               strerror(errno));
    return FERRY_OK;
}

static ferry_status local_mkdir(const ferry_endpoint *ep, int parents, ferry_error *err)
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s", ep->path) >= (int)sizeof path)
        return ferry_error_set(err, FERRY_ERR_USAGE, SYSTEM ": path too long");
    size_t n = strlen(path);
    while (n > 1 && path[n - 1] == '/')
        path[--n] = '\0';
    for (char *p = parents ? path + 1 : path + n; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(path, 0777) != 0 && errno != EEXIST) {
            ferry_status st = ferry_error_set(err, errno_status(errno), SYSTEM ": cannot create '%s': %s", path,
                                              strerror(errno));
            return st;
        }
        *p = '/';
    }
    if (mkdir(path, 0777) != 0 && !(errno == EEXIST && parents))
        return ferry_error_set(err, errno_status(errno), SYSTEM ": cannot create '%s': %s", path, strerror(errno));
    return FERRY_OK;
}

/* set_mtime: the file's modification time (its access time is left alone). */
static ferry_status local_set_mtime(const ferry_endpoint *ep, int64_t mtime, ferry_error *err)
{
    struct timespec t[2] = {{0, UTIME_OMIT}, {(time_t)mtime, 0}};
    if (utimensat(AT_FDCWD, ep->path, t, 0) != 0)
        return ferry_error_set(err, errno_status(errno), SYSTEM ": cannot set the time of '%s': %s", ep->path,
                               strerror(errno));
    return FERRY_OK;
}

const ferry_hook ferry_hook_local = {
    FERRY_HOOK_INIT,
    .name = "file",
    .conn_types = NULL,
    .open_source = local_open_source,
    .open_sink = local_open_sink,
    .stat = local_stat,
    .list = local_list,
    .remove = local_remove,
    .mkdir = local_mkdir,
    .set_mtime = local_set_mtime,
};

/* ---------------------------------------------------------------- stdin / stdout */

static ferry_status stdio_open_source(const ferry_endpoint *ep, const ferry_copy_options *o, ferry_source **out,
                                      ferry_error *err)
{
    (void)ep;
    (void)o;
    return fd_source_new(STDIN_FILENO, 0, "stdin", out, err);
}

static ferry_status stdio_open_sink(const ferry_endpoint *ep, const ferry_copy_options *o, ferry_writer **out,
                                    ferry_error *err)
{
    (void)ep;
    (void)o;
    return ferry_fd_writer_new(STDOUT_FILENO, "stdout", out, err);
}

const ferry_hook ferry_hook_stdio = {
    FERRY_HOOK_INIT,
    .name = "stdio",
    .conn_types = NULL,
    .open_source = stdio_open_source,
    .open_sink = stdio_open_sink,
};
