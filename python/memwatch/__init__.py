# The IPython side of memwatch: a line after each cell of an IPython shell
# or Jupyter kernel, from the memwatch that watches it (one it starts
# itself if none does).  The modules: _link (memwatch's FIFOs and reply
# rows), _watcher (a memwatch of our own), _session (the cells), magics
# (%memwatch), startup (what memwatch's PYTHONSTARTUP runs).

"""Per-cell memory lines from memwatch, the external memory monitor.

After each cell, a line: memory the cell left behind, its time, how far
above that memory went while it ran (exact, from the kernel's high-water
mark), and the process total:

    In [5] used 76.3320 MiB RAM in 0.33s, peaked 0.00 MiB above current, total RAM usage 112.60 MiB

Start it with ``%load_ext memwatch`` (or ``ipython --ext memwatch``, or
``c.InteractiveShellApp.extensions = ['memwatch']``, or the Jupyter kernel
"Python 3 (memwatch)"): a process no memwatch watches gets one of its own,
``memwatch -q -p PID``, which ends with the process or
``%unload_ext``.

From code: ``memwatch.measurements`` (the last cell, Measurements in MiB
and seconds), ``memwatch.history()``, ``memwatch.cells``,
``memwatch.start_watching_memory()``, ``memwatch.stop_watching_memory()``,
and ipython_memwatcher's ``MemWatcher``.  In the shell: ``%memwatch?``.
"""

from ._session import SESSION as _SESSION, Cell, Measurements

__all__ = ["Cell", "Measurements", "MemWatcher", "cells", "history",
           "measurements", "start_watching_memory", "stop_watching_memory"]

cells = _SESSION.cells  # every Cell measured, oldest first


def __getattr__(name):
    # memwatch.measurements: the last cell's, None before the first
    if name == "measurements":
        return _SESSION.measurements
    raise AttributeError("module %r has no attribute %r" % (__name__, name))


def history():
    """Every cell measured: a pandas DataFrame indexed by cell number if
    pandas is imported already, else a list of Cell.  memwatch never
    imports pandas itself: that would add tens of MiB to the process it
    measures."""
    return _SESSION.history()


def start_watching_memory():
    """A line after each cell from now on, this one included: loads the
    extension into the running IPython if needed, and finds (or starts)
    memwatch again if it was lost."""
    if _SESSION.shell is None:
        from IPython import get_ipython
        ip = get_ipython()
        if ip is None:
            raise RuntimeError("memwatch: not in IPython")
        ip.extension_manager.load_extension(__name__)
        return
    _SESSION.start()


def stop_watching_memory():
    """No more lines after cells (the running cell still gets one)."""
    _SESSION.stop()


class MemWatcher:
    """ipython_memwatcher's interface, as a drop-in:

        from memwatch import MemWatcher
        mw = MemWatcher()
        mw.start_watching_memory()
        ...
        mw.measurements     # the last cell's Measurements
        mw.stop_watching_memory()
    """

    def start_watching_memory(self):
        start_watching_memory()

    def stop_watching_memory(self):
        stop_watching_memory()

    @property
    def watching_memory(self):
        """Whether cells get their lines."""
        return _SESSION.on

    @property
    def measurements(self):
        """The last cell's Measurements(memory_delta, time_delta,
        memory_peak, memory_usage), in MiB and seconds; None before the
        first."""
        return _SESSION.measurements


def load_ipython_extension(ip):
    """%load_ext memwatch: register the cell callbacks and %memwatch in
    shell ip, and start the lines."""
    from .magics import MemwatchMagics
    ip.register_magics(MemwatchMagics)
    _SESSION.load(ip)


def unload_ipython_extension(ip):
    """%unload_ext memwatch: callbacks, %memwatch, FIFOs, and the memwatch
    started here, if any."""
    ip.magics_manager.magics["line"].pop("memwatch", None)
    _SESSION.unload(ip)
