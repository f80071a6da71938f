/*
 * transfer/parquet_writer.h - ferry's own streaming Parquet writer: typed
 * column batches in, a PAR1 file out through a byte writer (the sink).
 * Pages are encoded and compressed as they fill; a row group is buffered
 * compressed in memory while it is built and written when it reaches its
 * size; the footer goes last, at commit.  Every column but BOOLEAN is
 * dictionary-encoded (RLE_DICTIONARY) until its dictionary would pass
 * dict_bytes or the first page shows PLAIN is smaller; then the rest of the
 * column chunk is PLAIN.
 */
#ifndef FERRY_TRANSFER_PARQUET_WRITER_H
#define FERRY_TRANSFER_PARQUET_WRITER_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "ferry/hook.h"
#include "ferry/typed.h"

typedef struct ferry_parquet_options {
    ferry_compress codec;     /* SNAPPY (AUTO too), ZSTD, GZIP or NONE */
    int level;                /* --compress-level 1..9 (6) for zstd and gzip */
    size_t row_group_bytes;   /* compressed bytes a row group holds before it is written; 0 = default */
    size_t page_bytes;        /* uncompressed bytes of a data page; 0 = 1 MiB */
    size_t dict_bytes;        /* PLAIN bytes a dictionary page may hold; 0 = 1 MiB (parquet-mr's default) */
    int no_dictionary;        /* 1: every page PLAIN */
    const char *created_by;   /* borrowed; NULL = "ferry version X (build Y)" */
} ferry_parquet_options;

#define FERRY_PARQUET_ROW_GROUP_DEFAULT (32u * 1024 * 1024)
#define FERRY_PARQUET_DICT_DEFAULT (1024u * 1024)
#define FERRY_PARQUET_DICT_PAGE_VALUES 65536u /* values of a dictionary-encoded data page at most */

typedef struct ferry_parquet_writer ferry_parquet_writer;

/* cols (n of them, borrowed for the call: names are copied) describe every
 * batch; next (borrowed) gets the file's bytes.  *out owned by the caller
 * (ferry_parquet_writer_free). */
ferry_status ferry_parquet_writer_new(const ferry_tcolumn *cols, size_t n, const ferry_parquet_options *po,
                                      ferry_writer *next, ferry_parquet_writer **out, ferry_error *err);
ferry_status ferry_parquet_writer_batch(ferry_parquet_writer *w, const ferry_tbatch *b, ferry_error *err);
/* The last row group and the footer, then next's commit. */
ferry_status ferry_parquet_writer_commit(ferry_parquet_writer *w, ferry_error *err);
/* Aborts next (idempotent). */
void ferry_parquet_writer_abort(ferry_parquet_writer *w);
void ferry_parquet_writer_free(ferry_parquet_writer *w);
int64_t ferry_parquet_writer_rows(const ferry_parquet_writer *w);

/* The RLE/bit-packed hybrid encoding of n values of bit_width (1..32) bits,
 * appended to out (no length prefix). */
void ferry_parquet_rle_hybrid(ferry_buf *out, const uint32_t *v, size_t n, int bit_width);
void ferry_parquet_rle_hybrid_u8(ferry_buf *out, const uint8_t *v, size_t n, int bit_width);
/* The bit width of dictionary indices for n entries: 0 for none, else at
 * least 1 (as Arrow writes them). */
int ferry_parquet_dict_bit_width(size_t n);
/* Bytes of a FIXED_LEN_BYTE_ARRAY holding DECIMAL(precision). */
int ferry_parquet_decimal_bytes(int precision);

#endif
