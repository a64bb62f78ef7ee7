/* Unit tests for src/sandbox/fileops.c: nothing escapes the sandbox root.
 *
 * Each test builds a fake sandbox root under a private temporary directory, next to a "host"
 * secret and a "host" directory, and plants the symlinks a hostile sandbox would: absolute
 * host paths, "../../..", links to "/", dangling links, links into /proc and /dev. It then
 * checks that reads, writes, lists, deletes and moves through them stay inside the root (or
 * fail), that kernel filesystems, devices and FIFOs are refused, and that new files belong
 * to the sandbox user. The root is a plain directory here, not /proc/<pid>/root.
 *
 * Needs root (chown, setfsuid, mounts in a private mount namespace); skipped otherwise. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <unistd.h>

#include "sandbox/fileops.h"

#define UID 101000u /* host uid of the sandbox user: uid 1000 inside, ids shifted by 100000 */

static char top[64];   /* the "host": private temporary directory */
static char root[128]; /* the fake sandbox root, top/root */
static struct fileops_root R = {.fd = -EBADF};
static bool ready;

/* ---- fixture ---- */

static void at(char *buf, size_t cap, const char *base, const char *rel)
{
    cr_assert_lt((size_t)snprintf(buf, cap, "%s/%s", base, rel), cap);
}

static void put(const char *base, const char *rel, const char *content, uid_t owner, mode_t mode)
{
    char p[512];
    int fd;

    at(p, sizeof(p), base, rel);
    fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    cr_assert_geq(fd, 0, "create %s: %s", p, strerror(errno));
    cr_assert_eq(write(fd, content, strlen(content)), (ssize_t)strlen(content));
    cr_assert_eq(fchown(fd, owner, owner), 0);
    cr_assert_eq(fchmod(fd, mode), 0);
    close(fd);
}

static void dir(const char *base, const char *rel, uid_t owner, mode_t mode)
{
    char p[512];

    at(p, sizeof(p), base, rel);
    cr_assert_eq(mkdir(p, mode), 0, "mkdir %s: %s", p, strerror(errno));
    cr_assert_eq(chown(p, owner, owner), 0);
    cr_assert_eq(chmod(p, mode), 0);
}

/* A symlink planted by the sandbox (owned by its user). */
static void link_(const char *rel, const char *target)
{
    char p[512];

    at(p, sizeof(p), root, rel);
    cr_assert_eq(symlink(target, p), 0, "symlink %s: %s", p, strerror(errno));
    cr_assert_eq(lchown(p, UID, UID), 0);
}

static char *slurp(const char *base, const char *rel)
{
    static char buf[4096];
    char p[512];
    int fd;
    ssize_t n;

    at(p, sizeof(p), base, rel);
    fd = open(p, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return NULL;
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    buf[n < 0 ? 0 : n] = '\0';
    return buf;
}

static bool exists(const char *base, const char *rel)
{
    char p[512];
    struct stat st;

    at(p, sizeof(p), base, rel);
    return lstat(p, &st) == 0;
}

static void reopen_root(void)
{
    struct cove_err err = {0};
    int fd;

    fileops_root_done(&R);
    fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    cr_assert_geq(fd, 0);
    cr_assert_eq(fileops_root_init(fd, UID, &R, &err), 0, "%s", err.msg);
}

static void setup(void)
{
    char host_path[256];

    alarm(20); /* a FIFO opened by mistake must fail the test, not hang it */
    if (geteuid() != 0)
        return;
    snprintf(top, sizeof(top), "/tmp/cove-fileops-XXXXXX");
    cr_assert_not_null(mkdtemp(top));
    cr_assert_eq(chmod(top, 0755), 0);
    at(root, sizeof(root), top, "root");

    /* the host, writable by anyone so that only path resolution keeps it safe */
    put(top, "secret", "host secret\n", 0, 0666);
    dir(top, "outdir", 0, 0777);
    put(top, "outdir/keep", "keep\n", 0, 0644);
    /* the sandbox: "/" and /etc belong to its root (unmapped here), home to its user */
    dir(top, "root", 0, 0755);
    dir(root, "etc", 0, 0755);
    put(root, "etc/passwd", "sandbox passwd\n", 0, 0644);
    dir(root, "tmp", 0, 01777);
    dir(root, "home", 0, 0755);
    dir(root, "home/cove", UID, 0755);
    put(root, "home/cove/file.txt", "hello", UID, 0644);

    /* what a hostile sandbox plants */
    at(host_path, sizeof(host_path), top, "secret");
    link_("home/cove/hostsecret", host_path);       /* absolute host path */
    link_("home/cove/upsecret", "../../../secret"); /* relative, climbing out */
    link_("home/cove/up", "../../..");              /* "/" the hard way */
    link_("home/cove/rootlink", "/");
    link_("home/cove/etcpasswd", "/etc/passwd");
    at(host_path, sizeof(host_path), top, "outdir");
    link_("home/cove/outdir", host_path);          /* absolute host directory */
    link_("home/cove/outdir2", "../../../outdir"); /* host top/outdir without RESOLVE_IN_ROOT */
    at(host_path, sizeof(host_path), top, "created");
    link_("home/cove/dangling", host_path);

    reopen_root();
    ready = true;
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)ftw;
    return flag == FTW_DP ? rmdir(p) : unlink(p);
}

