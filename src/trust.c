/*
 * trust.c: whether a directory can be trusted not to change under
 * memwatch, which may run as root in another user's environment.  A
 * directory is trusted when it belongs to root or to us and nobody else
 * may change its entries: not writable by group or others, or sticky (as
 * /tmp), where each may change only entries of their own.  A path is
 * trusted when every directory on the way is, and every symbolic link on
 * the way belongs to root or to us.  An output's directory is walked with
 * the kernel's fs.protected_symlinks rule alone, kept whatever it is set
 * to.  And how a path splits into directory and name.
 */

#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "memwatch.h"

#define LINKS_MAX	40	/* as the kernel's limit on a path's links */

/*
 * Copy the directory of path to dir (PATH_MAX bytes), "." if it has none;
 * return the name in it.
 */
const char *
path_split(const char *path, char *dir)
{
	const char	*slash = strrchr(path, '/');

	if (slash == NULL) {
		(void)strlcpy(dir, ".", PATH_MAX);
		return path;
	}
	/* the root's own: its directory is "/" */
	(void)snprintf(dir, PATH_MAX, "%.*s", slash == path ? 1 :
	    (int)(slash - path), path);
	return slash + 1;
}

/* Whether uid is root's or ours. */
static bool
trusted_owner(uid_t uid)
{
	return uid == 0 || uid == geteuid();
}

/*
 * Whether the directory of st is trusted; if not, say why in why (size
 * bytes).
 */
bool
trust_dir(const struct stat *st, char *why, size_t size)
{
	if (!trusted_owner(st->st_uid))
		(void)snprintf(why, size, "owned by uid %u, neither root nor us",
		    (unsigned int)st->st_uid);
	else if ((st->st_mode & (S_IWGRP | S_IWOTH)) != 0 &&
	    (st->st_mode & S_ISVTX) == 0)
		(void)snprintf(why, size, "mode %04o lets others change it",
		    (unsigned int)(st->st_mode & 07777));
	else
		return true;
	return false;
}

/* A system call failed with error: say so in why; return -1, errno set. */
static int
failed(char *why, size_t size, int error)
{
	(void)snprintf(why, size, "%s", strerror(error));
	errno = error;
	return -1;
}

/* Trust was refused, why already said: return -1, errno EPERM. */
static int
refused(void)
{
	errno = EPERM;
	return -1;
}

/* Whether a directory is sticky and open to others, as /tmp. */
bool
trust_shared_sticky(const struct stat *dir)
{
	return (dir->st_mode & S_ISVTX) != 0 &&
	    (dir->st_mode & (S_IWGRP | S_IWOTH)) != 0;
}

/*
 * Open directory fd's entry name, a directory, without following a link,
 * and check that it is trusted (TRUST_ALL).  Return its fd, or -1 with why
 * filled.
 */
static int
open_checked(int fd, const char *name, enum trust mode, char *why,
    size_t size)
{
	struct stat	 st;
	int		 next, error;

	/* O_PATH: a directory we may search but not read is still a way */
	if ((next = openat(fd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1)
		return failed(why, size, errno);
	if (fstat(next, &st) == -1) {
		error = errno;
		(void)close(next);
		return failed(why, size, error);
	}
	if (mode == TRUST_LINKS || trust_dir(&st, why, size))
		return next;
	(void)close(next);
	return refused();
}

/*
 * If name in directory fd is a symbolic link that may be followed, put its
 * text before rest (the part of the path after it, size bytes) and return
 * 1; return 0 if it is not a link, -1 with why filled if it may not be
 * followed or is too long.  TRUST_ALL follows links of root's or ours;
 * TRUST_LINKS any, but in a sticky directory open to others only ours or
 * the directory owner's, as fs.protected_symlinks does.
 */
static int
take_link(int fd, const char *name, enum trust mode, char *rest,
    size_t size, char *why, size_t wsize)
{
	char		 text[PATH_MAX], joined[PATH_MAX];
	struct stat	 st, dir;
	ssize_t		 n;

	if (fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) == -1 ||
	    !S_ISLNK(st.st_mode))
		return 0;
	if (mode == TRUST_ALL && !trusted_owner(st.st_uid)) {
		(void)snprintf(why, wsize, "a symbolic link of uid %u, "
		    "neither root nor us", (unsigned int)st.st_uid);
		return refused();
	}
	if (mode == TRUST_LINKS && fstat(fd, &dir) == 0 &&
	    trust_shared_sticky(&dir) && st.st_uid != geteuid() &&
	    st.st_uid != dir.st_uid) {
		(void)snprintf(why, wsize, "a symbolic link of uid %u in a "
		    "sticky directory open to others", (unsigned int)st.st_uid);
		return refused();
	}
	if ((n = readlinkat(fd, name, text, sizeof(text) - 1)) == -1)
		return failed(why, wsize, errno);
	text[n] = '\0';
	if ((size_t)snprintf(joined, sizeof(joined), "%s/%s", text, rest) >=
	    sizeof(joined) || strlcpy(rest, joined, size) >= size)
		return failed(why, wsize, ENAMETOOLONG);
	return 1;
}

/*
 * Open the directory at path, following links and checking directories as
 * mode says (see take_link and open_checked); TRUST_ALL takes an absolute
 * path only.  Return its fd, or -1 after filling bad (PATH_MAX bytes) with
 * the path walked so far and why (size bytes) with the reason; errno is
 * EPERM if trust was refused, else that of the call that failed.
 */
int
trust_path(const char *path, enum trust mode, char *bad, char *why,
    size_t size)
{
	char	 rest[PATH_MAX], name[NAME_MAX + 1], *p, *end;
	const char *start = path[0] == '/' ? "/" : ".";
	size_t	 len, done;
	int	 fd, next, links = 0, r, error;

	(void)strlcpy(bad, start, PATH_MAX);
	if (path[0] != '/' && mode == TRUST_ALL) {
		(void)strlcpy(bad, path, PATH_MAX);
		(void)snprintf(why, size, "not an absolute path");
		return refused();
	}
	if (strlcpy(rest, path, sizeof(rest)) >= sizeof(rest))
		return failed(why, size, ENAMETOOLONG);
	if ((fd = open_checked(AT_FDCWD, start, mode, why, size)) == -1)
		return -1;
	done = path[0] == '/' ? 0 : 1;
	bad[done] = '\0';
	for (p = rest;;) {
		while (*p == '/')
			p++;
		if (*p == '\0')
			return fd;
		end = strchrnul(p, '/');
		if ((len = (size_t)(end - p)) > NAME_MAX) {
			(void)failed(why, size, ENAMETOOLONG);
			break;
		}
		memcpy(name, p, len);
		name[len] = '\0';
		p = end;
		if (strcmp(name, ".") == 0)
			continue;
		if (done + len + 2 < PATH_MAX) {
			bad[done++] = '/';
			memcpy(bad + done, name, len + 1);
			done += len;
		}
		if ((r = take_link(fd, name, mode, p, sizeof(rest) -
		    (size_t)(p - rest), why, size)) == -1)
			break;
		if (r == 1) {
			if (++links > LINKS_MAX) {
				(void)failed(why, size, ELOOP);
				break;
			}
			if (*p == '/') {
				done = 0;
				(void)close(fd);
				if ((fd = open_checked(AT_FDCWD, "/", mode,
				    why, size)) == -1)
					return -1;
			}
			continue;
		}
		if ((next = open_checked(fd, name, mode, why, size)) == -1)
			break;
		(void)close(fd);
		fd = next;
	}
	error = errno;
	(void)close(fd);
	errno = error;
	return -1;
}
