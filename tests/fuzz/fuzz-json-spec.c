/* Fuzz target: the create-sandbox spec parser, sandbox_spec_from_json() (src/sandbox/spec.c),
 * fed the same way the server does (jansson with JSON_REJECT_DUPLICATES | JSON_DECODE_ANY).
 *
 * Invariants: success leaves every limit inside its documented range (docs/API.md) and the
 * name valid; an egress policy is normalised and survives the store's JSON round trip;
 * failure returns -EINVAL (or -ENOMEM) with a message; nothing leaks (ASan). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/limits.h"
#include "fuzz.h"
#include "sandbox/sandbox.h"

/* A parsed egress policy is in range, normalised, and survives the store's round trip. */
static void check_network(const struct egress_policy *p)
{
    struct egress_policy q;
    json_t *j;
    char *text;

    FUZZ_CHECK(p->mode >= EGRESS_NONE && p->mode < _EGRESS_MODE_MAX);
    FUZZ_CHECK(p->n_cidrs <= COVE_MAX_ALLOW_CIDRS);
    FUZZ_CHECK(p->n_domains <= COVE_MAX_ALLOW_DOMAINS);
    FUZZ_CHECK((p->mode == EGRESS_ALLOW) == (p->n_cidrs > 0 || p->n_domains > 0));
    for (uint32_t i = 0; i < p->n_domains; i++) {
        FUZZ_CHECK(p->domains[i][0] && strlen(p->domains[i]) <= COVE_MAX_DOMAIN);
        for (const char *c = p->domains[i]; *c; c++)
            FUZZ_CHECK((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-' ||
                       *c == '.' || (*c == '*' && c == p->domains[i]));
        if (p->domains[i][0] == '*') { /* "*.example.com" allows a name under it */
            char sub[COVE_MAX_DOMAIN + 2] = "a";
            strcat(sub, p->domains[i] + 1);
            FUZZ_CHECK(egress_policy_domain_allowed(p, sub));
        } else {
            FUZZ_CHECK(egress_policy_domain_allowed(p, p->domains[i]));
        }
    }
    for (uint32_t i = 0; i < p->n_cidrs; i++) {
        FUZZ_CHECK(p->cidrs[i].len <= 32);
        FUZZ_CHECK(p->cidrs[i].len == 32 ||
                   (p->cidrs[i].addr & ~(p->cidrs[i].len ? ~0u << (32 - p->cidrs[i].len) : 0)) ==
                       0);
    }
    j = egress_policy_to_json(p);
    text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!text)
        return; /* out of memory */
    FUZZ_CHECK(egress_policy_from_string(text, &q) == 0);
    free(text);
    FUZZ_CHECK(q.mode == p->mode && q.n_cidrs == p->n_cidrs && q.n_domains == p->n_domains);
    for (uint32_t i = 0; i < p->n_domains; i++)
        FUZZ_CHECK(!strcmp(q.domains[i], p->domains[i]));
    for (uint32_t i = 0; i < p->n_cidrs; i++)
        FUZZ_CHECK(q.cidrs[i].addr == p->cidrs[i].addr && q.cidrs[i].len == p->cidrs[i].len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sandbox_spec spec;
    struct cove_err err = {0};
    json_error_t je;
    json_t *body;
    int r;

    body = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
    if (!body)
        return 0;
    sandbox_spec_init(&spec);
    if (!json_is_object(body)) {
        json_decref(body);
        sandbox_spec_done(&spec);
        return 0;
    }
    r = sandbox_spec_from_json(body, &spec, &err);
    if (r < 0) {
        FUZZ_CHECK(r == -EINVAL || r == -ENOMEM);
        FUZZ_CHECK(err.code == r && err.msg[0]);
    } else {
        FUZZ_CHECK(r == 0);
        FUZZ_CHECK(spec.cpu_milli >= 10 && spec.cpu_milli <= COVE_MAX_CPU_MILLI);
        FUZZ_CHECK(spec.memory_mib >= COVE_MIN_MEMORY_MIB &&
                   spec.memory_mib <= COVE_MAX_MEMORY_MIB);
        FUZZ_CHECK(spec.disk_mib >= COVE_MIN_DISK_MIB && spec.disk_mib <= COVE_MAX_DISK_MIB);
        FUZZ_CHECK(spec.pids >= 16 && spec.pids <= COVE_MAX_PIDS);
        FUZZ_CHECK(spec.auto_stop_min >= 0 && spec.auto_stop_min <= COVE_MAX_AUTOSTOP_MIN);
        FUZZ_CHECK(!spec.name[0] || sandbox_name_valid(spec.name) == 0);
        FUZZ_CHECK(spec.image[0] && strlen(spec.image) < sizeof(spec.image));
        FUZZ_CHECK(!spec.env || json_object_size(spec.env) <= COVE_MAX_ENV);
        FUZZ_CHECK(!spec.labels || json_object_size(spec.labels) <= COVE_MAX_LABELS);
        check_network(&spec.network);
    }
    sandbox_spec_done(&spec);
    json_decref(body);
    return 0;
}
