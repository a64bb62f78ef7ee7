/* /v1/admin: organizations, their API keys and their quotas, for admin keys only.
 *
 * Every handler first checks that the calling key is an admin key (403 FORBIDDEN otherwise,
 * after the HTTP layer has already answered 401 to a missing, unknown or revoked key). An
 * admin key is itself a key of one organization: on the tenant routes it sees that
 * organization's sandboxes only, like any key.
 *
 * The secret of a new key appears once, in the answer to its creation; everything else shows
 * the public id and the 12-character display prefix. Deleting an organization is refused
 * while it has sandboxes (409 ORG_NOT_EMPTY) and deletes its keys with it; the organization
 * of the calling key cannot be deleted (409 ORG_IN_USE). Every count and length is capped
 * (base/limits.h, docs/API.md). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "base/limits.h"
#include "store/store.h"

static const char *const quota_fields[] = {"max_sandboxes", "max_cpu", "max_memory_mib",
                                           "max_disk_mib", NULL};

/* Reply 403 and return <0 unless the caller holds an admin key. */
static int need_admin(struct http_req *req)
{
    struct api_principal *p = http_req_principal(req);

    if (p && p->admin)
        return 0;
    http_reply_error(req, 403, "FORBIDDEN", "the admin API needs an admin key");
    return -EACCES;
}

/* 1-64 of [A-Za-z0-9._-], starting with a letter or digit: safe in paths, logs and labels. */
static bool org_id_valid(const char *s)
{
    size_t n = s ? strlen(s) : 0;

    if (n == 0 || n > COVE_MAX_ORG_ID)
        return false;
    if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') ||
          (s[0] >= '0' && s[0] <= '9')))
        return false;
    return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

/* Display names: up to COVE_MAX_ADMIN_NAME bytes, no control characters (they end up in
 * terminals through `coved keys list`). jansson has already checked the UTF-8. */
static bool name_valid(const char *s, bool may_be_empty)
{
    size_t n = strlen(s);

    if ((!may_be_empty && n == 0) || n > COVE_MAX_ADMIN_NAME)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return false;
    return true;
}

static json_t *quota_json(const struct org_quota *q)
{
    return json_pack("{s:I, s:f, s:I, s:I}", "max_sandboxes", (json_int_t)q->max_sandboxes,
                     "max_cpu", q->max_cpu_milli / 1000.0, "max_memory_mib",
                     (json_int_t)q->max_memory_mib, "max_disk_mib", (json_int_t)q->max_disk_mib);
}

static json_t *usage_json(const char *org)
{
    uint32_t n = 0;
    uint64_t cpu = 0, mem = 0, disk = 0;

    if (store_sandbox_usage(sandbox_store(), org, &n, &cpu, &mem, &disk) < 0)
        return json_null();
    return json_pack("{s:I, s:f, s:I, s:I}", "sandboxes", (json_int_t)n, "cpu", cpu / 1000.0,
                     "memory_mib", (json_int_t)mem, "disk_mib", (json_int_t)disk);
}

static json_t *org_json(const struct org_info *o)
{
    return json_pack("{s:s, s:s, s:o, s:o, s:o}", "id", o->id, "name", o->name, "created_at",
                     json_iso_time(o->created_at), "quota", quota_json(&o->quota), "usage",
                     usage_json(o->id));
}

static json_t *key_json(const struct key_info *k)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:b, s:b, s:o}", "id", k->id, "org", k->org, "name",
                     k->name, "prefix", k->prefix, "admin", k->admin, "revoked", k->revoked,
                     "created_at", json_iso_time(k->created_at));
}

/* Read one non-negative integer field of at most max into *ret (untouched when absent).
 * Replies 400 and returns <0 on a wrong type or range. */
static int get_u64(struct http_req *req, json_t *obj, const char *field, uint64_t max,
                   uint64_t *ret)
{
    json_t *v = json_object_get(obj, field);

    if (!v)
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < 0 || (uint64_t)json_integer_value(v) > max) {
        http_reply_error(req, 400, "BAD_REQUEST", "%s must be an integer from 0 to %llu", field,
                         (unsigned long long)max);
        return -EINVAL;
    }
    *ret = (uint64_t)json_integer_value(v);
    return 0;
}

