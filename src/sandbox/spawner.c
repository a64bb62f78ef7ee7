/* coved's side of the spawner, and coved's own clone of an init without it (spawner.h). */
#include "sandbox/spawner.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/log.h"
#include "sandbox/larva.h"

static int spawner_fd = -1; /* coved's end; -1 when there is no spawner */
static pthread_mutex_t spawner_mu = PTHREAD_MUTEX_INITIALIZER;

/* coved's own clone, when there is no spawner: prepare, then exec cove-init. */
static pid_t clone_init(unsigned long long flags, const int fds[SPAWN_N_FDS], int *ret_pidfd)
{
    static char *const argv[] = {"cove-init", NULL};
    static char *const envp[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL};
    struct clone_args ca = {0};
    int pidfd = -1, r;
    pid_t pid;

    ca.flags = flags | CLONE_PIDFD;
    ca.pidfd = (uint64_t)(uintptr_t)&pidfd;
    ca.exit_signal = SIGCHLD;
    pid = (pid_t)syscall(SYS_clone3, &ca, sizeof(ca));
    if (pid < 0)
        return -errno;
    if (pid == 0) {
        /* A copy of a multi-threaded process: raw system calls only until the exec. */
        r = larva_prepare(fds);
        if (r == 0) {
            syscall(SYS_execveat, CTL_FD_CONFIG + SPAWN_FD_INIT, "", argv, envp, AT_EMPTY_PATH);
            r = -errno;
        }
        larva_fail(-r, "cannot start cove-init");
        _exit(127);
    }
    *ret_pidfd = pidfd;
    return pid;
}

int spawner_start(const char *init_path)
{
    char ppid[24];
    int sv[2];
    pid_t pid;

    snprintf(ppid, sizeof(ppid), "%d", (int)getpid());
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
        char *argv[] = {"cove-init", "--spawner", ppid, NULL};
        int null = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(sv[1], 3) < 0)
            _exit(127);
        (void)syscall(SYS_close_range, 4, ~0U, 0);
        execv(init_path, argv);
        _exit(127);
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
