/*
 * memwatch.h: the types and functions shared by memwatch's source files.
 */

#include <sys/types.h>
#include <sys/stat.h>
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
#define ROW_MAX		(2 * LABEL_MAX + 1024)	/* a segments CSV or reply row */
#define NO_VALUE	UINT64_MAX	/* a figure that could not be had */

/* duration.c */
int	 parse_duration(const char *, int64_t *, const char **);

/* size.c: sizes and limits on the command line */
int	 parse_size(const char *, uint64_t *, const char **);
int	 parse_limit(const char *, uint64_t *, uint32_t *, const char **);
void	 format_size(char *, size_t, uint64_t);

/* limit.c: the memory a process may use, for a limit in percent */
struct limit {
	uint64_t bytes;		/* the limit */
	uint64_t base;		/* what it is a share of; 0 if given in bytes */
	uint32_t ppm;		/* the share, in millionths; 0 if in bytes */
	const char *source;	/* where base came from: a file, MEM_LIMIT, MemTotal */
	bool	 cgroup;	/* source is a cgroup's file */
};
int	 limit_resolve(pid_t, uint32_t, struct limit *);
void	 limit_describe(const struct limit *, char *, size_t);

/* guard.c: the --limit policy */
#define GUARD_SIGNAL	0x1	/* send the limit signal to the root */
#define GUARD_KILL	0x2	/* SIGKILL the largest member but the root */
struct guard {
	uint64_t limit;		/* bytes; 0: no limit signal */
	char	 what[160];	/* the limit as said at the start */
	uint64_t kill;		/* bytes; 0: no SIGKILL */
	int	 signo;		/* the limit signal */
	uint64_t near, far;	/* the fast schedule from near, until below far */
	int64_t	 user_ns;	/* the user's interval */
	int64_t	 fast_ns;	/* the interval wanted near the limit */
	int64_t	 interval_ns;	/* the interval wanted now */
	bool	 signalled;	/* over the limit since the last signal */
	bool	 killed;	/* over the kill limit since the last kill */
	bool	 seen;		/* last and last_ns hold a sample */
	uint64_t last;
	int64_t	 last_ns;
	int64_t	 near_ns;	/* when memory was last near the limit */
	uint64_t pss;		/* the last PSS reading, with --pss */
	uint64_t pss_rss;	/* RSS then; 0 before the first */
};
void	 guard_init(struct guard *, uint64_t, int, int64_t, int64_t);
int	 guard_limit(struct guard *, const char *, pid_t, bool);
void	 guard_request(struct guard *, const char *, pid_t, bool);
bool	 guard_on(const struct guard *);
struct sample;
int	 guard_check(struct guard *, const struct sample *, bool, uint64_t *);
void	 guard_warn(const struct guard *, int, uint64_t, pid_t);
int	 parse_signal(const char *);

/* marker.c: lines from the marker FIFO, and labels made safe */
#define MARKER_UNFINISHED_NS	NSEC_PER_SEC	/* to finish a line */
struct marker_lines {
	char	 buf[PIPE_BUF];	/* the line so far */
	size_t	 len;
	bool	 overlong;	/* dropping a line too long to take */
	bool	 dry;		/* the FIFO ran dry with a line unfinished */
	int64_t	 dry_since;	/* ns */
	uint64_t refused;	/* lines dropped as too long */
	uint64_t unfinished;	/* lines dropped as never finished */
};
typedef void marker_fn(void *, const char *, size_t);
void	 marker_feed(struct marker_lines *, const char *, size_t, int64_t,
	    marker_fn *, void *);
void	 marker_dry(struct marker_lines *, int64_t);
bool	 marker_end(struct marker_lines *);
void	 label_escape(const char *, size_t, char *, size_t);

