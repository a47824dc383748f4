/*
 * probe.c: everything memwatch reads from or writes to /proc/PID, through
 * a directory fd of the proc root.
 *
 * The files are opened once and read with pread(2) at offset 0, so a sample
 * costs one system call and no allocation.  Nothing here exits or prints:
 * each function returns 0 or an errno value and the caller decides.  ESRCH
 * means the process is gone, or has no memory left to read (a zombie).
 */

#include "config.h"

#include <sys/file.h>
#include <sys/statfs.h>

#include <linux/magic.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "memwatch.h"

static int	 procfd = -1;	/* the proc root */
static bool	 procfs;	/* and it is the kernel's */

/*
 * Open the proc root: /proc, or $MEMWATCH_PROC_ROOT for tests, which plant
 * fake trees there.  memwatch writes (clear_refs) only into the kernel's
 * procfs: a planted directory gets no write of ours, whoever planted it.
 * Return 0 or an errno.
 */
int
proc_open_root(void)
{
	const char	*root = getenv("MEMWATCH_PROC_ROOT");
	struct statfs	 sf;

	if (root == NULL || *root == '\0')
		root = "/proc";
	if ((procfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return errno;
	procfs = fstatfs(procfd, &sf) == 0 && sf.f_type == PROC_SUPER_MAGIC;
	return 0;
}

/* Open name under the proc root: "PID/statm", "PID/task". */
int
proc_open(const char *name, int flags)
{
	return openat(procfd, name, flags | O_NOFOLLOW | O_CLOEXEC);
}

/* Open the directory of pid under the proc root; the fd, or -1. */
int
proc_open_pid(pid_t pid)
{
	char	 name[32];

	(void)snprintf(name, sizeof(name), "%d", (int)pid);
	return proc_open(name, O_RDONLY | O_DIRECTORY);
}

/*
 * Claim the right to reset the marks of the process whose directory fd is
 * dirfd (reset), or ask that nobody else does (!reset): memwatches on one
 * process agree through flock(2) on its /proc directory, which any user
 * may take, and whose inode stays the same while one of them holds it
 * open.  The first to come keeps it.  Return 0, or EWOULDBLOCK when
 * another memwatch holds the claim.
 */
int
proc_claim(int dirfd, bool reset)
{
	if (flock(dirfd, (reset ? LOCK_EX : LOCK_SH) | LOCK_NB) == -1)
		return errno;
	return 0;
}

/* Open name in the process's directory. */
static int
open_in(const struct probe *p, const char *name, int flags)
{
	return openat(p->dir_fd, name, flags | O_NOFOLLOW | O_CLOEXEC);
}

/*
 * Open what memwatch writes to: clear_refs, in the kernel's procfs alone.
 * The kernel checks who may write when the file is opened, so it is
 * opened again each time the process runs another program.
 */
static void
open_clear_refs(struct probe *p)
{
	if (p->clear_fd != -1)
		(void)close(p->clear_fd);
	p->clear_fd = -1;
	if (!procfs)
		p->clear_errno = EOPNOTSUPP;
	else if ((p->clear_fd = open_in(p, "clear_refs", O_WRONLY)) == -1)
		p->clear_errno = errno;
}

/*
 * Open the files of pid, in its directory dirfd (-1: open it here; the
 * probe keeps it either way).  Return 0 or the errno of the first that
 * failed; clear_refs and maps may fail, which leaves peaks to sampling,
 * and stat, which leaves what the process reaped unknown.
 */
int
probe_open(struct probe *p, pid_t pid, int dirfd)
{
	char	 name[48];

	p->statm_fd = p->status_fd = p->clear_fd = p->image_fd = -1;
	p->stat_fd = p->pss_fd = p->children_fd = -1;
	p->clear_errno = p->image_errno = p->stat_errno = p->lost_errno = 0;
	p->page_size = (uint64_t)sysconf(_SC_PAGESIZE);
	if ((p->dir_fd = dirfd) == -1 && (p->dir_fd = proc_open_pid(pid)) == -1)
		return errno;
	if ((p->statm_fd = open_in(p, "statm", O_RDONLY)) == -1 ||
	    (p->status_fd = open_in(p, "status", O_RDONLY)) == -1) {
		int	 saved = errno;

		probe_close(p);
		return saved;
	}
	open_clear_refs(p);
	if ((p->image_fd = open_in(p, "maps", O_RDONLY)) == -1)
		p->image_errno = errno;
	if ((p->stat_fd = open_in(p, "stat", O_RDONLY)) == -1)
		p->stat_errno = errno;
	(void)snprintf(name, sizeof(name), "task/%d/children", (int)pid);
	p->children_fd = open_in(p, name, O_RDONLY);
	return 0;
}

/*
 * Read what one read(2) gives of the file just opened as fd (-1: the open
 * failed, with errno), and close it.  Return 0 and the length, or an errno.
 */
static int
read_and_close(int fd, char *buf, size_t size, size_t *len)
{
	ssize_t	 n;
	int	 error;

	*len = 0;
	if (fd == -1)
		return errno;
	n = read(fd, buf, size);
	error = errno;
	(void)close(fd);
	if (n == -1)
		return error;
	*len = (size_t)n;
	return 0;
}

/* Read one unsigned decimal field; return the position after it or NULL. */
static const char *
scan_u64(const char *s, const char *end, uint64_t *v)
{
	const char	*start = s;

	*v = 0;
	for (; s < end && *s >= '0' && *s <= '9'; s++) {
		if (*v > (UINT64_MAX - 9) / 10)
			return NULL;
		*v = *v * 10 + (uint64_t)(*s - '0');
	}
	return s == start ? NULL : s;
}

/*
 * Parse the contents of /proc/PID/statm ("size resident shared ...", in
 * pages; shared is the file-backed and shared memory of the resident).
 * Return 0 and the bytes, EINVAL if malformed, or ESRCH for the all-zero
 * line of a process without an address space.
 */
int
parse_statm(const char *buf, size_t len, uint64_t page_size, struct mem *m)
{
	const char	*s = buf, *end = buf + len;
	uint64_t	 size, resident, shared;

	if ((s = scan_u64(s, end, &size)) == NULL || s == end || *s != ' ' ||
	    (s = scan_u64(s + 1, end, &resident)) == NULL || s == end ||
	    *s != ' ' || scan_u64(s + 1, end, &shared) == NULL)
		return EINVAL;
	if (size == 0)
		return ESRCH;
	if (resident > UINT64_MAX / page_size || shared > resident)
		return EINVAL;
	m->rss = resident * page_size;
	m->file = shared * page_size;
	return 0;
}

/* Sample the resident memory: the per-sample path. */
int
probe_mem(const struct probe *p, struct mem *m)
{
	char	 buf[128];
	ssize_t	 n;

	if (p->statm_fd == -1)
		return p->lost_errno;
	if ((n = pread(p->statm_fd, buf, sizeof(buf), 0)) == -1)
		return errno;
	return parse_statm(buf, (size_t)n, p->page_size, m);
}

/* Skip the blanks after a key at s. */
static const char *
blanks(const char *s, const char *end)
{
	while (s < end && (*s == ' ' || *s == '\t'))
		s++;
	return s;
}

/* Parse "1234 kB" at s; 0 and the bytes, or EINVAL. */
static int
kib_value(const char *s, const char *end, uint64_t *v)
{
	uint64_t	 kib;

	if ((s = scan_u64(s, end, &kib)) == NULL ||
	    (size_t)(end - s) < 3 || memcmp(s, " kB", 3) != 0 ||
	    kib > UINT64_MAX / 1024)
		return EINVAL;
	*v = kib * 1024;
	return 0;
}

/* Whether the line at s, end at most, begins with key. */
static bool
begins(const char *s, const char *end, const char *key, size_t klen)
{
	return (size_t)(end - s) >= klen && memcmp(s, key, klen) == 0;
}

/*
 * Find "key   1234 kB" (key such as "VmHWM:", colon included, so that
 * "Pss:" is not "Pss_Anon:") at the start of a line of the contents of
 * /proc/PID/status or smaps_rollup.  Return 0 and the bytes, EINVAL if
 * malformed, or ESRCH if absent (no address space).
 */
int
parse_status_kib(const char *buf, size_t len, const char *key, uint64_t *v)
{
	const char	*s, *nl, *end = buf + len;
	size_t		 klen = strlen(key);

	for (s = buf; s < end; s = nl + 1) {
		if (begins(s, end, key, klen))
			return kib_value(blanks(s + klen, end), end, v);
		if ((nl = memchr(s, '\n', (size_t)(end - s))) == NULL)
			break;
	}
	return ESRCH;
}

/*
 * Read what a boundary needs of /proc/PID/status, in one pass: the
 * high-water mark, the swapped-out bytes (NO_VALUE without a VmSwap
 * line), the parent and the name (escaped as labels are).  Return 0 or an
 * errno; ESRCH: the process has no memory left (a zombie).
 */
int
probe_status(const struct probe *p, struct status *st)
{
	char		 buf[16384];
	const char	*s, *nl, *end;
	uint64_t	 ppid;
	ssize_t		 n;
	int		 error = ESRCH;

	if ((n = pread(p->status_fd, buf, sizeof(buf), 0)) == -1)
		return errno;
	st->swap = NO_VALUE;
	st->ppid = 0;
	st->name[0] = '\0';
	for (s = buf, end = buf + n; s < end; s = nl + 1) {
		if ((nl = memchr(s, '\n', (size_t)(end - s))) == NULL)
			nl = end;
		if (begins(s, nl, "VmHWM:", 6))
			error = kib_value(blanks(s + 6, nl), nl, &st->hwm);
		else if (begins(s, nl, "VmSwap:", 7) &&
		    kib_value(blanks(s + 7, nl), nl, &st->swap) != 0)
			st->swap = NO_VALUE;
		else if (begins(s, nl, "PPid:", 5) &&
		    scan_u64(blanks(s + 5, nl), nl, &ppid) != NULL &&
		    ppid <= INT_MAX)
			st->ppid = (pid_t)ppid;
		else if (begins(s, nl, "Name:", 5)) {
			s = blanks(s + 5, nl);
			label_escape(s, (size_t)(nl - s), st->name,
			    sizeof(st->name));
		}
	}
	return error;
}

/*
 * memwatch's own high-water mark, in bytes.  A launched command's first
 * image is a copy of memwatch, whose mark the kernel keeps for wait4(2) to
 * report; fork copies only the anonymous pages, so that mark stays below
 * memwatch's own.
 */
int
probe_self_hwm(uint64_t *hwm)
{
	char	 buf[16384];
	size_t	 len;
	int	 error;

	if ((error = read_and_close(open("/proc/self/status", O_RDONLY |
	    O_CLOEXEC), buf, sizeof(buf), &len)) != 0)
		return error;
	return parse_status_kib(buf, len, "VmHWM:", hwm);
}

/* Open name again in place of *fd, so that the kernel checks anew. */
static void
reopen(struct probe *p, int *fd, const char *name)
{
	(void)close(*fd);
	if ((*fd = open_in(p, name, O_RDONLY)) == -1)
		p->lost_errno = errno;
}

/*
 * Learn whether pid has executed a program since probe_open() or the last
 * call, and follow the new one, with the kernel's permission checks made
 * for the new one (a set-user-ID program may not be ours to reset).  An fd of /proc/PID/maps belongs to the
 * address space it was opened on, and reads empty once execve(2) (or the
 * exit) has done away with it; a live one always has mappings.  Return 0
 * and the answer, or an errno if it cannot be told.
 */
int
probe_new_image(struct probe *p, bool *changed)
{
	char	 c;
	ssize_t	 n;

	if (p->image_fd == -1)
		return p->image_errno;
	/*
	 * Refused now, where it was not: a program the kernel keeps from us
	 * (set-user-ID) runs there; another program all the same.
	 */
	if ((n = pread(p->image_fd, &c, 1, 0)) == -1 && errno != EACCES &&
	    errno != EPERM)
		return errno;
	if ((*changed = n <= 0)) {
		(void)close(p->image_fd);
		if ((p->image_fd = open_in(p, "maps", O_RDONLY)) == -1)
			p->image_errno = errno;
		open_clear_refs(p);
		/* hidden now (hidepid): read no more through the old fds */
		reopen(p, &p->statm_fd, "statm");
		reopen(p, &p->status_fd, "status");
	}
	return 0;
}

/*
 * Read field n (from 3) of the contents of /proc/PID/stat, a number.  The
 * command name in field 2 may hold spaces and parentheses, so fields are
 * counted from its last ")".  Return 0, or EINVAL if malformed.
 */
static int
stat_field(const char *buf, size_t len, int n, uint64_t *v)
{
	const char	*s, *end = buf + len;
	int		 field;

	for (s = end; s > buf && s[-1] != ')'; s--)
		continue;
	if (s == buf)
		return EINVAL;
	/* s is just past ")": field 3 is next */
	for (field = 3; field < n; field++) {
		if (s == end || *s != ' ')
			return EINVAL;
		for (s++; s < end && *s != ' '; s++)
			continue;
	}
	if (s == end || scan_u64(s + 1, end, v) == NULL)
		return EINVAL;
	return 0;
}

/*
 * Find cminflt, the page faults of the children a process has waited for,
 * in the contents of /proc/PID/stat (field 11; the command name in field 2
 * may hold spaces and parentheses, so fields are counted from its last
 * ")").  Return 0 and the count, or EINVAL if malformed.
 */
int
parse_stat_cminflt(const char *buf, size_t len, uint64_t *cminflt)
{
	return stat_field(buf, len, 11, cminflt);
}

/* The number of threads, field 20 of /proc/PID/stat; 0 or EINVAL. */
int
parse_stat_threads(const char *buf, size_t len, uint64_t *threads)
{
	return stat_field(buf, len, 20, threads);
}

/* Read the process's stat file and parse it with parse; 0 or an errno. */
static int
read_stat(const struct probe *p, int (*parse)(const char *, size_t,
    uint64_t *), uint64_t *v)
{
	char	 buf[1024];
	ssize_t	 n;

	if (p->stat_fd == -1)
		return p->stat_errno;
	if ((n = pread(p->stat_fd, buf, sizeof(buf), 0)) == -1)
		return errno;
	return parse(buf, (size_t)n, v);
}

/*
 * Count the page faults of the children the process has waited for
 * (cminflt, from its stat file, still there while it is a zombie): it
 * grows whenever the process reaps a child, whose high-water mark memwatch
 * can then no longer read.  Return 0 and the count, or an errno.
 */
int
probe_reaped(const struct probe *p, uint64_t *cminflt)
{
	return read_stat(p, parse_stat_cminflt, cminflt);
}

/* The number of the process's threads, from its stat file; 0 or an errno. */
int
probe_threads(const struct probe *p, uint64_t *threads)
{
	return read_stat(p, parse_stat_threads, threads);
}

/*
 * Read the children of the process's main thread (task/PID/children, kept
 * open) into buf, NUL-terminated.  Return 0, or an errno.
 */
int
probe_children(const struct probe *p, char *buf, size_t size)
{
	ssize_t	 n;

	if (p->children_fd == -1)
		return ENOENT;
	if ((n = pread(p->children_fd, buf, size - 1, 0)) == -1)
		return errno;
	buf[n] = '\0';
	return 0;
}

/*
 * Read the proportional set size (the "Pss:" line of smaps_rollup),
 * opening the file on first use.  The kernel walks the page tables to
 * answer, holding the process's mmap lock: the caller keeps this rare.
 * Return 0 or an errno.
 */
int
probe_pss(struct probe *p, uint64_t *pss)
{
	char	 buf[4096];
	ssize_t	 n;

	if (p->pss_fd == -1 &&
	    (p->pss_fd = open_in(p, "smaps_rollup", O_RDONLY)) == -1)
		return errno;
	if ((n = pread(p->pss_fd, buf, sizeof(buf), 0)) == -1)
		return errno;
	return parse_status_kib(buf, (size_t)n, "Pss:", pss);
}

/* Reset the high-water mark to the current resident set size. */
int
probe_reset_peak(const struct probe *p)
{
	if (p->clear_fd == -1)
		return p->clear_errno;
	if (pwrite(p->clear_fd, "5", 1, 0) == -1)
		return errno;
	return 0;
}

void
probe_close(struct probe *p)
{
	if (p->statm_fd != -1)
		(void)close(p->statm_fd);
	if (p->status_fd != -1)
		(void)close(p->status_fd);
	if (p->clear_fd != -1)
		(void)close(p->clear_fd);
	if (p->image_fd != -1)
		(void)close(p->image_fd);
	if (p->stat_fd != -1)
		(void)close(p->stat_fd);
	if (p->pss_fd != -1)
		(void)close(p->pss_fd);
	if (p->dir_fd != -1)
		(void)close(p->dir_fd);
	if (p->children_fd != -1)
		(void)close(p->children_fd);
	p->statm_fd = p->status_fd = p->clear_fd = p->image_fd = -1;
	p->stat_fd = p->pss_fd = p->dir_fd = p->children_fd = -1;
}
