/*
 * hooks/sftp/sftp_hostkey.c - is this really the server we mean?  Host keys
 * are verified strictly by default:
 *   no_host_key_check=true   accepted unverified, with a WARN every time;
 *   host_key=<pin>           the one key the server must present: either
 *                            "ssh-ed25519 AAAA…" (public key) or "SHA256:…";
 *   otherwise                the known_hosts extra, else ~/.ssh/known_hosts,
 *                            through libssh2_knownhost_checkp (hashed names
 *                            and "[host]:port" entries work; @revoked lines
 *                            refuse a key; lines libssh2 cannot parse are
 *                            skipped, not fatal).
 * Unknown, changed or revoked keys fail with FERRY_ERR_CONNECT and a message
 * showing the key type, its SHA256 fingerprint (as ssh-keygen -l prints it)
 * and the known_hosts path.
 */
#include <ctype.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "ferry/log.h"
#include "hooks/sftp/sftp_internal.h"

/* ---------------------------------------------------------------- pure helpers */

int ferry_sftp_fingerprint(const unsigned char *blob, size_t len, char *out, size_t cap)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    char b64[64];
    if (!EVP_Digest(blob, len, md, &mdlen, EVP_sha256(), NULL) || !ferry_base64_encode(md, mdlen, b64, sizeof b64))
        return 0;
    size_t n = strlen(b64);
    while (n > 0 && b64[n - 1] == '=')
        b64[--n] = '\0';
    int w = snprintf(out, cap, "SHA256:%s", b64);
    return w > 0 && (size_t)w < cap;
}

int ferry_sftp_key_type(const unsigned char *blob, size_t len, char *out, size_t cap)
{
    if (len < 4)
        return 0;
    size_t n = (size_t)blob[0] << 24 | (size_t)blob[1] << 16 | (size_t)blob[2] << 8 | blob[3];
    if (n == 0 || n > len - 4 || n >= cap)
        return 0;
    memcpy(out, blob + 4, n);
    out[n] = '\0';
    for (size_t i = 0; i < n; i++)
        if (!isgraph((unsigned char)out[i]))
            return 0;
    return 1;
}

/* Copy s without surrounding blanks and trailing '=' padding into out. */
static void trim_b64(const char *s, size_t n, char *out, size_t cap)
{
    while (n > 0 && isspace((unsigned char)*s)) {
        s++;
        n--;
    }
    while (n > 0 && (isspace((unsigned char)s[n - 1]) || s[n - 1] == '='))
        n--;
    if (n >= cap)
        n = cap - 1;
    memmove(out, s, n);
    out[n] = '\0';
}

int ferry_sftp_pin_matches(const char *pin, const unsigned char *blob, size_t len, char *msg, size_t cap)
{
    char fp[128], type[64], given[16384];
    char *b64 = malloc(len / 3 * 4 + 8);
    if (!b64 || !ferry_base64_encode(blob, len, b64, len / 3 * 4 + 8) || !ferry_sftp_fingerprint(blob, len, fp, sizeof fp) ||
        !ferry_sftp_key_type(blob, len, type, sizeof type)) {
        free(b64);
        snprintf(msg, cap, "the server's host key cannot be read");
        return -1;
    }
    trim_b64(b64, strlen(b64), b64, len / 3 * 4 + 8);
    while (isspace((unsigned char)*pin))
        pin++;
    int result;
    if (strncasecmp(pin, "SHA256:", 7) == 0) {
        trim_b64(pin + 7, strlen(pin + 7), given, sizeof given);
        result = strcmp(given, fp + 7) == 0;
    } else if (strncasecmp(pin, "MD5:", 4) == 0) {
        snprintf(msg, cap, "MD5 fingerprints are not supported in host_key: give SHA256:… or the public key");
        result = -1;
    } else {
        const char *sp = pin + strcspn(pin, " \t");
        if (*sp) {
            /* "<type> <base64>[ comment]" */
            size_t tlen = (size_t)(sp - pin);
            while (isspace((unsigned char)*sp))
                sp++;
            size_t klen = strcspn(sp, " \t\r\n");
            trim_b64(sp, klen, given, sizeof given);
            result = tlen == strlen(type) && strncmp(pin, type, tlen) == 0 && strcmp(given, b64) == 0;
        } else {
            trim_b64(pin, strlen(pin), given, sizeof given);
            result = strcmp(given, b64) == 0;
        }
        if (given[0] == '\0') {
            snprintf(msg, cap, "host_key is empty");
            result = -1;
        }
    }
    free(b64);
    return result;
}

