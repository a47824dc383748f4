"""peaks.py: section 3, are short peaks caught?

The spikes workload makes 100 spikes of 64 MiB held 1 to 5 ms.  Under
memwatch at its default interval each spike has a segment of its own, whose
peak_above_end_bytes is what memwatch reports for it.  Under mprof (100 ms
and 10 ms), a spike's reported peak is the highest sample inside the
spike's window, above the median of the samples outside every window.  A
spike is caught when the reported peak is within 2% of its size.  Writes
peaks.csv, one row per spike and run.
"""

import csv
import statistics

from common import (MEMWATCH, MIB, MPROF, SPIKES, mprof_samples, run,
                    scratch, step, write_csv)

COUNT = 100
SIZE_MIB = 64
TOLERANCE = 0.02
REPS = 3
MPROF_INTERVALS = (0.1, 0.01)


def workload():
    """Return the spikes command line."""
    return [SPIKES, str(COUNT), str(SIZE_MIB), scratch("spikes.csv")]


def holds():
    """Return how long each spike of the last run was held, in ms."""
    with open(scratch("spikes.csv"), newline="") as f:
        return [int(s["hold_ms"]) for s in csv.DictReader(f)]


def memwatch_peaks():
    """Return the peak above end memwatch reports for each spike."""
    seg = scratch("peaks-segments.csv")
    run([MEMWATCH, "-q", "-s", seg, "--"] + workload())
    with open(seg, newline="") as f:
        segments = list(csv.DictReader(f))
    # segment 1 runs up to the first spike's mark
    return [int(s["peak_above_end_bytes"]) for s in segments[1:COUNT + 1]]


def mprof_peaks(interval):
    """Return the highest sample mprof took in each spike, above base."""
    dat = scratch(f"peaks-{interval}.dat")
    run([MPROF, "run", "--interval", str(interval), "-o", dat] + workload())
    samples = mprof_samples(dat)
    with open(scratch("spikes.csv"), newline="") as f:
        windows = [(float(s["start_s"]), float(s["end_s"]))
                   for s in csv.DictReader(f)]
    base = statistics.median(
        b for t, b in samples if not any(s <= t <= e for s, e in windows))
    return [max((b - base for t, b in samples if s <= t <= e), default=0)
            for s, e in windows]


def main():
    size = SIZE_MIB * MIB
    tools = [("memwatch", "100ms", memwatch_peaks)]
    if MPROF:
        tools += [("mprof", f"{i * 1000:g}ms",
                   lambda i=i: mprof_peaks(i)) for i in MPROF_INTERVALS]
    rows = []
    for rep in range(REPS):
        step(f"peaks: run {rep + 1} of {REPS}")
        for tool, interval, peaks in tools:
            reported = peaks()
            for i, (peak, hold) in enumerate(zip(reported, holds())):
                caught = abs(peak - size) <= TOLERANCE * size
                rows.append([rep + 1, tool, interval, i + 1, hold,
                             round(peak), int(caught)])
    write_csv("peaks.csv", ["rep", "tool", "interval", "spike", "hold_ms",
                            "reported_bytes", "caught"], rows)


if __name__ == "__main__":
    main()
