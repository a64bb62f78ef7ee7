/* Egress policies: parsing from the native and Daytona APIs, normalising, and the JSON
 * form kept in the store. Pure code (no kernel, no store), so it is unit-tested and every
 * rule text the runtime renders comes from a parsed, re-formatted address, never from
 * client bytes. */
#include <arpa/inet.h>
#include <errno.h>
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

static int from_object(json_t *v, struct egress_policy *p, struct cove_err *err)
{
    const char *k;
    json_t *m, *x;
    size_t i;

    json_object_foreach(v, k, x)
    {
        if (strcmp(k, "mode") && strcmp(k, "allow_cidrs"))
            return cove_err_setk(err, -EINVAL, "UNKNOWN_FIELD",
                                 "unknown field 'network.%.64s' (known: mode, allow_cidrs)", k);
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
    if (p->mode != EGRESS_ALLOW && json_array_size(x) > 0)
        return cove_err_set(err, -EINVAL, "'network.allow_cidrs' needs \"mode\": \"allow\"");
    if (p->mode == EGRESS_ALLOW && json_array_size(x) == 0)
        return cove_err_set(err, -EINVAL,
                            "\"mode\": \"allow\" needs a non-empty 'network.allow_cidrs'");
    json_array_foreach(x, i, m)
    {
        if (!json_is_string(m))
            return cove_err_set(err, -EINVAL, "'network.allow_cidrs[%zu]' must be a string", i);
        int r = egress_policy_add(p, json_string_value(m), err);
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

int egress_policy_from_daytona(json_t *block_all, json_t *allow_list, struct egress_policy *ret,
                               struct cove_err *err)
{
    const char *s;
    char item[64];

    memset(ret, 0, sizeof(*ret));
    if (json_is_true(block_all))
        return 0;
    s = json_is_string(allow_list) ? json_string_value(allow_list) : "";
    while (*s) {
        const char *comma = strchr(s, ',');
        size_t n = comma ? (size_t)(comma - s) : strlen(s);
        size_t b = 0, e = n;
        while (b < e && (s[b] == ' ' || s[b] == '\t'))
            b++;
        while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t'))
            e--;
        if (e - b >= sizeof(item))
            return cove_err_set(err, -EINVAL, "networkAllowList: '%.64s' is not a CIDR", s + b);
        if (e > b) {
            memcpy(item, s + b, e - b);
            item[e - b] = 0;
            struct cove_err ce = {0};
            int r = egress_policy_add(ret, item, &ce);
            if (r < 0)
                return cove_err_set(err, r, "networkAllowList: %s", ce.msg);
        }
        s += comma ? n + 1 : n;
    }
    if (ret->n_cidrs)
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
