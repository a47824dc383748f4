/*
 * signals.c: the signals memwatch takes, and what becomes of them.
 *
 * Every signal that can be caught is blocked and read from a signalfd,
 * but those found ignored at the start: they stay ignored, for memwatch
 * and for the command (nohup's SIGHUP).
 *
 * A launched command runs in a process group of its own, which holds the
 * terminal's foreground when memwatch's group held it.  The terminal's
 * signals then reach the command's group alone, and a signal sent to
 * memwatch's group reaches memwatch alone; memwatch passes on each signal
 * it receives, once, so the command gets each signal once however it was
 * sent.  SIGKILL, which memwatch cannot pass on, reaches the command as
 * its parent-death signal (target.c).  For job control memwatch does what
 * a shell does: when the command stops, it takes the terminal back and
 * stops its own group as the terminal would have; when continued, it gives
 * the terminal back if its group was given it, and continues the command's
 * group.
 *
 * Attached, memwatch passes nothing on: a signal that would end it ends
 * the run, one that would stop it stops it.
 *
 * At exit memwatch takes the terminal back.  If the command died of the
 * terminal's SIGINT or SIGQUIT, memwatch sends it to the rest of its own
 * group, which the terminal would have reached without memwatch (a script
 * that ran it), and dies of the command's signal itself.
 */

#include "config.h"

#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "memwatch.h"

static int	 tty = -1;	/* the controlling terminal, if any */
static pid_t	 job;		/* the command's process group, given the terminal */
static int	 passed_stop;	/* a stop signal passed on to the command */
static sigset_t	 passed;	/* every signal passed on */
static int	 dying;		/* the signal to die of at exit */

/* What each signal does by default, of the classes that matter here. */
enum action { TERMINATE, STOP, IGNORE };

static enum action
default_action(int sig)
{
	switch (sig) {
	case SIGCHLD:
	case SIGCONT:
	case SIGURG:
	case SIGWINCH:
		return IGNORE;
	case SIGTSTP:
	case SIGTTIN:
	case SIGTTOU:
		return STOP;
	default:
		return TERMINATE;
	}
}

/*
 * At exit: the terminal back to memwatch's group if the command's had it,
 * and the command's death by a signal told to memwatch's parent.  The
 * other exit handlers (the FIFO's) have run: this one was registered
 * first.
 */
