/* Interpreter contexts: notebook-style kernels in a sandbox whose variables, imports and
 * functions persist from one cell to the next (python, javascript, typescript).
 *
 * A context is a long-lived interpreter process (kernel-python.py, kernel-node.js) started
 * through cove-init under a reaper, as the sandbox user. coved holds three descriptors to it:
 * a unix stream socket carrying JSON lines (cells in; result, artifact, error and done events
 * out) and the two pipes that are its stdout and stderr, which are streamed to the caller as
 * they are written. The registry is in memory: contexts end when their sandbox stops, is
 * deleted, or coved restarts (the spawn connection closes and init kills the tree).
 *
 * A cell runs with a timeout. At the timeout the kernel's process group gets SIGINT, which
 * interrupts the cell (KeyboardInterrupt in Python, an interrupted script in Node) and the
 * context lives on. A cell that ignores the interrupt for CONTEXT_INTERRUPT_GRACE_MS has its
 * context killed, and says so. A context whose process died (os._exit, process.exit, the OOM
 * killer) reports that, with its exit status, on the next call. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"
#include "sandbox/sandbox.h"

#define CONTEXT_ID_MAX             64
#define CONTEXT_MAX_PER_SANDBOX    16
#define CONTEXT_MAX_CODE           (1u << 20)  /* bytes of one cell */
#define CONTEXT_MAX_EVENT          (16u << 20) /* one JSON line from a kernel (PNG artifacts) */
#define CONTEXT_MAX_ARTIFACTS      32          /* per cell */
#define CONTEXT_MAX_RESULT_TEXT    (1u << 20)  /* repr of the last expression, truncated */
#define CONTEXT_START_TIMEOUT_MS   60000       /* until the kernel says hello */
#define CONTEXT_INTERRUPT_GRACE_MS 3000
#define CONTEXT_DEFAULT_TIMEOUT_MS (600u * 1000) /* cells may train a model */
#define CONTEXT_DEFAULT_ID         "default"     /* Daytona's implicit python context */

/* What a cell produced. error/result/artifacts are NULL/empty when absent. */
struct context_result {
    bool ok;          /* finished without an error */
    bool timed_out;   /* the timeout fired (the cell was interrupted) */
    bool interrupted; /* the cell was interrupted (timeout, or its client went away) */
    bool died;        /* the context's process is gone (killed, exited, ignored the interrupt) */
    char died_reason[200];
    json_t *error;     /* {name, value, traceback} */
    json_t *result;    /* {"text/plain": repr} */
    json_t *artifacts; /* [{type:"image/png", data: base64}] */
    struct buf out, err;
    bool out_truncated, err_truncated;
    double duration_ms;
};

/* Receives a cell's output as it happens. Either callback may be NULL. A negative return
 * stops further callbacks (the client went away) but not the cell. */
struct context_sink {
    void *ud;
    int (*output)(void *ud, bool is_stderr, const char *data, size_t len);
    int (*event)(void *ud, json_t *ev); /* {"type":"result"|"artifact"|"error", ...}, borrowed */
};

struct context_run;

/* Create a context. language: "python", "javascript" or "typescript" (NULL = python); cwd is
 * an absolute path inside the sandbox (NULL = home). id may be NULL (a UUID is generated);
 * hidden contexts are left out of lists (Daytona's default context). Waits until the kernel
 * is ready. On success fills ret_json with the context's JSON form (context_json). */
int context_create(struct sandbox *sb, const char *language, const char *cwd, const char *id,
                   bool hidden, json_t **ret_json, struct cove_err *err);
/* The context's JSON: {id, language, cwd, created_at, active, cells, hidden}. */
json_t *context_get_json(struct sandbox *sb, const char *id, struct cove_err *err);
/* Every visible context of sb. */
json_t *context_list_json(struct sandbox *sb);
/* Kill the context's process tree and forget it. */
int context_delete(struct sandbox *sb, const char *id, struct cove_err *err);
/* Forget every context of sb (the sandbox stopped or is being deleted). Never fails. */
void context_forget_sandbox(struct sandbox *sb);
/* Does the context exist? */
bool context_exists(struct sandbox *sb, const char *id);

/* Running a cell, in steps so that callers can stream: begin, then step until it returns 1,
 * then end. Only one cell runs per context at a time: -EBUSY (kind CONTEXT_BUSY) otherwise.
 * -ENOENT: no such context; -EPIPE (kind CONTEXT_DEAD): its process is gone. env: object of
 * strings set for this cell only, may be NULL. timeout_ms 0 = CONTEXT_DEFAULT_TIMEOUT_MS. */
int context_run_begin(struct sandbox *sb, const char *id, const char *code, size_t len, json_t *env,
                      uint64_t timeout_ms, size_t max_output, struct context_run **ret,
                      struct cove_err *err);
/* Wait up to wait_ms (-1: until the cell ends) and hand what arrived to sink. Returns 1 once
 * the cell has finished, else 0. */
int context_run_step(struct context_run *run, int wait_ms, const struct context_sink *sink);
/* The outcome, valid once step returned 1; owned by run. */
struct context_result *context_run_result(struct context_run *run);
/* Release the cell. A cell that has not finished is interrupted first (its client went away),
 * and its context killed if it does not stop within the grace period. */
void context_run_end(struct context_run *run);

/* The kernel side of the wire, pure (fuzzed by tests/fuzz/fuzz-context-events.c): append
 * data, bytes a kernel sent, to the line buffer l (cap CONTEXT_MAX_EVENT) and handle every
 * complete line: result, artifact and error events go into res (first of each kind wins, all
 * capped) and to sink; unknown types are ignored. Returns 1 once a done event was handled (the
 * rest stays in l), 0 when more is needed, -1 for a line that is not a JSON object with a
 * string "type", or one longer than the cap. */
int context_events_feed(struct buf *l, const char *data, size_t len, struct context_result *res,
                        const struct context_sink *sink);
void context_result_init(struct context_result *r, size_t cap);
void context_result_done(struct context_result *r);

/* The native /v1 JSON form of a result:
 * {status, result, error, artifacts, stdout, stderr, *_truncated, duration_ms, timed_out,
 *  interrupted, context_died}. */
json_t *context_result_json(const struct context_result *r);
