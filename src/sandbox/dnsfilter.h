/* The resolver of sandboxes with a domain allow list.
 *
 * coved answers DNS on the sandbox's gateway address (udp/53): a query for a name the
 * sandbox's list admits is forwarded to the upstream resolver, and the IPv4 addresses in
 * the answer are opened for that sandbox (egress_dyn_add) for the answer's TTL (clamped to
 * DNSFILTER_MIN_TTL..DNSFILTER_MAX_TTL) before the answer is passed on; any other query
 * is answered REFUSED. One thread serves every sandbox, one query at a time, with an
 * upstream timeout of DNSFILTER_TIMEOUT_MS. UDP only. */
#pragma once

#include <stdint.h>

#include "base/err.h"
#include "sandbox/egress.h"

#define DNSFILTER_MAX_ADDRS  16 /* addresses opened per answer */
#define DNSFILTER_MIN_TTL    30
#define DNSFILTER_MAX_TTL    3600
#define DNSFILTER_TIMEOUT_MS 2000

/* Upstream resolver: an IPv4 address, or NULL for the first IPv4 nameserver of the host's
 * /etc/resolv.conf. Nothing starts until the first dnsfilter_add(). */
int dnsfilter_init(const char *upstream, struct cove_err *err);
/* Serve the sandbox of this slot on gateway:53 (idempotent per slot). */
int dnsfilter_add(uint32_t slot, const struct egress_policy *p, uint32_t gateway, uint32_t addr,
                  struct cove_err *err);
void dnsfilter_remove(uint32_t slot);
void dnsfilter_shutdown(void);
/* The resolv.conf a sandbox with a domain list gets. */
void dnsfilter_resolv_conf(uint32_t gateway, char *buf, size_t cap);
