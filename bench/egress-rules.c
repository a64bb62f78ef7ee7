/* egress-rules: how coved's egress rule operations scale with the number of sandboxes.
 *
 * Links libcove_core and drives src/sandbox/egress.c directly, in a private nftables table
 * and egress subnet given on the command line (no daemon, no packets):
 *   rebuild   load the whole table with N registered sandboxes (4 allow CIDRs each), as a
 *             start-up and every background collection after deletes do;
 *   attach    give one more sandbox its network (veth into a namespace this program
 *             made, addresses, route, and its elements added in one transaction), with N
 *             sandboxes' elements in the table; the veth is then deleted, untimed.
 * For each N in the list, prints one line of key=value pairs: p50/p90 in ms.
 *
 * usage: egress-rules TABLE SUBNET ROUNDS N...       (root; bench/egress.py runs it)
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/parse.h"
#include "sandbox/egress.h"
#include "sandbox/netlink.h"

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double pct(double *v, int n, int p)
{
    int i = (p * n + 99) / 100 - 1;
    qsort(v, (size_t)n, sizeof(*v), cmp);
    return v[i < 0 ? 0 : i];
}

/* A child parked in a new network namespace; returns its pid and an fd on the namespace. */
static pid_t park(int *ret_fd)
{
    int p[2];
    char c, path[64];
    pid_t pid;

    if (pipe(p) < 0)
        return -1;
    pid = fork();
    if (pid == 0) {
        if (unshare(CLONE_NEWNET) < 0)
            _exit(1);
        if (write(p[1], "x", 1) != 1)
            _exit(1);
        pause();
        _exit(0);
    }
    close(p[1]);
    if (pid < 0 || read(p[0], &c, 1) != 1)
        return -1;
    close(p[0]);
    snprintf(path, sizeof(path), "/proc/%d/ns/net", pid);
    *ret_fd = open(path, O_RDONLY | O_CLOEXEC);
    return pid;
}

int main(int argc, char **argv)
{
    struct egress_policy pol = {.mode = EGRESS_ALLOW};
    static const char *const cidrs[] = {"198.18.0.0/24", "198.18.1.0/24", "203.0.113.0/24",
                                        "192.0.2.7/32"};
    struct cove_err err = {0};
    uint32_t rounds, slot, registered = 0;

    if (argc < 5 || parse_u32_range(argv[3], 1, 1000, &rounds) < 0) {
        fprintf(stderr, "usage: egress-rules TABLE SUBNET ROUNDS N...\n");
        return 2;
    }
    for (size_t i = 0; i < sizeof(cidrs) / sizeof(cidrs[0]); i++)
        egress_policy_add(&pol, cidrs[i], NULL);
    if (egress_init(argv[1], argv[2], NULL, &err) < 0) {
        fprintf(stderr, "egress-rules: %s\n", err.msg);
        return 1;
    }
    for (int a = 4; a < argc; a++) {
        uint32_t n;
        double *rb = calloc(rounds, sizeof(double)), *at = calloc(rounds, sizeof(double));
        if (!rb || !at || parse_u32_range(argv[a], 0, 15000, &n) < 0)
            return 2;
        for (; registered < n; registered++) {
            char id[17];
            snprintf(id, sizeof(id), "f%015u", registered);
            if (egress_slot_alloc(id, &pol, &slot, &err) < 0) {
                fprintf(stderr, "egress-rules: %s\n", err.msg);
                return 1;
            }
        }
        for (uint32_t r = 0; r < rounds; r++) {
            double t0 = now_ms();
            if (egress_restore_commit(&err) < 0) {
                fprintf(stderr, "egress-rules: rebuild: %s\n", err.msg);
                return 1;
            }
            rb[r] = now_ms() - t0;
            int ns = -1;
            pid_t child = park(&ns);
            char id[17];
            struct egress_link l;
            snprintf(id, sizeof(id), "b%015u", r);
            if (child < 0 || ns < 0 || egress_slot_alloc(id, &pol, &slot, &err) < 0)
                return 1;
            t0 = now_ms();
            if (egress_attach(id, slot, &pol, ns, &err) < 0) {
                fprintf(stderr, "egress-rules: attach: %s\n", err.msg);
                return 1;
            }
            at[r] = now_ms() - t0;
            egress_link_of(id, slot, &l, NULL);
            nl_link_delete(l.host_if);
            egress_release(slot); /* collected by the next rebuild's background thread */
            close(ns);
            kill(child, SIGKILL);
            waitpid(child, NULL, 0);
        }
        printf("sandboxes=%u rounds=%u rebuild_p50=%.2f rebuild_p90=%.2f attach_p50=%.2f "
               "attach_p90=%.2f\n",
               n, rounds, pct(rb, (int)rounds, 50), pct(rb, (int)rounds, 90),
               pct(at, (int)rounds, 50), pct(at, (int)rounds, 90));
        fflush(stdout);
        free(rb);
        free(at);
    }
    egress_shutdown();
    return 0;
}
