"""schedule.py: section 2, does memwatch keep to its schedule?

memwatch (-o, samples with their elapsed time) and the bare timer loop
(floor -t, its own wakeup times) run for 10 s each at 1 kHz and at 10 kHz,
in slices of 2 s that take turns, so that each slice of one has a slice of
the other next to it, under the same load of a shared machine.  For each
slice: the ticks over the sampled span, the samples taken, and the
lateness of each sample behind the tick it belongs to.  Writes
schedule.csv, one row per slice.
"""

from common import (FLOOR, MEMWATCH, percentile, run, scratch, step,
                    write_csv)

RATES = (("1kHz", 1000), ("10kHz", 100))     # interval in us
SLICES = 5
SECONDS = 2             # per slice


def micros(s):
    """Return "12.345678" seconds as integer microseconds."""
    whole, frac = s.split(".")
    return int(whole) * 1000000 + int(frac)


def memwatch_times(interval_us):
    """Run memwatch; return its timer's samples, in us since its start."""
    out = scratch("schedule.csv")
    run([MEMWATCH, "-q", "-i", f"{interval_us}us", "-o", out, "--",
         "sleep", str(SECONDS)])
    with open(out) as f:
        rows = f.read().split("\n")[2:]     # the header, the sample at 0
    return [micros(r.split(",")[0]) for r in rows if r]


def floor_times(interval_us):
    """Run the bare timer loop; return its wakeups, in us since its start."""
    out = scratch("schedule.txt")
    run([FLOOR, "-t", out, str(interval_us),
         str(SECONDS * 1000000 // interval_us)])
    with open(out) as f:
        return [micros(line) for line in f.read().split()]


def analyse(times, interval_us):
    """Return ticks, samples, % achieved, lateness p50, p99, max (us)."""
    ticks = times[-1] // interval_us
    late = sorted(t % interval_us for t in times)
    return [ticks, len(times), f"{100 * len(times) / ticks:.3f}",
            percentile(late, 50), percentile(late, 99), late[-1]]


def main():
    rows = []
    for n in range(SLICES):
        step(f"schedule: slice {n + 1} of {SLICES}")
        for rate, interval_us in RATES:
            tools = [("timer loop", floor_times), ("memwatch", memwatch_times)]
            if n % 2:
                tools.reverse()     # neither always goes first
            for tool, times in tools:
                rows.append([n + 1, rate, tool] +
                            analyse(times(interval_us), interval_us))
    write_csv("schedule.csv", ["slice", "rate", "tool", "ticks", "samples",
                               "achieved_pct", "late_p50_us", "late_p99_us",
                               "late_max_us"], rows)


if __name__ == "__main__":
    main()
