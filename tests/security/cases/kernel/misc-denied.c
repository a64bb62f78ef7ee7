/* attack: the rest of the denied surface: open_by_handle_at (the "shocker" container escape),
 *         name_to_handle_at, setns, fanotify_init, syslog, swapon/swapoff, acct, quotactl,
 *         vhangup, iopl, ioperm, modify_ldt, lookup_dcookie
 * why: each is EPERM under the filter; most also need capabilities the user lacks, the filter
 *      makes the answer independent of the host's configuration
 * expect: exit=0
 * stdout-has: SAFE open_by_handle_at
 * stdout-has: SAFE name_to_handle_at
 * stdout-has: SAFE setns
 * stdout-has: SAFE modify_ldt
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
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
    struct {
        unsigned int bytes;
        int type;
        unsigned char f[128];
    } handle = {.bytes = 8, .type = 1, .f = {2, 0, 0, 0, 0, 0, 0, 0}}; /* inode 2: a root */
    int mount_id, nsfd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    char buf[64];

    DENIED(syscall(SYS_open_by_handle_at, AT_FDCWD, &handle, O_RDONLY), "open_by_handle_at");
    handle.bytes = sizeof(handle.f);
    DENIED(syscall(SYS_name_to_handle_at, AT_FDCWD, "/etc", &handle, &mount_id, 0),
           "name_to_handle_at");
    DENIED(syscall(SYS_setns, nsfd, 0), "setns");
    DENIED(syscall(SYS_fanotify_init, 0, 0), "fanotify_init");
    DENIED(syscall(SYS_syslog, 3 /* READ_ALL */, buf, sizeof(buf)), "syslog");
    DENIED(syscall(SYS_swapon, "/tmp/swap", 0), "swapon");
    DENIED(syscall(SYS_swapoff, "/tmp/swap"), "swapoff");
    DENIED(syscall(SYS_acct, "/tmp/acct"), "acct");
    DENIED(syscall(SYS_quotactl, 0, "/", 0, NULL), "quotactl");
    DENIED(syscall(SYS_vhangup), "vhangup");
    DENIED(syscall(SYS_iopl, 3), "iopl");
    DENIED(syscall(SYS_ioperm, 0x80, 1, 1), "ioperm");
    DENIED(syscall(SYS_modify_ldt, 0, buf, sizeof(buf)), "modify_ldt");
    DENIED(syscall(SYS_lookup_dcookie, 0, buf, sizeof(buf)), "lookup_dcookie");
    return 0;
}
