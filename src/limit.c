/*
 * limit.c: how much memory a process may use, for a --limit given as a
 * percentage.  The smallest of three: the memory limit of its cgroup and
 * every cgroup above it (cgroup v2 memory.max, or cgroup v1
 * memory.limit_in_bytes of the memory controller's hierarchy), MEM_LIMIT in
 * its environment (bytes, as JupyterHub sets it), and the machine's
 * MemTotal.  Read once, at the start, under the proc root (probe.c); the
 * cgroup files where /proc/self/mountinfo says their hierarchy is mounted.
 */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "memwatch.h"

#define ENVIRON_MAX	(1024 * 1024)	/* more than any environment holds */

/*
 * Read the decimal number at the start of file path, or "max" (cgroup v2:
 * no limit, stored as UINT64_MAX).  Return 0, or an errno.
 */
static int
read_number(const char *path, uint64_t *n)
{
	char		 buf[64];
	const char	*errstr;
	ssize_t		 len;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return errno;
	len = read(fd, buf, sizeof(buf) - 1);
	(void)close(fd);
	if (len == -1)
		return errno;
	buf[len] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	if (strcmp(buf, "max") == 0) {
		*n = UINT64_MAX;
		return 0;
	}
	return parse_size(buf, n, &errstr) == 0 ? 0 : EINVAL;
}

/* Open name under the proc root as a stream; NULL with errno set. */
static FILE *
proc_fopen(const char *name)
{
	FILE	*fp;
	int	 fd;

	if ((fd = proc_open(name, O_RDONLY)) == -1)
		return NULL;
	if ((fp = fdopen(fd, "r")) == NULL)
		(void)close(fd);
	return fp;
}

/* MemTotal from /proc/meminfo, in bytes.  Return 0, or an errno. */
static int
mem_total(uint64_t *bytes)
{
	FILE		*fp;
	char		*line = NULL;
	size_t		 cap = 0;
	unsigned long long kib;
	int		 error = EINVAL;

	if ((fp = proc_fopen("meminfo")) == NULL)
		return errno;
	while (getline(&line, &cap, fp) != -1)
		if (sscanf(line, "MemTotal: %llu kB", &kib) == 1) {
			*bytes = (uint64_t)kib * 1024;
			error = 0;
			break;
		}
	free(line);
	(void)fclose(fp);
	return error;
}

/*
 * MEM_LIMIT in the environment process pid started with, in bytes.
 * Return 0, ENOENT if it is not set, or another errno.
 */
static int
env_limit(pid_t pid, uint64_t *bytes)
{
	char		 path[64], *buf, *p;
	const char	*errstr;
	ssize_t		 n;
	size_t		 len = 0;
	int		 fd, error = ENOENT;

	(void)snprintf(path, sizeof(path), "%d/environ", (int)pid);
	if ((fd = proc_open(path, O_RDONLY)) == -1)
		return errno;
	if ((buf = malloc(ENVIRON_MAX + 1)) == NULL) {
		(void)close(fd);
		return ENOMEM;
	}
	while (len < ENVIRON_MAX &&
	    (n = read(fd, buf + len, ENVIRON_MAX - len)) > 0)
		len += (size_t)n;
	(void)close(fd);
	buf[len] = '\0';
	for (p = buf; p < buf + len; p += strlen(p) + 1)
		if (strncmp(p, "MEM_LIMIT=", 10) == 0) {
			error = parse_size(p + 10, bytes, &errstr) == 0 ? 0 :
			    EINVAL;
			break;
		}
	free(buf);
	return error;
}

/* Whether comma-separated list holds word. */
static bool
has_word(const char *list, const char *word)
{
	size_t	 len = strlen(word);

	for (const char *p = list; p != NULL; p = strchr(p, ',')) {
		if (*p == ',')
			p++;
		if (strncmp(p, word, len) == 0 &&
		    (p[len] == ',' || p[len] == '\0'))
			return true;
	}
	return false;
}

/*
 * The memory cgroup of pid, from /proc/PID/cgroup: the v1 hierarchy
 * holding the memory controller if there is one (on a hybrid system the v2
 * hierarchy holds no memory controller), else the v2 one.  Store its path
 * in path and whether it is v1.  Return 0, or an errno.
 */
static int
cgroup_of(pid_t pid, char *path, size_t size, bool *v1)
{
	FILE	*fp;
	char	 file[64], *line = NULL, *ctl, *cg;
	size_t	 cap = 0;
	int	 error = ENOENT;

	(void)snprintf(file, sizeof(file), "%d/cgroup", (int)pid);
	if ((fp = proc_fopen(file)) == NULL)
		return errno;
	while (getline(&line, &cap, fp) != -1) {
		line[strcspn(line, "\n")] = '\0';
		/* hierarchy-ID:controller,...:path */
		if ((ctl = strchr(line, ':')) == NULL ||
		    (cg = strchr(++ctl, ':')) == NULL)
			continue;
		*cg++ = '\0';
		if (*ctl == '\0' && error == ENOENT) {
			*v1 = false;
			error = strlcpy(path, cg, size) < size ? 0 : ENAMETOOLONG;
		}
		if (has_word(ctl, "memory")) {
			*v1 = true;
			error = strlcpy(path, cg, size) < size ? 0 :
			    ENAMETOOLONG;
			break;
		}
	}
	free(line);
	(void)fclose(fp);
	return error;
}

