/*
 * memory.c - in-memory endpoints for tests and small outputs: a source over a
 * borrowed buffer and a writer that collects into a growing buffer (bounded by
 * max_bytes), and a writer over an open file descriptor.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/util.h"
#include "ferry/transfer.h"

typedef struct memory_source {
    ferry_source base;
    const unsigned char *data;
    size_t len, pos;
} memory_source;

static ferry_status memory_source_read(ferry_source *s, void *buf, size_t cap, size_t *nread, ferry_error *err)
{
    (void)err;
    memory_source *m = (memory_source *)s;
    size_t n = m->len - m->pos;
    if (n > cap)
        n = cap;
    memcpy(buf, m->data + m->pos, n);
    m->pos += n;
    *nread = n;
    return FERRY_OK;
}

static void memory_source_free(ferry_source *s)
{
    free(s);
}

static const ferry_source_ops memory_source_ops = {"memory", memory_source_read, NULL, memory_source_free};

ferry_status ferry_memory_source_new(const void *data, size_t len, ferry_source **out, ferry_error *err)
{
    memory_source *m = calloc(1, sizeof *m);
    if (!m)
        return ferry_error_oom(err, NULL, NULL, NULL);
    m->base.ops = &memory_source_ops;
    m->base.size = (int64_t)len;
    m->base.rows = -1;
    m->data = data;
    m->len = len;
    *out = &m->base;
    return FERRY_OK;
}

typedef struct memory_writer {
    ferry_writer base;
    ferry_buf buf;  /* owned: what was written (NUL-terminated as a bonus) */
    size_t max;
    int committed;
} memory_writer;

static ferry_status memory_writer_write(ferry_writer *w, const void *buf, size_t len, ferry_error *err)
{
    memory_writer *m = (memory_writer *)w;
    if (m->max && m->buf.len + len > m->max)
        return ferry_error_set(err, FERRY_ERR_DATA, "memory sink: more than %zu bytes", m->max);
    if (ferry_buf_append(&m->buf, buf, len) != 0)
        return ferry_error_oom(err, NULL, NULL, NULL);
    return FERRY_OK;
}

static ferry_status memory_writer_commit(ferry_writer *w, ferry_error *err)
{
    (void)err;
    ((memory_writer *)w)->committed = 1;
    return FERRY_OK;
}

static void memory_writer_abort(ferry_writer *w)
{
    memory_writer *m = (memory_writer *)w;
    ferry_buf_reset(&m->buf);
    m->committed = 0;
}

static void memory_writer_free(ferry_writer *w)
{
    memory_writer *m = (memory_writer *)w;
    if (!m)
        return;
    ferry_buf_release(&m->buf);
    free(m);
}

static const ferry_writer_ops memory_writer_ops = {"memory", memory_writer_write, memory_writer_commit,
                                                   memory_writer_abort, memory_writer_free};

ferry_status ferry_memory_writer_new(size_t max_bytes, ferry_writer **out, ferry_error *err)
{
    memory_writer *m = calloc(1, sizeof *m);
    if (!m)
        return ferry_error_oom(err, NULL, NULL, NULL);
    m->base.ops = &memory_writer_ops;
    m->base.rows = -1;
    m->max = max_bytes;
    *out = &m->base;
    return FERRY_OK;
}

const void *ferry_memory_writer_data(ferry_writer *w, size_t *len)
{
    memory_writer *m = (memory_writer *)w;
    *len = m->buf.len;
    return m->buf.data ? (const void *)m->buf.data : (const void *)"";
}

int ferry_memory_writer_committed(ferry_writer *w)
{
    return ((memory_writer *)w)->committed;
}

typedef struct fd_writer {
    ferry_writer base;
    int fd;
    const char *name;   /* borrowed, static or owned by the caller */
} fd_writer;

static ferry_status fd_writer_write(ferry_writer *w, const void *buf, size_t len, ferry_error *err)
{
    fd_writer *f = (fd_writer *)w;
    const char *p = buf;
    while (len > 0) {
        ssize_t n = write(f->fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            if (errno == EPIPE)
                return ferry_error_set(err, FERRY_ERR_IO, "%s: the reader closed the pipe", f->name);
            return ferry_error_set(err, FERRY_ERR_IO, "%s: write failed: %s", f->name, strerror(errno));
        }
        p += n;
        len -= (size_t)n;
    }
    return FERRY_OK;
}

static ferry_status fd_writer_commit(ferry_writer *w, ferry_error *err)
{
    (void)w;
    (void)err;
    return FERRY_OK;
}

static void fd_writer_abort(ferry_writer *w)
{
    (void)w;
}

static void fd_writer_free(ferry_writer *w)
{
    free(w);
}

static const ferry_writer_ops fd_writer_ops = {"fd", fd_writer_write, fd_writer_commit, fd_writer_abort,
                                               fd_writer_free};

ferry_status ferry_fd_writer_new(int fd, const char *name, ferry_writer **out, ferry_error *err)
{
    fd_writer *f = calloc(1, sizeof *f);
    if (!f)
        return ferry_error_oom(err, NULL, NULL, NULL);
    f->base.ops = &fd_writer_ops;
    f->base.rows = -1;
    f->fd = fd;
    f->name = name ? name : "output";
    *out = &f->base;
    return FERRY_OK;
}
