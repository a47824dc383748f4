/*
 * fifo.c: the marker FIFO and the reply FIFO, in a directory of their own
 * named after the watched PID, inside a per-user directory:
 *
 *	$XDG_RUNTIME_DIR/memwatch-UID/PID/marker	(else $TMPDIR, else /tmp)
 *	$XDG_RUNTIME_DIR/memwatch-UID/PID/reply
 *
 * so that a program can find the FIFO of its own PID.  The base must be
 * trusted (trust.c); both directories below it must be ours and private;
 * anything else found at their paths is refused, never followed.  The PID
 * directory goes when memwatch exits.  A third FIFO, ack, answers
 * memwatch mark (mark.c).
 */

#include "config.h"

#include <sys/ioctl.h>
#include <sys/stat.h>

#include <dirent.h>
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

/*
 * Open the base directory: the first of $XDG_RUNTIME_DIR, $TMPDIR and /tmp
 * that is a directory and trusted (trust.c), so that root, given another
 * user's variables (su without -, sudo -E), never works in that user's
 * directories.  One that is refused is said.  Return its fd and copy its
 * path to base (PATH_MAX bytes), or return -1 after a warning that names
 * the FIFO's directory for pid when a call failed.
 */
static int
open_base(char *base, pid_t pid)
{
	static const char *const vars[] = { "XDG_RUNTIME_DIR", "TMPDIR", NULL };
	struct stat	 st;
	char		 bad[PATH_MAX], why[128];
	const char	*s;
	int		 fd;

	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
		s = vars[i] != NULL ? getenv(vars[i]) : "/tmp";
		if (s == NULL || s[0] != '/' || stat(s, &st) == -1 ||
		    !S_ISDIR(st.st_mode))
			continue;
		if ((fd = trust_path(s, TRUST_ALL, bad, why, sizeof(why))) != -1) {
			(void)strlcpy(base, s, PATH_MAX);
			return fd;
		}
		/* out of descriptors, say: no other base would do better */
		if (errno != EPERM) {
			warn("%s/memwatch-%u/%d", s, (unsigned int)geteuid(),
			    (int)pid);
			return -1;
		}
		if (vars[i] != NULL)
			warnx("%s: %s: $%s not used for the FIFO", bad, why,
			    vars[i]);
		else
			warnx("%s: %s: no FIFO", bad, why);
	}
	return -1;
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

/*
 * Remove every file in directory fd: the FIFOs, and what else memwatch
 * put there (the notebook's plot).  It is private: nobody else's are there.
 */
static void
empty_dir(int fd)
{
	/* what memwatch and the snippet make there, if it cannot be listed */
	static const char *const names[] = { "marker", "reply", "ack",
	    "limit", "limit.new", "plot.svg" };
	struct dirent	*e;
	DIR		*d;
	int		 dup_fd, removed;

	if ((dup_fd = dup(fd)) == -1 || (d = fdopendir(dup_fd)) == NULL) {
		if (dup_fd != -1)
			(void)close(dup_fd);
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			(void)unlinkat(fd, names[i], 0);
		return;
	}
	/* a directory read while emptied may skip entries: again until none */
	do {
		removed = 0;
		rewinddir(d);
		while ((e = readdir(d)) != NULL) {
			if (e->d_type != DT_DIR &&
			    unlinkat(fd, e->d_name, 0) == 0)
				removed++;
		}
	} while (removed > 0);
	(void)closedir(d);
}

/*
 * Open the per-user directory, made if create, and name the PID
 * directory's path in f.  Return its fd, or -1 after a warning.
 */
static int
open_user_dir(struct fifo *f, pid_t pid, bool create)
{
	char	 base[PATH_MAX], user[PATH_MAX], name[32];
	int	 basefd, fd;

	if ((basefd = open_base(base, pid)) == -1)
		return -1;
	(void)snprintf(name, sizeof(name), "memwatch-%u",
	    (unsigned int)geteuid());
	(void)snprintf(f->name, sizeof(f->name), "%d", (int)pid);
	if ((size_t)snprintf(user, sizeof(user), "%s/%s", base, name) >=
	    sizeof(user) ||
	    (size_t)snprintf(f->dir, sizeof(f->dir), "%s/%s", user,
	    f->name) >= sizeof(f->dir) ||
	    (size_t)snprintf(f->marker, sizeof(f->marker), "%s/marker",
	    f->dir) >= sizeof(f->marker)) {
		warnx("%s: path too long", base);
		(void)close(basefd);
		return -1;
	}
	fd = -1;
	if (create && mkdirat(basefd, name, 0700) == -1 && errno != EEXIST)
		warn("%s", user);
	else
		fd = open_private_dir(basefd, name, user);
	(void)close(basefd);
	return fd;
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
	empty_dir(fd);
	return fd;
}

/*
 * Create the FIFOs for pid and open the marker FIFO for reading.  It is
 * opened read-write, so writers may come and go without an end of file
 * that would wake poll(2) for ever.  Every step goes through directory
 * fds, and the PID directory is removed through its own at exit, so
 * nothing done to the paths during the run moves memwatch's work
 * elsewhere.
 * Return 0, or -1 after a warning.
 */
