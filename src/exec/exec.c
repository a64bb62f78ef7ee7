/* exec: one command, start to finish.
 *
 * coved creates pipes for the command's stdio and asks the sandbox's init over the control
 * socket to spawn it under a reaper (CTL_F_REAPER): a subreaper that owns the command's whole
 * process tree, so a timeout (SIGTERM to the reaper) ends everything the command started,
 * setsid()ed and double-forked processes included, and when the command exits the reaper ends
 * whatever it left behind. This needs no per-command cgroup: on cgroup v1 hosts moving a
 * process between cgroups costs an RCU grace period (~12 ms here) after any idle moment.
 * It then multiplexes stdin, stdout, stderr and the control connection in one poll loop:
 * output beyond the cap is read and dropped (so the writer never blocks) and flagged; the
 * wall-clock deadline kills the whole cgroup; when init reports the exit, anything the
 * command left running in the background is killed too, so an exec never leaks processes.
 * OOM kills are detected from the sandbox's memory cgroup counter. */
#include "exec/exec.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/limits.h"
#include "base/log.h"
#include "json/json-util.h"
#include "sandbox/cgroup.h"
#include "sandbox/ctl.h"

void exec_result_init(struct exec_result *r, size_t cap)
{
    memset(r, 0, sizeof(*r));
    buf_init(&r->out, cap);
    buf_init(&r->err, cap);
}

void exec_result_done(struct exec_result *r)
{
    buf_free(&r->out);
    buf_free(&r->err);
}

static int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int send_spawn(int ctl, const struct exec_req *req, char **envp, const int fds[3],
                      struct cove_err *err)
{
    struct ctl_msg m = {.type = CTL_SPAWN, .flags = CTL_F_REAPER};
    _cleanup_free_ char *payload = NULL;
    size_t len;
    int r;

    r = ctl_spawn_payload(req->cwd, req->argv, envp, &payload, &len, &m.argc, &m.envc);
    if (r < 0)
        return cove_err_set(err, r == -E2BIG ? -E2BIG : r,
                            "command line and environment exceed %u bytes", CTL_MAX_PAYLOAD);
    r = ctl_send(ctl, &m, payload, len, fds, 3);
    if (r < 0)
        return cove_err_errno(err, -r, "send command to sandbox");
    return 0;
}

static void drain(int *fd, struct buf *b, bool *trunc)
{
    char chunk[65536];

    for (;;) {
        ssize_t n = read(*fd, chunk, sizeof(chunk));
        if (n > 0) {
            if (buf_append_upto(b, chunk, (size_t)n) < (size_t)n)
                *trunc = true;
            continue;
        }
        if (n == 0 || (errno != EAGAIN && errno != EINTR))
            *fd = safe_close(*fd);
        return;
    }
}

static const char *stage_text(int stage)
{
    switch (stage) {
    case CTL_STAGE_CWD:
        return "working directory";
    case CTL_STAGE_EXEC:
        return "exec";
    case CTL_STAGE_CREDS:
        return "switching to the sandbox user";
    case CTL_STAGE_CGROUP:
        return "joining the command's cgroup";
    default:
        return "start";
    }
}

/* Host pid of the process whose pid inside the sandbox is nspid, looking at the children of
 * host pid parent. 0 if none. */
static pid_t host_child_by_nspid(pid_t parent, pid_t nspid)
{
    char path[64], buf[16384], line[256];
    ssize_t n;
    int fd;

    snprintf(path, sizeof(path), "/proc/%d/task/%d/children", parent, parent);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    buf[n > 0 ? n : 0] = '\0';
    for (char *p = buf; *p;) {
        long pid = strtol(p, &p, 10);
        if (pid <= 0)
            break;
        snprintf(path, sizeof(path), "/proc/%ld/status", pid);
        FILE *f = fopen(path, "re");
        while (f && fgets(line, sizeof(line), f)) {
            if (!strncmp(line, "NSpid:", 6)) {
                char *last = strrchr(line, '\t');
                if (last && strtol(last, NULL, 10) == nspid) {
                    fclose(f);
                    return (pid_t)pid;
                }
            }
        }
        if (f)
            fclose(f);
    }
    return 0;
}

/* Append the children of every thread of host pid p to the pid list. */
static void push_children(pid_t p, pid_t **v, size_t *n, size_t *cap)
{
    char path[64], buf[8192];
    ssize_t k;
    int fd;

    snprintf(path, sizeof(path), "/proc/%d/task", p);
    _cleanup_closedir_ DIR *d = opendir(path);
    for (struct dirent *de; d && (de = readdir(d));) {
        if (de->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "/proc/%d/task/%s/children", p, de->d_name);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue;
        k = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        buf[k > 0 ? k : 0] = '\0';
        for (char *q = buf; *q;) {
            long pid = strtol(q, &q, 10);
            if (pid <= 0)
                break;
            if (*n == *cap) {
                size_t nc = *cap ? *cap * 2 : 256;
                pid_t *nv = realloc(*v, nc * sizeof(**v));
                if (!nv)
                    return;
                *v = nv, *cap = nc;
            }
            (*v)[(*n)++] = (pid_t)pid;
        }
    }
}

