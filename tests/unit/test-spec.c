/* Unit tests for the /v1 create-request parser (src/sandbox/spec.c). */
#include <criterion/criterion.h>
#include <jansson.h>

#include "base/limits.h"
#include "sandbox/sandbox.h"

static int parse(const char *text, struct sandbox_spec *s, struct cove_err *err)
{
    json_error_t je;
    json_t *j = json_loads(text, 0, &je);
    cr_assert_not_null(j, "test JSON must parse: %s", je.text);
    sandbox_spec_init(s);
    int r = sandbox_spec_from_json(j, s, err);
    json_decref(j);
    return r;
}

Test(spec, defaults)
{
    struct sandbox_spec s;
    struct cove_err err = {0};

    cr_assert_eq(parse("{}", &s, &err), 0);
    cr_assert_str_eq(s.image, "base");
    cr_assert_eq(s.cpu_milli, COVE_DEFAULT_CPU_MILLI);
    cr_assert_eq(s.memory_mib, COVE_DEFAULT_MEMORY_MIB);
    cr_assert_eq(s.disk_mib, COVE_DEFAULT_DISK_MIB);
    cr_assert_eq(s.pids, COVE_DEFAULT_PIDS);
    cr_assert_eq(s.auto_stop_min, COVE_DEFAULT_AUTOSTOP_MIN);
    cr_assert_str_eq(s.name, "");
    sandbox_spec_done(&s);
}

Test(spec, every_field)
{
    struct sandbox_spec s;
    struct cove_err err = {0};

    cr_assert_eq(parse("{\"name\":\"demo-1\",\"image\":\"base\",\"cpu\":0.5,\"memory_mib\":256,"
                       "\"disk_mib\":128,\"pids\":64,\"auto_stop_minutes\":0,"
                       "\"env\":{\"A\":\"1\"},\"labels\":{\"team\":\"x\"}}",
                       &s, &err),
                 0, "%s", err.msg);
    cr_assert_str_eq(s.name, "demo-1");
    cr_assert_eq(s.cpu_milli, 500);
    cr_assert_eq(s.memory_mib, 256);
    cr_assert_eq(s.disk_mib, 128);
    cr_assert_eq(s.pids, 64);
    cr_assert_eq(s.auto_stop_min, 0);
    cr_assert_str_eq(json_string_value(json_object_get(s.env, "A")), "1");
    cr_assert_str_eq(json_string_value(json_object_get(s.labels, "team")), "x");
    sandbox_spec_done(&s);
}

Test(spec, rejects)
{
    static const char *const bad[] = {
        "{\"nope\":1}",         /* unknown field */
        "{\"cpu\":\"1\"}",      /* wrong type */
        "{\"cpu\":0}",          /* below range */
        "{\"cpu\":65}",         /* above range */
        "{\"memory_mib\":1.5}", /* not an integer */
        "{\"memory_mib\":-1}",  "{\"memory_mib\":15}",        "{\"disk_mib\":999999999999}",
        "{\"pids\":1}",         "{\"auto_stop_minutes\":-1}", "{\"name\":\"\"}",
        "{\"name\":\"-x\"}",    "{\"name\":\".x\"}",          "{\"name\":\"a b\"}",
        "{\"name\":\"a/b\"}",   "{\"env\":{\"A\":1}}",        "{\"env\":{\"A=B\":\"1\"}}",
        "{\"env\":[]}",         "{\"labels\":{\"k\":null}}",  "{\"image\":7}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct sandbox_spec s;
        struct cove_err err = {0};
        cr_assert_lt(parse(bad[i], &s, &err), 0, "accepted %s", bad[i]);
        cr_assert_neq(err.msg[0], '\0', "no message for %s", bad[i]);
        sandbox_spec_done(&s);
    }
}

Test(spec, name_rules)
{
    cr_assert_eq(sandbox_name_valid("a"), 0);
    cr_assert_eq(sandbox_name_valid("A.b_c-9"), 0);
    cr_assert_lt(sandbox_name_valid(""), 0);
    char long_name[COVE_MAX_NAME + 2];
    memset(long_name, 'a', sizeof(long_name) - 1);
    long_name[sizeof(long_name) - 1] = '\0';
    cr_assert_lt(sandbox_name_valid(long_name), 0);
}
