/* Session helpers shared by `cove session`, `cove exec --detach`, `cove logs` and `cove kill`
 * (the /v1 session and command routes, docs/API.md "Sessions").
 *
 * Functions returning "an exit code" follow common.h: CLI_CONTINUE to carry on, anything
 * else is what the command should return, the reason already printed. */
#pragma once

#include <jansson.h>
#include <stdint.h>

#include "base/buf.h"
#include "cli/common.h"

/* The session `cove exec --detach` runs its commands in, created on first use. */
#define CLI_DEFAULT_SESSION "default"

/* "/v1/sandboxes/SB/sessions[/SID]<suffix>" (sid may be NULL) into *ret; caller frees. */
int cli_session_path(struct cli_client *c, const char *sb, const char *sid, const char *suffix,
                     char **ret);
/* "/v1/sandboxes/SB/commands/CID<suffix>" into *ret; caller frees. */
int cli_command_path(struct cli_client *c, const char *sb, const char *cid, const char *suffix,
                     char **ret);

/* Check that the positional arguments argv[idx..] are exactly SANDBOX COMMAND-ID (kill, logs).
 * Returns CLI_CONTINUE or an exit code. */
int cli_command_args(const struct cli_command *cmd, int argc, char **argv, int idx);

/* Create session sid in sandbox sb unless it exists already. Returns an exit code. */
int cli_session_ensure(struct cli_client *c, const char *sb, const char *sid);

/* Append s to b as one single-quoted shell word. */
int cli_shell_quote(struct buf *b, const char *s);

/* POST body ({"command", "async"?, "timeout"?, "max_output_bytes"?}) to the session's exec
 * route. Async: print the command id (the answer with --json) and return 0. Sync: present
 * the result like `cove exec` and return the command's exit code. timeout_s and max_output
 * only feed the messages. */
int cli_session_exec(struct cli_client *c, const char *sb, const char *sid, const json_t *body,
                     double timeout_s, uint64_t max_output);

/* The exit code for a final command status (the "exit" event of a log stream): the exit code,
 * 124 after a timeout, 1 (with a note) when the command was lost; notes on stderr as for
 * `cove exec`. */
int cli_command_exit_code(const json_t *status);
