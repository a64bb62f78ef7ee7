/* Unit tests for src/http/router.c: route matching (literal, {param}, {*rest}), 404 versus
 * 405, tolerance of empty segments, and percent-decoding (bad escapes and %00 rejected). */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "http/router.h"

static int dummy(struct http_req *req)
{
    return 0;
}

static const struct http_route routes[] = {
    {HTTP_GET, "/v1/health", dummy, HTTP_F_PUBLIC},
    {HTTP_POST, "/v1/sandboxes", dummy, 0},
    {HTTP_GET, "/v1/sandboxes", dummy, 0},
    {HTTP_GET, "/v1/sandboxes/{id}", dummy, 0},
    {HTTP_DELETE, "/v1/sandboxes/{id}", dummy, 0},
    {HTTP_POST, "/v1/sandboxes/{id}/exec", dummy, 0},
    {HTTP_GET, "/v1/sandboxes/{id}/files/content", dummy, 0},
    {HTTP_GET, "/v1/sandboxes/{id}/raw/{*path}", dummy, 0},
    {HTTP_GET, "/v1/a/{x}/b/{y}", dummy, 0},
};
#define N_ROUTES (sizeof(routes) / sizeof(routes[0]))

static struct router_match m;

static int match(enum http_method method, const char *path)
{
    memset(&m, 0x5a, sizeof(m));
    return router_match(routes, N_ROUTES, method, path, &m);
}

static const char *param(const char *name)
{
    for (size_t i = 0; i < m.n_params; i++)
        if (m.params[i].name_len == strlen(name) &&
            memcmp(m.params[i].name, name, m.params[i].name_len) == 0)
            return m.params[i].value;
    return NULL;
}

Test(router, literal)
{
    cr_assert_eq(match(HTTP_GET, "/v1/health"), 0);
    cr_assert_eq(m.n_params, 0);
    cr_assert_eq(match(HTTP_POST, "/v1/sandboxes"), 1);
    cr_assert_eq(match(HTTP_GET, "/v1/sandboxes"), 2);
}

Test(router, method_picks_route_with_same_pattern)
{
    cr_assert_eq(match(HTTP_GET, "/v1/sandboxes/abc"), 3);
    cr_assert_eq(match(HTTP_DELETE, "/v1/sandboxes/abc"), 4);
    cr_assert_str_eq(param("id"), "abc");
}

Test(router, params)
{
    cr_assert_eq(match(HTTP_POST, "/v1/sandboxes/3f9c2a7d/exec"), 5);
    cr_assert_eq(m.n_params, 1);
    cr_assert_str_eq(param("id"), "3f9c2a7d");

    cr_assert_eq(match(HTTP_GET, "/v1/a/one/b/two"), 8);
    cr_assert_eq(m.n_params, 2);
    cr_assert_str_eq(param("x"), "one");
    cr_assert_str_eq(param("y"), "two");
    cr_assert_null(param("z"));
}

Test(router, params_are_decoded)
{
    cr_assert_eq(match(HTTP_GET, "/v1/sandboxes/my%20box"), 3);
    cr_assert_str_eq(param("id"), "my box");
    /* %2F stays inside its segment */
    cr_assert_eq(match(HTTP_GET, "/v1/sandboxes/a%2Fb"), 3);
    cr_assert_str_eq(param("id"), "a/b");
    /* '+' is not a space in a path */
    cr_assert_eq(match(HTTP_GET, "/v1/sandboxes/a+b"), 3);
    cr_assert_str_eq(param("id"), "a+b");
    cr_assert_eq(match(HTTP_GET, "/v1/sandboxes/%c3%a9t%C3%A9"), 3);
    cr_assert_str_eq(param("id"), "\xc3\xa9t\xc3\xa9");
}

