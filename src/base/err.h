/* Error values that can reach an API client.
 *
 * Functions return `int`: >= 0 success, -errno failure. When a human-readable message must
 * reach the client they also fill a `struct cove_err`, which is fixed-size and allocation-free
 * so a child process can write() it up a pipe before exec. `code` is the negative errno that
 * api-error maps to an HTTP status; `kind` optionally names a machine-readable error code
 * (e.g. "SANDBOX_NOT_FOUND"); empty means "derive from code". */
#pragma once

#include <stdarg.h>

#define COVE_ERR_MSG_MAX  512
#define COVE_ERR_KIND_MAX 48

struct cove_err {
    int code;
    char kind[COVE_ERR_KIND_MAX];
    char msg[COVE_ERR_MSG_MAX];
};

/* Set err (if non-NULL) to -abs(code) and a printf-style message. Returns -abs(code). */
int cove_err_set(struct cove_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* As cove_err_set, with an explicit machine-readable kind. */
int cove_err_setk(struct cove_err *err, int code, const char *kind, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* As cove_err_set, appending ": strerror(errnum)". */
int cove_err_errno(struct cove_err *err, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

void cove_err_clear(struct cove_err *err);
