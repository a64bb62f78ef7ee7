/* Helpers shared by the cove subcommands (see common.h).
 *
 * Everything a user types is parsed strictly here (parse.h for integers, a digit-only
 * decimal parser for seconds and cores) so that a typo is a usage error (exit 2) before
 * any request is sent, never a silently different request. */
#include "cli/common.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/limits.h"
#include "base/parse.h"

/* Handle one getopt result. Returns CLI_CONTINUE or an exit code. */
static int handle_option(const struct cli_command *cmd, int opt, cli_option_fn handle,
                         void *userdata)
{
    switch (opt) {
    case OPT_JSON:
        arg_json = true;
        return CLI_CONTINUE;
    case OPT_URL:
        arg_url = optarg;
        return CLI_CONTINUE;
    case OPT_KEY:
        arg_key = optarg;
        return CLI_CONTINUE;
    case 'h':
        cli_print_usage(cmd, stdout);
        return CLI_EXIT_OK;
    case '?':
        /* getopt already said what was wrong. */
        fprintf(stderr, "Try 'cove help %s'.\n", cmd->name);
        return CLI_EXIT_USAGE;
    default:
        if (!handle)
            return cli_usage_error(cmd, "unexpected option");
        return handle(cmd, opt, optarg, userdata);
    }
}

int cli_parse_options(const struct cli_command *cmd, int argc, char **argv, const char *shortopts,
                      const struct option *longopts, cli_option_fn handle, void *userdata,
                      const char **ret_lead, int *ret_optind)
{
    const char *lead = NULL;
    int opt, r;

    /* 0 makes glibc re-initialise getopt, which main() already used. */
    optind = 0;
    for (;;) {
        int before = optind > 0 ? optind : 1;

        opt = getopt_long(argc, argv, shortopts, longopts, NULL);
        if (opt >= 0) {
            r = handle_option(cmd, opt, handle, userdata);
            if (r != CLI_CONTINUE)
                return r;
            continue;
        }
        if (!ret_lead || optind >= argc)
            break;
        /* In '+' mode getopt stops at the first non-option, or just after a "--" (the call
         * that returns -1 always starts at a fresh argv element). */
        if (optind == before + 1 && !strcmp(argv[before], "--")) {
            if (!lead)
                lead = argv[optind++];
            break;
        }
        if (lead)
            break;
        /* The lead: take it and keep parsing options behind it. */
        lead = argv[optind++];
    }
    if (ret_lead)
        *ret_lead = lead;
    *ret_optind = optind;
    return CLI_CONTINUE;
}

int cli_usage_error(const struct cli_command *cmd, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "cove %s: ", cmd->name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'cove help %s'.\n", cmd->name);
    return CLI_EXIT_USAGE;
}

void cli_print_usage(const struct cli_command *cmd, FILE *f)
{
    fputs(cmd->usage, f);
    fputs("\nGlobal options:\n" CLI_COMMON_HELP, f);
}

int cli_connect(struct cli_client **ret)
{
    struct cove_err err = {0};
    int r;

    r = cli_client_new(arg_url, arg_key, ret, &err);
    if (r < 0) {
        fprintf(stderr, "cove: %s\n", err.msg[0] ? err.msg : strerror(-r));
        return r == -EINVAL ? CLI_EXIT_USAGE : CLI_EXIT_FAILURE;
    }
    return CLI_CONTINUE;
}

json_t *cli_json_string(const char *s, size_t len)
{
    /* json_stringn() checks UTF-8 and returns NULL for anything else. */
    return json_stringn(s, len);
}

