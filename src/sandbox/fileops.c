/* Host-side file operations inside a sandbox root (see fileops.h for the contract).
 *
 * Theory of operation. The sandbox's processes own its filesystem and may change it at any
 * moment, while coved runs as host root. Every way a host path string could be steered is
 * closed by letting the kernel do the walking:
 *
 *  - The root is /proc/<init>/root, opened once as O_PATH: the sandbox's own mount namespace,
 *    so its mounts are what we walk, and nothing of the host is reachable below it.
 *  - Paths are resolved with openat2(RESOLVE_IN_ROOT): ".." and absolute symlinks stop at the
 *    sandbox root, whatever the sandbox planted ("../../..", "/etc/passwd", a symlinked parent
 *    directory). RESOLVE_NO_MAGICLINKS refuses /proc/<pid>/fd/N-style links, which could name
 *    files outside the root.
 *  - The result is first opened as O_PATH, so opening has no side effect (a FIFO would block, a
 *    device would act), and checked: a data filesystem (not procfs, sysfs, devpts, ...), not
 *    the mounts at /proc, /dev or /sys however the path got there, and a regular file for I/O.
 *    Only then is it opened for real, through its own fd (/proc/thread-self/fd/N), never by
 *    resolving a path string again, so what was checked is what gets opened.
 *  - Creating, removing and renaming work on a resolved parent fd and a single name with
 *    O_NOFOLLOW / O_EXCL / AT_SYMLINK_NOFOLLOW, so a symlink at the final component is never
 *    followed: uploading onto a symlink is refused, deleting or moving one acts on the link.
 *  - Recursive deletion walks fds only (openat O_NOFOLLOW|O_DIRECTORY, fdopendir, unlinkat) and
 *    stops at mount points.
 *  - The thread acts as the sandbox user (become_user), so even a mistake here could do only
 *    what that unprivileged uid can do, and new files belong to it. */
#include "sandbox/fileops.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/limits.h"
#include "base/path.h"
#include "sandbox/image.h"
#include "sandbox/sandbox.h"

#define ID_RANGE         65536u /* ids mapped per sandbox (UID_RANGE in sandbox.c) */
#define ID_NOBODY        65534u /* what the sandbox sees for an unmapped id */
#define DEFAULT_MODE     0644
#define DIR_MODE         0755
#define MAX_DELETE_DEPTH 256 /* each level holds an fd */
#define MAX_DELETE_PASS  16  /* re-reads of a directory the sandbox keeps filling */
#define OPENAT2_RETRIES  16

static const char *const type_names[_FILEOPS_TYPE_MAX] = {
    [FILEOPS_FILE] = "file",
    [FILEOPS_DIR] = "dir",
    [FILEOPS_SYMLINK] = "symlink",
    [FILEOPS_OTHER] = "other",
};

const char *fileops_type_to_string(enum fileops_type t)
{
    return t >= 0 && t < _FILEOPS_TYPE_MAX ? type_names[t] : NULL;
}

/* ---- identity ---- */

/* The thread's filesystem ids saved by become_user(). */
struct fsids {
    int uid;
    int gid;
    bool active;
};

static void fsids_restore(struct fsids *s)
{
    int saved = errno;

    if (!s->active)
        return;
    /* uid first: going back to fsuid 0 restores the capabilities that leaving it dropped. */
    (void)setfsuid((uid_t)s->uid);
    (void)setfsgid((gid_t)s->gid);
    s->active = false;
    errno = saved;
}
#define _cleanup_fsids_ _cleanup_(fsids_restore)

/* Act as the sandbox user until the guard goes out of scope. Why:
 *  - the sandbox's mounts belong to its user namespace, where host uid 0 does not exist, so
 *    the kernel refuses to create anything there as host root (EOVERFLOW);
 *  - leaving fsuid 0 drops CAP_DAC_OVERRIDE and the other filesystem capabilities, so the API
 *    can do exactly what the sandbox user can, and nothing a host root could;
 *  - new files and directories belong to the user.
 * setfsuid/setfsgid act on the calling thread only (glibc does not broadcast them), so other
 * requests are unaffected. Supplementary groups stay coved's. */
static int become_user(uid_t uid, struct fsids *s, struct cove_err *err)
{
    s->gid = setfsgid(uid);
    s->uid = setfsuid(uid);
    s->active = true;
    /* setfsuid reports no error: read the ids back (an invalid id changes nothing). */
    if ((uid_t)setfsuid((uid_t)-1) != uid || (gid_t)setfsgid((gid_t)-1) != uid) {
        fsids_restore(s);
        return cove_err_set(err, -EPERM, "cannot act as the sandbox user (uid %u)", (unsigned)uid);
    }
    return 0;
}

/* ---- errors ---- */

