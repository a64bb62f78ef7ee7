/* Images: the read-only lower layer of a sandbox's root. The only image today is `base`: a
 * skeleton root (FHS directories, /bin -> usr/bin links, a small generated /etc) whose /usr is
 * the host's /usr, mounted as a second overlay, so every interpreter and compiler installed on
 * the host is there. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "base/err.h"

#define SANDBOX_USER "cove"
#define SANDBOX_UID  1000
#define SANDBOX_HOME "/home/cove"

/* Build (or rebuild, when its format version changed) <state>/images/base/root. */
int image_init(const char *state_dir, struct cove_err *err);
bool image_exists(const char *name);
/* Path of an image's lower layer. */
int image_lower_path(const char *name, char *buf, size_t cap);
