/* Private interface of the cove command-line client: the command table entry that every
 * cmd-<verb>.c exports, the global flags main.c owns, the options every command accepts,
 * and the exit codes.
 *
 * A command's run() gets argv with argv[0] = "cove <verb>" and returns the process exit
 * code; it never calls exit(). */
#pragma once

#include <getopt.h>
#include <stdbool.h>

/* Exit codes. exec and run exit with the workload's own code instead of CLI_EXIT_OK. */
enum {
    CLI_EXIT_OK = 0,
    CLI_EXIT_FAILURE = 1,     /* the API answered with an error, or a local failure */
    CLI_EXIT_USAGE = 2,       /* bad command line; nothing was sent */
    CLI_EXIT_UNREACHABLE = 3, /* no connection to coved */
    CLI_EXIT_TIMEOUT = 124,   /* the workload hit its timeout, as timeout(1) reports it */
    CLI_EXIT_INTERRUPTED = 130,
    CLI_EXIT_OOM = 137, /* 128 + SIGKILL, what a shell reports for an OOM kill */
};

struct cli_command {
    const char *name;
    const char *summary; /* one line for `cove help` */
    const char *usage;   /* full help for `cove help NAME` and `cove NAME --help` */
    int (*run)(const struct cli_command *cmd, int argc, char **argv);
};

extern const struct cli_command cli_cmd_create;
extern const struct cli_command cli_cmd_ls;
extern const struct cli_command cli_cmd_info;
extern const struct cli_command cli_cmd_start;
extern const struct cli_command cli_cmd_stop;
extern const struct cli_command cli_cmd_rm;
extern const struct cli_command cli_cmd_exec;
extern const struct cli_command cli_cmd_run;
extern const struct cli_command cli_cmd_upload;
extern const struct cli_command cli_cmd_download;
extern const struct cli_command cli_cmd_doctor;
extern const struct cli_command cli_cmd_session;
extern const struct cli_command cli_cmd_logs;
extern const struct cli_command cli_cmd_kill;
extern const struct cli_command cli_cmd_validate;
extern const struct cli_command cli_cmd_context;
extern const struct cli_command cli_cmd_admin;

/* Global flags, accepted before the verb and by every command (main.c). NULL: unset. */
extern bool arg_json;
extern const char *arg_url;
extern const char *arg_key;

/* getopt values of the global long options; a command numbers its own long-only options
 * from OPT_COMMAND. */
enum {
    OPT_JSON = 0x100,
    OPT_URL,
    OPT_KEY,
    OPT_VERSION,
    OPT_COMMAND = 0x200,
};

#define CLI_COMMON_OPTIONS                                                                         \
    {"json", no_argument, NULL, OPT_JSON}, {"url", required_argument, NULL, OPT_URL},              \
        {"key", required_argument, NULL, OPT_KEY},                                                 \
    {                                                                                              \
        "help", no_argument, NULL, 'h'                                                             \
    }

#define CLI_OPTIONS_END                                                                            \
    {                                                                                              \
        NULL, 0, NULL, 0                                                                           \
    }

/* The option lines every usage text ends with. */
#define CLI_COMMON_HELP                                                                            \
    "      --json         print JSON instead of text\n"                                            \
    "      --url URL      API base URL or unix:/path/to/socket (default $COVE_API_URL,\n"          \
    "                     the credentials file, then http://127.0.0.1:3000)\n"                     \
    "      --key KEY      API key (default $COVE_API_KEY, then the credentials file)\n"            \
    "  -h, --help         show this help\n"
