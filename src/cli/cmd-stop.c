/* cove stop: POST /v1/sandboxes/{id}/stop. Every process is killed, the filesystem is kept;
 * stopping a stopped sandbox is a no-op. */
#include "cli/common.h"

static int run(const struct cli_command *cmd, int argc, char **argv)
{
    return cli_change_state(cmd, argc, argv, "/stop");
}

const struct cli_command cli_cmd_stop = {
    .name = "stop",
    .summary = "stop a sandbox (its files are kept)",
    .usage = "Usage: cove stop ID|NAME\n"
             "\n"
             "Stop a sandbox: kill every process in it, keep its files. Prints \"NAME: STATE\"\n"
             "(with --json: the sandbox).\n",
    .run = run,
};
