/*
 * tests/fuzz/fuzz_s3_xml.c - the XML of the S3 hook (hooks/s3/s3_xml.c, with
 * the message helpers of s3_errmap.c / s3_util.c that show a body).
 *
 * Input: byte 0 picks the parser (% 7), byte 1 the chunking (low 2 bits:
 * whole / 1 byte / small / up to 4 KiB; the rest seeds the sizes), byte 2 a
 * size or choice the parser needs (an output capacity, an HTTP status, a
 * suffix); the rest is the response body, any bytes.
 *   0 error document: ferry_s3_xml_parse_error, ferry_s3_error_detail, ferry_s3_printable
 *   1 ferry_s3_xml_find (InitiateMultipartUpload / CompleteMultipartUpload /
 *     CopyObject answers) with a chosen suffix and output capacity
 *   2 ListObjectsV2 page, 3 ListMultipartUploads page: fed in chunks
 *   4 DeleteObjects answer, 5 ListBuckets answer
 *   6 ferry_s3_xml_escape, then the escaped text parsed back
 * Invariants: no crash / leak / UB on any body (truncated, not XML, huge
 * numbers); every fixed-size output is NUL-terminated inside its buffer; a
 * page parses to the same entries whatever the chunk sizes and after a
 * reset (a retried request); escaped text reads back exactly.
 */
#include "hooks/s3/s3_internal.h"
#include "fuzz_common.h"

static void check_terminated(const char *buf, size_t cap, const char *what)
{
    FUZZ_CHECK(memchr(buf, '\0', cap) != NULL, "%s is not NUL-terminated within %zu bytes", what,
               cap);
}

static void fuzz_error_doc(const char *body, size_t len, uint8_t arg)
{
    ferry_s3_error_doc doc;
    int found = ferry_s3_xml_parse_error(body, len, &doc);
    FUZZ_CHECK(found == doc.found, "return %d != doc.found %d", found, doc.found);
    check_terminated(doc.code, sizeof doc.code, "code");
    check_terminated(doc.message, sizeof doc.message, "message");
    check_terminated(doc.request_id, sizeof doc.request_id, "request_id");
    check_terminated(doc.endpoint, sizeof doc.endpoint, "endpoint");
    if (found)
        FUZZ_CHECK(doc.code[0] != '\0', "found without a code");
    static const long statuses[] = {200, 301, 307, 400, 403, 404, 409, 412, 500, 503, 599, 0};
    long http = statuses[arg % (sizeof statuses / sizeof statuses[0])];
    size_t cap = 1 + (size_t)(arg >> 2) * 8; /* 1 .. 505 */
    char *out = malloc(cap);
    if (!out)
        abort();
    ferry_s3_error_detail(http, body, len, (arg & 1) ? &doc : NULL, out, cap);
    check_terminated(out, cap, "ferry_s3_error_detail");
    free(out);
    int transient = 0;
    (void)ferry_s3_error_status(http, doc.code, &transient);
    size_t pcap = arg;
    char *shown = malloc(pcap ? pcap : 1);
    if (!shown)
        abort();
    ferry_s3_printable(body, len, shown, pcap);
    if (pcap)
        check_terminated(shown, pcap, "ferry_s3_printable");
    free(shown);
}

static void fuzz_find(const char *body, size_t len, uint8_t arg)
{
    static const char *const suffixes[] = {"/UploadId", "/ETag", "/Key", "/Bucket", "/Location",
                                           "/LastModified", "Error/Code", "/"};
    const char *suffix = suffixes[arg % 8];
    size_t cap = (size_t)(arg >> 3) * 9; /* 0 .. 279 */
    char *out = malloc(cap ? cap : 1);
    if (!out)
        abort();
    ferry_s3_error_doc doc;
    int rc = ferry_s3_xml_find(body, len, suffix, out, cap, (arg & 4) ? &doc : NULL);
    FUZZ_CHECK(rc >= -1 && rc <= 1, "ferry_s3_xml_find returned %d", rc);
    if (cap)
        check_terminated(out, cap, "ferry_s3_xml_find output");
    if (arg & 4) {
        check_terminated(doc.code, sizeof doc.code, "code");
        check_terminated(doc.message, sizeof doc.message, "message");
    }
    free(out);
}

