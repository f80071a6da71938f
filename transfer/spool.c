/*
 * spool.c - the temp-file spool (`--spool disk`, Airflow's use_temp_file):
 * the source is first drained into an anonymous temp file in TMPDIR (created
 * with O_EXCL and mode 0600, unlinked at once so no path can leak even on
 * SIGKILL), then the file is read back as the transfer's source.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/util.h"
#include "ferry/transfer.h"
#include "transfer/spool.h"

typedef struct spool_source {
    ferry_source base;
    int fd;
} spool_source;

static ferry_status spool_read(ferry_source *s, void *buf, size_t cap, size_t *nread, ferry_error *err)
{
    spool_source *sp = (spool_source *)s;
    for (;;) {
        ssize_t n = read(sp->fd, buf, cap);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return ferry_error_set(err, FERRY_ERR_IO, "spool: read failed: %s", strerror(errno));
        *nread = (size_t)n;
        return FERRY_OK;
    }
}

static void spool_free(ferry_source *s)
{
    spool_source *sp = (spool_source *)s;
    if (!sp)
        return;
    if (sp->fd >= 0)
        close(sp->fd);
    free(sp);
}

static const ferry_source_ops spool_source_ops = {"spool", spool_read, NULL, spool_free};

/* Create the anonymous temp file: TMPDIR/ferry-spool-XXXXXX, O_EXCL, 0600,
 * unlinked (ferry_tmpfile). */
static int spool_create(ferry_error *err)
{
    int fd = ferry_tmpfile(NULL, "ferry-spool-", NULL);
    if (fd < 0) {
        int e = errno;
        const char *dir = getenv("TMPDIR");
        ferry_error_set(err, FERRY_ERR_IO, "spool: cannot create a temp file in %s: %s", dir && *dir ? dir : "/tmp",
                        strerror(e));
    }
    return fd;
}

ferry_status ferry_spool_source(ferry_source *src, void *chunk, size_t chunk_size, int64_t *rows,
                                ferry_source **out, ferry_error *err)
{
    *out = NULL;
    int fd = spool_create(err);
    if (fd < 0)
        return err ? err->status : FERRY_ERR_IO;
    ferry_writer *w = NULL;
    ferry_status st = ferry_fd_writer_new(fd, "spool file", &w, err);
    ferry_summary sum = {0};
    if (st == FERRY_OK)
        st = ferry_pump(src, w, chunk, chunk_size, NULL, &sum, err);
    if (w)
        w->ops->free(w);
    if (st == FERRY_OK && lseek(fd, 0, SEEK_SET) != 0)
        st = ferry_error_set(err, FERRY_ERR_IO, "spool: seek failed: %s", strerror(errno));
    spool_source *sp = NULL;
    if (st == FERRY_OK && !(sp = calloc(1, sizeof *sp)))
        st = ferry_error_oom(err, NULL, NULL, NULL);
    if (st != FERRY_OK) {
        close(fd);
        return st;
    }
    sp->base.ops = &spool_source_ops;
    sp->base.size = sum.bytes_read;
    sp->base.rows = -1;
    sp->fd = fd;
    *rows = sum.rows_read;
    *out = &sp->base;
    return FERRY_OK;
}
