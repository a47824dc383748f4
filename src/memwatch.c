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
#define LIMIT_INTERVAL		(1000000LL)		/* 1 ms near the limit */

/* long options without a letter */
enum { OPT_NO_CHILDREN = 256, OPT_NO_RESET, OPT_PSS, OPT_METRICS, OPT_PLOT,
	OPT_LIMIT, OPT_LIMIT_INTERVAL, OPT_LIMIT_KILL, OPT_LIMIT_SIGNAL };

static const struct option longopts[] = {
	{ "help",	no_argument,		NULL,	'h' },
	{ "interval",	required_argument,	NULL,	'i' },
	{ "limit",	required_argument,	NULL,	OPT_LIMIT },
	{ "limit-interval", required_argument,	NULL,	OPT_LIMIT_INTERVAL },
	{ "limit-kill",	required_argument,	NULL,	OPT_LIMIT_KILL },
	{ "limit-signal", required_argument,	NULL,	OPT_LIMIT_SIGNAL },
	{ "metrics",	required_argument,	NULL,	OPT_METRICS },
	{ "no-children", no_argument,		NULL,	OPT_NO_CHILDREN },
	{ "no-reset",	no_argument,		NULL,	OPT_NO_RESET },
	{ "output",	required_argument,	NULL,	'o' },
	{ "pid",	required_argument,	NULL,	'p' },
	{ "plot",	required_argument,	NULL,	OPT_PLOT },
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
	    "[options] -p pid\n"
	    "       %s mark [-n] [-p pid] [-t timeout] [label ...]\n",
	    getprogname(), getprogname(), getprogname());
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
	    "      --plot=FILE    an SVG picture of the run, kept up to date\n"
	    "      --metrics=FILE the run for Prometheus: a .prom file in\n"
	    "                     node_exporter's textfile directory\n"
	    "  -P, --processes=FILE  a row per process per sample, as CSV\n"
	    "  -p, --pid=PID      attach to a running process\n"
	    "      --no-children  the process alone, not its descendants\n"
	    "      --pss          proportional set size too (at most 1/s)\n"
	    "      --no-reset     never reset high-water marks (peaks sampled)\n"
	    "  -q, --quiet        no lines on standard error but warnings\n"
	    "      --limit=SIZE   interrupt the command when its memory passes "
	    "SIZE:\n"
	    "                     300M, 1.5G (K, M, G, T: powers of 1024), or "
	    "N% of what\n"
	    "                     it may use (its cgroup's limit, MEM_LIMIT, "
	    "MemTotal)\n"
	    "      --limit-signal=SIG  the signal sent at the limit (default "
	    "INT)\n"
	    "      --limit-interval=T  sample every T within 20% of the limit "
	    "(default 1ms)\n"
	    "      --limit-kill=SIZE   SIGKILL the largest process but the "
	    "command's\n"
	    "                     own when memory passes SIZE (default: "
	    "never)\n"
	    "  -h, --help         this help\n"
	    "  -V, --version      the version\n"
	    "\n"
	    "See memwatch(1) for the columns, the signals and the exit "
	    "statuses.\n", stdout);
	exit(0);
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

/*
 * The plot that %memwatch plot shows in IPython, beside the FIFOs: written
 * only while the snippet reads the reply FIFO.  Without it the run goes on.
 */
static void
add_notebook_plot(struct options *opt, const struct fifo *f,
    const struct run_info *info)
{
	static char	 path[PATH_MAX];
	struct sink	*k = &opt->outputs[opt->noutputs];

	if (f->dirfd == -1 || opt->noutputs == OUTPUTS_MAX ||
	    (size_t)snprintf(path, sizeof(path), "%s/plot.svg", f->dir) >=
	    sizeof(path))
		return;
	k->ops = &sink_notebook_plot;
	k->path = path;
	if (k->ops->open(k, info) == 0)
		opt->noutputs++;
}

/* Parse s, the value of option name, as a sampling interval, or exit. */
static int64_t
interval(const char *s, const char *name)
{
	const char	*errstr;
	int64_t		 ns;

	if (parse_duration(s, &ns, &errstr) == -1)
		errx(EXIT_USAGE, "%s %s: %s", name, s, errstr);
	if (ns < INTERVAL_MIN)
		errx(EXIT_USAGE, "%s %s: below the minimum of 100us", name, s);
	if (ns > INTERVAL_MAX)
		errx(EXIT_USAGE, "%s %s: above the maximum of 1 hour", name, s);
	return ns;
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
	uint64_t	 bytes;
	uint32_t	 ppm;
	int		 ch, status;

	outfile_std_fds();
	/* getopt's messages name argv[0]; err(3)'s the name alone */
	argv[0] = (char *)getprogname();
	/* "memwatch -- mark" runs a command called mark */
	if (argc > 1 && strcmp(argv[1], "mark") == 0) {
		argv[1] = argv[0];
		return mark_main(argc - 1, argv + 1);
	}
	opt.interval_ns = INTERVAL_DEFAULT;
	opt.children = true;
	opt.limit_signal = SIGINT;
	opt.limit_interval_ns = LIMIT_INTERVAL;

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
		case OPT_METRICS:
			add_output(&opt, &sink_metrics, optarg);
			break;
		case OPT_PLOT:
			add_output(&opt, &sink_plot, optarg);
			break;
		case 'P':
			add_output(&opt, &sink_processes, optarg);
			break;
		case 'h':
			help();
		case 'i':
			opt.interval_ns = interval(optarg, "interval");
			break;
		case OPT_LIMIT:
			/* checked now, resolved once the process is known */
			if (parse_limit(optarg, &bytes, &ppm, &errstr) == -1)
				errx(EXIT_USAGE, "limit %s: %s", optarg, errstr);
			opt.limit = optarg;
			break;
		case OPT_LIMIT_INTERVAL:
			opt.limit_interval_ns = interval(optarg,
			    "limit-interval");
			break;
		case OPT_LIMIT_KILL:
			if (parse_size(optarg, &opt.limit_kill, &errstr) == -1)
				errx(EXIT_USAGE, "limit-kill %s: %s", optarg,
				    errstr);
			break;
		case OPT_LIMIT_SIGNAL:
			if ((opt.limit_signal = parse_signal(optarg)) == 0)
				errx(EXIT_USAGE, "limit-signal %s: no such "
				    "signal", optarg);
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
	/* a launched command is in memwatch's cgroup until it moves */
	guard_init(&w.guard, opt.limit_kill, opt.limit_signal, opt.interval_ns,
	    opt.limit_interval_ns);
	if (opt.limit != NULL && (status = guard_limit(&w.guard, opt.limit,
	    opt.pid != 0 ? opt.pid : getpid(), opt.quiet)) != 0)
		return status;
	describe(&info, &opt);
	if ((status = sinks_open(opt.outputs, opt.noutputs, &info)) != 0)
		return status;
	if (opt.pid != 0) {
		/* without the FIFO, SIGUSR1 still cuts segments */
		(void)fifo_create(&w.fifo, opt.pid);
		add_notebook_plot(&opt, &w.fifo, &info);
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
		add_notebook_plot(&opt, &w.fifo, &info);
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
