#ifndef CSPAWN_H
#define CSPAWN_H
// The GNU extensions of posix_spawn and pipe that the `command` experiment needs (glibc 2.29 or
// later). Swift's Glibc module is built without _GNU_SOURCE and hides them, so they are wrapped
// here, in a C file compiled with it.
#include <spawn.h>

/// A pipe whose two ends close on exec, so no other thread's child inherits them. 0, or -1 and errno.
int metasweep_pipe_cloexec(int fds[2]);

/// The child changes to `path` before it starts (posix_spawn_file_actions_addchdir_np).
int metasweep_spawn_addchdir(posix_spawn_file_actions_t *actions, const char *path);

/// POSIX_SPAWN_SETSID: the child starts a session, and a process group, of its own.
short metasweep_spawn_setsid_flag(void);
#endif
