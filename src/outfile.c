/*
 * outfile.c: one output file, streamed (the CSVs) or rewritten whole (the
 * plot, the metrics).
 *
 * Opening never waits and never takes what someone else planted: in a
 * sticky directory open to others (/tmp), a symbolic link, on the way or
 * at the end, is followed only if it is ours or the directory owner's, as
 * fs.protected_symlinks does (trust.c), and a file of another user is not
 * truncated, as fs.protected_regular does; a FIFO, socket or device is
 * written to only when asked for (see asked_for); a FIFO is opened without
 * waiting for its reader.  Two outputs on one file are refused by device
 * and inode, or by the entry a whole-file output renames over.
 *
 * Writing never blocks the loop: what a reader does not take yet waits in
 * a buffer of up to OUTFILE_MAX bytes.  A reader that falls further behind
 * loses the output from that row on, said at once and counted at the end,
 * and the run's status says so.  A write error disables the output with
 * one warning; the run itself goes on.
 */

#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "memwatch.h"

#define OUTFILE_CHUNK	(64 * 1024)	/* written once this much waits */
#define OUTFILE_DRAIN_MS 2000	/* at the end, to wait for a stalled reader */

/* for the same-file check */
static const struct outfile *opened[OUTPUTS_MAX];	/* streamed */
static size_t	 nopened;
static const char *claimed[OUTPUTS_MAX];	/* rewritten whole */
static size_t	 nclaimed;
static bool	 stdout_closed;	/* memwatch started without fd 1 */

/*
 * Fill the gaps among fds 0-2, with /dev/null, so that the first file
 * memwatch opens does not take their number and receive stray output.
 * Remember a closed standard output: "-" is then an output lost.
 */
void
outfile_std_fds(void)
{
	for (int fd = 0; fd <= 2; fd++) {
		if (fcntl(fd, F_GETFD) != -1 || errno != EBADF)
			continue;
		if (open("/dev/null", O_RDWR) != fd)
			exit(EXIT_INTERNAL);
		if (fd == 1)
			stdout_closed = true;
	}
}

/* Give up on o, and remember the loss for the exit status. */
static void
drop(struct outfile *o)
{
	if (o->fd != -1)
		(void)close(o->fd);
	o->fd = -1;
	o->len = 0;
	o->failed = true;
}

static void
fail(struct outfile *o)
{
	warn("%s", o->path);
	drop(o);
}

/* Whether st is /dev/null, where any number of outputs may go. */
static bool
is_null(const struct stat *st)
{
	return S_ISCHR(st->st_mode) && st->st_rdev == makedev(1, 3);
}

/*
 * Whether a FIFO, socket or device was asked for: named under /dev (as
 * /dev/stdout, /dev/fd/3, /dev/null), or the user's or root's own in a
 * directory that nobody else may change (trust.c).  Anything else may
 * have been planted by another user.
 */
static bool
asked_for(const char *path, const struct stat *st, const struct stat *dir)
{
	char	 why[128];

	if (strncmp(path, "/dev/", 5) == 0 ||
	    strncmp(path, "/proc/self/fd/", 14) == 0)
		return true;
	return (st->st_uid == 0 || st->st_uid == geteuid()) &&
	    trust_dir(dir, why, sizeof(why));
}

/* Say why the FIFO, socket or device at path is not written to. */
static void
refuse_special(const char *path, const struct stat *st)
{
	warnx("%s: a %s of uid %u, not asked for: refused (name it under "
	    "/dev, as /dev/stdout or /dev/fd/N, to write to it)", path,
	    S_ISFIFO(st->st_mode) ? "FIFO" : S_ISSOCK(st->st_mode) ?
	    "socket" : "device", (unsigned int)st->st_uid);
}

/*
 * Open path for writing, never waiting, refusing what may have been
 * planted for us (see the top of the file).  Return the fd, or -1 after a
 * warning.
 */
