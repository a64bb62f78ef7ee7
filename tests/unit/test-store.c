/* Unit tests for src/store/: sandboxes, labels, pagination, uid slots, keys, orgs, settings,
 * and error reporting for corrupt, full and too-new databases. Most tests run on ":memory:";
 * the file tests use a private temporary directory. No root needed. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/store-internal.h"
#include "store/store.h"

static struct store *st;

static void setup(void)
{
    struct cove_err err = {0};
    int r = store_open(":memory:", &st, &err);
    cr_assert_eq(r, 0, "store_open: %d %s", r, err.msg);
}

static void teardown(void)
{
    store_close(st);
    st = NULL;
}

TestSuite(store, .init = setup, .fini = teardown);

static void mkrec(struct sandbox_rec *r, const char *id, const char *org, const char *name,
                  const char *labels, int64_t created_at, uint32_t uid_slot)
{
    memset(r, 0, sizeof(*r));
    (void)snprintf(r->id, sizeof(r->id), "%s", id);
    (void)snprintf(r->org, sizeof(r->org), "%s", org);
    (void)snprintf(r->name, sizeof(r->name), "%s", name);
    (void)snprintf(r->image, sizeof(r->image), "debian:bookworm");
    (void)snprintf(r->state, sizeof(r->state), "running");
    r->labels_json = (char *)labels;
    r->env_json = (char *)"{\"A\":\"1\"}";
    r->cpu_milli = 1000;
    r->memory_mib = 512;
    r->disk_mib = 2048;
    r->pids = 100;
    r->auto_stop_min = 15;
    r->auto_delete_min = -1;
    r->uid_slot = uid_slot;
    r->disk_slot = -1;
    r->created_at = created_at;
    r->updated_at = created_at;
    r->last_activity = created_at;
}

static void insert_ok(const char *id, const char *org, const char *name, const char *labels,
                      int64_t created_at, uint32_t uid_slot)
{
    struct sandbox_rec r;
    struct cove_err err = {0};
    int k;

    mkrec(&r, id, org, name, labels, created_at, uid_slot);
    k = store_sandbox_insert(st, &r, &err);
    cr_assert_eq(k, 0, "insert %s: %d %s", id, k, err.msg);
}

/* ---- sandboxes ---- */

Test(store, insert_and_get)
{
    struct sandbox_rec g = {0};

    insert_ok("id1", "orgA", "alpha", "{\"team\":\"x\"}", 1000, 1);

    cr_assert_eq(store_sandbox_get(st, "orgA", "id1", &g), 0);
    cr_assert_str_eq(g.name, "alpha");
    cr_assert_str_eq(g.image, "debian:bookworm");
    cr_assert_str_eq(g.state, "running");
    cr_assert_str_eq(g.labels_json, "{\"team\":\"x\"}");
    cr_assert_str_eq(g.env_json, "{\"A\":\"1\"}");
    cr_assert_null(g.extra_json);
    cr_assert_null(g.error_reason);
    cr_assert_eq(g.cpu_milli, 1000);
    cr_assert_eq(g.memory_mib, 512);
    cr_assert_eq(g.disk_mib, 2048);
    cr_assert_eq(g.pids, 100);
    cr_assert_eq(g.auto_stop_min, 15);
    cr_assert_eq(g.auto_delete_min, -1);
    cr_assert_eq(g.uid_slot, 1);
    cr_assert_eq(g.disk_slot, -1);
    cr_assert_eq(g.created_at, 1000);
    store_sandbox_rec_free(&g);

    cr_assert_eq(store_sandbox_get(st, "orgA", "alpha", &g), 0);
    cr_assert_str_eq(g.id, "id1");
    store_sandbox_rec_free(&g);

    /* org NULL: ids only */
    cr_assert_eq(store_sandbox_get(st, NULL, "id1", &g), 0);
    store_sandbox_rec_free(&g);
    cr_assert_eq(store_sandbox_get(st, NULL, "alpha", &g), -ENOENT);
    cr_assert_eq(store_sandbox_get(st, "orgA", "nope", &g), -ENOENT);
}

Test(store, null_labels_and_zero_timestamps)
{
    struct sandbox_rec r, g;
    struct cove_err err = {0};

    mkrec(&r, "id1", "o", "n", NULL, 0, 0);
    r.env_json = NULL;
    r.extra_json = (char *)"{\"x\":1}";
    cr_assert_eq(store_sandbox_insert(st, &r, &err), 0, "%s", err.msg);
    cr_assert_eq(store_sandbox_get(st, "o", "n", &g), 0);
    cr_assert_str_eq(g.labels_json, "{}");
    cr_assert_str_eq(g.env_json, "{}");
    cr_assert_str_eq(g.extra_json, "{\"x\":1}");
    cr_assert_gt(g.created_at, 0);
    cr_assert_eq(g.uid_slot, 0);
    store_sandbox_rec_free(&g);

    /* two rows without a uid slot may coexist */
    mkrec(&r, "id2", "o", "m", NULL, 0, 0);
    cr_assert_eq(store_sandbox_insert(st, &r, &err), 0, "%s", err.msg);
}

