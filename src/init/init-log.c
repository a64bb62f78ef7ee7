/* cove-init: logged commands (session commands).
 *
 * A logged command runs on pipes that init itself reads: its output is appended to log files
 * that coved opened on the host and passed in, at most CTL_LOG_CAP bytes per stream (the rest
 * is read and dropped, so the command never blocks on a full pipe), and its wait status is
 * written to a status file when it exits. Because init, not coved, holds all of this, a
 * session command and its logs survive a restart of coved. Its stdin is either a file given
 * by coved or a pipe that INPUT requests feed. A SPAWN's `status` field is a timeout in
 * milliseconds (0 = none): at the deadline init kills the command's process group and its
 * status says "timed_out". */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "init/init.h"

#define MAX_JOBS 256

struct job {
    pid_t pid;        /* 0 = free slot */
    int pipe[2];      /* read ends of stdout, stderr; -1 at EOF */
    int log[2];       /* host log files */
    uint64_t n[2];    /* bytes logged per stream */
    int in_w;         /* stdin pipe, or -1 */
    int status_fd;    /* -1 once written */
    int64_t deadline; /* CLOCK_MONOTONIC ms, 0 = none */
    bool timed_out;
};

static struct job jobs[MAX_JOBS];

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

static void job_maybe_free(struct job *j)
{
    if (j->status_fd < 0 && j->pipe[0] < 0 && j->pipe[1] < 0) {
        close_fd(&j->log[0]);
        close_fd(&j->log[1]);
        close_fd(&j->in_w);
        j->pid = 0;
    }
}

pid_t job_spawn(const struct ctl_msg *req, const char *payload, const int *fds, int nfds,
                const struct ctl_init_config *cfg, int *stage, char *msg, size_t msgsz)
{
    int out[2] = {-1, -1}, err[2] = {-1, -1}, in[2] = {-1, -1}, child_fds[4];
    struct job *j = NULL;
    pid_t pid;

    *stage = CTL_STAGE_PROTO;
    if (nfds < 5) {
        snprintf(msg, msgsz, "logged spawn needs stdin, two logs, cgroup and status fds");
        return -EINVAL;
    }
    for (size_t i = 0; i < MAX_JOBS && !j; i++)
        if (!jobs[i].pid)
            j = &jobs[i];
    if (!j) {
        snprintf(msg, msgsz, "too many running session commands (max %d)", MAX_JOBS);
        return -EAGAIN;
    }
    if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0 ||
        ((req->flags & CTL_F_STDIN_PIPE) && pipe2(in, O_CLOEXEC) < 0)) {
        int e = errno;
        close_fd(&out[0]), close_fd(&out[1]), close_fd(&err[0]), close_fd(&err[1]);
        *stage = CTL_STAGE_FORK;
        snprintf(msg, msgsz, "pipe: %s", strerror(e));
        return -e;
    }
    child_fds[0] = in[0] >= 0 ? in[0] : fds[0];
    child_fds[1] = out[1];
    child_fds[2] = err[1];
    child_fds[3] = fds[3];
    pid = init_spawn(req, payload, child_fds, 4, cfg, stage, msg, msgsz);
    close_fd(&out[1]);
    close_fd(&err[1]);
    close_fd(&in[0]);
    if (pid < 0) {
        close_fd(&out[0]), close_fd(&err[0]), close_fd(&in[1]);
        return pid;
    }
    fcntl(out[0], F_SETFL, O_NONBLOCK);
    fcntl(err[0], F_SETFL, O_NONBLOCK);
    if (in[1] >= 0)
        fcntl(in[1], F_SETFL, O_NONBLOCK);
    *j = (struct job){.pid = pid,
                      .pipe = {out[0], err[0]},
                      .log = {fcntl(fds[1], F_DUPFD_CLOEXEC, 0), fcntl(fds[2], F_DUPFD_CLOEXEC, 0)},
                      .in_w = in[1],
                      .status_fd = fcntl(fds[4], F_DUPFD_CLOEXEC, 0),
                      .deadline = req->status > 0 ? mono_ms() + req->status : 0};
    return pid;
}

