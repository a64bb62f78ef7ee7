/* bench/preview-upstream.c - the HTTP server that bench/preview.sh runs inside a sandbox.
 *
 * One thread, epoll, non-blocking sockets, HTTP/1.1 keep-alive: every request (a GET
 * without a body, as wrk sends) gets the same 13-byte answer. Pipelined requests are
 * answered in order: the parser only counts the "\r\n\r\n" that end request heads. It is
 * meant to cost next to nothing per request, so that the benchmark measures the path to
 * it (the preview proxy, or the sandbox's loopback directly) and not the server.
 *
 * usage: preview-upstream PORT      (listens on 127.0.0.1:PORT; built -static by the script,
 *                                   so it runs in a sandbox whatever its image holds)
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

static const char RESP[] = "HTTP/1.1 200 OK\r\nContent-Length: 13\r\n"
                           "Content-Type: text/plain\r\n\r\nHello, world\n";
#define RESP_LEN (sizeof(RESP) - 1)
#define MAX_FD   65536

/* Per connection: how much of "\r\n\r\n" the bytes so far end with. */
static unsigned char matched[MAX_FD];

static int count_heads(int fd, const char *p, size_t n)
{
    static const char END[] = "\r\n\r\n";
    int heads = 0;
    unsigned m = matched[fd];

    for (size_t i = 0; i < n; i++) {
        if (p[i] == END[m])
            m++;
        else
            m = p[i] == '\r' ? 1 : 0;
        if (m == 4) {
            heads++;
            m = 0;
        }
    }
    matched[fd] = (unsigned char)m;
    return heads;
}

/* Answer heads requests; a client too slow to take them is dropped (wrk never is). */
static int answer(int fd, int heads)
{
    char out[RESP_LEN * 64];
    while (heads > 0) {
        int k = heads > 64 ? 64 : heads;
        for (int i = 0; i < k; i++)
            memcpy(out + (size_t)i * RESP_LEN, RESP, RESP_LEN);
        size_t len = (size_t)k * RESP_LEN, off = 0;
        while (off < len) {
            ssize_t w = write(fd, out + off, len - off);
            if (w < 0)
                return -1;
            off += (size_t)w;
        }
        heads -= k;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    struct epoll_event ev = {.events = EPOLLIN}, evs[256];
    int one = 1, lfd, ep;

    if (argc != 2 || atoi(argv[1]) <= 0 || atoi(argv[1]) > 65535) {
        fprintf(stderr, "usage: %s PORT\n", argv[0]);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    a.sin_port = htons((unsigned short)atoi(argv[1]));
    lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(lfd, 4096) < 0) {
        perror("listen");
        return 1;
    }
    ep = epoll_create1(EPOLL_CLOEXEC);
    ev.data.fd = lfd;
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
    fprintf(stderr, "listening on 127.0.0.1:%s\n", argv[1]);
    for (;;) {
        int n = epoll_wait(ep, evs, 256, -1);
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            if (fd == lfd) {
                int c;
                while ((c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
                    if (c >= MAX_FD) {
                        close(c);
                        continue;
                    }
                    /* blocking writes: 13-byte answers always fit the socket buffer */
                    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
                    matched[c] = 0;
                    ev.data.fd = c;
                    epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev);
                }
                continue;
            }
            char buf[16384];
            ssize_t r = read(fd, buf, sizeof(buf));
            if (r <= 0 || answer(fd, count_heads(fd, buf, (size_t)r)) < 0)
                close(fd); /* also leaves the epoll set */
        }
    }
}
