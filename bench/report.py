"""report.py: turn the CSVs in RESULTS into RESULTS/latest.md.

Each section of the benchmark has a function here that reads its CSV and
returns (rows of the summary table, lines of its own table); a section
whose CSV is absent says why.  A new section is a new CSV, a new function
and a new entry in SECTIONS.
"""

import os
import statistics
import time
from collections import defaultdict

from common import (MIB, MPROF, NUMPY, PIDSTAT, RESULTS, VALGRIND, read_csv,
                    spread)

COST_RATIO_MAX = 1.3        # memwatch / minimal sampler
MPROF_RATIO_MIN = 3.0       # mprof / memwatch
SCHEDULE_PP_MAX = {"1kHz": 0.1, "10kHz": 1.0}
FOOTPRINT_SLACK_KIB = 512
IPYTHON_ADDED_MAX_US = 1000  # "well under 1 ms"
COST_TOOLS = ("timer loop", "minimal sampler", "memwatch", "memwatch -o",
              "mprof", "pidstat")
PACKAGES = {"mprof": "python3-memory-profiler", "pidstat": "sysstat",
            "valgrind": "valgrind", "numpy": "python3-numpy"}


def verdict(ok):
    """Return the result cell of the summary table."""
    return "**pass**" if ok else "**FAIL**"


def missing(peer):
    """Return why a peer's numbers are absent."""
    return f"skipped: {peer} not found (Debian package {PACKAGES[peer]})"


def table(header, rows):
    """Return a Markdown table as a list of lines."""
    out = ["| " + " | ".join(header) + " |",
           "|" + "---|" * len(header)]
    return out + ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]


def by(rows, *keys):
    """Return rows grouped by the values of keys, in first-seen order."""
    groups = defaultdict(list)
    for r in rows:
        groups[tuple(r[k] for k in keys)].append(r)
    return groups


def cost():
    """Section 1: CPU per second of watching, and its ratios."""
    rows = read_csv("cost.csv")
    runs = defaultdict(dict)    # (interval, rep) -> tool -> CPU us per s
    rate = {}                   # (interval, rep) -> mprof's samples per s
    nominal = {}                # interval -> samples per s asked
    for r in rows:
        key = r["interval"], r["rep"]
        runs[key][r["tool"]] = int(r["cpu_ns"]) / float(r["span_s"]) / 1000
        nominal[r["interval"]] = 1 / float(r["interval_s"])
        if r["samples"]:
            rate[key] = int(r["samples"]) / float(r["span_s"])

    def values(interval, tool):
        return [t[tool] for (i, _), t in runs.items()
                if i == interval and tool in t]

    def ratios(interval, num, den):
        return [t[num] / t[den] for (i, _), t in runs.items()
                if i == interval and num in t and den in t]

    detail, summary = [], []
    for interval in dict.fromkeys(r["interval"] for r in rows):
        mprof_rate = [v for (i, _), v in rate.items() if i == interval]
        detail.append([interval] + [spread(values(interval, tool), "{:.0f}")
                                    for tool in COST_TOOLS] +
                      [spread(mprof_rate, "{:.0f}")])
        for variant in ("memwatch", "memwatch -o"):
            q = ratios(interval, variant, "minimal sampler")
            if q:
                summary.append([
                    "1", f"CPU, {variant} ÷ minimal sampler at {interval} "
                    "(paired runs)", spread(q, "{:.2f}×"),
                    f"≤ {COST_RATIO_MAX}×",
                    verdict(statistics.median(q) <= COST_RATIO_MAX)])
        q = ratios(interval, "mprof", "memwatch -o")
        if q:
            summary.append([
                "1", f"CPU, mprof ÷ memwatch -o at {interval}",
                spread(q, "{:.1f}×"), f"≥ {MPROF_RATIO_MIN:g}×",
                verdict(statistics.median(q) >= MPROF_RATIO_MIN)])
        # where mprof falls behind its interval, compare per sample too
        if q and statistics.median(mprof_rate) < 0.9 * nominal[interval]:
            per_sample = [(t["mprof"] / rate[key]) /
                          (t["memwatch -o"] / nominal[interval])
                          for key, t in runs.items()
                          if key[0] == interval and key in rate]
            summary.append([
                "1", f"CPU per sample, mprof ÷ memwatch -o at {interval} "
                f"(mprof takes {statistics.median(mprof_rate):.0f} of "
                f"{nominal[interval]:.0f} samples/s)",
                spread(per_sample, "{:.1f}×"), "", "info"])
        q = ratios(interval, "pidstat", "memwatch")
        if q:
            summary.append(["1", f"CPU, pidstat ÷ memwatch at {interval}",
                            spread(q, "{:.1f}×"), "", "info"])
    if not MPROF:
        summary.append(["1", "CPU, mprof", missing("mprof"), "", ""])
    if not PIDSTAT:
        summary.append(["1", "CPU, pidstat", missing("pidstat"), "", ""])
    lines = ["On-CPU µs per second of watching an idle `sleep` (from "
             "/proc/PID/schedstat, start-up excluded), each monitor alone "
             "on one CPU: median (min–max, runs).  mprof is compared with "
             "memwatch -o, which writes its rows too; pidstat with "
             "memwatch alone.  memwatch's rate per sample is taken as the "
             "one asked.", ""]
    lines += table(["interval"] + list(COST_TOOLS) + ["mprof samples/s"],
                   detail)
    return summary, lines


