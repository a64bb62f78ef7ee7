/* Organizations and their quotas (the orgs table).
 *
 * An org row exists once anything has called store_org_ensure() for it (store_key_create()
 * does so too) or the admin API created it with store_org_create(). Deleting an org deletes
 * its keys and is refused while any sandbox row names it. Quota values are stored as SQLite
 * integers, so 64-bit limits must stay below INT64_MAX. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/limits.h"
#include "store-internal.h"

static const struct org_quota default_quota = {
    .max_sandboxes = COVE_MAX_SANDBOXES,
    .max_cpu_milli = 64000,
    .max_memory_mib = 262144,
    .max_disk_mib = 4194304,
};

void store_org_default_quota(struct org_quota *ret)
{
    *ret = default_quota;
}

static int check_args(const char *org_id, const struct org_quota *q)
{
    if (!store_str_fits(org_id, sizeof(((struct key_info *)NULL)->org)))
        return -EINVAL;
    if (q && (q->max_memory_mib > INT64_MAX || q->max_disk_mib > INT64_MAX))
        return -ERANGE;
    return 0;
}

static int bind_quota(sqlite3_stmt *s, const struct org_quota *q)
{
    int r;

    if ((r = db_bind_i64(s, 2, q->max_sandboxes)) < 0 ||
        (r = db_bind_i64(s, 3, q->max_cpu_milli)) < 0 ||
        (r = db_bind_i64(s, 4, (int64_t)q->max_memory_mib)) < 0 ||
        (r = db_bind_i64(s, 5, (int64_t)q->max_disk_mib)) < 0)
        return r;
    return 0;
}

int store_org_ensure_locked(struct store *st, const char *org_id, const struct org_quota *q)
{
    _cleanup_stmt_ sqlite3_stmt *s = NULL;
    int r;

    r = check_args(org_id, q);
    if (r < 0)
        return r;
    r = db_prepare(st,
                   "INSERT OR IGNORE INTO orgs (id, name, max_sandboxes, max_cpu_milli, "
                   "max_memory_mib, max_disk_mib, created_at) VALUES (?1, ?1, ?2, ?3, ?4, ?5, ?6)",
                   &s);
    if (r < 0)
        return r;
    if ((r = db_bind_text(s, 1, org_id)) < 0 || (r = bind_quota(s, q ? q : &default_quota)) < 0 ||
        (r = db_bind_i64(s, 6, store_now_ms())) < 0)
        return r;
    r = db_step(st, s);
    return r < 0 ? r : 0;
}

/* Create the org if missing (with q, or the default quota when q is NULL). An existing org
 * keeps its quota: use store_org_set_quota() to change it. */
int store_org_ensure(struct store *st, const char *org_id, const struct org_quota *q)
{
    STORE_LOCK(st);
    return store_org_ensure_locked(st, org_id, q);
}

/* -ENOENT if the org was never ensured. */
int store_org_get_quota(struct store *st, const char *org_id, struct org_quota *ret)
{
    STORE_LOCK(st);
    _cleanup_stmt_ sqlite3_stmt *s = NULL;
    int r;

    r = check_args(org_id, NULL);
    if (r < 0)
        return r;
    r = db_query(st,
                 "SELECT max_sandboxes, max_cpu_milli, max_memory_mib, max_disk_mib "
                 "FROM orgs WHERE id = ?1",
                 org_id, NULL, &s);
    if (r < 0)
        return r;
    if (r != SQLITE_ROW)
        return -ENOENT;
    *ret = (struct org_quota){
        .max_sandboxes = (uint32_t)sqlite3_column_int64(s, 0),
        .max_cpu_milli = (uint32_t)sqlite3_column_int64(s, 1),
        .max_memory_mib = (uint64_t)sqlite3_column_int64(s, 2),
        .max_disk_mib = (uint64_t)sqlite3_column_int64(s, 3),
    };
    return 0;
}

/* Upsert: creates the org if it does not exist yet. */
int store_org_set_quota(struct store *st, const char *org_id, const struct org_quota *q)
{
    STORE_LOCK(st);
    _cleanup_stmt_ sqlite3_stmt *s = NULL;
    int r;

    if (!q)
        return -EINVAL;
    r = check_args(org_id, q);
    if (r < 0)
        return r;
    r = db_prepare(st,
                   "INSERT INTO orgs (id, name, max_sandboxes, max_cpu_milli, max_memory_mib, "
                   "max_disk_mib, created_at) VALUES (?1, ?1, ?2, ?3, ?4, ?5, ?6) "
                   "ON CONFLICT (id) DO UPDATE SET max_sandboxes = excluded.max_sandboxes, "
                   "max_cpu_milli = excluded.max_cpu_milli, "
                   "max_memory_mib = excluded.max_memory_mib, "
                   "max_disk_mib = excluded.max_disk_mib",
                   &s);
    if (r < 0)
        return r;
    if ((r = db_bind_text(s, 1, org_id)) < 0 || (r = bind_quota(s, q)) < 0 ||
        (r = db_bind_i64(s, 6, store_now_ms())) < 0)
        return r;
    r = db_step(st, s);
    return r < 0 ? r : 0;
}

#define ORG_COLUMNS                                                                                \
    "id, name, max_sandboxes, max_cpu_milli, max_memory_mib, max_disk_mib, created_at"

