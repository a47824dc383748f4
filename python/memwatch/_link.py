# _link.py: the two FIFOs of the memwatch that watches this process, and
# the reply rows that come back on the second.
#
# A marker line written to memwatch's marker FIFO cuts its timeline there;
# memwatch answers with one row per segment it closes, on the reply FIFO:
# TAB-separated name=value fields, read here by name (fields we do not
# know are skipped, so memwatch may add some).  The row whose next= is a
# marker's label is the boundary that marker made.

import collections
import errno
import os
import select
import stat
import time

REPLY_TIMEOUT = 1.0     # seconds to wait for memwatch's answer to a marker

_FIELDS = {
    "segment": int,
    "label": str,
    "next": str,
    "start_s": float,
    "end_s": float,
    "duration_s": float,
    "start_rss_bytes": int,
    "end_rss_bytes": int,
    "delta_bytes": int,
    "peak_rss_bytes": int,
    "peak_above_end_bytes": int,
    "peak_exact": lambda v: v == "1",
    "peak_kind": str,
    "processes": int,
    "interrupts": int,
    "limit_bytes": int,
}

Row = collections.namedtuple("Row", _FIELDS, defaults=(None,) * len(_FIELDS))
Row.__doc__ = """One segment memwatch closed, as its reply row says."""

# without these a row is no use to us
_NEEDED = ("segment", "next", "duration_s", "start_rss_bytes",
           "end_rss_bytes", "peak_rss_bytes", "peak_kind")


def decode(line):
    """The Row that reply line (bytes, no newline) holds, or None."""
    values = {}
    for field in line.decode("utf-8", "replace").split("\t"):
        name, eq, value = field.partition("=")
        if eq and name in _FIELDS:
            try:
                values[name] = _FIELDS[name](value)
            except ValueError:
                return None
    if any(name not in values for name in _NEEDED):
        return None
    return Row(**values)


class Link:
    """The marker FIFO (written) and reply FIFO (read) of a memwatch."""

    def __init__(self, marker_fd, reply_fd, path):
        self.marker = marker_fd
        self.reply = reply_fd
        self.path = path
        self.buf = b""
        self.poller = select.poll()     # select() fails on fds >= 1024
        self.poller.register(reply_fd, select.POLLIN)
        # the marker's writing end shows POLLERR once memwatch is gone
        self.poller.register(marker_fd, 0)

    def _read(self, timeout_ms):
        """Add what the reply FIFO holds to buf.  Raises BrokenPipeError
        if memwatch has gone."""
        ready = dict(self.poller.poll(timeout_ms))
        if self.reply in ready:
            try:
                self.buf += os.read(self.reply, 65536)
                return
            except BlockingIOError:
                pass
        if self.marker in ready:
            raise BrokenPipeError(errno.EPIPE, "memwatch closed " + self.path)

    def _rows(self):
        """The complete rows in buf, taken out of it one by one."""
        while b"\n" in self.buf:
            line, self.buf = self.buf.split(b"\n", 1)
            row = decode(line)
            if row is not None:
                yield row

    def cut(self, label):
        """Cut memwatch's timeline here, the segment from here labelled
        label.  Return the rows that came since the last cut, up to the
        one whose next= is label, oldest first; None if that one did not
        come in REPLY_TIMEOUT seconds.  Raises OSError as os.write does:
        BrokenPipeError once memwatch is gone.

        Waiting for the row also means memwatch has taken its sample:
        whatever runs next is on the new segment's side."""
        os.write(self.marker, label.encode("utf-8") + b"\n")
        got = []
        deadline = time.monotonic() + REPLY_TIMEOUT
        while True:
            for row in self._rows():
                got.append(row)
                if row.next == label:
                    return got
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self._read(max(1, int(left * 1000)))

    def close(self):
        for fd in (self.marker, self.reply):
            try:
                os.close(fd)
            except OSError:
                pass


def _bases():
    """Where memwatch makes its directory, in its order of preference."""
    seen = []
    for var in ("XDG_RUNTIME_DIR", "TMPDIR"):
        base = os.environ.get(var, "")
        if base.startswith("/") and os.path.isdir(base):
            seen.append(base)
    seen.append("/tmp")
    return [b for i, b in enumerate(seen) if b not in seen[:i]]


def _private_dir_problem(path):
    """Why directory path is not ours alone, or None if it is."""
    st = os.lstat(path)
    if not stat.S_ISDIR(st.st_mode):
        return "%s: not a directory" % path
    if st.st_uid != os.geteuid():
        return "%s: owned by uid %d, not by us" % (path, st.st_uid)
    if st.st_mode & 0o077:
        return "%s: mode %04o lets others in" % (path, st.st_mode & 0o7777)
    return None


def _open_fifo(path, flags):
    """Open FIFO path, refusing anything but a FIFO of ours."""
    fd = os.open(path, flags | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC)
    st = os.fstat(fd)
    if not stat.S_ISFIFO(st.st_mode) or st.st_uid != os.geteuid():
        os.close(fd)
        raise PermissionError("%s: not a FIFO of ours" % path)
    return fd


class NoLink(Exception):
    """No memwatch to link to; str() says why, and key what kind of
    problem it is (said once per kind)."""

    def __init__(self, key, text):
        super().__init__(text)
        self.key = key


def find_marker():
    """The marker FIFO of the memwatch watching this process.  Raises
    NoLink "other" when the one in the environment watches another
    process, "none" when none is found."""
    pid = str(os.getpid())
    given = os.environ.get("MEMWATCH_FIFO", "")
    if given and os.path.basename(os.path.dirname(given)) == pid:
        return given
    uid = os.geteuid()
    for base in _bases():
        path = os.path.join(base, "memwatch-%d" % uid, pid, "marker")
        if os.path.lexists(path):
            return path
    if given:
        other = os.path.basename(os.path.dirname(given))
        raise NoLink("other", "memwatch watches process %s, not this one "
                     "(pid %s)" % (other, pid))
    raise NoLink("none", "no memwatch watches this process (pid %s)" % pid)


def connect(path):
    """A Link to the memwatch whose marker FIFO is path.  Raises NoLink
    "gone" when no memwatch reads it, "refuse" when it is not ours."""
    piddir = os.path.dirname(path)
    try:
        problem = (_private_dir_problem(os.path.dirname(piddir))
                   or _private_dir_problem(piddir))
        if problem:
            raise NoLink("refuse", problem + ": refusing it")
        marker = _open_fifo(path, os.O_WRONLY)
    except OSError as e:
        # it removes its directory at exit; a FIFO nobody reads is ENXIO
        if e.errno in (errno.ENOENT, errno.ENXIO):
            raise NoLink("gone", "%s: its memwatch has exited" % path)
        raise NoLink("refuse", "%s: refusing it" % (e,))
    try:
        # read-write: memwatch opens and closes its end per row, and a
        # read-only end would see end of file between rows
        reply = _open_fifo(os.path.join(piddir, "reply"), os.O_RDWR)
    except OSError as e:
        os.close(marker)
        raise NoLink("refuse", "%s: refusing it" % (e,))
    return Link(marker, reply, path)
