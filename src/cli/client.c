/* libcurl HTTP client for the coved API (see client.h for the contract).
 *
 * Every request starts with curl_easy_reset() on the one handle the client owns: that drops
 * the previous request's options but keeps the connection cache, so a command that makes
 * several calls (cove run: create, upload, exec, delete) rides one keep-alive connection.
 *
 * Bodies: JSON answers are buffered (capped at CLI_MAX_RESPONSE_BYTES); downloads are written
 * to the caller's fd as they arrive, but only once the status is known to be 2xx, so an
 * error body never ends up in the user's file. Uploads are read from a FILE * on demand. */
#include "cli/client.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "base/buf.h"

/* A daemon that takes longer than this to accept a connection is treated as unreachable.
 * There is no overall timeout: an exec may legitimately run for a day. */
#define CLI_CONNECT_TIMEOUT_S 10L

/* Loopback is never reached through a proxy, whatever http_proxy says. */
#define CLI_NOPROXY_LOCAL "localhost,127.0.0.1,::1"

volatile sig_atomic_t cli_interrupted;

struct cli_client {
    CURL *curl;
    char *url;       /* as configured, for messages */
    char *base;      /* URL prefix requests are appended to, no trailing '/' */
    char *unix_path; /* socket of a unix: URL, else NULL */
    char *auth;      /* "Authorization: Bearer ..." or NULL */
    char *noproxy;
    bool abortable;

    /* The last failure. */
    enum cli_error_kind kind;
    long status;
    char code[COVE_ERR_KIND_MAX];
    char msg[COVE_ERR_MSG_MAX];
    char curl_err[CURL_ERROR_SIZE];
};

/* State of one request, shared with the curl callbacks. */
struct transfer {
    struct cli_client *c;
    struct curl_slist *headers;
    struct buf body; /* buffered answer (or error body while streaming) */
    bool body_too_large;
    int sink_fd;           /* stream 2xx bodies here if >= 0 */
    cli_stream_fn sink_fn; /* or hand them to this */
    void *sink_ud;
    int sink_errno;
    int64_t sink_bytes;
    FILE *src; /* upload source, or NULL */
    int src_errno;
};

static void on_signal(int sig)
{
    cli_interrupted = 1;
}

int cli_install_interrupt_handler(void)
{
    struct sigaction sa = {.sa_handler = on_signal};

    /* No SA_RESTART: a blocking poll() in curl should wake up and see the flag. */
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGINT, &sa, NULL) < 0 || sigaction(SIGTERM, &sa, NULL) < 0)
        return -errno;
    return 0;
}

/* Strip leading and trailing whitespace in place. */
static char *strip(char *s)
{
    size_t n;

    while (*s == ' ' || *s == '\t')
        s++;
    n = strlen(s);
    while (n > 0 && strchr(" \t\r\n", s[n - 1]))
        s[--n] = '\0';
    return s;
}

static int credentials_path(char **ret)
{
    const char *xdg = getenv("XDG_CONFIG_HOME");
    const char *home = getenv("HOME");
    char *p;
    int n;

    /* The XDG spec says relative values are to be ignored. */
    if (xdg && xdg[0] == '/')
        n = asprintf(&p, "%s/cove/credentials", xdg);
    else if (home && home[0] == '/')
        n = asprintf(&p, "%s/.config/cove/credentials", home);
    else
        return -ENOENT;
    if (n < 0)
        return -ENOMEM;
    *ret = p;
    return 0;
}

/* Read url= and key= from the credentials file. A missing file is not an error: the
 * outputs are then left NULL. */
