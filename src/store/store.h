/* Persistent state in SQLite (WAL mode). Every SQL string in cove lives in src/store/.
 *
 * One connection, serialised by an internal mutex, so every function is thread-safe.
 * Times are milliseconds since the Unix epoch. Strings in records are owned by the record
 * and released with store_sandbox_rec_free(). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

struct store;

/* Open (creating and migrating as needed) the database at path; ":memory:" works. */
int store_open(const char *path, struct store **ret, struct cove_err *err);
void store_close(struct store *st);

/* Fill err with the canonical message for a store return code r < 0 (e.g. -ENOSPC "state
 * database is full (disk full?)", -EUCLEAN "state database is corrupt") for the functions
 * below that take no cove_err. Returns r. Infrastructure codes any function may return:
 * -ENOSPC full, -EUCLEAN corrupt, -EAGAIN busy/locked, -EROFS read-only, -EIO, -ENOMEM. */
int store_err(int r, struct cove_err *err);

/* ---- organizations ---- */
struct org_quota {
    uint32_t max_sandboxes;
    uint32_t max_cpu_milli; /* sum over live sandboxes */
    uint64_t max_memory_mib;
    uint64_t max_disk_mib;
};
/* Create the org if missing, with q or (q NULL) the default quota: 1000 sandboxes, 64000 cpu
 * milli, 262144 MiB memory, 4194304 MiB disk. An existing org keeps its quota. */
int store_org_ensure(struct store *st, const char *org_id, const struct org_quota *q);
void store_org_default_quota(struct org_quota *ret);
/* -ENOENT if the org was never ensured. */
int store_org_get_quota(struct store *st, const char *org_id, struct org_quota *ret);
/* Upsert: creates the org if missing. */
int store_org_set_quota(struct store *st, const char *org_id, const struct org_quota *q);
struct org_info {
    char id[65];
    char name[65];
    struct org_quota quota;
    int64_t created_at;
};
/* Create a new org with q (NULL: the default quota); name NULL or "" means the id. -EEXIST if
 * the id is taken, -EUSERS if max_orgs orgs exist already. ret may be NULL. */
int store_org_create(struct store *st, const char *org_id, const char *name,
                     const struct org_quota *q, uint32_t max_orgs, struct org_info *ret);
/* -ENOENT if absent. */
int store_org_get(struct store *st, const char *org_id, struct org_info *ret);
/* Call cb for each org, oldest first; stops early if cb returns <0 (that value is returned). */
int store_org_list(struct store *st, int (*cb)(const struct org_info *o, void *ud), void *ud);
/* Delete the org and all its keys (they stop authenticating at once). -ENOENT if absent,
 * -ENOTEMPTY while any sandbox row of the org exists. */
int store_org_delete(struct store *st, const char *org_id);

/* ---- API keys ----
 * Keys are "cove_" + 40 lowercase hex chars. Only SHA-256(key) is stored. */
#define STORE_KEY_LEN 45
struct key_info {
    char id[17]; /* public key id, 16 hex */
    char org[65];
    char name[65];
    char prefix[13]; /* first 12 chars of the key, for display */
    bool admin;
    bool revoked;
    int64_t created_at;
};
/* Create a key; writes the plaintext (shown once) into ret_key[STORE_KEY_LEN + 1]. Also
 * ensures the org row (default quota). name NULL means "". */
int store_key_create(struct store *st, const char *org, const char *name, bool admin, char *ret_key,
                     struct key_info *ret_info);
/* Like store_key_create(), for an org that must exist already (-ENOENT otherwise) and that
 * holds fewer than max_active unrevoked keys (-EUSERS otherwise). */
int store_key_issue(struct store *st, const char *org, const char *name, bool admin,
                    uint32_t max_active, char *ret_key, struct key_info *ret_info);
/* By exact id; -ENOENT if absent. Revoked keys are found too. */
int store_key_get(struct store *st, const char *id, struct key_info *ret_info);
/* Look up a presented token; -EACCES if unknown or revoked. */
int store_key_verify(struct store *st, const char *token, struct key_info *ret_info);
/* Call cb for each key (revoked ones included); stops early if cb returns <0. */
int store_key_list(struct store *st, int (*cb)(const struct key_info *k, void *ud), void *ud);
/* Revoke by id or by full prefix; -ENOENT if none matched, -EINVAL if a prefix matches more
 * than one key. Revoking a revoked key succeeds. */
int store_key_revoke(struct store *st, const char *id_or_prefix);
int store_key_count(struct store *st, bool include_revoked);

