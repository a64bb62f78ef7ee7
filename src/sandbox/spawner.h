/* Cloning sandbox inits from a small helper process, not from coved itself.
 *
 * coved has many threads and a large address space. A fork-like clone3 of it copies that
 * address space (dup_mmap) and write-protects every private page, so each coved thread then
 * takes a copy-on-write fault, with a TLB shootdown across CPUs, for every page it writes
 * next; and the clone's exec of cove-init must tear that copy down again, on the create's
 * path. So coved starts `cove-init --spawner` once (src/init/init-spawner.c): a static,
 * single-threaded program of a few pages, which clones each init with CLONE_PARENT (the
 * init is still coved's child: coved's pidfd waits and SIGCHLD work as before), and whose
 * clones run cove-init's main without an exec. If the spawner is not running, coved clones
 * the init itself, and that clone execs cove-init. */
#pragma once

#include <sys/types.h>

#include "sandbox/ctl-proto.h"

/* Start the spawner from the cove-init binary at init_path. Returns 0 or -errno (then
 * spawner_clone clones in coved). */
int spawner_start(const char *init_path);
/* Clone an init into new namespaces (flags: CLONE_NEW*) with fds[SPAWN_N_FDS] (in
 * SPAWN_FD_* order); it waits for its go byte and then runs cove-init (spawn.c). Returns the
 * pid and sets *ret_pidfd, or returns -errno. Thread-safe. */
pid_t spawner_clone(unsigned long long flags, const int fds[SPAWN_N_FDS], int *ret_pidfd);
