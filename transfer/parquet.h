/*
 * transfer/parquet.h - ferry's own Parquet writer (parquet_writer.c, over the
 * Thrift compact protocol of thrift_compact.c) and the typed copy that feeds
 * it (parquet_copy.c): typed rows in, a PAR1 file out through a byte sink.
 */
#ifndef FERRY_TRANSFER_PARQUET_H
#define FERRY_TRANSFER_PARQUET_H

#include <stddef.h>
#include <stdint.h>

#include "ferry/hook.h"
#include "ferry/stream.h"
#include "ferry/typed.h"

/* A copy whose format is parquet from a source with open_typed_source. */
ferry_status ferry_parquet_copy(ferry_endpoint *src, ferry_endpoint *dst, const ferry_copy_options *o,
                                 struct ferry_summary *sum, ferry_error *err);

#endif
