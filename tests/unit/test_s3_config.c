/*
 * test_s3_config.c - the S3 hook's configuration chain: Airflow aws
 * connection (login/password, extras, config_kwargs), AWS_* environment,
 * ~/.aws/credentials and ~/.aws/config profiles, endpoint parsing and
 * addressing, TLS options, and the secret registry.  No server needed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "ferry/log.h"
#include "hooks/s3/s3_internal.h"

static char tmpdir[] = "/tmp/ferry-s3cfg.XXXXXX";
static char cred_path[256], config_path[256];

static void clean_env(void)
{
    static const char *vars[] = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                                 "AWS_SECURITY_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE",
                                 "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL",
                                 "AWS_ENDPOINT_URL_S3", "AWS_CA_BUNDLE", NULL};
    for (int i = 0; vars[i]; i++)
        unsetenv(vars[i]);
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);   /* never 169.254.169.254 from a test */
    setenv("AWS_SHARED_CREDENTIALS_FILE", cred_path, 1);
    setenv("AWS_CONFIG_FILE", config_path, 1);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return;
    fputs(text, f);
    fclose(f);
}

static ferry_conn *conn_uri(const char *id, const char *uri)
{
    ferry_conn *c = NULL;
    ferry_error err;
    if (ferry_conn_parse(id, uri, &c, &err) != FERRY_OK) {
        fprintf(stderr, "  cannot parse %s: %s\n", uri, err.msg);
        return NULL;
    }
    return c;
}

static void test_env_only(void)
{
    clean_env();
    setenv("AWS_ACCESS_KEY_ID", "AKIAENV", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "envSecret/123", 1);
    setenv("AWS_SESSION_TOKEN", "envToken", 1);
    ferry_s3_config cfg;
    ferry_error err;
    CHECK_INTEQ(ferry_s3_config_load(NULL, &cfg, &err), FERRY_OK);
    CHECK_STREQ(cfg.access_key, "AKIAENV");
    CHECK_STREQ(cfg.secret_key, "envSecret/123");
    CHECK_STREQ(cfg.session_token, "envToken");
    CHECK_STREQ(cfg.cred_source, "environment");
    CHECK_STREQ(cfg.region, "us-east-1");
    CHECK_STREQ(cfg.endpoint, "https://s3.us-east-1.amazonaws.com");
    CHECK_STREQ(cfg.host, "s3.us-east-1.amazonaws.com");
    CHECK_INTEQ(cfg.https, 1);
    CHECK_INTEQ(cfg.virtual_host, 1);
    CHECK_INTEQ(cfg.verify, 1);
    CHECK_STREQ(cfg.conn_id, "");
    /* the secret and token are masked everywhere from now on */
    char msg[128] = "key envSecret/123 token envToken";
    ferry_scrub(msg, sizeof msg);
    CHECK_STREQ(msg, "key *** token ***");
    ferry_s3_config_release(&cfg);

    setenv("AWS_DEFAULT_REGION", "eu-west-3", 1);
    CHECK_INTEQ(ferry_s3_config_load(NULL, &cfg, &err), FERRY_OK);
    CHECK_STREQ(cfg.region, "eu-west-3");
    CHECK_STREQ(cfg.host, "s3.eu-west-3.amazonaws.com");
    ferry_s3_config_release(&cfg);
    setenv("AWS_REGION", "cn-north-1", 1);
    CHECK_INTEQ(ferry_s3_config_load(NULL, &cfg, &err), FERRY_OK);
    CHECK_STREQ(cfg.region, "cn-north-1");
    CHECK_STREQ(cfg.host, "s3.cn-north-1.amazonaws.com.cn");
    ferry_s3_config_release(&cfg);
}

