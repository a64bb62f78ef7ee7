/* The preview relay: an event-driven HTTP/1.1 relay for preview-host connections.
 *
 * Theory of operation. The TCP front (http/front.c) offers every connection whose first
 * Host line names a preview host ({port}-{id}.{domain}) to relay_adopt(). The relay runs
 * RELAY_WORKERS_MAX threads at most (one per CPU), each with its own epoll set, owning its
 * connections from adoption to close; nothing is shared between workers but the sandbox
 * table and the token store that preview_authorize() reads.
 *
 * A connection is a client socket and at most one upstream socket, opened inside the
 * sandbox's network namespace (non-blocking connect). Both sockets are registered once,
 * edge-triggered, for input and output; a connection is then pumped until it makes no
 * progress. Per direction there is an input buffer (what was read) and an output queue
 * (what the other side must still be sent); a side is read only while its input buffer has
 * room, and parsed only while the other side's queue is below RELAY_OUT_HIGH, so a slow or
 * stalled peer stops its own connection and nothing else, with at most about 400 KiB held
 * per connection.
 *
 * Both directions go through http_parser (the Debian libhttp-parser): it frames messages
 * (Content-Length, chunked, and rejects what is ambiguous, such as both Content-Length and
 * Transfer-Encoding). Every request head is parsed in full and checked by
 * preview_authorize(), the function the libmicrohttpd path uses, then rewritten for the
 * upstream (token header, Expect and hop-by-hop headers dropped, the token query parameter
 * stripped); the body follows as the raw bytes the client sent, chunk framing included.
 * Responses are forwarded as they come; their head is only held until complete, to add
 * the Set-Cookie a query token asks for and to learn where the answer ends (HEAD, 1xx, 204,
 * 304, close-delimited). A 101 answer turns the pair into a plain two-way byte relay.
 *
 * A connection is pinned to the (sandbox, port) of its first request. A later request head
 * for another preview (authorised like any other) waits, with the client no longer read,
 * until every answer before it is out; then the upstream socket is closed and the connection
 * re-pinned to the new (sandbox, port): a request never reaches an upstream it does not
 * name. A head for a host that is not a preview (the API) is answered 421
 * MISDIRECTED_REQUEST. Every error answer is the house JSON {statusCode, code, message}
 * with Connection: close, sent after the answers before it; the connection then ends.
 *
 * Readiness: a refused connect is retried every RELAY_RETRY_MS until the preview wait
 * (--preview-wait) is over, on the worker's timer sweep, without blocking anyone else.
 * Limits: RELAY_MAX_CONNS connections (more are answered 503), a request head of at most
 * COVE_MAX_HEADER_BYTES (431), RELAY_MAX_HEADERS header lines (431), RELAY_MAX_INFLIGHT
 * pipelined requests awaiting answers (the client is not read past that), a head that takes
 * longer than relay_config.head_timeout_ms from its first byte is cut (408), and a
 * connection with no traffic for relay_config.idle_timeout_s (a WebSocket: RELAY_WS_IDLE_S)
 * is closed. */
#include "proxy/relay.h"

#include <errno.h>
#include <http_parser.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/limits.h"
#include "base/log.h"
#include "proxy/preview-internal.h"

#define RELAY_IN_MIN       (16u << 10)
#define RELAY_IN_MAX       (256u << 10) /* one read; large bodies move in pieces this big */
#define RELAY_HEAD_MAX     COVE_MAX_HEADER_BYTES
#define RELAY_OUT_HIGH     (256u << 10)
#define RELAY_OUT_CAP      (RELAY_OUT_HIGH + 2 * RELAY_IN_MAX + 4096)
#define RELAY_MAX_HEADERS  128
#define RELAY_MAX_INFLIGHT 16
#define RELAY_MAX_CONNS    4096
#define RELAY_WORKERS_MAX  4
#define RELAY_RETRY_MS     50
#define RELAY_WS_IDLE_S    600 /* as the libmicrohttpd path's WebSocket relay */

static struct relay_config rconf = {.idle_timeout_s = COVE_CONN_TIMEOUT_S,
                                    .head_timeout_ms = 10000};
static atomic_uint n_conns;

/* A byte queue with a fixed cap: [off, len) is pending. */
struct bq {
    char *d;
    size_t off, len, cap;
    bool grow; /* the last read filled it */
};

static size_t bq_pending(const struct bq *q)
{
    return q->len - q->off;
}

static int bq_reserve(struct bq *q, size_t need, size_t max)
{
    if (q->off && q->off == q->len)
        q->off = q->len = 0;
    if (q->cap - q->len >= need)
        return 0;
    if (q->off) {
        memmove(q->d, q->d + q->off, q->len - q->off);
        q->len -= q->off;
        q->off = 0;
        if (q->cap - q->len >= need)
            return 0;
    }
    size_t cap = q->cap ? q->cap : RELAY_IN_MIN;
    while (cap - q->len < need)
        cap *= 2;
    if (cap > max)
        cap = max;
    if (cap - q->len < need)
        return -E2BIG;
    char *d = realloc(q->d, cap);
    if (!d)
        return -ENOMEM;
    q->d = d, q->cap = cap;
    return 0;
}

static int bq_put(struct bq *q, const void *p, size_t n)
{
    if (!n)
        return 0;
    if (bq_reserve(q, n, RELAY_OUT_CAP) < 0)
        return -E2BIG;
    memcpy(q->d + q->len, p, n);
    q->len += n;
    return 0;
}

static void bq_free(struct bq *q)
{
    free(q->d);
    *q = (struct bq){0};
}

/* RQ_DEFER: a head for another (sandbox, port) waits, parser paused, for the answers before
 * it; then the connection is re-pinned. */
struct conn;
static void fwd(struct conn *c, bool to_client, const char *p, size_t n);

enum rq_state { RQ_HEAD, RQ_BODY, RQ_HOLD, RQ_DEFER };
enum up_state { UP_NONE, UP_CONNECTING, UP_WAITING, UP_OPEN };

struct span {
    uint32_t off, len;
};

struct inflight {
    bool head, upgrade, last;
    char *set_cookie;
};

