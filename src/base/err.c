/* struct cove_err helpers: formatting only, no allocation (safe in a forked child). */
#include "err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The format attribute lets the compiler check vsnprintf's non-literal format (clang). */
static __attribute__((format(printf, 4, 0))) int fill(struct cove_err *err, int code,
                                                      const char *kind, const char *fmt, va_list ap)
{
    if (code > 0)
        code = -code;
    if (code == 0)
        code = -5;
    if (!err)
        return code;
    err->code = code;
    err->kind[0] = '\0';
    if (kind)
        snprintf(err->kind, sizeof(err->kind), "%s", kind);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    return code;
}

int cove_err_set(struct cove_err *err, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = fill(err, code, NULL, fmt, ap);
    va_end(ap);
    return r;
}

int cove_err_setk(struct cove_err *err, int code, const char *kind, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = fill(err, code, kind, fmt, ap);
    va_end(ap);
    return r;
}

int cove_err_errno(struct cove_err *err, int errnum, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = fill(err, errnum, NULL, fmt, ap);
    va_end(ap);
    if (err) {
        size_t n = strlen(err->msg);
        char eb[128];
#ifdef __GLIBC__
        const char *es = strerror_r(errnum < 0 ? -errnum : errnum, eb, sizeof(eb));
#else /* cove-init may be built against musl, whose strerror_r is the XSI one */
        const char *es = strerror_r(errnum < 0 ? -errnum : errnum, eb, sizeof(eb)) ? "?" : eb;
#endif
        snprintf(err->msg + n, sizeof(err->msg) - n, ": %s", es);
    }
    return r;
}

void cove_err_clear(struct cove_err *err)
{
    if (err)
        memset(err, 0, sizeof(*err));
}
