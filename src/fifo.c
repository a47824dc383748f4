/*
 * fifo.c: the marker FIFO and the reply FIFO, in a directory of their own
 * named after the watched PID, inside a per-user directory:
 *
 *	$XDG_RUNTIME_DIR/memwatch-UID/PID/marker	(else $TMPDIR, else /tmp)
 *	$XDG_RUNTIME_DIR/memwatch-UID/PID/reply
 *
 * so that a program can find the FIFO of its own PID.  Both directories
 * must be ours and private; anything else found at their paths is refused,
 * never followed.  The PID directory goes when memwatch exits.
 */

#include "config.h"

#include <sys/ioctl.h>
#include <sys/stat.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "memwatch.h"

static struct fifo *made;	/* for removal at exit */

static void
remove_at_exit(void)
{
	if (made != NULL)
		fifo_remove(made);
}

/* The first of $XDG_RUNTIME_DIR, $TMPDIR and /tmp that is a directory. */
static const char *
runtime_base(void)
{
	static const char *const vars[] = { "XDG_RUNTIME_DIR", "TMPDIR" };
	struct stat	 st;
	const char	*s;

	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
		if ((s = getenv(vars[i])) != NULL && s[0] == '/' &&
		    stat(s, &st) == 0 && S_ISDIR(st.st_mode))
			return s;
	}
	return "/tmp";
}

/*
 * Open directory name (relative to dirfd) without following a symlink and
 * check that it is ours and closed to others.  Return the fd, or -1 after
 * a warning naming path.
 */
