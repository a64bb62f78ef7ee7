/* Unit tests for src/base/path.c: lexical normalisation of sandbox paths, the /proc, /dev,
 * /sys filter, path_is_below and path_basename. Includes a randomised property check: the
 * result is idempotent, absolute, and never contains "." or ".." components or "//". No root
 * needed. */
#include <criterion/criterion.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "base/limits.h"
#include "base/path.h"

#define HOME "/home/cove"

static void norm_eq(const char *in, const char *want)
{
    char out[COVE_MAX_PATH];
    int r = path_normalize(HOME, in, out, sizeof(out));

    cr_assert_geq(r, 0, "normalize '%s': %d", in, r);
    cr_assert_str_eq(out, want, "normalize '%s'", in);
    cr_assert_eq((size_t)r, strlen(out));
}

Test(path, absolute)
{
    norm_eq("/", "/");
    norm_eq("/etc/passwd", "/etc/passwd");
    norm_eq("//etc///passwd//", "/etc/passwd");
    norm_eq("/./etc/./passwd/.", "/etc/passwd");
    norm_eq("/a/b/../c", "/a/c");
    norm_eq("/a/b/../../..", "/");
    norm_eq("/..", "/");
    norm_eq("/../../etc", "/etc");
    norm_eq("/a/./../b/./", "/b");
}

Test(path, relative_to_home)
{
    norm_eq(".", HOME);
    norm_eq("./", HOME);
    norm_eq("file.txt", HOME "/file.txt");
    norm_eq("dir/sub/", HOME "/dir/sub");
    norm_eq("..", "/home");
    norm_eq("../../..", "/");
    norm_eq("../../../../etc/shadow", "/etc/shadow");
    norm_eq("a/../../cove/x", HOME "/x");
}

Test(path, odd_bytes_are_names)
{
    norm_eq("...", HOME "/...");
    norm_eq("/a/..b/.c", "/a/..b/.c");
    norm_eq("/new\nline", "/new\nline");
    norm_eq("/tab\there/\x7f\xff", "/tab\there/\x7f\xff");
    norm_eq("/sp ace", "/sp ace");
}

Test(path, rejects)
{
    char out[COVE_MAX_PATH] = "untouched";
    char *longp = malloc(COVE_MAX_PATH + 10);
    char name[NAME_MAX + 3];

    cr_assert_eq(path_normalize(HOME, "", out, sizeof(out)), -EINVAL);
    cr_assert_eq(path_normalize(HOME, NULL, out, sizeof(out)), -EINVAL);
    cr_assert_eq(path_normalize("relative/home", "x", out, sizeof(out)), -EINVAL);
    cr_assert_eq(path_normalize(NULL, "x", out, sizeof(out)), -EINVAL);
    cr_assert_str_eq(out, "untouched");

    /* input of COVE_MAX_PATH bytes or more */
    cr_assert_not_null(longp);
    memset(longp, 'a', COVE_MAX_PATH + 9);
    longp[0] = '/';
    for (size_t i = 200; i < COVE_MAX_PATH + 9; i += 200)
        longp[i] = '/';
    longp[COVE_MAX_PATH + 9] = '\0';
    cr_assert_eq(path_normalize(HOME, longp, out, sizeof(out)), -ENAMETOOLONG);
    /* exactly COVE_MAX_PATH - 1 bytes fits */
    longp[COVE_MAX_PATH - 1] = '\0';
    if (longp[COVE_MAX_PATH - 2] == '/')
        longp[COVE_MAX_PATH - 2] = 'a';
    cr_assert_eq(path_normalize(HOME, longp, out, sizeof(out)), COVE_MAX_PATH - 1);
    free(longp);

    /* one component longer than NAME_MAX */
    name[0] = '/';
    memset(name + 1, 'n', NAME_MAX + 1);
    name[NAME_MAX + 2] = '\0';
    cr_assert_eq(path_normalize(HOME, name, out, sizeof(out)), -ENAMETOOLONG);
    name[NAME_MAX + 1] = '\0';
    cr_assert_eq(path_normalize(HOME, name, out, sizeof(out)), NAME_MAX + 1);

    /* small output buffer: error, and out untouched */
    {
        char small[6] = "xxxxx";
        cr_assert_eq(path_normalize(HOME, "/abcdef", small, sizeof(small)), -ENAMETOOLONG);
        cr_assert_str_eq(small, "xxxxx");
        cr_assert_eq(path_normalize(HOME, "/abcd", small, sizeof(small)), 5);
        cr_assert_str_eq(small, "/abcd");
        cr_assert_eq(path_normalize(HOME, "/", small, 1), -ENAMETOOLONG);
    }
}

