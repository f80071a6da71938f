/*
 * test_s3_region.c - S3 regions and addressing, no server needed:
 *   - host and path of a request over a table of cases, the expected URLs
 *     being what botocore 1.43 sends for the same settings (its before-send
 *     event, offline): AWS regions, the legacy us-east-1 global endpoint,
 *     dualstack, FIPS, accelerate, dotted / non-DNS buckets, custom
 *     endpoints, path style forced; and the combinations refused (exit 2);
 *   - the settings read from an Airflow connection's extras, config_kwargs,
 *     service_config and the environment;
 *   - reading a bucket's region out of redirect answers (bodies from AWS's
 *     documentation, header-only 301/400 answers to HEAD);
 *   - the per-run region table: one probe per bucket, the others wait for its
 *     answer and get the learned region.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "hooks/s3/s3_internal.h"

typedef struct addr_case {
    const char *region;
    const char *bucket;
    const char *endpoint;   /* NULL = AWS */
    int style, dualstack, fips, accelerate, regional;
    const char *url;        /* expected scheme://host/path of HeadObject key "key"; NULL = refused */
} addr_case;

#define P FERRY_S3_STYLE_PATH
#define V FERRY_S3_STYLE_VIRTUAL

static const addr_case cases[] = {
    /* AWS, default (auto) addressing */
    {"us-east-1", "bucket", NULL, 0, 0, 0, 0, 0, "https://bucket.s3.amazonaws.com/key"},
    {"us-east-1", "bucket", NULL, 0, 0, 0, 0, 1, "https://bucket.s3.us-east-1.amazonaws.com/key"},
    {"us-east-1", "bucket", NULL, P, 0, 0, 0, 0, "https://s3.amazonaws.com/bucket/key"},
    {"us-east-1", "bucket", NULL, V, 0, 0, 0, 0, "https://bucket.s3.amazonaws.com/key"},
    {"us-east-1", "bucket.dot", NULL, 0, 0, 0, 0, 0, "https://s3.amazonaws.com/bucket.dot/key"},
    {"us-east-1", "BucketName", NULL, 0, 0, 0, 0, 0, "https://s3.amazonaws.com/BucketName/key"},
    {"aws-global", "bucket", NULL, 0, 0, 0, 0, 0, "https://bucket.s3.amazonaws.com/key"},
    {"eu-west-1", "bucket", NULL, 0, 0, 0, 0, 0, "https://bucket.s3.eu-west-1.amazonaws.com/key"},
    {"eu-west-1", "bucket.dot", NULL, 0, 0, 0, 0, 0, "https://s3.eu-west-1.amazonaws.com/bucket.dot/key"},
    {"eu-west-1", "bucket.dot", NULL, V, 0, 0, 0, 0, "https://s3.eu-west-1.amazonaws.com/bucket.dot/key"},
    {"eu-west-1", "my_bucket", NULL, 0, 0, 0, 0, 0, "https://s3.eu-west-1.amazonaws.com/my_bucket/key"},
    {"eu-west-1", "ab", NULL, 0, 0, 0, 0, 0, "https://s3.eu-west-1.amazonaws.com/ab/key"},
    {"eu-west-1", "-bucket", NULL, 0, 0, 0, 0, 0, "https://s3.eu-west-1.amazonaws.com/-bucket/key"},
    {"eu-west-1", "bucket", NULL, P, 0, 0, 0, 0, "https://s3.eu-west-1.amazonaws.com/bucket/key"},
    {"cn-north-1", "bucket", NULL, 0, 0, 0, 0, 0, "https://bucket.s3.cn-north-1.amazonaws.com.cn/key"},
    {"us-gov-west-1", "bucket", NULL, 0, 0, 0, 0, 0, "https://bucket.s3.us-gov-west-1.amazonaws.com/key"},
    /* dualstack and FIPS: regional hosts, also in us-east-1 */
    {"eu-west-1", "bucket", NULL, 0, 1, 0, 0, 0, "https://bucket.s3.dualstack.eu-west-1.amazonaws.com/key"},
    {"us-east-1", "bucket", NULL, 0, 1, 0, 0, 0, "https://bucket.s3.dualstack.us-east-1.amazonaws.com/key"},
    {"eu-west-1", "bucket.dot", NULL, 0, 1, 0, 0, 0,
     "https://s3.dualstack.eu-west-1.amazonaws.com/bucket.dot/key"},
    {"eu-west-1", "bucket", NULL, P, 1, 0, 0, 0, "https://s3.dualstack.eu-west-1.amazonaws.com/bucket/key"},
    {"eu-west-1", "bucket", NULL, 0, 0, 1, 0, 0, "https://bucket.s3-fips.eu-west-1.amazonaws.com/key"},
    {"us-east-1", "bucket", NULL, 0, 0, 1, 0, 0, "https://bucket.s3-fips.us-east-1.amazonaws.com/key"},
    {"us-east-1", "bucket.dot", NULL, 0, 0, 1, 0, 0, "https://s3-fips.us-east-1.amazonaws.com/bucket.dot/key"},
    {"us-gov-west-1", "bucket", NULL, 0, 0, 1, 0, 0, "https://bucket.s3-fips.us-gov-west-1.amazonaws.com/key"},
    {"eu-west-1", "bucket", NULL, 0, 1, 1, 0, 0,
     "https://bucket.s3-fips.dualstack.eu-west-1.amazonaws.com/key"},
    /* accelerate: one global host, whatever the region */
    {"eu-west-1", "bucket", NULL, 0, 0, 0, 1, 0, "https://bucket.s3-accelerate.amazonaws.com/key"},
    {"us-east-1", "bucket", NULL, 0, 0, 0, 1, 0, "https://bucket.s3-accelerate.amazonaws.com/key"},
    {"eu-west-1", "bucket", NULL, 0, 1, 0, 1, 0, "https://bucket.s3-accelerate.dualstack.amazonaws.com/key"},
    {"eu-west-1", "bucket.dot", NULL, 0, 0, 0, 1, 0, NULL},   /* would need path style */
    /* custom endpoints: kept as given, path style unless virtual is asked */
    {"eu-west-1", "bucket", "http://127.0.0.1:9000", 0, 0, 0, 0, 0, "http://127.0.0.1:9000/bucket/key"},
    {"eu-west-1", "bucket", "http://127.0.0.1:9000", V, 0, 0, 0, 0, "http://127.0.0.1:9000/bucket/key"},
    {"eu-west-1", "bucket", "https://minio.example.com", 0, 0, 0, 0, 0,
     "https://minio.example.com/bucket/key"},
    {"eu-west-1", "bucket", "https://minio.example.com", V, 0, 0, 0, 0,
     "https://bucket.minio.example.com/key"},
    {"eu-west-1", "bucket.dot", "http://minio.example.com", V, 0, 0, 0, 0,
     "http://bucket.dot.minio.example.com/key"},
    {"eu-west-1", "bucket.dot", "https://minio.example.com", V, 0, 0, 0, 0,
     "https://minio.example.com/bucket.dot/key"},
    {"eu-west-1", "bucket", "http://rgw.example.com/s3", 0, 0, 0, 0, 0, "http://rgw.example.com/s3/bucket/key"},
    /* the us-east-1 global endpoint is AWS's only: a custom endpoint stays */
    {"us-east-1", "bucket", "http://127.0.0.1:57480", 0, 0, 0, 0, 0, "http://127.0.0.1:57480/bucket/key"},
};

