/*
 * memwatch.h: the types and functions shared by memwatch's source files.
 */

#include <sys/types.h>
#include <sys/resource.h>

#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* Exit statuses of memwatch's own; launch mode otherwise returns COMMAND's. */
#define EXIT_INTERNAL		121	/* a system call memwatch needs failed */
#define EXIT_DENIED		122	/* the process cannot be read */
#define EXIT_NO_PROCESS		123	/* no such process to attach to */
#define EXIT_OUTPUT		124	/* an output file could not be written */
#define EXIT_USAGE		125	/* bad command line */
#define EXIT_CANNOT_RUN		126	/* COMMAND found but not executable */
#define EXIT_NOT_FOUND		127	/* COMMAND not found */

#define NSEC_PER_SEC	1000000000LL
#define MIB		(1024.0 * 1024.0)
#define LABEL_MAX	1024	/* an escaped marker label, NUL included */
#define ROW_MAX		(2 * LABEL_MAX + 512)	/* a segments CSV row */

/* duration.c */
int	 parse_duration(const char *, int64_t *, const char **);

/* marker.c: lines from the marker FIFO, and labels made safe */
struct marker_lines {
	char	 buf[PIPE_BUF];	/* the line so far */
	size_t	 len;
	bool	 overlong;	/* dropping a line too long to take */
	uint64_t refused;	/* lines dropped so */
};
void	 marker_feed(struct marker_lines *, const char *, size_t,
	    void (*)(void *, const char *, size_t), void *);
void	 label_escape(const char *, size_t, char *, size_t);

/* fifo.c: the marker and reply FIFOs and their private directory */
struct fifo {
	char	 dir[PATH_MAX];
	char	 marker[PATH_MAX];
	int	 dirfd;		/* -1 when there are no FIFOs */
	int	 fd;		/* the marker FIFO, read-write */
	struct marker_lines lines;
};
int	 fifo_create(struct fifo *, pid_t);
bool	 fifo_reply(const struct fifo *, const char *, size_t);
void	 fifo_remove(struct fifo *);

/* ipython.c: the IPython snippet for a launched or attached Python */
int	 ipython_inject(void);
void	 ipython_hint(pid_t);

/* probe.c: one process's memory, read from /proc */
struct probe {
	int	 statm_fd;	/* /proc/PID/statm, kept open for the run */
	int	 status_fd;	/* /proc/PID/status, for VmHWM */
	int	 clear_fd;	/* /proc/PID/clear_refs, -1 if peaks are sampled */
	int	 clear_errno;	/* why clear_fd is -1 */
	int	 image_fd;	/* /proc/PID/maps of the program running */
	int	 image_errno;	/* why image_fd is -1 */
	uint64_t page_size;
};
int	 probe_open(struct probe *, pid_t);
int	 probe_rss(const struct probe *, uint64_t *);
int	 probe_hwm(const struct probe *, uint64_t *);
int	 probe_self_hwm(uint64_t *);
int	 probe_reset_peak(const struct probe *);
int	 probe_new_image(struct probe *, pid_t, bool *);
int	 parse_statm(const char *, size_t, uint64_t, uint64_t *);
int	 parse_status_hwm(const char *, size_t, uint64_t *);
int	 parse_stat_cminflt(const char *, size_t, uint64_t *);
int	 probe_had_children(pid_t, bool *);
void	 probe_close(struct probe *);

/* target.c: the process watched */
struct target {
	pid_t	 pid;
	int	 pidfd;		/* -1 where the kernel has no pidfds */
	bool	 launched;	/* ours to reap, and to pass signals to */
	int	 gate[2];	/* holds the child back until the FIFO exists */
	int	 report[2];	/* execvp's errno, if it fails */
	bool	 stopped;	/* a launched child, stopped (signals.c) */
	bool	 reaped;
	int	 status;	/* wait status once reaped */
	uint64_t maxrss;	/* high-water mark at exit, bytes, once reaped */
};
int	 target_attach(struct target *, pid_t);
int	 target_spawn(struct target *, char *const []);
int	 target_exec(struct target *, const char *, const char *);
int	 target_reap(struct target *);
bool	 target_exited(const struct target *);
bool	 target_alive(const struct target *);
void	 target_signal(const struct target *, int, siginfo_t *);
int	 target_exit_status(const struct target *);
int	 target_exit_as(int);

/* signals.c: the signals memwatch takes and passes on; job control */
enum signal_event {
	SIGNAL_BOUNDARY,	/* SIGUSR1: cut a segment */
	SIGNAL_CHILD,		/* SIGCHLD: without a pidfd, the target may have exited */
	SIGNAL_STOP,		/* end the run now and write everything */
	SIGNAL_HANDLED		/* nothing for the loop to do */
};
int	 signals_open(void);
int	 signals_next(int, struct target *, enum signal_event *);
void	 signals_foreground(pid_t);
void	 signals_die_at_exit(int);

/* segment.c: the stretch between two boundaries */
struct segment {
	unsigned int index;
	char	 label[LABEL_MAX];
	int64_t	 start_ns;	/* since the start of the run */
	int64_t	 end_ns;
	uint64_t start_rss;
	uint64_t end_rss;
	uint64_t peak_rss;
	uint64_t samples;
	bool	 exact;		/* peak includes the kernel's high-water mark */
};
void	 segment_open(struct segment *, unsigned int, const char *,
	    int64_t, uint64_t);
void	 segment_sample(struct segment *, uint64_t);
void	 segment_close(struct segment *, int64_t, uint64_t, bool);

/* output.c: CSV files and the lines on stderr */
struct output {
	FILE	*fp;		/* NULL when not requested or failed */
	const char *path;
	bool	 regular;	/* a file, which may be removed under us */
	bool	 failed;
};
int	 output_open(struct output *, const char *, const char *);
void	 output_sample(struct output *, int64_t, uint64_t, unsigned int);
size_t	 format_segment(char *, const struct segment *);
void	 output_row(struct output *, const char *, size_t);
void	 output_flush(struct output *);
void	 output_close(struct output *);
void	 report_segment(const struct segment *);
void	 report_summary(int64_t, uint64_t, unsigned int, uint64_t, uint64_t);

/* loop.c: the one event loop */
struct run {
	struct target	 target;
	struct probe	 probe;
	struct output	 samples;
	struct output	 segments;
	struct segment	 segment;	/* the open one */
	struct fifo	 fifo;
	int64_t		 interval_ns;
	bool		 quiet;
	int		 sigfd;
	int		 timerfd;
	int64_t		 start;		/* CLOCK_MONOTONIC, ns */
	int64_t		 last_flush;
	bool		 exact;		/* the peak can still be reset */
	bool		 new_image;	/* the target has run execve(2) */
	uint64_t	 copy_hwm;	/* bound on the first image's mark */
	bool		 stop;		/* asked to stop while attached */
	bool		 ended;		/* the target ended, seen without a pidfd */
	bool		 read_warned;
	uint64_t	 peak_rss;	/* over the whole run */
	uint64_t	 nsamples;
	uint64_t	 nlate;		/* ticks missed after a stall */
};
int	 loop_run(struct run *);
int64_t	 now_ns(void);
