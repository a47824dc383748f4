/*
 * target.c: the process memwatch watches, launched as its child or attached
 * to by PID.  A pidfd names it for the whole run, so a reused PID is never
 * watched or signalled by mistake.  Where there are no pidfds, a launched
 * child, unreaped, keeps its PID anyway, and an attached process's /proc
 * files, opened once, never follow its PID to another process.
 */

#include "config.h"

#include <sys/pidfd.h>
#include <sys/wait.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "memwatch.h"

/*
 * Whether pidfd_open(2) failed for want of pidfds: Linux before 5.3,
 * valgrind 3.19, or a seccomp filter (EPERM, which it cannot give itself).
 */
static bool
no_pidfds(int error)
{
	return error == ENOSYS || error == EPERM;
}

/*
 * Attach to pid.  Return 0, or an exit status after saying why not.
 */
int
target_attach(struct target *t, pid_t pid)
{
	memset(t, 0, sizeof(*t));
	t->pid = pid;
	if ((t->pidfd = pidfd_open(pid, 0)) == -1 && no_pidfds(errno) &&
	    (kill(pid, 0) == 0 || errno == EPERM))
		return 0;
	if (t->pidfd == -1) {
		warn("pid %d", (int)pid);
		return errno == ESRCH ? EXIT_NO_PROCESS : EXIT_INTERNAL;
	}
	return 0;
}

/*
 * Fork a child to run argv, keeping memwatch's terminal, process group and
 * standard streams, so it behaves as it would without memwatch.  It waits
 * at a gate until target_exec(), so that what it needs can be made ready
 * for its PID first.  Return 0, or an exit status after saying why not.
 */
int
target_spawn(struct target *t, char *const argv[])
{
	char		 fifo[PATH_MAX];
	sigset_t	 none;
	size_t		 len = 0;
	ssize_t		 n;
	int		 child_errno;

	memset(t, 0, sizeof(*t));
	t->launched = true;
	if (pipe2(t->gate, O_CLOEXEC) == -1 ||
	    pipe2(t->report, O_CLOEXEC) == -1) {
		warn("pipe");
		return EXIT_INTERNAL;
	}
	if ((t->pid = fork()) == -1) {
		warn("fork");
		return EXIT_INTERNAL;
	}
	if (t->pid != 0) {
		(void)close(t->gate[0]);
		(void)close(t->report[1]);
		return 0;
	}

	(void)close(t->gate[1]);
	(void)close(t->report[0]);
	/* the gate: the FIFO's path, if any, then end of file */
	while ((n = read(t->gate[0], fifo + len, sizeof(fifo) - 1 - len)) > 0)
		len += (size_t)n;
	if (n == -1)
		_exit(EXIT_INTERNAL);
	fifo[len] = '\0';
	if (len > 0 && setenv("MEMWATCH_FIFO", fifo, 1) == -1)
		_exit(EXIT_INTERNAL);
	/* undo what memwatch set for itself: exec keeps both */
	(void)sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
	(void)signal(SIGPIPE, SIG_DFL);
	tree_restore_fds();
	execvp(argv[0], argv);
	child_errno = errno;
	(void)write(t->report[1], &child_errno, sizeof(child_errno));
	_exit(EXIT_CANNOT_RUN);
}

/*
 * Open the gate, telling the child the marker FIFO's path (NULL for none),
 * and learn whether its exec succeeded: the report pipe closes on exec, or
 * carries execvp's errno.  Return 0 once argv runs, or an exit status after
 * saying why it does not.
 */
int
target_exec(struct target *t, const char *fifo, const char *name)
{
	int	 child_errno;
	ssize_t	 n;

	if (fifo != NULL)
		(void)write(t->gate[1], fifo, strlen(fifo));
	(void)close(t->gate[1]);
	do
		n = read(t->report[0], &child_errno, sizeof(child_errno));
	while (n == -1 && errno == EINTR);
	(void)close(t->report[0]);
	if (n > 0) {
		(void)waitpid(t->pid, NULL, 0);
		errno = child_errno;
		warn("%s", name);
		return child_errno == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_RUN;
	}
	/* not yet reaped, so the PID cannot have been reused */
	if ((t->pidfd = pidfd_open(t->pid, 0)) == -1 && !no_pidfds(errno)) {
		warn("pidfd_open");
		(void)kill(t->pid, SIGKILL);
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

/*
 * Without a pidfd, whether the launched child has exited; it is left
 * unreaped, for its /proc/PID/stat.
 */
bool
target_exited(const struct target *t)
{
	siginfo_t	 si;

	si.si_pid = 0;
	return waitid(P_PID, (id_t)t->pid, &si, WEXITED | WNOHANG | WNOWAIT) ==
	    0 && si.si_pid != 0;
}

/*
 * Send sig to the target, by pidfd so never to a reused PID; without one,
 * by PID, which a launched child keeps until it is reaped.
 */
static int
send_signal(const struct target *t, int sig)
{
	return t->pidfd != -1 ? pidfd_send_signal(t->pidfd, sig, NULL, 0) :
	    kill(t->pid, sig);
}

/* Whether the target still exists, whatever /proc shows of it. */
bool
target_alive(const struct target *t)
{
	/* EPERM: there, but another user's */
	return send_signal(t, 0) == 0 || errno == EPERM;
}

/* Pass a signal on to the launched target. */
void
target_signal(const struct target *t, int sig)
{
	if (send_signal(t, sig) == -1 && errno != ESRCH)
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
