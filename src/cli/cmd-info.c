/* cove info: GET /v1/sandboxes/{id} (id or name), shown as aligned "Field: value" lines, or
 * the sandbox object with --json.
 *
 * The field list is a table so that a field the daemon adds later only needs one line here;
 * fields the daemon does not send (or sends as null) are skipped. */
#include <string.h>

#include "cli/common.h"

struct info_field {
    const char *label;
    const char *key;
    const char *unit; /* appended to numbers */
};

static const struct info_field info_fields[] = {
    {"ID", "id", NULL},
    {"Name", "name", NULL},
    {"State", "state", NULL},
    {"Error", "error_reason", NULL},
    {"Image", "image", NULL},
    {"CPU", "cpu", " cores"},
    {"Memory", "memory_mib", " MiB"},
    {"Disk", "disk_mib", " MiB"},
    {"PIDs", "pids", NULL},
    {"Auto-stop", "auto_stop_minutes", " min"},
    {"Network", "network", NULL},
    {"User", "user", NULL},
    {"Workdir", "workdir", NULL},
    {"Labels", "labels", NULL},
    {"Env", "env", NULL},
    {"Created", "created_at", NULL},
    {"Updated", "updated_at", NULL},
    {"Last activity", "last_activity_at", NULL},
};

/* Print one value after its label: scalars as text, objects as "k=v, k2=v2". */
static void print_value(const json_t *v, const char *unit)
{
    const char *key;
    json_t *item;
    bool first = true;

    switch (json_typeof(v)) {
    case JSON_STRING:
        fputs(json_string_value(v), stdout);
        break;
    case JSON_INTEGER:
        printf("%lld%s", (long long)json_integer_value(v), unit ? unit : "");
        break;
    case JSON_REAL:
        printf("%g%s", json_real_value(v), unit ? unit : "");
        break;
    case JSON_OBJECT:
        if (json_object_size(v) == 0)
            fputs("-", stdout);
        json_object_foreach((json_t *)v, key, item)
        {
            printf("%s%s=", first ? "" : ", ", key);
            if (json_is_string(item))
                fputs(json_string_value(item), stdout);
            else
                json_dumpf(item, stdout, JSON_COMPACT | JSON_ENCODE_ANY);
            first = false;
        }
        break;
    case JSON_ARRAY:
    case JSON_TRUE:
    case JSON_FALSE:
    case JSON_NULL:
    default:
        json_dumpf(v, stdout, JSON_COMPACT | JSON_ENCODE_ANY);
        break;
    }
    fputc('\n', stdout);
}

/* Labels are padded to one width so the values line up. */
static void print_sandbox(const json_t *sb)
{
    for (size_t i = 0; i < ELEMENTSOF(info_fields); i++) {
        json_t *v = json_object_get(sb, info_fields[i].key);

        if (!v || json_is_null(v))
            continue;
        printf("%-15s", info_fields[i].label);
        fputs(": ", stdout);
        if (!strcmp(info_fields[i].key, "auto_stop_minutes") && json_is_integer(v) &&
            json_integer_value(v) == 0)
            puts("never");
        else
            print_value(v, info_fields[i].unit);
    }
}

static int run(const struct cli_command *cmd, int argc, char **argv)
{
    _cleanup_(cli_json_unrefp) json_t *sb = NULL;
    int r;

    r = cli_one_sandbox_request(cmd, argc, argv, "GET", NULL, &sb, NULL);
    if (r != CLI_CONTINUE)
        return r;
    if (arg_json)
        return cli_print_json(sb) < 0 ? CLI_EXIT_FAILURE : CLI_EXIT_OK;
    print_sandbox(sb);
    return CLI_EXIT_OK;
}

const struct cli_command cli_cmd_info = {
    .name = "info",
    .summary = "show one sandbox",
    .usage = "Usage: cove info ID|NAME\n"
             "\n"
             "Show a sandbox's state, limits, labels and times (with --json: the sandbox).\n",
    .run = run,
};
