/* attack: create a userfaultfd (used to stall the kernel at a chosen page fault and win races
 *         in exploits), by the syscall and through /dev/userfaultfd
 * why: the syscall is EPERM under the filter and /dev has no userfaultfd node
 * expect: exit=0
 * stdout-has: SAFE userfaultfd
 * stdout-has: SAFE open /dev/userfaultfd
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void)
{
    long r;

    errno = 0;
    r = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
    printf("%s userfaultfd: %ld (%s)\n", r < 0 && errno == EPERM ? "SAFE" : "ESCAPE", r,
           strerrorname_np(errno));
    errno = 0;
    r = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
    printf("%s open /dev/userfaultfd: %ld (%s)\n", r < 0 && errno == ENOENT ? "SAFE" : "ESCAPE", r,
           strerrorname_np(errno));
    return 0;
}
