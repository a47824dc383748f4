/*
 * mark.c: memwatch mark, the marker for shell scripts.  It writes one line
 * to the marker FIFO of the memwatch that watches this process
 * ($MEMWATCH_FIFO) or process pid (-p), and by default waits until that
 * memwatch has taken the boundary, so that what runs next falls in the new
 * segment.  It never hangs: the FIFO is opened without waiting for a
 * reader, and every wait has a deadline.
 *
 * The answer comes on the ack FIFO beside the marker FIFO: memwatch writes
 * "segment=N<TAB>line=LABEL" to it for every marker line while someone
 * holds it open.  Waiters take turns through a lock on it, so that none
 * reads another's answer.
 */

#include "config.h"

#include <sys/file.h>
#include <sys/stat.h>
#include <sys/time.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "memwatch.h"

#define MARK_TIMEOUT	(5 * NSEC_PER_SEC)

struct mark {
	char	 path[PATH_MAX];	/* of the marker FIFO, for messages */
	int	 dirfd;		/* its directory */
	const char *name;	/* its name there */
	int	 fd;		/* the marker FIFO, written */
	int	 ack;		/* the ack FIFO, -1 when not waiting */
	int64_t	 deadline;	/* CLOCK_MONOTONIC, ns */
};

static const struct option mark_longopts[] = {
	{ "help",	no_argument,		NULL,	'h' },
	{ "no-wait",	no_argument,		NULL,	'n' },
	{ "pid",	required_argument,	NULL,	'p' },
	{ "timeout",	required_argument,	NULL,	't' },
	{ NULL,		0,			NULL,	0 }
};

static void __dead2
mark_usage(int status)
{
	fprintf(status == 0 ? stdout : stderr,
	    "usage: %s mark [-n] [-p pid] [-t timeout] [label ...]\n",
	    getprogname());
	exit(status);
}

/* Milliseconds left before the deadline, at least 0. */
static int
left_ms(const struct mark *m)
{
	int64_t	 left = m->deadline - now_ns();

	return left <= 0 ? 0 : (int)((left + 999999) / 1000000);
}

/*
 * Find the marker FIFO's directory: that of $MEMWATCH_FIFO, or of the
 * memwatch that watches pid.  Exit 123 if there is none, or if what is
 * at $MEMWATCH_FIFO is not a FIFO.
 */
