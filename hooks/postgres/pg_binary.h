/*
 * hooks/postgres/pg_binary.h - internal to the postgres hook: typed rows
 * through COPY (FORMAT binary).  The statement (columns described with a
 * prepared Describe, unsupported types cast to text), the decoder of the
 * binary COPY stream into column batches (pure: fuzzed by
 * tests/fuzz/fuzz_pg_binary.c), and the typed source.
 */
#ifndef FERRY_PG_BINARY_H
#define FERRY_PG_BINARY_H

#include <libpq-fe.h>

#include "core/buf.h"
#include "ferry/hook.h"
#include "ferry/typed.h"

/* The columns of a binary COPY: what the decoder expects per field. */
typedef struct ferry_pg_bin_schema {
    size_t n;
    ferry_tcolumn *cols;   /* owned; names in strings */
    unsigned *oids;        /* owned: the type each field arrives as */
    char **strings;        /* owned: n names */
} ferry_pg_bin_schema;

void ferry_pg_bin_schema_free(ferry_pg_bin_schema *s);

/* The logical type of a column of type oid with typmod (numeric: (p,s));
 * *cast_text = 1 when the column is read through a ::text cast. */
void ferry_pg_bin_type(unsigned oid, int typmod, ferry_tcolumn *col, int *cast_text);

/* Describe select_sql (unnamed prepared statement) and build
 * *sql = "COPY (SELECT ... casts ...) TO STDOUT WITH (FORMAT binary)" and *schema.
 * Both owned by the caller (free, ferry_pg_bin_schema_free). */
ferry_status ferry_pg_bin_prepare(PGconn *pg, const char *conn_id, const char *select_sql, char **sql,
                                  ferry_pg_bin_schema *schema, ferry_error *err);

/* The decoder: a binary COPY stream (header, tuples, trailer) into batches
 * of at most cap rows.  The batch's arrays are the decoder's, reused. */
typedef struct ferry_pg_bin_decoder {
    const ferry_pg_bin_schema *schema;  /* borrowed */
    size_t cap;
    int header_done, ended;
    int64_t rows;                       /* tuples decoded so far */
    ferry_tvector *vec;                 /* owned: schema->n */
    ferry_buf *var;                     /* owned: the var data of each column */
    ferry_tbatch batch;
    const char *conn_id;                /* borrowed, for messages */
} ferry_pg_bin_decoder;

ferry_status ferry_pg_bin_decoder_init(ferry_pg_bin_decoder *d, const ferry_pg_bin_schema *schema, size_t cap,
                                       const char *conn_id, ferry_error *err);
/* Empty the batch (keeping its memory). */
void ferry_pg_bin_decoder_reset(ferry_pg_bin_decoder *d);
/* Decode the header and as many whole tuples of buf[0..len) as the batch
 * holds; *used = bytes consumed.  Stops at a partial tuple (more bytes are
 * needed), a full batch, or the trailer (d->ended; bytes after it are an
 * error).  Malformed data is FERRY_ERR_DATA naming the column and row. */
ferry_status ferry_pg_bin_decode(ferry_pg_bin_decoder *d, const uint8_t *buf, size_t len, size_t *used,
                                 ferry_error *err);
void ferry_pg_bin_decoder_free(ferry_pg_bin_decoder *d);

/* The hook slot (postgres.c). */
ferry_status ferry_pg_open_typed_source(const ferry_endpoint *ep, const ferry_copy_options *o,
                                        ferry_typed_source **out, ferry_error *err);

/* pg_source.c: the binary schema of a source opened with FERRY_FORMAT_PARQUET
 * (borrowed, valid until the source is freed), else NULL. */
const ferry_pg_bin_schema *ferry_pg_source_bin_schema(const ferry_source *s);

#endif
