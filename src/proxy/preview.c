/* Preview proxy (see preview.h).
 *
 * A request is resolved to (sandbox, port) from its Host or its /preview/ path, checked
 * against the sandbox's preview token (header, ?DAYTONA_SANDBOX_AUTH_KEY= / ?token=, or the
 * cookie that a token in the query sets) or a signed token, and then forwarded:
 *   - plain HTTP through libcurl, whose socket is created inside the sandbox's network
 *     namespace (CURLOPT_OPENSOCKETFUNCTION); the request body is fed to curl as it arrives
 *     and the response is streamed back through the connection thread, never buffered whole;
 *   - WebSocket upgrades over a raw socket: the handshake is relayed, then bytes are copied
 *     both ways until either side closes.
 * If nothing listens on the port yet, the proxy retries the connection for up to wait_s
 * seconds before answering 502. A stopped sandbox is a 503. */
#include "proxy/preview.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "api/api.h"
#include "api/preview-token.h"
#include "base/buf.h"
#include "base/cleanup.h"
#include "base/limits.h"
#include "base/parse.h"
#include "exec/session.h"
#include "proxy/preview-internal.h"

#define DOWN_HIGH_WATER (1u << 20)
/* curl's receive and send buffers: one recv()/send() per 128 KiB of a large body (curl's
 * default, 16 KiB, costs eight); memory that only large transfers touch. */
#define PV_CURL_BUFFER (128u << 10)
/* An answer complete by the time its head is in, and no larger than this, is sent from one
 * buffer (head and body in one write); anything else streams. */
#define PV_WHOLE_MAX (64u << 10)

static struct preview_config conf = {.domain = "localhost", .wait_s = 10};

static const struct http_route host_route = {.method = HTTP_GET,
                                             .pattern = "(preview host)",
                                             .handler = preview_handle,
                                             .flags = HTTP_F_PUBLIC | HTTP_F_STREAM_BODY,
                                             .prepare = preview_prepare,
                                             .body_chunk = preview_body};

void preview_init(const struct preview_config *cfg)
{
    if (cfg->domain && *cfg->domain)
        conf.domain = cfg->domain;
    conf.wait_s = cfg->wait_s;
    curl_global_init(CURL_GLOBAL_NOTHING);
}

