/* Preview tokens: who may reach a sandbox's ports through the preview proxy.
 *
 * Two kinds, as in Daytona:
 *  - the sandbox's preview token: one random secret per sandbox, created on first use and
 *    kept in the sandbox record (extra_json "previewToken"), so it survives coved restarts;
 *    it opens every port of that sandbox and no other sandbox;
 *  - signed preview tokens: 16 random lowercase characters, each bound to one sandbox and
 *    one port, valid for 1 to 86400 seconds, revocable. They live in memory only: a coved
 *    restart expires them all.
 *
 * Shared by the Daytona control plane (which hands tokens out) and the preview proxy (which
 * checks them). Every function is thread-safe. */
#pragma once

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct sandbox;

#define PREVIEW_TOKEN_MAX        65 /* buffer size for any token, NUL included */
#define PREVIEW_SIGNED_LEN       16
#define PREVIEW_SIGNED_DEFAULT_S 60
#define PREVIEW_SIGNED_MAX_S     86400
#define PREVIEW_SIGNED_MAX_LIVE  4096 /* live signed tokens per daemon */

/* The preview token of sb (created and persisted on first call) into out. Returns 0, or
 * -ENOBUFS (cap too small), -ENOENT (sandbox deleted), -EIO (cannot persist). */
int preview_token_get(struct sandbox *sb, char *out, size_t cap);
/* 0 if token is sb's preview token (constant-time comparison), -EACCES otherwise. */
int preview_token_check(struct sandbox *sb, const char *token);
/* The same, with sb's extra_json already parsed into extra (the caller's own snapshot): no
 * second parse and no lock unless the token does not exist yet. */
int preview_token_check_extra(struct sandbox *sb, const json_t *extra, const char *token);

/* Create a signed token for (sb, port) that expires after expires_s seconds (1..86400).
 * Returns 0, -EINVAL (bad port or expiry), -ENOSPC (too many live tokens), -ENOBUFS. */
int preview_signed_create(struct sandbox *sb, uint16_t port, uint32_t expires_s, char *out,
                          size_t cap);
/* Look up a signed token: on success fills the sandbox id (33 bytes suffice) and the port.
 * -ENOENT when unknown, expired or revoked. */
int preview_signed_check(const char *token, char *ret_sandbox_id, size_t id_cap,
                         uint16_t *ret_port);
/* Revoke token, which must belong to (sb, port); -ENOENT otherwise. */
int preview_signed_expire(struct sandbox *sb, uint16_t port, const char *token);