/* fifo.c: the marker, reply and ack FIFOs and their private directory */
struct fifo {
	char	 dir[PATH_MAX];
	char	 marker[PATH_MAX];
	char	 name[16];	/* of the PID directory */
	int	 dirfd;		/* -1 when there are no FIFOs */
	int	 fd;		/* the marker FIFO, read-write */
	struct marker_lines lines;
};
int	 fifo_create(struct fifo *, pid_t);
bool	 fifo_reply(const struct fifo *, const char *, size_t);
void	 fifo_read_lines(struct fifo *, size_t, marker_fn *, void *);
void	 fifo_drain_lines(struct fifo *, marker_fn *, void *);
int	 fifo_take(const struct fifo *, const char *, char *, size_t);
void	 fifo_remove(struct fifo *);
int	 fifo_find(struct fifo *, pid_t);
void	 fifo_ack(const struct fifo *, unsigned int, const char *);

/* trust.c: directories that others cannot change under memwatch */
struct stat;
enum trust { TRUST_ALL, TRUST_LINKS };	/* every directory, or links only */
bool	 trust_dir(const struct stat *, char *, size_t);
bool	 trust_shared_sticky(const struct stat *);
int	 trust_path(const char *, enum trust, char *, char *, size_t);
const char *path_split(const char *, char *);

/* mark.c: memwatch mark, a marker that cannot hang */
int	 mark_main(int, char *[]);

/* ipython.c: the IPython snippet for a launched or attached Python */
int	 ipython_inject(void);
void	 ipython_hint(pid_t);

/* probe.c: one process's memory, read from /proc */
struct probe {
	int	 dir_fd;	/* /proc/PID, which the others are opened in */
	int	 statm_fd;	/* /proc/PID/statm, kept open for the run */
	int	 status_fd;	/* /proc/PID/status, for VmHWM */
	int	 clear_fd;	/* /proc/PID/clear_refs, -1 if peaks are sampled */
	int	 clear_errno;	/* why clear_fd is -1 */
	int	 image_fd;	/* /proc/PID/maps of the program running */
	int	 image_errno;	/* why image_fd is -1 */
	int	 stat_fd;	/* /proc/PID/stat, for the children it reaped */
	int	 stat_errno;	/* why stat_fd is -1 */
	int	 lost_errno;	/* why statm, reopened after execve(2), is -1 */
	int	 pss_fd;	/* /proc/PID/smaps_rollup, opened on first use */
	int	 children_fd;	/* /proc/PID/task/PID/children, the main thread's */
	uint64_t page_size;
};
struct mem {
	uint64_t rss;		/* resident bytes */
	uint64_t file;		/* of them, file-backed or shared memory */
};
#define NAME_MAX_ESCAPED 80	/* a command name (16 bytes) escaped */
struct status {
	uint64_t hwm;		/* high-water mark of the resident set */
	uint64_t swap;		/* swapped out; NO_VALUE if not said */
	pid_t	 ppid;
	char	 name[NAME_MAX_ESCAPED];
};
int	 proc_open_root(void);
int	 proc_open(const char *, int);
int	 proc_open_pid(pid_t);
int	 proc_claim(int, bool);
int	 probe_open(struct probe *, pid_t, int);
int	 probe_mem(const struct probe *, struct mem *);
int	 probe_status(const struct probe *, struct status *);
int	 probe_self_hwm(uint64_t *);
int	 probe_reset_peak(const struct probe *);
int	 probe_new_image(struct probe *, bool *);
int	 probe_reaped(const struct probe *, uint64_t *);
int	 probe_threads(const struct probe *, uint64_t *);
int	 probe_children(const struct probe *, char *, size_t);
int	 probe_pss(struct probe *, uint64_t *);
int	 parse_statm(const char *, size_t, uint64_t, struct mem *);
int	 parse_status_kib(const char *, size_t, const char *, uint64_t *);
int	 parse_stat_cminflt(const char *, size_t, uint64_t *);
int	 parse_stat_threads(const char *, size_t, uint64_t *);
void	 probe_close(struct probe *);

