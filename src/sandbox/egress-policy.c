/* Egress policies: parsing from the native and Daytona APIs, normalising, and the JSON
 * form kept in the store. Pure code (no kernel, no store), so it is unit-tested and every
 * rule text the runtime renders comes from a parsed, re-formatted address, never from
 * client bytes. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "base/parse.h"
#include "sandbox/egress.h"

static const char *const mode_names[_EGRESS_MODE_MAX] = {
    [EGRESS_NONE] = "none",
    [EGRESS_ALL] = "all",
    [EGRESS_ALLOW] = "allow",
};

const char *egress_mode_to_string(enum egress_mode m)
{
    return m >= 0 && m < _EGRESS_MODE_MAX ? mode_names[m] : "unknown";
}

enum egress_mode egress_mode_from_string(const char *s)
{
    for (int i = 0; i < _EGRESS_MODE_MAX; i++)
        if (!strcmp(s, mode_names[i]))
            return (enum egress_mode)i;
    return _EGRESS_MODE_INVALID;
}

int egress_cidr_parse(const char *s, struct egress_cidr *ret, struct cove_err *err)
{
    char a[INET_ADDRSTRLEN];
    const char *slash = strchr(s, '/');
    size_t alen = slash ? (size_t)(slash - s) : strlen(s);
    struct in_addr in;
    uint32_t len = 32, addr, mask;

    if (strchr(s, ':'))
        return cove_err_set(err, -EINVAL, "'%.64s': only IPv4 CIDRs are supported", s);
    if (alen == 0 || alen >= sizeof(a))
        return cove_err_set(err, -EINVAL, "'%.64s' is not an IPv4 address or CIDR", s);
    memcpy(a, s, alen);
    a[alen] = 0;
    if (inet_pton(AF_INET, a, &in) != 1)
        return cove_err_set(err, -EINVAL, "'%.64s' is not an IPv4 address or CIDR", s);
    if (slash &&
        (!slash[1] || strlen(slash + 1) > 2 || parse_u32_range(slash + 1, 0, 32, &len) < 0))
        return cove_err_set(err, -EINVAL, "'%.64s': the prefix length must be 0-32", s);
    addr = ntohl(in.s_addr);
    mask = len ? ~0u << (32 - len) : 0;
    if (addr & ~mask)
        return cove_err_set(err, -EINVAL,
                            "'%.64s' has host bits set (did you mean %u.%u.%u.%u/%u?)", s,
                            (addr & mask) >> 24, (addr & mask) >> 16 & 255,
                            (addr & mask) >> 8 & 255, addr & mask & 255, len);
    ret->addr = addr;
    ret->len = (uint8_t)len;
    return 0;
}

void egress_cidr_format(const struct egress_cidr *c, char *buf, size_t cap)
{
    snprintf(buf, cap, "%u.%u.%u.%u/%u", c->addr >> 24, c->addr >> 16 & 255, c->addr >> 8 & 255,
             c->addr & 255, c->len);
}

int egress_policy_add(struct egress_policy *p, const char *cidr, struct cove_err *err)
{
    struct egress_cidr c;
    int r = egress_cidr_parse(cidr, &c, err);

    if (r < 0)
        return r;
    for (uint32_t i = 0; i < p->n_cidrs; i++)
        if (p->cidrs[i].addr == c.addr && p->cidrs[i].len == c.len)
            return 0;
    if (p->n_cidrs >= COVE_MAX_ALLOW_CIDRS)
        return cove_err_set(err, -EINVAL, "an allow list holds at most %d CIDRs",
                            COVE_MAX_ALLOW_CIDRS);
    p->cidrs[p->n_cidrs++] = c;
    return 0;
}

/* A DNS name: 1-253 bytes of dot-separated labels of 1-63 [a-z0-9-] (case-folded) that do
 * not start or end with '-', at least two labels; "*." in front matches any name below. */
