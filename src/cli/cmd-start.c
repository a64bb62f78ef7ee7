/* cove start: POST /v1/sandboxes/{id}/start. The daemon answers once the sandbox is
 * started; starting a started sandbox is a no-op. */
#include "cli/common.h"

static int run(const struct cli_command *cmd, int argc, char **argv)
{
    return cli_change_state(cmd, argc, argv, "/start");
}

const struct cli_command cli_cmd_start = {
    .name = "start",
    .summary = "start a stopped sandbox",
    .usage = "Usage: cove start ID|NAME\n"
             "\n"
             "Start a stopped sandbox and print \"NAME: STATE\" (with --json: the sandbox).\n",
    .run = run,
};
