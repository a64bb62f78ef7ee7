/* HTTP server glue over libmicrohttpd (MHD 0.9.75): listeners, the request lifecycle, body
 * handling, replies and the WebSocket upgrade hand-over.
 *
 * Theory of operation. Each listener (TCP, unix socket) is one MHD daemon in
 * thread-per-connection mode with poll(), so a handler may block its own connection and fds
 * above FD_SETSIZE work. We create and bind the listening sockets ourselves (precise errors,
 * unix socket mode 0660) and pass them with MHD_OPTION_LISTEN_SOCKET.
 *
 * Per request, MHD calls us in this order on the connection's thread:
 *   on_uri()        raw request target, before MHD decodes it: allocates struct http_req;
 *   on_access() #1  headers complete: route, authenticate, check Content-Length, prepare;
 *   on_access() #n  body pieces: buffered, streamed to body_chunk, or post-processed;
 *   on_access() end *upload_data_size == 0: run the handler, queue its reply;
 *   on_completed()  always (also on aborted connections): frees the request.
 *
 * MHD accepts a reply only on the first call or on the final one, and always closes the
 * connection after a reply queued on the first call. So an early rejection (400, 401, 404,
 * 405, 413, a prepare() reply) of a request that announces a body is queued at once: MHD skips
 * "100 Continue", never reads the body, replies and closes. Without a body the same reply
 * waits for the final call, which keeps the connection alive. A failure noticed while the
 * body flows (chunked body over its cap, malformed multipart, a consumer that stops) is
 * remembered, the rest of the body is swallowed, and the reply goes out at the final call;
 * past the discard budget (HTTP_DISCARD_MAX, or what is left of the route's cap) the
 * connection is closed without a reply.
 *
 * Replies do not go to MHD directly: http_reply_*() builds the MHD response, adds the
 * request's extra headers and parks it in req->resp; the access handler queues it when MHD
 * allows. So a reply from body_chunk()/part() is valid too: it ends the body like a stop.
 * Every reply carries Content-Length, except streams, which are chunked (HTTP/1.1) or
 * close-delimited (HTTP/1.0), so keep-alive is always safe.
 *
 * Ownership: reply functions take what they are given (data, fd, stream ctx, upgrade ctx)
 * even when they fail. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/limits.h"
#include "base/log.h"
#include "base/parse.h"
#include "http/http-internal.h"

#define JSON_TYPE "application/json"
#define WS_GUID   "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

/* Returned by request steps that already replied: stop and queue the reply. */
#define REPLIED (-ECANCELED)

static const char *const method_names[_HTTP_METHOD_MAX] = {
    [HTTP_GET] = "GET",         [HTTP_HEAD] = "HEAD",     [HTTP_POST] = "POST",
    [HTTP_PUT] = "PUT",         [HTTP_DELETE] = "DELETE", [HTTP_PATCH] = "PATCH",
    [HTTP_OPTIONS] = "OPTIONS",
};

const char *http_method_to_string(enum http_method m)
{
    if (m < 0 || m >= _HTTP_METHOD_MAX)
        return NULL;
    return method_names[m];
}

enum http_method http_method_from_string(const char *s)
{
    if (!s)
        return _HTTP_METHOD_INVALID;
    for (int m = 0; m < _HTTP_METHOD_MAX; m++)
        if (strcmp(s, method_names[m]) == 0)
            return (enum http_method)m;
    return _HTTP_METHOD_INVALID;
}

/* ---- replies ---------------------------------------------------------------------------- */

/* Park resp as the request's reply, with the extra headers. Consumes resp. */
static int req_set_response(struct http_req *req, unsigned status, struct MHD_Response *resp,
                            const char *content_type)
{
    if (!resp)
        return -ENOMEM;
    if (req->replied) {
        MHD_destroy_response(resp);
        return -EALREADY;
    }
    if (content_type &&
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type) == MHD_NO) {
        MHD_destroy_response(resp);
        return -ENOMEM;
    }
    for (struct http_header *h = req->headers; h; h = h->next)
        if (MHD_add_response_header(resp, h->name, h->value) == MHD_NO)
            log_debug("http: response header %s refused by MHD", h->name);
    req->resp = resp;
    req->status = status;
    req->replied = true;
    return 0;
}

/* Last-resort reply when even building an error body fails. */
static int reply_static_500(struct http_req *req)
{
    static const char body[] =
        "{\"statusCode\":500,\"code\":\"INTERNAL_ERROR\",\"message\":\"out of memory\"}";

    return req_set_response(
        req, 500,
        MHD_create_response_from_buffer(sizeof(body) - 1, (void *)body, MHD_RESPMEM_PERSISTENT),
        JSON_TYPE);
}

int http_reply_take(struct http_req *req, unsigned status, const char *content_type, void *data,
                    size_t len)
{
    struct MHD_Response *resp;

    if (req->replied) {
        free(data);
        return -EALREADY;
    }
    resp = MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(data);
        return -ENOMEM;
    }
    return req_set_response(req, status, resp, content_type);
}

int http_reply_buf(struct http_req *req, unsigned status, const char *content_type,
                   const void *data, size_t len)
{
    if (req->replied)
        return -EALREADY;
    return req_set_response(
        req, status, MHD_create_response_from_buffer(len, (void *)data, MHD_RESPMEM_MUST_COPY),
        content_type);
}

int http_reply_empty(struct http_req *req, unsigned status)
{
    if (req->replied)
        return -EALREADY;
    return req_set_response(req, status,
                            MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT), NULL);
}

int http_reply_json(struct http_req *req, unsigned status, json_t *body)
{
    char *s;

    if (req->replied) {
        json_decref(body);
        return -EALREADY;
    }
    if (!body)
        return http_reply_error(req, 500, "INTERNAL_ERROR", "could not build the response");
    s = json_dumps(body, JSON_COMPACT | JSON_REAL_PRECISION(15));
    json_decref(body);
    if (!s)
        return reply_static_500(req);
    return http_reply_take(req, status, JSON_TYPE, s, strlen(s));
}

/* json_string() refuses invalid UTF-8, and messages may quote what a client sent. */
static json_t *json_string_lossy(const char *s)
{
    json_t *j = json_string(s);
    char *copy;

    if (j)
        return j;
    copy = strdup(s);
    if (!copy)
        return NULL;
    for (char *p = copy; *p; p++)
        if ((unsigned char)*p >= 0x80)
            *p = '?';
    j = json_string(copy);
    free(copy);
    return j;
}

