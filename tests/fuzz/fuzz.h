/*
 * fuzz.h: what the fuzz targets share: the libFuzzer entry point, and a
 * second reading of the decimal fields of /proc files to check the
 * parsers of probe.c against.
 */

#include <stddef.h>
#include <stdint.h>

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/*
 * The largest value the parsers of probe.c must take.  They refuse a
 * field once one more digit could overflow, which loses the six values
 * from 2^64 - 6 up: no /proc field comes near them.
 */
#define FIELD_MAX	18446744073709551609ULL

enum field { FIELD_NONE, FIELD_OK, FIELD_HUGE };

/*
 * Read the digits at s (up to end): FIELD_NONE if there are none, else
 * store the position after them and the value, and say whether it is at
 * most FIELD_MAX.
 */
static inline enum field
read_field(const char *s, const char *end, const char **after, uint64_t *v)
{
	unsigned __int128 n = 0;
	const char	*p;

	for (p = s; p < end && *p >= '0' && *p <= '9'; p++)
		if ((n = n * 10 + (unsigned)(*p - '0')) > FIELD_MAX)
			n = (unsigned __int128)FIELD_MAX + 1;
	if (p == s)
		return FIELD_NONE;
	*after = p;
	*v = (uint64_t)n;
	return n > FIELD_MAX ? FIELD_HUGE : FIELD_OK;
}
