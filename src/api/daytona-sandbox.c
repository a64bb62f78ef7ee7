/* Daytona control plane (/api/sandbox...): create, get, list, start, stop, delete, labels,
 * lifecycle intervals, toolbox-proxy-url and config.
 *
 * Every lifecycle call is synchronous: it answers 200 with the full Sandbox DTO in its final
 * state, so the SDKs never poll and never need the socket.io event stream (which coved does
 * not serve; its path simply 404s and the SDKs fall back to polling).
 *
 * Create accepts the body both SDKs send. Fields cove cannot honour are refused with a 400
 * that says why (image builds, GPUs, volumes, secrets); fields that only describe policy
 * cove has no counterpart for are stored and echoed (public, target, autoArchiveInterval,
 * autoPauseInterval, ttlMinutes, networkAllowList). Unknown fields are ignored, as a newer
 * SDK may send more. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/daytona.h"
#include "base/limits.h"
#include "base/parse.h"
#include "exec/context.h"
#include "sandbox/image.h"
#include "store/store.h"

/* ---- create ---- */

/* A JSON member that is absent or null counts as absent. */
static json_t *member(json_t *body, const char *key)
{
    json_t *v = json_object_get(body, key);
    return json_is_null(v) ? NULL : v;
}

/* 400 naming the field: "'<field>' <why>". */
static int bad(struct cove_err *err, const char *field, const char *why)
{
    return cove_err_set(err, -EINVAL, "'%s' %s", field, why);
}

/* An integer member within [min, max]; absent leaves *ret alone. */
static int int_member(json_t *body, const char *key, double min, double max, int32_t *ret,
                      struct cove_err *err)
{
    json_t *v = member(body, key);
    double d;

    if (!v)
        return 0;
    d = json_number_value(v);
    if (!json_is_number(v) || d != floor(d) || d < min || d > max)
        return cove_err_set(err, -EINVAL, "'%s' must be an integer between %.0f and %.0f", key, min,
                            max);
    *ret = (int32_t)d;
    return 0;
}

/* Resources: cpu in cores, memory and disk in GB (GiB). */
static int parse_resources(json_t *body, struct sandbox_spec *spec, struct cove_err *err)
{
    json_t *v;
    double d;

    if ((v = member(body, "cpu"))) {
        d = json_number_value(v);
        if (!json_is_number(v) || d < 0.01 || d > COVE_MAX_CPU_MILLI / 1000.0)
            return bad(err, "cpu", "must be a number of cores between 0.01 and 64");
        spec->cpu_milli = (uint32_t)lround(d * 1000);
    }
    if ((v = member(body, "memory"))) {
        d = json_number_value(v) * 1024;
        if (!json_is_number(v) || d < COVE_MIN_MEMORY_MIB || d > COVE_MAX_MEMORY_MIB)
            return bad(err, "memory", "must be a number of GB between 1/64 and 256");
        spec->memory_mib = (uint32_t)lround(d);
    }
    if ((v = member(body, "disk"))) {
        d = json_number_value(v) * 1024;
        if (!json_is_number(v) || d < COVE_MIN_DISK_MIB || d > COVE_MAX_DISK_MIB)
            return bad(err, "disk", "must be a number of GB between 1/16 and 1024");
        spec->disk_mib = (uint32_t)lround(d);
    }
    v = member(body, "gpu");
    if (v && (!json_is_number(v) || json_number_value(v) != 0))
        return bad(err, "gpu", "is not available: cove sandboxes have no GPUs");
    return 0;
}

/* Refuse what cove cannot do, with the reason. */
static int refuse_unsupported(json_t *body, struct cove_err *err)
{
    json_t *v;

    if (member(body, "buildInfo") || member(body, "image"))
        return cove_err_setk(err, -EINVAL, "IMAGE_BUILD_UNSUPPORTED",
                             "cove cannot build images from a Dockerfile or Image: create from "
                             "the snapshot 'base' (or omit snapshot and image)");
    if ((v = member(body, "volumes")) && (!json_is_array(v) || json_array_size(v) > 0))
        return bad(err, "volumes", "is not supported by cove: send [] or omit it");
    if ((v = member(body, "secrets")) && (!json_is_array(v) || json_array_size(v) > 0))
        return bad(err, "secrets", "is not supported by cove: pass values through env");
    if ((v = member(body, "user")) &&
        (!json_is_string(v) ||
         (strcmp(json_string_value(v), SANDBOX_USER) && strcmp(json_string_value(v), "daytona"))))
        return bad(err, "user", "is not available: cove sandboxes have one user, 'cove'");
    return 0;
}