static int read_credentials(char **ret_url, char **ret_key, struct cove_err *err)
{
    _cleanup_free_ char *path = NULL, *line = NULL, *url = NULL, *key = NULL;
    _cleanup_fclose_ FILE *f = NULL;
    size_t cap = 0;
    int r;

    r = credentials_path(&path);
    if (r == -ENOENT)
        return 0;
    if (r < 0)
        return cove_err_errno(err, -r, "credentials");
    f = fopen(path, "re");
    if (!f) {
        if (errno == ENOENT)
            return 0;
        return cove_err_errno(err, errno, "open %s", path);
    }
    while (getline(&line, &cap, f) >= 0) {
        char *s = strip(line), *eq;
        char **dst = NULL;

        if (s[0] == '\0' || s[0] == '#')
            continue;
        eq = strchr(s, '=');
        if (!eq)
            continue;
        *eq = '\0';
        if (!strcmp(strip(s), "url"))
            dst = &url;
        else if (!strcmp(strip(s), "key"))
            dst = &key;
        if (!dst)
            continue;
        free(*dst);
        *dst = strdup(strip(eq + 1));
        if (!*dst)
            return cove_err_set(err, ENOMEM, "out of memory");
    }
    if (ferror(f))
        return cove_err_errno(err, EIO, "read %s", path);
    *ret_url = TAKE_PTR(url);
    *ret_key = TAKE_PTR(key);
    return 0;
}

/* Fill c->url, c->base and c->unix_path from a configured URL. */
static int set_url(struct cli_client *c, const char *url, struct cove_err *err)
{
    size_t n;

    c->url = strdup(url);
    if (!c->url)
        return cove_err_set(err, ENOMEM, "out of memory");
    if (!strncmp(url, "unix:", 5)) {
        const char *path = url + 5;

        /* Accept unix:///run/x.sock as well as unix:/run/x.sock. */
        if (!strncmp(path, "//", 2) && path[2] == '/')
            path += 2;
        if (path[0] == '\0')
            return cove_err_set(err, EINVAL, "no socket path in URL '%s'", url);
        c->unix_path = strdup(path);
        /* The host name is not used for a Unix socket but still goes in the Host header. */
        c->base = strdup("http://localhost");
    } else {
        if (url[0] == '\0')
            return cove_err_set(err, EINVAL, "empty API URL");
        c->base = strdup(url);
    }
    if (!c->base || (!strncmp(url, "unix:", 5) && !c->unix_path))
        return cove_err_set(err, ENOMEM, "out of memory");
    n = strlen(c->base);
    while (n > 0 && c->base[n - 1] == '/')
        c->base[--n] = '\0';
    return 0;
}

static int set_key(struct cli_client *c, const char *key, struct cove_err *err)
{
    if (!key || key[0] == '\0')
        return 0;
    /* The key goes into a header line: refuse anything that could split it. */
    if (strpbrk(key, "\r\n"))
        return cove_err_set(err, EINVAL, "API key contains a line break");
    if (asprintf(&c->auth, "Authorization: Bearer %s", key) < 0) {
        c->auth = NULL;
        return cove_err_set(err, ENOMEM, "out of memory");
    }
    return 0;
}

/* Honour the user's no_proxy entries but always add loopback. */
static int set_noproxy(struct cli_client *c)
{
    const char *env = getenv("NO_PROXY");
    int n;

    if (!env || !*env)
        env = getenv("no_proxy");
    if (env && !strcmp(env, "*"))
        n = asprintf(&c->noproxy, "*");
    else if (env && *env)
        n = asprintf(&c->noproxy, "%s,%s", env, CLI_NOPROXY_LOCAL);
    else
        n = asprintf(&c->noproxy, "%s", CLI_NOPROXY_LOCAL);
    if (n < 0) {
        c->noproxy = NULL;
        return -ENOMEM;
    }
    return 0;
}

