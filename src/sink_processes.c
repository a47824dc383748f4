/*
 * sink_processes.c: the per-process CSV (-P), a row per member of the
 * tree per sample.  Its rss_bytes of one sample add up to the samples
 * CSV's rss_bytes of that sample.
 */

#include "config.h"

#include "memwatch.h"

#define HEADER		"elapsed_s,segment,pid,ppid,comm,rss_bytes," \
	"anon_bytes,file_bytes"
#define PSS_HEADER	",pss_bytes"

static int
processes_open(struct sink *s, const struct run_info *info)
{
	int	 status;

	if ((status = outfile_open(&s->out, s->path)) != 0)
		return status;
	s->state = info->pss ? s : NULL;	/* a PSS column */
	outfile_write(&s->out, HEADER, sizeof(HEADER) - 1);
	if (info->pss)
		outfile_write(&s->out, PSS_HEADER, sizeof(PSS_HEADER) - 1);
	outfile_write(&s->out, "\n", 1);
	outfile_flush(&s->out);
	return outfile_failed(&s->out) ? EXIT_OUTPUT : 0;
}

static void
processes_member(struct sink *s, const struct member_sample *m)
{
	char	 row[2 * NAME_MAX_ESCAPED + 160], *p = row;

	p = fmt_seconds(p, m->t_ns);
	*p++ = ',';
	p = fmt_u64(p, m->segment);
	*p++ = ',';
	p = fmt_u64(p, (uint64_t)m->pid);
	*p++ = ',';
	p = fmt_u64(p, (uint64_t)m->ppid);
	*p++ = ',';
	p = fmt_field(p, m->comm);
	*p++ = ',';
	p = fmt_u64(p, m->rss);
	*p++ = ',';
	p = fmt_u64(p, m->anon);
	*p++ = ',';
	p = fmt_u64(p, m->file);
	if (s->state != NULL) {
		*p++ = ',';
		if (m->pss != NO_VALUE)
			p = fmt_u64(p, m->pss);
	}
	*p++ = '\n';
	outfile_write(&s->out, row, (size_t)(p - row));
}

static void
processes_flush(struct sink *s, const struct tally *t)
{
	(void)t;
	outfile_flush(&s->out);
}

static void
processes_close(struct sink *s, const struct tally *t)
{
	(void)t;
	outfile_close(&s->out);
}

const struct sink_ops sink_processes = {
	.name = "processes",
	.open = processes_open,
	.member = processes_member,
	.flush = processes_flush,
	.close = processes_close,
};