static int
open_safely(const char *path)
{
	char		 dir[PATH_MAX], bad[PATH_MAX], why[128];
	const char	*name = path_split(path, dir);
	struct stat	 dst, lst, st;
	int		 dirfd, fd, flags = O_WRONLY | O_NONBLOCK | O_CLOEXEC;

	/* its directory too reached by no other user's link in /tmp */
	if ((dirfd = trust_path(dir, TRUST_LINKS, bad, why,
	    sizeof(why))) == -1) {
		if (errno == EPERM)
			warnx("%s: %s: not followed", bad, why);
		else
			warnx("%s: %s", path, why);
		return -1;
	}
	if (fstat(dirfd, &dst) == -1) {
		warn("%s", path);
		(void)close(dirfd);
		return -1;
	}
	fd = -1;
	if (fstatat(dirfd, name, &lst, AT_SYMLINK_NOFOLLOW) == -1) {
		if (errno != ENOENT) {
			warn("%s", path);
			goto out;
		}
		/* nothing there: made here, never through a link put since */
		flags |= O_CREAT | O_NOFOLLOW;
	} else if (S_ISLNK(lst.st_mode) && trust_shared_sticky(&dst) &&
	    lst.st_uid != geteuid() && lst.st_uid != dst.st_uid) {
		warnx("%s: a symbolic link of uid %u in a sticky directory "
		    "open to others: not followed", path,
		    (unsigned int)lst.st_uid);
		goto out;
	} else if (fstatat(dirfd, name, &st, 0) == -1) {
		if (errno != ENOENT) {
			warn("%s", path);
			goto out;
		}
		flags |= O_CREAT;	/* through a link of ours */
	} else if (!S_ISREG(st.st_mode) && !asked_for(path, &st, &dst)) {
		/* never opened: opening a device may do something */
		refuse_special(path, &st);
		goto out;
	}
	if ((fd = openat(dirfd, name, flags, 0666)) == -1) {
		if (errno == ENXIO)
			warnx("%s: a FIFO that no process reads", path);
		else
			warn("%s", path);
		goto out;
	}
	if (fstat(fd, &st) == -1) {
		warn("%s", path);
	} else if (S_ISREG(st.st_mode)) {
		if (!trust_shared_sticky(&dst) || st.st_uid == geteuid() ||
		    st.st_uid == dst.st_uid)
			goto out;
		warnx("%s: owned by uid %u in a sticky directory open to "
		    "others: not truncated", path, (unsigned int)st.st_uid);
	} else if (asked_for(path, &st, &dst)) {
		goto out;
	} else
		refuse_special(path, &st);
	(void)close(fd);
	fd = -1;
out:
	(void)close(dirfd);
	return fd;
}

/*
 * Standard output, through a file description of memwatch's own where it
 * is a pipe, a FIFO or a terminal, so that making it non-blocking does
 * not make the command's own writes to it fail.  A regular file is shared
 * (its offset too: the command may write there as well); a socket is
 * written with MSG_DONTWAIT.  Return the fd, or -1 after a warning.
 */
static int
open_stdout(struct outfile *o)
{
	struct stat	 st;
	int		 fd;

	if (stdout_closed) {
		warnx("standard output: closed");
		return -1;
	}
	if (fstat(STDOUT_FILENO, &st) == -1) {
		warn("standard output");
		return -1;
	}
	o->socket = S_ISSOCK(st.st_mode);
	if (S_ISREG(st.st_mode) || o->socket ||
	    (fd = open("/proc/self/fd/1", O_WRONLY | O_NONBLOCK |
	    O_CLOEXEC)) == -1)
		fd = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
	if (fd == -1)
		warn("standard output");
	return fd;
}

/* Whether a whole-file output at path would replace the file of st. */
static bool
replaces(const char *path, const struct stat *st)
{
	struct stat	 lst;

	return lstat(path, &lst) == 0 && lst.st_dev == st->st_dev &&
	    lst.st_ino == st->st_ino;
}

/* Whether paths a and b are one entry: one directory, one name. */
static bool
same_entry(const char *a, const char *b)
{
	char		 da[PATH_MAX], db[PATH_MAX];
	const char	*na = path_split(a, da), *nb = path_split(b, db);
	struct stat	 sa, sb;

	return strcmp(na, nb) == 0 && stat(da, &sa) == 0 &&
	    stat(db, &sb) == 0 && sa.st_dev == sb.st_dev &&
	    sa.st_ino == sb.st_ino;
}

static int
say_same(const char *a, const char *b)
{
	warnx("%s and %s are the same file", a, b);
	return EXIT_USAGE;
}

/*
 * Refuse a second output on the file of o, st: another streamed one on
 * the same device and inode (any path, link or /dev/stdout beside -), or a
 * whole-file output whose rename would replace it.  Return 0 or
 * EXIT_USAGE.
 */
static int
check_same(const struct outfile *o, const struct stat *st)
{
	if (is_null(st))
		return 0;
	for (size_t i = 0; i < nopened; i++) {
		if (opened[i]->dev == st->st_dev &&
		    opened[i]->ino == st->st_ino)
			return say_same(opened[i]->path, o->path);
	}
	for (size_t i = 0; i < nclaimed; i++) {
		if (replaces(claimed[i], st))
			return say_same(claimed[i], o->path);
	}
	return 0;
}

