/*
 * test_s3_creds.c - the S3 credential chain without a server: the parsers
 * (STS XML, credential_process / IMDS / container / SSO JSON, the SSO token
 * cache, the credential_process command line), the order of the chain and
 * the names of its sources, profile role chains (source_profile,
 * credential_source, loops), credential_process run with posix_spawn, and
 * the refresh: renewed within the window, shared by threads, a failed
 * refresh exit 4, the cleanup path keeping the old set.  The chain's
 * network sources are covered by tests/integration/s3_credentials.sh.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "ferry/log.h"
#include "hooks/s3/s3_creds.h"
#include "hooks/s3/s3_internal.h"

static char tmpdir[] = "/tmp/ferry-s3creds.XXXXXX";
static char cred_path[256], config_path[256], script_path[256], fail_path[256];

static void clean_env(void)
{
    static const char *vars[] = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
                                 "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION",
                                 "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_STS", "AWS_CA_BUNDLE",
                                 "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_SESSION_NAME",
                                 "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                                 "AWS_CONTAINER_AUTHORIZATION_TOKEN", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
                                 "FERRY_S3_REFRESH_WINDOW", NULL};
    for (int i = 0; vars[i]; i++)
        unsetenv(vars[i]);
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);   /* never 169.254.169.254 from a test */
    setenv("AWS_SHARED_CREDENTIALS_FILE", cred_path, 1);
    setenv("AWS_CONFIG_FILE", config_path, 1);
    unlink(cred_path);
    unlink(config_path);
    unlink(fail_path);
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

/* ---- parsers ---------------------------------------------------------------------- */

static void test_sts_xml(void)
{
    /* radosgw's answer (nanosecond Expiration, no namespace) */
    const char *rgw = "<AssumeRoleResponse><AssumeRoleResult><Credentials><AccessKeyId>w1zt63</AccessKeyId>"
                      "<Expiration>2026-12-07T20:50:59.423870262Z</Expiration><SecretAccessKey>U19SH0</SecretAccessKey>"
                      "<SessionToken>rvBDD6+/=</SessionToken></Credentials><AssumedRoleUser><Arn>x</Arn>"
                      "</AssumedRoleUser></AssumeRoleResult></AssumeRoleResponse>";
    ferry_s3_credset *s = NULL;
    char code[64], msg[256];
    CHECK_INTEQ(ferry_s3_parse_sts(rgw, strlen(rgw), &s, code, sizeof code, msg, sizeof msg), 1);
    if (s) {
        CHECK_STREQ(s->access_key, "w1zt63");
        CHECK_STREQ(s->secret_key, "U19SH0");
        CHECK_STREQ(s->session_token, "rvBDD6+/=");
        CHECK(s->expiration == ferry_s3_parse_iso8601("2026-12-07T20:50:59Z"));
        ferry_s3_credset_free(s);
    }
    /* AWS's (namespace, web identity) */
    const char *aws = "<AssumeRoleWithWebIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
                      "<AssumeRoleWithWebIdentityResult><Credentials><SessionToken>wiTok3nXYZ</SessionToken>"
                      "<SecretAccessKey>wiS3cretXYZ</SecretAccessKey><Expiration>2014-10-24T23:00:23Z</Expiration>"
                      "<AccessKeyId>ASIAX</AccessKeyId></Credentials></AssumeRoleWithWebIdentityResult>"
                      "</AssumeRoleWithWebIdentityResponse>";
    CHECK_INTEQ(ferry_s3_parse_sts(aws, strlen(aws), &s, code, sizeof code, msg, sizeof msg), 1);
    if (s) {
        CHECK_STREQ(s->access_key, "ASIAX");
        CHECK(s->expiration == 1414191623);
        ferry_s3_credset_free(s);
    }
    const char *e = "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type>"
                    "<Code>AccessDenied</Code><Message>User is not authorized to perform: sts:AssumeRole</Message>"
                    "</Error><RequestId>r</RequestId></ErrorResponse>";
    CHECK_INTEQ(ferry_s3_parse_sts(e, strlen(e), &s, code, sizeof code, msg, sizeof msg), 0);
    CHECK(s == NULL);
    CHECK_STREQ(code, "AccessDenied");
    CHECK(strstr(msg, "sts:AssumeRole") != NULL);
    const char *bad = "<AssumeRoleResponse><Credentials><AccessKeyId>x</AccessKeyId></Cred";
    CHECK_INTEQ(ferry_s3_parse_sts(bad, strlen(bad), &s, code, sizeof code, msg, sizeof msg), -1);
    const char *nosecret = "<R><Credentials><AccessKeyId>x</AccessKeyId></Credentials></R>";
    CHECK_INTEQ(ferry_s3_parse_sts(nosecret, strlen(nosecret), &s, code, sizeof code, msg, sizeof msg), -1);
    CHECK_INTEQ(ferry_s3_parse_sts("", 0, &s, code, sizeof code, msg, sizeof msg), -1);
}

