/*
 * sink_metrics.c: --metrics FILE, the run's state in the Prometheus text
 * exposition format, for node_exporter's textfile collector.
 *
 * Every series carries the labels command, pid (the watched process) and
 * memwatch_pid, so files of two memwatches on one host never hold the same
 * series, and every file has the same names with the same HELP and TYPE
 * lines, as node_exporter requires of the files it merges.
 *
 * The file is rewritten whole (outfile_replace: a temporary whose name does
 * not end in .prom, then a rename), at flushes but at most ten times a
 * second, since flushes come at every boundary.  At the end it is kept,
 * marked finished (memwatch_running 0) with the run's final numbers: a
 * dashboard shows how the job ended, an alert can tell a job that finished
 * from a memwatch that died (memwatch_running 1 with a start time plus run
 * time that no longer advances), and the next run written to the same file
 * replaces it.
 */

#include "config.h"

#include <err.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "memwatch.h"

#define METRICS_EVERY_NS	(NSEC_PER_SEC / 10)

struct metrics {
	const struct run_info *info;	/* its pid is known once it runs */
	char		 command[LABEL_MAX];
	/* command, pid, memwatch_pid: every byte of the command escaped */
	char		 labels[2 * LABEL_MAX + 64];
	struct sample	 last;		/* the latest sample */
	uint64_t	 pss;		/* the latest PSS measured */
	struct segment	 closed;	/* the last closed segment */
	bool		 have_closed;
	int64_t		 written_ns;	/* run time at the last rewrite; -1 */
	struct textbuf	 buf;
};

/* Append s as a label value: backslash, double quote and newline escaped. */
static void
add_value(struct textbuf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '\\' || *s == '"')
			textbuf_add(b, "\\", 1);
		if (*s == '\n')
			textbuf_puts(b, "\\n");
		else
			textbuf_add(b, s, 1);
	}
}

/* Append label name="value" to b, after a comma unless it is the first. */
static void
add_label(struct textbuf *b, const char *name, const char *value)
{
	textbuf_printf(b, "%s%s=\"", b->len > 0 ? "," : "", name);
	add_value(b, value);
	textbuf_puts(b, "\"");
}

/* The labels of every series, from the run's command and pids. */
static void
labels(struct metrics *m)
{
	char	 pid[16], self[16];

	(void)snprintf(pid, sizeof(pid), "%d", (int)m->info->pid);
	(void)snprintf(self, sizeof(self), "%d", (int)m->info->self);
	textbuf_reset(&m->buf);
	add_label(&m->buf, "command", m->command);
	add_label(&m->buf, "pid", pid);
	add_label(&m->buf, "memwatch_pid", self);
	(void)strlcpy(m->labels, m->buf.failed ? "" : m->buf.data,
	    sizeof(m->labels));
}

/* The HELP and TYPE lines of a metric, then its name and labels. */
static void
add_metric(struct metrics *m, const char *name, const char *type,
    const char *help)
{
	textbuf_printf(&m->buf, "# HELP %s %s\n# TYPE %s %s\n%s{%s", name,
	    help, name, type, name, m->labels);
}

static void
add_u64(struct metrics *m, const char *name, const char *type,
    const char *help, uint64_t v)
{
	add_metric(m, name, type, help);
	textbuf_printf(&m->buf, "} %llu\n", (unsigned long long)v);
}

static void
add_double(struct metrics *m, const char *name, const char *type,
    const char *help, double v)
{
	add_metric(m, name, type, help);
	textbuf_printf(&m->buf, "} %.6f\n", v);
}

/* An info-style metric: value 1, segment s's label and index as labels. */
static void
add_info(struct metrics *m, const char *name, const char *help,
    const struct segment *s)
{
	add_metric(m, name, "gauge", help);
	textbuf_puts(&m->buf, ",segment=\"");
	add_value(&m->buf, s->label);
	textbuf_printf(&m->buf, "\",index=\"%u\"", s->index);
	if (s == &m->closed)
		textbuf_printf(&m->buf, ",peak_kind=\"%s\"",
		    peak_kind_name(s->peak_kind));
	textbuf_puts(&m->buf, "} 1\n");
}

