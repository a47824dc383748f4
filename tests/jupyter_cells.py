# jupyter_cells.py: a Jupyter kernel driven through jupyter_client as a
# notebook drives it, by a script read from standard input, a command a
# line:
#
#	cell CODE	run CODE
#	interrupt CODE	run CODE, and interrupt the kernel as a notebook's
#			stop button does once CODE has printed a line
#	restart		restart the kernel, as a notebook's restart does
#	watchers	add the PIDs of the memwatch processes the kernel
#			started (its children named memwatch) to watchers.txt
#
# usage: python3 jupyter_cells.py [-k KERNEL] [-a MEMWATCH SEGMENTS]
#
# Starts kernel KERNEL (default python3; jupyter_client finds its
# kernelspec through JUPYTER_PATH).  With -a, attaches "MEMWATCH -s
# SEGMENTS -p KERNEL_PID", waits for memwatch's hint and runs the "%run
# .../startup.py" line it gives as the first cell.  Writes what each cell
# showed (its stdout and stderr streams, result and error name, in the
# order they came) to cell-N.txt in the current directory, N counting every
# cell run from 1; the kernel's PIDs, one a line, to kernels.txt; with -a,
# memwatch's standard error to memwatch.err.  Then shuts the kernel down,
# which ends memwatch, and exits with memwatch's status (0 without -a).
# Every wait is bounded; the kernel and memwatch are killed on the way out
# whatever happened.

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


def execute(km, kc, code, interrupt=False):
    """Run code in the kernel; what it showed, as text.  With interrupt,
    interrupt the kernel after the first output."""
    # stop_on_error would have the kernel abort a request that follows a
    # cell that raised, if it comes in before the kernel is done aborting
    msg_id = kc.execute(code, stop_on_error=False)
    shown = []
    while True:
        msg = kc.get_iopub_msg(timeout=TIMEOUT)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        kind, content = msg["msg_type"], msg["content"]
        if kind == "stream":
            shown.append(content["text"])
            if interrupt:
                km.interrupt_kernel()
                interrupt = False
        elif kind == "execute_result":
            shown.append(content["data"].get("text/plain", "") + "\n")
        elif kind == "error":
            shown.append("error: %s\n" % content["ename"])
        elif kind == "status" and content["execution_state"] == "idle":
            break
    while kc.get_shell_msg(timeout=TIMEOUT)["parent_header"].get(
            "msg_id") != msg_id:
        pass
    return "".join(shown)


def children(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


def watchers(pid):
    """The kernel's children that run memwatch."""
    found = []
    for child in children(pid):
        try:
            with open("/proc/%d/comm" % child) as f:
                if f.read().strip() == "memwatch":
                    found.append(child)
        except OSError:
            pass
    return found


class Kernel:
    def __init__(self, name):
        self.km = KernelManager(kernel_name=name)
        self.kc = None

    def start(self):
        self.km.start_kernel()
        self.ready()

    def ready(self):
        self.kc = self.km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=TIMEOUT)
        with open("kernels.txt", "a") as f:
            f.write("%d\n" % self.pid())

    def pid(self):
        return self.km.provisioner.process.pid

    def restart(self):
        self.kc.stop_channels()
        self.km.restart_kernel()
        self.ready()

    def shutdown(self, now=False):
        if self.kc is not None:
            self.kc.stop_channels()
            self.kc = None
        if self.km.has_kernel:
            self.km.shutdown_kernel(now=now)


def main():
    args = sys.argv[1:]
    kernel, memwatch = "python3", None
    while args:
        if args[0] == "-k" and len(args) > 1:
            kernel, args = args[1], args[2:]
        elif args[0] == "-a" and len(args) > 2:
            memwatch, segments, args = args[1], args[2], args[3:]
        else:
            sys.exit("usage: jupyter_cells.py [-k KERNEL] "
                     "[-a MEMWATCH SEGMENTS] < SCRIPT")
    script = sys.stdin.read().splitlines()
    # the kernel's debugger, on its stderr, about Python's frozen modules
    os.environ["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"
    k = Kernel(kernel)
    k.start()
    proc = None
    try:
        cells = []
        if memwatch is not None:
            proc = subprocess.Popen(
                [memwatch, "-s", segments, "-p", str(k.pid())],
                stderr=subprocess.PIPE)
            said, run_line = hint(proc)
            cells.append(("cell", run_line))
        for line in script:
            op, _, arg = line.partition(" ")
            cells.append((op, arg))
        n = 0
        for op, arg in cells:
            if op in ("cell", "interrupt"):
                n += 1
                with open("cell-%d.txt" % n, "w") as f:
                    f.write(execute(k.km, k.kc, arg, op == "interrupt"))
            elif op == "restart":
                k.restart()
            elif op == "watchers":
                with open("watchers.txt", "a") as f:
                    f.writelines("%d\n" % p for p in watchers(k.pid()))
            elif op:
                sys.exit("unknown command: " + op)
        k.shutdown()
        if proc is None:
            return 0
        rest = proc.communicate(timeout=TIMEOUT)[1]
        with open("memwatch.err", "wb") as f:
            f.write(said + rest)
        return proc.returncode
    finally:
        k.shutdown(now=True)
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()


if __name__ == "__main__":
    sys.exit(main())
