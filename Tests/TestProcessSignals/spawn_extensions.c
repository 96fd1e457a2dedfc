// The GNU posix_spawn and pipe extensions the test launcher (MailLabTestSupport's
// ChildProcess) needs: Swift's Glibc module is not built with _GNU_SOURCE.
#define _GNU_SOURCE
#include <fcntl.h>
#include <spawn.h>
#include <unistd.h>

int test_spawn_pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC); }

int test_spawn_close_from(posix_spawn_file_actions_t *actions, int from) {
    return posix_spawn_file_actions_addclosefrom_np(actions, from);
}

int test_spawn_chdir(posix_spawn_file_actions_t *actions, const char *directory) {
    return posix_spawn_file_actions_addchdir_np(actions, directory);
}