/* errno of a failed operation on the sandbox path `path` -> err. */
static int fail(struct cove_err *err, int e, const char *path)
{
    switch (e) {
    case ENOENT:
        return cove_err_setk(err, -ENOENT, "FILE_NOT_FOUND", "%s: no such file or directory", path);
    case ENOTDIR:
        return cove_err_setk(err, -ENOTDIR, "INVALID_PATH",
                             "%s: not a directory, or a component of the path is not", path);
    case ELOOP:
        return cove_err_setk(err, -ELOOP, "INVALID_PATH", "%s: too many levels of symlinks", path);
    case EISDIR:
        return cove_err_setk(err, -EISDIR, "INVALID_PATH", "%s is a directory", path);
    case ENAMETOOLONG:
        return cove_err_setk(err, -ENAMETOOLONG, "INVALID_PATH", "%s: name too long", path);
    case EINVAL:
        return cove_err_setk(err, -EINVAL, "INVALID_PATH", "%s: invalid argument", path);
    case EEXIST:
        return cove_err_setk(err, -EEXIST, "FILE_EXISTS", "%s already exists", path);
    case ENOTEMPTY:
        return cove_err_set(err, -ENOTEMPTY, "%s: directory not empty", path);
    case EBUSY:
    case ETXTBSY:
        return cove_err_set(err, -EBUSY, "%s is busy (a mount point or a running program)", path);
    case EXDEV:
        return cove_err_setk(err, -EXDEV, "INVALID_PATH",
                             "%s: cannot move across filesystems (mount points)", path);
    case ENOSPC:
    case EDQUOT:
        return cove_err_setk(err, -ENOSPC, "INSUFFICIENT_STORAGE", "sandbox disk is full");
    case EFBIG:
        return cove_err_set(err, -EFBIG, "%s: file too large for the sandbox filesystem", path);
    case EACCES:
    case EPERM:
        /* Not -EACCES: the API maps that to 401. */
        return cove_err_set(err, -EPERM, "%s: permission denied for the sandbox user", path);
    case EROFS:
        return cove_err_set(err, -EPERM, "%s: read-only filesystem", path);
    default:
        return cove_err_errno(err, e, "%s", path);
    }
}

/* ---- resolution and checks ---- */

/* Normalise an absolute sandbox path into buf and refuse the kernel trees lexically (the
 * checks on the resolved object below catch the same trees reached through symlinks). */
static int sandbox_path(const char *path, char *buf, size_t cap, struct cove_err *err)
{
    int r;

    if (!path || path[0] != '/')
        return cove_err_setk(err, -EINVAL, "INVALID_PATH", "'%s' is not an absolute path",
                             path ? path : "");
    r = path_normalize("/", path, buf, cap);
    if (r == -ENAMETOOLONG)
        return cove_err_setk(err, r, "INVALID_PATH", "path too long");
    if (r < 0)
        return cove_err_setk(err, r, "INVALID_PATH", "invalid path '%s'", path);
    if (path_is_forbidden(buf))
        return cove_err_setk(err, -EINVAL, "INVALID_PATH",
                             "%s: paths in /proc, /dev and /sys are not accessible", buf);
    return 0;
}

/* "/a/b/c" -> parent "/a/b", name "c". path is normalised and not "/". */
static const char *split(const char *path, char *parent, size_t cap)
{
    const char *slash = strrchr(path, '/');
    size_t n = slash == path ? 1 : (size_t)(slash - path);

    if (n >= cap)
        n = cap - 1;
    memcpy(parent, path, n);
    parent[n] = '\0';
    return slash + 1;
}

/* Resolve a normalised path inside the root as O_PATH (plus O_NOFOLLOW / O_DIRECTORY from
 * flags). Returns the fd or -errno. This is the only place a path string is resolved. */
static int resolve(const struct fileops_root *r, const char *path, int flags)
{
    struct open_how how = {
        .flags = (uint64_t)(O_PATH | O_CLOEXEC | flags),
        .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
    };
    const char *rel = path[1] ? path + 1 : ".";

    for (int i = 0;; i++) {
        long fd = syscall(SYS_openat2, r->fd, rel, &how, sizeof(how));
        if (fd >= 0)
            return (int)fd;
        /* RESOLVE_IN_ROOT fails with EAGAIN when a rename raced with a ".." step. */
        if (errno != EAGAIN || i >= OPENAT2_RETRIES)
            return -errno;
    }
}

/* Filesystems that hold sandbox data: the overlays of the root and /usr, tmpfs (/tmp,
 * /dev/shm), the ext4 sandbox disk; btrfs and xfs for hosts whose disks are those. Everything
 * else (procfs, sysfs, devpts, cgroupfs, debugfs, fuse, ...) is refused: their files act on
 * read or write, or show coved's view of the kernel rather than the sandbox's. */
