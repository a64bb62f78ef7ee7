/* The code-run language table: for each language (and variant), the file its code goes
 * into, the argv templates of its compile, run and test phases, its environment, and the
 * host programs it needs. coderun-internal.h explains the template tokens.
 *
 * Toolchain detection looks at the host, because a sandbox's /usr is the host's /usr: a
 * program is installed when one of its candidate paths resolves (through symlinks such as
 * /etc/alternatives) to an executable under /usr. The resolved real path is what runs, so a
 * sandbox never depends on the image's copy of /etc/alternatives being current. Detection
 * runs once per daemon (pthread_once); a toolchain installed later needs a restart. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/parse.h"
#include "exec/coderun-internal.h"

static const char *const lang_names[_LANG_MAX] = {
    [LANG_PYTHON] = "python",
    [LANG_JAVASCRIPT] = "javascript",
    [LANG_TYPESCRIPT] = "typescript",
    [LANG_JAVA] = "java",
    [LANG_GO] = "go",
    [LANG_SQL] = "sql",
    [LANG_C] = "c",
    [LANG_CPP] = "cpp",
    [LANG_BASH] = "bash",
};

static const struct {
    const char *alias;
    enum coderun_lang lang;
} lang_aliases[] = {
    {"py", LANG_PYTHON},       {"python3", LANG_PYTHON},    {"js", LANG_JAVASCRIPT},
    {"node", LANG_JAVASCRIPT}, {"nodejs", LANG_JAVASCRIPT}, {"ts", LANG_TYPESCRIPT},
    {"golang", LANG_GO},       {"sqlite", LANG_SQL},        {"sqlite3", LANG_SQL},
    {"c++", LANG_CPP},         {"cxx", LANG_CPP},           {"sh", LANG_BASH},
    {"shell", LANG_BASH},
};

static const struct {
    const char *ext;
    enum coderun_lang lang;
} lang_exts[] = {
    {".py", LANG_PYTHON},      {".js", LANG_JAVASCRIPT}, {".mjs", LANG_JAVASCRIPT},
    {".cjs", LANG_JAVASCRIPT}, {".ts", LANG_TYPESCRIPT}, {".java", LANG_JAVA},
    {".go", LANG_GO},          {".sql", LANG_SQL},       {".c", LANG_C},
    {".cpp", LANG_CPP},        {".cc", LANG_CPP},        {".cxx", LANG_CPP},
    {".sh", LANG_BASH},        {".bash", LANG_BASH},
};

/* ---- toolchains ---- */

static const struct {
    const char *name;
    const char *paths[4];
    int mode; /* access() mode the real path must allow */
} tools[_TOOL_MAX] = {
    [TOOL_PYTHON] = {"python3", {"/usr/bin/python3"}, X_OK},
    [TOOL_PYTEST] = {"pytest", {"/usr/lib/python3/dist-packages/pytest/__init__.py"}, R_OK},
    [TOOL_NODE] = {"node", {"/usr/bin/node", "/usr/bin/nodejs", "/usr/local/bin/node"}, X_OK},
    [TOOL_TSLIB] = {"typescript",
                    {"/usr/share/nodejs/typescript/lib/typescript.js",
                     "/usr/lib/node_modules/typescript/lib/typescript.js",
                     "/usr/local/lib/node_modules/typescript/lib/typescript.js"},
                    R_OK},
    [TOOL_TSC] = {"tsc",
                  {"/usr/share/nodejs/typescript/bin/tsc",
                   "/usr/lib/node_modules/typescript/bin/tsc",
                   "/usr/local/lib/node_modules/typescript/bin/tsc", "/usr/bin/tsc"},
                  R_OK},
    [TOOL_JAVAC] = {"javac", {"/usr/bin/javac"}, X_OK},
    [TOOL_JAVA] = {"java", {"/usr/bin/java"}, X_OK},
    [TOOL_JUNIT] = {"junit5", {"/usr/share/java/junit-platform-console-standalone.jar"}, R_OK},
    [TOOL_GO] = {"go", {"/usr/bin/go", "/usr/lib/go/bin/go", "/usr/local/go/bin/go"}, X_OK},
    [TOOL_SQLITE3] = {"sqlite3", {"/usr/bin/sqlite3"}, X_OK},
    [TOOL_PGBIN] = {"postgresql", {NULL}, X_OK}, /* found by pg_bin_dir() */
    [TOOL_GCC] = {"gcc", {"/usr/bin/gcc"}, X_OK},
    [TOOL_GXX] = {"g++", {"/usr/bin/g++"}, X_OK},
    [TOOL_BASH] = {"bash", {"/usr/bin/bash", "/bin/bash"}, X_OK},
};

