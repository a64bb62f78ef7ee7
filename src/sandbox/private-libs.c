/* Per-sandbox copies of the loader, libc and the shells (private-libs.h). */
#include "sandbox/private-libs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "base/cleanup.h"

/* Entry points whose real files (under /usr, by merged-/usr symlinks) are copied; those a host
 * lacks are skipped. */
static const char *const wanted[] = {
    "/lib64/ld-linux-x86-64.so.2",
    "/lib/ld-linux-aarch64.so.1",
    "/lib/x86_64-linux-gnu/libc.so.6",
    "/lib/aarch64-linux-gnu/libc.so.6",
    "/lib/x86_64-linux-gnu/libtinfo.so.6",
    "/lib/aarch64-linux-gnu/libtinfo.so.6",
    "/usr/bin/bash",
    "/usr/bin/dash",
};
#define N_WANTED (sizeof(wanted) / sizeof(wanted[0]))

/* The host files behind wanted[], resolved once: "/usr/lib/x86_64-linux-gnu/libc.so.6"; an
 * empty string for an entry this host lacks. */
static char real[N_WANTED][256];
static pthread_once_t real_once = PTHREAD_ONCE_INIT;

static void resolve_real(void)
{
    char buf[PATH_MAX];

    for (size_t i = 0; i < N_WANTED; i++)
        if (realpath(wanted[i], buf) && !strncmp(buf, "/usr/", 5) && strlen(buf) < sizeof(real[i]))
            snprintf(real[i], sizeof(real[i]), "%s", buf);
}

