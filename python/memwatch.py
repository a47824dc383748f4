# memwatch.py: the IPython side of memwatch.  Loaded into an IPython shell
# or a Jupyter kernel that a memwatch watches, it cuts memwatch's timeline
# at each cell: a marker "In [N]" before it, "idle" after it, each time
# waiting for memwatch's answer on the reply FIFO (so the boundary sample
# is taken before the cell's first allocation and after its last), and
# prints the cell's row as one line:
#
#   In [5] used 76.3320 MiB RAM in 0.33s, peaked 0.00 MiB above current,
#   total RAM usage 112.60 MiB
#
# It is an IPython extension (%load_ext memwatch), and what memwatch's
# startup.py loads.  Nothing here may break the user's shell: every error
# of ours is caught, said once, and reports stop.

"""Per-cell memory reports from memwatch, the external memory monitor.

After each cell, a line: memory the cell left behind, its time, how far
above that memory went while it ran (exact, from the kernel's high-water
mark), and the process total.

    %memwatch            state
    %memwatch on|off     start or stop the per-cell lines
    %memwatch last       the last cell's line again
    %memwatch history    every cell measured (a DataFrame with pandas)

From code: ``memwatch.measurements`` (the last cell, a Measurements
namedtuple in MiB and seconds), ``memwatch.history()``, ``memwatch.cells``,
``memwatch.start_watching_memory()``, ``memwatch.stop_watching_memory()``.
"""

import collections
import errno
import os
import select
import stat
import sys
import time

__all__ = ["Cell", "Measurements", "cells", "history", "measurements",
           "start_watching_memory", "stop_watching_memory"]

Measurements = collections.namedtuple(
    "Measurements", "memory_delta time_delta memory_peak memory_usage")
Measurements.__doc__ = """One cell's numbers, in MiB and seconds:
memory left behind, run time, peak above the memory at its end, and the
process's resident memory at its end."""

Cell = collections.namedtuple(
    "Cell", "cell memory_delta time_delta memory_peak memory_usage")
Cell.__doc__ = """A cell of the history: its number, then Measurements."""

measurements = None     # the last cell's Measurements
cells = []              # every Cell measured, oldest first

REPLY_TIMEOUT = 1.0     # seconds to wait for memwatch's row of a cell
_MIB = 1024.0 * 1024.0

_shell = None           # the IPython shell we are loaded into
_on = False             # per-cell lines wanted
_link = None            # the FIFOs of our memwatch, or None
_pending = None         # (number, label) of the cell whose marker went out
_last_line = None
_said = set()


def _say(key, text):
    """Print a message of ours, once per key until the next %memwatch on."""
    if key in _said:
        return
    _said.add(key)
    try:
        print("memwatch: " + text, file=sys.stderr, flush=True)
    except Exception:
        pass


class _Link:
    """The marker FIFO (written) and reply FIFO (read) of a memwatch."""

    def __init__(self, marker_fd, reply_fd, path):
        self.marker = marker_fd
        self.reply = reply_fd
        self.path = path
        self.stalled = False
        self.buf = b""
        self.open_index = None      # number of memwatch's open segment
        self.poller = select.poll()     # select() fails on fds >= 1024
        self.poller.register(reply_fd, select.POLLIN)
        # the marker's writing end shows POLLERR once memwatch is gone
        self.poller.register(marker_fd, 0)

    def _read(self, timeout_ms):
        """Add what the reply FIFO holds to buf; False if nothing came.
        Raises BrokenPipeError if memwatch has gone."""
        ready = dict(self.poller.poll(timeout_ms))
        if self.reply in ready:
            try:
                self.buf += os.read(self.reply, 65536)
                return True
            except BlockingIOError:
                pass
        if self.marker in ready:
            raise BrokenPipeError(errno.EPIPE, "memwatch closed " + self.path)
        return False

    def _rows(self):
        """The complete rows in buf, taken out of it one by one, each a
        dict of memwatch's reply fields (name=value, tab-separated)."""
        while b"\n" in self.buf:
            line, self.buf = self.buf.split(b"\n", 1)
            row = dict(f.split("=", 1) for f in
                       line.decode("utf-8", "replace").split("\t")
                       if "=" in f)
            if row.get("segment", "").isdigit():
                self.open_index = int(row["segment"]) + 1
                yield row

    def cut(self, label, closes=None):
        """Cut memwatch's timeline here, the segment from here labelled
        label, and wait for the row of the segment this closed: the one
        labelled closes if given, else the one memwatch had open.  Return
        the row's fields, or None if none came in REPLY_TIMEOUT seconds.
        Raises OSError as os.write: BrokenPipeError once memwatch is gone.

        Waiting for the row also means memwatch has taken its sample:
        whatever runs next is on the new segment's side."""
        self._read(0)
        for _ in self._rows():
            pass                    # late or unasked-for rows
        target = self.open_index
        os.write(self.marker, label.encode("utf-8") + b"\n")
        deadline = time.monotonic() + REPLY_TIMEOUT
        while True:
            for row in self._rows():
                if closes is not None:
                    if row.get("label") == closes:
                        return row
                elif target is None or int(row["segment"]) >= target:
                    return row
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


