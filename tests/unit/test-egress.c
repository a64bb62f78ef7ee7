/* Unit tests for egress policies (src/sandbox/egress-policy.c): CIDR parsing, the native
 * and Daytona request forms, and the stored JSON round trip. */
#include <criterion/criterion.h>
#include <errno.h>
#include <jansson.h>
#include <string.h>

#include "sandbox/egress.h"

static int from_api(const char *text, struct egress_policy *p, struct cove_err *err)
{
    json_error_t je;
    json_t *j = json_loads(text, JSON_DECODE_ANY, &je);
    cr_assert_not_null(j, "test JSON must parse: %s", je.text);
    int r = egress_policy_from_api(j, p, err);
    json_decref(j);
    return r;
}

Test(egress, cidr_forms)
{
    struct egress_cidr c;
    char buf[32];

    cr_assert_eq(egress_cidr_parse("10.1.0.0/16", &c, NULL), 0);
    cr_assert_eq(c.addr, 0x0a010000u);
    cr_assert_eq(c.len, 16);
    cr_assert_eq(egress_cidr_parse("1.2.3.4", &c, NULL), 0);
    cr_assert_eq(c.len, 32);
    egress_cidr_format(&c, buf, sizeof(buf));
    cr_assert_str_eq(buf, "1.2.3.4/32");
    cr_assert_eq(egress_cidr_parse("0.0.0.0/0", &c, NULL), 0);
    cr_assert_eq(c.len, 0);
}

Test(egress, cidr_refusals)
{
    static const char *const bad[] = {"",
                                      "/8",
                                      "10.0.0.0/",
                                      "10.0.0.0/33",
                                      "10.0.0.1/8",
                                      "10.0.0.0/-1",
                                      "10.0.0.0/8x",
                                      "::1/128",
                                      "1.2.3",
                                      "1.2.3.4.5",
                                      "01.2.3.4/8",
                                      "10.0.0.0/008",
                                      "host.example",
                                      " 1.2.3.4"};
    struct egress_cidr c = {0};
    struct cove_err err = {0};

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cr_assert_eq(egress_cidr_parse(bad[i], &c, &err), -EINVAL, "accepted '%s'", bad[i]);
        cr_assert_neq(err.msg[0], 0);
    }
    egress_cidr_parse("10.0.0.1/8", &c, &err);
    cr_assert_not_null(strstr(err.msg, "10.0.0.0/8"), "%s", err.msg);
}

Test(egress, api_forms)
{
    struct egress_policy p;
    struct cove_err err = {0};

    cr_assert_eq(from_api("\"none\"", &p, &err), 0);
    cr_assert_eq(p.mode, EGRESS_NONE);
    cr_assert_eq(from_api("\"all\"", &p, &err), 0);
    cr_assert_eq(p.mode, EGRESS_ALL);
    cr_assert_eq(from_api("{\"mode\":\"allow\",\"allow_cidrs\":[\"1.2.3.0/24\",\"1.2.3.0/24\","
                          "\"9.9.9.9\"]}",
                          &p, &err),
                 0);
    cr_assert_eq(p.mode, EGRESS_ALLOW);
    cr_assert_eq(p.n_cidrs, 2, "duplicates collapse");
    cr_assert_eq(from_api("\"allow\"", &p, &err), -EINVAL);
    cr_assert_eq(from_api("{\"mode\":\"allow\"}", &p, &err), -EINVAL);
    cr_assert_eq(from_api("{\"mode\":\"all\",\"extra\":1}", &p, &err), -EINVAL);
    cr_assert_eq(from_api("{\"mode\":\"none\",\"allow_cidrs\":[\"1.2.3.4\"]}", &p, &err), -EINVAL);
    cr_assert_eq(from_api("[]", &p, &err), -EINVAL);
}

Test(egress, allow_list_cap)
{
    struct egress_policy p = {.mode = EGRESS_ALLOW};
    char c[32];

    for (int i = 0; i < COVE_MAX_ALLOW_CIDRS; i++) {
        snprintf(c, sizeof(c), "10.0.%d.0/24", i);
        cr_assert_eq(egress_policy_add(&p, c, NULL), 0);
    }
    cr_assert_eq(egress_policy_add(&p, "10.1.0.0/24", NULL), -EINVAL);
    cr_assert_eq(egress_policy_add(&p, "10.0.0.0/24", NULL), 0, "a duplicate is no new entry");
}

