/* cove context: interpreter contexts whose state persists between cells (docs/API.md,
 * "Interpreter contexts").
 *
 *   cove context create SANDBOX [--language L] [--cwd DIR] [--id ID]   prints the context id
 *   cove context ls SANDBOX                                          a table of contexts
 *   cove context rm SANDBOX ID...                                    prints each id
 *   cove context run SANDBOX ID [--timeout S] [CODE | -]             runs one cell
 *
 * run reads the cell from CODE, or from stdin when CODE is "-" or missing. It prints what the
 * cell wrote (stdout, stderr), then the value of its last expression on stdout, as a REPL
 * does; a failing cell prints its traceback on stderr. Exit code: 0, 1 when the cell raised
 * or the context's process is gone, 124 when the cell hit its timeout. */
#include <stdlib.h>
#include <string.h>

#include "base/limits.h"
#include "cli/common.h"

#define CONTEXT_MAX_CODE (1u << 20) /* as the daemon's */

enum {
    OPT_LANGUAGE = OPT_COMMAND,
    OPT_CWD,
    OPT_ID,
    OPT_TIMEOUT,
};

static int on_option(const struct cli_command *cmd, int opt, const char *arg, void *userdata)
{
    json_t *body = userdata;

    switch (opt) {
    case OPT_LANGUAGE:
        json_object_set_new(body, "language", json_string(arg));
        return CLI_CONTINUE;
    case OPT_CWD:
        json_object_set_new(body, "cwd", json_string(arg));
        return CLI_CONTINUE;
    case OPT_ID:
        json_object_set_new(body, "id", json_string(arg));
        return CLI_CONTINUE;
    case OPT_TIMEOUT:
        return cli_opt_timeout(cmd, arg, body, NULL);
    default:
        return cli_usage_error(cmd, "unexpected option");
    }
}

static int ctx_path(struct cli_client *c, const char *sb, const char *id, const char *suffix,
                    char **ret)
{
    _cleanup_free_ char *tail = NULL;

    if (asprintf(&tail, "/contexts%s%s%s", id ? "/" : "", id ? id : "", suffix ? suffix : "") < 0)
        return -ENOMEM;
    return cli_sandbox_path(c, sb, tail, ret);
}

static int do_create(struct cli_client *c, const char *sb, json_t *body)
{
    _cleanup_(cli_json_unrefp) json_t *answer = NULL;
    _cleanup_free_ char *path = NULL;
    int r = ctx_path(c, sb, NULL, NULL, &path);

    if (r < 0)
        return cli_client_report(c, r);
    r = cli_request(c, "POST", path, body, &answer);
    if (r != CLI_CONTINUE)
        return r;
    printf("%s\n", json_string_value(json_object_get(answer, "id")) ?: "?");
    return CLI_EXIT_OK;
}

static int do_ls(struct cli_client *c, const char *sb)
{
    _cleanup_(cli_json_unrefp) json_t *answer = NULL;
    _cleanup_free_ char *path = NULL;
    json_t *list, *x;
    size_t i, width = strlen("ID");
    int r = ctx_path(c, sb, NULL, NULL, &path);

    if (r >= 0)
        r = cli_client_json(c, "GET", path, NULL, &answer);
    if (r < 0)
        return cli_client_report(c, r);
    list = json_object_get(answer, "contexts");
    if (arg_json)
        return cli_print_json(list) < 0 ? CLI_EXIT_FAILURE : CLI_EXIT_OK;
    json_array_foreach(list, i, x)
    {
        const char *id = json_string_value(json_object_get(x, "id"));
        if (id && strlen(id) > width)
            width = strlen(id);
    }
    printf("%-*s  %-10s  %-6s  %5s  %s\n", (int)width, "ID", "LANGUAGE", "ACTIVE", "CELLS", "CWD");
    json_array_foreach(list, i, x)
    {
        printf("%-*s  %-10s  %-6s  %5lld  %s\n", (int)width,
               json_string_value(json_object_get(x, "id")) ?: "?",
               json_string_value(json_object_get(x, "language")) ?: "?",
               json_is_true(json_object_get(x, "active")) ? "yes" : "no",
               cli_json_int(x, "cells", 0), json_string_value(json_object_get(x, "cwd")) ?: "?");
    }
    return CLI_EXIT_OK;
}

