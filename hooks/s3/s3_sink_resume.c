/*
 * hooks/s3/s3_sink_resume.c - the sink's side of --resume (plain sink only):
 * at open, check the state file (s3_resume.c) against the destination and
 * continue the stored multipart upload when it still exists; while
 * uploading, skip the parts found stored already (checked against the
 * source's bytes) and write the state after each stored part.
 */
#include <openssl/evp.h>
#include <pthread.h>
#include <unistd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/thread.h"
#include "ferry/log.h"
#include "ferry/stream.h"
#include "hooks/s3/s3_sink_internal.h"

/* --resume: rewrite the state file (uploader thread, or the caller's once the
 * uploader stopped).  A failed write is reported once and does not stop the
 * copy (only a later resume would miss the newest parts). */
void ferry_s3_sink_state_write(ferry_s3_sink *s)
{
    if (!s->resume_path || !s->upload_id)
        return;
    ferry_buf *b = &s->state_json;
    ferry_buf_reset(b);
    int64_t consumed = 0;
    for (int i = 0; i < s->parts_max && s->parts[i].etag[0]; i++)
        consumed += (int64_t)s->parts[i].size;
    int rc = ferry_buf_appends(b, "{\"ferry_resume\": 1, \"bucket\": ");
    rc |= ferry_s3_json_str(b, s->bucket);
    rc |= ferry_buf_appends(b, ", \"key\": ");
    rc |= ferry_s3_json_str(b, s->key);
    rc |= ferry_buf_appends(b, ", \"upload_id\": ");
    rc |= ferry_s3_json_str(b, s->upload_id);
    rc |= ferry_buf_appendf(b, ", \"part_size\": %zu, \"checksum\": \"%s\", \"source_bytes\": %lld, "
                        "\"parts\": [", s->base_part,
                        s->checksum == CK_CRC32C ? "crc32c" : s->checksum == CK_MD5 ? "md5" : "none",
                        (long long)consumed);
    int first = 1;
    for (int i = 0; i < s->parts_max; i++) {
        const part_rec *pr = &s->parts[i];
        if (!pr->etag[0])
            continue;
        char md5[33] = "";
        if (s->checksum == CK_MD5)
            ferry_hex_encode(pr->md5, 16, md5);
        rc |= ferry_buf_appendf(b, "%s\n  {\"part\": %d, \"size\": %zu, \"etag\": ", first ? "" : ",",
                            i + 1, pr->size);
        rc |= ferry_s3_json_str(b, pr->etag);
        rc |= ferry_buf_appendf(b, ", \"crc32c\": \"%s\", \"md5\": \"%s\"}", pr->crc_b64, md5);
        first = 0;
    }
    rc |= ferry_buf_appends(b, "]}\n");
    ferry_error e;
    ferry_error_clear(&e);
    if (rc)
        ferry_error_oom(&e, "s3", NULL, NULL);
    if ((rc || ferry_s3_resume_save(s->resume_path, s->resume_tmp, b, &e) != FERRY_OK) &&
        !s->resume_warned) {
        s->resume_warned = 1;
        ferry_log(FERRY_LOG_WARN, "%s (the --resume state may lag behind)", e.msg);
    }
}

static int hex_to_md5(const char *hex, unsigned char out[16])
{
    if (strlen(hex) != 32)
        return 0;
    for (int i = 0; i < 16; i++) {
        unsigned v;
        if (sscanf(hex + 2 * i, "%2x", &v) != 1)
            return 0;
        out[i] = (unsigned char)v;
    }
    return 1;
}

/* --resume: a part the interrupted run stored already?  Compares the re-read
 * bytes' CRC-32C with the recorded one: equal = recorded as stored (*skipped),
 * different = the source changed (FERRY_ERR_DATA, the upload is discarded). */
