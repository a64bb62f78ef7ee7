/* cove run: run a local program in a throw-away sandbox, through code-run.
 *
 * Steps: create a sandbox named cove-run-<random>, send FILE (and any --file) to
 * POST /v1/sandboxes/{id}/code-run in the language of its extension, print the compiler's
 * messages and the program's output, delete the sandbox, and exit with the program's exit
 * code (the compiler's after a compile error).
 *
 * The sandbox is deleted on every path out, including errors and SIGINT/SIGTERM: the signal
 * handler only sets a flag, the progress callback of the client aborts the transfer in
 * flight, and the delete then runs with aborting switched off. Because we choose the name
 * ourselves, the delete works even when the create was interrupted before its answer told
 * us the id. --keep skips the delete (for debugging). */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "base/limits.h"
#include "cli/code.h"
#include "cli/common.h"

enum {
    OPT_LANGUAGE = OPT_COMMAND,
    OPT_TIMEOUT,
    OPT_KEEP,
    OPT_STDIN,
    OPT_FILE,
    OPT_DIALECT,
    OPT_TYPECHECK,
};

struct run_args {
    json_t *body;
    const char *language;
    struct cli_code_files files;
    double timeout_s;
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
        return cli_opt_timeout(cmd, arg, a->body, &a->timeout_s);
    case OPT_KEEP:
        a->keep = true;
        return CLI_CONTINUE;
    case 'i':
    case OPT_STDIN:
        a->read_stdin = true;
        return CLI_CONTINUE;
    case 'f':
    case OPT_FILE:
        return cli_code_opt_file(cmd, arg, &a->files);
    case OPT_DIALECT:
        json_object_set_new(a->body, "dialect", cli_json_string(arg, strlen(arg)));
        return CLI_CONTINUE;
    case OPT_TYPECHECK:
        json_object_set_new(a->body, "typecheck", json_true());
        return CLI_CONTINUE;
    default:
        return cli_usage_error(cmd, "unexpected option");
    }
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

/* Create, code-run. Returns the exit code; *ret_maybe_created says whether a sandbox may
 * exist that needs deleting. */
