"""conditions.py: what the numbers were measured on, before the run.

Writes conditions.csv: date, nproc, kernel, CPU model, memory, load, and
the versions of memwatch and of each peer found.
"""

import os
import platform
import subprocess
import time

from common import (HERE, MEMWATCH, MPROF, PIDSTAT, PYTHON, VALGRIND,
                    write_csv)


def output(cmd):
    """Return the first line cmd prints, or "" if it cannot run."""
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    except OSError:
        return ""
    return (p.stdout or p.stderr).strip().split("\n")[0]


def cpu_model():
    """Return the CPU's model name from /proc/cpuinfo."""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.machine()


def mem_total():
    """Return MemTotal from /proc/meminfo, as written there."""
    with open("/proc/meminfo") as f:
        return f.readline().split(":", 1)[1].strip()


def main():
    with open("/proc/loadavg") as f:
        load = " ".join(f.read().split()[:3])
    rows = [
        ("date", time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())),
        ("nproc", os.cpu_count()),
        ("kernel", platform.release()),
        ("cpu", cpu_model()),
        ("memory", mem_total()),
        ("load average at start", load),
        ("memwatch", output([MEMWATCH, "-V"])),
        ("source commit", output(["git", "-C", HERE, "rev-parse", "--short",
                                  "HEAD"])),
        ("python", output([PYTHON, "-V"])),
    ]
    if MPROF:
        rows.append(("mprof", "memory_profiler " + output(
            [PYTHON, "-c", "import memory_profiler as m; print(m.__version__)"])))
    if PIDSTAT:
        rows.append(("pidstat", output([PIDSTAT, "-V"])))
    if VALGRIND:
        rows.append(("valgrind", output([VALGRIND, "--version"])))
    write_csv("conditions.csv", ["key", "value"], rows)


if __name__ == "__main__":
    main()
