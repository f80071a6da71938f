/*
 * tests/fuzz/fuzz_sigv4.c - the SigV4 canonicalizer and signer
 * (hooks/s3/sigv4.c): ferry_sigv4_uri_encode, ferry_sigv4_sign_headers and
 * ferry_sigv4_presign_url with fuzzed methods, hosts, paths, query
 * parameters, header names and values, credentials and times.
 *
 * Input: byte 0 flags (bit 0 FERRY_SIGV4_NORMALIZE_PATH, bit 1
 * FERRY_SIGV4_CONTENT_SHA256, bit 2 replace the secret by an alphanumeric one
 * made from the input, bit 3 pass the session token, bit 4 payload_hash
 * NULL, bit 5 presign too, bit 6 a realistic signing time), 8 bytes of
 * signing time, a query count and a header count (% 9 each), then
 * NUL-separated strings: method, host, path, region, service, access key id,
 * secret, session token, payload hash, the query pairs (a value of "\x7f"
 * alone is NULL: "?uploads"), the header pairs.
 *
 * Invariants, besides no crash / leak / UB:
 *  - ferry_sigv4_uri_encode: the length it returns and the (possibly cut)
 *    output match a reference encoder, always NUL-terminated;
 *  - a signature is 64 hex digits, the Authorization header carries it and
 *    the signed headers, the string to sign ends with the hash of the
 *    canonical request, and the canonical request starts with the method;
 *  - the order of the query parameters (and of headers with distinct names)
 *    does not change the signature;
 *  - the secret access key never appears in canonical_request,
 *    string_to_sign, authorization, signed_headers, a presigned URL or an
 *    error message.  Checked when the secret is alphanumeric, >= 12 bytes and
 *    appears (any case) in no other input nor in the fixed words of the
 *    format: then the output cannot hold it by coincidence.
 */
#include <ctype.h>
#include <strings.h>

#include "hooks/s3/sigv4.h"
#include "fuzz_common.h"

#define MAX_KV 8

/* ---- URI encoding ------------------------------------------------------ */

static size_t ref_encode(const unsigned char *in, size_t len, int encode_slash, char *out)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t k = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = in[i];
        if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || (c == '/' && !encode_slash)) {
            out[k++] = (char)c;
        } else {
            out[k++] = '%';
            out[k++] = hex[c >> 4];
            out[k++] = hex[c & 15];
        }
    }
    return k;
}

static void check_uri_encode(const uint8_t *p, size_t n, uint8_t sizer)
{
    char *want = malloc(3 * n + 1);
    if (!want)
        abort();
    for (int slash = 0; slash < 2; slash++) {
        size_t wn = ref_encode(p, n, slash, want);
        /* output capacity: 0, exact, one short, or something in between */
        size_t caps[4] = {0, wn + 1, wn, (size_t)sizer % (wn + 2)};
        for (int c = 0; c < 4; c++) {
            size_t cap = caps[c];
            char *out = cap ? malloc(cap) : NULL;
            if (cap && !out)
                abort();
            size_t need = ferry_sigv4_uri_encode((const char *)p, n, slash, out, cap);
            FUZZ_CHECK(need == wn, "uri_encode needs %zu, reference %zu", need, wn);
            FUZZ_CHECK(need <= 3 * n, "uri_encode needs more than 3 * len");
            if (cap) {
                size_t got = strnlen(out, cap);
                size_t expect = wn < cap ? wn : cap - 1;
                FUZZ_CHECK(got == expect && memcmp(out, want, got) == 0,
                           "uri_encode output (cap %zu) differs from the reference", cap);
            }
            free(out);
        }
    }
    free(want);
}

/* ---- the secret check ---------------------------------------------------------- */

static int secret_checkable(const char *secret, char *const *inputs, size_t n_inputs)
{
    static const char *const fixed[] = {
        "AWS4-HMAC-SHA256", "aws4_request", "Credential", "SignedHeaders", "Signature",
        "host", "x-amz-date", "x-amz-content-sha256", "x-amz-security-token",
        FERRY_SIGV4_UNSIGNED_PAYLOAD, FERRY_SIGV4_EMPTY_SHA256, "X-Amz-Algorithm",
        "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders",
        "X-Amz-Security-Token", "X-Amz-Signature", "https", "http"};
    size_t n = strlen(secret);
    if (n < 12)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)secret[i]))
            return 0;
    for (size_t i = 0; i < n_inputs; i++)
        if (inputs[i] && strcasestr(inputs[i], secret))
            return 0;
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        if (strcasestr(fixed[i], secret))
            return 0;
    return 1;
}

