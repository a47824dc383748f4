/*
 * output.c: the samples and segments CSV files, and the human lines on
 * standard error.  A write error disables that output with one warning and
 * is remembered for the exit status; the run itself goes on.
 */

#include "config.h"

#include <sys/stat.h>

#include <err.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "memwatch.h"

#define SAMPLES_HEADER	"elapsed_s,rss_bytes,segment\n"
#define SEGMENTS_HEADER	"segment,label,start_s,end_s,duration_s," \
	"start_rss_bytes,end_rss_bytes,delta_bytes,peak_rss_bytes," \
	"peak_above_end_bytes,samples,peak_exact\n"

/* Give up on o, and remember the loss for the exit status. */
static void
drop(struct output *o)
{
	if (o->fp != stdout)
		(void)fclose(o->fp);
	o->fp = NULL;
	o->failed = true;
}

static void
fail(struct output *o)
{
	warn("%s", o->path);
	drop(o);
}

/*
 * Open path ("-" for standard output, NULL for none) and write the header
 * of kind "samples" or "segments".  Return 0, or an errno after a warning.
 */
int
output_open(struct output *o, const char *path, const char *kind)
{
	struct stat	 st;
	const char	*header;

	o->fp = NULL;
	o->regular = o->failed = false;
	o->path = path;
	if (path == NULL)
		return 0;
	header = strcmp(kind, "samples") == 0 ? SAMPLES_HEADER :
	    SEGMENTS_HEADER;
	if (strcmp(path, "-") == 0) {
		o->fp = stdout;
		o->path = "standard output";
	} else if ((o->fp = fopen(path, "we")) == NULL) {
		warn("%s", path);
		return errno;
	}
	/* a full disk or a closed pipe shows here, before the run starts */
	if (fputs(header, o->fp) == EOF || fflush(o->fp) == EOF) {
		int	 saved = errno;

		fail(o);
		return saved;
	}
	o->regular = fstat(fileno(o->fp), &st) == 0 && S_ISREG(st.st_mode);
	return 0;
}

/* Write n in decimal at p; return the end. */
static char *
fmt_u64(char *p, uint64_t n)
{
	char	 tmp[20], *t = tmp;

	do
		*t++ = (char)('0' + n % 10);
	while ((n /= 10) != 0);
	while (t > tmp)
		*p++ = *--t;
	return p;
}

/* Write nanoseconds ns >= 0 as seconds with six decimals at p. */
static char *
fmt_seconds(char *p, int64_t ns)
{
	uint64_t us = (uint64_t)ns / 1000;
	uint64_t frac = us % 1000000;
	int	 i;

	p = fmt_u64(p, us / 1000000);
	*p++ = '.';
	for (i = 5; i >= 0; i--, frac /= 10)
		p[i] = (char)('0' + frac % 10);
	return p + 6;
}

static char *
fmt_i64(char *p, int64_t n)
{
	if (n >= 0)
		return fmt_u64(p, (uint64_t)n);
	*p++ = '-';
	return fmt_u64(p, -(uint64_t)n);
}

/* Write one whole row. */
void
output_row(struct output *o, const char *buf, size_t len)
{
	if (o->fp != NULL && fwrite(buf, 1, len, o->fp) != len)
		fail(o);
}

/* One row of the samples CSV, formatted by hand: the per-sample path. */
void
output_sample(struct output *o, int64_t t, uint64_t rss, unsigned int seg)
{
	char	 row[80], *p = row;

	if (o->fp == NULL)
		return;
	p = fmt_seconds(p, t);
	*p++ = ',';
	p = fmt_u64(p, rss);
	*p++ = ',';
	p = fmt_u64(p, seg);
	*p++ = '\n';
	output_row(o, row, (size_t)(p - row));
}

/* Write s at p as one CSV field, quoted as RFC 4180 asks where needed. */
static char *
fmt_field(char *p, const char *s)
{
	bool	 quote = strpbrk(s, ",\"\r\n") != NULL;

	if (quote)
		*p++ = '"';
	for (; *s != '\0'; s++) {
		if (*s == '"')
			*p++ = '"';
		*p++ = *s;
	}
	if (quote)
		*p++ = '"';
	return p;
}

/*
 * Format a segments CSV row, newline included, into row (ROW_MAX bytes);
 * return its length.  The same row goes to the file and the reply FIFO.
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
	*p++ = s->exact ? '1' : '0';
	*p++ = '\n';
	return (size_t)(p - row);
}

/*
 * Flush o.  A file removed under memwatch (its directory deleted, say)
 * takes every write without an error, into nothing anyone can read: that
 * is a lost output too.
 */
void
output_flush(struct output *o)
{
	struct stat	 st;

	if (o->fp == NULL)
		return;
	if (fflush(o->fp) == EOF) {
		fail(o);
		return;
	}
	if (o->regular && fstat(fileno(o->fp), &st) == 0 && st.st_nlink == 0) {
		warnx("%s: removed during the run", o->path);
		drop(o);
	}
}

void
output_close(struct output *o)
{
	output_flush(o);
	if (o->fp != NULL && o->fp != stdout && fclose(o->fp) == EOF) {
		warn("%s", o->path);
		o->failed = true;
	}
	o->fp = NULL;
}

/* The human line for a closed segment, in the IPython report's shape. */
void
report_segment(const struct segment *s)
{
	fprintf(stderr, "%s used %.4f MiB RAM in %.2fs, peaked %.2f MiB above "
	    "current, total RAM usage %.2f MiB\n", s->label,
	    ((double)s->end_rss - (double)s->start_rss) / MIB,
	    (double)(s->end_ns - s->start_ns) / NSEC_PER_SEC,
	    (double)(s->peak_rss - s->end_rss) / MIB,
	    (double)s->end_rss / MIB);
}

/* The one line at exit. */
void
report_summary(int64_t t, uint64_t peak, unsigned int segments,
    uint64_t samples, uint64_t late)
{
	fprintf(stderr, "memwatch: %.2fs, peak %.2f MiB, %u segment%s, "
	    "%llu sample%s, %llu late\n", (double)t / NSEC_PER_SEC,
	    (double)peak / MIB, segments, segments == 1 ? "" : "s",
	    (unsigned long long)samples, samples == 1 ? "" : "s",
	    (unsigned long long)late);
}
