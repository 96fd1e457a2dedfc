// The Glibc pieces that Swift's Glibc module does not import (it is built without
// _GNU_SOURCE and leaves out the epoll and eventfd headers).
// Each wrapper is a plain call-through; Swift code wraps them once more, typed.
#ifndef MAILLAB_CSYSTEM_H
#define MAILLAB_CSYSTEM_H

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <signal.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <pwd.h>
#include <grp.h>
#include <fcntl.h>
#include <unistd.h>
#include <pthread.h>
#include <sys/random.h>

int csystem_accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags);
int csystem_setns(int fd, int nstype);
int csystem_unshare(int flags);
int csystem_syncfs(int fd);
int csystem_set_thread_name(pthread_t thread, const char *name);

/// CLONE_NEWNET / CLONE_NEWNS, which need _GNU_SOURCE.
extern const int CSYSTEM_CLONE_NEWNET;
extern const int CSYSTEM_CLONE_NEWNS;

/// Variadic or macro-based calls Swift cannot reach directly.
int csystem_open_mode(const char *path, int flags, mode_t mode);
int csystem_openat_mode(int dirfd, const char *name, int flags, mode_t mode);
/// statvfs(3) (its name is also its struct's, which Swift cannot tell apart).
int csystem_statvfs(const char *path, struct statvfs *out);
/// O_PATH, which needs _GNU_SOURCE.
extern const int CSYSTEM_O_PATH;
int csystem_fcntl_getfl(int fd);
int csystem_fcntl_setfl(int fd, int flags);

/// sigset helpers (the Glibc macros do not import everywhere).
void csystem_block_signals(const int *signals, int count, sigset_t *out);

/// Fork and exec in a child, doing only async-signal-safe work between the two: optional
/// setns into `netns_fd` (-1 for none) and, if `remount_sys`, a private mount namespace with
/// /sys remounted and /etc/netns/NAME/* bound over /etc (what `ip netns exec` does; the list
/// is read before fork). Returns the pid, or -1 with errno set. `*report_fd` is then the read
/// end of a close-on-exec pipe: end of file if exec succeeded, else two ints {stage, errno}
/// (1 setns, 2 unshare, 3 make / rslave, 4 mount /sys, 5 execve, 6 stdio, 7 setsid; the child has exited with
/// 127 and must still be reaped). The caller closes it. With `output_fd` >= 0 the child is
/// detached, for a server that outlives the caller: a session of its own (setsid), stdin
/// from /dev/null, stdout and stderr on `output_fd`; -1 inherits the caller's three.
pid_t csystem_spawn_netns_exec(const char *path, char *const argv[], char *const envp[],
                               int netns_fd, int remount_sys, const char *netns_name,
                               int output_fd, int *report_fd);

/// 1 if `password` hashes to `hash` under crypt(3) (libxcrypt: bcrypt `$2b$`, SHA-512 `$6$`,
/// …), 0 if not, -1 with errno set if the hash cannot be used (unknown method, malformed).
/// crypt_r with its state on the heap; the comparison takes the same time for every byte.
int csystem_crypt_check(const char *password, const char *hash);
/// `password` hashed with a new salt for `prefix` (`$2b$`, `$6$`) into `out` (a C string),
/// as `smtpctl encrypt` writes it. 0, or -1 with errno set.
int csystem_crypt_new(const char *password, const char *prefix, char *out, size_t out_size);
/// The password hash of a system user: the shadow entry's (getspnam_r), else the passwd
/// entry's (getpwnam_r). 0, or -1 (no such user, errno 0; or errno from the lookup).
int csystem_user_password_hash(const char *name, char *out, size_t out_size);


/// Credentials (setres*id, getres*id, setfsuid/setfsgid and prctl need _GNU_SOURCE or
/// headers Swift's Glibc leaves out). Plain call-throughs, except where said.
int csystem_setresuid(uid_t r, uid_t e, uid_t s);
int csystem_setresgid(gid_t r, gid_t e, gid_t s);
int csystem_getresuid(uid_t *r, uid_t *e, uid_t *s);
int csystem_getresgid(gid_t *r, gid_t *e, gid_t *s);
/// setgroups(3): glibc changes every thread of the process.
int csystem_setgroups(size_t count, const gid_t *groups);
/// The raw setgroups system call: the calling thread's supplementary groups only (the
/// kernel keeps credentials per thread; only glibc's wrapper broadcasts them).
int csystem_thread_setgroups(size_t count, const gid_t *groups);
/// setfsuid(2)/setfsgid(2): per thread; they return the previous id, never an error.
int csystem_setfsuid(uid_t uid);
int csystem_setfsgid(gid_t gid);
/// getgrouplist(3)
int csystem_getgrouplist(const char *user, gid_t group, gid_t *groups, int *count);
/// prctl(PR_SET_PDEATHSIG, signal): the signal this process gets when its parent ends.
int csystem_set_parent_death_signal(int signal);
/// prctl(PR_SET_NO_NEW_PRIVS, 1) and prctl(PR_SET_DUMPABLE, value), PR_GET_DUMPABLE.
int csystem_set_no_new_privileges(void);
int csystem_get_no_new_privileges(void);
int csystem_set_dumpable(int value);
int csystem_get_dumpable(void);
int csystem_fcntl_getfd(int fd);

/// sendmsg(2) of `length` bytes with `count` descriptors as one SCM_RIGHTS message
/// (`count` 0: none). MSG_NOSIGNAL always.
ssize_t csystem_send_descriptors(int socket, const void *bytes, size_t length, const int *fds,
                                 int count);
/// recvmsg(2) with MSG_CMSG_CLOEXEC and room for `room` descriptors (at most 253, the
/// kernel's SCM_MAX_FD): up to `room` received descriptors in `fds`, their number in
/// `*count`, recvmsg's msg_flags in `*flags` (MSG_CTRUNC: descriptors were dropped).
ssize_t csystem_receive_descriptors(int socket, void *bytes, size_t length, int *fds, int room,
                                    int *count, int *flags);

#include <syslog.h>
/// syslog(3) without varargs.
void csystem_syslog(int priority, const char *message);
/// daemon(3).
int csystem_daemon(int nochdir, int noclose);

#endif

/// The credentials of the process at the other end of a unix socket, as they were when it
/// connected (getsockopt SO_PEERCRED: `struct ucred` needs _GNU_SOURCE). 0, or -1 with errno.
int csystem_peer_credentials(int fd, pid_t *pid, uid_t *uid, gid_t *gid);
/// Its supplementary groups (getsockopt SO_PEERGROUPS, Linux 4.13+): how many, up to `max`
/// stored in `groups`; -1 with errno (ERANGE: more than `max`).
int csystem_peer_groups(int fd, gid_t *groups, int max);
