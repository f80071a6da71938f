/*
 * ferry/ferry.h - the public API of libferry in one include.
 */
#ifndef FERRY_FERRY_H
#define FERRY_FERRY_H

#include "ferry/error.h"
#include "ferry/log.h"
#include "ferry/conn.h"
#include "ferry/stream.h"
#include "ferry/hook.h"
#include "ferry/transfer.h"
#include "ferry/retry.h"
#include "ferry/operators.h"
#include "ferry/template.h"
#include "ferry/s3.h"
#include "ferry/cancel.h"
#include "ferry/export.h"
#include "ferry/version.h"  /* generated: FERRY_VERSION_STRING/MAJOR/MINOR/PATCH */

#ifdef __cplusplus
extern "C" {
#endif

/* The linked library's version, "MAJOR.MINOR.PATCH" (static string); compare
 * with FERRY_VERSION_STRING, the version of the headers a program was built with. */
FERRY_API const char *ferry_version(void);

/* "ferry MAJOR.MINOR.PATCH (libpq 15.x, libcurl 7.x, ...)" into buf. */
FERRY_API const char *ferry_version_string(char *buf, size_t cap);

/* Test a connection by id (resolves, finds its hook, calls hook->test). */
FERRY_API ferry_status ferry_conn_test(const char *id, char *info, size_t cap, ferry_error *err);

/* Run SQL on a connection endpoint "CONN:" (exec slot of its hook). */
FERRY_API ferry_status ferry_exec(const char *conn_endpoint, const char *sql, ferry_exec_options *eo,
                                  ferry_error *err);

#ifdef __cplusplus
}
#endif
#endif