/* snapshot: absent, "base" (or any installed image), or one of Daytona's default snapshot
 * names, which all mean cove's base image. */
static int parse_snapshot(json_t *body, struct sandbox_spec *spec, json_t *extra,
                          struct cove_err *err)
{
    json_t *v = member(body, "snapshot");
    const char *s;

    if (!v)
        return 0;
    s = json_string_value(v);
    if (!s || strlen(s) >= sizeof(spec->image))
        return bad(err, "snapshot", "must be a snapshot name");
    if (!s[0])
        return 0;
    if (image_exists(s)) {
        snprintf(spec->image, sizeof(spec->image), "%s", s);
    } else if (strncmp(s, "daytonaio/sandbox", 17) && strncmp(s, "daytona-", 8)) {
        return cove_err_setk(err, -EINVAL, "SNAPSHOT_NOT_FOUND",
                             "snapshot '%s' not found: cove has the snapshot 'base' (Daytona's "
                             "default snapshot names are accepted as aliases of it)",
                             s);
    }
    json_object_set(extra, "snapshot", v);
    return 0;
}

/* Labels: object of strings, with the code-run language validated and defaulted. */
static int parse_labels(json_t *body, struct sandbox_spec *spec, struct cove_err *err)
{
    json_t *v = member(body, "labels");
    const char *lang;
    int r;

    spec->labels = v ? json_deep_copy(v) : json_object();
    if (!spec->labels)
        return bad(err, "labels", "must be an object of strings");
    r = sandbox_string_map_valid(spec->labels, "labels", COVE_MAX_LABELS, COVE_MAX_LABEL_KEY,
                                 COVE_MAX_LABEL_VALUE, err);
    if (r < 0)
        return r;
    lang = json_string_value(json_object_get(spec->labels, DTN_LANGUAGE_LABEL));
    if (!lang)
        return json_object_set_new(spec->labels, DTN_LANGUAGE_LABEL,
                                   json_string(DTN_DEFAULT_LANGUAGE));
    if (strcmp(lang, "python") && strcmp(lang, "javascript") && strcmp(lang, "typescript"))
        return cove_err_set(err, -EINVAL,
                            "label %s must be python, javascript or typescript, not '%s'",
                            DTN_LANGUAGE_LABEL, lang);
    return 0;
}

/* Policy fields with no cove counterpart: validated, then kept in extra for the DTO. */
static int parse_policy(json_t *body, json_t *extra, struct cove_err *err)
{
    static const char *const ints[] = {"autoArchiveInterval", "autoPauseInterval", "ttlMinutes"};
    static const char *const strs[] = {"target", "networkAllowList", "domainAllowList"};
    json_t *v;

    for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
        int32_t m = 0;
        if (!member(body, ints[i]))
            continue;
        if (int_member(body, ints[i], 0, COVE_MAX_AUTOSTOP_MIN, &m, err) < 0)
            return -EINVAL;
        json_object_set_new(extra, ints[i], json_integer(m));
    }
    for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
        v = member(body, strs[i]);
        if (v && (!json_is_string(v) || json_string_length(v) > 4096))
            return bad(err, strs[i], "must be a string");
        if (v)
            json_object_set(extra, strs[i], v);
    }
    if ((v = member(body, "public"))) {
        if (!json_is_boolean(v))
            return bad(err, "public", "must be true or false");
        json_object_set(extra, "public", v);
    }
    v = member(body, "networkBlockAll");
    if (v && !json_is_boolean(v))
        return bad(err, "networkBlockAll", "must be true or false");
    return 0;
}

/* networkBlockAll / networkAllowList / domainAllowList -> the egress policy (egress.h). */
static int parse_network(json_t *body, struct sandbox_spec *spec, struct cove_err *err)
{
    return egress_policy_from_daytona(member(body, "networkBlockAll"),
                                      member(body, "networkAllowList"),
                                      member(body, "domainAllowList"), &spec->network, err);
}

