"""instructions.py: section 1, user-space instructions per sample.

valgrind --tool=callgrind counts the instructions memwatch executes in user
space (not the kernel's share) in a short and a long run at 1 ms; the
difference divided by the difference in samples leaves start-up and exit
out.  The minimal sampler (floor -p) is counted the same way.  (valgrind
3.19, Debian 12's, does not know pidfd_open: memwatch then waits for its
child through SIGCHLD, which changes nothing per sample.)  Writes
instructions.csv, one row per run.
"""

import subprocess

from common import (FLOOR, MEMWATCH, VALGRIND, run, scratch, start,
                    step, summary, write_csv)

TICKS = (300, 1300)     # a short and a long run, at 1 ms
REPS = 3
TOOLS = ("memwatch", "memwatch -o", "minimal sampler")


def callgrind_total(path):
    """Return the instruction count in callgrind's output file path."""
    with open(path) as f:
        for line in f:
            if line.startswith(("summary:", "totals:")):
                return int(line.split()[1])
    raise ValueError(f"{path}: no totals")


def count(tool, ticks, target):
    """Run tool under callgrind for ticks; return (instructions, samples)."""
    out = scratch("callgrind.out")
    vg = [VALGRIND, "--tool=callgrind", f"--callgrind-out-file={out}"]
    if tool == "minimal sampler":
        p = subprocess.run(vg + [FLOOR, "-p", str(target), "1000",
                                 str(ticks)],
                           capture_output=True, text=True, check=True)
        samples = int(p.stdout.split()[1])
    else:
        o = ["-o", "/dev/null"] if tool == "memwatch -o" else []
        samples = summary(run(vg + [MEMWATCH, "-i", "1ms"] + o +
                              ["--", "sleep", f"{ticks / 1000:.3f}"]))[1]
    return callgrind_total(out), samples


def main():
    if not VALGRIND:
        return
    rows = []
    target = start(["sleep", "3600"])
    try:
        for rep in range(REPS):
            step(f"instructions: run {rep + 1} of {REPS}")
            for tool in TOOLS:
                for ticks in TICKS:
                    n, samples = count(tool, ticks, target.pid)
                    rows.append([rep + 1, tool, ticks, samples, n])
    finally:
        target.kill()
        target.wait()
    write_csv("instructions.csv", ["rep", "tool", "ticks", "samples",
                                   "instructions"], rows)


if __name__ == "__main__":
    main()