/* Apply the quota fields present in obj to q; absent fields keep their value. max_cpu is in
 * cores (like a sandbox's cpu), to a thousandth. */
static int parse_quota(struct http_req *req, json_t *obj, struct org_quota *q)
{
    uint64_t n = q->max_sandboxes, mem = q->max_memory_mib, disk = q->max_disk_mib;
    json_t *cpu;
    int r;

    if (!json_is_object(obj)) {
        http_reply_error(req, 400, "BAD_REQUEST", "quota must be an object");
        return -EINVAL;
    }
    r = api_check_fields(req, obj, quota_fields);
    if (r < 0)
        return r;
    if ((r = get_u64(req, obj, "max_sandboxes", COVE_MAX_QUOTA_SANDBOXES, &n)) < 0 ||
        (r = get_u64(req, obj, "max_memory_mib", COVE_MAX_QUOTA_MIB, &mem)) < 0 ||
        (r = get_u64(req, obj, "max_disk_mib", COVE_MAX_QUOTA_MIB, &disk)) < 0)
        return r;
    cpu = json_object_get(obj, "max_cpu");
    if (cpu) {
        double c = json_number_value(cpu);
        if (!json_is_number(cpu) || !isfinite(c) || c < 0 ||
            c > COVE_MAX_QUOTA_CPU_MILLI / 1000.0) {
            http_reply_error(req, 400, "BAD_REQUEST",
                             "max_cpu must be a number of cores from 0 to %u",
                             COVE_MAX_QUOTA_CPU_MILLI / 1000);
            return -EINVAL;
        }
        q->max_cpu_milli = (uint32_t)llround(c * 1000.0);
    }
    q->max_sandboxes = (uint32_t)n;
    q->max_memory_mib = mem;
    q->max_disk_mib = disk;
    return 0;
}

static int reply_store_err(struct http_req *req, int r)
{
    struct cove_err err = {0};

    store_err(r, &err);
    return api_reply_err(req, &err);
}

/* Load the {org} route parameter's org; replies 404 (or the store's error) and returns <0
 * if that fails. */
static int load_org(struct http_req *req, struct org_info *o)
{
    const char *id = http_req_param(req, "org");
    int r;

    if (!org_id_valid(id))
        return http_reply_error(req, 404, "ORG_NOT_FOUND", "organization not found"), -ENOENT;
    r = store_org_get(sandbox_store(), id, o);
    if (r == -ENOENT)
        return http_reply_error(req, 404, "ORG_NOT_FOUND", "organization '%s' not found", id), r;
    if (r < 0)
        return reply_store_err(req, r), r;
    return 0;
}

static int add_org(const struct org_info *o, void *ud)
{
    return json_array_append_new(ud, org_json(o)) < 0 ? -ENOMEM : 0;
}

int api_admin_org_list(struct http_req *req)
{
    json_t *arr;
    int r;

    if (need_admin(req) < 0)
        return 0;
    arr = json_array();
    if (!arr)
        return http_reply_error(req, 500, "INTERNAL_ERROR", "out of memory");
    r = store_org_list(sandbox_store(), add_org, arr);
    if (r < 0) {
        json_decref(arr);
        return reply_store_err(req, r);
    }
    return http_reply_json(req, 200, json_pack("{s:o}", "orgs", arr));
}

