/* Loop-mounted ext4 disks and the warm pool (see disk.h). */
#include "sandbox/disk.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <linux/loop.h>
#include <pthread.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/log.h"
#include "sandbox/private-libs.h"

#define MAX_DISKS 65536

/* D_ORPHAN: left by an earlier run and claimed by no sandbox, destroyed in the background. */
enum disk_state { D_NONE, D_FREE, D_USED, D_DIRTY, D_ORPHAN };

struct disk {
    uint8_t state;
    uint32_t mib;
};

static struct disk *disks;
static char dir[512];
static uint32_t def_mib;
static unsigned warm_target;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static pthread_t refill_thread;
static int (*layout_fn)(const char *mnt);
static bool stopping, started;

extern char **environ;

void disk_path(int32_t slot, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s/%d", dir, slot);
}

static bool is_mounted(const char *path)
{
    struct stat a, b;
    char parent[600];

    if (stat(path, &a) < 0)
        return false;
    snprintf(parent, sizeof(parent), "%s/..", path);
    if (stat(parent, &b) < 0)
        return false;
    return a.st_dev != b.st_dev;
}

static int run_mkfs(const char *img)
{
    char *argv[] = {
        "mkfs.ext4", "-q", "-F", "-O",   "^has_journal", "-E", "lazy_itable_init=1,nodiscard",
        "-m",        "0",  "-b", "4096", (char *)img,    NULL};
    posix_spawn_file_actions_t fa;
    int status, r;
    pid_t pid;

    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    r = posix_spawnp(&pid, "mkfs.ext4", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (r != 0)
        return -r;
    if (waitpid(pid, &status, 0) < 0)
        return -errno;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EIO;
}

/* Bind imgfd to a free loop device; returns an fd on the device and its name in dev.
 * LOOP_CTL_GET_FREE hands every caller the same device until one of them binds it, so
 * creates racing inside coved take turns (loop_mu); other programs on the host can still
 * take the device first, which costs a retry. */
#define LOOP_ATTACH_TRIES 64
static pthread_mutex_t loop_mu = PTHREAD_MUTEX_INITIALIZER;

static int loop_attach(int ctl, int imgfd, const char *img, char *dev, size_t cap)
{
    for (int attempt = 0; attempt < LOOP_ATTACH_TRIES; attempt++) {
        struct loop_config lc = {.fd = (uint32_t)imgfd};
        int lfd, n, e;

        if (attempt > 0) /* someone outside coved won the race: let it finish */
            nanosleep(&(struct timespec){0, 1000000L * (attempt < 10 ? attempt : 10)}, NULL);
        pthread_mutex_lock(&loop_mu);
        n = ioctl(ctl, LOOP_CTL_GET_FREE);
        if (n < 0) {
            e = errno;
            pthread_mutex_unlock(&loop_mu);
            return -e;
        }
        snprintf(dev, cap, "/dev/loop%d", n);
        lfd = open(dev, O_RDWR | O_CLOEXEC);
        if (lfd < 0) {
            e = errno;
            pthread_mutex_unlock(&loop_mu);
            return -e;
        }
        lc.info.lo_flags = LO_FLAGS_AUTOCLEAR;
        snprintf((char *)lc.info.lo_file_name, sizeof(lc.info.lo_file_name), "%s", img);
        e = ioctl(lfd, LOOP_CONFIGURE, &lc) < 0 ? errno : 0;
        pthread_mutex_unlock(&loop_mu);
        if (e == 0)
            return lfd;
        close(lfd);
        if (e != EBUSY) {
            log_warn("attach %s to %s: %s", img, dev, strerror(e));
            return -e;
        }
    }
    log_warn("attach %s: every free loop device was taken by someone else (%d tries)", img,
             LOOP_ATTACH_TRIES);
    return -EBUSY;
}

/* Attach img to a free loop device and mount it at mnt. The loop device detaches itself
 * when unmounted (LO_FLAGS_AUTOCLEAR). */
static int loop_mount(const char *img, const char *mnt)
{
    _cleanup_close_ int ctl = -EBADF, imgfd = -EBADF, lfd = -EBADF;
    char dev[64];
    int r;

    imgfd = open(img, O_RDWR | O_CLOEXEC);
    if (imgfd < 0)
        return -errno;
    ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
    if (ctl < 0)
        return -errno;
    lfd = loop_attach(ctl, imgfd, img, dev, sizeof(dev));
    if (lfd < 0)
        return lfd;
    /* Not nodev: the sandbox's device nodes live here (spawn.c). Sandbox code reaches this
     * filesystem only through its nodev overlay and those binds, and cannot mknod. */
    if (mount(dev, mnt, "ext4", MS_NOSUID, "") < 0) {
        r = -errno;
        log_warn("mount %s (%s) on %s: %m", dev, img, mnt);
        ioctl(lfd, LOOP_CLR_FD, 0);
        return r;
    }
    return 0;
}

static int disk_create(int32_t slot, uint32_t mib)
{
    char img[600], mnt[600];
    _cleanup_close_ int fd = -EBADF;
    int r;

    snprintf(img, sizeof(img), "%s/%d.img", dir, slot);
    disk_path(slot, mnt, sizeof(mnt));
    fd = open(img, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    if (ftruncate(fd, (off_t)mib << 20) < 0)
        return -errno;
    fd = safe_close(fd);
    r = run_mkfs(img);
    if (r < 0)
        goto fail;
    if (mkdir(mnt, 0700) < 0 && errno != EEXIST) {
        r = -errno;
        goto fail;
    }
    r = loop_mount(img, mnt);
    if (r < 0)
        goto fail;
    snprintf(img, sizeof(img), "%s/lost+found", mnt);
    (void)rmdir(img);                          /* nothing to recover: the disk is scratch space */
    if (layout_fn && (r = layout_fn(mnt)) < 0) /* here, off the create path, when pooled */
        log_warn("disk %d: lay out: %s", slot, strerror(-r));
    return 0;
fail:
    unlink(img);
    return r;
}

static void disk_destroy(int32_t slot)
{
    char img[600], mnt[600];

    disk_path(slot, mnt, sizeof(mnt));
    if (umount2(mnt, MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
        log_warn("unmount %s: %m", mnt);
    rmdir(mnt);
    snprintf(img, sizeof(img), "%s/%d.img", dir, slot);
    unlink(img);
}

/* Remove everything inside the disk's root, never following a symlink, but for the private
 * copies of the loader, libc and shells and the directories that hold them (private-libs.h),
 * which are checked and kept. rel is dfd's path relative to the disk's root ("" for it). */
static int wipe_at(int dfd, const char *rel)
{
    _cleanup_closedir_ DIR *d = fdopendir(dfd);
    struct dirent *de;
    int r = 0;

    if (!d) {
        close(dfd);
        return -errno;
    }
    while ((de = readdir(d))) {
        char sub_rel[PATH_MAX];
        int keep;

        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        snprintf(sub_rel, sizeof(sub_rel), "%s%s%s", rel, *rel ? "/" : "", de->d_name);
        keep = private_libs_keep(sub_rel);
        if (keep == PRIVATE_LIBS_COPY && private_libs_check_copy(dirfd(d), de->d_name) == 0)
            continue;
        if (keep != PRIVATE_LIBS_DIR && de->d_type != DT_DIR &&
            unlinkat(dirfd(d), de->d_name, 0) == 0)
            continue;
        if (keep != PRIVATE_LIBS_DIR && de->d_type != DT_DIR && errno != EISDIR && errno != EPERM) {
            r = -errno;
            continue;
        }
        int sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub < 0) {
            if (keep == PRIVATE_LIBS_DIR && unlinkat(dirfd(d), de->d_name, 0) == 0)
                continue; /* not a directory where one is expected: the seed makes it anew */
            r = -errno;
            continue;
        }
        (void)fchmod(sub, 0700); /* overlay's work dir is mode 000 */
        if (keep == PRIVATE_LIBS_DIR) {
            int k = wipe_at(fcntl(sub, F_DUPFD_CLOEXEC, 0), sub_rel);
            if (k == 0)
                k = private_libs_reset_dir(sub);
            close(sub);
            if (k < 0)
                r = k;
            continue;
        }
        wipe_at(sub, sub_rel);
        if (unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR) < 0)
            r = -errno;
    }
    return r;
}

static int find_slot(void)
{
    for (int32_t i = 0; i < MAX_DISKS; i++)
        if (disks[i].state == D_NONE)
            return i;
    return -ENOSPC;
}

static unsigned count_free_default(void)
{
    unsigned n = 0;
    for (int32_t i = 0; i < MAX_DISKS; i++)
        n += disks[i].state == D_FREE && disks[i].mib == def_mib;
    return n;
}

/* Wipe a released disk and hand its freed blocks back to the host file (FITRIM punches holes
 * in the sparse image). Returns 0 when the disk is clean and reusable. */
static int scrub(int32_t slot)
{
    char mnt[600];
    struct fstrim_range range = {.len = UINT64_MAX};
    int fd, r = -EIO;

    disk_path(slot, mnt, sizeof(mnt));
    fd = is_mounted(mnt) ? open(mnt, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) : -1;
    if (fd < 0)
        return r;
    (void)!fchown(fd, 0, 0);
    (void)fchmod(fd, 0700);
    r = wipe_at(fcntl(fd, F_DUPFD_CLOEXEC, 0), ""); /* wipe_at takes ownership of its fd */
    if (r == 0 && ioctl(fd, FITRIM, &range) < 0)
        log_debug("FITRIM on %s: %m", mnt);
    close(fd);
    int s = r == 0 && layout_fn ? layout_fn(mnt) : 0;
    if (s < 0)
        log_warn("disk %d: lay out: %s", slot, strerror(-s));
    return r;
}

static int32_t find_state(enum disk_state st)
{
    for (int32_t i = 0; i < MAX_DISKS; i++)
        if (disks[i].state == st)
            return i;
    return -1;
}

/* Background work, in order: scrub released disks, then keep warm_target clean disks of the
 * default size ready. */
static void *refill_main(void *arg)
{
    pthread_mutex_lock(&mu);
    while (!stopping) {
        int32_t slot = find_state(D_ORPHAN);
        if (slot >= 0) {
            disks[slot].state = D_USED; /* reserved until destroyed */
            pthread_mutex_unlock(&mu);
            disk_destroy(slot);
            pthread_mutex_lock(&mu);
            disks[slot].state = D_NONE;
            continue;
        }
        slot = find_state(D_DIRTY);
        if (slot >= 0) {
            disks[slot].state = D_USED; /* ours while we scrub it */
            pthread_mutex_unlock(&mu);
            int r = scrub(slot);
            pthread_mutex_lock(&mu);
            bool keep =
                r == 0 && disks[slot].mib == def_mib && count_free_default() < warm_target * 2;
            if (keep) {
                disks[slot].state = D_FREE;
            } else {
                /* The slot stays reserved until its image is gone: a create that reused it
                 * earlier would have its new image unlinked under it. */
                pthread_mutex_unlock(&mu);
                disk_destroy(slot);
                pthread_mutex_lock(&mu);
                disks[slot].state = D_NONE;
            }
            pthread_cond_broadcast(&cv);
            continue;
        }
        if (count_free_default() >= warm_target) {
            pthread_cond_wait(&cv, &mu);
            continue;
        }
        slot = find_slot();
        if (slot < 0) {
            pthread_cond_wait(&cv, &mu);
            continue;
        }
        disks[slot].state = D_USED; /* reserved while we build it */
        pthread_mutex_unlock(&mu);
        int r = disk_create(slot, def_mib);
        pthread_mutex_lock(&mu);
        if (r < 0) {
            disks[slot].state = D_NONE;
            log_warn("cannot prepare a sandbox disk: %s", strerror(-r));
            pthread_mutex_unlock(&mu);
            sleep(1);
            pthread_mutex_lock(&mu);
        } else {
            disks[slot] = (struct disk){D_FREE, def_mib};
            pthread_cond_broadcast(&cv);
        }
    }
    pthread_mutex_unlock(&mu);
    return NULL;
}

int disk_pool_init(const char *state_dir, uint32_t default_mib, unsigned warm,
                   int (*layout)(const char *mnt), struct cove_err *err)
{
    layout_fn = layout;
    snprintf(dir, sizeof(dir), "%s/disks", state_dir);
    def_mib = default_mib;
    warm_target = warm;
    disks = calloc(MAX_DISKS, sizeof(*disks));
    if (!disks)
        return cove_err_set(err, -ENOMEM, "out of memory");
    if (mkdir(dir, 0711) < 0 && errno != EEXIST)
        return cove_err_errno(err, errno, "create %s", dir);
    (void)chmod(dir, 0711);
    /* Make the disks directory a shared mount, so a disk mounted after a sandbox init was
     * cloned (the warm pool clones them ahead of time, each with its own copy of the mount
     * table) still appears in that init's namespace before it builds its root. Sandboxes
     * make their mounts private as they start, so nothing propagates into a running one. */
    struct statx sx;
    if (statx(AT_FDCWD, dir, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &sx) < 0 ||
        !(sx.stx_attributes & STATX_ATTR_MOUNT_ROOT)) {
        if (mount(dir, dir, NULL, MS_BIND, NULL) < 0)
            return cove_err_errno(err, errno, "bind-mount %s", dir);
    }
    if (mount(NULL, dir, NULL, MS_SHARED, NULL) < 0)
        return cove_err_errno(err, errno, "make %s a shared mount", dir);
    /* Disks left by an earlier run are adopted by their sandboxes (disk_adopt); those no
     * sandbox claims are destroyed by disk_pool_sweep() later. Mark them as present. */
    _cleanup_closedir_ DIR *d = opendir(dir);
    for (struct dirent *de; d && (de = readdir(d));) {
        char *end;
        long n = strtol(de->d_name, &end, 10);
        if (end != de->d_name && !strcmp(end, ".img") && n >= 0 && n < MAX_DISKS)
            disks[n].state = D_FREE, disks[n].mib = 0; /* size unknown: not reused as pooled */
    }
    return 0;
}

static void start_refill(void)
{
    if (!started && warm_target > 0) {
        started = true;
        pthread_create(&refill_thread, NULL, refill_main, NULL);
    }
}

void disk_pool_stop(void)
{
    pthread_mutex_lock(&mu);
    stopping = true;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
    if (started)
        pthread_join(refill_thread, NULL);
}

int disk_adopt(int32_t slot, struct cove_err *err)
{
    char img[600], mnt[600];
    int r = 0;

    if (slot < 0 || slot >= MAX_DISKS)
        return cove_err_set(err, -EINVAL, "bad disk slot %d", slot);
    disk_path(slot, mnt, sizeof(mnt));
    snprintf(img, sizeof(img), "%s/%d.img", dir, slot);
    if (!is_mounted(mnt)) {
        (void)mkdir(mnt, 0700);
        r = loop_mount(img, mnt);
        if (r < 0)
            return cove_err_errno(err, -r, "mount sandbox disk %s", img);
    }
    pthread_mutex_lock(&mu);
    disks[slot].state = D_USED;
    pthread_mutex_unlock(&mu);
    return 0;
}

/* Destroy disks that no sandbox adopted (left by a crash mid-create or mid-delete, or the
 * pool of the earlier run). Called once after every sandbox was restored. With a pool this
 * is the background thread's first job: unmounting takes a while per disk, and start-up
 * should not wait for it. */
void disk_pool_sweep(void)
{
    pthread_mutex_lock(&mu);
    for (int32_t i = 0; i < MAX_DISKS; i++) {
        if (disks[i].state == D_FREE && disks[i].mib == 0 && warm_target > 0) {
            disks[i].state = D_ORPHAN;
        } else if (disks[i].state == D_FREE && disks[i].mib == 0) {
            disks[i].state = D_USED; /* reserved until destroyed */
            pthread_mutex_unlock(&mu);
            disk_destroy(i);
            pthread_mutex_lock(&mu);
            disks[i].state = D_NONE;
        }
    }
    pthread_mutex_unlock(&mu);
    start_refill();
}

int disk_acquire(uint32_t size_mib, int32_t *ret_slot, struct cove_err *err)
{
    int32_t slot = -1;
    int r;

    pthread_mutex_lock(&mu);
    for (int32_t i = 0; i < MAX_DISKS; i++) {
        if (disks[i].state == D_FREE && disks[i].mib == size_mib) {
            slot = i;
            break;
        }
    }
    if (slot < 0) {
        slot = find_slot();
        if (slot < 0) {
            pthread_mutex_unlock(&mu);
            return cove_err_set(err, -ENOSPC, "too many sandbox disks");
        }
    }
    bool fresh = disks[slot].state == D_NONE;
    disks[slot] = (struct disk){D_USED, size_mib};
    pthread_cond_broadcast(&cv); /* the pool may need a refill */
    pthread_mutex_unlock(&mu);
    if (fresh) {
        r = disk_create(slot, size_mib);
        if (r < 0) {
            pthread_mutex_lock(&mu);
            disks[slot].state = D_NONE;
            pthread_mutex_unlock(&mu);
            return cove_err_errno(err, -r, "create a %u MiB sandbox disk", size_mib);
        }
    }
    *ret_slot = slot;
    return 0;
}

void disk_release(int32_t slot)
{
    bool later;

    if (slot < 0 || slot >= MAX_DISKS)
        return;
    /* With a pool, a default-size disk is scrubbed in the background and reused; otherwise it
     * is destroyed now, which needs no scrub at all. */
    pthread_mutex_lock(&mu);
    later = started && disks[slot].mib == def_mib;
    if (later)
        disks[slot].state = D_DIRTY;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
    if (later)
        return;
    /* The slot stays ours (D_USED) until the image is gone, so no create can reuse it. */
    disk_destroy(slot);
    pthread_mutex_lock(&mu);
    disks[slot].state = D_NONE;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
}

unsigned disk_count_mounted(void)
{
    unsigned n = 0;
    char mnt[600];

    for (int32_t i = 0; i < MAX_DISKS; i++) {
        if (disks && disks[i].state != D_NONE) {
            disk_path(i, mnt, sizeof(mnt));
            n += is_mounted(mnt);
        }
    }
    return n;
}