struct worker;

struct conn {
    struct worker *w;
    struct conn *prev, *next;
    int cfd, ufd;
    struct {
        struct conn *c;
    } ctag, utag;
    bool c_rd, c_wr, u_rd, u_wr, c_eof, u_eof;
    bool tunnel, closing, dead, again;
    struct conn *again_next;
    /* client -> upstream */
    struct bq cin, uout;
    http_parser rq;
    enum rq_state rq_state;
    size_t cppos, head_start, raw_from;
    bool ev_head, ev_done, head_err;
    struct span url, hname[RELAY_MAX_HEADERS], hval[RELAY_MAX_HEADERS];
    unsigned nh;
    bool last_val;
    int64_t head_began_ms, last_ms;
    /* upstream -> client */
    struct bq uin, cout;
    http_parser rs;
    bool rs_head; /* parsing a response head */
    bool rs_ev_head, rs_ev_done;
    size_t uppos, rs_start, rs_raw_from;
    bool resp_started; /* a byte of the current answer went to cout */
    struct inflight q[RELAY_MAX_INFLIGHT];
    unsigned qh, qn;
    /* the pinned upstream */
    struct sandbox *sb;
    unsigned port;
    char sandbox_id[33];
    int netns;
    enum up_state up;
    int64_t wait_until_ms, retry_at_ms;
    bool wait_fast;
    unsigned busy; /* sandbox_busy() held for requests in flight */
    /* a re-route waiting for the answers before it */
    struct bq defer_head;
    struct inflight defer_f;
    struct sandbox *defer_sb;
    unsigned defer_port;
    char defer_id[33];
    bool defer_expect;
    struct preview_cache pcache;
    /* an error answer due once the answers before it are out */
    char *err;
    size_t err_len;
};

struct worker {
    pthread_t thread;
    int ep, wake;
    pthread_mutex_t mu;
    int *inbox;
    size_t n_in, cap_in;
    struct preview_route *rt; /* scratch for the request being checked */
    struct conn *conns;
    struct conn *again; /* connections whose pump stopped while still making progress */
    size_t n_waiting;
    bool stop;
};

static struct worker workers[RELAY_WORKERS_MAX];
static unsigned n_workers;
static atomic_uint rr;

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The full error answer, JSON {statusCode, code, message}, closing the connection. */
static char *error_answer(unsigned status, const char *code, const char *msg, size_t *ret_len)
{
    json_t *o = json_pack("{s:i,s:s,s:s}", "statusCode", (int)status, "code", code, "message", msg);
    char *body = o ? json_dumps(o, JSON_COMPACT) : NULL, *out = NULL;
    size_t blen = body ? strlen(body) : 0;

    json_decref(o);
    if (body) {
        size_t cap = blen + 256;
        out = malloc(cap);
        if (out) {
            int n = snprintf(out, cap,
                             "HTTP/1.1 %u %s\r\nContent-Type: application/json\r\n"
                             "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
                             status, MHD_get_reason_phrase_for(status), blen, body);
            *ret_len = n > 0 ? (size_t)n : 0;
        }
    }
    free(body);
    return out;
}

