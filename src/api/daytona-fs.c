/* Daytona toolbox file operations: list, info, folder, delete, move and permissions.
 *
 * Every filesystem access goes through sandbox/fileops.c (inside the sandbox root, as the
 * sandbox user). Paths are resolved against the work dir, which is the home directory.
 * FileInfo carries every field the Python SDK requires: name, isDir, size, mode (Go's
 * FileMode string, e.g. "-rw-r--r--"), permissions ("0644"), owner, group, modTime and
 * modifiedAt, plus the full path. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/daytona.h"
#include "base/cleanup.h"
#include "base/limits.h"
#include "base/parse.h"
#include "sandbox/fileops.h"
#include "sandbox/image.h"

#define DTN_MAX_DEPTH 64

struct fs_target {
    struct sandbox *sb;
    struct fileops_root root;
};

static void fs_target_done(struct fs_target *t)
{
    fileops_root_done(&t->root);
    if (t->sb)
        sandbox_unref(t->sb);
    t->sb = NULL;
}

/* Path from query key (dflt when absent, NULL: required), then sandbox and root. */
static int fs_open(struct http_req *req, const char *key, const char *dflt, char *path, size_t cap,
                   struct fs_target *t)
{
    struct cove_err err = {0};
    const char *v = http_req_query(req, key);

    t->root.fd = -EBADF;
    if (dtn_path(req, key, v ? v : dflt, path, cap) < 0 || dtn_lookup(req, &t->sb) < 0)
        return -EINVAL;
    if (fileops_root_open(t->sb, &t->root, &err) < 0)
        return dtn_reply_err(req, &err, true), -EBUSY;
    return 0;
}

/* Go's os.FileMode.String(): type and special-bit letters, then rwxrwxrwx. */
static void mode_string(const struct fileops_entry *e, char *out, size_t cap)
{
    static const char rwx[] = "rwxrwxrwx";
    size_t n = 0;

    if (e->type == FILEOPS_DIR)
        out[n++] = 'd';
    if (e->type == FILEOPS_SYMLINK)
        out[n++] = 'L';
    if (e->mode & 04000)
        out[n++] = 'u';
    if (e->mode & 02000)
        out[n++] = 'g';
    if (e->mode & 01000)
        out[n++] = 't';
    if (n == 0)
        out[n++] = '-';
    for (int i = 0; i < 9 && n + 1 < cap; i++)
        out[n++] = (e->mode & (0400u >> i)) ? rwx[i] : '-';
    out[n] = '\0';
}

static json_t *owner_name(uint32_t id)
{
    char b[16];

    if (id == 0)
        return json_string("root");
    if (id == SANDBOX_UID)
        return json_string(SANDBOX_USER);
    snprintf(b, sizeof(b), "%u", id);
    return json_string(b);
}

static json_t *fileinfo_json(const struct fileops_entry *e, const char *path)
{
    char mode[16], perm[8], mtime[40];

    mode_string(e, mode, sizeof(mode));
    snprintf(perm, sizeof(perm), "%04o", (unsigned)e->mode);
    api_iso_time(e->mtime_ms, mtime, sizeof(mtime));
    return json_pack("{s:o, s:o, s:b, s:I, s:s, s:s, s:o, s:o, s:s, s:s}", "name",
                     json_string_lossy(e->name, strlen(e->name)), "path",
                     json_string_lossy(path, strlen(path)), "isDir", e->type == FILEOPS_DIR, "size",
                     (json_int_t)e->size, "mode", mode, "permissions", perm, "owner",
                     owner_name(e->uid), "group", owner_name(e->gid), "modTime", mtime,
                     "modifiedAt", mtime);
}

/* Append the entries of dir (and, depth > 1, of its subdirectories) to arr. */
static int list_into(const struct fileops_root *root, const char *dir, unsigned depth, json_t *arr,
                     struct cove_err *err)
{
    _cleanup_free_ struct fileops_entry *list = NULL;
    char child[COVE_MAX_PATH + NAME_MAX + 2];
    size_t n = 0;
    int r;

    r = fileops_list(root, dir, &list, &n, err);
    if (r < 0)
        return r;
    for (size_t i = 0; i < n; i++) {
        snprintf(child, sizeof(child), "%s/%s", strcmp(dir, "/") ? dir : "", list[i].name);
        if (json_array_size(arr) >= FILEOPS_MAX_LIST)
            return cove_err_set(err, -E2BIG, "more than %d entries", FILEOPS_MAX_LIST);
        json_array_append_new(arr, fileinfo_json(&list[i], child));
        if (depth > 1 && list[i].type == FILEOPS_DIR && strlen(child) < COVE_MAX_PATH) {
            struct cove_err sub = {0};
            r = list_into(root, child, depth - 1, arr, &sub);
            if (r == -E2BIG)
                return cove_err_set(err, r, "%s", sub.msg);
            /* An unreadable subdirectory is skipped, like the daemon's walk does. */
        }
    }
    return 0;
}

int dtn_fs_list(struct http_req *req)
{
    _cleanup_(fs_target_done) struct fs_target t = {0};
    struct cove_err err = {0};
    const char *d = http_req_query(req, "depth");
    char path[COVE_MAX_PATH];
    uint32_t depth = 1;
    json_t *arr;

    if (d && parse_u32_range(d, 1, DTN_MAX_DEPTH, &depth) < 0)
        return dtn_reply_error(req, 400, "BAD_REQUEST", DTN_SOURCE_DAEMON,
                               "depth must be an integer 1-%d", DTN_MAX_DEPTH);
    if (fs_open(req, "path", ".", path, sizeof(path), &t) < 0)
        return 0;
    arr = json_array();
    if (!arr)
        return dtn_reply_error(req, 500, "INTERNAL_SERVER_ERROR", NULL, "out of memory");
    if (list_into(&t.root, path, depth, arr, &err) < 0) {
        json_decref(arr);
        return dtn_reply_err(req, &err, true);
    }
    return http_reply_json(req, 200, arr);
}