Test(store, id_wins_over_name)
{
    struct sandbox_rec g;

    insert_ok("aaa", "o", "first", "{}", 1, 1);
    insert_ok("bbb", "o", "aaa", "{}", 2, 2);
    cr_assert_eq(store_sandbox_get(st, "o", "aaa", &g), 0);
    cr_assert_str_eq(g.id, "aaa");
    store_sandbox_rec_free(&g);
}

Test(store, name_conflict)
{
    struct sandbox_rec r;
    struct cove_err err = {0};

    insert_ok("id1", "orgA", "alpha", "{}", 1, 1);
    mkrec(&r, "id2", "orgA", "alpha", "{}", 2, 2);
    cr_assert_eq(store_sandbox_insert(st, &r, &err), -EEXIST);
    cr_assert_eq(err.code, -EEXIST);
    cr_assert_str_eq(err.kind, "NAME_TAKEN");
    cr_assert_str_eq(err.msg, "a sandbox named 'alpha' already exists");

    /* same id */
    mkrec(&r, "id1", "orgA", "beta", "{}", 2, 2);
    cr_assert_eq(store_sandbox_insert(st, &r, &err), -EEXIST);
    cr_assert_str_eq(err.kind, "NAME_TAKEN");

    /* same uid slot */
    mkrec(&r, "id3", "orgA", "gamma", "{}", 2, 1);
    cr_assert_eq(store_sandbox_insert(st, &r, &err), -EADDRINUSE);
    cr_assert_str_eq(err.kind, "UID_SLOT_TAKEN");

    /* same name in another org is fine */
    insert_ok("id4", "orgB", "alpha", "{}", 3, 4);
}

Test(store, invalid_records)
{
    struct sandbox_rec r;
    struct cove_err err = {0};

    mkrec(&r, "id1", "o", "n", "[1]", 1, 1);
    cr_assert_eq(store_sandbox_insert(st, &r, &err), -EINVAL);
    mkrec(&r, "id1", "o", "n", "{\"a\":1}", 1, 1);
    cr_assert_eq(store_sandbox_insert(st, &r, &err), -EINVAL);
    mkrec(&r, "id1", "o", "n", "{bad", 1, 1);
    cr_assert_eq(store_sandbox_insert(st, &r, &err), -EINVAL);
    mkrec(&r, "", "o", "n", "{}", 1, 1);
    cr_assert_eq(store_sandbox_insert(st, &r, &err), -EINVAL);
    mkrec(&r, "id1", "o", "n", "{}", 1, 1);
    memset(r.name, 'x', sizeof(r.name)); /* unterminated */
    cr_assert_eq(store_sandbox_insert(st, &r, &err), -EINVAL);
}

Test(store, org_scoping)
{
    struct sandbox_rec g;

    insert_ok("idB", "orgB", "secret", "{}", 1, 1);
    cr_assert_eq(store_sandbox_get(st, "orgA", "secret", &g), -ENOENT);
    cr_assert_eq(store_sandbox_get(st, "orgA", "idB", &g), -ENOENT);
    cr_assert_eq(store_sandbox_get(st, "orgB", "secret", &g), 0);
    store_sandbox_rec_free(&g);
}

static int count_cb(const struct sandbox_rec *r, void *ud)
{
    (*(int *)ud)++;
    return 0;
}

static int list_count(const char *org, const char *const *k, const char *const *v, size_t n)
{
    int c = 0;
    int r = store_sandbox_list(st, org, k, v, n, NULL, 0, count_cb, &c);
    cr_assert_eq(r, 0);
    return c;
}

