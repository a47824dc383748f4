/*
 * Fuzz target for parse_size() and parse_limit() (size.c), which read
 * --limit and --limit-kill.
 *
 * Whatever the bytes, each either refuses them with a reason or accepts
 * exactly DIGITS[.DIGITS]UNIT (UNIT one of "", B, K, KB, KiB ... TiB in any
 * case, a fraction only with K and above) for a size above 0 that fits in
 * 64 bits, and parse_limit also DIGITS[.DIGITS]% for 0 < N <= 100.  The
 * values are worked out here again in 128-bit arithmetic: a size is the
 * whole part times 2^shift plus the first nine digits of the fraction
 * times 2^shift / 10^9, truncated; a percentage in millionths is the whole
 * part times 10^4 plus its first four decimals.
 */

#include "config.h"

#include <assert.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "memwatch.h"
#include "fuzz.h"

static const char *const suffixes[] = { "", "B", "K", "KB", "KiB", "M", "MB",
	"MiB", "G", "GB", "GiB", "T", "TB", "TiB" };

/* 0 if s is no size; else 1 and the value in *want (maybe > 2^64). */
static int
expect(const char *s, bool percent, unsigned __int128 *want)
{
	unsigned __int128 whole = 0, frac = 0;
	const unsigned __int128 cap = (unsigned __int128)1 << 70;	/* << 40 fits */
	size_t		 nwhole = 0, nfrac = 0, i, shift = 0;
	const char	*p = s;

	for (; *p >= '0' && *p <= '9'; p++, nwhole++)
		if ((whole = whole * 10 + (unsigned)(*p - '0')) > cap)
			whole = cap;
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9'; p++, nfrac++)
			if (nfrac < 9)
				frac = frac * 10 + (unsigned)(*p - '0');
	for (i = nfrac; i < 9; i++)
		frac *= 10;
	if (nwhole + nfrac == 0)
		return 0;
	if (percent) {
		if (strcmp(p, "%") != 0)
			return 0;
		if (whole > 100 || (whole == 100 && frac > 0))
			return 0;
		*want = whole * 10000 + frac / 100000;
		return 1;
	}
	for (i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++)
		if (strcasecmp(p, suffixes[i]) == 0)
			break;
	if (i == sizeof(suffixes) / sizeof(suffixes[0]))
		return 0;
	shift = (i + 1) / 3 * 10;
	if (shift == 0 && nfrac > 0)
		return 0;
	*want = (whole << shift) + (frac << shift) / 1000000000;
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char		*s;
	const char	*errstr = NULL;
	unsigned __int128 want = 0;
	uint64_t	 bytes = 0, lbytes = 0;
	uint32_t	 ppm = 0;
	size_t		 len;
	int		 rc, lrc, ok;

	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';	/* a NUL inside ends the string early, as argv does */
	len = strlen(s);

	rc = parse_size(s, &bytes, &errstr);
	assert(rc == 0 || (rc == -1 && errstr != NULL));
	ok = expect(s, false, &want);
	if (!ok || want == 0 || want > UINT64_MAX)
		assert(rc == -1);
	else
		assert(rc == 0 && bytes == (uint64_t)want);

	errstr = NULL;
	lrc = parse_limit(s, &lbytes, &ppm, &errstr);
	assert(lrc == 0 || (lrc == -1 && errstr != NULL));
	if (len > 0 && s[len - 1] == '%') {
		ok = expect(s, true, &want);
		if (!ok || want == 0)
			assert(lrc == -1);
		else
			assert(lrc == 0 && lbytes == 0 && ppm == want);
	} else {
		/* a size: the same answer as parse_size */
		assert(lrc == rc && ppm == 0 && (rc != 0 || lbytes == bytes));
	}
	free(s);
	return 0;
}
