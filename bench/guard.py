"""guard.py: section 7, how far past --limit memory gets before it stops.

The workload (tests/alloc, ALLOC) grows at a given rate, or fills 2 GiB
in one memset, under memwatch --limit 512M at the default interval (100 ms):
with the guard's fast schedule near the limit (1 ms, the default), and
without it (--limit-interval 100ms, the user's interval throughout).  The
workload dies of the SIGINT, and wait4(2) gives its high-water mark: the
overshoot is that exact peak minus the limit.  The rate is the growth
between the last two samples.  (The limit stays below 1 GiB: on the
virtual machine this was written on, pages beyond the first GiB of a
process fault in at a seventh of the speed.)  Writes guard.csv, one row
per run.
"""

import csv
import os
import subprocess

from common import MEMWATCH, MIB, scratch, step, write_csv

ALLOC = os.environ["ALLOC"]

LIMIT_MIB = 512
REPS = 5
# (name, alloc steps): rates from a steady 1 GiB/s to as fast as pages fault
WORKLOADS = (
    ("10 MiB / 10 ms", ["grow", "10", "10", "100"]),
    ("10 MiB / 1 ms", ["grow", "10", "1", "100"]),
    ("64 MiB memsets, no pause", ["grow", "64", "0", "16"]),
    ("one 2 GiB memset", ["alloc", "2048"]),
)
SCHEDULES = (("1 ms near the limit", []),
             ("100 ms throughout", ["--limit-interval", "100ms"]))


def once(steps, options):
    """Run the workload under the guard; return the overshoot in MiB,
    whether it is exact, the growth rate at the end in MiB/s, the samples
    taken and the signals sent."""
    seg, out = scratch("guard-seg.csv"), scratch("guard-out.csv")
    cmd = [MEMWATCH, "-q", "--limit", f"{LIMIT_MIB}M", "-s", seg, "-o",
           out] + options + ["--", ALLOC] + steps
    # the workload's end by SIGINT is the point: its status is not checked
    stderr = subprocess.run(cmd, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True).stderr
    with open(seg, newline="") as f:
        last = list(csv.DictReader(f))[-1]
    with open(out, newline="") as f:
        samples = [(float(r["elapsed_s"]), int(r["rss_bytes"]))
                   for r in csv.DictReader(f)]
    (t0, m0), (t1, m1) = samples[-2:]
    exact = last["peak_exact"] == "1"
    return ((int(last["peak_rss_bytes"]) - LIMIT_MIB * MIB) / MIB, exact,
            (m1 - m0) / MIB / (t1 - t0), len(samples),
            stderr.count(": interrupting pid "))


def main():
    rows = []
    for rep in range(REPS):
        step(f"guard: run {rep + 1} of {REPS}")
        for name, steps in WORKLOADS:
            for schedule, options in SCHEDULES:
                over, exact, rate, samples, signals = once(steps, options)
                rows.append([rep + 1, name, schedule, f"{over:.2f}",
                             int(exact), f"{rate:.0f}", samples, signals])
    write_csv("guard.csv", ["rep", "workload", "schedule", "overshoot_mib",
                            "peak_exact", "rate_mib_s", "samples",
                            "interrupts"], rows)


if __name__ == "__main__":
    main()
