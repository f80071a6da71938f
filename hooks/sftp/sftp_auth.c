/*
 * hooks/sftp/sftp_auth.c - authenticating the SSH session.  Methods are
 * tried in this order, each only when configured and offered by the server:
 *   1. key_file extra (a private key file; private_key_passphrase if encrypted)
 *   2. private_key extra (the key itself, PEM or OpenSSH format)
 *   3. the connection's password (password, else keyboard-interactive)
 *   4. ssh-agent ($SSH_AUTH_SOCK; allow_agent=false turns it off)
 *   5. ~/.ssh/id_ed25519, id_rsa, id_ecdsa - only when none of 1-3 is
 *      configured (look_for_keys=false turns it off)
 * Messages list what was tried and why it failed, never a secret.
 */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ferry/log.h"
#include "hooks/sftp/sftp_internal.h"


typedef enum auth_kind { AUTH_KEY_FILE, AUTH_KEY_MEMORY, AUTH_PASSWORD, AUTH_KBD, AUTH_AGENT } auth_kind;

/* One authentication call (borrowed strings). */
typedef struct auth_call {
    auth_kind kind;
    const char *path;       /* AUTH_KEY_FILE */
    const char *data;       /* AUTH_KEY_MEMORY: the key text */
    const char *secret;     /* passphrase or password, may be NULL */
    LIBSSH2_AGENT *agent;   /* AUTH_AGENT */
    struct libssh2_agent_publickey *identity;
} auth_call;

/* What has been tried, for the final message. */
typedef struct auth_log {
    char tried[900];
} auth_log;

