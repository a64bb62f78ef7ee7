/* code-run: write a program into a sandbox and run it, in phases.
 *
 * Theory of operation. Everything but the phases themselves happens on the host, without a
 * process in the sandbox: the run directory (a fresh /tmp/cove-run-<random>, 0700, unless
 * the caller names one) is made and the code and extra files are written through fileops,
 * as the sandbox user, with every path resolved inside the sandbox root. Then up to three
 * exec_run() calls follow, each with its own timeout, cgroup and output caps:
 *
 *   compile  the language's compiler (or TypeScript's transpiler); a non-zero exit or a
 *            timeout ends the run here, and the result says so: a compile error is data;
 *   run      the program, with the caller's stdin and arguments;
 *   test     (validate only) the language's test runner on the tests written next to it.
 *
 * A total budget (coderun_opts.budget_ms) caps the phases together: each gets at most what is
 * left. A fresh run directory is deleted afterwards; caches that make the next run faster
 * (Go's build cache, javac's class-data archive, TypeScript's code cache) live under the
 * sandbox user's ~/.cache and stay. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>

#include "base/cleanup.h"
#include "base/limits.h"
#include "base/log.h"
#include "base/path.h"
#include "exec/coderun-internal.h"
#include "sandbox/fileops.h"
#include "sandbox/image.h"

#define CACHE_DIR SANDBOX_HOME "/.cache/cove"
/* Written when the caller brings none. A module path without a dot is fine for a module
 * nobody downloads; it must not be "main", which `go test` cannot import. */
#define GO_MOD           "module coverun\n\ngo 1.18\n"
#define PACKAGE_JSON_ESM "{\"type\": \"module\"}\n"

/* A growable NULL-terminated vector of owned strings. */
struct strv {
    char **v;
    size_t n, cap;
};

static int strv_add(struct strv *s, const char *x)
{
    if (s->n + 2 > s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        char **v = realloc(s->v, cap * sizeof(char *));
        if (!v)
            return -ENOMEM;
        s->v = v, s->cap = cap;
    }
    s->v[s->n] = strdup(x);
    if (!s->v[s->n])
        return -ENOMEM;
    s->v[++s->n] = NULL;
    return 0;
}

static void strv_free(struct strv *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    *s = (struct strv){0};
}

/* One run: what the templates expand to. */
struct run_ctx {
    const struct coderun_req *req;
    const struct coderun_opts *opts;
    const struct coderun_variant *v;
    struct fileops_root root;
    char dir[COVE_MAX_PATH];
    bool fresh_dir;
    char main_file[NAME_MAX + 1];
    char main_class[512];
    char test_file[NAME_MAX + 1];
    char test_class[512];
    bool has_entry;
    struct strv sources; /* names relative to dir */
    char javacds[PATH_MAX + 64];
    json_t *env;
    int64_t deadline_us; /* 0: no total budget */
};

static int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static bool has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && !strcmp(s + n - k, suffix);
}

/* Does name go on the compiler's command line? Declaration files (.d.ts) never do. */
static bool is_source(const struct coderun_variant *v, const char *name)
{
    if (has_suffix(name, ".d.ts"))
        return false;
    for (size_t i = 0; i < ELEMENTSOF(v->src_ext) && v->src_ext[i]; i++)
        if (has_suffix(name, v->src_ext[i]))
            return true;
    return false;
}

/* Expand one template word into argv (zero, one or many words; see coderun-internal.h). A
 * tool that is missing here passed check_request(), which checks a variant's own tools, so
 * it is a helper only some requests need (JUnit for Java tests). */
