/* Daytona toolbox file transfer: POST /files/bulk-upload, POST /files/bulk-download, and the
 * single-file POST /files/upload?path= (also upload-v2) and GET /files/download?path=.
 *
 * Upload (multipart/form-data, chunked or not): each file i comes as a part "files[i].path"
 * holding its destination, then a part "files[i].file" holding its bytes. Parts are matched
 * by index, never by filename (whose encoding of non-ASCII differs between clients). Python
 * sends every .path part first; TypeScript interleaves them; both work because paths are
 * kept in a map until their file part arrives. Bytes are streamed to disk as they arrive. A
 * file that fails (bad path, disk full) is recorded and its bytes skipped; the answer is 200
 * {files} when all went well, else 400 {message, errors, files}.
 *
 * Download answers multipart/form-data with one part per requested path, in request order,
 * streamed file by file: name="file" with the file's bytes, or name="error" with a JSON
 * error body. Each part's filename is the path exactly as requested. Non-ASCII paths get
 * filename*=utf-8''<pct> (busboy and old python-multipart read it) and a plain filename
 * holding the path's UTF-8 bytes re-encoded as if they were Latin-1 (what newer
 * python-multipart decodes back to the path). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "api/daytona.h"
#include "base/buf.h"
#include "base/cleanup.h"
#include "base/limits.h"
#include "base/path.h"
#include "sandbox/fileops.h"
#include "sandbox/image.h"

#define DTN_MAX_BULK_FILES 100000

/* A sandbox with its opened root, held for one request (or one streamed reply). */
struct target {
    struct sandbox *sb;
    struct fileops_root root;
    bool busy;
};

static void target_done(struct target *t)
{
    fileops_root_done(&t->root);
    if (t->sb) {
        if (t->busy)
            sandbox_busy(t->sb, -1);
        sandbox_touch(t->sb);
        sandbox_unref(t->sb);
    }
    t->sb = NULL;
    t->busy = false;
}

/* Look {id} up and open its root; replies on failure. */
static int target_open(struct http_req *req, struct target *t)
{
    struct cove_err err = {0};

    t->root.fd = -EBADF;
    if (dtn_lookup(req, &t->sb) < 0)
        return -ENOENT;
    if (fileops_root_open(t->sb, &t->root, &err) < 0)
        return dtn_reply_err(req, &err, true), -EBUSY;
    sandbox_busy(t->sb, 1);
    t->busy = true;
    return 0;
}

/* ---- upload ---- */

struct upload {
    struct target t;
    json_t *paths;              /* "i" -> destination, from the .path parts */
    struct buf field;           /* value of the .path part being read */
    char field_idx[24];         /* its index, "" when none */
    char single[COVE_MAX_PATH]; /* /files/upload?path=: destination of part "file" */
    char cur_idx[24];           /* index of the file being written */
    char path[COVE_MAX_PATH];
    struct fileops_writer w;
    bool writing;
    bool skipping; /* the current file failed: drop its bytes */
    json_t *files, *errors;
};

static void upload_free(void *p)
{
    struct upload *u = p;

    if (!u)
        return;
    if (u->writing) /* cut off mid-file */
        fileops_writer_abort(&u->w);
    target_done(&u->t);
    buf_free(&u->field);
    json_decref(u->paths);
    json_decref(u->files);
    json_decref(u->errors);
    free(u);
}

static void upload_error(struct upload *u, const char *path, const char *msg)
{
    char line[COVE_MAX_PATH + COVE_ERR_MSG_MAX + 8];

    snprintf(line, sizeof(line), "%s: %s", path, msg);
    json_array_append_new(u->errors, json_string_lossy(line, strlen(line)));
}

/* Close the file being written and record it. */
static void upload_finish(struct upload *u)
{
    struct cove_err err = {0};
    uint64_t size = u->w.size;

    if (!u->writing)
        return;
    u->writing = false;
    if (fileops_writer_close(&u->w, &err) < 0)
        upload_error(u, u->path, err.msg);
    else
        json_array_append_new(u->files, json_pack("{s:o, s:I}", "path",
                                                  json_string_lossy(u->path, strlen(u->path)),
                                                  "bytes", (json_int_t)size));
}

/* The collected .path value goes into the map. */
static void upload_commit_field(struct upload *u)
{
    if (!u->field_idx[0])
        return;
    if (json_object_size(u->paths) < DTN_MAX_BULK_FILES)
        json_object_set_new(u->paths, u->field_idx,
                            json_stringn_nocheck(u->field.data ? u->field.data : "", u->field.len));
    u->field_idx[0] = '\0';
    buf_reset(&u->field);
}

