/* Route matching, separate from the server so it can be unit-tested and fuzzed.
 *
 * router_match() finds the route for (method, path). Path parameters are percent-decoded
 * into the caller's params array. Returns the route index, -ENOENT when no pattern matches
 * the path, -EPERM when a pattern matches but not with this method (405). */
#pragma once

#include "http/http.h"

#define ROUTER_MAX_PARAMS 6
#define ROUTER_MAX_PARAM  1024

struct router_param {
    const char *name; /* points into the pattern */
    size_t name_len;
    char value[ROUTER_MAX_PARAM];
};

struct router_match {
    size_t n_params;
    struct router_param params[ROUTER_MAX_PARAMS];
};

int router_match(const struct http_route *routes, size_t n, enum http_method method,
                 const char *path, struct router_match *ret);
/* Percent-decode src into dst (cap includes NUL). Rejects NUL bytes and bad escapes. */
int router_pct_decode(const char *src, size_t len, char *dst, size_t cap);
