/* Controlled egress: the network access a sandbox opted into, and how coved gives it.
 *
 * Policy (egress-policy.c, pure): mode none (the default: only `lo`), all, or allow (a list
 * of IPv4 CIDRs). It is parsed from the API, stored as normalised JSON, and parsed back on
 * restore.
 *
 * Runtime (egress.c): a sandbox that opted in gets a veth pair while it runs: host end
 * "cv" + 13 hex digits of its id, sandbox end "eth0". Addresses come from the daemon's
 * egress subnet (default 10.77.0.0/16): sandbox slot s owns the /30 at subnet + 4s, the
 * host end is .1 and the sandbox .2. One nftables table (inet, default name "cove") holds
 * every rule; a sandbox adds set elements, never chains. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/err.h"
#include "base/limits.h"

enum egress_mode {
    EGRESS_NONE,
    EGRESS_ALL,
    EGRESS_ALLOW,
    _EGRESS_MODE_MAX,
    _EGRESS_MODE_INVALID = -22,
};
const char *egress_mode_to_string(enum egress_mode m);
enum egress_mode egress_mode_from_string(const char *s);

struct egress_cidr {
    uint32_t addr; /* host byte order, host bits zero */
    uint8_t len;
};

struct egress_policy {
    enum egress_mode mode;
    uint32_t n_cidrs;
    struct egress_cidr cidrs[COVE_MAX_ALLOW_CIDRS];
    /* Names whose DNS answers open their addresses (mode allow); lowercase, "*.x" matches
     * any name under x. A sandbox with names resolves through coved (dnsfilter.c). */
    uint32_t n_domains;
    char domains[COVE_MAX_ALLOW_DOMAINS][COVE_MAX_DOMAIN + 1];
};

/* "a.b.c.d/n" or "a.b.c.d" (= /32). -EINVAL with a message naming what is wrong (IPv6,
 * host bits set, prefix out of range). */
int egress_cidr_parse(const char *s, struct egress_cidr *ret, struct cove_err *err);
void egress_cidr_format(const struct egress_cidr *c, char *buf, size_t cap);
/* Add a CIDR to an allow list; a duplicate is skipped; -E2BIG past the cap. */
int egress_policy_add(struct egress_policy *p, const char *cidr, struct cove_err *err);
/* Add a domain ("example.com" or "*.example.com"; case-folded) to an allow list. */
int egress_policy_add_domain(struct egress_policy *p, const char *name, struct cove_err *err);
/* Does the allow list admit this (lowercase, no trailing dot) name? */
bool egress_policy_domain_allowed(const struct egress_policy *p, const char *name);
/* The native API's "network": "none" | "all" |
 * {"mode": ..., "allow_cidrs": [...], "allow_domains": [...]}. */
int egress_policy_from_api(json_t *v, struct egress_policy *ret, struct cove_err *err);
/* Daytona's networkBlockAll (NULL, true/false), networkAllowList (NULL or a
 * comma-separated CIDR string) and domainAllowList (NULL or comma-separated names).
 * Block-all wins; a list means allow; an explicit false without a list means all; nothing
 * means none. */
int egress_policy_from_daytona(json_t *block_all, json_t *allow_list, json_t *domain_list,
                               struct egress_policy *ret, struct cove_err *err);
/* Normalised JSON {"mode": ..., "allow_cidrs": [...], "allow_domains": [...]}; new
 * reference. */
json_t *egress_policy_to_json(const struct egress_policy *p);
/* Parse what egress_policy_to_json produced (NULL or "" = none). */
int egress_policy_from_string(const char *s, struct egress_policy *ret);

/* ---- runtime (egress.c) ---- */

struct store;

/* Configure: the nftables table name and the egress subnet (a /16..../22 IPv4 CIDR). No
 * kernel state is touched until a networked sandbox starts. */
int egress_init(const char *table, const char *subnet, struct store *st, struct cove_err *err);

/* A sandbox's network identity, derived from its id and slot. */
struct egress_link {
    char host_if[16];
    uint32_t gateway; /* host end */
    uint32_t addr;    /* sandbox end */
};
int egress_link_of(const char *id, uint32_t slot, struct egress_link *ret, struct cove_err *err);

/* Egress addresses (slots): allocated at create, which registers the sandbox's policy
 * (its elements are in the table from then on, inert until a veth of its name exists),
 * stored with the sandbox, and registered again on restore. */
int egress_slot_alloc(const char *id, const struct egress_policy *p, uint32_t *ret,
                      struct cove_err *err);

/* Give a running sandbox its network: veth, addresses, route, set elements. Undone on
 * failure. netns_fd: the sandbox's network namespace. Nothing is needed when it stops: its
 * veth dies with its network namespace, and its elements wait, inert, for the next start. */
int egress_attach(const char *id, uint32_t slot, const struct egress_policy *p, int netns_fd,
                  struct cove_err *err);
/* The sandbox is deleted (its init is dead): its elements and any leftover veth are removed
 * in the background, then its slot is freed. */
void egress_release(uint32_t slot);
/* Stop the background collector (daemon exit). */
void egress_shutdown(void);

/* Start-up reconciliation: register each sandbox with network (any state), then commit:
 * the table is rebuilt from scratch with exactly their elements in one transaction, or a
 * table an earlier run left is deleted when there are none. */
int egress_restore_add(const char *id, uint32_t slot, const struct egress_policy *p);
int egress_restore_commit(struct cove_err *err);

/* Open sandbox_addr -> addrs (answers to an allowed name) for ttl_s seconds. */
int egress_dyn_add(uint32_t sandbox_addr, const uint32_t *addrs, size_t n, uint32_t ttl_s);

/* Can this host run egress rules (nf_tables in the kernel)? For `coved --check`. */
bool egress_available(void);
