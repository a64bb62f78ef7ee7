/* Per-sandbox copies of the few host files that nearly every process maps: the dynamic
 * loader, libc and the shells.
 *
 * Sandboxes see the host's /usr through an overlay, and a mapping of an overlay file is a
 * mapping of the host's own inode. The kernel serialises fork and exit of every process that
 * maps a file on that file's i_mmap_rwsem, so a fork bomb in one sandbox, a thousand processes
 * forking and exiting with libc mapped, stalled process creation in every other sandbox and
 * on the host for seconds. With its own copies in the sandbox's /usr layer, a sandbox's
 * processes map inodes that are its alone.
 *
 * A copy keeps the host file's size and modification time, so a host upgrade is noticed: the
 * next seed replaces a copy that no longer matches (done at every sandbox start). */
#pragma once

#include <sys/types.h>

/* Make or refresh the copies under <disk>/upper/usr, owned (with the directories that hold
 * them) by owner: the sandbox's root, since an overlay in a user namespace cannot use upper
 * files or directories whose owner that namespace does not map. (uid_t)-1 leaves the owner
 * alone (the pool, before a sandbox has its uid range). Idempotent; cheap when the copies are
 * current (a few stat calls). Returns 0 or -errno. */
int private_libs_seed(const char *disk, uid_t owner);