/* ---- listing pages ------------------------------------------------------ */

typedef struct page_result {
    ferry_status st;
    size_t n;
    int truncated;
    char *dump;   /* every entry and marker, for comparing two parses */
    size_t dump_len;
} page_result;

static void dump_add(page_result *r, const void *p, size_t n)
{
    char *grown = realloc(r->dump, r->dump_len + n + 1);
    if (!grown)
        abort();
    r->dump = grown;
    memcpy(r->dump + r->dump_len, p, n);
    r->dump_len += n;
}

static void page_collect(ferry_s3_page *pg, page_result *r)
{
    r->n = pg->n;
    r->truncated = pg->truncated;
    FUZZ_CHECK(pg->entries.len == pg->n * sizeof(ferry_s3_page_entry), "entries %zu for n %zu",
               pg->entries.len, pg->n);
    for (size_t i = 0; i < pg->n; i++) {
        const ferry_s3_page_entry *e = ferry_s3_page_entry_at(pg, i);
        FUZZ_CHECK(e->name_off + e->name_len < pg->names.len,
                   "entry %zu name [%zu,+%zu) outside the arena (%zu)", i, e->name_off,
                   e->name_len, pg->names.len);
        const char *name = ferry_s3_page_name(pg, i);
        FUZZ_CHECK(name[e->name_len] == '\0', "entry %zu name not terminated", i);
        const char *id = ferry_s3_page_upload_id(pg, i);
        if (e->id_off)
            FUZZ_CHECK(e->id_off < pg->names.len, "entry %zu upload id outside the arena", i);
        int64_t fields[4] = {e->size, e->mtime, e->is_prefix, (int64_t)e->name_len};
        dump_add(r, fields, sizeof fields);
        dump_add(r, name, e->name_len + 1);
        dump_add(r, id, strlen(id) + 1);
    }
    dump_add(r, pg->next_token.data ? pg->next_token.data : "", pg->next_token.len);
    dump_add(r, "|", 1);
    dump_add(r, pg->next_upload_id.data ? pg->next_upload_id.data : "", pg->next_upload_id.len);
}

static void page_parse(ferry_s3_page *pg, const char *body, size_t len, unsigned mode, fz_rng *rng,
                       page_result *r)
{
    ferry_error err;
    ferry_error_clear(&err);
    ferry_status st = FERRY_OK;
    size_t off = 0;
    while (st == FERRY_OK && off < len) {
        size_t n = fz_chunk(rng, mode, len - off);
        st = ferry_s3_page_feed(pg, body + off, n, 0, &err);
        off += n;
    }
    if (st == FERRY_OK)
        st = ferry_s3_page_feed(pg, "", 0, 1, &err);
    r->st = st;
    if (st != FERRY_OK) {
        FUZZ_CHECK(err.msg[0] != '\0', "page feed failed without a message");
        return;
    }
    page_collect(pg, r);
}

static void fuzz_page(const char *body, size_t len, int uploads, uint8_t chunking)
{
    ferry_error err;
    ferry_s3_page pg;
    if (ferry_s3_page_init(&pg, uploads, &err) != FERRY_OK)
        abort();
    fz_rng rng;
    fz_rng_seed(&rng, chunking);
    page_result a = {0}, b = {0};
    page_parse(&pg, body, len, chunking & 3, &rng, &a);
    /* a retried page: reset, then the whole body at once */
    if (ferry_s3_page_reset(&pg, &err) != FERRY_OK)
        abort();
    page_parse(&pg, body, len, 0, &rng, &b);
    FUZZ_CHECK((a.st == FERRY_OK) == (b.st == FERRY_OK), "chunked status %d, whole status %d",
               a.st, b.st);
    if (a.st == FERRY_OK) {
        FUZZ_CHECK(a.n == b.n && a.truncated == b.truncated, "n %zu/%zu truncated %d/%d", a.n,
                   b.n, a.truncated, b.truncated);
        FUZZ_CHECK(a.dump_len == b.dump_len && memcmp(a.dump, b.dump, a.dump_len) == 0,
                   "entries differ between chunked and whole parses");
    }
    free(a.dump);
    free(b.dump);
    ferry_s3_page_release(&pg);
}