static pthread_once_t tools_once = PTHREAD_ONCE_INIT;
static char *tool_paths[_TOOL_MAX];

static char *resolve_under_usr(const char *path, int mode)
{
    char real[PATH_MAX];

    if (!realpath(path, real) || strncmp(real, "/usr/", 5) != 0 || access(real, mode) < 0)
        return NULL;
    return strdup(real);
}

/* /usr/lib/postgresql/<highest version>/bin, if it has the server and the client. */
static char *pg_bin_dir(void)
{
    _cleanup_closedir_ DIR *d = opendir("/usr/lib/postgresql");
    uint64_t best = 0, v;
    char dir[PATH_MAX], p[PATH_MAX + 16], *found = NULL;

    for (struct dirent *de; d && (de = readdir(d));) {
        if (parse_u64(de->d_name, &v) < 0 || v <= best)
            continue;
        snprintf(dir, sizeof(dir), "/usr/lib/postgresql/%s/bin", de->d_name);
        bool ok = true;
        for (const char *const *prog = (const char *const[]){"postgres", "initdb", "psql", NULL};
             *prog && ok; prog++) {
            snprintf(p, sizeof(p), "%s/%s", dir, *prog);
            ok = access(p, X_OK) == 0;
        }
        if (!ok)
            continue;
        free(found);
        found = resolve_under_usr(dir, X_OK);
        best = found ? v : best;
    }
    return found;
}

static void tools_detect(void)
{
    for (size_t t = 0; t < _TOOL_MAX; t++) {
        if (t == TOOL_PGBIN) {
            tool_paths[t] = pg_bin_dir();
            continue;
        }
        for (size_t i = 0; i < ELEMENTSOF(tools[t].paths) && tools[t].paths[i] && !tool_paths[t];
             i++)
            tool_paths[t] = resolve_under_usr(tools[t].paths[i], tools[t].mode);
    }
}

const char *coderun_tool_path(enum coderun_tool t)
{
    if (t < 0 || t >= _TOOL_MAX)
        return NULL;
    pthread_once(&tools_once, tools_detect);
    return tool_paths[t];
}

const char *coderun_tool_name(enum coderun_tool t)
{
    return t >= 0 && t < _TOOL_MAX ? tools[t].name : "?";
}

/* ---- helper programs run inside the sandbox ---- */

/* TypeScript's fast path: transpile each file with typescript.transpileModule (no type
 * check), report syntax errors like tsc, and write FILE.js next to FILE.ts. Loading the 10 MB
 * typescript.js dominates, so its compiled code is kept in a V8 code cache under
 * ~/.cache/cove; the cache is written on the second use only, so a sandbox that transpiles
 * once (validate) does not pay for writing it. argv: typescript.js, files... */
