/* attack: a C fork bomb (every process forks forever) in a sandbox with default limits
 * why: pids.max stops the bomb inside its own sandbox and the wall-clock timeout kills the whole
 *      tree; meanwhile the daemon and a neighbouring sandbox must keep answering promptly
 * peer: inside
 * timeout: 4
 * expect: timed_out=true signal=SIGKILL duration<=8
 * meanwhile: health<=2
 * peer-expect: exit=0
 * peer-stdout-has: NEIGHBOUR OK
 * after: quiet
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The neighbour: 30 fork+exec+wait round trips; the slowest must stay under 0.5 s. */
static int neighbour(void)
{
    double worst = 0;
    for (int i = 0; i < 30; i++) {
        double t0 = now();
        pid_t pid = fork();
        if (pid == 0) {
            execl("/bin/true", "true", (char *)NULL);
            _exit(127);
        }
        if (pid < 0 || waitpid(pid, NULL, 0) != pid) {
            printf("ESCAPE neighbour cannot fork: pid %d\n", pid);
            return 1;
        }
        if (now() - t0 > worst)
            worst = now() - t0;
        usleep(50000);
    }
    if (worst > 0.5)
        printf("ESCAPE neighbour starved: slowest fork+exec %.3f s\n", worst);
    else
        printf("NEIGHBOUR OK slowest fork+exec %.3f s\n", worst);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "peer"))
        return neighbour();
    close(open("/tmp/.cove-ready", O_CREAT | O_WRONLY, 0644));
    for (;;)
        fork();
}
