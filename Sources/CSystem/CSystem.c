#define _GNU_SOURCE
#include "CSystem.h"
#include <sched.h>
#include <stdarg.h>
#include <string.h>
#include <stdio.h>
#include <errno.h>
#include <dirent.h>
#include <linux/close_range.h>
#include <sys/syscall.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/fsuid.h>
#include <sys/prctl.h>
#include <grp.h>

const int CSYSTEM_CLONE_NEWNET = CLONE_NEWNET;
const int CSYSTEM_O_PATH = O_PATH;
const int CSYSTEM_CLONE_NEWNS = CLONE_NEWNS;

int csystem_accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags) {
    return accept4(fd, addr, len, flags);
}
int csystem_setns(int fd, int nstype) { return setns(fd, nstype); }
int csystem_unshare(int flags) { return unshare(flags); }
int csystem_syncfs(int fd) { return syncfs(fd); }

int csystem_open_mode(const char *path, int flags, mode_t mode) { return open(path, flags, mode); }
int csystem_statvfs(const char *path, struct statvfs *out) { return statvfs(path, out); }
int csystem_openat_mode(int dirfd, const char *name, int flags, mode_t mode) {
    return openat(dirfd, name, flags, mode);
}
int csystem_fcntl_getfl(int fd) { return fcntl(fd, F_GETFL); }
int csystem_fcntl_setfl(int fd, int flags) { return fcntl(fd, F_SETFL, flags); }

void csystem_block_signals(const int *signals, int count, sigset_t *out) {
    sigemptyset(out);
    for (int i = 0; i < count; i++) sigaddset(out, signals[i]);
    pthread_sigmask(SIG_BLOCK, out, NULL);
}

// The list of /etc/netns/NAME/* → /etc/* binds, read in the parent before fork:
// opendir/malloc/snprintf are not async-signal-safe, and after fork in a
// multi-threaded process only async-signal-safe calls are allowed.
struct bind_list { int count; char **src; char **dst; };

static void bind_list_free(struct bind_list *b) {
    for (int i = 0; i < b->count; i++) { free(b->src[i]); free(b->dst[i]); }
    free(b->src); free(b->dst);
    b->count = 0; b->src = NULL; b->dst = NULL;
}

static int bind_list_read(const char *name, struct bind_list *b) {
    b->count = 0; b->src = NULL; b->dst = NULL;
    if (!name) return 0;
    char dir[PATH_MAX];
    if (snprintf(dir, sizeof dir, "/etc/netns/%s", name) >= (int)sizeof dir) return 0;
    DIR *d = opendir(dir);
    if (!d) return 0;
    int cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        if (b->count == cap) {
            cap = cap ? cap * 2 : 8;
            char **s = realloc(b->src, cap * sizeof *s), **t;
            if (!s) break;
            b->src = s;
            t = realloc(b->dst, cap * sizeof *t);
            if (!t) break;
            b->dst = t;
        }
        size_t n = strlen(dir) + strlen(e->d_name) + 2, m = strlen(e->d_name) + 6;
        char *src = malloc(n), *dst = malloc(m);
        if (!src || !dst) { free(src); free(dst); break; }
        snprintf(src, n, "%s/%s", dir, e->d_name);
        snprintf(dst, m, "/etc/%s", e->d_name);
        b->src[b->count] = src; b->dst[b->count] = dst; b->count++;
    }
    closedir(d);
    return 0;
}

// Child side: raw syscalls only. On failure, writes {stage, errno} to `report` and exits.
static void child_fail(int report, int stage) {
    int msg[2] = { stage, errno };
    ssize_t r = write(report, msg, sizeof msg);
    (void)r;
    _exit(127);
}