static void test_connection_wins(void)
{
    clean_env();
    setenv("AWS_ACCESS_KEY_ID", "AKIAENV", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "envSecret/123", 1);
    setenv("AWS_REGION", "eu-west-1", 1);
    setenv("AWS_ENDPOINT_URL", "http://env-endpoint:9000", 1);
    ferry_conn *c = conn_uri("aws_default",
                             "aws://AKIACONN:conn%2Fsecret%2Bkey@?region_name=us-west-2&endpoint_url="
                             "http%3A%2F%2F127.0.0.1%3A57480");
    if (!c)
        return;
    ferry_s3_config cfg;
    ferry_error err;
    CHECK_INTEQ(ferry_s3_config_load(c, &cfg, &err), FERRY_OK);
    CHECK_STREQ(cfg.access_key, "AKIACONN");
    CHECK_STREQ(cfg.secret_key, "conn/secret+key");
    CHECK(cfg.session_token == NULL);
    CHECK_STREQ(cfg.cred_source, "connection aws_default");
    CHECK_STREQ(cfg.region, "us-west-2");
    CHECK_STREQ(cfg.endpoint, "http://127.0.0.1:57480");
    CHECK_STREQ(cfg.host, "127.0.0.1:57480");
    CHECK_INTEQ(cfg.https, 0);
    CHECK_INTEQ(cfg.custom_endpoint, 1);
    CHECK_INTEQ(cfg.virtual_host, 0);   /* path style with an endpoint_url */
    CHECK_STREQ(cfg.conn_id, "aws_default");
    ferry_s3_config_release(&cfg);
    ferry_conn_free(c);

    /* no login: the extras aws_access_key_id / aws_secret_access_key */
    c = conn_uri("x", "{\"conn_type\": \"aws\", \"extra\": {\"aws_access_key_id\": \"AKIAEXTRA\", "
                      "\"aws_secret_access_key\": \"extraSecret\", \"aws_session_token\": \"tok123\"}}");
    if (!c)
        return;
    CHECK_INTEQ(ferry_s3_config_load(c, &cfg, &err), FERRY_OK);
    CHECK_STREQ(cfg.access_key, "AKIAEXTRA");
    CHECK_STREQ(cfg.session_token, "tok123");
    CHECK_STREQ(cfg.region, "eu-west-1");                   /* from the environment */
    CHECK_STREQ(cfg.endpoint, "http://env-endpoint:9000");  /* AWS_ENDPOINT_URL */
    ferry_s3_config_release(&cfg);
    setenv("AWS_ENDPOINT_URL_S3", "https://s3-only.example:8443/prefix/", 1);
    CHECK_INTEQ(ferry_s3_config_load(c, &cfg, &err), FERRY_OK);
    CHECK_STREQ(cfg.endpoint, "https://s3-only.example:8443/prefix");
    CHECK_STREQ(cfg.base_path, "/prefix");
    ferry_s3_config_release(&cfg);
    ferry_conn_free(c);
}

static void test_profiles(void)
{
    clean_env();
    write_file(cred_path, "# comment\n[default]\naws_access_key_id = AKIADEF\n"
                          "aws_secret_access_key = defSecret\n\n[etl]\n"
                          "aws_access_key_id=AKIAETL\naws_secret_access_key=etlSecret\n"
                          "aws_session_token = etlToken\n");
    write_file(config_path, "[default]\nregion = ap-south-1\n\n[profile etl]\nregion = eu-north-1\n"
                            "s3 =\n  addressing_style = virtual\n  endpoint_url = https://minio.local\n"
                            "ca_bundle = /etc/ssl/etl.pem\n"
                            "[profile cfgonly]\naws_access_key_id = AKIACFG\n"
                            "aws_secret_access_key = cfgSecret\n");
    ferry_s3_config cfg;
    ferry_error err;
    CHECK_INTEQ(ferry_s3_config_load(NULL, &cfg, &err), FERRY_OK);
    CHECK_STREQ(cfg.access_key, "AKIADEF");
    CHECK_STREQ(cfg.region, "ap-south-1");
    CHECK_STREQ(cfg.cred_source, "profile default (credentials file)");
    ferry_s3_config_release(&cfg);

    setenv("AWS_PROFILE", "etl", 1);
    CHECK_INTEQ(ferry_s3_config_load(NULL, &cfg, &err), FERRY_OK);
    CHECK_STREQ(cfg.access_key, "AKIAETL");
    CHECK_STREQ(cfg.session_token, "etlToken");
    CHECK_STREQ(cfg.region, "eu-north-1");
    CHECK_STREQ(cfg.endpoint, "https://minio.local");
    CHECK_INTEQ(cfg.virtual_host, 1);   /* the profile's s3.addressing_style */
    CHECK_STREQ(cfg.ca_bundle, "/etc/ssl/etl.pem");
    ferry_s3_config_release(&cfg);

    setenv("AWS_PROFILE", "cfgonly", 1);
    CHECK_INTEQ(ferry_s3_config_load(NULL, &cfg, &err), FERRY_OK);
    CHECK_STREQ(cfg.access_key, "AKIACFG");
    CHECK_STREQ(cfg.cred_source, "profile cfgonly (config file)");
    ferry_s3_config_release(&cfg);

    /* profile_name on the connection beats the environment's credentials */
    clean_env();
    setenv("AWS_ACCESS_KEY_ID", "AKIAENV", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "envSecret/123", 1);
    ferry_conn *c = conn_uri("p", "aws://?profile_name=etl");
    if (!c)
        return;
    CHECK_INTEQ(ferry_s3_config_load(c, &cfg, &err), FERRY_OK);
    CHECK_STREQ(cfg.access_key, "AKIAETL");
    ferry_s3_config_release(&cfg);
    ferry_conn_free(c);
    /* without it, the environment comes before the files */
    CHECK_INTEQ(ferry_s3_config_load(NULL, &cfg, &err), FERRY_OK);
    CHECK_STREQ(cfg.access_key, "AKIAENV");
    ferry_s3_config_release(&cfg);
}

