/*
 * test_sftp_util.c - the SFTP hook's pure helpers, no server needed: SFTP
 * status -> ferry status and words, remote path handling (split, join, "..",
 * globs, temp names), base64 and SHA256 fingerprints as ssh-keygen prints
 * them, host_key pins, error context, connection cloning, and the checks a
 * slot makes before it connects.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "ferry/ferry.h"
#include "hooks/sftp/sftp_internal.h"

/* ssh-keygen -t ed25519; fingerprint from ssh-keygen -lf */
static const char ED_PUB[] = "AAAAC3NzaC1lZDI1NTE5AAAAIAfiSt195VERX1M9ZMOdpDCbqsTgKhkYK1Z8EtN9F8HE";
static const char ED_FP[] = "SHA256:v/V0GM+yVuyWXstS9oek2D6UXpLGHS/Lsrw8kHSVJ4Y";
static const char EC_PUB[] = "AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBEax8eEHYl7bsbjKIH4Ij8BV9h/4vWAymGmbos"
                             "HnWxWv40kAxSgYCvgcWIapHuNDscKWYvO9HVzhAOWIOl19Eo4=";
static const char EC_FP[] = "SHA256:/EKxWSdUlh4T8VRLty9dy7Awjh56biGdpcNrOIs5lgs";

static size_t b64_decode(const char *in, unsigned char *out)
{
    long n = ferry_base64_decode(in, strlen(in), out, 512);
    CHECK(n > 0);
    return n > 0 ? (size_t)n : 0;
}

static void test_fx_status(void)
{
    const char *words;
    int transient;
    CHECK_INTEQ(ferry_sftp_fx_status(LIBSSH2_FX_NO_SUCH_FILE, &words, &transient), FERRY_ERR_NOT_FOUND);
    CHECK_STREQ(words, "no such file");
    CHECK_INTEQ(ferry_sftp_fx_status(LIBSSH2_FX_PERMISSION_DENIED, &words, &transient), FERRY_ERR_CONNECT);
    CHECK_STREQ(words, "permission denied");
    CHECK_INTEQ(transient, 0);
    CHECK_INTEQ(ferry_sftp_fx_status(LIBSSH2_FX_FILE_ALREADY_EXISTS, &words, &transient), FERRY_ERR_EXISTS);
    CHECK_INTEQ(ferry_sftp_fx_status(LIBSSH2_FX_NO_SUCH_PATH, &words, &transient), FERRY_ERR_NOT_FOUND);
    CHECK_INTEQ(ferry_sftp_fx_status(LIBSSH2_FX_CONNECTION_LOST, &words, &transient), FERRY_ERR_CONNECT);
    CHECK_INTEQ(transient, 1);
    CHECK_INTEQ(ferry_sftp_fx_status(LIBSSH2_FX_NO_SPACE_ON_FILESYSTEM, &words, &transient), FERRY_ERR_IO);
    CHECK_INTEQ(ferry_sftp_fx_status(12345, &words, &transient), FERRY_ERR_IO);
    CHECK_STREQ(words, "unknown SFTP status");
}

static void test_paths(void)
{
    char *p = ferry_sftp_path("");
    CHECK_STREQ(p, ".");
    free(p);
    p = ferry_sftp_path("~/in/a.csv");
    CHECK_STREQ(p, "in/a.csv");
    free(p);
    p = ferry_sftp_path("/outbound/a.csv");
    CHECK_STREQ(p, "/outbound/a.csv");
    free(p);

    char *dir, *name;
    CHECK_INTEQ(ferry_sftp_split("/outbound/a.csv", &dir, &name), 0);
    CHECK_STREQ(dir, "/outbound");
    CHECK_STREQ(name, "a.csv");
    free(dir);
    free(name);
    CHECK_INTEQ(ferry_sftp_split("a.csv", &dir, &name), 0);
    CHECK_STREQ(dir, ".");
    CHECK_STREQ(name, "a.csv");
    free(dir);
    free(name);
    CHECK_INTEQ(ferry_sftp_split("/a.csv", &dir, &name), 0);
    CHECK_STREQ(dir, "/");
    free(dir);
    free(name);
    CHECK_INTEQ(ferry_sftp_split("outbound/", &dir, &name), -1);
    CHECK(dir == NULL && name == NULL);
    CHECK_INTEQ(ferry_sftp_split("", &dir, &name), -1);

    CHECK(ferry_sftp_has_dotdot("a/../b"));
    CHECK(ferry_sftp_has_dotdot(".."));
    CHECK(ferry_sftp_has_dotdot("a/b/.."));
    CHECK(ferry_sftp_has_dotdot("../*.csv"));
    CHECK(!ferry_sftp_has_dotdot("a/..b/c"));
    CHECK(!ferry_sftp_has_dotdot("..a/b..."));
    CHECK(!ferry_sftp_has_dotdot("/in/*.csv"));

    CHECK(ferry_sftp_is_glob("in/*.csv"));
    CHECK(ferry_sftp_is_glob("a?.csv"));
    CHECK(ferry_sftp_is_glob("[ab].csv"));
    CHECK(!ferry_sftp_is_glob("in/a.csv"));

    char *j = ferry_sftp_join(".", "x");
    CHECK_STREQ(j, "x");
    free(j);
    j = ferry_sftp_join("/", "x");
    CHECK_STREQ(j, "/x");
    free(j);
    j = ferry_sftp_join("a/", "x");
    CHECK_STREQ(j, "a/x");
    free(j);
    j = ferry_sftp_join("/a", "x");
    CHECK_STREQ(j, "/a/x");
    free(j);
}

