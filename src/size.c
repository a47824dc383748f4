/*
 * size.c: sizes on the command line, such as "300M", "1.5GiB" or "2147483648",
 * and the limit form that also takes a percentage, "90%".  The one size
 * parser: every option that takes a size comes here.
 *
 * K, M, G and T are powers of 1024, written alone, with "B" or with "iB",
 * in either case: 1G, 1GB and 1GiB are all 2^30 bytes, as memwatch reports
 * MiB and GiB.  A plain number, or one with "B", is bytes and takes no
 * fraction.  Fractions finer than a byte, or than a millionth of the whole
 * for percentages, are truncated.
 */

#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "memwatch.h"

#define FRAC_DIGITS	9	/* of a size's fraction; the rest is truncated */
#define FIVE_9		1953125	/* 10^9 / 2^9 */

static const struct {
	const char	*suffix;
	unsigned int	 shift;	/* the unit is 2^shift bytes */
} units[] = {
	{ "", 0 }, { "B", 0 },
	{ "K", 10 }, { "KB", 10 }, { "KiB", 10 },
	{ "M", 20 }, { "MB", 20 }, { "MiB", 20 },
	{ "G", 30 }, { "GB", 30 }, { "GiB", 30 },
	{ "T", 40 }, { "TB", 40 }, { "TiB", 40 },
};

struct decimal {
	uint64_t	 whole;
	uint64_t	 frac;		/* the first FRAC_DIGITS digits, padded */
	bool		 has_frac;	/* a point with digits after it */
	const char	*end;		/* the first character after the number */
};

/*
 * Read DIGITS[.DIGITS] at s.  Return 0, or -1 with *errstr set: no digits
 * ("invalid") or a whole part beyond UINT64_MAX ("too large").
 */
static int
scan_decimal(const char *s, struct decimal *d, const char **errstr)
{
	size_t	 nwhole = 0, nfrac = 0;

	d->whole = d->frac = 0;
	for (; isdigit((unsigned char)*s); s++, nwhole++) {
		if (d->whole > (UINT64_MAX - (uint64_t)(*s - '0')) / 10) {
			*errstr = "too large";
			return -1;
		}
		d->whole = d->whole * 10 + (uint64_t)(*s - '0');
	}
	if (*s == '.')
		for (s++; isdigit((unsigned char)*s); s++, nfrac++)
			if (nfrac < FRAC_DIGITS)
				d->frac = d->frac * 10 + (uint64_t)(*s - '0');
	for (size_t i = nfrac; i < FRAC_DIGITS; i++)
		d->frac *= 10;
	d->has_frac = nfrac > 0;
	d->end = s;
	if (nwhole + nfrac == 0) {
		*errstr = "invalid";
		return -1;
	}
	return 0;
}

/*
 * Parse s as a size in bytes, more than zero.  Return 0 and store it in
 * *bytes, or return -1 and point *errstr at the reason.
 */
int
parse_size(const char *s, uint64_t *bytes, const char **errstr)
{
	struct decimal	 d;
	uint64_t	 frac;
	size_t		 i;
	unsigned int	 shift;

	if (scan_decimal(s, &d, errstr) == -1)
		return -1;
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strcasecmp(d.end, units[i].suffix) == 0)
			break;
	if (i == sizeof(units) / sizeof(units[0])) {
		*errstr = "invalid unit (K, M, G, T)";
		return -1;
	}
	shift = units[i].shift;
	if (shift == 0 && d.has_frac) {
		*errstr = "a fraction of a byte";
		return -1;
	}
	/* frac * 2^shift / 10^9, exactly: 10^9 is 2^9 * 5^9, shift >= 10 */
	frac = shift == 0 ? 0 : (d.frac << (shift - 9)) / FIVE_9;
	if (d.whole > (UINT64_MAX - frac) >> shift) {
		*errstr = "too large";
		return -1;
	}
	*bytes = (d.whole << shift) + frac;
	if (*bytes == 0) {
		*errstr = "zero";
		return -1;
	}
	return 0;
}

/*
 * Parse s as a limit: a size (parse_size), or N% with 0 < N <= 100.
 * Return 0 and store either the bytes in *bytes and 0 in *ppm, or the
 * percentage in millionths of the whole in *ppm and 0 in *bytes; or
 * return -1 and point *errstr at the reason.
 */
int
parse_limit(const char *s, uint64_t *bytes, uint32_t *ppm,
    const char **errstr)
{
	struct decimal	 d;
	size_t		 len = strlen(s);

	*bytes = 0;
	*ppm = 0;
	if (len == 0 || s[len - 1] != '%')
		return parse_size(s, bytes, errstr);
	if (scan_decimal(s, &d, errstr) == -1)
		return -1;
	if (d.end != s + len - 1) {
		*errstr = "invalid";
		return -1;
	}
	if (d.whole > 100 || (d.whole == 100 && d.frac > 0)) {
		*errstr = "above 100%";
		return -1;
	}
	/* percent to millionths: 10^4 per whole, the first 4 decimals */
	*ppm = (uint32_t)(d.whole * 10000 + d.frac / 100000);
	if (*ppm == 0) {
		*errstr = "zero";
		return -1;
	}
	return 0;
}

/* Write bytes into buf as people read them: "300.00 MiB", "1.80 GiB". */
void
format_size(char *buf, size_t size, uint64_t bytes)
{
	if (bytes >= 1024 * 1024 * 1024)
		(void)snprintf(buf, size, "%.2f GiB", (double)bytes / (MIB * 1024));
	else
		(void)snprintf(buf, size, "%.2f MiB", (double)bytes / MIB);
}
