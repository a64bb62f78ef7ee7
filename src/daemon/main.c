/* coved: the cove daemon. Parses the command line, opens the state, starts the sandbox
 * runtime and the HTTP listeners, and runs until SIGTERM/SIGINT. Also hosts the offline
 * subcommands `coved keys ...`, `coved org quota ...` and `coved --check`. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/api.h"
#include "base/limits.h"
#include "base/log.h"
#include "base/parse.h"
#include "exec/session.h"
#include "http/http.h"
#include "proxy/preview.h"
#include "proxy/relay.h"
#include "sandbox/hostcheck.h"
#include "sandbox/sandbox.h"
#include "sandbox/spawner.h"
#include "store/store.h"

static const char *arg_state = "/var/lib/cove";
static const char *arg_listen = "127.0.0.1:3000";
static const char *arg_socket = "/run/cove/coved.sock";
static const char *arg_cgroup_root = "cove";
static const char *arg_init;
static uint32_t arg_uid_base = 1000000000u;
static uint32_t arg_disk_warm = 4;
static uint32_t arg_autostop_unit_ms = 60000; /* hidden: tests shorten auto-stop's minute */
static int arg_ready_fd = -1;
static const char *arg_preview_domain = "localhost";
static uint32_t arg_preview_wait = 10;
static bool arg_preview_relay = true;
static uint32_t arg_preview_head_ms = 10000;
static const char *arg_net_table = "cove";
static const char *arg_net_subnet = "10.77.0.0/16";
static const char *arg_net_dns;

static void usage(FILE *f)
{
    fprintf(f,
            "usage: coved [options]            run the daemon\n"
            "       coved --check               check that this host can run sandboxes\n"
            "       coved keys create [--name N] [--org O] [--admin]\n"
            "       coved keys list\n"
            "       coved keys revoke ID\n"
            "       coved org quota ORG [--sandboxes N] [--cpu-milli N] [--memory-mib N]\n"
            "                           [--disk-mib N]\n"
            "options:\n"
            "  --state DIR        state directory (default /var/lib/cove)\n"
            "  --listen HOST:PORT TCP listener (default 127.0.0.1:3000; 'none' disables)\n"
            "  --socket PATH      unix socket (default /run/cove/coved.sock; 'none')\n"
            "  --cgroup-root NAME cgroup subtree name (default cove)\n"
            "  --uid-base N       first host uid for sandbox uid ranges (default 1000000000)\n"
            "  --init PATH        cove-init binary\n"
            "  --disk-warm N      sandbox disks kept formatted and ready (default 4)\n"
            "  --ready-fd FD      write 'READY port=N' to FD once listening\n"
            "  --preview-domain D previews answer at {port}-{id}.D (default localhost)\n"
            "  --preview-wait S   seconds a preview waits for its port to listen (default 10)\n"
            "  --preview-relay on|off  serve preview hosts on the TCP port from the event-driven\n"
            "                     relay (default on); off: through libmicrohttpd like the API\n"
            "  --preview-head-timeout MS  the relay cuts a request head not complete after MS\n"
            "                     milliseconds from its first byte (100..120000, default 10000)\n"
            "  --net-table NAME   nftables table (inet) for sandbox egress rules (default cove)\n"
            "  --net-subnet CIDR  IPv4 range for sandbox veths, a /30 each (default 10.77.0.0/16)\n"
            "  --net-dns IP       resolver for domain allow lists (default: /etc/resolv.conf's)\n"
            "  --debug            verbose logging\n");
}

static void default_init_path(char *buf, size_t cap)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

    if (n > 0) {
        self[n] = '\0';
        char *slash = strrchr(self, '/');
        if (slash) {
            *slash = '\0';
            snprintf(buf, cap, "%s/../init/cove-init", self); /* build tree */
            if (access(buf, X_OK) == 0)
                return;
        }
    }
    snprintf(buf, cap, "%s/cove-init", COVE_LIBEXECDIR);
}

static int open_store(struct store **st)
{
    char db[PATH_MAX];
    struct cove_err err = {0};

    if (mkdir(arg_state, 0711) < 0 && errno != EEXIST) {
        fprintf(stderr, "coved: cannot create %s: %m\n", arg_state);
        return -errno;
    }
    snprintf(db, sizeof(db), "%s/cove.db", arg_state);
    if (store_open(db, st, &err) < 0) {
        fprintf(stderr, "coved: %s\n", err.msg);
        return err.code;
    }
    if (store_org_ensure(*st, "default", NULL) < 0) {
        fprintf(stderr, "coved: cannot initialise the default organization\n");
        return -EIO;
    }
    return 0;
}

