/*
 * svc_env.h - for the unit tests that talk to a real server: load the test
 * harness's env file ($FERRY_SVC_ENV, default /tmp/ferry-svc/env) into the
 * environment.  Without it such a test prints "skipped" and exits 77, which
 * ctest reports as Skipped (SKIP_RETURN_CODE, CMakeLists.txt) - unless
 * FERRY_REQUIRE_SERVICES=1 (scripts/test.sh sets it), where a missing server
 * is a failure, so CI can never pass a live test that did not run.
 */
#ifndef FERRY_TEST_SVC_ENV_H
#define FERRY_TEST_SVC_ENV_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 0 when loaded; -1 when there is no env file. */
static int svc_env_load(void)
{
    const char *path = getenv("FERRY_SVC_ENV");
    if (!path || !*path)
        path = "/tmp/ferry-svc/env";
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char line[1024];
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        char *eq = strchr(line, '=');
        if (line[0] == '#' || !eq)
            continue;
        *eq = '\0';
        char *v = eq + 1;
        size_t n = strlen(v);
        if (n >= 2 && (v[0] == '\'' || v[0] == '"') && v[n - 1] == v[0]) {
            v[n - 1] = '\0';
            v++;
        }
        setenv(line, v, 0); /* an explicit environment wins */
    }
    fclose(f);
    return 0;
}

/* The exit status of a test that skipped everything (ctest's SKIP_RETURN_CODE). */
#define SVC_SKIPPED 77

/* Exit status for "no server": SVC_SKIPPED in development, 1 under FERRY_REQUIRE_SERVICES=1. */
static int svc_missing(const char *what)
{
    const char *req = getenv("FERRY_REQUIRE_SERVICES");
    int required = req && strcmp(req, "1") == 0;
    printf("%s: %s (start them with tests/harness/services.sh up)\n", required ? "FAIL" : "skipped", what);
    printf("0 passed, %d failed%s\n", required ? 1 : 0, required ? "" : ", all skipped");
    return required ? 1 : SVC_SKIPPED;
}

#endif
