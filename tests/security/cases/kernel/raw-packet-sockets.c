/* attack: raw IP and packet sockets (forge packets, sniff the namespace's traffic, reach
 *         kernel protocol code that unprivileged users normally cannot), including type flags
 *         that a sloppy filter comparing the whole type word would miss
 * why: AF_PACKET is EAFNOSUPPORT and SOCK_RAW on AF_INET/AF_INET6 is EPERM under the filter
 *      (the type is masked before comparing); the user also has no CAP_NET_RAW
 * expect: exit=0
 * stdout-has: SAFE socket(AF_INET, SOCK_RAW, IPPROTO_RAW)
 * stdout-has: SAFE socket(AF_INET6, SOCK_RAW|SOCK_NONBLOCK, IPPROTO_ICMPV6)
 * stdout-has: SAFE socket(AF_PACKET, SOCK_RAW, ETH_P_ALL)
 * stdout-has: SAFE socket(AF_PACKET, SOCK_DGRAM, ETH_P_ALL)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void try(int domain, int type, int proto, int want, const char *what)
{
    errno = 0;
    int fd = socket(domain, type, proto);
    if (fd < 0 && errno == want) {
        printf("SAFE %s: %s\n", what, strerrorname_np(errno));
    } else {
        printf("ESCAPE %s: %d (%s)\n", what, fd, strerrorname_np(errno));
        if (fd >= 0)
            close(fd);
    }
}

int main(void)
{
    try(AF_INET, SOCK_RAW, IPPROTO_RAW, EPERM, "socket(AF_INET, SOCK_RAW, IPPROTO_RAW)");
    try(AF_INET, SOCK_RAW, IPPROTO_ICMP, EPERM, "socket(AF_INET, SOCK_RAW, IPPROTO_ICMP)");
    try(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_TCP, EPERM,
        "socket(AF_INET, SOCK_RAW|SOCK_CLOEXEC, IPPROTO_TCP)");
    try(AF_INET6, SOCK_RAW | SOCK_NONBLOCK, IPPROTO_ICMPV6, EPERM,
        "socket(AF_INET6, SOCK_RAW|SOCK_NONBLOCK, IPPROTO_ICMPV6)");
    try(AF_INET, SOCK_PACKET, htons(ETH_P_ALL), EPERM, "socket(AF_INET, SOCK_PACKET)");
    try(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL), EAFNOSUPPORT,
        "socket(AF_PACKET, SOCK_RAW, ETH_P_ALL)");
    try(AF_PACKET, SOCK_DGRAM, htons(ETH_P_ALL), EAFNOSUPPORT,
        "socket(AF_PACKET, SOCK_DGRAM, ETH_P_ALL)");
    try(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, EAFNOSUPPORT,
        "socket(AF_PACKET, SOCK_RAW|NONBLOCK|CLOEXEC, 0)");
    return 0;
}
