/* /v1 sessions: persistent shells and their commands (docs/API.md, "Sessions"). */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "base/limits.h"
#include "base/parse.h"
#include "exec/session.h"
#include "json/json-util.h"

static int reply_or(struct http_req *req, int r, struct cove_err *err, unsigned status, json_t *o)
{
    if (r < 0) {
        json_decref(o);
        return api_reply_err(req, err);
    }
    return http_reply_json(req, status, o);
}

int api_session_create(struct http_req *req)
{
    static const char *const allowed[] = {"id", NULL};
    char id[SESSION_ID_MAX + 1];
    struct cove_err err = {0};
    struct sandbox *sb;
    json_t *body = api_body_on_sandbox(req, allowed, &sb), *v;
    int r;

    if (!body)
        return 0;
    v = json_object_get(body, "id");
    if (v && !json_is_string(v))
        r = cove_err_set(&err, -EINVAL, "'id' must be a string");
    else
        r = session_create(sb, v ? json_string_value(v) : NULL, id, &err);
    json_t *o = r < 0 ? NULL : session_json(sb, id, &err);
    reply_or(req, r, &err, 201, o);
    json_decref(body);
    sandbox_unref(sb);
    return 0;
}

int api_session_list(struct http_req *req)
{
    struct sandbox *sb;

    if (api_lookup(req, &sb) < 0)
        return 0;
    http_reply_json(req, 200, json_pack("{s:o}", "sessions", session_list_json(sb)));
    sandbox_unref(sb);
    return 0;
}

int api_session_get(struct http_req *req)
{
    struct cove_err err = {0};
    struct sandbox *sb;

    if (api_lookup(req, &sb) < 0)
        return 0;
    json_t *o = session_json(sb, http_req_param(req, "sid"), &err);
    reply_or(req, o ? 0 : -1, &err, 200, o);
    sandbox_unref(sb);
    return 0;
}

int api_session_delete(struct http_req *req)
{
    struct cove_err err = {0};
    struct sandbox *sb;
    int r;

    if (api_lookup(req, &sb) < 0)
        return 0;
    r = session_delete(sb, http_req_param(req, "sid"), &err);
    reply_or(req, r, &err, 200,
             json_pack("{s:s, s:b}", "id", http_req_param(req, "sid"), "deleted", 1));
    sandbox_unref(sb);
    return 0;
}

int api_session_exec(struct http_req *req)
{
    static const char *const allowed[] = {"command", "async", "timeout", "max_output_bytes", NULL};
    struct cove_err err = {0};
    struct exec_result res;
    struct sandbox *sb;
    char cid[37];
    json_t *body = http_req_json(req), *cmd, *async, *to, *mo;
    uint64_t timeout_ms = 0;
    size_t max_output = COVE_DEFAULT_OUTPUT_CAP;
    int r;

    if (!body)
        return 0;
    if (api_check_fields(req, body, allowed) < 0) {
        json_decref(body);
        return 0;
    }
    cmd = json_object_get(body, "command");
    async = json_object_get(body, "async");
    to = json_object_get(body, "timeout");
    mo = json_object_get(body, "max_output_bytes");
    if (!json_is_string(cmd) || json_string_length(cmd) == 0 ||
        json_string_length(cmd) > COVE_MAX_ARGV_BYTES ||
        memchr(json_string_value(cmd), 0, json_string_length(cmd)) ||
        (async && !json_is_boolean(async)) ||
        (to &&
         (!json_is_number(to) || !isfinite(json_number_value(to)) || json_number_value(to) <= 0 ||
          json_number_value(to) * 1000 > COVE_MAX_TIMEOUT_MS)) ||
        (mo && (!json_is_integer(mo) || json_integer_value(mo) < 0 ||
                json_integer_value(mo) > COVE_MAX_OUTPUT_CAP))) {
        json_decref(body);
        return http_reply_error(req, 400, "BAD_REQUEST",
                                "want {command: non-empty string, async?: bool, timeout?: "
                                "seconds (0 < t <= 86400), max_output_bytes?: 0..16777216}");
    }
    if (to)
        timeout_ms = (uint64_t)llround(json_number_value(to) * 1000);
    if (mo)
        max_output = (size_t)json_integer_value(mo);
    if (api_lookup(req, &sb) < 0) {
        json_decref(body);
        return 0;
    }
    exec_result_init(&res, max_output);
    r = session_exec(sb, http_req_param(req, "sid"), json_string_value(cmd), json_is_true(async),
                     timeout_ms, max_output, cid, &res, &err);
    if (r < 0) {
        api_reply_err(req, &err);
    } else if (json_is_true(async)) {
        http_reply_json(req, 202, json_pack("{s:s, s:b}", "id", cid, "running", 1));
    } else {
        json_t *o = exec_result_json(&res);
        json_object_set_new(o, "id", json_string(cid));
        http_reply_json(req, 200, o);
    }
    exec_result_done(&res);
    json_decref(body);
    sandbox_unref(sb);
    return 0;
}

