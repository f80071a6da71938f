/*
 * hooks/s3/s3_errmap.c - what an S3 failure means for ferry: HTTP status and
 * S3 error Code -> ferry_status (= CLI exit code) and whether a retry may
 * help; the human-readable detail of an answer.  curl failures are judged
 * by the shared engine (ferry_curl_outcome, hooks/curl/curl_engine.c).
 */
#include <stdio.h>
#include <string.h>

#include "hooks/s3/s3_internal.h"

typedef struct code_map {
    const char *code;
    ferry_status status;
    int transient;
} code_map;

static const code_map codes[] = {
    /* retry may help */
    {"SlowDown", FERRY_ERR_TRANSIENT, 1},
    {"InternalError", FERRY_ERR_TRANSIENT, 1},
    {"ServiceUnavailable", FERRY_ERR_TRANSIENT, 1},
    {"RequestTimeout", FERRY_ERR_TRANSIENT, 1},
    {"Throttling", FERRY_ERR_TRANSIENT, 1},
    {"ThrottlingException", FERRY_ERR_TRANSIENT, 1},
    {"RequestLimitExceeded", FERRY_ERR_TRANSIENT, 1},
    {"TooManyRequests", FERRY_ERR_TRANSIENT, 1},
    {"OperationAborted", FERRY_ERR_TRANSIENT, 1},
    {"BadDigest", FERRY_ERR_DATA, 1},               /* body damaged in transit */
    {"XAmzContentSHA256Mismatch", FERRY_ERR_DATA, 1},
    {"IncompleteBody", FERRY_ERR_DATA, 1},
    /* authentication / permission */
    {"SignatureDoesNotMatch", FERRY_ERR_CONNECT, 0},
    {"InvalidAccessKeyId", FERRY_ERR_CONNECT, 0},
    {"AccessDenied", FERRY_ERR_CONNECT, 0},
    {"ExpiredToken", FERRY_ERR_CONNECT, 0},
    {"InvalidToken", FERRY_ERR_CONNECT, 0},
    {"TokenRefreshRequired", FERRY_ERR_CONNECT, 0},
    {"RequestTimeTooSkewed", FERRY_ERR_CONNECT, 0},
    {"AuthorizationHeaderMalformed", FERRY_ERR_CONNECT, 0},
    {"AllAccessDisabled", FERRY_ERR_CONNECT, 0},
    {"AccountProblem", FERRY_ERR_CONNECT, 0},
    {"InvalidSecurity", FERRY_ERR_CONNECT, 0},
    {"UserSuspended", FERRY_ERR_CONNECT, 0},
    /* absent */
    {"NoSuchKey", FERRY_ERR_NOT_FOUND, 0},
    {"NoSuchBucket", FERRY_ERR_NOT_FOUND, 0},
    {"NoSuchUpload", FERRY_ERR_NOT_FOUND, 0},
    {"NoSuchVersion", FERRY_ERR_NOT_FOUND, 0},
    /* present */
    {"PreconditionFailed", FERRY_ERR_EXISTS, 0},
    {"BucketAlreadyExists", FERRY_ERR_EXISTS, 0},
    {"BucketAlreadyOwnedByYou", FERRY_ERR_EXISTS, 0},
    /* configuration */
    {"PermanentRedirect", FERRY_ERR_CONFIG, 0},
    {"TemporaryRedirect", FERRY_ERR_CONFIG, 0},
    {"IllegalLocationConstraintException", FERRY_ERR_CONFIG, 0},
    {"InvalidBucketName", FERRY_ERR_USAGE, 0},
    {"KeyTooLongError", FERRY_ERR_USAGE, 0},
    {"NotImplemented", FERRY_ERR_INTERNAL, 0},
};

ferry_status ferry_s3_error_status(long http, const char *code, int *transient)
{
    *transient = 0;
    if (code && *code) {
        for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
            if (strcmp(codes[i].code, code) == 0) {
                *transient = codes[i].transient;
                return codes[i].status;
            }
        }
    }
    switch (http) {
    case 301:
    case 307:
    case 308:
        return FERRY_ERR_CONFIG;        /* bucket in another region / endpoint */
    case 401:
    case 403:
        return FERRY_ERR_CONNECT;
    case 404:
        return FERRY_ERR_NOT_FOUND;
    case 304:
    case 412:
        return FERRY_ERR_EXISTS;
    case 408:
    case 429:
    case 500:
    case 502:
    case 503:
    case 504:
        *transient = 1;
        return FERRY_ERR_TRANSIENT;
    case 501:
        return FERRY_ERR_INTERNAL;
    default:
        break;
    }
    if (http >= 500) {
        *transient = 1;
        return FERRY_ERR_TRANSIENT;
    }
    if (http >= 400)
        return FERRY_ERR_DATA;
    return FERRY_ERR_INTERNAL;
}

const char *ferry_s3_http_reason(long http)
{
    switch (http) {
    case 200: return "OK";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 416: return "Range Not Satisfiable";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "";
    }
}

void ferry_s3_error_detail(long http, const char *body, size_t len, const ferry_s3_error_doc *doc, char *out,
                           size_t cap)
{
    if (doc && doc->found) {
        if (doc->message[0] && doc->endpoint[0])
            snprintf(out, cap, "HTTP %ld %s: %s (endpoint %s)", http, doc->code, doc->message,
                     doc->endpoint);
        else if (doc->message[0])
            snprintf(out, cap, "HTTP %ld %s: %s", http, doc->code, doc->message);
        else
            snprintf(out, cap, "HTTP %ld %s", http, doc->code);
        return;
    }
    const char *reason = ferry_s3_http_reason(http);
    if (body && len > 0) {
        char shown[160];
        ferry_s3_printable(body, len, shown, sizeof shown);
        snprintf(out, cap, "HTTP %ld%s%s: '%s'", http, *reason ? " " : "", reason, shown);
    } else {
        snprintf(out, cap, "HTTP %ld%s%s", http, *reason ? " " : "", reason);
    }
}
