/*
 * registry.c - which hook serves which connection type.  Built-in hooks are
 * the rows of builtin_hooks[]; programs add their own with
 * ferry_hook_register (later registrations win), which checks that a table
 * is long enough for the slots every reader takes as present
 * (FERRY_HOOK_SIZE_MIN; the rest is read through FERRY_HOOK_SLOT).
 */
#include <pthread.h>
#include <string.h>

#include "ferry/hook.h"

static const ferry_hook *const builtin_hooks[] = {
    &ferry_hook_local,
    &ferry_hook_stdio,
    &ferry_hook_postgres,
    &ferry_hook_s3,
    &ferry_hook_mysql,
    &ferry_hook_sftp,
    &ferry_hook_http,
};

#define MAX_CUSTOM_HOOKS 32
static const ferry_hook *custom_hooks[MAX_CUSTOM_HOOKS];
static size_t n_custom;
static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;

ferry_status ferry_hook_register(const ferry_hook *hook)
{
    if (!hook || !hook->name || hook->struct_size < FERRY_HOOK_SIZE_MIN)
        return FERRY_ERR_USAGE; /* no table, or one built without FERRY_HOOK_INIT */
    ferry_status st = FERRY_ERR_USAGE;
    pthread_mutex_lock(&registry_lock);
    if (n_custom < MAX_CUSTOM_HOOKS) {
        custom_hooks[n_custom++] = hook;
        st = FERRY_OK;
    }
    pthread_mutex_unlock(&registry_lock);
    return st;
}

static int hook_serves(const ferry_hook *h, const char *type)
{
    if (!h->conn_types)
        return 0;
    for (const char *const *t = h->conn_types; *t; t++)
        if (strcmp(*t, type) == 0)
            return 1;
    return 0;
}

const ferry_hook *ferry_hook_for_type(const char *conn_type)
{
    if (!conn_type)
        return NULL;
    const ferry_hook *found = NULL;
    pthread_mutex_lock(&registry_lock);
    for (size_t i = n_custom; i-- > 0 && !found;)
        if (hook_serves(custom_hooks[i], conn_type))
            found = custom_hooks[i];
    pthread_mutex_unlock(&registry_lock);
    for (size_t i = 0; !found && i < sizeof builtin_hooks / sizeof builtin_hooks[0]; i++)
        if (hook_serves(builtin_hooks[i], conn_type))
            found = builtin_hooks[i];
    return found;
}

const ferry_hook *ferry_hook_by_name(const char *name)
{
    const ferry_hook *found = NULL;
    pthread_mutex_lock(&registry_lock);
    for (size_t i = n_custom; i-- > 0 && !found;)
        if (strcmp(custom_hooks[i]->name, name) == 0)
            found = custom_hooks[i];
    pthread_mutex_unlock(&registry_lock);
    for (size_t i = 0; !found && i < sizeof builtin_hooks / sizeof builtin_hooks[0]; i++)
        if (strcmp(builtin_hooks[i]->name, name) == 0)
            found = builtin_hooks[i];
    return found;
}
