"""cost.py: section 1, what sampling costs in CPU time.

Each monitor watches an idle `sleep`.  Its on-CPU time is read from
/proc/MONITOR/schedstat at two moments of one run, after start-up, and
divided by the wall time between them.  Monitors: memwatch with and
without -o /dev/null, mprof, and two floors: the bare timer loop (floor)
and the minimal sampler (floor -p).  pidstat, which samples once a second
at most, is set beside memwatch at 1 s.

Monitors run one at a time, alone on one CPU (the last): on a virtual
machine the CPUs can differ twofold in what a wakeup costs, and two
monitors sharing a CPU would share its wake-ups from idle unevenly.  Each
run goes through the intervals and monitors in turn, in reverse order
every other run, so that no monitor always follows the same one.  Writes
cost.csv, one row per monitor and run.
"""

import math
import os
import time

from common import (FLOOR, MEMWATCH, MPROF, PIDSTAT, cpu_ns, mprof_samples,
                    scratch, sleep_until, start, step, write_csv)

INTERVALS = [(0.1, "100ms"), (0.01, "10ms"), (0.001, "1ms"),
             (0.0001, "100us"), (1.0, "1s")]
REPS = 5
PEER_REPS = 3
WARMUP = 0.3            # s before the first reading, for a C monitor
MPROF_WARMUP = 1.0      # Python's imports take most of it
TAIL = 0.15             # s the target outlives the second reading


def window(interval):
    """Return the measured span: 1 s, and at least 20 samples up to 3 s."""
    return min(3.0, max(1.0, 20 * interval))


def monitors(interval, name, target, rep):
    """Yield (tool, command) for the monitors of one run at interval."""
    def sleep(warm):
        return ["sleep", f"{warm + window(interval) + TAIL:.2f}"]

    us = round(interval * 1e6)
    ticks = str(math.ceil((WARMUP + window(interval) + TAIL) / interval))
    memwatch = ("memwatch", [MEMWATCH, "-q", "-i", name, "--"] +
                sleep(WARMUP))
    if name == "1s":
        # the peer that cannot go faster, and memwatch beside it
        if PIDSTAT and rep < PEER_REPS:
            yield "pidstat", [PIDSTAT, "-r", "-p", str(target), "1", ticks]
            yield memwatch
        return
    yield "timer loop", [FLOOR, str(us), ticks]
    yield "minimal sampler", [FLOOR, "-p", str(target), str(us), ticks]
    yield memwatch
    yield "memwatch -o", [MEMWATCH, "-q", "-i", name, "-o", "/dev/null",
                          "--"] + sleep(WARMUP)
    if MPROF and rep < PEER_REPS:
        yield "mprof", [MPROF, "run", "--interval", str(interval), "-o",
                        scratch("cost.dat")] + sleep(MPROF_WARMUP)


def measure(tool, cmd, interval):
    """Run cmd; return (span s, CPU ns in it, samples in it or None)."""
    if os.path.exists(scratch("cost.dat")):
        os.remove(scratch("cost.dat"))
    p = start(cmd)
    sleep_until(time.monotonic() +
                (MPROF_WARMUP if tool == "mprof" else WARMUP))
    c0, t0, w0 = cpu_ns(p.pid), time.monotonic(), time.time()
    sleep_until(t0 + window(interval))
    c1, t1, w1 = cpu_ns(p.pid), time.monotonic(), time.time()
    p.wait()
    samples = None
    if tool == "mprof":
        samples = sum(w0 <= s <= w1
                      for s, _ in mprof_samples(scratch("cost.dat")))
    return t1 - t0, c1 - c0, samples


def main():
    os.sched_setaffinity(0, {max(os.sched_getaffinity(0))})
    rows = []
    target = start(["sleep", "3600"])
    try:
        for rep in range(REPS):
            step(f"cost: run {rep + 1} of {REPS}")
            runs = [(interval, name, tool, cmd)
                    for interval, name in INTERVALS
                    for tool, cmd in monitors(interval, name, target.pid,
                                              rep)]
            if rep % 2:
                runs.reverse()
            for interval, name, tool, cmd in runs:
                span, cpu, samples = measure(tool, cmd, interval)
                rows.append([rep + 1, name, interval, tool, f"{span:.6f}",
                             cpu, "" if samples is None else samples])
    finally:
        target.kill()
        target.wait()
    write_csv("cost.csv", ["rep", "interval", "interval_s", "tool", "span_s",
                           "cpu_ns", "samples"], rows)


if __name__ == "__main__":
    main()