static int vreply_error(struct http_req *req, unsigned status, const char *code, const char *fmt,
                        va_list ap) __attribute__((format(printf, 4, 0)));

static int vreply_error(struct http_req *req, unsigned status, const char *code, const char *fmt,
                        va_list ap)
{
    char msg[HTTP_ERR_MSG_MAX];
    json_t *o;

    if (req->replied)
        return -EALREADY;
    (void)vsnprintf(msg, sizeof(msg), fmt, ap);
    o = json_object();
    if (!o || json_object_set_new(o, "statusCode", json_integer(status)) < 0 ||
        json_object_set_new(o, "code", json_string(code)) < 0 ||
        json_object_set_new(o, "message", json_string_lossy(msg)) < 0) {
        json_decref(o);
        return reply_static_500(req);
    }
    return http_reply_json(req, status, o);
}

int http_reply_error(struct http_req *req, unsigned status, const char *code, const char *fmt, ...)
{
    va_list ap;
    int r;

    va_start(ap, fmt);
    r = vreply_error(req, status, code, fmt, ap);
    va_end(ap);
    return r;
}

/* Reply with a JSON error and return REPLIED, for request steps. */
static int req_fail(struct http_req *req, unsigned status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int req_fail(struct http_req *req, unsigned status, const char *code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vreply_error(req, status, code, fmt, ap);
    va_end(ap);
    return REPLIED;
}

int http_reply_fd(struct http_req *req, unsigned status, const char *content_type, int fd,
                  uint64_t size)
{
    struct MHD_Response *resp;

    if (req->replied) {
        safe_close(fd);
        return -EALREADY;
    }
    /* MHD closes fd when the response is destroyed; it uses sendfile() only when we told it
     * SIGPIPE is handled (see http_server_start). */
    resp = MHD_create_response_from_fd_at_offset64(size, fd, 0);
    if (!resp) {
        safe_close(fd);
        return -EINVAL;
    }
    return req_set_response(req, status, resp, content_type);
}

struct http_stream {
    http_stream_fn read_cb;
    void *ctx;
    void (*free_cb)(void *);
    int fd; /* the connection, watched while the producer has nothing */
};

/* MHD content reader. In thread-per-connection mode a 0 return makes MHD spin, so "no data
 * yet" is handled here: poll the client socket with a growing timeout (1 ms .. 50 ms) and ask
 * again. A client that hangs up, or daemon shutdown (which shuts the socket down), ends the
 * stream instead of leaving the thread waiting on a producer forever. */
static ssize_t stream_read(void *cls, uint64_t pos, char *out, size_t max)
{
    struct http_stream *s = cls;
    int wait_ms = 1;

    for (;;) {
        long n = s->read_cb(s->ctx, pos, out, max);

        if (n > 0)
            return (size_t)n <= max ? (ssize_t)n : MHD_CONTENT_READER_END_WITH_ERROR;
        if (n == -1)
            return MHD_CONTENT_READER_END_OF_STREAM;
        if (n < 0)
            return MHD_CONTENT_READER_END_WITH_ERROR;

        if (s->fd >= 0) {
            struct pollfd p = {.fd = s->fd, .events = POLLRDHUP};

            if (poll(&p, 1, wait_ms) > 0 &&
                (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)))
                return MHD_CONTENT_READER_END_WITH_ERROR;
        } else {
            struct timespec ts = {.tv_nsec = (long)wait_ms * 1000000L};

            nanosleep(&ts, NULL);
        }
        if (wait_ms < HTTP_STREAM_WAIT_MAX_MS)
            wait_ms = wait_ms * 2 > HTTP_STREAM_WAIT_MAX_MS ? HTTP_STREAM_WAIT_MAX_MS : wait_ms * 2;
    }
}

static void stream_free(void *cls)
{
    struct http_stream *s = cls;

    if (s->free_cb)
        s->free_cb(s->ctx);
    free(s);
}

int http_reply_stream(struct http_req *req, unsigned status, const char *content_type,
                      http_stream_fn read_cb, void *ctx, void (*free_cb)(void *))
{
    return http_reply_stream_sized(req, status, content_type, HTTP_SIZE_UNKNOWN, read_cb, ctx,
                                   free_cb);
}

int http_reply_stream_sized(struct http_req *req, unsigned status, const char *content_type,
                            uint64_t size, http_stream_fn read_cb, void *ctx,
                            void (*free_cb)(void *))
{
    const union MHD_ConnectionInfo *ci;
    struct MHD_Response *resp;
    struct http_stream *s;

    if (req->replied || !read_cb || !(s = calloc(1, sizeof(*s)))) {
        if (free_cb)
            free_cb(ctx);
        return req->replied ? -EALREADY : !read_cb ? -EINVAL : -ENOMEM;
    }
    *s = (struct http_stream){.read_cb = read_cb, .ctx = ctx, .free_cb = free_cb, .fd = -EBADF};
    ci = MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (ci)
        s->fd = ci->connect_fd;
    size_t block = HTTP_STREAM_BLOCK;
    if (size != HTTP_SIZE_UNKNOWN)
        block = size < HTTP_STREAM_BLOCK_MIN   ? HTTP_STREAM_BLOCK_MIN
                : size > HTTP_STREAM_BLOCK_MAX ? HTTP_STREAM_BLOCK_MAX
                                               : (size_t)size;
    resp = MHD_create_response_from_callback(size == HTTP_SIZE_UNKNOWN ? MHD_SIZE_UNKNOWN : size,
                                             block, stream_read, s, stream_free);
    if (!resp) {
        stream_free(s);
        return -ENOMEM;
    }
    return req_set_response(req, status, resp, content_type);
}

/* ---- WebSocket upgrade -------------------------------------------------------------------- */

/* Is token one of the comma-separated, case-insensitive tokens of value? */
static bool header_has_token(const char *value, const char *token)
{
    size_t tlen = strlen(token);

    while (value && *value) {
        size_t n;

        value += strspn(value, " \t,");
        n = strcspn(value, ",");
        while (n > 0 && (value[n - 1] == ' ' || value[n - 1] == '\t'))
            n--;
        if (n == tlen && strncasecmp(value, token, tlen) == 0)
            return true;
        value += strcspn(value, ",");
    }
    return false;
}

