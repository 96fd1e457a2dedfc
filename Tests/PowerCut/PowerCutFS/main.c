// powercut-fs: a FUSE file system that forgets, on "power off", everything that was not made
// durable. The model (docs/DURABILITY.md):
//
// - Every inode has a volatile state (what readers see) and a durable state (what a disk would
//   hold after a power cut). Files: data, size, mode, owner. Folders: their entries.
// - fsync/fdatasync of a file makes its data, size, mode and owner durable. Not its names.
// - fsync of a folder makes its entries durable (names added, removed, replaced): a name is
//   durable only after its folder is flushed. A name whose file data was never flushed is
//   durable as an empty file (the zero-length file of ext4 data=writeback or XFS).
// - syncfs makes everything durable. The kernel does not tell a FUSE daemon about syncfs
//   (FUSE_SYNCFS is sent to virtiofs only), so libpowercut-syncfs.so (LD_PRELOAD) turns
//   syncfs(fd) into fsetxattr(fd, "user.powercut.syncfs") first, which reaches us.
// - "Journal commits" (COMMIT_MS > 0): every COMMIT_MS milliseconds, at the next request,
//   all folder entries become durable, file data does not (ext4 data=writeback, XFS: metadata
//   is journalled and committed in the background, data only when flushed). With -1 every
//   change of a folder is durable at once (synchronous metadata, the extreme of the same
//   model: a name can be durable long before its data). With 0, nothing becomes durable
//   without a flush (the strictest reading of POSIX).
// - Writeback of one folder: setxattr "user.powercut.writeback" on a folder makes its entries
//   durable and nothing else, not counted as a flush (a file system without a journal, such
//   as ext4 without one, writes each directory block back on its own, in no set order).
// - Power off: setxattr "user.powercut.off" on the mount's root, or, with CUT_AT_FLUSH K > 0,
//   instead of the K-th flush request (fsync, fsyncdir, syncfs) made while some inode has
//   unflushed changes (the others could lose nothing): the moments just before a
//   flush are where the most is at stake (everything since the last one is still volatile,
//   and with synchronous metadata the names are further ahead of the data than at any
//   other moment), so a cut there shows any missing flush. From that request on every
//   request fails with EIO, and the backing folder is rewritten to hold exactly the durable
//   state reachable from the root through durable entries (unreachable inodes are lost, as
//   fsck would put them in lost+found). Then unmount (umount -l) and the daemon exits.
//
// Only regular files and folders (no symbolic links, devices or xattrs: smtpd makes none).
// Single-threaded (-s): every request, the power-off included, is one atomic step.
// Usage: powercut-fs BACKING COMMIT_MS CUT_AT_FLUSH MOUNTPOINT [FUSE options]

#define FUSE_USE_VERSION 31
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <fuse.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

struct node;

struct entry {
    char *name;
    struct node *node;
};

struct entries {
    struct entry *items;
    size_t count, capacity;
};

struct node {
    uint64_t ino;
    mode_t mode;  // type and permissions
    uid_t uid;
    gid_t gid;
    struct timespec mtime;
    unsigned nlink;  // volatile names (folders: 2 + subfolders, kept simple: 2)
    // Files.
    char *data;
    size_t size, capacity;
    char *durable_data;
    size_t durable_size;
    mode_t durable_mode;
    uid_t durable_uid;
    gid_t durable_gid;
    // Folders.
    struct entries entries, durable_entries;
    // Dirty list: nodes whose volatile state may differ from the durable one.
    int dirty;
    struct node *next_dirty;
    // Power-off write-out: the path this inode was first written to (hard links).
    char *written_path;
};

static struct node *root;
static struct node *dirty_list;
static uint64_t next_ino = 2;
static const char *backing;
static struct timespec last_commit;
static int powered_off;
static int started;  // fuse_get_context() is only valid once the loop runs
static unsigned long cut_at_flush, flushes;
static unsigned long counts_fsync, counts_fsyncdir, counts_syncfs, counts_commits, counts_writebacks;

static void mark_dirty(struct node *n) {
    if (!n->dirty) {
        n->dirty = 1;
        n->next_dirty = dirty_list;
        dirty_list = n;
    }
}