int cli_parse_kv(const struct cli_command *cmd, const char *flag, const char *s, bool from_env,
                 json_t *obj)
{
    _cleanup_free_ char *key = NULL;
    const char *eq = strchr(s, '='), *value;
    json_t *v;

    if (eq)
        key = strndup(s, (size_t)(eq - s));
    else if (from_env)
        key = strdup(s);
    else
        return cli_usage_error(cmd, "%s expects KEY=VALUE, got '%s'", flag, s);
    if (!key)
        return cli_usage_error(cmd, "out of memory");
    if (key[0] == '\0')
        return cli_usage_error(cmd, "%s: empty key in '%s'", flag, s);
    if (eq) {
        value = eq + 1;
    } else {
        value = getenv(key);
        if (!value)
            return cli_usage_error(cmd, "%s %s: no such variable in the environment", flag, key);
    }
    v = cli_json_string(value, strlen(value));
    if (!v || !json_is_string(v))
        return cli_usage_error(cmd, "%s: '%s' is not valid UTF-8", flag, s);
    /* _new steals the reference, also on failure. Later flags win over earlier ones. */
    if (json_object_set_new(obj, key, v) < 0)
        return cli_usage_error(cmd, "%s: invalid key in '%s'", flag, s);
    return CLI_CONTINUE;
}

/* Digits only, split at the dot and parsed with parse_u64(): no locale, sign, exponent,
 * "inf" or "nan" can slip through as strtod() would let them. */
int cli_parse_decimal(const char *s, double *ret)
{
    const char *dot = strchr(s, '.');
    uint64_t whole = 0, frac = 0;
    double scale = 1;
    int r;

    if (!dot) {
        r = parse_u64(s, &whole);
        if (r < 0)
            return r;
        *ret = (double)whole;
        return 0;
    }

    size_t wlen = (size_t)(dot - s), flen = strlen(dot + 1);
    char wbuf[24];

    if ((wlen == 0 && flen == 0) || wlen >= sizeof(wbuf) || flen > 18)
        return -EINVAL;
    if (wlen > 0) {
        memcpy(wbuf, s, wlen);
        wbuf[wlen] = '\0';
        r = parse_u64(wbuf, &whole);
        if (r < 0)
            return r;
    }
    if (flen > 0) {
        r = parse_u64(dot + 1, &frac);
        if (r < 0)
            return r;
        for (size_t i = 0; i < flen; i++)
            scale *= 10;
    }
    *ret = (double)whole + (double)frac / scale;
    return 0;
}

/* The cap bounds memory: the whole input goes into one JSON string. */
int cli_read_all(FILE *f, size_t cap, char **ret, size_t *ret_len)
{
    struct buf b;
    char chunk[65536];
    size_t n;
    int r;

    buf_init(&b, cap);
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        r = buf_append(&b, chunk, n);
        if (r < 0) {
            buf_free(&b);
            return r;
        }
    }
    if (ferror(f)) {
        buf_free(&b);
        return -EIO;
    }
    *ret = buf_steal(&b, ret_len);
    if (!*ret)
        return -ENOMEM;
    return 0;
}

int cli_print_json(const json_t *j)
{
    /* Keep the daemon's key order: it is the documented one. */
    if (json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER) < 0)
        return -EIO;
    fputc('\n', stdout);
    return 0;
}

long long cli_json_int(const json_t *obj, const char *key, long long def)
{
    json_t *v = json_object_get(obj, key);

    return json_is_integer(v) ? (long long)json_integer_value(v) : def;
}

/* Write a JSON string's bytes (NULs included) unchanged. */
static void write_stream(const json_t *s, FILE *f)
{
    if (json_is_string(s) && json_string_length(s) > 0)
        fwrite(json_string_value(s), 1, json_string_length(s), f);
    fflush(f);
}

static void note_truncation(const json_t *result, const char *stream, uint64_t max_output)
{
    char key[32];

    snprintf(key, sizeof(key), "%s_truncated", stream);
    if (json_is_true(json_object_get(result, key)))
        fprintf(stderr,
                "cove: %s was truncated to %llu bytes (raise it with --max-output, up to "
                "16777216)\n",
                stream, (unsigned long long)max_output);
}

/* A timeout or OOM kill outranks the raw exit code (which is then 128 + SIGKILL): 124 and
 * 137 tell a script why, as timeout(1) and a shell would. */
