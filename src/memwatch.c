/*
 * memwatch: watch the resident memory of a command or a running process,
 * cut the run into segments, and write what it saw as CSV.
 *
 * main() reads the command line, starts or attaches to the target, opens
 * the outputs and hands over to loop_run().
 */

#include "config.h"

#include <sys/timerfd.h>
#include <sys/wait.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "memwatch.h"

#define INTERVAL_DEFAULT	(100 * 1000000LL)	/* 100 ms */
#define INTERVAL_MIN		(100 * 1000LL)		/* 100 us */
#define INTERVAL_MAX		(3600 * NSEC_PER_SEC)

static const struct option longopts[] = {
	{ "help",	no_argument,		NULL,	'h' },
	{ "interval",	required_argument,	NULL,	'i' },
	{ "output",	required_argument,	NULL,	'o' },
	{ "pid",	required_argument,	NULL,	'p' },
	{ "quiet",	no_argument,		NULL,	'q' },
	{ "segments",	required_argument,	NULL,	's' },
	{ "version",	no_argument,		NULL,	'V' },
	{ NULL,		0,			NULL,	0 }
};

static void
print_usage(FILE *fp)
{
	fprintf(fp,
	    "usage: %s [-q] [-i interval] [-o file] [-s file] [--] command "
	    "[arg ...]\n"
	    "       %s [-q] [-i interval] [-o file] [-s file] -p pid\n",
	    getprogname(), getprogname());
}

static void __dead2
usage(void)
{
	print_usage(stderr);
	exit(EXIT_USAGE);
}

static void __dead2
help(void)
{
	print_usage(stdout);
	fputs("\n"
	    "Watch the resident memory (RSS) of a command, or of process pid,\n"
	    "and cut the run into segments on SIGUSR1.\n"
	    "\n"
	    "  -i, --interval=T   sample every T: 0.1, 250us, 10ms, 2s "
	    "(default 100ms)\n"
	    "  -o, --output=FILE  samples as CSV; - for standard output\n"
	    "  -s, --segments=FILE  segments as CSV; - for standard output\n"
	    "  -p, --pid=PID      attach to a running process\n"
	    "  -q, --quiet        no lines on standard error but warnings\n"
	    "  -h, --help         this help\n"
	    "  -V, --version      the version\n"
	    "\n"
	    "See memwatch(1) for the columns, the signals and the exit "
	    "statuses.\n", stdout);
	exit(0);
}

/*
 * With one of fds 0-2 closed, the first file memwatch opens would take its
 * number and receive stray output; fill the gaps with /dev/null.
 */
static void
keep_std_fds(void)
{
	for (int fd = 0; fd <= 2; fd++) {
		if (fcntl(fd, F_GETFD) == -1 && errno == EBADF &&
		    open("/dev/null", O_RDWR) != fd)
			exit(EXIT_INTERNAL);
	}
}

/*
 * Open the /proc files of the target; return 0 or an exit status that says
 * whether the process is gone, cannot be read, or memwatch itself failed
 * (out of file descriptors, say).
 */
static int
open_probe(struct run *r)
{
	int	 error;

	/* the pidfd still names it: the files opened are its own */
	if ((error = probe_open(&r->probe, r->target.pid)) == 0 &&
	    !target_alive(&r->target)) {
		probe_close(&r->probe);
		error = ESRCH;
	}
	if (error == 0)
		return 0;
	/* /proc mounted with hidepid=invisible hides others' processes */
	if (error == ENOENT && target_alive(&r->target)) {
		warnx("/proc/%d: hidden from us, though the process exists "
		    "(/proc mounted with hidepid?)", (int)r->target.pid);
		return EXIT_DENIED;
	}
	errno = error;
	warn("/proc/%d", (int)r->target.pid);
	switch (error) {
	case ENOENT:
	case ESRCH:
		return EXIT_NO_PROCESS;
	case EACCES:
	case EPERM:
		return EXIT_DENIED;
	default:
		return EXIT_INTERNAL;
	}
}

