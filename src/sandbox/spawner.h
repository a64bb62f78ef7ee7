/* Cloning sandbox inits from a small helper process, not from coved itself.
 *
 * coved has many threads and a large address space. A fork-like clone3 of it copies that
 * address space (dup_mmap) and write-protects every private page, so each coved thread then
 * takes a copy-on-write fault, with a TLB shootdown across CPUs, for every page it writes
 * next: about 1.5 ms of CPU per sandbox on a 2-CPU host. The spawner is forked once, at
 * start-up, before coved has any thread; it clones each init with CLONE_PARENT, so the init
 * is still coved's child (coved's pidfd waits and SIGCHLD work as before). If the spawner is
 * not running, coved clones the init itself. */
#pragma once

#include <sys/types.h>

/* Descriptors the init's clone starts with, in this order (see spawner.c). */
enum {
    SPAWN_FD_CONFIG,
    SPAWN_FD_STATUS,
    SPAWN_FD_CTL,
    SPAWN_FD_SECCOMP,
    SPAWN_FD_GO,
    SPAWN_FD_INIT,
    SPAWN_N_FDS
};

/* Fork the spawner. Call once, before coved starts any thread. Returns 0 or -errno (then
 * spawner_clone clones in coved). */
int spawner_start(void);
/* Clone an init into new namespaces (flags: CLONE_NEW*) with fds[SPAWN_N_FDS]; it waits for
 * its go byte and then execs cove-init (spawn.c). Returns the pid and sets *ret_pidfd, or
 * returns -errno. Thread-safe. */
pid_t spawner_clone(unsigned long long flags, const int fds[SPAWN_N_FDS], int *ret_pidfd);