static struct node *new_node(mode_t mode) {
    struct node *n = calloc(1, sizeof *n);
    if (!n) abort();
    n->ino = next_ino++;
    n->mode = mode;
    n->durable_mode = mode;
    struct fuse_context *context = started ? fuse_get_context() : NULL;
    n->uid = n->durable_uid = context ? context->uid : getuid();
    n->gid = n->durable_gid = context ? context->gid : getgid();
    n->nlink = S_ISDIR(mode) ? 2 : 0;
    clock_gettime(CLOCK_REALTIME, &n->mtime);
    return n;
}

static void entries_copy(struct entries *to, const struct entries *from) {
    for (size_t i = 0; i < to->count; i++) free(to->items[i].name);
    if (to->capacity < from->count) {
        to->items = realloc(to->items, from->count * sizeof *to->items);
        if (!to->items) abort();
        to->capacity = from->count;
    }
    for (size_t i = 0; i < from->count; i++) {
        to->items[i].name = strdup(from->items[i].name);
        to->items[i].node = from->items[i].node;
    }
    to->count = from->count;
}

static struct entry *entries_find(struct entries *e, const char *name) {
    for (size_t i = 0; i < e->count; i++)
        if (strcmp(e->items[i].name, name) == 0) return &e->items[i];
    return NULL;
}

static void entries_add(struct entries *e, const char *name, struct node *n) {
    if (e->count == e->capacity) {
        e->capacity = e->capacity ? 2 * e->capacity : 8;
        e->items = realloc(e->items, e->capacity * sizeof *e->items);
        if (!e->items) abort();
    }
    e->items[e->count].name = strdup(name);
    e->items[e->count].node = n;
    e->count++;
}

static void entries_remove(struct entries *e, struct entry *which) {
    free(which->name);
    *which = e->items[--e->count];
}

// Folder changes. With synchronous metadata (COMMIT_MS -1) each one is made on the durable
// entries too, so they always equal the volatile ones.

static long commit_ms;

static void name_add(struct node *parent, const char *name, struct node *n) {
    entries_add(&parent->entries, name, n);
    if (commit_ms < 0) entries_add(&parent->durable_entries, name, n);
}

static void name_remove(struct node *parent, const char *name) {
    entries_remove(&parent->entries, entries_find(&parent->entries, name));
    struct entry *durable;
    if (commit_ms < 0 && (durable = entries_find(&parent->durable_entries, name)))
        entries_remove(&parent->durable_entries, durable);
}

static void name_replace(struct node *parent, const char *name, struct node *n) {
    entries_find(&parent->entries, name)->node = n;
    struct entry *durable;
    if (commit_ms < 0 && (durable = entries_find(&parent->durable_entries, name)))
        durable->node = n;
}

// Durability steps.

static void flush_file(struct node *n) {
    free(n->durable_data);
    n->durable_data = n->size ? malloc(n->size) : NULL;
    if (n->size) memcpy(n->durable_data, n->data, n->size);
    n->durable_size = n->size;
    n->durable_mode = n->mode;
    n->durable_uid = n->uid;
    n->durable_gid = n->gid;
}

static void flush_folder(struct node *n) {
    entries_copy(&n->durable_entries, &n->entries);
    n->durable_mode = n->mode;
    n->durable_uid = n->uid;
    n->durable_gid = n->gid;
}

static void flush_all(void) {
    for (struct node *n = dirty_list; n; n = n->next_dirty) {
        if (S_ISDIR(n->mode)) flush_folder(n); else flush_file(n);
        n->dirty = 0;
    }
    dirty_list = NULL;
}

/// A journal commit: every folder's entries, no file data (a node stays dirty: its data may
/// still differ).
static void commit_metadata(void) {
    for (struct node *n = dirty_list; n; n = n->next_dirty)
        if (S_ISDIR(n->mode)) flush_folder(n);
    counts_commits++;
}