/* A Sec-WebSocket-Key is the base64 encoding of 16 bytes: 22 characters and "==". */
static bool ws_key_valid(const char *key)
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

    if (!key || strlen(key) != 24 || strcmp(key + 22, "==") != 0)
        return false;
    for (size_t i = 0; i < 22; i++)
        if (!strchr(b64, key[i]))
            return false;
    return true;
}

static int ws_accept(const char *key, char out[static 29])
{
    char in[24 + sizeof(WS_GUID)];
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;

    (void)snprintf(in, sizeof(in), "%s%s", key, WS_GUID);
    if (EVP_Digest(in, strlen(in), md, &md_len, EVP_sha1(), NULL) != 1 || md_len != 20)
        return -EIO;
    EVP_EncodeBlock((unsigned char *)out, md, 20); /* 28 chars + NUL */
    return 0;
}

static void upgrade_free(struct http_upgrade *u)
{
    if (!u)
        return;
    if (u->free_ctx)
        u->free_ctx(u->ctx);
    free(u);
}

/* MHD calls this on the connection's thread once the 101 is out. We run fn right here (the
 * thread has nothing else to do) on a blocking socket with TCP_NODELAY, then let MHD close
 * the connection. http_server_stop() shuts these sockets down and waits for fn to return. */
static void on_upgrade(void *cls, struct MHD_Connection *conn, void *con_cls, const char *extra,
                       size_t extra_len, MHD_socket sock, struct MHD_UpgradeResponseHandle *urh)
{
    struct http_upgrade *u = cls;
    struct http_req *req = con_cls;
    struct http_server *srv = u->srv;
    bool run;

    if (req && req->upgrade == u)
        req->upgrade = NULL; /* ours now */

    pthread_mutex_lock(&srv->lock);
    run = !srv->stopping;
    if (run) {
        u->fd = sock;
        u->prev = NULL;
        u->next = srv->upgrades;
        if (srv->upgrades)
            srv->upgrades->prev = u;
        srv->upgrades = u;
        srv->n_upgraded++;
    }
    pthread_mutex_unlock(&srv->lock);

    if (run) {
        int fl = fcntl(sock, F_GETFL), one = 1;

        if (fl >= 0 && (fl & O_NONBLOCK))
            (void)fcntl(sock, F_SETFL, fl & ~O_NONBLOCK);
        /* MHD re-enables Nagle for upgrades; WebSocket traffic is interactive. */
        if (req && !req->lst->is_unix)
            (void)setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        u->fn(sock, extra, extra_len, u->ctx);
    }
    if (u->free_ctx)
        u->free_ctx(u->ctx);
    u->free_ctx = NULL;
    /* Close before we report done, so MHD_stop_daemon() never meets a half-open upgrade. */
    MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);

    if (run) {
        pthread_mutex_lock(&srv->lock);
        if (u->prev)
            u->prev->next = u->next;
        else
            srv->upgrades = u->next;
        if (u->next)
            u->next->prev = u->prev;
        srv->n_upgraded--;
        pthread_cond_broadcast(&srv->cond);
        pthread_mutex_unlock(&srv->lock);
    }
    free(u);
}

static const char *ws_check(const struct http_req *req)
{
    const char *v;

    if (req->method != HTTP_GET)
        return "a WebSocket handshake must be a GET request";
    if (!header_has_token(http_req_header(req, "Upgrade"), "websocket"))
        return "expected \"Upgrade: websocket\"";
    if (!header_has_token(http_req_header(req, "Connection"), "upgrade"))
        return "expected \"Connection: Upgrade\"";
    v = http_req_header(req, "Sec-WebSocket-Version");
    if (!v || strcmp(v, "13") != 0)
        return "unsupported Sec-WebSocket-Version (only 13)";
    if (!ws_key_valid(http_req_header(req, "Sec-WebSocket-Key")))
        return "missing or malformed Sec-WebSocket-Key";
    return NULL;
}

int http_reply_websocket(struct http_req *req, const char *subprotocol, http_upgrade_fn fn,
                         void *ctx, void (*free_ctx)(void *))
{
    struct http_upgrade *u = NULL;
    struct MHD_Response *resp;
    const char *bad;
    char accept[29];
    int r;

    if (req->replied || !fn) {
        if (free_ctx)
            free_ctx(ctx);
        return req->replied ? -EALREADY : -EINVAL;
    }
    bad = ws_check(req);
    if (bad) {
        if (free_ctx)
            free_ctx(ctx);
        http_req_add_header(req, "Sec-WebSocket-Version", "13");
        http_reply_error(req, 400, "BAD_REQUEST", "%s", bad);
        return -EINVAL;
    }
    u = calloc(1, sizeof(*u));
    if (!u || ws_accept(http_req_header(req, "Sec-WebSocket-Key"), accept) < 0) {
        free(u);
        if (free_ctx)
            free_ctx(ctx);
        return http_reply_error(req, 500, "INTERNAL_ERROR", "could not upgrade the connection");
    }
    *u = (struct http_upgrade){
        .srv = req->srv, .fn = fn, .ctx = ctx, .free_ctx = free_ctx, .fd = -EBADF};

    resp = MHD_create_response_for_upgrade(on_upgrade, u);
    /* MHD adds "Connection: Upgrade" itself. */
    if (!resp || MHD_add_response_header(resp, "Upgrade", "websocket") == MHD_NO ||
        MHD_add_response_header(resp, "Sec-WebSocket-Accept", accept) == MHD_NO ||
        (subprotocol &&
         MHD_add_response_header(resp, "Sec-WebSocket-Protocol", subprotocol) == MHD_NO)) {
        if (resp)
            MHD_destroy_response(resp);
        upgrade_free(u);
        return http_reply_error(req, 500, "INTERNAL_ERROR", "could not upgrade the connection");
    }
    r = req_set_response(req, MHD_HTTP_SWITCHING_PROTOCOLS, resp, NULL);
    if (r < 0) {
        upgrade_free(u);
        return r;
    }
    req->upgrade = u; /* freed with the request unless MHD hands the socket over */
    return 0;
}

/* ---- request accessors ------------------------------------------------------------------ */

enum http_method http_req_method(const struct http_req *req)
{
    return req->method;
}

const char *http_req_path(const struct http_req *req)
{
    return req->path ? req->path : "";
}

const char *http_req_param(const struct http_req *req, const char *name)
{
    size_t len = strlen(name);

    for (size_t i = 0; i < req->match.n_params; i++) {
        const struct router_param *p = &req->match.params[i];

        if (p->name_len == len && memcmp(p->name, name, len) == 0)
            return p->value;
    }
    return NULL;
}

