/*
 * loop.c: the one event loop.  A single thread polls a timerfd on an
 * absolute schedule (samples), a signalfd (boundaries and stop requests),
 * the target's pidfd (its end; without one, SIGCHLD or /proc tell) and the
 * marker FIFO, and dispatches: the meter takes the numbers, the sinks
 * write them, the reply FIFO or standard error reports each segment.
 */

#include "config.h"

#include <sys/timerfd.h>

#include <err.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "memwatch.h"

enum { POLL_TIMER, POLL_SIGNAL, POLL_TARGET, POLL_MARKER, POLL_N };

/* PIPE_BUF reads per wakeup, so a flood of markers cannot starve the timer */
#define MARKER_READS	16

/* Why the run is over, once it is. */
enum over { RUNNING, OVER_EXITED, OVER_STOPPED };

struct run {
	const struct options *opt;
	struct target	*target;
	struct tree	*tree;
	struct fifo	*fifo;
	struct meter	 meter;
	struct sink	*sinks;
	size_t		 nsinks;
	struct guard	*guard;
	int		 sigfd;
	int		 timerfd;
	int64_t		 timer_ns;	/* the timer's interval now */
	int64_t		 start;		/* CLOCK_MONOTONIC, ns */
	int64_t		 start_realtime;
	int64_t		 last_flush;
	uint64_t	 late;		/* ticks missed after a stall */
	unsigned int	 closed;	/* segments closed */
	bool		 reader;	/* a reader has taken reply rows */
	bool		 members;	/* a sink takes per-process samples */
	enum over	 over;
};

int64_t
now_ns(void)
{
	struct timespec	 ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec;
}

static int64_t
elapsed(const struct run *r)
{
	return now_ns() - r->start;
}

static void
tally(const struct run *r, struct tally *t)
{
	t->start_realtime_ns = r->start_realtime;
	t->elapsed_ns = elapsed(r);
	t->samples = r->meter.samples;
	t->late = r->late;
	t->peak_rss = r->meter.peak_rss;
	t->current_rss = r->meter.seg.end_rss;
	t->segments = r->closed;
	t->processes = r->tree->seen;
	t->open = r->over == RUNNING ? &r->meter.seg : NULL;
	t->ended = r->over != RUNNING;
}

static void
flush_outputs(struct run *r)
{
	struct tally	 t;

	tally(r, &t);
	sinks_flush(r->sinks, r->nsinks, &t);
	r->last_flush = now_ns();
}

/* A sample the meter took: to the sinks, and each member's if wanted. */
static void
record_sample(struct run *r, const struct sample *s)
{
	struct member_sample	 ms;
	const struct member	*mb;

	sinks_sample(r->sinks, r->nsinks, s);
	if (!r->members)
		return;
	ms.t_ns = s->t_ns;
	ms.segment = s->segment;
	for (size_t i = 0; i < r->tree->n; i++) {
		mb = &r->tree->m[i];
		if (mb->unreadable || mb->ours)
			continue;
		ms.pid = mb->pid;
		ms.ppid = mb->ppid;
		ms.comm = mb->comm;
		ms.rss = mb->mem.rss;
		ms.file = mb->mem.file;
		ms.anon = mb->mem.rss - mb->mem.file;
		ms.pss = s->pss != NO_VALUE ? mb->pss : NO_VALUE;
		sinks_member(r->sinks, r->nsinks, &ms);
	}
}

/*
 * Put the timer on an absolute schedule: the first tick at first, then
 * every interval ns.  Return 0, or -1 with errno set.
 */
static int
arm_timer(struct run *r, int64_t first, int64_t interval)
{
	struct itimerspec	 its;

	its.it_value.tv_sec = first / NSEC_PER_SEC;
	its.it_value.tv_nsec = first % NSEC_PER_SEC;
	its.it_interval.tv_sec = interval / NSEC_PER_SEC;
	its.it_interval.tv_nsec = interval % NSEC_PER_SEC;
	if (timerfd_settime(r->timerfd, TFD_TIMER_ABSTIME, &its, NULL) == -1)
		return -1;
	r->timer_ns = interval;
	return 0;
}

/*
 * Show the guard a sample, and do what it asks: the limit signal to the
 * root, as a terminal's Ctrl-C reaches the foreground job, counted in the
 * segment; SIGKILL to the largest member but the root; another interval.
 */
