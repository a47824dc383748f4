"""instructions.py: section 1, user-space instructions per sample.

valgrind --tool=callgrind counts the instructions memwatch executes in user
space (not the kernel's share) in a short and a long run at 1 ms; the
difference divided by the difference in samples leaves start-up and exit
out.  The minimal sampler (floor -p) is counted the same way.  Where
valgrind does not know pidfd_open (3.19, Debian 12), memwatch runs with
nopidfd.so preloaded.  Writes instructions.csv, one row per run.
"""

import os
import subprocess

from common import (FLOOR, MEMWATCH, NOPIDFD, VALGRIND, run, scratch, start,
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


def preload():
    """Return the LD_PRELOAD memwatch needs under this valgrind, or ""."""
    p = subprocess.run([VALGRIND, "-q", MEMWATCH, "-q", "--", "true"],
                       capture_output=True)
    return "" if p.returncode == 0 else NOPIDFD


def count(tool, ticks, target, env):
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
                              ["--", "sleep", f"{ticks / 1000:.3f}"],
                              env=env))[1]
    return callgrind_total(out), samples


def main():
    if not VALGRIND:
        return
    rows = []
    so = preload()
    env = dict(os.environ, LD_PRELOAD=so) if so else None
    target = start(["sleep", "3600"])
    try:
        for rep in range(REPS):
            step(f"instructions: run {rep + 1} of {REPS}")
            for tool in TOOLS:
                for ticks in TICKS:
                    n, samples = count(tool, ticks, target.pid, env)
                    shim = "" if tool == "minimal sampler" else so
                    rows.append([rep + 1, tool, ticks, samples, n,
                                 os.path.basename(shim)])
    finally:
        target.kill()
        target.wait()
    write_csv("instructions.csv", ["rep", "tool", "ticks", "samples",
                                   "instructions", "preload"], rows)


if __name__ == "__main__":
    main()
