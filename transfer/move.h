/*
 * move.h - internal: the --move step that deletes a source after its copy.
 */
#ifndef FERRY_TRANSFER_MOVE_H
#define FERRY_TRANSFER_MOVE_H

#include "ferry/transfer.h"

/* Delete src_text once dst_text committed: verifies the source's size equals
 * sum->bytes_read and the destination's equals sum->bytes_written (where the
 * hooks can stat), else keeps the source and fails. */
ferry_status ferry_move_source(const char *src_text, const char *dst_text, const ferry_summary *sum,
                               const ferry_copy_options *o, ferry_error *err);

#endif