static void
guard_sample(struct run *r, const struct sample *s)
{
	uint64_t	 mem;
	pid_t		 pid;
	int		 act;

	if (!guard_on(r->guard))
		return;
	act = guard_check(r->guard, s, r->opt->pss, &mem);
	if (act & GUARD_SIGNAL) {
		guard_warn(r->guard, GUARD_SIGNAL, mem, r->target->pid);
		target_signal(r->target, r->guard->signo, NULL);
		r->meter.seg.interrupts++;
	}
	if (act & GUARD_KILL) {
		if ((pid = tree_largest(r->tree)) == 0)
			guard_warn(r->guard, GUARD_KILL, mem, 0);
		else {
			guard_warn(r->guard, GUARD_KILL, mem, pid);
			if (kill(pid, SIGKILL) == -1 && errno != ESRCH)
				warn("kill pid %d", (int)pid);
		}
	}
	/* the guard's schedule near the limit, or the user's again */
	if (r->guard->interval_ns != r->timer_ns)
		(void)arm_timer(r, now_ns() + r->guard->interval_ns,
		    r->guard->interval_ns);
}

/*
 * A segment the meter closed, next the label of the one its boundary
 * opened: to the sinks, and reported to a reader of the reply FIFO if
 * there is one (it prints its own line), else on standard error.  Once a
 * reader has taken rows, the lines are its own to print, the last
 * segment's too.
 */
static void
record_segment(struct run *r, const struct segment *s, const char *next)
{
	char	 row[ROW_MAX];

	r->closed++;
	sinks_segment(r->sinks, r->nsinks, s);
	if (fifo_reply(r->fifo, row, reply_encode(row, s, next)))
		r->reader = true;
	else if (!r->opt->quiet && !r->reader)
		report_segment(s);
	flush_outputs(r);
}

/* A boundary while the target lives, the next segment labelled label. */
static void
boundary(struct run *r, const char *label)
{
	struct segment	 closed;
	struct sample	 s;

	meter_cut(&r->meter, elapsed(r), label, &closed, &s);
	closed.limit = r->guard->limit;
	if (r->meter.sampled)
		record_sample(r, &s);
	record_segment(r, &closed, r->meter.seg.label);
	if (r->meter.sampled)
		guard_sample(r, &s);
}

/*
 * One line from the marker FIFO: a boundary, the line its label, and word
 * to a memwatch mark that waits for it.
 */
static void
on_marker_line(void *arg, const char *line, size_t len)
{
	struct run	*r = arg;
	char		 label[LABEL_MAX], limit[64];

	/* a new limit from the IPython snippet, from this boundary on */
	if (fifo_take(r->fifo, "limit", limit, sizeof(limit)) == 0)
		guard_request(r->guard, limit, r->target->pid, r->opt->quiet);
	label_escape(line, len, label, sizeof(label));
	boundary(r, label[0] != '\0' ? label : NULL);
	fifo_ack(r->fifo, r->meter.seg.index, label);
}

static void
on_tick(struct run *r)
{
	struct sample	 s;
	uint64_t	 expirations;
	int		 error;

	if (read(r->timerfd, &expirations, sizeof(expirations)) !=
	    sizeof(expirations))
		return;
	/* after a stall, one sample stands for the missed ticks */
	r->late += expirations - 1;
	if ((error = meter_sample(&r->meter, elapsed(r), &s)) == 0) {
		record_sample(r, &s);
		guard_sample(r, &s);
	}
	/* without a pidfd, how the end of an attached process shows */
	else if (error == ESRCH && r->target->pidfd == -1 &&
	    !r->target->launched)
		r->over = OVER_EXITED;
	if (now_ns() - r->last_flush >= NSEC_PER_SEC)
		flush_outputs(r);
}

static void
on_signals(struct run *r)
{
	enum signal_event	 ev;

	while (signals_next(r->sigfd, r->target, &ev) == 0) {
		switch (ev) {
		case SIGNAL_BOUNDARY:
			boundary(r, NULL);
			break;
		case SIGNAL_CHILD:
			if (target_exited(r->target))
				r->over = OVER_EXITED;
			break;
		case SIGNAL_STOP:
			r->over = OVER_STOPPED;
			break;
		case SIGNAL_HANDLED:
			break;
		}
	}
}

/*
 * The end of the run: the last markers, the last segment, closed by the
 * target's exit (reaped, if it was launched) or by memwatch's stop.
 */
