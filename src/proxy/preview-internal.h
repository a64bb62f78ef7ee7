/* What the preview proxy's two front ends share: the libmicrohttpd path (preview.c) and the
 * event-driven relay (relay.c) resolve, authorise and fail in one way. */
#pragma once

#include <jansson.h>
#include <stdbool.h>

#include "base/limits.h"
#include "sandbox/sandbox.h"

/* The sandbox record's extra JSON as last parsed, kept by a caller that checks many requests
 * (a relay connection): the same text is not parsed again. */
struct preview_cache {
    char *src;
    json_t *extra;
};
void preview_cache_clear(struct preview_cache *pc);

/* What a request says about its target; NUL-terminated, any may be NULL but target. */
struct preview_req {
    const char *host;            /* Host header */
    const char *target;          /* request target as sent (path and query) */
    const char *path;            /* for messages only; may equal target */
    const char *token;           /* X-Daytona-Preview-Token */
    const char *cookie;          /* Cookie */
    struct preview_cache *cache; /* optional */
};

/* A resolved and authorised preview request. */
struct preview_route {
    struct sandbox *sb; /* a reference the caller drops */
    unsigned port;
    bool path_form;
    char sandbox_id[33];
    char rest[COVE_MAX_URL_BYTES + 1]; /* the target upstream: token query stripped */
    char set_cookie[200];              /* a token came in the query: remember it in a cookie */
};

/* An error answer: status, JSON code and message. */
struct preview_err {
    unsigned status;
    char code[32];
    char msg[512];
};

/* Resolve pr to (sandbox, port, rest) and check its credentials. On failure fills e. */
int preview_authorize(const struct preview_req *pr, struct preview_route *rt,
                      struct preview_err *e);
/* The 502 for a port that refuses: the command that served it exited (and where its logs
 * are), or nothing listens (any_more: it listened moments ago). */
void preview_port_error(struct sandbox *sb, unsigned port, bool any_more, struct preview_err *e);
bool preview_is_host(const char *host);
unsigned preview_wait_s(void);
void preview_listener_note(struct sandbox *sb, unsigned port);
void preview_listener_forget(struct sandbox *sb, unsigned port);
bool preview_recently_listening(struct sandbox *sb, unsigned port);
/* A TCP socket (extra socket(2) flags, e.g. SOCK_NONBLOCK) in a sandbox's network namespace. */
int preview_ns_socket(int netns, int flags);