static int expand(struct run_ctx *c, const char *w, struct strv *argv, struct cove_err *err)
{
    const struct coderun_req *req = c->req;
    int r = 0;

    if (w[0] == '@' && w[1]) {
        for (int t = 0; t < _TOOL_MAX; t++)
            if (!strcmp(w + 1, coderun_tool_name(t))) {
                const char *p = coderun_tool_path(t);
                if (!p)
                    return cove_err_setk(err, -ENOTSUP, "LANGUAGE_UNAVAILABLE",
                                         "%s is not installed on this host (%s needs it)", w + 1,
                                         coderun_lang_to_string(c->v->lang));
                return strv_add(argv, p);
            }
        return cove_err_set(err, -EINVAL, "unknown tool %s", w);
    }
    if (!strcmp(w, "{main}"))
        return strv_add(argv, c->main_file);
    if (!strcmp(w, "{test}"))
        return strv_add(argv, c->test_file);
    if (!strcmp(w, "{class}"))
        return strv_add(argv, c->main_class);
    if (!strcmp(w, "{testclass}"))
        return strv_add(argv, c->test_class);
    if (!strcmp(w, "{javacds}"))
        return c->javacds[0] ? strv_add(argv, c->javacds) : 0;
    if (!strcmp(w, "{javacp}")) {
        const char *junit = c->opts && c->opts->tests ? coderun_tool_path(TOOL_JUNIT) : NULL;
        char cp[PATH_MAX * 2];
        snprintf(cp, sizeof(cp), ".%s%s%s", junit ? ":" : "", junit ? junit : "",
                 junit ? ":/usr/share/java/junit4.jar" : "");
        r = strv_add(argv, "-cp");
        return r < 0 ? r : strv_add(argv, cp);
    }
    if (!strcmp(w, "{sources}")) {
        for (size_t i = 0; i < c->sources.n && r >= 0; i++)
            r = strv_add(argv, c->sources.v[i]);
        return r;
    }
    if (!strcmp(w, "{args}")) {
        for (size_t i = 0; req->argv && req->argv[i] && r >= 0; i++)
            r = strv_add(argv, req->argv[i]);
        return r;
    }
    return strv_add(argv, w);
}

static int build_argv(struct run_ctx *c, const char *const *tpl, struct strv *argv,
                      struct cove_err *err)
{
    for (size_t i = 0; tpl[i]; i++) {
        int r = expand(c, tpl[i], argv, err);
        if (r < 0) {
            strv_free(argv);
            return r == -ENOMEM ? cove_err_set(err, r, "out of memory") : r;
        }
    }
    return 0;
}

/* Write data to the absolute sandbox path. */
static int write_at(const struct fileops_root *root, const char *path, const char *data, size_t len,
                    struct cove_err *err)
{
    struct fileops_writer w = FILEOPS_WRITER_INIT;
    int r;

    r = fileops_create(root, path, 0644, &w, err);
    if (r < 0)
        return r;
    r = fileops_write(&w, data, len, err);
    if (r >= 0)
        r = fileops_writer_close(&w, err);
    if (r < 0)
        fileops_writer_abort(&w);
    return r;
}

/* The run-directory path of a caller-given relative name, refusing any that leaves it. */
static int run_path(const struct run_ctx *c, const char *name, char *buf, size_t cap,
                    struct cove_err *err)
{
    if (name[0] == '/' || path_normalize(c->dir, name, buf, cap) < 0 || !path_is_below(buf, c->dir))
        return cove_err_setk(err, -EINVAL, "INVALID_PATH",
                             "file path '%s' must be relative and stay inside the run directory",
                             name);
    return 0;
}

static int write_file(struct run_ctx *c, const char *name, const char *data, size_t len,
                      struct cove_err *err)
{
    char path[COVE_MAX_PATH];
    int r = run_path(c, name, path, sizeof(path), err);
    return r < 0 ? r : write_at(&c->root, path, data, len, err);
}

static bool sandbox_file_exists(struct run_ctx *c, const char *path)
{
    struct fileops_entry e;
    return fileops_stat(&c->root, path, &e, NULL) >= 0;
}

/* javac spends half its time loading its own classes; a class-data archive cuts that. The
 * archive is dumped on the second compile in a sandbox and used from the third on, so a
 * sandbox that compiles once (validate) pays nothing for it. */