static void teardown(void)
{
    fileops_root_done(&R);
    if (ready)
        (void)nftw(top, rm_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

TestSuite(fileops, .init = setup, .fini = teardown);

#define NEED_ROOT()                                                                                \
    do {                                                                                           \
        if (!ready)                                                                                \
            cr_skip_test("needs root (chown, setfsuid, mount namespaces)");                        \
    } while (0)

/* ---- helpers over the API ---- */

static int read_all(const char *path, char *buf, size_t cap, struct cove_err *err)
{
    uint64_t size;
    int fd, r = fileops_open_read(&R, path, &fd, &size, err);
    ssize_t n;

    if (r < 0)
        return r;
    n = read(fd, buf, cap - 1);
    close(fd);
    cr_assert_geq(n, 0);
    buf[n] = '\0';
    cr_assert_eq((uint64_t)n, size);
    return 0;
}

static int write_all(const char *path, int mode, const char *content, struct cove_err *err)
{
    struct fileops_writer w = FILEOPS_WRITER_INIT;
    int r = fileops_create(&R, path, mode, &w, err);

    if (r < 0)
        return r;
    cr_assert_eq(fileops_write(&w, content, strlen(content), err), 0, "%s", err->msg);
    cr_assert_eq(w.size, strlen(content));
    return fileops_writer_close(&w, err);
}

static void host_intact(void)
{
    cr_assert_str_eq(slurp(top, "secret"), "host secret\n");
    cr_assert_str_eq(slurp(top, "outdir/keep"), "keep\n");
    cr_assert_not(exists(top, "created"));
    cr_assert_not(exists(top, "outdir/x"));
    cr_assert_str_eq(slurp(root, "etc/passwd"), "sandbox passwd\n");
}

/* ---- reading ---- */

Test(fileops, read_inside)
{
    struct cove_err err = {0};
    char buf[256];

    NEED_ROOT();
    cr_assert_eq(read_all("/home/cove/file.txt", buf, sizeof(buf), &err), 0, "%s", err.msg);
    cr_assert_str_eq(buf, "hello");
    /* symlinks that stay inside resolve inside */
    cr_assert_eq(read_all("/home/cove/etcpasswd", buf, sizeof(buf), &err), 0, "%s", err.msg);
    cr_assert_str_eq(buf, "sandbox passwd\n");
    cr_assert_eq(read_all("/home/cove/up/etc/passwd", buf, sizeof(buf), &err), 0, "%s", err.msg);
    cr_assert_str_eq(buf, "sandbox passwd\n");
    /* fileops wants absolute paths; the API layer resolves relative ones against home */
    cr_assert_eq(read_all("file.txt", buf, sizeof(buf), &err), -EINVAL);
}

Test(fileops, read_never_escapes)
{
    static const char *const paths[] = {
        "/home/cove/hostsecret",         "/home/cove/upsecret", "/home/cove/outdir/keep",
        "/home/cove/outdir2/keep",       "/../../secret",       "/home/cove/up/../../secret",
        "/home/cove/rootlink/../secret", "/home/cove/dangling",
    };
    struct cove_err err = {0};
    char buf[256];

    NEED_ROOT();
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        int r = read_all(paths[i], buf, sizeof(buf), &err);
        cr_assert_eq(r, -ENOENT, "%s: %d (%s)", paths[i], r, r == 0 ? buf : err.msg);
        cr_assert_str_eq(err.kind, "FILE_NOT_FOUND");
    }
    host_intact();
}

Test(fileops, read_refuses_dirs_fifos_sockets)
{
    struct cove_err err = {0};
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    char buf[256];
    int s;

    NEED_ROOT();
    cr_assert_eq(read_all("/home/cove", buf, sizeof(buf), &err), -EISDIR);
    cr_assert_str_eq(err.kind, "INVALID_PATH");
    cr_assert_eq(read_all("/home/cove/rootlink", buf, sizeof(buf), &err), -EISDIR);

    at(buf, sizeof(buf), root, "home/cove/fifo");
    cr_assert_eq(mkfifo(buf, 0666), 0);
    cr_assert_eq(read_all("/home/cove/fifo", buf, sizeof(buf), &err), -EINVAL);
    cr_assert(strstr(err.msg, "FIFO"), "%s", err.msg);
    cr_assert_eq(write_all("/home/cove/fifo", FILEOPS_MODE_KEEP, "x", &err), -EINVAL);

    at(sa.sun_path, sizeof(sa.sun_path), root, "home/cove/sock");
    s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    cr_assert_eq(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
    cr_assert_eq(read_all("/home/cove/sock", buf, sizeof(buf), &err), -EINVAL);
    cr_assert_eq(write_all("/home/cove/sock", FILEOPS_MODE_KEEP, "x", &err), -EINVAL);
    close(s);

    /* a device node, as a sandbox could not make one but a host path might hold */
    at(buf, sizeof(buf), root, "home/cove/null");
    cr_assert_eq(mknod(buf, S_IFCHR | 0666, makedev(1, 3)), 0);
    cr_assert_eq(read_all("/home/cove/null", buf, sizeof(buf), &err), -EINVAL);
    cr_assert(strstr(err.msg, "character device"), "%s", err.msg);
    cr_assert_eq(write_all("/home/cove/null", FILEOPS_MODE_KEEP, "x", &err), -EINVAL);
}

Test(fileops, lexically_forbidden)
{
    static const char *const paths[] = {"/proc/self/environ", "/dev/null", "/sys/kernel",
                                        "/tmp/../proc/1/root"};
    struct cove_err err = {0};
    struct fileops_entry *list = NULL;
    size_t n;
    char buf[64];

    NEED_ROOT();
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        cr_assert_eq(read_all(paths[i], buf, sizeof(buf), &err), -EINVAL, "%s", paths[i]);
        cr_assert_str_eq(err.kind, "INVALID_PATH");
        cr_assert_eq(fileops_list(&R, paths[i], &list, &n, &err), -EINVAL);
        cr_assert_eq(write_all(paths[i], FILEOPS_MODE_KEEP, "x", &err), -EINVAL);
        cr_assert_eq(fileops_delete(&R, paths[i], true, &err), -EINVAL);
    }
}

/* ---- writing ---- */

Test(fileops, write_creates_parents_as_user)
{
    struct cove_err err = {0};
    struct stat st;
    char p[512];

    NEED_ROOT();
    cr_assert_eq(write_all("/home/cove/a/b/c.txt", 0600, "data", &err), 0, "%s", err.msg);
    cr_assert_str_eq(slurp(root, "home/cove/a/b/c.txt"), "data");
    at(p, sizeof(p), root, "home/cove/a/b/c.txt");
    cr_assert_eq(stat(p, &st), 0);
    cr_assert_eq(st.st_uid, UID);
    cr_assert_eq(st.st_gid, UID);
    cr_assert_eq(st.st_mode & 07777, 0600);
    at(p, sizeof(p), root, "home/cove/a/b");
    cr_assert_eq(stat(p, &st), 0);
    cr_assert_eq(st.st_uid, UID);
    cr_assert_eq(st.st_mode & 07777, 0755);
    /* default mode for new files */
    cr_assert_eq(write_all("/home/cove/new", FILEOPS_MODE_KEEP, "", &err), 0, "%s", err.msg);
    at(p, sizeof(p), root, "home/cove/new");
    cr_assert_eq(stat(p, &st), 0);
    cr_assert_eq(st.st_mode & 07777, 0644);
    cr_assert_eq(st.st_size, 0);
    /* through a symlinked parent that stays inside */
    cr_assert_eq(write_all("/home/cove/rootlink/tmp/x", FILEOPS_MODE_KEEP, "t", &err), 0, "%s",
                 err.msg);
    cr_assert_str_eq(slurp(root, "tmp/x"), "t");
}

Test(fileops, write_overwrites_in_place)
{
    struct cove_err err = {0};
    struct stat st;
    char p[512];

    NEED_ROOT();
    at(p, sizeof(p), root, "home/cove/file.txt");
    cr_assert_eq(chmod(p, 0640), 0);
    cr_assert_eq(write_all("/home/cove/file.txt", FILEOPS_MODE_KEEP, "xy", &err), 0, "%s", err.msg);
    cr_assert_str_eq(slurp(root, "home/cove/file.txt"), "xy");
    cr_assert_eq(stat(p, &st), 0);
    cr_assert_eq(st.st_mode & 07777, 0640);
    cr_assert_eq(write_all("/home/cove/file.txt", 0700, "z", &err), 0, "%s", err.msg);
    cr_assert_eq(stat(p, &st), 0);
    cr_assert_eq(st.st_mode & 07777, 0700);
}

Test(fileops, write_never_follows_final_symlink)
{
    struct cove_err err = {0};

    NEED_ROOT();
    cr_assert_eq(write_all("/home/cove/hostsecret", FILEOPS_MODE_KEEP, "pwned", &err), -ELOOP);
    cr_assert_str_eq(err.kind, "INVALID_PATH");
    cr_assert(strstr(err.msg, "symlink"), "%s", err.msg);
    cr_assert_eq(write_all("/home/cove/etcpasswd", FILEOPS_MODE_KEEP, "pwned", &err), -ELOOP);
    cr_assert_eq(write_all("/home/cove/dangling", FILEOPS_MODE_KEEP, "pwned", &err), -ELOOP);
    cr_assert_eq(write_all("/home/cove/upsecret", FILEOPS_MODE_KEEP, "pwned", &err), -ELOOP);
    host_intact();
}

Test(fileops, write_never_escapes_through_parents)
{
    static const char *const paths[] = {"/home/cove/outdir/x", "/home/cove/outdir2/x",
                                        "/home/cove/dangling/x", "/home/cove/outdir/sub/x"};
    struct cove_err err = {0};

    NEED_ROOT();
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        int r = write_all(paths[i], FILEOPS_MODE_KEEP, "pwned", &err);
        cr_assert_lt(r, 0, "%s was written", paths[i]);
    }
    /* "../../secret" from a symlink to / lands on /secret inside the root */
    cr_assert_eq(write_all("/home/cove/up/../../secret", FILEOPS_MODE_KEEP, "in", &err), -EPERM,
                 "%s", err.msg);
    host_intact();
    cr_assert_not(exists(top, "outdir/sub"));
}