/* Set or clear FS_IMMUTABLE_FL on the regular file rel under dfd (never through a symlink). */
static int set_immutable(int dfd, const char *rel, bool on)
{
    _cleanup_close_ int fd = openat(dfd, rel, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    struct stat st;
    int flags;

    if (fd < 0)
        return -errno;
    if (fstat(fd, &st) < 0)
        return -errno;
    if (!S_ISREG(st.st_mode))
        return -EINVAL;
    if (ioctl(fd, FS_IOC_GETFLAGS, &flags) < 0)
        return -errno;
    if (!!(flags & FS_IMMUTABLE_FL) == on)
        return 0;
    flags = on ? flags | FS_IMMUTABLE_FL : flags & ~FS_IMMUTABLE_FL;
    return ioctl(fd, FS_IOC_SETFLAGS, &flags) < 0 ? -errno : 0;
}

/* mkdir -p of the directories of rel (relative to dfd), each 0755 and owned by owner. */
static int make_parents(int dfd, const char *rel, uid_t owner)
{
    char p[PATH_MAX];

    snprintf(p, sizeof(p), "%s", rel);
    for (char *s = strchr(p, '/'); s; s = strchr(s + 1, '/')) {
        *s = '\0';
        if (mkdirat(dfd, p, 0755) == 0) {
            if (fchmodat(dfd, p, 0755, 0) < 0) /* whatever coved's umask */
                return -errno;
        } else if (errno != EEXIST) {
            return -errno;
        }
        if (owner != (uid_t)-1 && fchownat(dfd, p, owner, owner, AT_SYMLINK_NOFOLLOW) < 0)
            return -errno;
        *s = '/';
    }
    return 0;
}

/* Copy host file src (already stat'ed as st) to rel under dfd, atomically (a temporary name,
 * then rename), with st's mode and times, owned by host root and immutable. */
static int copy_one(int dfd, const char *rel, const char *src, const struct stat *st)
{
    char tmp[PATH_MAX];
    _cleanup_close_ int in = -EBADF, out = -EBADF;
    off_t off = 0;
    int r = make_parents(dfd, rel, (uid_t)-1);

    if (r < 0)
        return r;
    snprintf(tmp, sizeof(tmp), "%s.cove-tmp", rel);
    in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return -errno;
    (void)set_immutable(dfd, tmp, false);
    (void)unlinkat(dfd, tmp, 0);
    out = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (out < 0)
        return -errno;
    while (off < st->st_size) {
        ssize_t n = sendfile(out, in, &off, (size_t)(st->st_size - off));
        if (n <= 0) {
            r = n < 0 ? -errno : -EIO;
            goto fail;
        }
    }
    struct timespec times[2] = {st->st_atim, st->st_mtim};
    if (fchmod(out, st->st_mode & 0755) < 0 || futimens(out, times) < 0 || fchown(out, 0, 0) < 0) {
        r = -errno;
        goto fail;
    }
    /* A stale copy is immutable: it cannot be renamed over until it is not. */
    (void)set_immutable(dfd, rel, false);
    if (renameat(dfd, tmp, dfd, rel) < 0) {
        r = -errno;
        goto fail;
    }
    return set_immutable(dfd, rel, true);
fail:
    (void)unlinkat(dfd, tmp, 0);
    return r;
}

/* Whether the file rel under dfd is a current copy of the host file st: a regular file with
 * one link, owned by host root, immutable, of the host file's size and modification time. */
static bool is_current(int dfd, const char *rel, const struct stat *st)
{
    struct statx have;

    return statx(dfd, rel, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &have) == 0 &&
           S_ISREG(have.stx_mode) && have.stx_nlink == 1 && have.stx_uid == 0 &&
           (have.stx_attributes_mask & STATX_ATTR_IMMUTABLE) &&
           (have.stx_attributes & STATX_ATTR_IMMUTABLE) && (off_t)have.stx_size == st->st_size &&
           have.stx_mtime.tv_sec == st->st_mtim.tv_sec &&
           have.stx_mtime.tv_nsec == (uint32_t)st->st_mtim.tv_nsec;
}

int private_libs_seed(const char *disk, uid_t owner)
{
    char upper[PATH_MAX], owned[PATH_MAX] = "";
    _cleanup_close_ int dfd = -EBADF;
    int ret = 0;

    pthread_once(&real_once, resolve_real);
    /* upper and upper/usr get their owner and mode from prepare_disk() at create. */
    snprintf(upper, sizeof(upper), "%s/upper", disk);
    if (mkdir(upper, 0755) < 0 && errno != EEXIST)
        return -errno;
    snprintf(upper, sizeof(upper), "%s/upper/usr", disk);
    if (mkdir(upper, 0755) < 0 && errno != EEXIST)
        return -errno;
    dfd = open(upper, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dfd < 0)
        return -errno;
    for (size_t i = 0; i < N_WANTED; i++) {
        struct stat st;
        int r = 0;

        if (!real[i][0] || stat(real[i], &st) < 0 || !S_ISREG(st.st_mode))
            continue;
        const char *rel = real[i] + 5;
        if (!is_current(dfd, rel, &st))
            r = copy_one(dfd, rel, real[i], &st);
        /* The directories that hold the copies belong to the sandbox's root (the files stay
         * host root's, read-only and immutable); one pass per directory. */
        size_t dirlen = (size_t)(strrchr(rel, '/') ? strrchr(rel, '/') - rel : 0);
        if (r == 0 && owner != (uid_t)-1 &&
            (strlen(owned) != dirlen || strncmp(owned, rel, dirlen))) {
            r = make_parents(dfd, rel, owner);
            snprintf(owned, sizeof(owned), "%.*s", (int)dirlen, rel);
        }
        if (r < 0 && ret == 0)
            ret = r;
    }
    return ret;
}

int private_libs_keep(const char *rel)
{
    size_t n = strlen(rel);

    pthread_once(&real_once, resolve_real);
    for (size_t i = 0; i < N_WANTED; i++) {
        char path[PATH_MAX];
        if (!real[i][0])
            continue;
        snprintf(path, sizeof(path), "upper%s", real[i]); /* "upper/usr/lib/..." */
        if (!strcmp(path, rel))
            return PRIVATE_LIBS_COPY;
        if (!strncmp(path, rel, n) && path[n] == '/')
            return PRIVATE_LIBS_DIR;
    }
    return 0;
}

int private_libs_check_copy(int dfd, const char *name)
{
    struct statx have;

    if (statx(dfd, name, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &have) == 0 &&
        S_ISREG(have.stx_mode) && have.stx_nlink == 1 && have.stx_uid == 0 &&
        (have.stx_attributes & STATX_ATTR_IMMUTABLE))
        return 0;
    /* Not the copy the pool made: drop it (the next seed makes a new one). */
    (void)set_immutable(dfd, name, false);
    return -ESTALE;
}

int private_libs_reset_dir(int fd)
{
    char names[4096];
    ssize_t n;

    if (fchown(fd, 0, 0) < 0 || fchmod(fd, 0755) < 0)
        return -errno;
    /* Overlay's own marks (user.overlay.opaque, .impure, ...) and anything else. */
    n = flistxattr(fd, names, sizeof(names));
    for (ssize_t off = 0; n > 0 && off < n; off += (ssize_t)strlen(names + off) + 1)
        (void)fremovexattr(fd, names + off);
    return n < 0 && errno != ENOTSUP ? -errno : 0;
}
