/* Schema versioning through PRAGMA user_version.
 *
 * migrations[i] takes the schema from version i to i + 1. Each step runs in its own
 * transaction together with the user_version bump, so a crash leaves the database at a
 * whole version. Released steps are never edited: change the schema by appending a step.
 * A database newer than this binary is refused rather than guessed at. */
#include <errno.h>
#include <stdio.h>

#include "base/log.h"
#include "store-internal.h"

static const char *const migrations[] = {
    /* 1: initial schema. sandbox_labels mirrors sandboxes.labels_json (kept in sync by
     * sandbox-store.c) so label filters are indexed joins, not JSON scans. uid_slot is NULL
     * for rows without a slot, which UNIQUE allows any number of. */
    "CREATE TABLE orgs ("
    "  id TEXT PRIMARY KEY NOT NULL,"
    "  name TEXT NOT NULL DEFAULT '',"
    "  max_sandboxes INTEGER NOT NULL,"
    "  max_cpu_milli INTEGER NOT NULL,"
    "  max_memory_mib INTEGER NOT NULL,"
    "  max_disk_mib INTEGER NOT NULL,"
    "  created_at INTEGER NOT NULL"
    ");"
    "CREATE TABLE api_keys ("
    "  id TEXT PRIMARY KEY NOT NULL,"
    "  org TEXT NOT NULL,"
    "  name TEXT NOT NULL DEFAULT '',"
    "  key_hash TEXT NOT NULL UNIQUE,"
    "  prefix TEXT NOT NULL,"
    "  admin INTEGER NOT NULL DEFAULT 0,"
    "  created_at INTEGER NOT NULL,"
    "  revoked_at INTEGER"
    ");"
    "CREATE INDEX api_keys_prefix ON api_keys(prefix);"
    "CREATE TABLE sandboxes ("
    "  id TEXT PRIMARY KEY NOT NULL,"
    "  org TEXT NOT NULL,"
    "  name TEXT NOT NULL,"
    "  image TEXT NOT NULL,"
    "  state TEXT NOT NULL,"
    "  labels_json TEXT NOT NULL DEFAULT '{}',"
    "  env_json TEXT NOT NULL DEFAULT '{}',"
    "  extra_json TEXT,"
    "  error_reason TEXT,"
    "  cpu_milli INTEGER NOT NULL,"
    "  memory_mib INTEGER NOT NULL,"
    "  disk_mib INTEGER NOT NULL,"
    "  pids INTEGER NOT NULL,"
    "  auto_stop_min INTEGER NOT NULL,"
    "  auto_delete_min INTEGER NOT NULL,"
    "  uid_slot INTEGER,"
    "  disk_slot INTEGER NOT NULL DEFAULT -1,"
    "  init_pid INTEGER NOT NULL DEFAULT 0,"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL,"
    "  last_activity INTEGER NOT NULL,"
    "  UNIQUE (org, name),"
    "  UNIQUE (uid_slot)"
    ");"
    "CREATE INDEX sandboxes_org_created ON sandboxes(org, created_at, id);"
    "CREATE INDEX sandboxes_created ON sandboxes(created_at, id);"
    "CREATE TABLE sandbox_labels ("
    "  sandbox_id TEXT NOT NULL REFERENCES sandboxes(id) ON DELETE CASCADE,"
    "  key TEXT NOT NULL,"
    "  value TEXT NOT NULL,"
    "  PRIMARY KEY (sandbox_id, key)"
    ") WITHOUT ROWID;"
    "CREATE INDEX sandbox_labels_kv ON sandbox_labels(key, value);"
    "CREATE TABLE settings ("
    "  key TEXT PRIMARY KEY NOT NULL,"
    "  value TEXT NOT NULL"
    ");",
    /* 2: sessions and their commands. A command's output and exit status live in files
     * under <state>/sessions/ (written by the sandbox's init); the rows say what ran. */
    "CREATE TABLE sessions ("
    "  sandbox_id TEXT NOT NULL REFERENCES sandboxes(id) ON DELETE CASCADE,"
    "  id TEXT NOT NULL,"
    "  cgroup_n INTEGER NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  PRIMARY KEY (sandbox_id, id)"
    ") WITHOUT ROWID;"
    "CREATE TABLE session_commands ("
    "  id TEXT PRIMARY KEY NOT NULL,"
    "  sandbox_id TEXT NOT NULL REFERENCES sandboxes(id) ON DELETE CASCADE,"
    "  session_id TEXT NOT NULL,"
    "  command TEXT NOT NULL,"
    "  async INTEGER NOT NULL,"
    "  pid INTEGER NOT NULL,"
    "  started_at INTEGER NOT NULL"
    ");"
    "CREATE INDEX session_commands_session ON session_commands(sandbox_id, session_id, "
    "started_at);",
    /* 3: the egress policy a sandbox opted into (NULL: no network but loopback) and the
     * slot its addresses come from (0: none). */
    ("ALTER TABLE sandboxes ADD COLUMN network_json TEXT;"
     "ALTER TABLE sandboxes ADD COLUMN net_slot INTEGER NOT NULL DEFAULT 0;"),
};

static int get_version(struct store *st, int64_t *ret)
{
    _cleanup_stmt_ sqlite3_stmt *s = NULL;
    int r;

    r = db_query_row(st, "PRAGMA user_version", NULL, NULL, &s);
    if (r < 0)
        return r;
    *ret = sqlite3_column_int64(s, 0);
    return 0;
}

/* One step under the write lock. The version is read inside the transaction so two
 * processes opening the same file at once cannot both apply a step. *ret_done is set when
 * the schema is already current. */
static int step_once(struct store *st, bool *ret_done, struct cove_err *err)
{
    _cleanup_txn_ struct store *txn = NULL;
    int64_t v = 0;
    char sql[64];
    int rc, r;

    r = db_txn_begin(st, &txn);
    if (r < 0)
        return store_err(r, err);
    r = get_version(st, &v);
    if (r < 0)
        return store_err(r, err);
    if (v < 0 || (uint64_t)v > ELEMENTSOF(migrations))
        return cove_err_set(err, -EPROTONOSUPPORT,
                            "state database schema version %lld is newer than this cove "
                            "supports (%zu)",
                            (long long)v, ELEMENTSOF(migrations));
    if ((uint64_t)v == ELEMENTSOF(migrations)) {
        *ret_done = true;
        return 0; /* the read-only transaction is rolled back by the cleanup */
    }
    rc = sqlite3_exec(st->db, migrations[v], NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        return db_fail(st, rc, err);
    /* PRAGMA takes no bound parameters; the value is our own integer. */
    (void)snprintf(sql, sizeof(sql), "PRAGMA user_version=%lld", (long long)v + 1);
    r = db_exec(st, sql);
    if (r >= 0)
        r = db_txn_commit(&txn);
    if (r < 0)
        return store_err(r, err);
    log_debug("store: migrated schema to version %lld", (long long)v + 1);
    *ret_done = false;
    return 0;
}

int store_migrate(struct store *st, struct cove_err *err)
{
    bool done = false;
    int r;

    while (!done) {
        r = step_once(st, &done, err);
        if (r < 0)
            return r;
    }
    return 0;
}
