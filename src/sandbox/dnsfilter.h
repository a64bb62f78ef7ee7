/* The resolver of sandboxes with a domain allow list.
 *
 * coved answers DNS on the sandbox's gateway address (udp/53): a query for a name the
 * sandbox's list admits is forwarded to the upstream resolver, and the IPv4 addresses in
 * the answer are opened for that sandbox (egress_dyn_add) for the answer's TTL (clamped to
 * DNSFILTER_MIN_TTL..DNSFILTER_MAX_TTL) before the answer is passed on; any other query
 * is answered REFUSED. One thread serves every sandbox, one query at a time, with an
 * upstream timeout of DNSFILTER_TIMEOUT_MS. UDP only. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "base/limits.h"
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
/* The parsers, pure, for fuzzing (tests/fuzz/fuzz-dns.c); every byte they see comes from a
 * sandbox or from the upstream resolver.
 * The question of a query: its name, lowercased and dotted, into name; returns the offset
 * after QTYPE/QCLASS, or -1 for a malformed or compressed name, or one longer than
 * COVE_MAX_DOMAIN. */
int dnsfilter_parse_question(const uint8_t *q, size_t n, char name[COVE_MAX_DOMAIN + 1]);
/* The A records of an answer's answer section (from qend, the end of its question), at most
 * max of them, and the smallest of their TTLs clamped to DNSFILTER_MIN_TTL..MAX; returns how
 * many. n must be at least 12 (the header). */
size_t dnsfilter_answer_addrs(const uint8_t *a, size_t n, size_t qend, uint32_t *out, size_t max,
                              uint32_t *ret_ttl);
/* The resolv.conf a sandbox with a domain list gets. */
void dnsfilter_resolv_conf(uint32_t gateway, char *buf, size_t cap);
