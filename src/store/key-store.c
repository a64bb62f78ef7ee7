/* API keys (the api_keys table).
 *
 * A key is "cove_" + 40 lowercase hex chars (160 bits from getrandom). Only the hex SHA-256
 * of the whole key is stored, plus a 12-char display prefix and a random 16-hex public id.
 * Verification hashes the presented token and looks the hash up through its UNIQUE index:
 * no comparison ever runs against secret material, so response timing reveals nothing about
 * stored keys beyond "this hash exists", which an attacker cannot use without a preimage. */
#include <errno.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "store-internal.h"

#define KEY_PREFIX      "cove_"
#define KEY_PREFIX_LEN  5
#define KEY_RANDOM      20 /* bytes, 40 hex chars */
#define KEY_ID_RANDOM   8  /* bytes, 16 hex chars */
#define KEY_DISPLAY_LEN 12
#define KEY_HASH_HEX    65 /* SHA-256 as hex, with NUL */

#define KEY_COLUMNS "id, org, name, prefix, admin, revoked_at IS NOT NULL, created_at"

static int hash_key(const char *key, char out[KEY_HASH_HEX])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;

    if (EVP_Digest(key, strlen(key), md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32)
        return -EIO;
    store_hex(md, mdlen, out);
    return 0;
}

static void row_to_info(sqlite3_stmt *s, struct key_info *k)
{
    memset(k, 0, sizeof(*k));
    db_col_copy(s, 0, k->id, sizeof(k->id));
    db_col_copy(s, 1, k->org, sizeof(k->org));
    db_col_copy(s, 2, k->name, sizeof(k->name));
    db_col_copy(s, 3, k->prefix, sizeof(k->prefix));
    k->admin = sqlite3_column_int64(s, 4) != 0;
    k->revoked = sqlite3_column_int64(s, 5) != 0;
    k->created_at = sqlite3_column_int64(s, 6);
}

/* True for exactly "cove_" + 40 lowercase hex. Format errors are not secret, so an early
 * exit here is fine. */
static bool key_well_formed(const char *t)
{
    if (!t || strnlen(t, STORE_KEY_LEN + 1) != STORE_KEY_LEN)
        return false;
    if (strncmp(t, KEY_PREFIX, KEY_PREFIX_LEN) != 0)
        return false;
    for (size_t i = KEY_PREFIX_LEN; i < STORE_KEY_LEN; i++)
        if (!((t[i] >= '0' && t[i] <= '9') || (t[i] >= 'a' && t[i] <= 'f')))
            return false;
    return true;
}

/* The checks of store_key_issue(), inside its transaction: the org exists and holds fewer
 * than max_active unrevoked keys. */
static int check_issue(struct store *st, const char *org, uint32_t max_active)
{
    _cleanup_stmt_ sqlite3_stmt *s = NULL;
    int r;

    r = db_query_row(st,
                     "SELECT (SELECT count(*) FROM orgs WHERE id = ?1), "
                     "(SELECT count(*) FROM api_keys WHERE org = ?1 AND revoked_at IS NULL)",
                     org, NULL, &s);
    if (r < 0)
        return r;
    if (sqlite3_column_int64(s, 0) == 0)
        return -ENOENT;
    if (sqlite3_column_int64(s, 1) >= max_active)
        return -EUSERS;
    return 0;
}

/* Insert one fresh key inside a transaction that also ensures the org row (max_active 0) or
 * checks it with check_issue(). Returns -EEXIST on the (astronomically unlikely) id or hash
 * collision, so the caller can draw again. */