def _find_marker():
    """The marker FIFO of the memwatch watching this process, or None."""
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
        _say("other", "memwatch watches process %s, not this one (pid %s): "
             "no per-cell lines here; for them, run memwatch -p %s"
             % (other, pid, pid))
    else:
        _say("none", "no memwatch watches this process (pid %s): start "
             "memwatch -p %s, then %%memwatch on" % (pid, pid))
    return None


def _connect():
    """Open the FIFOs of our memwatch; a _Link, or None after saying why."""
    path = _find_marker()
    if path is None:
        return None
    piddir = os.path.dirname(path)
    try:
        problem = (_private_dir_problem(os.path.dirname(piddir))
                   or _private_dir_problem(piddir))
        if problem:
            _say("refuse", problem + ": refusing it")
            return None
        marker = _open_fifo(path, os.O_WRONLY)
    except OSError as e:
        # it removes its directory at exit; a FIFO nobody reads is ENXIO
        if e.errno in (errno.ENOENT, errno.ENXIO):
            _say("gone", "%s: its memwatch has exited" % path)
        else:
            _say("refuse", "%s: refusing it" % (e,))
        return None
    try:
        # read-write: memwatch opens and closes its end per row, and a
        # read-only end would see end of file between rows
        reply = _open_fifo(os.path.join(piddir, "reply"), os.O_RDWR)
    except OSError as e:
        os.close(marker)
        _say("refuse", "%s: refusing it" % (e,))
        return None
    return _Link(marker, reply, path)


def _trouble(e):
    """Stop reports after an error of ours, saying why once."""
    global _link
    if isinstance(e, BrokenPipeError):
        _say("gone", "the memwatch process has exited: no more per-cell "
             "lines")
        if _link is not None:
            _link.close()
            _link = None
    elif isinstance(e, BlockingIOError):
        _say("stalled", "memwatch does not read its FIFO: per-cell lines "
             "stop (%memwatch on to resume)")
        if _link is not None:
            _link.stalled = True
    else:
        _say("error", "per-cell lines stop after an error: %r" % (e,))
        if _link is not None:
            _link.stalled = True


def _stall():
    """memwatch did not answer in time: no more markers until %memwatch on
    (the FIFOs stay open, so its late rows do not land on the terminal)."""
    _link.stalled = True
    _say("timeout", "no answer from memwatch in %g s: per-cell lines stop "
         "(%%memwatch on to resume)" % REPLY_TIMEOUT)


def _pre_run_cell(info):
    global _pending
    _pending = None
    try:
        if not _on or _link is None or _link.stalled:
            return
        n = _shell.execution_count
        label = "In [%d]" % n
        if _link.cut(label) is None:
            _stall()
            return
        _pending = n, label
    except (Exception, KeyboardInterrupt) as e:
        _trouble(e)


# how a peak was had, where it is not exact: as memwatch's own lines say
_PEAK_NOTES = {"upper": " (peak at most)", "sampled": " (peak sampled)"}


def _format(label, m, kind="exact"):
    return ("%s used %.4f MiB RAM in %.2fs, peaked %.2f MiB above current%s, "
            "total RAM usage %.2f MiB" % (label, m.memory_delta, m.time_delta,
                                          m.memory_peak,
                                          _PEAK_NOTES.get(kind, ""),
                                          m.memory_usage))


