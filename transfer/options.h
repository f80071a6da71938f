/*
 * options.h - taking a caller's ferry_copy_options (inside libferry): the
 * struct_size rules of ferry/hook.h in one place.
 */
#ifndef FERRY_TRANSFER_OPTIONS_H
#define FERRY_TRANSFER_OPTIONS_H

#include "ferry/hook.h"

/* *out = the defaults overlaid with the first in->struct_size bytes of *in
 * (in == NULL: the defaults), out->struct_size = sizeof *out.
 * FERRY_ERR_USAGE when in->struct_size is below FERRY_COPY_OPTIONS_MIN_SIZE
 * (not initialised with ferry_copy_options_init) or above sizeof *out (a
 * program built against newer headers than this library). */
ferry_status ferry_copy_options_take(const ferry_copy_options *in, ferry_copy_options *out, ferry_error *err);

/* For the duration of a transfer entry point: make o->cancel (when o has one)
 * the calling thread's current cancel token; returns the token to put back
 * with ferry_cancel_adopt(prev) on the way out. */
static inline ferry_cancel_token *ferry_cancel_enter(const ferry_copy_options *o)
{
    if (o && o->struct_size >= FERRY_COPY_OPTIONS_MIN_SIZE && o->cancel)
        return ferry_cancel_adopt(o->cancel);
    return ferry_cancel_current();
}

#endif