static void
end_run(struct run *r)
{
	struct segment	 closed;
	struct sample	 s;
	uint64_t	 reaped = UINT64_MAX;	/* unknown: as if it had */
	int		 error;

	fifo_drain_lines(r->fifo, on_marker_line, r);
	if (r->over == OVER_STOPPED) {
		meter_stop(&r->meter, elapsed(r), &closed, &s);
		if (r->meter.sampled)
			record_sample(r, &s);
	} else {
		/* its stat file stays while it is a zombie, until reaped */
		(void)probe_reaped(&r->tree->m[0].probe, &reaped);
		if ((error = target_reap(r->target)) != 0) {
			errno = error;
			warn("wait for pid %d", (int)r->target->pid);
		}
		meter_exited(&r->meter, elapsed(r), r->target, reaped,
		    &closed);
	}
	closed.limit = r->guard->limit;
	record_segment(r, &closed, "");
}

static int
start_timer(struct run *r)
{
	return arm_timer(r, r->start + r->opt->interval_ns,
	    r->opt->interval_ns);
}

/* The run's first boundary: a sample at time 0 and a fresh peak. */
static void
start_run(struct run *r)
{
	struct timespec	 ts;
	struct sample	 s;

	(void)clock_gettime(CLOCK_REALTIME, &ts);
	r->start_realtime = (int64_t)ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec;
	r->start = r->last_flush = now_ns();
	meter_start(&r->meter, r->tree, r->target, r->opt->pss,
	    r->opt->leave_alone, &s);
	if (r->meter.sampled) {
		record_sample(r, &s);
		guard_sample(r, &s);
	}
}

/* Leave with the command's status, unless an output was lost. */
static int
finish(struct run *r)
{
	struct tally	 t;

	fifo_remove(r->fifo);
	tally(r, &t);
	sinks_close(r->sinks, r->nsinks, &t);
	if (!r->opt->quiet)
		report_summary(&t);
	if (sinks_failed(r->sinks, r->nsinks))
		return EXIT_OUTPUT;
	return r->target->launched ? target_exit_status(r->target) : 0;
}

/*
 * Watch what main() set up in w, with the options opt, until the target
 * exits or, when attached, until memwatch is asked to stop.  Return
 * memwatch's exit status.
 */
int
loop_run(struct options *opt, struct watched *w)
{
	static struct run r;
	struct pollfd	 pfd[POLL_N];

	memset(&r, 0, sizeof(r));
	r.opt = opt;
	r.target = &w->target;
	r.tree = &w->tree;
	r.fifo = &w->fifo;
	r.guard = &w->guard;
	r.sigfd = w->sigfd;
	r.timerfd = w->timerfd;
	r.sinks = opt->outputs;
	r.nsinks = opt->noutputs;
	r.members = sinks_want_members(r.sinks, r.nsinks);
	start_run(&r);
	if (start_timer(&r) == -1) {
		warn("timerfd");
		return EXIT_INTERNAL;
	}
	pfd[POLL_TIMER].fd = r.timerfd;
	pfd[POLL_SIGNAL].fd = r.sigfd;
	pfd[POLL_TARGET].fd = r.target->pidfd;
	pfd[POLL_MARKER].fd = r.fifo->fd;	/* -1: no FIFO, ignored */
	for (int i = 0; i < POLL_N; i++)
		pfd[i].events = POLLIN;
	while (r.over == RUNNING) {
		if (poll(pfd, POLL_N, -1) == -1) {
			if (errno == EINTR)
				continue;
			warn("poll");
			return EXIT_INTERNAL;
		}
		if (pfd[POLL_SIGNAL].revents & POLLIN)
			on_signals(&r);
		/* markers first: a target may write one just before it ends */
		if (pfd[POLL_MARKER].revents & POLLIN)
			fifo_read_lines(r.fifo, MARKER_READS * PIPE_BUF,
			    on_marker_line, &r);
		if (pfd[POLL_TARGET].revents & POLLIN)
			r.over = OVER_EXITED;
		if (r.over == RUNNING && (pfd[POLL_TIMER].revents & POLLIN))
			on_tick(&r);
		/* attached, nobody left to give the data to: done */
		if (r.over == RUNNING && !r.target->launched &&
		    sinks_failed(r.sinks, r.nsinks))
			r.over = OVER_STOPPED;
	}
	end_run(&r);
	return finish(&r);
}