Test(store, update)
{
    struct sandbox_rec r, g;
    const char *k[] = {"env"}, *v[] = {"prod"}, *v2[] = {"dev"};

    insert_ok("id1", "o", "one", "{\"env\":\"dev\"}", 1, 1);
    insert_ok("id2", "o", "two", "{}", 2, 2);

    mkrec(&r, "id1", "o", "uno", "{\"env\":\"prod\"}", 1, 7);
    r.cpu_milli = 2000;
    r.error_reason = (char *)"boom";
    r.extra_json = (char *)"{}";
    r.updated_at = 55;
    cr_assert_eq(store_sandbox_update(st, &r), 0);
    cr_assert_eq(store_sandbox_get(st, "o", "uno", &g), 0);
    cr_assert_eq(g.cpu_milli, 2000);
    cr_assert_eq(g.uid_slot, 7);
    cr_assert_eq(g.updated_at, 55);
    cr_assert_str_eq(g.error_reason, "boom");
    cr_assert_str_eq(g.labels_json, "{\"env\":\"prod\"}");
    store_sandbox_rec_free(&g);
    cr_assert_eq(store_sandbox_get(st, "o", "one", &g), -ENOENT);

    /* label index followed labels_json */
    cr_assert_eq(list_count("o", k, v, 1), 1);
    cr_assert_eq(list_count("o", k, v2, 1), 0);

    /* rename onto a taken name */
    mkrec(&r, "id1", "o", "two", "{}", 1, 7);
    cr_assert_eq(store_sandbox_update(st, &r), -EEXIST);
    /* the failed update changed nothing */
    cr_assert_eq(list_count("o", k, v, 1), 1);

    /* missing row, or another org's row */
    mkrec(&r, "nope", "o", "x", "{}", 1, 9);
    cr_assert_eq(store_sandbox_update(st, &r), -ENOENT);
    mkrec(&r, "id2", "other", "x", "{}", 1, 9);
    cr_assert_eq(store_sandbox_update(st, &r), -ENOENT);
}

Test(store, set_state_touch_delete)
{
    struct sandbox_rec g;
    const char *k[] = {"a"}, *v[] = {"b"};

    insert_ok("id1", "o", "one", "{\"a\":\"b\"}", 1, 1);
    cr_assert_eq(store_sandbox_set_state(st, "id1", "error", "oom at boot", 4242), 0);
    cr_assert_eq(store_sandbox_get(st, "o", "id1", &g), 0);
    cr_assert_str_eq(g.state, "error");
    cr_assert_str_eq(g.error_reason, "oom at boot");
    cr_assert_eq(g.init_pid, 4242);
    cr_assert_gt(g.updated_at, 1);
    store_sandbox_rec_free(&g);

    cr_assert_eq(store_sandbox_set_state(st, "id1", "stopped", NULL, 0), 0);
    cr_assert_eq(store_sandbox_get(st, "o", "id1", &g), 0);
    cr_assert_null(g.error_reason);
    cr_assert_eq(g.init_pid, 0);
    store_sandbox_rec_free(&g);

    cr_assert_eq(store_sandbox_touch(st, "id1", 999999), 0);
    cr_assert_eq(store_sandbox_get(st, "o", "id1", &g), 0);
    cr_assert_eq(g.last_activity, 999999);
    store_sandbox_rec_free(&g);

    cr_assert_eq(store_sandbox_set_state(st, "nope", "stopped", NULL, 0), -ENOENT);
    cr_assert_eq(store_sandbox_touch(st, "nope", 1), -ENOENT);

    cr_assert_eq(list_count("o", k, v, 1), 1);
    cr_assert_eq(store_sandbox_delete(st, "id1"), 0);
    cr_assert_eq(store_sandbox_get(st, "o", "id1", &g), -ENOENT);
    cr_assert_eq(store_sandbox_delete(st, "id1"), -ENOENT);
    cr_assert_eq(list_count("o", k, v, 1), 0);

    /* the labels went with the row, so the name and id are reusable */
    insert_ok("id1", "o", "one", "{}", 2, 1);
    cr_assert_eq(list_count("o", k, v, 1), 0);
}

Test(store, label_filter)
{
    const char *k1[] = {"env"}, *v1[] = {"prod"};
    const char *k2[] = {"env", "team"}, *v2[] = {"prod", "web"};
    const char *k3[] = {"env", "team"}, *v3[] = {"prod", "db"};

    insert_ok("a", "o", "a", "{\"env\":\"prod\",\"team\":\"web\"}", 1, 1);
    insert_ok("b", "o", "b", "{\"env\":\"prod\",\"team\":\"db\"}", 2, 2);
    insert_ok("c", "o", "c", "{\"env\":\"dev\",\"team\":\"web\"}", 3, 3);
    insert_ok("d", "o", "d", "{}", 4, 4);
    insert_ok("e", "p", "e", "{\"env\":\"prod\",\"team\":\"web\"}", 5, 5);

    cr_assert_eq(list_count("o", NULL, NULL, 0), 4);
    cr_assert_eq(list_count(NULL, NULL, NULL, 0), 5);
    cr_assert_eq(list_count("o", k1, v1, 1), 2);
    cr_assert_eq(list_count("o", k2, v2, 2), 1);
    cr_assert_eq(list_count("o", k3, v3, 2), 1);
    cr_assert_eq(list_count(NULL, k2, v2, 2), 2);
    cr_assert_eq(list_count("nobody", NULL, NULL, 0), 0);
}

struct collect {
    char ids[16][33];
    int n;
};

static int collect_cb(const struct sandbox_rec *r, void *ud)
{
    struct collect *c = ud;
    cr_assert_lt(c->n, 16);
    (void)snprintf(c->ids[c->n++], sizeof(c->ids[0]), "%s", r->id);
    return 0;
}

