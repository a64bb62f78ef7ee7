/* Daytona toolbox sessions (docs/daytona-compat.md): /process/session/... over cove's
 * sessions (src/exec/session.c), including the log stream the SDKs follow over a WebSocket:
 * binary frames where 01 01 01 introduces stdout bytes and 02 02 02 stderr bytes, closed with
 * 1000 once the command has ended and everything was sent. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/daytona.h"
#include "base/limits.h"
#include "exec/session.h"
#include "http/websocket.h"

static const char MARK_OUT[3] = {1, 1, 1}, MARK_ERR[3] = {2, 2, 2};

static int session_err(struct http_req *req, const struct cove_err *err)
{
    return dtn_reply_err(req, err, true);
}

static json_t *commands_json(json_t *native)
{
    json_t *out = json_array(), *c;
    size_t i;

    json_array_foreach(json_object_get(native, "commands"), i, c)
    {
        json_t *o = json_pack("{s:O, s:O}", "id", json_object_get(c, "id"), "command",
                              json_object_get(c, "command"));
        json_t *ec = json_object_get(c, "exit_code");
        if (json_is_integer(ec))
            json_object_set(o, "exitCode", ec);
        json_array_append_new(out, o);
    }
    return out;
}

static json_t *session_dto(struct sandbox *sb, const char *sid, struct cove_err *err)
{
    json_t *n = session_json(sb, sid, err), *o;

    if (!n)
        return NULL;
    o = json_pack("{s:s, s:o}", "sessionId", sid, "commands", commands_json(n));
    json_decref(n);
    return o;
}

int dtn_session_create(struct http_req *req)
{
    char id[SESSION_ID_MAX + 1];
    struct cove_err err = {0};
    struct sandbox *sb;
    json_t *body = http_req_json(req), *sid;
    int r;

    if (!body)
        return 0;
    sid = json_object_get(body, "sessionId");
    if (!json_is_string(sid)) {
        json_decref(body);
        return dtn_reply_error(req, 400, "BAD_REQUEST", DTN_SOURCE_DAEMON,
                               "sessionId must be a string");
    }
    if (dtn_lookup(req, &sb) < 0) {
        json_decref(body);
        return 0;
    }
    r = session_create(sb, json_string_value(sid), id, &err);
    json_decref(body);
    r = r < 0 ? session_err(req, &err) : http_reply_empty(req, 201);
    sandbox_unref(sb);
    return r;
}

struct list_ctx {
    struct sandbox *sb;
    json_t *arr;
};

int dtn_session_list(struct http_req *req)
{
    struct sandbox *sb;
    json_t *native, *s, *out = json_array();
    size_t i;

    if (dtn_lookup(req, &sb) < 0) {
        json_decref(out);
        return 0;
    }
    native = session_list_json(sb);
    json_array_foreach(native, i, s)
    {
        json_array_append_new(out, json_pack("{s:O, s:o}", "sessionId", json_object_get(s, "id"),
                                             "commands", commands_json(s)));
    }
    json_decref(native);
    sandbox_unref(sb);
    return http_reply_json(req, 200, out);
}

int dtn_session_get(struct http_req *req)
{
    struct cove_err err = {0};
    struct sandbox *sb;
    json_t *o;
    int r;

    if (dtn_lookup(req, &sb) < 0)
        return 0;
    o = session_dto(sb, http_req_param(req, "sid"), &err);
    r = o ? http_reply_json(req, 200, o) : session_err(req, &err);
    sandbox_unref(sb);
    return r;
}

int dtn_session_delete(struct http_req *req)
{
    struct cove_err err = {0};
    struct sandbox *sb;
    int r;

    if (dtn_lookup(req, &sb) < 0)
        return 0;
    r = session_delete(sb, http_req_param(req, "sid"), &err);
    r = r < 0 ? session_err(req, &err) : http_reply_empty(req, 204);
    sandbox_unref(sb);
    return r;
}

/* All of a stream's log (capped) as a JSON string. */
static json_t *log_string(struct sandbox *sb, const char *cid, enum session_stream s)
{
    struct buf b;
    char chunk[65536];
    uint64_t off = 0;
    long n;
    json_t *j;

    buf_init(&b, COVE_MAX_OUTPUT_CAP);
    while ((n = session_log_read(sb, cid, s, off, chunk, sizeof(chunk))) > 0) {
        if (buf_append_upto(&b, chunk, (size_t)n) < (size_t)n)
            break;
        off += (uint64_t)n;
    }
    j = json_string_lossy(b.data ? b.data : "", b.len);
    buf_free(&b);
    return j;
}

