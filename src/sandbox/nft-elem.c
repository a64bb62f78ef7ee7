/* Raw nf_tables set-element batches (see nft-elem.h).
 *
 * Wire format: NFNL_MSG_BATCH_BEGIN, one NFT_MSG_NEWSETELEM/DELSETELEM per set carrying
 * NFTA_SET_ELEM_LIST_{TABLE,SET,ELEMENTS}, NFNL_MSG_BATCH_END. The kernel applies the
 * batch as one transaction and acks each message we flag with NLM_F_ACK. */
#include "sandbox/nft-elem.h"

#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "base/cleanup.h"

#define BATCH_BYTES (64u << 10)

static void put_nfgen(struct nlmsghdr *nlh, uint8_t family, uint16_t res_id)
{
    struct nfgenmsg *g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));

    g->nfgen_family = family;
    g->version = NFNETLINK_V0;
    g->res_id = htons(res_id);
}

static struct nlmsghdr *put_batch_marker(char *at, uint16_t type, uint32_t seq)
{
    struct nlmsghdr *nlh = mnl_nlmsg_put_header(at);

    nlh->nlmsg_type = type;
    nlh->nlmsg_flags = NLM_F_REQUEST;
    nlh->nlmsg_seq = seq;
    put_nfgen(nlh, AF_UNSPEC, NFNL_SUBSYS_NFTABLES);
    return nlh;
}

static void put_data(struct nlmsghdr *nlh, uint16_t type, const uint8_t *v, size_t len)
{
    struct nlattr *nest = mnl_attr_nest_start(nlh, type);

    mnl_attr_put(nlh, NFTA_DATA_VALUE, len, v);
    mnl_attr_nest_end(nlh, nest);
}

/* One NEWSETELEM/DELSETELEM message at `at`; returns its length or 0 if it would not fit. */
static size_t put_elems(char *at, size_t room, const char *table, bool create,
                        const struct nft_elem_op *op, uint32_t seq)
{
    struct nlmsghdr *nlh;
    struct nlattr *list, *el;
    /* Worst case per element: two nested keys of NFT_ELEM_KEY_MAX plus headers. */
    size_t need = 256 + strlen(table) + strlen(op->set) + op->n * (2 * NFT_ELEM_KEY_MAX + 56);

    if (need > room)
        return 0;
    nlh = mnl_nlmsg_put_header(at);
    nlh->nlmsg_type =
        (NFNL_SUBSYS_NFTABLES << 8) | (create ? NFT_MSG_NEWSETELEM : NFT_MSG_DELSETELEM);
    nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | (create ? NLM_F_CREATE : 0);
    nlh->nlmsg_seq = seq;
    put_nfgen(nlh, NFPROTO_INET, 0);
    mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_TABLE, table);
    mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_SET, op->set);
    list = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_LIST_ELEMENTS);
    for (size_t i = 0; i < op->n; i++) {
        el = mnl_attr_nest_start(nlh, NFTA_LIST_ELEM);
        put_data(nlh, NFTA_SET_ELEM_KEY, op->elems[i].key, op->elems[i].len);
        if (op->elems[i].has_end)
            put_data(nlh, NFTA_SET_ELEM_KEY_END, op->elems[i].key_end, op->elems[i].len);
        if (op->elems[i].timeout_ms)
            mnl_attr_put_u64(nlh, NFTA_SET_ELEM_TIMEOUT, htobe64(op->elems[i].timeout_ms));
        mnl_attr_nest_end(nlh, el);
    }
    mnl_attr_nest_end(nlh, list);
    return nlh->nlmsg_len;
}

static inline void mnl_closep(struct mnl_socket **p)
{
    if (*p)
        mnl_socket_close(*p);
}

int nft_elems_apply(const char *table, bool create, const struct nft_elem_op *ops, size_t n_ops)
{
    static _Atomic uint32_t seq_gen;
    _cleanup_free_ char *buf = calloc(1, BATCH_BYTES);
    _cleanup_(mnl_closep) struct mnl_socket *nl = NULL;
    char rbuf[MNL_SOCKET_BUFFER_SIZE];
    uint32_t seq = (uint32_t)time(NULL) + (atomic_fetch_add(&seq_gen, 64) & 0xffffff);
    size_t off = 0, k, acks = 0;
    ssize_t n;
    int len;

    if (!buf)
        return -ENOMEM;
    nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
    if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0)
        return -errno;
    off += put_batch_marker(buf, NFNL_MSG_BATCH_BEGIN, seq)->nlmsg_len;
    for (size_t i = 0; i < n_ops; i++) {
        if (ops[i].n == 0)
            continue;
        k = put_elems(buf + off, BATCH_BYTES - off - 64, table, create, &ops[i], seq + 1 + acks);
        if (k == 0)
            return -E2BIG;
        off += k;
        acks++;
    }
    if (acks == 0)
        return 0;
    off += put_batch_marker(buf + off, NFNL_MSG_BATCH_END, seq + 1 + acks)->nlmsg_len;
    if (mnl_socket_sendto(nl, buf, off) < 0)
        return -errno;
    /* Each flagged message gets an ack (error 0) or an error; an error aborts the batch. */
    for (size_t got = 0; got < acks;) {
        n = mnl_socket_recvfrom(nl, rbuf, sizeof(rbuf));
        if (n < 0)
            return -errno;
        len = (int)n;
        for (struct nlmsghdr *h = (struct nlmsghdr *)rbuf; mnl_nlmsg_ok(h, len);
             h = mnl_nlmsg_next(h, &len)) {
            if (h->nlmsg_type != NLMSG_ERROR)
                continue;
            const struct nlmsgerr *e = mnl_nlmsg_get_payload(h);
            if (e->error)
                return e->error;
            got++;
        }
    }
    return 0;
}
