/* The `base` image: a skeleton root built once per state directory.
 *
 * /etc is generated, not copied: passwd and group name the sandbox user, hosts and
 * resolv.conf describe a machine with no network, and only the host files programs need to
 * run are copied in (dynamic linker cache, alternatives symlinks, CA certificates, Java and
 * Python configuration, fonts). Secrets such as shadow, ssh keys or sudoers never are. */
#include "sandbox/image.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/log.h"

#define IMAGE_FORMAT "3"

static char images_dir[512];

/* Host /etc entries copied into the image (files, symlinks or whole trees). */
static const char *const etc_copy[] = {
    "alternatives",
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "localtime",
    "timezone",
    "ssl/certs/ca-certificates.crt",
    "ssl/openssl.cnf",
    "java-17-openjdk",
    "python3",
    "python3.11",
    "matplotlibrc",
    "fonts",
    "mime.types",
    "bash.bashrc",
    "profile",
    "profile.d",
    "inputrc",
    "protocols",
    "services",
    "gai.conf",
    "host.conf",
    "os-release",
    "debian_version",
    "shells",
    "environment",
    "mailcap",
    "postgresql-common",
    "gitconfig",
    "magic",
    "magic.mime",
    "login.defs",
    "papersize",
    "ucf.conf",
    "xdg",
    "skel",
    "npmrc",
    "nodejs",
    "perl",
    "vim",
    "bindresvport.blacklist",
    "deluser.conf",
    "ca-certificates.conf",
};

static const struct {
    const char *path;
    const char *content;
} etc_gen[] = {
    {"passwd", "root:x:0:0:root:/root:/bin/bash\n"
               "cove:x:1000:1000:cove:/home/cove:/bin/bash\n"
               "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"},
    {"group", "root:x:0:\ntty:x:5:\ncove:x:1000:\nnogroup:x:65534:\n"},
    {"hosts", "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"},
    {"resolv.conf", "# cove: this sandbox has no network by default\n"},
    {"nsswitch.conf", "passwd: files\ngroup: files\nshadow: files\nhosts: files\n"
                      "networks: files\nprotocols: files\nservices: files\n"},
    {"hostname", "sandbox\n"},
};

static int write_file(int dfd, const char *name, const char *content, mode_t mode)
{
    _cleanup_close_ int fd =
        openat(dfd, name, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, mode);
    size_t n = strlen(content);

    if (fd < 0)
        return -errno;
    if (write(fd, content, n) != (ssize_t)n)
        return -errno;
    return 0;
}