static int do_rm(struct cli_client *c, const char *sb, int n, char **ids)
{
    int ret = CLI_EXIT_OK;

    for (int i = 0; i < n; i++) {
        _cleanup_free_ char *path = NULL;
        int r = ctx_path(c, sb, ids[i], NULL, &path);

        if (r >= 0)
            r = cli_client_json(c, "DELETE", path, NULL, NULL);
        if (r < 0) {
            if (cli_report_one_of_many(c, r, &ret))
                break;
            continue;
        }
        printf("%s\n", ids[i]);
    }
    return ret;
}

static void put(FILE *f, const json_t *s)
{
    if (json_is_string(s))
        fwrite(json_string_value(s), 1, json_string_length(s), f);
}

static int do_run(struct cli_client *c, const char *sb, const char *id, json_t *body,
                  const char *code)
{
    _cleanup_(cli_json_unrefp) json_t *answer = NULL;
    _cleanup_free_ char *path = NULL, *text = NULL;
    size_t len;
    json_t *v, *err;
    int r;

    if (!code || !strcmp(code, "-")) {
        if (cli_read_all(stdin, CONTEXT_MAX_CODE, &text, &len) < 0) {
            fprintf(stderr, "cove: the cell on stdin is longer than %u bytes or unreadable\n",
                    CONTEXT_MAX_CODE);
            return CLI_EXIT_FAILURE;
        }
        code = text;
    } else {
        len = strlen(code);
    }
    v = cli_json_string(code, len);
    if (!v) {
        fprintf(stderr, "cove: the cell is not valid UTF-8\n");
        return CLI_EXIT_FAILURE;
    }
    json_object_set_new(body, "code", v);
    r = ctx_path(c, sb, id, "/run", &path);
    if (r < 0)
        return cli_client_report(c, r);
    r = cli_request(c, "POST", path, body, &answer);
    if (r != CLI_CONTINUE)
        return r;
    put(stdout, json_object_get(answer, "stdout"));
    put(stderr, json_object_get(answer, "stderr"));
    v = json_object_get(json_object_get(answer, "result"), "text/plain");
    if (json_is_string(v)) {
        put(stdout, v);
        putchar('\n');
    }
    size_t n = json_array_size(json_object_get(answer, "artifacts"));
    if (n)
        fprintf(stderr, "cove: the cell made %zu PNG figure%s (see them with --json)\n", n,
                n == 1 ? "" : "s");
    err = json_object_get(answer, "error");
    if (json_is_object(err)) {
        json_t *tb = json_object_get(err, "traceback");
        if (json_string_length(tb))
            put(stderr, tb);
        else
            fprintf(stderr, "%s: %s\n", json_string_value(json_object_get(err, "name")) ?: "Error",
                    json_string_value(json_object_get(err, "value")) ?: "");
    }
    if (json_is_true(json_object_get(answer, "context_died"))) {
        fprintf(stderr, "cove: %s\n",
                json_string_value(json_object_get(answer, "context_error")) ?: "context died");
        return CLI_EXIT_FAILURE;
    }
    if (json_is_true(json_object_get(answer, "timed_out"))) {
        fprintf(stderr,
                "cove: the cell hit its timeout and was interrupted; the context lives on\n");
        return CLI_EXIT_TIMEOUT;
    }
    return json_is_object(err) ? CLI_EXIT_FAILURE : CLI_EXIT_OK;
}

