/*
 * envelope.c: the run's memory over time in a fixed number of buckets, so
 * that a plot of a week-long run takes no more memory than one of a second.
 * Each bucket keeps the lowest and highest value of every series in its
 * stretch of time.  When the run outgrows the buckets, neighbours are
 * merged pairwise and each bucket covers twice the time: the envelope stays
 * exact (every sample is inside it, and its edges are samples), only
 * coarser.
 */

#include "config.h"


#include "memwatch.h"

/* An empty bucket: nothing is below UINT64_MAX or above 0. */
static void
clear(struct envelope *e, unsigned int series, unsigned int from)
{
	for (unsigned int i = from; i < ENVELOPE_BUCKETS; i++) {
		e->min[series][i] = UINT64_MAX;
		e->max[series][i] = 0;
	}
}

/* Start with buckets of width_ns nanoseconds each, all empty. */
void
envelope_init(struct envelope *e, int64_t width_ns)
{
	e->width_ns = width_ns;
	e->used = 0;
	for (unsigned int s = 0; s < ENVELOPE_SERIES; s++)
		clear(e, s, 0);
}

/* Forget series, to hold another process's values from now on. */
void
envelope_clear(struct envelope *e, unsigned int series)
{
	clear(e, series, 0);
}

/* Merge neighbouring buckets pairwise: half as many, twice as wide. */
static void
halve(struct envelope *e)
{
	unsigned int	 s, i;

	for (s = 0; s < ENVELOPE_SERIES; s++) {
		uint64_t	*lo = e->min[s], *hi = e->max[s];

		for (i = 0; i < ENVELOPE_BUCKETS / 2; i++) {
			lo[i] = lo[2 * i] < lo[2 * i + 1] ? lo[2 * i] :
			    lo[2 * i + 1];
			hi[i] = hi[2 * i] > hi[2 * i + 1] ? hi[2 * i] :
			    hi[2 * i + 1];
		}
		clear(e, s, ENVELOPE_BUCKETS / 2);
	}
	e->width_ns *= 2;
	e->used = (e->used + 1) / 2;
}

/* Put value v of series at time t_ns >= 0 into its bucket. */
void
envelope_add(struct envelope *e, unsigned int series, int64_t t_ns,
    uint64_t v)
{
	unsigned int	 i;

	if (t_ns < 0)
		t_ns = 0;
	while (t_ns / e->width_ns >= ENVELOPE_BUCKETS)
		halve(e);
	i = (unsigned int)(t_ns / e->width_ns);
	if (v < e->min[series][i])
		e->min[series][i] = v;
	if (v > e->max[series][i])
		e->max[series][i] = v;
	if (i + 1 > e->used)
		e->used = i + 1;
}

/* Whether bucket i of series holds a value. */
bool
envelope_has(const struct envelope *e, unsigned int series, unsigned int i)
{
	return e->min[series][i] <= e->max[series][i];
}