int cli_client_new(const char *url, const char *key, struct cli_client **ret, struct cove_err *err)
{
    _cleanup_(cli_client_freep) struct cli_client *c = NULL;
    _cleanup_free_ char *file_url = NULL, *file_key = NULL;
    int r;

    if (!url)
        url = getenv("COVE_API_URL");
    if (!key)
        key = getenv("COVE_API_KEY");
    if (url && !*url)
        url = NULL;
    if (key && !*key)
        key = NULL;
    if (!url || !key) {
        r = read_credentials(&file_url, &file_key, err);
        if (r < 0)
            return r;
    }
    if (!url)
        url = file_url ? file_url : CLI_DEFAULT_URL;
    if (!key)
        key = file_key;

    c = calloc(1, sizeof(*c));
    if (!c)
        return cove_err_set(err, ENOMEM, "out of memory");
    r = set_url(c, url, err);
    if (r < 0)
        return r;
    r = set_key(c, key, err);
    if (r < 0)
        return r;
    if (set_noproxy(c) < 0)
        return cove_err_set(err, ENOMEM, "out of memory");
    c->curl = curl_easy_init();
    if (!c->curl)
        return cove_err_set(err, ENOMEM, "cannot initialise libcurl");
    *ret = TAKE_PTR(c);
    return 0;
}

struct cli_client *cli_client_free(struct cli_client *c)
{
    if (!c)
        return NULL;
    if (c->curl)
        curl_easy_cleanup(c->curl);
    free(c->url);
    free(c->base);
    free(c->unix_path);
    free(c->auth);
    free(c->noproxy);
    free(c);
    return NULL;
}

const char *cli_client_url(const struct cli_client *c)
{
    return c->url;
}

void cli_client_set_abortable(struct cli_client *c, bool abortable)
{
    c->abortable = abortable;
}

enum cli_error_kind cli_client_error_kind(const struct cli_client *c)
{
    return c->kind;
}

const char *cli_client_error_code(const struct cli_client *c)
{
    return c->code;
}

static void clear_error(struct cli_client *c)
{
    c->kind = CLI_ERR_NONE;
    c->status = 0;
    c->code[0] = '\0';
    c->msg[0] = '\0';
    c->curl_err[0] = '\0';
}

static int set_error(struct cli_client *c, enum cli_error_kind kind, int errnum, const char *fmt,
                     va_list ap) __attribute__((format(printf, 4, 0)));

static int set_error(struct cli_client *c, enum cli_error_kind kind, int errnum, const char *fmt,
                     va_list ap)
{
    c->kind = kind;
    vsnprintf(c->msg, sizeof(c->msg), fmt, ap);
    return errnum > 0 ? -errnum : (errnum < 0 ? errnum : -EIO);
}

