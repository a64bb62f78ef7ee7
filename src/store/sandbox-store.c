/* Sandbox records (the sandboxes and sandbox_labels tables).
 *
 * sandbox_labels is a derived index of sandboxes.labels_json: every write of labels_json
 * rewrites the label rows in the same transaction, and ON DELETE CASCADE removes them with
 * the sandbox, so a label filter is an indexed join and never parses JSON. labels_json must
 * therefore be a JSON object whose values are all strings; NULL is stored as "{}".
 *
 * uid_slot 0 means "no slot" and is stored as NULL, so any number of slotless rows can
 * coexist under UNIQUE(uid_slot). id, org and created_at never change after insert. */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/limits.h"
#include "store-internal.h"

#define SB_COLUMNS                                                                                 \
    "s.id, s.org, s.name, s.image, s.state, s.labels_json, s.env_json, s.extra_json, "             \
    "s.error_reason, s.cpu_milli, s.memory_mib, s.disk_mib, s.pids, s.auto_stop_min, "             \
    "s.auto_delete_min, coalesce(s.uid_slot, 0), s.disk_slot, s.init_pid, s.created_at, "          \
    "s.updated_at, s.last_activity, s.network_json, s.net_slot"

#define LIST_SQL_MAX (16u << 10)

void store_sandbox_rec_free(struct sandbox_rec *r)
{
    if (!r)
        return;
    free(r->labels_json);
    free(r->env_json);
    free(r->extra_json);
    free(r->error_reason);
    free(r->network_json);
    r->labels_json = r->env_json = r->extra_json = r->error_reason = r->network_json = NULL;
}

/* Fill *r from the SB_COLUMNS of the current row. On failure *r holds no allocations. */
static int row_to_rec(sqlite3_stmt *s, struct sandbox_rec *r)
{
    int k;

    memset(r, 0, sizeof(*r));
    db_col_copy(s, 0, r->id, sizeof(r->id));
    db_col_copy(s, 1, r->org, sizeof(r->org));
    db_col_copy(s, 2, r->name, sizeof(r->name));
    db_col_copy(s, 3, r->image, sizeof(r->image));
    db_col_copy(s, 4, r->state, sizeof(r->state));
    if ((k = db_col_strdup(s, 5, &r->labels_json)) < 0 ||
        (k = db_col_strdup(s, 6, &r->env_json)) < 0 ||
        (k = db_col_strdup(s, 7, &r->extra_json)) < 0 ||
        (k = db_col_strdup(s, 8, &r->error_reason)) < 0 ||
        (k = db_col_strdup(s, 21, &r->network_json)) < 0) {
        store_sandbox_rec_free(r);
        return k;
    }
    r->cpu_milli = (uint32_t)sqlite3_column_int64(s, 9);
    r->memory_mib = (uint32_t)sqlite3_column_int64(s, 10);
    r->disk_mib = (uint32_t)sqlite3_column_int64(s, 11);
    r->pids = (uint32_t)sqlite3_column_int64(s, 12);
    r->auto_stop_min = (int32_t)sqlite3_column_int64(s, 13);
    r->net_slot = (uint32_t)sqlite3_column_int64(s, 22);
    r->auto_delete_min = (int32_t)sqlite3_column_int64(s, 14);
    r->uid_slot = (uint32_t)sqlite3_column_int64(s, 15);
    r->disk_slot = (int32_t)sqlite3_column_int64(s, 16);
    r->init_pid = sqlite3_column_int64(s, 17);
    r->created_at = sqlite3_column_int64(s, 18);
    r->updated_at = sqlite3_column_int64(s, 19);
    r->last_activity = sqlite3_column_int64(s, 20);
    return 0;
}

/* Check the fixed-size strings are terminated and non-empty where required. Returns a
 * description of the first bad field, or NULL. */
static const char *rec_invalid(const struct sandbox_rec *r)
{
    if (!store_str_fits(r->id, sizeof(r->id)))
        return "id";
    if (!store_str_fits(r->org, sizeof(r->org)))
        return "org";
    if (!store_str_fits(r->name, sizeof(r->name)))
        return "name";
    if (strnlen(r->image, sizeof(r->image)) >= sizeof(r->image))
        return "image";
    if (!store_str_fits(r->state, sizeof(r->state)))
        return "state";
    return NULL;
}