static void
find_fifo(struct mark *m, pid_t pid)
{
	struct fifo	 f;
	struct stat	 st;
	const char	*env;
	char		 dir[PATH_MAX];

	if (pid != 0) {
		if ((m->dirfd = fifo_find(&f, pid)) == -1)
			errx(EXIT_NO_PROCESS, "no memwatch FIFO for pid %d",
			    (int)pid);
		(void)strlcpy(m->path, f.marker, sizeof(m->path));
		m->name = "marker";
		return;
	}
	if ((env = getenv("MEMWATCH_FIFO")) == NULL || env[0] == '\0')
		errx(EXIT_NO_PROCESS, "MEMWATCH_FIFO is not set: not run by "
		    "memwatch (or give -p pid)");
	if (strlcpy(m->path, env, sizeof(m->path)) >= sizeof(m->path) ||
	    *(m->name = path_split(m->path, dir)) == '\0')
		errx(EXIT_NO_PROCESS, "MEMWATCH_FIFO=%s: not a FIFO's path",
		    env);
	if ((m->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		err(errno == EACCES ? EXIT_DENIED : EXIT_NO_PROCESS, "%s", dir);
	/* looked at before it is opened: opening a device may do something */
	if (fstatat(m->dirfd, m->name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    !S_ISFIFO(st.st_mode))
		errx(EXIT_NO_PROCESS, "%s: not a FIFO", m->path);
}

/* Open the marker FIFO without waiting for a reader.  Exit if it fails. */
static void
open_marker(struct mark *m)
{
	struct stat	 st;

	if ((m->fd = openat(m->dirfd, m->name, O_WRONLY | O_NONBLOCK |
	    O_NOFOLLOW | O_CLOEXEC)) == -1) {
		if (errno == ENXIO)
			errx(EXIT_NO_PROCESS, "%s: no memwatch reads it "
			    "(it has ended)", m->path);
		err(errno == EACCES || errno == EPERM ? EXIT_DENIED :
		    errno == ENOENT ? EXIT_NO_PROCESS : EXIT_INTERNAL, "%s",
		    m->path);
	}
	if (fstat(m->fd, &st) == -1)
		err(EXIT_INTERNAL, "%s", m->path);
	if (!S_ISFIFO(st.st_mode))
		errx(EXIT_NO_PROCESS, "%s: not a FIFO", m->path);
}

static void
on_alarm(int sig)
{
	(void)sig;
}

/*
 * Open the ack FIFO, read-write so that memwatch's comings and goings
 * never show as an end of file, and take the waiters' lock on it, within
 * the deadline.  Exit 124 if the lock does not come in time.
 */
static void
open_ack(struct mark *m)
{
	struct sigaction sa;
	struct itimerval it;
	int64_t		 left = m->deadline - now_ns();
	char		 buf[PIPE_BUF];
	int		 r;

	if ((m->ack = openat(m->dirfd, "ack", O_RDWR | O_NONBLOCK |
	    O_NOFOLLOW | O_CLOEXEC)) == -1)
		err(errno == ENOENT ? EXIT_NO_PROCESS : EXIT_INTERNAL,
		    "%s: ack FIFO", m->path);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;	/* no SA_RESTART: flock returns EINTR */
	memset(&it, 0, sizeof(it));
	it.it_value.tv_sec = left / NSEC_PER_SEC;
	it.it_value.tv_usec = left % NSEC_PER_SEC / 1000 + 1;
	if (sigaction(SIGALRM, &sa, NULL) == -1 ||
	    setitimer(ITIMER_REAL, &it, NULL) == -1)
		err(EXIT_INTERNAL, "setitimer");
	r = flock(m->ack, LOCK_EX);
	memset(&it, 0, sizeof(it));
	(void)setitimer(ITIMER_REAL, &it, NULL);
	if (r == -1 && errno == EINTR)
		errx(EXIT_OUTPUT, "%s: other memwatch marks kept it busy",
		    m->path);
	if (r == -1)
		err(EXIT_INTERNAL, "%s: ack FIFO", m->path);
	/* answers to writers that did not wait, while a waiter held it */
	while (read(m->ack, buf, sizeof(buf)) > 0)
		continue;
}

/* Write the line, whole, within the deadline.  Exit if it cannot be. */
static void
send_line(struct mark *m, const char *line, size_t len)
{
	struct pollfd	 pfd = { .fd = m->fd, .events = POLLOUT };
	ssize_t		 n;

	/* at most PIPE_BUF bytes: all or nothing, never mixed with others */
	while ((n = write(m->fd, line, len)) == -1) {
		if (errno == EPIPE)
			errx(EXIT_NO_PROCESS, "%s: no memwatch reads it "
			    "(it has ended)", m->path);
		if (errno != EAGAIN && errno != EINTR)
			err(EXIT_INTERNAL, "%s", m->path);
		if (poll(&pfd, 1, left_ms(m)) == 0)
			errx(EXIT_OUTPUT, "%s: full: memwatch has not read "
			    "it in time", m->path);
	}
}

/* Whether the ack row (NUL-terminated, no newline) answers label. */
static bool
answers(char *row, const char *label)
{
	char	*field;

	while ((field = strsep(&row, "\t")) != NULL) {
		if (strncmp(field, "line=", 5) == 0)
			return strcmp(field + 5, label) == 0;
	}
	return false;
}

/*
 * Wait for the ack of label (escaped as memwatch escapes it).  Exit 123 if
 * memwatch goes first, 124 if the deadline does.
 */
static void
wait_ack(struct mark *m, const char *label)
{
	struct pollfd	 pfd[2] = {
		{ .fd = m->ack, .events = POLLIN },
		/* the marker's writing end shows POLLERR once memwatch is gone */
		{ .fd = m->fd, .events = 0 },
	};
	char		 buf[2 * LABEL_MAX + 64], *nl;
	size_t		 len = 0;
	ssize_t		 n;

	for (;;) {
		if (poll(pfd, 2, left_ms(m)) == 0)
			errx(EXIT_OUTPUT, "%s: no answer from memwatch in time; "
			    "the line was sent", m->path);
		if ((n = read(m->ack, buf + len, sizeof(buf) - 1 - len)) <= 0) {
			if (pfd[1].revents & (POLLERR | POLLHUP))
				errx(EXIT_NO_PROCESS, "%s: memwatch ended "
				    "before it took the line", m->path);
			continue;
		}
		len += (size_t)n;
		while ((nl = memchr(buf, '\n', len)) != NULL) {
			*nl = '\0';
			if (answers(buf, label))
				return;
			len -= (size_t)(nl + 1 - buf);
			memmove(buf, nl + 1, len);
		}
		if (len == sizeof(buf) - 1)
			len = 0;	/* not memwatch's: no row is so long */
	}
}

/*
 * memwatch mark [-n] [-p pid] [-t timeout] [label ...]: argv[0] is
 * "mark" (getopt's messages name memwatch, set by main()).  Return the
 * exit status: 0 once the boundary is taken (or sent, with -n), 123 when
 * no memwatch reads the FIFO, 124 when the FIFO stays full or no answer
 * comes in time; 122, 121 and 125 as memwatch's own.
 */
int
mark_main(int argc, char *argv[])
{
	struct mark	 m;
	char		 line[PIPE_BUF + 1], label[LABEL_MAX];
	const char	*errstr;
	int64_t		 timeout = MARK_TIMEOUT;
	size_t		 len = 0;
	pid_t		 pid = 0;
	bool		 wait = true;
	int		 ch;

	memset(&m, 0, sizeof(m));
	m.ack = -1;
	while ((ch = getopt_long(argc, argv, "+hnp:t:", mark_longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'h':
			mark_usage(0);
		case 'n':
			wait = false;
			break;
		case 'p':
			pid = (pid_t)strtonum(optarg, 1, INT_MAX, &errstr);
			if (errstr != NULL)
				errx(EXIT_USAGE, "pid %s: %s", optarg, errstr);
			break;
		case 't':
			if (parse_duration(optarg, &timeout, &errstr) == -1)
				errx(EXIT_USAGE, "timeout %s: %s", optarg,
				    errstr);
			break;
		default:
			mark_usage(EXIT_USAGE);
		}
	}
	argc -= optind;
	argv += optind;

	/* the words of the label, joined by spaces as echo joins them */
	for (int i = 0; i < argc; i++) {
		if (strchr(argv[i], '\n') != NULL)
			errx(EXIT_USAGE, "a label cannot hold a newline");
		if ((size_t)snprintf(line + len, sizeof(line) - len, "%s%s",
		    i > 0 ? " " : "", argv[i]) >= sizeof(line) - len)
			len = sizeof(line);
		else
			len += strlen(line + len);
		if (len >= PIPE_BUF)
			errx(EXIT_USAGE, "label longer than %d bytes",
			    PIPE_BUF - 1);
	}
	label_escape(line, len, label, sizeof(label));
	line[len++] = '\n';

	(void)signal(SIGPIPE, SIG_IGN);
	m.deadline = now_ns() + timeout;
	find_fifo(&m, pid);
	if (wait)
		open_ack(&m);
	open_marker(&m);
	send_line(&m, line, len);
	if (wait)
		wait_ack(&m, label);
	return 0;
}
