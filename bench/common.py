"""common.py: what the benchmark sections share.

Paths come from bench/run.sh through the environment: MEMWATCH, FLOOR,
SPIKES (the binaries), RESULTS (where the CSVs go), SCRATCH (a temporary
directory), MPROF, PIDSTAT and VALGRIND (empty when that peer is missing),
NUMPY (empty without numpy).  ALLOC: the tests' workload (tests/alloc),
which section 8 builds its trees with; empty when it is not built.
"""

import csv
import os
import re
import statistics
import subprocess
import sys
import time

MEMWATCH = os.environ["MEMWATCH"]
FLOOR = os.environ["FLOOR"]
SPIKES = os.environ["SPIKES"]
RESULTS = os.environ["RESULTS"]
SCRATCH = os.environ["SCRATCH"]
MPROF = os.environ.get("MPROF", "")
VALGRIND = os.environ.get("VALGRIND", "")
PIDSTAT = os.environ.get("PIDSTAT", "")
NUMPY = os.environ.get("NUMPY", "")
ALLOC = os.environ.get("ALLOC", "")
PYTHON = "/usr/bin/python3"
HERE = os.path.dirname(os.path.abspath(__file__))
MIB = 1024 * 1024


def scratch(name):
    """Return the path of a scratch file."""
    return os.path.join(SCRATCH, name)


def cpu_ns(pid):
    """Return the on-CPU time of pid's main thread so far, in ns."""
    with open(f"/proc/{pid}/schedstat") as f:
        return int(f.read().split()[0])


def start(cmd, **kw):
    """Return a Popen of cmd, quiet unless told where its output goes."""
    kw.setdefault("stdout", subprocess.DEVNULL)
    kw.setdefault("stderr", subprocess.DEVNULL)
    return subprocess.Popen(cmd, **kw)


def run(cmd, **kw):
    """Run cmd to its end; return its standard error as text."""
    kw.setdefault("stdout", subprocess.DEVNULL)
    p = subprocess.run(cmd, stderr=subprocess.PIPE, text=True, check=True,
                       **kw)
    return p.stderr


def summary(stderr):
    """Return (segments, samples, late) from memwatch's line at exit."""
    m = re.search(r"(\d+) segments?, (\d+) samples?, (\d+) late", stderr)
    return tuple(int(x) for x in m.groups())


def mprof_samples(path):
    """Return mprof's samples in path as (time.time() s, bytes) pairs."""
    out = []
    with open(path) as f:
        for line in f:
            if line.startswith("MEM "):
                mib, t = line.split()[1:3]
                out.append((float(t), float(mib) * MIB))
    return out


def sleep_until(t):
    """Sleep until time.monotonic() reaches t."""
    while (d := t - time.monotonic()) > 0:
        time.sleep(d)


def write_csv(name, header, rows):
    """Write rows under header to RESULTS/name."""
    with open(os.path.join(RESULTS, name), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)


def read_csv(name):
    """Return the rows of RESULTS/name as dicts, or [] if it is absent."""
    path = os.path.join(RESULTS, name)
    if not os.path.exists(path):
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def spread(values, fmt="{:.3g}"):
    """Return "median (min-max, n=N)" of values, formatted with fmt."""
    if not values:
        return "—"
    m = statistics.median(values)
    return (f"{fmt.format(m)} ({fmt.format(min(values))}–"
            f"{fmt.format(max(values))}, n={len(values)})")


def percentile(sorted_values, p):
    """Return the p-th percentile (nearest rank) of sorted_values."""
    k = max(0, min(len(sorted_values) - 1,
                   int(round(p / 100 * len(sorted_values) + 0.5)) - 1))
    return sorted_values[k]


def step(msg):
    """Say what the bench is doing, on standard error."""
    print(f"bench: {msg}", file=sys.stderr, flush=True)
