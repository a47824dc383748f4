# _watcher.py: a memwatch of our own, for an IPython or Jupyter kernel that
# no memwatch watches: "memwatch -q -p <our pid>", started by the
# extension.  It watches the kernel and the processes it starts (not
# itself, though it is the kernel's child).
#
# It runs in a session of its own, so that a signal to the kernel's process
# group (jupyter_client interrupts a kernel with killpg, a terminal's
# Ctrl-C) does not reach it.  It ends when this process ends, since it
# watches our pidfd, and when the extension is unloaded, which stops it.
# A thread waits for it, so it is never left a zombie.

import os
import shutil
import subprocess
import threading
import time

from ._link import NoLink, connect, find_marker

READY_TIMEOUT = 5.0     # seconds for a new memwatch to open its FIFO
STOP_TIMEOUT = 2.0      # seconds for it to end after SIGTERM
# before -p PID: the lines are ours to print
OPTIONS = ["-q"]


def binary():
    """The memwatch to start: $MEMWATCH_BINARY if set, else the one
    installed with this package (in its configured bindir), else memwatch
    on PATH; None if there is none."""
    given = os.environ.get("MEMWATCH_BINARY")
    if given:
        return given
    try:
        from ._paths import BINDIR
    except ImportError:     # the source tree's package: no install
        pass
    else:
        path = os.path.join(BINDIR, "memwatch")
        if os.access(path, os.X_OK):
            return path
    return shutil.which("memwatch")


class Watcher:
    """A memwatch we started, and the Link to it once it is ready."""

    def __init__(self):
        """Start memwatch on this process and wait until it reads its
        FIFO.  Raises NoLink "start" when it cannot be started or does
        not get ready."""
        path = binary()
        if path is None:
            raise NoLink("start", "no memwatch to start: not installed with "
                         "this package nor on PATH (set MEMWATCH_BINARY)")
        self.argv = [path] + OPTIONS + ["-p", str(os.getpid())]
        try:
            self.proc = subprocess.Popen(
                self.argv, stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, start_new_session=True)
        except OSError as e:
            raise NoLink("start", "cannot start %s: %s" % (path, e))
        threading.Thread(target=self.proc.wait, name="memwatch reaper",
                         daemon=True).start()
        self.saved_env = {}
        try:
            self.link = self._wait_ready()
        except BaseException:
            self.stop()
            raise
        # for the cell's own markers: !echo phase > $MEMWATCH_FIFO
        for name, value in (("MEMWATCH_FIFO", self.link.path),
                            ("MEMWATCH_PID", str(self.proc.pid))):
            self.saved_env[name] = os.environ.get(name)
            os.environ[name] = value

    def _wait_ready(self):
        """The Link to our memwatch once its FIFO has a reader."""
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            status = self.proc.poll()
            if status is not None:
                raise NoLink("start", "%s exited with status %d" %
                             (" ".join(self.argv), status))
            try:
                return connect(find_marker())
            except NoLink as e:
                if e.key not in ("none", "other", "gone"):
                    raise
            if time.monotonic() >= deadline:
                raise NoLink("start", "%s made no FIFO in %g s" %
                             (" ".join(self.argv), READY_TIMEOUT))
            time.sleep(0.01)

    def stop(self):
        """End our memwatch and give the environment back."""
        for name, value in self.saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self.saved_env = {}
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
