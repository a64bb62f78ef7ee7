/* cove run: run a local script in a throw-away sandbox.
 *
 * Steps: create a sandbox named cove-run-<random>, upload FILE into its home directory,
 * exec the interpreter its language needs, print the output, delete the sandbox, and exit
 * with the program's exit code.
 *
 * The sandbox is deleted on every path out, including errors and SIGINT/SIGTERM: the signal
 * handler only sets a flag, the progress callback of the client aborts the transfer in
 * flight, and the delete then runs with aborting switched off. Because we choose the name
 * ourselves, the delete works even when the create was interrupted before its answer told
 * us the id. --keep skips the delete (for debugging).
 *
 * Which interpreter runs which file is the static table run_languages[]; a code-run API in
 * the daemon can later take its place (TypeScript is waiting for that). */
#include <errno.h>
#include <libgen.h>
#include <stdint.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/limits.h"
#include "cli/common.h"

struct run_language {
    const char *name;
    const char *extensions[4]; /* NULL-terminated */
    const char *interpreter;   /* NULL: not runnable through plain exec yet */
};

static const struct run_language run_languages[] = {
    {"python", {".py", NULL}, "python3"},
    {"javascript", {".js", ".mjs", ".cjs", NULL}, "node"},
    {"bash", {".sh", NULL}, "bash"},
    /* Type-checking and running TypeScript is for the code-run API. */
    {"typescript", {".ts", NULL}, NULL},
};

enum {
    OPT_LANGUAGE = OPT_COMMAND,
    OPT_TIMEOUT,
    OPT_KEEP,
    OPT_STDIN,
};

struct run_args {
    const char *language;
    double timeout_s;
    bool has_timeout;
    bool keep;
    bool read_stdin;
};

static int on_option(const struct cli_command *cmd, int opt, const char *arg, void *userdata)
{
    struct run_args *a = userdata;

    switch (opt) {
    case 'l':
    case OPT_LANGUAGE:
        a->language = arg;
        return CLI_CONTINUE;
    case OPT_TIMEOUT:
        if (cli_parse_decimal(arg, &a->timeout_s) < 0 || a->timeout_s <= 0)
            return cli_usage_error(cmd, "--timeout expects seconds > 0, got '%s'", arg);
        a->has_timeout = true;
        return CLI_CONTINUE;
    case OPT_KEEP:
        a->keep = true;
        return CLI_CONTINUE;
    case 'i':
    case OPT_STDIN:
        a->read_stdin = true;
        return CLI_CONTINUE;
    default:
        return cli_usage_error(cmd, "unexpected option");
    }
}

/* "supported: .py .js ..." from the table; with pending, also the languages that wait for the
 * code-run API. */
static void print_supported(FILE *f, bool pending)
{
    fputs("supported:", f);
    for (size_t i = 0; i < ELEMENTSOF(run_languages); i++)
        for (size_t e = 0; run_languages[i].interpreter && run_languages[i].extensions[e]; e++)
            fprintf(f, " %s", run_languages[i].extensions[e]);
    for (size_t i = 0; pending && i < ELEMENTSOF(run_languages); i++)
        if (!run_languages[i].interpreter)
            fprintf(f, "; %s (%s) needs the code-run API, not available yet",
                    run_languages[i].extensions[0], run_languages[i].name);
    fputc('\n', f);
}

/* --language accepts a name, an interpreter or an extension without its dot. */
static bool language_matches(const struct run_language *l, const char *want)
{
    if (!strcmp(l->name, want) || (l->interpreter && !strcmp(l->interpreter, want)))
        return true;
    for (size_t e = 0; l->extensions[e]; e++)
        if (!strcmp(l->extensions[e] + 1, want))
            return true;
    return false;
}

static bool extension_matches(const struct run_language *l, const char *file)
{
    const char *slash = strrchr(file, '/');
    const char *dot = strrchr(slash ? slash + 1 : file, '.');

    for (size_t e = 0; dot && l->extensions[e]; e++)
        if (!strcmp(l->extensions[e], dot))
            return true;
    return false;
}

/* Find the language for file. Returns CLI_CONTINUE or an exit code. */
static int pick_language(const struct cli_command *cmd, const char *file, const char *want,
                         const struct run_language **ret)
{
    const struct run_language *l = NULL;

    for (size_t i = 0; i < ELEMENTSOF(run_languages) && !l; i++)
        if (want ? language_matches(&run_languages[i], want)
                 : extension_matches(&run_languages[i], file))
            l = &run_languages[i];
    if (!l) {
        if (want)
            fprintf(stderr, "cove run: unknown language '%s'; ", want);
        else
            fprintf(stderr, "cove run: cannot tell the language of '%s' from its extension; ",
                    file);
        print_supported(stderr, true);
        fputs("Use --language to choose one. Try 'cove help run'.\n", stderr);
        return CLI_EXIT_USAGE;
    }
    if (!l->interpreter) {
        fprintf(stderr, "cove run: %s is not supported yet (it needs the code-run API); ", l->name);
        print_supported(stderr, false);
        return CLI_EXIT_USAGE;
    }
    *ret = l;
    return CLI_CONTINUE;
}