/* Split "3000-abcdef.localhost:3000" into port and label; 0 if it is a preview host. */
static int parse_host(const char *host, unsigned *port, char *label, size_t cap)
{
    size_t dl = strlen(conf.domain), hl = strcspn(host, ":");
    const char *dash;
    uint32_t p;
    char num[8];

    if (hl <= dl + 1 || host[hl - dl - 1] != '.' || strncasecmp(host + hl - dl, conf.domain, dl))
        return -ENOENT;
    hl -= dl + 1; /* host[0..hl) is "{port}-{label}" */
    dash = memchr(host, '-', hl);
    if (!dash || dash == host || (size_t)(dash - host) >= sizeof(num) ||
        hl - (size_t)(dash - host) - 1 >= cap || memchr(host, '.', hl))
        return -ENOENT;
    snprintf(num, sizeof(num), "%.*s", (int)(dash - host), host);
    if (parse_u32_range(num, 1, 65535, &p) < 0)
        return -ENOENT;
    *port = p;
    snprintf(label, cap, "%.*s", (int)(hl - (size_t)(dash - host) - 1), dash + 1);
    for (char *c = label; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    return 0;
}

unsigned preview_wait_s(void)
{
    return conf.wait_s;
}

bool preview_is_host(const char *host)
{
    unsigned port;
    char label[80];

    return parse_host(host, &port, label, sizeof(label)) == 0;
}

const struct http_route *preview_host_route(const char *host, void *userdata)
{
    unsigned port;
    char label[80];

    return parse_host(host, &port, label, sizeof(label)) == 0 ? &host_route : NULL;
}

void preview_url(const char *host_header, const char *id_or_token, unsigned port, char *buf,
                 size_t cap)
{
    const char *colon = host_header ? strrchr(host_header, ':') : NULL;
    snprintf(buf, cap, "http://%u-%s.%s%s", port, id_or_token, conf.domain,
             colon && !strchr(colon, ']') ? colon : "");
}

/* Which session command served (sandbox, port), remembered from successful connections so
 * that a later refusal can say that this process exited and where its logs are. */
#define LISTENERS 256
static struct listener {
    char sandbox_id[33];
    unsigned port;
    char cid[37];
    int64_t checked_ms;
} listeners[LISTENERS];
static pthread_mutex_t listeners_mu = PTHREAD_MUTEX_INITIALIZER;

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)tolower((unsigned char)c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct listener *listener_slot(const char *id, unsigned port, bool create)
{
    struct listener *oldest = &listeners[0];

    for (size_t i = 0; i < LISTENERS; i++) {
        struct listener *l = &listeners[i];
        if (l->port == port && !strcmp(l->sandbox_id, id))
            return l;
        if (l->checked_ms < oldest->checked_ms)
            oldest = l;
    }
    if (!create)
        return NULL;
    *oldest = (struct listener){.port = port};
    snprintf(oldest->sandbox_id, sizeof(oldest->sandbox_id), "%s", id);
    return oldest;
}

void preview_listener_note(struct sandbox *sb, unsigned port)
{
    char cid[37];
    struct listener *l;
    int64_t now = mono_ms();

    pthread_mutex_lock(&listeners_mu);
    l = listener_slot(sandbox_id(sb), port, false);
    bool fresh = l && now - l->checked_ms < 2000;
    pthread_mutex_unlock(&listeners_mu);
    if (fresh)
        return;
    if (session_find_listener(sb, port, cid) < 0)
        cid[0] = '\0';
    pthread_mutex_lock(&listeners_mu);
    l = listener_slot(sandbox_id(sb), port, true);
    if (cid[0] || !l->cid[0])
        snprintf(l->cid, sizeof(l->cid), "%s", cid);
    l->checked_ms = now;
    pthread_mutex_unlock(&listeners_mu);
}

void preview_listener_forget(struct sandbox *sb, unsigned port)
{
    struct listener *l;

    pthread_mutex_lock(&listeners_mu);
    l = listener_slot(sandbox_id(sb), port, false);
    if (l)
        l->checked_ms = 0;
    pthread_mutex_unlock(&listeners_mu);
}

/* Did a connection to (sb, port) succeed in the last two seconds? Then skip the readiness
 * probe: a hot preview pays for one upstream connection at most, usually none. */
bool preview_recently_listening(struct sandbox *sb, unsigned port)
{
    struct listener *l;
    bool ok;

    pthread_mutex_lock(&listeners_mu);
    l = listener_slot(sandbox_id(sb), port, false);
    ok = l && mono_ms() - l->checked_ms < 2000;
    pthread_mutex_unlock(&listeners_mu);
    return ok;
}

/* Per connection thread: one curl multi handle, which holds the upstream connections so
 * that a client's keep-alive requests reuse them, and one easy handle, reset and reused by
 * the thread's next request instead of allocated anew. Connections are keyed by a host name
 * unique to the sandbox ("s-<id>", resolved to 127.0.0.1 inside that sandbox's namespace), so
 * one sandbox's connection is never reused for another. */
struct pv_thread {
    CURLM *m;
    CURL *e;
    bool e_busy; /* e is lent to a request */
};
static pthread_key_t thread_key;
static pthread_once_t thread_once = PTHREAD_ONCE_INIT;

static void thread_free(void *p)
{
    struct pv_thread *t = p;

    if (t->e && !t->e_busy)
        curl_easy_cleanup(t->e);
    curl_multi_cleanup(t->m);
    free(t);
}

static void thread_key_init(void)
{
    pthread_key_create(&thread_key, thread_free);
}

static struct pv_thread *thread_state(bool create)
{
    struct pv_thread *t;

    pthread_once(&thread_once, thread_key_init);
    t = pthread_getspecific(thread_key);
    if (!t && create && (t = calloc(1, sizeof(*t)))) {
        t->m = curl_multi_init();
        if (!t->m || pthread_setspecific(thread_key, t) != 0) {
            curl_multi_cleanup(t->m);
            free(t);
            t = NULL;
        }
    }
    return t;
}

struct pv {
    struct sandbox *sb;
    unsigned port;
    char rest[COVE_MAX_URL_BYTES + 1];
    char sandbox_id[33];
    char set_cookie[200];
    int netns;
    int conn_fd; /* connected to the port by wait_listening, not yet handed on */
    bool ws, path_form;
    /* curl */
    CURL *e;
    CURLM *m;
    struct pv_thread *owner; /* e is owner's reusable handle */
    struct curl_slist *hdrs;
    char errbuf[CURL_ERROR_SIZE];
    const char *in; /* the request body piece being handed to curl (libmicrohttpd's) */
    size_t in_len;
    bool up_done, up_paused, has_body;
    struct buf down;
    size_t down_off;
    char *out; /* while stream_cb pumps: libmicrohttpd's buffer, filled before down */
    size_t out_len, out_cap;
    bool down_paused, headers_done, finished;
    CURLcode result;
    long status;
    int64_t resp_len; /* the upstream's Content-Length, or -1 (chunked, or until close) */
    bool resp_chunked;
    struct curl_slist *resp_hdrs;
    struct curl_slist *resolve;
};

static void pv_free(void *p)
{
    struct pv *v = p;

    if (v->m && v->e)
        curl_multi_remove_handle(v->m, v->e);
    if (v->owner && v->owner == thread_state(false)) {
        curl_easy_reset(v->e); /* back to the thread for its next request */
        v->owner->e_busy = false;
    } else if (v->e) {
        curl_easy_cleanup(v->e);
    }
    curl_slist_free_all(v->resolve); /* the multi handle belongs to the thread */
    curl_slist_free_all(v->hdrs);
    curl_slist_free_all(v->resp_hdrs);
    buf_free(&v->down);
    if (v->netns >= 0)
        close(v->netns);
    if (v->conn_fd >= 0)
        close(v->conn_fd);
    if (v->sb) {
        sandbox_busy(v->sb, -1);
        sandbox_unref(v->sb);
    }
    free(v);
}

/* A TCP socket inside the sandbox's network namespace. The calling thread enters the
 * namespace only for socket(2) and returns at once; the socket stays bound to it. */
int preview_ns_socket(int netns, int flags)
{
    static __thread int home = -1;
    int fd, e;

    if (home < 0)
        home = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (home < 0 || setns(netns, CLONE_NEWNET) < 0)
        return -1;
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | flags, 0);
    e = errno;
    if (setns(home, CLONE_NEWNET) < 0)
        abort(); /* a thread left in a sandbox's network would be a security bug */
    errno = e;
    return fd;
}

