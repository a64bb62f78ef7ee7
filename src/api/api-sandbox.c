/* /v1 sandbox routes: create, list, get, delete, start, stop, plus auth and health. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/daytona.h"
#include "base/limits.h"
#include "base/parse.h"
#include "exec/context.h"
#include "exec/session.h"
#include "sandbox/cgroup.h"
#include "sandbox/image.h"
#include "store/store.h"

int api_auth(const char *token, void *userdata, void **ret_principal)
{
    struct key_info k;
    struct api_principal *p;

    if (!token || store_key_verify(sandbox_store(), token, &k) < 0)
        return -EACCES;
    p = calloc(1, sizeof(*p));
    if (!p)
        return -ENOMEM;
    snprintf(p->org, sizeof(p->org), "%s", k.org);
    snprintf(p->key_id, sizeof(p->key_id), "%s", k.id);
    p->admin = k.admin;
    *ret_principal = p;
    return 0;
}

void api_principal_free(void *p)
{
    free(p);
}

const char *api_org(struct http_req *req)
{
    struct api_principal *p = http_req_principal(req);
    return p ? p->org : "default";
}

int api_lookup(struct http_req *req, struct sandbox **ret)
{
    struct cove_err err = {0};
    const char *id = http_req_param(req, "id");
    int r;

    if (!id)
        return http_reply_error(req, 400, "BAD_REQUEST", "missing sandbox id"), -EINVAL;
    r = sandbox_lookup(api_org(req), id, ret, &err);
    if (r < 0) {
        api_reply_err(req, &err);
        return r;
    }
    sandbox_touch(*ret);
    return 0;
}

json_t *api_body_on_sandbox(struct http_req *req, const char *const *allowed, struct sandbox **ret)
{
    json_t *body = http_req_json(req);

    if (body && (api_check_fields(req, body, allowed) < 0 || api_lookup(req, ret) < 0)) {
        json_decref(body);
        return NULL;
    }
    return body;
}

json_t *api_sandbox_json(struct sandbox *sb)
{
    struct sandbox_rec r;
    struct egress_policy net;
    char c[40], u[40], a[40];
    json_t *o, *labels, *env;

    sandbox_snapshot(sb, &r);
    (void)egress_policy_from_string(r.network_json, &net);
    api_iso_time(r.created_at, c, sizeof(c));
    api_iso_time(r.updated_at, u, sizeof(u));
    api_iso_time(r.last_activity, a, sizeof(a));
    labels = json_loads(r.labels_json ? r.labels_json : "{}", 0, NULL);
    env = json_loads(r.env_json ? r.env_json : "{}", 0, NULL);
    o = json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:f, s:i, s:i, s:i, s:i, s:s, s:s, s:s, "
                  "s:s, s:s, s:s, s:o}",
                  "id", r.id, "name", r.name, "image", r.image, "state", r.state, "labels",
                  labels ? labels : json_object(), "env", env ? env : json_object(), "cpu",
                  r.cpu_milli / 1000.0, "memory_mib", (json_int_t)r.memory_mib, "disk_mib",
                  (json_int_t)r.disk_mib, "pids", (json_int_t)r.pids, "auto_stop_minutes",
                  (json_int_t)r.auto_stop_min, "network", egress_mode_to_string(net.mode), "user",
                  SANDBOX_USER, "workdir", SANDBOX_HOME, "created_at", c, "updated_at", u,
                  "last_activity_at", a, "error_reason",
                  r.error_reason ? json_string(r.error_reason) : json_null());
    if (o && net.mode == EGRESS_ALLOW) {
        json_t *nj = egress_policy_to_json(&net);
        json_t *cidrs = json_object_get(nj, "allow_cidrs");
        json_t *domains = json_object_get(nj, "allow_domains");
        if (cidrs)
            json_object_set(o, "network_allow_cidrs", cidrs);
        if (domains)
            json_object_set(o, "network_allow_domains", domains);
        json_decref(nj);
    }
    store_sandbox_rec_free(&r);
    return o;
}

int api_health(struct http_req *req)
{
    const struct cgroup_ops *cg = cgroup_ops();
    return http_reply_json(req, 200,
                           json_pack("{s:s, s:s, s:s}", "status", "ok", "version", COVE_VERSION,
                                     "cgroup", cg ? cg->name : "none"));
}

int api_sandbox_create(struct http_req *req)
{
    struct sandbox_spec spec;
    struct cove_err err = {0};
    struct sandbox *sb;
    json_t *body = http_req_json(req);
    int r;

    if (!body)
        return 0;
    sandbox_spec_init(&spec);
    r = sandbox_spec_from_json(body, &spec, &err);
    json_decref(body);
    if (r >= 0)
        r = sandbox_create(&spec, api_org(req), &sb, &err);
    sandbox_spec_done(&spec);
    if (r < 0)
        return api_reply_err(req, &err);
    r = http_reply_json(req, 201, api_sandbox_json(sb));
    sandbox_unref(sb);
    return r;
}

struct list_ctx {
    json_t *arr;
    const char *keys[COVE_MAX_LABELS];
    char *vals[COVE_MAX_LABELS];
    size_t n;
};

static int list_one(struct sandbox *sb, void *ud)
{
    struct list_ctx *c = ud;
    struct sandbox_rec r;
    bool match = true;

    if (c->n) {
        sandbox_snapshot(sb, &r);
        json_t *labels = json_loads(r.labels_json ? r.labels_json : "{}", 0, NULL);
        for (size_t i = 0; i < c->n && match; i++) {
            const char *v = json_string_value(json_object_get(labels, c->keys[i]));
            match = v && !strcmp(v, c->vals[i]);
        }
        json_decref(labels);
        store_sandbox_rec_free(&r);
    }
    if (match)
        json_array_append_new(c->arr, api_sandbox_json(sb));
    return 0;
}

int api_sandbox_list(struct http_req *req)
{
    const char *raw[COVE_MAX_LABELS];
    struct list_ctx c = {.arr = json_array()};
    size_t n = http_req_query_all(req, "label", raw, COVE_MAX_LABELS);

    for (size_t i = 0; i < n; i++) {
        const char *eq = strchr(raw[i], '=');
        if (!eq || eq == raw[i]) {
            for (size_t j = 0; j < c.n; j++)
                free(c.vals[j]), free((char *)c.keys[j]);
            json_decref(c.arr);
            return http_reply_error(req, 400, "BAD_REQUEST",
                                    "label filter must be key=value, got '%s'", raw[i]);
        }
        c.keys[c.n] = strndup(raw[i], (size_t)(eq - raw[i]));
        c.vals[c.n++] = strdup(eq + 1);
    }
    sandbox_foreach(api_org(req), list_one, &c);
    for (size_t j = 0; j < c.n; j++)
        free(c.vals[j]), free((char *)c.keys[j]);
    return http_reply_json(req, 200, json_pack("{s:o}", "sandboxes", c.arr));
}

int api_sandbox_get(struct http_req *req)
{
    struct sandbox *sb;
    int r;

    if (api_lookup(req, &sb) < 0)
        return 0;
    r = http_reply_json(req, 200, api_sandbox_json(sb));
    sandbox_unref(sb);
    return r;
}

int api_sandbox_delete(struct http_req *req)
{
    struct cove_err err = {0};
    const char *w = http_req_query(req, "wait");
    struct sandbox *sb;
    bool wait = false;
    int r;

    /* ?wait=true: answer only once everything is released (sandbox.c, teardown). */
    if (w && parse_bool(w, &wait) < 0)
        return http_reply_error(req, 400, "BAD_REQUEST", "'wait' must be true or false");
    if (api_lookup(req, &sb) < 0)
        return 0;
    session_forget_all(sb);
    r = sandbox_delete(sb, wait, &err);
    if (r >= 0) {
        dtn_pty_forget_sandbox(sb);
        context_forget_sandbox(sb);
    }
    if (r < 0)
        r = api_reply_err(req, &err);
    else
        r = http_reply_json(req, 200,
                            json_pack("{s:s, s:s}", "id", sandbox_id(sb), "state", "destroyed"));
    sandbox_unref(sb);
    return r;
}

static int lifecycle(struct http_req *req, int (*fn)(struct sandbox *, struct cove_err *))
{
    struct cove_err err = {0};
    struct sandbox *sb;
    int r;

    if (api_lookup(req, &sb) < 0)
        return 0;
    r = fn(sb, &err);
    r = r < 0 ? api_reply_err(req, &err) : http_reply_json(req, 200, api_sandbox_json(sb));
    sandbox_unref(sb);
    return r;
}

int api_sandbox_start(struct http_req *req)
{
    return lifecycle(req, sandbox_start);
}

/* Stopping kills every process of the sandbox: its PTY shells go too. */
static int stop_and_forget_ptys(struct sandbox *sb, struct cove_err *err)
{
    int r = sandbox_stop(sb, err);

    if (r >= 0) {
        dtn_pty_forget_sandbox(sb);
        context_forget_sandbox(sb);
    }
    return r;
}

int api_sandbox_stop(struct http_req *req)
{
    return lifecycle(req, stop_and_forget_ptys);
}
