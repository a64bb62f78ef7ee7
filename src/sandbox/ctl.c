/* Control-protocol client: one message per sendmsg/recv on a SOCK_SEQPACKET connection. */
#include "sandbox/ctl.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "base/buf.h"

int ctl_spawn_payload(const char *cwd, char *const *argv, char *const *envp, char **ret,
                      size_t *ret_len, uint32_t *ret_argc, uint32_t *ret_envc)
{
    struct buf b;
    uint32_t argc = 0, envc = 0;
    int r;

    buf_init(&b, CTL_MAX_PAYLOAD);
    r = buf_append(&b, cwd, strlen(cwd) + 1);
    for (; r >= 0 && argv[argc]; argc++)
        r = buf_append(&b, argv[argc], strlen(argv[argc]) + 1);
    for (; r >= 0 && envp && envp[envc]; envc++)
        r = buf_append(&b, envp[envc], strlen(envp[envc]) + 1);
    if (r < 0) {
        buf_free(&b);
        return r;
    }
    *ret_argc = argc;
    *ret_envc = envc;
    *ret = buf_steal(&b, ret_len);
    return *ret ? 0 : -ENOMEM;
}

int ctl_send(int fd, struct ctl_msg *m, const void *payload, size_t len, const int *fds, int nfds)
{
    char cbuf[CMSG_SPACE(sizeof(int) * CTL_MAX_FDS)] = {0};
    struct iovec iov[2] = {{m, sizeof(*m)}, {(void *)payload, len}};
    struct msghdr mh = {.msg_iov = iov, .msg_iovlen = len ? 2 : 1};

    if (nfds < 0 || nfds > CTL_MAX_FDS)
        return -EINVAL;
    m->magic = CTL_MAGIC;
    m->payload_len = (uint32_t)len;
    if (nfds > 0) {
        struct cmsghdr *cm;
        mh.msg_control = cbuf;
        mh.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
        cm = CMSG_FIRSTHDR(&mh);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
        memcpy(CMSG_DATA(cm), fds, sizeof(int) * (size_t)nfds);
    }
    return sendmsg(fd, &mh, MSG_NOSIGNAL) < 0 ? -errno : 0;
}

int ctl_recv(int fd, struct ctl_msg *m, int timeout_ms)
{
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    ssize_t n;
    int r;

    do
        r = poll(&pfd, 1, timeout_ms);
    while (r < 0 && errno == EINTR);
    if (r < 0)
        return -errno;
    if (r == 0)
        return 0;
    n = recv(fd, m, sizeof(*m), MSG_DONTWAIT);
    if (n < 0)
        return errno == EAGAIN ? 0 : -errno;
    if (n == 0)
        return -EPIPE;
    if (n != (ssize_t)sizeof(*m) || m->magic != CTL_MAGIC)
        return -EPROTO;
    m->text[sizeof(m->text) - 1] = '\0';
    return 1;
}
