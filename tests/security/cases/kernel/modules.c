/* attack: load or unload kernel modules: init_module with a bogus image, finit_module on a
 *         file, delete_module of a common module
 * why: all three are EPERM under the filter (and need CAP_SYS_MODULE on the host)
 * expect: exit=0
 * stdout-has: SAFE init_module
 * stdout-has: SAFE finit_module
 * stdout-has: SAFE delete_module
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
    static char image[4096] = "\177ELF";
    int fd = open("/bin/true", O_RDONLY | O_CLOEXEC);

    DENIED(syscall(SYS_init_module, image, sizeof(image), ""), "init_module");
    DENIED(syscall(SYS_finit_module, fd, "", 0), "finit_module");
    DENIED(syscall(SYS_delete_module, "loop", O_NONBLOCK), "delete_module");
    return 0;
}
