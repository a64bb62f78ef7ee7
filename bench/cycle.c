/* cycle: load generator and timer for the sandbox lifecycle benchmark (issue 2).
 *
 * Modes:
 *   cycle api    loop create -> exec `true` -> delete through coved's HTTP API and time each
 *                phase (the three requests) and the whole cycle;
 *   cycle spawn  loop posix_spawn + waitpid of a command: the `unshare` and `bwrap`
 *                baselines, timed by the same loop, percentile and throughput code;
 *   cycle create create N sandboxes and print their ids (the idle-memory test);
 *   cycle purge  delete every sandbox the key can list;
 *   cycle list   print the id of every sandbox the key can list.
 *
 * Each of the -c workers is a thread that owns one keep-alive HTTP/1.1 connection (or
 * spawns its own children), so -c 2 is two concurrent clients. Workers warm up, meet at a
 * barrier, then run until they have done -n cycles or -d seconds have passed, optionally
 * pausing -p ms between cycles (a mostly idle host, as with sporadic users). Latencies are
 * CLOCK_MONOTONIC differences in microseconds; percentiles are nearest-rank. The summary is
 * one line of key=value pairs on stdout, for bench/run to parse.
 *
 * The client speaks just enough HTTP/1.1 for coved: one request at a time per connection,
 * bodies framed by Content-Length or chunked, "Connection: close" honoured. It only ever
 * connects to a unix socket or a loopback address.
 *
 * Build: gcc -std=gnu11 -O2 -Wall -Wextra -pthread -o cycle cycle.c -lm
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_WORKERS  64
#define MAX_RESP     (32u << 20) /* a list of 1000 sandboxes is well under this */
#define IO_TIMEOUT_S 120
#define MAX_ID       64

extern char **environ;

enum mode { M_API, M_SPAWN, M_CREATE, M_PURGE, M_LIST };

/* One timed cycle; all values in microseconds. cmd is the exec duration coved reports. */
struct sample {
    uint32_t total, create, exec, del, cmd;
};

struct worker {
    int idx;
    pthread_t th;
    struct sample *s;
    size_t n, cap;
    unsigned fails;
    double t_end;
    char first_err[300];
};

static struct {
    enum mode mode;
    const char *sock, *tcp, *key, *label, *create_body, *exec_body, *raw_path;
    unsigned n, warm, conc, pause_ms;
    double dur_s;
    char **argv; /* spawn mode */
    struct sockaddr_un sun;
    struct sockaddr_in sin;
} opt = {.n = 200,
         .warm = 5,
         .conc = 1,
         .label = "run",
         .create_body = "{}",
         .exec_body = "{\"cmd\":[\"true\"]}"};

static pthread_barrier_t start_barrier;
static pthread_mutex_t out_mu = PTHREAD_MUTEX_INITIALIZER;
static atomic_uint next_job;      /* create mode: jobs handed out */
static char (*purge_ids)[MAX_ID]; /* purge mode: ids to delete */
static unsigned purge_n;

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static void set_err(struct worker *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_err(struct worker *w, const char *fmt, ...)
{
    va_list ap;
    if (w->first_err[0])
        return;
    va_start(ap, fmt);
    vsnprintf(w->first_err, sizeof(w->first_err), fmt, ap);
    va_end(ap);
}

/* ---- a minimal HTTP/1.1 client ---------------------------------------------------------- */

struct conn {
    int fd;
    char *in; /* received bytes: header, then (decoded) body */
    size_t len, cap;
};

struct resp {
    int status;
    const char *body; /* NUL-terminated, inside conn.in or conn-owned */
    size_t body_len;
};

static int conn_open(struct conn *c)
{
    struct timeval tv = {.tv_sec = IO_TIMEOUT_S};
    int one = 1, fd;

    if (opt.sock) {
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *)&opt.sun, sizeof(opt.sun)) < 0)
            goto fail;
    } else {
        fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *)&opt.sin, sizeof(opt.sin)) < 0)
            goto fail;
        (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    c->fd = fd;
    return 0;
fail:
    if (fd >= 0) {
        int e = errno;
        close(fd);
        errno = e;
    }
    return -errno;
}

static void conn_close(struct conn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
}

