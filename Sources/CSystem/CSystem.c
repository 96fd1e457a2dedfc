#define _GNU_SOURCE
#include "CSystem.h"
#include <sched.h>
#include <stdarg.h>
#include <string.h>
#include <stdio.h>
#include <errno.h>
#include <dirent.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>

const int CSYSTEM_CLONE_NEWNET = CLONE_NEWNET;
const int CSYSTEM_CLONE_NEWNS = CLONE_NEWNS;

int csystem_accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags) {
    return accept4(fd, addr, len, flags);
}
int csystem_pipe2(int fds[2], int flags) { return pipe2(fds, flags); }
int csystem_setns(int fd, int nstype) { return setns(fd, nstype); }
int csystem_unshare(int flags) { return unshare(flags); }
int csystem_syncfs(int fd) { return syncfs(fd); }
pid_t csystem_gettid(void) { return (pid_t)syscall(SYS_gettid); }

int csystem_open_mode(const char *path, int flags, mode_t mode) { return open(path, flags, mode); }
int csystem_fcntl_getfl(int fd) { return fcntl(fd, F_GETFL); }
int csystem_fcntl_setfl(int fd, int flags) { return fcntl(fd, F_SETFL, flags); }
int csystem_ioctl_int(int fd, unsigned long request, int *value) { return ioctl(fd, request, value); }

void csystem_block_signals(const int *signals, int count, sigset_t *out) {
    sigemptyset(out);
    for (int i = 0; i < count; i++) sigaddset(out, signals[i]);
    pthread_sigmask(SIG_BLOCK, out, NULL);
}

// Bind every file of /etc/netns/NAME over /etc/FILE, as iproute2's netns exec does.
static void bind_etc(const char *name) {
    char dir[512];
    snprintf(dir, sizeof dir, "/etc/netns/%s", name);
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        char src[1024], dst[1024];
        snprintf(src, sizeof src, "%s/%s", dir, e->d_name);
        snprintf(dst, sizeof dst, "/etc/%s", e->d_name);
        mount(src, dst, "none", MS_BIND, NULL);
    }
    closedir(d);
}

pid_t csystem_spawn_in_netns(const char *path, char *const argv[], char *const envp[],
                             int netns_fd, int remount_sys, const char *netns_name) {
    pid_t pid = fork();
    if (pid != 0) return pid;
    if (netns_fd >= 0 && setns(netns_fd, CLONE_NEWNET) != 0) _exit(126);
    if (remount_sys) {
        if (unshare(CLONE_NEWNS) != 0) _exit(126);
        if (mount("", "/", "none", MS_SLAVE | MS_REC, NULL) != 0) _exit(126);
        umount2("/sys", MNT_DETACH);
        if (mount(netns_name ? netns_name : "none", "/sys", "sysfs", 0, NULL) != 0) _exit(126);
        if (netns_name) bind_etc(netns_name);
    }
    execve(path, argv, envp);
    _exit(127);
}
int csystem_set_thread_name(pthread_t thread, const char *name) { return pthread_setname_np(thread, name); }
