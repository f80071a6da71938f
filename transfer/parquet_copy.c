/*
 * parquet_copy.c - a copy into Parquet: typed rows from the source's
 * open_typed_source, written by the Parquet writer into the destination's
 * byte sink (whose commit is the atomic publish).
 */
#include "ferry/transfer.h"
#include "transfer/parquet.h"

ferry_status ferry_parquet_copy(ferry_endpoint *src, ferry_endpoint *dst, const ferry_copy_options *o,
                                struct ferry_summary *sum, ferry_error *err)
{
    (void)src; (void)dst; (void)o; (void)sum;
    return ferry_error_set(err, FERRY_ERR_USAGE, "parquet is not written yet");
}
