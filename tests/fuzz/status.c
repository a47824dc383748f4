/*
 * Fuzz target for parse_status_kib() (probe.c), which finds VmHWM and the
 * other "key N kB" lines in /proc/PID/status at each segment boundary.
 *
 * The input is the file, without a terminating NUL.  The first line that
 * begins "VmHWM:" decides: blanks, a number, " kB" give its bytes; anything
 * else there is EINVAL; no such line is ESRCH (a process without memory).
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
	const char	*line, *nl, *p;
	uint64_t	 kib, hwm = 0;
	enum field	 f;
	int		 rc;

	rc = parse_status_kib(buf, size, "VmHWM:", &hwm);

	for (line = buf; line < end; line = nl + 1) {
		if ((size_t)(end - line) >= 6 && memcmp(line, "VmHWM:", 6) == 0)
			break;
		if ((nl = memchr(line, '\n', (size_t)(end - line))) == NULL) {
			line = end;
			break;
		}
	}
	if (line >= end) {
		assert(rc == ESRCH);
		return 0;
	}
	for (p = line + 6; p < end && (*p == ' ' || *p == '\t'); p++)
		continue;
	if ((f = read_field(p, end, &p, &kib)) != FIELD_OK ||
	    end - p < 3 || memcmp(p, " kB", 3) != 0 ||
	    kib > UINT64_MAX / 1024) {
		assert(rc == EINVAL);
		return 0;
	}
	assert(rc == 0);
	assert(hwm == kib * 1024);
	return 0;
}
