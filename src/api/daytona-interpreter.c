/* Daytona toolbox code interpreter (docs/daytona-compat.md): interpreter contexts and
 * codeInterpreter.runCode, on top of exec/context.h.
 *
 *   POST   /process/interpreter/context {cwd?, language?}  InterpreterContext
 *   GET    /process/interpreter/context                    {contexts: [InterpreterContext]}
 *   DELETE /process/interpreter/context/{ctx}              kill and forget
 *   GET    /process/interpreter/execute                    WebSocket, see below
 *
 * execute: the client sends one text frame {code, contextId?, envs?, timeout? (seconds)}.
 * Without contextId the cell runs in the sandbox's default python context, started on first
 * use and left out of lists. The server streams {type:"stdout"|"stderr", text} as the cell
 * writes, then {type:"error", name, value, traceback} if it failed (plus cove's own
 * {type:"result", text} and {type:"artifact", mime, data}, which the SDKs ignore), then
 * {type:"control", text:"completed"} and a normal Close. A cell that hits its timeout is
 * interrupted (the context survives) and the socket closes with 4008, which the SDKs report as
 * a timeout. A context whose process died closes with 1011 and the reason; a dead default
 * context is replaced on the next call. */
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/daytona.h"
#include "base/limits.h"
#include "exec/context.h"
#include "http/websocket.h"
#include "json/json-util.h"

#define WS_CLOSE_TIMEOUT  4008
#define WS_FIRST_FRAME_MS 30000

/* InterpreterContext: {id, cwd, createdAt, active, language}. */
static json_t *context_dto(json_t *c)
{
    return json_pack("{s:O, s:O, s:O, s:O, s:O}", "id", json_object_get(c, "id"), "cwd",
                     json_object_get(c, "cwd"), "createdAt", json_object_get(c, "created_at"),
                     "active", json_object_get(c, "active"), "language",
                     json_object_get(c, "language"));
}

int dtn_interp_context_create(struct http_req *req)
{
    struct cove_err err = {0};
    struct sandbox *sb;
    json_t *body = http_req_json(req), *lang, *cwd, *o = NULL;
    char path[COVE_MAX_PATH + 1];
    int r;

    if (!body)
        return 0;
    if (dtn_lookup(req, &sb) < 0) {
        json_decref(body);
        return 0;
    }
    lang = json_object_get(body, "language");
    cwd = json_object_get(body, "cwd");
    if ((lang && !json_is_null(lang) && !json_is_string(lang)) ||
        (cwd && !json_is_null(cwd) && !json_is_string(cwd))) {
        dtn_reply_error(req, 400, "BAD_REQUEST", DTN_SOURCE_DAEMON,
                        "language and cwd must be strings");
        goto out;
    }
    if (json_string_value(cwd) && json_string_length(cwd) &&
        dtn_path(req, "cwd", json_string_value(cwd), path, sizeof(path)) < 0)
        goto out;
    r = context_create(
        sb, json_string_value(lang) && json_string_length(lang) ? json_string_value(lang) : NULL,
        json_string_value(cwd) && json_string_length(cwd) ? path : NULL, NULL, false, &o, &err);
    if (r < 0) {
        dtn_reply_err(req, &err, true);
        goto out;
    }
    http_reply_json(req, 200, context_dto(o));
    json_decref(o);
out:
    json_decref(body);
    sandbox_unref(sb);
    return 0;
}

int dtn_interp_context_list(struct http_req *req)
{
    struct sandbox *sb;
    json_t *a, *v, *out;
    size_t i;

    if (dtn_lookup(req, &sb) < 0)
        return 0;
    a = context_list_json(sb);
    out = json_array();
    json_array_foreach(a, i, v) json_array_append_new(out, context_dto(v));
    json_decref(a);
    http_reply_json(req, 200, json_pack("{s:o}", "contexts", out));
    sandbox_unref(sb);
    return 0;
}

int dtn_interp_context_delete(struct http_req *req)
{
    struct cove_err err = {0};
    struct sandbox *sb;

    if (dtn_lookup(req, &sb) < 0)
        return 0;
    if (context_delete(sb, http_req_param(req, "ctx"), &err) < 0)
        dtn_reply_err(req, &err, true);
    else
        http_reply_json(req, 200, json_pack("{s:s}", "message", "context deleted"));
    sandbox_unref(sb);
    return 0;
}

/* ---- execute ---- */

static int ws_output(void *ud, bool is_stderr, const char *data, size_t len)
{
    json_t *ev = json_pack("{s:s, s:o}", "type", is_stderr ? "stderr" : "stdout", "text",
                           json_string_lossy(data, len));
    char *text = ev ? json_dumps(ev, JSON_COMPACT) : NULL;
    int r = text ? ws_send(*(int *)ud, WS_TEXT, text, strlen(text)) : -ENOMEM;

    free(text);
    json_decref(ev);
    return r;
}

static int ws_event(void *ud, json_t *ev)
{
    char *text = json_dumps(ev, JSON_COMPACT);
    int r = text ? ws_send(*(int *)ud, WS_TEXT, text, strlen(text)) : -ENOMEM;

    free(text);
    return r;
}

/* Close with code and a reason cut to what a Close frame holds (123 bytes, whole UTF-8). */
static void ws_close_reason(int fd, uint16_t code, const char *reason)
{
    char r[124];
    size_t n = strlen(reason);

    if (n > 123) {
        n = 123;
        while (n > 0 && ((unsigned char)reason[n] & 0xC0) == 0x80)
            n--;
    }
    memcpy(r, reason, n);
    r[n] = '\0';
    ws_send_close(fd, code, r);
}