static int send_all(int fd, struct iovec *iov, int cnt)
{
    struct msghdr mh = {.msg_iov = iov, .msg_iovlen = (size_t)cnt};

    while (mh.msg_iovlen > 0) {
        ssize_t k = sendmsg(fd, &mh, MSG_NOSIGNAL);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        while (mh.msg_iovlen > 0 && (size_t)k >= mh.msg_iov->iov_len) {
            k -= (ssize_t)mh.msg_iov->iov_len;
            mh.msg_iov++, mh.msg_iovlen--;
        }
        if (mh.msg_iovlen > 0) {
            mh.msg_iov->iov_base = (char *)mh.msg_iov->iov_base + k;
            mh.msg_iov->iov_len -= (size_t)k;
        }
    }
    return 0;
}

/* Read more bytes into c->in. Returns bytes read, 0 at EOF, -errno on error. */
static ssize_t fill(struct conn *c)
{
    if (c->cap - c->len < 65536) {
        size_t nc = c->cap ? c->cap * 2 : 131072;
        if (nc > MAX_RESP + 65536)
            return -E2BIG;
        char *p = realloc(c->in, nc + 1);
        if (!p)
            return -ENOMEM;
        c->in = p, c->cap = nc;
    }
    for (;;) {
        ssize_t k = read(c->fd, c->in + c->len, c->cap - c->len);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return -errno;
        c->len += (size_t)k;
        c->in[c->len] = '\0';
        return k;
    }
}

/* Value of header name (case-insensitive) in the header block [h, end), or NULL. */
static const char *header(const char *h, const char *end, const char *name, size_t *ret_len)
{
    size_t nl = strlen(name);

    for (const char *line = strstr(h, "\r\n"); line && line + 2 < end;
         line = strstr(line + 2, "\r\n")) {
        const char *p = line + 2;
        if ((size_t)(end - p) > nl && !strncasecmp(p, name, nl) && p[nl] == ':') {
            p += nl + 1;
            while (*p == ' ' || *p == '\t')
                p++;
            *ret_len = (size_t)(strstr(p, "\r\n") - p);
            return p;
        }
    }
    return NULL;
}

/* Decode a chunked body that starts at c->in + off in place; reads more as needed.
 * Returns the decoded length or -errno. */
static ssize_t read_chunked(struct conn *c, size_t off)
{
    size_t out = off, pos = off;

    for (;;) {
        char *eol = memmem(c->in + pos, c->len - pos, "\r\n", 2);
        if (!eol) {
            ssize_t k = fill(c);
            if (k <= 0)
                return k < 0 ? k : -EPIPE;
            continue;
        }
        char *end;
        errno = 0;
        unsigned long sz = strtoul(c->in + pos, &end, 16);
        if (errno || end == c->in + pos || sz > MAX_RESP)
            return -EPROTO;
        size_t data = (size_t)(eol - c->in) + 2;
        while (c->len < data + sz + 2) {
            ssize_t k = fill(c);
            if (k <= 0)
                return k < 0 ? k : -EPIPE;
        }
        if (sz == 0) /* no trailers from coved: the final CRLF follows */
            return (ssize_t)(out - off);
        memmove(c->in + out, c->in + data, sz);
        out += sz;
        pos = data + sz + 2;
    }
}

/* One request/response exchange on c (connecting if needed). On success fills *ret. */
static int http_do(struct conn *c, const char *method, const char *path, const char *body,
                   struct resp *ret)
{
    char head[1024];
    struct iovec iov[2];
    const char *v;
    size_t vl, hdr_end;
    bool close_after = false;
    int n, r;

    if (c->fd < 0 && (r = conn_open(c)) < 0)
        return r;
    if (body)
        n = snprintf(head, sizeof(head),
                     "%s %s HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer %s\r\n"
                     "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
                     method, path, opt.key, strlen(body));
    else
        n = snprintf(head, sizeof(head),
                     "%s %s HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer %s\r\n\r\n",
                     method, path, opt.key);
    if (n <= 0 || (size_t)n >= sizeof(head))
        return -E2BIG;
    iov[0] = (struct iovec){head, (size_t)n};
    iov[1] = (struct iovec){(void *)(body ? body : ""), body ? strlen(body) : 0};
    r = send_all(c->fd, iov, body ? 2 : 1);
    if (r < 0)
        goto broken;