/* Copy src (a host path) to dst, recursively, keeping symlinks as symlinks. */
static int copy_tree(const char *src, const char *dst)
{
    struct stat st;

    if (lstat(src, &st) < 0)
        return errno == ENOENT ? 0 : -errno;
    if (S_ISLNK(st.st_mode)) {
        char target[PATH_MAX];
        ssize_t n = readlink(src, target, sizeof(target) - 1);
        if (n < 0)
            return -errno;
        target[n] = '\0';
        return symlink(target, dst) < 0 && errno != EEXIST ? -errno : 0;
    }
    if (S_ISDIR(st.st_mode)) {
        if (mkdir(dst, st.st_mode & 0755) < 0 && errno != EEXIST)
            return -errno;
        _cleanup_closedir_ DIR *d = opendir(src);
        if (!d)
            return -errno;
        for (struct dirent *de; (de = readdir(d));) {
            char s2[PATH_MAX], d2[PATH_MAX];
            if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
                continue;
            snprintf(s2, sizeof(s2), "%s/%s", src, de->d_name);
            snprintf(d2, sizeof(d2), "%s/%s", dst, de->d_name);
            int r = copy_tree(s2, d2);
            if (r < 0)
                return r;
        }
        return 0;
    }
    if (!S_ISREG(st.st_mode) || !(st.st_mode & S_IROTH))
        return 0; /* only world-readable regular files: nothing private leaks in */
    _cleanup_close_ int in = open(src, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    _cleanup_close_ int out =
        open(dst, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, st.st_mode & 0755);
    if (in < 0 || out < 0)
        return -errno;
    for (off_t off = 0; off < st.st_size;) {
        ssize_t n = sendfile(out, in, &off, (size_t)(st.st_size - off));
        if (n <= 0)
            return n < 0 ? -errno : 0;
    }
    return 0;
}

static int build_base(const char *root, struct cove_err *err)
{
    static const struct {
        const char *path;
        mode_t mode;
    } dirs[] = {
        {"usr", 0755},       {"etc", 0755},       {"etc/ssl", 0755}, {"etc/ssl/certs", 0755},
        {"home", 0755},      {"tmp", 01777},      {"var", 0755},     {"var/tmp", 01777},
        {"var/lib", 0755},   {"var/cache", 0755}, {"var/log", 0755}, {"run", 0755},
        {"run/lock", 01777}, {"proc", 0555},      {"dev", 0755},     {"sys", 0555},
        {"root", 0700},      {"opt", 0755},       {"mnt", 0755},     {"srv", 0755},
        {"media", 0755},
    };
    static const char *const links[] = {"bin", "sbin", "lib", "lib32", "lib64", "libx32"};
    char p[PATH_MAX], target[PATH_MAX];
    _cleanup_close_ int etc = -EBADF;
    int r;

    if (mkdir(root, 0755) < 0)
        return cove_err_errno(err, errno, "create %s", root);
    for (size_t i = 0; i < ELEMENTSOF(dirs); i++) {
        snprintf(p, sizeof(p), "%s/%s", root, dirs[i].path);
        if (mkdir(p, dirs[i].mode) < 0 || chmod(p, dirs[i].mode) < 0)
            return cove_err_errno(err, errno, "create %s", p);
    }
    /* merged-/usr: mirror the host's top-level links (/bin -> usr/bin, ...) */
    for (size_t i = 0; i < ELEMENTSOF(links); i++) {
        char hp[64];
        snprintf(hp, sizeof(hp), "/%s", links[i]);
        ssize_t n = readlink(hp, target, sizeof(target) - 1);
        if (n < 0)
            continue;
        target[n] = '\0';
        snprintf(p, sizeof(p), "%s/%s", root, links[i]);
        if (symlink(target, p) < 0)
            return cove_err_errno(err, errno, "link %s", p);
    }
    for (size_t i = 0; i < ELEMENTSOF(etc_copy); i++) {
        char src[PATH_MAX];
        snprintf(src, sizeof(src), "/etc/%s", etc_copy[i]);
        snprintf(p, sizeof(p), "%s/etc/%s", root, etc_copy[i]);
        r = copy_tree(src, p);
        if (r < 0)
            log_warn("image base: cannot copy %s: %s", src, strerror(-r));
    }
    snprintf(p, sizeof(p), "%s/etc", root);
    etc = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (etc < 0)
        return cove_err_errno(err, errno, "open %s", p);
    for (size_t i = 0; i < ELEMENTSOF(etc_gen); i++) {
        r = write_file(etc, etc_gen[i].path, etc_gen[i].content, 0644);
        if (r < 0)
            return cove_err_errno(err, -r, "write /etc/%s", etc_gen[i].path);
    }
    /* Debian's ca-certificates.crt also answers as the usual OpenSSL hash directory file. */
    (void)!symlinkat("/etc/ssl/certs/ca-certificates.crt", etc, "ssl/cert.pem");
    return 0;
}

static int rm_rf(const char *path)
{
    struct stat st;

    if (lstat(path, &st) < 0)
        return errno == ENOENT ? 0 : -errno;
    if (S_ISDIR(st.st_mode)) {
        _cleanup_closedir_ DIR *d = opendir(path);
        for (struct dirent *de; d && (de = readdir(d));) {
            char p[PATH_MAX];
            if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
                continue;
            snprintf(p, sizeof(p), "%s/%s", path, de->d_name);
            rm_rf(p);
        }
        return rmdir(path) < 0 ? -errno : 0;
    }
    return unlink(path) < 0 ? -errno : 0;
}

int image_init(const char *state_dir, struct cove_err *err)
{
    char base[600], root[700], stamp[700], tmp[700], got[16] = "";
    int r;

    snprintf(images_dir, sizeof(images_dir), "%s/images", state_dir);
    if (mkdir(images_dir, 0755) < 0 && errno != EEXIST)
        return cove_err_errno(err, errno, "create %s", images_dir);
    (void)chmod(images_dir, 0755);
    snprintf(base, sizeof(base), "%s/base", images_dir);
    snprintf(root, sizeof(root), "%s/root", base);
    snprintf(stamp, sizeof(stamp), "%s/format", base);
    _cleanup_fclose_ FILE *f = fopen(stamp, "re");
    if (f && fgets(got, sizeof(got), f) && !strcmp(got, IMAGE_FORMAT "\n"))
        return 0;
    /* Build next to the old one and swap, so running sandboxes keep a valid lower layer
     * until they restart. */
    if (mkdir(base, 0755) < 0 && errno != EEXIST)
        return cove_err_errno(err, errno, "create %s", base);
    snprintf(tmp, sizeof(tmp), "%s/root.new", base);
    rm_rf(tmp);
    r = build_base(tmp, err);
    if (r < 0)
        return r;
    rm_rf(root);
    if (rename(tmp, root) < 0)
        return cove_err_errno(err, errno, "install image base");
    _cleanup_close_ int sfd = open(stamp, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644);
    if (sfd < 0 || write(sfd, IMAGE_FORMAT "\n", 2) != 2)
        return cove_err_errno(err, errno, "write %s", stamp);
    log_info("built image base in %s", root);
    return 0;
}

bool image_exists(const char *name)
{
    return !strcmp(name, "base");
}

int image_lower_path(const char *name, char *buf, size_t cap)
{
    if (!image_exists(name))
        return -ENOENT;
    snprintf(buf, cap, "%s/%s/root", images_dir, name);
    return 0;
}