/* "cove-run-" + 12 random hex digits. */
static void make_name(char *buf, size_t n)
{
    uint8_t r[6];

    if (getrandom(r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r)) {
        /* Unique enough for a name: the daemon refuses duplicates with NAME_TAKEN anyway. */
        uint64_t x = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);

        memcpy(r, &x, sizeof(r));
    }
    snprintf(buf, n, "cove-run-%02x%02x%02x%02x%02x%02x", r[0], r[1], r[2], r[3], r[4], r[5]);
}

static int open_script(const char *file, FILE **ret, int64_t *ret_size)
{
    struct stat st;
    FILE *f = fopen(file, "rbe");

    if (!f)
        return -errno;
    if (fstat(fileno(f), &st) < 0) {
        int e = errno;

        fclose(f);
        return -e;
    }
    if (!S_ISREG(st.st_mode)) {
        fclose(f);
        return -EINVAL;
    }
    *ret = f;
    *ret_size = (int64_t)st.st_size;
    return 0;
}

/* Upload the script as ~/<basename>; *ret gets the absolute path the daemon reports. */
static int upload_script(struct cli_client *c, const char *name, const char *file, FILE *f,
                         int64_t size, char **ret)
{
    _cleanup_(cli_json_unrefp) json_t *answer = NULL;
    _cleanup_free_ char *copy = strdup(file), *path = NULL;
    const char *base, *where;
    char *p;
    int r;

    if (!copy)
        return -ENOMEM;
    base = basename(copy);
    r = cli_file_content_path(c, name, base, &path);
    if (r < 0)
        return r;
    r = cli_client_upload(c, path, f, size, &answer);
    if (r < 0)
        return r;
    where = json_string_value(json_object_get(answer, "path"));
    /* "./" keeps a name starting with '-' from being read as an interpreter option. */
    if (asprintf(&p, "%s%s", where ? "" : "./", where ? where : base) < 0)
        return -ENOMEM;
    *ret = p;
    return 0;
}

/* The exec request: interpreter, script path, then the user's arguments. Built before the
 * sandbox exists, so a bad argument costs no sandbox; the script path is a placeholder that
 * run_in_sandbox() fills in after the upload. */
static int add_command(json_t *body, const struct run_language *l, const char *script, char **args,
                       int n_args)
{
    json_t *cmd = json_array();

    if (!cmd || json_object_set_new(body, "cmd", cmd) < 0)
        return -ENOMEM;
    json_array_append_new(cmd, json_string(l->interpreter));
    if (json_array_append_new(cmd, cli_json_string(script, strlen(script))) < 0)
        return -EINVAL;
    for (int i = 0; i < n_args; i++)
        if (json_array_append_new(cmd, cli_json_string(args[i], strlen(args[i]))) < 0)
            return -EINVAL;
    return 0;
}

/* Everything one run needs once the command line is parsed. */
struct run_job {
    char name[32];
    const char *file;
    FILE *f;
    int64_t size;
    const struct run_language *lang;
    char **args;
    int n_args;
    json_t *exec_body; /* timeout and stdin already set */
    double timeout_s;
};

/* Create, upload, exec. Returns the exit code; *ret_maybe_created says whether a sandbox
 * may exist that needs deleting. */
static int run_in_sandbox(struct cli_client *c, const struct run_job *job, bool *ret_maybe_created)
{
    _cleanup_(cli_json_unrefp) json_t *create = NULL;
    _cleanup_free_ char *script = NULL;
    int r;

    create = json_pack("{s:s, s:{s:s}}", "name", job->name, "labels", "cove-run", "true");
    if (!create)
        return cli_client_report(c, -ENOMEM);
    r = cli_client_json(c, "POST", "/v1/sandboxes", create, NULL);
    /* An answer tells whether the sandbox exists; an interrupted or broken transfer does
     * not, and then only a delete by name makes sure. */
    *ret_maybe_created = r >= 0 || cli_client_error_kind(c) == CLI_ERR_INTERRUPTED ||
                         cli_client_error_kind(c) == CLI_ERR_TRANSPORT;
    if (r < 0)
        return cli_client_report(c, r);
    r = upload_script(c, job->name, job->file, job->f, job->size, &script);
    if (r < 0)
        return cli_client_report(c, r);
    r = json_array_set_new(json_object_get(job->exec_body, "cmd"), 1,
                           cli_json_string(script, strlen(script)));
    if (r < 0) {
        fprintf(stderr, "cove: the script path %s is not valid UTF-8\n", script);
        return CLI_EXIT_FAILURE;
    }
    return cli_exec(c, job->name, job->exec_body, job->timeout_s, COVE_DEFAULT_OUTPUT_CAP);
}

