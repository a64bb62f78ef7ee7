/* POST /v1/sandboxes/{id}/code-run and POST /v1/validate: run source code in one of the
 * code-run languages (exec/coderun.h).
 *
 * code-run works in an existing sandbox and reports both phases as exec results. validate
 * is the one-call form: it creates an ephemeral sandbox, runs the code (and the tests), and
 * deletes the sandbox on every path out, success, failure, timeout or error, before it
 * answers; its answer is the flat {status: "Success"|"Failure", output, error, ...} shape
 * that validation callers expect. A request that cannot run at all (unknown language,
 * toolchain not installed, bad field) is refused before any sandbox exists. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "api/api.h"
#include "base/limits.h"
#include "base/log.h"
#include "exec/coderun.h"

#define SUPPORTED "python, javascript, typescript, java, go, sql, c, cpp, bash"

static const char *const coderun_fields[] = {"language",
                                             "code",
                                             "files",
                                             "args",
                                             "stdin",
                                             "env",
                                             "timeout",
                                             "dialect",
                                             "typecheck",
                                             "compile_timeout",
                                             "max_output_bytes",
                                             "cwd",
                                             NULL};
static const char *const validate_fields[] = {
    "language", "code", "skill",   "files",     "tests",           "timeout",          "args",
    "stdin",    "env",  "dialect", "typecheck", "compile_timeout", "max_output_bytes", NULL};

/* A parsed request; strings are borrowed from the JSON body, which must outlive it. */
struct parsed {
    struct coderun_req req;
    struct coderun_file *files;
    char **argv;
    struct coderun_opts opts;
    const char *skill;
};

static void parsed_done(struct parsed *p)
{
    free(p->files);
    free(p->argv);
}

static int bad(struct http_req *req, const char *msg)
{
    http_reply_error(req, 400, "BAD_REQUEST", "%s", msg);
    return -EINVAL;
}

static bool plain_string(json_t *v)
{
    return json_is_string(v) && !memchr(json_string_value(v), 0, json_string_length(v));
}

/* Seconds as a JSON number into milliseconds (0 < t <= 86400). */
static int parse_seconds(struct http_req *hr, json_t *v, const char *name, uint64_t *ret)
{
    char msg[128];
    double t = json_number_value(v);

    if (!json_is_number(v) || !isfinite(t) || t <= 0 || t * 1000 > COVE_MAX_TIMEOUT_MS) {
        snprintf(msg, sizeof(msg), "'%s' must be a number of seconds, 0 < %s <= 86400", name, name);
        return bad(hr, msg);
    }
    *ret = (uint64_t)llround(t * 1000);
    if (*ret == 0)
        *ret = 1;
    return 0;
}

/* files: [{"path", "content"}] or {"path": "content"}. */
static int parse_files(struct http_req *hr, json_t *v, struct parsed *p)
{
    size_t n = json_is_array(v) ? json_array_size(v) : json_is_object(v) ? json_object_size(v) : 0;
    const char *key;
    json_t *val;
    size_t i = 0;

    if (!json_is_array(v) && !json_is_object(v))
        return bad(hr, "'files' must be an array of {\"path\", \"content\"} or an object of "
                       "path: content");
    if (n > COVE_MAX_CODERUN_FILES)
        return bad(hr, "'files' may hold at most 256 files");
    p->files = calloc(n + 1, sizeof(*p->files));
    if (!p->files)
        return bad(hr, "out of memory");
    if (json_is_array(v)) {
        json_array_foreach(v, i, val)
        {
            json_t *path = json_object_get(val, "path"), *content = json_object_get(val, "content");
            if (!json_is_object(val) || !plain_string(path) || !json_is_string(content) ||
                json_object_size(val) != 2)
                return bad(hr, "each entry of 'files' must be {\"path\": string, \"content\": "
                               "string}");
            p->files[i] = (struct coderun_file){json_string_value(path), json_string_value(content),
                                                json_string_length(content)};
        }
    } else {
        json_object_foreach(v, key, val)
        {
            if (!json_is_string(val))
                return bad(hr, "'files' values must be strings (the file contents)");
            p->files[i++] =
                (struct coderun_file){key, json_string_value(val), json_string_length(val)};
        }
    }
    for (size_t k = 0; k < n; k++)
        if (!p->files[k].path[0] || p->files[k].path[0] == '/')
            return bad(hr, "file paths must be relative to the run directory");
    p->req.files = p->files;
    p->req.n_files = n;
    return 0;
}

