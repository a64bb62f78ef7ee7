/* attack: a moving target: each process forks a child into a new session and exits at once, so
 *         the live process changes pid and session thousands of times a second
 * why: the timeout freezes the command's cgroup before killing it, so no process can fork its
 *      way past the kill
 * timeout: 2
 * expect: timed_out=true duration<=6
 * after: quiet
 */
#include <unistd.h>

int main(void)
{
    if (fork() > 0)
        for (;;)
            pause(); /* the command itself waits for its timeout */
    for (;;) {
        pid_t pid = fork();
        if (pid > 0)
            _exit(0); /* the parent leaves, the child carries on */
        if (pid == 0)
            setsid();
    }
}