Test(router, literal_segments_compare_decoded)
{
    cr_assert_eq(match(HTTP_GET, "/v1/%68ealth"), 0);
    cr_assert_eq(match(HTTP_GET, "/v1/healt"), -ENOENT);
    cr_assert_eq(match(HTTP_GET, "/v1/healthz"), -ENOENT);
    cr_assert_eq(match(HTTP_GET, "/v1/Health"), -ENOENT);
}

Test(router, rest_wildcard)
{
    cr_assert_eq(match(HTTP_GET, "/v1/sandboxes/s1/raw/etc/passwd"), 7);
    cr_assert_str_eq(param("id"), "s1");
    cr_assert_str_eq(param("path"), "etc/passwd");

    cr_assert_eq(match(HTTP_GET, "/v1/sandboxes/s1/raw/a%2Fb/c%20d"), 7);
    cr_assert_str_eq(param("path"), "a/b/c d");

    cr_assert_eq(match(HTTP_GET, "/v1/sandboxes/s1/raw//x//y/"), 7);
    cr_assert_str_eq(param("path"), "x/y");
}

Test(router, rest_wildcard_may_be_empty)
{
    cr_assert_eq(match(HTTP_GET, "/v1/sandboxes/s1/raw"), 7);
    cr_assert_str_eq(param("path"), "");
    cr_assert_eq(match(HTTP_GET, "/v1/sandboxes/s1/raw/"), 7);
    cr_assert_str_eq(param("path"), "");
}

Test(router, not_found_versus_method_not_allowed)
{
    cr_assert_eq(match(HTTP_GET, "/v1/nope"), -ENOENT);
    cr_assert_eq(match(HTTP_GET, "/"), -ENOENT);
    cr_assert_eq(match(HTTP_GET, "/v1/sandboxes/a/b"), -ENOENT);
    cr_assert_eq(match(HTTP_POST, "/v1/health"), -EPERM);
    cr_assert_eq(match(HTTP_PUT, "/v1/sandboxes/abc"), -EPERM);
    cr_assert_eq(match(HTTP_GET, "/v1/sandboxes/abc/exec"), -EPERM);
    cr_assert_eq(match(_HTTP_METHOD_INVALID, "/v1/health"), -EPERM);
}

Test(router, empty_segments_ignored)
{
    cr_assert_eq(match(HTTP_GET, "//v1//health"), 0);
    cr_assert_eq(match(HTTP_GET, "/v1/health/"), 0);
    cr_assert_eq(match(HTTP_GET, "/v1/health//"), 0);
    cr_assert_eq(match(HTTP_POST, "/v1//sandboxes//x///exec/"), 5);
    cr_assert_str_eq(param("id"), "x");
}

Test(router, bad_escapes_rejected)
{
    cr_assert_eq(match(HTTP_GET, "/v1/sandboxes/%zz"), -EINVAL);
    cr_assert_eq(match(HTTP_GET, "/v1/sandboxes/%4"), -EINVAL);
    cr_assert_eq(match(HTTP_GET, "/v1/sandboxes/abc%"), -EINVAL);
    cr_assert_eq(match(HTTP_GET, "/v1/sandboxes/%g1"), -EINVAL);
    /* even where no route would match */
    cr_assert_eq(match(HTTP_GET, "/nothing/%"), -EINVAL);
}

Test(router, nul_rejected)
{
    cr_assert_eq(match(HTTP_GET, "/v1/sandboxes/a%00b"), -EINVAL);
    cr_assert_eq(match(HTTP_GET, "/v1/sandboxes/s1/raw/x%00"), -EINVAL);
}

Test(router, not_absolute)
{
    cr_assert_eq(match(HTTP_GET, "v1/health"), -EINVAL);
    cr_assert_eq(match(HTTP_GET, ""), -EINVAL);
    cr_assert_eq(match(HTTP_GET, "*"), -EINVAL);
}

