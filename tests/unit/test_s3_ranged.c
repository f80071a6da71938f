/*
 * test_s3_ranged.c - the S3 ranged sink (ferry_hook_s3.open_ranged_sink)
 * against the real radosgw of tests/harness/services.sh: 3 and 4 ranges
 * written at once from their own threads with uneven sizes (0 bytes, 1 byte,
 * 4 MiB, 20 MiB, ...) in odd-sized chunks, 5 MiB parts; the object must equal
 * the concatenation of the ranges (sha256); gzip members written per range
 * read back with `gzip -t`; tiny and empty ranges (one PutObject); abort
 * leaves no multipart upload.  Everything lives under a unique prefix and is
 * deleted.
 */
#include <curl/curl.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "check.h"
#include "svc_env.h"
#include "ferry/ferry.h"
#include "ferry/s3.h"
#include "hooks/s3/s3_internal.h"

#define MIB ((size_t)1024 * 1024)

static char bucket[128];
static char prefix[64];

static char *urlenc(const char *s)
{
    char *e = curl_easy_escape(NULL, s, 0);
    char *out = strdup(e);
    curl_free(e);
    return out;
}

static void endpoint(char *out, size_t cap, const char *key)
{
    snprintf(out, cap, "s3://%s/%s/%s", bucket, prefix, key);
}

static void fill(unsigned char *p, size_t n, uint64_t seed)
{
    uint64_t x = seed * 0x9E3779B97F4A7C15ULL + 1;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        p[i] = (unsigned char)x;
    }
}

typedef struct job {
    ferry_writer *w;
    const unsigned char *data;
    size_t len;
    size_t chunk;
    ferry_status st;
    ferry_error err;
} job;

static void *run_job(void *arg)
{
    job *j = arg;
    j->st = FERRY_OK;
    for (size_t at = 0; j->st == FERRY_OK && at < j->len; at += j->chunk) {
        size_t n = j->len - at < j->chunk ? j->len - at : j->chunk;
        j->st = ferry_writer_write(j->w, j->data + at, n, &j->err);
    }
    if (j->st == FERRY_OK)
        j->st = j->w->ops->commit(j->w, &j->err);
    return NULL;
}

/* Read a whole object into memory. */
static ferry_status get_object(const char *key, unsigned char **out, size_t *len)
{
    char ep_text[512];
    endpoint(ep_text, sizeof ep_text, key);
    ferry_endpoint *ep = NULL;
    ferry_error err;
    ferry_source *src = NULL;
    *out = NULL;
    *len = 0;
    ferry_status st = ferry_endpoint_parse(ep_text, NULL, 0, &ep, &err);
    if (st == FERRY_OK)
        st = ep->hook->open_source(ep, NULL, &src, &err);
    size_t have = 0, alloc = MIB;
    unsigned char *buf = malloc(alloc);
    while (st == FERRY_OK) {
        if (alloc - have < MIB) {
            alloc *= 2;
            buf = realloc(buf, alloc);
        }
        size_t n = 0;
        st = src->ops->read(src, buf + have, MIB, &n, &err);
        if (st != FERRY_OK || n == 0)
            break;
        have += n;
    }
    if (st == FERRY_OK && src->ops->finish)
        st = src->ops->finish(src, &err);
    if (st != FERRY_OK)
        fprintf(stderr, "  get %s: %s\n", key, err.msg);
    if (src)
        src->ops->free(src);
    ferry_endpoint_free(ep);
    *out = buf;
    *len = have;
    return st;
}

static void sha_hex(const void *p, size_t n, char out[65])
{
    unsigned char md[32];
    unsigned int mdn = 0;
    EVP_Digest(p, n, md, &mdn, EVP_sha256(), NULL);
    for (int i = 0; i < 32; i++)
        sprintf(out + 2 * i, "%02x", md[i]);
}

static int uploads_of(const char *key)
{
    char ep_text[512];
    endpoint(ep_text, sizeof ep_text, key);
    size_t count = 0;
    ferry_error err;
    if (ferry_s3_list_uploads(ep_text, NULL, NULL, NULL, &count, &err) != FERRY_OK) {
        fprintf(stderr, "  list uploads: %s\n", err.msg);
        return -1;
    }
    return (int)count;
}

