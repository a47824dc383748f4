/*
 * alloc: a workload for the tests, with allocations of known size.  It runs
 * its arguments as a script of steps:
 *
 *	alloc N		map and touch N MiB, kept until "free"
 *	free		unmap the latest "alloc" still held
 *	spike N MS	map and touch N MiB, hold it MS milliseconds, unmap
 *	sleep MS	sleep MS milliseconds
 *	mark		SIGUSR1 to $MEMWATCH_PID, then wait until memwatch has
 *			taken it and gone back to sleep, so the boundary is
 *			known to lie between the steps before and after
 *	marker LABEL	the same through $MEMWATCH_FIFO, with a label
 *	pidfile F	write our PID to file F
 *	waitsig		wait for SIGUSR2
 *	usr1		SIGUSR1 to $MEMWATCH_PID, without waiting for it
 *	burst N		write markers "1" to "N" to $MEMWATCH_FIFO as fast as
 *			it takes them, without waiting for memwatch to cut
 *	pipesize N	make $MEMWATCH_FIFO's buffer N bytes
 *	fork N		fork a child that maps and touches N MiB and exits;
 *			wait for it
 *	threads N M MS	start N threads that each map and touch M MiB, hold
 *			it MS milliseconds, unmap and exit; wait for them
 *	stop		stop with SIGSTOP until sent SIGCONT
 *	die		die by SIGKILL
 *	exec STEP...	execute this program again with the steps after it
 *	grow N MS K	map and touch N MiB every MS milliseconds, K times,
 *			all kept (a steady rate; "alloc N" is one memset)
 *	noint		ignore SIGINT from here on
 *	signals F	catch every signal that can be caught, say "ready",
 *			and write the number of each one received to file F,
 *			a line each, until killed
 *	lines		say "ready", then echo each line of standard input as
 *			"got LINE" until its end
 *	cont		from here on, say "continued" on each SIGCONT (a test
 *			on a terminal then knows when the job runs again)
 *	graceful MS	shut down gracefully on SIGTERM: exit 0 after a
 *			clean-up of MS milliseconds, or 3 if a second SIGTERM
 *			comes during it, as programs that take it for "abort
 *			the clean-up" do
 *	workers N M MS	fork N children that each map and touch M MiB, hold
 *			it MS milliseconds and exit; go on at once
 *	reap		wait for every child still running
 *	child STEP...	fork a child that runs the steps after it; wait for
 *			it, say on stderr how it ended, and exit 0
 *	orphan M MS	fork a child that forks one holding M MiB for MS
 *			milliseconds, waits 300 ms (so that memwatch finds the
 *			grandchild while its parent lives) and exits; wait for
 *			the child, not the grandchild, which init takes
 *
 * Memory comes from mmap(2), not malloc, so nothing but the steps moves it.
 */

#include "config.h"

#include <sys/mman.h>
#include <sys/wait.h>

#include <err.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "settle.h"

#define MIB	(1024 * 1024)
#define HELD	64

static long
number(const char *s)
{
	const char	*errstr;
	long		 n;

	if (s == NULL)
		errx(2, "missing number");
	n = strtonum(s, 0, 1 << 20, &errstr);
	if (errstr != NULL)
		errx(2, "%s: %s", s, errstr);
	return n;
}

static void *
touch(size_t mib)
{
	char	*p;

	p = mmap(NULL, mib * MIB, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		err(1, "mmap %zu MiB", mib);
	memset(p, 1, mib * MIB);
	return p;
}

/* Cut a segment: by SIGUSR1 if label is NULL, else through the FIFO. */
static void
mark(const char *label)
{
	const char	*s = getenv("MEMWATCH_PID"), *fifo;
	pid_t		 pid;
	int		 fd = -1;

	if (s == NULL)
		errx(2, "mark: MEMWATCH_PID is not set");
	pid = (pid_t)number(s);
	if (label == NULL) {
		if (kill(pid, SIGUSR1) == -1)
			err(1, "kill %d", (int)pid);
	} else {
		if ((fifo = getenv("MEMWATCH_FIFO")) == NULL)
			errx(2, "marker: MEMWATCH_FIFO is not set");
		if ((fd = open(fifo, O_WRONLY | O_NONBLOCK)) == -1)
			err(1, "%s", fifo);
		if (dprintf(fd, "%s\n", label) < 0)
			err(1, "%s", fifo);
	}
	settle(pid, fd);
	if (fd != -1)
		(void)close(fd);
}

/* Open $MEMWATCH_FIFO for writing, blocking: memwatch reads it. */
static int
open_fifo(void)
{
	const char	*fifo;
	int		 fd;

	if ((fifo = getenv("MEMWATCH_FIFO")) == NULL)
		errx(2, "MEMWATCH_FIFO is not set");
	if ((fd = open(fifo, O_WRONLY)) == -1)
		err(1, "%s", fifo);
	return fd;
}

static void
burst(long n)
{
	char	 buf[PIPE_BUF];
	size_t	 len = 0;
	int	 fd = open_fifo();

	/* whole lines per write, at most PIPE_BUF bytes, as the protocol asks */
	for (long i = 1; i <= n; i++) {
		if (len > sizeof(buf) - 24) {
			if (write(fd, buf, len) != (ssize_t)len)
				err(1, "burst");
			len = 0;
		}
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%ld\n",
		    i);
	}
	if (len > 0 && write(fd, buf, len) != (ssize_t)len)
		err(1, "burst");
	(void)close(fd);
}

