/* HTTP server glue over libmicrohttpd. Knows nothing of sandboxes.
 *
 * One static route table drives dispatch. Patterns are literal segments plus "{name}" (one
 * segment, percent-decoded) and a trailing "{*name}" (the rest of the path, may be empty).
 * Empty segments ("//") are ignored so clients that join URLs carelessly still match.
 *
 * Threading: thread-per-connection. A handler may block (an exec waits for its command); that
 * only holds its own connection. Every handler must reply exactly once through one of the
 * http_reply_*() calls; if it returns without replying the server answers 500.
 *
 * Bodies: by default the body is buffered (cap: cfg.max_body) and available through
 * http_req_body() when the handler runs. Routes with HTTP_F_STREAM_BODY get each chunk through
 * route->body_chunk() as it arrives (cap: cfg.max_upload); routes with HTTP_F_MULTIPART get
 * each multipart/form-data part piece through route->part(). Chunked transfer encoding works
 * for all three.
 *
 * Errors that the server itself detects (no route, wrong method, no or bad credentials, body
 * too large, bad multipart) are answered as JSON {statusCode, code, message}. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct http_req;
struct http_server;

enum http_method {
    HTTP_GET,
    HTTP_HEAD,
    HTTP_POST,
    HTTP_PUT,
    HTTP_DELETE,
    HTTP_PATCH,
    HTTP_OPTIONS,
    _HTTP_METHOD_MAX,
    _HTTP_METHOD_INVALID = -22,
};

#define HTTP_F_PUBLIC      (1u << 0) /* no Authorization needed */
#define HTTP_F_STREAM_BODY (1u << 1) /* body goes to route->body_chunk, not buffered */
#define HTTP_F_MULTIPART   (1u << 2) /* multipart/form-data parts go to route->part */

/* Handler: runs once the whole body has arrived (or been streamed). Must reply. Returns 0, or
 * a negative errno only if it could not even reply (the server then answers 500). */
typedef int (*http_handler_fn)(struct http_req *req);
/* Streamed body chunk. Return 0 to continue, <0 to stop reading; the handler still runs and
 * can inspect what happened through its own context (http_req_ctx). */
typedef int (*http_body_fn)(struct http_req *req, const char *data, size_t len);
/* Multipart piece: field name, filename (NULL for plain fields), content type (may be NULL),
 * data at offset off of that part. Called with size 0 and off 0 at the start of each part
 * only if the part is empty. Same return convention as http_body_fn. */
typedef int (*http_part_fn)(struct http_req *req, const char *field, const char *filename,
                            const char *content_type, const char *data, uint64_t off, size_t size);
/* Runs before the body is read, after auth: may reject early (reply and return <0), e.g.
 * to refuse an upload into a missing sandbox without reading 4 GiB. Optional. */
typedef int (*http_prepare_fn)(struct http_req *req);

struct http_route {
    enum http_method method;
    const char *pattern;
    http_handler_fn handler;
    unsigned flags;
    http_prepare_fn prepare;
    http_body_fn body_chunk;
    http_part_fn part;
};

/* Authenticate a bearer token (NULL when absent). Return 0 and set *ret_principal (an opaque
 * pointer the api layer owns; freed with cfg.principal_free) or -EACCES. */
typedef int (*http_auth_fn)(const char *token, void *userdata, void **ret_principal);

struct http_config {
    const char *listen_host; /* e.g. "127.0.0.1"; NULL = no TCP listener */
    uint16_t listen_port;    /* 0 = pick a free port (see http_server_port) */
    const char *unix_path;   /* NULL = no unix socket; created mode 0660, replaced if stale */
    const struct http_route *routes;
    size_t n_routes;
    http_auth_fn auth;
    void (*principal_free)(void *principal);
    void *userdata;          /* available to handlers via http_req_userdata */
    size_t max_body;         /* buffered bodies */
    uint64_t max_upload;     /* streamed / multipart bodies */
    unsigned conn_timeout_s; /* idle connection timeout */
    unsigned max_connections;
    /* Optional: a route chosen by the Host header alone (preview hosts), consulted before
     * the path routes. Return NULL to fall through to path routing. */
    const struct http_route *(*host_route)(const char *host, void *userdata);
    /* Optional: coved accepts on the TCP socket itself and, once a connection's first Host
     * line is in, offers it here (fd non-blocking, nothing consumed). Return 0 if taken (the
     * callee owns fd), <0 to leave it to the routes above. The Unix socket is not offered. */
    int (*divert)(int fd, const char *host, void *userdata);
};