/* "files[12].path" -> idx "12", kind "path". Returns false for other names. */
static bool parse_field(const char *field, char *idx, size_t cap, const char **kind)
{
    const char *p = field + 6, *close;

    if (strncmp(field, "files[", 6) || !(close = strchr(p, ']')) || close == p ||
        (size_t)(close - p) >= cap || close[1] != '.')
        return false;
    for (const char *q = p; q < close; q++)
        if (*q < '0' || *q > '9')
            return false;
    memcpy(idx, p, (size_t)(close - p));
    idx[close - p] = '\0';
    *kind = close + 2;
    return true;
}

/* A file part begins: open its destination. */
static void upload_begin_file(struct upload *u, const char *idx, const char *dest_raw)
{
    struct cove_err err = {0};
    char dest[COVE_MAX_PATH];
    int r;

    /* The parser may restart a part it has not delivered bytes of yet. */
    if (u->writing && !strcmp(idx, u->cur_idx) && u->w.size == 0)
        return;
    upload_finish(u);
    u->skipping = true;
    snprintf(u->cur_idx, sizeof(u->cur_idx), "%s", idx);
    if (!dest_raw || !dest_raw[0]) {
        upload_error(u, idx, "no destination path (files[i].path) for this file");
        return;
    }
    while (*dest_raw == ' ' || *dest_raw == '\t')
        dest_raw++;
    snprintf(u->path, sizeof(u->path), "%s", dest_raw);
    for (size_t n = strlen(u->path); n > 0 && (u->path[n - 1] == ' ' || u->path[n - 1] == '\t');)
        u->path[--n] = '\0';
    r = path_normalize(SANDBOX_HOME, u->path, dest, sizeof(dest));
    if (r < 0 || path_is_forbidden(dest)) {
        upload_error(u, u->path, "not a valid path");
        return;
    }
    snprintf(u->path, sizeof(u->path), "%s", dest);
    if (fileops_create(&u->t.root, u->path, FILEOPS_MODE_KEEP, &u->w, &err) < 0) {
        upload_error(u, u->path, err.msg);
        return;
    }
    u->writing = true;
    u->skipping = false;
}

static int upload_new(struct http_req *req, struct upload **ret)
{
    struct upload *u = calloc(1, sizeof(*u));

    if (!u)
        return dtn_reply_error(req, 500, "INTERNAL_SERVER_ERROR", NULL, "out of memory"), -ENOMEM;
    u->t.root.fd = -EBADF;
    u->w = (struct fileops_writer)FILEOPS_WRITER_INIT;
    buf_init(&u->field, COVE_MAX_PATH);
    http_req_set_ctx(req, u, upload_free);
    u->paths = json_object();
    u->files = json_array();
    u->errors = json_array();
    if (!u->paths || !u->files || !u->errors)
        return dtn_reply_error(req, 500, "INTERNAL_SERVER_ERROR", NULL, "out of memory"), -ENOMEM;
    *ret = u;
    return target_open(req, &u->t);
}

int dtn_bulk_upload_prepare(struct http_req *req)
{
    const char *single = http_req_query(req, "path");
    struct upload *u;
    int r;

    if ((r = upload_new(req, &u)) < 0)
        return r;
    if (single)
        snprintf(u->single, sizeof(u->single), "%s", single);
    return 0;
}

int dtn_bulk_upload_part(struct http_req *req, const char *field, const char *filename,
                         const char *content_type, const char *data, uint64_t off, size_t size)
{
    struct upload *u = http_req_ctx(req);
    struct cove_err err = {0};
    char idx[24];
    const char *kind = "";

    if (!u || !u->t.sb)
        return -EIO;
    if (off == 0) {
        upload_commit_field(u);
        if (parse_field(field, idx, sizeof(idx), &kind) && !strcmp(kind, "path")) {
            snprintf(u->field_idx, sizeof(u->field_idx), "%s", idx);
        } else if (parse_field(field, idx, sizeof(idx), &kind) && !strcmp(kind, "file")) {
            const char *dest = json_string_value(json_object_get(u->paths, idx));
            upload_begin_file(u, idx, dest ? dest : filename);
        } else if (!strcmp(field, "file") && u->single[0]) {
            upload_begin_file(u, "0", u->single);
        } else {
            upload_finish(u); /* some other field: ignored */
            u->skipping = true;
        }
    }
    if (size == 0)
        return 0;
    if (u->field_idx[0]) {
        if (buf_append(&u->field, data, size) < 0) {
            upload_error(u, u->field_idx, "destination path too long");
            u->field_idx[0] = '\0';
        }
        return 0;
    }
    if (!u->writing || u->skipping)
        return 0;
    if (fileops_write(&u->w, data, size, &err) < 0) {
        fileops_writer_abort(&u->w);
        u->writing = false;
        u->skipping = true;
        upload_error(u, u->path, err.msg);
    }
    return 0;
}

