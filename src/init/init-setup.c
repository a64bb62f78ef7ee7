/* cove-init start-up: build the sandbox's view of the world, then lock it down.
 *
 * Runs as uid 0 of the sandbox's user namespace, with full capabilities over the namespaces
 * coved created and none over the host. Order matters:
 *   - every mount happens before pivot_root, while the host /proc is still visible (the
 *     kernel only lets a user namespace mount a new proc when an existing one is fully
 *     visible, see mount_too_revealing());
 *   - the seccomp filter is installed last, because it denies mount and friends. */
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "init/init.h"

#define FAIL(...)                                                                                  \
    do {                                                                                           \
        int _e = errno;                                                                            \
        snprintf(msg, msgsz, __VA_ARGS__);                                                         \
        size_t _n = strlen(msg);                                                                   \
        snprintf(msg + _n, msgsz - _n, ": %s", strerror(_e));                                      \
        return -(_e ? _e : EIO);                                                                   \
    } while (0)

static int touch(const char *path, mode_t mode)
{
    int fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, mode);
    if (fd < 0)
        return -errno;
    close(fd);
    return 0;
}

/* The devices a program may use: bind-mounted from the nodes coved made on the sandbox's disk
 * (a user namespace cannot mknod), so that no two sandboxes share a device inode or its
 * locks. Everything else in /dev is a symlink or a fresh instance (devpts, shm). */
static int setup_dev(const char *root, const char *disk, uint32_t shm_mib, char *msg, size_t msgsz)
{
    static const char *const nodes[] = {"null", "zero", "full", "random", "urandom", "tty"};
    static const char *const links[][2] = {
        {"/proc/self/fd", "fd"},       {"/proc/self/fd/0", "stdin"}, {"/proc/self/fd/1", "stdout"},
        {"/proc/self/fd/2", "stderr"}, {"pts/ptmx", "ptmx"},
    };
    char dev[600], p[700], opts[64];

    snprintf(dev, sizeof(dev), "%s/dev", root);
    if (mount("tmpfs", dev, "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=755,size=64k,nr_inodes=64") < 0)
        FAIL("mount tmpfs on /dev");
    for (size_t i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++) {
        char src[600];
        snprintf(p, sizeof(p), "%s/%s", dev, nodes[i]);
        snprintf(src, sizeof(src), "%s/" SPAWN_DEVICES_DIR "/%s", disk, nodes[i]);
        if (touch(p, 0666) < 0 || mount(src, p, NULL, MS_BIND, NULL) < 0)
            FAIL("bind %s", src);
    }
    for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
        snprintf(p, sizeof(p), "%s/%s", dev, links[i][1]);
        if (symlink(links[i][0], p) < 0)
            FAIL("symlink /dev/%s", links[i][1]);
    }
    snprintf(p, sizeof(p), "%s/pts", dev);
    if (mkdir(p, 0755) < 0 || mount("devpts", p, "devpts", MS_NOSUID | MS_NOEXEC,
                                    "newinstance,ptmxmode=0666,mode=620") < 0)
        FAIL("mount devpts");
    snprintf(p, sizeof(p), "%s/shm", dev);
    snprintf(opts, sizeof(opts), "mode=1777,size=%um", shm_mib ? shm_mib : 64);
    if (mkdir(p, 01777) < 0 || mount("shm", p, "tmpfs", MS_NOSUID | MS_NODEV, opts) < 0)
        FAIL("mount /dev/shm");
    snprintf(p, sizeof(p), "%s/mqueue", dev);
    (void)mkdir(p, 0755);
    if (mount(NULL, dev, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NOEXEC, NULL) < 0)
        FAIL("remount /dev read-only");
    return 0;
}

/* Hide kernel interfaces that namespaces do not cover, as runc and crun do: bind /dev/null
 * over single files, and make whole trees read-only. */
