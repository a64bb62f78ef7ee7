/* cove: the command-line client of coved.
 *
 * main() parses the global options that may precede the verb, looks the verb up in the
 * command table and hands it the rest of argv (argv[0] rewritten to "cove VERB" so getopt's
 * messages name the command). Each verb lives in its own cmd-<verb>.c and returns the exit
 * code; see cli-internal.h for their meaning. */
#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli-internal.h"
#include "cli/client.h"
#include "cli/common.h"

bool arg_json;
const char *arg_url;
const char *arg_key;

static const struct cli_command *const commands[] = {
    &cli_cmd_create, &cli_cmd_ls,       &cli_cmd_info,    &cli_cmd_start,  &cli_cmd_stop,
    &cli_cmd_rm,     &cli_cmd_exec,     &cli_cmd_run,     &cli_cmd_upload, &cli_cmd_download,
    &cli_cmd_doctor, &cli_cmd_validate, &cli_cmd_session, &cli_cmd_logs,   &cli_cmd_kill,
    &cli_cmd_admin,  &cli_cmd_context,
};

static const struct cli_command *find_command(const char *name)
{
    for (size_t i = 0; i < ELEMENTSOF(commands); i++)
        if (!strcmp(commands[i]->name, name))
            return commands[i];
    return NULL;
}

static void print_main_usage(FILE *f)
{
    fputs("Usage: cove [--json] [--url URL] [--key KEY] COMMAND [ARGS...]\n"
          "\n"
          "Drive sandboxes on a coved daemon.\n"
          "\n"
          "Commands:\n",
          f);
    for (size_t i = 0; i < ELEMENTSOF(commands); i++)
        fprintf(f, "  %-10s %s\n", commands[i]->name, commands[i]->summary);
    fputs("  help       show help for a command: cove help COMMAND\n"
          "\n"
          "Global options (also accepted after the command):\n" CLI_COMMON_HELP
          "      --version      print the client version\n"
          "\n"
          "Exit status: 0 ok; exec, run, session exec and logs -f exit with the program's own\n"
          "code (124 on timeout, 137 on an OOM kill); 1 API error; 2 usage error; 3 coved\n"
          "cannot be reached.\n",
          f);
}

static int cmd_help(int argc, char **argv)
{
    const struct cli_command *cmd;

    if (argc < 1) {
        print_main_usage(stdout);
        return CLI_EXIT_OK;
    }
    cmd = find_command(argv[0]);
    if (!cmd) {
        fprintf(stderr, "cove: unknown command '%s'; see 'cove help'\n", argv[0]);
        return CLI_EXIT_USAGE;
    }
    cli_print_usage(cmd, stdout);
    return CLI_EXIT_OK;
}

/* Parse the options before the verb; returns CLI_CONTINUE or an exit code. */
static int parse_global(int argc, char **argv)
{
    static const struct option options[] = {
        CLI_COMMON_OPTIONS,
        {"version", no_argument, NULL, OPT_VERSION},
        CLI_OPTIONS_END,
    };
    int opt;

    /* '+': stop at the verb, its options are its own. */
    while ((opt = getopt_long(argc, argv, "+h", options, NULL)) >= 0) {
        switch (opt) {
        case OPT_JSON:
            arg_json = true;
            break;
        case OPT_URL:
            arg_url = optarg;
            break;
        case OPT_KEY:
            arg_key = optarg;
            break;
        case OPT_VERSION:
            printf("cove %s\n", COVE_CLI_VERSION);
            return CLI_EXIT_OK;
        case 'h':
            print_main_usage(stdout);
            return CLI_EXIT_OK;
        case '?':
        default:
            fputs("Try 'cove help'.\n", stderr);
            return CLI_EXIT_USAGE;
        }
    }
    return CLI_CONTINUE;
}

int main(int argc, char **argv)
{
    const struct cli_command *cmd;
    char name[64];
    int r;

    r = parse_global(argc, argv);
    if (r != CLI_CONTINUE)
        return r;
    if (optind >= argc) {
        print_main_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    /* "help" is no table entry: it needs the table itself. */
    if (!strcmp(argv[optind], "help"))
        return cmd_help(argc - optind - 1, argv + optind + 1);
    cmd = find_command(argv[optind]);
    if (!cmd) {
        fprintf(stderr, "cove: unknown command '%s'; see 'cove help'\n", argv[optind]);
        return CLI_EXIT_USAGE;
    }

    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fputs("cove: cannot initialise libcurl\n", stderr);
        return CLI_EXIT_FAILURE;
    }
    /* getopt prefixes its messages with argv[0]. */
    snprintf(name, sizeof(name), "cove %s", cmd->name);
    argv[optind] = name;
    r = cmd->run(cmd, argc - optind, argv + optind);
    curl_global_cleanup();

    /* Output that never arrived (full disk, closed pipe) must not look like success. */
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fputs("cove: error writing to stdout\n", stderr);
        if (r == CLI_EXIT_OK)
            r = CLI_EXIT_FAILURE;
    }
    return r;
}