static bool data_fs(unsigned long type)
{
    switch (type) {
    case OVERLAYFS_SUPER_MAGIC:
    case TMPFS_MAGIC:
    case EXT4_SUPER_MAGIC:
    case BTRFS_SUPER_MAGIC:
    case XFS_SUPER_MAGIC:
        return true;
    default:
        return false;
    }
}

/* Check the object behind an O_PATH fd before anything opens it for real; fills st. */
static int check_object(const struct fileops_root *r, int fd, const char *path, struct stat *st,
                        struct cove_err *err)
{
    struct statfs sfs;

    if (fstat(fd, st) < 0 || fstatfs(fd, &sfs) < 0)
        return fail(err, errno, path);
    if (!data_fs((unsigned long)sfs.f_type))
        return cove_err_setk(err, -EINVAL, "INVALID_PATH",
                             "%s is on a kernel filesystem (procfs, sysfs, devpts or similar)",
                             path);
    /* /dev is a plain tmpfs, so its type alone does not give it away when a symlink leads
     * there; its st_dev does (bind mounts of it included). */
    for (size_t i = 0; i < r->n_forbidden; i++)
        if (st->st_dev == r->forbidden[i])
            return cove_err_setk(err, -EINVAL, "INVALID_PATH", "%s leads into /proc, /dev or /sys",
                                 path);
    return 0;
}

static const char *special_name(mode_t m)
{
    if (S_ISCHR(m))
        return "character device";
    if (S_ISBLK(m))
        return "block device";
    if (S_ISFIFO(m))
        return "FIFO";
    if (S_ISSOCK(m))
        return "socket";
    return "special file";
}

/* Only regular files are read or written: a FIFO would block the request thread and a device
 * node would act on the open. */
static int check_regular(const struct stat *st, const char *path, struct cove_err *err)
{
    if (S_ISREG(st->st_mode))
        return 0;
    if (S_ISDIR(st->st_mode))
        return cove_err_setk(err, -EISDIR, "INVALID_PATH", "%s is a directory", path);
    if (S_ISLNK(st->st_mode))
        return cove_err_setk(err, -ELOOP, "INVALID_PATH",
                             "%s is a symlink; refusing to write through it", path);
    return cove_err_setk(err, -EINVAL, "INVALID_PATH", "%s is a %s, not a regular file", path,
                         special_name(st->st_mode));
}

/* Open the very inode behind an O_PATH fd for I/O through its magic link. Re-resolving the
 * path instead could reach another inode if the sandbox swapped something in between. */
static int reopen(int pathfd, int flags)
{
    char p[64];
    int fd;

    snprintf(p, sizeof(p), "/proc/thread-self/fd/%d", pathfd);
    fd = open(p, flags | O_CLOEXEC | O_NOCTTY);
    return fd < 0 ? -errno : fd;
}

/* Give a directory we just made its exact mode (umask aside) and owner. name is one
 * component, opened without following, so a swapped-in symlink fails instead of leading on. */
static int fix_new_dir(const struct fileops_root *r, int dirfd, const char *name, mode_t mode)
{
    _cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

    if (fd < 0)
        return -errno;
    if (fchmod(fd, mode) < 0 || fchown(fd, r->uid, r->uid) < 0)
        return -errno;
    return 0;
}

/* mkdir -p dir (normalised); returns an O_PATH fd on it. Each prefix is resolved from the
 * root, so symlinks along the way behave as in the sandbox, and each one is checked before a
 * directory is made inside it. */
static int mkdir_p(const struct fileops_root *r, const char *dir, struct cove_err *err)
{
    char prefix[COVE_MAX_PATH];
    _cleanup_close_ int cur = resolve(r, "/", O_DIRECTORY);
    const char *p = dir;
    struct stat st;
    int k;

    if (cur < 0)
        return fail(err, -cur, "/");
    snprintf(prefix, sizeof(prefix), "/");
    while (*p == '/' && p[1]) {
        const char *name = p + 1, *end = strchrnul(name, '/');
        char comp[NAME_MAX + 1];
        int next;

        k = check_object(r, cur, prefix, &st, err);
        if (k < 0)
            return k;
        snprintf(prefix, sizeof(prefix), "%.*s", (int)(end - dir), dir);
        snprintf(comp, sizeof(comp), "%.*s", (int)(end - name), name);
        next = resolve(r, prefix, O_DIRECTORY);
        if (next == -ENOENT) {
            /* EEXIST: made concurrently, or a dangling symlink, which the resolve below
             * refuses; mkdirat itself never follows the final component. */
            if (mkdirat(cur, comp, DIR_MODE) == 0) {
                k = fix_new_dir(r, cur, comp, DIR_MODE);
                if (k < 0)
                    return fail(err, -k, prefix);
            } else if (errno != EEXIST) {
                return fail(err, errno, prefix);
            }
            next = resolve(r, prefix, O_DIRECTORY);
        }
        if (next < 0)
            return fail(err, -next, prefix);
        safe_close(cur);
        cur = next;
        p = end;
    }
    k = check_object(r, cur, dir, &st, err);
    if (k < 0)
        return k;
    return TAKE_FD(cur);
}