const char *http_req_query(const struct http_req *req, const char *name)
{
    const char *v = NULL;
    size_t len = 0;

    if (MHD_lookup_connection_value_n(req->conn, MHD_GET_ARGUMENT_KIND, name, strlen(name), &v,
                                      &len) == MHD_NO)
        return NULL;
    return v ? v : ""; /* "?flag" has no value */
}

struct query_iter {
    const char *name;
    size_t name_len;
    const char **out;
    size_t max;
    size_t n;
};

static enum MHD_Result query_collect(void *cls, enum MHD_ValueKind kind, const char *key,
                                     size_t key_len, const char *value, size_t value_len)
{
    struct query_iter *it = cls;

    if (key_len == it->name_len && memcmp(key, it->name, key_len) == 0) {
        if (it->n >= it->max)
            return MHD_NO;
        it->out[it->n++] = value ? value : "";
    }
    return MHD_YES;
}

size_t http_req_query_all(const struct http_req *req, const char *name, const char **out,
                          size_t max)
{
    struct query_iter it = {.name = name, .name_len = strlen(name), .out = out, .max = max};

    if (max == 0)
        return 0;
    MHD_get_connection_values_n(req->conn, MHD_GET_ARGUMENT_KIND, query_collect, &it);
    return it.n;
}

const char *http_req_header(const struct http_req *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *http_req_body(const struct http_req *req, size_t *ret_len)
{
    if (ret_len)
        *ret_len = req->body.len;
    return req->body.data ? req->body.data : "";
}

json_t *http_req_json(struct http_req *req)
{
    const char *b = http_req_body(req, NULL);
    size_t len = req->body.len, i;
    json_error_t e;
    json_t *j;

    for (i = 0; i < len && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n'); i++)
        ;
    if (i == len) {
        j = json_object();
        if (!j)
            reply_static_500(req);
        return j;
    }
    j = json_loadb(b, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &e);
    if (!j) {
        http_reply_error(req, 400, "BAD_REQUEST", "invalid JSON body: %s (line %d, column %d)",
                         e.text, e.line, e.column);
        return NULL;
    }
    if (!json_is_object(j)) {
        json_decref(j);
        http_reply_error(req, 400, "BAD_REQUEST", "request body must be a JSON object");
        return NULL;
    }
    return j;
}

void *http_req_principal(const struct http_req *req)
{
    return req->principal;
}

void *http_req_userdata(const struct http_req *req)
{
    return req->srv->cfg.userdata;
}

/* Replacing a context frees the previous one. */
void http_req_set_ctx(struct http_req *req, void *ctx, void (*free_fn)(void *))
{
    if (req->ctx_free && req->ctx != ctx)
        req->ctx_free(req->ctx);
    req->ctx = ctx;
    req->ctx_free = free_fn;
}

void *http_req_ctx(const struct http_req *req)
{
    return req->ctx;
}

bool http_req_replied(const struct http_req *req)
{
    return req->replied;
}

const char *http_req_peer(const struct http_req *req)
{
    return req->peer;
}

static bool header_name_valid(const char *s)
{
    if (!s || !*s)
        return false;
    for (; *s; s++)
        if (*s <= ' ' || *s >= 0x7f || strchr("()<>@,;:\\\"/[]?={}", *s))
            return false;
    return true;
}

int http_req_add_header(struct http_req *req, const char *name, const char *value)
{
    struct http_header *h;

    if (req->replied)
        return -EALREADY;
    if (!header_name_valid(name) || !value || strpbrk(value, "\r\n"))
        return -EINVAL;
    h = calloc(1, sizeof(*h));
    if (!h)
        return -ENOMEM;
    h->name = strdup(name);
    h->value = strdup(value);
    if (!h->name || !h->value) {
        free(h->name);
        free(h->value);
        free(h);
        return -ENOMEM;
    }
    if (req->headers_tail)
        req->headers_tail->next = h;
    else
        req->headers = h;
    req->headers_tail = h;
    return 0;
}

/* ---- request lifecycle ------------------------------------------------------------------ */

static void req_free(struct http_req *req)
{
    const struct http_config *cfg;

    if (!req)
        return;
    cfg = &req->srv->cfg;
    if (req->ctx_free)
        req->ctx_free(req->ctx);
    if (req->principal && cfg->principal_free)
        cfg->principal_free(req->principal);
    if (req->pp)
        MHD_destroy_post_processor(req->pp);
    http_form_scan_done(&req->scan);
    buf_free(&req->body);
    if (req->resp)
        MHD_destroy_response(req->resp);
    upgrade_free(req->upgrade);
    for (struct http_header *h = req->headers, *next; h; h = next) {
        next = h->next;
        free(h->name);
        free(h->value);
        free(h);
    }
    free(req->raw_path);
    free(req->raw_target);
    free(req->path);
    free(req);
}

/* MHD_OPTION_URI_LOG_CALLBACK: the only place that sees the request target before MHD
 * percent-decodes it in place (which would turn "%2F" into "/" and cut at "%00"). Its return
 * value becomes *con_cls. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    struct http_listener *l = cls;
    struct http_req *req = calloc(1, sizeof(*req));

    if (!req)
        return NULL;
    req->srv = l->srv;
    req->lst = l;
    req->conn = conn;
    req->method = _HTTP_METHOD_INVALID;
    buf_init(&req->body, 0);
    if (!uri)
        uri = "";
    /* absolute-form ("http://host/path", RFC 9112 3.2.2): keep the path only */
    if (strncasecmp(uri, "http://", 7) == 0 || strncasecmp(uri, "https://", 8) == 0) {
        const char *p = strstr(uri, "//") + 2;

        p += strcspn(p, "/?#");
        uri = *p == '/' ? p : "/";
    }
    req->raw_path = strndup(uri, strcspn(uri, "?#"));
    req->raw_target = strndup(uri, strcspn(uri, "#"));
    /* MHD decodes query values into C strings: "%00" would silently cut them short. */
    req->query_nul = strstr(uri + strcspn(uri, "?"), "%00") != NULL;
    return req;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    req_free(*con_cls);
    *con_cls = NULL;
}

static void req_set_peer(struct http_req *req)
{
    const union MHD_ConnectionInfo *ci;
    const struct sockaddr *sa;

    (void)snprintf(req->peer, sizeof(req->peer), "%s", req->lst->is_unix ? "unix" : "unknown");
    if (req->lst->is_unix)
        return;
    ci = MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (!ci || !ci->client_addr)
        return;
    sa = ci->client_addr;
    if (sa->sa_family == AF_INET) {
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, req->peer,
                  sizeof(req->peer));
    } else if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;

        if (IN6_IS_ADDR_V4MAPPED(a))
            inet_ntop(AF_INET, &a->s6_addr[12], req->peer, sizeof(req->peer));
        else
            inet_ntop(AF_INET6, a, req->peer, sizeof(req->peer));
    }
}

