/*
 * hooks/s3/s3_sink_internal.h - what the files of the S3 sink share: the
 * sink, its slots, producers and part records, and the functions one of
 * s3_uploader.c (slot ring, uploader thread), s3_sink.c (plain sink),
 * s3_sink_resume.c (--resume glue) and s3_parallel.c (ranged sink) calls in
 * another.  Internal to hooks/s3/; functions shared this way are named
 * ferry_s3_* (ferry_s3_sink_* for those acting on the whole sink).
 *
 * Ownership: an ferry_s3_sink owns its client, bucket/key strings, slots (with
 * their buffers and hash contexts), part records, upload id and --resume
 * state; a producer owns only its head slot's buffer.  The uploader thread
 * alone touches the client's curl multi and the part records between the
 * first hand-off and ferry_s3_uploader_stop; fields marked "under mu" are
 * shared and read or written with s->mu held.
 *
 * Peak memory: concurrency x part size (+ a few KiB per slot); nothing is
 * allocated per part once the slots exist.
 */
#ifndef FERRY_HOOKS_S3_SINK_INTERNAL_H
#define FERRY_HOOKS_S3_SINK_INTERNAL_H

#include <openssl/evp.h>
#include <pthread.h>

#include "ferry/stream.h"
#include "hooks/s3/s3_attrs.h"
#include "hooks/s3/s3_internal.h"

/* FREE -> FILLING (producer) -> SEALED (handed off) -> HASHING -> FLIGHT
 * (uploader) <-> WAIT (retry backoff) -> FREE.  Transitions under s->mu. */
typedef enum { SLOT_FREE = 0, SLOT_FILLING, SLOT_SEALED, SLOT_HASHING, SLOT_FLIGHT, SLOT_WAIT } slot_state;

typedef enum { CK_NONE = 0, CK_MD5, CK_CRC32C } checksum_kind;

#define HASH_STEP S3_MIB    /* the uploader drives the transfers between steps */

typedef struct ferry_s3_slot {
    unsigned char *buf;     /* owned, cap bytes, reused for part after part */
    size_t cap;
    size_t len;             /* bytes filled */
    size_t limit;           /* size of the part being filled */
    int part;               /* part number while filling / in flight */
    slot_state state;
    ferry_sha256_ctx sha;   /* uploader: payload hash */
    int sha_live;           /* sha holds an initialised context */
    EVP_MD_CTX *md5;        /* owned, reused */
    char sha_hex[65];
    unsigned char md5_raw[16];
    char md5_hex[33];
    char md5_b64[25];
    uint32_t crc;
    char crc_b64[9];
    char part_str[12];
    ferry_s3_req req;             /* the UploadPart request (points into this slot) */
    ferry_s3_xfer xfer;
    ferry_retry retry;
    double retry_at;
} ferry_s3_slot;

/* One producer: the sink's caller, or one range of a ranged sink.  Its parts
 * are numbered first_part + local (local 0..max_local).  With hold_head, local
 * part 0 is filled into head (a private slot) and kept back, never handed off
 * (the ranged sink merges it with the previous range's tail at commit). */
typedef struct ferry_s3_prod {
    ferry_s3_slot *cur;           /* slot being filled (a pool slot or &head), NULL when none */
    int first_part;
    int next_local;         /* local index the next part gets */
    int max_local;
    int hold_head;
    ferry_s3_slot head;           /* hold_head: local part 0 (buf owned) */
    int64_t total;          /* bytes accepted */
} ferry_s3_prod;

typedef struct part_rec {
    unsigned char md5[16];
    size_t size;
    char crc_b64[9];
    char etag[128];         /* as returned, quotes included */
} part_rec;

