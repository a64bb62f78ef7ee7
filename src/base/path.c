/* Lexical path normalisation for sandbox paths (see path.h). The output is built component by
 * component into the caller's buffer; ".." pops back to the previous '/'. Nothing here trusts
 * the input: lengths are checked before every copy. */
#include "path.h"

#include <errno.h>
#include <limits.h>
#include <string.h>

#include "base/limits.h"

/* Append the components of s to out (currently len bytes, always starting with '/'). */
static int push_components(const char *s, char *out, size_t *len, size_t cap)
{
    while (*s) {
        const char *end = strchrnul(s, '/');
        size_t n = (size_t)(end - s);

        if (n == 0 || (n == 1 && s[0] == '.')) {
            /* empty ("//") or "." component: nothing to do */
        } else if (n == 2 && s[0] == '.' && s[1] == '.') {
            /* Pop one component; at "/" there is nothing to pop, as in the kernel. */
            while (*len > 1 && out[*len - 1] != '/')
                (*len)--;
            if (*len > 1)
                (*len)--;
        } else {
            size_t need = *len + (*len > 1) + n;
            if (n > NAME_MAX || need >= cap || need >= COVE_MAX_PATH)
                return -ENAMETOOLONG;
            if (*len > 1)
                out[(*len)++] = '/';
            memcpy(out + *len, s, n);
            *len += n;
        }
        s = *end ? end + 1 : end;
    }
    return 0;
}

int path_normalize(const char *home, const char *input, char *out, size_t cap)
{
    char tmp[COVE_MAX_PATH];
    size_t len = 1;
    int r;

    if (!input || !input[0])
        return -EINVAL;
    if (strnlen(input, COVE_MAX_PATH) >= COVE_MAX_PATH)
        return -ENAMETOOLONG;
    if (cap < 2)
        return -ENAMETOOLONG;
    /* Build in a scratch buffer so out stays untouched on failure. */
    tmp[0] = '/';
    if (input[0] != '/') {
        if (!home || home[0] != '/')
            return -EINVAL;
        r = push_components(home, tmp, &len, sizeof(tmp));
        if (r < 0)
            return r;
    }
    r = push_components(input, tmp, &len, sizeof(tmp));
    if (r < 0)
        return r;
    if (len >= cap)
        return -ENAMETOOLONG;
    memcpy(out, tmp, len);
    out[len] = '\0';
    return (int)len;
}

static bool has_prefix_dir(const char *norm, const char *dir)
{
    size_t n = strlen(dir);
    return strncmp(norm, dir, n) == 0 && (norm[n] == '\0' || norm[n] == '/');
}

bool path_is_forbidden(const char *norm)
{
    /* Kernel interfaces: reading them would show the host's view (from coved's side of the
     * mount) or reach devices; fileops.c also refuses them by filesystem type. */
    return has_prefix_dir(norm, "/proc") || has_prefix_dir(norm, "/dev") ||
           has_prefix_dir(norm, "/sys");
}

bool path_is_below(const char *norm, const char *dir)
{
    size_t n = strlen(dir);

    if (n == 1 && dir[0] == '/')
        return norm[0] == '/' && norm[1] != '\0';
    return strncmp(norm, dir, n) == 0 && norm[n] == '/' && norm[n + 1] != '\0';
}

const char *path_basename(const char *norm)
{
    const char *slash = strrchr(norm, '/');

    if (!slash || slash[1] == '\0')
        return norm;
    return slash + 1;
}
