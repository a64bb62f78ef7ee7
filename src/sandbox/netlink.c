/* rtnetlink through libmnl (see netlink.h).
 *
 * A request is one message with NLM_F_ACK; the answer is read until the kernel's ack or
 * error arrives. A socket's network namespace is fixed when it is created, which is how
 * nl_link_setup_in() works inside a sandbox without keeping the thread there for longer
 * than one socket(2) call. */
#include "sandbox/netlink.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/cleanup.h"

static inline void mnl_closep(struct mnl_socket **p)
{
    if (*p)
        mnl_socket_close(*p);
}
#define _cleanup_mnl_ _cleanup_(mnl_closep)

static struct mnl_socket *nl_open(void)
{
    struct mnl_socket *nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);

    if (!nl)
        return NULL;
    if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
        int e = errno;
        mnl_socket_close(nl);
        errno = e;
        return NULL;
    }
    return nl;
}

/* Send one request and wait for its ack (or, for a GET, its answer); cb sees the data
 * messages. */
static int nl_talk_cb(struct mnl_socket *nl, struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
    char buf[MNL_SOCKET_BUFFER_SIZE];
    unsigned portid = mnl_socket_get_portid(nl);
    static _Atomic uint32_t seq_gen;
    uint32_t seq = ++seq_gen + (uint32_t)time(NULL);
    ssize_t n;
    int r;

    nlh->nlmsg_flags |= NLM_F_ACK;
    nlh->nlmsg_seq = seq;
    if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
        return -errno;
    for (int i = 0; i < 16; i++) {
        n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
        if (n < 0)
            return -errno;
        r = mnl_cb_run(buf, (size_t)n, seq, portid, cb, data);
        if (r < 0)
            return -errno;
        if (r == MNL_CB_STOP)
            return 0;
    }
    return -EPROTO;
}

static int nl_talk(struct mnl_socket *nl, struct nlmsghdr *nlh)
{
    return nl_talk_cb(nl, nlh, NULL, NULL);
}

static struct nlmsghdr *link_msg(char *buf, uint16_t type, uint16_t flags, const char *name)
{
    struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
    struct ifinfomsg *ifm;

    nlh->nlmsg_type = type;
    nlh->nlmsg_flags = NLM_F_REQUEST | flags;
    ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
    ifm->ifi_family = AF_UNSPEC;
    if (name)
        mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
    return nlh;
}

int nl_veth_create(const char *host_name, const char *peer_name, int netns_fd)
{
    char buf[MNL_SOCKET_BUFFER_SIZE];
    _cleanup_mnl_ struct mnl_socket *nl = nl_open();
    struct nlmsghdr *nlh;
    struct nlattr *info, *data, *peer;
    struct ifinfomsg *pifm;

    if (!nl)
        return -errno;
    if (strlen(host_name) >= IFNAMSIZ || strlen(peer_name) >= IFNAMSIZ)
        return -ENAMETOOLONG;
    nlh = link_msg(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, host_name);
    info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
    mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
    data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
    peer = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
    /* The peer's attributes follow its own struct ifinfomsg. */
    pifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*pifm));
    pifm->ifi_family = AF_UNSPEC;
    mnl_attr_put_strz(nlh, IFLA_IFNAME, peer_name);
    mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t)netns_fd);
    mnl_attr_nest_end(nlh, peer);
    mnl_attr_nest_end(nlh, data);
    mnl_attr_nest_end(nlh, info);
    return nl_talk(nl, nlh);
}

int nl_link_delete(const char *name)
{
    char buf[MNL_SOCKET_BUFFER_SIZE];
    _cleanup_mnl_ struct mnl_socket *nl = nl_open();

    if (!nl)
        return -errno;
    if (strlen(name) >= IFNAMSIZ)
        return -ENAMETOOLONG;
    return nl_talk(nl, link_msg(buf, RTM_DELLINK, 0, name));
}

static int index_cb(const struct nlmsghdr *nlh, void *data)
{
    if (nlh->nlmsg_type == RTM_NEWLINK)
        *(int *)data = ((struct ifinfomsg *)mnl_nlmsg_get_payload(nlh))->ifi_index;
    return MNL_CB_OK;
}

