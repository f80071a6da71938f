/*
 * stats.c - `ferry copy --stats DURATION`: one line every DURATION on stderr
 * with the bytes and rows moved so far, the rate, the time elapsed and, when
 * the total is known, the ETA; one JSON object per line under --log-format
 * json.  For logs (an Airflow task log, a CI job) where no terminal shows the
 * progress line.
 *
 * Driven by the transfer's progress callback (ferry_copy_options.progress,
 * called by the pump at most every 200 ms while data flows): no thread, no
 * timer, no allocation.  A multi-file copy runs one transfer per file (maybe
 * several at once, on their own threads), each reporting its own bytes from
 * 0: a thread's transfer is taken as a new file when its bytes, seconds or
 * total go back or change, and only the increase since its last report is
 * added to the sums, under one mutex.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static double interval;         /* seconds between lines; 0 = off */
static double t0, next_at;      /* monotonic: start, time of the next line */
static int64_t sum_bytes, sum_rows;
static int rows_known;
static int files;               /* transfers seen */
static int clear_line;          /* the TTY progress line is on: clear it first */

/* this thread's current transfer, as last reported */
static _Thread_local int64_t my_bytes, my_rows, my_total;
static _Thread_local double my_seconds;
static _Thread_local int my_started;

static double now_monotonic(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void cli_stats_start(double every, int progress_line_on)
{
    interval = every > 0 ? every : 0;
    t0 = now_monotonic();
    next_at = t0 + interval;
    sum_bytes = sum_rows = 0;
    rows_known = 0;
    files = 0;
    clear_line = progress_line_on;
}

int cli_stats_on(void)
{
    return interval > 0;
}

static void human(double b, char *out, size_t cap)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    while (b >= 1024 && u < 4) {
        b /= 1024;
        u++;
    }
    snprintf(out, cap, u ? "%.1f %s" : "%.0f %s", b, units[u]);
}

/* One line; called with lock held.  eta < 0: unknown. */
static void emit(double elapsed, int64_t total, double eta)
{
    double rate = elapsed > 0 ? (double)sum_bytes / elapsed : 0;
    if (cli.log_json) {
        char ts[32];
        time_t now = time(NULL);
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
        fprintf(stderr, "{\"ts\":\"%s\",\"level\":\"info\",\"msg\":\"stats\",\"bytes\":%lld,\"rows\":", ts,
                (long long)sum_bytes);
        if (rows_known)
            fprintf(stderr, "%lld", (long long)sum_rows);
        else
            fputs("null", stderr);
        fprintf(stderr, ",\"bytes_per_s\":%.0f,\"elapsed_s\":%.1f,\"files\":%d", rate, elapsed, files);
        if (total > 0 && eta >= 0)
            fprintf(stderr, ",\"total_bytes\":%lld,\"eta_s\":%.0f", (long long)total, eta);
        fputs("}\n", stderr);
        return;
    }
    char done[32], speed[32];
    human((double)sum_bytes, done, sizeof done);
    human(rate, speed, sizeof speed);
    fprintf(stderr, "%sferry: stats: %s", clear_line ? "\r\033[K" : "", done);
    if (files > 1)
        fprintf(stderr, " in %d files", files);
    if (rows_known)
        fprintf(stderr, ", %lld rows", (long long)sum_rows);
    fprintf(stderr, ", %s/s, elapsed %.1fs", speed, elapsed);
    if (total > 0 && eta >= 0)
        fprintf(stderr, ", ETA %.0fs (%.0f%% of %lld bytes)", eta, 100.0 * (double)sum_bytes / (double)total,
                (long long)total);
    fputc('\n', stderr);
}

void cli_stats_progress(int64_t bytes, int64_t rows, int64_t total, double seconds)
{
    if (interval <= 0)
        return;
    /* a new transfer on this thread: its counts start from 0 */
    int fresh = !my_started || bytes < my_bytes || seconds < my_seconds || total != my_total;
    int64_t db = fresh ? bytes : bytes - my_bytes;
    int64_t dr = rows < 0 ? 0 : fresh || my_rows < 0 ? rows : rows - my_rows;
    my_bytes = bytes;
    my_rows = rows;
    my_total = total;
    my_seconds = seconds;
    my_started = 1;
    double now = now_monotonic();
    pthread_mutex_lock(&lock);
    files += fresh;
    sum_bytes += db;
    sum_rows += dr;
    rows_known |= rows >= 0;
    if (now >= next_at) {
        /* an ETA only for one file of known size, from its own rate */
        double eta = -1;
        if (files == 1 && total > 0 && bytes > 0 && seconds > 0) {
            eta = (double)(total - bytes) / ((double)bytes / seconds);
            if (eta < 0)
                eta = 0;
        }
        emit(now - t0, files == 1 ? total : -1, eta);
        while (next_at <= now)
            next_at += interval;
    }
    pthread_mutex_unlock(&lock);
}
