/* cove admin: organizations, keys and quotas through the admin API (docs/API.md, "Admin").
 * Needs an admin key.
 *
 *   cove admin org ls                     GET /v1/admin/orgs as a table
 *   cove admin org create ID [limits]     POST /v1/admin/orgs
 *   cove admin org info ID                GET /v1/admin/orgs/ID
 *   cove admin org rm ID                  DELETE /v1/admin/orgs/ID
 *   cove admin quota ORG [limits]         PUT (with limits) or GET /v1/admin/orgs/ORG/quota
 *   cove admin key ls ORG                 GET /v1/admin/orgs/ORG/keys as a table
 *   cove admin key create ORG [--name N] [--admin]   prints the new key, once
 *   cove admin key rm KEY_ID              DELETE /v1/admin/keys/KEY_ID (revoke)
 *
 * Organization and key ids are checked locally against the characters the API accepts, so
 * they go into paths without escaping. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/parse.h"
#include "cli/common.h"

enum {
    OPT_NAME = OPT_COMMAND,
    OPT_ADMIN,
    OPT_SANDBOXES,
    OPT_CPUS,
    OPT_MEMORY,
    OPT_DISK,
};

struct admin_args {
    json_t *quota; /* limits given on the command line */
    const char *name;
    bool admin;
};

static const struct option options[] = {
    CLI_COMMON_OPTIONS,
    {"name", required_argument, NULL, OPT_NAME},
    {"admin", no_argument, NULL, OPT_ADMIN},
    {"sandboxes", required_argument, NULL, OPT_SANDBOXES},
    {"cpus", required_argument, NULL, OPT_CPUS},
    {"memory-mib", required_argument, NULL, OPT_MEMORY},
    {"disk-mib", required_argument, NULL, OPT_DISK},
    CLI_OPTIONS_END,
};

static int on_option(const struct cli_command *cmd, int opt, const char *arg, void *userdata)
{
    static const char *const fields[] = {"max_sandboxes", "max_memory_mib", "max_disk_mib"};
    struct admin_args *a = userdata;
    uint64_t v;
    double d;

    switch (opt) {
    case OPT_NAME:
        a->name = arg;
        return CLI_CONTINUE;
    case OPT_ADMIN:
        a->admin = true;
        return CLI_CONTINUE;
    case OPT_CPUS:
        if (cli_parse_decimal(arg, &d) < 0)
            return cli_usage_error(cmd, "--cpus expects a number of cores, got '%s'", arg);
        json_object_set_new(a->quota, "max_cpu", json_real(d));
        return CLI_CONTINUE;
    case OPT_SANDBOXES:
    case OPT_MEMORY:
    case OPT_DISK:
        if (parse_u64(arg, &v) < 0 || v > INT64_MAX)
            return cli_usage_error(cmd, "expected a non-negative integer, got '%s'", arg);
        json_object_set_new(a->quota, fields[opt - OPT_SANDBOXES - (opt > OPT_CPUS)],
                            json_integer((json_int_t)v));
        return CLI_CONTINUE;
    default:
        return cli_usage_error(cmd, "unexpected option");
    }
}