int api_admin_org_create(struct http_req *req)
{
    static const char *const fields[] = {"id", "name", "quota", NULL};
    struct org_quota q;
    struct org_info o;
    json_t *body, *id, *name, *quota;
    int r;

    if (need_admin(req) < 0)
        return 0;
    body = http_req_json(req);
    if (!body)
        return 0;
    r = api_check_fields(req, body, fields);
    if (r < 0)
        goto out;
    id = json_object_get(body, "id");
    name = json_object_get(body, "name");
    quota = json_object_get(body, "quota");
    if (!json_is_string(id) || !org_id_valid(json_string_value(id))) {
        http_reply_error(req, 400, "BAD_REQUEST",
                         "id must be 1-%d characters of A-Z a-z 0-9 . _ - starting with a letter "
                         "or digit",
                         COVE_MAX_ORG_ID);
        goto out;
    }
    if (name && (!json_is_string(name) || !name_valid(json_string_value(name), false))) {
        http_reply_error(req, 400, "BAD_REQUEST",
                         "name must be a string of 1-%d bytes without control characters",
                         COVE_MAX_ADMIN_NAME);
        goto out;
    }
    store_org_default_quota(&q); /* the body may override any of it */
    if (quota && parse_quota(req, quota, &q) < 0)
        goto out;
    r = store_org_create(sandbox_store(), json_string_value(id),
                         name ? json_string_value(name) : NULL, &q, COVE_MAX_ORGS, &o);
    if (r == -EEXIST)
        http_reply_error(req, 409, "ORG_EXISTS", "organization '%s' exists already",
                         json_string_value(id));
    else if (r == -EUSERS)
        http_reply_error(req, 409, "TOO_MANY_ORGS", "there are %d organizations already (the cap)",
                         COVE_MAX_ORGS);
    else if (r < 0)
        reply_store_err(req, r);
    else
        http_reply_json(req, 201, org_json(&o));
out:
    json_decref(body);
    return 0;
}

int api_admin_org_get(struct http_req *req)
{
    struct org_info o;

    if (need_admin(req) < 0 || load_org(req, &o) < 0)
        return 0;
    return http_reply_json(req, 200, org_json(&o));
}

int api_admin_org_delete(struct http_req *req)
{
    struct api_principal *p = http_req_principal(req);
    struct org_info o;
    int r;

    if (need_admin(req) < 0 || load_org(req, &o) < 0)
        return 0;
    if (!strcmp(o.id, p->org))
        return http_reply_error(req, 409, "ORG_IN_USE",
                                "organization '%s' holds the key making this request", o.id);
    r = sandbox_org_delete(o.id);
    if (r == -ENOTEMPTY)
        return http_reply_error(req, 409, "ORG_NOT_EMPTY",
                                "organization '%s' still has sandboxes: delete them first", o.id);
    if (r == -ENOENT)
        return http_reply_error(req, 404, "ORG_NOT_FOUND", "organization '%s' not found", o.id);
    if (r < 0)
        return reply_store_err(req, r);
    return http_reply_empty(req, 204);
}

int api_admin_quota_get(struct http_req *req)
{
    struct org_info o;

    if (need_admin(req) < 0 || load_org(req, &o) < 0)
        return 0;
    return http_reply_json(req, 200,
                           json_pack("{s:s, s:o, s:o}", "org", o.id, "quota", quota_json(&o.quota),
                                     "usage", usage_json(o.id)));
}

/* Fields left out keep their value. Lowering a quota below what is in use is allowed: it
 * refuses new creates and starts until usage drops, and stops nothing. */
int api_admin_quota_set(struct http_req *req)
{
    struct org_info o;
    json_t *body;
    int r;

    if (need_admin(req) < 0 || load_org(req, &o) < 0)
        return 0;
    body = http_req_json(req);
    if (!body)
        return 0;
    r = parse_quota(req, body, &o.quota);
    json_decref(body);
    if (r < 0)
        return 0;
    /* store_org_set_quota() would recreate an org deleted meanwhile: check it is still there */
    r = store_org_get(sandbox_store(), o.id, &(struct org_info){0});
    if (r >= 0)
        r = store_org_set_quota(sandbox_store(), o.id, &o.quota);
    if (r == -ENOENT)
        return http_reply_error(req, 404, "ORG_NOT_FOUND", "organization '%s' not found", o.id);
    if (r < 0)
        return reply_store_err(req, r);
    return http_reply_json(req, 200,
                           json_pack("{s:s, s:o, s:o}", "org", o.id, "quota", quota_json(&o.quota),
                                     "usage", usage_json(o.id)));
}

struct key_list_ctx {
    const char *org;
    json_t *arr;
};

static int add_key(const struct key_info *k, void *ud)
{
    struct key_list_ctx *c = ud;

    if (strcmp(k->org, c->org))
        return 0;
    return json_array_append_new(c->arr, key_json(k)) < 0 ? -ENOMEM : 0;
}

