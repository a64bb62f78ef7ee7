/* cove exec: run a command in a sandbox (POST /v1/sandboxes/{id}/exec) and behave like the
 * command: its stdout and stderr are copied byte for byte to ours and cove exits with its
 * exit code (128 + signal when it was killed, 124 after a timeout, 137 after an OOM kill).
 *
 * The command is either an argv after the id (`cove exec ID -- ls -l`; run directly, PATH
 * lookup) or a shell string (`cove exec ID --shell 'ls | wc -l'`; run by /bin/sh -c).
 *
 * --detach starts the command as an async command of the sandbox's "default" session
 * (created on first use) and prints its id for `cove logs -f` and `cove kill`. It runs in a
 * subshell that starts in the home directory, so it neither sees nor changes that session's
 * shell state: `( cd && [cd -- DIR &&] [export K=V &&] exec ARGV... )`. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/limits.h"
#include "base/parse.h"
#include "cli/common.h"
#include "cli/session.h"

enum {
    OPT_CWD = OPT_COMMAND,
    OPT_ENV,
    OPT_TIMEOUT,
    OPT_STDIN,
    OPT_MAX_OUTPUT,
    OPT_SHELL,
    OPT_DETACH,
};

struct exec_args {
    json_t *body;
    const char *shell;
    double timeout_s;
    uint64_t max_output;
    bool read_stdin;
    bool detach;
    bool max_output_set;
};

static int on_option(const struct cli_command *cmd, int opt, const char *arg, void *userdata)
{
    struct exec_args *a = userdata;
    json_t *env, *cwd;
    int r;

    switch (opt) {
    case 'w':
    case OPT_CWD:
        cwd = cli_json_string(arg, strlen(arg));
        if (!cwd)
            return cli_usage_error(cmd, "--cwd: '%s' is not valid UTF-8", arg);
        json_object_set_new(a->body, "cwd", cwd);
        return CLI_CONTINUE;
    case 'e':
    case OPT_ENV:
        env = json_object_get(a->body, "env");
        if (!env) {
            env = json_object();
            json_object_set_new(a->body, "env", env);
        }
        return cli_parse_kv(cmd, "--env", arg, true, env);
    case OPT_TIMEOUT:
        return cli_opt_timeout(cmd, arg, a->body, &a->timeout_s);
    case 'i':
    case OPT_STDIN:
        a->read_stdin = true;
        return CLI_CONTINUE;
    case OPT_MAX_OUTPUT:
        r = cli_opt_max_output(cmd, arg, a->body, &a->max_output);
        if (r == CLI_CONTINUE)
            a->max_output_set = true;
        return r;
    case 'd':
    case OPT_DETACH:
        a->detach = true;
        return CLI_CONTINUE;
    case 'c':
    case OPT_SHELL:
        a->shell = arg;
        return CLI_CONTINUE;
    default:
        return cli_usage_error(cmd, "unexpected option");
    }
}

/* body["cmd"] = argv[from..argc), or body["command"] = the --shell string. */
static int set_command(const struct cli_command *cmd, struct exec_args *a, int argc, char **argv,
                       int from)
{
    json_t *list, *s;

    if (a->shell && from < argc)
        return cli_usage_error(cmd, "give either --shell CMD or an argv after '--', not both");
    if (a->shell) {
        s = cli_json_string(a->shell, strlen(a->shell));
        if (!s)
            return cli_usage_error(cmd, "--shell: the command is not valid UTF-8");
        json_object_set_new(a->body, "command", s);
        return CLI_CONTINUE;
    }
    if (from >= argc)
        return cli_usage_error(cmd, "missing command: cove exec ID -- PROGRAM [ARGS...]");
    list = json_array();
    json_object_set_new(a->body, "cmd", list);
    for (int i = from; i < argc; i++) {
        s = cli_json_string(argv[i], strlen(argv[i]));
        if (!s)
            return cli_usage_error(cmd, "argument '%s' is not valid UTF-8", argv[i]);
        json_array_append_new(list, s);
    }
    return CLI_CONTINUE;
}

/* The session command line of a detached exec: see the top of the file. */
static int detached_line(const json_t *body, struct buf *b)
{
    json_t *cwd = json_object_get(body, "cwd"), *env = json_object_get(body, "env");
    json_t *list = json_object_get(body, "cmd"), *v;
    const char *k;
    size_t i;
    int r = buf_appendf(b, "( cd && ");

    if (r >= 0 && cwd) {
        r = buf_appendf(b, "cd -- ");
        if (r >= 0)
            r = cli_shell_quote(b, json_string_value(cwd));
        if (r >= 0)
            r = buf_appendf(b, " && ");
    }
    json_object_foreach(env, k, v)
    {
        _cleanup_free_ char *kv = NULL;
        if (r < 0 || asprintf(&kv, "%s=%s", k, json_string_value(v)) < 0)
            return -ENOMEM;
        r = buf_appendf(b, "export ");
        if (r >= 0)
            r = cli_shell_quote(b, kv);
        if (r >= 0)
            r = buf_appendf(b, " && ");
    }
    if (r >= 0 && list) {
        r = buf_appendf(b, "exec");
        json_array_foreach(list, i, v)
        {
            if (r >= 0)
                r = buf_appendf(b, " ");
            if (r >= 0)
                r = cli_shell_quote(b, json_string_value(v));
        }
    } else if (r >= 0) {
        r = buf_appendf(b, "eval ");
        if (r >= 0)
            r = cli_shell_quote(b, json_string_value(json_object_get(body, "command")));
    }
    if (r >= 0)
        r = buf_appendf(b, " )");
    return r;
}