/* ---------------------------------------------------------------- key types */

typedef struct key_kind {
    int hostkey_type;       /* LIBSSH2_HOSTKEY_TYPE_* */
    int knownhost_mask;     /* LIBSSH2_KNOWNHOST_KEY_* */
    const char *name;       /* as in a public key / known_hosts line */
    const char *algorithms; /* host key algorithms that present it */
} key_kind;

static const key_kind key_kinds[] = {
    {LIBSSH2_HOSTKEY_TYPE_ED25519, LIBSSH2_KNOWNHOST_KEY_ED25519, "ssh-ed25519", "ssh-ed25519"},
    {LIBSSH2_HOSTKEY_TYPE_ECDSA_256, LIBSSH2_KNOWNHOST_KEY_ECDSA_256, "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp256"},
    {LIBSSH2_HOSTKEY_TYPE_ECDSA_384, LIBSSH2_KNOWNHOST_KEY_ECDSA_384, "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp384"},
    {LIBSSH2_HOSTKEY_TYPE_ECDSA_521, LIBSSH2_KNOWNHOST_KEY_ECDSA_521, "ecdsa-sha2-nistp521", "ecdsa-sha2-nistp521"},
    {LIBSSH2_HOSTKEY_TYPE_RSA, LIBSSH2_KNOWNHOST_KEY_SSHRSA, "ssh-rsa", "rsa-sha2-512,rsa-sha2-256,ssh-rsa"},
    {LIBSSH2_HOSTKEY_TYPE_DSS, LIBSSH2_KNOWNHOST_KEY_SSHDSS, "ssh-dss", "ssh-dss"},
};
#define N_KEY_KINDS (sizeof key_kinds / sizeof key_kinds[0])

static const key_kind *kind_by_hostkey_type(int type)
{
    for (size_t i = 0; i < N_KEY_KINDS; i++)
        if (key_kinds[i].hostkey_type == type)
            return &key_kinds[i];
    return NULL;
}

static const key_kind *kind_by_name(const char *name, size_t n)
{
    for (size_t i = 0; i < N_KEY_KINDS; i++)
        if (strlen(key_kinds[i].name) == n && strncmp(key_kinds[i].name, name, n) == 0)
            return &key_kinds[i];
    return NULL;
}

/* ---------------------------------------------------------------- known_hosts */

/* The known_hosts path: the extra (with "~/" expanded) or ~/.ssh/known_hosts. */
static void known_hosts_path(const ferry_conn *conn, char *out, size_t cap)
{
    const char *p = ferry_conn_extra(conn, "known_hosts");
    const char *home = getenv("HOME");
    if (!home || !*home) {
        struct passwd *pw = getpwuid(getuid());
        home = pw && pw->pw_dir ? pw->pw_dir : "/";
    }
    if (p && *p) {
        if (strncmp(p, "~/", 2) == 0)
            snprintf(out, cap, "%s/%s", home, p + 2);
        else
            snprintf(out, cap, "%s", p);
    } else {
        snprintf(out, cap, "%s/.ssh/known_hosts", home);
    }
}

typedef struct known_hosts {
    LIBSSH2_KNOWNHOSTS *good;    /* plain entries */
    LIBSSH2_KNOWNHOSTS *revoked; /* @revoked entries */
    int exists;                  /* the file could be opened */
    int entries;                 /* lines loaded */
    int skipped;                 /* lines libssh2 could not parse */
} known_hosts;

