/*
 * segment.c: the bookkeeping of one segment, the stretch of the run between
 * two boundaries.  Where its peak comes from is decided by the caller.
 */

#include "config.h"

#include <string.h>

#include "memwatch.h"

/* Start segment index, labelled label, at time t with rss resident bytes. */
void
segment_open(struct segment *s, unsigned int index, const char *label,
    int64_t t, uint64_t rss)
{
	s->index = index;
	(void)strlcpy(s->label, label, sizeof(s->label));
	s->start_ns = s->end_ns = t;
	s->start_rss = s->end_rss = s->peak_rss = rss;
	s->samples = 0;
	s->exact = false;
	s->interrupts = 0;
}

/* Count one sample of rss resident bytes. */
void
segment_sample(struct segment *s, uint64_t rss)
{
	s->samples++;
	s->end_rss = rss;
	if (rss > s->peak_rss)
		s->peak_rss = rss;
}

/*
 * End the segment at time t.  hwm is the kernel's high-water mark since the
 * segment began, or 0 where none could be had; the peak is exact with it.
 */
void
segment_close(struct segment *s, int64_t t, uint64_t hwm, bool exact)
{
	s->end_ns = t;
	if (hwm > s->peak_rss)
		s->peak_rss = hwm;
	s->exact = exact;
}