int http_server_start(const struct http_config *cfg, struct http_server **ret);
uint16_t http_server_port(const struct http_server *srv);
void http_server_stop(struct http_server *srv);

/* Request accessors. Strings live as long as the request. */
enum http_method http_req_method(const struct http_req *req);
const char *http_req_path(const struct http_req *req); /* decoded path, no query */
const char *http_req_param(const struct http_req *req, const char *name); /* route param */
const char *http_req_query(const struct http_req *req, const char *name); /* first value */
/* All values of a repeated query key, in order; returns the count (<= max). */
size_t http_req_query_all(const struct http_req *req, const char *name, const char **out,
                          size_t max);
const char *http_req_header(const struct http_req *req, const char *name); /* case-insensitive */
const char *http_req_body(const struct http_req *req, size_t *ret_len);    /* NUL-terminated */
/* Parse the buffered body as a JSON object. On failure replies 400 itself and returns NULL. */
json_t *http_req_json(struct http_req *req);
void *http_req_principal(const struct http_req *req);
void *http_req_userdata(const struct http_req *req);
/* Per-request handler context for streaming routes; freed with free_fn when the request ends. */
void http_req_set_ctx(struct http_req *req, void *ctx, void (*free_fn)(void *));
void *http_req_ctx(const struct http_req *req);
bool http_req_replied(const struct http_req *req);
/* The request target as sent: raw path plus query. */
const char *http_req_target(const struct http_req *req);
/* Call cb for every request header in order; cb returns <0 to stop. */
void http_req_foreach_header(const struct http_req *req,
                             int (*cb)(const char *name, const char *value, void *ud), void *ud);
/* Client address ("127.0.0.1" or "unix"). */
const char *http_req_peer(const struct http_req *req);

/* Add a response header to the reply that follows. */
int http_req_add_header(struct http_req *req, const char *name, const char *value);

int http_reply_json(struct http_req *req, unsigned status, json_t *body); /* steals body */
int http_reply_error(struct http_req *req, unsigned status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int http_reply_buf(struct http_req *req, unsigned status, const char *content_type,
                   const void *data, size_t len); /* copies */
/* Takes ownership of data (free()d after sending). */
int http_reply_take(struct http_req *req, unsigned status, const char *content_type, void *data,
                    size_t len);
/* Sends size bytes of fd from offset 0 (sendfile where possible); takes ownership of fd. */
int http_reply_fd(struct http_req *req, unsigned status, const char *content_type, int fd,
                  uint64_t size);
/* Streams a body produced by read_cb (chunked). read_cb returns bytes written into out
 * (<= max), 0 to wait and retry, -1 at end of stream, -2 on error. free_cb runs at the end. */
typedef long (*http_stream_fn)(void *ctx, uint64_t pos, char *out, size_t max);
int http_reply_stream(struct http_req *req, unsigned status, const char *content_type,
                      http_stream_fn read_cb, void *ctx, void (*free_cb)(void *));
/* Like http_reply_stream, for a body whose size is known up front: it goes out with that
 * Content-Length instead of chunked (also in the answer to HEAD, which reads no body).
 * HTTP_SIZE_UNKNOWN means chunked. */
#define HTTP_SIZE_UNKNOWN UINT64_MAX
int http_reply_stream_sized(struct http_req *req, unsigned status, const char *content_type,
                            uint64_t size, http_stream_fn read_cb, void *ctx,
                            void (*free_cb)(void *));
int http_reply_empty(struct http_req *req, unsigned status);

/* WebSocket upgrade. Replies 101 (or a JSON 400 if the request is not a valid upgrade) and,
 * once the socket is handed over, runs fn(fd, extra, extra_len, ctx) on the connection thread.
 * fn owns nothing: the server closes the socket when fn returns. subprotocol: value to echo in
 * Sec-WebSocket-Protocol, or NULL to send none. */
typedef void (*http_upgrade_fn)(int fd, const char *extra, size_t extra_len, void *ctx);
int http_reply_websocket(struct http_req *req, const char *subprotocol, http_upgrade_fn fn,
                         void *ctx, void (*free_ctx)(void *));

const char *http_method_to_string(enum http_method m);
enum http_method http_method_from_string(const char *s);
