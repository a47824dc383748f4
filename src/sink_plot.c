/*
 * sink_plot.c: --plot FILE, an SVG picture of the run: the tree's RSS over
 * time as a min-max envelope, the largest processes as lines of their
 * own, each segment as a labelled band with its peak drawn at its height,
 * axes in KiB/MiB/GiB and s/min/h, the command and the peak in the title.
 *
 * Its memory is fixed for any run: the envelope has a fixed number of
 * buckets (envelope.c), at most PLOT_PROCS processes are followed, and at
 * most SEG_BUDGET segments are kept: when one more closes, the two
 * neighbours that together span the least time become one band ("In [5]
 * +3"), whose peak is the higher one and exact only if both were.  So a
 * run of 5,000 cells draws as a few hundred bands, each a few pixels wide
 * or more, and the file's size is bounded too.
 *
 * The file is rewritten whole (outfile_replace: a temporary and a rename)
 * at most once a second at flushes, and at the end, so a browser reloading
 * it mid-run sees the run so far and never half a file.
 */

#include "config.h"

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "memwatch.h"

#define SEG_BUDGET	400	/* bands kept; a few pixels each at least */
#define PLOT_LABEL	80	/* bytes of a band's label kept */
#define LABEL_CELLS	20	/* characters of a label drawn */
#define BUCKET0_NS	1000000	/* 1 ms: the first buckets' width */

/* The picture, in pixels: the plot area is [X0, X1] x [Y0, Y1]. */
#define WIDTH		1000
#define HEIGHT		530
#define X0		84
#define X1		980
#define Y0		86
#define Y1		440
#define LABEL_Y		72	/* baseline of the row of band labels */
#define CELL_W		6.8	/* advance of a monospace cell at 11px */

/* Colours: bands, the tree's RSS, peaks, processes */
#define BAND_A		"#e8edf5"
#define BAND_B		"#f7f8fa"
#define BAND_IDLE	"#ffffff"
#define RSS_FILL	"#a9c4ec"
#define RSS_LINE	"#1f4e9c"
#define PEAK_LINE	"#c0392b"
static const char *const proc_colour[PLOT_PROCS] = {
	"#e67e22", "#27ae60", "#8e44ad", "#16a085", "#d35400", "#7f8c8d"
};

/* A band: one segment, or neighbours merged for drawing. */
struct band {
	int64_t		 start_ns, end_ns;
	uint64_t	 start_rss, end_rss, peak;
	unsigned int	 count;		/* segments in it */
	unsigned int	 kinds;		/* 1 << peak_kind of each; 0: open */
	char		 first[PLOT_LABEL], last[PLOT_LABEL];
};

/* A process followed with a line of its own: series slot + 1. */
struct proc {
	pid_t		 pid;		/* 0: a free slot */
	uint64_t	 peak;
	char		 comm[32];
};

/* Where a band's label went, for the overlap test. */
struct placed {
	double		 a, b;
};

struct plot {
	const char	*path;
	char		 command[LABEL_MAX];
	bool		 notebook;	/* FIFO directory's: only when read */
	bool		 active;	/* the notebook's: once read */
	int64_t		 checked_ns;	/* the notebook's look for a reader */
	bool		 quiet_failed;	/* the notebook plot gave up */
	bool		 dirty;
	int64_t		 written_ns;	/* run time at the last rewrite; -1 */
	struct envelope	 env;
	struct proc	 proc[PLOT_PROCS];
	unsigned int	 procs_seen;
	struct band	 band[SEG_BUDGET];
	unsigned int	 nband;
	struct band	 open;		/* the open segment, at a rewrite */
	struct rank {
		double		 w;	/* the band's width, in pixels */
		unsigned int	 i;
	}		 order[SEG_BUDGET + 1];
	bool		 labelled[SEG_BUDGET + 1];
	struct placed	 placed[SEG_BUDGET + 1];
	struct textbuf	 buf;
};

/* Copy text s into dst of size bytes, cut at a character boundary. */
static void
keep(char *dst, size_t size, const char *s)
{
	size_t	 n = strlen(s);

	if (n >= size) {
		n = size - 1;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	memcpy(dst, s, n);
	dst[n] = '\0';
}

/* Cells a monospace font gives s: wide scripts take two. */
static unsigned int
cells(const char *s, size_t n)
{
	unsigned int	 c = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char	 b = (unsigned char)s[i];

		if ((b & 0xc0) != 0x80)
			c += b >= 0xe1 ? 2 : 1;
	}
	return c;
}