def instructions():
    """Section 1: user-space instructions per sample, by callgrind."""
    if not VALGRIND:
        return [["1", "instructions per sample", missing("valgrind"), "",
                 ""]], []
    rows = read_csv("instructions.csv")
    per = defaultdict(list)
    for (rep, tool), runs in by(rows, "rep", "tool").items():
        short, long = sorted(runs, key=lambda r: int(r["ticks"]))
        per[tool].append(
            (int(long["instructions"]) - int(short["instructions"])) /
            (int(long["samples"]) - int(short["samples"])))
    lines = ["User-space instructions per sample (`valgrind --tool="
             "callgrind`, a long run minus a short one at 1 ms, divided by "
             "the samples between): median (min–max, runs).", ""]
    lines += table(["tool", "instructions per sample"],
                   [[tool, spread(v, "{:.0f}")] for tool, v in per.items()])
    summary = [["1", f"instructions per sample, {tool}",
                spread(v, "{:.0f}"), "", "info"] for tool, v in per.items()]
    return summary, lines


def schedule():
    """Section 2: samples achieved and lateness, beside the timer loop."""
    rows = read_csv("schedule.csv")
    detail, summary = [], []
    for (rate, tool), runs in by(rows, "rate", "tool").items():
        pooled = 100 * sum(int(r["samples"]) for r in runs) / sum(
            int(r["ticks"]) for r in runs)
        detail.append([rate, tool, f"{pooled:.3f}"] + [
            spread([float(r[k]) for r in runs], fmt)
            for k, fmt in (("achieved_pct", "{:.2f}"),
                           ("late_p50_us", "{:.0f}"),
                           ("late_p99_us", "{:.0f}"),
                           ("late_max_us", "{:.0f}"))])
    for (rate,), runs in by(rows, "rate").items():
        pct = {(r["rep"], r["tool"]): float(r["achieved_pct"])
               for r in runs}
        gap = [pct[n, "timer loop"] - pct[n, "memwatch"]
               for n, tool in pct if tool == "memwatch"]
        summary.append([
            "2", f"samples achieved at {rate}: timer loop − memwatch, "
            "percentage points (paired runs)", spread(gap, "{:.3f}"),
            f"≤ {SCHEDULE_PP_MAX[rate]}",
            verdict(statistics.median(gap) <= SCHEDULE_PP_MAX[rate])])
        alone = [v for (n, tool), v in pct.items() if tool == "timer loop"]
        summary.append([
            "2", f"the machine's noise at {rate}: the timer loop's own "
            "range over its runs, percentage points",
            f"{max(alone) - min(alone):.3f}", "", "info"])
    lines = ["memwatch and the timer loop side by side, 10 s per run.  Achieved: samples taken ÷ ticks over the sampled "
             "span, over all runs and per run; lateness of each sample "
             "behind its tick (µs), per run: median (min–max, runs).", ""]
    lines += table(["rate", "tool", "achieved % (all runs)",
                    "achieved % per run", "late p50", "late p99",
                    "late max"], detail)
    return summary, lines


def peaks():
    """Section 3: spikes whose peak each tool reports within 2%."""
    rows = read_csv("peaks.csv")
    detail, summary = [], []
    for (tool, interval), runs in by(rows, "tool", "interval").items():
        caught = [sum(int(r["caught"]) for r in spikes)
                  for spikes in by(runs, "rep").values()]
        spikes = len(runs) // len(caught)
        median_peak = statistics.median(
            int(r["reported_bytes"]) for r in runs) / MIB
        detail.append([tool, interval, spread(caught, "{:.0f}") +
                       f" of {spikes}", f"{median_peak:.2f}"])
        if tool == "memwatch":
            summary.append(["3", f"spikes caught within 2%, memwatch at "
                            f"{interval}", spread(caught, "{:.0f}"),
                            f"{spikes}/{spikes}",
                            verdict(min(caught) == spikes)])
        else:
            summary.append(["3", f"spikes caught within 2%, {tool} at "
                            f"{interval}", spread(caught, "{:.0f}"), "",
                            "info"])
    if not MPROF:
        summary.append(["3", "spikes, mprof", missing("mprof"), "", ""])
    lines = ["100 spikes of 64 MiB held 1–5 ms (`spikes`), each in a "
             "segment of its own under memwatch.  Caught: the peak "
             "reported for the spike is within 2% of 64 MiB.", ""]
    lines += table(["tool", "interval", "caught", "median reported peak "
                    "(MiB)"], detail)
    return summary, lines


