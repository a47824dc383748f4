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

/* long options without a letter */
enum { OPT_NO_CHILDREN = 256, OPT_NO_RESET, OPT_PSS };

static const struct option longopts[] = {
	{ "help",	no_argument,		NULL,	'h' },
	{ "interval",	required_argument,	NULL,	'i' },
	{ "no-children", no_argument,		NULL,	OPT_NO_CHILDREN },
	{ "no-reset",	no_argument,		NULL,	OPT_NO_RESET },
	{ "output",	required_argument,	NULL,	'o' },
	{ "pid",	required_argument,	NULL,	'p' },
	{ "processes",	required_argument,	NULL,	'P' },
	{ "pss",	no_argument,		NULL,	OPT_PSS },
	{ "quiet",	no_argument,		NULL,	'q' },
	{ "segments",	required_argument,	NULL,	's' },
	{ "version",	no_argument,		NULL,	'V' },
	{ NULL,		0,			NULL,	0 }
};

static void
print_usage(FILE *fp)
{
	fprintf(fp,
	    "usage: %s [-q] [-i interval] [-o file] [-s file] [-P file] "
	    "[options] [--] command [arg ...]\n"
	    "       %s [-q] [-i interval] [-o file] [-s file] [-P file] "
	    "[options] -p pid\n",
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
	    "Watch the resident memory (RSS) of a command and everything it\n"
	    "starts, or of process pid and its descendants, and cut the run\n"
	    "into segments on SIGUSR1 or marker lines.\n"
	    "\n"
	    "  -i, --interval=T   sample every T: 0.1, 250us, 10ms, 2s "
	    "(default 100ms)\n"
	    "  -o, --output=FILE  samples as CSV; - for standard output\n"
	    "  -s, --segments=FILE  segments as CSV; - for standard output\n"
	    "  -P, --processes=FILE  a row per process per sample, as CSV\n"
	    "  -p, --pid=PID      attach to a running process\n"
	    "      --no-children  the process alone, not its descendants\n"
	    "      --pss          proportional set size too (at most 1/s)\n"
	    "      --no-reset     never reset high-water marks (peaks sampled)\n"
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
 * Open the tree of the target; return 0 or an exit status that says
 * whether the process is gone, cannot be read, or memwatch itself failed
 * (out of file descriptors, say).
 */
static int
open_tree(struct watched *w, const struct options *opt)
{
	const struct target *t = &w->target;
	int		 error;

	/* gone since pidfd_open, the PID may be another's, and its files */
	if ((error = tree_open(&w->tree, t->pid, w->rootdir, opt->children,
	    !opt->leave_alone)) == 0 && !target_alive(t))
		error = ESRCH;
	if (error == 0)
		return 0;
	/* /proc mounted with hidepid=invisible hides others' processes */
	if (error == ENOENT && target_alive(t)) {
		warnx("/proc/%d: hidden from us, though the process exists "
		    "(/proc mounted with hidepid?)", (int)t->pid);
		return EXIT_DENIED;
	}
	errno = error;
	warn("/proc/%d", (int)t->pid);
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

/* Ask for output ops at path. */
static void
add_output(struct options *opt, const struct sink_ops *ops, const char *path)
{
	if (opt->noutputs == OUTPUTS_MAX)
		errx(EXIT_USAGE, "%s: too many outputs", path);
	opt->outputs[opt->noutputs].ops = ops;
	opt->outputs[opt->noutputs].path = path;
	opt->noutputs++;
}

/* Two outputs on standard output would interleave their rows. */
static void
check_outputs(const struct options *opt)
{
	int	 n = 0;

	for (size_t i = 0; i < opt->noutputs; i++)
		n += strcmp(opt->outputs[i].path, "-") == 0;
	if (n > 1)
		errx(EXIT_USAGE, "only one output can go to standard output");
}

/*
 * What the run watches, for titles and labels: the command, or the pid
 * attached to.  The pid of a command is set once it runs.
 */
static void
describe(struct run_info *info, const struct options *opt)
{
	static char	 command[256];

	info->pid = opt->pid;
	info->self = getpid();
	info->pss = opt->pss;
	if (opt->argv == NULL) {
		(void)snprintf(command, sizeof(command), "pid %d",
		    (int)opt->pid);
	} else {
		command[0] = '\0';
		for (char **a = opt->argv; *a != NULL; a++) {
			if (a != opt->argv)
				(void)strlcat(command, " ", sizeof(command));
			(void)strlcat(command, *a, sizeof(command));
		}
	}
	info->command = command;
}

int
main(int argc, char *argv[])
{
	/* static: the exit handler that removes the FIFO runs after main */
	static struct watched w;
	static struct options opt;
	static struct run_info info;	/* the sinks keep it */
	const char	*errstr;
	char		 buf[32];
	int		 ch, status;

	keep_std_fds();
	/* getopt's messages name argv[0]; err(3)'s the name alone */
	argv[0] = (char *)getprogname();
	opt.interval_ns = INTERVAL_DEFAULT;
	opt.children = true;

	while ((ch = getopt_long(argc, argv, "+hi:o:P:p:qs:V", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case OPT_NO_CHILDREN:
			opt.children = false;
			break;
		case OPT_NO_RESET:
			opt.leave_alone = true;
			break;
		case OPT_PSS:
			opt.pss = true;
			break;
		case 'P':
			add_output(&opt, &sink_processes, optarg);
			break;
		case 'h':
			help();
		case 'i':
			if (parse_duration(optarg, &opt.interval_ns,
			    &errstr) == -1)
				errx(EXIT_USAGE, "interval %s: %s", optarg,
				    errstr);
			if (opt.interval_ns < INTERVAL_MIN)
				errx(EXIT_USAGE, "interval %s: below the "
				    "minimum of 100us", optarg);
			if (opt.interval_ns > INTERVAL_MAX)
				errx(EXIT_USAGE, "interval %s: above the "
				    "maximum of 1 hour", optarg);
			break;
		case 'o':
			add_output(&opt, &sink_samples, optarg);
			break;
		case 'p':
			/* strtonum would take " 12" and "+12" too */
			if (optarg[0] == '\0' ||
			    optarg[strspn(optarg, "0123456789")] != '\0')
				errstr = "not a number";
			else
				opt.pid = (pid_t)strtonum(optarg, 1, INT_MAX,
				    &errstr);
			if (errstr != NULL)
				errx(EXIT_USAGE, "pid '%s': %s", optarg,
				    errstr);
			break;
		case 'q':
			opt.quiet = true;
			break;
		case 's':
			add_output(&opt, &sink_segments, optarg);
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

	if (opt.pid != 0 && argc > 0) {
		warnx("give either -p pid or a command, not both");
		usage();
	}
	if (opt.pid == 0 && argc == 0) {
		warnx("no command to run and no -p pid");
		usage();
	}
	opt.argv = argc > 0 ? argv : NULL;
	check_outputs(&opt);

	if ((status = proc_open_root()) != 0) {
		errno = status;
		err(EXIT_DENIED, "/proc");
	}
	tree_more_fds();
	if ((w.sigfd = signals_open()) == -1)
		err(EXIT_INTERNAL, "signalfd");
	/* made before the target runs: failing later would orphan it */
	if ((w.timerfd = timerfd_create(CLOCK_MONOTONIC,
	    TFD_NONBLOCK | TFD_CLOEXEC)) == -1)
		err(EXIT_INTERNAL, "timerfd");
	w.fifo.fd = w.fifo.dirfd = -1;
	w.rootdir = -1;
	if (opt.pid != 0) {
		/* an attach fails before any output file is touched */
		if ((status = target_attach(&w.target, opt.pid)) != 0 ||
		    (status = open_tree(&w, &opt)) != 0)
			return status;
	}
	describe(&info, &opt);
	if ((status = sinks_open(opt.outputs, opt.noutputs, &info)) != 0)
		return status;
	if (opt.pid != 0) {
		/* without the FIFO, SIGUSR1 still cuts segments */
		(void)fifo_create(&w.fifo, opt.pid);
		if (!opt.quiet) {
			fprintf(stderr, "memwatch: watching pid %d\n",
			    (int)opt.pid);
			ipython_hint(opt.pid);
		}
	} else {
		(void)snprintf(buf, sizeof(buf), "%d", (int)getpid());
		if (setenv("MEMWATCH_PID", buf, 1) == -1 ||
		    ipython_inject() == -1)
			err(EXIT_INTERNAL, "setenv");
		if ((status = target_spawn(&w.target, opt.argv)) != 0)
			return status;
		info.pid = w.target.pid;
		/*
		 * Claimed before it runs, so that a memwatch watching this one
		 * and its children does not take the command's marks first.
		 */
		if ((w.rootdir = proc_open_pid(w.target.pid)) != -1)
			(void)proc_claim(w.rootdir, !opt.leave_alone);
		(void)fifo_create(&w.fifo, w.target.pid);
		if ((status = target_exec(&w.target, w.fifo.dirfd != -1 ?
		    w.fifo.marker : NULL, opt.argv[0])) != 0)
			return status;
		/* the child runs: from here on its status is ours to return */
		if ((status = open_tree(&w, &opt)) != 0) {
			(void)waitpid(w.target.pid, NULL, 0);
			return status;
		}
	}
	return target_exit_as(loop_run(&opt, &w));
}
