/* attack: touch host-wide identity: signal the host's PID 1, see the host's processes, change
 *         the hostname or domain name, set the clock (settimeofday, clock_settime, adjtimex)
 * why: the PID namespace makes cove-init PID 1 and hides every host process; the UTS namespace
 *      gives the sandbox its own hostname, which the unprivileged user cannot change anyway;
 *      the clock calls are EPERM under the filter
 * expect: exit=0
 * stdout-has: SAFE pid 1 is cove-init
 * stdout-has: SAFE sethostname
 * stdout-has: SAFE settimeofday
 * stdout-has: SAFE clock_settime
 * stdout-has: SAFE hostname is not the host's
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/timex.h>
#include <time.h>
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
    char comm[64] = "", host[256] = "";
    FILE *f = fopen("/proc/1/comm", "r");
    struct timeval tv;
    struct timespec ts;
    struct timex tx = {.modes = ADJ_OFFSET, .offset = 1000};
    const char *host_hostname = getenv("HOST_HOSTNAME");
    int n = 0;

    if (f && fgets(comm, sizeof(comm), f))
        comm[strcspn(comm, "\n")] = '\0';
    printf("%s pid 1 is %s\n", !strcmp(comm, "cove-init") ? "SAFE" : "ESCAPE", comm);
    DENIED(kill(1, SIGKILL), "kill(1, SIGKILL)");
    DIR *d = opendir("/proc");
    for (struct dirent *de; d && (de = readdir(d));)
        n += de->d_name[0] >= '0' && de->d_name[0] <= '9';
    printf("%s %d processes visible\n", n <= 3 ? "SAFE" : "ESCAPE", n);
    DENIED(sethostname("pwned", 5), "sethostname");
    DENIED(setdomainname("pwned", 5), "setdomainname");
    gethostname(host, sizeof(host));
    printf("%s hostname is not the host's (%s)\n",
           host_hostname && strcmp(host, host_hostname) ? "SAFE" : "ESCAPE", host);
    gettimeofday(&tv, NULL);
    DENIED(settimeofday(&tv, NULL), "settimeofday");
    clock_gettime(CLOCK_REALTIME, &ts);
    DENIED(clock_settime(CLOCK_REALTIME, &ts), "clock_settime");
    DENIED(adjtimex(&tx), "adjtimex(ADJ_OFFSET)");
    DENIED(clock_adjtime(CLOCK_REALTIME, &tx), "clock_adjtime");
    return 0;
}