static int fail(struct cli_client *c, enum cli_error_kind kind, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(struct cli_client *c, enum cli_error_kind kind, int errnum, const char *fmt, ...)
{
    va_list ap;
    int r;

    va_start(ap, fmt);
    r = set_error(c, kind, errnum, fmt, ap);
    va_end(ap);
    return r;
}

int cli_client_fail(struct cli_client *c, int errnum, const char *fmt, ...)
{
    va_list ap;
    int r;

    va_start(ap, fmt);
    r = set_error(c, CLI_ERR_LOCAL, errnum, fmt, ap);
    va_end(ap);
    return r;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t k = write(fd, p, n);

        if (k < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

static size_t on_write(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct transfer *t = userdata;
    size_t n = size * nmemb;
    long status = 0;

    curl_easy_getinfo(t->c->curl, CURLINFO_RESPONSE_CODE, &status);
    if (t->sink_fn && status >= 200 && status < 300) {
        int r = t->sink_fn(ptr, n, t->sink_ud);

        if (r < 0) {
            t->sink_errno = -r;
            return 0;
        }
        return n;
    }
    if (t->sink_fd >= 0 && status >= 200 && status < 300) {
        int r = write_all(t->sink_fd, ptr, n);

        if (r < 0) {
            t->sink_errno = -r;
            return 0; /* anything but n makes curl fail with CURLE_WRITE_ERROR */
        }
        t->sink_bytes += (int64_t)n;
        return n;
    }
    if (buf_append(&t->body, ptr, n) < 0) {
        t->body_too_large = true;
        return 0;
    }
    return n;
}

static size_t on_read(char *buffer, size_t size, size_t nitems, void *userdata)
{
    struct transfer *t = userdata;
    size_t n = fread(buffer, 1, size * nitems, t->src);

    if (n == 0 && ferror(t->src)) {
        t->src_errno = errno ? errno : EIO;
        return CURL_READFUNC_ABORT;
    }
    return n;
}

static int on_progress(void *userdata, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    struct cli_client *c = userdata;

    return c->abortable && cli_interrupted ? 1 : 0;
}

static void transfer_init(struct transfer *t, struct cli_client *c)
{
    *t = (struct transfer){.c = c, .sink_fd = -EBADF};
    buf_init(&t->body, CLI_MAX_RESPONSE_BYTES);
}

static void transfer_done(struct transfer *t)
{
    curl_slist_free_all(t->headers);
    t->headers = NULL;
    buf_free(&t->body);
}

static int add_header(struct transfer *t, const char *h)
{
    struct curl_slist *l = curl_slist_append(t->headers, h);

    if (!l)
        return -ENOMEM;
    t->headers = l;
    return 0;
}

/* Reset the handle and set what every request needs. The caller then sets the method and
 * body options and calls perform(). */
static int begin(struct cli_client *c, struct transfer *t, const char *path)
{
    _cleanup_free_ char *url = NULL;
    CURL *h = c->curl;

    clear_error(c);
    transfer_init(t, c);
    if (asprintf(&url, "%s%s", c->base, path) < 0) {
        url = NULL;
        return fail(c, CLI_ERR_LOCAL, ENOMEM, "out of memory");
    }
    if (add_header(t, "Accept: application/json") < 0 || (c->auth && add_header(t, c->auth) < 0))
        return fail(c, CLI_ERR_LOCAL, ENOMEM, "out of memory");

    curl_easy_reset(h);
    /* curl copies string options, so url may be freed on return. */
    curl_easy_setopt(h, CURLOPT_URL, url);
    if (c->unix_path)
        curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, c->unix_path);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->curl_err);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, CLI_CONNECT_TIMEOUT_S);
    curl_easy_setopt(h, CURLOPT_NOPROXY, c->noproxy);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "cove/" COVE_CLI_VERSION);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, t);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, c);
    return 0;
}

/* Turn a non-2xx answer into an API error, from its JSON body if it has one. */
static int api_error(struct cli_client *c, const struct buf *body)
{
    _cleanup_(cli_json_unrefp) json_t *j = NULL;
    const char *msg = NULL, *code = NULL;

    c->kind = CLI_ERR_API;
    if (body->len > 0)
        j = json_loadb(body->data, body->len, 0, NULL);
    if (json_is_object(j)) {
        msg = json_string_value(json_object_get(j, "message"));
        code = json_string_value(json_object_get(j, "code"));
    }
    snprintf(c->code, sizeof(c->code), "%s", code ? code : "");
    if (msg)
        snprintf(c->msg, sizeof(c->msg), "%s", msg);
    else if (body->len > 0 && !j)
        /* Not our daemon, or a proxy in between: show the start of what came back. */
        snprintf(c->msg, sizeof(c->msg), "unexpected answer from %s: %.200s", c->url, body->data);
    else
        snprintf(c->msg, sizeof(c->msg), "request failed");
    return c->status == 404 ? -ENOENT : -EPROTO;
}