int dtn_bulk_upload(struct http_req *req)
{
    struct upload *u = http_req_ctx(req);
    size_t n;

    if (http_req_replied(req))
        return 0;
    if (!u || !u->t.sb)
        return dtn_reply_error(req, 500, "INTERNAL_SERVER_ERROR", NULL, "upload state missing");
    upload_commit_field(u);
    upload_finish(u);
    target_done(&u->t);
    n = json_array_size(u->errors);
    if (n == 0)
        return http_reply_json(req, 200, json_pack("{s:O}", "files", u->files));
    json_t *first = json_array_get(u->errors, 0);
    json_t *body =
        dtn_error_body(req, 400, "BAD_REQUEST", DTN_SOURCE_DAEMON, json_string_value(first));
    if (body) {
        json_object_set(body, "errors", u->errors);
        json_object_set(body, "files", u->files);
    }
    return http_reply_json(req, 400, body);
}

/* ---- download ---- */

struct download {
    struct target t;
    json_t *paths; /* the requested strings */
    size_t next;   /* index of the next path to start */
    char boundary[40];
    struct buf pending; /* bytes to send before anything else */
    size_t pending_off;
    int fd;        /* file being sent, or -1 */
    uint64_t left; /* bytes of it still to send */
    bool closed;   /* closing delimiter queued */
    char timestamp[40];
};

static void download_free(void *p)
{
    struct download *d = p;

    if (!d)
        return;
    if (d->fd >= 0)
        close(d->fd);
    target_done(&d->t);
    buf_free(&d->pending);
    json_decref(d->paths);
    free(d);
}

static const char *mime_of(const char *path)
{
    static const struct {
        const char *ext, *type;
    } types[] = {{".txt", "text/plain"},      {".json", "application/json"},
                 {".html", "text/html"},      {".py", "text/x-python"},
                 {".js", "text/javascript"},  {".png", "image/png"},
                 {".jpg", "image/jpeg"},      {".csv", "text/csv"},
                 {".pdf", "application/pdf"}, {".md", "text/markdown"}};
    const char *dot = strrchr(path, '.');

    for (size_t i = 0; dot && !strchr(dot, '/') && i < sizeof(types) / sizeof(types[0]); i++)
        if (!strcasecmp(dot, types[i].ext))
            return types[i].type;
    return "application/octet-stream";
}

/* Content-Disposition filename parameters for path (see the file comment). */
static void append_filename(struct buf *b, const char *path)
{
    bool plain = true;

    for (const unsigned char *p = (const unsigned char *)path; *p; p++)
        if (*p < 0x20 || *p >= 0x7f)
            plain = false;
    buf_append(b, "filename=\"", 10);
    for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
        if (*p == '"' || *p == '\\')
            buf_appendf(b, "\\%c", *p);
        else if (*p >= 0x80) /* byte as a Latin-1 character, in UTF-8 */
            buf_appendf(b, "%c%c", 0xc0 | (*p >> 6), 0x80 | (*p & 0x3f));
        else if (*p < 0x20 || *p == 0x7f)
            buf_append(b, "_", 1);
        else
            buf_append(b, p, 1);
    }
    buf_append(b, "\"", 1);
    if (plain)
        return;
    buf_append(b, "; filename*=utf-8''", 19);
    for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            strchr("-._~", *p))
            buf_append(b, p, 1);
        else
            buf_appendf(b, "%%%02X", *p);
    }
}

static void queue_error_part(struct download *d, const char *path, unsigned status,
                             const char *code, const char *msg)
{
    json_t *o =
        json_pack("{s:i, s:o, s:s, s:s, s:s, s:s, s:s}", "statusCode", (int)status, "message",
                  json_string_lossy(msg, strlen(msg)), "code", code, "timestamp", d->timestamp,
                  "path", "/files/bulk-download", "method", "POST", "source", DTN_SOURCE_DAEMON);
    char *body = o ? json_dumps(o, JSON_COMPACT) : NULL;

    buf_appendf(&d->pending, "--%s\r\nContent-Disposition: form-data; name=\"error\"; ",
                d->boundary);
    append_filename(&d->pending, path);
    buf_appendf(&d->pending, "\r\nContent-Type: application/json; charset=utf-8\r\n\r\n%s\r\n",
                body ? body : "{}");
    free(body);
    json_decref(o);
}