static void test_json_docs(void)
{
    ferry_s3_credset *s = NULL;
    ferry_error err;
    const char *proc = "{\"Version\": 1, \"AccessKeyId\": \"AKP\", \"SecretAccessKey\": \"sp\", "
                       "\"SessionToken\": \"tp\", \"Expiration\": \"2030-01-02T03:04:05Z\"}";
    CHECK_INTEQ(ferry_s3_parse_creds_json(proc, strlen(proc), S3_CREDS_JSON_PROCESS, &s, &err), FERRY_OK);
    if (s) {
        CHECK_STREQ(s->access_key, "AKP");
        CHECK_STREQ(s->session_token, "tp");
        CHECK(s->expiration == ferry_s3_parse_iso8601("2030-01-02T03:04:05Z"));
        ferry_s3_credset_free(s);
    }
    const char *noexp = "{\"Version\": 1, \"AccessKeyId\": \"AKP\", \"SecretAccessKey\": \"sp\"}";
    CHECK_INTEQ(ferry_s3_parse_creds_json(noexp, strlen(noexp), S3_CREDS_JSON_PROCESS, &s, &err), FERRY_OK);
    if (s) {
        CHECK(s->expiration == 0);
        CHECK(s->session_token == NULL);
        ferry_s3_credset_free(s);
    }
    const char *v2 = "{\"Version\": 2, \"AccessKeyId\": \"AKP\", \"SecretAccessKey\": \"sp\"}";
    CHECK_INTEQ(ferry_s3_parse_creds_json(v2, strlen(v2), S3_CREDS_JSON_PROCESS, &s, &err), FERRY_ERR_DATA);
    CHECK(strstr(err.msg, "Version") != NULL);
    const char *nosk = "{\"Version\": 1, \"AccessKeyId\": \"AKP\", \"SecretAccessKey\": \"\"}";
    CHECK_INTEQ(ferry_s3_parse_creds_json(nosk, strlen(nosk), S3_CREDS_JSON_PROCESS, &s, &err), FERRY_ERR_DATA);
    CHECK_INTEQ(ferry_s3_parse_creds_json("not json", 8, S3_CREDS_JSON_PROCESS, &s, &err), FERRY_ERR_DATA);
    const char *badexp = "{\"Version\": 1, \"AccessKeyId\": \"A\", \"SecretAccessKey\": \"s\", \"Expiration\": \"soon\"}";
    CHECK_INTEQ(ferry_s3_parse_creds_json(badexp, strlen(badexp), S3_CREDS_JSON_PROCESS, &s, &err), FERRY_ERR_DATA);

    /* IMDS (documented example) and container (no Code) */
    const char *imds = "{\"Code\" : \"Success\", \"LastUpdated\" : \"2012-04-26T16:39:16Z\", \"Type\" : \"AWS-HMAC\", "
                       "\"AccessKeyId\" : \"ASIAIOSFODNN7EXAMPLE\", \"SecretAccessKey\" : \"wJalrXUtnFEMI/K7MDENG\", "
                       "\"Token\" : \"imdsT0kenXYZ\", \"Expiration\" : \"2017-05-17T15:09:54Z\"}";
    CHECK_INTEQ(ferry_s3_parse_creds_json(imds, strlen(imds), S3_CREDS_JSON_IMDS, &s, &err), FERRY_OK);
    if (s) {
        CHECK_STREQ(s->access_key, "ASIAIOSFODNN7EXAMPLE");
        CHECK_STREQ(s->session_token, "imdsT0kenXYZ");
        CHECK(s->expiration == 1495033794);
        ferry_s3_credset_free(s);
    }
    const char *ecs = "{\"AccessKeyId\": \"ACCESS_KEY_ID\", \"Expiration\": \"2017-05-17T15:09:54Z\", \"RoleArn\": "
                      "\"TASK_ROLE_ARN\", \"SecretAccessKey\": \"ecsS3cretXYZ\", \"Token\": \"ecsT0kenXYZ\"}";
    CHECK_INTEQ(ferry_s3_parse_creds_json(ecs, strlen(ecs), S3_CREDS_JSON_IMDS, &s, &err), FERRY_OK);
    ferry_s3_credset_free(s);
    const char *fail = "{\"Code\": \"AssumeRoleUnauthorizedAccess\", \"AccessKeyId\": \"A\", \"SecretAccessKey\": \"s\"}";
    CHECK_INTEQ(ferry_s3_parse_creds_json(fail, strlen(fail), S3_CREDS_JSON_IMDS, &s, &err), FERRY_ERR_DATA);
    CHECK(strstr(err.msg, "AssumeRoleUnauthorizedAccess") != NULL);

    /* SSO GetRoleCredentials: expiration in milliseconds */
    const char *sso = "{\"roleCredentials\": {\"accessKeyId\": \"ASSO\", \"secretAccessKey\": \"ssec\", "
                      "\"sessionToken\": \"stok\", \"expiration\": 1700000000000}}";
    CHECK_INTEQ(ferry_s3_parse_creds_json(sso, strlen(sso), S3_CREDS_JSON_SSO, &s, &err), FERRY_OK);
    if (s) {
        CHECK_STREQ(s->access_key, "ASSO");
        CHECK(s->expiration == 1700000000);
        ferry_s3_credset_free(s);
    }
    CHECK_INTEQ(ferry_s3_parse_creds_json("{}", 2, S3_CREDS_JSON_SSO, &s, &err), FERRY_ERR_DATA);
}

