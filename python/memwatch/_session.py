# _session.py: the per-cell lines in one IPython shell.
#
# Before a cell the shell's memwatch gets the marker "In [N]", after it
# "idle", each time waiting for memwatch's answer (so the boundary sample
# is taken before the cell's first allocation and after its last).  The
# cell's line is made from the rows of the segments memwatch closed in
# between: one, or several when the cell cut segments of its own.
#
# Nothing here may break the user's shell: every error of ours is caught,
# said once, and the lines stop.

import collections
import os
import sys

from . import _limit, _link
from ._watcher import Watcher

_MIB = 1024.0 * 1024.0

Measurements = collections.namedtuple(
    "Measurements", "memory_delta time_delta memory_peak memory_usage")
Measurements.__doc__ = """One cell's numbers, in MiB and seconds:
memory left behind, run time, peak above the memory at its end, and the
process's resident memory at its end."""

Cell = collections.namedtuple(
    "Cell", "cell memory_delta time_delta memory_peak memory_usage")
Cell.__doc__ = """A cell of the history: its number, then Measurements."""


def combine(rows):
    """The Measurements of a cell whose segments are rows (oldest first),
    and what its peak is: "exact" if every row's is, "upper" (a bound
    from above) if every row's is exact or one, else "sampled" (a bound
    from below), as it is when a row is missing."""
    first, last = rows[0], rows[-1]
    peak = max(row.peak_rss_bytes for row in rows)
    kinds = {row.peak_kind for row in rows}
    # a kind we do not know is no bound we can name
    if (kinds - {"exact", "upper"} or
            last.segment - first.segment != len(rows) - 1):
        kind = "sampled"
    else:
        kind = "upper" if "upper" in kinds else "exact"
    m = Measurements((last.end_rss_bytes - first.start_rss_bytes) / _MIB,
                     sum(row.duration_s for row in rows),
                     (peak - last.end_rss_bytes) / _MIB,
                     last.end_rss_bytes / _MIB)
    return m, kind


# how a peak was had, where it is not exact: as memwatch's own lines say
_PEAK_NOTES = {"upper": " (peak at most)", "sampled": " (peak sampled)"}


def format_line(label, m, kind="exact"):
    """The line printed after a cell whose peak is of kind."""
    return ("%s used %.4f MiB RAM in %.2fs, peaked %.2f MiB above current%s, "
            "total RAM usage %.2f MiB" %
            (label, m.memory_delta, m.time_delta, m.memory_peak,
             _PEAK_NOTES.get(kind, ""), m.memory_usage))


