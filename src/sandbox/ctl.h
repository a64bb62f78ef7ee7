/* coved's side of the control protocol (ctl-proto.h): framing and descriptor passing. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "sandbox/ctl-proto.h"

/* Build a SPAWN payload (cwd, argv, env as NUL-separated strings) into *ret (malloc'd). */
int ctl_spawn_payload(const char *cwd, char *const *argv, char *const *envp, char **ret,
                      size_t *ret_len, uint32_t *ret_argc, uint32_t *ret_envc);
/* Send one message with payload and fds (nfds <= CTL_MAX_FDS). */
int ctl_send(int fd, struct ctl_msg *m, const void *payload, size_t len, const int *fds, int nfds);
/* Receive one reply. timeout_ms < 0 waits forever; 0 = would block. Returns 1 with *m filled,
 * 0 on timeout, -EPIPE when init closed the connection, -EPROTO on a malformed reply. */
int ctl_recv(int fd, struct ctl_msg *m, int timeout_ms);