static json_t *status_json(const char *cid, const struct session_cmd_status *st)
{
    json_t *o = json_pack("{s:s, s:b, s:b, s:I, s:I}", "id", cid, "running", st->running, "lost",
                          st->lost, "stdout_bytes", (json_int_t)st->stdout_bytes, "stderr_bytes",
                          (json_int_t)st->stderr_bytes);
    json_object_set_new(o, "exit_code", st->finished ? json_integer(st->exit_code) : json_null());
    json_object_set_new(o, "timed_out", json_boolean(st->timed_out));
    json_object_set_new(
        o, "signal",
        st->signal
            ? json_sprintf("SIG%s", sigabbrev_np(st->signal) ? sigabbrev_np(st->signal) : "UNKNOWN")
            : json_null());
    return o;
}

int api_command_get(struct http_req *req)
{
    struct session_cmd_status st;
    struct cove_err err = {0};
    struct sandbox *sb;
    const char *cid = http_req_param(req, "cid");
    int r;

    if (api_lookup(req, &sb) < 0)
        return 0;
    r = session_command_status(sb, cid, &st, &err);
    reply_or(req, r, &err, 200, r < 0 ? NULL : status_json(cid, &st));
    sandbox_unref(sb);
    return 0;
}

/* ---- logs ---- */

struct follow {
    struct sandbox *sb;
    char cid[37];
    uint64_t off[2];
    bool done;
};

static void follow_free(void *p)
{
    struct follow *f = p;
    sandbox_busy(f->sb, -1);
    sandbox_unref(f->sb);
    free(f);
}

/* Server-sent events: "event: stdout|stderr" with the bytes as a JSON string, then one
 * "event: exit" with the status, then the end of the stream. */
static long follow_read(void *ctx, uint64_t pos, char *out, size_t max)
{
    struct follow *f = ctx;
    static const char *const names[] = {"stdout", "stderr"};
    struct session_cmd_status st;
    char chunk[16384];

    if (f->done)
        return -1;
    for (int s = 0; s < 2; s++) {
        size_t want = max / 8 < sizeof(chunk) ? max / 8 : sizeof(chunk);
        long n = session_log_read(f->sb, f->cid, (enum session_stream)s, f->off[s], chunk, want);
        if (n <= 0)
            continue;
        if (json_utf8_whole(chunk, (size_t)n) > 0) {
            n = (long)json_utf8_whole(chunk, (size_t)n);
        } else if (session_command_status(f->sb, f->cid, &st, NULL) == 0 && st.running) {
            continue; /* only part of a character so far: wait for the rest */
        }
        long len = json_sse_text_event(out, max, names[s], chunk, (size_t)n);
        if (len < 0)
            return -2;
        f->off[s] += (uint64_t)n;
        sandbox_touch(f->sb);
        return len;
    }
    if (session_command_status(f->sb, f->cid, &st, NULL) < 0 || !st.running) {
        /* Output written just before the exit may have landed after our read. */
        if (st.stdout_bytes > f->off[0] || st.stderr_bytes > f->off[1])
            return 0;
        json_t *sj = status_json(f->cid, &st);
        char *enc = json_dumps(sj, JSON_COMPACT);
        json_decref(sj);
        int len = snprintf(out, max, "event: exit\ndata: %s\n\n", enc ? enc : "{}");
        free(enc);
        f->done = true;
        return len > 0 && (size_t)len < max ? len : -2;
    }
    return 0; /* nothing new yet: the server waits and asks again */
}

