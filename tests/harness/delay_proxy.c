/*
 * tests/harness/delay_proxy.c - a TCP proxy that adds a fixed one-way delay,
 * for benchmarks and tests on kernels without netem.
 *
 *   delay_proxy --target PORT [--listen PORT] [--delay-ms D] [--buf-mib N]
 *
 * Listens on 127.0.0.1:LISTEN (0 or absent: any free port), forwards every
 * accepted connection to 127.0.0.1:TARGET and holds every byte D ms (default
 * 10) before passing it on, in each direction: a round trip through the proxy
 * takes 2 x D ms more.  Bytes are stamped when read; a direction buffers at
 * most N MiB (default 32) and stops reading from its source when full, so
 * memory stays bounded and TCP backpressure works.  Bandwidth is not capped:
 * one thread, epoll, 256 KiB reads (about 2 GB/s on loopback at 0 ms).
 *
 * Prints "delay_proxy pid=PID port=PORT" on stdout once it listens, then runs
 * until SIGTERM/SIGINT.  Test harness only: not installed, not part of
 * libferry.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define READ_MAX ((size_t)256 * 1024)
#define MARKS 65536             /* read timestamps buffered per direction */

/* Bytes [start, end) of the ring became readable at time t. */
typedef struct mark {
    uint64_t end;
    int64_t due_ns;             /* when they may be sent */
} mark;

/* One direction: src -> ring -> dst. */
typedef struct dir {
    int src, dst;               /* borrowed from the connection */
    unsigned char *ring;        /* owned, cap bytes, allocated on first read */
    size_t cap;
    uint64_t head, tail;        /* bytes read in total, bytes written in total */
    mark *marks;                /* owned, MARKS entries */
    size_t m_head, m_tail;      /* ring of marks: [m_tail, m_head) */
    int eof;                    /* src said EOF */
    int shut;                   /* dst was shut down for writing */
} dir;

typedef struct conn {
    int fd[2];                  /* owned: 0 = accepted client, 1 = target */
    dir d[2];                   /* 0: client -> target, 1: target -> client */
    uint32_t ev[2];             /* events registered per fd */
    int dead;
    struct conn *next;
} conn;

/* What epoll carries: which fd of which connection (listener: c == NULL). */
typedef struct tag {
    conn *c;
    int side;
} tag;

