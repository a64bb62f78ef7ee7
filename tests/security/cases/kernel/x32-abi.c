/* attack: use the x32 ABI (system call numbers with bit 30 set) to reach calls under numbers
 *         the filter does not list
 * why: the filter kills the process for x32 numbers too, so the call never runs
 * expect: exit=0
 * stdout-has: SAFE x32 getpid
 * stdout-has: SAFE x32 unshare
 */
#include <signal.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define X32_BIT 0x40000000L

static void attempt(const char *what, long nr, long a)
{
    int status;
    pid_t pid;

    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        long r = syscall(X32_BIT | nr, a);
        printf("ESCAPE %s: the x32 call returned %ld\n", what, r);
        fflush(stdout);
        _exit(0);
    }
    waitpid(pid, &status, 0);
    if (WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS)
        printf("SAFE %s: killed by SIGSYS\n", what);
    else
        printf("ESCAPE %s: status %#x\n", what, status);
}

int main(void)
{
    attempt("x32 getpid", SYS_getpid, 0);
    attempt("x32 unshare", SYS_unshare, 0x10000000 /* CLONE_NEWUSER */);
    return 0;
}
