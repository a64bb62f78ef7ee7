/* /v1 preview links: the URL and token that open a sandbox port through the preview proxy. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <time.h>

#include "api/api.h"
#include "api/preview-token.h"
#include "base/parse.h"
#include "proxy/preview.h"

static int parse_port(struct http_req *req, unsigned *ret)
{
    uint32_t p;
    if (parse_u32_range(http_req_param(req, "port"), 1, 65535, &p) < 0)
        return http_reply_error(req, 400, "BAD_REQUEST", "port must be 1-65535"), -EINVAL;
    *ret = p;
    return 0;
}

int api_preview_link(struct http_req *req)
{
    char tok[PREVIEW_TOKEN_MAX], url[512], path[256];
    struct sandbox *sb;
    unsigned port;

    if (parse_port(req, &port) < 0 || api_lookup(req, &sb) < 0)
        return 0;
    if (preview_token_get(sb, tok, sizeof(tok)) < 0) {
        sandbox_unref(sb);
        return http_reply_error(req, 500, "INTERNAL_ERROR", "cannot create the preview token");
    }
    preview_url(http_req_header(req, "Host"), sandbox_id(sb), port, url, sizeof(url));
    snprintf(path, sizeof(path), "/preview/%s/%u/", sandbox_id(sb), port);
    http_reply_json(req, 200,
                    json_pack("{s:s, s:i, s:s, s:s, s:s, s:s}", "sandbox_id", sandbox_id(sb),
                              "port", (json_int_t)port, "url", url, "path", path, "token", tok,
                              "header", "X-Daytona-Preview-Token"));
    sandbox_unref(sb);
    return 0;
}

int api_preview_signed(struct http_req *req)
{
    static const char *const allowed[] = {"expires_in", NULL};
    char tok[PREVIEW_TOKEN_MAX], url[512];
    struct sandbox *sb;
    unsigned port;
    uint32_t exp = PREVIEW_SIGNED_DEFAULT_S;
    json_t *body = http_req_json(req), *v;
    int r;

    if (!body)
        return 0;
    v = json_object_get(body, "expires_in");
    if (api_check_fields(req, body, allowed) < 0 || parse_port(req, &port) < 0) {
        json_decref(body);
        return 0;
    }
    if (v && (!json_is_integer(v) || json_integer_value(v) < 1 ||
              json_integer_value(v) > PREVIEW_SIGNED_MAX_S)) {
        json_decref(body);
        return http_reply_error(req, 400, "BAD_REQUEST", "expires_in must be 1..%d seconds",
                                PREVIEW_SIGNED_MAX_S);
    }
    if (v)
        exp = (uint32_t)json_integer_value(v);
    json_decref(body);
    if (api_lookup(req, &sb) < 0)
        return 0;
    r = preview_signed_create(sb, (uint16_t)port, exp, tok, sizeof(tok));
    if (r < 0) {
        sandbox_unref(sb);
        return http_reply_error(req, r == -ENOSPC ? 409 : 500, "CONFLICT",
                                "cannot create a signed preview URL: %s",
                                r == -ENOSPC ? "too many live signed URLs" : "internal error");
    }
    preview_url(http_req_header(req, "Host"), tok, port, url, sizeof(url));
    http_reply_json(req, 201,
                    json_pack("{s:s, s:i, s:s, s:s, s:o}", "sandbox_id", sandbox_id(sb), "port",
                              (json_int_t)port, "url", url, "token", tok, "expires_at",
                              json_iso_time(((int64_t)time(NULL) + exp) * 1000)));
    sandbox_unref(sb);
    return 0;
}
