/*
 * settle.c: waiting for memwatch to have taken a boundary, shared by the
 * workloads (tests/alloc.c, bench/spikes.c), so that a boundary is known to
 * lie between the steps before and after it.
 */

#include "config.h"

#include <sys/ioctl.h>

#include <err.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <time.h>

#include "settle.h"

void
sleep_ms(long ms)
{
	struct timespec	 ts = { ms / 1000, (ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		continue;
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

/* True while the FIFO at fd (-1: none) holds bytes memwatch has not read. */
static int
unread(int fd)
{
	int	 n = 0;

	if (fd != -1 && ioctl(fd, FIONREAD, &n) == -1)
		err(1, "FIONREAD");
	return n > 0;
}

/*
 * Wait until memwatch, pid, has read what was written to the FIFO at fd
 * (-1 for a SIGUSR1 instead), taken the signal, and gone back to sleep.
 */
void
settle(pid_t pid, int fd)
{
	int	 tries;

	for (tries = 0; unread(fd) || busy(pid); tries++) {
		if (tries == 10000)
			errx(1, "mark: memwatch did not take the boundary");
		sleep_ms(1);
	}
}
