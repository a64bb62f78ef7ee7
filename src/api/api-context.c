/* /v1 interpreter contexts: notebook-style kernels whose state persists between cells
 * (docs/API.md, "Interpreter contexts"). A cell answers either with one JSON result or, with
 * `"stream": true`, as chunked NDJSON events while it runs. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "base/buf.h"
#include "base/limits.h"
#include "exec/context.h"
#include "json/json-util.h"

#define STREAM_WAIT_MS 1000 /* how long one read of a stream waits for the cell */

int api_context_create(struct http_req *req)
{
    static const char *const allowed[] = {"language", "cwd", "id", NULL};
    struct cove_err err = {0};
    struct sandbox *sb;
    json_t *body = api_body_on_sandbox(req, allowed, &sb), *lang, *cwd, *id, *o = NULL;
    int r;

    if (!body)
        return 0;
    lang = json_object_get(body, "language");
    cwd = json_object_get(body, "cwd");
    id = json_object_get(body, "id");
    if ((lang && !json_is_string(lang)) || (cwd && !json_is_string(cwd)) ||
        (id && !json_is_string(id)))
        r = cove_err_set(&err, -EINVAL, "'language', 'cwd' and 'id' must be strings");
    else
        r = context_create(sb, json_string_value(lang), json_string_value(cwd),
                           json_string_value(id), false, &o, &err);
    if (r < 0)
        api_reply_err(req, &err);
    else
        http_reply_json(req, 201, o);
    json_decref(body);
    sandbox_unref(sb);
    return 0;
}

int api_context_list(struct http_req *req)
{
    struct sandbox *sb;

    if (api_lookup(req, &sb) < 0)
        return 0;
    http_reply_json(req, 200, json_pack("{s:o}", "contexts", context_list_json(sb)));
    sandbox_unref(sb);
    return 0;
}

int api_context_get(struct http_req *req)
{
    struct cove_err err = {0};
    struct sandbox *sb;
    json_t *o;

    if (api_lookup(req, &sb) < 0)
        return 0;
    o = context_get_json(sb, http_req_param(req, "cid"), &err);
    if (o)
        http_reply_json(req, 200, o);
    else
        api_reply_err(req, &err);
    sandbox_unref(sb);
    return 0;
}

int api_context_delete(struct http_req *req)
{
    struct cove_err err = {0};
    struct sandbox *sb;
    const char *cid = http_req_param(req, "cid");

    if (api_lookup(req, &sb) < 0)
        return 0;
    if (context_delete(sb, cid, &err) < 0)
        api_reply_err(req, &err);
    else
        http_reply_json(req, 200, json_pack("{s:s, s:b}", "id", cid, "deleted", 1));
    sandbox_unref(sb);
    return 0;
}

/* ---- streaming: NDJSON events produced while the cell runs ---- */

struct stream {
    struct context_run *run;
    struct buf pending; /* encoded lines not yet handed to the server */
    size_t sent;
    bool done; /* the final line is in pending */
};

static void stream_line(struct stream *s, json_t *ev)
{
    char *text = ev ? json_dumps(ev, JSON_COMPACT) : NULL;

    if (text) {
        (void)buf_append(&s->pending, text, strlen(text));
        (void)buf_append(&s->pending, "\n", 1);
    }
    free(text);
}

static int stream_output(void *ud, bool is_stderr, const char *data, size_t len)
{
    json_t *ev = json_pack("{s:s, s:o}", "type", is_stderr ? "stderr" : "stdout", "text",
                           json_string_lossy(data, len));
    stream_line(ud, ev);
    json_decref(ev);
    return 0;
}

static int stream_event(void *ud, json_t *ev)
{
    stream_line(ud, ev);
    return 0;
}

