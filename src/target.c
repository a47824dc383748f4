/*
 * target.c: the process memwatch watches, launched as its child or attached
 * to by PID.  A pidfd names it for the whole run, so a reused PID is never
 * watched or signalled by mistake.
 */

#include "config.h"

#include <sys/pidfd.h>
#include <sys/wait.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "memwatch.h"

/*
 * Attach to pid.  Return 0, or an exit status after saying why not.
 */
int
target_attach(struct target *t, pid_t pid)
{
	memset(t, 0, sizeof(*t));
	t->pid = pid;
	if ((t->pidfd = pidfd_open(pid, 0)) == -1) {
		warn("pid %d", (int)pid);
		return errno == ESRCH ? EXIT_NO_PROCESS : EXIT_INTERNAL;
	}
	return 0;
}

/*
 * Run argv as a child that keeps memwatch's terminal, process group and
 * standard streams, so it behaves as it would without memwatch.  A pipe
 * closed by a successful exec carries execvp's errno back otherwise.
 * Return 0 once argv runs, or an exit status after saying why it does not.
 */
int
target_launch(struct target *t, char *const argv[])
{
	sigset_t	 none;
	int		 fds[2], child_errno;
	ssize_t		 n;

	memset(t, 0, sizeof(*t));
	t->launched = true;
	if (pipe2(fds, O_CLOEXEC) == -1) {
		warn("pipe");
		return EXIT_INTERNAL;
	}
	if ((t->pid = fork()) == -1) {
		warn("fork");
		return EXIT_INTERNAL;
	}
	if (t->pid == 0) {
		/* undo what memwatch set for itself: exec keeps both */
		(void)sigemptyset(&none);
		(void)sigprocmask(SIG_SETMASK, &none, NULL);
		(void)signal(SIGPIPE, SIG_DFL);
		(void)close(fds[0]);
		execvp(argv[0], argv);
		child_errno = errno;
		(void)write(fds[1], &child_errno, sizeof(child_errno));
		_exit(EXIT_CANNOT_RUN);
	}
	(void)close(fds[1]);
	do
		n = read(fds[0], &child_errno, sizeof(child_errno));
	while (n == -1 && errno == EINTR);
	(void)close(fds[0]);
	if (n > 0) {
		(void)waitpid(t->pid, NULL, 0);
		errno = child_errno;
		warn("%s", argv[0]);
		return child_errno == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_RUN;
	}
	/* not yet reaped, so the PID cannot have been reused */
	if ((t->pidfd = pidfd_open(t->pid, 0)) == -1) {
		warn("pidfd_open");
		target_signal(t, SIGKILL);
		(void)waitpid(t->pid, NULL, 0);
		return EXIT_INTERNAL;
	}
	return 0;
}

/*
 * Collect a launched child that has exited, with its status and the
 * kernel's high-water mark since the last reset.  Return 0, or an errno.
 */
int
target_reap(struct target *t)
{
	struct rusage	 ru;
	pid_t		 r;

	if (!t->launched || t->reaped)
		return 0;
	do
		r = wait4(t->pid, &t->status, WNOHANG, &ru);
	while (r == -1 && errno == EINTR);
	if (r == -1)
		return errno;
	if (r == 0)
		return EAGAIN;
	t->reaped = true;
	t->maxrss = (uint64_t)ru.ru_maxrss * 1024;
	return 0;
}

/* Pass a signal on to the target, by pidfd so never to a reused PID. */
void
target_signal(const struct target *t, int sig)
{
	if (pidfd_send_signal(t->pidfd, sig, NULL, 0) == -1 && errno != ESRCH)
		warn("signal pid %d", (int)t->pid);
}

/* The shell's convention: the exit code, or 128 + the signal that killed. */
int
target_exit_status(const struct target *t)
{
	if (WIFSIGNALED(t->status))
		return 128 + WTERMSIG(t->status);
	return WEXITSTATUS(t->status);
}
