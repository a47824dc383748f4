# _plot.py: %memwatch plot, the session's timeline drawn by memwatch itself.
#
# While this shell reads its reply FIFO, memwatch keeps an SVG of the run
# in the same private directory (plot.svg beside the FIFOs), rewritten at
# most once a second, never half-written.  Nothing of it happens per cell
# here: the magic reads the file when asked, after waiting (a second or so
# at most) until memwatch has drawn its own cell's segment, so the plot
# holds every cell before it.

import html
import os
import re
import stat
import time

WAIT = 3.0      # seconds to wait for a plot that holds this cell

_OPEN = re.compile(rb'data-open="([^"]*)"')


def _read(path):
    """The plot's bytes, or None; a file of ours alone."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_uid != os.geteuid():
            return None
        chunks = []
        while True:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)
    finally:
        os.close(fd)


def _open_label(svg):
    m = _OPEN.search(svg, 0, 4096)
    return html.unescape(m.group(1).decode("utf-8", "replace")) if m else None


def show(session):
    """The timeline so far as IPython.display.SVG, or None after saying
    why there is none."""
    from IPython.display import SVG
    if session.link is None:
        session.say("noplot", "not connected to memwatch: no plot "
                    "(%memwatch on first)")
        return None
    path = os.path.join(os.path.dirname(session.link.path), "plot.svg")
    # the cell running this magic is memwatch's open segment once drawn
    want = "In [%d]" % session.shell.execution_count
    deadline = time.monotonic() + WAIT
    svg = _read(path)
    while ((svg is None or _open_label(svg) != want) and session.on and
           not session.stalled and time.monotonic() < deadline):
        time.sleep(0.02)
        svg = _read(path)
    if svg is None:
        session.say("noplot", "memwatch has written no plot in %s" %
                    os.path.dirname(path))
        return None
    return SVG(data=svg)
