/* Per-sandbox disks: a sparse ext4 image per sandbox, loop-mounted on the host, holding the
 * sandbox's writable overlay layers. The image size is the sandbox's disk limit, enforced by
 * the filesystem itself (ENOSPC), and the image lives on the host disk, so files survive a
 * stop, a start and a daemon restart.
 *
 * Formatting and mounting take ~15 ms, so a pool of ready disks of the default size is kept
 * warm by a background thread; a deleted sandbox's disk is wiped and returned to the pool.
 * Layout: <state>/disks/<n>.img mounted at <state>/disks/<n>/. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

/* layout: lays out a fresh or scrubbed disk at its mount point ahead of any sandbox (called
 * off the create path when the pool makes or scrubs a disk, and by disk_acquire for a disk
 * made on demand); a failure is logged, and the create then does the work itself. */
int disk_pool_init(const char *state_dir, uint32_t default_mib, unsigned warm,
                   int (*layout)(const char *mnt), struct cove_err *err);
void disk_pool_stop(void);
/* Take a disk of size_mib (a pooled one when the size matches); *ret_slot names it. */
int disk_acquire(uint32_t size_mib, int32_t *ret_slot, struct cove_err *err);
/* Mark slot as in use by an existing sandbox (daemon restart); mounts it if needed. */
int disk_adopt(int32_t slot, struct cove_err *err);
/* Destroy leftover disks no sandbox adopted, then start keeping the pool warm. */
void disk_pool_sweep(void);
/* Wipe the disk and return it to the pool (or destroy it). */
void disk_release(int32_t slot);
/* Mount point of slot. */
void disk_path(int32_t slot, char *buf, size_t cap);
/* Number of loop-mounted disks (for leak checks). */
unsigned disk_count_mounted(void);