/* "Allow" for a 405: every method whose route matches this path. */
static void req_add_allow(struct http_req *req)
{
    const struct http_config *cfg = &req->srv->cfg;
    char allow[64] = ""; /* all seven names fit */
    unsigned seen = 0;

    for (size_t i = 0; i < cfg->n_routes; i++) {
        struct router_match m;
        enum http_method meth = cfg->routes[i].method;

        if (meth < 0 || meth >= _HTTP_METHOD_MAX || (seen & (1u << meth)))
            continue;
        if (router_match(&cfg->routes[i], 1, meth, req->raw_path, &m) >= 0)
            seen |= 1u << meth;
    }
    for (int meth = 0; meth < _HTTP_METHOD_MAX; meth++) {
        if (!(seen & (1u << meth)))
            continue;
        if (allow[0])
            strncat(allow, ", ", sizeof(allow) - strlen(allow) - 1);
        strncat(allow, method_names[meth], sizeof(allow) - strlen(allow) - 1);
    }
    if (allow[0])
        http_req_add_header(req, "Allow", allow);
}

static int req_route(struct http_req *req, const char *method)
{
    const struct http_config *cfg = &req->srv->cfg;
    const union MHD_ConnectionInfo *ci;
    size_t len = strlen(req->raw_path);
    int r;

    if (req->raw_path[0] != '/')
        return req_fail(req, 400, "BAD_REQUEST", "the request target must be an absolute path");
    if (len > COVE_MAX_URL_BYTES)
        return req_fail(req, 414, "URI_TOO_LONG", "the request path exceeds %u bytes",
                        COVE_MAX_URL_BYTES);
    ci = MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_REQUEST_HEADER_SIZE);
    if (ci && ci->header_size > COVE_MAX_HEADER_BYTES)
        return req_fail(req, 431, "HEADERS_TOO_LARGE", "request headers exceed %u bytes",
                        COVE_MAX_HEADER_BYTES);

    if (req->query_nul)
        return req_fail(req, 400, "BAD_REQUEST", "NUL byte (%%00) in the query string");

    req->path = malloc(len + 1);
    if (!req->path)
        return -ENOMEM;
    if (router_pct_decode(req->raw_path, len, req->path, len + 1) < 0)
        return req_fail(req, 400, "BAD_REQUEST", "malformed percent-encoding in the path");

    if (cfg->host_route) {
        const char *host = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "Host");
        const struct http_route *hr = host ? cfg->host_route(host, cfg->userdata) : NULL;
        if (hr) {
            req->route = hr;
            return 0;
        }
    }
    r = router_match(cfg->routes, cfg->n_routes, req->method, req->raw_path, &req->match);
    if (r == -EPERM && req->method == HTTP_HEAD)
        r = router_match(cfg->routes, cfg->n_routes, HTTP_GET, req->raw_path, &req->match);
    switch (r) {
    case -ENOENT:
        return req_fail(req, 404, "NOT_FOUND", "no route for %s %s", method, req->path);
    case -EPERM:
        req_add_allow(req);
        return req_fail(req, 405, "METHOD_NOT_ALLOWED", "method %s is not allowed on %s", method,
                        req->path);
    case -ENAMETOOLONG:
        return req_fail(req, 414, "URI_TOO_LONG", "a path segment exceeds %u bytes",
                        ROUTER_MAX_PARAM - 1);
    default:
        if (r < 0)
            return req_fail(req, 400, "BAD_REQUEST", "malformed request path");
        break;
    }
    req->route = &cfg->routes[r];
    return 0;
}

/* The token of "Authorization: Bearer <token>", trimmed, into buf. Returns NULL when absent
 * or empty; an over-long token comes back as "" (never a valid key). */
static const char *bearer_token(const char *h, char *buf, size_t size)
{
    size_t n;

    if (!h || strncasecmp(h, "Bearer", 6) != 0 || (h[6] != ' ' && h[6] != '\t'))
        return NULL;
    h += 6;
    h += strspn(h, " \t");
    n = strlen(h);
    while (n > 0 && (h[n - 1] == ' ' || h[n - 1] == '\t'))
        n--;
    if (n == 0)
        return NULL;
    if (n >= size)
        n = 0;
    memcpy(buf, h, n);
    buf[n] = '\0';
    return buf;
}