static void conn_err(struct conn *c, unsigned status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Answer with an error once the answers before it are out, then close; read no more. */
static void conn_err(struct conn *c, unsigned status, const char *code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    if (c->err || c->closing)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    c->err = error_answer(status, code, msg, &c->err_len);
    c->rq_state = RQ_HOLD;
    if (!c->err)
        c->closing = true;
}

static void inflight_pop(struct conn *c)
{
    struct inflight *f = &c->q[c->qh];

    free(f->set_cookie);
    f->set_cookie = NULL;
    c->qh = (c->qh + 1) % RELAY_MAX_INFLIGHT;
    c->qn--;
    if (c->busy) {
        c->busy--;
        sandbox_busy(c->sb, -1);
    }
}

static void up_close(struct conn *c)
{
    if (c->ufd >= 0) {
        epoll_ctl(c->w->ep, EPOLL_CTL_DEL, c->ufd, NULL);
        close(c->ufd);
    }
    if (c->up == UP_WAITING || c->up == UP_CONNECTING)
        c->w->n_waiting--;
    c->ufd = -1;
    c->up = UP_NONE;
    c->u_rd = c->u_wr = c->u_eof = false;
    c->uin.off = c->uin.len = 0;
    c->uppos = c->rs_start = c->rs_raw_from = 0;
    c->rs_head = true;
    http_parser_init(&c->rs, HTTP_RESPONSE);
    c->rs.data = c;
}

static void conn_free(struct conn *c)
{
    struct worker *w = c->w;

    for (struct conn **pp = &w->again; *pp; pp = &(*pp)->again_next)
        if (*pp == c) {
            *pp = c->again_next;
            break;
        }
    if (c->prev)
        c->prev->next = c->next;
    else
        w->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    up_close(c);
    epoll_ctl(w->ep, EPOLL_CTL_DEL, c->cfd, NULL);
    close(c->cfd);
    while (c->qn)
        inflight_pop(c);
    if (c->netns >= 0)
        close(c->netns);
    if (c->sb)
        sandbox_unref(c->sb);
    if (c->defer_sb)
        sandbox_unref(c->defer_sb);
    free(c->defer_f.set_cookie);
    preview_cache_clear(&c->pcache);
    bq_free(&c->defer_head);
    bq_free(&c->cin), bq_free(&c->uout), bq_free(&c->uin), bq_free(&c->cout);
    free(c->err);
    free(c);
    atomic_fetch_sub(&n_conns, 1);
}

/* Raw bytes for one side: straight from the input buffer when nothing is queued before them
 * (no copy), else behind what is. */
static void fwd(struct conn *c, bool to_client, const char *p, size_t n)
{
    struct bq *q = to_client ? &c->cout : &c->uout;
    bool *wr = to_client ? &c->c_wr : &c->u_wr;

    if (n && !bq_pending(q) && *wr && (to_client || c->up == UP_OPEN)) {
        ssize_t k = send(to_client ? c->cfd : c->ufd, p, n, MSG_NOSIGNAL);
        if (k > 0)
            p += k, n -= (size_t)k;
        else if (k < 0 && errno == EAGAIN)
            *wr = false;
    }
    bq_put(q, p, n);
}

/* ---- request parsing ------------------------------------------------------------------ */

static void span_add(struct conn *c, struct span *s, const char *at, size_t len)
{
    if (!s->len)
        s->off = (uint32_t)(at - c->cin.d);
    s->len += (uint32_t)len;
}

static int rq_url(http_parser *p, const char *at, size_t len)
{
    struct conn *c = p->data;
    span_add(c, &c->url, at, len);
    return 0;
}

static int rq_field(http_parser *p, const char *at, size_t len)
{
    struct conn *c = p->data;

    if (c->last_val || !c->nh) {
        if (c->nh == RELAY_MAX_HEADERS) {
            c->head_err = true;
            return 1;
        }
        c->hname[c->nh] = (struct span){0};
        c->hval[c->nh] = (struct span){0};
        c->nh++;
        c->last_val = false;
    }
    span_add(c, &c->hname[c->nh - 1], at, len);
    return 0;
}

static int rq_value(http_parser *p, const char *at, size_t len)
{
    struct conn *c = p->data;

    c->last_val = true;
    if (c->nh)
        span_add(c, &c->hval[c->nh - 1], at, len);
    return 0;
}

static int rq_headers_complete(http_parser *p)
{
    struct conn *c = p->data;
    c->ev_head = true;
    http_parser_pause(p, 1);
    return 0;
}

static int rq_message_complete(http_parser *p)
{
    struct conn *c = p->data;
    c->ev_done = true;
    http_parser_pause(p, 1);
    return 0;
}

static const http_parser_settings rq_settings = {.on_url = rq_url,
                                                 .on_header_field = rq_field,
                                                 .on_header_value = rq_value,
                                                 .on_headers_complete = rq_headers_complete,
                                                 .on_message_complete = rq_message_complete};

static char *span_str(struct conn *c, struct span s)
{
    char *p = c->cin.d + s.off;
    p[s.len] = '\0'; /* the byte after it is a separator the parser is done with */
    return p;
}

static bool is_dropped(const char *name, bool upgrade)
{
    static const char *const h[] = {
        "keep-alive",          "te",      "proxy-connection",        "proxy-authenticate",
        "proxy-authorization", "trailer", "x-daytona-preview-token", "expect"};
    for (size_t i = 0; i < sizeof(h) / sizeof(h[0]); i++)
        if (!strcasecmp(name, h[i]))
            return true;
    return !upgrade && (!strcasecmp(name, "connection") || !strcasecmp(name, "upgrade"));
}

/* Queue an authorised head for the pinned upstream. */
static void request_go(struct conn *c, struct inflight *fl, bool cont)
{
    c->q[(c->qh + c->qn) % RELAY_MAX_INFLIGHT] = *fl;
    fl->set_cookie = NULL;
    c->qn++;
    c->busy++;
    sandbox_busy(c->sb, 1); /* preview traffic is activity */
    /* Expect: 100-continue is answered here, as libmicrohttpd does, when it is next in line */
    if (cont && c->qn == 1 && !bq_pending(&c->cout))
        bq_put(&c->cout, "HTTP/1.1 100 Continue\r\n\r\n", 25);
    c->rq_state = RQ_BODY;
}

/* The answers before a deferred head are out: drop the old upstream, pin the new one. */
static void reroute(struct conn *c)
{
    up_close(c);
    if (c->netns >= 0)
        close(c->netns);
    c->netns = -1;
    sandbox_unref(c->sb);
    c->sb = c->defer_sb;
    c->defer_sb = NULL;
    c->port = c->defer_port;
    memcpy(c->sandbox_id, c->defer_id, sizeof(c->sandbox_id));
    bq_put(&c->uout, c->defer_head.d + c->defer_head.off, bq_pending(&c->defer_head));
    bq_free(&c->defer_head);
    request_go(c, &c->defer_f, c->defer_expect);
    http_parser_pause(&c->rq, 0);
}

/* A complete request head: authorise it, pin or check the upstream, queue the new head. */
static void handle_head(struct conn *c)
{
    const char *host = NULL, *token = NULL, *cookie = NULL, *expect = NULL;
    struct preview_route *rt;
    struct preview_err e;
    unsigned hosts = 0;
    bool upgrade = c->rq.upgrade && c->rq.method != HTTP_CONNECT;
    char *names[RELAY_MAX_HEADERS], *vals[RELAY_MAX_HEADERS];

    if (c->rq.method == HTTP_CONNECT)
        return conn_err(c, 405, "METHOD_NOT_ALLOWED", "CONNECT is not served here");
    if (!c->url.len)
        return conn_err(c, 400, "BAD_REQUEST", "empty request target");
    for (unsigned i = 0; i < c->nh; i++) {
        names[i] = span_str(c, c->hname[i]);
        vals[i] = span_str(c, c->hval[i]);
        if (!strcasecmp(names[i], "host"))
            host = vals[i], hosts++;
        else if (!strcasecmp(names[i], "x-daytona-preview-token") && !token)
            token = vals[i];
        else if (!strcasecmp(names[i], "cookie") && !cookie)
            cookie = vals[i];
        else if (!strcasecmp(names[i], "expect"))
            expect = vals[i];
    }
    char *target = span_str(c, c->url);
    if (hosts != 1)
        return conn_err(c, 400, "BAD_REQUEST", "a request needs exactly one Host header");
    if (!preview_is_host(host))
        return conn_err(c, 421, "MISDIRECTED_REQUEST",
                        "this connection serves preview hosts only; open a new connection "
                        "for %s",
                        host);
    if (target[0] != '/')
        return conn_err(c, 400, "BAD_REQUEST", "the request target must be a path");
    rt = c->w->rt; /* the worker's: one request at a time */
    struct preview_req pr = {.host = host,
                             .target = target,
                             .path = target,
                             .token = token,
                             .cookie = cookie,
                             .cache = &c->pcache};
    if (preview_authorize(&pr, rt, &e) < 0) {
        return conn_err(c, e.status, e.code, "%s", e.msg);
    }
    bool other = c->sb && (rt->sb != c->sb || rt->port != c->port);
    if (c->sb && !other) {
        sandbox_unref(rt->sb);
        rt->sb = NULL;
    } else if (!c->sb) {
        c->sb = rt->sb;
        c->port = rt->port;
        snprintf(c->sandbox_id, sizeof(c->sandbox_id), "%s", rt->sandbox_id);
        rt->sb = NULL;
    }
    struct sandbox *target_sb = other ? rt->sb : c->sb;
    enum sandbox_state st = sandbox_state(target_sb);
    if (st != SANDBOX_STARTED) {
        conn_err(c, 503, "SANDBOX_STOPPED", "sandbox '%s' is %s; start it to reach its ports",
                 rt->sandbox_id, sandbox_state_to_string(st));
        if (rt->sb)
            sandbox_unref(rt->sb);
        return;
    }
    /* The head for the upstream: queued, or kept aside until a re-route */
    struct bq *hq = other ? &c->defer_head : &c->uout;
    size_t mark = bq_pending(hq);
    char line[64];
    int n = snprintf(line, sizeof(line), "%s ", http_method_str(c->rq.method));
    int r = bq_put(hq, line, (size_t)n);
    r = r ?: bq_put(hq, rt->rest, strlen(rt->rest));
    n = snprintf(line, sizeof(line), " HTTP/%u.%u\r\n", c->rq.http_major, c->rq.http_minor);
    r = r ?: bq_put(hq, line, (size_t)n);
    for (unsigned i = 0; i < c->nh && !r; i++) {
        if (is_dropped(names[i], upgrade))
            continue;
        r = bq_put(hq, names[i], strlen(names[i]));
        r = r ?: bq_put(hq, ": ", 2);
        r = r ?: bq_put(hq, vals[i], strlen(vals[i]));
        r = r ?: bq_put(hq, "\r\n", 2);
    }
    r = r ?: bq_put(hq, "\r\n", 2);
    if (r < 0) {
        if (rt->sb)
            sandbox_unref(rt->sb);
        hq->len = hq->off + mark;
        return conn_err(c, 431, "HEADERS_TOO_LARGE", "request head too large");
    }
    struct inflight fl = {.head = c->rq.method == HTTP_HEAD,
                          .upgrade = upgrade,
                          .last = !http_should_keep_alive(&c->rq)};
    if (rt->set_cookie[0])
        fl.set_cookie = strdup(rt->set_cookie);
    bool cont = expect && !strcasecmp(expect, "100-continue") && !c->rq.upgrade;
    if (other) {
        /* another preview: once the answers before it are out, re-pin (reroute) */
        c->defer_f = fl;
        c->defer_sb = rt->sb;
        c->defer_port = rt->port;
        c->defer_expect = cont;
        snprintf(c->defer_id, sizeof(c->defer_id), "%s", rt->sandbox_id);
        c->rq_state = RQ_DEFER;
        return;
    }
    request_go(c, &fl, cont);
}

static void head_reset(struct conn *c)
{
    c->rq_state = RQ_HEAD;
    c->head_start = c->cppos;
    c->nh = 0;
    c->url = (struct span){0};
    c->last_val = false;
    c->head_began_ms = 0;
}

/* Parse what the client sent into the upstream queue. */
static void process_client(struct conn *c)
{
    while (!c->closing && c->cppos < c->cin.len) {
        if (c->tunnel) {
            if (bq_pending(&c->uout) >= RELAY_OUT_HIGH)
                return;
            fwd(c, false, c->cin.d + c->cppos, c->cin.len - c->cppos);
            c->cppos = c->cin.len;
            break;
        }
        if (c->rq_state == RQ_HOLD || c->rq_state == RQ_DEFER ||
            bq_pending(&c->uout) >= RELAY_OUT_HIGH)
            return;
        if (c->rq_state == RQ_HEAD && c->qn == RELAY_MAX_INFLIGHT)
            return;
        if (c->rq_state == RQ_HEAD && !c->head_began_ms)
            c->head_began_ms = now_ms();
        size_t avail = c->cin.len - c->cppos;
        size_t n = http_parser_execute(&c->rq, &rq_settings, c->cin.d + c->cppos, avail);
        enum http_errno he = HTTP_PARSER_ERRNO(&c->rq);
        if (he != HPE_OK && he != HPE_PAUSED) {
            if (c->head_err || he == HPE_HEADER_OVERFLOW)
                conn_err(c, 431, "HEADERS_TOO_LARGE",
                         "request head over %u header lines or %u bytes", RELAY_MAX_HEADERS,
                         RELAY_HEAD_MAX);
            else
                conn_err(c, 400, "BAD_REQUEST", "malformed request: %s",
                         http_errno_description(he));
            return;
        }
        if (c->rq_state == RQ_BODY) {
            size_t from = c->raw_from > c->cppos ? c->raw_from : c->cppos;
            if (c->cppos + n > from)
                fwd(c, false, c->cin.d + from, c->cppos + n - from);
        }
        c->cppos += n;
        if (he == HPE_PAUSED)
            http_parser_pause(&c->rq, 0);
        if (c->ev_head) {
            c->ev_head = false;
            c->raw_from = c->cppos + 1; /* the head's last LF, which the parser reads again */
            handle_head(c);
            if (c->rq_state == RQ_DEFER) {
                http_parser_pause(&c->rq, 1);
                return;
            }
        }
        if (c->ev_done) {
            c->ev_done = false;
            if (c->rq_state == RQ_HOLD)
                return;
            bool upgrade = c->rq.upgrade;
            head_reset(c);
            if (upgrade) /* wait for the answer: 101 makes a tunnel */
                c->rq_state = RQ_HOLD;
            if (!http_should_keep_alive(&c->rq))
                c->rq_state = RQ_HOLD; /* the last request: read no more */
        }
    }
}

/* ---- response parsing ------------------------------------------------------------------ */

static int rs_headers_complete(http_parser *p)
{
    struct conn *c = p->data;

    c->rs_ev_head = true;
    http_parser_pause(p, 1);
    /* the answer to HEAD has no body, whatever it says */
    return c->qn && c->q[c->qh].head && p->status_code >= 200 ? 1 : 0;
}

static int rs_message_complete(http_parser *p)
{
    struct conn *c = p->data;
    c->rs_ev_done = true;
    http_parser_pause(p, 1);
    return 0;
}

static const http_parser_settings rs_settings = {.on_headers_complete = rs_headers_complete,
                                                 .on_message_complete = rs_message_complete};

/* The answer failed before any of it went out: 502 in its place. */
static void bad_gateway(struct conn *c, const char *why)
{
    if (c->resp_started || !c->qn) {
        c->closing = true;
        return;
    }
    conn_err(c, 502, "BAD_GATEWAY", "port %u in sandbox '%s': %s", c->port, c->sandbox_id, why);
    while (c->qn)
        inflight_pop(c);
}

static void response_done(struct conn *c)
{
    unsigned status = c->rs.status_code;
    bool keep = http_should_keep_alive(&c->rs);

    c->resp_started = false;
    c->rs_head = true;
    c->rs_start = c->uppos;
    if (status >= 100 && status < 200 && status != 101)
        return; /* an interim answer: the final one follows */
    if (!c->qn)
        return;
    bool upgrade = c->q[c->qh].upgrade, last = c->q[c->qh].last;
    inflight_pop(c);
    sandbox_touch(c->sb);
    if (status == 101 && upgrade) {
        c->tunnel = true;
        /* what either side sent past the handshake is already the new protocol */
        bq_put(&c->cout, c->uin.d + c->uppos, c->uin.len - c->uppos);
        c->uppos = c->uin.len;
        return;
    }
    if (!keep || (last && !(status == 101 && upgrade))) {
        /* the upstream closes: so do we, once this answer is out */
        c->rq_state = RQ_HOLD;
        if (!c->err)
            c->closing = true;
        return;
    }
    if (c->rq_state == RQ_HOLD && !c->err && upgrade)
        c->rq_state = RQ_HEAD; /* a refused upgrade: the connection goes on as HTTP */
}

static void emit_head(struct conn *c, size_t end)
{
    const char *cookie = c->qn ? c->q[c->qh].set_cookie : NULL;
    size_t start = c->rs_start;

    if (cookie && c->rs.status_code >= 200) {
        size_t e = end;
        if (e > start && c->uin.d[e - 1] == '\r')
            e--;
        bq_put(&c->cout, c->uin.d + start, e - start);
        bq_put(&c->cout, "Set-Cookie: ", 12);
        bq_put(&c->cout, cookie, strlen(cookie));
        bq_put(&c->cout, "\r\n\r\n", 4);
    } else {
        bq_put(&c->cout, c->uin.d + start, end + 1 - start);
    }
    c->rs_raw_from = end + 1;
    c->resp_started = true;
}

static void process_upstream(struct conn *c)
{
    while (!c->closing && c->uppos < c->uin.len) {
        if (bq_pending(&c->cout) >= RELAY_OUT_HIGH)
            return;
        if (c->tunnel) {
            fwd(c, true, c->uin.d + c->uppos, c->uin.len - c->uppos);
            c->uppos = c->uin.len;
            return;
        }
        if (!c->qn) {
            /* bytes nobody asked for: this upstream is out of step */
            c->closing = !c->err;
            up_close(c);
            return;
        }
        size_t n =
            http_parser_execute(&c->rs, &rs_settings, c->uin.d + c->uppos, c->uin.len - c->uppos);
        enum http_errno he = HTTP_PARSER_ERRNO(&c->rs);
        if (he != HPE_OK && he != HPE_PAUSED) {
            bad_gateway(c, "malformed answer");
            up_close(c);
            return;
        }
        if (!c->rs_head) {
            size_t from = c->rs_raw_from > c->uppos ? c->rs_raw_from : c->uppos;
            if (c->uppos + n > from)
                fwd(c, true, c->uin.d + from, c->uppos + n - from);
        }
        c->uppos += n;
        if (he == HPE_PAUSED)
            http_parser_pause(&c->rs, 0);
        if (c->rs_ev_head) {
            c->rs_ev_head = false;
            emit_head(c, c->uppos);
            c->rs_head = false;
        }
        if (c->rs_ev_done) {
            c->rs_ev_done = false;
            response_done(c);
        }
        if (c->rs_head && c->uin.len - c->rs_start >= RELAY_HEAD_MAX) {
            bad_gateway(c, "answer head too large");
            up_close(c);
            return;
        }
    }
}

/* ---- upstream connection ---------------------------------------------------------------- */

static void up_fail(struct conn *c, bool any_more)
{
    struct preview_err e;

    if (any_more)
        preview_listener_forget(c->sb, c->port);
    up_close(c);
    preview_port_error(c->sb, c->port, any_more, &e);
    while (c->qn)
        inflight_pop(c);
    conn_err(c, e.status, e.code, "%s", e.msg);
}

static void up_try(struct conn *c)
{
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)c->port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    struct cove_err err = {0};
    int one = 1;

    if (sandbox_state(c->sb) != SANDBOX_STARTED) {
        up_close(c);
        while (c->qn)
            inflight_pop(c);
        return conn_err(c, 503, "SANDBOX_STOPPED", "sandbox '%s' stopped", c->sandbox_id);
    }
    if (c->netns < 0 && (c->netns = sandbox_netns_fd(c->sb, &err)) < 0) {
        up_close(c);
        while (c->qn)
            inflight_pop(c);
        return conn_err(c, 502, "BAD_GATEWAY", "%s", err.msg);
    }
    c->ufd = preview_ns_socket(c->netns, SOCK_NONBLOCK);
    if (c->ufd < 0) {
        int e = errno;
        up_close(c);
        return bad_gateway(c, strerror(e));
    }
    setsockopt(c->ufd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
                             .data.ptr = &c->utag};
    if (epoll_ctl(c->w->ep, EPOLL_CTL_ADD, c->ufd, &ev) < 0) {
        int e = errno;
        close(c->ufd), c->ufd = -1;
        up_close(c);
        return bad_gateway(c, strerror(e));
    }
    c->up = UP_CONNECTING;
    if (connect(c->ufd, (struct sockaddr *)&a, sizeof(a)) == 0 || errno == EINPROGRESS)
        return; /* EPOLLOUT says how it went */
    int e = errno;
    up_close(c);
    c->w->n_waiting++; /* up_close counted it out */
    c->up = UP_WAITING;
    if (e != ECONNREFUSED) {
        c->w->n_waiting--, c->up = UP_NONE;
        return bad_gateway(c, strerror(e));
    }
    if (c->wait_fast || now_ms() >= c->wait_until_ms) {
        c->w->n_waiting--, c->up = UP_NONE;
        return up_fail(c, c->wait_fast);
    }
    c->retry_at_ms = now_ms() + RELAY_RETRY_MS;
}

