/* The sandbox's system-call filter, compiled once per daemon into a BPF program that
 * cove-init installs on itself (every sandbox process inherits it). */
#pragma once

#include "base/err.h"

/* Build the filter and return a sealed memfd holding the raw BPF instructions. */
int seccomp_build(int *ret_fd, struct cove_err *err);

/* The policy as text (one "action syscall condition  # why" per line), for docs and tests. */
const char *seccomp_policy_text(void);
