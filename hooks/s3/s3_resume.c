/*
 * hooks/s3/s3_resume.c - the state file of --resume: which multipart upload
 * an interrupted copy left behind and which of its parts are stored, so a
 * later run can continue it.  JSON, one object:
 *   {"ferry_resume": 1, "bucket": "...", "key": "...", "upload_id": "...",
 *    "part_size": 8388608, "checksum": "md5", "source_bytes": 16777216,
 *    "parts": [{"part": 1, "size": 8388608, "etag": "\"...\"",
 *               "crc32c": "...", "md5": "..."}, ...]}
 * source_bytes = bytes of the source covered by parts 1..k all stored.
 * Written by the uploader thread after each stored part into a reused buffer,
 * atomically: a new temp file PATH.tmp-XXXXXX beside it (ferry_tmpfile:
 * O_EXCL, 0600), fdatasync, rename.
 * Read with jansson when a run starts.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hooks/s3/s3_internal.h"

int ferry_s3_json_str(ferry_buf *b, const char *s)
{
    int rc = ferry_buf_append(b, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p && !rc; p++) {
        if (*p == '"' || *p == '\\') {
            char e[2] = {'\\', (char)*p};
            rc = ferry_buf_append(b, e, 2);
        } else if (*p < 0x20) {
            rc = ferry_buf_appendf(b, "\\u%04x", *p);
        } else {
            rc = ferry_buf_append(b, p, 1);
        }
    }
    return rc | ferry_buf_append(b, "\"", 1);
}

ferry_status ferry_s3_resume_save(const char *path, const char *tmp_prefix, const ferry_buf *json,
                                  ferry_error *err)
{
    /* tmp_prefix is "<dir>/<name>": the directory and the name's prefix */
    char dir[4096];
    const char *slash = strrchr(tmp_prefix, '/');
    size_t dlen = slash ? (size_t)(slash - tmp_prefix) : 1;
    if (dlen >= sizeof dir)
        return ferry_error_set(err, FERRY_ERR_IO, "s3: --resume state %s: path too long", path);
    memcpy(dir, slash ? tmp_prefix : ".", dlen);
    dir[dlen] = '\0';
    if (dlen == 0)
        snprintf(dir, sizeof dir, "/");
    char *tmp_path = NULL;
    int fd = ferry_tmpfile(dir, slash ? slash + 1 : tmp_prefix, &tmp_path);
    if (fd < 0)
        return ferry_error_set(err, FERRY_ERR_IO, "s3: --resume state %s: cannot create a temp file in %s: %s",
                               path, dir, strerror(errno));
    ferry_status st = FERRY_OK;
    size_t off = 0;
    while (off < json->len) {
        ssize_t n = write(fd, json->data + off, json->len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            st = ferry_error_set(err, FERRY_ERR_IO, "s3: --resume state %s: %s", tmp_path, strerror(errno));
            break;
        }
        off += (size_t)n;
    }
    if (st == FERRY_OK && fdatasync(fd) != 0)
        st = ferry_error_set(err, FERRY_ERR_IO, "s3: --resume state %s: %s", tmp_path, strerror(errno));
    if (close(fd) != 0 && st == FERRY_OK)
        st = ferry_error_set(err, FERRY_ERR_IO, "s3: --resume state %s: %s", tmp_path, strerror(errno));
    if (st == FERRY_OK && rename(tmp_path, path) != 0)
        st = ferry_error_set(err, FERRY_ERR_IO, "s3: --resume state %s: %s", path, strerror(errno));
    if (st != FERRY_OK)
        unlink(tmp_path);
    free(tmp_path);
    return st;
}

static char *dup_str(json_t *o, const char *name)
{
    const char *v = json_string_value(json_object_get(o, name));
    return v ? strdup(v) : NULL;
}

static void copy_str(json_t *o, const char *name, char *out, size_t cap)
{
    const char *v = json_string_value(json_object_get(o, name));
    snprintf(out, cap, "%s", v ? v : "");
}

ferry_status ferry_s3_resume_load(const char *path, ferry_s3_resume_state *st, int *found, ferry_error *err)
{
    memset(st, 0, sizeof *st);
    *found = 0;
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (errno == ENOENT)
            return FERRY_OK;
        return ferry_error_set(err, FERRY_ERR_IO, "s3: --resume state %s: %s", path,
                               strerror(errno));
    }
    json_error_t jerr;
    json_t *root = json_loadf(f, 0, &jerr);
    fclose(f);
    if (!root || !json_is_object(root) ||
        json_integer_value(json_object_get(root, "ferry_resume")) != 1) {
        json_decref(root);
        return ferry_error_set(err, FERRY_ERR_DATA,
                               "s3: --resume state %s is not a ferry resume file%s%s", path,
                               root ? "" : ": ", root ? "" : jerr.text);
    }
    st->bucket = dup_str(root, "bucket");
    st->key = dup_str(root, "key");
    st->upload_id = dup_str(root, "upload_id");
    copy_str(root, "checksum", st->checksum, sizeof st->checksum);
    st->part_size = (size_t)json_integer_value(json_object_get(root, "part_size"));
    st->source_bytes = json_integer_value(json_object_get(root, "source_bytes"));
    json_t *parts = json_object_get(root, "parts");
    size_t n = json_is_array(parts) ? json_array_size(parts) : 0;
    ferry_status rc = FERRY_OK;
    if (!st->bucket || !st->key || !st->upload_id || !st->part_size) {
        rc = ferry_error_set(err, FERRY_ERR_DATA, "s3: --resume state %s lacks bucket, key, "
                             "upload_id or part_size", path);
    } else if (n) {
        st->parts = calloc(n, sizeof *st->parts);
        if (!st->parts)
            rc = ferry_error_oom(err, "s3", NULL, NULL);
    }
    for (size_t i = 0; rc == FERRY_OK && i < n; i++) {
        json_t *p = json_array_get(parts, i);
        ferry_s3_resume_part *rp = &st->parts[st->nparts];
        json_int_t num = json_integer_value(json_object_get(p, "part"));
        if (num < 1 || num > S3_MAX_PARTS) {
            rc = ferry_error_set(err, FERRY_ERR_DATA, "s3: --resume state %s: bad part number",
                                 path);
            break;
        }
        rp->part = (int)num;
        rp->size = (size_t)json_integer_value(json_object_get(p, "size"));
        copy_str(p, "etag", rp->etag, sizeof rp->etag);
        copy_str(p, "crc32c", rp->crc32c, sizeof rp->crc32c);
        copy_str(p, "md5", rp->md5, sizeof rp->md5);
        st->nparts++;
    }
    json_decref(root);
    if (rc != FERRY_OK) {
        ferry_s3_resume_release(st);
        return rc;
    }
    *found = 1;
    return FERRY_OK;
}

const ferry_s3_resume_part *ferry_s3_resume_find(const ferry_s3_resume_state *st, int part)
{
    for (int i = 0; i < st->nparts; i++)
        if (st->parts[i].part == part)
            return &st->parts[i];
    return NULL;
}

void ferry_s3_resume_release(ferry_s3_resume_state *st)
{
    free(st->bucket);
    free(st->key);
    free(st->upload_id);
    free(st->parts);
    memset(st, 0, sizeof *st);
}