static int transport_error(struct cli_client *c, struct transfer *t, CURLcode cc)
{
    const char *why = c->curl_err[0] ? c->curl_err : curl_easy_strerror(cc);
    curl_off_t connect_us = 0;
    long os_errno = 0;

    switch (cc) {
    case CURLE_ABORTED_BY_CALLBACK:
        if (t->src_errno)
            break;
        return fail(c, CLI_ERR_INTERRUPTED, EINTR, "interrupted");
    case CURLE_WRITE_ERROR:
        if (t->sink_errno)
            return fail(c, CLI_ERR_LOCAL, t->sink_errno, "cannot write the %s: %s",
                        t->sink_fn ? "output" : "download", strerror(t->sink_errno));
        if (t->body_too_large)
            return fail(c, CLI_ERR_TRANSPORT, E2BIG, "answer from %s larger than %u bytes", c->url,
                        CLI_MAX_RESPONSE_BYTES);
        break;
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
        /* curl names a made-up localhost:80 for Unix sockets; say what really failed. */
        curl_easy_getinfo(c->curl, CURLINFO_OS_ERRNO, &os_errno);
        if (c->unix_path && os_errno > 0)
            return fail(c, CLI_ERR_UNREACHABLE, ECONNREFUSED, "connect to %s: %s", c->unix_path,
                        strerror((int)os_errno));
        return fail(c, CLI_ERR_UNREACHABLE, ECONNREFUSED, "%s", why);
    case CURLE_OPERATION_TIMEDOUT:
        curl_easy_getinfo(c->curl, CURLINFO_CONNECT_TIME_T, &connect_us);
        if (connect_us == 0)
            return fail(c, CLI_ERR_UNREACHABLE, ETIMEDOUT, "%s", why);
        break;
    default:
        break;
    }
    if (t->src_errno)
        return fail(c, CLI_ERR_LOCAL, t->src_errno, "cannot read the upload: %s",
                    strerror(t->src_errno));
    return fail(c, CLI_ERR_TRANSPORT, EIO, "request to %s failed: %s", c->url, why);
}

static int perform(struct cli_client *c, struct transfer *t)
{
    CURLcode cc;

    curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, t->headers);
    cc = curl_easy_perform(c->curl);
    curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &c->status);
    /* A daemon may refuse an upload early and close the connection while curl is still
     * sending; its error body is the better explanation then. */
    if (cc != CURLE_OK && !(c->status >= 400 && t->body.len > 0 && cc != CURLE_WRITE_ERROR))
        return transport_error(c, t, cc);
    if (c->status < 200 || c->status >= 300)
        return api_error(c, &t->body);
    return 0;
}

/* Decode a buffered JSON answer into *ret. */
static int decode(struct cli_client *c, const struct buf *body, json_t **ret)
{
    json_error_t jerr;
    json_t *j;

    if (body->len == 0) {
        j = json_object();
        if (!j)
            return fail(c, CLI_ERR_LOCAL, ENOMEM, "out of memory");
        *ret = j;
        return 0;
    }
    /* Exec output may contain NUL bytes, which JSON carries as \u0000. */
    j = json_loadb(body->data, body->len, JSON_ALLOW_NUL, &jerr);
    if (!j)
        return fail(c, CLI_ERR_TRANSPORT, EBADMSG, "invalid JSON from %s: %s", c->url, jerr.text);
    *ret = j;
    return 0;
}

int cli_client_json(struct cli_client *c, const char *method, const char *path, const json_t *body,
                    json_t **ret)
{
    _cleanup_free_ char *payload = NULL;
    struct transfer t;
    int r;

    r = begin(c, &t, path);
    if (r < 0)
        goto out;
    if (body) {
        payload = json_dumps(body, JSON_COMPACT);
        if (!payload) {
            r = fail(c, CLI_ERR_LOCAL, ENOMEM, "cannot encode the request");
            goto out;
        }
        /* No "Expect: 100-continue" round trip for small JSON bodies. */
        if (add_header(&t, "Content-Type: application/json") < 0 || add_header(&t, "Expect:") < 0) {
            r = fail(c, CLI_ERR_LOCAL, ENOMEM, "out of memory");
            goto out;
        }
        curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, payload);
        curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(payload));
    } else if (!strcmp(method, "POST")) {
        curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, "");
        curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
    }
    if (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0)
        curl_easy_setopt(c->curl, CURLOPT_CUSTOMREQUEST, method);

    r = perform(c, &t);
    if (r >= 0 && ret)
        r = decode(c, &t.body, ret);
out:
    transfer_done(&t);
    return r;
}