static long stream_read(void *ctx, uint64_t pos, char *out, size_t max)
{
    struct stream *s = ctx;
    const struct context_sink sink = {s, stream_output, stream_event};

    (void)pos;
    while (s->sent == s->pending.len) {
        if (s->done)
            return -1;
        buf_reset(&s->pending);
        s->sent = 0;
        if (context_run_step(s->run, STREAM_WAIT_MS, &sink) == 1) {
            json_t *fin = context_result_json(context_run_result(s->run));
            /* The output went out as it came: the final line carries the rest. */
            json_object_del(fin, "stdout");
            json_object_del(fin, "stderr");
            json_object_set_new(fin, "type", json_string("done"));
            stream_line(s, fin);
            json_decref(fin);
            s->done = true;
        }
    }
    size_t n = s->pending.len - s->sent;
    if (n > max)
        n = max;
    memcpy(out, s->pending.data + s->sent, n);
    s->sent += n;
    return (long)n;
}

static void stream_free(void *ctx)
{
    struct stream *s = ctx;

    context_run_end(s->run);
    buf_free(&s->pending);
    free(s);
}

int api_context_run(struct http_req *req)
{
    static const char *const allowed[] = {"code",   "timeout",          "env",
                                          "stream", "max_output_bytes", NULL};
    struct cove_err err = {0};
    struct context_run *run = NULL;
    struct sandbox *sb;
    json_t *body = api_body_on_sandbox(req, allowed, &sb), *code, *to, *env, *stream, *mo;
    uint64_t timeout_ms = 0;
    size_t max_output = COVE_DEFAULT_OUTPUT_CAP;
    int r;

    if (!body)
        return 0;
    code = json_object_get(body, "code");
    to = json_object_get(body, "timeout");
    env = json_object_get(body, "env");
    stream = json_object_get(body, "stream");
    mo = json_object_get(body, "max_output_bytes");
    if (!json_is_string(code))
        r = cove_err_set(&err, -EINVAL, "'code' must be a string");
    else if (to &&
             (!json_is_number(to) || !isfinite(json_number_value(to)) ||
              json_number_value(to) <= 0 || json_number_value(to) * 1000 > COVE_MAX_TIMEOUT_MS))
        r = cove_err_set(&err, -EINVAL, "'timeout' must be a number of seconds, 0 < t <= %llu",
                         (unsigned long long)COVE_MAX_TIMEOUT_MS / 1000);
    else if (env && (r = sandbox_string_map_valid(env, "env", COVE_MAX_ENV, COVE_MAX_LABEL_KEY,
                                                  COVE_MAX_ENV_BYTES, &err)) < 0)
        ;
    else if (stream && !json_is_boolean(stream))
        r = cove_err_set(&err, -EINVAL, "'stream' must be a boolean");
    else if (mo && (!json_is_integer(mo) || json_integer_value(mo) < 0 ||
                    json_integer_value(mo) > COVE_MAX_OUTPUT_CAP))
        r = cove_err_set(&err, -EINVAL, "'max_output_bytes' must be an integer, 0 to %u",
                         COVE_MAX_OUTPUT_CAP);
    else
        r = 0;
    if (r == 0) {
        if (to)
            timeout_ms = (uint64_t)ceil(json_number_value(to) * 1000);
        if (mo && json_integer_value(mo) > 0)
            max_output = (size_t)json_integer_value(mo);
        r = context_run_begin(sb, http_req_param(req, "cid"), json_string_value(code),
                              json_string_length(code), env, timeout_ms, max_output, &run, &err);
    }
    if (r < 0) {
        api_reply_err(req, &err);
    } else if (json_is_true(stream)) {
        struct stream *s = calloc(1, sizeof(*s));
        if (!s) {
            context_run_end(run);
            http_reply_error(req, 500, "INTERNAL_ERROR", "out of memory");
        } else {
            s->run = run;
            buf_init(&s->pending, SIZE_MAX / 2);
            http_reply_stream(req, 200, "application/x-ndjson", stream_read, s, stream_free);
        }
    } else {
        while (context_run_step(run, -1, NULL) == 0)
            ;
        http_reply_json(req, 200, context_result_json(context_run_result(run)));
        context_run_end(run);
    }
    json_decref(body);
    sandbox_unref(sb);
    return 0;
}
