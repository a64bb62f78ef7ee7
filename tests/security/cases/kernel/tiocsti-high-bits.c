/* attack: push characters into a terminal's input queue with ioctl(TIOCSTI) (CVE-2017-5226,
 *         CVE-2019-10063), including with junk in the upper 32 bits of the request: the kernel
 *         only looks at the low 32 bits, so a filter that compares all 64 lets it through
 * why: the filter masks the request to 32 bits before comparing, so every variant is EPERM
 *      and nothing reaches the terminal; the test makes the pty our controlling terminal first,
 *      so without the filter the kernel would accept the call
 * expect: exit=0
 * stdout-has: SAFE TIOCSTI plain
 * stdout-has: SAFE TIOCSTI high bits 0x100000000
 * stdout-has: SAFE TIOCSTI high bits 0xdeadbeef00000000
 * stdout-has: SAFE nothing was injected
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

static void attempt(int fd, unsigned long req, const char *what)
{
    char c = 'X';
    errno = 0;
    long r = syscall(SYS_ioctl, fd, req, &c);
    if (r < 0 && errno == EPERM)
        printf("SAFE %s: EPERM\n", what);
    else
        printf("ESCAPE %s: returned %ld (%s)\n", what, r, strerrorname_np(errno));
}

int main(void)
{
    int master = posix_openpt(O_RDWR | O_NOCTTY), slave, status;
    char buf[64];
    pid_t pid;

    if (master < 0 || grantpt(master) < 0 || unlockpt(master) < 0) {
        printf("ESCAPE cannot open a pty to test with: %s\n", strerror(errno));
        return 0;
    }
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        setsid();
        slave = open(ptsname(master), O_RDWR);
        if (slave < 0 || ioctl(slave, TIOCSCTTY, 0) < 0) {
            printf("ESCAPE cannot make the pty our terminal: %s\n", strerror(errno));
            _exit(0);
        }
        attempt(slave, TIOCSTI, "TIOCSTI plain");
        attempt(slave, TIOCSTI | 0x100000000UL, "TIOCSTI high bits 0x100000000");
        attempt(slave, TIOCSTI | 0xdeadbeef00000000UL, "TIOCSTI high bits 0xdeadbeef00000000");
        attempt(slave, TIOCLINUX, "TIOCLINUX");
        /* Anything injected sits in the slave's input queue. */
        int flags = fcntl(slave, F_GETFL);
        fcntl(slave, F_SETFL, flags | O_NONBLOCK);
        ssize_t n = read(slave, buf, sizeof(buf));
        if (n > 0)
            printf("ESCAPE %zd bytes were injected into the terminal\n", n);
        else
            printf("SAFE nothing was injected\n");
        fflush(stdout);
        _exit(0);
    }
    waitpid(pid, &status, 0);
    return 0;
}
