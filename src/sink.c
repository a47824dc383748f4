/*
 * sink.c: the outputs asked for, each a sink, called in turn for what it
 * takes: samples of the tree, samples of each member, closed segments,
 * and the flushes and the close.  The loop knows nothing of formats.
 */

#include "config.h"

#include <string.h>

#include "memwatch.h"

/* Open every sink; return 0 or the exit status of the first that failed. */
int
sinks_open(struct sink *s, size_t n, const struct run_info *info)
{
	int	 status;

	for (size_t i = 0; i < n; i++) {
		if ((status = s[i].ops->open(&s[i], info)) != 0)
			return status;
	}
	return 0;
}

void
sinks_sample(struct sink *s, size_t n, const struct sample *sm)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i].ops->sample != NULL)
			s[i].ops->sample(&s[i], sm);
	}
}

/* Whether any sink takes per-process samples, which cost a row each. */
bool
sinks_want_members(const struct sink *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i].ops->member != NULL)
			return true;
	}
	return false;
}

void
sinks_member(struct sink *s, size_t n, const struct member_sample *m)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i].ops->member != NULL)
			s[i].ops->member(&s[i], m);
	}
}

void
sinks_segment(struct sink *s, size_t n, const struct segment *seg)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i].ops->segment != NULL)
			s[i].ops->segment(&s[i], seg);
	}
}

void
sinks_flush(struct sink *s, size_t n, const struct tally *t)
{
	for (size_t i = 0; i < n; i++)
		s[i].ops->flush(&s[i], t);
}

void
sinks_close(struct sink *s, size_t n, const struct tally *t)
{
	for (size_t i = 0; i < n; i++)
		s[i].ops->close(&s[i], t);
}

/* Whether any output was lost: the run's exit status says so. */
bool
sinks_failed(const struct sink *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i].failed || outfile_failed(&s[i].out))
			return true;
	}
	return false;
}

/*
 * The CSV sinks' open: path opened, header written, with pss_header after
 * it for a run that reads PSS (remembered in s->state: the rows then end
 * in a PSS column).  Return 0 or an exit status after a warning.
 */
int
sink_csv_open(struct sink *s, const struct run_info *info,
    const char *header, const char *pss_header)
{
	int	 status;

	if ((status = outfile_open(&s->out, s->path)) != 0)
		return status;
	s->state = info->pss ? s : NULL;
	outfile_write(&s->out, header, strlen(header));
	if (info->pss)
		outfile_write(&s->out, pss_header, strlen(pss_header));
	outfile_write(&s->out, "\n", 1);
	/* a full disk or a closed pipe shows here, before the run starts */
	outfile_flush(&s->out);
	return outfile_failed(&s->out) ? EXIT_OUTPUT : 0;
}

void
sink_csv_flush(struct sink *s, const struct tally *t)
{
	(void)t;
	outfile_flush(&s->out);
}

void
sink_csv_close(struct sink *s, const struct tally *t)
{
	(void)t;
	outfile_close(&s->out);
}
