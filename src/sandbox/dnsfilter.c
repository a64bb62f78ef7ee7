/* DNS answer filter for domain allow lists (see dnsfilter.h).
 *
 * Every byte of a query comes from the sandbox and every byte of an answer from the
 * network: both are parsed with explicit bounds, a query must hold exactly one question
 * with an uncompressed name, and an answer is used only if it carries our random id and
 * repeats our question byte for byte. Only A records in the answer section open anything,
 * and the rules still refuse blocked destinations (metadata, loopback, the host, other
 * sandboxes) whatever a resolver says. The socket of a slot is bound with IP_FREEBIND, so
 * it outlives its address while the sandbox is stopped. */
#include "sandbox/dnsfilter.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/log.h"

#define QUERY_MAX  512
#define ANSWER_MAX 4096

struct client {
    int fd;
    uint32_t addr; /* the sandbox's address: the only accepted source */
    struct egress_policy policy;
};

static struct {
    pthread_mutex_t mu;
    uint32_t upstream; /* host order; 0 = none */
    int ep;
    pthread_t thread;
    bool started, stopping;
    struct client *c[COVE_MAX_NET_SLOTS];
} df = {.mu = PTHREAD_MUTEX_INITIALIZER, .ep = -1};

static uint32_t resolv_conf_upstream(void)
{
    _cleanup_fclose_ FILE *f = fopen("/etc/resolv.conf", "re");
    char line[256], a[64];
    struct in_addr in;

    while (f && fgets(line, sizeof(line), f))
        if (sscanf(line, " nameserver %63s", a) == 1 && inet_pton(AF_INET, a, &in) == 1)
            return ntohl(in.s_addr);
    return 0;
}

int dnsfilter_init(const char *upstream, struct cove_err *err)
{
    struct in_addr in;

    if (upstream && inet_pton(AF_INET, upstream, &in) != 1)
        return cove_err_set(err, -EINVAL, "--net-dns must be an IPv4 address, not '%s'", upstream);
    df.upstream = upstream ? ntohl(in.s_addr) : resolv_conf_upstream();
    return 0;
}

void dnsfilter_resolv_conf(uint32_t gateway, char *buf, size_t cap)
{
    snprintf(buf, cap, "nameserver %u.%u.%u.%u\noptions timeout:3 attempts:2\n", gateway >> 24,
             gateway >> 16 & 255, gateway >> 8 & 255, gateway & 255);
}

int dnsfilter_parse_question(const uint8_t *q, size_t n, char name[COVE_MAX_DOMAIN + 1])
{
    size_t off = 12, len = 0;

    for (;;) {
        if (off >= n)
            return -1;
        uint8_t l = q[off++];
        if (l == 0)
            break;
        /* No compression in a question, and the dotted name must fit with its NUL. */
        if (l & 0xc0 || off + l > n || len + (len ? 1 : 0) + l > COVE_MAX_DOMAIN)
            return -1;
        if (len)
            name[len++] = '.';
        for (uint8_t i = 0; i < l; i++) {
            char c = (char)q[off + i];
            if (c == '.' || c == '\0')
                return -1; /* a label holding a dot would read as two labels */
            name[len++] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
        }
        off += l;
    }
    name[len] = 0;
    if (len == 0 || off + 4 > n)
        return -1;
    return (int)(off + 4);
}

/* Skip a (possibly compressed) name; returns the offset after it or -1. */
static long skip_name(const uint8_t *a, size_t n, size_t off)
{
    for (int hops = 0; hops < 128; hops++) {
        if (off >= n)
            return -1;
        uint8_t l = a[off];
        if ((l & 0xc0) == 0xc0)
            return off + 2 <= n ? (long)(off + 2) : -1;
        if (l & 0xc0)
            return -1;
        off += 1 + (size_t)l;
        if (l == 0)
            return (long)off;
    }
    return -1;
}

