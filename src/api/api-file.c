/* /v1 file routes: content up- and download, multipart upload, list, stat, mkdir, delete and
 * move inside a running sandbox (docs/API.md, "Files").
 *
 * This file only turns requests into sandbox paths and replies; every filesystem access goes
 * through sandbox/fileops.c, which keeps it inside the sandbox root. Paths from clients are
 * normalised against the home directory here so replies name the path that was used.
 *
 * Uploads stream: the PUT and multipart routes open the destination in their prepare hook
 * (so a missing sandbox or a bad path is refused before the body is read) and write each chunk
 * as it arrives, keeping their state in the request context. A failure while writing (disk
 * full, above all) is remembered, the file is removed again (or truncated if it existed), and
 * the handler replies with it once the server has swallowed the rest of the body. If the
 * request ends without the handler (client gone), the context's destructor does the same. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "base/cleanup.h"
#include "base/limits.h"
#include "base/parse.h"
#include "base/path.h"
#include "sandbox/fileops.h"
#include "sandbox/image.h"

/* A sandbox and its opened root, held for the duration of one request. */
struct file_target {
    struct sandbox *sb;
    struct fileops_root root;
    bool busy; /* counted in sandbox_busy(): keeps auto-stop away during a long upload */
};
#define FILE_TARGET_INIT                                                                           \
    {                                                                                              \
        .root.fd = -EBADF                                                                          \
    }

static void file_target_done(struct file_target *t)
{
    fileops_root_done(&t->root);
    if (t->sb) {
        sandbox_touch(t->sb);
        if (t->busy)
            sandbox_busy(t->sb, -1);
        sandbox_unref(t->sb);
    }
    t->sb = NULL;
    t->busy = false;
}

/* Per-request state of a streamed PUT or a multipart upload. */
struct file_upload {
    struct file_target t;
    struct fileops_writer w;
    bool writing;             /* w holds an open file */
    int mode;                 /* PUT: mode for the file, or FILEOPS_MODE_KEEP */
    char dir[COVE_MAX_PATH];  /* upload: the directory parts go to */
    char path[COVE_MAX_PATH]; /* the file being written */
    json_t *files;            /* upload: [{path, size}] written so far */
    struct cove_err err;      /* first failure, replied by the handler */
};

static void file_upload_free(void *p)
{
    struct file_upload *u = p;

    if (!u)
        return;
    /* Still writing when the request ends: it was cut off, so the file is incomplete. */
    if (u->writing)
        fileops_writer_abort(&u->w);
    file_target_done(&u->t);
    json_decref(u->files);
    free(u);
}

/* ---- helpers ---- */

/* Look up {id} and open its root. Replies (404, 409 if not running, ...) on failure. */
static int open_target(struct http_req *req, struct file_target *t)
{
    struct cove_err err = {0};
    int r;

    if (api_lookup(req, &t->sb) < 0)
        return -ENOENT;
    sandbox_touch(t->sb);
    r = fileops_root_open(t->sb, &t->root, &err);
    if (r < 0) {
        api_reply_err(req, &err);
        return r;
    }
    return 0;
}

/* Normalise a client path against the home directory; replies 400 on failure. what names the
 * parameter in the message. */
static int client_path(struct http_req *req, const char *what, const char *in, char *out,
                       size_t cap)
{
    int r;

    if (!in)
        return http_reply_error(req, 400, "BAD_REQUEST", "missing '%s'", what), -EINVAL;
    r = path_normalize(SANDBOX_HOME, in, out, cap);
    if (r == -ENAMETOOLONG)
        return http_reply_error(req, 400, "INVALID_PATH", "'%s' is too long", what), r;
    if (r < 0)
        return http_reply_error(req, 400, "INVALID_PATH", "'%s' is not a valid path", what), r;
    /* fileops refuses these too; answering here gives the message before any lookup work. */
    if (path_is_forbidden(out))
        return http_reply_error(req, 400, "INVALID_PATH",
                                "%s: paths in /proc, /dev and /sys are not accessible", out),
               -EINVAL;
    return 0;
}

/* Query parameter as a path; dflt when absent (NULL: required). */
static int query_path(struct http_req *req, const char *name, const char *dflt, char *out,
                      size_t cap)
{
    const char *v = http_req_query(req, name);
    return client_path(req, name, v ? v : dflt, out, cap);
}

/* JSON string member as a path. */
static int json_path(struct http_req *req, json_t *body, const char *name, char *out, size_t cap)
{
    json_t *v = json_object_get(body, name);

    if (v && (!json_is_string(v) || memchr(json_string_value(v), 0, json_string_length(v))))
        return http_reply_error(req, 400, "BAD_REQUEST", "'%s' must be a string", name), -EINVAL;
    return client_path(req, name, v ? json_string_value(v) : NULL, out, cap);
}