static void delete_sandbox(struct cli_client *c, const char *name)
{
    _cleanup_free_ char *path = NULL;
    int r;

    if (cli_interrupted)
        fprintf(stderr, "cove: interrupted; deleting sandbox %s\n", name);
    cli_client_set_abortable(c, false);
    r = cli_sandbox_path(c, name, NULL, &path);
    if (r >= 0)
        r = cli_client_json(c, "DELETE", path, NULL, NULL);
    /* Not found: the create never happened. */
    if (r < 0 && r != -ENOENT) {
        cli_client_report(c, r);
        fprintf(stderr, "cove: could not delete sandbox %s; remove it with 'cove rm %s'\n", name,
                name);
    }
}

static int run(const struct cli_command *cmd, int argc, char **argv)
{
    static const struct option options[] = {
        CLI_COMMON_OPTIONS,
        {"language", required_argument, NULL, OPT_LANGUAGE},
        {"timeout", required_argument, NULL, OPT_TIMEOUT},
        {"keep", no_argument, NULL, OPT_KEEP},
        {"stdin", no_argument, NULL, OPT_STDIN},
        CLI_OPTIONS_END,
    };
    _cleanup_(cli_client_freep) struct cli_client *c = NULL;
    _cleanup_(cli_json_unrefp) json_t *body = json_object();
    _cleanup_fclose_ FILE *f = NULL;
    struct run_args a = {.timeout_s = COVE_DEFAULT_TIMEOUT_MS / 1000.0};
    struct run_job job = {.exec_body = body};
    bool maybe_created = false;
    int idx, r, ret;

    if (!body)
        return CLI_EXIT_FAILURE;
    r = cli_parse_options(cmd, argc, argv, "+hl:i", options, on_option, &a, &job.file, &idx);
    if (r != CLI_CONTINUE)
        return r;
    if (!job.file)
        return cli_usage_error(cmd, "missing FILE");
    r = pick_language(cmd, job.file, a.language, &job.lang);
    if (r != CLI_CONTINUE)
        return r;
    r = open_script(job.file, &f, &job.size);
    if (r < 0) {
        fprintf(stderr, "cove: %s: %s\n", job.file,
                r == -EINVAL ? "not a regular file" : strerror(-r));
        return CLI_EXIT_FAILURE;
    }
    job.f = f;
    job.args = argv + idx;
    job.n_args = argc - idx;
    job.timeout_s = a.timeout_s;
    if (a.has_timeout)
        json_object_set_new(body, "timeout", json_real(a.timeout_s));
    if (add_command(body, job.lang, "", job.args, job.n_args) < 0)
        return cli_usage_error(cmd, "an argument is not valid UTF-8");
    if (a.read_stdin) {
        r = cli_exec_add_stdin(body);
        if (r != CLI_CONTINUE)
            return r;
    }
    r = cli_connect(&c);
    if (r != CLI_CONTINUE)
        return r;

    make_name(job.name, sizeof(job.name));
    if (cli_install_interrupt_handler() < 0) {
        fprintf(stderr, "cove: cannot install a signal handler: %s\n", strerror(errno));
        return CLI_EXIT_FAILURE;
    }
    cli_client_set_abortable(c, true);
    ret = run_in_sandbox(c, &job, &maybe_created);
    if (a.keep && maybe_created)
        fprintf(stderr, "cove: kept sandbox %s; remove it with 'cove rm %s'\n", job.name, job.name);
    else if (maybe_created)
        delete_sandbox(c, job.name);
    return cli_interrupted ? CLI_EXIT_INTERRUPTED : ret;
}

const struct cli_command cli_cmd_run = {
    .name = "run",
    .summary = "run a local script in a throw-away sandbox",
    .usage = "Usage: cove run FILE [OPTIONS] [--] [ARGS...]\n"
             "\n"
             "Create a sandbox, upload FILE into its home directory, run it with the\n"
             "interpreter for its extension, print its output, delete the sandbox (also on\n"
             "errors and Ctrl-C) and exit with the program's exit code (124 on timeout, 137\n"
             "on an OOM kill). With --json, print the exec result instead of the output.\n"
             "\n"
             "  .py               python3\n"
             "  .js .mjs .cjs     node\n"
             "  .sh               bash\n"
             "  .ts               not yet (needs the code-run API)\n"
             "\n"
             "Options:\n"
             "  -l, --language L   python, javascript or bash, whatever the extension\n"
             "      --timeout S    kill the program after S seconds (default: 60)\n"
             "  -i, --stdin        send all of cove's stdin (UTF-8 text) to the program\n"
             "      --keep         do not delete the sandbox afterwards; print its name\n",
    .run = run,
};