/* Write n ranges (data[r], len[r]) at once, commit, and compare. */
static void ranged_case(const char *key, int n, unsigned char **data, const size_t *len,
                        const char *gz_check)
{
    char ep_text[512];
    endpoint(ep_text, sizeof ep_text, key);
    ferry_copy_options o;
    ferry_copy_options_init(&o);
    o.s3_part_size = 5 * MIB;
    o.s3_concurrency = 3;
    ferry_endpoint *ep = NULL;
    ferry_error err;
    ferry_ranged_sink *rs = NULL;
    CHECK_INTEQ(ferry_endpoint_parse(ep_text, &o, 1, &ep, &err), FERRY_OK);
    if (!ep)
        return;
    CHECK(ep->hook->open_ranged_sink != NULL);
    ferry_status st = ep->hook->open_ranged_sink(ep, &o, n, &rs, &err);
    CHECK_INTEQ(st, FERRY_OK);
    if (st != FERRY_OK) {
        fprintf(stderr, "  open: %s\n", err.msg);
        ferry_endpoint_free(ep);
        return;
    }
    CHECK_INTEQ(rs->n, n);
    job jobs[8];
    pthread_t th[8];
    size_t total = 0;
    for (int r = 0; r < n; r++) {
        jobs[r] = (job){.w = rs->ops->writer(rs, r), .data = data[r], .len = len[r],
                        .chunk = 65537 + (size_t)r * 4099};
        pthread_create(&th[r], NULL, run_job, &jobs[r]);
        total += len[r];
    }
    int ok = 1;
    for (int r = 0; r < n; r++) {
        pthread_join(th[r], NULL);
        if (jobs[r].st != FERRY_OK) {
            fprintf(stderr, "  range %d: %s\n", r, jobs[r].err.msg);
            ok = 0;
        }
    }
    CHECK(ok);
    st = ok ? rs->ops->commit(rs, &err) : FERRY_ERR_INTERNAL;
    if (st != FERRY_OK) {
        fprintf(stderr, "  commit: %s\n", ok ? err.msg : "a range failed");
        rs->ops->abort(rs);
    }
    CHECK_INTEQ(st, FERRY_OK);
    rs->ops->free(rs);
    ferry_endpoint_free(ep);

    unsigned char *want = malloc(total ? total : 1);
    size_t at = 0;
    for (int r = 0; r < n; r++) {
        if (len[r])
            memcpy(want + at, data[r], len[r]);
        at += len[r];
    }
    unsigned char *got = NULL;
    size_t got_len = 0;
    CHECK_INTEQ(get_object(key, &got, &got_len), FERRY_OK);
    CHECK(got_len == total);
    char h1[65], h2[65];
    sha_hex(want, total, h1);
    sha_hex(got, got_len, h2);
    CHECK_STREQ(h2, h1);
    if (gz_check) {
        FILE *f = fopen(gz_check, "wb");
        CHECK(f != NULL);
        if (f) {
            fwrite(got, 1, got_len, f);
            fclose(f);
            char cmd[600];
            snprintf(cmd, sizeof cmd, "gzip -t '%s'", gz_check);
            CHECK_INTEQ(system(cmd), 0);
            unlink(gz_check);
        }
    }
    CHECK_INTEQ(uploads_of(key), 0);
    free(want);
    free(got);
}

static unsigned char *random_bytes(size_t n, uint64_t seed)
{
    unsigned char *p = malloc(n ? n : 1);
    fill(p, n, seed);
    return p;
}

static void run_sizes(const char *key, int n, const size_t *sizes)
{
    unsigned char *data[8];
    for (int r = 0; r < n; r++)
        data[r] = random_bytes(sizes[r], (uint64_t)r + 7);
    ranged_case(key, n, data, sizes, NULL);
    for (int r = 0; r < n; r++)
        free(data[r]);
}

static void test_three_ranges(void)
{
    const size_t sizes[3] = {4 * MIB, 20 * MIB + 3, 1};
    run_sizes("three.bin", 3, sizes);
}

static void test_four_ranges(void)
{
    const size_t sizes[4] = {0, 1, 20 * MIB, 4 * MIB};
    run_sizes("four.bin", 4, sizes);
}

static void test_empty_ranges_carried(void)
{
    /* two empty ranges between two multi-part ones, a range of exactly one part */
    const size_t sizes[4] = {12 * MIB + 5, 0, 5 * MIB, 7 * MIB};
    run_sizes("carry.bin", 4, sizes);
}

static void test_all_small(void)
{
    const size_t sizes[3] = {1, 100, 1000};
    run_sizes("small.bin", 3, sizes);
    const size_t none[3] = {0, 0, 0};
    run_sizes("empty.bin", 3, none);
}

