/* The first steps of a freshly cloned sandbox init, shared by coved's own clone (which then
 * execs cove-init) and cove-init's spawner (whose clone runs cove-init's main directly). */
#pragma once

#include "sandbox/ctl-proto.h"

/* In the clone, raw system calls only: put fds[SPAWN_N_FDS] at CTL_FD_CONFIG + SPAWN_FD_*
 * and close every other descriptor, wait for coved's go byte (the uid map and cgroups are
 * in place then), enter a new cgroup namespace and become uid and gid 0 of the new user
 * namespace. Returns 0, or -errno (the go pipe closed: coved gave up on this init). */
int larva_prepare(const int fds[SPAWN_N_FDS]);
/* Report a failure of the clone on the status pipe (what READY would have been). */
void larva_fail(int err, const char *what);