Test(fileops, write_as_sandbox_user)
{
    struct cove_err err = {0};

    NEED_ROOT();
    /* /etc belongs to the sandbox's root, not its user: refused as inside the sandbox */
    cr_assert_eq(write_all("/etc/new", FILEOPS_MODE_KEEP, "x", &err), -EPERM);
    cr_assert_str_eq(err.kind, "");
    cr_assert_eq(write_all("/etc/passwd", FILEOPS_MODE_KEEP, "x", &err), -EPERM);
    cr_assert_not(exists(root, "etc/new"));
    host_intact();
    /* the thread is root again afterwards */
    cr_assert_eq(setfsuid((uid_t)-1), 0);
}

Test(fileops, abort_removes_or_truncates)
{
    struct cove_err err = {0};
    struct fileops_writer w = FILEOPS_WRITER_INIT;

    NEED_ROOT();
    cr_assert_eq(fileops_create(&R, "/home/cove/partial", FILEOPS_MODE_KEEP, &w, &err), 0);
    cr_assert(w.created);
    cr_assert_eq(fileops_write(&w, "abc", 3, &err), 0);
    fileops_writer_abort(&w);
    cr_assert_not(exists(root, "home/cove/partial"));
    cr_assert_eq(w.fd, -EBADF);

    cr_assert_eq(fileops_create(&R, "/home/cove/file.txt", FILEOPS_MODE_KEEP, &w, &err), 0);
    cr_assert_not(w.created);
    cr_assert_eq(fileops_write(&w, "abc", 3, &err), 0);
    fileops_writer_abort(&w);
    cr_assert_str_eq(slurp(root, "home/cove/file.txt"), "");
}

