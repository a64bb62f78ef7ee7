/* Sessions: named shells in a sandbox whose working directory, exported variables, aliases
 * and functions carry over from one command to the next, and whose commands can run in the
 * background for as long as they like.
 *
 * Each command runs through cove-init as a logged command (ctl-proto.h): its stdout, stderr
 * and exit status go to files under <state>/sessions/<sandbox-id>/, written by init, so a
 * command, its status and its logs outlive coved. Shell state is saved by the command's own
 * shell when it exits (see WRAPPER in session.c) and restored by the next one. All commands
 * of a session share one cgroup: deleting the session kills every process it started. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/err.h"
#include "exec/exec.h"
#include "sandbox/sandbox.h"

#define SESSION_ID_MAX          64
#define SESSION_MAX_PER_SANDBOX 64
#define SESSION_MAX_COMMANDS    1000 /* per session, kept with their logs */
/* coved's own deadline for a sync command, past the one init enforces. */
#define SESSION_TIMEOUT_GRACE_MS 2000

enum session_stream { SESSION_STDOUT, SESSION_STDERR };

struct session_cmd_status {
    bool running;
    bool finished;  /* exit status known */
    int exit_code;  /* valid when finished */
    int signal;     /* 0 unless killed by a signal */
    bool lost;      /* the sandbox stopped before the command reported an exit */
    bool timed_out; /* init killed it at its timeout */
    uint64_t stdout_bytes;
    uint64_t stderr_bytes;
};

/* Create a session; id may be NULL (generated) or [A-Za-z0-9._-]{1,64}. ret_id gets it. */
int session_create(struct sandbox *sb, const char *id, char ret_id[SESSION_ID_MAX + 1],
                   struct cove_err *err);
/* Kill every process of the session, then forget it and its logs. */
int session_delete(struct sandbox *sb, const char *id, struct cove_err *err);
/* Kill and forget every session of a sandbox's (on sandbox delete); never fails. */
void session_forget_all(struct sandbox *sb);
/* Run command in the session. Async: returns once started, *ret_cid names it. Sync: waits
 * for it and fills res (stdout/stderr from the logs, truncated to max_output). A command
 * still running after timeout_ms (0 = no limit; sync or async) is killed with SIGKILL to its
 * process group by init. -EBUSY when the sandbox is not started or the session has run
 * SESSION_MAX_COMMANDS commands. */
int session_exec(struct sandbox *sb, const char *sid, const char *command, bool async,
                 uint64_t timeout_ms, size_t max_output, char ret_cid[37], struct exec_result *res,
                 struct cove_err *err);
int session_command_status(struct sandbox *sb, const char *cid, struct session_cmd_status *ret,
                           struct cove_err *err);
/* Read up to max bytes of a stream from offset. Returns bytes read (0 at the current end). */
long session_log_read(struct sandbox *sb, const char *cid, enum session_stream s, uint64_t offset,
                      char *buf, size_t max);
int session_input(struct sandbox *sb, const char *cid, const char *data, size_t len, bool eof,
                  struct cove_err *err);
int session_signal(struct sandbox *sb, const char *cid, int sig, struct cove_err *err);
/* JSON: {id, created_at, commands: [{id, command, async, started_at, running, exit_code}]} */
json_t *session_json(struct sandbox *sb, const char *sid, struct cove_err *err);
/* JSON array of every session of sb. */
json_t *session_list_json(struct sandbox *sb);
/* Number of running logged commands, asked of the sandbox's init (for auto-stop). */
int session_running_count(struct sandbox *sb);
/* Make the sessions directory of the runtime known (called once at start). */
void session_init(const char *state_dir);

/* Which session command listens on TCP port in sb's network namespace? Finds the socket's
 * owner among the processes of the sandbox's sessions and walks up to the command that
 * started it. ret_cid gets the command id. -ENOENT if no session command owns it. */
int session_find_listener(struct sandbox *sb, unsigned port, char ret_cid[37]);