struct thread {
	pthread_t	 id;
	size_t		 mib;
	long		 ms;
};

static void *
thread_main(void *arg)
{
	struct thread	*t = arg;
	void		*p = touch(t->mib);

	sleep_ms(t->ms);
	(void)munmap(p, t->mib * MIB);
	return NULL;
}

static void
threads(long n, size_t mib, long ms)
{
	struct thread	*t;
	int		 error;

	if ((t = calloc((size_t)n, sizeof(*t))) == NULL)
		err(1, "calloc");
	for (long i = 0; i < n; i++) {
		t[i].mib = mib;
		t[i].ms = ms;
		if ((error = pthread_create(&t[i].id, NULL, thread_main,
		    &t[i])) != 0)
			errc(1, error, "pthread_create");
	}
	for (long i = 0; i < n; i++)
		(void)pthread_join(t[i].id, NULL);
	free(t);
}

static int	siglog = -1;
static volatile sig_atomic_t terms;

/* The signal's number on a line of its own, in one write(2). */
static void
log_signal(int sig)
{
	char	 buf[8];
	size_t	 i = sizeof(buf);

	buf[--i] = '\n';
	do
		buf[--i] = (char)('0' + sig % 10);
	while ((sig /= 10) > 0);
	(void)write(siglog, buf + i, sizeof(buf) - i);
}

static void
count_term(int sig)
{
	(void)sig;
	terms++;
}

/* Catch every signal with handler and unblock them all. */
static void
catch_all(void (*handler)(int))
{
	struct sigaction sa;
	sigset_t	 none;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = handler;
	sa.sa_flags = SA_RESTART;
	for (int sig = 1; sig < NSIG; sig++)
		(void)sigaction(sig, &sa, NULL);	/* KILL, STOP: refused */
	(void)sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
}

static void __dead2
log_signals(const char *path)
{
	if ((siglog = open(path, O_WRONLY | O_CREAT | O_APPEND | O_TRUNC,
	    0644)) == -1)
		err(2, "%s", path);
	catch_all(log_signal);
	printf("ready\n");
	(void)fflush(stdout);
	for (;;)
		(void)pause();
}

static void
say_continued(int sig)
{
	static const char msg[] = "continued\n";

	(void)sig;
	(void)write(STDOUT_FILENO, msg, sizeof(msg) - 1);
}

static void
lines(void)
{
	char	 line[256];

	printf("ready\n");
	(void)fflush(stdout);
	while (fgets(line, sizeof(line), stdin) != NULL) {
		printf("got %s", line);
		(void)fflush(stdout);
	}
}

static void __dead2
graceful(long ms)
{
	struct sigaction sa;
	sigset_t	 term, old;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = count_term;
	(void)sigaction(SIGTERM, &sa, NULL);
	(void)sigemptyset(&term);
	(void)sigaddset(&term, SIGTERM);
	(void)sigprocmask(SIG_BLOCK, &term, &old);
	(void)sigdelset(&old, SIGTERM);
	while (terms == 0)
		(void)sigsuspend(&old);
	(void)sigprocmask(SIG_SETMASK, &old, NULL);
	sleep_ms(ms);
	exit(terms > 1 ? 3 : 0);
}

/* A child that holds mib MiB for ms milliseconds, then exits. */
static pid_t
worker(size_t mib, long ms)
{
	pid_t	 pid;

	if ((pid = fork()) == -1)
		err(1, "fork");
	if (pid == 0) {
		if (mib > 0)
			(void)touch(mib);
		sleep_ms(ms);
		_exit(0);
	}
	return pid;
}

