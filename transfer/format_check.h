/*
 * transfer/format_check.h - "a name never lies": whether a copy can produce
 * the format its destination's name (or --format) asks for from what its
 * source is; refused up front (FERRY_ERR_USAGE) when not.
 */
#ifndef FERRY_TRANSFER_FORMAT_CHECK_H
#define FERRY_TRANSFER_FORMAT_CHECK_H

#include "ferry/hook.h"

/* fmt: the copy's resolved format.  FERRY_OK when the destination will hold
 * what its name says. */
ferry_status ferry_format_check(const ferry_endpoint *src, const ferry_endpoint *dst, ferry_format fmt,
                                const ferry_copy_options *o, ferry_error *err);

const char *ferry_format_name(ferry_format f);

#endif
