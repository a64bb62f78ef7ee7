/* Daytona compatibility: error bodies, the Sandbox DTO and helpers every daytona-*.c uses.
 *
 * The DTO follows the strictest client, the Python SDK (docs/daytona-compat.md): every
 * required field is present with its exact JSON type (strings, booleans, numbers; labels and
 * env are objects of strings), optional fields are either well-typed or absent, never null.
 * Compatibility-only settings (public, intervals cove does not act on, target, snapshot
 * name) live in the sandbox's extra_json. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/daytona.h"
#include "base/limits.h"
#include "base/log.h"
#include "base/path.h"
#include "sandbox/image.h"
#include "store/store.h"

/* ---- errors ---- */

static const char *reason_phrase(unsigned status)
{
    switch (status) {
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 408:
        return "Request Timeout";
    case 409:
        return "Conflict";
    case 410:
        return "Gone";
    case 413:
        return "Payload Too Large";
    case 503:
        return "Service Unavailable";
    case 507:
        return "Insufficient Storage";
    default:
        return status >= 500 ? "Internal Server Error" : "Error";
    }
}

json_t *dtn_error_body(struct http_req *req, unsigned status, const char *code, const char *source,
                       const char *msg)
{
    char ts[40];
    struct timespec now;
    const char *path = http_req_path(req);
    json_t *o;

    clock_gettime(CLOCK_REALTIME, &now);
    api_iso_time((int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000, ts, sizeof(ts));
    o = json_pack("{s:i, s:o, s:s, s:s, s:s, s:o, s:s}", "statusCode", (int)status, "message",
                  json_string_lossy(msg, strlen(msg)), "error", reason_phrase(status), "code", code,
                  "timestamp", ts, "path", json_string_lossy(path, strlen(path)), "method",
                  http_method_to_string(http_req_method(req)));
    if (o && source)
        json_object_set_new(o, "source", json_string(source));
    return o;
}

int dtn_reply_error(struct http_req *req, unsigned status, const char *code, const char *source,
                    const char *fmt, ...)
{
    char msg[COVE_ERR_MSG_MAX + 128];
    va_list ap;

    va_start(ap, fmt);
    (void)vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return http_reply_json(req, status, dtn_error_body(req, status, code, source, msg));
}

unsigned dtn_status_of(const struct cove_err *err, bool daemon, const char **ret_code)
{
    unsigned status = api_status_of(err->code);
    const char *kind = err->kind[0] ? err->kind : NULL;
    const char *code;

    if (kind && !strcmp(kind, "FILE_NOT_FOUND"))
        code = "FILE_NOT_FOUND";
    else if (kind && !strcmp(kind, "INVALID_PATH"))
        code = "INVALID_FILE_PATH";
    else if (daemon && status == 403)
        code = "FILE_ACCESS_DENIED";
    else if (kind)
        code = kind;
    else if (status == 404)
        code = "NOT_FOUND";
    else if (status == 409)
        code = "CONFLICT";
    else if (status == 400)
        code = "BAD_REQUEST";
    else if (status == 403)
        code = "FORBIDDEN";
    else
        code = status >= 500 ? "INTERNAL_SERVER_ERROR" : "BAD_REQUEST";
    *ret_code = code;
    return status;
}

int dtn_reply_err(struct http_req *req, const struct cove_err *err, bool daemon)
{
    const char *code;
    unsigned status = dtn_status_of(err, daemon, &code);

    if (status >= 500)
        log_error("%s %s: %s", http_method_to_string(http_req_method(req)), http_req_path(req),
                  err->msg);
    return dtn_reply_error(req, status, code, daemon ? DTN_SOURCE_DAEMON : NULL, "%s",
                           err->msg[0] ? err->msg : strerror(-err->code));
}

int dtn_lookup(struct http_req *req, struct sandbox **ret)
{
    struct cove_err err = {0};
    const char *id = http_req_param(req, "id");

    if (!id || !id[0])
        return dtn_reply_error(req, 400, "BAD_REQUEST", NULL, "missing sandbox id"), -EINVAL;
    if (sandbox_lookup(api_org(req), id, ret, &err) < 0) {
        dtn_reply_error(req, 404, "NOT_FOUND", NULL, "Sandbox with ID or name %s not found", id);
        return -ENOENT;
    }
    sandbox_touch(*ret);
    return 0;
}

/* ---- URLs ---- */

/* A Host header we are willing to echo into URLs: host[:port], no user info, no path. */
static bool host_ok(const char *h)
{
    size_t n = h ? strlen(h) : 0;

    if (n == 0 || n > 255)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)h[i]) && !strchr(".-:[]_", h[i]))
            return false;
    return true;
}

