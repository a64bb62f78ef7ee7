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
 * next seed replaces a copy that no longer matches (done at every sandbox start).
 *
 * Copies are owned by host root and immutable (FS_IMMUTABLE_FL, which no one without
 * CAP_LINUX_IMMUTABLE in the host's user namespace can clear): nothing in a sandbox, not even
 * its root, can change, rename or unlink them. So a released disk keeps them through its
 * scrub, and the next sandbox on that disk starts with copies already made: no 3.7 MB of
 * copying, no write-back and no flush at unmount per sandbox. */
#pragma once

#include <sys/types.h>

/* Make or refresh the copies under <disk>/upper/usr, and give the directories that hold them
 * to owner: the sandbox's root, since an overlay in a user namespace cannot create entries in
 * upper directories whose owner that namespace does not map. (uid_t)-1 leaves the
 * directories alone (the pool, before a sandbox has its uid range). Idempotent; cheap when
 * the copies are current (a statx per file). Returns 0 or -errno. */
int private_libs_seed(const char *disk, uid_t owner);

/* For a disk's scrub: what rel (relative to the disk's root, "upper/usr/bin/bash") is. */
enum { PRIVATE_LIBS_COPY = 1, PRIVATE_LIBS_DIR = 2 };
int private_libs_keep(const char *rel); /* COPY, DIR (an ancestor of a copy) or 0 */
/* 0 if name under dfd is still a copy as the pool made it; else clears its immutable flag so
 * that it can be removed, and returns -ESTALE. */
int private_libs_check_copy(int dfd, const char *name);
/* A kept directory back to host root, mode 0755, no extended attributes. */
int private_libs_reset_dir(int fd);
