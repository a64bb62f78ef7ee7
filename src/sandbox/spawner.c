/* The spawner process and the clone of a sandbox init (see spawner.h). */
#include "sandbox/spawner.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/log.h"
#include "sandbox/ctl-proto.h"

#define SPAWNER_MAGIC 0x636f7665u /* "cove" */

struct spawner_req {
    uint32_t magic;
    uint64_t flags;
};

struct spawner_reply {
    uint32_t magic;
    int32_t pid; /* or -errno */
};

static int spawner_fd = -1; /* coved's end; -1 when there is no spawner */
static pthread_mutex_t spawner_mu = PTHREAD_MUTEX_INITIALIZER;

/* In the clone: raw system calls only (in coved's own clone it is a copy of a multi-threaded
 * process). Never returns.
 * First thing, keep only our own descriptors: until it execs, the clone would otherwise hold
 * every fd its parent had open at clone time, and a pooled child may wait a long time. */
static __attribute__((noreturn)) void child_main(const int fds[SPAWN_N_FDS])
{
    static char *const argv[] = {"cove-init", NULL};
    static char *const envp[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL};
    struct ctl_msg m = {.magic = CTL_MAGIC, .type = CTL_ERROR, .stage = CTL_STAGE_SETUP};
    /* fds 3..6 are cove-init's (ctl-proto.h), 7 the go pipe, 8 the cove-init binary */
    int tmp[SPAWN_N_FDS], status_w = CTL_FD_STATUS;
    char c;

    for (int i = 0; i < SPAWN_N_FDS; i++)
        if ((tmp[i] = (int)syscall(SYS_fcntl, fds[i], F_DUPFD, 64)) < 0)
            _exit(126);
    for (int i = 0; i < SPAWN_N_FDS; i++)
        if (syscall(SYS_dup2, tmp[i], CTL_FD_CONFIG + i) < 0)
            _exit(126);
    if (syscall(SYS_close_range, CTL_FD_CONFIG + SPAWN_N_FDS, ~0U, 0) < 0 ||
        syscall(SYS_fcntl, CTL_FD_CONFIG + SPAWN_FD_INIT, F_SETFD, FD_CLOEXEC) < 0)
        _exit(126);
    if (read(CTL_FD_CONFIG + SPAWN_FD_GO, &c, 1) != 1)
        _exit(126); /* coved went away before hatching us */
    syscall(SYS_close, CTL_FD_CONFIG + SPAWN_FD_GO);
    /* Raw calls: glibc's set*id wrappers would try to signal the other threads of a
     * multi-threaded parent, which this copy of it does not have. */
    if (syscall(SYS_unshare, CLONE_NEWCGROUP) < 0 || syscall(SYS_setgroups, 0, NULL) < 0 ||
        syscall(SYS_setresgid, 0, 0, 0) < 0 || syscall(SYS_setresuid, 0, 0, 0) < 0)
        goto fail;
    syscall(SYS_execveat, CTL_FD_CONFIG + SPAWN_FD_INIT, "", argv, envp, AT_EMPTY_PATH);
fail:
    m.err = errno;
    memcpy(m.text, "cannot start cove-init", sizeof("cannot start cove-init"));
    (void)!write(status_w, &m, sizeof(m));
    _exit(127);
}

static pid_t clone_init(unsigned long long flags, const int fds[SPAWN_N_FDS], int *ret_pidfd)
{
    struct clone_args ca = {0};
    int pidfd = -1;
    pid_t pid;

    ca.flags = flags | CLONE_PIDFD;
    ca.pidfd = (uint64_t)(uintptr_t)&pidfd;
    /* With CLONE_PARENT clone3 wants 0 here and uses the spawner's own, SIGCHLD. */
    ca.exit_signal = (flags & CLONE_PARENT) ? 0 : SIGCHLD;
    pid = (pid_t)syscall(SYS_clone3, &ca, sizeof(ca));
    if (pid < 0)
        return -errno;
    if (pid == 0)
        child_main(fds);
    *ret_pidfd = pidfd;
    return pid;
}

/* The spawner's loop: one request (flags and SPAWN_N_FDS descriptors) in, one clone, one
 * reply (pid and pidfd) out. Exits when coved closes its end or dies. */