static void known_hosts_free(known_hosts *kh)
{
    if (kh->good)
        libssh2_knownhost_free(kh->good);
    if (kh->revoked)
        libssh2_knownhost_free(kh->revoked);
    memset(kh, 0, sizeof *kh);
}

/* Load path line by line (libssh2_knownhost_readfile stops at the first line
 * it cannot parse; one unsupported key type must not hide the rest). */
static int known_hosts_load(LIBSSH2_SESSION *ssh, const char *path, known_hosts *kh)
{
    memset(kh, 0, sizeof *kh);
    kh->good = libssh2_knownhost_init(ssh);
    kh->revoked = libssh2_knownhost_init(ssh);
    if (!kh->good || !kh->revoked) {
        known_hosts_free(kh);
        return -1;
    }
    FILE *f = fopen(path, "re");
    if (!f)
        return 0;
    kh->exists = 1;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    for (;;) {
        n = getline(&line, &cap, f);
        if (n < 0)
            break;
        const char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '#' || *p == '\n' || *p == '\r' || *p == '\0')
            continue;
        LIBSSH2_KNOWNHOSTS *into = kh->good;
        if (*p == '@') {
            if (strncmp(p, "@revoked", 8) != 0 || (p[8] != ' ' && p[8] != '\t')) {
                kh->skipped++; /* @cert-authority: certificates are not supported */
                continue;
            }
            p += 8;
            while (*p == ' ' || *p == '\t')
                p++;
            into = kh->revoked;
        }
        if (libssh2_knownhost_readline(into, p, strlen(p), LIBSSH2_KNOWNHOST_FILE_OPENSSH) == 0)
            kh->entries++;
        else
            kh->skipped++;
    }
    free(line);
    fclose(f);
    if (kh->skipped)
        ferry_log(FERRY_LOG_DEBUG, FERRY_SFTP_SYSTEM ": %s: skipped %d line(s) libssh2 cannot use", path,
                  kh->skipped);
    return 0;
}

/* Does the collection hold a key of this kind for host:port?  (Checking a key
 * that cannot match tells: MISMATCH means an entry of that kind exists.) */
static int has_key_kind(LIBSSH2_KNOWNHOSTS *hosts, const char *host, int port, const key_kind *k)
{
    static const char dummy[] = "AAAA";
    int rc = libssh2_knownhost_checkp(hosts, host, port, dummy, sizeof dummy - 1,
                                      LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_BASE64 |
                                          k->knownhost_mask,
                                      NULL);
    return rc == LIBSSH2_KNOWNHOST_CHECK_MISMATCH || rc == LIBSSH2_KNOWNHOST_CHECK_MATCH;
}

static void append_algorithms(char *list, size_t cap, const char *algs)
{
    /* add each algorithm of algs not yet in list */
    const char *p = algs;
    while (*p) {
        size_t n = strcspn(p, ",");
        char one[64];
        if (n < sizeof one) {
            memcpy(one, p, n);
            one[n] = '\0';
            int present = 0;
            for (const char *q = list; *q && !present;) {
                size_t m = strcspn(q, ",");
                present = m == n && strncmp(q, one, n) == 0;
                q += m;
                if (*q == ',')
                    q++;
            }
            size_t used = strlen(list);
            if (!present && used + n + 2 < cap)
                snprintf(list + used, cap - used, "%s%s", used ? "," : "", one);
        }
        p += n;
        if (*p == ',')
            p++;
    }
}

const char *ferry_sftp_hostkey_kind(size_t i, int *hostkey_type)
{
    /* DSS is left out: no server should be asked for it */
    if (i >= N_KEY_KINDS || key_kinds[i].hostkey_type == LIBSSH2_HOSTKEY_TYPE_DSS)
        return NULL;
    *hostkey_type = key_kinds[i].hostkey_type;
    return key_kinds[i].algorithms;
}

int ferry_sftp_pin_is_typeless(const char *pin)
{
    while (pin && isspace((unsigned char)*pin))
        pin++;
    return pin && strncasecmp(pin, "SHA256:", 7) == 0;
}

