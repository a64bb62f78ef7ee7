/* Theory of operation: starting a sandbox.
 *
 * Processes: coved (host root, many threads) and the sandbox's init. Pipes, all created by
 * coved and CLOEXEC on its side:
 *   go      coved -> child   one byte once uid/gid maps and cgroups are in place
 *   config  coved -> init    struct ctl_init_config (fd 3 in init)
 *   status  init  -> coved   struct ctl_msg READY or ERROR (fd 4 in init)
 * plus the bound control socket (fd 5) and the sealed seccomp memfd (fd 6).
 *
 * 1. coved binds <state>/run/<id>.sock and clone3()s a child into new user, PID, mount,
 *    network, UTS and IPC namespaces. clone3 without a stack behaves like fork: the child
 *    is a copy of a multi-threaded process, so until exec it only makes raw system calls.
 * 2. coved writes the child's uid_map and gid_map (0..65535 inside -> uid_base.. outside),
 *    moves it into the sandbox cgroups and sends the go byte.
 * 3. The child enters a new cgroup namespace (now rooted at its own group), becomes uid 0
 *    of its user namespace, which keeps its namespace capabilities across exec, puts its
 *    descriptors at 3..6 and execs cove-init through an fd (coved's binary path need not
 *    be reachable by the unprivileged host uid).
 * 4. cove-init builds the filesystem, locks itself down and writes READY.
 * If anything fails, the child is killed and the error text reaches the API client. */
#include "sandbox/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "sandbox/cgroup.h"
#include "sandbox/ctl-proto.h"

#define INIT_READY_TIMEOUT_MS 15000

static int bind_ctl(const char *path, struct cove_err *err)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    _cleanup_close_ int fd = -EBADF;

    if (strlen(path) >= sizeof(sa.sun_path))
        return cove_err_set(err, -ENAMETOOLONG, "control socket path too long: %s", path);
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return cove_err_errno(err, errno, "control socket");
    (void)unlink(path);
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 256) < 0)
        return cove_err_errno(err, errno, "bind %s", path);
    return TAKE_FD(fd);
}

