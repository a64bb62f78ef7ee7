/* cove logs: the output of a session command (GET .../commands/{cid}/logs).
 *
 * Without -f the logs are read as they are now, page by page (the daemon returns at most
 * 16 MiB per stream per request, with the offsets to go on from). With -f the server-sent
 * event stream is followed until the command ends: stdout events go to our stdout, stderr
 * events to our stderr, and cove exits with the command's exit code (as `cove exec` would).
 *
 * An SSE event is "event: NAME\ndata: JSON\n\n"; the parser below keeps the partial line
 * between network reads. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/session.h"

/* One SSE line (a JSON-encoded chunk of at most 16 KiB of output) is far below this. */
#define SSE_LINE_MAX (1u << 20)

struct follow {
    struct buf line; /* the line being received */
    char event[16];  /* name of the event being received */
    json_t *exit;    /* the final status, once the "exit" event came */
    int write_errno;
};

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t k = write(fd, p, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return -errno;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

/* A "data:" line of the current event. */
static int on_data(struct follow *f, const char *json, size_t len)
{
    json_t *v = json_loadb(json, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    int r = 0;

    if (!v)
        return -EBADMSG;
    if (arg_json) {
        json_t *o = json_pack("{s:s, s:O}", "event", f->event, "data", v);
        char *s = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
        r = s ? write_all(STDOUT_FILENO, s, strlen(s)) : -ENOMEM;
        if (r >= 0)
            r = write_all(STDOUT_FILENO, "\n", 1);
        free(s);
        json_decref(o);
    } else if (json_is_string(v) && !strcmp(f->event, "stdout")) {
        r = write_all(STDOUT_FILENO, json_string_value(v), json_string_length(v));
    } else if (json_is_string(v) && !strcmp(f->event, "stderr")) {
        r = write_all(STDERR_FILENO, json_string_value(v), json_string_length(v));
    }
    if (!strcmp(f->event, "exit") && !f->exit)
        f->exit = json_incref(v);
    json_decref(v);
    return r;
}

static int on_line(struct follow *f, const char *s, size_t len)
{
    if (len == 0) {
        f->event[0] = '\0';
        return 0;
    }
    if (len > 7 && !strncmp(s, "event: ", 7)) {
        snprintf(f->event, sizeof(f->event), "%.*s", (int)(len - 7), s + 7);
        return 0;
    }
    if (len > 6 && !strncmp(s, "data: ", 6))
        return on_data(f, s + 6, len - 6);
    return 0; /* comments and fields we do not use */
}

static int on_chunk(const char *data, size_t len, void *userdata)
{
    struct follow *f = userdata;

    for (const char *end = data + len; data < end;) {
        const char *nl = memchr(data, '\n', (size_t)(end - data));
        size_t n = nl ? (size_t)(nl - data) : (size_t)(end - data);
        int r = buf_append(&f->line, data, n);

        if (r < 0)
            return r;
        data += n;
        if (!nl)
            break;
        data++;
        r = on_line(f, f->line.data, f->line.len);
        buf_reset(&f->line);
        if (r < 0) {
            f->write_errno = -r;
            return r;
        }
    }
    return 0;
}

static int follow_logs(struct cli_client *c, const char *sb, const char *cid)
{
    struct follow f = {0};
    _cleanup_free_ char *path = NULL;
    int r, code;

    if (cli_command_path(c, sb, cid, "/logs?follow=true", &path) < 0)
        return cli_client_report(c, -ENOMEM);
    buf_init(&f.line, SSE_LINE_MAX);
    cli_install_interrupt_handler();
    cli_client_set_abortable(c, true);
    r = cli_client_stream(c, path, on_chunk, &f);
    buf_free(&f.line);
    if (r < 0) {
        json_decref(f.exit);
        return cli_client_report(c, r);
    }
    if (!f.exit) {
        fprintf(stderr, "cove: the log stream ended before the command did\n");
        return CLI_EXIT_FAILURE;
    }
    code = arg_json ? (int)cli_json_int(f.exit, "exit_code", 1) : cli_command_exit_code(f.exit);
    if (arg_json && (code < 0 || code > 255))
        code = CLI_EXIT_FAILURE;
    json_decref(f.exit);
    return code;
}

/* Print the logs as they are, following the offsets until both streams are exhausted. */
static int read_logs(struct cli_client *c, const char *sb, const char *cid)
{
    long long off[2] = {0, 0};
    static const char *const names[2] = {"stdout", "stderr"};

    for (;;) {
        _cleanup_(cli_json_unrefp) json_t *answer = NULL;
        _cleanup_free_ char *path = NULL;
        char q[96];
        bool more = false;
        int r;

        snprintf(q, sizeof(q), "/logs?stdout_offset=%lld&stderr_offset=%lld", off[0], off[1]);
        if (cli_command_path(c, sb, cid, q, &path) < 0)
            return cli_client_report(c, -ENOMEM);
        r = cli_client_json(c, "GET", path, NULL, &answer);
        if (r < 0)
            return cli_client_report(c, r);
        if (arg_json)
            return cli_print_json(answer) < 0 ? CLI_EXIT_FAILURE : CLI_EXIT_OK;
        for (int s = 0; s < 2; s++) {
            json_t *text = json_object_get(answer, names[s]);
            char key[24];

            snprintf(key, sizeof(key), "%s_offset", names[s]);
            if (json_is_string(text) && json_string_length(text) > 0) {
                fwrite(json_string_value(text), 1, json_string_length(text), s ? stderr : stdout);
                fflush(s ? stderr : stdout);
            }
            long long next = cli_json_int(answer, key, off[s]);
            more = more || next > off[s];
            off[s] = next;
        }
        if (!more)
            return CLI_EXIT_OK;
    }
}

static int on_option(const struct cli_command *cmd, int opt, const char *arg, void *userdata)
{
    if (opt != 'f')
        return cli_usage_error(cmd, "unexpected option");
    *(bool *)userdata = true;
    return CLI_CONTINUE;
}

static int run(const struct cli_command *cmd, int argc, char **argv)
{
    static const struct option options[] = {
        CLI_COMMON_OPTIONS,
        {"follow", no_argument, NULL, 'f'},
        CLI_OPTIONS_END,
    };
    _cleanup_(cli_client_freep) struct cli_client *c = NULL;
    bool follow = false;
    int idx, r;

    r = cli_parse_options(cmd, argc, argv, "hf", options, on_option, &follow, NULL, &idx);
    if (r == CLI_CONTINUE)
        r = cli_command_args(cmd, argc, argv, idx);
    if (r != CLI_CONTINUE)
        return r;
    r = cli_connect(&c);
    if (r != CLI_CONTINUE)
        return r;
    if (follow)
        return follow_logs(c, argv[idx], argv[idx + 1]);
    return read_logs(c, argv[idx], argv[idx + 1]);
}

const struct cli_command cli_cmd_logs = {
    .name = "logs",
    .summary = "print (or follow) the output of a session command",
    .usage = "Usage: cove logs SANDBOX COMMAND-ID [-f]\n"
             "\n"
             "Print the logs of a session command (cove session exec --async, cove exec\n"
             "--detach): its stdout to stdout, its stderr to stderr.\n"
             "With -f, keep printing new output until the command ends, then exit with its\n"
             "exit code (128+N when killed by signal N, 124 when it timed out, 1 when its\n"
             "sandbox stopped first). With --json: the logs answer, or with -f one JSON\n"
             "object {\"event\", \"data\"} per line.\n"
             "\n"
             "Options:\n"
             "  -f, --follow       follow the output until the command ends\n",
    .run = run,
};
