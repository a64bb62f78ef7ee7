/* `coved --check` / `cove doctor`: can this host run sandboxes? */
#pragma once

#include <stdbool.h>

/* Print one line per requirement (ok/FAIL plus a concrete fix); true if all pass. */
bool check_host(const char *state_dir);
