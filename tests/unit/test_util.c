/*
 * test_util.c - the shared helpers of core/buf.c, core/encode.c and
 * core/util.c without a server: ferry_buf growth, appendf, sticky failure,
 * take, reset and release; lower-case hex and hex digits; base64 round trips
 * (every padding case) and rejected input; printf into a new string; the
 * out-of-memory message; ferry_tmpfile's mode 0600 (whatever the umask),
 * O_EXCL names and anonymous files; the umask read without umask(); the
 * monotonic clock; cancellable sleeps returning early.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "core/buf.h"
#include "core/encode.h"
#include "core/util.h"
#include "ferry/stream.h"

static void test_buf_growth(void)
{
    ferry_buf b = {0};
    CHECK(b.data == NULL);
    CHECK_INTEQ(ferry_buf_append(&b, NULL, 0), 0);
    CHECK(b.data != NULL);
    CHECK_STREQ(b.data, "");
    for (int i = 0; i < 10000; i++)
        CHECK_INTEQ(ferry_buf_append(&b, "0123456789", 10), 0);
    CHECK_INTEQ(b.len, 100000);
    CHECK(b.cap > b.len);
    CHECK(b.data[b.len] == '\0');
    CHECK(memcmp(b.data + 99990, "0123456789", 10) == 0);
    size_t cap = b.cap;
    char *data = b.data;
    ferry_buf_reset(&b);
    CHECK_INTEQ(b.len, 0);
    CHECK_STREQ(b.data, "");
    CHECK(b.cap == cap && b.data == data); /* reset keeps the memory */
    CHECK_INTEQ(ferry_buf_appends(&b, "abc"), 0);
    CHECK(b.data == data);                 /* and reuses it */
    CHECK_STREQ(b.data, "abc");
    ferry_buf_release(&b);
    CHECK(b.data == NULL && b.len == 0 && b.cap == 0);
    ferry_buf_release(&b); /* twice is fine */
    CHECK_INTEQ(ferry_buf_appends(&b, "again"), 0);
    CHECK_STREQ(b.data, "again");
    ferry_buf_release(&b);
}

