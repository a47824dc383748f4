/*
 * meter.c: the numbers of the segments, and the rules of how far each can
 * be trusted.  The loop says when: a tick (meter_sample), a boundary
 * (meter_cut), the end of the run (meter_stop, meter_exited); the meter
 * reads the tree, keeps the open segment, and hands back each segment it
 * closes.
 *
 * Each member's peak comes from the kernel's high-water mark (VmHWM),
 * read and reset through clear_refs at the end of every period: at each
 * boundary, and, while the tree has more than one member, at ticks at
 * least PERIOD_NS apart.  Within a period the tree never held more than
 * the sum of its members' marks, so the highest such sum bounds the
 * segment's peak from above ("upper"); with one member, the sum is its
 * mark, and the peak is exact.  A period's marks say nothing where a
 * member ended within it (its mark went with it), a member reaped a child
 * (one memwatch may never have seen), a member ran another program (the
 * old program's mark went), or a process of the tree could not be read:
 * the segment's peak is then the highest sample or single mark, a bound
 * from below ("sampled").
 */

#include "config.h"

#include <err.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "memwatch.h"

#define PERIOD_NS	(10 * 1000000LL)	/* marks at most every 10 ms */
#define DISCOVER_NS	(10 * 1000000LL)	/* so is the search for children, */
#define THREADS_NS	(200 * 1000000LL)	/* of other threads than the main */
#define PSS_EVERY_NS	NSEC_PER_SEC		/* PSS at most once a second, */
#define PSS_SHARE	50			/* and at most 2% of the time */

/*
 * Say once why peaks are not what the marks say: file of pid failed with
 * error.  (Where a mark cannot be reset, a peak is still exact where the
 * mark rose in the segment: the man page says so.)
 */
static void
lose_marks(struct meter *m, pid_t pid, const char *file, int error)
{
	if (m->marks_warned)
		return;
	m->marks_warned = true;
	errno = error;
	warn("/proc/%d/%s: peaks are sampled, not exact", (int)pid, file);
}

/*
 * Whether mb has ended already (a command shorter than the start-up): its
 * clear_refs is then refused, and wait4(2)'s mark is that of its life.
 */
static bool
ended(const struct member *mb)
{
	struct mem	 mem;

	return probe_mem(&mb->probe, &mem) == ESRCH;
}

/* Say once that another memwatch resets mb's marks. */
static void
others(struct meter *m, const struct member *mb)
{
	if (m->others_warned)
		return;
	m->others_warned = true;
	warnx("pid %d: another memwatch resets its high-water marks: peaks "
	    "are sampled, not exact (said once)", (int)mb->pid);
}