static int json_bool(struct http_req *req, json_t *body, const char *name, bool dflt, bool *ret)
{
    json_t *v = json_object_get(body, name);

    if (v && !json_is_boolean(v))
        return http_reply_error(req, 400, "BAD_REQUEST", "'%s' must be true or false", name),
               -EINVAL;
    *ret = v ? json_is_true(v) : dflt;
    return 0;
}

static json_t *entry_json(const struct fileops_entry *e, const char *path)
{
    char mode[8], mtime[40];

    snprintf(mode, sizeof(mode), "%04o", (unsigned)e->mode);
    api_iso_time(e->mtime_ms, mtime, sizeof(mtime));
    /* Names are bytes; JSON wants UTF-8, so invalid sequences become U+FFFD. */
    return json_pack("{s:o, s:o, s:s, s:I, s:s, s:s, s:I, s:I}", "name",
                     json_string_lossy(e->name, strlen(e->name)), "path",
                     json_string_lossy(path, strlen(path)), "type", fileops_type_to_string(e->type),
                     "size", (json_int_t)e->size, "mode", mode, "mtime", mtime, "uid",
                     (json_int_t)e->uid, "gid", (json_int_t)e->gid);
}

static int reply_json(struct http_req *req, json_t *body)
{
    if (!body)
        return http_reply_error(req, 500, "INTERNAL_ERROR", "out of memory");
    return http_reply_json(req, 200, body);
}

/* Reply with the entry at path. */
static int reply_entry(struct http_req *req, struct file_target *t, const char *path)
{
    struct cove_err err = {0};
    struct fileops_entry e;

    if (fileops_stat(&t->root, path, &e, &err) < 0)
        return api_reply_err(req, &err);
    if (!strcmp(path, "/"))
        snprintf(e.name, sizeof(e.name), "/");
    return reply_json(req, entry_json(&e, path));
}

static json_t *file_json(const char *path, uint64_t size)
{
    return json_pack("{s:o, s:I}", "path", json_string_lossy(path, strlen(path)), "size",
                     (json_int_t)size);
}

/* ---- streamed PUT ---- */

static int upload_new(struct http_req *req, struct file_upload **ret)
{
    struct file_upload *u = calloc(1, sizeof(*u));

    if (!u)
        return http_reply_error(req, 500, "INTERNAL_ERROR", "out of memory"), -ENOMEM;
    u->t = (struct file_target)FILE_TARGET_INIT;
    u->w = (struct fileops_writer)FILEOPS_WRITER_INIT;
    u->mode = FILEOPS_MODE_KEEP;
    /* From here on the request owns u: every exit path frees it. */
    http_req_set_ctx(req, u, file_upload_free);
    *ret = u;
    return 0;
}

/* Write one piece of the current file; failures land in u->err and end the file. */
static int upload_write(struct file_upload *u, const char *data, size_t len)
{
    int r;

    if (len > COVE_MAX_UPLOAD_BYTES - u->w.size) {
        r = cove_err_set(&u->err, -EFBIG, "%s: a file may not exceed 4 GiB", u->path);
        goto fail;
    }
    r = fileops_write(&u->w, data, len, &u->err);
    if (r >= 0)
        return 0;
fail:
    /* Disk full ends here too: the partial file goes, so the sandbox gets its space back. */
    fileops_writer_abort(&u->w);
    u->writing = false;
    return r;
}

/* Close the current file; failures land in u->err. */
static int upload_close(struct file_upload *u)
{
    u->writing = false;
    return fileops_writer_close(&u->w, &u->err);
}

int api_file_put_prepare(struct http_req *req)
{
    struct file_upload *u;
    struct cove_err err = {0};
    const char *m = http_req_query(req, "mode");
    uint32_t mode;
    int r;

    if ((r = upload_new(req, &u)) < 0 || (r = open_target(req, &u->t)) < 0 ||
        (r = query_path(req, "path", NULL, u->path, sizeof(u->path))) < 0)
        return r;
    if (m) {
        if (parse_mode(m, &mode) < 0)
            return http_reply_error(req, 400, "BAD_REQUEST",
                                    "'mode' must be an octal mode such as 644"),
                   -EINVAL;
        u->mode = (int)mode;
    }
    r = fileops_create(&u->t.root, u->path, u->mode, &u->w, &err);
    if (r < 0)
        return api_reply_err(req, &err), r;
    u->writing = true;
    sandbox_busy(u->t.sb, 1);
    u->t.busy = true;
    return 0;
}

