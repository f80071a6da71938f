/*
 * test_curl_errmap.c - the one CURLcode -> ferry_status map of the curl
 * hooks (hooks/curl/curl_engine.c), table-driven: every code the map names
 * and a code it does not, with the status (= exit code, README's table) and
 * the transient flag; then the engine's judgement of a finished transfer
 * (stall, connect timeout, cancellation) that refines it.
 */
#include "check.h"
#include "hooks/curl/curl_engine.h"

typedef struct row {
    CURLcode code;
    const char *name;
    ferry_status status;
    int transient;
} row;

#define R(c, s, t) {c, #c, s, t}

static const row rows[] = {
    R(CURLE_OK, FERRY_OK, 0),
    /* could not connect: retried, 4 */
    R(CURLE_COULDNT_CONNECT, FERRY_ERR_CONNECT, 1),
    R(CURLE_SSL_CONNECT_ERROR, FERRY_ERR_CONNECT, 1),
    R(CURLE_QUIC_CONNECT_ERROR, FERRY_ERR_CONNECT, 1),
    /* could not connect, at once: 4 */
    R(CURLE_COULDNT_RESOLVE_HOST, FERRY_ERR_CONNECT, 0),
    R(CURLE_COULDNT_RESOLVE_PROXY, FERRY_ERR_CONNECT, 0),
    R(CURLE_PROXY, FERRY_ERR_CONNECT, 0),
    R(CURLE_USE_SSL_FAILED, FERRY_ERR_CONNECT, 0),
    R(CURLE_SSL_CIPHER, FERRY_ERR_CONNECT, 0),
    /* authentication, permission, certificates: 4 */
    R(CURLE_LOGIN_DENIED, FERRY_ERR_CONNECT, 0),
    R(CURLE_REMOTE_ACCESS_DENIED, FERRY_ERR_CONNECT, 0),
    R(CURLE_AUTH_ERROR, FERRY_ERR_CONNECT, 0),
    R(CURLE_PEER_FAILED_VERIFICATION, FERRY_ERR_CONNECT, 0),
    R(CURLE_SSL_ISSUER_ERROR, FERRY_ERR_CONNECT, 0),
    R(CURLE_SSL_PINNEDPUBKEYNOTMATCH, FERRY_ERR_CONNECT, 0),
    R(CURLE_SSL_INVALIDCERTSTATUS, FERRY_ERR_CONNECT, 0),
    R(CURLE_SSL_CACERT_BADFILE, FERRY_ERR_CONNECT, 0),   /* was 3 in the HTTP hook, 4 in S3 */
    R(CURLE_SSL_CRL_BADFILE, FERRY_ERR_CONNECT, 0),
    R(CURLE_SSL_CLIENTCERT, FERRY_ERR_CONNECT, 0),
    /* an established exchange broke: retried, 8 */
    R(CURLE_SEND_ERROR, FERRY_ERR_TRANSIENT, 1),
    R(CURLE_RECV_ERROR, FERRY_ERR_TRANSIENT, 1),
    R(CURLE_GOT_NOTHING, FERRY_ERR_TRANSIENT, 1),
    R(CURLE_PARTIAL_FILE, FERRY_ERR_TRANSIENT, 1),        /* was 7 in the HTTP hook */
    R(CURLE_WEIRD_SERVER_REPLY, FERRY_ERR_TRANSIENT, 1),
    R(CURLE_HTTP2, FERRY_ERR_TRANSIENT, 1),
    R(CURLE_HTTP2_STREAM, FERRY_ERR_TRANSIENT, 1),
    R(CURLE_HTTP3, FERRY_ERR_TRANSIENT, 1),
    R(CURLE_SEND_FAIL_REWIND, FERRY_ERR_TRANSIENT, 1),
    R(CURLE_SSL_SHUTDOWN_FAILED, FERRY_ERR_TRANSIENT, 1),
    R(CURLE_AGAIN, FERRY_ERR_TRANSIENT, 1),
    /* curl's timer: 10 */
    R(CURLE_OPERATION_TIMEDOUT, FERRY_ERR_TIMEOUT, 1),
    /* not a usable URL or setup: 3 */
    R(CURLE_UNSUPPORTED_PROTOCOL, FERRY_ERR_CONFIG, 0),
    R(CURLE_URL_MALFORMAT, FERRY_ERR_CONFIG, 0),
    R(CURLE_SSL_CERTPROBLEM, FERRY_ERR_CONFIG, 0),      /* was 4 in S3; as SFTP's key_file */
    R(CURLE_INTERFACE_FAILED, FERRY_ERR_CONFIG, 0),
    R(CURLE_SSL_ENGINE_NOTFOUND, FERRY_ERR_CONFIG, 0),
    R(CURLE_SSL_ENGINE_SETFAILED, FERRY_ERR_CONFIG, 0),
    R(CURLE_SSL_ENGINE_INITFAILED, FERRY_ERR_CONFIG, 0),
    /* the answer is not what was asked for: 7 */
    R(CURLE_TOO_MANY_REDIRECTS, FERRY_ERR_DATA, 0),
    R(CURLE_HTTP_RETURNED_ERROR, FERRY_ERR_DATA, 0),
    R(CURLE_BAD_CONTENT_ENCODING, FERRY_ERR_DATA, 0),
    R(CURLE_RANGE_ERROR, FERRY_ERR_DATA, 0),
    R(CURLE_BAD_DOWNLOAD_RESUME, FERRY_ERR_DATA, 0),
    R(CURLE_FILESIZE_EXCEEDED, FERRY_ERR_DATA, 0),
    R(CURLE_UPLOAD_FAILED, FERRY_ERR_DATA, 0),
    /* the reader failed: 9 */
    R(CURLE_READ_ERROR, FERRY_ERR_IO, 0),
    /* cancellation: 130 */
    R(CURLE_ABORTED_BY_CALLBACK, FERRY_ERR_INTERRUPTED, 0),
    /* ferry's own failures: 1 */
    R(CURLE_OUT_OF_MEMORY, FERRY_ERR_INTERNAL, 0),
    R(CURLE_WRITE_ERROR, FERRY_ERR_INTERNAL, 0),
    R(CURLE_FAILED_INIT, FERRY_ERR_INTERNAL, 0),
    R(CURLE_NOT_BUILT_IN, FERRY_ERR_INTERNAL, 0),
    R(CURLE_FUNCTION_NOT_FOUND, FERRY_ERR_INTERNAL, 0),
    R(CURLE_BAD_FUNCTION_ARGUMENT, FERRY_ERR_INTERNAL, 0),
    R(CURLE_UNKNOWN_OPTION, FERRY_ERR_INTERNAL, 0),
    R(CURLE_RECURSIVE_API_CALL, FERRY_ERR_INTERNAL, 0),
    /* the default: a code HTTP(S) transfers do not give (was 7 in HTTP, 4 in S3) */
    R(CURLE_TFTP_NOTFOUND, FERRY_ERR_INTERNAL, 0),
    R(CURLE_FTP_WEIRD_PASV_REPLY, FERRY_ERR_INTERNAL, 0),
    {(CURLcode)9999, "9999 (unknown)", FERRY_ERR_INTERNAL, 0},
};