int api_admin_key_list(struct http_req *req)
{
    struct org_info o;
    struct key_list_ctx c;
    int r;

    if (need_admin(req) < 0 || load_org(req, &o) < 0)
        return 0;
    c = (struct key_list_ctx){.org = o.id, .arr = json_array()};
    if (!c.arr)
        return http_reply_error(req, 500, "INTERNAL_ERROR", "out of memory");
    r = store_key_list(sandbox_store(), add_key, &c);
    if (r < 0) {
        json_decref(c.arr);
        return reply_store_err(req, r);
    }
    return http_reply_json(req, 200, json_pack("{s:o}", "keys", c.arr));
}

int api_admin_key_create(struct http_req *req)
{
    static const char *const fields[] = {"name", "admin", NULL};
    char key[STORE_KEY_LEN + 1];
    struct key_info k;
    struct org_info o;
    json_t *body, *name, *admin, *out;
    int r;

    if (need_admin(req) < 0 || load_org(req, &o) < 0)
        return 0;
    body = http_req_json(req);
    if (!body)
        return 0;
    if (api_check_fields(req, body, fields) < 0)
        goto out;
    name = json_object_get(body, "name");
    admin = json_object_get(body, "admin");
    if (name && (!json_is_string(name) || !name_valid(json_string_value(name), true))) {
        http_reply_error(req, 400, "BAD_REQUEST",
                         "name must be a string of at most %d bytes without control characters",
                         COVE_MAX_ADMIN_NAME);
        goto out;
    }
    if (admin && !json_is_boolean(admin)) {
        http_reply_error(req, 400, "BAD_REQUEST", "admin must be true or false");
        goto out;
    }
    r = store_key_issue(sandbox_store(), o.id, name ? json_string_value(name) : "",
                        json_is_true(admin), COVE_MAX_KEYS_PER_ORG, key, &k);
    if (r == -ENOENT)
        http_reply_error(req, 404, "ORG_NOT_FOUND", "organization '%s' not found", o.id);
    else if (r == -EUSERS)
        http_reply_error(req, 409, "TOO_MANY_KEYS",
                         "organization '%s' has %d unrevoked keys already (the cap): revoke one "
                         "first",
                         o.id, COVE_MAX_KEYS_PER_ORG);
    else if (r < 0)
        reply_store_err(req, r);
    else {
        out = key_json(&k);
        /* The only time the secret leaves the daemon; it is not stored anywhere. */
        if (out && json_object_set_new(out, "key", json_string(key)) < 0)
            out = (json_decref(out), NULL);
        http_reply_json(req, 201, out);
    }
    explicit_bzero(key, sizeof(key));
out:
    json_decref(body);
    return 0;
}

/* Load the {key} route parameter's key; replies 404 and returns <0 if absent. Only exact
 * ids: a display prefix would be ambiguous. */
static int load_key(struct http_req *req, struct key_info *k)
{
    const char *id = http_req_param(req, "key");
    int r;

    if (!id || strlen(id) != 16 || strspn(id, "0123456789abcdef") != 16)
        return http_reply_error(req, 404, "KEY_NOT_FOUND", "no key with that id"), -ENOENT;
    r = store_key_get(sandbox_store(), id, k);
    if (r == -ENOENT)
        return http_reply_error(req, 404, "KEY_NOT_FOUND", "no key with id '%s'", id), r;
    if (r < 0)
        return reply_store_err(req, r), r;
    return 0;
}

int api_admin_key_get(struct http_req *req)
{
    struct key_info k;

    if (need_admin(req) < 0 || load_key(req, &k) < 0)
        return 0;
    return http_reply_json(req, 200, key_json(&k));
}

/* Revocation is immediate: every request verifies its key against the store. Revoking a
 * revoked key succeeds; revoking one's own key is allowed (the next request gets a 401). */
int api_admin_key_revoke(struct http_req *req)
{
    struct key_info k;
    int r;

    if (need_admin(req) < 0 || load_key(req, &k) < 0)
        return 0;
    r = store_key_revoke(sandbox_store(), k.id);
    if (r >= 0)
        r = store_key_get(sandbox_store(), k.id, &k);
    if (r == -ENOENT)
        return http_reply_error(req, 404, "KEY_NOT_FOUND", "no key with id '%s'", k.id);
    if (r < 0)
        return reply_store_err(req, r);
    return http_reply_json(req, 200, key_json(&k));
}