static int req_auth(struct http_req *req)
{
    const struct http_config *cfg = &req->srv->cfg;
    char buf[HTTP_TOKEN_MAX];
    const char *token;
    void *principal = NULL;
    int r;

    if (req->route->flags & HTTP_F_PUBLIC)
        return 0;
    token = bearer_token(http_req_header(req, MHD_HTTP_HEADER_AUTHORIZATION), buf, sizeof(buf));
    /* No auth callback configured: fail closed. */
    r = cfg->auth ? cfg->auth(token, cfg->userdata, &principal) : -EACCES;
    if (r == -EACCES || r == -EPERM) {
        http_req_add_header(req, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
        if (!token)
            return req_fail(req, 401, "UNAUTHORIZED",
                            "missing API key: send Authorization: Bearer <key>");
        return req_fail(req, 401, "UNAUTHORIZED", "invalid or revoked API key");
    }
    if (r < 0)
        return req_fail(req, 500, "INTERNAL_ERROR", "authentication failed: %s", strerror(-r));
    req->principal = principal;
    return 0;
}

static int req_setup_body(struct http_req *req)
{
    const struct http_config *cfg = &req->srv->cfg;
    unsigned flags = req->route->flags;
    const char *cl, *ct;

    if (flags & HTTP_F_MULTIPART)
        req->mode = HTTP_BODY_MULTIPART;
    else if (flags & HTTP_F_STREAM_BODY)
        req->mode = HTTP_BODY_STREAM;
    else
        req->mode = HTTP_BODY_BUFFER;
    req->cap = req->mode == HTTP_BODY_BUFFER ? cfg->max_body : cfg->max_upload;

    cl = http_req_header(req, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl) {
        uint64_t v;

        if (parse_u64(cl, &v) < 0)
            return req_fail(req, 400, "BAD_REQUEST", "invalid Content-Length");
        if (v > req->cap)
            return req_fail(req, 413, "PAYLOAD_TOO_LARGE",
                            "request body of %llu bytes exceeds the limit of %llu bytes",
                            (unsigned long long)v, (unsigned long long)req->cap);
    }
    if (req->mode == HTTP_BODY_BUFFER)
        buf_init(&req->body, cfg->max_body);
    if (req->mode != HTTP_BODY_MULTIPART)
        return 0;

    ct = http_req_header(req, MHD_HTTP_HEADER_CONTENT_TYPE);
    if (!ct || strncasecmp(ct, MHD_HTTP_POST_ENCODING_MULTIPART_FORMDATA,
                           strlen(MHD_HTTP_POST_ENCODING_MULTIPART_FORMDATA)) != 0)
        return req_fail(req, 400, "BAD_REQUEST", "expected a multipart/form-data body");
    return 0;
}

static int req_prepare(struct http_req *req)
{
    int r;

    if (!req->route->prepare)
        return 0;
    r = req->route->prepare(req);
    if (req->replied)
        return REPLIED;
    if (r < 0)
        return req_fail(req, 500, "INTERNAL_ERROR", "could not prepare the request");
    return 0;
}

/* Hand the parked reply to MHD. */
static enum MHD_Result req_queue(struct http_req *req)
{
    struct MHD_Response *resp = TAKE_PTR(req->resp);
    enum MHD_Result r;

    if (!resp)
        return MHD_NO;
    req->phase = HTTP_PHASE_QUEUED;
    r = MHD_queue_response(req->conn, req->status, resp);
    MHD_destroy_response(resp);
    if (r == MHD_NO)
        log_debug("http: MHD refused the %u reply to %s", req->status, req->raw_path);
    return r;
}

/* ---- multipart --------------------------------------------------------------------------- */

static enum MHD_Result on_post_data(void *cls, enum MHD_ValueKind kind, const char *key,
                                    const char *filename, const char *content_type,
                                    const char *transfer_encoding, const char *data, uint64_t off,
                                    size_t size)
{
    struct http_req *req = cls;
    int r = 0;

    if (req->route->part)
        r = req->route->part(req, key ? key : "", filename, content_type, data, off, size);
    if (r < 0 || req->replied) {
        req->part_stopped = true;
        return MHD_NO;
    }
    return MHD_YES;
}

/* http_form_feed_fn: one piece from form-scan.c into the post processor. */
static int pp_feed(void *userdata, const char *p, size_t n)
{
    struct http_req *req = userdata;

    return MHD_post_process(req->pp, p, n) == MHD_YES ? 0 : -EBADMSG;
}

/* Does the request announce a body? (MHD has parsed these headers already.) */
static bool req_has_body(const struct http_req *req)
{
    const char *cl = http_req_header(req, MHD_HTTP_HEADER_CONTENT_LENGTH);

    if (http_req_header(req, MHD_HTTP_HEADER_TRANSFER_ENCODING))
        return true;
    return cl && strcmp(cl, "0") != 0;
}

/* First call: headers are in, body not yet read. */
static enum MHD_Result req_begin(struct http_req *req, const char *method)
{
    int r;

    req->phase = HTTP_PHASE_BODY;
    req->method = http_method_from_string(method);
    req_set_peer(req);

    r = req_route(req, method);
    if (r == 0)
        r = req_auth(req);
    if (r == 0)
        r = req_setup_body(req);
    if (r == 0)
        r = req_prepare(req);
    if (r == 0 && req->mode == HTTP_BODY_MULTIPART) {
        r = http_form_scan_init(&req->scan, http_req_header(req, MHD_HTTP_HEADER_CONTENT_TYPE));
        if (r == 0) {
            req->pp = MHD_create_post_processor(req->conn, HTTP_PP_BUFFER, on_post_data, req);
            r = req->pp ? 0 : -EINVAL;
        }
        if (r == -EINVAL)
            r = req_fail(req, 400, "BAD_REQUEST",
                         "malformed multipart/form-data Content-Type (missing boundary?)");
    }
    if (r == 0)
        return MHD_YES;
    if (!req->replied)
        return MHD_NO; /* out of memory: drop the connection */
    /* MHD closes the connection after any reply queued on the first call. Without a body
     * there is nothing to refuse, so keep the connection alive: reply at the final call. */
    if (!req_has_body(req)) {
        req->phase = HTTP_PHASE_DISCARD;
        return MHD_YES;
    }
    return req_queue(req);
}

/* Stop feeding the consumer; swallow the rest of the body and reply at the end. */
static enum MHD_Result req_discard(struct http_req *req, size_t n)
{
    if (req->phase != HTTP_PHASE_DISCARD) {
        req->phase = HTTP_PHASE_DISCARD;
        req->discard_budget = HTTP_DISCARD_MAX;
        if (req->received < req->cap && req->cap - req->received > HTTP_DISCARD_MAX)
            req->discard_budget = req->cap - req->received;
    }
    req->discarded += n;
    if (req->discarded > req->discard_budget) {
        log_debug("http: closing connection after discarding %llu body bytes of %s",
                  (unsigned long long)req->discarded, req->raw_path);
        return MHD_NO;
    }
    return MHD_YES;
}

static enum MHD_Result req_feed(struct http_req *req, const char *data, size_t n)
{
    int r;

    if (req->phase == HTTP_PHASE_DISCARD)
        return req_discard(req, n);
    if (n > req->cap - req->received) {
        http_reply_error(req, 413, "PAYLOAD_TOO_LARGE", "request body exceeds %llu bytes",
                         (unsigned long long)req->cap);
        req->received = req->cap;
        return req_discard(req, n);
    }
    req->received += n;

    switch (req->mode) {
    case HTTP_BODY_BUFFER:
        r = buf_append(&req->body, data, n);
        if (r < 0) {
            http_reply_error(req, 500, "INTERNAL_ERROR", "could not buffer the request body");
            return req_discard(req, 0);
        }
        return MHD_YES;
    case HTTP_BODY_STREAM:
        r = req->route->body_chunk ? req->route->body_chunk(req, data, n) : 0;
        if (r < 0 || req->replied)
            return req_discard(req, 0); /* the handler still runs unless it replied */
        return MHD_YES;
    case HTTP_BODY_MULTIPART:
        r = http_form_scan_push(&req->scan, data, n, pp_feed, req);
        if (r == 0)
            return MHD_YES;
        if (!req->part_stopped)
            http_reply_error(req, 400, "BAD_REQUEST", "malformed multipart/form-data body");
        return req_discard(req, 0);
    default:
        return MHD_NO;
    }
}

/* Final call: the body is complete (or swallowed). */
static enum MHD_Result req_finish(struct http_req *req)
{
    if (req->mode == HTTP_BODY_MULTIPART && req->phase == HTTP_PHASE_BODY && req->pp) {
        int r = http_form_scan_flush(&req->scan, pp_feed, req);
        enum MHD_Result ok = MHD_destroy_post_processor(TAKE_PTR(req->pp));

        /* A stopped consumer is not a client error: its handler runs and tells. MHD takes a
         * body without any delimiter for an empty form; we do not. */
        if (!req->part_stopped && (r < 0 || ok == MHD_NO))
            http_reply_error(req, 400, "BAD_REQUEST", "%s multipart/form-data body",
                             r < 0 ? "malformed" : "truncated");
        else if (!req->part_stopped && req->scan.state == HTTP_FORM_OUTSIDE)
            http_reply_error(req, 400, "BAD_REQUEST",
                             "no multipart boundary in the multipart/form-data body");
    }
    if (!req->replied && req->route->handler) {
        int r = req->route->handler(req);

        if (!req->replied)
            log_debug("http: handler for %s %s returned %d without replying",
                      http_method_to_string(req->method), req->path, r);
    }
    if (!req->replied)
        http_reply_error(req, 500, "INTERNAL_ERROR", "internal error");
    return req_queue(req);
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *conn, const char *url,
                                 const char *method, const char *version, const char *upload_data,
                                 size_t *upload_data_size, void **con_cls)
{
    struct http_req *req = *con_cls;
    size_t n = *upload_data_size;

    if (!req || !req->raw_path)
        return MHD_NO;
    switch (req->phase) {
    case HTTP_PHASE_NEW:
        return req_begin(req, method);
    case HTTP_PHASE_BODY:
    case HTTP_PHASE_DISCARD:
        if (n == 0)
            return req_finish(req);
        *upload_data_size = 0; /* always consume all: MHD would stall otherwise */
        return req_feed(req, upload_data, n);
    case HTTP_PHASE_QUEUED:
    default:
        *upload_data_size = 0;
        return MHD_YES;
    }
}

/* ---- server ----------------------------------------------------------------------------- */

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[512];
    size_t n;

    (void)vsnprintf(msg, sizeof(msg), fmt, ap);
    n = strlen(msg);
    while (n > 0 && msg[n - 1] == '\n')
        msg[--n] = '\0';
    log_debug("http: mhd: %s", msg);
}