/* ---- stat and list ---- */

Test(fileops, stat_entries)
{
    struct cove_err err = {0};
    struct fileops_entry e;

    NEED_ROOT();
    cr_assert_eq(fileops_stat(&R, "/home/cove/file.txt", &e, &err), 0, "%s", err.msg);
    cr_assert_str_eq(e.name, "file.txt");
    cr_assert_eq(e.type, FILEOPS_FILE);
    cr_assert_eq(e.size, 5);
    cr_assert_eq(e.mode, 0644);
    cr_assert_eq(e.uid, 1000);
    cr_assert_eq(e.gid, 1000);
    cr_assert_gt(e.mtime_ms, 0);
    /* owned by an id the sandbox cannot see */
    cr_assert_eq(fileops_stat(&R, "/etc/passwd", &e, &err), 0, "%s", err.msg);
    cr_assert_eq(e.uid, 65534);
    /* lstat semantics */
    cr_assert_eq(fileops_stat(&R, "/home/cove/hostsecret", &e, &err), 0, "%s", err.msg);
    cr_assert_eq(e.type, FILEOPS_SYMLINK);
    cr_assert_str_eq(fileops_type_to_string(e.type), "symlink");
    cr_assert_eq(fileops_stat(&R, "/", &e, &err), 0, "%s", err.msg);
    cr_assert_eq(e.type, FILEOPS_DIR);
    cr_assert_eq(fileops_stat(&R, "/home/cove/outdir/keep", &e, &err), -ENOENT);
    cr_assert_eq(fileops_stat(&R, "/home/cove/nope", &e, &err), -ENOENT);
    cr_assert_str_eq(err.kind, "FILE_NOT_FOUND");
}