static void
no_reset(struct meter *m, struct member *mb, int error)
{
	mb->reset_ok = false;
	lose_marks(m, mb->pid, "clear_refs", error);
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

/* Read PSS of every member at a rate that keeps its cost bounded. */
static uint64_t
read_pss(struct meter *m, int64_t t)
{
	struct tree	*tr = m->tree;
	uint64_t	 total = 0;
	int64_t		 began = now_ns(), cost;
	bool		 whole = true;

	if (!m->pss || t < m->next_pss)
		return NO_VALUE;
	for (size_t i = 0; i < tr->n; i++) {
		if (probe_pss(&tr->m[i].probe, &tr->m[i].pss) != 0) {
			tr->m[i].pss = NO_VALUE;
			whole = false;
			continue;
		}
		total += tr->m[i].pss;
	}
	cost = now_ns() - began;
	m->next_pss = t + (cost * PSS_SHARE > PSS_EVERY_NS ?
	    cost * PSS_SHARE : PSS_EVERY_NS);
	return whole ? total : NO_VALUE;
}

/*
 * End the period at time t: read every member's mark (and name, parent,
 * swap) and, if reset, reset it.  The sum bounds the tree's peak in the
 * period from above; a mark that cannot be reset is the member's highest
 * since it started, which bounds it too, if loosely.
 */
static void
end_period(struct meter *m, int64_t t, bool reset)
{
	struct tree	*tr = m->tree;
	struct status	 st;
	uint64_t	 sum = 0, swap = 0, reaped = 0;
	bool		 changed, whole = tr->lost == 0 && tr->unknown == 0;
	int		 error;

	tr->lost = 0;
	for (size_t i = 0; i < tr->n; i++) {
		struct member	*mb = &tr->m[i];

		if (mb->ours)
			continue;
		/* a root that has ended left its mark with wait4(2) */
		if (mb->ended) {
			sum += mb->hwm;
			continue;
		}
		if (mb->unreadable || probe_status(&mb->probe, &st) != 0) {
			whole = false;
			continue;
		}
		mb->ppid = st.ppid;
		/* a new name: maybe another program, seen here first */
		if (strcmp(mb->comm, st.name) != 0) {
			(void)strlcpy(mb->comm, st.name, sizeof(mb->comm));
			tree_exec(tr, i);
		}
		if (mb->others) {
			others(m, mb);
			whole = false;
		}
		if ((error = probe_new_image(&mb->probe, &changed)) != 0)
			lose_marks(m, mb->pid, "maps", error);
		if (error != 0 || changed) {
			whole = false;
			if (i == 0)
				m->new_image = true;
			tree_exec(tr, i);
		}
		/* a child reaped may have come and gone unseen */
		if (tr->children && (probe_reaped(&mb->probe, &reaped) != 0 ||
		    reaped != mb->reaped))
			whole = false;
		mb->reaped = reaped;
		sum += st.hwm;
		/* a mark since the period began: the tree was at least that */
		if (mb->reset_ok && st.hwm > m->single)
			m->single = st.hwm;
		mb->hwm = st.hwm;
		swap = st.swap == NO_VALUE || swap == NO_VALUE ? NO_VALUE :
		    swap + st.swap;
		if (reset && mb->reset_ok &&
		    (error = probe_reset_peak(&mb->probe)) != 0)
			no_reset(m, mb, error);
	}
	if (!whole)
		m->incomplete = true;
	if (sum > m->upper)
		m->upper = sum;
	m->seg.end_swap = swap;
	m->period_start = t;
}

/*
 * Take one sample at time t (since the start) into *s: every member's
 * memory, the tree's children looked for now and then, and at times PSS.
 * Return 0, or the errno of a root that could not be read (ESRCH: it has
 * ended).
 */
int
meter_sample(struct meter *m, int64_t t, struct sample *s)
{
	struct tree	*tr = m->tree;
	struct mem	 total;
	unsigned int	 seen = tr->seen;
	bool		 threads;
	int		 error;

	if (t - m->discovered >= DISCOVER_NS) {
		threads = t - m->threads_discovered >= THREADS_NS;
		tree_discover(tr, threads);
		m->discovered = t;
		if (threads)
			m->threads_discovered = t;
		m->seg.processes += tr->seen - seen;
	}
	if ((error = tree_sample(tr, &total)) != 0) {
		sample_failed(m, error);
		return error;
	}
	/* several members: marks per period, so that their sum is tight */
	if (m->seg.processes > 1 && t - m->period_start >= PERIOD_NS)
		end_period(m, t, !m->leave_alone);
	m->samples++;
	if (total.rss > m->peak_rss)
		m->peak_rss = total.rss;
	segment_sample(&m->seg, total.rss);
	m->seg.end_anon = total.rss - total.file;
	m->seg.end_file = total.file;
	memset(s, 0, sizeof(*s));
	s->t_ns = t;
	s->segment = m->seg.index;
	s->rss = total.rss;
	s->file = total.file;
	s->anon = total.rss - total.file;
	s->pss = read_pss(m, t);
	s->processes = tr->counted;
	return 0;
}

/*
 * Close the open segment at time t into *closed.  mark is the root's
 * last mark from wait4(2), or 0 where there is none to add.
 */
static void
close_segment(struct meter *m, int64_t t, struct segment *closed)
{
	struct member	*root = &m->tree->m[0];
	enum peak_kind	 kind;
	uint64_t	 mark;

	if (m->incomplete) {
		kind = PEAK_SAMPLED;
		mark = m->single;
	} else if (m->seg.processes > 1 || m->bound_only) {
		kind = PEAK_UPPER;
		mark = m->upper;
	} else if (root->reset_ok || root->hwm > m->hwm_at_open) {
		/* without resets: the mark rose in this segment, so here */
		kind = PEAK_EXACT;
		mark = root->reset_ok ? m->upper : root->hwm;
	} else {
		kind = PEAK_SAMPLED;
		mark = 0;
	}
	segment_close(&m->seg, t, mark, kind);
	if (m->seg.peak_rss > m->peak_rss)
		m->peak_rss = m->seg.peak_rss;
	*closed = m->seg;
}

/* Open segment index, labelled label, at time t. */
static void
open_segment(struct meter *m, unsigned int index, const char *label,
    int64_t t, uint64_t rss)
{
	segment_open(&m->seg, index, label, t, rss);
	m->seg.processes = (unsigned int)m->tree->n;
	m->upper = m->single = 0;
	m->incomplete = false;
	m->hwm_at_open = m->tree->m[0].hwm;
	m->seg.end_anon = m->closed_anon;
	m->seg.end_file = m->closed_file;
}

/*
 * A boundary at time t while the root lives: sample into *s, close the
 * open segment into *closed, open the next one labelled label (by number
 * if NULL).
 */
void
meter_cut(struct meter *m, int64_t t, const char *label,
    struct segment *closed, struct sample *s)
{
	char		 name[32];

	m->sampled = meter_sample(m, t, s) == 0;
	end_period(m, t, !m->leave_alone);
	close_segment(m, t, closed);
	if (label == NULL) {
		(void)snprintf(name, sizeof(name), "segment %u",
		    m->seg.index + 1);
		label = name;
	}
	m->closed_anon = closed->end_anon;
	m->closed_file = closed->end_file;
	open_segment(m, closed->index + 1, label, t, closed->end_rss);
}

/*
 * The end of the run at time t, the root still there (memwatch was asked
 * to stop): a last sample, the last segment into *closed.
 */
void
meter_stop(struct meter *m, int64_t t, struct segment *closed,
    struct sample *s)
{
	m->sampled = meter_sample(m, t, s) == 0;
	end_period(m, t, false);
	close_segment(m, t, closed);
}

/*
 * The end of the run at time t: the root has exited.  A launched root has
 * been reaped, and its high-water mark came with it (tg->maxrss), which
 * is its peak since the last reset unless something else went into it:
 * the marks of children it waited for (reaped: its count of their faults,
 * read while it was a zombie) and of programs it ran before, which say
 * nothing of this segment; or that of its first image, a copy of memwatch,
 * whose mark is no higher than memwatch's own: above that, the mark is
 * the root's, exact; below, a bound from above, used only where the
 * run has no sample to go on.  An attached root leaves
 * no such record: the last peak is then sampled.
 */
void
meter_exited(struct meter *m, int64_t t, const struct target *tg,
    uint64_t reaped, struct segment *closed)
{
	struct member	*root = &m->tree->m[0];

	root->ended = true;
	root->hwm = tg->maxrss;
	if (!tg->reaped || !root->reset_ok || reaped > 0 || m->new_image)
		m->incomplete = true;
	/* the copy's mark, maybe: a bound, for a run with nothing else */
	else if (tg->maxrss <= m->copy_hwm && m->samples > 0)
		m->incomplete = true;
	else if (tg->maxrss <= m->copy_hwm)
		m->bound_only = true;
	end_period(m, t, false);
	close_segment(m, t, closed);
}

/*
 * The run's first boundary, at time 0: fresh peaks and a first sample
 * into *s (m->sampled says whether one could be had).  pss: read PSS;
 * leave_alone: never reset the marks.
 */
void
meter_start(struct meter *m, struct tree *tr, const struct target *tg,
    bool pss, bool leave_alone, struct sample *s)
{
	struct member	*root = &tr->m[0];
	int		 error;

	memset(m, 0, sizeof(*m));
	m->tree = tr;
	m->pid = tg->pid;
	m->pss = pss;
	m->leave_alone = leave_alone;
	m->discovered = -DISCOVER_NS;
	m->threads_discovered = -THREADS_NS;
	if (root->others)
		others(m, root);
	else if (leave_alone)
		root->reset_ok = false;
	else if ((error = probe_reset_peak(&root->probe)) != 0 &&
	    !ended(root))
		no_reset(m, root, error);
	/* without these, no period's marks can be vouched for */
	if (root->probe.image_fd == -1)
		lose_marks(m, tg->pid, "maps", root->probe.image_errno);
	else if (root->probe.stat_fd == -1)
		lose_marks(m, tg->pid, "stat", root->probe.stat_errno);
	/* unknown: then no mark from wait4(2) can be told from the copy's */
	if (tg->launched && probe_self_hwm(&m->copy_hwm) != 0)
		m->copy_hwm = UINT64_MAX;
	open_segment(m, 1, "segment 1", 0, 0);
	m->sampled = meter_sample(m, 0, s) == 0;
	if (m->sampled)
		m->seg.start_rss = s->rss;
}