pid_t csystem_spawn_netns_exec(const char *path, char *const argv[], char *const envp[],
                               int netns_fd, int remount_sys, const char *netns_name,
                               int output_fd, int *report_fd) {
    struct bind_list binds;
    bind_list_read(remount_sys ? netns_name : NULL, &binds);
    int report[2];
    *report_fd = -1;
    if (pipe2(report, O_CLOEXEC) != 0) { bind_list_free(&binds); return -1; }
    pid_t pid = fork();
    if (pid == 0) {
        close(report[0]);
        // The parent may block signals on its threads, and ignore some (SIGPIPE): execve
        // keeps both, and a program that ignores SIGTERM cannot be stopped politely. It
        // starts as from a shell: nothing blocked, every disposition the default.
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        // The system call itself: glibc's sigaction refuses its own real-time signals (32,
        // 33), and the test runner's process has 32 ignored.
        struct { void *handler; unsigned long flags; void *restorer; unsigned long mask; }
            current, standard = { 0 };
        standard.handler = (void *)SIG_DFL;
        for (int number = 1; number < _NSIG; number++) {
            if (number == SIGKILL || number == SIGSTOP) continue;
            if (syscall(SYS_rt_sigaction, number, NULL, &current, sizeof current.mask) == 0 &&
                current.handler == (void *)SIG_IGN)
                syscall(SYS_rt_sigaction, number, &standard, NULL, sizeof standard.mask);
        }
        if (output_fd >= 0) {
            int null_fd = open("/dev/null", O_RDONLY);
            if (null_fd < 0 || dup2(null_fd, 0) < 0 || dup2(output_fd, 1) < 0 ||
                dup2(output_fd, 2) < 0)
                child_fail(report[1], 6);
            if (null_fd > 2) close(null_fd);
            if (setsid() < 0) child_fail(report[1], 7);
            // A server outlives the caller: it must not hold the caller's other descriptors
            // (a pipe someone reads to its end) open. Close-on-exec, so `report` still works.
            syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC);
        }
        if (netns_fd >= 0 && setns(netns_fd, CLONE_NEWNET) != 0) child_fail(report[1], 1);
        if (remount_sys) {
            if (unshare(CLONE_NEWNS) != 0) child_fail(report[1], 2);
            if (mount("", "/", "none", MS_SLAVE | MS_REC, NULL) != 0) child_fail(report[1], 3);
            umount2("/sys", MNT_DETACH);
            if (mount(netns_name ? netns_name : "none", "/sys", "sysfs", 0, NULL) != 0)
                child_fail(report[1], 4);
            for (int i = 0; i < binds.count; i++)
                mount(binds.src[i], binds.dst[i], "none", MS_BIND, NULL);
        }
        execve(path, argv, envp);
        child_fail(report[1], 5);
    }
    int saved = errno;
    bind_list_free(&binds);
    close(report[1]);
    if (pid < 0) { close(report[0]); errno = saved; return -1; }
    *report_fd = report[0];
    return pid;
}
int csystem_set_thread_name(pthread_t thread, const char *name) { return pthread_setname_np(thread, name); }

void csystem_syslog(int priority, const char *message) { syslog(priority, "%s", message); }
int csystem_daemon(int nochdir, int noclose) { return daemon(nochdir, noclose); }

#include <crypt.h>
#include <shadow.h>

int csystem_crypt_check(const char *password, const char *hash) {
    struct crypt_data *data = calloc(1, sizeof *data);
    if (data == NULL) return -1;
    errno = 0;
    const char *result = crypt_r(password, hash, data);
    int answer;
    /* libxcrypt answers a failure token starting with '*' (or NULL) for a bad setting. */
    if (result == NULL || result[0] == '*') {
        if (errno == 0) errno = EINVAL;
        answer = -1;
    } else {
        size_t a = strlen(result), b = strlen(hash);
        unsigned char diff = (unsigned char)(a != b);
        size_t n = a < b ? a : b;
        for (size_t i = 0; i < n; i++) diff |= (unsigned char)(result[i] ^ hash[i]);
        answer = diff == 0;
    }
    explicit_bzero(data, sizeof *data);
    free(data);
    return answer;
}

int csystem_crypt_new(const char *password, const char *prefix, char *out, size_t out_size) {
    char salt[CRYPT_GENSALT_OUTPUT_SIZE];
    if (crypt_gensalt_rn(prefix, 0, NULL, 0, salt, sizeof salt) == NULL) return -1;
    struct crypt_data *data = calloc(1, sizeof *data);
    if (data == NULL) return -1;
    const char *result = crypt_r(password, salt, data);
    int answer = -1;
    if (result != NULL && result[0] != '*' && strlen(result) < out_size) {
        strcpy(out, result);
        answer = 0;
    } else if (errno == 0) {
        errno = EINVAL;
    }
    explicit_bzero(data, sizeof *data);
    free(data);
    return answer;
}

int csystem_user_password_hash(const char *name, char *out, size_t out_size) {
    char buffer[4096];
    struct spwd entry, *found = NULL;
    errno = 0;
    if (getspnam_r(name, &entry, buffer, sizeof buffer, &found) == 0 && found != NULL) {
        if (strlen(found->sp_pwdp) >= out_size) { errno = ERANGE; return -1; }
        strcpy(out, found->sp_pwdp);
        explicit_bzero(buffer, sizeof buffer);
        return 0;
    }
    struct passwd pw, *pwfound = NULL;
    if (getpwnam_r(name, &pw, buffer, sizeof buffer, &pwfound) == 0 && pwfound != NULL) {
        if (strlen(pwfound->pw_passwd) >= out_size) { errno = ERANGE; return -1; }
        strcpy(out, pwfound->pw_passwd);
        return 0;
    }
    if (errno == ENOENT || errno == ESRCH) errno = 0;
    return -1;
}

