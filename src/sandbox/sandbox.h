/* Sandboxes: the in-memory registry and the lifecycle (create, start, stop, delete,
 * restore after a daemon restart, auto-stop). The store holds the durable record; this
 * module owns the live parts (init process, cgroups, disk).
 *
 * Objects are reference-counted: the registry holds one reference, and every request that
 * works on a sandbox holds one from sandbox_lookup() to sandbox_unref(). Lifecycle changes
 * serialise on the sandbox's lock; execs do not hold it while their command runs. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/err.h"
#include "sandbox/egress.h"
#include "store/store.h"

struct sandbox;

enum sandbox_state {
    SANDBOX_CREATING,
    SANDBOX_STARTED,
    SANDBOX_STOPPING,
    SANDBOX_STOPPED,
    SANDBOX_STARTING,
    SANDBOX_DESTROYING,
    SANDBOX_DESTROYED,
    SANDBOX_ERROR,
    _SANDBOX_STATE_MAX,
    _SANDBOX_STATE_INVALID = -22,
};
const char *sandbox_state_to_string(enum sandbox_state s);
enum sandbox_state sandbox_state_from_string(const char *s);

struct sandbox_spec {
    char name[64];
    char image[64];
    json_t *env;    /* object of strings (owned) */
    json_t *labels; /* object of strings (owned) */
    json_t *extra;  /* compatibility fields (owned, may be NULL) */
    uint32_t cpu_milli;
    uint32_t memory_mib;
    uint32_t disk_mib;
    uint32_t pids;
    int32_t auto_stop_min;
    int32_t auto_delete_min;
    struct egress_policy network; /* default: none */
};
void sandbox_spec_init(struct sandbox_spec *s);
void sandbox_spec_done(struct sandbox_spec *s);
/* Parse a /v1 create body. Unknown fields and bad values fill err (-EINVAL). */
int sandbox_spec_from_json(json_t *body, struct sandbox_spec *ret, struct cove_err *err);
/* Shared validators (also used by the compatibility API). */
int sandbox_name_valid(const char *name);
int sandbox_string_map_valid(json_t *obj, const char *what, size_t max_n, size_t max_key,
                             size_t max_val, struct cove_err *err);

struct runtime_config {
    const char *state_dir;
    const char *cgroup_root;
    const char *init_path;     /* cove-init binary */
    uint32_t uid_base;         /* first host uid of sandbox ranges */
    unsigned disk_warm;        /* pooled disks kept ready */
    unsigned init_warm;        /* sandbox inits started ahead of time */
    uint32_t autostop_unit_ms; /* length of an auto-stop "minute" (tests shorten it); 0: 60000 */
    const char *net_table;     /* nftables table for egress rules (inet family) */
    const char *net_subnet;    /* IPv4 CIDR sandbox veths are numbered from */
    const char *net_dns;       /* upstream resolver for domain allow lists (NULL: the host's) */
};

int sandbox_runtime_init(const struct runtime_config *cfg, struct store *st, struct cove_err *err);
void sandbox_runtime_shutdown(void);
struct store *sandbox_store(void);

/* -ENOSPC (INSUFFICIENT_STORAGE) when the state filesystem would keep less than
 * COVE_STATE_MIN_FREE_MIB after need more bytes. Sandbox disks are sparse images on it, so a
 * write the host cannot back would be lost at writeback, long after it was acknowledged. */
int sandbox_check_space(uint64_t need, struct cove_err *err);
/* Create and start a sandbox of org. -EDQUOT ("QUOTA_EXCEEDED", naming each quota the
 * request would pass) when the org's quota cannot take it: every sandbox that is not
 * destroyed counts against the sandbox count and disk, running ones against CPU and memory. */
int sandbox_create(const struct sandbox_spec *spec, const char *org, struct sandbox **ret,
                   struct cove_err *err);
/* Delete an org that has no sandboxes (store_org_delete(), serialised with creates). */
int sandbox_org_delete(const char *org);
/* Find by id or name within org (NULL = any org). Returns a reference. */
int sandbox_lookup(const char *org, const char *id_or_name, struct sandbox **ret,
                   struct cove_err *err);
struct sandbox *sandbox_ref(struct sandbox *sb);
void sandbox_unref(struct sandbox *sb);
/* Start a stopped sandbox; -EDQUOT when its CPU or memory does not fit the org's quota. */
int sandbox_start(struct sandbox *sb, struct cove_err *err);
int sandbox_stop(struct sandbox *sb, struct cove_err *err);
/* Delete: the sandbox leaves the registry and its init is killed; its resources are released
 * by background teardown threads, or before returning when wait is set. */
int sandbox_delete(struct sandbox *sb, bool wait, struct cove_err *err);
/* Wait until every queued teardown is done. */
void sandbox_teardown_wait(void);
/* Call cb with a reference for each sandbox of org (NULL = all), in creation order. */
int sandbox_foreach(const char *org, int (*cb)(struct sandbox *sb, void *ud), void *ud);
/* Copy the current record (caller frees with store_sandbox_rec_free). */
void sandbox_snapshot(struct sandbox *sb, struct sandbox_rec *ret);
/* Persist changed settings (labels, intervals) from rec; only mutable fields are used. */
int sandbox_update_settings(struct sandbox *sb, const struct sandbox_rec *rec,
                            struct cove_err *err);
void sandbox_touch(struct sandbox *sb);
void sandbox_busy(struct sandbox *sb, int delta); /* running commands count as activity */
/* Count a running exec against a cap: -EBUSY when max are already running. */
int sandbox_exec_enter(struct sandbox *sb, int max);
void sandbox_exec_leave(struct sandbox *sb);

const char *sandbox_id(const struct sandbox *sb);
enum sandbox_state sandbox_state(struct sandbox *sb);
/* For exec: the control socket, state check and exec counters. */
int sandbox_ctl_connect(struct sandbox *sb, struct cove_err *err);
uint64_t sandbox_next_exec(struct sandbox *sb);
/* An O_PATH fd on the sandbox's root directory as its processes see it. */
int sandbox_root_fd(struct sandbox *sb, struct cove_err *err);
/* Host pid of the sandbox's init, 0 when not running. */
pid_t sandbox_init_pid(struct sandbox *sb);
/* Open /proc/<init>/<what> of a started sandbox (e.g. "net/tcp"). */
int sandbox_open_proc(struct sandbox *sb, const char *what, int flags, struct cove_err *err);
/* An fd on the sandbox's network namespace (for opening sockets inside it). */
int sandbox_netns_fd(struct sandbox *sb, struct cove_err *err);
/* Host uid/gid of the sandbox user. */
uid_t sandbox_host_uid(const struct sandbox *sb);
/* Environment for a command: base + sandbox env + extra (object of strings, may be NULL).
 * Returns a NULL-terminated malloc'd vector of "K=V" strings. */
char **sandbox_build_env(struct sandbox *sb, json_t *extra);
void sandbox_env_free(char **envp);

/* Leak accounting for tests and /v1/debug. */
struct runtime_counts {
    uint64_t sandboxes;
    uint64_t running;
    uint64_t cgroups;
    uint64_t disks;
};
void sandbox_runtime_counts(struct runtime_counts *ret);
