/*
 * outfile.c: one output file, streamed (the CSVs) or rewritten whole (the
 * plot, the metrics).  A write error disables that output with one warning
 * and is remembered for the exit status; the run itself goes on.
 */

#include "config.h"

#include <sys/stat.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "memwatch.h"

/* Give up on o, and remember the loss for the exit status. */
static void
drop(struct outfile *o)
{
	if (o->fp != stdout)
		(void)fclose(o->fp);
	o->fp = NULL;
	o->failed = true;
}

static void
fail(struct outfile *o)
{
	warn("%s", o->path);
	drop(o);
}

/*
 * Open path ("-" for standard output, NULL for none).  Return 0, or an
 * exit status after a warning.
 */
int
outfile_open(struct outfile *o, const char *path)
{
	struct stat	 st;

	o->fp = NULL;
	o->regular = o->failed = false;
	o->path = path;
	if (path == NULL)
		return 0;
	if (strcmp(path, "-") == 0) {
		o->fp = stdout;
		o->path = "standard output";
	} else if ((o->fp = fopen(path, "we")) == NULL) {
		warn("%s", path);
		return EXIT_OUTPUT;
	}
	o->regular = fstat(fileno(o->fp), &st) == 0 && S_ISREG(st.st_mode);
	return 0;
}

/* Write len bytes of buf. */
void
outfile_write(struct outfile *o, const char *buf, size_t len)
{
	if (o->fp != NULL && fwrite(buf, 1, len, o->fp) != len)
		fail(o);
}

/*
 * Flush o.  A file removed under memwatch (its directory deleted, say)
 * takes every write without an error, into nothing anyone can read: that
 * is a lost output too.
 */
void
outfile_flush(struct outfile *o)
{
	struct stat	 st;

	if (o->fp == NULL)
		return;
	if (fflush(o->fp) == EOF) {
		fail(o);
		return;
	}
	if (o->regular && fstat(fileno(o->fp), &st) == 0 && st.st_nlink == 0) {
		warnx("%s: removed during the run", o->path);
		drop(o);
	}
}

void
outfile_close(struct outfile *o)
{
	outfile_flush(o);
	if (o->fp != NULL && o->fp != stdout && fclose(o->fp) == EOF) {
		warn("%s", o->path);
		o->failed = true;
	}
	o->fp = NULL;
}

bool
outfile_failed(const struct outfile *o)
{
	return o->failed;
}

/*
 * Replace the file at path with len bytes of data, atomically: readers see
 * the old file or the new one, never part of one.  The new one is written
 * under a temporary name in the same directory (ending in ".tmp", so that
 * a reader of "*.prom" files never takes it) and renamed over path.
 * Return 0 or an errno.
 */
int
outfile_replace(const char *path, const char *data, size_t len)
{
	char	 tmp[PATH_MAX];
	ssize_t	 n;
	int	 fd, error = 0;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.%d.tmp", path,
	    (int)getpid()) >= sizeof(tmp))
		return ENAMETOOLONG;
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW |
	    O_CLOEXEC, 0644)) == -1)
		return errno;
	for (size_t off = 0; off < len; off += (size_t)n) {
		if ((n = write(fd, data + off, len - off)) == -1) {
			error = errno;
			break;
		}
	}
	if (close(fd) == -1 && error == 0)
		error = errno;
	if (error == 0 && rename(tmp, path) == -1)
		error = errno;
	if (error != 0)
		(void)unlink(tmp);
	return error;
}