static void note(auth_log *log, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(auth_log *log, const char *fmt, ...)
{
    size_t used = strlen(log->tried);
    if (used + 4 >= sizeof log->tried)
        return;
    if (used)
        used += (size_t)snprintf(log->tried + used, sizeof log->tried - used, "; ");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(log->tried + used, sizeof log->tried - used, fmt, ap);
    va_end(ap);
}

static LIBSSH2_USERAUTH_KBDINT_RESPONSE_FUNC(kbd_answer)
{
    (void)name;
    (void)name_len;
    (void)instruction;
    (void)instruction_len;
    ferry_sftp_session *s = *abstract;
    for (int i = 0; i < num_prompts; i++) {
        /* answer the password to every hidden prompt; nothing to visible ones */
        const char *answer = !prompts[i].echo && s->kbd_password ? s->kbd_password : "";
        responses[i].text = strdup(answer);
        responses[i].length = responses[i].text ? (unsigned int)strlen(answer) : 0;
    }
}

static int call_once(ferry_sftp_session *s, const auth_call *a)
{
    unsigned ulen = (unsigned)strlen(s->user);
    switch (a->kind) {
    case AUTH_KEY_FILE:
        return libssh2_userauth_publickey_fromfile_ex(s->ssh, s->user, ulen, NULL, a->path, a->secret);
    case AUTH_KEY_MEMORY:
        return libssh2_userauth_publickey_frommemory(s->ssh, s->user, ulen, NULL, 0, a->data, strlen(a->data),
                                                     a->secret);
    case AUTH_PASSWORD:
        return libssh2_userauth_password_ex(s->ssh, s->user, ulen, a->secret, (unsigned)strlen(a->secret), NULL);
    case AUTH_KBD:
        return libssh2_userauth_keyboard_interactive_ex(s->ssh, s->user, ulen, kbd_answer);
    case AUTH_AGENT:
        return libssh2_agent_userauth(a->agent, s->user, a->identity);
    }
    return LIBSSH2_ERROR_INVAL;
}

/* Run one call to its end.  Returns FERRY_OK with *rc = libssh2's result, or
 * a ferry failure (interrupted, timed out, connection lost) that ends the
 * whole authentication. */
static ferry_status run(ferry_sftp_session *s, const auth_call *a, int *rc, ferry_error *err)
{
    double since = ferry_now_monotonic();
    s->kbd_password = a->kind == AUTH_KBD ? a->secret : NULL;
    ferry_status st = FERRY_OK;
    for (;;) {
        *rc = call_once(s, a);
        if (*rc != LIBSSH2_ERROR_EAGAIN)
            break;
        st = ferry_sftp_wait(s, since, "authentication", err);
        if (st != FERRY_OK)
            break;
    }
    s->kbd_password = NULL;
    if (st == FERRY_OK && *rc < 0 && *rc != LIBSSH2_ERROR_AUTHENTICATION_FAILED &&
        *rc != LIBSSH2_ERROR_PUBLICKEY_UNVERIFIED && *rc != LIBSSH2_ERROR_FILE &&
        *rc != LIBSSH2_ERROR_PASSWORD_EXPIRED && *rc != LIBSSH2_ERROR_METHOD_NONE &&
        *rc != LIBSSH2_ERROR_PUBLICKEY_PROTOCOL && *rc != LIBSSH2_ERROR_AGENT_PROTOCOL &&
        *rc != LIBSSH2_ERROR_METHOD_NOT_SUPPORTED && *rc != LIBSSH2_ERROR_KEYFILE_AUTH_FAILED)
        st = ferry_sftp_error(s, *rc, err, "authentication as %s", s->user);
    return st;
}

/* ---- RSA keys and libssh2 before 1.11 ----------------------------------
 * libssh2 1.10 signs with an RSA key only as "ssh-rsa" (SHA-1), which
 * OpenSSH 8.8 and later refuse by default; 1.11 adds rsa-sha2-256/512.  When
 * an RSA key is refused, the message says so.  Whether a key is RSA is read
 * from the key itself (its PEM header, the type inside an OpenSSH or PKCS#8
 * body, else the public key file next to it), never from libssh2's text. */

typedef enum key_kind { KEY_UNKNOWN, KEY_RSA, KEY_OTHER } key_kind;

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The base64 body after the "-----BEGIN ...-----" line at begin, decoded
 * into raw (its first bytes only).  Returns the number of bytes, or -1. */
static long pem_body(const char *begin, unsigned char *raw, size_t cap)
{
    const char *b = strstr(begin + 11, "-----");
    if (!b)
        return -1;
    b += 5;
    char b64[4 * 150 + 4];
    size_t n = 0;
    for (; *b && *b != '-' && n + 1 < sizeof b64 && n < cap / 3 * 4; b++) {
        if (*b == ':') { /* a "Proc-Type:" header line: skip it */
            while (*b && *b != '\n')
                b++;
            n = 0;
            if (!*b)
                break;
        } else if (*b != '\n' && *b != '\r' && *b != ' ' && *b != '\t') {
            b64[n++] = *b;
        }
    }
    n -= n % 4;
    return ferry_base64_decode(b64, n, raw, cap);
}

/* "openssh-key-v1\0", cipher, kdf, kdf options, number of keys, then the
 * first public key, which starts with its type string. */
static key_kind openssh_kind(const unsigned char *raw, long len)
{
    size_t p = 15, n = len > 0 ? (size_t)len : 0;
    if (n < p || memcmp(raw, "openssh-key-v1", 15) != 0)
        return KEY_UNKNOWN;
    for (int i = 0; i < 3; i++) {
        if (p + 4 > n || be32(raw + p) > n - p - 4)
            return KEY_UNKNOWN;
        p += 4 + be32(raw + p);
    }
    p += 4 + 4; /* number of keys, the public key's length */
    if (p + 4 > n || be32(raw + p) > n - p - 4)
        return KEY_UNKNOWN;
    return be32(raw + p) == 7 && memcmp(raw + p + 4, "ssh-rsa", 7) == 0 ? KEY_RSA : KEY_OTHER;
}

/* PKCS#8 PrivateKeyInfo: the algorithm OID comes within the first bytes. */
static key_kind pkcs8_kind(const unsigned char *raw, long len)
{
    static const unsigned char rsa_oid[] = {0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x01};
    for (long i = 0; i + (long)sizeof rsa_oid <= len && i < 32; i++)
        if (memcmp(raw + i, rsa_oid, sizeof rsa_oid) == 0)
            return KEY_RSA;
    return len > 0 ? KEY_OTHER : KEY_UNKNOWN;
}

/* The kind of a private key from its text. */
static key_kind key_text_kind(const char *text)
{
    const char *b = strstr(text, "-----BEGIN ");
    if (!b)
        return KEY_UNKNOWN;
    unsigned char raw[400];
    if (strncmp(b, "-----BEGIN RSA PRIVATE KEY-----", 31) == 0)
        return KEY_RSA;
    if (strncmp(b, "-----BEGIN OPENSSH PRIVATE KEY-----", 35) == 0)
        return openssh_kind(raw, pem_body(b, raw, sizeof raw));
    if (strncmp(b, "-----BEGIN PRIVATE KEY-----", 27) == 0)
        return pkcs8_kind(raw, pem_body(b, raw, sizeof raw));
    if (strncmp(b, "-----BEGIN EC PRIVATE KEY-----", 30) == 0 ||
        strncmp(b, "-----BEGIN DSA PRIVATE KEY-----", 31) == 0)
        return KEY_OTHER;
    return KEY_UNKNOWN; /* e.g. an encrypted PKCS#8 key: the type is encrypted too */
}

/* The kind of a private key file; when its text cannot tell (an encrypted
 * PKCS#8 key), the public key next to it ("PATH.pub", as ssh-keygen writes). */
static key_kind key_file_kind(const char *path)
{
    char text[4096];
    key_kind kind = KEY_UNKNOWN;
    FILE *f = fopen(path, "re");
    if (f) {
        size_t n = fread(text, 1, sizeof text - 1, f);
        fclose(f);
        text[n] = '\0';
        kind = key_text_kind(text);
    }
    if (kind != KEY_UNKNOWN)
        return kind;
    char pub[1100];
    if ((size_t)snprintf(pub, sizeof pub, "%s.pub", path) >= sizeof pub || !(f = fopen(pub, "re")))
        return KEY_UNKNOWN;
    size_t n = fread(text, 1, 16, f);
    fclose(f);
    text[n] = '\0';
    return strncmp(text, "ssh-rsa ", 8) == 0 ? KEY_RSA : KEY_OTHER;
}

/* An agent identity's public key blob: its type string first. */
static key_kind blob_kind(const unsigned char *blob, size_t len)
{
    if (!blob || len < 11)
        return KEY_UNKNOWN;
    return be32(blob) == 7 && memcmp(blob + 4, "ssh-rsa", 7) == 0 ? KEY_RSA : KEY_OTHER;
}

#define RSA_HINT_MAX 400

/* What to add to "key ... was refused by the server" for a key of this kind,
 * written in hint (RSA_HINT_MAX): "" unless an RSA key was refused and this
 * libssh2 signs only with ssh-rsa. */
static const char *rsa_hint(key_kind kind, int rc, char *hint)
{
    hint[0] = '\0';
    if (kind != KEY_RSA || (rc != LIBSSH2_ERROR_AUTHENTICATION_FAILED && rc != LIBSSH2_ERROR_PUBLICKEY_UNVERIFIED) ||
        libssh2_version(0x010B00) != NULL) /* 1.11 signs with rsa-sha2-256/512 */
        return hint;
    snprintf(hint, RSA_HINT_MAX,
                 " (an RSA key: libssh2 %s signs with RSA keys only as ssh-rsa/SHA-1, which OpenSSH 8.8 and later "
                 "refuse by default; use an ed25519 or ECDSA key, or let the server accept ssh-rsa with "
                 "'PubkeyAcceptedAlgorithms +ssh-rsa' in sshd_config)",
                 libssh2_version(0) ? libssh2_version(0) : LIBSSH2_VERSION);
    return hint;
}

static const char *why_key_failed(int rc)
{
    switch (rc) {
    case LIBSSH2_ERROR_FILE:
    case LIBSSH2_ERROR_KEYFILE_AUTH_FAILED:
        return "cannot be used (wrong or missing passphrase, or a key format libssh2 cannot read)";
    case LIBSSH2_ERROR_METHOD_NOT_SUPPORTED:
        return "has a key type the server or libssh2 does not support";
    default:
        return "was refused by the server";
    }
}

/* The server's methods for this user; NULL with FERRY_OK when "none" already
 * authenticated (then *done = 1). */
static ferry_status server_methods(ferry_sftp_session *s, char *out, size_t cap, int *done, ferry_error *err)
{
    double since = ferry_now_monotonic();
    *done = 0;
    for (;;) {
        char *list = libssh2_userauth_list(s->ssh, s->user, (unsigned)strlen(s->user));
        if (list) {
            snprintf(out, cap, "%s", list);
            return FERRY_OK;
        }
        if (libssh2_userauth_authenticated(s->ssh)) {
            *done = 1;
            return FERRY_OK;
        }
        int rc = libssh2_session_last_errno(s->ssh);
        if (rc != LIBSSH2_ERROR_EAGAIN)
            return ferry_sftp_error(s, rc, err, "asking %s:%d for its authentication methods", s->host, s->port);
        ferry_status st = ferry_sftp_wait(s, since, "authentication", err);
        if (st != FERRY_OK)
            return st;
    }
}

static int offers(const char *methods, const char *method)
{
    size_t n = strlen(method);
    for (const char *p = methods; *p;) {
        size_t m = strcspn(p, ",");
        if (m == n && strncmp(p, method, n) == 0)
            return 1;
        p += m;
        if (*p == ',')
            p++;
    }
    return 0;
}

static const char *home_dir(void)
{
    const char *home = getenv("HOME");
    if (home && *home)
        return home;
    struct passwd *pw = getpwuid(getuid());
    return pw && pw->pw_dir ? pw->pw_dir : "/";
}

/* ssh-agent: each identity in turn.  *ok = 1 on success. */
static ferry_status try_agent(ferry_sftp_session *s, auth_log *log, int *ok, ferry_error *err)
{
    *ok = 0;
    LIBSSH2_AGENT *agent = libssh2_agent_init(s->ssh);
    if (!agent)
        return FERRY_OK;
    ferry_status st = FERRY_OK;
    if (libssh2_agent_connect(agent) != 0) {
        note(log, "ssh-agent: cannot connect to $SSH_AUTH_SOCK");
    } else if (libssh2_agent_list_identities(agent) != 0) {
        note(log, "ssh-agent: cannot list identities");
    } else {
        struct libssh2_agent_publickey *id = NULL, *prev = NULL;
        int n = 0;
        char hint[RSA_HINT_MAX] = "", one[RSA_HINT_MAX];
        while (!*ok && st == FERRY_OK && libssh2_agent_get_identity(agent, &id, prev) == 0) {
            auth_call a = {.kind = AUTH_AGENT, .agent = agent, .identity = id};
            int rc = 0;
            st = run(s, &a, &rc, err);
            if (st == FERRY_OK && rc == 0) {
                *ok = 1;
                snprintf(s->auth_method, sizeof s->auth_method, "ssh-agent key %.100s",
                         id->comment ? id->comment : "");
            } else if (st == FERRY_OK && !hint[0] && rsa_hint(blob_kind(id->blob, id->blob_len), rc, one)[0]) {
                memcpy(hint, one, sizeof hint);
            }
            prev = id;
            n++;
        }
        if (!*ok && st == FERRY_OK && n)
            note(log, "ssh-agent: %d key(s) refused%s", n, hint);
        else if (!*ok && st == FERRY_OK)
            note(log, "ssh-agent: no keys");
        libssh2_agent_disconnect(agent);
    }
    libssh2_agent_free(agent);
    return st;
}

/* A private key file.  *ok = 1 on success; a file that cannot be read is
 * FERRY_ERR_CONFIG when it was configured, silently skipped when it is a
 * default key that does not exist. */
static ferry_status try_key_file(ferry_sftp_session *s, const char *path, const char *passphrase, int configured,
                                 auth_log *log, int *ok, ferry_error *err)
{
    *ok = 0;
    if (access(path, R_OK) != 0) {
        if (configured)
            return ferry_error_hook(err, FERRY_ERR_CONFIG, FERRY_SFTP_SYSTEM, s->conn_id,
                                    "key_file '%s' cannot be read: %s", path, strerror(errno));
        return FERRY_OK;
    }
    auth_call a = {.kind = AUTH_KEY_FILE, .path = path, .secret = passphrase};
    int rc = 0;
    ferry_status st = run(s, &a, &rc, err);
    if (st != FERRY_OK)
        return st;
    if (rc == 0) {
        *ok = 1;
        snprintf(s->auth_method, sizeof s->auth_method, "key %.140s", path);
    } else {
        char hint[RSA_HINT_MAX];
        note(log, "key '%s' %s%s", path, why_key_failed(rc), rsa_hint(key_file_kind(path), rc, hint));
    }
    return FERRY_OK;
}

ferry_status ferry_sftp_authenticate(ferry_sftp_session *s, const ferry_conn *conn, ferry_error *err)
{
    char methods[256] = "";
    int done = 0;
    ferry_status st = server_methods(s, methods, sizeof methods, &done, err);
    if (st != FERRY_OK)
        return st;
    if (done) {
        snprintf(s->auth_method, sizeof s->auth_method, "none (the server asked for no authentication)");
        return FERRY_OK;
    }
    const char *key_file = ferry_conn_extra(conn, "key_file");
    const char *key_data = ferry_conn_extra(conn, "private_key");
    const char *passphrase = ferry_conn_extra(conn, "private_key_passphrase");
    const char *password = conn->password;
    if (key_file && !*key_file)
        key_file = NULL;
    char key_path[1024];
    if (key_file && strncmp(key_file, "~/", 2) == 0) {
        snprintf(key_path, sizeof key_path, "%s/%s", home_dir(), key_file + 2);
        key_file = key_path;
    }
    if (key_data && !*key_data)
        key_data = NULL;
    if (passphrase && !*passphrase)
        passphrase = NULL;
    int pubkey = offers(methods, "publickey");
    auth_log log = {""};
    int ok = 0;

    if (key_file) {
        if (pubkey)
            st = try_key_file(s, key_file, passphrase, 1, &log, &ok, err);
        else
            note(&log, "key_file: the server does not accept keys");
    }
    if (st == FERRY_OK && !ok && key_data) {
        if (pubkey) {
            auth_call a = {.kind = AUTH_KEY_MEMORY, .data = key_data, .secret = passphrase};
            int rc = 0;
            st = run(s, &a, &rc, err);
            if (st == FERRY_OK && rc == 0) {
                ok = 1;
                snprintf(s->auth_method, sizeof s->auth_method, "private_key extra");
            } else if (st == FERRY_OK) {
                char hint[RSA_HINT_MAX];
                note(&log, "private_key extra %s%s", why_key_failed(rc), rsa_hint(key_text_kind(key_data), rc, hint));
            }
        } else {
            note(&log, "private_key: the server does not accept keys");
        }
    }
    if (st == FERRY_OK && !ok && password) {
        auth_call a = {.kind = AUTH_PASSWORD, .secret = password};
        if (!offers(methods, "password") && offers(methods, "keyboard-interactive"))
            a.kind = AUTH_KBD;
        if (a.kind == AUTH_KBD || offers(methods, "password")) {
            int rc = 0;
            st = run(s, &a, &rc, err);
            if (st == FERRY_OK && rc == 0) {
                ok = 1;
                snprintf(s->auth_method, sizeof s->auth_method, "%s",
                         a.kind == AUTH_KBD ? "password (keyboard-interactive)" : "password");
            } else if (st == FERRY_OK) {
                note(&log, rc == LIBSSH2_ERROR_PASSWORD_EXPIRED ? "password expired" : "password refused");
            }
        } else {
            note(&log, "password: the server does not accept passwords");
        }
    }
    const char *sock = getenv("SSH_AUTH_SOCK");
    if (st == FERRY_OK && !ok && pubkey && sock && *sock && ferry_conn_extra_bool(conn, "allow_agent", 1))
        st = try_agent(s, &log, &ok, err);
    if (st == FERRY_OK && !ok && pubkey && !key_file && !key_data && !password &&
        ferry_conn_extra_bool(conn, "look_for_keys", 1)) {
        static const char *const defaults[] = {"id_ed25519", "id_rsa", "id_ecdsa"};
        int found = 0;
        for (size_t i = 0; st == FERRY_OK && !ok && i < sizeof defaults / sizeof defaults[0]; i++) {
            char path[1024];
            snprintf(path, sizeof path, "%s/.ssh/%s", home_dir(), defaults[i]);
            if (access(path, F_OK) == 0)
                found = 1;
            st = try_key_file(s, path, NULL, 0, &log, &ok, err);
        }
        if (!found)
            note(&log, "no key in %s/.ssh (id_ed25519, id_rsa, id_ecdsa)", home_dir());
    }
    if (st != FERRY_OK && st != FERRY_ERR_INTERRUPTED && log.tried[0]) {
        /* e.g. the server hung up after MaxAuthTries refusals: not worth a retry */
        err->transient = 0;
        return ferry_sftp_error_context(s->conn_id, err, "authentication as %s failed (tried: %s)", s->user,
                                        log.tried);
    }
    if (st != FERRY_OK)
        return st;
    if (ok)
        return FERRY_OK;
    if (!log.tried[0])
        note(&log, "nothing configured: set key_file, private_key or a password");
    return ferry_error_hook(err, FERRY_ERR_CONNECT, FERRY_SFTP_SYSTEM, s->conn_id,
                            "authentication as %s to %s:%d failed (server accepts: %s; tried: %s)", s->user, s->host,
                            s->port, methods[0] ? methods : "?", log.tried);
}
