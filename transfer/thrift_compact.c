/*
 * thrift_compact.c - the Thrift compact protocol's encoding (Apache Thrift,
 * doc/specs/thrift-compact-protocol.md): field headers as a delta from the
 * previous field id in the high nibble and the type in the low one (a long
 * form with a zigzag i16 id when the delta is not 1..15), booleans in the
 * type nibble, i32/i64 as zigzag ULEB128 varints, binary as a varint length
 * and bytes, lists as a size/type byte (or 0xF_ and a varint size), structs
 * ended by a STOP byte.  Used for Parquet's page headers and footer.
 */
#include <string.h>

#include "transfer/thrift_compact.h"

void ferry_tc_init(ferry_tc *tc, ferry_buf *out)
{
    memset(tc, 0, sizeof *tc);
    tc->out = out;
}

void ferry_tc_varint(ferry_buf *b, uint64_t v)
{
    unsigned char tmp[10];
    size_t n = 0;
    while (v >= 0x80) {
        tmp[n++] = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    tmp[n++] = (unsigned char)v;
    ferry_buf_append(b, tmp, n);
}

uint64_t ferry_tc_zigzag(int64_t v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static void byte(ferry_tc *tc, unsigned v)
{
    unsigned char c = (unsigned char)v;
    ferry_buf_append(tc->out, &c, 1);
}

static void field_header(ferry_tc *tc, int16_t id, int type)
{
    int16_t last = tc->depth > 0 && tc->depth <= FERRY_TC_DEPTH ? tc->last[tc->depth - 1] : 0;
    int delta = id - last;
    if (delta > 0 && delta <= 15) {
        byte(tc, (unsigned)(delta << 4) | (unsigned)type);
    } else {
        byte(tc, (unsigned)type);
        ferry_tc_varint(tc->out, ferry_tc_zigzag(id));
    }
    if (tc->depth > 0 && tc->depth <= FERRY_TC_DEPTH)
        tc->last[tc->depth - 1] = id;
}

void ferry_tc_i32(ferry_tc *tc, int16_t id, int32_t v)
{
    field_header(tc, id, FERRY_TC_I32);
    ferry_tc_varint(tc->out, ferry_tc_zigzag(v));
}

void ferry_tc_i64(ferry_tc *tc, int16_t id, int64_t v)
{
    field_header(tc, id, FERRY_TC_I64);
    ferry_tc_varint(tc->out, ferry_tc_zigzag(v));
}

void ferry_tc_bool(ferry_tc *tc, int16_t id, int v)
{
    field_header(tc, id, v ? FERRY_TC_TRUE : FERRY_TC_FALSE);
}

void ferry_tc_byte_field(ferry_tc *tc, int16_t id, int8_t v)
{
    field_header(tc, id, FERRY_TC_BYTE);
    byte(tc, (unsigned char)v);
}

void ferry_tc_binary(ferry_tc *tc, int16_t id, const void *p, size_t n)
{
    field_header(tc, id, FERRY_TC_BINARY);
    ferry_tc_elem_binary(tc, p, n);
}

void ferry_tc_string(ferry_tc *tc, int16_t id, const char *s)
{
    ferry_tc_binary(tc, id, s, strlen(s));
}

static void push(ferry_tc *tc)
{
    if (tc->depth >= FERRY_TC_DEPTH)
        tc->overflow = 1;
    else
        tc->last[tc->depth] = 0;
    tc->depth++;
}

void ferry_tc_begin(ferry_tc *tc)
{
    push(tc);
}

void ferry_tc_struct_begin(ferry_tc *tc, int16_t id)
{
    field_header(tc, id, FERRY_TC_STRUCT);
    push(tc);
}

void ferry_tc_elem_struct_begin(ferry_tc *tc)
{
    push(tc);
}

void ferry_tc_struct_end(ferry_tc *tc)
{
    byte(tc, FERRY_TC_STOP);
    if (tc->depth > 0)
        tc->depth--;
    else
        tc->overflow = 1;
}

void ferry_tc_end(ferry_tc *tc)
{
    ferry_tc_struct_end(tc);
}

void ferry_tc_list_begin(ferry_tc *tc, int16_t id, int elem_type, size_t n)
{
    field_header(tc, id, FERRY_TC_LIST);
    if (n < 15) {
        byte(tc, (unsigned)(n << 4) | (unsigned)elem_type);
    } else {
        byte(tc, 0xF0u | (unsigned)elem_type);
        ferry_tc_varint(tc->out, n);
    }
}

void ferry_tc_elem_i32(ferry_tc *tc, int32_t v)
{
    ferry_tc_varint(tc->out, ferry_tc_zigzag(v));
}

void ferry_tc_elem_binary(ferry_tc *tc, const void *p, size_t n)
{
    ferry_tc_varint(tc->out, n);
    ferry_buf_append(tc->out, p, n);
}

int ferry_tc_failed(const ferry_tc *tc)
{
    return tc->out->failed || tc->overflow ? -1 : 0;
}
