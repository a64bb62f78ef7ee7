/* Per-sandbox copies of the loader, libc and the shells (private-libs.h). */
#include "sandbox/private-libs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
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
 * then rename), with st's mode and times. */
static int copy_one(int dfd, const char *rel, const char *src, const struct stat *st, uid_t owner)
{
    char tmp[PATH_MAX];
    _cleanup_close_ int in = -EBADF, out = -EBADF;
    off_t off = 0;
    int r = make_parents(dfd, rel, owner);

    if (r < 0)
        return r;
    snprintf(tmp, sizeof(tmp), "%s.cove-tmp", rel);
    in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return -errno;
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
    if (fchmod(out, st->st_mode & 0755) < 0 || futimens(out, times) < 0 ||
        (owner != (uid_t)-1 && fchown(out, owner, owner) < 0) || renameat(dfd, tmp, dfd, rel) < 0) {
        r = -errno;
        goto fail;
    }
    return 0;
fail:
    (void)unlinkat(dfd, tmp, 0);
    return r;
}

int private_libs_seed(const char *disk, uid_t owner)
{
    char upper[PATH_MAX], real[PATH_MAX];
    _cleanup_close_ int dfd = -EBADF;
    int ret = 0;

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
    for (size_t i = 0; i < sizeof(wanted) / sizeof(wanted[0]); i++) {
        struct stat st, have;
        if (!realpath(wanted[i], real) || strncmp(real, "/usr/", 5) || stat(real, &st) < 0 ||
            !S_ISREG(st.st_mode))
            continue;
        const char *rel = real + 5;
        if (fstatat(dfd, rel, &have, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(have.st_mode) &&
            have.st_size == st.st_size && have.st_mtim.tv_sec == st.st_mtim.tv_sec &&
            have.st_mtim.tv_nsec == st.st_mtim.tv_nsec) {
            /* Current; a pooled copy still needs its owner. */
            int r = owner == (uid_t)-1 || have.st_uid == owner ? 0 : make_parents(dfd, rel, owner);
            if (r == 0 && owner != (uid_t)-1 && have.st_uid != owner &&
                fchownat(dfd, rel, owner, owner, AT_SYMLINK_NOFOLLOW) < 0)
                r = -errno;
            if (r < 0 && ret == 0)
                ret = r;
            continue;
        }
        int r = copy_one(dfd, rel, real, &st, owner);
        if (r < 0 && ret == 0)
            ret = r;
    }
    return ret;
}
