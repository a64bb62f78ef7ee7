/* attack: a C fork bomb (every process forks forever) in a sandbox with the default limits
 * why: pids.max (1024 by default) stops the bomb inside its own sandbox, the wall-clock timeout
 *      kills the whole tree (frozen first, so nothing forks past the kill), and the daemon keeps
 *      answering meanwhile; see resource/fork-bomb-neighbour for the neighbours' view
 * ready: yes
 * timeout: 8
 * expect: timed_out=true signal=SIGKILL duration<=12
 * stdout-has: SAFE bomb held at
 * meanwhile: health<=2
 * after: quiet
 *
 * The bomb runs under SCHED_IDLE (which any process may choose for itself) so that this
 * observer, which counts the processes, still gets a slice of the sandbox's one-CPU quota
 * among a thousand forking processes on a loaded host (nice 19 alone was not always enough
 * under ASan); the limit it checks does not depend on CPU.
 */
#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <unistd.h>

int main(void)
{
    int n = 0;

    close(open("/tmp/.cove-ready", O_CREAT | O_WRONLY, 0644));
    if (fork() == 0) {
        struct sched_param sp = {0};
        (void)sched_setscheduler(0, SCHED_IDLE, &sp);
        (void)nice(19);
        for (;;)
            fork();
    }
    sleep(2);
    DIR *d = opendir("/proc");
    for (struct dirent *de; d && (de = readdir(d));)
        n += de->d_name[0] >= '1' && de->d_name[0] <= '9';
    printf("%s bomb held at %d processes (pids limit 1024)\n", n <= 1025 ? "SAFE" : "ESCAPE", n);
    fflush(stdout);
    for (;;)
        pause();
}
