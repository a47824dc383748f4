/*
 * loop.c: the one event loop.  A single thread polls a timerfd on an
 * absolute schedule (samples), a signalfd (boundaries and stop requests)
 * and the target's pidfd (its end; without one, SIGCHLD or /proc tell),
 * and cuts the run into segments.
 */

#include "config.h"

#include <sys/ioctl.h>
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

int64_t
now_ns(void)
{
	struct timespec	 ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec;
}

/* Say once why peaks are sampled from now on: file failed with error. */
static void
lose_exact_peaks(struct run *r, const char *file, int error)
{
	if (!r->exact)
		return;
	r->exact = false;
	errno = error;
	warn("/proc/%d/%s: peaks are sampled, not exact", (int)r->target.pid,
	    file);
}

/*
 * Whether the target has run another program since the last boundary.
 * The kernel's high-water mark is then the new program's alone, and the
 * old one's went into the mark that wait4(2) reports at the end.
 */
static bool
new_image(struct run *r)
{
	bool	 changed;
	int	 error;

	if ((error = probe_new_image(&r->probe, r->target.pid,
	    &changed)) != 0) {
		lose_exact_peaks(r, "maps", error);
		return true;
	}
	if (changed)
		r->new_image = true;
	return changed;
}

/* Record a sample of rss bytes in the current segment and the samples CSV. */
static void
record_sample(struct run *r, uint64_t rss)
{
	r->nsamples++;
	if (rss > r->peak_rss)
		r->peak_rss = rss;
	segment_sample(&r->segment, rss);
	output_sample(&r->samples, now_ns() - r->start, rss, r->segment.index);
}

/* A sample that could not be taken: say why, once, unless it is the end. */
static void
sample_failed(struct run *r, int error)
{
	/* without a pidfd, how the end of an attached process shows */
	if (error == ESRCH && r->target.pidfd == -1 && !r->target.launched)
		r->ended = true;
	if (error != ESRCH && !r->read_warned) {
		r->read_warned = true;
		errno = error;
		warn("/proc/%d/statm", (int)r->target.pid);
	}
}

/*
 * Take one sample and record it.  Return 0, or the errno of a process that
 * could not be read.
 */
static int
take_sample(struct run *r)
{
	uint64_t	 rss;
	int		 error;

	if ((error = probe_rss(&r->probe, &rss)) != 0)
		sample_failed(r, error);
	else
		record_sample(r, rss);
	return error;
}

static void
flush_outputs(struct run *r)
{
	output_flush(&r->samples);
	output_flush(&r->segments);
	r->last_flush = now_ns();
}

/*
 * Close the current segment with high-water mark hwm, and report it: to
 * a reader of the reply FIFO if there is one (it prints its own line),
 * else on stderr.
 */
static void
close_segment(struct run *r, uint64_t hwm, bool exact)
{
	char	 row[ROW_MAX];
	size_t	 len;

	segment_close(&r->segment, now_ns() - r->start, hwm, exact);
	if (r->segment.peak_rss > r->peak_rss)
		r->peak_rss = r->segment.peak_rss;
	len = format_segment(row, &r->segment);
	output_row(&r->segments, row, len);
	if (!fifo_reply(&r->fifo, row, len) && !r->quiet)
		report_segment(&r->segment);
	flush_outputs(r);
}

/*
 * A boundary while the target lives: sample now, read the kernel's
 * high-water mark and reset it, close the segment, open the next one
 * (labelled label, or by number if NULL) unless this is the end.
 */
static void
boundary(struct run *r, const char *label, bool last)
{
	char		 name[32];
	uint64_t	 hwm = 0;
	bool		 exact = false;
	int		 error;

	(void)take_sample(r);
	/* read, then reset at once: a spike in between would be lost */
	if (r->exact && probe_hwm(&r->probe, &hwm) == 0) {
		exact = true;
		if (!last && (error = probe_reset_peak(&r->probe)) != 0)
			lose_exact_peaks(r, "clear_refs", error);
	}
	if (r->exact && new_image(r))
		exact = false;
	close_segment(r, exact ? hwm : 0, exact);
	if (last)
		return;
	if (label == NULL) {
		(void)snprintf(name, sizeof(name), "segment %u",
		    r->segment.index + 1);
		label = name;
	}
	segment_open(&r->segment, r->segment.index + 1, label,
	    now_ns() - r->start, r->segment.end_rss);
}

/*
 * The target has exited.  A launched child is reaped, and its high-water
 * mark since the last reset comes with it, unless something else went into
 * that mark: children it waited for, a program it ran before the last
 * boundary, or its first image, a copy of memwatch, when the mark is no
 * higher than that could be.  An attached process leaves no such record.
 * Without one, the last peak is sampled.
 */
static void
target_ended(struct run *r)
{
	bool	 had_children = true;
	int	 error;

	if (r->target.launched)
		(void)probe_had_children(r->target.pid, &had_children);
	if ((error = target_reap(&r->target)) != 0) {
		errno = error;
		warn("wait for pid %d", (int)r->target.pid);
	}
	if (r->target.reaped && r->exact && !had_children && !r->new_image &&
	    r->target.maxrss > r->copy_hwm)
		close_segment(r, r->target.maxrss, true);
	else
		close_segment(r, 0, false);
}

/* One line from the marker FIFO: a boundary, the line its label. */
static void
on_marker_line(void *arg, const char *line, size_t len)
{
	char	 label[LABEL_MAX];

	label_escape(line, len, label, sizeof(label));
	boundary(arg, label[0] != '\0' ? label : NULL, false);
}

/*
 * Read at most max bytes of marker lines, and cut a segment for each.
 */
