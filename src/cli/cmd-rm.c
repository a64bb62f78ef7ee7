/* cove rm: DELETE /v1/sandboxes/{id} for each argument, in order.
 *
 * A failure (say, one unknown name) is reported and the rest are still removed; the exit
 * code is that of the first failure. An unreachable daemon stops the loop, since every
 * further attempt would fail the same way. */
#include <stdlib.h>
#include <string.h>

#include "cli/common.h"

/* --wait: each delete answers only once the sandbox's resources are released. */
static int on_option(const struct cli_command *cmd, int opt, const char *arg, void *userdata)
{
    if (opt != 'w')
        return cli_usage_error(cmd, "unexpected option");
    *(bool *)userdata = true;
    return CLI_CONTINUE;
}

static int run(const struct cli_command *cmd, int argc, char **argv)
{
    static const struct option options[] = {
        CLI_COMMON_OPTIONS,
        {"wait", no_argument, NULL, 'w'},
        CLI_OPTIONS_END,
    };
    _cleanup_(cli_client_freep) struct cli_client *c = NULL;
    _cleanup_(cli_json_unrefp) json_t *done = json_array();
    int idx, r, ret = CLI_EXIT_OK;
    bool wait = false;

    if (!done)
        return CLI_EXIT_FAILURE;
    r = cli_parse_options(cmd, argc, argv, "h", options, on_option, &wait, NULL, &idx);
    if (r != CLI_CONTINUE)
        return r;
    if (idx >= argc)
        return cli_usage_error(cmd, "missing sandbox id or name");
    r = cli_connect(&c);
    if (r != CLI_CONTINUE)
        return r;

    for (int i = idx; i < argc; i++) {
        _cleanup_(cli_json_unrefp) json_t *answer = NULL;
        _cleanup_free_ char *path = NULL;
        const char *id;

        r = cli_sandbox_path(c, argv[i], NULL, &path);
        if (r >= 0 && wait) {
            char *q = malloc(strlen(path) + sizeof("?wait=true"));
            if (!q)
                return CLI_EXIT_FAILURE;
            strcpy(q, path);
            strcat(q, "?wait=true");
            free(path);
            path = q;
        }
        if (r >= 0)
            r = cli_client_json(c, "DELETE", path, NULL, &answer);
        if (r < 0) {
            if (cli_report_one_of_many(c, r, &ret))
                break;
            continue;
        }
        if (arg_json) {
            json_array_append(done, answer);
            continue;
        }
        id = json_string_value(json_object_get(answer, "id"));
        printf("%s\n", id ? id : argv[i]);
    }
    if (arg_json && cli_print_json(done) < 0 && ret == CLI_EXIT_OK)
        ret = CLI_EXIT_FAILURE;
    return ret;
}

const struct cli_command cli_cmd_rm = {
    .name = "rm",
    .summary = "delete sandboxes",
    .usage = "Usage: cove rm [--wait] ID|NAME...\n"
             "\n"
             "Delete sandboxes: kill their processes and remove their files. Prints the id of\n"
             "each deleted sandbox; with --json, an array of {\"id\", \"state\"} answers.\n"
             "The others are still deleted when one fails; the exit code is the first failure's.\n"
             "A delete answers once the sandbox is gone and its processes are killed; coved\n"
             "releases its disk, cgroups and uid range a moment later. --wait waits for that.\n",
    .run = run,
};
