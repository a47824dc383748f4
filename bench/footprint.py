"""footprint.py: section 5, does memwatch's own memory stay flat?

memwatch samples at 100 us, writing every row (-o /dev/null), for 10^4
samples (three runs) and for 10^6 (one run: 100 s; once more with --plot
and --metrics, whose buckets merge as the run grows); it also takes 10^5
SIGUSR1 as fast as they can be sent (signals coalesce: the segments made
are counted).  Its own peak RSS is VmHWM in /proc/MEMWATCH_PID/status,
read by the command it runs as the last thing before that command exits.
Writes footprint.csv.
"""

import subprocess

from common import MEMWATCH, PYTHON, scratch, step, summary, write_csv

INTERVAL_US = 100
SHORT, LONG = 10**4, 10**6
SIGNALS = 10**5
REPS = 3
PLOT = ["--plot", scratch("footprint.svg"), "--metrics",
        scratch("footprint.prom")]

HWM = "grep VmHWM /proc/$MEMWATCH_PID/status"
SEND = f"""
import os, signal, subprocess, time
pid = int(os.environ["MEMWATCH_PID"])
for _ in range({SIGNALS}):
    os.kill(pid, signal.SIGUSR1)
time.sleep(0.2)  # let memwatch take the last one
subprocess.run(["sh", "-c", "{HWM}"])
"""


def measure(interval, command, outputs=()):
    """Run memwatch on command, with more outputs if given; return
    [VmHWM kB, segments, samples]."""
    p = subprocess.run([MEMWATCH, "-i", interval, "-o", "/dev/null", "-s",
                        "/dev/null", *outputs, "--"] + command,
                       capture_output=True, text=True, check=True)
    segments, samples, _ = summary(p.stderr)
    return [int(p.stdout.split()[1]), segments, samples]


def samples(n, outputs=()):
    """Return [VmHWM kB, segments, samples] after about n samples."""
    seconds = n * INTERVAL_US / 1e6
    return measure(f"{INTERVAL_US}us", ["sh", "-c", f"sleep {seconds}; {HWM}"],
                   outputs)


def main():
    rows = []
    for rep in range(REPS):
        step(f"footprint: run {rep + 1} of {REPS}")
        rows.append([rep + 1, f"{SHORT} samples"] + samples(SHORT))
        rows.append([rep + 1, f"{SIGNALS} SIGUSR1"] + measure(
            "100ms", [PYTHON, "-c", SEND]))
    step(f"footprint: {LONG} samples, {LONG * INTERVAL_US / 1e6:.0f} s")
    rows.append([1, f"{LONG} samples"] + samples(LONG))
    # the plot's buckets merge as the run grows: its memory must not
    for n in (SHORT, LONG):
        step(f"footprint: {n} samples with {' '.join(PLOT[::2])}")
        rows.append([1, f"{n} samples, {' '.join(PLOT[::2])}"] +
                    samples(n, PLOT))
    write_csv("footprint.csv", ["rep", "case", "vmhwm_kb", "segments",
                                "samples"], rows)


if __name__ == "__main__":
    main()
