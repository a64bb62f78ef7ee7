/* cgroup v1 back end: memory, pids and cpu hierarchies hold the sandbox limits; freezer
 * holds the sandbox and one group per command, so a command tree can be frozen, killed and
 * thawed without racing against fork(). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "sandbox/cgroup-internal.h"

static const char *const ctrls[] = {"memory", "pids", "cpu", "freezer"};

static void path_of(char *p, size_t cap, const char *ctrl, const char *id)
{
    if (id)
        snprintf(p, cap, "/sys/fs/cgroup/%s/%s/%s", ctrl, cg_root, id);
    else
        snprintf(p, cap, "/sys/fs/cgroup/%s/%s", ctrl, cg_root);
}

int cgroup_v1_init(const char *root, struct cove_err *err)
{
    char p[256];

    for (size_t i = 0; i < ELEMENTSOF(ctrls); i++) {
        path_of(p, sizeof(p), ctrls[i], NULL);
        if (mkdir(p, 0755) < 0 && errno != EEXIST)
            return cove_err_errno(err, errno, "create cgroup %s", p);
    }
    return 0;
}

static int v1_sandbox_create(const char *id, const struct cgroup_limits *l, struct cove_err *err)
{
    char p[256], v[32];
    int r;

    for (size_t i = 0; i < ELEMENTSOF(ctrls); i++) {
        path_of(p, sizeof(p), ctrls[i], id);
        if (mkdir(p, 0755) < 0 && errno != EEXIST)
            return cove_err_errno(err, errno, "create cgroup %s", p);
    }
    path_of(p, sizeof(p), "memory", id);
    snprintf(v, sizeof(v), "%llu", (unsigned long long)l->memory_bytes);
    /* memory+swap may never be below memory: raising needs memsw first, lowering memory
     * first. Try one order, then the other; memsw exists only with swap accounting. */
    r = cg_write(p, "memory.limit_in_bytes", v);
    if (r == -EINVAL) {
        (void)cg_write(p, "memory.memsw.limit_in_bytes", v);
        r = cg_write(p, "memory.limit_in_bytes", v);
    }
    if (r < 0)
        return cove_err_errno(err, -r, "set memory limit");
    (void)cg_write(p, "memory.memsw.limit_in_bytes", v);
    (void)cg_write(p, "memory.swappiness", "0");
    path_of(p, sizeof(p), "pids", id);
    snprintf(v, sizeof(v), "%u", l->pids);
    r = cg_write(p, "pids.max", v);
    if (r < 0)
        return cove_err_errno(err, -r, "set pids limit");
    path_of(p, sizeof(p), "cpu", id);
    r = cg_write(p, "cpu.cfs_period_us", "100000");
    snprintf(v, sizeof(v), "%u", l->cpu_milli * 100);
    if (r >= 0)
        r = cg_write(p, "cpu.cfs_quota_us", v);
    if (r < 0)
        return cove_err_errno(err, -r, "set cpu quota");
    return 0;
}

static int v1_sandbox_rename(const char *from, const char *to)
{
    char a[256], b[256];

    for (size_t i = 0; i < ELEMENTSOF(ctrls); i++) {
        path_of(a, sizeof(a), ctrls[i], from);
        path_of(b, sizeof(b), ctrls[i], to);
        if (rename(a, b) < 0)
            return -errno;
    }
    return 0;
}

static int v1_sandbox_attach(const char *id, pid_t pid)
{
    char p[256], v[24];

    snprintf(v, sizeof(v), "%d", pid);
    for (size_t i = 0; i < ELEMENTSOF(ctrls); i++) {
        path_of(p, sizeof(p), ctrls[i], id);
        int r = cg_write(p, "cgroup.procs", v);
        if (r < 0)
            return r;
    }
    return 0;
}

/* Freeze dir, SIGKILL every task, thaw, until no task is left. A frozen task cannot fork, so
 * one pass normally suffices; tasks frozen while stopped still die on thaw. */
static int kill_tree(const char *dir)
{
    char buf[65536], st[32];

    for (int round = 0; round < 200; round++) {
        uint64_t left = 0;
        int n;

        /* Nothing left (the common case after init died): no freeze round trip. */
        if (cg_count_lines(dir, "cgroup.procs", &left) < 0 || left == 0)
            return 0;
        (void)cg_write(dir, "freezer.state", "FROZEN");
        /* Wait briefly for the freeze; tasks that are already exiting keep the group in
         * FREEZING, and SIGKILL works on them regardless. */
        for (int i = 0; i < 20; i++) {
            if (cg_read(dir, "freezer.state", st, sizeof(st)) < 0 || strncmp(st, "FREEZING", 8))
                break;
            nanosleep(&(struct timespec){0, 50000}, NULL);
        }
        n = cg_read(dir, "cgroup.procs", buf, sizeof(buf));
        if (n < 0)
            return n == -ENOENT ? 0 : n;
        for (char *line = buf; *line;) {
            char *nl = strchr(line, '\n');
            long pid = strtol(line, NULL, 10);
            if (pid > 1)
                kill((pid_t)pid, SIGKILL);
            if (!nl)
                break;
            line = nl + 1;
        }
        (void)cg_write(dir, "freezer.state", "THAWED");
        nanosleep(&(struct timespec){0, 100000}, NULL);
    }
    return -EBUSY;
}

