/* rtnetlink through libmnl: the few link, address and route operations egress needs.
 *
 * Each function opens its own NETLINK_ROUTE socket, so they are thread-safe. Names are
 * interface names (< IFNAMSIZ); addresses are IPv4 in host byte order. All return 0 or
 * -errno (the kernel's, e.g. -EEXIST, -ENODEV). */
#pragma once

#include <stdint.h>

/* A veth pair: host_name in the caller's network namespace, peer_name moved into the
 * namespace netns_fd refers to. */
int nl_veth_create(const char *host_name, const char *peer_name, int netns_fd);
/* Delete a link by name (deleting one end of a veth deletes both). -ENODEV if absent. */
int nl_link_delete(const char *name);
/* 1 if a link of that name exists in the caller's namespace, 0 if not, -errno. */
int nl_link_exists(const char *name);
/* Give name addr/prefix, bring it up, and (gw != 0) add a default route via gw. In the
 * caller's namespace. */
int nl_link_setup(const char *name, uint32_t addr, unsigned prefix, uint32_t gw);
/* As nl_link_setup, inside the namespace netns_fd (the calling thread enters it for the
 * socket(2) call only). */
int nl_link_setup_in(int netns_fd, const char *name, uint32_t addr, unsigned prefix, uint32_t gw);
