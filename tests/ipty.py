# ipty.py: run a command on a pseudo-terminal, as from an interactive
# shell, and drive it with a script read from standard input, one command
# a line:
#
#	expect REGEX	wait for REGEX in the screen text not yet matched
#	send TEXT	type TEXT, then Enter
#	type N CODE	wait for IPython's prompt "In [N]:", then send CODE
#	line N		wait for cell N's line from memwatch ("In [N] used ")
#	cell N CODE	type N CODE, then line N
#	keys TEXT	type TEXT, its backslash escapes decoded: keys \x20\r
#	intr		type Ctrl-C (the terminal sends SIGINT to the job)
#	kill SIG WHO	send SIG to WHO: "command" (the process started, e.g.
#			memwatch) or "child" (its child, e.g. IPython)
#	wait		wait for the command and every process it left to end
#
# usage: python3 ipty.py [-t SECONDS] TRANSCRIPT -- COMMAND [ARG ...]
#
# The screen text is the output with terminal escape sequences and carriage
# returns removed; it is written to TRANSCRIPT at the end.  Each expect and
# wait gives up after SECONDS (default 20).  The exit status is 0 when the
# whole script ran, 1 with the reason on standard error otherwise.  Every
# process on the terminal is killed before leaving.
#
# A session leader stands in for the user's shell: it starts COMMAND as a
# foreground job of its own (Ctrl-C reaches the job, not the leader), and
# stays until every process left on the terminal has ended (it adopts
# orphans), so killing COMMAND does not hang up the terminal.

import ctypes
import os
import pty
import re
import select
import signal
import struct
import sys
import termios
import fcntl
import time

PR_SET_CHILD_SUBREAPER = 36
ESCAPES = re.compile(rb"\x1b\[[0-?]*[ -/]*[@-~]"     # CSI
                     rb"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"  # OSC
                     rb"|\x1b[()][0-9A-Za-z]|\x1b[=>78]")
CPR_REQUEST = b"\x1b[6n"


class Failure(Exception):
    pass