int
main(int argc, char *argv[])
{
	/* static: the exit handler that removes the FIFO runs after main */
	static struct run r;
	const char	*errstr, *samples = NULL, *segments = NULL;
	char		 buf[32];
	pid_t		 pid = 0;
	int		 ch, status;

	keep_std_fds();
	/* getopt's messages name argv[0]; err(3)'s the name alone */
	argv[0] = (char *)getprogname();
	memset(&r, 0, sizeof(r));
	r.interval_ns = INTERVAL_DEFAULT;

	while ((ch = getopt_long(argc, argv, "+hi:o:p:qs:V", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'h':
			help();
		case 'i':
			if (parse_duration(optarg, &r.interval_ns,
			    &errstr) == -1)
				errx(EXIT_USAGE, "interval %s: %s", optarg,
				    errstr);
			if (r.interval_ns < INTERVAL_MIN)
				errx(EXIT_USAGE, "interval %s: below the "
				    "minimum of 100us", optarg);
			if (r.interval_ns > INTERVAL_MAX)
				errx(EXIT_USAGE, "interval %s: above the "
				    "maximum of 1 hour", optarg);
			break;
		case 'o':
			samples = optarg;
			break;
		case 'p':
			/* strtonum would take " 12" and "+12" too */
			if (optarg[0] == '\0' ||
			    optarg[strspn(optarg, "0123456789")] != '\0')
				errstr = "not a number";
			else
				pid = (pid_t)strtonum(optarg, 1, INT_MAX,
				    &errstr);
			if (errstr != NULL)
				errx(EXIT_USAGE, "pid '%s': %s", optarg,
				    errstr);
			break;
		case 'q':
			r.quiet = true;
			break;
		case 's':
			segments = optarg;
			break;
		case 'V':
			puts(PACKAGE_STRING);
			exit(0);
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;

	if (pid != 0 && argc > 0) {
		warnx("give either -p pid or a command, not both");
		usage();
	}
	if (pid == 0 && argc == 0) {
		warnx("no command to run and no -p pid");
		usage();
	}
	if (samples != NULL && segments != NULL &&
	    strcmp(samples, "-") == 0 && strcmp(segments, "-") == 0)
		errx(EXIT_USAGE, "-o and -s cannot both write to standard "
		    "output");

	if ((r.sigfd = signals_open()) == -1)
		err(EXIT_INTERNAL, "signalfd");
	/* made before the target runs: failing later would orphan it */
	if ((r.timerfd = timerfd_create(CLOCK_MONOTONIC,
	    TFD_NONBLOCK | TFD_CLOEXEC)) == -1)
		err(EXIT_INTERNAL, "timerfd");
	r.fifo.fd = r.fifo.dirfd = -1;
	/* an attach fails before any output file is touched */
	if (pid != 0 && ((status = target_attach(&r.target, pid)) != 0 ||
	    (status = open_probe(&r)) != 0))
		return status;
	if (output_open(&r.samples, samples, "samples") != 0 ||
	    output_open(&r.segments, segments, "segments") != 0)
		return EXIT_OUTPUT;
	if (pid != 0) {
		/* without the FIFO, SIGUSR1 still cuts segments */
		(void)fifo_create(&r.fifo, pid);
		if (!r.quiet) {
			fprintf(stderr, "memwatch: watching pid %d\n",
			    (int)pid);
			ipython_hint(pid);
		}
	} else {
		(void)snprintf(buf, sizeof(buf), "%d", (int)getpid());
		if (setenv("MEMWATCH_PID", buf, 1) == -1 ||
		    ipython_inject() == -1)
			err(EXIT_INTERNAL, "setenv");
		if ((status = target_spawn(&r.target, argv)) != 0)
			return status;
		(void)fifo_create(&r.fifo, r.target.pid);
		if ((status = target_exec(&r.target, r.fifo.dirfd != -1 ?
		    r.fifo.marker : NULL, argv[0])) != 0)
			return status;
		/* the child runs: from here on its status is ours to return */
		if ((status = open_probe(&r)) != 0) {
			(void)waitpid(r.target.pid, NULL, 0);
			return status;
		}
	}
	return target_exit_as(loop_run(&r));
}
