/*
 * options.c - ferry_copy_options: the defaults, and taking a caller's struct
 * that may come from a program built against older headers (struct_size,
 * the rules in ferry/hook.h).
 */
#include <string.h>

#include "transfer/options.h"

static void defaults(ferry_copy_options *o)
{
    memset(o, 0, sizeof *o);
    o->struct_size = sizeof *o;
    o->compress_level = 6;
    o->header = 1;
    o->chunk_size = 1024 * 1024;
    o->s3_part_size = 8 * 1024 * 1024;
    o->s3_concurrency = 4;
    o->max_retries = 5;
    o->timeout = 300;
    o->s3_unsigned_payload = -1;
    o->source_size = -1;
}

void ferry_copy_options_init_size(ferry_copy_options *o, size_t size)
{
    ferry_copy_options d;
    defaults(&d);
    if (size > sizeof d) {
        memset(o, 0, size);   /* fields this library does not know: zero */
        memcpy(o, &d, sizeof d);
    } else {
        memcpy(o, &d, size);  /* an older caller: only the fields it has */
    }
    if (size >= sizeof o->struct_size)
        o->struct_size = size;
}

ferry_status ferry_copy_options_take(const ferry_copy_options *in, ferry_copy_options *out, ferry_error *err)
{
    defaults(out);
    if (!in)
        return FERRY_OK;
    if (in->struct_size < FERRY_COPY_OPTIONS_MIN_SIZE || in->struct_size > sizeof *out)
        return ferry_error_set(err, FERRY_ERR_USAGE,
                               "ferry_copy_options: struct_size %zu is not one this libferry knows (%zu..%zu): "
                               "initialise the options with ferry_copy_options_init and build against "
                               "the headers of the linked library",
                               in->struct_size, (size_t)FERRY_COPY_OPTIONS_MIN_SIZE, sizeof *out);
    memcpy(out, in, in->struct_size);
    out->struct_size = sizeof *out;
    return FERRY_OK;
}