static volatile sig_atomic_t stop_flag;
static int64_t delay_ns;
static size_t buf_cap;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void nodelay(int fd)
{
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

/* Read what src has (room permitting), stamping it. */
static void dir_read(conn *c, dir *d)
{
    if (d->eof)
        return;
    if (!d->ring) {
        d->ring = malloc(d->cap);
        d->marks = malloc(MARKS * sizeof *d->marks);
        if (!d->ring || !d->marks) {
            fprintf(stderr, "delay_proxy: out of memory\n");
            c->dead = 1;
            return;
        }
    }
    for (int i = 0; i < 4; i++) {
        size_t used = (size_t)(d->head - d->tail);
        if (used >= d->cap || d->m_head - d->m_tail >= MARKS)
            return;
        size_t off = (size_t)(d->head % d->cap);
        size_t room = d->cap - used;
        if (room > d->cap - off)
            room = d->cap - off;    /* up to the end of the ring */
        if (room > READ_MAX)
            room = READ_MAX;
        ssize_t n = read(d->src, d->ring + off, room);
        if (n > 0) {
            d->head += (uint64_t)n;
            int64_t due = now_ns() + delay_ns;
            mark *last = d->m_head > d->m_tail ? &d->marks[(d->m_head - 1) % MARKS] : NULL;
            if (last && last->due_ns >= due - 100000) /* same 0.1 ms: extend */
                last->end = d->head;
            else
                d->marks[d->m_head++ % MARKS] = (mark){d->head, due};
        } else if (n == 0) {
            d->eof = 1;
            return;
        } else {
            if (errno != EAGAIN && errno != EINTR)
                c->dead = 1;
            return;
        }
    }
}

/* Write what is due; returns the next due time (0: nothing waiting). */
static int64_t dir_write(conn *c, dir *d, int64_t now)
{
    while (d->m_tail < d->m_head) {
        mark *m = &d->marks[d->m_tail % MARKS];
        if (m->due_ns > now)
            return m->due_ns;
        while (d->tail < m->end) {
            size_t off = (size_t)(d->tail % d->cap);
            size_t len = (size_t)(m->end - d->tail);
            if (len > d->cap - off)
                len = d->cap - off;
            ssize_t n = write(d->dst, d->ring + off, len);
            if (n > 0) {
                d->tail += (uint64_t)n;
            } else {
                if (n < 0 && errno != EAGAIN && errno != EINTR)
                    c->dead = 1;
                return 0;   /* blocked: EPOLLOUT wakes us */
            }
        }
        d->m_tail++;
    }
    if (d->eof && !d->shut && d->tail == d->head) {
        shutdown(d->dst, SHUT_WR);
        d->shut = 1;
    }
    return 0;
}

static void update_events(int ep, conn *c, tag *tags)
{
    for (int side = 0; side < 2; side++) {
        dir *in = &c->d[side];      /* reads fd[side] */
        dir *out = &c->d[1 - side]; /* writes fd[side] */
        uint32_t ev = 0;
        if (!in->eof && (!in->ring || (in->head - in->tail < in->cap && in->m_head - in->m_tail < MARKS)))
            ev |= EPOLLIN;
        if (out->m_tail < out->m_head && out->marks[out->m_tail % MARKS].due_ns <= now_ns())
            ev |= EPOLLOUT;
        if (ev != c->ev[side]) {
            struct epoll_event e = {.events = ev, .data.ptr = &tags[side]};
            epoll_ctl(ep, EPOLL_CTL_MOD, c->fd[side], &e);
            c->ev[side] = ev;
        }
    }
}

static conn *conn_open(int ep, int client, const struct sockaddr_in *target)
{
    int up = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (up < 0 || connect(up, (const struct sockaddr *)target, sizeof *target) != 0) {
        perror("delay_proxy: connect to target");
        if (up >= 0)
            close(up);
        close(client);
        return NULL;
    }
    nodelay(client);
    nodelay(up);
    conn *c = calloc(1, sizeof *c + 2 * sizeof(tag));
    if (!c) {
        close(up);
        close(client);
        return NULL;
    }
    c->fd[0] = client;
    c->fd[1] = up;
    for (int side = 0; side < 2; side++) {
        c->d[side].src = c->fd[side];
        c->d[side].dst = c->fd[1 - side];
        c->d[side].cap = buf_cap;
        tag *t = (tag *)(c + 1) + side;
        t->c = c;
        t->side = side;
        /* non-blocking from here on */
        fcntl(c->fd[side], F_SETFL, fcntl(c->fd[side], F_GETFL) | O_NONBLOCK);
        c->ev[side] = EPOLLIN;
        struct epoll_event e = {.events = EPOLLIN, .data.ptr = t};
        epoll_ctl(ep, EPOLL_CTL_ADD, c->fd[side], &e);
    }
    return c;
}

static void conn_close(conn *c)
{
    for (int side = 0; side < 2; side++) {
        close(c->fd[side]);
        free(c->d[side].ring);
        free(c->d[side].marks);
    }
    free(c);
}

static int usage(void)
{
    fprintf(stderr, "usage: delay_proxy --target PORT [--listen PORT] [--delay-ms D] [--buf-mib N]\n");
    return 2;
}

int main(int argc, char **argv)
{
    long target_port = -1, listen_port = 0, buf_mib = 32;
    double delay_ms = 10;
    for (int i = 1; i < argc; i++) {
        if (i + 1 >= argc)
            return usage();
        char *end = NULL;
        const char *v = argv[i + 1];
        if (strcmp(argv[i], "--target") == 0)
            target_port = strtol(v, &end, 10);
        else if (strcmp(argv[i], "--listen") == 0)
            listen_port = strtol(v, &end, 10);
        else if (strcmp(argv[i], "--delay-ms") == 0)
            delay_ms = strtod(v, &end);
        else if (strcmp(argv[i], "--buf-mib") == 0)
            buf_mib = strtol(v, &end, 10);
        else
            return usage();
        if (end == v || *end)
            return usage();
        i++;
    }
    if (target_port < 1 || target_port > 65535 || listen_port < 0 || listen_port > 65535 || delay_ms < 0 ||
        buf_mib < 1 || buf_mib > 1024)
        return usage();
    delay_ns = (int64_t)(delay_ms * 1e6);
    buf_cap = (size_t)buf_mib * 1024 * 1024;

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct sockaddr_in target = {.sin_family = AF_INET, .sin_port = htons((uint16_t)target_port)};
    target.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)listen_port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(lfd, 64) != 0) {
        perror("delay_proxy: listen");
        return 1;
    }
    socklen_t alen = sizeof addr;
    getsockname(lfd, (struct sockaddr *)&addr, &alen);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    tag ltag = {NULL, 0};
    struct epoll_event le = {.events = EPOLLIN, .data.ptr = &ltag};
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &le);
    printf("delay_proxy pid=%ld port=%d\n", (long)getpid(), ntohs(addr.sin_port));
    fflush(stdout);

    conn *conns = NULL;
    struct epoll_event evs[64];
    int timeout_ms = -1;
    while (!stop_flag) {
        int n = epoll_wait(ep, evs, 64, timeout_ms);
        if (n < 0 && errno != EINTR) {
            perror("delay_proxy: epoll_wait");
            break;
        }
        for (int i = 0; i < n; i++) {
            tag *t = evs[i].data.ptr;
            if (!t->c) {
                int cfd;
                while ((cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
                    conn *c = conn_open(ep, cfd, &target);
                    if (c) {
                        c->next = conns;
                        conns = c;
                    }
                }
                continue;
            }
            conn *c = t->c;
            if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
                dir_read(c, &c->d[t->side]);
        }
        /* write what is due, then recompute interest and the next wakeup */
        int64_t now = now_ns(), next = 0;
        for (conn **pc = &conns; *pc;) {
            conn *c = *pc;
            for (int k = 0; k < 2 && !c->dead; k++) {
                int64_t due = dir_write(c, &c->d[k], now);
                if (due && (!next || due < next))
                    next = due;
            }
            int done = c->d[0].shut && c->d[1].shut;
            if (c->dead || done) {
                *pc = c->next;
                conn_close(c);
                continue;
            }
            update_events(ep, c, (tag *)(c + 1));
            pc = &c->next;
        }
        timeout_ms = next ? (int)((next - now + 999999) / 1000000) : -1;
        if (next && timeout_ms < 1)
            timeout_ms = 1;
    }
    while (conns) {
        conn *c = conns;
        conns = c->next;
        conn_close(c);
    }
    close(lfd);
    close(ep);
    return 0;
}