static int tcp_listen(const char *host, uint16_t port, int *ret_fd)
{
    struct addrinfo hints = {
        .ai_family = AF_UNSPEC,
        .ai_socktype = SOCK_STREAM,
        .ai_flags = AI_PASSIVE | AI_NUMERICSERV,
    };
    struct addrinfo *res = NULL;
    char service[8];
    int r = -EADDRNOTAVAIL;

    (void)snprintf(service, sizeof(service), "%u", (unsigned)port);
    if (getaddrinfo(host, service, &hints, &res) != 0)
        return -EADDRNOTAVAIL;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        _cleanup_close_ int fd = -EBADF;
        int one = 1;

        fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            r = -errno;
            continue;
        }
        (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, SOMAXCONN) < 0) {
            r = -errno;
            continue;
        }
        *ret_fd = TAKE_FD(fd);
        r = 0;
        break;
    }
    freeaddrinfo(res);
    return r;
}

/* Bind a unix socket at path, mode 0660. A stale socket file is replaced; a live one (a
 * daemon answers) or a non-socket file is left alone. */
static int unix_listen(const char *path, int *ret_fd)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    _cleanup_close_ int fd = -EBADF;
    struct stat st;

    if (strlen(path) >= sizeof(sa.sun_path))
        return -ENAMETOOLONG;
    memcpy(sa.sun_path, path, strlen(path) + 1);

    if (lstat(path, &st) == 0) {
        _cleanup_close_ int probe = -EBADF;

        if (!S_ISSOCK(st.st_mode))
            return -EEXIST;
        probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (probe < 0)
            return -errno;
        if (connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0)
            return -EADDRINUSE;
        if (unlink(path) < 0 && errno != ENOENT)
            return -errno;
    }
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        return -errno;
    /* Before listen(): nobody can connect while the mode is still umask-derived. */
    if (chmod(path, 0660) < 0 || listen(fd, SOMAXCONN) < 0) {
        int r = -errno;

        unlink(path);
        return r;
    }
    *ret_fd = TAKE_FD(fd);
    return 0;
}

/* Start one MHD daemon on fd; MHD owns fd from here on, even on failure. */
static int listener_start(struct http_server *srv, struct http_listener *l, int fd, bool is_unix)
{
    const struct http_config *cfg = &srv->cfg;
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                     MHD_USE_POLL | MHD_ALLOW_UPGRADE | MHD_USE_ERROR_LOG;

    /* fd < 0: no listening socket, connections come from the front (MHD_add_connection) */
    struct MHD_OptionItem listen_opt[] = {
        {fd >= 0 ? MHD_OPTION_LISTEN_SOCKET : MHD_OPTION_END, fd, NULL}, {MHD_OPTION_END, 0, NULL}};
    if (fd < 0)
        flags |= MHD_USE_NO_LISTEN_SOCKET | MHD_USE_ITC;

    l->srv = srv;
    l->is_unix = is_unix;
    errno = 0;
    /* clang-format off */
    l->mhd = MHD_start_daemon(flags, 0, NULL, NULL, on_access, l,
        MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, l, /* first, to catch option errors too */
        MHD_OPTION_ARRAY, listen_opt,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)cfg->max_connections,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)cfg->conn_timeout_s,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HTTP_CONN_MEMORY_LIMIT,
        MHD_OPTION_THREAD_STACK_SIZE, (size_t)HTTP_THREAD_STACK,
        MHD_OPTION_URI_LOG_CALLBACK, on_uri, l,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, l,
        MHD_OPTION_SIGPIPE_HANDLED_BY_APP, (int)srv->sigpipe_ignored,
        MHD_OPTION_END);
    /* clang-format on */
    if (!l->mhd)
        return errno > 0 ? -errno : -EIO;
    return 0;
}