size_t dnsfilter_answer_addrs(const uint8_t *a, size_t n, size_t qend, uint32_t *out, size_t max,
                              uint32_t *ret_ttl)
{
    unsigned ancount = (unsigned)a[6] << 8 | a[7];
    size_t off = qend, k = 0;
    uint32_t ttl = DNSFILTER_MAX_TTL;

    for (unsigned i = 0; i < ancount && i < 64; i++) {
        long o = skip_name(a, n, off);
        if (o < 0 || (size_t)o + 10 > n)
            break;
        off = (size_t)o;
        unsigned type = (unsigned)a[off] << 8 | a[off + 1];
        unsigned cls = (unsigned)a[off + 2] << 8 | a[off + 3];
        uint32_t t = (uint32_t)a[off + 4] << 24 | (uint32_t)a[off + 5] << 16 |
                     (uint32_t)a[off + 6] << 8 | a[off + 7];
        size_t rdlen = (size_t)a[off + 8] << 8 | a[off + 9];
        off += 10;
        if (off + rdlen > n)
            break;
        if (type == 1 && cls == 1 && rdlen == 4 && k < max) {
            out[k++] = (uint32_t)a[off] << 24 | (uint32_t)a[off + 1] << 16 |
                       (uint32_t)a[off + 2] << 8 | a[off + 3];
            if (t < ttl)
                ttl = t;
        }
        off += rdlen;
    }
    *ret_ttl = ttl < DNSFILTER_MIN_TTL ? DNSFILTER_MIN_TTL : ttl;
    return k;
}

/* Ask the upstream; returns the answer length or -1. */
static ssize_t ask_upstream(const uint8_t *q, size_t qn, size_t qend, uint8_t *a, size_t cap)
{
    struct sockaddr_in up = {
        .sin_family = AF_INET, .sin_port = htons(53), .sin_addr.s_addr = htonl(df.upstream)};
    _cleanup_close_ int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    uint8_t fwd[QUERY_MAX];
    uint16_t id;
    ssize_t m;

    if (fd < 0 || !df.upstream || getrandom(&id, sizeof(id), 0) != sizeof(id))
        return -1;
    memcpy(fwd, q, qn);
    memcpy(fwd, &id, 2);
    if (connect(fd, (struct sockaddr *)&up, sizeof(up)) < 0 || send(fd, fwd, qn, 0) != (ssize_t)qn)
        return -1;
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int tries = 0; tries < 8; tries++) { /* bounded: stray datagrams are skipped */
        struct pollfd p = {.fd = fd, .events = POLLIN};
        clock_gettime(CLOCK_MONOTONIC, &t);
        long left = DNSFILTER_TIMEOUT_MS -
                    ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000);
        if (left <= 0 || poll(&p, 1, (int)left) <= 0)
            return -1;
        m = recv(fd, a, cap, 0);
        if (m >= (ssize_t)qend && !memcmp(a, &id, 2) && (a[2] & 0x80) &&
            !memcmp(a + 4, fwd + 4, 2) && !memcmp(a + 12, fwd + 12, qend - 12))
            return m;
    }
    return -1;
}

static void refuse(struct client *c, uint8_t *q, size_t qend, const struct sockaddr_in *to)
{
    q[2] = (uint8_t)(0x80 | (q[2] & 0x79)); /* QR, opcode and RD kept */
    q[3] = 0x80 | 5;                        /* RA, REFUSED */
    memset(q + 6, 0, 6);                    /* no answer, authority or additional records */
    (void)sendto(c->fd, q, qend, MSG_DONTWAIT, (const struct sockaddr *)to, sizeof(*to));
}

static void serve(struct client *c)
{
    uint8_t q[QUERY_MAX], a[ANSWER_MAX];
    char name[COVE_MAX_DOMAIN + 2];
    struct sockaddr_in from;
    socklen_t fl = sizeof(from);
    uint32_t addrs[DNSFILTER_MAX_ADDRS], ttl;
    ssize_t n = recvfrom(c->fd, q, sizeof(q), MSG_DONTWAIT, (struct sockaddr *)&from, &fl), m;
    int qend;

    if (n < 12 || from.sin_family != AF_INET || ntohl(from.sin_addr.s_addr) != c->addr)
        return;
    if (q[2] & 0x80) /* an answer sent to us: ignore */
        return;
    qend = dnsfilter_parse_question(q, (size_t)n, name);
    if (qend < 0)
        return; /* malformed: no answer */
    if ((q[4] << 8 | q[5]) != 1 || (q[2] >> 3 & 0xf) != 0 ||
        !egress_policy_domain_allowed(&c->policy, name)) {
        log_debug("dnsfilter: refused %s", name);
        refuse(c, q, (size_t)qend, &from);
        return;
    }
    m = ask_upstream(q, (size_t)n, (size_t)qend, a, sizeof(a));
    if (m < 0) {
        q[2] = (uint8_t)(0x80 | (q[2] & 0x79));
        q[3] = 0x80 | 2; /* SERVFAIL */
        memset(q + 6, 0, 6);
        (void)sendto(c->fd, q, (size_t)qend, MSG_DONTWAIT, (struct sockaddr *)&from, sizeof(from));
        return;
    }
    size_t k = dnsfilter_answer_addrs(a, (size_t)m, (size_t)qend, addrs, DNSFILTER_MAX_ADDRS, &ttl);
    if (k && egress_dyn_add(c->addr, addrs, k, ttl) < 0)
        log_warn("dnsfilter: cannot open the addresses of %s", name);
    memcpy(a, q, 2); /* the sandbox's id back */
    (void)sendto(c->fd, a, (size_t)m, MSG_DONTWAIT, (struct sockaddr *)&from, sizeof(from));
}