/* tree.c: the processes watched */
struct member {
	pid_t	 pid;
	pid_t	 ppid;
	char	 comm[NAME_MAX_ESCAPED];
	struct probe probe;
	struct mem mem;		/* at the last sample */
	uint64_t pss;		/* at the last reading; NO_VALUE before */
	uint64_t hwm;		/* high-water mark at the last reading */
	uint64_t reaped;	/* its children's faults (cminflt), last read */
	bool	 reset_ok;	/* its mark can be reset */
	bool	 others;	/* another memwatch resets its mark */
	bool	 unreadable;	/* its memory cannot be read: not counted */
	bool	 ended;		/* the root, reaped: its mark is in hwm */
	bool	 ours;		/* runs memwatch's program: not counted */
};
struct tree {
	struct member *m;	/* m[0] is the root */
	size_t	 n, cap;
	bool	 children;	/* descendants too */
	bool	 reset;		/* marks are reset, not --no-reset */
	pid_t	 self;		/* memwatch, never a member */
	struct stat exe;	/* memwatch's program */
	bool	 scan;		/* no children files: scan parents */
	unsigned int seen;	/* members ever */
	unsigned int counted;	/* members in the last sample */
	unsigned int lost;	/* members dropped, for the meter to see */
	unsigned int unknown;	/* processes of the tree that cannot be read */
};
int	 tree_open(struct tree *, pid_t, int, bool, bool);
void	 tree_discover(struct tree *, bool);
int	 tree_sample(struct tree *, struct mem *);
void	 tree_drop(struct tree *, size_t);
void	 tree_exec(struct tree *, size_t);
pid_t	 tree_largest(const struct tree *);
void	 tree_more_fds(void);
void	 tree_restore_fds(void);

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
bool	 target_sent(int);
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
enum peak_kind {
	PEAK_EXACT,	/* the kernel's high-water marks vouch for it */
	PEAK_UPPER,	/* a bound from above: members' marks summed */
	PEAK_SAMPLED	/* the highest sample: a bound from below */
};
struct segment {
	unsigned int index;
	char	 label[LABEL_MAX];
	int64_t	 start_ns;	/* since the start of the run */
	int64_t	 end_ns;
	uint64_t start_rss;
	uint64_t end_rss;
	uint64_t end_anon;
	uint64_t end_file;
	uint64_t end_swap;	/* NO_VALUE where it could not be read */
	uint64_t peak_rss;
	uint64_t samples;
	unsigned int processes;	/* seen in the segment */
	unsigned int interrupts; /* by the --limit guard */
	enum peak_kind peak_kind;
	uint64_t limit;		/* the guard's limit as it closed; 0: none */
};
void	 segment_open(struct segment *, unsigned int, const char *,
	    int64_t, uint64_t);
void	 segment_sample(struct segment *, uint64_t);
void	 segment_close(struct segment *, int64_t, uint64_t, enum peak_kind);
const char *peak_kind_name(enum peak_kind);

/* outfile.c: one output file, streamed */
#define OUTFILE_MAX	(1024 * 1024)	/* waiting for a slow reader */
struct outfile {
	int	 fd;		/* -1 when not requested or failed */
	const char *path;
	bool	 regular;	/* a file, which may be removed under us */
	bool	 socket;	/* written with send(2), not to block */
	bool	 failed;
	bool	 behind;	/* the reader fell OUTFILE_MAX behind */
	dev_t	 dev;		/* for the same-file check */
	ino_t	 ino;
	char	*buf;		/* what waits for the reader */
	size_t	 len, size;
	uint64_t written;	/* bytes */
	uint64_t lost_rows, lost_bytes;
};
void	 outfile_std_fds(void);
int	 outfile_open(struct outfile *, const char *);
void	 outfile_write(struct outfile *, const char *, size_t);
void	 outfile_flush(struct outfile *);
void	 outfile_close(struct outfile *);
bool	 outfile_failed(const struct outfile *);
int	 outfile_replace(const char *, const char *, size_t);
int	 outfile_claim(const char *);

