/* The HTTP API: route table and the helpers every api-*.c shares. */
#pragma once

#include <jansson.h>

#include "base/err.h"
#include "http/http.h"
#include "json/json-util.h"
#include "sandbox/sandbox.h"

/* Who is calling: set by the auth hook from the API key. */
struct api_principal {
    char org[65];
    char key_id[17];
    bool admin;
};

extern const struct http_route api_routes[];
extern const size_t api_n_routes;

/* Auth hook for http_config.auth (uses the store). */
int api_auth(const char *token, void *userdata, void **ret_principal);
void api_principal_free(void *p);

/* Map err to an HTTP status and reply {statusCode, code, message}. */
int api_reply_err(struct http_req *req, const struct cove_err *err);
unsigned api_status_of(int code);
const char *api_org(struct http_req *req);
/* Resolve the {id} route parameter in the caller's organization; replies 404 and returns
 * <0 if absent. */
int api_lookup(struct http_req *req, struct sandbox **ret);
/* Reject unknown keys in obj: allowed is a NULL-terminated list. Replies 400 on failure. */
int api_check_fields(struct http_req *req, json_t *obj, const char *const *allowed);
/* The prologue of a handler with a JSON body on a sandbox: parse the body, check its fields
 * against allowed, look up {id}. Returns the body (the caller decrefs it and unrefs *ret), or
 * NULL when a reply has gone out already. */
json_t *api_body_on_sandbox(struct http_req *req, const char *const *allowed, struct sandbox **ret);
/* ISO-8601 UTC with milliseconds. */
void api_iso_time(int64_t ms, char *buf, size_t cap);
/* Sandbox JSON for /v1. */
json_t *api_sandbox_json(struct sandbox *sb);

/* Route handlers, one file each. */
int api_health(struct http_req *req);
int api_sandbox_create(struct http_req *req);
int api_sandbox_list(struct http_req *req);
int api_sandbox_get(struct http_req *req);
int api_sandbox_delete(struct http_req *req);
int api_sandbox_start(struct http_req *req);
int api_sandbox_stop(struct http_req *req);
int api_exec(struct http_req *req);

/* Files (api-file.c). */
int api_file_put_prepare(struct http_req *req);
int api_file_put_chunk(struct http_req *req, const char *data, size_t len);
int api_file_put(struct http_req *req);
int api_file_upload_prepare(struct http_req *req);
int api_file_upload_part(struct http_req *req, const char *field, const char *filename,
                         const char *content_type, const char *data, uint64_t off, size_t size);
int api_file_upload(struct http_req *req);
int api_file_get(struct http_req *req);
int api_file_list(struct http_req *req);
int api_file_stat(struct http_req *req);
int api_file_mkdir(struct http_req *req);
int api_file_delete(struct http_req *req);
int api_file_move(struct http_req *req);

/* Sessions (api-session.c). */
int api_session_create(struct http_req *req);
int api_session_list(struct http_req *req);
int api_session_get(struct http_req *req);
int api_session_delete(struct http_req *req);
int api_session_exec(struct http_req *req);
/* api-context.c */
int api_context_create(struct http_req *req);
int api_context_list(struct http_req *req);
int api_context_get(struct http_req *req);
int api_context_delete(struct http_req *req);
int api_context_run(struct http_req *req);
int api_command_get(struct http_req *req);
int api_command_logs(struct http_req *req);
int api_command_input(struct http_req *req);
int api_command_signal(struct http_req *req);

/* Preview links (api-preview.c). */
int api_preview_link(struct http_req *req);
int api_preview_signed(struct http_req *req);

/* Organizations, keys and quotas, for admin keys (api-admin.c). */
int api_admin_org_list(struct http_req *req);
int api_admin_org_create(struct http_req *req);
int api_admin_org_get(struct http_req *req);
int api_admin_org_delete(struct http_req *req);
int api_admin_quota_get(struct http_req *req);
int api_admin_quota_set(struct http_req *req);
int api_admin_key_list(struct http_req *req);
int api_admin_key_create(struct http_req *req);
int api_admin_key_get(struct http_req *req);
int api_admin_key_revoke(struct http_req *req);

/* Code-run and validate (api-coderun.c). */
int api_code_run(struct http_req *req);
int api_validate(struct http_req *req);