int
main(int argc, char *argv[])
{
	void		*held[HELD];
	size_t		 size[HELD];
	int		 nheld = 0, i, sig;
	sigset_t	 usr2;
	FILE		*fp;
	const char	*s;

	(void)sigemptyset(&usr2);
	(void)sigaddset(&usr2, SIGUSR2);
	(void)sigprocmask(SIG_BLOCK, &usr2, NULL);

	for (i = 1; i < argc; i++) {
		const char	*step = argv[i];

		if (strcmp(step, "alloc") == 0) {
			if (nheld == HELD)
				errx(2, "too many allocations held");
			size[nheld] = (size_t)number(argv[++i]);
			held[nheld] = touch(size[nheld]);
			nheld++;
		} else if (strcmp(step, "free") == 0) {
			if (nheld == 0)
				errx(2, "free: nothing held");
			nheld--;
			(void)munmap(held[nheld], size[nheld] * MIB);
		} else if (strcmp(step, "spike") == 0) {
			size_t	 mib = (size_t)number(argv[++i]);
			void	*p = touch(mib);

			sleep_ms(number(argv[++i]));
			(void)munmap(p, mib * MIB);
		} else if (strcmp(step, "sleep") == 0) {
			sleep_ms(number(argv[++i]));
		} else if (strcmp(step, "mark") == 0) {
			mark(NULL);
		} else if (strcmp(step, "marker") == 0) {
			if (argv[++i] == NULL)
				errx(2, "marker: missing label");
			mark(argv[i]);
		} else if (strcmp(step, "pidfile") == 0) {
			if (argv[++i] == NULL ||
			    (fp = fopen(argv[i], "w")) == NULL)
				err(2, "pidfile");
			fprintf(fp, "%d\n", (int)getpid());
			if (fclose(fp) == EOF)
				err(2, "pidfile");
		} else if (strcmp(step, "waitsig") == 0) {
			(void)sigwait(&usr2, &sig);
		} else if (strcmp(step, "usr1") == 0) {
			if ((s = getenv("MEMWATCH_PID")) == NULL)
				errx(2, "usr1: MEMWATCH_PID is not set");
			if (kill((pid_t)number(s), SIGUSR1) == -1)
				err(1, "kill %s", s);
		} else if (strcmp(step, "burst") == 0) {
			burst(number(argv[++i]));
		} else if (strcmp(step, "pipesize") == 0) {
			int	 fd = open_fifo();

			if (fcntl(fd, F_SETPIPE_SZ, (int)number(argv[++i])) ==
			    -1)
				err(1, "F_SETPIPE_SZ");
			(void)close(fd);
		} else if (strcmp(step, "fork") == 0) {
			size_t	 mib = (size_t)number(argv[++i]);
			pid_t	 pid;

			if ((pid = fork()) == -1)
				err(1, "fork");
			if (pid == 0) {
				(void)touch(mib);
				_exit(0);
			}
			if (waitpid(pid, NULL, 0) == -1)
				err(1, "waitpid");
		} else if (strcmp(step, "threads") == 0) {
			long	 n = number(argv[++i]);
			size_t	 mib = (size_t)number(argv[++i]);

			threads(n, mib, number(argv[++i]));
		} else if (strcmp(step, "workers") == 0) {
			long	 n = number(argv[++i]);
			size_t	 mib = (size_t)number(argv[++i]);
			long	 ms = number(argv[++i]);

			while (n-- > 0)
				(void)worker(mib, ms);
		} else if (strcmp(step, "child") == 0) {
			pid_t	 pid;
			int	 status;

			if ((pid = fork()) == -1)
				err(1, "fork");
			if (pid == 0)
				continue;	/* the child runs the rest */
			if (waitpid(pid, &status, 0) == -1)
				err(1, "waitpid");
			if (WIFSIGNALED(status))
				warnx("child %d: killed by signal %d",
				    (int)pid, WTERMSIG(status));
			else
				warnx("child %d: exit %d", (int)pid,
				    WEXITSTATUS(status));
			return 0;
		} else if (strcmp(step, "reap") == 0) {
			while (wait(NULL) != -1)
				continue;
		} else if (strcmp(step, "orphan") == 0) {
			size_t	 mib = (size_t)number(argv[++i]);
			long	 ms = number(argv[++i]);
			pid_t	 pid;

			if ((pid = fork()) == -1)
				err(1, "fork");
			if (pid == 0) {
				(void)worker(mib, ms);
				sleep_ms(300);
				_exit(0);
			}
			if (waitpid(pid, NULL, 0) == -1)
				err(1, "waitpid");
		} else if (strcmp(step, "stop") == 0) {
			(void)raise(SIGSTOP);
		} else if (strcmp(step, "die") == 0) {
			(void)raise(SIGKILL);
		} else if (strcmp(step, "grow") == 0) {
			size_t	 mib = (size_t)number(argv[++i]);
			long	 ms = number(argv[++i]);

			for (long k = number(argv[++i]); k > 0; k--) {
				(void)touch(mib);
				sleep_ms(ms);
			}
		} else if (strcmp(step, "noint") == 0) {
			(void)signal(SIGINT, SIG_IGN);
		} else if (strcmp(step, "signals") == 0) {
			if (argv[++i] == NULL)
				errx(2, "signals: missing file");
			log_signals(argv[i]);
		} else if (strcmp(step, "lines") == 0) {
			lines();
		} else if (strcmp(step, "cont") == 0) {
			struct sigaction sa;

			memset(&sa, 0, sizeof(sa));
			sa.sa_handler = say_continued;
			sa.sa_flags = SA_RESTART;
			(void)sigaction(SIGCONT, &sa, NULL);
		} else if (strcmp(step, "graceful") == 0) {
			graceful(number(argv[++i]));
		} else if (strcmp(step, "exec") == 0) {
			argv[i] = argv[0];
			execv("/proc/self/exe", argv + i);
			err(1, "exec");
		} else
			errx(2, "unknown step: %s", step);
	}
	return 0;
}