static int print_key(const struct key_info *k, void *ud)
{
    printf("%-16s %-12s %-16s %-20s %s%s\n", k->id, k->prefix, k->org, k->name,
           k->admin ? "admin" : "user", k->revoked ? " revoked" : "");
    return 0;
}

static int cmd_keys(int argc, char **argv)
{
    static const struct option opts[] = {{"name", required_argument, NULL, 'n'},
                                         {"org", required_argument, NULL, 'o'},
                                         {"admin", no_argument, NULL, 'a'},
                                         {"state", required_argument, NULL, 's'},
                                         {}};
    const char *name = "cli", *org = "default";
    bool admin = false;
    struct store *st;
    int c, r;

    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) >= 0) {
        switch (c) {
        case 'n':
            name = optarg;
            break;
        case 'o':
            org = optarg;
            break;
        case 'a':
            admin = true;
            break;
        case 's':
            arg_state = optarg;
            break;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind >= argc) {
        usage(stderr);
        return 2;
    }
    if (open_store(&st) < 0)
        return 1;
    if (!strcmp(argv[optind], "create")) {
        char key[STORE_KEY_LEN + 1];
        struct key_info ki;
        r = store_key_create(st, org, name, admin, key, &ki);
        if (r >= 0)
            printf("%s\n", key);
    } else if (!strcmp(argv[optind], "list")) {
        printf("%-16s %-12s %-16s %-20s %s\n", "ID", "PREFIX", "ORG", "NAME", "ROLE");
        r = store_key_list(st, print_key, NULL);
    } else if (!strcmp(argv[optind], "revoke") && optind + 1 < argc) {
        r = store_key_revoke(st, argv[optind + 1]);
        if (r == -ENOENT)
            fprintf(stderr, "coved: no key with id or prefix '%s'\n", argv[optind + 1]);
    } else {
        usage(stderr);
        store_close(st);
        return 2;
    }
    store_close(st);
    if (r < 0 && r != -ENOENT)
        fprintf(stderr, "coved: %s\n", strerror(-r));
    return r < 0 ? 1 : 0;
}

/* `coved org quota ORG [--sandboxes N] [--cpu-milli N] [--memory-mib N] [--disk-mib N]`: set
 * the given limits of an organization (creating it with the default quota first), keep the
 * others, and print the result. A running coved reads the quota at every create. */
static int cmd_org(int argc, char **argv)
{
    static const struct option opts[] = {
        {"sandboxes", required_argument, NULL, 'n'},  {"cpu-milli", required_argument, NULL, 'c'},
        {"memory-mib", required_argument, NULL, 'm'}, {"disk-mib", required_argument, NULL, 'd'},
        {"state", required_argument, NULL, 's'},      {}};
    struct org_quota q;
    uint64_t set[4] = {0}, v;
    bool given[4] = {false};
    const char *org;
    struct store *st;
    int c, r;

    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) >= 0) {
        int i = c == 'n' ? 0 : c == 'c' ? 1 : c == 'm' ? 2 : c == 'd' ? 3 : -1;
        if (c == 's') {
            arg_state = optarg;
            continue;
        }
        /* Quota columns are SQLite integers: stay below INT64_MAX (and u32 for two). */
        if (i < 0 || parse_u64(optarg, &v) < 0 || v > (i < 2 ? UINT32_MAX : INT64_MAX)) {
            fprintf(stderr, "coved: org quota: bad option or value\n");
            usage(stderr);
            return 2;
        }
        set[i] = v;
        given[i] = true;
    }
    if (optind + 2 != argc || strcmp(argv[optind], "quota")) {
        usage(stderr);
        return 2;
    }
    org = argv[optind + 1];
    if (open_store(&st) < 0)
        return 1;
    r = store_org_ensure(st, org, NULL);
    if (r >= 0)
        r = store_org_get_quota(st, org, &q);
    if (r >= 0 && (given[0] || given[1] || given[2] || given[3])) {
        if (given[0])
            q.max_sandboxes = (uint32_t)set[0];
        if (given[1])
            q.max_cpu_milli = (uint32_t)set[1];
        if (given[2])
            q.max_memory_mib = set[2];
        if (given[3])
            q.max_disk_mib = set[3];
        r = store_org_set_quota(st, org, &q);
    }
    store_close(st);
    if (r < 0) {
        fprintf(stderr, "coved: org quota %s: %s\n", org, strerror(-r));
        return 1;
    }
    printf("org %s: sandboxes %u, cpu-milli %u, memory-mib %llu, disk-mib %llu\n", org,
           q.max_sandboxes, q.max_cpu_milli, (unsigned long long)q.max_memory_mib,
           (unsigned long long)q.max_disk_mib);
    return 0;
}