void dtn_origin(struct http_req *req, char *out, size_t cap)
{
    const char *host = http_req_header(req, "Host");
    const char *proto = http_req_header(req, "X-Forwarded-Proto");

    if (!proto || (strcmp(proto, "http") && strcmp(proto, "https")))
        proto = "http";
    snprintf(out, cap, "%s://%s", proto, host_ok(host) ? host : "127.0.0.1");
}

void dtn_toolbox_url(struct http_req *req, char *out, size_t cap)
{
    char origin[300];

    dtn_origin(req, origin, sizeof(origin));
    snprintf(out, cap, "%s/toolbox", origin);
}

bool dtn_sdk_older_than(struct http_req *req, unsigned major, unsigned minor, unsigned patch)
{
    const char *v = http_req_header(req, "X-Daytona-SDK-Version");
    unsigned a = 0, b = 0, c = 0;

    if (!v)
        return true;
    if (sscanf(v, "%u.%u.%u", &a, &b, &c) < 2 || !strncmp(v, "0.0.0", 5))
        return false;
    if (a != major)
        return a < major;
    if (b != minor)
        return b < minor;
    return c < patch;
}

/* ---- extra_json ---- */

json_t *dtn_extra_get(struct sandbox *sb, const char *key)
{
    struct sandbox_rec rec;
    json_t *extra, *v;

    sandbox_snapshot(sb, &rec);
    extra = rec.extra_json ? json_loads(rec.extra_json, 0, NULL) : NULL;
    store_sandbox_rec_free(&rec);
    v = json_incref(json_object_get(extra, key));
    json_decref(extra);
    return v;
}

int dtn_extra_set(struct sandbox *sb, const char *key, json_t *value, struct cove_err *err)
{
    struct sandbox_rec rec;
    json_t *extra;
    int r;

    sandbox_snapshot(sb, &rec);
    extra = rec.extra_json ? json_loads(rec.extra_json, 0, NULL) : NULL;
    if (!json_is_object(extra)) {
        json_decref(extra);
        extra = json_object();
    }
    free(rec.extra_json);
    rec.extra_json = NULL;
    if (extra && json_object_set_new(extra, key, value) == 0)
        rec.extra_json = json_dumps(extra, JSON_COMPACT | JSON_SORT_KEYS);
    else
        json_decref(value);
    json_decref(extra);
    r = rec.extra_json ? sandbox_update_settings(sb, &rec, err)
                       : cove_err_set(err, -ENOMEM, "out of memory");
    store_sandbox_rec_free(&rec);
    return r;
}

/* ---- DTO ---- */

static json_t *number(double v)
{
    return v == (double)(json_int_t)v ? json_integer((json_int_t)v) : json_real(v);
}

static const char *desired_state(const char *state)
{
    if (!strcmp(state, "stopped") || !strcmp(state, "stopping"))
        return "stopped";
    if (!strcmp(state, "destroyed") || !strcmp(state, "destroying"))
        return "destroyed";
    return "started";
}

/* extra.key as a JSON value of the wanted kind, else dflt (stolen). */
static json_t *extra_or(json_t *extra, const char *key, json_type type, json_t *dflt)
{
    json_t *v = json_object_get(extra, key);

    if (v && (json_typeof(v) == type || (type == JSON_TRUE && json_is_boolean(v)))) {
        json_decref(dflt);
        return json_incref(v);
    }
    return dflt;
}

static void set_times(json_t *o, const struct sandbox_rec *r)
{
    char t[40];

    api_iso_time(r->created_at, t, sizeof(t));
    json_object_set_new(o, "createdAt", json_string(t));
    api_iso_time(r->updated_at, t, sizeof(t));
    json_object_set_new(o, "updatedAt", json_string(t));
    api_iso_time(r->last_activity, t, sizeof(t));
    json_object_set_new(o, "lastActivityAt", json_string(t));
}

