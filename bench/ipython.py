"""ipython.py: section 4, the time a per-cell monitor adds to each cell.

Runs cell_latency.py: 1000 trivial cells with no monitor, under memwatch
with its snippet, and with a memory_profiler sampling thread; and 100
cells monitored the way the IPython tools built on memory_profiler do it
(about 0.1 s a cell, so fewer cells).  Writes ipython.csv: per run and
configuration, the median and p99 time of a cell and what it adds.
"""

import csv
import io
import os
import subprocess

from common import HERE, MEMWATCH, MPROF, PYTHON, step, write_csv

REPS = 3
RUNS = (("none,memwatch,mprof_thread", 1000), ("mprof_cell", 100))


def main():
    rows = []
    for rep in range(REPS):
        for configs, cells in RUNS:
            if "mprof" in configs and not MPROF:
                configs = ",".join(c for c in configs.split(",")
                                   if "mprof" not in c)
            if not configs:
                continue
            step(f"ipython: {configs}, {cells} cells, run {rep + 1}")
            out = subprocess.run(
                [PYTHON, os.path.join(HERE, "cell_latency.py"), "--cells",
                 str(cells), "--configs", configs, MEMWATCH],
                stdout=subprocess.PIPE, text=True, check=True).stdout
            for r in csv.DictReader(io.StringIO(out)):
                rows.append([rep, r["config"], r["cells"], r["median_us"],
                             r["p99_us"], r["added_median_us"],
                             r["added_p99_us"]])
    write_csv("ipython.csv", ["rep", "config", "cells", "median_us",
                              "p99_us", "added_median_us", "added_p99_us"],
              rows)


if __name__ == "__main__":
    main()
