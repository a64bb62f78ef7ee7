/* WebSocket frames (see websocket.h). */
#include "http/websocket.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

int ws_parse_header(const uint8_t *p, size_t n, struct ws_header *h)
{
    size_t need = 2;
    uint64_t len;

    if (n < 2)
        return 0;
    if (p[0] & 0x70)
        return -EPROTO; /* RSV bits: no extension was negotiated */
    h->fin = p[0] & 0x80;
    h->opcode = p[0] & 0x0f;
    if ((h->opcode > WS_BINARY && h->opcode < WS_CLOSE) || h->opcode > WS_PONG)
        return -EPROTO;
    h->masked = p[1] & 0x80;
    len = p[1] & 0x7f;
    if (len == 126)
        need += 2;
    else if (len == 127)
        need += 8;
    if (h->masked)
        need += 4;
    if (n < need)
        return 0;
    if (len == 126) {
        len = (uint64_t)p[2] << 8 | p[3];
        if (len < 126)
            return -EPROTO;
    } else if (len == 127) {
        len = 0;
        for (int i = 0; i < 8; i++)
            len = len << 8 | p[2 + i];
        if (len >> 63 || len <= 0xffff)
            return -EPROTO;
    }
    if (h->opcode >= WS_CLOSE && (len > 125 || !h->fin))
        return -EPROTO; /* control frames are small and never fragmented */
    h->len = len;
    if (h->masked)
        memcpy(h->mask, p + need - 4, 4);
    h->header_len = need;
    return 1;
}

static int write_all(int fd, const struct iovec *iov, int n)
{
    struct iovec v[2];
    memcpy(v, iov, sizeof(*iov) * (size_t)n);
    while (n > 0) {
        ssize_t w = writev(fd, v, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        while (n > 0 && (size_t)w >= v[0].iov_len) {
            w -= (ssize_t)v[0].iov_len;
            memmove(v, v + 1, sizeof(*v) * (size_t)(n - 1));
            n--;
        }
        if (n > 0) {
            v[0].iov_base = (char *)v[0].iov_base + w;
            v[0].iov_len -= (size_t)w;
        }
    }
    return 0;
}

int ws_send(int fd, enum ws_opcode op, const void *data, size_t len)
{
    uint8_t h[10];
    size_t hl = 2;

    h[0] = (uint8_t)(0x80 | op);
    if (len < 126) {
        h[1] = (uint8_t)len;
    } else if (len <= 0xffff) {
        h[1] = 126;
        h[2] = (uint8_t)(len >> 8);
        h[3] = (uint8_t)len;
        hl = 4;
    } else {
        h[1] = 127;
        for (int i = 0; i < 8; i++)
            h[2 + i] = (uint8_t)((uint64_t)len >> (56 - 8 * i));
        hl = 10;
    }
    struct iovec iov[2] = {{h, hl}, {(void *)data, len}};
    return write_all(fd, iov, len ? 2 : 1);
}

int ws_send_close(int fd, uint16_t code, const char *reason)
{
    uint8_t b[125];
    size_t n = reason ? strnlen(reason, sizeof(b) - 2) : 0;

    b[0] = (uint8_t)(code >> 8);
    b[1] = (uint8_t)code;
    if (n)
        memcpy(b + 2, reason, n);
    return ws_send(fd, WS_CLOSE, b, n + 2);
}

static int read_exact(int fd, uint8_t *p, size_t n, int timeout_ms)
{
    while (n > 0) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int r = poll(&pfd, 1, timeout_ms);
        if (r == 0)
            return 0;
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        ssize_t k = recv(fd, p, n, 0);
        if (k == 0)
            return -EPIPE;
        if (k < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            return -errno;
        }
        p += k;
        n -= (size_t)k;
    }
    return 1;
}

int ws_recv(int fd, uint8_t *buf, size_t cap, size_t *ret_len, int timeout_ms)
{
    for (;;) {
        uint8_t hb[14];
        struct ws_header h;
        size_t have = 0;
        int r;

        /* Read the fixed part, then whatever the length field says. */
        r = read_exact(fd, hb, 2, timeout_ms);
        if (r <= 0)
            return r;
        have = 2;
        while ((r = ws_parse_header(hb, have, &h)) == 0) {
            int k = read_exact(fd, hb + have, 1, 30000);
            if (k <= 0)
                return k == 0 ? -ETIMEDOUT : k;
            have++;
        }
        if (r < 0)
            return r;
        if (!h.masked)
            return -EPROTO; /* clients must mask */
        if (h.len > cap || h.len > WS_MAX_PAYLOAD)
            return -EMSGSIZE;
        if (h.len) {
            r = read_exact(fd, buf, (size_t)h.len, 30000);
            if (r <= 0)
                return r == 0 ? -ETIMEDOUT : r;
        }
        for (uint64_t i = 0; i < h.len; i++)
            buf[i] ^= h.mask[i & 3];
        if (h.opcode == WS_PING) {
            r = ws_send(fd, WS_PONG, buf, (size_t)h.len);
            if (r < 0)
                return r;
            continue;
        }
        if (h.opcode == WS_PONG)
            continue;
        *ret_len = (size_t)h.len;
        return h.opcode == WS_CONT ? WS_BINARY : h.opcode;
    }
}
