/* cove ls: GET /v1/sandboxes[?label=K=V...] as a table (ID NAME STATE CPU MEM CREATED), or
 * with --json the bare array of sandbox objects.
 *
 * Columns are as wide as their widest cell so names of any length line up; cells are cut
 * at CELL_MAX bytes, which is above every documented field size. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli/common.h"

#define N_COLS   6
#define CELL_MAX 80

struct ls_args {
    const char *labels[64];
    size_t n_labels;
};

typedef char ls_row[N_COLS][CELL_MAX];

/* Collect --label K=V; the value is sent as is (URL-encoded), so '=' in V is fine. */
static int on_option(const struct cli_command *cmd, int opt, const char *arg, void *userdata)
{
    struct ls_args *a = userdata;

    if (opt != 'l')
        return cli_usage_error(cmd, "unexpected option");
    if (!strchr(arg, '=') || arg[0] == '=')
        return cli_usage_error(cmd, "--label expects KEY=VALUE, got '%s'", arg);
    if (a->n_labels >= ELEMENTSOF(a->labels))
        return cli_usage_error(cmd, "at most %zu --label filters", ELEMENTSOF(a->labels));
    a->labels[a->n_labels++] = arg;
    return CLI_CONTINUE;
}

static const char *str_or(const json_t *obj, const char *key, const char *def)
{
    const char *s = json_string_value(json_object_get(obj, key));

    return s ? s : def;
}

/* "2026-11-22T04:00:00.000Z" -> "2026-11-22 04:00:00" (UTC); anything else verbatim. */
static void format_time(char *dst, size_t n, const char *iso)
{
    if (strlen(iso) >= 19 && iso[10] == 'T')
        snprintf(dst, n, "%.10s %.8s", iso, iso + 11);
    else
        snprintf(dst, n, "%s", iso);
}

static void fill_row(ls_row row, const json_t *sb)
{
    json_t *cpu = json_object_get(sb, "cpu");
    long long mem = cli_json_int(sb, "memory_mib", -1);

    snprintf(row[0], CELL_MAX, "%s", str_or(sb, "id", "?"));
    snprintf(row[1], CELL_MAX, "%s", str_or(sb, "name", "-"));
    snprintf(row[2], CELL_MAX, "%s", str_or(sb, "state", "?"));
    if (json_is_number(cpu))
        snprintf(row[3], CELL_MAX, "%g", json_number_value(cpu));
    else
        snprintf(row[3], CELL_MAX, "-");
    if (mem >= 0)
        snprintf(row[4], CELL_MAX, "%lldMiB", mem);
    else
        snprintf(row[4], CELL_MAX, "-");
    format_time(row[5], CELL_MAX, str_or(sb, "created_at", "-"));
}

static void print_table(ls_row *rows, size_t n)
{
    size_t width[N_COLS] = {0};

    for (size_t i = 0; i < n; i++)
        for (int col = 0; col < N_COLS; col++)
            if (strlen(rows[i][col]) > width[col])
                width[col] = strlen(rows[i][col]);
    for (size_t i = 0; i < n; i++) {
        for (int col = 0; col < N_COLS - 1; col++)
            printf("%-*s  ", (int)width[col], rows[i][col]);
        printf("%s\n", rows[i][N_COLS - 1]);
    }
}

static int print_sandboxes(const json_t *list)
{
    _cleanup_free_ ls_row *rows = NULL;
    size_t n = json_array_size(list), i;
    json_t *sb;

    /* Row 0 is the header. */
    rows = calloc(n + 1, sizeof(*rows));
    if (!rows) {
        fprintf(stderr, "cove: out of memory\n");
        return CLI_EXIT_FAILURE;
    }
    static const char *const header[N_COLS] = {"ID", "NAME", "STATE", "CPU", "MEM", "CREATED"};
    for (int col = 0; col < N_COLS; col++)
        snprintf(rows[0][col], CELL_MAX, "%s", header[col]);
    json_array_foreach(list, i, sb)
    {
        fill_row(rows[i + 1], sb);
    }
    print_table(rows, n + 1);
    return CLI_EXIT_OK;
}

static int run(const struct cli_command *cmd, int argc, char **argv)
{
    static const struct option options[] = {
        CLI_COMMON_OPTIONS,
        {"label", required_argument, NULL, 'l'},
        CLI_OPTIONS_END,
    };
    _cleanup_(cli_client_freep) struct cli_client *c = NULL;
    _cleanup_(cli_json_unrefp) json_t *answer = NULL;
    _cleanup_free_ char *path = NULL;
    struct ls_args a = {.n_labels = 0};
    json_t *list;
    int r;

    r = cli_begin_no_args(cmd, argc, argv, "hl:", options, on_option, &a, &c);
    if (r != CLI_CONTINUE)
        return r;

    /* Each filter is its own label=K=V parameter; the daemon ANDs them. */
    path = strdup("/v1/sandboxes");
    if (!path)
        return cli_client_report(c, -ENOMEM);
    for (size_t i = 0; i < a.n_labels; i++) {
        r = cli_path_add_query(c, &path, "label", a.labels[i]);
        if (r < 0)
            return cli_client_report(c, r);
    }
    r = cli_client_json(c, "GET", path, NULL, &answer);
    if (r < 0)
        return cli_client_report(c, r);
    list = json_object_get(answer, "sandboxes");
    if (!json_is_array(list)) {
        fprintf(stderr, "cove: answer from %s has no \"sandboxes\" array\n", cli_client_url(c));
        return CLI_EXIT_FAILURE;
    }
    if (arg_json)
        return cli_print_json(list) < 0 ? CLI_EXIT_FAILURE : CLI_EXIT_OK;
    return print_sandboxes(list);
}

const struct cli_command cli_cmd_ls = {
    .name = "ls",
    .summary = "list sandboxes",
    .usage = "Usage: cove ls [--label K=V]...\n"
             "\n"
             "List sandboxes as a table: ID NAME STATE CPU MEM CREATED (UTC).\n"
             "With --json, print the array of sandbox objects.\n"
             "\n"
             "Options:\n"
             "  -l, --label K=V    only sandboxes with this label (repeat: all must match)\n",
    .run = run,
};
