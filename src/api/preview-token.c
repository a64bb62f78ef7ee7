/* Preview tokens (see preview-token.h).
 *
 * The per-sandbox token is 32 hex characters from getrandom(), stored in the sandbox's
 * extra_json so that it is the same before and after a restart. A module mutex makes "read,
 * create if missing, persist" atomic, so two first requests never hand out two tokens.
 *
 * Signed tokens sit in a fixed table. Expired entries are reused; the table never grows, so
 * a client that mints tokens in a loop gets -ENOSPC, not our memory. Comparisons of secrets
 * are constant-time. */
#include "api/preview-token.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "base/err.h"
#include "sandbox/sandbox.h"
#include "store/store.h"

#define TOKEN_KEY "previewToken"

struct signed_token {
    char token[PREVIEW_SIGNED_LEN + 1];
    char sandbox_id[33];
    uint16_t port;
    int64_t expires_ms; /* 0 = free slot */
};

static pthread_mutex_t token_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t signed_mu = PTHREAD_MUTEX_INITIALIZER;
static struct signed_token signed_tokens[PREVIEW_SIGNED_MAX_LIVE];
static size_t signed_used; /* slots [0, signed_used) have ever held a token (signed_mu) */

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* n random characters from alphabet into out (n + 1 bytes). */
static int random_string(char *out, size_t n, const char *alphabet)
{
    size_t k = strlen(alphabet);
    uint8_t b[64];

    if (n > sizeof(b) || getrandom(b, n, 0) != (ssize_t)n)
        return -EIO;
    /* 256 % 16 == 0 and 256 % 36 != 0: a slight bias for 36 letters, irrelevant at 82 bits. */
    for (size_t i = 0; i < n; i++)
        out[i] = alphabet[b[i] % k];
    out[n] = '\0';
    return 0;
}

static bool secret_equal(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    unsigned char d = la != lb;

    for (size_t i = 0; i < la && i < lb; i++)
        d |= (unsigned char)(a[i] ^ b[i]);
    return d == 0;
}

/* The stored token of sb into out; -ENOENT if none yet. Caller holds token_mu. */
static int token_read(struct sandbox *sb, char *out, size_t cap)
{
    struct sandbox_rec rec;
    json_t *extra;
    const char *t;
    int r = -ENOENT;

    sandbox_snapshot(sb, &rec);
    extra = rec.extra_json ? json_loads(rec.extra_json, 0, NULL) : NULL;
    t = json_string_value(json_object_get(extra, TOKEN_KEY));
    if (t && t[0]) {
        r = snprintf(out, cap, "%s", t) >= (int)cap ? -ENOBUFS : 0;
    }
    json_decref(extra);
    store_sandbox_rec_free(&rec);
    return r;
}

