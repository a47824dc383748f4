/*
 * floor: the least a sampler can cost, to weigh memwatch against.
 *
 *	floor [-p pid] [-t file] interval_us ticks
 *
 * It wakes on a timerfd every interval_us microseconds until ticks have
 * passed, on an absolute schedule as memwatch does.  Alone it only waits on the
 * timer (the bare timer loop); with -p it also reads /proc/PID/statm with
 * one pread per tick and does nothing with it (the minimal sampler).  With
 * -t it keeps the time of each wakeup and writes them to file at the end,
 * one per line in seconds since the start, so the run itself writes nothing.
 * At exit it prints "ticks N late M" (M: expirations missed after a stall).
 */

#include "config.h"

#include <sys/timerfd.h>

#include <err.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NSEC_PER_SEC	1000000000LL

static void __dead2
usage(void)
{
	fprintf(stderr, "usage: floor [-p pid] [-t file] interval_us ticks\n");
	exit(2);
}

/* Return CLOCK_MONOTONIC in nanoseconds. */
static int64_t
now_ns(void)
{
	struct timespec	 ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec;
}

/* Return a timerfd firing every interval ns from start + interval on. */
static int
start_timer(int64_t start, int64_t interval)
{
	struct itimerspec	 its;
	int64_t			 first = start + interval;
	int			 fd;

	if ((fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK)) == -1)
		err(1, "timerfd");
	its.it_value.tv_sec = first / NSEC_PER_SEC;
	its.it_value.tv_nsec = first % NSEC_PER_SEC;
	its.it_interval.tv_sec = interval / NSEC_PER_SEC;
	its.it_interval.tv_nsec = interval % NSEC_PER_SEC;
	if (timerfd_settime(fd, TFD_TIMER_ABSTIME, &its, NULL) == -1)
		err(1, "timerfd_settime");
	return fd;
}

/* Return an fd of /proc/pid/statm. */
static int
open_statm(const char *pid)
{
	char	 path[64];
	int	 fd;

	(void)snprintf(path, sizeof(path), "/proc/%s/statm", pid);
	if ((fd = open(path, O_RDONLY)) == -1)
		err(1, "%s", path);
	return fd;
}

/* Write n wakeup times to path; return 0, or -1 with errno set. */
static int
write_times(const char *path, const int64_t *t, uint64_t n)
{
	FILE	*fp;

	if ((fp = fopen(path, "w")) == NULL)
		return -1;
	for (uint64_t i = 0; i < n; i++)
		fprintf(fp, "%lld.%06lld\n", (long long)(t[i] / NSEC_PER_SEC),
		    (long long)(t[i] % NSEC_PER_SEC / 1000));
	return fclose(fp);
}

int
main(int argc, char *argv[])
{
	const char	*errstr, *pid = NULL, *times_path = NULL;
	struct pollfd	 pfd;
	int64_t		 interval, start, *times = NULL;
	uint64_t	 ticks = 0, late = 0, total, expirations;
	char		 buf[128];
	int		 ch, statm = -1;

	while ((ch = getopt(argc, argv, "p:t:")) != -1) {
		switch (ch) {
		case 'p':
			pid = optarg;
			break;
		case 't':
			times_path = optarg;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 2)
		usage();
	interval = strtonum(argv[0], 1, 1000000000, &errstr) * 1000;
	if (errstr != NULL)
		errx(2, "interval %s: %s", argv[0], errstr);
	total = (uint64_t)strtonum(argv[1], 1, 100000000, &errstr);
	if (errstr != NULL)
		errx(2, "ticks %s: %s", argv[1], errstr);

	if (pid != NULL)
		statm = open_statm(pid);
	/* allocated and touched now, so the loop never faults a page in */
	if (times_path != NULL) {
		if ((times = reallocarray(NULL, total + 1,
		    sizeof(*times))) == NULL)
			err(1, "malloc");
		memset(times, 0, (total + 1) * sizeof(*times));
	}
	start = now_ns();
	pfd.fd = start_timer(start, interval);
	pfd.events = POLLIN;
	while (ticks + late < total) {
		if (poll(&pfd, 1, -1) == -1)
			err(1, "poll");
		if (read(pfd.fd, &expirations, sizeof(expirations)) !=
		    sizeof(expirations))
			continue;
		if (times != NULL)
			times[ticks] = now_ns() - start;
		if (statm != -1 && pread(statm, buf, sizeof(buf), 0) == -1)
			err(1, "statm");
		ticks++;
		late += expirations - 1;
	}
	if (times != NULL && write_times(times_path, times, ticks) == -1)
		err(1, "%s", times_path);
	printf("ticks %llu late %llu\n", (unsigned long long)ticks,
	    (unsigned long long)late);
	return 0;
}
