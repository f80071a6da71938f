/*
 * s3_write_opts.c - the S3 write-attribute options `ferry copy` and `ferry
 * sync` share (--sse, --sse-kms-key-id, --sse-bucket-key, --storage-class,
 * --content-type, --content-encoding, --metadata, --tags, --acl,
 * --requester-pays): parsed into ferry_copy_options the same way for both,
 * and checked before anything starts (hooks/s3/s3_attrs.c holds the rules),
 * so a bad value is exit 2 naming the option.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "hooks/s3/s3_attrs.h"

int cli_s3_write_opt(const char *verb, int c, const char *arg, cli_s3_write *w, ferry_copy_options *o, int *rc)
{
    *rc = 0;
    switch (c) {
    case CLI_OPT_SSE: o->s3_sse = arg; break;
    case CLI_OPT_SSE_KMS_KEY_ID: o->s3_sse_kms_key_id = arg; break;
    case CLI_OPT_SSE_BUCKET_KEY: o->s3_sse_bucket_key = 1; break;
    case CLI_OPT_STORAGE_CLASS: o->s3_storage_class = arg; break;
    case CLI_OPT_CONTENT_TYPE: o->s3_content_type = arg; break;
    case CLI_OPT_CONTENT_ENCODING: o->s3_content_encoding = arg; break;
    case CLI_OPT_ACL: o->s3_acl = arg; break;
    case CLI_OPT_REQUESTER_PAYS: o->s3_requester_pays = 1; break;
    case CLI_OPT_METADATA:
        if (!strchr(arg, '='))
            *rc = cli_usage(verb, "--metadata takes KEY=VALUE (got '%s')", arg);
        else if (w->nmeta == CLI_MAX_S3_METADATA)
            *rc = cli_usage(verb, "at most %d --metadata options", CLI_MAX_S3_METADATA);
        else {
            w->meta[w->nmeta++] = arg;
            o->s3_metadata = w->meta;
            o->n_s3_metadata = w->nmeta;
        }
        break;
    case CLI_OPT_TAGS:
        if (!strchr(arg, '='))
            *rc = cli_usage(verb, "--tags takes KEY=VALUE (got '%s')", arg);
        else if (w->ntags == CLI_MAX_S3_TAGS)
            *rc = cli_usage(verb, "at most %d --tags options (S3 keeps 10 tags per object)", CLI_MAX_S3_TAGS);
        else {
            w->tags[w->ntags++] = arg;
            o->s3_tags = w->tags;
            o->n_s3_tags = w->ntags;
        }
        break;
    default: return 0;
    }
    return 1;
}

int cli_s3_write_check(const char *verb, const ferry_copy_options *o)
{
    ferry_error err;
    ferry_error_clear(&err);
    if (ferry_s3_put_attrs_check(o, &err) == FERRY_OK)
        return 0;
    const char *msg = strncmp(err.msg, "s3: ", 4) == 0 ? err.msg + 4 : err.msg;
    return cli_usage(verb, "%s", msg);
}
