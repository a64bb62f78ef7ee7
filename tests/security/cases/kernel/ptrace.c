/* attack: trace or read the memory of other processes: PTRACE_TRACEME, PTRACE_ATTACH to a child
 *         and to PID 1, process_vm_readv/writev, pidfd_getfd, kcmp
 * why: the filter denies ptrace and its relatives outright (tracing also defeats seccomp on older
 *      kernels); nothing outside the sandbox is even nameable from its PID namespace
 * expect: exit=0
 * stdout-has: SAFE ptrace(PTRACE_ATTACH, 1)
 * stdout-has: SAFE ptrace(PTRACE_ATTACH, child)
 * stdout-has: SAFE process_vm_readv
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
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
    char buf[16] = "", secret[16] = "secret";
    struct iovec local = {buf, sizeof(buf)}, remote = {secret, sizeof(secret)};
    pid_t child = fork();

    if (child == 0) {
        pause();
        _exit(0);
    }
    DENIED(ptrace(PTRACE_ATTACH, 1, NULL, NULL), "ptrace(PTRACE_ATTACH, 1)");
    DENIED(ptrace(PTRACE_ATTACH, child, NULL, NULL), "ptrace(PTRACE_ATTACH, child)");
    DENIED(ptrace(PTRACE_SEIZE, child, NULL, NULL), "ptrace(PTRACE_SEIZE, child)");
    DENIED(process_vm_readv(child, &local, 1, &remote, 1, 0), "process_vm_readv");
    DENIED(process_vm_writev(child, &local, 1, &remote, 1, 0), "process_vm_writev");
    {
        int pidfd = (int)syscall(SYS_pidfd_open, child, 0);
        DENIED(syscall(SYS_pidfd_getfd, pidfd, 0, 0), "pidfd_getfd");
    }
    DENIED(syscall(SYS_kcmp, getpid(), child, 0 /* KCMP_FILE */, 0, 0), "kcmp");
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    /* PTRACE_TRACEME last: in a child, so a success cannot disturb the checks above. */
    child = fork();
    if (child == 0) {
        DENIED(ptrace(PTRACE_TRACEME, 0, NULL, NULL), "ptrace(PTRACE_TRACEME)");
        fflush(stdout);
        _exit(0);
    }
    waitpid(child, NULL, 0);
    return 0;
}