/* Bytes of s that fit in max cells, cut at a character boundary. */
static size_t
fit(const char *s, unsigned int max)
{
	size_t		 n = 0, next;
	unsigned int	 c = 0;

	while (s[n] != '\0') {
		for (next = n + 1; ((unsigned char)s[next] & 0xc0) == 0x80;
		    next++)
			continue;
		if ((c += cells(s + n, next - n)) > max)
			break;
		n = next;
	}
	return n;
}

/* Append n bytes of s as XML character data or an attribute value. */
static void
add_xml(struct textbuf *b, const char *s, size_t n)
{
	const char	*rep;
	size_t		 from = 0;

	for (size_t i = 0; i < n; i++) {
		switch (s[i]) {
		case '&':  rep = "&amp;"; break;
		case '<':  rep = "&lt;"; break;
		case '>':  rep = "&gt;"; break;
		case '"':  rep = "&quot;"; break;
		default:   continue;
		}
		textbuf_add(b, s + from, i - from);
		textbuf_add(b, rep, strlen(rep));
		from = i + 1;
	}
	textbuf_add(b, s + from, n - from);
}

/* Append s, cut to max cells with an ellipsis, as XML text. */
static void
add_text(struct textbuf *b, const char *s, unsigned int max)
{
	size_t	 n = fit(s, max);

	if (s[n] != '\0' && n > 0) {
		n = fit(s, max - 1);
		add_xml(b, s, n);
		textbuf_puts(b, "\xe2\x80\xa6");
	} else
		add_xml(b, s, n);
}

/* The smallest of 1, 2, 5 times a power of ten that is at least raw. */
static double
nice_step(double raw)
{
	double	 p = 1;

	while (p > raw)
		p /= 10;
	while (p * 10 <= raw)
		p *= 10;
	if (raw <= p)
		return p;
	if (raw <= 2 * p)
		return 2 * p;
	return raw <= 5 * p ? 5 * p : 10 * p;
}

/* Decimals that step's multiples need. */
static int
decimals(double step)
{
	int	 d = 0;

	for (double x = step; d < 6; d++, x *= 10) {
		double	 r = (double)(long long)(x + 0.5);

		if (x - r < 1e-6 * x && r - x < 1e-6 * x)
			break;
	}
	return d;
}

struct unit {
	const char	*name;
	double		 size;		/* in bytes or nanoseconds */
};

static const struct unit size_units[] = {
	{ "KiB", 1024.0 }, { "MiB", MIB }, { "GiB", MIB * 1024.0 },
	{ "TiB", MIB * MIB }
};
static const struct unit time_units[] = {
	{ "s", 1e9 }, { "min", 60e9 }, { "h", 3600e9 }, { "d", 86400e9 }
};

/* The unit of table u (n long) to show v in: the largest below 2v. */
static const struct unit *
unit_for(const struct unit *u, size_t n, double v)
{
	size_t	 i = 0;

	while (i + 1 < n && v >= 2 * u[i + 1].size)
		i++;
	return &u[i];
}

/* An axis: a unit, a step in it, and the top, a multiple of the step. */
struct axis {
	const struct unit *unit;
	double		 step;		/* in the unit */
	double		 top;		/* in bytes or nanoseconds */
	int		 decimals;
};

/* An axis from 0 to max at least, in about ticks steps. */
static void
axis_make(struct axis *a, const struct unit *u, size_t n, double max,
    int ticks)
{
	double	 steps;

	if (max <= 0)
		max = u[0].size;
	a->unit = unit_for(u, n, max);
	a->step = nice_step(max / a->unit->size / ticks);
	a->decimals = decimals(a->step);
	steps = (double)(long long)(max / a->unit->size / a->step);
	if (steps * a->step * a->unit->size < max)
		steps++;
	a->top = steps * a->step * a->unit->size;
}

