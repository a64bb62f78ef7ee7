/* cove kill: send a signal to a running session command
 * (POST /v1/sandboxes/{id}/commands/{cid}/signal). The signal goes to the command's process
 * group; the daemon checks the name or number. */
#include <stdint.h>
#include <string.h>

#include "base/parse.h"
#include "cli/session.h"

static int on_option(const struct cli_command *cmd, int opt, const char *arg, void *userdata)
{
    if (opt != 's')
        return cli_usage_error(cmd, "unexpected option");
    *(const char **)userdata = arg;
    return CLI_CONTINUE;
}

static int run(const struct cli_command *cmd, int argc, char **argv)
{
    static const struct option options[] = {
        CLI_COMMON_OPTIONS,
        {"signal", required_argument, NULL, 's'},
        CLI_OPTIONS_END,
    };
    _cleanup_(cli_client_freep) struct cli_client *c = NULL;
    _cleanup_(cli_json_unrefp) json_t *body = NULL, *answer = NULL;
    _cleanup_free_ char *path = NULL;
    const char *sig = "TERM";
    uint64_t num;
    int idx, r;

    r = cli_parse_options(cmd, argc, argv, "hs:", options, on_option, &sig, NULL, &idx);
    if (r == CLI_CONTINUE)
        r = cli_command_args(cmd, argc, argv, idx);
    if (r != CLI_CONTINUE)
        return r;
    if (sig[0] == '\0')
        return cli_usage_error(cmd, "--signal expects a name or a number");
    /* A number goes as a number, anything else as a name for the daemon to check. */
    if (parse_u64(sig, &num) == 0)
        body = json_pack("{s:I}", "signal", (json_int_t)(num > 1024 ? 1024 : num));
    else
        body = json_pack("{s:s}", "signal", sig);
    r = cli_connect(&c);
    if (r != CLI_CONTINUE)
        return r;
    if (!body || cli_command_path(c, argv[idx], argv[idx + 1], "/signal", &path) < 0)
        return cli_client_report(c, -ENOMEM);
    r = cli_request(c, "POST", path, body, &answer);
    return r == CLI_CONTINUE ? CLI_EXIT_OK : r;
}

const struct cli_command cli_cmd_kill = {
    .name = "kill",
    .summary = "send a signal to a session command",
    .usage = "Usage: cove kill SANDBOX COMMAND-ID [--signal SIGNAL]\n"
             "\n"
             "Send SIGNAL (default TERM) to a running session command and its process group.\n"
             "SIGNAL is a name (TERM, SIGKILL, INT) or a number. Exits 1 if the command has\n"
             "already finished.\n"
             "\n"
             "Options:\n"
             "  -s, --signal SIGNAL  the signal to send (default: TERM)\n",
    .run = run,
};