static void test_buf_appendf(void)
{
    ferry_buf b = {0};
    CHECK_INTEQ(ferry_buf_appendf(&b, "%s=%d", "n", 42), 0);
    CHECK_INTEQ(ferry_buf_appendf(&b, "&%s", "x"), 0);
    CHECK_STREQ(b.data, "n=42&x");
    CHECK_INTEQ(b.len, 6);
    char big[5000];
    memset(big, 'z', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    CHECK_INTEQ(ferry_buf_appendf(&b, "[%s]", big), 0); /* grows past the first capacity */
    CHECK_INTEQ(b.len, 6 + 2 + 4999);
    CHECK(b.data[6] == '[' && b.data[b.len - 1] == ']' && b.data[b.len] == '\0');
    ferry_buf_release(&b);
}

static void test_buf_sticky_failure(void)
{
    ferry_buf b = {0};
    CHECK_INTEQ(ferry_buf_appends(&b, "kept"), 0);
    CHECK_INTEQ(ferry_buf_reserve(&b, (size_t)-1), -1); /* cannot be had */
    CHECK(b.failed);
    CHECK_STREQ(b.data, "kept");                        /* contents unchanged */
    CHECK_INTEQ(ferry_buf_appends(&b, "x"), -1);        /* later appends fail too */
    CHECK_INTEQ(ferry_buf_appendf(&b, "%d", 1), -1);
    CHECK_STREQ(b.data, "kept");
    CHECK(ferry_buf_take(&b) == NULL);                  /* and take says so */
    CHECK(b.data == NULL && !b.failed);
    CHECK_INTEQ(ferry_buf_appends(&b, "a"), 0);
    ferry_buf_reserve(&b, (size_t)-1);
    ferry_buf_reset(&b);                                /* reset clears the failure */
    CHECK(!b.failed);
    CHECK_INTEQ(ferry_buf_appends(&b, "b"), 0);
    char *s = ferry_buf_take(&b);
    CHECK_STREQ(s, "b");
    free(s);
    ferry_buf empty = {0};
    s = ferry_buf_take(&empty);                         /* nothing appended: "" */
    CHECK_STREQ(s, "");
    free(s);
}

static void test_hex(void)
{
    char out[64];
    CHECK_INTEQ(ferry_hex_encode("", 0, out), 0);
    CHECK_STREQ(out, "");
    const unsigned char bytes[] = {0x00, 0x01, 0x7f, 0x80, 0xab, 0xff};
    CHECK_INTEQ(ferry_hex_encode(bytes, sizeof bytes, out), 12);
    CHECK_STREQ(out, "00017f80abff");
    const char *digits = "0123456789abcdefABCDEF";
    for (int i = 0; digits[i]; i++)
        CHECK_INTEQ(ferry_hex_value(digits[i]), i < 16 ? i : i - 6);
    CHECK_INTEQ(ferry_hex_value('g'), -1);
    CHECK_INTEQ(ferry_hex_value('/'), -1);
    CHECK_INTEQ(ferry_hex_value(0), -1);
    CHECK_INTEQ(ferry_hex_value(0xe9), -1);
}

static void test_base64_round_trip(void)
{
    static const char *const plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *const coded[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++) {
        char enc[32];
        size_t n = strlen(plain[i]);
        CHECK_INTEQ(ferry_base64_encode(plain[i], n, enc, sizeof enc), strlen(coded[i]));
        CHECK_STREQ(enc, coded[i]);
        unsigned char dec[32];
        CHECK_INTEQ(ferry_base64_decode(enc, strlen(enc), dec, sizeof dec), (long)n);
        CHECK(memcmp(dec, plain[i], n) == 0);
    }
    /* every byte value, every length up to 64 */
    unsigned char all[256];
    for (int i = 0; i < 256; i++)
        all[i] = (unsigned char)(255 - i);
    for (size_t n = 0; n <= 64; n++) {
        char enc[FERRY_BASE64_CAP(256)];
        unsigned char dec[256];
        size_t len = ferry_base64_encode(all + 100, n, enc, sizeof enc);
        CHECK_INTEQ(len, 4 * ((n + 2) / 3));
        CHECK_INTEQ(ferry_base64_decode(enc, len, dec, sizeof dec), (long)n);
        CHECK(memcmp(dec, all + 100, n) == 0);
    }
    char enc[FERRY_BASE64_CAP(256)];
    size_t len = ferry_base64_encode(all, 256, enc, sizeof enc);
    unsigned char dec[256];
    CHECK_INTEQ(ferry_base64_decode(enc, len, dec, sizeof dec), 256);
    CHECK(memcmp(dec, all, 256) == 0);
}

static void test_base64_limits(void)
{
    char small[8];
    /* "foobar" needs 9 bytes with the NUL */
    CHECK_INTEQ(ferry_base64_encode("foobar", 6, small, sizeof small), 0);
    CHECK_STREQ(small, "");
    unsigned char out[16];
    CHECK_INTEQ(ferry_base64_decode("Zm9", 3, out, sizeof out), -1);       /* not a multiple of 4 */
    CHECK_INTEQ(ferry_base64_decode("Zm9v!A==", 8, out, sizeof out), -1);  /* bad character */
    CHECK_INTEQ(ferry_base64_decode("Zg==Zg==", 8, out, sizeof out), -1);  /* padding in the middle */
    CHECK_INTEQ(ferry_base64_decode("Z===", 4, out, sizeof out), -1);      /* three '=' */
    CHECK_INTEQ(ferry_base64_decode("Zm9 v", 4, out, sizeof out), -1);     /* white space */
    CHECK_INTEQ(ferry_base64_decode("Zm9vYmFy", 8, out, 5), -1);           /* no room */
    CHECK_INTEQ(ferry_base64_decode("Zm9vYmFy", 8, out, 6), 6);
}

static void test_strdup_printf(void)
{
    char *s = ferry_strdup_printf("%s-%d", "range", 7);
    CHECK_STREQ(s, "range-7");
    free(s);
    s = ferry_strdup_printf("%s", "");
    CHECK_STREQ(s, "");
    free(s);
}

static void test_error_oom(void)
{
    ferry_error e;
    ferry_error_clear(&e);
    CHECK_INTEQ(ferry_error_oom(&e, NULL, NULL, NULL), FERRY_ERR_INTERNAL);
    CHECK_STREQ(e.msg, "out of memory");
    CHECK_INTEQ(ferry_error_oom(&e, "s3", NULL, NULL), FERRY_ERR_INTERNAL);
    CHECK_STREQ(e.msg, "s3: out of memory");
    ferry_error_oom(&e, "mysql", "db1", "reading rows");
    CHECK_STREQ(e.msg, "mysql(db1): reading rows: out of memory");
    ferry_error_oom(&e, NULL, NULL, "gzip");
    CHECK_STREQ(e.msg, "gzip: out of memory");
    CHECK_INTEQ(e.status, FERRY_ERR_INTERNAL);
    CHECK_INTEQ(ferry_error_oom(NULL, "x", NULL, NULL), FERRY_ERR_INTERNAL);
}

static void test_tmpfile(void)
{
    char dir[] = "/tmp/ferry-test-util-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    /* a restrictive umask of this test process must not change the mode ... */
    mode_t old = umask(0277);
    char *path = NULL;
    int fd = ferry_tmpfile(dir, "t-", &path);
    umask(old);
    CHECK(fd >= 0);
    CHECK(path != NULL);
    struct stat st;
    CHECK_INTEQ(fstat(fd, &st), 0);
    CHECK_INTEQ(st.st_mode & 07777, 0600);
    CHECK(fcntl(fd, F_GETFD) & FD_CLOEXEC);
    CHECK_INTEQ(write(fd, "x", 1), 1);
    CHECK(strncmp(path, dir, strlen(dir)) == 0);
    CHECK(strncmp(path + strlen(dir), "/t-", 3) == 0);
    CHECK_INTEQ(strlen(path), strlen(dir) + 3 + 6);
    /* ... and an existing name is never reused (O_EXCL): the file is not opened again */
    CHECK_INTEQ(open(path, O_RDWR | O_CREAT | O_EXCL, 0600), -1);
    CHECK_INTEQ(errno, EEXIST);
    char *path2 = NULL;
    int fd2 = ferry_tmpfile(dir, "t-", &path2);
    CHECK(fd2 >= 0 && path2 && strcmp(path, path2) != 0);
    close(fd2);
    unlink(path2);
    free(path2);
    /* anonymous: unlinked at once, still usable */
    int fd3 = ferry_tmpfile(dir, "anon-", NULL);
    CHECK(fd3 >= 0);
    CHECK_INTEQ(fstat(fd3, &st), 0);
    CHECK_INTEQ(st.st_nlink, 0);
    CHECK_INTEQ(write(fd3, "abc", 3), 3);
    close(fd3);
    /* a missing directory: -1 and errno */
    char missing[300];
    snprintf(missing, sizeof missing, "%s/no/such", dir);
    errno = 0;
    CHECK_INTEQ(ferry_tmpfile(missing, "x", &path2), -1);
    CHECK_INTEQ(errno, ENOENT);
    CHECK(path2 == NULL);
    close(fd);
    unlink(path);
    free(path);
    CHECK_INTEQ(rmdir(dir), 0);
}

static void test_default_file_mode(void)
{
    mode_t old = umask(027);
    CHECK_INTEQ(ferry_default_file_mode(), 0640);
    umask(077);
    CHECK_INTEQ(ferry_default_file_mode(), 0600);
    umask(old);
}

static void test_monotonic(void)
{
    double a = ferry_now_monotonic();
    ferry_sleep(0.02);
    double b = ferry_now_monotonic();
    CHECK(b - a >= 0.019);
    struct timespec ts, now;
    ferry_monotonic_deadline(&ts, 1.75);
    clock_gettime(CLOCK_MONOTONIC, &now);
    CHECK(ts.tv_nsec >= 0 && ts.tv_nsec < 1000000000L);
    double d = (double)(ts.tv_sec - now.tv_sec) + (double)(ts.tv_nsec - now.tv_nsec) / 1e9;
    CHECK(d > 0.75 && d <= 1.7501); /* loose below: a loaded machine may stall between the calls */
}

static void *cancel_soon(void *arg)
{
    (void)arg;
    ferry_sleep(0.1);
    ferry_cancel_request(15);
    return NULL;
}

static void test_sleep_cancellable(void)
{
    ferry_cancel_reset();
    double t0 = ferry_now_monotonic();
    CHECK_INTEQ(ferry_sleep_cancellable(0.06), 0); /* the full time when not cancelled */
    CHECK(ferry_now_monotonic() - t0 >= 0.059);
    CHECK_INTEQ(ferry_sleep_cancellable(0), 0);
    pthread_t th;
    t0 = ferry_now_monotonic();
    CHECK_INTEQ(pthread_create(&th, NULL, cancel_soon, NULL), 0);
    CHECK_INTEQ(ferry_sleep_cancellable(30.0), -1); /* returns within a step of the cancel */
    double took = ferry_now_monotonic() - t0;
    pthread_join(th, NULL);
    CHECK(took < 10.0);
    CHECK_INTEQ(ferry_sleep_cancellable(5.0), -1);  /* already cancelled: at once */
    CHECK(ferry_now_monotonic() - t0 < 10.0);
    ferry_cancel_reset();
}

int main(void)
{
    RUN(test_buf_growth);
    RUN(test_buf_appendf);
    RUN(test_buf_sticky_failure);
    RUN(test_hex);
    RUN(test_base64_round_trip);
    RUN(test_base64_limits);
    RUN(test_strdup_printf);
    RUN(test_error_oom);
    RUN(test_tmpfile);
    RUN(test_default_file_mode);
    RUN(test_monotonic);
    RUN(test_sleep_cancellable);
    return check_summary();
}
