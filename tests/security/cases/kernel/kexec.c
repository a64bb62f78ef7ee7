/* attack: replace the running kernel with kexec_load / kexec_file_load
 * why: both are EPERM under the filter (and need CAP_SYS_BOOT in the initial namespace)
 * expect: exit=0
 * stdout-has: SAFE kexec_load
 * stdout-has: SAFE kexec_file_load
 * stdout-has: SAFE reboot
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/reboot.h>
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
    int fd = open("/bin/sh", O_RDONLY | O_CLOEXEC);

    DENIED(syscall(SYS_kexec_load, 0, 0, NULL, 0), "kexec_load");
    DENIED(syscall(SYS_kexec_file_load, fd, fd, 1, "", 0), "kexec_file_load");
    /* CAD off: harmless if it ever got through, but it must not. */
    DENIED(syscall(SYS_reboot, LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2, LINUX_REBOOT_CMD_CAD_OFF,
                   NULL),
           "reboot");
    return 0;
}