int dtn_fs_info(struct http_req *req)
{
    _cleanup_(fs_target_done) struct fs_target t = {0};
    struct cove_err err = {0};
    struct fileops_entry e;
    char path[COVE_MAX_PATH];

    if (fs_open(req, "path", NULL, path, sizeof(path), &t) < 0)
        return 0;
    if (fileops_stat(&t.root, path, &e, &err) < 0)
        return dtn_reply_err(req, &err, true);
    if (!strcmp(path, "/"))
        snprintf(e.name, sizeof(e.name), "/");
    return http_reply_json(req, 200, fileinfo_json(&e, path));
}

int dtn_fs_folder(struct http_req *req)
{
    _cleanup_(fs_target_done) struct fs_target t = {0};
    struct cove_err err = {0};
    const char *m = http_req_query(req, "mode");
    char path[COVE_MAX_PATH];
    uint32_t mode = 0755;

    if (m && m[0] && parse_mode(m, &mode) < 0)
        return dtn_reply_error(req, 400, "BAD_REQUEST", DTN_SOURCE_DAEMON,
                               "mode must be an octal mode such as 755");
    if (fs_open(req, "path", NULL, path, sizeof(path), &t) < 0)
        return 0;
    if (fileops_mkdir(&t.root, path, mode, true, &err) < 0)
        return dtn_reply_err(req, &err, true);
    /* mkdir -p leaves an existing directory's mode alone; an explicit mode is applied. */
    if (m && m[0] && fileops_chmod(&t.root, path, mode, &err) < 0)
        return dtn_reply_err(req, &err, true);
    return http_reply_empty(req, 201);
}

int dtn_fs_delete(struct http_req *req)
{
    _cleanup_(fs_target_done) struct fs_target t = {0};
    struct cove_err err = {0};
    const char *rec = http_req_query(req, "recursive");
    char path[COVE_MAX_PATH];
    bool recursive = false;

    if (rec && rec[0] && parse_bool(rec, &recursive) < 0)
        return dtn_reply_error(req, 400, "BAD_REQUEST", DTN_SOURCE_DAEMON,
                               "recursive must be true or false");
    if (fs_open(req, "path", NULL, path, sizeof(path), &t) < 0)
        return 0;
    if (fileops_delete(&t.root, path, recursive, &err) < 0) {
        if (err.code == -ENOTEMPTY)
            return dtn_reply_error(req, 409, "CONFLICT", DTN_SOURCE_DAEMON,
                                   "%s is a non-empty directory: delete it with recursive=true",
                                   path);
        return dtn_reply_err(req, &err, true);
    }
    return http_reply_empty(req, 204);
}

int dtn_fs_move(struct http_req *req)
{
    _cleanup_(fs_target_done) struct fs_target t = {0};
    struct cove_err err = {0};
    char from[COVE_MAX_PATH], to[COVE_MAX_PATH];

    if (dtn_path(req, "destination", http_req_query(req, "destination"), to, sizeof(to)) < 0 ||
        fs_open(req, "source", NULL, from, sizeof(from), &t) < 0)
        return 0;
    /* Like rename(2) and the Daytona daemon: an existing file at the destination goes. */
    if (fileops_move(&t.root, from, to, true, &err) < 0)
        return dtn_reply_err(req, &err, true);
    return http_reply_empty(req, 200);
}

/* Does who ("cove", "1000", "root", ...) name uid? */
static bool names_id(const char *who, uint32_t id)
{
    uint32_t n;

    if (!strcmp(who, SANDBOX_USER))
        return id == SANDBOX_UID;
    if (!strcmp(who, "root"))
        return id == 0;
    return parse_u32_range(who, 0, UINT32_MAX, &n) == 0 && n == id;
}

int dtn_fs_permissions(struct http_req *req)
{
    _cleanup_(fs_target_done) struct fs_target t = {0};
    struct cove_err err = {0};
    const char *m = http_req_query(req, "mode"), *owner = http_req_query(req, "owner"),
               *group = http_req_query(req, "group");
    struct fileops_entry e;
    char path[COVE_MAX_PATH];
    uint32_t mode;

    if (m && m[0] && parse_mode(m, &mode) < 0)
        return dtn_reply_error(req, 400, "BAD_REQUEST", DTN_SOURCE_DAEMON,
                               "mode must be an octal mode such as 644");
    if (fs_open(req, "path", NULL, path, sizeof(path), &t) < 0)
        return 0;
    if (fileops_stat(&t.root, path, &e, &err) < 0)
        return dtn_reply_err(req, &err, true);
    /* File operations act as the sandbox user, who cannot give files away: an owner or group
     * that is already the file's is fine, any other is refused. */
    if ((owner && owner[0] && !names_id(owner, e.uid)) ||
        (group && group[0] && !names_id(group, e.gid)))
        return dtn_reply_error(req, 403, "FILE_ACCESS_DENIED", DTN_SOURCE_DAEMON,
                               "%s: cove cannot change the owner or group of files (file "
                               "operations run as the sandbox user '%s')",
                               path, SANDBOX_USER);
    if (m && m[0] && fileops_chmod(&t.root, path, mode, &err) < 0)
        return dtn_reply_err(req, &err, true);
    return http_reply_empty(req, 200);
}