static int parse_listen(const char *s, char *host, size_t cap, uint16_t *port)
{
    const char *colon = strrchr(s, ':');
    uint32_t p;

    if (!colon || (size_t)(colon - s) >= cap || parse_u32_range(colon + 1, 0, 65535, &p) < 0)
        return -EINVAL;
    snprintf(host, cap, "%.*s", (int)(colon - s), s);
    *port = (uint16_t)p;
    return 0;
}

static int run(void)
{
    char init_path[PATH_MAX], host[256];
    struct runtime_config rc = {.state_dir = arg_state,
                                .cgroup_root = arg_cgroup_root,
                                .init_path = init_path,
                                .uid_base = arg_uid_base,
                                .disk_warm = arg_disk_warm,
                                .init_warm = arg_disk_warm ? 2 : 0,
                                .autostop_unit_ms = arg_autostop_unit_ms,
                                .net_table = arg_net_table,
                                .net_subnet = arg_net_subnet,
                                .net_dns = arg_net_dns};
    struct http_config hc = {.routes = api_routes,
                             .n_routes = api_n_routes,
                             .auth = api_auth,
                             .principal_free = api_principal_free,
                             .max_body = COVE_MAX_JSON_BODY,
                             .max_upload = COVE_MAX_UPLOAD_BYTES,
                             .conn_timeout_s = COVE_CONN_TIMEOUT_S,
                             .max_connections = COVE_MAX_CONNECTIONS,
                             .host_route = preview_host_route};
    struct cove_err err = {0};
    struct http_server *srv;
    struct store *st;
    sigset_t set;
    int sig;

    if (geteuid() != 0) {
        fprintf(stderr, "coved: must run as root (it creates namespaces, cgroups and mounts)\n");
        return 1;
    }
    if (arg_init)
        snprintf(init_path, sizeof(init_path), "%s", arg_init);
    else
        default_init_path(init_path, sizeof(init_path));
    /* Before any thread, so that the fork is cheap (spawner.h). */
    if ((sig = spawner_start(init_path)) < 0)
        fprintf(stderr, "coved: no spawner process (%s); sandbox inits are cloned by coved\n",
                strerror(-sig));
    if (open_store(&st) < 0)
        return 1;
    if (store_key_count(st, true) == 0) {
        char key[STORE_KEY_LEN + 1];
        struct key_info ki;
        if (store_key_create(st, "default", "admin", true, key, &ki) < 0) {
            fprintf(stderr, "coved: cannot create the first API key\n");
            return 1;
        }
        printf("api-key: %s\n", key);
        fflush(stdout);
    }
    if (sandbox_runtime_init(&rc, st, &err) < 0) {
        fprintf(stderr, "coved: %s\n(run `coved --check` for a diagnosis)\n", err.msg);
        return 1;
    }
    session_init(arg_state);
    preview_init(
        &(struct preview_config){.domain = arg_preview_domain, .wait_s = arg_preview_wait});
    if (strcmp(arg_listen, "none")) {
        if (parse_listen(arg_listen, host, sizeof(host), &hc.listen_port) < 0) {
            fprintf(stderr, "coved: --listen wants HOST:PORT, got '%s'\n", arg_listen);
            return 2;
        }
        hc.listen_host = host;
        if (arg_preview_relay)
            hc.divert = relay_divert;
    }
    if (strcmp(arg_socket, "none")) {
        char dir[PATH_MAX];
        snprintf(dir, sizeof(dir), "%s", arg_socket);
        char *slash = strrchr(dir, '/');
        if (slash && slash != dir) {
            *slash = '\0';
            (void)mkdir(dir, 0755);
        }
        hc.unix_path = arg_socket;
    }
    /* Signals are taken synchronously below; block them before threads start. */
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    /* after the signal mask: the relay's threads inherit it */
    if (hc.divert &&
        relay_start(&(struct relay_config){.idle_timeout_s = COVE_CONN_TIMEOUT_S,
                                           .head_timeout_ms = arg_preview_head_ms}) < 0) {
        fprintf(stderr, "coved: cannot start the preview relay\n");
        return 1;
    }
    if (http_server_start(&hc, &srv) < 0) {
        fprintf(stderr, "coved: cannot listen on %s / %s: %m\n", arg_listen, arg_socket);
        return 1;
    }
    log_info("listening on http://%s:%u%s%s", host, http_server_port(srv),
             hc.unix_path ? " and unix:" : "", hc.unix_path ? hc.unix_path : "");
    if (arg_ready_fd >= 0) {
        dprintf(arg_ready_fd, "READY port=%u\n", http_server_port(srv));
        close(arg_ready_fd);
    }
    do
        sig = sigwaitinfo(&set, NULL);
    while (sig == SIGHUP || (sig < 0 && errno == EINTR));
    log_info("shutting down (sandboxes keep running)");
    http_server_stop(srv);
    if (hc.divert)
        relay_stop();
    sandbox_runtime_shutdown();
    store_close(st);
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"state", required_argument, NULL, 's'},
                                         {"listen", required_argument, NULL, 'l'},
                                         {"socket", required_argument, NULL, 'S'},
                                         {"cgroup-root", required_argument, NULL, 'c'},
                                         {"uid-base", required_argument, NULL, 'u'},
                                         {"init", required_argument, NULL, 'i'},
                                         {"ready-fd", required_argument, NULL, 'r'},
                                         {"disk-warm", required_argument, NULL, 'w'},
                                         {"preview-domain", required_argument, NULL, 'P'},
                                         {"preview-wait", required_argument, NULL, 'W'},
                                         {"preview-relay", required_argument, NULL, 'R'},
                                         {"preview-head-timeout", required_argument, NULL, 'H'},
                                         {"autostop-unit-ms", required_argument, NULL, 'A'},
                                         {"net-table", required_argument, NULL, 'T'},
                                         {"net-subnet", required_argument, NULL, 'N'},
                                         {"net-dns", required_argument, NULL, 'D'},
                                         {"check", no_argument, NULL, 'C'},
                                         {"debug", no_argument, NULL, 'd'},
                                         {"help", no_argument, NULL, 'h'},
                                         {}};
    bool check = false;
    uint32_t v;
    int c;

    if (argc > 1 && !strcmp(argv[1], "keys"))
        return cmd_keys(argc - 1, argv + 1);
    if (argc > 1 && !strcmp(argv[1], "org"))
        return cmd_org(argc - 1, argv + 1);
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) >= 0) {
        switch (c) {
        case 's':
            arg_state = optarg;
            break;
        case 'l':
            arg_listen = optarg;
            break;
        case 'S':
            arg_socket = optarg;
            break;
        case 'c':
            arg_cgroup_root = optarg;
            break;
        case 'u':
            if (parse_u32_range(optarg, 65536, 0xffffffffu - 2 * 65536, &arg_uid_base) < 0) {
                fprintf(
                    stderr,
                    "coved: --uid-base must be 65536..4294836223 (room for one 65536-uid range)\n");
                return 2;
            }
            break;
        case 'i':
            arg_init = optarg;
            break;
        case 'r':
            if (parse_u32_range(optarg, 0, 1 << 20, &v) < 0) {
                fprintf(stderr, "coved: bad --ready-fd\n");
                return 2;
            }
            arg_ready_fd = (int)v;
            break;
        case 'w':
            if (parse_u32_range(optarg, 0, 64, &arg_disk_warm) < 0) {
                fprintf(stderr, "coved: --disk-warm must be 0..64\n");
                return 2;
            }
            break;
        case 'P':
            arg_preview_domain = optarg;
            break;
        case 'W':
            if (parse_u32_range(optarg, 0, 300, &arg_preview_wait) < 0) {
                fprintf(stderr, "coved: --preview-wait must be 0..300 seconds\n");
                return 2;
            }
            break;
        case 'R':
            if (strcmp(optarg, "on") && strcmp(optarg, "off")) {
                fprintf(stderr, "coved: --preview-relay must be on or off\n");
                return 2;
            }
            arg_preview_relay = !strcmp(optarg, "on");
            break;
        case 'H':
            if (parse_u32_range(optarg, 100, 120000, &arg_preview_head_ms) < 0) {
                fprintf(stderr, "coved: --preview-head-timeout must be 100..120000 ms\n");
                return 2;
            }
            break;
        case 'A':
            if (parse_u32_range(optarg, 100, 60000, &arg_autostop_unit_ms) < 0) {
                fprintf(stderr, "coved: --autostop-unit-ms must be 100..60000\n");
                return 2;
            }
            break;
        case 'T':
            arg_net_table = optarg;
            break;
        case 'N':
            arg_net_subnet = optarg;
            break;
        case 'D':
            arg_net_dns = optarg;
            break;
        case 'C':
            check = true;
            break;
        case 'd':
            log_set_level(LOG_LVL_DEBUG);
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (check)
        return check_host(arg_state) ? 0 : 1;
    return run();
}