Test(store, pagination)
{
    struct collect c = {0};
    const char *expect[] = {"z1", "a2", "b2", "c2", "x3", "y9"};

    /* inserted out of order, with created_at ties broken by id */
    insert_ok("c2", "o", "n3", "{}", 200, 3);
    insert_ok("y9", "o", "n5", "{}", 900, 5);
    insert_ok("a2", "o", "n1", "{}", 200, 1);
    insert_ok("x3", "o", "n4", "{}", 300, 4);
    insert_ok("z1", "o", "n0", "{}", 100, 6);
    insert_ok("b2", "o", "n2", "{}", 200, 2);
    insert_ok("q0", "other", "n0", "{}", 150, 7);

    cr_assert_eq(store_sandbox_list(st, "o", NULL, NULL, 0, NULL, 0, collect_cb, &c), 0);
    cr_assert_eq(c.n, 6);
    for (int i = 0; i < 6; i++)
        cr_assert_str_eq(c.ids[i], expect[i]);

    /* pages of 2 via the cursor */
    const char *after = NULL;
    char last[33];
    int seen = 0;
    for (int page = 0; page < 4; page++) {
        memset(&c, 0, sizeof(c));
        cr_assert_eq(store_sandbox_list(st, "o", NULL, NULL, 0, after, 2, collect_cb, &c), 0);
        for (int i = 0; i < c.n; i++)
            cr_assert_str_eq(c.ids[i], expect[seen + i]);
        seen += c.n;
        if (c.n == 0)
            break;
        (void)snprintf(last, sizeof(last), "%s", c.ids[c.n - 1]);
        after = last;
    }
    cr_assert_eq(seen, 6);

    /* a cursor from another org, or an unknown id, is rejected */
    cr_assert_eq(store_sandbox_list(st, "o", NULL, NULL, 0, "q0", 2, collect_cb, &c), -EINVAL);
    cr_assert_eq(store_sandbox_list(st, "o", NULL, NULL, 0, "gone", 2, collect_cb, &c), -EINVAL);
}

static int stop_cb(const struct sandbox_rec *r, void *ud)
{
    (*(int *)ud)++;
    return -ECANCELED;
}

/* The callback runs without the store lock held, so it may call back into the store. */
static int reenter_cb(const struct sandbox_rec *r, void *ud)
{
    struct sandbox_rec g;
    int k = store_sandbox_get(st, r->org, r->id, &g);
    if (k < 0)
        return k;
    store_sandbox_rec_free(&g);
    (*(int *)ud)++;
    return store_sandbox_touch(st, r->id, 5);
}

Test(store, list_callbacks)
{
    int n = 0;

    insert_ok("a", "o", "a", "{}", 1, 1);
    insert_ok("b", "o", "b", "{}", 2, 2);
    cr_assert_eq(store_sandbox_list(st, "o", NULL, NULL, 0, NULL, 0, stop_cb, &n), -ECANCELED);
    cr_assert_eq(n, 1);
    n = 0;
    cr_assert_eq(store_sandbox_list(st, "o", NULL, NULL, 0, NULL, 0, reenter_cb, &n), 0);
    cr_assert_eq(n, 2);

    const char *k[] = {NULL}, *v[] = {"x"};
    cr_assert_eq(store_sandbox_list(st, "o", k, v, 1, NULL, 0, count_cb, &n), -EINVAL);
}

Test(store, uid_slots_fill_gaps)
{
    uint32_t slot = 0;

    cr_assert_eq(store_alloc_uid_slot(st, &slot), 0);
    cr_assert_eq(slot, 1);
    insert_ok("a", "o", "a", "{}", 1, 1);
    insert_ok("b", "o", "b", "{}", 1, 2);
    insert_ok("c", "o", "c", "{}", 1, 3);
    insert_ok("e", "o", "e", "{}", 1, 5);
    cr_assert_eq(store_alloc_uid_slot(st, &slot), 0);
    cr_assert_eq(slot, 4);
    insert_ok("d", "o", "d", "{}", 1, 4);
    cr_assert_eq(store_alloc_uid_slot(st, &slot), 0);
    cr_assert_eq(slot, 6);
    cr_assert_eq(store_sandbox_delete(st, "b"), 0);
    cr_assert_eq(store_alloc_uid_slot(st, &slot), 0);
    cr_assert_eq(slot, 2);
    cr_assert_eq(store_sandbox_delete(st, "a"), 0);
    cr_assert_eq(store_alloc_uid_slot(st, &slot), 0);
    cr_assert_eq(slot, 1);
}