Test(fileops, list_sorted_and_inside)
{
    static const char *const want[] = {"dangling", "etcpasswd", "file.txt", "hostsecret", "outdir",
                                       "outdir2",  "rootlink",  "up",       "upsecret"};
    struct cove_err err = {0};
    struct fileops_entry *list = NULL;
    size_t n = 0;

    NEED_ROOT();
    cr_assert_eq(fileops_list(&R, "/home/cove", &list, &n, &err), 0, "%s", err.msg);
    cr_assert_eq(n, sizeof(want) / sizeof(want[0]));
    for (size_t i = 0; i < n; i++)
        cr_assert_str_eq(list[i].name, want[i]);
    cr_assert_eq(list[2].type, FILEOPS_FILE);
    cr_assert_eq(list[3].type, FILEOPS_SYMLINK);
    free(list);

    /* a symlink to "/" lists the sandbox root, not the host's */
    cr_assert_eq(fileops_list(&R, "/home/cove/up", &list, &n, &err), 0, "%s", err.msg);
    cr_assert_eq(n, 3);
    cr_assert_str_eq(list[0].name, "etc");
    cr_assert_str_eq(list[1].name, "home");
    cr_assert_str_eq(list[2].name, "tmp");
    free(list);

    list = NULL;
    cr_assert_eq(fileops_list(&R, "/home/cove/outdir", &list, &n, &err), -ENOENT);
    cr_assert_eq(fileops_list(&R, "/home/cove/file.txt", &list, &n, &err), -ENOTDIR);
    cr_assert_str_eq(err.kind, "INVALID_PATH");
    cr_assert_null(list);
}