Test(path, forbidden)
{
    cr_assert(path_is_forbidden("/proc"));
    cr_assert(path_is_forbidden("/proc/self/root"));
    cr_assert(path_is_forbidden("/dev"));
    cr_assert(path_is_forbidden("/dev/null"));
    cr_assert(path_is_forbidden("/sys"));
    cr_assert(path_is_forbidden("/sys/fs/cgroup"));
    cr_assert_not(path_is_forbidden("/"));
    cr_assert_not(path_is_forbidden("/procfs"));
    cr_assert_not(path_is_forbidden("/devices"));
    cr_assert_not(path_is_forbidden("/system"));
    cr_assert_not(path_is_forbidden("/home/cove/proc"));
    cr_assert_not(path_is_forbidden("/home/cove/dev/null"));
}

Test(path, forbidden_after_normalising)
{
    char out[COVE_MAX_PATH];

    cr_assert_geq(path_normalize(HOME, "../../proc/self/environ", out, sizeof(out)), 0);
    cr_assert(path_is_forbidden(out));
    cr_assert_geq(path_normalize(HOME, "/tmp/../dev//null", out, sizeof(out)), 0);
    cr_assert(path_is_forbidden(out));
    cr_assert_geq(path_normalize(HOME, "/sys/..", out, sizeof(out)), 0);
    cr_assert_not(path_is_forbidden(out));
}

Test(path, below)
{
    cr_assert(path_is_below("/a/b", "/a"));
    cr_assert(path_is_below("/a/b/c", "/a"));
    cr_assert(path_is_below("/a", "/"));
    cr_assert_not(path_is_below("/", "/"));
    cr_assert_not(path_is_below("/a", "/a"));
    cr_assert_not(path_is_below("/ab", "/a"));
    cr_assert_not(path_is_below("/b/a", "/a"));
    cr_assert_not(path_is_below("/a", "/a/b"));
}

Test(path, basename)
{
    cr_assert_str_eq(path_basename("/"), "/");
    cr_assert_str_eq(path_basename("/a"), "a");
    cr_assert_str_eq(path_basename("/a/b/c.txt"), "c.txt");
}

/* ---- property check ---- */

static const char *const pieces[] = {"a", "b", "..", ".", "", "proc", "...", "x y", "\xff", "cove"};

static void random_path(unsigned *seed, char *buf, size_t cap)
{
    size_t n = 0, parts = (size_t)(rand_r(seed) % 12);

    if (rand_r(seed) % 2)
        buf[n++] = '/';
    for (size_t i = 0; i < parts; i++) {
        const char *p = pieces[(size_t)rand_r(seed) % (sizeof(pieces) / sizeof(pieces[0]))];
        size_t len = strlen(p);
        if (n + len + 2 >= cap)
            break;
        memcpy(buf + n, p, len);
        n += len;
        if (i + 1 < parts || rand_r(seed) % 2)
            buf[n++] = '/';
    }
    buf[n] = '\0';
}

static void check_shape(const char *in, const char *out)
{
    size_t n = strlen(out);

    cr_assert_eq(out[0], '/', "'%s' -> '%s' not absolute", in, out);
    cr_assert_null(strstr(out, "//"), "'%s' -> '%s' has //", in, out);
    cr_assert_null(strstr(out, "/../"), "'%s' -> '%s' has /../", in, out);
    cr_assert_null(strstr(out, "/./"), "'%s' -> '%s' has /./", in, out);
    cr_assert(n == 1 || out[n - 1] != '/', "'%s' -> '%s' trailing /", in, out);
    cr_assert(n < 3 || strcmp(out + n - 3, "/.."), "'%s' -> '%s' ends in /..", in, out);
    cr_assert(n < 2 || strcmp(out + n - 2, "/."), "'%s' -> '%s' ends in /.", in, out);
}

Test(path, property_idempotent_and_contained)
{
    unsigned seed = 12345;
    char in[512], out[COVE_MAX_PATH], again[COVE_MAX_PATH], under[COVE_MAX_PATH];

    for (int i = 0; i < 20000; i++) {
        int r;

        random_path(&seed, in, sizeof(in));
        r = path_normalize(HOME, in, out, sizeof(out));
        if (in[0] == '\0') {
            cr_assert_eq(r, -EINVAL);
            continue;
        }
        cr_assert_geq(r, 0, "'%s': %d", in, r);
        check_shape(in, out);
        /* Idempotent, whatever the home. */
        cr_assert_eq(path_normalize("/elsewhere", out, again, sizeof(again)), r);
        cr_assert_str_eq(again, out, "'%s' -> '%s' -> '%s'", in, out, again);
        /* As the multipart upload uses it: a name normalised under a directory is either
         * below it or recognisably not. */
        r = path_normalize("/srv/up", in, under, sizeof(under));
        cr_assert_geq(r, 0);
        check_shape(in, under);
        if (in[0] != '/' && !strstr(in, ".."))
            cr_assert(path_is_below(under, "/srv/up") || !strcmp(under, "/srv/up"), "'%s'", in);
    }
}