Test(store, usage)
{
    uint32_t n = 99;
    uint64_t cpu = 99, mem = 99, disk = 99;

    cr_assert_eq(store_sandbox_usage(st, "o", &n, &cpu, &mem, &disk), 0);
    cr_assert_eq(n, 0);
    cr_assert_eq(cpu, 0);
    cr_assert_eq(mem, 0);
    cr_assert_eq(disk, 0);

    insert_ok("a", "o", "a", "{}", 1, 1);
    insert_ok("b", "o", "b", "{}", 2, 2);
    insert_ok("c", "o", "c", "{}", 3, 3);
    insert_ok("d", "p", "d", "{}", 4, 4);
    cr_assert_eq(store_sandbox_set_state(st, "c", "destroyed", NULL, 0), 0);
    cr_assert_eq(store_sandbox_set_state(st, "b", "stopped", NULL, 0), 0);
    cr_assert_eq(store_sandbox_set_state(st, "a", "started", NULL, 0), 0);
    cr_assert_eq(store_sandbox_usage(st, "o", &n, &cpu, &mem, &disk), 0);
    /* all live rows count against sandboxes and disk; only running ones hold CPU and memory */
    cr_assert_eq(n, 2);
    cr_assert_eq(cpu, 1000);
    cr_assert_eq(mem, 512);
    cr_assert_eq(disk, 4096);
    cr_assert_eq(store_sandbox_set_state(st, "b", "starting", NULL, 0), 0);
    cr_assert_eq(store_sandbox_usage(st, "o", &n, &cpu, &mem, &disk), 0);
    cr_assert_eq(cpu, 2000);
    cr_assert_eq(mem, 1024);
    cr_assert_eq(store_sandbox_usage(st, "o", &n, NULL, NULL, NULL), 0);
}

/* Several threads writing and listing through the one connection: the store lock must
 * serialise them without errors or lost rows. */
static void *writer(void *arg)
{
    long t = (long)arg;

    for (int i = 0; i < 50; i++) {
        struct sandbox_rec r;
        struct cove_err err = {0};
        char id[33], name[64];
        uint32_t slot;
        int k, n = 0;

        (void)snprintf(id, sizeof(id), "t%ld-%d", t, i);
        (void)snprintf(name, sizeof(name), "n%ld-%d", t, i);
        mkrec(&r, id, "o", name, "{\"t\":\"x\"}", i, 0);
        k = store_sandbox_insert(st, &r, &err);
        if (k < 0)
            return (void *)(long)k;
        k = store_alloc_uid_slot(st, &slot);
        if (k >= 0)
            k = store_sandbox_list(st, "o", NULL, NULL, 0, NULL, 10, count_cb, &n);
        if (k >= 0)
            k = store_sandbox_touch(st, id, i);
        if (k < 0)
            return (void *)(long)k;
    }
    return NULL;
}

Test(store, threads)
{
    pthread_t th[4];
    uint32_t n = 0;

    for (long t = 0; t < 4; t++)
        cr_assert_eq(pthread_create(&th[t], NULL, writer, (void *)t), 0);
    for (int t = 0; t < 4; t++) {
        void *res;
        cr_assert_eq(pthread_join(th[t], &res), 0);
        cr_assert_null(res, "thread %d failed: %ld", t, (long)res);
    }
    cr_assert_eq(store_sandbox_usage(st, "o", &n, NULL, NULL, NULL), 0);
    cr_assert_eq(n, 200);
}

/* ---- orgs ---- */

Test(store, quota)
{
    struct org_quota q, custom = {5, 4000, 8192, 1 << 20};

    cr_assert_eq(store_org_get_quota(st, "o", &q), -ENOENT);
    cr_assert_eq(store_org_ensure(st, "o", NULL), 0);
    cr_assert_eq(store_org_get_quota(st, "o", &q), 0);
    cr_assert_eq(q.max_sandboxes, 1000);
    cr_assert_eq(q.max_cpu_milli, 64000);
    cr_assert_eq(q.max_memory_mib, 262144);
    cr_assert_eq(q.max_disk_mib, 4194304);

    cr_assert_eq(store_org_set_quota(st, "o", &custom), 0);
    cr_assert_eq(store_org_get_quota(st, "o", &q), 0);
    cr_assert_eq(q.max_sandboxes, 5);
    cr_assert_eq(q.max_cpu_milli, 4000);
    cr_assert_eq(q.max_memory_mib, 8192);
    cr_assert_eq(q.max_disk_mib, 1 << 20);

    /* ensure does not reset an existing quota */
    cr_assert_eq(store_org_ensure(st, "o", NULL), 0);
    cr_assert_eq(store_org_get_quota(st, "o", &q), 0);
    cr_assert_eq(q.max_sandboxes, 5);

    /* set creates; ensure with an explicit quota */
    cr_assert_eq(store_org_set_quota(st, "new", &custom), 0);
    cr_assert_eq(store_org_get_quota(st, "new", &q), 0);
    cr_assert_eq(store_org_ensure(st, "p", &custom), 0);
    cr_assert_eq(store_org_get_quota(st, "p", &q), 0);
    cr_assert_eq(q.max_cpu_milli, 4000);

    cr_assert_eq(store_org_ensure(st, "", NULL), -EINVAL);
}