/* The whole file for tally t, into m->buf. */
static void
render(struct metrics *m, const struct tally *t)
{
	const struct segment *c = &m->closed;

	labels(m);
	textbuf_reset(&m->buf);
	add_u64(m, "memwatch_running", "gauge", "Whether memwatch still "
	    "watches (1), or the run is over and these are its final "
	    "numbers (0).", !t->ended);
	add_double(m, "memwatch_start_time_seconds", "gauge", "When the run "
	    "started, in seconds since the Unix epoch.",
	    (double)t->start_realtime_ns / NSEC_PER_SEC);
	add_double(m, "memwatch_elapsed_seconds", "gauge", "How long the run "
	    "had lasted when this file was written.",
	    (double)t->elapsed_ns / NSEC_PER_SEC);
	add_u64(m, "memwatch_rss_bytes", "gauge", "Resident memory of the "
	    "watched process tree at the latest sample.", t->current_rss);
	add_u64(m, "memwatch_anon_bytes", "gauge", "Anonymous part of the "
	    "tree's resident memory at the latest sample.", m->last.anon);
	add_u64(m, "memwatch_file_bytes", "gauge", "File-backed and shared "
	    "part of the tree's resident memory at the latest sample.",
	    m->last.file);
	add_u64(m, "memwatch_peak_rss_bytes", "gauge", "Highest resident "
	    "memory of the tree in the run so far.", t->peak_rss);
	if (m->info->pss && m->pss != NO_VALUE)
		add_u64(m, "memwatch_pss_bytes", "gauge", "Proportional set "
		    "size of the tree at its latest reading (--pss).", m->pss);
	add_u64(m, "memwatch_processes", "gauge", "Processes of the tree "
	    "alive at the latest sample.", m->last.processes);
	if (t->open != NULL && !t->ended)
		add_info(m, "memwatch_segment_info", "The segment open now: "
		    "its label and index as labels.", t->open);
	if (m->have_closed) {
		add_info(m, "memwatch_last_segment_info", "The last closed "
		    "segment: its label, index and kind of peak as labels.", c);
		add_metric(m, "memwatch_last_segment_delta_bytes", "gauge",
		    "Resident memory the last closed segment left behind "
		    "(end minus start; may be negative).");
		textbuf_printf(&m->buf, "} %lld\n",
		    (long long)(c->end_rss - c->start_rss));
		add_u64(m, "memwatch_last_segment_peak_rss_bytes", "gauge",
		    "Peak resident memory of the tree in the last closed "
		    "segment.", c->peak_rss);
		add_double(m, "memwatch_last_segment_duration_seconds",
		    "gauge", "How long the last closed segment lasted.",
		    (double)(c->end_ns - c->start_ns) / NSEC_PER_SEC);
	}
	add_u64(m, "memwatch_segments_total", "counter", "Segments closed in "
	    "the run.", t->segments);
	add_u64(m, "memwatch_samples_total", "counter", "Samples taken in the "
	    "run.", t->samples);
	add_u64(m, "memwatch_late_ticks_total", "counter", "Ticks of the "
	    "sampling timer missed after a stall, and not sampled.", t->late);
}

/* Write the file for tally t, or give up on it saying why. */
static void
rewrite(struct sink *k, const struct tally *t)
{
	struct metrics	*m = k->state;
	int		 error;

	render(m, t);
	error = m->buf.failed ? ENOMEM : outfile_replace(k->path, m->buf.data,
	    m->buf.len);
	m->written_ns = t->elapsed_ns;
	if (error != 0) {
		errno = error;
		warn("%s", k->path);
		k->failed = true;
	}
}

/*
 * Set up.  The file is first written at the first flush, once the command
 * runs and its pid is known; a directory that cannot take it shows now.
 * Return 0 or an exit status after a warning.
 */
static int
metrics_open(struct sink *k, const struct run_info *info)
{
	struct metrics	*m;
	char		 dir[PATH_MAX];
	const char	*slash = strrchr(k->path, '/');
	size_t		 n = strlen(k->path);
	int		 status;

	if (strcmp(k->path, "-") == 0) {
		warnx("--metrics -: the file is rewritten whole, so it needs "
		    "a file");
		return EXIT_USAGE;
	}
	if (n < 5 || strcmp(k->path + n - 5, ".prom") != 0)
		warnx("%s: node_exporter's textfile collector reads only "
		    "files named *.prom", k->path);
	if (slash == NULL)
		(void)strlcpy(dir, ".", sizeof(dir));
	else
		(void)snprintf(dir, sizeof(dir), "%.*s", slash == k->path ? 1 :
		    (int)(slash - k->path), k->path);
	if (access(dir, W_OK | X_OK) == -1) {
		warn("%s", dir);
		return EXIT_OUTPUT;
	}
	if ((status = outfile_claim(k->path)) != 0)
		return status;
	if ((m = calloc(1, sizeof(*m))) == NULL) {
		warn("%s", k->path);
		return EXIT_INTERNAL;
	}
	k->state = m;
	m->info = info;
	m->pss = NO_VALUE;
	m->written_ns = -1;
	label_escape(info->command, strlen(info->command), m->command,
	    sizeof(m->command));
	return 0;
}

static void
metrics_sample(struct sink *k, const struct sample *s)
{
	struct metrics	*m = k->state;

	m->last = *s;
	if (s->pss != NO_VALUE)
		m->pss = s->pss;
}

static void
metrics_segment(struct sink *k, const struct segment *s)
{
	struct metrics	*m = k->state;

	m->closed = *s;
	m->have_closed = true;
}

static void
metrics_flush(struct sink *k, const struct tally *t)
{
	struct metrics	*m = k->state;

	if (k->failed || (m->written_ns >= 0 &&
	    t->elapsed_ns - m->written_ns < METRICS_EVERY_NS))
		return;
	rewrite(k, t);
}

static void
metrics_close(struct sink *k, const struct tally *t)
{
	struct metrics	*m = k->state;

	if (!k->failed)
		rewrite(k, t);
	textbuf_free(&m->buf);
	free(m);
	k->state = NULL;
}

const struct sink_ops sink_metrics = {
	.name = "metrics",
	.open = metrics_open,
	.sample = metrics_sample,
	.segment = metrics_segment,
	.flush = metrics_flush,
	.close = metrics_close,
};
