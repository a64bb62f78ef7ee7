/* Parsing the body of POST /v1/sandboxes/{id}/exec into struct exec_req (docs/API.md, "Exec").
 *
 * Pure: no I/O and no HTTP, so the API handler, unit tests and the fuzzer (tests/fuzz/
 * fuzz-exec-req.c) share it. Every failure is -EINVAL with a message naming the field; an
 * unknown field has the kind "UNKNOWN_FIELD", anything else "BAD_REQUEST". Strings in the
 * result are borrowed from the JSON body, which must outlive the request. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/limits.h"
#include "base/path.h"
#include "exec/exec.h"
#include "sandbox/image.h"

static const char *const exec_fields[] = {"cmd",   "command",          "cwd", "env", "timeout",
                                          "stdin", "max_output_bytes", NULL};

static int bad(struct cove_err *err, const char *msg)
{
    return cove_err_setk(err, -EINVAL, "BAD_REQUEST", "%s", msg);
}

static int check_fields(json_t *body, struct cove_err *err)
{
    const char *k;
    json_t *v;

    json_object_foreach(body, k, v)
    {
        bool ok = false;
        for (size_t i = 0; exec_fields[i] && !ok; i++)
            ok = !strcmp(exec_fields[i], k);
        if (!ok)
            return cove_err_setk(err, -EINVAL, "UNKNOWN_FIELD", "unknown field '%s'", k);
    }
    return 0;
}

/* argv from "cmd" (an array of strings) or "command" (a shell string). */
static int parse_argv(json_t *body, struct exec_req *req, struct cove_err *err)
{
    json_t *cmd = json_object_get(body, "cmd"), *command = json_object_get(body, "command");
    size_t n, bytes = 0;

    if (!!cmd == !!command)
        return bad(err, "give exactly one of 'cmd' (an argv array) or 'command' (a shell string)");
    if (cmd) {
        if (!json_is_array(cmd) || json_array_size(cmd) == 0 ||
            json_array_size(cmd) > COVE_MAX_ARGV)
            return bad(err, "'cmd' must be a non-empty array of at most 4096 strings");
        n = json_array_size(cmd);
        req->argv = calloc(n + 1, sizeof(char *));
        if (!req->argv)
            return cove_err_set(err, -ENOMEM, "out of memory");
        for (size_t i = 0; i < n; i++) {
            json_t *v = json_array_get(cmd, i);
            /* A NUL would silently cut the argument short in the C string init execs. */
            if (!json_is_string(v) || memchr(json_string_value(v), 0, json_string_length(v)))
                return bad(err, "'cmd' entries must be strings without NUL bytes");
            bytes += json_string_length(v) + 1;
            req->argv[i] = (char *)json_string_value(v);
        }
        if (bytes > COVE_MAX_ARGV_BYTES)
            return bad(err, "'cmd' is larger than 1 MiB");
        return 0;
    }
    if (!json_is_string(command) || json_string_length(command) == 0 ||
        json_string_length(command) > COVE_MAX_ARGV_BYTES ||
        memchr(json_string_value(command), 0, json_string_length(command)))
        return bad(err, "'command' must be a non-empty string of at most 1 MiB");
    req->argv = calloc(4, sizeof(char *));
    if (!req->argv)
        return cove_err_set(err, -ENOMEM, "out of memory");
    req->argv[0] = "/bin/sh";
    req->argv[1] = "-c";
    req->argv[2] = (char *)json_string_value(command);
    return 0;
}

/* cwd, env, timeout, stdin and max_output_bytes. */
static int parse_options(json_t *body, struct exec_req *req, char *cwd, size_t cwd_cap,
                         struct cove_err *err)
{
    json_t *v = json_object_get(body, "cwd");

    if (v && (!json_is_string(v) ||
              path_normalize(SANDBOX_HOME, json_string_value(v), cwd, cwd_cap) < 0))
        return bad(err, "'cwd' must be a valid path");
    if (!v)
        snprintf(cwd, cwd_cap, "%s", SANDBOX_HOME);
    req->cwd = cwd;
    v = json_object_get(body, "env");
    if (v) {
        int r = sandbox_string_map_valid(v, "env", COVE_MAX_ENV, COVE_MAX_LABEL_KEY,
                                         COVE_MAX_ENV_BYTES, err);
        if (r < 0)
            return r;
        req->env = v;
    }
    v = json_object_get(body, "timeout");
    req->timeout_ms = COVE_DEFAULT_TIMEOUT_MS;
    if (v) {
        double t = json_is_number(v) ? json_number_value(v) : NAN;
        /* Checked as a double before any conversion: no huge value can wrap around. */
        if (!isfinite(t) || t <= 0 || t * 1000 > COVE_MAX_TIMEOUT_MS)
            return bad(err, "'timeout' must be a number of seconds, 0 < timeout <= 86400");
        req->timeout_ms = (uint64_t)llround(t * 1000);
        if (req->timeout_ms == 0)
            req->timeout_ms = 1;
    }
    v = json_object_get(body, "stdin");
    if (v) {
        if (!json_is_string(v) || json_string_length(v) > COVE_MAX_STDIN_BYTES)
            return bad(err, "'stdin' must be a string of at most 16 MiB");
        req->stdin_data = json_string_value(v);
        req->stdin_len = json_string_length(v);
    }
    v = json_object_get(body, "max_output_bytes");
    req->max_output = COVE_DEFAULT_OUTPUT_CAP;
    if (v) {
        if (!json_is_integer(v) || json_integer_value(v) < 0 ||
            json_integer_value(v) > COVE_MAX_OUTPUT_CAP)
            return bad(err, "'max_output_bytes' must be an integer 0..16777216");
        req->max_output = (size_t)json_integer_value(v);
    }
    return 0;
}

int exec_req_from_json(json_t *body, struct exec_req *req, char *cwd, size_t cwd_cap,
                       struct cove_err *err)
{
    int r;

    *req = (struct exec_req){0};
    if (!json_is_object(body))
        return bad(err, "the request body must be a JSON object");
    r = check_fields(body, err);
    if (r >= 0)
        r = parse_argv(body, req, err);
    if (r >= 0)
        r = parse_options(body, req, cwd, cwd_cap, err);
    if (r < 0) {
        free(req->argv);
        *req = (struct exec_req){0};
    }
    return r;
}
