/*
 * hooks/s3/s3_xml.c - the XML of S3: expat parsers for error documents,
 * listings (ListObjectsV2, ListMultipartUploads), multipart and copy results,
 * DeleteObjects and ListBuckets answers; XML escaping for request bodies.
 *
 * One small streaming core (ferry_s3_xml) tracks the element path, e.g.
 * "ListBucketResult/Contents/Key", and hands each element's text to a
 * handler at its end tag.  Bodies that are truncated or not XML at all are
 * reported as FERRY_ERR_DATA, never crash, and keep what was seen before.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hooks/s3/s3_internal.h"

#define S3_XML_TEXT_MAX (64 * 1024)   /* longest element text kept */

/* ---- the streaming core ------------------------------------------------------ */

static void XMLCALL xml_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
    (void)atts;
    ferry_s3_xml *x = ud;
    const char *local = strrchr(name, ':');
    local = local ? local + 1 : name;
    size_t nlen = strlen(local);
    size_t plen = strlen(x->path);
    if (x->too_deep || x->depth >= (int)(sizeof x->marks / sizeof x->marks[0]) ||
        plen + nlen + 2 > sizeof x->path) {
        x->too_deep++;
        return;
    }
    x->marks[x->depth++] = plen;
    if (plen > 0)
        x->path[plen++] = '/';
    memcpy(x->path + plen, local, nlen + 1);
    ferry_buf_reset(&x->text);
}

static void XMLCALL xml_end(void *ud, const XML_Char *name)
{
    (void)name;
    ferry_s3_xml *x = ud;
    if (x->too_deep) {
        x->too_deep--;
        return;
    }
    if (x->depth == 0)
        return;
    if (x->status == FERRY_OK && x->on_end) {
        ferry_status st = x->on_end(x->ud, x->path, x->text.data ? x->text.data : "", x->text.len,
                                    x->err);
        if (st != FERRY_OK) {
            x->status = st;
            XML_StopParser(x->parser, XML_FALSE);
        }
    }
    x->path[x->marks[--x->depth]] = '\0';
    ferry_buf_reset(&x->text);
}

static void XMLCALL xml_chars(void *ud, const XML_Char *s, int len)
{
    ferry_s3_xml *x = ud;
    if (x->too_deep || len <= 0 || x->text.len + (size_t)len > S3_XML_TEXT_MAX)
        return;
    if (ferry_buf_append(&x->text, s, (size_t)len) != 0 && x->status == FERRY_OK) {
        x->status = ferry_error_oom(x->err, "s3", NULL, NULL);
        XML_StopParser(x->parser, XML_FALSE);
    }
}

static void xml_handlers(ferry_s3_xml *x)
{
    XML_SetUserData(x->parser, x);
    XML_SetElementHandler(x->parser, xml_start, xml_end);
    XML_SetCharacterDataHandler(x->parser, xml_chars);
    x->path[0] = '\0';
    x->depth = 0;
    x->too_deep = 0;
    x->status = FERRY_OK;
    ferry_buf_reset(&x->text);
}

ferry_status ferry_s3_xml_init(ferry_s3_xml *x, ferry_s3_xml_end_fn on_end, void *ud, ferry_error *err)
{
    memset(x, 0, sizeof *x);
    x->on_end = on_end;
    x->ud = ud;
    x->parser = XML_ParserCreate("UTF-8");
    if (!x->parser)
        return ferry_error_set(err, FERRY_ERR_INTERNAL, "s3: cannot create an XML parser");
    xml_handlers(x);
    return FERRY_OK;
}

ferry_status ferry_s3_xml_reset(ferry_s3_xml *x, ferry_error *err)
{
    if (!XML_ParserReset(x->parser, "UTF-8"))
        return ferry_error_set(err, FERRY_ERR_INTERNAL, "s3: cannot reset the XML parser");
    xml_handlers(x);
    return FERRY_OK;
}