static int ns_connect(int netns, unsigned port)
{
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int fd = preview_ns_socket(netns, 0), one = 1;

    if (fd < 0)
        return -errno;
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

/* The sandbox's network namespace, opened when a new upstream socket is needed: a request
 * that reuses a connection never opens it. */
static int pv_netns(struct pv *v, struct cove_err *err)
{
    if (v->netns < 0)
        v->netns = sandbox_netns_fd(v->sb, err);
    return v->netns;
}

/* Wait until something accepts on the port (a server that is still starting). The
 * connection that proves it is kept in v->conn_fd: a WebSocket relay uses it. (HTTP closes
 * it and lets curl connect again: handing curl a connected socket through
 * CURL_SOCKOPT_ALREADY_CONNECTED fails in libcurl 7.88, curl#10626, fixed in 8.0.) */
static int wait_listening(struct pv *v)
{
    struct timespec t0, t;
    int r;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        r = ns_connect(v->netns, v->port); /* the caller opened v->netns */
        if (r >= 0) {
            v->conn_fd = r;
            return 0;
        }
        if (r != -ECONNREFUSED)
            return r;
        clock_gettime(CLOCK_MONOTONIC, &t);
        if ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 >=
            (long)conf.wait_s * 1000)
            return r;
        if (sandbox_state(v->sb) != SANDBOX_STARTED)
            return -ESRCH;
        nanosleep(&(struct timespec){0, 50 * 1000000}, NULL);
    }
}

static curl_socket_t open_socket_cb(void *ud, curlsocktype purpose, struct curl_sockaddr *addr)
{
    struct cove_err err = {0};
    struct pv *v = ud;
    int fd = pv_netns(v, &err) < 0 ? -1 : preview_ns_socket(v->netns, 0);

    return fd < 0 ? CURL_SOCKET_BAD : fd;
}

static size_t read_cb(char *out, size_t size, size_t n, void *ud)
{
    struct pv *v = ud;
    size_t take = size * n < v->in_len ? size * n : v->in_len;

    if (take == 0) {
        if (v->up_done)
            return 0;
        v->up_paused = true;
        return CURL_READFUNC_PAUSE;
    }
    memcpy(out, v->in, take);
    v->in += take;
    v->in_len -= take;
    return take;
}

static size_t write_cb(char *data, size_t size, size_t n, void *ud)
{
    struct pv *v = ud;
    size_t len = size * n;

    v->headers_done = true;
    if (v->out && v->down_off == v->down.len) {
        /* straight into the reply buffer: one copy fewer */
        size_t k = v->out_cap - v->out_len < len ? v->out_cap - v->out_len : len;
        memcpy(v->out + v->out_len, data, k);
        v->out_len += k;
        if (k == len)
            return len;
        /* the rest waits in down; curl is not told to pause for it */
        if (v->down_off) {
            buf_reset(&v->down);
            v->down_off = 0;
        }
        if (buf_append(&v->down, data + k, len - k) < 0)
            return 0; /* cannot happen below DOWN_HIGH_WATER; curl then fails the transfer */
        return len;
    }
    if (v->down.len - v->down_off >= DOWN_HIGH_WATER) {
        v->down_paused = true;
        return CURL_WRITEFUNC_PAUSE;
    }
    if (v->down_off && v->down_off == v->down.len) {
        buf_reset(&v->down);
        v->down_off = 0;
    }
    if (buf_append(&v->down, data, size * n) < 0) {
        v->down_paused = true;
        return CURL_WRITEFUNC_PAUSE;
    }
    return size * n;
}

static bool hop_by_hop(const char *name, size_t len)
{
    static const char *const h[] = {
        "connection", "keep-alive",       "transfer-encoding",  "te",
        "upgrade",    "proxy-connection", "proxy-authenticate", "proxy-authorization",
        "trailer",    "content-length"};
    for (size_t i = 0; i < ELEMENTSOF(h); i++)
        if (strlen(h[i]) == len && !strncasecmp(name, h[i], len))
            return true;
    return false;
}

static size_t header_cb(char *data, size_t size, size_t n, void *ud)
{
    struct pv *v = ud;
    size_t len = size * n;
    const char *colon = memchr(data, ':', len);

    if (len >= 5 && !strncmp(data, "HTTP/", 5)) {
        /* a new status line (e.g. after 100 Continue): start over */
        curl_slist_free_all(v->resp_hdrs);
        v->resp_hdrs = NULL;
        v->resp_len = -1;
        v->resp_chunked = false;
        return len;
    }
    if (len <= 2) {
        curl_off_t cl = -1;
        curl_easy_getinfo(v->e, CURLINFO_RESPONSE_CODE, &v->status);
        curl_easy_getinfo(v->e, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl);
        v->resp_len = v->resp_chunked ? -1 : cl;
        if (v->status >= 200)
            v->headers_done = true;
        return len;
    }
    if (colon && colon - data == 17 && !strncasecmp(data, "transfer-encoding", 17))
        v->resp_chunked = true; /* it wins over any Content-Length (RFC 9112 6.3) */
    if (colon && !hop_by_hop(data, (size_t)(colon - data))) {
        char line[8192];
        size_t l = len;
        while (l && (data[l - 1] == '\r' || data[l - 1] == '\n'))
            l--;
        if (l < sizeof(line)) {
            memcpy(line, data, l);
            line[l] = '\0';
            v->resp_hdrs = curl_slist_append(v->resp_hdrs, line);
        }
    }
    return len;
}