/* Bytes v in the unit that suits it: "412.3 MiB", "+1.5 KiB" if signed. */
static void
fmt_size(char *out, size_t size, double v, bool sign)
{
	const struct unit *u = unit_for(size_units, 4, v < 0 ? -v : v);

	(void)snprintf(out, size, sign ? "%+.1f %s" : "%.1f %s",
	    v / u->size, u->name);
}

static void
add_size(struct textbuf *b, double v, bool sign)
{
	char	 s[32];

	fmt_size(s, sizeof(s), v, sign);
	textbuf_add(b, s, strlen(s));
}

static double
x_of(int64_t t, double span)
{
	return X0 + (double)t / span * (X1 - X0);
}

static double
y_of(uint64_t v, const struct axis *a)
{
	return Y1 - (double)v / a->top * (Y1 - Y0);
}

static const struct band *
band_at(const struct plot *p, unsigned int i)
{
	return i < p->nband ? &p->band[i] : &p->open;
}

/* Bands to draw: the kept ones, and the open segment while it runs. */
static unsigned int
bands(const struct plot *p)
{
	return p->nband + (p->open.count > 0);
}

/*
 * Whether band b is one segment labelled "idle", the IPython snippet's
 * time between cells: unshaded and unlabelled, so the cells stand out.
 */
static bool
is_idle(const struct band *b)
{
	return b->count == 1 && strcmp(b->first, "idle") == 0;
}

/* The peak's kind of band b, as a word and as a stroke-dasharray. */
static const char *
kind_name(const struct band *b, const char **dash)
{
	switch (b->kinds) {
	case 1u << PEAK_EXACT:
		*dash = NULL;
		return "exact";
	case 1u << PEAK_UPPER:
	case 1u << PEAK_UPPER | 1u << PEAK_EXACT:
		*dash = "5,3";
		return "upper bound";
	case 1u << PEAK_SAMPLED:
	case 1u << PEAK_SAMPLED | 1u << PEAK_EXACT:
		*dash = "1.5,2.5";
		return "sampled, a lower bound";
	default:
		*dash = "5,2,1.5,2";
		return "not exact";
	}
}

/* The band's label as drawn: its first segment's, and how many more. */
static void
band_label(const struct band *b, char *out, size_t size)
{
	size_t	 n;

	if (b->count <= 1) {
		(void)strlcpy(out, b->first, size);
		return;
	}
	n = fit(b->first, LABEL_CELLS - 6);
	(void)snprintf(out, size, "%.*s +%u", (int)n, b->first,
	    b->count - 1);
}

static void
add_header(struct plot *p, const struct tally *t, struct textbuf *b)
{
	const struct unit *u;

	textbuf_printf(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
	    "height=\"%d\" viewBox=\"0 0 %d %d\" font-family=\"DejaVu Sans "
	    "Mono, monospace\" font-size=\"11\" data-segments=\"%u\" "
	    "data-ended=\"%d\" data-open=\"", WIDTH, HEIGHT, WIDTH, HEIGHT,
	    t->segments, t->ended ? 1 : 0);
	/* what %memwatch plot waits for: the segment of its own cell */
	if (p->open.count > 0)
		add_xml(b, p->open.first, strlen(p->open.first));
	textbuf_puts(b, "\">\n<title>memwatch: ");
	add_xml(b, p->command, strlen(p->command));
	textbuf_printf(b, "</title>\n<rect width=\"%d\" height=\"%d\" "
	    "fill=\"#ffffff\"/>\n<text x=\"%d\" y=\"24\" font-size=\"15\" "
	    "font-weight=\"bold\">memwatch: ", WIDTH, HEIGHT, X0);
	add_text(b, p->command, 100);
	textbuf_printf(b, "</text>\n<text id=\"summary\" x=\"%d\" y=\"44\" "
	    "font-size=\"12\">peak ", X0);
	add_size(b, (double)t->peak_rss, false);
	u = unit_for(time_units, 4, (double)t->elapsed_ns);
	textbuf_printf(b, " \xc2\xb7 %.2f %s \xc2\xb7 %u segment%s%s</text>\n",
	    (double)t->elapsed_ns / u->size, u->name, t->segments,
	    t->segments == 1 ? "" : "s", t->ended ? "" : " so far, running");
}