/* Parse labels_json (NULL = empty) into an object of string values. */
static int parse_labels(const char *labels_json, json_t **ret)
{
    _cleanup_(json_decrefp) json_t *o = NULL;
    const char *k;
    json_t *v;

    o = labels_json ? json_loads(labels_json, JSON_REJECT_DUPLICATES, NULL) : json_object();
    if (!o || !json_is_object(o))
        return -EINVAL;
    json_object_foreach(o, k, v) if (!json_is_string(v)) return -EINVAL;
    *ret = TAKE_PTR(o);
    return 0;
}

/* Rewrite the label rows of sandbox id from labels. Caller holds a transaction. */
static int sync_labels(struct store *st, const char *id, json_t *labels)
{
    _cleanup_stmt_ sqlite3_stmt *del = NULL, *ins = NULL;
    const char *k;
    json_t *v;
    int r;

    r = db_prepare(st, "DELETE FROM sandbox_labels WHERE sandbox_id = ?1", &del);
    if (r < 0)
        return r;
    if ((r = db_bind_text(del, 1, id)) < 0 || (r = db_step(st, del)) < 0)
        return r;
    r = db_prepare(st, "INSERT INTO sandbox_labels (sandbox_id, key, value) VALUES (?1, ?2, ?3)",
                   &ins);
    if (r < 0)
        return r;
    json_object_foreach(labels, k, v)
    {
        sqlite3_reset(ins);
        if ((r = db_bind_text(ins, 1, id)) < 0 || (r = db_bind_text(ins, 2, k)) < 0 ||
            (r = db_bind_text(ins, 3, json_string_value(v))) < 0 || (r = db_step(st, ins)) < 0)
            return r;
    }
    return 0;
}

/* Parameters ?1..?23 shared by the INSERT and UPDATE statements; 0 timestamps become now. */
static int bind_rec(sqlite3_stmt *s, const struct sandbox_rec *r, int64_t now)
{
    int k;

    if ((k = db_bind_text(s, 1, r->id)) < 0 || (k = db_bind_text(s, 2, r->org)) < 0 ||
        (k = db_bind_text(s, 3, r->name)) < 0 || (k = db_bind_text(s, 4, r->image)) < 0 ||
        (k = db_bind_text(s, 5, r->state)) < 0 ||
        (k = db_bind_text(s, 6, r->labels_json ? r->labels_json : "{}")) < 0 ||
        (k = db_bind_text(s, 7, r->env_json ? r->env_json : "{}")) < 0 ||
        (k = db_bind_text(s, 8, r->extra_json)) < 0 ||
        (k = db_bind_text(s, 9, r->error_reason)) < 0)
        return k;
    if ((k = db_bind_i64(s, 10, r->cpu_milli)) < 0 || (k = db_bind_i64(s, 11, r->memory_mib)) < 0 ||
        (k = db_bind_i64(s, 12, r->disk_mib)) < 0 || (k = db_bind_i64(s, 13, r->pids)) < 0 ||
        (k = db_bind_i64(s, 14, r->auto_stop_min)) < 0 ||
        (k = db_bind_i64(s, 15, r->auto_delete_min)) < 0 ||
        (k = db_bind_i64(s, 16, r->uid_slot)) < 0 || (k = db_bind_i64(s, 17, r->disk_slot)) < 0 ||
        (k = db_bind_i64(s, 18, r->init_pid)) < 0)
        return k;
    if ((k = db_bind_i64(s, 19, r->created_at ? r->created_at : now)) < 0 ||
        (k = db_bind_i64(s, 20, r->updated_at ? r->updated_at : now)) < 0 ||
        (k = db_bind_i64(s, 21, r->last_activity ? r->last_activity : now)) < 0 ||
        (k = db_bind_text(s, 22, r->network_json)) < 0 || (k = db_bind_i64(s, 23, r->net_slot)) < 0)
        return k;
    return 0;
}

