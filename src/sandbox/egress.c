/* Controlled egress at run time: veths through rtnetlink (netlink.c), rules through
 * libnftables. See egress.h for the addressing, docs/SECURITY.md for the rule set.
 *
 * The table, for egress subnet S:
 *   set ifaddr   ifname . ipv4_addr             host end of each veth . its sandbox address
 *   set allow    ipv4_addr . ipv4_addr interval sandbox address . allowed destination CIDR
 *                                               ("all" is . 0.0.0.0/0)
 *   set blocked  ipv4_addr interval             never reachable: 0/8, 127/8, 169.254/16
 *                                               (cloud metadata), multicast, broadcast, S
 *   forward (filter, priority filter - 1)       from S: anti-spoofing (ifaddr), blocked,
 *                                               the host's own addresses, then allow, else
 *                                               drop; to S: only replies
 *   input                                       nothing from a sandbox reaches the host
 *   postrouting (nat)                           masquerade S leaving the host
 * A sandbox is therefore a handful of set elements: adding them is one small nf_tables
 * batch however many sandboxes exist (nft-elem.c), removing them is left to a background
 * rebuild of the table (see "the registry" below), and packets pay one hash and one pipapo
 * lookup, not a walk over per-sandbox rules.
 *
 * Invariants: the table exists before any veth does, so a veth never carries traffic the
 * rules have not seen (and its elements come after its addresses: until then its packets
 * fail the anti-spoofing check and are dropped). Every nf_tables change happens under
 * eg.mu, through one libnftables context or one raw batch. Rule text is rendered only from
 * parsed numbers and our own interface names. */
#include "sandbox/egress.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <nftables/libnftables.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/cleanup.h"
#include "base/log.h"
#include "sandbox/dnsfilter.h"
#include "sandbox/netlink.h"
#include "sandbox/nft-elem.h"
#include "store/store.h"

#define NFT_CMD_MAX       (64u << 20) /* a rebuild: 16383 sandboxes of 64 CIDRs fit */
#define SETTING_BUILT     "egress.table_built"
#define SETTING_GUARD     "egress.forward_guard"
#define SANDBOX_IF        "eth0"
#define IF_PREFIX         "cv"
#define SUBNET_MIN_PREFIX 8
#define SUBNET_MAX_PREFIX 24

static struct {
    pthread_mutex_t mu;
    struct nft_ctx *nft;
    struct store *st;
    char table[32];
    uint32_t subnet;
    unsigned prefix;
    bool ready;                            /* the table is in the kernel and current */
    struct live *live[COVE_MAX_NET_SLOTS]; /* by slot; NULL = free */
    uint32_t n_stale;                      /* deleted, waiting for the collector */
    int64_t last_release_ms;               /* CLOCK_MONOTONIC */
    int64_t retry_ms;                      /* no collection before (after a failure) */
    pthread_cond_t cond;                   /* CLOCK_MONOTONIC, see egress_init */
    pthread_t collector;
    bool collector_started, stopping;
} eg = {.mu = PTHREAD_MUTEX_INITIALIZER};

static void ip_format(uint32_t a, char *buf, size_t cap)
{
    snprintf(buf, cap, "%u.%u.%u.%u", a >> 24, a >> 16 & 255, a >> 8 & 255, a & 255);
}

static bool table_name_valid(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n >= sizeof(eg.table))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
            return false;
    return s[0] >= 'a' && s[0] <= 'z';
}

int egress_init(const char *table, const char *subnet, struct store *st, struct cove_err *err)
{
    struct egress_cidr c;

    if (!table_name_valid(table))
        return cove_err_set(err, -EINVAL,
                            "egress table name must be 1-31 of a-z, 0-9, '_' and start with a "
                            "letter");
    if (egress_cidr_parse(subnet, &c, err) < 0)
        return -EINVAL;
    if (c.len < SUBNET_MIN_PREFIX || c.len > SUBNET_MAX_PREFIX)
        return cove_err_set(err, -EINVAL, "egress subnet must be a /%d to /%d", SUBNET_MIN_PREFIX,
                            SUBNET_MAX_PREFIX);
    snprintf(eg.table, sizeof(eg.table), "%s", table);
    eg.subnet = c.addr;
    eg.prefix = c.len;
    eg.st = st;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&eg.cond, &ca);
    pthread_condattr_destroy(&ca);
    return 0;
}