int csystem_peer_credentials(int fd, pid_t *pid, uid_t *uid, gid_t *gid) {
    struct ucred credentials;
    socklen_t length = sizeof credentials;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) != 0) return -1;
    *pid = credentials.pid;
    *uid = credentials.uid;
    *gid = credentials.gid;
    return 0;
}

int csystem_peer_groups(int fd, gid_t *groups, int max) {
    socklen_t length = (socklen_t)(max * sizeof(gid_t));
    if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &length) != 0) return -1;
    return (int)(length / sizeof(gid_t));
}

int csystem_setresuid(uid_t r, uid_t e, uid_t s) { return setresuid(r, e, s); }
int csystem_setresgid(gid_t r, gid_t e, gid_t s) { return setresgid(r, e, s); }
int csystem_getresuid(uid_t *r, uid_t *e, uid_t *s) { return getresuid(r, e, s); }
int csystem_getresgid(gid_t *r, gid_t *e, gid_t *s) { return getresgid(r, e, s); }
int csystem_setgroups(size_t count, const gid_t *groups) { return setgroups(count, groups); }
int csystem_thread_setgroups(size_t count, const gid_t *groups) {
    return (int)syscall(SYS_setgroups, count, groups);
}
int csystem_setfsuid(uid_t uid) { return setfsuid(uid); }
int csystem_setfsgid(gid_t gid) { return setfsgid(gid); }
int csystem_getgrouplist(const char *user, gid_t group, gid_t *groups, int *count) {
    return getgrouplist(user, group, groups, count);
}
int csystem_set_parent_death_signal(int signal) { return prctl(PR_SET_PDEATHSIG, signal, 0, 0, 0); }
int csystem_set_no_new_privileges(void) { return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); }
int csystem_get_no_new_privileges(void) { return prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0); }
int csystem_set_dumpable(int value) { return prctl(PR_SET_DUMPABLE, value, 0, 0, 0); }
int csystem_get_dumpable(void) { return prctl(PR_GET_DUMPABLE, 0, 0, 0, 0); }
int csystem_fcntl_getfd(int fd) { return fcntl(fd, F_GETFD); }

#define CSYSTEM_SCM_MAX_FD 253

ssize_t csystem_send_descriptors(int socket, const void *bytes, size_t length, const int *fds,
                                 int count) {
    if (count < 0 || count > CSYSTEM_SCM_MAX_FD) { errno = EINVAL; return -1; }
    union { struct cmsghdr header; char space[CMSG_SPACE(sizeof(int) * CSYSTEM_SCM_MAX_FD)]; }
        control;
    struct iovec vector = { .iov_base = (void *)bytes, .iov_len = length };
    struct msghdr message = { .msg_iov = &vector, .msg_iovlen = 1 };
    if (count > 0) {
        memset(&control, 0, sizeof control);
        message.msg_control = control.space;
        message.msg_controllen = CMSG_SPACE(sizeof(int) * count);
        struct cmsghdr *header = CMSG_FIRSTHDR(&message);
        header->cmsg_level = SOL_SOCKET;
        header->cmsg_type = SCM_RIGHTS;
        header->cmsg_len = CMSG_LEN(sizeof(int) * count);
        memcpy(CMSG_DATA(header), fds, sizeof(int) * count);
    }
    return sendmsg(socket, &message, MSG_NOSIGNAL);
}

ssize_t csystem_receive_descriptors(int socket, void *bytes, size_t length, int *fds, int room,
                                    int *count, int *flags) {
    *count = 0;
    *flags = 0;
    if (room < 0 || room > CSYSTEM_SCM_MAX_FD) { errno = EINVAL; return -1; }
    union { struct cmsghdr header; char space[CMSG_SPACE(sizeof(int) * CSYSTEM_SCM_MAX_FD)]; }
        control;
    struct iovec vector = { .iov_base = bytes, .iov_len = length };
    struct msghdr message = { .msg_iov = &vector, .msg_iovlen = 1 };
    if (room > 0) {
        message.msg_control = control.space;
        message.msg_controllen = CMSG_SPACE(sizeof(int) * room);
    }
    ssize_t received = recvmsg(socket, &message, MSG_CMSG_CLOEXEC);
    if (received < 0) return -1;
    *flags = message.msg_flags;
    if (room == 0) return received;
    for (struct cmsghdr *header = CMSG_FIRSTHDR(&message); header != NULL;
         header = CMSG_NXTHDR(&message, header)) {
        if (header->cmsg_level != SOL_SOCKET || header->cmsg_type != SCM_RIGHTS) continue;
        size_t n = (header->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        const unsigned char *data = CMSG_DATA(header);
        for (size_t i = 0; i < n; i++) {
            int fd;
            memcpy(&fd, data + i * sizeof(int), sizeof(int));
            if (*count < room) fds[(*count)++] = fd;
            else close(fd);  /* cannot happen: the kernel fills at most the room given */
        }
    }
    return received;
}
