/* Host check: each requirement of the sandbox runtime, tested for real where that is cheap
 * (a throw-away child tries to create the namespaces), with a concrete fix when it fails. */
#include "sandbox/hostcheck.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox/cgroup.h"
#include "sandbox/egress.h"

static bool file_has(const char *path, const char *needle)
{
    char buf[8192];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n;

    if (fd < 0)
        return false;
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return false;
    buf[n] = '\0';
    return strstr(buf, needle) != NULL;
}

static bool try_namespaces(void)
{
    pid_t pid = fork();
    int status;

    if (pid == 0)
        _exit(unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWUTS |
                      CLONE_NEWIPC | CLONE_NEWCGROUP) < 0);
    if (pid < 0 || waitpid(pid, &status, 0) < 0)
        return false;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

bool check_host(const char *state_dir)
{
    char buf[4096];
    bool ok = true, cg_ok;
    struct open_how how = {.flags = O_PATH, .resolve = RESOLVE_IN_ROOT};
    int fd;

#define LINE(cond, good, ...)                                                                      \
    do {                                                                                           \
        if (cond)                                                                                  \
            printf("ok   %s\n", good);                                                             \
        else {                                                                                     \
            ok = false;                                                                            \
            printf("FAIL " __VA_ARGS__);                                                           \
            printf("\n");                                                                          \
        }                                                                                          \
    } while (0)

    LINE(geteuid() == 0, "running as root", "not root. Fix: run coved as root (sudo coved)");
    LINE(try_namespaces(), "user, mount, pid, net, uts, ipc and cgroup namespaces",
         "cannot create namespaces. Fix: sysctl -w user.max_user_namespaces=65536 (and "
         "kernel.unprivileged_userns_clone=1 on Debian kernels before 5.10), and run outside a "
         "container that forbids unshare");
    LINE(file_has("/proc/filesystems", "overlay"), "overlayfs",
         "overlayfs missing. Fix: modprobe overlay");
    LINE(access("/dev/loop-control", R_OK | W_OK) == 0, "loop devices (sandbox disks)",
         "/dev/loop-control missing. Fix: modprobe loop");
    LINE(access("/usr/sbin/mkfs.ext4", X_OK) == 0 || access("/sbin/mkfs.ext4", X_OK) == 0,
         "mkfs.ext4 (sandbox disks)", "mkfs.ext4 missing. Fix: apt-get install e2fsprogs");
    LINE(prctl(PR_GET_SECCOMP, 0, 0, 0, 0) >= 0 && file_has("/proc/self/status", "Seccomp:"),
         "seccomp filters", "seccomp unavailable. Fix: a kernel with CONFIG_SECCOMP_FILTER=y");
    fd = (int)syscall(SYS_openat2, AT_FDCWD, "/", &how, sizeof(how));
    LINE(fd >= 0, "openat2 with RESOLVE_IN_ROOT (safe file paths)",
         "openat2 unavailable. Fix: Linux 5.6 or newer");
    if (fd >= 0)
        close(fd);
    cgroup_check(buf, sizeof(buf), &cg_ok);
    fputs(buf, stdout);
    ok = ok && cg_ok;
    /* Optional: without nf_tables only sandboxes without network can be created. */
    if (egress_available())
        printf("ok   nftables (sandbox network access)\n");
    else
        printf("warn nftables unavailable: sandboxes can only be created without network. Fix: "
               "a kernel with CONFIG_NF_TABLES (modprobe nf_tables)\n");
    LINE(access(state_dir, F_OK) == 0 || errno == ENOENT, "state directory usable",
         "state directory %s unusable", state_dir);
    printf("%s\n", ok ? "this host can run cove sandboxes" : "this host cannot run sandboxes yet");
#undef LINE
    return ok;
}