static void ws_fail(int fd, const char *name, const char *msg, uint16_t code)
{
    json_t *ev = json_pack("{s:s, s:s, s:s, s:s}", "type", "error", "name", name, "value", msg,
                           "traceback", "");
    (void)ws_event(&fd, ev);
    json_decref(ev);
    ws_close_reason(fd, code, msg);
}

/* The context a request names, or the default one (started on first use). */
static int pick_context(struct sandbox *sb, const char *id, struct cove_err *err)
{
    if (id)
        return 0;
    if (context_exists(sb, CONTEXT_DEFAULT_ID))
        return 0;
    int r = context_create(sb, "python", NULL, CONTEXT_DEFAULT_ID, true, NULL, err);
    return r == -EEXIST ? 0 : r; /* a concurrent first call started it */
}

static void execute_ws(int fd, const char *extra, size_t extra_len, void *ctx)
{
    struct sandbox *sb = ctx;
    struct cove_err err = {0};
    struct context_run *run = NULL;
    uint64_t timeout_ms = 0;
    uint8_t *frame = malloc(CONTEXT_MAX_CODE + 65536);
    size_t len = 0;
    json_t *req = NULL, *code, *cid, *envs, *to;
    const char *id;
    int op, r;

    if (!frame) {
        ws_close_reason(fd, 1011, "out of memory");
        return;
    }
    op = ws_recv(fd, frame, CONTEXT_MAX_CODE + 65536, &len, WS_FIRST_FRAME_MS);
    if (op != WS_TEXT && op != WS_BINARY) {
        if (op >= 0)
            ws_close_reason(fd, 1008,
                            "expected one text frame {code, contextId?, envs?, timeout?}");
        goto out;
    }
    req = json_loadb((const char *)frame, len, JSON_REJECT_DUPLICATES, NULL);
    code = json_object_get(req, "code");
    cid = json_object_get(req, "contextId");
    envs = json_object_get(req, "envs");
    to = json_object_get(req, "timeout");
    if (!json_is_object(req) || !json_is_string(code) ||
        (cid && !json_is_null(cid) && !json_is_string(cid)) ||
        (envs && !json_is_null(envs) &&
         sandbox_string_map_valid(envs, "envs", COVE_MAX_ENV, COVE_MAX_LABEL_KEY,
                                  COVE_MAX_ENV_BYTES, &err) < 0) ||
        (to && !json_is_null(to) &&
         (!json_is_number(to) || !isfinite(json_number_value(to)) || json_number_value(to) < 0 ||
          json_number_value(to) * 1000 > COVE_MAX_TIMEOUT_MS))) {
        ws_fail(fd, "BadRequest",
                err.msg[0] ? err.msg
                           : "expected {code: string, contextId?: string, envs?: object of "
                             "strings, timeout?: seconds}",
                1008);
        goto out;
    }
    if (json_is_number(to) && json_number_value(to) > 0)
        timeout_ms = (uint64_t)ceil(json_number_value(to) * 1000);
    id = json_string_value(cid) && json_string_length(cid) ? json_string_value(cid) : NULL;
    r = pick_context(sb, id, &err);
    if (r >= 0)
        r = context_run_begin(sb, id ? id : CONTEXT_DEFAULT_ID, json_string_value(code),
                              json_string_length(code), json_is_object(envs) ? envs : NULL,
                              timeout_ms, COVE_DEFAULT_OUTPUT_CAP, &run, &err);
    if (r < 0) {
        if (!id && r == -EPIPE) /* the default context died: the next call gets a new one */
            (void)context_delete(sb, CONTEXT_DEFAULT_ID, NULL);
        ws_fail(fd, r == -EPIPE ? "ContextDied" : "ExecutionError", err.msg, 1011);
        goto out;
    }
    const struct context_sink sink = {&fd, ws_output, ws_event};
    while (context_run_step(run, 200, &sink) == 0) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 0) > 0) {
            op = ws_recv(fd, frame, 4096, &len, 0);
            if (op == WS_CLOSE || op < 0)
                goto out; /* the client left: context_run_end interrupts the cell */
        }
    }
    sandbox_touch(sb);
    struct context_result *res = context_run_result(run);
    if (res->died) {
        if (!id)
            (void)context_delete(sb, CONTEXT_DEFAULT_ID, NULL);
        ws_fail(fd, "ContextDied", res->died_reason, 1011);
    } else if (res->timed_out) {
        ws_close_reason(fd, WS_CLOSE_TIMEOUT, "execution timed out; the cell was interrupted");
    } else {
        json_t *ev = json_pack("{s:s, s:s}", "type", "control", "text", "completed");
        (void)ws_event(&fd, ev);
        json_decref(ev);
        ws_send_close(fd, 1000, "");
    }
out:
    context_run_end(run);
    json_decref(req);
    free(frame);
}

static void release_sandbox(void *p)
{
    sandbox_busy(p, -1);
    sandbox_unref(p);
}

int dtn_interp_execute(struct http_req *req)
{
    struct sandbox *sb;

    if (dtn_lookup(req, &sb) < 0)
        return 0;
    if (!http_req_header(req, "Upgrade")) {
        dtn_reply_error(req, 400, "BAD_REQUEST", DTN_SOURCE_DAEMON,
                        "this endpoint is a WebSocket: connect with Upgrade: websocket");
        sandbox_unref(sb);
        return 0;
    }
    sandbox_busy(sb, 1); /* a running cell counts as activity for auto-stop */
    return http_reply_websocket(req, NULL, execute_ws, sb, release_sandbox);
}
