/* cove-init: PID 1 of every sandbox.
 *
 * Theory of operation. coved clone()s a child into new user, PID, mount, network, UTS, IPC
 * and cgroup namespaces, writes its uid/gid maps, puts it in the sandbox cgroups, and then
 * lets it exec this static binary as uid 0 of the new user namespace (an unprivileged host
 * uid range). cove-init then:
 *   1. reads its configuration from fd 3 and sets up the root filesystem (init-setup.c);
 *   2. installs the seccomp filter on itself, so that every process of the sandbox inherits
 *      it without paying for its installation again;
 *   3. reports READY (or an error) on the status pipe, fd 4;
 *   4. serves the control socket, fd 5: each SPAWN request forks a child that drops to the
 *      sandbox user and execs the command (init-spawn.c), and each child's exit status goes
 *      back on the connection that asked for it;
 *   5. reaps every orphan reparented to it, so no zombie outlives its parent.
 * If a connection closes while its command still runs, the command's process group is
 * killed, unless it was spawned detached (session commands), which survive coved restarts.
 * cove-init never exits on its own; stopping a sandbox is a SIGKILL to it, and the kernel
 * then kills every process of the PID namespace. */
#include "init/init.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_CONNS 512
#define MAX_CHILD 4096

struct conn {
    int fd;
    pid_t child; /* 0 = none yet */
    bool detached;
    bool reaper;
};

static struct conn conns[MAX_CONNS];
static size_t n_conns;
static struct ctl_init_config cfg;
static char *rxbuf;

static void send_msg(int fd, const struct ctl_msg *m)
{
    (void)!send(fd, m, sizeof(*m), MSG_NOSIGNAL | MSG_DONTWAIT);
}

static void reply(int fd, uint32_t type, int32_t pid, int32_t status, int32_t err, int32_t stage,
                  const char *text)
{
    struct ctl_msg m = {
        .magic = CTL_MAGIC, .type = type, .pid = pid, .status = status, .err = err, .stage = stage};
    if (text)
        snprintf(m.text, sizeof(m.text), "%s", text);
    send_msg(fd, &m);
}

static void conn_close(size_t i)
{
    struct conn *c = &conns[i];

    /* The client went away: end what it started. A reaper ends its whole tree on SIGTERM. */
    if (c->child > 0 && !c->detached)
        kill(c->reaper ? c->child : -c->child, c->reaper ? SIGTERM : SIGKILL);
    close(c->fd);
    conns[i] = conns[--n_conns];
}

static void handle_request(size_t i)
{
    struct conn *c = &conns[i];
    char cbuf[CMSG_SPACE(sizeof(int) * CTL_MAX_FDS)];
    struct iovec iov = {.iov_base = rxbuf, .iov_len = sizeof(struct ctl_msg) + CTL_MAX_PAYLOAD};
    struct msghdr mh = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
    int fds[CTL_MAX_FDS], nfds = 0;
    struct ctl_msg req;
    ssize_t n;

    n = recvmsg(c->fd, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
    if (n <= 0) {
        if (n < 0 && errno == EAGAIN)
            return;
        conn_close(i);
        return;
    }
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
        if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
            int k = (int)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
            for (int j = 0; j < k; j++) {
                int fd;
                memcpy(&fd, CMSG_DATA(cm) + j * sizeof(int), sizeof(int));
                if (nfds < CTL_MAX_FDS)
                    fds[nfds++] = fd;
                else
                    close(fd);
            }
        }
    }
    memcpy(&req, rxbuf, (size_t)n < sizeof(req) ? (size_t)n : sizeof(req));
    if ((size_t)n < sizeof(req) || req.magic != CTL_MAGIC || (mh.msg_flags & MSG_TRUNC) ||
        req.payload_len != (size_t)n - sizeof(req)) {
        reply(c->fd, CTL_ERROR, 0, 0, EPROTO, CTL_STAGE_PROTO, "malformed control message");
        goto out;
    }
    switch (req.type) {
    case CTL_PING:
        reply(c->fd, CTL_PONG, getpid(), (int32_t)jobs_running(), 0, 0, NULL);
        break;
    case CTL_INPUT: {
        int w = jobs_input(req.pid, rxbuf + sizeof(req), req.payload_len, req.flags & CTL_F_EOF);
        if (w < 0)
            reply(c->fd, CTL_ERROR, req.pid, 0, -w, CTL_STAGE_PROTO,
                  w == -ESRCH ? "no such running command" : "stdin is closed");
        else
            reply(c->fd, CTL_OK, req.pid, w, 0, 0, NULL);
        break;
    }
    case CTL_SIGNAL:
        if (req.pid <= 1 || kill(-req.pid, req.status) < 0)
            reply(c->fd, CTL_ERROR, req.pid, 0, req.pid <= 1 ? EINVAL : errno, CTL_STAGE_PROTO,
                  "signal failed");
        else
            reply(c->fd, CTL_OK, req.pid, 0, 0, 0, NULL);
        break;
    case CTL_SPAWN: {
        int stage = 0;
        char msg[200] = "";
        pid_t pid;

        if (c->child) {
            reply(c->fd, CTL_ERROR, 0, 0, EBUSY, CTL_STAGE_PROTO, "one command per connection");
            break;
        }
        if (req.flags & CTL_F_LOG)
            pid = job_spawn(&req, rxbuf + sizeof(req), fds, nfds, &cfg, &stage, msg, sizeof(msg));
        else
            pid = init_spawn(&req, rxbuf + sizeof(req), fds, nfds, &cfg, &stage, msg, sizeof(msg));
        if (pid < 0) {
            reply(c->fd, CTL_ERROR, 0, 0, -pid, stage, msg);
            break;
        }
        c->child = pid;
        c->detached = (req.flags & (CTL_F_DETACHED | CTL_F_LOG)) != 0;
        c->reaper = (req.flags & CTL_F_REAPER) != 0;
        reply(c->fd, CTL_SPAWNED, pid, 0, 0, 0, NULL);
        break;
    }
    default:
        reply(c->fd, CTL_ERROR, 0, 0, EOPNOTSUPP, CTL_STAGE_PROTO, "unknown request");
        break;
    }