static int run_in_sandbox(struct cli_client *c, const char *name, const json_t *body,
                          double timeout_s, bool *ret_maybe_created)
{
    _cleanup_(cli_json_unrefp) json_t *create = NULL, *result = NULL;
    _cleanup_free_ char *path = NULL;
    int r;

    create = json_pack("{s:s, s:{s:s}}", "name", name, "labels", "cove-run", "true");
    if (!create)
        return cli_client_report(c, -ENOMEM);
    r = cli_client_json(c, "POST", "/v1/sandboxes", create, NULL);
    /* An answer tells whether the sandbox exists; an interrupted or broken transfer does
     * not, and then only a delete by name makes sure. */
    *ret_maybe_created = r >= 0 || cli_client_error_kind(c) == CLI_ERR_INTERRUPTED ||
                         cli_client_error_kind(c) == CLI_ERR_TRANSPORT;
    if (r < 0)
        return cli_client_report(c, r);
    r = cli_sandbox_path(c, name, "/code-run", &path);
    if (r >= 0)
        r = cli_client_json(c, "POST", path, body, &result);
    if (r < 0)
        return cli_client_report(c, r);
    return cli_code_report(result, timeout_s);
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

/* The code-run request from the command line; built before any sandbox exists, so a bad
 * argument costs none. */
static int build_body(const struct cli_command *cmd, struct run_args *a, const char *file,
                      char **args, int n_args)
{
    json_t *list = json_array();
    int r;

    r = cli_code_language(cmd, file, a->language, a->body);
    if (r == CLI_CONTINUE)
        r = cli_code_read(file, a->body, "code");
    if (r == CLI_CONTINUE)
        r = cli_code_add_files(&a->files, a->body);
    if (r != CLI_CONTINUE) {
        json_decref(list);
        return r;
    }
    json_object_set_new(a->body, "args", list);
    for (int i = 0; i < n_args; i++)
        if (json_array_append_new(list, cli_json_string(args[i], strlen(args[i]))) < 0)
            return cli_usage_error(cmd, "argument '%s' is not valid UTF-8", args[i]);
    return a->read_stdin ? cli_exec_add_stdin(a->body) : CLI_CONTINUE;
}

static int run(const struct cli_command *cmd, int argc, char **argv)
{
    static const struct option options[] = {
        CLI_COMMON_OPTIONS,
        {"language", required_argument, NULL, OPT_LANGUAGE},
        {"timeout", required_argument, NULL, OPT_TIMEOUT},
        {"keep", no_argument, NULL, OPT_KEEP},
        {"stdin", no_argument, NULL, OPT_STDIN},
        {"file", required_argument, NULL, OPT_FILE},
        {"dialect", required_argument, NULL, OPT_DIALECT},
        {"typecheck", no_argument, NULL, OPT_TYPECHECK},
        CLI_OPTIONS_END,
    };
    _cleanup_(cli_client_freep) struct cli_client *c = NULL;
    _cleanup_(cli_json_unrefp) json_t *body = json_object();
    struct run_args a = {.body = body, .timeout_s = COVE_DEFAULT_TIMEOUT_MS / 1000.0};
    const char *file = NULL;
    bool maybe_created = false;
    char name[32];
    int idx, r, ret;

    if (!body)
        return CLI_EXIT_FAILURE;
    r = cli_parse_options(cmd, argc, argv, "+hl:if:", options, on_option, &a, &file, &idx);
    if (r != CLI_CONTINUE)
        return r;
    if (!file)
        return cli_usage_error(cmd, "missing FILE");
    r = build_body(cmd, &a, file, argv + idx, argc - idx);
    if (r != CLI_CONTINUE)
        return r;
    r = cli_connect(&c);
    if (r != CLI_CONTINUE)
        return r;

    make_name(name, sizeof(name));
    if (cli_install_interrupt_handler() < 0) {
        fprintf(stderr, "cove: cannot install a signal handler: %s\n", strerror(errno));
        return CLI_EXIT_FAILURE;
    }
    cli_client_set_abortable(c, true);
    ret = run_in_sandbox(c, name, body, a.timeout_s, &maybe_created);
    if (a.keep && maybe_created)
        fprintf(stderr, "cove: kept sandbox %s; remove it with 'cove rm %s'\n", name, name);
    else if (maybe_created)
        delete_sandbox(c, name);
    return cli_interrupted ? CLI_EXIT_INTERRUPTED : ret;
}

const struct cli_command cli_cmd_run = {
    .name = "run",
    .summary = "run a local program in a throw-away sandbox",
    .usage = "Usage: cove run FILE [OPTIONS] [--] [ARGS...]\n"
             "\n"
             "Create a sandbox, compile and run FILE there in the language of its extension,\n"
             "print the compiler's messages and the program's output, delete the sandbox\n"
             "(also on errors and Ctrl-C) and exit with the program's exit code (the\n"
             "compiler's after a compile error, 124 on timeout, 137 on an OOM kill). With\n"
             "--json, print the code-run result instead.\n"
             "\n"
             "  .py python   .js .mjs .cjs javascript   .ts typescript   .java java\n"
             "  .go go       .sql sql (SQLite; --dialect postgres)   .c c\n"
             "  .cpp .cc .cxx cpp   .sh .bash bash\n"
             "\n"
             "Options:\n"
             "  -l, --language L   the language, whatever the extension\n"
             "  -f, --file F       also send F, next to FILE (repeat for more)\n"
             "      --timeout S    kill the program after S seconds (default: 60)\n"
             "  -i, --stdin        send all of cove's stdin (UTF-8 text) to the program\n"
             "      --dialect D    sql: sqlite (default) or postgres\n"
             "      --typecheck    typescript: type-check with tsc instead of transpiling\n"
             "      --keep         do not delete the sandbox afterwards; print its name\n",
    .run = run,
};
