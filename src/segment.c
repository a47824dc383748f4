/*
 * segment.c: the bookkeeping of one segment, the stretch of the run between
 * two boundaries.  Where its peak comes from is the meter's to decide.
 */

#include "config.h"

#include <string.h>

#include "memwatch.h"

/* Start segment index, labelled label, at time t with rss resident bytes. */
void
segment_open(struct segment *s, unsigned int index, const char *label,
    int64_t t, uint64_t rss)
{
	memset(s, 0, sizeof(*s));
	s->index = index;
	(void)strlcpy(s->label, label, sizeof(s->label));
	s->start_ns = s->end_ns = t;
	s->start_rss = s->end_rss = s->peak_rss = rss;
	s->end_swap = NO_VALUE;
	s->peak_kind = PEAK_SAMPLED;
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
 * End the segment at time t.  mark is what the kernel's high-water marks
 * say of the segment's peak, or 0 where they say nothing; kind says what
 * the peak then is.
 */
void
segment_close(struct segment *s, int64_t t, uint64_t mark,
    enum peak_kind kind)
{
	s->end_ns = t;
	if (mark > s->peak_rss)
		s->peak_rss = mark;
	s->peak_kind = kind;
}

/* The word for kind in the CSV and the reply row. */
const char *
peak_kind_name(enum peak_kind kind)
{
	switch (kind) {
	case PEAK_EXACT:
		return "exact";
	case PEAK_UPPER:
		return "upper";
	default:
		return "sampled";
	}
}
