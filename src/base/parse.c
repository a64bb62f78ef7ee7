/* Strict string-to-number parsing used for query parameters, CLI flags and config. */
#include "parse.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

int parse_u64(const char *s, uint64_t *ret)
{
    char *end;
    unsigned long long v;

    if (!s || !isdigit((unsigned char)s[0]))
        return -EINVAL;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno == ERANGE)
        return -ERANGE;
    if (*end != '\0')
        return -EINVAL;
    *ret = v;
    return 0;
}

int parse_i64(const char *s, int64_t *ret)
{
    char *end;
    long long v;

    if (!s || !(isdigit((unsigned char)s[0]) || (s[0] == '-' && isdigit((unsigned char)s[1]))))
        return -EINVAL;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno == ERANGE)
        return -ERANGE;
    if (*end != '\0')
        return -EINVAL;
    *ret = v;
    return 0;
}

int parse_u32_range(const char *s, uint32_t min, uint32_t max, uint32_t *ret)
{
    uint64_t v;
    int r = parse_u64(s, &v);

    if (r < 0)
        return r;
    if (v < min || v > max)
        return -ERANGE;
    *ret = (uint32_t)v;
    return 0;
}

int parse_bool(const char *s, bool *ret)
{
    if (!s)
        return -EINVAL;
    if (!strcmp(s, "true") || !strcmp(s, "1") || !strcmp(s, "yes")) {
        *ret = true;
        return 0;
    }
    if (!strcmp(s, "false") || !strcmp(s, "0") || !strcmp(s, "no")) {
        *ret = false;
        return 0;
    }
    return -EINVAL;
}

int parse_mode(const char *s, uint32_t *ret)
{
    uint32_t v = 0;
    size_t n;

    if (!s || !*s)
        return -EINVAL;
    n = strlen(s);
    if (n > 5)
        return -EINVAL;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '7')
            return -EINVAL;
        v = v * 8 + (uint32_t)(s[i] - '0');
    }
    if (v > 07777)
        return -ERANGE;
    *ret = v;
    return 0;
}