static const char ts_transpile_js[] =
    "'use strict';\n"
    "const fs = require('fs'), path = require('path'), vm = require('vm');\n"
    "const Module = require('module');\n"
    "const [lib, ...files] = process.argv.slice(1);\n"
    "const dir = path.join(process.env.HOME || '/tmp', '.cache', 'cove');\n"
    "const st = fs.statSync(lib);\n"
    "const cache = path.join(dir, `typescript-${process.version}-${st.size}-${st.mtimeMs}.v8`);\n"
    "const src = fs.readFileSync(lib, 'utf8');\n"
    "let data;\n"
    "try { data = fs.readFileSync(cache); } catch (e) {}\n"
    "const script = new vm.Script(Module.wrap(src), {filename: lib, cachedData: data});\n"
    "const m = new Module(lib, module);\n"
    "m.filename = lib;\n"
    "m.paths = Module._nodeModulePaths(path.dirname(lib));\n"
    "script.runInThisContext().call(m.exports, m.exports, (id) => m.require(id), m, lib,\n"
    "                               path.dirname(lib));\n"
    "const ts = m.exports;\n"
    "const host = {getCanonicalFileName: (f) => f, getCurrentDirectory: () => process.cwd(),\n"
    "              getNewLine: () => '\\n'};\n"
    "const options = {module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022,\n"
    "                 esModuleInterop: true, inlineSourceMap: true};\n"
    "let bad = false;\n"
    "for (const f of files) {\n"
    "  const out = ts.transpileModule(fs.readFileSync(f, 'utf8'),\n"
    "                                 {fileName: f, reportDiagnostics: true,\n"
    "                                  compilerOptions: options});\n"
    "  const diags = out.diagnostics || [];\n"
    "  if (diags.length) process.stderr.write(ts.formatDiagnostics(diags, host));\n"
    "  if (diags.some((d) => d.category === ts.DiagnosticCategory.Error)) bad = true;\n"
    "  fs.writeFileSync(f.replace(/\\.ts$/, '.js'), out.outputText);\n"
    "}\n"
    "if (!data || script.cachedDataRejected) {\n"
    "  try {\n"
    "    fs.mkdirSync(dir, {recursive: true});\n"
    "    if (!fs.existsSync(cache + '.seen')) {\n"
    "      fs.writeFileSync(cache + '.seen', '');\n"
    "    } else {\n"
    "      fs.writeFileSync(cache + '.' + process.pid, script.createCachedData());\n"
    "      fs.renameSync(cache + '.' + process.pid, cache);\n"
    "    }\n"
    "  } catch (e) {}\n"
    "}\n"
    "process.exitCode = bad ? 1 : 0;\n";

/* PostgreSQL: a server private to this run, on a cluster initialised at first use under
 * /var/tmp/cove-pg (initdb takes about half a second, starting from it a tenth). No TCP: the
 * server listens on a Unix socket in a 0700 directory only. Each run gets a fresh database,
 * cove_run, made from template0; psql stops at the first error with PostgreSQL's message and
 * exits 3. The server is killed with the rest of the command's processes when the script
 * ends; the next start recovers in milliseconds (fsync is off: the data is throw-away).
 * Concurrent runs in one sandbox take turns (flock). argv: bin dir, SQL file. */
static const char pg_run_sh[] =
    "bin=$1 sql=$2 base=/var/tmp/cove-pg sock=/tmp/.cove-pg\n"
    "export PGHOST=$sock PGUSER=cove\n"
    "mkdir -p $base && exec 9>$base/lock && flock 9 || exit 125\n"
    "if [ ! -s $base/data/PG_VERSION ]; then\n"
    "  rm -rf $base/data\n"
    "  $bin/initdb -D $base/data -A trust -U cove -E UTF8 --locale=C.UTF-8 --no-sync \\\n"
    "    --no-instructions >$base/initdb.log 2>&1 ||\n"
    "    { echo 'cove: initdb failed:' >&2; cat $base/initdb.log >&2; exit 125; }\n"
    "fi\n"
    /* A server of an earlier run was killed with its command: its lock files are stale, and
     * under our flock no other server can be running. */
    "rm -f $base/data/postmaster.pid $sock/.s.PGSQL.5432.lock\n"
    "mkdir -p -m 700 $sock\n"
    "$bin/postgres -D $base/data -c listen_addresses= -k $sock -c fsync=off \\\n"
    "  -c full_page_writes=off -c synchronous_commit=off >$base/server.log 2>&1 9>&- &\n"
    "pg=$!\n"
    "for i in $(seq 500); do\n"
    "  [ -S $sock/.s.PGSQL.5432 ] && $bin/psql -X -q -d postgres \\\n"
    "    -c 'DROP DATABASE IF EXISTS cove_run' -c 'CREATE DATABASE cove_run TEMPLATE template0' "
    "\\\n"
    "    >/dev/null 2>&1 && break\n"
    "  kill -0 $pg 2>/dev/null ||\n"
    "    { echo 'cove: the PostgreSQL server did not start:' >&2; cat $base/server.log >&2;\n"
    "      exit 125; }\n"
    "  sleep 0.01\n"
    "done\n"
    "$bin/psql -X -q -v ON_ERROR_STOP=1 -d cove_run -f \"$sql\" 9>&-\n"
    "rc=$?\n"
    "kill -QUIT $pg 2>/dev/null\n"
    "exit $rc\n";

/* ---- the table ---- */

#define JVM_FAST "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xshare:auto"

