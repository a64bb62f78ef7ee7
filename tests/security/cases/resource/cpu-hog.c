/* attack: a CPU hog (8 busy processes) next to a neighbour sandbox that needs one core
 * why: each sandbox's CPU is capped by its cgroup quota (cpu=1 here) and sandboxes are
 *      scheduled as groups, so the hog gets at most one core however many processes it runs
 *      and the neighbour keeps its share (at least a third of what the whole hog gets; without
 *      group scheduling it would get an eighth); the daemon stays responsive. Shares are
 *      compared with each other, so other load on the host does not decide the verdict
 * peer: around
 * compare: peer.neighbour >= 0.33 * main.hog
 * timeout: 30
 * expect: exit=0
 * stdout-has: SAFE hog used
 * meanwhile: health<=2
 * peer-expect: exit=0
 * peer-stdout-has: NEIGHBOUR KEPT
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Spin for `secs` of wall time; returns the share of a core we got meanwhile. */
static double spin(double secs)
{
    double w0 = now(CLOCK_MONOTONIC), c0 = now(CLOCK_PROCESS_CPUTIME_ID);
    while (now(CLOCK_MONOTONIC) - w0 < secs)
        ;
    return (now(CLOCK_PROCESS_CPUTIME_ID) - c0) / (now(CLOCK_MONOTONIC) - w0);
}

/* Our share of a core while the hog runs (the runner compares it with the hog's). */
static int neighbour(void)
{
    double during;

    close(open("/tmp/.cove-ready", O_CREAT | O_WRONLY, 0644));
    usleep(500000); /* the hog starts */
    during = spin(2.5);
    printf("NEIGHBOUR KEPT %.2f of a core next to the hog\nMETRIC neighbour %.3f\n", during,
           during);
    return 0;
}

int main(int argc, char **argv)
{
    pid_t kids[8];
    struct rusage ru;
    double w0, used, wall;

    if (argc > 1 && !strcmp(argv[1], "peer"))
        return neighbour();
    w0 = now(CLOCK_MONOTONIC);
    for (int i = 0; i < 8; i++)
        if ((kids[i] = fork()) == 0)
            for (;;)
                ;
    sleep(4);
    for (int i = 0; i < 8; i++)
        kill(kids[i], SIGKILL);
    for (int i = 0; i < 8; i++)
        waitpid(kids[i], NULL, 0);
    wall = now(CLOCK_MONOTONIC) - w0;
    getrusage(RUSAGE_CHILDREN, &ru);
    used = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
    if (used / wall > 1.25)
        printf("ESCAPE hog used %.2f cores with cpu=1\n", used / wall);
    else
        printf("SAFE hog used %.2f cores with cpu=1\n", used / wall);
    printf("METRIC hog %.3f\n", used / wall);
    return 0;
}
