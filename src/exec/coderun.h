/* Code-run: run a program given as source in one of cove's languages, inside a started
 * sandbox, with separate compile and run phases for compiled languages. Shared by the native
 * /v1 code-run and validate routes and by the Daytona-compatible toolbox. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/err.h"
#include "exec/exec.h"
#include "sandbox/sandbox.h"

enum coderun_lang {
    LANG_PYTHON,
    LANG_JAVASCRIPT,
    LANG_TYPESCRIPT,
    LANG_JAVA,
    LANG_GO,
    LANG_SQL,
    LANG_C,
    LANG_CPP,
    LANG_BASH,
    _LANG_MAX,
    _LANG_INVALID = -22,
};

const char *coderun_lang_to_string(enum coderun_lang l);
/* Accepts names and common aliases ("py", "js", "node", "ts", "golang", "sh", "c++"). */
enum coderun_lang coderun_lang_from_string(const char *s);
/* Language for a file name by its extension, or _LANG_INVALID. */
enum coderun_lang coderun_lang_from_filename(const char *name);
/* Is the toolchain installed on this host (and so in the base image)? */
bool coderun_lang_available(enum coderun_lang l);
/* Comma-separated list of the installed languages, for error messages. */
const char *coderun_available_list(void);

struct coderun_file {
    const char *path; /* relative to the run directory */
    const char *content;
    size_t len;
};

struct coderun_req {
    enum coderun_lang lang;
    const char *code;
    size_t code_len;
    const struct coderun_file *files; /* extra files written next to the main file */
    size_t n_files;
    char **argv; /* program arguments, NULL-terminated, may be NULL */
    json_t *env; /* object of strings, may be NULL */
    const char *stdin_data;
    size_t stdin_len;
    uint64_t compile_timeout_ms; /* 0 = default */
    uint64_t run_timeout_ms;     /* 0 = default */
    size_t max_output;
    const char *dialect; /* sql: NULL/"sqlite" or "postgres" */
    bool typecheck;      /* typescript: full type-check instead of transpile */
    const char *workdir; /* NULL = a fresh directory under /tmp */
};

struct coderun_result {
    bool compiled;              /* a compile phase ran */
    struct exec_result compile; /* valid when compiled */
    bool compile_failed;        /* compile phase exited non-zero: run phase skipped */
    bool ran;
    struct exec_result run; /* valid when ran */
};

void coderun_result_init(struct coderun_result *r, size_t cap);
void coderun_result_done(struct coderun_result *r);
/* Run req in sb. A failing program is data in res; errors are for bad requests
 * (-EINVAL, -ENOTSUP for a language that is not installed) and sandbox trouble. */
int coderun_run(struct sandbox *sb, const struct coderun_req *req, struct coderun_result *res,
                struct cove_err *err);
/* JSON of a result for /v1 (compile + run phases). */
json_t *coderun_result_json(const struct coderun_result *r);

/* ---- additions for validate (POST /v1/validate) ---- */

struct coderun_opts {
    const char *tests; /* test code for the language's runner (NULL: none) */
    size_t tests_len;
    uint64_t budget_ms; /* 0: none; else all phases together get at most this */
};

/* The test phase: the runner's exec result and the counts parsed from its output. */
struct coderun_tests {
    bool ran;
    struct exec_result exec;
    bool parsed; /* the counts below come from the runner's summary */
    unsigned passed, failed, errors, skipped;
};

void coderun_tests_init(struct coderun_tests *t, size_t cap);
void coderun_tests_done(struct coderun_tests *t);
/* coderun_run with opts (may be NULL); with opts->tests, the test phase fills *tests. Test
 * code for Go and Java without an entry point is tested without being run. */
int coderun_run_opts(struct sandbox *sb, const struct coderun_req *req,
                     const struct coderun_opts *opts, struct coderun_result *res,
                     struct coderun_tests *tests, struct cove_err *err);
/* "success", "compile_error", "runtime_error", "timeout", "oom_killed" or "not_run". */
const char *coderun_status(const struct coderun_result *r);
/* Fill the counts of t from its runner's output (pytest, node --test TAP, go test -v, JUnit
 * console launcher). */
void coderun_tests_parse(enum coderun_lang l, struct coderun_tests *t);
/* A one-line human summary of a run (validate's "details"): "Code executed successfully in
 * 0.23 seconds", "SyntaxError: invalid syntax (line 1)", "Compilation failed: ...". */
void coderun_details(enum coderun_lang l, const struct coderun_result *r,
                     const struct coderun_tests *t, double seconds, char *buf, size_t cap);
/* The checks coderun_run_opts starts with (language, dialect, toolchain, test support),
 * without touching a sandbox: validate uses it to refuse a request before creating one. */
int coderun_check(const struct coderun_req *req, const struct coderun_opts *opts,
                  struct cove_err *err);
