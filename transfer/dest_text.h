/*
 * dest_text.h - internal: the destination a single-file copy writes, shared
 * by ferry_copy (transfer/copy.c) and --dry-run (transfer/describe.c).
 */
#ifndef FERRY_TRANSFER_DEST_TEXT_H
#define FERRY_TRANSFER_DEST_TEXT_H

#include "ferry/hook.h"

/* dst, or dst/NAME when dst ends in '/' or is an existing local directory
 * (NAME: the source's file name).  Returns a malloc'd string (the caller
 * frees it), NULL when out of memory. */
char *ferry_copy_destination_text(const ferry_endpoint *src, const char *dst);

#endif