ferry_status ferry_s3_sink_resume_check(ferry_s3_sink *s, ferry_s3_slot *sl, int *skipped, ferry_error *err)
{
    *skipped = 0;
    const ferry_s3_resume_part *rp = s->resumed.nparts ? ferry_s3_resume_find(&s->resumed, sl->part) : NULL;
    if (!rp)
        return FERRY_OK;
    char b64[9];
    ferry_s3_crc32c_b64(ferry_s3_crc32c(0, sl->buf, sl->len), b64);
    if (rp->size != sl->len || strcmp(b64, rp->crc32c) != 0) {
        s->resume_discard = 1;
        return ferry_s3_sink_fail(s, ferry_error_hook(err, FERRY_ERR_DATA, "s3", s->c->cfg.conn_id,
                                  "--resume s3://%s/%s: part %d of the source (%zu bytes, "
                                  "crc32c %s) is not the part stored before (%zu bytes, "
                                  "crc32c %s): the source changed; the upload is aborted "
                                  "and %s removed",
                                  s->bucket, s->key, sl->part, sl->len, b64, rp->size,
                                  rp->crc32c, s->resume_path),
                                  err);
    }
    memcpy(sl->crc_b64, b64, sizeof sl->crc_b64);
    memset(sl->md5_raw, 0, sizeof sl->md5_raw);
    if (s->checksum == CK_MD5 && !hex_to_md5(rp->md5, sl->md5_raw))
        s->etags_plain = 0;
    ferry_status st = ferry_s3_parts_record(s, sl, rp->etag, err);
    if (st != FERRY_OK)
        return st;
    s->parts_skipped++;
    ferry_log(FERRY_LOG_DEBUG, "s3: s3://%s/%s part %d (%zu bytes) already stored, not sent again "
              "(--resume)", s->bucket, s->key, sl->part, sl->len);
    ferry_s3_sink_state_write(s);
    ferry_s3_slot_set_state(s, sl, SLOT_FREE);
    *skipped = 1;
    return FERRY_OK;
}

/* ListParts: does the upload still exist?  *exists 0 when S3 says NoSuchUpload. */
static ferry_status upload_exists(ferry_s3_sink *s, const char *upload_id, int *exists, ferry_error *err)
{
    ferry_s3_req r;
    memset(&r, 0, sizeof r);
    r.op = "ListParts";
    r.method = "GET";
    r.bucket = s->bucket;
    r.key = s->key;
    ferry_s3_req_query(&r, "max-parts", "1");
    ferry_s3_req_query(&r, "uploadId", upload_id);
    *exists = 0;
    ferry_status st = ferry_s3_request(s->c, &s->ctl, &r, err);
    if (st == FERRY_ERR_NOT_FOUND) {
        ferry_error_clear(err);
        return FERRY_OK;
    }
    if (st == FERRY_OK)
        *exists = 1;
    return st;
}

/* --resume FILE at open: remember the path; when FILE holds the state of an
 * interrupted upload of this very destination with the same part size and
 * checksum, and the upload still exists, continue it. */
ferry_status ferry_s3_sink_resume_open(ferry_s3_sink *s, const char *path, ferry_error *err)
{
    const char *id = s->c->cfg.conn_id;
    s->resume_path = strdup(path);
    if (!s->resume_path || asprintf(&s->resume_tmp, "%s.tmp-", path) < 0) {
        s->resume_tmp = NULL;
        return ferry_error_oom(err, "s3", NULL, NULL);
    }
    int found = 0;
    ferry_status st = ferry_s3_resume_load(path, &s->resumed, &found, err);
    if (st != FERRY_OK || !found)
        return st;
    ferry_s3_resume_state *rs = &s->resumed;
    const char *ck = s->checksum == CK_CRC32C ? "crc32c" : s->checksum == CK_MD5 ? "md5" : "none";
    if (strcmp(rs->bucket, s->bucket) != 0 || strcmp(rs->key, s->key) != 0)
        st = ferry_error_hook(err, FERRY_ERR_USAGE, "s3", id,
                              "--resume %s belongs to s3://%s/%s, not s3://%s/%s", path,
                              rs->bucket, rs->key, s->bucket, s->key);
    else if (rs->part_size != s->base_part || strcmp(rs->checksum, ck) != 0)
        st = ferry_error_hook(err, FERRY_ERR_USAGE, "s3", id,
                              "--resume %s: the upload was started with --part-size %zu "
                              "--checksum %s; run it again with the same (now %zu, %s)",
                              path, rs->part_size, rs->checksum, s->base_part, ck);
    if (st != FERRY_OK)
        return st;
    int exists = 0;
    st = upload_exists(s, rs->upload_id, &exists, err);
    if (st != FERRY_OK)
        return st;
    if (!exists) {
        ferry_log(FERRY_LOG_WARN, "s3: the multipart upload %s in %s no longer exists; starting "
                  "a new upload", rs->upload_id, path);
        ferry_s3_resume_release(rs);
        unlink(path);
        return FERRY_OK;
    }
    s->upload_id = strdup(rs->upload_id);
    if (!s->upload_id)
        return ferry_error_oom(err, "s3", NULL, NULL);
    ferry_log(FERRY_LOG_INFO, "s3: resuming multipart upload %s of s3://%s/%s: %d parts stored "
              "(%lld bytes of the source); the source is read again and checked part by part",
              s->upload_id, s->bucket, s->key, rs->nparts, (long long)rs->source_bytes);
    return FERRY_OK;
}
