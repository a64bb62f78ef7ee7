/* cgroup version detection, shared file helpers, and the host check. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "sandbox/cgroup-internal.h"

char cg_root[128];
static const struct cgroup_ops *ops;

int cg_write(const char *dir, const char *file, const char *value)
{
    char p[512];
    _cleanup_close_ int fd = -EBADF;
    size_t n = strlen(value);

    snprintf(p, sizeof(p), "%s/%s", dir, file);
    fd = open(p, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    if (write(fd, value, n) != (ssize_t)n)
        return -errno;
    return 0;
}

int cg_read(const char *dir, const char *file, char *buf, size_t cap)
{
    char p[512];
    _cleanup_close_ int fd = -EBADF;
    ssize_t n;

    snprintf(p, sizeof(p), "%s/%s", dir, file);
    fd = open(p, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    n = read(fd, buf, cap - 1);
    if (n < 0)
        return -errno;
    buf[n] = '\0';
    return (int)n;
}

int cg_read_key(const char *dir, const char *file, const char *key, uint64_t *ret)
{
    char buf[4096];
    size_t kl = strlen(key);
    int r = cg_read(dir, file, buf, sizeof(buf));

    if (r < 0)
        return r;
    for (char *line = buf; line && *line;) {
        char *nl = strchr(line, '\n');
        if (!strncmp(line, key, kl) && line[kl] == ' ') {
            *ret = strtoull(line + kl + 1, NULL, 10);
            return 0;
        }
        line = nl ? nl + 1 : NULL;
    }
    return -ENOENT;
}

int cg_count_lines(const char *dir, const char *file, uint64_t *ret)
{
    char buf[65536];
    uint64_t n = 0;
    int r = cg_read(dir, file, buf, sizeof(buf));

    if (r < 0)
        return r;
    for (char *p = buf; *p; p++)
        n += *p == '\n';
    *ret = n;
    return 0;
}

int cg_read_pids(const char *dir, pid_t *out, size_t cap)
{
    char buf[65536];
    size_t n = 0;
    int r = cg_read(dir, "cgroup.procs", buf, sizeof(buf));

    if (r < 0)
        return r;
    for (char *p = buf; *p && n < cap;) {
        long v = strtol(p, &p, 10);
        if (v > 0)
            out[n++] = (pid_t)v;
        while (*p == '\n')
            p++;
    }
    return (int)n;
}

/* rmdir can fail with EBUSY for a moment after the last process died (it is still being
 * released); retry for up to one second. */
int cg_rmdir_retry(const char *dir)
{
    for (int i = 0; i < 1000; i++) {
        if (rmdir(dir) == 0 || errno == ENOENT)
            return 0;
        if (errno != EBUSY)
            return -errno;
        nanosleep(&(struct timespec){0, 1000000}, NULL);
    }
    return -EBUSY;
}

int cgroup_init(const char *root, struct cove_err *err)
{
    struct statfs sf;
    int r;

    snprintf(cg_root, sizeof(cg_root), "%s", root);
    if (statfs("/sys/fs/cgroup", &sf) < 0)
        return cove_err_errno(err, errno, "cannot inspect /sys/fs/cgroup");
    if ((unsigned long)sf.f_type == CGROUP2_SUPER_MAGIC) {
        r = cgroup_v2_init(root, err);
        if (r >= 0)
            ops = &cgroup_v2_ops;
        return r;
    }
    if (statfs("/sys/fs/cgroup/memory", &sf) == 0 &&
        (unsigned long)sf.f_type == CGROUP_SUPER_MAGIC) {
        r = cgroup_v1_init(root, err);
        if (r >= 0)
            ops = &cgroup_v1_ops;
        return r;
    }
    return cove_err_set(err, -ENOTSUP,
                        "no usable cgroup hierarchy: mount cgroup2 on /sys/fs/cgroup, or the v1 "
                        "memory, pids, cpu and freezer controllers");
}

const struct cgroup_ops *cgroup_ops(void)
{
    return ops;
}