    c->len = 0;
    for (;;) {
        char *e = c->len ? strstr(c->in, "\r\n\r\n") : NULL;
        if (e) {
            hdr_end = (size_t)(e - c->in) + 4;
            break;
        }
        ssize_t k = fill(c);
        if (k <= 0) {
            r = k < 0 ? (int)k : -EPIPE;
            goto broken;
        }
    }
    if (sscanf(c->in, "HTTP/1.%*d %d", &ret->status) != 1) {
        r = -EPROTO;
        goto broken;
    }
    v = header(c->in, c->in + hdr_end, "Connection", &vl);
    close_after = v && vl == 5 && !strncasecmp(v, "close", 5);
    v = header(c->in, c->in + hdr_end, "Transfer-Encoding", &vl);
    if (v && vl >= 7 && !strncasecmp(v, "chunked", 7)) {
        ssize_t k = read_chunked(c, hdr_end);
        if (k < 0) {
            r = (int)k;
            goto broken;
        }
        ret->body_len = (size_t)k;
    } else if ((v = header(c->in, c->in + hdr_end, "Content-Length", &vl))) {
        char *end;
        unsigned long long cl = strtoull(v, &end, 10);
        if (end == v || cl > MAX_RESP) {
            r = -EPROTO;
            goto broken;
        }
        while (c->len < hdr_end + cl) {
            ssize_t k = fill(c);
            if (k <= 0) {
                r = k < 0 ? (int)k : -EPIPE;
                goto broken;
            }
        }
        ret->body_len = (size_t)cl;
    } else { /* delimited by close */
        ssize_t k;
        while ((k = fill(c)) > 0)
            ;
        ret->body_len = c->len - hdr_end;
        close_after = true;
    }
    c->in[hdr_end + ret->body_len] = '\0';
    ret->body = c->in + hdr_end;
    if (close_after)
        conn_close(c);
    return 0;
broken:
    conn_close(c);
    return r;
}

/* ---- tiny JSON probes (coved's answers are flat enough) --------------------------------- */

/* Position just after `"key":` (whitespace allowed around the colon), or NULL. */
static const char *json_key(const char *body, const char *key)
{
    char pat[80];
    snprintf(pat, sizeof(pat), "\"%s\"", key);
    for (const char *p = strstr(body, pat); p; p = strstr(p + 1, pat)) {
        const char *q = p + strlen(pat);
        while (*q == ' ')
            q++;
        if (*q == ':') {
            q++;
            while (*q == ' ')
                q++;
            return q;
        }
    }
    return NULL;
}

/* Copy the JSON string that starts at p (no escapes expected: ids are [0-9a-f]). */
static int json_str_at(const char *p, char *out, size_t cap)
{
    size_t i = 0;

    if (!p || *p != '"')
        return -ENOENT;
    for (p++; *p && *p != '"' && i + 1 < cap; p++)
        out[i++] = *p;
    out[i] = '\0';
    return *p == '"' ? 0 : -E2BIG;
}

static int json_str(const char *body, const char *key, char *out, size_t cap)
{
    return json_str_at(json_key(body, key), out, cap);
}

static int json_num(const char *body, const char *key, double *ret)
{
    const char *p = json_key(body, key);
    char *end;

    if (!p)
        return -ENOENT;
    *ret = strtod(p, &end);
    return end == p ? -EINVAL : 0;
}

/* ---- api mode ----------------------------------------------------------------------------- */

static void short_body(const struct resp *rs, char *out, size_t cap)
{
    snprintf(out, cap, "%.*s", (int)(rs->body_len < 200 ? rs->body_len : 200), rs->body);
}

/* Create a sandbox; on success *ret_id holds its id. */
static int api_create(struct worker *w, struct conn *c, char *id)
{
    struct resp rs;
    char b[256];
    int r = http_do(c, "POST", "/v1/sandboxes", opt.create_body, &rs);

    if (r < 0) {
        set_err(w, "create: %s", strerror(-r));
        return r;
    }
    if (rs.status != 201 || json_str(rs.body, "id", id, MAX_ID) < 0) {
        short_body(&rs, b, sizeof(b));
        set_err(w, "create: HTTP %d %s", rs.status, b);
        return -EIO;
    }
    return 0;
}