typedef struct ferry_s3_sink {
    ferry_writer base;
    ferry_s3_client *c;           /* owned */
    char *bucket;           /* owned */
    char *key;              /* owned */
    int replace;
    int64_t size_hint;      /* o->source_size: bytes the source holds, -1 unknown */
    int small;              /* size_hint known and at most one part: one PutObject, no preflight */
    size_t base_part;       /* part size of parts 1..1000 */
    int nslots;
    ferry_s3_slot *slots;         /* owned, nslots */
    ferry_s3_prod prod;           /* the plain sink's one producer */
    int parts_sent;         /* parts handed off (under mu) */
    checksum_kind checksum;
    int unsigned_payload;
    ferry_s3_put_attrs attrs;     /* owned: what PutObject / CreateMultipartUpload carry */
    /* uploader side (read by the producer only after the thread stopped) */
    char *upload_id;        /* owned; set between Create and Complete/Abort */
    int create_unanswered;  /* a Create attempt got no answer: it may have made an upload */
    int64_t create_since;   /* unix s, just before the first Create attempt */
    part_rec *parts;        /* owned; parts[n - 1] = part n */
    size_t parts_cap;
    int parts_max;          /* highest part number recorded */
    int parts_count;        /* parts recorded */
    int etags_plain;        /* every part ETag was the part's MD5 */
    ferry_s3_xfer ctl;            /* Create / Complete / Put / Abort / Head */
    /* shared, under mu */
    pthread_mutex_t mu;
    pthread_cond_t space;   /* a slot became free, or a failure */
    pthread_cond_t work;    /* a slot was sealed, or drain/stop */
    pthread_t thread;
    int thread_live;
    int draining;           /* commit: finish every part, then stop */
    int stop;               /* abort: stop now */
    ferry_status failed;    /* first failure; every later call returns it */
    ferry_error fail_err;
    int committed;
    int aborted;
    /* --resume (plain sink only) */
    char *resume_path;      /* owned; NULL = no resume */
    char *resume_tmp;       /* owned: resume_path + ".tmp-", the temp files' prefix */
    ferry_s3_resume_state resumed;/* owned: what the interrupted run stored (nparts 0: nothing) */
    int resume_discard;     /* the source changed: abort the upload and drop the state */
    int resume_warned;      /* a failed state write was reported */
    ferry_buf state_json;      /* uploader: reused for every state write */
    int parts_skipped;      /* parts found stored already */
} ferry_s3_sink;

/* ---- s3_uploader.c --------------------------------------------------------- */

ferry_status ferry_s3_sink_fail(ferry_s3_sink *s, ferry_status st, ferry_error *err);
ferry_status ferry_s3_sink_failed(ferry_s3_sink *s);
ferry_status ferry_s3_sink_repeat_failure(ferry_s3_sink *s, ferry_error *err);
ferry_status ferry_s3_sink_oom(ferry_s3_sink *s, ferry_error *err);
void ferry_s3_slot_set_state(ferry_s3_sink *s, ferry_s3_slot *sl, slot_state st);
int ferry_s3_plain_md5_etag(const char *etag, char hex[33]);
void ferry_s3_sink_target(const ferry_s3_sink *s, char *out, size_t cap);
ferry_status ferry_s3_slot_hash(ferry_s3_sink *s, ferry_s3_slot *sl, size_t step,
                                ferry_status (*between)(ferry_s3_sink *, ferry_error *), ferry_error *err);
void ferry_s3_checksum_header(const ferry_s3_sink *s, ferry_s3_req *r, const ferry_s3_slot *sl);
ferry_status ferry_s3_parts_record(ferry_s3_sink *s, const ferry_s3_slot *sl, const char *etag, ferry_error *err);
ferry_status ferry_s3_create_upload(ferry_s3_sink *s, ferry_error *err);
void ferry_s3_uploader_stop(ferry_s3_sink *s, int drain);
ferry_status ferry_s3_hand_off(ferry_s3_sink *s, ferry_s3_prod *p, ferry_error *err);
ferry_status ferry_s3_prod_write(ferry_s3_sink *s, ferry_s3_prod *p, const void *buf, size_t len,
                                 ferry_error *err);

/* ---- s3_sink.c ------------------------------------------------------------- */

ferry_status ferry_s3_put_single(ferry_s3_sink *s, ferry_s3_slot *sl, ferry_error *err);
ferry_status ferry_s3_complete_and_forget(ferry_s3_sink *s, char *etag, size_t etag_cap, char *want, size_t want_cap,
                                          ferry_error *err);
ferry_status ferry_s3_verify_committed(ferry_s3_sink *s, int64_t total, const char *etag, const char *want,
                                       ferry_error *err);
void ferry_s3_sink_abort(ferry_writer *w);
void ferry_s3_sink_free(ferry_writer *w);

/* ---- s3_sink_resume.c ------------------------------------------------------ */

void ferry_s3_sink_state_write(ferry_s3_sink *s);
ferry_status ferry_s3_sink_resume_check(ferry_s3_sink *s, ferry_s3_slot *sl, int *skipped, ferry_error *err);
ferry_status ferry_s3_sink_resume_open(ferry_s3_sink *s, const char *path, ferry_error *err);

#endif
