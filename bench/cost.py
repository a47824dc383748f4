"""cost.py: section 1, what sampling costs in CPU time.

Each monitor watches an idle `sleep`.  Its on-CPU time is read from
/proc/MONITOR/schedstat at two moments of one run, after start-up, and
divided by the wall time between them.  Monitors: memwatch with and
without -o /dev/null, mprof, and two floors: the bare timer loop (floor)
and the minimal sampler (floor -p).  pidstat, which samples once a second
at most, is set beside memwatch at 1 s.

All monitors run on one CPU, the last: on a virtual machine the CPUs can
differ twofold in what a wakeup costs.  Where they load it lightly (1 ms
and slower) the C monitors of a run share the same window, so that the
machine's noise falls on all of them alike; at 100 us they take turns.
mprof always runs alone.  Writes cost.csv, one row per monitor and run.
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
TOGETHER = 0.001        # the shortest interval at which monitors share


def window(interval):
    """Return the measured span: 1 s, and at least 30 samples."""
    return min(4.0, max(1.0, 30 * interval))


def groups(interval, name, target, rep):
    """Yield lists of (tool, command) that share one window."""
    def sleep(warm):
        return ["sleep", f"{warm + window(interval) + TAIL:.2f}"]

    us = round(interval * 1e6)
    ticks = str(math.ceil((WARMUP + window(interval) + TAIL) / interval))
    memwatch = ("memwatch", [MEMWATCH, "-q", "-i", name, "--"] +
                sleep(WARMUP))
    if name == "1s":
        # the peer that cannot go faster, and memwatch beside it
        if PIDSTAT and rep < PEER_REPS:
            yield [("pidstat", [PIDSTAT, "-r", "-p", str(target), "1",
                                ticks]), memwatch]
        return
    c = [("timer loop", [FLOOR, str(us), ticks]),
         ("minimal sampler", [FLOOR, "-p", str(target), str(us), ticks]),
         memwatch,
         ("memwatch -o", [MEMWATCH, "-q", "-i", name, "-o", "/dev/null",
                          "--"] + sleep(WARMUP))]
    if interval >= TOGETHER:
        yield c
    else:
        yield from ([m] for m in c)
    if MPROF and rep < PEER_REPS:
        yield [("mprof", [MPROF, "run", "--interval", str(interval), "-o",
                          scratch("cost.dat")] + sleep(MPROF_WARMUP))]


def reading(procs):
    """Return the CPU ns of each process, and the time, two ways."""
    return [cpu_ns(p.pid) for _, p in procs], time.monotonic(), time.time()


def measure(group, interval):
    """Run a group; yield (tool, span s, CPU ns, samples or None)."""
    if os.path.exists(scratch("cost.dat")):
        os.remove(scratch("cost.dat"))
    procs = [(tool, start(cmd)) for tool, cmd in group]
    warm = MPROF_WARMUP if group[0][0] == "mprof" else WARMUP
    sleep_until(time.monotonic() + warm)
    c0, t0, w0 = reading(procs)
    sleep_until(t0 + window(interval))
    c1, t1, w1 = reading(procs)
    for (tool, p), a, b in zip(procs, c0, c1):
        p.wait()
        samples = None
        if tool == "mprof":
            samples = sum(w0 <= s <= w1
                          for s, _ in mprof_samples(scratch("cost.dat")))
        yield tool, t1 - t0, b - a, samples


def main():
    os.sched_setaffinity(0, {max(os.sched_getaffinity(0))})
    rows = []
    target = start(["sleep", "3600"])
    try:
        for rep in range(REPS):
            step(f"cost: run {rep + 1} of {REPS}")
            for interval, name in INTERVALS:
                for group in groups(interval, name, target.pid, rep):
                    for tool, span, cpu, samples in measure(group, interval):
                        rows.append([rep + 1, name, interval, tool,
                                     f"{span:.6f}", cpu,
                                     "" if samples is None else samples])
    finally:
        target.kill()
        target.wait()
    write_csv("cost.csv", ["rep", "interval", "interval_s", "tool", "span_s",
                           "cpu_ns", "samples"], rows)


if __name__ == "__main__":
    main()