static int
open_private_dir(int dirfd, const char *name, const char *path)
{
	struct stat	 st;
	int		 fd;

	if ((fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1) {
		warn("%s", path);
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		warn("%s", path);
	} else if (st.st_uid != geteuid()) {
		warnx("%s: owned by uid %u, not by us: refusing it", path,
		    (unsigned int)st.st_uid);
	} else if ((st.st_mode & 077) != 0) {
		warnx("%s: mode %04o lets others in: refusing it", path,
		    (unsigned int)(st.st_mode & 07777));
	} else
		return fd;
	(void)close(fd);
	return -1;
}

/* Remove what memwatch and the snippet make in the PID directory dirfd. */
static void
remove_files(int dirfd)
{
	static const char *const names[] = { "marker", "reply", "limit",
	    "limit.new" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		(void)unlinkat(dirfd, names[i], 0);
}

/*
 * Make the directory for pid.  One left by a memwatch that died is taken
 * over; one whose marker FIFO still has a reader belongs to a live
 * memwatch watching the same process.
 */
static int
make_pid_dir(int userfd, const char *name, const char *path)
{
	int	 fd, probe;

	if (mkdirat(userfd, name, 0700) == 0) {
		/* out of descriptors, say: leave nothing behind */
		if ((fd = open_private_dir(userfd, name, path)) == -1)
			(void)unlinkat(userfd, name, AT_REMOVEDIR);
		return fd;
	}
	if (errno != EEXIST) {
		warn("%s", path);
		return -1;
	}
	if ((fd = open_private_dir(userfd, name, path)) == -1)
		return -1;
	probe = openat(fd, "marker", O_WRONLY | O_NONBLOCK | O_NOFOLLOW |
	    O_CLOEXEC);
	if (probe != -1) {
		(void)close(probe);
		(void)close(fd);
		warnx("%s: in use by another memwatch", path);
		return -1;
	}
	remove_files(fd);
	return fd;
}

/*
 * Create the FIFOs for pid and open the marker FIFO for reading.  It is
 * opened read-write, so writers may come and go without an end of file
 * that would wake poll(2) for ever.  Return 0, or -1 after a warning.
 */
int
fifo_create(struct fifo *f, pid_t pid)
{
	char	 user[PATH_MAX], name[32];
	int	 userfd;

	memset(f, 0, sizeof(*f));
	f->fd = f->dirfd = -1;
	(void)snprintf(name, sizeof(name), "%d", (int)pid);
	if ((size_t)snprintf(user, sizeof(user), "%s/memwatch-%u",
	    runtime_base(), (unsigned int)geteuid()) >= sizeof(user) ||
	    (size_t)snprintf(f->dir, sizeof(f->dir), "%s/%s", user,
	    name) >= sizeof(f->dir) ||
	    (size_t)snprintf(f->marker, sizeof(f->marker), "%s/marker",
	    f->dir) >= sizeof(f->marker)) {
		warnx("%s: path too long", runtime_base());
		return -1;
	}
	if (mkdir(user, 0700) == -1 && errno != EEXIST) {
		warn("%s", user);
		return -1;
	}
	if ((userfd = open_private_dir(AT_FDCWD, user, user)) == -1)
		return -1;
	f->dirfd = make_pid_dir(userfd, name, f->dir);
	(void)close(userfd);
	if (f->dirfd == -1)
		return -1;
	if (mkfifoat(f->dirfd, "marker", 0600) == -1 ||
	    mkfifoat(f->dirfd, "reply", 0600) == -1 ||
	    (f->fd = openat(f->dirfd, "marker", O_RDWR | O_NONBLOCK |
	    O_NOFOLLOW | O_CLOEXEC)) == -1) {
		warn("%s", f->marker);
		fifo_remove(f);
		return -1;
	}
	/* every way out of memwatch goes through exit() or main's return */
	made = f;
	if (atexit(remove_at_exit) != 0)
		warnx("atexit: %s will be left behind", f->dir);
	return 0;
}

/*
 * Send a closed segment's row to whoever holds the reply FIFO open.
 * Return false if nobody does.  A reader that does not keep up loses rows
 * rather than stall the loop.
 */
bool
fifo_reply(const struct fifo *f, const char *row, size_t len)
{
	int	 fd;

	if (f->dirfd == -1)
		return false;
	if ((fd = openat(f->dirfd, "reply", O_WRONLY | O_NONBLOCK |
	    O_NOFOLLOW | O_CLOEXEC)) == -1)
		return false;
	(void)write(fd, row, len);
	(void)close(fd);
	return true;
}

/*
 * Read at most max bytes of marker lines, and call fn for each complete
 * line.  Say once that an overlong line was refused.
 */
void
fifo_read_lines(struct fifo *f, size_t max, marker_fn *fn, void *arg)
{
	char	 buf[PIPE_BUF];
	ssize_t	 n;
	uint64_t refused = f->lines.refused;

	while (max > 0 && (n = read(f->fd, buf, max < sizeof(buf) ?
	    max : sizeof(buf))) > 0) {
		marker_feed(&f->lines, buf, (size_t)n, fn, arg);
		max -= (size_t)n;
	}
	if (refused == 0 && f->lines.refused > 0)
		warnx("%s: line longer than %d bytes ignored (said once)",
		    f->marker, PIPE_BUF);
}

/*
 * At the end of the run, take every line written before it: a target may
 * write many and die at once.  Only what is there now, since another
 * writer may go on for ever.
 */
void
fifo_drain_lines(struct fifo *f, marker_fn *fn, void *arg)
{
	int	 n;

	if (f->fd != -1 && ioctl(f->fd, FIONREAD, &n) == 0 && n > 0)
		fifo_read_lines(f, (size_t)n, fn, arg);
}

/*
 * Take the file name that the IPython snippet left in the directory: its
 * first line, into buf (size bytes, NUL-terminated), and remove it.  Only
 * a regular file is read.  Return 0, ENOENT if there is none, or another
 * errno.
 */
int
fifo_take(const struct fifo *f, const char *name, char *buf, size_t size)
{
	struct stat	 st;
	ssize_t		 n;
	int		 fd, error = 0;

	if (f->dirfd == -1)
		return ENOENT;
	if ((fd = openat(f->dirfd, name, O_RDONLY | O_NONBLOCK | O_NOFOLLOW |
	    O_CLOEXEC)) == -1)
		return errno;
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode))
		error = EINVAL;
	else if ((n = read(fd, buf, size - 1)) == -1)
		error = errno;
	else {
		buf[n] = '\0';
		buf[strcspn(buf, "\n")] = '\0';
	}
	(void)close(fd);
	(void)unlinkat(f->dirfd, name, 0);
	return error;
}

/* Remove the FIFOs and their directory; safe to call more than once. */
void
fifo_remove(struct fifo *f)
{
	if (f->dirfd == -1)
		return;
	remove_files(f->dirfd);
	(void)close(f->dirfd);
	f->dirfd = -1;
	if (f->fd != -1)
		(void)close(f->fd);
	f->fd = -1;
	if (rmdir(f->dir) == -1 && errno != ENOENT)
		warn("%s", f->dir);
}
