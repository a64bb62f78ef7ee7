/* The one place that turns errors into HTTP statuses and JSON error bodies. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/api.h"
#include "base/log.h"

unsigned api_status_of(int code)
{
    switch (-code) {
    case EINVAL:
    case ENAMETOOLONG:
    case ELOOP:
    case EXDEV:
    case ENOTDIR:
    case EISDIR:
        return 400;
    case EACCES: /* permission denied inside cove; authentication failures are 401s made by
                    the HTTP layer itself */
    case EPERM:
    case EDQUOT:
        return 403;
    case ENOENT:
    case ESRCH:
        return 404;
    case EEXIST:
    case EBUSY:
    case EPIPE: /* an interpreter context whose process is gone */
    case ENOTEMPTY:
        return 409;
    case E2BIG:
    case EFBIG:
        return 413;
    case ENOSPC:
        return 507;
    case ETIMEDOUT:
        return 504;
    case ENOTSUP:
        return 503;
    default:
        return 500;
    }
}

static const char *default_kind(unsigned status)
{
    switch (status) {
    case 400:
        return "BAD_REQUEST";
    case 401:
        return "UNAUTHORIZED";
    case 403:
        return "FORBIDDEN";
    case 404:
        return "NOT_FOUND";
    case 409:
        return "CONFLICT";
    case 413:
        return "PAYLOAD_TOO_LARGE";
    case 503:
        return "UNAVAILABLE";
    case 504:
        return "TIMEOUT";
    case 507:
        return "INSUFFICIENT_STORAGE";
    default:
        return "INTERNAL_ERROR";
    }
}

int api_reply_err(struct http_req *req, const struct cove_err *err)
{
    unsigned status = api_status_of(err->code);

    if (status >= 500)
        log_error("%s %s: %s", http_method_to_string(http_req_method(req)), http_req_path(req),
                  err->msg);
    return http_reply_error(req, status, err->kind[0] ? err->kind : default_kind(status), "%s",
                            err->msg[0] ? err->msg : strerror(-err->code));
}

void api_iso_time(int64_t ms, char *buf, size_t cap)
{
    time_t s = (time_t)(ms / 1000);
    struct tm tm;

    gmtime_r(&s, &tm);
    snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}

int api_check_fields(struct http_req *req, json_t *obj, const char *const *allowed)
{
    const char *k;
    json_t *v;

    json_object_foreach(obj, k, v)
    {
        bool ok = false;
        for (size_t i = 0; allowed[i] && !ok; i++)
            ok = !strcmp(allowed[i], k);
        if (!ok) {
            http_reply_error(req, 400, "UNKNOWN_FIELD", "unknown field '%s'", k);
            return -EINVAL;
        }
    }
    return 0;
}
