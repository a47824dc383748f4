"""accuracy.py: section 6, the seed example measured by memwatch and mprof.

numpy_phases.py runs under memwatch (its segments 2 to 4 are the phases)
and under mprof at 100 ms (its timeline cut at the times the script wrote:
a phase starts at the last sample before its boundary and ends at the last
sample before the next; its peak is the highest sample between).  Writes
accuracy.csv: each phase's delta and peak above end, in bytes.
"""

import csv
import os

from common import (HERE, MEMWATCH, MPROF, NUMPY, PYTHON, mprof_samples,
                    run, scratch, step, write_csv)

SCRIPT = [PYTHON, os.path.join(HERE, "numpy_phases.py"),
          scratch("boundaries.txt")]
PHASES = ("a = np.ones(10**7)", "b = np.ones(10**7)", "b = a * b")
REPS = 3


def memwatch_phases():
    """Return (delta, peak above end) of each phase, from memwatch."""
    seg = scratch("accuracy-segments.csv")
    run([MEMWATCH, "-q", "-s", seg, "--"] + SCRIPT)
    with open(seg, newline="") as f:
        segments = list(csv.DictReader(f))[1:1 + len(PHASES)]
    return [(int(s["delta_bytes"]), int(s["peak_above_end_bytes"]))
            for s in segments]


def mprof_phases():
    """Return (delta, peak above end) of each phase, from mprof's line."""
    dat = scratch("accuracy.dat")
    if os.path.exists(dat):
        os.remove(dat)
    run([MPROF, "run", "--interval", "0.1", "-o", dat] + SCRIPT)
    samples = mprof_samples(dat)
    with open(scratch("boundaries.txt")) as f:
        bounds = [float(t) for t in f.read().split()]

    def before(t):
        return [b for s, b in samples if s < t][-1]

    out = []
    for start, end in zip(bounds, bounds[1:]):
        inside = [b for s, b in samples if start <= s < end]
        last = before(end)
        out.append((last - before(start), max(inside + [last]) - last))
    return out


def main():
    if not NUMPY:
        return
    tools = [("memwatch", "100ms", memwatch_phases)]
    if MPROF:
        tools.append(("mprof", "100ms", mprof_phases))
    rows = []
    for rep in range(REPS):
        step(f"accuracy: run {rep + 1} of {REPS}")
        for tool, interval, phases in tools:
            for phase, (delta, above) in zip(PHASES, phases()):
                rows.append([rep + 1, tool, interval, phase, round(delta),
                             round(above)])
    write_csv("accuracy.csv", ["rep", "tool", "interval", "phase",
                               "delta_bytes", "peak_above_end_bytes"], rows)


if __name__ == "__main__":
    main()