static int parse_create(json_t *body, struct sandbox_spec *spec, struct cove_err *err)
{
    json_t *v;
    int32_t del = -1;
    int r;

    spec->extra = json_object();
    if (!spec->extra)
        return cove_err_set(err, -ENOMEM, "out of memory");
    if ((r = refuse_unsupported(body, err)) < 0 ||
        (r = parse_snapshot(body, spec, spec->extra, err)) < 0 ||
        (r = parse_labels(body, spec, err)) < 0 || (r = parse_resources(body, spec, err)) < 0 ||
        (r = parse_policy(body, spec->extra, err)) < 0 || (r = parse_network(body, spec, err)) < 0)
        return r;
    if ((v = member(body, "name"))) {
        if (!json_is_string(v) || sandbox_name_valid(json_string_value(v)) < 0)
            return bad(err, "name",
                       "may contain only letters, digits, '.', '_' and '-' (1-63 chars), and must "
                       "not start with '.' or '-'");
        snprintf(spec->name, sizeof(spec->name), "%s", json_string_value(v));
    }
    if ((v = member(body, "env"))) {
        r = sandbox_string_map_valid(v, "env", COVE_MAX_ENV, COVE_MAX_LABEL_KEY, COVE_MAX_ENV_BYTES,
                                     err);
        if (r < 0)
            return r;
        spec->env = json_deep_copy(v);
    }
    if (int_member(body, "autoStopInterval", 0, COVE_MAX_AUTOSTOP_MIN, &spec->auto_stop_min, err) <
            0 ||
        int_member(body, "autoDeleteInterval", -1e9, COVE_MAX_AUTOSTOP_MIN, &del, err) < 0)
        return -EINVAL;
    /* Daytona: any negative value disables auto-delete; 0 deletes on stop (ephemeral). */
    spec->auto_delete_min = del < 0 ? -1 : del;
    return 0;
}

int dtn_sandbox_create(struct http_req *req)
{
    struct sandbox_spec spec;
    struct cove_err err = {0};
    struct sandbox *sb;
    size_t len = 0;
    json_t *body;
    int r;

    /* An empty body means defaults, like /v1. */
    http_req_body(req, &len);
    body = len ? http_req_json(req) : json_object();
    if (!body)
        return 0;
    if (!json_is_object(body)) {
        json_decref(body);
        return dtn_reply_error(req, 400, "BAD_REQUEST", NULL, "the body must be a JSON object");
    }
    sandbox_spec_init(&spec);
    r = parse_create(body, &spec, &err);
    json_decref(body);
    if (r >= 0)
        r = sandbox_create(&spec, api_org(req), &sb, &err);
    sandbox_spec_done(&spec);
    if (r < 0)
        return dtn_reply_err(req, &err, false);
    r = http_reply_json(req, 200, dtn_sandbox_json(req, sb, false));
    sandbox_unref(sb);
    return r;
}

/* ---- list ---- */

struct list_ctx {
    struct http_req *req;
    json_t *labels; /* filter: object of strings, or NULL */
    const char *states[16];
    size_t n_states;
    const char *name, *id;
    struct sandbox **v;
    size_t n, cap;
};

static bool list_match(struct list_ctx *c, struct sandbox *sb)
{
    struct sandbox_rec r;
    bool ok = true;
    json_t *labels = NULL;
    const char *k;
    json_t *want;

    sandbox_snapshot(sb, &r);
    if ((c->id && strcmp(c->id, r.id)) || (c->name && strcmp(c->name, r.name)))
        ok = false;
    if (ok && c->n_states) {
        ok = false;
        for (size_t i = 0; i < c->n_states && !ok; i++)
            ok = !strcmp(c->states[i], r.state);
    }
    if (ok && json_object_size(c->labels)) {
        labels = json_loads(r.labels_json ? r.labels_json : "{}", 0, NULL);
        json_object_foreach(c->labels, k, want)
        {
            const char *have = json_string_value(json_object_get(labels, k));
            if (!have || !json_is_string(want) || strcmp(have, json_string_value(want)))
                ok = false;
        }
        json_decref(labels);
    }
    store_sandbox_rec_free(&r);
    return ok;
}

static int list_collect(struct sandbox *sb, void *ud)
{
    struct list_ctx *c = ud;

    if (!list_match(c, sb))
        return 0;
    if (c->n == c->cap) {
        size_t nc = c->cap ? c->cap * 2 : 64;
        struct sandbox **nv = realloc(c->v, nc * sizeof(*nv));
        if (!nv)
            return -ENOMEM;
        c->v = nv, c->cap = nc;
    }
    c->v[c->n++] = sandbox_ref(sb);
    return 0;
}

