/* Daytona toolbox, process side: the info routes (home, work and project dir, version),
 * POST /process/execute and POST /process/code-run.
 *
 * execute runs the command string through bash (sh if bash is missing) with stderr folded
 * into stdout, because Daytona's `result` is the two streams interleaved as they were
 * written. A timeout is not a 200: Daytona answers 408 with code PROCESS_EXECUTION_TIMEOUT
 * and source DAYTONA_DAEMON, which the TypeScript SDK raises as
 * DaytonaProcessExecutionTimeoutError.
 *
 * code-run hands the program to exec/coderun (python, javascript, typescript). Python code
 * that uses matplotlib is first wrapped (daytona-chart.c) so that plt.show() emits chart
 * artifacts, which are then cut out of `result` and returned as `artifacts.charts`. Until
 * coderun is linked into the daemon, python and javascript fall back to running the code
 * from stdin, as the Daytona daemon does. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/daytona.h"
#include "base/limits.h"
#include "base/path.h"
#include "exec/coderun.h"
#include "exec/exec.h"
#include "sandbox/image.h"

/* coderun is being built separately: link against it when present, else fall back. */
#pragma weak coderun_run
#pragma weak coderun_result_init
#pragma weak coderun_result_done
#pragma weak coderun_lang_from_string

/* ---- info ---- */

static int reply_dir(struct http_req *req, const char *key, const char *value)
{
    struct sandbox *sb;

    if (dtn_lookup(req, &sb) < 0)
        return 0;
    sandbox_unref(sb);
    return http_reply_json(req, 200, json_pack("{s:s}", key, value));
}

int dtn_home_dir(struct http_req *req)
{
    return reply_dir(req, "dir", SANDBOX_HOME);
}

int dtn_work_dir(struct http_req *req)
{
    return reply_dir(req, "dir", SANDBOX_HOME);
}

int dtn_project_dir(struct http_req *req)
{
    return reply_dir(req, "dir", SANDBOX_HOME);
}

int dtn_version(struct http_req *req)
{
    return reply_dir(req, "version", COVE_VERSION);
}

/* ---- request parsing shared by execute and code-run ---- */

struct run_opts {
    char cwd[COVE_MAX_PATH + 1];
    json_t *env;         /* borrowed from the body, may be NULL */
    uint64_t timeout_ms; /* 0 = none requested */
    double timeout_s;
};

/* envs, timeout and (when with_cwd) cwd. Replies 400 itself. */
static int parse_opts(struct http_req *req, json_t *body, bool with_cwd, struct run_opts *o)
{
    struct cove_err err = {0};
    json_t *v;

    snprintf(o->cwd, sizeof(o->cwd), "%s", SANDBOX_HOME);
    v = json_object_get(body, "cwd");
    if (with_cwd && v && !json_is_null(v)) {
        if (!json_is_string(v) ||
            dtn_path(req, "cwd", json_string_value(v), o->cwd, sizeof(o->cwd)) < 0) {
            if (!http_req_replied(req))
                dtn_reply_error(req, 400, "BAD_REQUEST", NULL, "cwd must be a string");
            return -EINVAL;
        }
    }
    v = json_object_get(body, "envs");
    if (v && !json_is_null(v)) {
        if (sandbox_string_map_valid(v, "env", COVE_MAX_ENV, COVE_MAX_LABEL_KEY, COVE_MAX_ENV_BYTES,
                                     &err) < 0)
            return dtn_reply_err(req, &err, true), -EINVAL;
        o->env = v;
    }
    v = json_object_get(body, "timeout");
    if (v && !json_is_null(v)) {
        double t = json_number_value(v);
        if (!json_is_number(v) || !isfinite(t) || t < 0 || t * 1000 > COVE_MAX_TIMEOUT_MS)
            return dtn_reply_error(req, 400, "BAD_REQUEST", NULL,
                                   "timeout must be a number of seconds, 0-86400"),
                   -EINVAL;
        o->timeout_s = t;
        o->timeout_ms = (uint64_t)llround(t * 1000);
    }
    return 0;
}

/* Non-empty string member; replies 400 itself. */
static const char *string_member(struct http_req *req, json_t *body, const char *key)
{
    json_t *v = json_object_get(body, key);

    if (!json_is_string(v) || json_string_length(v) == 0 ||
        memchr(json_string_value(v), 0, json_string_length(v))) {
        dtn_reply_error(req, 400, "BAD_REQUEST", NULL, "%s is required (a non-empty string)", key);
        return NULL;
    }
    return json_string_value(v);
}

static const char *shell_path(void)
{
    /* Sandboxes share the host's /usr. */
    return access("/usr/bin/bash", X_OK) == 0 ? "/usr/bin/bash" : "/bin/sh";
}