int api_file_put_chunk(struct http_req *req, const char *data, size_t len)
{
    struct file_upload *u = http_req_ctx(req);

    if (!u || !u->writing)
        return -EIO;
    return upload_write(u, data, len);
}

int api_file_put(struct http_req *req)
{
    struct file_upload *u = http_req_ctx(req);
    int r;

    if (http_req_replied(req))
        return 0;
    if (!u || !u->t.sb)
        return http_reply_error(req, 500, "INTERNAL_ERROR", "upload state missing");
    if (u->writing)
        (void)upload_close(u);
    if (u->err.code)
        r = api_reply_err(req, &u->err);
    else
        r = reply_json(req, file_json(u->path, u->w.size));
    file_target_done(&u->t);
    return r;
}

/* ---- multipart upload ---- */

int api_file_upload_prepare(struct http_req *req)
{
    struct file_upload *u;
    int r;

    if ((r = upload_new(req, &u)) < 0 || (r = open_target(req, &u->t)) < 0 ||
        (r = query_path(req, "dir", SANDBOX_HOME, u->dir, sizeof(u->dir))) < 0)
        return r;
    u->files = json_array();
    if (!u->files)
        return http_reply_error(req, 500, "INTERNAL_ERROR", "out of memory"), -ENOMEM;
    sandbox_busy(u->t.sb, 1);
    u->t.busy = true;
    return 0;
}

/* Record the finished current file in the reply list. */
static int upload_finish_part(struct file_upload *u)
{
    uint64_t size = u->w.size;

    if (upload_close(u) < 0)
        return u->err.code;
    if (json_array_append_new(u->files, file_json(u->path, size)) < 0)
        return cove_err_set(&u->err, -ENOMEM, "out of memory");
    return 0;
}

/* A new part named filename begins: open D/<filename>. The name may contain directories but
 * must stay below D after normalisation ("../x", "/etc/x" and "." are refused). */
static int upload_begin_part(struct file_upload *u, const char *filename)
{
    char path[COVE_MAX_PATH];
    int r;

    r = path_normalize(u->dir, filename, path, sizeof(path));
    if (r < 0 || !path_is_below(path, u->dir))
        return cove_err_setk(&u->err, -EINVAL, "INVALID_PATH",
                             "file name '%s' does not name a file below %s", filename, u->dir);
    if (u->writing) {
        /* The same file again with nothing written yet: the parser restarted the part. */
        if (!strcmp(path, u->path) && u->w.size == 0)
            return 0;
        if ((r = upload_finish_part(u)) < 0)
            return r;
    }
    snprintf(u->path, sizeof(u->path), "%s", path);
    r = fileops_create(&u->t.root, u->path, FILEOPS_MODE_KEEP, &u->w, &u->err);
    if (r < 0)
        return r;
    u->writing = true;
    return 0;
}

int api_file_upload_part(struct http_req *req, const char *field, const char *filename,
                         const char *content_type, const char *data, uint64_t off, size_t size)
{
    struct file_upload *u = http_req_ctx(req);
    int r;

    if (!u || !u->t.sb || u->err.code)
        return -EIO;
    if (off == 0) {
        if (!filename || !filename[0]) {
            /* A plain form field, not a file: close what came before and skip it. */
            if (u->writing && (r = upload_finish_part(u)) < 0)
                return r;
            return 0;
        }
        if ((r = upload_begin_part(u, filename)) < 0)
            return r;
    }
    if (!u->writing || size == 0)
        return 0;
    return upload_write(u, data, size);
}

int api_file_upload(struct http_req *req)
{
    struct file_upload *u = http_req_ctx(req);
    int r;

    if (http_req_replied(req))
        return 0;
    if (!u || !u->t.sb)
        return http_reply_error(req, 500, "INTERNAL_ERROR", "upload state missing");
    if (u->writing && !u->err.code)
        (void)upload_finish_part(u);
    if (u->err.code)
        r = api_reply_err(req, &u->err);
    else
        r = reply_json(req, json_pack("{s:O}", "files", u->files));
    file_target_done(&u->t);
    return r;
}

/* ---- the other routes ---- */

int api_file_get(struct http_req *req)
{
    _cleanup_(file_target_done) struct file_target t = FILE_TARGET_INIT;
    struct cove_err err = {0};
    char path[COVE_MAX_PATH];
    uint64_t size;
    int fd;

    if (open_target(req, &t) < 0 || query_path(req, "path", NULL, path, sizeof(path)) < 0)
        return 0;
    if (fileops_open_read(&t.root, path, &fd, &size, &err) < 0)
        return api_reply_err(req, &err);
    /* The reply owns fd now; a file that shrinks meanwhile ends the body early. */
    return http_reply_fd(req, 200, "application/octet-stream", fd, size);
}