static int setup_proc_masks(const char *root, const char *disk, char *msg, size_t msgsz)
{
    static const char *const masked[] = {"kcore",         "sysrq-trigger", "timer_list",
                                         "sched_debug",   "keys",          "kallsyms",
                                         "latency_stats", "acpi",          "scsi"};
    static const char *const readonly[] = {"sys", "bus", "fs", "irq"};
    char p[700], null[600];

    /* The sandbox's own null device: the host's would share its locks with every sandbox. */
    snprintf(null, sizeof(null), "%s/" SPAWN_DEVICES_DIR "/null", disk);
    for (size_t i = 0; i < sizeof(masked) / sizeof(masked[0]); i++) {
        struct stat st;
        snprintf(p, sizeof(p), "%s/proc/%s", root, masked[i]);
        if (lstat(p, &st) < 0)
            continue;
        if (S_ISDIR(st.st_mode)) {
            if (mount("tmpfs", p, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                      "size=0,mode=555") < 0)
                FAIL("mask /proc/%s", masked[i]);
        } else if (mount(null, p, NULL, MS_BIND, NULL) < 0) {
            FAIL("mask /proc/%s", masked[i]);
        }
    }
    for (size_t i = 0; i < sizeof(readonly) / sizeof(readonly[0]); i++) {
        snprintf(p, sizeof(p), "%s/proc/%s", root, readonly[i]);
        if (access(p, F_OK) < 0)
            continue;
        if (mount(p, p, NULL, MS_BIND | MS_REC, NULL) < 0 ||
            mount(NULL, p, NULL,
                  MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
            FAIL("make /proc/%s read-only", readonly[i]);
    }
    return 0;
}

static int setup_rootfs(const struct ctl_init_config *cfg, char *msg, size_t msgsz)
{
    char root[600], p[700], opts[2048];

    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        FAIL("make mounts private");
    snprintf(root, sizeof(root), "%s/mnt", cfg->disk);
    /* Overlay options show in /proc/self/mountinfo, so they must not name host paths: the
     * layers on the disk are given relative to it (our working directory while mounting),
     * and the image's through a descriptor, as /proc/self/fd/N. userxattr keeps overlay
     * metadata in user.* xattrs, which a user namespace may write. */
    int lower = open(cfg->lower, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (lower < 0 || chdir(cfg->disk) < 0)
        FAIL("open the image and the disk");
    snprintf(opts, sizeof(opts),
             "lowerdir=/proc/self/fd/%d,upperdir=upper/root,workdir=work/root,userxattr", lower);
    if (mount("cove-root", "mnt", "overlay", MS_NOSUID | MS_NODEV, opts) < 0)
        FAIL("mount root overlay");
    close(lower);
    snprintf(opts, sizeof(opts), "lowerdir=%s,upperdir=upper/usr,workdir=work/usr,userxattr",
             cfg->usr_lower);
    if (mount("cove-usr", "mnt/usr", "overlay", MS_NOSUID | MS_NODEV, opts) < 0)
        FAIL("mount /usr overlay");
    snprintf(p, sizeof(p), "%s/proc", root);
    if (mount("proc", p, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
        FAIL("mount /proc");
    if (setup_proc_masks(root, cfg->disk, msg, msgsz) < 0)
        return -EIO;
    if (setup_dev(root, cfg->disk, cfg->shm_mib, msg, msgsz) < 0)
        return -EIO;
    /* pivot_root(".", ".") stacks the old root under the new one; detaching it leaves no
     * path back to the host. */
    if (chdir(root) < 0)
        FAIL("chdir to new root");
    if (syscall(SYS_pivot_root, ".", ".") < 0)
        FAIL("pivot_root");
    if (umount2(".", MNT_DETACH) < 0)
        FAIL("detach old root");
    if (chdir("/") < 0)
        FAIL("chdir /");
    return 0;
}

static int setup_loopback(char *msg, size_t msgsz)
{
    struct ifreq ifr = {0};
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

    if (fd < 0)
        FAIL("socket");
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
    if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
        FAIL("get lo flags");
    ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
    if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
        FAIL("bring up lo");
    close(fd);
    return 0;
}

static int lockdown(int seccomp_fd, char *msg, size_t msgsz)
{
    struct sock_filter *insns;
    struct sock_fprog prog;
    struct stat st;
    size_t got = 0;

    /* No capability can come back through exec: empty the bounding set. init keeps its own
     * effective set to switch children to the sandbox user. */
    for (int cap = 0; cap <= 63; cap++)
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
            FAIL("drop capability %d from the bounding set", cap);
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        FAIL("set no_new_privs");
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
        FAIL("set non-dumpable");
    if (fstat(seccomp_fd, &st) < 0 || st.st_size <= 0 || st.st_size % sizeof(struct sock_filter) ||
        st.st_size > 65536 * (off_t)sizeof(struct sock_filter))
        FAIL("seccomp program");
    insns = malloc((size_t)st.st_size);
    if (!insns)
        FAIL("seccomp program");
    while (got < (size_t)st.st_size) {
        ssize_t n = pread(seccomp_fd, (char *)insns + got, (size_t)st.st_size - got, (off_t)got);
        if (n <= 0)
            FAIL("read seccomp program");
        got += (size_t)n;
    }
    close(seccomp_fd);
    prog.len = (unsigned short)(got / sizeof(struct sock_filter));
    prog.filter = insns;
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &prog) < 0)
        FAIL("install seccomp filter");
    free(insns);
    return 0;
}

int init_setup(const struct ctl_init_config *cfg, int seccomp_fd, char *msg, size_t msgsz)
{
    struct rlimit core = {0, 0};
    int r;

    r = setup_rootfs(cfg, msg, msgsz);
    if (r < 0)
        return r;
    if (sethostname(cfg->hostname, strnlen(cfg->hostname, sizeof(cfg->hostname))) < 0)
        FAIL("sethostname");
    r = setup_loopback(msg, msgsz);
    if (r < 0)
        return r;
    setrlimit(RLIMIT_CORE, &core);
    return lockdown(seccomp_fd, msg, msgsz);
}
