/*
 * tree.c: the processes watched, a root and, unless --no-children, every
 * descendant, each with a probe whose /proc files stay open while it
 * lives.  Descendants are found from the children files of each thread
 * (/proc/PID/task/TID/children: a child belongs to the thread that forked
 * it), or, on a kernel without them, from a scan of every process's
 * parent.  A member stays in the tree until it ends, also once its parent
 * has ended and it has been given to another (an orphan of the work is
 * still the work's).  A process running memwatch's own program below the
 * root (memwatch mark, a memwatch inside) is searched for children but
 * not counted: it is the tool, not the work.  Nothing here exits or prints but the one warning
 * about processes that cannot be read.
 */

#include "config.h"

#include <sys/resource.h>
#include <sys/stat.h>

#include <dirent.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "memwatch.h"

#define MEMBERS_MIN	8

static struct rlimit	 nofile;	/* as memwatch was given it */
static bool		 raised;

/*
 * A tree keeps a few files open per process: take every descriptor the
 * hard limit allows.  The command gets the limit memwatch was given.
 */
void
tree_more_fds(void)
{
	struct rlimit	 rl;

	if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 &&
	    nofile.rlim_cur < nofile.rlim_max) {
		rl = nofile;
		rl.rlim_cur = rl.rlim_max;
		raised = setrlimit(RLIMIT_NOFILE, &rl) == 0;
	}
}

/* Give back the limit memwatch was given, for a command it runs. */
void
tree_restore_fds(void)
{
	if (raised)
		(void)setrlimit(RLIMIT_NOFILE, &nofile);
}

static struct member *
find(struct tree *t, pid_t pid)
{
	for (size_t i = 0; i < t->n; i++) {
		if (t->m[i].pid == pid)
			return &t->m[i];
	}
	return NULL;
}

/* Read the name, parent and marks' starting point of member m. */
static void
describe(struct member *m)
{
	struct status	 st;

	if (probe_status(&m->probe, &st) != 0)
		return;
	m->ppid = st.ppid;
	(void)strlcpy(m->comm, st.name, sizeof(m->comm));
	m->hwm = st.hwm;
}

/* Whether m runs memwatch's own program: the tool, not the work. */
static bool
ours(const struct tree *t, const struct member *m)
{
	struct stat	 st;

	return fstatat(m->probe.dir_fd, "exe", &st, 0) == 0 &&
	    st.st_dev == t->exe.st_dev && st.st_ino == t->exe.st_ino;
}

/*
 * Member i (not the root) has run another program: memwatch mark, say,
 * after the shell that forked it; from now on it is not counted then.
 */
void
tree_exec(struct tree *t, size_t i)
{
	if (i > 0 && !t->m[i].ours && ours(t, &t->m[i])) {
		t->m[i].ours = true;
		t->seen--;
	}
}

/*
 * Add pid to the tree, its /proc directory dirfd if open already (-1
 * otherwise), and claim its marks.  Return 0, or an errno: the process
 * is gone (ESRCH, ENOENT), or cannot be read, or memwatch is out of
 * memory or descriptors.
 */
static int
add(struct tree *t, pid_t pid, int dirfd)
{
	struct member	*m, *grown;
	size_t		 cap;
	int		 error;

	if (t->n == t->cap) {
		cap = t->cap < MEMBERS_MIN ? MEMBERS_MIN : t->cap * 2;
		if ((grown = reallocarray(t->m, cap, sizeof(*t->m))) == NULL)
			return errno;
		t->m = grown;
		t->cap = cap;
	}
	m = &t->m[t->n];
	memset(m, 0, sizeof(*m));
	m->pid = pid;
	m->pss = NO_VALUE;
	m->reset_ok = t->reset;
	if ((error = probe_open(&m->probe, pid, dirfd)) != 0)
		return error;
	/* another memwatch resets its marks: they are not ours to read */
	if (proc_claim(m->probe.dir_fd, t->reset) != 0) {
		m->others = true;
		m->reset_ok = false;
	}
	describe(m);
	(void)probe_reaped(&m->probe, &m->reaped);
	m->ours = t->n > 0 && ours(t, m);
	t->n++;
	if (!m->ours)
		t->seen++;
	return 0;
}

/*
 * The error of a process's /proc files: ENOENT for one that is not there
 * but alive is EACCES, hidden from us (hidepid).
 */
static int
hidden(pid_t pid, int error)
{
	if (error == ENOENT && (kill(pid, 0) == 0 || errno == EPERM))
		return EACCES;
	return error;
}