static int org_count_cb(const struct org_info *o, void *ud)
{
    (void)o;
    (*(int *)ud)++;
    return 0;
}

Test(store, org_create_list_delete)
{
    struct org_quota custom = {5, 4000, 8192, 1 << 20};
    char key[STORE_KEY_LEN + 1];
    struct key_info k, v;
    struct org_info o;
    int n = 0;

    cr_assert_eq(store_org_create(st, "acme", "Acme Inc", &custom, 3, &o), 0);
    cr_assert_str_eq(o.id, "acme");
    cr_assert_str_eq(o.name, "Acme Inc");
    cr_assert_eq(store_org_create(st, "acme", NULL, NULL, 3, NULL), -EEXIST);
    cr_assert_eq(store_org_create(st, "b", NULL, NULL, 3, &o), 0);
    cr_assert_str_eq(o.name, "b");
    cr_assert_eq(o.quota.max_sandboxes, 1000);
    cr_assert_eq(store_org_create(st, "c", NULL, NULL, 3, NULL), 0);
    cr_assert_eq(store_org_create(st, "d", NULL, NULL, 3, NULL), -EUSERS);
    cr_assert_eq(store_org_get(st, "acme", &o), 0);
    cr_assert_eq(o.quota.max_cpu_milli, 4000);
    cr_assert_eq(store_org_get(st, "zzz", &o), -ENOENT);
    cr_assert_eq(store_org_list(st, org_count_cb, &n), 0);
    cr_assert_eq(n, 3);

    /* keys: issue needs the org and respects the cap on unrevoked keys */
    cr_assert_eq(store_key_issue(st, "nope", "k", false, 2, key, &k), -ENOENT);
    cr_assert_eq(store_org_get(st, "nope", &o), -ENOENT);
    cr_assert_eq(store_key_issue(st, "acme", "k1", false, 2, key, &k), 0);
    cr_assert_eq(store_key_issue(st, "acme", "k2", true, 2, NULL, NULL), 0);
    cr_assert_eq(store_key_issue(st, "acme", "k3", false, 2, NULL, NULL), -EUSERS);
    cr_assert_eq(store_key_get(st, k.id, &v), 0);
    cr_assert_str_eq(v.org, "acme");
    cr_assert_str_eq(v.name, "k1");
    cr_assert_eq(store_key_revoke(st, k.id), 0);
    cr_assert_eq(store_key_get(st, k.id, &v), 0);
    cr_assert(v.revoked);
    cr_assert_eq(store_key_issue(st, "acme", "k3", false, 2, key, &k), 0);
    cr_assert_eq(store_key_get(st, "0000000000000000", &v), -ENOENT);

    /* an org with a sandbox row cannot be deleted; without, its keys go with it */
    insert_ok("s1", "acme", "s1", "{}", 1, 1);
    cr_assert_eq(store_org_delete(st, "acme"), -ENOTEMPTY);
    cr_assert_eq(store_key_verify(st, key, &v), 0);
    cr_assert_eq(store_sandbox_delete(st, "s1"), 0);
    cr_assert_eq(store_org_delete(st, "acme"), 0);
    cr_assert_eq(store_key_verify(st, key, &v), -EACCES);
    cr_assert_eq(store_key_get(st, k.id, &v), -ENOENT);
    cr_assert_eq(store_org_delete(st, "acme"), -ENOENT);
    cr_assert_eq(store_org_get(st, "acme", &o), -ENOENT);
}

/* ---- keys ---- */

static int key_list_cb(const struct key_info *k, void *ud)
{
    int *counts = ud;
    counts[k->revoked ? 1 : 0]++;
    return 0;
}