static const char *const py_run[] = {"@python3", "-u", "{main}", "{args}", NULL};
static const char *const py_test[] = {"@python3",         "-m",     "pytest", "-q", "-p",
                                      "no:cacheprovider", "{test}", NULL};
static const char *const py_env[] = {"PYTHONDONTWRITEBYTECODE=1", "MPLBACKEND=Agg", NULL};

static const char *const js_run[] = {"@node", "{main}", "{args}", NULL};
static const char *const js_test[] = {"@node", "--test", "--test-reporter=tap", "{test}", NULL};

static const char *const ts_compile[] = {"@node",       "-e",        ts_transpile_js,
                                         "@typescript", "{sources}", NULL};
static const char *const ts_check[] = {"@node",
                                       "@tsc",
                                       "--pretty",
                                       "false",
                                       "--target",
                                       "es2022",
                                       "--module",
                                       "commonjs",
                                       "--esModuleInterop",
                                       "--skipLibCheck",
                                       "--inlineSourceMap",
                                       "--outDir",
                                       ".",
                                       "{sources}",
                                       NULL};
static const char *const ts_run[] = {"@node", "--enable-source-maps", "main.js", "{args}", NULL};
static const char *const ts_test[] = {
    "@node", "--enable-source-maps", "--test", "--test-reporter=tap", "main.test.js", NULL};

static const char *const java_compile[] = {"@javac",
                                           "-J-XX:+UseSerialGC",
                                           "-J-XX:TieredStopAtLevel=1",
                                           "{javacds}",
                                           "-encoding",
                                           "UTF-8",
                                           "{javacp}",
                                           "-d",
                                           ".",
                                           "{sources}",
                                           NULL};
static const char *const java_run[] = {"@java", JVM_FAST, "-cp", ".", "{class}", "{args}", NULL};
static const char *const java_test[] = {
    "@java",          JVM_FAST,           "-jar",
    "@junit5",        "--disable-banner", "--disable-ansi-colors",
    "--details=tree", "--class-path",     ".",
    "--select-class", "{testclass}",      NULL};

static const char *const go_compile[] = {"@go", "build", "-o", "main", ".", NULL};
static const char *const go_run[] = {"./main", "{args}", NULL};
static const char *const go_test[] = {"@go", "test", "-v", "-count=1", "-vet=off", ".", NULL};
/* Modules on, no network: only the standard library and the caller's own packages. */
static const char *const go_env[] = {
    "GOFLAGS=-mod=mod",  "GOPROXY=off",   "GOSUMDB=off",     "GO111MODULE=on",
    "GOTOOLCHAIN=local", "CGO_ENABLED=0", "GOTELEMETRY=off", NULL};

static const char *const sqlite_run[] = {"@sqlite3", "-bail",          "-batch", "-table",
                                         ":memory:", ".read main.sql", NULL};
static const char *const pg_run[] = {"@bash",       "-c",     pg_run_sh, "cove-postgres",
                                     "@postgresql", "{main}", NULL};

static const char *const c_compile[] = {"@gcc", "-O2",       "-pipe", "-o",
                                        "main", "{sources}", "-lm",   NULL};
static const char *const cpp_compile[] = {"@g++", "-std=gnu++20", "-O2",       "-pipe",
                                          "-o",   "main",         "{sources}", NULL};
static const char *const native_run[] = {"./main", "{args}", NULL};

static const char *const bash_run[] = {"@bash", "{main}", "{args}", NULL};

