"""numpy_phases.py: the seed example of section 6, in three phases.

    a = np.ones(10**7); b = np.ones(10**7); b = a * b

Each phase starts at a boundary: its time (time.time(), the clock mprof
stamps samples with) goes to the file named by the first argument and,
under memwatch, a SIGUSR1 to $MEMWATCH_PID cuts a segment there, followed
by a wait until memwatch has taken it.  A pause before each boundary lets
a sampler at 100 ms see where the phase before ended.
"""

import os
import signal
import sys
import time

import numpy as np

PAUSE = 0.3


def taken(pid):
    """Return True once memwatch has no SIGUSR1 pending and sleeps."""
    with open(f"/proc/{pid}/status") as f:
        status = dict(line.split(":", 1) for line in f)
    pending = int(status["SigPnd"], 16) | int(status["ShdPnd"], 16)
    return (status["State"].split()[0] == "S" and
            not pending & (1 << (signal.SIGUSR1 - 1)))


def boundary(log):
    """Mark the start of a phase: in log, and to memwatch if there."""
    time.sleep(PAUSE)
    log.write(f"{time.time():.6f}\n")
    pid = os.environ.get("MEMWATCH_PID")
    if pid is not None:
        os.kill(int(pid), signal.SIGUSR1)
        while not taken(int(pid)):
            time.sleep(0.001)


with open(sys.argv[1], "w") as log:
    boundary(log)
    a = np.ones(10**7)
    boundary(log)
    b = np.ones(10**7)
    boundary(log)
    b = a * b
    boundary(log)
