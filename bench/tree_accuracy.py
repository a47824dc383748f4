"""tree_accuracy.py: section 8, the peaks of a tree, memwatch beside mprof.

Three workloads made of tests/alloc, each run under memwatch (with the
markers or SIGUSR1 that cut its segments) and under mprof run
--include-children at its default 100 ms (the same steps without the
marks), and each number set against a reference measured apart:

- stages: a shell runs programs of 200, 300 and 100 MiB one after the
  other, each its own phase.  memwatch's phases are its segments; mprof's
  timeline is cut at the times the shell wrote before each stage, and a
  phase's peak is its highest sample, the way accuracy.py cuts it.  The
  reference is the stage's own peak (its ru_maxrss from wait4, run alone)
  plus the shell's RSS: the tree's true peak in that phase.
- workers: 4 workers hold 100 MiB each at once.  memwatch's peak is that of
  the segment cut while all four hold it; mprof's the highest sample.  The
  reference is 400 MiB plus the parent's RSS.
- spike: one worker of a live tree (3 workers of 50 MiB) touches 100 MiB
  for 5 ms, memwatch at -i 1s.  memwatch's height is its segment's peak
  above end; mprof's its highest sample above the median of those taken
  while the workers hold their memory.  The reference is 100 MiB.

Writes tree_accuracy.csv: one row per workload, phase, tool and run.
"""

import csv
import os
import resource
import statistics
import time

from common import (ALLOC, MEMWATCH, MIB, MPROF, mprof_samples, run, scratch,
                    start, step, write_csv)

STAGES = (200, 300, 100)
REPS = {"stages": 3, "workers": 3, "spike": 5}
MPROF_INTERVAL = "0.1"
# the shell's script: $1 is the workload, $2 the file of phase times
STAGE_SCRIPT = """
mark() { if [ -n "${MEMWATCH_FIFO:-}" ]; then "$1" marker "$2"; fi; }
for n in %s; do
	date +%%s.%%N >> "$2"
	mark "$1" "stage $n"
	"$1" alloc $n sleep 300
done
date +%%s.%%N >> "$2"
mark "$1" end
""" % " ".join(str(n) for n in STAGES)
WORKERS = ["workers", "4", "100", "1200", "sleep", "400", "mark", "sleep",
           "500", "mark", "reap"]
SPIKE = ["workers", "3", "50", "1300", "sleep", "200", "mark", "child",
         "sleep", "300", "spike", "100", "5", "sleep", "300", "mark"]


def unmarked(steps):
    """Return the steps without the marks, which need a memwatch."""
    return [s for s in steps if s != "mark"]


def idle_rss(cmd):
    """Return the RSS of cmd 200 ms after its start, in bytes."""
    p = start(cmd)
    time.sleep(0.2)
    with open(f"/proc/{p.pid}/statm") as f:
        pages = int(f.read().split()[1])
    p.wait()
    return pages * resource.getpagesize()


def own_peak(mib):
    """Return the peak RSS of a stage of mib MiB run alone (ru_maxrss)."""
    p = start([ALLOC, "alloc", str(mib), "sleep", "0"])
    _, _, usage = os.wait4(p.pid, 0)
    p.returncode = 0
    return usage.ru_maxrss * 1024


def segments(args, steps):
    """Run memwatch with args on the workload; return its segment rows."""
    seg = scratch("tree-segments.csv")
    run([MEMWATCH, "-q", "-s", seg] + args + ["--"] + steps)
    with open(seg, newline="") as f:
        return list(csv.DictReader(f))


def mprof(steps):
    """Run mprof on the workload, unmarked; return its samples."""
    dat = scratch("tree-accuracy.dat")
    if os.path.exists(dat):
        os.remove(dat)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("MEMWATCH_")}
    run([MPROF, "run", "--include-children", "--interval", MPROF_INTERVAL,
         "-o", dat] + steps, env=env)
    return mprof_samples(dat)


def stage_cmd():
    """Return the stages' shell command; it writes its phase times."""
    bounds = scratch("tree-bounds.txt")
    if os.path.exists(bounds):
        os.remove(bounds)
    return ["sh", "-c", STAGE_SCRIPT, "sh", ALLOC, bounds], bounds


def stages(tool):
    """Yield (phase, peak bytes, kind) of each stage."""
    cmd, bounds = stage_cmd()
    if tool == "memwatch":
        for s in segments([], cmd):
            if s["label"].startswith("stage "):
                yield s["label"], int(s["peak_rss_bytes"]), s["peak_kind"]
        return
    samples = mprof(cmd)
    with open(bounds) as f:
        times = [float(t) for t in f.read().split()]
    for n, begin, end in zip(STAGES, times, times[1:]):
        inside = [b for t, b in samples if begin <= t < end]
        last = [b for t, b in samples if t < end][-1:]
        yield f"stage {n}", max(inside + last), ""


def workers(tool):
    """Yield the tree's peak while the 4 workers hold their memory."""
    steps = [ALLOC] + WORKERS
    if tool == "memwatch":
        s = segments([], steps)[1]
        yield "4 × 100 MiB", int(s["peak_rss_bytes"]), s["peak_kind"]
    else:
        yield ("4 × 100 MiB",
               max(b for _, b in mprof(unmarked(steps))), "")


def spike(tool):
    """Yield the height of the spike above the tree's plateau."""
    steps = [ALLOC] + SPIKE
    if tool == "memwatch":
        s = segments(["-i", "1s"], steps)[1]
        yield ("100 MiB for 5 ms", int(s["peak_above_end_bytes"]),
               s["peak_kind"])
    else:
        line = [b for _, b in mprof(unmarked(steps))]
        plateau = [b for b in line if b >= 150 * MIB]
        yield ("100 MiB for 5 ms",
               max(line) - statistics.median(plateau or line), "")


def main():
    if not ALLOC:
        return
    shell = idle_rss(["sh", "-c", "sleep 0.4; true"])
    parent = idle_rss([ALLOC, "sleep", "400"])
    expected = {f"stage {n}": own_peak(n) + shell for n in STAGES}
    expected["4 × 100 MiB"] = 400 * MIB + parent
    expected["100 MiB for 5 ms"] = 100 * MIB
    tools = [("memwatch", "100ms")]
    if MPROF:
        tools.append(("mprof", "100ms"))
    rows = []
    for name, workload in (("stages", stages), ("workers", workers),
                           ("spike", spike)):
        for rep in range(REPS[name]):
            step(f"tree accuracy: {name}, run {rep + 1} of {REPS[name]}")
            for tool, interval in tools:
                if name == "spike" and tool == "memwatch":
                    interval = "1s"
                for phase, got, kind in workload(tool):
                    rows.append([rep + 1, name, phase, tool, interval,
                                 round(got), expected[phase], kind])
    write_csv("tree_accuracy.csv", ["rep", "workload", "phase", "tool",
                                    "interval", "reported_bytes",
                                    "expected_bytes", "peak_kind"], rows)


if __name__ == "__main__":
    main()
