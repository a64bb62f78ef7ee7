/* `cove-init --spawner PPID`: the small process that clones sandbox inits for coved
 * (protocol in ctl-proto.h, why in src/sandbox/spawner.h).
 *
 * A clone does not exec cove-init again: it is already cove-init, single-threaded and
 * small, so after coved's go byte it becomes uid 0 of its user namespace (keeping the full
 * capability set it was cloned with there) and runs cove-init's main. That saves an exec
 * per sandbox, and with it the teardown of the address space the clone was copied with.
 * Until then the clone makes raw system calls only, and cove-init never relies on libc's
 * cached thread id (no raise, abort or threads), which a raw clone leaves stale. */
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "init/init.h"
#include "sandbox/larva.h"

#define SPAWNER_SOCK 3

static __attribute__((noreturn)) void larva_main(const int fds[SPAWN_N_FDS])
{
    int r = larva_prepare(fds);

    if (r < 0) {
        larva_fail(-r, "cannot start cove-init");
        _exit(127);
    }
    close(CTL_FD_CONFIG + SPAWN_FD_INIT); /* only an exec needs the binary */
    (void)prctl(PR_SET_NAME, "cove-init");
    _exit(init_main());
}

/* One request: received descriptors fds[n], flags; returns the pid or -errno. */
static pid_t clone_larva(uint64_t flags, const int fds[SPAWN_N_FDS], int *ret_pidfd)
{
    struct clone_args ca = {0};
    int pidfd = -1;
    pid_t pid;

    /* Only namespaces may be asked for; CLONE_PARENT makes the init coved's child, and
     * clone3 wants exit_signal 0 with it (the kernel uses ours, SIGCHLD). */
    if (flags & ~(uint64_t)(CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWNET |
                            CLONE_NEWUTS | CLONE_NEWIPC))
        return -EINVAL;
    ca.flags = flags | CLONE_PARENT | CLONE_PIDFD;
    ca.pidfd = (uint64_t)(uintptr_t)&pidfd;
    pid = (pid_t)syscall(SYS_clone3, &ca, sizeof(ca));
    if (pid < 0)
        return -errno;
    if (pid == 0)
        larva_main(fds);
    *ret_pidfd = pidfd;
    return pid;
}

static void serve_one(void)
{
    union {
        char buf[CMSG_SPACE(sizeof(int) * SPAWN_N_FDS)];
        struct cmsghdr align;
    } cb;
    struct spawner_req req;
    struct iovec iov = {.iov_base = &req, .iov_len = sizeof(req)};
    struct msghdr mh = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cb.buf, .msg_controllen = sizeof(cb)};
    struct spawner_reply rep = {.magic = SPAWNER_MAGIC};
    int fds[SPAWN_N_FDS], nfds = 0, pidfd = -1;
    ssize_t n = recvmsg(SPAWNER_SOCK, &mh, MSG_CMSG_CLOEXEC);

    if (n == 0 || (n < 0 && errno != EINTR))
        _exit(0); /* coved is gone */
    if (n < 0)
        return;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
            continue;
        for (size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
            int fd;
            memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
            if (nfds < SPAWN_N_FDS)
                fds[nfds++] = fd;
            else
                close(fd);
        }
    }
    if (n != (ssize_t)sizeof(req) || req.magic != SPAWNER_MAGIC || nfds != SPAWN_N_FDS ||
        (mh.msg_flags & MSG_CTRUNC))
        rep.pid = -EPROTO;
    else
        rep.pid = clone_larva(req.flags, fds, &pidfd);
    for (int i = 0; i < nfds; i++)
        close(fds[i]);

    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } ob;
    struct iovec oiov = {.iov_base = &rep, .iov_len = sizeof(rep)};
    struct msghdr om = {.msg_iov = &oiov, .msg_iovlen = 1};
    if (rep.pid > 0) {
        om.msg_control = ob.buf;
        om.msg_controllen = sizeof(ob.buf);
        struct cmsghdr *c = CMSG_FIRSTHDR(&om);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &pidfd, sizeof(int));
    }
    (void)sendmsg(SPAWNER_SOCK, &om, MSG_NOSIGNAL);
    if (pidfd >= 0)
        close(pidfd);
}

int spawner_main(const char *ppid)
{
    /* Dies with coved; signals meant for coved's process group are not for it. */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != (pid_t)strtol(ppid, NULL, 10))
        return 1;
    (void)prctl(PR_SET_NAME, "coved-spawner");
    signal(SIGINT, SIG_IGN);
    signal(SIGTERM, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    signal(SIGPIPE, SIG_IGN);
    if (fcntl(SPAWNER_SOCK, F_SETFD, FD_CLOEXEC) < 0)
        return 1;
    for (;;)
        serve_one();
}
