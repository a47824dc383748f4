"""tree_cost.py: section 8, what watching a process tree costs in CPU time.

The tree: tests/alloc forks 8 workers that each touch 10 MiB and then sit
idle, and waits for them; each monitor launches a tree of its own.  As in
cost.py, the monitor's on-CPU time is read from /proc/MONITOR/schedstat at
two moments of one run after start-up, everything runs on the last CPU,
and the order of the monitors is reversed every other run.  Monitors, at
10 ms and 100 ms: memwatch -o /dev/null (it writes its samples as mprof
writes its own), memwatch -o /dev/null -P /dev/null (a row per process as
well, as mprof --multiprocess writes a line per child), mprof run
--include-children, mprof run --multiprocess, and the bare timer loop
(floor), which shows what a wakeup alone costs on this machine.

Discovery: memwatch at 10 ms (no outputs) on a process of 64 threads,
each of which has a children file to read, beside one of a single thread.

Writes tree_cost.csv, one row per case, monitor and run.
"""

import math
import os
import time

from common import (ALLOC, FLOOR, MEMWATCH, MPROF, cpu_ns, mprof_samples,
                    scratch, sleep_until, start, step, write_csv)
from cost import MPROF_WARMUP, TAIL, WARMUP, window

INTERVALS = [(0.01, "10ms"), (0.1, "100ms")]
WORKERS = 8
WORKER_MIB = 10
THREADS = 64
REPS = 3


def hold_ms(interval, warm):
    """Return how long a workload must last to outlive the measurement."""
    return str(round((warm + window(interval) + TAIL) * 1000))


def tree(ms):
    """Return the command of the tree: idle workers, and their parent."""
    return [ALLOC, "workers", str(WORKERS), str(WORKER_MIB), ms, "reap"]


def monitors(interval, name):
    """Yield (case, tool, warm-up s, command) for one run at interval."""
    us = round(interval * 1e6)
    ticks = str(math.ceil((WARMUP + window(interval) + TAIL) / interval))
    ms = hold_ms(interval, WARMUP)
    yield "8 workers", "timer loop", WARMUP, [FLOOR, str(us), ticks]
    mw = [MEMWATCH, "-q", "-i", name, "-o", "/dev/null"]
    yield "8 workers", "memwatch -o", WARMUP, mw + ["--"] + tree(ms)
    yield ("8 workers", "memwatch -o -P", WARMUP,
           mw + ["-P", "/dev/null", "--"] + tree(ms))
    if MPROF:
        for flag in ("--include-children", "--multiprocess"):
            yield ("8 workers", f"mprof {flag}", MPROF_WARMUP,
                   [MPROF, "run", flag, "--interval", str(interval), "-o",
                    scratch("tree-cost.dat")] +
                   tree(hold_ms(interval, MPROF_WARMUP)))
    if interval == 0.01:
        mw = [MEMWATCH, "-q", "-i", name, "--"]
        yield "1 thread", "memwatch", WARMUP, mw + [ALLOC, "sleep", ms]
        yield (f"{THREADS} threads", "memwatch", WARMUP,
               mw + [ALLOC, "threads", str(THREADS), "1", ms])


def measure(tool, warm, cmd, interval):
    """Run cmd; return (span s, CPU ns in it, mprof's samples in it)."""
    dat = scratch("tree-cost.dat")
    if os.path.exists(dat):
        os.remove(dat)
    p = start(cmd)
    sleep_until(time.monotonic() + warm)
    c0, t0, w0 = cpu_ns(p.pid), time.monotonic(), time.time()
    sleep_until(t0 + window(interval))
    c1, t1, w1 = cpu_ns(p.pid), time.monotonic(), time.time()
    p.wait()
    samples = ""
    if tool.startswith("mprof"):
        samples = sum(w0 <= s <= w1 for s, _ in mprof_samples(dat))
    return t1 - t0, c1 - c0, samples


def main():
    if not ALLOC:
        return
    os.sched_setaffinity(0, {max(os.sched_getaffinity(0))})
    rows = []
    for rep in range(REPS):
        step(f"tree cost: run {rep + 1} of {REPS}")
        runs = [(interval, name) + m for interval, name in INTERVALS
                for m in monitors(interval, name)]
        if rep % 2:
            runs.reverse()
        for interval, name, case, tool, warm, cmd in runs:
            span, cpu, samples = measure(tool, warm, cmd, interval)
            rows.append([rep + 1, case, name, interval, tool,
                         f"{span:.6f}", cpu, samples])
    write_csv("tree_cost.csv", ["rep", "case", "interval", "interval_s",
                                "tool", "span_s", "cpu_ns", "samples"], rows)


if __name__ == "__main__":
    main()
