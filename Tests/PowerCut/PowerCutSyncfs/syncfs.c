// libPowerCutSyncfs.so, for LD_PRELOAD in the power-cut test (docs/DURABILITY.md).
//
// The kernel never tells a FUSE daemon about syncfs(2): fuse_sync_fs() sends FUSE_SYNCFS only
// when the connection asked for it, which only virtiofs does. smtpd's default flush is syncfs,
// so on powercut-fs it would reach nobody and every message would look unflushed. This
// syncfs first tells the daemon with a request it does see (setxattr "user.powercut.syncfs"
// on the same descriptor; the daemon flushes everything before it answers), then makes the
// real system call, whose result it returns. Descriptors on other file systems are untouched.
#define _GNU_SOURCE
#include <errno.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "PowerCutSyncfs.h"

#define FUSE_SUPER_MAGIC 0x65735546

int syncfs(int fd) {
    struct statfs info;
    if (fstatfs(fd, &info) == 0 && info.f_type == FUSE_SUPER_MAGIC) {
        if (fsetxattr(fd, "user.powercut.syncfs", "1", 1, 0) != 0) return -1;
    }
    return (int)syscall(SYS_syncfs, fd);
}
