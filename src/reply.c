/*
 * reply.c: the row a reader of the reply FIFO (the IPython snippet, or any
 * program) gets for each closed segment.  It is not a CSV row: each field
 * is name=value, fields are separated by a tab, so a reader takes them by
 * name and a new field breaks no reader.  Labels cannot hold a tab or a
 * newline: label_escape() escapes every control character.
 */

#include "config.h"

#include <string.h>

#include "memwatch.h"

static char *
name(char *p, const char *s)
{
	size_t	 n = strlen(s);

	memcpy(p, s, n);
	p[n] = '=';
	return p + n + 1;
}

static char *
text(char *p, const char *key, const char *s)
{
	size_t	 n = strlen(s);

	p = name(p, key);
	memcpy(p, s, n);
	p[n] = '\t';
	return p + n + 1;
}

static char *
u64(char *p, const char *key, uint64_t v)
{
	p = fmt_u64(name(p, key), v);
	*p++ = '\t';
	return p;
}

static char *
seconds(char *p, const char *key, int64_t ns)
{
	p = fmt_seconds(name(p, key), ns);
	*p++ = '\t';
	return p;
}

/*
 * Encode the row of closed segment s, next the label of the segment its
 * boundary opened ("" at the end of the run), into row (ROW_MAX bytes),
 * newline included; return its length.
 */
size_t
reply_encode(char *row, const struct segment *s, const char *next)
{
	char	*p = row;

	p = u64(p, "segment", s->index);
	p = text(p, "label", s->label);
	p = text(p, "next", next);
	p = seconds(p, "start_s", s->start_ns);
	p = seconds(p, "end_s", s->end_ns);
	p = seconds(p, "duration_s", s->end_ns - s->start_ns);
	p = u64(p, "start_rss_bytes", s->start_rss);
	p = u64(p, "end_rss_bytes", s->end_rss);
	p = fmt_i64(name(p, "delta_bytes"),
	    (int64_t)(s->end_rss - s->start_rss));
	*p++ = '\t';
	p = u64(p, "peak_rss_bytes", s->peak_rss);
	p = u64(p, "peak_above_end_bytes", s->peak_rss - s->end_rss);
	p = u64(p, "peak_exact", s->peak_kind == PEAK_EXACT);
	p = text(p, "peak_kind", peak_kind_name(s->peak_kind));
	p = u64(p, "processes", s->processes);
	p = u64(p, "interrupts", s->interrupts);
	p = u64(p, "limit_bytes", s->limit);
	p[-1] = '\n';
	return (size_t)(p - row);
}