static void *dnsfilter_main(void *arg)
{
    struct epoll_event ev[16];

    while (!__atomic_load_n(&df.stopping, __ATOMIC_RELAXED)) {
        int n = epoll_wait(df.ep, ev, 16, 200);
        for (int i = 0; i < n; i++) {
            /* A copy with its own fd: a remove meanwhile cannot pull the socket away, and an
             * attach does not wait for a slow upstream. */
            struct client c = {.fd = -1};
            pthread_mutex_lock(&df.mu);
            if (ev[i].data.u32 < COVE_MAX_NET_SLOTS && df.c[ev[i].data.u32]) {
                c = *df.c[ev[i].data.u32];
                c.fd = fcntl(c.fd, F_DUPFD_CLOEXEC, 3);
            }
            pthread_mutex_unlock(&df.mu);
            if (c.fd >= 0) {
                serve(&c);
                close(c.fd);
            }
        }
    }
    return NULL;
}

int dnsfilter_add(uint32_t slot, const struct egress_policy *p, uint32_t gateway, uint32_t addr,
                  struct cove_err *err)
{
    struct sockaddr_in sa = {
        .sin_family = AF_INET, .sin_port = htons(53), .sin_addr.s_addr = htonl(gateway)};
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = slot};
    struct client *c;
    int one = 1, r = 0;

    if (slot == 0 || slot >= COVE_MAX_NET_SLOTS)
        return cove_err_set(err, -EINVAL, "bad slot");
    pthread_mutex_lock(&df.mu);
    if (df.c[slot])
        goto out;
    if (df.ep < 0 && (df.ep = epoll_create1(EPOLL_CLOEXEC)) < 0) {
        r = cove_err_errno(err, errno, "epoll");
        goto out;
    }
    c = calloc(1, sizeof(*c));
    if (!c) {
        r = cove_err_set(err, -ENOMEM, "out of memory");
        goto out;
    }
    c->addr = addr;
    c->policy = *p;
    c->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (c->fd < 0 || setsockopt(c->fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof(one)) < 0 ||
        bind(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        epoll_ctl(df.ep, EPOLL_CTL_ADD, c->fd, &ev) < 0) {
        r = cove_err_errno(err, errno, "serve DNS on the gateway of slot %u", slot);
        if (c->fd >= 0)
            close(c->fd);
        free(c);
        goto out;
    }
    df.c[slot] = c;
    if (!df.started && pthread_create(&df.thread, NULL, dnsfilter_main, NULL) == 0)
        df.started = true;
out:
    pthread_mutex_unlock(&df.mu);
    return r;
}

void dnsfilter_remove(uint32_t slot)
{
    pthread_mutex_lock(&df.mu);
    if (slot < COVE_MAX_NET_SLOTS && df.c[slot]) {
        close(df.c[slot]->fd); /* leaves the epoll set with it */
        free(df.c[slot]);
        df.c[slot] = NULL;
    }
    pthread_mutex_unlock(&df.mu);
}

void dnsfilter_shutdown(void)
{
    __atomic_store_n(&df.stopping, true, __ATOMIC_RELAXED);
    if (df.started)
        pthread_join(df.thread, NULL);
    df.started = false;
    for (uint32_t s = 0; s < COVE_MAX_NET_SLOTS; s++)
        dnsfilter_remove(s);
}
