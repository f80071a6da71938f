/*
 * hooks/sftp/sftp.c - the SFTP hook's table: files on an SSH server through
 * libssh2, for connections of type "sftp" (Airflow's sftp and ssh types).
 * The slots live in sftp_source.c, sftp_sink.c and sftp_ops.c (memory, for
 * --max-memory, here); see
 * docs/hooks/sftp.md for the connection fields, host key policy and the
 * sink's commit protocol.
 */
#include <stdlib.h>

#include "hooks/sftp/sftp_internal.h"

/* memory slot, what --max-memory counts for SFTP (transfer/budget.c): the
 * sink's sliding buffer (one more per helper session of a large upload), and for the source's read-ahead the estimate ferry
 * has always made, 2 x read_sessions x 8 MiB (1 MiB with read_sessions=0);
 * the blocks themselves are FERRY_SFTP_PAR_BLOCK(_MULTI) unless
 * read_block_kib says otherwise. */
#define SFTP_BUDGET_BLOCK ((size_t)8 * 1024 * 1024)

static size_t sftp_memory(const ferry_endpoint *ep, int is_sink, const ferry_copy_options *o, size_t *parts,
                          size_t *min_part)
{
    (void)parts;
    (void)min_part;
    if (!ep->conn)
        return 0;
    if (is_sink) {
        /* the sink's buffer, and one per helper of a large upload (sftp_stripe.c) */
        const char *w = ferry_conn_extra(ep->conn, "write_sessions");
        long lanes = w ? strtol(w, NULL, 10) : FERRY_SFTP_WRITE_SESSIONS_DEFAULT;
        if (lanes < 1 || (o && o->source_size >= 0 && o->source_size < FERRY_SFTP_STRIPE_MIN))
            lanes = 1;
        if (lanes > FERRY_SFTP_STRIPE_HELPERS_MAX + 1)
            lanes = FERRY_SFTP_STRIPE_HELPERS_MAX + 1;
        return (size_t)lanes * FERRY_SFTP_SINK_BUF;
    }
    const char *v = ep->conn ? ferry_conn_extra(ep->conn, "read_sessions") : NULL;
    long n = v ? strtol(v, NULL, 10) : FERRY_SFTP_READ_SESSIONS_DEFAULT;
    return n <= 0 ? (size_t)1024 * 1024 : 2 * (size_t)n * SFTP_BUDGET_BLOCK;
}

static const char *const sftp_conn_types[] = {"sftp", NULL};

const ferry_hook ferry_hook_sftp = {
    FERRY_HOOK_INIT,
    .name = "sftp",
    .conn_types = sftp_conn_types,
    .open_source = ferry_sftp_open_source,
    .open_sink = ferry_sftp_open_sink,
    .stat = ferry_sftp_op_stat,
    .list = ferry_sftp_op_list,
    .remove = ferry_sftp_op_remove,
    .mkdir = ferry_sftp_op_mkdir,
    .exec = NULL,
    .test = ferry_sftp_op_test,
    .memory = sftp_memory,
    .set_mtime = ferry_sftp_op_set_mtime,
};