static void test_table(void)
{
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        int t = -1;
        ferry_status st = ferry_curl_status(rows[i].code, &t);
        if (st != rows[i].status || t != rows[i].transient) {
            fprintf(stderr, "  %s: status %d transient %d, want %d %d\n", rows[i].name, (int)st, t,
                    (int)rows[i].status, rows[i].transient);
            CHECK(st == rows[i].status && t == rows[i].transient);
        }
    }
}

/* The engine's refinements: a stall is 10 whatever curl says, curl's timer
 * (connecting) is 4 like a refused connection, cancellation 130, and the
 * cause is curl's error buffer when it has one. */
static void test_outcome(void)
{
    ferry_curl_xfer x;
    memset(&x, 0, sizeof x);
    x.cancellable = 1;
    char cause[CURL_ERROR_SIZE];
    int t = -1;

    x.result = CURLE_ABORTED_BY_CALLBACK;
    x.stalled = 1;
    CHECK(ferry_curl_outcome(&x, &t, cause, sizeof cause) == FERRY_ERR_TIMEOUT && t == 1);
    x.stalled = 0;

    x.result = CURLE_OPERATION_TIMEDOUT;
    snprintf(x.errbuf, sizeof x.errbuf, "Connection timed out after 2001 milliseconds");
    CHECK(ferry_curl_outcome(&x, &t, cause, sizeof cause) == FERRY_ERR_CONNECT && t == 1);
    CHECK_STREQ(cause, "Connection timed out after 2001 milliseconds");

    x.errbuf[0] = '\0';
    x.result = CURLE_COULDNT_CONNECT;
    CHECK(ferry_curl_outcome(&x, &t, cause, sizeof cause) == FERRY_ERR_CONNECT && t == 1);
    CHECK_STREQ(cause, curl_easy_strerror(CURLE_COULDNT_CONNECT));

    x.result = CURLE_PARTIAL_FILE;
    CHECK(ferry_curl_outcome(&x, &t, cause, sizeof cause) == FERRY_ERR_TRANSIENT && t == 1);

    x.result = CURLE_ABORTED_BY_CALLBACK;
    x.cancelled = 1;
    CHECK(ferry_curl_outcome(&x, &t, cause, sizeof cause) == FERRY_ERR_INTERRUPTED && t == 0);
}

static void test_init_once(void)
{
    ferry_error err;
    ferry_error_clear(&err);
    CHECK(ferry_curl_init(&err) == FERRY_OK);
    CHECK(ferry_curl_init(&err) == FERRY_OK);
}

int main(void)
{
    RUN(test_table);
    RUN(test_outcome);
    RUN(test_init_once);
    return check_summary();
}