int egress_link_of(const char *id, uint32_t slot, struct egress_link *ret, struct cove_err *err)
{
    uint64_t size = 1ull << (32 - eg.prefix);

    if (slot == 0 || slot >= COVE_MAX_NET_SLOTS || (uint64_t)slot * 4 + 4 > size)
        return cove_err_setk(err, -ENOSPC, "NO_NETWORK_ADDRESS",
                             "no egress address left for sandbox slot %u (subnet /%u)", slot,
                             eg.prefix);
    snprintf(ret->host_if, sizeof(ret->host_if), IF_PREFIX "%.13s", id);
    ret->gateway = eg.subnet + slot * 4 + 1;
    ret->addr = eg.subnet + slot * 4 + 2;
    return 0;
}

/* Run commands (lock held). On failure the kernel state is unchanged: libnftables sends a
 * buffer as one batch. */
static int nft_run(const char *cmd, struct cove_err *err)
{
    if (!eg.nft) {
        eg.nft = nft_ctx_new(NFT_CTX_DEFAULT);
        if (!eg.nft)
            return cove_err_set(err, -ENOMEM, "cannot create an nftables context");
        nft_ctx_buffer_output(eg.nft);
        nft_ctx_buffer_error(eg.nft);
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int k = nft_run_cmd_from_buffer(eg.nft, cmd);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    /* bench/egress.py reads these lines (coved --debug). */
    log_debug("egress: nft %.*s took %ld us", (int)strcspn(cmd, "{\n"), cmd,
              (long)((t1.tv_sec - t0.tv_sec) * 1000000 + (t1.tv_nsec - t0.tv_nsec) / 1000));
    if (k != 0) {
        const char *e = nft_ctx_get_error_buffer(eg.nft);
        char first[200];
        snprintf(first, sizeof(first), "%s", e ? e : "");
        first[strcspn(first, "\n")] = 0;
        log_debug("egress: nft failed: %s", e ? e : "");
        return cove_err_set(err, -EIO, "nftables: %s", first);
    }
    return 0;
}

static int render_table(struct buf *b, bool guard)
{
    char s[32], net[40];

    ip_format(eg.subnet, s, sizeof(s));
    snprintf(net, sizeof(net), "%s/%u", s, eg.prefix);
    return buf_appendf(
        b,
        "add table inet %1$s\n"
        "delete table inet %1$s\n"
        "table inet %1$s {\n"
        " set ifaddr { type ifname . ipv4_addr; }\n"
        " set allow { type ipv4_addr . ipv4_addr; flags interval; }\n"
        " set dyn { type ipv4_addr . ipv4_addr; flags timeout; size 65536; }\n"
        " set dns { type ipv4_addr . ipv4_addr; }\n"
        " set blocked { type ipv4_addr; flags interval; elements = { 0.0.0.0/8, 127.0.0.0/8,"
        " 169.254.0.0/16, 224.0.0.0/3, %2$s } }\n"
        " chain forward {\n"
        "  type filter hook forward priority filter - 1; policy accept;\n"
        "  iifname \"" IF_PREFIX "*\" meta nfproto ipv6 drop\n"
        "  oifname \"" IF_PREFIX "*\" meta nfproto ipv6 drop\n"
        "  ip saddr %2$s jump from_sandbox\n"
        "  ip daddr %2$s jump to_sandbox\n"
        "%3$s"
        " }\n"
        " chain from_sandbox {\n"
        "  iifname . ip saddr != @ifaddr drop\n"
        "  ip daddr @blocked drop\n"
        "  fib daddr type local drop\n"
        "  ct state established,related accept\n"
        "  ip saddr . ip daddr @allow accept\n"
        "  ip saddr . ip daddr @dyn accept\n"
        "  drop\n"
        " }\n"
        " chain to_sandbox {\n"
        "  ct state established,related accept\n"
        "  drop\n"
        " }\n"
        " chain input {\n"
        "  type filter hook input priority filter - 1; policy accept;\n"
        "  iifname . ip saddr @ifaddr ip saddr . ip daddr @dns udp dport 53 accept\n"
        "  iifname \"" IF_PREFIX "*\" drop\n"
        "  iifname != \"lo\" ip saddr %2$s drop\n"
        " }\n"
        " chain postrouting {\n"
        "  type nat hook postrouting priority srcnat; policy accept;\n"
        "  ip saddr %2$s oifname != \"" IF_PREFIX "*\" masquerade\n"
        " }\n"
        "}\n",
        eg.table, net,
        guard ? "  iifname != \"" IF_PREFIX "*\" oifname != \"" IF_PREFIX "*\" drop\n" : "");
}

/* Text form of a sandbox's elements (for the bulk rebuild): its ifaddr element when with_if
 * is non-NULL, and its allow elements. */
static int render_elements(struct buf *b, const char *verb, const struct egress_link *with_if,
                           const struct egress_link *l, const struct egress_policy *p)
{
    char a[32], c[40];
    int r = 0;

    ip_format(l->addr, a, sizeof(a));
    if (with_if)
        r = buf_appendf(b, "%s element inet %s ifaddr { \"%s\" . %s }\n", verb, eg.table,
                        l->host_if, a);
    if (p->n_domains && r >= 0) {
        ip_format(l->gateway, c, sizeof(c));
        r = buf_appendf(b, "%s element inet %s dns { %s . %s }\n", verb, eg.table, a, c);
    }
    if (p->mode == EGRESS_NONE || (p->mode == EGRESS_ALLOW && p->n_cidrs == 0))
        return r; /* nothing to allow (not accepted by the API; kept safe anyway) */
    if (r >= 0)
        r = buf_appendf(b, "%s element inet %s allow { ", verb, eg.table);
    if (p->mode == EGRESS_ALL && r >= 0)
        r = buf_appendf(b, "%s . 0.0.0.0/0", a);
    for (uint32_t i = 0; p->mode == EGRESS_ALLOW && i < p->n_cidrs && r >= 0; i++) {
        egress_cidr_format(&p->cidrs[i], c, sizeof(c));
        r = buf_appendf(b, "%s%s . %s", i ? ", " : "", a, c);
    }
    if (r >= 0)
        r = buf_appendf(b, " }\n");
    return r;
}

/* IPv4 forwarding is off on a fresh host. Turning it on for the host would also route
 * traffic that has nothing to do with sandboxes, so when coved is the one that turns it
 * on it also adds a forward rule that drops whatever does not enter or leave a sandbox
 * veth (remembered in the store, so a restart keeps the guard). */
static bool enable_forwarding(void)
{
    char cur = '1', v[8];
    _cleanup_close_ int fd = open("/proc/sys/net/ipv4/ip_forward", O_RDWR | O_CLOEXEC);

    if (fd >= 0 && read(fd, &cur, 1) == 1 && cur == '0') {
        if (eg.st)
            (void)store_setting_set(eg.st, SETTING_GUARD, "1");
        if (pwrite(fd, "1\n", 2, 0) != 2)
            log_warn("egress: cannot enable net.ipv4.ip_forward: %m");
        else
            log_info("egress: enabled net.ipv4.ip_forward (forwarding is limited to sandboxes)");
    } else if (fd < 0) {
        log_warn("egress: cannot open net.ipv4.ip_forward: %m");
    }
    return eg.st && store_setting_get(eg.st, SETTING_GUARD, v, sizeof(v)) > 0 && v[0] == '1';
}

/* Build the table (lock held) followed by extra commands, in one transaction. */
static int build_table(const char *extra, struct cove_err *err)
{
    _cleanup_(buf_free) struct buf b;
    bool guard = enable_forwarding();
    int r;

    buf_init(&b, NFT_CMD_MAX);
    r = render_table(&b, guard);
    if (r >= 0 && extra)
        r = buf_appendf(&b, "%s", extra);
    if (r < 0)
        return cove_err_set(err, r, "egress rules too large");
    r = nft_run(b.data, err);
    if (r < 0)
        return r;
    eg.ready = true;
    if (eg.st)
        (void)store_setting_set(eg.st, SETTING_BUILT, "1");
    return 0;
}

/* A sandbox's elements in wire form: ifaddr "host_if" . addr, and allow addr . [start, end]
 * per CIDR (0.0.0.0/0 for "all"). Returns the number of allow elements. */
static size_t wire_elements(const struct egress_link *l, const struct egress_policy *p,
                            struct nft_elem *ifaddr, struct nft_elem *allow)
{
    uint32_t a = htonl(l->addr);
    size_t n = 0;

    memset(ifaddr, 0, sizeof(*ifaddr));
    memcpy(ifaddr->key, l->host_if, strnlen(l->host_if, IFNAMSIZ - 1)); /* ifname: 16 bytes */
    memcpy(ifaddr->key + IFNAMSIZ, &a, 4);
    ifaddr->len = IFNAMSIZ + 4;
    for (uint32_t i = 0; i < (p->mode == EGRESS_ALL ? 1 : p->n_cidrs); i++) {
        struct egress_cidr c = p->mode == EGRESS_ALL ? (struct egress_cidr){0, 0} : p->cidrs[i];
        uint32_t start = htonl(c.addr),
                 end = htonl(c.addr | (c.len ? ~(~0u << (32 - c.len)) : ~0u));
        memset(&allow[n], 0, sizeof(allow[n]));
        memcpy(allow[n].key, &a, 4);
        memcpy(allow[n].key + 4, &start, 4);
        memcpy(allow[n].key_end, &a, 4);
        memcpy(allow[n].key_end + 4, &end, 4);
        allow[n].len = 8;
        allow[n].has_end = true;
        n++;
    }
    return n;
}

/* Add a sandbox's elements in one transaction (eg.mu held, the table exists). Only ever
 * adds: removal is the collector's rebuild (below). */
static int elements_add_locked(const struct egress_link *l, const struct egress_policy *p,
                               struct cove_err *err)
{
    struct nft_elem ifaddr, allow[COVE_MAX_ALLOW_CIDRS], dns = {.len = 8};
    size_t n = wire_elements(l, p, &ifaddr, allow);
    uint32_t a = htonl(l->addr), g = htonl(l->gateway);
    struct nft_elem_op ops[] = {
        {"ifaddr", &ifaddr, 1}, {"allow", allow, n}, {"dns", &dns, p->n_domains ? 1 : 0}};
    struct timespec t0, t1;

    memcpy(dns.key, &a, 4);
    memcpy(dns.key + 4, &g, 4);
    int r;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    r = nft_elems_apply(eg.table, true, ops, ELEMENTSOF(ops));
    clock_gettime(CLOCK_MONOTONIC, &t1);
    /* bench/egress.py reads these lines (coved --debug). */
    log_debug("egress: elements add %s: %d after %ld us", l->host_if, r,
              (long)((t1.tv_sec - t0.tv_sec) * 1000000 + (t1.tv_nsec - t0.tv_nsec) / 1000));
    if (r < 0)
        return cove_err_errno(err, -r, "add the egress rules of %s", l->host_if);
    return 0;
}

/* ---- the registry of sandboxes with network, by slot ----
 * Every sandbox with network, started or stopped, has its elements in the table: allow
 * (destinations) and ifaddr (its veth name . its address). While it is stopped they are
 * inert: no interface of that name exists, and only this sandbox's attach creates one.
 *
 * Deleting elements one by one is what does not scale: removing an element from the allow
 * set (pipapo: concatenated intervals) costs the kernel ~20 ms per element once it holds
 * 4,000. So a deleted sandbox is only marked stale here; the collector thread rebuilds
 * the whole table without the stale entries in one transaction (as a restart does) once
 * GC_BATCH of them wait or none came for GC_IDLE_MS, and only then frees their slots, so
 * an address is never reused while old elements could still name it. Nothing is exposed
 * meanwhile: a deleted sandbox's init is dead, so nothing is left to send from its
 * namespace, and its veth went with that namespace. */

#define GC_BATCH   64
#define GC_IDLE_MS 1000

struct live {
    char id[33];
    struct egress_policy policy;
    bool stale;
};

static uint32_t slot_capacity(void)
{
    uint64_t n = (1ull << (32 - eg.prefix)) / 4;
    return n < COVE_MAX_NET_SLOTS ? (uint32_t)n : COVE_MAX_NET_SLOTS;
}

static int register_locked(uint32_t slot, const char *id, const struct egress_policy *p)
{
    struct live *l = calloc(1, sizeof(*l));

    if (!l)
        return -ENOMEM;
    snprintf(l->id, sizeof(l->id), "%s", id);
    l->policy = *p;
    free(eg.live[slot]);
    eg.live[slot] = l;
    return 0;
}

int egress_slot_alloc(const char *id, const struct egress_policy *p, uint32_t *ret,
                      struct cove_err *err)
{
    uint32_t cap = slot_capacity();
    int r = -ENOSPC;

    pthread_mutex_lock(&eg.mu);
    for (uint32_t s = 1; s < cap && r == -ENOSPC; s++) {
        if (!eg.live[s]) {
            r = register_locked(s, id, p);
            if (r >= 0)
                *ret = s;
        }
    }
    pthread_mutex_unlock(&eg.mu);
    if (r == -ENOSPC)
        return cove_err_setk(err, -ENOSPC, "NO_NETWORK_ADDRESS",
                             "all %u egress addresses are in use (or still being released)",
                             cap - 1);
    if (r < 0)
        return cove_err_set(err, r, "out of memory");
    return 0;
}

/* Render the table with the elements of every live entry (eg.mu held) and load it. */
static int rebuild_locked(struct cove_err *err)
{
    _cleanup_(buf_free) struct buf b;
    struct egress_link l;
    int r = 0;

    buf_init(&b, NFT_CMD_MAX);
    for (uint32_t s = 1; s < COVE_MAX_NET_SLOTS && r >= 0; s++) {
        struct live *e = eg.live[s];
        if (e && !e->stale && egress_link_of(e->id, s, &l, NULL) >= 0)
            r = render_elements(&b, "add", &l, &l, &e->policy);
    }
    if (r < 0)
        return cove_err_set(err, r, "egress rules too large");
    return build_table(b.data, err);
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One collection (eg.mu held; dropped while leftover veths are deleted). */
static void collect_locked(void)
{
    char(*names)[16] = calloc(eg.n_stale + 1, sizeof(*names));
    size_t n = 0;
    struct cove_err err = {0};
    struct timespec t0, t1;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (rebuild_locked(&err) < 0) {
        log_warn("egress: cannot rebuild the rules: %s", err.msg);
        free(names);
        eg.retry_ms = mono_ms() + 10 * GC_IDLE_MS; /* try again later */
        return;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    for (uint32_t s = 1; s < COVE_MAX_NET_SLOTS; s++) {
        struct live *e = eg.live[s];
        struct egress_link l;
        if (!e || !e->stale)
            continue;
        if (names && egress_link_of(e->id, s, &l, NULL) >= 0)
            memcpy(names[n++], l.host_if, sizeof(names[0]));
        if (e->policy.n_domains)
            dnsfilter_remove(s);
        free(e);
        eg.live[s] = NULL;
    }
    /* bench/egress.py reads this line (coved --debug). */
    log_debug("egress: collected %zu deleted sandboxes in %ld us", n,
              (long)((t1.tv_sec - t0.tv_sec) * 1000000 + (t1.tv_nsec - t0.tv_nsec) / 1000));
    eg.n_stale = 0;
    pthread_mutex_unlock(&eg.mu);
    for (size_t i = 0; i < n; i++) {
        int k = nl_link_delete(names[i]); /* normally gone with the namespace already */
        if (k < 0 && k != -ENODEV)
            log_warn("egress: cannot delete %s: %s", names[i], strerror(-k));
    }
    free(names);
    pthread_mutex_lock(&eg.mu);
}

static void *collector_main(void *arg)
{
    pthread_mutex_lock(&eg.mu);
    while (!eg.stopping) {
        int64_t due = eg.n_stale >= GC_BATCH ? 0 : eg.last_release_ms + GC_IDLE_MS;
        if (due < eg.retry_ms)
            due = eg.retry_ms;
        if (eg.n_stale == 0) {
            pthread_cond_wait(&eg.cond, &eg.mu);
        } else if (mono_ms() < due) {
            struct timespec ts = {.tv_sec = due / 1000, .tv_nsec = (due % 1000) * 1000000};
            pthread_cond_timedwait(&eg.cond, &eg.mu, &ts);
        } else {
            collect_locked();
        }
    }
    pthread_mutex_unlock(&eg.mu);
    return NULL;
}

void egress_release(uint32_t slot)
{
    pthread_mutex_lock(&eg.mu);
    if (slot > 0 && slot < COVE_MAX_NET_SLOTS && eg.live[slot] && !eg.live[slot]->stale) {
        eg.live[slot]->stale = true;
        eg.n_stale++;
        eg.last_release_ms = mono_ms();
        if (!eg.collector_started && !eg.stopping &&
            pthread_create(&eg.collector, NULL, collector_main, NULL) == 0)
            eg.collector_started = true;
        pthread_cond_signal(&eg.cond);
    }
    pthread_mutex_unlock(&eg.mu);
}

void egress_shutdown(void)
{
    pthread_mutex_lock(&eg.mu);
    eg.stopping = true;
    pthread_cond_signal(&eg.cond);
    pthread_mutex_unlock(&eg.mu);
    if (eg.collector_started)
        pthread_join(eg.collector, NULL);
    dnsfilter_shutdown();
    /* Stale entries left now are rebuilt away by the next start (egress_restore_commit). */
    for (uint32_t s = 0; s < COVE_MAX_NET_SLOTS; s++) {
        free(eg.live[s]);
        eg.live[s] = NULL;
    }
}

/* The host end carries no IPv6 (no link-local address to talk to); the rules drop IPv6
 * on sandbox veths as well. */
static void disable_ipv6(const char *ifname)
{
    char p[96];
    _cleanup_close_ int fd = -EBADF;

    snprintf(p, sizeof(p), "/proc/sys/net/ipv6/conf/%s/disable_ipv6", ifname);
    fd = open(p, O_WRONLY | O_CLOEXEC);
    if (fd >= 0 && write(fd, "1\n", 2) != 2)
        log_debug("egress: cannot disable IPv6 on %s: %m", ifname);
}

int egress_attach(const char *id, uint32_t slot, const struct egress_policy *p, int netns_fd,
                  struct cove_err *err)
{
    struct egress_link l;
    int r;

    if (p->mode == EGRESS_NONE)
        return 0;
    r = egress_link_of(id, slot, &l, err);
    if (r < 0)
        return r;
    pthread_mutex_lock(&eg.mu);
    r = eg.ready ? 0 : rebuild_locked(err);
    pthread_mutex_unlock(&eg.mu);
    if (r < 0)
        return r;
    (void)nl_link_delete(l.host_if); /* a leftover of a crash */
    r = nl_veth_create(l.host_if, SANDBOX_IF, netns_fd);
    if (r < 0)
        return cove_err_errno(err, -r, "create veth %s", l.host_if);
    disable_ipv6(l.host_if);
    r = nl_link_setup(l.host_if, l.gateway, 30, 0);
    if (r < 0)
        cove_err_errno(err, -r, "configure %s", l.host_if);
    if (r >= 0) {
        r = nl_link_setup_in(netns_fd, SANDBOX_IF, l.addr, 30, l.gateway);
        if (r < 0)
            cove_err_errno(err, -r, "configure the sandbox's " SANDBOX_IF);
    }
    if (r >= 0) {
        pthread_mutex_lock(&eg.mu);
        r = eg.ready ? 0 : rebuild_locked(err);
        if (r >= 0)
            r = elements_add_locked(&l, p, err);
        pthread_mutex_unlock(&eg.mu);
    }
    if (r >= 0 && p->n_domains)
        r = dnsfilter_add(slot, p, l.gateway, l.addr, err);
    if (r < 0)
        (void)nl_link_delete(l.host_if);
    return r;
}

int egress_restore_add(const char *id, uint32_t slot, const struct egress_policy *p)
{
    int r;

    if (p->mode == EGRESS_NONE || slot == 0 || slot >= slot_capacity())
        return -EINVAL;
    pthread_mutex_lock(&eg.mu);
    r = register_locked(slot, id, p);
    pthread_mutex_unlock(&eg.mu);
    return r;
}

int egress_restore_commit(struct cove_err *err)
{
    bool any = false;
    char v[8];
    int r = 0;

    pthread_mutex_lock(&eg.mu);
    for (uint32_t s = 1; s < COVE_MAX_NET_SLOTS && !any; s++)
        any = eg.live[s] != NULL;
    if (any) {
        r = rebuild_locked(err);
        /* Resolvers of sandboxes with domain lists (bound even while stopped: harmless). */
        for (uint32_t s = 1; s < COVE_MAX_NET_SLOTS && r >= 0; s++) {
            struct egress_link l;
            struct live *e = eg.live[s];
            if (e && e->policy.n_domains && egress_link_of(e->id, s, &l, NULL) >= 0 &&
                dnsfilter_add(s, &e->policy, l.gateway, l.addr, NULL) < 0)
                log_warn("egress: no resolver for slot %u", s);
        }
    } else if (eg.st && store_setting_get(eg.st, SETTING_BUILT, v, sizeof(v)) > 0) {
        /* No sandbox has network: drop the table an earlier run of this state left. */
        char cmd[128];
        snprintf(cmd, sizeof(cmd), "add table inet %1$s\ndelete table inet %1$s\n", eg.table);
        r = nft_run(cmd, err);
        if (r >= 0)
            (void)store_setting_set(eg.st, SETTING_BUILT, NULL);
        eg.ready = false;
    }
    pthread_mutex_unlock(&eg.mu);
    return r;
}

bool egress_available(void)
{
    struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
    bool ok;

    if (!ctx)
        return false;
    nft_ctx_buffer_output(ctx);
    nft_ctx_buffer_error(ctx);
    ok = nft_run_cmd_from_buffer(ctx, "list tables") == 0;
    nft_ctx_free(ctx);
    return ok;
}

int egress_dyn_add(uint32_t sandbox_addr, const uint32_t *addrs, size_t n, uint32_t ttl_s)
{
    struct nft_elem e[DNSFILTER_MAX_ADDRS];
    uint32_t a = htonl(sandbox_addr);
    int r;

    if (n > DNSFILTER_MAX_ADDRS)
        n = DNSFILTER_MAX_ADDRS;
    for (size_t i = 0; i < n; i++) {
        uint32_t d = htonl(addrs[i]);
        memset(&e[i], 0, sizeof(e[i]));
        memcpy(e[i].key, &a, 4);
        memcpy(e[i].key + 4, &d, 4);
        e[i].len = 8;
        e[i].timeout_ms = (uint64_t)ttl_s * 1000;
    }
    pthread_mutex_lock(&eg.mu);
    r = eg.ready ? nft_elems_apply(eg.table, true, &(struct nft_elem_op){"dyn", e, n}, 1) : -ENOENT;
    pthread_mutex_unlock(&eg.mu);
    return r;
}
