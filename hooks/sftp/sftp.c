/*
 * hooks/sftp/sftp.c - the SFTP hook's table: files on an SSH server through
 * libssh2, for connections of type "sftp" (Airflow's sftp and ssh types).
 * The slots live in sftp_source.c, sftp_sink.c and sftp_ops.c; see
 * docs/hooks/sftp.md for the connection fields, host key policy and the
 * sink's commit protocol.
 */
#include "hooks/sftp/sftp_internal.h"

static const char *const sftp_conn_types[] = {"sftp", NULL};

const ferry_hook ferry_hook_sftp = {
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
};
