/* The route table of the native /v1 API. One line per route; docs/API.md documents each. */
#include "api/api.h"
#include "api/daytona.h"
#include "proxy/preview.h"

#define SB "/v1/sandboxes/{id}"

#define PREVIEW(m)                                                                                 \
    {m,                                                                                            \
     "/preview/{id}/{port}/{*rest}",                                                               \
     preview_handle,                                                                               \
     HTTP_F_PUBLIC | HTTP_F_STREAM_BODY,                                                           \
     preview_prepare,                                                                              \
     preview_body},                                                                                \
    {                                                                                              \
        m, "/preview/{id}/{port}", preview_handle, HTTP_F_PUBLIC | HTTP_F_STREAM_BODY,             \
            preview_prepare, preview_body                                                          \
    }

/* The Daytona-compatible API (docs/daytona-compat.md): control plane under /api, toolbox under
 * /toolbox/{id} and the old /toolbox/{id}/toolbox and /api/toolbox/{id}/toolbox prefixes. */
#define DSB "/api/sandbox/{id}"
#define DTN_TB(m, p, ...)                                                                          \
    {m, "/toolbox/{id}" p, __VA_ARGS__}, {m, "/toolbox/{id}/toolbox" p, __VA_ARGS__},              \
    {                                                                                              \
        m, "/api/toolbox/{id}/toolbox" p, __VA_ARGS__                                              \
    }