/* SIGKILL every descendant of host pid root (not root itself), breadth first with a heap
 * worklist: a fork bomb's tree can be thousands deep. Called with the sandbox frozen, so the
 * tree cannot change under us; the kills land on thaw. */
static void kill_descendants(pid_t root)
{
    pid_t *v = NULL;
    size_t n = 0, cap = 0;

    push_children(root, &v, &n, &cap);
    for (size_t i = 0; i < n && i < 1000000; i++) {
        kill(v[i], SIGKILL);
        push_children(v[i], &v, &n, &cap);
    }
    free(v);
}

/* The timeout: freeze the sandbox so nothing can fork, kill the command's whole tree below
 * its reaper, thaw. The reaper then reaps them and reports the command's status. Freezing
 * stops the sandbox's other processes for the few milliseconds this takes. */
static void kill_command_tree(struct sandbox *sb, pid_t reaper_nspid)
{
    const struct cgroup_ops *cg = cgroup_ops();
    pid_t init = sandbox_init_pid(sb), reaper = init ? host_child_by_nspid(init, reaper_nspid) : 0;

    if (!reaper)
        return;
    if (cg->sandbox_freeze(sandbox_id(sb), true) < 0)
        log_warn("sandbox %s: freeze for a timeout kill did not complete", sandbox_id(sb));
    kill_descendants(reaper);
    cg->sandbox_freeze(sandbox_id(sb), false);
}

int exec_run(struct sandbox *sb, const struct exec_req *req, struct exec_result *res,
             struct cove_err *err)
{
    const struct cgroup_ops *cg = cgroup_ops();
    const char *id = sandbox_id(sb);
    _cleanup_close_ int ctl = -EBADF, in_r = -EBADF, in_w = -EBADF, out_r = -EBADF, out_w = -EBADF,
                        err_r = -EBADF, err_w = -EBADF;
    uint64_t oom_before = 0, oom_after = 0;
    int64_t t0, deadline;
    size_t stdin_off = 0;
    bool exited = false, entered = false;
    pid_t reaper = 0;
    struct ctl_msg m;
    char **envp = NULL;
    int p[2], r, status = 0;

    ctl = sandbox_ctl_connect(sb, err);
    if (ctl < 0)
        return ctl;
    if (pipe2(p, O_CLOEXEC) < 0)
        goto fail_errno;
    out_r = p[0], out_w = p[1];
    if (pipe2(p, O_CLOEXEC) < 0)
        goto fail_errno;
    err_r = p[0], err_w = p[1];
    if (req->stdin_data) {
        if (pipe2(p, O_CLOEXEC) < 0)
            goto fail_errno;
        in_r = p[0], in_w = p[1];
        fcntl(in_w, F_SETFL, O_NONBLOCK);
    } else {
        in_r = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (in_r < 0)
            goto fail_errno;
    }
    /* The command's ends of the pipes belong to the sandbox user, so it may reopen them
     * through /dev/stdin, /dev/stdout and /proc/self/fd as any program expects. */
    {
        uid_t u = sandbox_host_uid(sb);
        (void)!fchown(in_r, u, u);
        (void)!fchown(out_w, u, u);
        (void)!fchown(err_w, u, u);
    }
    fcntl(out_r, F_SETFL, O_NONBLOCK);
    fcntl(err_r, F_SETFL, O_NONBLOCK);
    envp = sandbox_build_env(sb, req->env);
    if (!envp) {
        r = cove_err_set(err, -ENOMEM, "out of memory");
        goto out;
    }
    (void)cg->oom_kills(id, &oom_before);
    if (sandbox_exec_enter(sb, COVE_MAX_CONCURRENT_EXEC) < 0) {
        r = cove_err_setk(err, -EBUSY, "TOO_MANY_COMMANDS",
                          "sandbox '%s' already runs %d commands; wait for one to finish", id,
                          COVE_MAX_CONCURRENT_EXEC);
        goto out;
    }
    entered = true;
    sandbox_busy(sb, 1);
    t0 = mono_us();
    deadline = req->timeout_ms ? t0 + (int64_t)req->timeout_ms * 1000 : INT64_MAX;
    r = send_spawn(ctl, req, envp, (int[]){in_r, out_w, err_w}, err);
    in_r = safe_close(in_r);
    out_w = safe_close(out_w);
    err_w = safe_close(err_w);
    if (r < 0)
        goto out_busy;