static void row_to_org(sqlite3_stmt *s, struct org_info *o)
{
    memset(o, 0, sizeof(*o));
    db_col_copy(s, 0, o->id, sizeof(o->id));
    db_col_copy(s, 1, o->name, sizeof(o->name));
    o->quota = (struct org_quota){
        .max_sandboxes = (uint32_t)sqlite3_column_int64(s, 2),
        .max_cpu_milli = (uint32_t)sqlite3_column_int64(s, 3),
        .max_memory_mib = (uint64_t)sqlite3_column_int64(s, 4),
        .max_disk_mib = (uint64_t)sqlite3_column_int64(s, 5),
    };
    o->created_at = sqlite3_column_int64(s, 6);
}

/* The count and the insert share one transaction, so concurrent creates cannot pass
 * max_orgs between them. */
int store_org_create(struct store *st, const char *org_id, const char *name,
                     const struct org_quota *q, uint32_t max_orgs, struct org_info *ret)
{
    STORE_LOCK(st);
    _cleanup_txn_ struct store *txn = NULL;
    _cleanup_stmt_ sqlite3_stmt *c = NULL, *s = NULL;
    struct org_info o = {0};
    int r;

    if (!name || !name[0])
        name = org_id;
    r = check_args(org_id, q);
    if (r < 0)
        return r;
    if (!store_str_fits(name, sizeof(o.name)))
        return -EINVAL;
    r = db_txn_begin(st, &txn);
    if (r < 0)
        return r;
    r = db_query_row(st, "SELECT count(*), (SELECT count(*) FROM orgs WHERE id = ?1) FROM orgs",
                     org_id, NULL, &c);
    if (r < 0)
        return r;
    if (sqlite3_column_int64(c, 1) > 0)
        return -EEXIST;
    if (sqlite3_column_int64(c, 0) >= max_orgs)
        return -EUSERS;
    snprintf(o.id, sizeof(o.id), "%s", org_id);
    snprintf(o.name, sizeof(o.name), "%s", name);
    o.quota = q ? *q : default_quota;
    o.created_at = store_now_ms();
    r = db_prepare(st,
                   "INSERT INTO orgs (id, max_sandboxes, max_cpu_milli, max_memory_mib, "
                   "max_disk_mib, created_at, name) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                   &s);
    if (r < 0)
        return r;
    if ((r = db_bind_text(s, 1, o.id)) < 0 || (r = bind_quota(s, &o.quota)) < 0 ||
        (r = db_bind_i64(s, 6, o.created_at)) < 0 || (r = db_bind_text(s, 7, o.name)) < 0)
        return r;
    r = db_step(st, s);
    if (r < 0)
        return r;
    r = db_txn_commit(&txn);
    if (r < 0)
        return r;
    if (ret)
        *ret = o;
    return 0;
}

int store_org_get(struct store *st, const char *org_id, struct org_info *ret)
{
    STORE_LOCK(st);
    _cleanup_stmt_ sqlite3_stmt *s = NULL;
    int r;

    r = check_args(org_id, NULL);
    if (r < 0)
        return r;
    r = db_query(st, "SELECT " ORG_COLUMNS " FROM orgs WHERE id = ?1", org_id, NULL, &s);
    if (r < 0)
        return r;
    if (r != SQLITE_ROW)
        return -ENOENT;
    row_to_org(s, ret);
    return 0;
}

/* db_collect() row callback. */
static void collect_orgs_row(sqlite3_stmt *s, void *elem)
{
    row_to_org(s, elem);
}

/* Snapshot every org under the lock, so the callback can run without it. */
static int collect_orgs(struct store *st, struct org_info **ret, size_t *ret_n)
{
    STORE_LOCK(st);
    return db_collect(st, "SELECT " ORG_COLUMNS " FROM orgs ORDER BY created_at, id", NULL, NULL,
                      sizeof(**ret), collect_orgs_row, (void **)ret, ret_n);
}

int store_org_list(struct store *st, int (*cb)(const struct org_info *o, void *ud), void *ud)
{
    _cleanup_free_ struct org_info *v = NULL;
    size_t n = 0;
    int r;

    r = collect_orgs(st, &v, &n);
    if (r < 0)
        return r;
    for (size_t i = 0; i < n; i++) {
        r = cb(&v[i], ud);
        if (r < 0)
            return r;
    }
    return 0;
}

/* The sandbox check, the key deletion and the org deletion are one transaction: a sandbox
 * inserted concurrently either lands before (and the delete is refused) or fails its quota
 * read after (the org is gone). */
int store_org_delete(struct store *st, const char *org_id)
{
    STORE_LOCK(st);
    _cleanup_txn_ struct store *txn = NULL;
    _cleanup_stmt_ sqlite3_stmt *c = NULL, *dk = NULL, *d = NULL;
    int r;

    r = check_args(org_id, NULL);
    if (r < 0)
        return r;
    r = db_txn_begin(st, &txn);
    if (r < 0)
        return r;
    r = db_query_row(st,
                     "SELECT (SELECT count(*) FROM orgs WHERE id = ?1), "
                     "(SELECT count(*) FROM sandboxes WHERE org = ?1)",
                     org_id, NULL, &c);
    if (r < 0)
        return r;
    if (sqlite3_column_int64(c, 0) == 0)
        return -ENOENT;
    if (sqlite3_column_int64(c, 1) > 0)
        return -ENOTEMPTY;
    r = db_query(st, "DELETE FROM api_keys WHERE org = ?1", org_id, NULL, &dk);
    if (r < 0)
        return r;
    r = db_query(st, "DELETE FROM orgs WHERE id = ?1", org_id, NULL, &d);
    if (r < 0)
        return r;
    return db_txn_commit(&txn);
}