static int check_power(void) {
    if (powered_off) return -EIO;
    if (commit_ms > 0) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        long elapsed = (now.tv_sec - last_commit.tv_sec) * 1000 +
                       (now.tv_nsec - last_commit.tv_nsec) / 1000000;
        if (elapsed >= commit_ms) {
            commit_metadata();
            last_commit = now;
        }
    }
    return 0;
}

// Paths.

static struct node *lookup(const char *path) {
    struct node *n = root;
    char buffer[4096];
    if (strlen(path) >= sizeof buffer) return NULL;
    strcpy(buffer, path);
    char *save = NULL;
    for (char *part = strtok_r(buffer, "/", &save); part; part = strtok_r(NULL, "/", &save)) {
        if (!S_ISDIR(n->mode)) return NULL;
        struct entry *e = entries_find(&n->entries, part);
        if (!e) return NULL;
        n = e->node;
    }
    return n;
}

/// The folder holding `path` and the last component (in `name`, at most NAME_MAX).
static struct node *parent_of(const char *path, char name[NAME_MAX + 1]) {
    const char *slash = strrchr(path, '/');
    if (!slash || strlen(slash + 1) > NAME_MAX || slash[1] == 0) return NULL;
    strcpy(name, slash + 1);
    char folder[4096];
    size_t length = (size_t)(slash - path);
    if (length >= sizeof folder) return NULL;
    memcpy(folder, path, length);
    folder[length] = 0;
    struct node *p = lookup(length ? folder : "/");
    return p && S_ISDIR(p->mode) ? p : NULL;
}

static struct node *node_of(const char *path, struct fuse_file_info *fi) {
    if (fi && fi->fh) return (struct node *)(uintptr_t)fi->fh;
    return path ? lookup(path) : NULL;
}

static void touch(struct node *n) { clock_gettime(CLOCK_REALTIME, &n->mtime); }

// Operations.

static int op_getattr(const char *path, struct stat *st, struct fuse_file_info *fi) {
    int rc = check_power();
    if (rc) return rc;
    struct node *n = node_of(path, fi);
    if (!n) return -ENOENT;
    memset(st, 0, sizeof *st);
    st->st_ino = n->ino;
    st->st_mode = n->mode;
    st->st_nlink = n->nlink ? n->nlink : 1;
    st->st_uid = n->uid;
    st->st_gid = n->gid;
    st->st_size = S_ISDIR(n->mode) ? 4096 : (off_t)n->size;
    st->st_blocks = (st->st_size + 511) / 512;
    st->st_mtim = st->st_ctim = st->st_atim = n->mtime;
    return 0;
}

static int op_readdir(const char *path, void *buffer, fuse_fill_dir_t fill, off_t offset,
                      struct fuse_file_info *fi, enum fuse_readdir_flags flags) {
    (void)offset;
    (void)flags;
    int rc = check_power();
    if (rc) return rc;
    struct node *n = node_of(path, fi);
    if (!n || !S_ISDIR(n->mode)) return -ENOTDIR;
    fill(buffer, ".", NULL, 0, 0);
    fill(buffer, "..", NULL, 0, 0);
    for (size_t i = 0; i < n->entries.count; i++)
        if (fill(buffer, n->entries.items[i].name, NULL, 0, 0)) break;
    return 0;
}

static int op_opendir(const char *path, struct fuse_file_info *fi) {
    int rc = check_power();
    if (rc) return rc;
    struct node *n = lookup(path);
    if (!n) return -ENOENT;
    if (!S_ISDIR(n->mode)) return -ENOTDIR;
    fi->fh = (uintptr_t)n;
    return 0;
}

static int add_name(const char *path, struct node *n) {
    char name[NAME_MAX + 1];
    struct node *parent = parent_of(path, name);
    if (!parent) return -ENOENT;
    if (entries_find(&parent->entries, name)) return -EEXIST;
    name_add(parent, name, n);
    if (!S_ISDIR(n->mode)) n->nlink++;
    touch(parent);
    mark_dirty(parent);
    return 0;
}

static int op_mkdir(const char *path, mode_t mode) {
    int rc = check_power();
    if (rc) return rc;
    struct node *n = new_node(S_IFDIR | (mode & 07777));
    mark_dirty(n);
    return add_name(path, n);
}