/* format.c: numbers and fields written by hand, for the per-sample path */
char	*fmt_u64(char *, uint64_t);
char	*fmt_i64(char *, int64_t);
char	*fmt_seconds(char *, int64_t);
char	*fmt_field(char *, const char *);
char	*fmt_value(char *, uint64_t);

/* sink.c and sink_*.c: the outputs, each called for what it asked for */
struct sample {			/* one tick: the tree's totals */
	int64_t	 t_ns;		/* since the start of the run */
	unsigned int segment;	/* index of the open segment */
	uint64_t rss, anon, file; /* bytes; anon + file == rss */
	uint64_t pss;		/* bytes, or NO_VALUE when not measured */
	unsigned int processes;	/* members alive */
};
struct member_sample {		/* one process of the tree at one tick */
	int64_t	 t_ns;
	unsigned int segment;
	pid_t	 pid, ppid;
	const char *comm;	/* escaped as labels are */
	uint64_t rss, anon, file;
	uint64_t pss;		/* NO_VALUE when not measured */
};
struct tally {			/* the run so far */
	int64_t	 start_realtime_ns; /* CLOCK_REALTIME at the start */
	int64_t	 elapsed_ns;
	uint64_t samples, late, peak_rss, current_rss;
	unsigned int segments;	/* closed so far */
	unsigned int processes;	/* seen so far */
	const struct segment *open; /* the open segment, NULL once ended */
	bool	 ended;		/* the run is over */
};
struct run_info {		/* kept by the sinks for the whole run */
	const char *command;	/* what is watched, for titles and labels */
	pid_t	 pid;		/* the root of the tree, once it runs */
	pid_t	 self;		/* memwatch */
	bool	 pss;		/* samples carry PSS */
};
struct sink;
struct sink_ops {
	const char *name;
	int	(*open)(struct sink *, const struct run_info *);
	void	(*sample)(struct sink *, const struct sample *);
	void	(*member)(struct sink *, const struct member_sample *);
	void	(*segment)(struct sink *, const struct segment *);
	void	(*flush)(struct sink *, const struct tally *);
	void	(*close)(struct sink *, const struct tally *);
};
struct sink {
	const struct sink_ops *ops;
	const char *path;
	struct outfile out;	/* for the streamed ones */
	void	*state;		/* the sink's own */
	bool	 failed;	/* for those that rewrite a whole file */
};
extern const struct sink_ops sink_samples, sink_segments, sink_processes;
int	 sinks_open(struct sink *, size_t, const struct run_info *);
void	 sinks_sample(struct sink *, size_t, const struct sample *);
void	 sinks_member(struct sink *, size_t, const struct member_sample *);
bool	 sinks_want_members(const struct sink *, size_t);
void	 sinks_segment(struct sink *, size_t, const struct segment *);
void	 sinks_flush(struct sink *, size_t, const struct tally *);
void	 sinks_close(struct sink *, size_t, const struct tally *);
bool	 sinks_failed(const struct sink *, size_t);
size_t	 format_segment(char *, const struct segment *);
int	 sink_csv_open(struct sink *, const struct run_info *, const char *,
	    const char *);
void	 sink_csv_flush(struct sink *, const struct tally *);
void	 sink_csv_close(struct sink *, const struct tally *);

/* reply.c: the row a reader of the reply FIFO gets for each segment */
size_t	 reply_encode(char *, const struct segment *, const char *);

/* report.c: the lines on standard error */
void	 report_segment(const struct segment *);
void	 report_summary(const struct tally *);

/* options: the command line, as main() read it */
#define OUTPUTS_MAX	8
struct options {
	int64_t	 interval_ns;
	bool	 quiet;
	bool	 children;	/* the whole tree, not --no-children */
	bool	 pss;		/* --pss */
	bool	 leave_alone;	/* --no-reset */
	const char *limit;	/* --limit as given; NULL: none */
	uint64_t limit_kill;	/* --limit-kill, bytes; 0: none */
	int	 limit_signal;	/* --limit-signal */
	int64_t	 limit_interval_ns; /* --limit-interval */
	pid_t	 pid;		/* attach to it; 0: run argv */
	char	**argv;
	struct sink outputs[OUTPUTS_MAX];
	size_t	 noutputs;
};

