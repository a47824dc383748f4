/*
 * nopidfd: lets memwatch run under valgrind 3.19 (Debian 12), which does
 * not know the pidfd_open system call and fails it with ENOSYS.  Loaded
 * with LD_PRELOAD, it puts a signalfd for SIGCHLD in place of pidfd_open(3):
 * it becomes readable when the child exits, as the pidfd would, and that is
 * all memwatch's loop asks of the pidfd.  The user-space instructions that
 * memwatch executes per sample are the same either way; only the
 * instruction count uses it.  A child that exits before pidfd_open is
 * called would be missed: the bench runs a sleep.
 */

#include "config.h"

#include <sys/pidfd.h>
#include <sys/signalfd.h>

#include <signal.h>

/* Return a signalfd for SIGCHLD, now blocked, or -1; pid, flags unused. */
int
pidfd_open(pid_t pid, unsigned int flags)
{
	sigset_t	 set;

	(void)pid;
	(void)flags;
	(void)sigemptyset(&set);
	(void)sigaddset(&set, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &set, NULL) == -1)
		return -1;
	return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}
