/*
 * Fuzz target for the paths memwatch takes from its environment
 * (trust.c): trust_path(), which walks $XDG_RUNTIME_DIR or $TMPDIR, and
 * path_split(), which splits an output's path.
 *
 * The input is a path, put below a small tree made at the first run in a
 * private directory of its own: directories, "." and "..", links of ours
 * (relative, absolute, in a loop, dangling) and a directory open to all.
 * What must hold:
 * - trust_path() returns a directory's fd only for a path that stat(2)
 *   finds to be that directory, and, for TRUST_ALL, never for one below
 *   the directory open to all; on a refusal, errno is EPERM and a reason
 *   is given; else errno is that of a failed call (for TRUST_LINKS, whose
 *   links here are all ours, always);
 * - path_split() gives the name after the last slash, and the directory
 *   before it ("/" for the root's, "." with no slash).
 */

#include "config.h"

#include <sys/stat.h>

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "memwatch.h"
#include "fuzz.h"

static char	 top[PATH_MAX];

/* The tree the paths walk: made once, left for the next run to reuse. */
static void
make_tree(void)
{
	static const char *const dirs[] = { "a", "a/b", "a/b/c", "open",
	    "open/d" };
	char	 path[PATH_MAX], target[PATH_MAX + 8];

	(void)snprintf(top, sizeof(top), "/tmp/memwatch-fuzz-trust-%u",
	    (unsigned int)geteuid());
	(void)mkdir(top, 0700);
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		(void)snprintf(path, sizeof(path), "%s/%s", top, dirs[i]);
		(void)mkdir(path, 0755);
	}
	(void)snprintf(path, sizeof(path), "%s/open", top);
	(void)chmod(path, 0777);
	(void)snprintf(path, sizeof(path), "%s/a/up", top);
	(void)symlink("..", path);
	(void)snprintf(path, sizeof(path), "%s/a/abs", top);
	(void)snprintf(target, sizeof(target), "%s/a/b", top);
	(void)symlink(target, path);
	(void)snprintf(path, sizeof(path), "%s/a/loop", top);
	(void)symlink("loop", path);
	(void)snprintf(path, sizeof(path), "%s/a/gone", top);
	(void)symlink("nowhere", path);
	(void)snprintf(path, sizeof(path), "%s/a/toopen", top);
	(void)symlink("../open/d", path);
}

/* Whether the canonical form of path lies in the directory open to all. */
static bool
below_open(const char *path)
{
	char	 real[PATH_MAX], open_dir[PATH_MAX];
	size_t	 n;

	if (realpath(path, real) == NULL)
		return false;
	n = (size_t)snprintf(open_dir, sizeof(open_dir), "%s/open", top);
	return strncmp(real, open_dir, n) == 0 &&
	    (real[n] == '/' || real[n] == '\0');
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char		 path[PATH_MAX], in[PATH_MAX], bad[PATH_MAX], why[128];
	char		 dir[PATH_MAX], back[2 * PATH_MAX];
	const char	*name;
	struct stat	 st, fst;
	int		 fd, error;

	if (top[0] == '\0')
		make_tree();
	if (size >= sizeof(in) - 64)
		return 0;
	memcpy(in, data, size);
	in[size] = '\0';
	if (strlen(in) != size)
		return 0;	/* a path holds no NUL */

	(void)snprintf(path, sizeof(path), "%s/%s", top, in);
	why[0] = '\0';
	fd = trust_path(path, TRUST_ALL, bad, why, sizeof(why));
	error = errno;
	assert(memchr(bad, '\0', PATH_MAX) != NULL);
	if (fd != -1) {
		assert(fstat(fd, &fst) == 0 && S_ISDIR(fst.st_mode));
		assert(stat(path, &st) == 0 && st.st_dev == fst.st_dev &&
		    st.st_ino == fst.st_ino);
		assert(!below_open(path));
		(void)close(fd);
	} else {
		assert(why[0] != '\0');
		assert(error != 0);
	}

	/* an output's directory: links only, the same directory if any */
	if ((fd = trust_path(path, TRUST_LINKS, bad, why, sizeof(why))) != -1) {
		assert(fstat(fd, &fst) == 0 && S_ISDIR(fst.st_mode));
		assert(stat(path, &st) == 0 && st.st_dev == fst.st_dev &&
		    st.st_ino == fst.st_ino);
		(void)close(fd);
	} else
		assert(errno != 0 && errno != EPERM && why[0] != '\0');

	/* a relative path too */
	name = path_split(in, dir);
	assert(strchr(name, '/') == NULL);
	if (strchr(in, '/') == NULL) {
		assert(strcmp(dir, ".") == 0 && name == in);
	} else {
		/* dir, a slash, name; "/" for the root's own */
		assert(name > in && name[-1] == '/' &&
		    strcmp(name, in + size - strlen(name)) == 0);
		(void)snprintf(back, sizeof(back), "%.*s",
		    (int)(name - 1 - in), in);
		assert(strcmp(dir, back[0] == '\0' ? "/" : back) == 0);
	}
	return 0;
}
