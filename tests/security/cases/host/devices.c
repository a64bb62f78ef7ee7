/* attack: reach hardware and host devices: mknod a /dev/mem or disk node, open nodes the host
 *         has (/dev/mem, /dev/kmsg, disks, /dev/kvm, /dev/net/tun, loop control), or add a
 *         node to /dev
 * why: /dev is a small read-only tmpfs with only null, zero, full, random, urandom, tty, a
 *      private devpts and shm; mknod needs CAP_MKNOD (which the user lacks) and any node made
 *      in a user namespace's mounts is unusable (nodev)
 * expect: exit=0
 * stdout-has: SAFE mknod /tmp/mem
 * stdout-has: SAFE open /dev/mem
 * stdout-has: SAFE create /dev/x
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

static void try_mknod(const char *path, mode_t mode, dev_t dev)
{
    errno = 0;
    int r = mknod(path, mode, dev);
    printf("%s mknod %s: %d (%s)\n", r < 0 && errno == EPERM ? "SAFE" : "ESCAPE", path, r,
           strerrorname_np(errno));
}

int main(void)
{
    static const char *const nodes[] = {
        "/dev/mem",          "/dev/kmem",           "/dev/port",    "/dev/kmsg", "/dev/sda",
        "/dev/vda",          "/dev/nvme0",          "/dev/kvm",     "/dev/fuse", "/dev/net/tun",
        "/dev/loop-control", "/dev/mapper/control", "/dev/console", "/dev/tty0", "/dev/vsock",
        "/dev/vhost-net",    "/dev/userfaultfd"};
    try_mknod("/tmp/mem", S_IFCHR | 0666, makedev(1, 1));
    try_mknod("/tmp/vda", S_IFBLK | 0666, makedev(253, 0));
    try_mknod("/dev/shm/kmsg", S_IFCHR | 0666, makedev(1, 11));
    for (size_t i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++) {
        errno = 0;
        int fd = open(nodes[i], O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        printf("%s open %s: %d (%s)\n", fd < 0 && errno == ENOENT ? "SAFE" : "ESCAPE", nodes[i], fd,
               strerrorname_np(errno));
    }
    errno = 0;
    int fd = open("/dev/x", O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
    printf("%s create /dev/x: %d (%s)\n", fd < 0 && errno == EROFS ? "SAFE" : "ESCAPE", fd,
           strerrorname_np(errno));
    return 0;
}