/* Index of a link in the socket's namespace; -ENODEV if there is none of that name. */
static int link_index(struct mnl_socket *nl, const char *name, int *ret)
{
    char buf[MNL_SOCKET_BUFFER_SIZE];
    int idx = 0, r;

    if (strlen(name) >= IFNAMSIZ)
        return -ENAMETOOLONG;
    r = nl_talk_cb(nl, link_msg(buf, RTM_GETLINK, 0, name), index_cb, &idx);
    if (r < 0)
        return r;
    if (idx <= 0)
        return -ENODEV;
    *ret = idx;
    return 0;
}

int nl_link_exists(const char *name)
{
    _cleanup_mnl_ struct mnl_socket *nl = nl_open();
    int idx, r;

    if (!nl)
        return -errno;
    r = link_index(nl, name, &idx);
    if (r == -ENODEV)
        return 0;
    return r < 0 ? r : 1;
}

static int setup_on(struct mnl_socket *nl, const char *name, uint32_t addr, unsigned prefix,
                    uint32_t gw)
{
    char buf[MNL_SOCKET_BUFFER_SIZE];
    struct nlmsghdr *nlh;
    struct ifaddrmsg *ifa;
    struct ifinfomsg *ifm;
    struct rtmsg *rtm;
    int idx = 0, r;

    r = link_index(nl, name, &idx);
    if (r < 0)
        return r;
    nlh = mnl_nlmsg_put_header(buf);
    nlh->nlmsg_type = RTM_NEWADDR;
    nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_CREATE | NLM_F_REPLACE;
    ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
    ifa->ifa_family = AF_INET;
    ifa->ifa_prefixlen = (uint8_t)prefix;
    ifa->ifa_scope = RT_SCOPE_UNIVERSE;
    ifa->ifa_index = (uint32_t)idx;
    mnl_attr_put_u32(nlh, IFA_LOCAL, htonl(addr));
    mnl_attr_put_u32(nlh, IFA_ADDRESS, htonl(addr));
    r = nl_talk(nl, nlh);
    if (r < 0)
        return r;
    nlh = link_msg(buf, RTM_NEWLINK, 0, NULL);
    ifm = mnl_nlmsg_get_payload(nlh);
    ifm->ifi_index = idx;
    ifm->ifi_flags = IFF_UP;
    ifm->ifi_change = IFF_UP;
    r = nl_talk(nl, nlh);
    if (r < 0 || !gw)
        return r;
    nlh = mnl_nlmsg_put_header(buf);
    nlh->nlmsg_type = RTM_NEWROUTE;
    nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_CREATE | NLM_F_REPLACE;
    rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
    rtm->rtm_family = AF_INET;
    rtm->rtm_table = RT_TABLE_MAIN;
    rtm->rtm_protocol = RTPROT_STATIC;
    rtm->rtm_scope = RT_SCOPE_UNIVERSE;
    rtm->rtm_type = RTN_UNICAST;
    mnl_attr_put_u32(nlh, RTA_GATEWAY, htonl(gw));
    mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)idx);
    return nl_talk(nl, nlh);
}

int nl_link_setup(const char *name, uint32_t addr, unsigned prefix, uint32_t gw)
{
    _cleanup_mnl_ struct mnl_socket *nl = nl_open();

    if (!nl)
        return -errno;
    return setup_on(nl, name, addr, prefix, gw);
}

int nl_link_setup_in(int netns_fd, const char *name, uint32_t addr, unsigned prefix, uint32_t gw)
{
    _cleanup_close_ int home = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    _cleanup_mnl_ struct mnl_socket *nl = NULL;
    int e;

    if (home < 0 || setns(netns_fd, CLONE_NEWNET) < 0)
        return -errno;
    nl = nl_open();
    e = errno;
    if (setns(home, CLONE_NEWNET) < 0)
        abort(); /* a thread left in a sandbox's network would be a security bug */
    if (!nl)
        return -e;
    return setup_on(nl, name, addr, prefix, gw);
}