static int v1_exec_path(char *p, size_t cap, const char *id, uint64_t n)
{
    return snprintf(p, cap, "/sys/fs/cgroup/freezer/%s/%s/x%llu", cg_root, id,
                    (unsigned long long)n);
}

static int v1_sandbox_destroy(const char *id)
{
    char p[256], sub[512];
    int r = 0;

    path_of(p, sizeof(p), "freezer", id);
    (void)kill_tree(p);
    _cleanup_closedir_ DIR *d = opendir(p);
    if (d) {
        struct dirent *de;
        while ((de = readdir(d))) {
            if (de->d_type != DT_DIR || de->d_name[0] != 'x')
                continue;
            snprintf(sub, sizeof(sub), "%s/%s", p, de->d_name);
            (void)kill_tree(sub);
            (void)cg_rmdir_retry(sub);
        }
    }
    for (size_t i = 0; i < ELEMENTSOF(ctrls); i++) {
        path_of(p, sizeof(p), ctrls[i], id);
        int k = cg_rmdir_retry(p);
        if (k < 0 && r == 0)
            r = k;
    }
    return r;
}

static int v1_exec_create(const char *id, uint64_t n, int *ret_fd)
{
    char p[300];
    int fd;

    v1_exec_path(p, sizeof(p), id, n);
    if (mkdir(p, 0755) < 0 && errno != EEXIST)
        return -errno;
    strncat(p, "/cgroup.procs", sizeof(p) - strlen(p) - 1);
    fd = open(p, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    *ret_fd = fd;
    return 0;
}

static int v1_exec_kill(const char *id, uint64_t n)
{
    char p[300];

    v1_exec_path(p, sizeof(p), id, n);
    return kill_tree(p);
}

static int v1_exec_destroy(const char *id, uint64_t n)
{
    char p[300];

    v1_exec_path(p, sizeof(p), id, n);
    (void)kill_tree(p);
    return cg_rmdir_retry(p);
}

static int v1_sandbox_freeze(const char *id, bool frozen)
{
    char p[256], st[32];
    int r;

    path_of(p, sizeof(p), "freezer", id);
    r = cg_write(p, "freezer.state", frozen ? "FROZEN" : "THAWED");
    if (r < 0 || !frozen)
        return r;
    for (int i = 0; i < 2000; i++) {
        if (cg_read(p, "freezer.state", st, sizeof(st)) < 0 || !strncmp(st, "FROZEN", 6))
            return 0;
        nanosleep(&(struct timespec){0, 50000}, NULL);
    }
    return -ETIMEDOUT;
}

static int v1_exec_pids(const char *id, uint64_t n, pid_t *out, size_t cap)
{
    char p[300];

    v1_exec_path(p, sizeof(p), id, n);
    return cg_read_pids(p, out, cap);
}

static int v1_oom_kills(const char *id, uint64_t *ret)
{
    char p[256];

    path_of(p, sizeof(p), "memory", id);
    return cg_read_key(p, "memory.oom_control", "oom_kill", ret);
}

static int v1_count_procs(const char *id, uint64_t *ret)
{
    char p[256];

    /* pids.current counts every task (threads too) in the whole subtree. */
    path_of(p, sizeof(p), "pids", id);
    char buf[32];
    int r = cg_read(p, "pids.current", buf, sizeof(buf));
    if (r < 0)
        return r;
    *ret = strtoull(buf, NULL, 10);
    return 0;
}

static int v1_count_sandboxes(uint64_t *ret)
{
    char p[256];
    uint64_t n = 0;

    path_of(p, sizeof(p), "memory", NULL);
    _cleanup_closedir_ DIR *d = opendir(p);
    if (!d)
        return -errno;
    for (struct dirent *de; (de = readdir(d));)
        if (de->d_type == DT_DIR && de->d_name[0] != '.')
            n++;
    *ret = n;
    return 0;
}

const struct cgroup_ops cgroup_v1_ops = {
    .name = "v1",
    .sandbox_create = v1_sandbox_create,
    .sandbox_rename = v1_sandbox_rename,
    .sandbox_attach = v1_sandbox_attach,
    .sandbox_destroy = v1_sandbox_destroy,
    .exec_create = v1_exec_create,
    .exec_kill = v1_exec_kill,
    .exec_destroy = v1_exec_destroy,
    .exec_pids = v1_exec_pids,
    .sandbox_freeze = v1_sandbox_freeze,
    .oom_kills = v1_oom_kills,
    .count_procs = v1_count_procs,
    .count_sandboxes = v1_count_sandboxes,
};
