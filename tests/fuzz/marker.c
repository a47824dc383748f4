/*
 * Fuzz target for the marker FIFO's input (marker.c): marker_feed(), which
 * cuts what memwatch reads from the FIFO into lines, and label_escape(),
 * which makes a line a label fit for a terminal and a CSV field.
 *
 * The first two bytes drive the test: how the rest is cut into reads, and
 * the size of a second, small label buffer.  What must hold:
 * - the lines are those of the input, in order; a line of PIPE_BUF bytes or
 *   more with its newline is dropped and counted, never cut or joined;
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

struct check {
	const char	*rest;		/* the input not yet matched by a line */
	const char	*end;
	size_t		 small;		/* size of the second label buffer */
	unsigned long	 lines;
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
	const char	*nl;
	size_t		 want;

	/* the next line of the input that is short enough to take */
	for (;;) {
		nl = memchr(c->rest, '\n', (size_t)(c->end - c->rest));
		assert(nl != NULL);
		want = (size_t)(nl - c->rest);
		c->rest = nl + 1;
		if (want < PIPE_BUF)
			break;
	}
	assert(n == want && memcmp(line, nl - want, n) == 0);
	assert(memchr(line, '\n', n) == NULL);
	c->lines++;
	check_label(line, n, LABEL_MAX);
	check_label(line, n, c->small);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct marker_lines m;
	struct check	 c;
	const char	*in, *end, *p, *nl = NULL;
	unsigned int	 seed;
	unsigned long	 lines = 0, refused = 0;
	size_t		 n, len;

	if (size < 2)
		return 0;
	seed = data[0] | 1u;
	in = (const char *)data + 2;
	end = (const char *)data + size;
	memset(&m, 0, sizeof(m));
	c.rest = in;
	c.end = end;
	c.small = 1 + data[1] % 32;
	c.lines = 0;

	/* reads of up to PIPE_BUF bytes, as from the FIFO, cut at random */
	for (p = in; p < end; p += n) {
		seed = seed * 1103515245 + 12345;
		n = 1 + (seed >> 8) % PIPE_BUF;
		if (n > (size_t)(end - p))
			n = (size_t)(end - p);
		marker_feed(&m, p, n, on_line, &c);
	}

	/* the same, line by line: every line accounted for */
	for (p = in; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			break;
		if ((size_t)(nl - p) < PIPE_BUF)
			lines++;
		else
			refused++;
	}
	assert(c.lines == lines);
	len = (size_t)(end - (nl == NULL ? p : end));
	if (len >= PIPE_BUF) {
		/* an unfinished line already too long is refused at once */
		refused++;
		assert(m.overlong);
	} else {
		assert(!m.overlong && m.len == len &&
		    memcmp(m.buf, p, len) == 0);
	}
	assert(m.refused == refused);
	return 0;
}
