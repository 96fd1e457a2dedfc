#pragma once
#include <spawn.h>
/// Referenced from MailLabTestSupport so the constructor's object is always linked.
int test_process_signals_linked(void);

/// pipe2(fds, O_CLOEXEC): 0, or -1 with errno.
int test_spawn_pipe_cloexec(int fds[2]);
/// posix_spawn_file_actions_addclosefrom_np (GNU): 0, or an error number.
int test_spawn_close_from(posix_spawn_file_actions_t *actions, int from);
/// posix_spawn_file_actions_addchdir_np (GNU): 0, or an error number.
int test_spawn_chdir(posix_spawn_file_actions_t *actions, const char *directory);