int cli_exec_report(const json_t *result, double timeout_s, uint64_t max_output)
{
    bool timed_out = json_is_true(json_object_get(result, "timed_out"));
    bool oom = json_is_true(json_object_get(result, "oom_killed"));
    const char *sig = json_string_value(json_object_get(result, "signal"));
    long long code = cli_json_int(result, "exit_code", -1);

    if (arg_json) {
        cli_print_json(result);
        fflush(stdout);
    } else {
        write_stream(json_object_get(result, "stdout"), stdout);
        write_stream(json_object_get(result, "stderr"), stderr);
        note_truncation(result, "stdout", max_output);
        note_truncation(result, "stderr", max_output);
        if (timed_out)
            fprintf(stderr, "cove: command timed out after %g s\n", timeout_s);
        else if (oom)
            fprintf(stderr, "cove: command was killed by the OOM killer (memory limit)\n");
        else if (sig)
            fprintf(stderr, "cove: command was killed by %s\n", sig);
    }
    if (timed_out)
        return CLI_EXIT_TIMEOUT;
    if (oom)
        return CLI_EXIT_OOM;
    if (code < 0 || code > 255)
        return CLI_EXIT_FAILURE;
    return (int)code;
}

int cli_one_sandbox_request(const struct cli_command *cmd, int argc, char **argv,
                            const char *method, const char *suffix, json_t **ret, int *ret_idx)
{
    static const struct option options[] = {
        CLI_COMMON_OPTIONS,
        CLI_OPTIONS_END,
    };
    _cleanup_(cli_client_freep) struct cli_client *c = NULL;
    _cleanup_free_ char *path = NULL;
    int idx, r;

    r = cli_parse_options(cmd, argc, argv, "h", options, NULL, NULL, NULL, &idx);
    if (r != CLI_CONTINUE)
        return r;
    if (idx >= argc)
        return cli_usage_error(cmd, "missing sandbox id or name");
    if (idx + 1 < argc)
        return cli_usage_error(cmd, "unexpected argument '%s'", argv[idx + 1]);
    r = cli_connect(&c);
    if (r != CLI_CONTINUE)
        return r;

    r = cli_sandbox_path(c, argv[idx], suffix, &path);
    if (r < 0)
        return cli_client_report(c, r);
    r = cli_client_json(c, method, path, NULL, ret);
    if (r < 0)
        return cli_client_report(c, r);
    if (ret_idx)
        *ret_idx = idx;
    return CLI_CONTINUE;
}

int cli_change_state(const struct cli_command *cmd, int argc, char **argv, const char *suffix)
{
    _cleanup_(cli_json_unrefp) json_t *sb = NULL;
    const char *name, *state;
    int idx, r;

    r = cli_one_sandbox_request(cmd, argc, argv, "POST", suffix, &sb, &idx);
    if (r != CLI_CONTINUE)
        return r;
    if (arg_json)
        return cli_print_json(sb) < 0 ? CLI_EXIT_FAILURE : CLI_EXIT_OK;
    name = json_string_value(json_object_get(sb, "name"));
    state = json_string_value(json_object_get(sb, "state"));
    printf("%s: %s\n", name ? name : argv[idx], state ? state : "?");
    return CLI_EXIT_OK;
}

int cli_exec_add_stdin(json_t *body)
{
    _cleanup_free_ char *data = NULL;
    size_t len;
    json_t *v;
    int r;

    r = cli_read_all(stdin, COVE_MAX_STDIN_BYTES, &data, &len);
    if (r == -E2BIG) {
        fprintf(stderr, "cove: stdin is larger than the %u bytes an exec accepts\n",
                COVE_MAX_STDIN_BYTES);
        return CLI_EXIT_USAGE;
    }
    if (r < 0) {
        fprintf(stderr, "cove: cannot read stdin: %s\n", strerror(-r));
        return CLI_EXIT_FAILURE;
    }
    /* The API carries stdin as a JSON string, so it must be text. */
    v = cli_json_string(data, len);
    if (!v) {
        fprintf(stderr, "cove: stdin is not valid UTF-8 text; upload binary input as a file\n");
        return CLI_EXIT_USAGE;
    }
    json_object_set_new(body, "stdin", v);
    return CLI_CONTINUE;
}