/* Start the next requested path: queue its part header (or whole error part). */
static void start_next(struct download *d)
{
    struct cove_err err = {0};
    const char *raw = json_string_value(json_array_get(d->paths, d->next++));
    const char *code;
    char path[COVE_MAX_PATH];
    uint64_t size;
    int fd;

    if (!raw || !raw[0]) {
        queue_error_part(d, raw ? raw : "", 400, "INVALID_FILE_PATH", "empty path");
        return;
    }
    if (path_normalize(SANDBOX_HOME, raw, path, sizeof(path)) < 0 || path_is_forbidden(path)) {
        queue_error_part(d, raw, 400, "INVALID_FILE_PATH", "not a valid path");
        return;
    }
    if (fileops_open_read(&d->t.root, path, &fd, &size, &err) < 0) {
        unsigned status = dtn_status_of(&err, true, &code);
        if (status >= 500)
            code = "FILE_READ_FAILED";
        queue_error_part(d, raw, status, code, err.msg);
        return;
    }
    d->fd = fd;
    d->left = size;
    buf_appendf(&d->pending, "--%s\r\nContent-Disposition: form-data; name=\"file\"; ",
                d->boundary);
    append_filename(&d->pending, raw);
    buf_appendf(&d->pending, "\r\nContent-Type: %s\r\nContent-Length: %llu\r\n\r\n", mime_of(path),
                (unsigned long long)size);
}

/* http_stream_fn: pending bytes first, then the current file, then the next part. */
static long download_read(void *ctx, uint64_t pos, char *out, size_t max)
{
    struct download *d = ctx;

    for (;;) {
        if (d->pending_off < d->pending.len) {
            size_t n = d->pending.len - d->pending_off;
            n = n < max ? n : max;
            memcpy(out, d->pending.data + d->pending_off, n);
            d->pending_off += n;
            return (long)n;
        }
        buf_reset(&d->pending);
        d->pending_off = 0;
        if (d->fd >= 0) {
            ssize_t n = d->left ? read(d->fd, out, d->left < max ? d->left : max) : 0;
            if (n > 0) {
                d->left -= (uint64_t)n;
                return (long)n;
            }
            if (n < 0 && errno == EINTR)
                continue;
            /* End of file (or a file that shrank, or a read error): end the part. */
            d->fd = safe_close(d->fd);
            buf_append(&d->pending, "\r\n", 2);
            continue;
        }
        if (d->next < json_array_size(d->paths)) {
            start_next(d);
            continue;
        }
        if (d->closed)
            return -1;
        d->closed = true;
        buf_appendf(&d->pending, "--%s--\r\n", d->boundary);
    }
}

int dtn_bulk_download(struct http_req *req)
{
    struct download *d;
    struct timespec now;
    uint8_t rnd[12];
    char ctype[80];
    json_t *body = http_req_json(req), *paths;
    size_t i;
    json_t *p;

    if (!body)
        return 0;
    paths = json_object_get(body, "paths");
    if (!json_is_array(paths) || json_array_size(paths) > DTN_MAX_BULK_FILES) {
        json_decref(body);
        return dtn_reply_error(req, 400, "BAD_REQUEST", DTN_SOURCE_DAEMON,
                               "paths must be an array of strings");
    }
    json_array_foreach(paths, i, p)
    {
        if (!json_is_string(p)) {
            json_decref(body);
            return dtn_reply_error(req, 400, "BAD_REQUEST", DTN_SOURCE_DAEMON,
                                   "paths must be an array of strings");
        }
    }
    d = calloc(1, sizeof(*d));
    if (!d) {
        json_decref(body);
        return dtn_reply_error(req, 500, "INTERNAL_SERVER_ERROR", NULL, "out of memory");
    }
    d->fd = -1;
    d->paths = json_incref(paths);
    json_decref(body);
    buf_init(&d->pending, 2 * COVE_MAX_PATH + 4096);
    if (target_open(req, &d->t) < 0) {
        download_free(d);
        return 0;
    }
    if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
        memset(rnd, 0x5a, sizeof(rnd));
    snprintf(d->boundary, sizeof(d->boundary), "COVE-");
    for (size_t k = 0; k < sizeof(rnd); k++)
        snprintf(d->boundary + 5 + 2 * k, 3, "%02x", rnd[k]);
    clock_gettime(CLOCK_REALTIME, &now);
    api_iso_time((int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000, d->timestamp,
                 sizeof(d->timestamp));
    snprintf(ctype, sizeof(ctype), "multipart/form-data; boundary=%s", d->boundary);
    return http_reply_stream(req, 200, ctype, download_read, d, download_free);
}

/* GET /files/download?path=: the raw bytes. */
int dtn_file_download(struct http_req *req)
{
    _cleanup_(target_done) struct target t = {.root.fd = -EBADF};
    struct cove_err err = {0};
    char path[COVE_MAX_PATH];
    uint64_t size;
    int fd;

    if (dtn_path(req, "path", http_req_query(req, "path"), path, sizeof(path)) < 0 ||
        target_open(req, &t) < 0)
        return 0;
    if (fileops_open_read(&t.root, path, &fd, &size, &err) < 0)
        return dtn_reply_err(req, &err, true);
    return http_reply_fd(req, 200, "application/octet-stream", fd, size);
}