/* After a unique-constraint failure inside the insert transaction, say which one it was. */
static int explain_conflict(struct store *st, const struct sandbox_rec *r, struct cove_err *err)
{
    _cleanup_stmt_ sqlite3_stmt *s = NULL;
    int k;

    k = db_prepare(st,
                   "SELECT EXISTS (SELECT 1 FROM sandboxes WHERE org = ?1 AND name = ?2), "
                   "EXISTS (SELECT 1 FROM sandboxes WHERE id = ?3)",
                   &s);
    if (k < 0)
        return store_err(k, err);
    if ((k = db_bind_text(s, 1, r->org)) < 0 || (k = db_bind_text(s, 2, r->name)) < 0 ||
        (k = db_bind_text(s, 3, r->id)) < 0 || (k = db_step(st, s)) < 0)
        return store_err(k, err);
    if (k == SQLITE_ROW && sqlite3_column_int(s, 0))
        return cove_err_setk(err, -EEXIST, "NAME_TAKEN", "a sandbox named '%s' already exists",
                             r->name);
    if (k == SQLITE_ROW && sqlite3_column_int(s, 1))
        return cove_err_setk(err, -EEXIST, "NAME_TAKEN", "a sandbox with id '%s' already exists",
                             r->id);
    return cove_err_setk(err, -EADDRINUSE, "UID_SLOT_TAKEN", "uid slot %u is already in use",
                         r->uid_slot);
}

int store_sandbox_insert(struct store *st, const struct sandbox_rec *r, struct cove_err *err)
{
    STORE_LOCK(st);
    _cleanup_txn_ struct store *txn = NULL;
    _cleanup_stmt_ sqlite3_stmt *s = NULL;
    _cleanup_(json_decrefp) json_t *labels = NULL;
    const char *bad;
    int k;

    bad = rec_invalid(r);
    if (bad)
        return cove_err_set(err, -EINVAL, "invalid sandbox record: bad %s", bad);
    if (parse_labels(r->labels_json, &labels) < 0)
        return cove_err_set(err, -EINVAL, "labels must be a JSON object with string values");
    k = db_txn_begin(st, &txn);
    if (k < 0)
        return store_err(k, err);
    k = db_prepare(st,
                   "INSERT INTO sandboxes (id, org, name, image, state, labels_json, env_json, "
                   "extra_json, error_reason, cpu_milli, memory_mib, disk_mib, pids, "
                   "auto_stop_min, auto_delete_min, uid_slot, disk_slot, init_pid, created_at, "
                   "updated_at, last_activity, network_json, net_slot) VALUES (?1, ?2, ?3, ?4, "
                   "?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, NULLIF(?16, 0), ?17, ?18, "
                   "?19, ?20, ?21, ?22, ?23)",
                   &s);
    if (k < 0)
        return store_err(k, err);
    k = bind_rec(s, r, store_now_ms());
    if (k >= 0)
        k = db_step(st, s);
    if (k == -EEXIST)
        return explain_conflict(st, r, err);
    if (k >= 0)
        k = sync_labels(st, r->id, labels);
    if (k >= 0)
        k = db_txn_commit(&txn);
    if (k < 0)
        return store_err(k, err);
    return 0;
}

/* Also -EEXIST when a rename collides with another sandbox of the org (or the uid slot is
 * taken), -EINVAL for a malformed record or labels_json. The row must belong to r->org. */
int store_sandbox_update(struct store *st, const struct sandbox_rec *r)
{
    STORE_LOCK(st);
    _cleanup_txn_ struct store *txn = NULL;
    _cleanup_stmt_ sqlite3_stmt *s = NULL;
    _cleanup_(json_decrefp) json_t *labels = NULL;
    int k;

    if (rec_invalid(r) || parse_labels(r->labels_json, &labels) < 0)
        return -EINVAL;
    k = db_txn_begin(st, &txn);
    if (k < 0)
        return k;
    k = db_prepare(
        st,
        "UPDATE sandboxes SET name = ?3, image = ?4, state = ?5, labels_json = ?6, "
        "env_json = ?7, extra_json = ?8, error_reason = ?9, cpu_milli = ?10, "
        "memory_mib = ?11, disk_mib = ?12, pids = ?13, auto_stop_min = ?14, "
        "auto_delete_min = ?15, uid_slot = NULLIF(?16, 0), disk_slot = ?17, "
        "init_pid = ?18, updated_at = ?20, last_activity = ?21, network_json = ?22, net_slot = ?23 "
        "WHERE id = ?1 AND org = ?2",
        &s);
    if (k < 0)
        return k;
    if ((k = bind_rec(s, r, store_now_ms())) < 0 || (k = db_step(st, s)) < 0)
        return k;
    if (sqlite3_changes(st->db) == 0)
        return -ENOENT;
    if ((k = sync_labels(st, r->id, labels)) < 0 || (k = db_txn_commit(&txn)) < 0)
        return k;
    return 0;
}

