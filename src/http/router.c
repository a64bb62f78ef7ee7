/* Route matching and path percent-decoding. Pure: no allocation, no I/O, no global state, so
 * both functions can be unit-tested and fuzzed on their own and called from any thread.
 *
 * A path and a pattern are compared segment by segment. Empty segments ("//", a trailing
 * "/") are skipped on both sides. A literal pattern segment must equal the percent-decoded
 * path segment; "{name}" captures one decoded segment; "{*name}" must be the last pattern
 * segment and captures the rest of the path: its non-empty segments joined with "/", then
 * decoded, without leading or trailing slash (empty when nothing is left). Because
 * segments are split before decoding, "%2F" inside a segment stays part of that segment.
 *
 * Routes are tried in table order; the first whose pattern and method both match wins.
 *
 * Invariant: a decoded value never contains a NUL byte ("%00" is rejected), so the C
 * strings handed to handlers are never silently truncated. */
#include "http/router.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <string.h>

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decode src[0..len) into dst (which may be NULL to only validate). Returns the decoded
 * length, -EINVAL for a bad escape or a NUL byte, -ENAMETOOLONG when dst is too small. */
static int pct_decode(const char *src, size_t len, char *dst, size_t cap)
{
    size_t n = 0;

    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)src[i];

        if (c == '%') {
            int hi, lo;

            if (len - i < 3)
                return -EINVAL;
            hi = hex_value(src[i + 1]);
            lo = hex_value(src[i + 2]);
            if (hi < 0 || lo < 0)
                return -EINVAL;
            c = (unsigned char)(hi << 4 | lo);
            i += 2;
        }
        if (c == '\0')
            return -EINVAL;
        if (dst) {
            if (n + 1 >= cap)
                return -ENAMETOOLONG;
            dst[n] = (char)c;
        }
        if (n >= INT_MAX - 1)
            return -ENAMETOOLONG;
        n++;
    }
    if (dst)
        dst[n] = '\0';
    return (int)n;
}

int router_pct_decode(const char *src, size_t len, char *dst, size_t cap)
{
    if (!src || !dst || cap == 0)
        return -EINVAL;
    return pct_decode(src, len, dst, cap);
}

/* Advance *pos past slashes to the next non-empty segment of s[0..len). Returns false when
 * none is left. */
static bool next_segment(const char *s, size_t len, size_t *pos, const char **ret_seg,
                         size_t *ret_len)
{
    size_t i = *pos, start;

    while (i < len && s[i] == '/')
        i++;
    if (i >= len) {
        *pos = i;
        return false;
    }
    start = i;
    while (i < len && s[i] != '/')
        i++;
    *pos = i;
    *ret_seg = s + start;
    *ret_len = i - start;
    return true;
}

/* Does the encoded segment decode to exactly lit[0..lit_len)? */
static bool segment_equals(const char *seg, size_t seg_len, const char *lit, size_t lit_len)
{
    size_t n = 0;

    for (size_t i = 0; i < seg_len; i++, n++) {
        char c = seg[i];

        if (c == '%') {
            int hi = seg_len - i >= 3 ? hex_value(seg[i + 1]) : -1;
            int lo = seg_len - i >= 3 ? hex_value(seg[i + 2]) : -1;

            if (hi < 0 || lo < 0)
                return false;
            c = (char)(hi << 4 | lo);
            i += 2;
        }
        if (n >= lit_len || lit[n] != c)
            return false;
    }
    return n == lit_len;
}

/* "{*name}" value: the remaining non-empty segments joined with '/', decoded. */
static int capture_rest(const char *path, size_t len, size_t pos, char *out, size_t cap)
{
    const char *seg;
    size_t seg_len, n = 0;

    out[0] = '\0';
    while (next_segment(path, len, &pos, &seg, &seg_len)) {
        int r;

        if (n > 0) {
            if (n + 1 >= cap)
                return -ENAMETOOLONG;
            out[n++] = '/';
        }
        r = pct_decode(seg, seg_len, out + n, cap - n);
        if (r < 0)
            return r;
        n += (size_t)r;
    }
    out[n] = '\0';
    return 0;
}

static struct router_param *new_param(struct router_match *m, const char *name, size_t name_len)
{
    struct router_param *p;

    if (m->n_params >= ROUTER_MAX_PARAMS)
        return NULL;
    p = &m->params[m->n_params++];
    p->name = name;
    p->name_len = name_len;
    p->value[0] = '\0';
    return p;
}

/* Match one pattern against an already validated path. Returns 0 on a match, -ENOENT when
 * the shapes differ, -ENAMETOOLONG when a captured value does not fit. */
static int match_pattern(const char *pattern, const char *path, struct router_match *m)
{
    size_t pat_len = strlen(pattern), path_len = strlen(path), pp = 0, sp = 0;
    const char *pseg, *sseg;
    size_t pseg_len, sseg_len;

    m->n_params = 0;
    while (next_segment(pattern, pat_len, &pp, &pseg, &pseg_len)) {
        struct router_param *p;
        int r;

        if (pseg_len >= 3 && pseg[0] == '{' && pseg[1] == '*' && pseg[pseg_len - 1] == '}') {
            p = new_param(m, pseg + 2, pseg_len - 3);
            if (!p)
                return -ENOENT; /* pattern with too many parameters: never matches */
            return capture_rest(path, path_len, sp, p->value, sizeof(p->value));
        }
        if (!next_segment(path, path_len, &sp, &sseg, &sseg_len))
            return -ENOENT;
        if (pseg_len >= 2 && pseg[0] == '{' && pseg[pseg_len - 1] == '}') {
            p = new_param(m, pseg + 1, pseg_len - 2);
            if (!p)
                return -ENOENT;
            r = pct_decode(sseg, sseg_len, p->value, sizeof(p->value));
            if (r < 0)
                return r;
        } else if (!segment_equals(sseg, sseg_len, pseg, pseg_len)) {
            return -ENOENT;
        }
    }
    if (next_segment(path, path_len, &sp, &sseg, &sseg_len))
        return -ENOENT;
    return 0;
}

/* Besides the documented -ENOENT and -EPERM, returns -EINVAL for a path that is not
 * absolute or is badly percent-encoded, and -ENAMETOOLONG when the only matching patterns
 * would capture a value longer than ROUTER_MAX_PARAM - 1 bytes. *ret is untouched on
 * failure. */
int router_match(const struct http_route *routes, size_t n, enum http_method method,
                 const char *path, struct router_match *ret)
{
    struct router_match m;
    bool path_matched = false, too_long = false;

    if (!path || path[0] != '/' || !ret)
        return -EINVAL;
    if (pct_decode(path, strlen(path), NULL, 0) < 0)
        return -EINVAL;

    for (size_t i = 0; i < n && i < INT_MAX; i++) {
        int r;

        if (!routes[i].pattern)
            continue;
        r = match_pattern(routes[i].pattern, path, &m);
        if (r == -ENAMETOOLONG)
            too_long = true;
        if (r < 0)
            continue;
        if (routes[i].method != method) {
            path_matched = true;
            continue;
        }
        *ret = m;
        return (int)i;
    }
    if (path_matched)
        return -EPERM;
    return too_long ? -ENAMETOOLONG : -ENOENT;
}
