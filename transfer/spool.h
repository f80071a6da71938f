/*
 * spool.h - internal: drain a source into an anonymous temp file and return a
 * source that reads it back.
 */
#ifndef FERRY_TRANSFER_SPOOL_H
#define FERRY_TRANSFER_SPOOL_H

#include "ferry/transfer.h"

/* Reads src to its end (and runs its finish); *out reads the same bytes back.
 * *rows gets the rows src reported. src is not freed. *out is owned by the
 * caller (ops->free). chunk is borrowed scratch space. */
ferry_status ferry_spool_source(ferry_source *src, void *chunk, size_t chunk_size, int64_t *rows,
                                ferry_source **out, ferry_error *err);

#endif