static void test_sso_cache(void)
{
    char *tok = NULL;
    int64_t exp = 0;
    ferry_error err;
    const char *c = "{\"startUrl\": \"https://d-123.awsapps.com/start\", \"region\": \"us-east-1\", "
                    "\"accessToken\": \"eyJsso\", \"expiresAt\": \"2030-01-01T00:00:00Z\"}";
    CHECK_INTEQ(ferry_s3_parse_sso_cache(c, strlen(c), &tok, &exp, &err), FERRY_OK);
    CHECK_STREQ(tok, "eyJsso");
    CHECK(exp == ferry_s3_parse_iso8601("2030-01-01T00:00:00Z"));
    free(tok);
    const char *none = "{\"startUrl\": \"x\"}";
    CHECK_INTEQ(ferry_s3_parse_sso_cache(none, strlen(none), &tok, &exp, &err), FERRY_ERR_CONFIG);
    CHECK(strstr(err.msg, "aws sso login") != NULL);
    char name[46];
    ferry_s3_sso_cache_name("ferry-sso", name);
    CHECK_STREQ(name, "e6236c17ac7248b5fe5bb0305019f39577f8fbb4.json");
}

static void test_split_command(void)
{
    char **v = NULL;
    CHECK_INTEQ(ferry_s3_split_command("/usr/bin/aws-vault exec  prod --json", &v), 0);
    if (v) {
        CHECK_STREQ(v[0], "/usr/bin/aws-vault");
        CHECK_STREQ(v[3], "--json");
        CHECK(v[4] == NULL);
        ferry_strv_free(v);
    }
    CHECK_INTEQ(ferry_s3_split_command("tool 'a b' \"c \\\"d\\\"\" e\\ f g'h'\"i\"", &v), 0);
    if (v) {
        CHECK_STREQ(v[1], "a b");
        CHECK_STREQ(v[2], "c \"d\"");
        CHECK_STREQ(v[3], "e f");
        CHECK_STREQ(v[4], "ghi");
        CHECK(v[5] == NULL);
        ferry_strv_free(v);
    }
    /* no shell: $HOME, *, | and ; are plain characters of a word */
    CHECK_INTEQ(ferry_s3_split_command("echo $HOME * | x;y", &v), 0);
    if (v) {
        CHECK_STREQ(v[1], "$HOME");
        CHECK_STREQ(v[3], "|");
        CHECK_STREQ(v[4], "x;y");
        ferry_strv_free(v);
    }
    CHECK_INTEQ(ferry_s3_split_command("tool 'open", &v), -1);
    CHECK_INTEQ(ferry_s3_split_command("tool \"open", &v), -1);
    CHECK_INTEQ(ferry_s3_split_command("   ", &v), -1);
}