out:
    for (int j = 0; j < nfds; j++)
        close(fds[j]);
}

static void reap(void)
{
    int status;
    pid_t pid;

    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        jobs_reaped(pid, status);
        for (size_t i = 0; i < n_conns; i++) {
            if (conns[i].child == pid) {
                reply(conns[i].fd, CTL_EXITED, pid, status, 0, 0, NULL);
                conns[i].child = -1; /* done: closing the connection must not kill anything */
                break;
            }
        }
    }
}

static void serve(int listen_fd, int sig_fd)
{
    static struct pollfd pfd[MAX_CONNS + 2 + 2 * 256];
    size_t njob;

    for (;;) {
        pfd[0] = (struct pollfd){.fd = listen_fd, .events = POLLIN};
        pfd[1] = (struct pollfd){.fd = sig_fd, .events = POLLIN};
        for (size_t i = 0; i < n_conns; i++)
            pfd[i + 2] = (struct pollfd){.fd = conns[i].fd, .events = POLLIN};
        njob = jobs_fill(pfd + n_conns + 2, 2 * 256);
        if (poll(pfd, n_conns + 2 + njob, jobs_poll_timeout()) < 0) {
            if (errno == EINTR)
                continue;
            _exit(1);
        }
        jobs_expire();
        if (pfd[1].revents & POLLIN) {
            struct signalfd_siginfo si;
            while (read(sig_fd, &si, sizeof(si)) == sizeof(si))
                ;
            reap();
        }
        jobs_dispatch(pfd + n_conns + 2, njob);
        /* Walk backwards: conn_close() moves the last entry into the freed slot. */
        for (size_t i = n_conns; i-- > 0;) {
            short ev = pfd[i + 2].revents;
            if (ev & POLLIN)
                handle_request(i);
            else if (ev & (POLLHUP | POLLERR | POLLNVAL))
                conn_close(i);
        }
        if (pfd[0].revents & POLLIN) {
            int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
            if (fd >= 0) {
                if (n_conns < MAX_CONNS)
                    conns[n_conns++] = (struct conn){.fd = fd};
                else
                    close(fd);
            }
        }
    }
}

static int read_config(void)
{
    size_t got = 0;

    while (got < sizeof(cfg)) {
        ssize_t n = read(CTL_FD_CONFIG, (char *)&cfg + got, sizeof(cfg) - got);
        if (n <= 0)
            return -1;
        got += (size_t)n;
    }
    close(CTL_FD_CONFIG);
    return cfg.magic == CTL_MAGIC ? 0 : -1;
}

int init_main(void)
{
    struct ctl_msg st = {.magic = CTL_MAGIC, .type = CTL_READY};
    sigset_t mask;
    int sig_fd, r;

    if (getpid() != 1 || read_config() < 0) {
        static const char m[] = "cove-init: must be started by coved\n";
        (void)!write(2, m, sizeof(m) - 1);
        return 1;
    }
    rxbuf = malloc(sizeof(struct ctl_msg) + CTL_MAX_PAYLOAD);
    sigfillset(&mask);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    sigemptyset(&mask);
    sigaddset(&mask, SIGCHLD);
    sig_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
    if (!rxbuf || sig_fd < 0) {
        st.type = CTL_ERROR;
        st.err = ENOMEM;
        snprintf(st.text, sizeof(st.text), "cove-init: out of memory");
        (void)!write(CTL_FD_STATUS, &st, sizeof(st));
        return 1;
    }
    r = init_setup(&cfg, CTL_FD_SECCOMP, st.text, sizeof(st.text));
    if (r < 0) {
        st.type = CTL_ERROR;
        st.err = -r;
        st.stage = CTL_STAGE_SETUP;
        (void)!write(CTL_FD_STATUS, &st, sizeof(st));
        return 1;
    }
    (void)!write(CTL_FD_STATUS, &st, sizeof(st));
    close(CTL_FD_STATUS);
    /* Commands must never inherit the control socket: a command holding it could accept
     * coved's next connections and answer for other commands. */
    if (fcntl(CTL_FD_LISTEN, F_SETFD, FD_CLOEXEC) < 0)
        return 1;
    serve(CTL_FD_LISTEN, sig_fd);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "--spawner"))
        return spawner_main(argv[2]);
    return init_main();
}