/* Set the host key preference to the algorithms of `list` this libssh2
 * supports.  (libssh2 1.10 drops unsupported names itself, but with an
 * overlapping memcpy; and it knows no rsa-sha2-* host keys.) */
static void set_preference(ferry_sftp_session *s, const char *list)
{
    const char **algs = NULL;
    int n = libssh2_session_supported_algs(s->ssh, LIBSSH2_METHOD_HOSTKEY, &algs);
    if (n <= 0)
        return;
    char supported[512] = "";
    for (const char *p = list; *p;) {
        size_t len = strcspn(p, ",");
        for (int i = 0; i < n; i++) {
            if (strlen(algs[i]) == len && strncmp(algs[i], p, len) == 0) {
                append_algorithms(supported, sizeof supported, algs[i]);
                break;
            }
        }
        p += len;
        if (*p == ',')
            p++;
    }
    libssh2_free(s->ssh, (void *)algs);
    if (supported[0] && libssh2_session_method_pref(s->ssh, LIBSSH2_METHOD_HOSTKEY, supported) != 0)
        ferry_log(FERRY_LOG_DEBUG, FERRY_SFTP_SYSTEM "(%s): host key preference '%s' not accepted", s->conn_id,
                  supported);
}

void ferry_sftp_prefer_hostkeys(ferry_sftp_session *s, const ferry_conn *conn, const char *only)
{
    if (only) {
        set_preference(s, only);
        return;
    }
    if (ferry_conn_extra_bool(conn, "no_host_key_check", 0))
        return;
    char list[512] = "";
    const char *pin = ferry_conn_extra(conn, "host_key");
    if (pin && *pin) {
        while (isspace((unsigned char)*pin))
            pin++;
        const key_kind *k = kind_by_name(pin, strcspn(pin, " \t"));
        if (k)
            append_algorithms(list, sizeof list, k->algorithms);
    } else {
        char path[1024];
        known_hosts kh;
        known_hosts_path(conn, path, sizeof path);
        if (known_hosts_load(s->ssh, path, &kh) == 0) {
            for (size_t i = 0; i < N_KEY_KINDS; i++)
                if (has_key_kind(kh.good, s->host, s->port, &key_kinds[i]))
                    append_algorithms(list, sizeof list, key_kinds[i].algorithms);
            known_hosts_free(&kh);
        }
    }
    if (!list[0])
        return;     /* nothing known: libssh2's own order */
    for (size_t i = 0; i < N_KEY_KINDS; i++)
        if (key_kinds[i].hostkey_type != LIBSSH2_HOSTKEY_TYPE_DSS)
            append_algorithms(list, sizeof list, key_kinds[i].algorithms);
    set_preference(s, list);
}

/* ---------------------------------------------------------------- verification */

