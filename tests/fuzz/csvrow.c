/*
 * Fuzz target for format_segment() (output.c), which writes a row of the
 * segments CSV, to the file and to the reply FIFO.
 *
 * The input gives a segment's numbers and its label, built through
 * segment.c as memwatch builds it.  The label is either a line made safe
 * by label_escape(), as from the FIFO, or any bytes up to a NUL.  The row
 * must fit ROW_MAX, end in its only unquoted newline, and read back, with
 * the RFC 4180 reader below, as the 18 fields that were put in: the label
 * byte for byte, the numbers exactly.
 */

#include "config.h"

#include <assert.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memwatch.h"
#include "fuzz.h"

#define NFIELDS	18

struct input {
	const uint8_t	*p;
	size_t		 left;
};

/* The next 8 bytes of the input as a number, 0 once it runs out. */
static uint64_t
take(struct input *in)
{
	uint64_t	 v = 0;

	for (int i = 0; i < 8 && in->left > 0; i++, in->p++, in->left--)
		v = v << 8 | *in->p;
	return v;
}

/*
 * Split one RFC 4180 record (the whole of row, len bytes) into fields,
 * unquoting them into out; return the number of fields, or -1 if the row
 * is not one well-formed record ended by a newline.
 */
static int
parse_record(const char *row, size_t len, char field[][ROW_MAX])
{
	size_t		 i = 0, n;
	int		 nf = 0;

	for (;;) {
		if (nf == NFIELDS + 1)
			return -1;
		n = 0;
		if (i < len && row[i] == '"') {
			for (i++;; i++) {
				if (i == len)
					return -1;	/* unterminated */
				if (row[i] == '"') {
					if (i + 1 < len && row[i + 1] == '"')
						i++;
					else
						break;
				}
				field[nf][n++] = row[i];
			}
			i++;	/* the closing quote */
		} else {
			for (; i < len && row[i] != ',' && row[i] != '\n';
			    i++) {
				if (row[i] == '"' || row[i] == '\r')
					return -1;
				field[nf][n++] = row[i];
			}
		}
		field[nf++][n] = '\0';
		if (i == len)
			return -1;	/* no newline at the end */
		if (row[i] == '\n')
			return i + 1 == len ? nf : -1;
		if (row[i] != ',')
			return -1;	/* text after a closing quote */
		i++;
	}
}

static void
expect_u64(const char *f, uint64_t v)
{
	char	 buf[32];

	(void)snprintf(buf, sizeof(buf), "%" PRIu64, v);
	assert(strcmp(f, buf) == 0);
}

static void
expect_seconds(const char *f, int64_t ns)
{
	char	 buf[48];

	(void)snprintf(buf, sizeof(buf), "%" PRId64 ".%06" PRId64,
	    ns / 1000000000, ns % 1000000000 / 1000);
	assert(strcmp(f, buf) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char	 field[NFIELDS + 1][ROW_MAX];
	static struct segment s;
	struct input	 in = { data, size };
	char		 label[LABEL_MAX], row[ROW_MAX + 1], delta[32];
	/* RSS in bytes below 2^62, times below 2^62 ns (146 years) */
	const uint64_t	 mask = ((uint64_t)1 << 62) - 1;
	uint64_t	 flags, rss, hwm, peak;
	int64_t		 t0, t1;
	unsigned int	 index, nsamples;
	size_t		 len, n;

	flags = take(&in);
	index = (unsigned int)take(&in);
	t0 = (int64_t)(take(&in) & mask);
	t1 = t0 + (int64_t)(take(&in) & mask);
	rss = take(&in) & mask;
	hwm = (flags & 1) ? take(&in) & mask : 0;
	nsamples = (unsigned int)(flags >> 8 & 7);

	segment_open(&s, index, "", t0, rss);
	peak = rss;
	for (unsigned int i = 0; i < nsamples; i++) {
		rss = take(&in) & mask;
		segment_sample(&s, rss);
		peak = rss > peak ? rss : peak;
	}
	/* the rest is the label */
	if (flags & 2) {
		label_escape((const char *)in.p, in.left, label, sizeof(label));
	} else {
		n = strnlen((const char *)in.p, in.left);
		n = n < sizeof(label) - 1 ? n : sizeof(label) - 1;
		memcpy(label, in.p, n);
		label[n] = '\0';
	}
	(void)strlcpy(s.label, label, sizeof(s.label));
	segment_close(&s, t1, hwm, (flags & 4) ? PEAK_EXACT : PEAK_SAMPLED);
	peak = hwm > peak ? hwm : peak;

	/* one byte more than ROW_MAX: a row that overran would show here */
	memset(row, 0x55, sizeof(row));
	len = format_segment(row, &s);
	assert(len > 0 && len <= ROW_MAX && row[ROW_MAX] == 0x55);
	assert(parse_record(row, len, field) == NFIELDS);

	expect_u64(field[0], index);
	assert(strcmp(field[1], label) == 0);
	expect_seconds(field[2], t0);
	expect_seconds(field[3], t1);
	expect_seconds(field[4], t1 - t0);
	expect_u64(field[5], s.start_rss);
	expect_u64(field[6], rss);
	(void)snprintf(delta, sizeof(delta), "%" PRId64,
	    (int64_t)rss - (int64_t)s.start_rss);
	assert(strcmp(field[7], delta) == 0);
	expect_u64(field[8], peak);
	assert(peak >= rss && peak >= s.start_rss);
	expect_u64(field[9], peak - rss);
	expect_u64(field[10], nsamples);
	assert(strcmp(field[11], (flags & 4) ? "1" : "0") == 0);
	assert(strcmp(field[12], (flags & 4) ? "exact" : "sampled") == 0);
	return 0;
}