static void
at_exit(void)
{
	struct sigaction sa;
	sigset_t	 one;

	if (tty != -1 && tcgetpgrp(tty) == job) {
		(void)tcsetpgrp(tty, getpgrp());
		/* from the terminal, not through memwatch: group missed it */
		if ((dying == SIGINT || dying == SIGQUIT) &&
		    !sigismember(&passed, dying))
			(void)killpg(0, dying);
	}
	if (dying == 0)
		return;
	/* the command dumped its core if it did; memwatch's is of no use */
	(void)prctl(PR_SET_DUMPABLE, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	(void)sigaction(dying, &sa, NULL);
	(void)sigemptyset(&one);
	(void)sigaddset(&one, dying);
	(void)sigprocmask(SIG_UNBLOCK, &one, NULL);
	(void)raise(dying);
}

/* At exit, die of sig, as the command did. */
void
signals_die_at_exit(int sig)
{
	dying = sig;
}

/*
 * Block every signal memwatch handles and route them to a signalfd.
 * Return the fd, or -1 with errno.
 */
int
signals_open(void)
{
	struct sigaction sa;
	sigset_t	 set;

	(void)sigemptyset(&passed);
	if (atexit(at_exit) != 0)
		return -1;
	/* ignored, SIGCHLD would have the command reaped behind our back */
	(void)signal(SIGCHLD, SIG_DFL);
	(void)sigemptyset(&set);
	for (int sig = 1; sig < NSIG; sig++) {
		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		/* fails for the real-time signals glibc keeps for itself */
		if (sigaction(sig, NULL, &sa) == -1)
			continue;
		/* memwatch's own, ignored or not: SIGCONT continues anyway */
		if (sa.sa_handler == SIG_IGN && sig != SIGUSR1 &&
		    sig != SIGCONT)
			continue;
		(void)sigaddset(&set, sig);
	}
	if (sigprocmask(SIG_BLOCK, &set, NULL) == -1)
		return -1;
	return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

/*
 * The launched command runs in process group pgid: give it the terminal's
 * foreground if memwatch's group has it, and keep the terminal for job
 * control.  Without a controlling terminal there is nothing to do.
 */
void
signals_foreground(pid_t pgid)
{
	if ((tty = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC)) == -1)
		return;
	job = pgid;
	if (tcgetpgrp(tty) == getpgrp())
		(void)tcsetpgrp(tty, pgid);
}

/*
 * Stop memwatch with sig, as sig's default action would: alone, or with
 * the rest of its process group.  Return whether memwatch was stopped and
 * continued; a stop signal other than SIGSTOP is discarded in an orphaned
 * process group, with nobody to continue it.
 */
static bool
stop_self(int sig, bool group)
{
	sigset_t	 one, pending;

	(void)sigemptyset(&one);
	(void)sigaddset(&one, sig);
	if (group)
		(void)killpg(0, sig);
	else
		(void)kill(getpid(), sig);
	/* taken while unblocked: stopped here until continued */
	(void)sigprocmask(SIG_UNBLOCK, &one, NULL);
	(void)sigprocmask(SIG_BLOCK, &one, NULL);
	/* whoever continued memwatch sent the SIGCONT that waits for us */
	return sigpending(&pending) == 0 && sigismember(&pending, SIGCONT);
}

/*
 * memwatch was continued: give the terminal to the command if memwatch's
 * group was given it (fg), and continue the command's group.
 */
static void
resume(const struct target *t)
{
	if (tty != -1 && tcgetpgrp(tty) == getpgrp())
		(void)tcsetpgrp(tty, t->pid);
	(void)killpg(t->pid, SIGCONT);
}

/*
 * The command stopped with sig.  Stopped for job control (the terminal's
 * stop signals, or any while it holds the terminal), it takes memwatch
 * with it: the terminal comes back to memwatch's group, which stops as
 * the terminal would have stopped it, or memwatch alone stops if the stop
 * came through memwatch.  A SIGSTOP sent to the command alone in the
 * background stops it alone.  One that touched the terminal memwatch's
 * group holds has it handed over instead.
 */
static void
command_stopped(const struct target *t, int sig)
{
	bool	 held = tty != -1 && tcgetpgrp(tty) == t->pid;
	bool	 through = passed_stop == sig;

	passed_stop = 0;
	if (sig == SIGSTOP && !held)
		return;
	/* fg of a running job gives the terminal but sends no SIGCONT */
	if ((sig == SIGTTIN || sig == SIGTTOU) && tty != -1 &&
	    tcgetpgrp(tty) == getpgrp()) {
		resume(t);
		return;
	}
	if (held)
		(void)tcsetpgrp(tty, getpgrp());
	if (!stop_self(sig, !through))
		resume(t);
}

/* Follow the launched command's stops and continues since the last look. */
static void
watch_stops(struct target *t)
{
	siginfo_t	 si;

	for (;;) {
		si.si_pid = 0;
		if (waitid(P_PID, (id_t)t->pid, &si, WSTOPPED | WCONTINUED |
		    WNOHANG) == -1 || si.si_pid == 0)
			return;
		t->stopped = si.si_code == CLD_STOPPED;
		if (t->stopped)
			command_stopped(t, si.si_status);
	}
}

/*
 * Whether the kernel sent sig to memwatch for a system call of its own: a
 * write to a closed pipe, or past the file size limit.  That is memwatch's
 * business, shown as EPIPE or EFBIG, not the command's.
 */
static bool
own_signal(const struct signalfd_siginfo *si)
{
	return (si->ssi_signo == SIGPIPE || si->ssi_signo == SIGXFSZ) &&
	    si->ssi_code == SI_USER && (pid_t)si->ssi_pid == getpid();
}

/*
 * Pass the signal si on to the launched command, once: one queued with a
 * value (sigqueue(3)) keeps its value and sender.  A stopped command is
 * continued after a signal that ends it, as timeout(1) does, or it would
 * hold the signal, and memwatch, until someone else continued it.
 */
static void
pass_on(struct target *t, const struct signalfd_siginfo *si)
{
	siginfo_t	 info;
	int		 sig = (int)si->ssi_signo;

	(void)sigaddset(&passed, sig);
	if (sig == SIGCONT) {
		resume(t);
		return;
	}
	if (default_action(sig) == STOP) {
		passed_stop = sig;
		(void)killpg(t->pid, sig);
		return;
	}
	if (si->ssi_code == SI_QUEUE) {
		memset(&info, 0, sizeof(info));
		info.si_signo = sig;
		info.si_code = SI_QUEUE;
		info.si_pid = (pid_t)si->ssi_pid;
		info.si_uid = si->ssi_uid;
		info.si_value.sival_ptr = (void *)(uintptr_t)si->ssi_ptr;
		target_signal(t, sig, &info);
	} else
		target_signal(t, sig, NULL);
	/* a SIGCHLD not read yet may tell of a stop */
	watch_stops(t);
	if (t->stopped && default_action(sig) == TERMINATE)
		target_signal(t, SIGCONT, NULL);
}

/*
 * Read the next pending signal from sigfd; pass it on to a launched target
 * (exactly once), do job control; store what it means for the loop in
 * *ev.  Return 0, or -1 when none is pending.
 */
int
signals_next(int sigfd, struct target *t, enum signal_event *ev)
{
	struct signalfd_siginfo	 si;
	int			 sig;

	if (read(sigfd, &si, sizeof(si)) != sizeof(si))
		return -1;
	sig = (int)si.ssi_signo;
	*ev = SIGNAL_HANDLED;
	if (sig == SIGUSR1)
		*ev = SIGNAL_BOUNDARY;
	else if (sig == SIGCHLD) {
		if (t->launched) {
			watch_stops(t);
			if (t->pidfd == -1)
				*ev = SIGNAL_CHILD;
		}
	} else if (own_signal(&si))
		return 0;
	else if (t->launched)
		pass_on(t, &si);
	else if (default_action(sig) == TERMINATE)
		*ev = SIGNAL_STOP;
	else if (default_action(sig) == STOP)
		(void)stop_self(sig, false);
	return 0;
}