static int api_exec(struct worker *w, struct conn *c, const char *id, double *ret_cmd_ms)
{
    struct resp rs;
    char path[128], b[256];
    double code = -1;
    int r;

    snprintf(path, sizeof(path), "/v1/sandboxes/%s/exec", id);
    r = http_do(c, "POST", path, opt.exec_body, &rs);
    if (r < 0) {
        set_err(w, "exec: %s", strerror(-r));
        return r;
    }
    if (rs.status != 200 || json_num(rs.body, "exit_code", &code) < 0 || code != 0) {
        short_body(&rs, b, sizeof(b));
        set_err(w, "exec: HTTP %d %s", rs.status, b);
        return -EIO;
    }
    if (json_num(rs.body, "duration_ms", ret_cmd_ms) < 0)
        *ret_cmd_ms = 0;
    return 0;
}

static int api_delete(struct worker *w, struct conn *c, const char *id)
{
    struct resp rs;
    char path[128], b[256];
    int r;

    snprintf(path, sizeof(path), "/v1/sandboxes/%s", id);
    r = http_do(c, "DELETE", path, NULL, &rs);
    if (r < 0) {
        set_err(w, "delete: %s", strerror(-r));
        return r;
    }
    if (rs.status != 200) {
        short_body(&rs, b, sizeof(b));
        set_err(w, "delete: HTTP %d %s", rs.status, b);
        return -EIO;
    }
    return 0;
}

/* One create -> exec -> delete. Returns 0 and fills *s, or <0 (counted as a failure). */
static int one_cycle(struct worker *w, struct conn *c, struct sample *s)
{
    char id[MAX_ID];
    double t0 = now_us(), t1, t2, t3, cmd_ms = 0;
    int r, rd;

    r = api_create(w, c, id);
    if (r < 0)
        return r;
    t1 = now_us();
    r = api_exec(w, c, id, &cmd_ms);
    t2 = now_us();
    rd = api_delete(w, c, id); /* even after a failed exec: never leak */
    t3 = now_us();
    if (r < 0 || rd < 0)
        return r < 0 ? r : rd;
    *s = (struct sample){.total = (uint32_t)(t3 - t0),
                         .create = (uint32_t)(t1 - t0),
                         .exec = (uint32_t)(t2 - t1),
                         .del = (uint32_t)(t3 - t2),
                         .cmd = (uint32_t)(cmd_ms * 1000)};
    return 0;
}

/* ---- spawn mode --------------------------------------------------------------------------- */

