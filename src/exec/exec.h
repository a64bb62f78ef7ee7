/* Running one command in a started sandbox and collecting its result. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"
#include "sandbox/sandbox.h"

struct exec_req {
    char **argv;            /* NULL-terminated */
    const char *cwd;        /* absolute path inside the sandbox */
    json_t *env;            /* extra environment, object of strings, may be NULL */
    uint64_t timeout_ms;    /* 0 = none */
    const char *stdin_data; /* NULL = /dev/null */
    size_t stdin_len;
    size_t max_output; /* per stream */
};

struct exec_result {
    int exit_code; /* exit status, or 128 + signal */
    int signal;    /* 0 if it exited */
    struct buf out;
    struct buf err;
    bool out_truncated;
    bool err_truncated;
    double duration_ms;
    bool timed_out;
    bool oom_killed;
};

void exec_result_init(struct exec_result *r, size_t cap);
void exec_result_done(struct exec_result *r);

/* Parse the JSON body of an exec request (docs/API.md, "Exec") into req. Pure. cwd[cwd_cap]
 * receives the normalised working directory (req->cwd points to it); argv is malloc'd (free
 * it with free()), every string is borrowed from body. On failure req is zeroed and err says
 * which field is wrong: -EINVAL (kind UNKNOWN_FIELD or BAD_REQUEST) or -ENOMEM. */
int exec_req_from_json(json_t *body, struct exec_req *req, char *cwd, size_t cwd_cap,
                       struct cove_err *err);

/* Run req in sb. A command that fails, is killed or times out is a successful call with the
 * outcome in res; an error return means the command could not be started (err says why:
 * -EBUSY sandbox not started, -ENOENT missing cwd, ...). A missing program is exit code 127
 * with the reason on stderr, like a shell. */
int exec_run(struct sandbox *sb, const struct exec_req *req, struct exec_result *res,
             struct cove_err *err);

/* The /v1 JSON form of a result (docs/API.md, "Exec"). */
json_t *exec_result_json(const struct exec_result *res);
