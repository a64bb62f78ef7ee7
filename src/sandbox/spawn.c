/* Theory of operation: starting a sandbox.
 *
 * Processes: coved (host root, many threads) and the sandbox's init. Pipes, all created by
 * coved and CLOEXEC on its side:
 *   go      coved -> child   one byte once uid/gid maps and cgroups are in place
 *   config  coved -> init    struct ctl_init_config (fd 3 in init)
 *   status  init  -> coved   struct ctl_msg READY or ERROR (fd 4 in init)
 * plus the bound control socket (fd 5) and the sealed seccomp memfd (fd 6).
 *
 * 1. coved binds <state>/run/<id>.sock and has the spawner (spawner.h) clone3() a child into
 *    new user, PID, mount, network, UTS and IPC namespaces, as coved's child (CLONE_PARENT);
 *    until exec the child only makes raw system calls (spawner.c).
 * 2. coved writes the child's uid_map and gid_map (0..65535 inside -> uid_base.. outside),
 *    moves it into the sandbox cgroups and sends the go byte.
 * 3. The child enters a new cgroup namespace (now rooted at its own group), becomes uid 0
 *    of its user namespace (with the full capability set it was cloned with there), puts
 *    its descriptors at 3..8 (larva.c) and runs cove-init: the spawner's clone calls its
 *    main directly; coved's own clone execs it through an fd (coved's binary path need not
 *    be reachable by the unprivileged host uid).
 * 4. cove-init builds the filesystem, locks itself down and writes READY.
 * If anything fails, the child is killed and the error text reaches the API client. */
#include "sandbox/spawn.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/sched.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/log.h"
#include "sandbox/cgroup.h"
#include "sandbox/ctl-proto.h"
#include "sandbox/private-libs.h"
#include "sandbox/spawner.h"

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

/* The device nodes of a sandbox (ctl-proto.h, SPAWN_DEVICES): its own inodes on its own disk,
 * made here because a user namespace cannot mknod. Bind mounts of the host's /dev nodes would
 * share their inodes, and so their flock, POSIX and OFD locks, with every other sandbox and
 * the host: a covert channel. A node of the wrong kind is replaced. */