/* ---- the chain ----------------------------------------------------------------------- */

static ferry_status load(const char *uri, ferry_s3_config *cfg, ferry_error *err)
{
    ferry_conn *c = uri ? conn_uri("c1", uri) : NULL;
    ferry_status st = ferry_s3_config_load(c, cfg, err);
    ferry_conn_free(c);
    return st;
}

static void test_chain_order(void)
{
    ferry_s3_config cfg;
    ferry_error err;
    clean_env();
    setenv("AWS_ACCESS_KEY_ID", "AKENV", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "skenv", 1);
    write_file(cred_path, "[default]\naws_access_key_id = AKFILE\naws_secret_access_key = skfile\n"
                          "[other]\naws_access_key_id = AKOTHER\naws_secret_access_key = skother\n");
    CHECK_INTEQ(load("aws://AKLOGIN:pw@?region_name=eu-west-1", &cfg, &err), FERRY_OK);
    CHECK_STREQ(cfg.cred_source, "connection c1");
    CHECK_STREQ(cfg.access_key, "AKLOGIN");
    ferry_s3_config_release(&cfg);
    CHECK_INTEQ(load("aws://?aws_access_key_id=AKX&aws_secret_access_key=skx&aws_session_token=tx", &cfg, &err),
                FERRY_OK);
    CHECK_STREQ(cfg.cred_source, "connection c1 (extras)");
    CHECK_STREQ(cfg.session_token, "tx");
    ferry_s3_config_release(&cfg);
    CHECK_INTEQ(load("aws://?region_name=eu-west-1", &cfg, &err), FERRY_OK);
    CHECK_STREQ(cfg.cred_source, "environment");
    ferry_s3_config_release(&cfg);
    /* profile_name skips the environment, as boto3 does */
    CHECK_INTEQ(load("aws://?profile_name=other", &cfg, &err), FERRY_OK);
    CHECK_STREQ(cfg.cred_source, "profile other (credentials file)");
    CHECK_STREQ(cfg.access_key, "AKOTHER");
    ferry_s3_config_release(&cfg);
    unsetenv("AWS_ACCESS_KEY_ID");
    CHECK_INTEQ(load(NULL, &cfg, &err), FERRY_OK);
    CHECK_STREQ(cfg.cred_source, "profile default (credentials file)");
    ferry_s3_config_release(&cfg);
    /* web identity comes before the files: with a token file and a closed STS port it is
     * chosen (and fails to connect, exit 4) instead of falling through to the profile */
    write_file(fail_path, "jwtT0kenXYZ");
    setenv("AWS_ROLE_ARN", "arn:aws:iam::1:role/r", 1);
    setenv("AWS_WEB_IDENTITY_TOKEN_FILE", fail_path, 1);
    setenv("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:9", 1);
    CHECK_INTEQ(load(NULL, &cfg, &err), FERRY_ERR_CONNECT);
    CHECK(strstr(err.msg, "STS AssumeRoleWithWebIdentity") != NULL);
    CHECK(strstr(err.msg, "jwtT0kenXYZ") == NULL);
}

