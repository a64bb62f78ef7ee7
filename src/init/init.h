/* cove-init internals: PID 1 of a sandbox. See init.c for the theory of operation. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "sandbox/ctl-proto.h"

/* cove-init's own start-up and control loop (init.c); returns only on a failure. */
int init_main(void);
/* `cove-init --spawner PPID` (init-spawner.c): clone inits for coved until it goes. */
int spawner_main(const char *ppid);

/* Mount the root filesystem, /proc, /dev, pivot into it, set hostname and loopback, and
 * lock the process down (bounding set, no_new_privs, seccomp). On failure writes a message
 * into msg and returns -errno. */
int init_setup(const struct ctl_init_config *cfg, int seccomp_fd, char *msg, size_t msgsz);

/* Start a child for a SPAWN request. fds: stdin, stdout, stderr [, cgroup.procs].
 * Returns the child's pid, or -errno with *stage and msg set. */
pid_t init_spawn(const struct ctl_msg *req, const char *payload, const int *fds, int nfds,
                 const struct ctl_init_config *cfg, int *stage, char *msg, size_t msgsz);

/* Logged commands (init-log.c). */
#include <poll.h>
pid_t job_spawn(const struct ctl_msg *req, const char *payload, const int *fds, int nfds,
                const struct ctl_init_config *cfg, int *stage, char *msg, size_t msgsz);
size_t jobs_fill(struct pollfd *pfd, size_t cap);
void jobs_dispatch(const struct pollfd *pfd, size_t n);
/* True if pid was a logged command (its status is now written). */
bool jobs_reaped(pid_t pid, int status);
/* Feed stdin: bytes taken (may be fewer than len), or -errno. */
int jobs_input(pid_t pid, const char *data, size_t len, bool eof);
unsigned jobs_running(void);
/* Milliseconds until the next job deadline (0 = one is due), or -1 if there is none. */
int jobs_poll_timeout(void);
/* Kill (SIGKILL to the process group) every job whose deadline has passed. */
void jobs_expire(void);
