/* HTTP client for the coved API, shared by every cove subcommand.
 *
 * One struct cli_client wraps one libcurl easy handle, so consecutive requests of a command
 * reuse the same keep-alive connection. Requests return 0 on a 2xx answer and -errno
 * otherwise; the details of the last failure (the API's JSON error body, an unreachable
 * daemon, a local I/O error, an interrupt) stay in the client until the next request, and
 * cli_client_report() turns them into one message on stderr and an exit code.
 *
 * Configuration: the base URL comes from the --url flag, else $COVE_API_URL, else the
 * credentials file, else http://127.0.0.1:3000; "unix:/path/to/sock" talks HTTP over a Unix
 * socket. The API key comes from --key, else $COVE_API_KEY, else the credentials file
 * ($XDG_CONFIG_HOME/cove/credentials, default ~/.config/cove/credentials: `url=` and `key=`
 * lines). */
#pragma once

#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "base/cleanup.h"
#include "base/err.h"

#define CLI_DEFAULT_URL "http://127.0.0.1:3000"

/* meson passes COVE_VERSION; a bare compile of the client still builds. */
#ifdef COVE_VERSION
#    define COVE_CLI_VERSION COVE_VERSION
#else
#    define COVE_CLI_VERSION "0.0.0-dev"
#endif

/* Cap on a buffered (JSON) answer: two 16 MiB exec streams, JSON-escaped, fit. */
#define CLI_MAX_RESPONSE_BYTES (256u << 20)

enum cli_error_kind {
    CLI_ERR_NONE,
    CLI_ERR_LOCAL,       /* local I/O, bad input, out of memory */
    CLI_ERR_API,         /* the daemon answered with a non-2xx status */
    CLI_ERR_UNREACHABLE, /* no connection to the daemon could be made */
    CLI_ERR_TRANSPORT,   /* the connection failed mid-request, or the answer was garbage */
    CLI_ERR_INTERRUPTED, /* SIGINT/SIGTERM aborted the transfer */
};

struct cli_client;

/* `_cleanup_(cli_json_unrefp) json_t *j = NULL;` drops the reference on scope exit. */
static inline void cli_json_unrefp(json_t **p)
{
    if (*p)
        json_decref(*p);
}

/* Set by the handler cli_install_interrupt_handler() installs; transfers of an abortable
 * client stop within about a second once it is set. */
extern volatile sig_atomic_t cli_interrupted;

/* Catch SIGINT and SIGTERM by setting cli_interrupted instead of dying, so the caller can
 * clean up (cove run deletes its sandbox). */
int cli_install_interrupt_handler(void);

/* url and key may be NULL: then the environment and the credentials file are consulted. */
int cli_client_new(const char *url, const char *key, struct cli_client **ret, struct cove_err *err);
struct cli_client *cli_client_free(struct cli_client *c);
DEFINE_CLEANUP_FUNC(struct cli_client *, cli_client_free)

/* The base URL as configured, for messages. */
const char *cli_client_url(const struct cli_client *c);

/* Whether cli_interrupted aborts transfers (default: false). */
void cli_client_set_abortable(struct cli_client *c, bool abortable);

/* Send method + path (starting with "/v1/") with body as JSON (NULL: no body). On success
 * *ret (if non-NULL) owns the decoded answer. */
int cli_client_json(struct cli_client *c, const char *method, const char *path, const json_t *body,
                    json_t **ret);

/* PUT the contents of in to path, streamed. size < 0 means unknown (chunked upload). */
int cli_client_upload(struct cli_client *c, const char *path, FILE *in, int64_t size, json_t **ret);

/* GET path and stream a 2xx body into fd. *ret_size (if non-NULL) gets the byte count. */
int cli_client_download(struct cli_client *c, const char *path, int fd, int64_t *ret_size);

/* GET path and hand the 2xx body to fn piece by piece as it arrives (a stream that may last
 * long: server-sent events). fn returns 0, or -errno to stop the transfer. An error answer
 * is buffered for cli_client_report() instead. */
typedef int (*cli_stream_fn)(const char *data, size_t len, void *userdata);
int cli_client_stream(struct cli_client *c, const char *path, cli_stream_fn fn, void *userdata);

/* Record a local failure in the client (for cli_client_report); returns -abs(errnum). */
int cli_client_fail(struct cli_client *c, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

enum cli_error_kind cli_client_error_kind(const struct cli_client *c);
/* The API error code of the last failure ("SANDBOX_NOT_FOUND"), or "" if none. */
const char *cli_client_error_code(const struct cli_client *c);

/* Print the last failure as "cove: ..." to stderr and return the exit code for it. r is the
 * failed call's return value, used when the client recorded nothing. */
int cli_client_report(const struct cli_client *c, int r);

/* "/v1/sandboxes/<id, escaped><suffix>" into *ret (caller frees). */
int cli_sandbox_path(struct cli_client *c, const char *id, const char *suffix, char **ret);

/* Append "?key=value" or "&key=value" to *path, value URL-encoded; *path is replaced. */
int cli_path_add_query(struct cli_client *c, char **path, const char *key, const char *value);