/* O_PATH fd on directory dir (normalised), made with its parents if create. */
static int open_dir(const struct fileops_root *r, const char *dir, bool create,
                    struct cove_err *err)
{
    _cleanup_close_ int fd = resolve(r, dir, O_DIRECTORY);
    struct stat st;
    int k;

    if (fd == -ENOENT && create)
        return mkdir_p(r, dir, err);
    if (fd < 0)
        return fail(err, -fd, dir);
    k = check_object(r, fd, dir, &st, err);
    if (k < 0)
        return k;
    return TAKE_FD(fd);
}

static uint32_t map_id(const struct fileops_root *r, uint32_t host)
{
    if (host < r->shift || host - r->shift >= ID_RANGE)
        return ID_NOBODY;
    return host - r->shift;
}

static void fill_entry(const struct fileops_root *r, const struct stat *st, const char *name,
                       struct fileops_entry *e)
{
    snprintf(e->name, sizeof(e->name), "%s", name);
    e->type = S_ISREG(st->st_mode)   ? FILEOPS_FILE
              : S_ISDIR(st->st_mode) ? FILEOPS_DIR
              : S_ISLNK(st->st_mode) ? FILEOPS_SYMLINK
                                     : FILEOPS_OTHER;
    e->size = st->st_size > 0 ? (uint64_t)st->st_size : 0;
    e->mode = st->st_mode & 07777;
    e->mtime_ms = (int64_t)st->st_mtim.tv_sec * 1000 + st->st_mtim.tv_nsec / 1000000;
    e->uid = map_id(r, st->st_uid);
    e->gid = map_id(r, st->st_gid);
}

/* ---- root ---- */

int fileops_root_init(int rootfd, uid_t uid, struct fileops_root *ret, struct cove_err *err)
{
    static const char *const kernel_dirs[] = {"/proc", "/dev", "/sys"};
    struct fileops_root r = {
        .fd = rootfd,
        .uid = uid,
        .shift = uid >= SANDBOX_UID ? uid - SANDBOX_UID : 0,
    };
    struct stat root_st;

    if (fstat(rootfd, &root_st) < 0) {
        int e = errno;
        close(rootfd);
        return cove_err_errno(err, e, "stat sandbox root");
    }
    /* Remember the filesystems mounted at /proc, /dev and /sys so check_object() recognises
     * them wherever a symlink leads. A plain directory there is just sandbox data. */
    for (size_t i = 0; i < ELEMENTSOF(kernel_dirs); i++) {
        _cleanup_close_ int fd = resolve(&r, kernel_dirs[i], O_NOFOLLOW | O_DIRECTORY);
        struct stat st;

        if (fd >= 0 && fstat(fd, &st) == 0 && st.st_dev != root_st.st_dev)
            r.forbidden[r.n_forbidden++] = st.st_dev;
    }
    *ret = r;
    return 0;
}

int fileops_root_open(struct sandbox *sb, struct fileops_root *ret, struct cove_err *err)
{
    int fd = sandbox_root_fd(sb, err);

    if (fd < 0)
        return fd;
    return fileops_root_init(fd, sandbox_host_uid(sb), ret, err);
}

void fileops_root_done(struct fileops_root *r)
{
    r->fd = safe_close(r->fd);
}

/* ---- reading ---- */

int fileops_stat(const struct fileops_root *r, const char *path, struct fileops_entry *ret,
                 struct cove_err *err)
{
    _cleanup_fsids_ struct fsids ids = {0};
    _cleanup_close_ int fd = -EBADF;
    char norm[COVE_MAX_PATH];
    struct stat st;
    int k;

    if ((k = sandbox_path(path, norm, sizeof(norm), err)) < 0 ||
        (k = become_user(r->uid, &ids, err)) < 0)
        return k;
    fd = resolve(r, norm, O_NOFOLLOW);
    if (fd < 0)
        return fail(err, -fd, norm);
    k = check_object(r, fd, norm, &st, err);
    if (k < 0)
        return k;
    fill_entry(r, &st, path_basename(norm), ret);
    return 0;
}

static int entry_cmp(const void *a, const void *b)
{
    return strcmp(((const struct fileops_entry *)a)->name, ((const struct fileops_entry *)b)->name);
}