static int op_create(const char *path, mode_t mode, struct fuse_file_info *fi) {
    int rc = check_power();
    if (rc) return rc;
    struct node *existing = lookup(path);
    if (existing) {
        if (fi->flags & O_EXCL) return -EEXIST;
        if (S_ISDIR(existing->mode)) return -EISDIR;
        fi->fh = (uintptr_t)existing;
        return 0;
    }
    struct node *n = new_node(S_IFREG | (mode & 07777));
    mark_dirty(n);
    rc = add_name(path, n);
    if (rc) return rc;
    fi->fh = (uintptr_t)n;
    return 0;
}

static int op_open(const char *path, struct fuse_file_info *fi) {
    int rc = check_power();
    if (rc) return rc;
    struct node *n = lookup(path);
    if (!n) return -ENOENT;
    if (S_ISDIR(n->mode)) return -EISDIR;
    fi->fh = (uintptr_t)n;
    if (fi->flags & O_TRUNC) {
        n->size = 0;
        mark_dirty(n);
    }
    return 0;
}

static int op_read(const char *path, char *buffer, size_t size, off_t offset,
                   struct fuse_file_info *fi) {
    int rc = check_power();
    if (rc) return rc;
    struct node *n = node_of(path, fi);
    if (!n) return -ENOENT;
    if ((size_t)offset >= n->size) return 0;
    if (size > n->size - (size_t)offset) size = n->size - (size_t)offset;
    memcpy(buffer, n->data + offset, size);
    return (int)size;
}

static int resize(struct node *n, size_t size) {
    if (size > n->capacity) {
        size_t capacity = n->capacity ? n->capacity : 4096;
        while (capacity < size) capacity *= 2;
        char *data = realloc(n->data, capacity);
        if (!data) return -ENOSPC;
        n->data = data;
        n->capacity = capacity;
    }
    if (size > n->size) memset(n->data + n->size, 0, size - n->size);
    n->size = size;
    return 0;
}

static int op_write(const char *path, const char *buffer, size_t size, off_t offset,
                    struct fuse_file_info *fi) {
    int rc = check_power();
    if (rc) return rc;
    struct node *n = node_of(path, fi);
    if (!n) return -ENOENT;
    if ((size_t)offset + size > n->size && (rc = resize(n, (size_t)offset + size))) return rc;
    memcpy(n->data + offset, buffer, size);
    touch(n);
    mark_dirty(n);
    return (int)size;
}

static int op_truncate(const char *path, off_t size, struct fuse_file_info *fi) {
    int rc = check_power();
    if (rc) return rc;
    struct node *n = node_of(path, fi);
    if (!n) return -ENOENT;
    if (S_ISDIR(n->mode)) return -EISDIR;
    if ((size_t)size > n->size) {
        if ((rc = resize(n, (size_t)size))) return rc;
    } else {
        n->size = (size_t)size;
    }
    mark_dirty(n);
    return 0;
}

static int op_unlink(const char *path) {
    int rc = check_power();
    if (rc) return rc;
    char name[NAME_MAX + 1];
    struct node *parent = parent_of(path, name);
    if (!parent) return -ENOENT;
    struct entry *e = entries_find(&parent->entries, name);
    if (!e) return -ENOENT;
    if (S_ISDIR(e->node->mode)) return -EISDIR;
    e->node->nlink--;
    name_remove(parent, name);
    touch(parent);
    mark_dirty(parent);
    return 0;
}

static int op_rmdir(const char *path) {
    int rc = check_power();
    if (rc) return rc;
    char name[NAME_MAX + 1];
    struct node *parent = parent_of(path, name);
    if (!parent) return -ENOENT;
    struct entry *e = entries_find(&parent->entries, name);
    if (!e) return -ENOENT;
    if (!S_ISDIR(e->node->mode)) return -ENOTDIR;
    if (e->node->entries.count) return -ENOTEMPTY;
    name_remove(parent, name);
    touch(parent);
    mark_dirty(parent);
    return 0;
}

