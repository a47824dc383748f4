/*
 * ipython.c: bringing memwatch's IPython snippet to a Python that memwatch
 * launches (through PYTHONSTARTUP, the user's own still run after it) or
 * attaches to (a line to paste into it, for an IPython or Jupyter kernel).
 */

#include "config.h"

#include <sys/stat.h>

#include <fcntl.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "memwatch.h"
#include "paths.h"

/*
 * The directory of the Python package: the source tree's for the binary
 * built there, so src/memwatch works before make install.
 */
static const char *
python_dir(void)
{
	static char	 source[PATH_MAX];
	char		 exe[PATH_MAX];
	ssize_t		 n;

	if ((n = readlink("/proc/self/exe", exe, sizeof(exe) - 1)) > 0) {
		exe[n] = '\0';
		/* the source tree may be named through ".." (a VPATH build) */
		if (strcmp(exe, BUILD_BINARY) == 0)
			return realpath(SOURCE_PYTHONDIR, source) != NULL ?
			    source : SOURCE_PYTHONDIR;
	}
	return PKGPYTHONDIR;
}

/* Have an interactive Python started from here load the snippet. */
int
ipython_inject(void)
{
	char		 path[PATH_MAX];
	const char	*theirs = getenv("PYTHONSTARTUP");

	(void)snprintf(path, sizeof(path), "%s/startup.py", python_dir());
	if (theirs != NULL && setenv("MEMWATCH_PYTHONSTARTUP", theirs, 1) == -1)
		return -1;
	return setenv("PYTHONSTARTUP", path, 1);
}

/* Whether s, a path, names a file whose name starts with prefix. */
static bool
base_is(const char *s, const char *prefix)
{
	const char	*slash = strrchr(s, '/');

	return strncmp(slash != NULL ? slash + 1 : s, prefix,
	    strlen(prefix)) == 0;
}

/*
 * Whether the command line args (n bytes of NUL-terminated strings) runs
 * IPython or a Jupyter kernel: an ipython script or an ipykernel or
 * IPython module run by Python, not any Python program.
 */
static bool
runs_ipython(const char *args, size_t n)
{
	const char	*end = args + n, *a = args, *prev = "";

	if (base_is(a, "ipython"))
		return true;
	if (!base_is(a, "python"))
		return false;
	for (a += strlen(a) + 1; a < end; prev = a, a += strlen(a) + 1) {
		if (strcmp(prev, "-m") == 0)
			return strncmp(a, "IPython", 7) == 0 ||
			    strncmp(a, "ipykernel", 9) == 0;
		if (strcmp(a, "-c") == 0)
			return false;
		/* python's options, and the values of -W and -X */
		if (a[0] == '-' || strcmp(prev, "-W") == 0 ||
		    strcmp(prev, "-X") == 0)
			continue;
		return base_is(a, "ipython") || base_is(a, "ipykernel");
	}
	return false;
}

/*
 * On attaching to an IPython shell or a Jupyter kernel, say what to run
 * in it for per-cell reports.  Nothing for other processes, nor when
 * /proc says too little to tell.
 */
void
ipython_hint(pid_t pid)
{
	char		 path[64], args[4096];
	struct stat	 st;
	struct passwd	*pw;
	ssize_t		 n;
	int		 fd;

	(void)snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return;
	n = read(fd, args, sizeof(args) - 1);
	if (n <= 0 || fstat(fd, &st) == -1) {
		(void)close(fd);
		return;
	}
	(void)close(fd);
	args[n] = '\0';
	if (!runs_ipython(args, (size_t)n))
		return;
	if (st.st_uid != geteuid()) {
		/* its snippet looks for a FIFO of its own user's */
		pw = getpwuid(st.st_uid);
		fprintf(stderr, "memwatch: pid %d runs as %s, who cannot use "
		    "this memwatch's FIFO: for a report after each cell, type "
		    "%%load_ext memwatch in its IPython or Jupyter (it starts "
		    "a memwatch of its own), or run memwatch -p %d as %s\n",
		    (int)pid, pw != NULL ? pw->pw_name : "another user",
		    (int)pid, pw != NULL ? pw->pw_name : "that user");
		return;
	}
	fprintf(stderr, "memwatch: for a report after each cell, run this in "
	    "its IPython or Jupyter:\n    %%run %s/startup.py\n", python_dir());
}