/* args: argv[1..] of the program; the same caps as exec's argv. */
static int parse_args(struct http_req *hr, json_t *v, struct parsed *p)
{
    size_t n = json_array_size(v), bytes = 0;

    if (!json_is_array(v) || n > COVE_MAX_ARGV)
        return bad(hr, "'args' must be an array of at most 4096 strings");
    p->argv = calloc(n + 1, sizeof(char *));
    if (!p->argv)
        return bad(hr, "out of memory");
    for (size_t i = 0; i < n; i++) {
        json_t *a = json_array_get(v, i);
        if (!plain_string(a))
            return bad(hr, "'args' entries must be strings without NUL bytes");
        bytes += json_string_length(a) + 1;
        p->argv[i] = (char *)json_string_value(a);
    }
    if (bytes > COVE_MAX_ARGV_BYTES)
        return bad(hr, "'args' is larger than 1 MiB");
    p->req.argv = p->argv;
    return 0;
}

/* language (+ its "postgres" shorthand), dialect and typecheck. The language name is
 * resolved here so that an unknown one gets its own code; whether it is installed is
 * coderun_check()'s business. */
static int parse_language(struct http_req *hr, json_t *body, struct parsed *p)
{
    json_t *lang = json_object_get(body, "language"), *dialect = json_object_get(body, "dialect");
    json_t *tc = json_object_get(body, "typecheck");
    const char *name = json_string_value(lang);

    if (!plain_string(lang))
        return bad(hr, "'language' is required: one of " SUPPORTED);
    if (dialect && !plain_string(dialect))
        return bad(hr, "'dialect' must be a string (sqlite or postgres)");
    if (tc && !json_is_boolean(tc))
        return bad(hr, "'typecheck' must be a boolean");
    p->req.dialect = json_string_value(dialect);
    p->req.typecheck = json_is_true(tc);
    if (!strcasecmp(name, "postgres") || !strcasecmp(name, "postgresql")) {
        name = "sql";
        if (!p->req.dialect)
            p->req.dialect = "postgres";
    }
    p->req.lang = coderun_lang_from_string(name);
    if (p->req.lang < 0) {
        http_reply_error(hr, 400, "UNKNOWN_LANGUAGE",
                         "unknown language '%s'; supported: " SUPPORTED "; installed: %s", name,
                         coderun_available_list());
        return -EINVAL;
    }
    return 0;
}

/* The fields code-run and validate share. Replies 400 itself on failure. */
static int parse_common(struct http_req *hr, json_t *body, struct parsed *p)
{
    struct cove_err err = {0};
    json_t *v;
    int r;

    if ((r = parse_language(hr, body, p)) < 0)
        return r;
    v = json_object_get(body, "code");
    if (!json_is_string(v))
        return bad(hr, "'code' is required: the program's source as a string");
    p->req.code = json_string_value(v);
    p->req.code_len = json_string_length(v);
    if ((v = json_object_get(body, "files")) && (r = parse_files(hr, v, p)) < 0)
        return r;
    if ((v = json_object_get(body, "args")) && (r = parse_args(hr, v, p)) < 0)
        return r;
    if ((v = json_object_get(body, "env"))) {
        if (sandbox_string_map_valid(v, "env", COVE_MAX_ENV, COVE_MAX_LABEL_KEY, COVE_MAX_ENV_BYTES,
                                     &err) < 0)
            return bad(hr, err.msg);
        p->req.env = v;
    }
    if ((v = json_object_get(body, "stdin"))) {
        if (!json_is_string(v) || json_string_length(v) > COVE_MAX_STDIN_BYTES)
            return bad(hr, "'stdin' must be a string of at most 16 MiB");
        p->req.stdin_data = json_string_value(v);
        p->req.stdin_len = json_string_length(v);
    }
    if ((v = json_object_get(body, "compile_timeout")) &&
        (r = parse_seconds(hr, v, "compile_timeout", &p->req.compile_timeout_ms)) < 0)
        return r;
    p->req.max_output = COVE_DEFAULT_OUTPUT_CAP;
    if ((v = json_object_get(body, "max_output_bytes"))) {
        if (!json_is_integer(v) || json_integer_value(v) < 0 ||
            json_integer_value(v) > COVE_MAX_OUTPUT_CAP)
            return bad(hr, "'max_output_bytes' must be an integer 0..16777216");
        p->req.max_output = (size_t)json_integer_value(v);
    }
    return 0;
}