/* Drive curl until cond holds or the transfer ends; timeout bounds one wait. */
static void pump(struct pv *v, bool (*cond)(struct pv *), int timeout_ms)
{
    int running = 1;

    while (!v->finished && !cond(v)) {
        curl_multi_perform(v->m, &running);
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(v->m, &left)))
            if (msg->msg == CURLMSG_DONE) {
                v->finished = true;
                v->result = msg->data.result;
                v->headers_done = true;
            }
        if (v->finished || cond(v))
            break;
        curl_multi_poll(v->m, NULL, 0, timeout_ms, NULL);
    }
}

static bool up_taken(struct pv *v)
{
    return v->in_len == 0;
}

static bool have_headers(struct pv *v)
{
    return v->headers_done;
}

static bool have_data(struct pv *v)
{
    return v->down.len > v->down_off || v->out_len;
}

static int add_header_cb(const char *name, const char *value, void *ud)
{
    struct pv *v = ud;
    char line[8192];

    if (hop_by_hop(name, strlen(name)) || !strcasecmp(name, "x-daytona-preview-token") ||
        !strcasecmp(name, "expect"))
        return 0;
    snprintf(line, sizeof(line), "%s: %s", name, value);
    v->hdrs = curl_slist_append(v->hdrs, line);
    return 0;
}

/* Remove every name=... (or bare name) pair from the query string of target, in place. */
static void strip_query_param(char *target, const char *name)
{
    char *qm = strchr(target, '?'), *r, *w;
    size_t nl = strlen(name);

    if (!qm)
        return;
    for (r = w = qm + 1; *r;) {
        size_t len = strcspn(r, "&");
        if (!(len >= nl && !strncmp(r, name, nl) && (len == nl || r[nl] == '='))) {
            if (w > qm + 1)
                *w++ = '&';
            memmove(w, r, len);
            w += len;
        }
        r += len + (r[len] == '&');
    }
    *w = '\0';
    if (w == qm + 1)
        *qm = '\0'; /* nothing left: drop the '?' too */
}

/* The value of the first name=value pair in target's query, percent-decoded; NULL if none. */
static const char *query_value(const char *target, const char *name, char *out, size_t cap)
{
    const char *q = strchr(target, '?');
    size_t nl = strlen(name);

    for (q = q ? q + 1 : NULL; q && *q;) {
        size_t len = strcspn(q, "&#");
        if (len > nl && !strncmp(q, name, nl) && q[nl] == '=') {
            size_t o = 0;
            for (size_t i = nl + 1; i < len && o + 1 < cap; i++) {
                int hi, lo;
                if (q[i] == '%' && i + 2 < len && (hi = hexval(q[i + 1])) >= 0 &&
                    (lo = hexval(q[i + 2])) >= 0) {
                    out[o++] = (char)(hi << 4 | lo);
                    i += 2;
                } else {
                    out[o++] = q[i] == '+' ? ' ' : q[i];
                }
            }
            out[o] = '\0';
            return out;
        }
        if (q[len] != '&')
            break;
        q += len + 1;
    }
    return NULL;
}