static int op_link(const char *from, const char *to) {
    int rc = check_power();
    if (rc) return rc;
    struct node *n = lookup(from);
    if (!n) return -ENOENT;
    if (S_ISDIR(n->mode)) return -EPERM;
    return add_name(to, n);
}

/// A rename across folders is two changes, each durable with its own folder's flush (stricter
/// than a journalling file system, which commits a rename as one transaction).
static int op_rename(const char *from, const char *to, unsigned int flags) {
    int rc = check_power();
    if (rc) return rc;
    if (flags & ~RENAME_NOREPLACE) return -EINVAL;
    char from_name[NAME_MAX + 1], to_name[NAME_MAX + 1];
    struct node *from_parent = parent_of(from, from_name);
    struct node *to_parent = parent_of(to, to_name);
    if (!from_parent || !to_parent) return -ENOENT;
    struct entry *source = entries_find(&from_parent->entries, from_name);
    if (!source) return -ENOENT;
    struct node *moving = source->node;
    struct entry *target = entries_find(&to_parent->entries, to_name);
    if (target) {
        if (target->node == moving) return 0;
        if (flags & RENAME_NOREPLACE) return -EEXIST;
        if (S_ISDIR(target->node->mode) != S_ISDIR(moving->mode))
            return S_ISDIR(moving->mode) ? -ENOTDIR : -EISDIR;
        if (S_ISDIR(target->node->mode) && target->node->entries.count) return -ENOTEMPTY;
        if (!S_ISDIR(target->node->mode)) target->node->nlink--;
        name_replace(to_parent, to_name, moving);
    } else {
        name_add(to_parent, to_name, moving);
    }
    name_remove(from_parent, from_name);
    touch(from_parent);
    touch(to_parent);
    mark_dirty(from_parent);
    mark_dirty(to_parent);
    return 0;
}

static int op_chmod(const char *path, mode_t mode, struct fuse_file_info *fi) {
    int rc = check_power();
    if (rc) return rc;
    struct node *n = node_of(path, fi);
    if (!n) return -ENOENT;
    n->mode = (n->mode & S_IFMT) | (mode & 07777);
    mark_dirty(n);
    return 0;
}

static int op_chown(const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi) {
    int rc = check_power();
    if (rc) return rc;
    struct node *n = node_of(path, fi);
    if (!n) return -ENOENT;
    if (uid != (uid_t)-1) n->uid = uid;
    if (gid != (gid_t)-1) n->gid = gid;
    mark_dirty(n);
    return 0;
}

static int op_utimens(const char *path, const struct timespec tv[2], struct fuse_file_info *fi) {
    (void)tv;
    int rc = check_power();
    if (rc) return rc;
    struct node *n = node_of(path, fi);
    if (!n) return -ENOENT;
    touch(n);
    return 0;
}

static void power_off(void);

/// A flush request: the one where the power goes, with CUT_AT_FLUSH.
static int check_flush(void) {
    int rc = check_power();
    if (rc) return rc;
    // Only requests made while something is unflushed count: a cut where the volatile and the
    // durable state are the same (the fsync right after a syncfs) could not show anything.
    if (cut_at_flush && dirty_list && ++flushes == cut_at_flush) {
        power_off();
        return -EIO;
    }
    return 0;
}

static int op_fsync(const char *path, int datasync, struct fuse_file_info *fi) {
    (void)datasync;  // fdatasync: size and data, which is all this model keeps of a file
    int rc = check_flush();
    if (rc) return rc;
    struct node *n = node_of(path, fi);
    if (!n) return -ENOENT;
    flush_file(n);
    counts_fsync++;
    return 0;
}

static int op_fsyncdir(const char *path, int datasync, struct fuse_file_info *fi) {
    (void)datasync;
    int rc = check_flush();
    if (rc) return rc;
    struct node *n = node_of(path, fi);
    if (!n || !S_ISDIR(n->mode)) return -ENOTDIR;
    flush_folder(n);
    counts_fsyncdir++;
    return 0;
}