ferry_status ferry_s3_xml_feed(ferry_s3_xml *x, const char *data, size_t len, int final, ferry_error *err)
{
    x->err = err;
    while (len > 0 || final) {
        int piece = len > (size_t)(1 << 30) ? 1 << 30 : (int)len;
        int last = final && (size_t)piece == len;
        enum XML_Status rc = XML_Parse(x->parser, data, piece, last);
        if (rc != XML_STATUS_OK) {
            if (x->status != FERRY_OK)
                return x->status;
            enum XML_Error code = XML_GetErrorCode(x->parser);
            x->status = ferry_error_set(err, FERRY_ERR_DATA, "malformed XML: %s at line %lu",
                                        XML_ErrorString(code),
                                        (unsigned long)XML_GetCurrentLineNumber(x->parser));
            return x->status;
        }
        data += piece;
        len -= (size_t)piece;
        if (last)
            break;
    }
    return x->status;
}

void ferry_s3_xml_release(ferry_s3_xml *x)
{
    if (x->parser)
        XML_ParserFree(x->parser);
    x->parser = NULL;
    ferry_buf_release(&x->text);
}

/* Whole-body parse with a handler; leading whitespace (keep-alive padding of
 * CompleteMultipartUpload) skipped.  Returns the feed status. */
static ferry_status parse_all(const char *body, size_t len, ferry_s3_xml_end_fn fn, void *ud,
                              ferry_error *err)
{
    while (len > 0 && (*body == ' ' || *body == '\n' || *body == '\r' || *body == '\t')) {
        body++;
        len--;
    }
    ferry_s3_xml x;
    ferry_status st = ferry_s3_xml_init(&x, fn, ud, err);
    if (st != FERRY_OK)
        return st;
    st = ferry_s3_xml_feed(&x, body ? body : "", len, 1, err);
    ferry_s3_xml_release(&x);
    return st;
}

