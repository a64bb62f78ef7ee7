/* The route table of the native /v1 API. One line per route; docs/API.md documents each. */
#include "api/api.h"
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
};

const size_t api_n_routes = sizeof(api_routes) / sizeof(api_routes[0]);
