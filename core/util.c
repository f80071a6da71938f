/*
 * core/util.c - the small shared helpers of libferry (core/util.h): the
 * monotonic clock, sleeps, printf into a new string, the out-of-memory error
 * and the one temp-file function.
 */
#include "core/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ferry/stream.h"

/* ---- time ----------------------------------------------------------------- */

double ferry_now_monotonic(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void ferry_monotonic_deadline(struct timespec *ts, double seconds)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    if (seconds <= 0)
        return;
    time_t whole = (time_t)seconds;
    ts->tv_sec += whole;
    ts->tv_nsec += (long)((seconds - (double)whole) * 1e9);
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec += ts->tv_nsec / 1000000000L;
        ts->tv_nsec %= 1000000000L;
    }
}

void ferry_sleep(double seconds)
{
    if (seconds <= 0)
        return;
    struct timespec ts;
    ts.tv_sec = (time_t)seconds;
    ts.tv_nsec = (long)((seconds - (double)ts.tv_sec) * 1e9);
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

int ferry_sleep_cancellable(double seconds)
{
    double end = ferry_now_monotonic() + seconds;
    for (;;) {
        if (ferry_cancelled())
            return -1;
        double left = end - ferry_now_monotonic();
        if (left <= 0)
            return 0;
        ferry_sleep(left < 0.05 ? left : 0.05);
    }
}

/* ---- strings ------------------------------------------------------------- */

char *ferry_strdup_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    return n < 0 ? NULL : s;
}

/* ---- errors --------------------------------------------------------------- */

ferry_status ferry_error_oom(ferry_error *err, const char *system, const char *conn_id, const char *what)
{
    const char *w = what && *what ? what : NULL;
    if (system && *system)
        return ferry_error_hook(err, FERRY_ERR_INTERNAL, system, conn_id, "%s%sout of memory", w ? w : "",
                                w ? ": " : "");
    return ferry_error_set(err, FERRY_ERR_INTERNAL, "%s%sout of memory", w ? w : "", w ? ": " : "");
}

/* ---- files ---------------------------------------------------------------- */

int ferry_tmpfile(const char *dir, const char *prefix, char **path_out)
{
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    if (path_out)
        *path_out = NULL;
    if (!dir || !*dir) {
        dir = getenv("TMPDIR");
        if (!dir || !*dir)
            dir = "/tmp";
    }
    if (!prefix)
        prefix = "";
    size_t cap = strlen(dir) + strlen(prefix) + 8;
    char *path = malloc(cap);
    if (!path) {
        errno = ENOMEM;
        return -1;
    }
    int fd = -1;
    for (int attempt = 0; attempt < 100; attempt++) {
        unsigned char rnd[6];
        if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd) {
            /* no entropy source (very old kernel): time and pid still differ per try */
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            unsigned long long v = (unsigned long long)ts.tv_nsec ^ ((unsigned long long)getpid() << 30) ^
                                   ((unsigned long long)attempt << 50);
            for (size_t i = 0; i < sizeof rnd; i++, v >>= 8)
                rnd[i] = (unsigned char)v;
        }
        char suffix[7];
        for (size_t i = 0; i < 6; i++)
            suffix[i] = alphabet[rnd[i] % (sizeof alphabet - 1)];
        suffix[6] = '\0';
        snprintf(path, cap, "%s/%s%s", dir, prefix, suffix);
        fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd >= 0 || errno != EEXIST)
            break;
    }
    if (fd < 0) {
        int e = errno;
        free(path);
        errno = e;
        return -1;
    }
    /* the umask may have removed bits from 0600; set it exactly */
    if (fchmod(fd, 0600) != 0) {
        int e = errno;
        close(fd);
        unlink(path);
        free(path);
        errno = e;
        return -1;
    }
    if (path_out) {
        *path_out = path;
    } else {
        unlink(path);
        free(path);
    }
    return fd;
}

mode_t ferry_default_file_mode(void)
{
    mode_t mask = 022;
    FILE *f = fopen("/proc/self/status", "re");
    if (f) {
        char line[256];
        while (fgets(line, sizeof line, f)) {
            unsigned int m;
            if (sscanf(line, "Umask: %o", &m) == 1) {
                mask = (mode_t)(m & 0777);
                break;
            }
        }
        fclose(f);
    }
    return 0666 & ~mask;
}