/* Run a single-row UPDATE/DELETE prepared in s; -ENOENT if it touched no row. */
static int step_one_row(struct store *st, sqlite3_stmt *s)
{
    int k = db_step(st, s);
    if (k < 0)
        return k;
    return sqlite3_changes(st->db) > 0 ? 0 : -ENOENT;
}

/* Run the write sql, whose ?1 is the sandbox id and ?2 the integer v, on exactly one row
 * (see step_one_row()). */
static int write_one_row(struct store *st, const char *sql, const char *id, int64_t v)
{
    _cleanup_stmt_ sqlite3_stmt *s = NULL;
    int k;

    k = db_prepare(st, sql, &s);
    if (k < 0)
        return k;
    if ((k = db_bind_text(s, 1, id)) < 0 || (k = db_bind_i64(s, 2, v)) < 0)
        return k;
    return step_one_row(st, s);
}

/* Sets state, error_reason (NULL clears it) and init_pid; updated_at becomes now. */
int store_sandbox_set_state(struct store *st, const char *id, const char *state,
                            const char *error_reason, int64_t init_pid)
{
    STORE_LOCK(st);
    _cleanup_stmt_ sqlite3_stmt *s = NULL;
    int k;

    if (!id || !store_str_fits(state, sizeof(((struct sandbox_rec *)NULL)->state)))
        return -EINVAL;
    k = db_prepare(st,
                   "UPDATE sandboxes SET state = ?2, error_reason = ?3, init_pid = ?4, "
                   "updated_at = ?5 WHERE id = ?1",
                   &s);
    if (k < 0)
        return k;
    if ((k = db_bind_text(s, 1, id)) < 0 || (k = db_bind_text(s, 2, state)) < 0 ||
        (k = db_bind_text(s, 3, error_reason)) < 0 || (k = db_bind_i64(s, 4, init_pid)) < 0 ||
        (k = db_bind_i64(s, 5, store_now_ms())) < 0)
        return k;
    return step_one_row(st, s);
}

int store_sandbox_touch(struct store *st, const char *id, int64_t now_ms)
{
    STORE_LOCK(st);

    if (!id)
        return -EINVAL;
    return write_one_row(st, "UPDATE sandboxes SET last_activity = ?2 WHERE id = ?1", id, now_ms);
}

/* With an org, both the id and the name are looked up inside that org only, and an exact id
 * match wins over a sandbox whose name happens to equal the string. *ret is written only on
 * success and must be released with store_sandbox_rec_free(). */
int store_sandbox_get(struct store *st, const char *org, const char *id_or_name,
                      struct sandbox_rec *ret)
{
    STORE_LOCK(st);
    _cleanup_stmt_ sqlite3_stmt *s = NULL;
    int k;

    if (!id_or_name || !ret)
        return -EINVAL;
    /* Without an org, ?1 is left unbound (NULL) and not used. */
    k = db_query(st,
                 org ? "SELECT " SB_COLUMNS " FROM sandboxes s WHERE s.org = ?1 AND "
                       "(s.id = ?2 OR s.name = ?2) ORDER BY s.id = ?2 DESC LIMIT 1"
                     : "SELECT " SB_COLUMNS " FROM sandboxes s WHERE s.id = ?2",
                 org, id_or_name, &s);
    if (k < 0)
        return k;
    if (k != SQLITE_ROW)
        return -ENOENT;
    return row_to_rec(s, ret);
}

/* The first step of a delete: state "destroying", and the name freed for a new sandbox
 * ("~" + id, which no valid name can equal) while the row keeps the uid range reserved. */
int store_sandbox_retire(struct store *st, const char *id)
{
    STORE_LOCK(st);

    if (!id)
        return -EINVAL;
    return write_one_row(st,
                         "UPDATE sandboxes SET state = 'destroying', name = '~' || id, "
                         "error_reason = NULL, init_pid = 0, updated_at = ?2 WHERE id = ?1",
                         id, store_now_ms());
}