Test(egress, daytona_mapping)
{
    struct egress_policy p;
    struct cove_err err = {0};
    json_t *t = json_true(), *f = json_false(), *list = json_string(" 1.2.3.0/24 ,, 5.6.7.8 ");
    json_t *junk = json_string("1.2.3.0/24,nope");

    cr_assert_eq(egress_policy_from_daytona(NULL, NULL, NULL, &p, &err), 0);
    cr_assert_eq(p.mode, EGRESS_NONE, "nothing said: blocked by default");
    cr_assert_eq(egress_policy_from_daytona(f, NULL, NULL, &p, &err), 0);
    cr_assert_eq(p.mode, EGRESS_ALL);
    cr_assert_eq(egress_policy_from_daytona(t, list, NULL, &p, &err), 0);
    cr_assert_eq(p.mode, EGRESS_NONE, "block-all wins over a list");
    cr_assert_eq(egress_policy_from_daytona(NULL, list, NULL, &p, &err), 0);
    cr_assert_eq(p.mode, EGRESS_ALLOW);
    cr_assert_eq(p.n_cidrs, 2);
    cr_assert_eq(egress_policy_from_daytona(f, junk, NULL, &p, &err), -EINVAL);
    cr_assert_not_null(strstr(err.msg, "networkAllowList"), "%s", err.msg);
    json_decref(t);
    json_decref(f);
    json_decref(list);
    json_decref(junk);
}

Test(egress, stored_round_trip)
{
    struct egress_policy p, q;
    struct cove_err err = {0};

    cr_assert_eq(
        from_api("{\"mode\":\"allow\",\"allow_cidrs\":[\"198.18.0.0/15\",\"8.8.8.8\"]}", &p, &err),
        0);
    json_t *j = egress_policy_to_json(&p);
    char *s = json_dumps(j, JSON_COMPACT);
    cr_assert_eq(egress_policy_from_string(s, &q), 0);
    cr_assert_eq(q.mode, EGRESS_ALLOW);
    cr_assert_eq(q.n_cidrs, 2);
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(p.cidrs[i].addr, q.cidrs[i].addr);
        cr_assert_eq(p.cidrs[i].len, q.cidrs[i].len);
    }
    free(s);
    json_decref(j);
    cr_assert_eq(egress_policy_from_string(NULL, &q), 0);
    cr_assert_eq(q.mode, EGRESS_NONE);
    cr_assert_eq(egress_policy_from_string("{", &q), -EINVAL);
}

Test(egress, link_addressing)
{
    struct egress_link a, b;
    struct cove_err err = {0};

    cr_assert_eq(egress_init("cove", "10.77.0.0/16", NULL, &err), 0, "%s", err.msg);
    cr_assert_eq(egress_link_of("0123456789abcdef", 1, &a, &err), 0);
    cr_assert_str_eq(a.host_if, "cv0123456789abc");
    cr_assert_eq(a.gateway, 0x0a4d0005u);
    cr_assert_eq(a.addr, 0x0a4d0006u);
    cr_assert_eq(egress_link_of("fedcba9876543210", 2, &b, &err), 0);
    cr_assert_eq(b.addr, 0x0a4d000au);
    cr_assert_eq(egress_link_of("x", 0, &a, &err), -ENOSPC);
    cr_assert_eq(egress_link_of("x", 16384, &a, &err), -ENOSPC);
    cr_assert_eq(egress_init("Bad-Name", "10.77.0.0/16", NULL, &err), -EINVAL);
    cr_assert_eq(egress_init("cove", "10.77.0.0/26", NULL, &err), -EINVAL);
}

Test(egress, domains)
{
    struct egress_policy p = {.mode = EGRESS_ALLOW};
    struct cove_err err = {0};
    static const char *const bad[] = {"",      "com",   "a..b",           ".a.b",  "a.b.",
                                      "-a.b",  "a-.b",  "a b.c",          "a_b.c", "*.",
                                      "*.com", "a.*.b", "exa\x01mple.com"};

    cr_assert_eq(egress_policy_add_domain(&p, "Example.COM", &err), 0, "%s", err.msg);
    cr_assert_str_eq(p.domains[0], "example.com");
    cr_assert_eq(egress_policy_add_domain(&p, "*.svc.example.org", &err), 0, "%s", err.msg);
    cr_assert_eq(egress_policy_add_domain(&p, "example.com", &err), 0);
    cr_assert_eq(p.n_domains, 2, "duplicates collapse");
    cr_assert(egress_policy_domain_allowed(&p, "example.com"));
    cr_assert_not(egress_policy_domain_allowed(&p, "www.example.com"));
    cr_assert_not(egress_policy_domain_allowed(&p, "badexample.com"));
    cr_assert(egress_policy_domain_allowed(&p, "a.svc.example.org"));
    cr_assert(egress_policy_domain_allowed(&p, "a.b.svc.example.org"));
    cr_assert_not(egress_policy_domain_allowed(&p, "svc.example.org"),
                  "a wildcard is not the apex");
    cr_assert_not(egress_policy_domain_allowed(&p, "xsvc.example.org"));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_assert_eq(egress_policy_add_domain(&p, bad[i], &err), -EINVAL, "accepted '%s'", bad[i]);
}
