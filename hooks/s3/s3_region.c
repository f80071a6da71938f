/*
 * hooks/s3/s3_region.c - the region of a bucket, learned from S3's answers.
 *
 * A request on a bucket in another region than the connection's is answered
 * 301 PermanentRedirect (x-amz-bucket-region, <Region>/<Endpoint> in the
 * body; a HEAD has only the header), 307 TemporaryRedirect, or 400
 * AuthorizationHeaderMalformed ("the region 'us-east-1' is wrong; expecting
 * 'eu-west-1'", <Region>).  ferry_s3_redirect_region reads the region out of
 * such an answer (botocore's S3RegionRedirectorv2 rules); the request code
 * (s3_request.c) records it here and re-signs the request once for it.
 *
 * The table is process-wide ("for the run"): every client, transfer and
 * part asks it before signing, so after the first redirect every request on
 * the bucket goes to the right region at once.  While the first request on a
 * bucket is in flight (the probe), other threads' requests on that bucket
 * wait for its answer - at most FERRY_S3_REGION_WAIT seconds, after which
 * they go ahead with the connection's region (correct, only perhaps a
 * redirect more; a cancelled transfer goes ahead at once) - so N transfers starting together are redirected once,
 * not N times.  The probe's own thread never waits (a client with several
 * requests in flight on one thread).  Entries are never freed before exit
 * (a run touches few buckets); at most REGION_ENTRIES are kept.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/thread.h"
#include "ferry/cancel.h"
#include "ferry/log.h"
#include "hooks/s3/s3_internal.h"

#define REGION_ENTRIES 256

enum { R_UNKNOWN = 0, R_PROBING = 1, R_SETTLED = 2 };

typedef struct region_entry {
    char *scope;
    char *bucket;
    char region[FERRY_S3_REGION_MAX];   /* "" = nothing learned */
    int state;
    pthread_t owner;                    /* the probe's thread */
} region_entry;

static pthread_mutex_t region_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t region_cv;
static pthread_once_t region_once = PTHREAD_ONCE_INIT;
static region_entry region_tab[REGION_ENTRIES];
static size_t region_n;

static void region_init(void)
{
    ferry_cond_init_monotonic(&region_cv);
}

/* The entry of scope/bucket, created when absent (NULL when the table is
 * full or out of memory: the caller then goes without).  Lock held. */
static region_entry *find(const char *scope, const char *bucket, int create)
{
    for (size_t i = 0; i < region_n; i++)
        if (strcmp(region_tab[i].bucket, bucket) == 0 && strcmp(region_tab[i].scope, scope) == 0)
            return &region_tab[i];
    if (!create || region_n == REGION_ENTRIES)
        return NULL;
    region_entry *e = &region_tab[region_n];
    e->scope = strdup(scope);
    e->bucket = strdup(bucket);
    if (!e->scope || !e->bucket) {
        free(e->scope);
        free(e->bucket);
        memset(e, 0, sizeof *e);
        return NULL;
    }
    e->region[0] = '\0';
    e->state = R_UNKNOWN;
    region_n++;
    return e;
}

void ferry_s3_region_begin(const char *scope, const char *bucket, const char *dflt, char *out,
                           size_t cap, int *probe)
{
    *probe = 0;
    snprintf(out, cap, "%s", dflt);
    if (!bucket || !*bucket)
        return;
    pthread_once(&region_once, region_init);
    pthread_mutex_lock(&region_mu);
    region_entry *e = find(scope, bucket, 1);
    if (e) {
        double until = ferry_now_monotonic() + FERRY_S3_REGION_WAIT;
        while (e->state == R_PROBING && !pthread_equal(e->owner, pthread_self())) {
            double left = until - ferry_now_monotonic();
            if (left <= 0 || ferry_cancelled())
                break;                  /* go ahead; a signal is noticed by the request */
            ferry_cond_wait_for(&region_cv, &region_mu, left < 0.2 ? left : 0.2);
        }
        if (e->region[0])
            snprintf(out, cap, "%s", e->region);
        else if (e->state == R_UNKNOWN) {
            e->state = R_PROBING;
            e->owner = pthread_self();
            *probe = 1;
        }
    }
    pthread_mutex_unlock(&region_mu);
}

void ferry_s3_region_settle(const char *scope, const char *bucket, const char *learned)
{
    if (!bucket || !*bucket)
        return;
    pthread_once(&region_once, region_init);
    pthread_mutex_lock(&region_mu);
    region_entry *e = find(scope, bucket, learned != NULL);
    if (e) {
        if (learned && *learned)
            snprintf(e->region, sizeof e->region, "%s", learned);
        /* an answer that named no region settles the entry; a probe that got
         * no answer at all (NULL) lets the next request probe again */
        e->state = learned ? R_SETTLED : (e->region[0] ? R_SETTLED : R_UNKNOWN);
    }
    pthread_cond_broadcast(&region_cv);
    pthread_mutex_unlock(&region_mu);
}