/* A process of the tree that cannot be watched: counted, said once. */
static void
unknown(struct tree *t, pid_t pid, int error)
{
	if (error == ESRCH || error == ENOENT)
		return;		/* gone already */
	t->unknown++;
	if (t->unknown == 1) {
		errno = error;
		warn("pid %d, in the tree, cannot be read: its memory is not "
		    "counted, and peaks are sampled (said once)", (int)pid);
	}
}

/* Parse the parent out of the contents of /proc/PID/stat (field 4). */
static pid_t
stat_ppid(const char *buf, size_t len)
{
	const char	*s, *end = buf + len;
	long		 v = 0;

	for (s = end; s > buf && s[-1] != ')'; s--)
		continue;
	/* s is just past ")": " S PPID ..." */
	if (s == buf || end - s < 4 || s[0] != ' ' || s[2] != ' ')
		return 0;
	for (s += 3; s < end && *s >= '0' && *s <= '9' && v < INT_MAX; s++)
		v = v * 10 + (*s - '0');
	return v <= INT_MAX ? (pid_t)v : 0;
}

/* Read the whole small file name under the proc root into buf. */
static ssize_t
read_small(const char *name, char *buf, size_t size)
{
	ssize_t	 n;
	int	 fd;

	if ((fd = proc_open(name, O_RDONLY)) == -1)
		return -1;
	n = read(fd, buf, size);
	(void)close(fd);
	return n;
}

/* Take pid in as a member, found as a child of one. */
static void
adopt(struct tree *t, pid_t pid)
{
	int	 error;

	/* memwatch itself, attached to a process that started it */
	if (pid <= 0 || pid == t->self || find(t, pid) != NULL)
		return;
	if ((error = hidden(pid, add(t, pid, -1))) != 0)
		unknown(t, pid, error);
}

/* Take in every pid listed in buf, a children file's contents. */
static void
adopt_list(struct tree *t, const char *buf)
{
	const char	*s;
	char		*end;
	long		 child;

	for (s = buf; *s != '\0'; s = end) {
		child = strtol(s, &end, 10);
		if (end == s || child <= 0 || child > INT_MAX)
			break;
		adopt(t, (pid_t)child);
	}
}

/*
 * The children of member i: those its main thread forked, from the file
 * kept open; with threads, also those of its other threads, whose files
 * are opened afresh, as threads come and go.
 */
static void
children_of(struct tree *t, size_t i, bool threads)
{
	char		 name[PATH_MAX], buf[4096];
	struct dirent	*d;
	uint64_t	 nthreads;
	ssize_t		 n;
	pid_t		 pid = t->m[i].pid;
	DIR		*dir;
	int		 fd;

	if (probe_children(&t->m[i].probe, buf, sizeof(buf)) == 0)
		adopt_list(t, buf);
	/* adopt() may have moved the members: t->m[i] afresh */
	if (!threads || probe_threads(&t->m[i].probe, &nthreads) != 0 ||
	    nthreads <= 1)
		return;
	(void)snprintf(name, sizeof(name), "%d/task", (int)pid);
	if ((fd = proc_open(name, O_RDONLY | O_DIRECTORY)) == -1)
		return;
	if ((dir = fdopendir(fd)) == NULL) {
		(void)close(fd);
		return;
	}
	while ((d = readdir(dir)) != NULL) {
		if (d->d_name[0] < '0' || d->d_name[0] > '9' ||
		    strtol(d->d_name, NULL, 10) == pid)
			continue;
		(void)snprintf(name, sizeof(name), "%d/task/%s/children",
		    (int)pid, d->d_name);
		if ((n = read_small(name, buf, sizeof(buf) - 1)) == -1)
			continue;	/* the thread has ended */
		buf[n] = '\0';
		adopt_list(t, buf);
	}
	(void)closedir(dir);
}

/* Without children files: every process whose parent is a member. */
static void
scan_parents(struct tree *t)
{
	char		 name[PATH_MAX], buf[1024];
	struct dirent	*d;
	ssize_t		 n;
	DIR		*dir;
	int		 fd;
	size_t		 before;

	do {
		before = t->n;
		if ((fd = proc_open(".", O_RDONLY | O_DIRECTORY)) == -1 ||
		    (dir = fdopendir(fd)) == NULL) {
			if (fd != -1)
				(void)close(fd);
			return;
		}
		while ((d = readdir(dir)) != NULL) {
			if (d->d_name[0] < '0' || d->d_name[0] > '9')
				continue;
			(void)snprintf(name, sizeof(name), "%s/stat",
			    d->d_name);
			if ((n = read_small(name, buf, sizeof(buf))) <= 0)
				continue;
			if (find(t, stat_ppid(buf, (size_t)n)) != NULL)
				adopt(t, (pid_t)strtol(d->d_name, NULL, 10));
		}
		(void)closedir(dir);
		/* a grandchild listed before its parent: once more */
	} while (t->n > before);
}

