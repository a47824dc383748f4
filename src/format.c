/*
 * format.c: numbers and CSV fields written by hand into a buffer, with no
 * allocation and no stdio, for the rows written on every sample.  Each
 * function writes at p and returns the end of what it wrote.
 */

#include "config.h"

#include <string.h>

#include "memwatch.h"

char *
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

char *
fmt_i64(char *p, int64_t n)
{
	if (n >= 0)
		return fmt_u64(p, (uint64_t)n);
	*p++ = '-';
	return fmt_u64(p, -(uint64_t)n);
}

/* Nanoseconds ns >= 0 as seconds with six decimals. */
char *
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

/* s as one CSV field, quoted as RFC 4180 asks where needed. */
char *
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

/* A figure, or nothing where there is none (NO_VALUE): NaN to pandas. */
char *
fmt_value(char *p, uint64_t v)
{
	return v == NO_VALUE ? p : fmt_u64(p, v);
}
