/* cove session: persistent shells in a sandbox (docs/API.md, "Sessions").
 *
 *   cove session create SANDBOX [ID]    POST .../sessions, prints the session id
 *   cove session ls SANDBOX             GET .../sessions as a table
 *   cove session rm SANDBOX ID...       DELETE .../sessions/ID, prints each id
 *   cove session exec SANDBOX ID [--async] [--timeout S] [--max-output B] [--] COMMAND...
 *
 * The words of COMMAND are joined with spaces and run by the session's shell, as ssh does:
 * `cove session exec box s1 -- cd /srv` changes the session's directory, and quoting is the
 * shell's (`-- 'echo $HOME | wc -c'`). */
#include <stdlib.h>
#include <string.h>

#include "base/limits.h"
#include "base/parse.h"
#include "cli/session.h"

enum {
    OPT_ASYNC = OPT_COMMAND,
    OPT_TIMEOUT,
    OPT_MAX_OUTPUT,
};

static const struct option plain_options[] = {
    CLI_COMMON_OPTIONS,
    CLI_OPTIONS_END,
};

static int do_create(const struct cli_command *cmd, struct cli_client *c, const char *sb,
                     const char *id)
{
    _cleanup_(cli_json_unrefp) json_t *body = id ? json_pack("{s:s}", "id", id) : json_object();
    _cleanup_(cli_json_unrefp) json_t *answer = NULL;
    _cleanup_free_ char *path = NULL;
    const char *sid;
    int r;

    if (!body || cli_session_path(c, sb, NULL, NULL, &path) < 0)
        return cli_client_report(c, -ENOMEM);
    r = cli_request(c, "POST", path, body, &answer);
    if (r != CLI_CONTINUE)
        return r;
    sid = json_string_value(json_object_get(answer, "id"));
    printf("%s\n", sid ? sid : "?");
    return CLI_EXIT_OK;
}

/* "2026-11-22T04:00:00.000Z" -> "2026-11-22 04:00:00" (UTC). */
static void format_time(char *dst, size_t n, const char *iso)
{
    if (iso && strlen(iso) >= 19 && iso[10] == 'T')
        snprintf(dst, n, "%.10s %.8s", iso, iso + 11);
    else
        snprintf(dst, n, "%s", iso ? iso : "-");
}

static int do_ls(struct cli_client *c, const char *sb)
{
    _cleanup_(cli_json_unrefp) json_t *answer = NULL;
    _cleanup_free_ char *path = NULL;
    json_t *list, *s, *cmdj;
    size_t i, j, width = strlen("ID");
    int r;

    if (cli_session_path(c, sb, NULL, NULL, &path) < 0)
        return cli_client_report(c, -ENOMEM);
    r = cli_client_json(c, "GET", path, NULL, &answer);
    if (r < 0)
        return cli_client_report(c, r);
    list = json_object_get(answer, "sessions");
    if (!json_is_array(list)) {
        fprintf(stderr, "cove: answer from %s has no \"sessions\" array\n", cli_client_url(c));
        return CLI_EXIT_FAILURE;
    }
    if (arg_json)
        return cli_print_json(list) < 0 ? CLI_EXIT_FAILURE : CLI_EXIT_OK;
    json_array_foreach(list, i, s)
    {
        const char *id = json_string_value(json_object_get(s, "id"));
        if (id && strlen(id) > width)
            width = strlen(id);
    }
    printf("%-*s  %-19s  %8s  %7s\n", (int)width, "ID", "CREATED", "COMMANDS", "RUNNING");
    json_array_foreach(list, i, s)
    {
        const char *id = json_string_value(json_object_get(s, "id"));
        json_t *cmds = json_object_get(s, "commands");
        size_t running = 0;
        char created[40];

        json_array_foreach(cmds, j, cmdj)
        {
            running += json_is_true(json_object_get(cmdj, "running"));
        }
        format_time(created, sizeof(created), json_string_value(json_object_get(s, "created_at")));
        printf("%-*s  %-19s  %8zu  %7zu\n", (int)width, id ? id : "?", created,
               json_array_size(cmds), running);
    }
    return CLI_EXIT_OK;
}

static int do_rm(struct cli_client *c, const char *sb, int n, char **ids)
{
    _cleanup_(cli_json_unrefp) json_t *done = json_array();
    int ret = CLI_EXIT_OK;

    for (int i = 0; i < n; i++) {
        _cleanup_(cli_json_unrefp) json_t *answer = NULL;
        _cleanup_free_ char *path = NULL;
        int r = cli_session_path(c, sb, ids[i], NULL, &path);

        if (r >= 0)
            r = cli_client_json(c, "DELETE", path, NULL, &answer);
        if (r < 0) {
            if (cli_report_one_of_many(c, r, &ret))
                break;
            continue;
        }
        if (arg_json)
            json_array_append(done, answer);
        else
            printf("%s\n", ids[i]);
    }
    if (arg_json && cli_print_json(done) < 0 && ret == CLI_EXIT_OK)
        ret = CLI_EXIT_FAILURE;
    return ret;
}

struct exec_args {
    json_t *body;
    double timeout_s;
    uint64_t max_output;
};

static int on_exec_option(const struct cli_command *cmd, int opt, const char *arg, void *userdata)
{
    struct exec_args *a = userdata;

    switch (opt) {
    case OPT_ASYNC:
        json_object_set_new(a->body, "async", json_true());
        return CLI_CONTINUE;
    case OPT_TIMEOUT:
        return cli_opt_timeout(cmd, arg, a->body, &a->timeout_s);
    case OPT_MAX_OUTPUT:
        return cli_opt_max_output(cmd, arg, a->body, &a->max_output);
    default:
        return cli_usage_error(cmd, "unexpected option");
    }
}

