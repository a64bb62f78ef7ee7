/* Per-sandbox and per-command control groups, cgroup v2 or v1 behind one ops table.
 *
 * Layout (v2): <mnt>/<root>/<sandbox-id>/ holds the limits and the sandbox's init;
 *              <mnt>/<root>/<sandbox-id>/x<n>/ holds one command's process tree.
 * Layout (v1): the same tree under each of the memory, pids, cpu and freezer hierarchies;
 *              per-command groups exist only under freezer, which lets us stop a tree that
 *              is still forking before killing it.
 * A command's group is how a timeout kills everything it started, including processes that
 * called setsid() or double-forked: they cannot leave the group. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/err.h"

struct cgroup_limits {
    uint32_t cpu_milli; /* 1000 = one core */
    uint64_t memory_bytes;
    uint32_t pids;
};

struct cgroup_ops {
    const char *name; /* "v1" or "v2" */
    int (*sandbox_create)(const char *id, const struct cgroup_limits *l, struct cove_err *err);
    /* Rename a sandbox's groups (a pre-started init taking its sandbox's id). */
    int (*sandbox_rename)(const char *from, const char *to);
    /* Move pid (a host pid) into the sandbox's groups. */
    int (*sandbox_attach)(const char *id, pid_t pid);
    /* Kill anything left and remove the groups; idempotent. */
    int (*sandbox_destroy)(const char *id);
    /* Create command group n; *ret_fd is an O_WRONLY fd on its cgroup.procs. */
    int (*exec_create)(const char *id, uint64_t n, int *ret_fd);
    /* SIGKILL every process of command group n and wait until it is empty. */
    int (*exec_kill)(const char *id, uint64_t n);
    int (*exec_destroy)(const char *id, uint64_t n);
    /* Host pids in command group n (at most cap); returns the count or -errno. */
    int (*exec_pids)(const char *id, uint64_t n, pid_t *out, size_t cap);
    /* Freeze (or thaw) every process of the sandbox; returns once the state is reached. */
    int (*sandbox_freeze)(const char *id, bool frozen);
    /* Number of OOM kills so far in the sandbox. */
    int (*oom_kills)(const char *id, uint64_t *ret);
    /* Number of processes in the sandbox (all groups). */
    int (*count_procs)(const char *id, uint64_t *ret);
    /* Number of sandbox groups that exist (for leak checks). */
    int (*count_sandboxes)(uint64_t *ret);
};

/* Detect the cgroup version and prepare <root>. */
int cgroup_init(const char *root, struct cove_err *err);
const struct cgroup_ops *cgroup_ops(void);

/* Start-up: destroy (kill and remove) every group under the root whose name keep() refuses,
 * i.e. what a crash left behind. Returns how many were removed, or -errno. */
int cgroup_sweep(bool (*keep)(const char *name, void *ud), void *ud);

/* Report what the host offers, for `coved --check`: version, controllers, missing pieces. */
int cgroup_check(char *buf, size_t cap, bool *ret_ok);

/* Shared helpers for the two back ends (cgroup-util.c). */
int cg_write(const char *dir, const char *file, const char *value);
int cg_read(const char *dir, const char *file, char *buf, size_t cap);
int cg_read_key(const char *dir, const char *file, const char *key, uint64_t *ret);
int cg_count_lines(const char *dir, const char *file, uint64_t *ret);
int cg_rmdir_retry(const char *dir);
int cg_read_pids(const char *dir, pid_t *out, size_t cap);
