/* Helpers shared by the cove subcommands: option parsing, argument parsing, connecting,
 * and printing (JSON, exec results).
 *
 * Functions that end with "an exit code" return CLI_CONTINUE when the caller should carry
 * on, and otherwise the exit code the command should return right away (having printed why). */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cli/cli-internal.h"
#include "cli/client.h"

#define CLI_CONTINUE (-1)

/* A command's handler for its own options: opt is getopt's value, arg its optarg. Returns
 * CLI_CONTINUE or an exit code. */
typedef int (*cli_option_fn)(const struct cli_command *cmd, int opt, const char *arg,
                             void *userdata);

/* Parse argv with getopt_long; the global options and --help are handled here, the rest go
 * to handle(). Returns CLI_CONTINUE or an exit code; *ret_optind is the first positional
 * argument, as with getopt.
 *
 * With ret_lead == NULL options and positional arguments mix freely (GNU order). Otherwise
 * the command takes one leading positional argument followed by a verbatim argv (exec ID --
 * argv, run FILE -- args): options may appear before and after the lead, *ret_lead gets it
 * (NULL if missing), and the verbatim part starts at the next non-option or after "--".
 * shortopts must then start with '+'. */
int cli_parse_options(const struct cli_command *cmd, int argc, char **argv, const char *shortopts,
                      const struct option *longopts, cli_option_fn handle, void *userdata,
                      const char **ret_lead, int *ret_optind);

/* Print "cove VERB: message" and a pointer to the help; returns CLI_EXIT_USAGE. */
int cli_usage_error(const struct cli_command *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

void cli_print_usage(const struct cli_command *cmd, FILE *f);

/* The start of a command with subcommands (admin, context, session): "-h" or "--help" in place
 * of the subcommand prints the usage; a missing subcommand, or one not in the NULL-terminated
 * subs, is a usage error that names them as list ("a, b or c"). Returns CLI_CONTINUE when
 * argv[1] is one of subs, otherwise the exit code. */
int cli_subcommand(const struct cli_command *cmd, int argc, char **argv, const char *const *subs,
                   const char *list);

/* Create the API client from the global flags. Returns CLI_CONTINUE or an exit code. */
int cli_connect(struct cli_client **ret);

/* --timeout SECONDS: a decimal > 0 (fractions allowed; the upper bound is the daemon's to
 * enforce) into *ret (may be NULL) and body["timeout"]. Returns CLI_CONTINUE or an exit code. */
int cli_opt_timeout(const struct cli_command *cmd, const char *arg, json_t *body, double *ret);

/* --max-output BYTES: at most COVE_MAX_OUTPUT_CAP, into *ret and body["max_output_bytes"].
 * Returns CLI_CONTINUE or an exit code. */
int cli_opt_max_output(const struct cli_command *cmd, const char *arg, json_t *body, uint64_t *ret);

/* The start of a command that takes no positional argument (create, doctor, ls): parse argv as
 * cli_parse_options() does, refuse any argument left over, and connect. Returns CLI_CONTINUE
 * with the client in *ret, or an exit code. */
int cli_begin_no_args(const struct cli_command *cmd, int argc, char **argv, const char *shortopts,
                      const struct option *longopts, cli_option_fn handle, void *userdata,
                      struct cli_client **ret);

/* Parse "K=V" into obj[K] = V. With from_env, a bare "K" takes V from the environment.
 * Returns CLI_CONTINUE or an exit code. */
int cli_parse_kv(const struct cli_command *cmd, const char *flag, const char *s, bool from_env,
                 json_t *obj);

/* A non-negative decimal such as "2", "0.5" or ".25" (no sign, no exponent). */
int cli_parse_decimal(const char *s, double *ret);

/* Read f to the end; fails with -E2BIG past cap. *ret is NUL-terminated; caller frees. */
int cli_read_all(FILE *f, size_t cap, char **ret, size_t *ret_len);

/* Print j indented, with a final newline, to stdout. */
int cli_print_json(const json_t *j);

/* The integer field key of obj, or def when it is missing or not an integer. */
long long cli_json_int(const json_t *obj, const char *key, long long def);

/* A JSON string (which may hold NUL bytes) from the command line, or NULL if it is not UTF-8. */
json_t *cli_json_string(const char *s, size_t len);

/* Send a request whose answer is printed as it is with --json: a failure is reported and its
 * exit code returned; with --json the answer is printed and CLI_EXIT_OK (or CLI_EXIT_FAILURE
 * if printing failed) returned. Otherwise returns CLI_CONTINUE with the answer in *ret (the
 * caller unrefs it in every case) for the caller to present as text. */
int cli_request(struct cli_client *c, const char *method, const char *path, const json_t *body,
                json_t **ret);

/* Present an exec result: its output on our stdout/stderr (or the JSON with --json), notes on
 * timeout, OOM kill, signal and truncation. timeout_s and max_output are what was asked for,
 * for the messages. Returns the exit code cove should exit with: the workload's exit code,
 * CLI_EXIT_TIMEOUT after a timeout, CLI_EXIT_OOM after an OOM kill. */
int cli_exec_report(const json_t *result, double timeout_s, uint64_t max_output);

/* The request of a command that takes one sandbox and only the common options (info, start,
 * stop): parse argv, connect, send METHOD /v1/sandboxes/ID<suffix> (suffix may be NULL) without
 * a body. On CLI_CONTINUE *ret holds the answer (caller unrefs) and *ret_idx (if not NULL) is the
 * index of the sandbox argument in argv; otherwise returns the exit code, having printed why. */
int cli_one_sandbox_request(const struct cli_command *cmd, int argc, char **argv,
                            const char *method, const char *suffix, json_t **ret, int *ret_idx);

/* The whole of `cove start` / `cove stop`: POST /v1/sandboxes/ID<suffix>, then print
 * "NAME: STATE" (or the sandbox with --json). Returns the exit code. */
int cli_change_state(const struct cli_command *cmd, int argc, char **argv, const char *suffix);

/* Read all of our stdin (at most COVE_MAX_STDIN_BYTES) into body["stdin"]. Returns
 * CLI_CONTINUE or an exit code. */
int cli_exec_add_stdin(json_t *body);

/* POST body to /v1/sandboxes/ID/exec and present the result with cli_exec_report(). Returns
 * the exit code. */
int cli_exec(struct cli_client *c, const char *id, const json_t *body, double timeout_s,
             uint64_t max_output);

/* For commands that act on several targets in turn: report the failure r of one target
 * through cli_client_report(), keep the first failure's exit code in *ret (which starts as
 * CLI_EXIT_OK), and return true when the loop should stop because every further attempt would
 * fail the same way (daemon unreachable, or interrupted). */
bool cli_report_one_of_many(struct cli_client *c, int r, int *ret);

/* "/v1/sandboxes/ID/files/content?path=REMOTE" into *ret (caller frees). */
int cli_file_content_path(struct cli_client *c, const char *id, const char *remote, char **ret);