/* Labels are removed by ON DELETE CASCADE. */
int store_sandbox_delete(struct store *st, const char *id)
{
    STORE_LOCK(st);
    _cleanup_stmt_ sqlite3_stmt *s = NULL;
    int k;

    if (!id)
        return -EINVAL;
    k = db_prepare(st, "DELETE FROM sandboxes WHERE id = ?1", &s);
    if (k < 0)
        return k;
    if ((k = db_bind_text(s, 1, id)) < 0)
        return k;
    return step_one_row(st, s);
}

/* CPU and memory are held by sandboxes whose init runs or is being started or stopped; a
 * sandbox being torn down after its delete counts no more. */
#define LIVE_STATES "('creating', 'starting', 'started', 'stopping')"
#define USAGE_SQL                                                                                  \
    "SELECT count(*), "                                                                            \
    "coalesce(sum(CASE WHEN state IN " LIVE_STATES " THEN cpu_milli ELSE 0 END), 0), "             \
    "coalesce(sum(CASE WHEN state IN " LIVE_STATES " THEN memory_mib ELSE 0 END), 0), "            \
    "coalesce(sum(disk_mib), 0) FROM sandboxes "                                                   \
    "WHERE org = ?1 AND state NOT IN ('destroyed', 'destroying')"

/* Any ret_ pointer may be NULL. An org with no rows reports zeros. */
int store_sandbox_usage(struct store *st, const char *org, uint32_t *ret_count,
                        uint64_t *ret_cpu_milli, uint64_t *ret_memory_mib, uint64_t *ret_disk_mib)
{
    STORE_LOCK(st);
    _cleanup_stmt_ sqlite3_stmt *s = NULL;
    int k;

    if (!org)
        return -EINVAL;
    k = db_query_row(st, USAGE_SQL, org, NULL, &s);
    if (k < 0)
        return k;
    if (ret_count)
        *ret_count = (uint32_t)sqlite3_column_int64(s, 0);
    if (ret_cpu_milli)
        *ret_cpu_milli = (uint64_t)sqlite3_column_int64(s, 1);
    if (ret_memory_mib)
        *ret_memory_mib = (uint64_t)sqlite3_column_int64(s, 2);
    if (ret_disk_mib)
        *ret_disk_mib = (uint64_t)sqlite3_column_int64(s, 3);
    return 0;
}

/* Gap search over the UNIQUE(uid_slot) index: 1 if free, else the smallest used slot whose
 * successor is free. Not atomic with a later insert: a concurrent creator can take the same
 * slot, which store_sandbox_insert() then reports as -EADDRINUSE ("UID_SLOT_TAKEN"). */
int store_alloc_uid_slot(struct store *st, uint32_t *ret)
{
    STORE_LOCK(st);
    _cleanup_stmt_ sqlite3_stmt *s = NULL;
    int64_t slot;
    int k;

    k = db_query_row(st,
                     "SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM sandboxes WHERE uid_slot = 1) "
                     "THEN 1 ELSE (SELECT min(a.uid_slot) + 1 FROM sandboxes a "
                     "WHERE a.uid_slot IS NOT NULL AND NOT EXISTS "
                     "(SELECT 1 FROM sandboxes b WHERE b.uid_slot = a.uid_slot + 1)) END",
                     NULL, NULL, &s);
    if (k < 0)
        return k;
    slot = sqlite3_column_int64(s, 0);
    if (slot < 1 || slot > UINT32_MAX)
        return -ENOSPC;
    *ret = (uint32_t)slot;
    return 0;
}

/* ---- listing ---- */

struct rec_vec {
    struct sandbox_rec *v;
    size_t n, alloc;
};

static void rec_vec_free(struct rec_vec *rv)
{
    for (size_t i = 0; i < rv->n; i++)
        store_sandbox_rec_free(&rv->v[i]);
    free(rv->v);
    *rv = (struct rec_vec){0};
}