static int op_statfs(const char *path, struct statvfs *st) {
    (void)path;
    int rc = check_power();
    if (rc) return rc;
    memset(st, 0, sizeof *st);
    st->f_bsize = st->f_frsize = 4096;
    st->f_blocks = st->f_bfree = st->f_bavail = 1 << 24;  // 64 GiB, all free
    st->f_files = st->f_ffree = st->f_favail = 1 << 24;
    st->f_namemax = NAME_MAX;
    return 0;
}

// Power off: the backing folder becomes the durable state.

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw) {
    (void)st;
    (void)type;
    if (ftw->level == 0) return 0;  // keep the backing folder itself
    return remove(path) ? -1 : 0;
}

static int write_out(struct node *folder, const char *path) {
    for (size_t i = 0; i < folder->durable_entries.count; i++) {
        struct entry *e = &folder->durable_entries.items[i];
        char *child;
        if (asprintf(&child, "%s/%s", path, e->name) < 0) return -1;
        struct node *n = e->node;
        if (S_ISDIR(n->mode)) {
            if (n->written_path) {
                // A folder durable under two names (a rename flushed on one side only): the
                // first one found wins.
                free(child);
                continue;
            }
            n->written_path = child;
            if (mkdir(child, n->durable_mode & 07777) || chown(child, n->durable_uid, n->durable_gid))
                return -1;
            if (write_out(n, child)) return -1;
        } else if (n->written_path) {
            if (link(n->written_path, child)) return -1;
            free(child);
        } else {
            int fd = open(child, O_CREAT | O_EXCL | O_WRONLY, n->durable_mode & 07777);
            if (fd < 0) return -1;
            size_t done = 0;
            while (done < n->durable_size) {
                ssize_t w = write(fd, n->durable_data + done, n->durable_size - done);
                if (w < 0) { close(fd); return -1; }
                done += (size_t)w;
            }
            if (fchown(fd, n->durable_uid, n->durable_gid) || close(fd)) return -1;
            n->written_path = child;
        }
    }
    return 0;
}

static void power_off(void) {
    powered_off = 1;
    unsigned long dirty = 0;
    for (struct node *n = dirty_list; n; n = n->next_dirty) dirty++;
    if (nftw(backing, remove_entry, 64, FTW_DEPTH | FTW_PHYS) || write_out(root, backing)) {
        perror("powercut-fs: writing the durable state");
        exit(2);
    }
    fprintf(stderr,
            "powercut-fs: power off%s: fsync %lu, fsyncdir %lu, syncfs %lu, commits %lu, "
            "folder writebacks %lu, inodes with unflushed changes %lu\n",
            cut_at_flush && flushes == cut_at_flush ? " at a flush" : "", counts_fsync,
            counts_fsyncdir, counts_syncfs, counts_commits, counts_writebacks, dirty);
}

static int op_setxattr(const char *path, const char *name, const char *value, size_t size,
                       int flags) {
    (void)value;
    (void)size;
    (void)flags;
    int rc = check_power();
    if (rc) return rc;
    if (strcmp(name, "user.powercut.syncfs") == 0) {
        if ((rc = check_flush())) return rc;
        flush_all();
        counts_syncfs++;
        return 0;
    }
    if (strcmp(name, "user.powercut.off") == 0 && strcmp(path, "/") == 0) {
        power_off();
        return 0;
    }
    if (strcmp(name, "user.powercut.writeback") == 0) {
        // One folder's entries reach the disk on their own, as a file system without a
        // journal writes a directory block back: no flush request, nothing else with it.
        struct node *n = lookup(path);
        if (!n) return -ENOENT;
        if (!S_ISDIR(n->mode)) return -ENOTDIR;
        flush_folder(n);
        counts_writebacks++;
        return 0;
    }
    return -ENOTSUP;
}

// Start: the backing folder is the disk as it was.