static void list_done(struct list_ctx *c)
{
    for (size_t i = 0; i < c->n; i++)
        sandbox_unref(c->v[i]);
    free(c->v);
    json_decref(c->labels);
}

/* Parse the filters common to every list form; replies 400 itself. */
static int list_filters(struct http_req *req, struct list_ctx *c)
{
    const char *labels = http_req_query(req, "labels");

    c->req = req;
    c->name = http_req_query(req, "name");
    c->id = http_req_query(req, "id");
    c->n_states = http_req_query_all(req, "states", c->states, 16);
    if (labels && strcmp(labels, "null") && labels[0]) {
        c->labels = json_loads(labels, 0, NULL);
        if (!json_is_object(c->labels))
            return dtn_reply_error(req, 400, "BAD_REQUEST", NULL,
                                   "labels must be a JSON object of strings, e.g. "
                                   "{\"team\":\"a\"}"),
                   -EINVAL;
    }
    if (sandbox_foreach(api_org(req), list_collect, c) < 0)
        return dtn_reply_error(req, 500, "INTERNAL_SERVER_ERROR", NULL, "out of memory"), -ENOMEM;
    return 0;
}

static int query_uint(struct http_req *req, const char *key, uint32_t min, uint32_t max,
                      uint32_t dflt, uint32_t *ret)
{
    const char *v = http_req_query(req, key);

    *ret = dflt;
    if (v && parse_u32_range(v, min, max, ret) < 0)
        return dtn_reply_error(req, 400, "BAD_REQUEST", NULL, "%s must be an integer %u-%u", key,
                               min, max),
               -EINVAL;
    return 0;
}

int dtn_sandbox_list(struct http_req *req)
{
    struct list_ctx c = {0};
    const char *cursor = http_req_query(req, "cursor");
    json_t *items = json_array();
    uint32_t limit;
    size_t start = 0, end;
    bool bare = dtn_sdk_older_than(req, 0, 108, 0);

    if (!items || list_filters(req, &c) < 0 ||
        query_uint(req, "limit", 1, DTN_MAX_LIST_LIMIT,
                   bare ? DTN_MAX_LIST_LIMIT : DTN_DEFAULT_PAGE_SIZE, &limit) < 0) {
        json_decref(items);
        list_done(&c);
        return 0;
    }
    /* The cursor is the id of the last item of the previous page. */
    if (cursor && cursor[0]) {
        start = c.n;
        for (size_t i = 0; i < c.n; i++)
            if (!strcmp(sandbox_id(c.v[i]), cursor))
                start = i + 1;
    }
    end = bare ? c.n : (c.n - start > limit ? start + limit : c.n);
    for (size_t i = start; i < end; i++)
        json_array_append_new(items, dtn_sandbox_json(req, c.v[i], !bare));
    /* SDKs before 0.108 (and clients that do not say) want the bare array. */
    if (bare) {
        list_done(&c);
        return http_reply_json(req, 200, items);
    }
    json_t *next = end < c.n ? json_string(sandbox_id(c.v[end - 1])) : json_null();
    list_done(&c);
    return http_reply_json(req, 200, json_pack("{s:o, s:o}", "items", items, "nextCursor", next));
}

/* GET /sandbox/paginated (Python SDK 0.108-0.179): page numbers from 1. */
int dtn_sandbox_paginated(struct http_req *req)
{
    struct list_ctx c = {0};
    json_t *items = json_array();
    uint32_t page, limit;
    size_t start;

    if (!items || list_filters(req, &c) < 0 || query_uint(req, "page", 1, 1000000, 1, &page) < 0 ||
        query_uint(req, "limit", 1, DTN_MAX_LIST_LIMIT, DTN_DEFAULT_PAGE_SIZE, &limit) < 0) {
        json_decref(items);
        list_done(&c);
        return 0;
    }
    start = (size_t)(page - 1) * limit;
    for (size_t i = start; i < c.n && i < start + limit; i++)
        json_array_append_new(items, dtn_sandbox_json(req, c.v[i], false));
    json_t *o = json_pack("{s:o, s:I, s:I, s:I}", "items", items, "total", (json_int_t)c.n, "page",
                          (json_int_t)page, "totalPages", (json_int_t)((c.n + limit - 1) / limit));
    list_done(&c);
    return http_reply_json(req, 200, o);
}