static void
add_bands(struct plot *p, double span, struct textbuf *b)
{
	const char	*dash, *fill;
	unsigned int	 shaded = 0;

	textbuf_puts(b, "<g id=\"bands\">\n");
	for (unsigned int i = 0; i < bands(p); i++) {
		const struct band *s = band_at(p, i);
		double	 xa = x_of(s->start_ns, span);
		double	 xb = x_of(s->end_ns, span);

		if (is_idle(s))
			fill = BAND_IDLE;
		else
			fill = shaded++ % 2 == 0 ? BAND_A : BAND_B;
		textbuf_printf(b, "<rect class=\"band\" x=\"%.1f\" y=\"%d\" "
		    "width=\"%.1f\" height=\"%d\" fill=\"%s\"><title>", xa, Y0,
		    xb - xa, Y1 - Y0, fill);
		add_xml(b, s->first, strlen(s->first));
		if (s->count > 1) {
			textbuf_puts(b, " \xe2\x80\xa6 ");
			add_xml(b, s->last, strlen(s->last));
			textbuf_printf(b, " (%u segments)", s->count);
		}
		textbuf_printf(b, ": %.3f s, ", (double)(s->end_ns -
		    s->start_ns) / NSEC_PER_SEC);
		add_size(b, (double)s->end_rss - (double)s->start_rss, true);
		if (s->kinds != 0) {
			textbuf_puts(b, ", peak ");
			add_size(b, (double)s->peak, false);
			textbuf_printf(b, " (%s)", kind_name(s, &dash));
		} else
			textbuf_puts(b, ", running");
		textbuf_puts(b, "</title></rect>\n");
	}
	textbuf_puts(b, "</g>\n");
}

/* Grid lines and tick labels of both axes. */
static void
add_axes(const struct axis *ya, const struct axis *xa, double span,
    struct textbuf *b)
{
	double	 v, pos;

	textbuf_puts(b, "<g id=\"axes\" stroke-width=\"1\">\n");
	for (v = 0; v * ya->unit->size <= ya->top * (1 + 1e-9); v +=
	    ya->step) {
		pos = y_of((uint64_t)(v * ya->unit->size + 0.5), ya);
		textbuf_printf(b, "<g class=\"ytick\"><line x1=\"%d\" "
		    "x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#c8ccd2\"/>"
		    "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%.*f %s"
		    "</text></g>\n", X0, X1, pos, pos, X0 - 6, pos + 4,
		    ya->decimals, v, ya->unit->name);
	}
	for (v = 0; v * xa->unit->size <= span * (1 + 1e-9); v += xa->step) {
		pos = x_of((int64_t)(v * xa->unit->size), span);
		textbuf_printf(b, "<g class=\"xtick\"><line x1=\"%.1f\" "
		    "x2=\"%.1f\" y1=\"%d\" y2=\"%d\" stroke=\"#555555\"/>"
		    "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%.*f %s"
		    "</text></g>\n", pos, pos, Y1, Y1 + 5, pos, Y1 + 18,
		    xa->decimals, v, xa->unit->name);
	}
	textbuf_printf(b, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" "
	    "fill=\"none\" stroke=\"#555555\"/>\n</g>\n", X0, Y0, X1 - X0,
	    Y1 - Y0);
}

/* The middle of bucket i, within the run so far. */
static int64_t
bucket_time(const struct envelope *e, unsigned int i, int64_t span)
{
	int64_t	 t = (int64_t)i * e->width_ns + e->width_ns / 2;

	return t < span ? t : span;
}

/*
 * The tree's RSS: a polygon along the buckets' highs and back along their
 * lows, outlined, so that a flat stretch shows as a line.
 */
static void
add_rss(const struct plot *p, const struct axis *ya, int64_t span,
    struct textbuf *b)
{
	const struct envelope *e = &p->env;
	const char	*cmd = "M";
	int		 i;