static void test_no_credentials(void)
{
    clean_env();
    setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials", 1);
    setenv("AWS_CONFIG_FILE", "/nonexistent/config", 1);
    ferry_conn *c = conn_uri("aws_default", "aws://onlylogin@?region_name=us-east-1");
    ferry_s3_config cfg;
    ferry_error err;
    CHECK_INTEQ(ferry_s3_config_load(c, &cfg, &err), FERRY_ERR_CONFIG);
    CHECK(strstr(err.msg, "no AWS credentials") != NULL);
    CHECK(strstr(err.msg, "s3(aws_default)") == err.msg);
    ferry_conn_free(c);
}

static void test_options(void)
{
    clean_env();
    setenv("AWS_ACCESS_KEY_ID", "AKIAENV", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "envSecret/123", 1);
    ferry_conn *c = conn_uri(
        "o", "{\"conn_type\": \"aws\", \"extra\": {\"endpoint_url\": \"https://rgw.example.com:443\", "
             "\"verify\": false, \"connect_timeout\": 7, \"read_timeout\": \"12.5\", "
             "\"unsigned_payload\": true, "
             "\"config_kwargs\": {\"s3\": {\"addressing_style\": \"virtual\"}}}}");
    if (!c)
        return;
    ferry_s3_config cfg;
    ferry_error err;
    CHECK_INTEQ(ferry_s3_config_load(c, &cfg, &err), FERRY_OK);
    CHECK_STREQ(cfg.host, "rgw.example.com");   /* default port dropped from Host */
    CHECK_INTEQ(cfg.verify, 0);
    CHECK_INTEQ(cfg.connect_timeout, 7);
    CHECK(cfg.read_timeout == 12.5);
    CHECK_INTEQ(cfg.unsigned_payload, 1);
    CHECK_INTEQ(cfg.virtual_host, 1);
    ferry_s3_config_release(&cfg);
    ferry_conn_free(c);

    c = conn_uri("o", "{\"conn_type\": \"aws\", \"extra\": {\"verify\": \"/etc/ca.pem\"}}");
    CHECK_INTEQ(ferry_s3_config_load(c, &cfg, &err), FERRY_OK);
    CHECK_INTEQ(cfg.verify, 1);
    CHECK_STREQ(cfg.ca_bundle, "/etc/ca.pem");
    ferry_s3_config_release(&cfg);
    ferry_conn_free(c);

    c = conn_uri("o", "{\"conn_type\": \"aws\", \"extra\": {\"endpoint_url\": \"ftp://x\"}}");
    CHECK_INTEQ(ferry_s3_config_load(c, &cfg, &err), FERRY_ERR_CONFIG);
    CHECK(strstr(err.msg, "http or https") != NULL);
    ferry_conn_free(c);
    c = conn_uri("o", "{\"conn_type\": \"aws\", \"extra\": {\"endpoint_url\": \"not a url\"}}");
    CHECK_INTEQ(ferry_s3_config_load(c, &cfg, &err), FERRY_ERR_CONFIG);
    ferry_conn_free(c);
    c = conn_uri("o", "{\"conn_type\": \"aws\", \"extra\": {\"addressing_style\": \"sideways\"}}");
    CHECK_INTEQ(ferry_s3_config_load(c, &cfg, &err), FERRY_ERR_CONFIG);
    ferry_conn_free(c);
    c = conn_uri("o", "{\"conn_type\": \"aws\", \"extra\": {\"read_timeout\": \"soon\"}}");
    CHECK_INTEQ(ferry_s3_config_load(c, &cfg, &err), FERRY_ERR_CONFIG);
    ferry_conn_free(c);
}