/* ---- mkdir, chmod ---- */

Test(fileops, mkdir_modes)
{
    struct cove_err err = {0};
    struct stat st;
    char p[512];

    NEED_ROOT();
    cr_assert_eq(fileops_mkdir(&R, "/home/cove/d", 0700, false, &err), 0, "%s", err.msg);
    at(p, sizeof(p), root, "home/cove/d");
    cr_assert_eq(stat(p, &st), 0);
    cr_assert_eq(st.st_mode & 07777, 0700);
    cr_assert_eq(st.st_uid, UID);
    cr_assert_eq(fileops_mkdir(&R, "/home/cove/d", 0755, false, &err), -EEXIST);
    cr_assert_str_eq(err.kind, "FILE_EXISTS");
    cr_assert_eq(fileops_mkdir(&R, "/home/cove/d", 0755, true, &err), 0);
    cr_assert_eq(fileops_mkdir(&R, "/home/cove/x/y/z", 0755, false, &err), -ENOENT);
    cr_assert_eq(fileops_mkdir(&R, "/home/cove/x/y/z", 0750, true, &err), 0, "%s", err.msg);
    at(p, sizeof(p), root, "home/cove/x/y/z");
    cr_assert_eq(stat(p, &st), 0);
    cr_assert_eq(st.st_mode & 07777, 0750);
    /* mkdir -p through a symlink to an outside directory fails, making nothing outside */
    cr_assert_lt(fileops_mkdir(&R, "/home/cove/outdir/m", 0755, true, &err), 0);
    cr_assert_lt(fileops_mkdir(&R, "/home/cove/dangling", 0755, true, &err), 0);
    cr_assert_not(exists(top, "outdir/m"));
    cr_assert_not(exists(top, "created"));
    /* chmod follows a symlink, inside the root */
    cr_assert_eq(fileops_chmod(&R, "/home/cove/file.txt", 0600, &err), 0, "%s", err.msg);
    at(p, sizeof(p), root, "home/cove/file.txt");
    cr_assert_eq(stat(p, &st), 0);
    cr_assert_eq(st.st_mode & 07777, 0600);
    cr_assert_eq(fileops_chmod(&R, "/home/cove/hostsecret", 0600, &err), -ENOENT);
    host_intact();
}

/* ---- delete ---- */

Test(fileops, delete_symlinks_not_targets)
{
    struct cove_err err = {0};

    NEED_ROOT();
    cr_assert_eq(fileops_delete(&R, "/home/cove/hostsecret", false, &err), 0, "%s", err.msg);
    cr_assert_not(exists(root, "home/cove/hostsecret"));
    cr_assert_eq(fileops_delete(&R, "/home/cove/outdir", true, &err), 0, "%s", err.msg);
    cr_assert_eq(fileops_delete(&R, "/home/cove/up", true, &err), 0, "%s", err.msg);
    cr_assert_eq(fileops_delete(&R, "/home/cove/etcpasswd", false, &err), 0, "%s", err.msg);
    host_intact();
    cr_assert(exists(root, "home/cove/file.txt"));
    /* through a symlinked parent: outside is not found, inside is the sandbox's /etc */
    cr_assert_eq(fileops_delete(&R, "/home/cove/outdir2/keep", false, &err), -ENOENT);
    cr_assert_eq(fileops_delete(&R, "/home/cove/rootlink/etc/passwd", false, &err), -EPERM);
    host_intact();
}