static int run_detached(const struct cli_command *cmd, const char *id, struct exec_args *a)
{
    _cleanup_(cli_client_freep) struct cli_client *c = NULL;
    _cleanup_(cli_json_unrefp) json_t *body = json_pack("{s:b}", "async", 1);
    struct buf line;
    json_t *s;
    int r;

    if (a->read_stdin || a->max_output_set)
        return cli_usage_error(cmd, "--stdin and --max-output do not apply to --detach "
                                    "(use 'cove logs' for the output)");
    if (!body)
        return CLI_EXIT_FAILURE;
    buf_init(&line, COVE_MAX_ARGV_BYTES);
    r = detached_line(a->body, &line);
    s = r >= 0 ? cli_json_string(line.data, line.len) : NULL;
    buf_free(&line);
    if (!s)
        return cli_usage_error(cmd, "the command is longer than %u bytes", COVE_MAX_ARGV_BYTES);
    json_object_set_new(body, "command", s);
    if (json_object_get(a->body, "timeout"))
        json_object_set(body, "timeout", json_object_get(a->body, "timeout"));
    r = cli_connect(&c);
    if (r != CLI_CONTINUE)
        return r;
    r = cli_session_ensure(c, id, CLI_DEFAULT_SESSION);
    if (r != CLI_CONTINUE)
        return r;
    return cli_session_exec(c, id, CLI_DEFAULT_SESSION, body, a->timeout_s, a->max_output);
}

static int run(const struct cli_command *cmd, int argc, char **argv)
{
    static const struct option options[] = {
        CLI_COMMON_OPTIONS,
        {"cwd", required_argument, NULL, OPT_CWD},
        {"env", required_argument, NULL, OPT_ENV},
        {"timeout", required_argument, NULL, OPT_TIMEOUT},
        {"stdin", no_argument, NULL, OPT_STDIN},
        {"max-output", required_argument, NULL, OPT_MAX_OUTPUT},
        {"shell", required_argument, NULL, OPT_SHELL},
        {"detach", no_argument, NULL, OPT_DETACH},
        CLI_OPTIONS_END,
    };
    _cleanup_(cli_client_freep) struct cli_client *c = NULL;
    _cleanup_(cli_json_unrefp) json_t *body = json_object();
    /* The defaults only feed the messages (timeout, truncation); the request leaves unset
     * fields to the daemon. */
    struct exec_args a = {
        .body = body,
        .timeout_s = COVE_DEFAULT_TIMEOUT_MS / 1000.0,
        .max_output = COVE_DEFAULT_OUTPUT_CAP,
    };
    const char *id;
    int idx, r;

    if (!body)
        return CLI_EXIT_FAILURE;
    r = cli_parse_options(cmd, argc, argv, "+hw:e:ic:d", options, on_option, &a, &id, &idx);
    if (r != CLI_CONTINUE)
        return r;
    if (!id)
        return cli_usage_error(cmd, "missing sandbox id or name");
    r = set_command(cmd, &a, argc, argv, idx);
    if (r != CLI_CONTINUE)
        return r;
    if (a.detach)
        return run_detached(cmd, id, &a);
    /* Read stdin before connecting: a failure here should not cost a request. */
    if (a.read_stdin) {
        r = cli_exec_add_stdin(body);
        if (r != CLI_CONTINUE)
            return r;
    }
    r = cli_connect(&c);
    if (r != CLI_CONTINUE)
        return r;
    return cli_exec(c, id, body, a.timeout_s, a.max_output);
}

const struct cli_command cli_cmd_exec = {
    .name = "exec",
    .summary = "run a command in a sandbox",
    .usage = "Usage: cove exec ID|NAME [OPTIONS] [--] PROGRAM [ARGS...]\n"
             "       cove exec ID|NAME [OPTIONS] --shell 'COMMAND STRING'\n"
             "\n"
             "Run a command in a started sandbox, print its stdout and stderr unchanged and\n"
             "exit with its exit code (128+N when killed by signal N, 124 when it timed out,\n"
             "137 when the OOM killer struck). With --json, print the exec result instead;\n"
             "the exit code is the same. Options stop at PROGRAM: everything after it is\n"
             "passed on as is.\n"
             "\n"
             "Options:\n"
             "  -c, --shell CMD        run CMD with /bin/sh -c instead of an argv\n"
             "  -w, --cwd DIR          working directory (default: the home directory)\n"
             "  -e, --env K=V          add to the environment; a bare K copies $K (repeat)\n"
             "      --timeout S        kill the command after S seconds (default: 60)\n"
             "  -i, --stdin            send all of cove's stdin (UTF-8 text) to the command\n"
             "      --max-output BYTES keep at most BYTES of each stream (default: 1048576)\n"
             "  -d, --detach           start it in the background (in the sandbox's session\n"
             "                         \"default\") and print its id; see 'cove logs' and\n"
             "                         'cove kill'. --timeout applies (default: none).\n",
    .run = run,
};
