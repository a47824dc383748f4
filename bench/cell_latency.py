#!/usr/bin/python3
# cell_latency.py: how much time a per-cell memory monitor adds to each
# IPython cell.
#
# usage: bench/cell_latency.py [--cells N] [--configs NAME,...] MEMWATCH
#
# Runs N trivial cells ("x = 1", default 1000, after 50 not counted) in a
# real IPython (an InteractiveShell in a fresh /usr/bin/python3) in each
# configuration:
#
#   none          no monitor
#   memwatch      under the memwatch binary MEMWATCH, with its snippet
#                 loaded by its startup.py as "memwatch -- ipython" does
#   mprof_thread  memory_profiler.memory_usage polled every 0.1 s by a
#                 thread of its own for the whole session, cells untouched
#   mprof_cell    memory_profiler around each cell, the way the IPython
#                 tools built on it work: a thread sampling every 0.1 s
#                 while the cell runs, one sample after it (memory_usage
#                 sleeps its interval after each sample); about 100 s for
#                 1000 cells
#
# and writes CSV on standard output, one row per configuration:
#
#   config,cells,median_us,p99_us,added_median_us,added_p99_us
#
# the time of a whole cell (run_cell), and what it adds to "none".  A last
# row, memwatch_post_run_cell, is the time spent in the snippet's
# post_run_cell alone (marker, memwatch's reply, the printed line); its
# added_* columns are empty.  Needs only Debian's python3 with IPython and,
# for the mprof_* rows, memory_profiler (python3-memory-profiler).
#
# IPython's history database is off in every configuration.  Its thread
# commits each cell to SQLite (an fsync) at the first moment the main
# thread lets go of the GIL: in a session that is while the user types,
# but with cells back to back it would be charged to whatever callback
# makes the first system call, which measures the disk, not the monitor.

import math
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time

CONFIGS = ("none", "memwatch", "mprof_thread", "mprof_cell")
WARMUP = 50
CELL = "x = 1"


def percentile(values, p):
    """Nearest-rank percentile p of values."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def with_mprof_thread(ip):
    import memory_profiler

    def poll():
        while True:
            memory_profiler.memory_usage(-1, interval=0.1)

    threading.Thread(target=poll, daemon=True).start()


def with_mprof_cell(ip):
    import memory_profiler
    state = {"end": memory_profiler.memory_usage(-1, interval=0)[0]}

    def sample_while(running, box):
        while running.is_set():
            box[0] = max(box[0], memory_profiler.memory_usage(-1)[0])

    def pre(info):
        state["t"] = time.perf_counter()
        state["running"] = running = threading.Event()
        state["peak"] = box = [0.0]
        running.set()
        threading.Thread(target=sample_while, args=(running, box),
                         daemon=True).start()

    def post(result):
        state["running"].clear()
        now = memory_profiler.memory_usage(-1)[0]
        start, state["end"] = state["end"], now
        print("In [%d] used %.4f MiB RAM in %.2fs, peaked %.2f MiB above "
              "current, total RAM usage %.2f MiB" % (
                  ip.execution_count, now - start,
                  time.perf_counter() - state["t"],
                  max(0.0, state["peak"][0] - now), now))

    ip.events.register("pre_run_cell", pre)
    ip.events.register("post_run_cell", post)


def with_memwatch(ip, post_times):
    """Run memwatch's startup.py as IPython runs PYTHONSTARTUP; time the
    snippet's post_run_cell."""
    startup = os.environ["PYTHONSTARTUP"]
    ip.user_ns["__file__"] = startup
    ip.safe_execfile(startup, ip.user_ns, raise_exceptions=True)
    del ip.user_ns["__file__"]
    snippet = sys.modules["memwatch"]
    inner = snippet._SESSION.post_run_cell
    ip.events.unregister("post_run_cell", inner)

    def timed(result):
        t = time.perf_counter_ns()
        inner(result)
        post_times.append(time.perf_counter_ns() - t)

    ip.events.register("post_run_cell", timed)
    return snippet


def worker(config, out, cells):
    """Run the cells in this process; write their times (ns) to out."""
    from IPython.core.interactiveshell import InteractiveShell

    from traitlets.config import Config

    settings = Config()
    settings.HistoryManager.enabled = False
    ip = InteractiveShell.instance(config=settings)
    post_times = []
    snippet = None
    if config == "memwatch":
        snippet = with_memwatch(ip, post_times)
    elif config == "mprof_thread":
        with_mprof_thread(ip)
    elif config == "mprof_cell":
        with_mprof_cell(ip)
    times = []
    for i in range(WARMUP + cells):
        t = time.perf_counter_ns()
        ip.run_cell(CELL, store_history=True)
        times.append(time.perf_counter_ns() - t)
    if snippet is not None and len(snippet.cells) != WARMUP + cells:
        sys.exit("cell_latency: memwatch measured %d cells of %d"
                 % (len(snippet.cells), WARMUP + cells))
    with open(out, "w") as f:
        f.write(" ".join(map(str, times[WARMUP:])) + "\n")
        f.write(" ".join(map(str, post_times[WARMUP:])) + "\n")


def run(config, memwatch, cells, tmp):
    """Times (ns) of the cells in a fresh worker process for config, and
    of the snippet's post_run_cell."""
    out = os.path.join(tmp, config + ".times")
    argv = [sys.executable, os.path.abspath(__file__), "--worker", config,
            out, str(cells)]
    if config == "memwatch":
        argv = [memwatch, "-q", "--"] + argv
    env = dict(os.environ, IPYTHONDIR=os.path.join(tmp, "ipython"))
    subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, check=True)
    with open(out) as f:
        cell_line, post_line = f.read().split("\n")[:2]
    return ([int(t) for t in cell_line.split()],
            [int(t) for t in post_line.split()])


def main():
    args = sys.argv[1:]
    if args[:1] == ["--worker"]:
        return worker(args[1], args[2], int(args[3]))
    cells, configs = 1000, list(CONFIGS)
    while len(args) > 1 and args[0].startswith("--"):
        if args[0] == "--cells":
            cells = int(args[1])
        elif args[0] == "--configs":
            configs = args[1].split(",")
        else:
            break
        args = args[2:]
    if len(args) != 1 or not set(configs) <= set(CONFIGS):
        sys.exit("usage: cell_latency.py [--cells N] [--configs NAME,...] "
                 "MEMWATCH\n  configurations: " + ", ".join(CONFIGS))
    memwatch = os.path.abspath(args[0])
    if "none" not in configs:
        configs.insert(0, "none")

    print("config,cells,median_us,p99_us,added_median_us,added_p99_us")
    with tempfile.TemporaryDirectory(prefix="cell_latency.") as tmp:
        base = None
        post = []
        for config in configs:
            times, posts = run(config, memwatch, cells, tmp)
            median = statistics.median(times) / 1000
            p99 = percentile(times, 99) / 1000
            if base is None:
                base = median, p99
            print("%s,%d,%.1f,%.1f,%.1f,%.1f" % (
                config, len(times), median, p99, median - base[0],
                p99 - base[1]), flush=True)
            if posts:
                post = posts
        if post:
            print("memwatch_post_run_cell,%d,%.1f,%.1f,," % (
                len(post), statistics.median(post) / 1000,
                percentile(post, 99) / 1000))


if __name__ == "__main__":
    sys.exit(main())