def ipython():
    """Section 4: the time a monitor adds to each IPython cell."""
    rows = read_csv("ipython.csv")
    if not rows:
        return [["4", "per-cell cost in IPython", "not measured", "",
                 ""]], ["Not measured: ipython.csv is absent."]
    detail, summary = [], []
    for (config,), runs in by(rows, "config").items():
        added = [float(r["added_median_us"]) for r in runs
                 if r["added_median_us"]]
        detail.append([config, runs[0]["cells"],
                       spread([float(r["median_us"]) for r in runs],
                              "{:.0f}"),
                       spread([float(r["p99_us"]) for r in runs], "{:.0f}"),
                       spread(added, "{:.0f}"),
                       spread([float(r["added_p99_us"]) for r in runs
                               if r["added_p99_us"]], "{:.0f}")])
        if config == "memwatch":
            summary.append(["4", "time added per IPython cell, memwatch "
                            "(median, µs)", spread(added, "{:.0f}"),
                            f"< {IPYTHON_ADDED_MAX_US} µs",
                            verdict(statistics.median(added) <
                                    IPYTHON_ADDED_MAX_US)])
        elif config.startswith("mprof") and added:
            summary.append(["4", f"time added per IPython cell, {config} "
                            "(median, µs)", spread(added, "{:.0f}"), "",
                            "info"])
    if not MPROF:
        summary.append(["4", "per-cell cost, mprof", missing("mprof"), "",
                        ""])
    lines = ["Trivial cells (`x = 1`) in a real IPython (an "
             "InteractiveShell in a fresh python3), `bench/cell_latency.py`: "
             "the time of a whole cell, µs, median (min–max, runs).  "
             "mprof_thread is memory_profiler's sampler in a thread for the "
             "whole session; mprof_cell monitors each cell the way the "
             "IPython tools built on memory_profiler do.  "
             "memwatch_post_run_cell is the snippet's post_run_cell alone: "
             "marker, memwatch's reply, the printed line.", ""]
    lines += table(["config", "cells", "cell median", "cell p99",
                    "added median", "added p99"], detail)
    return summary, lines


def footprint():
    """Section 5: memwatch's own peak RSS against the length of the run."""
    rows = read_csv("footprint.csv")
    detail, hwm = [], {}
    for (case,), runs in by(rows, "case").items():
        hwm[case] = [int(r["vmhwm_kb"]) for r in runs]
        detail.append([case, spread(hwm[case], "{:.0f}"),
                       spread([int(r["segments"]) for r in runs], "{:.0f}"),
                       spread([int(r["samples"]) for r in runs], "{:.0f}")])
    short, signals, long = [c for c in hwm if "--plot" not in c]
    # with --plot and --metrics: a short and a long run of their own
    plotted = [c for c in hwm if "--plot" in c]
    pairs = [(short, long)] + ([tuple(plotted)] if plotted else [])
    summary = [["5", f"memwatch VmHWM after {case} (KiB)",
                spread(v, "{:.0f}"), "", "info"] for case, v in hwm.items()]
    for short, long in pairs:
        growth = (statistics.median(hwm[long]) -
                  statistics.median(hwm[short]))
        summary.append(["5", f"VmHWM growth, {long} − {short} (KiB, "
                        "medians)", f"{growth:.0f}",
                        f"≤ {FOOTPRINT_SLACK_KIB} (flat)",
                        verdict(growth <= FOOTPRINT_SLACK_KIB)])
    lines = ["memwatch's own VmHWM (KiB), read from /proc/MEMWATCH_PID/"
             "status by the watched command just before it exits, at "
             "100 µs with -o and -s to /dev/null; SIGUSR1 sent by the "
             "watched command as fast as Python can (signals coalesce: "
             "the segments made are counted).  Flat means within "
             f"{FOOTPRINT_SLACK_KIB} KiB: the kernel's per-CPU RSS "
             "counters may lag by 32 pages per CPU each.", ""]
    lines += table(["case", "VmHWM (KiB)", "segments", "samples"], detail)
    return summary, lines