	textbuf_printf(b, "<path id=\"rss\" fill=\"%s\" stroke=\"%s\" "
	    "stroke-width=\"1.5\" stroke-linejoin=\"round\" d=\"", RSS_FILL,
	    RSS_LINE);
	for (i = 0; i < (int)e->used; i++) {
		if (!envelope_has(e, 0, (unsigned int)i))
			continue;
		textbuf_printf(b, "%s%.1f,%.1f", cmd, x_of(bucket_time(e,
		    (unsigned int)i, span), (double)span), y_of(e->max[0][i],
		    ya));
		cmd = " L";
	}
	for (i = (int)e->used - 1; i >= 0; i--) {
		if (envelope_has(e, 0, (unsigned int)i))
			textbuf_printf(b, " L%.1f,%.1f", x_of(bucket_time(e,
			    (unsigned int)i, span), (double)span),
			    y_of(e->min[0][i], ya));
	}
	textbuf_add(b, cmd[0] == 'M' ? "\"/>\n" : " Z\"/>\n",
	    cmd[0] == 'M' ? 4 : 6);
}

/* Each process followed: a line through its buckets' highs. */
static void
add_procs(const struct plot *p, const struct axis *ya, int64_t span,
    struct textbuf *b)
{
	const struct envelope *e = &p->env;

	if (p->procs_seen < 2)
		return;		/* one process: its line is the tree's */
	textbuf_add(b, "<g id=\"processes\" fill=\"none\" "
	    "stroke-width=\"1.2\">\n", 50);
	for (unsigned int k = 0; k < PLOT_PROCS; k++) {
		const char	*cmd = "M";

		if (p->proc[k].pid == 0)
			continue;
		textbuf_printf(b, "<path stroke=\"%s\" d=\"", proc_colour[k]);
		/* from its first sample to its last, as the tree's */
		for (unsigned int i = 0; i < e->used; i++) {
			if (!envelope_has(e, k + 1, i))
				continue;
			textbuf_printf(b, "%s%.1f,%.1f ", cmd,
			    x_of(bucket_time(e, i, span), (double)span),
			    y_of(e->max[k + 1][i], ya));
			cmd = "L";
		}
		textbuf_puts(b, "\"/>\n");
	}
	textbuf_puts(b, "</g>\n");
}

/* Each closed band's peak: a line across it at its height. */
static void
add_peaks(const struct plot *p, const struct axis *ya, double span,
    struct textbuf *b)
{
	const char	*dash;

	/* under the RSS line, which shows where the peak is a sample */
	textbuf_printf(b, "<g id=\"peaks\" stroke=\"%s\" stroke-width=\"3\">\n",
	    PEAK_LINE);
	for (unsigned int i = 0; i < p->nband; i++) {
		const struct band *s = &p->band[i];
		double	 xa = x_of(s->start_ns, span);
		double	 xb = x_of(s->end_ns, span);
		double	 y = y_of(s->peak, ya);

		if (xb - xa < 3) {
			xa = (xa + xb) / 2 - 1.5;
			xb = xa + 3;
		}
		(void)kind_name(s, &dash);
		textbuf_printf(b, "<line class=\"peak\" x1=\"%.1f\" "
		    "x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\"", xa, xb, y, y);
		if (dash != NULL)
			textbuf_printf(b, " stroke-dasharray=\"%s\"", dash);
		textbuf_puts(b, "/>\n");
	}
	textbuf_puts(b, "</g>\n");
}

/* Wider first. */
static int
by_width(const void *a, const void *b)
{
	double	 wa = ((const struct rank *)a)->w;
	double	 wb = ((const struct rank *)b)->w;

	return wa < wb ? 1 : wa > wb ? -1 : 0;
}

/*
 * Band labels in one row above the plot, each from its band's left edge:
 * the widest bands choose first, and a label that would overlap one
 * already placed, or run out of the plot, is left out (the band's tooltip
 * still names it).  So labels thin out as bands narrow, and never overlap.
 */