/*
 * For a whole-file output (outfile_replace), called as it opens: refuse
 * path if another output has that file or entry (EXIT_USAGE), or if it is
 * not a regular file or a link, or another user's in a sticky directory,
 * or reached through another user's link there (EXIT_OUTPUT).  Return 0,
 * or the status after a warning.
 */
int
outfile_claim(const char *path)
{
	char		 dir[PATH_MAX], bad[PATH_MAX], why[128];
	struct stat	 st, dst;
	int		 fd;

	(void)path_split(path, dir);
	if ((fd = trust_path(dir, TRUST_LINKS, bad, why, sizeof(why))) ==
	    -1 && errno == EPERM) {
		warnx("%s: %s: not followed", bad, why);
		return EXIT_OUTPUT;
	}
	if (fd != -1)
		(void)close(fd);
	/* renamed over, a device or a FIFO would be gone, not written */
	if (lstat(path, &st) == 0 && !S_ISREG(st.st_mode) &&
	    !S_ISLNK(st.st_mode)) {
		warnx("%s: not a regular file: an output rewritten whole "
		    "would replace it", path);
		return EXIT_OUTPUT;
	}
	if (lstat(path, &st) == 0 && stat(dir, &dst) == 0 &&
	    trust_shared_sticky(&dst) && st.st_uid != geteuid() &&
	    st.st_uid != dst.st_uid) {
		warnx("%s: owned by uid %u in a sticky directory open to "
		    "others: not replaced", path, (unsigned int)st.st_uid);
		return EXIT_OUTPUT;
	}
	for (size_t i = 0; i < nopened; i++) {
		st.st_dev = opened[i]->dev;
		st.st_ino = opened[i]->ino;
		if (replaces(path, &st))
			return say_same(opened[i]->path, path);
	}
	for (size_t i = 0; i < nclaimed; i++) {
		if (same_entry(claimed[i], path))
			return say_same(claimed[i], path);
	}
	if (nclaimed < OUTPUTS_MAX)
		claimed[nclaimed++] = path;
	return 0;
}

/*
 * Open path ("-" for standard output, NULL for none).  Return 0, or an
 * exit status after a warning: EXIT_USAGE for a file another output has,
 * EXIT_OUTPUT for one that cannot be had.
 */
int
outfile_open(struct outfile *o, const char *path)
{
	struct stat	 st;
	int		 status;

	memset(o, 0, sizeof(*o));
	o->fd = -1;
	o->path = path;
	if (path == NULL)
		return 0;
	if (strcmp(path, "-") == 0) {
		o->path = "standard output";
		o->fd = open_stdout(o);
	} else
		o->fd = open_safely(path);
	if (o->fd == -1 || fstat(o->fd, &st) == -1) {
		if (o->fd != -1)
			warn("%s", o->path);
		drop(o);
		return EXIT_OUTPUT;
	}
	o->dev = st.st_dev;
	o->ino = st.st_ino;
	o->regular = S_ISREG(st.st_mode);
	if ((status = check_same(o, &st)) != 0) {
		drop(o);
		return status;
	}
	/* truncated only now that it is known to be ours alone */
	if (o->regular && strcmp(path, "-") != 0 && ftruncate(o->fd, 0) == -1) {
		fail(o);
		return EXIT_OUTPUT;
	}
	if ((o->buf = malloc(OUTFILE_CHUNK)) == NULL) {
		fail(o);
		return EXIT_INTERNAL;
	}
	o->size = OUTFILE_CHUNK;
	if (nopened < OUTPUTS_MAX)
		opened[nopened++] = o;
	return 0;
}

/*
 * Write what waits, as much as the file takes now.  Return false once the
 * output is lost.
 */
static bool
write_out(struct outfile *o)
{
	ssize_t	 n;
	size_t	 done = 0;

	while (done < o->len) {
		n = o->socket ? send(o->fd, o->buf + done, o->len - done,
		    MSG_DONTWAIT | MSG_NOSIGNAL) :
		    write(o->fd, o->buf + done, o->len - done);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			break;
		if (n == -1) {
			fail(o);
			return false;
		}
		done += (size_t)n;
		o->written += (uint64_t)n;
	}
	memmove(o->buf, o->buf + done, o->len - done);
	o->len -= done;
	return true;
}

/*
 * Make room for len more bytes, up to OUTFILE_MAX waiting.  Return false
 * if the reader is that far behind.
 */
