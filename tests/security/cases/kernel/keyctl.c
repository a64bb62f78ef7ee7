/* attack: use the kernel keyrings (not namespaced: keys could leak between tenants and have
 *         been a source of kernel bugs): add_key, request_key, keyctl on the session keyring
 * why: add_key, request_key and keyctl are EPERM under the filter
 * expect: exit=0
 * stdout-has: SAFE add_key
 * stdout-has: SAFE keyctl(KEYCTL_JOIN_SESSION_KEYRING)
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define DENIED(call, what)                                                                         \
    do {                                                                                           \
        errno = 0;                                                                                 \
        long r_ = (long)(call);                                                                    \
        if (r_ < 0 && errno == EPERM)                                                              \
            printf("SAFE %s: EPERM\n", what);                                                      \
        else                                                                                       \
            printf("ESCAPE %s: returned %ld (%s)\n", what, r_, strerrorname_np(errno));            \
    } while (0)

#define KEY_SPEC_SESSION_KEYRING    -3
#define KEY_SPEC_USER_KEYRING       -4
#define KEYCTL_GET_KEYRING_ID       0
#define KEYCTL_JOIN_SESSION_KEYRING 1
#define KEYCTL_DESCRIBE             6

int main(void)
{
    char buf[256];

    DENIED(syscall(SYS_add_key, "user", "cove-corpus", "secret", 6, KEY_SPEC_USER_KEYRING),
           "add_key");
    DENIED(syscall(SYS_request_key, "user", "cove-corpus", NULL, 0), "request_key");
    DENIED(syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, "cove-corpus"),
           "keyctl(KEYCTL_JOIN_SESSION_KEYRING)");
    DENIED(syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 1),
           "keyctl(KEYCTL_GET_KEYRING_ID)");
    DENIED(syscall(SYS_keyctl, KEYCTL_DESCRIBE, KEY_SPEC_USER_KEYRING, buf, sizeof(buf)),
           "keyctl(KEYCTL_DESCRIBE)");
    return 0;
}