static __attribute__((noreturn)) void spawner_main(int sock)
{
    for (;;) {
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

        ssize_t n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
        if (n == 0 || (n < 0 && errno != EINTR))
            _exit(0);
        if (n < 0)
            continue;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
            if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
                int k = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
                for (int i = 0; i < k; i++) {
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
            rep.pid = clone_init(req.flags | CLONE_PARENT, fds, &pidfd);
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
        (void)sendmsg(sock, &om, MSG_NOSIGNAL);
        if (pidfd >= 0)
            close(pidfd);
    }
}

int spawner_start(void)
{
    int sv[2];
    pid_t parent = getpid(), pid;

    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
        return -errno;
    pid = fork();
    if (pid < 0) {
        int e = errno;
        close(sv[0]);
        close(sv[1]);
        return -e;
    }
    if (pid == 0) {
        /* Dies with coved; signals meant for coved's process group are not for it. */
        (void)prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(0);
        (void)prctl(PR_SET_NAME, "coved-spawner");
        signal(SIGINT, SIG_IGN);
        signal(SIGTERM, SIG_IGN);
        signal(SIGHUP, SIG_IGN);
        signal(SIGPIPE, SIG_IGN);
        int null = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(sv[1], 3) < 0)
            _exit(1);
        (void)syscall(SYS_close_range, 4, ~0U, 0);
        spawner_main(3);
    }
    close(sv[1]);
    spawner_fd = sv[0];
    return 0;
}

/* Ask the spawner; -ENOTCONN when it is gone (then the caller clones itself). */
static pid_t ask_spawner(unsigned long long flags, const int fds[SPAWN_N_FDS], int *ret_pidfd)
{
    union {
        char buf[CMSG_SPACE(sizeof(int) * SPAWN_N_FDS)];
        struct cmsghdr align;
    } cb;
    struct spawner_req req = {.magic = SPAWNER_MAGIC, .flags = flags};
    struct iovec iov = {.iov_base = &req, .iov_len = sizeof(req)};
    struct msghdr mh = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cb.buf, .msg_controllen = sizeof(cb)};
    struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
    struct spawner_reply rep;
    int pidfd = -1;
    ssize_t n;

    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * SPAWN_N_FDS);
    memcpy(CMSG_DATA(c), fds, sizeof(int) * SPAWN_N_FDS);
    do
        n = sendmsg(spawner_fd, &mh, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    if (n != (ssize_t)sizeof(req))
        return -ENOTCONN;

    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } ib;
    struct iovec iiov = {.iov_base = &rep, .iov_len = sizeof(rep)};
    struct msghdr im = {
        .msg_iov = &iiov, .msg_iovlen = 1, .msg_control = ib.buf, .msg_controllen = sizeof(ib)};
    do
        n = recvmsg(spawner_fd, &im, MSG_CMSG_CLOEXEC);
    while (n < 0 && errno == EINTR);
    if (n != (ssize_t)sizeof(rep) || rep.magic != SPAWNER_MAGIC)
        return -ENOTCONN;
    for (c = CMSG_FIRSTHDR(&im); c; c = CMSG_NXTHDR(&im, c))
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
            c->cmsg_len == CMSG_LEN(sizeof(int)))
            memcpy(&pidfd, CMSG_DATA(c), sizeof(int));
    if (rep.pid > 0 && pidfd < 0)
        return -EPROTO; /* the child exists but we cannot wait for it: it dies with its pipes */
    if (rep.pid <= 0) {
        if (pidfd >= 0)
            close(pidfd);
        return rep.pid < 0 ? rep.pid : -EPROTO;
    }
    *ret_pidfd = pidfd;
    return rep.pid;
}

pid_t spawner_clone(unsigned long long flags, const int fds[SPAWN_N_FDS], int *ret_pidfd)
{
    pid_t pid = -ENOTCONN;

    pthread_mutex_lock(&spawner_mu);
    if (spawner_fd >= 0) {
        pid = ask_spawner(flags, fds, ret_pidfd);
        if (pid == -ENOTCONN) {
            log_warn("the spawner process is gone; coved clones sandbox inits itself now");
            close(spawner_fd);
            spawner_fd = -1;
        }
    }
    pthread_mutex_unlock(&spawner_mu);
    if (pid == -ENOTCONN)
        pid = clone_init(flags, fds, ret_pidfd);
    return pid;
}