static void test_no_credentials(void)
{
    ferry_s3_config cfg;
    ferry_error err;
    clean_env();
    CHECK_INTEQ(load("aws://onlylogin@?region_name=us-east-1", &cfg, &err), FERRY_ERR_CONFIG);
    CHECK(strstr(err.msg, "no AWS credentials found (tried: connection login/password, extras") != NULL);
    CHECK(strstr(err.msg, "environment AWS_ACCESS_KEY_ID, web identity") != NULL);
    CHECK(strstr(err.msg, "profile default in") != NULL);
    CHECK(strstr(err.msg, "container credentials (not set)") != NULL);
    CHECK(strstr(err.msg, "EC2 instance metadata (AWS_EC2_METADATA_DISABLED)") != NULL);
    /* a container FULL_URI over http elsewhere than loopback / the link-local agents: refused */
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://192.0.2.1/creds", 1);
    CHECK_INTEQ(load(NULL, &cfg, &err), FERRY_ERR_CONFIG);
    CHECK(strstr(err.msg, "FULL_URI") != NULL);
    CHECK(ferry_s3_container_uri_ok("http://127.0.0.1:8080/x"));
    CHECK(ferry_s3_container_uri_ok("http://169.254.170.23/v1/credentials"));
    CHECK(ferry_s3_container_uri_ok("https://creds.example.com/x"));
    CHECK(!ferry_s3_container_uri_ok("http://10.0.0.1/x"));
    CHECK(!ferry_s3_container_uri_ok("file:///etc/passwd"));
}