/* Read the entries of an open directory stream into a growing array. */
static int read_entries(const struct fileops_root *r, DIR *d, const char *path,
                        struct fileops_entry **list, size_t *n, struct cove_err *err)
{
    size_t cap = 0;
    struct dirent *de;

    while ((errno = 0, de = readdir(d))) {
        struct stat st;

        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
            if (errno == ENOENT) /* removed while we read */
                continue;
            return fail(err, errno, path);
        }
        if (*n >= FILEOPS_MAX_LIST)
            return cove_err_set(err, -E2BIG, "%s has more than %d entries", path, FILEOPS_MAX_LIST);
        if (*n == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            struct fileops_entry *nl = reallocarray(*list, ncap, sizeof(**list));
            if (!nl)
                return cove_err_set(err, -ENOMEM, "out of memory listing %s", path);
            *list = nl;
            cap = ncap;
        }
        fill_entry(r, &st, de->d_name, &(*list)[(*n)++]);
    }
    if (errno)
        return fail(err, errno, path);
    return 0;
}

int fileops_list(const struct fileops_root *r, const char *path, struct fileops_entry **ret,
                 size_t *ret_n, struct cove_err *err)
{
    _cleanup_fsids_ struct fsids ids = {0};
    _cleanup_close_ int pfd = -EBADF, dfd = -EBADF;
    _cleanup_closedir_ DIR *d = NULL;
    _cleanup_free_ struct fileops_entry *list = NULL;
    char norm[COVE_MAX_PATH];
    struct stat st;
    size_t n = 0;
    int k;

    if ((k = sandbox_path(path, norm, sizeof(norm), err)) < 0 ||
        (k = become_user(r->uid, &ids, err)) < 0)
        return k;
    pfd = resolve(r, norm, 0);
    if (pfd < 0)
        return fail(err, -pfd, norm);
    if ((k = check_object(r, pfd, norm, &st, err)) < 0)
        return k;
    if (!S_ISDIR(st.st_mode))
        return cove_err_setk(err, -ENOTDIR, "INVALID_PATH", "%s is not a directory", norm);
    /* "." of a checked O_PATH directory fd is that same directory. */
    dfd = openat(pfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return fail(err, errno, norm);
    d = fdopendir(dfd);
    if (!d)
        return fail(err, errno, norm);
    TAKE_FD(dfd);
    k = read_entries(r, d, norm, &list, &n, err);
    if (k < 0)
        return k;
    if (n > 0)
        qsort(list, n, sizeof(*list), entry_cmp);
    *ret = TAKE_PTR(list);
    *ret_n = n;
    return 0;
}

int fileops_open_read(const struct fileops_root *r, const char *path, int *ret_fd,
                      uint64_t *ret_size, struct cove_err *err)
{
    _cleanup_fsids_ struct fsids ids = {0};
    _cleanup_close_ int pfd = -EBADF;
    char norm[COVE_MAX_PATH];
    struct stat st;
    int fd, k;

    if ((k = sandbox_path(path, norm, sizeof(norm), err)) < 0 ||
        (k = become_user(r->uid, &ids, err)) < 0)
        return k;
    pfd = resolve(r, norm, 0);
    if (pfd < 0)
        return fail(err, -pfd, norm);
    if ((k = check_object(r, pfd, norm, &st, err)) < 0 || (k = check_regular(&st, norm, err)) < 0)
        return k;
    fd = reopen(pfd, O_RDONLY);
    if (fd < 0)
        return fail(err, -fd, norm);
    *ret_fd = fd;
    *ret_size = st.st_size > 0 ? (uint64_t)st.st_size : 0;
    return 0;
}

/* ---- writing ---- */

/* Open the existing object name in dirfd for writing: checked as O_PATH first, so a FIFO or a
 * device is refused before any open could block or act, and a symlink is refused, not
 * followed. Truncates it. */
static int open_existing(const struct fileops_root *r, int dirfd, const char *name,
                         const char *path, struct stat *st, struct cove_err *err)
{
    _cleanup_close_ int pfd = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    _cleanup_close_ int fd = -EBADF;
    int k;

    if (pfd < 0)
        return fail(err, errno, path);
    if ((k = check_object(r, pfd, path, st, err)) < 0 || (k = check_regular(st, path, err)) < 0)
        return k;
    fd = reopen(pfd, O_WRONLY);
    if (fd < 0)
        return fail(err, -fd, path);
    if (ftruncate(fd, 0) < 0)
        return fail(err, errno, path);
    return TAKE_FD(fd);
}

int fileops_create(const struct fileops_root *r, const char *path, int mode,
                   struct fileops_writer *w, struct cove_err *err)
{
    _cleanup_fsids_ struct fsids ids = {0};
    _cleanup_close_ int dirfd = -EBADF, fd = -EBADF;
    char norm[COVE_MAX_PATH], parent[COVE_MAX_PATH];
    const char *name;
    bool created = false;
    struct stat st = {0};
    int k = 0;

    if ((k = sandbox_path(path, norm, sizeof(norm), err)) < 0)
        return k;
    if (!strcmp(norm, "/"))
        return cove_err_setk(err, -EISDIR, "INVALID_PATH", "/ is a directory");
    if ((k = sandbox_check_space(0, err)) < 0)
        return k;
    name = split(norm, parent, sizeof(parent));
    if ((k = become_user(r->uid, &ids, err)) < 0)
        return k;
    dirfd = open_dir(r, parent, true, err);
    if (dirfd < 0)
        return dirfd;
    /* O_EXCL never follows a symlink, not even a dangling one, and tells us the file is new. */
    fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                mode >= 0 ? (mode_t)mode : DEFAULT_MODE);
    if (fd >= 0) {
        created = true;
        if (fstat(fd, &st) < 0 || fchown(fd, r->uid, r->uid) < 0)
            k = fail(err, errno, norm);
    } else if (errno == EEXIST) {
        fd = open_existing(r, dirfd, name, norm, &st, err);
        if (fd < 0)
            return fd;
    } else {
        return fail(err, errno, norm);
    }
    /* fchmod: the mode asked for, not what the umask left of it. */
    if (k == 0 && (created || mode >= 0) && fchmod(fd, mode >= 0 ? (mode_t)mode : DEFAULT_MODE) < 0)
        k = fail(err, errno, norm);
    w->fd = TAKE_FD(fd);
    w->dirfd = TAKE_FD(dirfd);
    snprintf(w->name, sizeof(w->name), "%s", name);
    w->created = created;
    w->uid = r->uid;
    w->dev = st.st_dev;
    w->ino = st.st_ino;
    w->size = 0;
    if (k < 0) {
        fsids_restore(&ids);
        fileops_writer_abort(w);
    }
    return k;
}