/* argv: "exec" SANDBOX [opts] SID [opts] [--] COMMAND... */
static int do_exec(const struct cli_command *cmd, int argc, char **argv)
{
    static const struct option options[] = {
        CLI_COMMON_OPTIONS,
        {"async", no_argument, NULL, OPT_ASYNC},
        {"timeout", required_argument, NULL, OPT_TIMEOUT},
        {"max-output", required_argument, NULL, OPT_MAX_OUTPUT},
        CLI_OPTIONS_END,
    };
    _cleanup_(cli_client_freep) struct cli_client *c = NULL;
    _cleanup_(cli_json_unrefp) json_t *body = json_object();
    struct exec_args a = {.body = body, .max_output = COVE_DEFAULT_OUTPUT_CAP};
    struct buf line;
    const char *sb, *sid;
    json_t *s;
    int idx, idx2, r;

    if (!body)
        return CLI_EXIT_FAILURE;
    /* The sandbox is the lead; the verbatim part starts at the session id, whose own
     * options are then parsed in a second pass up to the command. */
    r = cli_parse_options(cmd, argc, argv, "+h", options, on_exec_option, &a, &sb, &idx);
    if (r != CLI_CONTINUE)
        return r;
    if (!sb || idx >= argc)
        return cli_usage_error(cmd, "usage: cove session exec SANDBOX SESSION [--] COMMAND...");
    sid = argv[idx];
    r = cli_parse_options(cmd, argc - idx, argv + idx, "+h", options, on_exec_option, &a, NULL,
                          &idx2);
    if (r != CLI_CONTINUE)
        return r;
    idx += idx2;
    if (idx >= argc)
        return cli_usage_error(cmd, "missing command: cove session exec SANDBOX %s -- COMMAND",
                               sid);
    buf_init(&line, COVE_MAX_ARGV_BYTES);
    for (int i = idx; i < argc; i++)
        if ((i > idx && buf_append(&line, " ", 1) < 0) ||
            buf_append(&line, argv[i], strlen(argv[i])) < 0) {
            buf_free(&line);
            return cli_usage_error(cmd, "the command is longer than %u bytes", COVE_MAX_ARGV_BYTES);
        }
    s = cli_json_string(line.data, line.len);
    buf_free(&line);
    if (!s)
        return cli_usage_error(cmd, "the command is not valid UTF-8");
    json_object_set_new(body, "command", s);
    r = cli_connect(&c);
    if (r != CLI_CONTINUE)
        return r;
    return cli_session_exec(c, sb, sid, body, a.timeout_s, a.max_output);
}

static int run(const struct cli_command *cmd, int argc, char **argv)
{
    _cleanup_(cli_client_freep) struct cli_client *c = NULL;
    const char *verb;
    int idx, r, n;

    r = cli_subcommand(cmd, argc, argv, (const char *const[]){"create", "ls", "rm", "exec", NULL},
                       "create, ls, rm or exec");
    if (r != CLI_CONTINUE)
        return r;
    verb = argv[1];
    if (!strcmp(verb, "exec"))
        return do_exec(cmd, argc - 1, argv + 1);
    r = cli_parse_options(cmd, argc - 1, argv + 1, "h", plain_options, NULL, NULL, NULL, &idx);
    if (r != CLI_CONTINUE)
        return r;
    argc--, argv++;
    n = argc - idx;
    if (n < 1)
        return cli_usage_error(cmd, "missing sandbox id or name");
    if ((!strcmp(verb, "create") && n > 2) || (!strcmp(verb, "ls") && n > 1))
        return cli_usage_error(cmd, "unexpected argument '%s'", argv[idx + n - 1]);
    if (!strcmp(verb, "rm") && n < 2)
        return cli_usage_error(cmd, "missing session id: cove session rm SANDBOX ID...");
    r = cli_connect(&c);
    if (r != CLI_CONTINUE)
        return r;
    if (!strcmp(verb, "create"))
        return do_create(cmd, c, argv[idx], n == 2 ? argv[idx + 1] : NULL);
    if (!strcmp(verb, "ls"))
        return do_ls(c, argv[idx]);
    return do_rm(c, argv[idx], n - 1, argv + idx + 1);
}

const struct cli_command cli_cmd_session = {
    .name = "session",
    .summary = "manage persistent shells and run commands in them",
    .usage = "Usage: cove session create SANDBOX [ID]\n"
             "       cove session ls SANDBOX\n"
             "       cove session rm SANDBOX ID...\n"
             "       cove session exec SANDBOX ID [--async] [--timeout S] [--] COMMAND...\n"
             "\n"
             "A session is a shell whose working directory, exported variables, aliases and\n"
             "functions carry over from one command to the next.\n"
             "\n"
             "  create  create a session (ID generated if omitted); prints its id\n"
             "  ls      list sessions: ID CREATED COMMANDS RUNNING (--json: the session objects)\n"
             "  rm      delete sessions, killing every process they started; prints each id\n"
             "  exec    run COMMAND in the session. The words are joined with spaces and run by\n"
             "          the session's shell (like ssh). Without --async, print its output and\n"
             "          exit with its exit code; with --async, print the command id at once\n"
             "          (follow it with 'cove logs SANDBOX ID -f').\n"
             "\n"
             "Options of exec:\n"
             "      --async            return at once; the command keeps running\n"
             "      --timeout S        kill the command after S seconds (default: no limit)\n"
             "      --max-output BYTES keep at most BYTES of each stream in the answer\n",
    .run = run,
};