static void up_start(struct conn *c)
{
    c->wait_fast = preview_recently_listening(c->sb, c->port);
    c->wait_until_ms = now_ms() + (int64_t)preview_wait_s() * 1000;
    c->w->n_waiting++;
    c->up = UP_WAITING;
    c->retry_at_ms = 0;
    up_try(c);
}

/* EPOLLOUT on a connecting socket: did it work? */
static void up_check(struct conn *c)
{
    int e = 0;
    socklen_t len = sizeof(e);

    if (getsockopt(c->ufd, SOL_SOCKET, SO_ERROR, &e, &len) < 0)
        e = errno;
    if (e == EINPROGRESS || e == EALREADY)
        return;
    if (!e) {
        struct sockaddr_in peer;
        socklen_t plen = sizeof(peer);
        if (getpeername(c->ufd, (struct sockaddr *)&peer, &plen) < 0)
            return; /* still connecting: a stale event */
        c->up = UP_OPEN;
        c->w->n_waiting--;
        preview_listener_note(c->sb, c->port);
        return;
    }
    up_close(c);
    if (e == ECONNREFUSED && !c->wait_fast && now_ms() < c->wait_until_ms) {
        c->w->n_waiting++;
        c->up = UP_WAITING;
        c->retry_at_ms = now_ms() + RELAY_RETRY_MS;
        return;
    }
    if (e == ECONNREFUSED)
        return up_fail(c, c->wait_fast);
    bad_gateway(c, strerror(e));
}

