/*
 * transfer/thrift_compact.h - a Thrift compact-protocol encoder, just what a
 * Parquet footer and page headers need: structs, fields (i32, i64, bool,
 * binary, struct, list), zigzag varints.  Writes into a ferry_buf (sticky
 * failure: check b->failed once).  No reflection, no IDL: the caller writes
 * the fields of parquet.thrift in order.
 */
#ifndef FERRY_TRANSFER_THRIFT_COMPACT_H
#define FERRY_TRANSFER_THRIFT_COMPACT_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

/* Compact protocol type ids. */
enum {
    FERRY_TC_STOP = 0, FERRY_TC_TRUE = 1, FERRY_TC_FALSE = 2, FERRY_TC_BYTE = 3, FERRY_TC_I16 = 4,
    FERRY_TC_I32 = 5, FERRY_TC_I64 = 6, FERRY_TC_DOUBLE = 7, FERRY_TC_BINARY = 8, FERRY_TC_LIST = 9,
    FERRY_TC_SET = 10, FERRY_TC_MAP = 11, FERRY_TC_STRUCT = 12
};

#define FERRY_TC_DEPTH 16

typedef struct ferry_tc {
    ferry_buf *out;                 /* borrowed */
    int16_t last[FERRY_TC_DEPTH];   /* last field id per open struct */
    int depth;
    int overflow;                   /* structs nested deeper than FERRY_TC_DEPTH */
} ferry_tc;

void ferry_tc_init(ferry_tc *tc, ferry_buf *out);
void ferry_tc_varint(ferry_buf *b, uint64_t v);
uint64_t ferry_tc_zigzag(int64_t v);

/* Fields of the struct being written. */
void ferry_tc_i32(ferry_tc *tc, int16_t id, int32_t v);
void ferry_tc_i64(ferry_tc *tc, int16_t id, int64_t v);
void ferry_tc_bool(ferry_tc *tc, int16_t id, int v);
void ferry_tc_byte_field(ferry_tc *tc, int16_t id, int8_t v);
void ferry_tc_binary(ferry_tc *tc, int16_t id, const void *p, size_t n);
void ferry_tc_string(ferry_tc *tc, int16_t id, const char *s);
/* A struct field: begin, its fields, end. */
void ferry_tc_struct_begin(ferry_tc *tc, int16_t id);
void ferry_tc_struct_end(ferry_tc *tc);
/* A list field of n elements of elem_type; then the elements: */
void ferry_tc_list_begin(ferry_tc *tc, int16_t id, int elem_type, size_t n);
void ferry_tc_elem_i32(ferry_tc *tc, int32_t v);
void ferry_tc_elem_binary(ferry_tc *tc, const void *p, size_t n);
/* A struct element of a list: begin, its fields, end. */
void ferry_tc_elem_struct_begin(ferry_tc *tc);
/* The top-level struct: begin (no field header) and end (its STOP). */
void ferry_tc_begin(ferry_tc *tc);
void ferry_tc_end(ferry_tc *tc);
/* 0 when everything was written, -1 on out of memory or bad nesting. */
int ferry_tc_failed(const ferry_tc *tc);

#endif
