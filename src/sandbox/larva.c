/* The first steps of a sandbox init's clone (larva.h). Built into coved and cove-init. */
#include "sandbox/larva.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int larva_prepare(const int fds[SPAWN_N_FDS])
{
    int tmp[SPAWN_N_FDS];
    char c;

    /* Out of the way first (a source may sit where another one goes), then in place. */
    for (int i = 0; i < SPAWN_N_FDS; i++)
        if ((tmp[i] = (int)syscall(SYS_fcntl, fds[i], F_DUPFD, 64)) < 0)
            return -errno;
    for (int i = 0; i < SPAWN_N_FDS; i++)
        if (syscall(SYS_dup2, tmp[i], CTL_FD_CONFIG + i) < 0)
            return -errno;
    /* Until it execs or runs init, the clone would otherwise hold every descriptor its
     * parent had open at clone time, and a pooled one may wait a long time. */
    if (syscall(SYS_close_range, CTL_FD_CONFIG + SPAWN_N_FDS, ~0U, 0) < 0 ||
        syscall(SYS_fcntl, CTL_FD_CONFIG + SPAWN_FD_INIT, F_SETFD, FD_CLOEXEC) < 0)
        return -errno;
    if (syscall(SYS_read, CTL_FD_CONFIG + SPAWN_FD_GO, &c, 1) != 1)
        return -EPIPE; /* coved went away before hatching us */
    syscall(SYS_close, CTL_FD_CONFIG + SPAWN_FD_GO);
    /* Raw calls: libc's set*id wrappers would try to signal the other threads of a
     * multi-threaded parent, which this copy of it does not have. */
    if (syscall(SYS_unshare, CLONE_NEWCGROUP) < 0 || syscall(SYS_setgroups, 0, NULL) < 0 ||
        syscall(SYS_setresgid, 0, 0, 0) < 0 || syscall(SYS_setresuid, 0, 0, 0) < 0)
        return -errno;
    return 0;
}

void larva_fail(int err, const char *what)
{
    struct ctl_msg m = {.magic = CTL_MAGIC, .type = CTL_ERROR, .stage = CTL_STAGE_SETUP};

    m.err = err;
    strncpy(m.text, what, sizeof(m.text) - 1);
    (void)!syscall(SYS_write, CTL_FD_STATUS, &m, sizeof(m));
}