int cli_client_upload(struct cli_client *c, const char *path, FILE *in, int64_t size, json_t **ret)
{
    struct transfer t;
    int r;

    r = begin(c, &t, path);
    if (r < 0)
        goto out;
    t.src = in;
    if (add_header(&t, "Content-Type: application/octet-stream") < 0) {
        r = fail(c, CLI_ERR_LOCAL, ENOMEM, "out of memory");
        goto out;
    }
    /* UPLOAD means PUT; curl sends Transfer-Encoding: chunked when the size is unknown. */
    curl_easy_setopt(c->curl, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c->curl, CURLOPT_READFUNCTION, on_read);
    curl_easy_setopt(c->curl, CURLOPT_READDATA, &t);
    curl_easy_setopt(c->curl, CURLOPT_INFILESIZE_LARGE, (curl_off_t)(size >= 0 ? size : -1));

    r = perform(c, &t);
    if (r >= 0 && ret)
        r = decode(c, &t.body, ret);
out:
    transfer_done(&t);
    return r;
}

/* GET path and hand a 2xx body to a sink: written to fd (when >= 0), or passed to fn (when not
 * NULL). The byte count written to fd goes to *ret_size (may be NULL). */
static int get_to_sink(struct cli_client *c, const char *path, int fd, cli_stream_fn fn,
                       void *userdata, int64_t *ret_size)
{
    struct transfer t;
    int r;

    r = begin(c, &t, path);
    if (r < 0)
        goto out;
    t.sink_fd = fd;
    t.sink_fn = fn;
    t.sink_ud = userdata;
    /* Only an error body is buffered here; it is small. */
    t.body.cap = 1u << 20;
    r = perform(c, &t);
    if (r >= 0 && ret_size)
        *ret_size = t.sink_bytes;
out:
    transfer_done(&t);
    return r;
}

int cli_client_download(struct cli_client *c, const char *path, int fd, int64_t *ret_size)
{
    return get_to_sink(c, path, fd, NULL, NULL, ret_size);
}

int cli_client_stream(struct cli_client *c, const char *path, cli_stream_fn fn, void *userdata)
{
    return get_to_sink(c, path, -EBADF, fn, userdata, NULL);
}

int cli_client_report(const struct cli_client *c, int r)
{
    switch (c->kind) {
    case CLI_ERR_API:
        if (c->code[0])
            fprintf(stderr, "cove: %s (%s, HTTP %ld)\n", c->msg, c->code, c->status);
        else
            fprintf(stderr, "cove: %s (HTTP %ld)\n", c->msg, c->status);
        if (c->status == 401)
            fprintf(stderr, "cove: pass --key, set COVE_API_KEY, or put key=... in "
                            "~/.config/cove/credentials\n");
        return 1;
    case CLI_ERR_UNREACHABLE:
        fprintf(stderr, "cove: cannot reach coved at %s: %s\n", c->url, c->msg);
        fprintf(stderr, "cove: is coved running? start it with scripts/setup\n");
        return 3;
    case CLI_ERR_INTERRUPTED:
        fprintf(stderr, "cove: interrupted\n");
        return 130;
    case CLI_ERR_LOCAL:
    case CLI_ERR_TRANSPORT:
        fprintf(stderr, "cove: %s\n", c->msg);
        return 1;
    case CLI_ERR_NONE:
    default:
        fprintf(stderr, "cove: %s\n", strerror(r < 0 ? -r : EIO));
        return 1;
    }
}

int cli_sandbox_path(struct cli_client *c, const char *id, const char *suffix, char **ret)
{
    char *esc, *p;
    int n;

    esc = curl_easy_escape(c->curl, id, 0);
    if (!esc)
        return -ENOMEM;
    n = asprintf(&p, "/v1/sandboxes/%s%s", esc, suffix ? suffix : "");
    curl_free(esc);
    if (n < 0)
        return -ENOMEM;
    *ret = p;
    return 0;
}

int cli_path_add_query(struct cli_client *c, char **path, const char *key, const char *value)
{
    char *esc, *p;
    int n;

    esc = curl_easy_escape(c->curl, value, 0);
    if (!esc)
        return -ENOMEM;
    n = asprintf(&p, "%s%c%s=%s", *path, strchr(*path, '?') ? '&' : '?', key, esc);
    curl_free(esc);
    if (n < 0)
        return -ENOMEM;
    free(*path);
    *path = p;
    return 0;
}
