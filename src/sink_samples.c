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
	return sink_csv_open(s, info, HEADER, PSS_HEADER);
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
	/* empty where not measured this tick: NaN to pandas */
	if (s->state != NULL) {
		*p++ = ',';
		p = fmt_value(p, sm->pss);
	}
	*p++ = '\n';
	outfile_write(&s->out, row, (size_t)(p - row));
}

const struct sink_ops sink_samples = {
	.name = "samples",
	.open = samples_open,
	.sample = samples_sample,
	.flush = sink_csv_flush,
	.close = sink_csv_close,
};
