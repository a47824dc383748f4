/*
 * meter.c: the numbers of the segments, and the rules of how far each can
 * be trusted.  The loop says when: a tick (meter_sample), a boundary
 * (meter_cut), the end of the run (meter_end); the meter reads the process,
 * keeps the open segment, and hands back each segment it closes.
 *
 * A peak is exact when the kernel's high-water mark (VmHWM) vouches for
 * it: the mark is read at every boundary and then reset through
 * clear_refs, so it covers the segment alone.  It is not exact where the
 * reset is refused, where the process ran another program during the
 * segment (the mark is then the new program's alone), or at the end of a
 * run where wait4(2)'s mark cannot be told from others.
 */

#include "config.h"

#include <err.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "memwatch.h"

/* Say once why peaks are sampled from now on: file failed with error. */
static void
lose_exact_peaks(struct meter *m, const char *file, int error)
{
	if (!m->exact)
		return;
	m->exact = false;
	errno = error;
	warn("/proc/%d/%s: peaks are sampled, not exact", (int)m->pid, file);
}

/*
 * Whether the process has run another program since the last boundary.
 * The kernel's high-water mark is then the new program's alone, and the
 * old one's went into the mark that wait4(2) reports at the end.
 */
static bool
new_image(struct meter *m)
{
	bool	 changed;
	int	 error;

	if ((error = probe_new_image(m->probe, m->pid, &changed)) != 0) {
		lose_exact_peaks(m, "maps", error);
		return true;
	}
	if (changed)
		m->new_image = true;
	return changed;
}

/* A sample that could not be taken: say why, once, unless it is the end. */
static void
sample_failed(struct meter *m, int error)
{
	if (error != ESRCH && !m->read_warned) {
		m->read_warned = true;
		errno = error;
		warn("/proc/%d/statm", (int)m->pid);
	}
}

/*
 * Take one sample at time t (since the start) into *s.  Return 0, or the
 * errno of a process that could not be read (ESRCH: it is gone).
 */
int
meter_sample(struct meter *m, int64_t t, struct sample *s)
{
	struct mem	 mem;
	int		 error;

	if ((error = probe_mem(m->probe, &mem)) != 0) {
		sample_failed(m, error);
		return error;
	}
	m->samples++;
	if (mem.rss > m->peak_rss)
		m->peak_rss = mem.rss;
	segment_sample(&m->seg, mem.rss);
	m->seg.end_anon = mem.rss - mem.file;
	m->seg.end_file = mem.file;
	memset(s, 0, sizeof(*s));
	s->t_ns = t;
	s->segment = m->seg.index;
	s->rss = mem.rss;
	s->file = mem.file;
	s->anon = mem.rss - mem.file;
	s->pss = NO_VALUE;
	s->processes = 1;
	return 0;
}

/* Close the open segment at time t with the marks' word mark of kind. */
static void
close_segment(struct meter *m, int64_t t, uint64_t mark, enum peak_kind kind,
    struct segment *closed)
{
	segment_close(&m->seg, t, mark, kind);
	if (m->seg.peak_rss > m->peak_rss)
		m->peak_rss = m->seg.peak_rss;
	*closed = m->seg;
}

/*
 * Read the high-water mark and, unless this is the end, reset it at once:
 * a spike in between would be lost.  Return the mark, or 0 with *kind
 * PEAK_SAMPLED where it says nothing of this segment.
 */
static uint64_t
read_mark(struct meter *m, bool reset, enum peak_kind *kind)
{
	uint64_t	 hwm = 0;
	int		 error;

	*kind = PEAK_SAMPLED;
	if (!m->exact || probe_hwm(m->probe, &hwm) != 0)
		return 0;
	*kind = PEAK_EXACT;
	if (reset && (error = probe_reset_peak(m->probe)) != 0)
		lose_exact_peaks(m, "clear_refs", error);
	if (m->exact && new_image(m))
		*kind = PEAK_SAMPLED;
	return *kind == PEAK_EXACT ? hwm : 0;
}

/*
 * A boundary at time t while the process lives: sample, close the open
 * segment into *closed, open the next one labelled label (by number if
 * NULL).
 */
void
meter_cut(struct meter *m, int64_t t, const char *label,
    struct segment *closed, struct sample *s)
{
	char		 name[32];
	enum peak_kind	 kind;
	uint64_t	 mark;

	m->sampled = meter_sample(m, t, s) == 0;
	mark = read_mark(m, true, &kind);
	close_segment(m, t, mark, kind, closed);
	if (label == NULL) {
		(void)snprintf(name, sizeof(name), "segment %u",
		    m->seg.index + 1);
		label = name;
	}
	segment_open(&m->seg, m->seg.index + 1, label, t, m->seg.end_rss);
	m->seg.processes = 1;
}

/*
 * The end of the run at time t, the process still there (memwatch was
 * asked to stop): a last sample, the last segment into *closed.
 */
void
meter_stop(struct meter *m, int64_t t, struct segment *closed,
    struct sample *s)
{
	enum peak_kind	 kind;
	uint64_t	 mark;

	m->sampled = meter_sample(m, t, s) == 0;
	mark = read_mark(m, false, &kind);
	close_segment(m, t, mark, kind, closed);
}

/*
 * The end of the run at time t: the process has exited.  A launched child
 * has been reaped, and its high-water mark since the last reset came with
 * it (in t->maxrss), unless something else went into that mark: children
 * it waited for, a program it ran before the last boundary, or its first
 * image, a copy of memwatch, when the mark is no higher than that could
 * be.  An attached process leaves no such record.  Without one, the last
 * peak is sampled.
 */
void
meter_exited(struct meter *m, int64_t t, const struct target *tg,
    bool had_children, struct segment *closed)
{
	if (tg->reaped && m->exact && !had_children && !m->new_image &&
	    tg->maxrss > m->copy_hwm)
		close_segment(m, t, tg->maxrss, PEAK_EXACT, closed);
	else
		close_segment(m, t, 0, PEAK_SAMPLED, closed);
}

/*
 * The run's first boundary, at time 0: a fresh peak and a first sample
 * into *s (m->sampled says whether one could be had).
 */
void
meter_start(struct meter *m, struct probe *p, const struct target *tg,
    struct sample *s)
{
	int	 error;

	memset(m, 0, sizeof(*m));
	m->probe = p;
	m->pid = tg->pid;
	m->exact = true;
	if ((error = probe_reset_peak(p)) != 0)
		lose_exact_peaks(m, "clear_refs", error);
	if (p->image_fd == -1)
		lose_exact_peaks(m, "maps", p->image_errno);
	/* unknown: then no mark from wait4(2) can be told from the copy's */
	if (tg->launched && probe_self_hwm(&m->copy_hwm) != 0)
		m->copy_hwm = UINT64_MAX;
	segment_open(&m->seg, 1, "segment 1", 0, 0);
	m->seg.processes = 1;
	m->sampled = meter_sample(m, 0, s) == 0;
	if (m->sampled)
		m->seg.start_rss = s->rss;
}
