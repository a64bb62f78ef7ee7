/* Helpers shared by the commands that send source code to coved: `cove run` (code-run in a
 * throw-away sandbox) and `cove validate` (POST /v1/validate).
 *
 * Functions that end with "an exit code" return CLI_CONTINUE when the caller should carry on,
 * and otherwise the exit code the command should return right away (having printed why). */
#pragma once

#include <jansson.h>

#include "cli/common.h"

/* body["language"]: want (a name or alias, checked by the daemon) or, without it, the
 * language of file's extension. Returns CLI_CONTINUE or an exit code. */
int cli_code_language(const struct cli_command *cmd, const char *file, const char *want,
                      json_t *body);

/* body[key] = the text of file (UTF-8, at most 16 MiB). Returns CLI_CONTINUE or an exit code. */
int cli_code_read(const char *file, json_t *body, const char *key);

/* The extra source files named with --file (run, validate), in order. */
struct cli_code_files {
    const char *v[64];
    size_t n;
};

/* Remember the file of one --file option; more than ELEMENTSOF(f->v) is a usage error.
 * Returns CLI_CONTINUE or an exit code. */
int cli_code_opt_file(const struct cli_command *cmd, const char *arg, struct cli_code_files *f);

/* body["files"][basename(file)] = the text of file, for each of f in order. Returns
 * CLI_CONTINUE or an exit code. */
int cli_code_add_files(const struct cli_code_files *f, json_t *body);

/* Present a code-run result: compiler messages and the program's stderr on our stderr, its
 * stdout on our stdout (or the JSON with --json). Returns the exit code: the program's, the
 * compiler's after a compile error, 124 after a timeout, 137 after an OOM kill. */
int cli_code_report(const json_t *result, double timeout_s);
