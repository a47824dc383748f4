"""footprint.py: section 5, does memwatch's own memory stay flat?

memwatch samples at 100 us, writing every row (-o /dev/null), for 10^4
and for 10^5 samples; then it takes 10^5 SIGUSR1 as fast as they can be
sent (signals coalesce: the segments made are counted).  Its own peak RSS
is VmHWM in /proc/MEMWATCH_PID/status, read by the command it runs as the
last thing before that command exits.  Writes footprint.csv.
"""

import subprocess

from common import MEMWATCH, PYTHON, step, summary, write_csv

INTERVAL_US = 100
SAMPLES = (10**4, 10**5)
SIGNALS = 10**5
REPS = 3

HWM = "grep VmHWM /proc/$MEMWATCH_PID/status"
SEND = f"""
import os, signal, subprocess, time
pid = int(os.environ["MEMWATCH_PID"])
for _ in range({SIGNALS}):
    os.kill(pid, signal.SIGUSR1)
time.sleep(0.2)  # let memwatch take the last one
subprocess.run(["sh", "-c", "{HWM}"])
"""


def measure(interval, command):
    """Run memwatch on command; return [VmHWM kB, segments, samples]."""
    p = subprocess.run([MEMWATCH, "-i", interval, "-o", "/dev/null", "-s",
                        "/dev/null", "--"] + command,
                       capture_output=True, text=True, check=True)
    segments, samples, _ = summary(p.stderr)
    return [int(p.stdout.split()[1]), segments, samples]


def main():
    rows = []
    for rep in range(REPS):
        step(f"footprint: run {rep + 1} of {REPS}")
        for n in SAMPLES:
            seconds = n * INTERVAL_US / 1e6
            rows.append([rep + 1, f"{n} samples"] + measure(
                f"{INTERVAL_US}us", ["sh", "-c", f"sleep {seconds}; {HWM}"]))
        rows.append([rep + 1, f"{SIGNALS} SIGUSR1"] + measure(
            "100ms", [PYTHON, "-c", SEND]))
    write_csv("footprint.csv", ["rep", "case", "vmhwm_kb", "segments",
                                "samples"], rows)


if __name__ == "__main__":
    main()
