/* The seccomp policy: a deny list on top of namespaces, no capabilities and no_new_privs.
 *
 * The table below is the policy. Each row names a syscall, the errno it gets, an optional
 * argument condition, and why. Whatever is not listed is allowed: the sandbox user has no
 * capabilities, so most privileged calls already fail with EPERM; the rows close the calls
 * that an unprivileged process can still use against the kernel or other tenants (see
 * docs/SECURITY.md). Calls from any other ABI (32-bit int 0x80, x32) kill the process.
 *
 * Knowingly left out (allowed): personality with any value (glibc and some runtimes query it),
 * unshare/clone of non-user namespaces (they need CAP_SYS_ADMIN, which nobody has),
 * AF_NETLINK sockets (ip, ss), and memfd/mmap PROT_EXEC (JITs need them). */
#include "sandbox/seccomp.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/cleanup.h"

#ifndef CLONE_NEWTIME
#    define CLONE_NEWTIME 0x00000080
#endif
#ifndef AF_VSOCK
#    define AF_VSOCK 40
#endif

enum cond { C_NONE, C_A0_HAS_FLAG, C_A0_EQ, C_SOCK_RAW, C_A1_LOW32_EQ };

struct rule {
    const char *name;
    int err;
    enum cond cond;
    unsigned long arg; /* flag / value for the condition */
    const char *why;
};

static const struct rule policy[] = {
    /* mounts and root changes: the sandbox's filesystem view is fixed by cove-init */
    {"mount", EPERM, C_NONE, 0, "filesystem view is fixed"},
    {"umount2", EPERM, C_NONE, 0, "could reveal what masks cover"},
    {"pivot_root", EPERM, C_NONE, 0, "filesystem view is fixed"},
    {"chroot", EPERM, C_NONE, 0, "filesystem view is fixed"},
    {"open_tree", EPERM, C_NONE, 0, "new mount API"},
    {"move_mount", EPERM, C_NONE, 0, "new mount API"},
    {"fsopen", EPERM, C_NONE, 0, "new mount API"},
    {"fsconfig", EPERM, C_NONE, 0, "new mount API"},
    {"fsmount", EPERM, C_NONE, 0, "new mount API"},
    {"fspick", EPERM, C_NONE, 0, "new mount API"},
    {"mount_setattr", EPERM, C_NONE, 0, "new mount API"},
    /* new namespaces: a user namespace hands out capabilities over fresh kernel surface */
    {"unshare", EPERM, C_A0_HAS_FLAG, CLONE_NEWUSER, "user namespaces widen kernel attack surface"},
    {"clone", EPERM, C_A0_HAS_FLAG, CLONE_NEWUSER, "user namespaces widen kernel attack surface"},
    {"unshare", EPERM, C_A0_HAS_FLAG, CLONE_NEWNS, "no nested mount namespaces"},
    {"clone", EPERM, C_A0_HAS_FLAG, CLONE_NEWNS, "no nested mount namespaces"},
    {"unshare", EPERM, C_A0_HAS_FLAG, CLONE_NEWTIME, "clock is the host's"},
    {"clone3", ENOSYS, C_NONE, 0, "flags hidden in memory; ENOSYS makes libc fall back to clone"},
    {"setns", EPERM, C_NONE, 0, "no joining other namespaces"},
    /* debugging other processes */
    {"ptrace", EPERM, C_NONE, 0, "no tracing (also blocks seccomp bypass via ptrace)"},
    {"process_vm_readv", EPERM, C_NONE, 0, "cross-process memory access"},
    {"process_vm_writev", EPERM, C_NONE, 0, "cross-process memory access"},
    {"pidfd_getfd", EPERM, C_NONE, 0, "steals descriptors from other processes"},
    {"kcmp", EPERM, C_NONE, 0, "kernel pointer ordering leak"},
    /* kernel surfaces that namespaces do not isolate */
    {"bpf", EPERM, C_NONE, 0, "eBPF verifier is a frequent exploit target"},
    {"keyctl", EPERM, C_NONE, 0, "keyrings are not namespaced"},
    {"add_key", EPERM, C_NONE, 0, "keyrings are not namespaced"},
    {"request_key", EPERM, C_NONE, 0, "keyrings are not namespaced"},
    {"userfaultfd", EPERM, C_NONE, 0, "used to win kernel races"},
    {"perf_event_open", EPERM, C_NONE, 0, "side channels, kernel exposure"},
    {"io_uring_setup", EPERM, C_NONE, 0, "bypasses syscall filtering (any socket family)"},
    {"io_uring_enter", EPERM, C_NONE, 0, "bypasses syscall filtering"},
    {"io_uring_register", EPERM, C_NONE, 0, "bypasses syscall filtering"},
    {"fanotify_init", EPERM, C_NONE, 0, "filesystem-wide notification"},
    {"lookup_dcookie", EPERM, C_NONE, 0, "kernel profiling interface"},
    {"open_by_handle_at", EPERM, C_NONE, 0, "escapes mount views (shocker)"},
    {"name_to_handle_at", EPERM, C_NONE, 0, "pairs with open_by_handle_at"},
    {"modify_ldt", EPERM, C_NONE, 0, "old source of kernel bugs"},
    {"iopl", EPERM, C_NONE, 0, "hardware I/O"},
    {"ioperm", EPERM, C_NONE, 0, "hardware I/O"},
    /* host-wide state */
    {"kexec_load", EPERM, C_NONE, 0, "replaces the kernel"},
    {"kexec_file_load", EPERM, C_NONE, 0, "replaces the kernel"},
    {"init_module", EPERM, C_NONE, 0, "loads kernel code"},
    {"finit_module", EPERM, C_NONE, 0, "loads kernel code"},
    {"delete_module", EPERM, C_NONE, 0, "unloads kernel code"},
    {"reboot", EPERM, C_NONE, 0, "host-wide"},
    {"swapon", EPERM, C_NONE, 0, "host-wide"},
    {"swapoff", EPERM, C_NONE, 0, "host-wide"},
    {"acct", EPERM, C_NONE, 0, "host-wide"},
    {"settimeofday", EPERM, C_NONE, 0, "clock is the host's"},
    {"clock_settime", EPERM, C_NONE, 0, "clock is the host's"},
    {"clock_adjtime", EPERM, C_NONE, 0, "clock is the host's"},
    {"adjtimex", EPERM, C_NONE, 0, "clock is the host's"},
    {"syslog", EPERM, C_NONE, 0, "kernel log leaks addresses"},
    {"quotactl", EPERM, C_NONE, 0, "host-wide"},
    {"vhangup", EPERM, C_NONE, 0, "terminal takeover"},
    /* sockets: no raw packets, no host-VM channel */
    {"socket", EAFNOSUPPORT, C_A0_EQ, AF_VSOCK, "vsock reaches the hypervisor, not namespaced"},
    {"socket", EAFNOSUPPORT, C_A0_EQ, AF_PACKET, "raw frames"},
    {"socket", EPERM, C_SOCK_RAW, AF_INET, "raw IPv4"},
    {"socket", EPERM, C_SOCK_RAW, AF_INET6, "raw IPv6"},
    /* terminal injection; the kernel compares only the low 32 bits of the request */
    {"ioctl", EPERM, C_A1_LOW32_EQ, TIOCSTI, "types into another process's terminal"},
    {"ioctl", EPERM, C_A1_LOW32_EQ, TIOCLINUX, "console control"},
};