int cli_exec(struct cli_client *c, const char *id, const json_t *body, double timeout_s,
             uint64_t max_output)
{
    _cleanup_(cli_json_unrefp) json_t *result = NULL;
    _cleanup_free_ char *path = NULL;
    int r;

    r = cli_sandbox_path(c, id, "/exec", &path);
    if (r < 0)
        return cli_client_report(c, r);
    r = cli_client_json(c, "POST", path, body, &result);
    if (r < 0)
        return cli_client_report(c, r);
    return cli_exec_report(result, timeout_s, max_output);
}

int cli_file_content_path(struct cli_client *c, const char *id, const char *remote, char **ret)
{
    _cleanup_free_ char *path = NULL;
    int r;

    r = cli_sandbox_path(c, id, "/files/content", &path);
    if (r < 0)
        return r;
    r = cli_path_add_query(c, &path, "path", remote);
    if (r < 0)
        return r;
    *ret = TAKE_PTR(path);
    return 0;
}

bool cli_report_one_of_many(struct cli_client *c, int r, int *ret)
{
    int code = cli_client_report(c, r);

    if (*ret == CLI_EXIT_OK)
        *ret = code;
    return code == CLI_EXIT_UNREACHABLE || code == CLI_EXIT_INTERRUPTED;
}

int cli_opt_timeout(const struct cli_command *cmd, const char *arg, json_t *body, double *ret)
{
    double t;

    if (cli_parse_decimal(arg, &t) < 0 || t <= 0)
        return cli_usage_error(cmd, "--timeout expects seconds > 0, got '%s'", arg);
    json_object_set_new(body, "timeout", json_real(t));
    if (ret)
        *ret = t;
    return CLI_CONTINUE;
}

int cli_opt_max_output(const struct cli_command *cmd, const char *arg, json_t *body, uint64_t *ret)
{
    uint64_t n;

    if (parse_u64(arg, &n) < 0 || n > COVE_MAX_OUTPUT_CAP)
        return cli_usage_error(cmd, "--max-output expects bytes up to %u, got '%s'",
                               COVE_MAX_OUTPUT_CAP, arg);
    json_object_set_new(body, "max_output_bytes", json_integer((json_int_t)n));
    *ret = n;
    return CLI_CONTINUE;
}

int cli_request(struct cli_client *c, const char *method, const char *path, const json_t *body,
                json_t **ret)
{
    int r;

    r = cli_client_json(c, method, path, body, ret);
    if (r < 0)
        return cli_client_report(c, r);
    if (arg_json)
        return cli_print_json(*ret) < 0 ? CLI_EXIT_FAILURE : CLI_EXIT_OK;
    return CLI_CONTINUE;
}

int cli_begin_no_args(const struct cli_command *cmd, int argc, char **argv, const char *shortopts,
                      const struct option *longopts, cli_option_fn handle, void *userdata,
                      struct cli_client **ret)
{
    int idx, r;

    r = cli_parse_options(cmd, argc, argv, shortopts, longopts, handle, userdata, NULL, &idx);
    if (r != CLI_CONTINUE)
        return r;
    if (idx < argc)
        return cli_usage_error(cmd, "unexpected argument '%s'", argv[idx]);
    return cli_connect(ret);
}

int cli_subcommand(const struct cli_command *cmd, int argc, char **argv, const char *const *subs,
                   const char *list)
{
    if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
        cli_print_usage(cmd, stdout);
        return CLI_EXIT_OK;
    }
    if (argc < 2)
        return cli_usage_error(cmd, "missing subcommand: %s", list);
    for (size_t i = 0; subs[i]; i++)
        if (!strcmp(argv[1], subs[i]))
            return CLI_CONTINUE;
    return cli_usage_error(cmd, "unknown subcommand '%s': %s", argv[1], list);
}