Test(router, untouched_on_failure)
{
    struct router_match before;

    memset(&m, 0x5a, sizeof(m));
    before = m;
    cr_assert_eq(router_match(routes, N_ROUTES, HTTP_GET, "/v1/nope", &m), -ENOENT);
    cr_assert_eq(memcmp(&m, &before, sizeof(m)), 0);
    cr_assert_eq(router_match(routes, N_ROUTES, HTTP_PUT, "/v1/sandboxes/x", &m), -EPERM);
    cr_assert_eq(memcmp(&m, &before, sizeof(m)), 0);
}

Test(router, param_too_long)
{
    char path[ROUTER_MAX_PARAM + 64];
    size_t n = (size_t)snprintf(path, sizeof(path), "/v1/sandboxes/");

    memset(path + n, 'a', ROUTER_MAX_PARAM - 1);
    path[n + ROUTER_MAX_PARAM - 1] = '\0';
    cr_assert_eq(match(HTTP_GET, path), 3); /* exactly fits */
    cr_assert_eq(strlen(param("id")), ROUTER_MAX_PARAM - 1);

    path[n + ROUTER_MAX_PARAM - 1] = 'a';
    path[n + ROUTER_MAX_PARAM] = '\0';
    cr_assert_eq(match(HTTP_GET, path), -ENAMETOOLONG);

    /* the same bytes escaped decode short enough: "%61" is one byte */
    n = (size_t)snprintf(path, sizeof(path), "/v1/sandboxes/");
    for (int i = 0; i < 300; i++)
        n += (size_t)snprintf(path + n, sizeof(path) - n, "%%61");
    cr_assert_eq(match(HTTP_GET, path), 3);
    cr_assert_eq(strlen(param("id")), 300);
}

Test(router, empty_table)
{
    cr_assert_eq(router_match(NULL, 0, HTTP_GET, "/v1/health", &m), -ENOENT);
}

Test(router_pct_decode, basics)
{
    char out[32];

    cr_assert_eq(router_pct_decode("abc", 3, out, sizeof(out)), 3);
    cr_assert_str_eq(out, "abc");
    cr_assert_eq(router_pct_decode("a%20b%2f", 8, out, sizeof(out)), 4);
    cr_assert_str_eq(out, "a b/");
    cr_assert_eq(router_pct_decode("%41%42", 6, out, sizeof(out)), 2);
    cr_assert_str_eq(out, "AB");
    /* only len bytes are read */
    cr_assert_eq(router_pct_decode("abc%zz", 3, out, sizeof(out)), 3);
    cr_assert_str_eq(out, "abc");
    cr_assert_eq(router_pct_decode("", 0, out, sizeof(out)), 0);
    cr_assert_str_eq(out, "");
}

Test(router_pct_decode, rejects)
{
    char out[32];

    cr_assert_eq(router_pct_decode("%", 1, out, sizeof(out)), -EINVAL);
    cr_assert_eq(router_pct_decode("%a", 2, out, sizeof(out)), -EINVAL);
    cr_assert_eq(router_pct_decode("%xy", 3, out, sizeof(out)), -EINVAL);
    cr_assert_eq(router_pct_decode("a%00", 4, out, sizeof(out)), -EINVAL);
    cr_assert_eq(router_pct_decode("a\0b", 3, out, sizeof(out)), -EINVAL);
    /* "%4" followed by the end of the given length, though the string goes on */
    cr_assert_eq(router_pct_decode("%41", 2, out, sizeof(out)), -EINVAL);
}

Test(router_pct_decode, capacity)
{
    char out[4];

    cr_assert_eq(router_pct_decode("abc", 3, out, sizeof(out)), 3);
    cr_assert_eq(router_pct_decode("abcd", 4, out, sizeof(out)), -ENAMETOOLONG);
    cr_assert_eq(router_pct_decode("%41%42%43", 9, out, sizeof(out)), 3);
    cr_assert_str_eq(out, "ABC");
    cr_assert_eq(router_pct_decode("a", 1, out, 0), -EINVAL);
}