static void test_target(void)
{
    ferry_s3_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.host = "127.0.0.1:57480";
    cfg.base_path = "";
    ferry_buf host = {0}, path = {0};
    /* path style */
    CHECK_INTEQ(ferry_s3_config_target(&cfg, "b", "/lead/../x y", &host, &path), FERRY_OK);
    CHECK_STREQ(host.data, "127.0.0.1:57480");
    CHECK_STREQ(path.data, "/b//lead/../x y");
    CHECK_INTEQ(ferry_s3_config_target(&cfg, "b", "", &host, &path), FERRY_OK);
    CHECK_STREQ(path.data, "/b");
    CHECK_INTEQ(ferry_s3_config_target(&cfg, NULL, NULL, &host, &path), FERRY_OK);
    CHECK_STREQ(path.data, "/");
    cfg.base_path = "/rgw";
    CHECK_INTEQ(ferry_s3_config_target(&cfg, "b", "k", &host, &path), FERRY_OK);
    CHECK_STREQ(path.data, "/rgw/b/k");
    /* virtual hosted */
    cfg.base_path = "";
    cfg.host = "s3.eu-west-1.amazonaws.com";
    cfg.https = 1;
    cfg.virtual_host = 1;
    CHECK_INTEQ(ferry_s3_config_target(&cfg, "etl-bucket", "a/b", &host, &path), FERRY_OK);
    CHECK_STREQ(host.data, "etl-bucket.s3.eu-west-1.amazonaws.com");
    CHECK_STREQ(path.data, "/a/b");
    CHECK_INTEQ(ferry_s3_config_target(&cfg, "etl-bucket", NULL, &host, &path), FERRY_OK);
    CHECK_STREQ(path.data, "/");
    /* a dotted bucket cannot match the TLS certificate: path style */
    CHECK_INTEQ(ferry_s3_config_target(&cfg, "my.bucket", "k", &host, &path), FERRY_OK);
    CHECK_STREQ(host.data, "s3.eu-west-1.amazonaws.com");
    CHECK_STREQ(path.data, "/my.bucket/k");
    ferry_buf_release(&host);
    ferry_buf_release(&path);
}

static void test_profile_reader(void)
{
    write_file(config_path, "[profile a]\nkey = 1\n  nested = no\n[profile b]\nKey = two words \n"
                            "s3 =\n\tmax_concurrent_requests = 20\nafter = 3\n[broken\nkey = 9\n");
    char *v = ferry_s3_profile_get(config_path, "profile a", "key");
    CHECK_STREQ(v, "1");
    free(v);
    v = ferry_s3_profile_get(config_path, "profile b", "key");
    CHECK_STREQ(v, "two words");
    free(v);
    v = ferry_s3_profile_get(config_path, "profile b", "s3.max_concurrent_requests");
    CHECK_STREQ(v, "20");
    free(v);
    v = ferry_s3_profile_get(config_path, "profile b", "after");
    CHECK_STREQ(v, "3");
    free(v);
    CHECK(ferry_s3_profile_get(config_path, "profile c", "key") == NULL);
    CHECK(ferry_s3_profile_get("/nonexistent", "default", "key") == NULL);
}

int main(void)
{
    if (!mkdtemp(tmpdir))
        return 2;
    snprintf(cred_path, sizeof cred_path, "%s/credentials", tmpdir);
    snprintf(config_path, sizeof config_path, "%s/config", tmpdir);
    RUN(test_env_only);
    RUN(test_connection_wins);
    RUN(test_profiles);
    RUN(test_no_credentials);
    RUN(test_options);
    RUN(test_target);
    RUN(test_profile_reader);
    unlink(cred_path);
    unlink(config_path);
    rmdir(tmpdir);
    return check_summary();
}
