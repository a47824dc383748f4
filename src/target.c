/*
 * target.c: the process memwatch watches, launched as its child or attached
 * to by PID.  A pidfd names it for the whole run, so a reused PID is never
 * watched or signalled by mistake.  Where there are no pidfds, a launched
 * child, unreaped, keeps its PID anyway, and an attached process's /proc
 * files, opened once, never follow its PID to another process.
 */

#include "config.h"

#include <sys/pidfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "memwatch.h"

static int	 killed_by;	/* the signal that killed the launched child */

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
 * Whether /proc/PID/status says that pid is a process with memory to
 * watch.  Return 0 if so, or if the file cannot be read (opening
 * the probe says why); else an exit status after saying why not.
 */
static int
watchable(pid_t pid)
{
	char		 path[64], buf[8192];
	const char	*s;
	ssize_t		 n;
	int		 fd;
	long		 tgid;
	char		 state;

	(void)snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	(void)close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	if ((s = strstr(buf, "\nState:\t")) != NULL &&
	    sscanf(s, "\nState:\t%c", &state) == 1 &&
	    (state == 'Z' || state == 'X')) {
		warnx("pid %d: has exited, a zombie its parent has not "
		    "reaped: no memory left to watch", (int)pid);
		return EXIT_NO_PROCESS;
	}
	if ((s = strstr(buf, "\nTgid:\t")) != NULL &&
	    sscanf(s, "\nTgid:\t%ld", &tgid) == 1 && tgid != (long)pid) {
		warnx("pid %d: a thread of process %ld, not a process: "
		    "watch -p %ld", (int)pid, tgid, tgid);
		return EXIT_NO_PROCESS;
	}
	/* the memory lines come with the memory */
	if (strstr(buf, "\nVmSize:") == NULL) {
		warnx("pid %d: a kernel thread, which has no memory of its "
		    "own to watch", (int)pid);
		return EXIT_NO_PROCESS;
	}
	return 0;
}

/*
 * Attach to pid.  Return 0, or an exit status after saying why not.
 */
int
target_attach(struct target *t, pid_t pid)
{
	int	 status;

	memset(t, 0, sizeof(*t));
	t->pid = pid;
	if ((status = watchable(pid)) != 0)
		return status;
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
 * The child's side of target_spawn(), before it runs argv: in a process
 * group of its own, and rid of any signal sent to memwatch's group before
 * it left it, which reached memwatch too and is passed on from there.  It
 * is not killed with memwatch: an IPython whose memwatch the OOM killer
 * took keeps its session.
 */
static void
child_setup(void)
{
	const struct timespec	 now = { 0, 0 };
	sigset_t		 all;

	(void)setpgid(0, 0);
	(void)sigfillset(&all);
	while (sigtimedwait(&all, NULL, &now) > 0)
		continue;
}

/*
 * Fork a child to run argv, keeping memwatch's terminal and standard
 * streams, so it behaves as it would without memwatch, in a process group
 * of its own that holds the terminal's foreground if memwatch's did (see
 * signals.c).  It waits at a gate until target_exec(), so that what it
 * needs can be made ready for its PID first.  Return 0, or an exit status
 * after saying why not.
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
		/* both sides, so neither runs on before the child has moved */
		(void)setpgid(t->pid, t->pid);
		signals_foreground(t->pid);
		return 0;
	}

	(void)close(t->gate[1]);
	(void)close(t->report[0]);
	child_setup();
	/* the gate: the FIFO's path, if any, then end of file */
	while ((n = read(t->gate[0], fifo + len, sizeof(fifo) - 1 - len)) > 0)
		len += (size_t)n;
	if (n == -1)
		_exit(EXIT_INTERNAL);
	fifo[len] = '\0';
	/* without a FIFO of its own, never an outer memwatch's */
	if ((len > 0 ? setenv("MEMWATCH_FIFO", fifo, 1) :
	    unsetenv("MEMWATCH_FIFO")) == -1)
		_exit(EXIT_INTERNAL);
	/* undo what memwatch set for itself: exec keeps the mask */
	(void)sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
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
	if (WIFSIGNALED(t->status))
		killed_by = WTERMSIG(t->status);
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
 * Send sig to the target, with info if not NULL (a sigqueue(3) value), by
 * pidfd so never to a reused PID; without one, by PID, which a launched
 * child keeps until it is reaped.
 */
static int
send_signal(const struct target *t, int sig, siginfo_t *info)
{
	if (t->pidfd != -1)
		return pidfd_send_signal(t->pidfd, sig, info, 0);
	if (info != NULL)
		return (int)syscall(SYS_rt_sigqueueinfo, t->pid, sig, info);
	return kill(t->pid, sig);
}

/* Whether the target still exists, whatever /proc shows of it. */
bool
target_alive(const struct target *t)
{
	/* EPERM: there, but another user's */
	return send_signal(t, 0, NULL) == 0 || errno == EPERM;
}

/* Pass a signal on to the launched target, with info if not NULL. */
void
target_signal(const struct target *t, int sig, siginfo_t *info)
{
	if (send_signal(t, sig, info) == -1 && errno != ESRCH)
		warn("signal pid %d", (int)t->pid);
}

/*
 * memwatch is to exit with status.  If that is 128 + N for a command that
 * signal N killed, memwatch dies of signal N instead, as timeout(1) does,
 * so that its parent sees what it would have seen of the command: a shell
 * ends the loop that a Ctrl-C interrupted.  Return status.
 */
int
target_exit_as(int status)
{
	if (killed_by != 0 && status == 128 + killed_by)
		signals_die_at_exit(killed_by);
	return status;
}

/* The shell's convention: the exit code, or 128 + the signal that killed. */
int
target_exit_status(const struct target *t)
{
	if (WIFSIGNALED(t->status))
		return 128 + WTERMSIG(t->status);
	return WEXITSTATUS(t->status);
}