def accuracy():
    """Section 6: the seed example's phases, memwatch against mprof."""
    if not NUMPY:
        return [["6", "numpy phases", missing("numpy"), "", ""]], []
    size = 10**7 * 8 / MIB
    expected = {"a = np.ones(10**7)": (size, 0),
                "b = np.ones(10**7)": (size, 0), "b = a * b": (0, size)}
    detail, summary = [], []
    error = defaultdict(list)       # tool -> |delta - expected| per run
    for (phase, tool), runs in by(read_csv("accuracy.csv"), "phase",
                                  "tool").items():
        delta = [int(r["delta_bytes"]) / MIB for r in runs]
        above = [int(r["peak_above_end_bytes"]) / MIB for r in runs]
        detail.append([f"`{phase}`", f"{tool} at {runs[0]['interval']}",
                       f"{expected[phase][0]:.2f}", spread(delta, "{:.2f}"),
                       f"{expected[phase][1]:.2f}", spread(above, "{:.2f}")])
        error[tool] += [abs(d - expected[phase][0]) for d in delta]
        if phase == "b = a * b":
            summary.append(["6", f"`b = a * b` peak above end, {tool} "
                            f"(expected {size:.2f} MiB)",
                            spread(above, "{:.2f}"), "", "info"])
    summary += [["6", f"largest delta error over the phases, {tool} (MiB)",
                 f"{max(e):.2f}", "", "info"] for tool, e in error.items()]
    lines = ["The seed example in three phases (`numpy_phases.py`), "
             "MiB: median (min–max, runs).  Expected: each array is "
             f"10^7 float64 = {size:.2f} MiB; `b = a * b` makes a "
             "temporary of that size and frees the old `b`.", ""]
    lines += table(["phase", "tool", "expected delta", "delta",
                    "expected peak above end", "peak above end"], detail)
    if not MPROF:
        summary.append(["6", "numpy phases, mprof", missing("mprof"), "",
                        ""])
    return summary, lines


def guard():
    """Section 7: how far past --limit memory gets before the command
    stops, at several rates, with and without the fast schedule."""
    rows = read_csv("guard.csv")
    if not rows:
        return [["7", "guard overshoot", "not measured", "", ""]], \
            ["Not measured: guard.csv is absent."]
    detail, summary = [], []
    for (workload, schedule), runs in by(rows, "workload",
                                         "schedule").items():
        over = [float(r["overshoot_mib"]) for r in runs]
        detail.append([workload, schedule,
                       spread([float(r["rate_mib_s"]) for r in runs],
                              "{:.0f}"),
                       spread(over, "{:.2f}"),
                       spread([int(r["samples"]) for r in runs], "{:.0f}"),
                       f"{sum(int(r['interrupts']) == 1 for r in runs)} of "
                       f"{len(runs)}",
                       f"{sum(int(r['peak_exact']) for r in runs)} of "
                       f"{len(runs)}"])
        summary.append(["7", f"overshoot past --limit 512M (MiB), "
                        f"{workload}, {schedule}", spread(over, "{:.2f}"),
                        "", "info"])
    lines = ["memwatch --limit 512M at the default interval (100 ms) over "
             "the tests' workload growing at a steady rate, or filling "
             "2 GiB in one memset (`bench/guard.py`).  Overshoot: the "
             "workload's exact high-water mark (wait4) minus the limit, "
             "MiB, median (min–max, runs).  With the fast schedule memwatch "
             "samples every 1 ms from 80% of the limit (or when on course "
             "to get there within two intervals); without it "
             "(--limit-interval 100ms) every 100 ms throughout.  The rate is "
             "the growth between the last two samples.", ""]
    lines += table(["workload", "schedule", "rate (MiB/s)", "overshoot "
                    "(MiB)", "samples", "signalled once", "exact peak"],
                   detail)
    return summary, lines


SECTIONS = (
    ("1. Sampling cost", cost),
    ("1. Instructions per sample", instructions),
    ("2. Schedule", schedule),
    ("3. Peaks", peaks),
    ("4. Per-cell cost in IPython", ipython),
    ("5. Footprint", footprint),
    ("6. Accuracy", accuracy),
    ("7. Guard", guard),
)


def main():
    conditions = [[r["key"], r["value"]] for r in read_csv("conditions.csv")]
    with open("/proc/loadavg") as f:
        conditions.append(["load average at end",
                           " ".join(f.read().split()[:3])])
    seconds = int(time.time()) - int(os.environ["BENCH_START"])
    conditions.append(["bench run time", f"{seconds} s"])
    summary, body = [], []
    for title, section in SECTIONS:
        rows, lines = section()
        summary += rows
        body += ["", f"## {title}", ""] + lines
    out = ["# memwatch benchmark", "",
           "Written by `make bench` (bench/run.sh); the CSVs beside this "
           "file hold every run.", ""]
    out += table(["condition", "value"], conditions)
    out += ["", "## Summary", ""]
    out += table(["§", "measure", "median (min–max, runs)", "target",
                  "result"], summary)
    with open(os.path.join(RESULTS, "latest.md"), "w") as f:
        f.write("\n".join(out + body) + "\n")


if __name__ == "__main__":
    main()
