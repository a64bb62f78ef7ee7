/* Starting a sandbox's init process (see spawn.c for the theory of operation). */
#pragma once

#include <stdint.h>
#include <sys/types.h>

#include "base/err.h"
#include "sandbox/cgroup.h"

struct spawn_params {
    const char *id;        /* sandbox id: names its cgroups */
    uint32_t uid_base;     /* host uid/gid mapped to 0 inside; 65536 ids are mapped */
    const char *sock_path; /* control socket path to bind */
    const char *disk;      /* mounted sandbox disk */
    const char *lower;     /* image lower layer */
    const char *hostname;
    uint32_t shm_mib;
    int init_fd;    /* O_PATH fd of the cove-init binary */
    int seccomp_fd; /* memfd with the BPF program */
    const struct cgroup_limits *limits;
};

/* The sandbox's device nodes under <disk>/dev (null, zero, full, random, urandom, tty), for
 * cove-init to bind; idempotent, a few fstatat calls when they exist. 0 or -errno. */
int spawn_make_devices(const char *disk);

/* Keep `target` inits started ahead of time (namespaces made, cgroups joined), so a create
 * does not wait for the slow parts; 0 disables. run_dir holds their control sockets. */
void spawn_pool_start(const char *run_dir, unsigned target, int init_fd, int seccomp_fd);
void spawn_pool_stop(void);

/* Start cove-init (creating its cgroups with p->limits) and wait until it reports READY. On success
 * *ret_pid is its host pid and *ret_pidfd a pidfd for it (the caller reaps it: it is our child). */
int spawn_init(const struct spawn_params *p, pid_t *ret_pid, int *ret_pidfd, struct cove_err *err);