/*
 * Where cgroup path cg of a v1 memory or a v2 hierarchy is in the file
 * system, from /proc/self/mountinfo: its mount point, plus cg less the
 * mount's root.  Store it in dir, and the mount point's length in *top.
 * Return 0, or an errno (ENOENT: not
 * mounted here, or not below the mount's root).
 */
static int
cgroup_dir(const char *cg, bool v1, char *dir, size_t size, size_t *top)
{
	FILE	*fp;
	char	*line = NULL, *f[6], *dash, *fstype, *opts, *p;
	size_t	 cap = 0, rootlen;
	int	 i, error = ENOENT;

	if ((fp = proc_fopen("self/mountinfo")) == NULL)
		return errno;
	while (error == ENOENT && getline(&line, &cap, fp) != -1) {
		line[strcspn(line, "\n")] = '\0';
		/* id parent dev root mountpoint options ... - fstype source super */
		for (i = 0, p = line; i < 6 && p != NULL; i++)
			f[i] = strsep(&p, " ");
		if (i < 6 || p == NULL || (dash = strstr(p, "- ")) == NULL)
			continue;
		p = dash + 2;
		fstype = strsep(&p, " ");
		(void)strsep(&p, " ");
		opts = p != NULL ? p : "";
		if (v1 ? strcmp(fstype, "cgroup") != 0 ||
		    !has_word(opts, "memory") : strcmp(fstype, "cgroup2") != 0)
			continue;
		/* mount points with spaces come escaped: not ours to guess */
		if (strchr(f[4], '\\') != NULL)
			continue;
		rootlen = strcmp(f[3], "/") == 0 ? 0 : strlen(f[3]);
		if (strncmp(cg, f[3], rootlen) != 0 ||
		    (cg[rootlen] != '/' && cg[rootlen] != '\0'))
			continue;
		*top = strlen(f[4]);
		error = snprintf(dir, size, "%s%s", f[4], cg + rootlen) <
		    (int)size ? 0 : ENAMETOOLONG;
	}
	free(line);
	(void)fclose(fp);
	return error;
}

/*
 * The smallest memory limit of pid's memory cgroup and the cgroups above
 * it up to the hierarchy's mount point, and the name of the file it is in.
 * Return 0, ENOENT if there is none, or another errno.
 */
static int
cgroup_limit(pid_t pid, uint64_t *bytes, const char **file)
{
	char		 cg[PATH_MAX], dir[PATH_MAX], path[PATH_MAX + 32], *slash;
	uint64_t	 n, least = UINT64_MAX;
	size_t		 top = 0;
	bool		 v1;
	int		 error;

	if ((error = cgroup_of(pid, cg, sizeof(cg), &v1)) != 0 ||
	    (error = cgroup_dir(cg, v1, dir, sizeof(dir), &top)) != 0)
		return error;
	*file = v1 ? "memory.limit_in_bytes" : "memory.max";
	/* up to the mount point; the root of a v2 hierarchy has no file */
	for (;;) {
		(void)snprintf(path, sizeof(path), "%s/%s", dir, *file);
		if (read_number(path, &n) == 0 && n < least)
			least = n;
		if (strlen(dir) <= top || (slash = strrchr(dir, '/')) == NULL)
			break;
		*slash = '\0';
	}
	if (least == UINT64_MAX)
		return ENOENT;
	*bytes = least;
	return 0;
}

/*
 * Resolve a limit of ppm millionths of the memory process pid may use.
 * Store it in l, with the figure it is a share of and where that came
 * from.  Return 0, or an errno: only MemTotal, which every Linux has, is
 * needed.
 */
int
limit_resolve(pid_t pid, uint32_t ppm, struct limit *l)
{
	uint64_t	 n;
	const char	*file;
	int		 error;

	if ((error = mem_total(&l->base)) != 0)
		return error;
	l->source = "MemTotal";
	if (cgroup_limit(pid, &n, &file) == 0 && n < l->base) {
		l->base = n;
		l->source = file;
		l->cgroup = true;
	}
	if (env_limit(pid, &n) == 0 && n < l->base) {
		l->base = n;
		l->source = "MEM_LIMIT";
		l->cgroup = false;
	}
	l->ppm = ppm;
	/* base * ppm / 10^6 without overflow */
	l->bytes = l->base / 1000000 * ppm + l->base % 1000000 * ppm / 1000000;
	return 0;
}

/* Say what limit l is and where it came from, into buf. */
void
limit_describe(const struct limit *l, char *buf, size_t size)
{
	char	 a[32], b[32];

	format_size(a, sizeof(a), l->bytes);
	if (l->ppm == 0) {
		(void)snprintf(buf, size, "%s", a);
		return;
	}
	format_size(b, sizeof(b), l->base);
	(void)snprintf(buf, size, "%s (%.4g%% of %s%s %s)", a,
	    (double)l->ppm / 10000, l->cgroup ? "cgroup " : "", l->source, b);
}