/* Add the group names found in dir to *v (deduplicated); a missing dir adds nothing. */
static int collect_names(const char *dir, char (**v)[64], size_t *n, size_t *cap)
{
    _cleanup_closedir_ DIR *d = opendir(dir);

    for (struct dirent *de; d && (de = readdir(d));) {
        bool seen = false;
        if (de->d_type != DT_DIR || de->d_name[0] == '.' || strlen(de->d_name) >= sizeof(**v))
            continue;
        for (size_t i = 0; i < *n && !seen; i++)
            seen = !strcmp((*v)[i], de->d_name);
        if (seen)
            continue;
        if (*n == *cap) {
            size_t nc = *cap ? *cap * 2 : 64;
            char(*nv)[64] = realloc(*v, nc * sizeof(**v));
            if (!nv)
                return -ENOMEM;
            *v = nv, *cap = nc;
        }
        snprintf((*v)[(*n)++], sizeof(**v), "%s", de->d_name);
    }
    return 0;
}

int cgroup_sweep(bool (*keep)(const char *name, void *ud), void *ud)
{
    /* v1: a crash between the mkdirs (or renames) of one group leaves it in some hierarchies
     * only, so look in each of them. */
    static const char *const v1[] = {"memory/", "pids/", "cpu/", "freezer/"};
    static const char *const v2[] = {""};
    const char *const *h = ops == &cgroup_v2_ops ? v2 : v1;
    size_t nh = ops == &cgroup_v2_ops ? ELEMENTSOF(v2) : ELEMENTSOF(v1), n = 0, cap = 0;
    char(*names)[64] = NULL, dir[300];
    int r = 0, k;

    if (!ops)
        return -ENOTSUP;
    for (size_t i = 0; i < nh && r >= 0; i++) {
        snprintf(dir, sizeof(dir), "/sys/fs/cgroup/%s%s", h[i], cg_root);
        r = collect_names(dir, &names, &n, &cap);
    }
    for (size_t i = 0; i < n && r >= 0; i++) {
        if (keep(names[i], ud))
            continue;
        k = ops->sandbox_destroy(names[i]);
        r = k < 0 ? k : r + 1;
    }
    free(names);
    return r;
}

int cgroup_check(char *buf, size_t cap, bool *ret_ok)
{
    struct statfs sf;
    char ctl[512] = "";
    bool ok = true;
    size_t n = 0;

#define OUT(...) (n += (size_t)snprintf(buf + n, n < cap ? cap - n : 0, __VA_ARGS__))
    if (statfs("/sys/fs/cgroup", &sf) < 0) {
        OUT("FAIL cgroup: /sys/fs/cgroup missing. Fix: mount -t cgroup2 none /sys/fs/cgroup\n");
        *ret_ok = false;
        return 0;
    }
    if ((unsigned long)sf.f_type == CGROUP2_SUPER_MAGIC) {
        cg_read("/sys/fs/cgroup", "cgroup.controllers", ctl, sizeof(ctl));
        ctl[strcspn(ctl, "\n")] = '\0';
        OUT("ok   cgroup: v2 (controllers: %s)\n", ctl);
        static const char *const need[] = {"memory", "pids", "cpu"};
        for (size_t i = 0; i < ELEMENTSOF(need); i++) {
            if (!strstr(ctl, need[i])) {
                ok = false;
                OUT("FAIL cgroup v2 controller %s is not available. Fix: boot with "
                    "systemd.unified_cgroup_hierarchy=1 and make sure nothing else claims it\n",
                    need[i]);
            }
        }
    } else {
        static const char *const need[] = {"memory", "pids", "cpu", "freezer"};
        OUT("ok   cgroup: v1 (hybrid or legacy hierarchy)\n");
        for (size_t i = 0; i < ELEMENTSOF(need); i++) {
            char p[64];
            snprintf(p, sizeof(p), "/sys/fs/cgroup/%s", need[i]);
            if (statfs(p, &sf) < 0 || (unsigned long)sf.f_type != CGROUP_SUPER_MAGIC) {
                ok = false;
                OUT("FAIL cgroup v1 controller %s is not mounted. Fix: mkdir -p %s && mount -t "
                    "cgroup -o %s cgroup %s\n",
                    need[i], p, need[i], p);
            } else {
                OUT("ok   cgroup v1 controller %s\n", need[i]);
            }
        }
    }
#undef OUT
    *ret_ok = ok;
    return 0;
}