/* Reply for a request coderun refused: 400 for what the caller can fix, including a
 * toolchain that is not installed (LANGUAGE_UNAVAILABLE lists the ones that are). */
static int reply_coderun_err(struct http_req *hr, struct cove_err *err)
{
    if (err->code == -ENOTSUP)
        return http_reply_error(hr, 400, err->kind[0] ? err->kind : "LANGUAGE_UNAVAILABLE", "%s",
                                err->msg);
    return api_reply_err(hr, err);
}

int api_code_run(struct http_req *req)
{
    struct parsed p = {0};
    struct coderun_result res;
    struct cove_err err = {0};
    struct sandbox *sb = NULL;
    json_t *body = http_req_json(req), *v, *out;
    int r;

    if (!body)
        return 0;
    if (api_check_fields(req, body, coderun_fields) < 0 || parse_common(req, body, &p) < 0)
        goto done;
    v = json_object_get(body, "timeout");
    if (v && parse_seconds(req, v, "timeout", &p.req.run_timeout_ms) < 0)
        goto done;
    v = json_object_get(body, "cwd");
    if (v && (!plain_string(v) || !json_string_length(v))) {
        bad(req, "'cwd' must be a non-empty path");
        goto done;
    }
    p.req.workdir = json_string_value(v);
    if (coderun_check(&p.req, NULL, &err) < 0) {
        reply_coderun_err(req, &err);
        goto done;
    }
    if (api_lookup(req, &sb) < 0)
        goto done;
    coderun_result_init(&res, p.req.max_output);
    r = coderun_run(sb, &p.req, &res, &err);
    if (r < 0) {
        reply_coderun_err(req, &err);
    } else {
        out = coderun_result_json(&res);
        json_object_set_new(out, "language", json_string(coderun_lang_to_string(p.req.lang)));
        http_reply_json(req, 200, out);
    }
    coderun_result_done(&res);
    sandbox_unref(sb);
done:
    parsed_done(&p);
    json_decref(body);
    return 0;
}

/* ---- validate ---- */

static json_t *buf_json(const struct buf *b)
{
    return json_string_lossy(b->data ? b->data : "", b->len);
}

/* output/error: what the program printed, then what the test runner printed. */
static json_t *joined(const struct buf *a, const struct buf *b)
{
    struct buf j;
    json_t *s;

    buf_init(&j, (a ? a->len : 0) + (b ? b->len : 0) + 1);
    if (a && a->len)
        buf_append(&j, a->data, a->len);
    if (b && b->len)
        buf_append(&j, b->data, b->len);
    s = buf_json(&j);
    buf_free(&j);
    return s;
}

/* The flat validate answer (docs/API.md, "Validate"). The first phase that failed decides
 * exit_code; the phases' own durations, not the sandbox's creation, make execution_time. */
static json_t *validate_json(const struct parsed *p, const struct coderun_result *res,
                             const struct coderun_tests *t)
{
    const struct exec_result *fail = NULL;
    bool timed_out = (res->compiled && res->compile.timed_out) ||
                     (res->ran && res->run.timed_out) || (t->ran && t->exec.timed_out);
    double ms = (res->compiled ? res->compile.duration_ms : 0) +
                (res->ran ? res->run.duration_ms : 0) + (t->ran ? t->exec.duration_ms : 0);
    char details[1024];
    json_t *o, *out, *err;

    if (res->compile_failed)
        fail = &res->compile;
    else if (res->ran && (res->run.exit_code != 0 || res->run.timed_out))
        fail = &res->run;
    else if (t->ran && (t->exec.exit_code != 0 || t->exec.timed_out))
        fail = &t->exec;
    bool ok = !fail && !timed_out && (res->ran || t->ran);
    if (res->compile_failed) {
        /* tsc and some compilers write their errors to stdout. */
        out = json_string("");
        err = joined(&res->compile.err, &res->compile.out);
    } else {
        out = joined(res->ran ? &res->run.out : NULL, t->ran ? &t->exec.out : NULL);
        err = joined(res->ran ? &res->run.err : NULL, t->ran ? &t->exec.err : NULL);
    }
    coderun_details(p->req.lang, res, t, ms / 1000, details, sizeof(details));
    o = json_pack("{s:o, s:s, s:s, s:o, s:o, s:i, s:f, s:s, s:b}", "skill",
                  p->skill ? json_string(p->skill) : json_null(), "language",
                  coderun_lang_to_string(p->req.lang), "status", ok ? "Success" : "Failure",
                  "output", out, "error", err, "exit_code",
                  (json_int_t)(fail ? fail->exit_code : 0), "execution_time", round(ms) / 1000.0,
                  "details", details, "timed_out", timed_out);
    if (o && t->ran)
        json_object_set_new(o, "tests",
                            json_pack("{s:i, s:i, s:i, s:i}", "passed", (json_int_t)t->passed,
                                      "failed", (json_int_t)t->failed, "errors",
                                      (json_int_t)t->errors, "skipped", (json_int_t)t->skipped));
    return o;
}

