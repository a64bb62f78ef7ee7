/* The Daytona-compatible API (docs/daytona-compat.md): what the daytona-*.c files share.
 *
 * Two surfaces, both served by coved itself:
 *  - the control plane under /api (Daytona's "apiUrl"): sandbox lifecycle, labels, preview
 *    links; its answers are Daytona Sandbox DTOs, always 200 with the full object;
 *  - the toolbox under /toolbox/{id} (the "toolboxProxyUrl" of every DTO, plus the old
 *    /toolbox/{id}/toolbox and /api/toolbox/{id}/toolbox prefixes): process, files, git.
 *
 * Errors are NestJS-shaped bodies {statusCode, message, error, code, timestamp, path} and,
 * for failures a Daytona daemon would report, source "DAYTONA_DAEMON", because the SDKs pick
 * their error classes from (source, code) and then from the status. */
#pragma once

#include <stdbool.h>

#include "api/api.h"

#define DTN_SOURCE_DAEMON     "DAYTONA_DAEMON"
#define DTN_LANGUAGE_LABEL    "code-toolbox-language"
#define DTN_DEFAULT_LANGUAGE  "python"
#define DTN_MAX_LIST_LIMIT    1000
#define DTN_DEFAULT_PAGE_SIZE 100

/* ---- errors and DTOs (daytona-dto.c) ---- */