static int run(const struct cli_command *cmd, int argc, char **argv)
{
    static const struct option options[] = {
        CLI_COMMON_OPTIONS,
        {"language", required_argument, NULL, OPT_LANGUAGE},
        {"cwd", required_argument, NULL, OPT_CWD},
        {"id", required_argument, NULL, OPT_ID},
        {"timeout", required_argument, NULL, OPT_TIMEOUT},
        CLI_OPTIONS_END,
    };
    _cleanup_(cli_client_freep) struct cli_client *c = NULL;
    _cleanup_(cli_json_unrefp) json_t *body = json_object();
    const char *verb;
    int idx, r, n;

    r = cli_subcommand(cmd, argc, argv, (const char *const[]){"create", "ls", "rm", "run", NULL},
                       "create, ls, rm or run");
    if (r != CLI_CONTINUE)
        return r;
    verb = argv[1];
    if (!body)
        return CLI_EXIT_FAILURE;
    r = cli_parse_options(cmd, argc - 1, argv + 1, "h", options, on_option, body, NULL, &idx);
    if (r != CLI_CONTINUE)
        return r;
    argc--, argv++;
    n = argc - idx;
    if (n < 1)
        return cli_usage_error(cmd, "missing sandbox id or name");
    bool creating = !strcmp(verb, "create"), running = !strcmp(verb, "run");
    if (!creating && (json_object_get(body, "language") || json_object_get(body, "cwd") ||
                      json_object_get(body, "id")))
        return cli_usage_error(cmd, "--language, --cwd and --id belong to create");
    if (!running && json_object_get(body, "timeout"))
        return cli_usage_error(cmd, "--timeout belongs to run");
    if ((creating || !strcmp(verb, "ls")) && n > 1)
        return cli_usage_error(cmd, "unexpected argument '%s'", argv[idx + 1]);
    if ((!strcmp(verb, "rm") || running) && n < 2)
        return cli_usage_error(cmd, "missing context id: cove context %s SANDBOX ID", verb);
    if (running && n > 3)
        return cli_usage_error(cmd, "one cell at a time: quote the code, or pass - for stdin");
    r = cli_connect(&c);
    if (r != CLI_CONTINUE)
        return r;
    if (creating)
        return do_create(c, argv[idx], body);
    if (!strcmp(verb, "ls"))
        return do_ls(c, argv[idx]);
    if (running)
        return do_run(c, argv[idx], argv[idx + 1], body, n == 3 ? argv[idx + 2] : NULL);
    return do_rm(c, argv[idx], n - 1, argv + idx + 1);
}

const struct cli_command cli_cmd_context = {
    .name = "context",
    .summary = "manage interpreter contexts and run cells in them",
    .usage = "Usage: cove context create SANDBOX [--language L] [--cwd DIR] [--id ID]\n"
             "       cove context ls SANDBOX\n"
             "       cove context rm SANDBOX ID...\n"
             "       cove context run SANDBOX ID [--timeout S] [CODE | -]\n"
             "\n"
             "A context is a python, javascript or typescript interpreter whose variables,\n"
             "imports and functions persist from one cell to the next, like a notebook.\n"
             "\n"
             "  create  start a context (python unless --language); prints its id\n"
             "  ls      list contexts: ID LANGUAGE ACTIVE CELLS CWD (--json: the objects)\n"
             "  rm      delete contexts, killing their processes; prints each id\n"
             "  run     run one cell, from CODE or stdin ('-' or no CODE); prints its output,\n"
             "          then the value of its last expression; a failing cell prints its\n"
             "          traceback. Exits 0, 1 if the cell raised or the context died, 124 if\n"
             "          it hit its timeout (the cell is interrupted; the context lives on).\n"
             "\n"
             "Options:\n"
             "      --language L   create: python (default), javascript or typescript\n"
             "      --cwd DIR      create: working directory (default: the home directory)\n"
             "      --id ID        create: the context's id (default: generated)\n"
             "      --timeout S    run: interrupt the cell after S seconds (default 600)\n",
    .run = run,
};
