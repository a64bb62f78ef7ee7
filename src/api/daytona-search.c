/* Daytona toolbox content operations: GET /files/find (grep: which lines contain a string),
 * GET /files/search (which files match a glob) and POST /files/replace (literal replace in a
 * list of files).
 *
 * The walk lists directories through sandbox/fileops.c, so it sees exactly what the sandbox
 * user may see and never leaves the sandbox root. Like the Daytona daemon's walk it does not
 * follow symlinks, skips what it cannot read, and reports paths the way the client wrote its
 * starting directory (relative paths stay relative to the work dir). Bounded: at most
 * WALK_MAX_ENTRIES entries visited, FIND_MAX_MATCHES matches, and files larger than
 * CONTENT_MAX_BYTES are not read.
 *
 * Replace writes the new content to a temporary file beside the original, gives it the
 * original's mode and renames it over the original, so a failure (disk full) never leaves a
 * half-written file. */
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "api/daytona.h"
#include "base/cleanup.h"
#include "base/limits.h"
#include "base/path.h"
#include "sandbox/fileops.h"
#include "sandbox/image.h"

#define WALK_MAX_ENTRIES  200000
#define FIND_MAX_MATCHES  100000
#define CONTENT_MAX_BYTES (64u << 20)
#define GLOB_MAX_EXPANDED 64

struct walk {
    const struct fileops_root *root;
    size_t visited;
    /* called for each regular file: abs path and display path */
    int (*on_file)(struct walk *w, const char *abs, const char *shown, const char *rel);
    void *ud;
};

/* Path buffers of one directory level, on the heap: connection threads have small stacks. */
struct walk_names {
    char abs[COVE_MAX_PATH + NAME_MAX + 2];
    char shown[2 * COVE_MAX_PATH];
    char rel[COVE_MAX_PATH + NAME_MAX + 2];
};

/* Visit dir recursively. shown/rel: how the client sees dir, and dir relative to the start. */
static int walk_dir(struct walk *w, const char *dir, const char *shown, const char *rel,
                    unsigned depth)
{
    _cleanup_free_ struct fileops_entry *list = NULL;
    _cleanup_free_ struct walk_names *nm = NULL;
    struct cove_err err = {0};
    size_t n = 0;
    int r = 0;

    if (depth > 256 || fileops_list(w->root, dir, &list, &n, &err) < 0)
        return 0;
    nm = malloc(sizeof(*nm));
    if (!nm)
        return -ENOMEM;
    for (size_t i = 0; i < n && r == 0; i++) {
        if (++w->visited > WALK_MAX_ENTRIES)
            return -E2BIG;
        snprintf(nm->abs, sizeof(nm->abs), "%s/%s", strcmp(dir, "/") ? dir : "", list[i].name);
        snprintf(nm->shown, sizeof(nm->shown), "%s%s%s", shown,
                 shown[0] && strcmp(shown, "/") ? "/" : "", list[i].name);
        snprintf(nm->rel, sizeof(nm->rel), "%s%s%s", rel, rel[0] ? "/" : "", list[i].name);
        if (strlen(nm->abs) >= COVE_MAX_PATH)
            continue;
        if (list[i].type == FILEOPS_DIR)
            r = walk_dir(w, nm->abs, nm->shown, nm->rel, depth + 1);
        else if (list[i].type == FILEOPS_FILE)
            r = w->on_file(w, nm->abs, nm->shown, nm->rel);
    }
    return r;
}

/* How the client names path: relative to the work dir when it wrote a relative path. */
static void shown_path(const char *raw, const char *abs, char *out, size_t cap)
{
    size_t hl = strlen(SANDBOX_HOME);

    while (*raw == ' ')
        raw++;
    if (raw[0] == '/' || (strncmp(abs, SANDBOX_HOME, hl) || (abs[hl] && abs[hl] != '/')))
        snprintf(out, cap, "%s", abs);
    else
        snprintf(out, cap, "%s", abs[hl] ? abs + hl + 1 : "");
}

/* Start a walk at the query's path: a directory is walked, a file visited alone. */
static int walk_start(struct http_req *req, struct walk *w, struct sandbox **ret_sb,
                      struct fileops_root *root)
{
    struct cove_err err = {0};
    struct fileops_entry e;
    const char *raw = http_req_query(req, "path");
    char path[COVE_MAX_PATH], shown[COVE_MAX_PATH];