static uint16_t listener_port(const struct http_listener *l)
{
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(l->mhd, MHD_DAEMON_INFO_BIND_PORT);
    struct sockaddr_storage ss = {0};
    socklen_t len = sizeof(ss);

    if (di && di->port)
        return di->port;
    /* fallback: ask the listening socket */
    di = MHD_get_daemon_info(l->mhd, MHD_DAEMON_INFO_LISTEN_FD);
    if (!di || getsockname(di->listen_fd, (struct sockaddr *)&ss, &len) < 0)
        return 0;
    if (ss.ss_family == AF_INET)
        return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return 0;
}

static bool sigpipe_is_ignored(void)
{
    struct sigaction sa;

    return sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_IGN;
}

DEFINE_CLEANUP_FUNC(struct http_server *, http_server_stop);

int http_server_start(const struct http_config *cfg, struct http_server **ret)
{
    _cleanup_(http_server_stopp) struct http_server *srv = NULL;
    int fd = -EBADF, r;

    if (!cfg || !ret || (!cfg->listen_host && !cfg->unix_path) || (cfg->n_routes && !cfg->routes))
        return -EINVAL;
    srv = calloc(1, sizeof(*srv));
    if (!srv)
        return -ENOMEM;
    srv->cfg = *cfg;
    if (!srv->cfg.max_body)
        srv->cfg.max_body = COVE_MAX_JSON_BODY;
    if (!srv->cfg.max_upload)
        srv->cfg.max_upload = COVE_MAX_UPLOAD_BYTES;
    if (!srv->cfg.conn_timeout_s)
        srv->cfg.conn_timeout_s = COVE_CONN_TIMEOUT_S;
    if (!srv->cfg.max_connections)
        srv->cfg.max_connections = COVE_MAX_CONNECTIONS;
    if (pthread_mutex_init(&srv->lock, NULL) != 0)
        return -ENOMEM;
    if (pthread_cond_init(&srv->cond, NULL) != 0) {
        pthread_mutex_destroy(&srv->lock);
        return -ENOMEM;
    }
    srv->lock_init = true;
    srv->sigpipe_ignored = sigpipe_is_ignored();

    if (cfg->listen_host) {
        srv->listen_host = strdup(cfg->listen_host);
        if (!srv->listen_host)
            return -ENOMEM;
        srv->cfg.listen_host = srv->listen_host;
        r = tcp_listen(srv->listen_host, cfg->listen_port, &fd);
        if (r < 0)
            return r;
        if (cfg->divert) {
            struct sockaddr_storage ss = {0};
            socklen_t len = sizeof(ss);
            r = listener_start(srv, &srv->tcp, -1, false);
            if (r < 0) {
                close(fd);
                return r;
            }
            if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0)
                srv->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                           : ((struct sockaddr_in *)&ss)->sin_port);
            r = http_front_start(srv, fd, &srv->front); /* owns fd from here on */
            if (r < 0)
                return r;
        } else {
            r = listener_start(srv, &srv->tcp, fd, false);
            if (r < 0)
                return r;
            srv->port = listener_port(&srv->tcp);
        }
    }
    if (cfg->unix_path) {
        srv->unix_path = strdup(cfg->unix_path);
        if (!srv->unix_path)
            return -ENOMEM;
        srv->cfg.unix_path = srv->unix_path;
        r = unix_listen(srv->unix_path, &fd);
        if (r < 0)
            return r;
        srv->unix_created = true;
        r = listener_start(srv, &srv->unx, fd, true);
        if (r < 0)
            return r;
    }
    *ret = TAKE_PTR(srv);
    return 0;
}

uint16_t http_server_port(const struct http_server *srv)
{
    return srv ? srv->port : 0;
}

/* Stop accepting, end running WebSocket sessions (their fn must return once its socket is
 * shut down), then let MHD join every connection thread. A handler blocked in a long call
 * delays this until it returns. Accepts a half-built server. */
void http_server_stop(struct http_server *srv)
{
    struct http_listener *ls[2];

    if (!srv)
        return;
    ls[0] = &srv->tcp;
    ls[1] = &srv->unx;
    http_front_stop(srv->front); /* no new connections for MHD from here on */
    srv->front = NULL;
    for (size_t i = 0; i < ELEMENTSOF(ls); i++) {
        if (ls[i]->mhd) {
            MHD_socket fd = MHD_quiesce_daemon(ls[i]->mhd);

            if (fd != MHD_INVALID_SOCKET)
                close(fd);
        }
    }
    if (srv->unix_created)
        unlink(srv->unix_path);

    if (srv->lock_init) {
        pthread_mutex_lock(&srv->lock);
        srv->stopping = true;
        for (struct http_upgrade *u = srv->upgrades; u; u = u->next)
            shutdown(u->fd, SHUT_RDWR);
        while (srv->n_upgraded > 0)
            pthread_cond_wait(&srv->cond, &srv->lock);
        pthread_mutex_unlock(&srv->lock);
    }
    for (size_t i = 0; i < ELEMENTSOF(ls); i++)
        if (ls[i]->mhd)
            MHD_stop_daemon(ls[i]->mhd);
    if (srv->lock_init) {
        pthread_cond_destroy(&srv->cond);
        pthread_mutex_destroy(&srv->lock);
    }
    free(srv->listen_host);
    free(srv->unix_path);
    free(srv);
}

const char *http_req_target(const struct http_req *req)
{
    return req->raw_target ? req->raw_target : req->raw_path;
}

struct header_iter {
    int (*cb)(const char *name, const char *value, void *ud);
    void *ud;
};

static enum MHD_Result header_iter_cb(void *cls, enum MHD_ValueKind kind, const char *key,
                                      const char *value)
{
    struct header_iter *it = cls;
    return it->cb(key, value ? value : "", it->ud) < 0 ? MHD_NO : MHD_YES;
}

void http_req_foreach_header(const struct http_req *req,
                             int (*cb)(const char *name, const char *value, void *ud), void *ud)
{
    struct header_iter it = {cb, ud};
    MHD_get_connection_values(req->conn, MHD_HEADER_KIND, header_iter_cb, &it);
}