static int write_map(pid_t pid, const char *file, uint32_t base)
{
    char p[64], line[64];
    _cleanup_close_ int fd = -EBADF;
    int n;

    snprintf(p, sizeof(p), "/proc/%d/%s", pid, file);
    n = snprintf(line, sizeof(line), "0 %u 65536\n", base);
    fd = open(p, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    if (write(fd, line, (size_t)n) != n)
        return -errno;
    return 0;
}

/* In the child: raw system calls only. Never returns. */
static __attribute__((noreturn)) void child_main(int go_r, const int fds[4], int init_fd,
                                                 int status_w)
{
    static char *const argv[] = {"cove-init", NULL};
    static char *const envp[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL};
    struct ctl_msg m = {.magic = CTL_MAGIC, .type = CTL_ERROR, .stage = CTL_STAGE_SETUP};
    int tmp[4];
    char c;

    if (read(go_r, &c, 1) != 1)
        _exit(126);
    /* Raw calls: glibc's set*id wrappers would try to signal coved's other threads, which
     * this copy of the process does not have. */
    if (syscall(SYS_unshare, CLONE_NEWCGROUP) < 0 || syscall(SYS_setgroups, 0, NULL) < 0 ||
        syscall(SYS_setresgid, 0, 0, 0) < 0 || syscall(SYS_setresuid, 0, 0, 0) < 0)
        goto fail;
    /* Move everything above the target numbers first: a source may sit on a target. */
    if ((init_fd = fcntl(init_fd, F_DUPFD, 64)) < 0)
        goto fail;
    for (int i = 0; i < 4; i++)
        if ((tmp[i] = fcntl(fds[i], F_DUPFD, 64)) < 0)
            goto fail;
    for (int i = 0; i < 4; i++)
        if (dup2(tmp[i], CTL_FD_CONFIG + i) < 0)
            goto fail;
    if (syscall(SYS_close_range, CTL_FD_CONFIG + 4, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
        goto fail;
    syscall(SYS_execveat, init_fd, "", argv, envp, AT_EMPTY_PATH);
fail:
    m.err = errno;
    memcpy(m.text, "cannot start cove-init", sizeof("cannot start cove-init"));
    (void)!write(status_w, &m, sizeof(m));
    _exit(127);
}

static int read_status(int fd, struct cove_err *err)
{
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    struct ctl_msg m;
    ssize_t n;
    int r;

    do
        r = poll(&pfd, 1, INIT_READY_TIMEOUT_MS);
    while (r < 0 && errno == EINTR);
    if (r == 0)
        return cove_err_set(err, -ETIMEDOUT, "sandbox init did not become ready in %d ms",
                            INIT_READY_TIMEOUT_MS);
    n = read(fd, &m, sizeof(m));
    if (n == 0)
        return cove_err_set(err, -ECHILD, "sandbox init exited during start-up");
    if (n != (ssize_t)sizeof(m) || m.magic != CTL_MAGIC)
        return cove_err_set(err, -EPROTO, "sandbox init sent a malformed status");
    if (m.type != CTL_READY) {
        m.text[sizeof(m.text) - 1] = '\0';
        return cove_err_set(err, m.err ? m.err : EIO, "sandbox start-up failed: %s%s%s", m.text,
                            m.err && !strstr(m.text, ": ") ? ": " : "",
                            m.err && !strstr(m.text, ": ") ? strerror(m.err) : "");
    }
    return 0;
}

int spawn_init(const struct spawn_params *p, pid_t *ret_pid, int *ret_pidfd, struct cove_err *err)
{
    _cleanup_close_ int lfd = -EBADF, go_r = -EBADF, go_w = -EBADF, cfg_r = -EBADF, cfg_w = -EBADF,
                        st_r = -EBADF, st_w = -EBADF, pidfd = -EBADF;
    struct ctl_init_config cfg = {
        .magic = CTL_MAGIC, .user_uid = 1000, .user_gid = 1000, .shm_mib = p->shm_mib};
    struct clone_args ca = {0};
    int pp[2], r;
    pid_t pid;

    lfd = bind_ctl(p->sock_path, err);
    if (lfd < 0)
        return lfd;
    if (pipe2(pp, O_CLOEXEC) < 0)
        return cove_err_errno(err, errno, "pipe");
    go_r = pp[0], go_w = pp[1];
    if (pipe2(pp, O_CLOEXEC) < 0)
        return cove_err_errno(err, errno, "pipe");
    cfg_r = pp[0], cfg_w = pp[1];
    if (pipe2(pp, O_CLOEXEC) < 0)
        return cove_err_errno(err, errno, "pipe");
    st_r = pp[0], st_w = pp[1];
    snprintf(cfg.hostname, sizeof(cfg.hostname), "%s", p->hostname);
    snprintf(cfg.lower, sizeof(cfg.lower), "%s", p->lower);
    snprintf(cfg.disk, sizeof(cfg.disk), "%s", p->disk);
    snprintf(cfg.usr_lower, sizeof(cfg.usr_lower), "/usr");

    ca.flags = CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWUTS |
               CLONE_NEWIPC | CLONE_PIDFD;
    ca.pidfd = (uint64_t)(uintptr_t)&pidfd;
    ca.exit_signal = SIGCHLD;
    pid = (pid_t)syscall(SYS_clone3, &ca, sizeof(ca));
    if (pid < 0)
        return cove_err_errno(err, errno, "clone sandbox init");
    if (pid == 0) {
        int fds[4] = {cfg_r, st_w, lfd, p->seccomp_fd};
        child_main(go_r, fds, p->init_fd, st_w);
    }
    st_w = safe_close(st_w);
    cfg_r = safe_close(cfg_r);
    go_r = safe_close(go_r);

    r = write_map(pid, "uid_map", p->uid_base);
    if (r >= 0)
        r = write_map(pid, "gid_map", p->uid_base);
    if (r < 0) {
        cove_err_errno(err, -r, "write uid/gid map");
        goto kill;
    }
    r = cgroup_ops()->sandbox_attach(p->id, pid);
    if (r < 0) {
        cove_err_errno(err, -r, "move sandbox into its cgroup");
        goto kill;
    }
    if (write(cfg_w, &cfg, sizeof(cfg)) != (ssize_t)sizeof(cfg) || write(go_w, "g", 1) != 1) {
        r = cove_err_errno(err, errno, "configure sandbox init");
        goto kill;
    }
    r = read_status(st_r, err);
    if (r < 0)
        goto kill;
    *ret_pid = pid;
    *ret_pidfd = TAKE_FD(pidfd);
    return 0;
kill:
    syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
    waitid(P_PIDFD, (id_t)pidfd, NULL, WEXITED);
    (void)unlink(p->sock_path);
    return r;
}
