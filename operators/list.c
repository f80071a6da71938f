/*
 * list.c - ferry_list and ferry_mkdir: the listing and directory operators,
 * dispatched through the endpoint's hook.
 */
#include "ferry/operators.h"

ferry_status ferry_list(const char *endpoint, int recursive, ferry_entry_fn fn, void *ud, ferry_error *err)
{
    ferry_endpoint *ep = NULL;
    ferry_status st = ferry_endpoint_parse(endpoint, NULL, 0, &ep, err);
    if (st != FERRY_OK)
        return st;
    if (!ep->hook->list)
        st = ferry_error_set(err, FERRY_ERR_USAGE, "%s endpoints cannot be listed", ep->hook->name);
    else
        st = ep->hook->list(ep, recursive, fn, ud, err);
    ferry_endpoint_free(ep);
    return st;
}

ferry_status ferry_mkdir(const char *endpoint, int parents, ferry_error *err)
{
    ferry_endpoint *ep = NULL;
    ferry_status st = ferry_endpoint_parse(endpoint, NULL, 1, &ep, err);
    if (st != FERRY_OK)
        return st;
    if (!ep->hook->mkdir)
        st = ferry_error_set(err, FERRY_ERR_USAGE, "%s has no directories to create", ep->hook->name);
    else
        st = ep->hook->mkdir(ep, parents, err);
    ferry_endpoint_free(ep);
    return st;
}
