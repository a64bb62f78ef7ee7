/* cove create: POST /v1/sandboxes from command-line flags; prints the new sandbox's id.
 *
 * Only the flags given end up in the request, so the daemon's documented defaults apply to
 * everything else. Ranges are left to the daemon, which knows its own limits and says which
 * value was wrong; here a flag only has to be a well-formed number. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "base/parse.h"
#include "cli/common.h"

enum {
    OPT_NAME = OPT_COMMAND,
    OPT_IMAGE,
    OPT_CPU,
    OPT_MEMORY,
    OPT_DISK,
    OPT_PIDS,
    OPT_ENV,
    OPT_LABEL,
    OPT_AUTO_STOP,
    OPT_NETWORK,
    OPT_ALLOW,
    OPT_ALLOW_DOMAIN,
};

/* Set body[key] to an integer flag value. */
static int set_u32(const struct cli_command *cmd, json_t *body, const char *key, const char *flag,
                   const char *arg)
{
    uint32_t v;

    if (parse_u32_range(arg, 0, UINT32_MAX, &v) < 0)
        return cli_usage_error(cmd, "%s expects a whole number, got '%s'", flag, arg);
    json_object_set_new(body, key, json_integer(v));
    return CLI_CONTINUE;
}

static int set_string(const struct cli_command *cmd, json_t *body, const char *key,
                      const char *flag, const char *arg)
{
    json_t *v = cli_json_string(arg, strlen(arg));

    if (!v)
        return cli_usage_error(cmd, "%s: '%s' is not valid UTF-8", flag, arg);
    json_object_set_new(body, key, v);
    return CLI_CONTINUE;
}

/* Set body[key] to the object the KEY=VALUE flags collect, creating it on first use. */
static int add_pair(const struct cli_command *cmd, json_t *body, const char *key, const char *flag,
                    const char *arg, bool from_env)
{
    json_t *obj = json_object_get(body, key);

    if (!obj) {
        obj = json_object();
        if (!obj || json_object_set_new(body, key, obj) < 0)
            return cli_usage_error(cmd, "out of memory");
    }
    return cli_parse_kv(cmd, flag, arg, from_env, obj);
}

/* --network none|all sets the mode; each --allow CIDR or --allow-domain NAME adds to an
 * allow list (key). coved checks the values. */
static int add_network(const struct cli_command *cmd, json_t *body, const char *key,
                       const char *arg)
{
    json_t *net = json_object_get(body, "network"), *list;

    if (!key) {
        if (json_is_object(net))
            return cli_usage_error(cmd, "--network and --allow exclude each other");
        json_object_set_new(body, "network", json_string(arg));
        return CLI_CONTINUE;
    }
    if (json_is_string(net))
        return cli_usage_error(cmd, "--network and --allow exclude each other");
    if (!net) {
        net = json_pack("{s:s}", "mode", "allow");
        if (!net || json_object_set_new(body, "network", net) < 0)
            return CLI_EXIT_FAILURE;
    }
    list = json_object_get(net, key);
    if (!list && json_object_set_new(net, key, list = json_array()) < 0)
        return CLI_EXIT_FAILURE;
    if (json_array_append_new(list, json_string(arg)) < 0)
        return CLI_EXIT_FAILURE;
    return CLI_CONTINUE;
}