    if (dtn_path(req, "path", raw, path, sizeof(path)) < 0 || dtn_lookup(req, ret_sb) < 0)
        return -EINVAL;
    if (fileops_root_open(*ret_sb, root, &err) < 0 || fileops_stat(root, path, &e, &err) < 0)
        return dtn_reply_err(req, &err, true), -EBUSY;
    w->root = root;
    shown_path(raw, path, shown, sizeof(shown));
    if (e.type == FILEOPS_FILE)
        return w->on_file(w, path, shown[0] ? shown : e.name, e.name);
    if (e.type != FILEOPS_DIR)
        return 0;
    return walk_dir(w, path, shown, "", 0);
}

/* Read a whole regular file (at most CONTENT_MAX_BYTES) into *ret. */
static int read_all(const struct fileops_root *root, const char *path, char **ret, size_t *ret_len,
                    struct cove_err *err)
{
    _cleanup_close_ int fd = -EBADF;
    uint64_t size;
    size_t n = 0;
    char *data;

    if (fileops_open_read(root, path, &fd, &size, err) < 0)
        return err->code;
    if (size > CONTENT_MAX_BYTES)
        return cove_err_set(err, -EFBIG, "%s is larger than %u MiB", path, CONTENT_MAX_BYTES >> 20);
    data = malloc(size + 1);
    if (!data)
        return cove_err_set(err, -ENOMEM, "out of memory");
    while (n < size) {
        ssize_t k = read(fd, data + n, size - n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        n += (size_t)k;
    }
    data[n] = '\0';
    *ret = data;
    *ret_len = n;
    return 0;
}

/* ---- find ---- */

struct find_ctx {
    const char *pattern;
    size_t plen;
    json_t *matches;
};

static int find_file(struct walk *w, const char *abs, const char *shown, const char *rel)
{
    struct find_ctx *f = w->ud;
    struct cove_err err = {0};
    _cleanup_free_ char *data = NULL;
    size_t len, line = 1;

    if (read_all(w->root, abs, &data, &len, &err) < 0)
        return 0;
    /* Binary files (a NUL in the first 512 bytes) are skipped, like the daemon does. */
    if (memchr(data, 0, len < 512 ? len : 512))
        return 0;
    for (size_t p = 0; p < len; line++) {
        char *nl = memchr(data + p, '\n', len - p);
        size_t end = nl ? (size_t)(nl - data) : len, e = end;

        if (e > p && data[e - 1] == '\r')
            e--;
        if (memmem(data + p, e - p, f->pattern, f->plen)) {
            if (json_array_size(f->matches) >= FIND_MAX_MATCHES)
                return -E2BIG;
            json_array_append_new(f->matches, json_pack("{s:o, s:I, s:o}", "file",
                                                        json_string_lossy(shown, strlen(shown)),
                                                        "line", (json_int_t)line, "content",
                                                        json_string_lossy(data + p, e - p)));
        }
        p = end + 1;
    }
    return 0;
}

int dtn_fs_find(struct http_req *req)
{
    const char *pattern = http_req_query(req, "pattern");
    struct find_ctx f = {.pattern = pattern, .matches = json_array()};
    struct walk w = {.on_file = find_file, .ud = &f};
    struct fileops_root root = {.fd = -EBADF};
    struct sandbox *sb = NULL;
    int r;

    if (!pattern || !pattern[0]) {
        json_decref(f.matches);
        return dtn_reply_error(req, 400, "BAD_REQUEST", DTN_SOURCE_DAEMON,
                               "path and pattern are required");
    }
    f.plen = strlen(pattern);
    r = walk_start(req, &w, &sb, &root);
    if (!http_req_replied(req))
        http_reply_json(req, 200, json_incref(f.matches));
    (void)r; /* -E2BIG: the answer holds the first FIND_MAX_MATCHES matches */
    json_decref(f.matches);
    fileops_root_done(&root);
    sandbox_unref(sb);
    return 0;
}

/* ---- search ---- */

/* Expand the first {a,b,...} group of pat into out (recursively, at most 6 groups deep);
 * returns the count. */
static size_t brace_expand(const char *pat, char out[][COVE_MAX_PATH], size_t n, size_t max,
                           unsigned depth)
{
    const char *open = strchr(pat, '{'), *close = open ? strchr(open, '}') : NULL;
    char buf[COVE_MAX_PATH];

    if (!open || !close || depth > 6) {
        if (n < max)
            snprintf(out[n++], COVE_MAX_PATH, "%s", pat);
        return n;
    }
    for (const char *alt = open + 1; alt <= close && n < max;) {
        const char *end = alt + strcspn(alt, ",}");
        if (end > close)
            end = close;
        snprintf(buf, sizeof(buf), "%.*s%.*s%s", (int)(open - pat), pat, (int)(end - alt), alt,
                 close + 1);
        n = brace_expand(buf, out, n, max, depth + 1);
        alt = end + 1;
    }
    return n;
}

/* doublestar-style match of pat against a relative path: "**" spans any number of
 * segments, other segments match one segment by fnmatch(3). */
static bool glob_segments(const char *pat, const char *path)
{
    const char *ps = strchr(pat, '/'), *ss = strchr(path, '/');
    size_t pl = ps ? (size_t)(ps - pat) : strlen(pat);
    char seg[NAME_MAX + 1], name[NAME_MAX + 1];

    if (pl == 2 && !strncmp(pat, "**", 2)) {
        const char *rest = ps ? ps + 1 : "";
        if (!rest[0])
            return true;
        for (const char *p = path;; p = strchr(p, '/') + 1) {
            if (glob_segments(rest, p))
                return true;
            if (!strchr(p, '/'))
                return false;
        }
    }
    if (pl > NAME_MAX || (size_t)(ss ? ss - path : (long)strlen(path)) > NAME_MAX)
        return false;
    snprintf(seg, sizeof(seg), "%.*s", (int)pl, pat);
    snprintf(name, sizeof(name), "%.*s", (int)(ss ? ss - path : (long)strlen(path)), path);
    if (fnmatch(seg, name, 0) != 0)
        return false;
    if (!ps || !ss)
        return !ps && !ss;
    return glob_segments(ps + 1, ss + 1);
}

struct search_ctx {
    char (*pats)[COVE_MAX_PATH];
    size_t n;
    json_t *files;
};

static int search_file(struct walk *w, const char *abs, const char *shown, const char *rel)
{
    struct search_ctx *s = w->ud;
    const char *base = strrchr(rel, '/') ? strrchr(rel, '/') + 1 : rel;

    for (size_t i = 0; i < s->n; i++) {
        /* A pattern matches the path below the start directory or, if it has no '/', the
         * file name at any depth ("*.ts" finds every TypeScript file). */
        if (glob_segments(s->pats[i], rel) ||
            (!strchr(s->pats[i], '/') && fnmatch(s->pats[i], base, 0) == 0)) {
            if (json_array_size(s->files) >= FIND_MAX_MATCHES)
                return -E2BIG;
            json_array_append_new(s->files, json_string_lossy(shown, strlen(shown)));
            break;
        }
    }
    return 0;
}

int dtn_fs_search(struct http_req *req)
{
    const char *pattern = http_req_query(req, "pattern");
    _cleanup_free_ char(*pats)[COVE_MAX_PATH] = malloc(GLOB_MAX_EXPANDED * sizeof(*pats));
    struct search_ctx s = {.pats = pats, .files = json_array()};
    struct walk w = {.on_file = search_file, .ud = &s};
    struct fileops_root root = {.fd = -EBADF};
    struct sandbox *sb = NULL;

    if (!pats || !pattern || !pattern[0] || strlen(pattern) >= COVE_MAX_PATH) {
        json_decref(s.files);
        return dtn_reply_error(req, 400, "BAD_REQUEST", DTN_SOURCE_DAEMON,
                               "path and pattern are required");
    }
    s.n = brace_expand(pattern, pats, 0, GLOB_MAX_EXPANDED, 0);
    (void)walk_start(req, &w, &sb, &root);
    if (!http_req_replied(req))
        http_reply_json(req, 200, json_pack("{s:O}", "files", s.files));
    json_decref(s.files);
    fileops_root_done(&root);
    sandbox_unref(sb);
    return 0;
}

/* ---- replace ---- */

/* data with every occurrence of pat replaced by rep (malloc'd). */
static char *replace_all(const char *data, size_t len, const char *pat, size_t plen,
                         const char *rep, size_t rlen, size_t *ret_len)
{
    size_t count = 0, n = 0;
    const char *p = data, *hit;
    char *out;

    for (hit = memmem(p, len, pat, plen); hit;
         hit = memmem(hit + plen, len - (size_t)(hit + plen - data), pat, plen))
        count++;
    if (rlen > plen && count > (SIZE_MAX - len) / (rlen - plen))
        return NULL;
    out = malloc(len + count * rlen + 1);
    if (!out)
        return NULL;
    while ((hit = memmem(p, len - (size_t)(p - data), pat, plen))) {
        memcpy(out + n, p, (size_t)(hit - p));
        n += (size_t)(hit - p);
        memcpy(out + n, rep, rlen);
        n += rlen;
        p = hit + plen;
    }
    memcpy(out + n, p, len - (size_t)(p - data));
    n += len - (size_t)(p - data);
    out[n] = '\0';
    *ret_len = n;
    return out;
}

/* Replace in one file; fills err on failure. */
static int replace_file(const struct fileops_root *root, const char *path, const char *pat,
                        const char *rep, size_t rlen, struct cove_err *err)
{
    struct fileops_writer w = FILEOPS_WRITER_INIT;
    struct fileops_entry e;
    _cleanup_free_ char *data = NULL, *out = NULL;
    char tmp[COVE_MAX_PATH + 32];
    uint8_t rnd[6];
    size_t len, olen;
    int r;

    if ((r = fileops_stat(root, path, &e, err)) < 0 ||
        (r = read_all(root, path, &data, &len, err)) < 0)
        return r;
    out = replace_all(data, len, pat, strlen(pat), rep, rlen, &olen);
    if (!out)
        return cove_err_set(err, -ENOMEM, "out of memory");
    if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
        memset(rnd, 0, sizeof(rnd));
    snprintf(tmp, sizeof(tmp), "%s.cove-%02x%02x%02x%02x%02x%02x", path, rnd[0], rnd[1], rnd[2],
             rnd[3], rnd[4], rnd[5]);
    if (strlen(tmp) >= COVE_MAX_PATH || strlen(path_basename(tmp)) > NAME_MAX)
        return cove_err_set(err, -ENAMETOOLONG, "%s: name too long to rewrite safely", path);
    if ((r = fileops_create(root, tmp, (int)e.mode, &w, err)) < 0)
        return r;
    if ((r = fileops_write(&w, out, olen, err)) < 0) {
        fileops_writer_abort(&w);
        return r;
    }
    if ((r = fileops_writer_close(&w, err)) < 0 ||
        (r = fileops_move(root, tmp, path, true, err)) < 0) {
        struct cove_err ignored = {0};
        (void)fileops_delete(root, tmp, false, &ignored);
        return r;
    }
    return 0;
}

int dtn_fs_replace(struct http_req *req)
{
    struct fileops_root root = {.fd = -EBADF};
    struct cove_err err = {0};
    struct sandbox *sb = NULL;
    json_t *body = http_req_json(req), *files, *f, *results = NULL;
    const char *pat, *rep;
    size_t i;

    if (!body)
        return 0;
    files = json_object_get(body, "files");
    pat = json_string_value(json_object_get(body, "pattern"));
    rep = json_string_value(json_object_get(body, "newValue"));
    if (!json_is_array(files) || !pat || !pat[0] || !rep) {
        dtn_reply_error(req, 400, "BAD_REQUEST", DTN_SOURCE_DAEMON,
                        "files (array of paths), pattern (non-empty string) and newValue "
                        "(string) are required");
        goto out;
    }
    if (dtn_lookup(req, &sb) < 0)
        goto out;
    if (fileops_root_open(sb, &root, &err) < 0) {
        dtn_reply_err(req, &err, true);
        goto out;
    }
    results = json_array();
    json_array_foreach(files, i, f)
    {
        const char *raw = json_string_value(f);
        char path[COVE_MAX_PATH];
        struct cove_err e = {0};

        if (!raw || path_normalize(SANDBOX_HOME, raw, path, sizeof(path)) < 0 ||
            path_is_forbidden(path))
            cove_err_set(&e, -EINVAL, "invalid path");
        else
            (void)replace_file(&root, path, pat, rep,
                               json_string_length(json_object_get(body, "newValue")), &e);
        json_t *o = json_pack("{s:o, s:b}", "file",
                              json_string_lossy(raw ? raw : "", raw ? strlen(raw) : 0), "success",
                              e.code == 0);
        if (o && e.code)
            json_object_set_new(o, "error", json_string_lossy(e.msg, strlen(e.msg)));
        json_array_append_new(results, o);
    }
    http_reply_json(req, 200, TAKE_PTR(results));
out:
    json_decref(results);
    fileops_root_done(&root);
    sandbox_unref(sb);
    json_decref(body);
    return 0;
}
