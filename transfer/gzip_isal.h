/*
 * gzip_isal.h - internal: the ISA-L gzip filter (only when FERRY_HAVE_ISAL).
 */
#ifndef FERRY_TRANSFER_GZIP_ISAL_H
#define FERRY_TRANSFER_GZIP_ISAL_H

#include "ferry/transfer.h"

ferry_status ferry_isal_gzip_writer_new(ferry_writer *next, int level, ferry_writer **out, ferry_error *err);

#endif