static int one_spawn(struct worker *w, bool show_stderr, struct sample *s)
{
    posix_spawn_file_actions_t fa;
    double t0 = now_us();
    int st, r;
    pid_t pid;

    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    if (!show_stderr)
        posix_spawn_file_actions_adddup2(&fa, 1, 2);
    r = posix_spawnp(&pid, opt.argv[0], &fa, NULL, opt.argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (r != 0) {
        set_err(w, "spawn %s: %s", opt.argv[0], strerror(r));
        return -r;
    }
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return -errno;
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        set_err(w, "%s: %s %d", opt.argv[0], WIFEXITED(st) ? "exit status" : "killed by signal",
                WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
        return -EIO;
    }
    s->total = (uint32_t)(now_us() - t0);
    return 0;
}

/* ---- workers ------------------------------------------------------------------------------ */

static int record(struct worker *w, const struct sample *s)
{
    if (w->n == w->cap) {
        size_t nc = w->cap ? w->cap * 2 : 1024;
        struct sample *p = realloc(w->s, nc * sizeof(*p));
        if (!p)
            return -ENOMEM;
        w->s = p, w->cap = nc;
    }
    w->s[w->n++] = *s;
    return 0;
}

static int run_one(struct worker *w, struct conn *c, bool first, struct sample *s)
{
    if (opt.mode == M_SPAWN)
        return one_spawn(w, first, s);
    return one_cycle(w, c, s);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct conn c = {.fd = -1};
    struct sample s;
    double deadline;

    for (unsigned i = 0; i < opt.warm; i++)
        (void)run_one(w, &c, w->idx == 0 && i == 0, &s);
    w->first_err[0] = '\0'; /* warm-up failures show again below if they persist */
    pthread_barrier_wait(&start_barrier);
    deadline = opt.dur_s > 0 ? now_us() + opt.dur_s * 1e6 : INFINITY;
    for (unsigned i = 0; i < opt.n && now_us() < deadline; i++) {
        if (i > 0 && opt.pause_ms) { /* an idle host between cycles, as with sporadic users */
            struct timespec ts = {opt.pause_ms / 1000, (long)(opt.pause_ms % 1000) * 1000000};
            nanosleep(&ts, NULL);
        }
        if (run_one(w, &c, false, &s) < 0)
            w->fails++;
        else if (record(w, &s) < 0)
            break;
    }
    w->t_end = now_us();
    conn_close(&c);
    free(c.in);
    return NULL;
}

/* create mode: each worker takes job numbers until opt.n are handed out. */
static void *creator_main(void *arg)
{
    struct worker *w = arg;
    struct conn c = {.fd = -1};
    char id[MAX_ID];

    pthread_barrier_wait(&start_barrier);
    while (atomic_fetch_add(&next_job, 1) < opt.n) {
        struct sample s = {0};
        double t0 = now_us();
        if (api_create(w, &c, id) < 0) {
            w->fails++;
            continue;
        }
        s.total = s.create = (uint32_t)(now_us() - t0);
        (void)record(w, &s);
        pthread_mutex_lock(&out_mu);
        printf("%s\n", id);
        fflush(stdout);
        pthread_mutex_unlock(&out_mu);
    }
    w->t_end = now_us();
    conn_close(&c);
    free(c.in);
    return NULL;
}

static void *purger_main(void *arg)
{
    struct worker *w = arg;
    struct conn c = {.fd = -1};
    unsigned j;

    pthread_barrier_wait(&start_barrier);
    while ((j = atomic_fetch_add(&next_job, 1)) < purge_n) {
        struct sample s = {0};
        double t0 = now_us();
        if (api_delete(w, &c, purge_ids[j]) < 0) {
            w->fails++;
            continue;
        }
        s.total = s.del = (uint32_t)(now_us() - t0);
        (void)record(w, &s);
    }
    w->t_end = now_us();
    conn_close(&c);
    free(c.in);
    return NULL;
}

/* List every sandbox id into purge_ids. */
static int list_ids(void)
{
    struct conn c = {.fd = -1};
    struct resp rs;
    const char *p;
    size_t cap = 0;
    int r = http_do(&c, "GET", "/v1/sandboxes", NULL, &rs);

    if (r < 0 || rs.status != 200) {
        fprintf(stderr, "cycle: list sandboxes: %s\n", r < 0 ? strerror(-r) : rs.body);
        return -EIO;
    }
    for (p = rs.body; (p = json_key(p, "id")); p++) {
        if (purge_n == cap) {
            cap = cap ? cap * 2 : 256;
            void *np = realloc(purge_ids, cap * MAX_ID);
            if (!np)
                return -ENOMEM;
            purge_ids = np;
        }
        if (json_str_at(p, purge_ids[purge_n], MAX_ID) == 0)
            purge_n++;
    }
    conn_close(&c);
    free(c.in);
    return 0;
}

/* ---- statistics and output ---------------------------------------------------------------- */

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of a sorted array. */
static uint32_t pct(const uint32_t *v, size_t n, double p)
{
    size_t k;
    if (!n)
        return 0;
    k = (size_t)ceil(p / 100.0 * (double)n);
    return v[k ? k - 1 : 0];
}

static void print_field(FILE *o, const struct sample *all, size_t n, size_t off, const char *name,
                        bool full)
{
    uint32_t *v = malloc((n ? n : 1) * sizeof(*v));
    double sum = 0;

    if (!v)
        return;
    for (size_t i = 0; i < n; i++) {
        v[i] = *(const uint32_t *)((const char *)&all[i] + off);
        sum += v[i];
    }
    qsort(v, n, sizeof(*v), cmp_u32);
    fprintf(o, " %sp50_us=%u %sp90_us=%u %sp99_us=%u", name, pct(v, n, 50), name, pct(v, n, 90),
            name, pct(v, n, 99));
    if (full)
        fprintf(o, " %smin_us=%u %smax_us=%u %smean_us=%.0f", name, n ? v[0] : 0, name,
                pct(v, n, 100), name, n ? sum / (double)n : 0);
    free(v);
}

static void report(struct worker *w, unsigned nw, double t0)
{
    size_t n = 0, k = 0;
    unsigned fails = 0;
    double t_end = t0;
    struct sample *all;
    FILE *raw = NULL;

    for (unsigned i = 0; i < nw; i++) {
        n += w[i].n, fails += w[i].fails;
        if (w[i].t_end > t_end)
            t_end = w[i].t_end;
        if (w[i].first_err[0])
            fprintf(stderr, "cycle[%s] worker %u: first failure: %s\n", opt.label, i,
                    w[i].first_err);
    }
    all = calloc(n ? n : 1, sizeof(*all));
    if (!all)
        return;
    if (opt.raw_path && !(raw = fopen(opt.raw_path, "we")))
        fprintf(stderr, "cycle: %s: %s\n", opt.raw_path, strerror(errno));
    if (raw)
        fprintf(raw, "worker total_us create_us exec_us delete_us cmd_us\n");
    for (unsigned i = 0; i < nw; i++)
        for (size_t j = 0; j < w[i].n; j++) {
            all[k++] = w[i].s[j];
            if (raw)
                fprintf(raw, "%u %u %u %u %u %u\n", i, w[i].s[j].total, w[i].s[j].create,
                        w[i].s[j].exec, w[i].s[j].del, w[i].s[j].cmd);
        }
    if (raw)
        fclose(raw);
    double wall = (t_end - t0) / 1e6;
    /* in create mode the ids own stdout */
    FILE *o = opt.mode == M_CREATE ? stderr : stdout;
    fprintf(o, "label=%s mode=%s c=%u n=%zu fails=%u wall_s=%.3f ops_per_s=%.1f", opt.label,
            (const char *[]){"api", "spawn", "create", "purge"}[opt.mode], nw, n, fails, wall,
            wall > 0 ? (double)n / wall : 0);
    print_field(o, all, n, offsetof(struct sample, total), "", true);
    if (opt.mode == M_API) {
        print_field(o, all, n, offsetof(struct sample, create), "create_", false);
        print_field(o, all, n, offsetof(struct sample, exec), "exec_", false);
        print_field(o, all, n, offsetof(struct sample, del), "delete_", false);
        print_field(o, all, n, offsetof(struct sample, cmd), "cmd_", false);
    }
    fprintf(o, "\n");
    fflush(o);
    free(all);
}

/* ---- main --------------------------------------------------------------------------------- */

static void usage(void)
{
    fprintf(stderr,
            "usage: cycle api    (-s SOCK | -t 127.0.0.1:PORT) [opts]   create/exec/delete loop\n"
            "       cycle spawn  [opts] -- ARGV...                       spawn+wait loop\n"
            "       cycle create (-s SOCK | -t ...) -n N [-c C] [-b BODY] print N new ids\n"
            "       cycle purge  (-s SOCK | -t ...) [-c C]               delete all sandboxes\n"
            "       cycle list   (-s SOCK | -t ...)                      print all sandbox ids\n"
            "opts: -n N cycles per worker (200), -w W warm-up per worker (5), -c C workers (1),\n"
            "      -d S stop after S seconds, -l LABEL, -b CREATE_BODY ({}),\n"
            "      -e EXEC_BODY ({\"cmd\":[\"true\"]}), -r FILE per-cycle samples,\n"
            "      -p MS idle pause between cycles (not timed; wall_s includes it).\n"
            "The API key comes from $COVE_API_KEY.\n");
    exit(2);
}

static unsigned parse_uint(const char *s, unsigned max)
{
    char *end;
    unsigned long v;

    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno || end == s || *end || v > max) {
        fprintf(stderr, "cycle: bad number '%s'\n", s);
        exit(2);
    }
    return (unsigned)v;
}