static int add_rule(scmp_filter_ctx ctx, const struct rule *r)
{
    int nr = seccomp_syscall_resolve_name(r->name);

    if (nr == __NR_SCMP_ERROR)
        return 0; /* not on this architecture */
    switch (r->cond) {
    case C_NONE:
        return seccomp_rule_add(ctx, SCMP_ACT_ERRNO(r->err), nr, 0);
    case C_A0_HAS_FLAG:
        return seccomp_rule_add(ctx, SCMP_ACT_ERRNO(r->err), nr, 1,
                                SCMP_A0(SCMP_CMP_MASKED_EQ, r->arg, r->arg));
    case C_A0_EQ:
        return seccomp_rule_add(ctx, SCMP_ACT_ERRNO(r->err), nr, 1, SCMP_A0(SCMP_CMP_EQ, r->arg));
    case C_SOCK_RAW:
        return seccomp_rule_add(ctx, SCMP_ACT_ERRNO(r->err), nr, 2, SCMP_A0(SCMP_CMP_EQ, r->arg),
                                SCMP_A1(SCMP_CMP_MASKED_EQ, 0xf, SOCK_RAW));
    case C_A1_LOW32_EQ:
        return seccomp_rule_add(ctx, SCMP_ACT_ERRNO(r->err), nr, 1,
                                SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffUL, r->arg));
    default:
        return -EINVAL;
    }
}

int seccomp_build(int *ret_fd, struct cove_err *err)
{
    _cleanup_close_ int fd = -EBADF;
    scmp_filter_ctx ctx;
    int r;

    ctx = seccomp_init(SCMP_ACT_ALLOW);
    if (!ctx)
        return cove_err_set(err, -ENOMEM, "seccomp_init failed");
    r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
    if (r >= 0)
        r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0); /* cove-init sets it itself */
    for (size_t i = 0; r >= 0 && i < ELEMENTSOF(policy); i++) {
        r = add_rule(ctx, &policy[i]);
        if (r < 0)
            cove_err_errno(err, -r, "seccomp rule for %s", policy[i].name);
    }
    if (r < 0) {
        seccomp_release(ctx);
        return r;
    }
    fd = memfd_create("cove-seccomp", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0) {
        seccomp_release(ctx);
        return cove_err_errno(err, errno, "memfd_create");
    }
    r = seccomp_export_bpf(ctx, fd);
    seccomp_release(ctx);
    if (r < 0)
        return cove_err_errno(err, -r, "export seccomp program");
    (void)fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL);
    *ret_fd = TAKE_FD(fd);
    return 0;
}

const char *seccomp_policy_text(void)
{
    static char text[16384];
    size_t n = 0;

    if (text[0])
        return text;
    for (size_t i = 0; i < ELEMENTSOF(policy) && n < sizeof(text); i++)
        n += (size_t)snprintf(text + n, sizeof(text) - n, "%-18s %-13s %s\n", policy[i].name,
                              strerrorname_np(policy[i].err), policy[i].why);
    return text;
}