def _finish_cell():
    """Close the segment of the cell under way, and print its line."""
    global _pending, _last_line, measurements
    pending, _pending = _pending, None
    # a whitespace-only cell comes here without _pre_run_cell
    if pending is None or _link is None:
        return
    n, label = pending
    try:
        row = _link.cut("idle", closes=label)
        if row is None:
            _stall()
            return
        m = Measurements(int(row["delta_bytes"]) / _MIB,
                         float(row["duration_s"]),
                         int(row["peak_above_end_bytes"]) / _MIB,
                         int(row["end_rss_bytes"]) / _MIB)
        measurements = m
        cells.append(Cell(n, *m))
        _last_line = _format(label, m, row.get("peak_kind", "sampled"))
        print(_last_line, flush=True)
    except KeyboardInterrupt:
        pass        # the user would rather not wait for this line
    except Exception as e:
        _trouble(e)


def _post_run_cell(result):
    _finish_cell()


def history():
    """Every cell measured: a pandas DataFrame indexed by cell number when
    pandas can be imported, else a list of Cell namedtuples."""
    try:
        import pandas
    except ImportError:
        return list(cells)
    return pandas.DataFrame.from_records(cells, columns=Cell._fields,
                                         index="cell")


def start_watching_memory():
    """Print a line after each cell from now on (loads the extension into
    the running IPython if needed, and finds memwatch again if it was
    lost)."""
    global _on, _link
    if _shell is None:
        from IPython import get_ipython
        ip = get_ipython()
        if ip is None:
            raise RuntimeError("memwatch: not in IPython")
        load_ipython_extension(ip)
        return
    _on = True
    _said.clear()
    if _link is not None and _link.stalled:
        _link.stalled = False
        return
    if _link is None:
        _link = _connect()
        if _link is None:
            return
        # IPython's start, or the time before %run, is a segment apart
        try:
            row = _link.cut("idle")
        except Exception as e:
            _trouble(e)
            return
        if row is None:
            _stall()
            return
        print("memwatch: a line after each cell; %memwatch off stops them, "
              "%memwatch history lists them", flush=True)


def stop_watching_memory():
    """No more lines after cells (the running cell still gets one)."""
    global _on
    _on = False


def _memwatch_magic(line):
    """Per-cell memory lines from memwatch.

    %memwatch            say whether lines are on and where they come from
    %memwatch on         a line after each cell (finds memwatch again)
    %memwatch off        no more lines (this cell still gets its own)
    %memwatch last       the last cell's line again
    %memwatch history    every cell measured: a pandas DataFrame (a list of
                         memwatch.Cell without pandas)

    From code: import memwatch; memwatch.measurements, memwatch.history().
    """
    arg = line.strip()
    if arg == "on":
        had = _link is not None
        start_watching_memory()
        if had and _link is not None and not _link.stalled:
            print("memwatch: per-cell lines on")
    elif arg == "off":
        stop_watching_memory()
        print("memwatch: per-cell lines off")
    elif arg == "last":
        print(_last_line if _last_line is not None
              else "memwatch: no cell measured yet")
    elif arg == "history":
        return history()
    elif arg == "":
        if _link is None:
            state = "not connected to memwatch"
        elif _link.stalled:
            state = "stopped after a problem (%memwatch on to resume)"
        else:
            state = "%s, through %s" % ("on" if _on else "off", _link.path)
        print("memwatch: %s; %d cells measured" % (state, len(cells)))
    else:
        print("usage: %memwatch [on | off | last | history]")


def load_ipython_extension(ip):
    """Register the cell callbacks and %memwatch in shell ip, and start."""
    global _shell
    if _shell is not ip:
        if _shell is not None:
            unload_ipython_extension(_shell)
        ip.events.register("pre_run_cell", _pre_run_cell)
        ip.events.register("post_run_cell", _post_run_cell)
        ip.register_magic_function(_memwatch_magic, "line", "memwatch")
        _shell = ip
    start_watching_memory()


def unload_ipython_extension(ip):
    """Undo load_ipython_extension: callbacks, magic, FIFOs."""
    global _shell, _link, _on, _pending
    for event, fn in (("pre_run_cell", _pre_run_cell),
                      ("post_run_cell", _post_run_cell)):
        try:
            ip.events.unregister(event, fn)
        except ValueError:
            pass
    ip.magics_manager.magics["line"].pop("memwatch", None)
    # unloaded by a cell: that cell ends here, with its line
    _finish_cell()
    if _link is not None:
        _link.close()
    _shell = _link = _pending = None
    _on = False
