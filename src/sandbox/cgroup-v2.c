/* cgroup v2 back end: <root>/<id> carries memory.max, pids.max and cpu.max for the whole
 * sandbox; command groups below it have no controllers of their own (so the no-internal-
 * process rule never applies) and are killed atomically with cgroup.kill. */
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

static void path_of(char *p, size_t cap, const char *id)
{
    if (id)
        snprintf(p, cap, "/sys/fs/cgroup/%s/%s", cg_root, id);
    else
        snprintf(p, cap, "/sys/fs/cgroup/%s", cg_root);
}

int cgroup_v2_init(const char *root, struct cove_err *err)
{
    char p[256];
    int r;

    /* The controllers must be enabled all the way down to our root's children. */
    r = cg_write("/sys/fs/cgroup", "cgroup.subtree_control", "+memory +pids +cpu");
    if (r < 0 && r != -EBUSY)
        return cove_err_errno(err, -r, "enable memory, pids and cpu controllers in /sys/fs/cgroup");
    path_of(p, sizeof(p), NULL);
    if (mkdir(p, 0755) < 0 && errno != EEXIST)
        return cove_err_errno(err, errno, "create cgroup %s", p);
    r = cg_write(p, "cgroup.subtree_control", "+memory +pids +cpu");
    if (r < 0)
        return cove_err_errno(err, -r, "enable controllers in %s", p);
    return 0;
}

static int v2_sandbox_create(const char *id, const struct cgroup_limits *l, struct cove_err *err)
{
    char p[256], v[48];
    int r;

    path_of(p, sizeof(p), id);
    if (mkdir(p, 0755) < 0 && errno != EEXIST)
        return cove_err_errno(err, errno, "create cgroup %s", p);
    snprintf(v, sizeof(v), "%llu", (unsigned long long)l->memory_bytes);
    r = cg_write(p, "memory.max", v);
    if (r < 0)
        return cove_err_errno(err, -r, "set memory.max");
    (void)cg_write(p, "memory.swap.max", "0");
    snprintf(v, sizeof(v), "%u", l->pids);
    r = cg_write(p, "pids.max", v);
    if (r < 0)
        return cove_err_errno(err, -r, "set pids.max");
    snprintf(v, sizeof(v), "%u 100000", l->cpu_milli * 100);
    r = cg_write(p, "cpu.max", v);
    if (r < 0)
        return cove_err_errno(err, -r, "set cpu.max");
    return 0;
}

static int v2_sandbox_rename(const char *from, const char *to)
{
    char a[256], b[256];

    path_of(a, sizeof(a), from);
    path_of(b, sizeof(b), to);
    return rename(a, b) < 0 ? -errno : 0;
}

static int v2_sandbox_attach(const char *id, pid_t pid)
{
    char p[256], v[24];

    path_of(p, sizeof(p), id);
    snprintf(v, sizeof(v), "%d", pid);
    return cg_write(p, "cgroup.procs", v);
}

static int wait_empty(const char *dir)
{
    for (int i = 0; i < 2000; i++) {
        uint64_t populated = 1;
        if (cg_read_key(dir, "cgroup.events", "populated", &populated) < 0 || !populated)
            return 0;
        nanosleep(&(struct timespec){0, 500000}, NULL);
    }
    return -EBUSY;
}

static int v2_sandbox_destroy(const char *id)
{
    char p[256], sub[512];

    path_of(p, sizeof(p), id);
    if (cg_write(p, "cgroup.kill", "1") == -ENOENT)
        return 0;
    (void)wait_empty(p);
    _cleanup_closedir_ DIR *d = opendir(p);
    if (d) {
        for (struct dirent *de; (de = readdir(d));) {
            if (de->d_type != DT_DIR || de->d_name[0] != 'x')
                continue;
            snprintf(sub, sizeof(sub), "%s/%s", p, de->d_name);
            (void)cg_rmdir_retry(sub);
        }
    }
    return cg_rmdir_retry(p);
}

static void exec_path(char *p, size_t cap, const char *id, uint64_t n)
{
    snprintf(p, cap, "/sys/fs/cgroup/%s/%s/x%llu", cg_root, id, (unsigned long long)n);
}

static int v2_exec_create(const char *id, uint64_t n, int *ret_fd)
{
    char p[300];
    int fd;

    exec_path(p, sizeof(p), id, n);
    if (mkdir(p, 0755) < 0 && errno != EEXIST)
        return -errno;
    strncat(p, "/cgroup.procs", sizeof(p) - strlen(p) - 1);
    fd = open(p, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    *ret_fd = fd;
    return 0;
}

static int v2_exec_kill(const char *id, uint64_t n)
{
    char p[300];
    int r;

    exec_path(p, sizeof(p), id, n);
    r = cg_write(p, "cgroup.kill", "1");
    if (r < 0)
        return r == -ENOENT ? 0 : r;
    return wait_empty(p);
}

static int v2_exec_destroy(const char *id, uint64_t n)
{
    char p[300];

    exec_path(p, sizeof(p), id, n);
    (void)cg_write(p, "cgroup.kill", "1");
    (void)wait_empty(p);
    return cg_rmdir_retry(p);
}

static int v2_sandbox_freeze(const char *id, bool frozen)
{
    char p[256];
    uint64_t state = 0;
    int r;

    path_of(p, sizeof(p), id);
    r = cg_write(p, "cgroup.freeze", frozen ? "1" : "0");
    if (r < 0 || !frozen)
        return r;
    for (int i = 0; i < 2000; i++) {
        if (cg_read_key(p, "cgroup.events", "frozen", &state) < 0 || state)
            return 0;
        nanosleep(&(struct timespec){0, 50000}, NULL);
    }
    return -ETIMEDOUT;
}

static int v2_exec_pids(const char *id, uint64_t n, pid_t *out, size_t cap)
{
    char p[300];

    exec_path(p, sizeof(p), id, n);
    return cg_read_pids(p, out, cap);
}

static int v2_oom_kills(const char *id, uint64_t *ret)
{
    char p[256];

    path_of(p, sizeof(p), id);
    return cg_read_key(p, "memory.events", "oom_kill", ret);
}

static int v2_count_procs(const char *id, uint64_t *ret)
{
    char p[256], buf[32];
    int r;

    path_of(p, sizeof(p), id);
    r = cg_read(p, "pids.current", buf, sizeof(buf));
    if (r < 0)
        return r;
    *ret = strtoull(buf, NULL, 10);
    return 0;
}

static int v2_count_sandboxes(uint64_t *ret)
{
    char p[256];
    uint64_t n = 0;

    path_of(p, sizeof(p), NULL);
    _cleanup_closedir_ DIR *d = opendir(p);
    if (!d)
        return -errno;
    for (struct dirent *de; (de = readdir(d));)
        if (de->d_type == DT_DIR && de->d_name[0] != '.')
            n++;
    *ret = n;
    return 0;
}

const struct cgroup_ops cgroup_v2_ops = {
    .name = "v2",
    .sandbox_create = v2_sandbox_create,
    .sandbox_rename = v2_sandbox_rename,
    .sandbox_attach = v2_sandbox_attach,
    .sandbox_destroy = v2_sandbox_destroy,
    .exec_create = v2_exec_create,
    .exec_kill = v2_exec_kill,
    .exec_destroy = v2_exec_destroy,
    .exec_pids = v2_exec_pids,
    .sandbox_freeze = v2_sandbox_freeze,
    .oom_kills = v2_oom_kills,
    .count_procs = v2_count_procs,
    .count_sandboxes = v2_count_sandboxes,
};