static void java_cds(struct run_ctx *c)
{
    const char *javac = coderun_tool_path(TOOL_JAVAC);
    char modules[PATH_MAX], jsa[COVE_MAX_PATH], seen[COVE_MAX_PATH + 8];
    struct stat st;
    char *slash;

    snprintf(modules, sizeof(modules), "%s", javac ? javac : "");
    slash = strrchr(modules, '/');
    if (!slash)
        return;
    snprintf(slash, sizeof(modules) - (size_t)(slash - modules), "/../lib/modules");
    if (stat(modules, &st) < 0)
        return;
    /* Keyed by the JDK's module image, so a JDK update makes a new archive. */
    snprintf(jsa, sizeof(jsa), CACHE_DIR "/javac-%llx-%llx.jsa", (unsigned long long)st.st_ino,
             (unsigned long long)st.st_mtime);
    snprintf(seen, sizeof(seen), "%s.seen", jsa);
    if (sandbox_file_exists(c, jsa))
        snprintf(c->javacds, sizeof(c->javacds), "-J-XX:SharedArchiveFile=%s", jsa);
    else if (sandbox_file_exists(c, seen))
        snprintf(c->javacds, sizeof(c->javacds), "-J-XX:ArchiveClassesAtExit=%s", jsa);
    else
        (void)write_at(&c->root, seen, "", 0, NULL);
}

/* Decide the file names, the Java classes and whether the program has an entry point. */
static void name_files(struct run_ctx *c)
{
    const struct coderun_req *req = c->req;
    const char *tests = c->opts ? c->opts->tests : NULL;
    size_t tests_len = c->opts ? c->opts->tests_len : 0;
    bool has_main = true;

    snprintf(c->main_file, sizeof(c->main_file), "%s", c->v->main_file);
    snprintf(c->test_file, sizeof(c->test_file), "%s", c->v->test_file ? c->v->test_file : "");
    switch (c->v->lang) {
    case LANG_JAVA:
        if (!coderun_java_names(req->code, req->code_len, c->main_class, sizeof(c->main_class),
                                c->main_file, sizeof(c->main_file), &has_main))
            snprintf(c->main_class, sizeof(c->main_class), "Main");
        if (tests && !coderun_java_names(tests, tests_len, c->test_class, sizeof(c->test_class),
                                         c->test_file, sizeof(c->test_file), NULL))
            snprintf(c->test_class, sizeof(c->test_class), "MainTest");
        break;
    case LANG_JAVASCRIPT: {
        /* An ES module main gets {"type": "module"} (written by write_all), so main.js stays
         * importable as ./main.js; the test file's extension then says what it is. */
        bool esm = coderun_js_is_esm(req->code, req->code_len);
        bool tesm = tests && coderun_js_is_esm(tests, tests_len);
        snprintf(c->test_file, sizeof(c->test_file), "main.test.%s",
                 esm ? (tesm ? "js" : "cjs") : (tesm ? "mjs" : "js"));
        break;
    }
    case LANG_GO:
        has_main = coderun_has_entry(LANG_GO, req->code, req->code_len);
        break;
    default:
        break;
    }
    c->has_entry = has_main;
}

static bool given(const struct coderun_req *req, const char *name)
{
    for (size_t i = 0; i < req->n_files; i++)
        if (!strcmp(req->files[i].path, name))
            return true;
    return false;
}