static void test_profile_roles(void)
{
    ferry_s3_config cfg;
    ferry_error err;
    clean_env();
    write_file(config_path, "[profile loop1]\nrole_arn = arn:aws:iam::1:role/a\nsource_profile = loop2\n"
                            "[profile loop2]\nrole_arn = arn:aws:iam::1:role/b\nsource_profile = loop1\n"
                            "[profile orphan]\nrole_arn = arn:aws:iam::1:role/c\n"
                            "[profile badsrc]\nrole_arn = arn:aws:iam::1:role/d\ncredential_source = Moon\n"
                            "[profile envsrc]\nrole_arn = arn:aws:iam::1:role/e\ncredential_source = Environment\n"
                            "[profile nosrc]\nrole_arn = arn:aws:iam::1:role/f\nsource_profile = empty\n"
                            "[profile empty]\nregion = eu-west-1\n"
                            "[profile ssobad]\nsso_account_id = 1\nsso_role_name = r\n");
    CHECK_INTEQ(load("aws://?profile_name=loop1", &cfg, &err), FERRY_ERR_CONFIG);
    CHECK(strstr(err.msg, "a loop?") != NULL);
    CHECK_INTEQ(load("aws://?profile_name=orphan", &cfg, &err), FERRY_ERR_CONFIG);
    CHECK(strstr(err.msg, "no source_profile, credential_source or web_identity_token_file") != NULL);
    CHECK_INTEQ(load("aws://?profile_name=badsrc", &cfg, &err), FERRY_ERR_CONFIG);
    CHECK(strstr(err.msg, "'Moon'") != NULL);
    CHECK_INTEQ(load("aws://?profile_name=envsrc", &cfg, &err), FERRY_ERR_CONFIG);
    CHECK(strstr(err.msg, "credential_source Environment") != NULL);
    CHECK_INTEQ(load("aws://?profile_name=nosrc", &cfg, &err), FERRY_ERR_CONFIG);
    CHECK(strstr(err.msg, "source_profile empty has no credentials") != NULL);
    CHECK_INTEQ(load("aws://?profile_name=ssobad", &cfg, &err), FERRY_ERR_CONFIG);
    CHECK(strstr(err.msg, "sso_region") != NULL);
    /* Airflow extras: an unsupported method, a bad assume_role_kwargs */
    setenv("AWS_ACCESS_KEY_ID", "AKENV", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "skenv", 1);
    CHECK_INTEQ(load("aws://?role_arn=arn%3Aaws%3Aiam%3A%3A1%3Arole%2Fx&assume_role_method=assume_role_with_saml", &cfg,
                     &err), FERRY_ERR_CONFIG);
    CHECK(strstr(err.msg, "assume_role_with_saml") != NULL);
    CHECK_INTEQ(load("aws://?role_arn=arn%3Aaws%3Aiam%3A%3A1%3Arole%2Fx&assume_role_kwargs=%5B1%5D", &cfg, &err),
                FERRY_ERR_CONFIG);
    CHECK(strstr(err.msg, "assume_role_kwargs") != NULL);
    /* Airflow's web identity federation: "file" is ferry's way, "google" is refused */
    CHECK_INTEQ(load("aws://?role_arn=arn%3Aaws%3Aiam%3A%3A1%3Arole%2Fx&assume_role_method=assume_role_with_web_identity"
                     "&assume_role_with_web_identity_federation=google",
                     &cfg, &err),
                FERRY_ERR_CONFIG);
    CHECK(strstr(err.msg, "assume_role_with_web_identity_federation 'google' is not supported") != NULL);
    unsetenv("AWS_WEB_IDENTITY_TOKEN_FILE");
    CHECK_INTEQ(load("aws://?role_arn=arn%3Aaws%3Aiam%3A%3A1%3Arole%2Fx&assume_role_method=assume_role_with_web_identity"
                     "&assume_role_with_web_identity_federation=file",
                     &cfg, &err),
                FERRY_ERR_CONFIG);
    CHECK(strstr(err.msg, "assume_role_with_web_identity_token_file or AWS_WEB_IDENTITY_TOKEN_FILE") != NULL);
    /* role_arn is never ignored: with STS unreachable the load fails (4), it does not sign as the keys */
    CHECK_INTEQ(load("aws://?role_arn=arn%3Aaws%3Aiam%3A%3A1%3Arole%2Fx&endpoint_url=http%3A%2F%2F127.0.0.1%3A9", &cfg,
                     &err), FERRY_ERR_CONNECT);
    CHECK(strstr(err.msg, "STS AssumeRole") != NULL);
    CHECK(strstr(err.msg, "http://127.0.0.1:9/") != NULL);
}

/* credential_process through posix_spawn: a script that fails while fail_path exists */
static void write_script(void)
{
    char text[1024];
    snprintf(text, sizeof text,
             "#!/bin/sh\n[ -e '%s' ] && { echo 'refused' >&2; exit 2; }\n"
             "[ \"$1\" = 'two words' ] || exit 3\n"
             "printf '{\"Version\": 1, \"AccessKeyId\": \"AKPROC\", \"SecretAccessKey\": \"sproc\", "
             "\"SessionToken\": \"tproc\", \"Expiration\": \"%s\"}'\n",
             fail_path, "2099-01-01T00:00:00Z");
    write_file(script_path, text);
    chmod(script_path, 0700);
    char cfgtext[600];
    snprintf(cfgtext, sizeof cfgtext, "[default]\ncredential_process = %s \"two words\"\n", script_path);
    write_file(config_path, cfgtext);
}

