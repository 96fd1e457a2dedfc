/* The disk's ceiling for durable Maildir delivery, one file per message: in one thread,
 * create a file in DIR/tmp (O_EXCL), write SIZE bytes, fsync it, rename it into DIR/new,
 * fsync DIR/new. Prints "N files in S s = R files/s".
 * With MODE "syncfs", each fsync is replaced by syncfs+fsync (what MailLab's writer does per
 * batch in its default mode), to see what one such flush costs on this disk.
 * With MODE "batch" and N: group commit, the ceiling for a server that flushes batches of N
 * messages: create and write N files, one syncfs (their data), link each into new/ and unlink
 * its tmp/ name, one syncfs (the new/ entries). Two flushes per batch, because a name in new/
 * must never point to data that is not on the disk yet.
 * With MODE "batch1" and N: the same with one syncfs per batch, after the links: faster, but a
 * power cut can leave a name in new/ whose data never reached the disk (an upper bound only).
 * Usage: fsyncloop DIR COUNT SIZE [fsync|syncfs|batch N|batch1 N] */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what, const char *path) {
    fprintf(stderr, "fsyncloop: %s %s: %s\n", what, path, strerror(errno));
    exit(1);
}

int main(int argc, char **argv) {
    if (argc < 4 || argc > 6) {
        fprintf(stderr, "usage: fsyncloop DIR COUNT SIZE [fsync|syncfs|batch N|batch1 N]\n");
        return 2;
    }
    int use_syncfs = argc == 5 && strcmp(argv[4], "syncfs") == 0;
    int batch_flushes = argc == 6 && strcmp(argv[4], "batch") == 0    ? 2
                        : argc == 6 && strcmp(argv[4], "batch1") == 0 ? 1
                                                                      : 0;
    long batch = argc == 6 ? atol(argv[5]) : 1;
    if ((argc == 6 && (batch_flushes == 0 || batch < 1)) ||
        (argc == 5 && !use_syncfs && strcmp(argv[4], "fsync") != 0)) {
        fprintf(stderr, "fsyncloop: unknown mode\n");
        return 2;
    }
    const char *dir = argv[1];
    long count = atol(argv[2]), size = atol(argv[3]);
    char tmp[4096], new[4096], a[4200], b[4200];
    snprintf(tmp, sizeof tmp, "%s/tmp", dir);
    snprintf(new, sizeof new, "%s/new", dir);
    mkdir(dir, 0700);
    mkdir(tmp, 0700);
    mkdir(new, 0700);
    char *data = malloc(size);
    for (long i = 0; i < size; i++) data[i] = (i % 64 == 63) ? '\n' : 'x';
    int newfd = open(new, O_RDONLY | O_DIRECTORY);
    if (newfd < 0) die("open", new);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (long first = 0; batch_flushes && first < count; first += batch) {
        long end = first + batch < count ? first + batch : count;
        for (long i = first; i < end; i++) {
            snprintf(a, sizeof a, "%s/%ld.%d.loop", tmp, i, getpid());
            int fd = open(a, O_CREAT | O_EXCL | O_WRONLY, 0600);
            if (fd < 0) die("open", a);
            if (write(fd, data, size) != size) die("write", a);
            if (close(fd) != 0) die("close", a);
        }
        if (batch_flushes == 2 && syncfs(newfd) != 0) die("syncfs", tmp);
        for (long i = first; i < end; i++) {
            snprintf(a, sizeof a, "%s/%ld.%d.loop", tmp, i, getpid());
            snprintf(b, sizeof b, "%s/%ld.%d.loop", new, i, getpid());
            if (link(a, b) != 0) die("link", a);
            if (unlink(a) != 0) die("unlink", a);
        }
        if (syncfs(newfd) != 0) die("syncfs", new);
    }
    for (long i = 0; !batch_flushes && i < count; i++) {
        snprintf(a, sizeof a, "%s/%ld.%d.loop", tmp, i, getpid());
        snprintf(b, sizeof b, "%s/%ld.%d.loop", new, i, getpid());
        int fd = open(a, O_CREAT | O_EXCL | O_WRONLY, 0600);
        if (fd < 0) die("open", a);
        if (write(fd, data, size) != size) die("write", a);
        if (use_syncfs && syncfs(fd) != 0) die("syncfs", a);
        if (fsync(fd) != 0) die("fsync", a);
        if (close(fd) != 0) die("close", a);
        if (rename(a, b) != 0) die("rename", a);
        if (use_syncfs && syncfs(newfd) != 0) die("syncfs", new);
        if (fsync(newfd) != 0) die("fsync", new);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double s = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("%ld files in %.3f s = %.0f files/s\n", count, s, count / s);
    return 0;
}