Test(fileops, delete_recursive_stays_inside)
{
    struct cove_err err = {0};
    char host_path[256];

    NEED_ROOT();
    dir(root, "home/cove/tree", UID, 0755);
    dir(root, "home/cove/tree/d1", UID, 0755);
    dir(root, "home/cove/tree/d1/d2", UID, 0755);
    put(root, "home/cove/tree/d1/d2/f", "f", UID, 0644);
    put(root, "home/cove/tree/f", "f", UID, 0644);
    at(host_path, sizeof(host_path), top, "outdir");
    link_("home/cove/tree/l1", host_path);
    link_("home/cove/tree/d1/l2", "../../../..");
    link_("home/cove/tree/d1/d2/l3", "/etc");

    cr_assert_eq(fileops_delete(&R, "/home/cove/tree", false, &err), -ENOTEMPTY);
    cr_assert(strstr(err.msg, "recursive"), "%s", err.msg);
    cr_assert_eq(fileops_delete(&R, "/home/cove/tree", true, &err), 0, "%s", err.msg);
    cr_assert_not(exists(root, "home/cove/tree"));
    host_intact();
    cr_assert(exists(root, "home/cove/file.txt"));
    cr_assert_eq(fileops_delete(&R, "/", true, &err), -EINVAL);
    cr_assert_eq(fileops_delete(&R, "/home/cove/tree", true, &err), -ENOENT);
}

/* ---- move ---- */

Test(fileops, move_onto_and_through_symlinks)
{
    struct cove_err err = {0};
    struct fileops_entry e;

    NEED_ROOT();
    cr_assert_eq(fileops_move(&R, "/home/cove/file.txt", "/home/cove/hostsecret", false, &err),
                 -EEXIST);
    cr_assert_str_eq(err.kind, "FILE_EXISTS");
    cr_assert_eq(fileops_move(&R, "/home/cove/file.txt", "/home/cove/hostsecret", true, &err), 0,
                 "%s", err.msg);
    cr_assert_str_eq(slurp(root, "home/cove/hostsecret"), "hello"); /* the link was replaced */
    host_intact();
    /* a symlink moves as a link */
    cr_assert_eq(fileops_move(&R, "/home/cove/etcpasswd", "/home/cove/moved", false, &err), 0);
    cr_assert_eq(fileops_stat(&R, "/home/cove/moved", &e, &err), 0);
    cr_assert_eq(e.type, FILEOPS_SYMLINK);
    /* destinations behind outside symlinks do not exist */
    cr_assert_eq(fileops_move(&R, "/home/cove/moved", "/home/cove/outdir/x", false, &err), -ENOENT);
    cr_assert_eq(fileops_move(&R, "/home/cove/moved", "/home/cove/outdir2/x", true, &err), -ENOENT);
    cr_assert_eq(fileops_move(&R, "/home/cove/outdir/keep", "/home/cove/k", false, &err), -ENOENT);
    cr_assert_eq(fileops_move(&R, "/home/cove/nope", "/home/cove/k", false, &err), -ENOENT);
    cr_assert_eq(fileops_move(&R, "/home/cove", "/home/cove/inside", false, &err), -EINVAL);
    host_intact();
}

/* ---- kernel filesystems reached through symlinks ---- */

static void private_mount(const char *type, const char *rel)
{
    char p[512];

    at(p, sizeof(p), root, rel);
    (void)mkdir(p, 0755);
    cr_assert_eq(mount(type, p, type, 0, NULL), 0, "mount %s on %s: %s", type, p, strerror(errno));
}

