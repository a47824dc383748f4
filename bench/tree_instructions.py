"""tree_instructions.py: section 8, user-space instructions per member.

valgrind --tool=callgrind counts what memwatch executes in user space,
at 10 ms, where every sample also looks for children and, in a tree of
more than one process, reads and resets every member's mark.  Three
workloads, each in a short and a long run (the difference divided by the
difference in samples leaves start-up and exit out, as instructions.py
does): one process alone, a tree of 16 (a parent and 15 idle workers), and
one process of 64 threads, each with a children file to read.  The cost of
a member is the 16-process figure less the 1-process one, over 15; that of
a thread the 64-thread figure less the 1-process one, over 64.  Writes
tree_instructions.csv, one row per run.
"""

from common import (ALLOC, MEMWATCH, VALGRIND, run, scratch, step, summary,
                    write_csv)
from instructions import callgrind_total

HOLD_MS = (500, 1500)
REPS = 3
WORKLOADS = {
    "1 process": lambda ms: ["sleep", ms],
    "16 processes": lambda ms: ["workers", "15", "1", ms, "reap"],
    "64 threads": lambda ms: ["threads", "64", "1", ms],
}


def count(workload, ms):
    """Run memwatch on workload under callgrind; return (instr, samples)."""
    out = scratch("tree-callgrind.out")
    steps = WORKLOADS[workload](str(ms))
    samples = summary(run([VALGRIND, "--tool=callgrind",
                           f"--callgrind-out-file={out}", MEMWATCH,
                           "-i", "10ms", "--", ALLOC] + steps))[1]
    return callgrind_total(out), samples


def main():
    if not (VALGRIND and ALLOC):
        return
    rows = []
    for rep in range(REPS):
        step(f"tree instructions: run {rep + 1} of {REPS}")
        for workload in WORKLOADS:
            for ms in HOLD_MS:
                n, samples = count(workload, ms)
                rows.append([rep + 1, workload, ms, samples, n])
    write_csv("tree_instructions.csv", ["rep", "workload", "hold_ms",
                                        "samples", "instructions"], rows)


if __name__ == "__main__":
    main()