static ferry_status verify_known_hosts(ferry_sftp_session *s, const ferry_conn *conn, const char *blob, size_t len,
                                       int type, ferry_error *err)
{
    char path[1024];
    known_hosts_path(conn, path, sizeof path);
    known_hosts kh;
    if (known_hosts_load(s->ssh, path, &kh) != 0)
        return ferry_error_oom(err, NULL, NULL, NULL);
    const key_kind *k = kind_by_hostkey_type(type);
    int mask = LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW |
               (k ? k->knownhost_mask : LIBSSH2_KNOWNHOST_KEY_UNKNOWN);
    int revoked = libssh2_knownhost_checkp(kh.revoked, s->host, s->port, blob, len, mask, NULL);
    int rc = libssh2_knownhost_checkp(kh.good, s->host, s->port, blob, len, mask, NULL);
    int exists = kh.exists;
    known_hosts_free(&kh);

    if (revoked == LIBSSH2_KNOWNHOST_CHECK_MATCH)
        return ferry_error_hook(err, FERRY_ERR_CONNECT, FERRY_SFTP_SYSTEM, s->conn_id,
                                "host key of %s:%d is REVOKED: the server presented %s, marked @revoked in %s",
                                s->host, s->port, s->hostkey, path);
    switch (rc) {
    case LIBSSH2_KNOWNHOST_CHECK_MATCH:
        snprintf(s->hostkey_check, sizeof s->hostkey_check, "verified against %s", path);
        return FERRY_OK;
    case LIBSSH2_KNOWNHOST_CHECK_MISMATCH:
        return ferry_error_hook(err, FERRY_ERR_CONNECT, FERRY_SFTP_SYSTEM, s->conn_id,
                                "host key of %s:%d has CHANGED: the server presented %s, but %s holds a different "
                                "%s key for it (someone may be intercepting the connection; if the change is "
                                "expected, replace the entry in %s)",
                                s->host, s->port, s->hostkey, path, k ? k->name : "", path);
    case LIBSSH2_KNOWNHOST_CHECK_NOTFOUND:
        return ferry_error_hook(err, FERRY_ERR_CONNECT, FERRY_SFTP_SYSTEM, s->conn_id,
                                "host key of %s:%d is unknown: the server presented %s, which is not in %s%s (check "
                                "the fingerprint with the server's owner, then add it, e.g. ssh-keyscan -p %d -t %s "
                                "%s >> %s; or pin it with the host_key extra)",
                                s->host, s->port, s->hostkey, path, exists ? "" : " (the file does not exist)",
                                s->port, k ? k->name : "<type>", s->host, path);
    default:
        return ferry_error_hook(err, FERRY_ERR_CONNECT, FERRY_SFTP_SYSTEM, s->conn_id,
                                "cannot check the host key of %s:%d (%s) against %s", s->host, s->port, s->hostkey,
                                path);
    }
}

ferry_status ferry_sftp_verify_hostkey(ferry_sftp_session *s, const ferry_conn *conn, ferry_error *err)
{
    size_t len = 0;
    int type = 0;
    const char *blob = libssh2_session_hostkey(s->ssh, &len, &type);
    char name[64] = "unknown", fp[128] = "SHA256:?";
    if (!blob || len == 0)
        return ferry_error_hook(err, FERRY_ERR_CONNECT, FERRY_SFTP_SYSTEM, s->conn_id,
                                "%s:%d presented no host key", s->host, s->port);
    ferry_sftp_key_type((const unsigned char *)blob, len, name, sizeof name);
    ferry_sftp_fingerprint((const unsigned char *)blob, len, fp, sizeof fp);
    snprintf(s->hostkey, sizeof s->hostkey, "%s %s", name, fp);
    s->hostkey_type = type;

    if (ferry_conn_extra_bool(conn, "no_host_key_check", 0)) {
        ferry_log(FERRY_LOG_WARN,
                  FERRY_SFTP_SYSTEM "(%s): host key checking is disabled (no_host_key_check=true): accepting %s "
                                    "from %s:%d without verification",
                  s->conn_id, s->hostkey, s->host, s->port);
        snprintf(s->hostkey_check, sizeof s->hostkey_check, "NOT verified (no_host_key_check=true)");
        return FERRY_OK;
    }
    const char *pin = ferry_conn_extra(conn, "host_key");
    if (pin && *pin) {
        char why[256] = "";
        int m = ferry_sftp_pin_matches(pin, (const unsigned char *)blob, len, why, sizeof why);
        if (m < 0)
            return ferry_error_hook(err, FERRY_ERR_CONFIG, FERRY_SFTP_SYSTEM, s->conn_id, "extra host_key: %s", why);
        s->pin_mismatch = m == 0;
        if (m == 0)
            return ferry_error_hook(err, FERRY_ERR_CONNECT, FERRY_SFTP_SYSTEM, s->conn_id,
                                    "host key of %s:%d does not match the pinned host_key: the server presented "
                                    "%s (someone may be intercepting the connection; if the key changed, update "
                                    "host_key)",
                                    s->host, s->port, s->hostkey);
        snprintf(s->hostkey_check, sizeof s->hostkey_check, "matches the pinned host_key");
        return FERRY_OK;
    }
    return verify_known_hosts(s, conn, blob, len, type, err);
}
