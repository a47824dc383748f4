/*
 * sink_segments.c: the segments CSV (-s), a row per closed segment.
 */

#include "config.h"

#include "memwatch.h"

#define HEADER	"segment,label,start_s,end_s,duration_s,start_rss_bytes," \
	"end_rss_bytes,delta_bytes,peak_rss_bytes,peak_above_end_bytes," \
	"samples,peak_exact,peak_kind,processes,end_anon_bytes," \
	"end_file_bytes,end_swap_bytes,interrupts"

/*
 * Format a segments CSV row, newline included, into row (ROW_MAX bytes);
 * return its length.
 */
size_t
format_segment(char *row, const struct segment *s)
{
	char	*p = row;

	p = fmt_u64(p, s->index);
	*p++ = ',';
	p = fmt_field(p, s->label);
	*p++ = ',';
	p = fmt_seconds(p, s->start_ns);
	*p++ = ',';
	p = fmt_seconds(p, s->end_ns);
	*p++ = ',';
	p = fmt_seconds(p, s->end_ns - s->start_ns);
	*p++ = ',';
	p = fmt_u64(p, s->start_rss);
	*p++ = ',';
	p = fmt_u64(p, s->end_rss);
	*p++ = ',';
	p = fmt_i64(p, (int64_t)(s->end_rss - s->start_rss));
	*p++ = ',';
	p = fmt_u64(p, s->peak_rss);
	*p++ = ',';
	p = fmt_u64(p, s->peak_rss - s->end_rss);
	*p++ = ',';
	p = fmt_u64(p, s->samples);
	*p++ = ',';
	*p++ = s->peak_kind == PEAK_EXACT ? '1' : '0';
	*p++ = ',';
	p = fmt_field(p, peak_kind_name(s->peak_kind));
	*p++ = ',';
	p = fmt_u64(p, s->processes);
	*p++ = ',';
	p = fmt_u64(p, s->end_anon);
	*p++ = ',';
	p = fmt_u64(p, s->end_file);
	*p++ = ',';
	/* empty where no figure could be had: NaN to pandas */
	p = fmt_value(p, s->end_swap);
	*p++ = ',';
	p = fmt_u64(p, s->interrupts);
	*p++ = '\n';
	return (size_t)(p - row);
}

static int
segments_open(struct sink *s, const struct run_info *info)
{
	/* no PSS column: a segment's PSS is not kept */
	return sink_csv_open(s, info, HEADER, "");
}

static void
segments_segment(struct sink *s, const struct segment *seg)
{
	char	 row[ROW_MAX];

	outfile_write(&s->out, row, format_segment(row, seg));
}

const struct sink_ops sink_segments = {
	.name = "segments",
	.open = segments_open,
	.segment = segments_segment,
	.flush = sink_csv_flush,
	.close = sink_csv_close,
};