int api_file_list(struct http_req *req)
{
    _cleanup_(file_target_done) struct file_target t = FILE_TARGET_INIT;
    _cleanup_free_ struct fileops_entry *list = NULL;
    struct cove_err err = {0};
    char path[COVE_MAX_PATH], child[COVE_MAX_PATH + NAME_MAX + 2];
    json_t *entries, *e;
    size_t n = 0;

    if (open_target(req, &t) < 0 || query_path(req, "path", SANDBOX_HOME, path, sizeof(path)) < 0)
        return 0;
    if (fileops_list(&t.root, path, &list, &n, &err) < 0)
        return api_reply_err(req, &err);
    entries = json_array();
    for (size_t i = 0; entries && i < n; i++) {
        snprintf(child, sizeof(child), "%s/%s", strcmp(path, "/") ? path : "", list[i].name);
        e = entry_json(&list[i], child);
        if (!e || json_array_append_new(entries, e) < 0) {
            json_decref(entries);
            entries = NULL;
        }
    }
    if (!entries)
        return reply_json(req, NULL);
    return reply_json(req, json_pack("{s:o, s:o}", "path", json_string_lossy(path, strlen(path)),
                                     "entries", entries));
}

int api_file_stat(struct http_req *req)
{
    _cleanup_(file_target_done) struct file_target t = FILE_TARGET_INIT;
    char path[COVE_MAX_PATH];

    if (open_target(req, &t) < 0 || query_path(req, "path", SANDBOX_HOME, path, sizeof(path)) < 0)
        return 0;
    return reply_entry(req, &t, path);
}

static const char *const mkdir_fields[] = {"path", "mode", "parents", NULL};

int api_file_mkdir(struct http_req *req)
{
    _cleanup_(file_target_done) struct file_target t = FILE_TARGET_INIT;
    struct cove_err err = {0};
    char path[COVE_MAX_PATH];
    json_t *body, *m;
    uint32_t mode = 0755;
    bool parents;
    int r = -EINVAL;

    body = http_req_json(req);
    if (!body)
        return 0;
    m = json_object_get(body, "mode");
    if (api_check_fields(req, body, mkdir_fields) < 0 ||
        json_path(req, body, "path", path, sizeof(path)) < 0 ||
        json_bool(req, body, "parents", true, &parents) < 0)
        goto out;
    if (m && (!json_is_string(m) || parse_mode(json_string_value(m), &mode) < 0)) {
        http_reply_error(req, 400, "BAD_REQUEST", "'mode' must be an octal string such as \"755\"");
        goto out;
    }
    if (open_target(req, &t) < 0)
        goto out;
    r = fileops_mkdir(&t.root, path, mode, parents, &err);
    r = r < 0 ? api_reply_err(req, &err) : reply_entry(req, &t, path);
out:
    json_decref(body);
    return http_req_replied(req) ? 0 : r;
}

int api_file_delete(struct http_req *req)
{
    _cleanup_(file_target_done) struct file_target t = FILE_TARGET_INIT;
    struct cove_err err = {0};
    const char *rec = http_req_query(req, "recursive");
    char path[COVE_MAX_PATH];
    bool recursive = false;

    if (open_target(req, &t) < 0 || query_path(req, "path", NULL, path, sizeof(path)) < 0)
        return 0;
    if (rec && parse_bool(rec, &recursive) < 0)
        return http_reply_error(req, 400, "BAD_REQUEST", "'recursive' must be true or false");
    if (fileops_delete(&t.root, path, recursive, &err) < 0)
        return api_reply_err(req, &err);
    return reply_json(
        req, json_pack("{s:o, s:b}", "path", json_string_lossy(path, strlen(path)), "deleted", 1));
}

static const char *const move_fields[] = {"from", "to", "overwrite", NULL};

int api_file_move(struct http_req *req)
{
    _cleanup_(file_target_done) struct file_target t = FILE_TARGET_INIT;
    struct cove_err err = {0};
    char from[COVE_MAX_PATH], to[COVE_MAX_PATH];
    json_t *body;
    bool overwrite;
    int r = -EINVAL;

    body = http_req_json(req);
    if (!body)
        return 0;
    if (api_check_fields(req, body, move_fields) < 0 ||
        json_path(req, body, "from", from, sizeof(from)) < 0 ||
        json_path(req, body, "to", to, sizeof(to)) < 0 ||
        json_bool(req, body, "overwrite", false, &overwrite) < 0 || open_target(req, &t) < 0)
        goto out;
    r = fileops_move(&t.root, from, to, overwrite, &err);
    r = r < 0 ? api_reply_err(req, &err) : reply_entry(req, &t, to);
out:
    json_decref(body);
    return http_req_replied(req) ? 0 : r;
}