size_t jobs_fill(struct pollfd *pfd, size_t cap)
{
    size_t k = 0;

    for (size_t i = 0; i < MAX_JOBS; i++)
        for (int s = 0; s < 2; s++)
            if (jobs[i].pid && jobs[i].pipe[s] >= 0 && k < cap)
                pfd[k++] = (struct pollfd){.fd = jobs[i].pipe[s], .events = POLLIN};
    return k;
}

static void drain(struct job *j, int s)
{
    char buf[65536];

    for (int rounds = 0; rounds < 16; rounds++) {
        ssize_t n = read(j->pipe[s], buf, sizeof(buf));
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        if (n <= 0) {
            close_fd(&j->pipe[s]);
            job_maybe_free(j);
            return;
        }
        uint64_t room = j->n[s] < CTL_LOG_CAP ? CTL_LOG_CAP - j->n[s] : 0;
        size_t take = (uint64_t)n < room ? (size_t)n : (size_t)room;
        if (take && write(j->log[s], buf, take) == (ssize_t)take)
            j->n[s] += take;
        else if (take)
            j->n[s] = CTL_LOG_CAP; /* the log disk is full: stop trying */
    }
}

void jobs_dispatch(const struct pollfd *pfd, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        if (!pfd[k].revents)
            continue;
        for (size_t i = 0; i < MAX_JOBS; i++)
            for (int s = 0; s < 2; s++)
                if (jobs[i].pid && jobs[i].pipe[s] == pfd[k].fd)
                    drain(&jobs[i], s);
    }
}

bool jobs_reaped(pid_t pid, int status)
{
    for (size_t i = 0; i < MAX_JOBS; i++) {
        struct job *j = &jobs[i];
        char line[64];
        int len;

        if (j->pid != pid || j->status_fd < 0)
            continue;
        /* What the command wrote before it exited is in the pipes now; log it before the
         * status says "exited", or a reader that sees the status would miss its last output
         * (SIGCHLD can be handled before the pipes are polled). */
        for (int s = 0; s < 2; s++)
            if (j->pipe[s] >= 0)
                drain(j, s);
        if (WIFSIGNALED(status))
            len = snprintf(line, sizeof(line), "{\"exit_code\":%d,\"signal\":%d%s}\n",
                           128 + WTERMSIG(status), WTERMSIG(status),
                           j->timed_out ? ",\"timed_out\":true" : "");
        else
            len = snprintf(line, sizeof(line), "{\"exit_code\":%d,\"signal\":0%s}\n",
                           WEXITSTATUS(status), j->timed_out ? ",\"timed_out\":true" : "");
        (void)!write(j->status_fd, line, (size_t)len);
        close_fd(&j->status_fd);
        close_fd(&j->in_w);
        job_maybe_free(j);
        return true;
    }
    return false;
}

int jobs_input(pid_t pid, const char *data, size_t len, bool eof)
{
    for (size_t i = 0; i < MAX_JOBS; i++) {
        struct job *j = &jobs[i];
        ssize_t w = 0;

        if (j->pid != pid || j->status_fd < 0)
            continue;
        if (j->in_w < 0)
            return -EPIPE;
        if (len) {
            w = write(j->in_w, data, len);
            if (w < 0)
                return errno == EAGAIN ? 0 : -errno;
        }
        if (eof && (size_t)w == len)
            close_fd(&j->in_w);
        return (int)w;
    }
    return -ESRCH;
}

int jobs_poll_timeout(void)
{
    int64_t now = mono_ms(), next = -1;

    for (size_t i = 0; i < MAX_JOBS; i++) {
        const struct job *j = &jobs[i];
        if (j->pid && j->status_fd >= 0 && j->deadline && !j->timed_out)
            next = next < 0 || j->deadline < next ? j->deadline : next;
    }
    if (next < 0)
        return -1;
    return next <= now ? 0 : (int)(next - now);
}

void jobs_expire(void)
{
    int64_t now = mono_ms();

    for (size_t i = 0; i < MAX_JOBS; i++) {
        struct job *j = &jobs[i];
        if (j->pid && j->status_fd >= 0 && j->deadline && !j->timed_out && j->deadline <= now) {
            j->timed_out = true;
            (void)kill(-j->pid, SIGKILL);
        }
    }
}

unsigned jobs_running(void)
{
    unsigned n = 0;
    for (size_t i = 0; i < MAX_JOBS; i++)
        n += jobs[i].pid && jobs[i].status_fd >= 0;
    return n;
}
