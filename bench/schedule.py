"""schedule.py: section 2, does memwatch keep to its schedule?

memwatch (-o, samples with their elapsed time) and the bare timer loop
(floor -t, its own wakeup times) run side by side for 10 s at 1 kHz and at
10 kHz, so that the load of a shared machine falls on both alike.  They
are free to run on any CPU: on one, at 10 kHz, they would fight for it.
For each run: the ticks over the sampled span, the samples taken, and the
lateness of each sample behind the tick it belongs to.  Writes
schedule.csv, one row per tool and run.
"""

from common import (FLOOR, MEMWATCH, percentile, scratch, start, step,
                    write_csv)

RATES = (("1kHz", 1000), ("10kHz", 100))     # interval in us
SECONDS = 10
REPS = 3


def micros(s):
    """Return "12.345678" seconds as integer microseconds."""
    whole, frac = s.split(".")
    return int(whole) * 1000000 + int(frac)


def memwatch_times(path):
    """Return the timer's samples in memwatch's CSV, in us since start."""
    with open(path) as f:
        rows = f.read().split("\n")[2:]     # the header, the sample at 0
    return [micros(r.split(",")[0]) for r in rows if r]


def floor_times(path):
    """Return the wakeups the timer loop wrote, in us since its start."""
    with open(path) as f:
        return [micros(line) for line in f.read().split()]


def analyse(times, interval_us):
    """Return ticks, samples, % achieved, lateness p50, p99, max (us)."""
    ticks = times[-1] // interval_us
    late = sorted(t % interval_us for t in times)
    return [ticks, len(times), f"{100 * len(times) / ticks:.3f}",
            percentile(late, 50), percentile(late, 99), late[-1]]


def side_by_side(interval_us, rep):
    """Run both at interval_us; yield (tool, analysis) for each."""
    tools = [("timer loop", [FLOOR, "-t", scratch("loop.txt"),
                             str(interval_us),
                             str(SECONDS * 1000000 // interval_us)],
              scratch("loop.txt"), floor_times),
             ("memwatch", [MEMWATCH, "-q", "-i", f"{interval_us}us", "-o",
                           scratch("memwatch.csv"), "--", "sleep",
                           str(SECONDS)],
              scratch("memwatch.csv"), memwatch_times)]
    if rep % 2:
        tools.reverse()     # neither always starts first
    procs = [start(cmd) for _, cmd, _, _ in tools]
    for p in procs:
        p.wait()
    for tool, _, path, times in tools:
        yield tool, analyse(times(path), interval_us)


def main():
    rows = []
    for rep in range(REPS):
        step(f"schedule: run {rep + 1} of {REPS}")
        for rate, interval_us in RATES:
            for tool, analysis in side_by_side(interval_us, rep):
                rows.append([rep + 1, rate, tool] + analysis)
    write_csv("schedule.csv", ["rep", "rate", "tool", "ticks", "samples",
                               "achieved_pct", "late_p50_us", "late_p99_us",
                               "late_max_us"], rows)


if __name__ == "__main__":
    main()