int api_command_logs(struct http_req *req)
{
    struct session_cmd_status st;
    struct cove_err err = {0};
    struct sandbox *sb;
    const char *cid = http_req_param(req, "cid"), *follow = http_req_query(req, "follow");
    uint64_t off[2] = {0, 0};
    const char *names[2] = {"stdout_offset", "stderr_offset"};
    bool fol = false;

    if (follow && parse_bool(follow, &fol) < 0)
        return http_reply_error(req, 400, "BAD_REQUEST", "follow must be true or false");
    for (int s = 0; s < 2; s++) {
        const char *q = http_req_query(req, names[s]);
        if (q && parse_u64(q, &off[s]) < 0)
            return http_reply_error(req, 400, "BAD_REQUEST", "%s must be a byte offset", names[s]);
    }
    if (api_lookup(req, &sb) < 0)
        return 0;
    if (session_command_status(sb, cid, &st, &err) < 0) {
        api_reply_err(req, &err);
        sandbox_unref(sb);
        return 0;
    }
    if (fol) {
        struct follow *f = calloc(1, sizeof(*f));
        if (!f) {
            sandbox_unref(sb);
            return http_reply_error(req, 500, "INTERNAL_ERROR", "out of memory");
        }
        f->sb = sb;
        snprintf(f->cid, sizeof(f->cid), "%s", cid);
        f->off[0] = off[0], f->off[1] = off[1];
        sandbox_busy(sb, 1); /* an open log stream is activity */
        http_req_add_header(req, "Cache-Control", "no-cache");
        return http_reply_stream(req, 200, "text/event-stream", follow_read, f, follow_free);
    }
    json_t *o = status_json(cid, &st);
    for (int s = 0; s < 2; s++) {
        uint64_t size = s ? st.stderr_bytes : st.stdout_bytes;
        size_t want = size > off[s] ? (size_t)(size - off[s]) : 0;
        if (want > COVE_MAX_OUTPUT_CAP)
            want = COVE_MAX_OUTPUT_CAP;
        char *buf = malloc(want + 1);
        long n = buf ? session_log_read(sb, cid, (enum session_stream)s, off[s], buf, want) : 0;
        /* More may follow (still running, or capped): end on a whole character. */
        if (n > 0 && (st.running || (uint64_t)n < size - off[s]))
            n = (long)json_utf8_whole(buf, (size_t)n);
        json_object_set_new(o, s ? "stderr" : "stdout",
                            json_string_lossy(buf ? buf : "", n > 0 ? (size_t)n : 0));
        json_object_set_new(o, names[s], json_integer((json_int_t)(off[s] + (n > 0 ? n : 0))));
        free(buf);
    }
    http_reply_json(req, 200, o);
    sandbox_unref(sb);
    return 0;
}

int api_command_input(struct http_req *req)
{
    static const char *const allowed[] = {"data", "eof", NULL};
    struct cove_err err = {0};
    struct sandbox *sb;
    json_t *body = http_req_json(req), *data, *eof;
    int r;

    if (!body)
        return 0;
    data = json_object_get(body, "data");
    eof = json_object_get(body, "eof");
    if (api_check_fields(req, body, allowed) < 0) {
        json_decref(body);
        return 0;
    }
    if ((data && !json_is_string(data)) || (eof && !json_is_boolean(eof)) || (!data && !eof)) {
        json_decref(body);
        return http_reply_error(req, 400, "BAD_REQUEST", "want {data?: string, eof?: bool}");
    }
    if (api_lookup(req, &sb) < 0) {
        json_decref(body);
        return 0;
    }
    r = session_input(sb, http_req_param(req, "cid"), data ? json_string_value(data) : "",
                      data ? json_string_length(data) : 0, json_is_true(eof), &err);
    reply_or(req, r, &err, 200, json_pack("{s:i}", "written", (json_int_t)(r < 0 ? 0 : r)));
    json_decref(body);
    sandbox_unref(sb);
    return 0;
}

int api_command_signal(struct http_req *req)
{
    static const char *const allowed[] = {"signal", NULL};
    struct cove_err err = {0};
    struct sandbox *sb;
    json_t *body = http_req_json(req), *v;
    int sig = SIGTERM, r;

    if (!body)
        return 0;
    if (api_check_fields(req, body, allowed) < 0) {
        json_decref(body);
        return 0;
    }
    v = json_object_get(body, "signal");
    if (json_is_integer(v)) {
        sig = (int)json_integer_value(v);
    } else if (json_is_string(v)) {
        const char *n = json_string_value(v);
        sig = -1;
        if (!strncmp(n, "SIG", 3))
            n += 3;
        for (int s = 1; s < NSIG; s++)
            if (sigabbrev_np(s) && !strcmp(sigabbrev_np(s), n))
                sig = s;
    }
    json_decref(body);
    if (sig < 1 || sig >= NSIG)
        return http_reply_error(req, 400, "BAD_REQUEST",
                                "'signal' must be a signal name such as \"TERM\" or a number");
    if (api_lookup(req, &sb) < 0)
        return 0;
    r = session_signal(sb, http_req_param(req, "cid"), sig, &err);
    reply_or(req, r, &err, 200,
             json_pack("{s:s, s:i}", "id", http_req_param(req, "cid"), "signal", sig));
    sandbox_unref(sb);
    return 0;
}