/* A configuration as ferry_s3_config_load leaves it (endpoint parsed). */
static void make_cfg(ferry_s3_config *cfg, const addr_case *c)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->conn_id = "t";
    cfg->region = (char *)c->region;
    cfg->style = c->style;
    cfg->dualstack = c->endpoint ? 0 : c->dualstack;
    cfg->fips = c->endpoint ? 0 : c->fips;
    cfg->accelerate = c->accelerate;
    cfg->us_east_1_regional = c->regional;
    static char host[128], base[64];
    if (c->endpoint) {
        cfg->custom_endpoint = 1;
        cfg->https = strncmp(c->endpoint, "https:", 6) == 0;
        const char *h = strstr(c->endpoint, "//") + 2;
        const char *slash = strchr(h, '/');
        snprintf(host, sizeof host, "%.*s", slash ? (int)(slash - h) : (int)strlen(h), h);
        snprintf(base, sizeof base, "%s", slash ? slash : "");
        cfg->host = host;
        cfg->base_path = base;
    } else {
        cfg->https = 1;
        snprintf(host, sizeof host, "s3.%s.%s", c->region, ferry_s3_dns_suffix(c->region));
        cfg->host = host;
        cfg->base_path = "";
    }
}

static void test_address_table(void)
{
    ferry_buf host = {0}, path = {0}, url = {0};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const addr_case *c = &cases[i];
        ferry_s3_config cfg;
        make_cfg(&cfg, c);
        ferry_error err;
        ferry_status st = ferry_s3_address(&cfg, NULL, c->bucket, "key", &host, &path, &err);
        if (!c->url) {
            if (st != FERRY_ERR_USAGE)
                fprintf(stderr, "  case %zu (%s %s): expected a refusal\n", i, c->region, c->bucket);
            CHECK_INTEQ(st, FERRY_ERR_USAGE);
            CHECK(strstr(err.msg, "use_accelerate_endpoint") != NULL);
            continue;
        }
        CHECK_INTEQ(st, FERRY_OK);
        ferry_buf_reset(&url);
        ferry_buf_appendf(&url, "%s://%s%s", cfg.https ? "https" : "http", host.data, path.data);
        if (strcmp(url.data, c->url) != 0)
            fprintf(stderr, "  case %zu: %s %s\n", i, c->region, c->bucket);
        CHECK_STREQ(url.data, c->url);
    }
    /* a learned region replaces the connection's: host and signing region */
    ferry_s3_config cfg;
    make_cfg(&cfg, &cases[0]);
    ferry_error err;
    CHECK_INTEQ(ferry_s3_address(&cfg, "eu-central-1", "bucket", "a/b", &host, &path, &err), FERRY_OK);
    CHECK_STREQ(host.data, "bucket.s3.eu-central-1.amazonaws.com");
    CHECK_STREQ(path.data, "/a/b");
    CHECK_INTEQ(ferry_s3_address(&cfg, "eu-central-1", NULL, NULL, &host, &path, &err), FERRY_OK);
    CHECK_STREQ(host.data, "s3.eu-central-1.amazonaws.com");
    CHECK_STREQ(path.data, "/");
    CHECK_STREQ(ferry_s3_signing_region("aws-global"), "us-east-1");
    CHECK_STREQ(ferry_s3_signing_region("eu-west-1"), "eu-west-1");
    /* a custom endpoint keeps its host for any region */
    make_cfg(&cfg, &cases[sizeof cases / sizeof cases[0] - 1]);
    CHECK_INTEQ(ferry_s3_address(&cfg, "eu-west-1", "bucket", "k", &host, &path, &err), FERRY_OK);
    CHECK_STREQ(host.data, "127.0.0.1:57480");
    CHECK_STREQ(path.data, "/bucket/k");
    ferry_buf_release(&host);
    ferry_buf_release(&path);
    ferry_buf_release(&url);
}