static void
read_markers(struct run *r, size_t max)
{
	char	 buf[PIPE_BUF];
	ssize_t	 n;
	uint64_t refused = r->fifo.lines.refused;

	while (max > 0 && (n = read(r->fifo.fd, buf, max < sizeof(buf) ?
	    max : sizeof(buf))) > 0) {
		marker_feed(&r->fifo.lines, buf, (size_t)n, on_marker_line, r);
		max -= (size_t)n;
	}
	if (refused == 0 && r->fifo.lines.refused > 0)
		warnx("%s: line longer than %d bytes ignored (said once)",
		    r->fifo.marker, PIPE_BUF);
}

static void
on_marker(struct run *r)
{
	read_markers(r, MARKER_READS * PIPE_BUF);
}

/*
 * At the end of the run, take every marker written before it: a target
 * may write many and die at once.  Only what is there now, since another
 * writer may go on for ever.
 */
static void
drain_markers(struct run *r)
{
	int	 n;

	if (r->fifo.fd != -1 && ioctl(r->fifo.fd, FIONREAD, &n) == 0 && n > 0)
		read_markers(r, (size_t)n);
}

static void
on_tick(struct run *r)
{
	uint64_t	 expirations;

	if (read(r->timerfd, &expirations, sizeof(expirations)) !=
	    sizeof(expirations))
		return;
	/* after a stall, one sample stands for the missed ticks */
	r->nlate += expirations - 1;
	(void)take_sample(r);
	if (now_ns() - r->last_flush >= NSEC_PER_SEC)
		flush_outputs(r);
}

static void
on_signals(struct run *r)
{
	enum signal_event	 ev;

	while (signals_next(r->sigfd, &r->target, &ev) == 0) {
		switch (ev) {
		case SIGNAL_BOUNDARY:
			boundary(r, NULL, false);
			break;
		case SIGNAL_CHILD:
			if (target_exited(&r->target))
				r->ended = true;
			break;
		case SIGNAL_STOP:
			r->stop = true;
			break;
		case SIGNAL_HANDLED:
			break;
		}
	}
}

static int
start_timer(struct run *r)
{
	struct itimerspec	 its;
	int64_t			 first = r->start + r->interval_ns;

	its.it_value.tv_sec = first / NSEC_PER_SEC;
	its.it_value.tv_nsec = first % NSEC_PER_SEC;
	its.it_interval.tv_sec = r->interval_ns / NSEC_PER_SEC;
	its.it_interval.tv_nsec = r->interval_ns % NSEC_PER_SEC;
	return timerfd_settime(r->timerfd, TFD_TIMER_ABSTIME, &its, NULL);
}

/* The run's first boundary: a sample at time 0 and a fresh peak. */
static void
start_run(struct run *r)
{
	uint64_t	 rss = 0;
	int		 error;

	r->start = r->last_flush = now_ns();
	r->exact = true;
	if ((error = probe_reset_peak(&r->probe)) != 0)
		lose_exact_peaks(r, "clear_refs", error);
	if (r->probe.image_fd == -1)
		lose_exact_peaks(r, "maps", r->probe.image_errno);
	/* unknown: then no mark from wait4(2) can be told from the copy's */
	if (r->target.launched && probe_self_hwm(&r->copy_hwm) != 0)
		r->copy_hwm = UINT64_MAX;
	error = probe_rss(&r->probe, &rss);
	segment_open(&r->segment, 1, "segment 1", 0, rss);
	if (error != 0)
		sample_failed(r, error);
	else
		record_sample(r, rss);
}

/* Leave with the command's status, unless an output was lost. */
static int
finish(struct run *r)
{
	fifo_remove(&r->fifo);
	output_close(&r->samples);
	output_close(&r->segments);
	if (!r->quiet)
		report_summary(now_ns() - r->start, r->peak_rss,
		    r->segment.index, r->nsamples, r->nlate);
	if (r->samples.failed || r->segments.failed)
		return EXIT_OUTPUT;
	return r->target.launched ? target_exit_status(&r->target) : 0;
}

/*
 * Watch the target until it exits or, when attached, until memwatch is
 * asked to stop.  Return memwatch's exit status.
 */
int
loop_run(struct run *r)
{
	struct pollfd	 pfd[POLL_N];

	start_run(r);
	if (start_timer(r) == -1) {
		warn("timerfd");
		return EXIT_INTERNAL;
	}
	pfd[POLL_TIMER].fd = r->timerfd;
	pfd[POLL_SIGNAL].fd = r->sigfd;
	pfd[POLL_TARGET].fd = r->target.pidfd;
	pfd[POLL_MARKER].fd = r->fifo.fd;	/* -1: no FIFO, ignored */
	for (int i = 0; i < POLL_N; i++)
		pfd[i].events = POLLIN;
	for (;;) {
		if (poll(pfd, POLL_N, -1) == -1) {
			if (errno == EINTR)
				continue;
			warn("poll");
			return EXIT_INTERNAL;
		}
		if (pfd[POLL_SIGNAL].revents & POLLIN)
			on_signals(r);
		/* markers first: a target may write one just before it ends */
		if (pfd[POLL_MARKER].revents & POLLIN)
			on_marker(r);
		if ((pfd[POLL_TARGET].revents & POLLIN) || r->ended) {
			drain_markers(r);
			target_ended(r);
			break;
		}
		if (pfd[POLL_TIMER].revents & POLLIN)
			on_tick(r);
		/* attached, nobody left to give the data to: done */
		if (!r->target.launched &&
		    (r->samples.failed || r->segments.failed))
			r->stop = true;
		if (r->stop) {
			drain_markers(r);
			boundary(r, NULL, true);
			break;
		}
	}
	return finish(r);
}