static int token_create(struct sandbox *sb, char *out, size_t cap)
{
    struct sandbox_rec rec;
    struct cove_err err = {0};
    char token[33];
    json_t *extra;
    int r;

    if (cap < sizeof(token))
        return -ENOBUFS;
    if (random_string(token, 32, "0123456789abcdef") < 0)
        return -EIO;
    sandbox_snapshot(sb, &rec);
    extra = rec.extra_json ? json_loads(rec.extra_json, 0, NULL) : NULL;
    if (!json_is_object(extra)) {
        json_decref(extra);
        extra = json_object();
    }
    free(rec.extra_json);
    rec.extra_json = NULL;
    if (extra && json_object_set_new(extra, TOKEN_KEY, json_string(token)) == 0)
        rec.extra_json = json_dumps(extra, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(extra);
    r = rec.extra_json ? sandbox_update_settings(sb, &rec, &err) : -ENOMEM;
    store_sandbox_rec_free(&rec);
    if (r < 0)
        return sandbox_state(sb) == SANDBOX_DESTROYED ? -ENOENT : -EIO;
    snprintf(out, cap, "%s", token);
    return 0;
}

int preview_token_get(struct sandbox *sb, char *out, size_t cap)
{
    int r;

    pthread_mutex_lock(&token_mu);
    r = token_read(sb, out, cap);
    if (r == -ENOENT)
        r = token_create(sb, out, cap);
    pthread_mutex_unlock(&token_mu);
    return r;
}

int preview_token_check(struct sandbox *sb, const char *token)
{
    char mine[PREVIEW_TOKEN_MAX];

    if (!token || !token[0] || preview_token_get(sb, mine, sizeof(mine)) < 0)
        return -EACCES;
    return secret_equal(mine, token) ? 0 : -EACCES;
}

int preview_token_check_extra(struct sandbox *sb, const json_t *extra, const char *token)
{
    const char *mine = json_string_value(json_object_get(extra, TOKEN_KEY));

    if (!token || !token[0])
        return -EACCES;
    if (!mine || !mine[0])
        return preview_token_check(sb, token); /* none yet: create it, under token_mu */
    return secret_equal(mine, token) ? 0 : -EACCES;
}

int preview_signed_create(struct sandbox *sb, uint16_t port, uint32_t expires_s, char *out,
                          size_t cap)
{
    int64_t now = now_ms();
    struct signed_token *slot = NULL;
    char token[PREVIEW_SIGNED_LEN + 1];

    if (port == 0 || expires_s == 0 || expires_s > PREVIEW_SIGNED_MAX_S)
        return -EINVAL;
    if (cap < sizeof(token))
        return -ENOBUFS;
    if (random_string(token, PREVIEW_SIGNED_LEN, "abcdefghijklmnopqrstuvwxyz0123456789") < 0)
        return -EIO;
    pthread_mutex_lock(&signed_mu);
    for (size_t i = 0; i < PREVIEW_SIGNED_MAX_LIVE && !slot; i++)
        if (signed_tokens[i].expires_ms <= now)
            slot = &signed_tokens[i];
    if (slot) {
        if ((size_t)(slot - signed_tokens) >= signed_used)
            signed_used = (size_t)(slot - signed_tokens) + 1;
        snprintf(slot->token, sizeof(slot->token), "%s", token);
        snprintf(slot->sandbox_id, sizeof(slot->sandbox_id), "%s", sandbox_id(sb));
        slot->port = port;
        slot->expires_ms = now + (int64_t)expires_s * 1000;
    }
    pthread_mutex_unlock(&signed_mu);
    if (!slot)
        return -ENOSPC;
    snprintf(out, cap, "%s", token);
    return 0;
}

/* The live entry for token, or NULL. Caller holds signed_mu. */
static struct signed_token *signed_find(const char *token, int64_t now)
{
    struct signed_token *found = NULL;

    /* Scan every slot ever used, so the time taken does not depend on where a match sits. */
    for (size_t i = 0; i < signed_used; i++)
        if (signed_tokens[i].expires_ms > now && secret_equal(signed_tokens[i].token, token))
            found = &signed_tokens[i];
    return found;
}

int preview_signed_check(const char *token, char *ret_sandbox_id, size_t id_cap, uint16_t *ret_port)
{
    struct signed_token *t;
    int r = -ENOENT;

    if (!token || strlen(token) != PREVIEW_SIGNED_LEN)
        return -ENOENT;
    pthread_mutex_lock(&signed_mu);
    t = signed_find(token, now_ms());
    if (t) {
        snprintf(ret_sandbox_id, id_cap, "%s", t->sandbox_id);
        *ret_port = t->port;
        r = 0;
    }
    pthread_mutex_unlock(&signed_mu);
    return r;
}

int preview_signed_expire(struct sandbox *sb, uint16_t port, const char *token)
{
    struct signed_token *t;
    int r = -ENOENT;

    if (!token || strlen(token) != PREVIEW_SIGNED_LEN)
        return -ENOENT;
    pthread_mutex_lock(&signed_mu);
    t = signed_find(token, now_ms());
    if (t && t->port == port && !strcmp(t->sandbox_id, sandbox_id(sb))) {
        memset(t, 0, sizeof(*t));
        r = 0;
    }
    pthread_mutex_unlock(&signed_mu);
    return r;
}
