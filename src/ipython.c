/*
 * ipython.c: bringing memwatch's IPython snippet to a Python that memwatch
 * launches (through PYTHONSTARTUP, the user's own still run after it) or
 * attaches to (a line to paste into it).
 */

#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "memwatch.h"

/*
 * The directory of the Python files: the source tree's for the binary
 * built there, so src/memwatch works before make install.
 */
static const char *
python_dir(void)
{
	char	 exe[PATH_MAX];
	ssize_t	 n;

	if ((n = readlink("/proc/self/exe", exe, sizeof(exe) - 1)) > 0) {
		exe[n] = '\0';
		if (strcmp(exe, BUILD_BINARY) == 0)
			return SOURCE_PYTHONDIR;
	}
	return PKGDATADIR "/python";
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

/* On attaching to a Python, say what to run in it for per-cell reports. */
void
ipython_hint(pid_t pid)
{
	char	 path[64], exe[PATH_MAX], *base;
	ssize_t	 n;

	(void)snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	if ((n = readlink(path, exe, sizeof(exe) - 1)) <= 0)
		return;
	exe[n] = '\0';
	base = strrchr(exe, '/') != NULL ? strrchr(exe, '/') + 1 : exe;
	if (strncmp(base, "python", 6) == 0)
		fprintf(stderr, "memwatch: for a report after each cell, run "
		    "this in its IPython or Jupyter:\n    %%run %s/startup.py\n",
		    python_dir());
}
