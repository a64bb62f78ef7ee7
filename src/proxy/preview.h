/* The preview proxy: HTTP and WebSocket traffic to any port inside a sandbox, by host name
 * ({port}-{sandboxId}.{domain}) or by path (/preview/{sandboxId}/{port}/...). coved opens the
 * upstream connection inside the sandbox's network namespace, so no veth is needed. */
#pragma once

#include "http/http.h"

struct preview_config {
    const char *domain; /* preview host suffix, default "localhost" */
    unsigned wait_s;    /* how long to wait for a port to start listening */
};

void preview_init(const struct preview_config *cfg);
/* http_config.host_route: the preview route for preview host names, else NULL. */
const struct http_route *preview_host_route(const char *host, void *userdata);
/* Route handlers for the path form (and the host form). */
int preview_prepare(struct http_req *req);
int preview_body(struct http_req *req, const char *data, size_t len);
int preview_handle(struct http_req *req);
/* Build the preview URL of (sandbox id, port) as seen by a client that reached coved at
 * host_header; token_host: put a signed token in place of the id. */
void preview_url(const char *host_header, const char *id_or_token, unsigned port, char *buf,
                 size_t cap);
