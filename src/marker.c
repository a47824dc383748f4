/*
 * marker.c: marker lines as they come from the FIFO, cut into lines of at
 * most PIPE_BUF bytes, and turned into labels that are safe to print on a
 * terminal and to put in a CSV field.  Nothing here does I/O.
 */

#include "config.h"

#include <stdio.h>
#include <string.h>

#include "memwatch.h"

/*
 * Drop the unfinished line: its writer wrote no newline before the FIFO
 * ran dry and stayed so for MARKER_UNFINISHED_NS.  A writer that keeps to
 * the protocol writes each line whole, so such bytes are a writer's that
 * died or broke the protocol, and must not be glued to the next line.
 */
static void
drop_unfinished(struct marker_lines *m)
{
	m->len = 0;
	m->overlong = false;
	m->unfinished++;
}

/*
 * Take n more bytes read from the FIFO at time now (ns) and call fn for
 * each complete line, its newline removed.  A line longer than PIPE_BUF
 * bytes with its newline is dropped whole, and counted in m->refused.
 */
void
marker_feed(struct marker_lines *m, const char *data, size_t n, int64_t now,
    marker_fn *fn, void *arg)
{
	const char	*nl;
	size_t		 take;

	if (m->dry && now - m->dry_since >= MARKER_UNFINISHED_NS)
		drop_unfinished(m);
	m->dry = false;
	while (n > 0) {
		nl = memchr(data, '\n', n);
		take = nl != NULL ? (size_t)(nl - data) : n;
		if (!m->overlong && take > sizeof(m->buf) - 1 - m->len) {
			m->overlong = true;
			m->refused++;
		}
		if (!m->overlong) {
			memcpy(m->buf + m->len, data, take);
			m->len += take;
		}
		if (nl == NULL)
			return;
		if (!m->overlong)
			fn(arg, m->buf, m->len);
		m->len = 0;
		m->overlong = false;
		data = nl + 1;
		n -= take + 1;
	}
}

/*
 * The FIFO was found empty at time now (ns): an unfinished line's writer
 * has that long to go on before the line is dropped.
 */
void
marker_dry(struct marker_lines *m, int64_t now)
{
	if (!m->dry && (m->len > 0 || m->overlong)) {
		m->dry = true;
		m->dry_since = now;
	}
}

/*
 * The end of the run: a line still unfinished is dropped.  Return whether
 * there was one.
 */
bool
marker_end(struct marker_lines *m)
{
	m->dry = false;
	if (m->len == 0 && !m->overlong)
		return false;
	drop_unfinished(m);
	return true;
}

/*
 * Decode the UTF-8 sequence at s (n bytes left).  Return its length and
 * store the code point, or return 0 if it is not valid, shortest-form
 * UTF-8 of a Unicode scalar value.
 */
static size_t
utf8_decode(const unsigned char *s, size_t n, unsigned int *cp)
{
	size_t		 len, i;
	unsigned int	 min;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		min = 0x80;
		*cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		min = 0x800;
		*cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		min = 0x10000;
		*cp = s[0] & 0x07;
	} else
		return 0;
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		*cp = *cp << 6 | (s[i] & 0x3f);
	}
	if (*cp < min || *cp > 0x10ffff || (*cp >= 0xd800 && *cp <= 0xdfff))
		return 0;
	return len;
}

/*
 * Characters a terminal acts on rather than shows: C0 and C1 controls,
 * DEL, and the Unicode marks that reorder or break the line around them.
 */
static int
is_control(unsigned int cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x61c ||
	    cp == 0x200e || cp == 0x200f || (cp >= 0x2028 && cp <= 0x202e) ||
	    (cp >= 0x2066 && cp <= 0x2069);
}

/*
 * Make a label of the n bytes at in: valid UTF-8 text stays as it is; a
 * backslash, a control character (\x1b, \u202e) and each byte of invalid
 * UTF-8 (\xff) are written as escapes, so the label shows what was sent
 * and can do nothing to a terminal.  One trailing CR is dropped.  The label
 * is cut at a character boundary to fit size bytes with its NUL.
 */
void
label_escape(const char *in, size_t n, char *out, size_t size)
{
	const unsigned char *s = (const unsigned char *)in;
	char		 esc[16];
	size_t		 len, used = 0, i = 0, elen;
	unsigned int	 cp;

	if (n > 0 && s[n - 1] == '\r')
		n--;
	while (i < n) {
		if ((len = utf8_decode(s + i, n - i, &cp)) == 0) {
			elen = (size_t)snprintf(esc, sizeof(esc), "\\x%02x",
			    s[i]);
			len = 1;
		} else if (cp == '\\') {
			elen = (size_t)snprintf(esc, sizeof(esc), "\\\\");
		} else if (is_control(cp)) {
			elen = (size_t)snprintf(esc, sizeof(esc),
			    cp < 0x80 ? "\\x%02x" : "\\u%04x", cp);
		} else {
			memcpy(esc, s + i, len);
			elen = len;
		}
		if (used + elen >= size)
			break;
		memcpy(out + used, esc, elen);
		used += elen;
		i += len;
	}
	out[used] = '\0';
}
