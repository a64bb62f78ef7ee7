/* attack: open a perf event on the CPU and on our own task (side channels, kernel addresses,
 *         and a long list of perf CVEs)
 * why: perf_event_open is EPERM under the filter
 * expect: exit=0
 * stdout-has: SAFE perf_event_open(self)
 * stdout-has: SAFE perf_event_open(cpu 0)
 */
#include <errno.h>
#include <linux/perf_event.h>
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
    struct perf_event_attr a = {0};

    a.type = PERF_TYPE_SOFTWARE;
    a.size = sizeof(a);
    a.config = PERF_COUNT_SW_CPU_CLOCK;
    a.exclude_kernel = 1;
    DENIED(syscall(SYS_perf_event_open, &a, 0, -1, -1, 0), "perf_event_open(self)");
    a.exclude_kernel = 0;
    DENIED(syscall(SYS_perf_event_open, &a, -1, 0, -1, 0), "perf_event_open(cpu 0)");
    return 0;
}
