/* attack: set up an io_uring, whose submissions (socket of any family, openat, ...) run
 *         without passing through the seccomp filter
 * why: io_uring_setup, io_uring_enter and io_uring_register are EPERM under the filter
 * expect: exit=0
 * stdout-has: SAFE io_uring_setup
 * stdout-has: SAFE io_uring_enter
 * stdout-has: SAFE io_uring_register
 */
#include <errno.h>
#include <linux/io_uring.h>
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
    struct io_uring_params p = {0};

    DENIED(syscall(SYS_io_uring_setup, 8, &p), "io_uring_setup");
    DENIED(syscall(SYS_io_uring_enter, 0, 1, 0, 0, NULL, 0), "io_uring_enter");
    DENIED(syscall(SYS_io_uring_register, 0, 0, NULL, 0), "io_uring_register");
    return 0;
}
