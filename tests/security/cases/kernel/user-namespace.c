/* attack: create a new user namespace, where the creator gets a full capability set over fresh
 *         namespaces: unshare(CLONE_NEWUSER), raw clone(CLONE_NEWUSER), clone3 (whose flags sit
 *         in memory where seccomp cannot see them), and unshare of every other namespace
 * why: the filter denies CLONE_NEWUSER in unshare and clone (EPERM) and makes clone3 ENOSYS so
 *      libc falls back to the filtered clone; the other namespaces need CAP_SYS_ADMIN, which
 *      the sandbox user lacks (EPERM)
 * expect: exit=0
 * stdout-has: SAFE unshare(CLONE_NEWUSER)
 * stdout-has: SAFE clone(CLONE_NEWUSER)
 * stdout-has: SAFE clone3(CLONE_NEWUSER)
 * stdout-has: SAFE unshare(CLONE_NEWNET)
 */
#include <errno.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static void denied(long r, int want, const char *what)
{
    if (r == 0) {
        /* a clone that succeeded: we are the child */
        _exit(42);
    }
    if (r < 0 && errno == want) {
        printf("SAFE %s: %s\n", what, strerrorname_np(errno));
    } else {
        printf("ESCAPE %s: returned %ld (%s)\n", what, r, strerrorname_np(errno));
        if (r > 0)
            waitpid((pid_t)r, NULL, __WALL);
    }
}

int main(void)
{
    static const struct {
        int flag;
        const char *name;
    } others[] = {{CLONE_NEWNS, "CLONE_NEWNS"},
                  {CLONE_NEWNET, "CLONE_NEWNET"},
                  {CLONE_NEWPID, "CLONE_NEWPID"},
                  {CLONE_NEWIPC, "CLONE_NEWIPC"},
                  {CLONE_NEWUTS, "CLONE_NEWUTS"},
                  {CLONE_NEWCGROUP, "CLONE_NEWCGROUP"},
                  {0x00000080 /* CLONE_NEWTIME */, "CLONE_NEWTIME"}};
    struct clone_args ca = {.flags = CLONE_NEWUSER, .exit_signal = SIGCHLD};
    char what[64];

    errno = 0;
    denied(unshare(CLONE_NEWUSER), EPERM, "unshare(CLONE_NEWUSER)");
    errno = 0;
    denied(unshare(CLONE_NEWUSER | CLONE_NEWNS), EPERM, "unshare(CLONE_NEWUSER|CLONE_NEWNS)");
    errno = 0;
    denied(syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, NULL, NULL, NULL, 0), EPERM,
           "clone(CLONE_NEWUSER)");
    errno = 0;
    denied(syscall(SYS_clone3, &ca, sizeof(ca)), ENOSYS, "clone3(CLONE_NEWUSER)");
    for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
        snprintf(what, sizeof(what), "unshare(%s)", others[i].name);
        errno = 0;
        denied(unshare(others[i].flag), EPERM, what);
    }
    fflush(stdout);
    return 0;
}
