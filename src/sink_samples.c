/*
 * sink_samples.c: the samples CSV (-o), a row per sample of the tree.
 */

#include "config.h"

#include <string.h>

#include "memwatch.h"

#define HEADER		"elapsed_s,rss_bytes,segment,anon_bytes,file_bytes," \
	"processes"
#define PSS_HEADER	",pss_bytes"

static int
samples_open(struct sink *s, const struct run_info *info)
{
	int	 status;

	if ((status = outfile_open(&s->out, s->path)) != 0)
		return status;
	s->state = info->pss ? s : NULL;	/* a PSS column */
	outfile_write(&s->out, HEADER, sizeof(HEADER) - 1);
	if (info->pss)
		outfile_write(&s->out, PSS_HEADER, sizeof(PSS_HEADER) - 1);
	outfile_write(&s->out, "\n", 1);
	/* a full disk or a closed pipe shows here, before the run starts */
	outfile_flush(&s->out);
	return outfile_failed(&s->out) ? EXIT_OUTPUT : 0;
}

/* One row, formatted by hand: the per-sample path. */
static void
samples_sample(struct sink *s, const struct sample *sm)
{
	char	 row[160], *p = row;

	p = fmt_seconds(p, sm->t_ns);
	*p++ = ',';
	p = fmt_u64(p, sm->rss);
	*p++ = ',';
	p = fmt_u64(p, sm->segment);
	*p++ = ',';
	p = fmt_u64(p, sm->anon);
	*p++ = ',';
	p = fmt_u64(p, sm->file);
	*p++ = ',';
	p = fmt_u64(p, sm->processes);
	if (s->state != NULL) {
		*p++ = ',';
		/* empty where not measured this tick: NaN to pandas */
		if (sm->pss != NO_VALUE)
			p = fmt_u64(p, sm->pss);
	}
	*p++ = '\n';
	outfile_write(&s->out, row, (size_t)(p - row));
}

static void
samples_flush(struct sink *s, const struct tally *t)
{
	(void)t;
	outfile_flush(&s->out);
}

static void
samples_close(struct sink *s, const struct tally *t)
{
	(void)t;
	outfile_close(&s->out);
}

const struct sink_ops sink_samples = {
	.name = "samples",
	.open = samples_open,
	.sample = samples_sample,
	.flush = samples_flush,
	.close = samples_close,
};