int spawn_make_devices(const char *disk)
{
    static const struct {
        const char *name;
        unsigned major, minor;
    } nodes[] = {{"null", 1, 3},   {"zero", 1, 5},    {"full", 1, 7},
                 {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0}};
    _cleanup_close_ int dir = -EBADF;
    char path[600];
    struct stat st;

    snprintf(path, sizeof(path), "%s/" SPAWN_DEVICES_DIR, disk);
    if (mkdir(path, 0755) < 0 && errno != EEXIST)
        return -errno;
    dir = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dir < 0)
        return -errno;
    for (size_t i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++) {
        dev_t want = makedev(nodes[i].major, nodes[i].minor);
        if (fstatat(dir, nodes[i].name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
            if (S_ISCHR(st.st_mode) && st.st_rdev == want && (st.st_mode & 0777) == 0666)
                continue;
            if (unlinkat(dir, nodes[i].name, 0) < 0)
                return -errno;
        }
        if (mknodat(dir, nodes[i].name, S_IFCHR | 0666, want) < 0 ||
            fchmodat(dir, nodes[i].name, 0666, 0) < 0)
            return -errno;
    }
    return 0;
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

/* A cloned child waiting for its go byte: namespaces made, cgroups joined, control socket
 * bound. Everything that names a sandbox (uid map, cgroup and socket names, configuration)
 * is applied when it hatches. */
struct larva {
    pid_t pid;
    int pidfd, go_w, cfg_w, st_r;
    char name[40];  /* cgroup name while pooled */
    char sock[600]; /* socket path while pooled */
};

static void larva_kill(struct larva *l)
{
    if (l->pidfd >= 0) {
        syscall(SYS_pidfd_send_signal, l->pidfd, SIGKILL, NULL, 0);
        waitid(P_PIDFD, (id_t)l->pidfd, NULL, WEXITED);
    }
    l->pidfd = safe_close(l->pidfd);
    l->go_w = safe_close(l->go_w);
    l->cfg_w = safe_close(l->cfg_w);
    l->st_r = safe_close(l->st_r);
}

/* Clone a larva into cgroup `name` (created with limits) bound to sock. */
static int larva_make(struct larva *l, const char *name, const char *sock,
                      const struct cgroup_limits *lim, int init_fd, int seccomp_fd,
                      struct cove_err *err)
{
    _cleanup_close_ int lfd = -EBADF, go_r = -EBADF, cfg_r = -EBADF, st_w = -EBADF;
    int pp[2], r;

    *l = (struct larva){.pidfd = -EBADF, .go_w = -EBADF, .cfg_w = -EBADF, .st_r = -EBADF};
    snprintf(l->name, sizeof(l->name), "%s", name);
    snprintf(l->sock, sizeof(l->sock), "%s", sock);
    r = cgroup_ops()->sandbox_create(name, lim, err);
    if (r < 0)
        goto fail;
    lfd = bind_ctl(sock, err);
    if (lfd < 0) {
        r = lfd;
        goto fail;
    }
    if (pipe2(pp, O_CLOEXEC) < 0)
        goto fail_errno;
    go_r = pp[0], l->go_w = pp[1];
    if (pipe2(pp, O_CLOEXEC) < 0)
        goto fail_errno;
    cfg_r = pp[0], l->cfg_w = pp[1];
    if (pipe2(pp, O_CLOEXEC) < 0)
        goto fail_errno;
    l->st_r = pp[0], st_w = pp[1];
    {
        int fds[SPAWN_N_FDS] = {
            [SPAWN_FD_CONFIG] = cfg_r,       [SPAWN_FD_STATUS] = st_w, [SPAWN_FD_CTL] = lfd,
            [SPAWN_FD_SECCOMP] = seccomp_fd, [SPAWN_FD_GO] = go_r,     [SPAWN_FD_INIT] = init_fd};
        l->pid = spawner_clone(CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWNET |
                                   CLONE_NEWUTS | CLONE_NEWIPC,
                               fds, &l->pidfd);
    }
    if (l->pid < 0) {
        r = cove_err_errno(err, -l->pid, "start a sandbox init");
        goto fail;
    }
    /* The slow part on cgroup v1 (an RCU grace period after idle): done before anyone waits
     * when the larva comes from the pool. */
    r = cgroup_ops()->sandbox_attach(name, l->pid);
    if (r < 0) {
        cove_err_errno(err, -r, "move sandbox into its cgroup");
        larva_kill(l);
        goto fail;
    }
    return 0;
fail_errno:
    r = cove_err_errno(err, errno, "start a sandbox init");
fail:
    larva_kill(l);
    cgroup_ops()->sandbox_destroy(name);
    (void)unlink(sock);
    return r;
}

static int larva_hatch(struct larva *l, const struct spawn_params *p, pid_t *ret_pid,
                       int *ret_pidfd, struct cove_err *err)
{
    struct ctl_init_config cfg = {
        .magic = CTL_MAGIC, .user_uid = 1000, .user_gid = 1000, .shm_mib = p->shm_mib};
    int r;

    snprintf(cfg.hostname, sizeof(cfg.hostname), "%s", p->hostname);
    snprintf(cfg.lower, sizeof(cfg.lower), "%s", p->lower);
    snprintf(cfg.disk, sizeof(cfg.disk), "%s", p->disk);
    snprintf(cfg.usr_lower, sizeof(cfg.usr_lower), "/usr");
    r = spawn_make_devices(p->disk);
    if (r < 0) {
        cove_err_errno(err, -r, "make the sandbox's device nodes");
        goto fail;
    }
    /* Usually a few stat calls: the pool copied them. A failure only costs isolation of the
     * mmap locks of those files (private-libs.h), so the sandbox still starts. */
    r = private_libs_seed(p->disk, (uid_t)p->uid_base);
    if (r < 0)
        log_warn("sandbox %s: copy the shared libraries: %s", p->id, strerror(-r));
    if (strcmp(l->name, p->id)) {
        r = cgroup_ops()->sandbox_rename(l->name, p->id);
        if (r < 0) {
            cove_err_errno(err, -r, "name the sandbox's cgroup");
            goto fail;
        }
        snprintf(l->name, sizeof(l->name), "%s", p->id);
    }
    r = cgroup_ops()->sandbox_create(p->id, p->limits, err); /* sets this sandbox's limits */
    if (r < 0)
        goto fail;
    if (strcmp(l->sock, p->sock_path) && rename(l->sock, p->sock_path) < 0) {
        r = cove_err_errno(err, errno, "name the control socket");
        goto fail;
    }
    snprintf(l->sock, sizeof(l->sock), "%s", p->sock_path);
    r = write_map(l->pid, "uid_map", p->uid_base);
    if (r >= 0)
        r = write_map(l->pid, "gid_map", p->uid_base);
    if (r < 0) {
        cove_err_errno(err, -r, "write uid/gid map");
        goto fail;
    }
    if (write(l->cfg_w, &cfg, sizeof(cfg)) != (ssize_t)sizeof(cfg) || write(l->go_w, "g", 1) != 1) {
        r = cove_err_errno(err, errno, "configure sandbox init");
        goto fail;
    }
    r = read_status(l->st_r, err);
    if (r < 0)
        goto fail;
    *ret_pid = l->pid;
    *ret_pidfd = TAKE_FD(l->pidfd);
    larva_kill(l); /* closes the pipes; pidfd already taken */
    return 0;
fail:
    larva_kill(l);
    cgroup_ops()->sandbox_destroy(l->name);
    (void)unlink(l->sock);
    return r;
}

/* ---- the warm pool ---- */

#define POOL_MAX 16

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct larva v[POOL_MAX];
    size_t n;
    unsigned target;
    char run_dir[512];
    int init_fd, seccomp_fd;
    uint64_t seq;
    bool stop, started;
    pthread_t thread;
} pool = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

