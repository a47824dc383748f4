/*
 * Fuzz target for the marker FIFO's input (marker.c): marker_feed(), which
 * cuts what memwatch reads from the FIFO into lines, and label_escape(),
 * which makes a line a label fit for a terminal and a CSV field.
 *
 * The first two bytes drive the test: how the rest is cut into reads, with
 * the FIFO running dry between some of them, for a short while or for
 * MARKER_UNFINISHED_NS, and the size of a second, small label buffer.  What
 * must hold:
 * - the lines are those of the input, in order, where a line starts after
 *   a newline or after the FIFO ran dry for MARKER_UNFINISHED_NS; a line
 *   of PIPE_BUF bytes or more with its newline is dropped and counted,
 *   never cut or joined; bytes without a newline before such a pause, or
 *   at the end, are dropped and counted;
 * - a label is NUL-terminated inside its buffer, valid UTF-8, without C0 or
 *   C1 controls, DEL, or the marks that reorder or break a line;
 * - a label is unambiguous: undoing its escapes (\\, \xHH, \uHHHH) gives
 *   back the line (less one trailing CR), or, where the buffer was too
 *   small, a prefix of it.
 */

#include "config.h"

#include <assert.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "memwatch.h"
#include "fuzz.h"

#define CHUNKS_MAX	4096

struct check {
	const char	**line;	/* the lines expected, one per input byte at most */
	size_t		*len;
	size_t		 nlines;
	size_t		 next;		/* the next line to come */
	size_t		 small;		/* size of the second label buffer */
};

