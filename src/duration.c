/*
 * duration.c: durations on the command line, such as "0.1", "250us", "10ms"
 * or "2s", parsed to nanoseconds in integer arithmetic.
 */

#include "config.h"

#include <ctype.h>
#include <string.h>

#include "memwatch.h"

static const struct {
	const char	*suffix;
	int64_t		 ns;
} units[] = {
	{ "",	NSEC_PER_SEC },		/* plain seconds, as mprof takes them */
	{ "s",	NSEC_PER_SEC },
	{ "ms",	1000000 },
	{ "us",	1000 },
	{ "ns",	1 },
};

/*
 * Parse s as a non-negative decimal number with an optional unit.  Return 0
 * and store nanoseconds in *ns, or return -1 and point *errstr at the
 * reason.  Fractions finer than a nanosecond are truncated.
 */
int
parse_duration(const char *s, int64_t *ns, const char **errstr)
{
	int64_t	 whole = 0, frac = 0, scale = 1;
	size_t	 i, nwhole = 0, nfrac = 0;

	for (; isdigit((unsigned char)*s); s++, nwhole++) {
		if (whole > (INT64_MAX - 9) / 10) {
			*errstr = "too large";
			return -1;
		}
		whole = whole * 10 + (*s - '0');
	}
	if (*s == '.') {
		for (s++; isdigit((unsigned char)*s); s++, nfrac++) {
			if (nfrac < 9) {
				frac = frac * 10 + (*s - '0');
				scale *= 10;
			}
		}
	}
	if (nwhole + nfrac == 0) {
		*errstr = "invalid";
		return -1;
	}
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(s, units[i].suffix) != 0)
			continue;
		if (whole > INT64_MAX / units[i].ns - 1) {
			*errstr = "too large";
			return -1;
		}
		*ns = whole * units[i].ns + frac * units[i].ns / scale;
		return 0;
	}
	*errstr = "invalid";
	return -1;
}
