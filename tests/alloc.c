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
 *
 * Memory comes from mmap(2), not malloc, so nothing but the steps moves it.
 */

#include "config.h"

#include <sys/ioctl.h>
#include <sys/mman.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MIB	(1024 * 1024)
#define HELD	64

static void
sleep_ms(long ms)
{
	struct timespec	 ts = { ms / 1000, (ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		continue;
}

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

/* True while SIGUSR1 is pending for pid or pid is not asleep. */
static int
busy(pid_t pid)
{
	char	 path[64], line[256];
	FILE	*fp;
	unsigned long long mask;
	char	 state;
	int	 busy = 0;

	(void)snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((fp = fopen(path, "r")) == NULL)
		err(1, "%s", path);
	while (fgets(line, sizeof(line), fp) != NULL) {
		if (sscanf(line, "State: %c", &state) == 1 && state != 'S')
			busy = 1;
		if ((sscanf(line, "SigPnd: %llx", &mask) == 1 ||
		    sscanf(line, "ShdPnd: %llx", &mask) == 1) &&
		    (mask & (1ULL << (SIGUSR1 - 1))))
			busy = 1;
	}
	fclose(fp);
	return busy;
}

/* True while the FIFO at fd holds bytes memwatch has not read. */
static int
unread(int fd)
{
	int	 n = 0;

	if (fd != -1 && ioctl(fd, FIONREAD, &n) == -1)
		err(1, "FIONREAD");
	return n > 0;
}

/* Cut a segment: by SIGUSR1 if label is NULL, else through the FIFO. */
static void
mark(const char *label)
{
	const char	*s = getenv("MEMWATCH_PID"), *fifo;
	pid_t		 pid;
	int		 tries, fd = -1;

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
	for (tries = 0; unread(fd) || busy(pid); tries++) {
		if (tries == 10000)
			errx(1, "mark: memwatch did not take the boundary");
		sleep_ms(1);
	}
	if (fd != -1)
		(void)close(fd);
}

int
main(int argc, char *argv[])
{
	void		*held[HELD];
	size_t		 size[HELD];
	int		 nheld = 0, i, sig;
	sigset_t	 usr2;
	FILE		*fp;

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
		} else
			errx(2, "unknown step: %s", step);
	}
	return 0;
}