static json_t *logs_dto(struct sandbox *sb, const char *cid)
{
    json_t *out = log_string(sb, cid, SESSION_STDOUT), *err = log_string(sb, cid, SESSION_STDERR);
    char *combined = NULL;

    /* "output" is the raw log with its stream markers; the SDKs read stdout and stderr. */
    if (asprintf(&combined, "%.3s%s%.3s%s", MARK_OUT, json_string_value(out), MARK_ERR,
                 json_string_value(err)) < 0)
        combined = NULL;
    json_t *o = json_pack("{s:s, s:o, s:o}", "output", combined ? combined : "", "stdout", out,
                          "stderr", err);
    free(combined);
    return o;
}

int dtn_session_exec(struct http_req *req)
{
    struct cove_err err = {0};
    struct exec_result res;
    struct sandbox *sb;
    char cid[37];
    json_t *body = http_req_json(req), *cmd, *async;
    int r;

    if (!body)
        return 0;
    cmd = json_object_get(body, "command");
    async = json_object_get(body, "runAsync");
    if (!async)
        async = json_object_get(body, "async");
    if (!json_is_string(cmd) || json_string_length(cmd) == 0) {
        json_decref(body);
        return dtn_reply_error(req, 400, "BAD_REQUEST", DTN_SOURCE_DAEMON,
                               "command must be a non-empty string");
    }
    if (dtn_lookup(req, &sb) < 0) {
        json_decref(body);
        return 0;
    }
    exec_result_init(&res, COVE_MAX_OUTPUT_CAP);
    r = session_exec(sb, http_req_param(req, "sid"), json_string_value(cmd), json_is_true(async), 0,
                     COVE_MAX_OUTPUT_CAP, cid, &res, &err);
    if (r < 0) {
        session_err(req, &err);
    } else if (json_is_true(async)) {
        http_reply_json(req, 202, json_pack("{s:s}", "cmdId", cid));
    } else {
        json_t *o = logs_dto(sb, cid);
        json_object_set_new(o, "cmdId", json_string(cid));
        json_object_set_new(o, "exitCode", json_integer(res.exit_code));
        http_reply_json(req, 200, o);
    }
    exec_result_done(&res);
    json_decref(body);
    sandbox_unref(sb);
    return 0;
}

static json_t *command_dto(struct sandbox *sb, const char *cid, struct cove_err *err)
{
    struct session_cmd_status st;
    struct command_rec cr;
    json_t *o;

    if (store_command_get(sandbox_store(), sandbox_id(sb), cid, &cr) < 0) {
        cove_err_setk(err, -ENOENT, "COMMAND_NOT_FOUND", "command '%s' not found", cid);
        return NULL;
    }
    session_command_status(sb, cid, &st, NULL);
    o = json_pack("{s:s, s:s}", "id", cid, "command", cr.command);
    free(cr.command);
    if (st.finished)
        json_object_set_new(o, "exitCode", json_integer(st.exit_code));
    return o;
}

int dtn_session_command(struct http_req *req)
{
    struct cove_err err = {0};
    struct sandbox *sb;
    json_t *o;
    int r;

    if (dtn_lookup(req, &sb) < 0)
        return 0;
    o = command_dto(sb, http_req_param(req, "cid"), &err);
    r = o ? http_reply_json(req, 200, o) : session_err(req, &err);
    sandbox_unref(sb);
    return r;
}