static void parse_target(void)
{
    if (opt.sock) {
        opt.sun.sun_family = AF_UNIX;
        if (strlen(opt.sock) >= sizeof(opt.sun.sun_path))
            usage();
        memcpy(opt.sun.sun_path, opt.sock, strlen(opt.sock) + 1);
        return;
    }
    if (!opt.tcp)
        usage();
    const char *colon = strrchr(opt.tcp, ':');
    char host[64];
    if (!colon || (size_t)(colon - opt.tcp) >= sizeof(host))
        usage();
    snprintf(host, sizeof(host), "%.*s", (int)(colon - opt.tcp), opt.tcp);
    opt.sin.sin_family = AF_INET;
    opt.sin.sin_port = htons((uint16_t)parse_uint(colon + 1, 65535));
    /* loopback only: this is a benchmark client, never a network load generator */
    if (inet_pton(AF_INET, host, &opt.sin.sin_addr) != 1 ||
        (ntohl(opt.sin.sin_addr.s_addr) >> 24) != 127) {
        fprintf(stderr, "cycle: -t must be a 127.x.y.z address\n");
        exit(2);
    }
}

/* Fill opt from the command line (exits on a usage error). */
static void parse_args(int argc, char **argv)
{
    static const char *const modes[] = {"api", "spawn", "create", "purge", "list"};
    int o;

    if (argc < 2)
        usage();
    for (o = 0; o < 5 && strcmp(argv[1], modes[o]); o++)
        ;
    if (o == 5)
        usage();
    opt.mode = (enum mode)o;
    argc--, argv++;
    while ((o = getopt(argc, argv, "+s:t:n:w:c:d:l:b:e:r:p:h")) != -1) {
        switch (o) {
        case 's':
            opt.sock = optarg;
            break;
        case 't':
            opt.tcp = optarg;
            break;
        case 'n':
            opt.n = parse_uint(optarg, 10000000);
            break;
        case 'w':
            opt.warm = parse_uint(optarg, 100000);
            break;
        case 'c':
            opt.conc = parse_uint(optarg, MAX_WORKERS);
            break;
        case 'd':
            opt.dur_s = parse_uint(optarg, 86400);
            break;
        case 'l':
            opt.label = optarg;
            break;
        case 'b':
            opt.create_body = optarg;
            break;
        case 'e':
            opt.exec_body = optarg;
            break;
        case 'r':
            opt.raw_path = optarg;
            break;
        case 'p':
            opt.pause_ms = parse_uint(optarg, 60000);
            break;
        default:
            usage();
        }
    }
    if (opt.conc < 1)
        usage();
    if (opt.mode == M_SPAWN) {
        if (optind >= argc)
            usage();
        opt.argv = argv + optind;
        return;
    }
    parse_target();
    opt.key = getenv("COVE_API_KEY");
    if (!opt.key || !*opt.key) {
        fprintf(stderr, "cycle: set COVE_API_KEY\n");
        exit(2);
    }
}

