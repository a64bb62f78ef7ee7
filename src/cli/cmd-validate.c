/* cove validate: check that a program runs (and passes its tests) with one call to
 * POST /v1/validate, which creates a throw-away sandbox, runs the code and deletes the
 * sandbox again in the daemon.
 *
 * Output: the program's (and test runner's) stdout on stdout, their stderr on stderr, then
 * one line on stderr: "Success: <details>" or "Failure: <details>" (with the test counts when
 * --tests was given). The exit code is the program's, as with `cove run` (the test runner's
 * when only the tests failed, 124 after a timeout), so `cove validate x.py && deploy` works.
 * With --json the validate result is printed as is. */
#include <string.h>

#include "base/limits.h"
#include "cli/code.h"
#include "cli/common.h"

enum {
    OPT_LANGUAGE = OPT_COMMAND,
    OPT_TESTS,
    OPT_TIMEOUT,
    OPT_SKILL,
    OPT_FILE,
    OPT_STDIN,
    OPT_DIALECT,
};

struct validate_args {
    json_t *body;
    const char *language;
    const char *tests;
    struct cli_code_files files;
    bool read_stdin;
};

static int on_option(const struct cli_command *cmd, int opt, const char *arg, void *userdata)
{
    struct validate_args *a = userdata;

    switch (opt) {
    case 'l':
    case OPT_LANGUAGE:
        a->language = arg;
        return CLI_CONTINUE;
    case 't':
    case OPT_TESTS:
        a->tests = arg;
        return CLI_CONTINUE;
    case OPT_TIMEOUT:
        return cli_opt_timeout(cmd, arg, a->body, NULL);
    case OPT_SKILL:
        json_object_set_new(a->body, "skill", cli_json_string(arg, strlen(arg)));
        return CLI_CONTINUE;
    case 'f':
    case OPT_FILE:
        return cli_code_opt_file(cmd, arg, &a->files);
    case 'i':
    case OPT_STDIN:
        a->read_stdin = true;
        return CLI_CONTINUE;
    case OPT_DIALECT:
        json_object_set_new(a->body, "dialect", cli_json_string(arg, strlen(arg)));
        return CLI_CONTINUE;
    default:
        return cli_usage_error(cmd, "unexpected option");
    }
}

static void put(const json_t *result, const char *key, FILE *f)
{
    const json_t *s = json_object_get(result, key);

    if (json_is_string(s) && json_string_length(s) > 0)
        fwrite(json_string_value(s), 1, json_string_length(s), f);
    fflush(f);
}

/* Print the result; returns the exit code. */
static int report(const json_t *res)
{
    const char *status = json_string_value(json_object_get(res, "status"));
    const char *details = json_string_value(json_object_get(res, "details"));
    bool success = status && !strcmp(status, "Success");
    long long code = cli_json_int(res, "exit_code", -1);

    if (arg_json) {
        cli_print_json(res);
    } else {
        put(res, "output", stdout);
        put(res, "error", stderr);
        /* details names the test counts whenever the tests ran. */
        fprintf(stderr, "%s: %s\n", status ? status : "?", details ? details : "");
    }
    if (success)
        return CLI_EXIT_OK;
    if (json_is_true(json_object_get(res, "timed_out")))
        return CLI_EXIT_TIMEOUT;
    return code > 0 && code <= 255 ? (int)code : CLI_EXIT_FAILURE;
}

static int run(const struct cli_command *cmd, int argc, char **argv)
{
    static const struct option options[] = {
        CLI_COMMON_OPTIONS,
        {"language", required_argument, NULL, OPT_LANGUAGE},
        {"tests", required_argument, NULL, OPT_TESTS},
        {"timeout", required_argument, NULL, OPT_TIMEOUT},
        {"skill", required_argument, NULL, OPT_SKILL},
        {"file", required_argument, NULL, OPT_FILE},
        {"stdin", no_argument, NULL, OPT_STDIN},
        {"dialect", required_argument, NULL, OPT_DIALECT},
        CLI_OPTIONS_END,
    };
    _cleanup_(cli_client_freep) struct cli_client *c = NULL;
    _cleanup_(cli_json_unrefp) json_t *body = json_object(), *res = NULL;
    struct validate_args a = {.body = body};
    int idx, r;

    if (!body)
        return CLI_EXIT_FAILURE;
    r = cli_parse_options(cmd, argc, argv, "hl:t:f:i", options, on_option, &a, NULL, &idx);
    if (r != CLI_CONTINUE)
        return r;
    if (idx >= argc)
        return cli_usage_error(cmd, "missing FILE");
    if (idx + 1 < argc)
        return cli_usage_error(cmd, "unexpected argument '%s'", argv[idx + 1]);
    r = cli_code_language(cmd, argv[idx], a.language, body);
    if (r == CLI_CONTINUE)
        r = cli_code_read(argv[idx], body, "code");
    if (r == CLI_CONTINUE && a.tests)
        r = cli_code_read(a.tests, body, "tests");
    if (r == CLI_CONTINUE)
        r = cli_code_add_files(&a.files, body);
    if (r == CLI_CONTINUE && a.read_stdin)
        r = cli_exec_add_stdin(body);
    if (r != CLI_CONTINUE)
        return r;
    r = cli_connect(&c);
    if (r != CLI_CONTINUE)
        return r;
    r = cli_client_json(c, "POST", "/v1/validate", body, &res);
    if (r < 0)
        return cli_client_report(c, r);
    return report(res);
}

const struct cli_command cli_cmd_validate = {
    .name = "validate",
    .summary = "check that a program runs (and passes its tests), nothing left behind",
    .usage = "Usage: cove validate FILE [OPTIONS]\n"
             "\n"
             "Run FILE once in a throw-away sandbox the daemon creates and deletes again\n"
             "(POST /v1/validate). Prints the program's output, then 'Success: ...' or\n"
             "'Failure: ...' with a one-line summary on stderr, and exits with the program's\n"
             "exit code (the test runner's when tests fail, 124 on timeout). With --json,\n"
             "print the validate result instead.\n"
             "\n"
             "Options:\n"
             "  -l, --language L   the language (default: from FILE's extension)\n"
             "  -t, --tests T      run the test file T with the language's runner (pytest,\n"
             "                     node --test, go test, JUnit 5) and report the counts\n"
             "  -f, --file F       also send F, next to FILE (repeat for more)\n"
             "      --timeout S    limit for everything, in seconds (default: 30)\n"
             "      --skill NAME   echoed back in the result, for the caller's bookkeeping\n"
             "  -i, --stdin        send all of cove's stdin (UTF-8 text) to the program\n"
             "      --dialect D    sql: sqlite (default) or postgres\n"
             "\n"
             "Example: cove validate --language go main.go --tests main_test.go --json\n",
    .run = run,
};