static void test_sibling_names(void)
{
    char *a = ferry_sftp_sibling_name("/out", "a.csv", "tmp");
    char *b = ferry_sftp_sibling_name("/out", "a.csv", "tmp");
    CHECK(a && b);
    CHECK(strncmp(a, "/out/.a.csv.ferry-tmp-", 22) == 0);
    CHECK_INTEQ(strlen(a), 22 + 16);
    CHECK(strspn(a + 22, "0123456789abcdef") == 16);
    CHECK(strcmp(a, b) != 0);
    free(a);
    free(b);
    a = ferry_sftp_sibling_name(".", "a.csv", "old");
    CHECK(strncmp(a, ".a.csv.ferry-old-", 17) == 0);
    free(a);
}

static void test_base64(void)
{
    static const char *const in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *const out[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    char buf[16];
    for (size_t i = 0; i < 7; i++) {
        CHECK_INTEQ(ferry_base64_encode((const unsigned char *)in[i], strlen(in[i]), buf, sizeof buf), strlen(out[i]));
        CHECK_STREQ(buf, out[i]);
    }
    CHECK_INTEQ(ferry_base64_encode((const unsigned char *)"foobar", 6, buf, 8), 0); /* no room for the NUL */
}

static void test_fingerprint_and_type(void)
{
    unsigned char blob[512];
    size_t len = b64_decode(ED_PUB, blob);
    char fp[128], type[64];
    CHECK(ferry_sftp_fingerprint(blob, len, fp, sizeof fp));
    CHECK_STREQ(fp, ED_FP);
    CHECK(ferry_sftp_key_type(blob, len, type, sizeof type));
    CHECK_STREQ(type, "ssh-ed25519");
    len = b64_decode(EC_PUB, blob);
    CHECK(ferry_sftp_fingerprint(blob, len, fp, sizeof fp));
    CHECK_STREQ(fp, EC_FP);
    CHECK(ferry_sftp_key_type(blob, len, type, sizeof type));
    CHECK_STREQ(type, "ecdsa-sha2-nistp256");
    CHECK(!ferry_sftp_key_type(blob, 3, type, sizeof type));
    unsigned char bad[8] = {0, 0, 1, 0, 'x', 'y', 'z', 'w'};
    CHECK(!ferry_sftp_key_type(bad, sizeof bad, type, sizeof type));
}

static void test_pins(void)
{
    unsigned char blob[512];
    size_t len = b64_decode(ED_PUB, blob);
    char msg[256] = "", pin[512];
    CHECK_INTEQ(ferry_sftp_pin_matches(ED_FP, blob, len, msg, sizeof msg), 1);
    CHECK_INTEQ(ferry_sftp_pin_matches("  sha256:v/V0GM+yVuyWXstS9oek2D6UXpLGHS/Lsrw8kHSVJ4Y= ", blob, len, msg, sizeof msg), 1);
    CHECK_INTEQ(ferry_sftp_pin_matches(EC_FP, blob, len, msg, sizeof msg), 0);
    snprintf(pin, sizeof pin, "ssh-ed25519 %s comment here", ED_PUB);
    CHECK_INTEQ(ferry_sftp_pin_matches(pin, blob, len, msg, sizeof msg), 1);
    snprintf(pin, sizeof pin, "ssh-rsa %s", ED_PUB); /* right key, wrong type */
    CHECK_INTEQ(ferry_sftp_pin_matches(pin, blob, len, msg, sizeof msg), 0);
    snprintf(pin, sizeof pin, "ecdsa-sha2-nistp256 %s", EC_PUB);
    CHECK_INTEQ(ferry_sftp_pin_matches(pin, blob, len, msg, sizeof msg), 0);
    CHECK_INTEQ(ferry_sftp_pin_matches(ED_PUB, blob, len, msg, sizeof msg), 1);
    CHECK_INTEQ(ferry_sftp_pin_matches("MD5:16:27:ac", blob, len, msg, sizeof msg), -1);
    CHECK(strstr(msg, "MD5") != NULL);
    CHECK(ferry_sftp_pin_is_typeless(ED_FP));
    CHECK(!ferry_sftp_pin_is_typeless(pin));
}

static void test_error_context(void)
{
    ferry_error err;
    ferry_error_clear(&err);
    ferry_error_hook(&err, FERRY_ERR_CONNECT, "sftp", "partner", "open '/in/x' failed: permission denied");
    err.transient = 1;
    ferry_sftp_error_context("partner", &err, "cannot create a temp file in '%s'", "/in");
    CHECK_STREQ(err.msg, "sftp(partner): cannot create a temp file in '/in': open '/in/x' failed: permission denied");
    CHECK_INTEQ(err.status, FERRY_ERR_CONNECT);
    CHECK_INTEQ(err.transient, 1);
}

static void test_conn_clone(void)
{
    ferry_conn *c = NULL;
    ferry_error err;
    ferry_error_clear(&err);
    CHECK_INTEQ(ferry_conn_parse_uri("partner", "sftp://etl:pw%2Fx@h.example:2222/?key_file=%2Fk&no_host_key_check=true",
                                     &c, &err),
                FERRY_OK);
    ferry_conn *d = c ? ferry_sftp_conn_clone(c) : NULL;
    CHECK(d != NULL);
    if (d) {
        CHECK_STREQ(d->id, "partner");
        CHECK_STREQ(d->type, "sftp");
        CHECK_STREQ(d->host, "h.example");
        CHECK_INTEQ(d->port, 2222);
        CHECK_STREQ(d->login, "etl");
        CHECK_STREQ(d->password, "pw/x");
        CHECK_STREQ(ferry_conn_extra(d, "key_file"), "/k");
        CHECK(ferry_conn_extra_bool(d, "no_host_key_check", 0));
        CHECK(d->extra != c->extra);
    }
    ferry_conn_free(c);
    ferry_conn_free(d);
}

static void test_table(void)
{
    CHECK(ferry_hook_for_type("sftp") == &ferry_hook_sftp);
    CHECK_STREQ(ferry_hook_sftp.name, "sftp");
    CHECK(ferry_hook_sftp.open_source && ferry_hook_sftp.open_sink && ferry_hook_sftp.stat && ferry_hook_sftp.list &&
          ferry_hook_sftp.remove && ferry_hook_sftp.mkdir && ferry_hook_sftp.test);
    CHECK(ferry_hook_sftp.exec == NULL);
    ferry_endpoint *ep = NULL;
    ferry_error err;
    ferry_error_clear(&err);
    CHECK_INTEQ(ferry_endpoint_parse("ssh://u@h.example/out/a.csv", NULL, 1, &ep, &err), FERRY_OK);
    if (ep) {
        CHECK(ep->hook == &ferry_hook_sftp);
        CHECK_STREQ(ep->path, "/out/a.csv");
    }
    ferry_endpoint_free(ep);
}

static ferry_status never_called(const ferry_entry *e, void *ud, ferry_error *err)
{
    (void)e;
    (void)ud;
    (void)err;
    return FERRY_ERR_INTERNAL;
}

/* Checks made before any connection: no server needed. */
static void test_checks_before_connecting(void)
{
    ferry_endpoint ep;
    memset(&ep, 0, sizeof ep);
    ep.kind = FERRY_EP_CONN;
    ep.hook = &ferry_hook_sftp;
    ep.conn = ferry_conn_new("partner", "sftp");
    ferry_error err;
    ferry_copy_options o;
    ferry_copy_options_init(&o);

    ep.path = "in/../etc/*.csv";
    ferry_error_clear(&err);
    CHECK_INTEQ(ferry_hook_sftp.list(&ep, 0, never_called, NULL, &err), FERRY_ERR_USAGE);
    CHECK(strstr(err.msg, "'..'") != NULL);
    ep.path = "in/*/x.csv";
    ferry_error_clear(&err);
    CHECK_INTEQ(ferry_hook_sftp.list(&ep, 0, never_called, NULL, &err), FERRY_ERR_USAGE);
    CHECK(strstr(err.msg, "last path component") != NULL);

    ferry_writer *w = NULL;
    ep.path = "outbound/";
    ferry_error_clear(&err);
    CHECK_INTEQ(ferry_hook_sftp.open_sink(&ep, &o, &w, &err), FERRY_ERR_USAGE);
    CHECK(w == NULL);

    ep.path = "outbound/a.csv"; /* a connection without a host */
    ferry_entry e;
    ferry_error_clear(&err);
    CHECK_INTEQ(ferry_hook_sftp.stat(&ep, &e, &err), FERRY_ERR_CONFIG);
    CHECK_STREQ(err.msg, "sftp(partner): the connection has no host");

    ep.conn->host = strdup("127.0.0.1");
    ep.conn->n_extra = 1;
    ep.conn->extra = calloc(1, sizeof *ep.conn->extra);
    ep.conn->extra[0].key = strdup("conn_timeout");
    ep.conn->extra[0].value = strdup("soon");
    ferry_error_clear(&err);
    CHECK_INTEQ(ferry_hook_sftp.stat(&ep, &e, &err), FERRY_ERR_CONFIG);
    CHECK(strstr(err.msg, "conn_timeout") != NULL);
    ferry_conn_free(ep.conn);
}

int main(void)
{
    RUN(test_fx_status);
    RUN(test_paths);
    RUN(test_sibling_names);
    RUN(test_base64);
    RUN(test_fingerprint_and_type);
    RUN(test_pins);
    RUN(test_error_context);
    RUN(test_conn_clone);
    RUN(test_table);
    RUN(test_checks_before_connecting);
    return check_summary();
}