int egress_policy_add_domain(struct egress_policy *p, const char *name, struct cove_err *err)
{
    char d[COVE_MAX_DOMAIN + 1];
    size_t n = strlen(name), label = 0, labels = 1, start = 0;

    if (n > 2 && name[0] == '*' && name[1] == '.')
        start = 2;
    if (n == start || n > COVE_MAX_DOMAIN)
        return cove_err_set(err, -EINVAL, "'%.64s' is not a domain name (1-%d bytes)", name,
                            COVE_MAX_DOMAIN);
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (i < start) {
            d[i] = c;
            continue;
        }
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c == '.') {
            if (label == 0 || name[i - 1] == '-')
                return cove_err_set(err, -EINVAL, "'%.64s' has an empty or bad label", name);
            label = 0, labels++;
        } else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-') {
            if ((label == 0 && c == '-') || ++label > 63)
                return cove_err_set(err, -EINVAL, "'%.64s' has a bad label", name);
        } else {
            return cove_err_set(err, -EINVAL,
                                "'%.64s' is not a domain name (letters, digits, '-', '.')", name);
        }
        d[i] = c;
    }
    d[n] = 0;
    if (label == 0 || name[n - 1] == '-' || labels < 2)
        return cove_err_set(err, -EINVAL, "'%.64s' is not a domain name like example.com", name);
    for (uint32_t i = 0; i < p->n_domains; i++)
        if (!strcmp(p->domains[i], d))
            return 0;
    if (p->n_domains >= COVE_MAX_ALLOW_DOMAINS)
        return cove_err_set(err, -EINVAL, "an allow list holds at most %d domains",
                            COVE_MAX_ALLOW_DOMAINS);
    memcpy(p->domains[p->n_domains++], d, n + 1);
    return 0;
}

bool egress_policy_domain_allowed(const struct egress_policy *p, const char *name)
{
    size_t n = strlen(name);

    for (uint32_t i = 0; i < p->n_domains; i++) {
        const char *d = p->domains[i];
        if (d[0] == '*') {
            size_t k = strlen(d + 1); /* ".example.com" */
            if (n > k && !strcmp(name + n - k, d + 1))
                return true;
        } else if (!strcmp(name, d)) {
            return true;
        }
    }
    return false;
}

static int from_object(json_t *v, struct egress_policy *p, struct cove_err *err)
{
    const char *k;
    json_t *m, *x;
    size_t i;

    json_object_foreach(v, k, x)
    {
        if (strcmp(k, "mode") && strcmp(k, "allow_cidrs") && strcmp(k, "allow_domains"))
            return cove_err_setk(err, -EINVAL, "UNKNOWN_FIELD",
                                 "unknown field 'network.%.64s' (known: mode, allow_cidrs, "
                                 "allow_domains)",
                                 k);
    }
    m = json_object_get(v, "mode");
    if (!json_is_string(m) || egress_mode_from_string(json_string_value(m)) < 0)
        return cove_err_set(err, -EINVAL, "'network.mode' must be \"none\", \"all\" or \"allow\"");
    p->mode = egress_mode_from_string(json_string_value(m));
    x = json_object_get(v, "allow_cidrs");
    if (x && !json_is_array(x))
        return cove_err_set(err, -EINVAL, "'network.allow_cidrs' must be an array of strings");
    if (x && json_array_size(x) > COVE_MAX_ALLOW_CIDRS)
        return cove_err_set(err, -EINVAL, "'network.allow_cidrs' holds at most %d CIDRs",
                            COVE_MAX_ALLOW_CIDRS);
    json_t *dl = json_object_get(v, "allow_domains");
    if (dl && !json_is_array(dl))
        return cove_err_set(err, -EINVAL, "'network.allow_domains' must be an array of strings");
    if (dl && json_array_size(dl) > COVE_MAX_ALLOW_DOMAINS)
        return cove_err_set(err, -EINVAL, "'network.allow_domains' holds at most %d names",
                            COVE_MAX_ALLOW_DOMAINS);
    if (p->mode != EGRESS_ALLOW && (json_array_size(x) > 0 || json_array_size(dl) > 0))
        return cove_err_set(err, -EINVAL,
                            "'network.allow_cidrs' and 'allow_domains' need \"mode\": \"allow\"");
    if (p->mode == EGRESS_ALLOW && json_array_size(x) == 0 && json_array_size(dl) == 0)
        return cove_err_set(err, -EINVAL,
                            "\"mode\": \"allow\" needs a non-empty 'network.allow_cidrs' or "
                            "'network.allow_domains'");
    json_array_foreach(x, i, m)
    {
        if (!json_is_string(m))
            return cove_err_set(err, -EINVAL, "'network.allow_cidrs[%zu]' must be a string", i);
        int r = egress_policy_add(p, json_string_value(m), err);
        if (r < 0)
            return r;
    }
    json_array_foreach(dl, i, m)
    {
        if (!json_is_string(m))
            return cove_err_set(err, -EINVAL, "'network.allow_domains[%zu]' must be a string", i);
        int r = egress_policy_add_domain(p, json_string_value(m), err);
        if (r < 0)
            return r;
    }
    return 0;
}