static void
add_labels(struct plot *p, double span, struct textbuf *b)
{
	char		 text[PLOT_LABEL + 16];
	unsigned int	 n = bands(p), nplaced = 0, i, j;

	for (i = 0; i < n; i++) {
		p->order[i].w = x_of(band_at(p, i)->end_ns, span) -
		    x_of(band_at(p, i)->start_ns, span);
		p->order[i].i = i;
		p->labelled[i] = false;
	}
	qsort(p->order, n, sizeof(p->order[0]), by_width);
	for (i = 0; i < n; i++) {
		const struct band *s = band_at(p, p->order[i].i);
		double	 a = x_of(s->start_ns, span), z;

		if (is_idle(s))
			continue;
		band_label(s, text, sizeof(text));
		z = a + 3 + CELL_W * cells(text, fit(text, LABEL_CELLS));
		if (z > X1 + 12)
			continue;
		for (j = 0; j < nplaced; j++)
			if (a < p->placed[j].b + 8 && p->placed[j].a < z + 8)
				break;
		if (j < nplaced)
			continue;
		p->placed[nplaced].a = a;
		p->placed[nplaced++].b = z;
		p->labelled[p->order[i].i] = true;
	}
	textbuf_puts(b, "<g id=\"labels\">\n");
	for (i = 0; i < n; i++) {
		const struct band *s = band_at(p, i);
		double	 a = x_of(s->start_ns, span);

		if (!p->labelled[i])
			continue;
		band_label(s, text, sizeof(text));
		textbuf_printf(b, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" "
		    "y2=\"%d\" stroke=\"#888888\"/><text class=\"label\" "
		    "x=\"%.1f\" y=\"%d\">", a, a, LABEL_Y + 3, Y0, a + 3,
		    LABEL_Y);
		add_text(b, text, LABEL_CELLS);
		textbuf_puts(b, "</text>\n");
	}
	textbuf_puts(b, "</g>\n");
}

/* One entry of the legend: a stroke sample and its text. */
static void
add_key(struct textbuf *b, double x, int y, const char *colour,
    const char *dash, const char *text, size_t len)
{
	textbuf_printf(b, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\" "
	    "stroke=\"%s\" stroke-width=\"2\"", x, x + 22, y - 4, y - 4,
	    colour);
	if (dash != NULL)
		textbuf_printf(b, " stroke-dasharray=\"%s\"", dash);
	textbuf_printf(b, "/><text x=\"%.1f\" y=\"%d\">", x + 28, y);
	add_xml(b, text, len);
	textbuf_puts(b, "</text>\n");
}

static void
add_legend(const struct plot *p, struct textbuf *b)
{
	static const struct {
		const char	*colour, *dash, *text;
	} keys[] = {
		{ RSS_LINE, NULL, "RSS of the tree (low-high)" },
		{ PEAK_LINE, NULL, "peak, exact" },
		{ PEAK_LINE, "5,3", "peak, upper bound" },
		{ PEAK_LINE, "1.5,2.5", "peak, sampled (at least)" },
	};
	char		 text[64], peak[32];
	double		 x = X0;
	unsigned int	 k, shown = 0;

	textbuf_puts(b, "<g id=\"legend\">\n");
	for (k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		add_key(b, x, Y1 + 44, keys[k].colour, keys[k].dash,
		    keys[k].text, strlen(keys[k].text));
		x += 36 + CELL_W * strlen(keys[k].text);
	}
	for (k = 0; p->procs_seen >= 2 && k < PLOT_PROCS; k++) {
		if (p->proc[k].pid == 0)
			continue;
		fmt_size(peak, sizeof(peak), (double)p->proc[k].peak, false);
		(void)snprintf(text, sizeof(text), "%s [%d] peak %s",
		    p->proc[k].comm, (int)p->proc[k].pid, peak);
		add_key(b, X0 + 300.0 * (shown % 3), Y1 + 64 + 18 *
		    (int)(shown / 3), proc_colour[k], NULL, text, strlen(text));
		shown++;
	}
	textbuf_puts(b, "</g>\n");
}

/* The whole picture of the run so far, into p->buf. */
static void
render(struct plot *p, const struct tally *t)
{
	struct textbuf	*b = &p->buf;
	struct axis	 ya, xa;
	int64_t		 span = t->elapsed_ns > 0 ? t->elapsed_ns : 1;

	p->open.count = 0;
	if (t->open != NULL && !t->ended) {
		p->open.start_ns = t->open->start_ns;
		p->open.end_ns = span;
		p->open.start_rss = t->open->start_rss;
		p->open.end_rss = t->open->end_rss;
		p->open.count = 1;
		p->open.kinds = 0;
		keep(p->open.first, sizeof(p->open.first), t->open->label);
	}
	axis_make(&ya, size_units, 4, (double)t->peak_rss, 5);
	axis_make(&xa, time_units, 4, (double)span, 8);
	textbuf_reset(b);
	add_header(p, t, b);
	add_bands(p, (double)span, b);
	add_axes(&ya, &xa, (double)span, b);
	add_peaks(p, &ya, (double)span, b);
	add_rss(p, &ya, span, b);
	add_procs(p, &ya, span, b);
	add_labels(p, (double)span, b);
	add_legend(p, b);
	textbuf_puts(b, "</svg>\n");
}