Test(fileops, kernel_filesystems_via_symlinks)
{
    struct cove_err err = {0};
    struct fileops_entry *list = NULL;
    size_t n;
    char buf[256];

    NEED_ROOT();
    if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        cr_skip_test("no private mount namespace: %s", strerror(errno));
    private_mount("proc", "proc");
    private_mount("tmpfs", "dev");
    at(buf, sizeof(buf), root, "dev/null");
    cr_assert_eq(mknod(buf, S_IFCHR | 0666, makedev(1, 3)), 0);
    put(root, "dev/plain", "dev file", 0, 0644);
    reopen_root(); /* learns the /proc and /dev mounts */

    link_("home/cove/p", "/proc/self/environ");
    link_("home/cove/pdir", "/proc/self");
    link_("home/cove/d", "/dev");
    link_("home/cove/magic", "/proc/1/root");

    cr_assert_eq(read_all("/home/cove/p", buf, sizeof(buf), &err), -EINVAL);
    cr_assert(strstr(err.msg, "kernel filesystem"), "%s", err.msg);
    cr_assert_eq(fileops_list(&R, "/home/cove/pdir", &list, &n, &err), -EINVAL);
    /* /dev is a tmpfs: refused by its mount, not its type */
    cr_assert_eq(fileops_list(&R, "/home/cove/d", &list, &n, &err), -EINVAL);
    cr_assert_eq(read_all("/home/cove/d/plain", buf, sizeof(buf), &err), -EINVAL);
    cr_assert(strstr(err.msg, "/dev"), "%s", err.msg);
    cr_assert_eq(read_all("/home/cove/d/null", buf, sizeof(buf), &err), -EINVAL);
    cr_assert_eq(write_all("/home/cove/d/new", FILEOPS_MODE_KEEP, "x", &err), -EINVAL);
    cr_assert_eq(write_all("/home/cove/d/sub/new", FILEOPS_MODE_KEEP, "x", &err), -EINVAL);
    cr_assert_not(exists(root, "dev/new"));
    cr_assert_not(exists(root, "dev/sub"));
    /* magic links are refused by openat2 itself */
    cr_assert_lt(read_all("/home/cove/magic/etc/passwd", buf, sizeof(buf), &err), 0);
    cr_assert_eq(fileops_move(&R, "/home/cove/file.txt", "/home/cove/d/moved", false, &err),
                 -EINVAL);
    cr_assert_eq(fileops_delete(&R, "/home/cove/d/plain", false, &err), -EINVAL);
    cr_assert(exists(root, "dev/plain"));
    cr_assert_null(list);
    /* the links themselves are ordinary sandbox files */
    cr_assert_eq(fileops_delete(&R, "/home/cove/d", true, &err), 0, "%s", err.msg);
    cr_assert(exists(root, "dev/plain"));

    at(buf, sizeof(buf), root, "proc");
    (void)umount2(buf, MNT_DETACH);
    at(buf, sizeof(buf), root, "dev");
    (void)umount2(buf, MNT_DETACH);
}

Test(fileops, delete_stops_at_mount_points)
{
    struct cove_err err = {0};
    char p[512];

    NEED_ROOT();
    if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        cr_skip_test("no private mount namespace: %s", strerror(errno));
    dir(root, "home/cove/tree", UID, 0755);
    put(root, "home/cove/tree/f", "f", UID, 0644);
    private_mount("tmpfs", "home/cove/tree/mnt");
    put(root, "home/cove/tree/mnt/precious", "p", UID, 0644);
    private_mount("tmpfs", "home/cove/m2");
    reopen_root(); /* an fd opened before unshare() walks the old namespace's mounts */

    cr_assert_eq(fileops_delete(&R, "/home/cove/tree", true, &err), -EXDEV);
    cr_assert(strstr(err.msg, "mount point"), "%s", err.msg);
    cr_assert_str_eq(slurp(root, "home/cove/tree/mnt/precious"), "p");
    cr_assert_eq(fileops_delete(&R, "/home/cove/m2", true, &err), -EBUSY);

    at(p, sizeof(p), root, "home/cove/tree/mnt");
    (void)umount2(p, MNT_DETACH);
    at(p, sizeof(p), root, "home/cove/m2");
    (void)umount2(p, MNT_DETACH);
}