/*
 * Find the members born since the last call: the children of each
 * member's main thread, and with threads, those of its other threads (a
 * file each to open: the caller keeps this rarer).  A member added here is
 * searched for children too, so a whole new subtree is found at once.
 */
void
tree_discover(struct tree *t, bool threads)
{
	if (!t->children)
		return;
	/* an unreadable member is dropped when it ends, or its PID would stay */
	for (size_t i = 1; i < t->n;) {
		if (t->m[i].unreadable && kill(t->m[i].pid, 0) == -1 &&
		    errno == ESRCH)
			tree_drop(t, i);
		else
			i++;
	}
	if (t->scan) {
		scan_parents(t);
		return;
	}
	for (size_t i = 0; i < t->n; i++)
		children_of(t, i, threads);
}

/*
 * Sample every member into its mem and the tree's total into *total, the
 * members in it into t->counted; members that have ended are dropped, and
 * counted in t->lost.  Return 0,
 * or the errno of the root, which is never dropped (ESRCH: it has ended).
 */
int
tree_sample(struct tree *t, struct mem *total)
{
	int	 error, root = 0;

	total->rss = total->file = 0;
	t->counted = 0;
	for (size_t i = 0; i < t->n;) {
		if (t->m[i].unreadable || t->m[i].ours) {
			i++;
			continue;
		}
		if ((error = probe_mem(&t->m[i].probe, &t->m[i].mem)) != 0) {
			if (i == 0) {
				root = error;
				i++;
				continue;
			}
			error = hidden(t->m[i].pid, error);
			if (error == ESRCH || error == ENOENT) {
				tree_drop(t, i);
				continue;
			}
			/* kept, so as not to be found again: said, not counted */
			unknown(t, t->m[i].pid, error);
			t->m[i].unreadable = true;
			t->m[i].mem.rss = t->m[i].mem.file = 0;
			i++;
			continue;
		}
		total->rss += t->m[i].mem.rss;
		total->file += t->m[i].mem.file;
		t->counted++;
		i++;
	}
	return root;
}

/*
 * The member with the most resident memory at the last sample that is
 * neither the root nor memwatch (a member when memwatch watches one of its
 * own ancestors); 0 if there is none.
 */
pid_t
tree_largest(const struct tree *t)
{
	const struct member	*best = NULL;

	/* memwatch's own processes are no candidates: their mem stays 0 */
	for (size_t i = 1; i < t->n; i++)
		if (!t->m[i].ours &&
		    (best == NULL || t->m[i].mem.rss > best->mem.rss))
			best = &t->m[i];
	return best != NULL ? best->pid : 0;
}

/* Drop member i (not the root), which has ended or can no longer be read. */
void
tree_drop(struct tree *t, size_t i)
{
	probe_close(&t->m[i].probe);
	t->m[i] = t->m[--t->n];
	t->lost++;
}

/*
 * Open the tree of root, whose /proc directory is dirfd if open already
 * (-1 otherwise), its descendants too if children; reset: the marks are
 * to be reset.  Return 0 or the errno of the root's /proc files.
 */
int
tree_open(struct tree *t, pid_t root, int dirfd, bool children, bool reset)
{
	int	 error;

	char	 name[64];
	int	 fd;

	memset(t, 0, sizeof(*t));
	t->children = children;
	t->reset = reset;
	t->self = getpid();
	if (stat("/proc/self/exe", &t->exe) == -1)
		memset(&t->exe, 0, sizeof(t->exe));
	if ((error = add(t, root, dirfd)) != 0) {
		free(t->m);
		t->m = NULL;
		return error;
	}
	/* a kernel without CONFIG_PROC_CHILDREN: scan parents instead */
	(void)snprintf(name, sizeof(name), "%d/task/%d/children", (int)root,
	    (int)root);
	if ((fd = proc_open(name, O_RDONLY)) != -1)
		(void)close(fd);
	else if (errno == ENOENT)
		t->scan = true;
	return 0;
}
