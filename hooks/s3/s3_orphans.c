/*
 * hooks/s3/s3_orphans.c - clean up after a CreateMultipartUpload that failed
 * without an answer.  A Create interrupted by a signal or a timeout may still
 * be processed by the server, leaving an upload nobody knows the id of (its
 * parts cost storage until a lifecycle rule removes them).  So after such a
 * failure the uploads of that key initiated since just before the request
 * are listed and aborted.  The window is S3_ORPHAN_SLACK seconds wide to
 * cover clock skew; an upload of the same key that another writer started in
 * that window would be aborted too (two writers of one key conflict anyway).
 */
#include <stdlib.h>
#include <string.h>

#include "ferry/log.h"
#include "hooks/s3/s3_internal.h"

#define MAX_ORPHANS 16

int ferry_s3_orphan_match(const char *key, const char *listed_key, int64_t initiated, int64_t since)
{
    if (!key || !listed_key || strcmp(key, listed_key) != 0)
        return 0;
    return initiated >= 0 && initiated >= since;
}

typedef struct orphan_scan {
    const char *key;
    int64_t since;
    char *ids[MAX_ORPHANS];     /* owned */
    int n;
} orphan_scan;

static ferry_status on_upload(void *ud, const char *key, const char *upload_id, int64_t initiated,
                              ferry_error *err)
{
    orphan_scan *sc = ud;
    if (!ferry_s3_orphan_match(sc->key, key, initiated, sc->since) || sc->n >= MAX_ORPHANS)
        return FERRY_OK;
    sc->ids[sc->n] = strdup(upload_id);
    if (!sc->ids[sc->n])
        return ferry_error_oom(err, "s3", NULL, NULL);
    sc->n++;
    return FERRY_OK;
}

ferry_status ferry_s3_abort_orphans(ferry_s3_client *c, const char *bucket, const char *key, int64_t since,
                                    const char *keep, int *aborted, ferry_error *err)
{
    if (aborted)
        *aborted = 0;
    orphan_scan sc;
    memset(&sc, 0, sizeof sc);
    sc.key = key;
    sc.since = since;
    ferry_status st = ferry_s3_client_list_uploads_ex(c, bucket, key, 1, on_upload, &sc, err);
    ferry_s3_xfer x;
    if (st == FERRY_OK && sc.n > 0 && (st = ferry_s3_xfer_init(&x, err)) == FERRY_OK) {
        for (int i = 0; i < sc.n; i++) {
            if (keep && strcmp(keep, sc.ids[i]) == 0)
                continue;
            ferry_error e;
            ferry_error_clear(&e);
            if (ferry_s3_client_abort_upload(c, &x, bucket, key, sc.ids[i], &e) == FERRY_OK) {
                ferry_log(FERRY_LOG_INFO, "s3: aborted multipart upload %s of s3://%s/%s left by "
                          "an interrupted CreateMultipartUpload", sc.ids[i], bucket, key);
                if (aborted)
                    (*aborted)++;
            } else {
                ferry_log(FERRY_LOG_ERROR, "%s", e.msg);
            }
        }
        ferry_s3_xfer_release(&x);
    }
    for (int i = 0; i < sc.n; i++)
        free(sc.ids[i]);
    return st;
}
