/* Adding and deleting nftables set elements as one raw nf_tables netlink batch (libmnl).
 *
 * libnftables 1.0.6 dumps every element of an interval set before it deletes one (to find
 * the interval), which costs ~100 ms once a thousand sandboxes' elements are loaded. The
 * elements a sandbox owns are known exactly, so they are sent as keys instead: one batch,
 * one transaction, independent of the set's size. Table and sets are created elsewhere
 * (egress.c, through libnftables). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NFT_ELEM_KEY_MAX 32

/* One element: key (and, for interval sets, key_end) in the set's wire layout: each
 * concatenated field padded to 4 bytes, addresses in network byte order. */
struct nft_elem {
    uint8_t key[NFT_ELEM_KEY_MAX];
    uint8_t key_end[NFT_ELEM_KEY_MAX];
    uint8_t len;
    bool has_end;
    uint64_t timeout_ms; /* 0: none (the set needs the timeout flag otherwise) */
};

struct nft_elem_op {
    const char *set;
    const struct nft_elem *elems;
    size_t n;
};

/* Apply every op to table (family inet) in one transaction: add (create=true, existing
 * elements are not an error) or delete. -ENOENT if a deleted element is missing (then
 * nothing changed), other -errno from the kernel. */
int nft_elems_apply(const char *table, bool create, const struct nft_elem_op *ops, size_t n_ops);
