/*
 * Fuzz target for parse_stat_cminflt() (probe.c), which reads field 11 of
 * /proc/PID/stat when a launched command ends.
 *
 * The input is the file, without a terminating NUL.  Field 2, the command
 * name in parentheses, may hold anything, ")" and spaces included, so the
 * fields are counted from the last ")": it must be followed by single
 * spaces before each of fields 3 to 11, and field 11 must begin with a
 * number, which is the answer.  Anything else is EINVAL.
 */

#include "config.h"

#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "memwatch.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char	*buf = (const char *)data, *end = buf + size;
	const char	*paren = NULL, *p, *sp;
	uint64_t	 want, got = 0;
	int		 rc, spaces;

	rc = parse_stat_cminflt(buf, size, &got);

	for (p = buf; p < end; p++)
		if (*p == ')')
			paren = p;
	if (paren == NULL) {
		assert(rc == EINVAL);
		return 0;
	}
	/* field 11 begins after the ninth space past ")"; the first comes
	 * at once */
	p = paren + 1;
	if (p == end || *p != ' ') {
		assert(rc == EINVAL);
		return 0;
	}
	for (spaces = 1; spaces < 9; spaces++) {
		if ((sp = memchr(p + 1, ' ', (size_t)(end - p - 1))) == NULL) {
			assert(rc == EINVAL);
			return 0;
		}
		p = sp;
	}
	if (read_field(p + 1, end, &p, &want) != FIELD_OK) {
		assert(rc == EINVAL);
		return 0;
	}
	assert(rc == 0);
	assert(got == want);
	return 0;
}
