/*
 * hooks/sftp/sftp_path.c - pure helpers of the SFTP hook, no I/O: what an
 * SFTP status code means for ferry, remote path handling (split, join,
 * "..", globs) and the random names of temp and set-aside files.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "hooks/sftp/sftp_internal.h"

typedef struct fx_map {
    unsigned long fx;
    ferry_status status;
    int transient;
    const char *words;
} fx_map;

/* SFTP status codes (draft-ietf-secsh-filexfer-02 and later) -> ferry. */
static const fx_map fx_codes[] = {
    {LIBSSH2_FX_EOF, FERRY_ERR_DATA, 0, "unexpected end of file"},
    {LIBSSH2_FX_NO_SUCH_FILE, FERRY_ERR_NOT_FOUND, 0, "no such file"},
    {LIBSSH2_FX_PERMISSION_DENIED, FERRY_ERR_CONNECT, 0, "permission denied"},
    {LIBSSH2_FX_FAILURE, FERRY_ERR_IO, 0, "failure (the server gave no reason)"},
    {LIBSSH2_FX_BAD_MESSAGE, FERRY_ERR_INTERNAL, 0, "bad message"},
    {LIBSSH2_FX_NO_CONNECTION, FERRY_ERR_CONNECT, 1, "no connection"},
    {LIBSSH2_FX_CONNECTION_LOST, FERRY_ERR_CONNECT, 1, "connection lost"},
    {LIBSSH2_FX_OP_UNSUPPORTED, FERRY_ERR_USAGE, 0, "operation not supported by the server"},
    {LIBSSH2_FX_INVALID_HANDLE, FERRY_ERR_INTERNAL, 0, "invalid handle"},
    {LIBSSH2_FX_NO_SUCH_PATH, FERRY_ERR_NOT_FOUND, 0, "no such path"},
    {LIBSSH2_FX_FILE_ALREADY_EXISTS, FERRY_ERR_EXISTS, 0, "file already exists"},
    {LIBSSH2_FX_WRITE_PROTECT, FERRY_ERR_CONNECT, 0, "write protected"},
    {LIBSSH2_FX_NO_MEDIA, FERRY_ERR_IO, 0, "no media"},
    {LIBSSH2_FX_NO_SPACE_ON_FILESYSTEM, FERRY_ERR_IO, 0, "no space left on the server's file system"},
    {LIBSSH2_FX_QUOTA_EXCEEDED, FERRY_ERR_IO, 0, "quota exceeded"},
    {LIBSSH2_FX_UNKNOWN_PRINCIPAL, FERRY_ERR_CONNECT, 0, "unknown principal"},
    {LIBSSH2_FX_LOCK_CONFLICT, FERRY_ERR_IO, 1, "lock conflict"},
    {LIBSSH2_FX_DIR_NOT_EMPTY, FERRY_ERR_IO, 0, "directory not empty"},
    {LIBSSH2_FX_NOT_A_DIRECTORY, FERRY_ERR_NOT_FOUND, 0, "not a directory"},
    {LIBSSH2_FX_INVALID_FILENAME, FERRY_ERR_USAGE, 0, "invalid file name"},
    {LIBSSH2_FX_LINK_LOOP, FERRY_ERR_IO, 0, "too many levels of symbolic links"},
};

ferry_status ferry_sftp_fx_status(unsigned long fx, const char **words, int *transient)
{
    for (size_t i = 0; i < sizeof fx_codes / sizeof fx_codes[0]; i++) {
        if (fx_codes[i].fx == fx) {
            *words = fx_codes[i].words;
            *transient = fx_codes[i].transient;
            return fx_codes[i].status;
        }
    }
    *words = "unknown SFTP status";
    *transient = 0;
    return FERRY_ERR_IO;
}

char *ferry_sftp_path(const char *ep_path)
{
    const char *p = ep_path ? ep_path : "";
    if (strncmp(p, "~/", 2) == 0)
        p += 2;
    else if (strcmp(p, "~") == 0)
        p = "";
    return strdup(*p ? p : ".");
}

int ferry_sftp_split(const char *path, char **dir, char **name)
{
    *dir = NULL;
    *name = NULL;
    size_t n = strlen(path);
    if (n == 0 || path[n - 1] == '/')
        return -1;
    const char *slash = strrchr(path, '/');
    if (!slash) {
        *dir = strdup(".");
        *name = strdup(path);
    } else {
        size_t dlen = (size_t)(slash - path);
        *dir = dlen == 0 ? strdup("/") : strndup(path, dlen);
        *name = strdup(slash + 1);
    }
    if (!*dir || !*name) {
        free(*dir);
        free(*name);
        *dir = *name = NULL;
        return -1;
    }
    return 0;
}

int ferry_sftp_has_dotdot(const char *path)
{
    const char *p = path;
    while (*p) {
        const char *end = strchr(p, '/');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == 2 && p[0] == '.' && p[1] == '.')
            return 1;
        if (!end)
            break;
        p = end + 1;
    }
    return 0;
}

int ferry_sftp_is_glob(const char *s)
{
    return strpbrk(s, "*?[") != NULL;
}

char *ferry_sftp_join(const char *dir, const char *name)
{
    if (strcmp(dir, ".") == 0)
        return strdup(name);
    size_t dl = strlen(dir), nl = strlen(name);
    int slash = dl > 0 && dir[dl - 1] != '/';
    char *out = malloc(dl + (size_t)slash + nl + 1);
    if (!out)
        return NULL;
    memcpy(out, dir, dl);
    if (slash)
        out[dl] = '/';
    memcpy(out + dl + (size_t)slash, name, nl + 1);
    return out;
}

/* 8 random bytes: getrandom, else the clock and pid (names only need to be
 * unlikely to collide; O_EXCL-style creation catches the rest). */
static uint64_t random_u64(void)
{
    uint64_t v = 0;
    if (getrandom(&v, sizeof v, GRND_NONBLOCK) == (ssize_t)sizeof v)
        return v;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ((uint64_t)ts.tv_nsec << 24) ^ (uint64_t)ts.tv_sec ^ ((uint64_t)getpid() << 40);
}

char *ferry_sftp_sibling_name(const char *dir, const char *name, const char *kind)
{
    char leaf[1024];
    int n = snprintf(leaf, sizeof leaf, ".%s.ferry-%s-%016llx", name, kind, (unsigned long long)random_u64());
    if (n < 0 || (size_t)n >= sizeof leaf)
        return NULL;
    return ferry_sftp_join(dir, leaf);
}