def leader(argv):
    """The session leader: run argv, reap everything, exit with its
    status."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1,
                                            0, 0, 0)
    fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 200, 0, 0))
    signal.signal(signal.SIGTTOU, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    pid = os.fork()
    if pid == 0:
        try:
            os.setpgid(0, 0)
            signal.signal(signal.SIGTTOU, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            os.execvp(argv[0], argv)
        finally:
            os._exit(127)
    # both sides, as a shell does; once the child has run exec, it has
    # moved itself and this one fails with EACCES
    try:
        os.setpgid(pid, pid)
    except PermissionError:
        pass
    os.tcsetpgrp(0, pid)
    status = 0
    while True:
        try:
            got, st = os.wait()
        except ChildProcessError:
            break
        if got == pid:
            status = os.waitstatus_to_exitcode(st)
            status = 128 - status if status < 0 else status
    os._exit(status)


class Session:
    def __init__(self, argv, timeout):
        self.timeout = timeout
        self.raw = b""
        self.pos = 0
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            leader(argv)
        self.command = self.child = None
        self.status = None

    def text(self):
        s = ESCAPES.sub(b"", self.raw).replace(b" \x08", b"")
        s = s.replace(b"\r", b"")
        return s.decode("utf-8", "replace")

    def pump(self, deadline):
        """Read what the terminal shows until deadline; False at its end."""
        left = deadline - time.monotonic()
        if left <= 0:
            return True
        r, _, _ = select.select([self.fd], [], [], min(left, 0.1))
        if not r:
            return True
        try:
            data = os.read(self.fd, 65536)
        except OSError:     # EIO: no process holds the terminal any more
            return False
        if not data:
            return False
        if CPR_REQUEST in data:
            os.write(self.fd, b"\x1b[1;1R")
        self.raw += data
        return True

    def expect(self, regex):
        pattern = re.compile(regex, re.M)
        deadline = time.monotonic() + self.timeout
        while True:
            m = pattern.search(self.text(), self.pos)
            if m:
                self.pos = m.end()
                return
            if time.monotonic() >= deadline:
                raise Failure("timed out waiting for /%s/" % regex)
            if not self.pump(deadline):
                m = pattern.search(self.text(), self.pos)
                if m:
                    self.pos = m.end()
                    return
                raise Failure("the command ended before /%s/" % regex)

    def intr(self):
        """Type Ctrl-C once the terminal turns it into SIGINT: a program
        that reads keys in raw mode (prompt_toolkit) may take a moment to
        give the terminal back after Enter."""
        deadline = time.monotonic() + self.timeout
        while not termios.tcgetattr(self.fd)[3] & termios.ISIG:
            if time.monotonic() >= deadline:
                raise Failure("timed out waiting for the terminal's ISIG")
            self.pump(min(deadline, time.monotonic() + 0.01))
        os.write(self.fd, b"\x03")

    def send(self, text):
        os.write(self.fd, text.encode("utf-8") + b"\r")

    def children(self, pid):
        try:
            with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
                return [int(p) for p in f.read().split()]
        except OSError:
            return []

    def kill(self, sig, who):
        if self.command is None:
            found = self.children(self.pid)
            found += self.children(found[0]) if found else []
            if len(found) < 2:
                raise Failure("no command and child to signal")
            self.command, self.child = found[:2]
        os.kill(self.command if who == "command" else self.child,
                getattr(signal, "SIG" + sig))

    def wait(self):
        deadline = time.monotonic() + self.timeout
        while self.pump(deadline):
            if time.monotonic() >= deadline:
                raise Failure("timed out waiting for the command to end")
        got, st = os.waitpid(self.pid, 0)
        self.status = os.waitstatus_to_exitcode(st)
        print("exit %d" % self.status)

    def session(self):
        """The processes on the terminal: those of the leader's session."""
        found = []
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            try:
                with open("/proc/%s/stat" % name) as f:
                    stat = f.read()
            except OSError:
                continue
            # fields after the command name: state ppid pgrp session
            if int(stat.rpartition(")")[2].split()[3]) == self.pid:
                found.append(int(name))
        return found

    def close(self):
        if self.status is None:
            for pid in self.session():
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            os.waitpid(self.pid, 0)
        os.close(self.fd)


def main():
    args = sys.argv[1:]
    timeout = 20.0
    if args[:1] == ["-t"]:
        timeout = float(args[1])
        args = args[2:]
    if len(args) < 3 or args[1] != "--":
        sys.exit("usage: ipty.py [-t SECONDS] TRANSCRIPT -- COMMAND [ARG ...]")
    transcript, argv = args[0], args[2:]
    script = sys.stdin.read().splitlines()
    s = Session(argv, timeout)
    ok = True
    try:
        for line in script:
            op, _, arg = line.partition(" ")
            n, _, code = arg.partition(" ")
            if op in ("type", "cell"):
                s.expect(r"In \[%s\]:" % n)
                s.send(code)
                if op == "cell":
                    s.expect(r"^In \[%s\] used " % n)
            elif op == "line":
                s.expect(r"^In \[%s\] used " % n)
            elif op == "expect":
                s.expect(arg)
            elif op == "send":
                s.send(arg)
            elif op == "keys":
                os.write(s.fd, arg.encode("latin-1").decode(
                    "unicode_escape").encode("utf-8"))
            elif op == "intr":
                s.intr()
            elif op == "kill":
                s.kill(*arg.split())
            elif op == "wait":
                s.wait()
            elif op:
                raise Failure("unknown command: " + line)
    except Failure as e:
        ok = False
        print("ipty: %s; the screen so far:\n%s" % (e, s.text()),
              file=sys.stderr)
    finally:
        s.close()
        with open(transcript, "w") as f:
            f.write(s.text())
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