/* ---- sandboxes ---- */
struct sandbox_rec {
    char id[33];
    char org[65];
    char name[64];
    char image[64];
    char state[24];     /* sandbox_state_to_string() value */
    char *labels_json;  /* JSON object, string values */
    char *env_json;     /* JSON object, string values */
    char *extra_json;   /* JSON object: compatibility fields (may be NULL) */
    char *error_reason; /* may be NULL */
    char *network_json; /* egress policy (egress_policy_to_json); NULL = none */
    uint32_t cpu_milli;
    uint32_t memory_mib;
    uint32_t disk_mib;
    uint32_t pids;
    int32_t auto_stop_min;   /* 0 = never */
    int32_t auto_delete_min; /* -1 = never, 0 = delete on stop */
    uint32_t uid_slot;       /* host uid range index; unique among rows */
    int32_t disk_slot;       /* -1 = none */
    uint32_t net_slot;       /* egress address slot (egress.h), 0 = none */
    int64_t init_pid;        /* host pid of the sandbox init, 0 when not running */
    int64_t created_at;
    int64_t updated_at;
    int64_t last_activity;
};
void store_sandbox_rec_free(struct sandbox_rec *r); /* frees the heap strings, not r */

/* Insert; -EEXIST (kind "NAME_TAKEN") when (org, name) or id exists; -EADDRINUSE (kind
 * "UID_SLOT_TAKEN") when another row holds r->uid_slot (allocate again and retry); -EINVAL
 * for labels_json that is not an object of strings. NULL labels/env are stored as "{}";
 * zero timestamps become now; uid_slot 0 means "no slot". */
int store_sandbox_insert(struct store *st, const struct sandbox_rec *r, struct cove_err *err);
/* Replace every mutable column of the row with r's values (all but id, org, created_at;
 * updated_at 0 becomes now); -ENOENT if gone or not in r->org, -EEXIST on a name or uid
 * slot collision. */
int store_sandbox_update(struct store *st, const struct sandbox_rec *r);
/* Also sets updated_at to now; error_reason NULL clears it. -ENOENT if gone. */
int store_sandbox_set_state(struct store *st, const char *id, const char *state,
                            const char *error_reason, int64_t init_pid);
int store_sandbox_touch(struct store *st, const char *id, int64_t now_ms);
/* Find by id, or by name within org (org NULL: any org, ids only). -ENOENT if absent. */
int store_sandbox_get(struct store *st, const char *org, const char *id_or_name,
                      struct sandbox_rec *ret);
/* List rows of org (NULL = all orgs) ordered by created_at, id. label_keys/values: every
 * pair must match (exact). after_id: keyset cursor (exclusive), NULL for the first page.
 * limit 0 = no limit. cb returns <0 to stop (that value is returned). cb runs with the
 * store unlocked, so it may call the store. -EINVAL if after_id names no sandbox (of org). */
int store_sandbox_list(struct store *st, const char *org, const char *const *label_keys,
                       const char *const *label_values, size_t n_labels, const char *after_id,
                       uint32_t limit, int (*cb)(const struct sandbox_rec *r, void *ud), void *ud);
int store_sandbox_delete(struct store *st, const char *id);
/* State "destroying", name freed ("~" + id); the row keeps its uid slot until deleted. */
int store_sandbox_retire(struct store *st, const char *id);
/* What an org's sandboxes hold against its quota: the count and disk of every sandbox that is
 * not destroyed; CPU and memory of those that are creating, starting, started or stopping
 * (a stopped sandbox runs nothing). ret_ may be NULL. */
int store_sandbox_usage(struct store *st, const char *org, uint32_t *ret_count,
                        uint64_t *ret_cpu_milli, uint64_t *ret_memory_mib, uint64_t *ret_disk_mib);
/* Smallest uid slot >= 1 not used by any row. Not reserved: see store_sandbox_insert(). */
int store_alloc_uid_slot(struct store *st, uint32_t *ret);

/* ---- generic key/value settings (daemon-level) ---- */
/* Returns the value's length, -ENOENT if unset, -ENOBUFS if it does not fit in cap. */
int store_setting_get(struct store *st, const char *key, char *buf, size_t cap);
/* value NULL deletes the setting. */
int store_setting_set(struct store *st, const char *key, const char *value);

/* ---- sessions (session-store.c) ---- */
struct session_rec {
    char sandbox_id[33];
    char id[65];
    int64_t cgroup_n;
    int64_t created_at;
};
struct command_rec {
    char id[37];
    char sandbox_id[33];
    char session_id[65];
    char *command; /* owned; free() */
    bool async;
    int64_t pid; /* inside the sandbox */
    int64_t started_at;
};
/* -EEXIST if the session id is taken in that sandbox. */
int store_session_insert(struct store *st, const struct session_rec *r);
int store_session_get(struct store *st, const char *sandbox_id, const char *id,
                      struct session_rec *ret);
int store_session_list(struct store *st, const char *sandbox_id,
                       int (*cb)(const struct session_rec *r, void *ud), void *ud);
/* Deletes the session and its command rows. */
int store_session_delete(struct store *st, const char *sandbox_id, const char *id);
int store_command_insert(struct store *st, const struct command_rec *r);
int store_command_get(struct store *st, const char *sandbox_id, const char *id,
                      struct command_rec *ret);
/* Commands of one session in start order. cb gets a record it must not keep. */
int store_command_list(struct store *st, const char *sandbox_id, const char *session_id,
                       int (*cb)(const struct command_rec *r, void *ud), void *ud);