void ferry_s3_region_learn(const char *scope, const char *bucket, const char *region)
{
    ferry_s3_region_settle(scope, bucket, region);
}

int ferry_s3_region_peek(const char *scope, const char *bucket, char *out, size_t cap)
{
    out[0] = '\0';
    if (!bucket || !*bucket)
        return 0;
    pthread_mutex_lock(&region_mu);
    region_entry *e = find(scope, bucket, 0);
    if (e && e->region[0])
        snprintf(out, cap, "%s", e->region);
    pthread_mutex_unlock(&region_mu);
    return out[0] != '\0';
}

void ferry_s3_region_reset(void)
{
    pthread_mutex_lock(&region_mu);
    for (size_t i = 0; i < region_n; i++) {
        free(region_tab[i].scope);
        free(region_tab[i].bucket);
    }
    memset(region_tab, 0, sizeof region_tab);
    region_n = 0;
    pthread_mutex_unlock(&region_mu);
}

/* ---- reading the answers --------------------------------------------------------- */

/* A plausible region name: lower case letters, digits and '-', 4..40 long. */
static int region_ok(const char *r, size_t n)
{
    if (n < 4 || n >= 41)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((r[i] >= 'a' && r[i] <= 'z') || (r[i] >= '0' && r[i] <= '9') || r[i] == '-'))
            return 0;
    return 1;
}

static int put(const char *r, size_t n, char *out, size_t cap)
{
    if (!region_ok(r, n) || n >= cap)
        return 0;
    memcpy(out, r, n);
    out[n] = '\0';
    return 1;
}

int ferry_s3_region_from_host(const char *host, char *out, size_t cap)
{
    /* read from the right: "...<label>.amazonaws.com[.cn]" where label is the
     * region (after "s3", "s3-fips" or "dualstack"), "s3" (the global
     * endpoint, us-east-1) or "s3-REGION" (the legacy dash form) */
    const char *end = strstr(host, ".amazonaws.com");
    if (!end)
        return 0;
    const char *l = end;
    while (l > host && l[-1] != '.')
        l--;
    size_t n = (size_t)(end - l);
    if (n == 2 && strncmp(l, "s3", 2) == 0)
        return put("us-east-1", 9, out, cap);
    if (n == 13 && strncmp(l, "s3-external-1", 13) == 0)
        return put("us-east-1", 9, out, cap);
    if (n > 3 && strncmp(l, "s3-", 3) == 0) {
        if (strncmp(l, "s3-accelerate", 13) == 0 || strncmp(l, "s3-fips", 7) == 0)
            return 0;                   /* accelerate names no region */
        return put(l + 3, n - 3, out, cap);
    }
    if (l == host)
        return 0;
    /* the label before must be s3, s3-fips or dualstack */
    const char *p = l - 1;
    while (p > host && p[-1] != '.')
        p--;
    size_t pn = (size_t)(l - 1 - p);
    if ((pn == 2 && strncmp(p, "s3", 2) == 0) || (pn == 7 && strncmp(p, "s3-fips", 7) == 0) ||
        (pn == 9 && strncmp(p, "dualstack", 9) == 0))
        return put(l, n, out, cap);
    return 0;
}

int ferry_s3_redirect_region(long status, const char *method, const char *hdr_region,
                             const struct ferry_s3_error_doc *doc, char *out, size_t cap)
{
    out[0] = '\0';
    int has_hdr = hdr_region && *hdr_region;
    int is_head = method && strcmp(method, "HEAD") == 0;
    const char *code = doc && doc->found ? doc->code : "";
    int redirect_status = status == 301 || status == 302 || status == 307;
    int wrong_region = strcmp(code, "AuthorizationHeaderMalformed") == 0 && doc->region[0];
    int head_special = is_head && (status == 301 || status == 400) && has_hdr;
    if (!redirect_status && !wrong_region && !head_special && strcmp(code, "PermanentRedirect") != 0)
        return 0;
    if (has_hdr && put(hdr_region, strlen(hdr_region), out, cap))
        return 1;
    if (doc && doc->region[0] && put(doc->region, strlen(doc->region), out, cap))
        return 1;
    if (doc && doc->endpoint[0] && ferry_s3_region_from_host(doc->endpoint, out, cap))
        return 1;
    return 0;
}