Test(store, keys)
{
    char key[STORE_KEY_LEN + 1], key2[STORE_KEY_LEN + 1];
    struct key_info info, v, info2;
    int counts[2] = {0, 0};

    cr_assert_eq(store_key_create(st, "o", "ci", true, key, &info), 0);
    cr_assert_eq(strlen(key), STORE_KEY_LEN);
    cr_assert_eq(strncmp(key, "cove_", 5), 0);
    cr_assert_eq(strspn(key + 5, "0123456789abcdef"), 40);
    cr_assert_eq(strlen(info.id), 16);
    cr_assert_eq(strspn(info.id, "0123456789abcdef"), 16);
    cr_assert_eq(strncmp(info.prefix, key, 12), 0);
    cr_assert_eq(strlen(info.prefix), 12);
    cr_assert(info.admin);
    cr_assert_not(info.revoked);

    cr_assert_eq(store_key_verify(st, key, &v), 0);
    cr_assert_str_eq(v.id, info.id);
    cr_assert_str_eq(v.org, "o");
    cr_assert_str_eq(v.name, "ci");
    cr_assert(v.admin);

    /* the org row was created with the default quota */
    struct org_quota q;
    cr_assert_eq(store_org_get_quota(st, "o", &q), 0);

    /* wrong / malformed keys */
    char wrong[STORE_KEY_LEN + 1];
    memcpy(wrong, key, sizeof(wrong));
    wrong[STORE_KEY_LEN - 1] = wrong[STORE_KEY_LEN - 1] == '0' ? '1' : '0';
    cr_assert_eq(store_key_verify(st, wrong, &v), -EACCES);
    cr_assert_eq(store_key_verify(st, "cove_", &v), -EACCES);
    cr_assert_eq(store_key_verify(st, "", &v), -EACCES);
    cr_assert_eq(store_key_verify(st, NULL, &v), -EACCES);
    memcpy(wrong, key, sizeof(wrong));
    wrong[10] = 'A';
    cr_assert_eq(store_key_verify(st, wrong, &v), -EACCES);

    cr_assert_eq(store_key_create(st, "o", NULL, false, key2, &info2), 0);
    cr_assert_str_neq(key, key2);
    cr_assert_str_neq(info.id, info2.id);
    cr_assert_str_eq(info2.name, "");
    cr_assert_eq(store_key_count(st, true), 2);
    cr_assert_eq(store_key_count(st, false), 2);

    /* revoke by id */
    cr_assert_eq(store_key_revoke(st, info.id), 0);
    cr_assert_eq(store_key_verify(st, key, &v), -EACCES);
    cr_assert_eq(store_key_verify(st, key2, &v), 0);
    cr_assert_eq(store_key_revoke(st, info.id), 0); /* idempotent */
    cr_assert_eq(store_key_count(st, true), 2);
    cr_assert_eq(store_key_count(st, false), 1);

    /* revoke by display prefix */
    cr_assert_eq(store_key_revoke(st, info2.prefix), 0);
    cr_assert_eq(store_key_verify(st, key2, &v), -EACCES);
    cr_assert_eq(store_key_count(st, false), 0);

    cr_assert_eq(store_key_revoke(st, "0000000000000000"), -ENOENT);
    cr_assert_eq(store_key_revoke(st, "cove_zzzzzzz"), -ENOENT);

    cr_assert_eq(store_key_list(st, key_list_cb, counts), 0);
    cr_assert_eq(counts[0], 0);
    cr_assert_eq(counts[1], 2);

    cr_assert_eq(store_key_create(st, "", "x", false, key, &info), -EINVAL);
}

/* ---- settings ---- */

Test(store, settings)
{
    char buf[8];

    cr_assert_eq(store_setting_get(st, "k", buf, sizeof(buf)), -ENOENT);
    cr_assert_eq(store_setting_set(st, "k", "v1"), 0);
    cr_assert_eq(store_setting_get(st, "k", buf, sizeof(buf)), 2);
    cr_assert_str_eq(buf, "v1");
    cr_assert_eq(store_setting_set(st, "k", "longer than 8"), 0);
    cr_assert_eq(store_setting_get(st, "k", buf, sizeof(buf)), -ENOBUFS);
    cr_assert_eq(store_setting_set(st, "k", NULL), 0);
    cr_assert_eq(store_setting_get(st, "k", buf, sizeof(buf)), -ENOENT);
}

/* ---- failure modes ---- */

Test(store, disk_full)
{
    struct sandbox_rec r, g;
    struct cove_err err = {0};
    char big[64 << 10];

    insert_ok("a", "o", "a", "{}", 1, 1);
    /* Cap the database at its current size: the next growth fails with SQLITE_FULL, which
     * is what a full disk looks like to SQLite. */
    sqlite3_stmt *s;
    char sql[64];
    cr_assert_eq(sqlite3_prepare_v2(st->db, "PRAGMA page_count", -1, &s, NULL), SQLITE_OK);
    cr_assert_eq(sqlite3_step(s), SQLITE_ROW);
    (void)snprintf(sql, sizeof(sql), "PRAGMA max_page_count = %lld",
                   (long long)sqlite3_column_int64(s, 0));
    sqlite3_finalize(s);
    cr_assert_eq(sqlite3_exec(st->db, sql, NULL, NULL, NULL), SQLITE_OK);

    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    mkrec(&r, "b", "o", "b", "{}", 2, 2);
    r.extra_json = big;
    cr_assert_eq(store_sandbox_insert(st, &r, &err), -ENOSPC);
    cr_assert_str_eq(err.msg, "state database is full (disk full?)");

    cr_assert_eq(store_setting_set(st, "k", big), -ENOSPC);
    store_err(-ENOSPC, &err);
    cr_assert_str_eq(err.msg, "state database is full (disk full?)");

    /* nothing half-written, and the store still works */
    cr_assert_eq(store_sandbox_get(st, "o", "b", &g), -ENOENT);
    cr_assert_eq(store_sandbox_get(st, "o", "a", &g), 0);
    store_sandbox_rec_free(&g);
    cr_assert_eq(store_sandbox_touch(st, "a", 7), 0);
}

