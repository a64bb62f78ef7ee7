/* Organizations and their quotas (the orgs table).
 *
 * An org row exists once anything has called store_org_ensure() for it (store_key_create()
 * does so too). Quota values are stored as SQLite integers, so 64-bit limits must stay
 * below INT64_MAX. */
#include <errno.h>
#include <stdint.h>

#include "base/limits.h"
#include "store-internal.h"

static const struct org_quota default_quota = {
    .max_sandboxes = COVE_MAX_SANDBOXES,
    .max_cpu_milli = 64000,
    .max_memory_mib = 262144,
    .max_disk_mib = 4194304,
};

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
    r = db_prepare(st,
                   "SELECT max_sandboxes, max_cpu_milli, max_memory_mib, max_disk_mib "
                   "FROM orgs WHERE id = ?1",
                   &s);
    if (r < 0)
        return r;
    r = db_bind_text(s, 1, org_id);
    if (r < 0)
        return r;
    r = db_step(st, s);
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
