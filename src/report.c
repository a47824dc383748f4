/*
 * report.c: the lines memwatch writes on standard error for people: one
 * per closed segment, in the shape of the IPython snippet's, and one
 * summary at the end of the run.
 */

#include "config.h"

#include <stdio.h>

#include "memwatch.h"

/* How the peak of a line was had, where it is not exact. */
static const char *
peak_note(enum peak_kind kind)
{
	switch (kind) {
	case PEAK_UPPER:
		return " (peak at most)";
	case PEAK_SAMPLED:
		return " (peak sampled)";
	default:
		return "";
	}
}

/* The human line for a closed segment. */
void
report_segment(const struct segment *s)
{
	fprintf(stderr, "%s used %.4f MiB RAM in %.2fs, peaked %.2f MiB above "
	    "current%s, total RAM usage %.2f MiB\n", s->label,
	    ((double)s->end_rss - (double)s->start_rss) / MIB,
	    (double)(s->end_ns - s->start_ns) / NSEC_PER_SEC,
	    (double)(s->peak_rss - s->end_rss) / MIB, peak_note(s->peak_kind),
	    (double)s->end_rss / MIB);
}

/* The one line at the end of the run. */
void
report_summary(const struct tally *t)
{
	fprintf(stderr, "memwatch: %.2fs, peak %.2f MiB, %u segment%s, "
	    "%llu sample%s, %llu late, %u process%s\n",
	    (double)t->elapsed_ns / NSEC_PER_SEC, (double)t->peak_rss / MIB,
	    t->segments, t->segments == 1 ? "" : "s",
	    (unsigned long long)t->samples, t->samples == 1 ? "" : "s",
	    (unsigned long long)t->late, t->processes,
	    t->processes == 1 ? "" : "es");
}
