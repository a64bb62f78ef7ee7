/* Private to src/http: the server, listener and request objects behind the opaque types of
 * http.h, and the tuning constants of the libmicrohttpd glue. Nothing outside src/http may
 * include this file.
 *
 * Ownership: a struct http_req is created by the URI log callback of MHD, lives until MHD's
 * "request completed" notification, and is only ever touched by its connection's thread.
 * struct http_server is read-only after http_server_start() except for the upgrade list,
 * which `lock` protects. */
#pragma once

#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "http/http.h"
#include "http/router.h"

/* Per-connection MHD memory pool: request line, headers (capped at COVE_MAX_HEADER_BYTES by
 * the access handler) and the read buffer must fit. */
#define HTTP_CONN_MEMORY_LIMIT (128u << 10)
#define HTTP_THREAD_STACK      (512u << 10)
/* MHD post processor buffer: the headers of one multipart part must fit in it. */
#define HTTP_PP_BUFFER (64u << 10)
/* Block size MHD asks a streamed response for (MHD allocates and zeroes it per response). A
 * stream of known size gets a block of its size, within [HTTP_STREAM_BLOCK_MIN,
 * HTTP_STREAM_BLOCK_MAX], so a small reply does not pay for 64 KiB and a large one is sent
 * in fewer, larger writes. */
#define HTTP_STREAM_BLOCK     (64u << 10)
#define HTTP_STREAM_BLOCK_MIN (4u << 10)
#define HTTP_STREAM_BLOCK_MAX (256u << 10)
/* Longest pause between two polls of a streamed response that has no data yet. */
#define HTTP_STREAM_WAIT_MAX_MS 50
/* MHD 0.9.75 cannot queue a reply while a body is being received, so after a failure we
 * swallow the rest of the body and reply at the end. At least this much is swallowed (more on
 * upload routes, up to their cap) before the connection is simply closed. */
#define HTTP_DISCARD_MAX (64ull << 20)
#define HTTP_ERR_MSG_MAX 1024
/* Longest bearer token passed to the auth callback; longer ones never authenticate. */
#define HTTP_TOKEN_MAX 512

struct http_server;

struct http_listener {
    struct http_server *srv;
    struct MHD_Daemon *mhd;
    bool is_unix;
};

/* A WebSocket upgrade: created by http_reply_websocket(), owned by the request until MHD
 * hands over the socket, then by the upgrade callback. */
struct http_upgrade {
    struct http_upgrade *prev, *next;
    struct http_server *srv;
    http_upgrade_fn fn;
    void *ctx;
    void (*free_ctx)(void *);
    int fd;
};

struct http_front;
int http_front_start(struct http_server *srv, int listen_fd, struct http_front **ret);
void http_front_stop(struct http_front *f);

struct http_server {
    struct http_config cfg; /* strings point to the copies below */
    char *listen_host;
    char *unix_path;
    bool unix_created;
    bool sigpipe_ignored;
    struct http_listener tcp;
    struct http_listener unx;
    struct http_front *front; /* our accept loop on the TCP socket, when cfg.divert is set */
    uint16_t port;

    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool lock_init;
    bool stopping;
    size_t n_upgraded;
    struct http_upgrade *upgrades; /* running upgrade callbacks */
};

struct http_header {
    struct http_header *next;
    char *name;
    char *value;
};

enum http_body_mode {
    HTTP_BODY_BUFFER,
    HTTP_BODY_STREAM,
    HTTP_BODY_MULTIPART,
};

enum http_phase {
    HTTP_PHASE_NEW,     /* URI seen, access handler not called yet */
    HTTP_PHASE_BODY,    /* headers processed, body flowing to its consumer */
    HTTP_PHASE_DISCARD, /* failed or consumer stopped: swallow the rest of the body */
    HTTP_PHASE_QUEUED,  /* response handed to MHD */
};

/* form-scan.c: splits a multipart/form-data body into pieces for MHD's post processor so
 * that it reports a zero-length piece only for empty parts. */
enum http_form_state {
    HTTP_FORM_OUTSIDE, /* preamble, before the first delimiter */
    HTTP_FORM_HEADERS, /* after a delimiter, before "\r\n\r\n" */
    HTTP_FORM_VALUE,
};

struct http_form_scan {
    char *delim; /* "\r\n--" boundary */
    size_t delim_len;
    size_t delim_pos;
    unsigned hdr_pos;
    enum http_form_state state;
    size_t value_bytes; /* saturates at threshold */
    size_t threshold;
    char *held; /* threshold bytes */
    size_t held_len;
    char *stage; /* 2 * threshold bytes */
};

typedef int (*http_form_feed_fn)(void *userdata, const char *p, size_t n);

/* Parse the boundary of a multipart/form-data Content-Type (as MHD does): -EINVAL, -ENOMEM. */
int http_form_scan_init(struct http_form_scan *s, const char *content_type);
void http_form_scan_done(struct http_form_scan *s);
/* Pass p[0..n) on through feed() in pieces, holding back at most threshold - 1 bytes.
 * Returns 0 or the first negative value feed() returned. */
int http_form_scan_push(struct http_form_scan *s, const char *p, size_t n, http_form_feed_fn feed,
                        void *userdata);
/* End of body: pass on what is held. */
int http_form_scan_flush(struct http_form_scan *s, http_form_feed_fn feed, void *userdata);

struct http_req {
    struct http_server *srv;
    struct http_listener *lst;
    struct MHD_Connection *conn;
    enum http_phase phase;
    enum http_method method;
    const struct http_route *route;
    char *raw_path;   /* as sent, without the query */
    char *raw_target; /* as sent, with the query */
    char *path;       /* percent-decoded */
    bool query_nul;   /* the raw query contains "%00" */
    struct router_match match;
    char peer[INET6_ADDRSTRLEN];
    void *principal;

    enum http_body_mode mode;
    uint64_t cap;
    uint64_t received;
    uint64_t discarded;
    uint64_t discard_budget;
    struct buf body;
    struct MHD_PostProcessor *pp;
    struct http_form_scan scan;
    bool part_stopped;

    void *ctx;
    void (*ctx_free)(void *);

    struct http_header *headers, *headers_tail;
    bool replied;
    unsigned status;
    struct MHD_Response *resp;
    struct http_upgrade *upgrade;
};