static int reply_timeout(struct http_req *req, const struct run_opts *o)
{
    if (o->timeout_s <= 0) /* no timeout asked for: code-run's own default limit struck */
        return dtn_reply_error(req, 408, "PROCESS_EXECUTION_TIMEOUT", DTN_SOURCE_DAEMON,
                               "Code execution timed out after the default limit. Pass a "
                               "timeout in the request to allow more time.");
    return dtn_reply_error(req, 408, "PROCESS_EXECUTION_TIMEOUT", DTN_SOURCE_DAEMON,
                           "Command execution timed out after %g seconds. The timeout can be "
                           "increased by adjusting the timeout parameter in the request.",
                           o->timeout_s);
}

static json_t *result_json(int exit_code, const char *out, size_t len, json_t *charts)
{
    json_t *o = json_pack("{s:i, s:o}", "exitCode", exit_code, "result",
                          json_string_lossy(out ? out : "", out ? len : 0));

    if (o && json_array_size(charts) > 0)
        json_object_set_new(o, "artifacts", json_pack("{s:O}", "charts", charts));
    return o;
}

/* ---- execute ---- */

/* Run argv (stderr already folded into stdout by the script) and reply. A command that could
 * not start in its cwd is a 200 with exitCode -1, like the Daytona daemon's start failure. */
static int run_and_reply(struct http_req *req, struct sandbox *sb, char **argv,
                         const char *stdin_data, size_t stdin_len, const struct run_opts *o,
                         bool charts)
{
    struct exec_req er = {.argv = argv,
                          .cwd = o->cwd,
                          .env = o->env,
                          .timeout_ms = o->timeout_ms ? o->timeout_ms : COVE_MAX_TIMEOUT_MS,
                          .stdin_data = stdin_data,
                          .stdin_len = stdin_len,
                          .max_output = COVE_MAX_OUTPUT_CAP};
    struct exec_result res;
    struct cove_err err = {0};
    json_t *found = NULL;
    int r;

    exec_result_init(&res, COVE_MAX_OUTPUT_CAP);
    r = exec_run(sb, &er, &res, &err);
    if (r < 0 && !strcmp(err.kind, "CWD_NOT_FOUND")) {
        r = http_reply_json(req, 200, result_json(-1, err.msg, strlen(err.msg), NULL));
    } else if (r < 0) {
        r = dtn_reply_err(req, &err, true);
    } else if (res.timed_out) {
        r = reply_timeout(req, o);
    } else {
        if (charts)
            found = dtn_chart_extract(res.out.data, &res.out.len);
        r = http_reply_json(req, 200, result_json(res.exit_code, res.out.data, res.out.len, found));
    }
    json_decref(found);
    exec_result_done(&res);
    return r;
}

int dtn_execute(struct http_req *req)
{
    struct run_opts o = {0};
    struct sandbox *sb = NULL;
    json_t *body = http_req_json(req);
    const char *command;
    char *script = NULL;
    int r = 0;

    if (!body)
        return 0;
    command = string_member(req, body, "command");
    if (!command || parse_opts(req, body, true, &o) < 0 || dtn_lookup(req, &sb) < 0)
        goto out;
    /* Folding fd 2 into fd 1 in the shell keeps the two streams in the order written. */
    if (asprintf(&script, "exec 2>&1\n%s", command) < 0) {
        script = NULL;
        r = dtn_reply_error(req, 500, "INTERNAL_SERVER_ERROR", NULL, "out of memory");
        goto out;
    }
    char *argv[] = {(char *)shell_path(), "-c", script, NULL};
    r = run_and_reply(req, sb, argv, NULL, 0, &o, false);
out:
    free(script);
    sandbox_unref(sb);
    json_decref(body);
    return http_req_replied(req) ? 0 : r;
}

/* ---- code-run ---- */

struct code_req {
    const char *language;
    char *code; /* owned: possibly wrapped */
    size_t code_len;
    char **argv; /* owned vector, borrowed strings */
    size_t argc;
    bool charts;
};

static int parse_code(struct http_req *req, json_t *body, struct code_req *c)
{
    json_t *argv = json_object_get(body, "argv"), *code = json_object_get(body, "code");
    json_t *lang = json_object_get(body, "language");

    if (!json_is_string(code))
        return dtn_reply_error(req, 400, "BAD_REQUEST", NULL, "code is required (a string)"),
               -EINVAL;
    c->language = json_is_string(lang) ? json_string_value(lang) : DTN_DEFAULT_LANGUAGE;
    if (strcmp(c->language, "python") && strcmp(c->language, "javascript") &&
        strcmp(c->language, "typescript"))
        return dtn_reply_error(req, 400, "BAD_REQUEST", NULL,
                               "language must be python, javascript or typescript"),
               -EINVAL;
    if (argv && !json_is_null(argv) &&
        (!json_is_array(argv) || json_array_size(argv) > COVE_MAX_ARGV))
        return dtn_reply_error(req, 400, "BAD_REQUEST", NULL, "argv must be an array of strings"),
               -EINVAL;
    c->argc = json_array_size(argv);
    c->argv = calloc(c->argc + 1, sizeof(char *));
    if (!c->argv)
        return dtn_reply_error(req, 500, "INTERNAL_SERVER_ERROR", NULL, "out of memory"), -ENOMEM;
    for (size_t i = 0; i < c->argc; i++) {
        json_t *a = json_array_get(argv, i);
        if (!json_is_string(a) || memchr(json_string_value(a), 0, json_string_length(a)))
            return dtn_reply_error(req, 400, "BAD_REQUEST", NULL, "argv entries must be strings"),
                   -EINVAL;
        c->argv[i] = (char *)json_string_value(a);
    }
    c->code_len = json_string_length(code);
    c->charts = !strcmp(c->language, "python") &&
                dtn_code_uses_matplotlib(json_string_value(code), c->code_len);
    c->code = c->charts ? dtn_chart_wrap(json_string_value(code), c->code_len)
                        : strndup(json_string_value(code), c->code_len);
    if (!c->code)
        return dtn_reply_error(req, 500, "INTERNAL_SERVER_ERROR", NULL, "out of memory"), -ENOMEM;
    c->code_len = strlen(c->code);
    return 0;
}