/* Each range writes one gzip member; the object is one valid gzip stream. */
static void test_gzip_members(void)
{
    const size_t plain[4] = {9 * MIB, 1, 0, 3 * MIB};
    unsigned char *data[4];
    size_t len[4];
    for (int r = 0; r < 4; r++) {
        unsigned char *txt = malloc(plain[r] + 1);
        for (size_t i = 0; i < plain[r]; i++)   /* compressible, not trivially */
            txt[i] = (unsigned char)("0123456789,abcdef\n"[(i * 7 + (i >> 9) + (size_t)r) % 18]);
        z_stream z;
        memset(&z, 0, sizeof z);
        deflateInit2(&z, 1, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY);
        size_t cap = deflateBound(&z, plain[r]) + 64;
        data[r] = malloc(cap);
        z.next_in = txt;
        z.avail_in = (uInt)plain[r];
        z.next_out = data[r];
        z.avail_out = (uInt)cap;
        CHECK_INTEQ(deflate(&z, Z_FINISH), Z_STREAM_END);
        len[r] = z.total_out;
        deflateEnd(&z);
        free(txt);
    }
    char path[256];
    snprintf(path, sizeof path, "/tmp/%s-members.gz", prefix);
    ranged_case("members.csv.gz", 4, data, len, path);
    for (int r = 0; r < 4; r++)
        free(data[r]);
}

static void test_abort(void)
{
    char ep_text[512];
    endpoint(ep_text, sizeof ep_text, "aborted.bin");
    ferry_copy_options o;
    ferry_copy_options_init(&o);
    o.s3_part_size = 5 * MIB;
    ferry_endpoint *ep = NULL;
    ferry_error err;
    ferry_ranged_sink *rs = NULL;
    CHECK_INTEQ(ferry_endpoint_parse(ep_text, &o, 1, &ep, &err), FERRY_OK);
    if (!ep)
        return;
    CHECK_INTEQ(ep->hook->open_ranged_sink(ep, &o, 3, &rs, &err), FERRY_OK);
    if (!rs) {
        ferry_endpoint_free(ep);
        return;
    }
    unsigned char *d = random_bytes(16 * MIB, 3);
    for (int r = 0; r < 3; r++)
        CHECK_INTEQ(ferry_writer_write(rs->ops->writer(rs, r), d, 16 * MIB, &err), FERRY_OK);
    CHECK_INTEQ(rs->ops->writer(rs, 0)->ops->commit(rs->ops->writer(rs, 0), &err), FERRY_OK);
    rs->ops->abort(rs);
    rs->ops->abort(rs);    /* idempotent */
    rs->ops->free(rs);
    ferry_endpoint_free(ep);
    free(d);
    CHECK_INTEQ(uploads_of("aborted.bin"), 0);
    unsigned char *got = NULL;
    size_t got_len = 0;
    CHECK(get_object("aborted.bin", &got, &got_len) == FERRY_ERR_NOT_FOUND);
    free(got);
}

static void test_bad_n(void)
{
    char ep_text[512];
    endpoint(ep_text, sizeof ep_text, "bad.bin");
    ferry_endpoint *ep = NULL;
    ferry_error err;
    ferry_ranged_sink *rs = NULL;
    CHECK_INTEQ(ferry_endpoint_parse(ep_text, NULL, 1, &ep, &err), FERRY_OK);
    if (!ep)
        return;
    CHECK_INTEQ(ep->hook->open_ranged_sink(ep, NULL, 0, &rs, &err), FERRY_ERR_USAGE);
    CHECK(rs == NULL);
    ferry_endpoint_free(ep);
}

int main(void)
{
    if (svc_env_load() != 0 || !getenv("CEPH_S3_ENDPOINT"))
        return svc_missing("no S3 server in the harness env");
    snprintf(bucket, sizeof bucket, "%s", getenv("CEPH_S3_BUCKET") ? getenv("CEPH_S3_BUCKET") : "etl-bucket");
    snprintf(prefix, sizeof prefix, "ferry-ranged-%d", (int)getpid());
    char *sk = urlenc(getenv("CEPH_S3_SECRET_KEY"));
    char *epu = urlenc(getenv("CEPH_S3_ENDPOINT"));
    char conn[1024];
    snprintf(conn, sizeof conn, "aws://%s:%s@?region_name=%s&endpoint_url=%s",
             getenv("CEPH_S3_ACCESS_KEY"), sk,
             getenv("CEPH_S3_REGION") ? getenv("CEPH_S3_REGION") : "us-east-1", epu);
    setenv("AIRFLOW_CONN_AWS_DEFAULT", conn, 1);
    free(sk);
    free(epu);
    if (!ferry_hook_for_type("aws"))
        ferry_hook_register(&ferry_hook_s3);
    RUN(test_three_ranges);
    RUN(test_four_ranges);
    RUN(test_empty_ranges_carried);
    RUN(test_all_small);
    RUN(test_gzip_members);
    RUN(test_abort);
    RUN(test_bad_n);
    /* clean up */
    char pfx[256];
    snprintf(pfx, sizeof pfx, "s3://%s/%s/", bucket, prefix);
    ferry_error err;
    size_t deleted = 0;
    CHECK_INTEQ(ferry_s3_remove_prefix(pfx, NULL, &deleted, &err), FERRY_OK);
    return check_summary();
}