static void fuzz_delete(const char *body, size_t len)
{
    ferry_s3_delete_result r;
    int rc = ferry_s3_xml_parse_delete(body, len, &r);
    FUZZ_CHECK(rc == 0 || rc == -1, "rc %d", rc);
    check_terminated(r.first_key, sizeof r.first_key, "first_key");
    check_terminated(r.first_code, sizeof r.first_code, "first_code");
    check_terminated(r.first_message, sizeof r.first_message, "first_message");
}

static void fuzz_buckets(const char *body, size_t len, uint8_t arg)
{
    size_t cap = arg;
    char *owner = malloc(cap ? cap : 1);
    if (!owner)
        abort();
    size_t n = 0;
    int rc = ferry_s3_xml_parse_buckets(body, len, owner, cap, (arg & 1) ? &n : NULL);
    FUZZ_CHECK(rc == 0 || rc == -1, "rc %d", rc);
    if (cap)
        check_terminated(owner, cap, "owner");
    free(owner);
}

/* ---- escaping ------------------------------------------------------------- */

/* Valid UTF-8 holding only characters XML 1.0 allows (tab, CR, LF and
 * U+0020 up, no surrogates, no U+FFFE / U+FFFF). */
static int xml_chars_ok(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned c = s[i], cp, len;
        if (c < 0x80) {
            if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
                return 0;
            i++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF)
            len = 2, cp = c & 0x1F;
        else if (c >= 0xE0 && c <= 0xEF)
            len = 3, cp = c & 0x0F;
        else if (c >= 0xF0 && c <= 0xF4)
            len = 4, cp = c & 0x07;
        else
            return 0;
        if (i + len > n)
            return 0;
        for (unsigned k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return 0;
            cp = cp << 6 | (s[i + k] & 0x3F);
        }
        if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
            (cp >= 0xD800 && cp <= 0xDFFF) || cp == 0xFFFE || cp == 0xFFFF)
            return 0;
        i += len;
    }
    return 1;
}

static void fuzz_escape(const char *s, size_t len)
{
    if (len > 4096)
        len = 4096;
    ferry_buf b = {0};
    ferry_buf_appends(&b, "<r><a>");
    int rc = ferry_s3_xml_escape(&b, s, len);
    int has_control = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
            has_control = 1;
    }
    FUZZ_CHECK((rc == -1) == has_control, "ferry_s3_xml_escape returned %d (control characters: %d)",
               rc, has_control);
    if (rc == 0 && xml_chars_ok((const unsigned char *)s, len)) {
        ferry_buf_appends(&b, "</a></r>");
        char *out = malloc(len + 2);
        if (!out)
            abort();
        int found = ferry_s3_xml_find(b.data, b.len, "/a", out, len + 2, NULL);
        FUZZ_CHECK(found == 1, "escaped text does not parse back (%d): %s", found, b.data);
        FUZZ_CHECK(strlen(out) == len && memcmp(out, s, len) == 0,
                   "escaped text reads back differently");
        free(out);
    }
    ferry_buf_release(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    uint8_t op = data[0] % 7, chunking = data[1], arg = data[2];
    size_t len = size - 3;
    /* an exact copy, so that reads past the body are caught */
    char *body = malloc(len ? len : 1);
    if (!body)
        abort();
    if (len)
        memcpy(body, data + 3, len);
    switch (op) {
    case 0: fuzz_error_doc(body, len, arg); break;
    case 1: fuzz_find(body, len, arg); break;
    case 2: fuzz_page(body, len, 0, chunking); break;
    case 3: fuzz_page(body, len, 1, chunking); break;
    case 4: fuzz_delete(body, len); break;
    case 5: fuzz_buckets(body, len, arg); break;
    default: fuzz_escape(body, len); break;
    }
    free(body);
    return 0;
}