static int insert_key(struct store *st, const struct key_info *k, const char *hash,
                      uint32_t max_active)
{
    _cleanup_txn_ struct store *txn = NULL;
    _cleanup_stmt_ sqlite3_stmt *s = NULL;
    int r;

    r = db_txn_begin(st, &txn);
    if (r < 0)
        return r;
    if (max_active)
        r = check_issue(st, k->org, max_active);
    else
        r = store_org_ensure_locked(st, k->org, NULL);
    if (r < 0)
        return r;
    r = db_prepare(st,
                   "INSERT INTO api_keys (id, org, name, key_hash, prefix, admin, created_at) "
                   "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                   &s);
    if (r < 0)
        return r;
    if ((r = db_bind_text(s, 1, k->id)) < 0 || (r = db_bind_text(s, 2, k->org)) < 0 ||
        (r = db_bind_text(s, 3, k->name)) < 0 || (r = db_bind_text(s, 4, hash)) < 0 ||
        (r = db_bind_text(s, 5, k->prefix)) < 0 || (r = db_bind_i64(s, 6, k->admin)) < 0 ||
        (r = db_bind_i64(s, 7, k->created_at)) < 0)
        return r;
    r = db_step(st, s);
    if (r < 0)
        return r;
    r = db_txn_commit(&txn);
    if (r < 0)
        return r;
    return 0;
}

/* Fills ret_key and ret_info (either may be NULL) only on success. With max_active 0 the org
 * row is created with the default quota if missing; otherwise see check_issue(). -EINVAL for an
 * empty or over-long org, or a name over 64 bytes; name NULL means "". */
static int key_create(struct store *st, const char *org, const char *name, bool admin,
                      uint32_t max_active, char *ret_key, struct key_info *ret_info)
{
    STORE_LOCK(st);
    unsigned char rnd[KEY_RANDOM + KEY_ID_RANDOM];
    char key[STORE_KEY_LEN + 1], hash[KEY_HASH_HEX];
    struct key_info k = {0};
    int r = -EEXIST;

    if (!name)
        name = "";
    if (!store_str_fits(org, sizeof(k.org)) || strnlen(name, sizeof(k.name)) >= sizeof(k.name))
        return -EINVAL;
    (void)snprintf(k.org, sizeof(k.org), "%s", org);
    (void)snprintf(k.name, sizeof(k.name), "%s", name);
    k.admin = admin;

    for (int attempt = 0; attempt < 3 && r == -EEXIST; attempt++) {
        r = store_random(rnd, sizeof(rnd));
        if (r < 0)
            break;
        memcpy(key, KEY_PREFIX, sizeof(KEY_PREFIX)); /* NUL overwritten below */
        store_hex(rnd, KEY_RANDOM, key + KEY_PREFIX_LEN);
        store_hex(rnd + KEY_RANDOM, KEY_ID_RANDOM, k.id);
        memcpy(k.prefix, key, KEY_DISPLAY_LEN);
        k.prefix[KEY_DISPLAY_LEN] = '\0';
        k.created_at = store_now_ms();
        r = hash_key(key, hash);
        if (r < 0)
            break;
        r = insert_key(st, &k, hash, max_active);
    }
    explicit_bzero(rnd, sizeof(rnd));
    if (r >= 0) {
        if (ret_key)
            memcpy(ret_key, key, sizeof(key));
        if (ret_info)
            *ret_info = k;
    }
    explicit_bzero(key, sizeof(key));
    return r < 0 ? r : 0;
}

int store_key_create(struct store *st, const char *org, const char *name, bool admin, char *ret_key,
                     struct key_info *ret_info)
{
    return key_create(st, org, name, admin, 0, ret_key, ret_info);
}

int store_key_issue(struct store *st, const char *org, const char *name, bool admin,
                    uint32_t max_active, char *ret_key, struct key_info *ret_info)
{
    if (max_active == 0)
        return -EUSERS;
    return key_create(st, org, name, admin, max_active, ret_key, ret_info);
}

int store_key_get(struct store *st, const char *id, struct key_info *ret_info)
{
    STORE_LOCK(st);
    _cleanup_stmt_ sqlite3_stmt *s = NULL;
    int r;

    if (!id)
        return -EINVAL;
    r = db_query(st, "SELECT " KEY_COLUMNS " FROM api_keys WHERE id = ?1", id, NULL, &s);
    if (r < 0)
        return r;
    if (r != SQLITE_ROW)
        return -ENOENT;
    row_to_info(s, ret_info);
    return 0;
}

int store_key_verify(struct store *st, const char *token, struct key_info *ret_info)
{
    STORE_LOCK(st);
    _cleanup_stmt_ sqlite3_stmt *s = NULL;
    char hash[KEY_HASH_HEX];
    struct key_info k;
    int r;

    if (!key_well_formed(token))
        return -EACCES;
    r = hash_key(token, hash);
    if (r < 0)
        return r;
    r = db_query(st, "SELECT " KEY_COLUMNS " FROM api_keys WHERE key_hash = ?1", hash, NULL, &s);
    if (r < 0)
        return r; /* a database fault is not "access denied" */
    if (r != SQLITE_ROW)
        return -EACCES;
    row_to_info(s, &k);
    if (k.revoked)
        return -EACCES;
    if (ret_info)
        *ret_info = k;
    return 0;
}

/* db_collect() row callback. */
static void collect_keys_row(sqlite3_stmt *s, void *elem)
{
    row_to_info(s, elem);
}

/* Snapshot every key under the lock, so the callback can run without it. */
static int collect_keys(struct store *st, struct key_info **ret, size_t *ret_n)
{
    STORE_LOCK(st);
    return db_collect(st, "SELECT " KEY_COLUMNS " FROM api_keys ORDER BY created_at, id", NULL,
                      NULL, sizeof(**ret), collect_keys_row, (void **)ret, ret_n);
}

/* Returns 0 after visiting every key, or the first negative value cb returned. */
int store_key_list(struct store *st, int (*cb)(const struct key_info *k, void *ud), void *ud)
{
    _cleanup_free_ struct key_info *v = NULL;
    size_t n = 0;
    int r;

    r = collect_keys(st, &v, &n);
    if (r < 0)
        return r;
    for (size_t i = 0; i < n; i++) {
        r = cb(&v[i], ud);
        if (r < 0)
            return r;
    }
    return 0;
}

/* Resolve id_or_prefix to one key id: an exact id wins; otherwise the display prefix must
 * match exactly one key (-ENOENT none, -EINVAL ambiguous). */
static int resolve_key(struct store *st, const char *id_or_prefix, char ret_id[17])
{
    _cleanup_stmt_ sqlite3_stmt *s = NULL;
    int r;

    r = db_query(st,
                 "SELECT id FROM api_keys WHERE id = ?1 UNION ALL "
                 "SELECT id FROM (SELECT id FROM api_keys WHERE prefix = ?1 LIMIT 2)",
                 id_or_prefix, NULL, &s);
    if (r < 0)
        return r;
    if (r != SQLITE_ROW)
        return -ENOENT;
    db_col_copy(s, 0, ret_id, 17);
    if (strcmp(ret_id, id_or_prefix) == 0)
        return 0;
    r = db_step(st, s);
    if (r < 0)
        return r;
    return r == SQLITE_ROW ? -EINVAL : 0;
}

/* Revoking an already revoked key succeeds and keeps the original revocation time.
 * -EINVAL when a prefix matches more than one key (revoke by id instead). */
int store_key_revoke(struct store *st, const char *id_or_prefix)
{
    STORE_LOCK(st);
    _cleanup_txn_ struct store *txn = NULL;
    _cleanup_stmt_ sqlite3_stmt *s = NULL;
    char id[17];
    int r;

    if (!id_or_prefix || !id_or_prefix[0])
        return -EINVAL;
    r = db_txn_begin(st, &txn);
    if (r < 0)
        return r;
    r = resolve_key(st, id_or_prefix, id);
    if (r < 0)
        return r;
    r = db_prepare(st, "UPDATE api_keys SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
                   &s);
    if (r < 0)
        return r;
    if ((r = db_bind_text(s, 1, id)) < 0 || (r = db_bind_i64(s, 2, store_now_ms())) < 0)
        return r;
    r = db_step(st, s);
    if (r < 0)
        return r;
    r = db_txn_commit(&txn);
    if (r < 0)
        return r;
    return 0;
}

int store_key_count(struct store *st, bool include_revoked)
{
    STORE_LOCK(st);
    _cleanup_stmt_ sqlite3_stmt *s = NULL;
    int64_t n;
    int r;

    r = db_query_row(st,
                     include_revoked ? "SELECT count(*) FROM api_keys"
                                     : "SELECT count(*) FROM api_keys WHERE revoked_at IS NULL",
                     NULL, NULL, &s);
    if (r < 0)
        return r;
    n = sqlite3_column_int64(s, 0);
    return n > INT32_MAX ? INT32_MAX : (int)n;
}
