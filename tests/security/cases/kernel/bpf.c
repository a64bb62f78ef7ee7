/* attack: load an eBPF program and create an eBPF map (the verifier is a frequent target of
 *         kernel exploits; unprivileged eBPF may be enabled on the host)
 * why: bpf(2) is EPERM under the filter whatever the host's unprivileged_bpf_disabled says
 * expect: exit=0
 * stdout-has: SAFE bpf(BPF_MAP_CREATE)
 * stdout-has: SAFE bpf(BPF_PROG_LOAD)
 */
#include <errno.h>
#include <linux/bpf.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define DENIED(call, what)                                                                         \
    do {                                                                                           \
        errno = 0;                                                                                 \
        long r_ = (long)(call);                                                                    \
        if (r_ < 0 && errno == EPERM)                                                              \
            printf("SAFE %s: EPERM\n", what);                                                      \
        else                                                                                       \
            printf("ESCAPE %s: returned %ld (%s)\n", what, r_, strerrorname_np(errno));            \
    } while (0)

int main(void)
{
    union bpf_attr map = {0}, prog = {0};
    struct bpf_insn insns[] = {
        {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 0, .imm = 0}, /* r0 = 0 */
        {.code = BPF_JMP | BPF_EXIT},
    };

    map.map_type = BPF_MAP_TYPE_ARRAY;
    map.key_size = 4;
    map.value_size = 8;
    map.max_entries = 1;
    DENIED(syscall(SYS_bpf, BPF_MAP_CREATE, &map, sizeof(map)), "bpf(BPF_MAP_CREATE)");
    prog.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
    prog.insns = (uint64_t)(uintptr_t)insns;
    prog.insn_cnt = 2;
    prog.license = (uint64_t)(uintptr_t) "GPL";
    DENIED(syscall(SYS_bpf, BPF_PROG_LOAD, &prog, sizeof(prog)), "bpf(BPF_PROG_LOAD)");
    return 0;
}