struct follow {
    struct sandbox *sb;
    char cid[37];
};

static void follow_free(void *p)
{
    struct follow *f = p;
    sandbox_busy(f->sb, -1);
    sandbox_unref(f->sb);
    free(f);
}

/* Stream both logs until the command ends; the client may close first. */
static void follow_ws(int fd, const char *extra, size_t extra_len, void *ctx)
{
    struct follow *f = ctx;
    uint64_t off[2] = {0, 0};
    char chunk[3 + 32768];
    bool quiet_after_exit = false;

    for (;;) {
        bool sent = false;
        for (int s = 0; s < 2; s++) {
            long n = session_log_read(f->sb, f->cid, (enum session_stream)s, off[s], chunk + 3,
                                      sizeof(chunk) - 3);
            if (n <= 0)
                continue;
            memcpy(chunk, s ? MARK_ERR : MARK_OUT, 3);
            if (ws_send(fd, WS_BINARY, chunk, (size_t)n + 3) < 0)
                return;
            off[s] += (uint64_t)n;
            sent = true;
        }
        if (sent) {
            sandbox_touch(f->sb);
            continue;
        }
        struct session_cmd_status st;
        if (session_command_status(f->sb, f->cid, &st, NULL) < 0 || !st.running) {
            /* One more pass after the exit: output may land just after the status. */
            if (quiet_after_exit || (st.stdout_bytes <= off[0] && st.stderr_bytes <= off[1])) {
                ws_send_close(fd, 1000, "");
                return;
            }
            quiet_after_exit = true;
            continue;
        }
        /* Wait a little, answering the client's pings or noticing its close. */
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 100) > 0) {
            uint8_t buf[256];
            size_t len;
            int op = ws_recv(fd, buf, sizeof(buf), &len, 0);
            if (op == WS_CLOSE || op < 0) {
                if (op == WS_CLOSE)
                    ws_send_close(fd, 1000, "");
                return;
            }
        }
    }
}

int dtn_session_logs(struct http_req *req)
{
    struct cove_err err = {0};
    struct sandbox *sb;
    const char *cid = http_req_param(req, "cid"), *follow = http_req_query(req, "follow");
    const char *upgrade = http_req_header(req, "Upgrade");
    json_t *o;

    if (dtn_lookup(req, &sb) < 0)
        return 0;
    o = command_dto(sb, cid, &err);
    if (!o) {
        session_err(req, &err);
        sandbox_unref(sb);
        return 0;
    }
    json_decref(o);
    if (follow && !strcmp(follow, "true") && upgrade && !strcasecmp(upgrade, "websocket")) {
        struct follow *f = calloc(1, sizeof(*f));
        if (!f) {
            sandbox_unref(sb);
            return dtn_reply_error(req, 500, "INTERNAL_SERVER_ERROR", NULL, "out of memory");
        }
        f->sb = sb;
        snprintf(f->cid, sizeof(f->cid), "%s", cid);
        sandbox_busy(sb, 1);
        return http_reply_websocket(req, NULL, follow_ws, f, follow_free);
    }
    o = logs_dto(sb, cid);
    sandbox_unref(sb);
    return http_reply_json(req, 200, o);
}

int dtn_session_input(struct http_req *req)
{
    struct cove_err err = {0};
    struct sandbox *sb;
    json_t *body = http_req_json(req), *data;
    int r;

    if (!body)
        return 0;
    data = json_object_get(body, "data");
    if (!json_is_string(data)) {
        json_decref(body);
        return dtn_reply_error(req, 400, "BAD_REQUEST", DTN_SOURCE_DAEMON, "data must be a string");
    }
    if (dtn_lookup(req, &sb) < 0) {
        json_decref(body);
        return 0;
    }
    r = session_input(sb, http_req_param(req, "cid"), json_string_value(data),
                      json_string_length(data), false, &err);
    json_decref(body);
    r = r < 0 ? session_err(req, &err) : http_reply_empty(req, 204);
    sandbox_unref(sb);
    return r;
}