/* Reply status with a Daytona error body; source may be NULL (control-plane errors). */
int dtn_reply_error(struct http_req *req, unsigned status, const char *code, const char *source,
                    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Reply with err, mapping cove's kinds to Daytona's codes (FILE_NOT_FOUND, ...). daemon:
 * the failure happened in the toolbox, so the body carries source DAYTONA_DAEMON. */
int dtn_reply_err(struct http_req *req, const struct cove_err *err, bool daemon);
/* The error body alone (for multipart error parts). */
json_t *dtn_error_body(struct http_req *req, unsigned status, const char *code, const char *source,
                       const char *msg);
/* Status and Daytona code for a cove error. */
unsigned dtn_status_of(const struct cove_err *err, bool daemon, const char **ret_code);

/* Resolve {id} in the caller's organization; replies 404 (Daytona body) and returns <0. */
int dtn_lookup(struct http_req *req, struct sandbox **ret);
/* "http://<Host header>" (falls back to 127.0.0.1 when absent or unusable). */
void dtn_origin(struct http_req *req, char *out, size_t cap);
/* toolboxProxyUrl: dtn_origin() + "/toolbox", no trailing slash. */
void dtn_toolbox_url(struct http_req *req, char *out, size_t cap);
/* The Daytona Sandbox DTO of sb; list_item drops the fields SandboxListItem lacks. */
json_t *dtn_sandbox_json(struct http_req *req, struct sandbox *sb, bool list_item);
/* A compatibility setting stored in the sandbox's extra_json (new reference, or NULL). */
json_t *dtn_extra_get(struct sandbox *sb, const char *key);
/* Store value (stolen) under key in extra_json. */
int dtn_extra_set(struct sandbox *sb, const char *key, json_t *value, struct cove_err *err);
/* Is the client an SDK older than major.minor.patch (by X-Daytona-SDK-Version)? A missing
 * header counts as old; "unknown" and "0.0.0-dev" count as new. */
bool dtn_sdk_older_than(struct http_req *req, unsigned major, unsigned minor, unsigned patch);

/* ---- toolbox helpers (daytona-dto.c) ---- */

/* Normalise a client path against the work dir; replies 400 INVALID_FILE_PATH on failure. */
int dtn_path(struct http_req *req, const char *what, const char *in, char *out, size_t cap);

/* ---- control plane (daytona-sandbox.c) ---- */
int dtn_sandbox_create(struct http_req *req);
int dtn_sandbox_list(struct http_req *req);
int dtn_sandbox_paginated(struct http_req *req);
int dtn_sandbox_get(struct http_req *req);
int dtn_sandbox_delete(struct http_req *req);
int dtn_sandbox_start(struct http_req *req);
int dtn_sandbox_stop(struct http_req *req);
int dtn_sandbox_labels(struct http_req *req);
int dtn_sandbox_autostop(struct http_req *req);
int dtn_sandbox_autoarchive(struct http_req *req);
int dtn_sandbox_autodelete(struct http_req *req);
int dtn_sandbox_autopause(struct http_req *req);
int dtn_sandbox_ttl(struct http_req *req);
int dtn_sandbox_activity(struct http_req *req);
int dtn_toolbox_proxy_url(struct http_req *req);
int dtn_config(struct http_req *req);

/* ---- preview links (daytona-preview.c) ---- */
int dtn_preview_url(struct http_req *req);
int dtn_signed_preview_url(struct http_req *req);
int dtn_signed_preview_expire(struct http_req *req);

/* ---- toolbox: process (daytona-process.c) ---- */
int dtn_home_dir(struct http_req *req);
int dtn_work_dir(struct http_req *req);
int dtn_project_dir(struct http_req *req);
int dtn_version(struct http_req *req);
int dtn_execute(struct http_req *req);
int dtn_code_run(struct http_req *req);

/* ---- toolbox: chart artifacts (daytona-chart.c) ---- */

/* Does Python source use matplotlib (so code-run must wrap it)? */
bool dtn_code_uses_matplotlib(const char *code, size_t len);
/* Python source that runs code (given as bytes) with plt.show() patched to print one
 * artifact line per figure. malloc'd, NUL-terminated. */
char *dtn_chart_wrap(const char *code, size_t len);
/* Remove artifact lines from out (in place, *len updated) and return the charts they carried,
 * normalised to Daytona's typed Chart schema (an array, possibly empty). */
json_t *dtn_chart_extract(char *out, size_t *len);

/* ---- toolbox: multipart transfer (daytona-transfer.c) ---- */
int dtn_bulk_upload_prepare(struct http_req *req);
int dtn_bulk_upload_part(struct http_req *req, const char *field, const char *filename,
                         const char *content_type, const char *data, uint64_t off, size_t size);
int dtn_bulk_upload(struct http_req *req);
int dtn_bulk_download(struct http_req *req);
int dtn_file_download(struct http_req *req);

/* ---- toolbox: file operations (daytona-fs.c) ---- */
int dtn_fs_list(struct http_req *req);
int dtn_fs_info(struct http_req *req);
int dtn_fs_folder(struct http_req *req);
int dtn_fs_delete(struct http_req *req);
int dtn_fs_move(struct http_req *req);
int dtn_fs_permissions(struct http_req *req);

/* ---- toolbox: find, search, replace (daytona-search.c) ---- */
int dtn_fs_find(struct http_req *req);
int dtn_fs_search(struct http_req *req);
int dtn_fs_replace(struct http_req *req);

/* ---- toolbox sessions (daytona-session.c) ---- */
int dtn_session_create(struct http_req *req);
int dtn_session_list(struct http_req *req);
int dtn_session_get(struct http_req *req);
int dtn_session_delete(struct http_req *req);
int dtn_session_exec(struct http_req *req);
int dtn_session_command(struct http_req *req);
int dtn_session_logs(struct http_req *req);
int dtn_session_input(struct http_req *req);

/* ---- toolbox PTYs (daytona-pty.c) ---- */
int dtn_pty_create_connect(struct http_req *req);
int dtn_pty_connect(struct http_req *req);
int dtn_pty_create(struct http_req *req);
int dtn_pty_list(struct http_req *req);
int dtn_pty_get(struct http_req *req);
int dtn_pty_delete(struct http_req *req);
int dtn_pty_resize(struct http_req *req);
/* Drop the PTYs of a sandbox being stopped or deleted (their shells die with it). */
void dtn_pty_forget_sandbox(struct sandbox *sb);

/* ---- code interpreter (daytona-interpreter.c) ---- */
int dtn_interp_context_create(struct http_req *req);
int dtn_interp_context_list(struct http_req *req);
int dtn_interp_context_delete(struct http_req *req);
int dtn_interp_execute(struct http_req *req);

/* ---- toolbox: git (daytona-git.c) ---- */
int dtn_git_init(struct http_req *req);
int dtn_git_clone(struct http_req *req);
int dtn_git_status(struct http_req *req);
int dtn_git_add(struct http_req *req);
int dtn_git_commit(struct http_req *req);
int dtn_git_branches(struct http_req *req);
int dtn_git_branch_create(struct http_req *req);
int dtn_git_branch_delete(struct http_req *req);
int dtn_git_checkout(struct http_req *req);
int dtn_git_push(struct http_req *req);
int dtn_git_pull(struct http_req *req);