int main(int argc, char **argv)
{
    struct worker *w;
    void *(*fn)(void *) = worker_main;
    double t0;

    parse_args(argc, argv);
    signal(SIGPIPE, SIG_IGN);
    if (opt.mode == M_CREATE)
        fn = creator_main;
    if (opt.mode == M_PURGE || opt.mode == M_LIST) {
        if (list_ids() < 0)
            return 1;
        fn = purger_main;
    }
    if (opt.mode == M_LIST) {
        for (unsigned i = 0; i < purge_n; i++)
            printf("%s\n", purge_ids[i]);
        free(purge_ids);
        return 0;
    }
    w = calloc(opt.conc, sizeof(*w));
    if (!w || pthread_barrier_init(&start_barrier, NULL, opt.conc + 1))
        return 1;
    for (unsigned i = 0; i < opt.conc; i++) {
        w[i].idx = (int)i;
        if (pthread_create(&w[i].th, NULL, fn, &w[i])) {
            fprintf(stderr, "cycle: pthread_create failed\n");
            return 1;
        }
    }
    pthread_barrier_wait(&start_barrier);
    t0 = now_us();
    for (unsigned i = 0; i < opt.conc; i++)
        pthread_join(w[i].th, NULL);
    report(w, opt.conc, t0);
    unsigned fails = 0, done = 0;
    for (unsigned i = 0; i < opt.conc; i++)
        fails += w[i].fails, done += (unsigned)w[i].n, free(w[i].s);
    free(w);
    free(purge_ids);
    if (opt.mode == M_CREATE || opt.mode == M_PURGE)
        return fails ? 1 : 0;
    return done ? 0 : 1;
}