static void load(struct node *folder, int dirfd, struct node **seen, size_t *seen_count,
                 ino_t *seen_ino) {
    DIR *dir = fdopendir(dirfd);
    if (!dir) { perror("powercut-fs: loading"); exit(2); }
    struct dirent *d;
    while ((d = readdir(dir))) {
        if (!strcmp(d->d_name, ".") || !strcmp(d->d_name, "..")) continue;
        struct stat st;
        if (fstatat(dirfd, d->d_name, &st, AT_SYMLINK_NOFOLLOW)) { perror(d->d_name); exit(2); }
        struct node *n = NULL;
        for (size_t i = 0; i < *seen_count; i++)
            if (seen_ino[i] == st.st_ino) n = seen[i];
        if (!n) {
            if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode)) {
                fprintf(stderr, "powercut-fs: %s: only files and folders\n", d->d_name);
                exit(2);
            }
            n = new_node(st.st_mode);
            n->uid = n->durable_uid = st.st_uid;
            n->gid = n->durable_gid = st.st_gid;
            if (S_ISDIR(st.st_mode)) {
                int child = openat(dirfd, d->d_name, O_RDONLY | O_DIRECTORY);
                if (child < 0) { perror(d->d_name); exit(2); }
                load(n, child, seen, seen_count, seen_ino);
            } else {
                int fd = openat(dirfd, d->d_name, O_RDONLY);
                if (fd < 0 || resize(n, (size_t)st.st_size) ||
                    read(fd, n->data, n->size) != (ssize_t)n->size) { perror(d->d_name); exit(2); }
                close(fd);
                flush_file(n);
                if (*seen_count < 65536) {
                    seen[*seen_count] = n;
                    seen_ino[(*seen_count)++] = st.st_ino;
                }
            }
        }
        entries_add(&folder->entries, d->d_name, n);
        if (!S_ISDIR(n->mode)) n->nlink++;
    }
    flush_folder(folder);
    closedir(dir);
}

static void *op_init(struct fuse_conn_info *conn, struct fuse_config *config) {
    (void)conn;
    started = 1;
    config->hard_remove = 1;  // no .fuse_hidden files: an unlinked open file keeps its node
    config->nullpath_ok = 1;
    config->use_ino = 1;
    return NULL;
}

static const struct fuse_operations operations = {
    .init = op_init,
    .getattr = op_getattr,
    .readdir = op_readdir,
    .opendir = op_opendir,
    .mkdir = op_mkdir,
    .create = op_create,
    .open = op_open,
    .read = op_read,
    .write = op_write,
    .truncate = op_truncate,
    .unlink = op_unlink,
    .rmdir = op_rmdir,
    .link = op_link,
    .rename = op_rename,
    .chmod = op_chmod,
    .chown = op_chown,
    .utimens = op_utimens,
    .fsync = op_fsync,
    .fsyncdir = op_fsyncdir,
    .statfs = op_statfs,
    .setxattr = op_setxattr,
};

int main(int argc, char *argv[]) {
    if (argc < 5) {
        fprintf(stderr,
                "usage: powercut-fs BACKING COMMIT_MS CUT_AT_FLUSH MOUNTPOINT [FUSE options]\n");
        return 2;
    }
    backing = realpath(argv[1], NULL);
    if (!backing) { perror(argv[1]); return 2; }
    commit_ms = strtol(argv[2], NULL, 10);
    cut_at_flush = strtoul(argv[3], NULL, 10);
    clock_gettime(CLOCK_MONOTONIC, &last_commit);

    struct stat st;
    if (stat(backing, &st) || !S_ISDIR(st.st_mode)) { perror(backing); return 2; }
    root = new_node(st.st_mode);
    root->uid = root->durable_uid = st.st_uid;
    root->gid = root->durable_gid = st.st_gid;
    static struct node *seen[65536];
    static ino_t seen_ino[65536];
    size_t seen_count = 0;
    int fd = open(backing, O_RDONLY | O_DIRECTORY);
    if (fd < 0) { perror(backing); return 2; }
    load(root, fd, seen, &seen_count, seen_ino);
    // Loaded nodes are durable as they are: nothing is dirty.
    for (struct node *n = dirty_list; n; n = n->next_dirty) n->dirty = 0;
    dirty_list = NULL;

    char *args[64];
    int count = 0;
    args[count++] = argv[0];
    args[count++] = argv[4];
    args[count++] = "-f";
    args[count++] = "-s";
    for (int i = 5; i < argc && count < 63; i++) args[count++] = argv[i];
    args[count] = NULL;
    return fuse_main(count, args, &operations, NULL);
}