/* What the API accepts as an organization id; key ids are a subset. */
static bool id_ok(const char *s)
{
    size_t n = strlen(s);

    return n > 0 && n <= 64 && s[0] != '.' && s[0] != '-' && s[0] != '_' &&
           strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

static long long quota_int(const json_t *o, const char *sect, const char *key)
{
    return cli_json_int(json_object_get(o, sect), key, -1);
}

static double quota_num(const json_t *o, const char *sect, const char *key)
{
    return json_number_value(json_object_get(json_object_get(o, sect), key));
}

#define USAGE_ROW "%-24s %-24s %-12s %-14s %-20s %s\n"

/* "used/limit" cells of an organization or quota answer. */
static void print_usage_line(const json_t *o, const char *id, const char *name)
{
    char n[48], cpu[64], mem[48], disk[48];

    snprintf(n, sizeof(n), "%lld/%lld", quota_int(o, "usage", "sandboxes"),
             quota_int(o, "quota", "max_sandboxes"));
    snprintf(cpu, sizeof(cpu), "%g/%g", quota_num(o, "usage", "cpu"),
             quota_num(o, "quota", "max_cpu"));
    snprintf(mem, sizeof(mem), "%lld/%lld", quota_int(o, "usage", "memory_mib"),
             quota_int(o, "quota", "max_memory_mib"));
    snprintf(disk, sizeof(disk), "%lld/%lld", quota_int(o, "usage", "disk_mib"),
             quota_int(o, "quota", "max_disk_mib"));
    printf(USAGE_ROW, id, name, n, cpu, mem, disk);
}

static void print_usage_header(void)
{
    printf(USAGE_ROW, "ORG", "NAME", "SANDBOXES", "CPUS", "MEMORY_MIB", "DISK_MIB");
}

static const char *str(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "-";
}

static int print_answer(const json_t *answer, const char *list_key)
{
    const json_t *list = list_key ? json_object_get(answer, list_key) : NULL;
    json_t *o;
    size_t i;

    if (arg_json)
        return cli_print_json(list ? list : answer) < 0 ? CLI_EXIT_FAILURE : CLI_EXIT_OK;
    if (list_key && !strcmp(list_key, "orgs")) {
        print_usage_header();
        json_array_foreach(list, i, o)
        {
            print_usage_line(o, str(o, "id"), str(o, "name"));
        }
    } else if (list_key) { /* keys */
        printf("%-16s %-12s %-24s %-6s %s\n", "ID", "PREFIX", "NAME", "ROLE", "STATE");
        json_array_foreach(list, i, o)
        {
            printf("%-16s %-12s %-24s %-6s %s\n", str(o, "id"), str(o, "prefix"), str(o, "name"),
                   json_is_true(json_object_get(o, "admin")) ? "admin" : "user",
                   json_is_true(json_object_get(o, "revoked")) ? "revoked" : "active");
        }
    } else {
        print_usage_header();
        print_usage_line(answer,
                         json_object_get(answer, "org") ? str(answer, "org") : str(answer, "id"),
                         json_object_get(answer, "name") ? str(answer, "name") : "");
    }
    return CLI_EXIT_OK;
}

static int call(struct cli_client *c, const char *method, const char *path, const json_t *body,
                const char *list_key)
{
    _cleanup_(cli_json_unrefp) json_t *answer = NULL;
    int r;

    r = cli_client_json(c, method, path, body, &answer);
    if (r < 0)
        return cli_client_report(c, r);
    if (!answer) /* 204 */
        return CLI_EXIT_OK;
    return print_answer(answer, list_key);
}

/* A request whose text output is one line "WHAT ID" (--json: the answer, if any). */
static int done_line(struct cli_client *c, const char *method, const char *path, const char *what,
                     const char *id)
{
    _cleanup_(cli_json_unrefp) json_t *answer = NULL;
    int r;

    r = cli_client_json(c, method, path, NULL, &answer);
    if (r < 0)
        return cli_client_report(c, r);
    if (arg_json && answer)
        return cli_print_json(answer) < 0 ? CLI_EXIT_FAILURE : CLI_EXIT_OK;
    if (!arg_json)
        printf("%s %s\n", what, id);
    return CLI_EXIT_OK;
}

static int do_key_create(struct cli_client *c, const char *path, struct admin_args *a)
{
    _cleanup_(cli_json_unrefp) json_t *body =
        json_pack("{s:s, s:b}", "name", a->name ? a->name : "", "admin", a->admin);
    _cleanup_(cli_json_unrefp) json_t *answer = NULL;
    int r;

    if (!body)
        return cli_client_report(c, -ENOMEM);
    r = cli_request(c, "POST", path, body, &answer);
    if (r != CLI_CONTINUE)
        return r;
    printf("%s\n", str(answer, "key"));
    fprintf(stderr, "key id %s (the key itself is shown only this once)\n", str(answer, "id"));
    return CLI_EXIT_OK;
}

/* Run one "NOUN VERB [ARG]" with its id argument checked and its options parsed. */
static int dispatch(const struct cli_command *cmd, struct cli_client *c, const char *noun,
                    const char *verb, const char *arg, struct admin_args *a)
{
    char path[160];
    bool limits = json_object_size(a->quota) > 0;

    if (!strcmp(noun, "org") && !strcmp(verb, "ls"))
        return call(c, "GET", "/v1/admin/orgs", NULL, "orgs");
    if (!strcmp(noun, "org") && !strcmp(verb, "create")) {
        _cleanup_(cli_json_unrefp) json_t *body = json_pack("{s:s}", "id", arg);
        if (!body || (a->name && json_object_set_new(body, "name", json_string(a->name)) < 0) ||
            (limits && json_object_set(body, "quota", a->quota) < 0))
            return cli_client_report(c, -ENOMEM);
        return call(c, "POST", "/v1/admin/orgs", body, NULL);
    }
    if (!strcmp(noun, "key") && !strcmp(verb, "rm")) {
        snprintf(path, sizeof(path), "/v1/admin/keys/%s", arg);
        return done_line(c, "DELETE", path, "revoked", arg);
    }
    if (!strcmp(noun, "org") && !strcmp(verb, "rm")) {
        snprintf(path, sizeof(path), "/v1/admin/orgs/%s", arg);
        return done_line(c, "DELETE", path, "deleted", arg);
    }
    snprintf(path, sizeof(path), "/v1/admin/orgs/%s%s", arg,
             !strcmp(noun, "quota") ? "/quota"
             : !strcmp(noun, "key") ? "/keys"
                                    : "");
    if (!strcmp(noun, "org") && !strcmp(verb, "info"))
        return call(c, "GET", path, NULL, NULL);
    if (!strcmp(noun, "quota"))
        return call(c, limits ? "PUT" : "GET", path, limits ? a->quota : NULL, NULL);
    if (!strcmp(noun, "key") && !strcmp(verb, "ls"))
        return call(c, "GET", path, NULL, "keys");
    if (!strcmp(noun, "key") && !strcmp(verb, "create"))
        return do_key_create(c, path, a);
    return cli_usage_error(cmd, "unknown command 'admin %s %s'", noun, verb);
}

static int run(const struct cli_command *cmd, int argc, char **argv)
{
    _cleanup_(cli_client_freep) struct cli_client *c = NULL;
    _cleanup_(cli_json_unrefp) json_t *quota = json_object();
    struct admin_args a = {.quota = quota};
    const char *noun, *verb;
    int idx, r, skip;

    r = cli_subcommand(cmd, argc, argv, (const char *const[]){"org", "quota", "key", NULL},
                       "org, quota or key");
    if (r != CLI_CONTINUE)
        return r;
    if (!quota)
        return CLI_EXIT_FAILURE;
    noun = argv[1];
    /* "quota ORG" has no verb; the others are "NOUN VERB". */
    skip = strcmp(noun, "quota") ? 2 : 1;
    if (argc <= skip)
        return cli_usage_error(cmd, "missing %s", skip == 2 ? "verb" : "organization id");
    verb = skip == 2 ? argv[2] : "set";
    r = cli_parse_options(cmd, argc - skip, argv + skip, "h", options, on_option, &a, NULL, &idx);
    if (r != CLI_CONTINUE)
        return r;
    argc -= skip, argv += skip;
    if (!strcmp(noun, "org") && !strcmp(verb, "ls")) {
        if (idx < argc)
            return cli_usage_error(cmd, "unexpected argument '%s'", argv[idx]);
    } else if (idx + 1 != argc) {
        return cli_usage_error(cmd, idx >= argc ? "missing id" : "one id expected");
    } else if (!id_ok(argv[idx])) {
        return cli_usage_error(cmd, "'%s' is not a valid id", argv[idx]);
    }
    if ((json_object_size(quota) && strcmp(verb, "create") && strcmp(noun, "quota")) ||
        ((a.name || a.admin) && strcmp(verb, "create")))
        return cli_usage_error(cmd, "option not valid for 'admin %s %s'", noun, verb);
    r = cli_connect(&c);
    if (r != CLI_CONTINUE)
        return r;
    return dispatch(cmd, c, noun, verb, idx < argc ? argv[idx] : NULL, &a);
}

const struct cli_command cli_cmd_admin = {
    .name = "admin",
    .summary = "manage organizations, API keys and quotas (admin key)",
    .usage = "Usage: cove admin org ls\n"
             "       cove admin org create ID [--name N] [LIMITS]\n"
             "       cove admin org info ID\n"
             "       cove admin org rm ID\n"
             "       cove admin quota ORG [LIMITS]\n"
             "       cove admin key ls ORG\n"
             "       cove admin key create ORG [--name N] [--admin]\n"
             "       cove admin key rm KEY_ID\n"
             "\n"
             "Needs an admin API key. 'quota' without limits shows the quota and what is in\n"
             "use; with limits it sets those and keeps the others. 'key create' prints the new\n"
             "key, which is shown only this once; 'key rm' revokes a key at once. An\n"
             "organization with sandboxes cannot be removed.\n"
             "\n"
             "LIMITS:\n"
             "      --sandboxes N      sandboxes, stopped ones included\n"
             "      --cpus C           cores of running sandboxes (e.g. 8, 0.5)\n"
             "      --memory-mib N     memory of running sandboxes\n"
             "      --disk-mib N       disk of all sandboxes\n"
             "Options:\n"
             "      --name N           display name (org create, key create)\n"
             "      --admin            the new key is an admin key (key create)\n",
    .run = run,
};