int egress_policy_from_api(json_t *v, struct egress_policy *ret, struct cove_err *err)
{
    memset(ret, 0, sizeof(*ret));
    if (json_is_string(v)) {
        enum egress_mode m = egress_mode_from_string(json_string_value(v));
        if (m != EGRESS_NONE && m != EGRESS_ALL)
            return cove_err_set(err, -EINVAL,
                                "'network' must be \"none\", \"all\" or an object "
                                "{\"mode\": \"allow\", \"allow_cidrs\": [...]}");
        ret->mode = m;
        return 0;
    }
    if (!json_is_object(v))
        return cove_err_set(err, -EINVAL, "'network' must be a string or an object");
    return from_object(v, ret, err);
}

/* Split a comma-separated list, trimming blanks, and add each item. */
static int add_list(struct egress_policy *p, const char *field, const char *s, bool domains,
                    struct cove_err *err)
{
    char item[COVE_MAX_DOMAIN + 1];

    while (*s) {
        const char *comma = strchr(s, ',');
        size_t n = comma ? (size_t)(comma - s) : strlen(s);
        size_t b = 0, e = n;
        while (b < e && (s[b] == ' ' || s[b] == '\t'))
            b++;
        while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t'))
            e--;
        if (e - b >= sizeof(item))
            return cove_err_set(err, -EINVAL, "%s: '%.64s' is too long", field, s + b);
        if (e > b) {
            struct cove_err ce = {0};
            memcpy(item, s + b, e - b);
            item[e - b] = 0;
            int r =
                domains ? egress_policy_add_domain(p, item, &ce) : egress_policy_add(p, item, &ce);
            if (r < 0)
                return cove_err_set(err, r, "%s: %s", field, ce.msg);
        }
        s += comma ? n + 1 : n;
    }
    return 0;
}

int egress_policy_from_daytona(json_t *block_all, json_t *allow_list, json_t *domain_list,
                               struct egress_policy *ret, struct cove_err *err)
{
    int r;

    memset(ret, 0, sizeof(*ret));
    if (json_is_true(block_all))
        return 0;
    r = add_list(ret, "networkAllowList",
                 json_is_string(allow_list) ? json_string_value(allow_list) : "", false, err);
    if (r >= 0)
        r = add_list(ret, "domainAllowList",
                     json_is_string(domain_list) ? json_string_value(domain_list) : "", true, err);
    if (r < 0)
        return r;
    if (ret->n_cidrs || ret->n_domains)
        ret->mode = EGRESS_ALLOW;
    else if (json_is_false(block_all))
        ret->mode = EGRESS_ALL;
    return 0;
}

json_t *egress_policy_to_json(const struct egress_policy *p)
{
    json_t *o = json_object(), *a = json_array();
    char c[32];

    if (!o || !a) {
        json_decref(o);
        json_decref(a);
        return NULL;
    }
    for (uint32_t i = 0; i < p->n_cidrs; i++) {
        egress_cidr_format(&p->cidrs[i], c, sizeof(c));
        json_array_append_new(a, json_string(c));
    }
    json_object_set_new(o, "mode", json_string(egress_mode_to_string(p->mode)));
    json_object_set_new(o, "allow_cidrs", a);
    if (p->n_domains) {
        json_t *d = json_array();
        for (uint32_t i = 0; d && i < p->n_domains; i++)
            json_array_append_new(d, json_string(p->domains[i]));
        json_object_set_new(o, "allow_domains", d);
    }
    return o;
}

int egress_policy_from_string(const char *s, struct egress_policy *ret)
{
    json_t *v;
    int r;

    memset(ret, 0, sizeof(*ret));
    if (!s || !*s)
        return 0;
    v = json_loads(s, 0, NULL);
    if (!v)
        return -EINVAL;
    r = from_object(v, ret, NULL);
    json_decref(v);
    return r;
}