static int fail(struct preview_err *e, unsigned status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(struct preview_err *e, unsigned status, const char *code, const char *fmt, ...)
{
    va_list ap;

    e->status = status;
    snprintf(e->code, sizeof(e->code), "%s", code);
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
    va_end(ap);
    return status == 404 ? -ENOENT : status == 400 ? -EINVAL : -EACCES;
}

void preview_cache_clear(struct preview_cache *pc)
{
    free(pc->src);
    json_decref(pc->extra);
    pc->src = NULL;
    pc->extra = NULL;
}

int preview_authorize(const struct preview_req *pr, struct preview_route *rt, struct preview_err *e)
{
    const char *host = pr->host, *target = pr->target;
    char label[80], tok[PREVIEW_TOKEN_MAX], qbuf[PREVIEW_TOKEN_MAX];
    struct cove_err err = {0};
    struct sandbox *sb = NULL;
    uint16_t sport;
    bool authed = false;
    int r;

    rt->sb = NULL; /* not memset: rest alone is 8 KiB, and this runs per request */
    rt->port = 0;
    rt->path_form = false;
    rt->sandbox_id[0] = rt->rest[0] = rt->set_cookie[0] = '\0';
    if (host && parse_host(host, &rt->port, label, sizeof(label)) == 0) {
        snprintf(rt->rest, sizeof(rt->rest), "%s", target);
        /* A signed token stands in place of the id and authorises itself. */
        if (preview_signed_check(label, rt->sandbox_id, sizeof(rt->sandbox_id), &sport) == 0) {
            if (sport != rt->port)
                return fail(e, 403, "FORBIDDEN", "this signed preview URL is for another port");
            authed = true;
        } else {
            snprintf(rt->sandbox_id, sizeof(rt->sandbox_id), "%s", label);
        }
    } else {
        /* /preview/{id}/{port}/rest */
        const char *p = target + strlen("/preview/");
        const char *s1 = strchr(p, '/');
        uint32_t port;
        char num[8];
        if (strncmp(target, "/preview/", 9) || !s1 || (size_t)(s1 - p) >= sizeof(rt->sandbox_id))
            return fail(e, 404, "NOT_FOUND", "no preview target in %s", pr->path);
        snprintf(rt->sandbox_id, sizeof(rt->sandbox_id), "%.*s", (int)(s1 - p), p);
        const char *s2 = s1 + 1 + strcspn(s1 + 1, "/?");
        snprintf(num, sizeof(num), "%.*s", (int)(s2 - s1 - 1), s1 + 1);
        if (parse_u32_range(num, 1, 65535, &port) < 0)
            return fail(e, 400, "BAD_REQUEST", "port must be 1-65535");
        rt->port = port;
        rt->path_form = true;
        snprintf(rt->rest, sizeof(rt->rest), "%s%s", *s2 == '/' ? "" : "/", s2);
    }
    r = sandbox_lookup(NULL, rt->sandbox_id, &sb, &err);
    if (r < 0 || strcmp(sandbox_id(sb), rt->sandbox_id)) {
        /* by id only: a name is not a preview address */
        if (r >= 0)
            sandbox_unref(sb);
        return fail(e, 404, "SANDBOX_NOT_FOUND",
                    "no sandbox '%s', and no live signed preview URL with that "
                    "token (signed URLs expire)",
                    rt->sandbox_id);
    }
    if (authed) {
        rt->sb = sb;
        return 0;
    }
    struct sandbox_rec rec;
    sandbox_snapshot(sb, &rec);
    json_t *extra;
    struct preview_cache *pc = pr->cache;
    if (pc && pc->src && rec.extra_json && !strcmp(pc->src, rec.extra_json)) {
        extra = json_incref(pc->extra); /* the same text as last time: the same object */
    } else {
        extra = rec.extra_json ? json_loads(rec.extra_json, 0, NULL) : NULL;
        if (pc && extra && rec.extra_json) {
            preview_cache_clear(pc);
            pc->src = TAKE_PTR(rec.extra_json);
            pc->extra = json_incref(extra);
        }
    }
    store_sandbox_rec_free(&rec);
    if (json_is_true(json_object_get(extra, "public"))) {
        json_decref(extra);
        rt->sb = sb;
        return 0;
    }
    const char *given = pr->token;
    const char *qname = "DAYTONA_SANDBOX_AUTH_KEY";
    const char *q = query_value(target, qname, qbuf, sizeof(qbuf));
    if (!q)
        q = query_value(target, qname = "token", qbuf, sizeof(qbuf));
    if (!given)
        given = q;
    if (!given) {
        const char *cookie = pr->cookie;
        char name[64];
        snprintf(name, sizeof(name), "daytona-sandbox-auth-%s=", rt->sandbox_id);
        const char *c = cookie ? strstr(cookie, name) : NULL;
        if (c) {
            c += strlen(name);
            snprintf(tok, sizeof(tok), "%.*s", (int)strcspn(c, "; "), c);
            given = tok;
        }
    }
    r = given ? preview_token_check_extra(sb, extra, given) : -EACCES;
    json_decref(extra);
    if (r < 0) {
        sandbox_unref(sb);
        return fail(e, 401, "UNAUTHORIZED",
                    "this preview needs the sandbox's preview token: send header "
                    "X-Daytona-Preview-Token, or use a signed preview URL");
    }
    if (q && given == q) {
        snprintf(rt->set_cookie, sizeof(rt->set_cookie),
                 "daytona-sandbox-auth-%s=%s; Path=/; HttpOnly; SameSite=Lax", rt->sandbox_id, q);
        strip_query_param(rt->rest, qname); /* like the header, the token stays with us */
    }
    rt->sb = sb;
    return 0;
}

void preview_port_error(struct sandbox *sb, unsigned port, bool any_more, struct preview_err *e)
{
    struct session_cmd_status st;
    struct listener *l;
    char cid[37] = "";

    pthread_mutex_lock(&listeners_mu);
    l = listener_slot(sandbox_id(sb), port, false);
    if (l)
        snprintf(cid, sizeof(cid), "%s", l->cid);
    pthread_mutex_unlock(&listeners_mu);
    if (cid[0] && session_command_status(sb, cid, &st, NULL) >= 0 && !st.running) {
        fail(e, 502, "PROCESS_EXITED",
             "the process that listened on port %u (session command %s) has exited "
             "%s %d; its logs: GET /v1/sandboxes/%s/commands/%s/logs",
             port, cid, st.signal ? "by signal" : "with code", st.signal ? st.signal : st.exit_code,
             sandbox_id(sb), cid);
        return;
    }
    if (any_more)
        fail(e, 502, "PORT_NOT_LISTENING", "nothing listens on port %u in sandbox '%s' any more",
             port, sandbox_id(sb));
    else
        fail(e, 502, "PORT_NOT_LISTENING",
             "nothing listens on port %u in sandbox '%s' (waited %u s). If "
             "a session command served it, check its status and logs: GET "
             "/v1/sandboxes/%s/sessions",
             port, sandbox_id(sb), conf.wait_s, sandbox_id(sb));
}

static int reply_err(struct http_req *req, const struct preview_err *e, int r)
{
    http_reply_error(req, e->status, e->code, "%s", e->msg);
    return r;
}

/* Resolve the request to (sandbox, port, rest) and check its token. Replies on failure. */
static int resolve(struct http_req *req, struct pv *v)
{
    struct preview_req pr = {.host = http_req_header(req, "Host"),
                             .target = http_req_target(req),
                             .path = http_req_path(req),
                             .token = http_req_header(req, "X-Daytona-Preview-Token"),
                             .cookie = http_req_header(req, "Cookie")};
    struct preview_route *rt = malloc(sizeof(*rt));
    struct preview_err e;
    int r;

    if (!rt)
        return http_reply_error(req, 500, "INTERNAL_ERROR", "out of memory"), -ENOMEM;
    r = preview_authorize(&pr, rt, &e);
    if (r < 0) {
        free(rt);
        return reply_err(req, &e, r);
    }
    v->sb = rt->sb;
    v->port = rt->port;
    v->path_form = rt->path_form;
    memcpy(v->rest, rt->rest, sizeof(v->rest));
    memcpy(v->sandbox_id, rt->sandbox_id, sizeof(v->sandbox_id));
    memcpy(v->set_cookie, rt->set_cookie, sizeof(v->set_cookie));
    free(rt);
    sandbox_busy(v->sb, 1); /* preview traffic is activity */
    return 0;
}

int preview_prepare(struct http_req *req)
{
    struct cove_err err = {0};
    struct pv *v = calloc(1, sizeof(*v));
    const char *up = http_req_header(req, "Upgrade");
    int r;

    if (!v)
        return http_reply_error(req, 500, "INTERNAL_ERROR", "out of memory"), -ENOMEM;
    v->netns = -1;
    v->conn_fd = -1;
    v->resp_len = -1;
    buf_init(&v->down, DOWN_HIGH_WATER + (256u << 10));
    http_req_set_ctx(req, v, pv_free);
    r = resolve(req, v);
    if (r < 0)
        return r;
    if (sandbox_state(v->sb) != SANDBOX_STARTED)
        return http_reply_error(req, 503, "SANDBOX_STOPPED",
                                "sandbox '%s' is %s; start it to reach its ports", v->sandbox_id,
                                sandbox_state_to_string(sandbox_state(v->sb))),
               -EBUSY;
    v->ws = up && !strcasecmp(up, "websocket");
    if (v->ws || !preview_recently_listening(v->sb, v->port)) {
        if (pv_netns(v, &err) < 0)
            return api_reply_err(req, &err), v->netns;
        r = wait_listening(v);
    } else {
        r = 0; /* it answered moments ago: no probe (curl reports a refusal) */
    }
    if (r < 0) {
        if (r == -ESRCH)
            return http_reply_error(req, 503, "SANDBOX_STOPPED", "sandbox '%s' stopped",
                                    v->sandbox_id),
                   r;
        struct preview_err e;
        preview_port_error(v->sb, v->port, false, &e);
        return reply_err(req, &e, r);
    }
    preview_listener_note(v->sb, v->port);
    if (v->ws)
        return 0;
    if (v->conn_fd >= 0)
        close(v->conn_fd);
    v->conn_fd = -1;
    /* Plain HTTP: set up curl now so the body can stream into it. */
    char url[COVE_MAX_URL_BYTES + 64];
    const char *cl = http_req_header(req, "Content-Length");
    const char *te = http_req_header(req, "Transfer-Encoding");
    uint64_t clen = 0;
    v->has_body = (cl && parse_u64(cl, &clen) == 0 && clen > 0) || te;
    char resolve[96];
    snprintf(url, sizeof(url), "http://s-%s:%u%s", v->sandbox_id, v->port, v->rest);
    snprintf(resolve, sizeof(resolve), "s-%s:%u:127.0.0.1", v->sandbox_id, v->port);
    v->resolve = curl_slist_append(NULL, resolve);
    struct pv_thread *t = thread_state(true);
    if (t && !t->e)
        t->e = curl_easy_init();
    if (t && t->e && !t->e_busy) {
        v->e = t->e, v->owner = t;
        t->e_busy = true;
    } else {
        v->e = curl_easy_init(); /* not expected: one request at a time per thread */
    }
    v->m = t ? t->m : NULL;
    if (!v->e || !v->m)
        return http_reply_error(req, 500, "INTERNAL_ERROR", "out of memory"), -ENOMEM;
    http_req_foreach_header(req, add_header_cb, v);
    v->hdrs = curl_slist_append(v->hdrs, "Expect:");
    curl_easy_setopt(v->e, CURLOPT_URL, url);
    curl_easy_setopt(v->e, CURLOPT_RESOLVE, v->resolve);
    curl_easy_setopt(v->e, CURLOPT_CUSTOMREQUEST, http_method_to_string(http_req_method(req)));
    if (http_req_method(req) == HTTP_HEAD)
        curl_easy_setopt(v->e, CURLOPT_NOBODY, 1L);
    curl_easy_setopt(v->e, CURLOPT_HTTPHEADER, v->hdrs);
    curl_easy_setopt(v->e, CURLOPT_OPENSOCKETFUNCTION, open_socket_cb);
    curl_easy_setopt(v->e, CURLOPT_OPENSOCKETDATA, v);
    curl_easy_setopt(v->e, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(v->e, CURLOPT_WRITEDATA, v);
    curl_easy_setopt(v->e, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(v->e, CURLOPT_HEADERDATA, v);
    curl_easy_setopt(v->e, CURLOPT_ERRORBUFFER, v->errbuf);
    curl_easy_setopt(v->e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(v->e, CURLOPT_PROTOCOLS_STR, "http");
    curl_easy_setopt(v->e, CURLOPT_ACCEPT_ENCODING, NULL);
    curl_easy_setopt(v->e, CURLOPT_BUFFERSIZE, (long)PV_CURL_BUFFER);
    curl_easy_setopt(v->e, CURLOPT_UPLOAD_BUFFERSIZE, (long)PV_CURL_BUFFER);
    if (v->has_body) {
        curl_easy_setopt(v->e, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(v->e, CURLOPT_READFUNCTION, read_cb);
        curl_easy_setopt(v->e, CURLOPT_READDATA, v);
        if (cl && !te)
            curl_easy_setopt(v->e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)clen);
    }
    curl_multi_add_handle(v->m, v->e);
    return 0;
}

int preview_body(struct http_req *req, const char *data, size_t len)
{
    struct pv *v = http_req_ctx(req);

    if (!v || v->ws || !v->e)
        return 0;
    /* curl copies the piece straight out of libmicrohttpd's buffer; we return (and
     * libmicrohttpd reads more) once curl has taken all of it: no copy of our own, and at
     * most curl's upload buffer in flight, so a slow upstream paces the client. */
    v->in = data, v->in_len = len;
    if (v->up_paused) {
        v->up_paused = false;
        curl_easy_pause(v->e, CURLPAUSE_CONT);
    }
    pump(v, up_taken, 100);
    v->in = NULL, v->in_len = 0; /* not taken: the transfer ended, its error is reported */
    return 0;
}

static long stream_cb(void *ctx, uint64_t pos, char *out, size_t max)
{
    struct pv *v = ctx;
    size_t n;

    if (!have_data(v) && !v->finished) {
        if (v->down_paused) {
            v->down_paused = false;
            curl_easy_pause(v->e, CURLPAUSE_CONT);
        }
        /* curl writes straight into out (write_cb) until it is full */
        v->out = out, v->out_cap = max, v->out_len = 0;
        pump(v, have_data, 1000);
        n = v->out_len;
        v->out = NULL, v->out_cap = 0, v->out_len = 0;
        if (n) {
            sandbox_touch(v->sb);
            return (long)n;
        }
    }
    if (!have_data(v))
        return v->finished ? (v->result == CURLE_OK ? -1 : -2) : 0;
    n = v->down.len - v->down_off;
    if (n > max)
        n = max;
    memcpy(out, v->down.data + v->down_off, n);
    v->down_off += n;
    sandbox_touch(v->sb);
    return (long)n;
}

static void noop_free(void *p)
{
}

static void relay(int a, int b, const char *extra, size_t extra_len)
{
    char buf[65536];

    if (extra_len && write(b, extra, extra_len) < 0)
        return;
    for (;;) {
        struct pollfd p[2] = {{.fd = a, .events = POLLIN}, {.fd = b, .events = POLLIN}};
        if (poll(p, 2, 600000) <= 0)
            return;
        for (int i = 0; i < 2; i++) {
            if (!p[i].revents)
                continue;
            ssize_t n = read(p[i].fd, buf, sizeof(buf));
            if (n <= 0)
                return;
            for (ssize_t off = 0; off < n;) {
                ssize_t w = write(p[1 - i].fd, buf + off, (size_t)(n - off));
                if (w <= 0)
                    return;
                off += w;
            }
        }
    }
}

struct ws_ctx {
    int up;
    struct buf pending; /* upstream bytes read past its handshake */
};

static void ws_run(int fd, const char *extra, size_t extra_len, void *ctx)
{
    struct ws_ctx *w = ctx;

    if (w->pending.len && write(fd, w->pending.data, w->pending.len) < 0)
        return;
    relay(fd, w->up, extra, extra_len);
}

static void ws_free(void *ctx)
{
    struct ws_ctx *w = ctx;
    close(w->up);
    buf_free(&w->pending);
    free(w);
}

static int hdr_line_cb(const char *name, const char *value, void *ud)
{
    if (!strcasecmp(name, "x-daytona-preview-token"))
        return 0; /* the token is ours, not the sandbox's */
    buf_appendf(ud, "%s: %s\r\n", name, value);
    return 0;
}

/* Relay a WebSocket handshake to the upstream and, when it agrees, the connection. */
static int proxy_websocket(struct http_req *req, struct pv *v)
{
    struct ws_ctx *w = calloc(1, sizeof(*w));
    struct buf head;
    char resp[16384], proto[256] = "";
    size_t got = 0;
    char *end = NULL;
    int fd;

    if (!w)
        return http_reply_error(req, 500, "INTERNAL_ERROR", "out of memory");
    fd = v->conn_fd >= 0 ? v->conn_fd : ns_connect(v->netns, v->port);
    v->conn_fd = -1;
    if (fd < 0) {
        free(w);
        return http_reply_error(req, 502, "PORT_NOT_LISTENING", "cannot connect to port %u: %s",
                                v->port, strerror(-fd));
    }
    buf_init(&head, 65536);
    buf_appendf(&head, "GET %s HTTP/1.1\r\n", v->rest);
    http_req_foreach_header(req, hdr_line_cb, &head);
    buf_append(&head, "\r\n", 2);
    if (write(fd, head.data, head.len) != (ssize_t)head.len) {
        buf_free(&head);
        close(fd);
        free(w);
        return http_reply_error(req, 502, "BAD_GATEWAY", "upstream write failed");
    }
    buf_free(&head);
    while (!end && got < sizeof(resp) - 1) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 10000) <= 0)
            break;
        ssize_t n = read(fd, resp + got, sizeof(resp) - 1 - got);
        if (n <= 0)
            break;
        got += (size_t)n;
        resp[got] = '\0';
        end = strstr(resp, "\r\n\r\n");
    }
    if (!end || strncmp(resp, "HTTP/1.1 101", 12)) {
        close(fd);
        free(w);
        return http_reply_error(req, 502, "BAD_GATEWAY",
                                "the server on port %u refused the WebSocket upgrade: %.*s",
                                v->port, (int)strcspn(resp, "\r\n"), resp);
    }
    /* Echo the subprotocol the upstream chose. */
    for (char *l = strstr(resp, "\r\n"); l && l < end; l = strstr(l + 2, "\r\n")) {
        if (!strncasecmp(l + 2, "Sec-WebSocket-Protocol:", 23)) {
            const char *val = l + 2 + 23;
            val += strspn(val, " ");
            snprintf(proto, sizeof(proto), "%.*s", (int)strcspn(val, "\r\n"), val);
        }
    }
    w->up = fd;
    buf_init(&w->pending, sizeof(resp));
    buf_append(&w->pending, end + 4, got - (size_t)(end + 4 - resp));
    return http_reply_websocket(req, proto[0] ? proto : NULL, ws_run, w, ws_free);
}

int preview_handle(struct http_req *req)
{
    struct pv *v = http_req_ctx(req);

    if (!v || http_req_replied(req))
        return 0;
    if (v->set_cookie[0])
        http_req_add_header(req, "Set-Cookie", v->set_cookie);
    if (v->ws)
        return proxy_websocket(req, v);
    v->up_done = true;
    if (v->up_paused) {
        v->up_paused = false;
        curl_easy_pause(v->e, CURLPAUSE_CONT);
    }
    pump(v, have_headers, 1000);
    if (v->finished && v->result == CURLE_COULDNT_CONNECT) {
        /* The port answered moments ago (so the readiness probe was skipped) and no longer
         * does: forget that, and say why if a session command served it. */
        struct preview_err e;
        preview_listener_forget(v->sb, v->port);
        preview_port_error(v->sb, v->port, true, &e);
        return reply_err(req, &e, 0);
    }
    if (v->finished && v->result != CURLE_OK)
        return http_reply_error(req, 502, "BAD_GATEWAY", "port %u in sandbox '%s': %s", v->port,
                                v->sandbox_id,
                                v->errbuf[0] ? v->errbuf : curl_easy_strerror(v->result));
    for (struct curl_slist *h = v->resp_hdrs; h; h = h->next) {
        char *colon = strchr(h->data, ':');
        if (!colon)
            continue;
        *colon = '\0';
        const char *val = colon + 1;
        char loc[COVE_MAX_URL_BYTES + 64];
        val += strspn(val, " \t");
        if (v->path_form && !strcasecmp(h->data, "Location") && val[0] == '/' && val[1] != '/') {
            /* keep a root-relative redirect under /preview/{id}/{port} */
            snprintf(loc, sizeof(loc), "/preview/%s/%u%s", v->sandbox_id, v->port, val);
            val = loc;
        }
        http_req_add_header(req, h->data, val);
        *colon = ':';
    }
    size_t have = v->down.len - v->down_off;
    if (v->finished && v->result == CURLE_OK && http_req_method(req) != HTTP_HEAD &&
        v->status >= 200 && v->status != 204 && v->status != 304 && have <= PV_WHOLE_MAX &&
        (v->resp_len < 0 || (uint64_t)v->resp_len == have)) {
        /* The whole (small) answer is here already: one buffer, so that libmicrohttpd sends
         * head and body in one write instead of two. */
        return http_reply_buf(req, (unsigned)v->status, NULL, v->down.data + v->down_off, have);
    }
    /* The response streams from the connection thread; pv stays owned by the request. curl
     * undoes the upstream's chunking and libmicrohttpd chunks again whatever has no length. */
    return http_reply_stream_sized(req, (unsigned)(v->status ? v->status : 502), NULL,
                                   v->resp_len >= 0 ? (uint64_t)v->resp_len : HTTP_SIZE_UNKNOWN,
                                   stream_cb, v, noop_free);
}