static void *get_many(void *ud)
{
    ferry_s3_creds *p = ud;
    for (int i = 0; i < 5; i++) {
        ferry_s3_credset *s = NULL;
        ferry_error err;
        if (ferry_s3_creds_get(p, 0, &s, &err) != FERRY_OK)
            return (void *)1;
        int bad = strcmp(s->access_key, "AKPROC") != 0 || strcmp(s->secret_key, "sproc") != 0;
        ferry_s3_creds_put(p, s);
        if (bad)
            return (void *)1;
    }
    return NULL;
}

static void test_process_and_refresh(void)
{
    ferry_s3_config cfg;
    ferry_error err;
    clean_env();
    write_script();
    CHECK_INTEQ(load(NULL, &cfg, &err), FERRY_OK);
    CHECK_STREQ(cfg.cred_source, "profile default: credential_process");
    CHECK_STREQ(cfg.access_key, "AKPROC");
    CHECK_STREQ(cfg.session_token, "tproc");
    /* far from expiry: no refresh */
    ferry_s3_credset *s = NULL;
    CHECK_INTEQ(ferry_s3_creds_get(cfg.creds, 0, &s, &err), FERRY_OK);
    ferry_s3_creds_put(cfg.creds, s);
    CHECK_INTEQ(ferry_s3_creds_refreshes(cfg.creds), 0);
    ferry_s3_config_release(&cfg);

    /* a window longer than the lifetime: every get renews; 4 threads share the node */
    setenv("FERRY_S3_REFRESH_WINDOW", "4000000000", 1);
    CHECK_INTEQ(load(NULL, &cfg, &err), FERRY_OK);
    int before = ferry_s3_creds_refreshes(cfg.creds);
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&th[i], NULL, get_many, cfg.creds);
    int bad = 0;
    for (int i = 0; i < 4; i++) {
        void *r = NULL;
        pthread_join(th[i], &r);
        bad |= r != NULL;
    }
    CHECK(!bad);
    CHECK_INTEQ(ferry_s3_creds_refreshes(cfg.creds) - before, 20);

    /* a failed refresh: exit 4 naming the source; the cleanup path keeps the valid old set */
    write_file(fail_path, "x");
    CHECK_INTEQ(ferry_s3_creds_get(cfg.creds, 0, &s, &err), FERRY_ERR_CONNECT);
    CHECK(strstr(err.msg, "refreshing the credentials from profile default: credential_process failed") != NULL);
    CHECK(strstr(err.msg, "exit status 2") != NULL);
    s = NULL;
    CHECK_INTEQ(ferry_s3_creds_get(cfg.creds, 1, &s, &err), FERRY_OK);
    if (s) {
        CHECK_STREQ(s->access_key, "AKPROC");
        ferry_s3_creds_put(cfg.creds, s);
    }
    ferry_s3_config_release(&cfg);
    /* the first fetch failing is the source's own error (4) */
    CHECK_INTEQ(load(NULL, &cfg, &err), FERRY_ERR_CONNECT);
    CHECK(strstr(err.msg, "credential_process") != NULL);
    unsetenv("FERRY_S3_REFRESH_WINDOW");
}

int main(void)
{
    if (!mkdtemp(tmpdir))
        return 2;
    snprintf(cred_path, sizeof cred_path, "%s/credentials", tmpdir);
    snprintf(config_path, sizeof config_path, "%s/config", tmpdir);
    snprintf(script_path, sizeof script_path, "%s/creds.sh", tmpdir);
    snprintf(fail_path, sizeof fail_path, "%s/fail", tmpdir);
    RUN(test_sts_xml);
    RUN(test_json_docs);
    RUN(test_sso_cache);
    RUN(test_split_command);
    RUN(test_chain_order);
    RUN(test_no_credentials);
    RUN(test_profile_roles);
    RUN(test_process_and_refresh);
    unlink(cred_path);
    unlink(config_path);
    unlink(script_path);
    unlink(fail_path);
    rmdir(tmpdir);
    return check_summary();
}