/* ---- single-sandbox calls ---- */

int dtn_sandbox_get(struct http_req *req)
{
    struct sandbox *sb;
    int r;

    if (dtn_lookup(req, &sb) < 0)
        return 0;
    r = http_reply_json(req, 200, dtn_sandbox_json(req, sb, false));
    sandbox_unref(sb);
    return r;
}

int dtn_sandbox_delete(struct http_req *req)
{
    struct cove_err err = {0};
    struct sandbox *sb;
    int r;

    if (dtn_lookup(req, &sb) < 0)
        return 0;
    r = sandbox_delete(sb, false, &err);
    if (r >= 0) {
        dtn_pty_forget_sandbox(sb);
        context_forget_sandbox(sb);
    }
    r = r < 0 ? dtn_reply_err(req, &err, false)
              : http_reply_json(req, 200, dtn_sandbox_json(req, sb, false));
    sandbox_unref(sb);
    return r;
}

int dtn_sandbox_start(struct http_req *req)
{
    struct cove_err err = {0};
    struct sandbox *sb;
    int r;

    if (dtn_lookup(req, &sb) < 0)
        return 0;
    r = sandbox_start(sb, &err);
    r = r < 0 ? dtn_reply_err(req, &err, false)
              : http_reply_json(req, 200, dtn_sandbox_json(req, sb, false));
    sandbox_unref(sb);
    return r;
}

int dtn_sandbox_stop(struct http_req *req)
{
    struct cove_err err = {0};
    struct sandbox_rec rec;
    struct sandbox *sb;
    int r;

    if (dtn_lookup(req, &sb) < 0)
        return 0;
    r = sandbox_stop(sb, &err);
    if (r >= 0) {
        dtn_pty_forget_sandbox(sb);
        context_forget_sandbox(sb);
        /* Ephemeral (autoDeleteInterval 0): deleted as it stops; the SDKs accept "destroyed"
         * as the end of a stop. */
        sandbox_snapshot(sb, &rec);
        if (rec.auto_delete_min == 0)
            r = sandbox_delete(sb, true, &err);
        store_sandbox_rec_free(&rec);
    }
    r = r < 0 ? dtn_reply_err(req, &err, false)
              : http_reply_json(req, 200, dtn_sandbox_json(req, sb, false));
    sandbox_unref(sb);
    return r;
}

int dtn_sandbox_labels(struct http_req *req)
{
    struct cove_err err = {0};
    struct sandbox_rec rec;
    struct sandbox *sb = NULL;
    json_t *body = http_req_json(req), *labels, *old;
    const char *lang;
    int r = -EINVAL;

    if (!body)
        return 0;
    labels = json_object_get(body, "labels");
    if (sandbox_string_map_valid(labels, "labels", COVE_MAX_LABELS, COVE_MAX_LABEL_KEY,
                                 COVE_MAX_LABEL_VALUE, &err) < 0) {
        json_decref(body);
        return dtn_reply_err(req, &err, false);
    }
    if (dtn_lookup(req, &sb) < 0) {
        json_decref(body);
        return 0;
    }
    sandbox_snapshot(sb, &rec);
    /* A full replacement, except that the code-run language stays: it is part of how the
     * sandbox was created, and codeRun after a later get() needs it. */
    old = json_loads(rec.labels_json ? rec.labels_json : "{}", 0, NULL);
    lang = json_string_value(json_object_get(old, DTN_LANGUAGE_LABEL));
    if (lang && !json_object_get(labels, DTN_LANGUAGE_LABEL))
        json_object_set_new(labels, DTN_LANGUAGE_LABEL, json_string(lang));
    free(rec.labels_json);
    rec.labels_json = json_dumps(labels, JSON_COMPACT | JSON_SORT_KEYS);
    r = rec.labels_json ? sandbox_update_settings(sb, &rec, &err)
                        : cove_err_set(&err, -ENOMEM, "out of memory");
    r = r < 0 ? dtn_reply_err(req, &err, false)
              : http_reply_json(req, 200, dtn_sandbox_json(req, sb, false));
    json_decref(old);
    store_sandbox_rec_free(&rec);
    json_decref(body);
    sandbox_unref(sb);
    return r;
}