int
fifo_create(struct fifo *f, pid_t pid)
{
	int	 userfd;

	memset(f, 0, sizeof(*f));
	f->fd = f->dirfd = -1;
	if ((userfd = open_user_dir(f, pid, true)) == -1)
		return -1;
	f->dirfd = make_pid_dir(userfd, f->name, f->dir);
	(void)close(userfd);
	if (f->dirfd == -1)
		return -1;
	if (mkfifoat(f->dirfd, "marker", 0600) == -1 ||
	    mkfifoat(f->dirfd, "reply", 0600) == -1 ||
	    mkfifoat(f->dirfd, "ack", 0600) == -1 ||
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
 * Open the directory of the FIFOs of the memwatch that watches pid, for
 * memwatch mark, naming it in f.  Return its fd, or -1 after a warning.
 */
int
fifo_find(struct fifo *f, pid_t pid)
{
	int	 userfd, fd;

	memset(f, 0, sizeof(*f));
	f->fd = f->dirfd = -1;
	if ((userfd = open_user_dir(f, pid, false)) == -1)
		return -1;
	fd = open_private_dir(userfd, f->name, f->dir);
	(void)close(userfd);
	return fd;
}

/*
 * Tell a memwatch mark that waits (it holds the ack FIFO open) that the
 * marker line escaped as line has opened segment index.  Nothing is
 * written when no one waits.
 */
void
fifo_ack(const struct fifo *f, unsigned int index, const char *line)
{
	char	 buf[LABEL_MAX + 64];
	int	 fd, len;

	if (f->dirfd == -1 || (fd = openat(f->dirfd, "ack", O_WRONLY |
	    O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return;
	len = snprintf(buf, sizeof(buf), "segment=%u\tline=%s\n", index, line);
	(void)write(fd, buf, (size_t)len);
	(void)close(fd);
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

/* Say, once each, that lines were dropped since the counts given. */
static void
say_dropped(const struct fifo *f, uint64_t refused, uint64_t unfinished)
{
	if (refused == 0 && f->lines.refused > 0)
		warnx("%s: line longer than %d bytes ignored (said once)",
		    f->marker, PIPE_BUF);
	if (unfinished == 0 && f->lines.unfinished > 0)
		warnx("%s: unfinished line ignored: no newline came (said "
		    "once)", f->marker);
}

/*
 * Read at most max bytes of marker lines, and call fn for each complete
 * line.  Once the FIFO is found empty, an unfinished line's writer has
 * MARKER_UNFINISHED_NS to go on (marker.c).  Say once that lines were
 * dropped.
 */
void
fifo_read_lines(struct fifo *f, size_t max, marker_fn *fn, void *arg)
{
	char	 buf[PIPE_BUF];
	ssize_t	 n = 0;
	uint64_t refused = f->lines.refused;
	uint64_t unfinished = f->lines.unfinished;

	while (max > 0 && (n = read(f->fd, buf, max < sizeof(buf) ?
	    max : sizeof(buf))) > 0) {
		marker_feed(&f->lines, buf, (size_t)n, now_ns(), fn, arg);
		max -= (size_t)n;
	}
	if (n == -1 && errno == EAGAIN)
		marker_dry(&f->lines, now_ns());
	say_dropped(f, refused, unfinished);
}

/*
 * At the end of the run, take every line written before it: a target may
 * write many and die at once.  Only what is there now, since another
 * writer may go on for ever.  A line still unfinished then is dropped.
 */
void
fifo_drain_lines(struct fifo *f, marker_fn *fn, void *arg)
{
	int	 n;

	if (f->fd != -1 && ioctl(f->fd, FIONREAD, &n) == 0 && n > 0)
		fifo_read_lines(f, (size_t)n, fn, arg);
	if (marker_end(&f->lines))
		say_dropped(f, f->lines.refused, 0);
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

/*
 * Remove the FIFOs and their directory, through the directory fds: the
 * entry removed is the directory made, whatever was done to the paths.
 * Safe to call more than once.
 */
void
fifo_remove(struct fifo *f)
{
	struct stat	 made_st, now_st;
	int		 parent;

	if (f->dirfd == -1)
		return;
	/* first, so that there are descriptors free for what follows */
	if (f->fd != -1)
		(void)close(f->fd);
	f->fd = -1;
	empty_dir(f->dirfd);
	/* its parent now, wherever it was moved: ours, and private */
	if ((parent = openat(f->dirfd, "..", O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) != -1 && fstat(f->dirfd, &made_st) == 0) {
		if (fstatat(parent, f->name, &now_st, AT_SYMLINK_NOFOLLOW) ==
		    -1 || made_st.st_dev != now_st.st_dev ||
		    made_st.st_ino != now_st.st_ino)
			warnx("%s: replaced during the run: left alone", f->dir);
		else if (unlinkat(parent, f->name, AT_REMOVEDIR) == -1)
			warn("%s", f->dir);
	}
	if (parent == -1)
		warn("%s: left behind", f->dir);
	else
		(void)close(parent);
	(void)close(f->dirfd);
	f->dirfd = -1;
}