static int on_option(const struct cli_command *cmd, int opt, const char *arg, void *userdata)
{
    json_t *body = userdata;
    double cpu;

    switch (opt) {
    case 'n':
    case OPT_NAME:
        return set_string(cmd, body, "name", "--name", arg);
    case OPT_IMAGE:
        return set_string(cmd, body, "image", "--image", arg);
    case OPT_CPU:
        /* A fraction of a core is a CFS quota, so "0.25" is meaningful. */
        if (cli_parse_decimal(arg, &cpu) < 0)
            return cli_usage_error(cmd, "--cpu expects a number of cores, got '%s'", arg);
        json_object_set_new(body, "cpu", json_real(cpu));
        return CLI_CONTINUE;
    case OPT_MEMORY:
        return set_u32(cmd, body, "memory_mib", "--memory", arg);
    case OPT_DISK:
        return set_u32(cmd, body, "disk_mib", "--disk", arg);
    case OPT_PIDS:
        return set_u32(cmd, body, "pids", "--pids", arg);
    case OPT_AUTO_STOP:
        return set_u32(cmd, body, "auto_stop_minutes", "--auto-stop", arg);
    case 'e':
    case OPT_ENV:
        return add_pair(cmd, body, "env", "--env", arg, true);
    case 'l':
    case OPT_LABEL:
        return add_pair(cmd, body, "labels", "--label", arg, false);
    case OPT_NETWORK:
        return add_network(cmd, body, NULL, arg);
    case OPT_ALLOW:
        return add_network(cmd, body, "allow_cidrs", arg);
    case OPT_ALLOW_DOMAIN:
        return add_network(cmd, body, "allow_domains", arg);
    default:
        return cli_usage_error(cmd, "unexpected option");
    }
}

static int run(const struct cli_command *cmd, int argc, char **argv)
{
    static const struct option options[] = {
        CLI_COMMON_OPTIONS,
        {"name", required_argument, NULL, OPT_NAME},
        {"image", required_argument, NULL, OPT_IMAGE},
        {"cpu", required_argument, NULL, OPT_CPU},
        {"memory", required_argument, NULL, OPT_MEMORY},
        {"disk", required_argument, NULL, OPT_DISK},
        {"pids", required_argument, NULL, OPT_PIDS},
        {"env", required_argument, NULL, OPT_ENV},
        {"label", required_argument, NULL, OPT_LABEL},
        {"auto-stop", required_argument, NULL, OPT_AUTO_STOP},
        {"network", required_argument, NULL, OPT_NETWORK},
        {"allow", required_argument, NULL, OPT_ALLOW},
        {"allow-domain", required_argument, NULL, OPT_ALLOW_DOMAIN},
        CLI_OPTIONS_END,
    };
    _cleanup_(cli_client_freep) struct cli_client *c = NULL;
    _cleanup_(cli_json_unrefp) json_t *body = json_object(), *sb = NULL;
    const char *id;
    int r;

    if (!body)
        return CLI_EXIT_FAILURE;
    r = cli_begin_no_args(cmd, argc, argv, "hn:e:l:", options, on_option, body, &c);
    if (r != CLI_CONTINUE)
        return r;

    r = cli_request(c, "POST", "/v1/sandboxes", body, &sb);
    if (r != CLI_CONTINUE)
        return r;
    id = json_string_value(json_object_get(sb, "id"));
    printf("%s\n", id ? id : "?");
    return CLI_EXIT_OK;
}

const struct cli_command cli_cmd_create = {
    .name = "create",
    .summary = "create a sandbox and print its id",
    .usage =
        "Usage: cove create [OPTIONS]\n"
        "\n"
        "Create a sandbox and print its id (with --json: the sandbox).\n"
        "\n"
        "Options:\n"
        "  -n, --name NAME       name (1-63 of [A-Za-z0-9._-]; default: the id)\n"
        "      --image IMAGE     image (default: base)\n"
        "      --cpu CORES       CPU cores, fractions allowed (default: 1)\n"
        "      --memory MIB      memory limit in MiB (default: 1024)\n"
        "      --disk MIB        disk limit in MiB (default: 3072)\n"
        "      --pids N          process limit (default: 1024)\n"
        "  -e, --env K=V         environment for every exec; a bare K copies $K (repeat)\n"
        "  -l, --label K=V       label (repeat)\n"
        "      --auto-stop MIN   stop after MIN idle minutes, 0 = never (default: 15)\n"
        "      --network MODE    none (default: only loopback) or all (IPv4 egress)\n"
        "      --allow CIDR      allow egress to this IPv4 network only (repeat)\n"
        "      --allow-domain N  allow egress to what DNS gives for N (*.N: below N) (repeat)\n",
    .run = run,
};