/* ---- lifecycle intervals: POST /sandbox/{id}/<what>/{minutes} ---- */

enum interval_kind { IV_AUTOSTOP, IV_AUTODELETE, IV_EXTRA };

static int set_interval(struct http_req *req, enum interval_kind kind, const char *extra_key)
{
    struct cove_err err = {0};
    struct sandbox_rec rec;
    struct sandbox *sb;
    const char *m = http_req_param(req, "minutes");
    int64_t v;
    int r;

    if (!m || parse_i64(m, &v) < 0 || v > COVE_MAX_AUTOSTOP_MIN || (kind != IV_AUTODELETE && v < 0))
        return dtn_reply_error(req, 400, "BAD_REQUEST", NULL,
                               "the interval must be an integer number of minutes, 0-%d%s",
                               COVE_MAX_AUTOSTOP_MIN,
                               kind == IV_AUTODELETE ? " (or -1 to disable)" : "");
    if (dtn_lookup(req, &sb) < 0)
        return 0;
    if (kind == IV_EXTRA) {
        r = dtn_extra_set(sb, extra_key, json_integer(v), &err);
    } else {
        sandbox_snapshot(sb, &rec);
        if (kind == IV_AUTOSTOP)
            rec.auto_stop_min = (int32_t)v;
        else
            rec.auto_delete_min = v < 0 ? -1 : (int32_t)v;
        r = sandbox_update_settings(sb, &rec, &err);
        store_sandbox_rec_free(&rec);
    }
    r = r < 0 ? dtn_reply_err(req, &err, false)
              : http_reply_json(req, 200, dtn_sandbox_json(req, sb, false));
    sandbox_unref(sb);
    return r;
}

int dtn_sandbox_autostop(struct http_req *req)
{
    return set_interval(req, IV_AUTOSTOP, NULL);
}

int dtn_sandbox_autodelete(struct http_req *req)
{
    return set_interval(req, IV_AUTODELETE, NULL);
}

int dtn_sandbox_autoarchive(struct http_req *req)
{
    return set_interval(req, IV_EXTRA, "autoArchiveInterval");
}

int dtn_sandbox_autopause(struct http_req *req)
{
    return set_interval(req, IV_EXTRA, "autoPauseInterval");
}

int dtn_sandbox_ttl(struct http_req *req)
{
    return set_interval(req, IV_EXTRA, "ttlMinutes");
}

int dtn_sandbox_activity(struct http_req *req)
{
    struct sandbox *sb;
    int r;

    if (dtn_lookup(req, &sb) < 0) /* the lookup itself records the activity */
        return 0;
    r = http_reply_json(req, 200, dtn_sandbox_json(req, sb, false));
    sandbox_unref(sb);
    return r;
}

int dtn_toolbox_proxy_url(struct http_req *req)
{
    struct sandbox *sb;
    char url[400];

    if (dtn_lookup(req, &sb) < 0)
        return 0;
    sandbox_unref(sb);
    dtn_toolbox_url(req, url, sizeof(url));
    return http_reply_json(req, 200, json_pack("{s:s}", "url", url));
}

/* GET /config: the fields Python SDK 0.113-0.131 validate (proxyToolboxUrl above all). */
int dtn_config(struct http_req *req)
{
    char origin[300], tb[400], tmpl[400];

    dtn_origin(req, origin, sizeof(origin));
    dtn_toolbox_url(req, tb, sizeof(tb));
    snprintf(tmpl, sizeof(tmpl), "%s/preview/{{SANDBOX_ID}}/{{PORT}}", origin);
    return http_reply_json(
        req, 200,
        json_pack("{s:s, s:{s:s, s:s, s:s}, s:b, s:{}, s:s, s:s, s:s, s:s, s:i, s:b, s:s}",
                  "version", COVE_VERSION, "oidc", "issuer", origin, "clientId", "cove", "audience",
                  "cove", "linkedAccountsEnabled", 0, "announcements", "proxyTemplateUrl", tmpl,
                  "proxyToolboxUrl", tb, "defaultSnapshot", "base", "dashboardUrl", origin,
                  "maxAutoArchiveInterval", 43200, "maintananceMode", 0, "environment", "cove"));
}