const struct http_route api_routes[] = {
    PREVIEW(HTTP_GET),
    PREVIEW(HTTP_HEAD),
    PREVIEW(HTTP_POST),
    PREVIEW(HTTP_PUT),
    PREVIEW(HTTP_DELETE),
    PREVIEW(HTTP_PATCH),
    PREVIEW(HTTP_OPTIONS),
    {HTTP_GET, "/v1/health", api_health, HTTP_F_PUBLIC},
    {HTTP_POST, "/v1/sandboxes", api_sandbox_create},
    {HTTP_GET, "/v1/sandboxes", api_sandbox_list},
    {HTTP_GET, SB, api_sandbox_get},
    {HTTP_DELETE, SB, api_sandbox_delete},
    {HTTP_POST, SB "/start", api_sandbox_start},
    {HTTP_POST, SB "/stop", api_sandbox_stop},
    {HTTP_POST, SB "/exec", api_exec},
    {HTTP_POST, SB "/code-run", api_code_run},
    {HTTP_POST, "/v1/validate", api_validate},
    {HTTP_GET, "/v1/admin/orgs", api_admin_org_list},
    {HTTP_POST, "/v1/admin/orgs", api_admin_org_create},
    {HTTP_GET, "/v1/admin/orgs/{org}", api_admin_org_get},
    {HTTP_DELETE, "/v1/admin/orgs/{org}", api_admin_org_delete},
    {HTTP_GET, "/v1/admin/orgs/{org}/quota", api_admin_quota_get},
    {HTTP_PUT, "/v1/admin/orgs/{org}/quota", api_admin_quota_set},
    {HTTP_GET, "/v1/admin/orgs/{org}/keys", api_admin_key_list},
    {HTTP_POST, "/v1/admin/orgs/{org}/keys", api_admin_key_create},
    {HTTP_GET, "/v1/admin/keys/{key}", api_admin_key_get},
    {HTTP_DELETE, "/v1/admin/keys/{key}", api_admin_key_revoke},
    {HTTP_PUT, SB "/files/content", api_file_put, HTTP_F_STREAM_BODY, api_file_put_prepare,
     api_file_put_chunk},
    {HTTP_POST, SB "/files/upload", api_file_upload, HTTP_F_MULTIPART, api_file_upload_prepare,
     NULL, api_file_upload_part},
    {HTTP_GET, SB "/files/content", api_file_get},
    {HTTP_GET, SB "/files", api_file_list},
    {HTTP_GET, SB "/files/stat", api_file_stat},
    {HTTP_POST, SB "/files/mkdir", api_file_mkdir},
    {HTTP_DELETE, SB "/files", api_file_delete},
    {HTTP_POST, SB "/files/move", api_file_move},
    {HTTP_GET, SB "/preview/{port}", api_preview_link},
    {HTTP_POST, SB "/preview/{port}/signed", api_preview_signed},
    {HTTP_POST, SB "/sessions", api_session_create},
    {HTTP_GET, SB "/sessions", api_session_list},
    {HTTP_GET, SB "/sessions/{sid}", api_session_get},
    {HTTP_DELETE, SB "/sessions/{sid}", api_session_delete},
    {HTTP_POST, SB "/sessions/{sid}/exec", api_session_exec},
    {HTTP_GET, SB "/commands/{cid}", api_command_get},
    {HTTP_GET, SB "/commands/{cid}/logs", api_command_logs},
    {HTTP_POST, SB "/commands/{cid}/input", api_command_input},
    {HTTP_POST, SB "/commands/{cid}/signal", api_command_signal},
    {HTTP_POST, SB "/contexts", api_context_create},
    {HTTP_GET, SB "/contexts", api_context_list},
    {HTTP_GET, SB "/contexts/{cid}", api_context_get},
    {HTTP_DELETE, SB "/contexts/{cid}", api_context_delete},
    {HTTP_POST, SB "/contexts/{cid}/run", api_context_run},
    {HTTP_POST, "/api/sandbox", dtn_sandbox_create},
    {HTTP_GET, "/api/sandbox", dtn_sandbox_list},
    {HTTP_GET, "/api/sandbox/paginated", dtn_sandbox_paginated},
    {HTTP_GET, DSB, dtn_sandbox_get},
    {HTTP_DELETE, DSB, dtn_sandbox_delete},
    {HTTP_POST, DSB "/start", dtn_sandbox_start},
    {HTTP_POST, DSB "/stop", dtn_sandbox_stop},
    {HTTP_PUT, DSB "/labels", dtn_sandbox_labels},
    {HTTP_POST, DSB "/autostop/{minutes}", dtn_sandbox_autostop},
    {HTTP_POST, DSB "/autoarchive/{minutes}", dtn_sandbox_autoarchive},
    {HTTP_POST, DSB "/autodelete/{minutes}", dtn_sandbox_autodelete},
    {HTTP_POST, DSB "/autopause/{minutes}", dtn_sandbox_autopause},
    {HTTP_POST, DSB "/ttl/{minutes}", dtn_sandbox_ttl},
    {HTTP_POST, DSB "/last-activity", dtn_sandbox_activity},
    {HTTP_GET, DSB "/toolbox-proxy-url", dtn_toolbox_proxy_url},
    {HTTP_GET, DSB "/ports/{port}/preview-url", dtn_preview_url},
    {HTTP_GET, DSB "/ports/{port}/signed-preview-url", dtn_signed_preview_url},
    {HTTP_POST, DSB "/ports/{port}/signed-preview-url/{token}/expire", dtn_signed_preview_expire},
    {HTTP_GET, "/api/config", dtn_config},
    DTN_TB(HTTP_GET, "/user-home-dir", dtn_home_dir),
    DTN_TB(HTTP_GET, "/work-dir", dtn_work_dir),
    DTN_TB(HTTP_GET, "/project-dir", dtn_project_dir),
    DTN_TB(HTTP_GET, "/version", dtn_version),
    DTN_TB(HTTP_POST, "/process/execute", dtn_execute),
    DTN_TB(HTTP_POST, "/process/code-run", dtn_code_run),
    DTN_TB(HTTP_POST, "/process/session", dtn_session_create),
    DTN_TB(HTTP_GET, "/process/session", dtn_session_list),
    DTN_TB(HTTP_GET, "/process/session/{sid}", dtn_session_get),
    DTN_TB(HTTP_DELETE, "/process/session/{sid}", dtn_session_delete),
    DTN_TB(HTTP_POST, "/process/session/{sid}/exec", dtn_session_exec),
    DTN_TB(HTTP_GET, "/process/session/{sid}/command/{cid}", dtn_session_command),
    DTN_TB(HTTP_GET, "/process/session/{sid}/command/{cid}/logs", dtn_session_logs),
    DTN_TB(HTTP_POST, "/process/session/{sid}/command/{cid}/input", dtn_session_input),
    DTN_TB(HTTP_POST, "/process/interpreter/context", dtn_interp_context_create),
    DTN_TB(HTTP_GET, "/process/interpreter/context", dtn_interp_context_list),
    DTN_TB(HTTP_DELETE, "/process/interpreter/context/{ctx}", dtn_interp_context_delete),
    DTN_TB(HTTP_GET, "/process/interpreter/execute", dtn_interp_execute),
    DTN_TB(HTTP_GET, "/process/pty/create-connect", dtn_pty_create_connect), /* before {pty} */
    DTN_TB(HTTP_POST, "/process/pty", dtn_pty_create),
    DTN_TB(HTTP_GET, "/process/pty", dtn_pty_list),
    DTN_TB(HTTP_GET, "/process/pty/{pty}", dtn_pty_get),
    DTN_TB(HTTP_DELETE, "/process/pty/{pty}", dtn_pty_delete),
    DTN_TB(HTTP_GET, "/process/pty/{pty}/connect", dtn_pty_connect),
    DTN_TB(HTTP_POST, "/process/pty/{pty}/resize", dtn_pty_resize),
    DTN_TB(HTTP_POST, "/files/bulk-upload", dtn_bulk_upload, HTTP_F_MULTIPART,
           dtn_bulk_upload_prepare, NULL, dtn_bulk_upload_part),
    DTN_TB(HTTP_POST, "/files/upload", dtn_bulk_upload, HTTP_F_MULTIPART, dtn_bulk_upload_prepare,
           NULL, dtn_bulk_upload_part),
    DTN_TB(HTTP_POST, "/files/upload-v2", dtn_bulk_upload, HTTP_F_MULTIPART,
           dtn_bulk_upload_prepare, NULL, dtn_bulk_upload_part),
    DTN_TB(HTTP_POST, "/files/bulk-download", dtn_bulk_download),
    DTN_TB(HTTP_GET, "/files/download", dtn_file_download),
    DTN_TB(HTTP_GET, "/files", dtn_fs_list),
    DTN_TB(HTTP_GET, "/files/info", dtn_fs_info),
    DTN_TB(HTTP_POST, "/files/folder", dtn_fs_folder),
    DTN_TB(HTTP_DELETE, "/files", dtn_fs_delete),
    DTN_TB(HTTP_POST, "/files/move", dtn_fs_move),
    DTN_TB(HTTP_GET, "/files/find", dtn_fs_find),
    DTN_TB(HTTP_GET, "/files/search", dtn_fs_search),
    DTN_TB(HTTP_POST, "/files/replace", dtn_fs_replace),
    DTN_TB(HTTP_POST, "/files/permissions", dtn_fs_permissions),
    DTN_TB(HTTP_POST, "/git/init", dtn_git_init),
    DTN_TB(HTTP_POST, "/git/clone", dtn_git_clone),
    DTN_TB(HTTP_GET, "/git/status", dtn_git_status),
    DTN_TB(HTTP_POST, "/git/add", dtn_git_add),
    DTN_TB(HTTP_POST, "/git/commit", dtn_git_commit),
    DTN_TB(HTTP_GET, "/git/branches", dtn_git_branches),
    DTN_TB(HTTP_POST, "/git/branches", dtn_git_branch_create),
    DTN_TB(HTTP_DELETE, "/git/branches", dtn_git_branch_delete),
    DTN_TB(HTTP_POST, "/git/checkout", dtn_git_checkout),
    DTN_TB(HTTP_POST, "/git/push", dtn_git_push),
    DTN_TB(HTTP_POST, "/git/pull", dtn_git_pull),
};

const size_t api_n_routes = sizeof(api_routes) / sizeof(api_routes[0]);