static void test_refused_combinations(void)
{
    static const struct {
        const char *region, *endpoint;
        int style, fips;
        const char *names;
    } bad[] = {
        {"eu-west-1", "http://127.0.0.1:9000", 0, 0, "custom endpoint_url"},
        {"eu-west-1", NULL, P, 0, "addressing_style=path"},
        {"eu-west-1", NULL, 0, 1, "use_fips_endpoint"},
        {"cn-north-1", NULL, 0, 0, "outside the aws partition"},
        {"us-gov-west-1", NULL, 0, 0, "outside the aws partition"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        addr_case c = {bad[i].region, "bucket", bad[i].endpoint, bad[i].style, 0, bad[i].fips, 1, 0, NULL};
        ferry_s3_config cfg;
        make_cfg(&cfg, &c);
        cfg.fips = bad[i].fips;
        ferry_error err;
        CHECK_INTEQ(ferry_s3_addressing_check(&cfg, &err), FERRY_ERR_USAGE);
        CHECK(strstr(err.msg, "use_accelerate_endpoint") != NULL);
        CHECK(strstr(err.msg, bad[i].names) != NULL);
    }
    addr_case ok = {"eu-west-1", "bucket", NULL, V, 1, 0, 1, 0, NULL};
    ferry_s3_config cfg;
    make_cfg(&cfg, &ok);
    ferry_error err;
    CHECK_INTEQ(ferry_s3_addressing_check(&cfg, &err), FERRY_OK);
}

/* ---- the settings from a connection ----------------------------------------------- */

static ferry_conn *conn_json(const char *json)
{
    ferry_conn *c = NULL;
    ferry_error err;
    if (ferry_conn_parse("rg", json, &c, &err) != FERRY_OK) {
        fprintf(stderr, "  cannot parse %s: %s\n", json, err.msg);
        return NULL;
    }
    return c;
}

static ferry_status load(const char *json, ferry_s3_config *cfg, ferry_error *err)
{
    ferry_conn *c = conn_json(json);
    if (!c)
        return FERRY_ERR_INTERNAL;
    ferry_status st = ferry_s3_config_load(c, cfg, err);
    ferry_conn_free(c);
    return st;
}

static void test_settings_from_connection(void)
{
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
    setenv("AWS_CONFIG_FILE", "/nonexistent/ferry-config", 1);
    setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/ferry-credentials", 1);
    unsetenv("AWS_USE_FIPS_ENDPOINT");
    unsetenv("AWS_USE_DUALSTACK_ENDPOINT");
    unsetenv("AWS_S3_US_EAST_1_REGIONAL_ENDPOINT");
    ferry_s3_config cfg;
    ferry_error err;
    const char *keys = "\"aws_access_key_id\": \"AKIDREGION\", \"aws_secret_access_key\": \"regionSecret\"";
    char json[1024];

    snprintf(json, sizeof json, "{\"conn_type\": \"aws\", \"extra\": {%s, \"region_name\": \"eu-west-1\", "
             "\"config_kwargs\": {\"use_dualstack_endpoint\": true, \"s3\": {\"use_accelerate_endpoint\": true}}}}",
             keys);
    CHECK_INTEQ(load(json, &cfg, &err), FERRY_OK);
    CHECK_INTEQ(cfg.dualstack, 1);
    CHECK_INTEQ(cfg.accelerate, 1);
    CHECK_INTEQ(cfg.fips, 0);
    ferry_s3_config_release(&cfg);

    snprintf(json, sizeof json, "{\"conn_type\": \"aws\", \"extra\": {%s, \"region_name\": \"us-east-1\", "
             "\"service_config\": {\"s3\": {\"addressing_style\": \"path\", \"us_east_1_regional_endpoint\": "
             "\"regional\"}}}}", keys);
    CHECK_INTEQ(load(json, &cfg, &err), FERRY_OK);
    CHECK_INTEQ(cfg.style, FERRY_S3_STYLE_PATH);
    CHECK_INTEQ(cfg.us_east_1_regional, 1);
    ferry_s3_config_release(&cfg);

    setenv("AWS_USE_FIPS_ENDPOINT", "true", 1);
    snprintf(json, sizeof json, "{\"conn_type\": \"aws\", \"extra\": {%s, \"use_dualstack_endpoint\": \"false\"}}",
             keys);
    CHECK_INTEQ(load(json, &cfg, &err), FERRY_OK);
    CHECK_INTEQ(cfg.fips, 1);
    CHECK_INTEQ(cfg.dualstack, 0);
    ferry_s3_config_release(&cfg);
    /* with an endpoint_url dualstack and FIPS do not apply (botocore ignores them) */
    snprintf(json, sizeof json, "{\"conn_type\": \"aws\", \"extra\": {%s, \"endpoint_url\": "
             "\"http://127.0.0.1:9\", \"use_dualstack_endpoint\": true}}", keys);
    CHECK_INTEQ(load(json, &cfg, &err), FERRY_OK);
    CHECK_INTEQ(cfg.fips, 0);
    CHECK_INTEQ(cfg.dualstack, 0);
    ferry_s3_config_release(&cfg);
    unsetenv("AWS_USE_FIPS_ENDPOINT");

    /* refused combinations: exit 2 naming the settings */
    snprintf(json, sizeof json, "{\"conn_type\": \"aws\", \"extra\": {%s, \"endpoint_url\": "
             "\"http://127.0.0.1:9\", \"config_kwargs\": {\"s3\": {\"use_accelerate_endpoint\": true}}}}", keys);
    CHECK_INTEQ(load(json, &cfg, &err), FERRY_ERR_USAGE);
    CHECK(strstr(err.msg, "use_accelerate_endpoint cannot be combined with a custom endpoint_url") != NULL);
    snprintf(json, sizeof json, "{\"conn_type\": \"aws\", \"extra\": {%s, \"addressing_style\": \"path\", "
             "\"use_accelerate_endpoint\": \"true\"}}", keys);
    CHECK_INTEQ(load(json, &cfg, &err), FERRY_ERR_USAGE);
    CHECK(strstr(err.msg, "addressing_style=path") != NULL);
    /* malformed values: exit 3 */
    snprintf(json, sizeof json, "{\"conn_type\": \"aws\", \"extra\": {%s, \"use_fips_endpoint\": \"maybe\"}}",
             keys);
    CHECK_INTEQ(load(json, &cfg, &err), FERRY_ERR_CONFIG);
    CHECK(strstr(err.msg, "use_fips_endpoint 'maybe'") != NULL);
    snprintf(json, sizeof json, "{\"conn_type\": \"aws\", \"extra\": {%s, \"us_east_1_regional_endpoint\": "
             "\"global\"}}", keys);
    CHECK_INTEQ(load(json, &cfg, &err), FERRY_ERR_CONFIG);
}

/* ---- redirect answers ------------------------------------------------------------ */

/* From the S3 documentation (error responses, "PermanentRedirect"), with
 * the x-amz-bucket-region header S3 sends along. */
static const char *doc_permanent =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<Error><Code>PermanentRedirect</Code><Message>The bucket you are attempting to access must be "
    "addressed using the specified endpoint. Please send all future requests to this endpoint."
    "</Message><Endpoint>examplebucket.s3.eu-west-1.amazonaws.com</Endpoint><Bucket>examplebucket"
    "</Bucket><RequestId>A1B2C3D4E5F6G7H8</RequestId><HostId>Zm9vYmFy</HostId></Error>";
static const char *doc_malformed =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<Error><Code>AuthorizationHeaderMalformed</Code><Message>The authorization header is malformed; "
    "the region 'us-east-1' is wrong; expecting 'eu-west-1'</Message><Region>eu-west-1</Region>"
    "<RequestId>656c76696e6727732072657175657374</RequestId><HostId>Uuag1LuByRx9e6j5Onimru9pO4ZVKnJ2"
    "</HostId></Error>";
static const char *doc_temporary =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<Error><Code>TemporaryRedirect</Code><Message>Please re-send this request to the specified "
    "temporary endpoint. Continue to use the original request endpoint for future requests.</Message>"
    "<Endpoint>examplebucket.s3-ap-southeast-2.amazonaws.com</Endpoint><Bucket>examplebucket</Bucket>"
    "<RequestId>ABCDEF</RequestId><HostId>R0hJ</HostId></Error>";
static const char *doc_denied =
    "<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>";
static const char *doc_malformed_noregion =
    "<Error><Code>AuthorizationHeaderMalformed</Code><Message>bad</Message></Error>";

static int redirect(long status, const char *method, const char *hdr, const char *body, char *out)
{
    ferry_s3_error_doc doc;
    ferry_s3_xml_parse_error(body ? body : "", body ? strlen(body) : 0, &doc);
    return ferry_s3_redirect_region(status, method, hdr, &doc, out, FERRY_S3_REGION_MAX);
}

static void test_redirect_answers(void)
{
    char r[FERRY_S3_REGION_MAX];
    CHECK_INTEQ(redirect(301, "GET", "eu-west-1", doc_permanent, r), 1);
    CHECK_STREQ(r, "eu-west-1");
    /* without the header: <Endpoint> names it */
    CHECK_INTEQ(redirect(301, "PUT", "", doc_permanent, r), 1);
    CHECK_STREQ(r, "eu-west-1");
    /* the header wins over the body */
    CHECK_INTEQ(redirect(301, "GET", "eu-central-1", doc_permanent, r), 1);
    CHECK_STREQ(r, "eu-central-1");
    CHECK_INTEQ(redirect(400, "PUT", "", doc_malformed, r), 1);
    CHECK_STREQ(r, "eu-west-1");
    CHECK_INTEQ(redirect(307, "PUT", "", doc_temporary, r), 1);
    CHECK_STREQ(r, "ap-southeast-2");
    /* HEAD answers carry no body: the header alone */
    CHECK_INTEQ(redirect(301, "HEAD", "us-west-2", NULL, r), 1);
    CHECK_STREQ(r, "us-west-2");
    CHECK_INTEQ(redirect(400, "HEAD", "ap-south-1", NULL, r), 1);
    CHECK_STREQ(r, "ap-south-1");
    CHECK_INTEQ(redirect(301, "HEAD", "", NULL, r), 0);
    /* not redirects */
    CHECK_INTEQ(redirect(403, "GET", "", doc_denied, r), 0);
    CHECK_INTEQ(redirect(403, "GET", "eu-west-1", doc_denied, r), 0);  /* S3 sends it on 403 too */
    CHECK_INTEQ(redirect(400, "PUT", "", doc_malformed_noregion, r), 0);
    CHECK_INTEQ(redirect(400, "GET", "eu-west-1", doc_malformed_noregion, r), 0);
    CHECK_INTEQ(redirect(404, "HEAD", "eu-west-1", NULL, r), 0);
    /* a header that is no region name is not taken */
    CHECK_INTEQ(redirect(301, "HEAD", "eu west\r\n1", NULL, r), 0);

    static const struct { const char *host, *region; } hosts[] = {
        {"b.s3.eu-west-1.amazonaws.com", "eu-west-1"},
        {"s3.eu-west-1.amazonaws.com", "eu-west-1"},
        {"b.s3-eu-west-1.amazonaws.com", "eu-west-1"},
        {"s3-data.s3.eu-west-1.amazonaws.com", "eu-west-1"},
        {"b.s3.amazonaws.com", "us-east-1"},
        {"s3.amazonaws.com", "us-east-1"},
        {"b.s3-external-1.amazonaws.com", "us-east-1"},
        {"b.s3.dualstack.us-west-2.amazonaws.com", "us-west-2"},
        {"b.s3-fips.us-gov-west-1.amazonaws.com", "us-gov-west-1"},
        {"b.s3.cn-north-1.amazonaws.com.cn", "cn-north-1"},
        {"b.s3-accelerate.amazonaws.com", NULL},
        {"rgw.example.com", NULL},
        {"b.example.amazonaws.com", NULL},
    };
    for (size_t i = 0; i < sizeof hosts / sizeof hosts[0]; i++) {
        int found = ferry_s3_region_from_host(hosts[i].host, r, sizeof r);
        if (found != (hosts[i].region != NULL))
            fprintf(stderr, "  host %s\n", hosts[i].host);
        CHECK_INTEQ(found, hosts[i].region != NULL);
        if (found && hosts[i].region)
            CHECK_STREQ(r, hosts[i].region);
    }
}

/* ---- the region table ------------------------------------------------------------- */

typedef struct waiter {
    pthread_t t;
    char region[FERRY_S3_REGION_MAX];
    int probe;
} waiter;

static void *wait_region(void *ud)
{
    waiter *w = ud;
    ferry_s3_region_begin("", "shared-bucket", "us-east-1", w->region, sizeof w->region, &w->probe);
    return NULL;
}

static void test_region_table(void)
{
    ferry_s3_region_reset();
    char r[FERRY_S3_REGION_MAX];
    int probe = 0;
    /* the first request on a bucket is its probe; an answer without a
     * region settles it: later requests go with the connection's region */
    ferry_s3_region_begin("", "b1", "us-east-1", r, sizeof r, &probe);
    CHECK_INTEQ(probe, 1);
    CHECK_STREQ(r, "us-east-1");
    /* the probe's own thread does not wait for itself */
    int probe2 = 0;
    ferry_s3_region_begin("", "b1", "us-east-1", r, sizeof r, &probe2);
    CHECK_INTEQ(probe2, 0);
    ferry_s3_region_settle("", "b1", "");
    ferry_s3_region_begin("", "b1", "us-east-1", r, sizeof r, &probe);
    CHECK_INTEQ(probe, 0);
    CHECK_STREQ(r, "us-east-1");
    CHECK_INTEQ(ferry_s3_region_peek("", "b1", r, sizeof r), 0);
    /* a probe without an answer: the next request probes again */
    ferry_s3_region_begin("", "b2", "us-east-1", r, sizeof r, &probe);
    CHECK_INTEQ(probe, 1);
    ferry_s3_region_settle("", "b2", NULL);
    ferry_s3_region_begin("", "b2", "us-east-1", r, sizeof r, &probe);
    CHECK_INTEQ(probe, 1);
    ferry_s3_region_settle("", "b2", "eu-west-1");
    ferry_s3_region_begin("", "b2", "us-east-1", r, sizeof r, &probe);
    CHECK_INTEQ(probe, 0);
    CHECK_STREQ(r, "eu-west-1");
    CHECK_INTEQ(ferry_s3_region_peek("", "b2", r, sizeof r), 1);
    CHECK_STREQ(r, "eu-west-1");
    /* scopes are apart: the same name on a custom endpoint is another bucket */
    CHECK_INTEQ(ferry_s3_region_peek("127.0.0.1:9000", "b2", r, sizeof r), 0);
    /* a region learned outside a probe (a part's redirect) */
    ferry_s3_region_learn("127.0.0.1:9000", "b3", "ap-south-1");
    ferry_s3_region_begin("127.0.0.1:9000", "b3", "us-east-1", r, sizeof r, &probe);
    CHECK_INTEQ(probe, 0);
    CHECK_STREQ(r, "ap-south-1");
    /* no bucket (ListBuckets): the connection's region, no probe */
    ferry_s3_region_begin("", NULL, "us-east-1", r, sizeof r, &probe);
    CHECK_INTEQ(probe, 0);
    CHECK_STREQ(r, "us-east-1");

    /* threads starting together: one probe, the others wait for its answer
     * and all get the learned region (whether they arrive before or after
     * the answer, the outcome is the same) */
    ferry_s3_region_begin("", "shared-bucket", "us-east-1", r, sizeof r, &probe);
    CHECK_INTEQ(probe, 1);
    waiter w[4];
    memset(w, 0, sizeof w);
    for (int i = 0; i < 4; i++)
        CHECK_INTEQ(pthread_create(&w[i].t, NULL, wait_region, &w[i]), 0);
    ferry_s3_region_settle("", "shared-bucket", "eu-north-1");
    for (int i = 0; i < 4; i++) {
        pthread_join(w[i].t, NULL);
        CHECK_INTEQ(w[i].probe, 0);
        CHECK_STREQ(w[i].region, "eu-north-1");
    }
    ferry_s3_region_reset();
}

int main(void)
{
    RUN(test_address_table);
    RUN(test_refused_combinations);
    RUN(test_settings_from_connection);
    RUN(test_redirect_answers);
    RUN(test_region_table);
    return check_summary();
}
