/* Private interface of code-run: the language table (coderun-lang.c), the run itself
 * (coderun.c) and the report helpers (coderun-report.c) share these.
 *
 * A language has one or more variants (sql: sqlite or postgres; typescript: transpile or full
 * type-check). A variant says which file the code goes into and gives up to three argv
 * templates: compile, run and test. Templates are NULL-terminated lists of literal words and
 * tokens that coderun.c expands per run:
 *
 *   @NAME       the host path of toolchain program NAME (see coderun_tool_path())
 *   {main}      the main file              {sources}  main + extra source files + test file
 *   {args}      the caller's arguments     {test}     the test file
 *   {class}     Java main class            {testclass} Java test class
 *   {javacp}    javac's class path (-cp .[:junit]) {javacds} javac's class-data-sharing flag
 *
 * Programs are resolved on the host once, to their real path, and must live under /usr:
 * sandboxes see the host's /usr, so a path that works here works in every sandbox, without
 * relying on the image's copy of /etc/alternatives. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "exec/coderun.h"

enum coderun_tool {
    TOOL_PYTHON,
    TOOL_PYTEST, /* the pytest package, run as python3 -m pytest */
    TOOL_NODE,
    TOOL_TSLIB, /* typescript.js, for the transpile fast path */
    TOOL_TSC,
    TOOL_JAVAC,
    TOOL_JAVA,
    TOOL_JUNIT, /* JUnit 5 console launcher jar */
    TOOL_GO,
    TOOL_SQLITE3,
    TOOL_PGBIN, /* PostgreSQL's bin directory */
    TOOL_GCC,
    TOOL_GXX,
    TOOL_BASH,
    _TOOL_MAX,
};

struct coderun_variant {
    enum coderun_lang lang;
    const char *variant;        /* NULL for the default one */
    const char *main_file;      /* where the code goes, unless the language derives it */
    const char *test_file;      /* where tests go (validate) */
    const char *src_ext[4];     /* extra files with these endings are compiled too */
    const char *const *compile; /* argv templates, NULL if the phase does not exist */
    const char *const *run;
    const char *const *test;
    const char *const *env; /* "K=V" added to every phase, NULL-terminated */
    enum coderun_tool needs[3];
    size_t n_needs;
};

/* The variant for lang and an optional dialect ("sqlite", "postgres") or typecheck flag, or
 * NULL when lang has no such variant. */
const struct coderun_variant *coderun_variant_find(enum coderun_lang lang, const char *dialect,
                                                   bool typecheck);
/* Host path of a tool, or NULL when it is not installed. Thread-safe; resolved once. */
const char *coderun_tool_path(enum coderun_tool t);
const char *coderun_tool_name(enum coderun_tool t);
/* Are all the tools of v installed? *ret_missing names the first missing one. */
bool coderun_variant_available(const struct coderun_variant *v, const char **ret_missing);

/* Java: the class to run (the top-level type declaring main(), else the public one, else the
 * first) with its package ("pkg.Main"), and the file the code must live in ("Main.java": named
 * after the public type). *ret_has_main (may be NULL): a main() was seen. Returns false when
 * no type declaration was found. */
bool coderun_java_names(const char *code, size_t len, char *ret_class, size_t class_cap,
                        char *ret_file, size_t file_cap, bool *ret_has_main);
/* Does the code declare an entry point (Go: func main, Java: static void main)? Others: yes. */
bool coderun_has_entry(enum coderun_lang lang, const char *code, size_t len);
/* JavaScript: does the code use ES module syntax (import/export statements)? */
bool coderun_js_is_esm(const char *code, size_t len);
