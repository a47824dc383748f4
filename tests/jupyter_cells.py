# jupyter_cells.py: a Jupyter kernel watched by an attached memwatch, driven
# as a notebook would drive it.
#
# usage: python3 jupyter_cells.py MEMWATCH SEGMENTS CELL ...
#
# Starts an IPython kernel (jupyter_client), attaches "MEMWATCH -s SEGMENTS
# -p KERNEL_PID", waits for memwatch's hint, runs the "%run .../startup.py"
# line it gives, then each CELL.  Writes what each cell showed (its stdout
# and stderr streams, result and error name, in the order they came) to
# cell-N.txt in the current directory: cell-1.txt for the %run line,
# cell-2.txt for the first CELL, and so on; memwatch's standard error to
# memwatch.err.  Then shuts the kernel down, which ends memwatch, and exits
# with memwatch's status.  Every wait is bounded; the kernel and memwatch
# are killed on the way out whatever happened.

import os
import select
import subprocess
import sys
import time

from jupyter_client.manager import KernelManager

TIMEOUT = 20


def hint(proc):
    """Read memwatch's standard error up to its %run line; return it."""
    seen = b""
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        r, _, _ = select.select([proc.stderr], [], [], 0.1)
        if r:
            data = os.read(proc.stderr.fileno(), 4096)
            if not data:
                break
            seen += data
            for line in seen.decode().splitlines():
                if line.strip().startswith("%run "):
                    return seen, line.strip()
    sys.exit("no %%run line from memwatch; it said: %r" % seen)


def execute(kc, code):
    """Run code in the kernel; what it showed, as text."""
    msg_id = kc.execute(code)
    shown = []
    while True:
        msg = kc.get_iopub_msg(timeout=TIMEOUT)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        kind, content = msg["msg_type"], msg["content"]
        if kind == "stream":
            shown.append(content["text"])
        elif kind == "execute_result":
            shown.append(content["data"].get("text/plain", "") + "\n")
        elif kind == "error":
            shown.append("error: %s\n" % content["ename"])
        elif kind == "status" and content["execution_state"] == "idle":
            break
    kc.get_shell_msg(timeout=TIMEOUT)
    return "".join(shown)


def main():
    memwatch, segments, cells = sys.argv[1], sys.argv[2], sys.argv[3:]
    # the kernel's debugger, on its stderr, about Python's frozen modules
    os.environ["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"
    km = KernelManager(kernel_name="python3")
    km.start_kernel()
    proc = kc = None
    try:
        kc = km.client()
        kc.start_channels()
        kc.wait_for_ready(timeout=TIMEOUT)
        pid = km.provisioner.process.pid
        proc = subprocess.Popen([memwatch, "-s", segments, "-p", str(pid)],
                                stderr=subprocess.PIPE)
        said, run_line = hint(proc)
        for n, code in enumerate([run_line] + cells, 1):
            with open("cell-%d.txt" % n, "w") as f:
                f.write(execute(kc, code))
        kc.stop_channels()
        kc = None
        km.shutdown_kernel()
        rest = proc.communicate(timeout=TIMEOUT)[1]
        with open("memwatch.err", "wb") as f:
            f.write(said + rest)
        return proc.returncode
    finally:
        if kc is not None:
            kc.stop_channels()
        if km.has_kernel:
            km.shutdown_kernel(now=True)
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()


if __name__ == "__main__":
    sys.exit(main())