/* ---- the pump ------------------------------------------------------------------------- */

/* Read what fits into q; false when nothing more can be read now. */
static bool read_into(int fd, struct bq *q, bool *rd, bool *eof)
{
    if (!*rd || *eof)
        return false;
    if ((q->cap == q->len || q->grow) && q->cap < RELAY_IN_MAX) {
        /* a read filled the buffer: double it, up to RELAY_IN_MAX (sweep() shrinks it) */
        size_t need = q->cap ? q->cap : RELAY_IN_MIN;
        if (need > RELAY_IN_MAX - q->len)
            need = RELAY_IN_MAX - q->len;
        (void)bq_reserve(q, need, RELAY_IN_MAX);
    }
    q->grow = false;
    if (q->cap == q->len)
        return false;
    size_t space = q->cap - q->len;
    ssize_t n = recv(fd, q->d + q->len, space, 0);
    if (n > 0) {
        q->len += (size_t)n;
        q->grow = (size_t)n == space;
        return true;
    }
    if (n == 0 || (errno != EAGAIN && errno != EINTR))
        *eof = true;
    else if (errno == EAGAIN)
        *rd = false;
    return n == 0 || errno == EINTR;
}

static bool write_from(int fd, struct bq *q, bool *wr, bool *failed)
{
    if (!*wr || !bq_pending(q))
        return false;
    ssize_t n = send(fd, q->d + q->off, bq_pending(q), MSG_NOSIGNAL);
    if (n > 0) {
        q->off += (size_t)n;
        if (q->off == q->len) {
            q->off = q->len = 0;
        }
        return true;
    }
    if (errno == EAGAIN)
        *wr = false;
    else if (errno != EINTR)
        *failed = true;
    return false;
}

