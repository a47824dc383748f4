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
	return sink_csv_open(s, info, HEADER, PSS_HEADER);
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
		p = fmt_value(p, m->pss);
	}
	*p++ = '\n';
	outfile_write(&s->out, row, (size_t)(p - row));
}

const struct sink_ops sink_processes = {
	.name = "processes",
	.open = processes_open,
	.member = processes_member,
	.flush = sink_csv_flush,
	.close = sink_csv_close,
};
