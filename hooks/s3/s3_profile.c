/*
 * hooks/s3/s3_profile.c - reads one value out of the AWS shared files
 * (~/.aws/credentials, ~/.aws/config): INI sections, "key = value" lines,
 * '#'/';' comment lines, and the nested form the AWS CLI writes for S3:
 *     [profile etl]
 *     s3 =
 *         addressing_style = path
 * read as key "s3.addressing_style".  Keys compare case-insensitively like
 * Python's configparser; section names exactly.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hooks/s3/s3_internal.h"

static char *trim(char *s)
{
    while (*s && isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

char *ferry_s3_profile_get(const char *path, const char *section, const char *key)
{
    if (!path || !*path || !section || !key)
        return NULL;
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char *line = NULL;
    size_t cap = 0;
    char *result = NULL;
    int in_section = 0;
    char nested[128] = "";   /* name of the open nested block, "" when none */
    while (!result && getline(&line, &cap, f) >= 0) {
        int indented = line[0] == ' ' || line[0] == '\t';
        char *s = trim(line);
        if (*s == '\0' || *s == '#' || *s == ';')
            continue;
        if (*s == '[') {
            char *end = strchr(s, ']');
            if (!end)
                continue;
            *end = '\0';
            in_section = strcmp(trim(s + 1), section) == 0;
            nested[0] = '\0';
            continue;
        }
        if (!in_section)
            continue;
        char *eq = strchr(s, '=');
        if (!eq)
            continue;
        *eq = '\0';
        char *k = trim(s);
        char *v = trim(eq + 1);
        if (!indented)
            nested[0] = '\0';
        if (!indented && *v == '\0') {
            /* "s3 =" opens a nested block */
            snprintf(nested, sizeof nested, "%s", k);
            continue;
        }
        char full[256];
        if (indented && nested[0])
            snprintf(full, sizeof full, "%s.%s", nested, k);
        else
            snprintf(full, sizeof full, "%s", k);
        if (strcasecmp(full, key) == 0)
            result = strdup(v);
    }
    free(line);
    fclose(f);
    return result;
}