/* Through exec/coderun: stdout then stderr (coderun keeps them apart). */
static int code_run_coderun(struct http_req *req, struct sandbox *sb, struct code_req *c,
                            const struct run_opts *o)
{
    struct coderun_req cr = {.lang = coderun_lang_from_string(c->language),
                             .code = c->code,
                             .code_len = c->code_len,
                             .argv = c->argv,
                             .env = o->env,
                             .run_timeout_ms = o->timeout_ms ? o->timeout_ms : COVE_MAX_TIMEOUT_MS,
                             .max_output = COVE_MAX_OUTPUT_CAP};
    struct coderun_result res;
    struct cove_err err = {0};
    const struct exec_result *phase;
    struct buf all;
    json_t *charts = NULL;
    int r;

    coderun_result_init(&res, COVE_MAX_OUTPUT_CAP);
    r = coderun_run(sb, &cr, &res, &err);
    if (r < 0) {
        r = dtn_reply_err(req, &err, true);
        goto out;
    }
    phase = res.compile_failed || !res.ran ? &res.compile : &res.run;
    if (phase->timed_out) {
        r = reply_timeout(req, o);
        goto out;
    }
    buf_init(&all, 2 * (size_t)COVE_MAX_OUTPUT_CAP + 1);
    (void)buf_append(&all, phase->out.data ? phase->out.data : "", phase->out.len);
    (void)buf_append(&all, phase->err.data ? phase->err.data : "", phase->err.len);
    if (c->charts)
        charts = dtn_chart_extract(all.data, &all.len);
    r = http_reply_json(req, 200, result_json(phase->exit_code, all.data, all.len, charts));
    json_decref(charts);
    buf_free(&all);
out:
    coderun_result_done(&res);
    return r;
}

/* Without coderun: the code on stdin of python3 / node, stderr folded into stdout. */
static int code_run_fallback(struct http_req *req, struct sandbox *sb, struct code_req *c,
                             const struct run_opts *o)
{
    bool js = !strcmp(c->language, "javascript");
    const char *script =
        js ? "exec 2>&1; exec node - \"$@\"" : "exec 2>&1; exec python3 -u - \"$@\"";
    char **argv = calloc(c->argc + 5, sizeof(char *));
    char *code = NULL;
    int r;

    if (!strcmp(c->language, "typescript")) {
        free(argv);
        return dtn_reply_error(req, 503, "SERVICE_UNAVAILABLE", DTN_SOURCE_DAEMON,
                               "typescript code-run needs cove's code-run engine, which this "
                               "coved was built without");
    }
    if (!argv || (js && asprintf(&code, "process.argv.splice(1, 1);\n%s", c->code) < 0)) {
        free(argv);
        return dtn_reply_error(req, 500, "INTERNAL_SERVER_ERROR", NULL, "out of memory");
    }
    argv[0] = "/bin/sh";
    argv[1] = "-c";
    argv[2] = (char *)script;
    argv[3] = "code-run";
    for (size_t i = 0; i < c->argc; i++)
        argv[4 + i] = c->argv[i];
    r = run_and_reply(req, sb, argv, js ? code : c->code, js ? strlen(code) : c->code_len, o,
                      c->charts);
    free(code);
    free(argv);
    return r;
}

int dtn_code_run(struct http_req *req)
{
    struct code_req c = {0};
    struct run_opts o = {0};
    struct sandbox *sb = NULL;
    json_t *body = http_req_json(req);
    int r = 0;

    if (!body)
        return 0;
    if (parse_code(req, body, &c) < 0 || parse_opts(req, body, false, &o) < 0 ||
        dtn_lookup(req, &sb) < 0)
        goto out;
    if (coderun_run && coderun_result_init && coderun_result_done && coderun_lang_from_string)
        r = code_run_coderun(req, sb, &c, &o);
    else
        r = code_run_fallback(req, sb, &c, &o);
out:
    free(c.code);
    free(c.argv);
    sandbox_unref(sb);
    json_decref(body);
    return http_req_replied(req) ? 0 : r;
}
