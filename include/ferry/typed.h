/*
 * ferry/typed.h - typed rows: what a source that knows its column types
 * (Postgres through COPY binary) hands to a format writer that keeps them
 * (Parquet).  A column has a name as the source gives it, a logical type and
 * a nullable flag; rows travel in column batches whose arrays belong to the
 * producer and are reused from batch to batch (zlib's z_stream pattern:
 * nothing is allocated per row).
 */
#ifndef FERRY_TYPED_H
#define FERRY_TYPED_H

#include <stddef.h>
#include <stdint.h>
#include "ferry/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Logical types.  The storage (which array of ferry_tvector holds the value)
 * is given by ferry_ltype_storage. */
typedef enum ferry_ltype {
    FERRY_T_BOOL = 1,     /* i64: 0 or 1 */
    FERRY_T_INT16,        /* i64 */
    FERRY_T_INT32,        /* i64 */
    FERRY_T_INT64,        /* i64 */
    FERRY_T_UINT8,        /* i64 (MySQL UNSIGNED; UINT64 as its bits) */
    FERRY_T_UINT16,
    FERRY_T_UINT32,
    FERRY_T_UINT64,
    FERRY_T_FLOAT,        /* f64 (a float4 is exact in a double) */
    FERRY_T_DOUBLE,       /* f64 */
    FERRY_T_DECIMAL,      /* DECIMAL(precision, scale), exact unscaled value:
                             i64 when precision <= 18, else fixed (16 bytes,
                             big-endian two's complement) */
    FERRY_T_DECIMAL_TEXT, /* a numeric without declared precision: its exact text */
    FERRY_T_STRING,       /* var: UTF-8 text */
    FERRY_T_BYTES,        /* var: raw bytes */
    FERRY_T_DATE,         /* i64: days since 1970-01-01 */
    FERRY_T_TIME_US,      /* i64: microseconds since midnight */
    FERRY_T_TIMESTAMP_US, /* i64: microseconds since 1970-01-01 00:00 (UTC when utc) */
    FERRY_T_INTERVAL,     /* var: the source's text form */
    FERRY_T_UUID,         /* fixed: 16 bytes */
    FERRY_T_JSON,         /* var: JSON text */
    FERRY_T_TEXT,         /* var: any other type, as the source renders it as text */
    FERRY_T_INT8          /* i64 (MySQL TINYINT) */
} ferry_ltype;

typedef enum ferry_tstorage {
    FERRY_TS_I64 = 1, FERRY_TS_F64, FERRY_TS_FIXED16, FERRY_TS_VAR
} ferry_tstorage;

typedef struct ferry_tcolumn {
    const char *name;        /* as the source gives it (owned by the source) */
    ferry_ltype type;
    int precision, scale;    /* FERRY_T_DECIMAL */
    int utc;                 /* FERRY_T_TIMESTAMP_US: instants (timestamptz) */
    int nullable;            /* may hold NULL (unknown: 1) */
    const char *native_type; /* the source's own type name, e.g. "numeric(12,2)"; may be NULL */
} ferry_tcolumn;

/* One column's values of a batch: row i is NULL when nulls[i]; else its
 * value is in the array its storage names (the other arrays may be NULL).
 * var: the bytes of row i are data[off[i] .. off[i+1]) (off has n_rows + 1
 * entries, off[0] = 0; a NULL row has an empty range). */
typedef struct ferry_tvector {
    uint8_t *nulls;
    int64_t *i64;
    double *f64;
    uint8_t *fixed;          /* 16 bytes a row */
    uint32_t *off;
    char *data;
} ferry_tvector;

/* A batch of rows, column by column.  Owned by its producer; valid until
 * the producer's next call. */
typedef struct ferry_tbatch {
    size_t n_rows;
    size_t n_cols;
    const ferry_tvector *cols;  /* n_cols of them */
    int64_t first_row;          /* 1-based number of the batch's first row in the stream */
} ferry_tbatch;

/* Where a value of type t (with precision p) is kept. */
static inline ferry_tstorage ferry_ltype_storage(ferry_ltype t, int precision)
{
    switch (t) {
    case FERRY_T_FLOAT: case FERRY_T_DOUBLE: return FERRY_TS_F64;
    case FERRY_T_UUID: return FERRY_TS_FIXED16;
    case FERRY_T_DECIMAL: return precision <= 18 ? FERRY_TS_I64 : FERRY_TS_FIXED16;
    case FERRY_T_DECIMAL_TEXT: case FERRY_T_STRING: case FERRY_T_BYTES: case FERRY_T_INTERVAL:
    case FERRY_T_JSON: case FERRY_T_TEXT: return FERRY_TS_VAR;
    default: return FERRY_TS_I64;
    }
}

/* A source of typed rows (a hook's open_typed_source slot). */
typedef struct ferry_typed_source ferry_typed_source;
typedef struct ferry_typed_source_ops {
    const char *name;
    /* The next batch (owned by the source, valid until the next call);
     * (*out)->n_rows == 0 at the end. */
    ferry_status (*next_batch)(ferry_typed_source *s, const ferry_tbatch **out, ferry_error *err);
    /* After the end: final checks (the COPY's result).  May be NULL. */
    ferry_status (*finish)(ferry_typed_source *s, ferry_error *err);
    /* Release everything; valid in any state. */
    void (*free)(ferry_typed_source *s);
} ferry_typed_source_ops;

struct ferry_typed_source {
    const ferry_typed_source_ops *ops;
    const ferry_tcolumn *columns;   /* owned by the source, valid until free */
    size_t n_columns;
    int64_t rows;                   /* rows produced so far */
    int64_t bytes;                  /* bytes received from the system so far */
};

#ifdef __cplusplus
}
#endif
#endif
