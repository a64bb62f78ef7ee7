/* attack: open AF_VSOCK sockets, which talk to the hypervisor and to other guests' vsock
 *         services and are not isolated by network namespaces
 * why: socket(AF_VSOCK, ...) fails with EAFNOSUPPORT under the filter, for every type
 * expect: exit=0
 * stdout-has: SAFE socket(AF_VSOCK, SOCK_STREAM)
 * stdout-has: SAFE socket(AF_VSOCK, SOCK_DGRAM)
 * stdout-has: SAFE socket(AF_VSOCK, SOCK_SEQPACKET)
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef AF_VSOCK
#    define AF_VSOCK 40
#endif

int main(void)
{
    static const struct {
        int type;
        const char *name;
    } types[] = {{SOCK_STREAM, "SOCK_STREAM"},
                 {SOCK_DGRAM, "SOCK_DGRAM"},
                 {SOCK_SEQPACKET, "SOCK_SEQPACKET"},
                 {SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, "SOCK_STREAM|NONBLOCK|CLOEXEC"}};

    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        errno = 0;
        int fd = socket(AF_VSOCK, types[i].type, 0);
        printf("%s socket(AF_VSOCK, %s): %d (%s)\n",
               fd < 0 && errno == EAFNOSUPPORT ? "SAFE" : "ESCAPE", types[i].name, fd,
               strerrorname_np(errno));
    }
    return 0;
}