/* Append code point cp as UTF-8 at out; return its length. */
static size_t
utf8_put(unsigned int cp, unsigned char *out)
{
	if (cp < 0x80) {
		out[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (unsigned char)(0xc0 | cp >> 6);
		out[1] = (unsigned char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (unsigned char)(0xe0 | cp >> 12);
		out[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
		out[2] = (unsigned char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (unsigned char)(0xf0 | cp >> 18);
	out[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3f));
	out[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
	out[3] = (unsigned char)(0x80 | (cp & 0x3f));
	return 4;
}

/* The code point at s, which must be valid shortest-form UTF-8. */
static size_t
utf8_get(const unsigned char *s, unsigned int *cp)
{
	size_t		 len, i;

	if (s[0] < 0x80)
		len = 1, *cp = s[0];
	else if ((s[0] & 0xe0) == 0xc0)
		len = 2, *cp = s[0] & 0x1f;
	else if ((s[0] & 0xf0) == 0xe0)
		len = 3, *cp = s[0] & 0x0f;
	else if ((s[0] & 0xf8) == 0xf0)
		len = 4, *cp = s[0] & 0x07;
	else
		abort();
	for (i = 1; i < len; i++) {
		assert((s[i] & 0xc0) == 0x80);
		*cp = *cp << 6 | (s[i] & 0x3f);
	}
	assert(len == utf8_put(*cp, (unsigned char[4]){ 0 }));
	assert(*cp <= 0x10ffff && (*cp < 0xd800 || *cp > 0xdfff));
	return len;
}

static unsigned int
hex(const char *s, int n)
{
	unsigned int	 v = 0;

	for (int i = 0; i < n; i++) {
		assert((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f'));
		v = v << 4 | (unsigned)(s[i] <= '9' ? s[i] - '0' :
		    s[i] - 'a' + 10);
	}
	return v;
}

/*
 * Check label, made of line (n bytes) in a buffer of size bytes, and undo
 * its escapes.
 */
static void
check_label(const char *line, size_t n, size_t size)
{
	char		*label;
	unsigned char	*back;
	const unsigned char *s;
	size_t		 len, i, nback = 0;
	unsigned int	 cp;

	if ((label = malloc(size)) == NULL ||
	    (back = malloc(4 * size)) == NULL)
		abort();
	label_escape(line, n, label, size);
	assert(memchr(label, '\0', size) != NULL);
	len = strlen(label);
	s = (const unsigned char *)label;
	for (i = 0; i < len; ) {
		i += utf8_get(s + i, &cp);
		assert(cp >= 0x20 && !(cp >= 0x7f && cp <= 0x9f));
		assert(cp != 0x61c && cp != 0x200e && cp != 0x200f);
		assert(!(cp >= 0x2028 && cp <= 0x202e));
		assert(!(cp >= 0x2066 && cp <= 0x2069));
	}
	for (i = 0; i < len; ) {
		if (label[i] != '\\') {
			back[nback++] = (unsigned char)label[i++];
			continue;
		}
		assert(i + 1 < len);
		if (label[i + 1] == '\\') {
			back[nback++] = '\\';
			i += 2;
		} else if (label[i + 1] == 'x') {
			assert(i + 4 <= len);
			back[nback++] = (unsigned char)hex(label + i + 2, 2);
			i += 4;
		} else {
			assert(label[i + 1] == 'u' && i + 6 <= len);
			cp = hex(label + i + 2, 4);
			/* only what a terminal would act on is so escaped */
			assert(cp >= 0x80);
			nback += utf8_put(cp, back + nback);
			i += 6;
		}
	}
	if (n > 0 && line[n - 1] == '\r')
		n--;
	assert(nback <= n && memcmp(back, line, nback) == 0);
	/* room left for the longest escape: nothing may have been cut */
	if (len + 6 < size)
		assert(nback == n);
	free(back);
	free(label);
}

static void
on_line(void *arg, const char *line, size_t n)
{
	struct check	*c = arg;

	assert(c->next < c->nlines);
	assert(n == c->len[c->next] &&
	    memcmp(line, c->line[c->next], n) == 0);
	assert(memchr(line, '\n', n) == NULL);
	c->next++;
	check_label(line, n, LABEL_MAX);
	check_label(line, n, c->small);
}

enum gap { GAP_NONE, GAP_SHORT, GAP_LONG };

/*
 * The piece of input from start to end, ended by a newline (nl) or by a
 * long pause or the end: a line to expect, or one dropped and counted.
 */
static void
expect(struct check *c, const char *start, const char *end, bool nl,
    unsigned long *refused, unsigned long *unfinished)
{
	size_t	 len = (size_t)(end - start);

	if (len >= PIPE_BUF)
		(*refused)++;
	if (!nl)
		(*unfinished)++;
	else if (len < PIPE_BUF) {
		c->line[c->nlines] = start;
		c->len[c->nlines++] = len;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct marker_lines m;
	static struct check c;
	static size_t	 cut[CHUNKS_MAX];
	static enum gap	 gap[CHUNKS_MAX];
	const char	*in, *end, *p, *start;
	unsigned int	 seed;
	unsigned long	 refused = 0, unfinished = 0;
	size_t		 n, nchunks = 0, k;
	int64_t		 now = 1;

	if (size < 2)
		return 0;
	seed = data[0] | 1u;
	in = (const char *)data + 2;
	end = (const char *)data + size;
	memset(&m, 0, sizeof(m));
	c.nlines = c.next = 0;
	c.small = 1 + data[1] % 32;
	if ((c.line = calloc(size, sizeof(*c.line))) == NULL ||
	    (c.len = calloc(size, sizeof(*c.len))) == NULL)
		abort();

	/* reads of up to PIPE_BUF bytes, as from the FIFO, cut at random */
	for (p = in; p < end && nchunks < CHUNKS_MAX; p += n) {
		seed = seed * 1103515245 + 12345;
		n = 1 + (seed >> 8) % PIPE_BUF;
		if (n > (size_t)(end - p))
			n = (size_t)(end - p);
		cut[nchunks] = (size_t)(p + n - in);
		gap[nchunks++] = (enum gap)((seed >> 4) % 3);
	}
	end = in + (nchunks > 0 ? cut[nchunks - 1] : 0);

	/* what must come of them: pieces ended by newlines and long pauses */
	start = in;
	for (k = 0, p = in; p < end; p++) {
		if (*p == '\n') {
			expect(&c, start, p, true, &refused, &unfinished);
			start = p + 1;
		}
		if ((size_t)(p + 1 - in) == cut[k]) {
			if (gap[k] == GAP_LONG && start <= p && k + 1 < nchunks) {
				expect(&c, start, p + 1, false, &refused,
				    &unfinished);
				start = p + 1;
			}
			k++;
		}
	}
	if (start < end)
		expect(&c, start, end, false, &refused, &unfinished);

	for (k = 0, p = in; k < nchunks; k++) {
		marker_feed(&m, p, (size_t)(in + cut[k] - p), now, on_line, &c);
		p = in + cut[k];
		/* a read that stops short leaves bytes in the FIFO: not dry */
		if (gap[k] != GAP_NONE)
			marker_dry(&m, now);
		now += gap[k] == GAP_LONG ? MARKER_UNFINISHED_NS :
		    gap[k] == GAP_SHORT ? MARKER_UNFINISHED_NS - 1 :
		    2 * MARKER_UNFINISHED_NS;
	}
	(void)marker_end(&m);
	assert(c.next == c.nlines);
	assert(m.refused == refused);
	assert(m.unfinished == unfinished);
	assert(m.len == 0 && !m.overlong);
	free(c.line);
	free(c.len);
	return 0;
}
