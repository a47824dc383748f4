/*
 * pidfd-hook.so: an LD_PRELOAD shim for attach.bats.  Right after
 * memwatch's pidfd_open(2) of PID it runs "$PIDFD_OPEN_HOOK PID", so that a
 * test can end the process and give its PID to another in the window
 * before memwatch opens /proc/PID.
 */

#include "config.h"

#include <sys/pidfd.h>
#include <sys/syscall.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int
pidfd_open(pid_t pid, unsigned int flags)
{
	char		 cmd[PATH_MAX + 32];
	const char	*hook = getenv("PIDFD_OPEN_HOOK");
	int		 fd;

	fd = (int)syscall(SYS_pidfd_open, pid, flags);
	if (fd != -1 && hook != NULL) {
		(void)snprintf(cmd, sizeof(cmd), "%s %d", hook, (int)pid);
		(void)system(cmd);
	}
	return fd;
}
