/*
 * hooks/s3/s3_creds_process.c - credential_process of a shared-config
 * profile.  The command line is split the way the AWS SDKs split it on
 * POSIX (shlex rules: ferry_s3_split_command) and run with posix_spawnp -
 * no shell, so no globbing, variables or pipes; a command that needs them
 * names a script.  Its stdout (at most 64 KiB) is the JSON document
 * (Version 1); its stderr passes through to ours.
 */
#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ferry/log.h"
#include "hooks/s3/s3_creds.h"
#include "hooks/s3/s3_internal.h"

extern char **environ;

#define PROCESS_OUT_LIMIT (64 * 1024)

ferry_status ferry_s3_process_fetch(const char *cmd, const char *conn_id, ferry_s3_credset **out,
                                    ferry_error *err)
{
    *out = NULL;
    char **argv = NULL;
    int rc = ferry_s3_split_command(cmd, &argv);
    if (rc == -2)
        return ferry_error_oom(err, "s3", NULL, NULL);
    if (rc != 0)
        return ferry_error_hook(err, FERRY_ERR_CONFIG, "s3", conn_id,
                                "credential_process is empty or has unbalanced quotes");
    int fds[2];
    if (pipe(fds) != 0) {
        ferry_strv_free(argv);
        return ferry_error_hook(err, FERRY_ERR_IO, "s3", conn_id, "credential_process: pipe: %s", strerror(errno));
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    posix_spawn_file_actions_addclose(&fa, fds[1]);
    posix_spawnattr_t at;
    posix_spawnattr_init(&at);
    sigset_t none, dfl;
    sigemptyset(&none);
    sigemptyset(&dfl);
    sigaddset(&dfl, SIGPIPE);
    sigaddset(&dfl, SIGINT);
    sigaddset(&dfl, SIGTERM);
    posix_spawnattr_setsigmask(&at, &none);
    posix_spawnattr_setsigdefault(&at, &dfl);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    pid_t pid = 0;
    int sp = posix_spawnp(&pid, argv[0], &fa, &at, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    close(fds[1]);
    if (sp != 0) {
        close(fds[0]);
        ferry_status st = ferry_error_hook(err, FERRY_ERR_CONNECT, "s3", conn_id,
                                           "credential_process '%s' could not be started: %s", argv[0],
                                           strerror(sp));
        ferry_strv_free(argv);
        return st;
    }
    ferry_buf buf = {0};
    char chunk[4096];
    int too_big = 0;
    for (;;) {
        ssize_t n = read(fds[0], chunk, sizeof chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        if (buf.len + (size_t)n > PROCESS_OUT_LIMIT) {
            too_big = 1;
            continue;   /* drain, so the child is not stuck on a full pipe */
        }
        if (ferry_buf_append(&buf, chunk, (size_t)n) != 0)
            too_big = 1;
    }
    close(fds[0]);
    int wst = 0;
    while (waitpid(pid, &wst, 0) < 0 && errno == EINTR)
        ;
    ferry_status st = FERRY_OK;
    if (!WIFEXITED(wst) || WEXITSTATUS(wst) != 0) {
        st = ferry_error_hook(err, FERRY_ERR_CONNECT, "s3", conn_id, "credential_process '%s' failed (%s %d)",
                              argv[0], WIFEXITED(wst) ? "exit status" : "signal",
                              WIFEXITED(wst) ? WEXITSTATUS(wst) : WTERMSIG(wst));
    } else if (too_big) {
        st = ferry_error_hook(err, FERRY_ERR_CONNECT, "s3", conn_id,
                              "credential_process '%s' wrote more than 64 KiB", argv[0]);
    } else {
        st = ferry_s3_parse_creds_json(buf.data, buf.len, S3_CREDS_JSON_PROCESS, out, err);
        if (st != FERRY_OK) {
            ferry_error_prefix(err, "s3(%s): credential_process '%s'", conn_id, argv[0]);
            err->status = st = FERRY_ERR_CONNECT;
        }
    }
    if (buf.data)
        explicit_bzero(buf.data, buf.len);
    ferry_buf_release(&buf);
    ferry_strv_free(argv);
    return st;
}
