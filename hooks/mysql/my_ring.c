/*
 * hooks/mysql/my_ring.c - the bounded hand-off between the sink's write()
 * (the transfer's thread) and LOAD DATA's infile read callback (the load
 * thread): a ring buffer of fixed size under one mutex.  A full ring blocks
 * write() - back-pressure from the server all the way to the source - and
 * the waits wake every FERRY_MY_POLL_MS to look at ferry_cancelled() and the
 * timeout.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "my_internal.h"

int ferry_my_ring_init(ferry_my_ring *r, size_t cap)
{
    memset(r, 0, sizeof *r);
    r->buf = malloc(cap);
    if (!r->buf)
        return -1;
    r->cap = cap;
    pthread_mutex_init(&r->mu, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&r->readable, &attr);
    pthread_cond_init(&r->writable, &attr);
    pthread_condattr_destroy(&attr);
    r->last_pop = ferry_now_monotonic();
    return 0;
}

void ferry_my_ring_release(ferry_my_ring *r)
{
    if (!r || !r->buf)
        return;
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->readable);
    pthread_cond_destroy(&r->writable);
    free(r->buf);
    r->buf = NULL;
}

static void wait_slice(pthread_cond_t *cond, pthread_mutex_t *mu)
{
    struct timespec ts;
    ferry_monotonic_deadline(&ts, FERRY_MY_POLL_MS / 1000.0);
    pthread_cond_timedwait(cond, mu, &ts);
}

int ferry_my_ring_push(ferry_my_ring *r, const char *data, size_t len, double timeout)
{
    int rc = 0;
    pthread_mutex_lock(&r->mu);
    while (len > 0) {
        if (r->closed || r->aborted) {
            rc = -1;
            break;
        }
        size_t room = r->cap - r->len;
        if (room == 0) {
            if (ferry_cancelled()) {
                rc = -2;
                break;
            }
            if (timeout > 0 && ferry_now_monotonic() - r->last_pop > timeout) {
                rc = -3;
                break;
            }
            wait_slice(&r->writable, &r->mu);
            continue;
        }
        size_t tail = (r->head + r->len) % r->cap;
        size_t n = len < room ? len : room;
        if (n > r->cap - tail)
            n = r->cap - tail; /* up to the end of the buffer; the rest next round */
        memcpy(r->buf + tail, data, n);
        r->len += n;
        data += n;
        len -= n;
        pthread_cond_signal(&r->readable);
    }
    pthread_mutex_unlock(&r->mu);
    return rc;
}

long ferry_my_ring_pop(ferry_my_ring *r, char *buf, size_t cap)
{
    long got;
    pthread_mutex_lock(&r->mu);
    for (;;) {
        if (r->aborted) {
            got = -1;
            break;
        }
        if (r->len > 0) {
            size_t n = r->len < cap ? r->len : cap;
            if (n > r->cap - r->head)
                n = r->cap - r->head;
            memcpy(buf, r->buf + r->head, n);
            r->head = (r->head + n) % r->cap;
            r->len -= n;
            r->last_pop = ferry_now_monotonic();
            pthread_cond_signal(&r->writable);
            got = (long)n;
            break;
        }
        if (r->eof) {
            got = 0;
            break;
        }
        wait_slice(&r->readable, &r->mu);
    }
    pthread_mutex_unlock(&r->mu);
    return got;
}

void ferry_my_ring_finish(ferry_my_ring *r)
{
    pthread_mutex_lock(&r->mu);
    r->eof = 1;
    pthread_cond_broadcast(&r->readable);
    pthread_mutex_unlock(&r->mu);
}

void ferry_my_ring_abort(ferry_my_ring *r)
{
    pthread_mutex_lock(&r->mu);
    r->aborted = 1;
    pthread_cond_broadcast(&r->readable);
    pthread_cond_broadcast(&r->writable);
    pthread_mutex_unlock(&r->mu);
}

void ferry_my_ring_close(ferry_my_ring *r)
{
    pthread_mutex_lock(&r->mu);
    r->closed = 1;
    pthread_cond_broadcast(&r->writable);
    pthread_mutex_unlock(&r->mu);
}