/* Write the picture of the run so far, or give up on the file saying why. */
static void
rewrite(struct sink *k, const struct tally *t)
{
	struct plot	*p = k->state;
	int		 error;

	render(p, t);
	error = p->buf.failed ? ENOMEM : outfile_replace(p->path, p->buf.data,
	    p->buf.len);
	p->written_ns = t->elapsed_ns;
	p->dirty = false;
	if (error == 0)
		return;
	errno = error;
	warn("%s", p->path);
	if (p->notebook)
		p->quiet_failed = true;	/* the run's outputs are not at stake */
	else
		k->failed = true;
}

/* Set up the plot's state; 0 or an exit status after a warning. */
static int
start(struct sink *k, const struct run_info *info, bool notebook)
{
	static const struct tally empty;
	const char	*path = k->path;
	struct plot	*p;
	int		 status;

	if (strcmp(path, "-") == 0) {
		warnx("--plot -: the plot is rewritten whole, so it needs a "
		    "file");
		return EXIT_USAGE;
	}
	if (!notebook && (status = outfile_claim(path)) != 0)
		return status;
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		warn("%s", path);
		return EXIT_INTERNAL;
	}
	k->state = p;
	p->path = path;
	p->notebook = notebook;
	p->written_ns = p->checked_ns = -1;
	label_escape(info->command, strlen(info->command), p->command,
	    sizeof(p->command));
	/* the notebook's buckets are untouched, so cost nothing, until read */
	if (notebook)
		return 0;
	envelope_init(&p->env, BUCKET0_NS);
	p->active = true;
	/* a directory that cannot be written shows now, before the run */
	rewrite(k, &empty);
	p->written_ns = -1;
	return k->failed ? EXIT_OUTPUT : 0;
}

static int
plot_open(struct sink *k, const struct run_info *info)
{
	return start(k, info, false);
}

/*
 * The notebook's plot, path in memwatch's FIFO directory: written only
 * while the IPython snippet reads the reply FIFO beside it, for %memwatch
 * plot, and removed at the end with the directory.
 */
static int
notebook_open(struct sink *k, const struct run_info *info)
{
	return start(k, info, true);
}

static void
plot_sample(struct sink *k, const struct sample *s)
{
	struct plot	*p = k->state;

	if (!p->active)
		return;
	envelope_add(&p->env, 0, s->t_ns, s->rss);
	p->dirty = true;
}

/*
 * Follow the processes whose RSS was largest: a new one takes a free slot,
 * or the slot of the process with the lowest peak if it is above that.
 */
static void
plot_member(struct sink *k, const struct member_sample *m)
{
	struct plot	*p = k->state;
	unsigned int	 i, low = 0;

	if (!p->active)
		return;
	for (i = 0; i < PLOT_PROCS && p->proc[i].pid != m->pid; i++)
		if (p->proc[i].peak < p->proc[low].peak)
			low = i;
	if (i == PLOT_PROCS) {
		if (p->proc[low].pid != 0 && m->rss <= p->proc[low].peak)
			return;
		i = low;
		p->proc[i].pid = m->pid;
		p->proc[i].peak = 0;
		envelope_clear(&p->env, i + 1);
		p->procs_seen++;
	}
	/* its name now: a member may have run another program */
	keep(p->proc[i].comm, sizeof(p->proc[i].comm), m->comm);
	if (m->rss > p->proc[i].peak)
		p->proc[i].peak = m->rss;
	envelope_add(&p->env, i + 1, m->t_ns, m->rss);
}