static void copy_text(char *out, size_t cap, const char *text, size_t len)
{
    if (cap == 0)
        return;
    size_t n = len < cap - 1 ? len : cap - 1;
    memcpy(out, text, n);
    out[n] = '\0';
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

/* ---- error documents ---------------------------------------------------------------- */

static int error_element(ferry_s3_error_doc *doc, const char *path, const char *text, size_t len)
{
    if (strncmp(path, "Error/", 6) != 0)
        return 0;
    const char *leaf = path + 6;
    if (strcmp(leaf, "Code") == 0) {
        copy_text(doc->code, sizeof doc->code, text, len);
        doc->found = doc->code[0] != '\0';
    } else if (strcmp(leaf, "Message") == 0) {
        copy_text(doc->message, sizeof doc->message, text, len);
    } else if (strcmp(leaf, "RequestId") == 0) {
        copy_text(doc->request_id, sizeof doc->request_id, text, len);
    } else if (strcmp(leaf, "Endpoint") == 0) {
        copy_text(doc->endpoint, sizeof doc->endpoint, text, len);
    } else if (strcmp(leaf, "Region") == 0) {
        copy_text(doc->region, sizeof doc->region, text, len);
    }
    return 1;
}

static ferry_status on_error_end(void *ud, const char *path, const char *text, size_t len,
                                 ferry_error *err)
{
    (void)err;
    error_element(ud, path, text, len);
    return FERRY_OK;
}

int ferry_s3_xml_parse_error(const char *body, size_t len, ferry_s3_error_doc *doc)
{
    memset(doc, 0, sizeof *doc);
    if (!body || len == 0)
        return 0;
    ferry_error scratch;
    (void)parse_all(body, len, on_error_end, doc, &scratch);
    return doc->found;
}

/* ---- one element of a small answer ----------------------------------------------- */

typedef struct find_ctx {
    const char *suffix;
    char *out;
    size_t cap;
    int found;
    ferry_s3_error_doc *doc;
    ferry_s3_error_doc scratch;
} find_ctx;

static ferry_status on_find_end(void *ud, const char *path, const char *text, size_t len,
                                ferry_error *err)
{
    (void)err;
    find_ctx *f = ud;
    if (error_element(f->doc, path, text, len))
        return FERRY_OK;
    if (!f->found && ends_with(path, f->suffix)) {
        copy_text(f->out, f->cap, text, len);
        f->found = 1;
    }
    return FERRY_OK;
}

int ferry_s3_xml_find(const char *body, size_t len, const char *suffix, char *out, size_t cap,
                      ferry_s3_error_doc *doc)
{
    find_ctx f;
    memset(&f, 0, sizeof f);
    f.suffix = suffix;
    f.out = out;
    f.cap = cap;
    f.doc = doc ? doc : &f.scratch;
    memset(f.doc, 0, sizeof *f.doc);
    if (cap > 0)
        out[0] = '\0';
    ferry_error scratch;
    ferry_status st = parse_all(body, len, on_find_end, &f, &scratch);
    if (st != FERRY_OK)
        return -1;
    return f.found;
}

/* ---- listing pages ---------------------------------------------------------------------- */

static ferry_status page_oom(ferry_error *err)
{
    return ferry_error_oom(err, "s3", NULL, NULL);
}

static void page_cur_clear(ferry_s3_page *pg)
{
    memset(&pg->cur, 0, sizeof pg->cur);
    pg->cur.size = -1;
    pg->cur.mtime = -1;
    ferry_buf_reset(&pg->cur_name);
    ferry_buf_reset(&pg->cur_id);
}

static ferry_status page_push(ferry_s3_page *pg, int is_prefix, const char *name, size_t name_len,
                              ferry_error *err)
{
    ferry_s3_page_entry e = pg->cur;
    e.is_prefix = is_prefix;
    if (is_prefix) {
        e.size = -1;
        e.mtime = -1;
    }
    e.name_off = pg->names.len;
    e.name_len = name_len;
    if (ferry_buf_append(&pg->names, name, name_len) || ferry_buf_append(&pg->names, "", 1))
        return page_oom(err);
    e.id_off = 0;
    if (pg->cur_id.len > 0) {
        e.id_off = pg->names.len;
        if (ferry_buf_append(&pg->names, pg->cur_id.data, pg->cur_id.len) ||
            ferry_buf_append(&pg->names, "", 1))
            return page_oom(err);
    }
    if (ferry_buf_append(&pg->entries, &e, sizeof e))
        return page_oom(err);
    pg->n++;
    page_cur_clear(pg);
    return FERRY_OK;
}

static int64_t parse_int64(const char *text, size_t len)
{
    int64_t v = 0;
    size_t i = 0;
    while (i < len && (text[i] == ' ' || text[i] == '\n'))
        i++;
    if (i == len)
        return -1;
    for (; i < len && text[i] >= '0' && text[i] <= '9'; i++) {
        if (v > (INT64_MAX - (text[i] - '0')) / 10)
            return -1; /* too large: unknown, never signed overflow */
        v = v * 10 + (text[i] - '0');
    }
    return v;
}

static ferry_status page_set(ferry_buf *b, const char *text, size_t len, ferry_error *err)
{
    ferry_buf_reset(b);
    return ferry_buf_append(b, text, len) ? page_oom(err) : FERRY_OK;
}

static ferry_status on_page_end(void *ud, const char *path, const char *text, size_t len,
                                ferry_error *err)
{
    ferry_s3_page *pg = ud;
    const char *root = pg->uploads ? "ListMultipartUploadsResult/" : "ListBucketResult/";
    size_t rl = strlen(root);
    if (strncmp(path, root, rl) != 0)
        return FERRY_OK;
    const char *p = path + rl;
    char tmp[32];
    if (strcmp(p, "IsTruncated") == 0) {
        copy_text(tmp, sizeof tmp, text, len);
        pg->truncated = strcmp(tmp, "true") == 0;
    } else if (strcmp(p, "EncodingType") == 0) {
        copy_text(tmp, sizeof tmp, text, len);
        pg->url_encoded = strcmp(tmp, "url") == 0;
    } else if (!pg->uploads) {
        if (strcmp(p, "NextContinuationToken") == 0)
            return page_set(&pg->next_token, text, len, err);
        if (strcmp(p, "Contents/Key") == 0)
            return page_set(&pg->cur_name, text, len, err);
        if (strcmp(p, "Contents/Size") == 0)
            pg->cur.size = parse_int64(text, len);
        else if (strcmp(p, "Contents/LastModified") == 0) {
            copy_text(tmp, sizeof tmp, text, len);
            pg->cur.mtime = ferry_s3_parse_iso8601(tmp);
        } else if (strcmp(p, "Contents") == 0) {
            return page_push(pg, 0, pg->cur_name.data ? pg->cur_name.data : "", pg->cur_name.len,
                             err);
        } else if (strcmp(p, "CommonPrefixes/Prefix") == 0) {
            return page_push(pg, 1, text, len, err);
        }
    } else {
        if (strcmp(p, "NextKeyMarker") == 0)
            return page_set(&pg->next_token, text, len, err);
        if (strcmp(p, "NextUploadIdMarker") == 0)
            return page_set(&pg->next_upload_id, text, len, err);
        if (strcmp(p, "Upload/Key") == 0)
            return page_set(&pg->cur_name, text, len, err);
        if (strcmp(p, "Upload/UploadId") == 0)
            return page_set(&pg->cur_id, text, len, err);
        if (strcmp(p, "Upload/Initiated") == 0) {
            copy_text(tmp, sizeof tmp, text, len);
            pg->cur.mtime = ferry_s3_parse_iso8601(tmp);
        } else if (strcmp(p, "Upload") == 0) {
            return page_push(pg, 0, pg->cur_name.data ? pg->cur_name.data : "", pg->cur_name.len,
                             err);
        }
    }
    return FERRY_OK;
}

ferry_status ferry_s3_page_init(ferry_s3_page *pg, int uploads, ferry_error *err)
{
    memset(pg, 0, sizeof *pg);
    pg->uploads = uploads;
    page_cur_clear(pg);
    return ferry_s3_xml_init(&pg->xml, on_page_end, pg, err);
}

ferry_status ferry_s3_page_reset(ferry_s3_page *pg, ferry_error *err)
{
    ferry_buf_reset(&pg->names);
    ferry_buf_reset(&pg->entries);
    ferry_buf_reset(&pg->next_token);
    ferry_buf_reset(&pg->next_upload_id);
    pg->n = 0;
    pg->truncated = 0;
    pg->url_encoded = 0;
    page_cur_clear(pg);
    return ferry_s3_xml_reset(&pg->xml, err);
}

ferry_status ferry_s3_page_feed(ferry_s3_page *pg, const char *data, size_t len, int final, ferry_error *err)
{
    ferry_status st = ferry_s3_xml_feed(&pg->xml, data, len, final, err);
    if (st != FERRY_OK || !final || !pg->url_encoded)
        return st;
    /* EncodingType=url: keys, prefixes and markers come form-encoded (the way
     * botocore decodes them: unquote_plus) */
    ferry_s3_page_entry *es = (ferry_s3_page_entry *)pg->entries.data;
    for (size_t i = 0; i < pg->n; i++)
        es[i].name_len = ferry_s3_url_decode(pg->names.data + es[i].name_off, es[i].name_len, 1);
    if (pg->uploads && pg->next_token.len)
        pg->next_token.len = ferry_s3_url_decode(pg->next_token.data, pg->next_token.len, 1);
    return FERRY_OK;
}

const ferry_s3_page_entry *ferry_s3_page_entry_at(const ferry_s3_page *pg, size_t i)
{
    return &((const ferry_s3_page_entry *)pg->entries.data)[i];
}

const char *ferry_s3_page_name(ferry_s3_page *pg, size_t i)
{
    return pg->names.data + ferry_s3_page_entry_at(pg, i)->name_off;
}

const char *ferry_s3_page_upload_id(const ferry_s3_page *pg, size_t i)
{
    const ferry_s3_page_entry *e = ferry_s3_page_entry_at(pg, i);
    return e->id_off ? pg->names.data + e->id_off : "";
}

void ferry_s3_page_release(ferry_s3_page *pg)
{
    ferry_s3_xml_release(&pg->xml);
    ferry_buf_release(&pg->names);
    ferry_buf_release(&pg->entries);
    ferry_buf_release(&pg->next_token);
    ferry_buf_release(&pg->next_upload_id);
    ferry_buf_release(&pg->cur_name);
    ferry_buf_release(&pg->cur_id);
}

/* ---- DeleteObjects -------------------------------------------------------------------- */

typedef struct delete_ctx {
    ferry_s3_delete_result *r;
    char key[S3_MAX_KEY_LEN + 1];
    char code[64];
    char message[256];
} delete_ctx;

static ferry_status on_delete_end(void *ud, const char *path, const char *text, size_t len,
                                  ferry_error *err)
{
    (void)err;
    delete_ctx *d = ud;
    if (strcmp(path, "DeleteResult/Deleted") == 0) {
        d->r->deleted++;
    } else if (strcmp(path, "DeleteResult/Error/Key") == 0) {
        copy_text(d->key, sizeof d->key, text, len);
    } else if (strcmp(path, "DeleteResult/Error/Code") == 0) {
        copy_text(d->code, sizeof d->code, text, len);
    } else if (strcmp(path, "DeleteResult/Error/Message") == 0) {
        copy_text(d->message, sizeof d->message, text, len);
    } else if (strcmp(path, "DeleteResult/Error") == 0) {
        if (d->r->failed++ == 0) {
            memcpy(d->r->first_key, d->key, sizeof d->key);
            memcpy(d->r->first_code, d->code, sizeof d->code);
            memcpy(d->r->first_message, d->message, sizeof d->message);
        }
        d->key[0] = d->code[0] = d->message[0] = '\0';
    }
    return FERRY_OK;
}

int ferry_s3_xml_parse_delete(const char *body, size_t len, ferry_s3_delete_result *out)
{
    memset(out, 0, sizeof *out);
    delete_ctx d;
    memset(&d, 0, sizeof d);
    d.r = out;
    ferry_error scratch;
    return parse_all(body, len, on_delete_end, &d, &scratch) == FERRY_OK ? 0 : -1;
}

/* ---- ListBuckets ------------------------------------------------------------------------ */

typedef struct buckets_ctx {
    char *owner;
    size_t cap;
    char id[256];
    size_t n;
} buckets_ctx;

static ferry_status on_buckets_end(void *ud, const char *path, const char *text, size_t len,
                                   ferry_error *err)
{
    (void)err;
    buckets_ctx *b = ud;
    if (strcmp(path, "ListAllMyBucketsResult/Owner/DisplayName") == 0)
        copy_text(b->owner, b->cap, text, len);
    else if (strcmp(path, "ListAllMyBucketsResult/Owner/ID") == 0)
        copy_text(b->id, sizeof b->id, text, len);
    else if (strcmp(path, "ListAllMyBucketsResult/Buckets/Bucket") == 0)
        b->n++;
    return FERRY_OK;
}

int ferry_s3_xml_parse_buckets(const char *body, size_t len, char *owner, size_t cap, size_t *nbuckets)
{
    buckets_ctx b;
    memset(&b, 0, sizeof b);
    b.owner = owner;
    b.cap = cap;
    if (cap > 0)
        owner[0] = '\0';
    ferry_error scratch;
    ferry_status st = parse_all(body, len, on_buckets_end, &b, &scratch);
    if (cap > 0 && !owner[0])
        copy_text(owner, cap, b.id, strlen(b.id));
    if (nbuckets)
        *nbuckets = b.n;
    return st == FERRY_OK ? 0 : -1;
}

/* ---- escaping ---------------------------------------------------------------------------- */

int ferry_s3_xml_escape(ferry_buf *b, const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *rep = NULL;
        char num[8];
        switch (c) {
        case '&': rep = "&amp;"; break;
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '"': rep = "&quot;"; break;
        case '\'': rep = "&apos;"; break;
        case '\t':
        case '\n':
        case '\r':
            /* literal CR/LF/TAB would be normalised by the server's parser */
            snprintf(num, sizeof num, "&#%d;", c);
            rep = num;
            break;
        default:
            if (c < 0x20)
                return -1;
            break;
        }
        int rc = rep ? ferry_buf_appends(b, rep) : ferry_buf_append(b, &s[i], 1);
        if (rc != 0)
            return -1;
    }
    return 0;
}
