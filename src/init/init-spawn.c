/* cove-init: start one command for a SPAWN request.
 *
 * The child joins the exec cgroup (through the cgroup.procs fd coved opened on the host, so
 * the write is checked against coved's credentials), starts a new session so that it has no
 * controlling terminal (TIOCSTI) and owns a process group, drops to the sandbox user, which
 * clears every capability, and execs. A CLOEXEC pipe reports a failure before exec: the
 * parent learns the stage and errno, or sees EOF when exec succeeded. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "init/init.h"

extern char **environ;

struct spawn_fail {
    int stage;
    int err;
};

static void fail(int pipe_fd, int stage)
{
    struct spawn_fail f = {stage, errno};
    (void)!write(pipe_fd, &f, sizeof(f));
    _exit(127);
}

/* Split the payload into cwd, argv and envp. Pointers point into payload. */
static int parse_payload(const struct ctl_msg *req, const char *payload, const char **cwd,
                         char ***argv, char ***envp)
{
    size_t n = req->payload_len, want = 1 + (size_t)req->argc + req->envc, k = 0;
    const char *p = payload, *end = payload + n;
    char **v;

    if (req->argc == 0 || req->argc > 100000 || req->envc > 100000 || n == 0 || end[-1] != '\0')
        return -EINVAL;
    v = calloc(want + 2, sizeof(char *));
    if (!v)
        return -ENOMEM;
    while (p < end && k < want) {
        v[k++] = (char *)p;
        p += strlen(p) + 1;
    }
    if (k != want || p != end) {
        free(v);
        return -EINVAL;
    }
    *cwd = v[0];
    /* argv = v[1..argc], NULL; envp = v[argc+2..] after shifting */
    memmove(v + 1 + req->argc + 1, v + 1 + req->argc, req->envc * sizeof(char *));
    v[1 + req->argc] = NULL;
    v[1 + req->argc + 1 + req->envc] = NULL;
    *argv = v + 1;
    *envp = v + 1 + req->argc + 1;
    return 0;
}

static void child(const struct ctl_msg *req, const int *fds, int nfds, const char *cwd, char **argv,
                  char **envp, const struct ctl_init_config *cfg, int pipe_fd)
{
    sigset_t all;
    uid_t uid = (req->flags & CTL_F_AS_ROOT) ? 0 : cfg->user_uid;
    gid_t gid = (req->flags & CTL_F_AS_ROOT) ? 0 : cfg->user_gid;

    if ((req->flags & CTL_F_CGROUP_FD) && nfds >= 4 && write(fds[3], "0", 1) != 1)
        fail(pipe_fd, CTL_STAGE_CGROUP);
    if (setsid() < 0)
        fail(pipe_fd, CTL_STAGE_FORK);
    if ((req->flags & CTL_F_PTY) && ioctl(fds[0], TIOCSCTTY, 0) < 0)
        fail(pipe_fd, CTL_STAGE_FORK);
    for (int i = 0; i < 3; i++)
        if (dup2(fds[i], i) < 0)
            fail(pipe_fd, CTL_STAGE_FORK);
    for (int s = 1; s < NSIG; s++)
        signal(s, SIG_DFL);
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);
    if (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0)
        fail(pipe_fd, CTL_STAGE_CREDS);
    /* After the switch, so a working directory the user may not enter is refused. */
    if (chdir(cwd) < 0)
        fail(pipe_fd, CTL_STAGE_CWD);
    environ = envp; /* execvp searches the PATH of the new environment */
    execvp(argv[0], argv);
    fail(pipe_fd, CTL_STAGE_EXEC);
}

static volatile sig_atomic_t reaper_kill;

static void reaper_on_term(int sig)
{
    reaper_kill = 1;
}

/* SIGKILL every direct child; orphans of killed processes are reparented to us (we are a
 * subreaper) and show up as children on the next round. */