/* Make the two neighbours that span the least time one band. */
static void
merge_narrowest(struct plot *p)
{
	struct band	*a, *b;
	unsigned int	 i, best = 0;
	int64_t		 w, min = INT64_MAX;

	for (i = 0; i + 1 < p->nband; i++) {
		w = p->band[i + 1].end_ns - p->band[i].start_ns;
		if (w < min) {
			min = w;
			best = i;
		}
	}
	a = &p->band[best];
	b = a + 1;

	a->end_ns = b->end_ns;
	a->end_rss = b->end_rss;
	if (b->peak > a->peak)
		a->peak = b->peak;
	a->kinds |= b->kinds;
	a->count += b->count;
	/* named after its first cell rather than the idle time before it */
	if (strcmp(a->first, "idle") == 0)
		memcpy(a->first, b->first, sizeof(a->first));
	memcpy(a->last, b->last, sizeof(a->last));
	memmove(b, b + 1, (p->nband - best - 2) * sizeof(*b));
	p->nband--;
}

static void
plot_segment(struct sink *k, const struct segment *s)
{
	struct plot	*p = k->state;
	struct band	*b;

	if (!p->active)
		return;
	if (p->nband == SEG_BUDGET)
		merge_narrowest(p);
	b = &p->band[p->nband++];
	b->start_ns = s->start_ns;
	b->end_ns = s->end_ns;
	b->start_rss = s->start_rss;
	b->end_rss = s->end_rss;
	b->peak = s->peak_rss;
	b->count = 1;
	b->kinds = 1u << s->peak_kind;
	keep(b->first, sizeof(b->first), s->label);
	memcpy(b->last, b->first, sizeof(b->last));
	p->dirty = true;
}

/* Whether the IPython snippet holds the reply FIFO beside the plot open. */
static bool
read_by_snippet(const struct plot *p)
{
	char	 reply[PATH_MAX];
	const char *slash = strrchr(p->path, '/');
	int	 fd;

	if (slash == NULL || (size_t)snprintf(reply, sizeof(reply),
	    "%.*s/reply", (int)(slash - p->path), p->path) >= sizeof(reply))
		return false;
	if ((fd = open(reply, O_WRONLY | O_NONBLOCK | O_NOFOLLOW |
	    O_CLOEXEC)) == -1)
		return false;
	(void)close(fd);
	return true;
}

/*
 * The notebook's plot: taken from the first flush a reader of the reply
 * FIFO is seen at (looked for once a second), written while it reads, and
 * removed at the end of the run, before the FIFO directory goes.
 */
static bool
notebook_wanted(struct plot *p, const struct tally *t)
{
	if (t->ended) {
		if (p->active)
			(void)unlink(p->path);
		p->active = p->dirty = false;
		return false;
	}
	if (p->checked_ns >= 0 && t->elapsed_ns - p->checked_ns < NSEC_PER_SEC)
		return false;
	p->checked_ns = t->elapsed_ns;
	if (!read_by_snippet(p))
		return false;
	if (!p->active) {
		envelope_init(&p->env, BUCKET0_NS);
		p->active = true;
	}
	return p->dirty;
}

/* At most once a second: flushes come at every boundary too. */
static void
plot_flush(struct sink *k, const struct tally *t)
{
	struct plot	*p = k->state;

	if (k->failed || p->quiet_failed)
		return;
	if (p->notebook) {
		if (notebook_wanted(p, t))
			rewrite(k, t);
		return;
	}
	if (p->dirty && (p->written_ns < 0 ||
	    t->elapsed_ns - p->written_ns >= NSEC_PER_SEC))
		rewrite(k, t);
}

static void
plot_close(struct sink *k, const struct tally *t)
{
	struct plot	*p = k->state;

	if (p->notebook && p->active)
		(void)unlink(p->path);
	else if (!p->notebook && !k->failed)
		rewrite(k, t);
	textbuf_free(&p->buf);
	free(p);
	k->state = NULL;
}

const struct sink_ops sink_plot = {
	.name = "plot",
	.open = plot_open,
	.sample = plot_sample,
	.member = plot_member,
	.segment = plot_segment,
	.flush = plot_flush,
	.close = plot_close,
};

const struct sink_ops sink_notebook_plot = {
	.name = "notebook plot",
	.open = notebook_open,
	.sample = plot_sample,
	.member = plot_member,
	.segment = plot_segment,
	.flush = plot_flush,
	.close = plot_close,
};