static void no_secret(const char *text, const char *secret, const char *what)
{
    if (text)
        FUZZ_CHECK(!strstr(text, secret), "the secret access key appears in %s: %s", what, text);
}

static int is_hex64(const char *s)
{
    for (int i = 0; i < 64; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return s[64] == '\0';
}

/* ---- the target ----------------------------------------------------------------- */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_in in = {data, size};
    uint8_t flags = fz_u8(&in);
    uint64_t when = (uint64_t)fz_u32(&in) << 32;
    when |= fz_u32(&in);
    size_t nq = fz_u8(&in) % (MAX_KV + 1);
    size_t nh = fz_u8(&in) % (MAX_KV + 1);

    /* every string, to free them and to look for the secret in them */
    char *strs[9 + 4 * MAX_KV];
    size_t ns = 0;
    const uint8_t *path_bytes = in.p;
    char *method = strs[ns++] = fz_str(&in);
    char *host = strs[ns++] = fz_str(&in);
    char *path = strs[ns++] = fz_str(&in);
    size_t path_len = (size_t)(in.p - path_bytes); /* the raw bytes of method..path, NULs too */
    char *region = strs[ns++] = fz_str(&in);
    char *service = strs[ns++] = fz_str(&in);
    char *access_key = strs[ns++] = fz_str(&in);
    char *secret = strs[ns++] = fz_str(&in);
    char *token = strs[ns++] = fz_str(&in);
    char *payload = strs[ns++] = fz_str(&in);
    ferry_sigv4_kv query[MAX_KV], headers[MAX_KV];
    for (size_t i = 0; i < nq; i++) {
        query[i].name = strs[ns++] = fz_str(&in);
        char *v = strs[ns++] = fz_str(&in);
        query[i].value = strcmp(v, "\x7f") == 0 ? NULL : v;
    }
    for (size_t i = 0; i < nh; i++) {
        headers[i].name = strs[ns++] = fz_str(&in);
        headers[i].value = strs[ns++] = fz_str(&in);
    }

    check_uri_encode(path_bytes, path_len, flags);

    char generated[41];
    if (flags & 4) {
        /* an alphanumeric 40-byte secret spelled from the input, so the leak check runs */
        static const char alnum[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        fz_rng rng;
        fz_rng_seed(&rng, size * 131 + flags);
        for (int i = 0; i < 40; i++)
            generated[i] = alnum[fz_rng_next(&rng) % 62];
        generated[40] = '\0';
    }
    const char *the_secret = (flags & 4) ? generated : secret;
    time_t t = (flags & 64) ? (time_t)(1600000000 + when % 500000000) : (time_t)(int64_t)when;

    ferry_sigv4_credentials creds = {access_key, the_secret, (flags & 8) ? token : NULL};
    ferry_sigv4_request req = {
        .method = method, .host = host, .path = path, .query = nq ? query : NULL, .nquery = nq,
        .headers = nh ? headers : NULL, .nheaders = nh,
        .payload_hash = (flags & 16) ? NULL : payload, .region = region, .service = service,
        .when = t, .flags = flags & 3u};

    char amz[17] = "", stamp[9] = "";
    (void)ferry_sigv4_format_time(t, amz, stamp);
    char *others[9 + 4 * MAX_KV + 2];
    size_t no = 0;
    for (size_t i = 0; i < ns; i++)
        if (strs[i] != secret || (flags & 4))
            others[no++] = strs[i];
    others[no++] = amz;
    others[no++] = stamp;
    int check_secret = secret_checkable(the_secret, others, no);

    ferry_sigv4_signed s;
    ferry_error err;
    ferry_error_clear(&err);
    ferry_status st = ferry_sigv4_sign_headers(&creds, &req, &s, &err);
    if (st == FERRY_OK) {
        FUZZ_CHECK(s.authorization && s.canonical_request && s.string_to_sign && s.signed_headers,
                   "a field of the signed result is NULL");
        FUZZ_CHECK(is_hex64(s.signature), "signature is not 64 hex digits: %s", s.signature);
        FUZZ_CHECK(strstr(s.authorization, s.signature) && strstr(s.authorization, s.signed_headers),
                   "Authorization lacks the signature or the signed headers: %s", s.authorization);
        size_t ml = strlen(method);
        FUZZ_CHECK(strncmp(s.canonical_request, method, ml) == 0 && s.canonical_request[ml] == '\n',
                   "the canonical request does not start with the method");
        char h[65];
        FUZZ_CHECK(ferry_sha256_hex(s.canonical_request, strlen(s.canonical_request), h) == FERRY_OK,
                   "sha256");
        size_t sl = strlen(s.string_to_sign);
        FUZZ_CHECK(sl >= 64 && strcmp(s.string_to_sign + sl - 64, h) == 0,
                   "the string to sign does not end with the canonical request's hash");
        if (check_secret) {
            no_secret(s.authorization, the_secret, "authorization");
            no_secret(s.canonical_request, the_secret, "canonical_request");
            no_secret(s.string_to_sign, the_secret, "string_to_sign");
            no_secret(s.signed_headers, the_secret, "signed_headers");
        }
        /* the order of the query does not matter */
        ferry_sigv4_kv rq[MAX_KV], rh[MAX_KV];
        for (size_t i = 0; i < nq; i++)
            rq[i] = query[nq - 1 - i];
        int distinct = 1;
        for (size_t i = 0; i < nh; i++) {
            rh[i] = headers[nh - 1 - i];
            for (size_t j = 0; j < i; j++)
                if (strcasecmp(headers[i].name, headers[j].name) == 0)
                    distinct = 0;
        }
        ferry_sigv4_request req2 = req;
        req2.query = nq ? rq : NULL;
        if (distinct)
            req2.headers = nh ? rh : NULL;
        ferry_sigv4_signed s2;
        ferry_error err2;
        FUZZ_CHECK(ferry_sigv4_sign_headers(&creds, &req2, &s2, &err2) == FERRY_OK,
                   "signing failed after reordering: %s", err2.msg);
        FUZZ_CHECK(strcmp(s.signature, s2.signature) == 0 &&
                       strcmp(s.canonical_request, s2.canonical_request) == 0,
                   "reordering the query%s changed the signature", distinct ? " or headers" : "");
        ferry_sigv4_signed_free(&s2);
    } else {
        FUZZ_CHECK(err.status == st && err.msg[0], "failure %d without a message", st);
        FUZZ_CHECK(!s.authorization && !s.canonical_request, "a failed signing left output");
        if (check_secret)
            no_secret(err.msg, the_secret, "an error message");
    }
    ferry_sigv4_signed_free(&s);

    if (flags & 32) {
        ferry_sigv4_request preq = req;
        preq.headers = NULL;
        preq.nheaders = 0;
        preq.flags &= ~(unsigned)FERRY_SIGV4_CONTENT_SHA256;
        char *url = NULL;
        ferry_sigv4_signed dbg;
        long expires = 1 + (long)(when % 700000);
        st = ferry_sigv4_presign_url(&creds, &preq, (flags & 128) ? "https" : payload, expires, &url,
                                     (flags & 2) ? &dbg : NULL, &err);
        if (st == FERRY_OK) {
            FUZZ_CHECK(url != NULL, "presign without a URL");
            if (check_secret) {
                no_secret(url, the_secret, "a presigned URL");
                if (flags & 2) {
                    no_secret(dbg.canonical_request, the_secret, "presign canonical_request");
                    no_secret(dbg.string_to_sign, the_secret, "presign string_to_sign");
                }
            }
            if (flags & 2)
                ferry_sigv4_signed_free(&dbg);
        } else {
            FUZZ_CHECK(url == NULL, "a failed presign returned a URL");
            if (check_secret)
                no_secret(err.msg, the_secret, "a presign error message");
        }
        free(url);
    }

    for (size_t i = 0; i < ns; i++)
        free(strs[i]);
    return 0;
}