static void *pool_main(void *arg)
{
    struct cgroup_limits lim = {.cpu_milli = 1000, .memory_bytes = 64u << 20, .pids = 64};

    pthread_mutex_lock(&pool.mu);
    while (!pool.stop) {
        if (pool.n >= pool.target) {
            pthread_cond_wait(&pool.cv, &pool.mu);
            continue;
        }
        char name[40], sock[600];
        struct larva l;
        snprintf(name, sizeof(name), "pool-%llu", (unsigned long long)++pool.seq);
        snprintf(sock, sizeof(sock), "%s/%s.sock", pool.run_dir, name);
        pthread_mutex_unlock(&pool.mu);
        int r = larva_make(&l, name, sock, &lim, pool.init_fd, pool.seccomp_fd, NULL);
        pthread_mutex_lock(&pool.mu);
        if (r < 0) {
            pthread_mutex_unlock(&pool.mu);
            sleep(1);
            pthread_mutex_lock(&pool.mu);
            continue;
        }
        if (pool.stop || pool.n >= POOL_MAX) {
            larva_kill(&l);
            cgroup_ops()->sandbox_destroy(l.name);
            (void)unlink(l.sock);
            continue;
        }
        pool.v[pool.n++] = l;
    }
    pthread_mutex_unlock(&pool.mu);
    return NULL;
}

void spawn_pool_start(const char *run_dir, unsigned target, int init_fd, int seccomp_fd)
{
    /* Leftovers of an earlier coved: pooled inits died with their go pipe; their cgroups and
     * sockets are named pool-*. */
    _cleanup_closedir_ DIR *d = opendir(run_dir);
    for (struct dirent *de; d && (de = readdir(d));) {
        char p[800];
        if (strncmp(de->d_name, "pool-", 5))
            continue;
        snprintf(p, sizeof(p), "%s/%s", run_dir, de->d_name);
        (void)unlink(p);
        *strrchr(de->d_name, '.') = '\0';
        cgroup_ops()->sandbox_destroy(de->d_name);
    }
    pthread_mutex_lock(&pool.mu);
    snprintf(pool.run_dir, sizeof(pool.run_dir), "%s", run_dir);
    pool.target = target < POOL_MAX ? target : POOL_MAX;
    pool.init_fd = init_fd;
    pool.seccomp_fd = seccomp_fd;
    pool.seq = (uint64_t)time(NULL) << 16; /* distinct from an earlier run's names */
    if (pool.target && !pool.started) {
        pool.started = true;
        pthread_create(&pool.thread, NULL, pool_main, NULL);
    }
    pthread_mutex_unlock(&pool.mu);
}

void spawn_pool_stop(void)
{
    pthread_mutex_lock(&pool.mu);
    pool.stop = true;
    pthread_cond_broadcast(&pool.cv);
    pthread_mutex_unlock(&pool.mu);
    if (pool.started)
        pthread_join(pool.thread, NULL);
    for (size_t i = 0; i < pool.n; i++) {
        larva_kill(&pool.v[i]);
        cgroup_ops()->sandbox_destroy(pool.v[i].name);
        (void)unlink(pool.v[i].sock);
    }
    pool.n = 0;
}

int spawn_init(const struct spawn_params *p, pid_t *ret_pid, int *ret_pidfd, struct cove_err *err)
{
    struct larva l;
    bool have = false;
    int r;

    pthread_mutex_lock(&pool.mu);
    if (pool.n > 0) {
        l = pool.v[--pool.n];
        have = true;
        pthread_cond_broadcast(&pool.cv);
    }
    pthread_mutex_unlock(&pool.mu);
    if (!have) {
        r = larva_make(&l, p->id, p->sock_path, p->limits, p->init_fd, p->seccomp_fd, err);
        if (r < 0)
            return r;
    }
    return larva_hatch(&l, p, ret_pid, ret_pidfd, err);
}
