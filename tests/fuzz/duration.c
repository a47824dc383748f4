/*
 * Fuzz target for parse_duration() (duration.c), which reads -i.
 *
 * Whatever the bytes, it either refuses them with a reason, or accepts
 * DIGITS[.DIGITS][s|ms|us|ns] and returns its exact value, truncated to
 * the nanosecond.  The value is worked out here again another way: with a
 * unit of 10^k ns, the nanoseconds are the whole part times the unit plus
 * the first k digits of the fraction.
 */

#include "config.h"

#include <assert.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "memwatch.h"
#include "fuzz.h"

static const struct {
	const char	*suffix;
	unsigned int	 digits;	/* the unit is 10^digits ns */
} units[] = {
	{ "", 9 }, { "s", 9 }, { "ms", 6 }, { "us", 3 }, { "ns", 0 },
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char		*s, *p;
	const char	*errstr = NULL;
	unsigned __int128 whole = 0, unit = 1, frac = 0, want;
	const unsigned __int128 cap = (unsigned __int128)1 << 100;
	size_t		 nwhole = 0, nfrac = 0, i, u;
	int64_t		 ns = 0;
	int		 rc;
	bool		 known = false;

	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';	/* a NUL inside ends the string early, as argv does */
	rc = parse_duration(s, &ns, &errstr);
	assert(rc == 0 || rc == -1);
	assert(rc == 0 || errstr != NULL);

	p = s;
	for (; *p >= '0' && *p <= '9'; p++, nwhole++) {
		whole = whole * 10 + (unsigned)(*p - '0');
		if (whole > cap)
			whole = cap;	/* saturate: far too large anyway */
	}
	if (*p == '.')
		for (p++; p[nfrac] >= '0' && p[nfrac] <= '9'; nfrac++)
			continue;
	for (u = 0; u < sizeof(units) / sizeof(units[0]); u++)
		if (strcmp(p + nfrac, units[u].suffix) == 0) {
			known = true;
			break;
		}
	if (!known || nwhole + nfrac == 0) {
		assert(rc == -1);
		free(s);
		return 0;
	}
	for (i = 0; i < units[u].digits; i++) {
		unit *= 10;
		frac = frac * 10 + (i < nfrac ? (unsigned)(p[i] - '0') : 0);
	}
	want = whole * unit + frac;
	if (want + 10 * unit <= (unsigned __int128)INT64_MAX) {
		assert(rc == 0);
		assert((unsigned __int128)ns == want);
	} else if (want > (unsigned __int128)INT64_MAX) {
		assert(rc == -1);
		assert(strcmp(errstr, "too large") == 0);
	} else {
		/* near the limit, refusing is allowed too: the overflow checks
		 * are cheap rather than tight */
		assert(rc == -1 || (unsigned __int128)ns == want);
	}
	free(s);
	return 0;
}
