/* cove doctor: check that cove can work, one named check after another.
 *
 * Today the only check asks the daemon (GET /v1/health, no key needed). Checks of the local
 * host (cgroup v2, user namespaces, ...) belong in doctor_checks[] below: each gets the
 * client (which it may ignore) and an object to put its findings in for --json, prints
 * its own text lines otherwise, and returns an exit code. All checks run; doctor exits with
 * the first failure's code. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/common.h"
#include "sandbox/hostcheck.h"

struct doctor_check {
    const char *name;
    int (*run)(struct cli_client *c, json_t *report);
};

/* GET /v1/health and show the daemon's version and cgroup mode. */
static int check_daemon(struct cli_client *c, json_t *report)
{
    _cleanup_(cli_json_unrefp) json_t *health = NULL;
    const char *status, *version, *cgroup;
    int r;

    r = cli_client_json(c, "GET", "/v1/health", NULL, &health);
    if (r < 0) {
        json_object_set_new(report, "status", json_string("unreachable"));
        return cli_client_report(c, r);
    }
    json_object_update(report, health);
    if (arg_json)
        return CLI_EXIT_OK;
    status = json_string_value(json_object_get(health, "status"));
    version = json_string_value(json_object_get(health, "version"));
    cgroup = json_string_value(json_object_get(health, "cgroup"));
    printf("daemon: %s (coved %s at %s, cgroup %s)\n", status ? status : "?",
           version ? version : "?", cli_client_url(c), cgroup ? cgroup : "?");
    return status && !strcmp(status, "ok") ? CLI_EXIT_OK : CLI_EXIT_FAILURE;
}

/* The same host check as `coved --check`, run on this machine (meaningful where coved runs). */
static int check_local_host(struct cli_client *c, json_t *report)
{
    bool ok;

    if (arg_json) {
        /* check_host prints text; keep --json output clean by reporting only the verdict */
        int saved = dup(STDOUT_FILENO), devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
        fflush(stdout);
        dup2(devnull, STDOUT_FILENO);
        ok = check_host("/var/lib/cove");
        fflush(stdout);
        dup2(saved, STDOUT_FILENO);
        close(saved);
        close(devnull);
    } else {
        printf("host checks (this machine):\n");
        ok = check_host("/var/lib/cove");
    }
    json_object_set_new(report, "ok", json_boolean(ok));
    return ok ? CLI_EXIT_OK : CLI_EXIT_FAILURE;
}

static const struct doctor_check doctor_checks[] = {
    {"daemon", check_daemon},
    {"host", check_local_host},
};

static int run(const struct cli_command *cmd, int argc, char **argv)
{
    static const struct option options[] = {
        CLI_COMMON_OPTIONS,
        CLI_OPTIONS_END,
    };
    _cleanup_(cli_client_freep) struct cli_client *c = NULL;
    _cleanup_(cli_json_unrefp) json_t *report = json_object();
    int r, ret = CLI_EXIT_OK;

    if (!report)
        return CLI_EXIT_FAILURE;
    r = cli_begin_no_args(cmd, argc, argv, "h", options, NULL, NULL, &c);
    if (r != CLI_CONTINUE)
        return r;

    json_object_set_new(report, "url", json_string(cli_client_url(c)));
    for (size_t i = 0; i < ELEMENTSOF(doctor_checks); i++) {
        json_t *part = json_object();

        json_object_set_new(report, doctor_checks[i].name, part);
        r = doctor_checks[i].run(c, part);
        if (r != CLI_EXIT_OK && ret == CLI_EXIT_OK)
            ret = r;
    }
    if (arg_json && cli_print_json(report) < 0 && ret == CLI_EXIT_OK)
        ret = CLI_EXIT_FAILURE;
    return ret;
}

const struct cli_command cli_cmd_doctor = {
    .name = "doctor",
    .summary = "check that coved is reachable and healthy",
    .usage = "Usage: cove doctor\n"
             "\n"
             "Ask coved for its health (GET /v1/health) and print it. With --json, print\n"
             "{\"url\", \"daemon\": {health}}.\n",
    .run = run,
};
