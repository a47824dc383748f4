/*
 * spikes: a workload of short memory peaks, for the peak benchmark.
 *
 *	spikes count mib file
 *
 * It makes count spikes: map and touch mib MiB, hold them 1 to 5 ms (spike
 * i holds 1 + i % 5 ms), unmap them, then idle 20 ms.  Under memwatch
 * ($MEMWATCH_PID set) a SIGUSR1 before each spike and one after the last
 * put every spike in a segment of its own; each mark waits until memwatch
 * has taken the signal (tests/settle.c).  Memory comes from mmap(2),
 * so nothing but the spikes moves it, in huge pages where the kernel has
 * them (MADV_HUGEPAGE), so that a spike takes milliseconds to build, not
 * the hundreds that 16384 page faults take on a virtual machine.  file
 * gets one CSV row per spike:
 *
 *	spike,hold_ms,start_s,full_s,end_s
 *
 * with CLOCK_REALTIME seconds (the clock mprof stamps its samples with) at
 * the mmap, once all pages are touched, and after the munmap.
 */

#include "config.h"

#include <sys/mman.h>

#include <err.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "settle.h"

#define MIB	(1024 * 1024)
#define IDLE_MS	20

static void __dead2
usage(void)
{
	fprintf(stderr, "usage: spikes count mib file\n");
	exit(2);
}

/* Return CLOCK_REALTIME in seconds. */
static double
now_s(void)
{
	struct timespec	 ts;

	(void)clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* SIGUSR1 to memwatch (pid 0: none), then wait until it has taken it. */
static void
mark(pid_t pid)
{
	if (pid == 0)
		return;
	if (kill(pid, SIGUSR1) == -1)
		err(1, "kill %d", (int)pid);
	settle(pid, -1);
}

int
main(int argc, char *argv[])
{
	const char	*errstr, *s;
	double		 start, full;
	FILE		*fp;
	size_t		 size;
	pid_t		 memwatch = 0;
	char		*p;
	int		 count, hold;

	if (argc != 4)
		usage();
	count = (int)strtonum(argv[1], 1, 100000, &errstr);
	if (errstr != NULL)
		errx(2, "count %s: %s", argv[1], errstr);
	size = (size_t)strtonum(argv[2], 1, 1 << 20, &errstr) * MIB;
	if (errstr != NULL)
		errx(2, "mib %s: %s", argv[2], errstr);
	if ((s = getenv("MEMWATCH_PID")) != NULL) {
		memwatch = (pid_t)strtonum(s, 1, INT32_MAX, &errstr);
		if (errstr != NULL)
			errx(2, "MEMWATCH_PID %s: %s", s, errstr);
	}
	if ((fp = fopen(argv[3], "w")) == NULL)
		err(2, "%s", argv[3]);
	fprintf(fp, "spike,hold_ms,start_s,full_s,end_s\n");

	for (int i = 0; i < count; i++) {
		hold = 1 + i % 5;
		mark(memwatch);
		start = now_s();
		p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			err(1, "mmap");
		(void)madvise(p, size, MADV_HUGEPAGE);
		memset(p, 1, size);
		full = now_s();
		sleep_ms(hold);
		(void)munmap(p, size);
		fprintf(fp, "%d,%d,%.6f,%.6f,%.6f\n", i + 1, hold, start, full,
		    now_s());
		sleep_ms(IDLE_MS);
	}
	mark(memwatch);
	if (fclose(fp) == EOF)
		err(1, "%s", argv[3]);
	return 0;
}