static const struct coderun_variant variants[] = {
    {LANG_PYTHON,
     NULL,
     "main.py",
     "test_main.py",
     {".py"},
     NULL,
     py_run,
     py_test,
     py_env,
     {TOOL_PYTHON},
     1},
    {LANG_JAVASCRIPT,
     NULL,
     "main.js",
     "main.test.js",
     {".js"},
     NULL,
     js_run,
     js_test,
     NULL,
     {TOOL_NODE},
     1},
    {LANG_TYPESCRIPT,
     NULL,
     "main.ts",
     "main.test.ts",
     {".ts"},
     ts_compile,
     ts_run,
     ts_test,
     NULL,
     {TOOL_NODE, TOOL_TSLIB},
     2},
    {LANG_TYPESCRIPT,
     "typecheck",
     "main.ts",
     "main.test.ts",
     {".ts"},
     ts_check,
     ts_run,
     ts_test,
     NULL,
     {TOOL_NODE, TOOL_TSC},
     2},
    {LANG_JAVA,
     NULL,
     "Main.java",
     "MainTest.java",
     {".java"},
     java_compile,
     java_run,
     java_test,
     NULL,
     {TOOL_JAVAC, TOOL_JAVA},
     2},
    {LANG_GO,
     NULL,
     "main.go",
     "main_test.go",
     {".go"},
     go_compile,
     go_run,
     go_test,
     go_env,
     {TOOL_GO},
     1},
    {LANG_SQL, "sqlite", "main.sql", NULL, {NULL}, NULL, sqlite_run, NULL, NULL, {TOOL_SQLITE3}, 1},
    {LANG_SQL,
     "postgres",
     "main.sql",
     NULL,
     {NULL},
     NULL,
     pg_run,
     NULL,
     NULL,
     {TOOL_PGBIN, TOOL_BASH},
     2},
    {LANG_C, NULL, "main.c", NULL, {".c"}, c_compile, native_run, NULL, NULL, {TOOL_GCC}, 1},
    {LANG_CPP,
     NULL,
     "main.cpp",
     NULL,
     {".cpp", ".cc", ".cxx"},
     cpp_compile,
     native_run,
     NULL,
     NULL,
     {TOOL_GXX},
     1},
    {LANG_BASH, NULL, "main.sh", NULL, {NULL}, NULL, bash_run, NULL, NULL, {TOOL_BASH}, 1},
};

const struct coderun_variant *coderun_variant_find(enum coderun_lang lang, const char *dialect,
                                                   bool typecheck)
{
    const char *want = NULL;

    if (lang == LANG_SQL)
        want = dialect && strcmp(dialect, "sqlite") != 0 ? dialect : "sqlite";
    else if (dialect)
        return NULL; /* a dialect means nothing to other languages */
    if (lang == LANG_TYPESCRIPT && typecheck)
        want = "typecheck";
    if (!strcmp(want ? want : "", "postgresql"))
        want = "postgres";
    for (size_t i = 0; i < ELEMENTSOF(variants); i++)
        if (variants[i].lang == lang &&
            (want ? variants[i].variant && !strcmp(variants[i].variant, want)
                  : !variants[i].variant))
            return &variants[i];
    return NULL;
}

bool coderun_variant_available(const struct coderun_variant *v, const char **ret_missing)
{
    for (size_t i = 0; i < v->n_needs; i++)
        if (!coderun_tool_path(v->needs[i])) {
            if (ret_missing)
                *ret_missing = coderun_tool_name(v->needs[i]);
            return false;
        }
    return true;
}

/* ---- names ---- */

const char *coderun_lang_to_string(enum coderun_lang l)
{
    return l >= 0 && l < _LANG_MAX ? lang_names[l] : NULL;
}

enum coderun_lang coderun_lang_from_string(const char *s)
{
    if (!s)
        return _LANG_INVALID;
    for (int l = 0; l < _LANG_MAX; l++)
        if (!strcasecmp(s, lang_names[l]))
            return l;
    for (size_t i = 0; i < ELEMENTSOF(lang_aliases); i++)
        if (!strcasecmp(s, lang_aliases[i].alias))
            return lang_aliases[i].lang;
    return _LANG_INVALID;
}

enum coderun_lang coderun_lang_from_filename(const char *name)
{
    const char *slash = name ? strrchr(name, '/') : NULL;
    const char *dot = name ? strrchr(slash ? slash + 1 : name, '.') : NULL;

    for (size_t i = 0; dot && i < ELEMENTSOF(lang_exts); i++)
        if (!strcmp(dot, lang_exts[i].ext))
            return lang_exts[i].lang;
    return _LANG_INVALID;
}

bool coderun_lang_available(enum coderun_lang l)
{
    const struct coderun_variant *v = coderun_variant_find(l, NULL, false);
    return v && coderun_variant_available(v, NULL);
}

const char *coderun_available_list(void)
{
    /* Per thread, so concurrent requests never see a half-written list. */
    static __thread char list[256];
    size_t n = 0;

    list[0] = '\0';
    for (int l = 0; l < _LANG_MAX; l++)
        if (coderun_lang_available(l))
            n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%s", n ? ", " : "", lang_names[l]);
    return list;
}
