/* Host-side file operations inside a sandbox's root, for the file API.
 *
 * Invariant: no operation ever reaches a file outside the sandbox root, whatever the sandbox
 * has planted in its filesystem (symlinks to "/" or "../../..", swapped directories, its own
 * mounts). Every path is resolved by the kernel with openat2(RESOLVE_IN_ROOT |
 * RESOLVE_NO_MAGICLINKS) from an O_PATH fd on the root; the final component is then handled
 * relative to a resolved parent fd, so no path string is ever resolved twice.
 *
 * Every operation runs with the thread's filesystem ids switched to the sandbox user (see
 * fileops.c), so it can do exactly what that user could do inside the sandbox, and files it
 * creates belong to that user.
 *
 * Paths are sandbox paths: absolute ones are used as is, relative ones are refused (callers
 * resolve them against the home directory with path_normalize() first). Failures return
 * -errno and fill err with a message that names the sandbox path, never a host path, and with
 * the kind "FILE_NOT_FOUND", "INVALID_PATH", "FILE_EXISTS" or "INSUFFICIENT_STORAGE" where it
 * applies. */
#pragma once

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/err.h"

struct sandbox;

/* A sandbox root opened for file operations. */
struct fileops_root {
    int fd;             /* O_PATH on the root directory (owned) */
    uid_t uid;          /* host uid (= gid) of the sandbox user */
    uid_t shift;        /* host uid of uid 0 inside the sandbox */
    dev_t forbidden[3]; /* st_dev of the filesystems mounted at /proc, /dev, /sys */
    size_t n_forbidden;
};

enum fileops_type {
    FILEOPS_FILE,
    FILEOPS_DIR,
    FILEOPS_SYMLINK,
    FILEOPS_OTHER,
    _FILEOPS_TYPE_MAX,
    _FILEOPS_TYPE_INVALID = -22,
};
const char *fileops_type_to_string(enum fileops_type t);

/* What stat and list report. Owner ids are as the sandbox sees them (65534 if unmapped). */
struct fileops_entry {
    char name[NAME_MAX + 1];
    enum fileops_type type;
    uint64_t size;
    uint32_t mode; /* permission bits only (07777) */
    int64_t mtime_ms;
    uint32_t uid;
    uint32_t gid;
};

/* A file being written by fileops_create(). */
struct fileops_writer {
    int fd;    /* O_WRONLY on the file */
    int dirfd; /* O_PATH on its parent, to remove it again on abort */
    char name[NAME_MAX + 1];
    bool created; /* the file did not exist before */
    uid_t uid;    /* sandbox user, for abort */
    dev_t dev;    /* the inode written, so abort removes no other */
    ino_t ino;
    uint64_t size; /* bytes written so far */
};
#define FILEOPS_WRITER_INIT                                                                        \
    {                                                                                              \
        .fd = -EBADF, .dirfd = -EBADF                                                              \
    }

/* Leave the mode of an existing file alone (new files get 0644). */
#define FILEOPS_MODE_KEEP (-1)

/* Open the root of a running sandbox (-EBUSY "INVALID_STATE" if it is not running). */
int fileops_root_open(struct sandbox *sb, struct fileops_root *ret, struct cove_err *err);
/* Same from an O_PATH directory fd, which is consumed (closed on failure); uid is the host
 * uid of the sandbox user, who is uid 1000 inside. Used directly by tests. */
int fileops_root_init(int rootfd, uid_t uid, struct fileops_root *ret, struct cove_err *err);
void fileops_root_done(struct fileops_root *r);

/* lstat semantics: a symlink at path is reported as a symlink. */
int fileops_stat(const struct fileops_root *r, const char *path, struct fileops_entry *ret,
                 struct cove_err *err);
/* The entries of the directory at path (a symlink to a directory is followed), sorted by name
 * (bytewise). *ret is malloc'd. -ENOTDIR "INVALID_PATH" for anything but a directory, -E2BIG
 * past FILEOPS_MAX_LIST entries. */
#define FILEOPS_MAX_LIST 100000
int fileops_list(const struct fileops_root *r, const char *path, struct fileops_entry **ret,
                 size_t *ret_n, struct cove_err *err);
/* Open a regular file for reading (symlinks are followed inside the root). -EISDIR for a
 * directory, -EINVAL for devices, FIFOs and sockets, which are never opened. */
int fileops_open_read(const struct fileops_root *r, const char *path, int *ret_fd,
                      uint64_t *ret_size, struct cove_err *err);

/* Create or truncate the regular file at path for writing, creating missing parent
 * directories (0755). A symlink at path is refused (-ELOOP), never followed. mode: the
 * permission bits to set, or FILEOPS_MODE_KEEP. On success *w owns two fds: finish it with
 * fileops_writer_close(), or fileops_writer_abort() on failure. */
int fileops_create(const struct fileops_root *r, const char *path, int mode,
                   struct fileops_writer *w, struct cove_err *err);
/* Write all of data. ENOSPC and EDQUOT become -ENOSPC "INSUFFICIENT_STORAGE". */
int fileops_write(struct fileops_writer *w, const void *data, size_t len, struct cove_err *err);
/* Close the file, reporting a late write error (close may report one on some filesystems). */
int fileops_writer_close(struct fileops_writer *w, struct cove_err *err);
/* Give up: remove the file if this writer created it, else truncate it (a half-written file is
 * worse than none, and on a full disk the space is needed back). Closes the fds. */
void fileops_writer_abort(struct fileops_writer *w);

/* mkdir (mode, default 0755) or, with parents, mkdir -p; an existing directory is then fine. */
int fileops_mkdir(const struct fileops_root *r, const char *path, uint32_t mode, bool parents,
                  struct cove_err *err);
/* Remove a file, symlink or empty directory; with recursive, a whole tree. Symlinks are
 * removed, never followed; the tree walk stays on the filesystem it starts on (-EXDEV). */
int fileops_delete(const struct fileops_root *r, const char *path, bool recursive,
                   struct cove_err *err);
/* rename; -EEXIST "FILE_EXISTS" if to exists and !overwrite. A symlink at either end is
 * renamed or replaced itself. */
int fileops_move(const struct fileops_root *r, const char *from, const char *to, bool overwrite,
                 struct cove_err *err);
/* chmod (symlinks followed inside the root). For a later permissions endpoint. */
int fileops_chmod(const struct fileops_root *r, const char *path, uint32_t mode,
                  struct cove_err *err);
