/*
 * textbuf.c: a growing text buffer for the outputs that are written whole
 * (the plot, the metrics file).  It is kept between rewrites, so it grows
 * to the size of the largest file once and no more; every output that
 * uses one bounds what it writes.  An allocation failure is remembered
 * and makes the file unwritable, never half-written.
 */

#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memwatch.h"

/* Make room for n more bytes and the NUL; false if there is none. */
static bool
reserve(struct textbuf *b, size_t n)
{
	char	*p;
	size_t	 cap;

	if (b->failed)
		return false;
	if (b->len + n + 1 <= b->cap)
		return true;
	for (cap = b->cap > 0 ? b->cap : 4096; cap < b->len + n + 1; cap *= 2)
		continue;
	if ((p = realloc(b->data, cap)) == NULL) {
		b->failed = true;
		return false;
	}
	b->data = p;
	b->cap = cap;
	return true;
}

/* Empty b for the next rewrite, keeping its memory. */
void
textbuf_reset(struct textbuf *b)
{
	b->len = 0;
	b->failed = false;
}

void
textbuf_add(struct textbuf *b, const char *s, size_t n)
{
	if (!reserve(b, n))
		return;
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void
textbuf_puts(struct textbuf *b, const char *s)
{
	textbuf_add(b, s, strlen(s));
}

/* Append printf(3) output. */
void
textbuf_printf(struct textbuf *b, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !reserve(b, (size_t)n))
		return;
	va_start(ap, fmt);
	(void)vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void
textbuf_free(struct textbuf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}
