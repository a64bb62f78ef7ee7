/* attack: change the filesystem view: mount a tmpfs, bind-mount, remount / read-write, unmount
 *         a mask, pivot_root, chroot, and the new mount API (fsopen, open_tree, move_mount,
 *         mount_setattr)
 * why: the view is fixed by cove-init before the seccomp filter goes on; every mount call is
 *      EPERM by the filter (and the user has no CAP_SYS_ADMIN anyway), so masks over /proc and
 *      the read-only /dev stay in place
 * expect: exit=0
 * stdout-has: SAFE mount tmpfs
 * stdout-has: SAFE umount2 /proc/kallsyms
 * stdout-has: SAFE fsopen
 * stdout-has: SAFE open_tree
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define DENIED(call, what)                                                                         \
    do {                                                                                           \
        errno = 0;                                                                                 \
        long r_ = (long)(call);                                                                    \
        if (r_ < 0 && errno == EPERM)                                                              \
            printf("SAFE %s: EPERM\n", what);                                                      \
        else                                                                                       \
            printf("ESCAPE %s: returned %ld (%s)\n", what, r_, strerrorname_np(errno));            \
    } while (0)

int main(void)
{
    mkdir("/tmp/m", 0755);
    DENIED(mount("none", "/tmp/m", "tmpfs", 0, NULL), "mount tmpfs");
    DENIED(mount("/", "/tmp/m", NULL, MS_BIND | MS_REC, NULL), "mount --rbind /");
    DENIED(mount(NULL, "/dev", NULL, MS_REMOUNT | MS_BIND, NULL), "remount /dev rw");
    DENIED(mount("proc", "/tmp/m", "proc", 0, NULL), "mount proc");
    DENIED(mount("sysfs", "/tmp/m", "sysfs", 0, NULL), "mount sysfs");
    DENIED(umount2("/proc/kallsyms", MNT_DETACH), "umount2 /proc/kallsyms");
    DENIED(umount2("/proc/sys", MNT_DETACH), "umount2 /proc/sys");
    DENIED(syscall(SYS_pivot_root, "/tmp", "/tmp/m"), "pivot_root");
    DENIED(chroot("/tmp"), "chroot");
    DENIED(syscall(SYS_fsopen, "tmpfs", 0), "fsopen");
    DENIED(syscall(SYS_fspick, AT_FDCWD, "/", 0), "fspick");
    DENIED(syscall(SYS_open_tree, AT_FDCWD, "/", 1 /* OPEN_TREE_CLONE */), "open_tree");
    DENIED(syscall(SYS_move_mount, -1, "", AT_FDCWD, "/tmp/m", 0), "move_mount");
    DENIED(syscall(SYS_mount_setattr, AT_FDCWD, "/", 0, NULL, 0), "mount_setattr");
    return 0;
}