/* Drop input that is parsed and no longer referenced, keeping a partial head in place. */
static void compact(struct bq *q, size_t *pos, size_t *start, size_t *raw_from, bool keep_head,
                    struct conn *c, bool client)
{
    size_t base = keep_head ? *start : *pos;

    if (!base)
        return;
    if (base == q->len) {
        q->len = 0;
    } else if (q->cap - q->len < 4096 || base >= q->len / 2) {
        memmove(q->d, q->d + base, q->len - base);
        q->len -= base;
    } else {
        return;
    }
    *pos -= base;
    *start = *start > base ? *start - base : 0;
    *raw_from = *raw_from > base ? *raw_from - base : 0;
    if (client && keep_head) {
        c->url.off -= c->url.len ? (uint32_t)base : 0;
        for (unsigned i = 0; i < c->nh; i++) {
            c->hname[i].off -= c->hname[i].len ? (uint32_t)base : 0;
            c->hval[i].off -= c->hval[i].len ? (uint32_t)base : 0;
        }
    }
}

static void pump(struct conn *c)
{
    bool progress, failed = false;

    for (unsigned rounds = 0; rounds < 64; rounds++) {
        progress = false;
        /* client -> upstream */
        if (c->rq_state == RQ_DEFER && !c->qn && !bq_pending(&c->uout) && !c->err && !c->closing) {
            reroute(c);
            progress = true;
        }
        if (!c->closing && (c->tunnel || c->rq_state != RQ_HOLD)) {
            compact(&c->cin, &c->cppos, &c->head_start, &c->raw_from,
                    !c->tunnel && c->rq_state == RQ_HEAD, c, true);
            progress |= read_into(c->cfd, &c->cin, &c->c_rd, &c->c_eof);
            size_t before = c->cppos;
            process_client(c);
            /* parsed input frees room: read again (no new edge comes for data already in) */
            progress |= c->cppos != before;
            if (!c->tunnel && c->rq_state == RQ_HEAD &&
                c->cin.len - c->head_start >= RELAY_HEAD_MAX)
                conn_err(c, 431, "HEADERS_TOO_LARGE", "request head over %u bytes", RELAY_HEAD_MAX);
        }
        if (bq_pending(&c->uout) && c->up == UP_NONE && c->sb && !c->closing && c->qn)
            up_start(c);
        if (c->up == UP_OPEN) {
            bool ufail = false;
            progress |= write_from(c->ufd, &c->uout, &c->u_wr, &ufail);
            compact(&c->uin, &c->uppos, &c->rs_start, &c->rs_raw_from, !c->tunnel && c->rs_head, c,
                    false);
            progress |= read_into(c->ufd, &c->uin, &c->u_rd, &c->u_eof);
            size_t ubefore = c->uppos;
            process_upstream(c);
            progress |= c->uppos != ubefore;
            if (c->u_eof || ufail) {
                if (c->tunnel) {
                    if (!bq_pending(&c->cout))
                        c->closing = true;
                } else {
                    if (c->qn && !ufail) {
                        /* close-delimited answers end here */
                        http_parser_execute(&c->rs, &rs_settings, NULL, 0);
                        if (c->rs_ev_done) {
                            c->rs_ev_done = false;
                            response_done(c);
                        }
                    }
                    if (c->qn)
                        bad_gateway(c, "the server closed the connection mid-answer");
                    up_close(c);
                    c->uout.off = c->uout.len = 0;
                }
            }
        }
        /* to the client */
        if (!bq_pending(&c->cout) && c->err && !c->qn) {
            bq_put(&c->cout, c->err, c->err_len);
            free(c->err);
            c->err = NULL;
            c->closing = true;
            up_close(c);
        }
        progress |= write_from(c->cfd, &c->cout, &c->c_wr, &failed);
        if (failed || (c->closing && !bq_pending(&c->cout)) ||
            (c->c_eof && (c->tunnel || (c->rq_state != RQ_BODY && !c->qn && !c->err)))) {
            c->dead = true;
            return;
        }
        if (c->c_eof && !c->tunnel && c->rq_state == RQ_BODY) {
            c->dead = true; /* the client left mid-request */
            return;
        }
        if (!progress)
            break;
        if (rounds == 63 && !c->again) {
            /* fair to the others: go on after this round of events (no edge will come) */
            c->again = true;
            c->again_next = c->w->again;
            c->w->again = c;
        }
    }
    if (bq_pending(&c->cout) || bq_pending(&c->uout) || c->cin.len > c->cppos)
        c->last_ms = now_ms();
}