static bool
make_room(struct outfile *o, size_t len)
{
	size_t	 size = o->size;
	char	*p;

	if (o->len + len <= o->size)
		return true;
	if (o->len + len > OUTFILE_MAX)
		return false;
	while (size < o->len + len)
		size *= 2;
	if (size > OUTFILE_MAX)
		size = OUTFILE_MAX;
	if ((p = realloc(o->buf, size)) == NULL)
		return false;
	o->buf = p;
	o->size = size;
	return true;
}

/*
 * Take len bytes of buf, one whole row (or a header's piece): it goes out
 * whole or not at all.  Once the reader is OUTFILE_MAX behind, the output
 * stops at a row's end; what still waits goes out as the reader takes it.
 */
void
outfile_write(struct outfile *o, const char *buf, size_t len)
{
	if (o->fd == -1)
		return;
	if (o->behind) {
		o->lost_rows++;
		o->lost_bytes += len;
		return;
	}
	if (o->len + len > OUTFILE_CHUNK && !write_out(o))
		return;
	if (!make_room(o, len)) {
		warnx("%s: the reader has not kept up (%zu bytes waiting): no "
		    "more rows are written to it", o->path, o->len);
		o->behind = o->failed = true;
		o->lost_rows++;
		o->lost_bytes += len;
		return;
	}
	memcpy(o->buf + o->len, buf, len);
	o->len += len;
}

/*
 * Write what waits, never waiting for the reader.  A file removed under
 * memwatch (its directory deleted, say) takes every write without an
 * error, into nothing anyone can read: that is a lost output too.
 */
void
outfile_flush(struct outfile *o)
{
	struct stat	 st;

	if (o->fd == -1 || !write_out(o))
		return;
	if (o->regular && fstat(o->fd, &st) == 0 && st.st_nlink == 0) {
		warnx("%s: removed during the run", o->path);
		drop(o);
	}
}

/*
 * At the end: write what waits, giving a slow reader OUTFILE_DRAIN_MS
 * without progress to take it, and say what was lost.
 */
void
outfile_close(struct outfile *o)
{
	struct pollfd	 pfd = { .fd = o->fd, .events = POLLOUT };
	uint64_t	 before;

	outfile_flush(o);
	while (o->fd != -1 && o->len > 0) {
		before = o->written;
		if (poll(&pfd, 1, OUTFILE_DRAIN_MS) == 1 && write_out(o) &&
		    o->written > before)
			continue;
		if (o->fd == -1)
			break;
		warnx("%s: the reader stopped reading: %zu bytes not written",
		    o->path, o->len);
		o->lost_bytes += o->len;
		drop(o);
	}
	if (o->lost_rows > 0)
		warnx("%s: %llu rows (%llu bytes) not written: the reader did "
		    "not keep up", o->path, (unsigned long long)o->lost_rows,
		    (unsigned long long)o->lost_bytes);
	if (o->fd != -1 && close(o->fd) == -1) {
		warn("%s", o->path);
		o->failed = true;
	}
	o->fd = -1;
	free(o->buf);
	o->buf = NULL;
}

bool
outfile_failed(const struct outfile *o)
{
	return o->failed;
}

/*
 * Replace the file at path with len bytes of data, atomically: readers see
 * the old file or the new one, never part of one.  The new one is written
 * under a temporary name in the same directory, made afresh (O_EXCL, so
 * nothing planted there is opened) and ending in ".tmp", so that a reader
 * of "*.prom" files never takes it, then renamed over path; the rename
 * replaces a link planted at path, never what it points to.  Return 0 or
 * an errno.
 */
int
outfile_replace(const char *path, const char *data, size_t len)
{
	static mode_t	 mask = (mode_t)-1;
	char		 tmp[PATH_MAX];
	ssize_t		 n;
	int		 fd, error = 0;

	if (mask == (mode_t)-1) {
		mask = umask(022);
		(void)umask(mask);
	}
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.XXXXXX.tmp", path) >=
	    sizeof(tmp))
		return ENAMETOOLONG;
	if ((fd = mkostemps(tmp, 4, O_CLOEXEC)) == -1)
		return errno;
	if (fchmod(fd, 0666 & ~mask) == -1)
		error = errno;
	for (size_t off = 0; error == 0 && off < len; off += (size_t)n) {
		if ((n = write(fd, data + off, len - off)) == -1)
			error = errno;
	}
	if (close(fd) == -1 && error == 0)
		error = errno;
	if (error == 0 && rename(tmp, path) == -1)
		error = errno;
	if (error != 0)
		(void)unlink(tmp);
	return error;
}
