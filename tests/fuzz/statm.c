/*
 * Fuzz target for parse_statm() (probe.c), which reads /proc/PID/statm on
 * every sample.
 *
 * The first byte picks a page size; the rest is the file, handed over
 * without a terminating NUL, so a read past its end is caught.  The answer
 * must be EINVAL for anything but "SIZE RESIDENT SHARED..." with SHARED
 * no more than RESIDENT, ESRCH for a size of 0 (a process without
 * memory), else RESIDENT and SHARED pages in bytes.
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
	static const uint64_t pages[] = { 4096, 16384, 65536, 2097152 };
	const char	*buf, *end, *p;
	uint64_t	 page, vsize, resident, shared;
	struct mem	 mem = { 0, 0 };
	enum field	 f;
	int		 rc;

	if (size == 0)
		return 0;
	page = pages[data[0] % 4];
	buf = (const char *)data + 1;
	end = buf + size - 1;
	rc = parse_statm(buf, size - 1, page, &mem);

	if ((f = read_field(buf, end, &p, &vsize)) == FIELD_NONE ||
	    f == FIELD_HUGE || p == end || *p != ' ' ||
	    (f = read_field(p + 1, end, &p, &resident)) == FIELD_NONE ||
	    f == FIELD_HUGE || p == end || *p != ' ' ||
	    (f = read_field(p + 1, end, &p, &shared)) == FIELD_NONE ||
	    f == FIELD_HUGE) {
		assert(rc == EINVAL);
		return 0;
	}
	if (vsize == 0) {
		assert(rc == ESRCH);
		return 0;
	}
	if (resident > UINT64_MAX / page || shared > resident) {
		assert(rc == EINVAL);
		return 0;
	}
	assert(rc == 0);
	assert(mem.rss == resident * page && mem.file == shared * page);
	return 0;
}