static void conn_event(struct conn *c, bool up, uint32_t ev)
{
    c->last_ms = now_ms();
    if (up) {
        if (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
            c->u_rd = true;
        if (ev & (EPOLLOUT | EPOLLHUP | EPOLLERR))
            c->u_wr = true;
        if (c->up == UP_CONNECTING && (ev & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
            up_check(c);
    } else {
        if (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
            c->c_rd = true;
        if (ev & (EPOLLOUT | EPOLLHUP | EPOLLERR))
            c->c_wr = true;
    }
    pump(c);
}

/* Timers: connect retries, slow heads, idle connections. */
static void sweep(struct worker *w)
{
    int64_t now = now_ms();

    for (struct conn *c = w->conns, *next; c; c = next) {
        next = c->next;
        if (c->dead)
            continue;
        if (now - c->last_ms >= 1000 && !c->qn) {
            /* idle: give the buffers of a past large transfer back */
            if (!bq_pending(&c->cout) && c->cout.cap > RELAY_IN_MIN)
                bq_free(&c->cout);
            if (!bq_pending(&c->uout) && c->uout.cap > RELAY_IN_MIN)
                bq_free(&c->uout);
            if (c->uin.len == 0 && c->uin.cap > RELAY_IN_MIN)
                bq_free(&c->uin);
            if (c->cin.len == 0 && c->cin.cap > RELAY_IN_MIN)
                bq_free(&c->cin);
        }
        if (c->up == UP_CONNECTING) {
            /* normally EPOLLOUT says how a connect went; look anyway, so that an edge
             * missed cannot leave a connection waiting for ever */
            up_check(c);
            if (c->up == UP_OPEN) {
                c->u_rd = c->u_wr = true;
                pump(c);
            }
        } else if (c->up == UP_WAITING && c->retry_at_ms && now >= c->retry_at_ms) {
            c->retry_at_ms = 0;
            up_try(c); /* with c->up == UP_WAITING, counted in n_waiting */
            pump(c);
        } else if (c->rq_state == RQ_HEAD && !c->tunnel && c->head_began_ms &&
                   c->cin.len > c->head_start && now - c->head_began_ms >= rconf.head_timeout_ms) {
            if (c->qn)
                c->closing = true;
            else
                conn_err(c, 408, "REQUEST_TIMEOUT", "the request head took over %u ms",
                         rconf.head_timeout_ms);
            pump(c);
        } else if (now - c->last_ms >=
                       (int64_t)(c->tunnel ? RELAY_WS_IDLE_S : rconf.idle_timeout_s) * 1000 &&
                   c->up != UP_WAITING && c->up != UP_CONNECTING) {
            c->dead = true;
        }
        if (c->dead)
            conn_free(c);
    }
}

static void adopt_inbox(struct worker *w)
{
    int fds[64];
    size_t n;

    pthread_mutex_lock(&w->mu);
    n = w->n_in < 64 ? w->n_in : 64;
    if (n) { /* the inbox may not be allocated yet: no memcpy from NULL */
        memcpy(fds, w->inbox, n * sizeof(int));
        memmove(w->inbox, w->inbox + n, (w->n_in - n) * sizeof(int));
        w->n_in -= n;
    }
    pthread_mutex_unlock(&w->mu);
    for (size_t i = 0; i < n; i++) {
        struct conn *c = calloc(1, sizeof(*c));
        if (!c) {
            close(fds[i]);
            atomic_fetch_sub(&n_conns, 1);
            continue;
        }
        c->w = w;
        c->cfd = fds[i];
        /* no Nagle: the tail of an answer must not wait for the client's delayed ACK */
        setsockopt(c->cfd, IPPROTO_TCP, TCP_NODELAY, &(int){1}, sizeof(int));
        c->ufd = -1;
        c->netns = -1;
        c->ctag.c = c->utag.c = c;
        c->rs_head = true;
        http_parser_init(&c->rq, HTTP_REQUEST);
        http_parser_init(&c->rs, HTTP_RESPONSE);
        c->rq.data = c->rs.data = c;
        c->last_ms = now_ms();
        struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
                                 .data.ptr = &c->ctag};
        if (epoll_ctl(w->ep, EPOLL_CTL_ADD, c->cfd, &ev) < 0) {
            close(c->cfd);
            free(c);
            atomic_fetch_sub(&n_conns, 1);
            continue;
        }
        c->next = w->conns;
        if (w->conns)
            w->conns->prev = c;
        w->conns = c;
        c->c_rd = c->c_wr = true; /* the head is there already */
        pump(c);
        if (c->dead)
            conn_free(c);
    }
    if (w->n_in)
        (void)!write(w->wake, &(uint64_t){1}, sizeof(uint64_t));
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct epoll_event evs[128];
    int64_t last_sweep = now_ms();

    while (!w->stop) {
        int n = epoll_wait(w->ep, evs, 128, w->again ? 0 : w->n_waiting ? RELAY_RETRY_MS : 250);
        for (int i = 0; i < n; i++) {
            if (evs[i].data.ptr == &w->wake) {
                uint64_t v;
                (void)!read(w->wake, &v, sizeof(v));
                adopt_inbox(w);
                continue;
            }
            struct conn *c = *(struct conn **)evs[i].data.ptr;
            bool up = evs[i].data.ptr == &c->utag;
            if (c->dead || (up && c->ufd < 0))
                continue; /* closed earlier in this batch */
            conn_event(c, up, evs[i].events);
        }
        /* freed only now: a later event of this batch may name them */
        for (int i = 0; i < n; i++) {
            if (evs[i].data.ptr == &w->wake)
                continue;
            struct conn *c = *(struct conn **)evs[i].data.ptr;
            if (c && c->dead) {
                *(struct conn **)evs[i].data.ptr = NULL;
                for (int j = i + 1; j < n; j++)
                    if (evs[j].data.ptr == &c->ctag || evs[j].data.ptr == &c->utag)
                        evs[j].data.ptr = &w->wake; /* skip it */
                conn_free(c);
            }
        }
        struct conn *again = w->again;
        w->again = NULL;
        while (again) {
            struct conn *c = again;
            again = c->again_next;
            c->again = false;
            pump(c);
            if (c->dead)
                conn_free(c);
        }
        int64_t now = now_ms();
        if (now - last_sweep >= (w->n_waiting ? RELAY_RETRY_MS : 250)) {
            last_sweep = now;
            sweep(w);
        }
    }
    while (w->conns)
        conn_free(w->conns);
    return NULL;
}

int relay_adopt(int fd)
{
    struct worker *w;

    if (!n_workers)
        return -ENOTCONN;
    if (atomic_fetch_add(&n_conns, 1) >= RELAY_MAX_CONNS) {
        size_t len = 0;
        char *a = error_answer(503, "TOO_MANY_CONNECTIONS",
                               "too many preview connections; try again later", &len);
        atomic_fetch_sub(&n_conns, 1);
        if (a)
            (void)!send(fd, a, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        free(a);
        close(fd);
        return 0;
    }
    w = &workers[atomic_fetch_add(&rr, 1) % n_workers];
    pthread_mutex_lock(&w->mu);
    if (w->n_in == w->cap_in) {
        size_t cap = w->cap_in ? w->cap_in * 2 : 64;
        int *p = cap <= RELAY_MAX_CONNS ? realloc(w->inbox, cap * sizeof(int)) : NULL;
        if (!p) {
            pthread_mutex_unlock(&w->mu);
            atomic_fetch_sub(&n_conns, 1);
            close(fd);
            return 0;
        }
        w->inbox = p, w->cap_in = cap;
    }
    w->inbox[w->n_in++] = fd;
    pthread_mutex_unlock(&w->mu);
    (void)!write(w->wake, &(uint64_t){1}, sizeof(uint64_t));
    return 0;
}

int relay_divert(int fd, const char *host, void *userdata)
{
    return preview_is_host(host) ? relay_adopt(fd) : -ENOENT;
}

int relay_start(const struct relay_config *cfg)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned want = cpus < 1 ? 1 : cpus > RELAY_WORKERS_MAX ? RELAY_WORKERS_MAX : (unsigned)cpus;

    if (cfg->idle_timeout_s)
        rconf.idle_timeout_s = cfg->idle_timeout_s;
    if (cfg->head_timeout_ms)
        rconf.head_timeout_ms = cfg->head_timeout_ms;
    for (unsigned i = 0; i < want; i++) {
        struct worker *w = &workers[i];
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &w->wake};
        pthread_mutex_init(&w->mu, NULL);
        w->rt = malloc(sizeof(*w->rt));
        w->ep = epoll_create1(EPOLL_CLOEXEC);
        w->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (!w->rt || w->ep < 0 || w->wake < 0 ||
            epoll_ctl(w->ep, EPOLL_CTL_ADD, w->wake, &ev) < 0 ||
            pthread_create(&w->thread, NULL, worker_main, w) != 0) {
            if (w->ep >= 0)
                close(w->ep);
            if (w->wake >= 0)
                close(w->wake);
            break;
        }
        n_workers++;
    }
    return n_workers ? 0 : -EIO;
}

void relay_stop(void)
{
    for (unsigned i = 0; i < n_workers; i++) {
        workers[i].stop = true;
        (void)!write(workers[i].wake, &(uint64_t){1}, sizeof(uint64_t));
    }
    for (unsigned i = 0; i < n_workers; i++) {
        struct worker *w = &workers[i];
        pthread_join(w->thread, NULL);
        for (size_t j = 0; j < w->n_in; j++)
            close(w->inbox[j]);
        free(w->inbox);
        close(w->ep);
        close(w->wake);
        free(w->rt);
    }
    n_workers = 0;
}