/* Validate's own fields. timeout is one budget for all phases (coderun_opts.budget_ms); each
 * phase's own timeout is set to it too, so that no default (60 s run, 120 s compile) is
 * shorter or longer than what the caller asked for. */
static int parse_validate(struct http_req *hr, json_t *body, struct parsed *p)
{
    json_t *v;
    int r;

    if ((r = api_check_fields(hr, body, validate_fields)) < 0 ||
        (r = parse_common(hr, body, p)) < 0)
        return r;
    p->opts.budget_ms = COVE_DEFAULT_VALIDATE_TIMEOUT_MS;
    if ((v = json_object_get(body, "timeout")) &&
        (r = parse_seconds(hr, v, "timeout", &p->opts.budget_ms)) < 0)
        return r;
    p->req.run_timeout_ms = p->opts.budget_ms;
    if (!p->req.compile_timeout_ms)
        p->req.compile_timeout_ms = p->opts.budget_ms;
    if ((v = json_object_get(body, "skill"))) {
        if (!json_is_string(v) && !json_is_null(v))
            return bad(hr, "'skill' must be a string");
        p->skill = json_string_value(v);
    }
    if ((v = json_object_get(body, "tests")) && !json_is_null(v)) {
        if (!json_is_string(v))
            return bad(hr, "'tests' must be a string: the test code for the language's runner");
        p->opts.tests = json_string_value(v);
        p->opts.tests_len = json_string_length(v);
    }
    return 0;
}

/* Create the throw-away sandbox: "validate-<random>", labelled so that one left behind by
 * a crash can be recognised. */
static int create_ephemeral(struct http_req *hr, struct sandbox **ret, struct cove_err *err)
{
    struct sandbox_spec spec;
    uint8_t rnd[6];
    int r;

    sandbox_spec_init(&spec);
    if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
        sandbox_spec_done(&spec);
        return cove_err_errno(err, errno, "getrandom");
    }
    snprintf(spec.name, sizeof(spec.name), "validate-%02x%02x%02x%02x%02x%02x", rnd[0], rnd[1],
             rnd[2], rnd[3], rnd[4], rnd[5]);
    json_object_set_new(spec.labels, "cove.validate", json_string("true"));
    spec.auto_stop_min = 0;
    r = sandbox_create(&spec, api_org(hr), ret, err);
    sandbox_spec_done(&spec);
    return r;
}

int api_validate(struct http_req *req)
{
    struct parsed p = {0};
    struct coderun_result res;
    struct coderun_tests tests;
    struct cove_err err = {0}, derr = {0};
    struct sandbox *sb = NULL;
    json_t *body = http_req_json(req);
    int r;

    if (!body)
        return 0;
    if (parse_validate(req, body, &p) < 0)
        goto done;
    if (coderun_check(&p.req, &p.opts, &err) < 0) {
        reply_coderun_err(req, &err);
        goto done;
    }
    if (create_ephemeral(req, &sb, &err) < 0) {
        api_reply_err(req, &err);
        goto done;
    }
    coderun_result_init(&res, p.req.max_output);
    coderun_tests_init(&tests, p.req.max_output);
    r = coderun_run_opts(sb, &p.req, &p.opts, &res, &tests, &err);
    /* Always, before answering: the caller may list sandboxes right after. */
    if (sandbox_delete(sb, true, &derr) < 0)
        log_error("validate: cannot delete sandbox %s: %s", sandbox_id(sb), derr.msg);
    sandbox_unref(sb);
    if (r < 0)
        reply_coderun_err(req, &err);
    else
        http_reply_json(req, 200, validate_json(&p, &res, &tests));
    coderun_tests_done(&tests);
    coderun_result_done(&res);
done:
    parsed_done(&p);
    json_decref(body);
    return 0;
}
