/* POST /v1/sandboxes/{id}/exec: parse the request, run it, report the result as data. */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "base/limits.h"
#include "base/path.h"
#include "exec/exec.h"
#include "sandbox/image.h"

static const char *const exec_fields[] = {"cmd",   "command",          "cwd", "env", "timeout",
                                          "stdin", "max_output_bytes", NULL};

static int bad(struct http_req *req, const char *msg)
{
    http_reply_error(req, 400, "BAD_REQUEST", "%s", msg);
    return -EINVAL;
}

/* Fill req from body; replies 400 itself on failure. argv is malloc'd (strings borrowed). */
static int parse_exec(struct http_req *hr, json_t *body, struct exec_req *req, char *cwd,
                      size_t cwd_cap)
{
    json_t *cmd = json_object_get(body, "cmd"), *command = json_object_get(body, "command");
    json_t *v;
    struct cove_err err = {0};
    size_t n, bytes = 0;

    if (api_check_fields(hr, body, exec_fields) < 0)
        return -EINVAL;
    if (!!cmd == !!command)
        return bad(hr, "give exactly one of 'cmd' (an argv array) or 'command' (a shell string)");
    if (cmd) {
        if (!json_is_array(cmd) || json_array_size(cmd) == 0 ||
            json_array_size(cmd) > COVE_MAX_ARGV)
            return bad(hr, "'cmd' must be a non-empty array of at most 4096 strings");
        n = json_array_size(cmd);
        req->argv = calloc(n + 1, sizeof(char *));
        for (size_t i = 0; req->argv && i < n; i++) {
            v = json_array_get(cmd, i);
            if (!json_is_string(v) || memchr(json_string_value(v), 0, json_string_length(v)))
                return bad(hr, "'cmd' entries must be strings without NUL bytes");
            bytes += json_string_length(v) + 1;
            req->argv[i] = (char *)json_string_value(v);
        }
        if (bytes > COVE_MAX_ARGV_BYTES)
            return bad(hr, "'cmd' is larger than 1 MiB");
    } else {
        if (!json_is_string(command) || json_string_length(command) == 0 ||
            json_string_length(command) > COVE_MAX_ARGV_BYTES ||
            memchr(json_string_value(command), 0, json_string_length(command)))
            return bad(hr, "'command' must be a non-empty string of at most 1 MiB");
        req->argv = calloc(4, sizeof(char *));
        if (req->argv) {
            req->argv[0] = "/bin/sh";
            req->argv[1] = "-c";
            req->argv[2] = (char *)json_string_value(command);
        }
    }
    if (!req->argv)
        return bad(hr, "out of memory");
    v = json_object_get(body, "cwd");
    if (v && (!json_is_string(v) ||
              path_normalize(SANDBOX_HOME, json_string_value(v), cwd, cwd_cap) < 0))
        return bad(hr, "'cwd' must be a valid path");
    if (!v)
        snprintf(cwd, cwd_cap, "%s", SANDBOX_HOME);
    req->cwd = cwd;
    v = json_object_get(body, "env");
    if (v) {
        if (sandbox_string_map_valid(v, "env", COVE_MAX_ENV, COVE_MAX_LABEL_KEY, COVE_MAX_ENV_BYTES,
                                     &err) < 0)
            return bad(hr, err.msg);
        req->env = v;
    }
    v = json_object_get(body, "timeout");
    req->timeout_ms = COVE_DEFAULT_TIMEOUT_MS;
    if (v) {
        double t = json_number_value(v);
        if (!json_is_number(v) || !isfinite(t) || t <= 0 || t * 1000 > COVE_MAX_TIMEOUT_MS)
            return bad(hr, "'timeout' must be a number of seconds, 0 < timeout <= 86400");
        req->timeout_ms = (uint64_t)llround(t * 1000);
        if (req->timeout_ms == 0)
            req->timeout_ms = 1;
    }
    v = json_object_get(body, "stdin");
    if (v) {
        if (!json_is_string(v) || json_string_length(v) > COVE_MAX_STDIN_BYTES)
            return bad(hr, "'stdin' must be a string of at most 16 MiB");
        req->stdin_data = json_string_value(v);
        req->stdin_len = json_string_length(v);
    }
    v = json_object_get(body, "max_output_bytes");
    req->max_output = COVE_DEFAULT_OUTPUT_CAP;
    if (v) {
        if (!json_is_integer(v) || json_integer_value(v) < 0 ||
            json_integer_value(v) > COVE_MAX_OUTPUT_CAP)
            return bad(hr, "'max_output_bytes' must be an integer 0..16777216");
        req->max_output = (size_t)json_integer_value(v);
    }
    return 0;
}

int api_exec(struct http_req *req)
{
    struct exec_req er = {0};
    struct exec_result res;
    struct cove_err err = {0};
    struct sandbox *sb = NULL;
    char cwd[COVE_MAX_PATH + 1];
    json_t *body = http_req_json(req);
    int r;

    if (!body)
        return 0;
    if (parse_exec(req, body, &er, cwd, sizeof(cwd)) < 0 || api_lookup(req, &sb) < 0) {
        free(er.argv);
        json_decref(body);
        return 0;
    }
    exec_result_init(&res, er.max_output);
    r = exec_run(sb, &er, &res, &err);
    if (r < 0)
        api_reply_err(req, &err);
    else
        http_reply_json(req, 200, exec_result_json(&res));
    exec_result_done(&res);
    free(er.argv);
    json_decref(body);
    sandbox_unref(sb);
    return 0;
}