static char tmpdir[64];

static void file_setup(void)
{
    (void)snprintf(tmpdir, sizeof(tmpdir), "/tmp/test-store-XXXXXX");
    cr_assert_not_null(mkdtemp(tmpdir));
}

static void file_teardown(void)
{
    char cmd[128];
    (void)snprintf(cmd, sizeof(cmd), "rm -rf -- '%s'", tmpdir);
    (void)!system(cmd);
}

TestSuite(store_file, .init = file_setup, .fini = file_teardown);

Test(store_file, create_mode_and_reopen)
{
    char path[128];
    struct cove_err err = {0};
    struct store *s1 = NULL;
    struct stat sb;
    char buf[16];

    (void)snprintf(path, sizeof(path), "%s/state.db", tmpdir);
    umask(022);
    cr_assert_eq(store_open(path, &s1, &err), 0, "%s", err.msg);
    cr_assert_eq(stat(path, &sb), 0);
    cr_assert_eq(sb.st_mode & 07777, 0600);
    cr_assert_eq(store_setting_set(s1, "install", "abc"), 0);
    store_close(s1);

    /* reopening runs no migration twice and keeps the data */
    cr_assert_eq(store_open(path, &s1, &err), 0, "%s", err.msg);
    cr_assert_eq(store_setting_get(s1, "install", buf, sizeof(buf)), 3);
    cr_assert_str_eq(buf, "abc");
    store_close(s1);
}

Test(store_file, corrupt)
{
    char path[128], junk[8192];
    struct cove_err err = {0};
    struct store *s1 = NULL;
    int fd;

    (void)snprintf(path, sizeof(path), "%s/state.db", tmpdir);
    fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    cr_assert_geq(fd, 0);
    memset(junk, 0x5a, sizeof(junk));
    cr_assert_eq(write(fd, junk, sizeof(junk)), (ssize_t)sizeof(junk));
    close(fd);
    cr_assert_eq(store_open(path, &s1, &err), -EUCLEAN);
    cr_assert_null(s1);
    cr_assert_str_eq(err.msg, "state database is corrupt");
}

Test(store_file, corrupt_pages)
{
    char path[128], junk[4096];
    struct cove_err err = {0};
    struct store *s1 = NULL;
    int fd;

    (void)snprintf(path, sizeof(path), "%s/state.db", tmpdir);
    cr_assert_eq(store_open(path, &s1, &err), 0, "%s", err.msg);
    for (int i = 0; i < 50; i++) {
        char id[33], name[64];
        struct sandbox_rec r;
        (void)snprintf(id, sizeof(id), "id%d", i);
        (void)snprintf(name, sizeof(name), "n%d", i);
        mkrec(&r, id, "o", name, "{\"k\":\"v\"}", i, (uint32_t)i + 1);
        cr_assert_eq(store_sandbox_insert(s1, &r, &err), 0, "%s", err.msg);
    }
    store_close(s1);
    s1 = NULL;

    /* keep the valid header page, trash the pages after it */
    fd = open(path, O_WRONLY | O_CLOEXEC);
    cr_assert_geq(fd, 0);
    memset(junk, 0xa5, sizeof(junk));
    for (off_t off = 4096; off < (off_t)4096 * 6; off += 4096)
        cr_assert_eq(pwrite(fd, junk, sizeof(junk), off), (ssize_t)sizeof(junk));
    close(fd);
    cr_assert_eq(store_open(path, &s1, &err), -EUCLEAN, "%d %s", err.code, err.msg);
    cr_assert_str_eq(err.msg, "state database is corrupt");
}

Test(store_file, newer_schema_refused)
{
    char path[128];
    struct cove_err err = {0};
    struct store *s1 = NULL;

    (void)snprintf(path, sizeof(path), "%s/state.db", tmpdir);
    cr_assert_eq(store_open(path, &s1, &err), 0, "%s", err.msg);
    cr_assert_eq(sqlite3_exec(s1->db, "PRAGMA user_version = 999", NULL, NULL, NULL), SQLITE_OK);
    store_close(s1);
    s1 = NULL;
    cr_assert_eq(store_open(path, &s1, &err), -EPROTONOSUPPORT);
    cr_assert_null(s1);
}

Test(store_file, unopenable)
{
    struct cove_err err = {0};
    struct store *s1 = NULL;

    cr_assert_lt(store_open("/nonexistent-dir/x/state.db", &s1, &err), 0);
    cr_assert_null(s1);
    cr_assert_neq(err.msg[0], '\0');
}