/* meter.c: the numbers of the segments, and how far each is to be trusted */
struct meter {
	struct tree	*tree;
	pid_t		 pid;		/* the root */
	struct segment	 seg;		/* the open one */
	bool		 pss;		/* read PSS */
	bool		 leave_alone;	/* never reset a mark */
	bool		 marks_warned;
	bool		 others_warned;
	bool		 read_warned;
	bool		 sampled;	/* the last boundary took a sample */
	bool		 new_image;	/* the root has run execve(2) */
	bool		 incomplete;	/* a period's marks say nothing */
	bool		 bound_only;	/* the root's last mark is a bound */
	uint64_t	 upper;		/* highest sum of marks, this segment */
	uint64_t	 single;	/* highest mark of one member, this segment */
	uint64_t	 hwm_at_open;	/* the root's mark when it opened */
	uint64_t	 closed_anon;	/* of the last segment closed */
	uint64_t	 closed_file;
	uint64_t	 copy_hwm;	/* bound on the first image's mark */
	uint64_t	 peak_rss;	/* over the whole run */
	uint64_t	 samples;
	int64_t		 period_start;
	int64_t		 discovered;	/* children last looked for */
	int64_t		 threads_discovered; /* and those of all threads */
	int64_t		 next_pss;
};
void	 meter_start(struct meter *, struct tree *, const struct target *,
	    bool, bool, struct sample *);
int	 meter_sample(struct meter *, int64_t, struct sample *);
void	 meter_cut(struct meter *, int64_t, const char *, struct segment *,
	    struct sample *);
void	 meter_stop(struct meter *, int64_t, struct segment *,
	    struct sample *);
void	 meter_exited(struct meter *, int64_t, const struct target *,
	    uint64_t, struct segment *);

/* loop.c: the one event loop */
struct watched {		/* what main() set up for the loop */
	struct target	 target;
	int		 rootdir;	/* the root's /proc directory, claimed */
	struct tree	 tree;
	struct fifo	 fifo;
	struct guard	 guard;		/* --limit, its limit resolved */
	int		 sigfd;
	int		 timerfd;
};
int	 loop_run(struct options *, struct watched *);
int64_t	 now_ns(void);

/* textbuf.c: a growing buffer for the outputs written whole */
struct textbuf {
	char	*data;
	size_t	 len, cap;
	bool	 failed;	/* out of memory: the text is not whole */
};
void	 textbuf_reset(struct textbuf *);
void	 textbuf_add(struct textbuf *, const char *, size_t);
void	 textbuf_puts(struct textbuf *, const char *);
void	 textbuf_printf(struct textbuf *, const char *, ...)
	    __attribute__((__format__(__printf__, 2, 3)));
void	 textbuf_free(struct textbuf *);

/* envelope.c: the run's memory in fixed min-max buckets, for the plot */
#define ENVELOPE_BUCKETS	1024
#define PLOT_PROCS		6	/* processes the plot follows */
#define ENVELOPE_SERIES		(1 + PLOT_PROCS)	/* the tree's first */
struct envelope {
	int64_t	 width_ns;	/* of each bucket; doubles as the run grows */
	unsigned int used;	/* buckets up to the latest value */
	uint64_t min[ENVELOPE_SERIES][ENVELOPE_BUCKETS];
	uint64_t max[ENVELOPE_SERIES][ENVELOPE_BUCKETS];
};
void	 envelope_init(struct envelope *, int64_t);
void	 envelope_clear(struct envelope *, unsigned int);
void	 envelope_add(struct envelope *, unsigned int, int64_t, uint64_t);
bool	 envelope_has(const struct envelope *, unsigned int, unsigned int);

/* sink_plot.c, sink_metrics.c: the plot and the Prometheus textfile */
extern const struct sink_ops sink_plot;
extern const struct sink_ops sink_notebook_plot;
extern const struct sink_ops sink_metrics;
