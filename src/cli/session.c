/* Session helpers of the cove CLI (see session.h). */
#include "cli/session.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int escaped_path(struct cli_client *c, const char *sb, const char *mid, const char *id,
                        const char *suffix, char **ret)
{
    _cleanup_free_ char *base = NULL;
    char *esc = NULL, *p;
    int n;

    if (cli_sandbox_path(c, sb, mid, &base) < 0)
        return -ENOMEM;
    if (id) {
        /* curl_easy_escape() needs a handle only for historical reasons. */
        esc = curl_easy_escape(NULL, id, 0);
        if (!esc)
            return -ENOMEM;
    }
    n = asprintf(&p, "%s%s%s%s", base, esc ? "/" : "", esc ? esc : "", suffix ? suffix : "");
    curl_free(esc);
    if (n < 0)
        return -ENOMEM;
    *ret = p;
    return 0;
}

int cli_session_path(struct cli_client *c, const char *sb, const char *sid, const char *suffix,
                     char **ret)
{
    return escaped_path(c, sb, "/sessions", sid, suffix, ret);
}

int cli_command_path(struct cli_client *c, const char *sb, const char *cid, const char *suffix,
                     char **ret)
{
    return escaped_path(c, sb, "/commands", cid, suffix, ret);
}

int cli_session_ensure(struct cli_client *c, const char *sb, const char *sid)
{
    _cleanup_(cli_json_unrefp) json_t *body = json_pack("{s:s}", "id", sid);
    _cleanup_free_ char *path = NULL;
    int r;

    if (!body || cli_session_path(c, sb, sid, NULL, &path) < 0)
        return cli_client_report(c, -ENOMEM);
    r = cli_client_json(c, "GET", path, NULL, NULL);
    if (r >= 0)
        return CLI_CONTINUE;
    if (strcmp(cli_client_error_code(c), "SESSION_NOT_FOUND") != 0)
        return cli_client_report(c, r);
    free(path);
    path = NULL;
    if (cli_session_path(c, sb, NULL, NULL, &path) < 0)
        return cli_client_report(c, -ENOMEM);
    r = cli_client_json(c, "POST", path, body, NULL);
    /* Someone else may have created it in between: that is just as good. */
    if (r < 0 && strcmp(cli_client_error_code(c), "SESSION_EXISTS") != 0)
        return cli_client_report(c, r);
    return CLI_CONTINUE;
}

int cli_shell_quote(struct buf *b, const char *s)
{
    int r = buf_append(b, "'", 1);

    for (const char *q; r >= 0 && (q = strchr(s, '\'')); s = q + 1) {
        r = buf_append(b, s, (size_t)(q - s));
        if (r >= 0)
            r = buf_append(b, "'\\''", 4);
    }
    if (r >= 0)
        r = buf_append(b, s, strlen(s));
    if (r >= 0)
        r = buf_append(b, "'", 1);
    return r;
}

int cli_session_exec(struct cli_client *c, const char *sb, const char *sid, const json_t *body,
                     double timeout_s, uint64_t max_output)
{
    _cleanup_(cli_json_unrefp) json_t *answer = NULL;
    _cleanup_free_ char *path = NULL;
    const char *cid;
    int r;

    if (cli_session_path(c, sb, sid, "/exec", &path) < 0)
        return cli_client_report(c, -ENOMEM);
    r = cli_client_json(c, "POST", path, body, &answer);
    if (r < 0)
        return cli_client_report(c, r);
    if (!json_is_true(json_object_get(body, "async")))
        return cli_exec_report(answer, timeout_s, max_output);
    if (arg_json)
        return cli_print_json(answer) < 0 ? CLI_EXIT_FAILURE : CLI_EXIT_OK;
    cid = json_string_value(json_object_get(answer, "id"));
    if (!cid) {
        fprintf(stderr, "cove: answer from %s has no command id\n", cli_client_url(c));
        return CLI_EXIT_FAILURE;
    }
    printf("%s\n", cid);
    return CLI_EXIT_OK;
}

int cli_command_exit_code(const json_t *status)
{
    const char *sig = json_string_value(json_object_get(status, "signal"));
    json_t *code = json_object_get(status, "exit_code");

    if (json_is_true(json_object_get(status, "timed_out"))) {
        fprintf(stderr, "cove: command timed out\n");
        return CLI_EXIT_TIMEOUT;
    }
    if (!json_is_integer(code)) {
        fprintf(stderr, "cove: the command's sandbox stopped before it finished\n");
        return CLI_EXIT_FAILURE;
    }
    if (sig)
        fprintf(stderr, "cove: command was killed by %s\n", sig);
    if (json_integer_value(code) < 0 || json_integer_value(code) > 255)
        return CLI_EXIT_FAILURE;
    return (int)json_integer_value(code);
}

int cli_command_args(const struct cli_command *cmd, int argc, char **argv, int idx)
{
    if (argc - idx < 2)
        return cli_usage_error(cmd, "expected SANDBOX and COMMAND-ID");
    if (argc - idx > 2)
        return cli_usage_error(cmd, "unexpected argument '%s'", argv[idx + 2]);
    return CLI_CONTINUE;
}
