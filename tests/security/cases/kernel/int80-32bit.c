/* attack: make 32-bit system calls through `int $0x80` from a 64-bit process: the i386 table
 *         has other numbers, so a filter written for x86_64 numbers would let e.g. mount(2)
 *         (i386 nr 21) through under another name (x86_64 nr 21 is access)
 * why: the filter kills the process for any call from another ABI (SECCOMP_RET_KILL_PROCESS on
 *      a foreign audit arch), so the call never runs: the child dies of SIGSYS
 * expect: exit=0
 * stdout-has: SAFE int 0x80 getuid32
 * stdout-has: SAFE int 0x80 mount
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static long int80(long nr, long a, long b, long c)
{
    long ret;
    __asm__ volatile("int $0x80" : "=a"(ret) : "a"(nr), "b"(a), "c"(b), "d"(c) : "memory");
    return ret;
}

/* In a child: the filter kills the whole process. */
static void attempt(const char *what, long nr, long a, long b, long c)
{
    int status;
    pid_t pid;

    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        long r = int80(nr, a, b, c);
        printf("ESCAPE %s: the 32-bit call returned %ld\n", what, r);
        fflush(stdout);
        _exit(0);
    }
    waitpid(pid, &status, 0);
    if (WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS)
        printf("SAFE %s: killed by SIGSYS before the call ran\n", what);
    else if (WIFSIGNALED(status))
        printf("ESCAPE %s: child died of signal %d, not SIGSYS\n", what, WTERMSIG(status));
    else
        printf("ESCAPE %s: child exited %d\n", what, WEXITSTATUS(status));
}

int main(void)
{
    static char target[] = "/tmp", fstype[] = "tmpfs", src[] = "none";

    attempt("int 0x80 getuid32", 199, 0, 0, 0);
    /* mount(src, target, fstype) on i386; pointers below 4 GiB are needed for int 0x80, so
     * pass static strings (non-PIE data may not be, which only makes the call fail). */
    attempt("int 0x80 mount", 21, (long)(unsigned)(unsigned long)src,
            (long)(unsigned)(unsigned long)target, (long)(unsigned)(unsigned long)fstype);
    return 0;
}
