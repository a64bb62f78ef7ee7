/* Lexical handling of sandbox paths: pure string functions, no I/O.
 *
 * A normalised path is absolute, starts with exactly one '/', has no empty, "." or ".."
 * components and no trailing '/' (except "/" itself). Normalisation is lexical only: it never
 * looks at the filesystem, so it does not know about symlinks. It exists to give API clients
 * predictable paths and to catch requests for /proc, /dev and /sys early; the security
 * boundary is the kernel's RESOLVE_IN_ROOT in sandbox/fileops.c, not this file. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* Normalise input into out (cap bytes). A relative input resolves against home, which must
 * itself be absolute. ".." at "/" stays at "/". Any byte except NUL is allowed in a name.
 * Returns the length of out, -EINVAL for an empty input or a relative home, -ENAMETOOLONG
 * when the input or the path being built (home + input, before ".." is applied) exceeds
 * COVE_MAX_PATH - 1 bytes, a component exceeds NAME_MAX, or the result does not fit in cap.
 * out is untouched on failure. */
int path_normalize(const char *home, const char *input, char *out, size_t cap);

/* True for /proc, /dev, /sys and anything below them. norm must be normalised. */
bool path_is_forbidden(const char *norm);

/* True if norm lies strictly below dir (both normalised): "/a/b" is below "/a", "/a" is not
 * below "/a", "/ab" is not below "/a". Everything but "/" is below "/". */
bool path_is_below(const char *norm, const char *dir);

/* The last component of a normalised path ("/" for "/"); points into norm. */
const char *path_basename(const char *norm);