json_t *dtn_sandbox_json(struct http_req *req, struct sandbox *sb, bool list_item)
{
    struct sandbox_rec r;
    struct egress_policy net;
    char tb[400];
    json_t *o, *extra, *labels, *env;

    sandbox_snapshot(sb, &r);
    (void)egress_policy_from_string(r.network_json, &net);
    extra = r.extra_json ? json_loads(r.extra_json, 0, NULL) : NULL;
    labels = json_loads(r.labels_json ? r.labels_json : "{}", 0, NULL);
    env = json_loads(r.env_json ? r.env_json : "{}", 0, NULL);
    dtn_toolbox_url(req, tb, sizeof(tb));
    o = json_pack(
        "{s:s, s:s, s:s, s:s, s:o, s:o, s:b, s:o, s:o, s:i, s:o, s:o, s:s, s:s, s:b, "
        "s:s, s:i, s:o, s:o, s:s, s:s, s:s, s:s}",
        "id", r.id, "organizationId", r.org, "name", r.name, "user", SANDBOX_USER, "labels",
        labels ? labels : json_object(), "snapshot",
        extra_or(extra, "snapshot", JSON_STRING, json_string(r.image)), "networkBlockAll",
        net.mode == EGRESS_NONE, "public", extra_or(extra, "public", JSON_TRUE, json_false()),
        "target", extra_or(extra, "target", JSON_STRING, json_string("us")), "gpu", 0, "cpu",
        number(r.cpu_milli / 1000.0), "memory", number(r.memory_mib / 1024.0), "state", r.state,
        "desiredState", desired_state(r.state), "recoverable", 0, "backupState", "None",
        "autoStopInterval", (int)r.auto_stop_min, "autoArchiveInterval",
        extra_or(extra, "autoArchiveInterval", JSON_INTEGER, json_integer(10080)),
        "autoPauseInterval", extra_or(extra, "autoPauseInterval", JSON_INTEGER, json_integer(0)),
        "sandboxClass", "container", "daemonVersion", COVE_VERSION, "runnerId", "local",
        "toolboxProxyUrl", tb);
    if (o) {
        json_object_set_new(o, "disk", number(r.disk_mib / 1024.0));
        json_object_set_new(o, "autoDeleteInterval", json_integer(r.auto_delete_min));
        set_times(o, &r);
        if (r.error_reason)
            json_object_set_new(o, "errorReason",
                                json_string_lossy(r.error_reason, strlen(r.error_reason)));
        json_t *allow = json_object_get(extra, "networkAllowList");
        if (json_is_string(allow))
            json_object_set(o, "networkAllowList", allow);
        if (!list_item) {
            json_object_set_new(o, "env", env ? env : json_object());
            env = NULL;
            json_object_set_new(o, "volumes", json_array());
        }
    }
    json_decref(env);
    json_decref(extra);
    store_sandbox_rec_free(&r);
    return o;
}

/* ---- toolbox helpers ---- */

int dtn_path(struct http_req *req, const char *what, const char *in, char *out, size_t cap)
{
    char trimmed[COVE_MAX_PATH + 1];
    size_t n;
    int r;

    if (!in || !in[0])
        return dtn_reply_error(req, 400, "INVALID_FILE_PATH", DTN_SOURCE_DAEMON, "%s is required",
                               what),
               -EINVAL;
    /* The Daytona daemon trims client paths; "  a.txt " names a.txt. */
    while (*in == ' ' || *in == '\t')
        in++;
    n = strlen(in);
    while (n > 0 && (in[n - 1] == ' ' || in[n - 1] == '\t'))
        n--;
    if (n > COVE_MAX_PATH)
        return dtn_reply_error(req, 400, "INVALID_FILE_PATH", DTN_SOURCE_DAEMON, "%s is too long",
                               what),
               -ENAMETOOLONG;
    memcpy(trimmed, in, n);
    trimmed[n] = '\0';
    r = path_normalize(SANDBOX_HOME, trimmed, out, cap);
    if (r < 0)
        return dtn_reply_error(req, 400, "INVALID_FILE_PATH", DTN_SOURCE_DAEMON,
                               "%s '%s' is not a valid path", what, trimmed),
               r;
    if (path_is_forbidden(out))
        return dtn_reply_error(req, 400, "INVALID_FILE_PATH", DTN_SOURCE_DAEMON,
                               "%s: paths in /proc, /dev and /sys are not accessible", out),
               -EINVAL;
    return 0;
}
