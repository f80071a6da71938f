/*
 * fault.h - internal: a fault-injecting wrapper around any source or sink,
 * in the spirit of SQLite's test_vfs.c.  Compiled in only when the build
 * defines FERRY_FAULT_INJECTION (cmake -DFERRY_FAULT_INJECTION=ON, test
 * builds); otherwise both calls are no-ops that return FERRY_OK and the
 * FERRY_FAULT variable is ignored.
 *
 * FERRY_FAULT holds one or more specs separated by ',':
 *
 *     SIDE:OP:WHEN:KIND[:MODE]
 *
 *   SIDE  source | sink
 *   OP    source: open | read | finish      sink: open | write | commit
 *   WHEN  N      the N-th call of OP (N >= 1), counted over the whole process,
 *                across every wrapped object, so a multi-file copy keeps
 *                counting from file to file;
 *         @B     (read, write) the call whose data holds byte offset B
 *                (0-based, counted over the process): "@0" is the first
 *                chunk, "@<total-1>" the last one whatever the chunking;
 *         eof    (source read) the read that reports the end of the stream
 *   KIND  fatal      -> FERRY_ERR_DATA (exit 7)
 *         transient  -> FERRY_ERR_TRANSIENT with err->transient = 1 (exit 8)
 *   MODE  once (default): only that call fails
 *         always: that call and every later one of OP fail
 *
 * e.g. FERRY_FAULT="sink:write:3:transient:once", "source:read:1:fatal:always",
 * "sink:commit:1:fatal", "source:open:1:fatal", "sink:write:@10485759:fatal",
 * "source:read:eof:transient".
 *
 * A failing call is not forwarded (the real object never sees it), except:
 *   - open: the real object was opened; it is closed properly (a sink is
 *     aborted, then freed; a source freed) and *obj is set to NULL;
 *   - commit: the real sink's abort is called before the failure is returned
 *     (the transfer then calls abort again, which the lifecycle allows);
 *   - read @B / eof: the real read is done (how much it returns decides),
 *     then what it returned is dropped and the read fails.
 * Everything else is forwarded as it is: write, commit, abort (every call,
 * so the real sink's idempotent abort is exercised), read, finish, free.
 * The wrapper mirrors the real object's size/rows/columns and bytes/rows.
 *
 * Nothing retries an injected failure: the hooks retry their own requests
 * below the wrapper, and the pump does not retry, so a transient failure
 * ends the transfer like a fatal one (aborted, exit 8).
 *
 * A malformed spec is FERRY_ERR_USAGE.  A spec that names only the other side
 * leaves the object unwrapped.  At debug log level the wrapper logs, when it
 * is freed, how many calls of each operation it saw and how many bytes went
 * through ("fault: sink s3: open 1 write 183 (11993370 bytes) commit 1 abort 0"),
 * which is how tests find the middle and the last byte of a transfer.
 */
#ifndef FERRY_TRANSFER_FAULT_H
#define FERRY_TRANSFER_FAULT_H

#include "ferry/stream.h"

/* Wrap *src (just opened successfully) when FERRY_FAULT asks for a source
 * fault.  On an injected open failure *src is freed and set to NULL. */
ferry_status ferry_fault_wrap_source(ferry_source **src, ferry_error *err);

/* Wrap *sink (just opened successfully) when FERRY_FAULT asks for a sink
 * fault.  On an injected open failure *sink is aborted, freed and set to NULL. */
ferry_status ferry_fault_wrap_sink(ferry_writer **sink, ferry_error *err);

#endif