/* Make the run directory and write the program, its extra files and tests into it. */
static int write_all(struct run_ctx *c, struct cove_err *err)
{
    const struct coderun_req *req = c->req;
    const char *tests = c->opts ? c->opts->tests : NULL;
    uint8_t rnd[8];
    int r;

    if (req->workdir) {
        if (path_normalize(SANDBOX_HOME, req->workdir, c->dir, sizeof(c->dir)) < 0)
            return cove_err_setk(err, -EINVAL, "INVALID_PATH", "bad workdir '%s'", req->workdir);
        r = fileops_mkdir(&c->root, c->dir, 0755, true, err);
    } else {
        if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
            return cove_err_errno(err, errno, "getrandom");
        snprintf(c->dir, sizeof(c->dir), "/tmp/cove-run-%02x%02x%02x%02x%02x%02x%02x%02x", rnd[0],
                 rnd[1], rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
        r = fileops_mkdir(&c->root, c->dir, 0700, false, err);
        c->fresh_dir = r >= 0;
    }
    if (r < 0)
        return r;
    for (size_t i = 0; i < req->n_files; i++) {
        const struct coderun_file *f = &req->files[i];
        if (!strcmp(f->path, c->main_file) || (tests && !strcmp(f->path, c->test_file)))
            return cove_err_setk(err, -EINVAL, "INVALID_PATH",
                                 "file '%s' would replace the %s; name it differently", f->path,
                                 strcmp(f->path, c->main_file) ? "tests" : "main file");
        r = write_file(c, f->path, f->content, f->len, err);
        if (r < 0)
            return r;
        if (is_source(c->v, f->path) && (r = strv_add(&c->sources, f->path)) < 0)
            return cove_err_set(err, r, "out of memory");
    }
    r = write_file(c, c->main_file, req->code, req->code_len, err);
    if (r >= 0 && tests)
        r = write_file(c, c->test_file, tests, c->opts->tests_len, err);
    if (r < 0)
        return r;
    if (is_source(c->v, c->main_file) && strv_add(&c->sources, c->main_file) < 0)
        return cove_err_set(err, -ENOMEM, "out of memory");
    if (tests && is_source(c->v, c->test_file) && strv_add(&c->sources, c->test_file) < 0)
        return cove_err_set(err, -ENOMEM, "out of memory");
    if (c->v->lang == LANG_GO && !given(req, "go.mod")) {
        char p[COVE_MAX_PATH + 8];
        snprintf(p, sizeof(p), "%s/go.mod", c->dir);
        if (!sandbox_file_exists(c, p))
            r = write_at(&c->root, p, GO_MOD, strlen(GO_MOD), err);
    }
    if (c->v->lang == LANG_JAVASCRIPT && coderun_js_is_esm(req->code, req->code_len) &&
        !given(req, "package.json"))
        r = write_file(c, "package.json", PACKAGE_JSON_ESM, strlen(PACKAGE_JSON_ESM), err);
    if (r >= 0 && c->v->lang == LANG_JAVA)
        java_cds(c);
    return r;
}

/* The phases' extra environment: the language's settings, then the caller's env over them
 * (a caller may set GOFLAGS or MPLBACKEND differently). */
static int build_env(struct run_ctx *c, struct cove_err *err)
{
    c->env = json_object();
    for (size_t i = 0; c->env && c->v->env && c->v->env[i]; i++) {
        const char *kv = c->v->env[i], *eq = strchr(kv, '=');
        char key[64];
        snprintf(key, sizeof(key), "%.*s", (int)(eq - kv), kv);
        json_object_set_new(c->env, key, json_string(eq + 1));
    }
    if (!c->env || (c->req->env && json_object_update(c->env, c->req->env) < 0))
        return cove_err_set(err, -ENOMEM, "out of memory");
    return 0;
}

/* Run one phase: tpl expanded, in the run directory, within its timeout and the budget. */
static int phase(struct run_ctx *c, struct sandbox *sb, const char *const *tpl, uint64_t timeout_ms,
                 bool with_stdin, struct exec_result *out, struct cove_err *err)
{
    struct strv argv = {0};
    struct exec_req er = {.cwd = c->dir, .env = c->env, .max_output = c->req->max_output};
    int r;

    if (c->deadline_us) {
        int64_t left = (c->deadline_us - mono_us()) / 1000;
        if (left < 1)
            left = 1;
        if ((uint64_t)left < timeout_ms)
            timeout_ms = (uint64_t)left;
    }
    r = build_argv(c, tpl, &argv, err);
    if (r < 0)
        return r;
    er.argv = argv.v;
    er.timeout_ms = timeout_ms;
    if (with_stdin && c->req->stdin_data) {
        er.stdin_data = c->req->stdin_data;
        er.stdin_len = c->req->stdin_len;
    }
    if (!er.max_output)
        er.max_output = COVE_DEFAULT_OUTPUT_CAP;
    r = exec_run(sb, &er, out, err);
    strv_free(&argv);
    return r;
}

/* A phase that did not exit 0 in time ends the run: its result is the answer. */
static bool failed(const struct exec_result *e)
{
    return e->exit_code != 0 || e->timed_out;
}

/* The phases; see the comment at the top. */
static int run_phases(struct run_ctx *c, struct sandbox *sb, struct coderun_result *res,
                      struct coderun_tests *tests, struct cove_err *err)
{
    const struct coderun_req *req = c->req;
    bool with_tests = c->opts && c->opts->tests && tests;
    bool run_program = c->has_entry || !with_tests;
    uint64_t ct =
        req->compile_timeout_ms ? req->compile_timeout_ms : COVE_DEFAULT_COMPILE_TIMEOUT_MS;
    uint64_t rt = req->run_timeout_ms ? req->run_timeout_ms : COVE_DEFAULT_TIMEOUT_MS;
    int r;

    /* Go test-only code has no main: `go test` builds it, `go build` would refuse it. */
    if (c->v->compile && (run_program || c->v->lang != LANG_GO)) {
        res->compiled = true;
        r = phase(c, sb, c->v->compile, ct, false, &res->compile, err);
        if (r < 0)
            return r;
        if (failed(&res->compile)) {
            res->compile_failed = true;
            return 0;
        }
    }
    if (run_program) {
        res->ran = true;
        r = phase(c, sb, c->v->run, rt, true, &res->run, err);
        if (r < 0)
            return r;
        if (res->run.timed_out)
            return 0;
    }
    if (with_tests) {
        tests->ran = true;
        r = phase(c, sb, c->v->test, rt, false, &tests->exec, err);
        if (r < 0)
            return r;
        coderun_tests_parse(c->v->lang, tests);
    }
    return 0;
}

/* Check the request against the table; fills c->v. Everything a caller can get wrong is
 * found here, before a file is written, so a refused request leaves no trace in the sandbox.
 * Errors: -EINVAL (UNKNOWN_LANGUAGE, bad dialect, tests without a runner), -ENOTSUP
 * (LANGUAGE_UNAVAILABLE: a toolchain is not installed; the message lists those that are). */
static int check_request(struct run_ctx *c, struct cove_err *err)
{
    const struct coderun_req *req = c->req;
    const char *missing = NULL, *name = coderun_lang_to_string(req->lang);

    if (!name)
        return cove_err_setk(err, -EINVAL, "UNKNOWN_LANGUAGE",
                             "unknown language; supported: python, javascript, typescript, java, "
                             "go, sql, c, cpp, bash");
    c->v = coderun_variant_find(req->lang, req->dialect, req->typecheck);
    if (!c->v)
        return cove_err_set(err, -EINVAL,
                            req->lang == LANG_SQL ? "unknown SQL dialect '%s' (use sqlite or "
                                                    "postgres)"
                                                  : "'dialect' applies to sql only, not %s",
                            req->lang == LANG_SQL ? req->dialect : name);
    if (!coderun_variant_available(c->v, &missing))
        return cove_err_setk(err, -ENOTSUP, "LANGUAGE_UNAVAILABLE",
                             "%s%s%s is not available: %s is not installed on this host; "
                             "installed: %s",
                             name, c->v->variant ? "/" : "", c->v->variant ? c->v->variant : "",
                             missing, coderun_available_list());
    if (c->opts && c->opts->tests) {
        if (!c->v->test)
            return cove_err_set(err, -EINVAL,
                                "tests are supported for python, javascript, typescript, java "
                                "and go, not %s",
                                name);
        if (req->lang == LANG_PYTHON && !coderun_tool_path(TOOL_PYTEST))
            return cove_err_setk(err, -ENOTSUP, "LANGUAGE_UNAVAILABLE",
                                 "python tests need pytest, which is not installed");
        if (req->lang == LANG_JAVA && !coderun_tool_path(TOOL_JUNIT))
            return cove_err_setk(err, -ENOTSUP, "LANGUAGE_UNAVAILABLE",
                                 "java tests need JUnit 5 (Debian package junit5), which is not "
                                 "installed");
    }
    if (!req->code)
        return cove_err_set(err, -EINVAL, "no code to run");
    return 0;
}

int coderun_run_opts(struct sandbox *sb, const struct coderun_req *req,
                     const struct coderun_opts *opts, struct coderun_result *res,
                     struct coderun_tests *tests, struct cove_err *err)
{
    struct run_ctx c = {.req = req, .opts = opts, .root = {.fd = -EBADF}};
    struct cove_err derr = {0};
    int r;

    r = check_request(&c, err);
    if (r < 0)
        return r;
    if (opts && opts->budget_ms)
        c.deadline_us = mono_us() + (int64_t)opts->budget_ms * 1000;
    name_files(&c);
    r = fileops_root_open(sb, &c.root, err);
    if (r < 0)
        return r;
    r = write_all(&c, err);
    if (r >= 0)
        r = build_env(&c, err);
    if (r >= 0)
        r = run_phases(&c, sb, res, tests, err);
    /* A program may leave files it cannot delete itself (chmod 000); those stay and are
     * only logged: the run's answer does not depend on the clean-up. */
    if (c.fresh_dir && fileops_delete(&c.root, c.dir, true, &derr) < 0)
        log_debug("code-run: cannot remove %s: %s", c.dir, derr.msg);
    fileops_root_done(&c.root);
    strv_free(&c.sources);
    json_decref(c.env);
    return r;
}

int coderun_check(const struct coderun_req *req, const struct coderun_opts *opts,
                  struct cove_err *err)
{
    struct run_ctx c = {.req = req, .opts = opts};
    return check_request(&c, err);
}

int coderun_run(struct sandbox *sb, const struct coderun_req *req, struct coderun_result *res,
                struct cove_err *err)
{
    return coderun_run_opts(sb, req, NULL, res, NULL, err);
}

void coderun_result_init(struct coderun_result *r, size_t cap)
{
    memset(r, 0, sizeof(*r));
    exec_result_init(&r->compile, cap);
    exec_result_init(&r->run, cap);
}

void coderun_result_done(struct coderun_result *r)
{
    exec_result_done(&r->compile);
    exec_result_done(&r->run);
}

void coderun_tests_init(struct coderun_tests *t, size_t cap)
{
    memset(t, 0, sizeof(*t));
    exec_result_init(&t->exec, cap);
}

void coderun_tests_done(struct coderun_tests *t)
{
    exec_result_done(&t->exec);
}

const char *coderun_status(const struct coderun_result *r)
{
    const struct exec_result *last = r->ran ? &r->run : &r->compile;

    if ((r->compiled && r->compile.timed_out) || (r->ran && r->run.timed_out))
        return "timeout";
    if (r->compile_failed)
        return r->compile.oom_killed ? "oom_killed" : "compile_error";
    if (!r->ran && !r->compiled)
        return "not_run";
    if (last->oom_killed)
        return "oom_killed";
    return last->exit_code == 0 ? "success" : "runtime_error";
}

json_t *coderun_result_json(const struct coderun_result *r)
{
    const struct exec_result *last = r->ran ? &r->run : &r->compile;
    double ms = (r->compiled ? r->compile.duration_ms : 0) + (r->ran ? r->run.duration_ms : 0);

    return json_pack("{s:s, s:i, s:f, s:o, s:o}", "status", coderun_status(r), "exit_code",
                     (json_int_t)(r->ran || r->compiled ? last->exit_code : 0), "duration_ms", ms,
                     "compile", r->compiled ? exec_result_json(&r->compile) : json_null(), "run",
                     r->ran ? exec_result_json(&r->run) : json_null());
}