static void kill_children(void)
{
    char path[64], buf[8192];
    ssize_t n;
    int fd;

    snprintf(path, sizeof(path), "/proc/self/task/%d/children", getpid());
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    buf[n > 0 ? n : 0] = '\0';
    for (char *p = buf; *p;) {
        long pid = strtol(p, &p, 10);
        if (pid > 1)
            kill((pid_t)pid, SIGKILL);
        while (*p == ' ')
            p++;
        if (pid <= 0)
            break;
    }
}

/* The reaper (CTL_F_REAPER): see ctl-proto.h. Runs as the sandbox's root but never runs
 * sandbox code itself, and holds no descriptor of init's. */
static __attribute__((noreturn)) void reaper(const struct ctl_msg *req, const int *fds, int nfds,
                                             const char *cwd, char **argv, char **envp,
                                             const struct ctl_init_config *cfg, int pipe_fd)
{
    struct sigaction sa = {.sa_handler = reaper_on_term}; /* no SA_RESTART: wait wakes up */
    sigset_t none;
    int status = 0, st;
    bool have = false;
    pid_t c;

    if (setsid() < 0 || prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
        fail(pipe_fd, CTL_STAGE_FORK);
    sigaction(SIGTERM, &sa, NULL);
    c = fork();
    if (c < 0)
        fail(pipe_fd, CTL_STAGE_FORK);
    if (c == 0)
        child(req, fds, nfds, cwd, argv, envp, cfg, pipe_fd);
    /* Drop everything: the command's pipes must reach EOF when the command tree is gone. */
    syscall(SYS_close_range, 0, ~0U, 0);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    for (;;) {
        if (reaper_kill || have)
            kill_children();
        pid_t p = waitpid(-1, &st, 0);
        if (p < 0) {
            if (errno == EINTR)
                continue;
            break; /* ECHILD: the whole tree is gone */
        }
        if (p == c) {
            status = st;
            have = true;
        }
    }
    if (WIFSIGNALED(status)) {
        signal(WTERMSIG(status), SIG_DFL);
        kill(getpid(), WTERMSIG(status));
        _exit(128 + WTERMSIG(status));
    }
    _exit(have ? WEXITSTATUS(status) : 127);
}

pid_t init_spawn(const struct ctl_msg *req, const char *payload, const int *fds, int nfds,
                 const struct ctl_init_config *cfg, int *stage, char *msg, size_t msgsz)
{
    struct spawn_fail f;
    const char *cwd;
    char **argv, **envp;
    int p[2], r, status;
    pid_t pid;
    ssize_t n;

    *stage = CTL_STAGE_PROTO;
    if (nfds < 3 || ((req->flags & CTL_F_CGROUP_FD) && nfds < 4)) {
        snprintf(msg, msgsz, "spawn request without stdio descriptors");
        return -EINVAL;
    }
    r = parse_payload(req, payload, &cwd, &argv, &envp);
    if (r < 0) {
        snprintf(msg, msgsz, "malformed spawn request");
        return r;
    }
    if (pipe2(p, O_CLOEXEC) < 0) {
        r = -errno;
        free(argv - 1);
        *stage = CTL_STAGE_FORK;
        snprintf(msg, msgsz, "pipe: %s", strerror(-r));
        return r;
    }
    pid = fork();
    if (pid == 0) {
        close(p[0]);
        if (req->flags & CTL_F_REAPER)
            reaper(req, fds, nfds, cwd, argv, envp, cfg, p[1]);
        child(req, fds, nfds, cwd, argv, envp, cfg, p[1]);
    }
    r = pid < 0 ? -errno : 0;
    free(argv - 1);
    close(p[1]);
    if (pid < 0) {
        close(p[0]);
        *stage = CTL_STAGE_FORK;
        snprintf(msg, msgsz, "fork: %s", strerror(-r));
        return r;
    }
    do
        n = read(p[0], &f, sizeof(f));
    while (n < 0 && errno == EINTR);
    close(p[0]);
    if (n == (ssize_t)sizeof(f)) {
        waitpid(pid, &status, 0);
        *stage = f.stage;
        snprintf(msg, msgsz, "%s", strerror(f.err));
        return -(f.err ? f.err : EIO);
    }
    return pid;
}