    /* First answer: SPAWNED or ERROR. */
    {
        if (ctl_recv(ctl, &m, 30000) <= 0) {
            r = cove_err_set(err, -EIO, "the sandbox did not answer the spawn request");
            goto out_busy;
        }
    }
    if (m.type == CTL_ERROR) {
        if (m.stage == CTL_STAGE_CWD) {
            r = cove_err_setk(err, m.err == ENOENT ? -EINVAL : -m.err,
                              m.err == ENOENT ? "CWD_NOT_FOUND" : "CWD_FORBIDDEN",
                              "cannot use working directory '%s': %s", req->cwd, m.text);
            goto out_busy;
        }
        if (m.stage == CTL_STAGE_EXEC) {
            /* Like a shell: 127 for not found, 126 for not executable. */
            res->exit_code = m.err == ENOENT ? 127 : 126;
            buf_appendf(&res->err, "cove: %s: %s\n", req->argv[0], m.text);
            r = 0;
            goto out_busy;
        }
        r = cove_err_set(err, -(m.err ? m.err : EIO), "cannot start the command (%s): %s",
                         stage_text(m.stage), m.text);
        goto out_busy;
    }
    reaper = m.pid;

    while (!exited || out_r >= 0 || err_r >= 0) {
        struct pollfd pfd[4];
        nfds_t k = 0;
        int64_t now = mono_us();
        int timeout;

        if (now >= deadline && !res->timed_out) {
            /* The reaper kills the whole tree and then reports the command's status. */
            struct ctl_msg sig = {.type = CTL_SIGNAL, .pid = reaper, .status = SIGTERM};
            res->timed_out = true;
            kill_command_tree(sb, reaper);
            if (ctl_send(ctl, &sig, NULL, 0, NULL, 0) < 0) {
                r = cove_err_set(err, -EIO, "lost the connection to the sandbox (stopped?)");
                goto out_busy;
            }
        }
        timeout =
            deadline == INT64_MAX || res->timed_out ? -1 : (int)((deadline - now + 999) / 1000);
        if (!exited)
            pfd[k++] = (struct pollfd){.fd = ctl, .events = POLLIN};
        if (out_r >= 0)
            pfd[k++] = (struct pollfd){.fd = out_r, .events = POLLIN};
        if (err_r >= 0)
            pfd[k++] = (struct pollfd){.fd = err_r, .events = POLLIN};
        if (in_w >= 0)
            pfd[k++] = (struct pollfd){.fd = in_w, .events = POLLOUT};
        int pr = poll(pfd, k, timeout);
        if (pr < 0 && errno != EINTR) {
            r = cove_err_errno(err, errno, "poll");
            goto out_busy;
        }
        for (nfds_t i = 0; i < k; i++) {
            if (!pfd[i].revents)
                continue;
            if (pfd[i].fd == ctl) {
                int q = ctl_recv(ctl, &m, 0);
                if (q > 0 && m.type == CTL_EXITED) {
                    status = m.status;
                    exited = true;
                    res->duration_ms = (double)(mono_us() - t0) / 1000.0;
                } else if (q < 0) {
                    r = cove_err_set(err, -EIO, "lost the connection to the sandbox (stopped?)");
                    goto out_busy;
                }
            } else if (pfd[i].fd == out_r) {
                drain(&out_r, &res->out, &res->out_truncated);
            } else if (pfd[i].fd == err_r) {
                drain(&err_r, &res->err, &res->err_truncated);
            } else if (pfd[i].fd == in_w) {
                ssize_t w = write(in_w, req->stdin_data + stdin_off, req->stdin_len - stdin_off);
                if (w > 0)
                    stdin_off += (size_t)w;
                if ((w < 0 && errno != EAGAIN) || stdin_off >= req->stdin_len)
                    in_w = safe_close(in_w);
            }
        }
    }
    if (WIFEXITED(status)) {
        res->exit_code = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
        res->signal = WTERMSIG(status);
        res->exit_code = 128 + res->signal;
    }
    (void)cg->oom_kills(id, &oom_after);
    res->oom_killed = oom_after > oom_before && !res->timed_out;
    r = 0;
out_busy:
    sandbox_busy(sb, -1);
out:
    if (entered)
        sandbox_exec_leave(sb);
    for (size_t i = 0; envp && envp[i]; i++)
        free(envp[i]);
    free(envp);
    return r;
fail_errno:
    r = cove_err_errno(err, errno, "pipe");
    goto out;
}

json_t *exec_result_json(const struct exec_result *res)
{
    char sig[32];

    snprintf(sig, sizeof(sig), "SIG%s",
             sigabbrev_np(res->signal) ? sigabbrev_np(res->signal) : "UNKNOWN");
    return json_pack(
        "{s:i, s:o, s:o, s:o, s:b, s:b, s:f, s:b, s:b}", "exit_code", (json_int_t)res->exit_code,
        "signal", res->signal ? json_string(sig) : json_null(), "stdout",
        json_string_lossy(res->out.data ? res->out.data : "", res->out.len), "stderr",
        json_string_lossy(res->err.data ? res->err.data : "", res->err.len), "stdout_truncated",
        res->out_truncated, "stderr_truncated", res->err_truncated, "duration_ms", res->duration_ms,
        "timed_out", res->timed_out, "oom_killed", res->oom_killed);
}