class Session:
    """The extension's state in the shell it is loaded into."""

    def __init__(self):
        self.shell = None       # the IPython shell we are loaded into
        self.on = False         # per-cell lines wanted
        self.autostart = True   # may start a memwatch of our own
        self.link = None        # the FIFOs of our memwatch, or None
        self.watcher = None     # the memwatch we started, or None
        self.stalled = False    # memwatch did not answer: no markers
        self.pending = None     # (number, label) of the cell measured
        self.last_line = None
        self.measurements = None    # the last cell's Measurements
        self.cells = []         # every Cell measured, oldest first
        self.said = set()
        self.limit = None       # memwatch's --limit as it last said, bytes
        self.asked = None       # a limit asked for in the cell under way

    def say(self, key, text):
        """Print a message of ours, once per key until the next start."""
        if key in self.said:
            return
        self.said.add(key)
        try:
            print("memwatch: " + text, file=sys.stderr, flush=True)
        except Exception:
            pass

    def _drop_link(self):
        if self.link is not None:
            self.link.close()
            self.link = None
        if self.watcher is not None:
            self.watcher.stop()
            self.watcher = None

    def _trouble(self, e):
        """Stop the lines after an error of ours, saying why once."""
        if isinstance(e, BrokenPipeError):
            self.say("gone", "the memwatch process has exited: no more "
                     "per-cell lines")
            self._drop_link()
        elif isinstance(e, BlockingIOError):
            self.say("stalled", "memwatch does not read its FIFO: per-cell "
                     "lines stop (%memwatch on to resume)")
            self.stalled = True
        else:
            self.say("error", "per-cell lines stop after an error: %r" % (e,))
            self.stalled = True

    def _cut(self, label):
        """Cut the timeline at label; the rows it closed, or None after
        saying why (the lines then stop).  A KeyboardInterrupt while it
        waits is the caller's."""
        try:
            rows = self.link.cut(label)
        except Exception as e:
            self._trouble(e)
            return None
        if rows:
            self.limit = rows[-1].limit_bytes
        if rows is None:
            # the FIFOs stay open, so its late rows land nowhere else
            self.stalled = True
            self.say("timeout", "no answer from memwatch in %g s: per-cell "
                     "lines stop (%%memwatch on to resume)"
                     % _link.REPLY_TIMEOUT)
        return rows

    def _measuring(self):
        return self.on and self.link is not None and not self.stalled

    def _open_cell(self):
        """Start measuring the cell under way from here."""
        n = self.shell.execution_count
        label = "In [%d]" % n
        if self._cut(label) is not None:
            self.pending = n, label

    def pre_run_cell(self, info):
        self.pending = None
        try:
            if self._measuring():
                self._open_cell()
        except KeyboardInterrupt:
            # no line for this cell; memwatch's late row is dropped at
            # the next cut
            self.pending = None

    def post_run_cell(self, result):
        self.finish_cell()

    def finish_cell(self):
        """Close the segment of the cell under way, and print its line."""
        pending, self.pending = self.pending, None
        # a whitespace-only cell comes here without pre_run_cell
        if pending is None or self.link is None:
            return
        n, label = pending
        before, asked, self.asked = self.limit, self.asked, None
        try:
            rows = self._cut("idle")
            if not rows:
                return
            m, kind = combine(rows)
            self.measurements = m
            self.cells.append(Cell(n, *m))
            self.last_line = format_line(label, m, kind)
            print(self.last_line, flush=True)
            for line in _limit.said(before, asked, rows):
                print(line, flush=True)
        except KeyboardInterrupt:
            pass        # the user would rather not wait for this line
        except Exception as e:
            self._trouble(e)

    def ask_limit(self, spec):
        """Have memwatch take limit spec at the end of the cell under way
        (or at the next cell's start)."""
        try:
            _limit.ask(self.link, spec)
        except OSError as e:
            self.say("limit", "cannot ask memwatch for a limit: %s" % e)
            return
        self.asked = spec

    def _link_up(self):
        """Find the memwatch that watches us, or start one; True once
        linked, False after saying why not."""
        try:
            self.link = _link.connect(_link.find_marker())
            return True
        except _link.NoLink as e:
            problem = e
        # gone: the FIFO of a memwatch that was killed, ours to take over
        if self.autostart and problem.key in ("none", "other", "gone"):
            try:
                self.watcher = Watcher()
                self.link = self.watcher.link
                return True
            except _link.NoLink as e:
                problem = e
        hint = {
            "none": ": start memwatch -p %d, then %%memwatch on",
            "other": ": no per-cell lines here; for them, memwatch -p %d",
        }.get(problem.key)
        self.say(problem.key, str(problem) +
                 (hint % os.getpid() if hint else ""))
        return False

    def start(self):
        """Lines after cells from here on; measure the rest of the cell
        under way, if any."""
        self.on = True
        self.said.clear()
        fresh = self.link is None
        if fresh and not self._link_up():
            return
        self.stalled = False
        if fresh and os.environ.get("MEM_LIMIT"):
            # taken at the cut below, unless memwatch has a limit
            self.ask_limit("default " + _limit.DEFAULT)
            self.asked = None
        # inside a cell (%load_ext, %memwatch on, start_watching_memory()):
        # that cell gets its line, as the rest of it is measured
        if getattr(self.shell.displayhook, "exec_result", None) is not None:
            if self.pending is None:
                self._open_cell()
        elif self._cut("idle") is None:
            return
        if fresh:
            print("memwatch: a line after each cell; %memwatch off stops "
                  "them, %memwatch history lists them", flush=True)
            if self.limit:
                print("memwatch: limit %s: a cell that goes past it is "
                      "interrupted (%%memwatch limit changes it)" %
                      _limit.size(self.limit), flush=True)

    def stop(self):
        """No more lines after cells (the running cell still gets one)."""
        self.on = False

    def history(self):
        """Every cell measured: a pandas DataFrame indexed by cell number
        if pandas is already imported, else a list of Cell.  pandas is
        never imported for it: that would add tens of MiB to the process
        memwatch measures."""
        pandas = sys.modules.get("pandas")
        if pandas is None:
            return list(self.cells)
        return pandas.DataFrame.from_records(self.cells, columns=Cell._fields,
                                             index="cell")

    def status(self):
        """What %memwatch says: where the lines come from."""
        if self.link is None:
            state = "not connected to memwatch"
        elif self.stalled:
            state = "stopped after a problem (%memwatch on to resume)"
        else:
            state = "%s, through %s" % ("on" if self.on else "off",
                                        self.link.path)
            if self.watcher is not None:
                state += " (memwatch pid %d, started here)" % \
                    self.watcher.proc.pid
            if self.limit:
                state += "; limit %s" % _limit.size(self.limit)
        return "memwatch: %s; %d cells measured" % (state, len(self.cells))

    def load(self, ip):
        """Register the cell callbacks in shell ip, and start."""
        if self.shell is not ip:
            if self.shell is not None:
                self.unload(self.shell)
            ip.events.register("pre_run_cell", self.pre_run_cell)
            ip.events.register("post_run_cell", self.post_run_cell)
            self.shell = ip
        self.start()

    def unload(self, ip):
        """Undo load: callbacks, FIFOs, our memwatch."""
        for event, fn in (("pre_run_cell", self.pre_run_cell),
                          ("post_run_cell", self.post_run_cell)):
            try:
                ip.events.unregister(event, fn)
            except ValueError:
                pass
        # unloaded by a cell: that cell ends here, with its line
        self.finish_cell()
        self._drop_link()
        self.shell = self.pending = None
        self.on = self.stalled = False


SESSION = Session()
