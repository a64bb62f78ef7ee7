/* Daytona preview links: GET /sandbox/{id}/ports/{port}/preview-url, the signed variant and
 * its expiry. Tokens come from api/preview-token.c, which the preview proxy checks against.
 *
 * URL shape, as Daytona's and built by the proxy (proxy/preview.c):
 * http://{port}-{sandboxId}.{domain}:{coved port} and, signed,
 * http://{port}-{token}.{domain}:{coved port}; the domain defaults to "localhost", whose
 * subdomains resolve to the loopback address in browsers and curl with no DNS set-up. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "api/daytona.h"
#include "api/preview-token.h"
#include "base/parse.h"
#include "proxy/preview.h"

/* The proxy's URL for (sandbox or signed token, port), as the client addressed coved. */
static void preview_host_url(struct http_req *req, uint16_t port, const char *who, char *out,
                             size_t cap)
{
    preview_url(http_req_header(req, "Host"), who, port, out, cap);
}

/* The {port} route parameter, 1-65535; replies 400 itself. */
static int port_param(struct http_req *req, uint16_t *ret)
{
    uint32_t p;

    if (parse_u32_range(http_req_param(req, "port"), 1, 65535, &p) < 0)
        return dtn_reply_error(req, 400, "BAD_REQUEST", NULL, "port must be an integer 1-65535"),
               -EINVAL;
    *ret = (uint16_t)p;
    return 0;
}

int dtn_preview_url(struct http_req *req)
{
    char token[PREVIEW_TOKEN_MAX], url[512];
    struct sandbox *sb;
    uint16_t port;
    int r;

    if (port_param(req, &port) < 0 || dtn_lookup(req, &sb) < 0)
        return 0;
    r = preview_token_get(sb, token, sizeof(token));
    if (r < 0) {
        sandbox_unref(sb);
        return dtn_reply_error(req, 500, "INTERNAL_SERVER_ERROR", NULL,
                               "cannot create the preview token: %s", strerror(-r));
    }
    preview_host_url(req, port, sandbox_id(sb), url, sizeof(url));
    r = http_reply_json(
        req, 200,
        json_pack("{s:s, s:s, s:s}", "sandboxId", sandbox_id(sb), "url", url, "token", token));
    sandbox_unref(sb);
    return r;
}

int dtn_signed_preview_url(struct http_req *req)
{
    const char *exp = http_req_query(req, "expiresInSeconds");
    char token[PREVIEW_TOKEN_MAX], url[512];
    struct sandbox *sb;
    uint32_t expires = PREVIEW_SIGNED_DEFAULT_S;
    uint16_t port;
    int r;

    if (port_param(req, &port) < 0)
        return 0;
    if (exp && parse_u32_range(exp, 1, PREVIEW_SIGNED_MAX_S, &expires) < 0)
        return dtn_reply_error(req, 400, "BAD_REQUEST", NULL,
                               "expiresInSeconds must be an integer 1-%d", PREVIEW_SIGNED_MAX_S);
    if (dtn_lookup(req, &sb) < 0)
        return 0;
    r = preview_signed_create(sb, port, expires, token, sizeof(token));
    if (r < 0) {
        sandbox_unref(sb);
        return dtn_reply_error(req, r == -ENOSPC ? 503 : 500, "SERVICE_UNAVAILABLE", NULL,
                               "cannot create a signed preview URL: %s",
                               r == -ENOSPC ? "too many live signed URLs" : strerror(-r));
    }
    preview_host_url(req, port, token, url, sizeof(url));
    r = http_reply_json(req, 200,
                        json_pack("{s:s, s:i, s:s, s:s}", "sandboxId", sandbox_id(sb), "port",
                                  (int)port, "token", token, "url", url));
    sandbox_unref(sb);
    return r;
}

int dtn_signed_preview_expire(struct http_req *req)
{
    const char *token = http_req_param(req, "token");
    struct sandbox *sb;
    uint16_t port;
    int r;

    if (port_param(req, &port) < 0 || dtn_lookup(req, &sb) < 0)
        return 0;
    r = preview_signed_expire(sb, port, token);
    sandbox_unref(sb);
    if (r < 0)
        return dtn_reply_error(req, 404, "NOT_FOUND", NULL,
                               "no live signed preview URL with that token for port %u",
                               (unsigned)port);
    return http_reply_json(req, 200, json_object());
}
