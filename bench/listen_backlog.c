/* LD_PRELOAD shim: raises a listen(2) backlog below 511 to 511 (OpenSMTPD 6.8 asks for 5,
 * so 20 clients connecting at once wait for SYN retransmissions, 1 s and more). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <sys/socket.h>

int listen(int fd, int backlog) {
    static int (*real)(int, int);
    if (!real) real = (int (*)(int, int))dlsym(RTLD_NEXT, "listen");
    return real(fd, backlog < 511 ? 511 : backlog);
}
