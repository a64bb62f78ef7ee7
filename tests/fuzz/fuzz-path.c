/* Fuzz target: lexical path normalisation (src/base/path.c).
 *
 * Input: a home directory and a path separated by the first NUL (no NUL: home is /home/cove),
 * the first byte choosing the output capacity. Invariants checked on every input:
 *  - the result never escapes "/": it is absolute, has no empty, "." or ".." component and no
 *    trailing slash, so the kernel resolving it below a root stays below that root;
 *  - normalising is idempotent, and an absolute result ignores the home directory;
 *  - a relative input means exactly home + "/" + input;
 *  - failure leaves the output untouched, and the return value is the length;
 *  - path_is_forbidden, path_is_below and path_basename agree with the string. */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "base/limits.h"
#include "base/path.h"
#include "fuzz.h"

#define BIG (COVE_MAX_PATH * 2 + 4)

static void check_normal(const char *p, size_t len)
{
    FUZZ_CHECK(p[0] == '/');
    FUZZ_CHECK(strlen(p) == len);
    FUZZ_CHECK(len == 1 || p[len - 1] != '/');
    FUZZ_CHECK(!strstr(p, "//"));
    for (const char *c = p; c; c = strchr(c + 1, '/')) {
        const char *end = strchrnul(c + 1, '/');
        size_t n = (size_t)(end - (c + 1));
        FUZZ_CHECK(!(n == 1 && c[1] == '.'));
        FUZZ_CHECK(!(n == 2 && c[1] == '.' && c[2] == '.'));
        FUZZ_CHECK(n <= NAME_MAX);
    }
}

static bool prefix_dir(const char *p, const char *dir)
{
    size_t n = strlen(dir);
    return !strncmp(p, dir, n) && (p[n] == '\0' || p[n] == '/');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char buf[BIG], home[BIG], input[BIG], out[BIG], again[BIG], joined[2 * BIG];
    const char *nul;
    size_t cap;
    int r, r2;

    if (size < 1 || size > BIG - 1)
        return 0;
    /* cap: mostly roomy, sometimes tiny, to exercise -ENAMETOOLONG on the output side. */
    cap = data[0] < 16 ? (size_t)data[0] + 1 : sizeof(out);
    memcpy(buf, data + 1, size - 1);
    buf[size - 1] = '\0';
    nul = memchr(data + 1, 0, size - 1);
    if (nul) {
        snprintf(home, sizeof(home), "%s", buf);
        snprintf(input, sizeof(input), "%s", buf + (nul - (const char *)(data + 1)) + 1);
    } else {
        snprintf(home, sizeof(home), "/home/cove");
        snprintf(input, sizeof(input), "%s", buf);
    }

    memset(out, 0x5a, sizeof(out));
    r = path_normalize(home, input, out, cap);
    if (r < 0) {
        FUZZ_CHECK(r == -EINVAL || r == -ENAMETOOLONG);
        for (size_t i = 0; i < cap; i++)
            FUZZ_CHECK(out[i] == 0x5a); /* untouched on failure */
        return 0;
    }
    FUZZ_CHECK((size_t)r < cap && (size_t)r < COVE_MAX_PATH);
    check_normal(out, (size_t)r);

    /* Idempotent, and an absolute path does not depend on home. */
    r2 = path_normalize("/", out, again, sizeof(again));
    FUZZ_CHECK(r2 == r && !strcmp(again, out));
    r2 = path_normalize("/some/other/home", out, again, sizeof(again));
    FUZZ_CHECK(r2 == r && !strcmp(again, out));

    /* A relative input is home joined with it. */
    if (input[0] != '/') {
        snprintf(joined, sizeof(joined), "%s/%s", home, input);
        if (strlen(joined) < COVE_MAX_PATH) {
            r2 = path_normalize("/", joined, again, sizeof(again));
            FUZZ_CHECK(r2 == r && !strcmp(again, out));
        }
    }

    FUZZ_CHECK(path_is_forbidden(out) ==
               (prefix_dir(out, "/proc") || prefix_dir(out, "/dev") || prefix_dir(out, "/sys")));
    FUZZ_CHECK(path_is_below(out, "/") == (r > 1));
    FUZZ_CHECK(!path_is_below(out, out));
    const char *base = path_basename(out);
    FUZZ_CHECK(r == 1 ? !strcmp(base, "/") : (base > out && !strchr(base, '/') && base[0]));
    if (r > 1) {
        /* The parent (everything before the last slash) is an ancestor. */
        char parent[BIG];
        size_t plen = (size_t)(base - out) - 1;
        memcpy(parent, out, plen ? plen : 1);
        parent[plen ? plen : 1] = '\0';
        FUZZ_CHECK(path_is_below(out, parent));
    }
    return 0;
}