/* Build the list query. Placeholders appear in bind order: label pairs, org, cursor, limit. */
static int build_list_sql(struct buf *b, bool by_org, size_t n_labels, bool cursor, bool limit)
{
    int k = buf_appendf(b, "SELECT " SB_COLUMNS " FROM sandboxes s");

    for (size_t i = 0; i < n_labels && k >= 0; i++)
        k = buf_appendf(b,
                        " JOIN sandbox_labels l%zu ON l%zu.sandbox_id = s.id"
                        " AND l%zu.key = ? AND l%zu.value = ?",
                        i, i, i, i);
    if (k >= 0)
        k = buf_appendf(b, " WHERE 1");
    if (k >= 0 && by_org)
        k = buf_appendf(b, " AND s.org = ?");
    if (k >= 0 && cursor)
        k = buf_appendf(b, " AND (s.created_at, s.id) > (?, ?)");
    if (k >= 0)
        k = buf_appendf(b, " ORDER BY s.created_at, s.id");
    if (k >= 0 && limit)
        k = buf_appendf(b, " LIMIT ?");
    return k < 0 ? k : 0;
}

/* Find the cursor row's created_at, within org when one is given. */
static int cursor_created_at(struct store *st, const char *org, const char *after_id, int64_t *ret)
{
    _cleanup_stmt_ sqlite3_stmt *s = NULL;
    int k;

    k = db_query(st, "SELECT created_at FROM sandboxes WHERE id = ?1 AND (?2 IS NULL OR org = ?2)",
                 after_id, org, &s);
    if (k < 0)
        return k;
    if (k != SQLITE_ROW)
        return -EINVAL;
    *ret = sqlite3_column_int64(s, 0);
    return 0;
}

static int collect_sandboxes(struct store *st, const char *org, const char *const *label_keys,
                             const char *const *label_values, size_t n_labels, const char *after_id,
                             uint32_t limit, struct rec_vec *out)
{
    STORE_LOCK(st);
    _cleanup_stmt_ sqlite3_stmt *s = NULL;
    struct buf sql;
    int64_t cursor_at = 0;
    int idx = 1, k;

    if (after_id) {
        k = cursor_created_at(st, org, after_id, &cursor_at);
        if (k < 0)
            return k;
    }
    buf_init(&sql, LIST_SQL_MAX);
    k = build_list_sql(&sql, org != NULL, n_labels, after_id != NULL, limit > 0);
    if (k >= 0)
        k = db_prepare(st, sql.data, &s);
    buf_free(&sql);
    if (k < 0)
        return k;
    for (size_t i = 0; i < n_labels && k >= 0; i++)
        if ((k = db_bind_text(s, idx++, label_keys[i])) >= 0)
            k = db_bind_text(s, idx++, label_values[i]);
    if (k >= 0 && org)
        k = db_bind_text(s, idx++, org);
    if (k >= 0 && after_id && (k = db_bind_i64(s, idx++, cursor_at)) >= 0)
        k = db_bind_text(s, idx++, after_id);
    if (k >= 0 && limit > 0)
        k = db_bind_i64(s, idx++, limit);
    if (k < 0)
        return k;

    while ((k = db_step(st, s)) == SQLITE_ROW) {
        if (out->n == out->alloc) {
            size_t na = out->alloc ? out->alloc * 2 : 16;
            struct sandbox_rec *nv = reallocarray(out->v, na, sizeof(*nv));
            if (!nv)
                return -ENOMEM;
            out->v = nv;
            out->alloc = na;
        }
        k = row_to_rec(s, &out->v[out->n]);
        if (k < 0)
            return k;
        out->n++;
    }
    return k;
}

/* Rows are snapshotted under the lock and cb runs after it is released, so cb may call back
 * into the store. Returns 0, the first negative value of cb, -EINVAL for bad label arguments
 * or an after_id that names no sandbox (of org), or a database error. */
int store_sandbox_list(struct store *st, const char *org, const char *const *label_keys,
                       const char *const *label_values, size_t n_labels, const char *after_id,
                       uint32_t limit, int (*cb)(const struct sandbox_rec *r, void *ud), void *ud)
{
    _cleanup_(rec_vec_free) struct rec_vec rv = {0};
    int k;

    if (!cb || n_labels > COVE_MAX_LABELS || (n_labels && (!label_keys || !label_values)))
        return -EINVAL;
    for (size_t i = 0; i < n_labels; i++)
        if (!label_keys[i] || !label_values[i])
            return -EINVAL;
    k = collect_sandboxes(st, org, label_keys, label_values, n_labels, after_id, limit, &rv);
    if (k < 0)
        return k;
    for (size_t i = 0; i < rv.n; i++) {
        k = cb(&rv.v[i], ud);
        if (k < 0)
            return k;
    }
    return 0;
}
