/* Fuzz target: route matching and percent-decoding (src/http/router.c) against the real /v1
 * route table (src/api/api-routes.c).
 *
 * Input: one byte choosing the method, then the request path. Invariants:
 *  - the result is a route of that method whose pattern matches, or one of the documented
 *    errors; captured values fit their buffer and contain no NUL byte;
 *  - round trip: rebuilding a path from the matched pattern with every captured value
 *    percent-encoded matches the same route with the same values (what the handler sees does
 *    not depend on how the client spelled the path);
 *  - router_pct_decode never produces a NUL and never grows the input. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "fuzz.h"
#include "http/router.h"

#define MAX_PATH_IN (16u << 10)

static size_t encode(const char *v, char *out, size_t cap)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = 0;

    for (; *v && n + 3 < cap; v++) {
        unsigned char c = (unsigned char)*v;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~') {
            out[n++] = (char)c;
        } else {
            out[n++] = '%';
            out[n++] = hex[c >> 4];
            out[n++] = hex[c & 15];
        }
    }
    out[n] = '\0';
    return n;
}

/* Substitute the captured values into the pattern (values encoded, so "/" stays inside). */
static bool rebuild(const char *pattern, const struct router_match *m, char *out, size_t cap)
{
    size_t n = 0, k = 0;

    for (const char *p = pattern; *p;) {
        if (*p == '{') {
            const char *end = strchr(p, '}');
            if (!end || k >= m->n_params)
                return false;
            if (n + 3 * strlen(m->params[k].value) + 1 >= cap)
                return false;
            n += encode(m->params[k].value, out + n, cap - n);
            k++;
            p = end + 1;
        } else {
            if (n + 2 >= cap)
                return false;
            out[n++] = *p++;
        }
    }
    out[n] = '\0';
    return k == m->n_params;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char path[MAX_PATH_IN + 1], decoded[MAX_PATH_IN + 1], again[4 * MAX_PATH_IN];
    struct router_match m, m2;
    enum http_method method;
    int r, r2;

    if (size < 1 || size > MAX_PATH_IN)
        return 0;
    method = (enum http_method)(data[0] % _HTTP_METHOD_MAX);
    memcpy(path, data + 1, size - 1);
    path[size - 1] = '\0';

    r = router_pct_decode(path, strlen(path), decoded, sizeof(decoded));
    if (r >= 0) {
        FUZZ_CHECK((size_t)r <= strlen(path));
        FUZZ_CHECK(memchr(decoded, 0, (size_t)r) == NULL && decoded[r] == '\0');
    } else {
        FUZZ_CHECK(r == -EINVAL || r == -ENAMETOOLONG);
    }

    r = router_match(api_routes, api_n_routes, method, path, &m);
    if (r < 0) {
        FUZZ_CHECK(r == -ENOENT || r == -EPERM || r == -EINVAL || r == -ENAMETOOLONG);
        return 0;
    }
    FUZZ_CHECK((size_t)r < api_n_routes);
    FUZZ_CHECK(api_routes[r].method == method);
    FUZZ_CHECK(m.n_params <= ROUTER_MAX_PARAMS);
    for (size_t i = 0; i < m.n_params; i++) {
        const char *pat = api_routes[r].pattern;
        FUZZ_CHECK(m.params[i].name >= pat && m.params[i].name < pat + strlen(pat));
        FUZZ_CHECK(strnlen(m.params[i].value, ROUTER_MAX_PARAM) < ROUTER_MAX_PARAM);
    }

    if (!rebuild(api_routes[r].pattern, &m, again, sizeof(again)))
        return 0;
    r2 = router_match(api_routes, api_n_routes, method, again, &m2);
    FUZZ_CHECK(r2 == r);
    FUZZ_CHECK(m2.n_params == m.n_params);
    for (size_t i = 0; i < m.n_params; i++)
        FUZZ_CHECK(!strcmp(m.params[i].value, m2.params[i].value));
    return 0;
}