int fileops_write(struct fileops_writer *w, const void *data, size_t len, struct cove_err *err)
{
    const char *p = data;
    int k;

    /* The host must keep up with a long upload too (see sandbox_check_space). */
    if (w->size / COVE_STATE_CHECK_BYTES != (w->size + len) / COVE_STATE_CHECK_BYTES &&
        (k = sandbox_check_space(len, err)) < 0)
        return k;
    while (len > 0) {
        ssize_t n = write(w->fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return fail(err, errno, w->name);
        if (n == 0) /* not for regular files; do not spin if it happens */
            return cove_err_set(err, -EIO, "%s: write made no progress", w->name);
        p += n;
        len -= (size_t)n;
        w->size += (uint64_t)n;
    }
    return 0;
}

int fileops_writer_close(struct fileops_writer *w, struct cove_err *err)
{
    int k = 0;

    /* Some filesystems report a deferred write error only at close. */
    if (w->fd >= 0 && close(w->fd) < 0 && errno != EINTR)
        k = fail(err, errno, w->name);
    w->fd = -EBADF;
    if (k < 0)
        fileops_writer_abort(w);
    w->dirfd = safe_close(w->dirfd);
    return k;
}

void fileops_writer_abort(struct fileops_writer *w)
{
    _cleanup_fsids_ struct fsids ids = {0};
    struct stat st;

    if (w->fd >= 0 && !w->created)
        (void)!ftruncate(w->fd, 0);
    w->fd = safe_close(w->fd);
    /* Remove the file only if the name still refers to the inode we created: the sandbox may
     * have renamed it and put something else there meanwhile. */
    if (w->created && w->dirfd >= 0 && become_user(w->uid, &ids, NULL) == 0 &&
        fstatat(w->dirfd, w->name, &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_dev == w->dev &&
        st.st_ino == w->ino)
        (void)unlinkat(w->dirfd, w->name, 0);
    w->dirfd = safe_close(w->dirfd);
}

int fileops_mkdir(const struct fileops_root *r, const char *path, uint32_t mode, bool parents,
                  struct cove_err *err)
{
    _cleanup_fsids_ struct fsids ids = {0};
    _cleanup_close_ int dirfd = -EBADF;
    char norm[COVE_MAX_PATH], parent[COVE_MAX_PATH];
    const char *name;
    int k;

    if ((k = sandbox_path(path, norm, sizeof(norm), err)) < 0)
        return k;
    if (!strcmp(norm, "/"))
        return parents ? 0 : fail(err, EEXIST, norm);
    name = split(norm, parent, sizeof(parent));
    if ((k = become_user(r->uid, &ids, err)) < 0)
        return k;
    dirfd = open_dir(r, parent, parents, err);
    if (dirfd < 0)
        return dirfd;
    if (mkdirat(dirfd, name, mode & 07777) < 0) {
        int e = errno;
        if (e == EEXIST && parents) {
            /* mkdir -p: fine if a directory (or a symlink to one, inside the root) is there. */
            _cleanup_close_ int fd = resolve(r, norm, O_DIRECTORY);
            if (fd >= 0)
                return 0;
        }
        return fail(err, e, norm);
    }
    k = fix_new_dir(r, dirfd, name, mode & 07777);
    return k < 0 ? fail(err, -k, norm) : 0;
}

int fileops_chmod(const struct fileops_root *r, const char *path, uint32_t mode,
                  struct cove_err *err)
{
    _cleanup_fsids_ struct fsids ids = {0};
    _cleanup_close_ int pfd = -EBADF;
    char norm[COVE_MAX_PATH], p[64];
    struct stat st;
    int k;

    if ((k = sandbox_path(path, norm, sizeof(norm), err)) < 0 ||
        (k = become_user(r->uid, &ids, err)) < 0)
        return k;
    pfd = resolve(r, norm, 0);
    if (pfd < 0)
        return fail(err, -pfd, norm);
    if ((k = check_object(r, pfd, norm, &st, err)) < 0)
        return k;
    /* fchmod does not take O_PATH fds; chmod through the fd's magic link hits the same inode. */
    snprintf(p, sizeof(p), "/proc/thread-self/fd/%d", pfd);
    if (chmod(p, mode & 07777) < 0)
        return fail(err, errno, norm);
    return 0;
}

/* ---- delete and move ---- */

static int mount_id(int dirfd, const char *name, int flags, uint64_t *ret, struct statx *stx)
{
    if (statx(dirfd, name, flags | AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT, STATX_TYPE | STATX_MNT_ID,
              stx) < 0)
        return -errno;
    if (!(stx->stx_mask & STATX_MNT_ID))
        return -EOPNOTSUPP;
    *ret = stx->stx_mnt_id;
    return 0;
}

static int remove_tree(int dfd, uint64_t mnt, unsigned depth, const char *top,
                       struct cove_err *err);

/* Remove one entry of directory dfd. Returns 1 if removed, 0 if it was already gone. */
static int remove_entry(int dfd, const char *name, uint64_t mnt, unsigned depth, const char *top,
                        struct cove_err *err)
{
    struct statx stx;
    uint64_t id = 0;
    int k;

    k = mount_id(dfd, name, 0, &id, &stx);
    if (k == -ENOENT)
        return 0;
    if (k < 0)
        return fail(err, -k, top);
    if (S_ISDIR(stx.stx_mode)) {
        int cfd;
        /* A directory on another mount is a mount point: stay on our filesystem. */
        if (id != mnt)
            return cove_err_setk(err, -EXDEV, "INVALID_PATH",
                                 "%s contains a mount point (%s); not deleting across it", top,
                                 name);
        if (depth >= MAX_DELETE_DEPTH)
            return cove_err_setk(err, -ELOOP, "INVALID_PATH", "%s is nested deeper than %d levels",
                                 top, MAX_DELETE_DEPTH);
        cfd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (cfd < 0)
            return errno == ENOENT ? 0 : fail(err, errno, top);
        /* The entry may have been swapped between statx and openat: check what we opened. */
        if (mount_id(cfd, "", AT_EMPTY_PATH, &id, &stx) < 0 || id != mnt) {
            close(cfd);
            return cove_err_setk(err, -EXDEV, "INVALID_PATH", "%s changed while being deleted (%s)",
                                 top, name);
        }
        k = remove_tree(cfd, mnt, depth + 1, top, err);
        if (k < 0)
            return k;
        if (unlinkat(dfd, name, AT_REMOVEDIR) < 0)
            return errno == ENOENT ? 0 : fail(err, errno, top);
        return 1;
    }
    if (unlinkat(dfd, name, 0) < 0)
        return errno == ENOENT ? 0 : fail(err, errno, top);
    return 1;
}

/* Empty the directory dfd (consumed). Removing entries while reading may hide others from
 * readdir, so the directory is read again until a pass removes nothing. */
static int remove_tree(int dfd, uint64_t mnt, unsigned depth, const char *top, struct cove_err *err)
{
    _cleanup_closedir_ DIR *d = fdopendir(dfd);
    struct dirent *de;

    if (!d) {
        int e = errno;
        close(dfd);
        return fail(err, e, top);
    }
    for (unsigned pass = 0; pass < MAX_DELETE_PASS; pass++) {
        bool removed = false;

        while ((errno = 0, de = readdir(d))) {
            int k;
            if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
                continue;
            k = remove_entry(dirfd(d), de->d_name, mnt, depth, top, err);
            if (k < 0)
                return k;
            removed = removed || k > 0;
        }
        if (errno)
            return fail(err, errno, top);
        if (!removed)
            break;
        rewinddir(d);
    }
    return 0;
}

/* Remove the directory name in dirfd with everything below it. */
static int delete_dir_tree(int dirfd, const char *name, const char *path, struct cove_err *err)
{
    struct statx stx;
    uint64_t parent_mnt = 0, mnt = 0;
    int fd, k;

    if ((k = mount_id(dirfd, "", AT_EMPTY_PATH, &parent_mnt, &stx)) < 0)
        return fail(err, -k, path);
    fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return fail(err, errno, path);
    if ((k = mount_id(fd, "", AT_EMPTY_PATH, &mnt, &stx)) < 0) {
        close(fd);
        return fail(err, -k, path);
    }
    if (mnt != parent_mnt) {
        close(fd);
        return cove_err_set(err, -EBUSY, "%s is a mount point; not deleting it", path);
    }
    k = remove_tree(fd, mnt, 0, path, err);
    if (k < 0)
        return k;
    if (unlinkat(dirfd, name, AT_REMOVEDIR) < 0)
        return fail(err, errno, path);
    return 0;
}

int fileops_delete(const struct fileops_root *r, const char *path, bool recursive,
                   struct cove_err *err)
{
    _cleanup_fsids_ struct fsids ids = {0};
    _cleanup_close_ int dirfd = -EBADF;
    char norm[COVE_MAX_PATH], parent[COVE_MAX_PATH];
    const char *name;
    struct stat st;
    int k;

    if ((k = sandbox_path(path, norm, sizeof(norm), err)) < 0)
        return k;
    if (!strcmp(norm, "/"))
        return cove_err_setk(err, -EINVAL, "INVALID_PATH", "refusing to delete /");
    name = split(norm, parent, sizeof(parent));
    if ((k = become_user(r->uid, &ids, err)) < 0)
        return k;
    dirfd = open_dir(r, parent, false, err);
    if (dirfd < 0)
        return dirfd;
    /* The final component is looked at, never followed: deleting a symlink removes the link. */
    if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return fail(err, errno, norm);
    if (!S_ISDIR(st.st_mode)) {
        if (unlinkat(dirfd, name, 0) < 0)
            return fail(err, errno, norm);
        return 0;
    }
    if (recursive)
        return delete_dir_tree(dirfd, name, norm, err);
    if (unlinkat(dirfd, name, AT_REMOVEDIR) < 0) {
        if (errno == ENOTEMPTY || errno == EEXIST)
            return cove_err_set(err, -ENOTEMPTY,
                                "%s: directory not empty; pass recursive=true to delete it", norm);
        return fail(err, errno, norm);
    }
    return 0;
}

int fileops_move(const struct fileops_root *r, const char *from, const char *to, bool overwrite,
                 struct cove_err *err)
{
    _cleanup_fsids_ struct fsids ids = {0};
    _cleanup_close_ int fdir = -EBADF, tdir = -EBADF;
    char fnorm[COVE_MAX_PATH], tnorm[COVE_MAX_PATH], fparent[COVE_MAX_PATH], tparent[COVE_MAX_PATH];
    const char *fname, *tname;
    struct stat st;
    int k;

    if ((k = sandbox_path(from, fnorm, sizeof(fnorm), err)) < 0 ||
        (k = sandbox_path(to, tnorm, sizeof(tnorm), err)) < 0)
        return k;
    if (!strcmp(fnorm, "/") || !strcmp(tnorm, "/"))
        return cove_err_setk(err, -EINVAL, "INVALID_PATH", "cannot move / or onto /");
    fname = split(fnorm, fparent, sizeof(fparent));
    tname = split(tnorm, tparent, sizeof(tparent));
    if ((k = become_user(r->uid, &ids, err)) < 0)
        return k;
    fdir = open_dir(r, fparent, false, err);
    if (fdir < 0)
        return fdir;
    tdir = open_dir(r, tparent, false, err);
    if (tdir < 0)
        return tdir;
    if (fstatat(fdir, fname, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return fail(err, errno, fnorm);
    /* rename never follows a symlink at either end: one at `to` is replaced (with overwrite). */
    if (renameat2(fdir, fname, tdir, tname, overwrite ? 0 : RENAME_NOREPLACE) < 0) {
        int e = errno;
        if (e == EEXIST)
            return cove_err_setk(err, -EEXIST, "FILE_EXISTS",
                                 "%s already exists; pass overwrite=true to replace it", tnorm);
        if (e == EINVAL)
            return cove_err_setk(err, -EINVAL, "INVALID_PATH", "cannot move %s into itself (%s)",
                                 fnorm, tnorm);
        return fail(err, e, e == ENOTEMPTY || e == EISDIR || e == ENOTDIR ? tnorm : fnorm);
    }
    return 0;
}
