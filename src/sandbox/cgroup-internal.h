/* Private to the cgroup back ends. */
#pragma once

#include "sandbox/cgroup.h"

extern const struct cgroup_ops cgroup_v1_ops;
extern const struct cgroup_ops cgroup_v2_ops;
extern char cg_root[128];

int cgroup_v1_init(const char *root, struct cove_err *err);
int cgroup_v2_init(const char *root, struct cove_err *err);
